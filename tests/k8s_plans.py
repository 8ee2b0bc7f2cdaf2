"""Kubernetes plans of the repo's prod stack and of variants, as manifests (shared by tests)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tools import manifests
from tools.plan import Plan, run

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ("Deployment", "StatefulSet", "Job", "CronJob")
RUN_TO_COMPLETION = ("Job", "CronJob")
K8S_VERSIONS = ("1.29", "1.30", "1.31", "1.32", "1.33", "1.34")  # the strict schemas we validate against
# Everything this stack can deploy on Kubernetes, embedded: Postgres, Enterprise Redis, MinIO, ML backend.
FULL_EMBEDDED = {
    "platform": "kubernetes", "publicUrl": "http://labels.test.example", "edition": "enterprise",
    "redisEnabled": True, "mediaMode": "minio", "mlBackendEnabled": True,
    "mlBackendImage": "registry.example.com/ml/backend:1.0.0", "storageClass": "fast-ssd",
    "kubernetesServiceCidr": "10.43.0.0/16",
}


class Manifests:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.files = manifests.of(plan)
        self.docs = list(self.files.values())

    def of(self, kind: str) -> dict[str, dict[str, Any]]:
        return {d["metadata"]["name"]: d for d in self.docs if d["kind"] == kind}

    def one(self, kind: str, name: str) -> dict[str, Any]:
        """The object named `name`, or else the one auto-named `name<suffix>`."""
        of_kind = [d for d in self.docs if d["kind"] == kind]
        found = [d for d in of_kind if d["metadata"]["name"] == name] or [
            d for d in of_kind if d["metadata"]["name"].startswith(name)]
        assert len(found) == 1, f"{len(found)} {kind} named {name}*"
        return found[0]

    def workloads(self) -> dict[str, dict[str, Any]]:
        """Workloads by their spec name (the Job's auto-name has a suffix)."""
        return {d["metadata"]["labels"]["app.kubernetes.io/name"]: d for d in self.docs if d["kind"] in WORKLOADS}

    def pods(self) -> dict[str, dict[str, Any]]:
        return {name: template(w)["spec"] for name, w in self.workloads().items()}

    def pod_labels(self, name: str) -> dict[str, str]:
        return dict(template(self.workloads()[name])["metadata"]["labels"])

    def init_container(self, name: str, container: str) -> dict[str, Any]:
        return dict(next(c for c in self.pods()[name]["initContainers"] if c["name"] == container))

    def container(self, name: str) -> dict[str, Any]:
        return dict(self.pods()[name]["containers"][0])

    def env(self, name: str) -> dict[str, dict[str, Any]]:
        return env_of(self.container(name))


def template(workload: dict[str, Any]) -> dict[str, Any]:
    """The pod template of a workload (a CronJob's is in its job template)."""
    spec = workload["spec"]["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else workload["spec"]
    return dict(spec["template"])


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


@cache
def prod() -> Manifests:
    return Manifests(run("prod"))


def variant_plan(name: str, config: dict[str, Any], tmp: Path) -> Plan:
    path = tmp / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": {f"labelstudio:{k}": v for k, v in config.items()}}))
    return run(name, path)
