# Quickstart: `make demo` runs the default scenario, `make test` the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv build compile pure demo notebooks test lint typecheck unit bench clean

# Exits 0 when the compiled modules are current, else says why.
define BUILD_CURRENT
import sys
from meshsim.native import build_problem
problem = build_problem()
if problem:
    sys.exit(f"meshsim: compiled modules: {problem}")
endef
export BUILD_CURRENT

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools
	MESHSIM_PURE=1 $(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# `make build` compiles the modules meshsim/native.py lists unless the
# last build is current (none of them, nor the list, changed since). It
# takes about a minute and a half on two cores. `make pure` removes the
# compiled modules and records a build from source, so that edits run at
# once (slower runs, same results); `make compile` compiles again. When
# compiling fails (no C compiler, no Python headers, an error), meshsim
# runs from source, unless MESHSIM_STRICT_BUILD=1 (as in CI).
build: $(STAMP)
	@$(BIN)/python -c "$$BUILD_CURRENT" || $(MAKE) --no-print-directory compile

compile: $(STAMP)
	@echo "compiling meshsim's core with mypyc (about a minute and a half)"
	@if $(BIN)/python setup.py --quiet build_ext --inplace; then :; \
	elif [ "$${MESHSIM_STRICT_BUILD:-0}" != 0 ]; then exit 1; \
	else $(MAKE) --no-print-directory pure; \
		echo "meshsim: could not compile (see above); running from" \
			"source, slower; \`make compile\` tries again"; fi

pure: $(STAMP)
	rm -rf build
	MESHSIM_PURE=1 $(BIN)/python setup.py --quiet build_ext --inplace

demo: build
	$(BIN)/meshsim run scenarios/istio-sidecar.yaml \
		--out results/istio-sidecar --force

# A notebook front end and nbconvert, which neither running nor testing
# meshsim needs; then `.venv/bin/jupyter lab notebooks/`.
notebooks: build
	$(BIN)/pip install --quiet 'jupyterlab>=4' 'nbconvert>=7'

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

unit: build
	$(BIN)/pytest -n 2

test: lint typecheck unit

# Performance figures against their targets (about five minutes on two
# idle cores; `.venv/bin/python -m benchmarks --quick` takes under one).
bench: build
	$(BIN)/python -m benchmarks

# Removes what building made; results/ holds the user's runs and stays.
clean:
	find meshsim -name '*.so' -delete
	rm -rf $(VENV) build meshsim/native.json
