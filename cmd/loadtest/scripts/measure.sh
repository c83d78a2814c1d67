#!/usr/bin/env bash
# measure.sh runs every figure of issue 7's table one after another
# (docs/BENCHMARKS.md, "Where it stands now"), Redis flushed before each run.
#
#   REDIS_URL=redis://127.0.0.1:6379/5 PG=postgres://postgres@127.0.0.1:5432/dostyq_loadbin?sslmode=disable \
#     cmd/loadtest/scripts/measure.sh /tmp/m/dostyq /tmp/m/loadtest
#
# The first argument is the bot binary (build it with the Dockerfile's flags:
# go build -trimpath -ldflags="-s -w"), the second the load tool.
set -uo pipefail
: "${REDIS_URL:?set REDIS_URL to a database this script may flush}"
bin=$1
lt=$2
B=(-bin "$bin")
# The bot's executable counts in its RSS by the pages of it mapped, and how
# many a page fault maps depends on how the file came into the page cache:
# the same build peaked 4 MB higher straight from the linker than copied
# (docs/BENCHMARKS.md, eleventh round). Where this script may (root), it
# drops the page cache before each run, so that every build is read from
# disk alike.
drop_caches() {
  sync
  if [[ -w /proc/sys/vm/drop_caches ]]; then echo 1 >/proc/sys/vm/drop_caches; fi
}
run() {
  local name=$1
  shift
  drop_caches
  echo "### $name (load $(cut -d' ' -f1-3 /proc/loadavg))"
  redis-cli -u "$REDIS_URL" flushdb >/dev/null
  "$lt" "$@" 2>&1
  echo
}
run A1 "${B[@]}" -users 1000 -baseline 5s -broadcast 0 -open 0
run A2 "${B[@]}" -users 1000 -baseline 5s -broadcast 0 -open 0
run Ain1 -users 1000 -baseline 5s -broadcast 0 -open 0
run Ain2 -users 1000 -baseline 5s -broadcast 0 -open 0
run B1 "${B[@]}" -users 1000 -api-delay 50ms -baseline 5s -broadcast 0 -open 0
run B2 "${B[@]}" -users 1000 -api-delay 50ms -baseline 5s -broadcast 0 -open 0
run C1 "${B[@]}" -users 1000 -think 1s -baseline 0 -broadcast 0 -open 0 -steps
run C2 "${B[@]}" -users 1000 -think 1s -baseline 0 -broadcast 0 -open 0 -steps
run D1 "${B[@]}" -users 1000 -mode webhook -api-delay 50ms -baseline 0 -broadcast 0 -open 0
run D2 "${B[@]}" -users 1000 -mode webhook -api-delay 50ms -baseline 0 -broadcast 0 -open 0
run O "${B[@]}" -users 10 -baseline 0 -broadcast 0 -open 10000
run broadcast -users 10 -baseline 0 -broadcast 1000 -open 0
if [[ -n "${PG:-}" ]]; then
  run R1 "${B[@]}" -replicas 1 -database-url "$PG" -users 1000 -api-delay 50ms -baseline 0 -broadcast 0 -open 0
  run R2 "${B[@]}" -replicas 2 -database-url "$PG" -users 1000 -api-delay 50ms -baseline 0 -broadcast 0 -open 0
fi
