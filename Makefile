# gridgov — two commands for a new user: `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
SCALE ?= 1
export GRIDGOV_PG_PORT ?= 54329

.PHONY: demo test setup venv db assets browser tools migrate demo-data serve stop lint typecheck pytest bench clean

## setup: everything both commands need (idempotent)
setup: venv db assets migrate

venv: $(BIN)/.installed
$(BIN)/.installed: pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	@touch $@

db:
	@scripts/postgis.sh start

assets:
	@scripts/assets.sh

browser:
	@scripts/browser.sh

tools:
	@scripts/tools.sh

migrate: venv db
	$(BIN)/gridgov db upgrade

demo-data: migrate
	$(BIN)/gridgov demo load --scale $(SCALE)

## demo: set up, load the demo 街道 and serve on http://$(HOST):$(PORT)
demo: setup demo-data
	$(BIN)/gridgov serve --host $(HOST) --port $(PORT) --with-worker

stop:
	@scripts/stop.sh
	@scripts/postgis.sh stop

## test: the same set-up, then ruff (lint, format), import-linter, deptry, eslint, mypy and pytest against real PostGIS
test: setup browser tools lint typecheck pytest

lint: venv assets
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/deptry .
	node_modules/.bin/eslint maps/static

typecheck: venv
	$(BIN)/mypy gis api maps

pytest: setup
	$(BIN)/pytest

## bench: W1–W12 with their references (tipg goes into its own virtualenv, var/bench-tipg-venv); < 20 min
bench: setup tools
	$(BIN)/python -m bench.run

clean: stop
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
