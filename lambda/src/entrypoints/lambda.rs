//! API Gateway v2 (payload format 2.0) events in, responses out: the translation between Lambda's
//! world and the plain request/response types of [`crate::api`], plus the per-request log line.

use std::time::Instant;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::App;
use crate::api::{ApiError, ApiRequest, ApiResponse};

impl App {
    /// Handles one Lambda invocation payload. Anything that is not an API Gateway v2 event gets a 400
    /// response rather than an invocation error, so a stray test event never crashes the function.
    pub async fn handle_payload(&self, mut payload: Value, request_id: &str) -> ApiGatewayV2httpResponse {
        // A query parameter given as an empty list (`{"limit": []}`; API Gateway never sends one) has no
        // value: drop it, because `QueryMap::iter` (query_map 0.7) indexes the first value and panics.
        if let Some(Value::Object(query)) = payload.get_mut("queryStringParameters") {
            query.retain(|_, v| !matches!(v, Value::Array(values) if values.is_empty()));
        }
        match serde_json::from_value::<ApiGatewayV2httpRequest>(payload) {
            Ok(event) => self.handle_event(event, request_id).await,
            Err(_) => {
                tracing::warn!(request_id, "payload is not an API Gateway v2 HTTP event");
                to_event_response(ApiError::BadRequest("not an API Gateway HTTP API (v2) event").into_response())
            }
        }
    }

    /// Handles one API Gateway v2 event and logs one line: request id, route key, status, latency.
    pub async fn handle_event(&self, event: ApiGatewayV2httpRequest, request_id: &str) -> ApiGatewayV2httpResponse {
        let started = Instant::now();
        let route_key = event.route_key.clone().or_else(|| event.request_context.route_key.clone());
        let response = match from_event(event) {
            Ok(request) => self.handle(&request).await,
            Err(error) => error.into_response(),
        };
        tracing::info!(
            request_id,
            route_key = route_key.as_deref().unwrap_or("-"),
            status = response.status,
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
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
    let body = match event.body {
        None => None,
        Some(text) if event.is_base64_encoded => {
            Some(STANDARD.decode(text).map_err(|_| ApiError::BadRequest("request body is not valid base64"))?)
        }
        Some(text) => Some(text.into_bytes()),
    };
    let route_key = event.route_key.or(context.route_key);
    Ok(ApiRequest {
        method: context.http.method.as_str().to_owned(),
        route: route_key.as_deref().and_then(crate::routes::route_for_key),
        route_key,
        path: event.raw_path.or(context.http.path).unwrap_or_else(|| "/".to_owned()),
        stage: context.stage,
        path_parameters: event.path_parameters.into_iter().collect(),
        query: event.query_string_parameters.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        body,
        subject,
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
