# Two commands set everything up on a fresh machine with python3, pip and make:
#   make bench   - create .venv, install the project (editable, dev extra), run the main job
#   make test    - the same set-up, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: compile bench test test-fast lint perf gate gate-baseline gate-stability asv asv-stability typecheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Fill Numba's on-disk cache first, so that no benchmark or test pays for
# compilation (75-160 s of CPU on a cold cache, by CPU; a second once it is
# warm).  It ends with how many kernel signatures the cache holds.
compile: $(STAMP)
	$(BIN)/xinit-bench compile

# The default job (1K, 1M and 64M elements; NumPy timed up to 1M) takes about
# 1.5 minutes on 2 cores and ends with the verdict on the speed targets; its
# exit status is 0 whatever the verdict.  `make bench BENCH_FLAGS=--full` for
# every size and scheme, `BENCH_FLAGS=--strict` to fail on a missed target.
BENCH_FLAGS ?=
bench: compile
	$(BIN)/xinit-bench bench $(BENCH_FLAGS)

test: compile lint
	$(BIN)/python -m pytest -q

# ruff: lint rules and the formatter's check (configuration in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

perf: $(STAMP)
	mkdir -p .benchmarks
	$(BIN)/python -m pytest tests/perf/bench -q --benchmark-enable --benchmark-json=.benchmarks/perf.json
	$(BIN)/python -m pytest -q --timing -m timing

# The A/B gate: this tree against GATE_REF (default HEAD: the uncommitted
# changes; `make gate GATE_REF=main` for a branch).  gate-baseline is the
# committed per-CPU baseline instead.
GATE_REF ?= HEAD
gate: compile
	$(BIN)/xinit-bench gate --against $(GATE_REF)

gate-baseline: $(STAMP)
	$(BIN)/xinit-bench gate --quick

# 10 gate runs on a variant of HEAD with one kernel 1.5x slower (each must
# fail), 10 on HEAD unchanged (each must pass), the other core busy.
gate-stability: compile
	$(BIN)/python benchmarks/gate_stability.py --runs 10

# asv continuous (the README's PR check) against an empty commit on HEAD (must
# report nothing) and against HEAD with the normal kernel 1.5x slower (must
# report only rows through that kernel); builds its own virtualenv, about 30 min.
asv-stability: $(STAMP)
	$(BIN)/python benchmarks/asv_stability.py --quiet

asv: $(STAMP)
	$(BIN)/asv machine --yes
	$(BIN)/asv run -E existing --set-commit-hash $$(git rev-parse HEAD)

# mypy sees the package as it is installed: a tree of symbolic links with
# kernels/ linked in as xinit_bench/kernels (see [tool.mypy] in pyproject.toml).
TYPETREE := build/typecheck
typecheck: $(STAMP)
	rm -rf $(TYPETREE) && mkdir -p $(TYPETREE)
	cp -rs $(CURDIR)/xinit_bench $(TYPETREE)/xinit_bench
	ln -s $(CURDIR)/kernels $(TYPETREE)/xinit_bench/kernels
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) build *.egg-info .asv .benchmarks .pytest_cache .mypy_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
