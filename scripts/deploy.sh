#!/usr/bin/env bash
# Deploy (or preview) a stack with the Pulumi CLI: prerequisites, venv, backend login, stack
# select, then `pulumi up` (or `pulumi preview --diff`).
#   scripts/deploy.sh <stack> [up|preview] [extra pulumi flags, e.g. --yes]
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "error: $*" >&2; exit 1; }
missing=()  # every missing prerequisite, reported together
need() { command -v "$1" >/dev/null || missing+=("$1 not found: $2"); }

stack="${1:-}"
[[ -n "$stack" ]] || die "usage: scripts/deploy.sh <stack> [up|preview] [pulumi flags]"
shift
action=up
if [[ "${1:-}" == up || "${1:-}" == preview ]]; then action=$1; shift; fi
[[ -f "Pulumi.$stack.yaml" ]] || die "no stack file Pulumi.$stack.yaml; copy Pulumi.dev.yaml to start one"

need pulumi "install the Pulumi CLI (https://www.pulumi.com/docs/install/)"
need python3 "install Python 3.11 with venv"
command -v python3 >/dev/null || die "${missing[@]}"
make --no-print-directory venv

# platform, kubeconfig and context, as the settings read them (one per line)
{ read -r platform; read -r kubeconfig; read -r kube_context; } < <(.venv/bin/python - "$stack" <<'PY'
import sys
from components.settings import DEFAULTS
from tools.plan import stack_config
config, _ = stack_config(sys.argv[1])
for key in ("platform", "kubeconfig", "kubeContext"):
    print(config.get(f"labelstudio:{key}", DEFAULTS[key][0]).replace("\n", " "))
PY
)
if [[ "$platform" == docker ]]; then
  need docker "the $stack stack runs on Docker: install Docker Engine and start it"
  if command -v docker >/dev/null && ! docker info >/dev/null 2>&1; then
    missing+=("Docker is installed but not running (docker info failed): start Docker Engine")
  fi
elif command -v kubectl >/dev/null; then
  kubectl_args=()
  [[ -n "$kubeconfig" ]] && kubectl_args+=(--kubeconfig "$kubeconfig")
  [[ -n "$kube_context" ]] && kubectl_args+=(--context "$kube_context")
  kubectl "${kubectl_args[@]}" cluster-info >/dev/null 2>&1 ||
    missing+=("no reachable cluster for context '${kube_context:-(current)}' of kubeconfig '${kubeconfig:-(default)}' (labelstudio:kubeContext/kubeconfig; kubectl cluster-info failed)")
else
  echo "note: the $stack stack deploys with your current kubeconfig context (kubectl not found to check it)" >&2
fi

if ((${#missing[@]})); then
  printf 'error: %s\n' "${missing[@]}" >&2
  exit 1
fi

# Use the backend you are logged in to; otherwise keep state on this machine.
pulumi whoami >/dev/null 2>&1 || pulumi login --local
if pulumi whoami --verbose 2>/dev/null | grep -q "file://" \
   && [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
  echo "note: a local backend encrypts secrets with a passphrase; export PULUMI_CONFIG_PASSPHRASE to skip the prompt" >&2
fi
pulumi stack select --create "$stack"
if [[ "$action" == preview ]]; then
  exec pulumi preview --stack "$stack" --diff "$@"
fi
pulumi up --stack "$stack" "$@"
echo
echo "Label Studio: $(pulumi stack output url --stack "$stack")"
echo "Admin login:  $(pulumi stack output adminEmail --stack "$stack")" \
     "(password: pulumi stack output adminPassword --show-secrets --stack $stack)"
