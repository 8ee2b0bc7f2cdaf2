"""Every rule against fixtures in wire form: at least one passing and one failing case each, with
the message. Docker, Kubernetes and the seed resources; secrets marked as the engine marks them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.policy_fixtures import (
    DOCKER,
    K8S,
    UNKNOWN_STRING,
    USER,
    WEBHOOK,
    container,
    docker,
    ls_docker,
    ls_k8s,
    pod,
    secret,
    view,
    workload,
)

from rules import BY_NAME, RULES  # isort: skip - policies/ is put on sys.path by the fixtures
from rules.base import View  # isort: skip
from rules.shapes import DOCKER_IMAGE, DOCKER_NETWORK, MEDIA_BUCKET, PROJECT  # isort: skip


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
CONFIGMAP_LS = view(K8S["ConfigMap"], {"metadata": {"name": "app-config", "namespace": "label-studio"},
                                       "data": {"DJANGO_DB": "default", "DEBUG": "true"}}, name="app-config")

CASES = [
    # --- workloads ------------------------------------------------------------------------------
    Case("run-as-non-root", d(), None),
    Case("run-as-non-root", d(user=None), "runs as root (user unset)"),
    Case("run-as-non-root", d(user="0:0"), "runs as root (user 0:0)"),
    Case("run-as-non-root", k(), None),
    Case("run-as-non-root", k(pod(securityContext={"seccompProfile": {"type": "RuntimeDefault"}})),
         "container app: runAsNonRoot is not true"),
    Case("run-as-non-root", kc(securityContext=sc(runAsNonRoot=True, runAsUser=0.0)), "runAsUser is 0"),
    Case("no-privileged", d(), None),
    Case("no-privileged", d(privileged=True), "container labelstudio-t-app runs privileged"),
    Case("no-privileged", kc(securityContext=sc(privileged=True)), "container app runs privileged"),
    Case("no-privileged", k(kind="StatefulSet", replicas=None), None),
    Case("no-privilege-escalation", d(), None),
    Case("no-privilege-escalation", d(securityOpts=[]), "lacks no-new-privileges"),
    Case("no-privilege-escalation", k(), None),
    Case("no-privilege-escalation", kc(securityContext=sc(allowPrivilegeEscalation=None)),
         "allowPrivilegeEscalation is not false"),
    Case("drop-all-capabilities", d(), None),
    Case("drop-all-capabilities", d(capabilities={"drops": ["NET_RAW"]}), "does not drop ALL capabilities"),
    Case("drop-all-capabilities", d(capabilities={"drops": ["ALL"], "adds": ["SYS_ADMIN"]}),
         "adds capabilities SYS_ADMIN"),
    Case("drop-all-capabilities", kc(securityContext=sc(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})),
         None),
    Case("drop-all-capabilities", kc(securityContext=sc(capabilities={})), "container app does not drop ALL"),
    Case("seccomp-profile", d(), None),
    Case("seccomp-profile", d(securityOpts=["no-new-privileges:true", "seccomp=unconfined"]), "seccomp unconfined"),
    Case("seccomp-profile", k(), None),
    Case("seccomp-profile", k(pod(securityContext={"runAsNonRoot": True})), "seccompProfile is unset"),
    Case("seccomp-profile", kc(securityContext=sc(seccompProfile={"type": "Unconfined"})),
         "seccompProfile is Unconfined"),
    Case("read-only-root-filesystem", d(), None),
    Case("read-only-root-filesystem", d(readOnly=False), "container labelstudio-t-app has a writable root"),
    Case("read-only-root-filesystem", k(), None),
    Case("read-only-root-filesystem", kc(securityContext=sc(readOnlyRootFilesystem=False)),
         "container app has a writable root filesystem"),
    Case("no-host-namespaces", d(), None),
    Case("no-host-namespaces", d(networkMode="host", pidMode="host"), "networkMode is host"),
    Case("no-host-namespaces", k(), None),
    Case("no-host-namespaces", k(pod(hostPID=True), kind="Pod"), "pod hostPID is true"),
    Case("no-host-paths", d(volumes=[{"volumeName": "data", "containerPath": "/data"}]), None),
    Case("no-host-paths", d(volumes=[{"hostPath": "/var/run/docker.sock", "containerPath": "/s"}]),
         "mounts host path /var/run/docker.sock"),
    Case("no-host-paths", d(mounts=[{"type": "bind", "source": "/etc", "target": "/etc"}]), "bind-mounts /etc"),
    Case("no-host-paths", k(pod(volumes=[{"name": "tmp", "emptyDir": {}}])), None),
    Case("no-host-paths", k(pod(volumes=[{"name": "root", "hostPath": {"path": "/"}}])),
         "volume root mounts host path /"),
    Case("resource-limits", d(), None),
    Case("resource-limits", d(memory=None), "has no memory limit"),
    Case("resource-limits", k(), None),
    Case("resource-limits", kc(resources={"limits": {"memory": "1Gi"}}),
         "lacks resources requests.cpu, requests.memory, limits.cpu"),
    Case("no-service-account-token", k(), None),
    Case("no-service-account-token", k(pod(automountServiceAccountToken=None)), "mounts a service account token"),
    Case("no-service-account-token", d(), None),
    Case("probes", d(), None),
    Case("probes", d(healthcheck=None), "has no healthcheck"),
    Case("probes", d(healthcheck=None, attach=True, restart="no"), None),  # a run-to-completion step
    Case("probes", k(), None),
    Case("probes", kc(livenessProbe=None), "container app lacks livenessProbe"),
    Case("probes", k(pod([container(livenessProbe=None, readinessProbe=None)]), kind="Job"), None),
    Case("images-pinned", view(DOCKER_IMAGE, {"name": "postgres:16.4-bookworm"}), None),
    Case("images-pinned", view(DOCKER_IMAGE, {"name": "minio/minio:latest"}), "uses the moving tag latest"),
    Case("images-pinned", view(DOCKER_IMAGE, {"name": "redis"}), "image redis has no tag"),
    Case("images-pinned", d(image="nginx:1.27"), None),
    Case("images-pinned", kc(image="registry:5000/heartexlabs/label-studio"), "has no tag"),
    Case("images-pinned", kc(image="heartexlabs/label-studio:1.23.2"), "has no @sha256 digest",
         {"requireDigest": True}),
    Case("images-pinned", kc(image="heartexlabs/label-studio@sha256:" + "b" * 64), None, {"requireDigest": True}),
    Case("images-pinned", d(image=UNKNOWN_STRING), None, id="unknown during preview: judged at up"),
    # --- network --------------------------------------------------------------------------------
    Case("data-services-not-exposed", d(**PG), None),
    Case("data-services-not-exposed", d(**PG, ports=[{"internal": 5432.0, "external": 5432.0}]),
         "postgres container labelstudio-t-postgres publishes port 5432 on 0.0.0.0:5432"),
    Case("data-services-not-exposed", d(ports=[{"internal": 8085.0, "external": 8080.0, "ip": "127.0.0.1"}]),
         None, id="the web tier may publish"),
    Case("data-services-not-exposed", service(), None),
    Case("data-services-not-exposed", service("LoadBalancer"), "postgres Service is of type LoadBalancer"),
    Case("data-services-not-exposed", service(name="redis", externalIPs=["203.0.113.9"]),
         "redis Service has externalIPs"),
    Case("data-services-not-exposed", service("NodePort", name="nginx"), None),
    Case("data-services-not-exposed", kc(image="redis:7.4.1", ports=[{"containerPort": 6379.0, "hostPort": 6379.0}]),
         "redis container app has a hostPort"),
    Case("ports-bound-to-loopback", d(ports=[{"internal": 8085.0, "external": 8080.0, "ip": "127.0.0.1"}]), None),
    Case("ports-bound-to-loopback", d(ports=[{"internal": 8085.0, "external": 8080.0}]),
         "publishes port 8085 on 0.0.0.0"),
    Case("ports-bound-to-loopback", kc(ports=[{"containerPort": 8000.0}]), None),
    Case("ports-bound-to-loopback", kc(ports=[{"containerPort": 8000.0, "hostPort": 80.0}]), "uses hostPort 80"),
    Case("ingress-tls", ingress([{"hosts": ["labels.example.com"], "secretName": "tls"}]), None),
    Case("ingress-tls", ingress(None), "Ingress has no tls section"),
    Case("ingress-tls", ingress([{"hosts": ["labels.example.com"]}], hosts=("labels.example.com", "x.example.com")),
         "Ingress host x.example.com is not covered by tls"),
    Case("ingress-tls", ingress([{"hosts": ["labels.example.com"]}],
                                annotations={"nginx.ingress.kubernetes.io/ssl-redirect": "false"}),
         "ssl-redirect is false"),
    Case("default-deny-network-policy", [k(), netpol()], None),
    Case("default-deny-network-policy", [k()], "namespace label-studio has no default-deny NetworkPolicy for "
                                               "Egress and Ingress"),
    Case("default-deny-network-policy", [k(), netpol(types=("Ingress",))], "for Egress"),
    Case("default-deny-network-policy", [k(), netpol(ingress=[{"from": [{"podSelector": {}}]}])], "for Ingress"),
    Case("default-deny-network-policy", [k(), netpol(selector={"matchLabels": {"a": "b"}})], "Egress and Ingress"),
    Case("default-deny-network-policy", [d()], None, id="docker: no namespaces"),
    Case("data-network-internal", [d(**PG), view(DOCKER_NETWORK, {"name": "labelstudio-t-data", "internal": True})],
         None),
    Case("data-network-internal", [d(**PG), view(DOCKER_NETWORK, {"name": "labelstudio-t-data"})],
         "container labelstudio-t-postgres is on non-internal network labelstudio-t-data"),
    Case("data-network-internal", [d(**{**PG, "networksAdvanced": []})], "is on the default bridge network"),
    # --- secrets --------------------------------------------------------------------------------
    Case("no-plain-secret-env", d(envs=["LOG_LEVEL=INFO", secret("POSTGRE_PASSWORD=x"), "SENTRY_DSN=",
                                        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true", "POSTGRE_SSLKEY=/certs/k"]),
         None),
    Case("no-plain-secret-env", d(envs=["POSTGRE_PASSWORD=hunter2"]),
         "container labelstudio-t-app: POSTGRE_PASSWORD is set in plain text"),
    Case("no-plain-secret-env", d(envs=["MY_API_KEY=abc123"]), "MY_API_KEY is set in plain text"),
    Case("no-plain-secret-env", d(envs=["MY_API_KEY=abc123"]), None, {"allowNames": ["MY_API_KEY"]}),
    Case("no-plain-secret-env", view(K8S["ConfigMap"], {"data": {"REDIS_PASSWORD": "p4ss", "LOG_LEVEL": "INFO"}}),
         "ConfigMap: REDIS_PASSWORD is set in plain text"),
    Case("no-plain-secret-env", view(K8S["ConfigMap"], {"data": {"LOG_LEVEL": "INFO"}}), None),
    Case("k8s-env-secret-key-ref", kc(env=[{"name": "POSTGRE_PASSWORD",
                                            "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]), None),
    Case("k8s-env-secret-key-ref", kc(env=[{"name": "POSTGRE_PASSWORD", "value": secret("x")}]),
         "container app: POSTGRE_PASSWORD comes from a Pulumi secret in `value`, not a secretKeyRef"),
    Case("k8s-env-secret-key-ref", kc(env=[{"name": "SECRET_KEY", "value": "abc"}]), "SECRET_KEY comes from `value`"),
    Case("k8s-env-secret-key-ref", kc(env=[{"name": "API_TOKEN",
                                            "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]),
         "API_TOKEN comes from a ConfigMap"),
    Case("k8s-secret-data-secret", view(K8S["Secret"], {"stringData": secret({"A": "b"})}), None),
    Case("k8s-secret-data-secret", view(K8S["Secret"], {"stringData": {"A": secret("b"), "B": "plain"}}),
         "Secret stringData keys B are not Pulumi secrets"),
    Case("seed-user-password-secret", view(USER, {"email": "a@example.com", "password": secret("pw")}), None),
    Case("seed-user-password-secret", view(USER, {"email": "a@example.com", "password": None}), None),
    Case("seed-user-password-secret", view(USER, {"email": "a@example.com", "password": "pw"}),
         "user a@example.com: password is not a secret"),
    Case("seed-webhook-headers-secret", view(WEBHOOK, {"url": "https://h", "headers": secret({"A": "b"})}), None),
    Case("seed-webhook-headers-secret", view(WEBHOOK, {"url": "https://h", "headers": {}}), None),
    Case("seed-webhook-headers-secret", view(WEBHOOK, {"url": "https://h", "headers": {"Authorization": "Bearer x"}},
                                             name="notify"),
         "webhook notify: headers Authorization are not secrets"),
    Case("seed-credentials-secret", view(PROJECT, {"api_token": secret("t"), "title": "x"}, name="p"), None),
    Case("seed-credentials-secret", view(PROJECT, {"api_token": "t", "title": "x"}, name="p"),
         "p: api_token is not a secret"),
    Case("seed-credentials-secret", bucket(secret_access_key="plain"), "secret_access_key is not a secret"),
    # --- Label Studio ---------------------------------------------------------------------------
    Case("ls-signup-invite-only", [ls_docker()], None),
    Case("ls-signup-invite-only", [ls_docker(drop=("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK",))],
         "app (container labelstudio-t-app): signup without an invite link is enabled"),
    Case("ls-signup-invite-only", [ls_k8s(LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="false")],
         "app (container app): signup without an invite link"),
    Case("ls-csrf-enforced", [ls_docker(drop=("USE_ENFORCE_CSRF_CHECKS",))], None, id="default is on"),
    Case("ls-csrf-enforced", [ls_docker(USE_ENFORCE_CSRF_CHECKS="false")], "USE_ENFORCE_CSRF_CHECKS is false"),
    Case("ls-csrf-enforced", [ls_k8s(HEARTEX_USE_ENFORCE_CSRF_CHECKS="0")], "USE_ENFORCE_CSRF_CHECKS is false"),
    Case("ls-ssrf-protection", [ls_docker()], None),
    Case("ls-ssrf-protection", [ls_docker(SSRF_PROTECTION_ENABLED="false")], "SSRF_PROTECTION_ENABLED is false"),
    Case("ls-ssrf-protection", [ls_k8s(ML_BLOCK_LOCAL_IP="false")], "ML_BLOCK_LOCAL_IP is false"),
    Case("ls-ssrf-protection", [ls_docker(USE_DEFAULT_BANNED_SUBNETS="false",
                                          USER_ADDITIONAL_BANNED_SUBNETS="10.0.0.0/8,127.0.0.0/8")],
         "169.254.0.0/16, ::1/128, fe80::/10 are not in USER_ADDITIONAL_BANNED_SUBNETS"),
    Case("ls-ssrf-protection", [ls_docker(USE_DEFAULT_BANNED_SUBNETS="false",
                                          USER_ADDITIONAL_BANNED_SUBNETS="0.0.0.0/1,127.0.0.0/8,169.254.0.0/16,"
                                                                         "::1/128,fe80::/10")], None),
    Case("ls-debug-off", [ls_docker()], None),
    Case("ls-debug-off", [ls_docker(drop=("DEBUG",))], "DEBUG is on", id="Label Studio's default is on"),
    Case("ls-debug-off", [ls_k8s(DEBUG_MODAL_EXCEPTIONS="true")], "DEBUG_MODAL_EXCEPTIONS is on"),
    Case("ls-debug-off", [CONFIGMAP_LS], "app-config (container ConfigMap data): DEBUG is on"),
    Case("ls-secret-key-from-secret", [ls_docker()], None),
    Case("ls-secret-key-from-secret", [ls_k8s()], None),
    Case("ls-secret-key-from-secret", [ls_docker(secret_key=None)], "SECRET_KEY is not set"),
    Case("ls-secret-key-from-secret", [ls_docker(secret_key="plain-key")], "SECRET_KEY is not from a secret (plain)"),
    Case("ls-host-https", [ls_docker()], None),
    Case("ls-host-https", [ls_docker(LABEL_STUDIO_HOST="http://labels.example.com")],
         "LABEL_STUDIO_HOST is http://labels.example.com, not https"),
    Case("ls-host-https", [ls_k8s(SESSION_COOKIE_SECURE="0")], "SESSION_COOKIE_SECURE is off"),
    Case("ls-host-https", [ls_docker(LABEL_STUDIO_HOST="http://localhost:8080")], None, {"environment": "dev"},
         id="production only"),
    Case("ls-database-tls", [ls_docker()], None),
    Case("ls-database-tls", [ls_k8s(POSTGRE_SSL_MODE="require")], "POSTGRE_SSL_MODE is require, not verify-full"),
    Case("ls-database-tls", [ls_docker(drop=("POSTGRE_SSL_MODE",))], "POSTGRE_SSL_MODE is unset"),
    Case("ls-telemetry-off", [ls_docker()], None),
    Case("ls-telemetry-off", [ls_docker(drop=("SENTRY_DSN",))], "SENTRY_DSN is not empty (vendor error reporting)"),
    Case("ls-telemetry-off", [ls_k8s(COLLECT_ANALYTICS="true")], "COLLECT_ANALYTICS is on"),
    # --- data -----------------------------------------------------------------------------------
    Case("media-bucket-encrypted", [bucket(hardening=HARDENED), d(**MINIO)], None),
    Case("media-bucket-encrypted", [bucket()], None, id="not created yet"),
    Case("media-bucket-encrypted", [bucket(hardening={**HARDENED, "encryption": "none"})],
         "bucket media: encryption is none"),
    Case("media-bucket-encrypted", [d(**{**MINIO, "envs": MINIO_OK_ENV[:1]})],
         "MinIO container labelstudio-t-minio has no KMS"),
    Case("media-bucket-encrypted", [d(**{**MINIO, "envs": ["MINIO_KMS_SECRET_KEY=k:abc"]})],
         "MINIO_KMS_SECRET_KEY is not from a secret"),
    Case("media-bucket-public-access-blocked", [bucket(hardening=HARDENED)], None),
    Case("media-bucket-public-access-blocked",
         [bucket(server_flavor="minio", hardening={**HARDENED, "public_access": "no-public-policy"})], None),
    Case("media-bucket-public-access-blocked", [bucket(hardening={**HARDENED, "public_access": "no-public-policy"})],
         "public_access is no-public-policy", id="AWS must block"),
    Case("media-bucket-versioned", [bucket(hardening=HARDENED)], None),
    Case("media-bucket-versioned", [bucket(hardening={**HARDENED, "versioning": "Suspended"})],
         "versioning is Suspended"),
    Case("media-bucket-cors-restricted", bucket(), None),
    Case("media-bucket-cors-restricted", bucket(cors_origins=["*"]), "CORS origin * is a wildcard"),
    Case("media-bucket-cors-restricted", bucket(cors_origins=["https://x.example.com/path"]),
         "is not a scheme://host[:port] origin"),
    Case("media-bucket-cors-restricted", d(**MINIO), None),
    Case("media-bucket-cors-restricted", d(**{**MINIO, "envs": []}), "does not set MINIO_API_CORS_ALLOW_ORIGIN"),
    Case("media-bucket-cors-restricted", kc(image="minio/minio:RELEASE.2024-10-13T13-34-11Z",
                                            env=[{"name": "MINIO_API_CORS_ALLOW_ORIGIN", "value": "*"}]),
         "MinIO container app: CORS origin * is a wildcard"),
    Case("postgres-persistent-storage", d(**PG, volumes=[{"volumeName": "pg", "containerPath": "/var/lib/postgresql/data"}]),
         None),
    Case("postgres-persistent-storage", d(**PG), "/var/lib/postgresql/data/pgdata is not on a volume"),
    Case("postgres-persistent-storage", k(pod([container(name="postgres", image="postgres:16.4",
                                                         volumeMounts=[{"name": "data",
                                                                        "mountPath": "/var/lib/postgresql/data"}])]),
                                          kind="StatefulSet", name="postgres", replicas=None,
                                          volumeClaimTemplates=[{"metadata": {"name": "data"}}]), None),
    Case("postgres-persistent-storage", k(pod([container(name="postgres", image="postgres:16.4",
                                                         volumeMounts=[{"name": "data",
                                                                        "mountPath": "/var/lib/postgresql/data"}])],
                                              volumes=[{"name": "data", "emptyDir": {}}]),
                                          kind="StatefulSet", name="postgres", replicas=None),
         "postgres container postgres: /var/lib/postgresql/data is not on a PersistentVolumeClaim"),
    Case("backup-job-in-production", [ls_k8s(), BACKUP], None),
    Case("backup-job-in-production", [ls_k8s()], "no database backup job"),
    Case("backup-job-in-production", [ls_docker()], None, {"environment": "dev"}),
    Case("seed-projects-protected", view(PROJECT, {"title": "Photos"}, protect=True), None),
    Case("seed-projects-protected", view(PROJECT, {"title": "Photos", "delete_protection": True}), None),
    Case("seed-projects-protected", view(PROJECT, {"title": "Photos"}), "project Photos is not delete-protected"),
    Case("seed-projects-protected", view(PROJECT, {"title": "Photos", "allow_delete_with_annotations": True},
                                         protect=True),
         "project Photos allows deleting annotated work (allow_delete_with_annotations)"),
    Case("seed-projects-protected", view(PROJECT, {"title": "Photos"}), None, {"environment": "dev"}),
    # --- availability ---------------------------------------------------------------------------
    Case("web-replicas", [ls_k8s()], None),
    Case("web-replicas", [k(replicas=1.0)], "Deployment app runs 1 replica(s), fewer than 2"),
    Case("web-replicas", [k(replicas=None), hpa("app", 3.0)], None, {"minReplicas": 3}),
    Case("web-replicas", [k(replicas=5.0), hpa("app", 1.0)], "runs 1 replica(s)", id="the HPA decides"),
    Case("web-replicas", [ls_docker()], "container labelstudio-t-app is a single Docker container"),
    Case("web-replicas", [ls_docker()], None, {"environment": "dev"}),
    Case("pod-disruption-budget", [k(), pdb(APP_PODS, minAvailable=1.0)], None),
    Case("pod-disruption-budget", [k(), pdb(APP_PODS, maxUnavailable="50%")], None),
    Case("pod-disruption-budget", [k()], "Deployment app has no PodDisruptionBudget keeping a pod up"),
    Case("pod-disruption-budget", [k(), pdb({"app.kubernetes.io/name": "other"}, minAvailable=1.0)],
         "has no PodDisruptionBudget"),
    Case("pod-disruption-budget", [k(), pdb(APP_PODS, minAvailable=0.0)], "has no PodDisruptionBudget"),
]


def messages(case: Case) -> list[str]:
    rule = BY_NAME[case.rule]
    return [m for m, _urn in rule.findings(case.subject, rule.config(case.config))]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}:{c.id or ('pass' if c.expect is None else c.expect)}"
                                             for c in CASES])
def test_rule(case: Case) -> None:
    found = messages(case)
    if case.expect is None:
        assert found == []
    else:
        assert any(case.expect in m for m in found), found


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    passing = {c.rule for c in CASES if c.expect is None}
    failing = {c.rule for c in CASES if c.expect is not None}
    names = {r.name for r in RULES}
    assert names - passing == set() and names - failing == set()
    assert {c.rule for c in CASES} <= names
    assert len(RULES) >= 25


def test_every_rule_has_its_metadata() -> None:
    for rule in RULES:
        assert rule.description and rule.why and rule.remediation, rule.name
        assert rule.concern in ("workloads", "network", "secrets", "labelstudio", "data", "availability")


def test_messages_never_show_a_secret() -> None:
    hidden = "s3cr3t-value"
    subjects: list[Any] = [ls_docker(), d(envs=[secret(f"POSTGRE_PASSWORD={hidden}")]),
                           kc(env=[{"name": "POSTGRE_PASSWORD", "value": secret(hidden)}]),
                           view(USER, {"password": secret(hidden)})]
    for rule in RULES:
        for subject in subjects:
            target = subject if rule.kind == "resource" else [subject]
            if rule.kind == "resource" and isinstance(subject, list):
                continue
            for message, _urn in rule.findings(target, rule.config(None)):
                assert hidden not in message, rule.name
