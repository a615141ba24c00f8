# 西双版纳州安全生产信息公开与举报平台 — developer commands.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
export FLASK_APP := portal

.PHONY: install install-test run test lint bench clean translations extract-messages

# The interface's translations (portal/translations/<lang>/LC_MESSAGES/messages.po, in the
# repository) are compiled to .mo files by every install, so a fresh checkout serves every
# language; an edited .po is compiled again by the next make install / run / test.
PO_FILES := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

install: $(STAMP) $(MO_FILES)

install-test: $(TEST_STAMP) $(MO_FILES)

%.mo: %.po | $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

translations: $(MO_FILES)

# New or changed interface strings: extract them from portal/ and templates/ (babel.cfg) and
# merge them into each language's catalog; then translate, `make translations`, test.
extract-messages: install
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-by-file -k lazy_gettext -k _l -k lazy_ngettext:1,2 \
		-o portal/translations/messages.pot --project "xsbn-safety-portal" .
	$(BIN)/pybabel update --no-fuzzy-matching -i portal/translations/messages.pot -d portal/translations

# First run: create the database, load the demo data set and the index, create a demo admin.
run: install
	@mkdir -p -m 700 instance
	PORTAL_ENV=demo $(BIN)/flask init-db
	@if [ ! -f instance/.demo-loaded ]; then \
		PORTAL_ENV=demo $(BIN)/flask demo && touch instance/.demo-loaded; \
	fi
	@PORTAL_ENV=demo $(BIN)/flask demo-staff
	PORTAL_ENV=demo $(BIN)/flask run --host $(HOST) --port $(PORT)

# The whole suite on SQLite, then again on PostgreSQL when PORTAL_TEST_POSTGRES_URL is set
# (.ci/run sets it).  The smoke runs of bench/ (marker `bench`, tests/test_bench.py) run once,
# in the first pass: they use PORTAL_TEST_POSTGRES_URL's server themselves.  Browser tests skip with a reason where /usr/bin/chromium is missing.
# pytest-xdist runs one worker per core (TEST_WORKERS=0 runs in one process); on PostgreSQL
# each worker has a database of its own.  The second pass runs only the tests that request the
# fixture test_database (tests/conftest.py; the others would do there what they did in the first).
TEST_WORKERS ?= auto
test: install-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS)
	@if [ -n "$$PORTAL_TEST_POSTGRES_URL" ]; then \
		echo "== the suite again on PostgreSQL =="; \
		PORTAL_TEST_DATABASE_URL="$$PORTAL_TEST_POSTGRES_URL" $(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not browser and not bench"; \
	fi

lint: install-test
	$(BIN)/ruff check .

bench: install-test
	$(BIN)/python bench/search.py

clean:
	rm -rf $(VENV) instance .pytest_cache
