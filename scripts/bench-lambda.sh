#!/usr/bin/env bash
# The Lambda benchmark: the five release binaries run as Lambda runs them, against the Runtime
# API emulator of the runtime-protocol tests (tests/examples/lambda_bench.rs), with moto and a
# local HTTP sink behind them. Prints, per function, INIT (spawn to the first `next`), the first
# invocation, the warm p50/p99 over N events and the peak RSS; then the AWS requests each
# invocation makes (counted through the IAM proxy) and what a million job events cost at
# ap-northeast-1 list prices (scripts/lambda-cost.py).
# Usage: scripts/bench-lambda.sh [events]   (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000}

source scripts/stack-up.sh
cargo build --release --locked -p opsbell-tests --example lambda_bench
report=target/lambda-bench.json
"${CARGO_TARGET_DIR:-target}/release/examples/lambda_bench" "$events" "$report"
python3 scripts/lambda-cost.py "$report"
