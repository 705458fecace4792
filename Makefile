# The two commands of the quick start:
#   make preview   set up everything and render + preview the dev stack (no cluster, no cloud, no login)
#   make test      set up everything (venv, Docker engine, registry, Prometheus) and run the test suite
.PHONY: setup engine preview render validate test lint bench clean

VENV := .venv
PY := $(VENV)/bin/python
MODELSTACK := $(VENV)/bin/modelstack
STACK ?= dev

setup:
	@bash scripts/bootstrap.sh

# The real Pulumi engine (CLI, Python language host, Kubernetes provider): official binaries when on PATH,
# else built from Go modules into ~/.cache/modelstack/toolchain (cold: see README; cached: seconds).
engine:
	@bash scripts/engine-toolchain.sh >/dev/null

validate: setup
	$(MODELSTACK) validate --stack $(STACK)

render: setup
	$(MODELSTACK) render --stack $(STACK) --out rendered/$(STACK)

preview: validate render
	$(MODELSTACK) preview --stack $(STACK)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy components modelstack

test: setup engine
	$(VENV)/bin/pytest -p no:cacheprovider

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf rendered build .pytest_cache .mypy_cache .ruff_cache
