# Two commands on a fresh machine with python3, make and git: `make run` and `make test` (set-up included).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CHROMIUM ?= /usr/bin/chromium
INITDB ?= /usr/lib/postgresql/15/bin/initdb

.PHONY: run test setup lint typecheck pytest chromium postgresql wrk bench bench-faults clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/pipeline-recorder serve

# The browser tests drive Debian's chromium (never `playwright install`): install it when missing and we can.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "chromium is missing: installing Debian's chromium package"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "error: the browser tests need Debian's chromium at $(CHROMIUM); install it with 'apt-get install chromium' (as root)"; exit 1; \
	  fi; \
	fi

# The shared-store tests start their own PostgreSQL cluster from Debian's postgresql: install it when missing.
postgresql:
	@if [ ! -x $(INITDB) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "PostgreSQL is missing: installing Debian's postgresql package"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else \
	    echo "error: the shared-store tests need Debian's PostgreSQL at $(INITDB); install it with 'apt-get install postgresql' (as root)"; exit 1; \
	  fi; \
	fi

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

pytest: setup chromium postgresql
	$(BIN)/pytest -q

test: lint pytest

# The /status benchmark uses Debian's wrk when it is there (else an in-repo asyncio load generator).
wrk:
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || \
	  echo "wrk not installed: bench/http_status.py falls back to its asyncio load generator"

# Figures of docs/PERFORMANCE.md, each printed as ratios against a baseline measured in the same run.
bench: setup wrk
	$(BIN)/python bench/save_entity.py
	$(BIN)/python bench/http_status.py
	$(BIN)/python bench/sse_latency.py
	$(BIN)/python bench/listing.py

# Fault, load and hostile-input scripts of docs/RELIABILITY.md (several minutes; root for nothing here).
bench-faults: setup
	$(BIN)/python bench/faults_kill.py
	$(BIN)/python bench/load_sse.py
	$(BIN)/python bench/faults_schemathesis.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
