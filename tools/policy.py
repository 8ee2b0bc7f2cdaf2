"""Offline policy run: the pack's rules over the offline plan, no CLI, engine or cloud.

    python -m tools.policy dev                                  # config: policies/config/dev.json if present
    python -m tools.policy prod --config policies/config/prod.json
    python -m tools.policy ci --file path/to/Pulumi.ci.yaml --config my.json

The program runs under mocks (tools.plan.run). Each resource becomes the pulumi-policy argument
the engine would give the pack (ResourceValidationArgs; PolicyResource for stack policies) with
its inputs in wire form, secrets still marked, behind the SDK's unknown-checking proxy, and
the pack's own validate functions run on them. One line per violation; exit 1 on any mandatory
violation, 2 on a bad command line or pack configuration.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from components.config import InvalidSettings
from tools import stack_file
from tools.plan import ROOT, Plan, Resource, run

sys.path.insert(0, str(ROOT / "policies"))
from rules import BY_NAME, RULES
from rules.base import DEFAULT_ENVIRONMENT, ENVIRONMENTS, LEVELS, MANDATORY
from rules.pack import deserialize_keeping_secrets, to_policy

ENGINE_LEVELS = (*LEVELS, "remediate")  # the engine accepts remediate; our rules do not remediate
JSON_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "boolean": (bool,), "integer": (int,),
                                           "array": (list,), "number": (int, float)}


@dataclass(frozen=True)
class Violation:
    rule: str
    resource: str  # resource name, or the stack
    level: str
    message: str

    def line(self) -> str:
        return f"{self.level:<9} {self.rule:<36} {self.resource:<28} {self.message}"


class PackConfigError(ValueError):
    pass


def load_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise PackConfigError(f"{path}: {err}") from err
    problems = config_problems(config)
    if problems:
        raise PackConfigError(f"invalid policy pack config {path}:\n" + "\n".join(f"  - {p}" for p in problems))
    return dict(config)


def config_problems(config: Any) -> list[str]:
    """Every problem at once. Stricter than the engine, which silently ignores unknown names."""
    if not isinstance(config, dict):
        return ["the config must be a JSON object of rule names"]
    problems, environments = [], set()
    for key, value in config.items():
        if key != "all" and key not in BY_NAME:
            problems.append(f"{key}: no such rule; fix: use one of the names in the README rule table")
            continue
        given = value if isinstance(value, dict) else {"enforcementLevel": value}
        level = given.get("enforcementLevel")
        if level is not None and level not in ENGINE_LEVELS:
            problems.append(f"{key}.enforcementLevel: {level!r} is not one of {', '.join(LEVELS)}")
        if key == "all":
            if set(given) - {"enforcementLevel"}:
                problems.append("all: only enforcementLevel may be set for all rules")
            continue
        schema = BY_NAME[key].schema()
        for prop, prop_value in given.items():
            if prop == "enforcementLevel":
                continue
            spec = schema.get(prop)
            if spec is None:
                known = ", ".join(["enforcementLevel", *schema]) or "enforcementLevel"
                problems.append(f"{key}.{prop}: unknown setting; fix: use one of {known}")
            elif not isinstance(prop_value, JSON_TYPES[spec["type"]]) or (
                    spec["type"] in ("integer", "number") and isinstance(prop_value, bool)):
                problems.append(f"{key}.{prop}: {prop_value!r} is not a {spec['type']}")
            elif "enum" in spec and prop_value not in spec["enum"]:
                problems.append(f"{key}.{prop}: {prop_value!r} is not one of {', '.join(spec['enum'])}")
            if prop == "environment":
                environments.add(prop_value)
    left = sorted(r.name for r in RULES if r.production_only and "environment" not in _settings(config.get(r.name)))
    if environments and left:  # those keep the default: the pack's environment would be split
        environments.add(DEFAULT_ENVIRONMENT)
    if len(environments) > 1:
        unset = f"; left at the default {DEFAULT_ENVIRONMENT}: {', '.join(left)}" if left else ""
        problems.append(f"environment: rules disagree ({', '.join(sorted(map(str, environments)))}{unset}); "
                        f"fix: give every production-only rule the same one of {', '.join(ENVIRONMENTS)}")
    return problems


def _settings(value: Any) -> dict[str, Any]:
    """A rule's entry in a pack config as its settings (a bare level sets none)."""
    return value if isinstance(value, dict) else {}


def level_of(name: str, config: dict[str, Any]) -> str:
    """As the engine reconciles it: the rule's default, then `all`, then the rule's own entry."""
    level = BY_NAME[name].level
    for key in ("all", name):
        given = config.get(key)
        given = given.get("enforcementLevel") if isinstance(given, dict) else given
        level = given or level
    return MANDATORY if level == "remediate" else level


def _options(resource: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=resource.protect, ignore_changes=[], delete_before_replace=None,
                                 aliases=[], custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                                 additional_secret_outputs=[], parent=resource.parent or None)


def _props(wire: dict[str, Any]) -> Any:
    """What the analyzer hands a validation: deserialized (secrets kept marked), unknown-checking."""
    return unknown_checking_proxy(deserialize_keeping_secrets(wire))


def _stack_wire(resource: Resource) -> dict[str, Any]:
    """Stack policies see outputs: the inputs plus what only the provider returns (e.g. hardening)."""
    extra = {k: v for k, v in resource.outputs.items() if k not in resource.wire_inputs}
    return {**resource.wire_inputs, **extra}


def _own_config(name: str, config: dict[str, Any]) -> dict[str, Any] | None:
    given = config.get(name)
    return {k: v for k, v in given.items() if k != "enforcementLevel"} if isinstance(given, dict) else None


def _collector(found: list[Violation], rule: str, level: str, resource: str,
               names: dict[str, str]) -> Any:
    def report(message: str, urn: str | None = None) -> None:
        found.append(Violation(rule, names.get(urn or "", resource), level, message))
    return report


def evaluate(plan: Plan, config: dict[str, Any]) -> list[Violation]:
    """Every violation of the plan, each at the level the configuration gives its rule."""
    names = {r.urn: r.name for r in plan.resources}
    stack_resources = [PolicyResource(r.type, _props(_stack_wire(r)), r.urn, r.name, _options(r), None, None, [], {})
                       for r in plan.resources]
    by_urn = {r.urn: r for r in stack_resources}
    for resource, planned in zip(stack_resources, plan.resources, strict=True):
        resource.dependencies = [by_urn[u] for u in planned.dependencies if u in by_urn]
    found: list[Violation] = []
    for rule in RULES:
        level = level_of(rule.name, config)
        if level == "disabled":
            continue
        policy, own = to_policy(rule), _own_config(rule.name, config)
        if isinstance(policy, ResourceValidationPolicy):
            for r in plan.resources:
                args = ResourceValidationArgs(r.type, _props(r.wire_inputs), r.urn, r.name, _options(r), None, own)
                policy.validate(args, _collector(found, rule.name, level, r.name, names))
        else:
            policy.validate(StackValidationArgs(stack_resources, own), _collector(found, rule.name, level,
                                                                                  plan.stack, names))
    return found


def main(argv: list[str]) -> int:
    args = list(argv)
    options: dict[str, str] = {}
    while len(args) >= 2 and args[-2] in ("--config", "--file"):
        options[args[-2]] = args[-1]
        del args[-2:]
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m tools.policy <stack> [--file Pulumi.<stack>.yaml] [--config pack.json]",
              file=sys.stderr)
        return 2
    stack = args[0]
    path = Path(options.get("--file", ROOT / f"Pulumi.{stack}.yaml"))
    default_config = ROOT / "policies" / "config" / f"{stack}.json"
    config_path = Path(options["--config"]) if "--config" in options else (
        default_config if default_config.exists() else None)
    if not path.exists():
        print(f"no stack file {path}", file=sys.stderr)
        return 2
    try:
        config = load_config(config_path)
        plan = run(stack, path)
    except PackConfigError as err:
        print(str(err), file=sys.stderr)
        return 2
    except (InvalidSettings, stack_file.StackFileError) as err:
        print(str(err), file=sys.stderr)
        return 1
    violations = evaluate(plan, config)
    for v in sorted(violations, key=lambda v: (v.level != MANDATORY, v.rule, v.resource, v.message)):
        print(v.line())
    mandatory = sum(v.level == MANDATORY for v in violations)
    shown = config_path.relative_to(ROOT) if config_path and config_path.is_relative_to(ROOT) else config_path
    print(f"policy {stack} ({shown or 'default levels'}): {len(RULES)} rules, {len(plan.resources)} resources, "
          f"{mandatory} mandatory, {len(violations) - mandatory} advisory violation(s)")
    return 1 if mandatory else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
