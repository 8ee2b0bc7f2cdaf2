"""Backup settings: read and checked like every other key (components/settings.py).

Defaults live in `DEFAULTS` (components/settings_schema.py) only. Each problem names the key,
the bad value and the fix; all are reported at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components import s3_names
from components import settings_checks as checks
from components.settings_schema import Backup, Media, Postgres

if TYPE_CHECKING:
    from components.settings import _Reader

BACKUP_KEYS = ("backupSchedule", "backupBucket", "backupPrefix", "backupRetentionDays", "backupImage",
               "backupAwsCliImage")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# What Kubernetes' CronJob parser accepts per field: (name, lowest, highest, names from the lowest on).
CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()), ("hour", 0, 23, ()), ("day-of-month", 1, 31, ()),
    ("month", 1, 12, MONTHS), ("day-of-week", 0, 6, DAYS),
)


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    if text.lower() in names:
        return low + names.index(text.lower())
    if text.isascii() and text.isdigit() and len(text) <= 2 and low <= int(text) <= high:
        return int(text)
    return None


def _cron_field_problem(text: str, low: int, high: int, names: tuple[str, ...], any_mark: bool) -> str | None:
    for part in text.split(","):
        span, slash, step = part.partition("/")
        if slash and not (step.isascii() and step.isdigit() and len(step) <= 2 and 0 < int(step) <= high):
            return f"has step {checks.show(step)}; a step is a whole number from 1 to {high}"
        if span == "*" or (any_mark and span == "?"):
            continue
        first, dash, last = span.partition("-")
        start, end = _cron_value(first, low, high, names), _cron_value(last, low, high, names) if dash else 0
        if start is None or end is None:
            allowed = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
            shown = checks.show(span) if span else "an empty item"
            return f"has {shown}; allowed: {allowed}, *, ranges a-b, lists a,b, steps /n"
        if dash and end < start:
            return f"has the backwards range {checks.show(span)}"
    return None


def cron_problem(schedule: str) -> str | None:
    """Why Kubernetes would refuse this CronJob schedule (five fields, no time zone prefix), or None."""
    fields = schedule.split()
    if len(fields) != len(CRON_FIELDS):
        return (f"has {len(fields)} field(s), not 5 (minute hour day-of-month month day-of-week; the time zone "
                "is UTC, no TZ= prefix or @macro)")
    for text, (name, low, high, names) in zip(fields, CRON_FIELDS, strict=True):
        problem = _cron_field_problem(text, low, high, names, any_mark=name.startswith("day"))
        if problem:
            return f"{name} field {problem}"
    return None


def prefix_problem(prefix: str) -> str | None:
    """The S3 key prefix rule (components/s3_names.py), never empty, and without whitespace (the
    backup scripts read `aws s3 ls` columns)."""
    if not prefix:
        return "is empty: the retention rule would expire the whole bucket"
    if any(c.isspace() for c in prefix):
        return "contains whitespace or control characters"
    return s3_names.prefix_problem(prefix)


def _overlaps(prefix: str, folder: str) -> bool:
    """True when one key prefix lies inside the other (or they are the same)."""
    return bool(folder) and (prefix == folder or prefix.startswith(folder + "/") or folder.startswith(prefix + "/"))


def parse_backup(r: _Reader, platform: str, postgres: Postgres, media: Media) -> Backup:
    enabled = r.boolean("backupEnabled")
    schedule = " ".join(r.string("backupSchedule").split())
    problem = cron_problem(schedule)
    if problem:
        r.fail("backupSchedule", f"{r.show('backupSchedule', schedule)} {problem}; "
               "fix: five fields in UTC, e.g. 17 2 * * * (daily at 02:17)")
    bucket = r.string("backupBucket")
    if bucket and checks.bucket_problem(bucket):
        r.fail("backupBucket", f"{r.show('backupBucket', bucket)} {checks.bucket_problem(bucket)}")
    prefix = r.string("backupPrefix")
    problem = prefix_problem(prefix)
    if problem:
        r.fail("backupPrefix", f"{r.show('backupPrefix', prefix)} {problem}; fix: e.g. backups/postgres")
    elif (bucket or media.bucket) == media.bucket and _overlaps(prefix, media.folder):
        r.fail("backupPrefix", f"{r.show('backupPrefix', prefix)} overlaps mediaFolder {media.folder!r} in the same "
               "bucket: the retention rule would expire uploaded media, or dumps would sit among them; "
               "fix: a prefix of its own, e.g. backups/postgres")
    image = r.image("backupImage") if r.given("backupImage") else postgres.image
    _check_client_major(r, image, postgres)
    backup = Backup(enabled=enabled, schedule=schedule, bucket=bucket or media.bucket, prefix=prefix,
                    retention_days=r.integer("backupRetentionDays", 1, 3650), image=image,
                    cli_image=r.image("backupAwsCliImage"))
    if not enabled:
        for key in BACKUP_KEYS:
            if r.given(key):
                r.fail(key, "is set but backupEnabled is false, so nothing uses it; "
                       "fix: remove it or set backupEnabled: true")
    elif platform == "docker" and media.mode == "minio" and bucket and bucket != media.bucket:
        r.fail("backupBucket", f"{r.show('backupBucket', bucket)}: the dev stack's MinIO holds the media bucket "
               "only; fix: remove it (dumps go under backupPrefix in the media bucket)")
    return backup


def _check_client_major(r: _Reader, image: str, postgres: Postgres) -> None:
    """pg_dump refuses servers newer than itself: the client major must be >= the server's."""
    client = checks.postgres_major(image)
    server = checks.postgres_major(postgres.image) if postgres.mode == "embedded" else None
    shown = r.show("backupImage", image)
    if client is not None and client < 14:
        r.fail("backupImage", f"{shown}: pg_dump {client} cannot dump PostgreSQL 14 or newer, which Label Studio "
               "needs; fix: a postgres image of your server's major or newer")
    elif client is not None and server is not None and client < server:
        r.fail("backupImage", f"{shown}: pg_dump {client} cannot dump the embedded PostgreSQL {server}; "
               f"fix: postgres:{server} or newer (or leave it empty to use postgresImage)")
