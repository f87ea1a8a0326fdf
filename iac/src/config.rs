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
        Ok(())
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
    }
}
