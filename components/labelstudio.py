"""LabelStudio: the whole deployment, then the seed once the web tier is healthy."""

from __future__ import annotations

import pulumi

from components import ls_env
from components.backup import Backup
from components.cache import Cache
from components.database import Database
from components.media import MediaBucket
from components.ml_backend import MLBackend
from components.platform import Platform
from components.seed import Seed
from components.settings import Settings
from components.web_tier import WebTier, generate_secrets


def make_platform(settings: Settings, parent: pulumi.Resource) -> Platform:
    if settings.platform == "docker":
        from components.docker import DockerPlatform

        return DockerPlatform(settings, parent)
    from components.kubernetes import KubernetesPlatform  # imported only when used: it is heavy

    return KubernetesPlatform(settings, parent)


class LabelStudio(pulumi.ComponentResource):
    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("labelstudio:index:LabelStudio", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        platform = make_platform(settings, self)
        self.database = Database("database", settings, platform, child)
        self.cache = Cache("cache", settings, platform, child) if settings.redis.enabled else None
        self.media = MediaBucket("media", settings, platform, child)
        secret_key, self.admin_password, self.admin_token = generate_secrets(self)
        if settings.admin_api_token is not None:
            # Rotated in Label Studio (the bootstrap token is applied on a new database only): the
            # token seeding and the ML backend use, and the one a new database would start with.
            self.admin_token = settings.admin_api_token.output()

        allowed = [platform.ssrf_address("minio")] if settings.media.mode == "minio" else []
        if settings.ml_backend.enabled:
            allowed.append(platform.ssrf_address("ml-backend"))
        endpoints = ls_env.Endpoints(
            db_host=self.database.host,
            db_port=self.database.port,
            media_endpoint=self.media.endpoint,
            redis_url=self.cache.url if self.cache else None,
            ssrf_allowed=tuple(allowed),
        )
        refs = ls_env.SecretRefs(
            secret_key=secret_key,
            db_password=self.database.password,
            admin_password=self.admin_password,
            admin_token=self.admin_token,
            media_access_key_id=self.media.access_key_id,
            media_secret_access_key=self.media.secret_access_key,
            redis_password=self.cache.password if self.cache else None,
        )
        # Children do not inherit a component's depends_on: hand the workloads over explicitly.
        after = [r for r in (self.database.service, self.cache and self.cache.service,
                             self.media.service, self.media.bucket) if r is not None]
        self.web = WebTier("web", settings, platform, endpoints, refs, after, child)
        self.backup = (Backup("backup", settings, platform, self.database, self.media, child)
                       if settings.backup.enabled else None)
        self.ml_backend = (MLBackend("ml-backend", settings, platform, self.admin_token, child)
                           if settings.ml_backend.enabled else None)
        if settings.monitoring.enabled:  # Kubernetes only (settings refuse it on Docker)
            from components.kubernetes import KubernetesPlatform
            from components.monitoring import Monitoring

            assert isinstance(platform, KubernetesPlatform)
            Monitoring("monitoring", settings, platform, self.database.host, self.database.port,
                       self.database.password, [r for r in (self.database.service,) if r is not None], child)

        # Seeding talks to Label Studio from where `pulumi up` runs (publicUrl unless seedApiUrl
        # is set), after nginx is healthy.
        self.seed = Seed("seed", settings, self.admin_token, [self.web], legacy_parent=self, media=self.media,
                         ml_backend=self.ml_backend, opts=child)
        self.projects = self.seed.projects
        self.users = self.seed.users
        self.url = settings.public_url
        self.register_outputs({"url": self.url, "adminPassword": self.admin_password,
                               "adminToken": self.admin_token})
