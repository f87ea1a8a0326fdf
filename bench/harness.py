"""Shared by the bench modules: paths and knobs (environment), small formatting helpers, the
processes a run starts (stopped by PID), and the results table being filled."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import traceback


sys.dont_write_bytecode = True  # no bench/__pycache__ in the working tree
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
# cargo's output directory: CARGO_TARGET_DIR when set (a shared target), else the workspace's target/.
TARGET = os.path.abspath(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"))
REL = os.path.join(TARGET, "release")
BOOTSTRAP = os.path.join(REL, "bootstrap")
FLOOR = os.path.join(REL, "floor")
PEER = os.path.join(REL, "http-dynamodb")
PEER_MANIFEST = os.path.join(ROOT, "bench", "peer", "Cargo.toml")
DEV_SERVER = os.path.join(REL, "dev-server")
IAC = os.path.join(TARGET, "debug", "iac")
ARM_ZIP = os.path.join(ROOT, "target", "lambda", "bootstrap.zip")
ARM_BIN = os.path.join(ROOT, "target", "lambda", "bootstrap")
DATA = os.path.join(ROOT, "lambda", "tests", "data")
DYNALITE_JS = os.path.join(ROOT, "lambda", "tests", "emulator", "start-dynalite.js")
MOTO = os.environ.get("MOTO_SERVER", os.path.join(ROOT, "target", "tools", "venv", "bin", "moto_server"))
RESULTS_MD = os.path.join(ROOT, "bench", "RESULTS.md")
CHOICES_MD = os.path.join(ROOT, "bench", "choices.md")

EVENTS = int(os.environ.get("BENCH_EVENTS", "1000"))
ONLY = {s for s in os.environ.get("BENCH_ONLY", "").split(",") if s}
DEBUG = os.environ.get("BENCH_DEBUG") == "1"
SKIP_BUILD = os.environ.get("BENCH_SKIP_BUILD") == "1"
SCALE_SIZES = [int(x) for x in os.environ.get("BENCH_SCALE_SIZES", "10,1000,10000,100000").split(",")]
WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "10"))
MB = 1_000_000

REGION = "us-east-1"
CREDS = {"AWS_ACCESS_KEY_ID": "AKIDBENCH", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_SESSION_TOKEN": "bench-token"}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def mmm(xs: list[float], fmt: str = "{:.1f}") -> str:
    if not xs:
        return "—"
    return "/".join(fmt.format(v) for v in (min(xs), statistics.median(xs), max(xs)))


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def human_bytes(n: float) -> str:
    return f"{n / MB:.2f} MB" if n >= 100_000 else f"{n / 1000:.1f} kB"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.args[0]} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} not open after {timeout} s")


# ----------------------------------------------------------------------------------------------------
# Processes we start, stopped by PID
# ----------------------------------------------------------------------------------------------------
STARTED: list[subprocess.Popen] = []


def start(cmd: list[str], **kw) -> subprocess.Popen:
    kw.setdefault("stdout", subprocess.DEVNULL)
    kw.setdefault("stderr", subprocess.DEVNULL)
    kw.setdefault("cwd", ROOT)
    p = subprocess.Popen(cmd, **kw)
    STARTED.append(p)
    return p


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
        except ProcessLookupError:
            pass
    if p in STARTED:
        STARTED.remove(p)


def stop_all() -> None:
    for p in list(reversed(STARTED)):
        stop(p)


# ----------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------
class Results:
    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.details: dict[str, list[str]] = {}
        self.problems: list[str] = []

    def add(self, section: str, figure: str, value: str | None, goal: str = "", vs: str = "", status: str = "",
            load: str | None = None) -> None:
        self.rows.append(dict(section=section, figure=figure, value=value, goal=goal, vs=vs, status=status,
                              load=load if load is not None else loadavg()))

    def missing(self, section: str, figures: list[str], why: str) -> None:
        for f in figures:
            self.add(section, f, None, status="MISSING")
        self.problems.append(f"{section}: {why}")

    def note(self, section: str, text: str) -> None:
        self.details.setdefault(section, []).append(text)


R = Results()


def verdict(ok: bool) -> str:
    return "met" if ok else "missed"




def tell_error(what: str, e: BaseException) -> None:
    """One line for a failure (the traceback only with BENCH_DEBUG=1)."""
    if DEBUG:
        traceback.print_exc()
    if isinstance(e, FileNotFoundError) and e.filename:
        log(f"{what}: {e.filename} not found (bash bench/setup.sh installs the bench's tools)")
    else:
        log(f"{what}: {type(e).__name__}: {e}")


# The programs each section runs (beyond our own binaries and python): a missing one skips the section with
# a one-line reason instead of failing in the middle of it.
TOOLS = {"init": ["valgrind", "strace"], "warm": ["valgrind"], "scaling": ["node"], "dev": ["wrk"]}


def want(section: str) -> bool:
    return not ONLY or section in ONLY
