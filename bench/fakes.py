"""Out-of-process fakes for the benchmarks, on loopback only.

* `FakeRuntime` — the Lambda Runtime API (`next`, `response`, `error`): serves N events, then answers the
  next `next` by closing the connection and the listener, so the function's runtime loop fails and the
  process exits. It records when the first `next` arrives (end of init) and, per event, the time from
  handing the event out to receiving its response (the warm-invoke latency, as the platform sees it).
* `CannedDynamo` — answers DynamoDB JSON-1.0 calls with fixed bytes: Scan → 100 items, Query (the
  signed-in listing) → the same 100 items, each with a `UserId` attribute unless the request's
  ProjectionExpression leaves it out, PutItem / DeleteItem → `{}`. It keeps the first request (body and
  headers) of each operation, so the harness can check what was asked and how it was signed.
  Plain HTTP, so no TLS and no emulator is measured in warm invokes.

Both run in the harness's Python process, on threads, so callgrind (on the function's process) counts
only the function.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[_Server, int]:
    """Serves `handler` on a free loopback port from a daemon thread; returns the server and its port."""
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, server.server_address[1]


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without TCP_NODELAY, Nagle + the peer's delayed ACK
    # would add ~40 ms to every keep-alive exchange
    disable_nagle_algorithm = True

    def log_message(self, *_args) -> None:  # no per-request logging
        pass

    def _body(self) -> bytes:
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status: int, body: bytes, ctype: str = "application/json", extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


class FakeRuntime:
    """Serves `events` (cycled) `n` times, then ends the function by closing the connection."""

    PREFIX = "/2018-06-01/runtime"

    def __init__(self, events: list[bytes], n: int, before_end: Callable[[], None] | None = None) -> None:
        """`before_end`, if given, runs when the function asks for the event after the last one, while it
        still waits for the answer (to read its /proc figures before it exits)."""
        self.events = events
        self.n = n
        self.before_end = before_end
        self.served = 0
        self.responses = 0
        self.errors = 0
        self.first_next_at: float | None = None
        self.sent_at: dict[str, float] = {}
        self.latencies: list[float] = []  # seconds, in event order
        self.bodies: list[bytes] = []  # first few response bodies, for sanity checks
        self.finished = threading.Event()
        self.lock = threading.Lock()
        runtime = self

        class Handler(_Quiet):
            def do_GET(self) -> None:  # noqa: N802
                if not self.path.startswith(FakeRuntime.PREFIX + "/invocation/next"):
                    self._send(404, b'{"errorMessage":"unknown"}')
                    return
                now = time.perf_counter()
                with runtime.lock:
                    if runtime.first_next_at is None:
                        runtime.first_next_at = now
                    if runtime.served >= runtime.n:
                        if runtime.before_end is not None:
                            runtime.before_end()
                        runtime.finished.set()
                        self.close_connection = True
                        # no answer at all: the runtime's `next` fails and the process exits
                        threading.Thread(target=runtime.server.shutdown, daemon=True).start()
                        try:
                            self.connection.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                        return
                    i = runtime.served
                    runtime.served += 1
                rid = f"bench-{i:06d}-{uuid.uuid4().hex[:8]}"
                body = runtime.events[i % len(runtime.events)]
                deadline = str(int(time.time() * 1000) + 3000)
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.send_header("lambda-runtime-aws-request-id", rid)
                self.send_header("lambda-runtime-deadline-ms", deadline)
                self.send_header("lambda-runtime-invoked-function-arn",
                                 "arn:aws:lambda:us-east-1:123456789012:function:bench")
                self.send_header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0")
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                runtime.sent_at[rid] = time.perf_counter()

            def do_POST(self) -> None:  # noqa: N802
                now = time.perf_counter()
                body = self._body()
                parts = self.path.split("/")
                # /2018-06-01/runtime/invocation/<id>/response | /error ; /init/error
                if len(parts) >= 6 and parts[3] == "invocation":
                    rid, kind = parts[4], parts[5]
                    with runtime.lock:
                        t0 = runtime.sent_at.pop(rid, None)
                        if t0 is not None:
                            runtime.latencies.append(now - t0)
                        if kind == "response":
                            runtime.responses += 1
                        else:
                            runtime.errors += 1
                        if len(runtime.bodies) < 3:
                            runtime.bodies.append(body)
                else:
                    with runtime.lock:
                        runtime.errors += 1
                        runtime.bodies.append(body)
                self._send(202, b'{"status":"OK"}')

        self.server, self.port = _serve(Handler)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        if not self.finished.is_set():
            self.finished.set()
            self.server.shutdown()
        self.server.server_close()


def dynamo_items(n: int, seed: str = "bench") -> list[dict]:
    """`n` todos as DynamoDB items, in the Go service's shape."""
    prios = ["low", "normal", "high"]
    out = []
    for i in range(n):
        item = {
            "Id": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}-{i}"))},
            "Description": {"S": f"Todo number {i}: water the plants, then write the weekly report"},
            "Priority": {"S": prios[i % 3]},
        }
        item["DueDate"] = {"S": "2026-12-%02d" % (1 + i % 28)} if i % 2 == 0 else {"S": ""}
        out.append(item)
    return out


class CannedDynamo:
    """DynamoDB on loopback with canned answers; counts calls by operation and keeps the first request
    body of each operation (for checks: which owner a Query asked for, what a PutItem wrote)."""

    QUERY_USER = "7c1e4a52-3b0f-4d6e-9a18-2f5b6c7d8e90"  # the `sub` of lambda/tests/data/apigw-v2-jwt-*.json

    def __init__(self, scan_items: int = 100, query_user: str = QUERY_USER) -> None:
        items = dynamo_items(scan_items)
        self.scan_body = json.dumps({"Count": len(items), "ScannedCount": len(items), "Items": items}).encode()
        # Query on a table keyed UserId + Id: the same items, in the user's partition
        mine = [{"UserId": {"S": query_user}, **item} for item in items]
        self.query_body = json.dumps({"Count": len(mine), "ScannedCount": len(mine), "Items": mine}).encode()
        self.calls: dict[str, int] = {}
        self.first_request: dict[str, bytes] = {}
        self.first_headers: dict[str, dict[str, str]] = {}  # lower-case names
        canned = self

        class Handler(_Quiet):
            def do_POST(self) -> None:  # noqa: N802
                req = self._body()
                op = (self.headers.get("x-amz-target") or "").rpartition(".")[2]
                canned.calls[op] = canned.calls.get(op, 0) + 1
                canned.first_request.setdefault(op, req)
                canned.first_headers.setdefault(op, {k.lower(): v for k, v in self.headers.items()})
                if op == "Scan":
                    body = canned.scan_body
                elif op == "Query":
                    body = canned.query_answer(req)
                else:
                    body = b"{}"
                self._send(200, body, "application/x-amz-json-1.0", {"x-amzn-requestid": "bench"})

        self.server, self.port = _serve(Handler)

    def query_answer(self, req: bytes) -> bytes:
        """The Query answer, cut down to the request's ProjectionExpression as DynamoDB does."""
        body = json.loads(req or b"{}")
        projection = body.get("ProjectionExpression")
        if not projection:
            return self.query_body
        names = body.get("ExpressionAttributeNames", {})
        keep = {names.get(t.strip(), t.strip()) for t in projection.split(",")}
        items = [{k: v for k, v in item.items() if k in keep} for item in json.loads(self.query_body)["Items"]]
        return json.dumps({"Count": len(items), "ScannedCount": len(items), "Items": items}).encode()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
