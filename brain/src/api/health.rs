//! `GET /health` (the process serves) and `GET /ready` (its dependencies answer).

use super::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

/// `GET /health`: 200 `{"status":"ok"}` whenever the process serves.
pub async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// `GET /ready`: 200 when the store answers a ping and the bus accepts messages; otherwise 503 naming the
/// failed dependencies. The cause is logged, not returned.
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let store = match state.store.ping().await {
        Ok(()) => "ok",
        Err(error) => {
            tracing::warn!(error = %error, "readiness: store ping failed");
            "unavailable"
        }
    };
    let bus = if state.bus.ready().await {
        "ok"
    } else {
        tracing::warn!("readiness: bus not ready");
        "unavailable"
    };
    let failed: Vec<&str> =
        [("store", store), ("bus", bus)].into_iter().filter(|(_, s)| *s != "ok").map(|(n, _)| n).collect();
    let checks = json!({ "store": store, "bus": bus });
    if failed.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ready", "checks": checks })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "unavailable",
                "error": format!("not ready: {} unavailable", failed.join(" and ")),
                "failed": failed,
                "checks": checks,
            })),
        )
    }
}
