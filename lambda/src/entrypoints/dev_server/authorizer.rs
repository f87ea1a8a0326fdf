//! The dev server's stand-in for API Gateway's JWT authorizer: the same checks on a laptop as in AWS.
//!
//! A request's bearer token passes when it is an RS256 JWT signed by the key its `kid` names in the
//! issuer's JWKS (found through `<issuer>/.well-known/openid-configuration` → `jwks_uri`), its `iss` is
//! the configured issuer exactly, its `aud` holds an accepted audience (or, without `aud`, its
//! `client_id` is one: Cognito access tokens), `exp` is in the future and `nbf`, if present, is not.
//! Anything else is refused, and the dev server answers 401 as API Gateway does.
//!
//! Keys are fetched in the background at start-up and again, at most once per
//! [`JwtAuthorizer::refetch_interval`], when a token names a `kid` the cached set lacks: key rotation
//! works, and a flood of made-up `kid`s cannot make the server hammer the issuer. An issuer that is not
//! up yet (`make dev AUTH=1` starts both at once) only means 401s until it is.
//!
//! Only the dev server uses this module; the Lambda relies on API Gateway, so none of it is linked into
//! `bootstrap`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::api::error_chain;

/// Longest wait for the issuer's discovery document or JWKS.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest discovery document or JWKS read.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Until the first key set has been fetched, retry this often at most.
const FIRST_FETCH_RETRY: Duration = Duration::from_secs(1);

/// Why the authorizer could not be set up, could not fetch keys, or refused a token. Refusals are
/// logged (at debug level) with their reason and answered with a bare 401: the reason is never sent.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The issuer or a URL it published cannot be used.
    #[error("{url:?} cannot be used: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No accepted audience was configured.
    #[error("at least one accepted audience (--auth-audience) is needed")]
    NoAudience,
    /// The HTTPS client could not be built (no usable system trust store).
    #[error("cannot set up HTTPS for fetching the issuer's keys")]
    Tls(#[source] std::io::Error),
    /// Fetching a document from the issuer failed.
    #[error("fetching {url} failed")]
    Fetch {
        /// What was fetched.
        url: String,
        /// Why it failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The issuer answered, but not with what OpenID Connect discovery promises.
    #[error("{url} is not a usable {what}")]
    Document {
        /// What was fetched.
        url: String,
        /// The kind of document expected.
        what: &'static str,
    },
    /// No `Authorization` header, or one without a token.
    #[error("no bearer token")]
    MissingToken,
    /// The token is not a JWT, or its header cannot be read.
    #[error("token is not a readable JWT")]
    Malformed(#[source] jsonwebtoken::errors::Error),
    /// The token is signed with another algorithm than RS256 (`none`, HS256, ...).
    #[error("token algorithm {0:?} is not RS256")]
    Algorithm(Algorithm),
    /// The token's header names no key.
    #[error("token has no kid")]
    NoKeyId,
    /// The issuer's key set has no key with the token's `kid`, even after a refetch.
    #[error("no key with kid {0:?} in the issuer's key set")]
    UnknownKey(String),
    /// Signature, issuer, expiry or not-before check failed.
    #[error("token rejected")]
    Invalid(#[source] jsonwebtoken::errors::Error),
    /// Neither `aud` nor (without `aud`) `client_id` names an accepted audience.
    #[error("token is for another audience")]
    Audience,
}

impl AuthError {
    /// The `WWW-Authenticate` value of the 401 for this refusal, in API Gateway's form
    /// (`Bearer scope="" error="invalid_token" error_description="..."`), so a developer sees why in
    /// the browser's network panel as they would in AWS. No token at all: a bare challenge (RFC 6750).
    pub fn www_authenticate(&self) -> String {
        use jsonwebtoken::errors::ErrorKind;
        let description = match self {
            AuthError::MissingToken => return "Bearer".to_owned(),
            AuthError::Invalid(e) => match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
                ErrorKind::ImmatureSignature => "the token is not valid yet".to_owned(),
                ErrorKind::InvalidIssuer => "the token does not have a valid issuer".to_owned(),
                ErrorKind::InvalidSignature => "the token signature is invalid".to_owned(),
                ErrorKind::MissingRequiredClaim(claim) => format!("the token has no {claim} claim"),
                _ => "the token is invalid".to_owned(),
            },
            AuthError::Audience => "the token does not have a valid audience".to_owned(),
            AuthError::Algorithm(_) => "the token is not signed with RS256".to_owned(),
            AuthError::NoKeyId | AuthError::UnknownKey(_) => "the token's signing key is unknown".to_owned(),
            AuthError::Malformed(_) => "the token is not a readable JWT".to_owned(),
            // Keys could not be fetched: the token may be fine, the issuer is not reachable.
            _ => "the issuer's keys are not available".to_owned(),
        };
        format!(r#"Bearer scope="" error="invalid_token" error_description="{description}""#)
    }
}

/// The claims of a verified token, as API Gateway hands them to the function
/// (`requestContext.authorizer.jwt.claims`): every value a string.
pub type Claims = HashMap<String, String>;

/// Verifies bearer tokens against one issuer, as API Gateway's JWT authorizer does.
pub struct JwtAuthorizer {
    issuer: String,
    audiences: Vec<String>,
    discovery_url: String,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    /// The issuer's RS256 keys by `kid`, as last fetched.
    keys: RwLock<Option<Arc<HashMap<String, DecodingKey>>>>,
    /// Held while fetching, so concurrent requests with a new `kid` cause one fetch; holds the time of
    /// the last fetch a token caused (the start-up fetch does not count).
    fetching: tokio::sync::Mutex<Option<Instant>>,
    refetch_interval: Duration,
}

impl std::fmt::Debug for JwtAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthorizer")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

impl JwtAuthorizer {
    /// An authorizer for tokens from `issuer` (exactly as in their `iss`) meant for any of `audiences`.
    /// The issuer must be `https://`, or `http://` on a loopback host. Fetches nothing yet: see
    /// [`JwtAuthorizer::prefetch`].
    pub fn new(issuer: &str, audiences: Vec<String>) -> Result<Self, AuthError> {
        let audiences: Vec<String> =
            audiences.into_iter().map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect();
        if audiences.is_empty() {
            return Err(AuthError::NoAudience);
        }
        check_url(issuer)?;
        let discovery_url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(issuer)?)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(JwtAuthorizer {
            issuer: issuer.to_owned(),
            audiences,
            discovery_url,
            client: Client::builder(TokioExecutor::new()).build(https),
            keys: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(None),
            refetch_interval: Duration::from_secs(10),
        })
    }

    /// The same authorizer, refetching keys for an unknown `kid` at most once per `interval`.
    pub fn with_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The accepted audiences.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// At most how often a token with an unknown `kid` makes the authorizer fetch the key set again.
    pub fn refetch_interval(&self) -> Duration {
        self.refetch_interval
    }

    /// Fetches the key set now (at start-up). On failure the authorizer still works: it retries when
    /// the first token arrives.
    #[tracing::instrument(skip(self), fields(issuer = %self.issuer))]
    pub async fn prefetch(&self) -> Result<(), AuthError> {
        let _fetching = self.fetching.lock().await;
        self.fetch_keys().await
    }

    /// Verifies the token in an `Authorization` header value (`Bearer <jwt>`; API Gateway also takes
    /// the bare token) and returns its claims.
    pub async fn verify(&self, authorization: Option<&str>) -> Result<Claims, AuthError> {
        let token = authorization.and_then(bearer_token).ok_or(AuthError::MissingToken)?;
        let header = jsonwebtoken::decode_header(token).map_err(AuthError::Malformed)?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Algorithm(header.alg));
        }
        let kid = header.kid.ok_or(AuthError::NoKeyId)?;
        let key = self.key(&kid).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // No leeway (jsonwebtoken's default is 60 s): `exp` in the future and `nbf` not, as the contract
        // says. Audience is checked below, with the `client_id` fallback jsonwebtoken does not know.
        validation.leeway = 0;
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(AuthError::Invalid)?;
        let claims = data.claims;
        if !self.audience_accepted(&claims) {
            return Err(AuthError::Audience);
        }
        Ok(claims.into_iter().map(|(name, value)| (name, claim_string(value))).collect())
    }

    fn audience_accepted(&self, claims: &Map<String, Value>) -> bool {
        let accepted = |v: &Value| v.as_str().is_some_and(|a| self.audiences.iter().any(|ok| ok == a));
        match claims.get("aud") {
            Some(Value::Array(auds)) => auds.iter().any(accepted),
            Some(aud) => accepted(aud),
            None => claims.get("client_id").is_some_and(accepted),
        }
    }

    fn cached(&self, kid: &str) -> Option<DecodingKey> {
        let keys = self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.as_ref().and_then(|keys| keys.get(kid).cloned())
    }

    /// The key named `kid`: from the cached set, or after one (rate-limited) refetch.
    async fn key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let mut last_fetch = self.fetching.lock().await;
        // Another request may have fetched the new set while this one waited.
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let have_keys = self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).is_some();
        let interval = if have_keys { self.refetch_interval } else { self.refetch_interval.min(FIRST_FETCH_RETRY) };
        if last_fetch.is_some_and(|at| at.elapsed() < interval) {
            return Err(AuthError::UnknownKey(kid.to_owned()));
        }
        *last_fetch = Some(Instant::now());
        tracing::info!(kid, "token names a key not in the cached set: fetching the issuer's keys again");
        if let Err(error) = self.fetch_keys().await {
            tracing::warn!(error = %error_chain(&error), "cannot fetch the issuer's keys");
            return Err(error);
        }
        self.cached(kid).ok_or_else(|| AuthError::UnknownKey(kid.to_owned()))
    }

    /// Discovery document → `jwks_uri` → the RS256 signing keys that have a `kid`.
    async fn fetch_keys(&self) -> Result<(), AuthError> {
        let discovery = self.get_json(&self.discovery_url).await?;
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| AuthError::Document { url: self.discovery_url.clone(), what: "discovery document" })?
            .to_owned();
        check_url(&jwks_uri)?;
        let jwks = self.get_json(&jwks_uri).await?;
        let Some(Value::Array(entries)) = jwks.get("keys") else {
            return Err(AuthError::Document { url: jwks_uri, what: "JWKS" });
        };
        let mut keys = HashMap::new();
        for entry in entries {
            // One key this crate cannot read (another key type, a new curve) must not hide the others.
            let Ok(jwk) = serde_json::from_value::<Jwk>(entry.clone()) else { continue };
            let signing = !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_)));
            let rs256 = jwk.common.key_algorithm.is_none_or(|alg| alg == KeyAlgorithm::RS256);
            if !(signing && rs256 && matches!(jwk.algorithm, AlgorithmParameters::RSA(_))) {
                continue;
            }
            let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(&jwk)) else { continue };
            keys.insert(kid, key);
        }
        tracing::info!(keys = keys.len(), "fetched the issuer's signing keys");
        *self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(keys));
        Ok(())
    }

    async fn get_json(&self, url: &str) -> Result<Value, AuthError> {
        let fetch_error =
            |source: Box<dyn std::error::Error + Send + Sync>| AuthError::Fetch { url: url.to_owned(), source };
        let uri: Uri = url.parse().map_err(|e: http::uri::InvalidUri| fetch_error(e.into()))?;
        let request = Request::get(uri)
            .header(header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| fetch_error(e.into()))?;
        let fetch = async {
            let response = self.client.request(request).await.map_err(|e| fetch_error(e.into()))?;
            if !response.status().is_success() {
                return Err(fetch_error(format!("status {}", response.status()).into()));
            }
            Limited::new(response.into_body(), MAX_DOCUMENT_BYTES).collect().await.map_err(fetch_error)
        };
        let body = tokio::time::timeout(FETCH_TIMEOUT, fetch)
            .await
            .map_err(|_| fetch_error(format!("no answer within {FETCH_TIMEOUT:?}").into()))??
            .to_bytes();
        serde_json::from_slice(&body).map_err(|e| fetch_error(e.into()))
    }
}

/// rustls with ring (already linked for the SDK) and the system's trust store. A machine without one
/// can still use a loopback `http://` issuer.
fn tls_config(issuer: &str) -> Result<rustls::ClientConfig, AuthError> {
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| AuthError::Tls(std::io::Error::other(e)))?;
    let native = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    if added == 0 && issuer.starts_with("https:") {
        let detail = native.errors.first().map_or_else(|| "no certificates found".to_owned(), ToString::to_string);
        return Err(AuthError::Tls(std::io::Error::other(format!("system trust store: {detail}"))));
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// The token of `Bearer <token>` or of a bare `<token>` (API Gateway accepts both).
fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim();
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        Some(_) => return None,
        None if value.eq_ignore_ascii_case("bearer") => return None,
        None => value,
    };
    (!token.is_empty()).then_some(token)
}

/// A claim as API Gateway passes it on: strings as they are, arrays as `[a b]`, anything else as JSON.
fn claim_string(value: Value) -> String {
    match value {
        Value::String(s) => s,
        Value::Array(items) => {
            let items: Vec<String> = items.into_iter().map(claim_string).collect();
            format!("[{}]", items.join(" "))
        }
        other => other.to_string(),
    }
}

/// `https://` anywhere; `http://` only to a loopback host, where nothing on the network can forge keys.
fn check_url(url: &str) -> Result<(), AuthError> {
    let bad = |reason| AuthError::BadUrl { url: url.to_owned(), reason };
    let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
    let host = uri.host().ok_or_else(|| bad("no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if is_loopback(host) => Ok(()),
        Some("http") => Err(bad("plain http is only allowed to a loopback host (127.0.0.0/8, ::1, localhost)")),
        _ => Err(bad("the scheme must be https")),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_issuers_are_allowed_on_loopback_only() {
        for ok in [
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
            "http://127.0.0.1:9000",
            "http://127.8.9.10/realms/x",
            "http://[::1]:8080/",
            "http://localhost:5556/dex",
            "http://LOCALHOST",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in ["http://example.com", "http://10.0.0.1", "http://[::2]/", "ftp://localhost", "localhost", ""] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bearer_tokens_are_read_with_or_without_the_scheme() {
        assert_eq!(bearer_token("Bearer abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(bearer_token("bearer  abc"), Some("abc"));
        assert_eq!(bearer_token("abc"), Some("abc"));
        assert_eq!(bearer_token("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token(""), None);
    }

    #[test]
    fn claims_are_passed_on_as_api_gateway_writes_them() {
        assert_eq!(claim_string(Value::from("u-1")), "u-1");
        assert_eq!(claim_string(serde_json::json!(1_700_000_000)), "1700000000");
        assert_eq!(claim_string(serde_json::json!(["a", "b"])), "[a b]");
        assert_eq!(claim_string(serde_json::json!(true)), "true");
    }

    #[test]
    fn an_authorizer_needs_an_audience_and_a_usable_issuer() {
        assert!(matches!(JwtAuthorizer::new("http://127.0.0.1:1", vec![" ".into()]), Err(AuthError::NoAudience)));
        assert!(matches!(JwtAuthorizer::new("http://example.com", vec!["a".into()]), Err(AuthError::BadUrl { .. })));
    }
}
