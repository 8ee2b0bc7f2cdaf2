# Common tasks. STACK defaults to dev.
STACK ?= dev
PY := .venv/bin/python

.PHONY: venv up preview plan policy test lint config-reference bench bench-seed check-label-configs

venv: ## project venv with the pinned runtime requirements (what `pulumi up` runs)
	@test -x $(PY) || python3 -m venv .venv
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt

up: ## deploy the stack with the Pulumi CLI (local state backend unless you logged in elsewhere)
	scripts/deploy.sh $(STACK) up

preview: ## what `up` would change, with the diff
	scripts/deploy.sh $(STACK) preview

plan: venv ## offline plan under Pulumi's mock runtime -> plan/$(STACK).json (no CLI, no engine)
	$(PY) -m tools.plan $(STACK)

policy: venv ## policy pack over the offline plan; exit 1 on a mandatory violation (config: policies/config/$(STACK).json)
	@$(PY) -m pip install -q --disable-pip-version-check -r policies/requirements.txt
	$(PY) -m tools.policy $(STACK)

lint:
	$(PY) -m ruff check .
	$(PY) -m mypy

config-reference: ## regenerate Pulumi.yaml config block + README reference from settings
	$(PY) -m tools.config_reference

check-label-configs: ## validate label configs and seed project files offline, as Label Studio would
	$(PY) -m tools.check_label_configs seed/label-configs/*.xml seed/projects/*.yaml

bench:
	$(PY) scripts/bench_plan.py

bench-seed: ## seed providers vs a bare SDK loop, and HTTP calls per operation (starts its own Label Studio)
	$(PY) scripts/bench_seed.py

test: ## everything CI runs: installs and starts what the tests need, then runs them
	scripts/test.sh
