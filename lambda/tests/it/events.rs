//! The Lambda path end to end: real-shaped API Gateway v2 events (tests/data, stage prefix included)
//! through `App::handle_payload` — the function `bootstrap` runs — on DynamoDB (dynalite).

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use serde_json::{Value, json};
use support::{fixture, fresh_table, raw_items};
use todos::{ApiConfig, App, DynamoStore, EmbeddedStore, Owner, TodoStore};

const FIXTURE_ID: &str = "5b0c8a52-8f6e-4c1b-9a57-2f1f4b3c9d10";

fn body(r: &ApiGatewayV2httpResponse) -> String {
    match &r.body {
        Some(Body::Text(t)) => t.clone(),
        Some(Body::Binary(b)) => String::from_utf8(b.clone()).unwrap(),
        _ => String::new(),
    }
}

fn header<'a>(r: &'a ApiGatewayV2httpResponse, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

async fn dynamo_app() -> (App, aws_sdk_dynamodb::Client, String) {
    let (client, table) = fresh_table("events").await;
    let store = DynamoStore::new(client.clone(), table.clone());
    // The handlers' own deadline is sized for DynamoDB; dynalite on a loaded CI machine is slower.
    let config = ApiConfig { request_deadline: Duration::from_secs(60), ..ApiConfig::default() };
    (App::new(Arc::new(store), config), client, table)
}

/// A POST event for `body`, built from the real fixture.
fn post(body: &str) -> Value {
    let mut e = fixture("apigw-v2-post-todo.json");
    e["body"] = json!(body);
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_replace_and_delete_through_real_events() {
    let (app, client, table) = dynamo_app().await;

    let r = app.handle_payload(fixture("apigw-v2-post-todo.json"), "req-1").await;
    assert_eq!(r.status_code, 204, "{}", body(&r));
    assert!(r.body.is_none());

    let r = app.handle_payload(fixture("apigw-v2-get-todos.json"), "req-2").await;
    assert_eq!(r.status_code, 200);
    assert_eq!(header(&r, "content-type"), Some("application/json"));
    let list: Value = serde_json::from_str(&body(&r)).unwrap();
    assert_eq!(
        list,
        json!([{"id": FIXTURE_ID, "description": "Write the design doc", "priority": "high",
                "dueDate": "2026-12-01T09:30:00"}])
    );

    // The same todo, base64-encoded as API Gateway sends non-text bodies: replaces, not duplicates.
    let r = app.handle_payload(fixture("apigw-v2-post-todo-base64.json"), "req-3").await;
    assert_eq!(r.status_code, 204);
    assert_eq!(raw_items(&client, &table).await.len(), 1);

    let r = app.handle_payload(fixture("apigw-v2-delete-todo.json"), "req-4").await;
    assert_eq!(r.status_code, 204);
    let r = app.handle_payload(fixture("apigw-v2-delete-todo.json"), "req-5").await;
    assert_eq!(r.status_code, 204, "deleting a missing todo is not an error");
    let r = app.handle_payload(fixture("apigw-v2-get-todos.json"), "req-6").await;
    assert_eq!(body(&r), "[]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_and_cursor_page_through_every_todo() {
    let (app, _, _) = dynamo_app().await;
    let mut ids: Vec<String> = (0..5).map(|_| support::new_id()).collect();
    for id in &ids {
        let r =
            app.handle_payload(post(&json!({"id": id, "description": "d", "priority": "low"}).to_string()), "p").await;
        assert_eq!(r.status_code, 204);
    }
    let mut seen = Vec::new();
    let mut event = fixture("apigw-v2-get-todos-page.json");
    for _ in 0..10 {
        let r = app.handle_payload(event.clone(), "page").await;
        assert_eq!(r.status_code, 200, "{}", body(&r));
        let page: Vec<Value> = serde_json::from_str(&body(&r)).unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        let Some(cursor) = header(&r, "x-next-cursor") else { break };
        event["queryStringParameters"] = json!({"limit": "2", "cursor": cursor});
        event["rawQueryString"] = json!(format!("limit=2&cursor={cursor}"));
    }
    ids.sort();
    seen.sort();
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn without_a_route_key_dispatch_matches_the_path_ignoring_the_stage() {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    let app = App::new(store, ApiConfig::default());
    let r = app.handle_payload(fixture("apigw-v2-default-route-put.json"), "a").await;
    assert_eq!(r.status_code, 405);
    assert_eq!(header(&r, "allow"), Some("GET, POST"));
    let r = app.handle_payload(fixture("apigw-v2-default-route-delete.json"), "b").await;
    assert_eq!(r.status_code, 204);
    let r = app.handle_payload(fixture("lambda-url-get-todos.json"), "c").await;
    assert_eq!((r.status_code, body(&r).as_str()), (200, "[]"));
    let mut unknown = fixture("lambda-url-get-todos.json");
    unknown["rawPath"] = json!("/v1/nothing-here");
    let r = app.handle_payload(unknown, "d").await;
    assert_eq!(r.status_code, 404);
    assert_eq!(serde_json::from_str::<Value>(&body(&r)).unwrap(), json!({"message": "not found"}));
}

/// API Gateway joins a repeated query parameter with commas (`?limit=1&limit=5000` arrives as
/// `"limit": "1,5000"`): that is a malformed limit, answered 400 as the dev server answers it, never
/// served with its first value.
#[tokio::test]
async fn a_comma_joined_repeated_limit_is_a_bad_limit_not_its_first_value() {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    let app = App::new(store.clone(), ApiConfig::default());
    assert_eq!(app.handle_payload(fixture("apigw-v2-post-todo.json"), "seed").await.status_code, 204);
    for limit in [json!("1,5000"), json!("2,2"), json!(["1", "5000"])] {
        let mut e = fixture("apigw-v2-get-todos.json");
        e["queryStringParameters"] = json!({ "limit": limit });
        let r = app.handle_payload(e, "a").await;
        assert_eq!(r.status_code, 400, "limit {limit}");
        assert_eq!(
            serde_json::from_str::<Value>(&body(&r)).unwrap(),
            json!({"message": "limit must be an integer from 1 to 1000"}),
            "limit {limit}"
        );
    }
    let mut e = fixture("apigw-v2-get-todos.json");
    e["queryStringParameters"] = json!({ "limit": "1" });
    let r = app.handle_payload(e, "b").await;
    assert_eq!(r.status_code, 200);
    assert_eq!(serde_json::from_str::<Value>(&body(&r)).unwrap().as_array().unwrap().len(), 1);
    assert_eq!(store.list(&Owner::Everyone, None, 10).await.unwrap().todos.len(), 1, "nothing changed");
}

#[tokio::test]
async fn unknown_route_keys_and_foreign_payloads_get_a_client_error() {
    let app = App::new(Arc::new(EmbeddedStore::in_memory().unwrap()), ApiConfig::default());
    let mut e = fixture("apigw-v2-get-todos.json");
    e["routeKey"] = json!("GET /admin");
    e["requestContext"]["routeKey"] = json!("GET /admin");
    assert_eq!(app.handle_payload(e, "a").await.status_code, 404);
    let r = app.handle_payload(json!({"Records": [{"eventSource": "aws:sqs"}]}), "b").await;
    assert_eq!(r.status_code, 400);
    assert_eq!(app.handle_payload(json!("just a string"), "c").await.status_code, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_client_error_and_changes_nothing() {
    let (app, client, table) = dynamo_app().await;
    let r = app.handle_payload(fixture("apigw-v2-post-todo.json"), "seed").await;
    assert_eq!(r.status_code, 204);
    let before = raw_items(&client, &table).await;

    let valid_id = support::new_id();
    let huge = json!({"id": valid_id, "description": "x".repeat(300 * 1024), "priority": "low"}).to_string();
    let invalid_utf8 = {
        let mut e = fixture("apigw-v2-post-todo-base64.json");
        e["body"] = json!("/w=="); // the single byte 0xFF
        e
    };
    let bad_base64 = {
        let mut e = fixture("apigw-v2-post-todo-base64.json");
        e["body"] = json!("%%% not base64 %%%");
        e
    };
    let no_body = {
        let mut e = fixture("apigw-v2-post-todo.json");
        e.as_object_mut().unwrap().remove("body");
        e
    };
    let junk_delete = |id: &str| {
        let mut e = fixture("apigw-v2-delete-todo.json");
        e["pathParameters"] = json!({"id": id});
        e["rawPath"] = json!(format!("/v1/todos/{id}"));
        e
    };
    let get_with = |qs: Value| {
        let mut e = fixture("apigw-v2-get-todos.json");
        e["queryStringParameters"] = qs;
        e
    };
    let cases: Vec<(&str, Value, i64)> = vec![
        ("malformed JSON", post(r#"{"id": "#), 400),
        ("JSON array", post("[1,2,3]"), 400),
        ("JSON string", post(r#""todo""#), 400),
        ("JSON null", post("null"), 400),
        ("empty body", post(""), 400),
        ("whitespace body", post("  \n"), 400),
        ("no body", no_body, 400),
        ("invalid UTF-8", invalid_utf8, 400),
        ("invalid base64", bad_base64, 400),
        ("body over the limit", post(&huge), 413),
        ("empty object", post("{}"), 422),
        ("wrong types", post(r#"{"id": 1, "description": [], "priority": true}"#), 422),
        ("bad priority", post(&json!({"id": valid_id, "description": "d", "priority": "URGENT"}).to_string()), 422),
        (
            "impossible date",
            post(&json!({"id": valid_id, "description": "d", "priority": "low", "dueDate": "2023-02-29"}).to_string()),
            422,
        ),
        (
            "too long description",
            post(&json!({"id": valid_id, "description": "é".repeat(10_001), "priority": "low"}).to_string()),
            422,
        ),
        ("non-UUID id", post(&json!({"id": "1234", "description": "d", "priority": "low"}).to_string()), 422),
        ("junk id in path", junk_delete("not-a-uuid"), 400),
        ("injection in path", junk_delete("' OR 1=1 --"), 400),
        ("zero limit", get_with(json!({"limit": "0"})), 400),
        ("text limit", get_with(json!({"limit": "many"})), 400),
        ("limit too large", get_with(json!({"limit": "1001"})), 400),
        ("forged cursor", get_with(json!({"cursor": "%%%"})), 400),
    ];
    for (what, event, status) in cases {
        let r = app.handle_payload(event, what).await;
        assert_eq!(r.status_code, status, "{what}: {}", body(&r));
        let parsed: Value = serde_json::from_str(&body(&r)).unwrap_or_else(|_| panic!("{what}: body is not JSON"));
        assert!(parsed.is_object(), "{what}");
        assert_eq!(header(&r, "content-type"), Some("application/json"), "{what}");
        assert!(!body(&r).contains(&table), "{what}: leaks the table name");
        assert_eq!(raw_items(&client, &table).await, before, "{what}: changed the table");
    }
}

#[tokio::test]
async fn validation_errors_name_every_failing_field() {
    let app = App::new(Arc::new(EmbeddedStore::in_memory().unwrap()), ApiConfig::default());
    let r = app.handle_payload(post(r#"{"description": "", "priority": "soon", "dueDate": "31/12/2024"}"#), "v").await;
    assert_eq!(r.status_code, 422);
    let v: Value = serde_json::from_str(&body(&r)).unwrap();
    assert_eq!(v["fieldErrors"]["id"], "required");
    assert_eq!(v["fieldErrors"]["description"], "required");
    assert!(v["fieldErrors"]["priority"].as_str().unwrap().contains("low, normal, high"));
    assert!(v["fieldErrors"]["dueDate"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_larger_than_the_lambda_response_cap_is_split_by_cursor() {
    // ~9 MB of todos: more than Lambda's 6 MB response cap. Escaping-heavy text makes sure the cap is
    // measured as the body will be once embedded in the response document.
    let store: Arc<dyn TodoStore> = Arc::new(EmbeddedStore::in_memory().unwrap());
    let text = "\"quoted\" \\ ".repeat(900);
    let n = 900;
    for i in 0..n {
        let todo = todos::Todo {
            id: support::new_id(),
            description: format!("{i} {text}"),
            priority: todos::Priority::Low,
            due_date: None,
        };
        store.put(&Owner::Everyone, &todo).await.unwrap();
    }
    let app = App::new(store, ApiConfig::default());
    let mut event = fixture("apigw-v2-get-todos.json");
    let mut total = 0;
    let mut responses = 0;
    loop {
        let r = app.handle_payload(event.clone(), "big").await;
        assert_eq!(r.status_code, 200);
        let document = serde_json::to_vec(&r).unwrap();
        assert!(document.len() <= 6 * 1024 * 1024, "response document is {} bytes", document.len());
        let page: Vec<Value> = serde_json::from_str(&body(&r)).expect("every part is a valid JSON array");
        total += page.len();
        responses += 1;
        let Some(cursor) = header(&r, "x-next-cursor") else { break };
        event["queryStringParameters"] = json!({"cursor": cursor});
        assert!(responses < 10);
    }
    assert_eq!(total, n);
    assert!(responses >= 2, "9 MB cannot fit one response");
}

/// An endpoint on a loopback port that nothing listens on.
fn closed_port_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

async fn assert_unavailable_in_time(app: &App, table: &str) {
    let id = support::new_id();
    let delete = {
        let mut e = fixture("apigw-v2-delete-todo.json");
        e["pathParameters"] = json!({"id": id});
        e
    };
    for (what, event) in
        [("list", fixture("apigw-v2-get-todos.json")), ("put", fixture("apigw-v2-post-todo.json")), ("delete", delete)]
    {
        let started = Instant::now();
        let r = app.handle_payload(event, what).await;
        let took = started.elapsed();
        assert_eq!(r.status_code, 503, "{what}: {}", body(&r));
        assert!(took < Duration::from_millis(2900), "{what}: answered after {took:?}, past Lambda's 3 s");
        assert_eq!(header(&r, "retry-after"), Some("1"));
        let text = body(&r);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(v["message"].is_string());
        for leak in [table, "dispatch failure", "Error", "127.0.0.1", "Scan", "PutItem"] {
            assert!(!text.contains(leak), "{what}: body leaks {leak:?}: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_unreachable_answers_503_within_the_time_limit() {
    let client = support::production_client(&closed_port_endpoint()).await;
    let app = App::new(Arc::new(DynamoStore::new(client, "todos-prod-table")), ApiConfig::default());
    assert_unavailable_in_time(&app, "todos-prod-table").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_that_accepts_but_never_answers_yields_503_within_the_time_limit() {
    // A loopback listener that accepts connections and never replies: the SDK's timeouts must fire.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let stall = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = support::production_client(&endpoint).await;
    let app = App::new(Arc::new(DynamoStore::new(client, "todos-prod-table")), ApiConfig::default());
    assert_unavailable_in_time(&app, "todos-prod-table").await;
    stall.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_todo_arrives_exactly_once_whatever_the_size_cap_and_limit() {
    let (app, client, table) = dynamo_app().await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let id = support::new_id();
        let desc = "w".repeat(10 + i * 7);
        let r =
            app.handle_payload(post(&json!({"id": id, "description": desc, "priority": "low"}).to_string()), "s").await;
        assert_eq!(r.status_code, 204);
        ids.push(id);
    }
    ids.sort();
    for (cap, limit) in [(1_500, None), (1_500, Some("7")), (400, Some("3")), (100_000, Some("7")), (100_000, None)] {
        let store = DynamoStore::new(client.clone(), table.clone());
        let config =
            ApiConfig { max_list_bytes: cap, request_deadline: Duration::from_secs(60), ..ApiConfig::default() };
        let app = App::new(Arc::new(store), config);
        let mut seen = Vec::new();
        let mut query = json!({});
        for round in 0.. {
            assert!(round < 500, "listing does not end (cap {cap}, limit {limit:?})");
            if let Some(l) = limit {
                query["limit"] = json!(l);
            }
            let mut e = fixture("apigw-v2-get-todos.json");
            e["queryStringParameters"] = query.clone();
            let r = app.handle_payload(e, "cap").await;
            assert_eq!(r.status_code, 200);
            let text = body(&r);
            assert!(serde_json::to_string(&text).unwrap().len() <= cap, "body over the cap {cap}");
            let page: Vec<Value> = serde_json::from_str(&text).unwrap();
            if let Some(l) = limit {
                assert!(page.len() <= l.parse().unwrap());
            }
            seen.extend(page.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
            match header(&r, "x-next-cursor") {
                Some(c) => query["cursor"] = json!(c),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(seen, ids, "cap {cap}, limit {limit:?}");
    }
}

/// The cap holds to the byte: a cap equal to the size of the first k todos as the response document
/// holds them (a JSON string, quotes and escapes included) returns exactly those k; one byte less, k - 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_size_cap_is_exact_to_the_byte() {
    let (app, client, table) = dynamo_app().await;
    for i in 0..12 {
        // Quotes, backslashes and a control character: each escapes to more bytes than it takes.
        let desc = format!("{}\"q\\\u{1}{}", "e".repeat(i * 13), i);
        let todo = json!({"id": support::new_id(), "description": desc, "priority": "high"});
        assert_eq!(app.handle_payload(post(&todo.to_string()), "s").await.status_code, 204);
    }
    let all: Vec<Value> =
        serde_json::from_str(&body(&app.handle_payload(fixture("apigw-v2-get-todos.json"), "a").await)).unwrap();
    assert_eq!(all.len(), 12);
    let document_size = |k: usize| serde_json::to_string(&serde_json::to_string(&all[..k]).unwrap()).unwrap().len();
    for k in 1..all.len() {
        let mut cases = vec![(document_size(k), k)];
        if k > 1 {
            cases.push((document_size(k) - 1, k - 1));
        }
        for (cap, expected) in cases {
            let store = DynamoStore::new(client.clone(), table.clone());
            let config =
                ApiConfig { max_list_bytes: cap, request_deadline: Duration::from_secs(60), ..ApiConfig::default() };
            let r = App::new(Arc::new(store), config).handle_payload(fixture("apigw-v2-get-todos.json"), "c").await;
            assert_eq!(r.status_code, 200);
            let page: Vec<Value> = serde_json::from_str(&body(&r)).unwrap();
            assert_eq!(page, all[..expected], "cap {cap}");
            assert!(header(&r, "x-next-cursor").is_some(), "cap {cap}: the rest must follow by cursor");
        }
    }
    // A cap below the first todo is a misconfiguration: a 500, never an empty list that hides the rest.
    let config = ApiConfig { max_list_bytes: document_size(1) - 1, ..ApiConfig::default() };
    let r = App::new(Arc::new(DynamoStore::new(client, table)), config)
        .handle_payload(fixture("apigw-v2-get-todos.json"), "m")
        .await;
    assert_eq!((r.status_code, body(&r)), (500, r#"{"message":"internal error"}"#.to_owned()));
}

// ---- sign-in (AUTH_MODE=jwt): the owner is the authorizer's `sub` claim ---------------------------

/// The `sub` in the `apigw-v2-jwt-*.json` fixtures.
const FIXTURE_SUB: &str = "7c1e4a52-3b0f-4d6e-9a18-2f5b6c7d8e90";

/// A signed-in app on a fresh table keyed `UserId` + `Id`, as the deploy creates it with sign-in.
async fn signed_in_app() -> (App, aws_sdk_dynamodb::Client, String) {
    let (client, table) = support::fresh_owned_table("events-jwt").await;
    let store = DynamoStore::new(client.clone(), table.clone());
    let config = ApiConfig {
        auth: todos::config::AuthMode::Jwt,
        request_deadline: Duration::from_secs(60),
        ..ApiConfig::default()
    };
    (App::new(Arc::new(store), config), client, table)
}

/// `event` as another user would send it.
fn as_user(mut event: Value, sub: &str) -> Value {
    event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = json!(sub);
    event["requestContext"]["authorizer"]["jwt"]["claims"]["username"] = json!(sub);
    event
}

/// The table's items as (UserId, Id, Description), sorted.
async fn owned_rows(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<(String, String, String)> {
    let text = |item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>, k: &str| {
        item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
    };
    let mut rows: Vec<_> = raw_items(client, table)
        .await
        .iter()
        .map(|i| (text(i, "UserId"), text(i, "Id"), text(i, "Description")))
        .collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_events_on_every_route_act_on_the_callers_todos_only() {
    let (app, client, table) = signed_in_app().await;
    let other = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d";

    let r = app.handle_payload(fixture("apigw-v2-jwt-post-todo.json"), "req-1").await;
    assert_eq!(r.status_code, 204, "{}", body(&r));
    let mut theirs = fixture("apigw-v2-jwt-post-todo.json");
    theirs["body"] = json!(json!({"id": FIXTURE_ID, "description": "someone else's", "priority": "low"}).to_string());
    let r = app.handle_payload(as_user(theirs, other), "req-2").await;
    assert_eq!(r.status_code, 204);
    assert_eq!(
        owned_rows(&client, &table).await,
        vec![
            (other.to_owned(), FIXTURE_ID.to_owned(), "someone else's".to_owned()),
            (FIXTURE_SUB.to_owned(), FIXTURE_ID.to_owned(), "Write the design doc".to_owned()),
        ],
        "one item per owner under the same id"
    );
    let item =
        raw_items(&client, &table).await.into_iter().find(|i| i["UserId"].as_s().unwrap() == FIXTURE_SUB).unwrap();
    let mut attributes: Vec<&str> = item.keys().map(String::as_str).collect();
    attributes.sort_unstable();
    assert_eq!(attributes, ["Description", "DueDate", "Id", "Priority", "UserId"], "the article's attribute names");

    let r = app.handle_payload(fixture("apigw-v2-jwt-get-todos.json"), "req-3").await;
    assert_eq!(r.status_code, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body(&r)).unwrap(),
        json!([{"id": FIXTURE_ID, "description": "Write the design doc", "priority": "high",
                "dueDate": "2026-12-01T09:30:00"}])
    );
    assert!(!body(&r).contains(FIXTURE_SUB), "no response holds the owner id");
    let r = app.handle_payload(fixture("apigw-v2-jwt-get-todos-page.json"), "req-4").await;
    assert_eq!((r.status_code, header(&r, "x-next-cursor")), (200, None));
    assert_eq!(serde_json::from_str::<Value>(&body(&r)).unwrap().as_array().unwrap().len(), 1);

    let r = app.handle_payload(as_user(fixture("apigw-v2-jwt-delete-todo.json"), other), "req-5").await;
    assert_eq!(r.status_code, 204);
    assert_eq!(owned_rows(&client, &table).await.len(), 1, "the other user's DELETE removed only theirs");
    let r = app.handle_payload(fixture("apigw-v2-jwt-delete-todo.json"), "req-6").await;
    assert_eq!(r.status_code, 204);
    assert!(owned_rows(&client, &table).await.is_empty());
    let r = app.handle_payload(fixture("apigw-v2-jwt-get-todos.json"), "req-7").await;
    assert_eq!(body(&r), "[]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_function_answers_401_to_an_event_without_sub_and_touches_nothing() {
    let (app, client, table) = signed_in_app().await;
    let r = app.handle_payload(fixture("apigw-v2-jwt-post-todo.json"), "seed").await;
    assert_eq!(r.status_code, 204);
    let before = owned_rows(&client, &table).await;

    let mut events = Vec::new();
    for name in ["get-todos", "get-todos-page", "post-todo", "delete-todo"] {
        // No authorizer at all (a route deployed without it), and a JWT authorizer without `sub`.
        events.push((format!("{name} without authorizer"), fixture(&format!("apigw-v2-{name}.json"))));
        let mut no_sub = fixture(&format!("apigw-v2-jwt-{name}.json"));
        no_sub["requestContext"]["authorizer"]["jwt"]["claims"].as_object_mut().unwrap().remove("sub");
        events.push((format!("{name} without sub"), no_sub));
        events.push((format!("{name} with an empty sub"), as_user(fixture(&format!("apigw-v2-jwt-{name}.json")), "")));
    }
    for (what, event) in events {
        let r = app.handle_payload(event, "no-owner").await;
        assert_eq!(r.status_code, 401, "{what}");
        assert_eq!(serde_json::from_str::<Value>(&body(&r)).unwrap(), json!({"message": "Unauthorized"}), "{what}");
    }
    assert_eq!(owned_rows(&client, &table).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_sign_in_authorizer_claims_change_nothing() {
    let (app, client, table) = dynamo_app().await;
    let r = app.handle_payload(fixture("apigw-v2-jwt-post-todo.json"), "a").await;
    assert_eq!(r.status_code, 204);
    let items = raw_items(&client, &table).await;
    assert_eq!(items.len(), 1);
    assert!(!items[0].contains_key("UserId"), "mode none writes today's item");
    let r = app.handle_payload(as_user(fixture("apigw-v2-jwt-get-todos.json"), "anyone"), "b").await;
    assert_eq!(serde_json::from_str::<Value>(&body(&r)).unwrap().as_array().unwrap().len(), 1, "one shared list");
}
