#!/usr/bin/env bash
# Benchmarks the ingest path of `opsbell serve`: wrk posts a signed ~1 KB job.faulted body to
# POST /webhook/orchestrator (signature check, parse, durable group-committed enqueue to SQLite)
# while the dispatcher drains the outbox. Prints wrk's req/s and latency percentiles, and serve's
# peak RSS.
# Needs wrk (Debian package `wrk`). Usage: scripts/bench-ingest.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-64}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

cargo build --release --locked -p opsbell
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

secret=bench-secret
# Events go to a console channel whose route matches nothing, so delivery costs only the
# dispatcher's bookkeeping and the numbers are those of the ingest path.
cat >"$work/config.json" <<JSON
{ "webhook": { "orchestrator": { "secret": "$secret" } },
  "channels": { "console": { "type": "console" } },
  "routes": [ { "name": "none", "channels": ["console"], "states": ["resumed"] } ] }
JSON
python3 - "$work/body.json" <<'PY'
import json, sys
body = json.load(open("samplejson/uipath-webhook-job-faulted.json"))
body["Job"]["Info"] = body["Job"]["Info"][:520]
open(sys.argv[1], "w").write(json.dumps(body, separators=(",", ":")))
PY
sig=$(target/release/opsbell sign --secret "$secret" "$work/body.json")
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = io.open("$work/body.json"):read("*a")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-UiPath-Signature"] = "$sig"
LUA

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUST_LOG=warn target/release/opsbell serve --config "$work/config.json" --db "$work/bench.db" \
  --listen "127.0.0.1:$port" >/dev/null 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

echo "body: $(wc -c <"$work/body.json") bytes, ${duration}s, $connections connections, $(nproc) cores"
curl -sf -XPOST "http://127.0.0.1:$port/webhook/orchestrator" -H "X-UiPath-Signature: $sig" \
  --data-binary @"$work/body.json"; echo
wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$work/post.lua" "http://127.0.0.1:$port/webhook/orchestrator"
echo "outbox after the run: $(curl -sf "http://127.0.0.1:$port/healthz")"
echo "serve peak RSS: $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' "/proc/$pid/status")"
