//! The HTTP API (axum).
//!
//! - [`router`]: every route, with tracing, request timeout, body limit and request metrics.
//! - [`AppState`]: what handlers share, built from the ports as trait objects (so tests can swap adapters).
//! - [`ApiError`] (`error`): the fixed mapping from errors to status codes and `{"error": "..."}` bodies.
//! - `auth`: the [`Authenticated`] extractor (API key → project, then the per-project rate limit).
//! - Handlers by resource: `health` (`/health`, `/ready`), `events` (intake), `failures`, `suggestions`,
//!   `dead_letters`, `metrics` (`/metrics` and the request-counting middleware), `webhooks`
//!   (`/webhooks/github`, authenticated by the delivery's signature instead of an API key).

pub mod auth;
pub mod dead_letters;
pub mod error;
pub mod events;
pub mod failures;
pub mod health;
pub mod metrics;
pub mod reports;
pub mod suggestions;
pub mod webhooks;

pub use auth::Authenticated;
pub use error::ApiError;
pub use metrics::ApiMetrics;

use crate::config::{Config, LimitsConfig, RateLimitConfig};
use argus_bus::Bus;
use argus_cache::Cache;
use argus_graph::KnowledgeGraph;
use argus_store::Store;
use argus_workers::{Clock, WorkerMetrics};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, Uri};
use axum::routing::{get, post};
use std::sync::Arc;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The durable store.
    pub store: Arc<dyn Store>,
    /// The bus batches are published on.
    pub bus: Arc<dyn Bus>,
    /// The cache (rate-limit counters, cached heals).
    pub cache: Arc<dyn Cache>,
    /// Intake limits.
    pub limits: LimitsConfig,
    /// The per-project rate limit.
    pub rate_limit: RateLimitConfig,
    /// The HTTP edge's counters.
    pub metrics: Arc<ApiMetrics>,
    /// The pipeline's counters, when a pipeline runs in this process.
    pub worker_metrics: Option<Arc<WorkerMetrics>>,
    /// The knowledge graph, when workers of this process use it (checked by `/ready`).
    pub graph: Option<Arc<dyn KnowledgeGraph>>,
    /// Where "now" comes from (batch times, rate-limit minutes, review times); fixed in tests.
    pub clock: Clock,
}

impl AppState {
    /// A state over the given adapters, with the limits of `config`.
    pub fn new(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        cache: Arc<dyn Cache>,
        config: &Config,
        worker_metrics: Option<Arc<WorkerMetrics>>,
    ) -> Self {
        Self {
            store,
            bus,
            cache,
            limits: config.limits,
            rate_limit: config.rate_limit,
            metrics: Arc::new(ApiMetrics::default()),
            worker_metrics,
            graph: None,
            clock: Clock::system(),
        }
    }

    /// The same state with `graph` checked by `/ready` (a process whose workers use the graph).
    pub fn with_graph(mut self, graph: Arc<dyn KnowledgeGraph>) -> Self {
        self.graph = Some(graph);
        self
    }
}

/// Every route of the API.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/events", post(events::post_events))
        .route("/reports", post(reports::post_report))
        .route("/failures", get(failures::list_failures))
        .route("/dead-letters", get(dead_letters::list_dead_letters))
        .route("/suggestions", get(suggestions::list_suggestions))
        .route("/suggestions/{id}", get(suggestions::get_suggestion))
        .route("/suggestions/{id}/feedback", post(suggestions::post_feedback));
    Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(metrics::metrics))
        .route(
            "/webhooks/github",
            post(webhooks::post_github).layer(DefaultBodyLimit::max(argus_github::MAX_PAYLOAD_BYTES)),
        )
        .nest("/api/v1", api)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track_requests))
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.limits.request_timeout()))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {}", uri.path()))
}
