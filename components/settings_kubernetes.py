"""Kubernetes platform settings: read and checked like every other key (components/settings.py).

Defaults live in `DEFAULTS` (components/settings_schema.py) only. Each problem names the key,
the bad value and the fix; all are reported at once.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from components.settings_schema import Kubernetes

if TYPE_CHECKING:
    from components.settings import _Reader

# Keys that mean something on Kubernetes only: refused on Docker rather than ignored.
KUBERNETES_ONLY = (
    "kubeconfig", "kubeContext", "kubernetesCreateNamespace", "kubernetesServiceCidr",
    "kubernetesServiceAccountAnnotations", "kubernetesEgressCidrs", "ingressClass",
    "ingressControllerNamespace", "ingressTlsSecret", "ingressCertIssuer", "ingressBodySize",
    "webReplicas", "webMaxReplicas", "webCpuTarget", "webPdbMinAvailable", "mlBackendNodeSelector",
    "mlBackendTolerations", "storageClass", "postgresStorageSize", "redisStorageSize", "minioStorageSize",
    "monitoringEnabled", "monitoringLabels", "monitoringNamespace", "postgresExporterImage",
    "backupSchedule", "backupImage", "backupAwsCliImage",
)
# Keys that mean something on Docker only: refused on Kubernetes rather than ignored.
DOCKER_ONLY = ("httpPort", "dockerSubnet")
CPU = re.compile(r"[1-9][0-9]{0,5}m|[0-9]{1,3}(\.[0-9]{1,3})?")
MEMORY = re.compile(r"[1-9][0-9]{0,5}(Mi|Gi)")
STORAGE = re.compile(r"[1-9][0-9]{0,5}(Mi|Gi|Ti)")
BODY_SIZE = re.compile(r"[0-9]{1,6}[kKmMgG]?")
DNS_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?")
DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
# Kubernetes' qualified names for label and annotation keys: [prefix/]name
LABEL_KEY = re.compile(r"([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?")
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?")
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def quantity(r: _Reader, key: str, pattern: re.Pattern[str], example: str) -> str:
    value = r.string(key)
    if not pattern.fullmatch(value):
        r.fail(key, f"{r.show(key, value)} is not a quantity we accept; fix: e.g. {example}")
    return value


def pairs(r: _Reader, key: str, value_pattern: re.Pattern[str], example: str) -> tuple[tuple[str, str], ...]:
    """`KEY=value` items: a qualified key, a value of `value_pattern`, each key once."""
    out: dict[str, str] = {}
    for item in r.items(key):
        name, sep, value = item.partition("=")
        if not sep or not LABEL_KEY.fullmatch(name) or not value_pattern.fullmatch(value):
            r.fail(key, f"{r.show(key, item)} is not KEY=value with a Kubernetes key; fix: e.g. {example}")
        elif name in out:
            r.fail(key, f"{name} is given twice; fix: keep one {name}=... entry")
        else:
            out[name] = value
    return tuple(out.items())


def _tolerations(r: _Reader) -> tuple[tuple[str, str, str], ...]:
    out: list[tuple[str, str, str]] = []
    for item in r.items("mlBackendTolerations"):
        head, sep, effect = item.rpartition(":")
        name, _, value = head.partition("=")
        if not sep or effect not in EFFECTS or not LABEL_KEY.fullmatch(name) or not LABEL_VALUE.fullmatch(value):
            r.fail("mlBackendTolerations", f"{r.show('mlBackendTolerations', item)} is not key[=value]:Effect "
                   f"(Effect one of {', '.join(EFFECTS)}); fix: e.g. nvidia.com/gpu:NoSchedule")
        else:
            out.append((name, value, effect))
    return tuple(out)


def _service_cidr(r: _Reader) -> str:
    key = "kubernetesServiceCidr"
    value = r.string(key)
    try:
        net = ipaddress.ip_network(value)
    except ValueError:
        r.fail(key, f"{r.show(key, value)} is not a CIDR network; fix: the cluster's Service CIDR, e.g. 10.96.0.0/12")
        return "10.96.0.0/12"
    if net.version != 4 or not 8 <= net.prefixlen <= 28:
        r.fail(key, f"{r.show(key, value)} must be an IPv4 network from /8 to /28 (fixed ClusterIPs are taken at its "
               "start); fix: the cluster's Service CIDR, e.g. 10.96.0.0/12")
    return str(net)


def _egress_cidrs(r: _Reader) -> tuple[str, ...]:
    out: list[str] = []
    for item in r.items("kubernetesEgressCidrs"):
        try:
            out.append(str(ipaddress.ip_network(item)))
        except ValueError:
            r.fail("kubernetesEgressCidrs", f"{r.show('kubernetesEgressCidrs', item)} is not a CIDR network; "
                   "fix: e.g. 10.20.0.0/16 (where the external database and S3 endpoint are)")
    return tuple(out)


def _name(r: _Reader, key: str, pattern: re.Pattern[str], what: str) -> str:
    value = r.string(key)
    if value and not pattern.fullmatch(value):
        r.fail(key, f"{r.show(key, value)} is not a valid {what}; fix: lower-case letters, digits, '-' (and '.')")
    return value


def parse_kubernetes(r: _Reader) -> Kubernetes:
    kubeconfig = r.string("kubeconfig")
    if "\n" in kubeconfig or "apiVersion" in kubeconfig:
        r.fail("kubeconfig", "looks like kubeconfig content, which would sit in plain config; "
               "fix: give the path of the file (or set KUBECONFIG)")
        kubeconfig = ""
    replicas = r.integer("webReplicas", 1, 50)
    max_replicas = r.integer("webMaxReplicas", 0, 100)
    if max_replicas and max_replicas <= replicas:
        r.fail("webMaxReplicas", f"{max_replicas} must be above webReplicas ({replicas}) for the autoscaler to "
               "have room; fix: raise it, or 0 for no autoscaler")
    pdb = r.integer("webPdbMinAvailable", 0, 50)
    if replicas >= 2 and pdb >= replicas:
        r.fail("webPdbMinAvailable", f"{pdb} would block every voluntary eviction (node drains) with webReplicas "
               f"{replicas}; fix: at most {replicas - 1}")
    return Kubernetes(
        kubeconfig=kubeconfig,
        context=r.string("kubeContext"),
        create_namespace=r.boolean("kubernetesCreateNamespace"),
        service_cidr=_service_cidr(r),
        account_annotations=pairs(r, "kubernetesServiceAccountAnnotations", re.compile(r"[^\s]{1,512}"),
                                   "eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/label-studio"),
        egress_cidrs=_egress_cidrs(r),
        ingress_class=_name(r, "ingressClass", DNS_NAME, "IngressClass name"),
        ingress_controller_namespace=_name(r, "ingressControllerNamespace", DNS_LABEL, "namespace"),
        tls_secret=_name(r, "ingressTlsSecret", DNS_NAME, "Secret name"),
        cert_issuer=_name(r, "ingressCertIssuer", DNS_NAME, "ClusterIssuer name"),
        body_size=quantity(r, "ingressBodySize", BODY_SIZE, "200m"),
        web_replicas=replicas,
        web_max_replicas=max_replicas,
        web_cpu_target=r.integer("webCpuTarget", 10, 100),
        web_pdb_min_available=pdb,
        ml_node_selector=pairs(r, "mlBackendNodeSelector", LABEL_VALUE, "nvidia.com/gpu.present=true"),
        ml_tolerations=_tolerations(r),
        storage_class=_name(r, "storageClass", DNS_NAME, "StorageClass name"),
        postgres_storage=quantity(r, "postgresStorageSize", STORAGE, "20Gi"),
        redis_storage=quantity(r, "redisStorageSize", STORAGE, "2Gi"),
        minio_storage=quantity(r, "minioStorageSize", STORAGE, "50Gi"),
    )


def cross_checks(r: _Reader, platform: str, k8s: Kubernetes, public_url: str, media_credentials: str) -> None:
    """Kubernetes keys against the rest of the settings."""
    if platform != "kubernetes":
        for key in KUBERNETES_ONLY:
            if key in r.raw:
                r.fail(key, "is only used with platform: kubernetes (Docker ignores it); "
                       "fix: remove it or set platform: kubernetes")
        return
    for key in DOCKER_ONLY:
        if key in r.raw:
            r.fail(key, "is only used with platform: docker (Kubernetes ignores it: the Ingress serves publicUrl); "
                   "fix: remove it or set platform: docker")
    https = public_url.startswith("https://")
    if https and not k8s.tls_secret:
        r.fail("ingressTlsSecret", "publicUrl is https, so the ingress needs a TLS Secret; fix: name the Secret "
               "holding the certificate (or the one cert-manager fills, with ingressCertIssuer)")
    if not https and (k8s.tls_secret or k8s.cert_issuer):
        key = "ingressTlsSecret" if k8s.tls_secret else "ingressCertIssuer"
        r.fail(key, "is set but publicUrl is http, so browsers would never use the certificate; "
               "fix: make publicUrl https, or remove it")
    if k8s.account_annotations and media_credentials != "iam":
        r.fail("kubernetesServiceAccountAnnotations", "is only used with mediaCredentials: iam (the app's cloud "
               "identity); fix: remove it or set mediaCredentials: iam")
