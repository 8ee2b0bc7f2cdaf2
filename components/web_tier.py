"""The Label Studio web tier: secrets, a migration step, the app and nginx in front."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import pulumi
import pulumi_random as random

from components import ls_env
from components.platform import Platform
from components.settings import Settings
from components.settings_checks import url_port
from components.spec import LABEL_STUDIO_USER, Autoscale, File, HttpCheck, Port, Resources, ServiceSpec, Volume

APP_PORT = 8000  # label-studio-uwsgi
NGINX_PORT = 8085  # the image's nginx mode
DRAIN_SECONDS = 10  # on stop, serve while the Service and the ingress drop the pod
# Where the image writes besides its data dir and /tmp: $OPT_DIR (the entrypoint's generated
# config, e.g. nginx.conf), so the root filesystem can be read-only (Kubernetes makes it so).
WRITABLE = ("/opt/heartex/instance-data/etc",)


def media_calls_of(settings: Settings) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The media bucket: the embedded MinIO, or the port of the external S3 endpoint."""
    if settings.media.mode == "minio":
        return ("minio",), ()
    return (), (url_port(settings.media.endpoint) if settings.media.endpoint else 443,)


def app_calls(settings: Settings) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Services of this stack the app connects to, and the TCP ports of external ones."""
    calls: list[str] = []
    external: list[int] = []
    if settings.postgres.mode == "embedded":
        calls.append("postgres")
    else:
        external.append(settings.postgres.port)
    if settings.redis.enabled:
        if settings.redis.mode == "embedded":
            calls.append("redis")
        else:
            external.append(settings.redis.port)
    media_calls, media_external = media_calls_of(settings)
    calls.extend(media_calls)
    external.extend(media_external)
    if settings.ml_backend.enabled:
        calls.append("ml-backend")
    return tuple(calls), tuple(dict.fromkeys(external))


class Serving(TypedDict):
    """How the app and nginx serve: replicas, autoscaler, disruption budget, drain, writable paths."""

    replicas: int
    autoscale: Autoscale | None
    min_available: int
    drain_seconds: int
    tmpfs: tuple[str, ...]


def serving(settings: Settings) -> Serving:
    k8s = settings.kubernetes  # defaults on Docker, which runs one container of each
    return Serving(
        replicas=k8s.web_replicas,
        autoscale=Autoscale(k8s.web_max_replicas, k8s.web_cpu_target) if k8s.web_max_replicas else None,
        min_available=k8s.web_pdb_min_available,
        drain_seconds=DRAIN_SECONDS,
        tmpfs=WRITABLE,
    )


class WebTier(pulumi.ComponentResource):
    admin_password: pulumi.Output[str]
    admin_token: pulumi.Output[str]

    def __init__(self, name: str, settings: Settings, platform: Platform, endpoints: ls_env.Endpoints,
                 secrets: ls_env.SecretRefs, after: Sequence[pulumi.Resource],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """`after`: the services (database, bucket, ...) migrations must wait for."""
        super().__init__("labelstudio:index:WebTier", name, None, opts)
        refs = secrets
        env = ls_env.secret_env(settings, refs)
        calls, external = app_calls(settings)
        db_calls = tuple(c for c in calls if c == "postgres")
        db_external = (settings.postgres.port,) if settings.postgres.mode == "external" else ()
        scaling = serving(settings)
        files = tuple(File(path, content) for path, content in ls_env.cert_files(settings).items())
        image = settings.image_ref
        self.migration = platform.run(ServiceSpec(
            name="migrate", image=image, args=("label-studio-migrate",),
            env=ls_env.env(settings, endpoints, "migrate"), secret_env=env, files=files,
            user=LABEL_STUDIO_USER, also_data=True, run_to_completion=True,
            tmpfs=WRITABLE, calls=db_calls, external_ports=db_external,
        ), self, depends_on=after)
        # The app is created only once the migration step exited 0.
        self.app = platform.run(ServiceSpec(
            name="app", component="web", image=image, args=("label-studio-uwsgi",),
            env=ls_env.env(settings, endpoints, "app"), secret_env=env, files=files,
            ports=(Port(APP_PORT),),
            volumes=(Volume("data", ls_env.DATA_DIR),),
            health=HttpCheck("/health", APP_PORT),
            user=LABEL_STUDIO_USER, also_data=True,
            resources=Resources(cpu=settings.web_cpu, memory=settings.web_memory),
            calls=calls, external_ports=external, cloud_identity=True, **scaling,
        ), self, depends_on=[self.migration], gate=platform.succeeded(self.migration))
        self.nginx = platform.run(ServiceSpec(
            name="nginx", component="web", image=image, args=("nginx",),
            env=ls_env.nginx_env(settings, app_host="app"),
            ports=(Port(NGINX_PORT, published=settings.http_port),),
            health=HttpCheck("/nginx_health", NGINX_PORT),
            user=LABEL_STUDIO_USER,
            resources=Resources(cpu="250m", memory="256Mi"),
            calls=("app",), public=True, **scaling,
        ), self, depends_on=[self.app])
        self.url = settings.public_url
        self.register_outputs({"url": self.url})


def generate_secrets(parent: pulumi.Resource) -> tuple[pulumi.Output[str], pulumi.Output[str], pulumi.Output[str]]:
    """Django SECRET_KEY, first admin password and admin API token (> 5 chars), all random."""
    opts = pulumi.ResourceOptions(parent=parent)
    secret_key = random.RandomPassword("django-secret-key", random.RandomPasswordArgs(length=50), opts)
    password = random.RandomPassword("admin-password", random.RandomPasswordArgs(length=24), opts)
    token = random.RandomPassword("admin-token", random.RandomPasswordArgs(length=40, special=False), opts)
    return secret_key.result, password.result, token.result
