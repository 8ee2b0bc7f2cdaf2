"""checkov checks the Kubernetes workloads do not meet, each skipped in the manifest itself with
its reason (checkov reads `checkov.io/skipN: <check>=<reason>` annotations), and only on the
workloads it applies to. The README lists them too; tests/test_kubernetes_prod.py runs checkov."""

from __future__ import annotations

from components import k8s_pod
from components.spec import ServiceSpec

HIGH_UID = 10000  # what CKV_K8S_40 wants
SKIPS: dict[str, str] = {
    "CKV_K8S_40": "runs as its image's own unprivileged user (Label Studio 1001, Postgres/Redis 999); "
                  "another UID breaks the image's file ownership",
    "CKV_K8S_43": "pinned by release tag (settings refuse moving tags); Label Studio publishes no "
                  "per-release digest we could pin in settings",
    "CKV_K8S_35": "Label Studio (and pg_dump's PGPASSWORD, the AWS CLI's keys) read these settings from env; "
                  "the values come from a Secret by secretKeyRef, never inline",
}


def skipped(spec: ServiceSpec) -> list[str]:
    """The checks `spec`'s workload fails by design."""
    checks = []
    containers = (spec, *spec.init)
    if k8s_pod.user_ids(spec)[0] < HIGH_UID:
        checks.append("CKV_K8S_40")
    if any("@sha256:" not in c.image for c in containers):
        checks.append("CKV_K8S_43")
    if any(c.secret_env for c in containers):
        checks.append("CKV_K8S_35")
    return checks


def skip_annotations(spec: ServiceSpec) -> dict[str, str]:
    return {f"checkov.io/skip{i}": f"{check}={SKIPS[check]}" for i, check in enumerate(skipped(spec), 1)}
