"""The Webhook provider as the engine runs it (pickled, fresh process, gRPC), against a real Label
Studio 1.23.2 with SSRF protection on, posting to a receiver on the one loopback address it may call."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import pytest
import requests

from components.providers.common import UNKNOWN
from tests.dynamic_engine import ProviderServer, Registered, log_records, registered_inputs, rpc_error_text
from tests.realservices import SSRF_TARGET, LabelStudioServer

CONFIG = ('<View><Text name="text" value="$text"/><Choices name="c" toName="text">'
          '<Choice value="yes"/><Choice value="no"/></Choices></View>')
URN = "urn:pulumi:test::labelstudio::pulumi-python:dynamic/labelstudio:Webhook::events"
TOKEN = "Bearer receiver-token-5d2a91"


class Receiver:
    """A webhook receiver on SSRF_TARGET that records every POST (headers and JSON body)."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], dict[str, Any]]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((dict(self.headers.items()), json.loads(body or b"{}")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer((SSRF_TARGET, 0), Handler)
        self.url = f"http://{SSRF_TARGET}:{self._server.server_address[1]}/hooks/label-studio"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def actions(self) -> list[str]:
        return [body.get("action", "") for _, body in self.posts]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def admin(ls: LabelStudioServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, ls.url + path, headers={"Authorization": f"Token {ls.api_token}"},
                            timeout=60, **kwargs)


@pytest.fixture(scope="module")
def engine() -> Iterator[ProviderServer]:
    server = ProviderServer("dynamic-provider-webhook")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.stop()


def new_project(ls: LabelStudioServer, title: str = "Webhook events") -> int:
    made = admin(ls, "POST", "/api/projects/", json={"title": title, "label_config": CONFIG})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


@pytest.fixture(scope="module")
def project(label_studio_ssrf: LabelStudioServer) -> int:
    return new_project(label_studio_ssrf)


def declare(ls: LabelStudioServer, url: str, project: int, **changes: Any) -> Registered:
    args = {"api_url": ls.url, "api_token": ls.api_token, "project_id": project, "url": url,
            "actions": ["TASKS_CREATED"], "headers": {"Authorization": TOKEN}, "health_timeout_seconds": 30, **changes}
    return registered_inputs("components.providers.webhook", "Webhook", "events", **args)


def add_task(ls: LabelStudioServer, project: int) -> None:
    made = admin(ls, "POST", f"/api/projects/{project}/tasks/", json={"data": {"text": "a ticket"}})
    assert made.status_code == 201, made.text


def test_the_engine_receives_a_pickled_provider_secret_headers_and_token(
        label_studio_ssrf: LabelStudioServer, receiver: Receiver, project: int) -> None:
    declared = declare(label_studio_ssrf, receiver.url, project)
    assert declared.type == "pulumi-python:dynamic/labelstudio:Webhook"  # what the policy pack checks
    assert declared.inputs["__provider"]
    for key in ("api_token", "headers"):
        assert key in declared.secret_inputs and key in declared.additional_secret_outputs, key


def test_full_lifecycle_with_every_update_sending_the_actions(
        engine: ProviderServer, label_studio_ssrf: LabelStudioServer, receiver: Receiver, project: int) -> None:
    ls, declared = label_studio_ssrf, declare(label_studio_ssrf, receiver.url, project)
    inputs, failures = engine.check(URN, {}, declared.inputs)
    assert failures == []
    id_, state = engine.create(URN, inputs)
    live = admin(ls, "GET", f"/api/webhooks/{id_}/").json()
    assert (live["project"], live["url"], live["actions"], live["send_for_all_actions"], live["is_active"]) == (
        project, receiver.url, ["TASKS_CREATED"], False, True)
    add_task(ls, project)
    assert receiver.actions()[-1:] == ["TASKS_CREATED"]
    assert receiver.posts[-1][0]["Authorization"] == TOKEN  # the secret header reaches the receiver

    read_id, read = engine.read(URN, id_, state, inputs)
    assert read_id == id_ and engine.diff(URN, id_, read, inputs) == ("DIFF_NONE", [])

    # Label Studio resets actions to [] on a PATCH without them: the provider always sends them
    paused = {**inputs, "is_active": False}
    assert engine.diff(URN, id_, read, paused) == ("DIFF_SOME", [])
    state = engine.update(URN, id_, read, paused)
    live = admin(ls, "GET", f"/api/webhooks/{id_}/").json()
    assert (live["is_active"], live["actions"]) == (False, ["TASKS_CREATED"])
    posts = len(receiver.posts)
    add_task(ls, project)
    assert len(receiver.posts) == posts  # inactive: nothing posted

    # what a PATCH without actions does, made by hand: read shows it, the next update repairs it
    assert admin(ls, "PATCH", f"/api/webhooks/{id_}/", json={"is_active": True}).json()["actions"] == []
    _, drifted = engine.read(URN, id_, state, paused)
    assert (drifted["actions"], drifted["is_active"]) == (["NONE"], True)
    assert engine.diff(URN, id_, drifted, paused) == ("DIFF_SOME", [])
    state = engine.update(URN, id_, drifted, {**paused, "is_active": True})
    live = admin(ls, "GET", f"/api/webhooks/{id_}/").json()
    assert (live["actions"], live["is_active"]) == (["TASKS_CREATED"], True)

    # every action, new headers, another URL: in place
    everything = {**inputs, "actions": [], "headers": {"X-Token": "rotated-hook-token"}, "url": receiver.url + "/v2"}
    state = engine.update(URN, id_, state, everything)
    live = admin(ls, "GET", f"/api/webhooks/{id_}/").json()
    assert (live["send_for_all_actions"], live["headers"], live["url"]) == (
        True, {"X-Token": "rotated-hook-token"}, receiver.url + "/v2")
    assert engine.diff(URN, id_, engine.read(URN, id_, state, everything)[1], everything) == ("DIFF_NONE", [])

    # another project is another webhook (Label Studio keeps the project read-only): a replace
    assert engine.diff(URN, id_, state, {**everything, "project_id": project + 1000})[1] == ["project_id"]

    engine.delete(URN, id_, state)
    engine.delete(URN, id_, state)  # already gone: still done
    assert admin(ls, "GET", f"/api/webhooks/{id_}/").status_code == 404
    assert engine.read(URN, id_, state, everything)[0] == ""


def test_organization_webhooks_are_refused_by_label_studio_and_at_preview(
        engine: ProviderServer, label_studio_ssrf: LabelStudioServer, receiver: Receiver, project: int) -> None:
    # the server fact behind the check: without a project, 404 "Project not found."
    answer = admin(label_studio_ssrf, "POST", "/api/webhooks/", json={"url": receiver.url})
    assert (answer.status_code, answer.json()["detail"]) == (404, "Project not found.")
    inputs = {k: v for k, v in declare(label_studio_ssrf, receiver.url, project).inputs.items() if k != "project_id"}
    failures = engine.check(URN, {}, inputs)[1]
    assert failures == ["project_id: project_id is required: Label Studio 1.23.2 refuses organization-level "
                        "webhooks over its API (404 Project not found)"]


def test_refusals_are_readable_and_never_show_a_header_value(
        engine: ProviderServer, label_studio_ssrf: LabelStudioServer, receiver: Receiver, project: int) -> None:
    ls = label_studio_ssrf
    loopback = declare(ls, receiver.url.replace(SSRF_TARGET, "127.0.0.1"), project)
    with pytest.raises(grpc.RpcError) as refused:
        engine.create(URN, loopback.inputs)
    message = rpc_error_text(refused.value)
    assert "Label Studio refused to create the webhook (HTTP 403): URL resolves to a reserved network" in message
    assert TOKEN not in message and ls.api_token not in message
    # a header name check() refuses, sent straight to create as if it had slipped past: the server
    # echoes the headers it refuses, values included; the provider masks them
    bad = declare(ls, receiver.url, project, headers={"bad header": "hidden-header-value-77"})
    with pytest.raises(grpc.RpcError) as refused:
        engine.create(URN, bad.inputs)
    message = rpc_error_text(refused.value)
    assert "(HTTP 400): headers:" in message and "failed JSON schema check" in message
    assert "hidden-header-value-77" not in message
    org_only = declare(ls, receiver.url, project, actions=["PROJECT_CREATED"])
    with pytest.raises(grpc.RpcError) as refused:
        engine.create(URN, org_only.inputs)
    assert "Project webhook can't contain organization-only action." in rpc_error_text(refused.value)


def test_check_reports_every_bad_input_at_preview(engine: ProviderServer, label_studio_ssrf: LabelStudioServer,
                                                  receiver: Receiver, project: int) -> None:
    declared = declare(label_studio_ssrf, receiver.url, project)
    bad = {**declared.inputs, "url": "https://user:pw-in-url@hooks.example.com/x",
           "actions": ["PROJECT_DELETED", "task_created", "TASKS_CREATED", "TASKS_CREATED"],
           "headers": {"X Token": "a", "X-Other": "line\r\nInjected: 1", **{f"H{i}": "v" for i in range(9)}},
           "is_active": "yes"}
    failures = engine.check(URN, {}, bad)[1]
    for expected in ("url: url holds credentials, which would sit in plain state",
                     "actions: action PROJECT_DELETED is organization-only",
                     "actions: action 'task_created' is not one Label Studio 1.23.2 knows",
                     "actions: actions lists TASKS_CREATED more than once",
                     "headers: headers holds 11 headers; Label Studio keeps at most 10",
                     "headers: header name 'X Token' may hold only letters, digits, '-' and '_'",
                     "headers: header X-Other holds a line break or NUL",
                     "is_active: is_active must be true or false"):
        assert any(f.startswith(expected) for f in failures), (expected, failures)
    assert "pw-in-url" not in str(failures) and "Injected" not in str(failures)
    unknown = {**declared.inputs, "url": UNKNOWN, "project_id": UNKNOWN, "actions": [UNKNOWN],
               "headers": {"Authorization": UNKNOWN}}
    assert engine.check(URN, {}, unknown)[1] == []


def test_diff_uses_state_only(engine: ProviderServer, label_studio_ssrf: LabelStudioServer, receiver: Receiver,
                              project: int) -> None:
    inputs = {**declare(label_studio_ssrf, receiver.url, project).inputs, "api_url": "http://127.0.0.1:1"}
    olds = {**inputs, "webhook_id": 5}
    assert engine.diff(URN, "5", olds, inputs) == ("DIFF_NONE", [])
    assert engine.diff(URN, "5", olds, {**inputs, "actions": ["TASKS_CREATED"]}) == ("DIFF_NONE", [])
    assert engine.diff(URN, "5", olds, {**inputs, "headers": {"Authorization": "Bearer new"}}) == ("DIFF_SOME", [])
    assert engine.diff(URN, "5", olds, {**inputs, "api_url": "http://127.0.0.1:2"}) == ("DIFF_SOME", ["api_url"])
    assert engine.diff(URN, "5", olds, {**inputs, "project_id": UNKNOWN}) == ("DIFF_SOME", [])


def test_provider_logs_never_hold_headers_urls_or_tokens(engine: ProviderServer, label_studio_ssrf: LabelStudioServer,
                                                         receiver: Receiver) -> None:
    text = engine.logs()
    for secret in (TOKEN, "rotated-hook-token", "hidden-header-value-77", label_studio_ssrf.api_token):
        assert secret not in text
    assert "/hooks/label-studio" not in text
    calls = [r for r in log_records(engine.log) if r["event"] == "call"]
    assert {r["method"] for r in calls} >= {"GET", "POST", "PATCH", "DELETE"}
