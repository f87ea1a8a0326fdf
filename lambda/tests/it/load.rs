//! Load and crash: the real dev-server binary on its durable file store under 200 concurrent
//! connections with a mixed read/write workload. Zero errors are allowed, and afterwards every
//! acknowledged write is there with its last value — also after a kill -9 in the middle of the load
//! (a write that was in flight may land or not; an acknowledged one must land).
//!
//! Bounded: `LOAD_OPS` operations per connection (default 12; `make test-extended` raises it).

use crate::support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

const CONNECTIONS: usize = 200;
const IDS_PER_CONNECTION: usize = 3;

fn ops_per_connection() -> usize {
    std::env::var("LOAD_OPS").ok().and_then(|v| v.parse().ok()).unwrap_or(12)
}

use support::DevServerProcess as Server;

/// What the clients know about one id: the last acknowledged state, and a write whose answer never
/// came (the server died), which may or may not have landed.
#[derive(Clone, Debug, Default)]
struct Known {
    acked: Option<String>,
    in_flight: Option<Option<String>>,
}

type Ledger = Arc<Mutex<HashMap<String, Known>>>;

fn client() -> Client<HttpConnector, Full<Bytes>> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).pool_max_idle_per_host(1).build(connector)
}

async fn send(
    c: &Client<HttpConnector, Full<Bytes>>,
    method: Method,
    url: &str,
    body: String,
) -> Result<(StatusCode, Bytes), String> {
    let req = Request::builder().method(method).uri(url).body(Full::new(Bytes::from(body))).unwrap();
    let res = tokio::time::timeout(Duration::from_secs(30), c.request(req))
        .await
        .map_err(|_| "timeout".to_owned())?
        .map_err(|e| e.to_string())?;
    let status = res.status();
    let body = res.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((status, body))
}

/// One connection's workload: writes and deletes of its own ids, and paged reads. Every answer
/// received counts in `answered`.
async fn connection(
    n: usize,
    port: u16,
    ledger: Ledger,
    answered: Arc<AtomicUsize>,
    ops: usize,
    tolerate_transport_errors: bool,
) -> (usize, usize) {
    let c = client();
    let base = format!("http://127.0.0.1:{port}/v1/todos");
    let ids: Vec<String> = (0..IDS_PER_CONNECTION).map(|i| format!("{:08x}-0000-4000-8000-{:012x}", n, i)).collect();
    let (mut done, mut errors) = (0, 0);
    let mut rng = (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for op in 0..ops {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let id = &ids[(rng % IDS_PER_CONNECTION as u64) as usize];
        let outcome = match rng % 10 {
            0..=4 => {
                let desc = format!("conn {n} op {op}");
                ledger.lock().unwrap().entry(id.clone()).or_default().in_flight = Some(Some(desc.clone()));
                let body = json!({"id": id, "description": desc, "priority": "normal"}).to_string();
                let r = send(&c, Method::POST, &base, body).await;
                if let Ok((StatusCode::NO_CONTENT, _)) = r {
                    let mut l = ledger.lock().unwrap();
                    let k = l.get_mut(id).unwrap();
                    k.acked = Some(desc);
                    k.in_flight = None;
                }
                r.map(|(s, _)| s)
            }
            5 => {
                ledger.lock().unwrap().entry(id.clone()).or_default().in_flight = Some(None);
                let r = send(&c, Method::DELETE, &format!("{base}/{id}"), String::new()).await;
                if let Ok((StatusCode::NO_CONTENT, _)) = r {
                    let mut l = ledger.lock().unwrap();
                    let k = l.get_mut(id).unwrap();
                    k.acked = None;
                    k.in_flight = None;
                }
                r.map(|(s, _)| s)
            }
            _ => send(&c, Method::GET, &format!("{base}?limit=50"), String::new()).await.map(|(s, b)| {
                assert!(serde_json::from_slice::<Vec<Value>>(&b).is_ok() || s != StatusCode::OK);
                s
            }),
        };
        if outcome.is_ok() {
            answered.fetch_add(1, Ordering::SeqCst);
        }
        match outcome {
            Ok(s) if s.is_success() => done += 1,
            Ok(s) => {
                eprintln!("connection {n}: HTTP {s}");
                errors += 1;
            }
            Err(e) if tolerate_transport_errors => {
                let _ = e;
                return (done, errors);
            }
            Err(e) => {
                eprintln!("connection {n}: {e}");
                errors += 1;
            }
        }
    }
    (done, errors)
}

async fn run_load(port: u16, ledger: Ledger, answered: Arc<AtomicUsize>, ops: usize, tolerate: bool) -> (usize, usize) {
    let mut set = tokio::task::JoinSet::new();
    for n in 0..CONNECTIONS {
        set.spawn(connection(n, port, ledger.clone(), answered.clone(), ops, tolerate));
    }
    let (mut done, mut errors) = (0, 0);
    while let Some(r) = set.join_next().await {
        let (d, e) = r.unwrap();
        done += d;
        errors += e;
    }
    (done, errors)
}

async fn read_all(port: u16) -> HashMap<String, String> {
    let c = client();
    let mut all = HashMap::new();
    let mut url = format!("http://127.0.0.1:{port}/v1/todos?limit=1000");
    loop {
        let req = Request::builder().uri(&url).body(Full::new(Bytes::new())).unwrap();
        let res = c.request(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let cursor = res.headers().get("x-next-cursor").map(|v| v.to_str().unwrap().to_owned());
        let body = res.into_body().collect().await.unwrap().to_bytes();
        for t in serde_json::from_slice::<Vec<Value>>(&body).unwrap() {
            all.insert(t["id"].as_str().unwrap().to_owned(), t["description"].as_str().unwrap().to_owned());
        }
        match cursor {
            Some(c) => url = format!("http://127.0.0.1:{port}/v1/todos?limit=1000&cursor={c}"),
            None => return all,
        }
    }
}

/// Every id the clients touched holds its acknowledged value (or the value of a write that was in
/// flight when the server died); returns how many ids were checked.
fn verify(ledger: &Ledger, stored: &HashMap<String, String>) -> usize {
    let ledger = ledger.lock().unwrap();
    for (id, known) in ledger.iter() {
        let actual = stored.get(id).cloned();
        let ok = actual == known.acked || known.in_flight.as_ref().is_some_and(|f| *f == actual);
        assert!(ok, "{id}: stored {actual:?}, acknowledged {:?}, in flight {:?}", known.acked, known.in_flight);
    }
    assert!(stored.keys().all(|k| ledger.contains_key(k)), "a todo nobody wrote appeared");
    ledger.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_mixed_load_loses_no_acknowledged_write_even_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("load.redb");
    let port = support::free_port();
    let ops = ops_per_connection();

    // Phase 1: steady load, no faults: zero errors, exact final state.
    let mut server = Server::start(&data, port);
    let ledger: Ledger = Default::default();
    let started = Instant::now();
    let (done, errors) = run_load(server.port, ledger.clone(), Default::default(), ops, false).await;
    let took = started.elapsed();
    assert_eq!(errors, 0, "errors under load");
    let checked = verify(&ledger, &read_all(server.port).await);
    println!(
        "load: {CONNECTIONS} connections, {done} requests in {:.1} s ({:.0}/s), 0 errors, {checked} ids verified",
        took.as_secs_f64(),
        done as f64 / took.as_secs_f64()
    );

    // Phase 2: kill -9 in the middle of the load, restart on the same file, verify.
    // The kill waits for the load rather than a fixed time: once as many answers as there are
    // connections have come back, requests are in flight on every side, however fast the machine is.
    let answered = Arc::new(AtomicUsize::new(0));
    let load = tokio::spawn(run_load(server.port, ledger.clone(), answered.clone(), ops * 4, true));
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered.load(Ordering::SeqCst) < CONNECTIONS {
        assert!(Instant::now() < deadline, "the second load never got going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill9();
    let (done_before_kill, _) = load.await.unwrap();
    let server = Server::start(&data, port);
    let checked = verify(&ledger, &read_all(server.port).await);
    let in_flight = ledger.lock().unwrap().values().filter(|k| k.in_flight.is_some()).count();
    println!(
        "kill -9 after {done_before_kill} more requests: {checked} ids verified after restart ({in_flight} writes were in flight)"
    );
}
