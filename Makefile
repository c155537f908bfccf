# Two commands set everything up on a fresh machine with python3, pip and make:
#   make bench   - create .venv, install the project (editable, dev extra), run the main job
#   make test    - the same set-up, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: bench test test-fast perf gate gate-stability asv typecheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/xinit-bench bench

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

perf: $(STAMP)
	mkdir -p .benchmarks
	$(BIN)/python -m pytest tests/perf -q --benchmark-enable --benchmark-json=.benchmarks/perf.json

gate: $(STAMP)
	$(BIN)/xinit-bench gate --quick

gate-stability: $(STAMP)
	$(BIN)/python benchmarks/gate_stability.py --runs 10

asv: $(STAMP)
	$(BIN)/asv machine --yes
	$(BIN)/asv run -E existing --set-commit-hash $$(git rev-parse HEAD)

typecheck: $(STAMP)
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) build *.egg-info .asv .benchmarks .pytest_cache .mypy_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
