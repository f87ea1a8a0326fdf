//! The DynamoDB store: items compatible with the original Go service (string attributes `Id`,
//! `Description`, `Priority`, `DueDate`, where `DueDate: ""` means none).
//!
//! Two table layouts, one per mode of the stack: without sign-in the table's only key is `Id` (hash) and
//! [`Owner::Everyone`] lists it with `Scan`; with sign-in the table is keyed `UserId` (hash) + `Id`
//! (range), as in the article's second part, and [`Owner::User`] reads only its own partition with
//! `Query` (never `Scan`, which the deploy's IAM policy does not allow in that mode).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_http_client::tls::TrustStore;
use serde::Deserialize;
use tracing::instrument;

use super::{Page, StoreError, TodoStore};
use crate::config::LambdaConfig;
use crate::domain::{Owner, Priority, Todo};

/// The DynamoDB client of the Lambda function, built from what Lambda puts in the environment:
/// credentials from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, the region and
/// an optional endpoint from [`LambdaConfig`]. Unlike [`dynamodb_sdk_config`] it reads no profile files
/// and links no SSO/STS/IMDS providers: a smaller binary and a quicker cold start.
///
/// Fails only when the embedded trust roots cannot be loaded: the function then stops at start-up with
/// that error rather than quietly trusting something else.
pub fn lambda_client(config: &LambdaConfig) -> Result<Client, StoreError> {
    let mut builder = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(lambda_https_client(config)?)
        .credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new())
        .timeout_config(timeouts())
        .retry_config(retries())
        // Stalled-stream protection watches every body's throughput (about 17 k instructions a PutItem,
        // bench/choices.md); the requests and answers here are a few kB, and the attempt and operation
        // timeouts above already end a stalled call.
        .stalled_stream_protection(aws_sdk_dynamodb::config::StalledStreamProtectionConfig::disabled())
        // SigV4 with the day's signing key kept and hashing through ring: a third of the SDK signer's
        // instructions per request, the same signatures (super::sigv4).
        .push_auth_scheme(super::sigv4::SigV4Scheme::default());
    if let Some(region) = &config.region {
        builder = builder.region(aws_sdk_dynamodb::config::Region::new(region.clone()));
    }
    if let Some(url) = &config.endpoint_url {
        builder = builder.endpoint_url(url);
    }
    Ok(Client::from_conf(builder.build()))
}

/// HTTPS for the SDK: hyper + rustls with the `ring` provider (the SDK's default, aws-lc, adds about
/// 0.6 MB to the Lambda binary). Certificates are verified against the system's trust store, as with
/// the SDK's default client.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    let builder = aws_smithy_http_client::Builder::new().tls_provider(RUSTLS_RING);
    match tls_context(TrustStore::default()) {
        Ok(tls) => builder.tls_context(tls).build_https(),
        // The system store is optional to the SDK as well: without one it uses its built-in defaults.
        Err(_) => builder.build_https(),
    }
}

/// The roots AWS service endpoints chain to: Amazon Root CA 1-4 (Amazon Trust Services) and Starfield
/// Services Root G2, which cross-signs them. Embedded: reading and parsing the system's whole CA store at
/// start-up was about 90 % of the Lambda's init instructions (see bench/RESULTS.md).
const AWS_ROOTS_PEM: &[u8] = include_bytes!("../../certs/amazon-trust-services.pem");

/// The Lambda's HTTPS client: as [`https_client`], but trusting only [`AWS_ROOTS_PEM`] (verification
/// stays on). Where `SSL_CERT_FILE` names a trust store (a TLS-intercepting proxy, the arm64 test's own
/// CA) the system store is used instead, so the override keeps working as it does for other programs.
fn lambda_https_client(
    config: &LambdaConfig,
) -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, StoreError> {
    if config.ssl_cert_file {
        return Ok(https_client());
    }
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(AWS_ROOTS_PEM);
    let tls = tls_context(trust).map_err(|e| StoreError::unavailable("load the embedded AWS trust roots", e))?;
    Ok(aws_smithy_http_client::Builder::new().tls_provider(RUSTLS_RING).tls_context(tls).build_https())
}

const RUSTLS_RING: aws_smithy_http_client::tls::Provider =
    aws_smithy_http_client::tls::Provider::Rustls(aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring);

fn tls_context(
    trust: TrustStore,
) -> Result<aws_smithy_http_client::tls::TlsContext, aws_smithy_http_client::HttpClientError> {
    aws_smithy_http_client::tls::TlsContext::builder().with_trust_store(trust).build()
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(500))
        .read_timeout(Duration::from_millis(900))
        .operation_attempt_timeout(Duration::from_millis(900))
        .operation_timeout(Duration::from_millis(2000))
        .build()
}

fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(25))
        .with_max_backoff(Duration::from_millis(250))
}

/// Loads the AWS SDK configuration from the environment; see [`sdk_config_loader`].
pub async fn dynamodb_sdk_config() -> SdkConfig {
    sdk_config_loader().load().await
}

/// The SDK configuration loader with timeouts and retries sized for a 3 s Lambda: a dead or stalled
/// endpoint fails one call within about 2 s, leaving time to answer 503. Tests add an endpoint to it.
pub fn sdk_config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeouts())
        .retry_config(retries())
}

/// A [`TodoStore`] on a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

/// The item as the Go service wrote it, as read back (a table with sign-in adds `UserId`, which a
/// listing neither asks for nor reads).
#[derive(Debug, Deserialize)]
struct Item {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Description", default)]
    description: String,
    #[serde(rename = "Priority", default)]
    priority: String,
    #[serde(rename = "DueDate", default)]
    due_date: Option<String>,
}

impl Item {
    fn into_todo(self) -> Todo {
        // The Go service did not normalise case; a value we cannot read is shown as "normal" (and left
        // untouched in the table) rather than hiding the todo.
        let priority = Priority::parse(&self.priority.to_ascii_lowercase()).unwrap_or_else(|| {
            tracing::warn!(id = %self.id, priority = %self.priority, "unknown priority read as normal");
            Priority::Normal
        });
        Todo { id: self.id, description: self.description, priority, due_date: self.due_date.filter(|d| !d.is_empty()) }
    }
}

impl DynamoStore {
    /// A store on `table`, using `client` (build both once, at start-up).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into() }
    }
}

/// Hash key of the table with sign-in.
const USER_ID: &str = "UserId";
/// Hash key of the table without sign-in; range key of the table with it.
const ID: &str = "Id";

#[async_trait]
impl TodoStore for DynamoStore {
    #[instrument(skip(self, owner), level = "debug")]
    async fn list(&self, owner: &Owner, start_after: Option<&str>, limit: usize) -> Result<Page, StoreError> {
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let start = |mut key: HashMap<String, AttributeValue>| {
            start_after.map(|k| {
                key.insert(ID.to_owned(), AttributeValue::S(k.to_owned()));
                key
            })
        };
        let (items, last_key) = match owner {
            Owner::Everyone => {
                let out = self
                    .client
                    .scan()
                    .table_name(&self.table)
                    .consistent_read(true)
                    .limit(limit)
                    .set_exclusive_start_key(start(HashMap::new()))
                    .send()
                    .await
                    .map_err(|e| StoreError::unavailable("scan", e))?;
                (out.items, out.last_evaluated_key)
            }
            Owner::User(user) => {
                // The cursor only ever supplies the range key; the hash key is always the caller's, so no
                // cursor can move a listing into another user's partition.
                let owner_key = HashMap::from([(USER_ID.to_owned(), AttributeValue::S(user.clone()))]);
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .consistent_read(true)
                    .key_condition_expression("#owner = :owner")
                    // Only the todo's own attributes come back: every item would otherwise carry the
                    // caller's id, which the function reads and throws away (about 4 k instructions an
                    // item, 11 % of a signed-in GET of 100 todos; bench/choices.md).
                    .projection_expression("#id, #description, #priority, #due")
                    .expression_attribute_names("#owner", USER_ID)
                    .expression_attribute_names("#id", ID)
                    .expression_attribute_names("#description", "Description")
                    .expression_attribute_names("#priority", "Priority")
                    .expression_attribute_names("#due", "DueDate")
                    .expression_attribute_values(":owner", AttributeValue::S(user.clone()))
                    .limit(limit)
                    .set_exclusive_start_key(start(owner_key))
                    .send()
                    .await
                    .map_err(|e| StoreError::unavailable("query", e))?;
                (out.items, out.last_evaluated_key)
            }
        };
        let todos = items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, Item>(item)
                    .map(|item| Arc::new(item.into_todo()))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let last_key = last_key.and_then(|mut k| k.remove(ID)).and_then(|v| v.as_s().ok().cloned());
        Ok(Page { todos, last_key })
    }

    #[instrument(skip(self, owner, todo), fields(id = %todo.id), level = "debug")]
    async fn put(&self, owner: &Owner, todo: &Todo) -> Result<(), StoreError> {
        // The item `Item` describes, built directly: serde_dynamo's way there (serialise, then a map) cost
        // about 5 k instructions a PutItem for the same five attributes.
        let mut item = HashMap::with_capacity(5);
        if let Owner::User(user) = owner {
            item.insert(USER_ID.to_owned(), AttributeValue::S(user.clone()));
        }
        item.insert(ID.to_owned(), AttributeValue::S(todo.id.clone()));
        item.insert("Description".to_owned(), AttributeValue::S(todo.description.clone()));
        item.insert("Priority".to_owned(), AttributeValue::S(todo.priority.as_str().to_owned()));
        if let Some(due) = &todo.due_date {
            item.insert("DueDate".to_owned(), AttributeValue::S(due.clone()));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::unavailable("put item", e))?;
        Ok(())
    }

    #[instrument(skip(self, owner), level = "debug")]
    async fn delete(&self, owner: &Owner, id: &str) -> Result<(), StoreError> {
        let mut request = self.client.delete_item().table_name(&self.table).key(ID, AttributeValue::S(id.to_owned()));
        if let Owner::User(user) = owner {
            request = request.key(USER_ID, AttributeValue::S(user.clone()));
        }
        request.send().await.map_err(|e| StoreError::unavailable("delete item", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_aws_roots_form_a_valid_trust_store() {
        let pem = std::str::from_utf8(AWS_ROOTS_PEM).unwrap();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5, "Amazon Root CA 1-4 and Starfield G2");
        let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(AWS_ROOTS_PEM);
        assert!(aws_smithy_http_client::tls::TlsContext::builder().with_trust_store(trust).build().is_ok());
    }
}
