# shellcheck shell=bash
# Shared by scripts/backup.sh and scripts/restore.sh (sourced, not run). Reads the stack's
# settings through tools/backup_target.py (names, bucket, prefix, flags; never a secret).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "error: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || die "$1 not found: $2"; }

load_target() {  # load_target <stack>: the variables tools/backup_target.py prints
    # from Pulumi.<stack>.yaml, or the file STACK_FILE names
    [[ -x .venv/bin/python ]] || die "no .venv: run 'make venv' first"
    local assignments
    assignments=$(.venv/bin/python -m tools.backup_target "$1" ${STACK_FILE:+--file "$STACK_FILE"}) || exit 1
    eval "$assignments"
    [[ "$BACKUP_ENABLED" == true ]] || die "labelstudio:backupEnabled is false in Pulumi.$1.yaml"
}

check_docker_stack() {  # the dev script talks to the embedded Postgres and MinIO containers
    need docker "install Docker Engine"
    [[ "$POSTGRES_MODE" == embedded ]] || die "postgresMode external: run pg_dump/pg_restore against it from a machine that reaches it (README: Backup and restore)"
    [[ "$MEDIA_MODE" == minio ]] || die "mediaMode s3: copy dumps with your S3 tools (README: Backup and restore)"
}

mc_in_minio() {  # mc_in_minio <mc args...>: MinIO's own client inside its container, with its root keys
    # The keys never leave the container: the alias is built from its env, inside it.
    docker exec -i "$MINIO_CONTAINER" sh -c \
        'export MC_HOST_stack="http://${MINIO_ROOT_USER}:${MINIO_ROOT_PASSWORD}@127.0.0.1:'"$MEDIA_PORT"'"; exec mc "$@"' \
        mc "$@"
}

kctl() {  # kubectl in the stack's context and namespace
    local flags=(-n "$NAMESPACE")
    [[ -z "$KUBE_CONTEXT" ]] || flags+=(--context "$KUBE_CONTEXT")
    [[ -z "$KUBECONFIG_PATH" ]] || flags+=(--kubeconfig "$KUBECONFIG_PATH")
    kubectl "${flags[@]}" "$@"
}

wait_for_job() {  # wait_for_job <job>: until it completed (0) or failed (1); its last logs either way
    local job=$1 conditions=""
    for _ in $(seq 1 4320); do  # 6 h, the CronJobs' deadline
        conditions=$(kctl get job "$job" -o jsonpath='{.status.conditions[?(@.status=="True")].type}')
        [[ " $conditions " == *" Complete "* || " $conditions " == *" Failed "* ]] && break
        sleep 5
    done
    kctl logs "job/$job" --all-containers --tail=50 || true
    [[ " $conditions " == *" Complete "* ]]
}

dump_key_ok() {  # dump_key_ok <key>: a dump under the stack's prefix
    [[ "$1" == "$PREFIX"/*.dump ]]
}
