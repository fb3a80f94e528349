# `make run` and `make test` are all a fresh clone needs: each creates .venv
# when missing and installs into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
BUF := node_modules/.bin/buf
DATA_DIR ?= data

.PHONY: run test install gen check-gen lint typecheck buf pytest docs clean

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(INSTALLED)

$(BUF): package.json
	npm install --no-audit --no-fund --silent
	touch $@

run: $(INSTALLED)
	$(VENV)/bin/sheets --data-dir $(DATA_DIR) init-db
	$(VENV)/bin/sheets --data-dir $(DATA_DIR) seed-demo
	$(VENV)/bin/sheets --data-dir $(DATA_DIR) serve

# The README's picture of a rendered sheet (needs poppler-utils' pdftoppm).
docs: $(INSTALLED)
	$(PY) tools/sample_sheet.py

gen: $(INSTALLED)
	$(PY) tools/codegen.py

check-gen: $(INSTALLED)
	$(PY) tools/codegen.py --check

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(INSTALLED)
	$(VENV)/bin/mypy

buf: $(BUF) check-gen
	$(BUF) lint
	tools/buf-breaking.sh $(BUF)

pytest: $(INSTALLED)
	$(PY) -m pytest $(PYTEST_ARGS)

test: check-gen lint typecheck buf pytest

clean:
	rm -rf $(VENV) node_modules build .mypy_cache .ruff_cache .pytest_cache
