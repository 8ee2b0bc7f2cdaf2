"""S3 names as S3 accepts them: the one home of the bucket, region and key prefix rules, shared by
settings, seed files and the providers' checks."""

from __future__ import annotations

import re

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")  # what botocore accepts
BUCKET_RULE = "3-63 lower-case letters, digits, '-' or '.'"
PREFIX_BYTES = 1000  # S3 keys are at most 1024 bytes; room for the object names under the prefix


def prefix_problem(prefix: str) -> str | None:
    """Why a key prefix (objects go below `<prefix>/`) cannot be used; None when it can."""
    if prefix != prefix.strip("/"):
        return "must not start or end with '/' (keys would hold '//')"
    if "//" in prefix:
        return "holds '//', which makes an empty path segment in every key"
    if any(ord(c) < 32 or ord(c) == 127 for c in prefix):
        return "holds control characters"
    if len(prefix.encode()) > PREFIX_BYTES:
        return f"is longer than {PREFIX_BYTES} bytes (S3 keys are at most 1024)"
    return None


def bucket_ok(name: object) -> bool:
    """A valid S3 bucket name (no '..' either)."""
    return isinstance(name, str) and bool(_BUCKET.fullmatch(name)) and ".." not in name
