"""The whole program under Pulumi's mock runtime, for every stack file in the repo."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from components import ssrf
from tools.plan import MASK, Plan, Resource, run

ROOT = Path(__file__).resolve().parent.parent
CONTAINER = "docker:index/container:Container"
DYNAMIC_PREFIX = "pulumi-python:dynamic"
STACKS = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))


@cache
def plan(stack: str) -> Plan:
    return run(stack)


def env_of(container: Resource, reveal: bool = False) -> dict[str, str]:
    entries = container.inputs(reveal)["envs"]
    return dict(e.split("=", 1) for e in entries if e != MASK)


def secret_env_names(container: Resource) -> set[str]:
    masked = container.inputs()["envs"]
    revealed = container.inputs(reveal=True)["envs"]
    return {r.split("=", 1)[0] for m, r in zip(masked, revealed, strict=True) if m == MASK}


@pytest.mark.parametrize("stack", STACKS)
def test_every_repo_stack_plans(stack: str) -> None:
    p = plan(stack)
    types = {r.type for r in p.resources}
    assert "labelstudio:index:LabelStudio" in types
    assert "labelstudio:index:WebTier" in types


def test_dev_plan_holds_the_whole_docker_stack() -> None:
    p = plan("dev")
    names = {r.name for r in p.of_type(CONTAINER)}
    assert names == {"postgres", "minio", "migrate", "app", "nginx"}
    assert {r.inputs()["name"] for r in p.of_type("docker:index/network:Network")} == {
        "labelstudio-dev-app", "labelstudio-dev-data"}
    assert {r.name for r in p.of_type("docker:index/volume:Volume")} == {
        "postgres-data", "minio-data", "app-data"}
    randoms = {r.name for r in p.resources if r.type.startswith("random:")}
    assert {"postgres-password", "django-secret-key", "admin-password", "admin-token",
            "minio-access-key", "minio-secret-key", "minio-kms-key"} <= randoms
    dynamic = [r for r in p.resources if r.type.startswith(DYNAMIC_PREFIX)]
    assert {r.name for r in dynamic} == {"media-bucket", "backup-retention", "project-product-photos",
                                         "project-support-tickets", "user-lead", "user-annotator-one",
                                         "user-reviewer", "storage-product-photos-import",
                                         "storage-product-photos-export", "storage-support-tickets-import",
                                         "storage-support-tickets-export", "webhook-support-tickets-ticket-events"}


def test_components_nest_under_label_studio() -> None:
    p = plan("dev")
    top = p.named("label-studio")
    for name in ("database", "media", "web"):
        assert p.named(name).parent == top.urn
    web = p.named("web")
    assert {r.name for r in p.resources if r.parent == web.urn and r.type == CONTAINER} == {
        "migrate", "app", "nginx"}


def test_app_waits_for_a_successful_migration_and_runs_without_migrating() -> None:
    p = plan("dev")
    migrate, app = p.named("migrate", CONTAINER), p.named("app", CONTAINER)
    assert migrate.urn in app.dependencies
    assert migrate.inputs()["attach"] is True and migrate.inputs()["mustRun"] is False
    assert migrate.inputs()["command"] == ["label-studio-migrate"]
    assert {"label": "com.labelstudio.after", "value": "0"} in app.inputs()["labels"]
    assert env_of(app)["SKIP_DB_MIGRATIONS"] == "true"
    assert "SKIP_DB_MIGRATIONS" not in env_of(migrate)
    assert app.inputs()["command"] == ["label-studio-uwsgi"]


def test_seed_projects_and_users_wait_for_the_web_tier() -> None:
    p = plan("dev")
    nginx = p.named("nginx", CONTAINER)  # depending on the WebTier component means on its children
    seed = p.named("seed")
    assert seed.type == "labelstudio:index:Seed" and seed.parent == p.named("label-studio").urn
    for name in ("project-product-photos", "project-support-tickets", "user-lead", "user-reviewer"):
        assert nginx.urn in p.named(name).dependencies, name
        assert p.named(name).parent == seed.urn


def test_seed_inputs_from_the_dev_stack_files() -> None:
    p = plan("dev")
    photos = p.named("project-product-photos").inputs()
    assert photos["allow_delete_with_annotations"] is False and photos["health_timeout_seconds"] == 300
    assert photos["instructions"].startswith("<p>") and photos["color"] == "#4E79A7"
    lead = p.named("user-lead").inputs()
    assert (lead["email"], lead["username"], lead["first_name"]) == ("lead@example.com", "labeling-lead", "Lena")
    assert "user-lead-password" in {r.name for r in p.resources if r.type.startswith("random:")}
    assert p.named("user-reviewer").inputs().get("password") is None  # no password: cannot log in until reset


def test_seed_storages_and_webhooks_follow_their_project_on_the_media_bucket() -> None:
    p = plan("dev")
    seed, photos = p.named("seed"), p.named("project-product-photos")
    imports = p.named("storage-product-photos-import")
    assert imports.parent == seed.urn and photos.urn in imports.dependencies
    assert imports.type == DYNAMIC_PREFIX + "/labelstudio:Storage"
    inputs = imports.inputs()
    assert (inputs["kind"], inputs["bucket"], inputs["prefix"], inputs["s3_endpoint"], inputs["admin_endpoint"]) == (
        "import", "label-studio-media", "imports/product-photos", "http://minio.localhost:9000",
        "http://127.0.0.1:9000")  # Label Studio reaches MinIO by its alias; the provider on loopback
    assert (inputs["use_blob_urls"], inputs["sync_on_create"], inputs["presign_ttl"]) == (True, True, 15)
    assert inputs["access_key_id"] == MASK and inputs["secret_access_key"] == MASK and inputs["api_token"] == MASK
    minio_key = p.named("minio-access-key").outputs["result"]
    assert imports.inputs(reveal=True)["access_key_id"] == minio_key  # the stack's generated MinIO keys
    assert "admin_endpoint" not in p.named("storage-product-photos-export").inputs()
    hook = p.named("webhook-support-tickets-ticket-events")
    assert hook.type == DYNAMIC_PREFIX + "/labelstudio:Webhook" and p.named("project-support-tickets").urn in hook.dependencies
    assert hook.inputs()["headers"] == MASK and hook.inputs()["is_active"] is False
    prod = plan("prod")
    for name in ("storage-support-tickets-import", "storage-support-tickets-export"):
        keys = prod.named(name).inputs()
        # mediaCredentials iam: no keys are sent; Label Studio uses its ServiceAccount's role
        assert not {"access_key_id", "secret_access_key", "session_token"} & keys.keys()
        assert keys["s3_endpoint"] == "" and keys["bucket"] == "example-label-studio-media"


def test_prod_protects_seeded_projects_and_dev_does_not() -> None:
    def project(r: Resource) -> bool:
        return bool(r.type.endswith("labelstudio:Project"))

    assert [r.protect for r in plan("prod").resources if project(r)] == [True, True]
    assert [r.protect for r in plan("dev").resources if project(r)] == [False, False]
    # everything else (an ML backend link too: deleting one loses no labeled work) stays deletable
    assert not any(r.protect for r in plan("prod").resources if not project(r))


def test_only_nginx_and_minio_publish_ports_and_only_on_loopback() -> None:
    p = plan("dev")
    published: dict[str, list[dict[str, object]]] = {
        r.name: r.inputs()["ports"] for r in p.of_type(CONTAINER) if r.inputs().get("ports")}
    assert set(published) == {"nginx", "minio"}
    assert published["nginx"] == [{"internal": 8085, "external": 8080, "ip": "127.0.0.1", "protocol": "tcp"}] or \
        published["nginx"][0]["ip"] == "127.0.0.1"
    assert all(port["ip"] == "127.0.0.1" for ports in published.values() for port in ports)


def test_postgres_lives_on_the_internal_network_only() -> None:
    p = plan("dev")
    data_net = p.named("data-network").inputs()
    assert data_net["internal"] is True
    nets = p.named("postgres", CONTAINER).inputs()["networksAdvanced"]
    assert [n["aliases"] for n in nets] == [["postgres"]]
    assert len(p.named("app", CONTAINER).inputs()["networksAdvanced"]) == 2


def test_containers_are_hardened() -> None:
    for c in plan("dev").of_type(CONTAINER):
        i = c.inputs()
        assert i["privileged"] is False, c.name
        assert i["capabilities"] == {"drops": ["ALL"]}, c.name
        assert "no-new-privileges:true" in i["securityOpts"], c.name
        if c.name in ("migrate", "app", "nginx"):
            assert i["user"] == "1001:0"
        if c.name != "migrate":
            assert i["restart"] == "unless-stopped" and "healthcheck" in i, c.name


def test_label_studio_env_contract() -> None:
    p = plan("dev")
    env = env_of(p.named("app", CONTAINER))
    assert env["LABEL_STUDIO_HOST"] == "http://localhost:8080"
    assert env["CSRF_TRUSTED_ORIGINS"] == "http://localhost:8080"
    assert env["LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK"] == "true"
    assert env["JSON_LOG"] == "1" and env["COLLECT_ANALYTICS"] == "false" and env["SENTRY_DSN"] == ""
    assert env["STORAGE_TYPE"] == "s3" and env["STORAGE_AWS_ENDPOINT_URL"] == "http://minio.localhost:9000"
    assert env["POSTGRE_HOST"] == "postgres" and env["DJANGO_DB"] == "default"
    assert env["LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN"] == "true"
    assert secret_env_names(p.named("app", CONTAINER)) == {
        "SECRET_KEY", "POSTGRE_PASSWORD", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_USER_TOKEN",
        "STORAGE_AWS_ACCESS_KEY_ID", "STORAGE_AWS_SECRET_ACCESS_KEY"}


def test_ssrf_protection_stays_on_with_only_minio_reachable() -> None:
    p = plan("dev")
    env = env_of(p.named("app", CONTAINER))
    assert env["SSRF_PROTECTION_ENABLED"] == "true" and env["USE_DEFAULT_BANNED_SUBNETS"] == "false"
    banned = env["USER_ADDITIONAL_BANNED_SUBNETS"].split(",")
    minio_ip = p.named("minio", CONTAINER).inputs()["networksAdvanced"][0]["ipv4Address"]
    assert not ssrf.is_banned(minio_ip, banned)
    for other in ("127.0.0.1", "10.1.2.3", "192.168.1.1", "169.254.169.254", "172.28.10.2", "172.28.10.11",
                  "::1", "fd00::1"):
        assert ssrf.is_banned(other, banned), other


def test_no_secret_value_appears_in_plain_anywhere() -> None:
    for stack in STACKS:
        p = plan(stack)
        secrets: set[str] = set()
        for r in p.resources:
            _collect_secrets(r.wire_inputs, secrets)
        for r in p.of_type("random:index/randomPassword:RandomPassword"):
            secrets.add(r.outputs["result"])
        masked = json.dumps([r.inputs() for r in p.resources])
        leaked = [s for s in secrets if len(s) >= 8 and s in masked]
        assert not leaked, f"{stack}: {len(leaked)} secret values in plain"
        assert secrets, "the plan has secrets to look for"


def _collect_secrets(value: object, out: set[str]) -> None:
    from tools.plan import SECRET_SIG, SIG_KEY, _unwrap

    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            revealed = _unwrap(value.get("value"), True)
            for text in _strings(revealed):
                out.add(text.split("=", 1)[1] if "=" in text else text)
            return
        for v in value.values():
            _collect_secrets(v, out)
    elif isinstance(value, list):
        for v in value:
            _collect_secrets(v, out)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_stack_outputs_keep_credentials_secret() -> None:
    exports = plan("dev").exports
    assert set(exports) >= {"url", "adminEmail", "adminPassword", "adminToken"}


def test_plan_cli_writes_masked_json(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "tools.plan", "dev"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = json.loads((ROOT / "plan" / "dev.json").read_text())
    assert any(r["name"] == "app" for r in data["resources"])
    assert MASK in json.dumps(data)


def test_broken_stack_file_fails_before_any_resource_naming_every_bad_key(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.broken.yaml"
    stack_file.write_text(
        "config:\n"
        "  labelstudio:platform: nomad\n"
        "  labelstudio:publicUrl: not-a-url\n"
        "  labelstudio:postgresMode: external\n"
        "  labelstudio:postgresPassword:\n"
        "    secure: v1:AAAAAAAAAAAAAAAA\n"
    )
    out = subprocess.run([sys.executable, "-m", "tools.plan", "broken", "--file", str(stack_file)],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 1
    for key in ("labelstudio:platform", "labelstudio:publicUrl", "labelstudio:postgresHost"):
        assert key in out.stderr
    assert "resources" not in out.stdout
    assert not (ROOT / "plan" / "broken.json").exists()


def test_secure_values_plan_without_a_passphrase(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.ext.yaml"
    stack_file.write_text(
        "config:\n"
        "  labelstudio:postgresMode: external\n"
        "  labelstudio:postgresHost: db.example.internal\n"
        "  labelstudio:postgresPassword:\n"
        "    secure: v1:c29tZSBjaXBoZXJ0ZXh0\n"
    )
    p = run("ext", stack_file)
    assert not p.of_type(CONTAINER) or "postgres" not in {r.name for r in p.of_type(CONTAINER)}
    app = p.named("app", CONTAINER)
    assert env_of(app)["POSTGRE_HOST"] == "db.example.internal"
    assert "POSTGRE_PASSWORD" in secret_env_names(app)


def test_enterprise_redis_and_ml_backend_on_docker(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.full.yaml"
    stack_file.write_text(
        "config:\n"
        "  labelstudio:edition: enterprise\n"
        "  labelstudio:redisEnabled: true\n"
        "  labelstudio:mlBackendEnabled: true\n"
        "  labelstudio:mlBackendImage: heartexlabs/label-studio-ml-backend:sam-v1.0.0\n"
        "  labelstudio:mlBackendEnv:\n"
        "    - MODEL_DIR=/data/models\n"
    )
    p = run("full", stack_file)
    redis, ml, app = (p.named(n, CONTAINER) for n in ("redis", "ml-backend", "app"))
    # Redis: password from its env (never on the command line), internal network only, no port
    assert "REDIS_PASSWORD" in secret_env_names(redis)
    assert not any("requirepass " in part and "$REDIS_PASSWORD" not in part for part in redis.inputs()["command"])
    assert [n["aliases"] for n in redis.inputs()["networksAdvanced"]] == [["redis"]]
    assert not redis.inputs().get("ports")
    app_env = env_of(app)
    assert app_env["REDIS_LOCATION"] == "redis://redis:6379/1"
    assert "REDIS_PASSWORD" in secret_env_names(app)
    # ML backend: reaches Label Studio with the admin token; LS may call exactly its address
    ml_env = env_of(ml)
    assert ml_env["LABEL_STUDIO_URL"] == "http://app:8000" and ml_env["MODEL_DIR"] == "/data/models"
    assert "LABEL_STUDIO_API_KEY" in secret_env_names(ml)
    ml_ip = ml.inputs()["networksAdvanced"][0]["ipv4Address"]
    banned = app_env["USER_ADDITIONAL_BANNED_SUBNETS"].split(",")
    minio_ip = p.named("minio", CONTAINER).inputs()["networksAdvanced"][0]["ipv4Address"]
    subnet = ipaddress.ip_network("172.28.10.0/24")
    opened = [str(ip) for ip in subnet if not ssrf.is_banned(str(ip), banned)]
    assert sorted(opened) == sorted([ml_ip, minio_ip])


def test_a_failed_migration_stops_the_app() -> None:
    from components.docker import StepFailedError, require_exit_zero

    assert require_exit_zero("labelstudio-dev-migrate", 0.0) == "0"
    for bad in (1, 137.0, None):
        with pytest.raises(StepFailedError, match="labelstudio-dev-migrate exited with code"):
            require_exit_zero("labelstudio-dev-migrate", bad)

    # The whole program with a migration that exits 1, in a process of its own (Pulumi prints
    # the failed outputs' tracebacks when the process exits).
    script = (
        "from tools.plan import PlanMocks, run\n"
        "class FailingMigration(PlanMocks):\n"
        "    def new_resource(self, args):\n"
        "        rid, outputs = super().new_resource(args)\n"
        "        if args.name == 'migrate':\n"
        "            outputs['exitCode'] = 1\n"
        "        return rid, outputs\n"
        "plan = run('dev', mocks=FailingMigration())\n"
        "print('app created' if any(r.name == 'app' for r in plan.resources) else 'no app')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode != 0 and "app created" not in out.stdout
    assert "StepFailedError: labelstudio-dev-migrate exited with code 1" in out.stderr


def test_docker_never_auto_assigns_the_fixed_ssrf_addresses() -> None:
    ipam = plan("dev").named("app-network").inputs()["ipamConfigs"][0]
    fixed = ipaddress.ip_address(plan("dev").named("minio", CONTAINER).inputs()["networksAdvanced"][0]["ipv4Address"])
    assert fixed in ipaddress.ip_network(ipam["subnet"])
    assert fixed not in ipaddress.ip_network(ipam["ipRange"])



def test_the_same_resource_name_twice_fails_like_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.plan import DuplicateResourceError

    monkeypatch.setattr("components.seed.resource_slug", lambda _path: "same")
    with pytest.raises(DuplicateResourceError, match="project-same"):
        run("dev")
