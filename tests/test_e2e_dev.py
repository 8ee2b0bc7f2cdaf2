"""End to end: what the dev plan declares boots a REAL Label Studio and can be seeded.

Real PostgreSQL (Debian package), a moto S3 server and Label Studio from PyPI at the image's
version get exactly the env the dev plan gives the `app` container; only service host names
are mapped to loopback (and the in-container data dir to a temp dir). The media bucket and
the seed project are driven by the providers pickled into the plan, through Pulumi's own
dynamic-provider server, as the engine would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests

from tests.dynamic_engine import ProviderServer
from tests.realservices import LabelStudioServer, Postgres, S3Server, start_label_studio, start_postgres
from tools.plan import Plan, Resource, run

CONTAINER = "docker:index/container:Container"
MEDIA_ENDPOINT = "http://minio.localhost:9000"


@dataclass
class DevStack:
    plan: Plan
    env: dict[str, str]  # the app container's env, secrets revealed
    ls: LabelStudioServer
    s3: S3Server
    bucket_outputs: dict[str, Any]


def container_env(container: Resource) -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in container.inputs(reveal=True)["envs"])


def map_to_loopback(env: dict[str, str], pg: Postgres, s3: S3Server) -> dict[str, str]:
    """The only differences from the container: where the services listen."""
    mapped = dict(env)
    assert mapped.pop("POSTGRE_HOST") == "postgres" and mapped.pop("POSTGRE_PORT") == "5432"
    assert mapped.pop("STORAGE_AWS_ENDPOINT_URL") == MEDIA_ENDPOINT
    mapped.pop("BASE_DATA_DIR")  # a container path; the harness gives a temp data dir
    return {**mapped, "POSTGRE_HOST": pg.host, "POSTGRE_PORT": str(pg.port), "STORAGE_AWS_ENDPOINT_URL": s3.endpoint}


def provider_inputs(resource: Resource, **overrides: Any) -> dict[str, Any]:
    return {**resource.inputs(reveal=True), **overrides}


@pytest.fixture(scope="module")
def dev(s3_server: S3Server) -> Iterator[DevStack]:
    plan = run("dev")
    env = container_env(plan.named("app", CONTAINER))
    # A cluster of its own, set up as the embedded Postgres container would be: the plan's
    # database and user, with the plan's generated password.
    postgres = start_postgres()
    postgres.psql(f"DROP DATABASE IF EXISTS {env['POSTGRE_NAME']}")
    postgres.psql(f"ALTER ROLE {env['POSTGRE_USER']} PASSWORD '{env['POSTGRE_PASSWORD']}'")
    postgres.psql(f"CREATE DATABASE {env['POSTGRE_NAME']} OWNER {env['POSTGRE_USER']}")

    bucket = plan.named("media-bucket")
    server = ProviderServer("e2e-media-bucket")
    try:
        news = provider_inputs(bucket, endpoint=s3_server.endpoint)
        checked, failures = server.check(bucket.urn, {}, news)
        assert not failures
        _, bucket_outputs = server.create(bucket.urn, checked)
    finally:
        server.stop()

    ls = start_label_studio(map_to_loopback(env, postgres, s3_server))
    yield DevStack(plan, env, ls, s3_server, bucket_outputs)
    ls.stop()
    postgres.stop()


def test_health_answers(dev: DevStack) -> None:
    assert requests.get(dev.ls.url + "/health", timeout=10).status_code == 200


def test_admin_token_from_the_plan_authenticates_as_the_admin(dev: DevStack) -> None:
    token = dev.env["LABEL_STUDIO_USER_TOKEN"]
    me = requests.get(dev.ls.url + "/api/current-user/whoami", headers={"Authorization": f"Token {token}"},
                      timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["email"] == dev.plan.exports["adminEmail"] == "admin@example.com"
    wrong = requests.get(dev.ls.url + "/api/current-user/whoami", headers={"Authorization": "Token wrong-token"},
                         timeout=10)
    assert wrong.status_code == 401


def test_media_bucket_is_hardened(dev: DevStack) -> None:
    s3 = boto3.client("s3", endpoint_url=dev.s3.endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    bucket = dev.env["STORAGE_AWS_BUCKET_NAME"]
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    cors = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert cors[0]["AllowedOrigins"] == ["http://localhost:8080"]
    assert sorted(cors[0]["AllowedMethods"]) == ["GET", "HEAD"]


def test_project_provider_from_the_plan_seeds_and_an_upload_lands_in_s3(dev: DevStack) -> None:
    resource = dev.plan.named("project-product-photos")
    urn = resource.urn
    server = ProviderServer("e2e-project")
    try:
        news = provider_inputs(resource, api_url=dev.ls.url)
        checked, failures = server.check(urn, {}, news)
        assert not failures, failures
        project_id, outs = server.create(urn, checked)
        headers = {"Authorization": f"Token {dev.env['LABEL_STUDIO_USER_TOKEN']}"}
        live = requests.get(f"{dev.ls.url}/api/projects/{project_id}/", headers=headers, timeout=10).json()
        assert live["title"] == "Product photo triage"
        assert live["maximum_annotations"] == 2 and live["sampling"] == "Uniform sampling"

        # read back: no drift
        read_id, read_outs = server.read(urn, project_id, outs, checked)
        assert read_id == project_id and read_outs["quality"]["maximum_annotations"] == 2
        # a quality setting changes in place
        changed = {**checked, "quality": {**checked["quality"], "maximum_annotations": 3}}
        assert server.diff(urn, project_id, outs, changed) == ("DIFF_SOME", [])
        outs = server.update(urn, project_id, outs, changed)
        live = requests.get(f"{dev.ls.url}/api/projects/{project_id}/", headers=headers, timeout=10).json()
        assert live["maximum_annotations"] == 3

        # an uploaded file goes to the bucket, not to the local data dir
        upload = requests.post(f"{dev.ls.url}/api/projects/{project_id}/import", headers=headers,
                               files={"file": ("shelf-photo.png", PNG_1x1, "image/png")}, timeout=60)
        assert upload.status_code == 201, upload.text
        s3 = boto3.client("s3", endpoint_url=dev.s3.endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=dev.env["STORAGE_AWS_BUCKET_NAME"]).get("Contents", [])]
        folder = dev.env["STORAGE_AWS_FOLDER"]
        assert any(k.startswith(f"{folder}/upload/{project_id}/") and k.endswith("shelf-photo.png") for k in keys), keys
        assert not [p for p in dev.ls.data_dir.rglob("*shelf-photo.png")], "upload stored on local disk"

        server.delete(urn, project_id, outs)
        gone = requests.get(f"{dev.ls.url}/api/projects/{project_id}/", headers=headers, timeout=10)
        assert gone.status_code == 404
    finally:
        server.stop()
    logs = server.logs()
    assert dev.env["LABEL_STUDIO_USER_TOKEN"] not in logs


# A valid 1x1 PNG, so Label Studio accepts the upload as an image.
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
