//! Configuration read once at start-up from the environment and passed down; handlers never read it.

/// A setting that is missing or wrong; the process stops at start-up with this message.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required environment variable is not set or is empty.
    #[error("environment variable {0} must be set ({1})")]
    Missing(&'static str, &'static str),
}

/// What the Lambda needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaConfig {
    /// The DynamoDB table, from `TABLE_NAME`.
    pub table_name: String,
    /// The region, from `AWS_REGION` (Lambda always sets it).
    pub region: Option<String>,
    /// An endpoint override, from `AWS_ENDPOINT_URL_DYNAMODB` or `AWS_ENDPOINT_URL` (emulators).
    pub endpoint_url: Option<String>,
    /// Whether `SSL_CERT_FILE` names a trust store to use instead of the embedded AWS roots.
    pub ssl_cert_file: bool,
}

impl LambdaConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let present = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let table_name =
            present("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME", "the DynamoDB table to use"))?;
        let region = present("AWS_REGION").or_else(|| present("AWS_DEFAULT_REGION"));
        let endpoint_url = present("AWS_ENDPOINT_URL_DYNAMODB").or_else(|| present("AWS_ENDPOINT_URL"));
        let ssl_cert_file = present("SSL_CERT_FILE").is_some();
        Ok(LambdaConfig { table_name, region, endpoint_url, ssl_cert_file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_blank_table_name_is_a_clear_error() {
        let err = LambdaConfig::from_lookup(|_| None).unwrap_err();
        assert!(err.to_string().contains("TABLE_NAME"));
        assert!(LambdaConfig::from_lookup(|_| Some("  ".into())).is_err());
        assert_eq!(LambdaConfig::from_lookup(|_| Some("todos".into())).unwrap().table_name, "todos");
    }

    #[test]
    fn the_dynamodb_endpoint_override_wins_over_the_general_one() {
        let env = |k: &str| match k {
            "TABLE_NAME" => Some("t".to_owned()),
            "AWS_REGION" => Some("eu-west-1".to_owned()),
            "AWS_ENDPOINT_URL" => Some("http://general".to_owned()),
            "AWS_ENDPOINT_URL_DYNAMODB" => Some("http://dynamodb".to_owned()),
            _ => None,
        };
        let c = LambdaConfig::from_lookup(env).unwrap();
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.endpoint_url.as_deref(), Some("http://dynamodb"));
    }
}
