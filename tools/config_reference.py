"""Writes (or checks) what is generated from components/settings.py DEFAULTS:
the typed `config:` block of Pulumi.yaml and the README configuration reference; and the README
policy rule table from the rules' metadata (tools/policy_reference.py).

    python -m tools.config_reference          # rewrite both
    python -m tools.config_reference --check  # exit 1 if either drifted
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from components.settings import DEFAULTS, SECRET_KEYS
from tools import policy_reference

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"

HEADER = """\
# Generated from components/settings.py by `make config-reference`: edit there, not here.
name: labelstudio
description: Label Studio (web, Postgres, Redis, S3 media, ML backend) on Docker or Kubernetes, seeded through its API.
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: .venv
"""


def config_type(default: Any) -> str:
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, int):
        return "integer"
    if isinstance(default, list):
        return "array"
    return "string"


def render_pulumi_yaml() -> str:
    lines = [HEADER.rstrip(), "config:"]
    for key, (default, description) in DEFAULTS.items():
        lines.append(f"  {key}:")
        kind = config_type(default)
        lines.append(f"    type: {kind}")
        if kind == "array":
            lines.append("    items:")
            lines.append("      type: string")
        # Pulumi requires a value for a declared key without a default, so every key has
        # one; a secret's "" means unset (settings then demands `config set --secret`).
        lines.append(f"    default: {json.dumps('' if default is None else default)}")
        lines.append(f"    description: {json.dumps(description)}")
    return "\n".join(lines) + "\n"


def render_reference() -> str:
    rows = ["| key | type | default | what it is |", "|---|---|---|---|"]
    for key, (default, description) in DEFAULTS.items():
        shown = "secret" if key in SECRET_KEYS else f"`{json.dumps(default)}`"
        rows.append(f"| `labelstudio:{key}` | {config_type(default)} | {shown} | {description} |")
    return "\n".join([START, *rows, END])


def replace_reference(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return head + render_reference() + tail


def main(argv: list[str]) -> int:
    check = "--check" in argv
    pulumi_yaml, readme = ROOT / "Pulumi.yaml", ROOT / "README.md"
    wanted = {pulumi_yaml: render_pulumi_yaml(),
              readme: policy_reference.replace(replace_reference(readme.read_text()))}
    drifted = [p.name for p, text in wanted.items() if p.read_text() != text]
    if check:
        for name in drifted:
            print(f"{name} is out of date with components/settings.py or the policy rules; "
                  "run `make config-reference`")
        return 1 if drifted else 0
    for path, text in wanted.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
