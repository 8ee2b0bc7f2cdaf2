"""Availability in production: the web tier survives a node drain and a pod crash."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rules.base import MANDATORY, Config, Finding, View, rule
from rules.shapes import (
    DOCKER_CONTAINER,
    K8S_DEPLOYMENT,
    K8S_HPA,
    K8S_PDB,
    k8s_name,
    label_studio_envs,
    labels,
    namespace,
    pod_labels,
)
from rules.wire import get, text

WEB_COMPONENTS = ("app", "web", "nginx", "frontend")


def web_deployments(views: Sequence[View]) -> list[View]:
    """Deployments serving Label Studio: running its app, or labelled as the web tier."""
    apps = {ls.view.urn for ls in label_studio_envs(views)}
    return [v for v in views if v.type == K8S_DEPLOYMENT and (
        v.urn in apps or text(get(labels(v), "app.kubernetes.io/component")) in WEB_COMPONENTS)]


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _min_replicas(deployment: View, views: Sequence[View]) -> float:
    """Replicas, or the HPA's minReplicas when an autoscaler targets the Deployment."""
    for hpa in (v for v in views if v.type == K8S_HPA and namespace(v) == namespace(deployment)):
        target = get(hpa.props, "spec", "scaleTargetRef")
        if text(get(target, "kind")) == "Deployment" and text(get(target, "name")) == k8s_name(deployment):
            return _number(get(hpa.props, "spec", "minReplicas")) or 1
    replicas = _number(get(deployment.props, "spec", "replicas"))
    return 1 if replicas is None else replicas


@rule(name="web-replicas", severity="high", level=MANDATORY, stack=True, production_only=True,
      description="In production the web tier runs at least `minReplicas` (default 2) replicas "
                  "(Deployment replicas or its HPA's minReplicas).",
      why="One replica means every rollout, node drain or crash is an outage for the annotators.",
      remediation="Set `replicas` (or the HPA's `minReplicas`) to 2 or more on Kubernetes; Docker runs a "
                  "single container and is not a production platform.",
      options={"minReplicas": {"type": "integer", "default": 2, "description": "fewest web replicas"}})
def web_replicas(views: Sequence[View], config: Config) -> Iterator[Finding]:
    wanted = int(config.get("minReplicas") or 2)
    for deployment in web_deployments(views):
        have = _min_replicas(deployment, views)
        if have < wanted:
            yield f"Deployment {k8s_name(deployment)} runs {int(have)} replica(s), fewer than {wanted}", \
                deployment.urn
    for ls in label_studio_envs(views):
        if ls.view.type == DOCKER_CONTAINER and text(get(ls.view.props, "restart")) != "no":
            yield f"container {ls.container} is a single Docker container, fewer than {wanted}", ls.view.urn


def _selects(pdb: View, deployment: View) -> bool:
    selector = get(pdb.props, "spec", "selector", "matchLabels")
    pods = pod_labels(deployment)
    return (namespace(pdb) == namespace(deployment) and isinstance(selector, Mapping) and bool(selector) and
            all(text(get(pods, k)) == text(v) for k, v in selector.items()))


@rule(name="pod-disruption-budget", severity="medium", level=MANDATORY, stack=True, production_only=True,
      description="In production every web Deployment is covered by a PodDisruptionBudget that keeps a pod "
                  "up (minAvailable >= 1 or maxUnavailable set).",
      why="Without a PDB a node drain or cluster upgrade may evict every web pod at once.",
      remediation="Add a policy/v1 PodDisruptionBudget selecting the web pods with `minAvailable: 1`.")
def pod_disruption_budget(views: Sequence[View], _config: Config) -> Iterator[Finding]:
    pdbs = [v for v in views if v.type == K8S_PDB]
    for deployment in web_deployments(views):
        covering = [p for p in pdbs if _selects(p, deployment)]
        keeps = [p for p in covering if get(p.props, "spec", "maxUnavailable") is not None or
                 (_number(get(p.props, "spec", "minAvailable")) or 0) >= 1 or
                 str(text(get(p.props, "spec", "minAvailable")) or "").endswith("%")]
        if not keeps:
            yield f"Deployment {k8s_name(deployment)} has no PodDisruptionBudget keeping a pod up", deployment.urn
