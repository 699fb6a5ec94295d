# Two commands for a newcomer:  `make demo` serves the portal with demo data, `make test` runs every check.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := demo

PYTHON ?= $(shell command -v python3.13 2>/dev/null || pyenv which python3.13 2>/dev/null || echo python3.13)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
PG_USER ?= postgres
REDIS_URL ?= redis://127.0.0.1:6379

# The demo: embedded SQLite, Celery tasks eager in-process, the test identification page switched on.
DEMO_ENV := DEBUG=1 KANTA_HTTPS=0 TEST_IDENTIFICATION=1
# The tests: real PostgreSQL and Redis; a throwaway key for this run only.
TEST_ENV := KANTA_HTTPS=0 TEST_IDENTIFICATION=1 STATIC_MANIFEST=0 \
	DATABASE_URL=postgres://$(PG_USER)@$(PG_HOST):$(PG_PORT)/kanta \
	CELERY_BROKER_URL=$(REDIS_URL)/14 \
	SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')

.PHONY: demo test install services browser lint messages clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

messages: install
	$(DEMO_ENV) $(BIN)/python manage.py compilemessages --ignore=.venv -v 0

demo: install messages
	$(DEMO_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	$(DEMO_ENV) $(BIN)/python manage.py demo_data
	$(DEMO_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000

# PostgreSQL and Redis: start them when installed but stopped, install them with apt when absent.
services:
	@if ! command -v pg_ctlcluster >/dev/null; then apt-get update -q && apt-get install -y -q postgresql; fi
	@if ! pg_isready -q -h $(PG_HOST) -p $(PG_PORT); then \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | sort -V | tail -1) main start; \
		for i in $$(seq 30); do pg_isready -q -h $(PG_HOST) -p $(PG_PORT) && break; sleep 1; done; fi
	@if ! command -v redis-server >/dev/null; then apt-get update -q && apt-get install -y -q redis-server; fi
	@if ! redis-cli -u $(REDIS_URL) ping >/dev/null 2>&1; then \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
		for i in $$(seq 30); do redis-cli -u $(REDIS_URL) ping >/dev/null 2>&1 && break; sleep 1; done; fi

# Debian's Chromium for the browser tests; Playwright drives it, never a downloaded browser.
browser:
	@if ! test -x /usr/bin/chromium; then apt-get update -q && apt-get install -y -q chromium chromium-driver; fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install services browser lint messages
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run -v 1
	$(TEST_ENV) $(BIN)/pytest --create-db $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var staticfiles
