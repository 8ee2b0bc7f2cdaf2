"""The policy pack as a whole: the repo stacks, an insecure stack, the assembled pack, and the
offline runner agreeing with pulumi-policy's own analyzer servicer fed the engine's requests."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pulumi_policy
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import policy as sdk_policy

from tests.policy_fixtures import secret
from tools import policy as runner
from tools.plan import ROOT, run

from rules import BY_NAME, RULES  # isort: skip - policies/ is on sys.path (tools.policy puts it there)
from rules.pack import PACK_NAME, deserialize_keeping_secrets, keep_secret_markers  # isort: skip

CONFIG = ROOT / "policies" / "config"
INSECURE = ROOT / "tests" / "fixtures" / "Pulumi.insecure.yaml"


def found(stack: str, config: str | None, path: Path | None = None) -> set[tuple[str, str, str]]:
    plan = run(stack, path)
    pack_config = runner.load_config(CONFIG / config if config else None)
    return {(v.rule, v.resource, v.level) for v in runner.evaluate(plan, pack_config)}


def test_dev_stack_has_only_the_advisory_violations_the_readme_lists() -> None:
    assert found("dev", "dev.json") == {
        ("data-services-not-exposed", "minio", "advisory"),  # browsers and `pulumi up` reach MinIO on loopback
        ("read-only-root-filesystem", "app", "advisory"),
        ("read-only-root-filesystem", "migrate", "advisory"),
        ("read-only-root-filesystem", "minio", "advisory"),
        ("read-only-root-filesystem", "nginx", "advisory"),
        ("run-as-non-root", "minio", "advisory"),  # its data volume is root-owned
    }
    readme = (ROOT / "README.md").read_text()
    for rule, resource, _level in found("dev", "dev.json"):
        assert f"| `{rule}` | {resource} |" in readme, (rule, resource)


def test_prod_stack_has_no_violation() -> None:
    # The backup rule is mandatory since the stack backs up (postgres-backup CronJob): it passes.
    assert found("prod", "prod.json") == set()
    config = runner.load_config(CONFIG / "prod.json")
    assert runner.level_of("backup-job-in-production", config) == "mandatory"


def prod_without_backups(tmp_path: Path) -> Path:
    """The prod stack file with backupEnabled: false (and the backup keys it then refuses removed)."""
    stack = tmp_path / "Pulumi.nobackup.yaml"
    text = (ROOT / "Pulumi.prod.yaml").read_text()
    assert "labelstudio:backupEnabled: true" in text
    for key in ("backupSchedule", "backupRetentionDays", "backupImage"):
        text = text.replace(f"labelstudio:{key}:", f"# labelstudio:{key}:")
    stack.write_text(text.replace("labelstudio:backupEnabled: true", "labelstudio:backupEnabled: false"))
    return stack


def test_prod_without_backups_is_refused(tmp_path: Path) -> None:
    stack = prod_without_backups(tmp_path)
    assert found("nobackup", "prod.json", stack) == {("backup-job-in-production", "nobackup", "mandatory")}


def test_insecure_stack_is_rejected_naming_the_rules() -> None:
    violations = found("insecure", "prod.json", INSECURE)
    mandatory = {rule for rule, _resource, level in violations if level == "mandatory"}
    assert mandatory == {
        "ls-host-https",  # publicUrl is http
        "ls-database-tls",  # postgresSslMode: disable
        "run-as-non-root",  # the ML backend image's user (and MinIO) run as root
        "read-only-root-filesystem",
        "data-services-not-exposed",  # MinIO's S3 port is published
        "web-replicas",  # one Docker container is not production
        "seed-projects-protected",
        "backup-job-in-production",  # Docker has no scheduler: no backup CronJob
    }
    assert ("run-as-non-root", "ml-backend", "mandatory") in violations
    assert runner.main(["insecure", "--file", str(INSECURE), "--config", str(CONFIG / "prod.json")]) == 1


def test_runner_exit_codes_and_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["dev"]) == 0  # policies/config/dev.json: advisory only
    out = capsys.readouterr().out
    assert "advisory  run-as-non-root" in out and "minio" in out
    assert "policy dev (policies/config/dev.json): 40 rules" in out and "0 mandatory, 6 advisory" in out
    assert runner.main(["insecure", "--file", str(INSECURE), "--config", str(CONFIG / "prod.json")]) == 1
    assert "mandatory web-replicas" in capsys.readouterr().out
    assert runner.main([]) == 2


def test_bad_pack_config_is_reported_all_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({
        "no-such-rule": "advisory", "probes": "sometimes", "images-pinned": {"requireDigest": "yes"},
        "web-replicas": {"environment": "prod", "minReplica": 3}, "ls-host-https": {"environment": "dev"},
        "all": {"environment": "prod"},
    }))
    assert runner.main(["dev", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    for expected in ("no-such-rule: no such rule", "probes.enforcementLevel: 'sometimes' is not one of",
                     "images-pinned.requireDigest: 'yes' is not a boolean",
                     "web-replicas.minReplica: unknown setting; fix: use one of enforcementLevel, environment, "
                     "minReplicas",
                     "environment: rules disagree (dev, prod; left at the default prod: ", "all: only enforcementLevel may be set"):
        assert expected in err


def test_one_rule_set_to_dev_splits_the_pack_environment() -> None:
    """The others keep the default (prod): a file that names dev for one rule only is refused."""
    found = runner.config_problems({"web-replicas": {"environment": "dev"}})
    assert len(found) == 1 and found[0].startswith("environment: rules disagree (dev, prod; left at the default prod: ")
    assert "pod-disruption-budget" in found[0] and "web-replicas" not in found[0].split("prod: ")[1]
    assert runner.config_problems({"web-replicas": {"environment": "prod"}}) == []  # the same as the default


def test_levels_reconcile_like_the_engine() -> None:
    assert runner.level_of("probes", {}) == "mandatory"
    assert runner.level_of("probes", {"all": "advisory"}) == "advisory"
    assert runner.level_of("probes", {"all": "advisory", "probes": {"enforcementLevel": "disabled"}}) == "disabled"
    assert runner.level_of("ls-telemetry-off", {"ls-telemetry-off": "remediate"}) == "mandatory"
    assert found("dev", None) >= {("ls-host-https", "app", "mandatory")}  # no config: production rules on


def test_config_examples_are_valid_and_each_names_one_environment() -> None:
    for name, environment in (("dev.json", "dev"), ("prod.json", "prod")):
        config = json.loads((CONFIG / name).read_text())
        assert runner.config_problems(config) == []
        assert {r.name for r in RULES if r.production_only} == {
            k for k, v in config.items() if isinstance(v, dict) and v.get("environment") == environment}


def test_main_assembles_every_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, Any]] = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: made.append(kwargs))
    monkeypatch.setattr(sdk_policy, "deserialize_properties", sdk_policy.deserialize_properties)  # restored after
    runpy.run_path(str(ROOT / "policies" / "__main__.py"), run_name="__main__")
    (pack,) = made
    assert pack["name"] == PACK_NAME
    policies = {p.name: p for p in pack["policies"]}
    assert sorted(policies) == sorted(r.name for r in RULES)
    for rule in RULES:
        assembled = policies[rule.name]
        kind = pulumi_policy.ResourceValidationPolicy if rule.kind == "resource" else pulumi_policy.StackValidationPolicy
        assert isinstance(assembled, kind)
        assert assembled.enforcement_level is not None and assembled.enforcement_level.value == rule.level
        assert assembled.severity is not None and assembled.severity.value == rule.severity
        assert assembled.remediation_steps == rule.remediation
        assert assembled.config_schema is not None
        assert set(assembled.config_schema.properties) == set(rule.schema())
    assert sdk_policy.deserialize_properties is deserialize_keeping_secrets


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(json.loads(json.dumps(value, default=str)), struct_pb2.Struct())


def _engine_config(config: dict[str, Any]) -> proto.ConfigureAnalyzerRequest:
    """What the engine sends after reconciling: every policy, its level, its schema defaults."""
    levels = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY, "disabled": proto.DISABLED}
    request = proto.ConfigureAnalyzerRequest()
    for rule in RULES:
        given = config.get(rule.name)
        props = {k: v["default"] for k, v in rule.schema().items() if "default" in v}
        props.update({k: v for k, v in (given if isinstance(given, dict) else {}).items() if k != "enforcementLevel"})
        request.policyConfig[rule.name].CopyFrom(proto.PolicyConfig(
            enforcementLevel=levels[runner.level_of(rule.name, config)], properties=_struct(props)))
    return request


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_offline_runner_matches_the_sdk_analyzer(stack: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The engine's Analyze/AnalyzeStack requests (secrets marked) through pulumi-policy's servicer
    give the same violations as the offline runner (prod: without backups, so there is one)."""
    monkeypatch.setattr(sdk_policy, "deserialize_properties", sdk_policy.deserialize_properties)
    keep_secret_markers()
    plan = run(stack, prod_without_backups(tmp_path) if stack == "prod" else None)
    config = runner.load_config(CONFIG / f"{stack}.json")
    policies: list[sdk_policy.Policy] = [runner.to_policy(r) for r in RULES]
    servicer = sdk_policy._PolicyAnalyzerServicer(PACK_NAME, "1", policies, pulumi_policy.EnforcementLevel.MANDATORY)
    servicer.Configure(_engine_config(config), None)
    names = {r.urn: r.name for r in plan.resources}
    level_names = {proto.ADVISORY: "advisory", proto.MANDATORY: "mandatory"}
    seen: set[tuple[str, str, str, str]] = set()
    for r in plan.resources:
        options = proto.AnalyzerResourceOptions(protect=r.protect, parent=r.parent)
        response = servicer.Analyze(proto.AnalyzeRequest(type=r.type, properties=_struct(r.wire_inputs), urn=r.urn,
                                                         name=r.name, options=options), None)
        seen |= {(d.policyName, r.name, level_names[d.enforcementLevel], d.message.split("\n", 1)[1])
                 for d in response.diagnostics}
    stack_request = proto.AnalyzeStackRequest(resources=[
        proto.AnalyzerResource(type=r.type, properties=_struct(runner._stack_wire(r)), urn=r.urn, name=r.name,
                               parent=r.parent, dependencies=r.dependencies,
                               options=proto.AnalyzerResourceOptions(protect=r.protect, parent=r.parent))
        for r in plan.resources])
    for d in servicer.AnalyzeStack(stack_request, None).diagnostics:
        seen.add((d.policyName, names.get(d.urn, stack), level_names[d.enforcementLevel], d.message.split("\n", 1)[1]))
    offline = {(v.rule, v.resource, v.level, v.message) for v in runner.evaluate(plan, config)}
    assert seen == offline and offline


def test_the_sdk_alone_would_hide_secretness(monkeypatch: pytest.MonkeyPatch) -> None:
    """Why keep_secret_markers exists: without it a secret env entry reaches rules as plain text."""
    monkeypatch.setattr(sdk_policy, "deserialize_properties", sdk_policy.deserialize_properties)
    props = {"name": "c", "envs": [secret("POSTGRE_PASSWORD=x")]}
    rule = runner.to_policy(BY_NAME["no-plain-secret-env"])

    def diagnostics() -> list[str]:
        servicer = sdk_policy._PolicyAnalyzerServicer(PACK_NAME, "1", [rule], pulumi_policy.EnforcementLevel.MANDATORY)
        request = proto.AnalyzeRequest(type="docker:index/container:Container", properties=_struct(props),
                                       urn="urn:pulumi:s::p::docker:index/container:Container::c", name="c")
        return [d.message for d in servicer.Analyze(request, None).diagnostics]

    assert any("POSTGRE_PASSWORD is set in plain text" in m for m in diagnostics())  # SDK: secret lost
    keep_secret_markers()
    assert diagnostics() == []


def test_preview_unknowns_never_stop_a_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """During preview an image id computed by another resource is unknown: every rule still runs
    (no "can't run policy during preview" diagnostic) and judges what is known."""
    monkeypatch.setattr(sdk_policy, "deserialize_properties", sdk_policy.deserialize_properties)
    keep_secret_markers()
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    props = {"name": "c", "image": unknown, "user": unknown, "memory": 256.0, "privileged": True,
             "envs": [unknown, "LOG_LEVEL=INFO"]}
    policies: list[sdk_policy.Policy] = [runner.to_policy(r) for r in RULES if r.kind == "resource"]
    servicer = sdk_policy._PolicyAnalyzerServicer(PACK_NAME, "1", policies, pulumi_policy.EnforcementLevel.MANDATORY)
    request = proto.AnalyzeRequest(type="docker:index/container:Container", properties=_struct(props),
                                   urn="urn:pulumi:s::p::docker:index/container:Container::c", name="c")
    messages = [(d.policyName, d.message) for d in servicer.Analyze(request, None).diagnostics]
    assert not any("can't run policy" in m for _n, m in messages)
    assert [n for n, _m in messages] == ["no-privileged", "no-privilege-escalation", "drop-all-capabilities",
                                         "read-only-root-filesystem", "probes"]


def test_the_cli_can_read_the_pack_metadata() -> None:
    """GetAnalyzerInfo is the CLI's first call: names, levels, severities, config schemas, fixes."""
    policies: list[sdk_policy.Policy] = [runner.to_policy(r) for r in RULES]
    servicer = sdk_policy._PolicyAnalyzerServicer(PACK_NAME, "1", policies, pulumi_policy.EnforcementLevel.MANDATORY)
    info = servicer.GetAnalyzerInfo(None, None)
    assert info.name == PACK_NAME and info.supportsConfig
    by_name = {p.name: p for p in info.policies}
    assert set(by_name) == set(BY_NAME)
    assert by_name["backup-job-in-production"].enforcementLevel == proto.MANDATORY
    assert by_name["no-privileged"].severity == proto.POLICY_SEVERITY_CRITICAL
    schema = json_format.MessageToDict(by_name["web-replicas"].configSchema)
    assert schema["properties"]["environment"] == {"type": "string", "enum": ["dev", "prod"], "default": "prod",
                                                   "description": "dev or prod: this rule checks only in prod"}
    assert by_name["images-pinned"].remediation_steps.startswith("Use `repo:1.2.3`")
