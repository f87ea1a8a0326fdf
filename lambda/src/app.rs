//! The application: a store and the API's limits, built once at start-up and shared by every request,
//! whichever way requests arrive ([`crate::entrypoints`]).

use std::sync::Arc;
use std::time::Instant;

use crate::api::{ApiConfig, ApiRequest, ApiResponse, dispatch};
use crate::store::TodoStore;

/// The application: a store and the API's limits. Cheap to clone (the store is shared).
#[derive(Clone)]
pub struct App {
    store: Arc<dyn TodoStore>,
    config: ApiConfig,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("config", &self.config).finish_non_exhaustive()
    }
}

impl App {
    /// An app on `store` with the given limits.
    pub fn new(store: Arc<dyn TodoStore>, config: ApiConfig) -> Self {
        App { store, config }
    }

    /// The API's limits.
    pub fn config(&self) -> &ApiConfig {
        &self.config
    }

    /// Answers one decoded request: routes it, runs its handler, and turns any error into its response.
    pub async fn handle(&self, request: &ApiRequest) -> ApiResponse {
        dispatch(request, self.store.as_ref(), &self.config).await
    }
}

/// The one log line per request, whichever way it arrived: request id, route key, status, latency.
pub(crate) fn log_request(request_id: &str, route_key: Option<&str>, status: u16, started: Instant) {
    tracing::info!(
        request_id,
        route_key = route_key.unwrap_or("-"),
        status,
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
}
