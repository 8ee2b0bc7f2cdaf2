"""Data at rest: the media bucket, the database's storage, backups, and seeded projects."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from urllib.parse import urlsplit

from rules.base import MANDATORY, Config, Finding, View, rule
from rules.shapes import (
    DOCKER_CONTAINER,
    K8S_CRONJOB,
    MEDIA_BUCKET,
    PROJECT,
    EnvVar,
    docker_data_service,
    docker_env,
    docker_name,
    k8s_data_service,
    k8s_env,
    pod_spec,
    runs_postgres_client,
    words,
)
from rules.wire import UNKNOWN, get, items, text, truthy
from rules.workloads import k8s_pairs

# What the MediaBucket provider's `hardening` output may say for a hardened bucket (per flavor).
ACCEPTED = {
    "encryption": {"aws": {"AES256", "aws:kms"}, "minio": {"AES256", "aws:kms"}},
    "versioning": {"aws": {"Enabled"}, "minio": {"Enabled"}},
    "public_access": {"aws": {"blocked"}, "minio": {"blocked", "no-public-policy"}},
}


def minio_envs(views: Sequence[View]) -> Iterator[tuple[View, str, dict[str, EnvVar]]]:
    """Every MinIO server container with its env (Docker or Kubernetes)."""
    for view in views:
        if view.type == DOCKER_CONTAINER and docker_data_service(view.props) == "minio":
            yield view, docker_name(view), docker_env(view.props)
        for _pod, container in k8s_pairs(view):
            if k8s_data_service(view, container) == "minio":
                yield view, text(get(container, "name")) or "?", k8s_env(container)


def _hardening_findings(views: Sequence[View], control: str) -> Iterator[Finding]:
    for view in views:
        if view.type != MEDIA_BUCKET:
            continue
        hardening, flavor = get(view.props, "hardening"), text(get(view.props, "server_flavor")) or "aws"
        if not isinstance(hardening, Mapping):
            continue  # not created yet (preview of a new stack): the provider hardens on create
        state = text(get(hardening, control))
        if state not in ACCEPTED[control].get(flavor, set()):
            yield f"bucket {text(get(view.props, 'bucket'))}: {control} is {state or 'unknown'}", view.urn


@rule(name="media-bucket-encrypted", severity="high", level=MANDATORY, stack=True,
      description="The media bucket has default encryption, and an embedded MinIO has a KMS key to do it with.",
      why="Uploaded media (often personal data) must not sit on disk in clear text.",
      remediation="Keep the MediaBucket resource (it sets SSE-S3); give MinIO MINIO_KMS_SECRET_KEY from a secret.")
def media_bucket_encrypted(views: Sequence[View], _config: Config) -> Iterator[Finding]:
    yield from _hardening_findings(views, "encryption")
    for view, name, env in minio_envs(views):
        kms = env.get("MINIO_KMS_SECRET_KEY") or env.get("MINIO_KMS_KES_ENDPOINT")
        if kms is None:
            yield f"MinIO container {name} has no KMS (MINIO_KMS_SECRET_KEY): it cannot encrypt", view.urn
        elif kms.name == "MINIO_KMS_SECRET_KEY" and not kms.from_secret:
            yield f"MinIO container {name}: MINIO_KMS_SECRET_KEY is not from a secret", view.urn


@rule(name="media-bucket-public-access-blocked", severity="critical", level=MANDATORY, stack=True,
      description="The media bucket blocks public access (AWS public access block; MinIO: no anonymous policy).",
      why="A public bucket publishes every uploaded image, audio file and document.",
      remediation="Keep the MediaBucket resource; remove any bucket policy granting `*`, then `pulumi refresh`.")
def media_bucket_public_access_blocked(views: Sequence[View], _config: Config) -> Iterator[Finding]:
    yield from _hardening_findings(views, "public_access")


@rule(name="media-bucket-versioned", severity="medium", level=MANDATORY, stack=True,
      description="The media bucket keeps object versions.",
      why="Versioning turns an accidental or malicious overwrite/delete of media into a recoverable event.",
      remediation="Keep the MediaBucket resource (it enables versioning); `pulumi refresh` shows drift.")
def media_bucket_versioned(views: Sequence[View], _config: Config) -> Iterator[Finding]:
    yield from _hardening_findings(views, "versioning")


def _origin_problem(origin: str) -> str | None:
    if "*" in origin or origin == "null":
        return f"CORS origin {origin} is a wildcard"
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return f"CORS origin {origin} is not a scheme://host[:port] origin"
    return None


@rule(name="media-bucket-cors-restricted", severity="high", level=MANDATORY,
      description="Media CORS allows only the Label Studio origins, never `*` (bucket rules and MinIO's "
                  "server-wide MINIO_API_CORS_ALLOW_ORIGIN, which defaults to `*`).",
      why="A wildcard lets any web page read media through a logged-in user's presigned URLs.",
      remediation="Derive the origins from `labelstudio:publicUrl` (the stack does); set "
                  "MINIO_API_CORS_ALLOW_ORIGIN on MinIO.")
def media_bucket_cors_restricted(view: View, _config: Config) -> Iterator[str]:
    if view.type == MEDIA_BUCKET:
        origins = get(view.props, "cors_origins")
        if origins is UNKNOWN:
            return
        if not items(origins):
            yield "bucket has no CORS origins"
        for origin in (text(o) or "" for o in items(origins)):
            problem = _origin_problem(origin)
            if problem:
                yield problem
        return
    for _v, name, env in minio_envs([view]):
        allow = env.get("MINIO_API_CORS_ALLOW_ORIGIN")
        if allow is None:
            yield f"MinIO container {name} does not set MINIO_API_CORS_ALLOW_ORIGIN (its default is *)"
            continue
        for origin in (allow.value or "").split(","):
            problem = _origin_problem(origin.strip())
            if problem:
                yield f"MinIO container {name}: {problem}"


def _postgres_data_dir(env: Mapping[str, EnvVar]) -> str:
    pgdata = env.get("PGDATA")
    value = pgdata.value if pgdata is not None and pgdata.value else "/var/lib/postgresql/data"
    return value


def _covers(mount_path: str, data_dir: str) -> bool:
    mount_path = mount_path.rstrip("/") or "/"
    return data_dir == mount_path or data_dir.startswith(mount_path + "/")


@rule(name="postgres-persistent-storage", severity="high", level=MANDATORY,
      description="An embedded Postgres keeps its data directory on persistent storage (a named Docker "
                  "volume; a PersistentVolumeClaim on Kubernetes), never the container layer or an emptyDir.",
      why="Otherwise a restart, a reschedule or an image update deletes every project and annotation.",
      remediation="Docker: a `docker.Volume` mounted at the data dir; Kubernetes: a StatefulSet "
                  "volumeClaimTemplate mounted at the data dir.")
def postgres_persistent_storage(view: View, _config: Config) -> Iterator[str]:
    if view.type == DOCKER_CONTAINER:
        if docker_data_service(view.props) != "postgres":
            return
        data_dir = _postgres_data_dir(docker_env(view.props))
        volumes = [v for v in items(get(view.props, "volumes"))
                   if text(get(v, "volumeName")) and _covers(text(get(v, "containerPath")) or "", data_dir)]
        mounts = [m for m in items(get(view.props, "mounts"))
                  if text(get(m, "type")) == "volume" and _covers(text(get(m, "target")) or "", data_dir)]
        if not volumes and not mounts:
            yield f"postgres container {docker_name(view)}: {data_dir} is not on a volume"
        return
    pod = pod_spec(view)
    if pod is None:
        return
    claims = {text(get(t, "metadata", "name")) for t in items(get(view.props, "spec", "volumeClaimTemplates"))}
    claims |= {text(get(v, "name")) for v in items(get(pod, "volumes")) if get(v, "persistentVolumeClaim")}
    for _pod, container in k8s_pairs(view):
        if k8s_data_service(view, container) != "postgres" or runs_postgres_client(container):
            continue
        data_dir = _postgres_data_dir(k8s_env(container))
        mounts = [text(get(m, "name")) for m in items(get(container, "volumeMounts"))
                  if _covers(text(get(m, "mountPath")) or "", data_dir)]
        if not any(m in claims for m in mounts):
            yield f"postgres container {text(get(container, 'name'))}: {data_dir} is not on a PersistentVolumeClaim"


def _is_backup(view: View) -> bool:
    """A CronJob that runs on its own (not suspended) and dumps the database."""
    if view.type != K8S_CRONJOB or truthy(get(view.props, "spec", "suspend")):
        return False
    if "backup" in words(*get(view.props, "metadata", "labels", default={}).values()):
        return True
    command = " ".join(text(x) or "" for _p, c in k8s_pairs(view)
                       for x in [*items(get(c, "command")), *items(get(c, "args"))])
    return "pg_dump" in command


@rule(name="backup-job-in-production", severity="high", level=MANDATORY, stack=True, production_only=True,
      description="A production stack runs a scheduled database backup (a CronJob, not suspended, running "
                  "pg_dump or labelled app.kubernetes.io/component: backup).",
      why="Without backups one bad migration, deleted volume or ransomware loses every annotation.",
      remediation="Keep `labelstudio:backupEnabled: true` (the postgres-backup CronJob); for a managed "
                  "database with provider backups, set this rule to disabled with a note.")
def backup_job_in_production(views: Sequence[View], _config: Config) -> Iterator[Finding]:
    databases = [v for v in views if v.type == DOCKER_CONTAINER and docker_data_service(v.props) == "postgres"]
    databases += [v for v in views for _p, c in k8s_pairs(v) if k8s_data_service(v, c) == "postgres"]
    uses_db = databases or any(_label_studio_db(v) for v in views)
    if uses_db and not any(_is_backup(v) for v in views):
        yield "no database backup job (a CronJob, not suspended, running pg_dump) in the stack", None


def _label_studio_db(view: View) -> bool:
    return any(e.name == "DJANGO_DB" for _p, c in k8s_pairs(view) for e in k8s_env(c).values()) or (
        view.type == DOCKER_CONTAINER and "DJANGO_DB" in docker_env(view.props))


ALLOW_DELETE_INPUTS = ("allow_delete", "allow_delete_with_annotations", "delete_annotations", "force_delete")
PROTECT_INPUTS = ("protect", "delete_protection", "deletion_protection", "protected")


@rule(name="seed-projects-protected", severity="medium", level=MANDATORY, production_only=True,
      description="In production seeded projects are delete-protected (`protect=True` or the Project's "
                  "delete-protection input) and never allow deleting annotated projects.",
      why="Removing a project from the stack file must not be able to delete a team's labeled work.",
      remediation="Set delete protection on production projects in the seed spec (`pulumi state unprotect` "
                  "to remove one deliberately).")
def seed_projects_protected(view: View, _config: Config) -> Iterator[str]:
    if view.type != PROJECT:
        return
    title = text(get(view.props, "title")) or view.name
    allowed = [k for k in ALLOW_DELETE_INPUTS if truthy(get(view.props, k))]
    if allowed:
        yield f"project {title} allows deleting annotated work ({', '.join(allowed)})"
    if not view.protect and not any(truthy(get(view.props, k)) for k in PROTECT_INPUTS):
        yield f"project {title} is not delete-protected"
