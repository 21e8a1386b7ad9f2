#!/usr/bin/env bash
# The numbers of issue 8, beside the predecessors' on this machine:
#  (a) cold: one signed job.faulted through verify, parse, route, render and an HTTP POST to a
#      local sink, as a whole process (`opsbell send --signature`), beside `opsbell --version` (hyperfine -N when installed);
#  (b) warm: the same, N times in one process (`opsbell send --repeat N`), serial posts;
#  (c) `opsbell serve` under wrk (durable ingest; scripts/bench-ingest.sh's setup), then, under
#      the same wrk run, a verify-only Node listener (http.createServer + crypto.createHmac,
#      202; below), for the ingest ratio;
# each with the peak RSS of opsbell's process. The sink is nginx (or, without it, a keep-alive
# Python HTTP server) answering 200 "ok". Beside them, what bounds each aim on this machine: for
# (b) the serial round trip to the sink with no work at all (wrk, one connection), for (c) a
# server that does nothing (nginx `return 202`) under the same wrk run.
# Ratios: against the predecessor run in this same benchmark when PEER_DIR is a checkout of
# miyaichi/uipath-job-status-listener-on-aws (scripts/peer-predecessor.py: its own Slack webhook
# handler on Python 3; PEER_PYTHON, or a venv made in target/peer-venv with its requirements),
# otherwise against the predecessor's figures in the README; and the Node listener's from this
# run. The Lambda table and the cost table come from scripts/bench-lambda.sh (BENCH_LAMBDA=0
# skips it). Needs wrk for (c), node for the Node peer.
# Usage: [PEER_DIR=…] scripts/bench.sh [warm-events] [wrk-seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
warm=${1:-5000}
seconds=${2:-10}

cargo build --release --locked -p opsbell
bin=target/release/opsbell
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

sink_port=$(free_port)
idle_port=$(free_port)
# The sink: nginx answering every POST `200 ok` when it is installed (Debian: nginx-light), so
# (a) and (b) measure opsbell rather than the sink; otherwise a keep-alive Python server.
if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
  sink="nginx"
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx/pid;
error_log $work/nginx/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$sink_port; location / { return 200 "ok"; } }
  server { listen 127.0.0.1:$idle_port; location / { return 202 ""; } }
}
NGINX
  "$(command -v nginx || echo /usr/sbin/nginx)" -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
  pids+=($!)
else
  sink="keep-alive Python HTTP server"
python3 - "$sink_port" >/dev/null 2>&1 <<'PY' &
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per response, no Nagle: otherwise delayed ACKs cost ~40 ms a request.
    wbufsize = 65536
    disable_nagle_algorithm = True
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        self.wfile.flush()
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
PY
pids+=($!)
fi
for _ in $(seq 1 50); do curl -sf -XPOST "http://127.0.0.1:$sink_port/x" >/dev/null && break; sleep 0.1; done

secret=bench-secret
cat >"$work/config.json" <<JSON
{ "language": "ja", "timezone": "Asia/Tokyo",
  "webhook": { "orchestrator": { "secret": "$secret", "url": "https://cloud.uipath.com/acme/DefaultTenant" } },
  "channels": { "sink": { "type": "slack", "webhook_url": "http://127.0.0.1:$sink_port/services/T/B/x" } } }
JSON
body=samplejson/uipath-webhook-job-faulted.json
sig=$($bin sign --secret "$secret" "$body")

# (a) is timed by hyperfine without a shell (-N) when it is installed (Debian: hyperfine), so
# the figure is the process alone; otherwise by Python's subprocess, which adds its own ~1-2 ms
# of fork and exec. `opsbell --version`, timed the same way in the same run, is the floor.
floor_ms=n/a
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 5 --runs 60 --export-json "$work/cold.json" \
    "$bin --version" "$bin send --config $work/config.json --signature $sig $body" >/dev/null
  read -r floor_ms cold_hf_ms cold_hf_min < <(python3 - "$work/cold.json" <<'PY'
import json, statistics, sys
floor, send = json.load(open(sys.argv[1]))["results"]
print(f"{statistics.median(floor['times']) * 1000:.1f} {statistics.median(send['times']) * 1000:.1f} {min(send['times']) * 1000:.1f}")
PY
)
fi
python3 - "$bin" "$work/config.json" "$body" "$sig" "$warm" <<'PY'
import resource, statistics, subprocess, sys, time
bin, config, body, sig, warm = sys.argv[1:6]
cmd = [bin, "send", "--config", config, "--signature", sig, body]
times = []
for _ in range(20):
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    times.append((time.perf_counter() - t) * 1000)
    assert out.returncode == 0 and "sent (1 attempt(s))" in out.stdout, out.stdout + out.stderr
cold_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
# A fresh child for (b), so its peak is its own: run it under /usr/bin/time.
out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd[:2], "--repeat", warm, *cmd[2:]],
                     capture_output=True, text=True)
assert out.returncode == 0, out.stdout + out.stderr
rate = float(out.stdout.strip().splitlines()[-1].split(":")[1].split()[0])
warm_rss = int(out.stderr.strip().splitlines()[-1]) / 1024
with open("/tmp/opsbell-bench-ab.txt", "w") as f:
    f.write(f"cold_ms={statistics.median(times):.1f} cold_min={min(times):.1f} cold_rss={cold_rss:.1f} warm_rate={rate:.0f} warm_rss={warm_rss:.1f}\n")
PY
read -r ab </tmp/opsbell-bench-ab.txt
eval "$ab"
cold_how="Python subprocess, median of 20"
if [ -n "${cold_hf_ms:-}" ]; then
  cold_ms=$cold_hf_ms cold_min=$cold_hf_min cold_how="hyperfine -N, median of 60; opsbell --version: $floor_ms ms"
fi

# What bounds (b): serial POSTs of the same body to the sink on one kept-alive connection by wrk,
# which does nothing else. No serial sender on this machine exceeds this rate.
serial_floor=n/a
if [ "$sink" = nginx ]; then
  cat >"$work/sink.lua" <<LUA
wrk.method = "POST"
wrk.body = io.open("$body"):read("*a")
wrk.headers["Content-Type"] = "application/json"
LUA
  serial_floor=$(wrk -t1 -c1 -d3s -s "$work/sink.lua" "http://127.0.0.1:$sink_port/services/T/B/x" |
    awk '/Requests\/sec/ {printf "%.0f", $2}')
fi

# The predecessor in this run: its own webhook handler (Python 2.7 code, run on Python 3 with the
# edits scripts/peer-predecessor.py lists), same sink, same signed body.
peer_cold=n/a peer_warm=n/a
if [ -n "${PEER_DIR:-}" ]; then
  peer_python=${PEER_PYTHON:-}
  if [ -z "$peer_python" ]; then
    [ -x target/peer-venv/bin/python ] || {
      python3 -m venv target/peer-venv
      target/peer-venv/bin/pip install -q requests requests_ntlm pytz
    }
    peer_python=target/peer-venv/bin/python
  fi
  peer=("$peer_python" scripts/peer-predecessor.py "$PEER_DIR" "http://127.0.0.1:$sink_port/services/T/B/x" "$secret" "$body" "$sig")
  "${peer[@]}" 1  # fails loudly if the predecessor does not post
  if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 2 --runs 15 --export-json "$work/peer-cold.json" "${peer[*]} 1" >/dev/null
    peer_cold=$(python3 -c 'import json, statistics, sys; t = json.load(open(sys.argv[1]))["results"][0]["times"]; print(round(statistics.median(t) * 1000))' "$work/peer-cold.json")
  fi
  peer_warm=$("${peer[@]}" 2000 | awk '{print $1}')
fi

# (c) serve under wrk: scripts/bench-ingest.sh, 64 connections.
scripts/bench-ingest.sh "$seconds" 64 >"$work/ingest.txt"
rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$work/ingest.txt")
p99=$(awk '/ 99%/ {print $2}' "$work/ingest.txt")
serve_rss=$(awk '/serve peak RSS/ {print $4}' "$work/ingest.txt")

# The verify-only Node peer under the same wrk run: HMAC-SHA256 of the body against
# X-UiPath-Signature, 202, nothing stored.
node_rps=n/a
if command -v node >/dev/null; then
  node_port=$(free_port)
  cat >"$work/listener.js" <<'JS'
const http = require("http"), crypto = require("crypto");
const [port, secret] = process.argv.slice(2);
http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const want = crypto.createHmac("sha256", secret).update(body).digest();
    const got = Buffer.from(req.headers["x-uipath-signature"] || "", "base64");
    const ok = got.length === want.length && crypto.timingSafeEqual(got, want);
    res.writeHead(ok ? 202 : 401).end();
  });
}).listen(Number(port), "127.0.0.1");
JS
  node "$work/listener.js" "$node_port" "$secret" &
  pids+=($!)
  for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$node_port/" && break; sleep 0.1; done
  python3 - "$work/node-body.json" <<'PY2'
import json, sys
body = json.load(open("samplejson/uipath-webhook-job-faulted.json"))
body["Job"]["Info"] = body["Job"]["Info"][:520]
open(sys.argv[1], "w").write(json.dumps(body, separators=(",", ":")))
PY2
  node_sig=$($bin sign --secret "$secret" "$work/node-body.json")
  code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "http://127.0.0.1:$node_port/webhook/orchestrator" \
    -H "X-UiPath-Signature: $node_sig" --data-binary @"$work/node-body.json")
  [ "$code" = 202 ] || { echo "the Node listener answered $code to a signed body" >&2; exit 1; }
  cat >"$work/node.lua" <<LUA
wrk.method = "POST"
wrk.body = io.open("$work/node-body.json"):read("*a")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-UiPath-Signature"] = "$node_sig"
LUA
  node_rps=$(wrk -t2 -c64 -d"${seconds}s" -s "$work/node.lua" "http://127.0.0.1:$node_port/webhook/orchestrator" |
    awk '/Requests\/sec/ {printf "%.0f", $2}')
fi
# What bounds (c): a server that does nothing (nginx `return 202`, not reading the signature)
# under the same wrk run; the load generator shares the 2 cores.
idle_rps=n/a
if [ "$sink" = nginx ] && [ -f "$work/node.lua" ]; then
  idle_rps=$(wrk -t2 -c64 -d"${seconds}s" -s "$work/node.lua" "http://127.0.0.1:$idle_port/webhook/orchestrator" |
    awk '/Requests\/sec/ {printf "%.0f", $2}')
fi

echo
echo "opsbell on $(nproc) cores; sink: $sink; wrk: 64 connections, ${seconds}s"
printf '%-48s %-26s %-12s %s\n' "measure" "opsbell" "peak RSS" "predecessor / peer"
if [ "$peer_cold" != n/a ]; then pred_a="predecessor, this run: ${peer_cold} ms"; else pred_a="Python (README): ~77 ms, 26 MiB"; fi
if [ "$peer_warm" != n/a ]; then pred_b="predecessor, this run: ${peer_warm} events/s"; else pred_b="Python (README): ~1,160 events/s"; fi
printf '%-48s %-26s %-12s %s\n' "(a) cold: one signed job.faulted, whole process" "${cold_ms} ms (min ${cold_min})" "${cold_rss} MiB" "$pred_a"
printf '    (a) timed by %s\n' "$cold_how"
printf '%-48s %-26s %-12s %s\n' "(b) warm: $warm events in one process" "${warm_rate} events/s" "${warm_rss} MiB" "$pred_b"
printf '    (b) bound: serial POSTs to the sink by wrk doing nothing else: %s/s\n' "$serial_floor"
printf '%-48s %-26s %-12s %s\n' "(c) serve under wrk (durable ingest)" "${rps} req/s, p99 ${p99}" "${serve_rss} MiB" "Node verify-only, this run: ${node_rps} req/s"
printf '    (c) bound: a server that does nothing (nginx return 202), same wrk: %s req/s\n' "$idle_rps"
echo
python3 - "$cold_ms" "$warm_rate" "$rps" "$node_rps" "$peer_cold" "$peer_warm" "$serial_floor" "$idle_rps" <<'PY2'
import sys
cold, warm, rps, node, peer_cold, peer_warm, floor, idle = sys.argv[1:9]
# The predecessor's figures in the README (measured here before) when it was not run now.
pc, pw = (float(peer_cold), "this run") if peer_cold != "n/a" else (77.0, "README")
pwv, pws = (float(peer_warm), "this run") if peer_warm != "n/a" else (1160.0, "README")
print(f"ratios: cold {pc / float(cold):.1f}x the predecessor ({pw}; aim >= 17x), "
      f"warm {float(warm) / pwv:.1f}x ({pws}; aim >= 10x), "
      + (f"ingest {float(rps) / float(node):.2f}x Node (aim >= 2x)" if node != "n/a" else "ingest: no node"))
if floor != "n/a":
    print(f"bounds: the serial floor is {float(floor) / pwv:.1f}x the predecessor's warm rate; "
          + (f"doing nothing is {float(idle) / float(node):.2f}x Node" if idle != "n/a" and node != "n/a" else ""))
PY2
if [ "${BENCH_LAMBDA:-1}" != 0 ]; then
  scripts/bench-lambda.sh
fi
