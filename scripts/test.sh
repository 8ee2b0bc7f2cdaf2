#!/usr/bin/env bash
# The whole test suite, from a fresh machine: install what the tests need, then run them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap-test.sh
PY=.venv/bin/python
echo "== lint"; $PY -m ruff check . && $PY -m mypy
echo "== generated config reference is current"; $PY -m tools.config_reference --check
echo "== SAST (bandit; findings fixed or justified inline)"; $PY -m tools.sast
echo "== dependency audit (pip-audit, PyPI advisories)"; $PY -m tools.dep_audit
echo "== label configs and seed project files (offline, as Label Studio would)"
$PY -m tools.check_label_configs seed/label-configs/*.xml seed/projects/*.yaml
echo "== offline plans"; for s in dev prod; do $PY -m tools.plan "$s"; done
echo "== policy pack over the offline plans (policies/config/<stack>.json)"
$PY -m tools.policy dev   # dev: advisory violations only, each listed in the README
$PY -m tools.policy prod  # prod: no mandatory violation
echo "== tests (real PostgreSQL, moto S3 and Label Studio are started by the fixtures)"
rm -f .coverage .coverage.*
$PY -m coverage run -m pytest -q -p no:cacheprovider "$@"
$PY -m coverage combine -q
$PY -m coverage report
