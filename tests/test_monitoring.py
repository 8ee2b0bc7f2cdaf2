"""Monitoring on Kubernetes (prod turns it on): the PrometheusRule's PromQL parsed by a real parser
(promql-parser), the ServiceMonitor and PrometheusRule checked against models generated from the
Prometheus Operator CRDs (cloudcoil-models-prometheus-operator, strict: an unknown field fails),
the scrape wiring (selector, port, namespace) and the PostgreSQL exporter."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import promql_parser
import pydantic
import pytest
from cloudcoil.models.prometheus_operator import v1 as monitoring_v1

from components import monitoring_rules
from components.settings import SettingsError, parse
from tests.k8s_plans import Manifests, prod, variant_plan

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE, HOST = "label-studio", "labels.example.com"
# metric -> where it comes from (what must be installed for the alert to see anything)
SOURCES = {
    "nginx_ingress_controller_requests": "ingress-nginx",
    "nginx_ingress_controller_request_duration_seconds_bucket": "ingress-nginx",
    "kube_pod_container_status_restarts_total": "kube-state-metrics",
    "kube_deployment_status_replicas_available": "kube-state-metrics",
    "kube_job_status_failed": "kube-state-metrics",
    "kube_job_status_start_time": "kube-state-metrics",
    "kube_cronjob_status_last_successful_time": "kube-state-metrics",
    "pg_up": "postgres-exporter",
    "up": "prometheus",
}


def rules(m: Manifests) -> dict[str, dict[str, Any]]:
    spec = m.one("PrometheusRule", "label-studio")["spec"]
    return {r["alert"]: r for group in spec["groups"] for r in group["rules"]}


def selectors(expr: str) -> list[tuple[str, dict[str, tuple[str, str]]]]:
    """Every vector selector of `expr`: (metric, {label: (op, value)}); the parser refuses bad PromQL."""
    found: list[tuple[str, dict[str, tuple[str, str]]]] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append((str(node.name), {m.name: (str(m.op).rsplit(".", 1)[-1], m.value)
                                           for m in node.matchers.matchers}))

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def ranges(expr: str) -> set[timedelta]:
    found: set[timedelta] = set()
    promql_parser.walk(promql_parser.parse(expr), lambda n: found.add(n.range)
                       if isinstance(n, promql_parser.MatrixSelector) else None)
    return found


# --- the alerts ---------------------------------------------------------------------------------------

def test_every_alert_is_valid_promql_and_selects_only_this_stack() -> None:
    found = rules(prod())
    assert set(found) == {"LabelStudioHighErrorRate", "LabelStudioSlowResponses", "LabelStudioRestartLoop",
                          "LabelStudioWebUnavailable", "LabelStudioDatabaseUnreachable", "LabelStudioBackupFailed",
                          "LabelStudioBackupMissing", "LabelStudioMLBackendUnavailable"}
    for name, rule in found.items():
        for metric, matchers in selectors(rule["expr"]):
            assert metric in SOURCES, (name, metric)
            if SOURCES[metric] == "ingress-nginx":  # the stack's Ingress and host: what users see
                assert matchers["ingress"] == ("Equal", "label-studio") and matchers["host"] == ("Equal", HOST)
            else:
                assert matchers["namespace"] == ("Equal", NAMESPACE), (name, metric)
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_the_parser_really_refuses_broken_promql() -> None:
    good = rules(prod())["LabelStudioHighErrorRate"]["expr"]
    for broken in (good.replace("rate(", "rat(", 1), good.replace("[5m]", "", 1), good.replace(")", "", 1)):
        with pytest.raises(ValueError):
            promql_parser.parse(broken)


def test_http_errors_above_5_percent_over_5_minutes() -> None:
    rule = rules(prod())["LabelStudioHighErrorRate"]
    tree = promql_parser.parse(rule["expr"])
    assert isinstance(tree, promql_parser.BinaryExpr) and isinstance(tree.rhs, promql_parser.NumberLiteral)
    assert tree.rhs.val == 0.05 and ranges(rule["expr"]) == {timedelta(minutes=5)}
    errors, total = (m for _, m in selectors(rule["expr"]))
    assert errors["status"] == ("Re", "5..") and "status" not in total  # 5xx among all requests


def test_latency_restarts_backups_database_and_ml_backend_alerts() -> None:
    found = rules(prod())
    p95 = found["LabelStudioSlowResponses"]["expr"]
    assert p95.startswith("histogram_quantile(0.95,") and "sum by (le)" in p95
    assert ranges(found["LabelStudioRestartLoop"]["expr"]) == {timedelta(minutes=15)}
    failed = dict(selectors(found["LabelStudioBackupFailed"]["expr"]))["kube_job_status_failed"]
    assert failed["job_name"] == ("Re", "postgres-backup-[0-9]+")  # the Jobs of the backup CronJob
    stale = dict(selectors(found["LabelStudioBackupMissing"]["expr"]))["kube_cronjob_status_last_successful_time"]
    assert stale["cronjob"] == ("Equal", "postgres-backup")
    db = dict(selectors(found["LabelStudioDatabaseUnreachable"]["expr"]))
    assert db.keys() == {"pg_up", "up"} and db["pg_up"]["job"] == ("Equal", "postgres-exporter")
    ml = dict(selectors(found["LabelStudioMLBackendUnavailable"]["expr"]))
    assert ml["kube_deployment_status_replicas_available"]["deployment"] == ("Equal", "ml-backend")


def test_no_ml_backend_no_ml_backend_alert() -> None:
    scope = monitoring_rules.Scope(namespace="ns", ingress="label-studio", host="h", ml_backend=False)
    assert "LabelStudioMLBackendUnavailable" not in {a.name for a in monitoring_rules.alerts(scope)}


# --- the objects against the CRD models ---------------------------------------------------------------

def unknown_fields(model: type[pydantic.BaseModel], doc: dict[str, Any]) -> list[str]:
    """Fields of `doc` the CRD model does not know (pydantic drops them silently; we do not)."""
    dumped = model.model_validate(doc).model_dump(by_alias=True, exclude_unset=True, mode="json")

    def diff(given: Any, kept: Any, path: str) -> list[str]:
        if isinstance(given, dict):
            return [p for k, v in given.items() for p in
                    ([f"{path}.{k}"] if k not in kept else diff(v, kept[k], f"{path}.{k}"))]
        if isinstance(given, list):
            return [p for i, (g, k) in enumerate(zip(given, kept, strict=True)) for p in diff(g, k, f"{path}[{i}]")]
        return []

    return diff(doc, dumped, "")


@pytest.mark.parametrize(("kind", "model"), [("ServiceMonitor", monitoring_v1.ServiceMonitor),
                                             ("PrometheusRule", monitoring_v1.PrometheusRule)])
def test_custom_resources_match_the_prometheus_operator_crds(kind: str, model: type[pydantic.BaseModel]) -> None:
    (doc,) = prod().of(kind).values()
    assert doc["apiVersion"] == "monitoring.coreos.com/v1"
    assert unknown_fields(model, doc) == []
    # the check can fail: a misspelt field, and a value of the wrong shape
    spoiled = {**doc, "spec": {**doc["spec"], "endpoint": []}}
    assert unknown_fields(model, spoiled) == [".spec.endpoint"]
    with pytest.raises(pydantic.ValidationError):
        model.model_validate({**doc, "spec": {**doc["spec"], "groups" if kind == "PrometheusRule" else "endpoints":
                                              [{"interval": "every minute", "for": "5 minutes"}]}})


def test_every_rule_duration_is_one_prometheus_accepts() -> None:
    doc = prod().one("PrometheusRule", "label-studio")
    for group in monitoring_v1.PrometheusRule.model_validate(doc).spec.groups:  # type: ignore[union-attr]
        for rule in group.rules or []:
            assert rule.for_ is not None and promql_parser.parse_duration(rule.for_) > timedelta(0)


def test_the_service_monitor_scrapes_the_exporter_service() -> None:
    m = prod()
    monitor = m.one("ServiceMonitor", "postgres-exporter")
    service = m.one("Service", "postgres-exporter")
    for doc in (monitor, m.one("PrometheusRule", "label-studio")):
        assert doc["metadata"]["labels"]["release"] == "kube-prometheus-stack"  # monitoringLabels
        assert doc["metadata"]["namespace"] == NAMESPACE
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert selector.items() <= service["spec"]["selector"].items()  # the same pods the Service serves
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    port = next(p for p in service["spec"]["ports"] if p["name"] == endpoint["port"])
    assert port["port"] == 9187 and endpoint["path"] == "/metrics"
    assert not [d for d in m.docs if d["kind"] == "Ingress" and "postgres-exporter" in str(d["spec"])]


def test_the_exporter_connects_as_label_studio_does_with_json_logs() -> None:
    m = prod()
    env, app = m.env("postgres-exporter"), m.env("app")
    host, port = app["POSTGRE_HOST"]["value"], app["POSTGRE_PORT"]["value"]
    ca = app["POSTGRE_SSLROOTCERT"]["value"]
    assert env["DATA_SOURCE_URI"]["value"] == (
        f"{host}:{port}/labelstudio?sslmode=verify-full&sslrootcert={ca.replace('/', '%2F')}")
    assert env["DATA_SOURCE_USER"]["value"] == app["POSTGRE_USER"]["value"]
    assert "secretKeyRef" in env["DATA_SOURCE_PASS"]["valueFrom"]
    assert ca in {v["mountPath"] for v in m.container("postgres-exporter")["volumeMounts"]}
    assert m.container("postgres-exporter")["args"] == ["--log.format=json"]
    assert m.pods()["postgres-exporter"]["securityContext"]["runAsUser"] == 65534


def test_monitoring_is_off_unless_asked(tmp_path: Path) -> None:
    m = Manifests(variant_plan("nomon", {"platform": "kubernetes", "publicUrl": "http://labels.test",
                                         "mediaMode": "s3", "mediaCredentials": "iam"}, tmp_path))
    kinds = {d["kind"] for d in m.docs}
    assert not {"ServiceMonitor", "PrometheusRule"} & kinds and "postgres-exporter" not in m.workloads()


# --- settings -----------------------------------------------------------------------------------------

K8S = {"platform": "kubernetes", "mediaMode": "s3", "mediaCredentials": "iam", "publicUrl": "http://labels.test"}
BAD: list[tuple[dict[str, Any], frozenset[str], str]] = [
    ({"monitoringEnabled": True}, frozenset(), "labelstudio:monitoringEnabled: is only used with platform: kubernetes"),
    ({**K8S, "monitoringEnabled": True, "monitoringLabels": ["release"]}, frozenset(),
     "labelstudio:monitoringLabels: 'release' is not KEY=value with a Kubernetes key; fix: e.g. release="),
    ({**K8S, "monitoringEnabled": True, "monitoringNamespace": "Monitoring"}, frozenset(),
     "labelstudio:monitoringNamespace: 'Monitoring' is not a namespace name; fix:"),
    ({**K8S, "monitoringLabels": ["release=x"]}, frozenset(),
     "labelstudio:monitoringLabels: is only used with monitoringEnabled: true"),
    ({**K8S, "monitoringEnabled": True, "postgresMode": "external", "postgresHost": "db.internal",
      "postgresPassword": "pw-123456", "postgresSslMode": "prefer"}, frozenset({"postgresPassword"}),
     "labelstudio:postgresSslMode: 'prefer' is not supported by the PostgreSQL exporter"),
    ({**K8S, "monitoringEnabled": True, "postgresExporterImage": "postgres-exporter:latest"}, frozenset(),
     "labelstudio:postgresExporterImage: 'postgres-exporter:latest' uses the moving tag `latest`"),
    ({"adminApiToken": "0123456789abcdef"}, frozenset(), "labelstudio:adminApiToken: is set in plain text; fix:"),
    ({"adminApiToken": "short"}, frozenset({"adminApiToken"}), "labelstudio:adminApiToken: is not an API token"),
]


@pytest.mark.parametrize(("raw", "secret", "fragment"), BAD, ids=[b[2][12:50] for b in BAD])
def test_bad_day2_settings_are_named_with_the_fix(raw: dict[str, Any], secret: frozenset[str], fragment: str) -> None:
    with pytest.raises(SettingsError) as err:
        parse(raw, stack="prod", secret_keys=secret, base_dir=ROOT)
    assert any(fragment in p for p in err.value.problems), err.value.problems
    assert not any("0123456789abcdef" in p or "short'" in p for p in err.value.problems)


def test_a_rotated_admin_token_reaches_seeding_the_ml_backend_and_the_app(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.rotated.yaml"
    path.write_text((ROOT / "Pulumi.prod.yaml").read_text().replace(
        "  labelstudio:seedProtectProjects: true",
        "  labelstudio:seedProtectProjects: true\n  labelstudio:adminApiToken:\n    secure: v1:abc:ZGVm"))
    from tools.plan import run
    from tools.stack_file import PLACEHOLDER

    plan = run("rotated", path)
    project = plan.named("project-support-tickets").wire_inputs["api_token"]
    assert project["value"] == PLACEHOLDER  # still a secret on the wire
    secrets = {r.name: r.inputs(reveal=True)["stringData"] for r in plan.of_type("kubernetes:core/v1:Secret")}
    assert secrets["ml-backend-env"]["LABEL_STUDIO_API_KEY"] == PLACEHOLDER
    assert secrets["app-env"]["LABEL_STUDIO_USER_TOKEN"] == PLACEHOLDER
    generated = plan.named("admin-token").outputs["result"]
    assert generated != PLACEHOLDER and generated not in str([r.inputs(reveal=True) for r in plan.resources])
