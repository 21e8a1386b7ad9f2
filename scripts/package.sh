#!/usr/bin/env bash
# Builds the Lambdas and packages the whole stack offline (no AWS account needed): Serverless
# (the maintained v3 fork, osls) renders the CloudFormation template, cfn-lint checks it.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(realpath -m "${OPSBELL_VENV:-.venv}")

OPSBELL_STAGE=ci scripts/build-lambdas.sh
[ -x "$VENV/bin/cfn-lint" ] || "$VENV/bin/pip" install --quiet --disable-pip-version-check cfn-lint
rm -rf .serverless
SLS_TELEMETRY_DISABLED=1 npx --yes osls@4.3.1 package --stage ci --region ap-northeast-1
# W3005 is a redundant DependsOn the framework itself emits.
"$VENV/bin/cfn-lint" --ignore-checks W3005 -- .serverless/cloudformation-template-update-stack.json
python3 scripts/check-iam.py .serverless/cloudformation-template-update-stack.json
echo "Packaged: .serverless/ (template checked by cfn-lint)"
