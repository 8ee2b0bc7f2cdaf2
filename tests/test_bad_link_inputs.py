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


# --- the providers' check(), through the engine's own dynamic-provider server --------------------

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # what the engine sends for a value unknown in preview
CANARY = "canary-token-7f3e9d"
DECLARED: dict[str, tuple[str, str, dict[str, Any]]] = {  # provider -> (module, class, valid inputs)
    "Storage": ("components.providers.storage", "Storage", {
        "api_url": "https://labels.example.com", "api_token": CANARY, "project_id": 1, "kind": "import",
        "bucket": "media-bucket", "prefix": "imports", "region_name": "eu-west-1",
        "s3_endpoint": "https://s3.example.com", "access_key_id": "AKIAEXAMPLE", "secret_access_key": CANARY,
        "title": "Photos", "health_timeout_seconds": 30}),
    "Webhook": ("components.providers.webhook", "Webhook", {
        "api_url": "https://labels.example.com", "api_token": CANARY, "project_id": 1,
        "url": "https://hooks.example.com/ls", "actions": ["TASKS_CREATED"], "headers": {"Authorization": CANARY},
        "health_timeout_seconds": 30}),
    "MLBackendLink": ("components.providers.ml_backend_link", "MLBackendLink", {
        "api_url": "https://labels.example.com", "api_token": CANARY, "project_id": 1,
        "url": "https://models.example.com", "title": "Model", "basic_auth_user": "u", "basic_auth_pass": CANARY,
        "health_timeout_seconds": 30, "backend_wait_seconds": 60}),
    "BackupRetention": ("components.providers.backup_retention", "BackupRetention", {
        "endpoint": "https://s3.example.com", "region": "eu-west-1", "bucket": "media-bucket",
        "prefix": "backups/postgres", "days": 30, "access_key_id": "AKIAEXAMPLE", "secret_access_key": CANARY}),
}


@pytest.fixture(scope="module")
def engine() -> Any:
    from tests.dynamic_engine import ProviderServer, registered_inputs

    server = ProviderServer("bad-link-inputs")
    try:
        declared = {name: registered_inputs(module, cls, "x", **args)
                    for name, (module, cls, args) in DECLARED.items()}
        yield server, declared
    finally:
        server.stop()


def check(engine: Any, provider: str, changes: dict[str, Any]) -> list[str]:
    server, declared = engine
    registered = declared[provider]
    news = {k: v for k, v in {**registered.inputs, **changes}.items() if v is not None}
    return server.check(registered.urn("x"), {}, news)[1]


def test_valid_inputs_pass_every_check(engine: Any) -> None:
    for provider in DECLARED:
        assert check(engine, provider, {}) == [], provider


WEIRD: list[Any] = ["", " ", "x" * 100_000, "http://[::1", "http://h:99999", 1.5, 2.0, -1, 0, 1e300, True, [],
                    [1], {}, {"a": 1}, [UNKNOWN], ["x", UNKNOWN], {"a": UNKNOWN}, [[UNKNOWN]], UNKNOWN, None]


@pytest.mark.parametrize("provider", list(DECLARED))
def test_no_value_for_any_input_crashes_check_or_echoes_a_secret(engine: Any, provider: str) -> None:
    for key in DECLARED[provider][2]:
        for value in WEIRD:
            failures = check(engine, provider, {key: value})  # an exception in check() is an RpcError
            assert all(len(f) < 400 and CANARY not in f for f in failures), (key, value, failures)


PROVIDER_BAD: list[tuple[str, dict[str, Any], str]] = [
    # urlsplit raised in check() (a traceback from the provider instead of a failure)
    ("MLBackendLink", {"url": "http://[::1"}, "url: url is not a valid URL (Invalid IPv6 URL)"),
    ("MLBackendLink", {"api_url": "http://[::1"}, "api_url: api_url is not a valid URL (Invalid IPv6 URL)"),
    ("BackupRetention", {"endpoint": "http://[::1"}, "endpoint: endpoint must be an http(s) URL of the S3 API, or "
                                                     "empty for AWS S3 (endpoint is not a valid URL (Invalid IPv6"),
    # the connection: Storage and Webhook took any api_token, and any api_url starting with http://
    ("Storage", {"api_token": ""}, "api_token: api_token must be a non-empty string"),
    ("Webhook", {"api_token": 5}, "api_token: api_token must be a non-empty string"),
    ("Storage", {"api_url": "http://[::1"}, "api_url: api_url is not a valid URL"),
    ("Webhook", {"api_url": "https://labels.example.com:99999"}, "api_url: api_url is not a valid URL (Port"),
    ("Storage", {"api_url": "ftp://labels.example.com"}, "api_url: api_url must be an http:// or https:// URL"),
    ("MLBackendLink", {"health_timeout_seconds": 0}, "health_timeout_seconds: health_timeout_seconds must be 1 to"),
    # a list or mapping holding an unknown, where a single value belongs, was taken for unknown
    ("Storage", {"bucket": ["media-bucket", UNKNOWN]}, "bucket: bucket must be a string"),
    ("Webhook", {"url": [UNKNOWN]}, "url: url must be a string"),
    ("MLBackendLink", {"title": {"a": UNKNOWN}}, "title: title must be a non-empty string"),
    ("BackupRetention", {"days": [UNKNOWN]}, "days: days must be a whole number of at least 1"),
    # ... while a list's known items are checked even when others are still unknown
    ("Webhook", {"actions": [UNKNOWN, "ANNOTATION_MADE"]}, "actions: action 'ANNOTATION_MADE' is not one Label Studio"),
    # values accepted at preview that S3 refuses at deploy
    ("Storage", {"s3_endpoint": "https://s3.example.com:99999"}, "s3_endpoint: s3_endpoint must be an http(s) URL"),
    ("Storage", {"region_name": "eu west 1"}, "region_name: region_name must be a region name, e.g. eu-west-1"),
    ("Storage", {"access_key_id": 5}, "access_key_id: access_key_id must be a string"),
    ("BackupRetention", {"region": "eu west 1"}, "region: region must be a region name, e.g. eu-west-1"),
    ("BackupRetention", {"region": 5}, "region: region must be a region name"),
    ("BackupRetention", {"prefix": "backups//postgres"}, "prefix: prefix holds '//'"),
    ("BackupRetention", {"prefix": "b" * 1100}, "prefix: prefix is longer than 1000 bytes (S3 keys are at most 1024)"),
    ("BackupRetention", {"prefix": ""}, "prefix: prefix must be a non-empty key prefix (an empty one would expire"),
    ("Storage", {"regex_filter": "(" * 5000 + ")" * 5000}, "regex_filter: regex_filter is not a valid regular"),
]


@pytest.mark.parametrize(("provider", "changes", "fragment"), PROVIDER_BAD,
                         ids=[f"{i}-{c[0]}-{c[2][:40]}" for i, c in enumerate(PROVIDER_BAD)])
def test_check_names_each_bad_input(engine: Any, provider: str, changes: dict[str, Any], fragment: str) -> None:
    failures = check(engine, provider, changes)
    assert any(f.startswith(fragment) for f in failures), failures


@pytest.mark.parametrize("provider", list(DECLARED))
def test_unknown_values_are_skipped_at_preview(engine: Any, provider: str) -> None:
    inputs = DECLARED[provider][2]
    assert check(engine, provider, dict.fromkeys(inputs, UNKNOWN)) == []
    nested = {k: [UNKNOWN] if isinstance(v, list) else {"Authorization": UNKNOWN} if isinstance(v, dict) else v
              for k, v in inputs.items()}
    assert check(engine, provider, nested) == []


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"endpoint": "http://[::1"}, "endpoint must be an http(s) URL of the S3 API, or empty for AWS S3 (endpoint is "
                                  "not a valid URL (Invalid IPv6 URL))"),
    ({"endpoint": "https://s3.example.com:99999"}, "(endpoint is not a valid URL (Port"),
    ({"cors_origins": ["http://[::1"]}, "'http://[::1' is not an origin like https://labelstudio.example.com"),
    ({"cors_origins": ["https://labels.example.com/" + "a" * 10_000]}, "is not an origin"),  # shortened
])
def test_the_media_bucket_check_shares_the_url_rule(changes: dict[str, Any], fragment: str) -> None:
    from components.providers.media_bucket import input_failures

    news = {"endpoint": "https://s3.example.com", "region": "eu-west-1", "bucket": "media-bucket",
            "server_flavor": "aws", "cors_origins": ["https://labels.example.com"], **changes}
    reasons = [f.reason for f in input_failures(news)]
    assert any(fragment in r for r in reasons) and all(len(r) < 400 for r in reasons), reasons
