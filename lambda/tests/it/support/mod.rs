//! Test support: a DynamoDB emulator (dynalite) started by the tests themselves, clients pointed at
//! it, and tables made fresh per test.
//!
//! Where dynalite differs from DynamoDB, the test that depends on it says so.

#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod issuer;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};

/// A dynalite process on a free loopback port. It exits by itself when this process's end of its
/// standard input closes, so even a test run killed with SIGKILL leaves no emulator behind.
pub struct Dynalite {
    child: Child,
    pub endpoint: String,
}

impl Dynalite {
    pub fn start() -> Dynalite {
        let dir = std::env::var_os("DYNALITE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/emulator"));
        assert!(
            dir.join("node_modules/dynalite").is_dir(),
            "dynalite is not installed in {}: run `make test` (or `npm ci --prefix lambda/tests/emulator`)",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg(dir.join("start-dynalite.js"))
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node must be on PATH to run dynalite");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("dynalite did not start");
        let port: u16 = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected dynalite output: {line:?}"));
        Dynalite { child, endpoint: format!("http://127.0.0.1:{port}") }
    }

    /// One emulator per test binary, started on first use.
    pub fn shared() -> &'static Dynalite {
        static SHARED: OnceLock<Dynalite> = OnceLock::new();
        SHARED.get_or_init(Dynalite::start)
    }
}

impl Drop for Dynalite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The production SDK settings pointed at `endpoint`, with dummy credentials and a fixed region
/// (nothing is read from the environment).
fn emulator_loader(endpoint: &str) -> aws_config::ConfigLoader {
    todos::store::sdk_config_loader()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
}

/// A DynamoDB client for `endpoint` with the production timeouts and retries. For the tests of those
/// timeouts.
pub async fn production_client(endpoint: &str) -> Client {
    Client::new(&emulator_loader(endpoint).load().await)
}

/// Like [`production_client`] but with generous timeouts: dynalite is one Node process, and on a
/// loaded 2-core machine it can take longer than the production per-attempt timeout (DynamoDB does
/// not), which would turn a correct store into a flaky test.
pub async fn client(endpoint: &str) -> Client {
    let relaxed = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(std::time::Duration::from_secs(20))
        .operation_timeout(std::time::Duration::from_secs(60))
        .read_timeout(std::time::Duration::from_secs(20))
        .build();
    Client::new(&emulator_loader(endpoint).timeout_config(relaxed).load().await)
}

/// A table name no other test uses.
pub fn unique_table(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Creates the table as the deploy does: hash key `Id` (S), on demand.
pub async fn create_table(client: &Client, name: &str) {
    create_keyed_table(client, name, &[("Id", KeyType::Hash)]).await;
}

/// Creates the table as the deploy does with sign-in on: hash key `UserId` (S), range key `Id` (S).
pub async fn create_owned_table(client: &Client, name: &str) {
    create_keyed_table(client, name, &[("UserId", KeyType::Hash), ("Id", KeyType::Range)]).await;
}

async fn create_keyed_table(client: &Client, name: &str, keys: &[(&str, KeyType)]) {
    let mut create = client.create_table().table_name(name).billing_mode(BillingMode::PayPerRequest);
    for (attribute, key_type) in keys {
        create = create
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(*attribute)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder().attribute_name(*attribute).key_type(key_type.clone()).build().unwrap(),
            );
    }
    create.send().await.expect("create table");
    // As in DynamoDB, a new table is CREATING for a moment (dynalite: one timer tick) and refuses items.
    for _ in 0..200 {
        let out = client.describe_table().table_name(name).send().await.expect("describe table");
        if out.table().and_then(|t| t.table_status()) == Some(&aws_sdk_dynamodb::types::TableStatus::Active) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("table {name} did not become ACTIVE");
}

/// A fresh table on the shared emulator and a client for it.
pub async fn fresh_table(prefix: &str) -> (Client, String) {
    let client = client(&Dynalite::shared().endpoint).await;
    let name = unique_table(prefix);
    create_table(&client, &name).await;
    (client, name)
}

/// A fresh table keyed by owner (`UserId` + `Id`) on the shared emulator and a client for it.
pub async fn fresh_owned_table(prefix: &str) -> (Client, String) {
    let client = client(&Dynalite::shared().endpoint).await;
    let name = unique_table(prefix);
    create_owned_table(&client, &name).await;
    (client, name)
}

/// Everything in the table, read directly through the SDK (all pages).
pub async fn raw_items(
    client: &Client,
    table: &str,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client.scan().table_name(table).set_exclusive_start_key(start).send().await.expect("scan");
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

/// A random todo id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A real-shaped API Gateway v2 event from `tests/data`.
pub fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The real `dev-server` binary on a loopback port with its file store at `data`; killed on drop.
pub struct DevServerProcess {
    pub child: std::process::Child,
    pub port: u16,
}

impl DevServerProcess {
    /// Starts the binary and waits (up to 10 s) until it accepts connections.
    pub fn start(data: &std::path::Path, port: u16) -> DevServerProcess {
        DevServerProcess::start_with(data, port, &[])
    }

    /// As [`DevServerProcess::start`], with more command-line arguments.
    pub fn start_with(data: &std::path::Path, port: u16, args: &[&str]) -> DevServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dev-server"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--data"])
            .arg(data)
            .args(args)
            .env_remove("AUTH_ISSUER")
            .env_remove("AUTH_AUDIENCE")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return DevServerProcess { child, port };
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("dev-server did not start listening on {port}");
    }

    /// `http://127.0.0.1:PORT/v1/todos`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/todos", self.port)
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for DevServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
