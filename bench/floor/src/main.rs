//! The floor for `make bench`: the least a Rust Lambda behind API Gateway v2 can do. It decodes the
//! event (typed, as a hello world would) and answers a constant response; no SDK, no logging.
//! Same release profile and the same tokio flavour (current thread) as `bootstrap`.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_event: LambdaEvent<ApiGatewayV2httpRequest>| async {
        let mut response = ApiGatewayV2httpResponse::default();
        response.status_code = 200;
        response.headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        response.body = Some(Body::Text(r#"{"message":"hello"}"#.to_owned()));
        Ok::<_, Error>(response)
    }))
    .await
}
