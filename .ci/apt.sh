# Sourced by .ci/deps.sh and bench/setup.sh: install Debian packages as root (directly or through sudo),
# running `apt-get update` at most once. apt's own output goes to stderr, so a script's stdout stays
# its own (bench/setup.sh prints the Python to use there).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root to run: $*" >&2; return 1; fi; }

apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq >&2; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >&2
}
