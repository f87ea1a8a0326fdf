//! The OpenAPI document (lambda/openapi.json) describes exactly the route table: same paths, same
//! methods, and the same priority values as the domain.

use std::collections::BTreeSet;

use serde_json::Value;
use todos::routes::ROUTES;

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn openapi_paths_and_methods_equal_the_route_table() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch", "head", "options", "trace"].contains(&method.as_str()) {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let routed: BTreeSet<String> = ROUTES.iter().map(|r| r.key()).collect();
    assert_eq!(documented, routed);
}

#[test]
fn openapi_priorities_are_the_domain_priorities() {
    let doc = document();
    let values: Vec<&str> = doc["components"]["schemas"]["Priority"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for v in &values {
        assert!(todos::Priority::parse(v).is_some(), "{v}");
    }
    assert_eq!(values.len(), 3);
    assert_eq!(
        doc["components"]["schemas"]["Todo"]["properties"]["description"]["maxLength"],
        todos::domain::MAX_DESCRIPTION_CHARS
    );
}
