#!/usr/bin/env bash
# The one test command (README, and CI's .ci/run call it). It installs and starts every server the tests
# need (data-layer/local: Postgres, Valkey, FalkorDB, a Kafka-protocol broker, chromedriver + Chromium),
# runs the whole workspace suite with every feature — unit tests, each port's conformance suite against
# the embedded AND the real adapters, the workers' pipeline tests, the end-to-end tests — stops the
# servers, and prints one summary line.
#
# Installing needs root (apt) the first time; later runs skip what is installed. Set ARGUS_SERVICES_DIR to
# keep the servers' data elsewhere than /tmp/argus-services.
set -euo pipefail
cd "$(dirname "$0")/.."

bash data-layer/local/install.sh
services_dir=${ARGUS_SERVICES_DIR:-/tmp/argus-services}
export ARGUS_SERVICES_DIR=$services_dir
log=$(mktemp)
cleanup() {
  bash data-layer/local/down.sh || true
  rm -f "$log"
}
trap cleanup EXIT
bash data-layer/local/up.sh
# shellcheck source=/dev/null
source "$services_dir/env.sh"
# Every server test runs: a missing server is a failure, not a skip.
export ARGUS_REQUIRE_SERVICES=1

echo "== cargo test (workspace, all features) =="
status=0
cargo test --workspace --all-features --locked --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?

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
