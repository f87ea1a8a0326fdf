//! The stack's outputs (`apiUrl`, ...) as `up` prints them and writes them to
//! `.stacks/<stack>/outputs.json` for the client and the Makefile.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::AuthMode;
use crate::engine::{Input, NodeId, Outputs};
use crate::error::IacError;

/// The OpenID scopes the browser app asks for.
pub const SCOPES: &str = "openid email";

/// What a client needs to reach the deployed stack, and, with sign-in, to sign in. Keys absent
/// from an older file read as a stack without sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackOutputs {
    /// `https://<api-id>.execute-api.<region>.amazonaws.com/<stage>`.
    pub api_url: String,
    /// API id.
    pub api_id: String,
    /// Function name.
    pub function_name: String,
    /// Table name.
    pub table_name: String,
    /// Region.
    pub region: String,
    /// `none`, `cognito` or `jwt`.
    #[serde(default = "no_auth")]
    pub auth_mode: String,
    /// The tokens' `iss`, exactly (sign-in modes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The audience the API accepts: the app client id (cognito), the first audience (jwt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The OIDC client id the browser app signs in with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The scopes it asks for (`openid email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    /// Cognito's hosted sign-in: `https://<domain_prefix>.auth.<region>.amazoncognito.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_ui_url: Option<String>,
}

fn no_auth() -> String {
    AuthMode::None.as_str().to_owned()
}

impl StackOutputs {
    /// Resolves the stack's exports ([`crate::stack::Stack::exports`]) against the per-node outputs
    /// of a run; `None` while one of them is not known (the stage, or a Cognito resource, does not
    /// exist yet).
    pub fn from_exports(exports: &[(&'static str, Input)], outputs: &HashMap<NodeId, Outputs>) -> Option<StackOutputs> {
        let mut values = serde_json::Map::new();
        for (key, input) in exports {
            let mut input = input.clone();
            input.resolve(outputs);
            values.insert((*key).to_owned(), serde_json::Value::String(input.value()?.to_owned()));
        }
        serde_json::from_value(serde_json::Value::Object(values)).ok()
    }

    /// `<root>/.stacks/<stack>/outputs.json`.
    pub fn path(root: &Path, stack: &str) -> PathBuf {
        root.join(".stacks").join(stack).join("outputs.json")
    }

    /// Writes the file (creating its directory).
    pub fn write(&self, path: &Path) -> Result<(), IacError> {
        let io = |source| IacError::Io { path: path.to_owned(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(io)
    }

    /// Reads the file, if present.
    pub fn read(path: &Path) -> Result<Option<StackOutputs>, IacError> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| IacError::Config { path: path.to_owned(), message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(IacError::Io { path: path.to_owned(), source }),
        }
    }

    /// The text `up` and `outputs` print.
    pub fn render(&self) -> String {
        let mut text = format!(
            "Outputs:\n  apiUrl:       {}\n  apiId:        {}\n  functionName: {}\n  tableName:    {}\n  region:       {}\n  authMode:     {}\n",
            self.api_url, self.api_id, self.function_name, self.table_name, self.region, self.auth_mode
        );
        for (key, value) in [
            ("issuer", &self.issuer),
            ("audience", &self.audience),
            ("clientId", &self.client_id),
            ("scopes", &self.scopes),
            ("hostedUiUrl", &self.hosted_ui_url),
        ] {
            if let Some(v) = value {
                text.push_str(&format!("  {:<13} {v}\n", format!("{key}:")));
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AuthConfig, StackConfig};
    use crate::resources::function::Code;
    use crate::stack::{Names, StackSpec, declare};

    /// The outputs of a `dev` stack with `auth`, from the per-node outputs of a run.
    fn outputs_of(auth: AuthConfig, nodes: &HashMap<NodeId, Outputs>) -> Option<StackOutputs> {
        let spec = StackSpec {
            names: Names::new("todos", "dev"),
            config: StackConfig { auth, ..StackConfig::default() },
            code: Code::from_bytes(Vec::new()),
            target: crate::resources::test_support::target(),
        };
        StackOutputs::from_exports(&declare(&spec).exports, nodes)
    }

    #[test]
    fn outputs_file_uses_the_camel_case_keys_the_client_reads() {
        let o = StackOutputs {
            api_url: "https://a.execute-api.us-east-1.amazonaws.com/v1".into(),
            api_id: "a".into(),
            function_name: "todos-dev-api".into(),
            table_name: "todos-dev".into(),
            region: "us-east-1".into(),
            auth_mode: "none".into(),
            ..StackOutputs::default()
        };
        let v: serde_json::Value = serde_json::to_value(&o).unwrap();
        assert_eq!(v["apiUrl"], "https://a.execute-api.us-east-1.amazonaws.com/v1");
        assert_eq!(v["functionName"], "todos-dev-api");
        let dir = tempfile::tempdir().unwrap();
        let path = StackOutputs::path(dir.path(), "dev");
        o.write(&path).unwrap();
        assert_eq!(StackOutputs::read(&path).unwrap(), Some(o));
    }

    fn nodes() -> HashMap<NodeId, Outputs> {
        HashMap::from([
            (
                "stage".to_owned(),
                Outputs::from([("url", "https://a.execute-api.us-east-1.amazonaws.com/v1".to_owned())]),
            ),
            ("http-api".to_owned(), Outputs::from([("id", "a".to_owned())])),
            ("function".to_owned(), Outputs::from([("name", "todos-dev-api".to_owned())])),
            ("table".to_owned(), Outputs::from([("name", "todos-dev".to_owned())])),
        ])
    }

    #[test]
    fn an_open_stack_writes_auth_mode_none_and_no_sign_in_keys() {
        let o = outputs_of(AuthConfig::default(), &nodes());
        let v = serde_json::to_value(o.unwrap()).unwrap();
        assert_eq!(v["authMode"], "none");
        for key in ["issuer", "audience", "clientId", "scopes", "hostedUiUrl"] {
            assert!(v.get(key).is_none(), "{key} present: {v}");
        }
    }

    #[test]
    fn an_older_outputs_file_without_the_sign_in_keys_still_reads() {
        let old =
            r#"{"apiUrl": "https://a/v1", "apiId": "a", "functionName": "f", "tableName": "t", "region": "us-east-1"}"#;
        let o: StackOutputs = serde_json::from_str(old).unwrap();
        assert_eq!(o.auth_mode, "none");
        assert_eq!(o.issuer, None);
    }

    #[test]
    fn jwt_and_cognito_stacks_write_issuer_audience_client_and_scopes() {
        let jwt = AuthConfig {
            mode: AuthMode::Jwt,
            issuer: Some("https://idp.example.com".into()),
            audiences: vec!["api://todos".into(), "other".into()],
            client_id: Some("spa-client".into()),
            ..AuthConfig::default()
        };
        let o = outputs_of(jwt.clone(), &nodes()).unwrap();
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["authMode"], "jwt");
        assert_eq!(v["issuer"], "https://idp.example.com");
        assert_eq!(v["audience"], "api://todos");
        assert_eq!(v["clientId"], "spa-client");
        assert_eq!(v["scopes"], "openid email");
        assert!(v.get("hostedUiUrl").is_none());
        let no_client = AuthConfig { client_id: None, ..jwt };
        let o = outputs_of(no_client, &nodes()).unwrap();
        assert_eq!(o.client_id.as_deref(), Some("api://todos"));

        let cognito = AuthConfig { mode: AuthMode::Cognito, ..AuthConfig::default() };
        assert_eq!(outputs_of(cognito.clone(), &nodes()), None, "not deployed yet");
        let mut all = nodes();
        all.insert(
            "user-pool".into(),
            Outputs::from([("issuer", "https://cognito-idp.us-east-1.amazonaws.com/p".to_owned())]),
        );
        all.insert("user-pool-client".into(), Outputs::from([("id", "c1".to_owned())]));
        all.insert(
            "user-pool-domain".into(),
            Outputs::from([("url", "https://d.auth.us-east-1.amazoncognito.com".to_owned())]),
        );
        let o = outputs_of(cognito, &all).unwrap();
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["authMode"], "cognito");
        assert_eq!(v["issuer"], "https://cognito-idp.us-east-1.amazonaws.com/p");
        assert_eq!(v["audience"], "c1");
        assert_eq!(v["clientId"], "c1");
        assert_eq!(v["hostedUiUrl"], "https://d.auth.us-east-1.amazoncognito.com");
        assert!(o.render().contains("hostedUiUrl:  https://d.auth"), "{}", o.render());
    }
}
