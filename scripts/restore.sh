#!/usr/bin/env bash
# Restore a dump over a stack's database: the web tier is stopped first and started again after,
# whether the restore worked or not (pg_restore runs in one transaction: on failure nothing changed).
#   scripts/restore.sh <stack> <key> --yes    key: as `scripts/backup.sh <stack> list` shows it
# Docker: `docker exec` (MinIO's client fetches the dump, pg_restore in the Postgres container).
# Kubernetes: ConfigMap postgres-restore-request names the dump, web Deployments scaled to 0, a Job
# from the suspended postgres-restore CronJob, then the web tier back to webReplicas.
# STACK_FILE=<path>: read the settings from that file instead of Pulumi.<stack>.yaml.
# shellcheck source=scripts/backup-common.sh
source "$(dirname "$0")/backup-common.sh"

stack=${1:-}
key=${2:-}
[[ -n "$stack" && -n "$key" ]] || die "usage: scripts/restore.sh <stack> <key> --yes"
load_target "$stack"
dump_key_ok "$key" || die "$key is not a dump under $PREFIX/; list them: scripts/backup.sh $stack list"
if [[ "${3:-}" != --yes ]]; then
    echo "restore: would replace database $DATABASE of stack $stack with s3://$BUCKET/$key,"
    echo "         with Label Studio stopped meanwhile. Run again with --yes to do it."
    exit 2
fi

if [[ "$PLATFORM" == docker ]]; then
    check_docker_stack
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mc_in_minio cat "stack/$BUCKET/$key" >"$work/postgres.dump"
    echo "restore: downloaded s3://$BUCKET/$key ($(wc -c <"$work/postgres.dump") bytes); stopping nginx and app"
    docker stop "$NGINX_CONTAINER" "$APP_CONTAINER" >/dev/null
    trap 'docker start "$APP_CONTAINER" "$NGINX_CONTAINER" >/dev/null; rm -rf "$work"' EXIT
    # shellcheck disable=SC2086 # the flags are words without spaces
    docker exec -i "$POSTGRES_CONTAINER" pg_restore $PG_RESTORE_FLAGS --username="$DB_USER" --dbname="$DATABASE" \
        <"$work/postgres.dump"
    echo "restore: done; starting app and nginx"
    exit 0
fi

need kubectl "install kubectl and point it at the cluster"
web_back() {
    echo "restore: scaling ${WEB_DEPLOYMENTS// /, } back to $WEB_REPLICAS"
    # shellcheck disable=SC2086 # deployment names
    kctl scale deployment $WEB_DEPLOYMENTS --replicas="$WEB_REPLICAS"
    kctl delete configmap "$RESTORE_CONFIGMAP" --ignore-not-found
}
kctl create configmap "$RESTORE_CONFIGMAP" --from-literal="$RESTORE_CONFIGMAP_KEY=$key" --dry-run=client -o yaml |
    kctl apply -f -
echo "restore: scaling ${WEB_DEPLOYMENTS// /, } to 0"
trap web_back EXIT
# shellcheck disable=SC2086 # deployment names
kctl scale deployment $WEB_DEPLOYMENTS --replicas=0
kctl wait --for=delete pod -l "app.kubernetes.io/instance=$INSTANCE,app.kubernetes.io/component=web" --timeout=10m
job="$RESTORE_CRONJOB-$(date -u +%Y%m%d%H%M%S)"
kctl create job "$job" --from="cronjob/$RESTORE_CRONJOB"
echo "restore: job $job started; waiting for it"
wait_for_job "$job" || die "restore job $job failed (the database is unchanged): kubectl -n $NAMESPACE describe job $job"
echo "restore: job $job succeeded"
