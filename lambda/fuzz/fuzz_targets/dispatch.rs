//! Request → response through the real Lambda path: an API Gateway v2 payload (built from structured
//! arbitrary input, or the raw input itself when it starts with `{`) goes to `App::handle_payload` on a
//! fresh in-memory embedded store seeded with a few todos.
//!
//! Invariants: nothing panics; the status is one of 200, 204, 400, 404, 405, 413, 422 (never 5xx on the
//! in-memory store) and the one an independent routing oracle expects; every non-204 response carries a
//! JSON body (an array for 200, an object otherwise), a 204 none; a 4xx leaves the store unchanged; a 200
//! lists the store in order (all of it when no cursor is involved); a 204 POST puts exactly the posted
//! todo, a 204 DELETE removes exactly that id.

#![no_main]

use std::collections::BTreeMap;
use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use todos::entrypoints::lambda::from_event;
use todos::{ApiConfig, ApiRequest, App, EmbeddedStore, Owner, Priority, Todo, TodoStore};

thread_local! {
    static RT: tokio::runtime::Runtime =
        tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
}

const ROUTE_KEYS: [&str; 3] = ["GET /todos", "POST /todos", "DELETE /todos/{id}"];

fuzz_target!(|data: &[u8]| {
    let payload = if data.first() == Some(&b'{') {
        // Raw mode: the bytes are the whole invocation payload (the fixtures seed this).
        match serde_json::from_slice::<Value>(data) {
            Ok(v) => Case { payload: v, seed: 2, request_id: "raw".to_owned() },
            Err(_) => return,
        }
    } else {
        match Input::arbitrary_take_rest(Unstructured::new(data)) {
            Ok(input) => input.into_case(),
            Err(_) => return,
        }
    };
    RT.with(|rt| rt.block_on(run(payload)));
});

struct Case {
    payload: Value,
    /// How many todos the store holds before the request.
    seed: usize,
    request_id: String,
}

fn seeded_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012x}")
}

fn seeded_todo(i: usize) -> Todo {
    Todo {
        id: seeded_id(i),
        description: format!("seeded \"{i}\"\n\u{1}é"),
        priority: [Priority::Low, Priority::Normal, Priority::High][i % 3],
        due_date: (i % 2 == 0).then(|| "2024-02-29T23:59:59".to_owned()),
    }
}

/// One in-memory store per thread, brought back to exactly the seeded state before each input (cheap
/// when the previous input did not write, which most do not), so every run starts from the same state.
async fn fresh_store(seed: usize) -> EmbeddedStore {
    thread_local! {
        static STORE: EmbeddedStore = EmbeddedStore::in_memory().expect("in-memory store");
    }
    let store = STORE.with(EmbeddedStore::clone);
    let want: BTreeMap<String, Todo> = (0..seed).map(|i| (seeded_id(i), seeded_todo(i))).collect();
    let have = snapshot(&store).await;
    for (id, todo) in &have {
        if want.get(id) != Some(todo) {
            store.delete(&Owner::Everyone, id).await.expect("reset delete");
        }
    }
    for (id, todo) in &want {
        if have.get(id) != Some(todo) {
            store.put(&Owner::Everyone, todo).await.expect("reset put");
        }
    }
    store
}

async fn run(case: Case) {
    let store = fresh_store(case.seed).await;
    let config = ApiConfig::default();
    let app = App::new(Arc::new(store.clone()), config.clone());
    let before = snapshot(&store).await;

    let payload = case.payload.clone();
    let response = app.handle_payload(case.payload, &case.request_id).await;
    // The runtime serialises the response document; that must work too.
    serde_json::to_vec(&response).expect("response serialises");
    let after = snapshot(&store).await;

    let status = response.status_code;
    assert!([200, 204, 400, 404, 405, 413, 422].contains(&status), "status {status}: {}", text(&response));
    let body = match (&response.body, status) {
        (None, 204) => None,
        (Some(Body::Text(t)), s) if s != 204 => Some(serde_json::from_str::<Value>(t).expect("body is JSON")),
        (b, s) => panic!("status {s} with body {b:?}"),
    };
    match (&body, status) {
        (None, _) => {}
        (Some(Value::Array(_)), 200) => {}
        (Some(Value::Object(_)), s) if s != 200 => {}
        (Some(b), s) => panic!("status {s} with body {b}"),
    }
    if body.is_some() {
        assert_eq!(header(&response, "content-type"), Some("application/json"));
    }
    if (400..500).contains(&status) {
        assert_eq!(before, after, "a {status} changed the store");
    }

    // What the handler saw, decoded here independently (None: the payload is no event).
    let decoded =
        serde_json::from_value::<ApiGatewayV2httpRequest>(without_empty_query_lists(payload)).ok().map(from_event);
    let request = match decoded {
        None | Some(Err(_)) => {
            assert_eq!(status, 400, "an undecodable payload answers 400");
            return;
        }
        Some(Ok(request)) => request,
    };
    match expected_route(&request) {
        Expected::NotFound => assert_eq!(status, 404),
        Expected::MethodNotAllowed(allow) => {
            assert_eq!(status, 405);
            assert_eq!(header(&response, "allow"), Some(allow));
        }
        Expected::List => {
            assert!(status == 200 || status == 400, "list answered {status}");
            if status == 200 {
                check_list(&request, &response, body.as_ref().expect("200 body"), &before);
            }
            assert_eq!(before, after, "a list changed the store");
        }
        Expected::Put => match status {
            204 => {
                let todo = posted_todo(&request).expect("a 204 POST has a valid todo body");
                assert!(request.body.as_ref().is_some_and(|b| b.len() <= config.max_body_bytes));
                let mut want = before.clone();
                want.insert(todo.id.clone(), todo);
                assert_eq!(after, want, "a 204 POST stores exactly the posted todo");
            }
            400 | 413 | 422 => {
                if status == 413 {
                    assert!(request.body.as_ref().is_some_and(|b| b.len() > config.max_body_bytes));
                }
                if posted_todo(&request).is_some() {
                    assert_eq!(status, 413, "a valid todo body was refused");
                }
            }
            s => panic!("POST answered {s}"),
        },
        Expected::Delete(id) => match status {
            204 => {
                let mut want = before.clone();
                want.remove(id.as_str());
                assert_eq!(after, want, "a 204 DELETE removes exactly that id");
            }
            400 => assert!(!todos::domain::is_uuid(&id), "DELETE of UUID {id:?} refused"),
            s => panic!("DELETE answered {s}"),
        },
    }
}

/// A query parameter given as an empty list has no value: the same request as without it.
fn without_empty_query_lists(mut payload: Value) -> Value {
    if let Some(Value::Object(query)) = payload.get_mut("queryStringParameters") {
        query.retain(|_, v| !matches!(v, Value::Array(a) if a.is_empty()));
    }
    payload
}

async fn snapshot(store: &EmbeddedStore) -> BTreeMap<String, Todo> {
    let page = store.list(&Owner::Everyone, None, usize::MAX).await.expect("list");
    assert_eq!(page.last_key, None);
    page.todos.into_iter().map(|t| (t.id.clone(), Arc::unwrap_or_clone(t))).collect()
}

fn text(r: &ApiGatewayV2httpResponse) -> String {
    match &r.body {
        Some(Body::Text(t)) => t.clone(),
        other => format!("{other:?}"),
    }
}

fn header<'a>(r: &'a ApiGatewayV2httpResponse, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The valid todo in a request body, if it has one.
fn posted_todo(request: &ApiRequest) -> Option<Todo> {
    let value: Value = serde_json::from_slice(request.body.as_deref()?).ok()?;
    todos::domain::validate_todo(value.as_object()?).ok()
}

/// A 200 list is the store in id order: after the cursor, at most `limit`, ending where the next cursor
/// says, and all of it when neither cursor nor limit applies (the store here is tiny).
fn check_list(request: &ApiRequest, response: &ApiGatewayV2httpResponse, body: &Value, store: &BTreeMap<String, Todo>) {
    let items: Vec<Todo> = body
        .as_array()
        .expect("array")
        .iter()
        .map(|v| serde_json::from_value(v.clone()).expect("a listed item is a todo"))
        .collect();
    for pair in items.windows(2) {
        assert!(pair[0].id < pair[1].id, "list out of order");
    }
    for item in &items {
        assert_eq!(store.get(&item.id), Some(item), "listed todo not as stored");
    }
    let first = |name: &str| request.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if let Some(limit) = first("limit") {
        let limit: usize = limit.parse().expect("a 200 had a numeric limit");
        assert!((1..=1000).contains(&limit));
        assert!(items.len() <= limit);
    }
    let next = header(response, "x-next-cursor");
    if let Some(next) = next {
        let key = URL_SAFE_NO_PAD.decode(next).expect("next cursor is unpadded base64url");
        let last = items.last().expect("a cursor follows at least one item");
        assert_eq!(key, last.id.as_bytes(), "next cursor is the last listed id");
    }
    if first("cursor").is_none() {
        let want: Vec<&Todo> = store.values().take(items.len().max(1)).collect();
        let got: Vec<&Todo> = items.iter().collect();
        assert_eq!(got, want[..items.len()], "a first page starts at the beginning");
        if next.is_none() {
            assert_eq!(items.len(), store.len(), "a list without a next cursor is complete");
        }
    }
}

enum Expected {
    List,
    Put,
    Delete(String),
    MethodNotAllowed(&'static str),
    NotFound,
}

/// Routing written out separately from `routes`/`dispatch`: route key when there is a real one, else
/// method and path with a whole-segment stage prefix removed.
fn expected_route(request: &ApiRequest) -> Expected {
    match request.route_key.as_deref() {
        Some(key) if key != "$default" => {
            return match key {
                "GET /todos" => Expected::List,
                "POST /todos" => Expected::Put,
                "DELETE /todos/{id}" => Expected::Delete(
                    request.path_parameters.iter().find(|(k, _)| k == "id").map(|(_, v)| v.clone()).unwrap_or_default(),
                ),
                _ => Expected::NotFound,
            };
        }
        _ => {}
    }
    let mut path = request.path.as_str();
    if let Some(stage) = request.stage.as_deref().filter(|s| !s.is_empty() && *s != "$default") {
        let prefix = format!("/{stage}/");
        if path.starts_with(&prefix) {
            path = &path[prefix.len() - 1..];
        }
    }
    let method = request.method.to_ascii_uppercase();
    if path == "/todos" {
        match method.as_str() {
            "GET" => Expected::List,
            "POST" => Expected::Put,
            _ => Expected::MethodNotAllowed("GET, POST"),
        }
    } else if let Some(id) = path.strip_prefix("/todos/").filter(|id| !id.is_empty() && !id.contains('/')) {
        match method.as_str() {
            "DELETE" => Expected::Delete(id.to_owned()),
            _ => Expected::MethodNotAllowed("DELETE"),
        }
    } else {
        Expected::NotFound
    }
}

// ---- structured input ----------------------------------------------------------------------------

#[derive(Arbitrary, Debug)]
struct Input {
    seed: u8,
    method: Method,
    route_key: RouteKey,
    /// Where the route key goes: top level, request context, both.
    route_key_at: u8,
    stage: Stage,
    stage_prefix: bool,
    path: PathKind,
    /// `rawPath`, `path` (its alias) or only `requestContext.http.path`.
    path_at: u8,
    headers: Vec<(String, String)>,
    query: Vec<(QueryKey, QueryValue)>,
    path_parameters: Vec<(ParamKey, Id)>,
    body: BodyKind,
    base64: Base64,
    pad_to_limit: bool,
    request_id: String,
}

#[derive(Arbitrary, Debug)]
enum Method {
    Get,
    Post,
    Delete,
    Put,
    Options,
    Head,
    LowerCase(Box<Method>),
    Other(String),
}

impl Method {
    fn name(&self) -> String {
        match self {
            Method::Get => "GET".into(),
            Method::Post => "POST".into(),
            Method::Delete => "DELETE".into(),
            Method::Put => "PUT".into(),
            Method::Options => "OPTIONS".into(),
            Method::Head => "HEAD".into(),
            Method::LowerCase(m) => m.name().to_ascii_lowercase(),
            Method::Other(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum RouteKey {
    Real(u8),
    Default,
    Absent,
    Null,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Stage {
    Absent,
    Default,
    V1,
    Empty,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum PathKind {
    Todos,
    TodosSlash,
    Todo(Id),
    TodoExtra(Id, String),
    Root,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Id {
    Seeded(u8),
    Fresh(u128),
    Upper(u128),
    Raw(String),
}

impl Id {
    fn text(&self) -> String {
        match self {
            Id::Seeded(i) => seeded_id(usize::from(*i % 8)),
            Id::Fresh(n) => uuid_of(*n),
            Id::Upper(n) => uuid_of(*n).to_ascii_uppercase(),
            Id::Raw(s) => s.clone(),
        }
    }
}

fn uuid_of(n: u128) -> String {
    let h = format!("{n:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

#[derive(Arbitrary, Debug)]
enum ParamKey {
    Id,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum QueryKey {
    Limit,
    Cursor,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum QueryValue {
    Number(i64),
    CursorOf(Id),
    Str(String),
    List(Vec<String>),
    Null,
}

#[derive(Arbitrary, Debug)]
enum BodyKind {
    Absent,
    Null,
    Todo(TodoBody),
    Json(JsonValue),
    Text(String),
    Bytes(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct TodoBody {
    id: Option<Field<Id>>,
    description: Option<Field<Description>>,
    priority: Option<Field<Prio>>,
    due: Option<Field<Due>>,
    extra: Option<(String, JsonValue)>,
}

#[derive(Arbitrary, Debug)]
enum Field<T> {
    Good(T),
    Null,
    Empty,
    Number(i64),
    Other(JsonValue),
}

#[derive(Arbitrary, Debug)]
enum Description {
    Text(String),
    Repeat(char, u16),
}

#[derive(Arbitrary, Debug)]
enum Prio {
    Low,
    Normal,
    High,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Due {
    Date(u16, u8, u8),
    Minutes(u16, u8, u8, u8, u8),
    Seconds(u16, u8, u8, u8, u8, u8),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum JsonValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<JsonValue>),
    Object(Vec<(String, JsonValue)>),
}

impl JsonValue {
    fn to_value(&self) -> Value {
        match self {
            JsonValue::Null => Value::Null,
            JsonValue::Bool(b) => json!(b),
            JsonValue::Int(i) => json!(i),
            JsonValue::Float(f) => json!(f),
            JsonValue::Str(s) => json!(s),
            JsonValue::Array(a) => Value::Array(a.iter().map(JsonValue::to_value).collect()),
            JsonValue::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), v.to_value())).collect()),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Base64 {
    No,
    Yes,
    /// Flag set but the body sent as is (usually invalid base64).
    Claimed,
}

impl<T> Field<T> {
    fn to_value(&self, good: impl Fn(&T) -> Value) -> Value {
        match self {
            Field::Good(t) => good(t),
            Field::Null => Value::Null,
            Field::Empty => json!(""),
            Field::Number(n) => json!(n),
            Field::Other(v) => v.to_value(),
        }
    }
}

impl TodoBody {
    fn to_value(&self) -> Value {
        let mut o = Map::new();
        if let Some((k, v)) = &self.extra {
            o.insert(k.clone(), v.to_value());
        }
        if let Some(f) = &self.id {
            o.insert("id".into(), f.to_value(|id| json!(id.text())));
        }
        if let Some(f) = &self.description {
            o.insert(
                "description".into(),
                f.to_value(|d| match d {
                    Description::Text(s) => json!(s),
                    Description::Repeat(c, n) => json!(c.to_string().repeat(usize::from(*n % 10_003))),
                }),
            );
        }
        if let Some(f) = &self.priority {
            o.insert(
                "priority".into(),
                f.to_value(|p| match p {
                    Prio::Low => json!("low"),
                    Prio::Normal => json!("normal"),
                    Prio::High => json!("high"),
                    Prio::Raw(s) => json!(s),
                }),
            );
        }
        if let Some(f) = &self.due {
            o.insert(
                "dueDate".into(),
                f.to_value(|d| {
                    json!(match *d {
                        Due::Date(y, m, d) => format!("{:04}-{:02}-{:02}", y % 10_000, m % 14, d % 33),
                        Due::Minutes(y, m, d, h, mi) => {
                            format!("{:04}-{:02}-{:02}T{:02}:{:02}", y % 10_000, m % 14, d % 33, h % 26, mi % 62)
                        }
                        Due::Seconds(y, m, d, h, mi, s) => format!(
                            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                            y % 10_000,
                            m % 14,
                            d % 33,
                            h % 26,
                            mi % 62,
                            s % 62
                        ),
                        Due::Raw(ref s) => s.clone(),
                    })
                }),
            );
        }
        Value::Object(o)
    }
}

impl Input {
    fn into_case(self) -> Case {
        let method = self.method.name();
        let route_key = match &self.route_key {
            RouteKey::Real(i) => Some(json!(ROUTE_KEYS[usize::from(*i) % 3])),
            RouteKey::Default => Some(json!("$default")),
            RouteKey::Absent => None,
            RouteKey::Null => Some(Value::Null),
            RouteKey::Other(s) => Some(json!(s)),
        };
        let stage = match &self.stage {
            Stage::Absent => None,
            Stage::Default => Some("$default".to_owned()),
            Stage::V1 => Some("v1".to_owned()),
            Stage::Empty => Some(String::new()),
            Stage::Other(s) => Some(s.clone()),
        };
        let mut path = match &self.path {
            PathKind::Todos => "/todos".to_owned(),
            PathKind::TodosSlash => "/todos/".to_owned(),
            PathKind::Todo(id) => format!("/todos/{}", id.text()),
            PathKind::TodoExtra(id, rest) => format!("/todos/{}/{rest}", id.text()),
            PathKind::Root => "/".to_owned(),
            PathKind::Other(s) => s.clone(),
        };
        if self.stage_prefix
            && let Some(stage) = &stage
        {
            path = format!("/{stage}{path}");
        }

        let mut body: Option<Value> = match &self.body {
            BodyKind::Absent => None,
            BodyKind::Null => Some(Value::Null),
            BodyKind::Todo(t) => Some(json!(t.to_value().to_string())),
            BodyKind::Json(j) => Some(json!(j.to_value().to_string())),
            BodyKind::Text(s) => Some(json!(s)),
            BodyKind::Bytes(b) => Some(json!(String::from_utf8_lossy(b))),
        };
        if self.pad_to_limit
            && let Some(Value::String(s)) = &mut body
        {
            // Just over the 256 KiB limit; trailing whitespace keeps a JSON body valid.
            let pad = (256usize * 1024 + 1).saturating_sub(s.len());
            s.push_str(&" ".repeat(pad));
        }
        let mut is_base64 = false;
        match self.base64 {
            Base64::No => {}
            Base64::Yes => {
                is_base64 = true;
                if let BodyKind::Bytes(b) = &self.body {
                    body = Some(json!(STANDARD.encode(b)));
                } else if let Some(Value::String(s)) = &body {
                    body = Some(json!(STANDARD.encode(s)));
                }
            }
            Base64::Claimed => is_base64 = true,
        }

        let mut headers = Map::new();
        for (k, v) in self.headers.iter().take(8) {
            headers.insert(k.to_ascii_lowercase(), json!(v));
        }
        let mut query = Map::new();
        for (k, v) in self.query.iter().take(6) {
            let key = match k {
                QueryKey::Limit => "limit".to_owned(),
                QueryKey::Cursor => "cursor".to_owned(),
                QueryKey::Other(s) => s.clone(),
            };
            let value = match v {
                QueryValue::Number(n) => json!((n % 2000).to_string()),
                QueryValue::CursorOf(id) => json!(URL_SAFE_NO_PAD.encode(id.text())),
                QueryValue::Str(s) => json!(s),
                QueryValue::List(l) => json!(l),
                QueryValue::Null => Value::Null,
            };
            query.insert(key, value);
        }
        let mut path_parameters = Map::new();
        for (k, id) in self.path_parameters.iter().take(3) {
            let key = match k {
                ParamKey::Id => "id".to_owned(),
                ParamKey::Other(s) => s.clone(),
            };
            path_parameters.insert(key, json!(id.text()));
        }

        let mut http = Map::new();
        http.insert("method".into(), json!(method));
        http.insert("path".into(), json!(path));
        http.insert("protocol".into(), json!("HTTP/1.1"));
        http.insert("sourceIp".into(), json!("203.0.113.7"));
        let mut context = Map::new();
        context.insert("accountId".into(), json!("123456789012"));
        context.insert("requestId".into(), json!(self.request_id));
        context.insert("http".into(), Value::Object(http));
        if let Some(stage) = stage {
            context.insert("stage".into(), json!(stage));
        }
        let mut event = Map::new();
        event.insert("version".into(), json!("2.0"));
        if let Some(rk) = route_key {
            if self.route_key_at % 3 != 1 {
                event.insert("routeKey".into(), rk.clone());
            }
            if self.route_key_at % 3 != 0 {
                context.insert("routeKey".into(), rk);
            }
        }
        match self.path_at % 3 {
            0 => {
                event.insert("rawPath".into(), json!(path));
            }
            1 => {
                event.insert("path".into(), json!(path));
            }
            _ => {}
        }
        event.insert("rawQueryString".into(), json!(""));
        event.insert("headers".into(), Value::Object(headers));
        if !query.is_empty() {
            event.insert("queryStringParameters".into(), Value::Object(query));
        }
        if !path_parameters.is_empty() {
            event.insert("pathParameters".into(), Value::Object(path_parameters));
        }
        event.insert("requestContext".into(), Value::Object(context));
        if let Some(body) = body {
            event.insert("body".into(), body);
        }
        event.insert("isBase64Encoded".into(), json!(is_base64));

        Case { payload: Value::Object(event), seed: usize::from(self.seed % 6), request_id: self.request_id }
    }
}
