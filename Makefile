# `make demo` and `make test` each set up a fresh machine on their own (README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Local Dagster instance (SQLite). Without DAGSTER_HOME, dagster commands run from this folder would
# read ./dagster.yaml, the production (PostgreSQL) instance.
LOCAL_DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: setup demo demo-headless sandbox test bench validate postgres browser mutation mutation-report clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# The web UI's port: `make demo UI_PORT=3001` when 3000 is taken.
UI_PORT ?= 3000

MUTATION_STAMP := $(VENV)/.installed-mutation
$(MUTATION_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,mutation]'
	touch $(MUTATION_STAMP)

demo: setup
	$(BIN)/bp-nop demo --ui --ui-port $(UI_PORT)

demo-headless: setup
	$(BIN)/bp-nop demo

sandbox: setup
	$(BIN)/bp-nop sandbox

# Loads the code location as pyproject's [tool.dg.project] names it (`bp_nop_dagster`, as the demo
# and workspace.yaml do), so Dagster does not warn about a second name for it.
validate: setup
	mkdir -p $(LOCAL_DAGSTER_HOME)
	test -f $(LOCAL_DAGSTER_HOME)/dagster.yaml || touch $(LOCAL_DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(LOCAL_DAGSTER_HOME) $(BIN)/dagster definitions validate

# Starts the machine's PostgreSQL cluster if it is installed but not running (CI always has one).
postgres:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1; then \
		if command -v pg_ctlcluster >/dev/null; then \
			pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
			for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 && break; sleep 1; done; \
		fi; \
	fi

# Debian's headless Chromium for the UI test (bp_nop_dagster_tests/test_ui_browser.py), installed when
# missing and this is root (CI runs as root); elsewhere the test skips, saying why (never under CI=true).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		elif [ "$$CI" = "true" ]; then \
			echo "chromium is missing and this is not root: install Debian's chromium package" >&2; exit 1; \
		else \
			echo "chromium is not installed: the UI test will skip (apt-get install chromium)"; \
		fi; \
	fi

# Both cores (pytest-xdist, one worker per core, at most 2; a test file stays on one worker),
# tests in random order (pytest-randomly; the seed is printed: rerun one with
# `--randomly-seed=N`, or keep file order with `-p no:randomly`), every test under a time limit
# (pytest-timeout, pyproject). `slow` end-to-end tests are included, and handed out first
# (bp_nop_dagster_tests/conftest.py; `--no-loadscope-reorder` keeps that order) so the two
# workers share them instead of one worker running them last. The 20 slowest tests are printed
# at the end (input for tools/xdist_schedule.py).
# The set-up runs side by side where nothing orders it: `browser` (apt: download and unpack) from
# the start, next to `setup` (pip) and then `validate` (CPU, needs the venv); `postgres` next to them.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -lt 2 ] && echo $$n || echo 2)
test:
	$(MAKE) --no-print-directory -j3 browser validate postgres
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=20

# Mutation testing of one package (docs/mutation.md): `make mutation PACKAGE=ledger`, or a
# deterministic sample with EVERY=k (every k-th mutant). Not part of `make test` nor CI.
PACKAGE ?= ledger
EVERY ?= 1
mutation: $(MUTATION_STAMP)
	$(BIN)/python tools/mutation.py run $(PACKAGE) --every $(EVERY)
	$(BIN)/python tools/mutation.py report $(PACKAGE):$(EVERY)

mutation-report: $(MUTATION_STAMP)
	$(BIN)/python tools/mutation.py report

bench: setup
	$(BIN)/python -m bench.sandbox_throughput
	$(BIN)/python -m bench.source_reads
	$(BIN)/python -m bench.order_flow
	$(BIN)/python -m bench.order_latency
	$(BIN)/python -m bench.stock_sync
	$(BIN)/python -m bench.stock_latency
	$(BIN)/python -m bench.customer_sync
	$(BIN)/python -m bench.webhook_latency
	$(BIN)/python -m bench.catalogue_sync
	$(BIN)/python -m bench.recovery
	$(BIN)/python -m bench.data_quality
	$(BIN)/python -m bench.quality_wiring
	$(BIN)/python -m bench.refund_flow

clean:
	rm -rf $(VENV) .dagster_home .pytest_cache mutants
