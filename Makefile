# The two commands: `make run` (the whole pipeline on DuckDB + the built-in
# WHOOP emulator) and `make test`. Both install what they need into .venv.
SHELL := /bin/bash
PYTHON ?= python3
# Another interpreter: `make test PYTHON=python3.13 VENV=.venv-3.13` (one venv per interpreter).
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
DAYS ?= 180
INSTALLED := $(VENV)/.installed

.PHONY: install prepare run dev dashboard test test-instants history-windows forecast-windows faults e2e bench bench-one \
	lint format home clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

## The dbt manifest the definitions read, prepared as the deploy workflow does (`dbt parse`;
## only when a dbt file changed). `dagster dev` prepares it by itself.
DBT_PROJECT_FILE := whoop_dagster/defs/dbt/project.py
MANIFEST := whoop_dbt/target/manifest.json
DBT_SOURCES := $(shell find whoop_dbt -type f -not -path 'whoop_dbt/target/*' -not -path 'whoop_dbt/logs/*' \
	-not -path 'whoop_dbt/dbt_packages/*' -not -name '.user.yml')

prepare: $(MANIFEST)

$(MANIFEST): $(INSTALLED) $(DBT_PROJECT_FILE) $(DBT_SOURCES)
	$(BIN)/dagster-dbt project prepare-and-package --file $(DBT_PROJECT_FILE)
	touch $@

home:
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || cp config/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

## The main job: raw loads for the last $(DAYS) days, then the whole graph, into DAGSTER_HOME.
run: install prepare home
	$(BIN)/whoop-dagster demo --days $(DAYS)

## The Dagster UI on the same instance and warehouse as `make run` (it prepares the dbt manifest itself).
## A step's per-partition events reach the event log in batches (README, "Instance storage");
## the same default as whoop-dagster demo's (whoop_dagster/demo.py: EVENT_BATCH_SIZE).
DAGSTER_EVENT_BATCH_SIZE ?= 1000
dev: install home
	DAGSTER_EVENT_BATCH_SIZE=$(DAGSTER_EVENT_BATCH_SIZE) $(BIN)/dagster dev -m whoop_dagster.definitions -h 127.0.0.1 -p 3000

## The dashboard (Streamlit) on 127.0.0.1:8501 over the warehouse `make run` fills; read-only.
dashboard: install prepare
	$(BIN)/streamlit run whoop_dagster/dashboard/app.py --server.address 127.0.0.1 --server.port 8501 \
		--server.headless true --browser.gatherUsageStats false

## Each test module on one of 3 workers, the longest first (whoop_dagster_tests/conftest.py: LONGEST_FIRST).
## Three on 2 cores: much of the suite waits on processes it started (dbt, dagster, servers), and a
## third worker fills those waits (4 min 53 s against 5 min 19 s with two, measured here).
## Bytecode is written even where PYTHONDONTWRITEBYTECODE is set: pytest keeps its assertion-rewritten
## test modules only as bytecode, so otherwise every worker rewrites every module again (2.5 s of CPU each).
test: install prepare
	$(BIN)/ruff check .
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n 3 --dist loadfile --no-loadscope-reorder -m "not e2e"

## The tests that read "now" at every instant of whoop_dagster_tests/support/clock.py
## (`make test-instants INSTANTS=leap-day-2358,new-year-0002` for some); `make test` runs them at one.
test-instants: install prepare
	$(BIN)/python scripts/test_at_instants.py $(if $(INSTANTS),--instants $(INSTANTS))

## dbt built alone on each of 36 windows of a year of emulator history, as the main job would
## load them on 36 dates (`make test` builds the same windows once, in one shared warehouse).
history-windows: install prepare
	$(BIN)/python scripts/check_history_windows.py --jobs 2

## Both forecasts' gates on 120 windows of `make run`'s length over two years of dates
## (`make test` checks twelve).
forecast-windows: install prepare
	$(BIN)/python scripts/check_forecast_windows.py

## The seeded fault campaign: seeds 0…SEEDS-1 (`make faults SEEDS=200`), or one seed replayed exactly
## (`make faults SEED=17`); `make test` plays 20 fixed seeds. Figures: artifacts/fault_campaign.md.
## JOBS=n workers (default 2): much of a seed is waiting (429 resets, backoffs, slow pages, locks).
SEEDS ?= 20
JOBS ?= 2
faults: install prepare
	WHOOP_FAULT_SEEDS=$(SEEDS) WHOOP_FAULT_SEED=$(SEED) $(BIN)/pytest whoop_dagster_tests/faults/test_campaign.py \
		-k seeded -q $(if $(SEED),-p no:xdist,-n $(JOBS) --dist load)

## `dagster dev` + GraphQL + headless Chromium against the state `make run` leaves, then every
## shell command of the README as printed, in a fresh environment of its own.
e2e: run
	bash scripts/e2e_prereqs.sh
	$(BIN)/pytest -m e2e -p no:xdist

## Benchmarks (benchmarks/RESULTS.md); `dlt` is installed only for them.
bench: install prepare
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/run_all.py

## One benchmark, rewriting only its section of benchmarks/RESULTS.md: `make bench-one BENCH=dbt_step`
## (dbt_step, instance_storage, peer, whole_graph, ...: benchmarks/bench_<BENCH>.py). The instance-storage
## benchmark starts a throwaway PostgreSQL: Debian's `postgresql` package (`apt-get install postgresql`).
bench-one: install prepare
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/bench_$(BENCH).py $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf .dagster_home data whoop_dbt/target whoop_dbt/logs
