"""What a Webhook resource accepts, checked at preview (unknown values skipped), and how it maps to
Label Studio 1.23.2's webhook API. Pure functions: the provider, the seed spec and tests share them.

Facts from Label Studio 1.23.2 (webhooks/models.py, serializers.py, api.py; measured):
- the actions it accepts are WebhookAction.ACTIONS below; PROJECT_CREATED and PROJECT_DELETED are
  organization-only, and a project webhook holding one is refused (HTTP 400);
- `POST /api/webhooks/` without a project answers 404 "Project not found.": organization-level
  webhooks cannot be made over the API, so every webhook here belongs to a project;
- a PATCH without `actions` resets them to [] (the serializer's default): every update sends all;
- headers: at most 10, names matching ^[a-zA-Z0-9-_]+$, string values (JSON schema); values with
  CR/LF are stored but every delivery then fails inside Label Studio, silently;
- the URL is an http(s) URLField of at most 2048 characters, refused (403) when it resolves to a
  banned address (SSRF protection), and the project cannot change after creation.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pulumi.dynamic import CheckFailure

from components.providers.common import as_int, checkable, connection_failures, is_known, is_latin1
from components.providers.common import url_problem as http_url_problem

ACTIONS = ("PROJECT_CREATED", "PROJECT_UPDATED", "PROJECT_DELETED", "TASKS_CREATED", "TASKS_DELETED",
           "ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED",
           "LABEL_LINK_CREATED", "LABEL_LINK_UPDATED", "LABEL_LINK_DELETED")
ORGANIZATION_ONLY = ("PROJECT_CREATED", "PROJECT_DELETED")
PROJECT_ACTIONS = tuple(a for a in ACTIONS if a not in ORGANIZATION_ONLY)
HEADER_NAME = re.compile(r"[a-zA-Z0-9_-]+")
MAX_HEADERS = 10
HEADER_VALUE_LENGTH = 4096
URL_LENGTH = 2048
# The hosts Label Studio's URLField (Django's URL validator) takes: a dotted IPv4 address, an [IPv6]
# address, localhost, or a DNS name of two or more labels whose last one is letters (or punycode).
# Anything else, such as a single-label service name or an '_', is refused with 400 "Enter a valid URL".
_LABEL = "(?!-)[a-z0-9\u00a1-\uffff-]{1,63}(?<!-)"
_TOP_LABEL = "(?!-)(?:[a-z\u00a1-\uffff-]{2,63}|xn--[a-z0-9]{1,59})(?<!-)"
_HOST = re.compile(rf"(?:{_LABEL}\.)+{_TOP_LABEL}\.?|localhost")
CONNECTION = ("api_url", "api_token", "health_timeout_seconds")
API_INPUTS = ("url", "actions", "headers", "send_payload", "is_active")  # a change needs a PATCH
REPLACES = ("api_url", "project_id")  # the project is read-only once created
INPUTS = (*CONNECTION, "project_id", *API_INPUTS)


def url_problem(url: str) -> str | None:
    """Why Label Studio would refuse `url` (or a token in it would sit in plain state); None if fine."""
    if len(url) > URL_LENGTH:
        return f"url is longer than {URL_LENGTH} characters"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "url holds whitespace or control characters"
    problem = http_url_problem(url)
    if problem:
        return f"url {problem}"
    parts = urlsplit(url)
    if "@" in parts.netloc:
        return "url holds credentials, which would sit in plain state; give them as a secret header instead"
    return _host_problem(parts.hostname or "")  # http_url_problem made sure there is one


def _host_problem(host: str) -> str | None:
    if ":" in host:  # an [IPv6] address: urlsplit checked its form
        return "url host has a zone index ('%...'), which Label Studio refuses" if "%" in host else None
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"url host {host[:40]!r} is not an IPv4 address (four numbers 0-255, no leading zeros)"
        return None
    if len(host) > 253 or not _HOST.fullmatch(host):
        return (f"url host {host[:80]!r} is not a host name Label Studio accepts: a DNS name with a dot and a "
                "last label of letters, e.g. hooks.example.com (a single-label service name is refused)")
    return None


def ipv6_problem(host: str) -> str | None:
    """Label Studio's SSRF protection (on in this stack) resolves a webhook's host with
    socket.gethostbyname, which knows IPv4 only: an IPv6 address is refused, never resolved."""
    if ":" in host:
        return ("url host is an IPv6 address, which Label Studio's SSRF check cannot resolve (IPv4 only); "
                "give a host name with an IPv4 address")
    return None


def actions_problems(actions: Any) -> list[str]:
    if not isinstance(actions, list | tuple):
        return ["actions must be a list of action names (empty: every action)"]
    problems = []
    for action in actions:
        if not is_known(action):
            continue
        if action in ORGANIZATION_ONLY:
            problems.append(f"action {action} is organization-only and Label Studio refuses it on a project webhook")
        elif action not in ACTIONS:
            problems.append(f"action {str(action)[:40]!r} is not one Label Studio 1.23.2 knows "
                            f"({', '.join(PROJECT_ACTIONS)})")
    counts = Counter(a for a in actions if isinstance(a, str) and is_known(a))  # linear: lists can be long
    duplicates = sorted(a for a, n in counts.items() if n > 1)
    if duplicates:
        problems.append(f"actions lists {', '.join(duplicates)} more than once")
    return problems


def header_label(name: str) -> str:
    """A header name for a message, quoted and shortened. A name holding ':' or '=' is a header line
    written as a name (`Authorization: Bearer <token>`): only the part before it is shown."""
    head = re.split(r"[:=]", name, maxsplit=1)[0]
    if head != name:
        return f"{head[:40]!r} (followed by {name[len(head)]!r} and a value, not shown)"
    return repr(name[:40])


def headers_problems(headers: Any) -> list[str]:
    """Problems naming headers only: a header value is never shown."""
    if not isinstance(headers, Mapping):
        return ["headers must be a mapping of header names to values"]
    problems = []
    if len(headers) > MAX_HEADERS:
        problems.append(f"headers holds {len(headers)} headers; Label Studio keeps at most {MAX_HEADERS}")
    names = Counter(str(name).lower() for name in headers if HEADER_NAME.fullmatch(str(name)))
    for name in sorted(n for n, count in names.items() if count > 1):  # requests keeps the last one only
        problems.append(f"header {name[:40]} is given more than once (header names ignore case), and only one "
                        "would be sent")
    for name, value in headers.items():
        valid = HEADER_NAME.fullmatch(str(name))
        label = str(name)[:40] if valid else header_label(str(name))
        if not valid:
            problems.append(f"header name {label} may hold only letters, digits, '-' and '_'")
        if not is_known(value):
            continue
        if not isinstance(value, str):
            problems.append(f"header {label} must have a text value")
        elif any(c in value for c in "\r\n\x00"):
            problems.append(f"header {label} holds a line break or NUL, so every delivery would fail "
                            "(the value is not shown)")
        elif value[:1].isspace():  # requests refuses it, and Label Studio logs the refusal with the value
            problems.append(f"header {label} starts with whitespace, which Label Studio's HTTP client refuses, "
                            "so every delivery would fail (the value is not shown)")
        elif not is_latin1(value):
            problems.append(f"header {label} holds characters outside Latin-1, which an HTTP header cannot "
                            "carry, so every delivery would fail (the value is not shown)")
        elif len(value) > HEADER_VALUE_LENGTH:
            problems.append(f"header {label} is longer than {HEADER_VALUE_LENGTH} characters")
    return problems


def input_failures(news: Mapping[str, Any]) -> list[CheckFailure]:
    """Every problem at once; values unknown during preview are skipped."""
    failures = connection_failures(news)

    def known(key: str) -> bool:
        return checkable(news, key)

    if news.get("url") is None:
        failures.append(CheckFailure("url", "url is required"))
    if news.get("project_id") is None:
        failures.append(CheckFailure("project_id", "project_id is required: Label Studio 1.23.2 refuses "
                                                   "organization-level webhooks over its API (404 Project not found)"))
    elif known("project_id") and (as_int(news["project_id"]) or 0) < 1:
        failures.append(CheckFailure("project_id", "project_id must be the id of a Label Studio project"))
    if known("url"):
        problem = url_problem(news["url"]) if isinstance(news["url"], str) else "url must be a string"
        problem = problem or ipv6_problem(urlsplit(news["url"]).hostname or "")
        if problem:
            failures.append(CheckFailure("url", problem))
    if known("actions"):
        failures.extend(CheckFailure("actions", p) for p in actions_problems(news["actions"]))
    if known("headers"):
        failures.extend(CheckFailure("headers", p) for p in headers_problems(news["headers"]))
    for key in ("send_payload", "is_active"):
        if known(key) and not isinstance(news[key], bool):
            failures.append(CheckFailure(key, f"{key} must be true or false"))
    return failures


def payload(props: Mapping[str, Any]) -> dict[str, Any]:
    """The whole managed state, actions always included (a PATCH without them resets them to [])."""
    actions = sorted(props.get("actions") or [])
    return {"project": as_int(props["project_id"]), "url": props["url"], "actions": actions,
            "send_for_all_actions": not actions, "headers": dict(props.get("headers") or {}),
            "send_payload": props.get("send_payload") is not False, "is_active": props.get("is_active") is not False}


def same(key: str, old: Any, new: Any) -> bool:
    """Equal as far as Label Studio is concerned (actions as a set; absent flags are true)."""
    if key == "actions":
        return sorted(old or []) == sorted(new or [])
    if key == "headers":
        return dict(old or {}) == dict(new or {})
    if key in ("send_payload", "is_active"):
        return (old is not False) == (new is not False)
    if key == "project_id":
        return as_int(old) == as_int(new)
    return bool(old == new)


def changed_inputs(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    return [k for k in INPUTS if not is_known(news.get(k)) or not same(k, olds.get(k), news.get(k))]


def outputs(props: Mapping[str, Any], webhook_id: int) -> dict[str, Any]:
    return {**{k: props[k] for k in INPUTS if k in props}, "webhook_id": webhook_id}


def live_actions(live: Mapping[str, Any]) -> list[str]:
    """What the webhook fires on, as declared: [] = every action. One that fires on nothing (what a
    PATCH without actions leaves behind) reads as ["NONE"], so it differs from any declaration."""
    if live.get("send_for_all_actions"):
        return []
    return sorted(live.get("actions") or []) or ["NONE"]


def live_outputs(props: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """State as Label Studio has it, field by field."""
    outs = outputs(props, int(live["id"]))
    outs.update({"project_id": live.get("project"), "url": live.get("url"), "headers": live.get("headers") or {},
                 "send_payload": live.get("send_payload"), "is_active": live.get("is_active"),
                 "actions": live_actions(live)})
    return outs


def drift(props: Mapping[str, Any], live_outs: Mapping[str, Any]) -> list[str]:
    return [k for k in ("project_id", *API_INPUTS) if not same(k, props.get(k), live_outs.get(k))]
