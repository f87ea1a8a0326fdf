"""Running a Lambda binary (bootstrap, floor, peer) against the fake Runtime API and canned DynamoDB
(bench/fakes.py): events, environment, callgrind totals, and the per-binary figures shared by sections."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import time

from fakes import CannedDynamo, FakeRuntime
from harness import *  # noqa: F403


# ----------------------------------------------------------------------------------------------------
# Lambda runs against the fake Runtime API
# ----------------------------------------------------------------------------------------------------
def event(name: str) -> bytes:
    with open(os.path.join(DATA, name), "rb") as f:
        return json.dumps(json.load(f), separators=(",", ":")).encode()


GET_EVENT = event("apigw-v2-get-todos.json")
POST_EVENT = event("apigw-v2-post-todo.json")
# Sign-in on: the same requests as API Gateway hands them on behind its JWT authorizer (the Authorization header
# passed through, the verified claims in requestContext.authorizer.jwt.claims); run with SIGNED_IN_ENV.
JWT_GET_EVENT = event("apigw-v2-jwt-get-todos.json")
JWT_POST_EVENT = event("apigw-v2-jwt-post-todo.json")
SIGNED_IN_ENV = {"AUTH_MODE": "jwt"}


def peer_event() -> bytes:
    """The POST event with the body the official example reads (its `Item`: five strings); the rest of the
    event (headers, request context) is ours, so both functions read the same amount of JSON around it."""
    doc = json.loads(POST_EVENT)
    doc["body"] = json.dumps({"account_type": "standard", "age": "42", "username": "jdoe", "first_name": "Jane",
                              "last_name": "Doe"}, separators=(",", ":"))
    doc["headers"]["content-length"] = str(len(doc["body"]))
    return json.dumps(doc, separators=(",", ":")).encode()


PEER_POST_EVENT = peer_event()


def lambda_env(rt: FakeRuntime, ddb: CannedDynamo | None, extra: dict | None = None) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": rt.address,
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "TABLE_NAME": "todos-bench",
        "TZ": ":UTC",
        **CREDS,
    }
    if ddb is not None:
        env["AWS_ENDPOINT_URL"] = ddb.url
    env.update(extra or {})
    return env


def run_lambda(binary: str, events: list[bytes], n: int, callgrind: bool = False, extra_env: dict | None = None,
               timeout: float = 900, rss: bool = False) -> dict:
    """Runs `binary` against a fresh fake runtime + canned DynamoDB for `n` events. `rss`: also the process's
    peak resident set (VmHWM, read when it asks for the event after the last), in bytes, as out["peak_rss"]."""
    ddb = CannedDynamo(100)
    pid: list[int] = []
    peak: list[int] = []

    def read_peak() -> None:
        if pid:
            with open(f"/proc/{pid[0]}/status") as f:
                peak.extend(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))

    rt = FakeRuntime(events, n, read_peak if rss else None)
    try:
        cmd = [binary]
        if callgrind:
            cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", binary]
        t0 = time.perf_counter()
        p = start(cmd, env=lambda_env(rt, ddb, extra_env), stderr=subprocess.PIPE if callgrind else subprocess.DEVNULL)
        pid.append(p.pid)
        try:
            _, err = p.communicate(timeout=timeout)
        finally:
            stop(p)
        t_end = time.perf_counter()
        out = {"rt": rt, "ddb_calls": dict(ddb.calls), "ddb_first": dict(ddb.first_request),
               "ddb_headers": dict(ddb.first_headers), "exit": p.returncode,
               "wall": t_end - t0,
               "init_wall": (rt.first_next_at - t0) if rt.first_next_at else None}
        if rss:
            if not peak:
                raise RuntimeError(f"{os.path.basename(binary)}: no VmHWM read before it ended")
            out["peak_rss"] = peak[0]
        if callgrind:
            text = err.decode(errors="replace")
            m = re.search(r"Collected\s*:\s*(\d+)", text)
            if not m:
                raise RuntimeError(f"no 'Collected' line from callgrind: {text[-800:]}")
            out["ir"] = int(m.group(1))
        if rt.responses != n:
            raise RuntimeError(f"{os.path.basename(binary)}: {rt.responses} responses, {rt.errors} errors for {n} "
                               f"events (first bodies {rt.bodies[:2]!r})")
        return out
    finally:
        rt.close()
        ddb.close()


def check_status(rt: FakeRuntime, want: int, what: str) -> None:
    if not rt.bodies:
        return
    body = json.loads(rt.bodies[0])
    if body.get("statusCode") != want:
        raise RuntimeError(f"{what}: statusCode {body.get('statusCode')} (want {want}): {rt.bodies[0][:300]!r}")


def check_ddb(r: dict, n: int, per_event: dict[str, int], what: str) -> None:
    """The canned DynamoDB saw exactly `per_event` calls (by operation) for each of the `n` events."""
    want = {op: k * n for op, k in per_event.items()}
    if r["ddb_calls"] != want:
        raise RuntimeError(f"{what}: canned DynamoDB calls {r['ddb_calls']} (want {want})")


def check_signature(r: dict, op: str, what: str) -> None:
    """The bootstrap signs its DynamoDB requests itself (lambda/src/store/sigv4.rs): the first `op` request's
    Authorization header must be what botocore's SigV4 computes for the same request, time and credentials
    over the same signed headers. A mismatch would fail every call on AWS (the emulators do not check)."""
    import botocore.auth
    import botocore.credentials
    from botocore.awsrequest import AWSRequest

    headers, body = r["ddb_headers"][op], r["ddb_first"][op]
    signed = re.search(r"SignedHeaders=([^,]+)", headers.get("authorization", ""))
    if not signed:
        raise RuntimeError(f"{what}: {op} request has no SigV4 Authorization header: {headers}")
    names = signed.group(1).split(";")
    at = dt.datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    request = AWSRequest(method="POST", url=f"http://{headers['host']}/", data=body,
                         headers={k: headers[k] for k in names if k not in ("host", "x-amz-date", "x-amz-security-token")})
    creds = botocore.credentials.Credentials(CREDS["AWS_ACCESS_KEY_ID"], CREDS["AWS_SECRET_ACCESS_KEY"],
                                             CREDS["AWS_SESSION_TOKEN"])

    class At(dt.datetime):  # botocore signs "now": the request's own x-amz-date here
        @classmethod
        def utcnow(cls):  # noqa: ANN206
            return at

        @classmethod
        def now(cls, tz=None):  # noqa: ANN206
            return at.replace(tzinfo=tz) if tz else at

    saved = botocore.auth.datetime.datetime
    botocore.auth.datetime.datetime = At
    try:
        botocore.auth.SigV4Auth(creds, "dynamodb", REGION).add_auth(request)
    finally:
        botocore.auth.datetime.datetime = saved
    if request.headers["Authorization"] != headers["authorization"]:
        raise RuntimeError(f"{what}: {op} signature differs from botocore's SigV4:\n  bootstrap {headers['authorization']}"
                           f"\n  botocore  {request.headers['Authorization']}")


def cg_init_and_event(binary: str, ev: bytes, what: str, want_status: int, extra_env: dict | None = None,
                      ddb_per_event: dict[str, int] | None = None, seen: dict | None = None) -> tuple[int, float, int]:
    """callgrind total(N=1) and total(N=1+EVENTS) → (init, per-event, total(0)).
    `ddb_per_event` (e.g. {"Query": 1}): the DynamoDB calls each event must make, checked in both runs.
    `seen`, if given, receives the N=1 run's response body and first DynamoDB request body per operation."""
    r1 = run_lambda(binary, [ev], 1, callgrind=True, extra_env=extra_env)
    check_status(r1["rt"], want_status, what)
    rn = run_lambda(binary, [ev], 1 + EVENTS, callgrind=True, extra_env=extra_env)
    if ddb_per_event is not None:
        check_ddb(r1, 1, ddb_per_event, what)
        check_ddb(rn, 1 + EVENTS, ddb_per_event, what)
    if seen is not None:
        seen.update(response=json.loads(r1["rt"].bodies[0]), ddb_first=r1["ddb_first"], ddb_headers=r1["ddb_headers"],
                    ddb_calls=rn["ddb_calls"])
    per_event = (rn["ir"] - r1["ir"]) / EVENTS
    init = r1["ir"] - per_event
    log(f"  callgrind {what}: total(1)={r1['ir']:,} total({1 + EVENTS})={rn['ir']:,} per event={per_event:,.0f}")
    return int(init), per_event, r1["ir"]



FLOOR_CG: dict = {}


def floor_cg() -> dict:
    if not FLOOR_CG:
        init, per, total1 = cg_init_and_event(FLOOR, GET_EVENT, "floor GET", 200)
        r0 = run_lambda(FLOOR, [GET_EVENT], 0, callgrind=True)
        FLOOR_CG.update(init=init, per=per, total0=r0["ir"])
    return FLOOR_CG


PEER_CG: dict = {}


def peer_cg() -> dict:
    """The official example (bench/peer) on the POST event with its own body: init and per-event instructions."""
    if not PEER_CG:
        init, per, _ = cg_init_and_event(PEER, PEER_POST_EVENT, "peer POST (official example)", 200,
                                         ddb_per_event={"PutItem": 1})
        PEER_CG.update(init=init, per=per)
    return PEER_CG



BOOT_CG: dict = {}
