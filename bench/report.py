"""The run's table: printed, and written as Markdown (bench/RESULTS.md, with bench/choices.md appended)."""

from __future__ import annotations

import os
import platform
import subprocess

from harness import *  # noqa: F403


# ----------------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------------
def machine() -> list[str]:
    def cmd(c: list[str]) -> str:
        try:
            return subprocess.run(c, capture_output=True, text=True, timeout=20).stdout.strip()
        except Exception:  # noqa: BLE001
            return "?"

    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) * 1024
    return [f"- nproc {os.cpu_count()}, CPU {cpu}, memory {mem / 2**30:.1f} GiB, {platform.system()} {platform.release()}",
            f"- rustc (x86_64 builds): {cmd(['rustc', '-V'])}; arm64 build: {cmd(['/usr/bin/rustc', '-V'])}",
            f"- valgrind {cmd(['valgrind', '--version'])}, wrk {cmd(['wrk', '-v']).splitlines()[0] if cmd(['wrk', '-v']) else '?'}, "
            f"Python {platform.python_version()}"]


def render(started: str, load_start: str, elapsed: float) -> str:
    lines = [f"# Benchmarks ({started})", "",
             "Written by `make bench` (`bench/setup.sh`, then `bench/run.py`). Goals are ratios to the floor "
             "(`bench/floor`: a bare `lambda_runtime` hello world returning a constant API Gateway v2 response, same "
             "release profile) and to the peer (`bench/peer`: the official aws-lambda-rust-runtime example "
             "`http-dynamodb`, built from crates.io), built and measured in the same run. Instruction counts are callgrind totals (stable); wall times are "
             "min/median/max over runs on a shared 2-core machine: the load average is recorded next to each figure.",
             "", *machine(), f"- load average at start {load_start}, at end {loadavg()}; run took {elapsed / 60:.1f} min",
             "", "| # | figure | value | goal | vs floor / goal | status | load |", "|---|---|---|---|---|---|---|"]
    for r in R.rows:
        v = r["value"] if r["value"] is not None else "**missing**"
        lines.append(f"| {r['section']} | {r['figure']} | {v} | {r['goal']} | {r['vs']} | {r['status']} | {r['load']} |")
    lines.append("")
    for sec, notes in R.details.items():
        lines.append(f"**{sec}**")
        lines.append("")
        lines += [f"- {n}" for n in notes]
        lines.append("")
    if R.problems:
        lines += ["**problems in this run**", ""] + [f"- {p}" for p in R.problems] + [""]
    if os.path.exists(CHOICES_MD):
        with open(CHOICES_MD) as f:
            lines += [f.read().rstrip(), ""]
    return "\n".join(lines)


def print_table() -> None:
    w = max(len(r["figure"]) for r in R.rows) if R.rows else 10
    for r in R.rows:
        v = r["value"] if r["value"] is not None else "MISSING"
        print(f"{r['section']:<13} {r['figure']:<{w}}  {v:<40} {r['goal']:<16} {r['vs']:<28} {r['status']:<7} load {r['load']}")
