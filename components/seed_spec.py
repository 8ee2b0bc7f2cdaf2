"""Seed project files: what a labeling lead writes to describe a project.

A file (YAML) holds `title`, `description`, `instructions`, `color`, `labelConfig` or
`labelConfigFile` (relative to the file), `quality` settings in camelCase (they map to Label
Studio's API field names), `allowDeleteWithAnnotations`, and the project's `storages`, `webhooks`
and `mlBackends` (ML backend links), each checked by its own module (components/seed_storages.py,
seed_webhooks.py, seed_ml_backends.py). Files are read only from inside the repository
(components/seed_files.py); users are in components/seed_users.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components import label_config
from components.seed_files import UNREADABLE, Fail, parse_yaml, read_file
from components.seed_ml_backends import SeedMLBackendLink, load_links
from components.seed_storages import SeedStorage, parse_storages
from components.seed_webhooks import SeedWebhook, parse_webhooks
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
COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
# --- extension points: per-project lists whose providers live in components/providers/
# Per-project lists of things that hang off the project: key -> its checker, which makes typed entries.
_LISTS: dict[str, Any] = {"storages": parse_storages, "webhooks": parse_webhooks}
_KEYS = {"title", "description", "labelConfig", "labelConfigFile", "instructions", "color", "quality",
         "allowDeleteWithAnnotations", *_LISTS, "mlBackends"}


@dataclass(frozen=True)
class SeedProject:
    source: str  # the project file, as listed in the stack config
    title: str
    description: str
    label_config: str
    quality: tuple[tuple[str, Any], ...]  # (API field, value), sorted
    instructions: str = ""  # shown to annotators before they start (Label Studio's expert_instruction)
    color: str = ""  # "#RRGGBB"; empty = Label Studio's default
    allow_delete_with_annotations: bool = False  # destroy may delete this project's labeled work
    storages: tuple[SeedStorage, ...] = ()  # S3 import/export storages (components/seed_storages.py)
    webhooks: tuple[SeedWebhook, ...] = ()  # project webhooks (components/seed_webhooks.py)
    ml_backends: tuple[SeedMLBackendLink, ...] = ()  # mlBackends (components/seed_ml_backends.py)

    @property
    def quality_dict(self) -> dict[str, Any]:
        return dict(self.quality)


def resource_slug(path: str) -> str:
    """The project's Pulumi resource name is `project-<slug>`: from the file name, never the title."""
    stem = re.sub(r"\.ya?ml$", "", path.rsplit("/", 1)[-1])
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")


def load_seed_project(base_dir: Path, path: str) -> tuple[SeedProject | None, list[str]]:
    """Load and check one project file: (project, problems naming the file). The project is None when
    the file could not be read as a mapping; with problems it holds only what parsed (never deploy it)."""
    problems: list[str] = []
    where = path if path and path.isprintable() and len(path) <= 120 else show(path)

    def fail(message: str) -> None:
        problems.append(f"{where}: {message}")

    root = base_dir.resolve()
    if not resource_slug(path):
        fail("its file name has no letter or digit to name its Pulumi resource (project-<name>); "
             "fix: rename it, e.g. my-project.yaml")
    file, text, problem = read_file(root, root, path, "a path relative to the repo root")
    if problem:
        fail(problem)
        return None, problems
    doc = parse_yaml(text, fail)
    if doc is UNREADABLE:
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
    description, instructions, color = (_text(doc, key, fail) for key in ("description", "instructions", "color"))
    if color and not COLOR.fullmatch(color):
        fail(f"color {show(color)} is not a colour; fix: write #RRGGBB, e.g. '#1F77B4' (quoted: # starts a comment)")
    allow = doc.get("allowDeleteWithAnnotations", False)
    if not isinstance(allow, bool):
        fail(f"allowDeleteWithAnnotations {show(allow)} must be true or false; fix: write true or false, unquoted")

    config = _label_config(root, file, doc, fail)
    quality = _quality({} if doc.get("quality") is None else doc["quality"], fail)
    storages, webhooks = (_entries(doc, key, parse, fail) for key, parse in _LISTS.items())
    ml_backends = load_links(doc, where, fail)
    # With problems too: what did parse still goes through the stack-wide checks, so every problem
    # is reported at once (settings raise before any such project is used).
    return SeedProject(path, title.strip(), description, config, quality, instructions, color, allow is True,
                       storages, webhooks, ml_backends), problems


def _text(doc: dict[Any, Any], key: str, fail: Fail) -> str:
    value = doc.get(key)
    if value is None:  # `key:` with nothing after it: none
        return ""
    if not isinstance(value, str):  # e.g. `description: No`, a YAML boolean
        fail(f"{key} {show(value)} must be text; fix: quote it")
        return ""
    return value


def _entries(doc: dict[Any, Any], key: str, parse: Any, fail: Fail) -> tuple[Any, ...]:
    """The checked entries of one per-project list (storages, webhooks); () when absent or malformed."""
    raw = doc.get(key)
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        fail(f"{key} must be a list of mappings, not {show(raw)}; fix: write one `- key: value` entry per item")
        return ()
    return tuple(parse(raw, fail))


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
        _, inline, problem = read_file(root, file.parent, ref, "a path relative to this file")
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
