# The README's two commands: `make check` (the main job) and `make test` (the test suite).
# Every target bootstraps .venv itself, so both work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup check test lint typecheck new dump bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

## setup: create .venv with supamigrate and its dev tools installed
setup: $(STAMP)

## check: lint, then apply stub + migrations + seed to an ephemeral PostgreSQL and report
check: $(STAMP)
	$(BIN)/supamigrate check

## test: the whole test suite (schema, security and toolkit tests)
test: $(STAMP)
	$(BIN)/python -m pytest

## lint: sqlfluff and the Supabase rules on supabase/
lint: $(STAMP)
	$(BIN)/sqlfluff lint supabase/

## typecheck: ruff and mypy on the toolkit
typecheck: $(STAMP)
	$(BIN)/ruff check src tests
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
