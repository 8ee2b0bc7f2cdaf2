"""scripts/backup.sh and scripts/restore.sh, run for real against recording stand-ins.

There is no Docker Engine or cluster here: `docker` and `kubectl` are stand-ins on PATH that record
every call. `docker exec` runs the given command on this machine, so the scripts' shell lines (the
MinIO client alias built inside the container from its own env) really run, with stand-ins for
`pg_dump`, `pg_restore` and `mc` that record their arguments, stdin and env. The real pg_dump and
pg_restore commands are exercised in tests/test_backup_restore.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DUMP = b"PGDMP\x01\x0e fake custom-format dump"
MINIO_ENV = {"MINIO_ROOT_USER": "minioroot42", "MINIO_ROOT_PASSWORD": "miniosecret0123456789"}

RECORDER = """#!{python}
import json, os, sys
name = os.path.basename(sys.argv[0])
args = sys.argv[1:]
stdin = b""
if {reads_stdin}:
    stdin = sys.stdin.buffer.read()
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"cmd": name, "args": args, "stdin": len(stdin),
                          "mc_host": os.environ.get("MC_HOST_stack")}}) + "\\n")
{body}
"""
BODIES = {
    # docker exec [-i] <container> cmd...: run cmd here, with the MinIO container's env
    "docker": """
if args[0] == "exec":
    rest = args[1:]
    if rest[0] == "-i":
        rest = rest[1:]
    env = {**os.environ, **json.loads(os.environ["FAKE_MINIO_ENV"])}
    os.execvpe(rest[1], rest[1:], env)
""",
    "pg_dump": "sys.stdout.buffer.write(bytes.fromhex(os.environ['FAKE_DUMP']))",
    "pg_restore": """
open(os.path.join(os.environ["FAKE_DIR"], "restored"), "wb").write(stdin)
sys.exit(int(os.environ.get("FAKE_RESTORE_EXIT", "0")))
""",
    "mc": """
if args[0] == "pipe":
    open(os.path.join(os.environ["FAKE_DIR"], "uploaded"), "wb").write(stdin)
elif args[0] == "cat":
    sys.stdout.buffer.write(bytes.fromhex(os.environ["FAKE_DUMP"]))
""",
    "kubectl": """
if "get" in args and "job" in args:
    print(os.environ.get("FAKE_JOB_STATE", "Complete"))
elif "configmap" in args and "--dry-run=client" in args:
    print("apiVersion: v1\\nkind: ConfigMap")
""",
}
READS_STDIN = {"pg_restore": "True", "mc": "True", "kubectl": "'apply' in sys.argv",
               "docker": "False", "pg_dump": "False"}  # docker exec hands its stdin on


@dataclass
class Run:
    code: int
    out: str
    calls: list[dict[str, Any]]
    work: Path

    def commands(self) -> list[list[str]]:
        return [[c["cmd"], *c["args"]] for c in self.calls]


@pytest.fixture
def fakes(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in BODIES.items():
        path = bin_dir / name
        path.write_text(RECORDER.format(python=sys.executable, reads_stdin=READS_STDIN[name], body=body))
        path.chmod(0o755)
    return tmp_path


def run(fakes: Path, script: str, *args: str, **env: str) -> Run:
    log = fakes / "calls.jsonl"
    log.unlink(missing_ok=True)
    done = subprocess.run(
        [str(ROOT / "scripts" / script), *args], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={"PATH": f"{fakes / 'bin'}:/usr/bin:/bin", "HOME": str(fakes), "FAKE_LOG": str(log),
             "FAKE_DIR": str(fakes), "FAKE_DUMP": DUMP.hex(), "FAKE_MINIO_ENV": json.dumps(MINIO_ENV), **env})
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return Run(done.returncode, done.stdout + done.stderr, calls, fakes)


# --- Docker (dev) ------------------------------------------------------------------------------------

def test_dev_backup_dumps_in_the_postgres_container_and_pipes_to_minio(fakes: Path) -> None:
    done = run(fakes, "backup.sh", "dev")
    assert done.code == 0, done.out
    docker = [c for c in done.calls if c["cmd"] == "docker"]
    assert docker[0]["args"][:3] == ["exec", "labelstudio-dev-postgres", "pg_dump"]
    dump = next(c for c in done.calls if c["cmd"] == "pg_dump")["args"]
    assert dump == ["--format=custom", "--no-password", "--username=labelstudio", "--dbname=labelstudio"]
    assert docker[1]["args"][:3] == ["exec", "-i", "labelstudio-dev-minio"]
    mc = next(c for c in done.calls if c["cmd"] == "mc")
    today = datetime.now(UTC)
    assert mc["args"][0] == "pipe" and re.fullmatch(
        rf"stack/label-studio-media/backups/postgres/{today:%Y/%m/%d}/labelstudio-{today:%Y%m%d}T\d{{6}}Z\.dump",
        mc["args"][1]), mc["args"]
    # the alias is built inside the container from its own env; the keys are in no argument
    assert mc["mc_host"] == "http://minioroot42:miniosecret0123456789@127.0.0.1:9000"
    assert not [c for c in done.calls if "miniosecret0123456789" in " ".join(c["args"])]
    assert (fakes / "uploaded").read_bytes() == DUMP
    assert f"backup: uploaded s3://label-studio-media/{mc['args'][1].removeprefix('stack/label-studio-media/')}" \
           f" ({len(DUMP)} bytes)" in done.out


def test_dev_list_shows_the_prefix(fakes: Path) -> None:
    done = run(fakes, "backup.sh", "dev", "list")
    assert done.code == 0, done.out
    assert next(c for c in done.calls if c["cmd"] == "mc")["args"] == [
        "ls", "--recursive", "stack/label-studio-media/backups/postgres/"]


KEY = "backups/postgres/2026/12/01/labelstudio-20261201T021700Z.dump"


def test_dev_restore_stops_the_web_tier_restores_and_starts_it_again(fakes: Path) -> None:
    done = run(fakes, "restore.sh", "dev", KEY, "--yes")
    assert done.code == 0, done.out
    # in call order, leaving out the `docker exec` around mc and pg_restore
    order = [c["cmd"] + ":" + " ".join(c["args"][:2]) for c in done.calls if c["args"][:1] != ["exec"]]
    assert order == ["mc:cat stack/label-studio-media/" + KEY,
                     "docker:stop labelstudio-dev-nginx", "pg_restore:--clean --if-exists",
                     "docker:start labelstudio-dev-app"], order
    restore = next(c for c in done.calls if c["cmd"] == "pg_restore")["args"]
    assert restore == ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
                       "--no-password", "--username=labelstudio", "--dbname=labelstudio"]
    assert (fakes / "restored").read_bytes() == DUMP


def test_dev_restore_failure_still_starts_the_web_tier(fakes: Path) -> None:
    done = run(fakes, "restore.sh", "dev", KEY, "--yes", FAKE_RESTORE_EXIT="1")
    assert done.code != 0
    assert ["docker", "start", "labelstudio-dev-app", "labelstudio-dev-nginx"] in done.commands()


@pytest.mark.parametrize(("args", "message"), [
    ((KEY,), "Run again with --yes to do it"),
    (("media/upload/1/photo.png", "--yes"), "is not a dump under backups/postgres/"),
    (("backups/postgres/../../media/x.dump", "--yes"), None),
])
def test_restore_asks_first_and_refuses_other_keys(fakes: Path, args: tuple[str, ...], message: str | None) -> None:
    done = run(fakes, "restore.sh", "dev", *args, FAKE_RESTORE_EXIT="0")
    if message is None:  # a dump key in the prefix, whatever it spells: S3 keys are not paths
        assert done.code == 0, done.out
        return
    assert done.code != 0 and message in done.out
    assert not [c for c in done.calls if c["cmd"] in ("docker", "kubectl")]


# --- Kubernetes (prod) -----------------------------------------------------------------------------

def test_prod_backup_now_is_a_job_from_the_cronjob(fakes: Path) -> None:
    done = run(fakes, "backup.sh", "prod")
    assert done.code == 0, done.out
    create = done.commands()[0]
    assert create[:6] == ["kubectl", "-n", "label-studio", "--context", "prod-eu-west-1", "create"]
    assert create[6] == "job" and create[7].startswith("postgres-backup-now-") and create[8] == "--from=cronjob/postgres-backup"
    assert "backup: job postgres-backup-now-" in done.out and "succeeded" in done.out


def test_prod_backup_failure_is_reported(fakes: Path) -> None:
    done = run(fakes, "backup.sh", "prod", FAKE_JOB_STATE="FailureTarget Failed")
    assert done.code != 0 and "failed: kubectl -n label-studio describe job postgres-backup-now-" in done.out


def k8s_steps(done: Run) -> list[str]:
    return [" ".join(c[5:7]) for c in done.commands() if c[0] == "kubectl" and c[5] not in ("get", "logs")]


def test_prod_restore_scales_web_to_zero_runs_the_restore_job_and_scales_back(fakes: Path) -> None:
    done = run(fakes, "restore.sh", "prod", KEY, "--yes")
    assert done.code == 0, done.out
    assert k8s_steps(done) == ["create configmap", "apply -f", "scale deployment", "wait --for=delete",
                               "create job", "scale deployment", "delete configmap"]
    commands = done.commands()
    configmap = next(c for c in commands if c[5:7] == ["create", "configmap"])
    assert configmap[7:9] == ["postgres-restore-request", f"--from-literal=key={KEY}"]
    scales = [c[7:] for c in commands if c[5] == "scale"]
    assert scales == [["app", "nginx", "--replicas=0"], ["app", "nginx", "--replicas=2"]]
    wait = next(c for c in commands if c[5] == "wait")
    assert "app.kubernetes.io/instance=labelstudio-prod,app.kubernetes.io/component=web" in wait
    job = next(c for c in commands if c[5:7] == ["create", "job"])
    assert job[8] == "--from=cronjob/postgres-restore"


def test_prod_restore_failure_scales_back_and_removes_the_request(fakes: Path) -> None:
    done = run(fakes, "restore.sh", "prod", KEY, "--yes", FAKE_JOB_STATE="Failed")
    assert done.code != 0 and "the database is unchanged" in done.out
    assert k8s_steps(done)[-2:] == ["scale deployment", "delete configmap"]


def test_scripts_refuse_a_stack_without_backups_or_with_bad_settings(fakes: Path, tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.nobackup.yaml"
    stack.write_text((ROOT / "Pulumi.dev.yaml").read_text() + "  labelstudio:backupEnabled: false\n")
    done = run(fakes, "backup.sh", "nobackup", STACK_FILE=str(stack))
    assert done.code != 0 and "labelstudio:backupEnabled is false in Pulumi.nobackup.yaml" in done.out
    stack.write_text((ROOT / "Pulumi.dev.yaml").read_text() + "  labelstudio:backupPrefix: /oops/\n")
    bad = run(fakes, "restore.sh", "nobackup", KEY, "--yes", STACK_FILE=str(stack))
    assert bad.code != 0 and "labelstudio:backupPrefix: '/oops/' must not start or end with '/'" in bad.out
    assert not done.calls and not bad.calls


def test_shellcheck_is_clean() -> None:
    assert os.path.exists("/usr/bin/shellcheck"), "shellcheck missing: run scripts/bootstrap-test.sh"
    scripts = [str(ROOT / "scripts" / n) for n in ("backup.sh", "restore.sh", "backup-common.sh")]
    done = subprocess.run(["shellcheck", "-x", *scripts], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout
