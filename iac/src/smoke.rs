//! `iac smoke`: a short end-to-end check of a deployed (or local) todos API, one line per check with
//! the latency of each request. It only touches the todos it creates (fresh UUIDs) and deletes them
//! again even when a check fails. The first failing check stops the run and is printed with the
//! request and the response that failed.
//!
//! Not a load test nor a conformance suite (schemathesis and the lambda tests are): it answers "does
//! the API I just deployed work, through API Gateway, CORS and sign-in included?".

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::error::IacError;

/// A response body is read up to this size (a whole list page is at most 6 MB in AWS).
const MAX_BODY: usize = 8 * 1024 * 1024;
/// Pages of `GET /todos` followed at most while looking for the smoke todo.
const MAX_PAGES: usize = 200;

/// What to check, and how.
#[derive(Debug, Clone)]
pub struct SmokeOptions {
    /// The API's base URL, the stage included (`https://<id>.execute-api.<region>.amazonaws.com/v1`).
    pub url: String,
    /// A bearer token (sign-in on); never printed.
    pub token: Option<String>,
    /// The API requires sign-in. Without a token only what needs none is checked (the preflight and
    /// the 401): what CI can check of a stack whose users sign in through a browser.
    pub sign_in: bool,
    /// The browser origin of the CORS preflight.
    pub origin: String,
    /// Bound of one request.
    pub timeout: Duration,
}

/// One HTTP request and what came back, as printed for a failing check.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Request headers (the token redacted).
    pub request_headers: Vec<(String, String)>,
    /// Request body, if any.
    pub request_body: Option<String>,
    /// Status (`None`: no response: the error is in `transport_error`).
    pub status: Option<u16>,
    /// Response headers.
    pub response_headers: Vec<(String, String)>,
    /// Response body (lossy UTF-8).
    pub response_body: String,
    /// Why there is no response.
    pub transport_error: Option<String>,
    /// Time to the whole response.
    pub latency: Duration,
}

impl Exchange {
    /// A response header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// `GET /v1/todos → 200 (12 ms)`.
    pub fn short(&self) -> String {
        let path = self.url.parse::<Uri>().ok().and_then(|u| u.path_and_query().map(|p| p.to_string()));
        let status = self.status.map_or_else(|| "no response".to_owned(), |s| s.to_string());
        format!("{} {} → {} ({})", self.method, path.unwrap_or_else(|| self.url.clone()), status, ms(self.latency))
    }

    /// The request and the response, for a person reading a failure.
    pub fn dump(&self) -> String {
        let mut s = format!("    > {} {}\n", self.method, self.url);
        for (n, v) in &self.request_headers {
            let _ = writeln!(s, "    > {n}: {v}");
        }
        if let Some(b) = &self.request_body {
            let _ = writeln!(s, "    > {}", clip(b));
        }
        match (self.status, &self.transport_error) {
            (_, Some(e)) => {
                let _ = writeln!(s, "    < no response: {e}");
            }
            (Some(status), None) => {
                let _ = writeln!(s, "    < {status} ({})", ms(self.latency));
                for (n, v) in &self.response_headers {
                    let _ = writeln!(s, "    < {n}: {v}");
                }
                if !self.response_body.is_empty() {
                    let _ = writeln!(s, "    < {}", clip(&self.response_body));
                }
            }
            (None, None) => {}
        }
        s
    }
}

fn clip(text: &str) -> String {
    const MAX: usize = 2000;
    if text.chars().count() <= MAX {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut}… ({} bytes in all)", text.len())
}

/// `12 ms` (or `1.2 ms` below ten).
pub fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v < 10.0 { format!("{v:.1} ms") } else { format!("{v:.0} ms") }
}

/// The outcome of one check.
#[derive(Debug, Clone)]
pub struct Check {
    /// Short name, e.g. `preflight`.
    pub name: &'static str,
    /// `Some(true)` passed, `Some(false)` failed, `None` skipped.
    pub passed: Option<bool>,
    /// What was checked, or why it failed / was skipped.
    pub detail: String,
    /// The requests it made.
    pub exchanges: Vec<Exchange>,
}

impl Check {
    /// `ok    preflight        CORS preflight from http://localhost:8100 allows POST  [OPTIONS /v1/todos → 204 (3.1 ms)]`.
    pub fn line(&self) -> String {
        let status = match self.passed {
            Some(true) => "ok  ",
            Some(false) => "FAIL",
            None => "skip",
        };
        let requests = self.exchanges.iter().map(Exchange::short).collect::<Vec<_>>().join(", ");
        let requests = if requests.is_empty() { String::new() } else { format!("  [{requests}]") };
        format!("{status}  {:<16} {}{requests}", self.name, self.detail)
    }
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct SmokeReport {
    /// Every check, in order (the run stops at the first failure).
    pub checks: Vec<Check>,
    /// What cleaning up after a failure did, one line each.
    pub cleanup: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
}

impl SmokeReport {
    /// Whether every check passed (skipped ones aside).
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed != Some(false))
    }

    /// The failing check, if any.
    pub fn failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.passed == Some(false))
    }

    /// Every request's latency, sorted.
    pub fn latencies(&self) -> Vec<Duration> {
        let mut l: Vec<Duration> = self.checks.iter().flat_map(|c| c.exchanges.iter().map(|e| e.latency)).collect();
        l.sort();
        l
    }

    /// `8 checks passed (1 skipped), 11 requests: min 1.0 ms, median 2.1 ms, max 9.0 ms; 14 ms in all`.
    pub fn summary(&self) -> String {
        let l = self.latencies();
        let passed = self.checks.iter().filter(|c| c.passed == Some(true)).count();
        let skipped = self.checks.iter().filter(|c| c.passed.is_none()).count();
        let lat = match (l.first(), l.get(l.len() / 2), l.last()) {
            (Some(a), Some(m), Some(z)) => {
                format!(", {} requests: min {}, median {}, max {}", l.len(), ms(*a), ms(*m), ms(*z))
            }
            _ => String::new(),
        };
        let skipped = if skipped > 0 { format!(" ({skipped} skipped)") } else { String::new() };
        format!("{passed} checks passed{skipped}{lat}; {} in all", ms(self.elapsed))
    }
}

/// An HTTP(S) client for the checks: hyper on rustls with ring and the system's roots.
struct Http {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    token: Option<String>,
}

impl Http {
    fn new(timeout: Duration, token: Option<String>) -> Result<Http, IacError> {
        // ring: the provider the SDK's client uses here (aws::https_client), so nothing more is linked.
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| IacError::Smoke { message: format!("TLS set-up: {e}") })?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls.with_root_certificates(roots).with_no_client_auth())
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Http { client: Client::builder(TokioExecutor::new()).build(https), timeout, token })
    }

    /// Sends one request; a transport failure is an exchange without status, not an error.
    async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
        with_token: bool,
    ) -> Exchange {
        let mut ex = Exchange {
            method: method.to_string(),
            url: url.to_owned(),
            request_headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
            request_body: body.clone(),
            status: None,
            response_headers: Vec::new(),
            response_body: String::new(),
            transport_error: None,
            latency: Duration::ZERO,
        };
        let mut builder = Request::builder().method(method).uri(url);
        for (n, v) in headers {
            builder = builder.header(*n, *v);
        }
        if body.is_some() {
            builder = builder.header("content-type", "application/json");
            ex.request_headers.push(("content-type".into(), "application/json".into()));
        }
        if let (true, Some(t)) = (with_token, &self.token) {
            builder = builder.header("authorization", format!("Bearer {t}"));
            ex.request_headers.push(("authorization".into(), "Bearer <token>".into()));
        }
        let request = match builder.body(Full::new(Bytes::from(body.unwrap_or_default()))) {
            Ok(r) => r,
            Err(e) => {
                ex.transport_error = Some(format!("cannot build the request: {e}"));
                return ex;
            }
        };
        let started = Instant::now();
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| chain(&e))?;
            let (parts, body) = response.into_parts();
            let bytes = Limited::new(body, MAX_BODY).collect().await.map_err(|e| e.to_string())?.to_bytes();
            Ok::<_, String>((parts, bytes))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok((parts, bytes))) => {
                ex.status = Some(parts.status.as_u16());
                ex.response_headers = parts
                    .headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                    .collect();
                ex.response_body = String::from_utf8_lossy(&bytes).into_owned();
            }
            Ok(Err(e)) => ex.transport_error = Some(e),
            Err(_) => ex.transport_error = Some(format!("no answer within {}", ms(self.timeout))),
        }
        ex.latency = started.elapsed();
        ex
    }
}

/// An error and its causes on one line (hyper's own text is only "client error (Connect)").
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// The smoke todo's first and second version, and a body with three field errors.
fn todo_v1(id: &str) -> Value {
    json!({"id": id, "description": "smoke test ✓ — café, 東京, emoji 🚀 (iac smoke)", "priority": "normal", "dueDate": "2030-01-31"})
}

fn todo_v2(id: &str) -> Value {
    json!({"id": id, "description": "smoke test, replaced: naïve ÆØÅ ✓✓", "priority": "high", "dueDate": "2030-02-28T09:30"})
}

fn bad_body(id: &str) -> Value {
    // Its own fresh id: should the API wrongly store it, cleaning up deletes it too.
    json!({"id": id, "description": "", "priority": "urgent", "dueDate": "2030-02-30"})
}

struct Run<'a> {
    http: Http,
    opts: &'a SmokeOptions,
    todos: String,
    report: SmokeReport,
    /// Ids this run may have created and not yet deleted.
    created: Vec<String>,
    /// The smoke todo's id and the bad body's id: fresh, so only this run's todos are touched.
    ids: (String, String),
    on_check: &'a mut dyn FnMut(&Check),
}

impl Run<'_> {
    fn record(&mut self, name: &'static str, result: Result<String, String>, exchanges: Vec<Exchange>) -> bool {
        let (passed, detail) = match result {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        let check = Check { name, passed: Some(passed), detail, exchanges };
        (self.on_check)(&check);
        self.report.checks.push(check);
        passed
    }

    fn skip(&mut self, name: &'static str, why: &str) {
        let check = Check { name, passed: None, detail: why.to_owned(), exchanges: Vec::new() };
        (self.on_check)(&check);
        self.report.checks.push(check);
    }

    /// Every page of `GET /todos`: the todos with `id`, and the requests made.
    async fn find(&self, id: &str) -> (Result<Vec<Value>, String>, Vec<Exchange>) {
        let mut exchanges = Vec::new();
        let mut found = Vec::new();
        let mut url = self.todos.clone();
        for _ in 0..MAX_PAGES {
            let ex = self.http.send(Method::GET, &url, &[], None, true).await;
            let status = ex.status;
            let next = ex.header("x-next-cursor").map(str::to_owned);
            let page: Result<Value, _> = serde_json::from_str(&ex.response_body);
            exchanges.push(ex);
            if status != Some(200) {
                return (Err(format!("expected 200, got {}", status_text(status))), exchanges);
            }
            let Ok(Value::Array(items)) = page else {
                return (Err("the body is not a JSON array".to_owned()), exchanges);
            };
            found.extend(items.into_iter().filter(|t| t.get("id").and_then(Value::as_str) == Some(id)));
            match next {
                Some(cursor) => url = format!("{}?cursor={}", self.todos, encode(&cursor)),
                None => return (Ok(found), exchanges),
            }
        }
        (Err(format!("still more pages after {MAX_PAGES}")), exchanges)
    }

    async fn put(&mut self, todo: &Value) -> Exchange {
        if let Some(id) = todo.get("id").and_then(Value::as_str)
            && !self.created.iter().any(|c| c == id)
        {
            self.created.push(id.to_owned());
        }
        self.http.send(Method::POST, &self.todos, &[], Some(todo.to_string()), true).await
    }

    async fn checks(&mut self) {
        let id = self.ids.0.clone();
        let signed_in = self.opts.token.is_some() || self.opts.sign_in;

        // A browser's preflight: the contract's CORS, through API Gateway (or the dev server).
        let wanted_headers = if signed_in { "content-type,authorization" } else { "content-type" };
        let ex = self
            .http
            .send(
                Method::OPTIONS,
                &self.todos,
                &[
                    ("origin", &self.opts.origin),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", wanted_headers),
                ],
                None,
                false,
            )
            .await;
        let result = check_preflight(&ex, &self.opts.origin, wanted_headers);
        if !self.record("preflight", result, vec![ex]) {
            return;
        }

        if signed_in {
            let ex = self.http.send(Method::GET, &self.todos, &[], None, false).await;
            let result = if ex.status == Some(401) {
                Ok("a request without a token is refused (401)".to_owned())
            } else {
                Err(format!("a request without a token must get 401, got {}", status_text(ex.status)))
            };
            if !self.record("sign-in", result, vec![ex]) {
                return;
            }
            if self.opts.token.is_none() {
                for name in ["create", "read-back", "replace", "validation", "delete", "gone"] {
                    self.skip(name, "needs a bearer token: pass TOKEN=... or TOKEN_CMD=...");
                }
                return;
            }
        } else {
            self.skip("sign-in", "no token given: the API is expected to be open");
        }

        let v1 = todo_v1(&id);
        let ex = self.put(&v1).await;
        let result = expect_status(&ex, 204).map(|()| format!("POST of todo {id} (unicode description)"));
        if !self.record("create", result, vec![ex]) {
            return;
        }

        let (found, exs) = self.find(&id).await;
        let result = found.and_then(|f| exactly(&f, &v1)).map(|()| "GET /todos returns it exactly".to_owned());
        if !self.record("read-back", result, exs) {
            return;
        }

        let v2 = todo_v2(&id);
        let ex = self.put(&v2).await;
        let mut exs = vec![ex.clone()];
        let result = match expect_status(&ex, 204) {
            Err(e) => Err(format!("POST of the same id: {e}")),
            Ok(()) => {
                let (found, more) = self.find(&id).await;
                exs.extend(more);
                found
                    .and_then(|f| exactly(&f, &v2))
                    .map(|()| "POST of the same id replaces it (one todo, new fields)".into())
            }
        };
        if !self.record("replace", result, exs) {
            return;
        }

        let bad_id = self.ids.1.clone();
        let ex = self.put(&bad_body(&bad_id)).await;
        let result = check_validation(&ex);
        if result.is_ok() {
            // Refused, so nothing was stored under it.
            self.created.retain(|c| *c != bad_id);
        }
        if !self.record("validation", result, vec![ex]) {
            return;
        }

        let ex = self.http.send(Method::DELETE, &format!("{}/{id}", self.todos), &[], None, true).await;
        let result = expect_status(&ex, 204).map(|()| format!("DELETE of todo {id}"));
        if ex.status == Some(204) {
            self.created.retain(|c| *c != id);
        }
        if !self.record("delete", result, vec![ex]) {
            return;
        }

        let (found, exs) = self.find(&id).await;
        let result = found.and_then(|f| {
            if f.is_empty() {
                Ok("GET /todos no longer has it".to_owned())
            } else {
                Err(format!("still listed: {f:?}"))
            }
        });
        self.record("gone", result, exs);
    }

    /// Deletes what this run may have left (after a failure).
    async fn clean_up(&mut self) {
        for id in std::mem::take(&mut self.created) {
            let ex = self.http.send(Method::DELETE, &format!("{}/{id}", self.todos), &[], None, true).await;
            self.report.cleanup.push(match ex.status {
                Some(204) => format!("cleanup: deleted todo {id} ({})", ms(ex.latency)),
                other => format!(
                    "cleanup: could not delete todo {id}: {}",
                    ex.transport_error.clone().unwrap_or_else(|| status_text(other))
                ),
            });
        }
    }
}

fn status_text(status: Option<u16>) -> String {
    status.map_or_else(|| "no response".to_owned(), |s| s.to_string())
}

fn expect_status(ex: &Exchange, want: u16) -> Result<(), String> {
    match (ex.status, &ex.transport_error) {
        (_, Some(e)) => Err(format!("no response: {e}")),
        (Some(s), None) if s == want => Ok(()),
        (s, None) => Err(format!("expected {want}, got {}", status_text(s))),
    }
}

fn exactly(found: &[Value], want: &Value) -> Result<(), String> {
    match found {
        [one] if one == want => Ok(()),
        [one] => Err(format!("listed as {one}, expected {want}")),
        [] => Err("not in the list".to_owned()),
        many => Err(format!("listed {} times", many.len())),
    }
}

fn check_preflight(ex: &Exchange, origin: &str, wanted_headers: &str) -> Result<String, String> {
    if let Some(e) = &ex.transport_error {
        return Err(format!("no response: {e}"));
    }
    if !ex.status.is_some_and(|s| (200..300).contains(&s)) {
        return Err(format!("expected a 2xx answer to the preflight, got {}", status_text(ex.status)));
    }
    let allow_origin = ex.header("access-control-allow-origin").unwrap_or_default();
    if allow_origin != "*" && allow_origin != origin {
        return Err(format!("access-control-allow-origin is {allow_origin:?}, not * or {origin}"));
    }
    let listed = |name: &str, want: &str| {
        ex.header(name).is_some_and(|v| v == "*" || v.split(',').any(|m| m.trim().eq_ignore_ascii_case(want)))
    };
    if !listed("access-control-allow-methods", "POST") {
        return Err("access-control-allow-methods does not allow POST".to_owned());
    }
    for h in wanted_headers.split(',') {
        if !listed("access-control-allow-headers", h) {
            return Err(format!("access-control-allow-headers does not allow {h}"));
        }
    }
    Ok(format!("CORS preflight from {origin} allows POST with {wanted_headers}"))
}

fn check_validation(ex: &Exchange) -> Result<String, String> {
    expect_status(ex, 422).map_err(|e| format!("a bad body must get 422 with field errors: {e}"))?;
    let body: Value = serde_json::from_str(&ex.response_body).map_err(|_| "the 422 body is not JSON".to_owned())?;
    let fields = body.get("fieldErrors").and_then(Value::as_object).ok_or("the 422 body has no fieldErrors")?;
    let missing: Vec<&str> =
        ["description", "priority", "dueDate"].into_iter().filter(|f| !fields.contains_key(*f)).collect();
    if !missing.is_empty() {
        return Err(format!("fieldErrors lacks {}: {body}", missing.join(", ")));
    }
    Ok(format!("a bad body gets 422 with errors for {}", fields.keys().cloned().collect::<Vec<_>>().join(", ")))
}

/// A random (version 4) UUID, from the system's secure random source through rustls' provider (no
/// UUID or random crate needed for one id per run).
fn new_uuid() -> Option<String> {
    let mut b = [0u8; 16];
    rustls::crypto::ring::default_provider().secure_random.fill(&mut b).ok()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Some(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
}

/// Percent-encodes a query value (cursors are base64url, but be safe).
fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `https://x/v1`, `https://x/v1/` and `https://x/v1/todos` all mean the stage URL `https://x/v1`.
pub fn stage_url(url: &str) -> Result<String, IacError> {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix("/todos").unwrap_or(url);
    match url.parse::<Uri>() {
        Ok(u) if matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some() => Ok(url.to_owned()),
        _ => Err(IacError::Smoke {
            message: format!(
                "{url:?} is not an http(s) URL of the API (expected e.g. https://<id>.execute-api.<region>.amazonaws.com/v1)"
            ),
        }),
    }
}

/// Runs every check against `opts.url`, calling `on_check` after each; cleans up after a failure.
pub async fn run(opts: &SmokeOptions, on_check: &mut dyn FnMut(&Check)) -> Result<SmokeReport, IacError> {
    let started = Instant::now();
    let base = stage_url(&opts.url)?;
    let http = Http::new(opts.timeout, opts.token.clone())?;
    let fresh = || new_uuid().ok_or_else(|| IacError::Smoke { message: "no random bytes for a UUID".to_owned() });
    let ids = (fresh()?, fresh()?);
    let mut run = Run {
        ids,
        http,
        opts,
        todos: format!("{base}/todos"),
        report: SmokeReport::default(),
        created: Vec::new(),
        on_check,
    };
    run.checks().await;
    run.clean_up().await;
    run.report.elapsed = started.elapsed();
    Ok(run.report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(status: u16, headers: &[(&str, &str)], body: &str) -> Exchange {
        Exchange {
            method: "OPTIONS".into(),
            url: "http://127.0.0.1:1/v1/todos".into(),
            request_headers: Vec::new(),
            request_body: None,
            status: Some(status),
            response_headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
            response_body: body.into(),
            transport_error: None,
            latency: Duration::from_millis(3),
        }
    }

    #[test]
    fn the_stage_url_is_taken_with_or_without_a_trailing_todos() {
        assert_eq!(stage_url("https://a.example/v1/").unwrap(), "https://a.example/v1");
        assert_eq!(stage_url("https://a.example/v1/todos").unwrap(), "https://a.example/v1");
        assert!(stage_url("a.example/v1").unwrap_err().to_string().contains("not an http(s) URL"));
    }

    #[test]
    fn a_preflight_must_allow_the_origin_the_method_and_every_header() {
        let good = exchange(
            204,
            &[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-methods", "GET,POST,DELETE"),
                ("access-control-allow-headers", "authorization, content-type"),
            ],
            "",
        );
        assert!(check_preflight(&good, "http://localhost:8100", "content-type,authorization").is_ok());
        let no_auth = exchange(
            204,
            &[
                ("access-control-allow-origin", "http://localhost:8100"),
                ("access-control-allow-methods", "POST"),
                ("access-control-allow-headers", "content-type"),
            ],
            "",
        );
        assert!(check_preflight(&no_auth, "http://localhost:8100", "content-type").is_ok());
        let err = check_preflight(&no_auth, "http://localhost:8100", "content-type,authorization").unwrap_err();
        assert_eq!(err, "access-control-allow-headers does not allow authorization");
        let other = exchange(204, &[("access-control-allow-origin", "https://elsewhere")], "");
        assert!(check_preflight(&other, "http://localhost:8100", "content-type").unwrap_err().contains("elsewhere"));
    }

    #[test]
    fn validation_needs_422_and_the_three_field_errors() {
        let ok = exchange(422, &[], r#"{"fieldErrors":{"description":"required","priority":"x","dueDate":"y"}}"#);
        assert!(check_validation(&ok).is_ok());
        let partial = exchange(422, &[], r#"{"fieldErrors":{"description":"required"}}"#);
        assert!(check_validation(&partial).unwrap_err().contains("priority, dueDate"));
        assert!(check_validation(&exchange(204, &[], "")).unwrap_err().contains("expected 422, got 204"));
    }

    #[test]
    fn ids_are_random_version_4_uuids() {
        let (a, b) = (new_uuid().unwrap(), new_uuid().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert_eq!(a.split('-').map(str::len).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
    }

    #[test]
    fn a_dump_never_shows_the_token_and_clips_long_bodies() {
        let mut ex = exchange(500, &[], &"x".repeat(5000));
        ex.request_headers.push(("authorization".into(), "Bearer <token>".into()));
        let d = ex.dump();
        assert!(d.contains("> authorization: Bearer <token>"));
        assert!(d.contains("(5000 bytes in all)"));
    }
}
