#!/usr/bin/env bash
# Builds the Lambda `bootstrap` for arm64 (provided.al2023) and packages it deterministically.
#
#   bash lambda/scripts/build-arm64.sh          (run from anywhere; works in the repository root)
#   bash lambda/scripts/build-arm64.sh --deps-only   only install the packages (step 1), build nothing
#
# Output:  target/lambda/bootstrap       the stripped aarch64 binary
#          target/lambda/bootstrap.zip   one entry `bootstrap`, mode 0755, fixed date: same binary, same bytes
#
# How (see shared ARM64.md): rustup here has only the x86_64 target, so the arm64 build uses Debian's
# own rustc (`rustc-web`, with its arm64 std from `libstd-rust-web-dev:arm64`) through cargo with
# RUSTC=/usr/bin/rustc, linked by the aarch64 cross gcc. x86 builds keep using rustup's compiler.
# Lambda's provided.al2023 has glibc 2.34 while bookworm links against 2.36, so the binary's dynamic
# symbols are checked against that ceiling here: a newer symbol would only fail on AWS.
#
# Environment knobs (all optional):
#   ARM64_PROFILE    cargo profile to build with (default: release)
#   ARM64_SKIP_APT=1 never install packages; fail if something is missing
#   GLIBC_CEILING    highest glibc symbol version allowed (default: 2.34)
#   ARM64_ADVZIP=0   plain `zip -9` output, without the advzip recompression
#   ARM64_NO_EH_FRAME=1  link without unwind tables (no-eh-frame.ld): ~0.15 MB smaller zip; panics
#                    still print and abort (panic = "abort"), backtraces stop at the first frame
set -euo pipefail

TARGET=aarch64-unknown-linux-gnu
PROFILE=${ARM64_PROFILE:-release}
GLIBC_CEILING=${GLIBC_CEILING:-2.34}
FALLBACK_MSRV=1.94       # used only if neither the workspace nor the SDK declares one
ZIP_DATE='1980-01-01 00:00:00'

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-arm64: error: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }
T0=$(now)

# ---------------------------------------------------------------------------------------------------
# 1. Packages: install only what is missing, all Rust packages in one command (same version).
# ---------------------------------------------------------------------------------------------------
PKGS=(rustc-web cargo-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross
      qemu-user-static zip unzip file ca-certificates advancecomp)

installed() { [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == ii* ]]; }

missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
# Debian ties rustc-web to its amd64 std only: an upgrade of the compiler alone leaves a stale arm64 std
# (E0514). Versions that differ count as missing, and the three are installed again together.
pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
if installed rustc-web && installed libstd-rust-web-dev:arm64 \
    && [[ $(pkg_version rustc-web) != "$(pkg_version libstd-rust-web-dev:arm64)" ]]; then
    log "rustc-web $(pkg_version rustc-web) and libstd-rust-web-dev:arm64 $(pkg_version libstd-rust-web-dev:arm64) differ"
    missing+=(libstd-rust-web-dev:arm64)
fi
need_arch=0
dpkg --print-foreign-architectures | grep -qx arm64 || need_arch=1

if (( ${#missing[@]} || need_arch )); then
    [[ ${ARM64_SKIP_APT:-0} == 1 ]] && die "missing packages: ${missing[*]:-} (arm64 architecture enabled: $((1 - need_arch))); ARM64_SKIP_APT=1 forbids installing"
    SUDO=()
    if (( EUID != 0 )); then
        command -v sudo >/dev/null || die "missing packages (${missing[*]}) and not root; install them as in ARM64.md"
        SUDO=(sudo)
    fi
    # A Rust package missing means all three are (re)installed together, so their versions match.
    for p in "${missing[@]}"; do
        case $p in rustc-web|cargo-web|libstd-rust-web-dev:arm64)
            missing+=(rustc-web cargo-web libstd-rust-web-dev:arm64); break;;
        esac
    done
    t=$(now)
    if (( need_arch )); then
        log "enabling the arm64 architecture (dpkg --add-architecture arm64)"
        "${SUDO[@]}" dpkg --add-architecture arm64
    fi
    if (( ${#missing[@]} )); then
        mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
        log "installing: ${missing[*]}"
        "${SUDO[@]}" apt-get update -qq
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    log "packages ready in $(( $(now) - t )) s"
else
    log "packages: all present (${PKGS[*]})"
fi
[[ ${1:-} == --deps-only ]] && exit 0

DEB_RUSTC=/usr/bin/rustc
DEB_RUSTDOC=/usr/bin/rustdoc
[[ -x $DEB_RUSTC ]] || die "$DEB_RUSTC not found (package rustc-web)"
# rustup's cargo (first on PATH) drives Debian's rustc through RUSTC; with no cargo at all, Debian's.
CARGO=$(command -v cargo || true)
[[ -n $CARGO ]] || CARGO=/usr/bin/cargo
[[ -x $CARGO ]] || die "no cargo found (package cargo-web)"

# In CI the lock file must already be right; locally cargo may update it as for any other build.
LOCKED=()
[[ ${CI:-} == true && -f Cargo.lock ]] && LOCKED=(--locked)

# ---------------------------------------------------------------------------------------------------
# 2. Debian's rustc must be at least the MSRV of the workspace and of the AWS SDK.
# ---------------------------------------------------------------------------------------------------
version_ge() { [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1) == "$2" ]]; }   # $1 >= $2

rustc_version=$("$DEB_RUSTC" --version | awk '{print $2}')
rustc_version=${rustc_version%%-*}
msrv=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -1)
msrv_from="workspace Cargo.toml"
sdk_version=$(awk '/^name = "aws-sdk-dynamodb"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock 2>/dev/null || true)
if [[ -n $sdk_version ]]; then
    sdk_manifest=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"aws-sdk-dynamodb-$sdk_version"/Cargo.toml 2>/dev/null | head -1 || true)
    if [[ -z $sdk_manifest ]]; then
        "$CARGO" fetch "${LOCKED[@]}" --target "$TARGET" -q
        sdk_manifest=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"aws-sdk-dynamodb-$sdk_version"/Cargo.toml 2>/dev/null | head -1 || true)
    fi
    sdk_msrv=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "${sdk_manifest:-/dev/null}" | head -1)
    if [[ -n $sdk_msrv ]] && { [[ -z $msrv ]] || ! version_ge "$msrv" "$sdk_msrv"; }; then
        msrv=$sdk_msrv; msrv_from="aws-sdk-dynamodb $sdk_version"
    fi
fi
msrv=${msrv:-$FALLBACK_MSRV}
if ! version_ge "$rustc_version" "$msrv"; then
    die "Debian's rustc is $rustc_version but $msrv_from needs rustc >= $msrv.
    Update it (apt-get update && apt-get install --only-upgrade rustc-web cargo-web libstd-rust-web-dev:arm64,
    all three in one command) or lower the SDK version in Cargo.lock."
fi
compgen -G "/usr/lib/rustlib/$TARGET/lib/libstd-*.rlib" >/dev/null \
    || die "no arm64 standard library for Debian's rustc in /usr/lib/rustlib/$TARGET (package libstd-rust-web-dev:arm64, same version as rustc-web)"
log "rustc (Debian) $rustc_version >= $msrv ($msrv_from); cargo: $CARGO"

# ---------------------------------------------------------------------------------------------------
# 3. Build.
# ---------------------------------------------------------------------------------------------------
export RUSTC=$DEB_RUSTC RUSTDOC=$DEB_RUSTDOC
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
# Not for this build: a RUSTC_WRAPPER or RUSTFLAGS meant for the host compiler.
unset RUSTC_WRAPPER RUSTFLAGS || true

t=$(now)
args=("${LOCKED[@]}" -p todos --bin bootstrap --profile "$PROFILE" --target "$TARGET" --target-dir target/arm64)
if [[ ${ARM64_NO_EH_FRAME:-0} == 1 ]]; then
    # Link-only flags for the final binary (`cargo rustc`): dependencies stay cached, only bootstrap relinks.
    link=(-C "link-arg=-Wl,-T,$ROOT/lambda/scripts/no-eh-frame.ld" -C link-arg=-Wl,--no-eh-frame-hdr)
    log "cargo rustc ${args[*]} -- ${link[*]}"
    "$CARGO" rustc "${args[@]}" -- "${link[@]}"
else
    log "cargo build ${args[*]}"
    "$CARGO" build "${args[@]}"
fi
build_s=$(( $(now) - t ))

profile_dir=$PROFILE
[[ $PROFILE == dev ]] && profile_dir=debug
BIN=target/arm64/$TARGET/$profile_dir/bootstrap
[[ -f $BIN ]] || die "cargo did not produce $BIN"

# ---------------------------------------------------------------------------------------------------
# 4. Checks: an aarch64 ELF, dynamic symbols within the glibc ceiling.
# ---------------------------------------------------------------------------------------------------
file -b "$BIN" | grep -q 'ARM aarch64' || die "$BIN is not an aarch64 binary: $(file -b "$BIN")"
symbols=$(aarch64-linux-gnu-objdump -T "$BIN")
glibc_max=$(grep -o 'GLIBC_[0-9][0-9.]*' <<<"$symbols" | sed 's/GLIBC_//' | sort -uV | tail -1)
[[ -n $glibc_max ]] || die "no GLIBC symbol versions found in $BIN (objdump -T output unexpected)"
offending=$(awk -v ceil="$GLIBC_CEILING" '
    function newer(v,   a, b, n, m, i) {
        n = split(v, a, "."); m = split(ceil, b, ".")
        for (i = 1; i <= (n > m ? n : m); i++) {
            if ((a[i] + 0) > (b[i] + 0)) return 1
            if ((a[i] + 0) < (b[i] + 0)) return 0
        }
        return 0
    }
    match($0, /GLIBC_[0-9][0-9.]*/) {
        v = substr($0, RSTART + 6, RLENGTH - 6)
        if (newer(v)) print "    " $NF " (GLIBC_" v ")"
    }' <<<"$symbols" | sort -u)
if [[ -n $offending ]]; then
    die "$BIN needs glibc symbols newer than $GLIBC_CEILING (Lambda provided.al2023 has 2.34):
$offending
    Fix: avoid the API that pulls them in, or build with cargo-zigbuild and target $TARGET.$GLIBC_CEILING (ARM64.md)."
fi
needed=$(aarch64-linux-gnu-objdump -p "$BIN" | awk '/NEEDED/ {print $2}' | paste -sd' ')
gcc_max=$(grep -o 'GCC_[0-9][0-9.]*' <<<"$symbols" | sort -uV | tail -1 || true)

# ---------------------------------------------------------------------------------------------------
# 5. Package: target/lambda/bootstrap and a byte-for-byte reproducible zip.
# ---------------------------------------------------------------------------------------------------
OUT=target/lambda
mkdir -p "$OUT"
stage=$(mktemp -d "$OUT/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/zip"
cp "$BIN" "$stage/bootstrap"
chmod 0755 "$stage/bootstrap"
cp "$stage/bootstrap" "$stage/zip/bootstrap"
# The zip stores the mtime as a local DOS date: fix both the time and the zone. -X drops the uid/gid
# and extended-timestamp extra fields, -D directory entries; the entry keeps Unix mode 0755.
TZ=UTC touch -d "$ZIP_DATE" "$stage/zip/bootstrap"
(cd "$stage/zip" && TZ=UTC zip -q -X -D -9 ../bootstrap.zip bootstrap)
# Recompress the deflate stream with 7-Zip's encoder (advancecomp): about 3.5 % smaller, same headers,
# deterministic, ~2 s. ARM64_ADVZIP=0 skips it.
if [[ ${ARM64_ADVZIP:-1} != 0 ]]; then
    command -v advzip >/dev/null || die "advzip not found (package advancecomp); or set ARM64_ADVZIP=0"
    advzip -q -z -2 "$stage/bootstrap.zip"
fi
unzip -p "$stage/bootstrap.zip" bootstrap | cmp -s - "$stage/bootstrap" || die "the zip does not unpack to the binary"

replace_if_changed() {   # keep the old file (and its mtime) when the bytes are the same
    if [[ -f $2 ]] && cmp -s "$1" "$2"; then return 1; fi
    mv -f "$1" "$2"
}
changed=()
replace_if_changed "$stage/bootstrap" "$OUT/bootstrap" && changed+=(bootstrap)
replace_if_changed "$stage/bootstrap.zip" "$OUT/bootstrap.zip" && changed+=(bootstrap.zip)

sha_b64() {   # SHA-256 as base64, the form of Lambda's CodeSha256
    local hex
    hex=$(sha256sum "$1" | cut -c1-64)
    # shellcheck disable=SC2059
    printf "$(sed 's/../\\x&/g' <<<"$hex")" | base64
}
size() { stat -c %s "$1"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1000000 }'; }

bin_size=$(size "$OUT/bootstrap")
zip_size=$(size "$OUT/bootstrap.zip")
cat >&2 <<EOF
==> arm64 bootstrap ready (${changed[*]:-unchanged}), build ${build_s} s, total $(( $(now) - T0 )) s
    profile        $PROFILE ($BIN)
    binary         $OUT/bootstrap      $bin_size bytes ($(mb "$bin_size"))
    zip            $OUT/bootstrap.zip  $zip_size bytes ($(mb "$zip_size"))
    CodeSha256     $(sha_b64 "$OUT/bootstrap.zip")
    glibc          max GLIBC_$glibc_max (ceiling $GLIBC_CEILING)${gcc_max:+, libgcc_s max $gcc_max}; needs: $needed
EOF
