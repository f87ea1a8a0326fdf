//! The local dev server: serves the API over HTTP under the stage path (`/v1/todos`) as API Gateway
//! does in front of the Lambda. Each request is matched once against the route table, converted once
//! into the handlers' [`ApiRequest`] for [`App::handle`], and its [`ApiResponse`] once into the HTTP
//! response; CORS is answered from the same [`Cors`] setting the deploy gives API Gateway.
//!
//! With sign-in on it also stands in for API Gateway's JWT authorizer ([`authorizer`]): a request to a
//! route needs a valid bearer token, or it is answered 401 before the application sees it; the token's
//! `sub` claim becomes the request's [`ApiRequest::subject`], the owner of its todos.

pub mod authorizer;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use self::authorizer::JwtAuthorizer;
use crate::App;
use crate::api::{ApiError, ApiRequest, ApiResponse};
use crate::app::log_request;
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
                    let (stream, _) = match accepted {
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
                        async move { Ok::<_, Infallible>(server.handle_incoming(req).await) }
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

    /// Reads one request's body from its connection (at most the app's body limit) and answers it.
    async fn handle_incoming(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let limit = self.app.config().max_body_bytes;
        let error = match Limited::new(body, limit + 1).collect().await {
            Ok(collected) => return self.handle(Request::from_parts(parts, collected.to_bytes())).await,
            Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
                ApiError::PayloadTooLarge { limit }
            }
            Err(_) => ApiError::BadRequest("request body could not be read"),
        };
        self.with_cors(to_http(error.into_response()), origin(&parts.headers))
    }

    /// Answers one HTTP request whose body has been read, as API Gateway and the Lambda behind it would:
    /// CORS, then the route (matched once), the authorizer when sign-in is on, and the app. Needs no
    /// socket, so tests call it directly.
    pub async fn handle(&self, req: Request<Bytes>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let response = self.respond(&parts, body).await;
        self.with_cors(response, origin(&parts.headers))
    }

    async fn respond(&self, parts: &http::request::Parts, body: Bytes) -> Response<Full<Bytes>> {
        let path = parts.uri.path();
        let Some(route_path) = routes::strip_stage(path, &self.stage) else {
            return to_http(ApiError::NotFound.into_response());
        };
        if parts.method == Method::OPTIONS {
            return self.preflight(&parts.headers, origin(&parts.headers));
        }
        let started = Instant::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let (route, response) = match routes::match_request(parts.method.as_str(), route_path) {
            RouteMatch::Found(route, params) => {
                // As in API Gateway, the authorizer guards the routes only: a request no route matches
                // is answered 404/405 below without one.
                let subject = match self.authorize(parts).await {
                    Ok(subject) => subject,
                    Err(refused) => return refused,
                };
                let request = ApiRequest {
                    method: parts.method.as_str().to_owned(),
                    route: Some(route),
                    route_key: None,
                    path: path.to_owned(),
                    stage: Some(self.stage.clone()),
                    path_parameters: params.into_iter().map(|(k, v)| (k.to_owned(), percent_decode(v))).collect(),
                    query: query(parts.uri.query().unwrap_or_default()),
                    body: (!body.is_empty()).then(|| body.to_vec()),
                    subject,
                };
                (Some(route), self.app.handle(&request).await)
            }
            RouteMatch::MethodNotAllowed(allowed) => (None, ApiError::MethodNotAllowed(allowed).into_response()),
            RouteMatch::NotFound => (None, ApiError::NotFound.into_response()),
        };
        log_request(&request_id, route.map(routes::Route::key).as_deref(), response.status, started);
        to_http(response)
    }

    /// With sign-in on, the `sub` claim of the request's valid bearer token, or the 401 API Gateway's
    /// JWT authorizer answers (with `WWW-Authenticate` saying why); without sign-in, no subject.
    async fn authorize(&self, parts: &http::request::Parts) -> Result<Option<String>, Response<Full<Bytes>>> {
        let Some(auth) = &self.auth else {
            return Ok(None);
        };
        let authorization = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match auth.verify(authorization).await {
            Ok(mut claims) => Ok(claims.remove("sub")),
            Err(reason) => {
                tracing::debug!(%reason, path = parts.uri.path(), "request refused by the authorizer");
                let mut response = to_http(ApiError::Unauthorized.into_response());
                insert(response.headers_mut(), header::WWW_AUTHENTICATE, &reason.www_authenticate());
                Err(response)
            }
        }
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

/// The request's `Origin` header, if it is text.
fn origin(headers: &http::HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// The query string as API Gateway (payload 2.0) hands it to the function: decoded, and a repeated
/// parameter's values joined with commas into one value (`limit=1&limit=5000` arrives as
/// `limit: "1,5000"`, a malformed limit).
fn query(raw: &str) -> Vec<(String, String)> {
    let mut query: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        match query.iter_mut().find(|(name, _)| *name == k) {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(&v);
            }
            None => query.push((k.into_owned(), v.into_owned())),
        }
    }
    query
}

/// The app's response as an HTTP response.
fn to_http(response: ApiResponse) -> Response<Full<Bytes>> {
    let mut http = Response::new(Full::new(response.body.map(Bytes::from).unwrap_or_default()));
    *http.status_mut() = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            http.headers_mut().insert(HeaderName::from_static(name), value);
        }
    }
    http
}

fn percent_decode(segment: &str) -> String {
    // Path parameters arrive decoded from API Gateway; form_urlencoded also turns '+' into ' ', which
    // a path does not, so protect it first.
    form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
