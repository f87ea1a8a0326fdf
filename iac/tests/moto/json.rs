//! `--json` on `preview`, `up`, `destroy` and `outputs`, through the `iac` binary against moto: one
//! JSON document on stdout (steps, summary, applied changes, outputs, or the error), the text for
//! people on stderr.

use serde_json::Value;

use super::support::{TABLE, Workspace, aws, exclusive, runtime, text};

fn json_of(ws: &Workspace, verb: &str) -> (bool, Value, String) {
    let out = ws.command(verb).arg("--json").output().unwrap();
    let doc: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{verb}: not JSON ({e}): {}", text(&out)));
    (out.status.success(), doc, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn preview_up_outputs_and_destroy_print_one_json_document_each() {
    let _g = exclusive();
    let ws = Workspace::new();

    let (ok, doc, stderr) = json_of(&ws, "preview");
    assert!(ok, "{doc}");
    assert_eq!(
        (doc["version"].as_u64(), doc["command"].as_str(), doc["ok"].as_bool()),
        (Some(1), Some("preview"), Some(true))
    );
    assert_eq!((doc["stack"].as_str(), doc["region"].as_str()), (Some("dev"), Some("us-east-1")));
    assert_eq!(
        doc["summary"],
        serde_json::json!({"create": 11, "update": 0, "replace": 0, "delete": 0, "unchanged": 0})
    );
    let steps = doc["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 11);
    assert!(steps.iter().all(|s| s["action"] == "create" && s["foreign"] == false));
    let table = steps.iter().find(|s| s["id"] == "table").unwrap();
    assert_eq!((table["kind"].as_str(), table["name"].as_str()), (Some("table"), Some(TABLE)));
    assert!(table["changes"].as_array().unwrap().iter().all(|c| c["old"].is_null() && c["new"].is_string()), "{table}");
    let api = steps.iter().find(|s| s["id"] == "http-api").unwrap();
    assert_eq!((api["kind"].as_str(), api["name"].as_str()), (Some("http api"), Some("todos-dev-api")));
    // People still get the plan, on stderr.
    assert!(stderr.contains("Plan: 11 to create"), "{stderr}");

    let (ok, doc, stderr) = json_of(&ws, "up");
    assert!(ok, "{doc}");
    assert_eq!(doc["applied"].as_array().unwrap().len(), 11);
    assert!(doc["applied"].as_array().unwrap().iter().all(|a| a["action"] == "create" && a["seconds"].is_number()));
    let url = doc["outputs"]["apiUrl"].as_str().unwrap().to_owned();
    assert!(url.starts_with("https://") && url.ends_with("/v1"), "{url}");
    assert!(stderr.contains("created   table todos-dev"), "progress on stderr: {stderr}");

    // A changed setting: the update with its property, old → new.
    ws.write_stack_config("[function]\nmemory_mb = 256\n");
    let (_, doc, _) = json_of(&ws, "preview");
    assert_eq!(doc["summary"]["update"], 1);
    let f = doc["steps"].as_array().unwrap().iter().find(|s| s["action"] == "update").unwrap().clone();
    assert_eq!(f["kind"], "function");
    assert!(f["changes"].as_array().unwrap().iter().any(|c| c["old"] == "128" && c["new"] == "256"), "{f}");

    let (ok, doc, _) = json_of(&ws, "outputs");
    assert!(ok, "{doc}");
    assert_eq!(doc["outputs"]["apiUrl"], url.as_str());
    assert_eq!(doc["outputs"]["tableName"], TABLE);

    let (ok, doc, _) = json_of(&ws, "destroy");
    assert!(ok, "{doc}");
    assert_eq!(doc["applied"].as_array().unwrap().len(), 11);
    assert_eq!(doc["summary"]["delete"], 11);
    assert_eq!(doc["left_alone"], serde_json::json!([]));

    let (ok, doc, _) = json_of(&ws, "outputs");
    assert!(ok);
    assert!(doc["outputs"].is_null(), "not deployed: {doc}");
}

#[test]
fn a_failure_is_still_one_json_document_with_the_error() {
    let _g = exclusive();
    let rt = runtime();
    rt.block_on(async {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        aws()
            .await
            .dynamodb
            .create_table()
            .table_name(TABLE)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("Id")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(KeySchemaElement::builder().attribute_name("Id").key_type(KeyType::Hash).build().unwrap())
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap();
    });
    let ws = Workspace::new();
    let (ok, doc, stderr) = json_of(&ws, "preview");
    assert!(!ok);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["kind"], "NameTaken");
    assert!(
        doc["error"]["message"].as_str().unwrap().starts_with("table todos-dev: the name is already taken"),
        "{doc}"
    );
    assert!(stderr.contains("error: table todos-dev: the name is already taken"), "{stderr}");
}
