"""Workload rules: pure functions over a resource's type and properties (engine wire form)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

ReportViolation = Callable[..., None]

CONTAINER = "docker:index/container:Container"
DESCRIPTION = "Containers never run privileged and drop all Linux capabilities."
REMEDIATION = "set privileged=false and capabilities.drops=['ALL'] (the Docker adapter does both)"


def container_hardening(resource_type: str, props: Mapping[str, Any], report: ReportViolation) -> None:
    if resource_type != CONTAINER:
        return
    if props.get("privileged"):
        report(f"container runs privileged; fix: {REMEDIATION}")
    drops = (props.get("capabilities") or {}).get("drops") or []
    if "ALL" not in drops:
        report(f"container keeps Linux capabilities; fix: {REMEDIATION}")
