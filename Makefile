# One-command entry points. Both create .venv first (scripts/bootstrap) and need nothing but a
# Python >= 3.12 on the machine; set DATABASE_URL / CELERY_BROKER_URL to use PostgreSQL / Redis.
#
#   make run                      web app + Celery worker + beat on http://127.0.0.1:8000/
#   make run PORT=8001
#   make test                     the whole test suite
#   make test ARGS="-k notice -x" extra pytest arguments
#   make lint                     ruff check, format check and mypy (django-stubs)
#   make system-deps              as root: install the Debian packages (PDF fonts, Pango)

PORT ?= 8000
ARGS ?=

.PHONY: help run test venv lint system-deps clean

help:
	@sed -n 's/^#   //p' Makefile

run:
	@bash scripts/run --port $(PORT)

test: venv
	@.venv/bin/pytest $(ARGS); code=$$?; \
	if [ $$code -eq 5 ]; then echo "make test: pytest collected no tests (exit 5); that is a failure"; fi; \
	exit $$code

venv:
	@bash scripts/bootstrap

lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

system-deps:
	bash scripts/system-deps.sh install

# Removes the virtualenv only; var/ holds the local database, admin password and mail.
clean:
	rm -rf .venv
