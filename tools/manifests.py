"""Kubernetes objects of a plan as the API server would receive them, one YAML file each.

    plan/<stack>/<kind>-<name>.yaml

Secret values are masked ("[secret]", key by key, so a Secret keeps its shape); whole
numbers are ints again (the mock runtime sends floats); auto-named objects carry the name the
provider would give them (logical name and a suffix). A Secret's data never reaches the files.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from tools.plan import Plan, Resource

MASK = "[secret]"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - Pulumi wire signature
SIG_KEY = "4dabf18193072939515e22adb298388d"


def _plain(value: Any, masked: bool = False) -> Any:
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return _plain(value.get("value"), True)
        return {k: _plain(v, masked) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, masked) for v in value]
    if masked:
        return MASK
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def manifest(resource: Resource) -> dict[str, Any]:
    """One object: apiVersion, kind, metadata (with its name), then the rest."""
    doc = _plain(resource.wire_inputs)
    metadata = dict(doc.pop("metadata", {}) or {})
    metadata["name"] = metadata.get("name") or (resource.outputs.get("metadata") or {}).get("name")
    return {"apiVersion": doc.pop("apiVersion"), "kind": doc.pop("kind"), "metadata": metadata, **doc}


def of(plan: Plan) -> dict[str, dict[str, Any]]:
    """File name -> manifest, for every Kubernetes object of the plan (not the provider)."""
    out: dict[str, dict[str, Any]] = {}
    for r in sorted(plan.resources, key=lambda r: r.urn):
        if r.type.startswith("kubernetes:") and r.custom:
            doc = manifest(r)
            name = re.sub(r"[^a-z0-9.-]+", "-", f"{doc['kind']}-{doc['metadata']['name']}".lower())
            out[f"{name}.yaml"] = doc
    return out


def write(plan: Plan, directory: Path) -> int:
    """Rewrites `directory` with the plan's manifests; how many were written."""
    docs = of(plan)
    shutil.rmtree(directory, ignore_errors=True)
    if not docs:
        return 0
    directory.mkdir(parents=True)
    for name, doc in docs.items():
        (directory / name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return len(docs)
