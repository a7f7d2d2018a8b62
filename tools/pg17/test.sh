#!/usr/bin/env bash
# The suite on PostgreSQL 17 (`make test-pg17`; arguments go to pytest).
#
# Installs 17 with install.sh, or takes PG17_BIN (e.g. /usr/lib/postgresql/17/bin from
# apt.postgresql.org). The tests marked with a C extension's name (pyproject's markers) are
# deselected, each with the reason printed, where that install lacks the extension; every other
# test runs, and none is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-.venv/bin/python}
bin=${PG17_BIN:-$(PYTHON=$PYTHON tools/pg17/install.sh)}
[ -x "$bin/postgres" ] || { echo "test-pg17: no PostgreSQL server in $bin" >&2; exit 1; }
version=$("$bin/postgres" --version)
major=$(echo "$version" | sed -E 's/^[^0-9]*([0-9]+).*/\1/')
share=$("$PYTHON" -c 'import sys; from pathlib import Path; from supamigrate.server import sharedir
print(sharedir(Path(sys.argv[1])))' "$bin")
echo "test-pg17: $version in $bin"

expr=""
for pair in pg_cron:cron plpgsql_check:plpgsql-check; do
  ext=${pair%%:*}
  package=postgresql-$major-${pair#*:}
  if [ ! -f "$share/extension/$ext.control" ]; then
    echo "test-pg17: deselecting the tests marked $ext: this PostgreSQL $major has no $ext, a C" \
      "extension built for each major that the registry packages do not carry; with $package" \
      "(apt.postgresql.org) installed and PG17_BIN=/usr/lib/postgresql/$major/bin they run"
    expr="${expr:+$expr and }not $ext"
  fi
done
[ -f "$share/extension/pgtap.control" ] \
  || echo "test-pg17: no pgTAP in $share: install postgresql-15-pgtap and run tools/pg17/install.sh again"

# SUPAMIGRATE_PG_BIN for the faces (CLI, plugin, their subprocesses); PATH for the tests that start
# a server with no major to look for (binaries.find_bindir tries pg_ctl on PATH first then).
export SUPAMIGRATE_PG_BIN=$bin PATH="$bin:$PATH"
# PYTEST_ADDOPTS, not -m: the suite's own inner pytest runs (test_sessions) deselect the same.
[ -z "$expr" ] || export PYTEST_ADDOPTS="${PYTEST_ADDOPTS:-} -m '$expr'"
exec "$PYTHON" -m pytest "$@"
