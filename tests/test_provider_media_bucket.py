"""The MediaBucket provider against a real S3 API (moto server on loopback).

MinIO's gaps are reproduced on the wire by a small proxy in front of moto that answers the calls
MinIO does not implement with MinIO's answer (HTTP 501 NotImplemented).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from components.providers.common import UNKNOWN
from components.providers.media_bucket import MediaBucketProvider
from tests.dynamic_engine import ProviderServer, log_records, registered_inputs
from tests.realservices import S3Server

ORIGINS = ["https://labelstudio.example.com", "http://127.0.0.1:8080"]
NOT_IMPLEMENTED = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code>'
                   b"<Message>A header you provided implies functionality that is not implemented</Message></Error>")
ANONYMOUS_READ = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::*"]}]}

provider = MediaBucketProvider()


def props(s3: S3Server, bucket: str, endpoint: str | None = None, **changes: Any) -> dict[str, Any]:
    return {"endpoint": endpoint or s3.endpoint, "region": s3.region, "bucket": bucket,
            "access_key_id": s3.access_key_id, "secret_access_key": s3.secret_access_key,
            "cors_origins": ORIGINS, "server_flavor": "aws", **changes}


def client(s3: S3Server) -> Any:
    return boto3.client("s3", endpoint_url=s3.endpoint, region_name=s3.region,
                        aws_access_key_id=s3.access_key_id, aws_secret_access_key=s3.secret_access_key)


class MinioLike:
    """A proxy to moto that refuses, as MinIO does, the PUT calls named by their query key."""

    def __init__(self, upstream: str) -> None:
        self.refuse: set[str] = set()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def relay(self) -> None:
                query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
                if self.command == "PUT" and proxy.refuse & query.keys():
                    self.send_response(501)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(NOT_IMPLEMENTED)))
                    self.end_headers()
                    self.wfile.write(NOT_IMPLEMENTED)
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = requests.request(self.command, upstream + self.path, headers=headers,
                                          data=body, timeout=30)
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.content)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = relay  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def minio_like(s3_server: S3Server) -> Iterator[MinioLike]:
    proxy = MinioLike(s3_server.endpoint)
    yield proxy
    proxy.server.shutdown()


def test_create_hardens_every_control(s3_server: S3Server) -> None:
    created = provider.create(props(s3_server, "media-harden"))
    assert created.id == "media-harden"
    assert created.outs is not None
    assert created.outs["hardening"] == {"encryption": "AES256", "versioning": "Enabled",
                                         "public_access": "blocked", "cors": "bucket"}
    s3 = client(s3_server)
    rules = s3.get_bucket_encryption(Bucket="media-harden")["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket="media-harden")["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket="media-harden")["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                     "RestrictPublicBuckets": True}
    [cors] = s3.get_bucket_cors(Bucket="media-harden")["CORSRules"]
    assert (sorted(cors["AllowedMethods"]), cors["AllowedOrigins"]) == (["GET", "HEAD"], ORIGINS)
    # An existing bucket of ours is not an error: creating again just hardens again.
    assert provider.create(props(s3_server, "media-harden")).id == "media-harden"


def test_read_reports_drift_and_update_repairs_it(s3_server: S3Server) -> None:
    wanted = props(s3_server, "media-drift")
    state = provider.create(wanted).outs
    assert state is not None
    s3 = client(s3_server)
    s3.put_bucket_versioning(Bucket="media-drift", VersioningConfiguration={"Status": "Suspended"})
    s3.delete_public_access_block(Bucket="media-drift")
    s3.put_bucket_cors(Bucket="media-drift", CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["*"]}]})

    refreshed = provider.read("media-drift", state)
    assert refreshed.id == "media-drift" and refreshed.outs is not None
    assert refreshed.outs["hardening"] == {"encryption": "AES256", "versioning": "Suspended",
                                           "public_access": "open", "cors": "mismatch"}
    assert refreshed.outs["cors_origins"] == ["*"]
    assert provider.diff("media-drift", refreshed.outs, wanted).changes is True

    repaired = provider.update("media-drift", refreshed.outs, wanted).outs
    again = provider.read("media-drift", repaired or {}).outs
    assert again is not None and again["hardening"]["versioning"] == "Enabled"
    assert provider.diff("media-drift", again, wanted).changes is False


def test_read_of_a_missing_bucket_reports_it_gone(s3_server: S3Server) -> None:
    gone = provider.read("media-never-made", props(s3_server, "media-never-made"))
    assert (gone.id, gone.outs) == ("", {})


def test_delete_retains_the_bucket_and_its_objects(s3_server: S3Server, capfd: pytest.CaptureFixture[str]) -> None:
    state = provider.create(props(s3_server, "media-keep")).outs
    s3 = client(s3_server)
    s3.put_object(Bucket="media-keep", Key="tasks/1.jpg", Body=b"user data")
    provider.delete("media-keep", state or {})
    provider.delete("media-keep", state or {})
    assert s3.get_object(Bucket="media-keep", Key="tasks/1.jpg")["Body"].read() == b"user data"
    retained = [r for r in map(json.loads, capfd.readouterr().err.splitlines()) if r["op"] == "delete"]
    assert [r["event"] for r in retained] == ["bucket_retained", "bucket_retained"]


def test_diff_replaces_only_for_another_bucket_or_region(s3_server: S3Server) -> None:
    wanted = props(s3_server, "media-diff")
    state = {**wanted, "hardening": {"encryption": "AES256", "versioning": "Enabled",
                                     "public_access": "blocked", "cors": "bucket"}}
    assert provider.diff("media-diff", state, wanted).changes is False
    assert provider.diff("media-diff", state, {**wanted, "bucket": "media-other"}).replaces == ["bucket"]
    assert provider.diff("media-diff", state, {**wanted, "region": "eu-west-1"}).replaces == ["region"]
    rotated = provider.diff("media-diff", state, {**wanted, "secret_access_key": "rotated"})
    assert (rotated.changes, rotated.replaces) == (True, [])


@pytest.mark.parametrize(("changes", "problem"), [
    ({"cors_origins": ["*"]}, "wildcards are refused"),
    ({"cors_origins": ["https://*.example.com"]}, "wildcards are refused"),
    ({"cors_origins": ["https://ls.example.com/app"]}, "is not an origin"),
    ({"cors_origins": []}, "at least one origin"),
    ({"bucket": "Media_Bucket"}, "bucket must be 3-63"),
    ({"server_flavor": "gcs"}, "server_flavor must be one of aws, minio"),
    ({"endpoint": "s3.example.com"}, "endpoint must be an http(s) URL"),
])
def test_check_refuses_bad_inputs(s3_server: S3Server, changes: dict[str, Any], problem: str) -> None:
    failures = provider.check({}, {**props(s3_server, "media-check"), **changes}).failures
    assert [f.property for f in failures] == list(changes)
    assert problem in failures[0].reason


def test_check_wants_both_keys_or_neither_and_skips_unknowns(s3_server: S3Server) -> None:
    one_key = {k: v for k, v in props(s3_server, "media-check").items() if k != "secret_access_key"}
    assert [f.property for f in provider.check({}, one_key).failures] == ["secret_access_key"]
    ambient = {k: v for k, v in one_key.items() if k != "access_key_id"}
    assert provider.check({}, ambient).failures == []
    unknown = props(s3_server, UNKNOWN, endpoint=UNKNOWN, cors_origins=[UNKNOWN, "https://ok.example.com"])
    assert provider.check({}, unknown).failures == []


def test_minio_gaps_are_accepted_and_anonymous_policies_removed(s3_server: S3Server, minio_like: MinioLike) -> None:
    s3 = client(s3_server)
    s3.create_bucket(Bucket="media-minio")
    s3.put_bucket_policy(Bucket="media-minio", Policy=json.dumps(ANONYMOUS_READ))
    minio_like.refuse = {"publicAccessBlock", "cors"}
    outs = provider.create(props(s3_server, "media-minio", minio_like.endpoint, server_flavor="minio")).outs
    assert outs is not None
    assert outs["hardening"] == {"encryption": "AES256", "versioning": "Enabled",
                                 "public_access": "no-public-policy", "cors": "server"}
    with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket="media-minio")
    refreshed = provider.read("media-minio", outs).outs
    assert refreshed is not None and provider.diff("media-minio", refreshed, outs).changes is False


def test_aws_accepts_no_gap_and_minio_needs_a_kms(s3_server: S3Server, minio_like: MinioLike) -> None:
    minio_like.refuse = {"publicAccessBlock"}
    with pytest.raises(RuntimeError, match="could not set bucket public access block: NotImplemented"):
        provider.create(props(s3_server, "media-strict", minio_like.endpoint))
    minio_like.refuse = {"encryption"}
    with pytest.raises(RuntimeError, match="MINIO_KMS_SECRET_KEY"):
        provider.create(props(s3_server, "media-nokms", minio_like.endpoint, server_flavor="minio"))


def test_no_secret_reaches_the_logs(s3_server: S3Server, capfd: pytest.CaptureFixture[str]) -> None:
    wanted = props(s3_server, "media-logs")
    state = provider.create(wanted).outs or {}
    state = provider.read("media-logs", state).outs or {}
    provider.update("media-logs", state, wanted)
    provider.delete("media-logs", state)
    err = capfd.readouterr().err
    assert s3_server.secret_access_key not in err and s3_server.access_key_id not in err
    calls = [r for r in map(json.loads, err.splitlines()) if r["event"] == "call"]
    assert {r.get("operation") for r in calls} >= {"CreateBucket", "PutBucketCors", "GetBucketVersioning"}
    assert all(r["path"] in ("/", "/media-logs") and r["status"] for r in calls)


def test_as_the_engine_runs_it(s3_server: S3Server) -> None:
    declared = registered_inputs(
        "components.providers.media_bucket", "MediaBucket", "media", endpoint=s3_server.endpoint,
        region=s3_server.region, bucket="media-engine", access_key_id=s3_server.access_key_id,
        secret_access_key=s3_server.secret_access_key, cors_origins=ORIGINS, server_flavor="aws")
    assert declared.type == "pulumi-python:dynamic/labelstudio:MediaBucket"
    assert {"access_key_id", "secret_access_key"} <= set(declared.secret_inputs)
    assert declared.additional_secret_outputs == ["access_key_id", "secret_access_key"]
    engine = ProviderServer("dynamic-provider-media-bucket")
    try:
        urn = declared.urn("media")
        inputs, failures = engine.check(urn, {}, declared.inputs)
        assert failures == []
        id_, outs = engine.create(urn, inputs)
        assert (id_, outs["hardening"]["public_access"]) == ("media-engine", "blocked")
        _, state = engine.read(urn, id_, outs, inputs)
        assert engine.diff(urn, id_, state, inputs) == ("DIFF_NONE", [])
        engine.delete(urn, id_, state)
    finally:
        engine.stop()
    assert s3_server.secret_access_key not in engine.logs()
    assert {r["request_id"] for r in log_records(engine.log)} and client(s3_server).head_bucket(Bucket=id_)
