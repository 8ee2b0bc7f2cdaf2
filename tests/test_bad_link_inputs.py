"""Bad inputs for what hangs off seed projects (storages, webhooks, ML backend links), their secret
config (seedStorageCredentials, seedWebhookHeaders, seedMlBackendPasswords), backups, monitoring, and
the dynamic providers' check() behind them, found by trying to break them.

Each fails at settings or preview time with one line per problem naming the key (or file and entry),
the bad value (never a secret) and the fix; nothing crashes, hangs or quietly drops a value.
"""

from __future__ import annotations

import json
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


# --- values quietly taken for something else, or refused only at deploy --------------------------

QUIET: list[tuple[str, dict[str, Any], str]] = [
    # a false-y value read as "none": every action, no description
    ("webhooks:\n  - {url: 'https://hooks.example.com', actions: false}\n", {},
     "webhooks[0]: actions must be a list of action names (empty: every action); fix:"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', actions: ''}\n", {}, "webhooks[0]: actions must be a list"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', actions: {}}\n", {}, "webhooks[0]: actions must be a list"),
    ("mlBackends:\n  - {title: M, url: 'https://models.example.com', description: false}\n", {},
     "mlBackends[0]: description False must be text; fix: quote it"),
    ("mlBackends:\n  - {title: M, url: 'https://models.example.com', description: 0}\n", {},
     "mlBackends[0]: description 0 must be text"),
    # webhook URLs Label Studio's URLField refuses (400 "Enter a valid URL"), or its SSRF check cannot resolve
    ("webhooks:\n  - {url: 'http://qa-bot:8080/hook'}\n", {},
     "webhooks[0]: url 'http://qa-bot:8080/hook': host 'qa-bot' is not a host name Label Studio accepts"),
    ("webhooks:\n  - {url: 'https://qa_bot.example.com/hook'}\n", {}, "host 'qa_bot.example.com' is not a host name"),
    ("webhooks:\n  - {url: 'https://hooks.example.123/'}\n", {}, "is not a host name Label Studio accepts"),
    ("webhooks:\n  - {url: 'http://01.2.3.4/hook'}\n", {}, "host '01.2.3.4' is not an IPv4 address"),
    ("webhooks:\n  - {url: 'http://[2606:4700::1]/hook'}\n", {},
     "url 'http://[2606:4700::1]/hook': host is an IPv6 address, which Label Studio's SSRF check cannot resolve"),
    # a key Kubernetes uses only with monitoring on, set with it off
    ("", {**K8S, "monitoringNamespace": "prometheus"},
     "labelstudio:monitoringNamespace: is only used with monitoringEnabled: true; fix: remove it"),
    # a token with a control character: the app's env and every Authorization header would break
    ("", {"adminApiToken": "abc\x00defgh"}, "labelstudio:adminApiToken: is not an API token (6 to 200 printable ASCII"),
    ("", {"adminApiToken": "abc\x7fdefgh"}, "labelstudio:adminApiToken: is not an API token"),
    ("", {"adminApiToken": "tökén-123456"}, "labelstudio:adminApiToken: is not an API token"),
    # S3 refuses keys over 1024 bytes: the backup prefix follows the storages' prefix rule now
    ("", {**K8S, "backupPrefix": "b" * 1100}, "labelstudio:backupPrefix: 'bbbb"),
    ("", {**K8S, "backupPrefix": "backups/\x7f"}, "labelstudio:backupPrefix: 'backups/\\x7f' holds control characters"),
    # header values requests (Label Studio's HTTP client) refuses on every delivery, silently
    ("webhooks:\n  - {url: 'https://hooks.example.com', headersSecret: qa}\n",
     {"seedWebhookHeaders": json.dumps({"qa": {"Authorization": " " + TOKEN}})},
     "labelstudio:seedWebhookHeaders: qa: header Authorization starts with whitespace, which Label Studio's HTTP "
     "client refuses, so every delivery would fail (the value is not shown)"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', headersSecret: qa}\n",
     {"seedWebhookHeaders": json.dumps({"qa": {"Authorization": TOKEN + " \u2713"}})},
     "qa: header Authorization holds characters outside Latin-1"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', headersSecret: qa}\n",
     {"seedWebhookHeaders": json.dumps({"qa": {"Authorization": "canary-1", "authorization": "canary-2"}})},
     "qa: header authorization is given more than once (header names ignore case), and only one would be sent"),
    # an S3 key with a pasted line break or space: every request Label Studio signs with it fails
    ("storages:\n  - {kind: import, prefix: x, credentials: partner}\n",
     {"seedStorageCredentials": json.dumps({"partner": {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "canary\n"}})},
     "labelstudio:seedStorageCredentials: partner.secretAccessKey holds whitespace or control characters"),
    ("storages:\n  - {kind: import, prefix: x, credentials: partner}\n",
     {"seedStorageCredentials": json.dumps({"partner": {"accessKeyId": "AKIA EXAMPLE", "secretAccessKey": "canary"}})},
     "partner.accessKeyId holds whitespace or control characters, which no S3 key has"),
    # HTTP Basic credentials requests cannot encode: every call from Label Studio to the backend fails
    ("mlBackends:\n  - {title: M, url: 'https://models.example.com', basicAuthUser: 'l\u0101bel', "
     "basicAuthPasswordSecret: p}\n", {"mlBackendEnabled": True, "mlBackendImage": "ml:1.0",
                                        "seedMlBackendPasswords": json.dumps({"p": "canary-pw"})},
     "mlBackends[0]: basicAuthUser 'l\u0101bel' must be a user name of 1 to 256 characters without ':', in Latin-1"),
    ("mlBackends:\n  - {title: M, url: 'https://models.example.com', basicAuthUser: u, basicAuthPasswordSecret: p}\n",
     {"seedMlBackendPasswords": json.dumps({"p": "canary-\U0001f511"})},
     "mlBackends[0]: basicAuthPasswordSecret 'p' is not Latin-1 text (all HTTP Basic auth carries) in the secret"),
]


@pytest.mark.parametrize(("text", "raw", "fragment"), QUIET, ids=[f"{i}-{c[2][:50]}" for i, c in enumerate(QUIET)])
def test_values_taken_quietly_or_refused_only_at_deploy_are_named(tmp_path: Path, text: str, raw: dict[str, Any],
                                                                  fragment: str) -> None:
    found = problems(tmp_path, text, raw)
    assert any(fragment in p for p in found), found
    assert not any("canary" in p for p in found), found


def test_the_webhook_url_rule_agrees_with_label_studios_own_validator() -> None:
    """Label Studio's URLField, run in its own venv, is the oracle for the hosts seed files may name."""
    import subprocess
    import sys

    from components.providers.webhook_inputs import url_problem
    from tests.realservices import LABEL_STUDIO_VENV

    urls = ["http://qa-bot:8080/hook", "https://qa_bot.example.com/", "https://hooks.example.com:0/",
            "HTTPS://Hooks.Example.com/x", "https://hööks.example.com/x", "http://[fe80::1%25eth0]/",
            "http://203.0.114.7:8080/hook", "https://hooks.example.com/a?b=1#x", "http://localhost/x",
            "http://1.2.3/x", "https://a.b.c.d.example/x", "https://hooks.example.com.", "https://-bad.example.com/",
            "https://hooks.example.c0m/", "http://01.2.3.4/", "http://256.1.1.1/", "http://[2606:4700::1]/hook",
            "https://hooks.xn--p1ai/", "https://xn--hks-qla.example.com/", "https://hooks.example-.com/",
            "https://a-.b.com/", "https://hooks.example.co-m/", "https://h.io", "https://h.i", "https://1.2.3.4.5/",
            "https://" + "a" * 64 + ".example.com/", "https://" + "a" * 63 + ".example.com/"]
    ls_python = LABEL_STUDIO_VENV / "bin" / "python"
    oracle = subprocess.run(
        [str(ls_python), "-c", "import json, sys\nfrom django.core.validators import URLValidator\n"
         "def ok(u):\n    try:\n        URLValidator()(u)\n        return True\n    except Exception:\n"
         "        return False\nprint(json.dumps([ok(u) for u in json.load(sys.stdin)]))"],
        input=json.dumps(urls), capture_output=True, text=True, check=True, timeout=120)
    assert sys.executable != str(ls_python)
    accepted_by_label_studio = json.loads(oracle.stdout)
    assert [url_problem(u) is None for u in urls] == accepted_by_label_studio, list(zip(urls, accepted_by_label_studio, strict=True))
    assert accepted_by_label_studio.count(False) >= 12  # the list really holds refusals


def test_requests_really_refuses_the_header_values_refused_here() -> None:
    """The rule above is what Label Studio's HTTP client does (requests, the same in both venvs)."""
    import requests.auth
    import requests.utils

    from components.providers.webhook_inputs import headers_problems

    for value in (" Bearer x", "\tBearer x", "Bearer \u2713"):
        assert headers_problems({"Authorization": value}), value
        with pytest.raises((requests.exceptions.InvalidHeader, UnicodeEncodeError)):
            requests.utils.check_header_validity(("Authorization", value))
            value.encode("latin-1")
    assert headers_problems({"Authorization": "Bearer caf\u00e9 x"}) == []  # Latin-1: fine
    with pytest.raises(UnicodeEncodeError):  # HTTP Basic auth, as Label Studio calls an ML backend
        requests.auth._basic_auth_str("u", "p\U0001f511")
    assert requests.auth._basic_auth_str("u", "p\u00e9")


# --- secrets never echoed, even when written in the wrong place ------------------------------------

LEAKS: list[tuple[str, dict[str, Any], str]] = [
    # a header line written as the header's name
    ("webhooks:\n  - {url: 'https://hooks.example.com', headersSecret: qa}\n",
     {"seedWebhookHeaders": json.dumps({"qa": {"Authorization: " + TOKEN: "x"}})},
     "labelstudio:seedWebhookHeaders: qa: header name 'Authorization' (followed by ':' and a value, not shown)"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', headersSecret: qa}\n",
     {"seedWebhookHeaders": json.dumps({"qa": {"X-Token=" + TOKEN: 5}})}, "header name 'X-Token' (followed by '='"),
    # a key pair written as a field and its value
    ("storages:\n  - {kind: import, prefix: x, credentials: partner}\n",
     {"seedStorageCredentials": json.dumps({"partner": {"AKIA1canary23EXAMPLE": "canary-secret-key/abc"}})},
     "labelstudio:seedStorageCredentials: partner: unknown field number 1 (not shown: it sits in a secret)"),
    ("storages:\n  - {kind: import, prefix: x, credentials: partner}\n",
     {"seedStorageCredentials": json.dumps({"partner": {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "canary-1",
                                                        "secretAccesKey": "canary-2"}})},
     "partner: unknown field 'secretAccesKey'; fix: rename it to secretAccessKey"),
    # a password in an ML backend URL (storage endpoints and webhook URLs were already masked)
    ("mlBackends:\n  - {title: M, url: 'https://user:canary-pw@models.example.com'}\n", {},
     "mlBackends[0]: url 'https://***@models.example.com' has a query, fragment or credentials"),
    ("mlBackends:\n  - {title: M, url: 'https://user:canary/pw@models.example.com'}\n", {},
     "mlBackends[0]: url 'https://***@models.example.com'"),
    ("storages:\n  - {kind: import, prefix: x, endpoint: 'https://k:canary/pw@s3.example.com'}\n", {},
     "endpoint 'https://***@s3.example.com'"),
    ("webhooks:\n  - {url: 'https://u:canary@pw@hooks.example.com/x'}\n", {}, "url 'https://***@hooks.example.com/x'"),
]


@pytest.mark.parametrize(("text", "raw", "fragment"), LEAKS, ids=[f"{i}-{c[2][:50]}" for i, c in enumerate(LEAKS)])
def test_a_secret_written_in_the_wrong_place_is_not_echoed(tmp_path: Path, text: str, raw: dict[str, Any],
                                                          fragment: str) -> None:
    found = problems(tmp_path, text, raw)
    assert any(fragment in p for p in found), found
    assert not any("canary" in p or "Bearer" in p for p in found), found


@pytest.mark.parametrize(("key", "text"), [
    ("seedStorageCredentials", '{"partner": {"accessKeyId": "A1", "secretAccessKey": "canary-1"}, '
                               '"partner": {"accessKeyId": "A2", "secretAccessKey": "canary-2"}}'),
    ("seedStorageCredentials", '{"partner": {"accessKeyId": "A1", "secretAccessKey": "canary-1", '
                               '"secretAccessKey": "canary-2"}}'),
    ("seedWebhookHeaders", '{"qa": {"Authorization": "canary-1", "Authorization": "canary-2"}}'),
    ("seedMlBackendPasswords", '{"photos": "canary-1", "photos": "canary-2"}'),
    ("seedUserPasswords", '{"anna": "canary-1", "anna": "canary-2"}'),
])
def test_a_name_given_twice_in_a_secret_is_refused_not_one_dropped(tmp_path: Path, key: str, text: str) -> None:
    json.loads(text)  # valid JSON, which keeps the last one silently
    found = problems(tmp_path, "", {key: text})
    assert f"labelstudio:{key}: gives a name or field twice, and JSON keeps only the last (the value is not " \
           "shown); fix: give each once" in found, found
    assert not any("canary" in p for p in found), found


# --- every problem at once, and no misleading follow-on ---------------------------------------------

def test_a_storage_with_a_bad_kind_still_has_its_other_fields_checked(tmp_path: Path) -> None:
    found = problems(tmp_path, "storages:\n  - {kind: s3, name: My Photos, prefix: 'a//b', bucket: B, region: 'x y', "
                               "presignTtlMinutes: 0, bukket: b}\n")
    for fragment in ("storages[0]: kind 's3' must be import or export", "storages[0]: name 'My Photos' must be",
                     "storages[0]: prefix 'a//b': holds '//'", "storages[0]: bucket 'B' is not a valid S3 bucket",
                     "storages[0]: region 'x y' is not a region name", "storages[0]: presignTtlMinutes 0 must be",
                     "storages[0]: unknown key 'bukket'"):
        assert any(fragment in p for p in found), (fragment, found)
    assert not any("name None" in p or "name 's3'" in p for p in found), found


@pytest.mark.parametrize("entry", [{"accessKeyId": "AKIAEXAMPLE"}, {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": 7},
                                   {"secretAccessKey": "canary-1"}, {}])
def test_broken_credentials_are_named_once_not_also_missing(tmp_path: Path, entry: dict[str, Any]) -> None:
    found = problems(tmp_path, "storages:\n  - {kind: import, prefix: x, credentials: partner}\n",
                     {"seedStorageCredentials": json.dumps({"partner": entry})})
    assert any(p.startswith("labelstudio:seedStorageCredentials: partner.") for p in found), found
    assert not any("names nothing" in p for p in found), found


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
    ("Storage", {"secret_access_key": CANARY + "\n"}, "secret_access_key: secret_access_key holds whitespace"),
    ("BackupRetention", {"region": "eu west 1"}, "region: region must be a region name, e.g. eu-west-1"),
    ("BackupRetention", {"region": 5}, "region: region must be a region name"),
    ("BackupRetention", {"prefix": "backups//postgres"}, "prefix: prefix holds '//'"),
    ("BackupRetention", {"prefix": "b" * 1100}, "prefix: prefix is longer than 1000 bytes (S3 keys are at most 1024)"),
    ("BackupRetention", {"prefix": ""}, "prefix: prefix must be a non-empty key prefix (an empty one would expire"),
    ("Storage", {"regex_filter": "(" * 5000 + ")" * 5000}, "regex_filter: regex_filter is not a valid regular"),
    ("Webhook", {"headers": {"X-Key": CANARY, "x-key": CANARY}}, "headers: header x-key is given more than once"),
    ("MLBackendLink", {"basic_auth_pass": "canary-\U0001f511"}, "basic_auth_pass: basic_auth_pass must be Latin-1"),
    ("MLBackendLink", {"basic_auth_user": "l\u0101bel"}, "basic_auth_user: basic_auth_user must be Latin-1 text"),
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


# --- large files: work and messages grow with the entries, not with their square -------------------

def test_many_actions_are_checked_in_linear_work() -> None:
    from components.providers.webhook_inputs import actions_problems

    compared = 0

    class Action(str):
        def __eq__(self, other: object) -> bool:
            nonlocal compared
            compared += 1
            return str.__eq__(self, other)

        __hash__ = str.__hash__

    actions = [Action(f"A{i}") for i in range(2000)] + [Action("TASKS_CREATED"), Action("TASKS_CREATED")]
    found = actions_problems(actions)
    assert len(found) == 2001 and found[-1] == "actions lists TASKS_CREATED more than once", found[-3:]
    assert compared < 50 * len(actions), compared  # each against each would be 4 million


def test_imports_over_exports_are_named_once_per_import(tmp_path: Path) -> None:
    entries = "".join(f"  - {{kind: {'import' if i % 2 else 'export'}, name: s{i}, prefix: data}}\n" for i in range(400))
    found = problems(tmp_path, "storages:\n" + entries)
    reading = [p for p in found if "so exports would come back as tasks" in p]
    assert len(reading) == 200, len(reading)  # was 200 x 200


# --- what the settings accept, each provider's check() accepts too ----------------------------------

EDGES = """storages:
  - {kind: import, name: deep, prefix: '/PREFIX/', title: 'TITLE', description: "Ünïcode ✓ 'quoted'",
     bucket: partner.bucket-01, region: eu-west-1, endpoint: 'HTTPS://S3.Example.com:8443/base/', credentials: partner,
     presignTtlMinutes: 10080, recursive: true, fileFilter: '^(?:a|b)+\\\\.json$', syncOnCreate: true, blobUrls: true}
  - {kind: export, name: out, prefix: exports/edges, bucket: partner-bucket, endpoint: 'https://s3.example.com',
     credentials: ambient, deleteObjects: true}
webhooks:
  - {name: all, url: 'URL', actions: ACTIONS, headersSecret: qa, sendPayload: false, active: false}
  - {name: every, url: 'http://203.0.114.7:8080/hook', actions: []}
mlBackends:
  - {title: 'MLTITLE', url: 'https://models.example.com:8443/v1/photos/', basicAuthUser: 'USER',
     basicAuthPasswordSecret: photos, interactive: true, extraParams: {threshold: 0.5, nested: {list: [1, 2.5, x]}}}
"""


def test_what_the_settings_accept_every_provider_check_accepts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed entries and backups at the edges of what settings allow, declared by the program
    (under mocks), pass their providers' own check(): no value is refused only at deploy."""
    import components.config
    import tools.plan
    from components.providers import backup_retention, ml_backend_link_inputs, storage_inputs, webhook_inputs
    from components.providers.webhook_inputs import PROJECT_ACTIONS, URL_LENGTH

    url = "https://hooks.example.com:8443/"
    text = (EDGES.replace("PREFIX", "k" * 998).replace("'TITLE'", "'" + "t" * 256 + "'")
            .replace("'URL'", "'" + url + "p" * (URL_LENGTH - len(url)) + "'")
            .replace("ACTIONS", "[" + ", ".join(PROJECT_ACTIONS) + "]").replace("MLTITLE", "m" * 200)
            .replace("USER", "u" * 256))
    project(tmp_path, text)
    secrets = {
        "seedStorageCredentials": json.dumps({"partner": {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "s/k+1",
                                                          "sessionToken": "t" * 2000}}),
        "seedWebhookHeaders": json.dumps({"qa": {f"X-H{i}": "v" * 4096 for i in range(10)}}),
        "seedMlBackendPasswords": json.dumps({"photos": "p:w@ /\\u00e9"}),
    }
    config = {"labelstudio:seedProjects": json.dumps(["p/a.yaml"]), "labelstudio:backupPrefix": "b" * 1000,
              "labelstudio:backupRetentionDays": "3650", **{f"labelstudio:{k}": v for k, v in secrets.items()}}
    monkeypatch.setattr(components.config, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(tools.plan, "stack_config", lambda *_: (config, [f"labelstudio:{k}" for k in secrets]))
    plan = tools.plan.run("dev")

    checks = {"Storage": lambda n: storage_inputs.input_failures(storage_inputs.normalised(n)),
              "Webhook": webhook_inputs.input_failures, "MLBackendLink": ml_backend_link_inputs.input_failures,
              "BackupRetention": backup_retention.input_failures}
    seen: dict[str, int] = {}
    for resource in plan.resources:
        kind = resource.type.rsplit(":", 1)[-1]
        if kind in checks:
            inputs = {k: v for k, v in resource.inputs(reveal=True).items() if k != "__provider" and v is not None}
            assert [f"{f.property}: {f.reason}" for f in checks[kind](inputs)] == [], resource.name
            seen[kind] = seen.get(kind, 0) + 1
    assert seen == {"Storage": 2, "Webhook": 2, "MLBackendLink": 1, "BackupRetention": 1}, seen
