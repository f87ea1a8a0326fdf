//! Configuration read once at start-up from the environment and passed down; handlers never read it.

/// A setting that is missing or wrong; the process stops at start-up with this message.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required environment variable is not set or is empty.
    #[error("environment variable {0} must be set (the DynamoDB table to use)")]
    Missing(&'static str),
}

/// What the Lambda needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaConfig {
    /// The DynamoDB table, from `TABLE_NAME`.
    pub table_name: String,
}

impl LambdaConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table_name =
            lookup("TABLE_NAME").filter(|t| !t.trim().is_empty()).ok_or(ConfigError::Missing("TABLE_NAME"))?;
        Ok(LambdaConfig { table_name })
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
}
