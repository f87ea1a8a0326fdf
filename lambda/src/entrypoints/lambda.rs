//! API Gateway v2 (payload format 2.0) events in, responses out: the translation between Lambda's
//! world and the plain request/response types of [`crate::api`], plus the per-request log line.
//!
//! The `bootstrap` reads each invocation straight from its bytes into [`Payload`]: only the fields
//! [`ApiRequest`] needs, in one pass, with the claims map reduced to its `sub` while it is read (no
//! `serde_json::Value` tree first, no `HeaderMap`, no claims `HashMap`). It answers with [`HttpResponse`],
//! which serialises to the same document as `aws_lambda_events`' `ApiGatewayV2httpResponse`. The
//! `aws_lambda_events` types stay for [`App::handle_event`] and [`from_event`], the reference decoder the
//! fuzz target and the tests compare this one with.

use std::fmt;
use std::marker::PhantomData;
use std::time::Instant;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::App;
use crate::api::{ApiError, ApiRequest, ApiResponse};
use crate::app::log_request;

impl App {
    /// Handles one Lambda invocation payload. Anything that is not an API Gateway v2 event gets a 400
    /// response rather than an invocation error, so a stray test event never crashes the function.
    pub async fn handle_payload(&self, payload: Value, request_id: &str) -> ApiGatewayV2httpResponse {
        // `Payload` never fails to deserialise (a foreign document becomes `Payload::NotHttp`).
        let payload = Payload::deserialize(payload).unwrap_or(Payload::NotHttp);
        to_event_response(self.handle_invocation(payload, request_id).await)
    }

    /// Answers one decoded invocation (what `bootstrap` calls, with the payload read from the
    /// invocation's bytes) and logs one line: request id, route key, status, latency.
    pub async fn handle_invocation(&self, payload: Payload, request_id: &str) -> ApiResponse {
        let Payload::Http(event) = payload else {
            tracing::warn!(request_id, "payload is not an API Gateway v2 HTTP event");
            return ApiError::BadRequest("not an API Gateway HTTP API (v2) event").into_response();
        };
        let started = Instant::now();
        let (request, route_key) = match event.into_request() {
            Ok(request) => {
                let route_key = request.route_key.clone();
                (Ok(request), route_key)
            }
            Err((error, route_key)) => (Err(error), route_key),
        };
        let response = match request {
            Ok(request) => self.handle(&request).await,
            Err(error) => error.into_response(),
        };
        log_request(request_id, route_key.as_deref(), response.status, started);
        response
    }

    /// Handles one API Gateway v2 event as `aws_lambda_events` decodes it and logs one line: request id,
    /// route key, status, latency.
    pub async fn handle_event(&self, event: ApiGatewayV2httpRequest, request_id: &str) -> ApiGatewayV2httpResponse {
        let started = Instant::now();
        let route_key = event.route_key.clone().or_else(|| event.request_context.route_key.clone());
        let response = match from_event(event) {
            Ok(request) => self.handle(&request).await,
            Err(error) => error.into_response(),
        };
        log_request(request_id, route_key.as_deref(), response.status, started);
        to_event_response(response)
    }
}

/// Decodes an event into the handlers' request type.
pub fn from_event(event: ApiGatewayV2httpRequest) -> Result<ApiRequest, ApiError> {
    let context = event.request_context;
    // API Gateway's JWT authorizer verified the token and copied its claims here; with a Lambda or IAM
    // authorizer, or none, there is no `sub` and dispatch decides what that means.
    let subject =
        context.authorizer.as_ref().and_then(|a| a.jwt.as_ref()).and_then(|jwt| jwt.claims.get("sub").cloned());
    let route_key = event.route_key.or(context.route_key);
    Ok(ApiRequest {
        method: context.http.method.as_str().to_owned(),
        route: route_key.as_deref().and_then(crate::routes::route_for_key),
        route_key,
        path: event.raw_path.or(context.http.path).unwrap_or_else(|| "/".to_owned()),
        stage: context.stage,
        path_parameters: event.path_parameters.into_iter().collect(),
        query: event.query_string_parameters.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        body: decode_body(event.body, event.is_base64_encoded)?,
        subject,
    })
}

fn decode_body(body: Option<String>, is_base64_encoded: bool) -> Result<Option<Vec<u8>>, ApiError> {
    Ok(match body {
        None => None,
        Some(text) if is_base64_encoded => {
            Some(STANDARD.decode(text).map_err(|_| ApiError::BadRequest("request body is not valid base64"))?)
        }
        Some(text) => Some(text.into_bytes()),
    })
}

/// Encodes a response as the API Gateway v2 response document.
pub fn to_event_response(response: ApiResponse) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for (name, value) in response.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(response.status);
    out.headers = headers;
    out.body = response.body.map(Body::Text);
    out
}

// ------------------------------------------------------------------------------------------------
// The lean event
// ------------------------------------------------------------------------------------------------

/// One invocation payload: an API Gateway v2 HTTP event, or anything else (answered 400).
///
/// Deserialising it never fails: a document that is not an event (a wrong type where the event has a
/// field this function reads, no `requestContext.http.method`, not an object at all) becomes
/// [`Payload::NotHttp`]. Reading stops at the first such error, so the rest of the document is not read:
/// whoever drives the deserializer must not then require the end of the input (`lambda_runtime` 1.5 does
/// not; `serde_json::from_slice` would report trailing characters).
#[derive(Debug)]
// Not boxed: one payload lives per invocation, moved once; a box would be one more allocation per event.
#[expect(clippy::large_enum_variant)]
pub enum Payload {
    /// An API Gateway v2 HTTP event.
    Http(HttpEvent),
    /// Anything else.
    NotHttp,
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(HttpEvent::deserialize(deserializer).map_or(Payload::NotHttp, Payload::Http))
    }
}

/// The fields of an API Gateway v2 event this function reads, with the types and defaults
/// `aws_lambda_events` gives them (a field of the wrong type makes the payload [`Payload::NotHttp`] as it
/// does there); every other field is skipped unread.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpEvent {
    #[serde(default)]
    route_key: Option<String>,
    #[serde(default, alias = "path")]
    raw_path: Option<String>,
    #[serde(default, deserialize_with = "query_parameters")]
    query_string_parameters: Vec<(String, String)>,
    #[serde(default, deserialize_with = "path_parameters")]
    path_parameters: Vec<(String, String)>,
    request_context: RequestContext,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext {
    #[serde(default)]
    route_key: Option<String>,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    authorizer: Option<Authorizer>,
    http: HttpDescription,
}

#[derive(Debug, Deserialize)]
struct HttpDescription {
    #[serde(deserialize_with = "method")]
    method: String,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Authorizer {
    #[serde(default)]
    jwt: Option<Jwt>,
}

#[derive(Debug, Deserialize)]
struct Jwt {
    /// Only the `sub` claim: the others are checked to be strings (as `aws_lambda_events` requires)
    /// and dropped without being copied.
    #[serde(default, rename = "claims", deserialize_with = "sub_claim")]
    sub: Option<String>,
}

impl HttpEvent {
    /// The handlers' request; on a body that is not valid base64, the error and the route key (for the
    /// log line).
    fn into_request(self) -> Result<ApiRequest, (ApiError, Option<String>)> {
        let context = self.request_context;
        let route_key = self.route_key.or(context.route_key);
        let body = match decode_body(self.body, self.is_base64_encoded) {
            Ok(body) => body,
            Err(error) => return Err((error, route_key)),
        };
        Ok(ApiRequest {
            method: context.http.method,
            route: route_key.as_deref().and_then(crate::routes::route_for_key),
            route_key,
            path: self.raw_path.or(context.http.path).unwrap_or_else(|| "/".to_owned()),
            stage: context.stage,
            path_parameters: self.path_parameters,
            query: self.query_string_parameters,
            body,
            subject: context.authorizer.and_then(|a| a.jwt).and_then(|jwt| jwt.sub),
        })
    }
}

/// `requestContext.http.method`: a string `http::Method` accepts (any valid token), kept as written; an
/// empty one reads as `GET`, as in `aws_lambda_events`.
fn method<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let method = String::deserialize(deserializer)?;
    if method.is_empty() {
        return Ok("GET".to_owned());
    }
    http::Method::from_bytes(method.as_bytes()).map_err(|_| de::Error::custom("invalid HTTP method"))?;
    Ok(method)
}

/// Inserts `key` = `values`, replacing an earlier entry of the same key (a JSON object read into a map
/// keeps the last of repeated keys).
fn insert_last(out: &mut Vec<(String, String)>, key: String, values: impl IntoIterator<Item = String>) {
    if out.iter().any(|(k, _)| *k == key) {
        out.retain(|(k, _)| *k != key);
    }
    out.extend(values.into_iter().map(|v| (key.clone(), v)));
}

/// `pathParameters`: null or an object of strings.
fn path_parameters<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<(String, String)>, D::Error> {
    /// One string value.
    #[derive(Deserialize)]
    #[serde(transparent)]
    struct One(String);
    impl IntoIterator for One {
        type Item = String;
        type IntoIter = std::iter::Once<String>;
        fn into_iter(self) -> Self::IntoIter {
            std::iter::once(self.0)
        }
    }
    deserializer.deserialize_option(Pairs::<One>(PhantomData))
}

/// `queryStringParameters` as `aws_lambda_events` (query_map 0.7) reads them: null or an object whose
/// values are a string (API Gateway joins repeated parameters with commas: each comma-separated part is
/// one value) or a list of strings; every (name, value) pair, in document order. A name with an empty
/// list has no value and is left out (there, `QueryMap::iter` panicked on it).
fn query_parameters<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<(String, String)>, D::Error> {
    /// A string split at commas, or a list of strings.
    struct OneOrMany(Vec<String>);
    impl<'de> Deserialize<'de> for OneOrMany {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = OneOrMany;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string or a list of strings")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                    Ok(OneOrMany(v.split(',').map(str::to_owned).collect()))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                    let mut values = Vec::new();
                    while let Some(v) = seq.next_element::<String>()? {
                        values.push(v);
                    }
                    Ok(OneOrMany(values))
                }
            }
            d.deserialize_any(V)
        }
    }
    impl IntoIterator for OneOrMany {
        type Item = String;
        type IntoIter = std::vec::IntoIter<String>;
        fn into_iter(self) -> Self::IntoIter {
            self.0.into_iter()
        }
    }
    deserializer.deserialize_option(Pairs::<OneOrMany>(PhantomData))
}

/// Null or an object whose values read as `V`: every (name, value) pair, in document order, the last of
/// repeated names winning. What path and query parameters share.
struct Pairs<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de> + IntoIterator<Item = String>> Visitor<'de> for Pairs<V> {
    type Value = Vec<(String, String)>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of parameters, or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some((k, values)) = map.next_entry::<String, V>()? {
            insert_last(&mut out, k, values);
        }
        Ok(out)
    }
}

/// `requestContext.authorizer.jwt.claims`: null or an object of strings, of which only `sub` is kept.
fn sub_claim<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    /// A claim's name, compared without being copied.
    struct IsSub(bool);
    impl<'de> Deserialize<'de> for IsSub {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = IsSub;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a claim name")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                    Ok(IsSub(v == "sub"))
                }
            }
            d.deserialize_str(V)
        }
    }
    /// A claim's value that is read (it must be a string) but not kept.
    struct SkippedString;
    impl<'de> Deserialize<'de> for SkippedString {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = SkippedString;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string")
                }
                fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                    Ok(SkippedString)
                }
            }
            d.deserialize_str(V)
        }
    }
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of strings or null")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut sub = None;
            while let Some(IsSub(is_sub)) = map.next_key()? {
                if is_sub {
                    sub = Some(map.next_value::<String>()?);
                } else {
                    map.next_value::<SkippedString>()?;
                }
            }
            Ok(sub)
        }
    }
    deserializer.deserialize_option(V)
}

// ------------------------------------------------------------------------------------------------
// The lean response
// ------------------------------------------------------------------------------------------------

/// The response document `bootstrap` sends: the same JSON as [`to_event_response`]'s
/// `ApiGatewayV2httpResponse` (status, headers whose values are visible ASCII, empty
/// `multiValueHeaders`, the body as text, `isBase64Encoded: false`, no cookies), written straight from
/// the [`ApiResponse`] without a `HeaderMap`.
#[derive(Debug)]
pub struct HttpResponse(pub ApiResponse);

impl Serialize for HttpResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Headers<'a>(&'a [(&'static str, String)]);
        impl Serialize for Headers<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let headers = self.0;
                let mut map = serializer.serialize_map(None)?;
                for (i, (name, _)) in headers.iter().enumerate() {
                    // As a HeaderMap: one entry per name, at its first place, with the last valid value.
                    if headers[..i].iter().any(|(n, _)| n == name) {
                        continue;
                    }
                    if let Some((_, value)) = headers[i..].iter().rev().find(|(n, v)| n == name && header_value_ok(v)) {
                        map.serialize_entry(name, value)?;
                    }
                }
                map.end()
            }
        }
        struct Empty;
        impl Serialize for Empty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_map(Some(0))?.end()
            }
        }
        let response = &self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("statusCode", &i64::from(response.status))?;
        map.serialize_entry("headers", &Headers(&response.headers))?;
        map.serialize_entry("multiValueHeaders", &Empty)?;
        if let Some(body) = &response.body {
            map.serialize_entry("body", body)?;
        }
        map.serialize_entry("isBase64Encoded", &false)?;
        map.serialize_entry("cookies", &[(); 0])?;
        map.end()
    }
}

/// What `HeaderValue::from_str` accepts: no control characters other than tab (bytes of UTF-8 text
/// above ASCII pass, as there).
fn header_value_ok(value: &str) -> bool {
    value.bytes().all(|b| (b >= b' ' && b != 0x7f) || b == b'\t')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// The reference: `aws_lambda_events` after the old empty-list clean-up, then [`from_event`].
    fn reference(mut payload: Value) -> Option<Result<ApiRequest, ApiError>> {
        if let Some(Value::Object(query)) = payload.get_mut("queryStringParameters") {
            query.retain(|_, v| !matches!(v, Value::Array(values) if values.is_empty()));
        }
        serde_json::from_value::<ApiGatewayV2httpRequest>(payload).ok().map(from_event)
    }

    /// The lean decoder, from the document's bytes as `bootstrap` reads it (lambda_runtime 1.5 reads
    /// the payload type off a `serde_json::Deserializer` and does not look past it).
    fn lean(payload: &Value) -> Option<Result<ApiRequest, ApiError>> {
        let bytes = serde_json::to_vec(payload).unwrap();
        match Payload::deserialize(&mut serde_json::Deserializer::from_slice(&bytes)).unwrap() {
            Payload::Http(event) => Some(event.into_request().map_err(|(e, _)| e)),
            Payload::NotHttp => None,
        }
    }

    /// Requests compared with their parameter lists sorted (the reference's come out of a `HashMap`).
    fn canonical(r: Option<Result<ApiRequest, ApiError>>) -> String {
        match r {
            None => "not an event".to_owned(),
            Some(Err(e)) => format!("error {e:?}"),
            Some(Ok(mut r)) => {
                r.query.sort();
                r.path_parameters.sort();
                format!("{r:?}")
            }
        }
    }

    #[test]
    fn the_lean_decoder_reads_every_fixture_and_oddity_as_aws_lambda_events_does() {
        let mut cases: Vec<Value> = std::fs::read_dir(format!("{}/tests/data", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok().filter(|n| n.ends_with(".json")))
            .map(|name| fixture(&name))
            .collect();
        assert!(cases.len() >= 10, "the event fixtures are missing");
        let base = fixture("apigw-v2-jwt-get-todos.json");
        let with = |pointer: &str, value: Value| {
            let mut e = base.clone();
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            e.pointer_mut(parent).unwrap().as_object_mut().unwrap().insert(key.to_owned(), value);
            e
        };
        cases.extend([
            with("/queryStringParameters", json!({"limit": "1,5000", "cursor": ["a", "b"], "x": []})),
            with("/queryStringParameters", json!({"limit": [], "cursor": []})),
            with("/queryStringParameters", json!(null)),
            with("/queryStringParameters", json!({"limit": null})),
            with("/queryStringParameters", json!({"limit": 5})),
            with("/queryStringParameters", json!("limit=5")),
            with("/pathParameters", json!(null)),
            with("/pathParameters", json!({"id": 5})),
            with("/requestContext/authorizer/jwt/claims", json!(null)),
            with("/requestContext/authorizer/jwt/claims", json!({"sub": 5})),
            with("/requestContext/authorizer/jwt/claims", json!({"exp": 5, "sub": "x"})),
            with("/requestContext/authorizer/jwt/claims", json!({"aud": "a"})),
            with("/requestContext/authorizer", json!(null)),
            with("/requestContext/authorizer", json!({"lambda": {"sub": "not-a-jwt"}})),
            with("/requestContext/http/method", json!("get")),
            with("/requestContext/http/method", json!("G E T")),
            with("/requestContext/http/method", json!("")),
            with("/requestContext/http/method", json!(null)),
            with("/requestContext/http", json!({})),
            with("/requestContext", json!(null)),
            with("/routeKey", json!(null)),
            with("/routeKey", json!(7)),
            with("/rawPath", json!(null)),
            with("/isBase64Encoded", json!(true)),
            with("/isBase64Encoded", json!(null)),
            with("/body", json!("not base64 %%")),
            with("/body", json!(3)),
            json!({"Records": [{"eventSource": "aws:sqs"}]}),
            json!("just a string"),
            json!([1, 2]),
            json!(null),
            json!({}),
        ]);
        let mut renamed = base.clone();
        let path = renamed.as_object_mut().unwrap().remove("rawPath").unwrap();
        renamed["path"] = path;
        cases.push(renamed);
        for case in cases {
            assert_eq!(canonical(lean(&case)), canonical(reference(case.clone())), "{case}");
        }
    }

    #[test]
    fn the_signed_in_event_gives_its_sub_and_nothing_is_read_twice() {
        let e = fixture("apigw-v2-jwt-post-todo.json");
        let sub = e["requestContext"]["authorizer"]["jwt"]["claims"]["sub"].as_str().unwrap().to_owned();
        let request = lean(&e).unwrap().unwrap();
        assert_eq!(request.subject.as_deref(), Some(sub.as_str()));
        assert_eq!(request.method, "POST");
        assert!(request.body.is_some());
    }

    #[test]
    fn the_lean_response_is_the_aws_lambda_events_document() {
        let responses = [
            ApiResponse::no_content(),
            ApiResponse::json(200, "[]".to_owned()),
            ApiError::BadRequest("x").into_response(),
            ApiResponse {
                status: 405,
                headers: vec![
                    ("allow", "GET, POST".to_owned()),
                    ("x-bad", "caf\u{e9}".to_owned()),
                    ("x-next-cursor", "a".to_owned()),
                    ("x-next-cursor", "b".to_owned()),
                    ("x-tab", "a\tb".to_owned()),
                    ("x-ctl", "a\u{7f}".to_owned()),
                ],
                body: Some("{\"message\":\"\\u00e9 \\\"q\\\"\"}".to_owned()),
            },
        ];
        for response in responses {
            let lean = serde_json::to_value(HttpResponse(response.clone())).unwrap();
            let reference = serde_json::to_value(to_event_response(response.clone())).unwrap();
            assert_eq!(lean, reference, "{response:?}");
        }
    }
}
