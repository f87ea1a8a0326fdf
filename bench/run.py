#!/usr/bin/env python3
"""`make bench`: builds what it needs, measures, prints a table and writes bench/RESULTS.md.

    make bench                           (bench/setup.sh, then this file with the bench venv's Python)
    BENCH_ONLY=init,warm make bench      only some sections (package,init,warm,scaling,dev,deploy)
    BENCH_SKIP_BUILD=1                   use the binaries already in target/ (no cargo, no make build)
    BENCH_EVENTS=1000                    events for the callgrind per-event difference and the latency runs
    BENCH_DEBUG=1                        print a section's traceback when it stops (else one line)

`make bench` runs bench/setup.sh first (valgrind, wrk, strace, dynalite, a venv with boto3 and moto) and
then this file with that venv's Python; a tool still missing is a one-line error for the sections that
need it.

Figures are printed, never asserted against goals; the run fails (exit 1) only when a figure is missing.
Stable counts (callgrind instructions, bytes) stand next to wall times (min / median / max over runs).
Goals are ratios to the floor (bench/floor: a bare lambda_runtime hello world answering a constant API
Gateway v2 response, same release profile) and to the peer (bench/peer: the official aws-lambda-rust-runtime
example `http-dynamodb`, lambda_http + the SDK from crates.io), all built and measured in the same run.
Only loopback addresses are used; every process started here is stopped by its PID.

The modules: harness.py (paths, knobs, the processes started, the results table), lambdas.py (a Lambda
binary against the fakes of fakes.py: callgrind totals, the per-binary figures), sections_lambda.py
(1 package, 2 init, 3 warm), sections_local.py (4 scaling, 5 dev server, 6 deploy), report.py (the
printed table and RESULTS.md); this file builds and runs the sections.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ in the working tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa: E402,F403
from report import print_table, render  # noqa: E402
from sections_lambda import section_init, section_package, section_warm  # noqa: E402
from sections_local import section_deploy, section_dev, section_scaling  # noqa: E402


# ----------------------------------------------------------------------------------------------------
# Build
# ----------------------------------------------------------------------------------------------------
def build() -> None:
    if SKIP_BUILD:
        log("BENCH_SKIP_BUILD=1: using the binaries in target/")
        return
    t = time.time()
    log("cargo build --release -p todos --bin bootstrap --bin dev-server -p floor --bin floor")
    subprocess.run(["cargo", "build", "--release", "-p", "todos", "--bin", "bootstrap", "--bin", "dev-server",
                    "-p", "floor", "--bin", "floor"], cwd=ROOT, check=True)
    if want("init") or want("warm"):
        # The peer is its own workspace (its own lock file and features); same target directory.
        log("cargo build --release --manifest-path bench/peer/Cargo.toml (the official example, from crates.io)")
        subprocess.run(["cargo", "build", "--release", "--manifest-path", PEER_MANIFEST, "--target-dir", TARGET],
                       cwd=ROOT, check=True)
    if want("deploy"):
        log("cargo build -p iac (debug, as `make preview` / `make up` run it)")
        subprocess.run(["cargo", "build", "-p", "iac"], cwd=ROOT, check=True)
    if want("package") or want("deploy"):
        log("make build (arm64 zip)")
        subprocess.run(["make", "--no-print-directory", "build"], cwd=ROOT, check=True)
    R.note("build", f"builds took {time.time() - t:.0f} s (load {loadavg()})")


SECTIONS = [("package", section_package), ("init", section_init), ("warm", section_warm),
            ("scaling", section_scaling), ("dev", section_dev), ("deploy", section_deploy)]


def main() -> int:
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M %Z").strip()
    load_start = loadavg()
    t0 = time.time()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        try:
            build()
        except (subprocess.CalledProcessError, FileNotFoundError) as e:
            tell_error("bench: build failed", e)
            return 1
        t_after_build = time.time()
        for name, fn in SECTIONS:
            if not want(name):
                continue
            absent = [tool for tool in TOOLS.get(name, []) if not shutil.which(tool)]
            if absent:
                why = f"{', '.join(absent)} not found (bash bench/setup.sh installs it; make bench runs that)"
                log(f"section {name} skipped: {why}")
                R.missing(name, [f"{name}: not run"], why)
                continue
            log(f"section {name} (load {loadavg()})")
            t = time.time()
            n_rows = len(R.rows)
            try:
                fn()
            except Exception as e:  # noqa: BLE001
                tell_error(f"section {name} stopped", e)
                R.problems.append(f"{name}: {e}")
                R.add(name, f"{name}: the section stopped early ({len(R.rows) - n_rows} figure(s) recorded)", None,
                      status="MISSING")
            stop_all()
            log(f"section {name} took {time.time() - t:.0f} s")
        R.note("build", f"measuring took {(time.time() - t_after_build) / 60:.1f} min after the builds")
    finally:
        stop_all()
    print_table()
    text = render(started, load_start, time.time() - t0)
    if not ONLY:
        with open(RESULTS_MD, "w") as f:
            f.write(text + "\n")
        log(f"wrote {os.path.relpath(RESULTS_MD, ROOT)}")
    else:
        out = os.path.join(ROOT, "target", "bench-partial.md")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            f.write(text + "\n")
        log(f"partial run (BENCH_ONLY): wrote {os.path.relpath(out, ROOT)}, not bench/RESULTS.md")
    missing = [r for r in R.rows if r["value"] is None]
    if missing:
        print(f"bench: {len(missing)} figure(s) missing: " + "; ".join(f"{r['section']} {r['figure']}" for r in missing),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
