//! One route of the HTTP API (`GET /todos`, ...), taken from `todos_routes::ROUTES`, targeting the
//! integration. Live routes whose keys the table no longer has are deleted. With sign-in each route
//! requires a token checked by the stack's JWT authorizer (`AuthorizationType JWT`).

use aws_sdk_apigatewayv2::types::AuthorizationType;

use crate::aws::{Aws, aws_error, gone};
use crate::engine::{Change, Diff, Input, Outputs, Resource, State};
use crate::error::IacError;

/// The declared route.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The API (an output of the HTTP API).
    pub api_id: Input,
    /// Route key, e.g. `DELETE /todos/{id}`.
    pub route_key: String,
    /// `integrations/<id>` (an output of the integration).
    pub target: Input,
    /// The JWT authorizer's id (an output of the authorizer); `None`: open route.
    pub authorizer_id: Option<Input>,
}

/// The live route.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteState {
    /// API id.
    pub api_id: String,
    /// Route id.
    pub id: String,
    /// Route key.
    pub route_key: String,
    /// Target, if any.
    pub target: Option<String>,
    /// `NONE`, `JWT`, ...
    pub authorization_type: String,
    /// The authorizer, if any.
    pub authorizer_id: Option<String>,
}

impl State for RouteState {
    /// `id`.
    fn outputs(&self) -> Outputs {
        Outputs::from([("id", self.id.clone())])
    }

    /// Deletes the route.
    async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        let result = aws.apigw.delete_route().api_id(&self.api_id).route_id(&self.id).send().await;
        gone(
            result,
            aws_sdk_apigatewayv2::operation::delete_route::DeleteRouteError::is_not_found_exception,
            &format!("route {}", self.route_key),
            "DeleteRoute",
        )
    }
}

impl Route {
    /// `NONE`, or `JWT <authorizer id>`: the route's authorization as shown in previews.
    fn authorization(&self) -> Input {
        match &self.authorizer_id {
            None => Input::known("NONE"),
            Some(id) => id.clone().map(|id| format!("JWT {id}")),
        }
    }
}

impl RouteState {
    fn authorization(&self) -> String {
        match (self.authorization_type.as_str(), &self.authorizer_id) {
            ("NONE" | "", _) => "NONE".to_owned(),
            (kind, Some(id)) => format!("{kind} {id}"),
            (kind, None) => kind.to_owned(),
        }
    }
}

/// Every route of an API.
pub async fn list(aws: &Aws, api_id: &str) -> Result<Vec<RouteState>, IacError> {
    let mut routes = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = match aws.apigw.get_routes().api_id(api_id).set_next_token(token.take()).send().await {
            Ok(o) => o,
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_apigatewayv2::operation::get_routes::GetRoutesError::is_not_found_exception,
                ) =>
            {
                return Ok(routes);
            }
            Err(e) => return Err(aws_error(&format!("routes of api {api_id}"), "GetRoutes", e)),
        };
        routes.extend(out.items().iter().map(|r| RouteState {
            api_id: api_id.to_owned(),
            id: r.route_id().unwrap_or_default().to_owned(),
            route_key: r.route_key().unwrap_or_default().to_owned(),
            target: r.target().map(str::to_owned),
            authorization_type: r.authorization_type().map(|a| a.as_str().to_owned()).unwrap_or_else(|| "NONE".into()),
            authorizer_id: r.authorizer_id().filter(|id| !id.is_empty()).map(str::to_owned),
        }));
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(routes),
        }
    }
}

impl Resource for Route {
    type State = RouteState;
    const KIND: &'static str = "route";

    fn name(&self) -> String {
        self.route_key.clone()
    }

    fn inputs(&self) -> Vec<&Input> {
        let mut v = vec![&self.api_id, &self.target];
        v.extend(self.authorizer_id.iter());
        v
    }

    fn inputs_mut(&mut self) -> Vec<&mut Input> {
        let mut v = vec![&mut self.api_id, &mut self.target];
        v.extend(self.authorizer_id.iter_mut());
        v
    }

    fn container(&self) -> Option<&Input> {
        Some(&self.api_id)
    }

    /// Pure diff: the target and the authorization update in place.
    fn diff(&self, observed: Option<&RouteState>) -> Change {
        let Some(live) = observed else {
            return Change::create(vec![
                ("route_key", self.route_key.clone()),
                ("target", self.target.display()),
                ("authorization", self.authorization().display()),
            ]);
        };
        let mut d = Diff::new();
        d.input("target", live.target.clone(), &self.target);
        d.input("authorization", Some(live.authorization()), &self.authorization());
        d.finish()
    }

    /// Reads the route with our key.
    async fn read(&self, aws: &Aws) -> Result<Option<RouteState>, IacError> {
        let Some(api_id) = self.api_id.value() else { return Ok(None) };
        Ok(list(aws, api_id).await?.into_iter().find(|r| r.route_key == self.route_key))
    }

    /// Creates the route or points it at the integration.
    async fn apply(&self, aws: &Aws, observed: Option<&RouteState>, __change: &Change) -> Result<(), IacError> {
        let label = format!("route {}", self.route_key);
        let api_id = self.api_id.require(&label)?;
        let target = self.target.require(&label)?;
        let (kind, authorizer) = match &self.authorizer_id {
            None => (AuthorizationType::None, None),
            Some(id) => (AuthorizationType::Jwt, Some(id.require(&label)?.to_owned())),
        };
        match observed {
            None => {
                aws.apigw
                    .create_route()
                    .api_id(api_id)
                    .route_key(&self.route_key)
                    .target(target)
                    .authorization_type(kind)
                    .set_authorizer_id(authorizer)
                    .send()
                    .await
                    .map_err(|e| aws_error(&label, "CreateRoute", e))?;
            }
            Some(live) => {
                aws.apigw
                    .update_route()
                    .api_id(api_id)
                    .route_id(&live.id)
                    .target(target)
                    .authorization_type(kind)
                    .set_authorizer_id(authorizer)
                    .send()
                    .await
                    .map_err(|e| aws_error(&label, "UpdateRoute", e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;

    #[test]
    fn route_pointing_elsewhere_is_retargeted() {
        let d = Route {
            api_id: Input::known("a"),
            route_key: "GET /todos".into(),
            target: Input::known("integrations/i1"),
            authorizer_id: None,
        };
        let live = RouteState {
            api_id: "a".into(),
            id: "r".into(),
            route_key: "GET /todos".into(),
            target: Some("integrations/i1".into()),
            authorization_type: "NONE".into(),
            authorizer_id: None,
        };
        assert_eq!(d.diff(Some(&live)), Change::unchanged());
        let other = RouteState { target: None, ..live };
        assert_eq!(d.diff(Some(&other)).action, Action::Update);
        assert_eq!(d.diff(None).action, Action::Create);
    }

    #[test]
    fn a_change_of_authorization_is_an_update_showing_both_sides() {
        let open = RouteState {
            api_id: "a".into(),
            id: "r".into(),
            route_key: "GET /todos".into(),
            target: Some("integrations/i1".into()),
            authorization_type: "NONE".into(),
            authorizer_id: None,
        };
        let guarded = Route {
            api_id: Input::known("a"),
            route_key: "GET /todos".into(),
            target: Input::known("integrations/i1"),
            authorizer_id: Some(Input::known("au1")),
        };
        let c = guarded.diff(Some(&open));
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.properties.len(), 1);
        assert_eq!(c.properties[0].name, "authorization");
        assert_eq!(c.properties[0].old.as_deref(), Some("NONE"));
        assert_eq!(c.properties[0].new.as_deref(), Some("JWT au1"));
        let live = RouteState { authorization_type: "JWT".into(), authorizer_id: Some("au1".into()), ..open.clone() };
        assert_eq!(guarded.diff(Some(&live)), Change::unchanged());
        let other = RouteState { authorizer_id: Some("au2".into()), ..live.clone() };
        assert_eq!(guarded.diff(Some(&other)).action, Action::Update);
        let unopened = Route { authorizer_id: None, ..guarded.clone() };
        assert_eq!(unopened.diff(Some(&live)).properties[0].new.as_deref(), Some("NONE"));
        let pending = Route { authorizer_id: Some(Input::output("authorizer", "id")), ..guarded };
        assert_eq!(pending.diff(Some(&open)).properties[0].new.as_deref(), Some(crate::engine::KNOWN_AFTER_APPLY));
    }
}
