//! `POST /api/v1/events`: the intake of event batches (the wire form is documented on
//! [`crate::intake::WireBatch`]).
//!
//! Order of checks: API key (401), rate limit (429), body size (413), JSON (400), project (403), batch
//! limits (413), batch validity (422). Then the batch is stored with its snapshots in one transaction and
//! published on the bus; the answer is 202 with the batch id. Nothing is stored for a refused batch. When
//! the publish fails after the store succeeded (backpressure, shutdown), the answer is 503 but the batch
//! is durable: start-up replays every batch the normalizer has not finished.
//!
//! A client that may retry sends an `Idempotency-Key` header (1–200 visible ASCII characters, e.g. its CI
//! run id and attempt): the batch id is derived from the project and the key, so a retry of a batch that was
//! already stored is recognised (the store keeps the first copy) and published again instead of being
//! counted twice.

use super::auth::Authenticated;
use super::error::parse_json_body;
use super::{ApiError, AppState};
use crate::intake::{IntakeRejection, ValidatedBatch, WireBatch};
use argus_bus::BusError;
use argus_vocabulary::{Envelope, EventId, ProjectId};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

/// The answer to an accepted batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchAccepted {
    /// The batch id (the envelope's event id); every derived event id is derived from it.
    pub batch_id: EventId,
    /// How many events the batch carried.
    pub items: usize,
    /// How many distinct snapshots it carried.
    pub snapshots: usize,
}

/// `POST /api/v1/events`.
#[tracing::instrument(skip_all, fields(project = %auth.0))]
pub async fn post_events(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<BatchAccepted>), ApiError> {
    match accept(&state, &auth, &headers, body).await {
        Ok(accepted) => Ok((StatusCode::ACCEPTED, Json(accepted))),
        Err((reason, error)) => {
            state.metrics.record_intake_rejection(reason);
            Err(error)
        }
    }
}

/// The header that names a batch for safe retries.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The batch id: derived from the `Idempotency-Key` header when there is one, random otherwise.
pub(crate) fn batch_id(auth: &Authenticated, headers: &HeaderMap) -> Result<EventId, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(EventId::new_random());
    };
    let key = value
        .to_str()
        .ok()
        .filter(|key| (1..=200).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::BadRequest("idempotency-key must be 1 to 200 visible ascii characters".to_owned())
        })?;
    Ok(EventId::for_idempotency_key(&auth.0, key))
}

/// The request body, or why it could not be read (with its metric label).
pub(crate) fn read_body(
    state: &AppState,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, (&'static str, ApiError)> {
    body.map_err(|rejection| {
        let error = ApiError::from(rejection);
        let reason =
            if matches!(error, ApiError::PayloadTooLarge(_)) { "body_too_large" } else { "unreadable_body" };
        let error = match error {
            ApiError::PayloadTooLarge(_) => ApiError::PayloadTooLarge(format!(
                "request body is over the limit of {} bytes",
                state.limits.max_body_bytes
            )),
            other => other,
        };
        (reason, error)
    })
}

async fn accept(
    state: &AppState,
    auth: &Authenticated,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<BatchAccepted, (&'static str, ApiError)> {
    let batch_id = batch_id(auth, headers).map_err(|error| ("bad_idempotency_key", error))?;
    let body = read_body(state, body)?;
    let wire: WireBatch = parse_json_body(&body).map_err(|error| ("malformed_json", error))?;
    auth.ensure_same_project(wire.project.as_deref()).map_err(|error| ("project_mismatch", error))?;
    wire.check_limits(&state.limits).map_err(|rejection| (rejection.reason(), rejection_error(rejection)))?;
    let validated = ValidatedBatch::try_from(wire)
        .map_err(|rejection| (rejection.reason(), rejection_error(rejection)))?;
    store_and_publish(state, &auth.0, batch_id, validated).await
}

/// The step every intake shares (`POST /api/v1/events`, `POST /api/v1/reports`): the validated batch is
/// stored with its snapshots in one transaction (all or nothing; a batch id already stored keeps its first
/// copy), then published on the bus. A publish failure after the store succeeded is a 503, but the batch
/// is durable and replayed at start-up.
pub(crate) async fn store_and_publish(
    state: &AppState,
    project: &ProjectId,
    batch_id: EventId,
    validated: ValidatedBatch,
) -> Result<BatchAccepted, (&'static str, ApiError)> {
    let items = validated.batch.items.len();
    let snapshots = validated.snapshots.len();
    let envelope = Envelope::new(batch_id, project.clone(), state.clock.now(), validated.batch);
    state
        .store
        .accept_batch(&envelope, &validated.snapshots)
        .await
        .map_err(|error| ("store_unavailable", ApiError::from(error)))?;
    state.metrics.record_batch_accepted(items, snapshots);
    tracing::info!(batch_id = %envelope.event_id, items, snapshots, "batch accepted");

    if let Err(error) = argus_bus::publish(state.bus.as_ref(), &envelope).await {
        if matches!(error, BusError::Backpressure { .. }) {
            state.metrics.record_bus_backpressure();
        }
        tracing::warn!(batch_id = %envelope.event_id, error = %error, "batch stored but not published");
        return Err(("bus_unavailable", ApiError::from(error)));
    }
    Ok(BatchAccepted { batch_id: envelope.event_id, items, snapshots })
}

/// The answer to a batch the intake refused before storing it.
pub(crate) fn rejection_error(rejection: IntakeRejection) -> ApiError {
    match rejection {
        IntakeRejection::Invalid { .. } => ApiError::Unprocessable(rejection.to_string()),
        IntakeRejection::TooLarge { .. } => ApiError::PayloadTooLarge(rejection.to_string()),
    }
}
