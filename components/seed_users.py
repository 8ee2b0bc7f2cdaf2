"""Seed users: who should find an account in Label Studio after `pulumi up`.

`labelstudio:seedUsers` is a list of user files (YAML, relative to the repo), each holding
`users:` with a list of entries (Pulumi's project config types allow lists of strings only, so
entries are not written inline in the stack file). An entry:

    email: anna@example.com        # required; a new email is a new user
    username: anna                 # optional, else Label Studio's default (the email's local part)
    firstName: Anna                # optional
    lastName: Lind                 # optional
    passwordSecret: anna           # optional: the name of her password in labelstudio:seedUserPasswords
    generatePassword: true         # or: a random password, in the secret stack output seedUserPasswords
    name: anna                     # optional: her Pulumi resource is user-<name>, else user-<email's local part>

Passwords never sit in a repo file or in plain config: `labelstudio:seedUserPasswords` is one
secret config value, a JSON object mapping names to passwords, set with
`pulumi config set --secret labelstudio:seedUserPasswords '{"anna": "<password>", ...}'`.
Each user's Pulumi resource is `user-<slug of name, else of the email's local part>`: never of the
username, which updates in place. A new resource name is a new resource: Pulumi would create the
new one (adopting her by email) and then delete the old one, which removes her from the organization.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.secret import Secret
from components.seed_files import UNREADABLE, parse_yaml, read_file
from components.settings_checks import show

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")  # Django refuses one-letter top-level domains
PASSWORD_LENGTH = (8, 128)  # Label Studio's AUTH_PASSWORD_MIN_LENGTH / MAX_LENGTH
NAME_LENGTH = 256
_FIELDS = {"email": "email", "username": "username", "firstName": "first_name", "lastName": "last_name"}
_KEYS = {*_FIELDS, "passwordSecret", "generatePassword", "name"}
PASSWORDS_KEY = "seedUserPasswords"


@dataclass(frozen=True)
class SeedUser:
    source: str  # the user file and entry, e.g. "seed/users/team.yaml users[0]"
    email: str
    username: str | None
    first_name: str | None
    last_name: str | None
    password: Secret | None
    generate_password: bool = False
    name: str | None = None  # names her Pulumi resource; else the email's local part

    @property
    def slug(self) -> str:
        return user_slug(self.name or self.email.split("@")[0])


def user_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def load_seed_users(base_dir: Path, items: list[Any], passwords: Mapping[str, Any] | None,
                    fail: Callable[[str], None]) -> tuple[SeedUser, ...]:
    """Every user from `items`; each problem goes to `fail` naming file/entry, key, value and fix."""
    root = base_dir.resolve()
    users: list[SeedUser] = []
    for index, item in enumerate(items, start=1):
        if isinstance(item, str):
            for where, entry in _file_entries(root, item, fail):
                _add(users, where, entry, passwords, fail)
        else:
            fail(f"item {index} {show(item)} is not a user file; fix: give a path such as seed/users/team.yaml")
    _check_unique(users, fail)
    return tuple(users)


def _file_entries(root: Path, path: str, fail: Callable[[str], None]) -> list[tuple[str, Any]]:
    where = path if path.isprintable() and len(path) <= 120 else show(path)
    _, text, problem = read_file(root, root, path, "a path relative to the repo root")
    if problem:
        fail(f"{where}: {problem}")
        return []
    doc = parse_yaml(text, lambda message: fail(f"{where}: {message}"))
    if doc is UNREADABLE:
        return []
    if not isinstance(doc, dict) or set(doc) != {"users"} or not isinstance(doc["users"], list):
        fail(f"{where}: must hold `users:` and a list of entries only; fix: see seed/users/ for an example")
        return []
    return [(f"{where} users[{i}]", entry) for i, entry in enumerate(doc["users"])]


def _add(users: list[SeedUser], where: str, entry: Any, passwords: Mapping[str, Any] | None,
         fail: Callable[[str], None]) -> None:
    def bad(message: str) -> None:
        fail(f"{where}: {message}")

    if not isinstance(entry, dict):
        bad(f"{show(entry)} is not a mapping; fix: write `email: ...` and the other keys under it")
        return
    if "password" in entry:  # its value is never shown
        bad("password must not be written here (a repo or stack file is not a secret store); fix: "
            f"passwordSecret: <name>, and the password under that name in the secret labelstudio:{PASSWORDS_KEY}")
    for key in sorted(set(entry) - _KEYS - {"password"}, key=str):
        bad(f"unknown key {show(key)}; fix: use {', '.join(sorted(_KEYS))}")
    email = entry.get("email")
    if not isinstance(email, str) or not EMAIL.fullmatch(email.strip()):
        bad(f"email {show(email)} is not an email address; fix: write one, e.g. anna@example.com")
        email = ""
    values: dict[str, str | None] = {}
    for key in ("username", "firstName", "lastName"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > NAME_LENGTH):
            bad(f"{key} {show(value)} must be text of at most {NAME_LENGTH} characters; fix: quote it or shorten it")
            value = None
        values[key] = value
    name = entry.get("name")
    if name is not None and (not isinstance(name, str) or not user_slug(name) or len(name) > 60):
        bad(f"name {show(name)} must be text of at most 60 characters with a letter or digit (it names her Pulumi "
            "resource); fix: e.g. name: anna")
        name = None
    elif name is None and email and not user_slug(email.split("@")[0]):
        bad(f"email {show(email)} has no letter or digit before the @ to name her Pulumi resource; "
            "fix: give her a name, e.g. name: anna")
    password = _password(entry.get("passwordSecret"), passwords, bad)
    generate = entry.get("generatePassword", False)
    if not isinstance(generate, bool):
        bad(f"generatePassword {show(generate)} must be true or false; fix: write true or false, unquoted")
    elif generate and "passwordSecret" in entry:
        bad("has both passwordSecret and generatePassword; fix: keep one of them")
    if email:
        users.append(SeedUser(where, email.strip(), values["username"], values["firstName"], values["lastName"],
                              password, generate is True, name))


def _password(name: Any, passwords: Mapping[str, Any] | None, bad: Callable[[str], None]) -> Secret | None:
    if name is None:
        return None
    if not isinstance(name, str) or not name:
        bad(f"passwordSecret {show(name)} must be the name of a password; fix: e.g. passwordSecret: anna")
        return None
    value = (passwords or {}).get(name)
    if value is None:
        bad(f"passwordSecret {show(name)} names no password in labelstudio:{PASSWORDS_KEY}; fix: add it: "
            f"""`pulumi config set --secret labelstudio:{PASSWORDS_KEY} '{{"{name}": "<password>", ...}}'`""")
        return None
    low, high = PASSWORD_LENGTH
    if not isinstance(value, str) or not low <= len(value) <= high:
        bad(f"the password named {show(name)} must be {low} to {high} characters (Label Studio's rule; "
            "the value is not shown); fix: set a longer one")
        return None
    return Secret(value)


def _check_unique(users: list[SeedUser], fail: Callable[[str], None]) -> None:
    emails: dict[str, str] = {}  # lowercased email -> where it was first given
    slugs: dict[str, tuple[str, str]] = {}  # resource slug -> (where, lowercased email)
    for user in users:
        email = user.email.lower()
        if email in emails:
            fail(f"{user.source}: email {show(user.email)} is also given by {emails[email]}; fix: list each user once")
        emails.setdefault(email, user.source)
        other = slugs.setdefault(user.slug, (user.source, email))
        if other[1] != email:
            fail(f"{user.source}: names its Pulumi resource user-{user.slug}, as {other[0]} does; "
                 "fix: give one of them a `name:` of its own (keep it once deployed)")
