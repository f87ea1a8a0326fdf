//! A local OpenID Connect issuer for the sign-in tests: a loopback HTTP server that serves a discovery
//! document and a JWKS, RSA keys committed under `tests/data/jwt/`, and tokens signed with them by
//! `jsonwebtoken` — the crate the dev server verifies with, but through its public API only.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The audience (app client id) the test issuer's tokens are for.
pub const AUDIENCE: &str = "todos-test-client";

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A committed RSA key with the `kid` the issuer publishes it under.
pub struct TestKey {
    pub kid: String,
    encoding: EncodingKey,
    /// The public key in PEM (for the "HS256 signed with the public key" attack).
    pub public_pem: Vec<u8>,
}

impl TestKey {
    /// `tests/data/jwt/rsa-<name>.pem`, published as `kid`.
    pub fn load(name: &str, kid: &str) -> TestKey {
        let dir = format!("{}/tests/data/jwt", env!("CARGO_MANIFEST_DIR"));
        let private = std::fs::read(format!("{dir}/rsa-{name}.pem")).unwrap();
        let public_pem = std::fs::read(format!("{dir}/rsa-{name}.pub.pem")).unwrap();
        TestKey { kid: kid.to_owned(), encoding: EncodingKey::from_rsa_pem(&private).unwrap(), public_pem }
    }

    /// The key as a JWKS entry.
    pub fn jwk(&self) -> Value {
        let mut jwk = Jwk::from_encoding_key(&self.encoding, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(self.kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        serde_json::to_value(jwk).unwrap()
    }

    /// `claims` signed RS256 with this key, its `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }

    /// `claims` signed RS256 with this key but naming `kid` in the header.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let header = Header { kid: Some(kid.to_owned()), ..Header::new(Algorithm::RS256) };
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// An unsigned token (`alg: none`) naming `kid`.
pub fn unsigned_token(kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": kid});
    format!("{}.{}.", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()))
}

/// An HS256 token whose HMAC secret is `key`'s public PEM: accepted by a verifier that lets the token
/// choose the algorithm.
pub fn hs256_with_public_key(key: &TestKey, claims: &Value) -> String {
    let header = Header { kid: Some(key.kid.clone()), ..Header::new(Algorithm::HS256) };
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(&key.public_pem).unwrap()).unwrap()
}

#[derive(Default)]
struct State {
    jwks: Value,
    jwks_fetches: usize,
}

/// The issuer: `URL/.well-known/openid-configuration` and `URL/jwks` on a loopback port.
pub struct TestIssuer {
    pub url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestIssuer {
    /// Starts serving `keys` on a free port.
    pub async fn start(keys: &[&TestKey]) -> TestIssuer {
        TestIssuer::start_on(0, keys).await
    }

    /// Starts serving `keys` on `port` (0: a free one).
    pub async fn start_on(port: u16, keys: &[&TestKey]) -> TestIssuer {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let issuer_url = url.clone();
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (url, state) = (issuer_url.clone(), shared.clone());
                let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (url, state) = (url.clone(), state.clone());
                    async move {
                        let body = match req.uri().path() {
                            "/.well-known/openid-configuration" => {
                                json!({"issuer": url, "jwks_uri": format!("{url}/jwks"), "id_token_signing_alg_values_supported": ["RS256"]})
                            }
                            "/jwks" => {
                                let mut state = state.lock().unwrap();
                                state.jwks_fetches += 1;
                                state.jwks.clone()
                            }
                            _ => {
                                let mut r = Response::new(Full::new(Bytes::new()));
                                *r.status_mut() = StatusCode::NOT_FOUND;
                                return Ok::<_, Infallible>(r);
                            }
                        };
                        let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
                        r.headers_mut().insert("content-type", "application/json".parse().unwrap());
                        Ok(r)
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let issuer = TestIssuer { url, state, task };
        issuer.publish(keys);
        issuer
    }

    /// Replaces the published key set (key rotation).
    pub fn publish(&self, keys: &[&TestKey]) {
        self.state.lock().unwrap().jwks = json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()});
    }

    /// How often the JWKS has been fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.state.lock().unwrap().jwks_fetches
    }

    /// Valid claims for user `sub`: this issuer, the test audience, an hour to live.
    pub fn claims(&self, sub: &str) -> Value {
        json!({"iss": self.url, "sub": sub, "aud": AUDIENCE, "iat": now(), "exp": now() + 3600, "token_use": "id"})
    }
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
