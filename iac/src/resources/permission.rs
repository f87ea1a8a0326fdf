//! The resource policy statement letting API Gateway invoke the function, restricted to our API by its
//! source ARN (`arn:aws:execute-api:<region>:<account>:<api id>/*/*/*`). Statements cannot be edited,
//! so any difference is a replace; the source ARN is shown in previews like any other property.

use serde_json::Value;

use crate::aws::{Aws, aws_error, gone};
use crate::engine::{Change, Diff, Input, Outputs, Resource, State};
use crate::error::IacError;

/// The declared permission.
#[derive(Debug, Clone, PartialEq)]
pub struct Permission {
    /// The function (an output of the function).
    pub function_name: Input,
    /// Statement id, e.g. `todos-dev-apigw-invoke`.
    pub statement_id: String,
    /// `apigateway.amazonaws.com`.
    pub principal: String,
    /// `lambda:InvokeFunction`.
    pub action: String,
    /// Source ARN (from the HTTP API's id).
    pub source_arn: Input,
}

/// The live statement.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionState {
    /// Function name.
    pub function_name: String,
    /// Statement id.
    pub statement_id: String,
    /// Principal service.
    pub principal: String,
    /// Action.
    pub action: String,
    /// `AWS:SourceArn` condition, if any.
    pub source_arn: Option<String>,
}

impl State for PermissionState {
    /// `statement_id`.
    fn outputs(&self) -> Outputs {
        Outputs::from([("statement_id", self.statement_id.clone())])
    }

    /// Removes the statement.
    async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        let result = aws
            .lambda
            .remove_permission()
            .function_name(&self.function_name)
            .statement_id(&self.statement_id)
            .send()
            .await;
        gone(
            result,
            aws_sdk_lambda::operation::remove_permission::RemovePermissionError::is_resource_not_found_exception,
            &format!("permission {}", self.statement_id),
            "RemovePermission",
        )
    }
}

/// The source ARN that lets every route and stage of `api_id` invoke the function.
pub fn source_arn(partition: &str, region: &str, account: &str, api_id: &str) -> String {
    format!("arn:{partition}:execute-api:{region}:{account}:{api_id}/*/*/*")
}

/// Finds statement `sid` in a function policy document (as GetPolicy returns it).
pub fn parse_statement(policy: &str, function_name: &str, sid: &str) -> Option<PermissionState> {
    let doc: Value = serde_json::from_str(policy).ok()?;
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        v @ Value::Object(_) => vec![v.clone()],
        _ => return None,
    };
    let s = statements.into_iter().find(|s| s["Sid"] == sid)?;
    let principal = match &s["Principal"] {
        Value::String(p) => p.clone(),
        p => p["Service"].as_str().unwrap_or_default().to_owned(),
    };
    let source_arn = s["Condition"]
        .as_object()
        .and_then(|c| c.values().find_map(|v| v.get("AWS:SourceArn").and_then(Value::as_str)))
        .map(str::to_owned);
    Some(PermissionState {
        function_name: function_name.to_owned(),
        statement_id: sid.to_owned(),
        principal,
        action: s["Action"].as_str().unwrap_or_default().to_owned(),
        source_arn,
    })
}

impl Resource for Permission {
    type State = PermissionState;
    const KIND: &'static str = "permission";

    fn name(&self) -> String {
        self.statement_id.clone()
    }

    fn inputs(&self) -> Vec<&Input> {
        vec![&self.function_name, &self.source_arn]
    }

    fn inputs_mut(&mut self) -> Vec<&mut Input> {
        vec![&mut self.function_name, &mut self.source_arn]
    }

    fn container(&self) -> Option<&Input> {
        Some(&self.function_name)
    }

    /// Pure diff: any difference replaces the statement.
    fn diff(&self, observed: Option<&PermissionState>) -> Change {
        let Some(live) = observed else {
            return Change::create(vec![
                ("statement_id", self.statement_id.clone()),
                ("principal", self.principal.clone()),
                ("action", self.action.clone()),
                ("source_arn", self.source_arn.display()),
            ]);
        };
        let mut d = Diff::new();
        d.replace_field("principal", Some(live.principal.clone()), &self.principal)
            .replace_field("action", Some(live.action.clone()), &self.action)
            .replace_input("source_arn", live.source_arn.clone(), &self.source_arn);
        d.finish()
    }

    /// Reads our statement from the function's policy.
    async fn read(&self, aws: &Aws) -> Result<Option<PermissionState>, IacError> {
        let Some(function) = self.function_name.value() else { return Ok(None) };
        let out = match aws.lambda.get_policy().function_name(function).send().await {
            Ok(o) => o,
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_lambda::operation::get_policy::GetPolicyError::is_resource_not_found_exception,
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(aws_error(&format!("permission {}", self.statement_id), "GetPolicy", e)),
        };
        Ok(out.policy().and_then(|p| parse_statement(p, function, &self.statement_id)))
    }

    /// Adds the statement (removing an outdated one first).
    async fn apply(&self, aws: &Aws, observed: Option<&PermissionState>, __change: &Change) -> Result<(), IacError> {
        let label = format!("permission {}", self.statement_id);
        if let Some(live) = observed {
            live.delete(aws).await?;
        }
        let function = self.function_name.require(&label)?;
        aws.lambda
            .add_permission()
            .function_name(function)
            .statement_id(&self.statement_id)
            .action(&self.action)
            .principal(&self.principal)
            .source_arn(self.source_arn.require(&label)?)
            .send()
            .await
            .map_err(|e| aws_error(&label, "AddPermission", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;

    const POLICY: &str = r#"{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"todos-dev-apigw-invoke","Effect":"Allow",
        "Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction",
        "Resource":"arn:aws:lambda:us-east-1:123456789012:function:todos-dev-api",
        "Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:execute-api:us-east-1:123456789012:abc/*/*/*"}}}]}"#;

    fn desired(api: &str) -> Permission {
        Permission {
            function_name: Input::known("todos-dev-api"),
            statement_id: "todos-dev-apigw-invoke".into(),
            principal: "apigateway.amazonaws.com".into(),
            action: "lambda:InvokeFunction".into(),
            source_arn: Input::known(source_arn("aws", "us-east-1", "123456789012", api)),
        }
    }

    #[test]
    fn statement_is_parsed_from_the_function_policy() {
        let s = parse_statement(POLICY, "todos-dev-api", "todos-dev-apigw-invoke").unwrap();
        assert_eq!(s.principal, "apigateway.amazonaws.com");
        assert_eq!(s.source_arn.as_deref(), Some("arn:aws:execute-api:us-east-1:123456789012:abc/*/*/*"));
        assert_eq!(parse_statement(POLICY, "todos-dev-api", "other"), None);
    }

    #[test]
    fn permission_for_another_api_is_replaced_and_the_source_arn_shown() {
        let live = parse_statement(POLICY, "todos-dev-api", "todos-dev-apigw-invoke").unwrap();
        assert_eq!(desired("abc").diff(Some(&live)), Change::unchanged());
        let c = desired("xyz").diff(Some(&live));
        assert_eq!(c.action, Action::Replace);
        assert_eq!(c.properties[0].name, "source_arn");
        assert_eq!(c.properties[0].new.as_deref(), Some("arn:aws:execute-api:us-east-1:123456789012:xyz/*/*/*"));
    }
}
