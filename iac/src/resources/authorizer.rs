//! The HTTP API's JWT authorizer (sign-in modes): API Gateway checks the bearer token of every request
//! to a route that names it — signature against the issuer's JWKS, `iss`, `aud` (or `client_id`),
//! `exp` — and answers 401 itself. Lives inside the API; found again by its deterministic name.
//!
//! Finding it: `GetAuthorizers` lists the API's authorizers. moto 5.2 has no handler for that list
//! (it answers 500), so when the list fails with anything but a denial or bad credentials the
//! authorizers the API's routes name are read one by one with `GetAuthorizer` instead; and
//! `apply_and_read` returns the authorizer from AWS's answer to the create or update rather than
//! reading it back, as the engine does for every other kind (a new one is named by no route yet, so
//! there it could not be found).

use aws_sdk_apigatewayv2::types::{AuthorizerType, JwtConfiguration};

use crate::aws::{Aws, ErrorMeta, aws_error, classify, gone};
use crate::engine::{Change, Diff, Input, Outputs, Resource, State};
use crate::error::IacError;

/// Where API Gateway finds the token: the `Authorization` header (`Bearer <token>`).
pub const IDENTITY_SOURCE: &str = "$request.header.Authorization";

/// The declared authorizer.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorizer {
    /// The API (an output of the HTTP API).
    pub api_id: Input,
    /// Name, e.g. `todos-dev-jwt`.
    pub name: String,
    /// The issuer URL, exactly the tokens' `iss` (for Cognito, made from the pool's id).
    pub issuer: Input,
    /// Accepted audiences (for Cognito, the app client's id).
    pub audiences: Vec<Input>,
}

/// The live authorizer.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizerState {
    /// API id.
    pub api_id: String,
    /// Authorizer id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `JWT`, `REQUEST`.
    pub authorizer_type: String,
    /// Identity sources.
    pub identity_source: Vec<String>,
    /// JWT issuer.
    pub issuer: Option<String>,
    /// JWT audiences.
    pub audiences: Vec<String>,
}

impl Authorizer {
    fn label(&self) -> String {
        format!("authorizer {}", self.name)
    }

    fn audiences_display(&self) -> Input {
        let mut known = Vec::new();
        for a in &self.audiences {
            match a.value() {
                Some(v) => known.push(v.to_owned()),
                None => return a.clone(),
            }
        }
        known.sort();
        Input::known(known.join(","))
    }
}

impl State for AuthorizerState {
    /// `id`.
    fn outputs(&self) -> Outputs {
        Outputs::from([("id", self.id.clone())])
    }

    /// Deletes the authorizer.
    async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        let result = aws.apigw.delete_authorizer().api_id(&self.api_id).authorizer_id(&self.id).send().await;
        gone(
            result,
            aws_sdk_apigatewayv2::operation::delete_authorizer::DeleteAuthorizerError::is_not_found_exception,
            &format!("authorizer {}", self.name),
            "DeleteAuthorizer",
        )
    }
}

fn state(api_id: &str, a: &aws_sdk_apigatewayv2::types::Authorizer) -> AuthorizerState {
    let jwt = a.jwt_configuration();
    AuthorizerState {
        api_id: api_id.to_owned(),
        id: a.authorizer_id().unwrap_or_default().to_owned(),
        name: a.name().unwrap_or_default().to_owned(),
        authorizer_type: a.authorizer_type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
        identity_source: a.identity_source().to_vec(),
        issuer: jwt.and_then(|j| j.issuer()).map(str::to_owned),
        audiences: jwt.map(|j| j.audience().to_vec()).unwrap_or_default(),
    }
}

/// Every authorizer of an API (see the module docs for moto's missing list).
pub async fn list(aws: &Aws, api_id: &str) -> Result<Vec<AuthorizerState>, IacError> {
    let label = format!("authorizers of api {api_id}");
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = match aws.apigw.get_authorizers().api_id(api_id).set_next_token(token.take()).send().await {
            Ok(o) => o,
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_apigatewayv2::operation::get_authorizers::GetAuthorizersError::is_not_found_exception,
                ) =>
            {
                return Ok(found);
            }
            Err(e) => {
                return match classify(&label, "GetAuthorizers", ErrorMeta::of(&e)) {
                    IacError::Aws { message, .. } => {
                        tracing::debug!("GetAuthorizers failed ({message}); reading the routes' authorizers");
                        named_by_routes(aws, api_id).await
                    }
                    other => Err(other),
                };
            }
        };
        found.extend(out.items().iter().map(|a| state(api_id, a)));
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(found),
        }
    }
}

/// The authorizers the API's routes name, read by id.
async fn named_by_routes(aws: &Aws, api_id: &str) -> Result<Vec<AuthorizerState>, IacError> {
    let mut ids: Vec<String> =
        super::route::list(aws, api_id).await?.into_iter().filter_map(|r| r.authorizer_id).collect();
    ids.sort();
    ids.dedup();
    let mut found = Vec::new();
    for id in ids {
        match aws.apigw.get_authorizer().api_id(api_id).authorizer_id(&id).send().await {
            Ok(a) => found.push(AuthorizerState {
                api_id: api_id.to_owned(),
                id: a.authorizer_id().unwrap_or(&id).to_owned(),
                name: a.name().unwrap_or_default().to_owned(),
                authorizer_type: a.authorizer_type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
                identity_source: a.identity_source().to_vec(),
                issuer: a.jwt_configuration().and_then(|j| j.issuer()).map(str::to_owned),
                audiences: a.jwt_configuration().map(|j| j.audience().to_vec()).unwrap_or_default(),
            }),
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_apigatewayv2::operation::get_authorizer::GetAuthorizerError::is_not_found_exception,
                ) => {}
            Err(e) => return Err(aws_error(&format!("authorizer {id} of api {api_id}"), "GetAuthorizer", e)),
        }
    }
    Ok(found)
}

fn jwt_configuration(desired: &Authorizer, label: &str) -> Result<JwtConfiguration, IacError> {
    let mut audiences = Vec::new();
    for a in &desired.audiences {
        audiences.push(a.require(label)?.to_owned());
    }
    Ok(JwtConfiguration::builder().issuer(desired.issuer.require(label)?).set_audience(Some(audiences)).build())
}

/// Creates the authorizer or brings its settings in line; returns it as AWS answered.
pub async fn create_or_update(
    aws: &Aws,
    desired: &Authorizer,
    observed: Option<&AuthorizerState>,
) -> Result<AuthorizerState, IacError> {
    let label = desired.label();
    let api_id = desired.api_id.require(&label)?;
    let jwt = jwt_configuration(desired, &label)?;
    let answered =
        |id: Option<&str>, jwt: Option<&JwtConfiguration>, sources: &[String], kind: Option<&AuthorizerType>| {
            AuthorizerState {
                api_id: api_id.to_owned(),
                id: id.unwrap_or_default().to_owned(),
                name: desired.name.clone(),
                authorizer_type: kind.map(|k| k.as_str().to_owned()).unwrap_or_default(),
                identity_source: sources.to_vec(),
                issuer: jwt.and_then(|j| j.issuer()).map(str::to_owned),
                audiences: jwt.map(|j| j.audience().to_vec()).unwrap_or_default(),
            }
        };
    match observed {
        None => {
            let out = aws
                .apigw
                .create_authorizer()
                .api_id(api_id)
                .name(&desired.name)
                .authorizer_type(AuthorizerType::Jwt)
                .identity_source(IDENTITY_SOURCE)
                .jwt_configuration(jwt)
                .send()
                .await
                .map_err(|e| aws_error(&label, "CreateAuthorizer", e))?;
            Ok(answered(out.authorizer_id(), out.jwt_configuration(), out.identity_source(), out.authorizer_type()))
        }
        Some(live) => {
            let out = aws
                .apigw
                .update_authorizer()
                .api_id(api_id)
                .authorizer_id(&live.id)
                .authorizer_type(AuthorizerType::Jwt)
                .identity_source(IDENTITY_SOURCE)
                .jwt_configuration(jwt)
                .send()
                .await
                .map_err(|e| aws_error(&label, "UpdateAuthorizer", e))?;
            let id = out.authorizer_id().or(Some(live.id.as_str()));
            Ok(answered(id, out.jwt_configuration(), out.identity_source(), out.authorizer_type()))
        }
    }
}

impl Resource for Authorizer {
    type State = AuthorizerState;
    const KIND: &'static str = "authorizer";

    fn name(&self) -> String {
        self.name.clone()
    }

    fn inputs(&self) -> Vec<&Input> {
        let mut v = vec![&self.api_id, &self.issuer];
        v.extend(self.audiences.iter());
        v
    }

    fn inputs_mut(&mut self) -> Vec<&mut Input> {
        let mut v = vec![&mut self.api_id, &mut self.issuer];
        v.extend(self.audiences.iter_mut());
        v
    }

    fn container(&self) -> Option<&Input> {
        Some(&self.api_id)
    }

    /// Pure diff: type, identity source, issuer and audiences all update in place.
    fn diff(&self, observed: Option<&AuthorizerState>) -> Change {
        let Some(live) = observed else {
            return Change::create(vec![
                ("name", self.name.clone()),
                ("type", "JWT".into()),
                ("identity_source", IDENTITY_SOURCE.into()),
                ("issuer", self.issuer.display()),
                ("audiences", self.audiences_display().display()),
            ]);
        };
        let mut live_audiences = live.audiences.clone();
        live_audiences.sort();
        let mut d = Diff::new();
        d.field("type", Some(live.authorizer_type.clone()), "JWT")
            .field("identity_source", Some(live.identity_source.join(",")), IDENTITY_SOURCE)
            .input("issuer", live.issuer.clone(), &self.issuer)
            .input("audiences", Some(live_audiences.join(",")), &self.audiences_display());
        d.finish()
    }

    /// Reads the authorizer with our name.
    async fn read(&self, aws: &Aws) -> Result<Option<AuthorizerState>, IacError> {
        let Some(api_id) = self.api_id.value() else { return Ok(None) };
        Ok(list(aws, api_id).await?.into_iter().find(|a| a.name == self.name))
    }

    async fn apply(&self, aws: &Aws, observed: Option<&AuthorizerState>, _change: &Change) -> Result<(), IacError> {
        create_or_update(aws, self, observed).await.map(drop)
    }

    /// Not read back: see the module docs.
    async fn apply_and_read(
        &self,
        aws: &Aws,
        observed: Option<&AuthorizerState>,
        _change: &Change,
    ) -> Result<Option<AuthorizerState>, IacError> {
        create_or_update(aws, self, observed).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Action, KNOWN_AFTER_APPLY};

    const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc";

    fn desired() -> Authorizer {
        Authorizer {
            api_id: Input::known("a"),
            name: "todos-dev-jwt".into(),
            issuer: Input::known(ISSUER),
            audiences: vec![Input::known("client1")],
        }
    }

    fn live() -> AuthorizerState {
        AuthorizerState {
            api_id: "a".into(),
            id: "au1".into(),
            name: "todos-dev-jwt".into(),
            authorizer_type: "JWT".into(),
            identity_source: vec![IDENTITY_SOURCE.into()],
            issuer: Some(ISSUER.into()),
            audiences: vec!["client1".into()],
        }
    }

    #[test]
    fn new_authorizer_reads_the_bearer_header_and_shows_issuer_and_audiences() {
        let c = desired().diff(None);
        assert_eq!(c.action, Action::Create);
        let get = |n: &str| c.properties.iter().find(|p| p.name == n).and_then(|p| p.new.clone());
        assert_eq!(get("identity_source").as_deref(), Some("$request.header.Authorization"));
        assert_eq!(get("issuer").as_deref(), Some(ISSUER));
        assert_eq!(get("audiences").as_deref(), Some("client1"));
        let pending = Authorizer {
            issuer: Input::output("user-pool", "issuer"),
            audiences: vec![Input::output("user-pool-client", "id")],
            ..desired()
        };
        let c = pending.diff(None);
        assert!(c.properties.iter().any(|p| p.name == "audiences" && p.new.as_deref() == Some(KNOWN_AFTER_APPLY)));
    }

    #[test]
    fn matching_authorizer_is_unchanged_and_each_setting_is_an_update() {
        assert_eq!(desired().diff(Some(&live())), Change::unchanged());
        let two = Authorizer { audiences: vec![Input::known("b"), Input::known("a")], ..desired() };
        let live_two = AuthorizerState { audiences: vec!["a".into(), "b".into()], ..live() };
        assert_eq!(two.diff(Some(&live_two)), Change::unchanged(), "audiences compare as a set");
        let cases = [
            (AuthorizerState { issuer: Some("https://other".into()), ..live() }, "issuer"),
            (AuthorizerState { audiences: vec!["other".into()], ..live() }, "audiences"),
            (AuthorizerState { identity_source: vec!["$request.header.X".into()], ..live() }, "identity_source"),
            (AuthorizerState { authorizer_type: "REQUEST".into(), ..live() }, "type"),
        ];
        for (l, name) in cases {
            let c = desired().diff(Some(&l));
            assert_eq!(c.action, Action::Update, "{name}");
            assert_eq!(c.properties.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), [name]);
        }
    }
}
