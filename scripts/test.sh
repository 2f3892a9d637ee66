#!/usr/bin/env bash
# The one test command (README, and CI's .ci/run call it). Runs the whole workspace test suite:
# unit tests, each port's conformance suite against the embedded adapters, the workers' pipeline
# tests and the end-to-end tests over real HTTP, then prints one summary line.
#
# The embedded profile needs no external service. (The distributed profile's servers — Postgres,
# Valkey, FalkorDB, a Kafka-protocol broker, Chromium — are installed and started here once their
# adapters exist; see data-layer/README.md.)
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== cargo test (workspace) =="
status=0
cargo test --workspace --locked --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?

# cargo prints one "test result:" line per test binary; sum them so the run ends on one total.
awk '/^test result:/ {
       for (i = 1; i <= NF; i++) {
         if ($(i+1) ~ /^passed;?$/) passed += $i
         if ($(i+1) ~ /^failed;?$/) failed += $i
         if ($(i+1) ~ /^ignored;?$/) ignored += $i
       }
     }
     END { printf "\ntests: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$log"
exit "$status"
