//! The API's stage (`v1`): auto-deploy and default-route throttling; its name is part of the API URL.

use aws_sdk_apigatewayv2::operation::update_stage::builders::UpdateStageFluentBuilder;
use aws_sdk_apigatewayv2::types::RouteSettings;

use super::Tags;
use crate::aws::{Aws, aws_error, gone};
use crate::engine::{Change, Diff, Input, Outputs, Resource, State, diff_tags, tags_display};
use crate::error::IacError;

/// The declared stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// The API (an output of the HTTP API).
    pub api_id: Input,
    /// Stage name, e.g. `v1`.
    pub name: String,
    /// Deploy every change automatically.
    pub auto_deploy: bool,
    /// Throttling burst limit.
    pub burst_limit: i32,
    /// Throttling rate limit (requests per second).
    pub rate_limit: f64,
    /// Region (for the URL and the tagging ARN).
    pub region: String,
    /// Our tags.
    pub tags: Tags,
}

/// The live stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageState {
    /// API id.
    pub api_id: String,
    /// Name.
    pub name: String,
    /// Auto-deploy.
    pub auto_deploy: bool,
    /// Burst limit, if set.
    pub burst_limit: Option<i32>,
    /// Rate limit, if set.
    pub rate_limit: Option<f64>,
    /// Tags.
    pub tags: Tags,
    /// Region (for the URL).
    pub region: String,
}

/// The invoke URL of a stage.
pub fn stage_url(api_id: &str, region: &str, stage: &str) -> String {
    format!("https://{api_id}.execute-api.{region}.amazonaws.com/{stage}")
}

impl Stage {
    fn label(&self) -> String {
        format!("stage {}", self.name)
    }
}

impl StageState {
    /// `name`, `url` (the URL as reached in `region`).
    pub fn outputs(&self, region: &str) -> Outputs {
        Outputs::from([("name", self.name.clone()), ("url", stage_url(&self.api_id, region, &self.name))])
    }
}

fn route_settings(desired: &Stage) -> RouteSettings {
    RouteSettings::builder()
        .throttling_burst_limit(desired.burst_limit)
        .throttling_rate_limit(desired.rate_limit)
        .build()
}

/// The UpdateStage request for a change (only the properties that differ).
pub fn update_request(
    builder: UpdateStageFluentBuilder,
    api_id: &str,
    desired: &Stage,
    change: &Change,
) -> UpdateStageFluentBuilder {
    let mut req = builder.api_id(api_id).stage_name(&desired.name);
    if change.touches("auto_deploy") {
        req = req.auto_deploy(desired.auto_deploy);
    }
    if change.touches("throttling_burst_limit") || change.touches("throttling_rate_limit") {
        req = req.default_route_settings(route_settings(desired));
    }
    req
}

impl State for StageState {
    fn outputs(&self) -> Outputs {
        StageState::outputs(self, &self.region)
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    /// Deletes the stage.
    async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        let result = aws.apigw.delete_stage().api_id(&self.api_id).stage_name(&self.name).send().await;
        gone(
            result,
            aws_sdk_apigatewayv2::operation::delete_stage::DeleteStageError::is_not_found_exception,
            &format!("stage {}", self.name),
            "DeleteStage",
        )
    }
}

impl Resource for Stage {
    type State = StageState;
    const KIND: &'static str = "stage";

    fn name(&self) -> String {
        self.name.clone()
    }

    fn inputs(&self) -> Vec<&Input> {
        vec![&self.api_id]
    }

    fn inputs_mut(&mut self) -> Vec<&mut Input> {
        vec![&mut self.api_id]
    }

    fn container(&self) -> Option<&Input> {
        Some(&self.api_id)
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    /// Pure diff: auto-deploy, throttling and tags update in place.
    fn diff(&self, observed: Option<&StageState>) -> Change {
        let Some(live) = observed else {
            return Change::create(vec![
                ("name", self.name.clone()),
                ("auto_deploy", self.auto_deploy.to_string()),
                ("throttling_burst_limit", self.burst_limit.to_string()),
                ("throttling_rate_limit", self.rate_limit.to_string()),
                ("tags", tags_display(&self.tags)),
            ]);
        };
        let mut d = Diff::new();
        d.field("auto_deploy", Some(live.auto_deploy.to_string()), self.auto_deploy.to_string())
            .field("throttling_burst_limit", live.burst_limit.map(|b| b.to_string()), self.burst_limit.to_string())
            .field("throttling_rate_limit", live.rate_limit.map(|r| r.to_string()), self.rate_limit.to_string());
        diff_tags(&mut d, &live.tags, &self.tags);
        d.finish()
    }

    /// Reads the stage.
    async fn read(&self, aws: &Aws) -> Result<Option<StageState>, IacError> {
        let Some(api_id) = self.api_id.value() else { return Ok(None) };
        let out = match aws.apigw.get_stage().api_id(api_id).stage_name(&self.name).send().await {
            Ok(o) => o,
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_apigatewayv2::operation::get_stage::GetStageError::is_not_found_exception) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(aws_error(&self.label(), "GetStage", e)),
        };
        let settings = out.default_route_settings();
        Ok(Some(StageState {
            api_id: api_id.to_owned(),
            name: self.name.clone(),
            auto_deploy: out.auto_deploy().unwrap_or(false),
            burst_limit: settings.and_then(|s| s.throttling_burst_limit()),
            rate_limit: settings.and_then(|s| s.throttling_rate_limit()),
            tags: out.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default(),
            region: self.region.clone(),
        }))
    }

    /// Creates or updates the stage.
    async fn apply(&self, aws: &Aws, observed: Option<&StageState>, change: &Change) -> Result<(), IacError> {
        let label = self.label();
        let api_id = self.api_id.require(&label)?;
        let Some(_) = observed else {
            aws.apigw
                .create_stage()
                .api_id(api_id)
                .stage_name(&self.name)
                .auto_deploy(self.auto_deploy)
                .default_route_settings(route_settings(self))
                .set_tags(Some(self.tags.clone().into_iter().collect()))
                .send()
                .await
                .map_err(|e| aws_error(&label, "CreateStage", e))?;
            return Ok(());
        };
        let settings_changed = change.properties.iter().any(|p| p.name != "tags");
        if settings_changed {
            update_request(aws.apigw.update_stage(), api_id, self, change)
                .send()
                .await
                .map_err(|e| aws_error(&label, "UpdateStage", e))?;
        }
        if change.touches("tags") {
            let arn = format!(
                "arn:{}:apigateway:{}::/apis/{}/stages/{}",
                crate::aws::partition_of(&self.region),
                self.region,
                api_id,
                self.name
            );
            aws.apigw
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

    fn desired(burst: i32) -> Stage {
        Stage {
            api_id: Input::known("abc"),
            name: "v1".into(),
            auto_deploy: true,
            burst_limit: burst,
            rate_limit: 50.0,
            region: "us-east-1".into(),
            tags: tags(),
        }
    }

    fn live() -> StageState {
        StageState {
            api_id: "abc".into(),
            name: "v1".into(),
            auto_deploy: true,
            burst_limit: Some(10),
            rate_limit: Some(50.0),
            tags: tags(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn stage_url_includes_the_stage() {
        assert_eq!(live().outputs("eu-west-1")["url"], "https://abc.execute-api.eu-west-1.amazonaws.com/v1");
    }

    #[test]
    fn throttling_change_updates_only_the_burst_limit() {
        assert_eq!(desired(10).diff(Some(&live())), Change::unchanged());
        let c = desired(20).diff(Some(&live()));
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.properties.len(), 1);
        assert_eq!((c.properties[0].old.as_deref(), c.properties[0].new.as_deref()), (Some("10"), Some("20")));
    }

    // moto's UpdateStage answers 500, so the request is checked here instead of against the emulator.
    #[test]
    fn throttling_update_request_sets_default_route_settings_and_nothing_else() {
        let config = aws_sdk_apigatewayv2::Config::builder()
            .behavior_version(aws_sdk_apigatewayv2::config::BehaviorVersion::latest())
            .region(aws_sdk_apigatewayv2::config::Region::new("us-east-1"))
            .build();
        let client = aws_sdk_apigatewayv2::Client::from_conf(config);
        let d = desired(20);
        let change = d.diff(Some(&live()));
        let req = update_request(client.update_stage(), "abc", &d, &change);
        let input = req.as_input();
        assert_eq!(input.get_api_id().as_deref(), Some("abc"));
        assert_eq!(input.get_stage_name().as_deref(), Some("v1"));
        assert_eq!(input.get_auto_deploy(), &None);
        let s = input.get_default_route_settings().as_ref().unwrap();
        assert_eq!(s.throttling_burst_limit(), Some(20));
        assert_eq!(s.throttling_rate_limit(), Some(50.0));
    }
}
