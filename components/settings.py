"""Stack settings: one typed, validated, frozen object built from stack config.

Every default lives in `DEFAULTS` below and nowhere else. `parse()` checks every key
before any resource is declared and reports ALL problems at once, each naming the
config key, the offending value (never a secret) and the fix.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from components.secret import Secret
from components.seed_spec import SeedProject, load_seed_project

NAMESPACE = "labelstudio"

# key -> (default, description). The README's configuration reference is generated
# from this table (tools/config_reference.py), so the two cannot drift.
DEFAULTS: dict[str, tuple[Any, str]] = {
    "platform": ("docker", "Where to run: `docker` (one machine) or `kubernetes`."),
    "image": ("heartexlabs/label-studio", "Label Studio image repository."),
    "version": ("1.23.2", "Label Studio version: the image tag, pinned."),
    "publicUrl": ("http://localhost:8080", "URL users open; sets LABEL_STUDIO_HOST and CSRF origins."),
    "adminEmail": ("admin@example.com", "Email (login) of the first admin, created on a new database."),
    "edition": ("community", "`community` or `enterprise` (Enterprise reads Redis)."),
    "logLevel": ("INFO", "Label Studio log level: DEBUG, INFO, WARNING or ERROR."),
    "httpPort": (8080, "Docker: host port nginx is published on (bound to 127.0.0.1)."),
    "dockerSubnet": ("172.28.10.0/24", "Docker: subnet of the app network (SSRF allow-list math)."),
    "postgresMode": ("embedded", "`embedded` (a container/pod of this stack) or `external`."),
    "postgresImage": ("postgres:16.4-bookworm", "Embedded Postgres image (major >= 14)."),
    "postgresHost": ("", "External Postgres: host name."),
    "postgresPort": (5432, "External Postgres: port."),
    "postgresDatabase": ("labelstudio", "Postgres database name."),
    "postgresUser": ("labelstudio", "Postgres user."),
    "postgresPassword": (None, "External Postgres: password (secret). Embedded: generated."),
    "postgresSslMode": ("", "sslmode: disable, allow, prefer, require, verify-ca, verify-full."),
    "postgresSslRootCert": ("", "PEM of the CA that signed the server certificate."),
    "postgresSslCert": ("", "PEM client certificate (with postgresSslKey)."),
    "postgresSslKey": (None, "PEM client key (secret)."),
    "redisEnabled": (False, "Deploy or use Redis (only the Enterprise edition reads it)."),
    "redisMode": ("embedded", "`embedded` or `external`."),
    "redisImage": ("redis:7.4.1-bookworm", "Embedded Redis image."),
    "redisHost": ("", "External Redis: host name."),
    "redisPort": (6379, "External Redis: port."),
    "redisPassword": (None, "External Redis: password (secret). Embedded: generated."),
    "redisTls": (False, "External Redis: connect with TLS."),
    "mediaMode": ("minio", "`minio` (embedded, dev) or `s3` (external S3 or S3-compatible)."),
    "minioImage": ("minio/minio:RELEASE.2024-10-13T13-34-11Z", "Embedded MinIO image."),
    "mediaPort": (9000, "Docker/MinIO: port of the S3 API, the same inside and on 127.0.0.1."),
    "mediaBucket": ("label-studio-media", "Bucket for uploads and media."),
    "mediaRegion": ("us-east-1", "Bucket region."),
    "mediaEndpoint": ("", "External S3-compatible endpoint URL; empty = AWS S3."),
    "mediaFolder": ("media", "Key prefix for Label Studio uploads (no leading/trailing '/')."),
    "mediaCredentials": ("static", "External S3: `static` keys or `iam` (ambient credentials)."),
    "mediaAccessKeyId": (None, "External S3, static credentials: access key id (secret)."),
    "mediaSecretAccessKey": (None, "External S3, static credentials: secret key (secret)."),
    "mlBackendEnabled": (False, "Deploy an ML backend next to Label Studio."),
    "mlBackendImage": ("", "ML backend image (pinned tag or digest)."),
    "mlBackendPort": (9090, "ML backend HTTP port."),
    "mlBackendEnv": ([], "ML backend extra env as `KEY=value` strings (no secrets)."),
    "mlBackendReplicas": (1, "ML backend replicas (Kubernetes)."),
    "mlBackendGpu": (0, "GPUs per ML backend replica."),
    "kubernetesNamespace": ("label-studio", "Kubernetes: namespace."),
    "seedProjects": ([], "Project files (YAML, relative to the repo) to create after deploy."),
}

SECRET_KEYS = frozenset(
    {"postgresPassword", "postgresSslKey", "redisPassword", "mediaAccessKeyId", "mediaSecretAccessKey"}
)
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IMAGE = re.compile(
    r"^(?:[a-z0-9.-]+(?::\d+)?/)?[a-z0-9][a-z0-9._/-]*"  # [registry[:port]/]repository
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@sha256:(?P<digest>[a-f0-9]{64}))?$"
)


class SettingsError(ValueError):
    """Every problem found in the stack config, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "invalid stack configuration:\n" + "\n".join(f"  - {p}" for p in problems)
        )


@dataclass(frozen=True)
class Postgres:
    mode: str
    image: str
    host: str
    port: int
    database: str
    user: str
    password: Secret | None  # None: embedded, generated by the stack
    ssl_mode: str
    ssl_root_cert: str
    ssl_cert: str
    ssl_key: Secret | None


@dataclass(frozen=True)
class Redis:
    enabled: bool
    mode: str
    image: str
    host: str
    port: int
    password: Secret | None
    tls: bool


@dataclass(frozen=True)
class Media:
    mode: str
    image: str
    port: int
    bucket: str
    region: str
    endpoint: str
    folder: str
    credentials: str
    access_key_id: Secret | None
    secret_access_key: Secret | None


@dataclass(frozen=True)
class MLBackend:
    enabled: bool
    image: str
    port: int
    env: tuple[tuple[str, str], ...]
    replicas: int
    gpu: int


@dataclass(frozen=True)
class Settings:
    stack: str
    platform: str
    image: str
    version: str
    public_url: str
    admin_email: str
    edition: str
    log_level: str
    http_port: int
    docker_subnet: str
    namespace: str
    postgres: Postgres
    redis: Redis
    media: Media
    ml_backend: MLBackend
    seed_projects: tuple[SeedProject, ...]

    @property
    def image_ref(self) -> str:
        return f"{self.image}:{self.version}"


class _Reader:
    """Reads raw config values with type checks, collecting problems instead of raising."""

    def __init__(self, raw: Mapping[str, Any], secret_keys: frozenset[str]) -> None:
        self.raw = raw
        self.secret_keys = secret_keys
        self.problems: list[str] = []

    def fail(self, key: str, message: str) -> None:
        self.problems.append(f"{NAMESPACE}:{key}: {message}")

    def string(self, key: str) -> str:
        value = self.raw.get(key, DEFAULTS[key][0])
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {value!r}; fix: quote the value")
            return str(DEFAULTS[key][0])
        return value.strip()

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        value = self.string(key)
        if value not in options:
            self.fail(key, f"{value!r} is not one of {', '.join(options)}; fix: use one of them")
            return str(options[0])
        return value

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.raw.get(key, DEFAULTS[key][0])
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)  # the engine passes top-level config values as strings
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, f"{value!r} is not a whole number from {low} to {high}; fix: set one")
            return int(DEFAULTS[key][0])
        return value

    def boolean(self, key: str) -> bool:
        value = self.raw.get(key, DEFAULTS[key][0])
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            self.fail(key, f"{value!r} is not true or false; fix: set true or false")
            return bool(DEFAULTS[key][0])
        return value

    def string_list(self, key: str) -> list[str]:
        value = self.raw.get(key, DEFAULTS[key][0])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, "expected a list of strings; fix: write a YAML list of strings")
            return []
        return value

    def secret(self, key: str) -> Secret | None:
        value = self.raw.get(key)
        if value is None or value == "":
            return None
        if key not in self.secret_keys:
            self.fail(
                key,
                "is set in plain text; fix: `pulumi config rm "
                f"{NAMESPACE}:{key}` then `pulumi config set --secret {NAMESPACE}:{key} <value>`",
            )
        return Secret(str(value))

    def image(self, key: str) -> str:
        value = self.string(key)
        match = _IMAGE.match(value)
        if not match or not (match["tag"] or match["digest"]):
            self.fail(key, f"{value!r} is not a pinned image; fix: give repository:tag (or @sha256:digest)")
        elif match["tag"] == "latest" and not match["digest"]:
            self.fail(key, f"{value!r} uses the moving tag `latest`; fix: pin a version")
        return value


def parse(
    raw: Mapping[str, Any],
    *,
    stack: str,
    secret_keys: frozenset[str] = frozenset(),
    base_dir: Path = Path("."),
) -> Settings:
    """Build Settings from `raw` (config key without namespace -> value) or raise SettingsError."""
    r = _Reader(raw, secret_keys)
    for key in sorted(set(raw) - set(DEFAULTS)):
        r.fail(key, f"unknown key; fix: remove it or use one of: {', '.join(sorted(DEFAULTS))}")

    platform = r.choice("platform", ("docker", "kubernetes"))
    public_url = _public_url(r)
    settings = Settings(
        stack=stack,
        platform=platform,
        image=_image_repo(r),
        version=_version(r),
        public_url=public_url,
        admin_email=_email(r),
        edition=r.choice("edition", ("community", "enterprise")),
        log_level=r.choice("logLevel", LOG_LEVELS),
        http_port=r.integer("httpPort", 1, 65535),
        docker_subnet=_subnet(r),
        namespace=_dns_label(r, "kubernetesNamespace"),
        postgres=_postgres(r),
        redis=_redis(r),
        media=_media(r),
        ml_backend=_ml_backend(r),
        seed_projects=_seed_projects(r, base_dir),
    )
    _cross_checks(r, settings)
    if r.problems:
        raise SettingsError(r.problems)
    return settings


def _public_url(r: _Reader) -> str:
    value = r.string("publicUrl")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        r.fail("publicUrl", f"{value!r} is not an http(s) URL; fix: e.g. https://labels.example.com")
    elif parts.query or parts.fragment or parts.username:
        r.fail("publicUrl", f"{value!r} has a query, fragment or credentials; fix: remove them")
    return value.rstrip("/")


def _image_repo(r: _Reader) -> str:
    value = r.string("image")
    if not re.fullmatch(r"[a-z0-9][a-z0-9._/-]*", value):
        r.fail("image", f"{value!r} is not an image repository; fix: e.g. heartexlabs/label-studio")
    return value


def _version(r: _Reader) -> str:
    value = r.string("version")
    if not re.fullmatch(r"\d+\.\d+\.\d+(\.post\d+)?", value):
        r.fail("version", f"{value!r} is not a pinned release; fix: e.g. 1.23.2 (never latest)")
    return value


def _email(r: _Reader) -> str:
    value = r.string("adminEmail")
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        r.fail("adminEmail", f"{value!r} is not an email address; fix: e.g. admin@example.com")
    return value


def _subnet(r: _Reader) -> str:
    value = r.string("dockerSubnet")
    try:
        net = ipaddress.ip_network(value)
    except ValueError:
        r.fail("dockerSubnet", f"{value!r} is not a CIDR network; fix: e.g. 172.28.10.0/24")
        return str(DEFAULTS["dockerSubnet"][0])
    if net.version != 4 or not net.is_private or net.prefixlen > 28:
        r.fail("dockerSubnet", f"{value!r} must be a private IPv4 /28 or larger; fix: e.g. 172.28.10.0/24")
    return str(net)


def _dns_label(r: _Reader, key: str) -> str:
    value = r.string(key)
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", value):
        r.fail(key, f"{value!r} is not a DNS label; fix: lower-case letters, digits and '-'")
    return value


def _host(r: _Reader, key: str, required: bool) -> str:
    value = r.string(key)
    if required and not value:
        r.fail(key, "is required when the service is external; fix: set the host name")
    elif value and not _HOST.match(value):
        r.fail(key, f"{value!r} is not a host name; fix: a DNS name or IP, no scheme or port")
    return value


def _postgres(r: _Reader) -> Postgres:
    mode = r.choice("postgresMode", ("embedded", "external"))
    external = mode == "external"
    password = r.secret("postgresPassword")
    if external and password is None:
        r.fail("postgresPassword", "is required for an external database; fix: "
               f"`pulumi config set --secret {NAMESPACE}:postgresPassword <password>`")
    ssl_mode = r.string("postgresSslMode") or ("require" if external else "disable")
    if ssl_mode not in SSL_MODES:
        r.fail("postgresSslMode", f"{ssl_mode!r} is not one of {', '.join(SSL_MODES)}; fix: use one")
    root_cert = r.string("postgresSslRootCert")
    if ssl_mode in ("verify-ca", "verify-full") and not root_cert:
        r.fail("postgresSslRootCert", f"sslmode {ssl_mode} needs the CA certificate; fix: set its PEM")
    for key in ("postgresSslRootCert", "postgresSslCert"):
        pem = r.string(key)
        if pem and "-----BEGIN CERTIFICATE-----" not in pem:
            r.fail(key, "is not a PEM certificate; fix: paste the -----BEGIN CERTIFICATE----- block")
    cert = r.string("postgresSslCert")
    key_pem = r.secret("postgresSslKey")
    if bool(cert) != (key_pem is not None):
        r.fail("postgresSslCert", "a client certificate and postgresSslKey go together; fix: set both or neither")
    image = r.image("postgresImage")
    major = re.match(r"(?:.*/)?postgres:(\d+)", image)
    if major and int(major.group(1)) < 14:
        r.fail("postgresImage", f"{image!r}: Label Studio >= 1.23.1 needs PostgreSQL >= 14; fix: use 14 or newer")
    return Postgres(
        mode=mode,
        image=image,
        host=_host(r, "postgresHost", external),
        port=r.integer("postgresPort", 1, 65535),
        database=_identifier(r, "postgresDatabase"),
        user=_identifier(r, "postgresUser"),
        password=password,
        ssl_mode=ssl_mode,
        ssl_root_cert=root_cert,
        ssl_cert=cert,
        ssl_key=key_pem,
    )


def _identifier(r: _Reader, key: str) -> str:
    value = r.string(key)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
        r.fail(key, f"{value!r} is not a plain Postgres identifier; fix: lower-case letters, digits, '_'")
    return value


def _redis(r: _Reader) -> Redis:
    enabled = r.boolean("redisEnabled")
    mode = r.choice("redisMode", ("embedded", "external"))
    external = enabled and mode == "external"
    password = r.secret("redisPassword")
    if external and password is None:
        r.fail("redisPassword", "is required for an external Redis; fix: "
               f"`pulumi config set --secret {NAMESPACE}:redisPassword <password>`")
    return Redis(
        enabled=enabled,
        mode=mode,
        image=r.image("redisImage"),
        host=_host(r, "redisHost", external),
        port=r.integer("redisPort", 1, 65535),
        password=password,
        tls=r.boolean("redisTls"),
    )


def _media(r: _Reader) -> Media:
    mode = r.choice("mediaMode", ("minio", "s3"))
    bucket = r.string("mediaBucket")
    if not _BUCKET.match(bucket) or ".." in bucket:
        r.fail("mediaBucket", f"{bucket!r} is not a valid S3 bucket name; "
               "fix: 3-63 lower-case letters, digits, '-', '.'")
    endpoint = r.string("mediaEndpoint")
    if endpoint and urlsplit(endpoint).scheme not in ("http", "https"):
        r.fail("mediaEndpoint", f"{endpoint!r} is not an http(s) URL; fix: e.g. https://s3.example.com")
    if mode == "minio" and endpoint:
        r.fail("mediaEndpoint", "is only for mediaMode s3; fix: remove it or set mediaMode: s3")
    folder = r.string("mediaFolder")
    if folder.startswith("/") or folder.endswith("/") or "//" in folder:
        r.fail("mediaFolder", f"{folder!r} must not start or end with '/' (keys would hold '//'); fix: e.g. media")
    credentials = r.choice("mediaCredentials", ("static", "iam"))
    key_id, secret_key = r.secret("mediaAccessKeyId"), r.secret("mediaSecretAccessKey")
    if mode == "s3" and credentials == "static":
        for key, val in (("mediaAccessKeyId", key_id), ("mediaSecretAccessKey", secret_key)):
            if val is None:
                r.fail(key, "is required for static S3 credentials; fix: "
                       f"`pulumi config set --secret {NAMESPACE}:{key} ...` or set mediaCredentials: iam")
    return Media(
        mode=mode,
        image=r.image("minioImage"),
        port=r.integer("mediaPort", 1024, 65535),
        bucket=bucket,
        region=r.string("mediaRegion"),
        endpoint=endpoint.rstrip("/"),
        folder=folder,
        credentials=credentials,
        access_key_id=key_id,
        secret_access_key=secret_key,
    )


def _ml_backend(r: _Reader) -> MLBackend:
    enabled = r.boolean("mlBackendEnabled")
    image = r.string("mlBackendImage")
    if enabled:
        image = r.image("mlBackendImage")
    env: list[tuple[str, str]] = []
    for item in r.string_list("mlBackendEnv"):
        name, sep, value = item.partition("=")
        if not sep or not _ENV_NAME.match(name):
            r.fail("mlBackendEnv", f"{item!r} is not KEY=value; fix: e.g. MODEL_DIR=/data/models")
        elif re.search(r"PASSWORD|SECRET|TOKEN|KEY", name.upper()):
            r.fail("mlBackendEnv", f"{name} looks like a secret and would sit in plain config; fix: remove it")
        else:
            env.append((name, value))
    return MLBackend(
        enabled=enabled,
        image=image,
        port=r.integer("mlBackendPort", 1024, 65535),
        env=tuple(env),
        replicas=r.integer("mlBackendReplicas", 1, 20),
        gpu=r.integer("mlBackendGpu", 0, 8),
    )


def _seed_projects(r: _Reader, base_dir: Path) -> tuple[SeedProject, ...]:
    projects: list[SeedProject] = []
    for path in r.string_list("seedProjects"):
        project, problems = load_seed_project(base_dir, path)
        for problem in problems:
            r.fail("seedProjects", problem)
        if project is not None:
            projects.append(project)
    return tuple(projects)


def _cross_checks(r: _Reader, s: Settings) -> None:
    url = urlsplit(s.public_url)
    if s.platform == "docker":
        if url.hostname in ("localhost", "127.0.0.1") and (url.port or 80) != s.http_port:
            r.fail("httpPort", f"{s.http_port} differs from the port of publicUrl {s.public_url!r}; "
                   "fix: make them the same")
        if s.media.port == s.http_port:
            r.fail("mediaPort", f"{s.media.port} is also httpPort; fix: choose another port")
    if s.redis.enabled and s.edition == "community":
        r.fail("redisEnabled", "Label Studio Community never reads Redis; fix: set edition: enterprise "
               "or redisEnabled: false")
    if s.platform == "kubernetes":
        # Both need an in-cluster SSRF target with a fixed address, which the Kubernetes
        # adapter does not allocate yet (issue #3): refuse rather than deploy a broken stack.
        if s.media.mode == "minio":
            r.fail("mediaMode", "embedded MinIO is not available on Kubernetes yet; fix: mediaMode: s3")
        if s.ml_backend.enabled:
            r.fail("mlBackendEnabled", "the ML backend is not available on Kubernetes yet; fix: "
                   "mlBackendEnabled: false, or run the docker platform")
