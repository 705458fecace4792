# The two commands of the quick start:
#   make preview   set up everything and render + preview the dev stack (no cluster, no cloud, no login)
#   make test      set up everything (venv, Docker engine, registry, Prometheus) and run the test suite
#   make stop-servers  stop the Docker engine and registry that `make test` left running
.PHONY: setup engine cluster-toolchain cluster cluster-stop preview render validate test lint bench bench-engine clean stop-servers

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

# The local control plane (etcd, kube-apiserver, -controller-manager, -scheduler, KWOK) from Go modules
# into the same cache (docs/cluster.md); `make cluster` starts one in the background, `make cluster-stop`
# stops it.
cluster-toolchain:
	@bash scripts/cluster-toolchain.sh >/dev/null

cluster: setup cluster-toolchain
	@bash scripts/cluster.sh start --nodes-from-stack prod

cluster-stop:
	@bash scripts/cluster.sh stop

validate: setup
	$(MODELSTACK) validate --stack $(STACK)

render: setup
	$(MODELSTACK) render --stack $(STACK) --out rendered/$(STACK)

preview: validate render
	$(MODELSTACK) preview --stack $(STACK)

lint: setup
	$(VENV)/bin/ruff check .
	# Markdown's Python examples keep their aligned comments.
	$(VENV)/bin/ruff format --check --extend-exclude '*.md' .
	$(VENV)/bin/mypy components modelstack

test: setup engine cluster-toolchain
	@echo "make test: the suite runs on every core (pytest-xdist). Its integration tests install, once, with"
	@echo "  apt: docker.io, docker-registry, debootstrap and prometheus; and start on 127.0.0.1: dockerd,"
	@echo "  a registry on :5000 (both left running for the next run: 'make stop-servers') and one"
	@echo "  Prometheus per test session on a free port (stopped when the session ends)."
	$(VENV)/bin/pytest -p no:cacheprovider

stop-servers:
	@bash scripts/stop-servers.sh

# One run, one table (docs/performance.md): the offline engine beside its floors and the cdk8s peer at
# BENCH_SIZES, the render cache at the largest, the real engine at ENGINE_SIZES, then bench/summary.py's
# table of all of them with each goal met or not. Figures also land in build/bench/*.json.
BENCH_SIZES ?= 10,100,1000
BENCH_MODELS ?= 1000
ENGINE_SIZES ?= 10,100
REPEAT ?= 3
bench: setup engine
	@mkdir -p build/bench
	$(PY) bench/run.py --sizes $(BENCH_SIZES) --repeat $(REPEAT) --json build/bench/run.json
	$(PY) bench/cache.py --models $(BENCH_MODELS) --repeat $(REPEAT) --json build/bench/cache.json
	$(PY) bench/engine.py --sizes $(ENGINE_SIZES) --json build/bench/engine.json
	$(PY) bench/summary.py --run build/bench/run.json --cache build/bench/cache.json --engine build/bench/engine.json

# The real Pulumi engine (preview and up of a render stack) beside the offline engine, at 10 and 100
# models (docs/performance.md, "Under the real engine"; SIZES=10,100,1000 for more).
SIZES ?= 10,100
bench-engine: setup engine
	$(PY) bench/engine.py --sizes $(SIZES) --pprof

clean:
	rm -rf rendered build .pytest_cache .mypy_cache .ruff_cache
