#!/usr/bin/env bash
# Schema-driven testing: schemathesis generates requests from lambda/openapi.json (valid and invalid),
# sends them to the real dev server on loopback, and runs all its checks: no 5xx, every response
# conforms to the document, valid data accepted, invalid data rejected, stateful sequences.
#   lambda/tests/schemathesis.sh [MAX_SECONDS]   (default 60; make test-extended runs longer)
set -euo pipefail
cd "$(dirname "$0")/../.."
max_time=${1:-60}
st=${SCHEMATHESIS:-target/tools/venv/bin/schemathesis}
[ -x "$st" ] || { echo "schemathesis missing: run make deps" >&2; exit 1; }
cargo build -q -p todos --bin dev-server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUST_LOG=warn ./target/debug/dev-server --host 127.0.0.1 --port "$port" --memory &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v1/todos?limit=1" >/dev/null && break; sleep 0.1; done
# Hypothesis keeps its example database under target/ so failures found once are replayed first.
"$st" run lambda/openapi.json --url "http://127.0.0.1:$port/v1" --checks all --workers 2 \
  --max-time "$max_time" --generation-database "target/tools/hypothesis" --seed "${SCHEMATHESIS_SEED:-20261126}"
