#!/usr/bin/env bash
# Tries one or more supamigrate builds on the projects of a corpus directory, as their teams would:
#   tools/corpus/run.sh CORPUS_DIR SUPAMIGRATE [SUPAMIGRATE ...]
# CORPUS_DIR holds one directory per project of projects.tsv, each with the project's supabase/
# folder only (e.g. `git --git-dir=<snapshot> archive <commit> supabase | tar -x -C CORPUS_DIR/<name>`);
# their code is never committed here. SUPAMIGRATE is the path of a build's console script, e.g.
# .venv/bin/supamigrate; each build gets a cache of its own. Raw outputs go to
# CORPUS_DIR/out/<build>/<project>/, one summary line per run to stdout. Nothing outside the
# ephemeral servers the tool starts itself is touched.
set -u
corpus=$(cd "${1:?usage: run.sh CORPUS_DIR SUPAMIGRATE...}" && pwd); shift
[ $# -gt 0 ] || { echo "usage: run.sh CORPUS_DIR SUPAMIGRATE..." >&2; exit 2; }
n=0
for sm in "$@"; do
  n=$((n + 1)); build="build$n"
  export SUPAMIGRATE_CACHE_DIR="$corpus/cache-$build"
  for project in "$corpus"/*/supabase; do
    project=${project%/supabase}; name=$(basename "$project"); out="$corpus/out/$build/$name"
    mkdir -p "$out"
    for cmd in "check --format json" "lint --format json" "dump --check"; do
      tag=${cmd%% *}
      # shellcheck disable=SC2086  # the command's words are meant to split
      timeout 300 "$sm" $cmd --project-dir "$project" >"$out/$tag.out" 2>"$out/$tag.err"
      echo $? >"$out/$tag.rc"
    done
    echo "$build $name: check=$(cat "$out/check.rc") lint=$(cat "$out/lint.rc") dump=$(cat "$out/dump.rc")"
  done
done
left=$(pgrep -a -x postgres | grep -F "$corpus/" || true)
[ -z "$left" ] || { echo "servers of this run still running:"; echo "$left"; exit 1; }
