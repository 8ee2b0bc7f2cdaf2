"""What a Project resource accepts, checked at preview (unknown values skipped), and how it maps to
Label Studio's API fields. Pure functions: the provider and its tests share them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure

from components.label_config import problems as label_config_problems
from components.providers.common import as_int, checkable, connection_failures, is_known

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
# resource input -> Label Studio API field (text fields; quality keys are API fields already)
TEXT_FIELDS = {"title": "title", "description": "description", "label_config": "label_config",
               "instructions": "expert_instruction", "color": "color"}
CONNECTION = ("api_url", "api_token", "health_timeout_seconds")
PROVIDER_ONLY = ("allow_delete_with_annotations",)  # never sent to Label Studio
INPUTS = (*CONNECTION, *TEXT_FIELDS, "quality", *PROVIDER_ONLY)
API_INPUTS = (*TEXT_FIELDS, "quality")  # a change to one of these needs a PATCH
TITLE_LENGTH = (3, 50)  # Label Studio's PROJECT_TITLE_MIN_LEN / MAX_LEN
COLOR = re.compile(r"#[0-9A-Fa-f]{6}")  # what the project colour picker stores (max_length 16)
DEFAULT_COLOR = "#FFFFFF"


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
    failures = connection_failures(news)

    def known(key: str) -> bool:
        return checkable(news, key)

    for key in ("title", "label_config"):
        if news.get(key) is None:
            failures.append(CheckFailure(key, f"{key} is required"))
        elif known(key) and (not isinstance(news[key], str) or not news[key]):
            failures.append(CheckFailure(key, f"{key} must be a non-empty string"))
    if known("title") and isinstance(news["title"], str):
        low, high = TITLE_LENGTH
        if not low <= len(news["title"]) <= high:
            failures.append(CheckFailure("title", f"title must be {low} to {high} characters long"))
    for key in ("description", "instructions", "color"):
        if known(key) and not isinstance(news[key], str):
            failures.append(CheckFailure(key, f"{key} must be a string"))
    if known("color") and isinstance(news["color"], str) and news["color"] and not COLOR.fullmatch(news["color"]):
        failures.append(CheckFailure("color", f"color {news['color'][:20]!r} must be #RRGGBB, e.g. #1F77B4"))
    if known("allow_delete_with_annotations") and not isinstance(news["allow_delete_with_annotations"], bool):
        failures.append(CheckFailure("allow_delete_with_annotations",
                                     "allow_delete_with_annotations must be true or false"))
    if known("label_config") and isinstance(news["label_config"], str):
        failures.extend(CheckFailure("label_config", f"label_config {p}")
                        for p in label_config_problems(news["label_config"]))
    quality = news.get("quality")
    if quality is not None and (isinstance(quality, dict) or is_known(quality)):  # known keys are checked
        failures.extend(CheckFailure("quality", p) for p in quality_problems(quality))
    return failures


def payload(props: Mapping[str, Any]) -> dict[str, Any]:
    """The whole managed state as API fields: every PATCH sends all of it (no partial drift)."""
    body: dict[str, Any] = {api: props.get(key) or "" for key, api in TEXT_FIELDS.items()}
    body["color"] = body["color"] or DEFAULT_COLOR
    body["show_instruction"] = bool(body["expert_instruction"])
    for key, value in (props.get("quality") or {}).items():
        body[key] = as_int(value) if QUALITY_TYPES[key] is int else value
    return body


def outputs(props: Mapping[str, Any], project_id: int) -> dict[str, Any]:
    return {**{k: props[k] for k in INPUTS if k in props}, "project_id": project_id}


def live_outputs(props: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """State as Label Studio has it, field by field, for what this resource manages (drift shows
    in the next diff)."""
    outs = outputs(props, int(live["id"]))
    for key, api in TEXT_FIELDS.items():
        value = live.get(api) or ""
        if key == "color" and value.upper() == DEFAULT_COLOR and not props.get("color"):
            value = ""  # Label Studio's default colour is what "no colour" means
        if key in props or value:
            outs[key] = value
    if props.get("quality") is not None:
        outs["quality"] = {key: live.get(key) for key in props["quality"]}
    return outs


def same(key: str, old: Any, new: Any) -> bool:
    """Equal as far as Label Studio is concerned: an absent text field is an empty one."""
    if key in TEXT_FIELDS:
        return (old or "") == (new or "")
    if key == "quality":
        return (old or {}) == (new or {})
    if key in PROVIDER_ONLY:  # absent in states written before the flag existed
        return bool(old) == bool(new)
    return bool(old == new)


def changed_inputs(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    return [k for k in INPUTS if not is_known(news.get(k)) or not same(k, olds.get(k), news.get(k))]
