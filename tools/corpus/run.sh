#!/usr/bin/env bash
# Runs one or more supamigrate builds over the exported corpus and prints a results table for each:
#   tools/corpus/run.sh [--shims] [--timeout SECONDS] CORPUS_DIR SUPAMIGRATE [SUPAMIGRATE ...]
# CORPUS_DIR holds one directory per project of projects.tsv with the project's supabase/ folder only
# (`python3 tools/corpus/corpus.py export --corpus CORPUS_DIR`); their code is never committed here.
# SUPAMIGRATE is a build's console script, e.g. /work/wt-x/.venv/bin/supamigrate; its results go to
# CORPUS_DIR/out/<x>[-shims]/ (one JSON and the raw outputs per project), each build with a cache of
# its own. --shims switches on, in a copy's supamigrate.toml, the build's shims for the extensions a
# project creates. Everything runs under `nice`, each command under a time-out (default 600 s).
set -u
here=$(cd "$(dirname "$0")" && pwd)
flags=(); suffix=""
while [ $# -gt 0 ]; do
  case "$1" in
    --shims) flags+=(--shims); suffix="-shims"; shift ;;
    --timeout) flags+=(--timeout "$2"); shift 2 ;;
    *) break ;;
  esac
done
corpus=$(cd "${1:?usage: run.sh [--shims] [--timeout S] CORPUS_DIR SUPAMIGRATE...}" && pwd); shift
[ $# -gt 0 ] || { echo "usage: run.sh [--shims] [--timeout S] CORPUS_DIR SUPAMIGRATE..." >&2; exit 2; }
for sm in "$@"; do
  # /work/wt-x/.venv/bin/supamigrate -> wt-x: the checkout the build comes from.
  label=$(basename "$(cd "$(dirname "$sm")/../.." && pwd)")$suffix
  out="$corpus/out/$label"
  python3 "$here/corpus.py" run --corpus "$corpus" --supamigrate "$sm" --out "$out" "${flags[@]}" >&2
  python3 "$here/corpus.py" table "$out" --title "$label ($(git -C "$(dirname "$sm")/../.." rev-parse --short HEAD 2>/dev/null || echo '?'))"
  echo
done
left=$(pgrep -a -x postgres | grep -F "$corpus/" || true)
[ -z "$left" ] || { echo "servers of this run still running:" >&2; echo "$left" >&2; exit 1; }
