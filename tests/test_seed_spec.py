"""The seed spec beyond what test_bad_inputs covers: new project fields, extension points, users
and their passwords. Every bad value is reported with file/key, value and fix, never a password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.seed_storages import SeedStorage
from components.settings import SettingsError, parse

ROOT = Path(__file__).resolve().parent.parent
CONFIG = '<View><Text name="t" value="$text"/><Choices name="c" toName="t"><Choice value="a"/></Choices></View>'
PASSWORD = "Correct-Horse-42"


def repo(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "ok.xml").write_text(CONFIG)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def problems(raw: dict[str, object], base: Path, secret: frozenset[str] = frozenset()) -> list[str]:
    with pytest.raises(SettingsError) as err:
        parse(raw, stack="dev", secret_keys=secret, base_dir=base)
    return err.value.problems


def test_the_new_project_fields_reach_the_settings(tmp_path: Path) -> None:
    base = repo(tmp_path, {"p/a.yaml": "title: Good title\nlabelConfigFile: ../cfg/ok.xml\ninstructions: Read me\n"
                                       "color: '#A1B2C3'\nallowDeleteWithAnnotations: true\n"
                                       "storages:\n  - {kind: import, prefix: /in/}\nwebhooks: []\n"
                                       "mlBackends: [{title: Detector, url: 'http://ml:9090'}]\n"})
    s = parse({"seedProjects": ["p/a.yaml"]}, stack="dev", base_dir=base)
    project = s.seed_projects[0]
    assert (project.instructions, project.color, project.allow_delete_with_annotations) == ("Read me", "#A1B2C3", True)
    assert project.storages == (SeedStorage(name="import", kind="import", prefix="in", title="import"),)
    assert project.webhooks == ()
    assert [(link.title, link.url) for link in project.ml_backends] == [("Detector", "http://ml:9090")]


@pytest.mark.parametrize(("text", "fragment"), [
    ("color: blue\n", "p/a.yaml: color 'blue' is not a colour; fix: write #RRGGBB"),
    ("allowDeleteWithAnnotations: 'yes'\n", "p/a.yaml: allowDeleteWithAnnotations 'yes' must be true or false"),
    ("instructions: [a]\n", "p/a.yaml: instructions a list must be text; fix: quote it"),
    ("storages: {kind: s3}\n", "p/a.yaml: storages must be a list of mappings, not a dict"),
    ("mlBackends: [url]\n", "p/a.yaml: mlBackends must be a list of mappings, not a list"),
])
def test_bad_project_fields(tmp_path: Path, text: str, fragment: str) -> None:
    base = repo(tmp_path, {"p/a.yaml": "title: Good title\nlabelConfigFile: ../cfg/ok.xml\n" + text})
    found = problems({"seedProjects": ["p/a.yaml"]}, base)
    assert any(fragment in p for p in found), found
    assert all(p.startswith("labelstudio:seedProjects: p/a.yaml: ") and "fix:" in p for p in found)


TEAM = """users:
  - {email: anna@example.com, username: anna, firstName: Anna, passwordSecret: anna}
  - {email: ben@example.com, generatePassword: true}
  - {email: cleo@example.com}
"""


@pytest.mark.parametrize("entry", ["{email: anna@example.com}", "{email: anna@example.com, username: anna}",
                                   "{email: anna@example.com, username: Anna L., firstName: Anna}",
                                   "{email: a.l@example.com, name: anna, username: al}"])
def test_a_user_resource_is_named_by_name_or_email_never_by_username(tmp_path: Path, entry: str) -> None:
    """A new resource name would make Pulumi delete the old resource: remove her from the organization."""
    base = repo(tmp_path, {"u/t.yaml": f"users:\n  - {entry}\n"})
    (user,) = parse({"seedUsers": ["u/t.yaml"]}, stack="dev", base_dir=base).seed_users
    assert user.slug == "anna"


def test_users_with_passwords_from_secret_config(tmp_path: Path) -> None:
    base = repo(tmp_path, {"u/team.yaml": TEAM})
    raw = {"seedUsers": ["u/team.yaml"], "seedUserPasswords": json.dumps({"anna": PASSWORD})}
    s = parse(raw, stack="dev", secret_keys=frozenset({"seedUserPasswords"}), base_dir=base)
    anna, ben, cleo = s.seed_users
    assert (anna.email, anna.username, anna.first_name, anna.slug) == ("anna@example.com", "anna", "Anna", "anna")
    assert anna.password is not None and anna.password.value == PASSWORD and PASSWORD not in repr(s)
    assert ben.generate_password and ben.password is None and ben.slug == "ben"
    assert cleo.password is None and not cleo.generate_password


@pytest.mark.parametrize(("users", "passwords", "fragment"), [
    ("users:\n  - {email: a@example.com, password: hunter2hunter2}\n", None,
     "u/t.yaml users[0]: password must not be written here"),
    ("users:\n  - {email: a@example.com, role: admin}\n", None, "u/t.yaml users[0]: unknown key 'role'"),
    ("users:\n  - {email: not-an-email}\n", None, "u/t.yaml users[0]: email 'not-an-email' is not an email address"),
    ("users:\n  - {email: a@example.c}\n", None, "email 'a@example.c' is not an email address"),
    ("users:\n  - {email: a@example.com, passwordSecret: a}\n", None,
     "passwordSecret 'a' names no password in labelstudio:seedUserPasswords; fix: add it"),
    ("users:\n  - {email: a@example.com, passwordSecret: a}\n", {"a": "short"},
     "the password named 'a' must be 8 to 128 characters"),
    ("users:\n  - {email: a@example.com, passwordSecret: a, generatePassword: true}\n", {"a": PASSWORD},
     "has both passwordSecret and generatePassword"),
    ("users:\n  - {email: a@example.com, generatePassword: 'yes'}\n", None, "generatePassword 'yes' must be true or false"),
    ("users:\n  - {email: a@example.com}\n  - {email: A@Example.com}\n", None,
     "u/t.yaml users[1]: email 'A@Example.com' is also given by u/t.yaml users[0]"),
    ("users:\n  - {email: sam@example.com}\n  - {email: sam@example.org}\n", None,
     "u/t.yaml users[1]: names its Pulumi resource user-sam, as u/t.yaml users[0] does; fix: give one of them a "
     "`name:` of its own"),
    ("users:\n  - {email: a@example.com, name: sam}\n  - {email: sam@example.com}\n", None,
     "u/t.yaml users[1]: names its Pulumi resource user-sam, as u/t.yaml users[0] does"),
    ("users:\n  - {email: a@example.com, name: '--'}\n", None, "name '--' must be text of at most 60 characters"),
    ("users:\n  - {email: a@example.com, name: [a]}\n", None, "name a list must be text"),
    ("users:\n  - {email: _@example.com}\n", None,
     "email '_@example.com' has no letter or digit before the @ to name her Pulumi resource; fix: give her a name"),
    ("users:\n  - {email: a@example.com, firstName: 12}\n", None, "firstName 12 must be text of at most 256"),
    ("- {email: a@example.com}\n", None, "u/t.yaml: must hold `users:` and a list of entries only"),
])
def test_bad_users(tmp_path: Path, users: str, passwords: dict[str, str] | None, fragment: str) -> None:
    base = repo(tmp_path, {"u/t.yaml": users})
    raw: dict[str, object] = {"seedUsers": ["u/t.yaml"]}
    if passwords is not None:
        raw["seedUserPasswords"] = json.dumps(passwords)
    found = problems(raw, base, frozenset({"seedUserPasswords"}))
    assert any(fragment in p for p in found), found
    assert all("fix:" in p for p in found)
    assert not any(PASSWORD in p or "hunter2" in p or "'short'" in p for p in found)


def test_passwords_must_be_a_secret_json_object(tmp_path: Path) -> None:
    base = repo(tmp_path, {"u/t.yaml": "users:\n  - {email: a@example.com, passwordSecret: a}\n"})
    plain = problems({"seedUsers": ["u/t.yaml"], "seedUserPasswords": json.dumps({"a": PASSWORD})}, base)
    assert any(p.startswith("labelstudio:seedUserPasswords: is set in plain text; fix:") for p in plain)
    assert not any(PASSWORD in p for p in plain)
    broken = problems({"seedUsers": ["u/t.yaml"], "seedUserPasswords": "a=" + PASSWORD}, base,
                      frozenset({"seedUserPasswords"}))
    assert any("must be a JSON object of names and passwords (the value is not shown)" in p for p in broken)
    assert not any(PASSWORD in p for p in broken)
    outside = problems({"seedUsers": ["/etc/passwd", 7]}, base)
    assert any("/etc/passwd: is outside the repository" in p for p in outside)
    assert any("item 2 7 is not a user file" in p for p in outside)


def test_the_dev_stack_seeds_users_and_two_projects() -> None:
    s = parse({"seedUsers": ["seed/users/team.yaml"],
               "seedProjects": ["seed/projects/product-photos.yaml", "seed/projects/support-tickets.yaml"]},
              stack="dev", base_dir=ROOT)
    assert len(s.seed_users) >= 3 and len(s.seed_projects) == 2
    assert len({p.label_config for p in s.seed_projects}) == 2
    assert all(p.instructions and p.color for p in s.seed_projects)


# --- storages and webhooks (components/seed_storages.py, seed_webhooks.py) ------------------------

KEY_ID, KEY_SECRET, HEADER_VALUE = "AKIAEXAMPLEKEY00001", "storage-secret-value-7c1d", "Bearer hook-token-4b9e"
LINK_SECRETS = frozenset({"seedStorageCredentials", "seedWebhookHeaders"})


def project_with(tmp_path: Path, text: str) -> Path:
    return repo(tmp_path, {"p/a.yaml": "title: Good title\nlabelConfigFile: ../cfg/ok.xml\n" + text})


def link_problems(tmp_path: Path, text: str, extra: dict[str, object] | None = None,
                  secret: frozenset[str] = LINK_SECRETS) -> list[str]:
    found = problems({"seedProjects": ["p/a.yaml"], **(extra or {})}, project_with(tmp_path, text), secret)
    for value in (KEY_ID, KEY_SECRET, HEADER_VALUE, "pw-in-url"):
        assert not any(value in p for p in found), found  # a secret is never shown
    assert all("fix:" in p and "\n" not in p for p in found), found
    return found


def test_storages_and_webhooks_reach_the_settings_with_their_secrets(tmp_path: Path) -> None:
    text = """storages:
  - {kind: import, name: photos, prefix: /in/photos/, blobUrls: true, fileFilter: '.*\\.jpg$', presignTtlMinutes: 15,
     syncOnCreate: true, recursive: true}
  - {kind: export, prefix: out, bucket: partner-bucket, region: eu-west-1, endpoint: 'HTTPS://S3.Example.com/',
     credentials: partner, deleteObjects: true, title: Results}
webhooks:
  - {url: 'https://hooks.example.com/ls/', actions: [TASKS_CREATED, ANNOTATION_CREATED], headersSecret: qa, active: false}
"""
    raw = {"seedProjects": ["p/a.yaml"],
           "seedStorageCredentials": json.dumps({"partner": {"accessKeyId": KEY_ID, "secretAccessKey": KEY_SECRET}}),
           "seedWebhookHeaders": json.dumps({"qa": {"Authorization": HEADER_VALUE}})}
    s = parse(raw, stack="dev", secret_keys=LINK_SECRETS, base_dir=project_with(tmp_path, text))
    photos, out = s.seed_projects[0].storages
    assert (photos.name, photos.prefix, photos.blob_urls, photos.file_filter, photos.presign_ttl, photos.sync_on_create,
            photos.recursive, photos.credentials) == ("photos", "in/photos", True, ".*\\.jpg$", 15, True, True, "media")
    assert (out.name, out.kind, out.bucket, out.endpoint, out.credentials, out.delete_objects, out.title) == (
        "export", "export", "partner-bucket", "https://s3.example.com", "partner", True, "Results")
    (hook,) = s.seed_projects[0].webhooks
    assert (hook.name, hook.url, hook.actions, hook.headers_secret, hook.active, hook.send_payload) == (
        "webhook", "https://hooks.example.com/ls/", ("ANNOTATION_CREATED", "TASKS_CREATED"), "qa", False, True)
    creds = dict(s.seed_storage_credentials)["partner"]
    assert (creds.access_key_id.value, creds.secret_access_key.value, creds.session_token) == (KEY_ID, KEY_SECRET, None)
    assert json.loads(dict(s.seed_webhook_headers)["qa"].value) == {"Authorization": HEADER_VALUE}
    assert KEY_SECRET not in repr(s) and HEADER_VALUE not in repr(s)


STORAGE_CASES = [
    ("storages:\n  - {prefix: a}\n", "storages[0]: kind None must be import or export"),
    ("storages:\n  - {kind: s3, prefix: a}\n", "storages[0]: kind 's3' must be import or export"),
    ("storages:\n  - {kind: import, prefix: 'a//b'}\n", "storages[0]: prefix 'a//b': holds '//'"),
    ('storages:\n  - {kind: import, prefix: "a\\tb"}\n', "prefix 'a\\tb': holds control characters"),
    ("storages:\n  - {kind: import, prefix: " + "k" * 1100 + "}\n", "is longer than 1000 bytes"),
    ("storages:\n  - {kind: import, prefix: 12}\n", "storages[0]: prefix 12 must be text; fix: quote it"),
    ("storages:\n  - {kind: export, prefix: x, blobUrls: true}\n", "storages[0]: blobUrls is for import storages only"),
    ("storages:\n  - {kind: export, prefix: x, createPrefix: false}\n", "createPrefix is for import storages only"),
    ("storages:\n  - {kind: import, prefix: x, deleteObjects: true}\n", "deleteObjects is for export storages only"),
    ("storages:\n  - {kind: import, prefix: x, bukket: b}\n", "storages[0]: unknown key 'bukket'; fix: use"),
    ("storages:\n  - {kind: import, prefix: x, bucket: My_Bucket}\n", "bucket 'My_Bucket' is not a valid S3 bucket name"),
    ("storages:\n  - {kind: import, prefix: x, bucket: a..b}\n", "bucket 'a..b' is not a valid S3 bucket name"),
    ("storages:\n  - {kind: import, prefix: x, region: 'eu west'}\n", "region 'eu west' is not a region name"),
    ("storages:\n  - {kind: import, prefix: x, endpoint: 'ftp://s3.example.com'}\n",
     "endpoint 'ftp://s3.example.com' is not an http(s) URL"),
    ("storages:\n  - {kind: import, prefix: x, endpoint: 'http://localhost:9000'}\n",
     "inside its container Label Studio's localhost is itself"),
    ("storages:\n  - {kind: import, prefix: x, endpoint: 'http://10.1.2.3:9000'}\n",
     "endpoint 'http://10.1.2.3:9000' is a private or reserved address, which Label Studio's SSRF protection refuses"),
    ("storages:\n  - {kind: import, prefix: x, endpoint: 'http://169.254.169.254'}\n", "is a private or reserved address"),
    ("storages:\n  - {kind: import, prefix: x, endpoint: 'https://key:pw-in-url@s3.example.com'}\n",
     "endpoint 'https://***@s3.example.com' has a query, fragment or credentials"),
    ("storages:\n  - {kind: import, prefix: x, fileFilter: '(['}\n",
     "fileFilter '([': is not a valid regular expression"),
    ("storages:\n  - {kind: import, prefix: x, presignTtlMinutes: 20000}\n",
     "presignTtlMinutes 20000 must be a whole number from 1 to 10080 minutes"),
    ("storages:\n  - {kind: import, prefix: x, presignTtlMinutes: '15'}\n", "presignTtlMinutes '15' must be a whole number"),
    ("storages:\n  - {kind: import, prefix: x, syncOnCreate: 'yes'}\n", "syncOnCreate 'yes' must be true or false"),
    ("storages:\n  - {kind: import, prefix: x, name: My Storage}\n", "name 'My Storage' must be 1-40 lower-case"),
    ("storages:\n  - {kind: import, prefix: x}\n  - {kind: import, prefix: y}\n",
     "storages[1]: name 'import' is also used by storages[0]; fix: give each storage its own `name`"),
    ("storages:\n  - {kind: import, prefix: x, credentials: 'bad name!'}\n",
     "credentials 'bad name!' must be media, ambient or a name in labelstudio:seedStorageCredentials"),
    ("storages:\n  - {kind: import, prefix: x, title: " + "t" * 300 + "}\n", "is longer than 256 characters"),
    ("storages:\n  - {kind: import, prefix: x, description: [a]}\n", "description a list must be text; fix: quote it"),
    ("storages:\n  - {kind: import, prefix: x, credentials: 5}\n", "credentials 5 must be text"),
    ("storages:\n  - {kind: import, prefix: x, recursive: 1}\n", "recursive 1 must be true or false"),
    ("storages:\n  - {kind: export, prefix: x, presign: false}\n", "presign is for import storages only"),
    ("storages:\n  - {kind: import, prefix: x, endpoint: 'https://s3.example.com?x=1'}\n",
     "has a query, fragment or credentials"),
    # what only the whole stack shows
    ("storages:\n  - {kind: import, prefix: x, credentials: partner}\n",
     "p/a.yaml: storage import: credentials 'partner' names nothing in labelstudio:seedStorageCredentials"),
    ("storages:\n  - {kind: import, prefix: x, credentials: ambient}\n",
     "storage import: credentials ambient: Label Studio has no ambient credentials for the stack's MinIO"),
    ("storages:\n  - {kind: import, prefix: /}\n",
     "storage import: has no prefix, but the media bucket also holds Label Studio's uploads"),
    ("storages:\n  - {kind: export, prefix: media/exports}\n",
     "storage export: prefix 'media/exports' overlaps Label Studio's upload folder 'media' (mediaFolder)"),
    ("storages:\n  - {kind: export, prefix: backups/postgres/exports}\n",
     "storage export: prefix 'backups/postgres/exports' overlaps backupPrefix 'backups/postgres' in the same bucket: "
     "the backup retention rule would expire its objects"),
    ("storages:\n  - {kind: import, prefix: data}\n  - {kind: export, prefix: data/}\n",
     "storage import: imports from where p/a.yaml: storage export exports annotations"),
    ("storages:\n  - {kind: import, prefix: data, recursive: true}\n  - {kind: export, prefix: data/out}\n",
     "so exports would come back as tasks; fix: give them prefixes apart"),
]

WEBHOOK_CASES = [
    ("webhooks:\n  - {actions: []}\n", "webhooks[0]: url None is required text"),
    ("webhooks:\n  - {url: 'ftp://hooks.example.com'}\n", "url 'ftp://hooks.example.com': must be an http:// or https:// URL; fix: e.g."),
    ("webhooks:\n  - {url: 'https://user:pw-in-url@hooks.example.com/x'}\n",
     "url 'https://***@hooks.example.com/x': holds credentials, which would sit in plain state"),
    ("webhooks:\n  - {url: 'http://localhost:8000/hook'}\n", "Label Studio's localhost is itself"),
    ("webhooks:\n  - {url: 'http://192.168.1.5/hook'}\n", "url 'http://192.168.1.5/hook' is a private or reserved address"),
    ("webhooks:\n  - {url: 'http://[fe80::1]/hook'}\n", "is a private or reserved address"),
    ("webhooks:\n  - {url: 'https://hooks.example.com/a b'}\n", "holds whitespace or control characters"),
    ("webhooks:\n  - {url: 'https://hooks.example.com:99999/'}\n", "is not a valid URL (Port"),
    ("webhooks:\n  - {url: 'https://hooks.example.com/" + "p" * 2100 + "'}\n", "is longer than 2048 characters"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', actions: [PROJECT_CREATED]}\n",
     "webhooks[0]: action PROJECT_CREATED is organization-only and Label Studio refuses it on a project webhook"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', actions: [annotation_created]}\n",
     "action 'annotation_created' is not one Label Studio 1.23.2 knows (PROJECT_UPDATED, TASKS_CREATED"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', actions: ANNOTATION_CREATED}\n", "actions must be a list"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', actions: [TASKS_CREATED, TASKS_CREATED]}\n",
     "actions lists TASKS_CREATED more than once"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', headers: {Authorization: x}}\n",
     "webhooks[0]: headers must not be written here"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', headersSecret: 'x y'}\n",
     "headersSecret 'x y' must name headers in labelstudio:seedWebhookHeaders"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', headersSecret: qa}\n",
     "p/a.yaml: webhook webhook: headersSecret 'qa' names nothing in labelstudio:seedWebhookHeaders"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', active: 'no'}\n", "active 'no' must be true or false"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', sendPayload: 1}\n", "sendPayload 1 must be true or false"),
    ("webhooks:\n  - {url: 'https://a.example.com'}\n  - {url: 'https://b.example.com'}\n",
     "webhooks[1]: name 'webhook' is also used by webhooks[0]; fix: give each webhook its own `name`"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', event: x}\n", "webhooks[0]: unknown key 'event'"),
    ("webhooks:\n  - {url: 42}\n", "webhooks[0]: url 42 is required text"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', name: QA_Bot}\n", "name 'QA_Bot' must be 1-40 lower-case"),
    ("webhooks:\n  - {url: 'https://hooks.example.com', actions: [7]}\n", "action '7' is not one Label Studio"),
    ("webhooks: [url]\n", "webhooks must be a list of mappings, not a list"),
]


@pytest.mark.parametrize(("text", "fragment"), STORAGE_CASES + WEBHOOK_CASES,
                         ids=[f"{i}-{c[1][:40]}" for i, c in enumerate(STORAGE_CASES + WEBHOOK_CASES)])
def test_bad_storages_and_webhooks(tmp_path: Path, text: str, fragment: str) -> None:
    found = link_problems(tmp_path, text)
    assert any(fragment in p for p in found), found
    assert all(p.startswith("labelstudio:seedProjects: p/a.yaml: ") for p in found), found


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("seedStorageCredentials", "not json", "must be a JSON object of names to objects (the value is not shown)"),
    ("seedStorageCredentials", json.dumps({"partner": KEY_SECRET}), "must be a JSON object of names to objects"),
    ("seedStorageCredentials", json.dumps({"partner": {"accessKeyId": KEY_ID}}),
     "partner.secretAccessKey must be a non-empty string (the value is not shown)"),
    ("seedStorageCredentials", json.dumps({"partner": {"accessKeyId": KEY_ID, "secretAccessKey": ""}}),
     "partner.secretAccessKey must be a non-empty string"),
    ("seedStorageCredentials", json.dumps({"partner": {"accessKeyId": KEY_ID, "secretAccessKey": KEY_SECRET,
                                                       "sessionToken": 7}}), "partner.sessionToken must be"),
    ("seedStorageCredentials", json.dumps({"partner": {"accessKeyId": KEY_ID, "secretAccessKey": KEY_SECRET,
                                                       "region": "eu-west-1"}}), "partner: unknown field 'region'"),
    ("seedStorageCredentials", json.dumps({KEY_SECRET + " x": {}}), "name number 1 must be 1-64 letters"),
    ("seedWebhookHeaders", json.dumps({"qa": {"X Token": HEADER_VALUE}}),
     "seedWebhookHeaders: qa: header name 'X Token' may hold only letters, digits, '-' and '_'"),
    ("seedWebhookHeaders", json.dumps({"qa": {"X-Token": HEADER_VALUE + "\r\nInjected: 1"}}),
     "qa: header X-Token holds a line break or NUL, so every delivery would fail (the value is not shown)"),
    ("seedWebhookHeaders", json.dumps({"qa": {"X-Token": 42}}), "qa: header X-Token must have a text value"),
    ("seedWebhookHeaders", json.dumps({"qa": {f"H{i}": HEADER_VALUE for i in range(11)}}),
     "qa: headers holds 11 headers; Label Studio keeps at most 10"),
    ("seedWebhookHeaders", json.dumps(["qa"]), "seedWebhookHeaders: must be a JSON object of names to objects"),
])
def test_storage_credentials_and_webhook_headers_come_only_from_secret_json(
        tmp_path: Path, key: str, value: str, fragment: str) -> None:
    found = link_problems(tmp_path, "", {key: value})
    assert any(p.startswith(f"labelstudio:{key}: ") and fragment in p for p in found), found
    (tmp_path / "plain").mkdir()
    plain = link_problems(tmp_path / "plain", "", {key: value}, secret=frozenset())
    assert any(p.startswith(f"labelstudio:{key}: is set in plain text; fix:") for p in plain), plain


def test_file_and_stack_wide_problems_are_reported_together(tmp_path: Path) -> None:
    text = "color: blue\n" \
           "storages:\n  - {kind: import, prefix: x, credentials: partner}\n" \
           "webhooks:\n  - {url: 'https://hooks.example.com', headersSecret: qa}\n"
    found = problems({"seedProjects": ["p/a.yaml"]}, project_with(tmp_path, text), LINK_SECRETS)
    assert any("color 'blue' is not a colour" in p for p in found), found  # the file's own problem ...
    assert any("credentials 'partner' names nothing" in p for p in found), found  # ... and the stack's
    assert any("headersSecret 'qa' names nothing" in p for p in found), found


@pytest.mark.parametrize(("config", "refused"), [
    ({"backupPrefix": "exports"}, True),  # the dev project files export under exports/<project>
    ({"backupPrefix": "exports", "backupBucket": "dumps-bucket"}, False),  # dumps in a bucket of their own
    ({"backupPrefix": "exports", "backupEnabled": False}, False),  # no retention rule, nothing expires
])
def test_a_storage_under_the_backup_prefix_is_refused(tmp_path: Path, config: dict[str, object], refused: bool) -> None:
    found = link_problems(tmp_path, "storages:\n  - {kind: export, prefix: exports/photos}\n", config)
    overlap = [p for p in found if "overlaps backupPrefix 'exports'" in p]
    assert bool(overlap) is refused, found
    assert all("fix: a prefix outside 'exports', or another backupPrefix" in p for p in overlap), overlap


def test_valid_storage_edges_are_accepted(tmp_path: Path) -> None:
    text = """storages:
  - {kind: import, name: all, bucket: other-bucket, prefix: ''}     # a whole bucket of its own
  - {kind: import, name: top, prefix: data}                        # reads data/* only ...
  - {kind: export, name: below, prefix: data/out}                  # ... so this export is not re-imported
  - {kind: export, name: elsewhere, prefix: data, bucket: other-bucket, credentials: ambient}
webhooks:
  - {name: all-events, url: 'http://203.0.114.7:8080/hook'}        # a public address literal
"""
    s = parse({"seedProjects": ["p/a.yaml"], "mediaMode": "s3", "mediaCredentials": "iam"}, stack="dev",
              base_dir=project_with(tmp_path, text))
    assert [st.name for st in s.seed_projects[0].storages] == ["all", "top", "below", "elsewhere"]
    assert s.seed_projects[0].webhooks[0].actions == ()


def test_the_dev_stack_seeds_storages_on_the_media_bucket_and_a_webhook() -> None:
    s = parse({"seedProjects": ["seed/projects/product-photos.yaml", "seed/projects/support-tickets.yaml"]},
              stack="dev", base_dir=ROOT)
    kinds = sorted((st.kind, st.prefix) for p in s.seed_projects for st in p.storages)
    assert kinds == [("export", "exports/product-photos"), ("export", "exports/support-tickets"),
                     ("import", "imports/product-photos"), ("import", "imports/support-tickets")]
    assert all(not st.bucket and st.credentials == "media" for p in s.seed_projects for st in p.storages)
    hooks = [w for p in s.seed_projects for w in p.webhooks]
    assert len(hooks) == 1 and hooks[0].actions
