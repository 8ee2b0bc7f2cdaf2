"""The media bucket as a Pulumi dynamic resource: made if missing, then hardened, never deleted.

Hardening: default encryption (AES256), versioning, public access blocked, CORS for GET/HEAD from
exactly the Label Studio origins. MinIO implements neither PutPublicAccessBlock nor per-bucket
CORS; for it alone a NotImplemented answer to those two is accepted, the bucket is instead kept
free of any anonymous-access policy, and CORS comes from the server (MINIO_API_CORS_ALLOW_ORIGIN).
The `hardening` output records what each control actually is, so a refresh shows drift.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

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
from components.providers.common import checkable, is_known, url_problem, wait_until_answers
from components.providers.logs import OperationLog
from components.providers.s3 import s3_client

RESOURCE = "labelstudio:MediaBucket"
FLAVORS = ("aws", "minio")
INPUTS = ("endpoint", "region", "bucket", "access_key_id", "secret_access_key", "cors_origins",
          "server_flavor")
REPLACE_ON = ("bucket", "region")  # another name or region is another bucket
ENDPOINT_WAIT_SECONDS = 120  # in dev the MinIO container may have just started
CORS_METHODS = ["GET", "HEAD"]
_NOT_IMPLEMENTED = {"NotImplemented", "501"}
_MINIO_KMS_FIX = "MinIO has no KMS: start it with MINIO_KMS_SECRET_KEY set so it can encrypt (SSE-S3)"


def accepted_hardening(flavor: str) -> dict[str, set[str]]:
    """The states each control may be in for a hardened bucket of this server flavor."""
    minio = flavor == "minio"
    return {
        "encryption": {"AES256"},
        "versioning": {"Enabled"},
        "public_access": {"blocked", "no-public-policy"} if minio else {"blocked"},
        "cors": {"bucket", "server"} if minio else {"bucket"},
    }


def hardening_drift(flavor: str, hardening: Mapping[str, Any] | None) -> list[str]:
    """The controls that are not (or no longer) hardened."""
    actual = hardening or {}
    return [name for name, ok in accepted_hardening(flavor).items() if actual.get(name) not in ok]


def grants_anonymous_access(policy: Mapping[str, Any]) -> bool:
    """True when any Allow statement names everyone ("*") as principal."""
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else principal
        names = aws if isinstance(aws, list) else [aws]
        if statement.get("Effect") == "Allow" and "*" in names:
            return True
    return False


def origin_problem(origin: Any) -> str | None:
    if not isinstance(origin, str) or "*" in origin:
        return f"{str(origin)[:80]!r}: wildcards are refused; list each Label Studio origin"
    parts = urlsplit(origin) if url_problem(origin) is None else None
    if parts is None or not parts.netloc or parts.path not in ("", "/"):
        return f"{origin[:80]!r} is not an origin like https://labelstudio.example.com"
    return None


def input_failures(news: Mapping[str, Any]) -> list[CheckFailure]:
    """Every problem at once; values unknown during preview are skipped."""
    failures: list[CheckFailure] = []

    def known(key: str) -> bool:
        return checkable(news, key)

    for key in ("endpoint", "region", "bucket", "server_flavor", "cors_origins"):
        if key not in news:
            failures.append(CheckFailure(key, f"{key} is required"))
    failures.extend(endpoint_failures(news))
    if known("region") and (not isinstance(news["region"], str) or not news["region"]):
        failures.append(CheckFailure("region", "region must be a non-empty string"))
    if known("bucket") and not s3_names.bucket_ok(news["bucket"]):
        failures.append(CheckFailure("bucket", f"bucket must be {s3_names.BUCKET_RULE}"))
    if known("server_flavor") and news["server_flavor"] not in FLAVORS:
        failures.append(CheckFailure("server_flavor", f"server_flavor must be one of {', '.join(FLAVORS)}"))
    if ("access_key_id" in news) != ("secret_access_key" in news):
        failures.append(CheckFailure("secret_access_key", "give both access_key_id and secret_access_key, "
                                     "or neither to use the ambient AWS credentials"))
    origins = news.get("cors_origins")
    if known("cors_origins"):
        if not isinstance(origins, list) or not origins:
            failures.append(CheckFailure("cors_origins", "cors_origins must list at least one origin"))
        else:
            problems = [origin_problem(o) for o in origins if is_known(o)]
            failures.extend(CheckFailure("cors_origins", p) for p in problems if p)
    return failures


def endpoint_failures(news: Mapping[str, Any]) -> list[CheckFailure]:
    """The endpoint is an http(s) URL of an S3 API, or "" for AWS S3 in the region."""
    endpoint = news.get("endpoint")
    problem = url_problem(endpoint) if "endpoint" in news and checkable(news, "endpoint") and endpoint != "" else None
    if problem:
        return [CheckFailure("endpoint", f"endpoint must be an http(s) URL of the S3 API, or empty for AWS S3 "
                                         f"(endpoint {problem})")]
    return []


def wait_for_endpoint(log: OperationLog, endpoint: str) -> None:
    """A just-started MinIO may not answer yet; AWS S3 (no endpoint given) always does."""
    if endpoint:
        wait_until_answers(log, endpoint, ENDPOINT_WAIT_SECONDS, lambda status: status < 500)


def bucket_client(props: Mapping[str, Any], log: OperationLog) -> Any:
    """An S3 client for a bucket resource's inputs (`endpoint` "" = AWS S3 in `region`)."""
    return s3_client(log, endpoint=props["endpoint"], region=props["region"],
                     access_key_id=props.get("access_key_id"), secret_access_key=props.get("secret_access_key"))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _fail(control: str, error: ClientError, fix: str = "") -> RuntimeError:
    message = f"could not set bucket {control}: {_code(error)}"
    return RuntimeError(f"{message}; {fix}" if fix else message)


def _ensure_bucket(s3: Any, props: Mapping[str, Any], log: OperationLog) -> None:
    bucket, region = props["bucket"], props["region"]
    extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    try:
        s3.create_bucket(Bucket=bucket, **extra)
        log.event("bucket_created", bucket=bucket)
    except ClientError as error:
        if _code(error) != "BucketAlreadyOwnedByYou":
            raise RuntimeError(f"could not create bucket {bucket}: {_code(error)}"
                               + ("; the name belongs to another account" if _code(error) ==
                                  "BucketAlreadyExists" else "")) from None
        log.event("bucket_exists", bucket=bucket)


def _remove_anonymous_policy(s3: Any, bucket: str, log: OperationLog, *, fix: bool) -> str:
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as error:
        if _code(error) == "NoSuchBucketPolicy":
            return "no-public-policy"
        raise
    if not grants_anonymous_access(policy):
        return "no-public-policy"
    if not fix:
        return "public-policy"
    s3.delete_bucket_policy(Bucket=bucket)
    log.event("anonymous_policy_removed", bucket=bucket)
    return "no-public-policy"


def _harden(s3: Any, props: Mapping[str, Any], log: OperationLog) -> dict[str, str]:
    bucket, minio = props["bucket"], props["server_flavor"] == "minio"
    hardening: dict[str, str] = {}
    try:
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    except ClientError as error:
        raise _fail("encryption", error, _MINIO_KMS_FIX if minio else "") from None
    hardening["encryption"] = "AES256"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    hardening["versioning"] = "Enabled"
    try:
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True,
            "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        hardening["public_access"] = "blocked"
    except ClientError as error:
        if not (minio and _code(error) in _NOT_IMPLEMENTED):
            raise _fail("public access block", error) from None
        hardening["public_access"] = _remove_anonymous_policy(s3, bucket, log, fix=True)
    try:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
            {"AllowedMethods": CORS_METHODS, "AllowedOrigins": list(props["cors_origins"]),
             "AllowedHeaders": ["*"], "MaxAgeSeconds": 3600}]})
        hardening["cors"] = "bucket"
    except ClientError as error:
        if not (minio and _code(error) in _NOT_IMPLEMENTED):
            raise _fail("CORS", error) from None
        hardening["cors"] = "server"
    log.event("hardened", bucket=bucket, **hardening)
    return hardening


def _observe(s3: Any, props: Mapping[str, Any], log: OperationLog) -> dict[str, Any]:
    """The bucket's actual controls, as `hardening` plus the CORS origins it really allows."""
    bucket, minio = props["bucket"], props["server_flavor"] == "minio"
    seen: dict[str, Any] = {"cors_origins": props.get("cors_origins")}
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        algorithms = {r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules}
        encryption = "AES256" if algorithms == {"AES256"} else ",".join(sorted(algorithms))
    except ClientError:
        encryption = "none"
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status", "Disabled")
    try:
        block = s3.get_public_access_block(Bucket=bucket).get("PublicAccessBlockConfiguration", {})
        public = "blocked" if len(block) == 4 and all(block.values()) else "open"
    except ClientError:
        public = "open"
    if public != "blocked" and minio:
        public = _remove_anonymous_policy(s3, bucket, log, fix=False)
    try:
        cors_rules = s3.get_bucket_cors(Bucket=bucket).get("CORSRules", [])
    except ClientError:
        cors_rules = []
    origins = [o for rule in cors_rules for o in rule.get("AllowedOrigins", [])]
    methods = {m for rule in cors_rules for m in rule.get("AllowedMethods", [])}
    if not cors_rules:
        cors = "server" if minio else "none"
    else:
        seen["cors_origins"] = origins
        cors = "bucket" if methods == set(CORS_METHODS) and origins == list(props["cors_origins"]) else "mismatch"
    seen["hardening"] = {"encryption": encryption, "versioning": versioning,
                         "public_access": public, "cors": cors}
    return seen


def _outputs(props: Mapping[str, Any], hardening: dict[str, str]) -> dict[str, Any]:
    return {**{k: props[k] for k in INPUTS if k in props}, "hardening": hardening}


class MediaBucketProvider(ResourceProvider):
    """Stateless: clients are built per operation from the arguments."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, input_failures(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """From state alone: changed inputs, or a control that a refresh found not hardened.

        Credentials and endpoint changes update in place (rotation; the bucket is ensured again).
        """
        changed = [k for k in INPUTS if not is_known(news.get(k)) or olds.get(k) != news.get(k)]
        drift = hardening_drift(str(news.get("server_flavor")), olds.get("hardening"))
        replaces = [k for k in REPLACE_ON if k in changed and is_known(news.get(k))]
        return DiffResult(changes=bool(changed or drift), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        log = OperationLog(RESOURCE, "create")
        wait_for_endpoint(log, props["endpoint"])
        s3 = bucket_client(props, log)
        _ensure_bucket(s3, props, log)
        return CreateResult(props["bucket"], _outputs(props, _harden(s3, props, log)))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        log = OperationLog(RESOURCE, "read")
        s3 = bucket_client(props, log)
        try:
            s3.head_bucket(Bucket=id_)
        except ClientError as error:
            if _code(error) in ("404", "NoSuchBucket", "NotFound"):
                log.event("gone", bucket=id_)
                return ReadResult("", {})
            raise RuntimeError(f"could not read bucket {id_}: {_code(error)}") from None
        seen = _observe(s3, {**props, "bucket": id_}, log)
        outs = {**_outputs(props, seen["hardening"]), "cors_origins": seen["cors_origins"]}
        return ReadResult(id_, outs)

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        log = OperationLog(RESOURCE, "update")
        wait_for_endpoint(log, news["endpoint"])
        s3 = bucket_client(news, log)
        _ensure_bucket(s3, news, log)
        return UpdateResult(_outputs(news, _harden(s3, news, log)))

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        """Media is user data: the bucket and its objects always stay."""
        OperationLog(RESOURCE, "delete").event("bucket_retained", bucket=id_)


class MediaBucket(pulumi.dynamic.Resource, module="labelstudio", name="MediaBucket"):
    """A hardened S3/MinIO bucket for Label Studio media; `hardening` tells each control's state."""

    bucket: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    region: pulumi.Output[str]
    cors_origins: pulumi.Output[list[str]]
    server_flavor: pulumi.Output[str]
    hardening: pulumi.Output[dict[str, str]]

    def __init__(self, resource_name: str, *, endpoint: Input[str], region: Input[str],
                 bucket: Input[str], access_key_id: Input[str] | None,
                 secret_access_key: Input[str] | None, cors_origins: Input[Sequence[str]],
                 server_flavor: Input[str], opts: ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {
            "endpoint": endpoint, "region": region, "bucket": bucket,
            "access_key_id": pulumi.Output.secret(access_key_id) if access_key_id is not None else None,
            "secret_access_key": (pulumi.Output.secret(secret_access_key)
                                  if secret_access_key is not None else None),
            "cors_origins": cors_origins, "server_flavor": server_flavor,
            "hardening": None,  # only keys present in the inputs become attributes
        }
        secret = ResourceOptions(additional_secret_outputs=["access_key_id", "secret_access_key"])
        super().__init__(MediaBucketProvider(), resource_name, props, ResourceOptions.merge(opts, secret))
