# `make demo` and `make test` each set up a fresh machine on their own (README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Local Dagster instance (SQLite). Without DAGSTER_HOME, dagster commands run from this folder would
# read ./dagster.yaml, the production (PostgreSQL) instance.
LOCAL_DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: setup demo demo-headless sandbox test bench validate postgres clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/bp-nop demo --ui

demo-headless: setup
	$(BIN)/bp-nop demo

sandbox: setup
	$(BIN)/bp-nop sandbox

validate: setup
	mkdir -p $(LOCAL_DAGSTER_HOME)
	DAGSTER_HOME=$(LOCAL_DAGSTER_HOME) $(BIN)/dagster definitions validate -m bp_nop_dagster.definitions

# Starts the machine's PostgreSQL cluster if it is installed but not running (CI always has one).
postgres:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1; then \
		if command -v pg_ctlcluster >/dev/null; then \
			pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
			for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 && break; sleep 1; done; \
		fi; \
	fi

test: setup postgres validate
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m bench.sandbox_throughput
	$(BIN)/python -m bench.source_reads
	$(BIN)/python -m bench.order_flow
	$(BIN)/python -m bench.order_latency
	$(BIN)/python -m bench.stock_sync
	$(BIN)/python -m bench.stock_latency
	$(BIN)/python -m bench.recovery

clean:
	rm -rf $(VENV) .dagster_home .pytest_cache
