"""The seed spec beyond what test_bad_inputs covers: new project fields, extension points, users
and their passwords. Every bad value is reported with file/key, value and fix, never a password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
                                       "storages:\n  - {kind: s3, prefix: in}\nwebhooks: []\n"})
    s = parse({"seedProjects": ["p/a.yaml"]}, stack="dev", base_dir=base)
    project = s.seed_projects[0]
    assert (project.instructions, project.color, project.allow_delete_with_annotations) == ("Read me", "#A1B2C3", True)
    assert project.extensions == (("storages", ({"kind": "s3", "prefix": "in"},)), ("webhooks", ()))


@pytest.mark.parametrize(("text", "fragment"), [
    ("color: blue\n", "p/a.yaml: color 'blue' is not a colour; fix: write #RRGGBB"),
    ("allowDeleteWithAnnotations: 'yes'\n", "p/a.yaml: allowDeleteWithAnnotations 'yes' must be true or false"),
    ("instructions: [a]\n", "p/a.yaml: instructions a list must be text; fix: quote it"),
    ("storages: {kind: s3}\n", "p/a.yaml: storages a dict must be a list of mappings"),
    ("mlBackends: [url]\n", "p/a.yaml: mlBackends a list must be a list of mappings"),
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
    ("users:\n  - {email: a@example.com, username: sam}\n  - {email: sam@example.com}\n", None,
     "u/t.yaml users[1]: names its Pulumi resource user-sam, as u/t.yaml users[0] does"),
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
