//! The command line: `iac preview | up | destroy | outputs [--stack dev] [--region R] [--json]`, and
//! for a deployed stack `iac smoke` and `iac logs`. Parses arguments, loads the stack config and the
//! package, connects, asks for confirmation, prints progress (to stderr when stdout carries the
//! `--json` document); the work itself is in [`crate::ops`], [`crate::smoke`] and [`crate::logs`].

use std::cell::RefCell;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use crate::aws::Aws;
use crate::config::{StackConfig, validate_region, validate_stack_name};
use crate::engine::apply::ApplyOptions;
use crate::engine::plan::Plan;
use crate::engine::{Action, Progress, ProgressSink, StopSignal};
use crate::error::IacError;
use crate::ops;
use crate::outputs::StackOutputs;
use crate::report::{self, Document, ErrorDoc};
use crate::resources::Target;
use crate::resources::function::Code;
use crate::smoke;
use crate::stack::{Names, PROJECT, StackSpec};

/// Deploys the todos API to AWS (preview, up, destroy, outputs) and checks it once deployed (smoke, logs).
#[derive(Debug, Parser)]
#[command(name = "iac", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// On failure, print the whole chain of causes (also when RUST_LOG is set).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what `up` would change (reads live state; changes nothing).
    Preview {
        /// Stack and region.
        #[command(flatten)]
        stack: StackArgs,
        /// The Lambda package.
        #[command(flatten)]
        zip: ZipArgs,
        /// Print one JSON document on stdout (see the README); progress goes to stderr.
        #[arg(long)]
        json: bool,
    },
    /// Create or update the stack, then print and save its outputs.
    Up {
        /// Stack and region.
        #[command(flatten)]
        stack: StackArgs,
        /// The Lambda package.
        #[command(flatten)]
        zip: ZipArgs,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Let `up` replace a table that holds todos (or a user pool with users), deleting them.
        /// Needed when the stack's `[auth] mode` changes between `none` and a sign-in mode.
        #[arg(long)]
        allow_data_loss: bool,
        /// Print one JSON document on stdout (see the README); progress goes to stderr.
        #[arg(long)]
        json: bool,
    },
    /// Delete every resource of the stack (only those carrying its tags).
    Destroy {
        /// Stack and region.
        #[command(flatten)]
        stack: StackArgs,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Print one JSON document on stdout (see the README); progress goes to stderr.
        #[arg(long)]
        json: bool,
    },
    /// Print the stack's outputs (API URL, ...).
    Outputs {
        /// Stack and region.
        #[command(flatten)]
        stack: StackArgs,
        /// Print one JSON document on stdout (see the README).
        #[arg(long)]
        json: bool,
    },
    /// Check end to end that the deployed API works (CORS, sign-in, create, read, replace,
    /// validation, delete); only touches the todos it creates, and deletes them even on failure.
    Smoke {
        /// Stack whose `.stacks/<stack>/outputs.json` names the API (unless --url is given).
        #[arg(long, default_value = "dev")]
        stack: String,
        /// The API's URL with its stage (e.g. `https://<id>.execute-api.<region>.amazonaws.com/v1`).
        #[arg(long, env = "URL")]
        url: Option<String>,
        /// A bearer token for an API with sign-in (from the environment: a token on the command
        /// line would show in `ps`).
        #[arg(long, env = "TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// A shell command that prints a bearer token (e.g. a call to your identity provider).
        #[arg(long, env = "TOKEN_CMD")]
        token_cmd: Option<String>,
        /// The API requires sign-in (implied by a token or by the stack's outputs): without a token,
        /// check only CORS and that a request without one gets 401.
        #[arg(long, env = "SIGN_IN", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false)]
        sign_in: bool,
        /// The browser origin of the CORS preflight.
        #[arg(long, default_value = "http://localhost:8100")]
        origin: String,
        /// Bound of each request, in seconds.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
    /// Print the function's recent log events, one readable line each (Lambda's START / END /
    /// REPORT folded into their request); --follow keeps polling.
    Logs {
        /// Stack and region.
        #[command(flatten)]
        stack: StackArgs,
        /// How far back: 30s, 10m, 2h, 1d.
        #[arg(long, default_value = "10m")]
        since: String,
        /// Keep printing new events (polls every 2 s) until Ctrl-C.
        #[arg(long, short = 'f')]
        follow: bool,
        /// A CloudWatch Logs filter pattern, e.g. a request id or `{ $.status >= 500 }`.
        #[arg(long)]
        filter: Option<String>,
    },
}

/// Which stack, where.
#[derive(Debug, Args)]
pub struct StackArgs {
    /// Stack name; settings come from iac/stacks/<stack>.toml.
    #[arg(long, default_value = "dev")]
    pub stack: String,
    /// AWS region (else `region` in the stack config, else AWS_REGION / the profile's region).
    #[arg(long)]
    pub region: Option<String>,
}

/// The package to deploy.
#[derive(Debug, Args)]
pub struct ZipArgs {
    /// Lambda package built by `make build`; relative paths are taken from the workspace root.
    #[arg(long, default_value = "target/lambda/bootstrap.zip")]
    pub zip: PathBuf,
}

/// The workspace root: the nearest ancestor of the current directory whose Cargo.toml declares a
/// workspace with the `iac` member, else the root this binary was built from.
pub fn workspace_root() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            let manifest = dir.join("Cargo.toml");
            if let Ok(text) = std::fs::read_to_string(&manifest)
                && text.contains("[workspace]")
                && dir.join("iac").is_dir()
            {
                return dir.to_owned();
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_owned).unwrap_or_default()
}

struct Session {
    root: PathBuf,
    aws: Aws,
    spec: StackSpec,
}

async fn connect(args: &StackArgs, zip: Option<&Path>) -> Result<Session, IacError> {
    validate_stack_name(&args.stack)?;
    let root = workspace_root();
    let config_path = StackConfig::path(&root, &args.stack);
    let config = StackConfig::load(&config_path)?;
    // Read the package before any AWS call: a missing build is the most common mistake.
    let code = match zip {
        Some(z) => Code::read(&if z.is_absolute() { z.to_owned() } else { root.join(z) })?,
        None => Code::from_bytes(Vec::new()),
    };
    let region = args.region.clone().or_else(|| config.region.clone());
    if let Some(r) = &region {
        validate_region(r)?;
    }
    let aws = Aws::connect(region.as_deref()).await.map_err(|e| match e {
        IacError::NoRegion { .. } => IacError::NoRegion { config: config_path.clone() },
        other => other,
    })?;
    let target = Target { region: aws.region.clone(), account: aws.account.clone(), partition: aws.partition.clone() };
    let spec = StackSpec { names: Names::new(PROJECT, &args.stack), config, code, target };
    Ok(Session { root, aws, spec })
}

fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// Text for people: stdout, or stderr when stdout carries the `--json` document.
fn say(json: bool, text: &str) {
    if json { err(text) } else { out(text) }
}

fn confirm(verb: &'static str, question: &str, yes: bool, json: bool) -> Result<bool, CliError> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::NeedsConfirmation { verb });
    }
    say(json, &format!("{question} [y/N] "));
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Prints progress lines with the elapsed time since the start.
struct TerminalProgress {
    start: Instant,
    json: bool,
}

impl ProgressSink for TerminalProgress {
    fn report(&self, event: Progress) {
        let t = self.start.elapsed().as_secs_f64();
        let line = match event {
            Progress::Started { label, action, .. } => format!("[{t:6.1}s] {:<9} {label} ...", ing(action)),
            Progress::Finished { label, action, elapsed, .. } => {
                format!("[{t:6.1}s] {:<9} {label} ({:.1}s)", ed(action), elapsed.as_secs_f64())
            }
            Progress::Failed { label, error, .. } => format!("[{t:6.1}s] FAILED    {label}: {error}"),
            Progress::Skipped { label, reason, .. } => format!("[{t:6.1}s] skipped   {label} ({reason})"),
        };
        say(self.json, &format!("{line}\n"));
    }
}

fn ing(a: Action) -> &'static str {
    match a {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Replace => "replacing",
        Action::Delete => "deleting",
        Action::Unchanged => "checking",
    }
}

fn ed(a: Action) -> &'static str {
    match a {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "deleted",
        Action::Unchanged => "unchanged",
    }
}

/// First Ctrl-C: stop starting new work; second: abort in-flight calls.
fn watch_ctrl_c(stop: StopSignal, json: bool) {
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            stop.raise();
            if stop.abort_requested() {
                say(json, "\nAborting in-flight calls. Run `up` again to finish.\n");
            } else {
                say(json, "\nStopping: in-flight AWS calls will finish, nothing new starts (Ctrl-C again to abort).\n");
            }
        }
    });
}

fn options(allow_data_loss: bool, json: bool) -> ApplyOptions {
    let stop = StopSignal::new();
    watch_ctrl_c(stop.clone(), json);
    ApplyOptions {
        stop,
        stop_after: None,
        progress: Arc::new(TerminalProgress { start: Instant::now(), json }),
        allow_data_loss,
    }
}

/// The last line of `up` on a stack without sign-in.
pub fn open_api_warning(stack: &str) -> String {
    format!(
        "Warning: this API is open to anyone who has its URL. To require sign-in, set `[auth] mode = \"cognito\"` in iac/stacks/{stack}.toml and run `up` again.\n"
    )
}

fn header(s: &Session) -> String {
    format!(
        "Stack {} (project {}, account {}, region {})\n",
        s.spec.names.stack, s.spec.names.project, s.aws.account, s.aws.region
    )
}

/// Errors only the command line can have; everything else is the library's [`IacError`].
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A mutating command needs confirmation and none can be given.
    #[error("refusing to {verb} without confirmation: stdin is not a terminal; pass --yes to {verb} non-interactively")]
    NeedsConfirmation {
        /// `up` or `destroy`.
        verb: &'static str,
    },
    /// What the operation itself reports.
    #[error(transparent)]
    Iac(#[from] IacError),
}

/// The `--json` form of a failure.
fn error_doc(e: &CliError) -> ErrorDoc {
    match e {
        CliError::Iac(inner) => ErrorDoc::from(inner),
        CliError::NeedsConfirmation { .. } => ErrorDoc { kind: "NeedsConfirmation".to_owned(), message: e.to_string() },
    }
}

/// Runs one command.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    // With `--json` the document goes to stdout on success and on failure alike.
    let (command, stack, json) = match &cli.command {
        Command::Preview { stack, json, .. } => ("preview", stack.stack.clone(), *json),
        Command::Up { stack, json, .. } => ("up", stack.stack.clone(), *json),
        Command::Destroy { stack, json, .. } => ("destroy", stack.stack.clone(), *json),
        Command::Outputs { stack, json } => ("outputs", stack.stack.clone(), *json),
        Command::Smoke { .. } | Command::Logs { .. } => ("", String::new(), false),
    };
    let doc = RefCell::new(Document::new(command, &stack));
    let result = run_command(cli.command, &doc).await;
    if json {
        let mut doc = doc.into_inner();
        if let Err(e) = &result {
            doc.ok = false;
            doc.error = Some(error_doc(e));
        }
        out(&doc.to_json());
    }
    result
}

fn located(doc: &RefCell<Document>, s: &Session) {
    let mut d = doc.borrow_mut();
    d.region = Some(s.aws.region.clone());
    d.account = Some(s.aws.account.clone());
}

fn with_plan(doc: &RefCell<Document>, plan: &Plan) {
    let d = doc.borrow().clone().with_plan(plan);
    *doc.borrow_mut() = d;
}

async fn run_command(command: Command, doc: &RefCell<Document>) -> Result<(), CliError> {
    match command {
        Command::Preview { stack, zip, json } => {
            let s = connect(&stack, Some(&zip.zip)).await?;
            located(doc, &s);
            let plan = ops::preview(&s.aws, &s.spec).await?;
            with_plan(doc, &plan);
            say(json, &header(&s));
            say(json, &plan.render());
            Ok(())
        }
        Command::Up { stack, zip, yes, allow_data_loss, json } => {
            let started = Instant::now();
            let s = connect(&stack, Some(&zip.zip)).await?;
            located(doc, &s);
            let path = StackOutputs::path(&s.root, &s.spec.names.stack);
            let show = |plan: &Plan| {
                with_plan(doc, plan);
                say(json, &header(&s));
                say(json, &plan.render());
            };
            let approve = |_: &Plan| confirm("up", "Apply these changes?", yes, json);
            let result =
                ops::up_with(&s.aws, &s.spec, &options(allow_data_loss, json), Some(&path), show, approve).await?;
            let Some(result) = result else {
                say(json, "Nothing changed.\n");
                doc.borrow_mut().applied = Some(Vec::new());
                return Ok(());
            };
            {
                let mut d = doc.borrow_mut();
                d.applied = Some(report::applied_of(&result.report));
                d.outputs = Some(result.outputs.clone());
            }
            let mutating: u64 = s.aws.calls.mutating().values().sum();
            say(
                json,
                &format!(
                    "Done in {:.1}s: {} change(s), {} AWS calls ({} mutating).\n",
                    started.elapsed().as_secs_f64(),
                    result.report.executed.len(),
                    s.aws.calls.total(),
                    mutating
                ),
            );
            if let Some(o) = result.outputs {
                say(json, &o.render());
                say(json, &format!("Written to {}\n", path.display()));
            }
            if !s.spec.config.auth.mode.signs_in() {
                say(json, &open_api_warning(&s.spec.names.stack));
            }
            Ok(())
        }
        Command::Destroy { stack, yes, json } => {
            let s = connect(&stack, None).await?;
            located(doc, &s);
            let path = StackOutputs::path(&s.root, &s.spec.names.stack);
            say(json, &header(&s));
            let mut asked = false;
            let approve = |plan: &Plan| {
                asked = true;
                // What destroy does to each live resource of ours: delete it.
                let steps: Vec<report::StepDoc> = plan
                    .steps
                    .iter()
                    .filter(|st| st.observed.is_some() && !st.foreign)
                    .map(|st| report::StepDoc { action: "delete", changes: Vec::new(), ..report::StepDoc::from(st) })
                    .collect();
                doc.borrow_mut().steps = Some(steps);
                let list: Vec<String> = ops::doomed(plan).iter().map(|l| format!("  - {l}")).collect();
                say(json, &format!("Will delete:\n{}\n", list.join("\n")));
                confirm("destroy", "Delete these resources?", yes, json)
            };
            let result = ops::destroy_with(&s.aws, &s.spec, &options(false, json), Some(&path), approve).await?;
            let Some(removed) = result else {
                say(json, "Nothing deleted.\n");
                doc.borrow_mut().applied = Some(Vec::new());
                return Ok(());
            };
            if !asked {
                say(json, "Nothing of this stack exists.\n");
            }
            {
                let mut d = doc.borrow_mut();
                let applied = report::removed_of(&removed);
                d.summary = Some(report::Summary { delete: applied.len(), ..report::Summary::default() });
                d.applied = Some(applied);
                d.left_alone = Some(removed.left_alone.clone());
            }
            for l in &removed.left_alone {
                say(json, &format!("Left alone (has our name but not our tags): {l}\n"));
            }
            say(json, &format!("Removed {} resource(s).\n", removed.removed.len()));
            Ok(())
        }
        Command::Outputs { stack, json } => {
            let path = StackOutputs::path(&workspace_root(), &stack.stack);
            match connect(&stack, None).await {
                Ok(s) => {
                    located(doc, &s);
                    let outputs = ops::outputs(&s.aws, &s.spec).await?;
                    doc.borrow_mut().outputs = Some(outputs.clone());
                    match outputs {
                        Some(o) if !json => out(&o.render()),
                        Some(_) => {}
                        None => say(json, &format!("Stack {} is not deployed (run `up`).\n", stack.stack)),
                    }
                }
                Err(
                    e @ (IacError::NoCredentials { .. }
                    | IacError::NoRegion { .. }
                    | IacError::Unreachable { .. }
                    | IacError::TimedOut { .. }
                    | IacError::CredentialsExpired { .. }
                    | IacError::CredentialsRejected { .. }),
                ) => match StackOutputs::read(&path)? {
                    Some(o) => {
                        say(json, &format!("(AWS not reachable: {e}; showing {})\n", path.display()));
                        if !json {
                            out(&o.render());
                        }
                        doc.borrow_mut().outputs = Some(Some(o));
                    }
                    None => return Err(e.into()),
                },
                Err(e) => return Err(e.into()),
            }
            Ok(())
        }
        Command::Smoke { stack, url, token, token_cmd, sign_in, origin, timeout } => {
            Ok(smoke(&stack, url, token, token_cmd, sign_in, origin, timeout).await?)
        }
        Command::Logs { stack, since, follow, filter } => Ok(logs(&stack, &since, follow, filter.as_deref()).await?),
    }
}

/// The token from TOKEN, else from running TOKEN_CMD (its stdout, trimmed).
fn smoke_token(token: Option<String>, token_cmd: Option<String>) -> Result<Option<String>, IacError> {
    if let Some(t) = token.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
        return Ok(Some(t));
    }
    let Some(cmd) = token_cmd.filter(|c| !c.trim().is_empty()) else { return Ok(None) };
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| IacError::Smoke { message: format!("cannot run TOKEN_CMD `{cmd}`: {e}") })?;
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || token.is_empty() {
        return Err(IacError::Smoke {
            message: format!("TOKEN_CMD `{cmd}` printed no token (exit status {})", output.status),
        });
    }
    Ok(Some(token))
}

async fn smoke(
    stack: &str,
    url: Option<String>,
    token: Option<String>,
    token_cmd: Option<String>,
    sign_in: bool,
    origin: String,
    timeout: u64,
) -> Result<(), IacError> {
    let token = smoke_token(token, token_cmd)?;
    let url = match url.filter(|u| !u.trim().is_empty()) {
        Some(u) => (u, sign_in),
        None => {
            validate_stack_name(stack)?;
            let path = StackOutputs::path(&workspace_root(), stack);
            let Some(o) = StackOutputs::read(&path)? else {
                return Err(IacError::Smoke {
                    message: format!("no {} (run `make up`, or pass URL=...)", path.display()),
                });
            };
            if o.auth_mode != "none" && token.is_none() {
                err(&format!(
                    "Stack {stack} has sign-in ({}) and no token was given (TOKEN=... or TOKEN_CMD=...): checking only CORS and the 401.\n",
                    o.auth_mode
                ));
            }
            (o.api_url, sign_in || o.auth_mode != "none")
        }
    };
    let (url, sign_in) = url;
    let opts =
        smoke::SmokeOptions { url, token, sign_in, origin, timeout: std::time::Duration::from_secs(timeout.max(1)) };
    out(&format!("Smoke test of {}\n", smoke::stage_url(&opts.url)?));
    let report = smoke::run(&opts, &mut |c| out(&format!("{}\n", c.line()))).await?;
    if let Some(failed) = report.failure() {
        for ex in &failed.exchanges {
            out(&ex.dump());
        }
    }
    for line in &report.cleanup {
        out(&format!("{line}\n"));
    }
    match report.failure() {
        None => {
            out(&format!("{}\n", report.summary()));
            Ok(())
        }
        Some(failed) => Err(IacError::Smoke { message: format!("check `{}` failed: {}", failed.name, failed.detail) }),
    }
}

async fn logs(stack: &StackArgs, since: &str, follow: bool, filter: Option<&str>) -> Result<(), IacError> {
    let window = crate::logs::parse_since(since)?;
    let s = connect(stack, None).await?;
    let group = s.spec.names.log_group();
    let now_ms =
        || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let mut follower = crate::logs::Follower::new(now_ms() - window.as_millis() as i64);
    let mut folder = crate::logs::Folder::new();
    let not_deployed = || IacError::NotDeployed {
        stack: s.spec.names.stack.clone(),
        region: s.aws.region.clone(),
        what: format!("log group {group}"),
    };
    let Some(first) = crate::logs::fetch(&s.aws, &group, follower.since, filter).await? else {
        return Err(not_deployed());
    };
    let first = follower.fresh(first);
    let shown = !first.is_empty();
    for e in &first {
        for line in folder.push(e) {
            out(&format!("{line}\n"));
        }
    }
    if !follow {
        for line in folder.finish() {
            out(&format!("{line}\n"));
        }
        if !shown {
            let filtered = filter.map(|f| format!(" matching `{f}`")).unwrap_or_default();
            err(&format!(
                "No log events{filtered} in {group} in the last {since}: call the API (make smoke) or look further back (SINCE=1h).\n"
            ));
        }
        return Ok(());
    }
    err(&format!("Following {group} (Ctrl-C stops)\n"));
    // One listener for the whole run: a Ctrl-C during a poll is not lost between two waits.
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop_tx.send(true);
        }
    });
    loop {
        tokio::select! {
            _ = stop_rx.changed() => break,
            _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
        }
        let fetched = tokio::select! {
            _ = stop_rx.changed() => break,
            fetched = crate::logs::fetch(&s.aws, &group, follower.since, filter) => fetched?,
        };
        let Some(events) = fetched else {
            return Err(not_deployed());
        };
        for e in follower.fresh(events) {
            for line in folder.push(&e) {
                out(&format!("{line}\n"));
            }
        }
        // A request whose REPORT a filter hides (or that is still running) is shown after 30 s.
        for line in folder.flush_older_than(now_ms() - 30_000) {
            out(&format!("{line}\n"));
        }
    }
    for line in folder.finish() {
        out(&format!("{line}\n"));
    }
    Ok(())
}
