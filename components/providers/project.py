"""A Label Studio project as a Pulumi dynamic resource.

Tracked by its numeric id, never by title: Label Studio allows duplicate titles and its title
filter is a substring match. All HTTP goes through `LabelStudioApi` (auth, retries, logs).
Destroy never loses labeled work unless `allow_delete_with_annotations` is true in the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi import Input, ResourceOptions
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from components.providers.api import Finder, LabelStudioApi, LabelStudioError, created_since
from components.providers.common import is_known
from components.providers.project_inputs import (
    API_INPUTS,
    changed_inputs,
    input_failures,
    live_outputs,
    outputs,
    payload,
    same,
)

RESOURCE = "labelstudio:Project"


def find_created(props: Mapping[str, Any]) -> Finder:
    """The project a POST that may have landed created: same title, config and description, made
    by the server since that POST was sent (its own clock). A twin made in that same second by
    someone else cannot be told apart; it would be identical anyway."""
    def find(api: LabelStudioApi, seconds_ago: float) -> dict[str, Any] | None:
        response = api.request("GET", "/api/projects/", params={"title": props["title"], "page_size": 100})
        if response.status_code != 200:
            raise api.refusal("look for a project the last attempt may have created", response)
        now = api.server_now(response)
        matches = [p for p in response.json().get("results", [])
                   if p.get("title") == props["title"] and p.get("label_config") == props["label_config"]
                   and (p.get("description") or "") == (props.get("description") or "")
                   and created_since(p, now, seconds_ago)]
        return max(matches, key=lambda p: int(p["id"])) if matches else None
    return find


def annotation_count(project: Mapping[str, Any]) -> int:
    """Labeled work a delete would lose: submitted and skipped annotations."""
    return sum(int(project.get(k) or 0) for k in ("total_annotations_number", "skipped_annotations_number"))


def _api(props: Mapping[str, Any], op: str) -> LabelStudioApi:
    return LabelStudioApi.for_props(props, RESOURCE, op)


class ProjectProvider(ResourceProvider):
    """Stateless: everything an operation needs arrives in its arguments."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, input_failures(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """From state alone. Only a new api_url replaces (another server = another project).

        Everything else updates in place: title, config, texts and quality by one PATCH; a rotated
        token, the timeout or the delete allowance only in the state (the new token has to reach
        the state, or later reads and the final delete would use a revoked one). An api_url not yet
        known in preview is shown as an update; the engine diffs again with the real value.
        """
        changed = changed_inputs(olds, news)
        replaces = ["api_url"] if "api_url" in changed and is_known(news.get("api_url")) else []
        stables = [k for k in ("api_url",) if k not in changed]
        return DiffResult(changes=bool(changed), replaces=replaces, stables=stables,
                          delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        with _api(props, "create") as api:
            response, adopted = api.create("/api/projects/", payload(props), find_created(props))
            if response is not None and response.status_code != 201:
                raise api.refusal("create the project", response)
            made = adopted if adopted is not None else response.json()  # type: ignore[union-attr]
            project_id = int(made["id"])
            api.log.event("created", project_id=project_id, adopted=adopted is not None)
        return CreateResult(str(project_id), outputs(props, project_id))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with _api(props, "read") as api:
            found = api.read_object(f"/api/projects/{int(id_)}/", "project", "project_id", int(id_))
            if found is None:
                return ReadResult("", {})  # an empty id tells the engine the project no longer exists
            live = live_outputs(props, found)
            api.report_drift("project_id", int(id_), [k for k in API_INPUTS if not same(k, props.get(k), live.get(k))])
            return ReadResult(id_, live)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        project = f"/api/projects/{int(id_)}/"
        with _api(news, "update") as api:
            if any(not same(k, olds.get(k), news.get(k)) for k in API_INPUTS):
                response = api.request("PATCH", project, json=payload(news))
                action = f"update project {int(id_)}"
            elif olds.get("api_token") != news.get("api_token"):  # prove the new token reaches it
                response = api.request("GET", project)
                action = f"read project {int(id_)} with the new token"
            else:  # timeout or delete allowance: state only, no call
                return UpdateResult(outputs(news, int(id_)))
            if response.status_code == 404:
                raise LabelStudioError(f"project {int(id_)} no longer exists in Label Studio; "
                                       "fix: run `pulumi refresh`, then `pulumi up` recreates it")
            if response.status_code != 200:
                raise api.refusal(action, response)
        return UpdateResult(outputs(news, int(id_)))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Never deletes labeled work unless the state allows it for this very project."""
        pk = int(id_)
        with _api(props, "delete") as api:
            project = api.request("GET", f"/api/projects/{pk}/")
            if project.status_code == 404:
                api.log.event("already_gone", project_id=pk)
                return
            if project.status_code != 200:
                raise api.refusal(f"read project {pk} before deleting it", project)
            annotations = annotation_count(project.json())
            if annotations and props.get("allow_delete_with_annotations") is not True:
                raise LabelStudioError(
                    f"project {pk} holds {annotations} annotations, which a delete would lose; "
                    "nothing was deleted. Fix: export them first; then either set "
                    "`allowDeleteWithAnnotations: true` in this project's seed file and run "
                    "`pulumi up` before deleting (the allowance must be in the state), or keep the "
                    "project and drop it from the stack with `pulumi state delete <urn>`")
            response = api.request("DELETE", f"/api/projects/{pk}/")
            if response.status_code not in (200, 204, 404):
                raise api.refusal(f"delete project {pk}", response)
            api.log.event("deleted" if response.status_code != 404 else "already_gone",
                          project_id=pk, annotations_deleted=annotations)


class Project(pulumi.dynamic.Resource, module="labelstudio", name="Project"):
    """A Label Studio project; `project_id` is its id. The token is always a secret."""

    project_id: pulumi.Output[int]
    api_url: pulumi.Output[str]
    title: pulumi.Output[str]
    description: pulumi.Output[str]
    label_config: pulumi.Output[str]
    instructions: pulumi.Output[str]
    color: pulumi.Output[str]
    quality: pulumi.Output[dict[str, Any]]
    allow_delete_with_annotations: pulumi.Output[bool]
    health_timeout_seconds: pulumi.Output[int]

    def __init__(self, resource_name: str, *, api_url: Input[str], api_token: Input[str],
                 title: Input[str], label_config: Input[str], description: Input[str] = "",
                 instructions: Input[str] = "", color: Input[str] = "",
                 quality: Mapping[str, Input[Any]] | None = None,
                 allow_delete_with_annotations: Input[bool] = False,
                 health_timeout_seconds: Input[int] = 300,
                 opts: ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {
            "api_url": api_url, "api_token": pulumi.Output.secret(api_token), "title": title,
            "description": description, "label_config": label_config, "instructions": instructions,
            "color": color, "quality": dict(quality) if quality is not None else None,
            "allow_delete_with_annotations": allow_delete_with_annotations,
            "health_timeout_seconds": health_timeout_seconds,
            "project_id": None,  # only keys present in the inputs become attributes
        }
        secret = ResourceOptions(additional_secret_outputs=["api_token"])
        super().__init__(ProjectProvider(), resource_name, props, ResourceOptions.merge(opts, secret))
