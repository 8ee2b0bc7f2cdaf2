"""Bad inputs for what hangs off seed projects (storages, webhooks, ML backend links), their secret
config (seedStorageCredentials, seedWebhookHeaders, seedMlBackendPasswords), backups, monitoring, and
the dynamic providers' check() behind them, found by trying to break them.

Each fails at settings or preview time with one line per problem naming the key (or file and entry),
the bad value (never a secret) and the fix; nothing crashes, hangs or quietly drops a value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.settings import Settings, SettingsError, parse

CONFIG = '<View><Text name="t" value="$text"/><Choices name="c" toName="t"><Choice value="a"/></Choices></View>'
K8S = {"platform": "kubernetes", "mediaMode": "s3", "mediaCredentials": "iam", "publicUrl": "https://labels.example.com"}
SECRETS = frozenset({"seedStorageCredentials", "seedWebhookHeaders", "seedMlBackendPasswords", "seedUserPasswords",
                     "adminApiToken"})
TOKEN = "Bearer canary-0a1b2c3d4e5f-token"  # a secret value: never in a message


def project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cfg").mkdir(exist_ok=True)
    (tmp_path / "cfg" / "ok.xml").write_text(CONFIG)
    (tmp_path / "p").mkdir(exist_ok=True)
    (tmp_path / "p" / "a.yaml").write_text("title: Good title\nlabelConfigFile: ../cfg/ok.xml\n" + text)
    return tmp_path


def settings(tmp_path: Path, text: str = "", raw: dict[str, Any] | None = None) -> Settings:
    raw = {**({"seedProjects": ["p/a.yaml"]} if text else {}), **(raw or {})}
    stack = "prod" if raw.get("platform") == "kubernetes" else "dev"
    return parse(raw, stack=stack, secret_keys=SECRETS & set(raw), base_dir=project(tmp_path, text))


def problems(tmp_path: Path, text: str = "", raw: dict[str, Any] | None = None) -> list[str]:
    with pytest.raises(SettingsError) as err:
        settings(tmp_path, text, raw)
    found = err.value.problems
    assert all("\n" not in p and len(p) < 600 and "fix:" in p for p in found), found
    return found


# --- values that raised a traceback instead of a message ------------------------------------------

DEEP = "[" * 100_000  # json refuses it with RecursionError, which is not a ValueError
CRASHED: list[tuple[str, dict[str, Any], str]] = [
    ("storages:\n  - {kind: import, prefix: x, endpoint: 'http://[::1'}\n", {},
     "p/a.yaml: storages[0]: endpoint 'http://[::1' is not a valid URL (Invalid IPv6 URL)"),
    ("storages:\n  - {kind: import, prefix: x, endpoint: 'https://[fe80::1/x'}\n", {}, "is not a valid URL"),
    ("storages:\n  - {kind: import, prefix: x, fileFilter: 'a{99999999999}'}\n", {},
     "storages[0]: fileFilter 'a{99999999999}': is not a valid regular expression (the repetition number is too"),
    ("", {"seedStorageCredentials": DEEP},
     "labelstudio:seedStorageCredentials: must be a JSON object of names to objects (the value is not shown)"),
    ("", {"seedWebhookHeaders": '{"qa":' * 100_000}, "labelstudio:seedWebhookHeaders: must be a JSON object"),
    ("", {"seedMlBackendPasswords": DEEP}, "labelstudio:seedMlBackendPasswords: must be a JSON object of names"),
    ("", {"seedUserPasswords": DEEP}, "labelstudio:seedUserPasswords: must be a JSON object of names"),
    ("", {**K8S, "backupSchedule": "*/" + "9" * 5000 + " * * * *"},
     "labelstudio:backupSchedule: '*/9999"),  # int() refuses 4300+ digits
    ("", {**K8S, "backupSchedule": "0 3 * * 1-" + "6" * 5000}, "day-of-week field has '1-666"),
]


@pytest.mark.parametrize(("text", "raw", "fragment"), CRASHED, ids=[f"{i}-{c[2][:50]}" for i, c in enumerate(CRASHED)])
def test_values_that_crashed_are_named_with_the_fix(tmp_path: Path, text: str, raw: dict[str, Any],
                                                     fragment: str) -> None:
    found = problems(tmp_path, text, raw)
    assert any(fragment in p for p in found), found


def test_a_list_setting_of_deeply_nested_json_is_refused_not_a_crash() -> None:
    from components.config import _decode

    assert _decode("seedProjects", DEEP) == DEEP  # kept as text: the settings then say it is no list
    assert _decode("seedProjects", '["a.yaml"]') == ["a.yaml"]
    with pytest.raises(SettingsError) as err:
        parse({"seedProjects": _decode("seedProjects", DEEP)}, stack="dev")
    assert any(p.startswith("labelstudio:seedProjects: expected a list of strings; fix:") for p in err.value.problems)


@pytest.mark.parametrize("pattern", ["(" * 5000 + ")" * 5000, "a{99999999999}", "x{5,4294967296}"])
def test_the_storage_check_names_every_uncompilable_filter(pattern: str) -> None:
    from components.providers.storage_inputs import regex_problem

    problem = regex_problem(pattern)
    assert problem is not None and problem.startswith("regex_filter is not a valid regular expression ("), problem
