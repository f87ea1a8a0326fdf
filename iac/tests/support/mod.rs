//! Shared harness of the moto-backed tests (`moto.rs` and its modules `moto/*.rs`, one test binary): a moto
//! server for each test running at once (loopback, free port, reset for each test), a
//! throw-away workspace so `up` never writes into the repository, the real `iac` binary run as a
//! child process against moto, and SDK checks of what exists.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use iac::aws::Aws;

pub(crate) const STACK: &str = "dev";
pub(crate) const TABLE: &str = "todos-dev";
pub(crate) const ROLE: &str = "todos-dev-api-role";
pub(crate) const POLICY: &str = "todos-dev-table-access";
pub(crate) const FUNCTION: &str = "todos-dev-api";
pub(crate) const LOG_GROUP: &str = "/aws/lambda/todos-dev-api";
pub(crate) const API: &str = "todos-dev-api";
pub(crate) const SID: &str = "todos-dev-apigw-invoke";
pub(crate) const USER_POOL: &str = "todos-dev-users";
pub(crate) const AUTHORIZER: &str = "todos-dev-jwt";
/// A `cognito` stack with the defaults.
pub(crate) const COGNITO_STACK: &str = "[auth]\nmode = \"cognito\"\n";
/// A `jwt` stack trusting a made-up issuer (moto never fetches its keys).
pub(crate) const JWT_STACK: &str =
    "[auth]\nmode = \"jwt\"\nissuer = \"https://idp.example.com/realms/todos\"\naudiences = [\"todos-api\"]\n";
pub(crate) const BASIC: &str = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

pub(crate) struct Moto {
    pub(crate) port: u16,
    _child: Child,
}

impl Moto {
    /// Starts a moto server on a free loopback port; it dies with us (its shell kills it by PID on
    /// stdin EOF, which our exit gives it).
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let bin = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("\"{bin}\" -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; read _; kill $pid"))
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdin(Stdio::piped())
            .spawn()
            .expect("moto_server could not be started: `pip install 'moto[server]'` or set MOTO_SERVER");
        let deadline = Instant::now() + Duration::from_secs(60);
        while http(port, "GET", "/moto-api/").is_none() {
            assert!(Instant::now() < deadline, "moto_server did not answer on port {port} within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { port, _child: child }
    }
}

/// moto servers no test holds now. A test takes one for itself ([`exclusive`]), so tests run in
/// parallel (libtest's threads), each on its own account; a server is started when none is free, so
/// there are as many as tests ever ran at once.
static IDLE: Mutex<Vec<Moto>> = Mutex::new(Vec::new());

thread_local! {
    /// The port of the server the test on this thread holds.
    static HELD: std::cell::Cell<Option<u16>> = const { std::cell::Cell::new(None) };
}

/// A moto server held by one test, freshly reset; back to the idle ones when dropped (a panicking
/// test's too: the next holder resets it).
pub(crate) struct Exclusive {
    moto: Option<Moto>,
}

impl Exclusive {
    pub(crate) fn port(&self) -> u16 {
        self.moto.as_ref().expect("held until dropped").port
    }

    /// Deletes everything on the server (`POST /moto-api/reset`).
    pub(crate) fn reset(&self) {
        assert!(http(self.port(), "POST", "/moto-api/reset").is_some(), "moto reset failed");
    }
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        HELD.set(None);
        if let Some(m) = self.moto.take() {
            IDLE.lock().unwrap_or_else(|e| e.into_inner()).push(m);
        }
    }
}

/// A freshly reset moto server for this test alone; [`endpoint`] (on this thread) points at it.
pub(crate) fn exclusive() -> Exclusive {
    assert!(HELD.get().is_none(), "this thread already holds a moto server");
    let idle = IDLE.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let held = Exclusive { moto: Some(idle.unwrap_or_else(Moto::start)) };
    held.reset();
    HELD.set(Some(held.port()));
    held
}

/// The held server's URL (see [`exclusive`]).
pub(crate) fn endpoint() -> String {
    held_endpoint().expect("endpoint() outside a test holding a moto server (call exclusive() first)")
}

fn held_endpoint() -> Option<String> {
    HELD.get().map(|port| format!("http://127.0.0.1:{port}"))
}

pub(crate) fn http(port: u16, method: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(s, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.starts_with("HTTP/").then_some(out)
}

/// Reads one HTTP/1.1 request from `stream`, as the tests' tiny loopback servers need it: method, path
/// and the body (by `content-length`).
pub(crate) fn read_request(stream: &TcpStream) -> (String, String, Vec<u8>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    let _ = reader.read_line(&mut first);
    let mut length = 0usize;
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        line.clear();
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    let mut parts = first.split_whitespace();
    (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned(), body)
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Against moto the SDK makes one attempt per call (`AWS_MAX_ATTEMPTS=1` for the CLI, the same retry
/// config in process). moto answers a deterministic 500 where AWS does not (`GetAuthorizers`, which the
/// deploy crate then reads another way): the SDK's standard retries would only repeat that answer after
/// a second or two of backoff, on every `up`, `preview` and `destroy` of a sign-in stack. Nothing here
/// relies on an SDK retry; the crate's own retries (role not yet assumable, update in progress) still run.
pub(crate) async fn aws() -> Aws {
    let sdk = iac::aws::config_loader()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(aws_sdk_sts::config::Credentials::new("testing", "testing", None, None, "test"))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    let mut aws = Aws::from_sdk_config(&sdk).await.unwrap();
    // No concurrent `up` runs in-process: the settle wait after creating the API only slows tests.
    aws.settle = Duration::ZERO;
    aws
}

/// The `dev` stack's table-access policy as IAM holds it (decoded: moto percent-encodes it), and its
/// actions sorted.
pub(crate) async fn dev_table_policy(aws: &Aws) -> (serde_json::Value, Vec<String>) {
    let p = aws
        .iam
        .get_role_policy()
        .role_name("todos-dev-api-role")
        .policy_name("todos-dev-table-access")
        .send()
        .await
        .unwrap();
    let p = iac::resources::role::decode_policy(p.policy_document()).unwrap();
    let mut actions: Vec<String> =
        p["Statement"][0]["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect();
    actions.sort();
    (p, actions)
}

/// A stored (uncompressed) zip holding one file `bootstrap`.
pub(crate) fn zip_with(content: &[u8]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    let name = b"bootstrap";
    let (crc, len) = (crc32(content), content.len() as u32);
    let mut common = Vec::new();
    for v in [20u16, 0, 0, 0, 0x21] {
        common.extend(v.to_le_bytes());
    }
    common.extend(crc.to_le_bytes());
    common.extend(len.to_le_bytes());
    common.extend(len.to_le_bytes());
    common.extend((name.len() as u16).to_le_bytes());
    common.extend(0u16.to_le_bytes());
    let mut z = Vec::new();
    z.extend(0x0403_4b50u32.to_le_bytes());
    z.extend(&common);
    z.extend(name);
    z.extend(content);
    let cd_offset = z.len() as u32;
    let mut cd = Vec::new();
    cd.extend(0x0201_4b50u32.to_le_bytes());
    cd.extend(0x0314u16.to_le_bytes());
    cd.extend(&common);
    for v in [0u16, 0, 0] {
        cd.extend(v.to_le_bytes());
    }
    cd.extend((0o100755u32 << 16).to_le_bytes());
    cd.extend(0u32.to_le_bytes());
    cd.extend(name);
    z.extend(&cd);
    z.extend(0x0605_4b50u32.to_le_bytes());
    z.extend([0u8; 4]);
    z.extend(1u16.to_le_bytes());
    z.extend(1u16.to_le_bytes());
    z.extend((cd.len() as u32).to_le_bytes());
    z.extend(cd_offset.to_le_bytes());
    z.extend(0u16.to_le_bytes());
    z
}

/// A throw-away workspace: a `Cargo.toml` with `[workspace]` and an `iac/` directory make
/// `workspace_root()` stop here, so outputs go to `<tmp>/.stacks/dev/outputs.json` and the stack
/// config is the default one; the package is `<tmp>/bootstrap.zip`.
pub(crate) struct Workspace {
    pub(crate) dir: tempfile::TempDir,
}

impl Workspace {
    pub(crate) fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        std::fs::create_dir_all(dir.path().join("iac/stacks")).unwrap();
        std::fs::write(dir.path().join("bootstrap.zip"), zip_with(b"#!/bin/sh\necho reliability\n")).unwrap();
        // Empty AWS config and credentials files: nothing of the developer's setup leaks in.
        std::fs::write(dir.path().join("no-aws-config"), "").unwrap();
        std::fs::write(dir.path().join("no-aws-credentials"), "").unwrap();
        Workspace { dir }
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `iac/stacks/dev.toml` (e.g. an `[auth]` section) for the next runs.
    pub(crate) fn write_stack_config(&self, text: &str) {
        std::fs::write(self.root().join("iac/stacks").join(format!("{STACK}.toml")), text).unwrap();
    }

    pub(crate) fn outputs(&self) -> PathBuf {
        self.root().join(".stacks").join(STACK).join("outputs.json")
    }

    /// The `iac` binary for `verb` (`up`, `destroy`, `preview`), pointed at moto with dummy creds.
    pub(crate) fn command(&self, verb: &str) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_iac"));
        c.arg(verb).args(["--stack", STACK]);
        match verb {
            "up" => {
                c.args(["--yes", "--zip"]).arg(self.root().join("bootstrap.zip"));
            }
            "destroy" => {
                c.arg("--yes");
            }
            "preview" => {
                c.arg("--zip").arg(self.root().join("bootstrap.zip"));
            }
            _ => {}
        }
        c.current_dir(self.root())
            // A test that holds no moto server (it expects a failure before any call) still never
            // reaches AWS: port 9 (discard) on loopback, where nothing listens.
            .env("AWS_ENDPOINT_URL", held_endpoint().unwrap_or_else(|| "http://127.0.0.1:9".into()))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            // One attempt per call: see `aws()`.
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_CONFIG_FILE", self.root().join("no-aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.root().join("no-aws-credentials"))
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        c
    }

    /// Runs `verb` to completion (bounded: 120 s).
    pub(crate) fn run(&self, verb: &str) -> Output {
        let mut child = self.command(verb).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn iac");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if child.try_wait().unwrap().is_some() {
                return child.wait_with_output().unwrap();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!("iac {verb} did not finish in 120 s:\n{}", text(&out));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Runs `verb` and asserts it succeeded.
    pub(crate) fn run_ok(&self, verb: &str) -> String {
        let out = self.run(verb);
        assert!(out.status.success(), "iac {verb} failed:\n{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

pub(crate) fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A progress line that reports a finished change (`[  0.1s] created   table todos-dev (0.0s)`).
pub(crate) fn is_finished_line(line: &str) -> bool {
    let Some((_, rest)) = line.split_once("] ") else { return false };
    ["created ", "updated ", "replaced ", "deleted ", "unchanged "].iter().any(|w| rest.starts_with(w))
}

/// A progress line that reports a started change.
pub(crate) fn is_started_line(line: &str) -> bool {
    let Some((_, rest)) = line.split_once("] ") else { return false };
    ["creating ", "updating ", "replacing ", "deleting "].iter().any(|w| rest.starts_with(w))
}

/// Where a killed run was when the SIGKILL went out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Killed {
    /// Killed after this many finished changes (and `started` started ones) were printed.
    At { finished: usize, started: usize },
    /// The run finished by itself before the kill point.
    Completed { finished: usize, success: bool },
}

/// Spawns `verb` and SIGKILLs it once `finished` changes were reported (for 0: once the first
/// change has started), or after `delay` if given — whichever rule applies comes first. Bounded: 60 s.
pub(crate) fn kill_during(ws: &Workspace, verb: &str, finished: Option<usize>, delay: Option<Duration>) -> Killed {
    let mut child = ws.command(verb).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn iac");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(60);
    let (mut done, mut started) = (0usize, 0usize);
    let result = loop {
        let now = Instant::now();
        assert!(now < deadline, "iac {verb} neither reached the kill point nor finished in 60 s");
        if delay.is_some_and(|d| now - t0 >= d) {
            break None;
        }
        match rx.recv_timeout(Duration::from_millis(2)) {
            Ok(line) => {
                if is_finished_line(&line) {
                    done += 1;
                } else if is_started_line(&line) {
                    started += 1;
                }
                if let Some(k) = finished
                    && ((k == 0 && started > 0) || (k > 0 && done >= k))
                {
                    break None;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().unwrap();
                break Some(Killed::Completed { finished: done, success: status.success() });
            }
        }
    };
    let killed = match result {
        Some(k) => k,
        None => {
            // SIGKILL (std's kill sends SIGKILL on Unix): no destructor, no Ctrl-C handler runs.
            let _ = child.kill();
            let status = child.wait().unwrap();
            if status.success() {
                Killed::Completed { finished: done, success: true }
            } else {
                Killed::At { finished: done, started }
            }
        }
    };
    let _ = reader.join();
    killed
}

/// Seeded xorshift64*: reproducible "random" kill delays; the seed is printed by the tests.
pub(crate) struct XorShift(pub u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub(crate) fn seed() -> u64 {
    std::env::var("IAC_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    })
}

fn has_our_tags(tags: Option<&std::collections::HashMap<String, String>>) -> bool {
    tags.is_some_and(|t| {
        t.get("stack").map(String::as_str) == Some(STACK)
            && t.get("managed-by").map(String::as_str) == Some("todos-iac")
            && t.get("project").map(String::as_str) == Some("todos")
    })
}

/// Every API named like ours: (tagged as ours, untagged look-alikes).
pub(crate) async fn apis(aws: &Aws) -> (Vec<aws_sdk_apigatewayv2::types::Api>, Vec<aws_sdk_apigatewayv2::types::Api>) {
    let out = aws.apigw.get_apis().send().await.unwrap();
    out.items().iter().filter(|a| a.name() == Some(API)).cloned().partition(|a| has_our_tags(a.tags()))
}

/// Creates an untagged API with our name (never ours: must survive everything). Returns its id.
pub(crate) async fn create_look_alike(aws: &Aws) -> String {
    let out = aws
        .apigw
        .create_api()
        .name(API)
        .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
        .send()
        .await
        .unwrap();
    out.api_id().unwrap().to_owned()
}

/// The names of what exists of each kind the stack creates (roles and log groups under our prefixes;
/// APIs: only those with our name and tags).
#[derive(Debug)]
pub(crate) struct Inventory {
    pub(crate) tables: Vec<String>,
    pub(crate) roles: Vec<String>,
    pub(crate) log_groups: Vec<String>,
    pub(crate) functions: Vec<String>,
    pub(crate) apis: Vec<String>,
}

pub(crate) async fn inventory(aws: &Aws) -> Inventory {
    let owned = |names: Vec<&str>| names.into_iter().map(str::to_owned).collect::<Vec<_>>();
    let tables = aws.dynamodb.list_tables().send().await.unwrap();
    let roles = aws.iam.list_roles().send().await.unwrap();
    let groups = aws.logs.describe_log_groups().log_group_name_prefix("/aws/lambda/todos-").send().await.unwrap();
    let functions = aws.lambda.list_functions().send().await.unwrap();
    let (ours, _) = apis(aws).await;
    Inventory {
        tables: tables.table_names().to_vec(),
        roles: owned(roles.roles().iter().map(|r| r.role_name()).filter(|n| n.starts_with("todos-")).collect()),
        log_groups: owned(groups.log_groups().iter().filter_map(|g| g.log_group_name()).collect()),
        functions: owned(functions.functions().iter().filter_map(|f| f.function_name()).collect()),
        apis: owned(ours.iter().filter_map(|a| a.api_id()).collect()),
    }
}

/// Counts of what exists, for messages.
pub(crate) async fn census(aws: &Aws) -> BTreeMap<&'static str, usize> {
    let i = inventory(aws).await;
    BTreeMap::from([
        ("apis", i.apis.len()),
        ("tables", i.tables.len()),
        ("functions", i.functions.len()),
        ("roles", i.roles.len()),
        ("log groups", i.log_groups.len()),
    ])
}

/// Exactly one of each resource of the stack, wired together, and the look-alike untouched.
pub(crate) async fn assert_exactly_one_of_each(aws: &Aws, look_alike: Option<&str>, ctx: &str) {
    let inv = inventory(aws).await;
    assert_eq!(inv.tables, [TABLE], "{ctx}: tables {inv:?}");
    assert_eq!(inv.roles, [ROLE], "{ctx}: roles {inv:?}");
    assert_eq!(inv.log_groups, [LOG_GROUP], "{ctx}: log groups {inv:?}");
    assert_eq!(inv.functions, [FUNCTION], "{ctx}: functions {inv:?}");
    assert_eq!(inv.apis.len(), 1, "{ctx}: exactly one HTTP API with our name and tags: {inv:?}");
    let inline = aws.iam.list_role_policies().role_name(ROLE).send().await.unwrap();
    assert_eq!(inline.policy_names(), [POLICY], "{ctx}: exactly one inline policy");
    let attached = aws.iam.list_attached_role_policies().role_name(ROLE).send().await.unwrap();
    let attached: Vec<&str> = attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect();
    assert_eq!(attached, [BASIC], "{ctx}: exactly the basic execution policy attached");

    let f = aws.lambda.get_function_configuration().function_name(FUNCTION).send().await.unwrap();
    assert_eq!(
        f.environment().and_then(|e| e.variables()).map(|v| v[&"TABLE_NAME".to_owned()].clone()),
        Some(TABLE.into())
    );

    assert_look_alike_untouched(aws, look_alike, ctx).await;
    let api_id = inv.apis[0].as_str();
    let ints = aws.apigw.get_integrations().api_id(api_id).send().await.unwrap();
    assert_eq!(ints.items().len(), 1, "{ctx}: integrations");
    let int = &ints.items()[0];
    assert_eq!(int.integration_uri(), f.function_arn(), "{ctx}: integration targets the function");
    let routes = aws.apigw.get_routes().api_id(api_id).send().await.unwrap();
    let mut keys: Vec<&str> = routes.items().iter().filter_map(|r| r.route_key()).collect();
    keys.sort();
    let mut want: Vec<String> = todos_routes::ROUTES.iter().map(|r| r.key()).collect();
    want.sort();
    assert_eq!(keys, want, "{ctx}: exactly the three routes");
    let target = format!("integrations/{}", int.integration_id().unwrap());
    assert!(routes.items().iter().all(|r| r.target() == Some(target.as_str())), "{ctx}: routes target the integration");
    let stages = aws.apigw.get_stages().api_id(api_id).send().await.unwrap();
    assert_eq!(stages.items().iter().filter_map(|s| s.stage_name()).collect::<Vec<_>>(), ["v1"], "{ctx}: stages");

    let pol = aws.lambda.get_policy().function_name(FUNCTION).send().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(pol.policy().unwrap()).unwrap();
    let statements = doc["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{ctx}: one permission statement: {doc}");
    assert_eq!(statements[0]["Sid"], SID);
    let source = iac::resources::permission::parse_statement(pol.policy().unwrap(), FUNCTION, SID).unwrap().source_arn;
    assert_eq!(
        source,
        Some(format!("arn:aws:execute-api:us-east-1:{}:{api_id}/*/*/*", aws.account)),
        "{ctx}: the permission names the surviving API"
    );
}

/// The untagged API with our name, when the test made one, is still there and still the only one.
async fn assert_look_alike_untouched(aws: &Aws, look_alike: Option<&str>, ctx: &str) {
    if let Some(id) = look_alike {
        let (_, look_alikes) = apis(aws).await;
        assert_eq!(look_alikes.iter().filter_map(|a| a.api_id()).collect::<Vec<_>>(), [id], "{ctx}: look-alike");
    }
}

/// Nothing of the stack remains (and the look-alike does).
pub(crate) async fn assert_nothing_left(aws: &Aws, look_alike: Option<&str>, ctx: &str) {
    let census = census(aws).await;
    assert!(census.values().all(|n| *n == 0), "{ctx}: left behind: {census:?}");
    assert!(aws.iam.get_role().role_name(ROLE).send().await.is_err(), "{ctx}: role left behind");
    assert_look_alike_untouched(aws, look_alike, ctx).await;
}

/// The sign-in part of a deployed `cognito` or `jwt` stack, exactly once: (cognito only) one pool
/// with our name and tags, one app client, our domain on that pool; every route behind one JWT
/// authorizer with our name whose issuer is the pool's (or `jwt_issuer`). moto cannot list an API's
/// authorizers (GetAuthorizers answers 500), so the one the routes name is read by id.
pub(crate) async fn assert_sign_in_exactly_once(aws: &Aws, jwt_issuer: Option<&str>, ctx: &str) {
    let issuer = match jwt_issuer {
        Some(i) => i.to_owned(),
        None => {
            let pools = aws.cognito.list_user_pools().max_results(60).send().await.unwrap();
            let ours: Vec<&str> =
                pools.user_pools().iter().filter(|p| p.name() == Some(USER_POOL)).filter_map(|p| p.id()).collect();
            assert_eq!(ours.len(), 1, "{ctx}: exactly one user pool: {pools:?}");
            let pool = ours[0];
            let clients = aws.cognito.list_user_pool_clients().user_pool_id(pool).max_results(60).send().await.unwrap();
            assert_eq!(clients.user_pool_clients().len(), 1, "{ctx}: exactly one app client");
            let domain = format!("todos-{STACK}-{}", aws.account);
            let d = aws.cognito.describe_user_pool_domain().domain(&domain).send().await.unwrap();
            assert_eq!(d.domain_description().and_then(|d| d.user_pool_id()), Some(pool), "{ctx}: domain on our pool");
            format!("https://cognito-idp.us-east-1.amazonaws.com/{pool}")
        }
    };
    let (ours, _) = apis(aws).await;
    let api_id = ours[0].api_id().unwrap();
    let routes = aws.apigw.get_routes().api_id(api_id).send().await.unwrap();
    let ids: Vec<&str> = routes.items().iter().filter_map(|r| r.authorizer_id()).collect();
    assert_eq!(ids.len(), routes.items().len(), "{ctx}: every route names an authorizer");
    assert!(ids.iter().all(|i| *i == ids[0]), "{ctx}: one authorizer: {ids:?}");
    assert!(routes.items().iter().all(|r| r.authorization_type().map(|a| a.as_str()) == Some("JWT")), "{ctx}");
    let a = aws.apigw.get_authorizer().api_id(api_id).authorizer_id(ids[0]).send().await.unwrap();
    assert_eq!(a.name(), Some(AUTHORIZER), "{ctx}");
    assert_eq!(a.jwt_configuration().and_then(|j| j.issuer()), Some(issuer.as_str()), "{ctx}: issuer");
}

/// No user pool of the stack is left.
pub(crate) async fn assert_no_user_pool_left(aws: &Aws, ctx: &str) {
    let pools = aws.cognito.list_user_pools().max_results(60).send().await.unwrap();
    assert!(pools.user_pools().iter().all(|p| p.name() != Some(USER_POOL)), "{ctx}: user pool left: {pools:?}");
    let domain = format!("todos-{STACK}-{}", aws.account);
    let d = aws.cognito.describe_user_pool_domain().domain(&domain).send().await.unwrap();
    assert!(d.domain_description().and_then(|d| d.user_pool_id()).is_none(), "{ctx}: domain left");
}
