//! `iac`: preview, up, destroy and outputs of the todos stack. See the library for the engine.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            // The SDK's credential chain logs each provider it tries at WARN; the error we print says it.
            "warn,aws_config=error".into()
        }))
        .init();
    let cli = iac::cli::Cli::parse();
    let verbose = cli.verbose || std::env::var_os("RUST_LOG").is_some();
    match iac::cli::run(cli).await.map_err(anyhow::Error::from) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line by default; the SDK's errors behind it on request.
            eprintln!("error: {e}");
            if verbose {
                for cause in e.chain().skip(1) {
                    eprintln!("  caused by: {cause}");
                }
            }
            std::process::ExitCode::FAILURE
        }
    }
}
