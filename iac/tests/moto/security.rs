//! Least privilege of the function's IAM role, checked twice with the same checker: on the policy
//! documents the code builds (pure, no emulator) and on what moto holds after a real `iac up`
//! (IAM returns documents percent-encoded: they are decoded here independently of the crate).
//!
//! The inline policy must allow exactly dynamodb:PutItem, DeleteItem and Scan on exactly the
//! table's ARN (no wildcard, no Not*, no condition tricks, one statement); the trust policy must let
//! only lambda.amazonaws.com sts:AssumeRole; the only managed policy is AWSLambdaBasicExecutionRole.

use std::collections::BTreeSet;

use super::support::*;
use iac::aws::Aws;
use serde_json::{Value, json};

const ACTIONS: [&str; 3] = ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan"];

/// A string or a list of strings, as IAM allows, as a set.
fn strings(v: &Value) -> Result<BTreeSet<String>, String> {
    match v {
        Value::String(s) => Ok(BTreeSet::from([s.clone()])),
        Value::Array(a) => {
            a.iter().map(|x| x.as_str().map(str::to_owned).ok_or(format!("not a string: {x}"))).collect()
        }
        other => Err(format!("expected a string or a list of strings, got {other}")),
    }
}

fn statements(doc: &Value) -> Result<Vec<&serde_json::Map<String, Value>>, String> {
    if doc["Version"] != "2012-10-17" {
        return Err(format!("Version must be 2012-10-17: {doc}"));
    }
    let list: Vec<&Value> = match &doc["Statement"] {
        Value::Array(a) => a.iter().collect(),
        v @ Value::Object(_) => vec![v],
        other => return Err(format!("no statements: {other}")),
    };
    list.into_iter().map(|s| s.as_object().ok_or(format!("statement is not an object: {s}"))).collect()
}

fn only_keys(s: &serde_json::Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match s.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("unexpected `{k}` in statement {s:?}")),
        None => Ok(()),
    }
}

/// The inline policy allows exactly the three actions on exactly `table_arn`, nothing else.
fn check_table_policy(doc: &Value, table_arn: &str) -> Result<(), String> {
    let st = statements(doc)?;
    if st.len() != 1 {
        return Err(format!("exactly one statement expected, got {}: {doc}", st.len()));
    }
    let s = st[0];
    only_keys(s, &["Sid", "Effect", "Action", "Resource"])?;
    if s.get("Effect") != Some(&json!("Allow")) {
        return Err(format!("Effect must be Allow: {doc}"));
    }
    let actions = strings(s.get("Action").unwrap_or(&Value::Null))?;
    let want: BTreeSet<String> = ACTIONS.iter().map(|a| (*a).to_owned()).collect();
    if actions != want {
        return Err(format!("actions must be exactly {want:?}, got {actions:?}"));
    }
    let resources = strings(s.get("Resource").unwrap_or(&Value::Null))?;
    if resources != BTreeSet::from([table_arn.to_owned()]) {
        return Err(format!("resource must be exactly {table_arn}, got {resources:?}"));
    }
    if actions.iter().chain(&resources).any(|x| x.contains('*') || x.contains('?')) {
        return Err(format!("wildcard in {doc}"));
    }
    // A table ARN: not an index or stream ARN (`.../table/t/index/i`), which is something else.
    let table_name = table_arn.strip_prefix("arn:aws:dynamodb:").and_then(|r| r.split_once(":table/")).map(|(_, t)| t);
    if !table_name.is_some_and(|t| !t.is_empty() && !t.contains('/')) {
        return Err(format!("not a table ARN (an index or stream ARN would be broader or different): {table_arn}"));
    }
    Ok(())
}

/// Only lambda.amazonaws.com may sts:AssumeRole.
fn check_trust_policy(doc: &Value) -> Result<(), String> {
    let st = statements(doc)?;
    if st.len() != 1 {
        return Err(format!("exactly one trust statement expected: {doc}"));
    }
    let s = st[0];
    only_keys(s, &["Sid", "Effect", "Principal", "Action"])?;
    if s.get("Effect") != Some(&json!("Allow")) {
        return Err(format!("Effect must be Allow: {doc}"));
    }
    if strings(s.get("Action").unwrap_or(&Value::Null))? != BTreeSet::from(["sts:AssumeRole".to_owned()]) {
        return Err(format!("only sts:AssumeRole: {doc}"));
    }
    let principal =
        s.get("Principal").and_then(Value::as_object).ok_or(format!("Principal must be an object: {doc}"))?;
    if principal.keys().collect::<Vec<_>>() != ["Service"] {
        return Err(format!("only a Service principal: {doc}"));
    }
    if strings(&principal["Service"])? != BTreeSet::from(["lambda.amazonaws.com".to_owned()]) {
        return Err(format!("only lambda.amazonaws.com: {doc}"));
    }
    Ok(())
}

/// IAM returns policy documents URL-encoded (RFC 3986); moto does too.
fn decode(text: &str) -> Value {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8().expect("UTF-8 policy");
    serde_json::from_str(&decoded).unwrap_or_else(|e| panic!("policy is not JSON after decoding ({e}): {decoded}"))
}

const TABLE_ARN: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/todos-dev";

#[test]
fn the_policies_the_code_builds_are_least_privilege() {
    use iac::resources::role::Role;
    check_table_policy(&Role::table_policy(TABLE_ARN), TABLE_ARN).unwrap();
    check_trust_policy(&Role::trust_policy()).unwrap();

    // The declared stack wires the role to the table's ARN and attaches only the basic policy.
    let spec = iac::stack::StackSpec {
        names: iac::stack::Names::new("todos", "dev"),
        config: iac::config::StackConfig::default(),
        code: iac::resources::function::Code::from_bytes(zip_with(b"x")),
        target: iac::resources::Target {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            partition: "aws".into(),
        },
    };
    let stack = iac::stack::declare(&spec);
    let role = stack.nodes.iter().find_map(|n| n.resource.downcast_ref::<Role>().cloned());
    let role = role.expect("the stack declares a role");
    assert_eq!(role.managed_policies, [BASIC]);
    let src = role.table_arn.source().expect("the policy's resource is the table's ARN output");
    assert_eq!((src.node.as_str(), src.key), ("table", "arn"));
    let table = stack.nodes.iter().find(|n| n.id == "table").unwrap();
    let planned = table.resource.planned_outputs()["arn"].clone();
    assert_eq!(planned, TABLE_ARN);
    check_table_policy(&Role::table_policy(&planned), TABLE_ARN).unwrap();

    // The checker has teeth: each broadening is refused.
    let broadened = [
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": TABLE_ARN}]}),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ACTIONS, "Resource": "*"}]}),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ACTIONS, "Resource": [TABLE_ARN, format!("{TABLE_ARN}/index/*")]}]}),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan", "dynamodb:GetItem"], "Resource": TABLE_ARN}]}),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": TABLE_ARN}]}),
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ACTIONS, "Resource": TABLE_ARN},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/k"}]}),
    ];
    for doc in &broadened {
        assert!(check_table_policy(doc, TABLE_ARN).is_err(), "accepted: {doc}");
    }
    let trust_broadened = [
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]}, "Action": "sts:AssumeRole"}]}),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:*"}]}),
    ];
    for doc in &trust_broadened {
        assert!(check_trust_policy(doc).is_err(), "accepted: {doc}");
    }
}

/// The table's ARN, and the role's inline policy document as IAM returns it (asserting that it is
/// the role's only inline policy).
async fn table_arn_and_inline_policy(aws: &Aws) -> (String, String) {
    let table = aws.dynamodb.describe_table().table_name(TABLE).send().await.unwrap();
    let table_arn = table.table().unwrap().table_arn().unwrap().to_owned();
    let names = aws.iam.list_role_policies().role_name(ROLE).send().await.unwrap();
    assert_eq!(names.policy_names(), [POLICY], "exactly one inline policy");
    let p = aws.iam.get_role_policy().role_name(ROLE).policy_name(POLICY).send().await.unwrap();
    (table_arn, p.policy_document().to_owned())
}

/// The role's only managed policy is AWSLambdaBasicExecutionRole.
async fn assert_only_basic_managed_policy(aws: &Aws) {
    let attached = aws.iam.list_attached_role_policies().role_name(ROLE).send().await.unwrap();
    let arns: Vec<&str> = attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect();
    assert_eq!(arns, [BASIC], "the only managed policy");
}

#[test]
fn the_deployed_role_read_back_from_iam_is_least_privilege() {
    let _g = exclusive();
    let rt = runtime();
    let aws = rt.block_on(aws());
    let ws = Workspace::new();
    ws.run_ok("up");
    rt.block_on(async {
        let (table_arn, raw) = table_arn_and_inline_policy(&aws).await;
        let raw = raw.as_str();
        eprintln!("inline policy as IAM returns it: {}...", &raw[..raw.len().min(48)]);
        let doc = decode(raw);
        check_table_policy(&doc, &table_arn).unwrap_or_else(|e| panic!("inline policy: {e}\nraw: {raw}"));

        let role = aws.iam.get_role().role_name(ROLE).send().await.unwrap();
        let raw = role.role().unwrap().assume_role_policy_document().unwrap();
        check_trust_policy(&decode(raw)).unwrap_or_else(|e| panic!("trust policy: {e}\nraw: {raw}"));

        assert_only_basic_managed_policy(&aws).await;

        // The function runs as exactly this role.
        let f = aws.lambda.get_function_configuration().function_name(FUNCTION).send().await.unwrap();
        assert_eq!(f.role(), Some(role.role().unwrap().arn()));
    });
    ws.run_ok("destroy");
}

/// With sign-in the inline policy allows exactly PutItem, DeleteItem and Query (never Scan) on
/// exactly the table's ARN, checked on what IAM holds after a real `iac up` of a `jwt` stack.
#[test]
fn the_deployed_sign_in_role_allows_exactly_put_delete_and_query() {
    let _g = exclusive();
    let rt = runtime();
    let aws = rt.block_on(aws());
    let ws = Workspace::new();
    ws.write_stack_config(JWT_STACK);
    ws.run_ok("up");
    rt.block_on(async {
        let (table_arn, raw) = table_arn_and_inline_policy(&aws).await;
        let doc = decode(&raw);
        let st = statements(&doc).unwrap();
        assert_eq!(st.len(), 1, "one statement: {doc}");
        only_keys(st[0], &["Sid", "Effect", "Action", "Resource"]).unwrap();
        assert_eq!(st[0].get("Effect"), Some(&json!("Allow")));
        let want: BTreeSet<String> =
            ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"].iter().map(|a| (*a).to_owned()).collect();
        assert_eq!(strings(&st[0]["Action"]).unwrap(), want);
        assert_eq!(strings(&st[0]["Resource"]).unwrap(), BTreeSet::from([table_arn.clone()]));
        // The same checker as the open stack's refuses it: Query is not Scan.
        assert!(check_table_policy(&doc, &table_arn).is_err());
        assert_only_basic_managed_policy(&aws).await;
    });
    ws.run_ok("destroy");
}

/// Nothing is deleted silently, through the real CLI: `up` of an open stack ends by saying the API
/// is open and how to turn sign-in on; switching a stack whose table holds a todo to sign-in is
/// refused (nothing changed) until `--allow-data-loss` is given.
#[test]
fn the_cli_warns_of_an_open_api_and_replaces_a_table_holding_todos_only_with_allow_data_loss() {
    let _g = exclusive();
    let rt = runtime();
    let aws = rt.block_on(aws());
    let ws = Workspace::new();
    let out = ws.run_ok("up");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.contains("open to anyone")
            && last.contains("[auth] mode = \"cognito\"")
            && last.contains("iac/stacks/dev.toml"),
        "last line: {last}"
    );
    rt.block_on(async {
        aws.dynamodb
            .put_item()
            .table_name(TABLE)
            .item("Id", aws_sdk_dynamodb::types::AttributeValue::S("6f1c1a8e-9d1b-4f50-9b7e-3f0a3b1e2c4d".into()))
            .send()
            .await
            .unwrap();
    });
    ws.write_stack_config(JWT_STACK);
    let preview = ws.run_ok("preview");
    assert!(preview.contains("key: Id (S) → UserId (S) hash, Id (S) range"), "{preview}");
    let refused = ws.run("up");
    assert!(!refused.status.success(), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("table todos-dev holds 1 item") && stderr.contains("--allow-data-loss"), "{stderr}");
    rt.block_on(async {
        let t = aws.dynamodb.describe_table().table_name(TABLE).send().await.unwrap();
        assert_eq!(t.table().unwrap().key_schema().len(), 1, "the table was not touched");
        let f = aws.lambda.get_function_configuration().function_name(FUNCTION).send().await.unwrap();
        assert_eq!(f.environment().unwrap().variables().unwrap().len(), 1, "the function was not touched");
    });
    let allowed = ws.command("up").arg("--allow-data-loss").output().unwrap();
    assert!(allowed.status.success(), "{}", text(&allowed));
    let out = String::from_utf8_lossy(&allowed.stdout);
    assert!(out.contains("authMode:     jwt") && !out.contains("open to anyone"), "{out}");
    ws.run_ok("destroy");
}
