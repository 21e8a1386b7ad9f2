#!/usr/bin/env bash
# Runs every test. Installs Chromium, its driver and an OIDC provider when missing (the console's
# browser tests: scripts/browser-up.sh), and moto (local AWS) into .venv, starts it on a free
# loopback port (and pyspnego, the NTLM acceptor the Windows-authentication tests run), renders
# the CloudFormation template and builds the Lambda binaries in the dev profile
# (the runtime-protocol tests need both; dev shares the test build's dependencies), runs the whole cargo test suite, and stops moto, also
# when tests fail.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -p opsbell-core`, or `-- name`).
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p target
# Chromium, its driver and the OIDC provider for the console's browser tests.
source scripts/browser-up.sh

# moto, the rendered template and the five Lambda binaries (dev profile: see stack-up.sh).
export OPSBELL_LAMBDA_PROFILE=${OPSBELL_LAMBDA_PROFILE:-dev}
source scripts/stack-up.sh

# The AWS tests are #[ignore]d so that a plain `cargo test` (no moto) lists them as ignored;
# here the emulator is up, so they run. Extra test-binary arguments go after ours.
args=("$@")
if [[ " ${args[*]} " == *" -- "* ]]; then
  cargo test --workspace --locked "${args[@]}" --include-ignored
else
  cargo test --workspace --locked "${args[@]}" -- --include-ignored
fi
