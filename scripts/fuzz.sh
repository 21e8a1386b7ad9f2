#!/usr/bin/env bash
# Runs every cargo-fuzz target for N seconds each (default 60; the issue's bar is 600) and prints
# a summary: runs, executions per second, and whether it crashed. Needs a nightly toolchain
# (`rustup toolchain install nightly`); installs cargo-fuzz when missing. Corpora start from the
# real samples in samplejson/ and are kept in fuzz/corpus/ (git-ignored); crashes land in
# fuzz/artifacts/<target>/; each run's libFuzzer output is fuzz/<target>.log (git-ignored).
# Usage: scripts/fuzz.sh [seconds] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(webhook sns chat_event rotation mapping config)
fi

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup run nightly rustc --version >/dev/null

seed() { # target, sample globs...
  local dir="fuzz/corpus/$1"
  shift
  mkdir -p "$dir"
  for f in "$@"; do
    [ -f "$f" ] && cp "$f" "$dir/" || true
  done
}
seed webhook samplejson/uipath-webhook-*.json
seed chat_event samplejson/googlechat-event-*.json
seed config samplejson/predecessor-config.json config.json deploy/config.json
seed rotation samplejson/*rotation*.json
seed mapping samplejson/*mapping*.json
mkdir -p fuzz/corpus/sns
for f in samplejson/sns-*.json; do
  python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); [print(json.dumps(r["Sns"])) for r in e.get("Records",[])]' "$f" \
    > "fuzz/corpus/sns/$(basename "$f")" 2>/dev/null || true
done

summary=()
status=0
for t in "${targets[@]}"; do
  echo "== fuzzing $t for ${seconds}s"
  log="fuzz/$t.log"
  if cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- \
      -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see $log and fuzz/artifacts/$t/)"
    status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  summary+=("$(printf '%-11s %8ss %12s runs %8s/s  cov %6s  %s' "$t" "$seconds" "$runs" "$rate" "$cov" "$result")")
done
echo
printf '%s\n' "${summary[@]}"
exit $status
