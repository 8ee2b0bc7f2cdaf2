"""The Project provider as the engine runs it (pickled, fresh process, gRPC), against a real
Label Studio 1.23.2 on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import requests

from components.providers.common import UNKNOWN
from tests.dynamic_engine import ProviderServer, Registered, log_records, registered_inputs, rpc_error_text
from tests.faultproxy import fault_proxy
from tests.realservices import LabelStudioServer, free_port

LABEL_CONFIG = ('<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
                '<Choice value="Positive"/><Choice value="Negative"/></Choices></View>')
# check() refuses it too; the refusal tests send it straight to create/update, as if it had slipped
# past (the server may refuse what no local check can know, e.g. a config its annotations contradict).
REFUSED_BY_SERVER = '<View><Choices name="c" toName="nowhere"><Choice value="a"/></Choices></View>'
TITLE = "Sentiment review 7f3a"


@pytest.fixture(scope="module")
def engine() -> Iterator[ProviderServer]:
    server = ProviderServer("dynamic-provider-project")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def declared(label_studio: LabelStudioServer) -> Registered:
    return registered_inputs(
        "components.providers.project", "Project", "reviews",
        api_url=label_studio.url, api_token=label_studio.api_token, title=TITLE,
        label_config=LABEL_CONFIG, description="Product reviews",
        quality={"maximum_annotations": 2, "show_skip_button": False}, health_timeout_seconds=30)


def api(ls: LabelStudioServer, method: str, path: str, **body: Any) -> requests.Response:
    return requests.request(method, ls.url + path, headers={"Authorization": f"Token {ls.api_token}"},
                            json=body or None, timeout=30)


def create(engine: ProviderServer, declared: Registered, **changes: Any) -> tuple[str, dict[str, Any]]:
    inputs, failures = engine.check(declared.urn("reviews"), {}, {**declared.inputs, **changes})
    assert failures == []
    return engine.create(declared.urn("reviews"), inputs)


def test_the_engine_receives_a_pickled_provider_and_a_secret_token(declared: Registered) -> None:
    assert declared.type == "pulumi-python:dynamic/labelstudio:Project"
    assert declared.inputs["__provider"]
    assert "api_token" in declared.secret_inputs
    assert "api_token" in declared.additional_secret_outputs


def test_full_lifecycle(engine: ProviderServer, declared: Registered, label_studio: LabelStudioServer) -> None:
    urn = declared.urn("reviews")
    id_, outs = create(engine, declared)
    assert outs["project_id"] == int(id_)
    live = api(label_studio, "GET", f"/api/projects/{id_}/").json()
    assert (live["title"], live["maximum_annotations"], live["show_skip_button"]) == (TITLE, 2, False)

    read_id, state = engine.read(urn, id_, outs, declared.inputs)
    assert read_id == id_
    assert engine.diff(urn, id_, state, declared.inputs) == ("DIFF_NONE", [])

    quality = {"maximum_annotations": 3, "show_skip_button": True, "sampling": "Uniform sampling"}
    news, failures = engine.check(urn, state, {**declared.inputs, "quality": quality})
    assert failures == []
    assert engine.diff(urn, id_, state, news) == ("DIFF_SOME", [])
    state = engine.update(urn, id_, state, news)
    live = api(label_studio, "GET", f"/api/projects/{id_}/").json()
    assert {k: live[k] for k in quality} == quality
    assert engine.diff(urn, id_, engine.read(urn, id_, state, news)[1], news) == ("DIFF_NONE", [])

    # Only the timeout changes: an in-place update that needs no PATCH.
    state = engine.update(urn, id_, state, {**news, "health_timeout_seconds": 60})
    assert state["health_timeout_seconds"] == 60

    # Drift made outside Pulumi shows on refresh and is put back by the next update.
    api(label_studio, "PATCH", f"/api/projects/{id_}/", title="Renamed by hand")
    _, refreshed = engine.read(urn, id_, state, news)
    assert refreshed["title"] == "Renamed by hand"
    assert engine.diff(urn, id_, refreshed, news)[0] == "DIFF_SOME"
    engine.update(urn, id_, refreshed, news)
    assert api(label_studio, "GET", f"/api/projects/{id_}/").json()["title"] == TITLE

    engine.delete(urn, id_, state)
    engine.delete(urn, id_, state)  # already gone: still done
    assert api(label_studio, "GET", f"/api/projects/{id_}/").status_code == 404
    assert engine.read(urn, id_, state, news)[0] == ""


def test_out_of_band_delete_is_seen_by_read(engine: ProviderServer, declared: Registered,
                                            label_studio: LabelStudioServer) -> None:
    urn = declared.urn("reviews")
    id_, outs = create(engine, declared)
    assert api(label_studio, "DELETE", f"/api/projects/{id_}/").status_code == 204
    assert engine.read(urn, id_, outs, declared.inputs) == ("", {"__provider": outs["__provider"]})
    engine.delete(urn, id_, outs)


def test_diff_uses_state_only_and_replaces_only_for_a_new_api_url(engine: ProviderServer,
                                                                  declared: Registered) -> None:
    urn, dead_url = declared.urn("reviews"), f"http://127.0.0.1:{free_port()}"  # nothing listens
    olds = {**declared.inputs, "api_url": dead_url, "project_id": 7}
    news = {**declared.inputs, "api_url": dead_url}
    assert engine.diff(urn, "7", olds, news) == ("DIFF_NONE", [])
    assert engine.diff(urn, "7", olds, {**news, "api_url": "http://127.0.0.1:1"}) == ("DIFF_SOME", ["api_url"])
    # A rotated token must reach the state (later reads and the delete use it) without a new project.
    assert engine.diff(urn, "7", olds, {**news, "api_token": "rotated-token-123"}) == ("DIFF_SOME", [])
    assert engine.diff(urn, "7", olds, {**news, "title": UNKNOWN}) == ("DIFF_SOME", [])
    assert engine.diff(urn, "7", olds, {**news, "api_url": UNKNOWN}) == ("DIFF_SOME", [])
    # a state written before instructions, colour and the delete allowance existed: nothing to do
    older = {k: v for k, v in olds.items() if k not in ("instructions", "color", "allow_delete_with_annotations")}
    assert engine.diff(urn, "7", older, news) == ("DIFF_NONE", [])


def test_check_reports_every_bad_input_at_preview(engine: ProviderServer, declared: Registered) -> None:
    urn = declared.urn("reviews")
    bad = {**declared.inputs, "title": "ab", "label_config": '<View><Text name="t" value="$t"></View>',
           "quality": {"maximum_annotations": 0, "sampling": "Random", "show_skip_button": "yes",
                       "overlap": 50}}
    _, failures = engine.check(urn, {}, bad)
    assert "title: title must be 3 to 50 characters long" in failures
    assert any(f.startswith("label_config: label_config is not well-formed XML (mismatched tag") for f in failures)
    for problem in ("maximum_annotations must be at least 1", "sampling must be one of",
                    "show_skip_button must be a bool", "quality.overlap is not a known setting"):
        assert any(problem in f for f in failures), problem
    for config, problem in (("<!DOCTYPE x [<!ENTITY a 'b'>]><View/>", "DTD or entity"),
                            ('<View><Text name="t"/></View>', "'value' is a required property")):
        _, failures = engine.check(urn, {}, {**declared.inputs, "label_config": config})
        assert len(failures) == 1 and problem in failures[0]
    unknown = {**declared.inputs, "title": UNKNOWN, "label_config": UNKNOWN, "api_url": UNKNOWN,
               "quality": {"maximum_annotations": UNKNOWN}}
    assert engine.check(urn, {}, unknown)[1] == []


def test_label_studio_refusals_are_readable(engine: ProviderServer, declared: Registered,
                                           label_studio: LabelStudioServer) -> None:
    urn = declared.urn("reviews")
    with pytest.raises(grpc.RpcError) as refused:
        engine.create(urn, {**declared.inputs, "label_config": REFUSED_BY_SERVER})
    message = rpc_error_text(refused.value)
    assert "Label Studio refused to create the project (HTTP 400): label_config:" in message
    assert "nowhere" in message

    id_, outs = create(engine, declared)
    with pytest.raises(grpc.RpcError) as refused:
        engine.update(urn, id_, outs, {**declared.inputs, "label_config": REFUSED_BY_SERVER})
    assert f"Label Studio refused to update project {id_} (HTTP 400)" in rpc_error_text(refused.value)

    wrong_token = "not-the-token-42"
    with pytest.raises(grpc.RpcError) as refused:
        engine.read(urn, id_, {**outs, "api_token": wrong_token}, declared.inputs)
    message = rpc_error_text(refused.value)
    assert "(HTTP 401)" in message and "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN" in message
    assert wrong_token not in message and label_studio.api_token not in message
    engine.delete(urn, id_, outs)


def test_provider_logs_are_json_per_call_without_secrets_or_titles(engine: ProviderServer,
                                                                   label_studio: LabelStudioServer) -> None:
    text = engine.logs()
    assert label_studio.api_token not in text and "not-the-token-42" not in text
    assert TITLE not in text and "Renamed by hand" not in text
    calls = [r for r in log_records(engine.log) if r["event"] == "call"]
    assert {r["method"] for r in calls} >= {"GET", "POST", "PATCH", "DELETE"}
    for record in calls:
        assert {"request_id", "op", "resource", "method", "path", "status", "duration_ms"} <= record.keys()
        assert "?" not in record["path"]
    creates = {r["request_id"] for r in calls if r["op"] == "create"}
    assert len(creates) >= 3  # one request id per operation, shared by its calls


def test_delete_refuses_to_lose_annotations(engine: ProviderServer, declared: Registered,
                                            label_studio: LabelStudioServer) -> None:
    urn = declared.urn("reviews")
    id_, outs = create(engine, declared)
    task = api(label_studio, "POST", f"/api/projects/{id_}/tasks/", data={"text": "Great blender"})
    assert task.status_code == 201, task.text
    done = api(label_studio, "POST", f"/api/tasks/{task.json()['id']}/annotations/", result=[{
        "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}])
    assert done.status_code == 201, done.text

    with pytest.raises(grpc.RpcError) as refused:
        engine.delete(urn, id_, outs)
    message = rpc_error_text(refused.value)
    assert f"project {id_} holds 1 annotations, which a delete would lose; nothing was deleted" in message
    assert api(label_studio, "GET", f"/api/projects/{id_}/").status_code == 200

    # once the labeled work is gone (exported and removed by a person), the delete goes through
    assert api(label_studio, "DELETE", f"/api/annotations/{done.json()['id']}/").status_code == 204
    engine.delete(urn, id_, outs)
    assert api(label_studio, "GET", f"/api/projects/{id_}/").status_code == 404


def test_instructions_colour_and_replace(engine: ProviderServer, declared: Registered,
                                         label_studio: LabelStudioServer) -> None:
    urn = declared.urn("reviews")
    inputs = {**declared.inputs, "instructions": "<p>Label the <b>tone</b>.</p>", "color": "#1F77B4"}
    id_, state = create(engine, declared, instructions=inputs["instructions"], color=inputs["color"])
    live = api(label_studio, "GET", f"/api/projects/{id_}/").json()
    assert (live["expert_instruction"], live["show_instruction"], live["color"]) == (
        inputs["instructions"], True, "#1F77B4")
    _, refreshed = engine.read(urn, id_, state, inputs)
    assert engine.diff(urn, id_, refreshed, inputs) == ("DIFF_NONE", [])
    api(label_studio, "PATCH", f"/api/projects/{id_}/", color="#000000")  # drift, field by field
    _, refreshed = engine.read(urn, id_, state, inputs)
    assert refreshed["color"] == "#000000" and refreshed["title"] == TITLE
    assert engine.diff(urn, id_, refreshed, inputs) == ("DIFF_SOME", [])
    state = engine.update(urn, id_, refreshed, {**inputs, "instructions": ""})
    live = api(label_studio, "GET", f"/api/projects/{id_}/").json()
    assert (live["expert_instruction"], live["show_instruction"], live["color"]) == ("", False, "#1F77B4")
    _, failures = engine.check(urn, {}, {**inputs, "color": "blue"})
    assert failures == ["color: color 'blue' must be #RRGGBB, e.g. #1F77B4"]
    # another URL is another server, so another project: a replace, created before the old one goes
    # (here the "other server" is the same Label Studio behind a loopback proxy)
    with fault_proxy(label_studio.url) as proxy:
        other = {**inputs, "api_url": proxy.url}
        assert engine.diff(urn, id_, state, other) == ("DIFF_SOME", ["api_url"])
        new_id, new_state = engine.create(urn, engine.check(urn, state, other)[0])
        engine.delete(urn, id_, state)
        assert new_id != id_ and api(label_studio, "GET", f"/api/projects/{id_}/").status_code == 404
        live = api(label_studio, "GET", f"/api/projects/{new_id}/").json()
        assert (live["title"], live["color"]) == (TITLE, "#1F77B4")
        engine.delete(urn, new_id, new_state)


def test_delete_with_annotations_goes_through_only_when_allowed(engine: ProviderServer, declared: Registered,
                                                               label_studio: LabelStudioServer) -> None:
    urn = declared.urn("reviews")
    id_, outs = create(engine, declared)
    task = api(label_studio, "POST", f"/api/projects/{id_}/tasks/", data={"text": "Loud fan"}).json()
    for choice, cancelled in (("Negative", False), ("Positive", True)):  # a skipped one counts too
        done = api(label_studio, "POST", f"/api/tasks/{task['id']}/annotations/", was_cancelled=cancelled, result=[{
            "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [choice]}}])
        assert done.status_code == 201, done.text
    with pytest.raises(grpc.RpcError) as refused:
        engine.delete(urn, id_, outs)
    message = rpc_error_text(refused.value)
    assert f"project {id_} holds 2 annotations" in message and "allowDeleteWithAnnotations: true" in message
    assert api(label_studio, "GET", f"/api/projects/{id_}/").json()["total_annotations_number"] == 1  # kept

    allowed = {**declared.inputs, "allow_delete_with_annotations": True}
    assert engine.diff(urn, id_, outs, allowed) == ("DIFF_SOME", [])
    outs = engine.update(urn, id_, outs, allowed)  # the allowance reaches the state, no API call
    engine.delete(urn, id_, outs)
    assert api(label_studio, "GET", f"/api/projects/{id_}/").status_code == 404
    deleted = [r for r in log_records(engine.log) if r["event"] == "deleted" and r.get("project_id") == int(id_)]
    assert deleted and deleted[-1]["annotations_deleted"] == 2
