"""Monitoring (Kubernetes, `monitoringEnabled`): a PostgreSQL exporter, its ServiceMonitor and the
stack's PrometheusRule, for a Prometheus Operator (e.g. kube-prometheus-stack) already in the cluster.

Label Studio 1.23.2 has no Prometheus exporter of its own (no PROMETHEUS_EXPORT_ENABLED in its
code; /metrics/ is an empty placeholder page), so nothing scrapes it: HTTP figures come from the
ingress controller, pod health from kube-state-metrics (components/monitoring_rules.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode, urlsplit

import pulumi

from components import ls_env, monitoring_rules
from components.kubernetes import PART_OF, KubernetesPlatform
from components.settings import Settings
from components.spec import File, HttpCheck, Port, Resources, ServiceSpec

MONITORING_API = "monitoring.coreos.com/v1"
EXPORTER_USER = "65534:65534"  # the image's `nobody`


def exporter_uri(settings: Settings, host: str, port: int) -> str:
    """The exporter's DATA_SOURCE_URI: where Label Studio's database is, with the same TLS checks
    (and certificate files, at the same paths) as Label Studio; user and password come apart."""
    pg = settings.postgres
    params = {"sslmode": pg.ssl_mode}
    if pg.ssl_root_cert:
        params["sslrootcert"] = f"{ls_env.CERT_DIR}/postgres-ca.crt"
    if pg.ssl_cert:
        params.update(sslcert=f"{ls_env.CERT_DIR}/postgres-client.crt",
                      sslkey=f"{ls_env.CERT_DIR}/postgres-client.key")
    return f"{host}:{port}/{pg.database}?{urlencode(params)}"


def exporter_spec(settings: Settings, host: str, port: int, password: pulumi.Output[str]) -> ServiceSpec:
    embedded = settings.postgres.mode == "embedded"
    return ServiceSpec(
        name=monitoring_rules.EXPORTER,
        component="monitoring",
        image=settings.monitoring.exporter_image,
        args=("--log.format=json",),  # one JSON object per log line, like every other component
        env={"DATA_SOURCE_URI": exporter_uri(settings, host, port), "DATA_SOURCE_USER": settings.postgres.user},
        secret_env={"DATA_SOURCE_PASS": password},
        files=tuple(File(path, content) for path, content in ls_env.cert_files(settings).items()),
        ports=(Port(monitoring_rules.EXPORTER_PORT),),
        metrics_port=monitoring_rules.EXPORTER_PORT,
        health=HttpCheck("/", monitoring_rules.EXPORTER_PORT),  # the landing page: no database query per probe
        user=EXPORTER_USER,
        resources=Resources(cpu="100m", memory="128Mi"),
        calls=("postgres",) if embedded else (),
        external_ports=() if embedded else (port,),
    )


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, settings: Settings, platform: KubernetesPlatform, db_host: str, db_port: int,
                 db_password: pulumi.Output[str], after: Sequence[pulumi.Resource],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("labelstudio:index:Monitoring", name, None, opts)
        exporter = platform.run(exporter_spec(settings, db_host, db_port, db_password), self, depends_on=after)
        labels = dict(settings.monitoring.labels)
        selector = {"app.kubernetes.io/name": monitoring_rules.EXPORTER,
                    "app.kubernetes.io/instance": platform.instance}
        self.service_monitor = platform.custom_resource(
            monitoring_rules.EXPORTER, MONITORING_API, "ServiceMonitor",
            dict(monitoring_rules.service_monitor_spec(settings.namespace, selector)), self, labels, [exporter])
        scope = monitoring_rules.Scope(namespace=settings.namespace, ingress=PART_OF,
                                       host=urlsplit(settings.public_url).hostname or "",
                                       ml_backend=settings.ml_backend.enabled)
        self.rules = platform.custom_resource(
            PART_OF, MONITORING_API, "PrometheusRule", dict(monitoring_rules.rule_spec(scope)), self, labels)
        self.register_outputs({})
