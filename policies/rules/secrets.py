"""Secrets stay secret: in env, in Kubernetes objects and in the seed resources' inputs."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from rules.base import MANDATORY, Config, View, rule
from rules.shapes import (
    DOCKER_CONTAINER,
    DYNAMIC_PREFIX,
    K8S_CONFIGMAP,
    K8S_SECRET,
    EnvVar,
    cname,
    data_env,
    docker_env,
    docker_name,
    k8s_env,
)
from rules.wire import get, is_secret, reveal, text
from rules.workloads import k8s_pairs

SECRET_WORDS = ("PASSWORD", "PASSWD", "PWD", "SECRET", "TOKEN", "KEY", "APIKEY", "CREDENTIAL",
                "CREDENTIALS", "PRIVATE", "AUTH", "DSN", "PASSPHRASE")
# Settings whose names contain a secret word but hold no secret.
NOT_SECRETS = frozenset({"SENTRY_DSN", "FRONTEND_SENTRY_DSN", "AUTH_TYPE", "KEY_PREFIX"})
_SECRET_NAME = re.compile(r"(^|_)(" + "|".join(SECRET_WORDS) + r")(_|$)")
_NON_SECRET_VALUE = re.compile(r"^(|true|false|yes|no|on|off|0|1|/[\w./-]*)$", re.IGNORECASE)


def secret_looking(name: str, extra_allowed: frozenset[str] = frozenset()) -> bool:
    upper = name.upper()
    return (upper not in NOT_SECRETS and upper not in extra_allowed and
            (_SECRET_NAME.search(upper) is not None or upper.endswith(("PASSWORD", "TOKEN", "SECRET"))))


def plain_secret(var: EnvVar, allowed: frozenset[str]) -> bool:
    """A secret-looking name with a plain value that is not a flag, empty or a file path."""
    return (var.source in ("plain", "configMap") and secret_looking(var.name, allowed) and
            not _NON_SECRET_VALUE.match(var.value or ""))


ALLOW_OPTION = {"allowNames": {"type": "array", "items": {"type": "string"}, "default": [],
                               "description": "env names that look secret but are not"}}


@rule(name="no-plain-secret-env", severity="critical", level=MANDATORY, options=ALLOW_OPTION,
      description="No secret-looking env value (PASSWORD, SECRET, TOKEN, KEY, ...) is set in plain text "
                  "(Docker env, Kubernetes ConfigMaps).",
      why="A plain value lands unencrypted in the Pulumi state, in `docker inspect` and in `kubectl get`.",
      remediation="Docker: build the env entry from a Pulumi secret (`pulumi.Output.secret`, "
                  "`config.require_secret`); Kubernetes: put it in a Secret and reference it.")
def no_plain_secret_env(view: View, config: Config) -> Iterator[str]:
    allowed = frozenset(n.upper() for n in config.get("allowNames") or [])
    if view.type == DOCKER_CONTAINER:
        env, where = docker_env(view.props), f"container {docker_name(view)}"
    elif view.type == K8S_CONFIGMAP:
        env, where = data_env(view, "configMap"), "ConfigMap"
    else:
        return
    for var in env.values():
        if plain_secret(var, allowed):
            yield f"{where}: {var.name} is set in plain text"


@rule(name="k8s-env-secret-key-ref", severity="critical", level=MANDATORY, options=ALLOW_OPTION,
      description="Kubernetes containers get secret-looking env only through `valueFrom.secretKeyRef`.",
      why="An env `value` (even from a Pulumi secret) is stored in plain in the pod spec, readable by anyone "
          "who can read Deployments; a ConfigMap is not secret either.",
      remediation="Store the value in a Kubernetes Secret and use `valueFrom: {secretKeyRef: {name, key}}`.")
def k8s_env_secret_key_ref(view: View, config: Config) -> Iterator[str]:
    allowed = frozenset(n.upper() for n in config.get("allowNames") or [])
    for _pod, container in k8s_pairs(view):
        for var in k8s_env(container).values():
            if not secret_looking(var.name, allowed) or var.source in ("secretKeyRef", "other"):
                continue
            if var.source == "plain" and _NON_SECRET_VALUE.match(var.value or ""):
                continue
            how = {"secret": "a Pulumi secret in `value`",  # nosec B105 - a message, not a password
                   "configMapKeyRef": "a ConfigMap"}.get(var.source, "`value`")
            yield f"container {cname(container)}: {var.name} comes from {how}, not a secretKeyRef"


@rule(name="k8s-secret-data-secret", severity="high", level=MANDATORY,
      description="Kubernetes Secret `data`/`stringData` are Pulumi secrets.",
      why="Otherwise the values sit unencrypted in the Pulumi state and in preview diffs.",
      remediation="Wrap the values in `pulumi.Output.secret(...)` (or build them from secret config).")
def k8s_secret_data_secret(view: View, _config: Config) -> Iterator[str]:
    if view.type != K8S_SECRET:
        return
    for key in ("data", "stringData"):
        data = get(view.props, key)
        if data is None or is_secret(data):
            continue
        plain = sorted(n for n in (data if isinstance(data, Mapping) else {}) if not is_secret(get(data, n)))
        if plain:
            yield f"Secret {key} keys {', '.join(plain)} are not Pulumi secrets"


def _secret_or_empty(value: Any) -> bool:
    return value is None or is_secret(value) or reveal(value) in ("", [], {})


@rule(name="seed-user-password-secret", severity="critical", level=MANDATORY,
      description="Seeded Label Studio users' passwords are Pulumi secrets.",
      why="A plain password is readable in the stack file, the state and every preview.",
      remediation="`pulumi config set --secret` the password and pass it as a secret.")
def seed_user_password_secret(view: View, _config: Config) -> Iterator[str]:
    if view.type == DYNAMIC_PREFIX + "User" and not _secret_or_empty(get(view.props, "password")):
        yield f"user {text(get(view.props, 'email')) or view.name}: password is not a secret"


@rule(name="seed-webhook-headers-secret", severity="high", level=MANDATORY,
      description="Seeded webhooks' headers (they carry credentials) are Pulumi secrets.",
      why="Webhook headers usually hold the receiver's bearer token or basic-auth credentials.",
      remediation="Give the headers as secret config; the Webhook resource passes them as a secret.")
def seed_webhook_headers_secret(view: View, _config: Config) -> Iterator[str]:
    if view.type != DYNAMIC_PREFIX + "Webhook":
        return
    headers = get(view.props, "headers")
    if _secret_or_empty(headers):
        return
    plain = sorted(k for k in (headers if isinstance(headers, Mapping) else {}) if not is_secret(get(headers, k)))
    if plain:
        yield f"webhook {view.name}: headers {', '.join(plain)} are not secrets"


CREDENTIAL_INPUTS = ("api_token", "token", "access_key_id", "secret_access_key", "session_token",
                     "api_key", "basic_auth_pass", "auth_token", "private_key")


@rule(name="seed-credentials-secret", severity="critical", level=MANDATORY,
      description="Credentials given to this project's dynamic resources (API tokens, S3 keys, ML backend "
                  "auth) are Pulumi secrets.",
      why="Dynamic-resource inputs are stored in the state and shown in previews unless marked secret.",
      remediation="Pass them as `pulumi.Output.secret(...)` or from secret config.")
def seed_credentials_secret(view: View, _config: Config) -> Iterator[str]:
    if not view.type.startswith(DYNAMIC_PREFIX):
        return
    for key in CREDENTIAL_INPUTS:
        if not _secret_or_empty(get(view.props, key)):
            yield f"{view.name}: {key} is not a secret"
