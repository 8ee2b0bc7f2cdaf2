"""Backup settings, the rendered CronJobs, and the retention provider against a real S3 API (moto).

Settings: every bad backup value is named with its key, the value and the fix, all at once.
CronJobs: schedule and run policy, the restore template, TLS and credentials as the app has them.
BackupRetention: the engine's own dynamic-provider server creating, reading, updating and deleting
lifecycle rules, leaving the bucket's other rules alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from components.settings import SettingsError, parse
from tests.dynamic_engine import ProviderServer, registered_inputs
from tests.k8s_plans import Manifests, env_of, prod, template, variant_plan
from tests.realservices import S3Server
from tools.plan import run

K8S = {"platform": "kubernetes", "mediaMode": "s3", "mediaCredentials": "iam", "publicUrl": "http://labels.test"}
RETENTION = "pulumi-python:dynamic/labelstudio:BackupRetention"

# --- settings ----------------------------------------------------------------------------------------

BAD: list[tuple[dict[str, Any], str]] = [
    ({**K8S, "backupSchedule": "0 3 * *"}, "labelstudio:backupSchedule: '0 3 * *' has 4 field(s), not 5"),
    ({**K8S, "backupSchedule": "@daily"}, "labelstudio:backupSchedule: '@daily' has 1 field(s), not 5 (minute hour"),
    ({**K8S, "backupSchedule": "CRON_TZ=Europe/Berlin 0 3 * * *"}, "no TZ= prefix or @macro"),
    ({**K8S, "backupSchedule": "61 3 * * *"}, "labelstudio:backupSchedule: '61 3 * * *' minute field has '61'; "
                                              "allowed: 0-59"),
    ({**K8S, "backupSchedule": "0 3 * * 7"}, "day-of-week field has '7'; allowed: 0-6 or sun-sat"),
    ({**K8S, "backupSchedule": "0 3 * foo *"}, "month field has 'foo'; allowed: 1-12 or jan-dec"),
    ({**K8S, "backupSchedule": "0 5-1 * * *"}, "hour field has the backwards range '5-1'"),
    ({**K8S, "backupSchedule": "*/0 * * * *"}, "minute field has step '0'"),
    ({**K8S, "backupPrefix": "/backups"}, "labelstudio:backupPrefix: '/backups' must not start or end with '/'"),
    ({**K8S, "backupPrefix": ""}, "labelstudio:backupPrefix: '' is empty: the retention rule would expire the whole"),
    ({**K8S, "backupPrefix": "media/db"}, "labelstudio:backupPrefix: 'media/db' overlaps mediaFolder 'media'"),
    ({**K8S, "backupPrefix": "uploads", "mediaFolder": "uploads/media"}, "overlaps mediaFolder 'uploads/media'"),
    ({**K8S, "backupRetentionDays": "0"}, "labelstudio:backupRetentionDays: 0 is not a whole number from 1 to 3650"),
    ({**K8S, "backupImage": "postgres:13.16"}, "labelstudio:backupImage: 'postgres:13.16': pg_dump 13 cannot dump "
                                               "PostgreSQL 14 or newer"),
    ({**K8S, "postgresMode": "embedded", "postgresImage": "postgres:17.2", "backupImage": "postgres:16.4"},
     "labelstudio:backupImage: 'postgres:16.4': pg_dump 16 cannot dump the embedded PostgreSQL 17; fix: postgres:17"),
    ({**K8S, "backupImage": "postgres"}, "labelstudio:backupImage: 'postgres' is not a pinned image"),
    ({**K8S, "backupAwsCliImage": "amazon/aws-cli:latest"}, "labelstudio:backupAwsCliImage: 'amazon/aws-cli:latest' "
                                                            "uses the moving tag `latest`"),
    ({**K8S, "backupBucket": "Backups_Bucket"}, "labelstudio:backupBucket: 'Backups_Bucket' is not a valid S3 bucket"),
    ({**K8S, "backupEnabled": "false", "backupSchedule": "0 3 * * *"},
     "labelstudio:backupSchedule: is set but backupEnabled is false, so nothing uses it"),
    ({"backupSchedule": "0 3 * * *"}, "labelstudio:backupSchedule: is only used with platform: kubernetes"),
    ({"backupBucket": "other-bucket"}, "labelstudio:backupBucket: 'other-bucket': the dev stack's MinIO holds the "
                                       "media bucket only"),
    ({**K8S, "backupEnabled": "sometimes"}, "labelstudio:backupEnabled: 'sometimes' is not true or false"),
]


@pytest.mark.parametrize(("raw", "fragment"), BAD, ids=[b[1][12:60] for b in BAD])
def test_bad_backup_settings_are_named_with_value_and_fix(raw: dict[str, Any], fragment: str) -> None:
    with pytest.raises(SettingsError) as err:
        parse(raw, stack="prod" if raw.get("platform") == "kubernetes" else "dev")
    assert any(fragment in p for p in err.value.problems), err.value.problems
    assert all("fix:" in p for p in err.value.problems if p.startswith("labelstudio:backup")), err.value.problems


def test_every_backup_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as err:
        parse({**K8S, "backupSchedule": "daily", "backupPrefix": "/x/", "backupRetentionDays": "-1",
               "backupImage": "postgres:12.1"}, stack="prod")
    keys = {p.split(":")[1] for p in err.value.problems}
    assert keys == {"backupSchedule", "backupPrefix", "backupRetentionDays", "backupImage"}


def test_defaults_back_up_into_the_media_bucket_with_the_server_image() -> None:
    backup = parse({}, stack="dev").backup
    assert (backup.enabled, backup.schedule, backup.bucket, backup.prefix, backup.retention_days) == (
        True, "17 2 * * *", "label-studio-media", "backups/postgres", 30)
    assert backup.image == "postgres:16.4-bookworm" and backup.cli_image.startswith("amazon/aws-cli:2.")
    assert parse({**K8S, "backupSchedule": " 0  3 * * mon-fri "}, stack="prod").backup.schedule == "0 3 * * mon-fri"
    other = parse({**K8S, "backupBucket": "db-dumps", "backupPrefix": "media"}, stack="prod").backup
    assert (other.bucket, other.prefix) == ("db-dumps", "media")  # another bucket: no overlap with media


# --- the rendered CronJobs ---------------------------------------------------------------------------

def test_the_backup_cronjob_runs_nightly_once_at_a_time() -> None:
    cron = prod().one("CronJob", "postgres-backup")
    assert cron["metadata"]["labels"]["app.kubernetes.io/component"] == "backup"  # the failed-backups alert's
    spec = cron["spec"]
    assert {k: spec[k] for k in ("schedule", "timeZone", "suspend", "concurrencyPolicy", "startingDeadlineSeconds",
                                 "successfulJobsHistoryLimit", "failedJobsHistoryLimit")} == {
        "schedule": "17 2 * * *", "timeZone": "Etc/UTC", "suspend": False, "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 3600, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3}
    job = spec["jobTemplate"]
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "backup"
    assert (job["spec"]["backoffLimit"], job["spec"]["activeDeadlineSeconds"]) == (2, 6 * 3600)
    pod = template(cron)["spec"]
    assert pod["restartPolicy"] == "Never"
    assert [c["name"] for c in pod["initContainers"]] == ["dump"]
    assert pod["initContainers"][0]["args"] == ["pg_dump", "--format=custom", "--no-password",
                                                "--dbname=labelstudio", "--file=/dump/postgres.dump"]
    assert pod["containers"][0]["image"] == "amazon/aws-cli:2.22.35"
    assert pod["containers"][0]["command"][:2] == ["/bin/sh", "-c"]
    shared = [v for v in pod["volumes"] if v["name"] == "dump"]
    assert shared == [{"name": "dump", "emptyDir": {}}]


def test_the_restore_template_never_runs_on_its_own_and_needs_the_operators_request() -> None:
    m = prod()
    spec = m.one("CronJob", "postgres-restore")["spec"]
    assert spec["suspend"] is True and spec["jobTemplate"]["spec"]["backoffLimit"] == 0
    download = m.init_container("postgres-restore", "download")
    assert env_of(download)["RESTORE_DUMP"]["valueFrom"] == {
        "configMapKeyRef": {"name": "postgres-restore-request", "key": "key"}}
    restore = m.container("postgres-restore")
    assert restore["args"] == ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                               "--exit-on-error", "--no-password", "--dbname=labelstudio", "/dump/postgres.dump"]


def test_prod_backups_verify_the_database_as_the_app_does() -> None:
    m = prod()
    app = m.env("app")
    for name, container in (("postgres-backup", m.init_container("postgres-backup", "dump")),
                            ("postgres-restore", m.container("postgres-restore"))):
        env = env_of(container)
        assert env["PGSSLMODE"]["value"] == app["POSTGRE_SSL_MODE"]["value"] == "verify-full"
        assert env["PGHOST"]["value"] == app["POSTGRE_HOST"]["value"]
        assert env["PGSSLROOTCERT"]["value"] == app["POSTGRE_SSLROOTCERT"]["value"]
        mount = next(v for v in container["volumeMounts"] if v["mountPath"] == env["PGSSLROOTCERT"]["value"])
        assert mount["readOnly"] is True
        files = next(v for v in m.pods()[name]["volumes"] if v["name"] == mount["name"])["secret"]
        assert files["defaultMode"] == 0o400
        assert m.one("Secret", files["secretName"])["stringData"] == {"postgres-ca.crt": "[secret]"}
        assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "PGPASSWORD"
    # IRSA: no static keys anywhere in the backup pods
    cli = m.container("postgres-backup")
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_S3"} & set(env_of(cli))


def test_static_keys_and_an_s3_compatible_endpoint(tmp_path: Path) -> None:
    m = Manifests(variant_plan("static", {
        "platform": "kubernetes", "publicUrl": "http://labels.test", "mediaMode": "s3",
        "mediaEndpoint": "https://s3.storage.example.com:9443", "mediaAccessKeyId": {"secure": "v1:AAAA"},
        "mediaSecretAccessKey": {"secure": "v1:BBBB"}, "backupPrefix": "db/labelstudio"}, tmp_path))
    upload = env_of(m.container("postgres-backup"))
    assert upload["AWS_ENDPOINT_URL_S3"]["value"] == "https://s3.storage.example.com:9443"
    assert upload["BACKUP_PREFIX"]["value"] == "db/labelstudio"
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert upload[key]["valueFrom"]["secretKeyRef"]["key"] == key
        assert key not in env_of(m.init_container("postgres-backup", "dump"))  # pg_dump never sees them
    assert m.of("ServiceAccount")["postgres-backup"]["metadata"].get("annotations") is None
    egress = m.one("NetworkPolicy", "postgres-backup")["spec"]["egress"]
    assert {p["port"] for rule in egress for p in rule.get("ports", [])} == {9443}  # the S3 endpoint outside
    assert [r["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for r in egress if "ports" not in r] == [
        "postgres"]  # the embedded database, in the cluster


def test_docker_runs_no_backup_container_but_keeps_the_retention_rule() -> None:
    plan = run("dev")
    assert not [r for r in plan.resources if "CronJob" in r.type or r.name.startswith("postgres-backup")]
    (retention,) = plan.of_type(RETENTION)
    inputs = retention.inputs()
    assert (inputs["endpoint"], inputs["bucket"], inputs["prefix"], inputs["days"]) == (
        "http://127.0.0.1:9000", "label-studio-media", "backups/postgres", 30)
    assert inputs["access_key_id"] == inputs["secret_access_key"] == "[secret]"
    bucket = plan.named("media-bucket")
    assert bucket.urn in retention.dependencies  # the bucket exists before its rules are set


def test_backups_can_be_turned_off(tmp_path: Path) -> None:
    plan = variant_plan("nobackup", {**K8S, "backupEnabled": False}, tmp_path)
    assert not plan.of_type(RETENTION) and not plan.of_type("kubernetes:batch/v1:CronJob")


# --- the retention provider against moto -------------------------------------------------------------

def s3(server: S3Server) -> Any:
    return boto3.client("s3", endpoint_url=server.endpoint, region_name=server.region,
                        aws_access_key_id=server.access_key_id, aws_secret_access_key=server.secret_access_key)


def rules(server: S3Server, bucket: str) -> dict[str, dict[str, Any]]:
    found = s3(server).get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    return {r["ID"]: r for r in found}


FOREIGN = {"ID": "tmp-uploads", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 2}}


def test_retention_lifecycle_through_the_engines_provider_server(s3_server: S3Server) -> None:
    bucket = "backup-retention-test"
    s3(s3_server).create_bucket(Bucket=bucket)
    s3(s3_server).put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [FOREIGN]})
    registered = registered_inputs(
        "components.providers.backup_retention", "BackupRetention", "retention", endpoint=s3_server.endpoint,
        region=s3_server.region, bucket=bucket, prefix="backups/postgres", days=14,
        access_key_id=s3_server.access_key_id, secret_access_key=s3_server.secret_access_key)
    assert set(registered.secret_inputs) - {"__provider"} == {"access_key_id", "secret_access_key"}
    assert set(registered.additional_secret_outputs) == {"access_key_id", "secret_access_key"}
    urn = registered.urn("retention")
    server = ProviderServer("backup-retention")
    try:
        news, failures = server.check(urn, {}, registered.inputs)
        assert not failures
        id_, outs = server.create(urn, news)
        assert id_ == f"{bucket}/backups/postgres"
        live = rules(s3_server, bucket)
        assert set(live) == {"tmp-uploads", "labelstudio-backups:backups/postgres",
                             "labelstudio-backups:backups/postgres:delete-markers"}
        assert live["labelstudio-backups:backups/postgres"]["Expiration"]["Days"] == 14
        assert server.diff(urn, id_, outs, news) == ("DIFF_NONE", [])
        _, state = server.read(urn, id_, outs, news)
        assert server.diff(urn, id_, state, news) == ("DIFF_NONE", [])  # a refresh finds no drift

        # drift: someone removes our rules; refresh sees it and the next up puts them back
        s3(s3_server).put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [FOREIGN]})
        _, seen = server.read(urn, id_, outs, news)
        assert seen["rules"] == []
        assert server.diff(urn, id_, seen, news)[0] == "DIFF_SOME"
        outs = server.update(urn, id_, seen, news)
        assert len(rules(s3_server, bucket)) == 3

        # another prefix and retention: updated in place, the old prefix's rules go
        moved = {**news, "prefix": "db/dumps", "days": 7}
        assert server.diff(urn, id_, outs, moved) == ("DIFF_SOME", [])
        outs = server.update(urn, id_, outs, moved)
        live = rules(s3_server, bucket)
        assert set(live) == {"tmp-uploads", "labelstudio-backups:db/dumps", "labelstudio-backups:db/dumps:delete-markers"}
        assert live["labelstudio-backups:db/dumps"]["Filter"]["Prefix"] == "db/dumps/"

        # another bucket is another resource
        assert server.diff(urn, id_, outs, {**moved, "bucket": "elsewhere"}) == ("DIFF_SOME", ["bucket"])

        server.delete(urn, id_, outs)
        assert set(rules(s3_server, bucket)) == {"tmp-uploads"}  # only ours went; the dumps stay
        server.delete(urn, id_, outs)  # again: nothing left to remove, no error
    finally:
        server.stop()
    logs = server.logs()
    assert '"event": "lifecycle_set"' in logs and s3_server.secret_access_key not in logs


def test_retention_refuses_bad_inputs_and_a_missing_bucket(s3_server: S3Server) -> None:
    server = ProviderServer("backup-retention-bad")
    registered = registered_inputs(
        "components.providers.backup_retention", "BackupRetention", "bad", endpoint="ftp://s3.example.com",
        region="us-east-1", bucket="Bad_Name", prefix="/backups/", days=0, access_key_id=None, secret_access_key=None)
    try:
        _, failures = server.check(registered.urn("bad"), {}, registered.inputs)
        assert {f.split(":")[0] for f in failures} >= {"endpoint", "bucket", "prefix", "days"}, failures
        good = registered_inputs(
            "components.providers.backup_retention", "BackupRetention", "missing", endpoint=s3_server.endpoint,
            region=s3_server.region, bucket="no-such-backup-bucket", prefix="backups/postgres", days=30,
            access_key_id=s3_server.access_key_id, secret_access_key=s3_server.secret_access_key)
        news, failures = server.check(good.urn("missing"), {}, good.inputs)
        assert not failures
        with pytest.raises(Exception, match="bucket no-such-backup-bucket does not exist; fix: create it"):
            server.create(good.urn("missing"), news)
        # AWS S3 itself: no endpoint given is valid (the media bucket's provider agrees)
        aws = {**good.inputs, "endpoint": ""}
        assert server.check(good.urn("missing"), {}, aws)[1] == []
    finally:
        server.stop()


def test_media_bucket_accepts_aws_s3_without_an_endpoint() -> None:
    from components.providers.logs import OperationLog
    from components.providers.media_bucket import bucket_client, input_failures

    props = {"endpoint": "", "region": "eu-west-1", "bucket": "example-label-studio-media", "server_flavor": "aws",
             "cors_origins": ["https://labels.example.com"]}
    assert input_failures(props) == []
    client = bucket_client({**props, "access_key_id": "AKIAEXAMPLE", "secret_access_key": "example"},
                       OperationLog("test", "check"))
    assert client.meta.endpoint_url == "https://s3.eu-west-1.amazonaws.com"
    assert [f.property for f in input_failures({**props, "endpoint": "s3.example.com"})] == ["endpoint"]

