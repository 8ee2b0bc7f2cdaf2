"""Seed webhooks: where Label Studio posts a project's events. Each entry of a project file's
`webhooks:` becomes a Webhook resource named `webhook-<project>-<name>` (components/providers/webhook.py):

    - name: qa-bot                  # optional, default "webhook"; unique in the project
      url: https://hooks.example.com/label-studio
      actions: [ANNOTATION_CREATED, ANNOTATION_UPDATED]   # optional; none or [] = every action
      headersSecret: qa-bot         # optional: headers from the secret config labelstudio:seedWebhookHeaders
      sendPayload: true             # false: only the action name is posted
      active: true                  # false: kept, but Label Studio posts nothing

Label Studio 1.23.2 makes project webhooks only (its API refuses organization-level ones). Headers
usually carry the receiver's credentials, so they never sit in a repo file:
`pulumi config set --secret labelstudio:seedWebhookHeaders '{"qa-bot": {"Authorization": "Bearer ..."}}'`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from components import settings_checks as checks
from components.providers.webhook_inputs import actions_problems, headers_problems, ipv6_problem, url_problem
from components.secret import Secret
from components.seed_entries import SECRET_NAME, Entry, secret_json_object, unique_names
from components.seed_files import Fail
from components.settings_checks import show

HEADERS_KEY = "seedWebhookHeaders"
_KEYS = ("name", "url", "actions", "headersSecret", "sendPayload", "active")
_EXAMPLE = '{"qa-bot": {"Authorization": "Bearer ..."}}'


@dataclass(frozen=True)
class SeedWebhook:
    name: str
    url: str
    actions: tuple[str, ...] = ()  # () = every action
    headers_secret: str | None = None  # a name in labelstudio:seedWebhookHeaders
    send_payload: bool = True
    active: bool = True


def parse_webhooks(raw: list[dict[Any, Any]], fail: Fail) -> tuple[SeedWebhook, ...]:
    """Every entry of a project file's `webhooks:`, each problem named by its index."""
    out = [w for i, entry in enumerate(raw) if (w := _webhook(Entry(f"webhooks[{i}]", entry, fail))) is not None]
    unique_names("webhook", [(f"webhooks[{i}]", w.name) for i, w in enumerate(out)], fail)
    return tuple(out)


def _webhook(e: Entry) -> SeedWebhook | None:
    e.unknown_keys(_KEYS)
    name = e.name("webhook")
    url = _url(e)
    actions = e.raw.get("actions")
    actions = [] if actions is None else actions  # only "none" means every action: false, '' or {} are mistakes
    for problem in actions_problems(actions):
        e.bad(f"{problem}; fix: list each action once, from those Label Studio knows (or none for every action)")
    secret = e.raw.get("headersSecret")
    if secret is not None and (not isinstance(secret, str) or not SECRET_NAME.fullmatch(secret)):
        e.bad(f"headersSecret {show(secret)} must name headers in labelstudio:{HEADERS_KEY}; fix: e.g. "
              "headersSecret: qa-bot")
        secret = None
    if "headers" in e.raw:
        e.bad(f"headers must not be written here (they usually carry credentials); fix: headersSecret: <name>, "
              f"and the headers under that name in the secret labelstudio:{HEADERS_KEY}")
    if url is None:
        return None
    return SeedWebhook(name=name, url=url, actions=tuple(sorted(a for a in actions if isinstance(a, str)))
                       if isinstance(actions, list) else (), headers_secret=secret,
                       send_payload=e.boolean("sendPayload", True), active=e.boolean("active", True))


def _url(e: Entry) -> str | None:
    value = e.raw.get("url")
    if not isinstance(value, str) or not value:
        e.bad(f"url {show(value)} is required text; fix: e.g. url: https://hooks.example.com/label-studio")
        return None
    problem = url_problem(value)
    host = "" if problem else (urlsplit(value).hostname or "")
    shown = checks.show_url(value)
    if problem:
        e.bad(f"url {shown}: {problem.removeprefix('url ')}; fix: e.g. https://hooks.example.com/label-studio")
    elif checks.is_local_host(host):
        e.bad(f"url {shown}: Label Studio's localhost is itself, and SSRF protection refuses it anyway; "
              "fix: the receiver's host name")
    elif checks.reserved_address(host):
        e.bad(f"url {shown} is a private or reserved address, which Label Studio's SSRF protection refuses "
              "(HTTP 403); fix: the receiver's public host name")
    elif ipv6_problem(host):
        e.bad(f"url {shown}: {str(ipv6_problem(host)).removeprefix('url ')}; fix: e.g. https://hooks.example.com/...")
    return value


def load_headers(secret: Secret | None, fail: Callable[[str], None]) -> dict[str, Secret]:
    """labelstudio:seedWebhookHeaders by name, each a Secret holding its headers as JSON."""
    found: dict[str, Secret] = {}
    for name, headers in secret_json_object(secret, HEADERS_KEY, _EXAMPLE, fail).items():
        for problem in headers_problems(headers):
            fail(f"{name}: {problem}; fix: correct it (`pulumi config set --secret labelstudio:{HEADERS_KEY} ...`)")
        found[name] = Secret(json.dumps(headers, sort_keys=True))  # a bad one fails the settings anyway
    return found


def stack_problems(projects: Iterable[tuple[str, tuple[SeedWebhook, ...]]], headers: Mapping[str, Secret],
                   fail: Callable[[str], None]) -> None:
    for source, webhooks in projects:
        for w in webhooks:
            if w.headers_secret is not None and w.headers_secret not in headers:
                fail(f"{source}: webhook {w.name}: headersSecret {w.headers_secret!r} names nothing in "
                     f"labelstudio:{HEADERS_KEY}; fix: `pulumi config set --secret labelstudio:{HEADERS_KEY} "
                     f"""'{{"{w.headers_secret}": {{"Authorization": "..."}}}}'`""")
