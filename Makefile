# The two commands of the README: `make demo` and `make test`.
# Both create .venv on first use and install the project into it.
# `make test-cluster` (CI runs it after `make test`) runs the demo on a one-node
# SLURM cluster on localhost; it needs root on Debian 12 (docs/scaling.md).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.agrifactory-installed
CORES  ?= all
# pytest-xdist workers of `make test` (tests/conftest.py shares the demo run between
# them); more on a larger machine, e.g. `make test TEST_WORKERS=8`.
TEST_WORKERS ?= 2

.PHONY: demo test test-cluster lint unit install schema clean-results services

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
	  || { echo "agrifactory needs Python >= 3.11; run e.g. 'make demo PYTHON=python3.11'"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,stac-server]'
	@touch $(STAMP)

install: $(STAMP)

CLUSTER_STAMP := $(VENV)/.agrifactory-cluster-installed

$(CLUSTER_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,cluster]'
	@touch $(CLUSTER_STAMP)

demo: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --configfile config/config.yaml
	$(BIN)/snakemake --configfile config/config.yaml --report results/report.html
	@$(BIN)/agrifactory where

unit: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/snakemake --lint --configfile config/config.yaml
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/ruff check src scripts tests benchmarks tools
	$(BIN)/ruff format --check src scripts tests benchmarks tools

# The local STAC API and COG server of the tests (PostgreSQL + PostGIS, nginx; Debian
# packages, installed where this runs as root on Debian). Elsewhere the script says
# what is missing, and the tests that need the services skip with that reason.
services:
	@bash tools/install_stac_services.sh || echo "make: the STAC service tests will skip (see above)"

test: $(STAMP) services
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory unit

test-cluster: $(CLUSTER_STAMP)
	BIN=$(abspath $(BIN)) bash tools/cluster_test.sh

# The config schema is generated from the stages' settings models (a test fails when
# the committed file is stale).
schema: $(STAMP)
	$(BIN)/agrifactory schema -o workflow/schemas/config.schema.yaml

clean-results:
	rm -rf results .snakemake
