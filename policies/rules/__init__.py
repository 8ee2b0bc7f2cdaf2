"""The pack's rules, grouped by concern. Each is a pure function plus its metadata (rules/base.py).

Importable without the Pulumi engine: policies/__main__.py turns RULES into pulumi-policy
policies, and tools/policy.py runs the same rules over the offline plan.
"""

from __future__ import annotations

from rules import availability, data, labelstudio, network, secrets, workloads
from rules.base import Rule

MODULES = (workloads, network, secrets, labelstudio, data, availability)
RULES: tuple[Rule, ...] = tuple(v for m in MODULES for v in vars(m).values()
                                if isinstance(v, Rule) and v.concern == m.__name__.rsplit(".", 1)[-1])
BY_NAME = {r.name: r for r in RULES}
assert len(BY_NAME) == len(RULES), "rule names must be unique"
