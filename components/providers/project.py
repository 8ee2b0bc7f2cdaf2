"""A Label Studio project as a Pulumi dynamic resource.

Tracked by its numeric id, never by title: Label Studio allows duplicate titles and its title
filter is a substring match. Talks to the REST API with the legacy token header
(`Authorization: Token <t>`), which the stack bootstraps for its admin user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi import Input, ResourceOptions
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from components.label_config import problems as label_config_problems
from components.providers.api import Finder, LabelStudioApi, LabelStudioError, created_since
from components.providers.common import as_int, is_known

RESOURCE = "labelstudio:Project"
SAMPLING = ("Sequential sampling", "Uniform sampling", "Uncertainty sampling")
QUALITY_TYPES: dict[str, type] = {
    "maximum_annotations": int,
    "overlap_cohort_percentage": int,
    "show_overlap_first": bool,
    "sampling": str,
    "show_ground_truth_first": bool,
    "show_skip_button": bool,
    "enable_empty_annotation": bool,
}
INPUTS = ("api_url", "api_token", "title", "description", "label_config", "quality",
          "health_timeout_seconds")
API_FIELDS = ("title", "description", "label_config", "quality")  # what a PATCH must carry
TITLE_LENGTH = (3, 50)  # Label Studio's PROJECT_TITLE_MIN_LEN / MAX_LEN


def quality_problems(quality: Any) -> list[str]:
    if not isinstance(quality, dict):
        return ["quality must be a mapping of Label Studio project fields"]
    problems = []
    for key, value in quality.items():
        expected = QUALITY_TYPES.get(key)
        if expected is None:
            problems.append(f"quality.{key} is not a known setting; use one of {', '.join(QUALITY_TYPES)}")
        elif not is_known(value):
            continue
        elif expected is int:
            number = as_int(value)
            if number is None:
                problems.append(f"quality.{key} must be a whole number, got {value!r}")
            elif key == "maximum_annotations" and number < 1:
                problems.append("quality.maximum_annotations must be at least 1")
            elif key == "overlap_cohort_percentage" and not 0 <= number <= 100:
                problems.append("quality.overlap_cohort_percentage must be between 0 and 100")
        elif not isinstance(value, expected):
            problems.append(f"quality.{key} must be a {expected.__name__}, got {value!r}")
        elif key == "sampling" and value not in SAMPLING:
            problems.append(f"quality.sampling must be one of {', '.join(SAMPLING)}; got {value!r}")
    return problems


def input_failures(news: Mapping[str, Any]) -> list[CheckFailure]:
    """Every problem with the inputs at once; unknown (preview) values are skipped."""
    failures: list[CheckFailure] = []

    def known(key: str) -> bool:
        return key in news and is_known(news[key])

    for key in ("api_url", "api_token", "title", "label_config"):
        if key not in news:
            failures.append(CheckFailure(key, f"{key} is required"))
        elif known(key) and (not isinstance(news[key], str) or not news[key]):
            failures.append(CheckFailure(key, f"{key} must be a non-empty string"))
    if known("api_url") and not str(news["api_url"]).startswith(("http://", "https://")):
        failures.append(CheckFailure("api_url", "api_url must start with http:// or https://"))
    if known("title") and isinstance(news["title"], str):
        low, high = TITLE_LENGTH
        if not low <= len(news["title"]) <= high:
            failures.append(CheckFailure("title", f"title must be {low} to {high} characters long"))
    if known("description") and not isinstance(news["description"], str):
        failures.append(CheckFailure("description", "description must be a string"))
    if known("label_config") and isinstance(news["label_config"], str):
        failures.extend(CheckFailure("label_config", f"label_config {p}")
                        for p in label_config_problems(news["label_config"]))
    if known("health_timeout_seconds"):
        timeout = as_int(news["health_timeout_seconds"])
        if timeout is None or not 1 <= timeout <= 3600:
            failures.append(CheckFailure("health_timeout_seconds", "health_timeout_seconds must be 1 to 3600"))
    quality = news.get("quality")
    if quality is not None and (isinstance(quality, dict) or is_known(quality)):  # known keys are checked
        failures.extend(CheckFailure("quality", p) for p in quality_problems(quality))
    return failures


def _payload(props: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {k: props.get(k, "") for k in ("title", "description", "label_config")}
    for key, value in (props.get("quality") or {}).items():
        body[key] = as_int(value) if QUALITY_TYPES[key] is int else value
    return body


def _outputs(props: Mapping[str, Any], project_id: int) -> dict[str, Any]:
    return {**{k: props[k] for k in INPUTS if k in props}, "project_id": project_id}


def _live_outputs(props: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """State as Label Studio has it, for the fields this resource manages (drift shows in diff)."""
    outs = _outputs(props, int(live["id"]))
    outs.update(title=live.get("title"), description=live.get("description") or "",
                label_config=live.get("label_config"))
    if "quality" in props:
        outs["quality"] = {key: live.get(key) for key in props["quality"]}
    return outs


def find_created(props: Mapping[str, Any]) -> Finder:
    """The project a POST that may have landed created: same title and config, made just now."""
    def find(api: LabelStudioApi, seconds_ago: float) -> dict[str, Any] | None:
        response = api.request("GET", "/api/projects/", params={"title": props["title"], "page_size": 100})
        if response.status_code != 200:
            raise api.refusal("look for a project the last attempt may have created", response)
        now = api.server_now(response)
        matches = [p for p in response.json().get("results", [])
                   if p.get("title") == props["title"] and p.get("label_config") == props["label_config"]
                   and created_since(p, now, seconds_ago)]
        return max(matches, key=lambda p: int(p["id"])) if matches else None
    return find


def _api(props: Mapping[str, Any], op: str) -> LabelStudioApi:
    return LabelStudioApi.for_props(props, RESOURCE, op)


class ProjectProvider(ResourceProvider):
    """Stateless: everything an operation needs arrives in its arguments."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, input_failures(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """From state alone. Only a new api_url replaces (another server = another project).

        A token change alone is an in-place update: the project must survive a rotation, and the
        new token has to reach the state or later reads and the final delete would use a revoked
        one. An api_url not yet known in preview is shown as an update; the engine diffs again
        with the real value before acting, and then replaces if it did change.
        """
        changed = [k for k in INPUTS if not is_known(news.get(k)) or olds.get(k) != news.get(k)]
        replaces = ["api_url"] if "api_url" in changed and is_known(news.get("api_url")) else []
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        with _api(props, "create") as api:
            response, adopted = api.create("/api/projects/", _payload(props), find_created(props))
            if response is not None and response.status_code != 201:
                raise api.refusal("create the project", response)
            project_id = int((adopted or response.json())["id"])  # type: ignore[union-attr]
            api.log.event("created", project_id=project_id, adopted=adopted is not None)
        return CreateResult(str(project_id), _outputs(props, project_id))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with _api(props, "read") as api:
            response = api.request("GET", f"/api/projects/{int(id_)}/")
            if response.status_code == 404:
                api.log.event("gone", project_id=int(id_))
                return ReadResult("", {})  # an empty id tells the engine the project no longer exists
            if response.status_code != 200:
                raise api.refusal(f"read project {int(id_)}", response)
            return ReadResult(id_, _live_outputs(props, response.json()))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        project = f"/api/projects/{int(id_)}/"
        with _api(news, "update") as api:
            if any(olds.get(k) != news.get(k) for k in API_FIELDS):
                response = api.request("PATCH", project, json=_payload(news))
                action = f"update project {int(id_)}"
            else:  # token or timeout only: prove the new token can still reach the project
                response = api.request("GET", project)
                action = f"read project {int(id_)} with the new token"
            if response.status_code != 200:
                raise api.refusal(action, response)
        return UpdateResult(_outputs(news, int(id_)))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Never deletes labeled work: a project holding annotations makes the delete fail."""
        with _api(props, "delete") as api:
            project = api.request("GET", f"/api/projects/{int(id_)}/")
            if project.status_code == 404:
                api.log.event("already_gone", project_id=int(id_))
                return
            if project.status_code != 200:
                raise api.refusal(f"read project {int(id_)} before deleting it", project)
            annotations = int(project.json().get("total_annotations_number") or 0)
            if annotations:
                raise LabelStudioError(
                    f"project {int(id_)} holds {annotations} annotations, which a delete would lose; "
                    "nothing was deleted. Fix: export them, then delete the project in Label Studio "
                    "and run `pulumi refresh`; or keep it and drop it from the stack with "
                    "`pulumi state delete <urn of this project>`")
            response = api.request("DELETE", f"/api/projects/{int(id_)}/")
            if response.status_code not in (200, 204, 404):
                raise api.refusal(f"delete project {int(id_)}", response)
            api.log.event("deleted" if response.status_code != 404 else "already_gone",
                          project_id=int(id_))


class Project(pulumi.dynamic.Resource, module="labelstudio", name="Project"):
    """A Label Studio project; `project_id` is its id. The token is always a secret."""

    project_id: pulumi.Output[int]
    api_url: pulumi.Output[str]
    title: pulumi.Output[str]
    description: pulumi.Output[str]
    label_config: pulumi.Output[str]
    quality: pulumi.Output[dict[str, Any]]
    health_timeout_seconds: pulumi.Output[int]

    def __init__(self, resource_name: str, *, api_url: Input[str], api_token: Input[str],
                 title: Input[str], label_config: Input[str], description: Input[str] = "",
                 quality: Mapping[str, Input[Any]] | None = None,
                 health_timeout_seconds: Input[int] = 300,
                 opts: ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {
            "api_url": api_url, "api_token": pulumi.Output.secret(api_token), "title": title,
            "description": description, "label_config": label_config,
            "quality": dict(quality) if quality is not None else None,
            "health_timeout_seconds": health_timeout_seconds,
            "project_id": None,  # only keys present in the inputs become attributes
        }
        secret = ResourceOptions(additional_secret_outputs=["api_token"])
        super().__init__(ProjectProvider(), resource_name, props, ResourceOptions.merge(opts, secret))
