"""What scripts/backup.sh and scripts/restore.sh need to know about a stack, as shell assignments.

    python -m tools.backup_target <stack> [--file Pulumi.<stack>.yaml]

From the stack's settings, checked as `pulumi preview` checks them; never a secret: names of
containers and Kubernetes objects, the database, bucket, prefix and the pg_dump/pg_restore flags.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from components import backup
from components.config import _decode
from components.docker import container_prefix
from components.k8s_objects import instance_label
from components.settings import NAMESPACE, Settings, SettingsError, parse
from tools import stack_file

ROOT = Path(__file__).resolve().parent.parent


def load(stack: str, path: Path) -> Settings:
    config, secret = stack_file.read(path)
    raw = {key.partition(":")[2]: _decode(key.partition(":")[2], value)
           for key, value in config.items() if key.startswith(f"{NAMESPACE}:")}
    secret_keys = frozenset(key.partition(":")[2] for key in secret)
    return parse(raw, stack=stack, secret_keys=secret_keys, base_dir=ROOT)


def target(s: Settings) -> dict[str, str]:
    """Shell variables for the scripts (see their headers)."""
    out = {
        "PLATFORM": s.platform, "BACKUP_ENABLED": str(s.backup.enabled).lower(),
        "POSTGRES_MODE": s.postgres.mode, "MEDIA_MODE": s.media.mode,
        "DATABASE": s.postgres.database, "DB_USER": s.postgres.user,
        "BUCKET": s.backup.bucket, "PREFIX": s.backup.prefix,
        "DUMP_NAME_FORMAT": backup.key_format(s.postgres.database),
        "PG_DUMP_FLAGS": " ".join(backup.DUMP_FLAGS), "PG_RESTORE_FLAGS": " ".join(backup.RESTORE_FLAGS),
        "S3_ENDPOINT": s.media.endpoint, "S3_REGION": s.media.region,
    }
    if s.platform == "docker":
        prefix = container_prefix(s.stack)
        out.update({f"{role.upper()}_CONTAINER": f"{prefix}-{role}" for role in ("postgres", "minio", "app", "nginx")})
        out["MEDIA_PORT"] = str(s.media.port)
    else:
        k8s = s.kubernetes
        out.update({
            "NAMESPACE": s.namespace, "KUBE_CONTEXT": k8s.context, "KUBECONFIG_PATH": k8s.kubeconfig,
            "INSTANCE": instance_label(s.stack), "WEB_DEPLOYMENTS": "app nginx", "WEB_REPLICAS": str(k8s.web_replicas),
            "BACKUP_CRONJOB": backup.BACKUP, "RESTORE_CRONJOB": backup.RESTORE,
            "RESTORE_CONFIGMAP": backup.RESTORE_REQUEST[0], "RESTORE_CONFIGMAP_KEY": backup.RESTORE_REQUEST[1],
        })
    return out


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 3) or (len(argv) == 3 and argv[1] != "--file"):
        print("usage: python -m tools.backup_target <stack> [--file Pulumi.<stack>.yaml]", file=sys.stderr)
        return 2
    path = Path(argv[2]) if len(argv) == 3 else ROOT / f"Pulumi.{argv[0]}.yaml"
    if not path.exists():
        print(f"no stack file {path}", file=sys.stderr)
        return 2
    try:
        settings = load(argv[0], path)
    except (SettingsError, stack_file.StackFileError) as err:
        print(str(err), file=sys.stderr)
        return 1
    for name, value in target(settings).items():
        print(f"{name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
