"""What an MLBackendLink resource accepts, checked at preview (unknown values skipped), and how it
maps to Label Studio's `/api/ml` fields. Pure functions: the provider and its tests share them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pulumi.dynamic import CheckFailure

from components.providers.common import as_int, checkable, connection_failures, is_known, is_latin1
from components.providers.common import url_problem as common_url_problem

CONNECTION = ("api_url", "api_token", "health_timeout_seconds", "backend_wait_seconds")
# A new server, project or backend URL is a new link: Label Studio makes the link's webhook to
# {url}/webhook once, on create, and never moves it when the URL changes.
REPLACES = ("api_url", "project_id", "url")
TEXT_FIELDS = ("title", "description", "basic_auth_user", "basic_auth_pass")
API_INPUTS = ("url", *TEXT_FIELDS, "is_interactive", "extra_params")  # a change needs a PATCH
INPUTS = (*CONNECTION, "project_id", *API_INPUTS)
SECRET_INPUTS = ("api_token", "basic_auth_pass")
TITLE_LENGTH = 200
TIMEOUT_RANGE = (1, 3600)


def input_failures(news: Mapping[str, Any]) -> list[CheckFailure]:
    """Every problem with the inputs at once; unknown (preview) values are skipped. Messages never
    quote a token or password."""
    failures = connection_failures(news, url_problem)

    def known(key: str) -> bool:
        return checkable(news, key)

    def text(key: str) -> str | None:
        value = news.get(key)
        return value if known(key) and isinstance(value, str) else None

    for key in ("project_id", "url", "title"):
        if key not in news or news[key] is None:
            failures.append(CheckFailure(key, f"{key} is required"))
        elif known(key) and key != "project_id" and (not isinstance(news[key], str) or not news[key]):
            failures.append(CheckFailure(key, f"{key} must be a non-empty string"))
    url = text("url")
    if url and url_problem(url):
        failures.append(CheckFailure("url", f"url {url_problem(url)}"))
    if known("project_id") and (as_int(news["project_id"]) or 0) < 1:
        failures.append(CheckFailure("project_id", "project_id must be a Label Studio project id (whole, >= 1)"))
    title = text("title")
    if title is not None and len(title) > TITLE_LENGTH:
        failures.append(CheckFailure("title", f"title must be at most {TITLE_LENGTH} characters long"))
    for key in ("description", "basic_auth_user", "basic_auth_pass"):
        if known(key) and not isinstance(news[key], str):
            failures.append(CheckFailure(key, f"{key} must be a string"))
    user = text("basic_auth_user")
    if user and ":" in user:
        failures.append(CheckFailure("basic_auth_user", "basic_auth_user must not contain ':'"))
    for key in ("basic_auth_user", "basic_auth_pass"):
        if text(key) and not is_latin1(str(text(key))):
            failures.append(CheckFailure(key, f"{key} must be Latin-1 text: HTTP Basic auth carries no other "
                                              "(the value is not shown)"))
    if is_known(news.get("basic_auth_user")) and is_known(news.get("basic_auth_pass")) \
            and bool(news.get("basic_auth_user")) != bool(news.get("basic_auth_pass")):
        failures.append(CheckFailure("basic_auth_pass", "basic_auth_user and basic_auth_pass go together: "
                                                        "give both (HTTP Basic auth) or neither"))
    if known("is_interactive") and not isinstance(news["is_interactive"], bool):
        failures.append(CheckFailure("is_interactive", "is_interactive must be true or false"))
    if known("extra_params") and not isinstance(news["extra_params"], dict):
        failures.append(CheckFailure("extra_params", "extra_params must be a mapping (sent to the backend as JSON)"))
    if known("backend_wait_seconds"):
        seconds, (low, high) = as_int(news["backend_wait_seconds"]), TIMEOUT_RANGE
        if seconds is None or not low <= seconds <= high:
            failures.append(CheckFailure("backend_wait_seconds", f"backend_wait_seconds must be {low} to {high}"))
    return failures


def url_problem(url: str) -> str | None:
    problem = common_url_problem(url)
    if problem:
        return problem
    parts = urlsplit(url)
    if "@" in parts.netloc or parts.query or parts.fragment:
        return "must not hold credentials, a query or a fragment (use basic_auth_user and basic_auth_pass)"
    return None


def json_numbers(value: Any) -> Any:
    """Whole numbers arrive from the engine as floats: give them back as the ints they were."""
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_numbers(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def payload(props: Mapping[str, Any]) -> dict[str, Any]:
    """Every field, each time: Label Studio re-checks a link (health, setup) on any write and needs
    `url` and `project` in the body even for a PATCH."""
    user = props.get("basic_auth_user") or ""
    body: dict[str, Any] = {
        "project": as_int(props["project_id"]), "url": props["url"], "title": props["title"],
        "description": props.get("description") or "", "is_interactive": props.get("is_interactive") is True,
        "extra_params": json_numbers(props.get("extra_params")) or None,
        "auth_method": "BASIC_AUTH" if user else "NONE", "basic_auth_user": user,
    }
    if user:  # Label Studio keeps the stored password when none is sent; it refuses "" on create
        body["basic_auth_pass"] = props.get("basic_auth_pass") or ""
    return body


def outputs(props: Mapping[str, Any], link_id: int, webhook_id: int | None, state: str | None) -> dict[str, Any]:
    outs = {k: props[k] for k in INPUTS if k in props}
    if "extra_params" in outs:
        outs["extra_params"] = json_numbers(outs["extra_params"])
    return {**outs, "link_id": link_id, "webhook_id": webhook_id, "connection_state": state}


def live_outputs(props: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """State as Label Studio has it, field by field (drift shows in the next diff). The password is
    write-only there: kept from the state, or emptied when Label Studio says none is set."""
    outs = outputs(props, int(live["id"]), as_int(props.get("webhook_id")), live.get("readable_state"))
    basic = live.get("auth_method") == "BASIC_AUTH"
    outs.update({
        "project_id": as_int(live.get("project")), "url": live.get("url") or "", "title": live.get("title") or "",
        "description": live.get("description") or "", "is_interactive": live.get("is_interactive") is True,
        "extra_params": live.get("extra_params") or None,
        "basic_auth_user": (live.get("basic_auth_user") or "") if basic else "",
    })
    if props.get("basic_auth_pass") and not (basic and live.get("basic_auth_pass_is_set")):
        outs["basic_auth_pass"] = ""  # nosec B105 - not a password: "none is set", which shows as drift
    return outs


def same(key: str, old: Any, new: Any) -> bool:
    """Equal as far as Label Studio is concerned (absent text is empty text, {} is no params)."""
    if key in TEXT_FIELDS:
        return (old or "") == (new or "")
    if key == "extra_params":
        return bool(json_numbers(old or None) == json_numbers(new or None))
    if key == "is_interactive":
        return bool(old) == bool(new)
    if key in ("project_id", "health_timeout_seconds", "backend_wait_seconds"):
        return as_int(old) == as_int(new)
    return bool(old == new)


def changed_inputs(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    return [k for k in INPUTS if not is_known(news.get(k)) or not same(k, olds.get(k), news.get(k))]
