#!/usr/bin/env bash
# The one test command (README, and CI's .ci/run call it). Runs the whole workspace test suite:
# unit tests, each port's conformance suite against the embedded adapters, the workers' pipeline
# tests and the end-to-end tests over real HTTP.
#
# The embedded profile needs no external service. (The distributed profile's servers — Postgres,
# Valkey, FalkorDB, a Kafka-protocol broker, Chromium — are installed and started here once their
# adapters exist; see data-layer/README.md.)
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test (workspace) =="
cargo test --workspace --locked --no-fail-fast "$@"
