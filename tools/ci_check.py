"""Preflight of a CI job (.github/workflows): before any Pulumi step, check that the job has what
`pulumi preview`/`up` of the stack needs, report every problem at once, and hand the workflow
the facts it uses. Messages name secrets and variables, never their values.

    python -m tools.ci_check <stack>    # exit 1 listing every problem; else prints/writes outputs

Outputs (to $GITHUB_OUTPUT when set, always to stdout): `stack-name` (org-qualified when
CI_PULUMI_ORG is set), `pulumi-version` (the CLI matching requirements.txt's pulumi pin),
`platform` and `kube-context` (the stack's effective settings).

Read from the environment: the job's PULUMI_ACCESS_TOKEN, PULUMI_CONFIG_PASSPHRASE and
PULUMI_BACKEND_URL; CI_PULUMI_ORG, CI_AWS_ROLE_ARN, CI_EKS_CLUSTER and CI_KUBECONFIG_GIVEN from
the prepare action (.github/actions/pulumi-prepare).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess  # nosec B404 - runs `docker info`, a fixed command
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.settings import DEFAULTS, NAMESPACE
from tools.plan import ROOT, stack_config
from tools.stack_file import StackFileError

_PIN = re.compile(r"^pulumi==(?P<version>[0-9][0-9A-Za-z.+-]*)\s*(?:#.*)?$")
_ORG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
SELF_MANAGED = ("s3://", "gs://", "azblob://")
DOCS = "README.md, section CI/CD (GitOps)"
DEV_RUNNER = "labelstudio-dev"  # runs-on label of the Docker host's self-hosted runner (the workflows)


@dataclass(frozen=True)
class Stack:
    """What CI needs to know of a stack file."""

    name: str
    platform: str
    kubeconfig: str
    kube_context: str
    secrets_provider: str  # `secretsprovider:` of the stack file; "" = the backend's default


def read_stack(name: str, root: Path = ROOT) -> Stack:
    path = root / f"Pulumi.{name}.yaml"
    if not path.exists():
        raise StackFileError(f"no stack file {path.name}; fix: commit one (copy Pulumi.dev.yaml to start)")
    config, _ = stack_config(name, path)

    def setting(key: str) -> str:
        return config.get(f"{NAMESPACE}:{key}", str(DEFAULTS[key][0]))

    top = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    provider = str(top.get("secretsprovider") or ("passphrase" if top.get("encryptionsalt") else ""))
    return Stack(name, setting("platform"), setting("kubeconfig"), setting("kubeContext"), provider)


def pulumi_version(requirements: str) -> str:
    """The Pulumi CLI version for the pinned SDK (CLI and SDK are released with one number)."""
    for line in requirements.splitlines():
        match = _PIN.match(line.strip())
        if match:
            return match["version"]
    raise ValueError("requirements.txt pins no `pulumi==<version>`; fix: pin the Pulumi SDK exactly")


def backend_problems(stack: Stack, env: Mapping[str, str]) -> list[str]:
    backend = env.get("PULUMI_BACKEND_URL", "").strip()
    token = bool(env.get("PULUMI_ACCESS_TOKEN", "").strip())
    passphrase = bool(env.get("PULUMI_CONFIG_PASSPHRASE", "") or env.get("PULUMI_CONFIG_PASSPHRASE_FILE", ""))
    if backend.startswith("file://"):
        return [f"variable PULUMI_BACKEND_URL is a local backend ({backend.split('?')[0]}): state on a CI "
                "runner is lost when the job ends; fix: use Pulumi Cloud (secret PULUMI_ACCESS_TOKEN, "
                "variable empty) or a bucket (s3://, gs://, azblob://)"]
    if backend and not backend.startswith(("https://", *SELF_MANAGED)):
        return [f"variable PULUMI_BACKEND_URL has an unknown scheme ({backend.split('://')[0]}://); fix: "
                "leave it empty for Pulumi Cloud, or use https:// (self-hosted Pulumi Cloud), s3://, gs:// "
                "or azblob://"]
    problems = []
    service = not backend or backend.startswith("https://")
    if service and not token:
        where = "Pulumi Cloud" if not backend else "the Pulumi service at variable PULUMI_BACKEND_URL"
        problems.append(f"no Pulumi backend credentials for {where}: secret PULUMI_ACCESS_TOKEN is empty; "
                        "fix: create the repository (or environment) secret PULUMI_ACCESS_TOKEN, or set the "
                        "variable PULUMI_BACKEND_URL to a self-managed backend (s3://, gs://, azblob://)")
    uses_passphrase = stack.secrets_provider == "passphrase" or (not service and not stack.secrets_provider)
    if uses_passphrase and not passphrase:
        problems.append(f"stack {stack.name} encrypts its secrets with a passphrase but secret "
                        "PULUMI_CONFIG_PASSPHRASE is empty; fix: create the secret with the stack's passphrase "
                        f"(or give Pulumi.{stack.name}.yaml a KMS `secretsprovider:`)")
    return problems


def platform_problems(stack: Stack, env: Mapping[str, str], docker_ok: bool) -> list[str]:
    if stack.platform == "docker":
        if docker_ok:
            return []
        return [f"stack {stack.name} runs on Docker, but this runner has no running Docker Engine "
                "(docker info failed); fix: run the job on the dev host's self-hosted runner "
                f"(label {DEV_RUNNER}) with Docker running ({DOCS})"]
    problems = []
    eks = env.get("CI_EKS_CLUSTER", "").strip()
    kubeconfig_given = env.get("CI_KUBECONFIG_GIVEN", "false") == "true"
    if stack.kubeconfig:
        problems.append(f"Pulumi.{stack.name}.yaml sets {NAMESPACE}:kubeconfig ({stack.kubeconfig}): in CI the "
                        "cluster credentials come from the job's KUBECONFIG; fix: leave kubeconfig empty and "
                        "select the cluster with kubeContext")
    if not eks and not kubeconfig_given:
        problems.append(f"stack {stack.name} deploys to Kubernetes but the job has no cluster access: variable "
                        "EKS_CLUSTER_NAME and secret KUBECONFIG are both empty; fix: set one of them "
                        f"({DOCS})")
    if eks and not env.get("CI_AWS_ROLE_ARN", "").strip():
        problems.append(f"variable EKS_CLUSTER_NAME is set ({eks}) but the job has no AWS role to reach it; "
                        "fix: set the variable AWS_PREVIEW_ROLE_ARN (previews, drift) and AWS_DEPLOY_ROLE_ARN "
                        "(the environment's, for up)")
    return problems


def org_problems(env: Mapping[str, str]) -> list[str]:
    org = env.get("CI_PULUMI_ORG", "").strip()
    if not org or _ORG.match(org):
        return []
    return [f"variable PULUMI_ORG is not an organization name ({org!r}); fix: the name as in "
            "app.pulumi.com/<org>, or empty for the token's default organization"]


def stack_name(stack: Stack, env: Mapping[str, str]) -> str:
    org = env.get("CI_PULUMI_ORG", "").strip()
    return f"{org}/{stack.name}" if org else stack.name


def docker_running() -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=30,  # noqa: S603 - fixed command
                              check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def main(argv: list[str], env: Mapping[str, str] = os.environ, root: Path = ROOT) -> int:
    if len(argv) != 1:
        print("usage: python -m tools.ci_check <stack>", file=sys.stderr)
        return 2
    try:
        stack = read_stack(argv[0], root)
        version = pulumi_version((root / "requirements.txt").read_text(encoding="utf-8"))
    except (StackFileError, ValueError) as err:
        print(f"ci_check: {err}", file=sys.stderr)
        return 1
    docker_ok = stack.platform != "docker" or docker_running()
    problems = backend_problems(stack, env) + platform_problems(stack, env, docker_ok) + org_problems(env)
    if problems:
        print(f"ci_check: the job cannot run Pulumi for stack {stack.name} ({len(problems)} problem(s)):",
              file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    outputs = {"stack-name": stack_name(stack, env), "pulumi-version": version,
               "platform": stack.platform, "kube-context": stack.kube_context}
    lines = "".join(f"{key}={value}\n" for key, value in outputs.items())
    print(lines, end="")
    if env.get("GITHUB_OUTPUT"):
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
            out.write(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
