"""Small helpers of the Kubernetes adapter: object names, label values, the Job gate, CronJob specs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_kubernetes.apps import v1 as apps
from pulumi_kubernetes.batch import v1 as batch
from pulumi_kubernetes.core import v1 as core
from pulumi_kubernetes.meta import v1 as meta

from components.spec import Schedule

# A scheduled run missed by more than this (the cluster was down) is skipped, not made up later.
STARTING_DEADLINE_SECONDS = 3600
JOB_HISTORY = 3  # finished Jobs (and their pods' logs) kept per CronJob, succeeded and failed each


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


def instance_label(stack: str) -> str:
    """app.kubernetes.io/instance of every object of the stack (scripts select pods by it)."""
    return label_value(f"labelstudio-{stack}")


def label_value(text: str) -> str:
    """`text` as a label value: at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:63].strip("-_.")


def service_port_name(port: int) -> str:
    """The name of a Service port (what a ServiceMonitor endpoint refers to)."""
    return f"tcp-{port}"
def cron_job_spec(schedule: Schedule, labels: dict[str, str], template: core.PodTemplateSpecArgs
                  ) -> batch.CronJobSpecArgs:
    """One run at a time, in UTC; each run a Job with retries and a deadline, labelled like the CronJob."""
    return batch.CronJobSpecArgs(
        schedule=schedule.cron,
        time_zone="Etc/UTC",
        suspend=schedule.suspended,
        concurrency_policy="Forbid",  # a slow run is never overlapped by the next one
        starting_deadline_seconds=STARTING_DEADLINE_SECONDS,
        successful_jobs_history_limit=JOB_HISTORY,
        failed_jobs_history_limit=JOB_HISTORY,
        job_template=batch.JobTemplateSpecArgs(
            metadata=meta.ObjectMetaArgs(labels=labels),
            spec=batch.JobSpecArgs(backoff_limit=schedule.retries, active_deadline_seconds=schedule.deadline_seconds,
                                   template=template),
        ),
    )
