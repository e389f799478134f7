#!/usr/bin/env bash
# The steady-state hourly job against D days of history (BENCHMARKS.md,
# issue 13): this repo's project (project.yml, models, macros, seeds,
# tests/sql) on a fresh copy under /tmp, with the embedded lake and no
# services, fed by `lake generate` at $SESSIONS sessions per hour (default
# 2,000: ~16k page views per hour, seed 1) from 2024-05-01T00:00.
#
# For each D: D*24 hours generated and landed by ONE catch-up
# `lake run --schedule hourly` (the copy's extract `max-hours: 24` raised to
# D*24), then 3 steady-state rounds of one new hour + `lake run --schedule
# hourly` (wall seconds and peak RSS by /usr/bin/time), then one more new
# hour run with `--full-refresh` (every model rebuilt over the whole history,
# the cost before issue 13).
#
# Usage: bash benches/support/history.sh [D ...]     (default: 1 7 30)
#   e.g. SESSIONS=100 bash benches/support/history.sh 1   (a smoke test)
# Prints one markdown table row per D; progress and failures go to stderr,
# and a failed lake command puts FAILED in its cells.
# $LAKE picks the binary (default: the release build in $CARGO_TARGET_DIR,
# else ./target); it is copied to a temp file first, so a rebuild during the
# benchmark cannot swap it. $SESSIONS sets sessions per hour; $KEEP keeps
# each /tmp copy (its path goes to stderr) instead of deleting it.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
SESSIONS=${SESSIONS:-2000}
ROUNDS=3
START_EPOCH=$(date -u -d '2024-05-01 00:00 UTC' +%s)
EXT_DIR=${LAKE_EXTENSION_DIR:-$HOME/.lake/extensions}
BIN=$(mktemp /tmp/lake-history-bin.XXXXXX)
d=
cleanup() {
  rm -f "$BIN"
  if [ -n "$d" ] && [ -d "$d" ]; then
    if [ -n "${KEEP:-}" ]; then echo "kept $d" >&2; else rm -rf "$d"; fi
  fi
}
trap cleanup EXIT
cp "${LAKE:-${CARGO_TARGET_DIR:-$REPO/target}/release/lake}" "$BIN"
chmod +x "$BIN"

fresh() {  # a fresh copy of the project: no lake, no target, no landing
  local d; d=$(mktemp -d /tmp/lake-history.XXXXXX)
  cp -r "$REPO"/project.yml "$REPO"/models "$REPO"/macros "$REPO"/seeds "$d"/
  mkdir -p "$d"/tests "$d"/home && cp -r "$REPO"/tests/sql "$d"/tests/
  echo "$d"
}
measure() {  # "wall_seconds peak_rss_kb" of one lake command in $d, or FAILED
  local log="$d/out.$RANDOM" tf="$d/time.$RANDOM"
  if ! ( cd "$d" && env -u LAKE_PROJECT_DIR -u LAKE_PROFILES_DIR HOME="$d/home" \
      LAKE_EXTENSION_DIR="$EXT_DIR" NO_COLOR=1 \
      /usr/bin/time -o "$tf" -f '%e %M' "$BIN" "$@" ) > "$log" 2>&1; then
    echo "FAILED: lake $*" >&2; tail -20 "$log" >&2; echo FAILED; return
  fi
  tail -1 "$tf"
}
hour() {  # the N-th hour after the start, as lake generate's --start
  date -u -d "@$((START_EPOCH + $1 * 3600))" +%Y-%m-%dT%H:%M
}
generate() {  # source files of $2 hours from hour number $1 (failures: stderr)
  measure generate --to data/source --start "$(hour "$1")" --hours "$2" \
    --sessions-per-hour "$SESSIONS" --seed 1 > /dev/null
}
secs() { [ "$1" = FAILED ] && echo FAILED || echo "${1%% *}"; }
mb() { [ "$1" = FAILED ] && echo FAILED || echo "${1##* }" | awk '{printf "%.0f", $1 / 1024}'; }
median() {  # of the numbers given, FAILED if any is not a number
  printf '%s\n' "$@" | sort -g | awk '!/^[0-9.]+$/ { bad = 1 } { a[NR] = $1 }
    END { if (bad) { print "FAILED"; exit }
          printf "%.2f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
maximum() { printf '%s\n' "$@" | awk '!/^[0-9.]+$/ { bad = 1 } $1 > m { m = $1 }
  END { print bad ? "FAILED" : m }'; }

history() {  # one table row: D days of history, then the steady state
  local days=$1 hours=$(($1 * 24)) r catchup i walls=() rss=()
  d=$(fresh)
  sed -i "s/max-hours: 24$/max-hours: $hours/" "$d"/project.yml
  grep -q "max-hours: $hours$" "$d"/project.yml || { echo "FAILED: max-hours not raised" >&2; exit 1; }
  generate 0 "$hours"
  r=$(measure run --schedule hourly); catchup=$(secs "$r")
  echo "$days d: catch-up of $hours hours: $r (s, KB)" >&2
  for i in $(seq 1 "$ROUNDS"); do
    generate $((hours + i - 1)) 1
    r=$(measure run --schedule hourly)
    walls+=("$(secs "$r")"); rss+=("$(mb "$r")")
    echo "$days d: steady round $i: $r (s, KB)" >&2
  done
  generate $((hours + ROUNDS)) 1
  r=$(measure run --schedule hourly --full-refresh)
  echo "$days d: --full-refresh: $r (s, KB)" >&2
  echo "| $days days | $catchup | $(median "${walls[@]}") | $(maximum "${rss[@]}") | $(secs "$r") | $(mb "$r") |"
  if [ -n "${KEEP:-}" ]; then echo "kept $d" >&2; else rm -rf "$d"; fi
  d=
}

echo "| history ($SESSIONS sessions/hour) | catch-up s | steady median s ($ROUNDS rounds) | steady peak RSS MB (max) | full-refresh s | full-refresh RSS MB |"
echo "|---|---:|---:|---:|---:|---:|"
[ $# -gt 0 ] || set -- 1 7 30
for days in "$@"; do history "$days"; done
