"""The MLBackendLink provider as the engine runs it (pickled, fresh process, gRPC), against a real
Label Studio 1.23.2 on PostgreSQL with SSRF protection on (only ML_BACKEND_HOST allowed) and a real
ML backend (label-studio-ml 1.0.9, tests/ml_backend/) that Label Studio calls itself."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import requests

from components.providers.common import UNKNOWN
from tests.dynamic_engine import ProviderServer, Registered, log_records, registered_inputs, rpc_error_text
from tests.faultproxy import fault_proxy
from tests.ml_backend_service import MLBackendServer, ml_backend
from tests.realservices import LOOPBACK, LabelStudioServer, free_port

CONFIG = ('<View><Text name="text" value="$text"/><Choices name="verdict" toName="text">'
          '<Choice value="yes"/><Choice value="no"/></Choices></View>')
URN = "urn:pulumi:test::labelstudio::pulumi-python:dynamic/labelstudio:MLBackendLink::model"
ML_PASSWORD = "ml-basic-pass-5e1f"


@pytest.fixture(scope="module")
def engine() -> Iterator[ProviderServer]:
    server = ProviderServer("dynamic-provider-ml-link")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def declared(ml_label_studio: LabelStudioServer, ml_backend_server: MLBackendServer) -> Registered:
    return registered_inputs(
        "components.providers.ml_backend_link", "MLBackendLink", "model",
        api_url=ml_label_studio.url, api_token=ml_label_studio.api_token, project_id=1,
        url=ml_backend_server.url, title="First choice", description="baseline",
        basic_auth_user="labeling", basic_auth_pass=ML_PASSWORD,
        health_timeout_seconds=30, backend_wait_seconds=60)


@pytest.fixture
def backends(ml_label_studio: LabelStudioServer) -> Iterator[list[MLBackendServer]]:
    """Extra backends a test makes (on ML_BACKEND_HOST unless told); all removed afterwards."""
    made: list[MLBackendServer] = []
    yield made
    for backend in made:
        backend.remove()


def admin(ls: LabelStudioServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, ls.url + path, headers={"Authorization": f"Token {ls.api_token}"},
                            timeout=60, **kwargs)


def new_project(ls: LabelStudioServer) -> int:
    made = admin(ls, "POST", "/api/projects/", json={"title": "ML link test", "label_config": CONFIG})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def links(ls: LabelStudioServer, project: int) -> list[dict[str, Any]]:
    return list(admin(ls, "GET", "/api/ml/", params={"project": project}).json())


def webhooks(ls: LabelStudioServer, project: int) -> list[str]:
    return [w["url"] for w in admin(ls, "GET", "/api/webhooks/", params={"project": project}).json()]


def plain(declared: Registered, project: int, url: str, **changes: Any) -> dict[str, Any]:
    """Link inputs without basic auth (the shared backend has none)."""
    return {**declared.inputs, "project_id": project, "url": url, "basic_auth_user": "", "basic_auth_pass": "",
            **changes}


def create(engine: ProviderServer, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    checked, failures = engine.check(URN, {}, inputs)
    assert failures == []
    return engine.create(URN, checked)


def test_the_engine_receives_a_pickled_provider_and_secret_credentials(declared: Registered) -> None:
    assert declared.type == "pulumi-python:dynamic/labelstudio:MLBackendLink"
    assert declared.inputs["__provider"]
    assert {"api_token", "basic_auth_pass"} <= set(declared.secret_inputs)
    assert {"api_token", "basic_auth_pass"} <= set(declared.additional_secret_outputs)


def test_full_lifecycle(engine: ProviderServer, declared: Registered, ml_label_studio: LabelStudioServer,
                        ml_backend_server: MLBackendServer, backends: list[MLBackendServer]) -> None:
    ls, project = ml_label_studio, new_project(ml_label_studio)
    inputs = plain(declared, project, ml_backend_server.url)
    id_, state = create(engine, inputs)
    live = admin(ls, "GET", f"/api/ml/{id_}").json()
    assert (live["title"], live["url"], live["readable_state"], live["project"]) == (
        "First choice", ml_backend_server.url, "Connected", project)
    assert state["link_id"] == int(id_) and state["connection_state"] == "Connected"
    # the webhook Label Studio made with the link is recorded as this link's own
    hooks = admin(ls, "GET", "/api/webhooks/", params={"project": project}).json()
    assert [(h["id"], h["url"]) for h in hooks] == [(state["webhook_id"], ml_backend_server.url + "/webhook")]

    read_id, state = engine.read(URN, id_, state, inputs)
    assert read_id == id_
    assert engine.diff(URN, id_, state, inputs) == ("DIFF_NONE", [])

    changed = {**inputs, "title": "First choice v2", "description": "", "is_interactive": True,
               "extra_params": {"threshold": 0.5, "top": 3}}
    assert engine.diff(URN, id_, state, changed) == ("DIFF_SOME", [])
    state = engine.update(URN, id_, state, changed)
    live = admin(ls, "GET", f"/api/ml/{id_}").json()
    assert (live["title"], live["description"], live["is_interactive"], live["extra_params"]) == (
        "First choice v2", "", True, {"threshold": 0.5, "top": 3})
    assert engine.diff(URN, id_, engine.read(URN, id_, state, changed)[1], changed) == ("DIFF_NONE", [])

    # drift made outside Pulumi shows on refresh, field by field, and the next update puts it back
    assert admin(ls, "PATCH", f"/api/ml/{id_}", json={"title": "Renamed by hand", "url": ml_backend_server.url,
                                                     "project": project}).status_code == 200
    _, refreshed = engine.read(URN, id_, state, changed)
    assert refreshed["title"] == "Renamed by hand" and refreshed["is_interactive"] is True
    assert engine.diff(URN, id_, refreshed, changed) == ("DIFF_SOME", [])
    state = engine.update(URN, id_, refreshed, changed)
    assert admin(ls, "GET", f"/api/ml/{id_}").json()["title"] == "First choice v2"

    # another backend URL is another link: the new one first, then the old one and its webhook go
    other = ml_backend(ls.url, ls.api_token)
    backends.append(other)
    other.start()
    moved = {**changed, "url": other.url}
    assert engine.diff(URN, id_, state, moved) == ("DIFF_SOME", ["url"])
    new_id, new_state = create(engine, moved)
    engine.delete(URN, id_, state)
    assert [m["id"] for m in links(ls, project)] == [int(new_id)]
    assert webhooks(ls, project) == [other.url + "/webhook"]

    engine.delete(URN, new_id, new_state)
    engine.delete(URN, new_id, new_state)  # already gone: still done
    assert links(ls, project) == [] and webhooks(ls, project) == []
    assert engine.read(URN, new_id, new_state, moved)[0] == ""


def test_predictions_come_from_the_backend_end_to_end(engine: ProviderServer, declared: Registered,
                                                      ml_label_studio: LabelStudioServer,
                                                      ml_backend_server: MLBackendServer) -> None:
    ls, project = ml_label_studio, new_project(ml_label_studio)
    id_, state = create(engine, plain(declared, project, ml_backend_server.url))
    assert admin(ls, "POST", f"/api/projects/{project}/import", json=[{"text": "Is this a cat?"}]).status_code == 201
    asked = admin(ls, "POST", "/api/dm/actions", params={"id": "retrieve_tasks_predictions", "project": project},
                  json={"selectedItems": {"all": True, "excluded": []}})
    assert asked.status_code == 200, asked.text
    (prediction,) = admin(ls, "GET", "/api/predictions/", params={"project": project}).json()
    assert prediction["score"] == 0.42 and prediction["model_version"] == "first-choice"
    assert prediction["result"] == [{"from_name": "verdict", "to_name": "text", "type": "choices",
                                     "value": {"choices": ["yes"]}}]
    assert any(line.startswith("POST /predict 200") for line in ml_backend_server.requests_seen())
    engine.delete(URN, id_, state)


def test_a_backend_not_up_yet_is_waited_for_then_linked(engine: ProviderServer, declared: Registered,
                                                        ml_label_studio: LabelStudioServer,
                                                        backends: list[MLBackendServer]) -> None:
    ls, project = ml_label_studio, new_project(ml_label_studio)
    late = ml_backend(ls.url, ls.api_token)
    backends.append(late)
    starter = threading.Timer(4.0, lambda: late.start(wait=False))
    starter.start()
    try:
        id_, state = create(engine, plain(declared, project, late.url, backend_wait_seconds=90))
    finally:
        starter.join()
    assert state["connection_state"] == "Connected"
    assert [m["id"] for m in links(ls, project)] == [int(id_)]
    waits = [r for r in log_records(engine.log) if r["event"] == "backend_not_up"]
    assert waits and all(r["status"] == 400 for r in waits)
    engine.delete(URN, id_, state)


def test_a_backend_never_up_fails_with_a_clear_timeout_and_nothing_created(
        engine: ProviderServer, declared: Registered, ml_label_studio: LabelStudioServer) -> None:
    ls, project = ml_label_studio, new_project(ml_label_studio)
    dead = ml_backend(ls.url, ls.api_token)  # never started: nothing listens there
    with pytest.raises(grpc.RpcError) as failed:
        create(engine, plain(declared, project, dead.url, backend_wait_seconds=3))
    message = rpc_error_text(failed.value)
    assert f"the ML backend at {dead.url} did not pass Label Studio's health check within 3s" in message
    assert "nothing was created or changed" in message and "seedMlBackendWaitSeconds" in message
    assert "Connection refused" in message  # Label Studio's own reason
    assert links(ls, project) == [] and webhooks(ls, project) == []


def test_ssrf_protection_refuses_a_backend_on_any_other_loopback_address(
        engine: ProviderServer, declared: Registered, ml_label_studio: LabelStudioServer,
        backends: list[MLBackendServer]) -> None:
    ls, project = ml_label_studio, new_project(ml_label_studio)
    local = ml_backend(ls.url, ls.api_token, host=LOOPBACK)  # up and healthy, but not the allowed address
    backends.append(local)
    local.start()
    seen = local.requests_seen()  # our own readiness probe
    with pytest.raises(grpc.RpcError) as refused:
        create(engine, plain(declared, project, local.url))
    message = rpc_error_text(refused.value)
    assert f"its SSRF protection blocks {local.url} (URL resolves to a reserved network address" in message
    assert "fix: link the stack's own ML backend" in message and "token" not in message
    assert links(ls, project) == [] and local.requests_seen() == seen  # Label Studio never called it


def test_basic_auth_right_and_wrong(engine: ProviderServer, declared: Registered, ml_label_studio: LabelStudioServer,
                                   backends: list[MLBackendServer]) -> None:
    ls, project = ml_label_studio, new_project(ml_label_studio)
    guarded = ml_backend(ls.url, ls.api_token, basic_auth=("labeling", ML_PASSWORD))
    backends.append(guarded)
    guarded.start()
    inputs = {**declared.inputs, "project_id": project, "url": guarded.url}
    wrong = {**inputs, "basic_auth_pass": "not-the-password-77"}
    with pytest.raises(grpc.RpcError) as refused:
        create(engine, wrong)
    message = rpc_error_text(refused.value)
    assert f"the ML backend at {guarded.url} answered 401" in message and "basicAuthUser" in message
    assert "not-the-password-77" not in message and links(ls, project) == []

    id_, state = create(engine, inputs)
    live = admin(ls, "GET", f"/api/ml/{id_}").json()
    assert (live["readable_state"], live["auth_method"], live["basic_auth_user"]) == ("Connected", "BASIC_AUTH", "labeling")
    assert live["basic_auth_pass_is_set"] is True and "basic_auth_pass" not in live  # write-only
    _, state = engine.read(URN, id_, state, inputs)
    assert state["basic_auth_pass"] == ML_PASSWORD  # kept from the state: Label Studio never shows it
    assert engine.diff(URN, id_, state, inputs) == ("DIFF_NONE", [])
    state = engine.update(URN, id_, state, {**inputs, "description": "still guarded"})  # PATCH re-checks with auth
    assert state["connection_state"] == "Connected"
    assert engine.diff(URN, id_, state, wrong) == ("DIFF_SOME", [])  # a new password updates in place
    engine.delete(URN, id_, state)
    assert links(ls, project) == []


def test_out_of_band_delete_is_seen_by_read_and_delete_cleans_the_webhook(
        engine: ProviderServer, declared: Registered, ml_label_studio: LabelStudioServer,
        ml_backend_server: MLBackendServer) -> None:
    ls, project = ml_label_studio, new_project(ml_label_studio)
    inputs = plain(declared, project, ml_backend_server.url)
    id_, state = create(engine, inputs)
    assert admin(ls, "DELETE", f"/api/ml/{id_}").status_code == 204
    assert engine.read(URN, id_, state, inputs) == ("", {"__provider": state["__provider"]})
    assert webhooks(ls, project) == [ml_backend_server.url + "/webhook"]  # Label Studio leaves it behind
    engine.delete(URN, id_, state)
    assert webhooks(ls, project) == []
    with pytest.raises(grpc.RpcError) as gone:
        engine.update(URN, id_, state, {**inputs, "title": "Renamed"})
    assert f"ML backend link {id_} no longer exists in Label Studio; fix: run `pulumi refresh`" in rpc_error_text(gone.value)
    # its project deleted by hand: a create says so rather than a bare 404
    assert admin(ls, "DELETE", f"/api/projects/{project}/").status_code == 204
    with pytest.raises(grpc.RpcError) as no_project:
        create(engine, inputs)
    assert f"project {project} does not exist in Label Studio; fix: run `pulumi refresh`" in rpc_error_text(no_project.value)


def test_a_webhook_not_made_with_the_link_or_still_used_is_kept(engine: ProviderServer, declared: Registered,
                                                                ml_label_studio: LabelStudioServer,
                                                                ml_backend_server: MLBackendServer) -> None:
    ls, project = ml_label_studio, new_project(ml_label_studio)
    hook = ml_backend_server.url + "/webhook"
    # the project had a webhook to that URL before: the link did not bring it, so it stays
    assert admin(ls, "POST", "/api/webhooks/", json={"project": project, "url": hook}).status_code == 201
    id_, state = create(engine, plain(declared, project, ml_backend_server.url))
    assert state.get("webhook_id") is None  # None outputs do not travel
    engine.delete(URN, id_, state)
    assert webhooks(ls, project) == [hook]

    # the link's own webhook stays while another link of the project uses the same backend
    project = new_project(ls)
    id_, state = create(engine, plain(declared, project, ml_backend_server.url))
    by_hand = admin(ls, "POST", "/api/ml/", json={"project": project, "url": ml_backend_server.url, "title": "hand"})
    assert by_hand.status_code == 201, by_hand.text
    engine.delete(URN, id_, state)
    assert webhooks(ls, project) == [hook]
    assert [r for r in log_records(engine.log) if r["event"] == "webhook_kept"]


def test_a_create_that_landed_but_lost_its_answer_is_adopted(engine: ProviderServer, declared: Registered,
                                                             ml_label_studio: LabelStudioServer,
                                                             ml_backend_server: MLBackendServer) -> None:
    ls, project = ml_label_studio, new_project(ml_label_studio)
    with fault_proxy(ls.url) as proxy:
        proxy.inject("drop_after_forward", method="POST", path_prefix="/api/ml/", times=1)
        id_, state = create(engine, plain(declared, project, ml_backend_server.url, api_url=proxy.url))
        assert proxy.faults_done == 1
    assert [m["id"] for m in links(ls, project)] == [int(id_)]  # one link, not two
    assert state["webhook_id"] is not None
    adopted = [r for r in log_records(engine.log) if r["event"] == "adopted" and r.get("object_id") == int(id_)]
    assert adopted
    engine.delete(URN, id_, {**state, "api_url": ls.url})
    assert links(ls, project) == [] and webhooks(ls, project) == []

    # a 503 from a proxy in front: nothing landed, so after the finder found nothing the POST is repeated
    with fault_proxy(ls.url) as proxy:
        proxy.inject("503", method="POST", path_prefix="/api/ml/", times=1)
        id_, state = create(engine, plain(declared, project, ml_backend_server.url, api_url=proxy.url))
        assert proxy.faults_done == 1
    assert [m["id"] for m in links(ls, project)] == [int(id_)] and state["connection_state"] == "Connected"
    engine.delete(URN, id_, {**state, "api_url": ls.url})


def test_an_identical_link_made_earlier_is_adopted_not_made_twice(engine: ProviderServer, declared: Registered,
                                                                  ml_label_studio: LabelStudioServer,
                                                                  ml_backend_server: MLBackendServer) -> None:
    # e.g. a run stopped after Label Studio made the link but before the state was written
    ls, project = ml_label_studio, new_project(ml_label_studio)
    earlier = admin(ls, "POST", "/api/ml/", json={"project": project, "url": ml_backend_server.url,
                                                  "title": "First choice"})
    assert earlier.status_code == 201, earlier.text
    inputs = plain(declared, project, ml_backend_server.url)
    id_, state = create(engine, inputs)
    assert int(id_) == earlier.json()["id"] and [m["id"] for m in links(ls, project)] == [int(id_)]
    assert state["webhook_id"] is not None  # the webhook that came with it is this link's
    assert engine.diff(URN, id_, engine.read(URN, id_, state, inputs)[1], inputs) == ("DIFF_SOME", [])  # description
    engine.delete(URN, id_, state)
    assert links(ls, project) == [] and webhooks(ls, project) == []


def test_diff_uses_state_only_and_replaces_precisely(engine: ProviderServer, declared: Registered) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: any HTTP call would fail
    olds = {**declared.inputs, "api_url": dead, "project_id": 7, "link_id": 3, "webhook_id": 4}
    news = {**declared.inputs, "api_url": dead, "project_id": 7.0}  # numbers arrive as floats
    assert engine.diff(URN, "3", olds, news) == ("DIFF_NONE", [])
    for key, value in (("api_url", "http://127.0.0.1:1"), ("project_id", 8), ("url", "https://m.example.com")):
        assert engine.diff(URN, "3", olds, {**news, key: value}) == ("DIFF_SOME", [key])
    in_place: tuple[tuple[str, Any], ...] = (
        ("title", "New"), ("description", "x"), ("is_interactive", True), ("basic_auth_user", "u2"),
        ("basic_auth_pass", "rotated-pass"), ("extra_params", {"a": 1}), ("api_token", "rotated-9"),
        ("backend_wait_seconds", 120), ("title", UNKNOWN), ("url", UNKNOWN), ("project_id", UNKNOWN))
    for key, value in in_place:
        assert engine.diff(URN, "3", olds, {**news, key: value}) == ("DIFF_SOME", []), key
    assert engine.diff(URN, "3", {**olds, "extra_params": {}}, {**news, "extra_params": None}) == ("DIFF_NONE", [])


def test_check_reports_every_bad_input_at_preview_and_skips_unknowns(engine: ProviderServer,
                                                                     declared: Registered) -> None:
    bad = {**declared.inputs, "project_id": 0, "url": "ftp://m.example.com", "title": "", "is_interactive": "yes",
           "basic_auth_user": "a:b", "extra_params": [1], "backend_wait_seconds": 0,
           "api_url": "https://u:p@ls.example.com"}
    _, failures = engine.check(URN, {}, bad)
    for expected in ("project_id: project_id must be a Label Studio project id (whole, >= 1)",
                     "url: url must be an http:// or https:// URL", "title: title must be a non-empty string",
                     "is_interactive: is_interactive must be true or false",
                     "basic_auth_user: basic_auth_user must not contain ':'",
                     "extra_params: extra_params must be a mapping (sent to the backend as JSON)",
                     "backend_wait_seconds: backend_wait_seconds must be 1 to 3600",
                     "api_url: api_url must not hold credentials, a query or a fragment (use basic_auth_user and "
                     "basic_auth_pass)"):
        assert expected in failures, failures
    _, failures = engine.check(URN, {}, {**declared.inputs, "basic_auth_pass": ""})
    assert failures == ["basic_auth_pass: basic_auth_user and basic_auth_pass go together: give both (HTTP Basic "
                        "auth) or neither"]
    assert ML_PASSWORD not in " ".join(failures)
    unknown = {**declared.inputs, "project_id": UNKNOWN, "url": UNKNOWN, "title": UNKNOWN, "api_url": UNKNOWN,
               "basic_auth_pass": UNKNOWN}
    assert engine.check(URN, {}, unknown)[1] == []
    missing = {k: v for k, v in declared.inputs.items() if k not in ("url", "project_id")}
    assert sorted(engine.check(URN, {}, missing)[1]) == ["project_id: project_id is required", "url: url is required"]


def test_provider_logs_are_json_per_call_without_secrets(engine: ProviderServer,
                                                         ml_label_studio: LabelStudioServer) -> None:
    text = engine.logs()
    assert ml_label_studio.api_token not in text and ML_PASSWORD not in text and "not-the-password-77" not in text
    calls = [r for r in log_records(engine.log) if r["event"] == "call"]
    assert {r["method"] for r in calls} >= {"GET", "POST", "PATCH", "DELETE"}
    for record in calls:
        assert {"request_id", "op", "resource", "method", "path", "status", "duration_ms"} <= record.keys()
        assert record["resource"] == "labelstudio:MLBackendLink" and "?" not in record["path"]
    assert len({r["request_id"] for r in calls if r["op"] == "create"}) >= 5  # one id per operation
