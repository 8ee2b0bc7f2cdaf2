"""What a rule is, and the resource view every rule reads.

A rule is a pure function plus metadata. Resource rules see one resource; stack rules see all
of them. Both read properties in the engine's wire form: camelCase keys for Docker and
Kubernetes, snake_case for this project's dynamic resources, secrets still marked with Pulumi's
secret signature (see `wire.py`), numbers as floats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ADVISORY, MANDATORY, DISABLED = "advisory", "mandatory", "disabled"
LEVELS = (ADVISORY, MANDATORY, DISABLED)
SEVERITIES = ("low", "medium", "high", "critical")
ENVIRONMENTS = ("dev", "prod")
DEFAULT_ENVIRONMENT = "prod"  # fail closed: production rules are on unless a stack says it is dev


@dataclass(frozen=True)
class View:
    """One resource as a rule sees it (the same for the engine and the offline runner)."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool = False
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """A rule's configuration: `environment` plus the rule's own properties, defaults applied."""

    environment: str = DEFAULT_ENVIRONMENT
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def prod(self) -> bool:
        return self.environment == "prod"

    def get(self, key: str) -> Any:
        return self.values.get(key)


Finding = tuple[str, str | None]  # (message, urn of the offending resource or None for the stack)
ResourceCheck = Callable[[View, Config], Iterable[str]]
StackCheck = Callable[[Sequence[View], Config], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    name: str
    concern: str  # the module it lives in
    description: str  # what it checks (one line)
    why: str  # why a reviewer cares
    remediation: str  # how to fix
    severity: str
    level: str  # default enforcement level
    resource_check: ResourceCheck | None = None
    stack_check: StackCheck | None = None
    production_only: bool = False  # only checks when `environment` is prod
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # JSON schema per own property

    def __post_init__(self) -> None:
        assert (self.resource_check is None) != (self.stack_check is None), self.name
        assert self.level in LEVELS and self.severity in SEVERITIES, self.name

    @property
    def kind(self) -> str:
        return "resource" if self.resource_check else "stack"

    def schema(self) -> dict[str, dict[str, Any]]:
        """The pulumi-policy config schema properties (JSON schema) of this rule."""
        props: dict[str, dict[str, Any]] = {}
        if self.production_only:
            props["environment"] = {"type": "string", "enum": list(ENVIRONMENTS), "default": DEFAULT_ENVIRONMENT,
                                    "description": "dev or prod: this rule checks only in prod"}
        props.update({k: dict(v) for k, v in self.options.items()})
        return props

    def config(self, given: Mapping[str, Any] | None) -> Config:
        """Defaults from the schema, overridden by what the pack configuration gives."""
        merged = {k: v["default"] for k, v in self.schema().items() if "default" in v}
        merged.update({k: v for k, v in (given or {}).items() if k != "enforcementLevel"})
        return Config(environment=str(merged.pop("environment", DEFAULT_ENVIRONMENT)), values=merged)

    def findings(self, subject: View | Sequence[View], config: Config) -> list[Finding]:
        if self.production_only and not config.prod:
            return []
        if self.resource_check is not None:
            assert isinstance(subject, View)
            return [(message, subject.urn) for message in self.resource_check(subject, config)]
        assert self.stack_check is not None and not isinstance(subject, View)
        return list(self.stack_check(subject, config))


def rule(**kwargs: Any) -> Callable[[Callable[..., Any]], Rule]:
    """Decorator: `@rule(name=..., ...)` over a resource check (or `stack=True` for a stack check)."""
    stack = kwargs.pop("stack", False)

    def wrap(check: Callable[..., Any]) -> Rule:
        concern = check.__module__.rsplit(".", 1)[-1]
        if stack:
            return Rule(concern=concern, stack_check=check, **kwargs)
        return Rule(concern=concern, resource_check=check, **kwargs)

    return wrap
