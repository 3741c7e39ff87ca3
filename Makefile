# Two commands on a fresh machine: `make serve` and `make test`. The venv builds itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint check bench clean

# The first run builds the environment: say so, and let pip show what it downloads.
$(STAMP): pyproject.toml
	@echo "==> setting up $(VENV), a Python environment with dialtone and its dependencies"
	@echo "==> (the first time only: a minute or so, more on a slow network)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check --progress-bar on -e '.[dev]'
	touch $(STAMP)
	@echo "==> $(VENV) is ready"

serve: $(STAMP)
	@echo "==> starting dialtone serve (its database and files are in ./var)"
	$(BIN)/dialtone serve

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# The unit tests spread over the machine's cores; the interop tests (real servers and
# peers whose timers must not be starved) run one at a time after them.
test: lint
	$(BIN)/pytest -m "not interop" -n auto
	$(BIN)/pytest -m interop

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
