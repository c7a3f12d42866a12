# Every target bootstraps .venv itself: a fresh machine needs nothing but Python 3.11+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export LOCALSECTION_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: help install run test test-reliability check bench soak clean messages screenshots

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install localsection with its dev tools

run: $(STAMP) ## Serve the API on SQLite (./data), printing the URL and credentials
	$(BIN)/localsection serve

test: $(STAMP) ## Run the suite (all but tests/reliability) on SQLite and, when it answers, PostgreSQL; and examples/
	$(BIN)/python -m pytest -n 2 --ignore=tests/reliability
	cd examples/sdk-integration && ../../$(BIN)/python -m pytest

test-reliability: $(STAMP) ## Run the quick reliability suite (crash, concurrency, fuzz, isolation, rate limit, scale-out)
	$(BIN)/python -m pytest -n 2 tests/reliability

check: $(STAMP) ## ruff + mypy --strict + import-linter (layer contracts in .importlinter)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy
	$(BIN)/lint-imports

BENCH_RESULTS ?= .bench-results.jsonl
bench: $(STAMP) ## Run the benchmark scripts, then issue 17's targets met/missed (figures only, never fails; 20-30 min)
	@rm -f $(BENCH_RESULTS)
	@for f in bench/bench_*.py; do echo "== $$f"; LOCALSECTION_BENCH_RESULTS=$(abspath $(BENCH_RESULTS)) $(BIN)/python $$f || exit 1; done
	@echo "== bench/summary.py"; $(BIN)/python bench/summary.py $(BENCH_RESULTS)

screenshots: $(STAMP) ## Retake the README's screenshots (docs/screenshots) with the browser tests
	LOCALSECTION_TEST_SCREENSHOTS=docs $(BIN)/python -m pytest -n 2 tests/browser

soak: $(STAMP) ## Run the reliability suites at full size (crash, concurrency, fuzz, isolation, rate limit, scale-out)
	LOCALSECTION_SOAK=1 $(BIN)/python -m pytest tests/reliability -q

LOCALES := src/localsection/webapp/locale
messages: $(STAMP) ## Extract the web app's strings and update the catalogues (then translate the new entries)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k gettext -k ngettext:1,2 -k FormError --no-location --sort-output -o $(LOCALES)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) -l uk --no-fuzzy-matching --ignore-obsolete

clean: ## Remove .venv and caches (keeps ./data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
