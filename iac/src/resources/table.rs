//! The DynamoDB table that stores todos: hash key `Id` (string) — or, with sign-in, hash key `UserId`
//! and range key `Id` — on-demand billing, our tags. A different key schema means a new table: the
//! replace deletes every item, so the engine checks first ([`item_count`]) and `up` refuses unless
//! the user allowed data loss.

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, Tag};

use super::{Tags, Target};
use crate::aws::{Aws, aws_error, gone};
use crate::engine::{Change, Diff, Outputs, Ownership, Resource, State, diff_tags, tags_display};
use crate::error::IacError;

/// The declared table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Table name, e.g. `todos-dev`.
    pub name: String,
    /// Hash key attribute (`Id`, or `UserId` with sign-in; type S).
    pub hash_key: String,
    /// Range key attribute (`Id` with sign-in; type S), if any.
    pub range_key: Option<String>,
    /// Where it lives (for its ARN).
    pub target: Target,
    /// Our tags.
    pub tags: Tags,
}

/// The live table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableState {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Key schema as text: `Id (S)` for a hash key alone, `UserId (S) hash, Id (S) range` with a
    /// range key.
    pub key: String,
    /// `PAY_PER_REQUEST` or `PROVISIONED`.
    pub billing_mode: String,
    /// Tags.
    pub tags: Tags,
}

impl Table {
    fn key(&self) -> String {
        key_text(&format!("{} (S)", self.hash_key), self.range_key.as_ref().map(|r| format!("{r} (S)")).as_deref())
    }

    fn label(&self) -> String {
        format!("table {}", self.name)
    }
}

impl State for TableState {
    /// `name`, `arn`.
    fn outputs(&self) -> Outputs {
        Outputs::from([("name", self.name.clone()), ("arn", self.arn.clone())])
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    async fn held_data(&self, aws: &Aws) -> Result<Option<String>, IacError> {
        let count = item_count(aws, self).await?;
        Ok((count.counted > 0).then(|| count.to_string()))
    }

    /// Deletes the table.
    async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        let result = aws.dynamodb.delete_table().table_name(&self.name).send().await;
        gone(
            result,
            aws_sdk_dynamodb::operation::delete_table::DeleteTableError::is_resource_not_found_exception,
            &format!("table {}", self.name),
            "DeleteTable",
        )
    }
}

fn key_text(hash: &str, range: Option<&str>) -> String {
    match range {
        None => hash.to_owned(),
        Some(r) => format!("{hash} hash, {r} range"),
    }
}

async fn wait_active(aws: &Aws, desired: &Table) -> Result<(), IacError> {
    let label = desired.label();
    for _ in 0..120 {
        let out = aws
            .dynamodb
            .describe_table()
            .table_name(&desired.name)
            .send()
            .await
            .map_err(|e| aws_error(&label, "DescribeTable", e))?;
        let status = out.table().and_then(|t| t.table_status()).map(|s| s.as_str().to_owned());
        if status.as_deref() == Some("ACTIVE") {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    Err(IacError::GaveUp { resource: label, what: "the table to become ACTIVE".into(), attempts: 120 })
}

async fn wait_gone(aws: &Aws, desired: &Table) -> Result<(), IacError> {
    let label = desired.label();
    for _ in 0..120 {
        match aws.dynamodb.describe_table().table_name(&desired.name).send().await {
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_dynamodb::operation::describe_table::DescribeTableError::is_resource_not_found_exception,
                ) =>
            {
                return Ok(());
            }
            Err(e) => return Err(aws_error(&label, "DescribeTable", e)),
            Ok(_) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
        }
    }
    Err(IacError::GaveUp { resource: label, what: "the old table to be deleted".into(), attempts: 120 })
}

/// How many items the live table holds, from one `Scan` page with `Select COUNT` (DescribeTable's
/// `ItemCount` is refreshed only every six hours). `more` is true when the page did not reach the end.
pub async fn item_count(aws: &Aws, live: &TableState) -> Result<ItemCount, IacError> {
    let out = aws
        .dynamodb
        .scan()
        .table_name(&live.name)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .map_err(|e| aws_error(&format!("table {}", live.name), "Scan", e))?;
    Ok(ItemCount { counted: out.count().max(0) as u64, more: out.last_evaluated_key().is_some_and(|k| !k.is_empty()) })
}

/// The result of [`item_count`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemCount {
    /// Items counted.
    pub counted: u64,
    /// Whether there are more than that (the count stopped at one page).
    pub more: bool,
}

impl std::fmt::Display for ItemCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = if self.counted == 1 && !self.more { "item" } else { "items" };
        if self.more { write!(f, "at least {} {plural}", self.counted) } else { write!(f, "{} {plural}", self.counted) }
    }
}

impl Resource for Table {
    type State = TableState;
    const KIND: &'static str = "table";

    fn name(&self) -> String {
        self.name.clone()
    }

    fn ownership(&self) -> Ownership {
        Ownership::Tagged
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    /// Outputs known before the table exists (its name and ARN are deterministic).
    fn planned_outputs(&self) -> Outputs {
        let t = &self.target;
        Outputs::from([
            ("name", self.name.clone()),
            ("arn", format!("arn:{}:dynamodb:{}:{}:table/{}", t.partition, t.region, t.account, self.name)),
        ])
    }

    /// Pure diff: a different key schema needs a new table; billing mode and tags change in place.
    fn diff(&self, observed: Option<&TableState>) -> Change {
        let Some(live) = observed else {
            return Change::create(vec![
                ("name", self.name.clone()),
                ("key", self.key()),
                ("billing_mode", "PAY_PER_REQUEST".into()),
                ("tags", tags_display(&self.tags)),
            ]);
        };
        let mut d = Diff::new();
        d.replace_field("key", Some(live.key.clone()), self.key());
        d.field("billing_mode", Some(live.billing_mode.clone()), "PAY_PER_REQUEST");
        diff_tags(&mut d, &live.tags, &self.tags);
        d.finish()
    }

    /// Reads the table, if it exists.
    async fn read(&self, aws: &Aws) -> Result<Option<TableState>, IacError> {
        let label = self.label();
        let out = match aws.dynamodb.describe_table().table_name(&self.name).send().await {
            Ok(o) => o,
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_dynamodb::operation::describe_table::DescribeTableError::is_resource_not_found_exception,
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(aws_error(&label, "DescribeTable", e)),
        };
        let Some(t) = out.table() else { return Ok(None) };
        let arn = t.table_arn().unwrap_or_default().to_owned();
        let key_of = |kind: KeyType| {
            t.key_schema().iter().find(|k| *k.key_type() == kind).map(|k| {
                let ty = t
                    .attribute_definitions()
                    .iter()
                    .find(|a| a.attribute_name() == k.attribute_name())
                    .map(|a| a.attribute_type().as_str().to_owned())
                    .unwrap_or_default();
                format!("{} ({ty})", k.attribute_name())
            })
        };
        let key = key_text(&key_of(KeyType::Hash).unwrap_or_default(), key_of(KeyType::Range).as_deref());
        let billing_mode = t
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|b| b.as_str().to_owned())
            .unwrap_or_else(|| "PROVISIONED".to_owned());
        let tags = aws
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(&arn)
            .send()
            .await
            .map_err(|e| aws_error(&label, "ListTagsOfResource", e))?
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        Ok(Some(TableState { name: self.name.clone(), arn, key, billing_mode, tags }))
    }

    /// Creates, updates or replaces the table. A replace deletes the live table (and every item in it:
    /// the engine has checked with [`item_count`] and the user's `--allow-data-loss` before any change),
    /// waits until it is gone, and creates the new one.
    async fn apply(&self, aws: &Aws, observed: Option<&TableState>, change: &Change) -> Result<(), IacError> {
        let label = self.label();
        let observed = match observed {
            Some(live) if change.touches("key") => {
                tracing::warn!(table = %self.name, "replacing the table: {} -> {}", live.key, self.key());
                live.delete(aws).await?;
                wait_gone(aws, self).await?;
                None
            }
            other => other,
        };
        let Some(live) = observed else {
            let built = |e: aws_sdk_dynamodb::error::BuildError| {
                IacError::aws(&label, "CreateTable", e.to_string()).with_source(e)
            };
            let mut req = aws.dynamodb.create_table().table_name(&self.name).billing_mode(BillingMode::PayPerRequest);
            let keys = std::iter::once((&self.hash_key, KeyType::Hash))
                .chain(self.range_key.as_ref().map(|r| (r, KeyType::Range)));
            for (attribute, kind) in keys {
                req = req
                    .attribute_definitions(
                        AttributeDefinition::builder()
                            .attribute_name(attribute)
                            .attribute_type(ScalarAttributeType::S)
                            .build()
                            .map_err(built)?,
                    )
                    .key_schema(
                        KeySchemaElement::builder().attribute_name(attribute).key_type(kind).build().map_err(built)?,
                    );
            }
            for (k, v) in &self.tags {
                req = req.tags(Tag::builder().key(k).value(v).build().map_err(built)?);
            }
            req.send().await.map_err(|e| aws_error(&label, "CreateTable", e))?;
            return wait_active(aws, self).await;
        };
        if change.touches("billing_mode") {
            aws.dynamodb
                .update_table()
                .table_name(&self.name)
                .billing_mode(BillingMode::PayPerRequest)
                .send()
                .await
                .map_err(|e| aws_error(&label, "UpdateTable", e))?;
            wait_active(aws, self).await?;
        }
        if change.touches("tags") {
            let mut req = aws.dynamodb.tag_resource().resource_arn(&live.arn);
            for (k, v) in &self.tags {
                req = req.tags(
                    Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .map_err(|e| IacError::aws(&label, "TagResource", e.to_string()).with_source(e))?,
                );
            }
            req.send().await.map_err(|e| aws_error(&label, "TagResource", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;
    use crate::resources::test_support::{tags, target};

    fn desired() -> Table {
        Table { name: "todos-dev".into(), hash_key: "Id".into(), range_key: None, target: target(), tags: tags() }
    }

    fn owned() -> Table {
        Table { hash_key: "UserId".into(), range_key: Some("Id".into()), ..desired() }
    }

    fn live() -> TableState {
        TableState {
            name: "todos-dev".into(),
            arn: "arn:aws:dynamodb:us-east-1:123456789012:table/todos-dev".into(),
            key: "Id (S)".into(),
            billing_mode: "PAY_PER_REQUEST".into(),
            tags: tags(),
        }
    }

    #[test]
    fn missing_table_is_created_with_key_id_and_on_demand_billing() {
        let c = desired().diff(None);
        assert_eq!(c.action, Action::Create);
        assert!(c.properties.iter().any(|p| p.name == "key" && p.new.as_deref() == Some("Id (S)")));
        assert_eq!(desired().planned_outputs()["arn"], live().arn);
    }

    #[test]
    fn matching_table_is_unchanged_and_provisioned_billing_is_an_update() {
        assert_eq!(desired().diff(Some(&live())), Change::unchanged());
        let provisioned = TableState { billing_mode: "PROVISIONED".into(), ..live() };
        let c = desired().diff(Some(&provisioned));
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.properties[0].old.as_deref(), Some("PROVISIONED"));
    }

    #[test]
    fn a_different_key_schema_means_replace() {
        let numeric = TableState { key: "Id (N)".into(), ..live() };
        assert_eq!(desired().diff(Some(&numeric)).action, Action::Replace);
    }

    #[test]
    fn switching_to_a_table_keyed_by_owner_is_a_replace_showing_both_keys() {
        let c = owned().diff(Some(&live()));
        assert_eq!(c.action, Action::Replace);
        assert_eq!(c.properties.len(), 1);
        assert_eq!(c.properties[0].name, "key");
        assert_eq!(c.properties[0].old.as_deref(), Some("Id (S)"));
        assert_eq!(c.properties[0].new.as_deref(), Some("UserId (S) hash, Id (S) range"));
        let keyed = TableState { key: "UserId (S) hash, Id (S) range".into(), ..live() };
        assert_eq!(owned().diff(Some(&keyed)), Change::unchanged());
        assert_eq!(desired().diff(Some(&keyed)).action, Action::Replace);
        let created = owned().diff(None);
        assert!(created.properties.iter().any(|p| p.new.as_deref() == Some("UserId (S) hash, Id (S) range")));
    }

    #[test]
    fn item_counts_read_as_text() {
        assert_eq!(ItemCount { counted: 1, more: false }.to_string(), "1 item");
        assert_eq!(ItemCount { counted: 3, more: false }.to_string(), "3 items");
        assert_eq!(ItemCount { counted: 900, more: true }.to_string(), "at least 900 items");
    }
}
