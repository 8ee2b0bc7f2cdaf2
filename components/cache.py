"""Redis (Enterprise edition job queues): embedded with a password, or external."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.platform import Platform
from components.settings import Settings
from components.spec import CommandCheck, Port, Resources, ServiceSpec, Volume

PORT = 6379
REDIS_USER = "999:999"  # the official image's redis user


class Cache(pulumi.ComponentResource):
    url: str
    password: pulumi.Output[str]

    def __init__(self, name: str, settings: Settings, platform: Platform,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("labelstudio:index:Cache", name, None, opts)
        redis = settings.redis
        self.service: pulumi.Resource | None = None
        if redis.mode == "external":
            assert redis.password is not None  # settings guarantee it
            scheme = "rediss" if redis.tls else "redis"
            self.url = f"{scheme}://{redis.host}:{redis.port}/1"
            self.password = redis.password.output()
        else:
            self.password = random.RandomPassword(
                "redis-password", random.RandomPasswordArgs(length=32, special=False),
                pulumi.ResourceOptions(parent=self),
            ).result
            self.service = platform.run(spec(settings, self.password), self)
            self.url = f"redis://redis:{PORT}/1"
        self.register_outputs({"url": self.url})


def spec(settings: Settings, password: pulumi.Output[str]) -> ServiceSpec:
    # The password reaches redis through its env, never through the command line.
    return ServiceSpec(
        name="redis",
        image=settings.redis.image,
        args=("sh", "-c", 'exec redis-server --appendonly yes --requirepass "$REDIS_PASSWORD"'),
        secret_env={"REDIS_PASSWORD": password},
        ports=(Port(PORT),),
        volumes=(Volume("data", "/data", settings.kubernetes.redis_storage),),
        health=CommandCheck(("sh", "-c", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -q PONG')),
        user=REDIS_USER,
        read_only=True,
        tier="data",
        resources=Resources(cpu="250m", memory="256Mi"),
    )
