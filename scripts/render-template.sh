#!/usr/bin/env bash
# Renders serverless.yml into its CloudFormation template offline (`serverless package`, the
# osls fork), into target/stack/, for the acceptance tests: each function's role (IAM enforced
# in front of moto), its environment, and the alarm set are read from it. Uses dist/<fn>.zip
# when built, otherwise empty placeholders (the template does not depend on the code).
# Usage: scripts/render-template.sh [stage]   (default: ci, with the test's parameters)
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:-ci}
out=target/stack
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp serverless.yml "$work/"
mkdir -p "$work/dist" "$out"
for zip in $(grep -o 'dist/[a-z-]*\.zip' serverless.yml); do
  if [ -f "$zip" ]; then
    cp "$zip" "$work/$zip"
  else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1], "w").writestr("bootstrap", "")' "$work/$zip"
  fi
done
# The parameters a deployer passes (`--param`); the tests bind the same values.
if ! (cd "$work" && SLS_TELEMETRY_DISABLED=1 npx --yes osls@4.3.1 package --stage "$stage" --region ap-northeast-1 \
  --param="connectInstanceId=11111111-2222-3333-4444-555555555555" \
  --param="connectContactFlowId=ffffffff-2222-3333-4444-555555555555" \
  --param="connectSourcePhoneNumber=+815000000000" \
  --param="fallbackPhoneNumber=+815099999999" \
  --param="chatProjectNumber=1234567890" >"$work/package.log" 2>&1); then
  cat "$work/package.log" >&2
  exit 1
fi
cp "$work/.serverless/cloudformation-template-update-stack.json" "$out/"
echo "Rendered $out/cloudformation-template-update-stack.json (stage $stage)"
