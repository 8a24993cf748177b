# The two commands: `make run` (the app on SQLite with demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint format browsers clean

# The SDK (sdk/python, package decision_trace) is installed editable with the project.
$(STAMP): pyproject.toml sdk/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ./sdk/python '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The web server and the background worker (sealing the evidence log) run together:
# Ctrl-C reaches both (one process group), and the worker is stopped when the server ends.
run: export DEBUG ?= 1
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py evidence_keygen
	$(BIN)/python manage.py seed_demo --if-empty
	@# The background worker (webhooks, emails, sealing, periodic tasks) runs beside the web server; Ctrl-C stops both.
	$(BIN)/python manage.py run_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# The whole suite on SQLite, then on PostgreSQL when DATABASE_URL points at one.
test: install browsers
	env -u DATABASE_URL $(BIN)/pytest
	@if [ -n "$$DATABASE_URL" ]; then \
		echo "== PostgreSQL: $${DATABASE_URL%%://*}://…"; \
		$(BIN)/pytest; \
	else \
		echo "DATABASE_URL is not set: the PostgreSQL run is skipped (.ci/run starts a server)."; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Browser tests drive Debian's Chromium; install it when missing (needs root).
browsers:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "Chromium is missing: run 'sudo apt-get install chromium' first." >&2; exit 1; \
		fi; \
	}

clean:
	rm -rf $(VENV) var staticfiles
