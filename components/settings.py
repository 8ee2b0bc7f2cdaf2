"""Stack settings: one typed, validated, frozen object built from stack config.

Every default lives in `DEFAULTS` below and nowhere else. `parse()` checks every key
before any resource is declared and reports ALL problems at once, each naming the
config key, the offending value (never a secret) and the fix.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from components import s3_names
from components import settings_backup as backup_settings
from components import settings_checks as checks
from components import settings_kubernetes as k8s_settings
from components import settings_monitoring as day2_settings
from components import settings_seed as seed_settings
from components.secret import Secret
from components.settings_schema import (  # re-exported: the settings' public face
    DEFAULTS,
    LOG_LEVELS,
    MINIO_CONSOLE_PORT,
    NAMESPACE,
    SECRET_KEYS,
    SSL_MODES,
    Media,
    MLBackend,
    Postgres,
    Redis,
    Settings,
    SettingsError,
)

_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
# Docker's reference grammar: [registry[:port]/]component(/component)*, components lower case
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = rf"(?:[a-z0-9.-]+(?::\d+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
_IMAGE = re.compile(
    rf"^{_REPOSITORY}"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@sha256:(?P<digest>[a-f0-9]{64}))?$"
)
# Kubernetes' own namespaces: `default` always exists and `kube-` is reserved for the system.
_RESERVED_NAMESPACE = re.compile(r"default|kube-.*")


class _Reader:
    """Reads raw config values with type checks, collecting problems instead of raising."""

    def __init__(self, raw: Mapping[str, Any], secret_keys: frozenset[str]) -> None:
        self.raw = raw
        self.secret_keys = secret_keys
        self.problems: list[str] = []

    def fail(self, key: str, message: str) -> None:
        self.problems.append(f"{NAMESPACE}:{key}: {message}")

    def show(self, key: str, value: object) -> str:
        """The bad value for a message: never a secret, never a huge or nested value."""
        return "[secret]" if key in self.secret_keys else checks.show(value)

    def given(self, key: str) -> bool:
        """The stack file sets `key` to something other than blank."""
        value = self.raw.get(key)
        return value is not None and not (isinstance(value, str) and not value.strip())

    def string(self, key: str) -> str:
        value = self.raw.get(key, DEFAULTS[key][0])
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {self.show(key, value)}; fix: quote the value")
            return str(DEFAULTS[key][0])
        return value.strip()

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        value = self.string(key)
        if value not in options:
            self.fail(key, f"{self.show(key, value)} is not one of {', '.join(options)}; fix: use one of them")
            return str(options[0])
        return value

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.raw.get(key, DEFAULTS[key][0])
        # the engine passes top-level config values as strings; ASCII digits only, and few
        # enough that int() cannot refuse them (it raises beyond 4300 digits)
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, f"{self.show(key, value)} is not a whole number from {low} to {high}; fix: set one")
            return int(DEFAULTS[key][0])
        return value

    def boolean(self, key: str) -> bool:
        value = self.raw.get(key, DEFAULTS[key][0])
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            self.fail(key, f"{self.show(key, value)} is not true or false; fix: set true or false")
            return bool(DEFAULTS[key][0])
        return value

    def string_list(self, key: str) -> list[str]:
        value = self.raw.get(key, DEFAULTS[key][0])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, "expected a list of strings; fix: write a YAML list of strings")
            return []
        return value

    def items(self, key: str) -> list[str]:
        """A list setting's items to check one by one; none when the list was set as a secret,
        since messages about its items would quote them (parse() reports the secret itself)."""
        items = self.string_list(key)
        return [] if key in self.secret_keys else items

    def secret(self, key: str) -> Secret | None:
        value = self.raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None  # blank: as good as unset (a password of spaces is a slip, not a choice)
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
            self.fail(key, f"{self.show(key, value)} is not a pinned image; "
                      "fix: give repository:tag (or @sha256:digest)")
        elif match["tag"] == "latest" and not match["digest"]:
            self.fail(key, f"{self.show(key, value)} uses the moving tag `latest`; fix: pin a version")
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
        r.fail(key, f"unknown key; fix: remove it or {checks.closest_key(key, DEFAULTS)}")
    for key in sorted((secret_keys & set(raw) & set(DEFAULTS)) - SECRET_KEYS):
        r.fail(key, "is set as a secret, but this setting lands in plain resource inputs and outputs, "
               f"so it would not stay secret; fix: `pulumi config set {NAMESPACE}:{key} <value>` without --secret")

    platform = r.choice("platform", ("docker", "kubernetes"))
    public_url = _public_url(r)
    postgres, media, ml_backend = _postgres(r), _media(r), _ml_backend(r)
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
        namespace=_namespace(r, "kubernetesNamespace"),
        postgres=postgres,
        redis=_redis(r),
        media=media,
        ml_backend=ml_backend,
        seed_projects=seed_settings.seed_projects(r, base_dir, ml_backend),
        # Kubernetes platform
        kubernetes=k8s_settings.parse_kubernetes(r),
        web_cpu=k8s_settings.quantity(r, "webCpu", k8s_settings.CPU, "1000m"),
        web_memory=k8s_settings.quantity(r, "webMemory", k8s_settings.MEMORY, "2Gi"),
        ml_cpu=k8s_settings.quantity(r, "mlBackendCpu", k8s_settings.CPU, "1000m"),
        ml_memory=k8s_settings.quantity(r, "mlBackendMemory", k8s_settings.MEMORY, "4Gi"),
        seed_api_url=(_url(r, "seedApiUrl", "https://labels.internal.example.com")
                      if r.given("seedApiUrl") else public_url),
        seed_users=seed_settings.seed_users(r, base_dir),
        seed_health_timeout=r.integer("seedHealthTimeoutSeconds", 10, 3600),
        seed_protect_projects=r.boolean("seedProtectProjects"),
        admin_api_token=day2_settings.admin_api_token(r),
        monitoring=day2_settings.parse_monitoring(r, r.image("postgresExporterImage")),
        backup=backup_settings.parse_backup(r, platform, postgres, media),
        seed_ml_backend_wait=r.integer("seedMlBackendWaitSeconds", 10, 3600),
    )
    settings = seed_settings.seed_links(r, settings)
    _cross_checks(r, settings)
    if r.problems:
        # a last guard behind _Reader.show, for text derived from a secret (e.g. a seed file path)
        raise SettingsError(checks.redact_secrets(r.problems, [raw[k] for k in secret_keys & set(raw)]))
    return settings


def _url(r: _Reader, key: str, example: str) -> str:
    """An http(s) URL, normalized; "" when it is not one (the problem is recorded)."""
    value = r.string(key)
    url, problem = checks.http_url(value, example)
    if problem:
        r.fail(key, f"{r.show(key, checks.redact_url(value))} {problem}")
        return ""
    return url


def _public_url(r: _Reader) -> str:
    return _url(r, "publicUrl", "https://labels.example.com")


def _image_repo(r: _Reader) -> str:
    value = r.string("image")
    if not re.fullmatch(_REPOSITORY, value):
        r.fail("image", f"{r.show('image', value)} is not an image repository; "
               "fix: e.g. heartexlabs/label-studio (no tag: the tag is `version`)")
    return value


def _version(r: _Reader) -> str:
    value = r.string("version")
    if not re.fullmatch(r"\d+\.\d+\.\d+(\.post\d+)?", value):
        r.fail("version", f"{r.show('version', value)} is not a pinned release; fix: e.g. 1.23.2 (never latest)")
    return value


def _email(r: _Reader) -> str:
    value = r.string("adminEmail")
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        r.fail("adminEmail", f"{r.show('adminEmail', value)} is not an email address; fix: e.g. admin@example.com")
    return value


def _subnet(r: _Reader) -> str:
    value = r.string("dockerSubnet")
    try:
        net = ipaddress.ip_network(value)
    except ValueError:
        r.fail("dockerSubnet", f"{r.show('dockerSubnet', value)} is not a CIDR network; fix: e.g. 172.28.10.0/24")
        return str(DEFAULTS["dockerSubnet"][0])
    problem = checks.docker_subnet_problem(net)
    if problem:
        r.fail("dockerSubnet", f"{r.show('dockerSubnet', value)} {problem}; fix: e.g. 172.28.10.0/24")
    return str(net)


def _namespace(r: _Reader, key: str) -> str:
    value = r.string(key)
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", value):
        r.fail(key, f"{r.show(key, value)} is not a DNS label; fix: lower-case letters, digits and '-'")
    elif _RESERVED_NAMESPACE.fullmatch(value):
        r.fail(key, f"{r.show(key, value)} is a namespace Kubernetes owns (the stack creates its namespace); "
               "fix: e.g. label-studio")
    return value


def _host(r: _Reader, key: str, required: bool) -> str:
    value = r.string(key)
    if required and not value:
        r.fail(key, "is required when the service is external; fix: set the host name")
    elif value and not _HOST.match(value):
        r.fail(key, f"{r.show(key, value)} is not a host name; fix: a DNS name or IPv4 address, no scheme or port")
    elif required and checks.is_local_host(value):
        r.fail(key, f"{r.show(key, value)}: inside its container Label Studio's localhost is itself; "
               "fix: a host name or address the containers reach, not this machine's loopback")
    return value


def _only_external(r: _Reader, keys: tuple[str, ...], mode_key: str) -> None:
    """Keys an embedded service ignores: say so rather than deploy without them."""
    for key in keys:
        if r.given(key):
            r.fail(key, f"is only used with {mode_key}: external (the embedded service ignores it); "
                   f"fix: remove it or set {mode_key}: external")


def _postgres(r: _Reader) -> Postgres:
    mode = r.choice("postgresMode", ("embedded", "external"))
    external = mode == "external"
    password = r.secret("postgresPassword")
    if external and password is None:
        r.fail("postgresPassword", "is required for an external database; fix: "
               f"`pulumi config set --secret {NAMESPACE}:postgresPassword <password>`")
    ssl_mode = r.string("postgresSslMode") or ("require" if external else "disable")
    if ssl_mode not in SSL_MODES:
        r.fail("postgresSslMode", f"{r.show('postgresSslMode', ssl_mode)} is not one of {', '.join(SSL_MODES)}; "
               "fix: use one")
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
    if not external:
        _only_external(r, ("postgresHost", "postgresPassword", "postgresSslRootCert", "postgresSslCert",
                           "postgresSslKey"), "postgresMode")
        if ssl_mode in ("require", "verify-ca", "verify-full"):
            r.fail("postgresSslMode", f"{ssl_mode} needs TLS, which the embedded database does not serve; "
                   "fix: remove it or set postgresMode: external")
    image = r.image("postgresImage")
    major = checks.postgres_major(image)
    if major is not None and major < 14:
        r.fail("postgresImage", f"{r.show('postgresImage', image)}: Label Studio >= 1.23.1 needs PostgreSQL >= 14; "
               "fix: use 14 or newer")
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
        r.fail(key, f"{r.show(key, value)} is not a plain Postgres identifier; fix: lower-case letters, digits, '_'")
    return value


def _redis(r: _Reader) -> Redis:
    enabled = r.boolean("redisEnabled")
    mode = r.choice("redisMode", ("embedded", "external"))
    external = enabled and mode == "external"
    password = r.secret("redisPassword")
    if external and password is None:
        r.fail("redisPassword", "is required for an external Redis; fix: "
               f"`pulumi config set --secret {NAMESPACE}:redisPassword <password>`")
    tls = r.boolean("redisTls")
    if enabled and not external:
        _only_external(r, ("redisHost", "redisPassword") + (("redisTls",) if tls else ()), "redisMode")
    return Redis(
        enabled=enabled,
        mode=mode,
        image=r.image("redisImage"),
        host=_host(r, "redisHost", external),
        port=r.integer("redisPort", 1, 65535),
        password=password,
        tls=tls,
    )


def _media(r: _Reader) -> Media:
    mode = r.choice("mediaMode", ("minio", "s3"))
    bucket = r.string("mediaBucket")
    if checks.bucket_problem(bucket):
        r.fail("mediaBucket", f"{r.show('mediaBucket', bucket)} {checks.bucket_problem(bucket)}")
    endpoint = _url(r, "mediaEndpoint", "https://s3.example.com") if r.given("mediaEndpoint") else ""
    if mode == "minio" and r.given("mediaEndpoint"):
        r.fail("mediaEndpoint", "is only for mediaMode s3; fix: remove it or set mediaMode: s3")
    elif endpoint and checks.is_local_host(urlsplit(endpoint).hostname or ""):
        r.fail("mediaEndpoint", f"{r.show('mediaEndpoint', endpoint)}: inside its container Label Studio's "
               "localhost is itself; fix: a host name Label Studio and browsers both reach")
    region = r.string("mediaRegion")
    if not s3_names.REGION.fullmatch(region):
        r.fail("mediaRegion", f"{r.show('mediaRegion', region)} is not a region name; fix: e.g. us-east-1")
    folder = r.string("mediaFolder")
    if folder.startswith("/") or folder.endswith("/") or "//" in folder:
        r.fail("mediaFolder", f"{r.show('mediaFolder', folder)} must not start or end with '/' "
               "(keys would hold '//'); fix: e.g. media")
    credentials = r.choice("mediaCredentials", ("static", "iam"))
    key_id, secret_key = r.secret("mediaAccessKeyId"), r.secret("mediaSecretAccessKey")
    for key, val in (("mediaAccessKeyId", key_id), ("mediaSecretAccessKey", secret_key)):
        if mode == "s3" and credentials == "static" and val is None:
            r.fail(key, "is required for static S3 credentials; fix: "
                   f"`pulumi config set --secret {NAMESPACE}:{key} ...` or set mediaCredentials: iam")
        elif mode == "minio" and val is not None:
            r.fail(key, "is not used with mediaMode minio (the stack generates MinIO's keys); "
                   "fix: remove it or set mediaMode: s3")
        elif mode == "s3" and credentials == "iam" and val is not None:
            r.fail(key, "is not used with mediaCredentials iam (ambient credentials); "
                   "fix: remove it or set mediaCredentials: static")
    port = r.integer("mediaPort", 1024, 65535)
    if mode == "minio" and port == MINIO_CONSOLE_PORT:
        r.fail("mediaPort", f"{port} is the port of MinIO's console in its container; fix: e.g. 9000")
    return Media(
        mode=mode,
        image=r.image("minioImage"),
        port=port,
        bucket=bucket,
        region=region,
        endpoint=endpoint,
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
    env: dict[str, str] = {}
    for item in r.items("mlBackendEnv"):
        name, _, value = item.partition("=")
        problem = checks.ml_env_problem(item, env)
        if problem:
            r.fail("mlBackendEnv", problem)
        else:
            env[name] = value
    return MLBackend(
        enabled=enabled,
        image=image,
        port=r.integer("mlBackendPort", 1024, 65535),
        env=tuple(env.items()),
        replicas=r.integer("mlBackendReplicas", 1, 20),
        gpu=r.integer("mlBackendGpu", 0, 8),
    )


def _cross_checks(r: _Reader, s: Settings) -> None:
    if s.platform == "docker" and s.public_url:  # "" when publicUrl is invalid (already reported)
        found = checks.docker_public_url_problem(s.public_url, r.show("publicUrl", s.public_url), s.http_port)
        if found:
            r.fail(*found)
    if s.platform == "docker" and s.media.port == s.http_port:
        r.fail("mediaPort", f"{s.media.port} is also httpPort; fix: choose another port")
    if s.platform == "docker" and s.ml_backend.enabled:
        # The Docker adapter runs one container and attaches no GPU: refuse rather than ignore.
        if s.ml_backend.gpu:
            r.fail("mlBackendGpu", f"{s.ml_backend.gpu}: the Docker platform does not attach GPUs yet, so the "
                   "backend would run on CPU; fix: mlBackendGpu: 0")
        if s.ml_backend.replicas != 1:
            r.fail("mlBackendReplicas", f"{s.ml_backend.replicas}: the Docker platform runs one ML backend "
                   "container; fix: mlBackendReplicas: 1")
    if s.redis.enabled and s.edition == "community":
        r.fail("redisEnabled", "Label Studio Community never reads Redis; fix: set edition: enterprise "
               "or redisEnabled: false")
    k8s_settings.cross_checks(r, s.platform, s.kubernetes, s.public_url, s.media.credentials)
    day2_settings.cross_checks(r, s.platform, s.monitoring, s.postgres.ssl_mode)
