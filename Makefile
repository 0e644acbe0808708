# workforce-metrics: the single entry point. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
LOCK_DEV := requirements-dev.lock
LOCK_RUNTIME := requirements.lock
UV_VERSION := 0.13.8
UV := $(VENV)/bin/uv
UV_COMPILE := $(UV) pip compile --quiet --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)
IMAGE_CHECK := build/image-check

.DEFAULT_GOAL := help
.PHONY: help install lock image-check system-deps demo test test-unit test-integration test-browser fuzz lint format schemas asyncapi bench stack-up stack-down stack-status clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

PAGES := services/metrics/pages

$(INSTALLED): pyproject.toml $(LOCK_DEV) $(PAGES)/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	@$(PY) scripts/lock_check.py || { echo "install: re-locking (commit the lock files)" >&2; $(MAKE) --no-print-directory lock; }
	$(VENV)/bin/pip install --quiet -r $(LOCK_DEV)
	$(VENV)/bin/pip install --quiet --no-deps -e .
	$(VENV)/bin/pip check
	@command -v npm >/dev/null || { echo "install: npm (Node 20) is needed for the analyst pages' chart library" >&2; exit 1; }
	npm ci --prefix $(PAGES) --no-audit --no-fund --loglevel=error
	touch $@

install: $(INSTALLED) system-deps ## create .venv, install the locked Python (requirements-dev.lock) and npm packages (and the Debian tools and browser the tests use)

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet uv==$(UV_VERSION)

lock: $(UV) ## regenerate requirements-dev.lock (.[dev], with the stack) and requirements.lock (runtime, for the image) from pyproject.toml; UPGRADE=1 refreshes every pin
	$(UV_COMPILE) pyproject.toml --extra dev -o $(LOCK_DEV)
	$(UV_COMPILE) pyproject.toml --constraint $(LOCK_DEV) -o $(LOCK_RUNTIME)
	$(PY) scripts/lock_check.py

image-check: install ## build the wheel, install it with requirements.lock in a scratch venv, list the runtime closure and its size; fails if the local stack is in it
	rm -rf $(IMAGE_CHECK)
	$(PYTHON) -m venv $(IMAGE_CHECK)/venv
	$(IMAGE_CHECK)/venv/bin/pip install --quiet -r $(LOCK_RUNTIME)
	$(IMAGE_CHECK)/venv/bin/pip wheel --quiet --no-deps --wheel-dir $(IMAGE_CHECK)/dist .
	$(IMAGE_CHECK)/venv/bin/pip install --quiet --no-deps $(IMAGE_CHECK)/dist/*.whl
	$(IMAGE_CHECK)/venv/bin/pip check
	$(PY) scripts/image_check.py $(IMAGE_CHECK)/venv

system-deps: ## Debian packages the tests use (promtool/prometheus); skipped when present or not root
	@bash scripts/system-deps.sh

demo: install ## run the main job on the embedded default: local ClickHouse + NATS, ingest, metrics, seed scenario
	$(PY) -m devtools.demo $(DEMO_ARGS)

test: install lint ## lint first, then all tests: unit (no servers), integration (real ClickHouse 26 + NATS JetStream, started if absent), pages in Chromium
	$(PY) -m pytest tests/unit -q --durations=10
	$(PY) -m pytest tests/integration -q --durations=15
	$(PY) -m pytest tests/browser -q

test-browser: install ## the analyst pages in headless Chromium (screenshots in tests/browser/screenshots/)
	$(PY) -m pytest tests/browser -q

test-unit: install ## unit tests only
	$(PY) -m pytest tests/unit -q --durations=10

test-integration: install ## integration tests only
	$(PY) -m pytest tests/integration -q --durations=15

fuzz: install ## the fuzz tests with the long budget (HYPOTHESIS_PROFILE=long: Hypothesis on the event and query parsers, Schemathesis on the running API); `make test` runs them bounded
	HYPOTHESIS_PROFILE=long $(PY) -m pytest tests/unit/test_fuzz_parsers.py tests/integration/test_api_fuzz.py -q

lint: install ## ruff (lint + format check) and mypy --strict over services, schemas, devtools, bench and tests (~1 s cached, ~10 s cold)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy schemas services devtools bench tests

format: install ## apply ruff formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schemas: install ## regenerate the JSON Schema files under schemas/json
	$(PY) -m schemas.export

asyncapi: install ## print ingest's AsyncAPI document (FastStream)
	@PSEUDONYM_KEY=$${PSEUDONYM_KEY:-$$($(PY) -c 'import secrets; print(secrets.token_hex(32))')} $(PY) -m services.ingest.cli asyncapi

bench: install ## benchmarks: ratios against raw baselines measured in the same run (~35 min, ~13 GB; BENCH_ARGS=--quick)
	$(PY) -m bench.run $(BENCH_ARGS)

stack-up: install ## start the local ClickHouse and NATS (or use the ones answering)
	$(VENV)/bin/workforce-stack up

stack-down: install ## stop what stack-up started
	$(VENV)/bin/workforce-stack down

stack-status: install ## show the local servers
	$(VENV)/bin/workforce-stack status

clean: stack-down ## stop the stack and remove local state
	rm -rf .stack .pytest_cache .mypy_cache .ruff_cache
