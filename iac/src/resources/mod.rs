//! One module per resource kind (the nine of the open API, plus the JWT authorizer and Cognito's
//! user pool, app client and domain for sign-in). Each has a declared type, a live-state type, a pure
//! `diff(desired, observed) -> Change`, and effectful `read` / `apply` / `delete`. [`Resource`] and
//! [`Observed`] are the closed sets the engine dispatches over.

pub mod authorizer;
pub mod function;
pub mod http_api;
pub mod integration;
pub mod log_group;
pub mod permission;
pub mod role;
pub mod route;
pub mod stage;
pub mod table;
pub mod user_pool;
pub mod user_pool_client;
pub mod user_pool_domain;

use std::collections::BTreeMap;

use crate::aws::Aws;
use crate::engine::{Change, Input, Outputs};
use crate::error::IacError;

/// Resource tags.
pub type Tags = BTreeMap<String, String>;

/// Account and region a stack is deployed to (for ARNs that are known before creation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Region.
    pub region: String,
    /// Account id.
    pub account: String,
    /// ARN partition.
    pub partition: String,
}

/// How a live resource with our name is recognised as ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Its name is unique in the account and it must carry our tags; otherwise the name is taken.
    Tagged,
    /// Adopted even without our tags (Lambda creates the function's log group by itself).
    Adoptable,
    /// Lives inside a resource we own (routes, integrations, stages, permissions) or is found by tags.
    Contained,
}

/// A declared resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    /// DynamoDB table.
    Table(table::Table),
    /// IAM role.
    Role(role::Role),
    /// CloudWatch log group.
    LogGroup(log_group::LogGroup),
    /// Lambda function.
    Function(function::Function),
    /// HTTP API.
    HttpApi(http_api::HttpApi),
    /// API integration.
    Integration(integration::Integration),
    /// API route.
    Route(route::Route),
    /// API stage.
    Stage(stage::Stage),
    /// Lambda permission.
    Permission(permission::Permission),
    /// JWT authorizer of the API (sign-in modes).
    Authorizer(authorizer::Authorizer),
    /// Cognito user pool (`cognito` mode).
    UserPool(user_pool::UserPool),
    /// Cognito app client (`cognito` mode).
    UserPoolClient(user_pool_client::UserPoolClient),
    /// Cognito hosted sign-in domain (`cognito` mode).
    UserPoolDomain(user_pool_domain::UserPoolDomain),
}

/// A live resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    /// DynamoDB table.
    Table(table::TableState),
    /// IAM role.
    Role(role::RoleState),
    /// CloudWatch log group.
    LogGroup(log_group::LogGroupState),
    /// Lambda function.
    Function(function::FunctionState),
    /// HTTP API.
    HttpApi(http_api::HttpApiState),
    /// API integration.
    Integration(integration::IntegrationState),
    /// API route.
    Route(route::RouteState),
    /// API stage (with the region, for its URL).
    Stage(stage::StageState, String),
    /// Lambda permission.
    Permission(permission::PermissionState),
    /// JWT authorizer.
    Authorizer(authorizer::AuthorizerState),
    /// Cognito user pool.
    UserPool(user_pool::UserPoolState),
    /// Cognito app client.
    UserPoolClient(user_pool_client::UserPoolClientState),
    /// Cognito hosted sign-in domain.
    UserPoolDomain(user_pool_domain::UserPoolDomainState),
}

impl Resource {
    /// The kind, e.g. `function`.
    pub fn kind(&self) -> &'static str {
        match self {
            Resource::Table(_) => "table",
            Resource::Role(_) => "role",
            Resource::LogGroup(_) => "log group",
            Resource::Function(_) => "function",
            Resource::HttpApi(_) => "http api",
            Resource::Integration(_) => "integration",
            Resource::Route(_) => "route",
            Resource::Stage(_) => "stage",
            Resource::Permission(_) => "permission",
            Resource::Authorizer(_) => "authorizer",
            Resource::UserPool(_) => "user pool",
            Resource::UserPoolClient(_) => "user pool client",
            Resource::UserPoolDomain(_) => "user pool domain",
        }
    }

    /// The physical name shown to people.
    pub fn name(&self) -> String {
        match self {
            Resource::Table(r) => r.name.clone(),
            Resource::Role(r) => r.name.clone(),
            Resource::LogGroup(r) => r.name.clone(),
            Resource::Function(r) => r.name.clone(),
            Resource::HttpApi(r) => r.name.clone(),
            Resource::Integration(_) => "lambda-proxy".to_owned(),
            Resource::Route(r) => r.route_key.clone(),
            Resource::Stage(r) => r.name.clone(),
            Resource::Permission(r) => r.statement_id.clone(),
            Resource::Authorizer(r) => r.name.clone(),
            Resource::UserPool(r) => r.name.clone(),
            Resource::UserPoolClient(r) => r.name.clone(),
            Resource::UserPoolDomain(r) => r.domain.clone(),
        }
    }

    /// `kind name`.
    pub fn label(&self) -> String {
        format!("{} {}", self.kind(), self.name())
    }

    /// How ownership is recognised.
    pub fn ownership(&self) -> Ownership {
        match self {
            Resource::Table(_) | Resource::Role(_) | Resource::Function(_) => Ownership::Tagged,
            Resource::LogGroup(_) => Ownership::Adoptable,
            _ => Ownership::Contained,
        }
    }

    /// Our tags, for taggable kinds.
    pub fn tags(&self) -> Option<&Tags> {
        match self {
            Resource::Table(r) => Some(&r.tags),
            Resource::Role(r) => Some(&r.tags),
            Resource::LogGroup(r) => Some(&r.tags),
            Resource::Function(r) => Some(&r.tags),
            Resource::HttpApi(r) => Some(&r.tags),
            Resource::Stage(r) => Some(&r.tags),
            Resource::UserPool(r) => Some(&r.tags),
            _ => None,
        }
    }

    /// Whether `observed`, found by our name, belongs to something else (a hosted sign-in domain of
    /// another pool): never adopted, changed or deleted.
    pub fn held_by_another(&self, observed: &Observed) -> bool {
        match (self, observed) {
            (Resource::UserPoolDomain(d), Observed::UserPoolDomain(o)) => d.held_by_another(o),
            _ => false,
        }
    }

    /// Every input (the links to other resources among them).
    pub fn inputs(&self) -> Vec<&Input> {
        match self {
            Resource::Table(_) | Resource::LogGroup(_) | Resource::HttpApi(_) => vec![],
            Resource::Role(r) => vec![&r.table_arn],
            Resource::Function(r) => vec![&r.role_arn, &r.table_name],
            Resource::Integration(r) => vec![&r.api_id, &r.function_arn],
            Resource::Route(r) => {
                let mut v = vec![&r.api_id, &r.target];
                v.extend(r.authorizer_id.iter());
                v
            }
            Resource::Stage(r) => vec![&r.api_id],
            Resource::Permission(r) => vec![&r.function_name, &r.source_arn],
            Resource::Authorizer(r) => {
                let mut v = vec![&r.api_id, &r.issuer];
                v.extend(r.audiences.iter());
                v
            }
            Resource::UserPool(_) => vec![],
            Resource::UserPoolClient(r) => vec![&r.user_pool_id],
            Resource::UserPoolDomain(r) => vec![&r.user_pool_id],
        }
    }

    /// Every input, mutably (for resolution).
    pub fn inputs_mut(&mut self) -> Vec<&mut Input> {
        match self {
            Resource::Table(_) | Resource::LogGroup(_) | Resource::HttpApi(_) => vec![],
            Resource::Role(r) => vec![&mut r.table_arn],
            Resource::Function(r) => vec![&mut r.role_arn, &mut r.table_name],
            Resource::Integration(r) => vec![&mut r.api_id, &mut r.function_arn],
            Resource::Route(r) => {
                let mut v = vec![&mut r.api_id, &mut r.target];
                v.extend(r.authorizer_id.iter_mut());
                v
            }
            Resource::Stage(r) => vec![&mut r.api_id],
            Resource::Permission(r) => vec![&mut r.function_name, &mut r.source_arn],
            Resource::Authorizer(r) => {
                let mut v = vec![&mut r.api_id, &mut r.issuer];
                v.extend(r.audiences.iter_mut());
                v
            }
            Resource::UserPool(_) => vec![],
            Resource::UserPoolClient(r) => vec![&mut r.user_pool_id],
            Resource::UserPoolDomain(r) => vec![&mut r.user_pool_id],
        }
    }

    /// The input naming the resource this one lives inside: when that one is about to be created,
    /// there is nothing to read.
    pub fn container(&self) -> Option<&Input> {
        match self {
            Resource::Integration(r) => Some(&r.api_id),
            Resource::Route(r) => Some(&r.api_id),
            Resource::Stage(r) => Some(&r.api_id),
            Resource::Permission(r) => Some(&r.function_name),
            Resource::Authorizer(r) => Some(&r.api_id),
            Resource::UserPoolClient(r) => Some(&r.user_pool_id),
            Resource::UserPoolDomain(r) => Some(&r.user_pool_id),
            _ => None,
        }
    }

    /// Outputs known before the resource exists (deterministic names and ARNs).
    pub fn planned_outputs(&self) -> Outputs {
        match self {
            Resource::Table(r) => r.planned_outputs(),
            Resource::Role(r) => r.planned_outputs(),
            Resource::Function(r) => r.planned_outputs(),
            Resource::LogGroup(r) => Outputs::from([("name", r.name.clone())]),
            _ => Outputs::new(),
        }
    }

    /// The pure diff against the live state.
    pub fn diff(&self, observed: Option<&Observed>) -> Change {
        match (self, observed) {
            (Resource::Table(d), Some(Observed::Table(o))) => table::diff(d, Some(o)),
            (Resource::Table(d), _) => table::diff(d, None),
            (Resource::Role(d), Some(Observed::Role(o))) => role::diff(d, Some(o)),
            (Resource::Role(d), _) => role::diff(d, None),
            (Resource::LogGroup(d), Some(Observed::LogGroup(o))) => log_group::diff(d, Some(o)),
            (Resource::LogGroup(d), _) => log_group::diff(d, None),
            (Resource::Function(d), Some(Observed::Function(o))) => function::diff(d, Some(o)),
            (Resource::Function(d), _) => function::diff(d, None),
            (Resource::HttpApi(d), Some(Observed::HttpApi(o))) => http_api::diff(d, Some(o)),
            (Resource::HttpApi(d), _) => http_api::diff(d, None),
            (Resource::Integration(d), Some(Observed::Integration(o))) => integration::diff(d, Some(o)),
            (Resource::Integration(d), _) => integration::diff(d, None),
            (Resource::Route(d), Some(Observed::Route(o))) => route::diff(d, Some(o)),
            (Resource::Route(d), _) => route::diff(d, None),
            (Resource::Stage(d), Some(Observed::Stage(o, _))) => stage::diff(d, Some(o)),
            (Resource::Stage(d), _) => stage::diff(d, None),
            (Resource::Permission(d), Some(Observed::Permission(o))) => permission::diff(d, Some(o)),
            (Resource::Permission(d), _) => permission::diff(d, None),
            (Resource::Authorizer(d), Some(Observed::Authorizer(o))) => authorizer::diff(d, Some(o)),
            (Resource::Authorizer(d), _) => authorizer::diff(d, None),
            (Resource::UserPool(d), Some(Observed::UserPool(o))) => user_pool::diff(d, Some(o)),
            (Resource::UserPool(d), _) => user_pool::diff(d, None),
            (Resource::UserPoolClient(d), Some(Observed::UserPoolClient(o))) => user_pool_client::diff(d, Some(o)),
            (Resource::UserPoolClient(d), _) => user_pool_client::diff(d, None),
            (Resource::UserPoolDomain(d), Some(Observed::UserPoolDomain(o))) => user_pool_domain::diff(d, Some(o)),
            (Resource::UserPoolDomain(d), _) => user_pool_domain::diff(d, None),
        }
    }

    /// Reads the live resource (read-only calls only).
    pub async fn read(&self, aws: &Aws) -> Result<Option<Observed>, IacError> {
        Ok(match self {
            Resource::Table(d) => table::read(aws, d).await?.map(Observed::Table),
            Resource::Role(d) => role::read(aws, d).await?.map(Observed::Role),
            Resource::LogGroup(d) => log_group::read(aws, d).await?.map(Observed::LogGroup),
            Resource::Function(d) => function::read(aws, d).await?.map(Observed::Function),
            Resource::HttpApi(d) => http_api::read(aws, d).await?.map(Observed::HttpApi),
            Resource::Integration(d) => integration::read(aws, d).await?.map(Observed::Integration),
            Resource::Route(d) => route::read(aws, d).await?.map(Observed::Route),
            Resource::Stage(d) => stage::read(aws, d).await?.map(|s| Observed::Stage(s, d.region.clone())),
            Resource::Permission(d) => permission::read(aws, d).await?.map(Observed::Permission),
            Resource::Authorizer(d) => authorizer::read(aws, d).await?.map(Observed::Authorizer),
            Resource::UserPool(d) => user_pool::read(aws, d).await?.map(Observed::UserPool),
            Resource::UserPoolClient(d) => user_pool_client::read(aws, d).await?.map(Observed::UserPoolClient),
            Resource::UserPoolDomain(d) => user_pool_domain::read(aws, d).await?.map(Observed::UserPoolDomain),
        })
    }

    /// Applies `change` (never `Unchanged` or `Delete`), then reads the result back.
    pub async fn apply(
        &self,
        aws: &Aws,
        observed: Option<&Observed>,
        change: &Change,
    ) -> Result<Option<Observed>, IacError> {
        match (self, observed) {
            (Resource::Table(d), o) => table::apply(aws, d, as_table(o), change).await?,
            (Resource::Role(d), o) => role::apply(aws, d, as_role(o)).await?,
            (Resource::LogGroup(d), o) => {
                log_group::apply(aws, d, if let Some(Observed::LogGroup(l)) = o { Some(l) } else { None }, change)
                    .await?
            }
            (Resource::Function(d), o) => {
                function::apply(aws, d, if let Some(Observed::Function(l)) = o { Some(l) } else { None }, change)
                    .await?
            }
            (Resource::HttpApi(d), o) => {
                http_api::apply(aws, d, if let Some(Observed::HttpApi(l)) = o { Some(l) } else { None }, change).await?
            }
            (Resource::Integration(d), o) => {
                integration::apply(aws, d, if let Some(Observed::Integration(l)) = o { Some(l) } else { None }, change)
                    .await?
            }
            (Resource::Route(d), o) => {
                route::apply(aws, d, if let Some(Observed::Route(l)) = o { Some(l) } else { None }).await?
            }
            (Resource::Stage(d), o) => {
                stage::apply(aws, d, if let Some(Observed::Stage(l, _)) = o { Some(l) } else { None }, change).await?
            }
            (Resource::Permission(d), o) => {
                permission::apply(aws, d, if let Some(Observed::Permission(l)) = o { Some(l) } else { None }).await?
            }
            (Resource::Authorizer(d), o) => {
                // Not read back: see the `authorizer` module docs.
                let live = if let Some(Observed::Authorizer(l)) = o { Some(l) } else { None };
                return Ok(Some(Observed::Authorizer(authorizer::apply(aws, d, live).await?)));
            }
            (Resource::UserPool(d), o) => {
                user_pool::apply(aws, d, if let Some(Observed::UserPool(l)) = o { Some(l) } else { None }, change)
                    .await?
            }
            (Resource::UserPoolClient(d), o) => {
                let live = if let Some(Observed::UserPoolClient(l)) = o { Some(l) } else { None };
                user_pool_client::apply(aws, d, live, change).await?
            }
            (Resource::UserPoolDomain(d), o) => {
                let live = if let Some(Observed::UserPoolDomain(l)) = o { Some(l) } else { None };
                user_pool_domain::apply(aws, d, live).await?
            }
        }
        self.read(aws).await
    }
}

fn as_table(o: Option<&Observed>) -> Option<&table::TableState> {
    if let Some(Observed::Table(t)) = o { Some(t) } else { None }
}

fn as_role(o: Option<&Observed>) -> Option<&role::RoleState> {
    if let Some(Observed::Role(t)) = o { Some(t) } else { None }
}

impl Observed {
    /// The outputs other resources may link to.
    pub fn outputs(&self) -> Outputs {
        match self {
            Observed::Table(o) => o.outputs(),
            Observed::Role(o) => o.outputs(),
            Observed::LogGroup(o) => o.outputs(),
            Observed::Function(o) => o.outputs(),
            Observed::HttpApi(o) => o.outputs(),
            Observed::Integration(o) => o.outputs(),
            Observed::Route(o) => o.outputs(),
            Observed::Stage(o, region) => o.outputs(region),
            Observed::Permission(o) => o.outputs(),
            Observed::Authorizer(o) => o.outputs(),
            Observed::UserPool(o) => o.outputs(),
            Observed::UserPoolClient(o) => o.outputs(),
            Observed::UserPoolDomain(o) => o.outputs(),
        }
    }

    /// Live tags, for taggable kinds.
    pub fn tags(&self) -> Option<&Tags> {
        match self {
            Observed::Table(o) => Some(&o.tags),
            Observed::Role(o) => Some(&o.tags),
            Observed::LogGroup(o) => Some(&o.tags),
            Observed::Function(o) => Some(&o.tags),
            Observed::HttpApi(o) => Some(&o.tags),
            Observed::Stage(o, _) => Some(&o.tags),
            Observed::UserPool(o) => Some(&o.tags),
            _ => None,
        }
    }

    /// Deletes the live resource (tolerating one already gone).
    pub async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        match self {
            Observed::Table(o) => table::delete(aws, o).await,
            Observed::Role(o) => role::delete(aws, o).await,
            Observed::LogGroup(o) => log_group::delete(aws, o).await,
            Observed::Function(o) => function::delete(aws, o).await,
            Observed::HttpApi(o) => http_api::delete(aws, o).await,
            Observed::Integration(o) => integration::delete(aws, o).await,
            Observed::Route(o) => route::delete(aws, o).await,
            Observed::Stage(o, _) => stage::delete(aws, o).await,
            Observed::Permission(o) => permission::delete(aws, o).await,
            Observed::Authorizer(o) => authorizer::delete(aws, o).await,
            Observed::UserPool(o) => user_pool::delete(aws, o).await,
            Observed::UserPoolClient(o) => user_pool_client::delete(aws, o).await,
            Observed::UserPoolDomain(o) => user_pool_domain::delete(aws, o).await,
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub(crate) fn tags() -> Tags {
        Tags::from([
            ("managed-by".to_owned(), "todos-iac".to_owned()),
            ("project".to_owned(), "todos".to_owned()),
            ("stack".to_owned(), "dev".to_owned()),
        ])
    }

    pub(crate) fn target() -> Target {
        Target { region: "us-east-1".into(), account: "123456789012".into(), partition: "aws".into() }
    }
}
