# Quickstart: `make demo` runs the default scenario, `make test` the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The modules compiled with mypyc (meshsim/native.py lists them), and the
# record the build writes of the sources it compiled.
COMPILED := $(shell grep -o '"meshsim\.[a-z_.]*"' meshsim/native.py \
	| tr -d '"' | tr . / | sed 's/$$/.py/')
NATIVE := meshsim/native.json

.PHONY: venv build pure demo test lint typecheck unit bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools
	MESHSIM_PURE=1 $(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Compile again what changed since the last build (about a minute and a
# half on two cores); `make pure` removes the compiled modules, so that
# edits run at once from source (slower runs, same results). Without a C
# compiler meshsim runs from source, unless MESHSIM_STRICT_BUILD=1 (CI).
build: $(NATIVE)

$(NATIVE): $(STAMP) setup.py $(COMPILED)
	@if $(BIN)/python setup.py --quiet build_ext --inplace; then :; \
	elif [ -n "$$MESHSIM_STRICT_BUILD" ]; then exit 1; \
	else find meshsim -name '*.so' -delete; \
		echo "meshsim: could not compile (see above); running from" \
			"source, about a third slower"; fi

pure:
	find meshsim -name '*.so' -delete
	rm -f $(NATIVE)

demo: build
	$(BIN)/meshsim run scenarios/istio-sidecar.yaml \
		--out results/istio-sidecar --force

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

unit: build
	$(BIN)/pytest -n 2

test: lint typecheck unit

# Performance figures against their targets (about six minutes on two
# idle cores; `.venv/bin/python -m benchmarks --quick` takes under one).
bench: build
	$(BIN)/python -m benchmarks

clean: pure
	rm -rf $(VENV) build results/*/
