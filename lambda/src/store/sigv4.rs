//! SigV4 for the Lambda's DynamoDB client: the same signatures as the SDK's signer (`aws-sigv4`), at a
//! third of its cost per request.
//!
//! The SDK's signer derives the signing key (four HMAC-SHA-256 rounds) again for every request, builds the
//! canonical request over every header, and hashes with the portable `sha2` code: about 218 k
//! instructions of a PutItem's 450 k (bench/choices.md). Here the key is derived once per day and set of
//! credentials, only a fixed set of headers is signed (SigV4 lets the signer choose, as long as `host` and
//! `x-amz-date` are in it), and hashing goes through `ring`, which the TLS stack already links.
//!
//! It replaces the SDK's `sigv4` auth scheme in [`super::lambda_client`] only (same scheme id, same
//! identity resolver); the test at the end checks its `Authorization` header against `aws-sigv4`'s.
//!
//! One thing the SDK's signer does that this one does not: after a `RequestTimeTooSkewed` answer it
//! signs the retry at the server's clock (its skew state is private to `aws-runtime`). Lambda's clock
//! is kept in sync by AWS, so a skewed request there would be a platform fault; it fails that request.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_runtime::auth::SigV4OperationSigningConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::auth::{AuthScheme, AuthSchemeEndpointConfig, AuthSchemeId, Sign};
use aws_smithy_runtime_api::client::identity::{Identity, SharedIdentityResolver};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::{GetIdentityResolver, RuntimeComponents};
use aws_smithy_types::Document;
use aws_smithy_types::config_bag::ConfigBag;
use aws_types::SigningName;
use aws_types::region::SigningRegion;
use ring::{digest, hmac};

/// The SDK's id for SigV4: registering this scheme under it replaces the SDK's signer.
const SCHEME_ID: AuthSchemeId = AuthSchemeId::new("sigv4");

/// The headers signed when present, in canonical (sorted) order; `host` comes from the URI and
/// `x-amz-date` / `x-amz-security-token` are added here.
const SIGNED: [&str; 5] = ["content-type", "host", "x-amz-date", "x-amz-security-token", "x-amz-target"];

/// The SigV4 auth scheme for the DynamoDB client: the SDK's identity resolver, [`SigV4Signer`].
#[derive(Debug, Default)]
pub(crate) struct SigV4Scheme {
    signer: SigV4Signer,
}

impl AuthScheme for SigV4Scheme {
    fn scheme_id(&self) -> AuthSchemeId {
        SCHEME_ID
    }

    fn identity_resolver(&self, identity_resolvers: &dyn GetIdentityResolver) -> Option<SharedIdentityResolver> {
        identity_resolvers.identity_resolver(SCHEME_ID)
    }

    fn signer(&self) -> &dyn Sign {
        &self.signer
    }
}

/// Signs requests in the `Authorization` header, keeping the last signing key.
#[derive(Debug, Default)]
pub(crate) struct SigV4Signer {
    key: Mutex<Option<CachedKey>>,
}

/// A signing key and what it was derived from.
#[derive(Debug)]
struct CachedKey {
    date: String,
    secret: String,
    region: String,
    service: String,
    key: hmac::Key,
}

impl Sign for SigV4Signer {
    fn sign_http_request(
        &self,
        request: &mut HttpRequest,
        identity: &Identity,
        auth_scheme_endpoint_config: AuthSchemeEndpointConfig<'_>,
        runtime_components: &RuntimeComponents,
        config_bag: &ConfigBag,
    ) -> Result<(), BoxError> {
        let credentials = identity.data::<Credentials>().ok_or("SigV4 signing needs AWS credentials")?;
        let operation = config_bag.load::<SigV4OperationSigningConfig>().ok_or("no SigV4 signing configuration")?;
        // As the SDK's signer: the endpoint's auth scheme properties, else the client's signing region and
        // name, else the operation's defaults.
        let endpoint = auth_scheme_endpoint_config.as_document();
        let region = endpoint_str(endpoint, "signingRegion")
            .or(config_bag.load::<SigningRegion>().map(|r| r.as_ref()))
            .or(operation.region.as_ref().map(|r| r.as_ref()))
            .ok_or("no SigV4 signing region")?
            .to_owned();
        let service = endpoint_str(endpoint, "signingName")
            .or(config_bag.load::<SigningName>().map(|n| n.as_ref()))
            .or(operation.name.as_ref().map(|n| n.as_ref()))
            .ok_or("no SigV4 signing name")?
            .to_owned();
        let now = runtime_components.time_source().ok_or("no time source")?.now();
        let body = request.body().bytes().ok_or("SigV4 here signs only in-memory bodies")?;
        let signed = self.sign(&SigningInput {
            method: request.method(),
            uri: request.uri(),
            content_type: request.headers().get("content-type"),
            target: request.headers().get("x-amz-target"),
            body,
            access_key: credentials.access_key_id(),
            secret: credentials.secret_access_key(),
            token: credentials.session_token(),
            region: &region,
            service: &service,
            time: now,
        })?;
        let headers = request.headers_mut();
        headers.insert("x-amz-date", signed.amz_date);
        if let Some(token) = credentials.session_token() {
            headers.insert("x-amz-security-token", token.to_owned());
        }
        headers.insert("authorization", signed.authorization);
        Ok(())
    }
}

/// A string property of the endpoint's auth scheme (`signingRegion`, `signingName`).
fn endpoint_str<'a>(endpoint: Option<&'a Document>, name: &str) -> Option<&'a str> {
    match endpoint? {
        Document::Object(fields) => match fields.get(name)? {
            Document::String(value) => Some(value),
            _ => None,
        },
        _ => None,
    }
}

/// What one signature covers.
struct SigningInput<'a> {
    method: &'a str,
    uri: &'a str,
    content_type: Option<&'a str>,
    target: Option<&'a str>,
    body: &'a [u8],
    access_key: &'a str,
    secret: &'a str,
    token: Option<&'a str>,
    region: &'a str,
    service: &'a str,
    time: SystemTime,
}

/// The headers a signature adds.
struct Signed {
    amz_date: String,
    authorization: String,
}

impl SigV4Signer {
    fn sign(&self, input: &SigningInput<'_>) -> Result<Signed, BoxError> {
        let (date, amz_date) = timestamps(input.time)?;
        let (host, path, query) = split_uri(input.uri)?;
        // DynamoDB's JSON protocol always posts to `/`; other paths would need the URI encoding rules.
        if path != "/" || !query.is_empty() {
            return Err(format!("this SigV4 signer signs only `/` without a query, not {}", input.uri).into());
        }
        let values = [input.content_type, Some(host), Some(amz_date.as_str()), input.token, input.target];
        let mut canonical = String::with_capacity(512);
        canonical.push_str(input.method);
        canonical.push_str("\n/\n\n");
        let mut signed_headers = String::with_capacity(64);
        for (name, value) in SIGNED.iter().zip(values) {
            let Some(value) = value else { continue };
            canonical.push_str(name);
            canonical.push(':');
            push_trimmed(&mut canonical, value);
            canonical.push('\n');
            if !signed_headers.is_empty() {
                signed_headers.push(';');
            }
            signed_headers.push_str(name);
        }
        canonical.push('\n');
        canonical.push_str(&signed_headers);
        canonical.push('\n');
        push_hex(&mut canonical, digest::digest(&digest::SHA256, input.body).as_ref());

        let scope = format!("{date}/{}/{}/aws4_request", input.region, input.service);
        let mut string_to_sign = String::with_capacity(160);
        string_to_sign.push_str("AWS4-HMAC-SHA256\n");
        string_to_sign.push_str(&amz_date);
        string_to_sign.push('\n');
        string_to_sign.push_str(&scope);
        string_to_sign.push('\n');
        push_hex(&mut string_to_sign, digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref());

        let signature = {
            let mut cached = self.key.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let fresh = cached.as_ref().is_some_and(|k| {
                k.date == date && k.secret == input.secret && k.region == input.region && k.service == input.service
            });
            if !fresh {
                *cached = Some(CachedKey {
                    key: signing_key(input.secret, &date, input.region, input.service),
                    date: date.clone(),
                    secret: input.secret.to_owned(),
                    region: input.region.to_owned(),
                    service: input.service.to_owned(),
                });
            }
            let key = &cached.as_ref().expect("set above").key;
            hmac::sign(key, string_to_sign.as_bytes())
        };
        let mut authorization = String::with_capacity(256);
        authorization.push_str("AWS4-HMAC-SHA256 Credential=");
        authorization.push_str(input.access_key);
        authorization.push('/');
        authorization.push_str(&scope);
        authorization.push_str(", SignedHeaders=");
        authorization.push_str(&signed_headers);
        authorization.push_str(", Signature=");
        push_hex(&mut authorization, signature.as_ref());
        Ok(Signed { amz_date, authorization })
    }
}

/// The day's key: HMAC chain over date, region, service and `aws4_request`, from `AWS4` + secret.
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> hmac::Key {
    let step = |key: &[u8], data: &str| hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes());
    let k_date = step(format!("AWS4{secret}").as_bytes(), date);
    let k_region = step(k_date.as_ref(), region);
    let k_service = step(k_region.as_ref(), service);
    let k_signing = step(k_service.as_ref(), "aws4_request");
    hmac::Key::new(hmac::HMAC_SHA256, k_signing.as_ref())
}

/// `yyyymmdd` and `yyyymmddThhmmssZ` (UTC) of `time`.
fn timestamps(time: SystemTime) -> Result<(String, String), BoxError> {
    let secs = time.duration_since(UNIX_EPOCH).map_err(|_| "clock before 1970")?.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let date = format!("{year:04}{month:02}{day:02}");
    let amz_date = format!("{date}T{:02}{:02}{:02}Z", rem / 3600, rem / 60 % 60, rem % 60);
    Ok((date, amz_date))
}

/// Host (with the port unless it is the scheme's default), path and query of an absolute URI.
fn split_uri(uri: &str) -> Result<(&str, &str, &str), BoxError> {
    let (scheme, rest) = uri.split_once("://").ok_or("request URI is not absolute")?;
    let (authority, path_and_query) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let path = if path.is_empty() { "/" } else { path };
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            let default = matches!((scheme, port), ("https", "443") | ("http", "80"));
            if default { host } else { authority }
        }
        _ => authority,
    };
    Ok((host, path, query))
}

/// `value` trimmed, runs of spaces collapsed to one (SigV4's canonical header value).
fn push_trimmed(out: &mut String, value: &str) {
    let mut last_space = false;
    for c in value.trim().chars() {
        if c == ' ' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;

    use super::*;

    /// What `aws-sigv4` (the SDK's signer) puts in `Authorization` for the same request.
    fn reference(input: &SigningInput<'_>) -> String {
        let creds = Credentials::new(input.access_key, input.secret, input.token.map(str::to_owned), None, "test");
        let identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(input.region)
            .name(input.service)
            .time(input.time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let mut headers = Vec::new();
        if let Some(ct) = input.content_type {
            headers.push(("content-type", ct));
        }
        if let Some(t) = input.target {
            headers.push(("x-amz-target", t));
        }
        let request =
            SignableRequest::new(input.method, input.uri, headers.into_iter(), SignableBody::Bytes(input.body))
                .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let (headers, _) = instructions.into_parts();
        headers.into_iter().find(|h| h.name() == "authorization").unwrap().value().to_owned()
    }

    #[test]
    fn signatures_are_the_sdk_signers() {
        let signer = SigV4Signer::default();
        let bodies: [&[u8]; 3] = [b"{}", br#"{"TableName":"todos","Item":{"Id":{"S":"a  b"}}}"#, b""];
        let times = [0u64, 1_795_660_811, 1_795_660_811 + 86_400 * 400 + 3_599, 951_782_400 /* 2000-02-29 */];
        for (i, body) in bodies.iter().enumerate() {
            for &t in &times {
                for token in [None, Some("IQoJb3JpZ2luX2VjEXAMPLE//token+/=")] {
                    for uri in [
                        "https://dynamodb.eu-west-1.amazonaws.com/",
                        "https://dynamodb.eu-west-1.amazonaws.com:443",
                        "http://127.0.0.1:8000/",
                        "http://localhost:80/",
                    ] {
                        let input = SigningInput {
                            method: "POST",
                            uri,
                            content_type: Some("application/x-amz-json-1.0"),
                            target: (i != 2).then_some("DynamoDB_20120810.PutItem"),
                            body,
                            access_key: "AKIDEXAMPLE",
                            secret: if i == 1 { "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" } else { "other" },
                            token,
                            region: "eu-west-1",
                            service: "dynamodb",
                            time: UNIX_EPOCH + Duration::from_secs(t),
                        };
                        let ours = signer.sign(&input).unwrap().authorization;
                        assert_eq!(ours, reference(&input), "{uri} t={t} token={token:?} body={i}");
                    }
                }
            }
        }
    }

    #[test]
    fn dates_are_utc_calendar_days() {
        let at = |s| timestamps(UNIX_EPOCH + Duration::from_secs(s)).unwrap().1;
        assert_eq!(at(0), "19700101T000000Z");
        assert_eq!(at(951_782_400), "20000229T000000Z");
        assert_eq!(at(1_795_660_811), "20261126T024011Z");
        assert_eq!(at(4_102_444_799), "20991231T235959Z");
    }

    #[test]
    fn other_paths_are_refused_rather_than_signed_wrong() {
        let input = |uri| SigningInput {
            method: "GET",
            uri,
            content_type: None,
            target: None,
            body: b"",
            access_key: "a",
            secret: "s",
            token: None,
            region: "r",
            service: "s",
            time: UNIX_EPOCH,
        };
        assert!(SigV4Signer::default().sign(&input("https://h/x")).is_err());
        assert!(SigV4Signer::default().sign(&input("https://h/?a=b")).is_err());
    }
}
