# Two commands on a fresh machine: `make serve` and `make test`. The venv builds itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The sans-I/O packages compiled with mypyc (dialtone/native.py): rebuilt when a source
# changes; where it cannot be built, dialtone runs them as plain Python.
NATIVE := build/native/.built
NATIVE_LIST := src/dialtone/native/packages.txt
NATIVE_PACKAGES := $(shell grep -v '^\#' $(NATIVE_LIST) 2>/dev/null)
NATIVE_SOURCES := $(wildcard $(NATIVE_LIST)) $(shell find $(addprefix src/dialtone/,$(NATIVE_PACKAGES)) -name '*.py' 2>/dev/null)

.PHONY: serve test test-without-build lint check bench clean native

# The first run builds the environment: say so, and let pip show what it downloads.
$(STAMP): pyproject.toml
	@echo "==> setting up $(VENV), a Python environment with dialtone and its dependencies"
	@echo "==> (the first time only: a minute or so, more on a slow network)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check --progress-bar on -e '.[dev]'
	touch $(STAMP)
	@echo "==> $(VENV) is ready"

$(NATIVE): $(STAMP) $(NATIVE_SOURCES)
	@echo "==> compiling the call core, SIP, RTP and policy packages with mypyc (a few minutes, once)"
	@mkdir -p build/native
	@if $(BIN)/python -m dialtone.native build > build/native/log 2>&1; then \
		echo "==> $$($(BIN)/python -m dialtone.native status)"; \
	else \
		echo "==> not compiled (see build/native/log); dialtone runs as plain Python"; \
		$(BIN)/python -m dialtone.native clean > /dev/null; \
	fi
	touch $(NATIVE)

native: $(NATIVE)

serve: $(STAMP) $(NATIVE)
	@echo "==> starting dialtone serve (its database and files are in ./var)"
	$(BIN)/dialtone serve

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# While lint and mypyc run (one core each for most of their time), the tests that need
# no compiled build run beside them: the sans-I/O packages' own tests as plain Python,
# then the store and services tests on PostgreSQL (a throw-away cluster per worker; the
# sans-I/O code they touch is the same as plain Python). Then the unit tests spread over
# the machine's cores on the compiled build; the interop tests (real servers and peers
# whose timers must not be starved) run two at a time after them, test by test
# (worksteal, a free worker takes tests queued for the other): shared out by file,
# test_call_engine.py alone (48 tests, a server each: 6 to 9 minutes) kept one worker
# busy for most of the run.
test: $(STAMP)
	@echo "==> lint and the compiled build, and beside them the tests that need no build"
	$(MAKE) --no-print-directory -j3 --output-sync=target lint $(NATIVE) test-without-build
	$(BIN)/python -m dialtone.native status
	$(BIN)/pytest -m "not interop" -n auto
	@echo "==> the interop tests, two at a time (each worker its own ports), then the serial ones"
	$(BIN)/pytest -m "interop and not serial" -n 2 --dist worksteal
	$(BIN)/pytest -m "interop and serial"

test-without-build: $(STAMP)
	@echo "==> the sans-I/O packages' own tests, as plain Python"
	DIALTONE_PURE=1 $(BIN)/pytest -m "not interop" -n auto -p no:cacheprovider $(addprefix tests/,$(NATIVE_PACKAGES))
	@echo "==> the store and services tests again, on PostgreSQL (a throw-away cluster per worker)"
	DIALTONE_PURE=1 DIALTONE_TEST_DATABASE=postgresql $(BIN)/pytest -m "not interop" -n auto -p no:cacheprovider tests/store tests/services tests/test_database.py

bench: $(STAMP) $(NATIVE)
	@echo "==> every benchmarks/*.py (console_overview.py among them: the console with 100,000 CDRs)"
	$(BIN)/python benchmarks/run_all.py

clean:
	-$(BIN)/python -m dialtone.native clean
	rm -rf $(VENV) build var .pytest_cache .mypy_cache .ruff_cache .hypothesis
