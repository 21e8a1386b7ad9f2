#!/usr/bin/env bash
# Issue 15's flood benchmark: 500 jobs fault within 10 s into `opsbell serve` (default flood
# control), and a Slack fake takes one message a second (429 with Retry-After beyond). Prints how
# many messages Slack received, how many 429s, when the last job was visible, and whether every
# job was counted. Aim: <= 20 messages, <= 5 429s, everything visible within 90 s.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p opsbell --bin opsbell --example flood
OPSBELL_BIN=target/release/opsbell target/release/examples/flood
