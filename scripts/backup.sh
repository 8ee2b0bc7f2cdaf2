#!/usr/bin/env bash
# Back up a stack's PostgreSQL now, as its schedule does: a custom-format pg_dump uploaded to
# s3://<backupBucket>/<backupPrefix>/YYYY/MM/DD/<database>-<UTC time>.dump.
#   scripts/backup.sh <stack>        take a backup now
#   scripts/backup.sh <stack> list   list the dumps, oldest first
# Docker: `docker exec` into the stack's Postgres and MinIO containers. Kubernetes: a Job from the
# postgres-backup CronJob (`kubectl create job --from=cronjob/postgres-backup`), awaited, its log shown.
# STACK_FILE=<path>: read the settings from that file instead of Pulumi.<stack>.yaml.
# shellcheck source=scripts/backup-common.sh
source "$(dirname "$0")/backup-common.sh"

stack=${1:-}
action=${2:-now}
[[ -n "$stack" && ( "$action" == now || "$action" == list ) ]] || die "usage: scripts/backup.sh <stack> [list]"
load_target "$stack"

if [[ "$PLATFORM" == docker ]]; then
    check_docker_stack
    if [[ "$action" == list ]]; then
        mc_in_minio ls --recursive "stack/$BUCKET/$PREFIX/"
        exit 0
    fi
    work=$(mktemp -d)  # the dump passes through this machine: private to us, removed at exit
    trap 'rm -rf "$work"' EXIT
    key="$PREFIX/$(date -u +"$DUMP_NAME_FORMAT")"
    # shellcheck disable=SC2086 # the flags are words without spaces
    docker exec "$POSTGRES_CONTAINER" pg_dump $PG_DUMP_FLAGS --username="$DB_USER" --dbname="$DATABASE" \
        >"$work/postgres.dump"
    mc_in_minio pipe "stack/$BUCKET/$key" <"$work/postgres.dump" >/dev/null
    echo "backup: uploaded s3://$BUCKET/$key ($(wc -c <"$work/postgres.dump") bytes)"
    exit 0
fi

need kubectl "install kubectl and point it at the cluster"
if [[ "$action" == list ]]; then
    need aws "install the AWS CLI with credentials that may list s3://$BUCKET/$PREFIX/"
    aws s3 ls --recursive ${S3_ENDPOINT:+--endpoint-url "$S3_ENDPOINT"} "s3://$BUCKET/$PREFIX/"
    exit 0
fi
job="$BACKUP_CRONJOB-now-$(date -u +%Y%m%d%H%M%S)"
kctl create job "$job" --from="cronjob/$BACKUP_CRONJOB"
echo "backup: job $job started; waiting for it"
wait_for_job "$job" || die "backup job $job failed: kubectl -n $NAMESPACE describe job $job"
echo "backup: job $job succeeded"
