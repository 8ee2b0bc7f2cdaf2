"""The CI jobs' own tools: the preflight (tools/ci_check.py: every missing secret, variable or
runner capability reported at once, by name, never by value) and the drift report
(tools/drift_report.py: issues opened, updated and closed through a stand-in `gh` CLI that
answers as GitHub's API does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import ci_check, drift_report, environment_guard
from tools.ci_check import Stack
from tools.plan import ROOT

DOCKER = Stack("dev", "docker", "", "", "")
K8S = Stack("prod", "kubernetes", "", "prod-eu-west-1", "")
TOKEN = "pul-" + "0123456789abcdef" * 2 + "01234567"  # fake
PASSPHRASE = "correct horse battery staple"


# --- preflight ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("stack", "env", "expected"), [
    (DOCKER, {"PULUMI_ACCESS_TOKEN": TOKEN}, []),  # Pulumi Cloud: service-managed secrets
    (DOCKER, {}, ["secret PULUMI_ACCESS_TOKEN is empty"]),
    (DOCKER, {"PULUMI_BACKEND_URL": "https://pulumi.internal.example"}, ["Pulumi service at variable PULUMI_BACKEND_URL"]),
    (DOCKER, {"PULUMI_BACKEND_URL": "s3://state?region=eu-west-1"}, ["secret PULUMI_CONFIG_PASSPHRASE is empty"]),
    (DOCKER, {"PULUMI_BACKEND_URL": "s3://state", "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE}, []),
    (Stack("dev", "docker", "", "", "awskms://alias/pulumi"), {"PULUMI_BACKEND_URL": "gs://state"}, []),
    (Stack("dev", "docker", "", "", "passphrase"), {"PULUMI_ACCESS_TOKEN": TOKEN}, ["PULUMI_CONFIG_PASSPHRASE is empty"]),
    (DOCKER, {"PULUMI_BACKEND_URL": "file:///srv/state", "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE}, ["state on a CI runner is lost"]),
    (DOCKER, {"PULUMI_BACKEND_URL": "ftp://state"}, ["unknown scheme (ftp://)"]),
])
def test_backend_problems(stack: Stack, env: dict[str, str], expected: list[str]) -> None:
    problems = ci_check.backend_problems(stack, env)
    assert len(problems) == len(expected), problems
    for problem, text in zip(problems, expected, strict=True):
        assert text in problem and "fix:" in problem


@pytest.mark.parametrize(("stack", "env", "docker_ok", "expected"), [
    (DOCKER, {}, True, []),
    (DOCKER, {}, False, ["no running Docker Engine", f"label {ci_check.DEV_RUNNER}"]),
    (K8S, {"CI_KUBECONFIG_GIVEN": "true"}, False, []),
    (K8S, {"CI_EKS_CLUSTER": "prod", "CI_AWS_ROLE_ARN": "arn:aws:iam::1:role/ci"}, False, []),
    (K8S, {"CI_KUBECONFIG_GIVEN": "false"}, True, ["EKS_CLUSTER_NAME and secret KUBECONFIG are both empty"]),
    (K8S, {"CI_EKS_CLUSTER": "prod"}, True, ["no AWS role", "AWS_PREVIEW_ROLE_ARN"]),
    (Stack("prod", "kubernetes", "/home/me/.kube/config", "", ""), {"CI_KUBECONFIG_GIVEN": "true"}, True,
     ["sets labelstudio:kubeconfig (/home/me/.kube/config)"]),
])
def test_platform_problems(stack: Stack, env: dict[str, str], docker_ok: bool, expected: list[str]) -> None:
    problems = " | ".join(ci_check.platform_problems(stack, env, docker_ok))
    assert all(text in problems for text in expected), problems
    assert bool(problems) == bool(expected)


def test_stack_name_and_organization() -> None:
    assert ci_check.stack_name(K8S, {}) == "prod"
    assert ci_check.stack_name(K8S, {"CI_PULUMI_ORG": "acme-labs"}) == "acme-labs/prod"
    assert ci_check.org_problems({"CI_PULUMI_ORG": "acme labs/x"})[0].startswith("variable PULUMI_ORG")


def test_the_cli_version_is_the_pinned_sdk() -> None:
    assert ci_check.pulumi_version((ROOT / "requirements.txt").read_text()) == metadata.version("pulumi")
    with pytest.raises(ValueError, match="pins no `pulumi=="):
        ci_check.pulumi_version("pulumi-docker==5.2.0\npulumi>=3\n")


def run_check(stack: str, env: dict[str, str], tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    out = tmp_path / "github_output"
    result = subprocess.run([sys.executable, "-m", "tools.ci_check", stack], capture_output=True, text=True,
                            cwd=ROOT, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(out), **env})
    return result, out.read_text() if out.exists() else ""


def test_preflight_of_the_prod_stack_hands_the_workflow_its_values(tmp_path: Path) -> None:
    result, outputs = run_check("prod", {"PULUMI_ACCESS_TOKEN": TOKEN, "CI_PULUMI_ORG": "acme",
                                         "CI_KUBECONFIG_GIVEN": "true"}, tmp_path)
    assert result.returncode == 0, result.stderr
    prod = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    assert outputs.splitlines() == [
        "stack-name=acme/prod", f"pulumi-version={metadata.version('pulumi')}",
        "platform=kubernetes", f"kube-context={prod['labelstudio:kubeContext']}"]


def test_preflight_reports_every_problem_at_once_and_no_secret(tmp_path: Path) -> None:
    result, outputs = run_check("prod", {"PULUMI_BACKEND_URL": "s3://state", "PULUMI_ACCESS_TOKEN": TOKEN,
                                         "CI_PULUMI_ORG": "a b", "CI_EKS_CLUSTER": "prod-cluster"}, tmp_path)
    assert result.returncode == 1 and outputs == ""
    assert "(3 problem(s))" in result.stderr
    for name in ("PULUMI_CONFIG_PASSPHRASE", "AWS_PREVIEW_ROLE_ARN", "PULUMI_ORG"):
        assert name in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_preflight_of_a_missing_stack_file(tmp_path: Path) -> None:
    result, _ = run_check("staging", {"PULUMI_ACCESS_TOKEN": TOKEN}, tmp_path)
    assert result.returncode == 1
    assert "no stack file Pulumi.staging.yaml; fix:" in result.stderr


def test_preflight_checks_docker_for_docker_stacks(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"PULUMI_ACCESS_TOKEN": TOKEN}
    monkeypatch.setattr(ci_check, "docker_running", lambda: False)
    assert ci_check.main(["dev"], env) == 1
    assert "runs on Docker" in capsys.readouterr().err
    monkeypatch.setattr(ci_check, "docker_running", lambda: True)
    assert ci_check.main(["dev"], env) == 0
    assert "platform=docker" in capsys.readouterr().out


# --- drift report ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("conclusion", "issue", "kind"), [
    ("failure", None, "open"), ("timed_out", None, "open"), ("failure", 7, "comment"),
    ("success", 7, "close"), ("success", None, "none"), ("cancelled", 7, "none"), ("", None, "none"),
])
def test_drift_decisions(conclusion: str, issue: int | None, kind: str) -> None:
    action = drift_report.decide("prod", conclusion, issue, "https://github.com/o/r/actions/runs/1")
    assert action.kind == kind and action.issue == issue
    assert kind == "none" or "https://github.com/o/r/actions/runs/1" in action.body


FAKE_GH = """#!{python}
# Stand-in for the gh CLI: answers from state.json as GitHub's API would, logs every call.
import json, sys
from pathlib import Path
here = Path(__file__).parent
state = json.loads((here / "state.json").read_text())
args = sys.argv[1:]
with open(here / "calls.jsonl", "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[0] == "api" and "/environments/" in args[1]:
    if "environment" not in state:
        sys.exit("gh: Not Found (HTTP 404)")
    print(json.dumps(state["environment"]))
elif args[0] == "api":
    jobs = state["jobs"]
    for page in (jobs[:1], jobs[1:]):  # --paginate prints one JSON page after the other
        print(json.dumps({{"total_count": len(jobs), "jobs": page}}, indent=2))
elif args[:2] == ["issue", "list"]:
    print(json.dumps(state["issues"]))
elif args[:2] == ["issue", "create"]:
    print("https://github.com/o/r/issues/12")
elif args[0] not in ("issue", "label"):
    sys.exit("unexpected gh call")
"""


def run_gh_tool(tmp_path: Path, state: dict[str, Any], *command: str) -> tuple[int, list[list[str]], str]:
    """Run `python -m tools.<command>` with the fake gh answering from `state`."""
    (tmp_path / "state.json").write_text(json.dumps(state))
    gh = tmp_path / "gh"
    gh.write_text(FAKE_GH.format(python=sys.executable))
    gh.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "GH_TOKEN": "fake", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "99"}
    result = subprocess.run([sys.executable, "-m", f"tools.{command[0]}", *command[1:]], capture_output=True,
                            text=True, cwd=ROOT, env=env, timeout=60)
    calls_file = tmp_path / "calls.jsonl"
    calls = [json.loads(line) for line in calls_file.read_text().splitlines()] if calls_file.exists() else []
    return result.returncode, calls, result.stdout + result.stderr


def run_report(tmp_path: Path, jobs: list[dict[str, Any]], issues: list[dict[str, Any]]) -> tuple[int, list[list[str]], str]:
    return run_gh_tool(tmp_path, {"jobs": jobs, "issues": issues}, "drift_report", "dev", "prod")


def job(name: str, conclusion: str | None) -> dict[str, Any]:
    return {"id": hash(name) % 1000, "name": name, "status": "completed", "conclusion": conclusion}


def test_a_failed_drift_check_opens_an_issue(tmp_path: Path) -> None:
    code, calls, out = run_report(tmp_path, [job("drift dev", "failure"), job("drift prod", "success"),
                                             job("report", None)], [])
    assert code == 0, out
    assert calls[0][:3] == ["api", "--paginate", "repos/o/r/actions/runs/99/jobs?per_page=100"]
    assert calls[2][:3] == ["label", "create", "drift"]
    create = calls[3]
    assert create[:2] == ["issue", "create"]
    assert create[create.index("--title") + 1] == "Drift check failed: stack dev"
    assert create[create.index("--label") + 1] == "drift"
    assert "https://github.com/o/r/actions/runs/99" in create[create.index("--body") + 1]
    assert len(calls) == 4  # prod: no drift and no issue, nothing to do


def test_drift_issues_are_updated_while_failing_and_closed_when_clean(tmp_path: Path) -> None:
    issues = [{"number": 7, "title": "Drift check failed: stack dev"},
              {"number": 9, "title": "Drift check failed: stack prod"}]
    code, calls, out = run_report(tmp_path, [job("drift dev", "failure"), job("drift prod", "success")], issues)
    assert code == 0, out
    assert [c[:3] for c in calls[2:]] == [["issue", "comment", "7"], ["issue", "close", "9"]]
    assert "issue: comment #7" in out and "issue: close #9" in out


def test_a_misnamed_drift_job_fails_the_report(tmp_path: Path) -> None:
    code, _, out = run_report(tmp_path, [job("drift (dev)", "failure"), job("drift prod", "success")], [])
    assert code == 1
    assert "no job named drift dev in run 99; fix:" in out


def test_the_report_needs_its_environment() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")}
    result = subprocess.run([sys.executable, "-m", "tools.drift_report", "dev"], capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=60)
    assert result.returncode == 2 and "GH_TOKEN, GITHUB_REPOSITORY, GITHUB_RUN_ID not set" in result.stderr


# --- production environment guard --------------------------------------------------------------------

PROTECTED = {
    "name": "production",
    "protection_rules": [
        {"id": 1, "type": "wait_timer", "wait_timer": 0},
        {"id": 2, "type": "required_reviewers", "prevent_self_review": True,
         "reviewers": [{"type": "Team", "reviewer": {"id": 5, "slug": "platform"}}]},
        {"id": 3, "type": "branch_policy"}],
    "deployment_branch_policy": {"protected_branches": True, "custom_branch_policies": False},
}


@pytest.mark.parametrize(("change", "expected"), [
    ({}, []),
    ({"protection_rules": []}, ["requires no reviewer"]),
    ({"protection_rules": [{"id": 2, "type": "required_reviewers", "reviewers": []}]}, ["requires no reviewer"]),
    ({"deployment_branch_policy": None}, ["lets any branch deploy"]),
    ({"protection_rules": [], "deployment_branch_policy": None}, ["requires no reviewer", "lets any branch deploy"]),
])
def test_environment_guard_problems(change: dict[str, Any], expected: list[str]) -> None:
    found = environment_guard.problems("production", {**PROTECTED, **change})
    assert [any(text in problem for problem in found) for text in expected] == [True] * len(expected)
    assert len(found) == len(expected)
    assert all("fix: Settings > Environments > production" in problem for problem in found)


def test_environment_guard_against_githubs_answers(tmp_path: Path) -> None:
    code, calls, out = run_gh_tool(tmp_path, {"environment": PROTECTED}, "environment_guard", "production")
    assert code == 0, out
    assert calls == [["api", "repos/o/r/environments/production"]]
    code, _, out = run_gh_tool(tmp_path, {"environment": {"name": "production", "protection_rules": [],
                                                          "deployment_branch_policy": None}},
                               "environment_guard", "production")
    assert code == 1 and "requires no reviewer" in out and "lets any branch deploy" in out
    code, _, out = run_gh_tool(tmp_path, {}, "environment_guard", "production")  # no answer: fail closed
    assert code == 1 and "cannot read environment production" in out and "HTTP 404" in out
