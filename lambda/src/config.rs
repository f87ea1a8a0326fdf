//! Configuration read once at start-up from the environment and passed down; handlers never read it.

/// A setting that is missing or wrong; the process stops at start-up with this message.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required environment variable is not set or is empty.
    #[error("environment variable {0} must be set ({1})")]
    Missing(&'static str, &'static str),
    /// An environment variable has a value this program does not understand.
    #[error("environment variable {name} is {value:?}; expected {expected}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it may be.
        expected: &'static str,
    },
}

/// Whether requests come with a signed-in user, and so whose todos they see.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// No sign-in: one shared list, today's open API.
    #[default]
    None,
    /// A JWT authorizer in front (API Gateway's in AWS, the dev server's locally) verified the caller's
    /// token; its `sub` claim is the owner of the request. A request without one is refused.
    Jwt,
}

impl AuthMode {
    /// Parses `AUTH_MODE`: `jwt` turns sign-in on; unset, empty or `none` leaves it off.
    pub fn parse(value: Option<&str>) -> Result<Self, ConfigError> {
        match value.map(str::trim).unwrap_or_default() {
            "" | "none" => Ok(AuthMode::None),
            "jwt" => Ok(AuthMode::Jwt),
            other => Err(ConfigError::Invalid {
                name: "AUTH_MODE",
                value: other.to_owned(),
                expected: "`jwt` (sign-in on) or `none` / unset (sign-in off)",
            }),
        }
    }
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
    /// Sign-in, from `AUTH_MODE` (the deploy sets `jwt` in its `cognito` and `jwt` modes).
    pub auth: AuthMode,
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
        let auth = AuthMode::parse(lookup("AUTH_MODE").as_deref())?;
        Ok(LambdaConfig { table_name, region, endpoint_url, ssl_cert_file, auth })
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
        assert_eq!(
            LambdaConfig::from_lookup(|k| (k == "TABLE_NAME").then(|| "todos".into())).unwrap().table_name,
            "todos"
        );
    }

    #[test]
    fn auth_mode_is_jwt_only_when_asked_for_and_anything_unknown_is_refused() {
        let with = |mode: Option<&'static str>| {
            LambdaConfig::from_lookup(move |k| match k {
                "TABLE_NAME" => Some("t".to_owned()),
                "AUTH_MODE" => mode.map(str::to_owned),
                _ => None,
            })
        };
        assert_eq!(with(None).unwrap().auth, AuthMode::None);
        assert_eq!(with(Some("")).unwrap().auth, AuthMode::None);
        assert_eq!(with(Some("none")).unwrap().auth, AuthMode::None);
        assert_eq!(with(Some("jwt")).unwrap().auth, AuthMode::Jwt);
        for wrong in ["JWT", "cognito", "on", "true"] {
            let err = with(Some(wrong)).unwrap_err().to_string();
            assert!(err.contains("AUTH_MODE") && err.contains(wrong), "{err}");
        }
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
