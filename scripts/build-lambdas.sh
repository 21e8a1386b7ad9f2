#!/usr/bin/env bash
# Builds every Lambda for provided.al2023 on arm64 as dist/<function>.zip (bootstrap, the deploy
# configuration as config.json, and every file it names, at the same relative path). Installs
# cargo-lambda (with zig) into .venv when missing. OPSBELL_DEPLOY_CONFIG picks the configuration
# (default deploy/config.json); it is checked first (`opsbell check`): a secret reference outside
# the prefix the roles may read (`/opsbell/<stage>/`, OPSBELL_STAGE if set, else `${stage}`), or
# a named file that is missing or absolute, stops the build with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=$(realpath -m "${OPSBELL_VENV:-.venv}")
CONFIG=${OPSBELL_DEPLOY_CONFIG:-deploy/config.json}
FUNCTIONS=(webhook-ingest job-poller alarm-fanout oncall-caller chat-listener console)

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if [ ! -x "$VENV/bin/cargo-lambda" ]; then
  echo "Installing cargo-lambda into $VENV ..."
  "$VENV/bin/pip" install --quiet --disable-pip-version-check cargo-lambda==1.9.2
fi
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu || {
    echo "error: could not install the aarch64 target; build with --x86-64 and set architecture: x86_64" >&2
    exit 1
  }
fi
[ -f "$CONFIG" ] || { echo "error: $CONFIG not found (set OPSBELL_DEPLOY_CONFIG)" >&2; exit 1; }
stage_arg=()
[ -n "${OPSBELL_STAGE:-}" ] && stage_arg=(--stage "$OPSBELL_STAGE")
cargo run -q --locked -p opsbell -- check "${stage_arg[@]}" "$CONFIG" || {
  echo "error: $CONFIG cannot be deployed as it is (above)" >&2
  exit 1
}
mapfile -t named_files < <(cargo run -q --locked -p opsbell -- check --files-only "${stage_arg[@]}" "$CONFIG")

packages=()
for f in "${FUNCTIONS[@]}"; do packages+=(-p "$f"); done
rm -rf target/lambda dist
mkdir -p dist
PATH="$VENV/bin:$PATH" cargo lambda build --locked --profile deploy --arm64 --output-format zip "${packages[@]}"

for f in "${FUNCTIONS[@]}"; do
  # Distinct names: identical artifact names would share one S3 key and overwrite each other.
  cp "target/lambda/$f/bootstrap.zip" "dist/$f.zip"
  "$VENV/bin/python" - "dist/$f.zip" "$CONFIG" "${named_files[@]}" <<'PY'
import os, sys, zipfile
zip_path, config, files = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(zip_path, "a", zipfile.ZIP_DEFLATED) as z:
    z.write(config, "config.json")
    # Read relative to config.json, which is where the function's working folder puts them.
    for name in files:
        z.write(os.path.join(os.path.dirname(config), name), name)
PY
done
echo "Artifacts:"
for f in "${FUNCTIONS[@]}"; do
  size=$(stat -c %s "dist/$f.zip")
  printf '  dist/%s.zip  %s bytes (%s MB)\n' "$f" "$size" "$(python3 -c "print(round($size / 1048576, 2))")"
  if [ "$size" -ge $((6 * 1024 * 1024)) ]; then
    echo "error: dist/$f.zip is 6 MB or more" >&2
    exit 1
  fi
done
