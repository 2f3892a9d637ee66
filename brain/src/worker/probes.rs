//! The probe listener of `argus worker` (`worker.health_addr`, default `0.0.0.0:8081`), for the
//! orchestrator: Kubernetes httpGet probes, compose's `argus healthcheck`, Prometheus.
//!
//! - `GET /health` (liveness): 200 `{"status":"ok","loops":[…]}` while every consumer loop of the process
//!   runs; 503 `{"status":"unavailable","failed":[{"role","topic","state"}],…}` as soon as one has ended
//!   (the process is then stopping itself; the probe only says so sooner).
//! - `GET /ready` (readiness): the API's `/ready` answer over the worker's store, bus, graph and cache
//!   ([`crate::api::health::readiness`]): a failing cache is 200 `degraded`, anything else 503.
//! - `GET /metrics`: the worker's counters ([`argus_workers::WorkerMetrics`]), rendered as the API renders
//!   them ([`crate::api::metrics::prometheus_response`]); labels are roles and fixed names, never a secret.
//!
//! Causes (loop errors, failed pings) are logged, never returned.

use crate::api::ApiError;
use crate::api::health::readiness;
use crate::api::metrics::prometheus_response;
use argus_workers::WorkerContext;
use argus_workers::pipeline::{LoopStatus, PipelineLiveness};
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

/// What the probes read: the worker's ports and counters, and its loops' states.
#[derive(Debug, Clone)]
pub struct ProbeState {
    /// The ports and metrics the worker's pipeline runs on.
    pub context: WorkerContext,
    /// The states of the worker's consumer loops.
    pub liveness: PipelineLiveness,
}

/// The probe routes: `/health`, `/ready`, `/metrics`.
pub fn router(state: ProbeState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(state)
}

/// One loop as JSON (`{"role","topic","state"}`); the reason of an ended loop is only logged.
fn loop_json(status: &LoopStatus) -> Value {
    json!({
        "role": status.role.as_str(),
        "topic": status.topic.name(),
        "state": status.state.as_str(),
    })
}

/// `GET /health`: see the module documentation.
async fn health(State(state): State<ProbeState>) -> (StatusCode, Json<Value>) {
    let loops = state.liveness.loops();
    let all: Vec<Value> = loops.iter().map(loop_json).collect();
    if state.liveness.all_running() {
        return (StatusCode::OK, Json(json!({ "status": "ok", "loops": all })));
    }
    let failed: Vec<&LoopStatus> = loops.iter().filter(|status| status.state.as_str() != "running").collect();
    let named: Vec<String> =
        failed.iter().map(|status| format!("{status} ({})", status.state.as_str())).collect();
    let error = if named.is_empty() {
        "no consumer loop runs".to_owned()
    } else {
        format!("consumer loop not running: {}", named.join(", "))
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "status": "unavailable",
            "error": error,
            "failed": failed.into_iter().map(loop_json).collect::<Vec<_>>(),
            "loops": all,
        })),
    )
}

/// `GET /ready`: the API's readiness answer over the worker's dependencies (the graph included).
async fn ready(State(state): State<ProbeState>) -> (StatusCode, Json<Value>) {
    let context = &state.context;
    readiness(
        context.store.as_ref(),
        context.bus.as_ref(),
        context.cache.as_ref(),
        Some(context.graph.as_ref()),
    )
    .await
}

/// `GET /metrics`: the worker's counters.
async fn metrics(State(state): State<ProbeState>) -> Response {
    prometheus_response(None, Some(&state.context.metrics))
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {}", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::tests::Fixture;
    use argus_cache::{Cache, CacheError, CacheKey};
    use argus_vocabulary::{ProjectId, Topic};
    use argus_workers::{Outcome, Role};
    use axum::body::Body;
    use axum::http::{Request, header};
    use http_body_util::BodyExt;
    use std::sync::Arc;
    use tower::ServiceExt;

    /// GET `path`: status, content type and body.
    async fn get(state: &ProbeState, path: &str) -> (StatusCode, Option<String>, String) {
        let request = Request::get(path).body(Body::empty()).expect("request");
        let response = router(state.clone()).oneshot(request).await.expect("router answers");
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response.into_body().collect().await.expect("body").to_bytes();
        (status, content_type, String::from_utf8(body.to_vec()).expect("utf-8 body"))
    }

    async fn get_json(state: &ProbeState, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = get(state, path).await;
        (status, serde_json::from_str(&body).unwrap_or_else(|error| panic!("{path}: {error}: {body}")))
    }

    fn state(fixture: &Fixture) -> ProbeState {
        ProbeState { context: fixture.context.clone(), liveness: fixture.liveness.clone() }
    }

    #[tokio::test]
    async fn health_is_ok_while_every_loop_runs() {
        let mut fixture = Fixture::start(&[Role::Healer], None).await;

        let (status, body) = get_json(&state(&fixture), "/health").await;

        assert_eq!(status, StatusCode::OK, "{body}");
        let running = json!({ "role": "healer", "topic": "argus.healing.requested", "state": "running" });
        assert_eq!(body, json!({ "status": "ok", "loops": [running] }));
        fixture.stop().await;
    }

    #[tokio::test]
    async fn health_is_503_naming_the_loop_that_ended() {
        let mut fixture = Fixture::start(&[Role::Correlator], Some(Topic::TestFailed)).await;
        fixture.wait_for_first_end().await;

        let (status, body) = get_json(&state(&fixture), "/health").await;

        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["status"], "unavailable", "{body}");
        let ended = json!({ "role": "correlator", "topic": "argus.test.failed", "state": "ended" });
        assert_eq!(body["failed"], json!([ended]), "{body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains("correlator on argus.test.failed"), "{body}");
        assert_eq!(body["loops"].as_array().map(Vec::len), Some(Role::Correlator.topics().len()), "{body}");
        fixture.stop().await;
    }

    #[tokio::test]
    async fn health_is_503_once_the_loops_stopped() {
        let mut fixture = Fixture::start(&[Role::Normalizer], None).await;
        fixture.stop().await;

        let (status, body) = get_json(&state(&fixture), "/health").await;

        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["failed"][0]["state"], "stopped", "{body}");
        assert_eq!(body["failed"][0]["topic"], "argus.ingest.batch", "{body}");
    }

    #[tokio::test]
    async fn ready_names_every_dependency_of_the_worker() {
        let mut fixture = Fixture::start(&[Role::Healer], None).await;

        let (status, body) = get_json(&state(&fixture), "/ready").await;

        assert_eq!(status, StatusCode::OK, "{body}");
        let checks = json!({ "store": "ok", "bus": "ok", "graph": "ok", "cache": "ok" });
        assert_eq!(body, json!({ "status": "ready", "checks": checks }));
        fixture.stop().await;
    }

    /// A cache whose every call fails (Valkey unreachable).
    struct DownCache;

    fn refused() -> CacheError {
        CacheError::Backend("connection refused".to_owned())
    }

    #[async_trait::async_trait]
    impl Cache for DownCache {
        async fn get(&self, _key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError> {
            Err(refused())
        }

        async fn set(&self, _key: &CacheKey, _value: Vec<u8>) -> Result<(), CacheError> {
            Err(refused())
        }

        async fn delete(&self, _key: &CacheKey) -> Result<(), CacheError> {
            Err(refused())
        }

        async fn increment_rate(&self, _project: &ProjectId, _minute: i64) -> Result<u64, CacheError> {
            Err(refused())
        }

        async fn ping(&self) -> Result<(), CacheError> {
            Err(refused())
        }
    }

    #[tokio::test]
    async fn ready_with_the_cache_down_is_degraded_but_200_and_with_the_bus_down_503() {
        let mut fixture = Fixture::start(&[Role::Healer], None).await;
        let mut state = state(&fixture);
        state.context.cache = Arc::new(DownCache);

        let (status, body) = get_json(&state, "/ready").await;

        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "degraded", "{body}");
        assert_eq!(body["degraded"], json!(["cache"]), "{body}");
        assert_eq!(body["checks"]["cache"], "unavailable", "{body}");
        assert_eq!(body["checks"]["graph"], "ok", "{body}");

        fixture.stop().await;
        fixture.bus.close();
        let (status, body) = get_json(&state, "/ready").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["failed"], json!(["bus"]), "{body}");
    }

    #[tokio::test]
    async fn metrics_render_the_worker_counters_as_prometheus_text() {
        let mut fixture = Fixture::start(&[Role::Healer], None).await;
        fixture.context.metrics.record_outcome(Role::Healer, &Outcome::Done);
        fixture.context.metrics.record_outcome(Role::Healer, &Outcome::Done);

        let (status, content_type, body) = get(&state(&fixture), "/metrics").await;

        assert_eq!(status, StatusCode::OK);
        let content_type = content_type.unwrap_or_default();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        let done = "argus_worker_messages_total{role=\"healer\",result=\"done\"} 2";
        assert!(body.lines().any(|line| line == done), "{body}");
        assert!(!body.contains("argus_http_requests_total"), "a worker serves no api: {body}");
        fixture.stop().await;
    }

    #[tokio::test]
    async fn unknown_paths_are_404() {
        let mut fixture = Fixture::start(&[Role::Healer], None).await;
        let (status, _, _) = get(&state(&fixture), "/api/v1/events").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        fixture.stop().await;
    }
}
