//! Store faults: DynamoDB throttled, slow, stalled and failing mid-scan, injected by a loopback proxy in
//! front of dynalite. Each yields a clean 503 (with `Retry-After`) inside Lambda's 3 s, writes nothing,
//! and full service returns when the fault clears. The function runs with its production timeouts.

use crate::support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::encodings::Body;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use support::{Dynalite, fresh_table, raw_items};
use todos::{ApiConfig, App, DynamoStore};

const NONE: u32 = 0;
const THROTTLE: u32 = 1;
const THROTTLING_EXCEPTION: u32 = 2;
const DELAY: u32 = 3;
const FAIL_LATER_SCANS: u32 = 4;
const INTERNAL_ERROR: u32 = 5;

/// A loopback proxy to dynalite that injects one fault at a time.
struct FaultProxy {
    endpoint: String,
    fault: Arc<AtomicU32>,
    delay_ms: Arc<AtomicU64>,
    scans: Arc<AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    async fn start(upstream: String) -> FaultProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let fault = Arc::new(AtomicU32::new(NONE));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let scans = Arc::new(AtomicU32::new(0));
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let (f, d, s) = (fault.clone(), delay_ms.clone(), scans.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (f, d, s, client, upstream) = (f.clone(), d.clone(), s.clone(), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (f, d, s, client, upstream) =
                            (f.clone(), d.clone(), s.clone(), client.clone(), upstream.clone());
                        async move { Ok::<_, Infallible>(proxy(req, &f, &d, &s, &client, &upstream).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultProxy { endpoint, fault, delay_ms, scans, task }
    }

    fn set(&self, fault: u32) {
        self.scans.store(0, Ordering::SeqCst);
        self.fault.store(fault, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn dynamo_error(status: u16, kind: &str) -> Response<Full<Bytes>> {
    let body = json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": "injected fault"});
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-requestid", "fault-proxy")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

async fn proxy(
    req: Request<Incoming>,
    fault: &AtomicU32,
    delay_ms: &AtomicU64,
    scans: &AtomicU32,
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    upstream: &str,
) -> Response<Full<Bytes>> {
    let is_scan = req.headers().get("x-amz-target").is_some_and(|t| t.as_bytes().ends_with(b".Scan"));
    match fault.load(Ordering::SeqCst) {
        THROTTLE => return dynamo_error(400, "ProvisionedThroughputExceededException"),
        THROTTLING_EXCEPTION => return dynamo_error(400, "ThrottlingException"),
        INTERNAL_ERROR => return dynamo_error(500, "InternalServerError"),
        DELAY => tokio::time::sleep(Duration::from_millis(delay_ms.load(Ordering::SeqCst))).await,
        FAIL_LATER_SCANS if is_scan && scans.fetch_add(1, Ordering::SeqCst) >= 1 => {
            return dynamo_error(500, "InternalServerError");
        }
        _ => {}
    }
    let (mut parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    parts.uri = format!("{upstream}{}", parts.uri.path()).parse().unwrap();
    let res = client.request(Request::from_parts(parts, Full::new(body))).await.unwrap();
    let (parts, body) = res.into_parts();
    Response::from_parts(parts, Full::new(body.collect().await.unwrap().to_bytes()))
}

fn event(method: &str, route_key: &str, path: &str, body: Option<String>) -> Value {
    let mut e = json!({
        "version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
                           "routeKey": route_key, "stage": "v1", "requestId": "fault", "timeEpoch": 0},
        "isBase64Encoded": false
    });
    if let Some(b) = body {
        e["body"] = json!(b);
    }
    if let Some(id) = path.strip_prefix("/v1/todos/") {
        e["pathParameters"] = json!({"id": id});
    }
    e
}

fn get() -> Value {
    event("GET", "GET /todos", "/v1/todos", None)
}

fn post(id: &str) -> Value {
    event(
        "POST",
        "POST /todos",
        "/v1/todos",
        Some(json!({"id": id, "description": "d", "priority": "low"}).to_string()),
    )
}

fn delete(id: &str) -> Value {
    event("DELETE", "DELETE /todos/{id}", &format!("/v1/todos/{id}"), None)
}

struct Rig {
    proxy: FaultProxy,
    app: App,
    direct: aws_sdk_dynamodb::Client,
    table: String,
}

async fn rig() -> Rig {
    let (direct, table) = fresh_table("faults").await;
    let proxy = FaultProxy::start(Dynalite::shared().endpoint.clone()).await;
    let client = support::production_client(&proxy.endpoint).await;
    let app = App::new(Arc::new(DynamoStore::new(client, table.clone())), ApiConfig::default());
    Rig { proxy, app, direct, table }
}

async fn call(app: &App, event: Value) -> (i64, Option<String>, String, Duration) {
    let started = Instant::now();
    let r = app.handle_payload(event, "fault").await;
    let took = started.elapsed();
    let body = match r.body {
        Some(Body::Text(t)) => t,
        _ => String::new(),
    };
    let retry = r.headers.get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (r.status_code, retry, body, took)
}

async fn assert_every_route_is_unavailable(rig: &Rig, what: &str) {
    let before = raw_items(&rig.direct, &rig.table).await;
    let id = support::new_id();
    let existing = before.first().map(|i| i["Id"].as_s().unwrap().clone()).unwrap_or_else(support::new_id);
    for (op, e) in [("GET", get()), ("POST", post(&id)), ("DELETE", delete(&existing))] {
        let (status, retry, body, took) = call(&rig.app, e).await;
        assert_eq!(status, 503, "{what} {op}: {body}");
        assert_eq!(retry.as_deref(), Some("1"), "{what} {op}");
        assert!(took < Duration::from_millis(2900), "{what} {op}: {took:?}");
        assert!(!body.contains("injected") && !body.contains(&rig.table), "{what} {op} leaks: {body}");
    }
    assert_eq!(raw_items(&rig.direct, &rig.table).await, before, "{what}: a failed request wrote");
}

async fn assert_full_service(rig: &Rig) {
    let id = support::new_id();
    assert_eq!(call(&rig.app, post(&id)).await.0, 204);
    let (status, _, body, _) = call(&rig.app, get()).await;
    assert_eq!(status, 200);
    assert!(body.contains(&id));
    assert_eq!(call(&rig.app, delete(&id)).await.0, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_yields_503_with_retry_after_and_service_returns_when_it_clears() {
    let rig = rig().await;
    assert_full_service(&rig).await;
    assert_eq!(call(&rig.app, post(&support::new_id())).await.0, 204);
    for (fault, name) in [
        (THROTTLE, "ProvisionedThroughputExceeded"),
        (THROTTLING_EXCEPTION, "ThrottlingException"),
        (INTERNAL_ERROR, "InternalServerError"),
    ] {
        rig.proxy.set(fault);
        assert_every_route_is_unavailable(&rig, name).await;
        rig.proxy.set(NONE);
        assert_full_service(&rig).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_store_yields_503_in_time_and_a_slow_one_still_answers() {
    let rig = rig().await;
    rig.proxy.delay_ms.store(5_000, Ordering::SeqCst);
    rig.proxy.set(DELAY);
    assert_every_route_is_unavailable(&rig, "stalled").await;
    // Slow but within the per-attempt timeout: served normally.
    rig.proxy.delay_ms.store(150, Ordering::SeqCst);
    assert_full_service(&rig).await;
    rig.proxy.set(NONE);
    assert_full_service(&rig).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_failing_after_its_first_page_yields_503_not_a_partial_list() {
    let rig = rig().await;
    // ~1.3 MB: two scan pages.
    let store = Arc::new(DynamoStore::new(rig.direct.clone(), rig.table.clone()));
    let text = "z".repeat(1100);
    let mut set = tokio::task::JoinSet::new();
    for chunk in 0..8 {
        let (store, text) = (store.clone(), text.clone());
        set.spawn(async move {
            for i in 0..150 {
                let t = todos::Todo {
                    id: support::new_id(),
                    description: format!("{chunk}-{i} {text}"),
                    priority: todos::Priority::Normal,
                    due_date: None,
                };
                todos::TodoStore::put(store.as_ref(), &todos::Owner::Everyone, &t).await.unwrap();
            }
        });
    }
    while set.join_next().await.is_some() {}

    rig.proxy.set(FAIL_LATER_SCANS);
    let (status, retry, body, took) = call(&rig.app, get()).await;
    assert_eq!(
        status,
        503,
        "a list that failed half-way must not be served as if complete: {}",
        &body[..body.len().min(200)]
    );
    assert_eq!(retry.as_deref(), Some("1"));
    assert!(took < Duration::from_millis(2900));
    assert!(rig.proxy.scans.load(Ordering::SeqCst) >= 2, "the fault needs a second scan page");

    rig.proxy.set(NONE);
    let (status, _, body, _) = call(&rig.app, get()).await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Vec<Value>>(&body).unwrap().len(), 1200);
}
