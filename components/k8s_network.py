"""NetworkPolicies: deny everything in the namespace, then open exactly the flows the specs declare.

A spec's `calls` become (a) egress from its pods to the called service's pods and (b) a label
`calls.labelstudio/<service>: "true"` on its pods, which the called service's policy admits on
its ports. So each policy is complete when its own spec is rendered, whatever the order.
Pure builders: `components/kubernetes.py` declares the resources.
"""

from __future__ import annotations

from pulumi_kubernetes.meta import v1 as meta
from pulumi_kubernetes.networking import v1 as net

from components.spec import ServiceSpec

CALLS_PREFIX = "calls.labelstudio/"
NAME_LABEL = "app.kubernetes.io/name"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace
DNS_NAMESPACE, DNS_POD = "kube-system", {"k8s-app": "kube-dns"}  # CoreDNS keeps the kube-dns label


def call_labels(spec: ServiceSpec) -> dict[str, str]:
    """Pod labels that let spec's pods through the policies of the services it calls."""
    return {f"{CALLS_PREFIX}{name}": "true" for name in spec.calls}


def _ports(ports: tuple[int, ...], protocol: str = "TCP") -> list[net.NetworkPolicyPortArgs]:
    return [net.NetworkPolicyPortArgs(port=p, protocol=protocol) for p in ports]


def service_policy(spec: ServiceSpec, selector: dict[str, str], instance: str, controller_namespace: str,
                   egress_cidrs: tuple[str, ...], scraper_namespace: str | None = None) -> net.NetworkPolicySpecArgs:
    """Ingress: its callers (and the ingress controller when public) on its ports only; with
    `scraper_namespace` (Prometheus), that namespace on the metrics port only.
    Egress: the services it calls, and its external ports to the configured CIDRs."""
    ports = tuple(p.container for p in spec.ports)
    ingress: list[net.NetworkPolicyIngressRuleArgs] = []
    if ports:
        ingress.append(net.NetworkPolicyIngressRuleArgs(
            from_=[net.NetworkPolicyPeerArgs(pod_selector=meta.LabelSelectorArgs(
                match_labels={f"{CALLS_PREFIX}{spec.name}": "true"}))],
            ports=_ports(ports)))
    if ports and spec.public:
        ingress.append(net.NetworkPolicyIngressRuleArgs(
            from_=[net.NetworkPolicyPeerArgs(namespace_selector=meta.LabelSelectorArgs(
                match_labels={NAMESPACE_LABEL: controller_namespace}))],
            ports=_ports(ports)))
    if spec.metrics_port is not None and scraper_namespace:
        ingress.append(net.NetworkPolicyIngressRuleArgs(
            from_=[net.NetworkPolicyPeerArgs(namespace_selector=meta.LabelSelectorArgs(
                match_labels={NAMESPACE_LABEL: scraper_namespace}))],
            ports=_ports((spec.metrics_port,))))
    egress = [net.NetworkPolicyEgressRuleArgs(to=[net.NetworkPolicyPeerArgs(pod_selector=meta.LabelSelectorArgs(
        match_labels={NAME_LABEL: name, "app.kubernetes.io/instance": instance}))]) for name in spec.calls]
    if spec.external_ports:
        egress.append(net.NetworkPolicyEgressRuleArgs(
            to=[net.NetworkPolicyPeerArgs(ip_block=net.IPBlockArgs(cidr=c)) for c in egress_cidrs],
            ports=_ports(spec.external_ports)))
    return net.NetworkPolicySpecArgs(
        pod_selector=meta.LabelSelectorArgs(match_labels=selector),
        policy_types=["Ingress", "Egress"],
        ingress=ingress,
        egress=egress,
    )


def default_deny() -> net.NetworkPolicySpecArgs:
    """Every pod of the namespace: no traffic in or out unless another policy allows it."""
    return net.NetworkPolicySpecArgs(pod_selector=meta.LabelSelectorArgs(), policy_types=["Ingress", "Egress"])


def allow_dns() -> net.NetworkPolicySpecArgs:
    """Every pod may ask the cluster DNS (UDP and TCP 53), nothing else."""
    return net.NetworkPolicySpecArgs(
        pod_selector=meta.LabelSelectorArgs(),
        policy_types=["Egress"],
        egress=[net.NetworkPolicyEgressRuleArgs(
            to=[net.NetworkPolicyPeerArgs(
                namespace_selector=meta.LabelSelectorArgs(match_labels={NAMESPACE_LABEL: DNS_NAMESPACE}),
                pod_selector=meta.LabelSelectorArgs(match_labels=DNS_POD))],
            ports=_ports((53,), "UDP") + _ports((53,)))],
    )
