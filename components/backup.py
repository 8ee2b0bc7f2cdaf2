"""PostgreSQL backup and restore: custom-format dumps in S3 under a dated prefix, kept N days.

Kubernetes: CronJob `postgres-backup` (an init container runs pg_dump into a scratch dir, then the
AWS CLI uploads the file) and the suspended CronJob `postgres-restore`, the template of restore
runs started by hand (the AWS CLI downloads the dump the operator names in ConfigMap
`postgres-restore-request`, then pg_restore loads it). Docker has no scheduler: scripts/backup.sh and
scripts/restore.sh do the same with `docker exec`. Both: the retention rule on the prefix.
"""

from __future__ import annotations

from dataclasses import replace

import pulumi

from components import ls_env
from components.database import POSTGRES_USER, Database
from components.media import MediaBucket
from components.platform import Platform
from components.providers.backup_retention import BackupRetention
from components.settings import Settings
from components.spec import File, Resources, Schedule, ServiceSpec, Volume
from components.web_tier import media_calls_of

BACKUP, RESTORE = "postgres-backup", "postgres-restore"
RESTORE_REQUEST = ("postgres-restore-request", "key")  # the ConfigMap (and key) naming the dump to restore
DUMP_DIR = "/dump"  # scratch volume the two containers of a run share
DUMP_FILE = f"{DUMP_DIR}/postgres.dump"
# A dump's key below the prefix: strftime codes, the same for Python and `date -u +FORMAT`.
KEY_FORMAT = "%Y/%m/%d/{database}-%Y%m%dT%H%M%SZ.dump"
PG_RESOURCES = Resources(cpu="500m", memory="512Mi")
CLI_RESOURCES = Resources(cpu="250m", memory="256Mi")

# The AWS CLI step of each run (POSIX sh; settings in env). Path-style addressing for an
# S3-compatible endpoint (MinIO): a bucket host name like <bucket>.minio would not resolve.
_PATH_STYLE = 'if [ -n "${AWS_ENDPOINT_URL_S3:-}" ]; then aws configure set default.s3.addressing_style path; fi'
UPLOAD_SCRIPT = f"""set -eu
{_PATH_STYLE}
key="$BACKUP_PREFIX/$(date -u +"$DUMP_NAME_FORMAT")"
aws s3 cp --only-show-errors "$DUMP_FILE" "s3://$BACKUP_BUCKET/$key"
echo "backup: uploaded s3://$BACKUP_BUCKET/$key ($(wc -c < "$DUMP_FILE") bytes)"
"""
DOWNLOAD_SCRIPT = f"""set -eu
case "$RESTORE_DUMP" in
  "$BACKUP_PREFIX"/*.dump) ;;
  *) echo "restore: $RESTORE_DUMP is not a dump under $BACKUP_PREFIX/" >&2; exit 2 ;;
esac
{_PATH_STYLE}
aws s3 cp --only-show-errors "s3://$BACKUP_BUCKET/$RESTORE_DUMP" "$DUMP_FILE"
echo "restore: downloaded s3://$BACKUP_BUCKET/$RESTORE_DUMP ($(wc -c < "$DUMP_FILE") bytes)"
"""


def key_format(database: str) -> str:
    return KEY_FORMAT.format(database=database)


# pg_dump in the custom format (compressed; pg_restore picks what to load).
DUMP_FLAGS = ("--format=custom", "--no-password")
# pg_restore drops and re-creates every object of the dump in one transaction: all or nothing.
# Objects are owned by the connecting user (--no-owner), as Label Studio's own tables are.
RESTORE_FLAGS = ("--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error", "--no-password")


def dump_args(database: str) -> tuple[str, ...]:
    """The backup's pg_dump; the connection comes from PG* env."""
    return ("pg_dump", *DUMP_FLAGS, f"--dbname={database}", f"--file={DUMP_FILE}")


def restore_args(database: str) -> tuple[str, ...]:
    return ("pg_restore", *RESTORE_FLAGS, f"--dbname={database}", DUMP_FILE)


def postgres_env(settings: Settings, host: str, port: int, application: str) -> dict[str, str]:
    """libpq's settings for a Postgres client of the stack: the server, TLS as the app has it."""
    pg = settings.postgres
    env = {"PGHOST": host, "PGPORT": str(port), "PGUSER": pg.user, "PGSSLMODE": pg.ssl_mode,
           "PGCONNECT_TIMEOUT": "30", "PGAPPNAME": application}
    if pg.ssl_root_cert:
        env["PGSSLROOTCERT"] = ls_env.CA_FILE
    if pg.ssl_cert:
        env["PGSSLCERT"], env["PGSSLKEY"] = ls_env.CLIENT_CERT_FILE, ls_env.CLIENT_KEY_FILE
    return env


def s3_env(settings: Settings, endpoint: str) -> dict[str, str]:
    """The AWS CLI's settings: the backup bucket and prefix, where the dump file is, the endpoint."""
    env = {"BACKUP_BUCKET": settings.backup.bucket, "BACKUP_PREFIX": settings.backup.prefix,
           "DUMP_FILE": DUMP_FILE, "AWS_DEFAULT_REGION": settings.media.region,
           "HOME": "/tmp"}  # noqa: S108 - the CLI's config and cache dir, an emptyDir on a read-only root
    if endpoint:
        env["AWS_ENDPOINT_URL_S3"] = endpoint
    return env


class Backup(pulumi.ComponentResource):
    """Scheduled dumps (Kubernetes), the restore template, and the retention of the dumps."""

    def __init__(self, name: str, settings: Settings, platform: Platform, database: Database, media: MediaBucket,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("labelstudio:index:Backup", name, None, opts)
        backup = settings.backup
        child = pulumi.ResourceOptions(parent=self, depends_on=[media.bucket])
        self.retention = BackupRetention(
            "backup-retention", endpoint=media.admin_endpoint, region=settings.media.region, bucket=backup.bucket,
            prefix=backup.prefix, days=backup.retention_days, access_key_id=media.access_key_id,
            secret_access_key=media.secret_access_key, opts=child)
        s3_secrets: dict[str, pulumi.Output[str]] = {}
        if media.access_key_id is not None and media.secret_access_key is not None:
            s3_secrets = {"AWS_ACCESS_KEY_ID": media.access_key_id, "AWS_SECRET_ACCESS_KEY": media.secret_access_key}
        pods = _Pods(settings, database, media.endpoint, s3_secrets)
        self.job = platform.schedule(pods.backup(), self)
        self.restore_job = platform.schedule(pods.restore(), self)
        self.register_outputs({"bucket": backup.bucket, "prefix": backup.prefix,
                               "retentionDays": backup.retention_days})


class _Pods:
    """The two run templates; each pod a Postgres client step and an AWS CLI step."""

    def __init__(self, settings: Settings, database: Database, endpoint: str,
                 s3_secrets: dict[str, pulumi.Output[str]]) -> None:
        self.settings = settings
        self.database = database
        self.endpoint = endpoint
        self.s3_secrets = s3_secrets
        self.db = settings.postgres.database
        self.files = tuple(File(path, content) for path, content in ls_env.cert_files(settings).items())

    def _postgres(self, name: str, args: tuple[str, ...]) -> ServiceSpec:
        return ServiceSpec(
            name=name, image=self.settings.backup.image, args=args,
            env=postgres_env(self.settings, self.database.host, self.database.port, f"labelstudio-{name}"),
            secret_env={"PGPASSWORD": self.database.password}, files=self.files,
            volumes=(Volume("dump", DUMP_DIR),), user=POSTGRES_USER, run_to_completion=True,
            resources=PG_RESOURCES)

    def _cli(self, name: str, script: str, env: dict[str, str]) -> ServiceSpec:
        return ServiceSpec(
            name=name, image=self.settings.backup.cli_image, command=("/bin/sh", "-c", script),
            env={**s3_env(self.settings, self.endpoint), **env}, secret_env=self.s3_secrets,
            volumes=(Volume("dump", DUMP_DIR),), user=POSTGRES_USER, run_to_completion=True,
            resources=CLI_RESOURCES)

    def _pod(self, name: str, component: str, main: ServiceSpec, step: ServiceSpec, schedule: Schedule) -> ServiceSpec:
        """`step` then `main` in one pod (the CronJob's name), with the network flows of both:
        Postgres and the bucket; the stack's cloud identity when S3 access is by IAM role."""
        settings = self.settings
        media_calls, media_external = media_calls_of(settings)
        embedded = settings.postgres.mode == "embedded"
        return replace(
            main, name=name, component=component, init=(step,), schedule=schedule,
            calls=(*(("postgres",) if embedded else ()), *media_calls),
            external_ports=tuple(dict.fromkeys((*(() if embedded else (settings.postgres.port,)), *media_external))),
            cloud_identity=settings.media.mode == "s3" and settings.media.credentials == "iam")

    def backup(self) -> ServiceSpec:
        dump = self._postgres("dump", dump_args(self.db))
        upload = self._cli("upload", UPLOAD_SCRIPT, {"DUMP_NAME_FORMAT": key_format(self.db)})
        return self._pod(BACKUP, "backup", upload, dump, Schedule(self.settings.backup.schedule))

    def restore(self) -> ServiceSpec:
        """Suspended: it never runs on its own. Its schedule only matters if someone resumes it,
        and then a run without the operator's ConfigMap does not start."""
        download = replace(self._cli("download", DOWNLOAD_SCRIPT, {}), operator_env={"RESTORE_DUMP": RESTORE_REQUEST})
        load = self._postgres("restore", restore_args(self.db))
        return self._pod(RESTORE, "restore", load, download, Schedule("0 0 1 1 *", suspended=True, retries=0))
