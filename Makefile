# Two commands set up a fresh machine (README): `make demo` and `make test`.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

CASE ?= cases/calderdale-2022.yaml

.PHONY: install demo test test-postgres lint bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	npm ci --silent --no-audit --no-fund

demo: install
	.venv/bin/cradle replay $(CASE) --check --quiet --html out/calderdale-2022.html
	.venv/bin/cradle demo

lint: install
	.venv/bin/ruff check cradle tests bench
	.venv/bin/ruff format --check cradle tests bench

test: install
	.venv/bin/ruff check cradle tests bench
	.venv/bin/python bench/bench_rules.py --smoke
	.venv/bin/python bench/bench_web.py --smoke
	.venv/bin/python bench/bench_synth.py --smoke
	.venv/bin/python bench/bench_partnership.py --smoke
	.venv/bin/python bench/bench_import.py --smoke
	.venv/bin/python bench/bench_link.py --smoke --new 200
	.venv/bin/python bench/bench_api_load.py --smoke
	@bash scripts/chromium.sh || { [ "$$CI" != "true" ] && echo "Chromium is not available here: the browser tests will be skipped"; }
	@bash scripts/java.sh || { [ "$$CI" != "true" ] && echo "Java is not available here: the Spark linkage test will be skipped"; }
	.venv/bin/python -m pytest
	$(MAKE) --no-print-directory test-postgres

# The database tests again, on PostgreSQL (installed and started by scripts/postgres.sh).
# Under CI=true a PostgreSQL that cannot be started fails the run; elsewhere it is skipped, saying so.
test-postgres: install
	@url=$$(bash scripts/postgres.sh) || { \
	  if [ "$$CI" = "true" ]; then echo "PostgreSQL could not be started" >&2; exit 1; fi; \
	  echo "PostgreSQL not available here: the database tests ran on SQLite only"; exit 0; }; \
	CRADLE_DATABASE_URL=$$url .venv/bin/python -m pytest tests/db

bench: install
	.venv/bin/python bench/bench_rules.py

clean:
	rm -rf .venv $(TOOLS) out .pytest_cache .hypothesis .ruff_cache
