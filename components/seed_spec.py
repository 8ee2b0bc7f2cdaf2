"""Seed project files: what a labeling lead writes to describe a project.

A file (YAML) holds `title`, `description`, `labelConfig` or `labelConfigFile` (relative to
the file) and `quality` settings in camelCase; they map to Label Studio's API field names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components import label_config

# camelCase key in a project file -> (Label Studio API field, accepted type)
QUALITY_FIELDS: dict[str, tuple[str, type]] = {
    "maximumAnnotations": ("maximum_annotations", int),
    "overlapCohortPercentage": ("overlap_cohort_percentage", int),
    "showOverlapFirst": ("show_overlap_first", bool),
    "sampling": ("sampling", str),
    "showGroundTruthFirst": ("show_ground_truth_first", bool),
    "showSkipButton": ("show_skip_button", bool),
    "enableEmptyAnnotation": ("enable_empty_annotation", bool),
}
SAMPLING = {
    "sequential": "Sequential sampling",
    "uniform": "Uniform sampling",
    "uncertainty": "Uncertainty sampling",
}
_KEYS = {"title", "description", "labelConfig", "labelConfigFile", "quality"}


@dataclass(frozen=True)
class SeedProject:
    source: str  # the project file, as listed in the stack config
    title: str
    description: str
    label_config: str
    quality: tuple[tuple[str, Any], ...]  # (API field, value), sorted

    @property
    def quality_dict(self) -> dict[str, Any]:
        return dict(self.quality)


def load_seed_project(base_dir: Path, path: str) -> tuple[SeedProject | None, list[str]]:
    """Load and check one project file; returns (project or None, problems naming the file)."""
    file = (base_dir / path).resolve()
    problems: list[str] = []

    def fail(message: str) -> None:
        problems.append(f"{path}: {message}")

    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as err:
        fail(f"cannot be read ({err.strerror}); fix: give a path relative to the repo root")
        return None, problems
    except yaml.YAMLError as err:
        fail(f"is not valid YAML ({err}); fix: correct the syntax")
        return None, problems
    if not isinstance(doc, dict):
        fail("must be a mapping with title and labelConfig; fix: see seed/projects/ for examples")
        return None, problems
    for key in sorted(set(doc) - _KEYS):
        fail(f"unknown key {key!r}; fix: use {', '.join(sorted(_KEYS))}")

    title = doc.get("title")
    if not isinstance(title, str) or len(title.strip()) < 3:
        fail(f"title {title!r} must be text of at least 3 characters (Label Studio refuses shorter)")
        title = ""
    description = doc.get("description", "")
    if not isinstance(description, str):
        fail("description must be text")
        description = ""

    config = _label_config(file, doc, fail)
    quality = _quality(doc.get("quality") or {}, fail)
    if problems:
        return None, problems
    return SeedProject(path, title.strip(), description, config, quality), problems


def _label_config(file: Path, doc: dict[str, Any], fail: Any) -> str:
    inline, ref = doc.get("labelConfig"), doc.get("labelConfigFile")
    if (inline is None) == (ref is None):
        fail("give exactly one of labelConfig (inline XML) or labelConfigFile (a path)")
        return ""
    if ref is not None:
        try:
            inline = (file.parent / str(ref)).read_text(encoding="utf-8")
        except OSError as err:
            fail(f"labelConfigFile {ref!r} cannot be read ({err.strerror}); fix: path relative to this file")
            return ""
    where = f"labelConfigFile {ref}" if ref is not None else "labelConfig"
    if not isinstance(inline, str):
        fail(f"{where} must be text")
        return ""
    for problem in label_config.problems(inline):
        fail(f"{where} {problem}")
    return inline


def _quality(raw: Any, fail: Any) -> tuple[tuple[str, Any], ...]:
    if not isinstance(raw, dict):
        fail("quality must be a mapping of settings")
        return ()
    out: list[tuple[str, Any]] = []
    for key, value in raw.items():
        if key not in QUALITY_FIELDS:
            fail(f"quality.{key} is unknown; fix: use {', '.join(QUALITY_FIELDS)}")
            continue
        api_name, kind = QUALITY_FIELDS[key]
        if key == "sampling":
            if value not in SAMPLING:
                fail(f"quality.sampling {value!r} is not one of {', '.join(SAMPLING)}")
                continue
            value = SAMPLING[value]
        elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            fail(f"quality.{key} {value!r} must be {kind.__name__}")
            continue
        elif key == "overlapCohortPercentage" and isinstance(value, int) and not 0 <= value <= 100:
            fail(f"quality.{key} {value} must be from 0 to 100")
            continue
        elif key == "maximumAnnotations" and isinstance(value, int) and value < 1:
            fail(f"quality.{key} {value} must be at least 1")
            continue
        out.append((api_name, value))
    return tuple(sorted(out))
