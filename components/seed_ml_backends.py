"""ML backend links in seed project files: which model servers a project asks for predictions.

A project file's `mlBackends:` is a list of entries:

    - title: Product classifier              # required: shown in Label Studio's model list
      url: https://models.example.com/photos  # optional; default: the stack's own ML backend
      description: First-choice baseline     # optional
      interactive: false                     # optional: interactive pre-annotations
      basicAuthUser: labeling                # optional, with basicAuthPasswordSecret
      basicAuthPasswordSecret: photos        # the name of the password in labelstudio:seedMlBackendPasswords
      extraParams: {threshold: 0.5}          # optional: handed to the backend's /setup

Label Studio (not `pulumi up`) calls the URL, so it must be an address Label Studio's SSRF
protection accepts: the stack's own backend (by its service name; the stack allows exactly its fixed
address) or a public one. Loopback and private IP literals are refused here, before any deploy.
Passwords never sit in a repo file: `labelstudio:seedMlBackendPasswords` is one secret JSON object.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from components import ssrf
from components.providers.common import is_latin1
from components.secret import Secret
from components.seed_files import Fail
from components.settings_checks import http_url, is_local_host, show, show_url

KEY = "mlBackends"
PASSWORDS_KEY = "seedMlBackendPasswords"
TITLE_LENGTH = 200
NAME_LENGTH = 256  # basic auth user: a Label Studio text column, and no ':' (HTTP Basic's separator)
MAX_EXTRA_PARAMS = 16 * 1024  # bytes of JSON: it is sent to the backend and kept in the state
_KEYS = {"title", "url", "description", "interactive", "basicAuthUser", "basicAuthPasswordSecret", "extraParams"}
EXAMPLE = "https://models.example.com/photos"


@dataclass(frozen=True)
class SeedMLBackendLink:
    source: str  # the project file and entry, e.g. "seed/projects/photos.yaml mlBackends[0]"
    title: str
    url: str  # "" = the stack's own ML backend (settings resolve it)
    description: str = ""
    interactive: bool = False
    basic_auth_user: str = ""
    password_name: str = ""  # the name in labelstudio:seedMlBackendPasswords
    extra_params: str = ""  # canonical JSON (sorted keys) or "": frozen and comparable
    password: Secret | None = None  # resolved from labelstudio:seedMlBackendPasswords by settings

    @property
    def extra_params_dict(self) -> dict[str, Any] | None:
        return json.loads(self.extra_params) if self.extra_params else None

    @property
    def slug(self) -> str:
        """For the Pulumi resource name: from the URL, so a new URL is a new link (Label Studio's
        webhook for a link is made for its first URL and never follows a change)."""
        parts = urlsplit(self.url)
        return re.sub(r"[^a-z0-9]+", "-", f"{parts.hostname}-{parts.port or ''}-{parts.path}".lower()).strip("-")


def load_links(doc: Mapping[Any, Any], where: str, fail: Fail) -> tuple[SeedMLBackendLink, ...]:
    """The `mlBackends` entries of one project file; each problem names the entry, key and fix."""
    raw = doc.get(KEY)
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        fail(f"{KEY} must be a list of mappings, not {show(raw)}; fix: write one `- title: ...` entry per backend")
        return ()
    links = [_link(entry, f"{where} {KEY}[{i}]", _prefixed(fail, f"{KEY}[{i}]: ")) for i, entry in enumerate(raw)]
    return tuple(link for link in links if link is not None)


def _prefixed(fail: Fail, prefix: str) -> Fail:
    return lambda message: fail(prefix + message)


def _link(entry: dict[Any, Any], source: str, bad: Fail) -> SeedMLBackendLink | None:
    problems: list[str] = []

    def fail(message: str) -> None:
        problems.append(message)
        bad(message)

    if "basicAuthPassword" in entry:  # its value is never shown
        fail("basicAuthPassword must not be written here (a repo file is not a secret store); fix: "
             "basicAuthPasswordSecret: <name>, and the password under that name in the secret "
             f"labelstudio:{PASSWORDS_KEY}")
    for key in sorted(set(entry) - _KEYS - {"basicAuthPassword"}, key=str):
        fail(f"unknown key {show(key)}; fix: use {', '.join(sorted(_KEYS))}")
    title = entry.get("title")
    if not isinstance(title, str) or not 1 <= len(title.strip()) <= TITLE_LENGTH:
        fail(f"title {show(title)} must be text of 1 to {TITLE_LENGTH} characters; fix: name the model")
        title = ""
    url = _url(entry.get("url"), fail)
    description = entry.get("description")
    description = "" if description is None else description  # false or 0 is a mistake, not "none"
    if not isinstance(description, str):
        fail(f"description {show(description)} must be text; fix: quote it")
    interactive = entry.get("interactive", False)
    if not isinstance(interactive, bool):
        fail(f"interactive {show(interactive)} must be true or false; fix: write true or false, unquoted")
    user, name = entry.get("basicAuthUser"), entry.get("basicAuthPasswordSecret")
    if (user is None) != (name is None):
        fail("basicAuthUser and basicAuthPasswordSecret go together; fix: give both (HTTP Basic auth) or neither")
    if user is not None and (not isinstance(user, str) or not user or ":" in user or len(user) > NAME_LENGTH
                             or not is_latin1(user)):
        fail(f"basicAuthUser {show(user)} must be a user name of 1 to {NAME_LENGTH} characters without ':', in "
             "Latin-1 (HTTP Basic auth carries no other); fix: quote it or shorten it")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        fail(f"basicAuthPasswordSecret {show(name)} must be a name; fix: e.g. basicAuthPasswordSecret: photos")
    extra = _extra_params(entry.get("extraParams"), fail)
    if problems:
        return None
    return SeedMLBackendLink(source, str(title).strip(), url, str(description), interactive is True,
                             str(user or ""), str(name or "").strip(), extra)


def _url(value: Any, fail: Fail) -> str:
    if value is None:
        return ""  # the stack's own backend
    if not isinstance(value, str):
        fail(f"url {show(value)} must be text; fix: e.g. url: {EXAMPLE}, or leave it out for the stack's backend")
        return ""
    url, problem = http_url(value.strip(), EXAMPLE)
    if problem:
        fail(f"url {show_url(value)} {problem}")
        return ""
    host = urlsplit(url).hostname or ""
    if is_local_host(host) or _banned_ip(host):
        fail(f"url {show(url)} is a loopback or private address, which Label Studio's SSRF protection refuses "
             "(and inside its container localhost is Label Studio itself); fix: leave url out to link the "
             "stack's own ML backend, or give an address Label Studio reaches that is not private")
        return ""
    return url


def _banned_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False  # a host name: only Label Studio can resolve it
    return ssrf.is_banned(host, ssrf.DEFAULT_BANNED)


def _extra_params(value: Any, fail: Fail) -> str:
    if value is None:
        return ""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        fail(f"extraParams {show(value)} must be a mapping with text keys; fix: e.g. extraParams: {{threshold: 0.5}}")
        return ""
    try:
        text = json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):  # dates, sets, NaN: not JSON
        fail("extraParams must hold only text, numbers, true/false, lists and mappings (it is sent as JSON); "
             "fix: quote dates and other values")
        return ""
    if len(text.encode()) > MAX_EXTRA_PARAMS:
        fail(f"extraParams is larger than {MAX_EXTRA_PARAMS // 1024} KiB as JSON; "
             "fix: keep large settings in the backend")
        return ""
    return text


def resolve_links(links: tuple[SeedMLBackendLink, ...], *, stack_url: str, stack_enabled: bool,
                  passwords: Mapping[str, Any], fail: Fail) -> tuple[SeedMLBackendLink, ...]:
    """A project's links with URLs and passwords filled in from the stack settings, one per backend
    (Label Studio makes one webhook per URL and project; the URL also names the Pulumi resource)."""
    resolved: list[SeedMLBackendLink] = []
    seen: dict[str, str] = {}
    for link in links:
        done = _resolve(link, stack_url=stack_url, stack_enabled=stack_enabled, passwords=passwords, fail=fail)
        if done is None:
            continue
        if done.slug in seen:
            fail(f"{done.source}: links {done.url} as {seen[done.slug]} does (or a URL that differs only in "
                 "punctuation or scheme); fix: keep one entry per backend")
            continue
        seen[done.slug] = done.source
        resolved.append(done)
    return tuple(resolved)


def _resolve(link: SeedMLBackendLink, *, stack_url: str, stack_enabled: bool,
             passwords: Mapping[str, Any], fail: Fail) -> SeedMLBackendLink | None:
    url = link.url or stack_url
    ok = True
    if url == stack_url and not stack_enabled:
        how = "has no url, so it links" if not link.url else "links"
        fail(f"{link.source}: {how} the stack's own ML backend ({stack_url}), but labelstudio:mlBackendEnabled "
             "is false; fix: set labelstudio:mlBackendEnabled: true (with labelstudio:mlBackendImage), "
             "or give url: the address of your backend")
        ok = False
    elif url != stack_url and urlsplit(url).hostname == urlsplit(stack_url).hostname:
        fail(f"{link.source}: url {show(url)} names the stack's ML backend service, which Label Studio reaches "
             f"at {stack_url} only (labelstudio:mlBackendPort); fix: leave url out to link it")
        ok = False
    password = None
    if link.password_name:
        value = passwords.get(link.password_name)
        if not isinstance(value, str) or not value or not is_latin1(value):
            found = ("is missing from" if link.password_name not in passwords else
                     "is not a non-empty text in" if not isinstance(value, str) or not value else
                     "is not Latin-1 text (all HTTP Basic auth carries) in")
            fail(f"{link.source}: basicAuthPasswordSecret {show(link.password_name)} {found} the secret "
                 f"labelstudio:{PASSWORDS_KEY} (the value is not shown); fix: `pulumi config set --secret "
                 f"""labelstudio:{PASSWORDS_KEY} '{{"{link.password_name[:40]}": "<password>"}}'`""")
            ok = False
        else:
            password = Secret(value)
    return replace(link, url=url, password=password) if ok else None
