# Imigrasi: `make run` serves the portal on an embedded default, `make test` runs the suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
BENCH  ?= all
STAMP  := $(VENV)/.installed

# Django 6.1 needs Python >= 3.12. pyenv shims answer for versions that are
# installed but not selected, so each candidate is run, not just looked up.
PYTHON ?= $(shell for c in python3.13 python3.12 \
	$$HOME/.pyenv/versions/3.13*/bin/python3.13 $$HOME/.pyenv/versions/3.12*/bin/python3.12 \
	/usr/bin/python3.13 /usr/bin/python3.12; do \
	  $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo $$c; break; }; \
	done)

export DJANGO_SETTINGS_MODULE := imigrasi.settings

.PHONY: help install system-deps run serve test lint check security bench lock messages clean

help:
	@echo "make run    - set up and serve the portal on http://127.0.0.1:$(PORT) (SQLite, tasks inline)"
	@echo "make test   - set up and run the whole suite (PostgreSQL + Redis when reachable; required in CI)"
	@echo "make install, make serve, make bench [BENCH=home], make lint, make security, make lock, make clean"

system-deps:
	@missing=""; \
	command -v msgfmt >/dev/null 2>&1 || missing="$$missing gettext"; \
	for lib in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; do \
	  dpkg -s $$lib >/dev/null 2>&1 || missing="$$missing $$lib"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing system packages:$$missing"; \
	    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "Missing system packages:$$missing (install them with your package manager)"; exit 1; fi; \
	fi

$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is required (python3.13/python3.12 not found)."; exit 1; }
	@test -x $(PY) || { echo "Creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

messages: $(STAMP) system-deps
	@DEV_KEYS=true $(PY) manage.py compilemessages --ignore '.venv' --ignore 'node_modules' -v 0

install: system-deps $(STAMP) messages
	@mkdir -p var

run: install
	DEBUG=true $(PY) manage.py migrate --no-input -v 0
	DEBUG=true $(PY) manage.py seed_demo
	DEBUG=true $(PY) manage.py seed_demo_applications
	DEBUG=true $(PY) manage.py seed_demo_payments
	DEBUG=true $(PY) manage.py seed_demo_queue
	DEBUG=true $(PY) manage.py runserver 127.0.0.1:$(PORT)

# The production-like stack: gunicorn + Celery worker + beat from the Procfile.
serve: install
	@test -n "$$DATABASE_URL" && test -n "$$REDIS_URL" || { echo "make serve needs DATABASE_URL and REDIS_URL"; exit 1; }
	$(PY) manage.py migrate --no-input
	$(PY) manage.py collectstatic --no-input -v 0
	PORT=$(PORT) $(VENV)/bin/honcho start -f Procfile

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check: install
	DEV_KEYS=true $(PY) manage.py check --fail-level WARNING
	DEV_KEYS=true $(PY) manage.py makemigrations --check --dry-run

# Security lint: bandit ([tool.bandit] in pyproject.toml) and the semgrep rules kept in
# .semgrep/ (their test cases first). Offline: no metrics, no version check, and
# semgrep keeps its settings and log in var/semgrep instead of ~/.semgrep.
security: export SEMGREP_SEND_METRICS := off
security: export SEMGREP_ENABLE_VERSION_CHECK := 0
security: export SEMGREP_SETTINGS_FILE := $(CURDIR)/var/semgrep/settings.yml
security: export SEMGREP_LOG_FILE := $(CURDIR)/var/semgrep/semgrep.log
security: export SEMGREP_VERSION_CACHE_PATH := $(CURDIR)/var/semgrep/version
security: $(STAMP)
	$(VENV)/bin/bandit -c pyproject.toml -r . -q
	@mkdir -p var/semgrep
	$(VENV)/bin/semgrep test .semgrep
	$(VENV)/bin/semgrep scan --config .semgrep --metrics=off --disable-version-check --error --quiet

test: install lint check security
	$(PY) -m tests.runner

bench: install
	$(PY) -m bench.run $(BENCH)

# Regenerate requirements.lock from pyproject.toml in a throwaway venv.
lock:
	rm -rf var/lockenv && $(PYTHON) -m venv var/lockenv
	var/lockenv/bin/pip install -q --upgrade pip && var/lockenv/bin/pip install -q ".[dev]"
	var/lockenv/bin/pip freeze --exclude imigrasi > requirements.lock
	rm -rf var/lockenv build *.egg-info

clean:
	rm -rf $(VENV) var/static .pytest_cache .ruff_cache
