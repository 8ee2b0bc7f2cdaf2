"""The prod stack on Kubernetes, as the API server would receive it (the plan's manifests):
HA, probes, limits, ordering, GPU scheduling, Pod Security "restricted", no secret literal, strict
schemas for Kubernetes 1.29-1.34 and checkov with zero failed checks; plus embedded variants."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components import ssrf
from components.k8s_checkov import SKIPS
from tests.k8s_plans import K8S_VERSIONS, ROOT, RUN_TO_COMPLETION, prod
from tools import manifests
from tools.plan import SECRET_SIG, SIG_KEY, _unwrap

CHECKOV = ROOT / ".venvs" / "checkov" / "bin" / "checkov"

WEB = ("app", "nginx")
USERS = {"postgres-backup": (999, 999, 999), "postgres-restore": (999, 999, 999),
         "postgres-exporter": (65534, 65534, 65534)}  # its image's nobody


# --- HA web tier -----------------------------------------------------------------------------------

def test_web_tier_is_highly_available() -> None:
    m = prod()
    for name in WEB:
        deployment = m.one("Deployment", name)["spec"]
        assert deployment["replicas"] == 2  # HA from the first deploy; then the autoscaler owns the count:
        assert m.plan.named(name, "kubernetes:apps/v1:Deployment").ignore_changes == ["spec.replicas"]
        hpa = m.one("HorizontalPodAutoscaler", name)["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["metrics"][0]["resource"] == {"name": "cpu", "target": {"type": "Utilization",
                                                                            "averageUtilization": 70}}
        pdb = m.one("PodDisruptionBudget", name)["spec"]
        assert pdb == {"minAvailable": 1, "selector": deployment["selector"]}
        assert deployment["strategy"] == {"type": "RollingUpdate",
                                          "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
        # no claim a rolling update could deadlock on: every volume is an emptyDir or a Secret
        assert all("emptyDir" in v or "secret" in v for v in m.pods()[name]["volumes"])
        spread = m.pods()[name]["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
        assert all(c["labelSelector"] == deployment["selector"] for c in spread)


def test_ingress_serves_the_public_host_with_tls_and_a_body_limit_for_imports() -> None:
    ingress = prod().one("Ingress", "label-studio")
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"hosts": ["labels.example.com"], "secretName": "labels-example-com-tls"}]
    rule = spec["rules"][0]
    assert rule["host"] == "labels.example.com"
    assert rule["http"]["paths"][0]["backend"] == {"service": {"name": "nginx", "port": {"number": 8085}}}
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "500m"
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    env = prod().env("app")
    assert env["LABEL_STUDIO_HOST"]["value"] == env["CSRF_TRUSTED_ORIGINS"]["value"] == "https://labels.example.com"


def test_probes_graceful_shutdown_and_limits() -> None:
    m = prod()
    for name, workload in m.workloads().items():
        pod = m.pods()[name]
        for container in pod["containers"] + pod.get("initContainers", []):
            limits, requests = container["resources"]["limits"], container["resources"]["requests"]
            assert {"cpu", "memory"} <= set(limits) and requests["cpu"] == limits["cpu"], name
        container = m.container(name)
        if workload["kind"] in RUN_TO_COMPLETION:  # migrations, backup and restore runs
            assert not {"readinessProbe", "livenessProbe", "startupProbe", "lifecycle"} & set(container), name
            continue
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            assert container[probe]["httpGet"]["port"] == container["ports"][0]["containerPort"], (name, probe)
        assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] >= 300
    for name in WEB:
        assert m.container(name)["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "10"]
        assert m.pods()[name]["terminationGracePeriodSeconds"] == 40
    assert m.container("app")["resources"]["limits"] == {"cpu": "1000m", "memory": "2Gi"}


def test_the_migration_job_runs_before_the_app() -> None:
    m = prod()
    job, app = m.plan.named("migrate", "kubernetes:batch/v1:Job"), m.plan.named("app", "kubernetes:apps/v1:Deployment")
    assert job.urn in app.dependencies
    assert "name" not in job.inputs()["metadata"]  # auto-named: a new image makes a new Job
    job_name = m.one("Job", "migrate-")["metadata"]["name"]
    assert m.one("Deployment", "app")["metadata"]["annotations"]["labelstudio/after"] == job_name
    assert m.env("app")["SKIP_DB_MIGRATIONS"]["value"] == "true"
    assert m.container("migrate")["args"] == ["label-studio-migrate"]


def test_the_ml_backend_is_scheduled_on_a_gpu_node() -> None:
    m = prod()
    pod, container = m.pods()["ml-backend"], m.container("ml-backend")
    assert container["resources"]["limits"] == {"cpu": "2000m", "memory": "8Gi", "nvidia.com/gpu": "1"}
    assert "nvidia.com/gpu" not in container["resources"]["requests"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert m.one("Deployment", "ml-backend")["spec"]["strategy"] == {"type": "Recreate"}  # no spare GPU to surge
    env = m.env("ml-backend")
    assert env["LABEL_STUDIO_URL"]["value"] == "http://app:8000"  # in-cluster
    assert env["LABEL_STUDIO_API_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "LABEL_STUDIO_API_KEY"
    # Label Studio may call exactly the backend's fixed ClusterIP, nothing else in the cluster
    service = m.one("Service", "ml-backend")["spec"]
    assert service["clusterIP"] == "10.100.0.13"
    banned = m.env("app")["USER_ADDITIONAL_BANNED_SUBNETS"]["value"].split(",")
    opened = [str(ip) for ip in ipaddress.ip_network("10.100.0.0/24") if not ssrf.is_banned(str(ip), banned)]
    assert opened == ["10.100.0.13"]


def test_external_postgres_verifies_the_server_with_the_mounted_ca() -> None:
    m = prod()
    assert "StatefulSet" not in {d["kind"] for d in m.docs}  # nothing embedded in prod
    env = m.env("app")
    assert env["POSTGRE_SSL_MODE"]["value"] == "verify-full"
    assert env["POSTGRE_HOST"]["value"].endswith(".rds.amazonaws.com")
    ca_path = env["POSTGRE_SSLROOTCERT"]["value"]
    mount = next(v for v in m.container("app")["volumeMounts"] if v["mountPath"] == ca_path)
    volume = next(v for v in m.pods()["app"]["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["defaultMode"] == 0o400 and mount["readOnly"] is True
    assert m.one("Secret", volume["secret"]["secretName"])["stringData"] == {"postgres-ca.crt": "[secret]"}


def test_the_app_uses_its_cloud_identity_for_s3() -> None:
    accounts = prod().of("ServiceAccount")
    assert accounts["app"]["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/label-studio-media"}
    # backup and restore runs reach the bucket with the same role (its trust policy names their accounts)
    with_identity = {n for n, a in accounts.items() if "annotations" in a["metadata"]}
    assert with_identity == {"app", "postgres-backup", "postgres-restore"}
    assert all(accounts[n]["metadata"]["annotations"] == accounts["app"]["metadata"]["annotations"]
               for n in with_identity)
    env = prod().env("app")
    assert "STORAGE_AWS_ACCESS_KEY_ID" not in env and env["STORAGE_TYPE"]["value"] == "s3"


# --- pod security ------------------------------------------------------------------------------------

def test_every_pod_template_meets_pod_security_restricted() -> None:
    m = prod()
    namespace = m.one("Namespace", "label-studio")["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"
    for name, pod in m.pods().items():
        ctx = pod["securityContext"]
        assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] > 0, name
        # the images' own users: Label Studio 1001:0, the Postgres client image's postgres 999:999, the exporter's nobody
        assert (ctx["runAsUser"], ctx["runAsGroup"], ctx["fsGroup"]) == (USERS.get(name, (1001, 0, 0))), name
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == name, name
        assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod), name
        assert all("hostPath" not in v for v in pod["volumes"]), name
        for container in pod["containers"] + pod.get("initContainers", []):
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["privileged"] is False, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert "ports" not in container or all("hostPort" not in p for p in container["ports"]), name
            writable = {v["mountPath"] for v in container["volumeMounts"] if not v.get("readOnly")}
            assert "/tmp" in writable, name
    for account in m.of("ServiceAccount").values():
        assert account["automountServiceAccountToken"] is False


def test_no_secret_literal_in_any_manifest_file() -> None:
    m = prod()
    secrets: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            if value.get(SIG_KEY) == SECRET_SIG:
                revealed = _unwrap(value.get("value"), True)
                secrets.update(_strings(revealed))
                return
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)

    for r in m.plan.resources:
        collect(r.wire_inputs)
    for r in m.plan.of_type("random:index/randomPassword:RandomPassword"):
        secrets.add(r.outputs["result"])
    text = json.dumps(m.docs)
    assert secrets and not [s for s in secrets if len(s) >= 8 and s in text]
    for doc in m.docs:  # env values and annotations never hold a reference to a secret's content
        if doc["kind"] == "Secret":
            assert set(doc["stringData"].values()) == {"[secret]"}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


# --- schemas and checkov -----------------------------------------------------------------------------

# Custom resources are not in kubernetes-validate's built-in schemas: tests/test_monitoring.py checks them
# against models generated from the Prometheus Operator CRDs instead (checkov still reads them).
CUSTOM_API_GROUPS = ("monitoring.coreos.com/",)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_prod_manifests_validate_strictly(version: str) -> None:
    kinds = set()
    for doc in prod().docs:
        if doc["apiVersion"].startswith(CUSTOM_API_GROUPS):
            continue
        kinds.add(doc["kind"])
        assert kubernetes_validate.validate(doc, version, strict=True) == version
    assert {"Deployment", "Job", "CronJob", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget",
            "NetworkPolicy", "Secret", "ServiceAccount", "Namespace"} <= kinds
    assert {d["kind"] for d in prod().docs if d["apiVersion"].startswith(CUSTOM_API_GROUPS)} == {
        "ServiceMonitor", "PrometheusRule"}


@pytest.fixture(scope="session")
def checkov_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], ...]:
    """checkov once per session on the prod manifests (as `make plan STACK=prod` writes them) and,
    in the same run, on a canary: prod's nginx made privileged, which checkov must refuse.
    Returns the checks (failed, skipped, passed) as checkov reports them, each with its file."""
    out = tmp_path_factory.mktemp("checkov")
    assert manifests.write(prod().plan, out / "prod") > 20
    canary = json.loads(json.dumps(prod().one("Deployment", "nginx")))
    canary["metadata"].pop("annotations", None)
    canary["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    (out / "canary").mkdir()
    (out / "canary" / "privileged.yaml").write_text(yaml.safe_dump(canary))
    result = subprocess.run([str(CHECKOV), "-d", str(out), "--framework", "kubernetes", "--compact",
                             "--skip-download", "-o", "json"], capture_output=True, text=True,
                            timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": str(out)})
    assert result.stdout.strip(), result.stderr[-2000:]
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0 and report["summary"]["passed"] > 300
    results = report["results"]
    return results["failed_checks"], results.get("skipped_checks", []), results["passed_checks"]


def test_checkov_finds_nothing_but_the_documented_skips(checkov_report: tuple[list[dict[str, Any]], ...]) -> None:
    failed, skipped, passed = checkov_report
    assert [(c["check_id"], c["file_path"]) for c in failed if "/prod/" in c["file_path"]] == []
    assert {c["check_id"] for c in skipped if "/prod/" in c["file_path"]} == set(SKIPS)
    # the backup CronJob is checked too (pod security, token, resources of both of its containers)
    cron = {c["check_id"] for c in passed if c["file_path"].endswith("/cronjob-postgres-backup.yaml")}
    assert {"CKV_K8S_16", "CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_28", "CKV_K8S_38"} <= cron, sorted(cron)
    readme = (ROOT / "README.md").read_text()
    for check in SKIPS:
        assert f"`{check}`" in readme, f"README lists no reason for skipping {check}"


def test_checkov_really_checks(checkov_report: tuple[list[dict[str, Any]], ...]) -> None:
    """The canary fails: a regression in the prod manifests would be noticed the same way."""
    failed = checkov_report[0]
    canary = {c["check_id"] for c in failed if "/canary/" in c["file_path"]}
    assert "CKV_K8S_16" in canary  # privileged container
    assert {"CKV_K8S_40", "CKV_K8S_43"} <= canary  # without its skip annotations


def test_every_object_carries_the_recommended_labels() -> None:
    for doc in prod().docs:
        labels = doc["metadata"]["labels"]
        for key in ("name", "instance", "component", "part-of", "managed-by"):
            assert f"app.kubernetes.io/{key}" in labels, (doc["kind"], doc["metadata"]["name"], key)
        assert doc["kind"] == "Namespace" or doc["metadata"]["namespace"] == "label-studio"


def test_make_plan_writes_one_yaml_file_per_object() -> None:
    out = subprocess.run([sys.executable, "-m", "tools.plan", "prod"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    directory = ROOT / "plan" / "prod"
    written = {p.name: yaml.safe_load(p.read_text()) for p in directory.glob("*.yaml")}
    assert written == prod().files  # the same objects, reproducibly named
    assert f"plan/prod/: {len(written)} Kubernetes manifests" in out.stdout
    assert not (ROOT / "plan" / "dev").exists() or not any((ROOT / "plan" / "dev").iterdir())
