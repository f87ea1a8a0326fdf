#!/usr/bin/env bash
# `make test`: every test, everything built once, with what waits (installs on the network) beside what
# computes, and the long arm64 release build behind the rest at low priority, taking the cycles the
# tests leave idle (waits on emulators and on Chromium) instead of slowing them. On two cores:
#
#   apt          Debian packages: the arm64 cross toolchain                                    first
#   build        the arm64 release bootstrap (Debian's rustc, target/arm64), at nice 19        behind, from then on
#   deps         Chromium (apt), dynalite, moto and schemathesis, the client's npm packages    behind, beside build-tests
#   build-tests  the debug test build and the binaries the tests start                         in front
#   test-rust    cargo test: unit tests, dynalite, moto                                        in front
#   test-schema  schemathesis against the dev server, open and signed in (60 s each)           in front
#   test-client  client unit tests, production build, e2e in headless Chromium                 in front
#   test-arm64   the arm64 bootstrap under qemu                                                 last
#
# A phase behind writes target/test-logs/<phase>.log, printed when it ends. At the end (and at a
# failure) one line gives each phase's time: `make test: phase times: ...` (.ci/run repeats it).
set -euo pipefail
cd "$(dirname "$0")/.."

make_() { "${MAKE:-make}" --no-print-directory "$@"; }
logs=target/test-logs
mkdir -p "$logs"
times=
t_all=$(date +%s)
since() { echo $(( $(date +%s) - $1 )); }

# Each job behind runs in its own process group (job control while it starts), so a failure or Ctrl-C
# stops all of it, compilers and servers included; they stay in this session, so `nice` ranks them
# against ours. Jobs in front stay in ours and get Ctrl-C from the terminal as usual.
jobs_behind=()
stop_behind() {
  for pid in "${jobs_behind[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_behind EXIT
trap 'exit 130' INT TERM

fail() {
  echo "make test: $1 failed;$times"
  exit 1
}

# behind NAME COMMAND...: starts COMMAND behind, its output to target/test-logs/NAME.log and its time
# to NAME.time; sets $pid.
behind() {
  local name=$1; shift
  rm -f "$logs/$name.time"
  set -m
  ( t=$(date +%s); rc=0; "$@" </dev/null >"$logs/$name.log" 2>&1 || rc=$?; since "$t" >"$logs/$name.time"; exit "$rc" ) &
  pid=$!
  set +m
  jobs_behind+=("$pid")
}

# collect NAME PID: waits for a job behind, prints its log, fails the run if it failed.
collect() {
  local name=$1 pid=$2 rc=0
  wait "$pid" || rc=$?
  echo "---- $name (ran behind; its output, kept in target/test-logs/$name.log):"
  cat "$logs/$name.log"
  times="$times $name $(cat "$logs/$name.time" 2>/dev/null || echo '?') s;"
  [ "$rc" = 0 ] || fail "$name"
}

# in_front NAME COMMAND...: runs COMMAND here and times it.
in_front() {
  local name=$1 t; shift
  t=$(date +%s)
  "$@" || fail "$name"
  times="$times $name $(since "$t") s;"
}

# The arm64 toolchain first and alone (dpkg allows one installer at a time): the arm64 build needs it
# before it can start; Chromium comes with the other dependencies, behind, while nothing else installs.
in_front apt bash lambda/scripts/build-arm64.sh --deps-only

# The release build compiles for minutes on its own (400 s of CPU cold); at nice 19 it takes what the
# tests leave idle (waits on emulators, on Chromium, on the network) and the rest at the end, instead
# of slowing them. At nice 10 it still took enough to cut schemathesis' cases by a fifth.
behind build nice -n 19 "${MAKE:-make}" --no-print-directory build
arm=$pid
behind deps bash .ci/deps.sh
deps=$pid

build_tests() { cargo test --workspace --no-run --quiet && make_ test-bins; }
in_front build-tests build_tests
collect deps "$deps"

# In front, one after the other: schemathesis runs for a fixed time, and beside another phase it
# generated a third of the cases (1,987 against 5,919); the e2e tests wait on Chromium in real time.
in_front test-rust make_ test-rust
in_front test-schema make_ test-schema
in_front test-client make_ test-client

collect build "$arm"
in_front test-arm64 make_ test-arm64

echo "make test: phase times:$times total $(since "$t_all") s"
