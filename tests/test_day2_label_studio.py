"""What the README's day-2 runbooks claim about Label Studio 1.23.2, checked against the real server
(PostgreSQL, Label Studio from PyPI, restarted in place as a rollout restarts the app):

- metrics: no Prometheus export; /metrics/ is an empty page, open without login;
- SECRET_KEY rotation: sessions and personal access tokens (JWTs) stop working, legacy tokens do not;
  a user must revoke the dead token before Label Studio lets them create a new one;
- admin token: LABEL_STUDIO_USER_TOKEN is applied on a new database only; rotating goes through the
  API (reset-token), which invalidates the old token at once;
- database password: after ALTER ROLE the running app fails on its next request (a connection per
  request) until it restarts with the new password;
- request ids: Label Studio's JSON log lines have a request_id field, but it stays null.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.realservices import LABEL_STUDIO_VENV, LabelStudioServer, Postgres, start_label_studio, wait_until

ADMIN, PASSWORD = "ops-admin@example.com", "ops-admin-password-1"


@pytest.fixture(scope="module")
def ls(postgres: Postgres) -> Iterator[LabelStudioServer]:
    """A Label Studio of its own (the tests restart it with other secrets)."""
    server = start_label_studio({
        "DJANGO_DB": "default", "POSTGRE_NAME": postgres.create_database(), "POSTGRE_USER": postgres.user,
        "POSTGRE_PASSWORD": postgres.password, "POSTGRE_HOST": postgres.host, "POSTGRE_PORT": str(postgres.port),
        "SECRET_KEY": "first-secret-key-" + secrets.token_hex(20), "LABEL_STUDIO_USERNAME": ADMIN,
        "LABEL_STUDIO_PASSWORD": PASSWORD, "LABEL_STUDIO_USER_TOKEN": "bootstrap-" + secrets.token_hex(8),
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true", "SKIP_DB_MIGRATIONS": "true", "JSON_LOG": "1",
        "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "", "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false",
    })
    yield server
    server.stop()


def restart(ls: LabelStudioServer, **env: str) -> None:
    """Stop the app and start it again with `env` changed (the database and data stay), as a rollout does."""
    ls.kill_app()
    ls.env = {**ls.env, **env}
    ls.start_app()
    wait_until(ls.healthy, timeout=180, what="Label Studio after a restart", log=ls.log, process=ls.process)


def legacy(ls: LabelStudioServer, token: str, path: str = "/api/projects/") -> int:
    return requests.get(ls.url + path, headers={"Authorization": f"Token {token}"}, timeout=30).status_code


def login(ls: LabelStudioServer) -> requests.Session:
    browser = requests.Session()
    browser.get(ls.url + "/user/login/", timeout=30)
    done = browser.post(ls.url + "/user/login/", timeout=30, allow_redirects=False,
                        data={"email": ADMIN, "password": PASSWORD,
                              "csrfmiddlewaretoken": browser.cookies.get("csrftoken")},
                        headers={"Referer": ls.url + "/user/login/", "Origin": ls.url})
    assert done.status_code == 302, done.text[:300]
    return browser


def session_call(ls: LabelStudioServer, browser: requests.Session, method: str, path: str,
                 body: dict[str, Any] | None = None) -> requests.Response:
    return browser.request(method, ls.url + path, json=body, timeout=30, allow_redirects=False, headers={
        "X-CSRFToken": browser.cookies.get("csrftoken") or "", "Referer": ls.url + "/", "Origin": ls.url})


def refresh(ls: LabelStudioServer, personal_token: str) -> int:
    """Exchange a personal access token for an access token, as the SDK does."""
    return requests.post(ls.url + "/api/token/refresh/", json={"refresh": personal_token}, timeout=30).status_code


def test_label_studio_exports_no_prometheus_metrics(ls: LabelStudioServer) -> None:
    answer = requests.get(ls.url + "/metrics/", timeout=30)  # no credentials
    assert (answer.status_code, answer.text) == (200, "")  # a placeholder: nothing to scrape, nothing to leak
    source = next(LABEL_STUDIO_VENV.glob("lib/python3*/site-packages/label_studio"))
    readers = [p for p in source.rglob("*.py") if "PROMETHEUS" in p.read_text(errors="replace")]
    assert readers == []  # no PROMETHEUS_EXPORT_ENABLED (or any other PROMETHEUS_*) setting in 1.23.2


def test_json_log_lines_do_not_carry_the_callers_request_id(ls: LabelStudioServer) -> None:
    """Label Studio's JSON formatter has a request_id field (from X-Request-ID), but in 1.23.2 it stays
    null: follow a seeding operation in Label Studio's log by time and path, not by id (README)."""
    request_id = str(uuid.uuid4())
    marker = "/api/day2-" + request_id[:8]
    answer = requests.get(ls.url + marker, timeout=30, headers={  # a 404: logged by Django, twice
        "Authorization": f"Token {ls.env['LABEL_STUDIO_USER_TOKEN']}", "X-Request-ID": request_id})
    assert answer.status_code == 404
    wait_until(lambda: marker in ls.log.read_text(errors="replace"), timeout=10, what="a log line", log=ls.log)
    lines = [json.loads(line) for line in ls.log.read_text(errors="replace").splitlines()
             if line.startswith("{") and marker in line]
    assert lines and all("request_id" in line and line["request_id"] is None for line in lines)


def test_rotating_secret_key_ends_sessions_and_personal_tokens_not_legacy_tokens(ls: LabelStudioServer) -> None:
    token = ls.env["LABEL_STUDIO_USER_TOKEN"]
    browser = login(ls)
    made = session_call(ls, browser, "POST", "/api/token/")
    assert made.status_code == 201, made.text
    personal = str(made.json()["token"])
    assert refresh(ls, personal) == 200 and session_call(ls, browser, "GET", "/api/current-user/whoami").ok

    restart(ls, SECRET_KEY="second-secret-key-" + secrets.token_hex(20))

    assert session_call(ls, browser, "GET", "/api/current-user/whoami").status_code in (401, 403)  # logged out
    assert refresh(ls, personal) == 401  # the JWT's signature no longer verifies
    assert legacy(ls, token) == 200  # a legacy token is a database row, not signed
    # Recovery: Label Studio still counts the dead token as the user's one token ...
    browser = login(ls)
    assert session_call(ls, browser, "POST", "/api/token/").status_code == 409
    # ... until it is revoked (the list shows it without its signature; revoking needs no signature)
    (listed,) = session_call(ls, browser, "GET", "/api/token/").json()
    assert session_call(ls, browser, "POST", "/api/token/blacklist/", {"refresh": listed["token"]}).status_code == 204
    renewed = session_call(ls, browser, "POST", "/api/token/")
    assert renewed.status_code == 201 and refresh(ls, str(renewed.json()["token"])) == 200


def test_the_admin_token_rotates_through_the_api_not_the_environment(ls: LabelStudioServer) -> None:
    old = ls.env["LABEL_STUDIO_USER_TOKEN"]
    # A new bootstrap token in the environment changes nothing on an existing database ...
    restart(ls, LABEL_STUDIO_USER_TOKEN="ignored-" + secrets.token_hex(8))
    assert legacy(ls, ls.env["LABEL_STUDIO_USER_TOKEN"]) == 401 and legacy(ls, old) == 200
    # ... the API rotates it, and the old one stops working at once
    reset = requests.post(ls.url + "/api/current-user/reset-token/", timeout=30,
                          headers={"Authorization": f"Token {old}"})
    assert reset.status_code == 201
    new = str(reset.json()["token"])
    assert new != old and legacy(ls, old) == 401 and legacy(ls, new) == 200
    ls.env = {**ls.env, "LABEL_STUDIO_USER_TOKEN": new}  # what `adminApiToken` then hands to the stack


def test_a_database_password_change_needs_the_app_restarted_with_it(ls: LabelStudioServer,
                                                                    postgres: Postgres) -> None:
    token = ls.env["LABEL_STUDIO_USER_TOKEN"]
    assert legacy(ls, token) == 200
    new_password = secrets.token_urlsafe(16)
    postgres.psql(f"ALTER ROLE \"{postgres.user}\" PASSWORD '{new_password}'")
    try:
        failing = legacy(ls, token)
        assert failing >= 500  # the running app opens a connection per request, with the old password
        restart(ls, POSTGRE_PASSWORD=new_password)
        assert legacy(ls, token) == 200
    finally:  # other tests of the session use this role
        postgres.psql(f"ALTER ROLE \"{postgres.user}\" PASSWORD '{postgres.password}'")
        restart(ls, POSTGRE_PASSWORD=postgres.password)


def test_runbook_claims_are_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for claim in ("/api/token/blacklist/", "/api/current-user/reset-token/", "ALTER ROLE", "adminApiToken"):
        assert claim in readme, claim
