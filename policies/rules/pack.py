"""The bridge between the rules and pulumi-policy: views of its arguments, and Policy objects.

pulumi-policy 1.21 hands validations their properties with secrets already unwrapped, so a
policy cannot tell a secret from plain text (pulumi/pulumi-policy#241). The engine does send
them marked; `keep_secret_markers` keeps the marks for validations (remediations still get the
SDK's own secret proxies), so the pack sees exactly the wire form the offline runner reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import deserialize as _deserialize
from pulumi_policy import policy as _policy

from rules import RULES
from rules.base import Rule, View
from rules.wire import SECRET_SIG, SIG_KEY

PACK_NAME = "labelstudio-security"
_SDK_DESERIALIZE = _policy.deserialize_properties


def view_of(resource: ResourceValidationArgs | PolicyResource) -> View:
    dependencies = getattr(resource, "dependencies", None) or []
    return View(type=resource.resource_type, name=resource.name, urn=resource.urn, props=resource.props,
                protect=bool(resource.opts.protect), dependencies=tuple(d.urn for d in dependencies))


def to_policy(rule: Rule) -> ResourceValidationPolicy | StackValidationPolicy:
    common: dict[str, Any] = dict(
        name=rule.name, description=rule.description, enforcement_level=EnforcementLevel(rule.level),
        config_schema=PolicyConfigSchema(rule.schema()), severity=Severity(rule.severity),
        remediation_steps=rule.remediation, tags=[rule.concern])
    if rule.resource_check is not None:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            for message, _urn in rule.findings(view_of(args), rule.config(args.get_config())):
                report(message, None)
        return ResourceValidationPolicy(validate=validate, **common)

    def validate_stack(args: StackValidationArgs, report: ReportViolation) -> None:
        views = [view_of(r) for r in args.resources]
        for message, urn in rule.findings(views, rule.config(args.get_config())):
            report(message, urn)
    return StackValidationPolicy(validate=validate_stack, **common)


def policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    return [to_policy(r) for r in RULES]


def keep_marks(value: Any) -> Any:
    """Deserialize one wire value as pulumi-policy does, except that secrets keep their marker."""
    if isinstance(value, list):
        return [keep_marks(v) for v in value]
    if isinstance(value, Mapping):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return {SIG_KEY: SECRET_SIG, "value": keep_marks(value.get("value"))}
        if sig is not None:  # assets and archives: the SDK's own handling
            return _deserialize._deserialize_property(dict(value))
        return {k: keep_marks(v) for k, v in value.items()}
    return value


def deserialize_keeping_secrets(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
    if proxy_secrets:
        return _SDK_DESERIALIZE(props, True)
    return {k: keep_marks(v) for k, v in props.items()}


def keep_secret_markers() -> None:
    """Make the analyzer hand validations secret-marked properties (call before serving the pack)."""
    current = _policy.deserialize_properties
    if current is not _SDK_DESERIALIZE and current is not deserialize_keeping_secrets:
        raise RuntimeError("pulumi_policy.policy.deserialize_properties is not the SDK's: pin pulumi-policy 1.21.0")
    _policy.deserialize_properties = deserialize_keeping_secrets
