#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine (as root); fast and silent when done.
#   - PostgreSQL server binaries (Debian package; no cluster is created or started by it), shellcheck
#   - .venv                : the project's dev requirements
#   - .venvs/label-studio  : Label Studio at the stack's `labelstudio:version`, in its own venv
#                            (its protobuf clashes with pulumi's)
#   - .venvs/checkov       : checkov (requirements-checkov.txt), in its own venv (its pins clash with ours)
#   - .venvs/awscli        : the AWS CLI (requirements-awscli.txt) the backup tests run, in its own venv
#   - .venvs/ml-backend    : the test ML backend (tests/ml_backend/requirements.txt: label-studio-ml and
#                            the redis/rq it imports without declaring), in its own venv (Flask 1.1 pins)
set -euo pipefail
cd "$(dirname "$0")/.."

PIP_NOISE="is ignored: it is neither a file nor a directory"

say() { echo "bootstrap: $*"; }
die() { echo "bootstrap: ERROR: $*" >&2; exit 1; }

# Run a command quietly; on failure show its output (minus pip's index noise) and stop.
quietly() {
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
        grep -v -e "$PIP_NOISE" "$log" >&2 || true
        rm -f "$log"
        die "failed: $*"
    fi
    rm -f "$log"
}

# True when every `name==version` pin in the given requirement files (and their -r includes) is installed.
pins_installed() {
    local python=$1
    shift
    "$python" - "$@" 2>/dev/null <<'EOF'
import re, sys
from importlib import metadata
from pathlib import Path

def pins(path):
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            yield from pins(Path(path).parent / line[3:].strip())
        elif "==" in line:
            name, version = line.split("==", 1)
            yield re.sub(r"\[.*\]", "", name).strip(), version.strip()

for arg in sys.argv[1:]:
    found = list(pins(arg)) if Path(arg).exists() else [tuple(arg.split("=="))]
    for name, version in found:
        try:
            if metadata.version(name) != version:
                sys.exit(1)
        except metadata.PackageNotFoundError:
            sys.exit(1)
EOF
}

# --- Debian packages ------------------------------------------------------------------------------
packages=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || packages+=(postgresql)
command -v shellcheck >/dev/null || packages+=(shellcheck)  # the backup scripts are linted by a test
command -v python3 >/dev/null || packages+=(python3)
python3 -c "import ensurepip, venv" 2>/dev/null || packages+=(python3-venv)
if ((${#packages[@]})); then
    [[ $(id -u) == 0 ]] || die "need root to install: ${packages[*]}"
    # The tests start their own throwaway clusters: keep the package from creating and starting one.
    mkdir -p /etc/postgresql-common
    [[ -e /etc/postgresql-common/createcluster.conf ]] ||
        echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
    say "apt-get install ${packages[*]}"
    quietly apt-get update -qq
    DEBIAN_FRONTEND=noninteractive quietly apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi

# --- project venv ---------------------------------------------------------------------------------
[[ -x .venv/bin/python ]] || quietly python3 -m venv .venv
if pins_installed .venv/bin/python requirements-dev.txt; then
    say ".venv up to date"
else
    say "installing requirements-dev.txt into .venv"
    quietly .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
fi

# --- Label Studio venv ----------------------------------------------------------------------------
# The version the dev stack deploys: its stack file, else the one default in settings.
ls_version=$(.venv/bin/python - <<'EOF'
from pathlib import Path
import yaml
from components.settings import DEFAULTS
stack = Path("Pulumi.dev.yaml")
config = (yaml.safe_load(stack.read_text()) or {}).get("config", {}) if stack.exists() else {}
print(config.get("labelstudio:version") or DEFAULTS["version"][0])
EOF
)
[[ -x .venvs/label-studio/bin/python ]] || { mkdir -p .venvs && quietly python3 -m venv .venvs/label-studio; }
if pins_installed .venvs/label-studio/bin/python "label-studio==$ls_version"; then
    say "Label Studio $ls_version up to date"
else
    say "installing label-studio==$ls_version into .venvs/label-studio"
    quietly .venvs/label-studio/bin/python -m pip install -q --disable-pip-version-check "label-studio==$ls_version"
fi

# --- checkov venv ---------------------------------------------------------------------------------
[[ -x .venvs/checkov/bin/python ]] || { mkdir -p .venvs && quietly python3 -m venv .venvs/checkov; }
if pins_installed .venvs/checkov/bin/python requirements-checkov.txt; then
    say "checkov up to date"
else
    say "installing requirements-checkov.txt into .venvs/checkov"
    quietly .venvs/checkov/bin/python -m pip install -q --disable-pip-version-check -r requirements-checkov.txt
fi

# --- AWS CLI venv (backup tests) ----------------------------------------------------------------------
[[ -x .venvs/awscli/bin/python ]] || { mkdir -p .venvs && quietly python3 -m venv .venvs/awscli; }
if pins_installed .venvs/awscli/bin/python requirements-awscli.txt; then
    say "awscli up to date"
else
    say "installing requirements-awscli.txt into .venvs/awscli"
    quietly .venvs/awscli/bin/python -m pip install -q --disable-pip-version-check -r requirements-awscli.txt
fi

# --- ML backend venv (the real ML backend the seed tests link Label Studio to) ---------------------
ml_requirements=tests/ml_backend/requirements.txt
[[ -x .venvs/ml-backend/bin/python ]] || { mkdir -p .venvs && quietly python3 -m venv .venvs/ml-backend; }
if pins_installed .venvs/ml-backend/bin/python "$ml_requirements"; then
    say "ML backend up to date"
else
    say "installing $ml_requirements into .venvs/ml-backend"
    quietly .venvs/ml-backend/bin/python -m pip install -q --disable-pip-version-check -r "$ml_requirements"
fi
