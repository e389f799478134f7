#!/usr/bin/env bash
# The dbt conformance harness (issue 14): builds each dbt project folder
# twice, unchanged, with dbt-core + dbt-duckdb (`dbt build` into a DuckDB
# file) and with lake (`lake build` into the embedded DuckLake), and
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
for project in "$@"; do
  project=$(cd "$project" && pwd)
  name=$(basename "$project")
  work=$(mktemp -d "/tmp/lake-conformance-$name.XXXXXX")
  cp -r "$project" "$work/dbt"
  cp -r "$project" "$work/lake"
  rm -f "$work/dbt/expected.json" "$work/lake/expected.json"
  profile=$(sed -n "s/^profile: *['\"]\{0,1\}\([A-Za-z0-9_]*\).*/\1/p" "$project/dbt_project.yml")
  printf '%s:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: dbt.duckdb\n      threads: 1\n' \
    "$profile" > "$work/dbt/profiles.yml"
  (cd "$work/dbt" && "$VENV/bin/dbt" build --profiles-dir .) > "$work/dbt.log" 2>&1 || true
  (cd "$work/lake" && env -u LAKE_PROJECT_DIR -u LAKE_PROFILES_DIR HOME="$work/home" \
    LAKE_EXTENSION_DIR="$EXT_DIR" NO_COLOR=1 "$LAKE" build) > "$work/lake.log" 2>&1 || true
  "$VENV/bin/python" "$REPO/tests/dbt/relations.py" duckdb "$work/dbt/dbt.duckdb" > "$work/dbt.json"
  LAKE_EXTENSION_DIR="$EXT_DIR" "$VENV/bin/python" "$REPO/tests/dbt/relations.py" ducklake "$work/lake" > "$work/lake.json"
  if diff -u --label "dbt: $name" --label "lake: $name" "$work/dbt.json" "$work/lake.json"; then
    echo "$name: lake and dbt agree ($(grep -c '"kind"' "$work/dbt.json") relations)"
    agreed=1
  else
    echo "$name: DIFFERENT (logs: $work/dbt.log, $work/lake.log)"; failed=1
  fi
  if [ -n "$record" ]; then cp "$work/dbt.json" "$project/expected.json"; echo "recorded $project/expected.json"; fi
  if [ -n "${agreed:-}" ]; then rm -rf "$work"; fi
  agreed=
done
exit $failed
