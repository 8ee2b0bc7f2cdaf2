"""Reading one entry of a project file's list (a storage, a webhook): typed values with defaults,
every problem reported as `<list>[<index>]: <key> <value> ...; fix: ...` (the caller adds the file)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from components.secret import Secret
from components.seed_files import Fail
from components.settings_checks import DUPLICATE_KEY, DUPLICATE_KEY_PROBLEM, load_json, show

NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")  # a part of a Pulumi resource name
SECRET_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # a key of a secret JSON config value
_FIELD_NAME = re.compile(r"[A-Za-z]{1,30}")  # what a field name looks like (a key or token does not)


class Entry:
    def __init__(self, where: str, raw: Mapping[Any, Any], fail: Fail) -> None:
        self.where, self.raw, self._fail = where, raw, fail

    def bad(self, message: str) -> None:
        self._fail(f"{self.where}: {message}")

    def unknown_keys(self, allowed: Iterable[str], elsewhere: Mapping[str, str] | None = None) -> None:
        """Keys not in `allowed`; `elsewhere` maps keys that belong to another kind to the reason."""
        allowed = set(allowed)
        for key in sorted(set(self.raw) - allowed, key=str):
            if elsewhere and key in elsewhere:
                self.bad(f"{key} {elsewhere[key]}; fix: remove it")
            else:
                self.bad(f"unknown key {show(key)}; fix: use {', '.join(sorted(allowed))}")

    def text(self, key: str, default: str = "", limit: int = 0) -> str:
        value = self.raw.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            self.bad(f"{key} {show(value)} must be text; fix: quote it")
            return default
        if limit and len(value) > limit:
            self.bad(f"{key} {show(value)} is longer than {limit} characters; fix: shorten it")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            self.bad(f"{key} {show(value)} must be true or false; fix: write true or false, unquoted")
            return default
        return value

    def integer(self, key: str, default: int, low: int, high: int, unit: str = "") -> int:
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.bad(f"{key} {show(value)} must be a whole number from {low} to {high}{unit}; fix: set one")
            return default
        return value

    def name(self, default: str) -> str:
        value = self.raw.get("name", default)
        if not isinstance(value, str) or not NAME.fullmatch(value):
            self.bad(f"name {show(value)} must be 1-40 lower-case letters, digits and '-' (it names the Pulumi "
                     "resource); fix: e.g. name: photos")
            return default
        return value


def unique_names(kind: str, names: list[tuple[str, str]], fail: Fail) -> None:
    """`names` as (where, name): each name once per project (it is part of the resource name)."""
    seen: dict[str, str] = {}
    for where, name in names:
        if name in seen:
            fail(f"{where}: name {name!r} is also used by {seen[name]}; fix: give each {kind} its own `name`")
        seen.setdefault(name, where)


def unknown_secret_field(key: str, index: int, known: Iterable[str]) -> str:
    """The problem with an unknown field of an object in a secret config value. The field is named
    only when it reads like a field name (letters only); one with digits or signs may be a key or
    token written where a name belongs (`{"AKIA...": "..."}`), so it is counted, not shown."""
    known = list(known)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    fix = f"rename it to {close[0]}" if close else f"use only {', '.join(known)}, each naming its value"
    if _FIELD_NAME.fullmatch(key):
        return f"unknown field {key!r}; fix: {fix}"
    return f"unknown field number {index} (not shown: it sits in a secret); fix: {fix}"


def secret_json_object(secret: Secret | None, key: str, example: str,
                       fail: Callable[[str], None]) -> dict[str, Any]:
    """A secret config value holding a JSON object of names to objects; values are never shown."""
    if secret is None:
        return {}
    value = load_json(secret.value, unique_keys=True)
    if value is DUPLICATE_KEY:
        fail(DUPLICATE_KEY_PROBLEM)
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        fail(f"must be a JSON object of names to objects (the value is not shown); fix: "
             f"`pulumi config set --secret labelstudio:{key} '{example}'`")
        return {}
    good = {}
    for index, (name, item) in enumerate(value.items(), start=1):
        if not SECRET_NAME.fullmatch(name):  # not shown: it sits in a secret
            fail(f"name number {index} must be 1-64 letters, digits, '_', '.' or '-'; fix: rename it")
        else:
            good[name] = item
    return good
