#!/usr/bin/env bash
# Runs the whole test suite (scripts/test.sh) N times in a row (default 20) and prints how many
# runs passed; a failing run's failures are kept in target/soak/run-<i>.log. A test that fails
# one run in N is a defect: this is how to find it.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
mkdir -p target/soak
passed=0
for i in $(seq 1 "$runs"); do
  if scripts/test.sh >"target/soak/run-$i.log" 2>&1; then
    passed=$((passed + 1))
    tests=$(grep -E '^test result' "target/soak/run-$i.log" | awk '{p += $4} END {print p}')
    echo "run $i: passed ($tests tests)"
    rm -f "target/soak/run-$i.log"
  else
    echo "run $i: FAILED (target/soak/run-$i.log):"
    grep -E '^test .* FAILED|panicked at' "target/soak/run-$i.log" | head -10
  fi
done
echo "$passed of $runs runs passed"
[ "$passed" -eq "$runs" ]
