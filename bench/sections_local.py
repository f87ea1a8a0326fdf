"""Sections 4-6: the dev server (scaling with data size, throughput under wrk) and the deploy CLI against
moto."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from fakes import dynamo_items
from harness import *  # noqa: F403


# ----------------------------------------------------------------------------------------------------
# 4. Scaling
# ----------------------------------------------------------------------------------------------------
def todo_json(i: int, seed: str) -> bytes:
    return json.dumps({"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}-{i}")),
                       "description": f"Todo number {i}: water the plants, then write the weekly report",
                       "priority": ["low", "normal", "high"][i % 3],
                       **({"dueDate": "2026-12-%02d" % (1 + i % 28)} if i % 2 == 0 else {})}).encode()


def post_many(port: int, start_i: int, end_i: int, seed: str, threads: int = 8) -> None:
    def worker(k: int) -> None:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(start_i + k, end_i, threads):
            c.request("POST", "/v1/todos", body=todo_json(i, seed), headers={"content-type": "application/json"})
            r = c.getresponse()
            r.read()
            if r.status != 204:
                raise RuntimeError(f"seed POST → {r.status}")
        c.close()

    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(worker, range(threads)))


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out


def get_walk(port: int, pid: int) -> dict:
    """First response and the full cursor walk of GET /v1/todos; peak RSS above the RSS before the request."""
    def reset_peak() -> int:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return proc_status(pid)["VmRSS"]

    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    base = reset_peak()
    t0 = time.perf_counter()
    c.request("GET", "/v1/todos")
    r = c.getresponse()
    body = r.read()
    t_first = time.perf_counter() - t0
    if r.status != 200:
        raise RuntimeError(f"GET /v1/todos → {r.status}: {body[:200]!r}")
    peak_first = proc_status(pid)["VmHWM"] - base
    first_bytes, first_items = len(body), body.count(b'"id":')  # counting, not parsing: the client stays cheap
    items, pages, total_bytes = first_items, 1, first_bytes
    cursor = r.getheader("x-next-cursor")
    while cursor:
        c.request("GET", "/v1/todos?cursor=" + cursor)
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"GET cursor → {r.status}")
        items += body.count(b'"id":')
        pages += 1
        total_bytes += len(body)
        cursor = r.getheader("x-next-cursor")
    t_walk = time.perf_counter() - t0
    peak_walk = proc_status(pid)["VmHWM"] - base
    c.close()
    return dict(t_first=t_first, t_walk=t_walk, first_bytes=first_bytes, first_items=first_items, items=items,
                pages=pages, bytes=total_bytes, peak_first=peak_first, peak_walk=peak_walk,
                rss=proc_status(pid)["VmRSS"])


class Dynalite:
    """dynalite (the tests' DynamoDB emulator) on a free loopback port, spoken to with boto3."""

    def __init__(self) -> None:
        import boto3  # the bench venv's (bench/setup.sh); imported here so the other sections run without it
        from botocore.config import Config

        self.proc = start(["node", DYNALITE_JS], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"listening (\d+)", line)
        if not m:
            raise RuntimeError(f"dynalite did not start: {line!r}")
        self.port = int(m.group(1))
        self.client = boto3.client(
            "dynamodb", endpoint_url=f"http://127.0.0.1:{self.port}", region_name=REGION,
            aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=CREDS["AWS_SESSION_TOKEN"],
            config=Config(retries={"max_attempts": 3}, read_timeout=120, max_pool_connections=8))

    def create_table(self, table: str) -> None:
        self.client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                                 AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "S"}],
                                 KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}])

    def seed(self, table: str, start_i: int, end_i: int, seed: str) -> None:
        items = dynamo_items(end_i, seed)[start_i:end_i]
        batches = [items[i:i + 25] for i in range(0, len(items), 25)]

        def put(batch: list) -> None:
            req = {table: [{"PutRequest": {"Item": it}} for it in batch]}
            while req:
                req = self.client.batch_write_item(RequestItems=req).get("UnprocessedItems") or None

        with ThreadPoolExecutor(4) as ex:
            list(ex.map(put, batches))

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        stop(self.proc)


def section_scaling() -> None:
    s = "4 scaling"
    rows = {}
    with tempfile.TemporaryDirectory() as d:
        for store in ("embedded", "dynalite"):
            dyn = None
            try:
                port = free_port()
                env = dict(os.environ, RUST_LOG="warn")
                if store == "embedded":
                    args = ["--data", os.path.join(d, "todos.redb")]
                else:
                    dyn = Dynalite()
                    dyn.create_table("todos-bench")
                    env.update(CREDS, AWS_REGION=REGION, TABLE_NAME="todos-bench",
                               AWS_ENDPOINT_URL=f"http://127.0.0.1:{dyn.port}")
                    args = ["--dynamodb"]
                srv = start([DEV_SERVER, "--host", "127.0.0.1", "--port", str(port), *args], env=env)
                wait_port(port, srv)
                have = 0
                for n in SCALE_SIZES:
                    t = time.time()
                    if store == "embedded":
                        post_many(port, have, n, "scale")
                    else:
                        dyn.seed("todos-bench", have, n, "scale")
                    log(f"  {store}: seeded {n - have} items in {time.time() - t:.1f} s")
                    have = n
                    runs = [get_walk(port, srv.pid) for _ in range(3 if n <= 10_000 else 2)]
                    if runs[0]["items"] != n:
                        raise RuntimeError(f"{store}: walk returned {runs[0]['items']} items, seeded {n}")
                    rows[(store, n)] = runs
                    log(f"  {store} {n}: first {runs[0]['t_first'] * 1000:.1f} ms walk {runs[0]['t_walk'] * 1000:.1f} ms "
                        f"peak {runs[0]['peak_first'] / MB:.1f} MB")
                stop(srv)
            except Exception as e:  # noqa: BLE001
                R.problems.append(f"scaling {store}: {e}")
                tell_error(f"scaling {store}", e)
            finally:
                if dyn:
                    dyn.close()
    load = loadavg()
    for store in ("embedded", "dynalite"):
        for n in SCALE_SIZES:
            runs = rows.get((store, n))
            fig = f"GET /todos {store} {n:,} items: first response ms · full walk ms · peak RSS Δ first/walk"
            if not runs:
                R.add(s, fig, None, status="MISSING")
                continue
            r0 = runs[0]
            R.add(s, fig, f"{mmm([r['t_first'] * 1000 for r in runs])} · {mmm([r['t_walk'] * 1000 for r in runs])} · "
                          f"{max(r['peak_first'] for r in runs) / MB:.1f}/{max(r['peak_walk'] for r in runs) / MB:.1f} MB",
                  "", f"first {human_bytes(r0['first_bytes'])} ({r0['first_items']:,} items), {r0['pages']} page(s)",
                  load=load)
        # linearity: time per item of the full walk, smallest vs largest
        if all((store, n) in rows for n in SCALE_SIZES) and len(SCALE_SIZES) > 1:
            per_item = {n: statistics.median(r["t_walk"] for r in rows[(store, n)]) / n * 1e6 for n in SCALE_SIZES}
            R.note(s, f"{store}: full-walk time per item (µs) " + ", ".join(f"{n:,}: {v:.2f}" for n, v in per_item.items())
                   + f"; first-response peak RSS Δ stays ≤ {max(max(r['peak_first'] for r in rows[(store, n)]) for n in SCALE_SIZES) / MB:.1f} MB "
                   f"while the data grows to {max(r['bytes'] for r in rows[(store, SCALE_SIZES[-1])]) / MB:.1f} MB of JSON.")
    R.note(s, "Release dev-server (`--data FILE` = embedded redb store; `--dynamodb` against dynalite in memory), one "
              "server per store, data grown in place. Peak RSS Δ = VmHWM after the request(s) − VmRSS before "
              "(peak reset through /proc/PID/clear_refs). Times: min/median/max of 3 runs (2 at 100,000).")


# ----------------------------------------------------------------------------------------------------
# 5. Local dev server under wrk
# ----------------------------------------------------------------------------------------------------
WRK_POST_LUA = """
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
local bodies = {}
%s
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, bodies[(i %% #bodies) + 1])
end
"""


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def wrk(url: str, pid: int, script: str | None = None) -> dict:
    cmd = ["wrk", "-t2", "-c64", f"-d{WRK_SECONDS}s", "--timeout", "5s", "--latency"]
    if script:
        cmd += ["-s", script]
    load = loadavg()
    cpu0 = cpu_seconds(pid)
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=WRK_SECONDS + 60).stdout
    cpu = cpu_seconds(pid) - cpu0
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))

    def lat(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        v, u = float(m.group(1)), m.group(2)
        return v / 1000 if u == "us" else v * 1000 if u == "s" else v

    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return dict(rps=rps, p50=lat("50"), p99=lat("99"), non2xx=int(non2xx.group(1)) if non2xx else 0,
                errors=errors.group(0) if errors else "", load=load, cpu_us=cpu / max(total, 1) * 1e6)


def section_dev() -> None:
    s = "5 dev server"
    with tempfile.TemporaryDirectory() as d:
        for store, args in (("embedded", ["--data", os.path.join(d, "todos.redb")]), ("memory", ["--memory"])):
            port = free_port()
            srv = start([DEV_SERVER, "--host", "127.0.0.1", "--port", str(port), *args],
                        env=dict(os.environ, RUST_LOG="warn"))
            try:
                wait_port(port, srv)
                post_many(port, 0, 100, "dev", threads=4)
                lua = os.path.join(d, "post.lua")
                with open(lua, "w") as f:
                    f.write(WRK_POST_LUA % "\n".join(
                        f"bodies[{i + 1}] = {json.dumps(todo_json(i, 'dev').decode())}" for i in range(100)))
                url = f"http://127.0.0.1:{port}/v1/todos"
                g = wrk(url, srv.pid)
                p = wrk(url, srv.pid, lua)
                c = http.client.HTTPConnection("127.0.0.1", port)
                c.request("GET", "/v1/todos")
                n = len(json.loads(c.getresponse().read()))
                c.close()
            finally:
                stop(srv)
            if n != 100:
                R.problems.append(f"dev {store}: {n} todos after the POST run (want 100)")
            goal = store == "embedded"
            R.add(s, f"GET /todos (100 items), {store} store: req/s · p50 · p99 ms · server CPU µs/req",
                  f"{g['rps']:,.0f} · {g['p50']:.2f} · {g['p99']:.2f} · {g['cpu_us']:.0f}", "≥ 20,000 req/s" if goal else "",
                  f"{g['rps'] / 20000:.2f}× goal", verdict(g["rps"] >= 20000) if goal else "", load=g["load"])
            R.add(s, f"POST /todos, {store} store: req/s · p50 · p99 ms · server CPU µs/req",
                  f"{p['rps']:,.0f} · {p['p50']:.2f} · {p['p99']:.2f} · {p['cpu_us']:.0f}",
                  load=p["load"])
            for k, v in (("GET", g), ("POST", p)):
                if v["non2xx"] or v["errors"]:
                    R.note(s, f"{store} {k}: non-2xx {v['non2xx']}, {v['errors']}")
    R.note(s, f"wrk -t2 -c64 -d{WRK_SECONDS}s --latency on loopback, release dev-server; wrk and the server share "
              "the 2 cores (server CPU µs/request = the server's utime+stime over the run / requests: the load-independent "
              "figure; 1e6 / (that / 2 cores) bounds req/s if wrk took no CPU). POST cycles over the 100 existing ids (insert-or-replace), so the list stays at 100. "
              "The embedded store commits every POST to its file (redb, durable) — POST/s is bounded by fsync.")


# ----------------------------------------------------------------------------------------------------
# 6. Deploy against moto
# ----------------------------------------------------------------------------------------------------
def section_deploy() -> None:
    s = "6 deploy"
    if not os.path.exists(MOTO):
        R.missing(s, ["preview", "no-op up"], f"moto server not found at {MOTO} (make deps)")
        return
    if not os.path.exists(ARM_ZIP):
        R.missing(s, ["preview", "no-op up"], "target/lambda/bootstrap.zip missing")
        return
    with tempfile.TemporaryDirectory() as d:
        # A scratch workspace root, so the outputs land in <tmp>/.stacks, not in the repository's .stacks.
        os.makedirs(os.path.join(d, "iac", "stacks"))
        shutil.copy(os.path.join(ROOT, "iac", "stacks", "dev.toml"), os.path.join(d, "iac", "stacks"))
        with open(os.path.join(d, "Cargo.toml"), "w") as f:
            f.write('[workspace]\nmembers = ["iac"]\n')
        port = free_port()
        moto_log = os.path.join(d, "moto.log")
        logf = open(moto_log, "wb")
        moto = start([MOTO, "-H", "127.0.0.1", "-p", str(port)], stdout=logf, stderr=subprocess.STDOUT,
                     env=dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true"))
        logf.close()
        try:
            wait_port(port, moto, 60)
            env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_REGION=REGION,
                       AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=os.path.join(d, "no-aws-config"),
                       AWS_SHARED_CREDENTIALS_FILE=os.path.join(d, "no-aws-credentials"), **CREDS)
            env.pop("AWS_PROFILE", None)

            def run(args: list[str]) -> tuple[float, int | None, int, str]:
                before = os.path.getsize(moto_log)
                t = time.perf_counter()
                p = subprocess.run([IAC, *args, "--stack", "dev"], cwd=d, env=env, capture_output=True, text=True,
                                   timeout=600)
                wall = time.perf_counter() - t
                if p.returncode != 0:
                    raise RuntimeError(f"iac {args[0]} failed ({p.returncode}): {(p.stderr or p.stdout)[-1500:]}")
                time.sleep(0.2)
                with open(moto_log, "rb") as f:
                    f.seek(before)
                    seen = len(re.findall(rb'"(?:GET|POST|PUT|DELETE|PATCH|HEAD) ', f.read()))
                out = p.stdout + p.stderr
                m = re.search(r"(\d+) AWS calls", out)
                return wall, int(m.group(1)) if m else None, seen, out

            # a private copy: another build rewriting target/lambda/bootstrap.zip mid-run would turn a no-op into an update
            zip_copy = os.path.join(d, "bootstrap.zip")
            shutil.copy(ARM_ZIP, zip_copy)
            zip_args = ["--zip", zip_copy]
            first = run(["up", "--yes", *zip_args])
            previews = [run(["preview", *zip_args]) for _ in range(3)]
            noops = [run(["up", "--yes", *zip_args]) for _ in range(3)]
        finally:
            stop(moto)
    load = loadavg()
    R.add(s, "first up (create everything): wall s · AWS calls (iac / seen by moto)",
          f"{first[0]:.2f} · {first[1]} / {first[2]}", load=load)
    R.add(s, "preview: wall s min/med/max · AWS calls seen by moto",
          f"{mmm([p[0] for p in previews], '{:.2f}')} · {previews[0][2]}", load=load)
    R.add(s, "no-op up: wall s min/med/max · AWS calls (iac / seen by moto)",
          f"{mmm([p[0] for p in noops], '{:.2f}')} · {noops[0][1]} / {noops[0][2]}", load=load)
    plan = [l.strip() for l in noops[0][3].splitlines() if l.strip().startswith("Plan:")]
    plan += [l.rstrip() for l in noops[0][3].splitlines() if re.match(r"\s*[~+-/]\s", l)][:5]
    plan += ["later no-op ups: " + "; ".join(l.strip() for p in noops[1:] for l in p[3].splitlines()
                                             if l.strip().startswith("Plan:"))]
    R.note(s, "iac debug build (what `make preview` / `make up` run), moto server on loopback, a scratch workspace root "
              "so nothing is written to the repository's .stacks/. 'seen by moto' counts HTTP requests in moto's log.")
    if plan:
        R.note(s, "no-op up (the first after the creating up): " + " · ".join(f"`{p}`" for p in plan))
