# Two commands for a fresh machine: `make up` (embedded stack + demo traffic) and
# `make test` (the whole suite). Both go through the idempotent `make install`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install up test lint typecheck check demo audit clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install-chromium.sh scripts/install-xmlsec1.sh
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	bash scripts/install-chromium.sh
	bash scripts/install-xmlsec1.sh
	touch $(STAMP)

up: install
	$(BIN)/retaguarda up --demo

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy .

check: lint typecheck test

demo: install
	$(BIN)/retaguarda demo --orders 50 --faults 0.1

audit: install
	$(BIN)/retaguarda audit

clean:
	rm -rf var/ .pytest_cache .mypy_cache .ruff_cache
