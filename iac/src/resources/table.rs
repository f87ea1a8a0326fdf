//! The DynamoDB table that stores todos: hash key `Id` (string), on-demand billing, our tags.

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, Tag};

use super::{Tags, Target};
use crate::aws::{Aws, ErrorMeta, aws_error};
use crate::engine::{Change, Diff, Outputs, diff_tags, tags_display};
use crate::error::IacError;

/// The declared table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Table name, e.g. `todos-dev`.
    pub name: String,
    /// Hash key attribute (`Id`, type S).
    pub hash_key: String,
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
    /// Hash key as `name (type)`, e.g. `Id (S)`.
    pub key: String,
    /// `PAY_PER_REQUEST` or `PROVISIONED`.
    pub billing_mode: String,
    /// Tags.
    pub tags: Tags,
}

impl Table {
    fn key(&self) -> String {
        format!("{} (S)", self.hash_key)
    }

    fn label(&self) -> String {
        format!("table {}", self.name)
    }

    /// Outputs known before the table exists (its name and ARN are deterministic).
    pub fn planned_outputs(&self) -> Outputs {
        let t = &self.target;
        Outputs::from([
            ("name", self.name.clone()),
            ("arn", format!("arn:{}:dynamodb:{}:{}:table/{}", t.partition, t.region, t.account, self.name)),
        ])
    }
}

impl TableState {
    /// `name`, `arn`.
    pub fn outputs(&self) -> Outputs {
        Outputs::from([("name", self.name.clone()), ("arn", self.arn.clone())])
    }
}

/// Pure diff: a different key schema needs a new table; billing mode and tags change in place.
pub fn diff(desired: &Table, observed: Option<&TableState>) -> Change {
    let Some(live) = observed else {
        return Change::create(vec![
            ("name", desired.name.clone()),
            ("key", desired.key()),
            ("billing_mode", "PAY_PER_REQUEST".into()),
            ("tags", tags_display(&desired.tags)),
        ]);
    };
    let mut d = Diff::new();
    d.replace_field("key", Some(live.key.clone()), desired.key());
    d.field("billing_mode", Some(live.billing_mode.clone()), "PAY_PER_REQUEST");
    diff_tags(&mut d, &live.tags, &desired.tags);
    d.finish()
}

/// Reads the table, if it exists.
pub async fn read(aws: &Aws, desired: &Table) -> Result<Option<TableState>, IacError> {
    let label = desired.label();
    let out = match aws.dynamodb.describe_table().table_name(&desired.name).send().await {
        Ok(o) => o,
        Err(e) if ErrorMeta::of(&e).is("ResourceNotFoundException") => return Ok(None),
        Err(e) => return Err(aws_error(&label, "DescribeTable", e)),
    };
    let Some(t) = out.table() else { return Ok(None) };
    let arn = t.table_arn().unwrap_or_default().to_owned();
    let key = t
        .key_schema()
        .iter()
        .find(|k| *k.key_type() == KeyType::Hash)
        .map(|k| {
            let ty = t
                .attribute_definitions()
                .iter()
                .find(|a| a.attribute_name() == k.attribute_name())
                .map(|a| a.attribute_type().as_str().to_owned())
                .unwrap_or_default();
            format!("{} ({ty})", k.attribute_name())
        })
        .unwrap_or_default();
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
    Ok(Some(TableState { name: desired.name.clone(), arn, key, billing_mode, tags }))
}

/// Creates or updates the table. A replace is refused: it would delete every todo.
pub async fn apply(aws: &Aws, desired: &Table, observed: Option<&TableState>, change: &Change) -> Result<(), IacError> {
    let label = desired.label();
    let Some(live) = observed else {
        let built = |e: aws_sdk_dynamodb::error::BuildError| IacError::Aws {
            resource: label.clone(),
            action: "CreateTable".into(),
            message: e.to_string(),
        };
        let mut req = aws
            .dynamodb
            .create_table()
            .table_name(&desired.name)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&desired.hash_key)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(built)?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(&desired.hash_key)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(built)?,
            )
            .billing_mode(BillingMode::PayPerRequest);
        for (k, v) in &desired.tags {
            req = req.tags(Tag::builder().key(k).value(v).build().map_err(built)?);
        }
        req.send().await.map_err(|e| aws_error(&label, "CreateTable", e))?;
        return wait_active(aws, desired).await;
    };
    if change.touches("key") {
        return Err(IacError::Refused {
            resource: label,
            message: format!(
                "the live table's key is {}, not {}; replacing it would delete every todo. Migrate the data and delete the table by hand first",
                live.key,
                desired.key()
            ),
        });
    }
    if change.touches("billing_mode") {
        aws.dynamodb
            .update_table()
            .table_name(&desired.name)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(|e| aws_error(&label, "UpdateTable", e))?;
        wait_active(aws, desired).await?;
    }
    if change.touches("tags") {
        let mut req = aws.dynamodb.tag_resource().resource_arn(&live.arn);
        for (k, v) in &desired.tags {
            req = req.tags(Tag::builder().key(k).value(v).build().map_err(|e| IacError::Aws {
                resource: label.clone(),
                action: "TagResource".into(),
                message: e.to_string(),
            })?);
        }
        req.send().await.map_err(|e| aws_error(&label, "TagResource", e))?;
    }
    Ok(())
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

/// Deletes the table.
pub async fn delete(aws: &Aws, live: &TableState) -> Result<(), IacError> {
    match aws.dynamodb.delete_table().table_name(&live.name).send().await {
        Ok(_) => Ok(()),
        Err(e) if ErrorMeta::of(&e).is("ResourceNotFoundException") => Ok(()),
        Err(e) => Err(aws_error(&format!("table {}", live.name), "DeleteTable", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;
    use crate::resources::test_support::{tags, target};

    fn desired() -> Table {
        Table { name: "todos-dev".into(), hash_key: "Id".into(), target: target(), tags: tags() }
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
        let c = diff(&desired(), None);
        assert_eq!(c.action, Action::Create);
        assert!(c.properties.iter().any(|p| p.name == "key" && p.new.as_deref() == Some("Id (S)")));
        assert_eq!(desired().planned_outputs()["arn"], live().arn);
    }

    #[test]
    fn matching_table_is_unchanged_and_provisioned_billing_is_an_update() {
        assert_eq!(diff(&desired(), Some(&live())), Change::unchanged());
        let provisioned = TableState { billing_mode: "PROVISIONED".into(), ..live() };
        let c = diff(&desired(), Some(&provisioned));
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.properties[0].old.as_deref(), Some("PROVISIONED"));
    }

    #[test]
    fn a_different_key_schema_means_replace() {
        let numeric = TableState { key: "Id (N)".into(), ..live() };
        assert_eq!(diff(&desired(), Some(&numeric)).action, Action::Replace);
    }
}
