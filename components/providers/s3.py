"""S3 clients for providers (one per operation, never stored: boto3 sessions are not thread-safe),
with every call logged; and the one S3 write a seeded import storage needs: its prefix marker."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from components.providers.logs import OperationLog, safe_url


def s3_client(log: OperationLog, *, endpoint: str | None, region: str | None,
              access_key_id: str | None = None, secret_access_key: str | None = None,
              session_token: str | None = None) -> Any:
    """A client for `endpoint` ("" or None: AWS); no keys = the ambient credentials of where
    `pulumi up` runs."""
    # Imported here: boto3 costs a fifth of a second, and the program only declares these resources.
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id=access_key_id or None,
                                    aws_secret_access_key=secret_access_key or None,
                                    aws_session_token=session_token or None, region_name=region or None)
    host = urlsplit(endpoint or "").hostname or ""
    style = "path" if endpoint and not host.endswith(".amazonaws.com") else "auto"  # MinIO/loopback: path
    config = Config(s3={"addressing_style": style}, retries={"mode": "standard", "max_attempts": 3},
                    connect_timeout=10, read_timeout=60)
    client = session.client("s3", endpoint_url=endpoint or None, config=config)
    log.watch_boto3(client)
    return client


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def ensure_prefix_marker(client: Any, log: OperationLog, bucket: str, prefix: str, endpoint: str) -> bool:
    """Make `prefix` hold an object, as Label Studio 1.23.2 requires of an import storage (its
    connection check lists the prefix and wants one key; an empty prefix answers HTTP 500).

    The object is an empty folder marker `<prefix>/`, what S3 consoles make for "create folder":
    Label Studio's sync skips keys ending in '/', so it never becomes a task. True when it was made.
    """
    where = f"s3://{bucket}/{prefix}/ at {safe_url(endpoint) if endpoint else 'AWS S3'}"
    try:
        listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
        if int(listed.get("KeyCount") or 0) > 0:
            return False
        client.put_object(Bucket=bucket, Key=prefix + "/", Body=b"")
    except ClientError as error:
        code = error_code(error)
        fix = ("create the bucket first, or fix bucket" if code == "NoSuchBucket" else
               "give credentials that may list and write the prefix, or put an object there yourself "
               "and set createPrefix: false")
        raise RuntimeError(f"could not make the prefix marker {where}: {code or 'refused'}; fix: {fix}") from None
    except BotoCoreError as error:
        raise RuntimeError(f"could not reach S3 for the prefix marker {where} ({type(error).__name__}); "
                           "the S3 endpoint must be reachable from where `pulumi up` runs") from None
    log.event("prefix_marker_created")
    return True
