//! The local dev server: the API on a laptop, on the embedded store (or DynamoDB), under `/v1`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use todos::config::AuthMode;
use todos::entrypoints::dev_server::DevServer;
use todos::entrypoints::dev_server::authorizer::JwtAuthorizer;
use todos::routes::Cors;
use todos::telemetry::{self, LogFormat};
use todos::{ApiConfig, App, DynamoStore, EmbeddedStore, TodoStore};

/// Serves the todos API locally at http://HOST:PORT/v1/todos.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on (loopback by default).
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 3000)]
    port: u16,
    /// Embedded database file (created if missing).
    #[arg(long, env = "TODOS_DATA", default_value = "target/dev-data/todos.redb")]
    data: PathBuf,
    /// Keep todos in memory only; they are gone when the server stops.
    #[arg(long, conflicts_with_all = ["data", "dynamodb"])]
    memory: bool,
    /// Use the DynamoDB table TABLE_NAME (endpoint from AWS_ENDPOINT_URL, e.g. dynalite) instead of the
    /// embedded store.
    #[arg(long, conflicts_with = "data")]
    dynamodb: bool,
    /// Allowed CORS origins, comma-separated (default: any).
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// Stage name: the first path segment, as in AWS.
    #[arg(long, default_value = "v1")]
    stage: String,
    /// Sign-in: the OpenID Connect issuer whose tokens are accepted, exactly as in their `iss`
    /// (`https://`, or `http://` on loopback). With --auth-audience, every route needs a bearer token
    /// and each user sees only their own todos.
    #[arg(long, env = "AUTH_ISSUER", requires = "auth_audience")]
    auth_issuer: Option<String>,
    /// Sign-in: an accepted audience (`aud`, or `client_id` of tokens without `aud`); repeat or
    /// separate with commas for several.
    #[arg(long, env = "AUTH_AUDIENCE", value_delimiter = ',', requires = "auth_issuer")]
    auth_audience: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init(LogFormat::Text);
    let args = Args::parse();
    let auth = match args.auth_issuer.as_deref().filter(|i| !i.trim().is_empty()) {
        None => None,
        Some(issuer) => Some(Arc::new(
            JwtAuthorizer::new(issuer, args.auth_audience.clone()).context("setting up sign-in (--auth-issuer)")?,
        )),
    };
    let store: Arc<dyn TodoStore> = if args.dynamodb {
        let config = todos::config::LambdaConfig::from_env()?;
        let sdk = todos::store::dynamodb_sdk_config().await;
        Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table_name))
    } else if args.memory {
        Arc::new(EmbeddedStore::in_memory()?)
    } else {
        Arc::new(EmbeddedStore::open(&args.data).with_context(|| format!("opening {}", args.data.display()))?)
    };
    let addr = SocketAddr::new(args.host, args.port);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    let store_desc = if args.dynamodb {
        "dynamodb".to_owned()
    } else if args.memory {
        "memory".to_owned()
    } else {
        args.data.display().to_string()
    };
    tracing::info!(store = %store_desc, "listening on http://{local}/{}/todos", args.stage);
    let mut cors = Cors::with_origins(args.cors_origins);
    let mut config = ApiConfig::default();
    if let Some(auth) = &auth {
        tracing::info!(issuer = auth.issuer(), audiences = ?auth.audiences(), "sign-in on: bearer tokens required");
        cors = cors.with_authorization();
        config.auth = AuthMode::Jwt;
        // In the background: the issuer may start after the API (`make dev AUTH=1` starts both).
        let auth = auth.clone();
        tokio::spawn(async move {
            if let Err(error) = auth.prefetch().await {
                tracing::warn!(error = %format!("{:#}", anyhow::Error::new(error)), "issuer's keys not available yet; retrying when a token arrives");
            }
        });
    }
    let server = DevServer { app: App::new(store, config), cors, stage: args.stage, auth };
    server.serve(listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            return ctrl_c.await.unwrap_or(());
        };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
