//! The official `aws-lambda-rust-runtime` example `examples/http-dynamodb`, reproduced for `make bench`:
//! <https://github.com/awslabs/aws-lambda-rust-runtime/blob/main/examples/http-dynamodb/src/main.rs>
//!
//! Same calls in the same order as upstream: `lambda_http::run` with a `service_fn` over `Request`, the
//! body logged with `tracing::info!` and parsed into `Item` (400 with the serde error when it does not
//! parse), `serde_dynamo::to_item` and one `PutItem` on the client built once from `aws_config`, then the
//! item serialised back as the 200 body. The table name is upstream's. Keep it in step with upstream: the
//! point of the column is to measure what a user of the published crates gets.

use aws_sdk_dynamodb::Client;
use lambda_http::{run, service_fn, tracing, Body, Error, Request, Response};
use serde::{Deserialize, Serialize};
use serde_dynamo::to_item;

/// The example's item (all strings, as upstream).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Item {
    pub account_type: String,
    pub age: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
}

async fn handle_request(db_client: &Client, event: Request) -> Result<Response<Body>, Error> {
    let body = event.body();
    let s = std::str::from_utf8(body).expect("invalid utf-8 sequence");
    tracing::info!(payload = %s, "JSON Payload received");

    let item = match serde_json::from_str::<Item>(s) {
        Ok(item) => item,
        Err(err) => {
            return Ok(Response::builder()
                .status(400)
                .header("content-type", "text/html")
                .body(err.to_string().into())
                .map_err(Box::new)?);
        }
    };

    add_item(db_client, item.clone(), "lambda_dyno_example").await?;

    let j = serde_json::to_string(&item)?;
    Ok(Response::builder().status(200).header("content-type", "text/html").body(j.into()).map_err(Box::new)?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = aws_config::load_from_env().await;
    let client = Client::new(&config);
    run(service_fn(|event: Request| async { handle_request(&client, event).await })).await
}

/// One `PutItem` of the item, as upstream's `add_item`.
pub async fn add_item(client: &Client, item: Item, table: &str) -> Result<(), Error> {
    let item = to_item(item)?;
    let request = client.put_item().table_name(table).set_item(Some(item));
    tracing::info!("adding item to DynamoDB");
    request.send().await?;
    Ok(())
}
