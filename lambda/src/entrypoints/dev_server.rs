//! The local dev server: serves the API over HTTP under the stage path (`/v1/todos`), turning each
//! request into the API Gateway v2 event AWS would send (route key, path parameters, stage) and
//! answering CORS the way API Gateway does from the same [`Cors`] setting.
//!
//! With sign-in on it also stands in for API Gateway's JWT authorizer ([`authorizer`]): a request to a
//! route needs a valid bearer token, or it is answered 401 before the application sees it; the token's
//! claims go into the event where API Gateway puts them (`requestContext.authorizer.jwt.claims`).

pub mod authorizer;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription, ApiGatewayV2httpRequest,
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription, ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body as EventBody;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use self::authorizer::JwtAuthorizer;
use crate::App;
use crate::config::AuthMode;
use crate::routes::{self, Cors, RouteMatch};

/// Settings of the dev server.
#[derive(Debug, Clone)]
pub struct DevServer {
    /// The application to serve.
    pub app: App,
    /// Cross-origin settings, the same ones the deploy gives API Gateway.
    pub cors: Cors,
    /// Stage name, the first path segment (`v1`).
    pub stage: String,
    /// Sign-in: the authorizer every routed request must pass. Set exactly when the app's
    /// [`ApiConfig::auth`](crate::ApiConfig::auth) is [`AuthMode::Jwt`] ([`DevServer::serve`] refuses a
    /// mix), and allow the `authorization` header in [`DevServer::cors`].
    pub auth: Option<Arc<JwtAuthorizer>>,
}

impl DevServer {
    /// Serves connections from `listener` until `shutdown` resolves, then lets requests in flight
    /// finish (up to 10 s). Every write acknowledged before that is already committed by the store.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        if self.auth.is_some() != (self.app.config().auth == AuthMode::Jwt) {
            // An authorizer in front of a shared list (or a signed-in app with nothing in front) would
            // serve everybody's todos to anybody.
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the dev server needs an authorizer exactly when the app runs with sign-in (AuthMode::Jwt)",
            ));
        }
        let server = Arc::new(self);
        let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(conn) => conn,
                        Err(e) => {
                            // Out of file descriptors and the like: back off instead of spinning.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let server = server.clone();
                    let service = hyper::service::service_fn(move |req| {
                        let server = server.clone();
                        async move { Ok::<_, Infallible>(server.handle(req, peer).await) }
                    });
                    let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        tracing::info!("shutting down: waiting for requests in flight");
        if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await.is_err() {
            tracing::warn!("requests still in flight after 10 s; stopping anyway");
        }
        Ok(())
    }

    /// Handles one HTTP request (public so tests can call it without a socket).
    pub async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let origin = parts.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let limit = self.app.config().max_body_bytes;
        let body = match Limited::new(body, limit + 1).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
                let msg = format!(r#"{{"message":"request body is larger than {limit} bytes"}}"#);
                return self.with_cors(json_response(StatusCode::PAYLOAD_TOO_LARGE, msg), origin.as_deref());
            }
            Err(_) => {
                return self.with_cors(
                    json_response(StatusCode::BAD_REQUEST, r#"{"message":"request body could not be read"}"#.into()),
                    origin.as_deref(),
                );
            }
        };
        let response = self.respond(parts, body, peer, origin.as_deref()).await;
        self.with_cors(response, origin.as_deref())
    }

    async fn respond(
        &self,
        parts: http::request::Parts,
        body: Bytes,
        peer: SocketAddr,
        origin: Option<&str>,
    ) -> Response<Full<Bytes>> {
        let path = parts.uri.path();
        let Some(route_path) = routes::strip_stage(path, &self.stage) else {
            return json_response(StatusCode::NOT_FOUND, r#"{"message":"not found"}"#.into());
        };
        if parts.method == Method::OPTIONS {
            return self.preflight(&parts.headers, origin);
        }
        let mut event = self.event(&parts, route_path, body, peer);
        if let Some(auth) = &self.auth {
            // As in API Gateway, the authorizer guards the routes; a request no route matches goes on to
            // the app's 404/405 (which read nothing).
            if event.route_key.as_deref() != Some("$default") {
                let authorization = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
                match auth.verify(authorization).await {
                    Ok(claims) => {
                        let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
                        jwt.claims = claims;
                        let mut authorizer = ApiGatewayRequestAuthorizer::default();
                        authorizer.jwt = Some(jwt);
                        event.request_context.authorizer = Some(authorizer);
                    }
                    Err(reason) => {
                        tracing::debug!(%reason, path, "request refused by the authorizer");
                        let mut response =
                            json_response(StatusCode::UNAUTHORIZED, r#"{"message":"Unauthorized"}"#.into());
                        insert(response.headers_mut(), header::WWW_AUTHENTICATE, &reason.www_authenticate());
                        return response;
                    }
                }
            }
        }
        let request_id = event.request_context.request_id.clone().unwrap_or_default();
        from_event_response(self.app.handle_event(event, &request_id).await)
    }

    /// Builds the event API Gateway would send for this request.
    fn event(
        &self,
        parts: &http::request::Parts,
        route_path: &str,
        body: Bytes,
        peer: SocketAddr,
    ) -> ApiGatewayV2httpRequest {
        let path = parts.uri.path();
        let (route_key, path_parameters) = match routes::match_request(parts.method.as_str(), route_path) {
            RouteMatch::Found(route, params) => {
                (route.key(), params.into_iter().map(|(k, v)| (k.to_owned(), percent_decode(v))).collect())
            }
            _ => ("$default".to_owned(), Default::default()),
        };
        let raw_query = parts.uri.query().unwrap_or_default();
        let mut query: std::collections::HashMap<String, Vec<String>> = Default::default();
        for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
            let values = query.entry(k.into_owned()).or_default();
            // API Gateway (payload 2.0) joins a repeated parameter's values with commas into one value:
            // `limit=1&limit=5000` reaches the function as `limit: "1,5000"`, a malformed limit.
            match values.first_mut() {
                Some(joined) => {
                    joined.push(',');
                    joined.push_str(&v);
                }
                None => values.push(v.into_owned()),
            }
        }

        let mut http_description = ApiGatewayV2httpRequestContextHttpDescription::default();
        http_description.method = parts.method.clone();
        http_description.path = Some(path.to_owned());
        http_description.protocol = Some(format!("{:?}", parts.version));
        http_description.source_ip = Some(peer.ip().to_string());
        http_description.user_agent =
            parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);

        let mut context = ApiGatewayV2httpRequestContext::default();
        context.route_key = Some(route_key.clone());
        context.stage = Some(self.stage.clone());
        context.request_id = Some(uuid::Uuid::new_v4().to_string());
        context.apiid = Some("local".to_owned());
        context.domain_name = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok()).map(str::to_owned);
        context.http = http_description;
        context.time_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));

        let mut event = ApiGatewayV2httpRequest::default();
        event.version = Some("2.0".to_owned());
        event.route_key = Some(route_key);
        event.raw_path = Some(path.to_owned());
        event.raw_query_string = Some(raw_query.to_owned());
        event.headers = parts.headers.clone();
        event.query_string_parameters = query.into();
        event.path_parameters = path_parameters;
        event.request_context = context;
        if !body.is_empty() {
            // API Gateway passes text through and base64-encodes anything else.
            match std::str::from_utf8(&body) {
                Ok(text) => event.body = Some(text.to_owned()),
                Err(_) => {
                    event.body = Some(STANDARD.encode(&body));
                    event.is_base64_encoded = true;
                }
            }
        }
        event
    }

    /// API Gateway's answer to a CORS preflight.
    fn preflight(&self, headers: &http::HeaderMap, origin: Option<&str>) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NO_CONTENT;
        if self.cors.allow_origin_for(origin).is_some() {
            let h = response.headers_mut();
            let requested_headers = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS).is_some();
            insert(h, header::ACCESS_CONTROL_ALLOW_METHODS, &self.cors.allow_methods.join(","));
            if requested_headers || !self.cors.allow_headers.is_empty() {
                insert(h, header::ACCESS_CONTROL_ALLOW_HEADERS, &self.cors.allow_headers.join(","));
            }
            insert(h, header::ACCESS_CONTROL_MAX_AGE, &self.cors.max_age_seconds.to_string());
        }
        response
    }

    /// Adds the CORS headers API Gateway puts on every response to an allowed origin.
    fn with_cors(&self, mut response: Response<Full<Bytes>>, origin: Option<&str>) -> Response<Full<Bytes>> {
        let h = response.headers_mut();
        if let Some(allowed) = self.cors.allow_origin_for(origin) {
            insert(h, header::ACCESS_CONTROL_ALLOW_ORIGIN, &allowed);
            if !self.cors.expose_headers.is_empty() {
                insert(h, header::ACCESS_CONTROL_EXPOSE_HEADERS, &self.cors.expose_headers.join(","));
            }
            if allowed != "*" {
                h.append(header::VARY, HeaderValue::from_static("origin"));
            }
        }
        response
    }
}

fn insert(headers: &mut http::HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn from_event_response(event: ApiGatewayV2httpResponse) -> Response<Full<Bytes>> {
    let body = match event.body {
        Some(EventBody::Text(text)) => Bytes::from(text),
        Some(EventBody::Binary(bytes)) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = u16::try_from(event.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    *response.headers_mut() = event.headers;
    response
}

fn percent_decode(segment: &str) -> String {
    // Path parameters arrive decoded from API Gateway; form_urlencoded also turns '+' into ' ', which
    // a path does not, so protect it first.
    form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
