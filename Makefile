# Leadflow: `make run` serves the app with demo data, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format typecheck migrations-check check bench bench-rescore worker beat clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy leadflow leads scoring handoff integrations

migrations-check: $(VENV)/.installed-dev
	$(BIN)/python manage.py makemigrations --check --dry-run

check: lint typecheck migrations-check test

# Benchmarks need PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL, default database 8);
# they write docs/benchmarks/*.json. See docs/benchmarks/README.md.
bench: $(VENV)/.installed-dev
	$(BIN)/python -m tests.bench.bench_ingest $(BENCH_ARGS)
	$(BIN)/python -m tests.bench.bench_lists $(BENCH_ARGS)

# 1M leads and 10M events: about 30 minutes on 2 CPUs. Needs DATABASE_URL (a PostgreSQL server
# where it may create lf_bench_scoring) and CELERY_BROKER_URL (a Redis database it may purge).
bench-rescore: $(VENV)/.installed-dev
	$(BIN)/python -m tests.bench.rescore_bench $(BENCH_ARGS)

worker: $(VENV)/.installed
	$(BIN)/celery -A leadflow worker --loglevel=INFO

beat: $(VENV)/.installed
	$(BIN)/celery -A leadflow beat --loglevel=INFO

clean:
	rm -rf $(VENV) leadflow.sqlite3 staticfiles .pytest_cache .mypy_cache .ruff_cache
