//! Sign-in stacks (`[auth] mode = "jwt" | "cognito"`) against moto, through the same library calls
//! as the CLI: what is created, that a second `up` is a no-op (and how many AWS calls it makes), that
//! `destroy` leaves nothing, and that a table holding todos is never replaced without
//! `allow_data_loss`.
//!
//! Where moto differs from AWS: it has no handler for `GetAuthorizers` (the list answers 500), so the
//! crate falls back to the authorizers the routes name and these tests read the authorizer by id;
//! moto does not refuse to delete a user pool that still has a domain (AWS does: the graph deletes
//! the domain first either way); its UpdateUserPool resets `UsernameAttributes` with the other
//! settings it is not given (AWS keeps them: they are fixed at creation), so a pool updated on moto
//! then reads as one signing in by user name (a replace) — no test here updates a pool; it accepts
//! any issuer URL (the crate validates its own).

use std::collections::BTreeMap;

use iac::config::{AuthConfig, AuthMode, StackConfig};
use iac::engine::Action;
use iac::engine::apply::ApplyOptions;
use iac::{IacError, ops};

use super::support::{aws, dev_table_policy, exclusive};
use super::{mutating, spec, up};

const ISSUER: &str = "https://idp.example.com/realms/todos";

fn jwt() -> StackConfig {
    StackConfig {
        auth: AuthConfig {
            mode: AuthMode::Jwt,
            issuer: Some(ISSUER.into()),
            audiences: vec!["todos-api".into(), "todos-cli".into()],
            ..AuthConfig::default()
        },
        ..StackConfig::default()
    }
}

fn cognito() -> StackConfig {
    StackConfig { auth: AuthConfig { mode: AuthMode::Cognito, ..AuthConfig::default() }, ..StackConfig::default() }
}

/// The table keyed by owner, the narrowed policy, `AUTH_MODE`, CORS with `authorization`, and every
/// route behind one JWT authorizer with `issuer` and `audiences`. Returns the API id.
async fn assert_signed_in_stack(aws: &iac::aws::Aws, issuer: &str, audiences: &[&str]) -> String {
    let t = aws.dynamodb.describe_table().table_name("todos-dev").send().await.unwrap();
    let t = t.table().unwrap();
    let keys: Vec<(&str, &str)> = t.key_schema().iter().map(|k| (k.attribute_name(), k.key_type().as_str())).collect();
    assert_eq!(keys, [("UserId", "HASH"), ("Id", "RANGE")]);
    assert!(t.attribute_definitions().iter().all(|a| a.attribute_type().as_str() == "S"));
    assert_eq!(t.billing_mode_summary().unwrap().billing_mode().unwrap().as_str(), "PAY_PER_REQUEST");

    let (p, actions) = dev_table_policy(aws).await;
    assert_eq!(actions, ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"]);
    assert_eq!(p["Statement"][0]["Resource"], t.table_arn().unwrap());

    let f = aws.lambda.get_function_configuration().function_name("todos-dev-api").send().await.unwrap();
    let env: BTreeMap<String, String> =
        f.environment().unwrap().variables().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(env, BTreeMap::from([("AUTH_MODE".into(), "jwt".into()), ("TABLE_NAME".into(), "todos-dev".into())]));

    let apis = super::apis_named(aws, "todos-dev-api").await;
    assert_eq!(apis.len(), 1);
    let api_id = apis[0].api_id().unwrap().to_owned();
    let mut headers: Vec<String> =
        apis[0].cors_configuration().unwrap().allow_headers().iter().map(|h| h.to_ascii_lowercase()).collect();
    headers.sort();
    assert_eq!(headers, ["authorization", "content-type"]);

    let routes = aws.apigw.get_routes().api_id(&api_id).send().await.unwrap();
    assert_eq!(routes.items().len(), todos_routes::ROUTES.len());
    let ids: Vec<&str> = routes.items().iter().filter_map(|r| r.authorizer_id()).collect();
    assert_eq!(ids.len(), routes.items().len(), "every route names an authorizer: {routes:?}");
    assert!(ids.iter().all(|id| *id == ids[0]), "one authorizer for all routes: {ids:?}");
    assert!(routes.items().iter().all(|r| r.authorization_type().map(|a| a.as_str()) == Some("JWT")));
    let a = aws.apigw.get_authorizer().api_id(&api_id).authorizer_id(ids[0]).send().await.unwrap();
    assert_eq!(a.name(), Some("todos-dev-jwt"));
    assert_eq!(a.authorizer_type().map(|t| t.as_str()), Some("JWT"));
    assert_eq!(a.identity_source(), ["$request.header.Authorization"]);
    let jwt = a.jwt_configuration().unwrap();
    assert_eq!(jwt.issuer(), Some(issuer));
    let mut got: Vec<&str> = jwt.audience().iter().map(String::as_str).collect();
    got.sort_unstable();
    let mut want = audiences.to_vec();
    want.sort_unstable();
    assert_eq!(got, want);
    api_id
}

/// A second `up` changes nothing and makes no mutating call; returns (total calls, by operation).
async fn assert_second_up_is_a_no_op(aws: &iac::aws::Aws, s: &iac::stack::StackSpec, what: &str) -> u64 {
    aws.calls.reset();
    let again = up(aws, s).await;
    assert!(!again.plan.has_changes(), "{}", again.plan.render());
    assert!(again.report.executed.is_empty());
    assert_eq!(mutating(aws), BTreeMap::new());
    let total = aws.calls.total();
    eprintln!("no-op up of a {what} stack: {total} AWS calls: {:?}", aws.calls.snapshot());
    total
}

#[tokio::test]
async fn jwt_stack_puts_every_route_behind_the_authorizer_is_a_no_op_again_and_destroys_clean() {
    let _g = exclusive();
    let aws = aws().await;
    let s = spec(&aws, jwt(), b"v1");
    let first = up(&aws, &s).await;
    assert_eq!(first.report.executed.len(), 12, "11 resources and the authorizer");
    assert_signed_in_stack(&aws, ISSUER, &["todos-api", "todos-cli"]).await;
    let o = serde_json::to_value(first.outputs.unwrap()).unwrap();
    assert_eq!(o["authMode"], "jwt");
    assert_eq!(o["issuer"], ISSUER);
    assert_eq!(o["audience"], "todos-api");
    assert_eq!(o["clientId"], "todos-api");
    assert_eq!(o["scopes"], "openid email");
    assert!(o.get("hostedUiUrl").is_none());

    assert_second_up_is_a_no_op(&aws, &s, "jwt").await;

    // A new audience is an update of the authorizer alone.
    let mut more = jwt();
    more.auth.audiences.push("todos-admin".into());
    let changed = up(&aws, &spec(&aws, more, b"v1")).await;
    let changes: Vec<(&str, Action)> = changed.report.executed.iter().map(|e| (e.id.as_str(), e.action)).collect();
    assert_eq!(changes, [("authorizer", Action::Update)]);
    assert_signed_in_stack(&aws, ISSUER, &["todos-api", "todos-cli", "todos-admin"]).await;

    let report = ops::destroy(&aws, &s, &ApplyOptions::default()).await.unwrap();
    assert_eq!(report.removed.len(), 12);
    assert!(super::apis_named(&aws, "todos-dev-api").await.is_empty());
    assert!(aws.dynamodb.list_tables().send().await.unwrap().table_names().is_empty());
}

#[tokio::test]
async fn cognito_stack_creates_pool_client_domain_and_authorizer_is_a_no_op_again_and_destroys_clean() {
    let _g = exclusive();
    let aws = aws().await;
    let s = spec(&aws, cognito(), b"v1");
    let first = up(&aws, &s).await;
    assert_eq!(first.report.executed.len(), 15, "11 resources, pool, client, domain, authorizer");

    let pools = aws.cognito.list_user_pools().max_results(60).send().await.unwrap();
    let pools: Vec<_> = pools.user_pools().iter().filter(|p| p.name() == Some("todos-dev-users")).collect();
    assert_eq!(pools.len(), 1);
    let pool_id = pools[0].id().unwrap().to_owned();
    let pool = aws.cognito.describe_user_pool().user_pool_id(&pool_id).send().await.unwrap();
    let pool = pool.user_pool().unwrap();
    assert_eq!(pool.username_attributes().iter().map(|a| a.as_str()).collect::<Vec<_>>(), ["email"]);
    assert_eq!(pool.auto_verified_attributes().iter().map(|a| a.as_str()).collect::<Vec<_>>(), ["email"]);
    assert!(!pool.admin_create_user_config().unwrap().allow_admin_create_user_only(), "self sign-up");
    assert_eq!(pool.policies().unwrap().password_policy().unwrap().minimum_length(), Some(12));
    let recovery = pool.account_recovery_setting().unwrap().recovery_mechanisms();
    assert_eq!(recovery[0].name().as_str(), "verified_email");
    assert_eq!(pool.user_pool_tags().unwrap()["managed-by"], "todos-iac");

    let clients = aws.cognito.list_user_pool_clients().user_pool_id(&pool_id).max_results(60).send().await.unwrap();
    assert_eq!(clients.user_pool_clients().len(), 1);
    let client_id = clients.user_pool_clients()[0].client_id().unwrap().to_owned();
    let c = aws.cognito.describe_user_pool_client().user_pool_id(&pool_id).client_id(&client_id).send().await.unwrap();
    let c = c.user_pool_client().unwrap();
    assert_eq!(c.client_name(), Some("todos-dev-web"));
    assert_eq!(c.client_secret(), None, "a public client");
    assert_eq!(c.allowed_o_auth_flows().iter().map(|f| f.as_str()).collect::<Vec<_>>(), ["code"]);
    let mut scopes = c.allowed_o_auth_scopes().to_vec();
    scopes.sort();
    assert_eq!(scopes, ["email", "openid"]);
    assert_eq!(c.allowed_o_auth_flows_user_pool_client(), Some(true));
    assert_eq!(c.callback_urls(), ["http://localhost:8100"]);
    assert_eq!(c.logout_urls(), ["http://localhost:8100"]);
    assert_eq!(c.supported_identity_providers(), ["COGNITO"]);
    assert_eq!(c.enable_token_revocation(), Some(true));

    let prefix = format!("todos-dev-{}", aws.account);
    let d = aws.cognito.describe_user_pool_domain().domain(&prefix).send().await.unwrap();
    assert_eq!(d.domain_description().unwrap().user_pool_id(), Some(pool_id.as_str()));

    let issuer = format!("https://cognito-idp.us-east-1.amazonaws.com/{pool_id}");
    assert_signed_in_stack(&aws, &issuer, &[client_id.as_str()]).await;
    let o = serde_json::to_value(first.outputs.clone().unwrap()).unwrap();
    assert_eq!(o["authMode"], "cognito");
    assert_eq!(o["issuer"], issuer);
    assert_eq!(o["audience"], client_id);
    assert_eq!(o["clientId"], client_id);
    assert_eq!(o["scopes"], "openid email");
    assert_eq!(o["hostedUiUrl"], format!("https://{prefix}.auth.us-east-1.amazoncognito.com"));
    assert_eq!(ops::outputs(&aws, &s).await.unwrap(), first.outputs);

    assert_second_up_is_a_no_op(&aws, &s, "cognito").await;

    // A new callback URL is an update of the client alone.
    let mut moved = cognito();
    moved.auth.callback_urls.push("https://todos.example.com".into());
    let changed = up(&aws, &spec(&aws, moved, b"v1")).await;
    let changes: Vec<(&str, Action)> = changed.report.executed.iter().map(|e| (e.id.as_str(), e.action)).collect();
    assert_eq!(changes, [("user-pool-client", Action::Update)]);

    let report = ops::destroy(&aws, &s, &ApplyOptions::default()).await.unwrap();
    assert_eq!(report.removed.len(), 15);
    let pools = aws.cognito.list_user_pools().max_results(60).send().await.unwrap();
    assert!(pools.user_pools().is_empty(), "{pools:?}");
    let d = aws.cognito.describe_user_pool_domain().domain(&prefix).send().await.unwrap();
    assert!(d.domain_description().and_then(|d| d.user_pool_id()).is_none());
    assert!(super::apis_named(&aws, "todos-dev-api").await.is_empty());
    assert!(ops::destroy(&aws, &s, &ApplyOptions::default()).await.unwrap().removed.is_empty());
}

#[tokio::test]
async fn switching_on_sign_in_replaces_the_table_only_when_empty_or_with_allow_data_loss() {
    let _g = exclusive();
    let aws = aws().await;
    let open = spec(&aws, StackConfig::default(), b"v1");
    up(&aws, &open).await;
    aws.dynamodb
        .put_item()
        .table_name("todos-dev")
        .item("Id", aws_sdk_dynamodb::types::AttributeValue::S("6f1c1a8e-9d1b-4f50-9b7e-3f0a3b1e2c4d".into()))
        .item("Description", aws_sdk_dynamodb::types::AttributeValue::S("keep me".into()))
        .send()
        .await
        .unwrap();

    // Preview shows the replace and the key change.
    let signed = spec(&aws, jwt(), b"v1");
    let plan = ops::preview(&aws, &signed).await.unwrap();
    let table = plan.step("table").unwrap();
    assert_eq!(table.change.action, Action::Replace);
    let text = plan.render();
    assert!(text.contains("± replace    table       todos-dev"), "{text}");
    assert!(text.contains("key: Id (S) → UserId (S) hash, Id (S) range"), "{text}");

    // Without the flag: refused before any change, naming the table and what it holds.
    aws.calls.reset();
    let err = ops::up(&aws, &signed, &ApplyOptions::default(), None).await.unwrap_err();
    assert!(
        matches!(&err, IacError::DataLoss { resource, holds, .. } if resource == "table todos-dev" && holds == "1 item"),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains("table todos-dev holds 1 item") && message.contains("--allow-data-loss"), "{message}");
    assert_eq!(mutating(&aws), BTreeMap::new(), "nothing changed");
    let t = aws.dynamodb.describe_table().table_name("todos-dev").send().await.unwrap();
    assert_eq!(t.table().unwrap().key_schema().len(), 1);
    assert_eq!(aws.dynamodb.scan().table_name("todos-dev").send().await.unwrap().count(), 1);

    // With the flag: replaced, the item is gone, the stack is the signed-in one.
    let allow = ApplyOptions { allow_data_loss: true, ..ApplyOptions::default() };
    let result = ops::up(&aws, &signed, &allow, None).await.unwrap();
    assert!(result.report.executed.iter().any(|e| e.id == "table" && e.action == Action::Replace));
    assert_signed_in_stack(&aws, ISSUER, &["todos-api", "todos-cli"]).await;
    assert_eq!(aws.dynamodb.scan().table_name("todos-dev").send().await.unwrap().count(), 0);

    // Back to no sign-in with an empty table: no flag needed; the routes are open again.
    let back = up(&aws, &open).await;
    assert!(back.report.executed.iter().any(|e| e.id == "table" && e.action == Action::Replace));
    let t = aws.dynamodb.describe_table().table_name("todos-dev").send().await.unwrap();
    assert_eq!(t.table().unwrap().key_schema()[0].attribute_name(), "Id");
    let api_id = super::apis_named(&aws, "todos-dev-api").await[0].api_id().unwrap().to_owned();
    let routes = aws.apigw.get_routes().api_id(&api_id).send().await.unwrap();
    assert!(routes.items().iter().all(|r| r.authorization_type().map(|a| a.as_str()) == Some("NONE")));
    let f = aws.lambda.get_function_configuration().function_name("todos-dev-api").send().await.unwrap();
    assert_eq!(f.environment().unwrap().variables().unwrap().len(), 1, "only TABLE_NAME again");
}

#[tokio::test]
async fn switching_away_from_cognito_keeps_the_pool_and_destroy_still_removes_it() {
    let _g = exclusive();
    let aws = aws().await;
    up(&aws, &spec(&aws, cognito(), b"v1")).await;
    let open = spec(&aws, StackConfig::default(), b"v1");
    // The table is empty: no flag needed. The pool and its people stay: never deleted silently.
    up(&aws, &open).await;
    let pools = aws.cognito.list_user_pools().max_results(60).send().await.unwrap();
    assert_eq!(pools.user_pools().len(), 1, "the pool is kept by `up`");
    let report = ops::destroy(&aws, &open, &ApplyOptions::default()).await.unwrap();
    let mut removed: Vec<&str> =
        report.removed.iter().map(|e| e.id.as_str()).filter(|i| i.starts_with("user-pool")).collect();
    removed.sort_unstable();
    assert_eq!(removed, ["user-pool", "user-pool-client", "user-pool-domain"]);
    let pools = aws.cognito.list_user_pools().max_results(60).send().await.unwrap();
    assert!(pools.user_pools().is_empty(), "{pools:?}");
    assert!(super::apis_named(&aws, "todos-dev-api").await.is_empty());
}
