//! The todos Lambda on `lambda_http` (API Gateway v2 only): the variant issue 10 asks to measure against
//! the shipped `bootstrap` (lambda_runtime + the lean event of `todos::entrypoints::lambda`). Same app,
//! same DynamoDB client; lambda_http decodes the event into an `http::Request` and this converts it.

use std::sync::Arc;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response, run, service_fn};
use todos::config::LambdaConfig;
use todos::telemetry::{self, LogFormat};
use todos::{ApiConfig, ApiRequest, App, DynamoStore};

async fn handle(app: &App, req: Request) -> Result<Response<Body>, Error> {
    let (route_key, stage, subject) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => (
            c.route_key.clone(),
            c.stage.clone(),
            c.authorizer.as_ref().and_then(|a| a.jwt.as_ref()).and_then(|j| j.claims.get("sub").cloned()),
        ),
        _ => (None, None, None),
    };
    let pairs = |m: Option<&lambda_http::aws_lambda_events::query_map::QueryMap>| {
        m.map(|m| m.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()).unwrap_or_default()
    };
    let request = ApiRequest {
        method: req.method().as_str().to_owned(),
        route: route_key.as_deref().and_then(todos::routes::route_for_key),
        route_key,
        path: req.raw_http_path().to_owned(),
        stage,
        path_parameters: pairs(req.path_parameters_ref()),
        query: pairs(req.query_string_parameters_ref()),
        body: match req.body() {
            Body::Empty => None,
            Body::Text(t) => Some(t.clone().into_bytes()),
            Body::Binary(b) => Some(b.clone()),
            _ => None,
        },
        subject,
    };
    let response = app.handle(&request).await;
    let mut builder = Response::builder().status(response.status);
    for (name, value) in response.headers {
        builder = builder.header(name, value);
    }
    Ok(builder.body(response.body.map_or(Body::Empty, Body::from))?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init(LogFormat::Json);
    let config = LambdaConfig::from_env()?;
    let client = todos::store::lambda_client(&config)?;
    let store = DynamoStore::new(client, config.table_name);
    let app = App::new(Arc::new(store), ApiConfig { auth: config.auth, ..ApiConfig::default() });
    run(service_fn(|req: Request| handle(&app, req))).await
}
