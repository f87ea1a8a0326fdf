//! `iac smoke` end to end: the real `iac` binary against the real dev server (`target/debug/dev-server`,
//! built by `cargo test --workspace`; DEV_SERVER_BIN overrides), open and with sign-in (tokens signed
//! with the lambda tests' committed keys, served by a loopback OpenID issuer), and against a broken
//! API that must make it fail loudly and still clean up. No moto: a module of this binary only so it
//! links no extra test executable.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::support::{read_request, text};

/// The dev server binary next to the `iac` binary under test.
fn dev_server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("DEV_SERVER_BIN") {
        return PathBuf::from(p);
    }
    let iac = PathBuf::from(env!("CARGO_BIN_EXE_iac"));
    let bin = iac.with_file_name("dev-server");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p todos --bin dev-server` (or set DEV_SERVER_BIN)",
        bin.display()
    );
    bin
}

/// A dev server on a free loopback port, in memory; killed (by its PID) on drop.
pub(crate) struct DevServer {
    child: Child,
    /// `http://127.0.0.1:PORT/v1`.
    pub(crate) url: String,
}

impl DevServer {
    pub(crate) fn start(extra: &[&str]) -> DevServer {
        let mut child = Command::new(dev_server_bin())
            .args(["--host", "127.0.0.1", "--port", "0", "--memory"])
            .args(extra)
            .env_remove("AUTH_ISSUER")
            .env_remove("AUTH_AUDIENCE")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the dev server");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("http://127.0.0.1:") {
                    let addr: String = line[i..].chars().take_while(|c| !c.is_whitespace()).collect();
                    let _ = tx.send(addr.trim_end_matches("/todos").to_owned());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(30)).expect("the dev server did not say where it listens");
        DevServer { child, url }
    }

    /// Every todo the (open) server holds.
    pub(crate) fn list(&self, token: Option<&str>) -> Value {
        let (status, body) = get(&format!("{}/todos", self.url), token);
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.0 GET: (status, body).
fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = TcpStream::connect(host).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n{auth}\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// `iac smoke` with `args` and `env`, bounded to 60 s.
fn smoke(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_iac"));
    c.arg("smoke").args(args).env_remove("TOKEN").env_remove("TOKEN_CMD").env_remove("URL");
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "iac smoke did not finish in 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn check_lines(o: &Output) -> Vec<String> {
    stdout(o)
        .lines()
        .filter(|l| ["ok  ", "FAIL", "skip"].iter().any(|p| l.starts_with(p)))
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn smoke_passes_against_the_open_dev_server_and_leaves_nothing_behind() {
    let server = DevServer::start(&[]);
    let out = smoke(&["--url", &server.url], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        check_lines(&out),
        [
            "ok preflight",
            "skip sign-in",
            "ok create",
            "ok read-back",
            "ok replace",
            "ok validation",
            "ok delete",
            "ok gone"
        ],
        "{}",
        text(&out)
    );
    // Each check shows the latency of its requests; the summary their spread.
    assert!(stdout(&out).contains("[POST /v1/todos → 204 ("), "{}", text(&out));
    assert!(stdout(&out).contains("7 checks passed (1 skipped), 8 requests: min "), "{}", text(&out));
    assert_eq!(server.list(None), json!([]), "the smoke todos are gone");
    eprintln!("{}", stdout(&out));
}

#[test]
fn smoke_reads_the_url_from_the_environment_and_rejects_a_url_that_is_not_one() {
    let server = DevServer::start(&[]);
    let out = smoke(&[], &[("URL", &format!("{}/todos", server.url))]);
    assert!(out.status.success(), "{}", text(&out));
    let bad = smoke(&["--url", "127.0.0.1/v1"], &[]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not an http(s) URL of the API"), "{}", text(&bad));
}

/// An OpenID issuer on loopback (std threads): discovery document and JWKS of one committed key.
struct Issuer {
    url: String,
    key: jsonwebtoken::EncodingKey,
}

impl Issuer {
    fn start() -> Issuer {
        // The lambda tests' committed keys, not a copy.
        let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../lambda/tests/data/jwt/rsa-a.pem")).unwrap();
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap();
        let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, jsonwebtoken::Algorithm::RS256).unwrap();
        jwk.common.key_id = Some("smoke-a".into());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let discovery = json!({"issuer": url, "jwks_uri": format!("{url}/jwks")}).to_string();
        let jwks = json!({"keys": [jwk]}).to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (_, path, _) = read_request(&stream);
                let body = if path.ends_with("/jwks") { &jwks } else { &discovery };
                let mut s = stream;
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Issuer { url, key }
    }

    fn token(&self, sub: &str) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let claims = json!({"iss": self.url, "sub": sub, "aud": "todos-smoke", "iat": now, "exp": now + 600});
        let header = jsonwebtoken::Header {
            kid: Some("smoke-a".into()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256)
        };
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }
}

#[test]
fn smoke_with_sign_in_checks_the_401_and_works_with_a_token_or_a_token_command() {
    let issuer = Issuer::start();
    let server = DevServer::start(&["--auth-issuer", &issuer.url, "--auth-audience", "todos-smoke"]);
    let token = issuer.token("smoke-user");

    let out = smoke(&["--url", &server.url], &[("TOKEN", &token)]);
    assert!(out.status.success(), "{}", text(&out));
    let lines = check_lines(&out);
    assert_eq!(lines.len(), 8, "{}", text(&out));
    assert!(lines.iter().all(|l| l.starts_with("ok ")), "{}", text(&out));
    assert!(stdout(&out).contains("a request without a token is refused (401)"));
    assert!(!stdout(&out).contains(&token), "the token is never printed");
    assert_eq!(server.list(Some(&token)), json!([]), "the smoke todos are gone");

    // The same through a command that prints the token.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{token}\n")).unwrap();
    let out = smoke(&["--url", &server.url], &[("TOKEN_CMD", &format!("cat '{}'", file.display()))]);
    assert!(out.status.success(), "{}", text(&out));

    // No token, sign-in declared (as CI does for a stack whose users sign in in a browser): CORS and
    // the 401 only, the rest skipped, nothing written.
    let out = smoke(&["--url", &server.url, "--sign-in"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let lines = check_lines(&out);
    assert_eq!(lines[..2], ["ok preflight", "ok sign-in"], "{}", text(&out));
    assert_eq!(lines.iter().filter(|l| l.starts_with("skip ")).count(), 6, "{}", text(&out));

    // A token the API refuses: the first write fails, with the request and the 401 shown.
    let bad = smoke(&["--url", &server.url], &[("TOKEN", "not-a-jwt")]);
    assert!(!bad.status.success(), "{}", text(&bad));
    assert!(check_lines(&bad).contains(&"FAIL create".to_owned()), "{}", text(&bad));
    assert!(stdout(&bad).contains("< 401"), "{}", text(&bad));
    assert!(stdout(&bad).contains("> authorization: Bearer <token>"), "{}", text(&bad));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("check `create` failed: expected 204, got 401"));
}

/// What the broken API saw.
#[derive(Default)]
struct Seen {
    requests: Vec<(String, String, String)>,
}

/// An API that answers every write 204 and every list `[]`: it loses what it is given.
fn broken_api() -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let (method, path, body) = read_request(&stream);
            shared.lock().unwrap().requests.push((method.clone(), path, String::from_utf8_lossy(&body).into()));
            let (status, extra, body) = match method.as_str() {
                "OPTIONS" => (
                    "204 No Content",
                    "access-control-allow-origin: *\r\naccess-control-allow-methods: GET,POST,DELETE\r\naccess-control-allow-headers: content-type\r\n",
                    "",
                ),
                "GET" => ("200 OK", "content-type: application/json\r\n", "[]"),
                _ => ("204 No Content", "", ""),
            };
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, seen)
}

#[test]
fn smoke_fails_loudly_against_a_broken_api_and_still_deletes_what_it_created() {
    let (url, seen) = broken_api();
    let out = smoke(&["--url", &url], &[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(check_lines(&out), ["ok preflight", "skip sign-in", "ok create", "FAIL read-back"], "{}", text(&out));
    let so = stdout(&out);
    // The failing request and response.
    assert!(so.contains(&format!("    > GET {url}/todos")), "{so}");
    assert!(so.contains("    < 200 ("), "{so}");
    assert!(so.contains("    < []"), "{so}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("check `read-back` failed: not in the list"));
    // The todo it wrote is deleted, and nothing else was touched.
    let requests = &seen.lock().unwrap().requests;
    let posted: Value = serde_json::from_str(&requests.iter().find(|r| r.0 == "POST").unwrap().2).unwrap();
    let id = posted["id"].as_str().unwrap();
    let deletes: Vec<&str> = requests.iter().filter(|r| r.0 == "DELETE").map(|r| r.1.as_str()).collect();
    assert_eq!(deletes, [format!("/v1/todos/{id}")], "{requests:?}");
    assert!(so.contains(&format!("cleanup: deleted todo {id}")), "{so}");
}

#[test]
fn smoke_reads_the_url_from_the_outputs_of_a_stack_deployed_to_moto() {
    let _g = super::support::exclusive();
    let ws = super::support::Workspace::new();
    ws.run_ok("up");
    // moto serves no API: point the deployed stack's URL at the dev server, keep everything else.
    let server = DevServer::start(&[]);
    let mut outputs: Value = serde_json::from_str(&std::fs::read_to_string(ws.outputs()).unwrap()).unwrap();
    assert!(outputs["apiUrl"].as_str().unwrap().ends_with(".amazonaws.com/v1"), "{outputs}");
    outputs["apiUrl"] = Value::String(server.url.clone());
    std::fs::write(ws.outputs(), outputs.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_iac"))
        .args(["smoke", "--stack", "dev"])
        .current_dir(ws.root())
        .env_remove("URL")
        .env_remove("TOKEN")
        .env_remove("TOKEN_CMD")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout(&out).starts_with(&format!("Smoke test of {}\n", server.url)), "{}", text(&out));
    assert_eq!(server.list(None), json!([]));

    // Without outputs: a clear error, not a guess.
    std::fs::remove_file(ws.outputs()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_iac"))
        .args(["smoke"])
        .current_dir(ws.root())
        .env_remove("URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("outputs.json (run `make up`, or pass URL=...)"),
        "{}",
        text(&out)
    );
}
