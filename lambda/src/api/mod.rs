//! The HTTP contract in plain types: a decoded request, a response, the one error type that maps every
//! failure to a status and body, the handlers and the dispatch that picks one. Nothing here
//! depends on Lambda's types; the limits in [`ApiConfig`] are sized for it (its 6 MB response cap, its
//! timeout).

mod dispatch;
mod error;
mod handlers;

pub use dispatch::dispatch;
pub use error::ApiError;
pub(crate) use error::error_chain;
pub use handlers::{delete_todo, list_todos, put_todo};

use std::borrow::Cow;
use std::time::Duration;

use crate::config::AuthMode;
use crate::routes::Route;

/// Limits and mode of the API, fixed at start-up.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Sign-in: whether each request must carry an owner (the authorizer's `sub` claim).
    pub auth: AuthMode,
    /// Largest accepted request body; larger ones get 413.
    pub max_body_bytes: usize,
    /// Largest `GET /todos` body, measured as the JSON string (quotes included) it becomes in the Lambda
    /// response document (Lambda caps that document at 6 MB); the rest of the list follows through the cursor.
    pub max_list_bytes: usize,
    /// Largest `limit` a client may ask for.
    pub max_page_limit: usize,
    /// After this long a listing that has items answers with them and a cursor instead of reading on.
    pub list_soft_deadline: Duration,
    /// A request that has not finished by now answers 503; below Lambda's 3 s timeout.
    pub request_deadline: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            auth: AuthMode::None,
            max_body_bytes: 256 * 1024,
            // 6 MiB minus room for the status, headers and the response document's own syntax.
            max_list_bytes: 6 * 1024 * 1024 - 16 * 1024,
            max_page_limit: 1000,
            list_soft_deadline: Duration::from_millis(1500),
            request_deadline: Duration::from_millis(2500),
        }
    }
}

/// A request as the handlers see it, decoded once by its entrypoint (from an API Gateway v2 event in
/// Lambda, from the HTTP request in the dev server).
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    /// Upper-case HTTP method.
    pub method: String,
    /// The route, when the entrypoint knows it: the one the dev server matched, or the one API Gateway's
    /// route key names. Dispatch then runs it with [`ApiRequest::path_parameters`] and matches nothing.
    pub route: Option<&'static Route>,
    /// The route key API Gateway matched (`GET /todos`), if any; `$default` counts as none. A key that
    /// names no route (so [`ApiRequest::route`] is `None`) is a 404; without a key and without a route,
    /// dispatch matches method and path against the route table.
    pub route_key: Option<String>,
    /// The raw path, including any stage prefix.
    pub path: String,
    /// The stage name, when known (`v1`); its prefix is ignored when matching paths.
    pub stage: Option<String>,
    /// Path parameters of [`ApiRequest::route`] (`id`), decoded, as API Gateway extracts them.
    pub path_parameters: Vec<(String, String)>,
    /// Query string parameters, one pair per value (read them through [`ApiRequest::query_param`]).
    pub query: Vec<(String, String)>,
    /// The body bytes, already base64-decoded.
    pub body: Option<Vec<u8>>,
    /// The `sub` claim of the caller's token, as the JWT authorizer in front put it in the request
    /// context (`requestContext.authorizer.jwt.claims.sub`); `None` without one. Read only when
    /// [`ApiConfig::auth`] is [`AuthMode::Jwt`].
    pub subject: Option<String>,
}

impl ApiRequest {
    /// Query parameter `name` as API Gateway hands it to the function: a parameter given more than once
    /// arrives as one comma-joined value (`limit=1&limit=5000` → `"1,5000"`, a malformed limit), so
    /// values the event reader split apart are joined again here rather than the first one taken.
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        let mut values = self.query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next()?;
        let Some(second) = values.next() else {
            return Some(Cow::Borrowed(first));
        };
        let mut joined = format!("{first},{second}");
        for value in values {
            joined.push(',');
            joined.push_str(value);
        }
        Some(Cow::Owned(joined))
    }
}

/// A response: status, headers and an optional JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers (lower-case names).
    pub headers: Vec<(&'static str, String)>,
    /// JSON text, if any.
    pub body: Option<String>,
}

impl ApiResponse {
    /// A response with no body.
    pub fn no_content() -> Self {
        ApiResponse { status: 204, headers: Vec::new(), body: None }
    }

    /// A JSON response.
    pub fn json(status: u16, body: String) -> Self {
        ApiResponse { status, headers: vec![("content-type", "application/json".to_owned())], body: Some(body) }
    }

    /// The value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}
