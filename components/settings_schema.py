"""The shape of the stack settings: every key with its one default, and the typed object.

`components/settings.py` fills it from stack config and checks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.secret import Secret
from components.seed_spec import SeedProject
from components.seed_storages import StorageCredentials
from components.seed_users import SeedUser

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
    # --- Kubernetes platform (components/settings_kubernetes.py) ---
    "kubeconfig": ("", "Kubernetes: kubeconfig file path; empty = KUBECONFIG or ~/.kube/config."),
    "kubeContext": ("", "Kubernetes: kubeconfig context; empty = its current context."),
    "kubernetesCreateNamespace": (True,
        "Kubernetes: create the namespace (Pod Security `restricted`); false = use it."),
    "kubernetesServiceCidr": ("10.96.0.0/12",
        "Kubernetes: Service CIDR; SSRF targets get fixed ClusterIPs at its start."),
    "kubernetesServiceAccountAnnotations": ([],
        "Kubernetes: `KEY=value` app ServiceAccount annotations (IRSA, workload identity)."),
    "kubernetesEgressCidrs": (["0.0.0.0/0"],
        "Kubernetes: CIDRs of external Postgres/Redis/S3 (egress on their ports only)."),
    "ingressClass": ("nginx", "Kubernetes: IngressClass of the ingress controller."),
    "ingressControllerNamespace": ("ingress-nginx",
        "Kubernetes: namespace of the ingress controller (the only way in)."),
    "ingressTlsSecret": ("", "Kubernetes: TLS Secret of the publicUrl host (cert-manager fills it with an issuer)."),
    "ingressCertIssuer": ("", "Kubernetes: cert-manager ClusterIssuer that issues the ingress certificate."),
    "ingressBodySize": ("200m", "Kubernetes: largest request body the ingress accepts (imports)."),
    "webReplicas": (1, "Kubernetes: app and nginx replicas (the autoscaler's minimum)."),
    "webMaxReplicas": (0, "Kubernetes: autoscaler maximum for app and nginx; 0 = no HorizontalPodAutoscaler."),
    "webCpuTarget": (70, "Kubernetes: autoscaler target, average CPU utilisation in percent of the request."),
    "webPdbMinAvailable": (1, "Kubernetes: PDB minAvailable for app and nginx (webReplicas >= 2); 0 = none."),
    "webCpu": ("1000m", "App CPU (request = limit on Kubernetes)."),
    "webMemory": ("2Gi", "App memory (request = limit; the Docker memory limit)."),
    "mlBackendCpu": ("1000m", "ML backend CPU (request = limit on Kubernetes)."),
    "mlBackendMemory": ("4Gi", "ML backend memory (request = limit)."),
    "mlBackendNodeSelector": ([], "Kubernetes: ML backend node selector as `KEY=value` strings (e.g. GPU nodes)."),
    "mlBackendTolerations": ([], "Kubernetes: ML backend tolerations as `key[=value]:Effect` strings."),
    "storageClass": ("", "Kubernetes: StorageClass of embedded volumes; empty = cluster default."),
    "postgresStorageSize": ("20Gi", "Kubernetes: embedded Postgres volume size."),
    "redisStorageSize": ("2Gi", "Kubernetes: embedded Redis volume size."),
    "minioStorageSize": ("50Gi", "Kubernetes: embedded MinIO volume size."),
    "seedApiUrl": ("", "URL seeding reaches Label Studio at from where `pulumi up` runs; empty = publicUrl."),
    # --- end of Kubernetes platform ---
    "seedProjects": ([], "Project files (YAML, relative to the repo) to create after deploy."),
    # --- seed users and the seed's connection (issue 4) ---
    "seedUsers": ([], "User files (YAML, relative to the repo) whose users to create after deploy."),
    "seedUserPasswords": (None, "Seed users' passwords by name, a JSON object (secret): "
                          """`{"anna": "<password>"}`."""),
    "seedHealthTimeoutSeconds": (300, "How long each seed resource waits for Label Studio's /health."),
    "seedProtectProjects": (False, "Mark seeded projects `protect` (production): Pulumi refuses to delete them."),
    # --- day-2 operations: token rotation, monitoring (components/settings_monitoring.py) ---
    "adminApiToken": (None, "The admin's API token after a rotation in Label Studio (secret); empty = the "
                      "generated bootstrap token. Seeding and the ML backend use it."),
    "monitoringEnabled": (False, "Kubernetes: Prometheus Operator objects (ServiceMonitor, PrometheusRule) and "
                          "a PostgreSQL exporter."),
    "monitoringLabels": ([], "Kubernetes: `KEY=value` labels your Prometheus selects ServiceMonitors and rules by "
                         "(e.g. release=kube-prometheus-stack)."),
    "monitoringNamespace": ("monitoring", "Kubernetes: namespace of Prometheus (the only one allowed to scrape)."),
    "postgresExporterImage": ("quay.io/prometheuscommunity/postgres-exporter:v0.20.1",
                              "Kubernetes, monitoring: PostgreSQL exporter image (database reachability)."),
    # --- backup and restore (issue 6, components/settings_backup.py) ---
    "backupEnabled": (True, "Back up PostgreSQL (Kubernetes: a CronJob; Docker: scripts/backup.sh) with retention."),
    "backupSchedule": ("17 2 * * *", "Kubernetes: when the backup CronJob runs, five cron fields, in UTC."),
    "backupBucket": ("", "Bucket of the dumps (same endpoint and credentials); empty = the media bucket."),
    "backupPrefix": ("backups/postgres", "Key prefix of the dumps, dated below it (no leading/trailing '/')."),
    "backupRetentionDays": (30, "Days a dump is kept: an S3 lifecycle rule on backupPrefix."),
    "backupImage": ("", "Kubernetes: pg_dump/pg_restore image, major >= the server's; empty = postgresImage."),
    "backupAwsCliImage": ("amazon/aws-cli:2.22.35", "Kubernetes: AWS CLI image that uploads and downloads dumps."),
    # --- seed storages and webhooks (issue 4) ---
    "seedStorageCredentials": (None, "S3 keys for seed storages by name, a JSON object (secret): "
                               """`{"partner": {"accessKeyId": "...", "secretAccessKey": "..."}}`."""),
    "seedWebhookHeaders": (None, "Seed webhooks' headers by name, a JSON object (secret): "
                           """`{"qa-bot": {"Authorization": "Bearer ..."}}`."""),
    # --- seed ML backend links (issue 4) ---
    "seedMlBackendPasswords": (None, "ML backend links' HTTP Basic auth passwords by name, a JSON object (secret): "
                               """`{"photos": "<password>"}`."""),
    "seedMlBackendWaitSeconds": (300, "How long an ML backend link waits for Label Studio to reach its backend "
                                 "(Label Studio's own /health check of it)."),
}

SECRET_KEYS = frozenset(
    {"postgresPassword", "postgresSslKey", "redisPassword", "mediaAccessKeyId", "mediaSecretAccessKey",
     "seedUserPasswords", "adminApiToken", "seedStorageCredentials", "seedWebhookHeaders",
     "seedMlBackendPasswords"}
)
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MINIO_CONSOLE_PORT = 9001  # MinIO's console, inside its container (mediaPort must differ)


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


ML_BACKEND_SERVICE = "ml-backend"  # the ML backend's service name: Label Studio reaches it by it


@dataclass(frozen=True)
class MLBackend:
    enabled: bool
    image: str
    port: int
    env: tuple[tuple[str, str], ...]
    replicas: int
    gpu: int

    @property
    def url(self) -> str:
        """Where Label Studio reaches the stack's own ML backend (Docker network alias or Service)."""
        return f"http://{ML_BACKEND_SERVICE}:{self.port}"


@dataclass(frozen=True)
class Kubernetes:
    """Kubernetes platform settings (ignored, and refused when given, on Docker)."""

    kubeconfig: str
    context: str
    create_namespace: bool
    service_cidr: str
    account_annotations: tuple[tuple[str, str], ...]
    egress_cidrs: tuple[str, ...]
    ingress_class: str
    ingress_controller_namespace: str
    tls_secret: str
    cert_issuer: str
    body_size: str
    web_replicas: int
    web_max_replicas: int
    web_cpu_target: int
    web_pdb_min_available: int
    ml_node_selector: tuple[tuple[str, str], ...]
    ml_tolerations: tuple[tuple[str, str, str], ...]  # (key, value, effect); value "" = Exists
    storage_class: str
    postgres_storage: str
    redis_storage: str
    minio_storage: str


@dataclass(frozen=True)
class Monitoring:
    """Prometheus Operator monitoring (Kubernetes only; refused on Docker)."""

    enabled: bool
    labels: tuple[tuple[str, str], ...]  # on the ServiceMonitor and PrometheusRule, for Prometheus' selectors
    namespace: str  # where Prometheus runs: the only namespace let in to scrape
    exporter_image: str


@dataclass(frozen=True)
class Backup:
    """PostgreSQL dumps in S3 (components/backup.py); bucket and image already resolved."""

    enabled: bool
    schedule: str  # five cron fields, UTC
    bucket: str  # backupBucket, else the media bucket
    prefix: str
    retention_days: int
    image: str  # backupImage, else postgresImage
    cli_image: str


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
    # Kubernetes platform
    kubernetes: Kubernetes
    web_cpu: str
    web_memory: str
    ml_cpu: str
    ml_memory: str
    seed_api_url: str  # publicUrl unless seedApiUrl is set
    seed_users: tuple[SeedUser, ...]
    seed_health_timeout: int
    seed_protect_projects: bool
    seed_ml_backend_wait: int  # seconds an ML backend link waits for Label Studio to reach its backend
    # day-2 operations
    admin_api_token: Secret | None  # None: the generated bootstrap token
    monitoring: Monitoring
    backup: Backup
    seed_storage_credentials: tuple[tuple[str, StorageCredentials], ...] = ()  # by name (secret config)
    seed_webhook_headers: tuple[tuple[str, Secret], ...] = ()  # by name: each a JSON object of headers

    @property
    def image_ref(self) -> str:
        return f"{self.image}:{self.version}"
