"""Kubernetes settings: every bad value named with its key, the value and the fix; the good ones
reach the objects (provider, namespace, seeding URL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.settings import SettingsError, parse
from tests.k8s_plans import Manifests, variant_plan

ROOT = Path(__file__).resolve().parent.parent
K8S = {"platform": "kubernetes", "mediaMode": "s3", "mediaCredentials": "iam", "publicUrl": "http://labels.test"}

BAD: list[tuple[dict[str, Any], str]] = [
    ({"webReplicas": "2"}, "labelstudio:webReplicas: is only used with platform: kubernetes (Docker ignores it); fix:"),
    ({"storageClass": "fast"}, "labelstudio:storageClass: is only used with platform: kubernetes"),
    ({**K8S, "httpPort": "9999"}, "labelstudio:httpPort: is only used with platform: docker (Kubernetes ignores it"),
    ({**K8S, "dockerSubnet": "172.30.0.0/24"}, "labelstudio:dockerSubnet: is only used with platform: docker"),
    ({**K8S, "webReplicas": "2", "webMaxReplicas": "2"}, "labelstudio:webMaxReplicas: 2 must be above webReplicas (2)"),
    ({**K8S, "webReplicas": "2", "webPdbMinAvailable": "2"},
     "labelstudio:webPdbMinAvailable: 2 would block every voluntary eviction (node drains) with webReplicas 2; fix: at most 1"),
    ({**K8S, "webReplicas": "0"}, "labelstudio:webReplicas: 0 is not a whole number from 1 to 50"),
    ({**K8S, "webCpuTarget": "150"}, "labelstudio:webCpuTarget: 150 is not a whole number from 10 to 100"),
    ({**K8S, "kubernetesServiceCidr": "10.96.0.0"}, "labelstudio:kubernetesServiceCidr: '10.96.0.0' must be an IPv4 network"),
    ({**K8S, "kubernetesServiceCidr": "fd00::/108"}, "labelstudio:kubernetesServiceCidr: 'fd00::/108' must be an IPv4 network"),
    ({**K8S, "kubernetesServiceCidr": "services"}, "labelstudio:kubernetesServiceCidr: 'services' is not a CIDR network; fix:"),
    ({**K8S, "kubernetesEgressCidrs": ["10.0.0.0/33"]}, "labelstudio:kubernetesEgressCidrs: '10.0.0.0/33' is not a CIDR network"),
    ({**K8S, "mlBackendTolerations": ["nvidia.com/gpu:Never"]},
     "labelstudio:mlBackendTolerations: 'nvidia.com/gpu:Never' is not key[=value]:Effect"),
    ({**K8S, "mlBackendNodeSelector": ["gpu"]}, "labelstudio:mlBackendNodeSelector: 'gpu' is not KEY=value"),
    ({**K8S, "mlBackendNodeSelector": ["a=1", "a=2"]}, "labelstudio:mlBackendNodeSelector: a is given twice"),
    ({**K8S, "mediaCredentials": "static", "mediaAccessKeyId": "k", "mediaSecretAccessKey": "s",
      "kubernetesServiceAccountAnnotations": ["eks.amazonaws.com/role-arn=arn:aws:iam::1:role/x"]},
     "labelstudio:kubernetesServiceAccountAnnotations: is only used with mediaCredentials: iam"),
    ({**K8S, "publicUrl": "https://labels.test"}, "labelstudio:ingressTlsSecret: publicUrl is https, so the ingress needs"),
    ({**K8S, "ingressTlsSecret": "tls"}, "labelstudio:ingressTlsSecret: is set but publicUrl is http"),
    ({**K8S, "ingressCertIssuer": "letsencrypt"}, "labelstudio:ingressCertIssuer: is set but publicUrl is http"),
    ({**K8S, "ingressClass": "Nginx_Class"}, "labelstudio:ingressClass: 'Nginx_Class' is not a valid IngressClass name"),
    ({**K8S, "ingressBodySize": "1 GB"}, "labelstudio:ingressBodySize: '1 GB' is not a quantity we accept; fix: e.g. 200m"),
    ({**K8S, "kubeconfig": "apiVersion: v1\nclusters: []"}, "labelstudio:kubeconfig: looks like kubeconfig content"),
    ({**K8S, "webCpu": "1 core"}, "labelstudio:webCpu: '1 core' is not a quantity we accept; fix: e.g. 1000m"),
    ({**K8S, "webMemory": "2G"}, "labelstudio:webMemory: '2G' is not a quantity we accept; fix: e.g. 2Gi"),
    ({**K8S, "postgresStorageSize": "lots"}, "labelstudio:postgresStorageSize: 'lots' is not a quantity"),
    ({**K8S, "seedApiUrl": "labels.internal"}, "labelstudio:seedApiUrl: 'labels.internal' is not an http(s) URL"),
]


@pytest.mark.parametrize(("raw", "fragment"), BAD, ids=[b[1][12:60] for b in BAD])
def test_bad_kubernetes_settings_are_named_with_value_and_fix(raw: dict[str, Any], fragment: str) -> None:
    with pytest.raises(SettingsError) as err:
        parse(raw, stack="prod", base_dir=ROOT)
    assert any(fragment in p for p in err.value.problems), err.value.problems
    assert all("fix" in p for p in err.value.problems), err.value.problems


def test_minio_and_the_ml_backend_are_available_on_kubernetes() -> None:
    s = parse({**K8S, "mediaMode": "minio", "mediaCredentials": "static", "mlBackendEnabled": True,
               "mlBackendImage": "ml/backend:1.0", "mlBackendGpu": "2"}, stack="dev", base_dir=ROOT)
    assert s.media.mode == "minio" and s.ml_backend.enabled and s.ml_backend.gpu == 2


def test_provider_existing_namespace_and_seed_url_reach_the_objects(tmp_path: Path) -> None:
    plan = variant_plan("existing", {
        **K8S, "kubeconfig": "/etc/kube/prod.yaml", "kubeContext": "prod", "kubernetesCreateNamespace": False,
        "kubernetesNamespace": "labeling", "seedApiUrl": "http://label-studio.internal:8080",
        "seedProjects": ["seed/projects/support-tickets.yaml"]}, tmp_path)
    provider = plan.named("kubernetes", "pulumi:providers:kubernetes").inputs()
    assert (provider["kubeconfig"], provider["context"]) == ("/etc/kube/prod.yaml", "prod")
    m = Manifests(plan)
    assert "Namespace" not in {d["kind"] for d in m.docs}  # used, not created
    assert {d["metadata"]["namespace"] for d in m.docs} == {"labeling"}
    k8s_resources = [r for r in plan.resources if r.type.startswith("kubernetes:")]
    assert all(provider_urn_of(r) for r in k8s_resources)
    assert plan.named("project-support-tickets").inputs()["api_url"] == "http://label-studio.internal:8080"


def provider_urn_of(resource: Any) -> bool:
    """The object is created by the stack's provider (the mock monitor records its reference)."""
    return "pulumi:providers:kubernetes::kubernetes" in str(resource.provider)
