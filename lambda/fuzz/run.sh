#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) on a stable toolchain, seeded with the committed
# corpus and the hand-written seeds. Exits non-zero on the first crash (the reproducer is left in
# fuzz/artifacts/<target>/). New inputs found go to fuzz/corpus-raw/<target>/ (ignored by git); fold
# them into the committed corpus with `cargo fuzz cmin` when they add coverage.
#
#   lambda/fuzz/run.sh [SECONDS]
#
# Environment: FUZZ_SANITIZER (address | none; default address), FUZZ_JOBS (default 1).
set -euo pipefail

seconds="${1:-60}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# cargo-fuzz passes nightly-only flags (-Zsanitizer, sancov passes); stable rustc accepts them with this.
export RUSTC_BOOTSTRAP=1
sanitizer="${FUZZ_SANITIZER:-address}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

targets=(dispatch validate)
cargo fuzz build --sanitizer "$sanitizer"   # no target: builds them all

status=0
for target in "${targets[@]}"; do
    mkdir -p "corpus-raw/$target" "corpus/$target" "artifacts/$target"
    echo "run.sh: fuzzing $target for ${seconds}s" >&2
    if ! cargo fuzz run --sanitizer "$sanitizer" "$target" \
        "corpus-raw/$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -jobs="${FUZZ_JOBS:-1}" -workers="${FUZZ_JOBS:-1}" \
        -print_final_stats=1 -close_fd_mask=1; then
        echo "run.sh: $target crashed; reproducer in $here/artifacts/$target/" >&2
        status=1
        break
    fi
done
exit "$status"
