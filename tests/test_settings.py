"""Settings: defaults, valid stacks, and every kind of bad input with its message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.settings import DEFAULTS, SettingsError, parse
from tools.plan import stack_config

ROOT = Path(__file__).resolve().parent.parent


def parse_raw(raw: dict[str, Any], secret: frozenset[str] = frozenset(), stack: str = "dev"):
    return parse(raw, stack=stack, secret_keys=secret, base_dir=ROOT)


def problems(raw: dict[str, Any], secret: frozenset[str] = frozenset(), stack: str = "dev") -> list[str]:
    with pytest.raises(SettingsError) as err:
        parse_raw(raw, secret, stack)
    return err.value.problems


def repo_stack(name: str) -> dict[str, Any]:
    import json

    config, _ = stack_config(name)
    out: dict[str, Any] = {}
    for key, value in config.items():
        out[key.split(":", 1)[1]] = json.loads(value) if value[:1] == "[" else value
    return out


def test_defaults_alone_are_a_valid_docker_dev_stack() -> None:
    s = parse_raw({})
    assert s.platform == "docker"
    assert s.image_ref == "heartexlabs/label-studio:1.23.2"
    assert s.postgres.mode == "embedded" and s.postgres.ssl_mode == "disable"
    assert s.media.mode == "minio" and s.seed_projects == ()


def test_engine_strings_are_typed() -> None:
    s = parse_raw({"httpPort": "8081", "publicUrl": "http://localhost:8081", "redisEnabled": "false"})
    assert s.http_port == 8081 and s.redis.enabled is False


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_repo_stacks_parse(stack: str) -> None:
    secret = frozenset(k.split(":", 1)[1] for k in stack_config(stack)[1])
    s = parse_raw(repo_stack(stack), secret, stack=stack)
    assert s.stack == stack
    assert s.seed_projects, "each repo stack seeds at least one project"


def test_dev_stack_seeds_both_projects_with_quality_settings() -> None:
    s = parse_raw(repo_stack("dev"))
    titles = [p.title for p in s.seed_projects]
    assert titles == ["Product photo triage", "Support ticket entities"]
    photos = s.seed_projects[0].quality_dict
    assert photos["maximum_annotations"] == 2
    assert photos["sampling"] == "Uniform sampling"
    assert "<View>" in s.seed_projects[0].label_config


def test_external_postgres_with_secret_password() -> None:
    s = parse_raw(
        {"postgresMode": "external", "postgresHost": "db.internal", "postgresPassword": "s3cr3t-value"},
        secret=frozenset({"postgresPassword"}),
    )
    assert s.postgres.host == "db.internal" and s.postgres.ssl_mode == "require"
    assert "s3cr3t-value" not in repr(s)


# (raw config, secret keys, a fragment every matching problem must contain)
BAD: list[tuple[dict[str, Any], frozenset[str], str]] = [
    ({"platform": "nomad"}, frozenset(), "labelstudio:platform: 'nomad' is not one of docker, kubernetes"),
    ({"publicUrl": "localhost:8080"}, frozenset(), "labelstudio:publicUrl: 'localhost:8080' is not an http(s) URL"),
    ({"publicUrl": "https://x.example.com/?a=1"}, frozenset(), "has a query, fragment or credentials"),
    ({"version": "latest"}, frozenset(), "labelstudio:version: 'latest' is not a pinned release"),
    ({"adminEmail": "admin"}, frozenset(), "labelstudio:adminEmail: 'admin' is not an email address"),
    ({"postgresMode": "external", "postgresPassword": "pw"}, frozenset({"postgresPassword"}),
     "labelstudio:postgresHost: is required when the service is external"),
    ({"postgresMode": "external", "postgresHost": "db"}, frozenset(),
     "labelstudio:postgresPassword: is required for an external database"),
    ({"postgresMode": "external", "postgresHost": "db", "postgresPassword": "pw"}, frozenset(),
     "labelstudio:postgresPassword: is set in plain text; fix: `pulumi config rm"),
    ({"postgresSslMode": "strict"}, frozenset(), "labelstudio:postgresSslMode: 'strict' is not one of"),
    ({"postgresSslMode": "verify-full"}, frozenset(), "labelstudio:postgresSslRootCert: sslmode verify-full needs"),
    ({"postgresImage": "postgres:13.9"}, frozenset(), "needs PostgreSQL >= 14"),
    ({"postgresImage": "postgres"}, frozenset(), "labelstudio:postgresImage: 'postgres' is not a pinned image"),
    ({"redisImage": "redis:latest"}, frozenset(), "uses the moving tag `latest`"),
    ({"httpPort": 70000}, frozenset(), "labelstudio:httpPort: 70000 is not a whole number from 1 to 65535"),
    ({"httpPort": "eighty"}, frozenset(), "labelstudio:httpPort: 'eighty' is not a whole number"),
    ({"httpPort": 8081}, frozenset(), "labelstudio:httpPort: 8081 differs from the port of publicUrl"),
    ({"mediaBucket": "Bad_Bucket"}, frozenset(), "labelstudio:mediaBucket: 'Bad_Bucket' is not a valid S3 bucket"),
    ({"mediaFolder": "media/"}, frozenset(), "labelstudio:mediaFolder: 'media/' must not start or end with '/'"),
    ({"mediaMode": "s3"}, frozenset(), "labelstudio:mediaAccessKeyId: is required for static S3 credentials"),
    ({"mediaEndpoint": "https://s3.example.com"}, frozenset(), "labelstudio:mediaEndpoint: is only for mediaMode s3"),
    ({"redisEnabled": True}, frozenset(), "labelstudio:redisEnabled: Label Studio Community never reads Redis"),
    ({"edition": "enterprise", "redisEnabled": True, "redisMode": "external"}, frozenset(),
     "labelstudio:redisHost: is required when the service is external"),
    ({"mlBackendEnabled": True, "mlBackendImage": "ml"}, frozenset(), "labelstudio:mlBackendImage: 'ml' is not a pinned image"),
    ({"mlBackendEnv": ["TOKEN=abc"]}, frozenset(), "labelstudio:mlBackendEnv: TOKEN looks like a secret"),
    ({"mlBackendEnv": ["novalue"]}, frozenset(), "labelstudio:mlBackendEnv: 'novalue' is not KEY=value"),
    ({"dockerSubnet": "8.8.8.0/24"}, frozenset(), "must be a private IPv4 /28 or larger"),
    ({"kubernetesNamespace": "Label_Studio"}, frozenset(), "labelstudio:kubernetesNamespace: 'Label_Studio' is not a DNS label"),
    ({"seedProjects": ["seed/projects/missing.yaml"]}, frozenset(), "seed/projects/missing.yaml: cannot be read"),
    ({"platfrom": "docker"}, frozenset(), "labelstudio:platfrom: unknown key; fix: remove it"),
    ({"platform": "kubernetes", "publicUrl": "https://labels.example.com"}, frozenset(),
     "labelstudio:ingressTlsSecret: publicUrl is https, so the ingress needs a TLS Secret"),
]


@pytest.mark.parametrize(("raw", "secret", "fragment"), BAD, ids=[b[2][:40] for b in BAD])
def test_bad_input_is_named_with_key_value_and_fix(raw: dict[str, Any], secret: frozenset[str], fragment: str) -> None:
    stack = "prod" if raw.get("platform") == "kubernetes" else "dev"
    found = problems(raw, secret, stack)
    assert any(fragment in p for p in found), found
    assert all("fix" in p or ":" in p for p in found)


def test_all_problems_are_reported_at_once() -> None:
    found = problems({"platform": "nomad", "publicUrl": "nope", "adminEmail": "x", "httpPort": 0})
    keys = {p.split(":")[1] for p in found}
    assert {"platform", "publicUrl", "adminEmail", "httpPort"} <= keys


def test_secret_values_never_appear_in_messages() -> None:
    found = problems({"postgresMode": "external", "postgresPassword": "hunter2-very-secret"})
    assert not any("hunter2-very-secret" in p for p in found)


def test_every_key_has_a_description() -> None:
    assert all(desc.strip() for _, desc in DEFAULTS.values())
