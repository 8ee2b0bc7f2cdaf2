"""Small helpers of the Kubernetes adapter: object names, label values, the Job gate."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_kubernetes.apps import v1 as apps
from pulumi_kubernetes.batch import v1 as batch
from pulumi_kubernetes.core import v1 as core


class StepFailedError(RuntimeError):
    pass


def require_complete(namespace: str, name: str | None, status: Mapping[str, Any] | None) -> str:
    """Gate for run-to-completion steps: the Job must have succeeded. pulumi-kubernetes
    awaits the Job (and fails on a Failed condition); this guards a skipped await too.
    Apply never runs on unknowns, so during preview of a new Job this is not called.
    `status` is the Job's status as a mapping (typed outputs are dicts too)."""
    status = status or {}
    conditions = status.get("conditions") or []
    complete = any(c.get("type") == "Complete" and c.get("status") == "True" for c in conditions)
    if not complete and (status.get("succeeded") or 0) < 1:
        raise StepFailedError(f"job {name} has not completed; see `kubectl -n {namespace} logs job/{name}`")
    return str(name)


def object_name(resource: core.Namespace | core.ServiceAccount | core.Secret | batch.Job | apps.Deployment
                ) -> pulumi.Output[str]:
    """metadata.name as the cluster has it (set by then, auto-named or not)."""
    return resource.metadata.apply(lambda m: str(m.name))


def label_value(text: str) -> str:
    """`text` as a label value: at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:63].strip("-_.")


def service_port_name(port: int) -> str:
    """The name of a Service port (what a ServiceMonitor endpoint refers to)."""
    return f"tcp-{port}"
