//! The tests' local OpenID issuer as a process, for scripts that drive a signed-in dev server from
//! outside Rust (`lambda/tests/schemathesis.sh`): serves the discovery document and JWKS on a loopback
//! port with the committed test key, writes two lines to stdout — the issuer URL, then a bearer token
//! for user `schemathesis` (audience `todos-test-client`, valid for an hour) — and serves until killed.
//!
//! A test fixture, not a provider: the keys are public in this repository.

use std::io::Write as _;

#[path = "../tests/it/support/issuer.rs"]
#[allow(dead_code, unreachable_pub)]
mod issuer;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let key = issuer::TestKey::load("a", "key-a");
    let issuer = issuer::TestIssuer::start(&[&key]).await;
    let token = key.sign(&issuer.claims("schemathesis"));
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", issuer.url)?;
    writeln!(out, "{token}")?;
    out.flush()?;
    drop(out);
    std::future::pending::<()>().await;
    Ok(())
}
