//! The hosted sign-in domain of a `cognito` stack: `https://<prefix>.auth.<region>.amazoncognito.com`.
//! The prefix is unique across a region's accounts, so it is found by name; it is ours only when it
//! belongs to our pool. One that belongs to another pool is never adopted, changed or deleted.

use crate::aws::{Aws, aws_error, gone};
use crate::engine::{Change, Diff, Input, Outputs, Resource, State};
use crate::error::IacError;

/// The declared domain.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPoolDomain {
    /// The pool (an output of the user pool).
    pub user_pool_id: Input,
    /// The prefix, e.g. `todos-dev-123456789012`.
    pub domain: String,
    /// Region (part of the URL).
    pub region: String,
}

/// The live domain.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPoolDomainState {
    /// The prefix.
    pub domain: String,
    /// The pool it belongs to.
    pub user_pool_id: String,
    /// Region.
    pub region: String,
}

/// The hosted UI's base URL for a prefix.
pub fn hosted_ui_url(domain: &str, region: &str) -> String {
    format!("https://{domain}.auth.{region}.amazoncognito.com")
}

impl UserPoolDomain {
    fn label(&self) -> String {
        format!("user pool domain {}", self.domain)
    }
}

impl State for UserPoolDomainState {
    /// `domain`, `url`.
    fn outputs(&self) -> Outputs {
        Outputs::from([("domain", self.domain.clone()), ("url", hosted_ui_url(&self.domain, &self.region))])
    }

    /// Deletes the domain.
    async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        let result =
            aws.cognito.delete_user_pool_domain().domain(&self.domain).user_pool_id(&self.user_pool_id).send().await;
        gone(result, aws_sdk_cognitoidentityprovider::operation::delete_user_pool_domain::DeleteUserPoolDomainError::is_resource_not_found_exception, &format!("user pool domain {}", self.domain), "DeleteUserPoolDomain")
    }
}

impl Resource for UserPoolDomain {
    type State = UserPoolDomainState;
    const KIND: &'static str = "user pool domain";

    fn name(&self) -> String {
        self.domain.clone()
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

    /// Whether a live domain with our prefix belongs to some other pool than ours (when ours is known,
    /// or not yet created).
    fn held_by_another(&self, live: &UserPoolDomainState) -> bool {
        self.user_pool_id.value() != Some(live.user_pool_id.as_str())
    }

    fn foreign_error(&self, live: &UserPoolDomainState) -> Option<IacError> {
        Some(IacError::Refused {
            resource: format!("{} {}", Self::KIND, self.domain),
            message: format!(
                "the hosted sign-in domain belongs to user pool {}, which is not this stack's; set another `domain_prefix` under [auth]",
                live.user_pool_id
            ),
        })
    }

    /// Pure diff: a domain is created or left as it is (one of another pool is foreign: see
    /// [`Resource::held_by_another`]; the planner refuses to take it over).
    fn diff(&self, observed: Option<&UserPoolDomainState>) -> Change {
        let Some(live) = observed else {
            return Change::create(vec![
                ("domain", self.domain.clone()),
                ("user_pool", self.user_pool_id.display()),
                ("url", hosted_ui_url(&self.domain, &self.region)),
            ]);
        };
        let mut d = Diff::new();
        d.replace_input("user_pool", Some(live.user_pool_id.clone()), &self.user_pool_id);
        d.finish()
    }

    /// Reads the domain with our prefix, whichever pool it belongs to.
    async fn read(&self, aws: &Aws) -> Result<Option<UserPoolDomainState>, IacError> {
        let out = aws
            .cognito
            .describe_user_pool_domain()
            .domain(&self.domain)
            .send()
            .await
            .map_err(|e| aws_error(&self.label(), "DescribeUserPoolDomain", e))?;
        // An unknown domain is an empty description, not an error.
        Ok(out.domain_description().and_then(|d| d.user_pool_id()).filter(|p| !p.is_empty()).map(|pool| {
            UserPoolDomainState {
                domain: self.domain.clone(),
                user_pool_id: pool.to_owned(),
                region: self.region.clone(),
            }
        }))
    }

    /// Creates the domain. Nothing about it changes in place; a domain of another pool is refused.
    async fn apply(
        &self,
        aws: &Aws,
        observed: Option<&UserPoolDomainState>,
        __change: &Change,
    ) -> Result<(), IacError> {
        let label = self.label();
        let pool = self.user_pool_id.require(&label)?;
        if let Some(live) = observed {
            return Err(IacError::Refused {
                resource: label,
                message: format!(
                    "the domain belongs to user pool {}, not this stack's pool {pool}; set another `domain_prefix` under [auth]",
                    live.user_pool_id
                ),
            });
        }
        aws.cognito
            .create_user_pool_domain()
            .domain(&self.domain)
            .user_pool_id(pool)
            .send()
            .await
            .map_err(|e| aws_error(&label, "CreateUserPoolDomain", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;

    fn desired() -> UserPoolDomain {
        UserPoolDomain {
            user_pool_id: Input::known("us-east-1_abc"),
            domain: "todos-dev-123456789012".into(),
            region: "us-east-1".into(),
        }
    }

    fn live() -> UserPoolDomainState {
        UserPoolDomainState {
            domain: "todos-dev-123456789012".into(),
            user_pool_id: "us-east-1_abc".into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn new_domain_shows_the_hosted_ui_url() {
        let c = desired().diff(None);
        assert_eq!(c.action, Action::Create);
        assert!(c.properties.iter().any(|p| p.name == "url"
            && p.new.as_deref() == Some("https://todos-dev-123456789012.auth.us-east-1.amazoncognito.com")));
        assert_eq!(live().outputs()["url"], "https://todos-dev-123456789012.auth.us-east-1.amazoncognito.com");
    }

    #[test]
    fn our_domain_is_unchanged_and_one_of_another_pool_is_held_by_another() {
        assert_eq!(desired().diff(Some(&live())), Change::unchanged());
        assert!(!desired().held_by_another(&live()));
        let theirs = UserPoolDomainState { user_pool_id: "us-east-1_other".into(), ..live() };
        assert!(desired().held_by_another(&theirs));
        assert_eq!(desired().diff(Some(&theirs)).action, Action::Replace);
        let pending = UserPoolDomain { user_pool_id: Input::output("user-pool", "id"), ..desired() };
        assert!(pending.held_by_another(&live()), "a pool not created yet owns no live domain");
    }
}
