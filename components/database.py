"""Postgres for Label Studio: embedded (a service of this stack) or external."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.platform import Platform
from components.settings import Settings
from components.spec import CommandCheck, Port, Resources, ServiceSpec, Volume

PORT = 5432
POSTGRES_USER = "999:999"  # the official image's postgres user: no root, no gosu


class Database(pulumi.ComponentResource):
    host: str
    port: int
    password: pulumi.Output[str]

    def __init__(self, name: str, settings: Settings, platform: Platform,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("labelstudio:index:Database", name, None, opts)
        pg = settings.postgres
        self.service: pulumi.Resource | None = None
        if pg.mode == "external":
            assert pg.password is not None  # settings guarantee it
            self.host, self.port, self.password = pg.host, pg.port, pg.password.output()
        else:
            self.password = random.RandomPassword(
                "postgres-password", random.RandomPasswordArgs(length=32, special=False),
                pulumi.ResourceOptions(parent=self),
            ).result
            self.service = platform.run(spec(settings, self.password), self)
            self.host, self.port = "postgres", PORT
        self.register_outputs({"host": self.host, "port": self.port, "mode": pg.mode})


def spec(settings: Settings, password: pulumi.Output[str]) -> ServiceSpec:
    pg = settings.postgres
    return ServiceSpec(
        name="postgres",
        image=pg.image,
        env={"POSTGRES_DB": pg.database, "POSTGRES_USER": pg.user,
             "PGDATA": "/var/lib/postgresql/data/pgdata"},
        secret_env={"POSTGRES_PASSWORD": password},
        ports=(Port(PORT),),
        volumes=(Volume("data", "/var/lib/postgresql/data", settings.kubernetes.postgres_storage),),
        tmpfs=("/tmp", "/var/run/postgresql"),  # noqa: S108 - in-container tmpfs
        health=CommandCheck(("pg_isready", "-U", pg.user, "-d", pg.database)),
        user=POSTGRES_USER,
        read_only=True,
        tier="data",
        resources=Resources(cpu="500m", memory="1Gi"),
    )
