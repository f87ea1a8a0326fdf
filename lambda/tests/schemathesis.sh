#!/usr/bin/env bash
# Schema-driven testing: schemathesis generates requests from lambda/openapi.json (valid and invalid),
# sends them to the real dev server on loopback, and runs all its checks: no 5xx, every response
# conforms to the document, valid data accepted, invalid data rejected, stateful sequences.
# Two passes of MAX_SECONDS each: the open API, then a signed-in dev server (`--auth-issuer`, the tests'
# local OpenID issuer) with a bearer token on every request.
#   lambda/tests/schemathesis.sh [MAX_SECONDS]   (default 60; make test-extended runs longer)
set -euo pipefail
cd "$(dirname "$0")/../.."
max_time=${1:-60}
st=${SCHEMATHESIS:-target/tools/venv/bin/schemathesis}
[ -x "$st" ] || { echo "schemathesis missing: run make deps" >&2; exit 1; }
# The same build as the Makefile's TEST_BINS (the features `cargo test --workspace` resolves): after
# the test build it compiles nothing, where `-p todos` alone would rebuild 34 crates.
cargo build -q --workspace --bins --examples
bin=${CARGO_TARGET_DIR:-target}/debug
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts the dev server with the given flags and runs schemathesis against it; extra schemathesis
# arguments after `--`.
run() {
  local server_args=() port
  while [ "$1" != "--" ]; do server_args+=("$1"); shift; done
  shift
  port=$(free_port)
  RUST_LOG=warn "$bin/dev-server" --host 127.0.0.1 --port "$port" --memory "${server_args[@]}" &
  pids+=($!)
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/v1/todos?limit=1" && break; sleep 0.1; done
  # The token must open the API (else every generated request would only meet the documented 401).
  local status
  status=$(curl -s -o /dev/null -w '%{http_code}' ${auth_header:+-H "$auth_header"} "http://127.0.0.1:$port/v1/todos?limit=1")
  [ "$status" = 200 ] || { echo "GET /v1/todos answered $status before the run" >&2; return 1; }
  # Hypothesis keeps its example database under target/ so failures found once are replayed first.
  "$st" run lambda/openapi.json --url "http://127.0.0.1:$port/v1" --checks all --workers 2 \
    --max-time "$max_time" --generation-database "target/tools/hypothesis" --seed "${SCHEMATHESIS_SEED:-20261126}" "$@"
}

echo "schemathesis: open API"
auth_header=
run --

echo "schemathesis: signed in (bearer token from the local test issuer)"
issuer_out=$(mktemp)
"$bin/examples/test-issuer" >"$issuer_out" &
pids+=($!)
for _ in $(seq 100); do [ "$(wc -l <"$issuer_out")" -ge 2 ] && break; sleep 0.1; done
issuer=$(sed -n 1p "$issuer_out")
token=$(sed -n 2p "$issuer_out")
rm -f "$issuer_out"
auth_header="Authorization: Bearer $token"
run --auth-issuer "$issuer" --auth-audience todos-test-client -- --header "$auth_header"
