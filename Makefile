# Bookstation — the two commands are `make run` and `make test`; the rest are helpers.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app run
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test serve seed migrate migration lint bench bench-mix clean help messages translations

help:
	@echo "make run    - install, migrate, load demo data, serve on http://$(HOST):$(PORT)"
	@echo "make test   - install test dependencies and run the whole suite"
	@echo "make serve  - production-style serving with gunicorn (set SECRET_KEY)"
	@echo "make lint   - ruff and the import contracts (docs/ARCHITECTURE.md)"
	@echo "make bench  - load-test the shop (BENCH_SIZE=demo for a quick run)"
	@echo "make bench-mix - the shop under a realistic mix of traffic (bench/realistic.py)"
	@echo "make messages - re-extract messages.pot and merge it into translations/*/messages.po"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

instance:
	@mkdir -p instance

# Translations: the .po catalogs are the source, the .mo files are build products
# compiled here (and ignored by git); `make run`, `make serve` and `make test` compile them.
PO_FILES := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
# As a module from the project root: babel.cfg names the templates' {% kept %} tag by its import path.
BABEL_EXTRACT := $(BIN)/python -m babel.messages.frontend extract -F babel.cfg -k _l -k lazy_gettext \
	--add-comments=Translators: --project=Bookstation --copyright-holder=Bookstation

%/LC_MESSAGES/messages.mo: %/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel compile -i $< -o $@

translations: $(MO_FILES)

# After marking new strings: re-extract, merge into every catalog, then translate the new or
# fuzzy entries in translations/zh_Hans/LC_MESSAGES/messages.po (tests/i18n says what is missing).
messages: $(VENV)/.installed
	$(BABEL_EXTRACT) -o messages.pot .
	$(BIN)/pybabel update -i messages.pot -d translations --no-fuzzy-matching
	$(BIN)/python scripts/i18n_fill_en.py

migrate: $(VENV)/.installed instance translations
	@$(FLASK) db upgrade

seed: migrate
	@$(FLASK) seed

run: seed
	@echo ""
	@echo "  Bookstation is at http://$(HOST):$(PORT)/"
	@echo "  Demo admin:  admin@bookstation.test / bookstation-admin   (admin area: /admin/)"
	@echo "  Demo member: reader@bookstation.test / bookstation-reader"
	@echo "  Mail is delivered to a local catcher; staff read it at /admin/mail/catcher"
	@echo "  Stop with Ctrl-C. Your data stays in instance/ for the next run."
	@echo ""
	@$(FLASK) dev --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Production mode: gunicorn (gunicorn.conf.py: WEB_CONCURRENCY sync workers, JSON logs on stdout).
# Needs SECRET_KEY; DATABASE_URL and REDIS_URL for the many-machine set-up (README).
serve: migrate
	BOOKSTATION_ENV=production HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py run:app

# Load test under gunicorn vs a bare-Flask ceiling (bench/README.md). BENCH_SIZE=demo is quick.
bench: $(VENV)/.installed-dev instance
	$(BIN)/python -m bench.run

# The realistic mix: Zipf over the catalog, both languages, members, purchases (bench/realistic.py).
bench-mix: $(VENV)/.installed-dev instance
	$(BIN)/python -m bench.realistic

# Regenerate a migration after changing models: make migration m="what changed"
migration: $(VENV)/.installed instance
	$(FLASK) db migrate -m "$(m)"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check app tests config.py run.py bench scripts
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
