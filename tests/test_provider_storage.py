"""The Storage provider as the engine runs it (pickled, fresh process, gRPC), against a real Label
Studio 1.23.2 on PostgreSQL with SSRF protection on, and a moto S3 server on the one loopback
address that Label Studio is allowed to call."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import grpc
import pytest
import requests

from components.providers.common import UNKNOWN
from tests.dynamic_engine import ProviderServer, Registered, log_records, registered_inputs, rpc_error_text
from tests.realservices import LabelStudioServer, S3Server

IMAGES = ('<View><Image name="image" value="$image"/><Choices name="verdict" toName="image">'
          '<Choice value="ok"/><Choice value="reject"/></Choices></View>')
BUCKET = "seed-storages"
URN = "urn:pulumi:test::labelstudio::pulumi-python:dynamic/labelstudio:Storage::photos"


def admin(ls: LabelStudioServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, ls.url + path, headers={"Authorization": f"Token {ls.api_token}"},
                            timeout=60, **kwargs)


def s3(server: S3Server) -> Any:
    return boto3.client("s3", endpoint_url=server.endpoint, region_name=server.region,
                        aws_access_key_id=server.access_key_id, aws_secret_access_key=server.secret_access_key)


def keys(server: S3Server, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3(server).list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def task_count(ls: LabelStudioServer, project: int) -> int:
    return int(admin(ls, "GET", f"/api/projects/{project}/").json()["task_number"])


@pytest.fixture(scope="module")
def engine() -> Iterator[ProviderServer]:
    server = ProviderServer("dynamic-provider-storage")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def project(label_studio_ssrf: LabelStudioServer, ssrf_s3: S3Server) -> int:
    s3(ssrf_s3).create_bucket(Bucket=BUCKET)
    made = admin(label_studio_ssrf, "POST", "/api/projects/", json={"title": "Storage photos", "label_config": IMAGES})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def declare(ls: LabelStudioServer, server: S3Server, project: int, **changes: Any) -> Registered:
    args: dict[str, Any] = {
        "api_url": ls.url, "api_token": ls.api_token, "project_id": project, "kind": "import", "bucket": BUCKET,
        "prefix": "/imports/photos/", "region_name": server.region, "s3_endpoint": server.endpoint,
        "access_key_id": server.access_key_id, "secret_access_key": server.secret_access_key,
        "title": "Catalogue photos", "use_blob_urls": True, "health_timeout_seconds": 30, **changes}
    return registered_inputs("components.providers.storage", "Storage", "photos", **args)


def create(engine: ProviderServer, declared: Registered, **changes: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    inputs, failures = engine.check(URN, {}, {**declared.inputs, **changes})
    assert failures == []
    id_, outs = engine.create(URN, inputs)
    return id_, outs, inputs


def test_the_engine_receives_a_pickled_provider_and_secret_credentials(
        label_studio_ssrf: LabelStudioServer, ssrf_s3: S3Server, project: int) -> None:
    declared = declare(label_studio_ssrf, ssrf_s3, project, session_token="moto-session-token-1")
    assert declared.type == "pulumi-python:dynamic/labelstudio:Storage" and declared.inputs["__provider"]
    for key in ("api_token", "access_key_id", "secret_access_key", "session_token"):  # the policy pack's names
        assert key in declared.secret_inputs and key in declared.additional_secret_outputs, key
    assert "can_delete_objects" not in declared.inputs  # an import storage declares import settings only


def test_import_lifecycle_on_an_empty_prefix(engine: ProviderServer, label_studio_ssrf: LabelStudioServer,
                                             ssrf_s3: S3Server, project: int) -> None:
    ls, declared = label_studio_ssrf, declare(label_studio_ssrf, ssrf_s3, project)
    id_, state, inputs = create(engine, declared, sync_on_create=True)
    assert inputs["prefix"] == "imports/photos"  # check() normalised it; keys never hold '//'
    assert keys(ssrf_s3, "imports/photos") == ["imports/photos/"]  # the folder marker Label Studio requires
    live = admin(ls, "GET", f"/api/storages/s3/{id_}").json()
    assert (live["project"], live["prefix"], live["presign"], live["use_blob_urls"], live["status"]) == (
        project, "imports/photos", True, True, "completed")
    assert task_count(ls, project) == 0  # the marker is never a task
    assert not {"aws_access_key_id", "aws_secret_access_key"} & live.keys()  # write-only in Label Studio

    read_id, read = engine.read(URN, id_, state, inputs)
    assert read_id == id_ and read["storage_id"] == int(id_)
    assert engine.diff(URN, id_, read, inputs) == ("DIFF_NONE", [])

    news = {**inputs, "title": "Renamed photos", "regex_filter": r".*\.jpg$", "presign_ttl": 15, "presign": False}
    assert engine.diff(URN, id_, read, news) == ("DIFF_SOME", [])
    state = engine.update(URN, id_, read, news)
    live = admin(ls, "GET", f"/api/storages/s3/{id_}").json()
    assert (live["title"], live["regex_filter"], live["presign_ttl"], live["presign"]) == (
        "Renamed photos", r".*\.jpg$", 15, False)
    assert engine.diff(URN, id_, engine.read(URN, id_, state, news)[1], news) == ("DIFF_NONE", [])

    # drift made by hand shows field by field and the next update puts it back
    admin(ls, "PATCH", f"/api/storages/s3/{id_}", json={"title": "By hand", "recursive_scan": True})
    _, drifted = engine.read(URN, id_, state, news)
    assert (drifted["title"], drifted["recursive_scan"], drifted["prefix"]) == ("By hand", True, "imports/photos")
    assert engine.diff(URN, id_, drifted, news) == ("DIFF_SOME", [])
    engine.update(URN, id_, drifted, news)
    live = admin(ls, "GET", f"/api/storages/s3/{id_}").json()
    assert (live["title"], live["recursive_scan"]) == ("Renamed photos", False)
    drift_logs = [r for r in log_records(engine.log) if r["event"] == "drift"]
    assert drift_logs and drift_logs[-1]["fields"] == "title,recursive_scan"

    # another kind or project is another storage: a replace
    assert engine.diff(URN, id_, state, {**news, "kind": "export"})[1] == ["kind"]
    assert engine.diff(URN, id_, state, {**news, "project_id": project + 1000})[1] == ["project_id"]

    engine.delete(URN, id_, state)
    engine.delete(URN, id_, state)  # already gone: still done
    assert admin(ls, "GET", f"/api/storages/s3/{id_}").status_code == 404
    assert engine.read(URN, id_, state, news)[0] == ""
    assert keys(ssrf_s3, "imports/photos") == ["imports/photos/"]  # a delete never touches the bucket


def test_sync_on_create_imports_the_objects_and_a_delete_keeps_the_tasks(
        engine: ProviderServer, label_studio_ssrf: LabelStudioServer, ssrf_s3: S3Server, project: int) -> None:
    ls, prefix = label_studio_ssrf, f"imports/batch-{secrets.token_hex(3)}"
    for name in ("a.jpg", "b.jpg", "notes.txt"):
        s3(ssrf_s3).put_object(Bucket=BUCKET, Key=f"{prefix}/{name}", Body=b"\xff\xd8 not really a jpeg")
    before = task_count(ls, project)
    declared = declare(ls, ssrf_s3, project, prefix=prefix, regex_filter=r".*\.jpg$", sync_on_create=True)
    id_, state, _ = create(engine, declared)
    assert task_count(ls, project) == before + 2  # the filter kept notes.txt out
    assert f"{prefix}/" not in keys(ssrf_s3, prefix)  # the prefix held objects: no marker needed
    synced = [r for r in log_records(engine.log) if r["event"] == "synced"]
    assert synced[-1]["count"] == 2 and synced[-1]["storage_id"] == int(id_)
    engine.delete(URN, id_, state)
    assert task_count(ls, project) == before + 2  # imported tasks stay


def test_export_writes_annotations_under_a_clean_prefix(engine: ProviderServer, label_studio_ssrf: LabelStudioServer,
                                                        ssrf_s3: S3Server, project: int) -> None:
    ls, prefix = label_studio_ssrf, f"exports/verdicts-{secrets.token_hex(3)}"
    declared = declare(ls, ssrf_s3, project, kind="export", prefix=prefix + "/", use_blob_urls=None,
                       can_delete_objects=False)
    assert "create_prefix" not in declared.inputs and "presign" not in declared.inputs
    id_, state, inputs = create(engine, declared)
    assert engine.diff(URN, id_, engine.read(URN, id_, state, inputs)[1], inputs) == ("DIFF_NONE", [])
    task = admin(ls, "POST", f"/api/projects/{project}/tasks/", json={"data": {"image": "s3://x/y.jpg"}}).json()
    note = admin(ls, "POST", f"/api/tasks/{task['id']}/annotations/", json={"result": [{
        "from_name": "verdict", "to_name": "image", "type": "choices", "value": {"choices": ["ok"]}}]})
    assert note.status_code == 201, note.text
    assert keys(ssrf_s3, prefix) == [f"{prefix}/{note.json()['id']}"]  # one '/', never '//'
    state = engine.update(URN, id_, state, {**inputs, "can_delete_objects": True})
    assert admin(ls, "GET", f"/api/storages/export/s3/{id_}").json()["can_delete_objects"] is True
    engine.delete(URN, id_, state)
    assert admin(ls, "GET", f"/api/storages/export/s3/{id_}").status_code == 404
    assert keys(ssrf_s3, prefix) == [f"{prefix}/{note.json()['id']}"]  # exported annotations stay


def test_ssrf_protection_stays_on_for_every_other_address(engine: ProviderServer, label_studio_ssrf: LabelStudioServer,
                                                          ssrf_s3: S3Server, project: int) -> None:
    port = ssrf_s3.endpoint.rsplit(":", 1)[1]
    declared = declare(label_studio_ssrf, ssrf_s3, project, s3_endpoint=f"http://127.0.0.1:{port}",
                       admin_endpoint=ssrf_s3.endpoint, prefix="imports/loopback")
    with pytest.raises(grpc.RpcError) as refused:
        create(engine, declared)
    message = rpc_error_text(refused.value)
    assert "Label Studio refused to create the import storage (HTTP 403): URL resolves to a reserved network" in message
    assert ssrf_s3.secret_access_key not in message and label_studio_ssrf.api_token not in message


def test_an_unexplained_500_gets_the_likely_causes(engine: ProviderServer, label_studio_ssrf: LabelStudioServer,
                                                   ssrf_s3: S3Server, project: int) -> None:
    declared = declare(label_studio_ssrf, ssrf_s3, project, prefix="imports/never-made", create_prefix=False)
    with pytest.raises(grpc.RpcError) as refused:
        create(engine, declared)
    message = rpc_error_text(refused.value)
    assert "(HTTP 500)" in message and "an import prefix holds an object (create_prefix does that)" in message
    declared = declare(label_studio_ssrf, ssrf_s3, project, bucket="no-such-bucket-here", prefix="x")
    with pytest.raises(grpc.RpcError) as refused:
        create(engine, declared)
    assert "could not make the prefix marker s3://no-such-bucket-here/x/" in rpc_error_text(refused.value)
    assert "NoSuchBucket; fix: create the bucket first" in rpc_error_text(refused.value)


def test_check_reports_every_bad_input_at_preview(engine: ProviderServer, label_studio_ssrf: LabelStudioServer,
                                                  ssrf_s3: S3Server, project: int) -> None:
    declared = declare(label_studio_ssrf, ssrf_s3, project)
    bad = {**declared.inputs, "kind": "mirror", "prefix": "a//b", "bucket": "Bad_Bucket", "regex_filter": "([",
           "presign_ttl": 20000, "presign": "yes", "secret_access_key": None, "project_id": 0,
           "s3_endpoint": "s3.example.com"}
    _, failures = engine.check(URN, {}, bad)
    for expected in ("kind: kind must be one of import, export, got 'mirror'",
                     "prefix: prefix holds '//', which makes an empty path segment in every key",
                     "bucket: bucket must be 3-63 lower-case letters, digits, '-' or '.'",
                     "presign_ttl: presign_ttl must be 1 to 10080 minutes",
                     "presign: presign must be true or false",
                     "project_id: project_id must be the id of a Label Studio project",
                     "s3_endpoint: s3_endpoint must be an http(s) URL, or empty for AWS S3"):
        assert any(f.startswith(expected) for f in failures), (expected, failures)
    assert any(f.startswith("regex_filter: regex_filter is not a valid regular expression") for f in failures)
    assert any(f.startswith("secret_access_key: give both access_key_id and secret_access_key") for f in failures)
    assert ssrf_s3.access_key_id not in str(failures)
    export = {**declared.inputs, "kind": "export", "use_blob_urls": True}
    assert "use_blob_urls: use_blob_urls is not a setting of export storages; fix: remove it" in \
        engine.check(URN, {}, export)[1]
    unknown = {**declared.inputs, "project_id": UNKNOWN, "prefix": UNKNOWN, "bucket": UNKNOWN, "kind": UNKNOWN}
    assert engine.check(URN, {}, unknown)[1] == []


def test_diff_uses_state_only(engine: ProviderServer, label_studio_ssrf: LabelStudioServer, ssrf_s3: S3Server,
                              project: int) -> None:
    declared = declare(label_studio_ssrf, ssrf_s3, project)
    news = engine.check(URN, {}, declared.inputs)[0]
    olds = {**news, "api_url": "http://127.0.0.1:1", "storage_id": 9}  # nothing listens there
    news = {**news, "api_url": "http://127.0.0.1:1"}
    assert engine.diff(URN, "9", olds, news) == ("DIFF_NONE", [])
    assert engine.diff(URN, "9", olds, {**news, "secret_access_key": "rotated-secret-1"}) == ("DIFF_SOME", [])
    assert engine.diff(URN, "9", olds, {**news, "sync_on_create": True}) == ("DIFF_SOME", [])
    assert engine.diff(URN, "9", olds, {**news, "api_url": "http://127.0.0.1:2"}) == ("DIFF_SOME", ["api_url"])
    assert engine.diff(URN, "9", olds, {**news, "project_id": UNKNOWN}) == ("DIFF_SOME", [])
    assert engine.diff(URN, "9", olds, {**news, "project_id": float(project)}) == ("DIFF_NONE", [])


def test_provider_logs_are_json_per_call_without_secrets(engine: ProviderServer, label_studio_ssrf: LabelStudioServer,
                                                          ssrf_s3: S3Server) -> None:
    text = engine.logs()
    for secret in (label_studio_ssrf.api_token, ssrf_s3.secret_access_key, ssrf_s3.access_key_id, "rotated-secret-1"):
        assert secret not in text
    assert "Catalogue photos" not in text and "Renamed photos" not in text
    calls = [r for r in log_records(engine.log) if r["event"] == "call"]
    assert {r["method"] for r in calls} >= {"GET", "POST", "PATCH", "DELETE", "PUT"}  # PUT: the S3 marker
    assert all("?" not in r["path"] and {"request_id", "op", "status", "duration_ms"} <= r.keys() for r in calls)
