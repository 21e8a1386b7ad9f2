#!/usr/bin/env bash
# Removes each permission of each function's role in turn (one action on one resource) from the
# rendered template, runs the runtime-protocol tests (each binary under its own role, behind the
# IAM proxy) against it, and prints which tests fail: the proof that every permission is needed
# by a test, or the list of those no test needs. Logs permissions are Lambda's own (not called
# by opsbell's code) and are skipped. Takes about a minute per permission.
# Usage: scripts/iam-removals.sh [role-substring]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stack-up.sh
filter=${1:-}
base=target/stack/cloudformation-template-update-stack.json
cargo test -q --locked -p opsbell-tests --test acceptance --no-run
python3 - "$base" "$filter" >target/stack/removals.txt <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
for role, r in t["Resources"].items():
    if r["Type"] != "AWS::IAM::Role" or sys.argv[2] not in role:
        continue
    for p in r["Properties"].get("Policies", []):
        for i, s in enumerate(p["PolicyDocument"]["Statement"]):
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
            for a in actions:
                if a.startswith("logs:"):
                    continue
                for j in range(len(resources)):
                    print(f"{role}\t{i}\t{a}\t{j}\t{json.dumps(resources[j])}")
PY
while IFS=$'\t' read -r role i action j resource; do
  python3 - "$base" "$role" "$i" "$action" "$j" >target/stack/removed.json <<'PY'
import json, sys
path, role, i, action, j = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
t = json.load(open(path))
for p in t["Resources"][role]["Properties"]["Policies"]:
    statements = p["PolicyDocument"]["Statement"]
    s = statements[i]
    actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
    resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
    # The action on every other resource, and every other action on this one.
    kept = [dict(s, Action=[a for a in actions if a != action])] if len(actions) > 1 else []
    if len(resources) > 1:
        kept.append(dict(s, Action=[action], Resource=[r for k, r in enumerate(resources) if k != j]))
    statements[i:i + 1] = [k for k in kept if k["Action"]]
print(json.dumps(t))
PY
  # The tests make secrets with fixed names: each run starts from an empty moto.
  python3 -c "import urllib.request; urllib.request.urlopen(urllib.request.Request('$AWS_ENDPOINT_URL/moto-api/reset', method='POST'))"
  OPSBELL_TEMPLATE="$PWD/target/stack/removed.json" cargo test -q --locked -p opsbell-tests \
    --test acceptance -- --include-ignored lambda_runtime >target/stack/removal.log 2>&1 || true
  failed=$(grep -oE '^    lambda_runtime::[a-z_]+' target/stack/removal.log | sed 's/^ *lambda_runtime:://' | tr '\n' ' ' || true)
  echo -e "$role\t$action\t$resource\t${failed:-NONE}"
done <target/stack/removals.txt
