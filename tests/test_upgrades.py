"""Upgrading Label Studio: the same stack planned twice under mocks, with two versions, compared.

What changes between the plans is what `pulumi up` would change: a new migration step that runs
first, then the web workloads; nothing else. Kubernetes: a new auto-named Job, the Deployments
gated by its completion, rolled with maxUnavailable 0. Docker: the migrate container replaced
before the app (delete-before-replace: fixed names and host ports cannot exist twice).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s_plans import Manifests, variant_plan
from tools.plan import Plan, Resource

ROOT = Path(__file__).resolve().parent.parent
OLD, NEW = "1.23.2", "1.24.0"
CONTAINER = "docker:index/container:Container"
JOB, DEPLOYMENT = "kubernetes:batch/v1:Job", "kubernetes:apps/v1:Deployment"
K8S = {"platform": "kubernetes", "publicUrl": "http://labels.test.example", "mediaMode": "s3",
       "mediaCredentials": "iam", "webReplicas": 2, "webMaxReplicas": 4}


def identity(doc: dict[str, Any]) -> tuple[str, str]:
    """An object across plans: kind and name, the auto-name suffix dropped."""
    return doc["kind"], re.sub(r"-[0-9a-f]{8}$", "", doc["metadata"]["name"])


def changed_objects(old: Manifests, new: Manifests) -> dict[tuple[str, str], str]:
    """(kind, name) -> "changed" or "replaced" (a new name: the old object goes, a new one comes)."""
    before = {identity(d): d for d in old.docs}
    after = {identity(d): d for d in new.docs}
    assert before.keys() == after.keys()
    out = {}
    for key, doc in after.items():
        if doc != before[key]:
            same_name = doc["metadata"]["name"] == before[key]["metadata"]["name"]
            out[key] = "changed" if same_name else "replaced"
    return out


@pytest.fixture(scope="module")
def k8s(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifests, Manifests]:
    # the same stack (its name is in labels and container names), once per version
    return (Manifests(variant_plan("upgrade", {**K8S, "version": OLD}, tmp_path_factory.mktemp("old"))),
            Manifests(variant_plan("upgrade", {**K8S, "version": NEW}, tmp_path_factory.mktemp("new"))))


def test_a_version_bump_changes_only_the_migration_and_the_web_workloads(k8s: tuple[Manifests, Manifests]) -> None:
    old, new = k8s
    assert changed_objects(old, new) == {
        ("Job", "migrate"): "replaced",  # a new Job: migrations run again, for the new version
        ("Deployment", "app"): "changed",  # rolled in place
        ("Deployment", "nginx"): "changed",
    }
    for name in ("migrate", "app", "nginx"):
        assert old.container(name)["image"] == f"heartexlabs/label-studio:{OLD}"
        assert new.container(name)["image"] == f"heartexlabs/label-studio:{NEW}"


def test_the_new_migration_job_gates_the_new_app_pods(k8s: tuple[Manifests, Manifests]) -> None:
    old, new = k8s
    old_job, new_job = old.one("Job", "migrate-"), new.one("Job", "migrate-")
    assert old_job["metadata"]["name"] != new_job["metadata"]["name"]
    job = new.plan.named("migrate", JOB)
    assert "name" not in job.inputs()["metadata"]  # auto-named: pulumi-kubernetes replaces it under a new name
    app = new.plan.named("app", DEPLOYMENT)
    assert job.urn in app.dependencies  # the engine creates (and awaits) the Job before updating the app
    # ... and the app's pod template only resolves once the new Job completed (the gate)
    assert new.one("Deployment", "app")["metadata"]["annotations"]["labelstudio/after"] == new_job["metadata"]["name"]
    assert app.urn in new.plan.named("nginx", DEPLOYMENT).dependencies  # nginx after the app
    assert new.env("app")["SKIP_DB_MIGRATIONS"]["value"] == "true"


def test_the_rollout_keeps_every_replica_serving(k8s: tuple[Manifests, Manifests]) -> None:
    _, new = k8s
    for name in ("app", "nginx"):
        deployment = new.one("Deployment", name)["spec"]
        assert deployment["replicas"] >= 2
        assert deployment["strategy"] == {"type": "RollingUpdate",
                                          "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
        assert new.one("PodDisruptionBudget", name)["spec"]["minAvailable"] == 1
        # a pod only takes traffic once ready, and drains before it stops
        assert new.container(name)["readinessProbe"]["httpGet"]["path"] in ("/health", "/nginx_health")
        assert new.container(name)["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"


# --- Docker -------------------------------------------------------------------------------------------

def dev_plan(version: str, tmp: Path) -> Plan:
    config = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    plain = {k.split(":", 1)[1]: v for k, v in config.items()}
    return variant_plan("dev", {**plain, "version": version}, tmp)


@pytest.fixture(scope="module")
def docker(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Plan]:
    return dev_plan(OLD, tmp_path_factory.mktemp("old")), dev_plan(NEW, tmp_path_factory.mktemp("new"))


def containers(plan: Plan) -> dict[str, Resource]:
    return {r.name: r for r in plan.of_type(CONTAINER)}


def test_docker_replaces_the_label_studio_containers_migrate_first(docker: tuple[Plan, Plan]) -> None:
    old, new = docker
    before, after = containers(old), containers(new)
    changed = {name for name, c in after.items() if c.inputs()["image"] != before[name].inputs()["image"]}
    assert changed == {"migrate", "app", "nginx"}  # a new image id: pulumi-docker replaces the container
    unchanged = {name for name, c in after.items() if c.inputs() == before[name].inputs()}
    assert unchanged == {"postgres", "minio"}  # data services untouched
    images = {r.inputs()["name"] for r in new.of_type("docker:index/remoteImage:RemoteImage")}
    assert f"heartexlabs/label-studio:{NEW}" in images and f"heartexlabs/label-studio:{OLD}" not in images
    migrate, app, nginx = after["migrate"], after["app"], after["nginx"]
    assert migrate.urn in app.dependencies and app.urn in nginx.dependencies
    assert {"label": "com.labelstudio.after", "value": "0"} in app.inputs()["labels"]  # migrate exited 0
    # fixed names and published ports: the old container goes first (Docker has no second replica)
    assert all(c.delete_before_replace for c in after.values())
