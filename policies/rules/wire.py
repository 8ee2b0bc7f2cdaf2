"""Reading values in the engine's wire form.

Secrets arrive as `{SIG_KEY: SECRET_SIG, "value": ...}`. During preview, values computed from
other resources' outputs are unknown: pulumi-policy's proxy raises `UnknownValueError` when one is
read. `get` returns `UNKNOWN` instead, so a rule can skip what it cannot judge yet (`pulumi up`
runs the pack again with the values known).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import UnknownValueError

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - Pulumi wire signature
UNKNOWN_SENTINELS = frozenset({
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58", "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
})


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


def is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and _raw(value, SIG_KEY) == SECRET_SIG


def reveal(value: Any) -> Any:
    """The value inside a secret marker (for names and shapes only: never print it)."""
    while is_secret(value):
        value = _raw(value, "value")
    return value


def _raw(mapping: Mapping[str, Any], key: str) -> Any:
    try:
        return mapping.get(key)
    except UnknownValueError:
        return UNKNOWN


def get(mapping: Any, *path: str | int, default: Any = None) -> Any:
    """`mapping[a][b]...` through secrets, or `default` if missing, or UNKNOWN if not known yet."""
    value = mapping
    for key in path:
        value = reveal(value)
        if value is UNKNOWN:
            return UNKNOWN
        if isinstance(key, int):
            if not is_list(value) or key >= len(value):
                return default
            try:
                value = value[key]
            except UnknownValueError:
                return UNKNOWN
        else:
            if not isinstance(value, Mapping):
                return default
            value = _raw(value, key)
            if value is None:
                return default
        if isinstance(value, str) and value in UNKNOWN_SENTINELS:
            return UNKNOWN
    return value


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def items(value: Any) -> list[Any]:
    """The elements of a list (secret-wrapped elements stay wrapped); [] for anything else."""
    value = reveal(value)
    if not is_list(value):
        return []
    out: list[Any] = []
    for i in range(len(value)):
        try:
            out.append(value[i])
        except UnknownValueError:
            out.append(UNKNOWN)
    return out


def text(value: Any) -> str | None:
    """A known string (numbers as their text), else None."""
    value = reveal(value)
    if isinstance(value, bool) or value is UNKNOWN or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if isinstance(value, str | int | float) else None


TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", ""})


def truthy(value: Any) -> bool | None:
    """True/False for booleans and boolean words (as Django settings read them), else None."""
    value = reveal(value)
    if isinstance(value, bool):
        return value
    word = text(value)
    if word is None:
        return None
    word = word.strip().lower()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else None
