"""Kubernetes objects around a serving workload: Ingress, HorizontalPodAutoscaler,
PodDisruptionBudget, and the Deployment update strategy. Pure builders (no resources)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pulumi
from pulumi_kubernetes.apps import v1 as apps
from pulumi_kubernetes.autoscaling import v2 as autoscaling
from pulumi_kubernetes.meta import v1 as meta
from pulumi_kubernetes.networking import v1 as net
from pulumi_kubernetes.policy import v1 as policy

from components.settings import Settings
from components.spec import ServiceSpec

BODY_SIZE = "nginx.ingress.kubernetes.io/proxy-body-size"
READ_TIMEOUT = "nginx.ingress.kubernetes.io/proxy-read-timeout"  # long imports and exports
ISSUER = "cert-manager.io/cluster-issuer"


def ingress_annotations(settings: Settings) -> dict[str, str]:
    k8s = settings.kubernetes
    out = {BODY_SIZE: k8s.body_size, READ_TIMEOUT: "300"}
    if k8s.cert_issuer:
        out[ISSUER] = k8s.cert_issuer
    return out


def ingress_spec(settings: Settings, service: str, port: int) -> net.IngressSpecArgs:
    """publicUrl's host (and path, for a sub-path deployment) to `service`; TLS when https."""
    url = urlsplit(settings.public_url)
    host = url.hostname or ""
    k8s = settings.kubernetes
    backend = net.IngressBackendArgs(service=net.IngressServiceBackendArgs(
        name=service, port=net.ServiceBackendPortArgs(number=port)))
    return net.IngressSpecArgs(
        ingress_class_name=k8s.ingress_class,
        rules=[net.IngressRuleArgs(host=host, http=net.HTTPIngressRuleValueArgs(paths=[
            net.HTTPIngressPathArgs(path=url.path or "/", path_type="Prefix", backend=backend)]))],
        tls=[net.IngressTLSArgs(hosts=[host], secret_name=k8s.tls_secret)] if k8s.tls_secret else None,
    )


def strategy(spec: ServiceSpec) -> apps.DeploymentStrategyArgs:
    """GPU pods: Recreate (a surge pod would need a spare GPU). Otherwise a rolling update that
    never drops below the wanted replicas; it cannot deadlock on a volume, since Deployments
    here hold no ReadWriteOnce claim (their volumes are emptyDirs; media lives in S3)."""
    if spec.gpu > 0:
        return apps.DeploymentStrategyArgs(type="Recreate")
    return apps.DeploymentStrategyArgs(type="RollingUpdate", rolling_update=apps.RollingUpdateDeploymentArgs(
        max_unavailable=0, max_surge=1))


def autoscaler_spec(spec: ServiceSpec, deployment: pulumi.Input[str]) -> autoscaling.HorizontalPodAutoscalerSpecArgs:
    assert spec.autoscale is not None
    return autoscaling.HorizontalPodAutoscalerSpecArgs(
        scale_target_ref=autoscaling.CrossVersionObjectReferenceArgs(api_version="apps/v1", kind="Deployment",
                                                                     name=deployment),
        min_replicas=spec.replicas,
        max_replicas=spec.autoscale.max_replicas,
        metrics=[autoscaling.MetricSpecArgs(type="Resource", resource=autoscaling.ResourceMetricSourceArgs(
            name="cpu", target=autoscaling.MetricTargetArgs(
                type="Utilization", average_utilization=spec.autoscale.cpu_percent)))],
    )


def disruption_budget_spec(spec: ServiceSpec, selector: dict[str, str]) -> policy.PodDisruptionBudgetSpecArgs | None:
    """Node drains keep `min_available` pods up; none for a single replica (it would block drains)."""
    if spec.min_available < 1 or spec.replicas < 2:
        return None
    return policy.PodDisruptionBudgetSpecArgs(
        min_available=spec.min_available, selector=meta.LabelSelectorArgs(match_labels=selector))
