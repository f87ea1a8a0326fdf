//! The one route table and the one CORS setting of the HTTP contract.
//!
//! Everything that needs to know the API's shape reads it from here: the Lambda's dispatch, the local dev
//! server's router and CORS layer, the deploy crate (routes and the HTTP API's CORS configuration) and
//! the OpenAPI conformance test. Adding a route is one edit to [`ROUTES`].

/// What a route does; dispatch maps each one to its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `GET /todos`: list todos, one page at a time.
    ListTodos,
    /// `POST /todos`: insert or replace a todo by id.
    PutTodo,
    /// `DELETE /todos/{id}`: delete a todo (idempotent).
    DeleteTodo,
}

/// One row of the route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// HTTP method, upper case, as API Gateway writes it in a route key.
    pub method: &'static str,
    /// Path template in API Gateway syntax: literal segments and `{name}` parameters.
    pub path: &'static str,
    /// The operation this route runs.
    pub operation: Operation,
}

impl Route {
    /// The API Gateway route key, e.g. `GET /todos`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Matches a concrete path (without stage prefix) against this route's template; returns the path
    /// parameters on a match.
    pub fn match_path<'p>(&self, path: &'p str) -> Option<Vec<(&'static str, &'p str)>> {
        match_template(self.path, path)
    }
}

/// The route table of the API.
pub const ROUTES: &[Route] = &[
    Route { method: "GET", path: "/todos", operation: Operation::ListTodos },
    Route { method: "POST", path: "/todos", operation: Operation::PutTodo },
    Route { method: "DELETE", path: "/todos/{id}", operation: Operation::DeleteTodo },
];

/// The result of looking a request up in the route table.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch<'p> {
    /// A route matched; its path parameters.
    Found(&'static Route, Vec<(&'static str, &'p str)>),
    /// The path is known but not for this method; the methods that are allowed.
    MethodNotAllowed(Vec<&'static str>),
    /// No route has this path.
    NotFound,
}

/// Finds the route for a route key such as `DELETE /todos/{id}`.
pub fn route_for_key(route_key: &str) -> Option<&'static Route> {
    let (method, path) = route_key.split_once(' ')?;
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

/// Matches method + concrete path (without stage prefix) against the route table.
pub fn match_request<'p>(method: &str, path: &'p str) -> RouteMatch<'p> {
    let mut allowed = Vec::new();
    for route in ROUTES {
        if let Some(params) = route.match_path(path) {
            if route.method.eq_ignore_ascii_case(method) {
                return RouteMatch::Found(route, params);
            }
            allowed.push(route.method);
        }
    }
    if allowed.is_empty() { RouteMatch::NotFound } else { RouteMatch::MethodNotAllowed(allowed) }
}

fn match_template<'p>(template: &'static str, path: &'p str) -> Option<Vec<(&'static str, &'p str)>> {
    // A trailing slash is a different resource to API Gateway; keep that behaviour here.
    let mut want = template.split('/');
    let mut have = path.split('/');
    let mut params = Vec::new();
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(h)) => {
                if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                    if h.is_empty() {
                        return None;
                    }
                    params.push((name, h));
                } else if w != h {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// The route path under a stage: `/v1/todos` → `/todos` for stage `v1`; `None` when the path is not
/// under that stage as a whole segment (`/v10/todos`, `/todos`).
pub fn strip_stage<'p>(path: &'p str, stage: &str) -> Option<&'p str> {
    path.strip_prefix('/').and_then(|p| p.strip_prefix(stage)).filter(|rest| rest.starts_with('/'))
}

/// Header that carries the cursor of the next page of `GET /todos`, when there is one.
pub const NEXT_CURSOR_HEADER: &str = "x-next-cursor";

/// Cross-origin settings of the HTTP API, applied by API Gateway in AWS and by the dev server locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// Allowed origins; `["*"]` allows any.
    pub allow_origins: Vec<String>,
    /// Allowed methods.
    pub allow_methods: Vec<&'static str>,
    /// Allowed request headers (lower case).
    pub allow_headers: Vec<&'static str>,
    /// Response headers a browser script may read.
    pub expose_headers: Vec<&'static str>,
    /// Seconds a browser may cache a preflight answer.
    pub max_age_seconds: u32,
    /// Whether credentials (cookies, auth) are allowed; never, for this API.
    pub allow_credentials: bool,
}

impl Cors {
    /// The contract's CORS setting with the given allowed origins (`*` when empty).
    pub fn with_origins(origins: Vec<String>) -> Self {
        let allow_origins = if origins.is_empty() { vec!["*".to_owned()] } else { origins };
        Cors {
            allow_origins,
            allow_methods: vec!["GET", "POST", "DELETE"],
            allow_headers: vec!["content-type"],
            expose_headers: vec![NEXT_CURSOR_HEADER],
            max_age_seconds: 7200,
            allow_credentials: false,
        }
    }

    /// The same setting with the `authorization` request header allowed too: what sign-in needs, so a
    /// browser may send `Authorization: Bearer ...` (API Gateway in AWS, the dev server locally).
    pub fn with_authorization(mut self) -> Self {
        if !self.allow_headers.contains(&"authorization") {
            self.allow_headers.push("authorization");
        }
        self
    }

    /// The value of `Access-Control-Allow-Origin` for a request from `origin`, if it is allowed.
    pub fn allow_origin_for(&self, origin: Option<&str>) -> Option<String> {
        if self.allow_origins.iter().any(|o| o == "*") {
            return Some("*".to_owned());
        }
        let origin = origin?;
        self.allow_origins.iter().find(|o| o.eq_ignore_ascii_case(origin)).map(|_| origin.to_owned())
    }
}

impl Default for Cors {
    fn default() -> Self {
        Cors::with_origins(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_key_resolves_to_its_route() {
        for route in ROUTES {
            assert_eq!(route_for_key(&route.key()), Some(route));
        }
        assert_eq!(route_for_key("$default"), None);
        assert_eq!(route_for_key("PUT /todos"), None);
    }

    #[test]
    fn path_matching_extracts_parameters_and_reports_allowed_methods() {
        match match_request("DELETE", "/todos/abc") {
            RouteMatch::Found(r, p) => {
                assert_eq!(r.operation, Operation::DeleteTodo);
                assert_eq!(p, vec![("id", "abc")]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(match_request("PUT", "/todos"), RouteMatch::MethodNotAllowed(vec!["GET", "POST"]));
        assert_eq!(match_request("GET", "/todos/x"), RouteMatch::MethodNotAllowed(vec!["DELETE"]));
        assert_eq!(match_request("GET", "/todos/"), RouteMatch::NotFound);
        assert_eq!(match_request("GET", "/todos/a/b"), RouteMatch::NotFound);
        assert_eq!(match_request("GET", "/nope"), RouteMatch::NotFound);
    }

    #[test]
    fn cors_defaults_match_the_design() {
        let cors = Cors::default();
        assert_eq!(cors.allow_origins, vec!["*"]);
        assert_eq!(cors.allow_methods, vec!["GET", "POST", "DELETE"]);
        assert_eq!(cors.allow_headers, vec!["content-type"]);
        assert_eq!(cors.max_age_seconds, 7200);
        assert!(!cors.allow_credentials);
        let only = Cors::with_origins(vec!["http://localhost:8100".into()]);
        assert_eq!(only.allow_origin_for(Some("http://localhost:8100")).as_deref(), Some("http://localhost:8100"));
        assert_eq!(only.allow_origin_for(Some("http://evil.example")), None);
        let signed = Cors::default().with_authorization().with_authorization();
        assert_eq!(signed.allow_headers, vec!["content-type", "authorization"]);
    }
}
