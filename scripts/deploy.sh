#!/usr/bin/env bash
# Deploy a stack with the Pulumi CLI: venv, backend login, stack select, pulumi up.
#   scripts/deploy.sh dev [extra pulumi up flags, e.g. --yes]
set -euo pipefail
cd "$(dirname "$0")/.."
stack="${1:-dev}"; shift || true

need() { command -v "$1" >/dev/null || { echo "error: $1 not found: $2" >&2; exit 1; }; }
need pulumi "install the Pulumi CLI (https://www.pulumi.com/docs/install/)"
if grep -q "platform: docker" "Pulumi.$stack.yaml"; then
  need docker "the $stack stack runs on Docker: install Docker Engine and start it"
  docker info >/dev/null 2>&1 || { echo "error: Docker is installed but not running (docker info failed)" >&2; exit 1; }
fi
make --no-print-directory venv

# Use the backend you are logged in to; otherwise state stays on this machine.
pulumi whoami >/dev/null 2>&1 || pulumi login --local
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ] && ! pulumi whoami 2>/dev/null | grep -qv "^$USER$"; then
  echo "note: secrets in a local backend are encrypted with a passphrase; export PULUMI_CONFIG_PASSPHRASE to avoid the prompt" >&2
fi
pulumi stack select --create "$stack"
pulumi up --stack "$stack" "$@"
echo
echo "Label Studio: $(pulumi stack output url --stack "$stack")"
echo "Admin login:  $(pulumi stack output adminEmail --stack "$stack") / pulumi stack output adminPassword --show-secrets --stack $stack"
