"""A project's link to an ML backend (Label Studio's `/api/ml`) as a Pulumi dynamic resource.

Label Studio 1.23.2 facts this follows:
- Creating or changing a link makes Label Studio call `{url}/health`, then `{url}/setup`; an
  unreachable backend is refused (400 "Can't connect to ML backend"; an unresolvable host: 500
  "Can't resolve hostname") and nothing is saved. So "wait until the backend is up" is asked of
  Label Studio itself, which is where the URL must resolve (`pulumi up` may not reach an
  in-cluster address): the write is repeated until it is accepted, for `backend_wait_seconds`.
- Its SSRF protection refuses private and loopback addresses (403) unless the platform allowed them.
- Creating a link also makes a webhook to `{url}/webhook` (unless the project has one to that URL
  already); deleting the link leaves it. This provider records the webhook that came with the link
  (created with it, not before) and deletes it with the link, unless another link still uses it.
- Any write needs `url` and `project` in the body (a PATCH without them is a 500): PATCH sends all.
- Reading a link (`GET /api/ml/{id}`) makes Label Studio re-check the backend: `connection_state`
  says what it found (Connected, Disconnected, Error).
- Label Studio allows several links to one URL in a project; the seed allows one, so create adopts
  the project's link with the same URL and title if there is one (finder first), never a second.
Logs carry ids only; the API token and the basic auth password never reach a log, an error or plain state.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi import Input, ResourceOptions
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

if TYPE_CHECKING:
    import requests

from components.providers.api import Finder, LabelStudioApi, LabelStudioError
from components.providers.common import as_int, is_known
from components.providers.logs import safe_url
from components.providers.ml_backend_link_inputs import (
    API_INPUTS,
    REPLACES,
    SECRET_INPUTS,
    changed_inputs,
    input_failures,
    live_outputs,
    outputs,
    payload,
    same,
)

RESOURCE = "labelstudio:MLBackendLink"
DEFAULT_WAIT = 300.0
FIRST_WAIT, MAX_WAIT = 1.0, 10.0  # seconds between asking Label Studio again
_NOT_UP = ("Can't connect to ML backend", "Can't resolve hostname")  # Label Studio's words: nothing saved
_TAGS = re.compile(r"<[^>]+>")
Send = Callable[[], "tuple[requests.Response | None, Mapping[str, Any] | None]"]


def _reason(response: requests.Response) -> str:
    """Label Studio's own words, without HTML, shortened."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or f"HTTP {response.status_code}"
    errors = body.get("validation_errors") if isinstance(body, dict) else None
    if isinstance(errors, dict) and errors:
        text = "; ".join(" ".join(map(str, v)) if isinstance(v, list) else str(v) for v in errors.values())
    elif isinstance(body, dict) and body.get("detail"):
        text = str(body["detail"])
    else:
        text = str(body)
    return " ".join(_TAGS.sub("", text).split())[:600]


def _backend_not_up(response: requests.Response) -> bool:
    return response.status_code in (400, 500) and any(words in _reason(response) for words in _NOT_UP)


def _scrub(text: str, props: Mapping[str, Any]) -> str:
    for key in SECRET_INPUTS:
        secret = props.get(key)
        if isinstance(secret, str) and secret:
            text = text.replace(secret, "***")
    return text


def _refused(api: LabelStudioApi, action: str, response: requests.Response, props: Mapping[str, Any]) -> Exception:
    """A readable error: SSRF and backend-auth refusals say what to fix; the rest as Label Studio says."""
    reason = _scrub(_reason(response), props)
    url = safe_url(str(props.get("url", "")))
    if response.status_code == 403 and "reserved network address" in reason:
        return LabelStudioError(
            f"Label Studio refused to {action}: its SSRF protection blocks {url} ({reason}); fix: link the "
            "stack's own ML backend (its address is allowed), or give a URL that does not resolve to a "
            "private, loopback or link-local address")
    if "authentication parameters" in reason:
        return LabelStudioError(
            f"Label Studio refused to {action}: the ML backend at {url} answered 401 ({reason}); fix: check "
            "basicAuthUser and the password named by basicAuthPasswordSecret in labelstudio:seedMlBackendPasswords")
    if response.status_code in (401, 403):
        return api.refusal(action, response)  # Label Studio refused the token itself
    return LabelStudioError(_scrub(api.scrub(
        f"Label Studio refused to {action} (HTTP {response.status_code}): {reason}"), props))


def find_link(props: Mapping[str, Any]) -> Finder:
    """This very link, if the project has it already: same URL and title (the seed allows one link
    per URL in a project). Asked before the first POST (an earlier run may have made it and lost
    its answer, or been stopped before the state was written) and after a POST that may have landed;
    either way the link is adopted, never made twice."""
    def find(api: LabelStudioApi, _seconds_ago: float) -> dict[str, Any] | None:
        project = as_int(props["project_id"])
        response = api.request("GET", "/api/ml/", params={"project": project})
        if response.status_code == 404:
            raise LabelStudioError(f"project {project} does not exist in Label Studio; fix: run `pulumi refresh`, "
                                   "then `pulumi up` makes the project and its ML backend links again")
        if response.status_code != 200:
            raise api.refusal(f"list the ML backend links of project {project}", response)
        matches = [m for m in response.json() if m.get("url") == props["url"] and m.get("title") == props["title"]]
        return max(matches, key=lambda m: int(m["id"])) if matches else None
    return find


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def own_webhook(api: LabelStudioApi, link: Mapping[str, Any]) -> int | None:
    """The webhook Label Studio made with this link: to {url}/webhook, created after the link was.
    None when the project had one to that URL before (not ours to delete) or none was made."""
    try:
        response = api.request("GET", "/api/webhooks/", params={"project": int(link["project"])})
    except LabelStudioError:
        response = None
    if response is None or response.status_code != 200:  # the link exists: never fail its create now
        api.log.event("webhook_unknown", link_id=int(link["id"]))
        return None
    hook_url, made = str(link["url"]).rstrip("/") + "/webhook", _when(link.get("created_at"))
    for hook in response.json():
        when = _when(hook.get("created_at"))
        if hook.get("url") == hook_url and made is not None and when is not None and when >= made:
            return int(hook["id"])
    return None


def _api(props: Mapping[str, Any], op: str) -> LabelStudioApi:
    return LabelStudioApi.for_props(props, RESOURCE, op)


class MLBackendLinkProvider(ResourceProvider):
    """Stateless: everything an operation needs arrives in its arguments."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, input_failures(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """From state alone. Another server, project or backend URL replaces (new one first, then the
        old one and its webhook go); title, description, auth, interactivity and params update in
        place; a rotated token or a new wait only reach the state. Unknown values show as updates:
        the engine diffs again once they are known."""
        changed = changed_inputs(olds, news)
        replaces = [k for k in REPLACES if k in changed and is_known(news.get(k))]
        stables = [k for k in REPLACES if k not in changed]
        return DiffResult(changes=bool(changed), replaces=replaces, stables=stables, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        with _api(props, "create") as api:
            finder = find_link(props)
            link = finder(api, 0.0)
            if link is not None:
                api.log.event("adopted", object_id=int(link["id"]))
            else:
                link = self._write(api, props, "create the ML backend link",
                                   lambda: api.create("/api/ml/", payload(props), finder), accepted=201, finder=finder)
            webhook_id = own_webhook(api, link)
            api.log.event("created", link_id=int(link["id"]), project_id=int(link["project"]), webhook_id=webhook_id)
        return CreateResult(str(link["id"]), outputs(props, int(link["id"]), webhook_id, link.get("readable_state")))

    def _write(self, api: LabelStudioApi, props: Mapping[str, Any], action: str, send: Send, accepted: int,
               finder: Finder | None = None) -> dict[str, Any]:
        """Send the write until Label Studio accepts it, repeating it while Label Studio cannot reach
        the backend (nothing was saved then), for up to `backend_wait_seconds`. After any other 5xx
        a create may have saved the link before failing: `finder` looks for it before giving up."""
        wait = float(as_int(props.get("backend_wait_seconds")) or DEFAULT_WAIT)
        deadline, delay, tries = time.monotonic() + wait, FIRST_WAIT, 0
        while True:
            tries, sent = tries + 1, time.monotonic()
            response, adopted = send()
            if adopted is not None:
                return dict(adopted)
            assert response is not None  # nothing adopted: an answer
            if response.status_code == accepted:
                return dict(response.json())
            if not _backend_not_up(response):
                found = finder(api, time.monotonic() - sent) if finder and response.status_code >= 500 else None
                if found is not None:
                    api.log.event("adopted", object_id=int(found["id"]))
                    return dict(found)
                raise _refused(api, action, response, props)
            left = deadline - time.monotonic()
            if left <= 0:
                raise LabelStudioError(_scrub(
                    f"the ML backend at {safe_url(str(props['url']))} did not pass Label Studio's health check "
                    f"within {wait:.0f}s ({tries} tries; last: {_reason(response)}); nothing was created or "
                    "changed. Fix: check that the backend runs and that Label Studio reaches it at that URL "
                    "(in its network, by its service name), or raise labelstudio:seedMlBackendWaitSeconds", props))
            api.log.event("backend_not_up", attempt=tries, status=response.status_code,
                          wait_s=round(min(delay, left), 1))
            time.sleep(min(delay, left))
            delay = min(delay * 2, MAX_WAIT)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with _api(props, "read") as api:
            found = api.read_object(f"/api/ml/{int(id_)}", "ML backend link", "link_id", int(id_),
                                    lambda action, response: _refused(api, action, response, props))
            if found is None:
                return ReadResult("", {})  # an empty id tells the engine the link no longer exists
            live = live_outputs(props, found)
            api.report_drift("link_id", int(id_),
                             [k for k in ("project_id", *API_INPUTS) if not same(k, props.get(k), live.get(k))])
            return ReadResult(id_, live)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        path = f"/api/ml/{int(id_)}"
        with _api(news, "update") as api:
            if any(not same(k, olds.get(k), news.get(k)) for k in API_INPUTS):
                link = self._write(api, news, f"update ML backend link {int(id_)}", lambda: (
                    self._found(api.request("PATCH", path, json=payload(news)), id_), None), accepted=200)
                state = link.get("readable_state")
            elif olds.get("api_token") != news.get("api_token"):  # prove the new token reaches it
                response = self._found(api.request("GET", path), id_)
                if response.status_code != 200:
                    raise _refused(api, f"read ML backend link {int(id_)} with the new token", response, news)
                state = response.json().get("readable_state")
            else:  # timeouts only: state only, no call
                state = olds.get("connection_state")
        return UpdateResult(outputs(news, int(id_), as_int(olds.get("webhook_id")), state))

    @staticmethod
    def _found(response: requests.Response, id_: str) -> requests.Response:
        if response.status_code == 404:
            raise LabelStudioError(f"ML backend link {int(id_)} no longer exists in Label Studio; "
                                   "fix: run `pulumi refresh`, then `pulumi up` recreates it")
        return response

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Idempotent: a link or webhook already gone is done. The webhook that came with the link
        goes too, unless another link of the project uses the same backend URL."""
        pk = int(id_)
        with _api(props, "delete") as api:
            response = api.request("DELETE", f"/api/ml/{pk}")
            if response.status_code not in (200, 204, 404):
                raise _refused(api, f"delete ML backend link {pk}", response, props)
            api.log.event("deleted" if response.status_code != 404 else "already_gone", link_id=pk)
            webhook_id = as_int(props.get("webhook_id"))
            if webhook_id is None:
                return
            others = api.request("GET", "/api/ml/", params={"project": as_int(props.get("project_id"))})
            if others.status_code == 200 and any(m.get("url") == props.get("url") for m in others.json()):
                api.log.event("webhook_kept", webhook_id=webhook_id)  # another link still uses it
                return
            hook = api.request("DELETE", f"/api/webhooks/{webhook_id}/")
            if hook.status_code not in (200, 204, 404):
                raise _refused(api, f"delete webhook {webhook_id} of ML backend link {pk}", hook, props)
            api.log.event("webhook_deleted" if hook.status_code != 404 else "webhook_already_gone",
                          webhook_id=webhook_id)


class MLBackendLink(pulumi.dynamic.Resource, module="labelstudio", name="MLBackendLink"):
    """A project's link to an ML backend; `link_id` is its Label Studio id. The API token and the
    basic auth password are always secrets."""

    link_id: pulumi.Output[int]
    webhook_id: pulumi.Output[int | None]
    connection_state: pulumi.Output[str]
    project_id: pulumi.Output[int]
    url: pulumi.Output[str]
    title: pulumi.Output[str]

    def __init__(self, resource_name: str, *, api_url: Input[str], api_token: Input[str],
                 project_id: Input[int], url: Input[str], title: Input[str], description: Input[str] = "",
                 is_interactive: Input[bool] = False, basic_auth_user: Input[str] = "",
                 basic_auth_pass: Input[str] | None = None, extra_params: Input[dict[str, Any]] | None = None,
                 health_timeout_seconds: Input[int] = 300, backend_wait_seconds: Input[int] = 300,
                 opts: ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {
            "api_url": api_url, "api_token": pulumi.Output.secret(api_token), "project_id": project_id,
            "url": url, "title": title, "description": description, "is_interactive": is_interactive,
            "basic_auth_user": basic_auth_user,
            "basic_auth_pass": pulumi.Output.secret("" if basic_auth_pass is None else basic_auth_pass),
            "extra_params": extra_params, "health_timeout_seconds": health_timeout_seconds,
            "backend_wait_seconds": backend_wait_seconds,
            # only keys present in the inputs become attributes
            "link_id": None, "webhook_id": None, "connection_state": None,
        }
        secret = ResourceOptions(additional_secret_outputs=list(SECRET_INPUTS))
        super().__init__(MLBackendLinkProvider(), resource_name, props, ResourceOptions.merge(opts, secret))
