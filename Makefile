# Mutuality Workbook. `make` (or `make help`) lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the reports (Pango; DejaVu and Noto fonts, so every script and emoji a
# client types prints) and browser tests (Chromium) need.
SYSTEM_PACKAGES := chromium fonts-dejavu-core fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji \
	libpango-1.0-0 libpangoft2-1.0-0 poppler-utils
PYTEST_ARGS ?=

.PHONY: help demo test lab serve lint format bench system-deps clean-venv hooks

help: ## Show this help
	@echo "Mutuality Workbook: make <target>"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(BIN)/mutuality: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

system-deps: ## Install the Debian packages for PDFs and browser tests (needs root; else says what is missing)
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "note: missing Debian packages (ask your admin to install): $$missing"; \
	fi

demo: system-deps $(BIN)/mutuality ## Create .venv, install, seed the demo couples, render a demo PDF report
	$(BIN)/mutuality demo

test: system-deps $(BIN)/mutuality ## Install what the tests need and run them all
	$(BIN)/python -m pytest $(PYTEST_ARGS)

hooks: $(BIN)/mutuality ## Once per clone: strip notebook outputs on commit (nbstripout git filter)
	$(BIN)/nbstripout --install --attributes .gitattributes
	@echo "nbstripout filter installed: notebooks are committed without outputs"

lab: $(BIN)/mutuality ## Open the notebooks in JupyterLab
	$(BIN)/jupyter lab notebooks/

serve: $(BIN)/mutuality ## Serve the couples' worksheets as a Voila app on 127.0.0.1
	$(BIN)/mutuality serve

lint: $(BIN)/mutuality ## ruff check, ruff format check, mypy
	$(BIN)/ruff check mutuality_helpers tests benchmarks
	$(BIN)/ruff format --check mutuality_helpers tests benchmarks
	$(BIN)/mypy

format: $(BIN)/mutuality ## ruff format and fix
	$(BIN)/ruff format mutuality_helpers tests benchmarks
	$(BIN)/ruff check --fix mutuality_helpers tests benchmarks

bench: $(BIN)/mutuality ## Run every benchmark and print the figures
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean-venv: ## Remove .venv
	rm -rf $(VENV)
