"""Reads a Pulumi.<stack>.yaml the way the Pulumi CLI does, for the offline plan.

- YAML 1.2 booleans: only true/false (Pulumi's Go parser reads `yes`/`on` as strings).
- Values reach the program as the engine passes them: strings, JSON text for lists/maps.
- `secure:` values need no passphrase: they become placeholder secrets.
- Mistakes the CLI would refuse (no `config:` map, keys without a namespace, YAML syntax, a key
  given twice)
  are reported here with the file and the fix, never as a traceback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from components.seed_files import UniqueKeyLoader

PLACEHOLDER = "plan-placeholder-secret"  # stands in for `secure:` values
TOP_LEVEL = {"config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"}


class StackFileError(ValueError):
    pass


class _Yaml12Loader(UniqueKeyLoader):
    """The safe loader with YAML 1.2 booleans, refusing a key given twice (YAML requires unique keys;
    PyYAML would silently keep the last one)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    _Yaml12Loader.yaml_implicit_resolvers.setdefault(_first, []).append(
        ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")))


def read(path: Path) -> tuple[dict[str, str], list[str]]:
    """(config as the engine passes it, the keys that were `secure:`)."""
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader) or {}  # noqa: S506 - safe loader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise StackFileError(f"{path.name}: not valid YAML{where}: {getattr(err, 'problem', err)}; "
                             "fix: correct it there (a key given twice: keep one)") from None
    if not isinstance(doc, dict):
        raise StackFileError(f"{path.name}: must be a mapping with a `config:` key")
    problems = [f"{path.name}: unknown top-level key {key!r}; fix: stack settings go under `config:`"
                for key in doc if key not in TOP_LEVEL]
    raw = doc.get("config") or {}
    if not isinstance(raw, dict):
        raise StackFileError(f"{path.name}: `config:` must be a mapping of namespace:key to value")
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in raw.items():
        if ":" not in str(key):
            problems.append(f"{path.name}: config key {key!r} has no namespace; fix: write labelstudio:{key}")
            continue
        if isinstance(value, dict) and set(value) == {"secure"}:
            value = PLACEHOLDER
            secret_keys.append(key)
        config[key] = _engine_value(value)
    if problems:
        raise StackFileError("\n".join(problems))
    return config, secret_keys


def _engine_value(value: Any) -> str:
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)
