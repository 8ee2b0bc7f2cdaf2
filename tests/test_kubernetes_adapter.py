"""The Kubernetes adapter under Pulumi's mock runtime: what it asks the provider to create.

A few ServiceSpecs (shaped like the stack's real ones) go through KubernetesPlatform; the mocks
record every resource's inputs (camelCase, as the provider receives them), which we check and
also validate as manifests against the Kubernetes 1.30 schemas (kubernetes-validate, strict).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import kubernetes_validate
import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key

from components import k8s_pod
from components.kubernetes import KubernetesPlatform, StepFailedError, require_complete
from components.settings import parse
from components.spec import CommandCheck, File, HttpCheck, Port, Resources, ServiceSpec, Volume

K8S_VERSION = "1.30"
NAMESPACE = "label-studio"
# Secret values: none may appear anywhere but inside a Secret's stringData, marked secret.
DB_PASSWORD = "db-password-LITERAL-1"
SECRET_KEY = "django-secret-LITERAL-2"
CLIENT_KEY = "-----BEGIN PRIVATE KEY-----LITERAL-3"
API_KEY = "ml-api-key-LITERAL-4"
LITERALS = (DB_PASSWORD, SECRET_KEY, CLIENT_KEY, API_KEY)
RECOMMENDED = ("name", "instance", "component", "part-of", "managed-by")
COMPLETE = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}


@dataclass
class Recorded:
    typ: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any]


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Echoes inputs as state; fills in what the provider would: auto-names, Job status."""

    resources: list[Recorded] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ.startswith("kubernetes:"):
            state["metadata"] = {"name": f"{args.name}-a1b2c3d4", **(state.get("metadata") or {})}
        if args.typ == "kubernetes:batch/v1:Job":
            state["status"] = COMPLETE
        self.resources.append(Recorded(args.typ, args.name, args.inputs, state))
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None

    def of(self, kind: str) -> dict[str, Recorded]:
        """Recorded resources of one Kubernetes kind, by logical name."""
        return {r.name: r for r in self.resources if r.typ.endswith(f":{kind}")}

    def one(self, kind: str, name: str) -> dict[str, Any]:
        return self.of(kind)[name].inputs


@pytest.fixture
def mocks() -> Iterator[RecordingMocks]:
    """Mocked runtime for one test; the runtime's settings and root are restored after it."""
    names = [n for n, a in vars(runtime_settings.Settings).items() if type(a).__name__ == "ContextProperty"]
    saved = {n: getattr(runtime_settings.SETTINGS, n) for n in names}
    root = runtime_settings.ROOT.get()
    recorder = RecordingMocks()
    pulumi.runtime.set_mocks(recorder, project="labelstudio", stack="test", preview=False)
    try:
        yield recorder
    finally:
        for n, value in saved.items():
            setattr(runtime_settings.SETTINGS, n, value)
        runtime_settings.ROOT.set(root)


def specs(db_password: pulumi.Output[str]) -> dict[str, ServiceSpec]:
    secret_env = {"SECRET_KEY": pulumi.Output.secret(SECRET_KEY), "POSTGRE_PASSWORD": db_password}
    files = (File("/label-studio/certs/postgres-ca.crt", "-----BEGIN CERTIFICATE-----"),
             File("/label-studio/certs/postgres-client.key", pulumi.Output.secret(CLIENT_KEY)))
    web = ServiceSpec(name="web", image="heartexlabs/label-studio:1.23.2", user="1001:0", secret_env=secret_env,
                      files=files, volumes=(Volume("data", "/label-studio/data"),))
    return {
        "postgres": ServiceSpec(
            name="postgres", image="postgres:16.4-bookworm", env={"POSTGRES_USER": "labelstudio"},
            secret_env={"POSTGRES_PASSWORD": db_password}, ports=(Port(5432),),
            volumes=(Volume("data", "/var/lib/postgresql/data", "20Gi"),), tmpfs=("/tmp", "/var/run/postgresql"),
            health=CommandCheck(("pg_isready", "-U", "labelstudio")), user="999:999", read_only=True,
            tier="data", resources=Resources(cpu="500m", memory="1Gi")),
        "migrate": replace(web, name="migrate", args=("label-studio-migrate",), run_to_completion=True),
        "app": replace(web, name="app", args=("label-studio-uwsgi",), ports=(Port(8000),),
                       health=HttpCheck("/health", 8000), env={"SKIP_DB_MIGRATIONS": "true"}),
        "nginx": ServiceSpec(name="nginx", image="heartexlabs/label-studio:1.23.2", args=("nginx",),
                             ports=(Port(8085, published=8080),), health=HttpCheck("/nginx_health", 8085)),
        "minio": ServiceSpec(name="minio", image="minio/minio:RELEASE.2024-10-13T13-34-11Z",
                             aliases=("minio.localhost",), ports=(Port(9000, published=9000),),
                             volumes=(Volume("data", "/data", "50Gi"),), ssrf_target=True),
        "ml-backend": ServiceSpec(name="ml-backend", image="example/ml-backend:1.0.0", ports=(Port(9090),),
                                  secret_env={"LABEL_STUDIO_API_KEY": pulumi.Output.secret(API_KEY)},
                                  health=HttpCheck("/health", 9090), replicas=2, gpu=1, ssrf_target=True),
    }


def deploy(mocks: RecordingMocks) -> KubernetesPlatform:
    """Runs the specs through the adapter as the services do (the app gated on migrations)."""
    platform: dict[str, KubernetesPlatform] = {}

    def program() -> pulumi.Output[Any]:
        parent = pulumi.ComponentResource("test:index:Parent", "parent")
        k8s = platform["k8s"] = KubernetesPlatform(parse({"platform": "kubernetes", "mediaMode": "s3", "mediaCredentials": "iam"}, stack="test"), parent)
        s = specs(pulumi.Output.secret(DB_PASSWORD))
        database = k8s.run(s["postgres"], parent)
        minio = k8s.run(s["minio"], parent)  # before the app, as the stack does: the app gets its host alias
        migration = k8s.run(s["migrate"], parent, depends_on=[database])
        app = k8s.run(s["app"], parent, depends_on=[migration], gate=k8s.succeeded(migration))
        others = [k8s.run(s[n], parent) for n in ("nginx", "ml-backend")]
        return pulumi.Output.all(*(r.urn for r in (database, minio, migration, app, *others)))

    pulumi.runtime.test(program)()
    return platform["k8s"]


def pod_specs(mocks: RecordingMocks) -> dict[str, dict[str, Any]]:
    """Pod template spec of every workload, by logical name."""
    return {r.name: r.inputs["spec"]["template"]["spec"] for r in mocks.resources
            if r.typ.split(":")[-1] in ("Deployment", "StatefulSet", "Job")}


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_special_sig_key) == _special_secret_sig


def string_data(r: Recorded) -> dict[str, Any]:
    """A Secret's stringData, which must arrive marked secret as a whole."""
    wrapped = r.inputs["stringData"]
    assert is_secret(wrapped), f"{r.name}: stringData is not marked secret"
    return {k: v["value"] if is_secret(v) else v for k, v in wrapped["value"].items()}


def leaks(value: Any, path: str) -> Iterator[str]:
    """Paths where a secret literal appears outside a Secret's secret-marked stringData."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaks(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaks(item, f"{path}[{index}]")
    elif isinstance(value, str) and any(literal in value for literal in LITERALS):
        yield path


def manifest(r: Recorded) -> dict[str, Any]:
    """The object as kubectl would see it: secrets unwrapped, whole floats back to ints, and
    the name the provider would have auto-named."""
    def plain(value: Any) -> Any:
        if is_secret(value):
            return plain(value["value"])
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    out = plain(r.inputs)
    out["metadata"] = {"name": r.state["metadata"]["name"], **out.get("metadata", {})}
    return dict(out)


# --- workload choice -----------------------------------------------------------------------

def test_workload_kind_follows_the_spec(mocks: RecordingMocks) -> None:
    deploy(mocks)
    assert set(mocks.of("StatefulSet")) == {"postgres", "minio"}  # volumes with a size: data to keep
    assert set(mocks.of("Job")) == {"migrate"}  # run to completion
    assert set(mocks.of("Deployment")) == {"app", "nginx", "ml-backend"}


def test_data_volumes_are_claims_and_app_volumes_are_pod_scratch(mocks: RecordingMocks) -> None:
    deploy(mocks)
    postgres = mocks.one("StatefulSet", "postgres")["spec"]
    claim = postgres["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert postgres["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert postgres["serviceName"] == "postgres-pods"
    assert mocks.one("Service", "postgres-pods")["spec"]["clusterIP"] == "None"  # headless
    assert "data" not in {v["name"] for v in postgres["template"]["spec"]["volumes"]}
    app_volumes = {v["name"]: v for v in pod_specs(mocks)["app"]["volumes"]}
    assert app_volumes["data"] == {"name": "data", "emptyDir": {}}


def test_job_is_auto_named_and_gates_the_app(mocks: RecordingMocks) -> None:
    deploy(mocks)
    job = mocks.of("Job")["migrate"]
    assert "name" not in job.inputs["metadata"]  # a new pod template makes a new Job
    assert job.inputs["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    app = mocks.one("Deployment", "app")
    assert app["metadata"]["annotations"]["labelstudio/after"] == job.state["metadata"]["name"]
    assert "labelstudio/after" not in mocks.one("Deployment", "nginx")["metadata"]["annotations"]


def test_a_step_that_did_not_complete_fails_the_gate() -> None:
    failed = {"failed": 4, "conditions": [{"type": "Failed", "status": "True"}]}
    with pytest.raises(StepFailedError, match="kubectl -n ns logs job/migrate-1"):
        require_complete("ns", "migrate-1", failed)
    with pytest.raises(StepFailedError):
        require_complete("ns", "migrate-1", None)
    assert require_complete("ns", "migrate-1", COMPLETE) == "migrate-1"
    assert require_complete("ns", "migrate-1", {"succeeded": 1.0}) == "migrate-1"  # mocks send floats


# --- secrets -------------------------------------------------------------------------------

def test_secret_env_is_referenced_never_inlined(mocks: RecordingMocks) -> None:
    deploy(mocks)
    secrets = mocks.of("Secret")
    for name, secret_env in (("postgres", {"POSTGRES_PASSWORD"}), ("migrate", {"SECRET_KEY", "POSTGRE_PASSWORD"}),
                             ("app", {"SECRET_KEY", "POSTGRE_PASSWORD"}), ("ml-backend", {"LABEL_STUDIO_API_KEY"})):
        env = {e["name"]: e for e in pod_specs(mocks)[name]["containers"][0]["env"]}
        env_secret = secrets[f"{name}-env"].state["metadata"]["name"]
        for key in secret_env:
            assert "value" not in env[key]
            assert env[key]["valueFrom"] == {"secretKeyRef": {"name": env_secret, "key": key}}
        assert set(string_data(secrets[f"{name}-env"])) == secret_env
    assert "nginx-env" not in secrets  # nothing secret, no Secret


def test_no_secret_literal_outside_secret_marked_string_data(mocks: RecordingMocks) -> None:
    deploy(mocks)
    found: list[str] = []
    for r in mocks.resources:
        inputs = dict(r.inputs)
        if r.typ == "kubernetes:core/v1:Secret":
            string_data(r)  # asserts it is marked secret
            del inputs["stringData"]
        found.extend(leaks(inputs, f"{r.typ}/{r.name}"))
    assert found == []
    in_secrets = {v for r in mocks.of("Secret").values() for v in string_data(r).values()}
    assert set(LITERALS) <= in_secrets  # each literal did reach a Secret


def test_files_are_a_secret_volume_mounted_per_file(mocks: RecordingMocks) -> None:
    deploy(mocks)
    files_secret = mocks.of("Secret")["app-files"]
    assert set(string_data(files_secret)) == {"postgres-ca.crt", "postgres-client.key"}
    pod = pod_specs(mocks)["app"]
    volume = next(v for v in pod["volumes"] if v["name"] == "files")
    assert volume["secret"] == {"secretName": files_secret.state["metadata"]["name"], "defaultMode": 0o400}
    mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "files"}
    assert mounts["/label-studio/certs/postgres-client.key"]["subPath"] == "postgres-client.key"
    assert all(m["readOnly"] for m in mounts.values())


# --- pods ----------------------------------------------------------------------------------

def test_every_pod_is_restricted(mocks: RecordingMocks) -> None:
    deploy(mocks)
    users = {"postgres": (999, 999)}
    for name, pod in pod_specs(mocks).items():
        uid, gid = users.get(name, (1001, 0))
        assert pod["securityContext"] == {
            "runAsNonRoot": True, "runAsUser": uid, "runAsGroup": gid, "fsGroup": gid,
            "fsGroupChangePolicy": "OnRootMismatch", "seccompProfile": {"type": "RuntimeDefault"}}, name
        assert pod["automountServiceAccountToken"] is False
        assert pod["enableServiceLinks"] is False
        container = pod["containers"][0]
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True}, name  # always; writable paths are emptyDirs
        tmp = {m["mountPath"] for m in container["volumeMounts"] if m["name"].startswith("tmpfs-")}
        assert "/tmp" in tmp
    postgres_tmpfs = {m["mountPath"] for m in pod_specs(mocks)["postgres"]["containers"][0]["volumeMounts"]}
    assert {"/tmp", "/var/run/postgresql"} <= postgres_tmpfs
    # /tmp on disk (uploads spool there), the other writable paths in memory
    volumes = {v["name"]: v for v in pod_specs(mocks)["postgres"]["volumes"]}
    assert volumes["tmpfs-0"]["emptyDir"] == {"sizeLimit": "2Gi"}
    assert volumes["tmpfs-1"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "64Mi"}
    for r in mocks.of("ServiceAccount").values():
        assert r.inputs["automountServiceAccountToken"] is False


def test_probes_follow_the_health_check(mocks: RecordingMocks) -> None:
    deploy(mocks)
    pods = pod_specs(mocks)
    app = pods["app"]["containers"][0]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert app[probe]["httpGet"] == {"path": "/health", "port": 8000}
    postgres = pods["postgres"]["containers"][0]
    assert postgres["livenessProbe"]["exec"] == {"command": ["pg_isready", "-U", "labelstudio"]}
    assert "httpGet" not in postgres["readinessProbe"]
    assert not {"readinessProbe", "livenessProbe", "startupProbe"} & set(pods["migrate"]["containers"][0])


def test_resources_and_gpu(mocks: RecordingMocks) -> None:
    deploy(mocks)
    pods = pod_specs(mocks)
    ml = pods["ml-backend"]["containers"][0]["resources"]
    assert ml["limits"] == {"cpu": "500m", "memory": "512Mi", "nvidia.com/gpu": "1"}
    assert ml["requests"] == {"cpu": "500m", "memory": "512Mi"}
    assert mocks.one("Deployment", "ml-backend")["spec"]["strategy"] == {"type": "Recreate"}
    assert mocks.one("Deployment", "ml-backend")["spec"]["replicas"] == 2
    postgres = pods["postgres"]["containers"][0]["resources"]
    assert postgres == {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}}


def test_root_and_non_numeric_users_are_refused() -> None:
    with pytest.raises(ValueError, match="root"):
        k8s_pod.user_ids(ServiceSpec(name="x", image="x:1", user="0:0"))
    with pytest.raises(ValueError, match="numeric"):
        k8s_pod.user_ids(ServiceSpec(name="x", image="x:1", user="postgres"))


# --- names, services, labels ---------------------------------------------------------------

def test_services_are_named_like_the_docker_aliases(mocks: RecordingMocks) -> None:
    platform = deploy(mocks)
    services = mocks.of("Service")
    # no Job, no dotted alias; StatefulSets also get their headless governing Service
    assert set(services) == {"postgres", "postgres-pods", "app", "nginx", "minio", "minio-pods", "ml-backend"}
    for name, r in services.items():
        assert r.inputs["metadata"]["name"] == name
        assert r.inputs["spec"]["type"] == "ClusterIP"
    # published ports are Docker-only
    assert services["nginx"].inputs["spec"]["ports"] == [
        {"name": "tcp-8085", "port": 8085, "targetPort": 8085, "protocol": "TCP"}]
    # SSRF targets: a fixed ClusterIP low in the Service CIDR; the dotted alias is a host alias
    assert platform.ssrf_address("minio") == "10.96.0.12" == services["minio"].inputs["spec"]["clusterIP"]
    assert services["ml-backend"].inputs["spec"]["clusterIP"] == "10.96.0.13"
    assert "clusterIP" not in services["app"].inputs["spec"]
    assert pod_specs(mocks)["app"]["hostAliases"] == [{"ip": "10.96.0.12", "hostnames": ["minio.localhost"]}]


def test_namespace_enforces_restricted_and_everything_is_labelled(mocks: RecordingMocks) -> None:
    deploy(mocks)
    namespace = mocks.one("Namespace", "namespace")["metadata"]
    assert namespace["name"] == NAMESPACE
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for r in mocks.resources:
        if r.typ.startswith("kubernetes:"):
            labels = r.inputs["metadata"]["labels"]
            assert {f"app.kubernetes.io/{k}" for k in RECOMMENDED} <= set(labels), r.name
            assert labels["app.kubernetes.io/managed-by"] == "pulumi"
            if r.typ != "kubernetes:core/v1:Namespace":
                assert r.inputs["metadata"]["namespace"] == NAMESPACE, r.name


# --- manifests -----------------------------------------------------------------------------

@pytest.mark.parametrize("version", [K8S_VERSION, "1.37"])  # oldest supported, newest bundled
def test_manifests_validate_strictly(mocks: RecordingMocks, version: str) -> None:
    deploy(mocks)
    kinds = set()
    for r in mocks.resources:
        if r.typ.startswith("kubernetes:"):
            doc = manifest(r)
            kinds.add(doc["kind"])
            # schemas bundled in the package (no network); raises naming the bad field
            assert kubernetes_validate.validate(doc, version, strict=True) == version
    assert kinds == {"Namespace", "ServiceAccount", "Secret", "Service", "Deployment", "StatefulSet", "Job",
                     "NetworkPolicy"}


def test_strict_validation_catches_a_misspelt_field(mocks: RecordingMocks) -> None:
    """The validator really checks: an unknown field in a pod template is refused."""
    deploy(mocks)
    doc = manifest(mocks.of("Deployment")["app"])
    doc["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
