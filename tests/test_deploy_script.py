"""scripts/deploy.sh (what `make up` runs) names every missing prerequisite at once, before any
Pulumi call, with what to do about each."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_without_pulumi(tmp_path: Path, stack: str, stubs: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """deploy.sh with a PATH holding only the tools it needs, stand-ins for `stubs`, and no pulumi."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "make", "python3"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    for name, script in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{script}\n")
        (bin_dir / name).chmod(0o755)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    return subprocess.run(["/bin/bash", "scripts/deploy.sh", stack, "preview"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_docker_stack_names_the_cli_and_the_stopped_engine_together(tmp_path: Path) -> None:
    done = run_without_pulumi(tmp_path, "dev", {"docker": "exit 1"})  # installed, engine not running
    assert done.returncode == 1
    assert "error: pulumi not found: install the Pulumi CLI" in done.stderr
    assert "error: Docker is installed but not running (docker info failed): start Docker Engine" in done.stderr


def test_kubernetes_stack_names_the_unreachable_context(tmp_path: Path) -> None:
    done = run_without_pulumi(tmp_path, "prod", {"kubectl": "exit 1"})
    assert done.returncode == 1
    assert "error: pulumi not found" in done.stderr
    assert "no reachable cluster for context 'prod-eu-west-1'" in done.stderr


def test_an_unknown_stack_is_refused_first(tmp_path: Path) -> None:
    done = run_without_pulumi(tmp_path, "nope", {})
    assert done.returncode == 1 and "no stack file Pulumi.nope.yaml" in done.stderr
