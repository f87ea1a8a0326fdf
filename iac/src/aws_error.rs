//! AWS failures told apart, each as one line a person can act on: the endpoint cannot be reached
//! (naming the host, and whether DNS, a refused connection or an unreachable network is why), it did
//! not answer in time, the credentials are missing, expired or rejected, or access is denied (naming
//! the action and the resource). Never the SDK's debug dump.
//!
//! Pure functions over SDK errors: [`crate::aws`] calls them where it builds [`IacError`]s.

use std::error::Error as StdError;

use aws_config::SdkConfig;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::result::ConnectorError;

use crate::error::IacError;

/// Codes AWS answers when the session token or the SSO credentials have expired.
pub const EXPIRED: &[&str] = &["ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired"];
/// Codes AWS answers when it does not know the access key or the signature is wrong.
pub const REJECTED: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "InvalidAccessKeyId",
];
/// Codes of an authorization refusal.
pub const DENIED: &[&str] =
    &["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException", "AuthorizationError"];

/// The host (and port, when not the default) an SDK config sends `service` calls to in `region`:
/// the endpoint override if any (`AWS_ENDPOINT_URL`), else AWS's regional endpoint.
pub fn endpoint_host(sdk: &SdkConfig, service: &str, region: &str) -> String {
    if let Some(url) = sdk.endpoint_url() {
        return match url.parse::<http::Uri>() {
            Ok(u) => u.authority().map_or_else(|| url.to_owned(), |a| a.to_string()),
            Err(_) => url.to_owned(),
        };
    }
    let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("{service}.{region}.{suffix}")
}

/// The error and its causes on one line, each said once (never `Debug`).
pub fn chain_text(e: &dyn StdError) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut next: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(err) = next {
        let text = err.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// Why a connection failed, in words a person can act on (from the io error in the chain).
fn network_reason(e: &(dyn StdError + 'static)) -> String {
    let text = chain_text(e);
    let lower = text.to_ascii_lowercase();
    let mut next: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::ConnectionRefused => return "connection refused (nothing listens there)".to_owned(),
                K::NetworkUnreachable | K::HostUnreachable => {
                    return "the network is unreachable: are you offline?".to_owned();
                }
                _ => {}
            }
        }
        next = err.source();
    }
    if lower.contains("dns error") || lower.contains("failed to lookup address") || lower.contains("name or service") {
        "the name does not resolve (DNS): are you offline, or is the endpoint misspelt?".to_owned()
    } else if lower.contains("connection refused") {
        "connection refused (nothing listens there)".to_owned()
    } else if lower.contains("unreachable") {
        "the network is unreachable: are you offline?".to_owned()
    } else if lower.contains("certificate") || lower.contains("tls") {
        format!("TLS failed ({text}): is a proxy intercepting HTTPS?")
    } else {
        text
    }
}

/// A failure to get an answer at all: unreachable or timed out. `None` for an answer from AWS.
pub fn transport<E, R>(host: &str, err: &SdkError<E, R>) -> Option<IacError>
where
    E: StdError + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::TimeoutError(_) => Some(IacError::TimedOut {
            host: host.to_owned(),
            message: "the SDK's operation timeout ran out".to_owned(),
        }),
        SdkError::DispatchFailure(d) => Some(match d.as_connector_error() {
            Some(c) => connector(host, c),
            None => IacError::Unreachable { host: host.to_owned(), message: chain_text(err) },
        }),
        _ => None,
    }
}

fn connector(host: &str, c: &ConnectorError) -> IacError {
    if c.is_timeout() {
        return IacError::TimedOut { host: host.to_owned(), message: "connecting timed out".to_owned() };
    }
    let reason = match c.source() {
        Some(s) => network_reason(s),
        None => chain_text(c),
    };
    if reason.to_ascii_lowercase().contains("timed out") {
        return IacError::TimedOut { host: host.to_owned(), message: reason };
    }
    IacError::Unreachable { host: host.to_owned(), message: reason }
}

/// `User: arn:... is not authorized to perform: iam:CreateRole on resource: arn:...` → the action and
/// the resource AWS named, if it did.
pub fn denied_action(message: &str) -> Option<(String, String)> {
    let (_, rest) = message.split_once("perform: ")?;
    let (action, rest) = rest.split_once(" on resource: ")?;
    let resource = rest.split([' ', '\n']).next().unwrap_or(rest).trim_end_matches(['.', ',']);
    Some((action.trim().to_owned(), resource.to_owned()))
}

/// The error for an AWS answer with `code`, when the code is about credentials or access; `None`
/// otherwise (the caller keeps its own wording).
pub fn from_code(code: &str, message: &str, resource: &str, action: &str) -> Option<IacError> {
    if EXPIRED.contains(&code) {
        return Some(IacError::CredentialsExpired { message: format!("{code}: {message}") });
    }
    if REJECTED.contains(&code) {
        return Some(IacError::CredentialsRejected { code: code.to_owned(), message: message.to_owned() });
    }
    if DENIED.contains(&code) {
        let (action, resource, message) = match denied_action(message) {
            Some((a, r)) => (a.clone(), r.clone(), format!("grant {a} on {r} to these credentials, or use others")),
            None => (action.to_owned(), resource.to_owned(), format!("{code}: {message}")),
        };
        return Some(IacError::AccessDenied { resource, action, message, source: None });
    }
    None
}

/// The error for a failed `sts:GetCallerIdentity`, the first call of every command: unreachable,
/// timed out, expired, rejected, denied, or (anything else) AWS's code and message.
pub fn connect_error<E, R>(host: &str, err: SdkError<E, R>) -> IacError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let Some(e) = transport(host, &err) {
        return e;
    }
    if let SdkError::ServiceError(s) = &err {
        let code = s.err().code().unwrap_or("Unknown");
        let message = s.err().message().unwrap_or_default();
        if let Some(e) = from_code(code, message, "the account", "sts:GetCallerIdentity") {
            return e;
        }
        return IacError::NoCredentials {
            message: format!("sts:GetCallerIdentity at {host} failed: {code}: {message}"),
            source: Some(Box::new(err)),
        };
    }
    IacError::NoCredentials { message: chain_text(&err), source: Some(Box::new(err)) }
}

/// The error for a credential provider that found nothing or failed (before any call).
pub fn credentials_error(err: aws_credential_types::provider::error::CredentialsError) -> IacError {
    use aws_credential_types::provider::error::CredentialsError as C;
    let text = chain_text(&err);
    match err {
        C::CredentialsNotLoaded(_) => IacError::NoCredentials {
            message: "none found in the environment, ~/.aws/config and ~/.aws/credentials, SSO or instance metadata"
                .to_owned(),
            source: Some(Box::new(err)),
        },
        _ if text.to_ascii_lowercase().contains("expired") => IacError::CredentialsExpired { message: text },
        _ => IacError::NoCredentials { message: text, source: Some(Box::new(err)) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_and_resource_are_read_from_an_access_denied_message() {
        let m = "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::123456789012:role/todos-dev-api-role because no identity-based policy allows the iam:CreateRole action";
        assert_eq!(
            denied_action(m),
            Some(("iam:CreateRole".to_owned(), "arn:aws:iam::123456789012:role/todos-dev-api-role".to_owned()))
        );
        let e = from_code("AccessDenied", m, "role todos-dev-api-role", "CreateRole").unwrap();
        assert_eq!(
            e.to_string(),
            "access denied: cannot iam:CreateRole arn:aws:iam::123456789012:role/todos-dev-api-role: grant iam:CreateRole on arn:aws:iam::123456789012:role/todos-dev-api-role to these credentials, or use others"
        );
        let plain = from_code("AccessDeniedException", "no", "table todos-dev", "DescribeTable").unwrap();
        assert_eq!(plain.to_string(), "access denied: cannot DescribeTable table todos-dev: AccessDeniedException: no");
    }

    #[test]
    fn expired_and_rejected_credentials_say_what_to_do() {
        let e = from_code("ExpiredToken", "The security token included in the request is expired", "", "").unwrap();
        assert!(e.to_string().contains("run `aws sso login` (or refresh them)"), "{e}");
        let r = from_code("InvalidClientTokenId", "The security token included in the request is invalid.", "", "");
        assert!(matches!(r, Some(IacError::CredentialsRejected { .. })));
        assert!(from_code("ThrottlingException", "slow down", "", "").is_none());
    }

    #[test]
    fn the_host_is_the_override_or_the_regional_endpoint() {
        let sdk = SdkConfig::builder().build();
        assert_eq!(endpoint_host(&sdk, "sts", "eu-west-1"), "sts.eu-west-1.amazonaws.com");
        assert_eq!(endpoint_host(&sdk, "sts", "cn-north-1"), "sts.cn-north-1.amazonaws.com.cn");
        let local = SdkConfig::builder().endpoint_url("http://127.0.0.1:4566").build();
        assert_eq!(endpoint_host(&local, "sts", "eu-west-1"), "127.0.0.1:4566");
    }

    #[test]
    fn dns_refused_and_unreachable_are_told_apart() {
        let dns = std::io::Error::other("dns error: failed to lookup address information: Name or service not known");
        assert!(network_reason(&dns).contains("does not resolve (DNS)"));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(network_reason(&refused).contains("connection refused"));
        let unreachable = std::io::Error::from(std::io::ErrorKind::NetworkUnreachable);
        assert!(network_reason(&unreachable).contains("offline"));
    }
}
