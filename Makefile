# Two commands from a fresh clone:
#   make run   - set up, prepare the demo device, open the dashboard (standalone runtime)
#   make test  - set up (venv, Debian's mosquitto and postgresql), lint, build the docs, run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STATE  ?= demo-state
EDGETUI := $(BIN)/edgetui

# A pip that takes --build-constraint and checks the hashes in it (see `setup`).
PIP_VERSION := 26.3
# The tool that writes the lock, in a venv of its own: the project's venv holds the lock only.
UV_VERSION := 0.13.9
LOCK_VENV  ?= .venv-lock
UV         := $(LOCK_VENV)/bin/uv
# One resolution for every operator's machine: any CPython >= 3.11, any platform (the lock's
# header says which were checked), with one version of each package for all of them
# (--fork-strategy fewest) rather than one per Python version.
LOCK_FLAGS := --universal --python-version 3.11 --fork-strategy fewest --generate-hashes
# `make lock UPGRADE="llama-cpp-python numpy"` lets those packages move to their newest
# versions, `make lock UPGRADE=all` every package; otherwise the pins stay where they are.
UPGRADE    ?=
LOCK_UPGRADE := $(if $(filter all,$(UPGRADE)),--upgrade,$(addprefix --upgrade-package ,$(UPGRADE)))
# What pip's isolated builds install: our build-system (setuptools, wheel), llama-cpp-python's
# sdist's (scikit-build-core), and the cmake and ninja that scikit-build-core asks for on a
# machine that has none of its own.
# Where `make lock` checks that every locked package but llama-cpp-python (an sdist, built by
# `make setup`) has a wheel: glibc >= 2.28 (Debian 10, Ubuntu 20.04) on x86_64 and aarch64.
LOCK_CHECK_PLATFORMS := x86_64-manylinux_2_28 aarch64-manylinux_2_28
LOCK_CHECK_PYTHONS   := 3.11 3.12 3.13 3.14
BUILD_REQUIREMENTS := 'setuptools>=68' wheel 'scikit-build-core[pyproject]>=0.9.2' \
  'cmake>=3.21' 'ninja>=1.5'

.PHONY: run test setup lock mosquitto postgresql lint docs format screenshots clean

# The third-party packages come from the lock, each one checked against its hashes; then the
# project itself (it has no hash), resolving nothing. The builds (the project's, and
# llama-cpp-python's from its sdist) take their tools, hashes checked, from
# build-constraints.txt.
$(BIN)/.installed: pyproject.toml requirements.lock build-constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet pip==$(PIP_VERSION)
	# pip keeps the compiled llama-cpp-python wheel in its cache: later installs reuse it.
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install --quiet --require-hashes \
	  --build-constraint build-constraints.txt -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --build-constraint build-constraints.txt -e .
	touch $@

setup: $(BIN)/.installed

$(UV):
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet uv==$(UV_VERSION)

# Rewrites requirements.lock from pyproject.toml (its dependencies and the dev extra, which
# pulls test, bench, fleet and train) and build-constraints.txt from BUILD_REQUIREMENTS. uv
# starts from the pins the files have: only what pyproject.toml rules out, or UPGRADE names,
# moves. uv's own header is replaced by ours, which tells how the file was made.
lock: $(UV)
	$(UV) pip compile --quiet --no-header pyproject.toml --extra dev $(LOCK_FLAGS) \
	  $(LOCK_UPGRADE) -o requirements.lock
	{ printf '%s\n' \
	  '# The third-party packages that `make setup` installs: pyproject.toml'"'"'s dependencies and' \
	  '# its dev extra (test, bench, fleet, train, ruff, import-linter), pinned, with hashes.' \
	  '# Written by `make lock`, i.e. uv $(UV_VERSION):' \
	  '#   uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS)' \
	  '# One resolution for CPython >= 3.11 on any platform; checked to have a wheel of every' \
	  '# package but llama-cpp-python (an sdist) for $(LOCK_CHECK_PLATFORMS),' \
	  '# CPython $(LOCK_CHECK_PYTHONS).' \
	  '# Do not edit by hand: see README, "Dependencies and the lock".' \
	  ''; cat requirements.lock; } > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock
	for platform in $(LOCK_CHECK_PLATFORMS); do for python in $(LOCK_CHECK_PYTHONS); do \
	  $(UV) pip compile --quiet --no-header --no-deps --only-binary :all: \
	    --no-binary llama-cpp-python --python-platform $$platform --python-version $$python \
	    requirements.lock -o /dev/null || { echo "no wheels for $$platform $$python"; exit 1; }; \
	done; done
	printf '%s\n' $(BUILD_REQUIREMENTS) | $(UV) pip compile --quiet --no-header --no-annotate - \
	  $(LOCK_FLAGS) $(LOCK_UPGRADE) -o build-constraints.txt
	{ printf '%s\n' \
	  '# The build tools of `make setup` (pip --build-constraint), pinned, with hashes. Written' \
	  '# by `make lock` (uv pip compile - $(LOCK_FLAGS)) from the' \
	  '# Makefile'"'"'s BUILD_REQUIREMENTS; do not edit by hand.' \
	  ''; cat build-constraints.txt; } > build-constraints.txt.tmp
	mv build-constraints.txt.tmp build-constraints.txt

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

# The manual (mkdocs.yml, docs/): --strict, so a broken link or a missing page fails.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

test: setup mosquitto postgresql lint docs
	$(BIN)/pytest -q

format: setup
	$(BIN)/ruff format edgetui agents tests
	$(BIN)/ruff check --fix edgetui agents tests

screenshots: setup
	$(BIN)/python -m edgetui.tui.screenshots --out screenshots

clean:
	rm -rf $(VENV) $(LOCK_VENV) $(STATE) .pytest_cache site
