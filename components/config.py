"""Reads the `labelstudio:` stack config from the Pulumi runtime into Settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from components.settings import DEFAULTS, NAMESPACE, Settings, SettingsError, parse
from components.settings_checks import NOT_JSON, load_json

REPO_ROOT = Path(__file__).resolve().parent.parent


def raw_config() -> tuple[dict[str, Any], frozenset[str]]:
    """All `labelstudio:*` keys (values as given) and which of them are secret."""
    merged: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    raw: dict[str, Any] = {}
    secret: set[str] = set()
    for full_key, value in merged.items():
        ns, _, key = full_key.partition(":")
        if ns != NAMESPACE or not key:
            continue
        raw[key] = _decode(key, value)
        if runtime_config.is_config_secret(full_key) or full_key in runtime_config.get_config_secret_keys_env():
            secret.add(key)
    return raw, frozenset(secret)


def _decode(key: str, value: Any) -> Any:
    """The engine passes every value as a string; lists arrive as JSON text.

    Only list settings are decoded: a password that happens to read as JSON (`[1, 2]`) stays
    the string it is.
    """
    is_list = isinstance(DEFAULTS.get(key, ("",))[0], list)
    if is_list and isinstance(value, str) and value[:1] in ("[", "{"):
        decoded = load_json(value)
        return value if decoded is NOT_JSON else decoded  # not JSON: the settings say what is wrong
    return value


class InvalidSettings(pulumi.RunError):
    """Stack config is invalid: Pulumi prints the message alone, without a traceback."""


def load_settings() -> Settings:
    """Settings for the current stack, or fail with every problem listed (nothing declared)."""
    raw, secret_keys = raw_config()
    try:
        return parse(raw, stack=pulumi.get_stack(), secret_keys=secret_keys, base_dir=REPO_ROOT)
    except SettingsError as err:
        raise InvalidSettings(str(err)) from None
