"""The README's policy rule table, generated from the rules' metadata (written and checked by
tools.config_reference, so it cannot drift)."""

from __future__ import annotations

import sys

from tools.plan import ROOT

sys.path.insert(0, str(ROOT / "policies"))
from rules import RULES  # isort: skip - the pack's import root

START, END = "<!-- policy-rules:start -->", "<!-- policy-rules:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    rows = ["| rule | level | severity | what it checks | why | how to fix |", "|---|---|---|---|---|---|"]
    for rule in RULES:
        scope = " (prod only)" if rule.production_only else ""
        options = "".join(f" Setting `{k}` (default `{v.get('default')}`)." for k, v in rule.options.items())
        rows.append(f"| `{rule.name}` | {rule.level}{scope} | {rule.severity} | {_cell(rule.description)} "
                    f"| {_cell(rule.why)} | {_cell(rule.remediation)}{_cell(options)} |")
    return "\n".join([START, *rows, END])


def replace(readme: str) -> str:
    head, found, rest = readme.partition(START)
    if not found:
        raise ValueError(f"README.md has no {START} marker")
    _, _, tail = rest.partition(END)
    return head + render() + tail
