//! The Lambda function: provided.al2023 on arm64, handler `bootstrap`, memory, timeout, `TABLE_NAME`,
//! the code package. Holds the named helpers for Lambda's known traps: a new role not yet assumable
//! ([`create_function_when_role_assumable`]), an update still in progress ([`wait_until_ready`],
//! [`is_update_in_progress`]) and unchanged code ([`Code::sha256`] against `CodeSha256`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_lambda::client::Waiters as _;
use aws_sdk_lambda::types::{Architecture, Environment, FunctionCode, Runtime};
use aws_smithy_types::Blob;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{Tags, Target};
use crate::aws::{Aws, Backoff, ErrorMeta, RetryError, aws_error, classify, gone, retry, wait_failed};
use crate::engine::{Change, Diff, Input, Outputs, Ownership, Resource, State, tags_display};
use crate::error::IacError;

/// A deployment package and its SHA-256 (base64, as Lambda reports `CodeSha256`).
#[derive(Clone, PartialEq, Eq)]
pub struct Code {
    /// The zip bytes.
    pub zip: Arc<Vec<u8>>,
    /// Base64 of the SHA-256 of the bytes.
    pub sha256: String,
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Code({} bytes, sha256 {})", self.zip.len(), self.sha256)
    }
}

impl Code {
    /// Wraps zip bytes.
    pub fn from_bytes(zip: Vec<u8>) -> Code {
        let sha256 = code_sha256(&zip);
        Code { zip: Arc::new(zip), sha256 }
    }

    /// Reads the package built by `make build`.
    pub fn read(path: &Path) -> Result<Code, IacError> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Code::from_bytes(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(IacError::ZipMissing { path: path.to_owned() }),
            Err(source) => Err(IacError::Io { path: path.to_owned(), source }),
        }
    }
}

/// Lambda's `CodeSha256` of a package: base64 of its SHA-256. Equal values mean the upload is skipped.
pub fn code_sha256(zip: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

/// The declared function.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// Function name, e.g. `todos-dev-api`.
    pub name: String,
    /// Execution role ARN (an output of the role).
    pub role_arn: Input,
    /// Value of `TABLE_NAME` (an output of the table).
    pub table_name: Input,
    /// Other environment variables (`AUTH_MODE=jwt` with sign-in; none without, so that stack's
    /// function is exactly what it was before sign-in existed).
    pub env: BTreeMap<String, String>,
    /// `provided.al2023`.
    pub runtime: String,
    /// `arm64`.
    pub architecture: String,
    /// `bootstrap`.
    pub handler: String,
    /// Memory in MB.
    pub memory_mb: i32,
    /// Timeout in seconds.
    pub timeout_seconds: i32,
    /// The package.
    pub code: Code,
    /// Where it lives.
    pub target: Target,
    /// Our tags.
    pub tags: Tags,
}

/// The live function.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionState {
    /// Name.
    pub name: String,
    /// ARN (unqualified).
    pub arn: String,
    /// Role ARN.
    pub role: String,
    /// Runtime.
    pub runtime: String,
    /// Architecture.
    pub architecture: String,
    /// Handler.
    pub handler: String,
    /// Memory in MB.
    pub memory_mb: i32,
    /// Timeout in seconds.
    pub timeout_seconds: i32,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// `CodeSha256`.
    pub code_sha256: String,
    /// Tags.
    pub tags: Tags,
}

impl Function {
    fn label(&self) -> String {
        format!("function {}", self.name)
    }

    fn env_display(&self) -> String {
        let mut all = self.env.clone();
        all.insert("TABLE_NAME".to_owned(), self.table_name.display());
        env_text(&all)
    }

    /// The whole environment once the table's name is known.
    fn environment(&self, table: &str) -> Environment {
        let mut all = self.env.clone();
        all.insert("TABLE_NAME".to_owned(), table.to_owned());
        Environment::builder().set_variables(Some(all.into_iter().collect())).build()
    }
}

impl State for FunctionState {
    /// `name`, `arn`.
    fn outputs(&self) -> Outputs {
        Outputs::from([("name", self.name.clone()), ("arn", self.arn.clone())])
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    /// Deletes the function.
    async fn delete(&self, aws: &Aws) -> Result<(), IacError> {
        let result = aws.lambda.delete_function().function_name(&self.name).send().await;
        gone(
            result,
            aws_sdk_lambda::operation::delete_function::DeleteFunctionError::is_resource_not_found_exception,
            &format!("function {}", self.name),
            "DeleteFunction",
        )
    }
}

fn env_text(env: &BTreeMap<String, String>) -> String {
    env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// Lambda's answer to a create or update with a role IAM has not propagated to it yet.
pub fn is_role_not_assumable(meta: &ErrorMeta) -> bool {
    meta.is("InvalidParameterValueException")
        && meta.message.as_deref().is_some_and(|m| m.contains("cannot be assumed by Lambda"))
}

/// Lambda's answer to a call made while a previous update of the function is still in progress.
pub fn is_update_in_progress(meta: &ErrorMeta) -> bool {
    meta.is("ResourceConflictException")
}

/// How long to wait for a new function to become `Active`.
const FUNCTION_WAIT: Duration = Duration::from_secs(120);

/// Whether the next call on a function may go ahead, from its `State` and `LastUpdateStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Active and no update in progress.
    Ready,
    /// Still being created or updated.
    Wait,
    /// The function is in a failed state.
    Failed(String),
}

/// Pure decision behind [`wait_until_ready`]. A *failed last update* does not block the next one
/// (a new update is how it gets fixed); a failed function does.
pub fn readiness(state: Option<&str>, last_update_status: Option<&str>, reason: Option<&str>) -> Readiness {
    match (state, last_update_status) {
        (Some("Failed"), _) => Readiness::Failed(reason.unwrap_or("the function is in state Failed").to_owned()),
        (Some("Pending"), _) | (_, Some("InProgress")) => Readiness::Wait,
        _ => Readiness::Ready,
    }
}

/// Waits until the function's state and `LastUpdateStatus` allow the next call (bounded).
pub async fn wait_until_ready(aws: &Aws, name: &str) -> Result<(), IacError> {
    let label = format!("function {name}");
    let backoff = Backoff::FUNCTION_UPDATE;
    for attempt in 1..=backoff.attempts {
        let c = aws
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(|e| aws_error(&label, "GetFunctionConfiguration", e))?;
        let reason = c.state_reason().or(c.last_update_status_reason());
        match readiness(c.state().map(|s| s.as_str()), c.last_update_status().map(|s| s.as_str()), reason) {
            Readiness::Ready => return Ok(()),
            Readiness::Failed(reason) => {
                return Err(IacError::aws(label, "GetFunctionConfiguration", reason));
            }
            Readiness::Wait => tokio::time::sleep(backoff.delay(attempt).min(Duration::from_secs(2))).await,
        }
    }
    Err(IacError::GaveUp { resource: label, what: "LastUpdateStatus Successful".into(), attempts: backoff.attempts })
}

fn give_up(label: &str, action: &str, what: &str, e: RetryError<ErrorMeta>) -> IacError {
    match e {
        RetryError::Failed(meta) => classify(label, action, meta),
        RetryError::GaveUp { attempts, last } => {
            tracing::warn!("{label}: {action}: last answer {}", last.text());
            IacError::GaveUp { resource: label.to_owned(), what: what.to_owned(), attempts }
        }
    }
}

/// Creates the function, retrying (bounded) exactly while Lambda says the new role cannot be assumed.
pub async fn create_function_when_role_assumable(
    aws: &Aws,
    desired: &Function,
    backoff: Backoff,
) -> Result<(), IacError> {
    let label = desired.label();
    let role = desired.role_arn.require(&label)?.to_owned();
    let table = desired.table_name.require(&label)?.to_owned();
    retry(backoff, is_role_not_assumable, || async {
        aws.lambda
            .create_function()
            .function_name(&desired.name)
            .runtime(Runtime::from(desired.runtime.as_str()))
            .architectures(Architecture::from(desired.architecture.as_str()))
            .handler(&desired.handler)
            .memory_size(desired.memory_mb)
            .timeout(desired.timeout_seconds)
            .role(&role)
            .environment(desired.environment(&table))
            .code(FunctionCode::builder().zip_file(Blob::new(desired.code.zip.as_slice())).build())
            .description("todos API (managed by todos-iac)")
            .set_tags(Some(desired.tags.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| ErrorMeta::of(&e))
    })
    .await
    .map_err(|e| give_up(&label, "CreateFunction", "IAM to let Lambda assume the new role", e))?;
    Ok(())
}

fn retryable_update(meta: &ErrorMeta) -> bool {
    is_update_in_progress(meta) || is_role_not_assumable(meta)
}

impl Resource for Function {
    type State = FunctionState;
    const KIND: &'static str = "function";

    fn name(&self) -> String {
        self.name.clone()
    }

    fn ownership(&self) -> Ownership {
        Ownership::Tagged
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    /// Outputs known before the function exists.
    fn planned_outputs(&self) -> Outputs {
        let t = &self.target;
        Outputs::from([
            ("name", self.name.clone()),
            ("arn", format!("arn:{}:lambda:{}:{}:function:{}", t.partition, t.region, t.account, self.name)),
        ])
    }

    fn inputs(&self) -> Vec<&Input> {
        vec![&self.role_arn, &self.table_name]
    }

    fn inputs_mut(&mut self) -> Vec<&mut Input> {
        vec![&mut self.role_arn, &mut self.table_name]
    }

    /// Pure diff. Configuration, code (by SHA-256: an identical package is never re-uploaded),
    /// architecture and tags all change in place.
    fn diff(&self, observed: Option<&FunctionState>) -> Change {
        let Some(live) = observed else {
            return Change::create(vec![
                ("name", self.name.clone()),
                ("runtime", self.runtime.clone()),
                ("architecture", self.architecture.clone()),
                ("handler", self.handler.clone()),
                ("memory_mb", self.memory_mb.to_string()),
                ("timeout_seconds", self.timeout_seconds.to_string()),
                ("role", self.role_arn.display()),
                ("environment", self.env_display()),
                ("code_sha256", self.code.sha256.clone()),
                ("tags", tags_display(&self.tags)),
            ]);
        };
        let mut d = Diff::new();
        d.field("runtime", Some(live.runtime.clone()), &self.runtime)
            .field("handler", Some(live.handler.clone()), &self.handler)
            .field("memory_mb", Some(live.memory_mb.to_string()), self.memory_mb.to_string())
            .field("timeout_seconds", Some(live.timeout_seconds.to_string()), self.timeout_seconds.to_string())
            .input("role", Some(live.role.clone()), &self.role_arn);
        match self.table_name.value() {
            Some(t) => {
                let mut want = self.env.clone();
                want.insert("TABLE_NAME".to_owned(), t.to_owned());
                d.field("environment", Some(env_text(&live.env)), env_text(&want));
            }
            None => {
                d.input("environment", Some(env_text(&live.env)), &self.table_name);
            }
        }
        d.field("architecture", Some(live.architecture.clone()), &self.architecture).field(
            "code_sha256",
            Some(live.code_sha256.clone()),
            &self.code.sha256,
        );
        crate::engine::diff_tags(&mut d, &live.tags, &self.tags);
        d.finish()
    }

    /// Reads the function, if it exists.
    async fn read(&self, aws: &Aws) -> Result<Option<FunctionState>, IacError> {
        let out = match aws.lambda.get_function().function_name(&self.name).send().await {
            Ok(o) => o,
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_lambda::operation::get_function::GetFunctionError::is_resource_not_found_exception,
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(aws_error(&self.label(), "GetFunction", e)),
        };
        let Some(c) = out.configuration() else { return Ok(None) };
        Ok(Some(FunctionState {
            name: self.name.clone(),
            arn: c.function_arn().unwrap_or_default().to_owned(),
            role: c.role().unwrap_or_default().to_owned(),
            runtime: c.runtime().map(|r| r.as_str().to_owned()).unwrap_or_default(),
            architecture: c.architectures().first().map(|a| a.as_str().to_owned()).unwrap_or_else(|| "x86_64".into()),
            handler: c.handler().unwrap_or_default().to_owned(),
            memory_mb: c.memory_size().unwrap_or_default(),
            timeout_seconds: c.timeout().unwrap_or_default(),
            env: c
                .environment()
                .and_then(|e| e.variables())
                .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            code_sha256: c.code_sha256().unwrap_or_default().to_owned(),
            tags: out.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default(),
        }))
    }

    /// Creates or updates the function: configuration, then code (only when the SHA-256 differs), then
    /// tags, waiting for each update to finish before the next call.
    async fn apply(&self, aws: &Aws, observed: Option<&FunctionState>, change: &Change) -> Result<(), IacError> {
        let label = self.label();
        let Some(live) = observed else {
            create_function_when_role_assumable(aws, self, Backoff::IAM_PROPAGATION).await?;
            // A new function is `Pending` until Lambda has set it up: the SDK's waiter polls `State`.
            return aws
                .lambda
                .wait_until_function_active_v2()
                .function_name(&self.name)
                .wait(FUNCTION_WAIT)
                .await
                .map(|_| ())
                .map_err(|e| wait_failed(&label, "the new function to become Active", e));
        };
        let config_props = ["runtime", "handler", "memory_mb", "timeout_seconds", "role", "environment"];
        if config_props.iter().any(|p| change.touches(p)) {
            wait_until_ready(aws, &self.name).await?;
            let role = self.role_arn.require(&label)?.to_owned();
            let table = self.table_name.require(&label)?.to_owned();
            retry(Backoff::FUNCTION_UPDATE, retryable_update, || async {
                aws.lambda
                    .update_function_configuration()
                    .function_name(&self.name)
                    .runtime(Runtime::from(self.runtime.as_str()))
                    .handler(&self.handler)
                    .memory_size(self.memory_mb)
                    .timeout(self.timeout_seconds)
                    .role(&role)
                    .environment(self.environment(&table))
                    .send()
                    .await
                    .map_err(|e| ErrorMeta::of(&e))
            })
            .await
            .map_err(|e| give_up(&label, "UpdateFunctionConfiguration", "the previous update to finish", e))?;
        }
        if change.touches("code_sha256") || change.touches("architecture") {
            wait_until_ready(aws, &self.name).await?;
            retry(Backoff::FUNCTION_UPDATE, is_update_in_progress, || async {
                aws.lambda
                    .update_function_code()
                    .function_name(&self.name)
                    .zip_file(Blob::new(self.code.zip.as_slice()))
                    .architectures(Architecture::from(self.architecture.as_str()))
                    .send()
                    .await
                    .map_err(|e| ErrorMeta::of(&e))
            })
            .await
            .map_err(|e| give_up(&label, "UpdateFunctionCode", "the previous update to finish", e))?;
        }
        if change.touches("tags") {
            aws.lambda
                .tag_resource()
                .resource(&live.arn)
                .set_tags(Some(self.tags.clone().into_iter().collect()))
                .send()
                .await
                .map_err(|e| aws_error(&label, "TagResource", e))?;
        }
        wait_until_ready(aws, &self.name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;
    use crate::resources::test_support::{tags, target};

    const ROLE: &str = "arn:aws:iam::123456789012:role/todos-dev-api-role";

    fn desired(zip: &[u8]) -> Function {
        Function {
            name: "todos-dev-api".into(),
            role_arn: Input::known(ROLE),
            table_name: Input::known("todos-dev"),
            env: BTreeMap::new(),
            runtime: "provided.al2023".into(),
            architecture: "arm64".into(),
            handler: "bootstrap".into(),
            memory_mb: 128,
            timeout_seconds: 3,
            code: Code::from_bytes(zip.to_vec()),
            target: target(),
            tags: tags(),
        }
    }

    fn live(zip: &[u8]) -> FunctionState {
        FunctionState {
            name: "todos-dev-api".into(),
            arn: "arn:aws:lambda:us-east-1:123456789012:function:todos-dev-api".into(),
            role: ROLE.into(),
            runtime: "provided.al2023".into(),
            architecture: "arm64".into(),
            handler: "bootstrap".into(),
            memory_mb: 128,
            timeout_seconds: 3,
            env: BTreeMap::from([("TABLE_NAME".into(), "todos-dev".into())]),
            code_sha256: code_sha256(zip),
            tags: tags(),
        }
    }

    #[test]
    fn code_sha256_is_base64_of_the_digest_like_lambda_reports_it() {
        // sha256("") = e3b0c442...; Lambda shows it base64-encoded.
        assert_eq!(code_sha256(b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    #[test]
    fn unchanged_code_is_not_uploaded_again() {
        assert_eq!(desired(b"zip-1").diff(Some(&live(b"zip-1"))), Change::unchanged());
    }

    #[test]
    fn different_code_changes_only_the_code() {
        let c = desired(b"zip-2").diff(Some(&live(b"zip-1")));
        assert_eq!(c.action, Action::Update);
        let names: Vec<&str> = c.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["code_sha256"]);
    }

    #[test]
    fn memory_change_is_a_configuration_update_showing_old_and_new() {
        let mut d = desired(b"z");
        d.memory_mb = 256;
        let c = d.diff(Some(&live(b"z")));
        assert_eq!(c.properties.len(), 1);
        assert_eq!((c.properties[0].old.as_deref(), c.properties[0].new.as_deref()), (Some("128"), Some("256")));
    }

    #[test]
    fn x86_function_or_extra_env_var_is_brought_back_in_line() {
        let mut l = live(b"z");
        l.architecture = "x86_64".into();
        l.env.insert("DEBUG".into(), "1".into());
        let c = desired(b"z").diff(Some(&l));
        let names: Vec<&str> = c.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["environment", "architecture"]);
    }

    #[test]
    fn role_not_assumable_is_recognised_only_by_its_exact_error() {
        let meta =
            |code: &str, msg: &str| ErrorMeta { code: Some(code.into()), message: Some(msg.into()), transport: None };
        assert!(is_role_not_assumable(&meta(
            "InvalidParameterValueException",
            "The role defined for the function cannot be assumed by Lambda."
        )));
        assert!(!is_role_not_assumable(&meta("InvalidParameterValueException", "Unsupported runtime")));
        assert!(!is_role_not_assumable(&meta("AccessDeniedException", "cannot be assumed by Lambda")));
        assert!(is_update_in_progress(&meta(
            "ResourceConflictException",
            "The operation cannot be performed at this time. An update is in progress for resource: x"
        )));
    }

    #[tokio::test]
    async fn a_new_role_is_retried_until_lambda_can_assume_it_and_no_longer() {
        // The same retry policy create_function_when_role_assumable uses, driven by the exact answers.
        let not_yet = ErrorMeta {
            code: Some("InvalidParameterValueException".into()),
            message: Some("The role defined for the function cannot be assumed by Lambda.".into()),
            transport: None,
        };
        let quick = Backoff { attempts: 5, first_delay: Duration::from_millis(1), max_delay: Duration::from_millis(1) };
        let mut answers = vec![Ok(()), Err(not_yet.clone()), Err(not_yet.clone())];
        let r = retry(quick, is_role_not_assumable, || {
            let a = answers.pop().unwrap();
            async move { a }
        })
        .await;
        assert!(r.is_ok());
        assert!(answers.is_empty());
        let r: Result<(), _> = retry(quick, is_role_not_assumable, || {
            let e = not_yet.clone();
            async move { Err(e) }
        })
        .await;
        let err = give_up("function f", "CreateFunction", "IAM to let Lambda assume the new role", r.unwrap_err());
        assert!(matches!(err, IacError::GaveUp { attempts: 5, .. }), "{err}");
    }

    #[test]
    fn a_function_whose_update_is_in_progress_is_waited_for() {
        assert_eq!(readiness(Some("Active"), Some("InProgress"), None), Readiness::Wait);
        assert_eq!(readiness(Some("Pending"), None, None), Readiness::Wait);
        assert_eq!(readiness(Some("Active"), Some("Successful"), None), Readiness::Ready);
        // Right after CreateFunction, LastUpdateStatus is absent.
        assert_eq!(readiness(Some("Active"), None, None), Readiness::Ready);
        assert_eq!(readiness(Some("Active"), Some("Failed"), Some("bad zip")), Readiness::Ready);
        assert_eq!(readiness(Some("Failed"), None, Some("bad image")), Readiness::Failed("bad image".into()));
    }

    #[test]
    fn sign_in_adds_auth_mode_to_the_environment_as_an_update() {
        let signed = Function { env: BTreeMap::from([("AUTH_MODE".into(), "jwt".into())]), ..desired(b"z") };
        let c = signed.diff(Some(&live(b"z")));
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.properties.len(), 1);
        assert_eq!(c.properties[0].name, "environment");
        assert_eq!(c.properties[0].old.as_deref(), Some("TABLE_NAME=todos-dev"));
        assert_eq!(c.properties[0].new.as_deref(), Some("AUTH_MODE=jwt,TABLE_NAME=todos-dev"));
        let live_signed = FunctionState {
            env: BTreeMap::from([("AUTH_MODE".into(), "jwt".into()), ("TABLE_NAME".into(), "todos-dev".into())]),
            ..live(b"z")
        };
        assert_eq!(signed.diff(Some(&live_signed)), Change::unchanged());
        // Without sign-in an AUTH_MODE left from an auth stack is removed.
        assert_eq!(desired(b"z").diff(Some(&live_signed)).action, Action::Update);
    }
}
