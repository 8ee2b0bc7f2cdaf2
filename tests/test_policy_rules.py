"""Every rule against fixtures in wire form: at least one passing and one failing case each, with
the message. Docker, Kubernetes and the seed resources; secrets marked as the engine marks them.
The cases: tests/policy_cases_infra.py and tests/policy_cases_app.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policy_cases_app import APP_CASES
from tests.policy_cases_infra import INFRA_CASES
from tests.policy_fixtures import USER, Case, d, kc, ls_docker, secret, view

from rules import BY_NAME, RULES  # isort: skip - policies/ is put on sys.path by the fixtures

CASES = INFRA_CASES + APP_CASES


def messages(case: Case) -> list[str]:
    rule = BY_NAME[case.rule]
    return [m for m, _urn in rule.findings(case.subject, rule.config(case.config))]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}:{c.id or ('pass' if c.expect is None else c.expect)}"
                                             for c in CASES])
def test_rule(case: Case) -> None:
    found = messages(case)
    if case.expect is None:
        assert found == []
    else:
        assert any(case.expect in m for m in found), found


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    passing = {c.rule for c in CASES if c.expect is None}
    failing = {c.rule for c in CASES if c.expect is not None}
    names = {r.name for r in RULES}
    assert names - passing == set() and names - failing == set()
    assert {c.rule for c in CASES} <= names
    assert len(RULES) >= 25


def test_every_rule_has_its_metadata() -> None:
    for rule in RULES:
        assert rule.description and rule.why and rule.remediation, rule.name
        assert rule.concern in ("workloads", "network", "secrets", "labelstudio", "data", "availability")


def test_messages_never_show_a_secret() -> None:
    hidden = "s3cr3t-value"
    subjects: list[Any] = [ls_docker(), d(envs=[secret(f"POSTGRE_PASSWORD={hidden}")]),
                           kc(env=[{"name": "POSTGRE_PASSWORD", "value": secret(hidden)}]),
                           view(USER, {"password": secret(hidden)})]
    for rule in RULES:
        for subject in subjects:
            target = subject if rule.kind == "resource" else [subject]
            if rule.kind == "resource" and isinstance(subject, list):
                continue
            for message, _urn in rule.findings(target, rule.config(None)):
                assert hidden not in message, rule.name
