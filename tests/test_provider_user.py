"""The User provider as the engine runs it (pickled, fresh process, gRPC), against a real
Label Studio 1.23.2: lifecycle, login with the seeded password, soft delete, out-of-band removal."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import requests

from components.providers.common import UNKNOWN
from tests.dynamic_engine import ProviderServer, Registered, log_records, registered_inputs, rpc_error_text
from tests.realservices import LabelStudioServer


@pytest.fixture(scope="module")
def engine() -> Iterator[ProviderServer]:
    server = ProviderServer("dynamic-provider-user")
    yield server
    server.stop()


def declare(ls: LabelStudioServer, **kwargs: Any) -> Registered:
    return registered_inputs("components.providers.user", "User", "annotator",
                             api_url=ls.url, api_token=ls.api_token, health_timeout_seconds=30, **kwargs)


def unique_email(stem: str) -> str:
    return f"{stem}.{secrets.token_hex(3)}@example.com"


def api(ls: LabelStudioServer, method: str, path: str, **body: Any) -> requests.Response:
    return requests.request(method, ls.url + path, headers={"Authorization": f"Token {ls.api_token}"},
                            json=body or None, timeout=30)


def web_login(ls: LabelStudioServer, email: str, password: str) -> str | None:
    """Log in through the web login form as a person does; the logged-in user's email, or None."""
    with requests.Session() as browser:
        browser.get(ls.url + "/user/login/", timeout=30)
        done = browser.post(ls.url + "/user/login/", timeout=30, allow_redirects=False,
                            data={"email": email, "password": password,
                                  "csrfmiddlewaretoken": browser.cookies.get("csrftoken")},
                            headers={"Referer": ls.url + "/user/login/", "Origin": ls.url})
        if done.status_code != 302:
            return None
        whoami = browser.get(ls.url + "/api/current-user/whoami", timeout=30)
        return str(whoami.json()["email"]) if whoami.status_code == 200 else None


def member(ls: LabelStudioServer, user_id: int) -> bool:
    """A current member: removing the membership (soft delete) clears its active organization."""
    live = api(ls, "GET", f"/api/users/{user_id}/")
    return live.status_code == 200 and live.json().get("active_organization") is not None


def test_the_engine_receives_secret_token_and_password(label_studio: LabelStudioServer) -> None:
    declared = declare(label_studio, email=unique_email("pickle"), password="pickled-pass-123")
    assert declared.type == "pulumi-python:dynamic/labelstudio:User"
    assert {"api_token", "password"} <= set(declared.secret_inputs)
    assert {"api_token", "password"} <= set(declared.additional_secret_outputs)


def test_full_lifecycle_with_a_password_that_logs_in(engine: ProviderServer, label_studio: LabelStudioServer) -> None:
    email, password = unique_email("Anna.Lifecycle"), "seeded-" + secrets.token_hex(6)
    declared = declare(label_studio, email=email, password=password, username="anna", first_name="Anna",
                       last_name="Lind")
    urn = declared.urn("annotator")
    inputs, failures = engine.check(urn, {}, declared.inputs)
    assert failures == []
    id_, state = engine.create(urn, inputs)
    user_id = int(id_)
    assert state["user_id"] == user_id
    live = api(label_studio, "GET", f"/api/users/{user_id}/").json()
    assert (live["email"], live["username"], live["first_name"], live["last_name"]) == (
        email.lower(), "anna", "Anna", "Lind")
    assert web_login(label_studio, email.lower(), password) == email.lower()
    assert web_login(label_studio, email.lower(), "wrong-password-1") is None

    read_id, refreshed = engine.read(urn, id_, state, inputs)
    assert read_id == id_
    assert engine.diff(urn, id_, refreshed, inputs) == ("DIFF_NONE", [])
    # the password is the initial one: changing it is not an update (Label Studio has no API for it)
    assert engine.diff(urn, id_, refreshed, {**inputs, "password": "another-pass-99"}) == ("DIFF_NONE", [])

    news = {**inputs, "first_name": "Annika", "username": "annika"}
    assert engine.diff(urn, id_, refreshed, news) == ("DIFF_SOME", [])
    state = engine.update(urn, id_, refreshed, news)
    live = api(label_studio, "GET", f"/api/users/{user_id}/").json()
    assert (live["username"], live["first_name"]) == ("annika", "Annika")
    assert engine.diff(urn, id_, engine.read(urn, id_, state, news)[1], news) == ("DIFF_NONE", [])

    # drift made by hand shows on refresh
    api(label_studio, "PATCH", f"/api/users/{user_id}/", last_name="Changed")
    _, drifted = engine.read(urn, id_, state, news)
    assert drifted["last_name"] == "Changed"
    assert engine.diff(urn, id_, drifted, news) == ("DIFF_SOME", [])

    # a new email is a new user; the same email in another case is not a change
    assert engine.diff(urn, id_, state, {**news, "email": unique_email("other")}) == ("DIFF_SOME", ["email"])
    assert engine.diff(urn, id_, state, {**news, "email": email.upper()}) == ("DIFF_NONE", [])
    assert engine.diff(urn, id_, state, {**news, "email": UNKNOWN}) == ("DIFF_SOME", [])

    engine.delete(urn, id_, state)
    assert not member(label_studio, user_id)
    assert api(label_studio, "GET", f"/api/users/{user_id}/").status_code == 200  # soft delete: record kept
    engine.delete(urn, id_, state)  # already removed: still done
    assert engine.read(urn, id_, state, news)[0] == ""
    # a removed member cannot be re-added over HTTP: a clear error, not a second user
    with pytest.raises(grpc.RpcError) as refused:
        engine.create(urn, inputs)
    assert "no longer a member of the organization (removed earlier" in rpc_error_text(refused.value)
    assert member(label_studio, user_id) is False


def test_replace_makes_a_new_user_before_removing_the_old(engine: ProviderServer,
                                                          label_studio: LabelStudioServer) -> None:
    declared = declare(label_studio, email=unique_email("replace-old"), first_name="Old")
    urn = declared.urn("annotator")
    old_id, old_state = engine.create(urn, engine.check(urn, {}, declared.inputs)[0])
    news = {**declared.inputs, "email": unique_email("replace-new")}
    assert engine.diff(urn, old_id, old_state, news) == ("DIFF_SOME", ["email"])
    new_id, _ = engine.create(urn, engine.check(urn, old_state, news)[0])
    engine.delete(urn, old_id, old_state)
    assert new_id != old_id and member(label_studio, int(new_id)) and not member(label_studio, int(old_id))
    assert api(label_studio, "GET", f"/api/users/{new_id}/").json()["first_name"] == "Old"


def test_user_without_password_and_out_of_band_removal(engine: ProviderServer,
                                                       label_studio: LabelStudioServer) -> None:
    declared = declare(label_studio, email=unique_email("nopass"), last_name="Nopass")
    urn = declared.urn("annotator")
    id_, state = engine.create(urn, engine.check(urn, {}, declared.inputs)[0])
    assert member(label_studio, int(id_))
    creates = [r for r in log_records(engine.log) if r["event"] == "call" and r["op"] == "create"]
    assert not any(r["method"] == "PATCH" for r in creates[-3:])  # profile and organization in the POST
    # a create that runs again (e.g. its answer was lost) adopts the user instead of failing
    again_id, _ = engine.create(urn, declared.inputs)
    assert again_id == id_
    org = api(label_studio, "GET", "/api/current-user/whoami").json()["active_organization"]
    assert api(label_studio, "DELETE", f"/api/organizations/{org}/memberships/{id_}/").status_code == 204
    assert engine.read(urn, id_, state, declared.inputs)[0] == ""
    engine.delete(urn, id_, state)
    with pytest.raises(grpc.RpcError) as refused:  # the API create path says the same
        engine.create(urn, declared.inputs)
    assert "no longer a member of the organization" in rpc_error_text(refused.value)


def test_check_reports_bad_inputs_without_echoing_the_password(engine: ProviderServer,
                                                               label_studio: LabelStudioServer) -> None:
    declared = declare(label_studio, email="not-an-email", password="short7", username="x" * 300)
    _, failures = engine.check(declared.urn("annotator"), {}, declared.inputs)
    assert "email: email must look like name@example.com" in failures
    assert any(f.startswith("password: password must be 8 to 128 characters long") for f in failures)
    assert any(f.startswith("username: username must be text of at most 256") for f in failures)
    assert all("short7" not in f for f in failures)
    unknown = {**declared.inputs, "email": UNKNOWN, "password": UNKNOWN, "username": UNKNOWN}
    assert engine.check(declared.urn("annotator"), {}, unknown)[1] == []


def test_signup_refusal_is_readable_and_logs_hold_no_personal_data(engine: ProviderServer,
                                                                   label_studio: LabelStudioServer) -> None:
    # passes check(), but Django's email rule wants a top-level domain of two letters or more
    declared = declare(label_studio, email=f"refused.{secrets.token_hex(3)}@example.c", password="refused-pass-1")
    urn = declared.urn("annotator")
    assert engine.check(urn, {}, declared.inputs)[1] == []
    with pytest.raises(grpc.RpcError) as refused:
        engine.create(urn, declared.inputs)
    message = rpc_error_text(refused.value)
    assert "Label Studio refused the signup (HTTP 200): Enter a valid email address." in message
    assert "refused-pass-1" not in message
    text = engine.logs()
    assert label_studio.api_token not in text
    for secret_or_pii in ("seeded-", "refused-pass-1", "Anna", "Lind", "annika", "@example."):
        assert secret_or_pii not in text, secret_or_pii
    calls = [r for r in log_records(engine.log) if r["event"] == "call"]
    assert any(r["path"] == "/user/signup/" and r["method"] == "POST" for r in calls)
    assert all("?" not in r["path"] for r in calls)  # the invite token never reaches a log line
