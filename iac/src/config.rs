//! Per-stack settings (`iac/stacks/<stack>.toml`): what a user may change, with the design's defaults,
//! validated here because emulators accept values real AWS rejects.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::IacError;

/// Retention periods CloudWatch Logs accepts, in days.
pub const ALLOWED_RETENTION_DAYS: &[i32] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// The settings of one stack. Every key is optional in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[derive(Default)]
pub struct StackConfig {
    /// AWS region; `--region` wins over it, and it wins over `AWS_REGION`.
    pub region: Option<String>,
    /// Function settings.
    pub function: FunctionConfig,
    /// HTTP API settings.
    pub api: ApiConfig,
    /// Sign-in (`[auth]`): who may call the API.
    pub auth: AuthConfig,
}

/// How callers of the API are authenticated (`[auth] mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No sign-in: today's open API and its table keyed by `Id` (the default).
    #[default]
    None,
    /// The stack creates a Cognito user pool, its hosted sign-in domain, an app client and a JWT
    /// authorizer trusting the pool.
    Cognito,
    /// A JWT authorizer trusting an OpenID Connect issuer the user already has.
    Jwt,
}

impl AuthMode {
    /// `none`, `cognito` or `jwt`: the word of the stack file and of the outputs' `authMode`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::Cognito => "cognito",
            AuthMode::Jwt => "jwt",
        }
    }

    /// Whether requests must carry a token (the table is then keyed by owner).
    pub fn signs_in(self) -> bool {
        self != AuthMode::None
    }
}

/// The `[auth]` section. Keys of the other auth mode are rejected; in mode `none` every other key is
/// ignored, so turning sign-in off is a one-line change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `none` (default), `cognito` or `jwt`.
    pub mode: AuthMode,
    /// jwt: the issuer URL, exactly as in the tokens' `iss`.
    pub issuer: Option<String>,
    /// jwt: accepted `aud` (or `client_id`) values; the first is the outputs' `audience`.
    pub audiences: Vec<String>,
    /// jwt: the OIDC client id the browser app signs in with (default: the first audience).
    pub client_id: Option<String>,
    /// cognito: where the hosted sign-in returns to (the client's URLs).
    pub callback_urls: Vec<String>,
    /// cognito: where sign-out returns to.
    pub logout_urls: Vec<String>,
    /// cognito: the hosted sign-in domain's prefix (default derived from project, stack and account).
    pub domain_prefix: Option<String>,
}

/// Where the client runs in development (`ionic serve`).
pub const DEFAULT_CLIENT_URL: &str = "http://localhost:8100";

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mode: AuthMode::None,
            issuer: None,
            audiences: Vec::new(),
            client_id: None,
            callback_urls: vec![DEFAULT_CLIENT_URL.to_owned()],
            logout_urls: vec![DEFAULT_CLIENT_URL.to_owned()],
            domain_prefix: None,
        }
    }
}

impl AuthConfig {
    /// The hosted UI domain prefix: the configured one, else `<project>-<stack>-<account>`.
    pub fn domain_prefix(&self, project: &str, stack: &str, account: &str) -> String {
        self.domain_prefix.clone().unwrap_or_else(|| format!("{project}-{stack}-{account}").to_ascii_lowercase())
    }

    /// Checks the section against what API Gateway and Cognito accept.
    pub fn validate(&self) -> Result<(), IacError> {
        match self.mode {
            AuthMode::None => Ok(()),
            AuthMode::Jwt => {
                let issuer = self.issuer.as_deref().ok_or_else(|| {
                    invalid(
                        "auth.issuer",
                        "(missing)",
                        "mode = \"jwt\" needs the issuer URL, exactly as in the tokens' `iss`",
                    )
                })?;
                validate_issuer(issuer)?;
                if self.audiences.is_empty() {
                    return Err(invalid(
                        "auth.audiences",
                        "[]",
                        "mode = \"jwt\" needs at least one accepted audience (`aud` or `client_id` of the tokens)",
                    ));
                }
                for a in self.audiences.iter().chain(&self.client_id) {
                    if a.trim().is_empty() || a.len() > 256 || a.chars().any(char::is_whitespace) {
                        return Err(invalid("auth.audiences", a, "an audience is 1–256 characters without spaces"));
                    }
                }
                if self.domain_prefix.is_some() {
                    return Err(invalid("auth.domain_prefix", "(set)", "only used with mode = \"cognito\""));
                }
                Ok(())
            }
            AuthMode::Cognito => {
                for (key, set) in [
                    ("auth.issuer", self.issuer.is_some()),
                    ("auth.audiences", !self.audiences.is_empty()),
                    ("auth.client_id", self.client_id.is_some()),
                ] {
                    if set {
                        return Err(invalid(
                            key,
                            "(set)",
                            "only used with mode = \"jwt\"; with cognito the stack's own pool is the issuer",
                        ));
                    }
                }
                for (key, urls) in
                    [("auth.callback_urls", &self.callback_urls), ("auth.logout_urls", &self.logout_urls)]
                {
                    if urls.is_empty() {
                        return Err(invalid(key, "[]", "at least one URL (the client's, e.g. http://localhost:8100)"));
                    }
                    for url in urls {
                        validate_app_url(key, url)?;
                    }
                }
                if let Some(prefix) = &self.domain_prefix {
                    validate_domain_prefix(prefix)?;
                }
                Ok(())
            }
        }
    }
}

/// An issuer API Gateway accepts: `https://host[:port][/path]`, no query or fragment. A trailing
/// slash is kept: some issuers (Auth0) put one in `iss`, and the match is exact.
pub fn validate_issuer(issuer: &str) -> Result<(), IacError> {
    let rest = issuer.strip_prefix("https://");
    let ok = rest.is_some_and(|r| {
        let host = r.split('/').next().unwrap_or_default();
        !host.is_empty() && !r.contains(['?', '#']) && !r.chars().any(char::is_whitespace) && r.len() < 2048
    });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "auth.issuer",
            issuer,
            "must be an https:// URL with no query or fragment (API Gateway fetches its keys over HTTPS)",
        ))
    }
}

/// A callback or sign-out URL Cognito accepts: HTTPS, or plain HTTP to localhost only.
fn validate_app_url(key: &str, url: &str) -> Result<(), IacError> {
    let https = url.strip_prefix("https://").is_some_and(|r| !r.is_empty());
    let local = url == "http://localhost"
        || url.strip_prefix("http://localhost").is_some_and(|r| r.starts_with(':') || r.starts_with('/'));
    if (https || local) && !url.contains('#') && !url.chars().any(char::is_whitespace) && url.len() <= 1024 {
        Ok(())
    } else {
        Err(invalid(
            key,
            url,
            "must be https://..., or http://localhost[:port][/path] (Cognito allows plain HTTP only there)",
        ))
    }
}

/// A Cognito domain prefix: 1–63 lower-case letters, digits and `-`, not at either end, and none of
/// the words Cognito reserves (`aws`, `amazon`, `cognito`).
pub fn validate_domain_prefix(prefix: &str) -> Result<(), IacError> {
    let ok = (1..=63).contains(&prefix.len())
        && prefix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !prefix.starts_with('-')
        && !prefix.ends_with('-')
        && !["aws", "amazon", "cognito"].iter().any(|w| prefix.contains(w));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "auth.domain_prefix",
            prefix,
            "1–63 lower-case letters, digits and `-` (not first or last), without `aws`, `amazon` or `cognito`",
        ))
    }
}

/// Lambda function and log settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FunctionConfig {
    /// Memory in MB (128–10240).
    pub memory_mb: i32,
    /// Timeout in seconds (1–900).
    pub timeout_seconds: i32,
    /// Log retention in days (one of [`ALLOWED_RETENTION_DAYS`]).
    pub log_retention_days: i32,
}

/// HTTP API and stage settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Stage name; part of the API URL.
    pub stage: String,
    /// Stage throttling: burst limit (requests).
    pub throttling_burst_limit: i32,
    /// Stage throttling: steady-state rate (requests per second).
    pub throttling_rate_limit: f64,
    /// CORS allowed origins; empty means `*`.
    pub cors_allow_origins: Vec<String>,
}

impl Default for FunctionConfig {
    fn default() -> Self {
        FunctionConfig { memory_mb: 128, timeout_seconds: 3, log_retention_days: 30 }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            stage: "v1".to_owned(),
            throttling_burst_limit: 10,
            throttling_rate_limit: 50.0,
            cors_allow_origins: Vec::new(),
        }
    }
}

impl StackConfig {
    /// The config file of `stack` under `root` (the workspace root).
    pub fn path(root: &Path, stack: &str) -> PathBuf {
        root.join("iac").join("stacks").join(format!("{stack}.toml"))
    }

    /// Reads and validates the file; defaults when it does not exist.
    pub fn load(path: &Path) -> Result<StackConfig, IacError> {
        let config = match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|message| IacError::Config { path: path.to_owned(), message })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StackConfig::default(),
            Err(source) => return Err(IacError::Io { path: path.to_owned(), source }),
        };
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text (no validation).
    pub fn parse(text: &str) -> Result<StackConfig, String> {
        toml::from_str(text).map_err(|e| e.message().to_owned())
    }

    /// Checks every setting against what AWS accepts.
    pub fn validate(&self) -> Result<(), IacError> {
        if let Some(region) = &self.region {
            validate_region(region)?;
        }
        let f = &self.function;
        if !(128..=10240).contains(&f.memory_mb) {
            return Err(invalid("function.memory_mb", f.memory_mb, "must be between 128 and 10240 MB"));
        }
        if !(1..=900).contains(&f.timeout_seconds) {
            return Err(invalid("function.timeout_seconds", f.timeout_seconds, "must be between 1 and 900 seconds"));
        }
        if !ALLOWED_RETENTION_DAYS.contains(&f.log_retention_days) {
            return Err(invalid(
                "function.log_retention_days",
                f.log_retention_days,
                &format!("must be one of CloudWatch's values {ALLOWED_RETENTION_DAYS:?}"),
            ));
        }
        let a = &self.api;
        validate_stage_name(&a.stage)?;
        if !(0..=5000).contains(&a.throttling_burst_limit) {
            return Err(invalid("api.throttling_burst_limit", a.throttling_burst_limit, "must be between 0 and 5000"));
        }
        if !a.throttling_rate_limit.is_finite() || !(0.0..=10000.0).contains(&a.throttling_rate_limit) {
            return Err(invalid("api.throttling_rate_limit", a.throttling_rate_limit, "must be between 0 and 10000"));
        }
        for origin in &a.cors_allow_origins {
            let ok = origin == "*"
                || ((origin.starts_with("https://") || origin.starts_with("http://"))
                    && !origin.ends_with('/')
                    && !origin.contains(char::is_whitespace));
            if !ok {
                return Err(invalid(
                    "api.cors_allow_origins",
                    origin,
                    "each origin is `*` or scheme://host[:port] with no path or trailing slash",
                ));
            }
        }
        if a.cors_allow_origins.len() > 1 && a.cors_allow_origins.iter().any(|o| o == "*") {
            return Err(invalid("api.cors_allow_origins", format!("{:?}", a.cors_allow_origins), "`*` must be alone"));
        }
        self.auth.validate()
    }
}

fn invalid(field: &str, value: impl std::fmt::Display, message: &str) -> IacError {
    IacError::Invalid { field: field.to_owned(), value: value.to_string(), message: message.to_owned() }
}

/// A region name such as `eu-west-1`, `us-gov-west-1` or `cn-north-1`.
pub fn validate_region(region: &str) -> Result<(), IacError> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts.len() <= 4
        && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts.last().is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(IacError::UnknownRegion {
            region: region.to_owned(),
            message: "not an AWS region name (expected something like eu-west-1)".to_owned(),
        })
    }
}

/// A stack name: it becomes part of every resource name, so it is short, lower case and DNS-safe.
pub fn validate_stack_name(stack: &str) -> Result<(), IacError> {
    let ok = (1..=20).contains(&stack.len())
        && stack.starts_with(|c: char| c.is_ascii_lowercase())
        && !stack.ends_with('-')
        && stack.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(invalid("--stack", stack, "1–20 characters: lower-case letters, digits and `-`, starting with a letter"))
    }
}

/// An API Gateway stage name.
pub fn validate_stage_name(stage: &str) -> Result<(), IacError> {
    let ok =
        (1..=128).contains(&stage.len()) && stage.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok { Ok(()) } else { Err(invalid("api.stage", stage, "1–128 characters: letters, digits, `-` and `_`")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_gives_the_design_defaults() {
        let c = StackConfig::load(Path::new("/nonexistent/iac/stacks/x.toml")).unwrap();
        assert_eq!(c.function.memory_mb, 128);
        assert_eq!(c.function.timeout_seconds, 3);
        assert_eq!(c.function.log_retention_days, 30);
        assert_eq!(c.api.stage, "v1");
        assert_eq!(c.api.throttling_burst_limit, 10);
        assert_eq!(c.api.throttling_rate_limit, 50.0);
        assert!(c.api.cors_allow_origins.is_empty());
        assert_eq!(c.region, None);
    }

    #[test]
    fn committed_dev_config_parses_and_equals_the_defaults() {
        let text = include_str!("../stacks/dev.toml");
        let c = StackConfig::parse(text).unwrap();
        c.validate().unwrap();
        assert_eq!(c, StackConfig::default());
    }

    #[test]
    fn out_of_range_settings_are_rejected_with_the_field_named() {
        let cases = [
            ("[function]\nmemory_mb = 64", "function.memory_mb"),
            ("[function]\nmemory_mb = 10241", "function.memory_mb"),
            ("[function]\ntimeout_seconds = 0", "function.timeout_seconds"),
            ("[function]\ntimeout_seconds = 901", "function.timeout_seconds"),
            ("[function]\nlog_retention_days = 31", "function.log_retention_days"),
            ("[api]\nstage = \"v 1\"", "api.stage"),
            ("[api]\nthrottling_burst_limit = -1", "api.throttling_burst_limit"),
            ("[api]\nthrottling_rate_limit = -0.5", "api.throttling_rate_limit"),
            ("[api]\ncors_allow_origins = [\"example.com\"]", "api.cors_allow_origins"),
            ("[api]\ncors_allow_origins = [\"*\", \"https://a.example\"]", "api.cors_allow_origins"),
        ];
        for (text, field) in cases {
            let err = StackConfig::parse(text).unwrap().validate().unwrap_err();
            assert!(matches!(&err, IacError::Invalid { field: f, .. } if f == field), "{text}: {err}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_regions_are_rejected() {
        assert!(StackConfig::parse("[function]\nmemory = 256").is_err());
        assert!(validate_region("eu-west-1").is_ok());
        assert!(validate_region("us-gov-west-1").is_ok());
        assert!(validate_region("moon-1").is_err());
        assert!(validate_region("EU-WEST-1").is_err());
        assert!(validate_stack_name("dev").is_ok());
        assert!(validate_stack_name("Dev").is_err());
        assert!(validate_stack_name("a-very-long-stack-name-indeed").is_err());
        assert!(StackConfig::parse("[auth]\nmode = \"oauth\"").is_err());
        assert!(StackConfig::parse("[auth]\nissuers = [\"https://x\"]").is_err());
    }

    #[test]
    fn auth_defaults_to_none_with_the_client_url_for_cognito() {
        let c = StackConfig::default();
        assert_eq!(c.auth.mode, AuthMode::None);
        assert_eq!(c.auth.callback_urls, ["http://localhost:8100"]);
        assert_eq!(c.auth.logout_urls, ["http://localhost:8100"]);
        assert_eq!(c.auth.domain_prefix("todos", "dev", "123456789012"), "todos-dev-123456789012");
        validate_domain_prefix(&c.auth.domain_prefix("todos", "dev", "123456789012")).unwrap();
    }

    #[test]
    fn valid_auth_sections_parse() {
        let jwt = "[auth]\nmode = \"jwt\"\nissuer = \"https://example.eu.auth0.com\"\naudiences = [\"todos-api\"]";
        let c = StackConfig::parse(jwt).unwrap();
        c.validate().unwrap();
        assert_eq!(c.auth.mode, AuthMode::Jwt);
        let cognito = "[auth]\nmode = \"cognito\"\ncallback_urls = [\"https://app.example.com\", \"http://localhost:8100\"]\ndomain_prefix = \"my-todos\"";
        let c = StackConfig::parse(cognito).unwrap();
        c.validate().unwrap();
        assert_eq!(c.auth.mode, AuthMode::Cognito);
        assert_eq!(c.auth.domain_prefix("todos", "dev", "1"), "my-todos");
        // In mode none the other keys are ignored: turning sign-in off is one line.
        StackConfig::parse("[auth]\nmode = \"none\"\nissuer = \"http://x\"").unwrap().validate().unwrap();
    }

    #[test]
    fn bad_auth_sections_are_rejected_with_the_key_named() {
        let cases = [
            ("[auth]\nmode = \"jwt\"\naudiences = [\"a\"]", "auth.issuer"),
            ("[auth]\nmode = \"jwt\"\nissuer = \"http://idp.example.com\"\naudiences = [\"a\"]", "auth.issuer"),
            ("[auth]\nmode = \"jwt\"\nissuer = \"https://idp.example.com/?x=1\"\naudiences = [\"a\"]", "auth.issuer"),
            ("[auth]\nmode = \"jwt\"\nissuer = \"https://\"\naudiences = [\"a\"]", "auth.issuer"),
            ("[auth]\nmode = \"jwt\"\nissuer = \"https://idp.example.com\"", "auth.audiences"),
            ("[auth]\nmode = \"jwt\"\nissuer = \"https://idp.example.com\"\naudiences = [\"a b\"]", "auth.audiences"),
            (
                "[auth]\nmode = \"jwt\"\nissuer = \"https://i.example\"\naudiences = [\"a\"]\ndomain_prefix = \"x\"",
                "auth.domain_prefix",
            ),
            ("[auth]\nmode = \"cognito\"\nissuer = \"https://idp.example.com\"", "auth.issuer"),
            ("[auth]\nmode = \"cognito\"\naudiences = [\"a\"]", "auth.audiences"),
            ("[auth]\nmode = \"cognito\"\ncallback_urls = []", "auth.callback_urls"),
            ("[auth]\nmode = \"cognito\"\ncallback_urls = [\"http://app.example.com\"]", "auth.callback_urls"),
            ("[auth]\nmode = \"cognito\"\nlogout_urls = [\"ftp://x\"]", "auth.logout_urls"),
            ("[auth]\nmode = \"cognito\"\ndomain_prefix = \"My-Todos\"", "auth.domain_prefix"),
            ("[auth]\nmode = \"cognito\"\ndomain_prefix = \"todos-aws\"", "auth.domain_prefix"),
            ("[auth]\nmode = \"cognito\"\ndomain_prefix = \"-todos\"", "auth.domain_prefix"),
        ];
        for (text, field) in cases {
            let err = StackConfig::parse(text).unwrap().validate().unwrap_err();
            assert!(matches!(&err, IacError::Invalid { field: f, .. } if f == field), "{text}: {err}");
        }
    }
}
