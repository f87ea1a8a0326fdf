//! The Lambda proxy integration of the HTTP API: AWS_PROXY, POST, payload format 2.0, 3000 ms.

use aws_sdk_apigatewayv2::types::IntegrationType;

use crate::aws::{Aws, aws_error, gone};
use crate::engine::{Change, Diff, Input, Outputs, Resource, State};
use crate::error::IacError;

/// The declared integration.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    /// The API (an output of the HTTP API).
    pub api_id: Input,
    /// The function ARN (an output of the function).
    pub function_arn: Input,
    /// Timeout in milliseconds.
    pub timeout_ms: i32,
}

/// The live integration.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationState {
    /// API id.
    pub api_id: String,
    /// Integration id.
    pub id: String,
    /// Type (`AWS_PROXY`).
    pub integration_type: String,
    /// URI (function ARN).
    pub uri: String,
    /// Method (`POST`).
    pub method: String,
    /// Payload format version (`2.0`).
    pub payload_format_version: String,
    /// Timeout in milliseconds.
    pub timeout_ms: i32,
}

impl State for IntegrationState {
    /// `id`, `target` (`integrations/<id>`, what a route points at).
    fn outputs(&self) -> Outputs {
        Outputs::from([("id", self.id.clone()), ("target", format!("integrations/{}", self.id))])
    }

    /// Deletes the integration.
    async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        let result = aws.apigw.delete_integration().api_id(&self.api_id).integration_id(&self.id).send().await;
        gone(
            result,
            aws_sdk_apigatewayv2::operation::delete_integration::DeleteIntegrationError::is_not_found_exception,
            LABEL,
            "DeleteIntegration",
        )
    }
}

const LABEL: &str = "integration lambda-proxy";

/// Every integration of an API (first page: an API of this stack has one).
pub async fn list(aws: &Aws, api_id: &str) -> Result<Vec<IntegrationState>, IacError> {
    let out = match aws.apigw.get_integrations().api_id(api_id).send().await {
        Ok(o) => o,
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_apigatewayv2::operation::get_integrations::GetIntegrationsError::is_not_found_exception,
            ) =>
        {
            return Ok(Vec::new());
        }
        Err(e) => return Err(aws_error(LABEL, "GetIntegrations", e)),
    };
    Ok(out
        .items()
        .iter()
        .map(|i| IntegrationState {
            api_id: api_id.to_owned(),
            id: i.integration_id().unwrap_or_default().to_owned(),
            integration_type: i.integration_type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
            uri: i.integration_uri().unwrap_or_default().to_owned(),
            method: i.integration_method().unwrap_or_default().to_owned(),
            payload_format_version: i.payload_format_version().unwrap_or_default().to_owned(),
            timeout_ms: i.timeout_in_millis().unwrap_or(30000),
        })
        .collect())
}

impl Resource for Integration {
    type State = IntegrationState;
    const KIND: &'static str = "integration";

    fn name(&self) -> String {
        "lambda-proxy".to_owned()
    }

    fn inputs(&self) -> Vec<&Input> {
        vec![&self.api_id, &self.function_arn]
    }

    fn inputs_mut(&mut self) -> Vec<&mut Input> {
        vec![&mut self.api_id, &mut self.function_arn]
    }

    fn container(&self) -> Option<&Input> {
        Some(&self.api_id)
    }

    /// Pure diff: the type is fixed at creation (replace); everything else updates in place.
    fn diff(&self, observed: Option<&IntegrationState>) -> Change {
        let Some(live) = observed else {
            return Change::create(vec![
                ("type", "AWS_PROXY".into()),
                ("uri", self.function_arn.display()),
                ("method", "POST".into()),
                ("payload_format_version", "2.0".into()),
                ("timeout_ms", self.timeout_ms.to_string()),
            ]);
        };
        let mut d = Diff::new();
        d.replace_field("type", Some(live.integration_type.clone()), "AWS_PROXY")
            .input("uri", Some(live.uri.clone()), &self.function_arn)
            .field("method", Some(live.method.clone()), "POST")
            .field("payload_format_version", Some(live.payload_format_version.clone()), "2.0")
            .field("timeout_ms", Some(live.timeout_ms.to_string()), self.timeout_ms.to_string());
        d.finish()
    }

    /// Reads our integration: the one whose URI is our function, else the API's only integration.
    async fn read(&self, aws: &Aws) -> Result<Option<IntegrationState>, IacError> {
        let Some(api_id) = self.api_id.value() else { return Ok(None) };
        let items = list(aws, api_id).await?;
        let ours = items.iter().find(|i| Some(i.uri.as_str()) == self.function_arn.value()).cloned();
        Ok(ours.or_else(|| if items.len() == 1 { items.into_iter().next() } else { None }))
    }

    /// Creates, updates or replaces the integration.
    async fn apply(&self, aws: &Aws, observed: Option<&IntegrationState>, change: &Change) -> Result<(), IacError> {
        let api_id = self.api_id.require(LABEL)?;
        let uri = self.function_arn.require(LABEL)?;
        match observed {
            Some(live) if change.action == crate::engine::Action::Update => {
                aws.apigw
                    .update_integration()
                    .api_id(api_id)
                    .integration_id(&live.id)
                    .integration_uri(uri)
                    .integration_method("POST")
                    .payload_format_version("2.0")
                    .timeout_in_millis(self.timeout_ms)
                    .send()
                    .await
                    .map_err(|e| aws_error(LABEL, "UpdateIntegration", e))?;
                Ok(())
            }
            _ => {
                if let Some(live) = observed {
                    live.delete(aws).await?;
                }
                aws.apigw
                    .create_integration()
                    .api_id(api_id)
                    .integration_type(IntegrationType::AwsProxy)
                    .integration_uri(uri)
                    .integration_method("POST")
                    .payload_format_version("2.0")
                    .timeout_in_millis(self.timeout_ms)
                    .send()
                    .await
                    .map_err(|e| aws_error(LABEL, "CreateIntegration", e))?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;

    const FN: &str = "arn:aws:lambda:us-east-1:123456789012:function:todos-dev-api";

    fn live() -> IntegrationState {
        IntegrationState {
            api_id: "abc".into(),
            id: "int1".into(),
            integration_type: "AWS_PROXY".into(),
            uri: FN.into(),
            method: "POST".into(),
            payload_format_version: "2.0".into(),
            timeout_ms: 3000,
        }
    }

    #[test]
    fn proxy_integration_with_payload_2_and_3_seconds_is_unchanged() {
        let d = Integration { api_id: Input::known("abc"), function_arn: Input::known(FN), timeout_ms: 3000 };
        assert_eq!(d.diff(Some(&live())), Change::unchanged());
        let old_payload = IntegrationState { payload_format_version: "1.0".into(), timeout_ms: 30000, ..live() };
        assert_eq!(d.diff(Some(&old_payload)).properties.len(), 2);
        let http = IntegrationState { integration_type: "HTTP_PROXY".into(), ..live() };
        assert_eq!(d.diff(Some(&http)).action, Action::Replace);
    }
}
