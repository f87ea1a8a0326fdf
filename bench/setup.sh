#!/usr/bin/env bash
# Installs what `make bench` needs, skipping whatever is already there, and prints the Python to run it
# with (last line of stdout). Everything comes from the package registries (Debian, npm, PyPI).
#   bash bench/setup.sh            (make bench runs it first)
# Tools: valgrind (callgrind instruction counts), wrk (dev-server load), strace (trust-store check),
# node + dynalite (scaling section), and a Python venv with boto3 (the harness's DynamoDB requests) and
# moto (deploy section): the test venv under target/tools/venv, created here when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

. .ci/apt.sh

missing=()
for tool in valgrind wrk strace zip; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if (( ${#missing[@]} )); then
  echo "bench setup: installing ${missing[*]} (Debian)" >&2
  apt_install "${missing[@]}"
fi

if ! [ -d lambda/tests/emulator/node_modules/dynalite ]; then
  command -v npm >/dev/null || { echo "bench setup: npm not found (needed for dynalite; make deps)" >&2; exit 1; }
  echo "bench setup: installing dynalite" >&2
  npm ci --prefix lambda/tests/emulator --no-audit --no-fund --loglevel=error >&2
fi

# The Python: BENCH_PYTHON if set, else the tools venv (its moto_server is the deploy section's too).
venv=${BENCH_VENV:-target/tools/venv}
python=${BENCH_PYTHON:-$venv/bin/python}
if ! [ -x "$python" ] || ! "$python" -c 'import boto3' 2>/dev/null; then
  [ -n "${BENCH_PYTHON:-}" ] && { echo "bench setup: BENCH_PYTHON=$BENCH_PYTHON has no boto3" >&2; exit 1; }
  echo "bench setup: creating $venv with boto3 and moto (PyPI)" >&2
  python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
  "$venv/bin/pip" install -q -r iac/tests/requirements.txt -r lambda/tests/requirements.txt boto3 >&2
fi
echo "$python"
