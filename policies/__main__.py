"""Assembles the policy pack. Rules live in importable modules under rules/ because
constructing a PolicyPack starts the analyzer server and never returns."""

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy
from rules import workloads

PolicyPack(
    name="labelstudio-security",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(
            name="container-hardening",
            description=workloads.DESCRIPTION,
            validate=lambda args, report: workloads.container_hardening(
                args.resource_type, args.props, report),
        ),
    ],
)
