"""The policy pack skeleton: its rule against the dev plan and against a bad container."""

from __future__ import annotations

import sys
from pathlib import Path

from tools.plan import run

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "policies"))
import rules.workloads as workloads


def violations(resource_type: str, props: dict[str, object]) -> list[str]:
    found: list[str] = []
    workloads.container_hardening(resource_type, props, lambda message, *_: found.append(message))
    return found


def test_dev_plan_containers_pass() -> None:
    for r in run("dev").of_type(workloads.CONTAINER):
        assert violations(r.type, r.inputs()) == [], r.name


def test_privileged_container_with_capabilities_is_reported() -> None:
    found = violations(workloads.CONTAINER, {"privileged": True, "capabilities": {"drops": []}})
    assert any("runs privileged" in m for m in found)
    assert any("keeps Linux capabilities" in m for m in found)
