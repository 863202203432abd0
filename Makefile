# Every target builds what it needs from nothing: `make test` and `make demo` on a fresh machine.
PYTHON   := $(shell scripts/find-python)
PYBIN    := $(dir $(PYTHON))
VENV     := .venv
TOOLS    := .venv-tools
BIN      := $(VENV)/bin
export PATH := $(PYBIN):$(PATH)
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv tools test test-fast test-hours demo bench schema lint typecheck check build validate clean invoke api openapi sam-local

help:
	@echo "make demo        the whole flow on the embedded local AWS, with a summary (.local/)"
	@echo "make test        every test (sets up .venv and .venv-tools first)"
	@echo "make test-fast   the tests not marked slow"
	@echo "make test-hours  the clock-reading tests at 03:00, 17:30 and 23:58 UTC (faketime; root)"
	@echo "make check       ruff check, ruff format --check and mypy (make lint, make typecheck alone)"
	@echo "make bench       throughput and size figures beside their goals (runs make build)"
	@echo "make api         the decisions API over HTTP on 127.0.0.1:8080 (local AWS, example models)"
	@echo "make invoke      FN=IngestFunction EVENT=events/kinesis-repeat-views.json: a handler, one event"
	@echo "make sam-local   each function under sam local invoke with every events/ file (Docker; root for the stand-in image)"
	@echo "make validate    sam validate --lint + cfn-lint;  make build  sam build"
	@echo "make schema      regenerate schemas/event-v1.schema.json;  make openapi  docs/openapi.json, docs/privacy-openapi.json"
	@echo "make venv, make tools  the two virtualenvs;  make clean  remove them, the build and .local"

$(VENV)/.ready: requirements-dev.txt layers/deps/requirements.txt training/requirements.txt training/requirements-spark.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

$(TOOLS)/.ready: requirements-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --upgrade pip
	$(TOOLS)/bin/python -m pip install -q -r requirements-tools.txt
	touch $@

venv: $(VENV)/.ready
tools: $(TOOLS)/.ready

test: venv tools
	TOOLS_BIN=$(abspath $(TOOLS)/bin) $(BIN)/pytest

test-fast: venv
	$(BIN)/pytest -m "not slow"

# The tests that read a clock, with the clock set to other hours of today (UTC) by faketime: proves
# that nothing depends on the hour it runs (23:58 crosses midnight mid-run). Needs root for apt.
HOURS       := 03:00 17:30 23:58
CLOCK_TESTS := tests/unit tests/e2e/test_training.py tests/integration/test_api.py \
               tests/integration/test_api_exposures.py tests/integration/test_api_edges.py \
               tests/integration/test_local_ingest.py tests/integration/test_kinesis_source.py \
               tests/integration/test_replay.py tests/integration/test_train_serve_skew.py \
               tests/integration/test_dispatch.py tests/integration/test_dispatch_once.py \
               tests/integration/test_audience.py
test-hours: venv
	set -e; for at in $(HOURS); do echo "== clock at $$at UTC"; \
	  bash ../shared/tools/at-hour.sh $$at $(BIN)/pytest -q -p no:cacheprovider $(CLOCK_TESTS); done

demo: venv
	$(BIN)/python -m local.demo

bench: venv build
	$(BIN)/python -m bench

schema: venv
	$(BIN)/python -m local.schema > schemas/event-v1.schema.json

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

check: lint typecheck  ## what CI runs besides the tests

validate: tools
	$(TOOLS)/bin/sam validate --lint && $(TOOLS)/bin/cfn-lint template.yaml

build: tools
	$(TOOLS)/bin/sam build

# Docker as it is when it answers; otherwise the stand-in base image and its own dockerd (root).
STAND_IN_DOCKER := unix://$(HOME)/.cache/lambda-base-image/docker.sock
sam-local: venv build
	@if docker info > /dev/null 2>&1; then $(BIN)/python -m local.sam_local; else \
	  mkdir -p .local; bash ../shared/tools/lambda-base-image.sh > .local/sam-image.log 2>&1 || { tail -20 .local/sam-image.log; exit 1; }; \
	  DOCKER_HOST=$(STAND_IN_DOCKER) $(BIN)/python -m local.sam_local; fi

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .local

invoke: venv  ## make invoke FN=IngestFunction EVENT=events/kinesis-repeat-views.json
	$(BIN)/python -m local.invoke $(or $(FN),IngestFunction) -e $(or $(EVENT),events/kinesis-repeat-views.json)

api: venv  ## the decisions API over HTTP on 127.0.0.1:8080 (local AWS, example models)
	$(BIN)/python -m local.api_server

openapi: venv  ## regenerate docs/openapi.json from the API's routes and models
	$(BIN)/python -m local.openapi > docs/openapi.json
	$(BIN)/python -m local.openapi privacy > docs/privacy-openapi.json
