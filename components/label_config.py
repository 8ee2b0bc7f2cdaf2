"""Local label-config checks that agree with Label Studio 1.23.2, run at preview time and offline.

They follow the server's own `validate_label_config` (label_studio/core/label_config.py), in its
order: XML without any DTD, the same JSON schema on the same badgerfish view of the XML (the schema
file ships in label-studio-sdk, identical to the server's), unique `name="..."` values and
existing `toName` targets (the same regular expressions on the re-serialized XML), and the SDK's
Video playback-speed rule. Where the server would accept, so do we: anything else it decides.

Any DTD or entity declaration is refused before parsing, so the parser is never open to XXE or
entity expansion (the server refuses them too).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import xmljson

_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_NAME = re.compile(r'name="([^"]*)"')  # the server's regex, case-sensitive: toName is not matched
_TO_NAME = re.compile(r'toName="([^"]*)"')
PLAYBACK_SPEED = (0.05, 10.0)  # label-studio-sdk's MIN/MAX_PLAYBACK_SPEED for <Video>


@functools.cache
def _schema() -> dict[str, Any]:
    spec = importlib.util.find_spec("label_studio_sdk")  # its file only: importing the SDK is slow
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("label-studio-sdk is not installed; install requirements.txt")
    path = Path(next(iter(spec.submodule_search_locations))) / "_legacy" / "schema" / "label_config_schema.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def problems(label_config: str) -> list[str]:
    """Everything wrong with `label_config` as Label Studio sees it; empty means it would accept it."""
    if not isinstance(label_config, str) or not label_config.strip():
        return ["is empty; fix: give a <View> label config"]
    if _DECLARATION.search(label_config):
        return ["declares a DTD or entity, which Label Studio refuses; fix: remove <!DOCTYPE>/<!ENTITY>"]
    try:
        root = ET.fromstring(label_config)  # noqa: S314 - no DTD can reach the parser (screened above)
    except ET.ParseError as err:
        return [f"is not well-formed XML ({err}); fix: correct the XML at that place"]
    found = _schema_problems(root)
    if found:
        return found  # the server stops at the first failing stage too
    cleaned = ET.tostring(root, encoding="unicode")
    found = _name_problems(cleaned)
    return found or _video_problems(root)


def _schema_problems(root: ET.Element) -> list[str]:
    document = xmljson.badgerfish.data(root)
    _wrap_single_choices(document)
    try:
        jsonschema.validate(document, _schema())
    except jsonschema.exceptions.ValidationError as exc:
        error = exc.context[0] if exc.context else exc  # as the server: the first failed sub-schema
        where = "".join(f"<{p}>" for p in error.absolute_path if isinstance(p, str))
        detail = error.message.replace("'@", "'").replace("@", "")
        return [f"{where or 'the root'}: {detail} (Label Studio's schema refuses it); "
                "fix: add it to that tag"]
    return []


def _wrap_single_choices(config: Any) -> None:
    """The server's `_fix_choices`: a lone <Choice> in a <Choices> is made a list before the schema."""
    if not isinstance(config, dict):
        return
    choices = config.get("Choices")
    if isinstance(choices, dict) and "Choice" in choices and not isinstance(choices["Choice"], list):
        choices["Choice"] = [choices["Choice"]]
    elif isinstance(choices, list) and all(isinstance(c, dict) and "Choice" in c for c in choices):
        for tag in choices:
            if not isinstance(tag["Choice"], list):
                tag["Choice"] = [tag["Choice"]]
    view = config.get("View")
    for nested in view if isinstance(view, list) else [view]:
        _wrap_single_choices(nested)


def _name_problems(cleaned: str) -> list[str]:
    names = _NAME.findall(cleaned)
    found = []
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        found.append(f"uses the name {', '.join(map(repr, twice))} on more than one tag, which Label Studio "
                     "refuses; fix: give every tag its own name")
    known = set(names)
    for to_name in _TO_NAME.findall(cleaned):
        for target in to_name.split(","):
            if target not in known:
                found.append(f'has toName="{target}", but no tag is named so; '
                             f"fix: use one of {', '.join(sorted(known)) or '(no names yet)'}")
    return found


def _video_problems(root: ET.Element) -> list[str]:
    low, high = PLAYBACK_SPEED
    found = []
    for video in root.iter("Video"):
        speeds: dict[str, float] = {}
        for attr in ("defaultPlaybackSpeed", "minPlaybackSpeed"):
            raw = video.attrib.get(attr)
            if raw is None:
                continue
            try:
                speeds[attr] = float(raw)
            except ValueError:
                found.append(f'<Video name="{video.get("name")}"> {attr}="{raw}" is not a number; fix: e.g. 1.0')
                continue
            if not low <= speeds[attr] <= high:
                found.append(f'<Video name="{video.get("name")}"> {attr}={raw} is outside {low} to {high}; '
                             "fix: choose a speed in that range")
        if speeds.get("minPlaybackSpeed", 0) > speeds.get("defaultPlaybackSpeed", high):
            found.append(f'<Video name="{video.get("name")}"> minPlaybackSpeed exceeds defaultPlaybackSpeed; '
                         "fix: lower minPlaybackSpeed")
    return found
