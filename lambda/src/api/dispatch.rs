//! Dispatch: from a decoded request to the handler of its route, on the route its entrypoint already
//! knows (matched by the dev server, or named by API Gateway's route key), or — where there is none (a
//! function URL, a `$default` route, a test) — on method and path against the same route table, with
//! the stage prefix ignored.

use super::{ApiConfig, ApiError, ApiRequest, ApiResponse, handlers};
use crate::config::AuthMode;
use crate::domain::Owner;
use crate::routes::{self, Operation, RouteMatch};
use crate::store::TodoStore;

/// Runs the handler for `request` and turns any error into its response.
pub async fn dispatch(request: &ApiRequest, store: &dyn TodoStore, config: &ApiConfig) -> ApiResponse {
    match route(request, store, config).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn route(request: &ApiRequest, store: &dyn TodoStore, config: &ApiConfig) -> Result<ApiResponse, ApiError> {
    let (operation, id) = match request.route {
        Some(route) => {
            let id = request.path_parameters.iter().find(|(k, _)| k == "id").map(|(_, v)| v.clone());
            (route.operation, id)
        }
        // A route key this build does not know: API Gateway routed the request somewhere we have nothing.
        None if request.route_key.as_deref().is_some_and(|k| k != "$default") => return Err(ApiError::NotFound),
        None => {
            let path = strip_stage(&request.path, request.stage.as_deref());
            match routes::match_request(&request.method, path) {
                RouteMatch::Found(route, params) => {
                    let id = params.iter().find(|(k, _)| *k == "id").map(|(_, v)| (*v).to_owned());
                    (route.operation, id)
                }
                RouteMatch::MethodNotAllowed(allowed) => return Err(ApiError::MethodNotAllowed(allowed)),
                RouteMatch::NotFound => return Err(ApiError::NotFound),
            }
        }
    };
    let owner = owner(request, config)?;
    match operation {
        Operation::ListTodos => {
            let (limit, cursor) = (request.query_param("limit"), request.query_param("cursor"));
            handlers::list_todos(limit.as_deref(), cursor.as_deref(), &owner, store, config).await
        }
        Operation::PutTodo => handlers::put_todo(request.body.as_deref(), &owner, store, config).await,
        Operation::DeleteTodo => handlers::delete_todo(id.as_deref().unwrap_or_default(), &owner, store).await,
    }
}

/// Whose todos this request may see. With sign-in on, a request without a `sub` claim is refused
/// rather than served the shared list: the authorizer in front should never let one through, and if
/// it does (a route deployed without it), nobody's todos leak.
fn owner(request: &ApiRequest, config: &ApiConfig) -> Result<Owner, ApiError> {
    match config.auth {
        AuthMode::None => Ok(Owner::Everyone),
        AuthMode::Jwt => match request.subject.as_deref() {
            Some(sub) if !sub.is_empty() => Ok(Owner::User(sub.to_owned())),
            _ => Err(ApiError::Unauthorized),
        },
    }
}

/// `/v1/todos` → `/todos` for stage `v1`; paths outside the stage are left alone.
fn strip_stage<'p>(path: &'p str, stage: Option<&str>) -> &'p str {
    let Some(stage) = stage.filter(|s| !s.is_empty() && *s != "$default") else {
        return path;
    };
    routes::strip_stage(path, stage).unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::strip_stage;

    #[test]
    fn stage_prefix_is_ignored_only_when_it_is_a_whole_segment() {
        assert_eq!(strip_stage("/v1/todos", Some("v1")), "/todos");
        assert_eq!(strip_stage("/v10/todos", Some("v1")), "/v10/todos");
        assert_eq!(strip_stage("/todos", Some("$default")), "/todos");
        assert_eq!(strip_stage("/todos", None), "/todos");
    }
}
