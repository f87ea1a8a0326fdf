//! The stack's outputs (`apiUrl`, ...) as `up` prints them and writes them to
//! `.stacks/<stack>/outputs.json` for the client and the Makefile.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::{NodeId, Outputs};
use crate::error::IacError;

/// What a client needs to reach the deployed stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl StackOutputs {
    /// Picks the outputs from the per-node outputs of a run; `None` while the stage does not exist.
    pub fn from_nodes(outputs: &HashMap<NodeId, Outputs>, region: &str) -> Option<StackOutputs> {
        let get = |node: &str, key: &str| outputs.get(node).and_then(|o| o.get(key)).cloned();
        Some(StackOutputs {
            api_url: get("stage", "url")?,
            api_id: get("http-api", "id")?,
            function_name: get("function", "name")?,
            table_name: get("table", "name")?,
            region: region.to_owned(),
        })
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
        format!(
            "Outputs:\n  apiUrl:       {}\n  apiId:        {}\n  functionName: {}\n  tableName:    {}\n  region:       {}\n",
            self.api_url, self.api_id, self.function_name, self.table_name, self.region
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_file_uses_the_camel_case_keys_the_client_reads() {
        let o = StackOutputs {
            api_url: "https://a.execute-api.us-east-1.amazonaws.com/v1".into(),
            api_id: "a".into(),
            function_name: "todos-dev-api".into(),
            table_name: "todos-dev".into(),
            region: "us-east-1".into(),
        };
        let v: serde_json::Value = serde_json::to_value(&o).unwrap();
        assert_eq!(v["apiUrl"], "https://a.execute-api.us-east-1.amazonaws.com/v1");
        assert_eq!(v["functionName"], "todos-dev-api");
        let dir = tempfile::tempdir().unwrap();
        let path = StackOutputs::path(dir.path(), "dev");
        o.write(&path).unwrap();
        assert_eq!(StackOutputs::read(&path).unwrap(), Some(o));
    }
}
