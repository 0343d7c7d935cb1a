# Two commands from a fresh clone:
#   make run   - set up, prepare the demo device, open the dashboard (standalone runtime)
#   make test  - set up (venv, Debian's mosquitto and postgresql), lint, run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STATE  ?= demo-state
EDGETUI := $(BIN)/edgetui

.PHONY: run test setup mosquitto postgresql lint format screenshots clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# pip keeps the compiled llama-cpp-python wheel in its cache: later installs reuse it.
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/.installed

# Debian's mosquitto (the tests' broker) and prometheus (its promtool checks /metrics).
mosquitto:
	@{ command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto; } && \
	  command -v promtool >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    mosquitto prometheus; }

# The fleet store's tests start their own PostgreSQL server (initdb in a temp dir) from
# Debian's package; the packaged cluster service is not used.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends postgresql; }

run: setup
	$(EDGETUI) --state-dir $(STATE) demo init
	$(EDGETUI) --config $(STATE)/config.toml --state-dir $(STATE)

lint: setup
	$(BIN)/ruff check edgetui agents tests
	$(BIN)/ruff format --check edgetui agents tests
	$(BIN)/lint-imports

test: setup mosquitto postgresql lint
	$(BIN)/pytest -q

format: setup
	$(BIN)/ruff format edgetui agents tests
	$(BIN)/ruff check --fix edgetui agents tests

screenshots: setup
	$(BIN)/python -m edgetui.tui.screenshots --out screenshots

clean:
	rm -rf $(VENV) $(STATE) .pytest_cache
