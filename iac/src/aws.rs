//! The AWS side: one set of SDK clients for a region and account, a counter of every AWS call (by
//! operation, via an SDK interceptor), the translation of SDK errors into [`IacError`]s that name the
//! resource, and the bounded-backoff retry used for AWS's eventual consistency.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::config::validate_region;
use crate::error::IacError;

/// Counts AWS operations by `service:Operation`; shared by every client of an [`Aws`].
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CallCounter {
    /// Operation → number of calls so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// All calls so far.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// Calls that may change something (every operation that is not a Get, List, Describe, Scan or Query).
    pub fn mutating(&self) -> BTreeMap<String, u64> {
        self.snapshot().into_iter().filter(|(op, _)| is_mutating(op)).collect()
    }

    /// Forgets the calls so far.
    pub fn reset(&self) {
        if let Ok(mut c) = self.counts.lock() {
            c.clear();
        }
    }
}

/// Whether an operation name (`service:Operation` or `Operation`) may change state.
pub fn is_mutating(op: &str) -> bool {
    let name = op.rsplit(':').next().unwrap_or(op);
    !["Get", "List", "Describe", "Scan", "Query"].iter().any(|p| name.starts_with(p))
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    // Not `read_before_execution`: for client-level interceptors that runs before the operation's
    // metadata is in the config bag. Serialization happens once per operation, retries or not.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            let key = format!("{}:{}", meta.service(), meta.name());
            if let Ok(mut c) = self.counts.lock() {
                *c.entry(key).or_default() += 1;
            }
        }
        Ok(())
    }
}

/// Clients for one account and region.
#[derive(Debug, Clone)]
pub struct Aws {
    /// Region, e.g. `eu-west-1`.
    pub region: String,
    /// Account id (from STS).
    pub account: String,
    /// ARN partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// Lambda.
    pub lambda: aws_sdk_lambda::Client,
    /// API Gateway v2.
    pub apigw: aws_sdk_apigatewayv2::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// Cognito user pools (sign-in).
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    /// Every AWS call made through these clients.
    pub calls: CallCounter,
    /// How long the creator of a resource whose name is not unique waits before checking for a
    /// concurrent creator ([`crate::resources::http_api::SETTLE`] by default). Tests that run no
    /// concurrent `up` set it to zero.
    pub settle: Duration,
}

/// The SDK's config loader with the latest behaviour version and [`https_client`]: every SDK config of
/// the crate (and of its tests) starts here, since the crate enables no default HTTP client.
pub fn config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https_client())
}

/// The SDK's HTTPS client on rustls with ring (as the Lambda's): the SDK's default would link aws-lc, a
/// second crypto library, whose C build alone took 35 s of the 2-core CI machine's test build. Trusts
/// the system's roots, like the default.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

impl Aws {
    /// Loads the default credential chain for `region` (or the environment's region) and checks the
    /// credentials with STS.
    pub async fn connect(region: Option<&str>) -> Result<Aws, IacError> {
        let mut loader = config_loader();
        if let Some(r) = region {
            loader = loader.region(aws_config::Region::new(r.to_owned()));
        }
        let sdk = loader.load().await;
        Aws::from_sdk_config(&sdk).await
    }

    /// Clients that are never called (unit tests of the engine with in-memory resource kinds):
    /// no credentials, no STS call, an endpoint nothing listens on.
    #[cfg(test)]
    pub(crate) fn offline() -> Aws {
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        Aws {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            partition: "aws".into(),
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            iam: aws_sdk_iam::Client::new(&sdk),
            lambda: aws_sdk_lambda::Client::new(&sdk),
            apigw: aws_sdk_apigatewayv2::Client::new(&sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            cognito: aws_sdk_cognitoidentityprovider::Client::new(&sdk),
            calls: CallCounter::default(),
            settle: Duration::ZERO,
        }
    }

    /// Builds clients from an SDK config (tests pass one pointing at the emulator) and asks STS who we are.
    pub async fn from_sdk_config(sdk: &SdkConfig) -> Result<Aws, IacError> {
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| IacError::NoRegion { config: std::path::PathBuf::from("iac/stacks/<stack>.toml") })?;
        validate_region(&region)?;
        check_credentials(sdk).await?;
        let calls = CallCounter::default();
        let sts =
            aws_sdk_sts::Client::from_conf(aws_sdk_sts::config::Builder::from(sdk).interceptor(calls.clone()).build());
        // Unreachable, timed out, expired, rejected, denied: each its own one-line error.
        let host = crate::aws_error::endpoint_host(sdk, "sts", &region);
        let who = sts.get_caller_identity().send().await.map_err(|e| crate::aws_error::connect_error(&host, e))?;
        let account = who.account().unwrap_or_default().to_owned();
        Ok(Aws {
            partition: partition_of(&region).to_owned(),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(calls.clone()).build(),
            ),
            iam: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(sdk).interceptor(calls.clone()).build(),
            ),
            lambda: aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(sdk).interceptor(calls.clone()).build(),
            ),
            apigw: aws_sdk_apigatewayv2::Client::from_conf(
                aws_sdk_apigatewayv2::config::Builder::from(sdk).interceptor(calls.clone()).build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(sdk).interceptor(calls.clone()).build(),
            ),
            cognito: aws_sdk_cognitoidentityprovider::Client::from_conf(
                aws_sdk_cognitoidentityprovider::config::Builder::from(sdk).interceptor(calls.clone()).build(),
            ),
            region,
            account,
            calls,
            settle: crate::resources::http_api::SETTLE,
        })
    }
}

/// The ARN partition of a region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The code and message of an AWS error, the only parts of it we show or classify on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorMeta {
    /// Error code, e.g. `ResourceConflictException`.
    pub code: Option<String>,
    /// Human message.
    pub message: Option<String>,
    /// Not a service answer (network, credentials, timeout): the error chain as text.
    pub transport: Option<String>,
}

impl ErrorMeta {
    /// Extracts code and message from an SDK error.
    pub fn of<E, R>(err: &SdkError<E, R>) -> ErrorMeta
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match err {
            SdkError::ServiceError(s) => ErrorMeta {
                code: s.err().code().map(str::to_owned),
                message: s.err().message().map(str::to_owned),
                transport: None,
            },
            // The causes' text only: `DisplayErrorContext` appends the SDK's debug dump.
            other => ErrorMeta { code: None, message: None, transport: Some(crate::aws_error::chain_text(other)) },
        }
    }

    /// The error as one line of text.
    pub fn text(&self) -> String {
        match (&self.code, &self.message, &self.transport) {
            (_, _, Some(t)) => t.clone(),
            (Some(c), Some(m), _) => format!("{c}: {m}"),
            (Some(c), None, _) => c.clone(),
            (None, Some(m), _) => m.clone(),
            (None, None, None) => "unknown error".to_owned(),
        }
    }

    /// Whether the code is `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// Translates an SDK error on `resource` during `action` into an [`IacError`] a person can act on.
pub fn aws_error<E, R>(resource: &str, action: &str, err: SdkError<E, R>) -> IacError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    classify(resource, action, ErrorMeta::of(&err)).with_source(err)
}

/// The result of a delete: the SDK's typed "not found" answer (`not_found`, e.g.
/// `DeleteTableError::is_resource_not_found_exception`) means the resource is already gone.
pub fn gone<T, E, R>(
    result: Result<T, SdkError<E, R>>,
    not_found: fn(&E) -> bool,
    resource: &str,
    action: &str,
) -> Result<(), IacError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(not_found) => Ok(()),
        Err(e) => Err(aws_error(resource, action, e)),
    }
}

/// The failure of one of the SDK's waiters (`wait_until_...`) while waiting for `what`.
pub fn wait_failed(resource: &str, what: &str, err: impl std::error::Error + Send + Sync + 'static) -> IacError {
    // The causes' text, not `DisplayErrorContext` (which appends the debug dump).
    let message = format!("waiting for {what}: {}", crate::aws_error::chain_text(&err));
    IacError::aws(resource, "wait", message).with_source(err)
}

/// Fails with [`IacError::NoCredentials`] when the credential chain finds nothing, before any call is
/// made: otherwise the first call's dispatch failure would read like a network or region problem.
async fn check_credentials(sdk: &SdkConfig) -> Result<(), IacError> {
    use aws_sdk_sts::config::ProvideCredentials as _;
    let Some(provider) = sdk.credentials_provider() else {
        return Err(IacError::NoCredentials {
            message: "no credential provider is configured".to_owned(),
            source: None,
        });
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(e) => Err(crate::aws_error::credentials_error(e)),
    }
}

/// The pure part of [`aws_error`].
pub fn classify(resource: &str, action: &str, meta: ErrorMeta) -> IacError {
    const DENIED: &[&str] = &[
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedException",
        "AuthorizationError",
    ];
    const BAD_CREDENTIALS: &[&str] = &[
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
    ];
    let code = meta.code.as_deref().unwrap_or_default();
    if crate::aws_error::EXPIRED.contains(&code) {
        // Kept a `NoCredentials`, with what to do in its message.
        return IacError::NoCredentials {
            message: format!("{} (expired: run `aws sso login` or refresh them)", meta.text()),
            source: None,
        };
    }
    if DENIED.contains(&code) {
        // AWS's message names the IAM action and the ARN when it can: say those.
        let message = meta.message.unwrap_or_default();
        return crate::aws_error::from_code("AccessDenied", &message, resource, action).unwrap_or(
            IacError::AccessDenied { resource: resource.to_owned(), action: action.to_owned(), message, source: None },
        );
    }
    if BAD_CREDENTIALS.contains(&code)
        || meta.transport.as_deref().is_some_and(|t| t.to_ascii_lowercase().contains("credential"))
    {
        return IacError::NoCredentials { message: meta.text(), source: None };
    }
    IacError::aws(resource, action, meta.text())
}

/// How long and how often to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in total (at least 1).
    pub attempts: u32,
    /// Delay after the first failure; doubled after each one.
    pub first_delay: Duration,
    /// Upper bound of one delay.
    pub max_delay: Duration,
}

impl Backoff {
    /// For IAM propagation to Lambda: about a minute and a half in all (1, 2, 4, 8, 10, 10, ... s).
    pub const IAM_PROPAGATION: Backoff =
        Backoff { attempts: 12, first_delay: Duration::from_secs(1), max_delay: Duration::from_secs(10) };
    /// For a Lambda function's update in progress: up to about two minutes.
    pub const FUNCTION_UPDATE: Backoff =
        Backoff { attempts: 40, first_delay: Duration::from_millis(500), max_delay: Duration::from_secs(3) };

    /// The delay before attempt `n + 1` after failure number `n` (1-based).
    pub fn delay(&self, failure: u32) -> Duration {
        let factor = 2u32.saturating_pow(failure.saturating_sub(1));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// The outcome of a retried operation that did not succeed.
#[derive(Debug)]
pub enum RetryError<E> {
    /// Failed with an error that is not retried.
    Failed(E),
    /// Every attempt failed with a retried error; the last one.
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        last: E,
    },
}

/// Runs `op` until it succeeds, fails with an error `retryable` rejects, or `backoff` runs out.
pub async fn retry<T, E, F, Fut>(
    backoff: Backoff,
    retryable: impl Fn(&E) -> bool,
    mut op: F,
) -> Result<T, RetryError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut failures = 0;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if !retryable(&e) => return Err(RetryError::Failed(e)),
            Err(e) => {
                failures += 1;
                if failures >= backoff.attempts.max(1) {
                    return Err(RetryError::GaveUp { attempts: failures, last: e });
                }
                tracing::warn!(attempt = failures, "retrying after a transient AWS answer: {}", short_type::<E>());
                tokio::time::sleep(backoff.delay(failures)).await;
            }
        }
    }
}

fn short_type<E>() -> &'static str {
    std::any::type_name::<E>().rsplit("::").next().unwrap_or("error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_mutating_and_everything_else_is() {
        assert!(!is_mutating("lambda:GetFunction"));
        assert!(!is_mutating("apigatewayv2:GetApis"));
        assert!(!is_mutating("logs:DescribeLogGroups"));
        assert!(!is_mutating("iam:ListAttachedRolePolicies"));
        assert!(is_mutating("lambda:UpdateFunctionCode"));
        assert!(is_mutating("iam:PutRolePolicy"));
        assert!(is_mutating("lambda:AddPermission"));
    }

    #[test]
    fn access_denied_and_bad_credentials_are_told_apart_from_other_errors() {
        let meta = |code: &str| ErrorMeta { code: Some(code.into()), message: Some("m".into()), transport: None };
        assert!(matches!(classify("role r", "CreateRole", meta("AccessDenied")), IacError::AccessDenied { .. }));
        assert!(matches!(
            classify("function f", "GetFunction", meta("AccessDeniedException")),
            IacError::AccessDenied { .. }
        ));
        assert!(matches!(
            classify("table t", "DescribeTable", meta("ExpiredTokenException")),
            IacError::NoCredentials { .. }
        ));
        let e = classify("table t", "DescribeTable", meta("ThrottlingException"));
        assert_eq!(e.to_string(), "table t: DescribeTable failed: ThrottlingException: m");
        let no_creds = ErrorMeta {
            transport: Some("failed to construct request: no credentials in the provider chain".into()),
            ..Default::default()
        };
        assert!(matches!(classify("table t", "DescribeTable", no_creds), IacError::NoCredentials { .. }));
    }

    #[test]
    fn an_sdk_error_is_kept_as_the_source_while_the_message_stays_one_line() {
        type DescribeTable = aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
        let err: SdkError<DescribeTable, aws_smithy_runtime_api::http::Response> =
            SdkError::construction_failure(std::io::Error::other("no route to the endpoint"));
        let e = aws_error("table t", "DescribeTable", err);
        assert!(matches!(e, IacError::Aws { .. }), "{e}");
        assert!(e.to_string().starts_with("table t: DescribeTable failed: ") && !e.to_string().contains('\n'));
        let chain: Vec<String> =
            std::iter::successors(std::error::Error::source(&e), |c| c.source()).map(|c| c.to_string()).collect();
        assert!(chain.iter().any(|c| c.contains("no route to the endpoint")), "{chain:?}");
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = Backoff { attempts: 5, first_delay: Duration::from_secs(1), max_delay: Duration::from_secs(5) };
        let delays: Vec<u64> = (1..=5).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 5, 5]);
    }

    #[tokio::test]
    async fn retry_stops_on_success_on_other_errors_and_after_the_bound() {
        let quick = Backoff { attempts: 4, first_delay: Duration::from_millis(1), max_delay: Duration::from_millis(2) };
        let mut calls = 0;
        let r: Result<u32, RetryError<&str>> = retry(
            quick,
            |e| *e == "transient",
            || {
                calls += 1;
                let n = calls;
                async move { if n < 3 { Err("transient") } else { Ok(n) } }
            },
        )
        .await;
        assert_eq!(r.unwrap(), 3);

        let mut calls = 0;
        let r: Result<u32, _> = retry(
            quick,
            |e| *e == "transient",
            || {
                calls += 1;
                async { Err("fatal") }
            },
        )
        .await;
        assert!(matches!(r, Err(RetryError::Failed("fatal"))));
        assert_eq!(calls, 1);

        let mut calls = 0;
        let r: Result<u32, _> = retry(
            quick,
            |_| true,
            || {
                calls += 1;
                async { Err("transient") }
            },
        )
        .await;
        assert!(matches!(r, Err(RetryError::GaveUp { attempts: 4, .. })));
        assert_eq!(calls, 4);
    }
}
