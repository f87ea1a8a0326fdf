//! Sign-in on the dev server, over real HTTP against a local OpenID issuer started by each test: every
//! way a token can be wrong is a 401 with CORS headers that reads and writes nothing; a valid token's
//! `sub` owns the request, and two users never see, overwrite, delete or page into each other's todos.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use todos::Owner;
use todos::entrypoints::dev_server::authorizer::JwtAuthorizer;
use todos::routes::Cors;

use super::{Reply, Server, a_todo};
use crate::support::issuer::{AUDIENCE, TestIssuer, TestKey, hs256_with_public_key, now, unsigned_token};

const ORIGIN: &str = "http://localhost:8100";

/// An issuer publishing key `a`, and a signed-in dev server trusting it (keys already fetched).
async fn signed_in(refetch_interval: Duration) -> (TestIssuer, TestKey, Server) {
    let key = TestKey::load("a", "key-a");
    let issuer = TestIssuer::start(&[&key]).await;
    let auth =
        JwtAuthorizer::new(&issuer.url, vec![AUDIENCE.to_owned()]).unwrap().with_refetch_interval(refetch_interval);
    auth.prefetch().await.expect("the test issuer serves its keys");
    let server = Server::start_with(Cors::default(), Some(Arc::new(auth))).await;
    (issuer, key, server)
}

impl Server {
    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: impl Into<Bytes>) -> Reply {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("origin", ORIGIN), ("content-type", "application/json")];
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer));
        }
        self.send(method, path, &headers, body).await
    }

    async fn list_as(&self, token: &str) -> Value {
        let r = self.call(Method::GET, "/v1/todos", Some(token), Bytes::new()).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.json()
    }

    async fn post_as(&self, token: &str, todo: &Value) -> StatusCode {
        self.call(Method::POST, "/v1/todos", Some(token), todo.to_string()).await.status
    }

    async fn delete_as(&self, token: &str, id: &str) -> StatusCode {
        self.call(Method::DELETE, &format!("/v1/todos/{id}"), Some(token), Bytes::new()).await.status
    }

    /// What `owner` holds, read from the store itself.
    async fn held_by(&self, owner: &Owner) -> Vec<todos::Todo> {
        use todos::TodoStore as _;
        self.store.list(owner, None, usize::MAX).await.unwrap().todos.into_iter().map(Arc::unwrap_or_clone).collect()
    }
}

fn assert_unauthorized(r: &Reply, what: &str) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {:?}", r.body);
    assert_eq!(r.json(), json!({"message": "Unauthorized"}), "{what}");
    assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{what}: CORS headers on a 401");
}

#[tokio::test]
async fn every_refused_token_is_a_401_with_cors_headers_that_reads_and_writes_nothing() {
    let (issuer, key, s) = signed_in(Duration::from_secs(600)).await;
    let alice = key.sign(&issuer.claims("alice"));
    let kept = a_todo();
    assert_eq!(s.post_as(&alice, &kept).await, StatusCode::NO_CONTENT);
    let kept_id = kept["id"].as_str().unwrap().to_owned();

    let other_key = TestKey::load("other", "key-a");
    let claims = |changes: Value| {
        let mut c = issuer.claims("mallory");
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let valid = key.sign(&claims(json!({})));
    let (head, _, sig) = {
        let mut parts = valid.split('.');
        (parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned())
    };
    let forged_payload = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims(json!({"sub": "alice"})).to_string())
    };
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no Authorization header", None),
        ("empty bearer", Some(String::new())),
        ("garbled", Some("not-a-jwt".into())),
        ("garbled segments", Some("a.b.c".into())),
        ("payload swapped under a valid signature", Some(format!("{head}.{forged_payload}.{sig}"))),
        ("expired", Some(key.sign(&claims(json!({"exp": now() - 60}))))),
        ("not yet valid", Some(key.sign(&claims(json!({"nbf": now() + 3600}))))),
        ("no exp", Some(key.sign(&claims(json!({"exp": null}))))),
        ("wrong issuer", Some(key.sign(&claims(json!({"iss": format!("{}/other", issuer.url)}))))),
        ("issuer with a trailing slash", Some(key.sign(&claims(json!({"iss": format!("{}/", issuer.url)}))))),
        ("no issuer", Some(key.sign(&claims(json!({"iss": null}))))),
        ("wrong audience", Some(key.sign(&claims(json!({"aud": "someone-else"}))))),
        ("audience list without ours", Some(key.sign(&claims(json!({"aud": ["x", "y"]}))))),
        ("wrong client_id and no aud", Some(key.sign(&claims(json!({"aud": null, "client_id": "someone-else"}))))),
        ("neither aud nor client_id", Some(key.sign(&claims(json!({"aud": null}))))),
        ("signed by another key under a known kid", Some(other_key.sign(&claims(json!({}))))),
        ("alg none", Some(unsigned_token(&key.kid, &claims(json!({}))))),
        ("HS256 with the public key as secret", Some(hs256_with_public_key(&key, &claims(json!({}))))),
        ("unknown kid", Some(other_key.sign_as("key-unknown", &claims(json!({}))))),
        ("valid token without sub", Some(key.sign(&claims(json!({"sub": null}))))),
        ("valid token with an empty sub", Some(key.sign(&claims(json!({"sub": ""}))))),
    ];
    // As in AWS, the 401 says why in `www-authenticate` (and the body never does).
    for (token, why) in [
        (cases[5].1.as_deref(), "the token has expired"),
        (cases[11].1.as_deref(), "the token does not have a valid audience"),
        (cases[15].1.as_deref(), "the token signature is invalid"),
    ] {
        let r = s.call(Method::GET, "/v1/todos", token, Bytes::new()).await;
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with(r#"Bearer scope="" error="invalid_token""#) && challenge.contains(why),
            "{challenge}"
        );
    }
    let r = s.call(Method::GET, "/v1/todos", None, Bytes::new()).await;
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let fetches_before = issuer.jwks_fetches();
    for (what, token) in &cases {
        let token = token.as_deref();
        let r = s.call(Method::GET, "/v1/todos", token, Bytes::new()).await;
        assert_unauthorized(&r, what);
        let r = s.call(Method::POST, "/v1/todos", token, a_todo().to_string()).await;
        assert_unauthorized(&r, what);
        let r = s.call(Method::DELETE, &format!("/v1/todos/{kept_id}"), token, Bytes::new()).await;
        assert_unauthorized(&r, what);
    }
    // The unknown kid caused one refetch for its first request, none for the two after it.
    assert_eq!(issuer.jwks_fetches(), fetches_before + 1, "unknown kids refetch at most once per interval");

    assert_eq!(s.list_as(&alice).await, json!([kept]), "alice's todo is untouched");
    for owner in [Owner::Everyone, Owner::User("mallory".into()), Owner::User(String::new())] {
        assert!(s.held_by(&owner).await.is_empty(), "{owner:?} gained todos");
    }
    // A bare token without the scheme is what API Gateway accepts too.
    let r = s.send(Method::GET, "/v1/todos", &[("authorization", &alice)], Bytes::new()).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn audiences_match_aud_or_without_aud_the_client_id_of_cognito_access_tokens() {
    let (issuer, key, s) = signed_in(Duration::from_secs(600)).await;
    let mut access = issuer.claims("carol");
    access.as_object_mut().unwrap().remove("aud");
    access["client_id"] = json!(AUDIENCE);
    access["token_use"] = json!("access");
    assert_eq!(s.list_as(&key.sign(&access)).await, json!([]));

    let mut listed = issuer.claims("carol");
    listed["aud"] = json!(["another-api", AUDIENCE]);
    assert_eq!(s.list_as(&key.sign(&listed)).await, json!([]));

    // `aud` present and wrong is not rescued by a matching client_id.
    let mut both = issuer.claims("carol");
    both["aud"] = json!("another-api");
    both["client_id"] = json!(AUDIENCE);
    let r = s.call(Method::GET, "/v1/todos", Some(&key.sign(&both)), Bytes::new()).await;
    assert_unauthorized(&r, "wrong aud with a right client_id");
}

#[tokio::test]
async fn a_rotated_key_is_accepted_after_one_refetch_and_the_retired_one_is_not() {
    let (issuer, key_a, s) = signed_in(Duration::from_secs(600)).await;
    let key_b = TestKey::load("b", "key-b");
    assert_eq!(issuer.jwks_fetches(), 1, "fetched once at start-up");
    assert_eq!(s.list_as(&key_a.sign(&issuer.claims("dave"))).await, json!([]));
    assert_eq!(issuer.jwks_fetches(), 1, "a known kid needs no fetch");

    issuer.publish(&[&key_b]);
    let todo = a_todo();
    assert_eq!(s.post_as(&key_b.sign(&issuer.claims("dave")), &todo).await, StatusCode::NO_CONTENT);
    assert_eq!(issuer.jwks_fetches(), 2, "the new kid caused exactly one refetch");
    assert_eq!(s.list_as(&key_b.sign(&issuer.claims("dave"))).await, json!([todo]));
    assert_eq!(issuer.jwks_fetches(), 2);

    let r = s.call(Method::GET, "/v1/todos", Some(&key_a.sign(&issuer.claims("dave"))), Bytes::new()).await;
    assert_unauthorized(&r, "token signed with the retired key");
    assert_eq!(issuer.jwks_fetches(), 2, "within the interval, an unknown kid does not refetch again");
}

#[tokio::test]
async fn an_issuer_that_starts_after_the_api_is_used_once_it_is_up() {
    let key = TestKey::load("a", "key-a");
    let port = crate::support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let auth = JwtAuthorizer::new(&url, vec![AUDIENCE.to_owned()]).unwrap().with_refetch_interval(Duration::ZERO);
    assert!(auth.prefetch().await.is_err(), "nothing listens yet");
    let s = Server::start_with(Cors::default(), Some(Arc::new(auth))).await;
    let claims = json!({"iss": url, "sub": "erin", "aud": AUDIENCE, "exp": now() + 600});
    let r = s.call(Method::GET, "/v1/todos", Some(&key.sign(&claims)), Bytes::new()).await;
    assert_unauthorized(&r, "issuer down");

    let issuer = TestIssuer::start_on(port, &[&key]).await;
    assert_eq!(s.list_as(&key.sign(&claims)).await, json!([]));
    assert_eq!(issuer.jwks_fetches(), 1);
}

#[tokio::test]
async fn preflights_need_no_token_and_allow_the_authorization_header() {
    let (_issuer, _key, s) = signed_in(Duration::from_secs(600)).await;
    let r = s
        .send(
            Method::OPTIONS,
            "/v1/todos",
            &[
                ("origin", ORIGIN),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "authorization,content-type"),
            ],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let allowed = r.header("access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    assert!(allowed.split(',').any(|h| h.trim() == "authorization"), "{allowed}");
    assert!(allowed.split(',').any(|h| h.trim() == "content-type"), "{allowed}");
}

#[tokio::test]
async fn two_users_with_the_same_todo_id_never_see_overwrite_delete_or_page_into_each_other() {
    let (issuer, key, s) = signed_in(Duration::from_secs(600)).await;
    let alice = key.sign(&issuer.claims("sub-alice-5f1e"));
    let bob = key.sign(&issuer.claims("sub-bob-9c2d"));

    let mut hers = a_todo();
    hers["description"] = json!("alice's");
    let mut his = hers.clone();
    his["description"] = json!("bob's");
    assert_eq!(s.post_as(&alice, &hers).await, StatusCode::NO_CONTENT);
    assert_eq!(s.list_as(&bob).await, json!([]), "bob sees nothing of alice's");
    assert_eq!(s.post_as(&bob, &his).await, StatusCode::NO_CONTENT);
    assert_eq!(s.list_as(&alice).await, json!([hers]), "bob's POST with the same id left alice's alone");
    assert_eq!(s.list_as(&bob).await, json!([his]));

    hers["priority"] = json!("high");
    assert_eq!(s.post_as(&alice, &hers).await, StatusCode::NO_CONTENT);
    assert_eq!(s.list_as(&bob).await, json!([his]), "alice's overwrite stays hers");

    let id = hers["id"].as_str().unwrap().to_owned();
    assert_eq!(s.delete_as(&bob, &id).await, StatusCode::NO_CONTENT);
    assert_eq!(s.list_as(&bob).await, json!([]));
    assert_eq!(s.list_as(&alice).await, json!([hers]), "bob's DELETE removed only his");

    // An owner field in the body is ignored: the todo is alice's, and nobody else's.
    let mut sneaky = a_todo();
    for field in ["userId", "UserId", "owner"] {
        sneaky[field] = json!("sub-bob-9c2d");
    }
    assert_eq!(s.post_as(&alice, &sneaky).await, StatusCode::NO_CONTENT);
    assert_eq!(s.list_as(&bob).await, json!([]));
    let listed = s.list_as(&alice).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    for field in ["userId", "UserId", "owner"] {
        assert!(listed.as_array().unwrap().iter().all(|t| t.get(field).is_none()), "{field} stored");
    }
    assert!(s.held_by(&Owner::Everyone).await.is_empty(), "nothing lands in the shared list");

    // Paging: each user's pages hold only their own todos; bob's cursor does not open alice's list.
    for _ in 0..5 {
        assert_eq!(s.post_as(&bob, &a_todo()).await, StatusCode::NO_CONTENT);
    }
    let pages = |token: String| {
        let s = &s;
        async move {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let path = match &cursor {
                    Some(c) => format!("/v1/todos?limit=2&cursor={c}"),
                    None => "/v1/todos?limit=2".to_owned(),
                };
                let r = s.call(Method::GET, &path, Some(&token), Bytes::new()).await;
                assert_eq!(r.status, StatusCode::OK);
                let body = String::from_utf8(r.body.to_vec()).unwrap();
                assert!(!body.contains("sub-alice") && !body.contains("sub-bob"), "a response holds an owner id");
                seen.extend(r.json().as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()));
                match r.header("x-next-cursor") {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => return (seen, cursor),
                }
            }
        }
    };
    let (bobs, _) = pages(bob.clone()).await;
    assert_eq!(bobs.len(), 5);
    let (alices, _) = pages(alice.clone()).await;
    assert_eq!(alices.len(), 2);
    assert!(alices.iter().all(|id| !bobs.contains(id)));
    // Bob's first cursor, replayed by alice, is only a position among alice's own todos.
    let r = s.call(Method::GET, "/v1/todos?limit=2", Some(&bob), Bytes::new()).await;
    let bobs_cursor = r.header("x-next-cursor").unwrap().to_owned();
    let r = s.call(Method::GET, &format!("/v1/todos?limit=10&cursor={bobs_cursor}"), Some(&alice), Bytes::new()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json().as_array().unwrap().iter().all(|t| alices.contains(&t["id"].as_str().unwrap().to_owned())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_turns_sign_in_on_with_auth_issuer_and_auth_audience() {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let key = TestKey::load("a", "key-a");
    let issuer = TestIssuer::start(&[&key]).await;
    let dir = tempfile::tempdir().unwrap();
    let audiences = format!("another-client,{AUDIENCE}");
    let process = crate::support::DevServerProcess::start_with(
        &dir.path().join("todos.redb"),
        crate::support::free_port(),
        &["--auth-issuer", &issuer.url, "--auth-audience", &audiences],
    );
    let client: Client<_, http_body_util::Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let send = |method: Method, token: Option<String>, body: String| {
        let mut request = http::Request::builder().method(method).uri(process.url()).header("origin", ORIGIN);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(http_body_util::Full::new(Bytes::from(body))).unwrap();
        let client = client.clone();
        async move {
            use http_body_util::BodyExt as _;
            let response = client.request(request).await.unwrap();
            let status = response.status();
            let cors = response.headers().get("access-control-allow-origin").cloned();
            (status, cors, response.into_body().collect().await.unwrap().to_bytes())
        }
    };
    let (status, cors, body) = send(Method::GET, None, String::new()).await;
    assert_eq!((status, cors.as_ref().and_then(|v| v.to_str().ok())), (StatusCode::UNAUTHORIZED, Some("*")));
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), json!({"message": "Unauthorized"}));

    let frank = key.sign(&issuer.claims("frank"));
    let todo = a_todo();
    let (status, _, _) = send(Method::POST, Some(frank.clone()), todo.to_string()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = send(Method::GET, Some(frank), String::new()).await;
    assert_eq!((status, serde_json::from_slice::<Value>(&body).unwrap()), (StatusCode::OK, json!([todo])));
    let (_, _, body) = send(Method::GET, Some(key.sign(&issuer.claims("grace"))), String::new()).await;
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), json!([]), "another user's list is empty");
}

#[test]
fn the_binary_refuses_a_plain_http_issuer_off_loopback_and_a_lone_flag() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dev-server"))
            .args(["--memory", "--port", "0"])
            .args(args)
            .env_remove("AUTH_ISSUER")
            .env_remove("AUTH_AUDIENCE")
            .output()
            .unwrap()
    };
    let out = run(&["--auth-issuer", "http://idp.example.com", "--auth-audience", "a"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!run(&["--auth-issuer", "https://idp.example.com"]).status.success(), "issuer without audience");
    assert!(!run(&["--auth-audience", "a"]).status.success(), "audience without issuer");
}
