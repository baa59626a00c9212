# Mutuality Workbook. `make` (or `make help`) lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

# The project's one Python: uv.lock is resolved for 3.11 on Linux (Debian 12's python3).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
# The uv that installs from uv.lock; the same version uv.lock pins (tests/test_packaging.py).
UV_VERSION := 0.13.9
# Touched once .venv holds exactly what uv.lock says (remade when the lock or pyproject change).
INSTALLED := $(VENV)/.installed-from-lock
# The browser tests' npm packages (axe-core), exactly as package-lock.json says: npm ci.
NPM ?= npm
NODE_INSTALLED := node_modules/.installed-from-lock
# Where `make demo` seeds the synthetic demo couples: a data folder of their own (git-ignored,
# under data/), never the live data folder, so a practice's real couples are never touched.
DEMO_DATA ?= $(CURDIR)/data/demo-store
# Where `make screenshots` writes the forms' PNGs for review (git-ignored).
SCREENSHOTS ?= screenshots
# uv uses the Python it is given and never downloads one.
export UV_PYTHON_DOWNLOADS := never
# Debian packages the reports (Pango; Liberation, DejaVu and Noto fonts, so every script and emoji a
# client types prints), browser tests (Chromium) and the form server's TLS proxy (nginx;
# openssl makes the tests' certificate) and a group practice's store (PostgreSQL: the tests
# start their own server with its initdb/pg_ctl; pg_dump/pg_restore back it up) need.
SYSTEM_PACKAGES := chromium fonts-liberation fonts-dejavu-core fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji \
	libpango-1.0-0 libpangoft2-1.0-0 poppler-utils nginx openssl postgresql
APT_GET ?= apt-get
PYTEST_ARGS ?=
# Extra JupyterLab options, e.g. make lab LAB_ARGS="--no-browser --port=8899".
LAB_ARGS ?=
# Jupyter refuses to start as root without --allow-root (root is how `make` installs apt packages).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help demo test lab serve lint format bench lock system-deps clean-venv hooks screenshots

help: ## Show this help
	@echo "Mutuality Workbook: make <target>"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(UV):
	@command -v $(PYTHON) >/dev/null || { \
		echo "make: $(PYTHON) not found; install Python 3.11 (Debian 12: apt-get install python3 python3-venv) or pass PYTHON=..."; \
		exit 1; }
	@echo "make: creating $(VENV) with $(PYTHON) and installing uv $(UV_VERSION) into it (pip, from PyPI)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(INSTALLED): uv.lock pyproject.toml | $(UV)
	@echo "make: installing the exact Python packages of uv.lock (with the test extra) into $(VENV)"
	$(UV) sync --locked --extra test --compile-bytecode --python $(BIN)/python
	@touch $@

system-deps: ## Install the Debian packages for PDFs and browser tests (says which first; needs root, else names what is missing)
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	missing=$$(echo $$missing); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v $(APT_GET) >/dev/null; then \
		echo "make: about to install these Debian packages (Pango and Liberation, DejaVu and Noto fonts for the PDF reports, Chromium for the browser tests, poppler-utils, nginx and openssl for the TLS proxy, postgresql for the server store): $$missing"; \
		echo "make: running $(APT_GET) update, then $(APT_GET) install -y $$missing"; \
		$(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq $$missing >/dev/null; \
	else \
		echo "note: missing Debian packages (ask your admin to install): $$missing"; \
	fi

$(NODE_INSTALLED): package-lock.json package.json
	@command -v $(NPM) >/dev/null || { \
		echo "note: npm not found (Debian: apt-get install npm); the accessibility checks (axe-core) and the JupyterHub test (configurable-http-proxy) cannot be installed"; \
		exit 0; }; \
	echo "make: installing the browser tests' npm packages (axe-core, configurable-http-proxy) from package-lock.json: $(NPM) ci"; \
	$(NPM) ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch $@

demo: system-deps $(INSTALLED) ## Create .venv, install from uv.lock, seed the demo couples into data/demo-store (never the live data folder), render a demo PDF report
	$(BIN)/mutuality demo --data "$(DEMO_DATA)"
	@echo "make: the demo couples are in $(DEMO_DATA); open them with: MUTUALITY_DATA=$(DEMO_DATA) make lab"

test: system-deps $(INSTALLED) $(NODE_INSTALLED) ## Install from uv.lock (and npm's lock) what the tests need and run them all
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lock: $(UV) ## Refresh uv.lock to the newest versions pyproject.toml allows; re-pin environment.yml to it
	$(UV) lock --upgrade
	$(BIN)/python tools/conda_env.py --write
	@echo "make: uv.lock and environment.yml refreshed; run make test, then commit both"

hooks: $(INSTALLED) ## Once per clone: strip notebook outputs on commit (nbstripout git filter)
	$(BIN)/nbstripout --install --attributes .gitattributes
	@echo "nbstripout filter installed: notebooks are committed without outputs"

lab: $(INSTALLED) ## Open the notebooks in JupyterLab
	$(BIN)/jupyter lab $(ALLOW_ROOT) $(LAB_ARGS) notebooks/

serve: $(INSTALLED) ## Serve the couples' worksheets as a Voila app on 127.0.0.1
	$(BIN)/mutuality serve

screenshots: system-deps $(INSTALLED) ## PNGs of both partner forms at 1280 and 390 px into screenshots/ (for review)
	$(BIN)/python tools/screenshots.py --out $(SCREENSHOTS)

lint: $(INSTALLED) ## ruff check, ruff format check, mypy
	$(BIN)/ruff check mutuality_helpers tests benchmarks tools
	$(BIN)/ruff format --check mutuality_helpers tests benchmarks tools
	$(BIN)/mypy

format: $(INSTALLED) ## ruff format and fix
	$(BIN)/ruff format mutuality_helpers tests benchmarks tools
	$(BIN)/ruff check --fix mutuality_helpers tests benchmarks tools

# Every benchmark appends its targets' verdicts here; printed together at the end.
BENCH_TARGETS := $(VENV)/bench-targets.txt

bench: $(INSTALLED) ## Run every benchmark and print the figures, then each target: met or missed
	@rm -f $(BENCH_TARGETS)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; \
		MUTUALITY_BENCH_TARGETS=$(abspath $(BENCH_TARGETS)) $(BIN)/python $$b || exit 1; done
	@echo "== targets"; cat $(BENCH_TARGETS)

clean-venv: ## Remove .venv
	rm -rf $(VENV)
