#!/usr/bin/env python3
"""Runs the real arm64 Lambda artifact under qemu user emulation against a local DynamoDB emulator.

    bash lambda/tests/arm64/run.sh        (or: python3 lambda/tests/arm64/run_arm64.py)

What it does, all on loopback:
  * takes `bootstrap` out of target/lambda/bootstrap.zip (the file that is deployed) and checks the entry;
  * starts dynalite on a free port and creates the table (hash key `Id` S) with SigV4-signed calls;
  * starts a fake Lambda Runtime API (next / response / error / init error);
  * runs `qemu-aarch64-static -L /usr/aarch64-linux-gnu bootstrap` with the environment Lambda gives;
  * feeds API Gateway HTTP API (payload 2.0, stage v1) events for every route and checks the answers,
    the items in the table, the log lines, and that one process serves every event;
  * then runs a second instance against dynalite behind a loopback TLS proxy (https endpoint, test CA
    from tls/ through SSL_CERT_FILE), so the binary's own TLS stack and certificate check are exercised.

Prints `arm64 qemu: N passed, M failed` and exits non-zero on any failure. Everything it starts is
stopped by PID on exit, on failure, on Ctrl-C/SIGTERM and after the overall time limit.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ZIP = os.path.join(ROOT, "target", "lambda", "bootstrap.zip")
BINARY = os.path.join(ROOT, "target", "lambda", "bootstrap")
DYNALITE = os.path.join(ROOT, "lambda", "tests", "emulator", "node_modules", "dynalite", "cli.js")
TLS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls")  # test-only CA and server cert
QEMU = shutil.which("qemu-aarch64-static") or "/usr/bin/qemu-aarch64-static"
SYSROOT = "/usr/aarch64-linux-gnu"

REGION = "us-east-1"
TABLE = "todos-arm64-test"
FUNCTION = "todos-arm64-test"
ACCOUNT = "123456789012"
API_ID = "a1b2c3d4e5"
ACCESS_KEY, SECRET_KEY = "AKIDARM64TEST", "arm64-test-secret"

TOTAL_TIMEOUT_S = int(os.environ.get("ARM64_TEST_TIMEOUT", "300"))  # whole run
START_TIMEOUT_S = 90  # bootstrap start-up under qemu, on a busy 2-core machine
INVOKE_TIMEOUT_S = 30  # one invocation (the first builds connections under emulation)


# ----------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------
class Results:
    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"  ok    {name}", flush=True)
        else:
            self.failed.append(name)
            print(f"  FAIL  {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok


class Abort(Exception):
    """Stops the run: what follows cannot be tested."""


# ----------------------------------------------------------------------------------------------------
# Processes we start: stopped by PID, always
# ----------------------------------------------------------------------------------------------------
STARTED: list[subprocess.Popen] = []


def start(cmd: list[str], env: dict[str, str], log_path: str) -> subprocess.Popen:
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    log.close()
    STARTED.append(proc)
    return proc


def stop_all() -> None:
    for proc in reversed(STARTED):
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            except ProcessLookupError:
                pass
    STARTED.clear()


def on_signal(signum, _frame):
    raise Abort(f"signal {signal.Signals(signum).name}" + (" (overall time limit)" if signum == signal.SIGALRM else ""))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Abort(f"{what} exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise Abort(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def tail(path: str, lines: int = 40) -> str:
    try:
        with open(path, "rb") as f:
            return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ----------------------------------------------------------------------------------------------------
# DynamoDB emulator calls, signed with SigV4 (dynalite checks the Authorization header's shape)
# ----------------------------------------------------------------------------------------------------
def dynamo(port: int, action: str, body: dict, timeout: float = 10) -> tuple[int, dict]:
    payload = json.dumps(body).encode()
    now = dt.datetime.now(dt.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    host = f"127.0.0.1:{port}"
    headers = {
        "content-type": "application/x-amz-json-1.0",
        "host": host,
        "x-amz-date": amz_date,
        "x-amz-target": f"DynamoDB_20120810.{action}",
    }
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        ["POST", "/", "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed, hashlib.sha256(payload).hexdigest()]
    )
    scope = f"{day}/{REGION}/dynamodb/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + SECRET_KEY).encode()
    for part in (day, REGION, "dynamodb", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/", body=payload, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, (json.loads(data) if data else {})
    finally:
        conn.close()


def create_table(port: int) -> None:
    status, out = dynamo(
        port,
        "CreateTable",
        {
            "TableName": TABLE,
            "AttributeDefinitions": [{"AttributeName": "Id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "Id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    if status != 200:
        raise Abort(f"CreateTable failed: {status} {out}")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status, out = dynamo(port, "DescribeTable", {"TableName": TABLE})
        if status == 200 and out.get("Table", {}).get("TableStatus") == "ACTIVE":
            return
        time.sleep(0.1)
    raise Abort("table did not become ACTIVE within 15 s")


def scan_items(port: int) -> list[dict]:
    status, out = dynamo(port, "Scan", {"TableName": TABLE, "ConsistentRead": True})
    if status != 200:
        raise Abort(f"Scan failed: {status} {out}")
    return out.get("Items", [])


# ----------------------------------------------------------------------------------------------------
# Fake Lambda Runtime API
# ----------------------------------------------------------------------------------------------------
class RuntimeApi:
    PREFIX = "/2018-06-01/runtime"

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.lock = threading.Condition()
        self.results: dict[str, tuple[str, dict | None, bytes, dict]] = {}  # id -> (kind, json, raw, headers)
        self.init_errors: list[bytes] = []
        self.next_polls = 0
        self.unexpected: list[str] = []
        self.closing = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("content-length") or 0))

            def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != f"{api.PREFIX}/invocation/next":
                    api.unexpected.append(f"GET {self.path}")
                    return self._reply(404, b'{"errorType":"NotFound"}')
                with api.lock:
                    api.next_polls += 1
                    api.lock.notify_all()
                while not api.closing.is_set():
                    try:
                        request_id, payload = api.events.get(timeout=0.25)
                    except queue.Empty:
                        continue
                    deadline_ms = int(time.time() * 1000) + 3000
                    return self._reply(
                        200,
                        payload,
                        {
                            "Lambda-Runtime-Aws-Request-Id": request_id,
                            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                            "Lambda-Runtime-Invoked-Function-Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}",
                            "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0",
                        },
                    )
                self.close_connection = True

            def do_POST(self):
                body = self._body()
                parts = self.path[len(api.PREFIX):].strip("/").split("/") if self.path.startswith(api.PREFIX) else []
                if parts == ["init", "error"]:
                    api.init_errors.append(body)
                    with api.lock:
                        api.lock.notify_all()
                    return self._reply(202, b'{"status":"OK"}')
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    try:
                        doc = json.loads(body) if body else None
                    except ValueError:
                        doc = None
                    with api.lock:
                        api.results[parts[1]] = (parts[2], doc, body, dict(self.headers))
                        api.lock.notify_all()
                    return self._reply(202, b'{"status":"OK"}')
                api.unexpected.append(f"POST {self.path}")
                return self._reply(404, b'{"errorType":"NotFound"}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "RuntimeApi":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def wait_polls(self, count: int, timeout: float, proc: subprocess.Popen) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.next_polls < count and not self.init_errors:
                if proc.poll() is not None or time.monotonic() > deadline:
                    return False
                self.lock.wait(0.2)
            return self.next_polls >= count

    def invoke(self, event: dict | str, proc: subprocess.Popen, timeout: float = INVOKE_TIMEOUT_S):
        request_id = str(uuid.uuid4())
        payload = event.encode() if isinstance(event, str) else json.dumps(event).encode()
        self.events.put((request_id, payload))
        deadline = time.monotonic() + timeout
        with self.lock:
            while request_id not in self.results:
                if proc.poll() is not None:
                    raise Abort(f"bootstrap exited with status {proc.returncode} during invocation {request_id}")
                if time.monotonic() > deadline:
                    raise Abort(f"no response to invocation {request_id} within {timeout:.0f} s")
                self.lock.wait(0.2)
            return request_id, self.results[request_id]


# ----------------------------------------------------------------------------------------------------
# TLS in front of dynalite: the function talks HTTPS as it does to DynamoDB
# ----------------------------------------------------------------------------------------------------
class TlsProxy:
    def __init__(self, upstream_port: int) -> None:
        import ssl

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(os.path.join(TLS_DIR, "server.pem"), os.path.join(TLS_DIR, "server.key"))
        self.ctx = ctx
        self.upstream = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.25)
        self.port = self.listener.getsockname()[1]
        self.handshakes: list[str] = []  # negotiated TLS versions
        self.errors: list[str] = []
        self.sockets: list[socket.socket] = []
        self.closing = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                raw, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        self.sockets.append(raw)
        try:
            raw.settimeout(15)
            tls = self.ctx.wrap_socket(raw, server_side=True)
            self.handshakes.append(tls.version() or "?")
            up = socket.create_connection(("127.0.0.1", self.upstream), timeout=15)
        except Exception as e:  # a failed handshake is what the test looks for
            self.errors.append(f"{type(e).__name__}: {e}")
            raw.close()
            return
        self.sockets += [tls, up]

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for sock in (src, dst):
                    try:
                        sock.close()
                    except OSError:
                        pass

        threading.Thread(target=pump, args=(up, tls), daemon=True).start()
        pump(tls, up)

    def close(self) -> None:
        self.closing.set()
        for sock in [self.listener, *self.sockets]:
            try:
                sock.close()
            except OSError:
                pass


# ----------------------------------------------------------------------------------------------------
# API Gateway HTTP API events, payload format 2.0, as AWS sends them
# ----------------------------------------------------------------------------------------------------
def apigw_event(method: str, route: str, path: str, body: str | None = None, path_params: dict | None = None,
                base64_body: bool = False) -> dict:
    domain = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    now = dt.datetime.now(dt.timezone.utc)
    headers = {
        "accept": "application/json, text/plain, */*",
        "accept-encoding": "gzip, deflate, br",
        "accept-language": "en-GB,en;q=0.9",
        "host": domain,
        "origin": "http://localhost:8100",
        "referer": "http://localhost:8100/",
        "user-agent": "Mozilla/5.0 (X11; Linux aarch64) arm64-qemu-test",
        "x-amzn-trace-id": f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if body is not None:
        headers["content-type"] = "application/json"
        headers["content-length"] = str(len(body.encode()))
    event = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": f"/v1{path}",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "domainName": domain,
            "domainPrefix": API_ID,
            "http": {
                "method": method,
                "path": f"/v1{path}",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": headers["user-agent"],
            },
            "requestId": base64.b64encode(os.urandom(12)).decode().rstrip("=") + "=",
            "routeKey": route,
            "stage": "v1",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": base64_body,
    }
    if path_params:
        event["pathParameters"] = path_params
    if body is not None:
        event["body"] = base64.b64encode(body.encode()).decode() if base64_body else body
    return event


def header(doc: dict, name: str) -> str | None:
    for k, v in (doc.get("headers") or {}).items():
        if k.lower() == name:
            return v
    return None


# ----------------------------------------------------------------------------------------------------
# The test
# ----------------------------------------------------------------------------------------------------
def extract_artifact(r: Results, work: str) -> str:
    if not os.path.isfile(ZIP):
        raise Abort(f"{os.path.relpath(ZIP, ROOT)} not found: run `bash lambda/scripts/build-arm64.sh` first")
    with zipfile.ZipFile(ZIP) as z:
        infos = z.infolist()
        r.check("zip holds exactly one entry `bootstrap`", [i.filename for i in infos] == ["bootstrap"],
                str([i.filename for i in infos]))
        info = infos[0]
        mode = (info.external_attr >> 16) & 0o777
        r.check("zip entry is mode 0755 with a fixed date", mode == 0o755 and info.date_time == (1980, 1, 1, 0, 0, 0),
                f"mode {oct(mode)}, date {info.date_time}")
        out = os.path.join(work, "task")
        os.makedirs(out)
        path = z.extract(info, out)
    os.chmod(path, 0o755)
    with open(path, "rb") as f:
        data = f.read()
    r.check("zip entry is an aarch64 ELF", data[:4] == b"\x7fELF" and int.from_bytes(data[18:20], "little") == 183)
    if os.path.isfile(BINARY):
        with open(BINARY, "rb") as f:
            r.check("zip entry is byte-identical to target/lambda/bootstrap", f.read() == data)
    return path


def run(r: Results, work: str) -> None:
    for need, hint in [
        (QEMU, "apt-get install qemu-user-static (or run lambda/scripts/build-arm64.sh)"),
        (SYSROOT, "apt-get install libc6-dev-arm64-cross (or run lambda/scripts/build-arm64.sh)"),
        (DYNALITE, "npm ci --prefix lambda/tests/emulator"),
    ]:
        if not os.path.exists(need):
            raise Abort(f"{need} missing: {hint}")
    node = shutil.which("node")
    if not node:
        raise Abort("node not found (needed for dynalite)")

    bootstrap = extract_artifact(r, work)

    # DynamoDB emulator
    db_port = free_port()
    db_log = os.path.join(work, "dynalite.log")
    dynalite = start(
        [node, DYNALITE, "--host", "127.0.0.1", "--port", str(db_port), "--createTableMs", "0", "--deleteTableMs", "0"],
        dict(os.environ),
        db_log,
    )
    wait_port(db_port, dynalite, 20, "dynalite")
    create_table(db_port)
    print(f"  ..    dynalite pid {dynalite.pid} on 127.0.0.1:{db_port}, table {TABLE}", flush=True)

    # Runtime API
    with RuntimeApi() as api:
        run_function(r, work, api, bootstrap, db_port)

    # The same binary over HTTPS (its TLS stack, certificate store and verification).
    print("  ..    second instance: DynamoDB endpoint over TLS", flush=True)
    proxy = TlsProxy(db_port)
    try:
        with RuntimeApi() as api:
            run_tls(r, work, api, bootstrap, db_port, proxy)

        # Without SSL_CERT_FILE the function trusts only the embedded AWS roots: the test CA is refused.
        print("  ..    third instance: TLS with a certificate outside the AWS roots", flush=True)
        with RuntimeApi() as api:
            run_tls_untrusted(r, work, api, bootstrap, proxy)
    finally:
        proxy.close()


def function_env(work: str, api: RuntimeApi, bootstrap: str, endpoint: str) -> dict[str, str]:
    home = os.path.join(work, "home")  # no ~/.aws of the user's
    os.makedirs(home, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}",
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{FUNCTION}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": "arm64-test-session-token",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "TABLE_NAME": TABLE,
        "LAMBDA_TASK_ROOT": os.path.dirname(bootstrap),
        "_HANDLER": "bootstrap",
    }


def run_function(r: Results, work: str, api: RuntimeApi, bootstrap: str, db_port: int) -> None:
    env = function_env(work, api, bootstrap, f"http://127.0.0.1:{db_port}")
    log_path = os.path.join(work, "bootstrap.log")
    t0 = time.monotonic()
    proc = start([QEMU, "-L", SYSROOT, bootstrap], env, log_path)
    print(f"  ..    bootstrap (qemu-aarch64) pid {proc.pid}, runtime API 127.0.0.1:{api.port}", flush=True)
    try:
        exercise(r, api, proc, db_port, t0)
    except Abort:
        print(f"--- bootstrap log (last lines) ---\n{tail(log_path)}\n---", flush=True)
        raise
    if r.failed:
        print(f"--- bootstrap log (last lines) ---\n{tail(log_path)}\n---", flush=True)
    # Log lines: JSON, one per request, with the request id, route key and status.
    logs = []
    with open(log_path, "rb") as f:
        for line in f.read().decode("utf-8", "replace").splitlines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict):
                logs.append(doc)
    r.check("log: one JSON line per request with request id, route key and status",
            any(d.get("request_id") == exercise.post_id and d.get("route_key") == "POST /todos" and d.get("status") == 204
                for d in logs),
            f"{len(logs)} JSON lines; first: {logs[:1]}")
    r.check("no unexpected calls to the Runtime API", not api.unexpected, str(api.unexpected))


def exercise(r: Results, api: RuntimeApi, proc: subprocess.Popen, db_port: int, t0: float) -> None:
    if not api.wait_polls(1, START_TIMEOUT_S, proc):
        if api.init_errors:
            raise Abort(f"bootstrap reported an init error: {api.init_errors[0][:500]!r}")
        raise Abort(f"bootstrap did not ask for an event within {START_TIMEOUT_S} s (exit status {proc.poll()})")
    r.check(f"bootstrap starts under qemu and polls for events ({time.monotonic() - t0:.1f} s)", True)

    def call(name: str, event, want_status: int):
        t = time.monotonic()
        request_id, (kind, doc, raw, _headers) = api.invoke(event, proc)
        ms = (time.monotonic() - t) * 1000
        ok = kind == "response" and isinstance(doc, dict) and doc.get("statusCode") == want_status
        r.check(f"{name} -> {want_status} ({ms:.0f} ms)", ok, f"{kind}: {raw[:400]!r}")
        return request_id, (doc if isinstance(doc, dict) else {})

    def body_json(doc: dict):
        body = doc.get("body")
        if doc.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        try:
            return json.loads(body) if body else None
        except ValueError:
            return None

    todo = {"id": str(uuid.uuid4()), "description": "water the plants on arm64", "priority": "high",
            "dueDate": "2026-12-24T18:30"}
    other = {"id": str(uuid.uuid4()), "description": "sent base64-encoded, ünïcödé ✓", "priority": "low"}

    # POST -> 204
    exercise.post_id, doc = call("POST /todos (valid todo)", apigw_event("POST", "POST /todos", "/todos", json.dumps(todo)), 204)
    r.check("POST response has no body", not doc.get("body"), repr(doc.get("body")))

    # The item in the table, as the Go service wrote it.
    items = scan_items(db_port)
    want_item = {"Id": {"S": todo["id"]}, "Description": {"S": todo["description"]}, "Priority": {"S": "high"},
                 "DueDate": {"S": todo["dueDate"]}}
    r.check("table holds the item with attributes Id/Description/Priority/DueDate", items == [want_item], str(items))

    # POST with a base64 body (API Gateway does this for some content types) -> 204
    call("POST /todos (isBase64Encoded body)",
         apigw_event("POST", "POST /todos", "/todos", json.dumps(other, ensure_ascii=False), base64_body=True), 204)

    # GET -> 200 with both
    _, doc = call("GET /todos", apigw_event("GET", "GET /todos", "/todos"), 200)
    listed = body_json(doc)
    r.check("GET body is a JSON array holding both todos as sent",
            isinstance(listed, list) and sorted(listed, key=lambda t: t["id"]) == sorted([todo, other], key=lambda t: t["id"]),
            repr(doc.get("body"))[:400])
    r.check("GET content-type is application/json", (header(doc, "content-type") or "").startswith("application/json"),
            str(doc.get("headers")))

    # 422: every failing field at once; nothing stored
    bad = {"id": "not-a-uuid", "description": "", "priority": "urgent"}
    _, doc = call("POST /todos (invalid fields)", apigw_event("POST", "POST /todos", "/todos", json.dumps(bad)), 422)
    errors = (body_json(doc) or {}).get("fieldErrors") if isinstance(body_json(doc), dict) else None
    r.check("422 body reports id, description (required) and priority",
            isinstance(errors, dict) and set(errors) == {"id", "description", "priority"}
            and errors.get("description") == "required",
            repr(doc.get("body")))
    r.check("invalid POST changed nothing", len(scan_items(db_port)) == 2)

    # 400: malformed JSON
    call("POST /todos (malformed JSON)", apigw_event("POST", "POST /todos", "/todos", '{"id": '), 400)

    # A payload that is not an API Gateway event: a 400 response, not an invocation error or a crash
    call("non-API-Gateway payload", {"hello": "world"}, 400)

    # DELETE both -> 204 (stage prefix in rawPath, route key decides)
    for t in (todo, other):
        call(f"DELETE /todos/{{id}} ({t['priority']})",
             apigw_event("DELETE", "DELETE /todos/{id}", f"/todos/{t['id']}", path_params={"id": t["id"]}), 204)
    call("DELETE /todos/{id} (bad id)",
         apigw_event("DELETE", "DELETE /todos/{id}", "/todos/nope", path_params={"id": "nope"}), 400)

    # GET -> []
    _, doc = call("GET /todos (after delete)", apigw_event("GET", "GET /todos", "/todos"), 200)
    r.check("GET body is an empty array", body_json(doc) == [], repr(doc.get("body")))
    r.check("table is empty", scan_items(db_port) == [])

    # One process served everything and is waiting for the next event.
    invocations = len(api.results)
    polled = api.wait_polls(invocations + 1, 10, proc)
    r.check(f"same process served all {invocations} events and polls again",
            proc.poll() is None and polled and not api.init_errors,
            f"alive={proc.poll() is None}, polls={api.next_polls}, init errors={len(api.init_errors)}")
    r.check("no invocation errors", all(kind == "response" for kind, *_ in api.results.values()),
            str([raw[:200] for kind, _, raw, _ in api.results.values() if kind != "response"]))


exercise.post_id = ""


def run_tls(r: Results, work: str, api: RuntimeApi, bootstrap: str, db_port: int, proxy: TlsProxy) -> None:
    env = function_env(work, api, bootstrap, f"https://127.0.0.1:{proxy.port}")
    env["SSL_CERT_FILE"] = os.path.join(TLS_DIR, "ca.pem")  # the test CA instead of the system store
    log_path = os.path.join(work, "bootstrap-tls.log")
    proc = start([QEMU, "-L", SYSROOT, bootstrap], env, log_path)
    print(f"  ..    bootstrap (qemu-aarch64) pid {proc.pid}, DynamoDB at https://127.0.0.1:{proxy.port}", flush=True)
    try:
        if not api.wait_polls(1, START_TIMEOUT_S, proc):
            raise Abort(f"TLS instance did not ask for an event within {START_TIMEOUT_S} s (exit status {proc.poll()})")
        todo = {"id": str(uuid.uuid4()), "description": "over TLS", "priority": "normal", "dueDate": "2026-12-31"}
        for name, event, want in [
            ("TLS: POST /todos", apigw_event("POST", "POST /todos", "/todos", json.dumps(todo)), 204),
            ("TLS: GET /todos", apigw_event("GET", "GET /todos", "/todos"), 200),
            ("TLS: DELETE /todos/{id}",
             apigw_event("DELETE", "DELETE /todos/{id}", f"/todos/{todo['id']}", path_params={"id": todo["id"]}), 204),
        ]:
            t = time.monotonic()
            _, (kind, doc, raw, _) = api.invoke(event, proc)
            ok = kind == "response" and isinstance(doc, dict) and doc.get("statusCode") == want
            if ok and want == 200:
                ok = todo in json.loads(doc.get("body") or "null")
            r.check(f"{name} -> {want} ({(time.monotonic() - t) * 1000:.0f} ms)", ok, f"{kind}: {raw[:300]!r}")
        r.check(f"TLS handshakes completed ({', '.join(sorted(set(proxy.handshakes))) or 'none'})",
                bool(proxy.handshakes) and not proxy.errors, "; ".join(proxy.errors[:3]))
        r.check("table is empty again", scan_items(db_port) == [])
    except Abort:
        print(f"--- bootstrap (TLS) log (last lines) ---\n{tail(log_path)}\n---", flush=True)
        raise
    if r.failed:
        print(f"--- bootstrap (TLS) log (last lines) ---\n{tail(log_path)}\n---", flush=True)


def run_tls_untrusted(r: Results, work: str, api: RuntimeApi, bootstrap: str, proxy: TlsProxy) -> None:
    env = function_env(work, api, bootstrap, f"https://127.0.0.1:{proxy.port}")
    env.pop("SSL_CERT_FILE", None)
    log_path = os.path.join(work, "bootstrap-untrusted.log")
    proc = start([QEMU, "-L", SYSROOT, bootstrap], env, log_path)
    if not api.wait_polls(1, START_TIMEOUT_S, proc):
        raise Abort(f"untrusted-TLS instance did not ask for an event within {START_TIMEOUT_S} s")
    todo = {"id": str(uuid.uuid4()), "description": "must not be stored", "priority": "low"}
    t = time.monotonic()
    _, (kind, doc, raw, _) = api.invoke(apigw_event("POST", "POST /todos", "/todos", json.dumps(todo)), proc)
    took = time.monotonic() - t
    r.check(f"untrusted certificate: POST /todos -> 503 ({took * 1000:.0f} ms)",
            kind == "response" and isinstance(doc, dict) and doc.get("statusCode") == 503, f"{kind}: {raw[:300]!r}")
    r.check("untrusted certificate: nothing written", scan_items(proxy.upstream) == [])


def main() -> int:
    r = Results()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
        signal.signal(sig, on_signal)
    signal.alarm(TOTAL_TIMEOUT_S)
    work = tempfile.mkdtemp(prefix="todos-arm64-")
    print(f"arm64 qemu test: {os.path.relpath(ZIP, ROOT)} (logs in {work})", flush=True)
    aborted = None
    try:
        run(r, work)
    except Abort as e:
        aborted = str(e)
    except Exception:  # a bug in the test itself still stops everything and reports
        aborted = "test error:\n" + traceback.format_exc()
    finally:
        signal.alarm(0)
        stop_all()
    if aborted:
        r.check("run completed", False, aborted)
    failed = len(r.failed)
    print(f"arm64 qemu: {r.passed} passed, {failed} failed" + (f" ({', '.join(r.failed)})" if failed else ""), flush=True)
    if not failed and not os.environ.get("ARM64_TEST_KEEP_LOGS"):
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
