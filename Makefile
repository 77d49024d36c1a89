# Two commands set up a fresh machine (README): `make demo` and `make test`.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

CASE ?= cases/calderdale-2022.yaml

.PHONY: install demo test test-core lint bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --frozen --python $(PYTHON)

demo: install
	.venv/bin/cradle replay $(CASE) --check --html out/calderdale-2022.html
	@echo "Report written to out/calderdale-2022.html"

lint: install
	.venv/bin/ruff check cradle tests bench
	.venv/bin/ruff format --check cradle tests bench

test: install
	.venv/bin/ruff check cradle tests bench
	.venv/bin/python bench/bench_rules.py --smoke
	.venv/bin/python -m pytest

bench: install
	.venv/bin/python bench/bench_rules.py

clean:
	rm -rf .venv $(TOOLS) out .pytest_cache .hypothesis .ruff_cache
