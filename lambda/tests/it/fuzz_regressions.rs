//! Inputs the fuzz targets (lambda/fuzz) found crashing, replayed through the same code path as the
//! target — `App::handle_payload` on an in-memory embedded store — with the invariant it broke.

use crate::support;

use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use serde_json::{Value, json};
use support::fixture;
use todos::{ApiConfig, App, EmbeddedStore, Owner, Priority, Todo, TodoStore};

const ID: &str = "00000000-0000-4000-8000-000000000000";

async fn app_with_one_todo() -> (App, EmbeddedStore) {
    let store = EmbeddedStore::in_memory().unwrap();
    let todo = Todo { id: ID.to_owned(), description: "d".to_owned(), priority: Priority::Low, due_date: None };
    store.put(&Owner::Everyone, &todo).await.unwrap();
    (App::new(Arc::new(store.clone()), ApiConfig::default()), store)
}

fn body(r: &ApiGatewayV2httpResponse) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("no JSON body: {other:?}"),
    }
}

/// dispatch crash-4792ecaa: `queryStringParameters: {"…": []}` (a key with no values, which the
/// event decoder's query map accepts but API Gateway never sends) panicked with "index out of bounds"
/// inside `query_map::QueryMapIter::next` while decoding the event — an abort of the whole function in
/// the release build (panic = "abort") instead of an answer.
#[tokio::test]
async fn a_query_parameter_with_no_values_is_ignored_instead_of_crashing() {
    let (app, store) = app_with_one_todo().await;
    for query in [json!({"limit": []}), json!({"cursor": [], "x": ["1"]}), json!({"limit": [], "cursor": []})] {
        let mut event = fixture("apigw-v2-get-todos.json");
        event["queryStringParameters"] = query.clone();
        let r = app.handle_payload(event, "fuzz").await;
        assert_eq!(r.status_code, 200, "{query}");
        assert_eq!(body(&r), json!([{"id": ID, "description": "d", "priority": "low"}]), "{query}");
    }
    // Only the empty lists go: other values of the same request still count.
    let mut event = fixture("apigw-v2-get-todos.json");
    event["queryStringParameters"] = json!({"x": [], "limit": ["0"]});
    let r = app.handle_payload(event, "fuzz").await;
    assert_eq!(r.status_code, 400);
    assert!(body(&r).is_object());
    assert_eq!(store.list(&Owner::Everyone, None, 10).await.unwrap().todos.len(), 1, "a 4xx leaves the store alone");
}
