"""The GitOps workflows (.github/workflows) and their prepare action: GitHub's workflow schema
(SchemaStore's, vendored by check-jsonschema, offline), checkov's github_actions checks and zizmor
with zero findings (each with a canary it must refuse), then what no linter knows: Python deps
before every Pulumi step, only real pulumi/actions inputs, the policy pack, production behind its
environment, drift with refresh + expect-no-changes, secrets only from the secret store,
least-privilege permissions, pinned actions, concurrency and timeouts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tools import ci_check, drift_report
from tools.plan import ROOT

GITHUB = ROOT / ".github"
WORKFLOWS = {p.stem: p for p in sorted((GITHUB / "workflows").glob("*.yml"))}
PREPARE = GITHUB / "actions" / "pulumi-prepare" / "action.yml"
VENV_BIN = Path(sys.executable).parent
CHECKOV = ROOT / ".venvs" / "checkov" / "bin" / "checkov"
OFFLINE = {"PATH": "/usr/bin:/bin", "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "NO_PROXY": ""}  # any download attempt fails
PULUMI_ACTION = "pulumi/actions"
# pulumi/actions' inputs (action.yml of v6.x and v7.0.0, which kept them and moved to Node 24).
PULUMI_ACTION_INPUTS = {
    "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr",
    "comment-on-pr-number", "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "parallel",
    "message", "config-map", "expect-no-changes", "diff", "replace", "target", "target-dependents", "policyPacks",
    "policyPackConfigs", "refresh", "upsert", "remove", "edit-pr-comment", "color", "exclude-protected", "plan",
    "suppress-outputs", "suppress-progress", "always-include-summary"}
STACKS = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
# The permissions each job needs, and no more.
PERMISSIONS = {
    ("pulumi-preview", "preview"): {"contents": "read", "pull-requests": "write", "id-token": "write"},
    ("pulumi-deploy", "dev"): {"contents": "read", "id-token": "write"},
    ("pulumi-deploy", "prod"): {"contents": "read", "actions": "read", "id-token": "write"},
    ("pulumi-drift", "drift"): {"contents": "read", "id-token": "write"},
    ("pulumi-drift", "report"): {"contents": "read", "actions": "read", "issues": "write"},
}
SECRET_LITERAL = re.compile(r"pul-[0-9a-f]{40}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|-----BEGIN")


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    if True in doc:  # YAML 1.1 reads the key `on` as a boolean
        doc["on"] = doc.pop(True)
    return doc


def jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(wf, name, job) for wf, path in WORKFLOWS.items() for name, job in load(path)["jobs"].items()]


def pulumi_steps() -> list[tuple[str, str, dict[str, Any], int]]:
    """(workflow, job, job dict, index of its pulumi/actions step) for every Pulumi step."""
    return [(wf, name, job, i) for wf, name, job in jobs() for i, step in enumerate(job["steps"])
            if step.get("uses", "").startswith(f"{PULUMI_ACTION}@")]


def stacks_of(job: dict[str, Any]) -> list[str]:
    """The stacks a job runs for: its matrix, else its prepare step's literal stack."""
    matrix = job.get("strategy", {}).get("matrix", {}).get("include")
    if matrix:
        return [leg["stack"] for leg in matrix]
    return [s["with"]["stack"] for s in job["steps"] if s.get("uses") == "./.github/actions/pulumi-prepare"]


def strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in strings(value, f"{path}.{key}")]
    if isinstance(node, list):
        return [item for i, value in enumerate(node) for item in strings(value, f"{path}[{i}]")]
    return [(path, str(node))]


def test_the_three_workflows_exist() -> None:
    assert set(WORKFLOWS) == {"pulumi-preview", "pulumi-deploy", "pulumi-drift"}
    assert len(pulumi_steps()) == 4


# --- schema, checkov, zizmor -------------------------------------------------------------------------

def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV_BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, paths)],
                          capture_output=True, text=True, timeout=120, env=OFFLINE)


def test_workflows_and_action_match_githubs_schemas_offline() -> None:
    for schema in ("vendor.github-workflows", "custom.github-workflows-require-timeout"):
        result = check_jsonschema(schema, *WORKFLOWS.values())
        assert result.returncode == 0, result.stdout + result.stderr
    result = check_jsonschema("vendor.github-actions", PREPARE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_a_broken_workflow(tmp_path: Path) -> None:
    broken = load(WORKFLOWS["pulumi-deploy"])
    broken["jobs"]["dev"]["runs_on"] = broken["jobs"]["dev"].pop("runs-on")  # a typo
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(broken))
    result = check_jsonschema("vendor.github-workflows", tmp_path / "broken.yml")
    assert result.returncode == 1 and "runs_on" in result.stdout, result.stdout
    del broken["jobs"]["prod"]["timeout-minutes"]
    broken["jobs"]["dev"]["runs-on"] = broken["jobs"]["dev"].pop("runs_on")
    (tmp_path / "no-timeout.yml").write_text(yaml.safe_dump(broken))
    assert check_jsonschema("custom.github-workflows-require-timeout", tmp_path / "no-timeout.yml").returncode == 1


CANARY = """name: canary
on:
  pull_request_target:
permissions: write-all
jobs:
  up:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def test_checkov_github_actions_finds_nothing_but_the_canary(tmp_path: Path) -> None:
    scan = tmp_path / "scan"
    shutil.copytree(GITHUB, scan / ".github")
    (scan / ".github" / "workflows" / "canary.yml").write_text(CANARY)
    result = subprocess.run([str(CHECKOV), "-d", str(scan), "--framework", "github_actions", "--compact",
                             "--skip-download", "-o", "json"], capture_output=True, text=True, timeout=300,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0
    failed = {(c["check_id"], Path(c["file_path"]).name) for c in report["results"]["failed_checks"]}
    assert failed == {("CKV2_GHA_1", "canary.yml"), ("CKV_GHA_2", "canary.yml")}
    scanned = {Path(c["file_path"]).stem for c in report["results"]["passed_checks"]}
    assert set(WORKFLOWS) <= scanned


def zizmor(*paths: Path) -> list[dict[str, Any]]:
    result = subprocess.run([str(VENV_BIN / "zizmor"), "--offline", "--format", "json", *map(str, paths)],
                            capture_output=True, text=True, timeout=120, env=OFFLINE)
    assert result.returncode in (0, 10, 11, 12, 13, 14), result.stderr[-2000:]  # 1x: findings
    return json.loads(result.stdout)


def test_zizmor_finds_nothing_but_the_canary(tmp_path: Path) -> None:
    assert zizmor(GITHUB) == []  # the workflows and the prepare action, with .github/zizmor.yml
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "canary.yml").write_text(CANARY)
    found = {finding["ident"] for finding in zizmor(tmp_path)}
    assert {"unpinned-uses", "template-injection", "dangerous-triggers", "artipacked"} <= found


# --- what the linters cannot know ----------------------------------------------------------------------

def test_python_dependencies_are_installed_before_every_pulumi_step() -> None:
    for wf, name, job, at in pulumi_steps():
        uses = [step.get("uses", "") for step in job["steps"][:at]]
        assert uses[0].startswith("actions/checkout@"), (wf, name)
        assert "./.github/actions/pulumi-prepare" in uses, f"{wf}/{name}: no prepare step before Pulumi"
    # ... and the prepare action fills the virtualenvs the Pulumi CLI will use.
    runtime = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["runtime"]["options"]
    assert runtime == {"toolchain": "pip", "virtualenv": ".venv"}
    makefile = (ROOT / "Makefile").read_text()
    assert "python3 -m venv .venv" in makefile and "-r requirements.txt" in makefile
    policy_venv = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())["runtime"]["options"]
    steps = load(PREPARE)["runs"]["steps"]
    install = next(s["run"] for s in steps if "make venv" in s.get("run", ""))
    assert f"python3 -m venv policies/{policy_venv['virtualenv']}" in install
    assert f"policies/{policy_venv['virtualenv']}/bin/python -m pip install" in install
    assert "-r policies/requirements.txt" in install
    assert steps[0]["with"]["python-version"] == "3.11"
    names = [s.get("id") for s in steps]
    assert names.index("preflight") > 1  # after the venv the preflight runs in


def test_pulumi_steps_use_real_inputs_and_the_prepared_values() -> None:
    for wf, name, job, at in pulumi_steps():
        step = job["steps"][at]
        assert set(step["with"]) <= PULUMI_ACTION_INPUTS, f"{wf}/{name}: {set(step['with']) - PULUMI_ACTION_INPUTS}"
        assert step["with"]["stack-name"] == "${{ steps.prepare.outputs.stack-name }}"
        assert step["with"]["pulumi-version"] == "${{ steps.prepare.outputs.pulumi-version }}"
        assert step["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
        assert step["env"] == {"KUBECONFIG": "${{ steps.prepare.outputs.kubeconfig }}"}
        assert job["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"


def test_every_stack_is_previewed_and_checked_for_drift_on_its_runner() -> None:
    for wf in ("pulumi-preview", "pulumi-drift"):
        (_, _, job, _), = [p for p in pulumi_steps() if p[0] == wf]
        legs = job["strategy"]["matrix"]["include"]
        assert sorted(leg["stack"] for leg in legs) == STACKS, (
            f"{wf}: every Pulumi.<stack>.yaml in the repo needs a leg in this matrix (and in the drift report "
            "and deploy workflows, with a policies/config/<stack>.json); add the new stack there")
        assert job["runs-on"] == "${{ matrix.runner }}"
        for leg in legs:
            platform = ci_check.read_stack(leg["stack"]).platform
            assert (leg["runner"] == ci_check.DEV_RUNNER) == (platform == "docker"), leg  # Docker stacks on the host


def test_pull_requests_get_a_diff_with_the_policy_pack_and_a_comment() -> None:
    preview = load(WORKFLOWS["pulumi-preview"])
    assert preview["on"] == {"pull_request": {"branches": ["main"]}}
    (_, _, job, at), = [p for p in pulumi_steps() if p[0] == "pulumi-preview"]
    step = job["steps"][at]["with"]
    assert step["command"] == "preview" and step["diff"] is True and step["comment-on-pr"] is True
    assert step["policyPacks"] == "policies"
    assert step["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"
    for stack in STACKS:
        assert (ROOT / "policies" / "config" / f"{stack}.json").is_file()
    # Forks get no secrets: their pull requests are not previewed rather than failing.
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert job["concurrency"]["cancel-in-progress"] is True


def test_merges_deploy_dev_then_prod_behind_the_production_environment() -> None:
    deploy = load(WORKFLOWS["pulumi-deploy"])
    assert deploy["on"] == {"push": {"branches": ["main"]}, "workflow_dispatch": None}
    ups = [(name, job, job["steps"][at]["with"]) for _, name, job, at in pulumi_steps()
           if job["steps"][at]["with"]["command"] == "up"]
    assert sorted(stack for _, job, _ in ups for stack in stacks_of(job)) == STACKS
    for _, job, step in ups:
        (stack,) = stacks_of(job)
        assert job["if"] == "github.ref == 'refs/heads/main'"
        assert job["environment"] == ("production" if stack == "prod" else stack)
        assert step["policyPacks"] == "policies" and step["policyPackConfigs"] == f"policies/config/{stack}.json"
        # Two updates of one stack never overlap, and none is cancelled half-way.
        assert job["concurrency"] == {"group": f"pulumi-up-{stack}", "cancel-in-progress": False}
    assert deploy["jobs"]["prod"]["needs"] == "dev"  # promotion: prod only after dev succeeded
    # ... and prod refuses an environment that GitHub created unprotected, before preparing anything.
    steps = deploy["jobs"]["prod"]["steps"]
    assert steps[1]["run"] == "python3 -m tools.environment_guard production"
    assert steps[1]["env"] == {"GH_TOKEN": "${{ github.token }}"}


def test_the_drift_check_refreshes_expects_no_changes_and_reports() -> None:
    drift = load(WORKFLOWS["pulumi-drift"])
    assert "schedule" in drift["on"] and drift["on"]["schedule"][0]["cron"]
    job = drift["jobs"]["drift"]
    step = next(s for s in job["steps"] if s.get("uses", "").startswith(f"{PULUMI_ACTION}@"))["with"]
    assert (step["command"], step["refresh"], step["expect-no-changes"]) == ("preview", True, True)
    assert job["strategy"]["fail-fast"] is False  # one stack's drift does not hide another's
    # The report job names the same stacks and finds their jobs by the name tools/drift_report.py uses.
    assert job["name"] == drift_report.job_name("${{ matrix.stack }}")
    report = drift["jobs"]["report"]
    assert report["needs"] == "drift" and report["if"].startswith("always()")
    command = report["steps"][-1]["run"].split()
    assert command[:3] == ["python3", "-m", "tools.drift_report"] and command[3:] == stacks_of(job)


def test_permissions_are_declared_and_least_privilege() -> None:
    for wf, path in WORKFLOWS.items():
        assert load(path)["permissions"] == {}, f"{wf}: top-level permissions must be empty"
    assert {(wf, name): job.get("permissions") for wf, name, job in jobs()} == PERMISSIONS


def test_secrets_come_only_from_the_secret_store() -> None:
    for path in [*WORKFLOWS.values(), PREPARE]:
        text = path.read_text()
        assert not SECRET_LITERAL.search(text), f"{path.name}: a credential literal"
        for where, value in strings(load(path)):
            if where.endswith(".run"):
                assert "${{" not in value, f"{path.name} {where}: expressions reach scripts only through env"
            if "secrets." in value:
                assert re.fullmatch(r"\$\{\{ secrets\.[A-Z_]+ \}\}", value), f"{path.name} {where}: {value}"
                assert re.search(r"\.(env|with)\.[A-Za-z_-]+$", where), f"{path.name} {where}"
            key = where.rsplit(".", 1)[-1]
            if re.search(r"TOKEN|PASSPHRASE|PASSWORD|SECRET|KUBECONFIG", key, re.I) and ".env." in where:
                assert value.startswith("${{") and value.endswith("}}"), f"{path.name} {where} is a literal"


def test_actions_are_pinned_by_full_commit_sha_with_their_version() -> None:
    for path in [*WORKFLOWS.values(), PREPARE]:
        for line in path.read_text().splitlines():
            match = re.search(r"uses:\s*(\S+)(.*)", line)
            if not match:
                continue
            ref, comment = match.groups()
            if ref.startswith("./"):
                assert (ROOT / ref / "action.yml").is_file(), ref
                continue
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), f"{path.name}: {ref} is not pinned by SHA"
            assert re.fullmatch(r"\s+# v\d+\.\d+\.\d+", comment), f"{path.name}: {ref} needs its `# vX.Y.Z`"


def test_every_job_has_a_timeout_and_a_concurrency_group() -> None:
    for wf, name, job in jobs():
        assert 0 < job["timeout-minutes"] <= 60, (wf, name)
        assert job["concurrency"]["group"], (wf, name)
    groups = [job["concurrency"]["group"] for _, _, job in jobs()]
    assert len(groups) == len(set(groups))
