"""Assembles the policy pack. Rules live in importable modules under rules/ because
constructing a PolicyPack starts the analyzer server and never returns."""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules.pack import PACK_NAME, keep_secret_markers, policies

keep_secret_markers()
PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
