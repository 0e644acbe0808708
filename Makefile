# workforce-metrics: the single entry point. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install system-deps demo test test-unit test-integration test-browser lint format schemas asyncapi bench stack-up stack-down stack-status clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

PAGES := services/metrics/pages

$(INSTALLED): pyproject.toml $(PAGES)/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	@command -v npm >/dev/null || { echo "install: npm (Node 20) is needed for the analyst pages' chart library" >&2; exit 1; }
	npm ci --prefix $(PAGES) --no-audit --no-fund --loglevel=error
	touch $@

install: $(INSTALLED) system-deps ## create .venv, install pinned Python and npm packages (and the Debian tools and browser the tests use)

system-deps: ## Debian packages the tests use (promtool/prometheus); skipped when present or not root
	@bash scripts/system-deps.sh

demo: install ## run the main job on the embedded default: local ClickHouse + NATS, ingest, metrics, seed scenario
	$(PY) -m services.demo $(DEMO_ARGS)

test: install lint ## lint first, then all tests: unit (no servers), integration (real ClickHouse 26 + NATS JetStream, started if absent), pages in Chromium
	$(PY) -m pytest tests/unit -q
	$(PY) -m pytest tests/integration -q
	$(PY) -m pytest tests/browser -q

test-browser: install ## the analyst pages in headless Chromium (screenshots in tests/browser/screenshots/)
	$(PY) -m pytest tests/browser -q

test-unit: install ## unit tests only
	$(PY) -m pytest tests/unit -q

test-integration: install ## integration tests only
	$(PY) -m pytest tests/integration -q

lint: install ## ruff (lint + format check) and mypy --strict over services, schemas, bench and tests (~1 s cached, ~10 s cold)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy schemas services bench tests

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
