"""Retention of the database dumps as a Pulumi dynamic resource: S3 lifecycle rules on the backup prefix.

The bucket expires each dump `days` after it was written (and, in a versioned bucket such as the
media bucket, removes the expired version a day later and then its delete marker). Only the rules
this resource owns (their ids start with `labelstudio-backups:`) are touched: other lifecycle rules
of the bucket stay as they are. The bucket must exist; it is never created or deleted here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from botocore.exceptions import ClientError
from pulumi import Input, ResourceOptions
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from components import s3_names
from components.providers.common import as_int, checkable, is_known
from components.providers.logs import OperationLog
from components.providers.media_bucket import bucket_client, endpoint_failures, wait_for_endpoint

RESOURCE = "labelstudio:BackupRetention"
INPUTS = ("endpoint", "region", "bucket", "prefix", "days", "access_key_id", "secret_access_key")
ID_PREFIX = "labelstudio-backups:"  # every rule this resource owns; the rest of the bucket's rules stay
NONCURRENT_DAYS = 1  # versioned bucket: an expired dump's old version goes a day later
_GONE = ("404", "NoSuchBucket", "NotFound")


def retention_rules(prefix: str, days: int) -> list[dict[str, Any]]:
    """The lifecycle rules that keep dumps under `prefix/` for `days` days."""
    scope = {"Prefix": f"{prefix}/"}
    return [
        {"ID": f"{ID_PREFIX}{prefix}", "Status": "Enabled", "Filter": scope, "Expiration": {"Days": days},
         "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_DAYS}},
        {"ID": f"{ID_PREFIX}{prefix}:delete-markers", "Status": "Enabled", "Filter": scope,
         "Expiration": {"ExpiredObjectDeleteMarker": True}},
    ]


def rule_summary(rule: Mapping[str, Any]) -> dict[str, Any]:
    """What matters of a rule, the same however the server spells it (Filter or legacy Prefix).
    Unset fields are left out: the engine drops keys whose value is null from the state."""
    expiration = rule.get("Expiration") or {}
    scope = rule.get("Filter") or {}
    summary = {
        "id": rule.get("ID"), "status": rule.get("Status"),
        "prefix": scope.get("Prefix", rule.get("Prefix")),
        "days": as_int(expiration.get("Days")),
        "expired_delete_markers": bool(expiration.get("ExpiredObjectDeleteMarker")),
        "noncurrent_days": as_int((rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays")),
    }
    return {key: value for key, value in summary.items() if value is not None}


def wanted(props: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [rule_summary(r) for r in retention_rules(str(props["prefix"]), int(props["days"]))]


def input_failures(news: Mapping[str, Any]) -> list[CheckFailure]:
    """Every problem at once; values unknown during preview are skipped."""
    failures = [CheckFailure(key, f"{key} is required") for key in INPUTS[:5] if key not in news]

    def known(key: str) -> bool:
        return checkable(news, key)

    failures.extend(endpoint_failures(news))
    if known("region") and not (isinstance(news["region"], str) and s3_names.REGION.fullmatch(news["region"])):
        failures.append(CheckFailure("region", "region must be a region name, e.g. eu-west-1"))
    if known("bucket") and not s3_names.bucket_ok(news["bucket"]):
        failures.append(CheckFailure("bucket", f"bucket must be {s3_names.BUCKET_RULE}"))
    prefix = news.get("prefix")
    if known("prefix"):
        problem = (s3_names.prefix_problem(prefix) if isinstance(prefix, str) and prefix else
                   "must be a non-empty key prefix (an empty one would expire the whole bucket)")
        if problem:
            failures.append(CheckFailure("prefix", f"prefix {problem}"))
    days = as_int(news.get("days"))
    if known("days") and (days is None or days < 1):
        failures.append(CheckFailure("days", "days must be a whole number of at least 1"))
    if ("access_key_id" in news) != ("secret_access_key" in news):
        failures.append(CheckFailure("secret_access_key", "give both access_key_id and secret_access_key, "
                                     "or neither to use the ambient AWS credentials"))
    return failures


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _rules(s3: Any, bucket: str) -> list[dict[str, Any]]:
    try:
        return list(s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", []))
    except ClientError as error:
        if _code(error) == "NoSuchLifecycleConfiguration":
            return []
        if _code(error) in _GONE:
            raise RuntimeError(f"bucket {bucket} does not exist; fix: create it (or leave backupBucket empty "
                               "to use the media bucket)") from None
        raise RuntimeError(f"could not read the lifecycle rules of bucket {bucket}: {_code(error)}") from None


def _put(s3: Any, bucket: str, rules: list[dict[str, Any]], log: OperationLog) -> None:
    try:
        if rules:
            s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
        else:
            s3.delete_bucket_lifecycle(Bucket=bucket)
    except ClientError as error:
        raise RuntimeError(f"could not set the lifecycle rules of bucket {bucket}: {_code(error)}") from None
    log.event("lifecycle_set", bucket=bucket, rules=len(rules))


def _owned(rule: Mapping[str, Any], prefixes: set[str]) -> bool:
    """One of the rules of these prefixes (the rules of another stack's prefix are not ours)."""
    rule_id = str(rule.get("ID", ""))
    return any(rule_id in (f"{ID_PREFIX}{p}", f"{ID_PREFIX}{p}:delete-markers") for p in prefixes)


def _apply(props: Mapping[str, Any], drop_prefixes: set[str], log: OperationLog) -> dict[str, Any]:
    wait_for_endpoint(log, props["endpoint"])
    s3 = bucket_client(props, log)
    bucket = props["bucket"]
    kept = [r for r in _rules(s3, bucket) if not _owned(r, drop_prefixes | {str(props["prefix"])})]
    _put(s3, bucket, kept + retention_rules(str(props["prefix"]), int(props["days"])), log)
    return {**{k: props[k] for k in INPUTS if k in props}, "rules": wanted(props)}


class BackupRetentionProvider(ResourceProvider):
    """Stateless: clients are built per operation from the arguments."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, input_failures(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Changed inputs, or rules a refresh found changed or gone. Another bucket is another resource."""
        changed = [k for k in INPUTS if not is_known(news.get(k)) or olds.get(k) != news.get(k)]
        drift = is_known(news.get("prefix")) and is_known(news.get("days")) and olds.get("rules") != wanted(news)
        replaces = ["bucket"] if "bucket" in changed and is_known(news.get("bucket")) else []
        return DiffResult(changes=bool(changed or drift), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        log = OperationLog(RESOURCE, "create")
        outs = _apply(props, set(), log)
        return CreateResult(f"{props['bucket']}/{props['prefix']}", outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        log = OperationLog(RESOURCE, "read")
        s3 = bucket_client(props, log)
        try:
            s3.head_bucket(Bucket=props["bucket"])
        except ClientError as error:
            if _code(error) in _GONE:
                log.event("gone", bucket=props["bucket"])
                return ReadResult("", {})
            raise RuntimeError(f"could not read bucket {props['bucket']}: {_code(error)}") from None
        prefixes = {str(props["prefix"])}
        seen = [rule_summary(r) for r in _rules(s3, props["bucket"]) if _owned(r, prefixes)]
        return ReadResult(id_, {**{k: props[k] for k in INPUTS if k in props}, "rules": seen})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        log = OperationLog(RESOURCE, "update")
        return UpdateResult(_apply(news, {str(olds.get("prefix"))}, log))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Removes only this resource's rules: the dumps stay (they expire no more)."""
        log = OperationLog(RESOURCE, "delete")
        s3 = bucket_client(props, log)
        try:
            rules = _rules(s3, props["bucket"])
        except RuntimeError:
            log.event("gone", bucket=props["bucket"])
            return
        kept = [r for r in rules if not _owned(r, {str(props["prefix"])})]
        if len(kept) != len(rules):
            _put(s3, props["bucket"], kept, log)


class BackupRetention(pulumi.dynamic.Resource, module="labelstudio", name="BackupRetention"):
    """Lifecycle rules expiring the dumps under `prefix/` of `bucket` after `days` days."""

    bucket: pulumi.Output[str]
    prefix: pulumi.Output[str]
    days: pulumi.Output[int]
    rules: pulumi.Output[list[dict[str, Any]]]

    def __init__(self, resource_name: str, *, endpoint: Input[str], region: Input[str], bucket: Input[str],
                 prefix: Input[str], days: Input[int], access_key_id: Input[str] | None,
                 secret_access_key: Input[str] | None, opts: ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {
            "endpoint": endpoint, "region": region, "bucket": bucket, "prefix": prefix, "days": days,
            "access_key_id": pulumi.Output.secret(access_key_id) if access_key_id is not None else None,
            "secret_access_key": (pulumi.Output.secret(secret_access_key)
                                  if secret_access_key is not None else None),
            "rules": None,  # only keys present in the inputs become attributes
        }
        secret = ResourceOptions(additional_secret_outputs=["access_key_id", "secret_access_key"])
        super().__init__(BackupRetentionProvider(), resource_name, props, ResourceOptions.merge(opts, secret))
