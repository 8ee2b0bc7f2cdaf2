"""The Label Studio web tier: secrets, a migration step, the app and nginx in front."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_random as random

from components import ls_env
from components.platform import Platform
from components.settings import Settings
from components.spec import LABEL_STUDIO_USER, File, HttpCheck, Port, Resources, ServiceSpec, Volume

APP_PORT = 8000  # label-studio-uwsgi
NGINX_PORT = 8085  # the image's nginx mode


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
        files = tuple(File(path, content) for path, content in ls_env.cert_files(settings).items())
        image = settings.image_ref
        self.migration = platform.run(ServiceSpec(
            name="migrate", image=image, args=("label-studio-migrate",),
            env=ls_env.env(settings, endpoints, "migrate"), secret_env=env, files=files,
            user=LABEL_STUDIO_USER, also_data=True, run_to_completion=True,
        ), self, depends_on=after)
        # The app is created only once the migration step exited 0.
        self.app = platform.run(ServiceSpec(
            name="app", image=image, args=("label-studio-uwsgi",),
            env=ls_env.env(settings, endpoints, "app"), secret_env=env, files=files,
            ports=(Port(APP_PORT),),
            volumes=(Volume("data", ls_env.DATA_DIR),),
            health=HttpCheck("/health", APP_PORT),
            user=LABEL_STUDIO_USER, also_data=True,
            resources=Resources(cpu="1000m", memory="2Gi"),
        ), self, depends_on=[self.migration], gate=platform.succeeded(self.migration))
        self.nginx = platform.run(ServiceSpec(
            name="nginx", image=image, args=("nginx",),
            env=ls_env.nginx_env(settings, app_host="app"),
            ports=(Port(NGINX_PORT, published=settings.http_port),),
            health=HttpCheck("/nginx_health", NGINX_PORT),
            user=LABEL_STUDIO_USER,
            resources=Resources(cpu="250m", memory="256Mi"),
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
