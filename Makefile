# scalelab: `make up`, open the JupyterLab URL it prints, and `make test`.
# Every target installs what it needs first; on a fresh clone `make up` alone is enough.

SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION  ?= 0.13.8
PYTHON      ?= python3
VENV        := .venv
BOOTSTRAP   := .state/bootstrap
SCALELAB    := $(VENV)/bin/scalelab
STAMP       := $(VENV)/.scalelab-lock
# uv: the one on PATH, else a private copy installed by `make setup`.
UV          := $(or $(shell command -v uv 2>/dev/null),$(BOOTSTRAP)/bin/uv)
export UV_PYTHON_DOWNLOADS ?= never
# What `make bench` runs by default: db-benchmark's groupby questions at `small`, both modes, every
# engine (4:26 on 2 cores, 2026-12-07); SUITE=all adds join, time series, cleaning, features and ML.
BENCH_SUITE := groupby
# Both modes (see `scalelab bench --help`): scan from Parquet to pandas, and db-benchmark's in memory.
BENCH_MODES := scan,memory

.PHONY: help setup lock up down status logs doctor data bench bench-report browser labs test test-unit test-quick \
        test-compose images pins platform-packages airflow-venv clean

# The targets used every day, shown first by `make help` in this order; the rest follow as written.
DAILY := up down status logs test test-quick bench

help: ## Show this help
	@awk -v daily="$(DAILY)" 'BEGIN {FS = ":.*## "; n = split(daily, d, " "); for (i = 1; i <= n; i++) at[d[i]] = i} \
	  /^[a-zA-Z_-]+:.*## / {line = sprintf("  \033[36m%-14s\033[0m %s\n", $$1, $$2); \
	    if ($$1 in at) first[at[$$1]] = line; else rest = rest line} \
	  END {print "Every day:"; for (i = 1; i <= n; i++) printf "%s", first[i]; \
	    print "\nOne engine (its pytest mark; the engines come from scalelab.engines):"; \
	    printf "  \033[36m%-14s\033[0m %s\n", "test/ENGINE", "Run that engine'"'"'s workload and stack tests on the stack: make test/spark"; \
	    printf "  %-14s %s\n", "", "ENGINE: " engines; \
	    print "\nThe rest:"; printf "%s", rest}' \
	  engines="$$($(VENV)/bin/python -c 'from scalelab import engines; print(*engines.ENGINES)' 2>/dev/null \
	            || echo '(make setup first; scalelab.engines.ENGINES lists them)')" $(MAKEFILE_LIST)

$(BOOTSTRAP)/bin/uv:
	@echo "uv not found: installing uv $(UV_VERSION) into $(BOOTSTRAP)"
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/pip install --quiet --require-hashes --only-binary :all: -r docker/python/uv-requirements.txt

# The venv is rebuilt whenever the lock file changes; the stamp records which lock it holds.
# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set (this machine) Python never
# caches it, and every new process (Ray and Dask workers, kernels) compiled ray, pandas... from source.
$(STAMP): requirements.lock pyproject.toml | $(UV)
	$(UV) venv --allow-existing --python 3.11 $(VENV)
	$(UV) pip sync --compile-bytecode --python $(VENV)/bin/python requirements.lock
	$(UV) pip install --python $(VENV)/bin/python --no-deps -e .
	sha256sum requirements.lock | cut -d' ' -f1 > $(STAMP)

# Airflow has a venv and a lock of its own (its pins fight the lab's); the platform profile needs it.
AIRFLOW_VENV  := .state/airflow/venv
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.scalelab-lock
$(AIRFLOW_STAMP): docker/airflow/requirements.lock | $(UV)
	$(UV) venv --allow-existing --python 3.11 $(AIRFLOW_VENV)
	$(UV) pip sync --compile-bytecode --python $(AIRFLOW_VENV)/bin/python docker/airflow/requirements.lock
	sha256sum docker/airflow/requirements.lock | cut -d' ' -f1 > $(AIRFLOW_STAMP)

airflow-venv: $(AIRFLOW_STAMP) ## Create Airflow's own venv from docker/airflow/requirements.lock (run by up PROFILE=platform)

setup: $(STAMP) ## Create .venv from the lock file and fetch Kafka's jars (run by up and test)
	$(SCALELAB) setup

lock: | $(UV) ## Re-pin dependencies after editing pyproject.toml (or docker/airflow/requirements.in)
	$(UV) pip compile pyproject.toml --extra test --universal --python-version 3.11 \
	  --overrides requirements.overrides --generate-hashes --no-header -o requirements.lock
	$(UV) pip compile docker/airflow/requirements.in --universal --python-version 3.11 \
	  --generate-hashes --no-header -o docker/airflow/requirements.lock

# The runtime: docker (compose.yaml) when a Docker engine answers or RUNTIME=docker, else local
# processes; scripts/runtime.sh decides. The docker runtime needs neither Python nor Java here.
RUNTIME_FOUND = $(shell bash scripts/runtime.sh)

up: ## Start Spark, Dask, Ray, Kafka and JupyterLab, wait until healthy, print the URL (PROFILE=platform: + PostgreSQL, Redis, Airflow)
	@echo "runtime: $(RUNTIME_FOUND) (RUNTIME=$(or $(RUNTIME),auto); scalelab doctor says why)"
ifeq ($(RUNTIME_FOUND),docker)
	@PROFILES="$(or $(PROFILES),all $(PROFILE))" bash scripts/compose.sh up
else
	@$(MAKE) --no-print-directory setup $(if $(filter platform,$(PROFILE)),platform-packages)
	$(SCALELAB) up $(foreach p,$(PROFILE),--profile $(p))
endif

# The platform profile's stores come from Debian: installed here when missing (as root); Airflow from its lock.
platform-packages: $(AIRFLOW_STAMP)
	@missing=""; ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing Debian's$$missing for the platform profile"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "the platform profile needs:$$missing; run 'sudo apt-get install$$missing'"; exit 1; fi; fi

down: ## Stop everything `up` started
ifeq ($(RUNTIME_FOUND),docker)
	@bash scripts/compose.sh down
else
	@if [ -x $(SCALELAB) ]; then $(SCALELAB) down; else echo "nothing to stop (no .venv)"; fi
endif

status: ## Show each service, its URL and its health
ifeq ($(RUNTIME_FOUND),docker)
	@bash scripts/compose.sh status
else
	@$(MAKE) --no-print-directory $(STAMP) >/dev/null
	$(SCALELAB) status --memory
endif

logs: ## Show a service's log: make logs SERVICE=kafka
ifeq ($(RUNTIME_FOUND),docker)
	@bash scripts/compose.sh logs $(or $(SERVICE),$(error name one: make logs SERVICE=kafka))
else
	@$(MAKE) --no-print-directory $(STAMP) >/dev/null
	$(SCALELAB) logs $(or $(SERVICE),$(error name one: make logs SERVICE=kafka))
endif

doctor: $(STAMP) ## Check Java, ports, disk, memory, venv and jars
	$(SCALELAB) doctor

data: $(STAMP) ## Generate every data set at a scale: make data SCALE=small (tiny, small, medium, large)
	@for args in groupby join trips events tabular "tabular -p dirty=1"; do \
		$(SCALELAB) data generate $$args --scale $(or $(SCALE),small) || exit $$?; done

bench: up ## Run the engines side by side (scan and memory modes), write results/ and a report: make bench SUITE=all SCALE=tiny,small MODE=memory
	$(SCALELAB) bench --suite $(or $(SUITE),$(BENCH_SUITE)) --engines $(or $(ENGINES),all) \
	  --scale $(or $(SCALE),small) --mode $(or $(MODE),$(BENCH_MODES)) --repeat $(or $(REPEAT),2)

bench-report: $(STAMP) ## Render the report of the latest benchmark run again
	$(SCALELAB) bench report

browser: ## Install headless Chromium (Debian's chromium) for the browser test, if missing
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then echo "installing Debian's chromium for the browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: run 'sudo apt-get install chromium' (the browser test needs it)"; exit 1; fi; }

labs: up ## Execute every lab notebook on the stack: make labs SCALE=small (default tiny)
	SCALELAB_LAB_SCALE=$(or $(SCALE),tiny) $(VENV)/bin/pytest tests/labs -p no:cacheprovider

test-unit: $(STAMP) ## Run the tests that need no running stack
	$(VENV)/bin/pytest tests/unit

test-quick: $(STAMP) ## The edit loop, no stack: the unit tests, then one in-process engine's matrix (ENGINE=duckdb)
	$(VENV)/bin/pytest tests/unit -q -p no:cacheprovider
	$(VENV)/bin/pytest tests/workloads -q -p no:cacheprovider -m $(or $(ENGINE),duckdb)

test: setup browser platform-packages ## Start the stack, run the whole suite (labs included), stop what it started
	@bash scripts/test.sh

# make test/spark: the tests carrying that engine's mark in the workload matrix and the stack tests.
# The engine and its mark are asked of the engine registry, so a new engine gets its target for free.
test/%: setup platform-packages
	@mark=$$($(VENV)/bin/python -c 'import sys; from scalelab import engines as e; n = sys.argv[1]; \
	  print(e.ENGINES[n].mark()) if n in e.ENGINES else sys.exit(f"unknown engine {n!r}: make test/ENGINE takes one of {list(e.ENGINES)}")' \
	  "$*") || exit 2; \
	TEST_PATHS="tests/workloads tests/stack" bash scripts/test.sh -m "$$mark"

images: ## Build the image (docker/python) with Docker: make images (Podman: make test-compose builds it)
	docker compose -f compose.yaml --profile all build

pins: $(BOOTSTRAP)/bin/uv ## Re-pin uv by its wheels' hashes (make pins UV_VERSION=X.Y.Z), for make and the image
	@{ echo "# uv for the image and for make's bootstrap, pinned by the hashes of every wheel of its release:"; \
	   echo "# pip checks the one it downloads (--require-hashes). Update: make pins UV_VERSION=X.Y.Z"; \
	   echo "uv==$(UV_VERSION)" | $(BOOTSTRAP)/bin/uv pip compile --quiet --generate-hashes --no-header - ; \
	 } > docker/python/uv-requirements.txt.tmp && mv docker/python/uv-requirements.txt.tmp docker/python/uv-requirements.txt
	@grep -c -- '--hash=' docker/python/uv-requirements.txt | xargs echo "docker/python/uv-requirements.txt: uv $(UV_VERSION), hashes:"

test-compose: setup ## Podman here: build the images on a debootstrap base, run the stack tests on compose, stop it
	@bash scripts/test-compose.sh

clean: down ## Stop the stack and remove the venv and all generated state
	rm -rf $(VENV) .state
