#!/usr/bin/env bash
# The console's page times: Now and History with 100,000 events in SQLite and in DynamoDB on
# moto (tests/examples/console_pages.rs), p50 and p99 of each page over N renders (M on moto,
# whose every Query reads the whole table), and the store requests each page makes.
# Usage: scripts/bench-console.sh [events] [renders] [moto renders]   (defaults 100000, 30, 5)
set -euo pipefail
cd "$(dirname "$0")/.."
export OPSBELL_SKIP_LAMBDAS=1
source scripts/stack-up.sh
cargo build --release --locked -p opsbell-tests --example console_pages
"${CARGO_TARGET_DIR:-target}/release/examples/console_pages" "${1:-100000}" "${2:-30}" "${3:-5}"
