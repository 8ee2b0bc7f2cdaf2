"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from components import ssrf
from tests.ml_backend_service import ML_BACKEND_HOST, MLBackendServer, ml_backend
from tests.realservices import (
    SSRF_TARGET,
    LabelStudioServer,
    Postgres,
    S3Server,
    start_label_studio,
    start_moto,
    start_postgres,
)

# --- real services (tests/realservices.py): one of each per session, stopped at teardown ---------


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = start_moto()
    yield server
    server.stop()


def label_studio_env(postgres: Postgres, **extra: str) -> dict[str, str]:
    """Label Studio 1.23.2's env for a fresh database, its admin legacy token ls-test-token-6f1d2c."""
    return {
        "DJANGO_DB": "default", "POSTGRE_NAME": postgres.create_database(), "POSTGRE_USER": postgres.user,
        "POSTGRE_PASSWORD": postgres.password, "POSTGRE_HOST": postgres.host, "POSTGRE_PORT": str(postgres.port),
        "SECRET_KEY": "test-secret-key-" + "x" * 40, "LABEL_STUDIO_USERNAME": "admin@example.com",
        "LABEL_STUDIO_PASSWORD": "test-admin-password", "LABEL_STUDIO_USER_TOKEN": "ls-test-token-6f1d2c",
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true", "SKIP_DB_MIGRATIONS": "true", "JSON_LOG": "1",
        # nothing may leave the machine: no error reports, no PyPI version check, no analytics
        "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "", "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false",
        **extra,
    }


@pytest.fixture(scope="session")
def label_studio(postgres: Postgres) -> Iterator[LabelStudioServer]:
    """Label Studio 1.23.2 on a fresh database, its admin legacy token in `.api_token`."""
    server = start_label_studio(label_studio_env(postgres))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ssrf_s3() -> Iterator[S3Server]:
    """A moto S3 server on SSRF_TARGET, one of the two loopback addresses `label_studio_ssrf` may call."""
    server = start_moto(host=SSRF_TARGET)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def label_studio_ssrf(postgres: Postgres) -> Iterator[LabelStudioServer]:
    """Label Studio as the stack runs it: SSRF protection on, its default banned subnets banned
    except exactly SSRF_TARGET (test S3 servers, webhook receivers) and ML_BACKEND_HOST (the ML
    backend), as the stack carves out its fixed targets (ssrf.banned_subnets): a target on
    127.0.0.1 or any other private address is still refused."""
    server = start_label_studio(label_studio_env(
        postgres, SSRF_PROTECTION_ENABLED="true", ML_BLOCK_LOCAL_IP="true", USE_DEFAULT_BANNED_SUBNETS="false",
        USER_ADDITIONAL_BANNED_SUBNETS=",".join(ssrf.banned_subnets([SSRF_TARGET, ML_BACKEND_HOST]))))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ml_label_studio(label_studio_ssrf: LabelStudioServer) -> LabelStudioServer:
    """The SSRF-protected Label Studio the ML backend tests link to (one per session for all targets)."""
    return label_studio_ssrf


@pytest.fixture(scope="session")
def ml_backend_server(ml_label_studio: LabelStudioServer) -> Iterator[MLBackendServer]:
    """The real ML backend (label-studio-ml, tests/ml_backend/) on ML_BACKEND_HOST, running."""
    server = ml_backend(ml_label_studio.url, ml_label_studio.api_token)
    server.start()
    yield server
    server.remove()


# --- end of real services ------------------------------------------------------------------------
