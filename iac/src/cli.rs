//! The command line: `iac preview | up | destroy | outputs [--stack dev] [--region R]`. Parses
//! arguments, loads the stack config and the package, connects, asks for confirmation, prints
//! progress; the work itself is in [`crate::ops`].

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
use crate::resources::Target;
use crate::resources::function::Code;
use crate::stack::{Names, PROJECT, StackSpec};

/// Deploys the todos API to AWS: preview, up, destroy, outputs.
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
    },
    /// Delete every resource of the stack (only those carrying its tags).
    Destroy {
        /// Stack and region.
        #[command(flatten)]
        stack: StackArgs,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Print the stack's outputs (API URL, ...).
    Outputs {
        /// Stack and region.
        #[command(flatten)]
        stack: StackArgs,
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

fn confirm(verb: &'static str, question: &str, yes: bool) -> Result<bool, CliError> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::NeedsConfirmation { verb });
    }
    out(&format!("{question} [y/N] "));
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Prints progress lines with the elapsed time since the start.
struct TerminalProgress {
    start: Instant,
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
        out(&format!("{line}\n"));
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
fn watch_ctrl_c(stop: StopSignal) {
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            stop.raise();
            if stop.abort_requested() {
                out("\nAborting in-flight calls. Run `up` again to finish.\n");
            } else {
                out("\nStopping: in-flight AWS calls will finish, nothing new starts (Ctrl-C again to abort).\n");
            }
        }
    });
}

fn options(allow_data_loss: bool) -> ApplyOptions {
    let stop = StopSignal::new();
    watch_ctrl_c(stop.clone());
    ApplyOptions {
        stop,
        stop_after: None,
        progress: Arc::new(TerminalProgress { start: Instant::now() }),
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

/// Runs one command.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Preview { stack, zip } => {
            let s = connect(&stack, Some(&zip.zip)).await?;
            let plan = ops::preview(&s.aws, &s.spec).await?;
            out(&header(&s));
            out(&plan.render());
            Ok(())
        }
        Command::Up { stack, zip, yes, allow_data_loss } => {
            let started = Instant::now();
            let s = connect(&stack, Some(&zip.zip)).await?;
            let path = StackOutputs::path(&s.root, &s.spec.names.stack);
            let show = |plan: &Plan| {
                out(&header(&s));
                out(&plan.render());
            };
            let approve = |_: &Plan| confirm("up", "Apply these changes?", yes);
            let result = ops::up_with(&s.aws, &s.spec, &options(allow_data_loss), Some(&path), show, approve).await?;
            let Some(result) = result else {
                out("Nothing changed.\n");
                return Ok(());
            };
            let mutating: u64 = s.aws.calls.mutating().values().sum();
            out(&format!(
                "Done in {:.1}s: {} change(s), {} AWS calls ({} mutating).\n",
                started.elapsed().as_secs_f64(),
                result.report.executed.len(),
                s.aws.calls.total(),
                mutating
            ));
            if let Some(o) = result.outputs {
                out(&o.render());
                out(&format!("Written to {}\n", path.display()));
            }
            if !s.spec.config.auth.mode.signs_in() {
                out(&open_api_warning(&s.spec.names.stack));
            }
            Ok(())
        }
        Command::Destroy { stack, yes } => {
            let s = connect(&stack, None).await?;
            let path = StackOutputs::path(&s.root, &s.spec.names.stack);
            out(&header(&s));
            let mut asked = false;
            let approve = |plan: &Plan| {
                asked = true;
                let list: Vec<String> = ops::doomed(plan).iter().map(|l| format!("  - {l}")).collect();
                out(&format!("Will delete:\n{}\n", list.join("\n")));
                confirm("destroy", "Delete these resources?", yes)
            };
            let result = ops::destroy_with(&s.aws, &s.spec, &options(false), Some(&path), approve).await?;
            let Some(report) = result else {
                out("Nothing deleted.\n");
                return Ok(());
            };
            if !asked {
                out("Nothing of this stack exists.\n");
            }
            for l in &report.left_alone {
                out(&format!("Left alone (has our name but not our tags): {l}\n"));
            }
            out(&format!("Removed {} resource(s).\n", report.removed.len()));
            Ok(())
        }
        Command::Outputs { stack } => {
            let path = StackOutputs::path(&workspace_root(), &stack.stack);
            match connect(&stack, None).await {
                Ok(s) => match ops::outputs(&s.aws, &s.spec).await? {
                    Some(o) => out(&o.render()),
                    None => out(&format!("Stack {} is not deployed (run `up`).\n", stack.stack)),
                },
                Err(e @ (IacError::NoCredentials { .. } | IacError::NoRegion { .. })) => {
                    match StackOutputs::read(&path)? {
                        Some(o) => {
                            out(&format!("(AWS not reachable: {e}; showing {})\n", path.display()));
                            out(&o.render());
                        }
                        None => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
            Ok(())
        }
    }
}
