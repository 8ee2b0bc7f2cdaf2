"""A Label Studio project webhook as a Pulumi dynamic resource (facts: providers/webhook_inputs.py).

Every update sends the whole state, the action list included (Label Studio resets the actions to []
when a PATCH omits them). Headers usually carry the receiver's credentials: they are a secret input
and output, never logged, never in an error. Logs carry ids only (no URL, header or action).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi import Input, ResourceOptions
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from components.providers import webhook_inputs as inputs
from components.providers.api import Finder, LabelStudioApi, LabelStudioError, created_since
from components.providers.common import is_known

RESOURCE = "labelstudio:Webhook"
COLLECTION = "/api/webhooks/"


def _detail(pk: int) -> str:
    return f"/api/webhooks/{pk}/"


def find_created(props: Mapping[str, Any]) -> Finder:
    """The webhook a POST that may have landed made: same project, URL and actions, created by the
    server since that POST was sent (its own clock)."""
    wanted = inputs.payload(props)

    def find(api: LabelStudioApi, seconds_ago: float) -> dict[str, Any] | None:
        response = api.request("GET", COLLECTION, params={"project": wanted["project"]})
        if response.status_code != 200:
            raise api.refusal("look for a webhook the last attempt may have created", response)
        now = api.server_now(response)
        matches = [w for w in response.json()
                   if w.get("project") == wanted["project"] and w.get("url") == wanted["url"]
                   and inputs.live_actions(w) == (wanted["actions"] or [])
                   and created_since(w, now, seconds_ago)]
        return max(matches, key=lambda w: int(w["id"])) if matches else None
    return find


def _refusal(api: LabelStudioApi, action: str, response: Any, headers: Mapping[str, Any] | None) -> LabelStudioError:
    """Label Studio echoes the headers it refuses: their values are masked like the token."""
    return api.refusal(action, response, hide=(headers or {}).values())


def _api(props: Mapping[str, Any], op: str) -> LabelStudioApi:
    return LabelStudioApi.for_props(props, RESOURCE, op)


class WebhookProvider(ResourceProvider):
    """Stateless: everything an operation needs arrives in its arguments."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, inputs.input_failures(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """From state alone: another server or project replaces (Label Studio keeps a webhook's
        project read-only); URL, actions, headers and flags update in place."""
        changed = inputs.changed_inputs(olds, news)
        replaces = [k for k in inputs.REPLACES if k in changed and is_known(news.get(k))]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False,
                          stables=[k for k in inputs.REPLACES if k not in changed])

    def create(self, props: dict[str, Any]) -> CreateResult:
        with _api(props, "create") as api:
            response, adopted = api.create(COLLECTION, inputs.payload(props), find_created(props))
            if response is not None and response.status_code != 201:
                raise _refusal(api, "create the webhook", response, props.get("headers"))
            made = adopted if adopted is not None else response.json()  # type: ignore[union-attr]
            pk = int(made["id"])
            api.log.event("created", webhook_id=pk, adopted=adopted is not None)
        return CreateResult(str(pk), inputs.outputs(props, pk))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        pk = int(id_)
        with _api(props, "read") as api:
            found = api.read_object(_detail(pk), "webhook", "webhook_id", pk)
            if found is None:
                return ReadResult("", {})  # an empty id tells the engine the webhook no longer exists
            live = inputs.live_outputs(props, found)
            api.report_drift("webhook_id", pk, inputs.drift(props, live))
        return ReadResult(id_, live)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        pk = int(id_)
        with _api(news, "update") as api:
            if any(not inputs.same(k, olds.get(k), news.get(k)) for k in inputs.API_INPUTS):
                response = api.request("PATCH", _detail(pk), json=inputs.payload(news))
                action = f"update webhook {pk}"
            elif olds.get("api_token") != news.get("api_token"):  # prove the new token reaches it
                response = api.request("GET", _detail(pk))
                action = f"read webhook {pk} with the new token"
            else:  # the timeout only: state, no call
                return UpdateResult(inputs.outputs(news, pk))
            if response.status_code == 404:
                raise LabelStudioError(f"webhook {pk} no longer exists in Label Studio; "
                                       "fix: run `pulumi refresh`, then `pulumi up` recreates it")
            if response.status_code != 200:
                raise _refusal(api, action, response, news.get("headers"))
        return UpdateResult(inputs.outputs(news, pk))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        pk = int(id_)
        with _api(props, "delete") as api:
            api.delete_object(_detail(pk), "webhook", "webhook_id", pk)


class Webhook(pulumi.dynamic.Resource, module="labelstudio", name="Webhook"):
    """A webhook of a project; `webhook_id` is its id. Token and headers are secret."""

    webhook_id: pulumi.Output[int]
    project_id: pulumi.Output[int]
    url: pulumi.Output[str]
    actions: pulumi.Output[list[str]]
    is_active: pulumi.Output[bool]

    def __init__(self, resource_name: str, *, api_url: Input[str], api_token: Input[str], project_id: Input[int],
                 url: Input[str], actions: Sequence[str] = (), headers: Input[Mapping[str, str]] | None = None,
                 send_payload: Input[bool] = True, is_active: Input[bool] = True,
                 health_timeout_seconds: Input[int] = 300, opts: ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {
            "api_url": api_url, "api_token": pulumi.Output.secret(api_token),
            "health_timeout_seconds": health_timeout_seconds, "project_id": project_id, "url": url,
            "actions": sorted(actions), "headers": pulumi.Output.secret(headers if headers is not None else {}),
            "send_payload": send_payload, "is_active": is_active, "webhook_id": None,
        }
        secrets = ResourceOptions(additional_secret_outputs=["api_token", "headers"])
        super().__init__(WebhookProvider(), resource_name, props, ResourceOptions.merge(opts, secrets))
