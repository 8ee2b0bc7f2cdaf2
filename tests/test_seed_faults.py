"""Seed providers under faults, as the engine runs them, against the real Label Studio: 503s and
dropped connections from a fault-injecting proxy, a create that landed but lost its answer,
Label Studio down when a create starts and restarted mid-run, personal access tokens."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.dynamic_engine import ProviderServer, log_records, registered_inputs
from tests.faultproxy import FaultProxy, fault_proxy
from tests.realservices import LabelStudioServer

CONFIG = ('<View><Text name="text" value="$text"/><Choices name="c" toName="text">'
          '<Choice value="yes"/><Choice value="no"/></Choices></View>')


@pytest.fixture(scope="module")
def engine() -> Iterator[ProviderServer]:
    server = ProviderServer("dynamic-provider-faults")
    yield server
    server.stop()


@pytest.fixture
def proxy(label_studio: LabelStudioServer) -> Iterator[FaultProxy]:
    with fault_proxy(label_studio.url) as running:
        yield running


def admin(ls: LabelStudioServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, ls.url + path, headers={"Authorization": f"Token {ls.api_token}"},
                            timeout=30, **kwargs)


def projects_titled(ls: LabelStudioServer, title: str) -> list[int]:
    found = admin(ls, "GET", "/api/projects/", params={"title": title, "page_size": 100}).json()["results"]
    return sorted(p["id"] for p in found if p["title"] == title)


def project_inputs(url: str, token: str, title: str) -> dict[str, Any]:
    return registered_inputs("components.providers.project", "Project", "faulty", api_url=url, api_token=token,
                             title=title, label_config=CONFIG, health_timeout_seconds=120).inputs


URN = "urn:pulumi:test::labelstudio::pulumi-python:dynamic/labelstudio:Project::faulty"
USER_URN = "urn:pulumi:test::labelstudio::pulumi-python:dynamic/labelstudio:User::faulty"


def title(stem: str) -> str:
    return f"{stem} {secrets.token_hex(3)}"


def test_503_and_dropped_connections_on_reads_are_retried(engine: ProviderServer, proxy: FaultProxy,
                                                          label_studio: LabelStudioServer) -> None:
    inputs = project_inputs(proxy.url, label_studio.api_token, title("Retried reads"))
    id_, state = engine.create(URN, inputs)
    proxy.inject("503", method="GET", path_prefix=f"/api/projects/{id_}/", times=2)
    proxy.inject("drop", method="GET", path_prefix=f"/api/projects/{id_}/", times=1)
    read_id, _ = engine.read(URN, id_, state, inputs)
    assert read_id == id_ and proxy.faults_done == 3
    proxy.inject("drop", method="PATCH", times=1)  # PATCH sends whole fields: safe to repeat
    engine.update(URN, id_, state, {**inputs, "description": "patched through a dropped connection"})
    assert admin(label_studio, "GET", f"/api/projects/{id_}/").json()["description"].startswith("patched")
    proxy.inject("503", method="DELETE", times=1)
    engine.delete(URN, id_, state)
    assert admin(label_studio, "GET", f"/api/projects/{id_}/").status_code == 404
    attempts = [r for r in log_records(engine.log) if r["event"] == "call" and r.get("attempt", 1) > 1]
    assert attempts, "retries are logged with their attempt number"


def test_a_create_refused_by_a_proxy_is_repeated_once_nothing_landed(engine: ProviderServer, proxy: FaultProxy,
                                                                     label_studio: LabelStudioServer) -> None:
    name = title("Refused create")
    proxy.inject("503", method="POST", path_prefix="/api/projects/", times=2)
    id_, state = engine.create(URN, project_inputs(proxy.url, label_studio.api_token, name))
    assert projects_titled(label_studio, name) == [int(id_)]
    engine.delete(URN, id_, state)


def test_a_create_that_landed_but_lost_its_answer_is_adopted_not_repeated(
        engine: ProviderServer, proxy: FaultProxy, label_studio: LabelStudioServer) -> None:
    name = title("Landed create")
    proxy.inject("drop_after_forward", method="POST", path_prefix="/api/projects/", times=1)
    id_, state = engine.create(URN, project_inputs(proxy.url, label_studio.api_token, name))
    assert projects_titled(label_studio, name) == [int(id_)]  # one project, and it is the one tracked
    adopted = [r for r in log_records(engine.log) if r["event"] == "adopted"]
    assert adopted and adopted[-1]["object_id"] == int(id_)
    engine.delete(URN, id_, state)


def test_a_signup_that_landed_but_lost_its_answer_is_not_repeated(
        engine: ProviderServer, proxy: FaultProxy, label_studio: LabelStudioServer) -> None:
    email = f"lost.answer.{secrets.token_hex(3)}@example.com"
    inputs = registered_inputs("components.providers.user", "User", "faulty", api_url=proxy.url,
                               api_token=label_studio.api_token, email=email, password="lost-answer-pass-1",
                               health_timeout_seconds=60).inputs
    proxy.inject("drop_after_forward", method="POST", path_prefix="/user/signup/", times=1)
    id_, state = engine.create(USER_URN, inputs)
    same_email = [u["id"] for u in admin(label_studio, "GET", "/api/users/").json() if u["email"] == email]
    assert same_email == [int(id_)]
    engine.delete(USER_URN, id_, state)


def test_duplicate_titles_are_separate_projects_tracked_by_id(engine: ProviderServer,
                                                             label_studio: LabelStudioServer) -> None:
    name = title("Same title")
    inputs = project_inputs(label_studio.url, label_studio.api_token, name)
    first, first_state = engine.create(URN, inputs)
    second, second_state = engine.create(URN, inputs)
    assert first != second and projects_titled(label_studio, name) == sorted([int(first), int(second)])
    engine.delete(URN, first, first_state)
    assert engine.read(URN, second, second_state, inputs)[0] == second  # the other one is untouched
    engine.delete(URN, second, second_state)


def restart_later(ls: LabelStudioServer, delay: float) -> threading.Thread:
    def start() -> None:
        time.sleep(delay)
        ls.start_app()
    thread = threading.Thread(target=start)
    thread.start()
    return thread


def test_label_studio_down_when_create_starts_and_restarted_mid_run(engine: ProviderServer,
                                                                    label_studio: LabelStudioServer) -> None:
    inputs = project_inputs(label_studio.url, label_studio.api_token, title("Waits for health"))
    label_studio.kill_app()
    thread = restart_later(label_studio, 2)
    try:
        id_, state = engine.create(URN, inputs)  # starts while nothing listens
    finally:
        thread.join()
    assert label_studio.healthy()
    label_studio.kill_app()  # a restart between two operations of the same run
    thread = restart_later(label_studio, 1)
    try:
        state = engine.update(URN, id_, state, {**inputs, "description": "after a restart"})
    finally:
        thread.join()
    assert admin(label_studio, "GET", f"/api/projects/{id_}/").json()["description"] == "after a restart"
    health = [r for r in log_records(engine.log) if r["event"] == "call" and r["path"] == "/health"]
    assert any(r["status"] is None for r in health) and any(r["status"] == 200 for r in health)
    engine.delete(URN, id_, state)


def test_health_timeout_is_readable(engine: ProviderServer, label_studio: LabelStudioServer) -> None:
    import grpc

    from tests.dynamic_engine import rpc_error_text
    from tests.realservices import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    inputs = {**project_inputs(dead, label_studio.api_token, title("Never up")), "health_timeout_seconds": 2}
    with pytest.raises(grpc.RpcError) as failed:
        engine.create(URN, inputs)
    message = rpc_error_text(failed.value)
    assert f"Label Studio at {dead} was not healthy within 2s" in message
    assert label_studio.api_token not in message


def personal_access_token(ls: LabelStudioServer) -> str:
    """A PAT of a fresh member (signup, web login, POST /api/token/), as a person would make one."""
    email, password = f"pat.{secrets.token_hex(3)}@example.com", "pat-user-pass-1"
    link = admin(ls, "GET", "/api/invite").json()["invite_url"]
    with requests.Session() as browser:
        for page, data in ((link, {"email": email, "password": password}),
                           ("/user/login/", {"email": email, "password": password})):
            browser.get(ls.url + page, timeout=30)
            browser.post(ls.url + page, timeout=30, allow_redirects=False,
                         data={**data, "csrfmiddlewaretoken": browser.cookies.get("csrftoken")},
                         headers={"Referer": ls.url + page, "Origin": ls.url})
        made = browser.post(ls.url + "/api/token/", timeout=30, headers={
            "X-CSRFToken": browser.cookies.get("csrftoken") or "", "Referer": ls.url + "/", "Origin": ls.url})
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


def test_a_personal_access_token_works_and_stays_secret(engine: ProviderServer,
                                                        label_studio: LabelStudioServer) -> None:
    import grpc

    from tests.dynamic_engine import rpc_error_text

    token = personal_access_token(label_studio)
    inputs = project_inputs(label_studio.url, token, title("PAT project"))
    id_, state = engine.create(URN, inputs)
    assert engine.read(URN, id_, state, inputs)[0] == id_
    engine.delete(URN, id_, state)
    refresh = [r for r in log_records(engine.log) if r["event"] == "call" and r["path"] == "/api/token/refresh/"]
    assert refresh and all(r["status"] == 200 for r in refresh)
    revoked = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(grpc.RpcError) as refused:
        engine.read(URN, id_, {**state, "api_token": revoked}, inputs)
    message = rpc_error_text(refused.value)
    assert "personal access token" in message and revoked not in message and token not in message
    assert token not in engine.logs()
