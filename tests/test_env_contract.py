"""One Label Studio env contract: Docker and Kubernetes give Label Studio the same effective
settings from the same stack config, modulo host names and addresses of the platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components import ssrf
from components.kubernetes import FIRST_CLUSTER_IP
from tests.k8s_plans import Manifests, variant_plan
from tools.plan import MASK, Plan

CONTAINER = "docker:index/container:Container"
SHARED = {"publicUrl": "http://localhost:8080", "mediaMode": "minio", "mlBackendEnabled": True,
          "mlBackendImage": "registry.example.com/ml/backend:1.0.0", "edition": "enterprise", "redisEnabled": True}
# The only settings whose value may differ: addresses the platform assigns to the SSRF targets.
PLATFORM_ADDRESSED = {"USER_ADDITIONAL_BANNED_SUBNETS"}


def docker_env(plan: Plan, name: str) -> tuple[dict[str, str], set[str]]:
    container = plan.named(name, CONTAINER)
    masked, revealed = container.inputs()["envs"], container.inputs(reveal=True)["envs"]
    plain = dict(e.split("=", 1) for e in masked if e != MASK)
    secret = {r.split("=", 1)[0] for m, r in zip(masked, revealed, strict=True) if m == MASK}
    return plain, secret


def k8s_env(m: Manifests, name: str) -> tuple[dict[str, str], set[str]]:
    env: dict[str, Any] = m.env(name)
    plain = {k: e["value"] for k, e in env.items() if "value" in e}
    secret = {k for k, e in env.items() if "secretKeyRef" in e.get("valueFrom", {})}
    return plain, secret


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Manifests]:
    tmp = tmp_path_factory.mktemp("contract")
    docker = variant_plan("docker-contract", {**SHARED, "platform": "docker"}, tmp)
    k8s = Manifests(variant_plan("k8s-contract", {**SHARED, "platform": "kubernetes"}, tmp))
    return docker, k8s


@pytest.mark.parametrize("service", ["migrate", "app", "nginx", "ml-backend"])
def test_both_platforms_give_the_same_settings(plans: tuple[Plan, Manifests], service: str) -> None:
    docker, k8s = plans
    (d_plain, d_secret), (k_plain, k_secret) = docker_env(docker, service), k8s_env(k8s, service)
    assert d_secret == k_secret  # the same secrets, by reference on Kubernetes
    assert set(d_plain) == set(k_plain)
    differing = {k for k in d_plain if d_plain[k] != k_plain[k]}
    assert differing <= PLATFORM_ADDRESSED, {k: (d_plain[k], k_plain[k]) for k in differing}


def test_the_ssrf_list_differs_only_by_each_platforms_fixed_addresses(plans: tuple[Plan, Manifests]) -> None:
    docker, k8s = plans
    d_banned = docker_env(docker, "app")[0]["USER_ADDITIONAL_BANNED_SUBNETS"]
    k_banned = k8s_env(k8s, "app")[0]["USER_ADDITIONAL_BANNED_SUBNETS"]
    docker_targets = [ssrf.fixed_address("172.28.10.0/24", n) for n in ssrf.SSRF_SLOTS]
    k8s_targets = [ssrf.fixed_address("10.96.0.0/12", n, FIRST_CLUSTER_IP) for n in ssrf.SSRF_SLOTS]
    assert d_banned == ",".join(ssrf.banned_subnets(docker_targets))
    assert k_banned == ",".join(ssrf.banned_subnets(k8s_targets))
    assert [k8s.one("Service", n)["spec"]["clusterIP"] for n in ssrf.SSRF_SLOTS] == k8s_targets


def test_a_contract_change_would_be_noticed(plans: tuple[Plan, Manifests], tmp_path: Path) -> None:
    """The comparison is not vacuous: another log level shows up as a difference."""
    docker, _ = plans
    k8s = Manifests(variant_plan("k8s-debug", {**SHARED, "platform": "kubernetes", "logLevel": "DEBUG"}, tmp_path))
    assert docker_env(docker, "app")[0]["LOG_LEVEL"] != k8s_env(k8s, "app")[0]["LOG_LEVEL"]
