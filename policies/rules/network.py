"""Network exposure: data services stay internal, ingress is TLS, Kubernetes denies by default."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rules.base import MANDATORY, Config, Finding, View, rule
from rules.shapes import (
    DOCKER_CONTAINER,
    DOCKER_NETWORK,
    K8S_INGRESS,
    K8S_NETWORK_POLICY,
    K8S_SERVICE,
    docker_data_service,
    docker_name,
    k8s_data_service,
    namespace,
    pod_spec,
)
from rules.wire import get, items, text, truthy
from rules.workloads import k8s_pairs

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@rule(name="data-services-not-exposed", severity="critical", level=MANDATORY,
      description="Databases, caches and object stores are never exposed: no NodePort/LoadBalancer/external "
                  "IPs, no hostPort, no published Docker port.",
      why="Postgres, Redis and MinIO hold every annotation and credential; they must be reachable only by "
          "the services that need them.",
      remediation="Kubernetes: a ClusterIP Service; Docker: no `ports`, only an internal network. Reach them "
                  "for maintenance with `kubectl port-forward` or `docker exec`.")
def data_services_not_exposed(view: View, _config: Config) -> Iterator[str]:
    if view.type == DOCKER_CONTAINER:
        service = docker_data_service(view.props)
        for port in items(get(view.props, "ports")) if service else []:
            where = f"{text(get(port, 'ip')) or '0.0.0.0'}:{text(get(port, 'external')) or '?'}"  # noqa: S104 - Docker's default bind, reported
            yield f"{service} container {docker_name(view)} publishes port " \
                  f"{text(get(port, 'internal'))} on {where}"
        if service and truthy(get(view.props, "publishAllPorts")):
            yield f"{service} container publishes all its ports"
        return
    if view.type == K8S_SERVICE:
        service = k8s_data_service(view)
        kind = text(get(view.props, "spec", "type")) or "ClusterIP"
        if service and kind in ("NodePort", "LoadBalancer"):
            yield f"{service} Service is of type {kind}"
        if service and items(get(view.props, "spec", "externalIPs")):
            yield f"{service} Service has externalIPs"
        return
    for _pod, container in k8s_pairs(view):
        service = k8s_data_service(view, container)
        if service and any(get(p, "hostPort") is not None for p in items(get(container, "ports"))):
            yield f"{service} container {text(get(container, 'name'))} has a hostPort"


@rule(name="ports-bound-to-loopback", severity="high", level=MANDATORY,
      description="Published Docker ports bind to loopback, and Kubernetes pods use no hostPort.",
      why="Docker publishes on 0.0.0.0 by default and bypasses host firewalls (it writes its own iptables "
          "rules): the service is on every network the host is on.",
      remediation="Docker: set `ip='127.0.0.1'` on each port and put a TLS proxy in front for remote users; "
                  "Kubernetes: drop hostPort and expose through a Service and Ingress.")
def ports_bound_to_loopback(view: View, _config: Config) -> Iterator[str]:
    if view.type == DOCKER_CONTAINER:
        name = docker_name(view)
        for port in items(get(view.props, "ports")):
            ip = text(get(port, "ip")) or "0.0.0.0"  # noqa: S104 - Docker's default, the thing we refuse
            if ip not in LOOPBACK:
                yield f"container {name} publishes port {text(get(port, 'internal'))} on {ip}"
        return
    for _pod, container in k8s_pairs(view):
        for port in items(get(container, "ports")):
            if get(port, "hostPort") is not None:
                yield f"container {text(get(container, 'name'))} uses hostPort {text(get(port, 'hostPort'))}"


@rule(name="ingress-tls", severity="high", level=MANDATORY,
      description="Every Ingress host is served over TLS and HTTP is not left open (no ssl-redirect: false).",
      why="Label Studio sessions, API tokens and annotations would cross the network in clear text.",
      remediation="Add `spec.tls` with a Secret (or a cert-manager issuer annotation) covering every rule host.")
def ingress_tls(view: View, _config: Config) -> Iterator[str]:
    if view.type != K8S_INGRESS:
        return
    tls_hosts = {text(h) for t in items(get(view.props, "spec", "tls")) for h in items(get(t, "hosts"))}
    if not items(get(view.props, "spec", "tls")):
        yield "Ingress has no tls section"
    else:
        for host in (text(get(r, "host")) for r in items(get(view.props, "spec", "rules"))):
            if host and host not in tls_hosts:
                yield f"Ingress host {host} is not covered by tls"
    annotations = get(view.props, "metadata", "annotations") or {}
    for key in ("nginx.ingress.kubernetes.io/ssl-redirect", "nginx.ingress.kubernetes.io/force-ssl-redirect"):
        if truthy(get(annotations, key)) is False:
            yield f"Ingress annotation {key} is false"


def _default_deny(policy: View) -> set[str]:
    """The directions a NetworkPolicy denies for every pod of its namespace (no rule allows anything)."""
    selector = get(policy.props, "spec", "podSelector")
    if selector is None or any(get(selector, k) for k in ("matchLabels", "matchExpressions")):
        return set()
    types = {text(t) for t in items(get(policy.props, "spec", "policyTypes"))}
    denied = set()
    for direction, key in (("Ingress", "ingress"), ("Egress", "egress")):
        if direction in types and not items(get(policy.props, "spec", key)):
            denied.add(direction)
    return denied


@rule(name="default-deny-network-policy", severity="high", level=MANDATORY, stack=True,
      description="Every Kubernetes namespace that runs pods has a default-deny NetworkPolicy for ingress "
                  "and egress.",
      why="Without it every pod can reach every other pod and the internet; with it only the flows the "
          "stack allows exist.",
      remediation="Add a NetworkPolicy with `podSelector: {}`, `policyTypes: [Ingress, Egress]` and no rules, "
                  "then one NetworkPolicy per allowed flow.")
def default_deny_network_policy(views: Sequence[View], _config: Config) -> Iterator[Finding]:
    denied: dict[str, set[str]] = {}
    for policy in (v for v in views if v.type == K8S_NETWORK_POLICY):
        denied.setdefault(namespace(policy), set()).update(_default_deny(policy))
    reported = set()
    for view in views:
        ns = namespace(view)
        if pod_spec(view) is None or ns in reported:
            continue
        missing = {"Ingress", "Egress"} - denied.get(ns, set())
        if missing:
            reported.add(ns)
            yield (f"namespace {ns} has no default-deny NetworkPolicy for {' and '.join(sorted(missing))}",
                   None)


@rule(name="data-network-internal", severity="high", level=MANDATORY, stack=True,
      description="Docker databases and caches attach only to internal networks (no route out).",
      why="An internal network has no gateway: a compromised database cannot reach the internet, and "
          "nothing outside the stack's containers can reach it.",
      remediation="Attach Postgres/Redis only to a `docker.Network(..., internal=True)` shared with the app.")
def data_network_internal(views: Sequence[View], _config: Config) -> Iterator[Finding]:
    internal = {text(get(v.props, "name")): truthy(get(v.props, "internal")) is True
                for v in views if v.type == DOCKER_NETWORK}
    for view in views:
        if view.type != DOCKER_CONTAINER or docker_data_service(view.props) not in ("postgres", "redis", "mysql",
                                                                                     "mariadb", "mongo", "valkey"):
            continue
        networks = [text(get(n, "name")) for n in items(get(view.props, "networksAdvanced"))]
        mode = text(get(view.props, "networkMode"))
        if not networks and mode not in ("none",):
            yield f"container {text(get(view.props, 'name'))} is on the default bridge network", view.urn
        for network in networks:
            if network in internal and not internal[network]:
                yield f"container {text(get(view.props, 'name'))} is on non-internal network {network}", view.urn
