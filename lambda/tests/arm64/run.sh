#!/usr/bin/env bash
# Runs the real arm64 Lambda artifact (target/lambda/bootstrap.zip) under qemu against dynalite.
#
#   bash lambda/tests/arm64/run.sh
#
# Builds the artifact first when it is missing (lambda/scripts/build-arm64.sh; set ARM64_TEST_BUILD=1 to
# always run the build, which is quick when nothing changed) and installs the DynamoDB emulator when
# lambda/tests/emulator/node_modules is missing. Prints `arm64 qemu: N passed, M failed`; exits non-zero
# on failure. ARM64_TEST_KEEP_LOGS=1 keeps the logs of a passing run; ARM64_TEST_TIMEOUT (s) bounds it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$ROOT"

if [[ ${ARM64_TEST_BUILD:-0} == 1 || ! -f target/lambda/bootstrap.zip ]]; then
    bash lambda/scripts/build-arm64.sh
fi
if [[ ! -f lambda/tests/emulator/node_modules/dynalite/cli.js ]]; then
    npm ci --prefix lambda/tests/emulator --no-audit --no-fund
fi
command -v python3 >/dev/null || { echo "arm64 qemu: 0 passed, 1 failed (python3 not found)"; exit 1; }
exec python3 lambda/tests/arm64/run_arm64.py "$@"
