#!/usr/bin/env bash
# The hourly job's wall time in one commit mode, each case on a fresh copy
# of this repo's project (project.yml, models, macros, seeds, tests/sql) under
# /tmp, with the embedded lake and no services (BENCHMARKS.md, issue 12).
# Usage: bash benches/support/hourly.sh MODE   (MODE: run | per-node)
# Prints "case seconds" lines. $LAKE picks the binary (default: the release
# build in $CARGO_TARGET_DIR, else ./target).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
LAKE=${LAKE:-${CARGO_TARGET_DIR:-$REPO/target}/release/lake}
mode=$1
fresh() {  # a fresh copy of the project: no lake, no target, no landing
  local d; d=$(mktemp -d /tmp/lake-hourly.XXXXXX)
  cp -r "$REPO"/project.yml "$REPO"/models "$REPO"/macros "$REPO"/seeds "$d"/
  mkdir -p "$d"/tests "$d"/home && cp -r "$REPO"/tests/sql "$d"/tests/
  echo "$d"
}
t() {  # wall seconds of one lake command in $d, as the tests start lake
  local s e log="$d/out.$RANDOM"; s=$(date +%s.%N)
  if ! ( cd "$d" && env -u LAKE_PROJECT_DIR -u LAKE_PROFILES_DIR HOME="$d/home" \
      LAKE_EXTENSION_DIR="${LAKE_EXTENSION_DIR:-$HOME/.lake/extensions}" NO_COLOR=1 \
      "$LAKE" "$@" ) > "$log" 2>&1; then
    echo "FAILED: lake $*" >&2; tail -20 "$log" >&2; echo FAILED; return
  fi
  e=$(date +%s.%N); echo "$e - $s" | bc
}
# 1. README command 1: the three committed sample hours on a fresh lake,
#    then the same job again (nothing new to load; stage and mart rebuilt).
d=$(fresh); cp -r "$REPO"/data "$d"/
echo "sample-3h $(t run --schedule hourly --commit "$mode")"
echo "sample-again $(t run --schedule hourly --commit "$mode")"
rm -rf "$d"
# 2. The 2026-11-30 "hourly job" section: 24 generated hours (2,000
#    sessions/hour, seed 1) caught up on a fresh lake, then one new hour.
d=$(fresh)
t generate --to data/source --start 2024-05-01T00:00 --hours 24 --sessions-per-hour 2000 --seed 1 >/dev/null
echo "catch-up-24h $(t run --schedule hourly --commit "$mode")"
t generate --to data/source --start 2024-05-02T00:00 --hours 1 --sessions-per-hour 2000 --seed 1 >/dev/null
echo "steady-1h $(t run --schedule hourly --commit "$mode")"
rm -rf "$d"
