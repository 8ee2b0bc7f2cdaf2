"""NetworkPolicies, table-driven: for every pair of components (plus the ingress controller, the
cluster DNS and an external address), the rendered policies allow exactly the specified flows.

A small evaluator applies Kubernetes' semantics to the manifests: a connection needs an egress
rule of a policy selecting the source (when a policy of Egress type selects it) AND an ingress
rule of a policy selecting the destination (when one of Ingress type selects it)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.k8s_plans import FULL_EMBEDDED, Manifests, prod, variant_plan

NAMESPACE = "label-studio"


@dataclass(frozen=True)
class Endpoint:
    name: str
    namespace: str | None  # None: outside the cluster
    labels: dict[str, str] = field(default_factory=dict)
    ip: str = ""
    port: int = 0  # the port it serves, as a destination


def matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in ((selector or {}).get("matchLabels") or {}).items())


def peer_matches(peer: dict[str, Any], policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        return bool(other.ip) and ipaddress.ip_address(other.ip) in ipaddress.ip_network(block["cidr"]) and not any(
            ipaddress.ip_address(other.ip) in ipaddress.ip_network(e) for e in block.get("except", []))
    if other.namespace is None:
        return False
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], {"kubernetes.io/metadata.name": other.namespace}):
            return False
    elif other.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or matches(peer["podSelector"], other.labels)


def port_matches(rule: dict[str, Any], port: int) -> bool:
    return "ports" not in rule or any(p["port"] == port and p.get("protocol", "TCP") == "TCP" for p in rule["ports"])


def allows(policies: list[dict[str, Any]], src: Endpoint, dst: Endpoint) -> bool:
    def side(pod: Endpoint, kind: str, other: Endpoint) -> bool:
        if pod.namespace != NAMESPACE:
            return True  # not ours to restrict (the controller, DNS, the outside)
        selecting = [p for p in policies if kind in p["spec"]["policyTypes"] and matches(p["spec"]["podSelector"],
                                                                                          pod.labels)]
        if not selecting:
            return True
        key, peers = ("egress", "to") if kind == "Egress" else ("ingress", "from")
        return any(port_matches(rule, dst.port) and any(peer_matches(peer, NAMESPACE, other)
                                                        for peer in rule.get(peers, []))
                   for p in selecting for rule in p["spec"].get(key, []))

    return side(src, "Egress", dst) and side(dst, "Ingress", src)


def endpoints(m: Manifests) -> dict[str, Endpoint]:
    ports = {"postgres": 5432, "redis": 6379, "minio": 9000, "app": 8000, "nginx": 8085, "ml-backend": 9090,
             "postgres-exporter": 9187}
    out = {name: Endpoint(name, NAMESPACE, m.pod_labels(name), port=ports.get(name, 0)) for name in m.workloads()}
    out["ingress-controller"] = Endpoint("ingress-controller", "ingress-nginx", {"app": "ingress-nginx"})
    out["dns"] = Endpoint("dns", "kube-system", {"k8s-app": "kube-dns"}, port=53)
    return out


def flows(m: Manifests, externals: dict[str, Endpoint]) -> set[tuple[str, str]]:
    """Every (source, destination) with one end in the namespace that the policies allow,
    destinations on the port they serve."""
    policies = list(m.of("NetworkPolicy").values())
    every = {**endpoints(m), **externals}
    return {(s, d) for s, src in every.items() for d, dst in every.items()
            if s != d and dst.port and NAMESPACE in (src.namespace, dst.namespace) and allows(policies, src, dst)}


BACKUP_PODS = ("postgres-backup", "postgres-restore")
PODS_EMBEDDED = ("postgres", "redis", "minio", "migrate", "app", "nginx", "ml-backend", *BACKUP_PODS)
DNS = {(pod, "dns") for pod in PODS_EMBEDDED}
EMBEDDED_FLOWS = {
    ("ingress-controller", "nginx"),
    ("nginx", "app"),
    ("app", "postgres"), ("migrate", "postgres"),
    ("app", "redis"),
    ("app", "minio"), ("ml-backend", "minio"),
    ("app", "ml-backend"), ("ml-backend", "app"),
    # backup and restore runs: the database and the bucket, nothing else
    *((pod, target) for pod in BACKUP_PODS for target in ("postgres", "minio")),
} | DNS


def test_every_pair_of_embedded_components_is_allowed_or_denied_as_specified(tmp_path: Path) -> None:
    m = Manifests(variant_plan("netpol", FULL_EMBEDDED, tmp_path))
    external = {"outside-443": Endpoint("outside-443", None, ip="52.218.1.1", port=443)}
    allowed = flows(m, external)
    unexpected, missing = allowed - EMBEDDED_FLOWS, EMBEDDED_FLOWS - allowed
    assert (unexpected, missing) == (set(), set())
    # what matters most, denied: the edge straight to the app or the data, nginx to the data
    for denied in (("ingress-controller", "app"), ("ingress-controller", "postgres"), ("nginx", "postgres"),
                   ("ml-backend", "postgres"), ("ml-backend", "redis"), ("minio", "app"), ("app", "outside-443"),
                   ("postgres-backup", "app"), ("postgres-backup", "outside-443"), ("postgres-backup", "redis"),
                   ("postgres-restore", "ml-backend")):
        assert denied not in allowed


PROD_PODS = ("migrate", "app", "nginx", "ml-backend", "postgres-exporter", *BACKUP_PODS)
PROD_FLOWS = {
    ("ingress-controller", "nginx"), ("nginx", "app"), ("app", "ml-backend"), ("ml-backend", "app"),
    ("app", "database"), ("migrate", "database"),  # external Postgres, in the configured CIDR
    ("app", "s3"), ("ml-backend", "s3"),  # the bucket, in the configured CIDR, on 443
    ("postgres-exporter", "database"),  # monitoring: the exporter connects as the app does
    ("prometheus", "postgres-exporter"),  # ... and Prometheus scrapes its metrics port, nothing else
    *((pod, target) for pod in BACKUP_PODS for target in ("database", "s3")),
} | {(pod, "dns") for pod in PROD_PODS}


def test_prod_opens_only_the_external_database_and_s3() -> None:
    externals = {
        "database": Endpoint("database", None, ip="10.20.3.4", port=5432),
        "s3": Endpoint("s3", None, ip="52.218.10.20", port=443),
        "elsewhere": Endpoint("elsewhere", None, ip="8.8.8.8", port=443),  # outside the egress CIDRs
        "prometheus": Endpoint("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"}),
    }
    allowed = flows(prod(), externals)
    assert (allowed - PROD_FLOWS, PROD_FLOWS - allowed) == (set(), set())


@pytest.mark.parametrize("kind", ["Ingress", "Egress"])
def test_the_namespace_denies_by_default(kind: str) -> None:
    deny = prod().one("NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {} and kind in deny["policyTypes"] and not deny.get(kind.lower())
