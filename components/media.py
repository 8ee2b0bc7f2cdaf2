"""The media bucket: embedded MinIO (dev) or external S3, hardened through boto3."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components import ls_env
from components.platform import Platform
from components.providers.media_bucket import MediaBucket as HardenedBucket
from components.settings import MINIO_CONSOLE_PORT, Settings
from components.spec import CommandCheck, Port, Resources, ServiceSpec, Volume

# Browsers resolve *.localhost to loopback and Docker resolves this alias to MinIO, so
# one URL serves Label Studio's uploads and the browser's presigned media URLs.
MINIO_HOST = "minio.localhost"


class MediaBucket(pulumi.ComponentResource):
    endpoint: str  # the S3 endpoint Label Studio (and browsers) use; "" for AWS
    admin_endpoint: str  # the same S3 API as reached from where `pulumi up` runs
    access_key_id: pulumi.Output[str] | None
    secret_access_key: pulumi.Output[str] | None

    def __init__(self, name: str, settings: Settings, platform: Platform,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("labelstudio:index:MediaBucket", name, None, opts)
        media = settings.media
        child = pulumi.ResourceOptions(parent=self)
        self.service: pulumi.Resource | None = None
        if media.mode == "minio":
            self.access_key_id = random.RandomPassword(
                "minio-access-key", random.RandomPasswordArgs(length=20, special=False), child).result
            self.secret_access_key = random.RandomPassword(
                "minio-secret-key", random.RandomPasswordArgs(length=40, special=False), child).result
            kms_key = random.RandomBytes("minio-kms-key", random.RandomBytesArgs(length=32), child).base64
            self.service = platform.run(
                minio_spec(settings, self.access_key_id, self.secret_access_key, kms_key), self)
            self.endpoint = f"http://{MINIO_HOST}:{media.port}"
            admin_endpoint, flavor = f"http://127.0.0.1:{media.port}", "minio"
        else:
            static = media.credentials == "static"
            self.access_key_id = media.access_key_id.output() if static and media.access_key_id else None
            self.secret_access_key = (
                media.secret_access_key.output() if static and media.secret_access_key else None)
            self.endpoint = admin_endpoint = media.endpoint
            flavor = "aws"
        # Hardening runs where `pulumi up` runs: the admin endpoint must be reachable there.
        self.admin_endpoint = admin_endpoint
        self.bucket = HardenedBucket(
            "media-bucket",
            endpoint=admin_endpoint,
            region=media.region,
            bucket=media.bucket,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            cors_origins=[ls_env.origin(settings.public_url)],
            server_flavor=flavor,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.service] if self.service else []),
        )
        self.register_outputs({"endpoint": self.endpoint, "bucket": media.bucket})


def minio_spec(settings: Settings, key_id: pulumi.Output[str], secret: pulumi.Output[str],
               kms_key: pulumi.Output[str]) -> ServiceSpec:
    port = settings.media.port
    return ServiceSpec(
        name="minio",
        image=settings.media.image,
        aliases=(MINIO_HOST,),
        # Same port inside and on the host, so the presigned URL host:port works for both.
        # Certificates dir under /tmp: the root filesystem is read-only on Kubernetes.
        args=("server", "/data", "--address", f":{port}", "--console-address", f"127.0.0.1:{MINIO_CONSOLE_PORT}",
              "--certs-dir", "/tmp/certs"),  # noqa: S108 - in-container path
        env={"MINIO_API_CORS_ALLOW_ORIGIN": ls_env.origin(settings.public_url),
             "MINIO_BROWSER": "off"},
        secret_env={
            "MINIO_ROOT_USER": key_id,
            "MINIO_ROOT_PASSWORD": secret,
            # enables SSE-S3 (bucket default encryption) with a stack-generated key
            "MINIO_KMS_SECRET_KEY": kms_key.apply(lambda k: f"labelstudio-media:{k}"),
        },
        ports=(Port(port, published=port),),
        volumes=(Volume("data", "/data", settings.kubernetes.minio_storage),),
        health=CommandCheck(("mc", "ready", "local")),
        ssrf_target=True,
        resources=Resources(cpu="500m", memory="1Gi"),
    )
