//! The deploy crate against a real emulator: moto servers started here (on loopback, free ports), each
//! held by one test at a time and reset for it, so the tests of this binary (this file and its
//! modules) run in parallel, each with an AWS account of its own.
//!
//! moto gaps and how they are covered: UpdateStage answers 500 (stage updates are checked by the
//! request-building unit test in `stage.rs` and the pure diff); Lambda never reports an update in
//! progress nor a role it cannot assume yet (the exact errors and the wait are unit-tested in
//! `function.rs` and `aws.rs`); moto accepts out-of-range settings (validated in `config.rs`).

use std::collections::BTreeMap;
use std::time::Instant;

use iac::aws::Aws;
use iac::config::StackConfig;
use iac::engine::apply::ApplyOptions;
use iac::engine::{Action, StopSignal};
use iac::resources::Target;
use iac::resources::function::Code;
use iac::stack::{Names, StackSpec};
use iac::{IacError, ops};

mod support;

// Every integration test of the crate is a module of this one binary: each test executable links
// all the AWS SDKs again, so one binary builds and links them once.

/// The sign-in stacks (`[auth]`).
#[path = "moto/sign_in.rs"]
mod sign_in;

/// `iac smoke` against the dev server (open, signed in) and a broken API.
#[path = "moto/smoke.rs"]
mod smoke;

/// `iac logs` against moto's CloudWatch Logs.
#[path = "moto/logs.rs"]
mod logs;

/// AWS failures as actionable one-line errors.
#[path = "moto/errors.rs"]
mod errors;

/// Deploy reliability: the real `iac` binary killed at every progress point, concurrent `up`s.
#[path = "moto/deploy_crash.rs"]
mod deploy_crash;
/// `--json` documents of preview / up / destroy / outputs.
#[path = "moto/json.rs"]
mod json;

/// Least privilege of the function's role, built and deployed.
#[path = "moto/security.rs"]
mod security;

use support::{aws, dev_table_policy, exclusive, zip_with};

fn spec(aws: &Aws, config: StackConfig, code: &[u8]) -> StackSpec {
    StackSpec {
        names: Names::new("todos", "dev"),
        config,
        code: Code::from_bytes(zip_with(code)),
        target: Target { region: aws.region.clone(), account: aws.account.clone(), partition: aws.partition.clone() },
    }
}

fn mutating(aws: &Aws) -> BTreeMap<String, u64> {
    aws.calls.mutating()
}

async fn up(aws: &Aws, spec: &StackSpec) -> ops::UpResult {
    ops::up(aws, spec, &ApplyOptions::default(), None).await.unwrap()
}

async fn apis_named(aws: &Aws, name: &str) -> Vec<aws_sdk_apigatewayv2::types::Api> {
    let out = aws.apigw.get_apis().send().await.unwrap();
    out.items().iter().filter(|a| a.name() == Some(name)).cloned().collect()
}

#[tokio::test]
async fn up_on_an_empty_account_creates_every_resource_with_every_setting() {
    let _g = exclusive();
    let aws = aws().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".stacks/dev/outputs.json");
    let s = spec(&aws, StackConfig::default(), b"v1");
    let result = ops::up(&aws, &s, &ApplyOptions::default(), Some(&path)).await.unwrap();
    assert_eq!(result.report.executed.len(), 11);
    assert!(result.report.executed.iter().all(|e| e.action == Action::Create));
    let tags = |m: Option<&std::collections::HashMap<String, String>>| {
        let m = m.cloned().unwrap_or_default();
        (m.get("project").cloned(), m.get("stack").cloned(), m.get("managed-by").cloned())
    };
    let ours = (Some("todos".to_owned()), Some("dev".to_owned()), Some("todos-iac".to_owned()));

    // Table: Id (S), on demand, tagged.
    let t = aws.dynamodb.describe_table().table_name("todos-dev").send().await.unwrap();
    let t = t.table().unwrap();
    assert_eq!(t.key_schema()[0].attribute_name(), "Id");
    assert_eq!(t.attribute_definitions()[0].attribute_type().as_str(), "S");
    assert_eq!(t.billing_mode_summary().unwrap().billing_mode().unwrap().as_str(), "PAY_PER_REQUEST");
    let tt = aws.dynamodb.list_tags_of_resource().resource_arn(t.table_arn().unwrap()).send().await.unwrap();
    assert_eq!(tt.tags().len(), 3);
    let table_arn = t.table_arn().unwrap().to_owned();

    // Role: trusted by Lambda; exactly three actions on the table; basic execution attached.
    let role = aws.iam.get_role().role_name("todos-dev-api-role").send().await.unwrap();
    let trust =
        iac::resources::role::decode_policy(role.role().unwrap().assume_role_policy_document().unwrap()).unwrap();
    assert_eq!(trust["Statement"][0]["Principal"]["Service"], "lambda.amazonaws.com");
    let names = aws.iam.list_role_policies().role_name("todos-dev-api-role").send().await.unwrap();
    assert_eq!(names.policy_names(), ["todos-dev-table-access"]);
    let (p, actions) = dev_table_policy(&aws).await;
    assert_eq!(actions, ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan"]);
    assert_eq!(p["Statement"][0]["Resource"], table_arn.as_str());
    let attached = aws.iam.list_attached_role_policies().role_name("todos-dev-api-role").send().await.unwrap();
    assert_eq!(
        attached.attached_policies()[0].policy_arn(),
        Some("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    );
    let rt = aws.iam.list_role_tags().role_name("todos-dev-api-role").send().await.unwrap();
    assert_eq!(rt.tags().len(), 3);

    // Log group: 30 days, tagged.
    let lg = aws.logs.describe_log_groups().log_group_name_prefix("/aws/lambda/todos-dev-api").send().await.unwrap();
    assert_eq!(lg.log_groups().len(), 1);
    assert_eq!(lg.log_groups()[0].retention_in_days(), Some(30));

    // Function.
    let f = aws.lambda.get_function().function_name("todos-dev-api").send().await.unwrap();
    let c = f.configuration().unwrap();
    assert_eq!(c.runtime().unwrap().as_str(), "provided.al2023");
    assert_eq!(c.architectures()[0].as_str(), "arm64");
    assert_eq!(c.handler(), Some("bootstrap"));
    assert_eq!(c.memory_size(), Some(128));
    assert_eq!(c.timeout(), Some(3));
    assert_eq!(c.role(), Some(role.role().unwrap().arn()));
    assert_eq!(c.environment().unwrap().variables().unwrap()["TABLE_NAME"], "todos-dev");
    assert_eq!(c.code_sha256(), Some(s.code.sha256.as_str()));
    assert_eq!(tags(f.tags()), ours);

    // HTTP API with the contract's CORS.
    let apis = apis_named(&aws, "todos-dev-api").await;
    assert_eq!(apis.len(), 1);
    let api = &apis[0];
    assert_eq!(tags(api.tags()), ours);
    let cors = api.cors_configuration().unwrap();
    assert_eq!(cors.allow_origins(), ["*"]);
    let mut methods = cors.allow_methods().to_vec();
    methods.sort();
    assert_eq!(methods, ["DELETE", "GET", "POST"]);
    assert_eq!(cors.allow_headers(), ["content-type"]);
    assert_eq!(cors.expose_headers(), ["x-next-cursor"]);
    assert_eq!(cors.max_age(), Some(7200));
    assert_eq!(cors.allow_credentials(), Some(false));
    let api_id = api.api_id().unwrap();

    // Integration, routes, stage.
    let ints = aws.apigw.get_integrations().api_id(api_id).send().await.unwrap();
    assert_eq!(ints.items().len(), 1);
    let i = &ints.items()[0];
    assert_eq!(i.integration_type().unwrap().as_str(), "AWS_PROXY");
    assert_eq!(i.integration_uri(), c.function_arn());
    assert_eq!(i.integration_method(), Some("POST"));
    assert_eq!(i.payload_format_version(), Some("2.0"));
    assert_eq!(i.timeout_in_millis(), Some(3000));
    let routes = aws.apigw.get_routes().api_id(api_id).send().await.unwrap();
    let mut keys: Vec<&str> = routes.items().iter().map(|r| r.route_key().unwrap()).collect();
    keys.sort();
    let mut want: Vec<String> = todos_routes::ROUTES.iter().map(|r| r.key()).collect();
    want.sort();
    assert_eq!(keys, want);
    let target = format!("integrations/{}", i.integration_id().unwrap());
    assert!(routes.items().iter().all(|r| r.target() == Some(target.as_str())));
    let st = aws.apigw.get_stage().api_id(api_id).stage_name("v1").send().await.unwrap();
    assert_eq!(st.auto_deploy(), Some(true));
    assert_eq!(st.default_route_settings().unwrap().throttling_burst_limit(), Some(10));
    assert_eq!(st.default_route_settings().unwrap().throttling_rate_limit(), Some(50.0));
    assert_eq!(tags(st.tags()), ours);

    // Permission restricted to this API.
    let pol = aws.lambda.get_policy().function_name("todos-dev-api").send().await.unwrap();
    let perm =
        iac::resources::permission::parse_statement(pol.policy().unwrap(), "todos-dev-api", "todos-dev-apigw-invoke")
            .unwrap();
    assert_eq!(perm.principal, "apigateway.amazonaws.com");
    assert_eq!(perm.source_arn, Some(format!("arn:aws:execute-api:us-east-1:{}:{api_id}/*/*/*", aws.account)));

    // Outputs file for the client and the Makefile.
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(written["apiUrl"], format!("https://{api_id}.execute-api.us-east-1.amazonaws.com/v1"));
    assert_eq!(written["tableName"], "todos-dev");
    assert_eq!(written["functionName"], "todos-dev-api");
    assert_eq!(written["region"], "us-east-1");
    assert_eq!(ops::outputs(&aws, &s).await.unwrap(), result.outputs);
}

#[tokio::test]
async fn second_up_plans_zero_changes_and_makes_no_mutating_call() {
    let _g = exclusive();
    let aws = aws().await;
    let s = spec(&aws, StackConfig::default(), b"v1");
    up(&aws, &s).await;
    aws.calls.reset();
    let t0 = Instant::now();
    let again = up(&aws, &s).await;
    let elapsed = t0.elapsed();
    assert!(!again.plan.has_changes(), "{}", again.plan.render());
    assert!(again.report.executed.is_empty());
    assert_eq!(mutating(&aws), BTreeMap::new());
    assert!(again.outputs.is_some());
    eprintln!("no-op up: {} AWS calls, {:?}: {:?}", aws.calls.total(), elapsed, aws.calls.snapshot());
}

#[tokio::test]
async fn preview_on_an_empty_account_plans_creates_and_changes_nothing() {
    let _g = exclusive();
    let aws = aws().await;
    let s = spec(&aws, StackConfig::default(), b"v1");
    let plan = ops::preview(&aws, &s).await.unwrap();
    assert_eq!(plan.summary(), "Plan: 11 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged.");
    assert_eq!(mutating(&aws), BTreeMap::new());
    assert!(apis_named(&aws, "todos-dev-api").await.is_empty());
}

#[tokio::test]
async fn changing_only_the_code_updates_only_the_function_code() {
    let _g = exclusive();
    let aws = aws().await;
    up(&aws, &spec(&aws, StackConfig::default(), b"v1")).await;
    aws.calls.reset();
    let s2 = spec(&aws, StackConfig::default(), b"v2");
    let r = up(&aws, &s2).await;
    let changed: Vec<(&str, Action)> = r.report.executed.iter().map(|e| (e.id.as_str(), e.action)).collect();
    assert_eq!(changed, vec![("function", Action::Update)]);
    assert_eq!(mutating(&aws), BTreeMap::from([("Lambda:UpdateFunctionCode".to_owned(), 1)]));
    let c = aws.lambda.get_function_configuration().function_name("todos-dev-api").send().await.unwrap();
    assert_eq!(c.code_sha256(), Some(s2.code.sha256.as_str()));
}

#[tokio::test]
async fn changing_a_setting_updates_only_that_resource() {
    let _g = exclusive();
    let aws = aws().await;
    up(&aws, &spec(&aws, StackConfig::default(), b"v1")).await;

    let mut memory = StackConfig::default();
    memory.function.memory_mb = 256;
    aws.calls.reset();
    let r = up(&aws, &spec(&aws, memory.clone(), b"v1")).await;
    assert_eq!(r.report.executed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["function"]);
    assert_eq!(mutating(&aws), BTreeMap::from([("Lambda:UpdateFunctionConfiguration".to_owned(), 1)]));
    let c = aws.lambda.get_function_configuration().function_name("todos-dev-api").send().await.unwrap();
    assert_eq!(c.memory_size(), Some(256));

    let mut retention = memory;
    retention.function.log_retention_days = 14;
    aws.calls.reset();
    let r = up(&aws, &spec(&aws, retention.clone(), b"v1")).await;
    assert_eq!(r.report.executed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["log-group"]);
    assert_eq!(mutating(&aws), BTreeMap::from([("CloudWatch Logs:PutRetentionPolicy".to_owned(), 1)]));

    let mut origins = retention;
    origins.api.cors_allow_origins = vec!["http://localhost:8100".into()];
    aws.calls.reset();
    let r = up(&aws, &spec(&aws, origins, b"v1")).await;
    assert_eq!(r.report.executed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["http-api"]);
    assert_eq!(mutating(&aws), BTreeMap::from([("ApiGatewayV2:UpdateApi".to_owned(), 1)]));
    let api = &apis_named(&aws, "todos-dev-api").await[0];
    assert_eq!(api.cors_configuration().unwrap().allow_origins(), ["http://localhost:8100"]);
}

async fn assert_exactly_one_of_each(aws: &Aws) {
    let apis = apis_named(aws, "todos-dev-api").await;
    assert_eq!(apis.len(), 1, "one HTTP API");
    let api_id = apis[0].api_id().unwrap();
    assert_eq!(aws.apigw.get_integrations().api_id(api_id).send().await.unwrap().items().len(), 1);
    assert_eq!(aws.apigw.get_routes().api_id(api_id).send().await.unwrap().items().len(), 3);
    assert_eq!(aws.apigw.get_stages().api_id(api_id).send().await.unwrap().items().len(), 1);
    let pol = aws.lambda.get_policy().function_name("todos-dev-api").send().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(pol.policy().unwrap()).unwrap();
    assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);
    let lg = aws.logs.describe_log_groups().log_group_name_prefix("/aws/lambda/todos-dev").send().await.unwrap();
    assert_eq!(lg.log_groups().len(), 1);
    let fns = aws.lambda.list_functions().send().await.unwrap();
    assert_eq!(fns.functions().len(), 1);
    let tables = aws.dynamodb.list_tables().send().await.unwrap();
    assert_eq!(tables.table_names(), ["todos-dev"]);
}

#[tokio::test]
async fn up_interrupted_after_n_changes_converges_on_the_next_up() {
    let moto = exclusive();
    // Changes already in flight when the stop point is reached still finish, so for a large N the
    // first run may complete; small N must be interrupted.
    for n in [1, 2, 3, 5, 6, 8] {
        moto.reset();
        let aws = aws().await;
        let s = spec(&aws, StackConfig::default(), b"v1");
        let opts = ApplyOptions { stop_after: Some(n), ..ApplyOptions::default() };
        match ops::up(&aws, &s, &opts, None).await {
            Err(IacError::Interrupted { applied, .. }) => assert!(applied >= n, "n={n}"),
            Ok(r) if n > 3 => assert_eq!(r.report.executed.len(), 11),
            other => panic!("n={n}: expected an interruption, got {:?}", other.map(|r| r.report.executed.len())),
        }
        let r = up(&aws, &s).await;
        assert!(r.report.executed.len() + n <= 11, "n={n}: nothing redone");
        assert_exactly_one_of_each(&aws).await;
        let again = ops::preview(&aws, &s).await.unwrap();
        assert!(!again.has_changes(), "n={n}: {}", again.render());
    }
}

#[tokio::test]
async fn first_stop_request_lets_in_flight_work_finish_and_starts_nothing_new() {
    let _g = exclusive();
    let aws = aws().await;
    let s = spec(&aws, StackConfig::default(), b"v1");
    let stop = StopSignal::new();
    stop.raise();
    let opts = ApplyOptions { stop, ..ApplyOptions::default() };
    let err = ops::up(&aws, &s, &opts, None).await.unwrap_err();
    assert!(matches!(err, IacError::Interrupted { applied: 0, remaining: 11 }), "{err}");
    assert!(aws.calls.mutating().is_empty());
}

#[tokio::test]
async fn destroy_leaves_nothing_of_the_stack_and_never_touches_an_untagged_look_alike() {
    let _g = exclusive();
    let aws = aws().await;
    let s = spec(&aws, StackConfig::default(), b"v1");
    up(&aws, &s).await;
    let look_alike = aws
        .apigw
        .create_api()
        .name("todos-dev-api")
        .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
        .send()
        .await
        .unwrap();
    let look_alike_id = look_alike.api_id().unwrap().to_owned();

    let report = ops::destroy(&aws, &s, &ApplyOptions::default()).await.unwrap();
    assert_eq!(report.removed.len(), 11);
    let apis = apis_named(&aws, "todos-dev-api").await;
    assert_eq!(apis.iter().map(|a| a.api_id().unwrap()).collect::<Vec<_>>(), [look_alike_id.as_str()]);
    assert!(aws.dynamodb.list_tables().send().await.unwrap().table_names().is_empty());
    assert!(aws.lambda.list_functions().send().await.unwrap().functions().is_empty());
    assert!(aws.iam.get_role().role_name("todos-dev-api-role").send().await.is_err());
    let lg = aws.logs.describe_log_groups().log_group_name_prefix("/aws/lambda/todos-dev").send().await.unwrap();
    assert!(lg.log_groups().is_empty());

    // Nothing left: a second destroy removes nothing and does not fail.
    let again = ops::destroy(&aws, &s, &ApplyOptions::default()).await.unwrap();
    assert!(again.removed.is_empty());
}

#[tokio::test]
async fn a_name_taken_by_something_not_ours_is_an_actionable_error_and_survives_destroy() {
    let _g = exclusive();
    let aws = aws().await;
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    aws.dynamodb
        .create_table()
        .table_name("todos-dev")
        .attribute_definitions(
            AttributeDefinition::builder().attribute_name("Id").attribute_type(ScalarAttributeType::S).build().unwrap(),
        )
        .key_schema(KeySchemaElement::builder().attribute_name("Id").key_type(KeyType::Hash).build().unwrap())
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let s = spec(&aws, StackConfig::default(), b"v1");
    let err = ops::preview(&aws, &s).await.unwrap_err();
    assert!(matches!(&err, IacError::NameTaken { resource, .. } if resource == "table todos-dev"), "{err}");
    assert!(err.to_string().contains("managed-by=todos-iac"), "{err}");
    let report = ops::destroy(&aws, &s, &ApplyOptions::default()).await.unwrap();
    assert_eq!(report.left_alone, ["table todos-dev"]);
    assert_eq!(aws.dynamodb.list_tables().send().await.unwrap().table_names(), ["todos-dev"]);
}

#[tokio::test]
async fn log_group_lambda_already_created_is_adopted_then_given_retention_and_tags() {
    let _g = exclusive();
    let aws = aws().await;
    aws.logs.create_log_group().log_group_name("/aws/lambda/todos-dev-api").send().await.unwrap();
    let s = spec(&aws, StackConfig::default(), b"v1");
    let plan = ops::preview(&aws, &s).await.unwrap();
    assert_eq!(plan.step("log-group").unwrap().change.action, Action::Update);
    up(&aws, &s).await;
    let lg = aws.logs.describe_log_groups().log_group_name_prefix("/aws/lambda/todos-dev-api").send().await.unwrap();
    assert_eq!(lg.log_groups().len(), 1);
    assert_eq!(lg.log_groups()[0].retention_in_days(), Some(30));
    let arn = lg.log_groups()[0].log_group_arn().unwrap();
    let tags = aws.logs.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
    assert_eq!(tags.tags().unwrap()["managed-by"], "todos-iac");
    assert!(!ops::preview(&aws, &s).await.unwrap().has_changes());
}

#[tokio::test]
async fn preview_of_a_known_change_matches_the_golden_file() {
    let _g = exclusive();
    let aws = aws().await;
    up(&aws, &spec(&aws, StackConfig::default(), b"v1")).await;
    let mut changed = StackConfig::default();
    changed.function.memory_mb = 256;
    changed.api.cors_allow_origins = vec!["http://localhost:8100".into()];
    // A route the contract no longer has, left by an older version.
    let api_id = apis_named(&aws, "todos-dev-api").await[0].api_id().unwrap().to_owned();
    aws.apigw.create_route().api_id(&api_id).route_key("PUT /todos").send().await.unwrap();
    aws.calls.reset();
    let plan = ops::preview(&aws, &spec(&aws, changed, b"v2")).await.unwrap();
    assert_eq!(mutating(&aws), BTreeMap::new());
    let text = plan.render().replace(&api_id, "<api-id>").replace(&aws.account, "<account>");
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/preview_change.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &text).unwrap();
    }
    let want = std::fs::read_to_string(&golden).expect("golden file (UPDATE_GOLDEN=1 writes it)");
    assert_eq!(text, want);
}
