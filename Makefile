# Quickstart: `make demo` runs the default scenario, `make test` the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint typecheck unit bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: venv
	$(BIN)/meshsim run scenarios/istio-sidecar.yaml \
		--out results/istio-sidecar --force

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -n 2

test: lint typecheck unit

# Performance figures against their targets (about six minutes on two
# idle cores; `.venv/bin/python -m benchmarks --quick` takes under one).
bench: venv
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) results/*/
