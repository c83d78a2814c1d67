#!/usr/bin/env bash
# ab.sh compares bot builds under the same load, alternating them so that the
# shared machine's moods fall on both (docs/BENCHMARKS.md, fourth round).
#
#   cmd/loadtest/scripts/ab.sh "-users 1000 -baseline 0 -broadcast 0 -open 0" /tmp/old/dostyq /tmp/new/dostyq
#
# Each binary runs twice, in turn, as its own process (-bin); a line per run
# gives the load average before it, Redis' CPU seconds during it (read from
# /proc, so that Redis must run on this machine) and the load tool's summary row.
# LOADTEST is the load tool binary (default: go run ./cmd/loadtest).
set -euo pipefail
: "${REDIS_URL:?set REDIS_URL (a database the runs may fill)}"
args=$1
shift
lt=(${LOADTEST:-go run ./cmd/loadtest})
# The Redis at REDIS_URL, by its own word (INFO's process_id).
rp=$(redis-cli -u "$REDIS_URL" info server | tr -d '\r' | awk -F: '$1 == "process_id" {print $2}')
cpu() { awk '{print $14+$15}' "/proc/$rp/stat"; }
for round in 1 2; do
  for b in "$@"; do
    r0=$(cpu)
    # shellcheck disable=SC2086
    row=$("${lt[@]}" -bin "$b" $args 2>&1 | grep -E '^ +bot ' || true)
    r1=$(cpu)
    echo "$b round=$round load=$(cut -d' ' -f1 /proc/loadavg) redis_cpu_s=$(awk -v a="$r0" -v b="$r1" 'BEGIN{printf "%.2f", (b-a)/100}') | $row"
  done
done
