# `make run` and `make test` are all a fresh clone needs: each creates .venv
# when missing and installs into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
BUF := $(VENV)/bin/buf
DATA_DIR ?= data

.PHONY: run test install gen check-gen lint typecheck buf pytest docs golden reliability bench bench-docs config-table clean

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	$(VENV)/bin/sheets --data-dir $(DATA_DIR) init-db
	$(VENV)/bin/sheets --data-dir $(DATA_DIR) seed-demo
	$(VENV)/bin/sheets --data-dir $(DATA_DIR) serve

# The README's picture of a rendered sheet (rasterised with pypdfium2, a dev dependency).
docs: $(INSTALLED)
	$(PY) tools/sample_sheet.py

# Golden pictures of Open Dental's sheet definitions (tests/golden), after a deliberate visual change.
golden: $(INSTALLED)
	$(PY) -m tests._golden

# docs/reliability.md from a real run: fuzzing, injected faults, every limit hit (about a minute).
reliability: $(INSTALLED)
	$(PY) tools/reliability.py docs/reliability.md

# SPEC §9's targets with h2load and wrk (Debian: nghttp2-client wrk); several
# minutes. Writes docs/benchmarks.json, docs/benchmarks.png and the README's figures.
BENCH_INSTALLED := $(VENV)/.bench-installed
$(BENCH_INSTALLED): $(INSTALLED)
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $@

bench: $(BENCH_INSTALLED)
	$(PY) -m bench $(BENCH_ARGS)

# The plot and the README's figures again, from docs/benchmarks.json.
bench-docs: $(BENCH_INSTALLED)
	$(PY) -m bench.report

# The README's settings table, from service/settings.py.
config-table: $(INSTALLED)
	$(PY) tools/config_table.py

gen: $(INSTALLED)
	$(PY) tools/codegen.py

check-gen: $(INSTALLED)
	$(PY) tools/codegen.py --check

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(INSTALLED)
	$(VENV)/bin/mypy

buf: $(INSTALLED) check-gen
	$(BUF) lint
	tools/buf-breaking.sh $(BUF)

pytest: $(INSTALLED)
	$(PY) -m pytest $(PYTEST_ARGS)

test: check-gen lint typecheck buf pytest

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
