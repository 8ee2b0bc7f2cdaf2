"""Kubernetes variants of the stack: embedded services (StatefulSets with claims, fixed
ClusterIPs for MinIO and the ML backend) and external Postgres with client certificates."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import kubernetes_validate

from components import ssrf
from tests.k8s_plans import FULL_EMBEDDED, K8S_VERSIONS, Manifests, prod, variant_plan

# --- embedded variant --------------------------------------------------------------------------------

def test_embedded_services_are_statefulsets_with_claims(tmp_path: Path) -> None:
    m = Manifests(variant_plan("embedded", FULL_EMBEDDED, tmp_path))
    sets = m.of("StatefulSet")
    assert set(sets) == {"postgres", "redis", "minio"}
    for name, size in (("postgres", "20Gi"), ("redis", "2Gi"), ("minio", "50Gi")):
        spec = sets[name]["spec"]
        claim = spec["volumeClaimTemplates"][0]["spec"]
        assert claim["storageClassName"] == "fast-ssd" and claim["resources"]["requests"]["storage"] == size
        assert claim["accessModes"] == ["ReadWriteOnce"]
        assert m.one("Service", spec["serviceName"])["spec"]["clusterIP"] == "None"  # headless
    assert m.pods()["postgres"]["securityContext"]["runAsUser"] == 999
    # MinIO: a fixed ClusterIP the app resolves its media host to, opened in the SSRF list
    assert m.one("Service", "minio")["spec"]["clusterIP"] == "10.43.0.12"
    assert m.pods()["app"]["hostAliases"] == [{"ip": "10.43.0.12", "hostnames": ["minio.localhost"]}]
    env = m.env("app")
    assert env["STORAGE_AWS_ENDPOINT_URL"]["value"] == "http://minio.localhost:9000"
    assert env["REDIS_LOCATION"]["value"] == "redis://redis:6379/1"
    banned = env["USER_ADDITIONAL_BANNED_SUBNETS"]["value"].split(",")
    opened = [str(ip) for ip in ipaddress.ip_network("10.43.0.0/24") if not ssrf.is_banned(str(ip), banned)]
    assert opened == ["10.43.0.12", "10.43.0.13"]  # MinIO and the ML backend
    assert "hpa" not in json.dumps([d["kind"] for d in m.docs]).lower()  # webMaxReplicas 0: no autoscaler
    assert "PodDisruptionBudget" not in {d["kind"] for d in m.docs}  # one replica: a budget would block drains


def test_embedded_variant_manifests_validate_strictly(tmp_path: Path) -> None:
    m = Manifests(variant_plan("embedded-schema", FULL_EMBEDDED, tmp_path))
    for version in (K8S_VERSIONS[0], K8S_VERSIONS[-1]):
        for doc in m.docs:
            assert kubernetes_validate.validate(doc, version, strict=True) == version


def test_client_certificates_are_mounted_from_a_secret(tmp_path: Path) -> None:
    ca = prod().plan.named("app-files", "kubernetes:core/v1:Secret")  # any PEM certificate will do
    pem = ca.inputs(reveal=True)["stringData"]["postgres-ca.crt"]
    m = Manifests(variant_plan("mtls", {
        "platform": "kubernetes", "publicUrl": "http://labels.test", "mediaMode": "s3", "mediaCredentials": "iam",
        "postgresMode": "external", "postgresHost": "db.internal", "postgresSslMode": "verify-full",
        "postgresPassword": {"secure": "v1:AAAA"}, "postgresSslRootCert": pem, "postgresSslCert": pem,
        "postgresSslKey": {"secure": "v1:BBBB"}}, tmp_path))
    for name in ("migrate", "app"):
        env = m.env(name)
        mounts = {v["mountPath"]: v for v in m.container(name)["volumeMounts"] if v["name"] == "files"}
        for variable in ("POSTGRE_SSLROOTCERT", "POSTGRE_SSLCERT", "POSTGRE_SSLKEY"):
            assert mounts[env[variable]["value"]]["readOnly"] is True, (name, variable)
        files = next(v for v in m.pods()[name]["volumes"] if v["name"] == "files")["secret"]
        assert files["defaultMode"] == 0o400  # 0440 root:fsGroup with fsGroup: libpq accepts it for the key
        assert m.one("Secret", files["secretName"])["stringData"] == {
            "postgres-ca.crt": "[secret]", "postgres-client.crt": "[secret]", "postgres-client.key": "[secret]"}
