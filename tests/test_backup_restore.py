"""Backup and restore for real: the exact commands of the rendered CronJobs, run here.

A Label Studio 1.23.2 on PostgreSQL is seeded with projects, tasks and annotations. The backup
CronJob of an embedded-Kubernetes plan is then run container by container as the kubelet would:
its pg_dump init container (Debian's PostgreSQL client), then its AWS CLI container (awscli from
PyPI, `.venvs/awscli`) uploading to a moto S3 server, with exactly the rendered command, args and
env (Secret values from the plan); only host names, ports and the pod's emptyDir paths are mapped
to this machine. The restore CronJob's containers then load the dump into a FRESH PostgreSQL
cluster, and a Label Studio booted on it must show every project, task and annotation.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from components.backup import RESTORE_REQUEST
from tests.dynamic_engine import ProviderServer
from tests.k8s_plans import Manifests, env_of, template, variant_plan
from tests.realservices import REPO_ROOT, Postgres, S3Server, _postgres_bin, start_label_studio, start_postgres
from tools.plan import Plan

AWS_CLI_BIN = REPO_ROOT / ".venvs" / "awscli" / "bin"
EMBEDDED = {"platform": "kubernetes", "publicUrl": "http://labels.test.example", "mediaMode": "minio",
            "kubernetesServiceCidr": "10.43.0.0/16"}
MINIO_ENDPOINT = "http://minio.localhost:9000"
SECRET_TYPE = "kubernetes:core/v1:Secret"
IMAGE_CONFIG = ('<View><Image name="image" value="$image"/><Choices name="verdict" toName="image">'
                '<Choice value="Keep"/><Choice value="Reject"/></Choices></View>')
TEXT_CONFIG = ('<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
               '<Choice value="Positive"/><Choice value="Negative"/></Choices></View>')
SEED: dict[str, tuple[str, list[tuple[dict[str, str], str | None]]]] = {  # title -> (config, [(data, choice)])
    "Shelf photos": (IMAGE_CONFIG, [({"image": f"https://media.example.com/shelf-{i}.jpg"}, "Keep" if i % 2 else
                                     "Reject") for i in range(6)]),
    "Support tickets": (TEXT_CONFIG, [({"text": "The export works, thanks!"}, "Positive"),
                                      ({"text": "Login fails since the update."}, "Negative"),
                                      ({"text": "Not labelled yet."}, None)]),
}
FROM_TO = {"Shelf photos": ("verdict", "image"), "Support tickets": ("sentiment", "text")}


@dataclass
class Pod:
    """One run of a CronJob's pod template, its containers run one after the other."""

    manifests: Manifests
    plan: Plan
    name: str
    work: Path

    def __post_init__(self) -> None:
        self.spec = template(self.manifests.one("CronJob", self.name))["spec"]
        self.volumes = {v["name"]: self.work / v["name"] for v in self.spec["volumes"]}
        for path in self.volumes.values():
            path.mkdir(parents=True, exist_ok=True)

    def containers(self) -> list[dict[str, Any]]:
        return [*self.spec.get("initContainers", []), *self.spec["containers"]]

    def secret(self, name: str, key: str) -> str:
        found = [r for r in self.plan.of_type(SECRET_TYPE) if r.outputs.get("metadata", {}).get("name") == name]
        assert len(found) == 1, name
        return str(found[0].inputs(reveal=True)["stringData"][key])

    def run(self, container: dict[str, Any], hosts: dict[str, str], config_maps: dict[tuple[str, str], str]
            ) -> subprocess.CompletedProcess[str]:
        """The container's command and args with its env, as the kubelet would start it; `hosts`
        maps env values (in-cluster addresses) to this machine's, mounts map to work dirs."""
        mounts = {m["mountPath"]: self.volumes[m["name"]] for m in container["volumeMounts"] if "subPath" not in m}

        pattern = re.compile(rf"(^|=)({'|'.join(re.escape(m) for m in sorted(mounts, key=len, reverse=True))})(?=/|$)")

        def local(text: str) -> str:  # one pass: a work dir may itself lie under /tmp
            return pattern.sub(lambda m: m.group(1) + str(mounts[m.group(2)]), text)

        env = {"PATH": f"{AWS_CLI_BIN}:/usr/bin:/bin"}
        for name, entry in env_of(container).items():
            if "value" in entry:
                value = entry["value"]
            elif "secretKeyRef" in entry["valueFrom"]:
                ref = entry["valueFrom"]["secretKeyRef"]
                value = self.secret(ref["name"], ref["key"])
            else:
                ref = entry["valueFrom"]["configMapKeyRef"]
                value = config_maps[(ref["name"], ref["key"])]
            env[name] = local(hosts.get(value, value))
        argv = [local(a) for a in [*container.get("command", []), *container.get("args", [])]]
        if argv[0].startswith("pg_"):
            argv[0] = _postgres_bin(argv[0])  # the image's client, here Debian's
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, cwd=self.work)


@dataclass
class Stack:
    plan: Plan
    manifests: Manifests
    s3: S3Server
    bucket: str
    source: Postgres
    seeded: dict[str, list[tuple[dict[str, Any], list[list[str]]]]]
    ls_env: dict[str, str]


def ls_env(pg: Postgres, password: str) -> dict[str, str]:
    return {"DJANGO_DB": "default", "POSTGRE_NAME": "labelstudio", "POSTGRE_USER": "labelstudio",
            "POSTGRE_PASSWORD": password, "POSTGRE_HOST": pg.host, "POSTGRE_PORT": str(pg.port),
            "SECRET_KEY": "backup-test-secret-key-" + "k" * 30, "LABEL_STUDIO_USERNAME": "admin@example.com",
            "LABEL_STUDIO_PASSWORD": "backup-test-admin-pw", "LABEL_STUDIO_USER_TOKEN": "ls-backup-token-9d2e",
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true", "JSON_LOG": "1", "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "", "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false"}


def as_embedded_postgres(pg: Postgres, password: str) -> None:
    """The database the embedded Postgres image makes from POSTGRES_DB/USER/PASSWORD."""
    pg.psql("DROP DATABASE IF EXISTS labelstudio")
    pg.psql(f"ALTER ROLE labelstudio PASSWORD '{password}'")
    pg.psql("CREATE DATABASE labelstudio OWNER labelstudio")


def count(pg: Postgres, table: str) -> str:
    """Rows of a Label Studio table in the labelstudio database (as its superuser, over the socket)."""
    done = subprocess.run(
        [_postgres_bin("psql"), "-h", str(pg.socket_dir), "-p", str(pg.port), "-U", "postgres", "-d", "labelstudio",
         "-v", "ON_ERROR_STOP=1", "-qAtc", f"SELECT count(*) FROM {table}"],
        capture_output=True, text=True, timeout=30, user=pg.os_user, group=pg.os_user,
        extra_groups=[] if pg.os_user else None)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def api(url: str, token: str, method: str, path: str, **kwargs: Any) -> Any:
    response = requests.request(method, url + path, headers={"Authorization": f"Token {token}"}, timeout=60,
                                **kwargs)
    assert response.ok, (method, path, response.status_code, response.text[:300])
    return response.json() if response.content else None


def seed(url: str, token: str) -> None:
    for title, (config, tasks) in SEED.items():
        project = api(url, token, "POST", "/api/projects/", json={"title": title, "label_config": config})
        api(url, token, "POST", f"/api/projects/{project['id']}/import", json=[data for data, _ in tasks])
        from_name, to_name = FROM_TO[title]
        listed = api(url, token, "GET", f"/api/tasks/?project={project['id']}&page_size=100")["tasks"]
        by_data = {repr(sorted(t["data"].items())): t["id"] for t in listed}
        for data, choice in tasks:
            if choice is None:
                continue
            result = [{"from_name": from_name, "to_name": to_name, "type": "choices", "value": {"choices": [choice]}}]
            api(url, token, "POST", f"/api/tasks/{by_data[repr(sorted(data.items()))]}/annotations/",
                json={"result": result})


def contents(url: str, token: str) -> dict[str, list[tuple[dict[str, Any], list[list[str]]]]]:
    """Every project by title: its tasks' data with the choices of each annotation, in task order."""
    out = {}
    for project in api(url, token, "GET", "/api/projects/?page_size=100")["results"]:
        tasks = api(url, token, "GET", f"/api/tasks/?project={project['id']}&page_size=100&fields=all")["tasks"]
        out[project["title"]] = sorted(
            ((t["data"], sorted(r["value"]["choices"] for a in t["annotations"] for r in a["result"]))
             for t in tasks), key=repr)
    return out


@pytest.fixture(scope="module")
def stack(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not (AWS_CLI_BIN / "aws").exists():
        pytest.fail("AWS CLI venv missing: run scripts/bootstrap-test.sh")
    plan = variant_plan("backup-e2e", EMBEDDED, tmp_path_factory.mktemp("plan"))
    manifests = Manifests(plan)
    ref = env_of(manifests.init_container("postgres-backup", "dump"))["PGPASSWORD"]["valueFrom"]["secretKeyRef"]
    password = Pod(manifests, plan, "postgres-backup", tmp_path_factory.mktemp("probe")).secret(ref["name"], ref["key"])
    # The bucket as the plan's own providers make it (hardened, versioned), then the retention rule.
    outputs = {}
    for name in ("media-bucket", "backup-retention"):
        resource = plan.named(name)
        server = ProviderServer(f"backup-e2e-{name}")
        try:
            checked, failures = server.check(resource.urn, {}, {**resource.inputs(reveal=True),
                                                                 "endpoint": s3_server.endpoint})
            assert not failures, failures
            outputs[name] = server.create(resource.urn, checked)[1]
        finally:
            server.stop()
    source = start_postgres()
    as_embedded_postgres(source, password)
    env = ls_env(source, password)
    ls = start_label_studio(env)
    try:
        seed(ls.url, ls.api_token)
        seeded = contents(ls.url, ls.api_token)
    finally:
        ls.stop()
    yield Stack(plan, manifests, s3_server, outputs["media-bucket"]["bucket"], source, seeded, env)
    source.stop()


def s3_client(s3: S3Server) -> Any:
    return boto3.client("s3", endpoint_url=s3.endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


def test_seeded_data_is_what_the_test_made(stack: Stack) -> None:
    assert set(stack.seeded) == set(SEED)
    assert {title: len(tasks) for title, tasks in stack.seeded.items()} == {"Shelf photos": 6, "Support tickets": 3}
    assert sum(len(a) for tasks in stack.seeded.values() for _d, a in tasks) == 8  # annotated tasks


def test_backup_dumps_and_uploads_under_a_dated_key_then_restore_brings_everything_back(
        stack: Stack, tmp_path: Path) -> None:
    s3 = s3_client(stack.s3)
    prefix = "backups/postgres/"
    before = {o["Key"] for o in s3.list_objects_v2(Bucket=stack.bucket, Prefix=prefix).get("Contents", [])}
    backup = Pod(stack.manifests, stack.plan, "postgres-backup", tmp_path / "backup")
    to_source = {"postgres": stack.source.host, "5432": str(stack.source.port), MINIO_ENDPOINT: stack.s3.endpoint}
    ran = [backup.run(c, to_source, {}) for c in backup.containers()]
    assert [c["name"] for c in backup.containers()] == ["dump", "postgres-backup"]
    assert all(r.returncode == 0 for r in ran), [(r.args[:2], r.stdout[-500:], r.stderr[-1500:]) for r in ran]
    secrets = [backup.secret(e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
               for c in backup.containers() for e in env_of(c).values() if "secretKeyRef" in e.get("valueFrom", {})]
    assert len(secrets) == 3 and not [s for s in secrets if any(s in r.stdout + r.stderr for r in ran)]

    today = datetime.now(UTC)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=stack.bucket, Prefix=prefix)["Contents"]} - before
    assert len(keys) == 1, keys
    (key,) = keys
    assert re.fullmatch(rf"backups/postgres/{today:%Y/%m/%d}/labelstudio-{today:%Y%m%d}T\d{{6}}Z\.dump", key), key
    assert f"backup: uploaded s3://{stack.bucket}/{key}" in ran[-1].stdout
    body = s3.get_object(Bucket=stack.bucket, Key=key)["Body"].read()
    assert body[:5] == b"PGDMP" and len(body) > 10_000  # pg_dump's custom format

    # Restore into a fresh cluster, as into a new embedded Postgres: the restore CronJob's
    # containers with the operator's ConfigMap naming the dump.
    target = start_postgres()
    try:
        password = stack.ls_env["POSTGRE_PASSWORD"]
        as_embedded_postgres(target, password)
        restore = Pod(stack.manifests, stack.plan, "postgres-restore", tmp_path / "restore")
        to_target = {"postgres": target.host, "5432": str(target.port), MINIO_ENDPOINT: stack.s3.endpoint}
        ran = [restore.run(c, to_target, {RESTORE_REQUEST: key}) for c in restore.containers()]
        assert [c["name"] for c in restore.containers()] == ["download", "postgres-restore"]
        assert all(r.returncode == 0 for r in ran), [(r.args[:2], r.stdout[-500:], r.stderr[-1500:]) for r in ran]
        assert count(target, "project") == "2"

        env = {**stack.ls_env, "POSTGRE_HOST": target.host, "POSTGRE_PORT": str(target.port)}
        ls = start_label_studio(env)
        try:
            assert contents(ls.url, ls.api_token) == stack.seeded
            # a project deleted after the backup comes back with a second restore over the live data
            doomed = api(ls.url, ls.api_token, "GET", "/api/projects/?page_size=100")["results"][0]["id"]
            api(ls.url, ls.api_token, "DELETE", f"/api/projects/{doomed}/")
        finally:
            ls.stop()
        assert count(target, "project") == "1"
        again = [restore.run(c, to_target, {RESTORE_REQUEST: key}) for c in restore.containers()]
        assert all(r.returncode == 0 for r in again), [r.stderr[-1500:] for r in again]
        assert count(target, "project") == "2"
        assert count(target, "task") == "9"
        assert count(target, "task_completion") == "8"  # annotations
    finally:
        target.stop()


def test_restore_refuses_a_key_outside_the_backup_prefix(stack: Stack, tmp_path: Path) -> None:
    restore = Pod(stack.manifests, stack.plan, "postgres-restore", tmp_path)
    download = restore.containers()[0]
    to_moto = {MINIO_ENDPOINT: stack.s3.endpoint}
    for key in ("media/upload/1/photo.png", "backups/postgres-other/x.dump", "backups/postgres/notes.txt"):
        done = restore.run(download, to_moto, {RESTORE_REQUEST: key})
        assert done.returncode == 2 and f"restore: {key} is not a dump under backups/postgres/" in done.stderr
    assert not any(restore.volumes["dump"].iterdir())  # nothing was downloaded


def test_the_retention_rule_is_on_the_bucket(stack: Stack) -> None:
    rules = s3_client(stack.s3).get_bucket_lifecycle_configuration(Bucket=stack.bucket)["Rules"]
    ours = {r["ID"]: r for r in rules if r["ID"].startswith("labelstudio-backups:")}
    expire = ours["labelstudio-backups:backups/postgres"]
    assert expire["Filter"]["Prefix"] == "backups/postgres/" and expire["Expiration"]["Days"] == 30
    assert expire["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1  # the media bucket is versioned
    assert ours["labelstudio-backups:backups/postgres:delete-markers"]["Expiration"]["ExpiredObjectDeleteMarker"]


def test_credentials_are_secret_references_only(stack: Stack, tmp_path: Path) -> None:
    backup = Pod(stack.manifests, stack.plan, "postgres-backup", tmp_path)
    text = repr(stack.manifests.docs)
    for container in backup.containers():
        for name, entry in env_of(container).items():
            if name in ("PGPASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                ref = entry["valueFrom"]["secretKeyRef"]
                assert backup.secret(ref["name"], ref["key"]) not in text
    assert "PGPASSWORD" not in " ".join(a for c in backup.containers() for a in c.get("args", []))

