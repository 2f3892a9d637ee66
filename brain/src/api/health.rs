//! `GET /health` (the process serves) and `GET /ready` (its dependencies answer).
//!
//! `/ready` checks every dependency of the process, at once: the store (ping), the bus (ready), the cache
//! (ping) and, when this process runs workers, the knowledge graph (ping). The answer names each one.
//!
//! - store, bus or graph failing: 503 `{"status":"unavailable", "failed":[…]}`: the process cannot do its
//!   job, so a load balancer should stop sending it requests.
//! - only the cache failing: 200 `{"status":"degraded", "degraded":["cache"]}`. The cache is optional by
//!   design (rate limits let requests through and heals fall back to the store, each counted in
//!   `/metrics`), and taking every API replica out of rotation because Valkey is down would turn a
//!   slowdown into an outage.
//!
//! [`readiness`] is the check itself, over the ports; `argus worker`'s probe listener answers its `/ready`
//! with it too.

use super::AppState;
use argus_bus::Bus;
use argus_cache::Cache;
use argus_graph::KnowledgeGraph;
use argus_store::Store;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

/// `GET /health`: 200 `{"status":"ok"}` whenever the process serves.
pub async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// The state of one dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Ok,
    Unavailable,
}

impl Check {
    const fn as_str(self) -> &'static str {
        match self {
            Check::Ok => "ok",
            Check::Unavailable => "unavailable",
        }
    }
}

/// `GET /ready`: see the module documentation. Causes are logged, never returned.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    readiness(state.store.as_ref(), state.bus.as_ref(), state.cache.as_ref(), state.graph.as_deref()).await
}

/// The readiness answer over the process's dependencies (the graph only when the process uses it): see
/// the module documentation. Causes are logged, never returned.
pub async fn readiness(
    store: &dyn Store,
    bus: &dyn Bus,
    cache: &dyn Cache,
    graph: Option<&dyn KnowledgeGraph>,
) -> (StatusCode, Json<Value>) {
    let graph = async {
        match graph {
            Some(graph) => Some(match graph.ping().await {
                Ok(()) => Check::Ok,
                Err(error) => {
                    tracing::warn!(dependency = "graph", error = %error, "readiness: graph ping failed");
                    Check::Unavailable
                }
            }),
            None => None,
        }
    };
    let store = async {
        match store.ping().await {
            Ok(()) => Check::Ok,
            Err(error) => {
                tracing::warn!(dependency = "store", error = %error, "readiness: store ping failed");
                Check::Unavailable
            }
        }
    };
    let bus = async {
        if bus.ready().await {
            Check::Ok
        } else {
            tracing::warn!(dependency = "bus", "readiness: bus not ready");
            Check::Unavailable
        }
    };
    let cache = async {
        match cache.ping().await {
            Ok(()) => Check::Ok,
            Err(error) => {
                tracing::warn!(dependency = "cache", error = %error, "readiness: cache ping failed; serving degraded");
                Check::Unavailable
            }
        }
    };
    let (store, bus, cache, graph) = tokio::join!(store, bus, cache, graph);

    let required = [("store", Some(store)), ("bus", Some(bus)), ("graph", graph)];
    let failed: Vec<&str> = required
        .iter()
        .filter(|(_, check)| *check == Some(Check::Unavailable))
        .map(|(name, _)| *name)
        .collect();
    let mut checks = Map::new();
    for (name, check) in required.iter().chain([("cache", Some(cache))].iter()) {
        if let Some(check) = check {
            checks.insert((*name).to_owned(), Value::from(check.as_str()));
        }
    }
    let degraded: Vec<&str> = if cache == Check::Unavailable { vec!["cache"] } else { Vec::new() };
    if !failed.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "unavailable",
                "error": format!("not ready: {} unavailable", failed.join(" and ")),
                "failed": failed,
                "degraded": degraded,
                "checks": checks,
            })),
        );
    }
    if degraded.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ready", "checks": checks })))
    } else {
        (
            StatusCode::OK,
            Json(json!({
                "status": "degraded",
                "degraded": degraded,
                "warning": "cache unavailable: serving without it (rate limits open, heals from the store)",
                "checks": checks,
            })),
        )
    }
}
