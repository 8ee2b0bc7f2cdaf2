"""The stack's Prometheus alerts and its ServiceMonitor, as Prometheus Operator spec dicts.

Pure builders (no resources): components/monitoring.py declares the objects. Where each signal
comes from (Label Studio 1.23.2 exports no Prometheus metrics of its own):
- HTTP errors and latency: the ingress controller's metrics (ingress-nginx, scraped by its own
  ServiceMonitor), for the stack's Ingress and host, i.e. what users see;
- restarts, availability, backups: kube-state-metrics (kube-prometheus-stack ships it);
- database reachability: the PostgreSQL exporter this stack deploys (`pg_up`), whose scrape the
  ServiceMonitor below sets up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from components.k8s_objects import service_port_name

EXPORTER = "postgres-exporter"  # its Service name is Prometheus' `job` label
EXPORTER_PORT = 9187
BACKUP_CRONJOB = "postgres-backup"  # the backup CronJob (day-2 operations: backup/restore)
ERROR_RATIO = 0.05  # 5xx share of requests over 5 minutes
P95_SECONDS = 2  # 95th percentile request duration
RESTARTS = 3  # container restarts within 15 minutes
BACKUP_MAX_AGE_HOURS = 26  # a daily backup, plus slack for its run time


@dataclass(frozen=True)
class Scope:
    """What the alerts select: the stack's namespace and Ingress (name and host)."""

    namespace: str
    ingress: str
    host: str
    ml_backend: bool


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str  # critical: users are affected now; warning: they will be, or data is at risk
    summary: str
    description: str


class RuleGroupSpec(TypedDict):
    name: str
    rules: list[dict[str, object]]  # alert, expr, for (a Python keyword, hence no TypedDict), labels, annotations


class PrometheusRuleSpec(TypedDict):
    groups: list[RuleGroupSpec]


class EndpointSpec(TypedDict):
    port: str
    path: str
    interval: str
    scrapeTimeout: str


class ServiceMonitorSpec(TypedDict):
    selector: dict[str, dict[str, str]]
    namespaceSelector: dict[str, list[str]]
    endpoints: list[EndpointSpec]


def _sel(**labels: str) -> str:
    """A label selector body: key="value" pairs, and key=~"regex" for keys ending in `_re`."""
    parts = [f'{k[:-3]}=~"{v}"' if k.endswith("_re") else f'{k}="{v}"' for k, v in labels.items()]
    return ",".join(parts)


def alerts(scope: Scope) -> list[Alert]:
    ns = scope.namespace
    http = _sel(ingress=scope.ingress, host=scope.host)
    backups = _sel(namespace=ns, job_name_re=f"{BACKUP_CRONJOB}-[0-9]+")
    exporter = _sel(namespace=ns, job=EXPORTER)
    day = BACKUP_MAX_AGE_HOURS * 3600
    found = [
        Alert("LabelStudioHighErrorRate",
              f'sum(rate(nginx_ingress_controller_requests{{{http},status=~"5.."}}[5m]))'
              f" / sum(rate(nginx_ingress_controller_requests{{{http}}}[5m])) > {ERROR_RATIO}",
              "1m", "critical", "More than 5 % of Label Studio requests fail (5xx) over 5 minutes",
              f"Check the app logs (kubectl -n {ns} logs deploy/app) and the database alert; "
              f"a rollout in progress: kubectl -n {ns} rollout status deploy/app."),
        Alert("LabelStudioSlowResponses",
              "histogram_quantile(0.95, sum by (le) "
              f"(rate(nginx_ingress_controller_request_duration_seconds_bucket{{{http}}}[5m]))) > {P95_SECONDS}",
              "10m", "warning", f"95 % of Label Studio requests take longer than {P95_SECONDS} s",
              f"Look at CPU throttling and the autoscaler (kubectl -n {ns} get hpa), and the database."
              ),
        Alert("LabelStudioRestartLoop",
              f"increase(kube_pod_container_status_restarts_total{{{_sel(namespace=ns)}}}[15m]) >= {RESTARTS}",
              "1m", "warning", "A Label Studio container restarted 3 times or more in 15 minutes",
              f"kubectl -n {ns} describe pod <pod> (OOMKilled? failing liveness probe?) and its previous logs "
              "(kubectl logs --previous)."),
        Alert("LabelStudioWebUnavailable",
              f"kube_deployment_status_replicas_available{{{_sel(namespace=ns, deployment_re='app|nginx')}}} < 1",
              "5m", "critical", "No Label Studio web pod is available",
              f"kubectl -n {ns} get pods; a stuck migration Job holds new app pods back "
              f"(kubectl -n {ns} get jobs)."),
        Alert("LabelStudioDatabaseUnreachable",
              f"pg_up{{{exporter}}} == 0 or up{{{exporter}}} == 0",
              "2m", "critical", "PostgreSQL is unreachable from the cluster (or its exporter cannot be scraped)",
              "The exporter connects as Label Studio does (same host, user, TLS): check the database, "
              "its credentials (Secret rotation) and the egress NetworkPolicy; "
              f"kubectl -n {ns} logs deploy/{EXPORTER}."),
        Alert("LabelStudioBackupFailed",
              f"kube_job_status_failed{{{backups}}} > 0"
              f" and on(namespace, job_name) (time() - kube_job_status_start_time{{{backups}}} < {day})",
              "1m", "warning", "A database backup Job failed in the last day",
              f"kubectl -n {ns} logs job/<job>; then run one by hand: "
              f"kubectl -n {ns} create job --from=cronjob/{BACKUP_CRONJOB} {BACKUP_CRONJOB}-manual"),
        Alert("LabelStudioBackupMissing",
              f"time() - kube_cronjob_status_last_successful_time{{{_sel(namespace=ns, cronjob=BACKUP_CRONJOB)}}}"
              f" > {day}",
              "10m", "warning", f"No successful database backup for {BACKUP_MAX_AGE_HOURS} hours",
              f"kubectl -n {ns} get cronjob {BACKUP_CRONJOB} (suspended? failing?)"),
    ]
    if scope.ml_backend:
        found.append(Alert(
            "LabelStudioMLBackendUnavailable",
            f"kube_deployment_status_replicas_available{{{_sel(namespace=ns, deployment='ml-backend')}}} < 1",
            "5m", "warning", "The ML backend has no ready pod: predictions and training stop",
            f"kubectl -n {ns} describe deploy/ml-backend (GPU node available? image pulled?)"))
    return found


def rule_spec(scope: Scope) -> PrometheusRuleSpec:
    rules: list[dict[str, object]] = [
        {"alert": a.name, "expr": a.expr, "for": a.for_, "labels": {"severity": a.severity},
         "annotations": {"summary": a.summary, "description": a.description}}
        for a in alerts(scope)
    ]
    return PrometheusRuleSpec(groups=[RuleGroupSpec(name="label-studio", rules=rules)])


def service_monitor_spec(namespace: str, selector: dict[str, str]) -> ServiceMonitorSpec:
    """Scrape the exporter's Service (selected by its stable labels) every 30 s."""
    return ServiceMonitorSpec(
        selector={"matchLabels": selector},
        namespaceSelector={"matchNames": [namespace]},
        endpoints=[EndpointSpec(port=service_port_name(EXPORTER_PORT), path="/metrics", interval="30s",
                                scrapeTimeout="10s")],
    )
