#!/usr/bin/env bash
# The dbt conformance harness (issue 14): builds each dbt project folder,
# unchanged, with dbt-core + dbt-duckdb (`dbt build` into a DuckDB file)
# and with lake: into the embedded DuckLake and, through the same dbt
# profile, into a plain DuckDB file; a project that ships its own
# profiles.yml is built by both tools through that profile, as cloned. It
# compares every resulting relation: names, kinds (table/view), column
# names and types, rows (as a sorted multiset of text), and every data
# test's status. Exit 1 on any difference, printed as a diff.
#
# usage: bash tests/dbt/conformance.sh [--record] [PROJECT_DIR ...]
#   default: every folder under tests/dbt/ with a dbt_project.yml.
#   --record writes dbt's results to PROJECT_DIR/expected.json, which the
#   lake half (`cargo test --test dbt`, run by .ci/run) compares against.
# dbt comes from $LAKE_DBT_VENV (default ~/.cache/lake/dbt-venv), made on
# first use from the Python registry (~40 s here); lake from $LAKE, else
# the release build in $CARGO_TARGET_DIR or ./target.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${LAKE_DBT_VENV:-$HOME/.cache/lake/dbt-venv}
LAKE=${LAKE:-${CARGO_TARGET_DIR:-$REPO/target}/release/lake}
EXT_DIR=${LAKE_EXTENSION_DIR:-$HOME/.lake/extensions}
record=
if [ "${1:-}" = --record ]; then record=1; shift; fi
if [ $# -eq 0 ]; then
  for f in "$REPO"/tests/dbt/*/dbt_project.yml; do set -- "$@" "$(dirname "$f")"; done
fi
[ -x "$LAKE" ] || { echo "no lake binary at $LAKE: cargo build --release (or set LAKE)" >&2; exit 2; }
if [ ! -x "$VENV/bin/dbt" ]; then
  echo "making $VENV (dbt-core 1.11, dbt-duckdb 1.11, duckdb 1.5.5)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'dbt-core~=1.11.0' 'dbt-duckdb~=1.11.0' duckdb==1.5.5
fi
failed=0
# compare NAME DBT_JSON LAKE_JSON: prints the diff; 1 when they differ.
compare() {
  if diff -u --label "dbt: $1" --label "lake: $1" "$2" "$3"; then
    echo "$1: lake and dbt agree ($(grep -c '"kind"' "$2") relations)"
  else
    echo "$1: DIFFERENT (logs: $work/)"; return 1
  fi
}
# lake_build DIR: lake build in DIR, a fresh HOME so no ~/.dbt or ~/.lake applies.
lake_build() {
  (cd "$1" && env -u LAKE_PROJECT_DIR -u LAKE_PROFILES_DIR -u DBT_PROFILES_DIR HOME="$work/home" \
    LAKE_EXTENSION_DIR="$EXT_DIR" NO_COLOR=1 "$LAKE" build) > "$1.log" 2>&1 || true
}
relations() { LAKE_EXTENSION_DIR="$EXT_DIR" "$VENV/bin/python" "$REPO/tests/dbt/relations.py" "$@"; }
for project in "$@"; do
  project=$(cd "$project" && pwd)
  name=$(basename "$project")
  work=$(mktemp -d "/tmp/lake-conformance-$name.XXXXXX")
  for copy in dbt lake file; do
    cp -r "$project" "$work/$copy"
    rm -f "$work/$copy/expected.json"
  done
  ok=1
  if [ -f "$project/profiles.yml" ]; then
    # As cloned: both tools read the project's own profile from its folder.
    db=$(sed -n "s/^ *path: *['\"]\{0,1\}\([^'\"]*\).*/\1/p" "$project/profiles.yml" | head -1)
    (cd "$work/dbt" && "$VENV/bin/dbt" build --profiles-dir .) > "$work/dbt.log" 2>&1 || true
    lake_build "$work/lake"
    relations duckdb "$work/dbt/$db" > "$work/dbt.json"
    relations duckdb "$work/lake/$db" > "$work/lake.json"
    compare "$name (own profile)" "$work/dbt.json" "$work/lake.json" || ok=
  else
    profile=$(sed -n "s/^profile: *['\"]\{0,1\}\([A-Za-z0-9_]*\).*/\1/p" "$project/dbt_project.yml")
    for copy in dbt file; do
      printf '%s:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dbt.duckdb\n      threads: 1\n' \
        "$profile" > "$work/$copy/profiles.yml"
    done
    (cd "$work/dbt" && "$VENV/bin/dbt" build --profiles-dir .) > "$work/dbt.log" 2>&1 || true
    lake_build "$work/lake"
    lake_build "$work/file"
    relations duckdb "$work/dbt/dbt.duckdb" > "$work/dbt.json"
    relations ducklake "$work/lake" > "$work/lake.json"
    relations duckdb "$work/file/dbt.duckdb" > "$work/file.json"
    compare "$name (embedded DuckLake)" "$work/dbt.json" "$work/lake.json" || ok=
    compare "$name (dbt's DuckDB profile)" "$work/dbt.json" "$work/file.json" || ok=
  fi
  if [ -n "$record" ]; then cp "$work/dbt.json" "$project/expected.json"; echo "recorded $project/expected.json"; fi
  if [ -n "$ok" ]; then rm -rf "$work"; else failed=1; fi
done
exit $failed
