"""Seed project files: what a labeling lead writes to describe a project.

A file (YAML) holds `title`, `description`, `labelConfig` or `labelConfigFile` (relative to
the file) and `quality` settings in camelCase; they map to Label Studio's API field names.
Project files and label configs are read only from inside the repository.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components import label_config
from components.settings_checks import show

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
# whole-number quality settings: (lowest, highest); Label Studio stores them as Postgres integers
QUALITY_RANGES = {"maximumAnnotations": (1, 2**31 - 1), "overlapCohortPercentage": (0, 100)}
SAMPLING = {
    "sequential": "Sequential sampling",
    "uniform": "Uniform sampling",
    "uncertainty": "Uncertainty sampling",
}
TITLE_LENGTH = (3, 50)  # Label Studio's PROJECT_TITLE_MIN_LEN / MAX_LEN
MAX_FILE_BYTES = 1024 * 1024  # a project file or label config; the label config also sits in state
MAX_YAML_DEPTH = 32  # a project file is a few levels deep; deeper is a mistake or an attack
_KEYS = {"title", "description", "labelConfig", "labelConfigFile", "quality"}

Fail = Callable[[str], None]
_UNREADABLE = object()  # _parse_yaml's answer for text that is not YAML (None is an empty file)


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


def resource_slug(path: str) -> str:
    """The project's Pulumi resource name is `project-<slug>`: from the file name, never the title."""
    stem = re.sub(r"\.ya?ml$", "", path.rsplit("/", 1)[-1])
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")


class _TooDeepError(Exception):
    """Raised by the loader when a document nests deeper than MAX_YAML_DEPTH."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key given twice in one mapping (PyYAML keeps the last one silently)."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Refuse deep nesting while composing, before Python's recursion limit is anywhere near."""
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _TooDeepError
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key_node.value[:40]!r} appears twice", key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


def load_seed_project(base_dir: Path, path: str) -> tuple[SeedProject | None, list[str]]:
    """Load and check one project file; returns (project or None, problems naming the file)."""
    problems: list[str] = []
    where = path if path and path.isprintable() and len(path) <= 120 else show(path)

    def fail(message: str) -> None:
        problems.append(f"{where}: {message}")

    root = base_dir.resolve()
    if not resource_slug(path):
        fail("its file name has no letter or digit to name its Pulumi resource (project-<name>); "
             "fix: rename it, e.g. my-project.yaml")
    file, text, problem = _read(root, root, path, "a path relative to the repo root")
    if problem:
        fail(problem)
        return None, problems
    doc = _parse_yaml(text, fail)
    if doc is _UNREADABLE:
        return None, problems
    if not isinstance(doc, dict):
        fail("must be a mapping with title and labelConfig; fix: see seed/projects/ for examples")
        return None, problems
    for key in sorted(set(doc) - _KEYS, key=str):
        fail(f"unknown key {show(key)}; fix: use {', '.join(sorted(_KEYS))}")

    title = doc.get("title")
    low, high = TITLE_LENGTH
    if not isinstance(title, str) or not low <= len(title.strip()) <= high:
        fail(f"title {show(title)} must be text of {low} to {high} characters (Label Studio refuses others); "
             "fix: write such a title")
        title = ""
    description = doc.get("description")
    if description is None:  # `description:` with nothing after it: none
        description = ""
    elif not isinstance(description, str):  # e.g. `description: No`, a YAML boolean
        fail(f"description {show(description)} must be text; fix: quote it")
        description = ""

    config = _label_config(root, file, doc, fail)
    quality = _quality({} if doc.get("quality") is None else doc["quality"], fail)
    if problems:
        return None, problems
    return SeedProject(path, title.strip(), description, config, quality), problems


def _read(root: Path, base: Path, path: str, hint: str) -> tuple[Path, str, str | None]:
    """(file, its text, problem): `path` relative to `base`, which must stay inside `root`."""
    if "\x00" in path:
        return base, "", f"the path holds a NUL character; fix: give {hint}"
    try:
        file = (base / path).resolve()
    except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop
        return base, "", f"cannot be resolved ({err}); fix: give {hint}"
    if not file.is_relative_to(root):
        return file, "", f"is outside the repository; fix: keep it in the repo and give {hint}"
    try:
        if file.exists() and not file.is_file():
            return file, "", f"is not a regular file; fix: give {hint}"
        with file.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        return file, "", f"cannot be read ({err.strerror}); fix: give {hint}"
    if len(data) > MAX_FILE_BYTES:
        return file, "", f"is larger than {MAX_FILE_BYTES // 1024} KiB; fix: shorten it"
    try:
        return file, data.decode("utf-8"), None
    except UnicodeDecodeError as err:
        return file, "", f"is not UTF-8 text (byte {data[err.start]:#04x} at offset {err.start}); fix: save it as UTF-8"


def _parse_yaml(text: str, fail: Fail) -> Any:
    """The document, or _UNREADABLE with the problem recorded (one line, no quoted source)."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        fail(f"is not valid YAML{at} ({err.problem or err.context}); fix: correct the syntax")
    except yaml.YAMLError as err:
        fail(f"is not valid YAML ({' '.join(str(err).split())}); fix: correct the syntax")
    except _TooDeepError:
        fail(f"nests more than {MAX_YAML_DEPTH} levels deep; fix: flatten it")
    return _UNREADABLE


def _label_config(root: Path, file: Path, doc: dict[Any, Any], fail: Fail) -> str:
    inline, ref = doc.get("labelConfig"), doc.get("labelConfigFile")
    if (inline is None) == (ref is None):
        fail("has both or neither of labelConfig and labelConfigFile; "
             "fix: give exactly one of labelConfig (inline XML) or labelConfigFile (a path)")
        return ""
    if ref is not None:
        if not isinstance(ref, str):
            fail(f"labelConfigFile {show(ref)} must be a path; fix: give a path relative to this file")
            return ""
        _, inline, problem = _read(root, file.parent, ref, "a path relative to this file")
        if problem:
            fail(f"labelConfigFile {show(ref)} {problem}")
            return ""
    where = f"labelConfigFile {ref}" if ref is not None else "labelConfig"
    if not isinstance(inline, str):
        fail(f"{where} must be text; fix: write the XML as a YAML block (labelConfig: |)")
        return ""
    for problem in label_config.problems(inline):
        fail(f"{where} {problem}")
    return inline


def _quality(raw: Any, fail: Fail) -> tuple[tuple[str, Any], ...]:
    if not isinstance(raw, dict):
        fail(f"quality must be a mapping of settings, not {show(raw)}; fix: e.g. quality: {{maximumAnnotations: 1}}")
        return ()
    out: list[tuple[str, Any]] = []
    for key, value in raw.items():
        if key not in QUALITY_FIELDS:
            fail(f"quality.{str(key)[:40]} is unknown; fix: use {', '.join(QUALITY_FIELDS)}")
            continue
        api_name, kind = QUALITY_FIELDS[key]
        if key == "sampling":
            if not isinstance(value, str) or value not in SAMPLING:
                fail(f"quality.sampling {show(value)} is not one of {', '.join(SAMPLING)}; fix: use one of them")
                continue
            value = SAMPLING[value]
        elif kind is bool and not isinstance(value, bool):
            fail(f"quality.{key} {show(value)} must be true or false; fix: write true or false, unquoted")
            continue
        elif kind is int:
            low, high = QUALITY_RANGES[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                fail(f"quality.{key} {show(value)} must be a whole number from {low} to {high}; fix: set one")
                continue
        out.append((api_name, value))
    return tuple(sorted(out))
