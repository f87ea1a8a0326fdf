//! The local dev server over real HTTP on loopback: every row of the contract table, CORS as API
//! Gateway answers it, limits, and durability of acknowledged writes across shutdown and kill -9.

use crate::support;

/// Sign-in: the dev server as the JWT authorizer, and per-user isolation over HTTP.
#[path = "dev_server/auth.rs"]
mod auth;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use todos::config::AuthMode;
use todos::entrypoints::dev_server::DevServer;
use todos::entrypoints::dev_server::authorizer::JwtAuthorizer;
use todos::routes::Cors;
use todos::{ApiConfig, App, EmbeddedStore, Owner, TodoStore};

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {:?}", self.body))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct Server {
    addr: SocketAddr,
    store: Arc<EmbeddedStore>,
    client: Client<HttpConnector, Full<Bytes>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    async fn start(cors: Cors) -> Server {
        Server::start_with(cors, None).await
    }

    /// With `auth`, the server runs with sign-in (the app in `AuthMode::Jwt`, CORS allowing
    /// `authorization`), as `dev-server --auth-issuer ... --auth-audience ...` does.
    async fn start_with(cors: Cors, auth: Option<Arc<JwtAuthorizer>>) -> Server {
        let store = Arc::new(EmbeddedStore::in_memory().unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut config = ApiConfig::default();
        let mut cors = cors;
        if auth.is_some() {
            config.auth = AuthMode::Jwt;
            cors = cors.with_authorization();
        }
        let server = DevServer { app: App::new(store.clone(), config), cors, stage: "v1".into(), auth };
        tokio::spawn(server.serve(listener, async move {
            let _ = stopped.await;
        }));
        let client = Client::builder(TokioExecutor::new()).build_http();
        Server { addr, store, client, stop: Some(stop) }
    }

    async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Reply {
        let mut req = Request::builder().method(method).uri(format!("http://{}{path}", self.addr));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self.client.request(req.body(Full::new(body.into())).unwrap()).await.expect("request");
        let (parts, body) = res.into_parts();
        Reply { status: parts.status, headers: parts.headers, body: body.collect().await.unwrap().to_bytes() }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, &[("origin", "http://localhost:8100")], Bytes::new()).await
    }

    async fn post(&self, body: impl Into<Bytes>) -> Reply {
        self.send(
            Method::POST,
            "/v1/todos",
            &[("origin", "http://localhost:8100"), ("content-type", "application/json")],
            body,
        )
        .await
    }

    async fn stored(&self) -> Vec<todos::Todo> {
        self.store
            .list(&Owner::Everyone, None, usize::MAX)
            .await
            .unwrap()
            .todos
            .into_iter()
            .map(Arc::unwrap_or_clone)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn a_todo() -> Value {
    json!({"id": support::new_id(), "description": "water the plants", "priority": "normal", "dueDate": "2026-12-24"})
}

#[tokio::test]
async fn every_row_of_the_contract_over_http() {
    let s = Server::start(Cors::default()).await;
    let todo = a_todo();

    let r = s.get("/v1/todos").await;
    assert_eq!((r.status, r.header("content-type")), (StatusCode::OK, Some("application/json")));
    assert_eq!(r.json(), json!([]));

    let r = s.post(todo.to_string()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.body.is_empty());
    assert_eq!(s.get("/v1/todos").await.json(), json!([todo]));

    let mut changed = todo.clone();
    changed["description"] = json!("water the plants twice");
    changed.as_object_mut().unwrap().remove("dueDate");
    changed["ignored"] = json!("not stored");
    assert_eq!(s.post(changed.to_string()).await.status, StatusCode::NO_CONTENT);
    changed.as_object_mut().unwrap().remove("ignored");
    assert_eq!(s.get("/v1/todos").await.json(), json!([changed]));

    let path = format!("/v1/todos/{}", todo["id"].as_str().unwrap());
    let r = s.send(Method::DELETE, &path, &[], Bytes::new()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(s.send(Method::DELETE, &path, &[], Bytes::new()).await.status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/v1/todos").await.json(), json!([]));

    let r = s.send(Method::DELETE, "/v1/todos/not-a-uuid", &[], Bytes::new()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["message"].is_string());

    for path in ["/v1/nope", "/todos", "/v2/todos", "/v1/todos/a/b", "/v1/todos/", "/"] {
        let r = s.get(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.json()["message"].is_string(), "{path}");
    }
    for (method, path, allow) in [
        (Method::PUT, "/v1/todos", "GET, POST"),
        (Method::PATCH, "/v1/todos", "GET, POST"),
        (Method::DELETE, "/v1/todos", "GET, POST"),
        (Method::GET, &*path, "DELETE"),
        (Method::POST, &*path, "DELETE"),
    ] {
        let r = s.send(method.clone(), path, &[], Bytes::new()).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(r.header("allow"), Some(allow));
    }
}

#[tokio::test]
async fn bad_requests_get_4xx_json_and_change_nothing() {
    let s = Server::start(Cors::default()).await;
    assert_eq!(s.post(a_todo().to_string()).await.status, StatusCode::NO_CONTENT);
    let before = s.stored().await;
    let big = vec![b'x'; 2 * 1024 * 1024];
    let cases: Vec<(&str, Bytes, StatusCode)> = vec![
        ("malformed", Bytes::from_static(b"{\"id\":"), StatusCode::BAD_REQUEST),
        ("array", Bytes::from_static(b"[]"), StatusCode::BAD_REQUEST),
        ("number", Bytes::from_static(b"42"), StatusCode::BAD_REQUEST),
        ("empty", Bytes::new(), StatusCode::BAD_REQUEST),
        ("invalid UTF-8", Bytes::from_static(b"{\"id\": \"\xff\xfe\"}"), StatusCode::BAD_REQUEST),
        ("deeply nested", Bytes::from("[".repeat(10_000)), StatusCode::BAD_REQUEST),
        ("2 MB", Bytes::from(big), StatusCode::PAYLOAD_TOO_LARGE),
        ("validation", Bytes::from_static(b"{\"priority\": \"low\"}"), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (what, body, status) in cases {
        let r = s.post(body).await;
        assert_eq!(r.status, status, "{what}");
        assert!(r.json().is_object(), "{what}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{what}: CORS on errors too");
        assert_eq!(s.stored().await, before, "{what} changed the store");
    }
    let r = s.post(Bytes::from_static(b"{\"priority\": \"low\"}")).await;
    assert_eq!(r.json(), json!({"fieldErrors": {"id": "required", "description": "required"}}));
}

#[tokio::test]
async fn cors_is_answered_as_api_gateway_does() {
    let s = Server::start(Cors::default()).await;
    let r = s
        .send(
            Method::OPTIONS,
            "/v1/todos",
            &[
                ("origin", "http://localhost:8100"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-methods"), Some("GET,POST,DELETE"));
    assert_eq!(r.header("access-control-allow-headers"), Some("content-type"));
    assert_eq!(r.header("access-control-max-age"), Some("7200"));
    assert_eq!(r.header("access-control-allow-credentials"), None);

    for r in [s.get("/v1/todos").await, s.get("/v1/missing").await, s.post("nope").await] {
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{}", r.status);
        assert_eq!(r.header("access-control-expose-headers"), Some("x-next-cursor"));
    }

    let only = Server::start(Cors::with_origins(vec!["http://localhost:8100".into()])).await;
    let r = only.get("/v1/todos").await;
    assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:8100"));
    assert_eq!(r.header("vary"), Some("origin"));
    let r = only.send(Method::GET, "/v1/todos", &[("origin", "https://elsewhere.example")], Bytes::new()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("access-control-allow-origin"), None, "a foreign origin is not allowed");
}

#[tokio::test]
async fn large_lists_page_with_limit_and_cursor_over_http() {
    let s = Server::start(Cors::default()).await;
    for _ in 0..25 {
        assert_eq!(s.post(a_todo().to_string()).await.status, StatusCode::NO_CONTENT);
    }
    let mut seen = std::collections::HashSet::new();
    let mut path = "/v1/todos?limit=10".to_owned();
    loop {
        let r = s.get(&path).await;
        assert_eq!(r.status, StatusCode::OK);
        for t in r.json().as_array().unwrap() {
            assert!(seen.insert(t["id"].as_str().unwrap().to_owned()), "duplicate across pages");
        }
        match r.header("x-next-cursor") {
            Some(c) => path = format!("/v1/todos?limit=10&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
}

// ---- the real binary: shutdown and crash --------------------------------------------------------

use support::DevServerProcess as Binary;

async fn http(method: Method, url: &str, body: String) -> (StatusCode, Bytes) {
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = Request::builder().method(method).uri(url).body(Full::new(Bytes::from(body))).unwrap();
    let res = client.request(req).await.expect("request");
    let status = res.status();
    (status, res.into_body().collect().await.unwrap().to_bytes())
}

#[tokio::test]
async fn acknowledged_writes_survive_sigterm_and_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("todos.redb");
    let first = a_todo();
    let second = a_todo();

    let mut server = Binary::start(&data, support::free_port());
    assert_eq!(http(Method::POST, &server.url(), first.to_string()).await.0, StatusCode::NO_CONTENT);
    // Graceful stop (what Ctrl-C does): exits 0.
    let status = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "dev-server exited with {exit:?} on SIGTERM");

    let mut server = Binary::start(&data, support::free_port());
    assert_eq!(http(Method::POST, &server.url(), second.to_string()).await.0, StatusCode::NO_CONTENT);
    // A crash right after the 204: the write must already be on disk.
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let server = Binary::start(&data, support::free_port());
    let (status, body) = http(Method::GET, &server.url(), String::new()).await;
    assert_eq!(status, StatusCode::OK);
    let mut got: Vec<Value> = serde_json::from_slice(&body).unwrap();
    let mut want = vec![first, second];
    got.sort_by_key(|t| t["id"].as_str().unwrap().to_owned());
    want.sort_by_key(|t| t["id"].as_str().unwrap().to_owned());
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_repeated_query_parameter_is_joined_with_commas_as_api_gateway_does() {
    let s = Server::start(Cors::default()).await;
    for path in ["/v1/todos?limit=1&limit=5000", "/v1/todos?limit=2&limit=2"] {
        let r = s.get(path).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: the function sees limit \"1,5000\"");
        assert!(r.json()["message"].is_string());
    }
    assert_eq!(s.get("/v1/todos?limit=2").await.status, StatusCode::OK);
}

/// The server's request path without a socket: `DevServer::handle` takes a request whose body is read
/// and returns the response, with the same CORS, routing, app and errors as over HTTP.
#[tokio::test]
async fn handle_answers_a_request_without_a_socket() {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    let server = DevServer {
        app: App::new(store.clone(), ApiConfig::default()),
        cors: Cors::default(),
        stage: "v1".into(),
        auth: None,
    };
    let call = async |method: Method, uri: &str, body: String| {
        let request = Request::builder().method(method).uri(uri).header("origin", "http://localhost:8100");
        let response = server.handle(request.body(Bytes::from(body)).unwrap()).await;
        let (parts, body) = response.into_parts();
        Reply { status: parts.status, headers: parts.headers, body: body.collect().await.unwrap().to_bytes() }
    };
    let todo = a_todo();

    let r = call(Method::POST, "/v1/todos", todo.to_string()).await;
    assert_eq!((r.status, r.header("access-control-allow-origin")), (StatusCode::NO_CONTENT, Some("*")));
    let stored = store.list(&Owner::Everyone, None, usize::MAX).await.unwrap().todos;
    assert_eq!(serde_json::to_value(&*stored[0]).unwrap(), todo);

    let r = call(Method::GET, "/v1/todos?limit=1", String::new()).await;
    assert_eq!((r.status, r.header("content-type")), (StatusCode::OK, Some("application/json")));
    assert_eq!(r.json(), json!([todo]));

    let r = call(Method::GET, &format!("/v1/todos/{}", todo["id"].as_str().unwrap()), String::new()).await;
    assert_eq!((r.status, r.header("allow")), (StatusCode::METHOD_NOT_ALLOWED, Some("DELETE")));
    assert_eq!(call(Method::GET, "/v2/todos", String::new()).await.status, StatusCode::NOT_FOUND);
}
