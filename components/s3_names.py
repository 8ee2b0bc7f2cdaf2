"""S3 names as S3 accepts them: the one home of the bucket and region rules, shared by settings,
seed files and the providers' checks."""

from __future__ import annotations

import re

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")  # what botocore accepts
BUCKET_RULE = "3-63 lower-case letters, digits, '-' or '.'"


def bucket_ok(name: object) -> bool:
    """A valid S3 bucket name (no '..' either)."""
    return isinstance(name, str) and bool(_BUCKET.fullmatch(name)) and ".." not in name
