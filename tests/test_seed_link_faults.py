"""Storage and Webhook providers under faults, as the engine runs them, against the real Label Studio
(SSRF on): 503s and dropped connections from the fault-injecting proxy, creates and syncs that
landed but lost their answer (adopted or harmless, never duplicated), objects deleted out of band."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import grpc
import pytest
import requests

from tests.dynamic_engine import ProviderServer, log_records, registered_inputs, rpc_error_text
from tests.faultproxy import FaultProxy, fault_proxy
from tests.realservices import SSRF_TARGET, LabelStudioServer, S3Server

CONFIG = '<View><Image name="image" value="$image"/><Choices name="c" toName="image"><Choice value="a"/></Choices></View>'
BUCKET = "seed-link-faults"
STORAGE = "urn:pulumi:test::labelstudio::pulumi-python:dynamic/labelstudio:Storage::faulty"
WEBHOOK = "urn:pulumi:test::labelstudio::pulumi-python:dynamic/labelstudio:Webhook::faulty"
HOOK_URL = f"http://{SSRF_TARGET}:9/never-called"  # creating a webhook does not call it


def admin(ls: LabelStudioServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, ls.url + path, headers={"Authorization": f"Token {ls.api_token}"},
                            timeout=60, **kwargs)


@pytest.fixture(scope="module")
def engine() -> Iterator[ProviderServer]:
    server = ProviderServer("dynamic-provider-link-faults")
    yield server
    server.stop()


@pytest.fixture
def proxy(label_studio_ssrf: LabelStudioServer) -> Iterator[FaultProxy]:
    with fault_proxy(label_studio_ssrf.url) as running:
        yield running


@pytest.fixture
def project(label_studio_ssrf: LabelStudioServer) -> int:
    made = admin(label_studio_ssrf, "POST", "/api/projects/", json={"title": f"Faults {secrets.token_hex(3)}",
                                                                    "label_config": CONFIG})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


@pytest.fixture(scope="module")
def bucket(ssrf_s3: S3Server) -> Any:
    client = boto3.client("s3", endpoint_url=ssrf_s3.endpoint, region_name=ssrf_s3.region,
                          aws_access_key_id=ssrf_s3.access_key_id, aws_secret_access_key=ssrf_s3.secret_access_key)
    client.create_bucket(Bucket=BUCKET)
    return client


def storage_inputs(url: str, ls: LabelStudioServer, s3: S3Server, project: int, **changes: Any) -> dict[str, Any]:
    return registered_inputs(
        "components.providers.storage", "Storage", "faulty", api_url=url, api_token=ls.api_token, project_id=project,
        kind="import", bucket=BUCKET, prefix=f"imports/{secrets.token_hex(3)}", region_name=s3.region,
        s3_endpoint=s3.endpoint, access_key_id=s3.access_key_id, secret_access_key=s3.secret_access_key,
        use_blob_urls=True, health_timeout_seconds=60, **changes).inputs


def webhook_inputs(url: str, ls: LabelStudioServer, project: int) -> dict[str, Any]:
    return registered_inputs("components.providers.webhook", "Webhook", "faulty", api_url=url,
                             api_token=ls.api_token, project_id=project, url=HOOK_URL, actions=["TASKS_CREATED"],
                             headers={"Authorization": "Bearer fault-token-1"}, health_timeout_seconds=60).inputs


def storages_of(ls: LabelStudioServer, project: int) -> list[int]:
    return sorted(s["id"] for s in admin(ls, "GET", "/api/storages/s3/", params={"project": project}).json())


def webhooks_of(ls: LabelStudioServer, project: int) -> list[int]:
    return sorted(w["id"] for w in admin(ls, "GET", "/api/webhooks/", params={"project": project}).json())


def test_503_and_dropped_connections_are_retried(engine: ProviderServer, proxy: FaultProxy, bucket: Any,
                                                 label_studio_ssrf: LabelStudioServer, ssrf_s3: S3Server,
                                                 project: int) -> None:
    ls = label_studio_ssrf
    inputs = storage_inputs(proxy.url, ls, ssrf_s3, project)
    proxy.inject("503", method="POST", path_prefix="/api/storages/s3/", times=2)  # refused before landing
    id_, state = engine.create(STORAGE, inputs)
    assert storages_of(ls, project) == [int(id_)]
    proxy.inject("503", method="GET", path_prefix=f"/api/storages/s3/{id_}", times=2)
    proxy.inject("drop", method="GET", path_prefix=f"/api/storages/s3/{id_}", times=1)
    assert engine.read(STORAGE, id_, state, inputs)[0] == id_
    proxy.inject("drop", method="PATCH", times=1)
    state = engine.update(STORAGE, id_, state, {**inputs, "title": "through a dropped connection"})
    assert admin(ls, "GET", f"/api/storages/s3/{id_}").json()["title"] == "through a dropped connection"
    proxy.inject("503", method="DELETE", times=1)
    engine.delete(STORAGE, id_, state)
    assert storages_of(ls, project) == []

    hook = webhook_inputs(proxy.url, ls, project)
    proxy.inject("503", method="POST", path_prefix="/api/webhooks/", times=1)
    hook_id, hook_state = engine.create(WEBHOOK, hook)
    proxy.inject("drop", method="PATCH", times=1)
    engine.update(WEBHOOK, hook_id, hook_state, {**hook, "is_active": False})
    live = admin(ls, "GET", f"/api/webhooks/{hook_id}/").json()
    assert (live["is_active"], live["actions"]) == (False, ["TASKS_CREATED"])
    proxy.inject("drop", method="DELETE", times=1)
    engine.delete(WEBHOOK, hook_id, hook_state)
    assert webhooks_of(ls, project) == []
    assert [r for r in log_records(engine.log) if r["event"] == "call" and r.get("attempt", 1) > 1]


def test_creates_that_landed_but_lost_their_answer_are_adopted_not_repeated(
        engine: ProviderServer, proxy: FaultProxy, bucket: Any, label_studio_ssrf: LabelStudioServer,
        ssrf_s3: S3Server, project: int) -> None:
    ls = label_studio_ssrf
    proxy.inject("drop_after_forward", method="POST", path_prefix="/api/storages/s3/", times=1)
    id_, state = engine.create(STORAGE, storage_inputs(proxy.url, ls, ssrf_s3, project))
    assert storages_of(ls, project) == [int(id_)]  # one storage, and it is the one tracked
    proxy.inject("drop_after_forward", method="POST", path_prefix="/api/webhooks/", times=1)
    hook_id, hook_state = engine.create(WEBHOOK, webhook_inputs(proxy.url, ls, project))
    assert webhooks_of(ls, project) == [int(hook_id)]
    adopted = {r["object_id"] for r in log_records(engine.log) if r["event"] == "adopted"}
    assert {int(id_), int(hook_id)} <= adopted
    engine.delete(STORAGE, id_, state)
    engine.delete(WEBHOOK, hook_id, hook_state)


def test_a_sync_that_landed_but_lost_its_answer_imports_nothing_twice(
        engine: ProviderServer, proxy: FaultProxy, bucket: Any, label_studio_ssrf: LabelStudioServer,
        ssrf_s3: S3Server, project: int) -> None:
    ls = label_studio_ssrf
    inputs = storage_inputs(proxy.url, ls, ssrf_s3, project, sync_on_create=True)
    for name in ("a.jpg", "b.jpg"):
        bucket.put_object(Bucket=BUCKET, Key=f"{inputs['prefix']}/{name}", Body=b"x")
    proxy.inject("drop_after_forward", method="POST", path_prefix="/api/storages/s3/", times=1)  # the create
    proxy.inject("drop_after_forward", method="POST", path_prefix="/api/storages/s3/", times=1)  # then the sync
    id_, state = engine.create(STORAGE, inputs)
    assert proxy.faults_done == 2
    assert admin(ls, "GET", f"/api/projects/{project}/").json()["task_number"] == 2
    engine.delete(STORAGE, id_, state)


def test_objects_deleted_out_of_band(engine: ProviderServer, bucket: Any, label_studio_ssrf: LabelStudioServer,
                                     ssrf_s3: S3Server, project: int) -> None:
    ls = label_studio_ssrf
    inputs = storage_inputs(ls.url, ls, ssrf_s3, project)
    id_, state = engine.create(STORAGE, inputs)
    hook = webhook_inputs(ls.url, ls, project)
    hook_id, hook_state = engine.create(WEBHOOK, hook)
    assert admin(ls, "DELETE", f"/api/storages/s3/{id_}").status_code == 204
    assert admin(ls, "DELETE", f"/api/webhooks/{hook_id}/").status_code == 204
    assert engine.read(STORAGE, id_, state, inputs) == ("", {"__provider": state["__provider"]})
    assert engine.read(WEBHOOK, hook_id, hook_state, hook) == ("", {"__provider": hook_state["__provider"]})
    for urn, pk, old, new, what in ((STORAGE, id_, state, {**inputs, "title": "x"}, "storage"),
                                    (WEBHOOK, hook_id, hook_state, {**hook, "is_active": False}, "webhook")):
        with pytest.raises(grpc.RpcError) as failed:
            engine.update(urn, pk, old, new)
        assert f"{what} {pk} no longer exists in Label Studio; fix: run `pulumi refresh`" in rpc_error_text(failed.value)
        engine.delete(urn, pk, old)  # already gone: done

    # deleting the project deletes its storages and webhooks with it: both read as gone
    id_, state = engine.create(STORAGE, storage_inputs(ls.url, ls, ssrf_s3, project))
    hook_id, hook_state = engine.create(WEBHOOK, hook)
    assert admin(ls, "DELETE", f"/api/projects/{project}/").status_code == 204
    assert engine.read(STORAGE, id_, state, inputs)[0] == ""
    assert engine.read(WEBHOOK, hook_id, hook_state, hook)[0] == ""
