"""What a Storage resource accepts, checked at preview (unknown values skipped), and how it maps to
Label Studio 1.23.2's S3 storage API. Pure functions: the provider, the seed spec and tests share them.

Inputs are named as the API fields, except the credentials (`access_key_id`, `secret_access_key`,
`session_token`, sent as `aws_*`), which the policy pack knows by these names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure

from components import s3_names
from components.providers.common import as_int, checkable, connection_failures, is_known, url_problem

KINDS = ("import", "export")
CONNECTION = ("api_url", "api_token", "health_timeout_seconds")
CREDENTIALS = ("access_key_id", "secret_access_key", "session_token")  # never read back: LS hides them
LOCATION = ("bucket", "prefix", "region_name", "s3_endpoint", *CREDENTIALS)  # where the objects are, and how
TEXTS = ("title", "description", "bucket", "prefix", "region_name", "s3_endpoint")
IMPORT_FIELDS = ("regex_filter", "use_blob_urls", "presign", "presign_ttl", "recursive_scan")
EXPORT_FIELDS = ("can_delete_objects",)
PROVIDER_ONLY = ("sync_on_create", "create_prefix", "admin_endpoint")  # never sent to Label Studio
REPLACES = ("api_url", "project_id", "kind")  # another server, project or kind is another storage
INPUTS = (*CONNECTION, "project_id", "kind", *TEXTS, *CREDENTIALS, *IMPORT_FIELDS, *EXPORT_FIELDS,
          *PROVIDER_ONLY)
DEFAULTS: dict[str, Any] = {"use_blob_urls": False, "presign": True, "presign_ttl": 1, "recursive_scan": False,
                            "can_delete_objects": False}  # Label Studio's own
PRESIGN_TTL = (1, 10080)  # minutes: SigV4 presigned URLs last at most 7 days
TITLE_LENGTH = 256  # Label Studio's column
_BOOLS = ("use_blob_urls", "presign", "recursive_scan", "can_delete_objects", "sync_on_create", "create_prefix")


def prefix_problem(prefix: str) -> str | None:
    """Why a (normalised) prefix cannot be used; None when it can ('' is the whole bucket)."""
    problem = s3_names.prefix_problem(prefix)
    return f"prefix {problem}" if problem else None


def key_has_blanks(value: str) -> bool:
    """An S3 access key, secret key or session token holds no whitespace or control characters: a
    pasted line break would fail every request Label Studio signs with it."""
    return any(c.isspace() or not c.isprintable() for c in value)


def regex_problem(pattern: str) -> str | None:
    """Label Studio compiles the filter with Python's `re` only when it syncs: check it now."""
    try:
        re.compile(pattern)
    except (re.error, OverflowError) as error:  # OverflowError: a{99999999999}
        return f"regex_filter is not a valid regular expression ({error})"
    except RecursionError:
        return "regex_filter is not a valid regular expression (it nests groups too deeply)"
    return None


def fields_of(kind: str) -> tuple[str, ...]:
    """The API fields this resource manages for a storage of `kind`."""
    return (*TEXTS, *(IMPORT_FIELDS if kind == "import" else EXPORT_FIELDS))


def input_failures(news: Mapping[str, Any]) -> list[CheckFailure]:
    """Every problem at once; values unknown during preview are skipped."""
    failures = connection_failures(news)

    def known(key: str) -> bool:
        return checkable(news, key)

    def fail(key: str, reason: str) -> None:
        failures.append(CheckFailure(key, reason))

    for key in ("project_id", "kind", "bucket"):
        if news.get(key) is None:
            fail(key, f"{key} is required")
    if known("project_id") and (as_int(news["project_id"]) or 0) < 1:
        fail("project_id", "project_id must be the id of a Label Studio project (a whole number >= 1)")
    kind = news.get("kind")
    if known("kind") and kind not in KINDS:
        fail("kind", f"kind must be one of {', '.join(KINDS)}, got {str(kind)[:20]!r}")
    for key in (*TEXTS, "regex_filter", "admin_endpoint", *CREDENTIALS):
        if known(key) and not isinstance(news[key], str):
            fail(key, f"{key} must be a string")  # never shown: it may be a credential
    if known("bucket") and isinstance(news["bucket"], str) and not s3_names.bucket_ok(news["bucket"]):
        fail("bucket", f"bucket must be {s3_names.BUCKET_RULE}")
    region = news.get("region_name")
    if known("region_name") and isinstance(region, str) and region and not s3_names.REGION.fullmatch(region):
        fail("region_name", "region_name must be a region name, e.g. eu-west-1 (or empty: the endpoint's default)")
    if known("prefix") and isinstance(news["prefix"], str):
        problem = prefix_problem(news["prefix"])
        if problem:
            fail("prefix", problem)
    if known("title") and isinstance(news["title"], str) and len(news["title"]) > TITLE_LENGTH:
        fail("title", f"title must be at most {TITLE_LENGTH} characters")
    for key in ("s3_endpoint", "admin_endpoint"):
        if known(key) and isinstance(news[key], str) and news[key] and url_problem(news[key]):
            fail(key, f"{key} must be an http(s) URL, or empty for AWS S3 ({key} {url_problem(news[key])})")
    if known("regex_filter") and isinstance(news["regex_filter"], str):
        problem = regex_problem(news["regex_filter"])
        if problem:
            fail("regex_filter", problem)
    for key in _BOOLS:
        if known(key) and not isinstance(news[key], bool):
            fail(key, f"{key} must be true or false")
    if known("presign_ttl"):
        low, high = PRESIGN_TTL
        ttl = as_int(news["presign_ttl"])
        if ttl is None or not low <= ttl <= high:
            fail("presign_ttl", f"presign_ttl must be {low} to {high} minutes (S3 presigned URLs last at most 7 days)")
    for key in CREDENTIALS:
        if known(key) and isinstance(news[key], str) and key_has_blanks(news[key]):
            fail(key, f"{key} holds whitespace or control characters, which no S3 key has (the value is not shown)")
    if bool(news.get("access_key_id")) != bool(news.get("secret_access_key")):
        fail("secret_access_key", "give both access_key_id and secret_access_key, or neither (Label Studio "
                                  "then uses its own ambient credentials); the values are not shown")
    if news.get("session_token") and not news.get("access_key_id"):
        fail("session_token", "session_token goes with access_key_id and secret_access_key")
    if kind in KINDS:
        other = EXPORT_FIELDS if kind == "import" else (*IMPORT_FIELDS, "create_prefix")
        for key in other:
            if news.get(key) is not None:
                fail(key, f"{key} is not a setting of {kind} storages; fix: remove it")
    return failures


def normalised(news: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs as stored: a prefix without surrounding '/' (check() hands this to the engine)."""
    out = dict(news)
    if isinstance(out.get("prefix"), str) and is_known(out["prefix"]):
        out["prefix"] = out["prefix"].strip("/")
    return out


def payload(props: Mapping[str, Any]) -> dict[str, Any]:
    """The whole managed state as API fields: every PATCH sends all of it, credentials included
    (Label Studio never shows them, so only sending them keeps them as declared)."""
    kind = str(props["kind"])
    body: dict[str, Any] = {"project": as_int(props["project_id"])}
    for key in fields_of(kind):
        value = props.get(key)
        if key in DEFAULTS:
            value = DEFAULTS[key] if value is None else value
            body[key] = as_int(value) if key == "presign_ttl" else value
        else:
            body[key] = value or None  # Label Studio stores "none" as null
    for key in CREDENTIALS:
        body[f"aws_{key}"] = props.get(key) or None
    return body


def same(key: str, old: Any, new: Any) -> bool:
    """Equal as far as Label Studio is concerned: null text is empty text, a missing flag its default."""
    if key in DEFAULTS:
        first = DEFAULTS[key] if old is None else old
        second = DEFAULTS[key] if new is None else new
        return bool(first == second) if key != "presign_ttl" else as_int(first) == as_int(second)
    if key in TEXTS or key in ("regex_filter", "admin_endpoint") or key in CREDENTIALS:
        return (old or "") == (new or "")
    if key in ("sync_on_create", "create_prefix"):
        return bool(old) == bool(new)
    if key == "project_id":
        return as_int(old) == as_int(new)
    return bool(old == new)


def api_changes(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """The managed fields (credentials included) whose change needs a PATCH."""
    keys = (*fields_of(str(news.get("kind"))), *CREDENTIALS)
    return [k for k in keys if not same(k, olds.get(k), news.get(k))]


def changed_inputs(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    return [k for k in INPUTS if not is_known(news.get(k)) or not same(k, olds.get(k), news.get(k))]


def outputs(props: Mapping[str, Any], storage_id: int) -> dict[str, Any]:
    return {**{k: props[k] for k in INPUTS if k in props}, "storage_id": storage_id}


def live_outputs(props: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """State as Label Studio has it, field by field (credentials stay as declared: LS hides them)."""
    outs = outputs(props, int(live["id"]))
    outs["project_id"] = live.get("project")
    for key in fields_of(str(props.get("kind"))):
        value = live.get(key)
        if key in TEXTS or key == "regex_filter":
            value = value or ""
            if key not in props and not value:
                continue
        outs[key] = value
    return outs


def drift(props: Mapping[str, Any], live_outs: Mapping[str, Any]) -> list[str]:
    keys = ("project_id", *fields_of(str(props.get("kind"))))
    return [k for k in keys if not same(k, props.get(k), live_outs.get(k))]
