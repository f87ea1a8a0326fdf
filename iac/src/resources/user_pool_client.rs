//! The app client the browser signs in with (`cognito` stacks): a public client (no secret: a
//! browser cannot keep one) using the authorization code flow — the client adds PKCE — with scopes
//! `openid email`, the stack's callback and sign-out URLs, Cognito's own sign-in page as the only
//! identity provider, refresh tokens, and token revocation on. Lives inside the pool; found again by
//! its deterministic name. App clients carry no tags.

use aws_sdk_cognitoidentityprovider::types::{ExplicitAuthFlowsType, OAuthFlowType, UserPoolClientType};

use crate::aws::{Aws, aws_error, gone};
use crate::engine::{Change, Diff, Input, Outputs, Resource, State};
use crate::error::IacError;

/// The scopes the client may ask for (sorted, as compared).
pub const SCOPES: [&str; 2] = ["email", "openid"];

/// The declared app client.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPoolClient {
    /// The pool (an output of the user pool).
    pub user_pool_id: Input,
    /// Client name, e.g. `todos-dev-web`.
    pub name: String,
    /// Where sign-in returns to.
    pub callback_urls: Vec<String>,
    /// Where sign-out returns to.
    pub logout_urls: Vec<String>,
}

/// The live app client.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPoolClientState {
    /// Pool id.
    pub user_pool_id: String,
    /// Client id (the audience of the pool's tokens for this app).
    pub id: String,
    /// Name.
    pub name: String,
    /// Whether it has a secret (a confidential client; ours is public).
    pub has_secret: bool,
    /// OAuth flows, sorted, comma-separated.
    pub oauth_flows: String,
    /// OAuth scopes, sorted, comma-separated.
    pub oauth_scopes: String,
    /// Whether the OAuth settings are enabled (`AllowedOAuthFlowsUserPoolClient`).
    pub oauth_enabled: bool,
    /// Callback URLs, sorted, comma-separated.
    pub callback_urls: String,
    /// Sign-out URLs, sorted, comma-separated.
    pub logout_urls: String,
    /// Identity providers, sorted, comma-separated.
    pub identity_providers: String,
    /// Explicit auth flows, sorted, comma-separated.
    pub auth_flows: String,
    /// Token revocation.
    pub token_revocation: bool,
}

fn sorted(items: impl IntoIterator<Item = impl Into<String>>) -> String {
    let mut v: Vec<String> = items.into_iter().map(Into::into).collect();
    v.sort();
    v.join(",")
}

impl UserPoolClient {
    fn label(&self) -> String {
        format!("user pool client {}", self.name)
    }

    /// The declared settings as (property, value), in the order previews show them.
    fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("oauth_flows", "code".into()),
            ("oauth_scopes", SCOPES.join(",")),
            ("oauth_enabled", "true".into()),
            ("callback_urls", sorted(self.callback_urls.clone())),
            ("logout_urls", sorted(self.logout_urls.clone())),
            ("identity_providers", "COGNITO".into()),
            ("auth_flows", "ALLOW_REFRESH_TOKEN_AUTH".into()),
            ("token_revocation", "true".into()),
        ]
    }
}

impl State for UserPoolClientState {
    /// `id`.
    fn outputs(&self) -> Outputs {
        Outputs::from([("id", self.id.clone())])
    }

    /// Deletes the client.
    async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        let result =
            aws.cognito.delete_user_pool_client().user_pool_id(&self.user_pool_id).client_id(&self.id).send().await;
        gone(result, aws_sdk_cognitoidentityprovider::operation::delete_user_pool_client::DeleteUserPoolClientError::is_resource_not_found_exception, &format!("user pool client {}", self.name), "DeleteUserPoolClient")
    }
}

impl UserPoolClientState {
    /// The live settings, in the order of [`UserPoolClient`]'s declared ones.
    fn settings(&self) -> Vec<String> {
        vec![
            self.oauth_flows.clone(),
            self.oauth_scopes.clone(),
            self.oauth_enabled.to_string(),
            self.callback_urls.clone(),
            self.logout_urls.clone(),
            self.identity_providers.clone(),
            self.auth_flows.clone(),
            self.token_revocation.to_string(),
        ]
    }
}

fn state(user_pool_id: &str, c: &UserPoolClientType) -> UserPoolClientState {
    UserPoolClientState {
        user_pool_id: user_pool_id.to_owned(),
        id: c.client_id().unwrap_or_default().to_owned(),
        name: c.client_name().unwrap_or_default().to_owned(),
        has_secret: c.client_secret().is_some_and(|s| !s.is_empty()),
        oauth_flows: sorted(c.allowed_o_auth_flows().iter().map(|f| f.as_str())),
        oauth_scopes: sorted(c.allowed_o_auth_scopes().iter().map(String::as_str)),
        oauth_enabled: c.allowed_o_auth_flows_user_pool_client().unwrap_or(false),
        callback_urls: sorted(c.callback_urls().iter().map(String::as_str)),
        logout_urls: sorted(c.logout_urls().iter().map(String::as_str)),
        identity_providers: sorted(c.supported_identity_providers().iter().map(String::as_str)),
        auth_flows: sorted(c.explicit_auth_flows().iter().map(|f| f.as_str())),
        token_revocation: c.enable_token_revocation().unwrap_or(false),
    }
}

impl Resource for UserPoolClient {
    type State = UserPoolClientState;
    const KIND: &'static str = "user pool client";

    fn name(&self) -> String {
        self.name.clone()
    }

    fn inputs(&self) -> Vec<&Input> {
        vec![&self.user_pool_id]
    }

    fn inputs_mut(&mut self) -> Vec<&mut Input> {
        vec![&mut self.user_pool_id]
    }

    fn container(&self) -> Option<&Input> {
        Some(&self.user_pool_id)
    }

    /// Pure diff: a client with a secret must be replaced by a public one; every other setting changes
    /// in place.
    fn diff(&self, observed: Option<&UserPoolClientState>) -> Change {
        let Some(live) = observed else {
            let mut props = vec![("name", self.name.clone()), ("secret", "none (public client, PKCE)".to_owned())];
            props.extend(self.settings());
            return Change::create(props);
        };
        let mut d = Diff::new();
        d.replace_field("secret", Some(if live.has_secret { "yes" } else { "none" }.to_owned()), "none");
        for ((name, want), old) in self.settings().into_iter().zip(live.settings()) {
            d.field(name, Some(old), want);
        }
        d.finish()
    }

    /// Reads the client with our name in the pool.
    async fn read(&self, aws: &Aws) -> Result<Option<UserPoolClientState>, IacError> {
        let Some(pool) = self.user_pool_id.value() else { return Ok(None) };
        let label = self.label();
        let mut token: Option<String> = None;
        let mut id = None;
        for _page in 0..1000 {
            let out = match aws
                .cognito
                .list_user_pool_clients()
                .user_pool_id(pool)
                .max_results(60)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(o) => o,
                Err(e) if e.as_service_error().is_some_and(aws_sdk_cognitoidentityprovider::operation::list_user_pool_clients::ListUserPoolClientsError::is_resource_not_found_exception) => return Ok(None),
                Err(e) => return Err(aws_error(&label, "ListUserPoolClients", e)),
            };
            id = out
                .user_pool_clients()
                .iter()
                .find(|c| c.client_name() == Some(self.name.as_str()))
                .and_then(|c| c.client_id().map(str::to_owned));
            match out.next_token() {
                Some(t) if !t.is_empty() && id.is_none() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        let Some(id) = id else { return Ok(None) };
        let out = match aws.cognito.describe_user_pool_client().user_pool_id(pool).client_id(&id).send().await {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(aws_sdk_cognitoidentityprovider::operation::describe_user_pool_client::DescribeUserPoolClientError::is_resource_not_found_exception) => return Ok(None),
            Err(e) => return Err(aws_error(&label, "DescribeUserPoolClient", e)),
        };
        Ok(out.user_pool_client().map(|c| state(pool, c)))
    }

    /// Creates the client or brings its settings in line (a client with a secret is deleted first).
    async fn apply(&self, aws: &Aws, observed: Option<&UserPoolClientState>, change: &Change) -> Result<(), IacError> {
        let label = self.label();
        let pool = self.user_pool_id.require(&label)?;
        let observed = match observed {
            Some(live) if change.touches("secret") => {
                live.delete(aws).await?;
                None
            }
            other => other,
        };
        // UpdateUserPoolClient resets every setting it is not given, so both calls give them all.
        macro_rules! settings {
            ($req:expr) => {
                $req.allowed_o_auth_flows(OAuthFlowType::Code)
                    .set_allowed_o_auth_scopes(Some(SCOPES.iter().map(|s| (*s).to_owned()).collect()))
                    .allowed_o_auth_flows_user_pool_client(true)
                    .set_callback_urls(Some(self.callback_urls.clone()))
                    .set_logout_urls(Some(self.logout_urls.clone()))
                    .supported_identity_providers("COGNITO")
                    .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
                    .enable_token_revocation(true)
                    .prevent_user_existence_errors(
                        aws_sdk_cognitoidentityprovider::types::PreventUserExistenceErrorTypes::Enabled,
                    )
            };
        }
        match observed {
            None => {
                settings!(
                    aws.cognito
                        .create_user_pool_client()
                        .user_pool_id(pool)
                        .client_name(&self.name)
                        .generate_secret(false)
                )
                .send()
                .await
                .map_err(|e| aws_error(&label, "CreateUserPoolClient", e))?;
            }
            Some(live) => {
                settings!(
                    aws.cognito
                        .update_user_pool_client()
                        .user_pool_id(pool)
                        .client_id(&live.id)
                        .client_name(&self.name)
                )
                .send()
                .await
                .map_err(|e| aws_error(&label, "UpdateUserPoolClient", e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;

    fn desired() -> UserPoolClient {
        UserPoolClient {
            user_pool_id: Input::known("us-east-1_abc"),
            name: "todos-dev-web".into(),
            callback_urls: vec!["http://localhost:8100".into()],
            logout_urls: vec!["http://localhost:8100".into()],
        }
    }

    fn live() -> UserPoolClientState {
        UserPoolClientState {
            user_pool_id: "us-east-1_abc".into(),
            id: "client1".into(),
            name: "todos-dev-web".into(),
            has_secret: false,
            oauth_flows: "code".into(),
            oauth_scopes: "email,openid".into(),
            oauth_enabled: true,
            callback_urls: "http://localhost:8100".into(),
            logout_urls: "http://localhost:8100".into(),
            identity_providers: "COGNITO".into(),
            auth_flows: "ALLOW_REFRESH_TOKEN_AUTH".into(),
            token_revocation: true,
        }
    }

    #[test]
    fn new_client_is_public_with_the_code_flow_and_openid_email() {
        let c = desired().diff(None);
        assert_eq!(c.action, Action::Create);
        let get = |n: &str| c.properties.iter().find(|p| p.name == n).and_then(|p| p.new.clone());
        assert_eq!(get("oauth_flows").as_deref(), Some("code"));
        assert_eq!(get("oauth_scopes").as_deref(), Some("email,openid"));
        assert_eq!(get("token_revocation").as_deref(), Some("true"));
        assert!(get("secret").unwrap().starts_with("none"));
    }

    #[test]
    fn matching_client_is_unchanged_and_settings_are_updates() {
        assert_eq!(desired().diff(Some(&live())), Change::unchanged());
        let moved = UserPoolClient { callback_urls: vec!["https://app.example.com".into()], ..desired() };
        let c = moved.diff(Some(&live()));
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.properties.len(), 1);
        assert_eq!(c.properties[0].name, "callback_urls");
        assert_eq!(c.properties[0].new.as_deref(), Some("https://app.example.com"));
        let implicit = UserPoolClientState { oauth_flows: "code,implicit".into(), token_revocation: false, ..live() };
        let c = desired().diff(Some(&implicit));
        assert_eq!(
            c.properties.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["oauth_flows", "token_revocation"]
        );
    }

    #[test]
    fn a_client_with_a_secret_is_replaced_by_a_public_one() {
        let confidential = UserPoolClientState { has_secret: true, ..live() };
        assert_eq!(desired().diff(Some(&confidential)).action, Action::Replace);
    }
}
