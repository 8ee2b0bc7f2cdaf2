"""The Label Studio environment contract: the one place that knows LS's settings names.

Both platforms render exactly this env (plain values) and these secret references.
Facts: ../shared/DESIGN.md section 4 (measured on 1.23.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import pulumi

from components import ssrf
from components.settings import Settings

CERT_DIR = "/label-studio/certs"
# Postgres TLS files, where every Postgres client of the stack (Label Studio, backups) reads them
CA_FILE = f"{CERT_DIR}/postgres-ca.crt"
CLIENT_CERT_FILE = f"{CERT_DIR}/postgres-client.crt"
CLIENT_KEY_FILE = f"{CERT_DIR}/postgres-client.key"
DATA_DIR = "/label-studio/data"


@dataclass(frozen=True)
class Endpoints:
    """Where Label Studio finds the services this stack wired for it."""

    db_host: str
    db_port: int
    media_endpoint: str  # S3 API URL; the browser gets presigned URLs on the same host
    redis_url: str | None
    ssrf_allowed: tuple[str, ...]  # addresses LS must be able to call (MinIO, ML backend)


@dataclass(frozen=True)
class SecretRefs:
    secret_key: pulumi.Output[str]
    db_password: pulumi.Output[str]
    admin_password: pulumi.Output[str]
    admin_token: pulumi.Output[str]
    media_access_key_id: pulumi.Output[str] | None
    media_secret_access_key: pulumi.Output[str] | None
    redis_password: pulumi.Output[str] | None


def origin(url: str) -> str:
    """scheme://host[:port] of a URL, as CSRF_TRUSTED_ORIGINS and CORS want it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def env(s: Settings, ep: Endpoints, role: Literal["migrate", "app"]) -> dict[str, str]:
    """Plain (non-secret) settings for the migration step or the app."""
    https = s.public_url.startswith("https://")
    out: dict[str, str] = {
        # database
        "DJANGO_DB": "default",
        "POSTGRE_NAME": s.postgres.database,
        "POSTGRE_USER": s.postgres.user,
        "POSTGRE_HOST": ep.db_host,
        "POSTGRE_PORT": str(ep.db_port),
        "POSTGRE_SSL_MODE": s.postgres.ssl_mode,
        # host and CSRF: LS builds absolute URLs from the host; origins need the scheme
        "LABEL_STUDIO_HOST": s.public_url,
        "CSRF_TRUSTED_ORIGINS": origin(s.public_url),
        "USE_ENFORCE_CSRF_CHECKS": "true",
        # LS parses this one with int(): "1"/"0", not true/false; the CSRF cookie follows it
        "SESSION_COOKIE_SECURE": "1" if https else "0",
        "DEBUG": "false",
        # first admin (applied only on a new database) with a bootstrap legacy token
        "LABEL_STUDIO_USERNAME": s.admin_email,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        # logs, no phoning home
        "JSON_LOG": "1",
        "LOG_LEVEL": s.log_level,
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "LATEST_VERSION_CHECK": "false",
        # SSRF protection stays on; only the targets this stack deploys are carved out
        "SSRF_PROTECTION_ENABLED": "true",
        "ML_BLOCK_LOCAL_IP": "true",
        "USE_DEFAULT_BANNED_SUBNETS": "false",
        "USER_ADDITIONAL_BANNED_SUBNETS": ",".join(ssrf.banned_subnets(ep.ssrf_allowed)),
        # media in S3: uploads go to the bucket, browsers fetch by presigned URL
        "STORAGE_TYPE": "s3",
        "STORAGE_AWS_BUCKET_NAME": s.media.bucket,
        "STORAGE_AWS_REGION_NAME": s.media.region,
        "STORAGE_AWS_FOLDER": s.media.folder,
        "BASE_DATA_DIR": DATA_DIR,
    }
    if ep.media_endpoint:
        out["STORAGE_AWS_ENDPOINT_URL"] = ep.media_endpoint
    if s.postgres.ssl_root_cert:
        out["POSTGRE_SSLROOTCERT"] = CA_FILE
    if s.postgres.ssl_cert:
        out["POSTGRE_SSLCERT"] = CLIENT_CERT_FILE
        out["POSTGRE_SSLKEY"] = CLIENT_KEY_FILE
    if ep.redis_url and s.edition == "enterprise":
        out["REDIS_LOCATION"] = ep.redis_url
    if role == "app":
        out["SKIP_DB_MIGRATIONS"] = "true"  # migrations run as their own step first
    return out


def nginx_env(s: Settings, app_host: str) -> dict[str, str]:
    """The image's nginx mode: proxy to the app, under the public URL's path."""
    return {"APP_HOST": app_host, "LABEL_STUDIO_HOST": s.public_url}


def ml_backend_env(app_url: str, port: int) -> dict[str, str]:
    """What an ML backend needs to fetch task media from Label Studio (the key is secret)."""
    return {"LABEL_STUDIO_URL": app_url, "PORT": str(port)}


ML_BACKEND_API_KEY = "LABEL_STUDIO_API_KEY"


def secret_env(s: Settings, refs: SecretRefs) -> dict[str, pulumi.Output[str]]:
    """Secret settings, always passed as secret references, never as plain values."""
    out: dict[str, pulumi.Output[str]] = {
        "SECRET_KEY": refs.secret_key,  # shared: sessions and tokens survive restarts
        "POSTGRE_PASSWORD": refs.db_password,
        "LABEL_STUDIO_PASSWORD": refs.admin_password,
        "LABEL_STUDIO_USER_TOKEN": refs.admin_token,
    }
    if refs.media_access_key_id is not None and refs.media_secret_access_key is not None:
        out["STORAGE_AWS_ACCESS_KEY_ID"] = refs.media_access_key_id
        out["STORAGE_AWS_SECRET_ACCESS_KEY"] = refs.media_secret_access_key
    if refs.redis_password is not None and s.edition == "enterprise":
        out["REDIS_PASSWORD"] = refs.redis_password
    return out


def cert_files(s: Settings) -> Mapping[str, pulumi.Input[str]]:
    """Certificate files the app needs for Postgres TLS (path -> content)."""
    files: dict[str, pulumi.Input[str]] = {}
    if s.postgres.ssl_root_cert:
        files[CA_FILE] = s.postgres.ssl_root_cert
    if s.postgres.ssl_cert and s.postgres.ssl_key is not None:
        files[CLIENT_CERT_FILE] = s.postgres.ssl_cert
        files[CLIENT_KEY_FILE] = s.postgres.ssl_key.output()
    return files
