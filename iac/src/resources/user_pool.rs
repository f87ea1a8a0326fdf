//! The Cognito user pool of a `cognito` stack: people sign in with their email address, may sign
//! themselves up, have their email verified automatically, choose a password under a sensible policy
//! and recover their account by verified email. The pool is on Cognito's Lite tier (the cheapest; its
//! classic hosted sign-in page and the code flow are all the app needs). Pool names are not unique, so the pool is found by
//! name *and* our tags (given at creation, in the same call, so a crash never leaves an untagged one);
//! look-alikes without our tags are never adopted nor deleted.

use aws_sdk_cognitoidentityprovider::types::{
    AccountRecoverySettingType, AdminCreateUserConfigType, PasswordPolicyType, RecoveryOptionNameType,
    RecoveryOptionType, UserPoolPolicyType, UserPoolTierType, UserPoolType, UsernameAttributeType,
    VerifiedAttributeType,
};

use super::Tags;
use crate::aws::{Aws, aws_error, gone};
use crate::engine::{Change, Diff, Outputs, Resource, State, carries_tags, diff_tags, tags_display};
use crate::error::IacError;

/// The password policy: length over composition (12 characters, upper, lower and digits; no symbol
/// rule), temporary passwords valid for 7 days.
pub const PASSWORD_POLICY: PasswordPolicy = PasswordPolicy {
    minimum_length: 12,
    require_uppercase: true,
    require_lowercase: true,
    require_numbers: true,
    require_symbols: false,
    temporary_password_validity_days: 7,
};

/// A password policy, as declared and as read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length.
    pub minimum_length: i32,
    /// An upper-case letter is required.
    pub require_uppercase: bool,
    /// A lower-case letter is required.
    pub require_lowercase: bool,
    /// A digit is required.
    pub require_numbers: bool,
    /// A symbol is required.
    pub require_symbols: bool,
    /// Days an administrator-set temporary password stays valid.
    pub temporary_password_validity_days: i32,
}

impl std::fmt::Display for PasswordPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "min {} chars, upper {}, lower {}, digits {}, symbols {}, temporary {} days",
            self.minimum_length,
            self.require_uppercase,
            self.require_lowercase,
            self.require_numbers,
            self.require_symbols,
            self.temporary_password_validity_days
        )
    }
}

/// The declared user pool.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPool {
    /// Pool name, e.g. `todos-dev-users`.
    pub name: String,
    /// Region (the issuer URL names it).
    pub region: String,
    /// Our tags.
    pub tags: Tags,
}

/// The live user pool.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPoolState {
    /// Pool id, e.g. `us-east-1_AbC123`.
    pub id: String,
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Region.
    pub region: String,
    /// What people sign in with (`email`), comma-separated; fixed at creation.
    pub username_attributes: String,
    /// Attributes verified automatically (`email`).
    pub auto_verified_attributes: String,
    /// Password policy.
    pub password_policy: Option<PasswordPolicy>,
    /// Whether people may sign themselves up.
    pub self_sign_up: bool,
    /// Account recovery mechanisms, `name:priority`, comma-separated.
    pub account_recovery: String,
    /// Estimated number of users (what a replace would delete).
    pub estimated_users: i32,
    /// The hosted sign-in domain prefix on the pool, if any (AWS refuses to delete a pool that has one).
    pub domain: Option<String>,
    /// Tags.
    pub tags: Tags,
}

/// The tokens' `iss` for a pool: `https://cognito-idp.<region>.amazonaws.com/<pool id>`.
pub fn issuer(region: &str, pool_id: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}")
}

impl UserPool {
    fn label(&self) -> String {
        format!("user pool {}", self.name)
    }
}

impl State for UserPoolState {
    /// `id`, `arn`, `issuer`.
    fn outputs(&self) -> Outputs {
        Outputs::from([("id", self.id.clone()), ("arn", self.arn.clone()), ("issuer", issuer(&self.region, &self.id))])
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    async fn held_data(&self, _aws: &Aws) -> Result<Option<String>, IacError> {
        Ok((self.estimated_users > 0).then(|| format!("about {} user(s)", self.estimated_users)))
    }

    /// Deletes the pool. AWS refuses while a domain is on it: `destroy` deletes ours first (the graph
    /// orders that), and a domain still on the pool here (a replace, or a prefix changed since) goes first.
    async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        let label = format!("user pool {} ({})", self.name, self.id);
        if let Some(domain) = &self.domain {
            // Read first: the domain may have gone since the plan read the pool.
            let out = aws
                .cognito
                .describe_user_pool_domain()
                .domain(domain)
                .send()
                .await
                .map_err(|e| aws_error(&label, "DescribeUserPoolDomain", e))?;
            if out.domain_description().and_then(|d| d.user_pool_id()) == Some(self.id.as_str()) {
                let on_pool = super::user_pool_domain::UserPoolDomainState {
                    domain: domain.clone(),
                    user_pool_id: self.id.clone(),
                    region: self.region.clone(),
                };
                on_pool.delete(aws).await?;
            }
        }
        let result = aws.cognito.delete_user_pool().user_pool_id(&self.id).send().await;
        gone(result, aws_sdk_cognitoidentityprovider::operation::delete_user_pool::DeleteUserPoolError::is_resource_not_found_exception, &label, "DeleteUserPool")
    }
}

const USERNAME_ATTRIBUTES: &str = "email";
const AUTO_VERIFIED: &str = "email";
const ACCOUNT_RECOVERY: &str = "verified_email:1";

fn state(pool: &UserPoolType, region: &str) -> UserPoolState {
    let mut username: Vec<&str> = pool.username_attributes().iter().map(|a| a.as_str()).collect();
    username.sort_unstable();
    let mut verified: Vec<&str> = pool.auto_verified_attributes().iter().map(|a| a.as_str()).collect();
    verified.sort_unstable();
    let mut recovery: Vec<String> = pool
        .account_recovery_setting()
        .map(|r| r.recovery_mechanisms().iter().map(|m| format!("{}:{}", m.name().as_str(), m.priority())).collect())
        .unwrap_or_default();
    recovery.sort();
    UserPoolState {
        id: pool.id().unwrap_or_default().to_owned(),
        name: pool.name().unwrap_or_default().to_owned(),
        arn: pool.arn().unwrap_or_default().to_owned(),
        region: region.to_owned(),
        username_attributes: username.join(","),
        auto_verified_attributes: verified.join(","),
        password_policy: pool.policies().and_then(|p| p.password_policy()).map(|p| PasswordPolicy {
            minimum_length: p.minimum_length().unwrap_or(8),
            require_uppercase: p.require_uppercase(),
            require_lowercase: p.require_lowercase(),
            require_numbers: p.require_numbers(),
            require_symbols: p.require_symbols(),
            temporary_password_validity_days: p.temporary_password_validity_days(),
        }),
        self_sign_up: !pool.admin_create_user_config().is_some_and(|c| c.allow_admin_create_user_only()),
        account_recovery: recovery.join(","),
        estimated_users: pool.estimated_number_of_users(),
        domain: pool.domain().filter(|d| !d.is_empty()).map(str::to_owned),
        tags: pool
            .user_pool_tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }
}

fn policies() -> UserPoolPolicyType {
    let p = PASSWORD_POLICY;
    UserPoolPolicyType::builder()
        .password_policy(
            PasswordPolicyType::builder()
                .minimum_length(p.minimum_length)
                .require_uppercase(p.require_uppercase)
                .require_lowercase(p.require_lowercase)
                .require_numbers(p.require_numbers)
                .require_symbols(p.require_symbols)
                .temporary_password_validity_days(p.temporary_password_validity_days)
                .build(),
        )
        .build()
}

fn recovery(label: &str) -> Result<AccountRecoverySettingType, IacError> {
    let option = RecoveryOptionType::builder()
        .name(RecoveryOptionNameType::VerifiedEmail)
        .priority(1)
        .build()
        .map_err(|e| IacError::aws(label, "CreateUserPool", e.to_string()).with_source(e))?;
    Ok(AccountRecoverySettingType::builder().recovery_mechanisms(option).build())
}

fn tags_map(tags: &Tags) -> std::collections::HashMap<String, String> {
    tags.clone().into_iter().collect()
}

impl Resource for UserPool {
    type State = UserPoolState;
    const KIND: &'static str = "user pool";

    fn name(&self) -> String {
        self.name.clone()
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    /// Pure diff: sign-in attributes are fixed at creation (a difference means a new pool, which loses
    /// every user); the rest changes in place.
    fn diff(&self, observed: Option<&UserPoolState>) -> Change {
        let Some(live) = observed else {
            return Change::create(vec![
                ("name", self.name.clone()),
                ("username_attributes", USERNAME_ATTRIBUTES.into()),
                ("auto_verified_attributes", AUTO_VERIFIED.into()),
                ("password_policy", PASSWORD_POLICY.to_string()),
                ("self_sign_up", "true".into()),
                ("account_recovery", ACCOUNT_RECOVERY.into()),
                ("tags", tags_display(&self.tags)),
            ]);
        };
        let mut d = Diff::new();
        d.replace_field("username_attributes", Some(live.username_attributes.clone()), USERNAME_ATTRIBUTES)
            .field("auto_verified_attributes", Some(live.auto_verified_attributes.clone()), AUTO_VERIFIED)
            .field("password_policy", live.password_policy.map(|p| p.to_string()), PASSWORD_POLICY.to_string())
            .field("self_sign_up", Some(live.self_sign_up.to_string()), "true")
            .field("account_recovery", Some(live.account_recovery.clone()), ACCOUNT_RECOVERY);
        diff_tags(&mut d, &live.tags, &self.tags);
        d.finish()
    }

    /// Finds our pool: our name and our tags. When several exist (two `up`s at once), the oldest is
    /// ours; the others are reported in the log and left alone.
    async fn read(&self, aws: &Aws) -> Result<Option<UserPoolState>, IacError> {
        let label = self.label();
        let mut candidates = Vec::new();
        let mut token: Option<String> = None;
        for _page in 0..1000 {
            let out = aws
                .cognito
                .list_user_pools()
                .max_results(60)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| aws_error(&label, "ListUserPools", e))?;
            candidates.extend(
                out.user_pools()
                    .iter()
                    .filter(|p| p.name() == Some(self.name.as_str()))
                    .filter_map(|p| p.id().map(str::to_owned)),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        let mut ours = Vec::new();
        for id in candidates {
            let out = match aws.cognito.describe_user_pool().user_pool_id(&id).send().await {
                Ok(o) => o,
                Err(e) if e.as_service_error().is_some_and(aws_sdk_cognitoidentityprovider::operation::describe_user_pool::DescribeUserPoolError::is_resource_not_found_exception) => continue,
                Err(e) => return Err(aws_error(&label, "DescribeUserPool", e)),
            };
            let Some(pool) = out.user_pool() else { continue };
            let s = state(pool, &self.region);
            if carries_tags(&s.tags, &self.tags) {
                let created = pool.creation_date().map(|d| (d.secs(), d.subsec_nanos())).unwrap_or((i64::MAX, 0));
                ours.push((created, s));
            }
        }
        ours.sort_by(|(a, x), (b, y)| a.cmp(b).then_with(|| x.id.cmp(&y.id)));
        if ours.len() > 1 {
            let extra: Vec<&str> = ours[1..].iter().map(|(_, s)| s.id.as_str()).collect();
            tracing::warn!(
                "{label}: more than one pool carries our name and tags; using {}, not {extra:?}",
                ours[0].1.id
            );
        }
        Ok(ours.into_iter().next().map(|(_, s)| s))
    }

    /// Creates the pool (tags in the same call) or brings its settings in line. A replace (different
    /// sign-in attributes) deletes the live pool first: the engine has checked for users before.
    async fn apply(&self, aws: &Aws, observed: Option<&UserPoolState>, change: &Change) -> Result<(), IacError> {
        let label = self.label();
        let observed = match observed {
            Some(live) if change.touches("username_attributes") => {
                live.delete(aws).await?;
                None
            }
            other => other,
        };
        match observed {
            None => {
                aws.cognito
                    .create_user_pool()
                    .pool_name(&self.name)
                    .user_pool_tier(UserPoolTierType::Lite)
                    .username_attributes(UsernameAttributeType::Email)
                    .auto_verified_attributes(VerifiedAttributeType::Email)
                    .policies(policies())
                    .admin_create_user_config(
                        AdminCreateUserConfigType::builder().allow_admin_create_user_only(false).build(),
                    )
                    .account_recovery_setting(recovery(&label)?)
                    .set_user_pool_tags(Some(tags_map(&self.tags)))
                    .send()
                    .await
                    .map_err(|e| aws_error(&label, "CreateUserPool", e))?;
            }
            Some(live) => {
                // UpdateUserPool resets every setting it is not given: give them all.
                aws.cognito
                    .update_user_pool()
                    .user_pool_id(&live.id)
                    .user_pool_tier(UserPoolTierType::Lite)
                    .auto_verified_attributes(VerifiedAttributeType::Email)
                    .policies(policies())
                    .admin_create_user_config(
                        AdminCreateUserConfigType::builder().allow_admin_create_user_only(false).build(),
                    )
                    .account_recovery_setting(recovery(&label)?)
                    .set_user_pool_tags(Some(tags_map(&self.tags)))
                    .send()
                    .await
                    .map_err(|e| aws_error(&label, "UpdateUserPool", e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;
    use crate::resources::test_support::tags;

    fn desired() -> UserPool {
        UserPool { name: "todos-dev-users".into(), region: "us-east-1".into(), tags: tags() }
    }

    fn live() -> UserPoolState {
        UserPoolState {
            id: "us-east-1_abc".into(),
            name: "todos-dev-users".into(),
            arn: "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc".into(),
            region: "us-east-1".into(),
            username_attributes: "email".into(),
            auto_verified_attributes: "email".into(),
            password_policy: Some(PASSWORD_POLICY),
            self_sign_up: true,
            account_recovery: "verified_email:1".into(),
            estimated_users: 0,
            domain: Some("todos-dev-123456789012".into()),
            tags: tags(),
        }
    }

    #[test]
    fn new_pool_signs_in_by_email_and_its_issuer_names_region_and_id() {
        let c = desired().diff(None);
        assert_eq!(c.action, Action::Create);
        assert!(c.properties.iter().any(|p| p.name == "username_attributes" && p.new.as_deref() == Some("email")));
        assert_eq!(live().outputs()["issuer"], "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc");
    }

    #[test]
    fn matching_pool_is_unchanged_and_settings_are_updates() {
        assert_eq!(desired().diff(Some(&live())), Change::unchanged());
        let weak = PasswordPolicy { minimum_length: 6, ..PASSWORD_POLICY };
        let cases = [
            (UserPoolState { password_policy: Some(weak), ..live() }, "password_policy"),
            (UserPoolState { self_sign_up: false, ..live() }, "self_sign_up"),
            (UserPoolState { auto_verified_attributes: String::new(), ..live() }, "auto_verified_attributes"),
            (UserPoolState { account_recovery: "verified_phone_number:1".into(), ..live() }, "account_recovery"),
            (UserPoolState { tags: Tags::new(), ..live() }, "tags"),
        ];
        for (l, name) in cases {
            let c = desired().diff(Some(&l));
            assert_eq!(c.action, Action::Update, "{name}");
            assert_eq!(c.properties.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), [name]);
        }
    }

    #[test]
    fn a_pool_signing_in_by_user_name_must_be_replaced() {
        let by_name = UserPoolState { username_attributes: String::new(), ..live() };
        let c = desired().diff(Some(&by_name));
        assert_eq!(c.action, Action::Replace);
        assert_eq!(c.properties[0].name, "username_attributes");
    }
}
