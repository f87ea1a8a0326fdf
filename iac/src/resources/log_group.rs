//! The function's CloudWatch log group `/aws/lambda/<function>` with its retention, created before the
//! function so Lambda never creates it first with infinite retention (and adopted if it already did).

use super::Tags;
use crate::aws::{Aws, aws_error, gone};
use crate::engine::{Change, Diff, Outputs, Ownership, Resource, State, diff_tags, tags_display};
use crate::error::IacError;

/// The declared log group.
#[derive(Debug, Clone, PartialEq)]
pub struct LogGroup {
    /// `/aws/lambda/<function>`.
    pub name: String,
    /// Retention in days.
    pub retention_days: i32,
    /// Our tags.
    pub tags: Tags,
}

/// The live log group.
#[derive(Debug, Clone, PartialEq)]
pub struct LogGroupState {
    /// Name.
    pub name: String,
    /// ARN without the trailing `:*`.
    pub arn: String,
    /// Retention, `None` for "never expire".
    pub retention_days: Option<i32>,
    /// Tags.
    pub tags: Tags,
}

impl LogGroup {
    fn label(&self) -> String {
        format!("log group {}", self.name)
    }
}

impl State for LogGroupState {
    /// `name`, `arn`.
    fn outputs(&self) -> Outputs {
        Outputs::from([("name", self.name.clone()), ("arn", self.arn.clone())])
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    /// Deletes the log group.
    async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        let result = aws.logs.delete_log_group().log_group_name(&self.name).send().await;
        gone(
            result,
            aws_sdk_cloudwatchlogs::operation::delete_log_group::DeleteLogGroupError::is_resource_not_found_exception,
            &format!("log group {}", self.name),
            "DeleteLogGroup",
        )
    }
}

fn retention_text(days: Option<i32>) -> String {
    days.map_or_else(|| "never expire".to_owned(), |d| format!("{d} days"))
}

/// Creates the log group with our tags; when it already exists (Lambda auto-created it, or a
/// previous run was interrupted) adopts it instead. Returns whether it was adopted (and so still
/// needs our tags).
pub async fn create_or_adopt(aws: &Aws, desired: &LogGroup) -> Result<bool, IacError> {
    let r = aws
        .logs
        .create_log_group()
        .log_group_name(&desired.name)
        .set_tags(Some(desired.tags.clone().into_iter().collect()))
        .send()
        .await;
    match r {
        Ok(_) => Ok(false),
        Err(e) if e.as_service_error().is_some_and(aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupError::is_resource_already_exists_exception) => {
            tracing::info!(log_group = %desired.name, "log group already exists; adopting it");
            Ok(true)
        }
        Err(e) => Err(aws_error(&desired.label(), "CreateLogGroup", e)),
    }
}

impl Resource for LogGroup {
    type State = LogGroupState;
    const KIND: &'static str = "log group";

    fn name(&self) -> String {
        self.name.clone()
    }

    fn ownership(&self) -> Ownership {
        Ownership::AdoptsUntagged
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    fn planned_outputs(&self) -> Outputs {
        Outputs::from([("name", self.name.clone())])
    }

    /// Pure diff: retention and tags change in place. A group without our tags is adopted (Lambda
    /// creates it untagged when the function logs before we created it).
    fn diff(&self, observed: Option<&LogGroupState>) -> Change {
        let Some(live) = observed else {
            return Change::create(vec![
                ("name", self.name.clone()),
                ("retention", retention_text(Some(self.retention_days))),
                ("tags", tags_display(&self.tags)),
            ]);
        };
        let mut d = Diff::new();
        d.field("retention", Some(retention_text(live.retention_days)), retention_text(Some(self.retention_days)));
        diff_tags(&mut d, &live.tags, &self.tags);
        d.finish()
    }

    /// Reads the log group, if it exists.
    async fn read(&self, aws: &Aws) -> Result<Option<LogGroupState>, IacError> {
        let label = self.label();
        let out = aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&self.name)
            .send()
            .await
            .map_err(|e| aws_error(&label, "DescribeLogGroups", e))?;
        let Some(g) = out.log_groups().iter().find(|g| g.log_group_name() == Some(self.name.as_str())) else {
            return Ok(None);
        };
        let arn = g
            .log_group_arn()
            .map(str::to_owned)
            .or_else(|| g.arn().map(|a| a.trim_end_matches(":*").to_owned()))
            .unwrap_or_default();
        let tags = aws
            .logs
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .map_err(|e| aws_error(&label, "ListTagsForResource", e))?
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Ok(Some(LogGroupState { name: self.name.clone(), arn, retention_days: g.retention_in_days(), tags }))
    }

    /// Creates the group, or adopts the one that exists ([`create_or_adopt`]), then sets retention and tags.
    async fn apply(&self, aws: &Aws, observed: Option<&LogGroupState>, change: &Change) -> Result<(), IacError> {
        let label = self.label();
        let (set_retention, set_tags) = match observed {
            None => {
                let adopted = create_or_adopt(aws, self).await?;
                (true, adopted)
            }
            Some(_) => (change.touches("retention"), change.touches("tags")),
        };
        if set_retention {
            aws.logs
                .put_retention_policy()
                .log_group_name(&self.name)
                .retention_in_days(self.retention_days)
                .send()
                .await
                .map_err(|e| aws_error(&label, "PutRetentionPolicy", e))?;
        }
        if set_tags {
            let arn = match observed {
                Some(l) => l.arn.clone(),
                None => self.read(aws).await?.map(|l| l.arn).unwrap_or_default(),
            };
            aws.logs
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(self.tags.clone().into_iter().collect()))
                .send()
                .await
                .map_err(|e| aws_error(&label, "TagResource", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;
    use crate::resources::test_support::tags;

    fn desired() -> LogGroup {
        LogGroup { name: "/aws/lambda/todos-dev-api".into(), retention_days: 30, tags: tags() }
    }

    #[test]
    fn log_group_auto_created_by_lambda_is_adopted_by_an_update_not_a_replace() {
        let auto = LogGroupState {
            name: "/aws/lambda/todos-dev-api".into(),
            arn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/todos-dev-api".into(),
            retention_days: None,
            tags: Tags::new(),
        };
        let c = desired().diff(Some(&auto));
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.properties[0].old.as_deref(), Some("never expire"));
        assert_eq!(c.properties[0].new.as_deref(), Some("30 days"));
        assert_eq!(c.properties[1].name, "tags");
        let ours = LogGroupState { retention_days: Some(30), tags: tags(), ..auto };
        assert_eq!(desired().diff(Some(&ours)), Change::unchanged());
    }
}
