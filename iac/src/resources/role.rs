//! The function's IAM role: trusted by lambda.amazonaws.com, one inline policy allowing exactly
//! `dynamodb:PutItem`, `DeleteItem` and `Scan` on the table ([`TABLE_ACTIONS`]; with sign-in `Query`
//! instead of `Scan`: [`OWNER_TABLE_ACTIONS`]), and the managed AWSLambdaBasicExecutionRole.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{Tags, Target};
use aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyError;
use aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyError;

use crate::aws::{Aws, aws_error, gone};
use crate::engine::{Change, Diff, Input, Outputs, Ownership, Resource, State, diff_tags, tags_display};
use crate::error::IacError;

/// The actions the function needs on the table, and no more.
pub const TABLE_ACTIONS: [&str; 3] = ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan"];

/// The actions the function needs on a table keyed by owner (sign-in): it lists one owner's todos
/// with `Query` and never reads the whole table.
pub const OWNER_TABLE_ACTIONS: [&str; 3] = ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"];

/// The declared role.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    /// Role name, e.g. `todos-dev-api-role`.
    pub name: String,
    /// Name of the inline policy.
    pub policy_name: String,
    /// The table's ARN (an output of the table).
    pub table_arn: Input,
    /// The actions allowed on it ([`TABLE_ACTIONS`] or [`OWNER_TABLE_ACTIONS`]).
    pub table_actions: &'static [&'static str],
    /// Managed policies to attach.
    pub managed_policies: Vec<String>,
    /// Where it lives.
    pub target: Target,
    /// Our tags.
    pub tags: Tags,
}

/// The live role.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleState {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Trust policy (decoded JSON).
    pub trust_policy: Option<Value>,
    /// Inline policies by name (decoded JSON).
    pub inline_policies: Vec<(String, Value)>,
    /// ARNs of attached managed policies.
    pub attached: Vec<String>,
    /// Tags.
    pub tags: Tags,
}

impl Role {
    fn label(&self) -> String {
        format!("role {}", self.name)
    }

    /// The trust policy: only Lambda may assume the role.
    pub fn trust_policy() -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"
            }]
        })
    }

    /// The inline policy for `table_arn` of a stack without sign-in.
    pub fn table_policy(table_arn: &str) -> Value {
        Role::table_policy_with(table_arn, &TABLE_ACTIONS)
    }

    /// The inline policy allowing `actions` on `table_arn`.
    pub fn table_policy_with(table_arn: &str, actions: &[&str]) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": actions,
                "Resource": table_arn
            }]
        })
    }
}

impl State for RoleState {
    /// `name`, `arn`.
    fn outputs(&self) -> Outputs {
        Outputs::from([("name", self.name.clone()), ("arn", self.arn.clone())])
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    /// Detaches and deletes every policy, then deletes the role.
    async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        let label = format!("role {}", self.name);
        for arn in &self.attached {
            let r = aws.iam.detach_role_policy().role_name(&self.name).policy_arn(arn).send().await;
            gone(r, DetachRolePolicyError::is_no_such_entity_exception, &label, "DetachRolePolicy")?;
        }
        for (name, _) in &self.inline_policies {
            let r = aws.iam.delete_role_policy().role_name(&self.name).policy_name(name).send().await;
            gone(r, DeleteRolePolicyError::is_no_such_entity_exception, &label, "DeleteRolePolicy")?;
        }
        let result = aws.iam.delete_role().role_name(&self.name).send().await;
        gone(
            result,
            aws_sdk_iam::operation::delete_role::DeleteRoleError::is_no_such_entity_exception,
            &label,
            "DeleteRole",
        )
    }
}

/// Puts a policy document in a canonical form so that equal policies compare equal: a single
/// string where a list is allowed becomes a list, lists of actions and resources are sorted.
pub fn normalize_policy(doc: &Value) -> Value {
    fn norm(key: &str, v: &Value) -> Value {
        match v {
            // A lone statement may be written without the list around it.
            Value::Object(_) if key == "Statement" => Value::Array(vec![norm("", v)]),
            Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), norm(k, v))).collect()),
            Value::Array(a) if key == "Statement" => Value::Array(a.iter().map(|v| norm("", v)).collect()),
            Value::Array(a) => {
                let mut items: Vec<Value> = a.iter().map(|v| norm("", v)).collect();
                items.sort_by_key(|v| v.to_string());
                items.dedup();
                if items.len() == 1 { items.remove(0) } else { Value::Array(items) }
            }
            other => other.clone(),
        }
    }
    norm("", doc)
}

/// Decodes a policy document as IAM returns it (percent-encoded JSON; raw JSON is accepted too).
pub fn decode_policy(text: &str) -> Option<Value> {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8().ok()?;
    serde_json::from_str(&decoded).or_else(|_| serde_json::from_str(text)).ok()
}

fn compact(v: &Value) -> String {
    v.to_string()
}

impl Resource for Role {
    type State = RoleState;
    const KIND: &'static str = "role";

    fn name(&self) -> String {
        self.name.clone()
    }

    fn ownership(&self) -> Ownership {
        Ownership::Tagged
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    /// Outputs known before the role exists.
    fn planned_outputs(&self) -> Outputs {
        Outputs::from([
            ("name", self.name.clone()),
            ("arn", format!("arn:{}:iam::{}:role/{}", self.target.partition, self.target.account, self.name)),
        ])
    }

    fn inputs(&self) -> Vec<&Input> {
        vec![&self.table_arn]
    }

    fn inputs_mut(&mut self) -> Vec<&mut Input> {
        vec![&mut self.table_arn]
    }

    /// Pure diff of the role: trust policy, inline policies (exactly ours), attached policies, tags.
    fn diff(&self, observed: Option<&RoleState>) -> Change {
        let policy = self.table_arn.value().map(|arn| Role::table_policy_with(arn, self.table_actions));
        let policy_text = policy.as_ref().map(compact).unwrap_or_else(|| crate::engine::KNOWN_AFTER_APPLY.to_owned());
        let Some(live) = observed else {
            return Change::create(vec![
                ("name", self.name.clone()),
                ("trust", compact(&Role::trust_policy())),
                ("policy", format!("{}: {}", self.policy_name, policy_text)),
                ("managed_policies", self.managed_policies.join(",")),
                ("tags", tags_display(&self.tags)),
            ]);
        };
        let mut d = Diff::new();
        let trust = normalize_policy(&Role::trust_policy());
        if live.trust_policy.as_ref().map(normalize_policy) != Some(trust.clone()) {
            d.field("trust", live.trust_policy.as_ref().map(compact), compact(&trust));
        }
        let live_ours = live.inline_policies.iter().find(|(n, _)| *n == self.policy_name).map(|(_, v)| v);
        match &policy {
            Some(p) if live_ours.map(normalize_policy) == Some(normalize_policy(p)) => {}
            _ => {
                d.field(&format!("policy.{}", self.policy_name), live_ours.map(compact), policy_text);
            }
        }
        let extra: Vec<&str> =
            live.inline_policies.iter().map(|(n, _)| n.as_str()).filter(|n| *n != self.policy_name).collect();
        if !extra.is_empty() {
            d.field("extra_inline_policies", Some(extra.join(",")), "");
        }
        let live_attached: BTreeSet<&str> = live.attached.iter().map(String::as_str).collect();
        let want_attached: BTreeSet<&str> = self.managed_policies.iter().map(String::as_str).collect();
        if live_attached != want_attached {
            d.field(
                "managed_policies",
                Some(live_attached.into_iter().collect::<Vec<_>>().join(",")),
                want_attached.into_iter().collect::<Vec<_>>().join(","),
            );
        }
        diff_tags(&mut d, &live.tags, &self.tags);
        d.finish()
    }

    /// Reads the role, its inline and attached policies.
    async fn read(&self, aws: &Aws) -> Result<Option<RoleState>, IacError> {
        let label = self.label();
        let role = match aws.iam.get_role().role_name(&self.name).send().await {
            Ok(o) => o,
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_iam::operation::get_role::GetRoleError::is_no_such_entity_exception) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(aws_error(&label, "GetRole", e)),
        };
        let Some(role) = role.role() else { return Ok(None) };
        let mut tags: Tags = role.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        if tags.is_empty() {
            // GetRole does not return tags in every partition / emulator; ListRoleTags always does.
            let out = aws
                .iam
                .list_role_tags()
                .role_name(&self.name)
                .send()
                .await
                .map_err(|e| aws_error(&label, "ListRoleTags", e))?;
            tags = out.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        }
        let names = aws
            .iam
            .list_role_policies()
            .role_name(&self.name)
            .send()
            .await
            .map_err(|e| aws_error(&label, "ListRolePolicies", e))?;
        let mut inline_policies = Vec::new();
        for name in names.policy_names() {
            let p = aws
                .iam
                .get_role_policy()
                .role_name(&self.name)
                .policy_name(name)
                .send()
                .await
                .map_err(|e| aws_error(&label, "GetRolePolicy", e))?;
            inline_policies.push((name.clone(), decode_policy(p.policy_document()).unwrap_or(Value::Null)));
        }
        let attached = aws
            .iam
            .list_attached_role_policies()
            .role_name(&self.name)
            .send()
            .await
            .map_err(|e| aws_error(&label, "ListAttachedRolePolicies", e))?
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_owned))
            .collect();
        Ok(Some(RoleState {
            name: self.name.clone(),
            arn: role.arn().to_owned(),
            trust_policy: role.assume_role_policy_document().and_then(decode_policy),
            inline_policies,
            attached,
            tags,
        }))
    }

    /// Creates the role (with tags, atomically) or brings policies and tags in line.
    async fn apply(&self, aws: &Aws, observed: Option<&RoleState>, __change: &Change) -> Result<(), IacError> {
        let label = self.label();
        let table_arn = self.table_arn.require(&label)?;
        let iam_tags = self
            .tags
            .iter()
            .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| IacError::aws(&label, "CreateRole", e.to_string()).with_source(e))?;
        let fresh;
        let live = match observed {
            Some(l) => l,
            None => {
                aws.iam
                    .create_role()
                    .role_name(&self.name)
                    .assume_role_policy_document(Role::trust_policy().to_string())
                    .description("Execution role of the todos API function (managed by todos-iac)")
                    .set_tags(Some(iam_tags.clone()))
                    .send()
                    .await
                    .map_err(|e| aws_error(&label, "CreateRole", e))?;
                fresh = RoleState {
                    name: self.name.clone(),
                    arn: String::new(),
                    trust_policy: Some(Role::trust_policy()),
                    inline_policies: Vec::new(),
                    attached: Vec::new(),
                    tags: self.tags.clone(),
                };
                &fresh
            }
        };
        let change = self.diff(Some(live));
        if change.touches("trust") {
            aws.iam
                .update_assume_role_policy()
                .role_name(&self.name)
                .policy_document(Role::trust_policy().to_string())
                .send()
                .await
                .map_err(|e| aws_error(&label, "UpdateAssumeRolePolicy", e))?;
        }
        if change.touches(&format!("policy.{}", self.policy_name)) {
            aws.iam
                .put_role_policy()
                .role_name(&self.name)
                .policy_name(&self.policy_name)
                .policy_document(Role::table_policy_with(table_arn, self.table_actions).to_string())
                .send()
                .await
                .map_err(|e| aws_error(&label, "PutRolePolicy", e))?;
        }
        for (name, _) in live.inline_policies.iter().filter(|(n, _)| *n != self.policy_name) {
            aws.iam
                .delete_role_policy()
                .role_name(&self.name)
                .policy_name(name)
                .send()
                .await
                .map_err(|e| aws_error(&label, "DeleteRolePolicy", e))?;
        }
        for arn in self.managed_policies.iter().filter(|a| !live.attached.contains(a)) {
            aws.iam
                .attach_role_policy()
                .role_name(&self.name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| aws_error(&label, "AttachRolePolicy", e))?;
        }
        for arn in live.attached.iter().filter(|a| !self.managed_policies.contains(a)) {
            aws.iam
                .detach_role_policy()
                .role_name(&self.name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| aws_error(&label, "DetachRolePolicy", e))?;
        }
        if change.touches("tags") {
            aws.iam
                .tag_role()
                .role_name(&self.name)
                .set_tags(Some(iam_tags))
                .send()
                .await
                .map_err(|e| aws_error(&label, "TagRole", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;
    use crate::resources::test_support::{tags, target};

    const TABLE_ARN: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/todos-dev";
    const BASIC: &str = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

    fn desired() -> Role {
        Role {
            name: "todos-dev-api-role".into(),
            policy_name: "todos-dev-table-access".into(),
            table_arn: Input::known(TABLE_ARN),
            table_actions: &TABLE_ACTIONS,
            managed_policies: vec![BASIC.into()],
            target: target(),
            tags: tags(),
        }
    }

    fn live() -> RoleState {
        RoleState {
            name: "todos-dev-api-role".into(),
            arn: "arn:aws:iam::123456789012:role/todos-dev-api-role".into(),
            trust_policy: Some(Role::trust_policy()),
            inline_policies: vec![("todos-dev-table-access".into(), Role::table_policy(TABLE_ARN))],
            attached: vec![BASIC.into()],
            tags: tags(),
        }
    }

    #[test]
    fn matching_role_is_unchanged_even_when_iam_reorders_or_encodes_the_policy() {
        assert_eq!(desired().diff(Some(&live())), Change::unchanged());
        let reordered = json!({"Version": "2012-10-17", "Statement": [{"Resource": TABLE_ARN, "Effect": "Allow",
            "Action": ["dynamodb:Scan", "dynamodb:PutItem", "dynamodb:DeleteItem"]}]});
        let encoded: String =
            percent_encoding::utf8_percent_encode(&reordered.to_string(), percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let decoded = decode_policy(&encoded).unwrap();
        let l = RoleState { inline_policies: vec![("todos-dev-table-access".into(), decoded)], ..live() };
        assert_eq!(desired().diff(Some(&l)), Change::unchanged());
    }

    #[test]
    fn a_broader_inline_policy_is_narrowed_back_to_exactly_three_actions() {
        let broad = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]});
        let l = RoleState { inline_policies: vec![("todos-dev-table-access".into(), broad)], ..live() };
        let c = desired().diff(Some(&l));
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.properties[0].name, "policy.todos-dev-table-access");
        let new = c.properties[0].new.as_deref().unwrap();
        for a in TABLE_ACTIONS {
            assert!(new.contains(a));
        }
        assert!(new.contains(TABLE_ARN));
    }

    #[test]
    fn missing_managed_policy_extra_inline_policy_and_tags_are_updates() {
        let l = RoleState {
            attached: vec![],
            inline_policies: vec![
                ("todos-dev-table-access".into(), Role::table_policy(TABLE_ARN)),
                ("hand-made".into(), json!({})),
            ],
            tags: Tags::new(),
            ..live()
        };
        let c = desired().diff(Some(&l));
        let names: Vec<&str> = c.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["extra_inline_policies", "managed_policies", "tags"]);
    }

    #[test]
    fn new_role_shows_the_policy_on_the_table_arn() {
        let c = desired().diff(None);
        assert_eq!(c.action, Action::Create);
        assert!(c.properties.iter().any(|p| p.new.as_deref().is_some_and(|v| v.contains(TABLE_ARN))));
        assert!(c.properties.iter().any(|p| p.new.as_deref().is_some_and(|v| v.contains("lambda.amazonaws.com"))));
    }

    #[test]
    fn with_sign_in_the_policy_swaps_scan_for_query_and_is_an_update() {
        let owned = Role { table_actions: &OWNER_TABLE_ACTIONS, ..desired() };
        let c = owned.diff(Some(&live()));
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.properties.len(), 1);
        let new = c.properties[0].new.as_deref().unwrap();
        assert!(new.contains("dynamodb:Query") && !new.contains("dynamodb:Scan"), "{new}");
        let live_owned = RoleState {
            inline_policies: vec![(
                "todos-dev-table-access".into(),
                Role::table_policy_with(TABLE_ARN, &OWNER_TABLE_ACTIONS),
            )],
            ..live()
        };
        assert_eq!(owned.diff(Some(&live_owned)), Change::unchanged());
    }
}
