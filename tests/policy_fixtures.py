"""Wire-form fixtures for the policy tests: well-hardened resources, and helpers to break them."""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy.proxy import unknown_checking_proxy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "policies"))  # the pack's import root
from rules.base import View  # isort: skip
from rules.pack import deserialize_keeping_secrets  # isort: skip
from rules.shapes import DOCKER_CONTAINER, DOCKER_IMAGE, DOCKER_NETWORK, DYNAMIC_PREFIX, MEDIA_BUCKET, PROJECT  # isort: skip  # noqa: F401 - re-exported for the cases
from rules.wire import SECRET_SIG, SIG_KEY  # isort: skip

UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def secret(value: Any) -> dict[str, Any]:
    return {SIG_KEY: SECRET_SIG, "value": value}


def view(type_: str, props: dict[str, Any], name: str = "r", protect: bool = False,
         dependencies: tuple[str, ...] = ()) -> View:
    """A resource as the pack sees it: deserialized with secrets marked, behind the unknown proxy."""
    return View(type=type_, name=name, urn=f"urn:pulumi:t::p::{type_}::{name}",
                props=unknown_checking_proxy(deserialize_keeping_secrets(copy.deepcopy(props))),
                protect=protect, dependencies=dependencies)


def docker(**changes: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": "labelstudio-t-app", "user": "1001:0", "privileged": False, "capabilities": {"drops": ["ALL"]},
        "securityOpts": ["no-new-privileges:true"], "readOnly": True, "memory": 512.0,
        "healthcheck": {"tests": ["CMD", "true"]}, "image": "sha256:" + "a" * 64, "ports": [],
        "envs": ["JSON_LOG=1"], "restart": "unless-stopped", "attach": False,
        "networksAdvanced": [{"name": "labelstudio-t-app", "aliases": ["app"]}],
    }
    props.update(changes)
    return props


def container(**changes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": "app", "image": "heartexlabs/label-studio:1.23.2",
        "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "resources": {"requests": {"cpu": "100m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "readinessProbe": {"httpGet": {"path": "/health", "port": 8000.0}},
        "livenessProbe": {"httpGet": {"path": "/health", "port": 8000.0}},
        "env": [{"name": "JSON_LOG", "value": "1"}],
    }
    found.update(changes)
    return found


def pod(containers: list[dict[str, Any]] | None = None, **changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1001.0, "runAsGroup": 0.0, "fsGroup": 0.0,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": containers if containers is not None else [container()],
    }
    spec.update(changes)
    return spec


def workload(kind: str = "Deployment", spec: dict[str, Any] | None = None, name: str = "app",
             labels: dict[str, str] | None = None, replicas: float | None = 2.0, **extra: Any) -> dict[str, Any]:
    pod_labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "t"}
    meta = {"name": name, "namespace": "label-studio",
            "labels": {**pod_labels, "app.kubernetes.io/component": "app", **(labels or {})}}
    template = {"metadata": {"labels": pod_labels}, "spec": spec if spec is not None else pod()}
    body: dict[str, Any] = {"apiVersion": "v1" if kind == "Pod" else "apps/v1", "kind": kind, "metadata": meta}
    if kind == "Pod":
        body["spec"] = template["spec"]
    elif kind == "CronJob":
        body["spec"] = {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}
    else:
        body["spec"] = {"selector": {"matchLabels": pod_labels}, "template": template, **extra}
        if kind == "Deployment" and replicas is not None:
            body["spec"]["replicas"] = replicas
    return body


K8S = {kind: f"kubernetes:{group}:{kind}" for group, kind in [
    ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("batch/v1", "Job"), ("batch/v1", "CronJob"),
    ("core/v1", "Pod"), ("core/v1", "Service"), ("core/v1", "Secret"), ("core/v1", "ConfigMap"),
    ("networking.k8s.io/v1", "Ingress"), ("networking.k8s.io/v1", "NetworkPolicy"),
    ("policy/v1", "PodDisruptionBudget"), ("autoscaling/v2", "HorizontalPodAutoscaler")]}
DOCKER = DOCKER_CONTAINER
USER, WEBHOOK = DYNAMIC_PREFIX + "User", DYNAMIC_PREFIX + "Webhook"

LS_ENV = {  # a hardened production Label Studio
    "DJANGO_DB": "default", "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true", "USE_ENFORCE_CSRF_CHECKS": "true",
    "SSRF_PROTECTION_ENABLED": "true", "ML_BLOCK_LOCAL_IP": "true", "DEBUG": "false",
    "LABEL_STUDIO_HOST": "https://labels.example.com", "CSRF_TRUSTED_ORIGINS": "https://labels.example.com",
    "SESSION_COOKIE_SECURE": "1", "POSTGRE_SSL_MODE": "verify-full", "COLLECT_ANALYTICS": "false",
    "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
}


def ls_docker(drop: tuple[str, ...] = (), secret_key: Any = "secret", **env: str) -> View:
    values = {**{k: v for k, v in LS_ENV.items() if k not in drop}, **env}
    envs: list[Any] = [f"{k}={v}" for k, v in values.items()]
    if secret_key == "secret":
        envs.append(secret("SECRET_KEY=s3cr3t-value"))
    elif secret_key is not None:
        envs.append(f"SECRET_KEY={secret_key}")
    return view(DOCKER, docker(name="labelstudio-t-app", envs=envs, command=["label-studio-uwsgi"]), name="app")


def ls_k8s(drop: tuple[str, ...] = (), **env: str) -> View:
    values = {**{k: v for k, v in LS_ENV.items() if k not in drop}, **env}
    entries: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in values.items()]
    entries.append({"name": "SECRET_KEY", "valueFrom": {"secretKeyRef": {"name": "app-env", "key": "SECRET_KEY"}}})
    return view(K8S["Deployment"], workload(spec=pod([container(env=entries, args=["label-studio-uwsgi"])])),
                name="app")


@dataclass(frozen=True)
class Case:
    rule: str
    subject: View | list[View]
    expect: str | None  # a substring of one message, or None: no violation
    config: dict[str, Any] | None = None
    id: str = ""


def d(**changes: Any) -> View:
    return view(DOCKER, docker(**changes), name="app")


def k(spec: dict[str, Any] | None = None, kind: str = "Deployment", **kw: Any) -> View:
    return view(K8S[kind], workload(kind=kind, spec=spec, **kw), name=kw.get("name", "app"))


def kc(**changes: Any) -> View:
    return k(pod([container(**changes)]))


def sc(**changes: Any) -> dict[str, Any]:
    return {**container()["securityContext"], **changes}


PG_ENV = ["POSTGRES_DB=labelstudio", "PGDATA=/var/lib/postgresql/data/pgdata"]
PG = {"name": "labelstudio-t-postgres", "envs": PG_ENV,
      "networksAdvanced": [{"name": "labelstudio-t-data", "aliases": ["postgres"]}]}
MINIO_OK_ENV = ["MINIO_API_CORS_ALLOW_ORIGIN=https://labels.example.com", secret("MINIO_KMS_SECRET_KEY=k:abc")]
MINIO = {"name": "labelstudio-t-minio", "envs": MINIO_OK_ENV, "command": ["server", "/data"]}
HARDENED = {"encryption": "AES256", "versioning": "Enabled", "public_access": "blocked", "cors": "bucket"}


def bucket(**changes: Any) -> View:
    props = {"bucket": "media", "region": "eu-west-1", "endpoint": "", "server_flavor": "aws",
             "cors_origins": ["https://labels.example.com"], "access_key_id": None, "hardening": None}
    props.update(changes)
    return view(MEDIA_BUCKET, props, name="media-bucket")


def service(type_: str = "ClusterIP", name: str = "postgres", **spec: Any) -> View:
    body = {"metadata": {"name": name, "namespace": "label-studio",
                         "labels": {"app.kubernetes.io/name": name}},
            "spec": {"type": type_, "ports": [{"port": 5432.0}], **spec}}
    return view(K8S["Service"], body, name=name)


def ingress(tls: list[Any] | None, hosts: tuple[str, ...] = ("labels.example.com",),
            annotations: dict[str, str] | None = None) -> View:
    body: dict[str, Any] = {"metadata": {"name": "web", "namespace": "label-studio", "annotations": annotations or {}},
                            "spec": {"rules": [{"host": h} for h in hosts]}}
    if tls is not None:
        body["spec"]["tls"] = tls
    return view(K8S["Ingress"], body, name="web")


def netpol(selector: dict[str, Any] | None = None, types: tuple[str, ...] = ("Ingress", "Egress"),
           **rules: Any) -> View:
    body = {"metadata": {"name": "default-deny", "namespace": "label-studio"},
            "spec": {"podSelector": selector or {}, "policyTypes": list(types), **rules}}
    return view(K8S["NetworkPolicy"], body, name="default-deny")


def pdb(match: dict[str, str], **spec: Any) -> View:
    body = {"metadata": {"name": "app", "namespace": "label-studio"},
            "spec": {"selector": {"matchLabels": match}, **spec}}
    return view(K8S["PodDisruptionBudget"], body, name="app-pdb")


def hpa(target: str, min_replicas: float) -> View:
    body = {"metadata": {"name": "app", "namespace": "label-studio"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "minReplicas": min_replicas, "maxReplicas": 5.0}}
    return view(K8S["HorizontalPodAutoscaler"], body, name="app-hpa")


APP_PODS = {"app.kubernetes.io/name": "app", "app.kubernetes.io/instance": "t"}
BACKUP = k(pod([container(name="backup", image="postgres:16.4-bookworm",
                          command=["sh", "-c", "pg_dump -Fc | aws s3 cp - s3://b/$(date +%F).dump"])]),
           kind="CronJob", name="backup")


def cron(containers: list[dict[str, Any]], name: str, component: str, suspend: bool = False,
         init: list[dict[str, Any]] | None = None) -> View:
    """A CronJob like the stack's postgres-backup / postgres-restore (client steps in init containers)."""
    body = workload(kind="CronJob", spec=pod(containers, **({"initContainers": init} if init else {})), name=name,
                    labels={"app.kubernetes.io/component": component})
    body["spec"]["suspend"] = suspend
    return view(K8S["CronJob"], body, name=name)


AWS_CLI = container(name="upload", image="amazon/aws-cli:2.22.35", command=["/bin/sh", "-c", "aws s3 cp a s3://b/c"])
PG_DUMP = container(name="dump", image="postgres:16.4-bookworm", args=["pg_dump", "--format=custom"])
PG_RESTORE = container(name="restore", image="postgres:16.4-bookworm", args=["pg_restore", "--clean", "/dump/x"])
STACK_BACKUP = cron([AWS_CLI], "postgres-backup", "backup", init=[PG_DUMP])
STACK_RESTORE = cron([PG_RESTORE], "postgres-restore", "restore", suspend=True, init=[AWS_CLI])
SUSPENDED_BACKUP = cron([AWS_CLI], "postgres-backup", "backup", suspend=True, init=[PG_DUMP])
CONFIGMAP_LS = view(K8S["ConfigMap"], {"metadata": {"name": "app-config", "namespace": "label-studio"},
                                       "data": {"DJANGO_DB": "default", "DEBUG": "true"}}, name="app-config")

