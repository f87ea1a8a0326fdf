//! The Lambda function: builds the DynamoDB client once, then serves API Gateway v2 events.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use todos::config::LambdaConfig;
use todos::entrypoints::lambda::{HttpResponse, Payload};
use todos::telemetry::{self, LogFormat};
use todos::{ApiConfig, App, DynamoStore};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init(LogFormat::Json);
    let config = LambdaConfig::from_env()?;
    let client = todos::store::lambda_client(&config)?;
    let store = DynamoStore::new(client, config.table_name);
    let app = App::new(Arc::new(store), ApiConfig { auth: config.auth, ..ApiConfig::default() });
    // The runtime reads each invocation's bytes straight into `Payload` (one pass; a foreign document
    // becomes a 400 answer, never an invocation error).
    lambda_runtime::run(service_fn(|event: LambdaEvent<Payload>| {
        let app = app.clone();
        async move {
            let response = app.handle_invocation(event.payload, &event.context.request_id).await;
            Ok::<_, std::convert::Infallible>(HttpResponse(response))
        }
    }))
    .await
}
