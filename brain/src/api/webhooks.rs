//! `POST /webhooks/github`: GitHub webhook deliveries. Outside `/api/v1`: GitHub proves who it is with the
//! HMAC of the body under the repository's webhook secret, not with an API key.
//!
//! Order of checks — nothing is parsed, stored or published before the signature is verified:
//! 1. the body, within [`argus_github::MAX_PAYLOAD_BYTES`] (413);
//! 2. an `X-Hub-Signature-256` header must be present (401);
//! 3. `repository.full_name` is read, and nothing else, to find the repository's project and secret;
//! 4. the signature is verified against the raw body.
//!
//! Every failure of 2–4 (no header, not JSON, no repository, unknown repository, wrong signature) is the
//! same 401 with the same message, so the answer does not tell which repositories are configured.
//!
//! Then: `ping` → 200; an event Argus does not handle → 202, ignored; a payload that does not fit → 422
//! naming the event and field. Otherwise the delivery is stored with its envelope (keyed by
//! `X-GitHub-Delivery`) and then published on `argus.integration.github`: a new delivery → 202; a
//! redelivery the correlator already applied → 200, not published again; a redelivery still pending → 200,
//! published again (the correlator is idempotent). A publish failure → 503, but the delivery is stored and
//! start-up replays it, so a 2xx answer never loses an event. Nothing is processed inline (GitHub gives a delivery 10 seconds): the correlator applies
//! the event. Every delivery is counted in `argus_github_webhooks_total{event,outcome}`.

use super::{ApiError, AppState};
use argus_bus::BusError;
use argus_github::{
    DELIVERY_HEADER, EVENT_HEADER, Parsed, SIGNATURE_HEADER, parse_event, repository_full_name,
    verify_signature,
};
use argus_store::{GithubDeliveryState, GithubWebhook};
use argus_vocabulary::{Envelope, GithubEvent};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

/// The one answer to every delivery that is not authentic, or not for a configured repository.
pub const UNAUTHENTICATED_MESSAGE: &str = "invalid webhook signature or unknown repository";

/// The metric label of the event for deliveries refused before the signature was verified: their
/// `X-GitHub-Event` header is not trusted, and must not mint label values.
const UNVERIFIED_EVENT: &str = "unverified";

/// A well-formed signature no body has, verified for unknown repositories (see `find_webhook`).
const TIMING_DECOY_SIGNATURE: &str =
    "sha256=0000000000000000000000000000000000000000000000000000000000000000";

/// How long GitHub should wait after bus backpressure before a manual redelivery.
const BACKPRESSURE_RETRY_AFTER_SECS: u64 = 5;

/// The answer to a delivery Argus took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookAnswer {
    /// `accepted` (published), `duplicate` (published before), `ignored` (an event Argus does not handle)
    /// or `pong` (a ping).
    pub status: String,
    /// The `X-GitHub-Event` name.
    pub event: String,
    /// The `X-GitHub-Delivery` GUID.
    pub delivery: String,
}

/// `POST /webhooks/github`.
#[tracing::instrument(skip_all, fields(event = tracing::field::Empty, delivery = tracing::field::Empty))]
pub async fn post_github(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<WebhookAnswer>), ApiError> {
    match receive(&state, &headers, body).await {
        Ok((status, answer)) => {
            state.metrics.record_github_webhook(&answer.event, outcome_of(&answer));
            Ok((status, Json(answer)))
        }
        Err(Refused { event, outcome, error }) => {
            state.metrics.record_github_webhook(&event, outcome);
            Err(error)
        }
    }
}

/// A refused delivery: the error answered, and how it is counted.
struct Refused {
    event: String,
    outcome: &'static str,
    error: ApiError,
}

impl Refused {
    fn unverified(outcome: &'static str, error: ApiError) -> Self {
        Refused { event: UNVERIFIED_EVENT.to_owned(), outcome, error }
    }

    fn unauthenticated() -> Self {
        Self::unverified("unauthenticated", ApiError::Unauthenticated(UNAUTHENTICATED_MESSAGE.to_owned()))
    }
}

fn outcome_of(answer: &WebhookAnswer) -> &'static str {
    match answer.status.as_str() {
        "accepted" => "accepted",
        "duplicate" => "duplicate",
        "pong" => "pong",
        _ => "ignored",
    }
}

async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, WebhookAnswer), Refused> {
    let body = body.map_err(|rejection| {
        let error = match ApiError::from(rejection) {
            ApiError::PayloadTooLarge(_) => ApiError::PayloadTooLarge(format!(
                "webhook body is over the limit of {} bytes",
                argus_github::MAX_PAYLOAD_BYTES
            )),
            other => other,
        };
        let outcome = if matches!(error, ApiError::PayloadTooLarge(_)) { "too_large" } else { "unreadable" };
        Refused::unverified(outcome, error)
    })?;

    // Authenticate first: until the signature holds, the body is read for one field only.
    let signature = header_text(headers, SIGNATURE_HEADER).ok_or_else(Refused::unauthenticated)?;
    let webhook = find_webhook(state, &body).await?;
    if let Err(reason) = verify_signature(webhook.secret.expose_secret().as_bytes(), &body, Some(signature)) {
        tracing::info!(repository = %webhook.repository, reason = %reason, "github delivery refused");
        return Err(Refused::unauthenticated());
    }

    // Authentic: GitHub's headers can be trusted (and used as metric labels) from here on.
    let event_name = header_text(headers, EVENT_HEADER)
        .filter(|name| is_event_name(name))
        .ok_or_else(|| {
            Refused::unverified(
                "bad_request",
                ApiError::BadRequest("missing or invalid x-github-event header".to_owned()),
            )
        })?
        .to_owned();
    let refuse =
        |outcome: &'static str, error: ApiError| Refused { event: event_name.clone(), outcome, error };
    let delivery_id = header_text(headers, DELIVERY_HEADER)
        .filter(|id| is_delivery_id(id))
        .ok_or_else(|| {
            refuse(
                "bad_request",
                ApiError::BadRequest("missing or invalid x-github-delivery header".to_owned()),
            )
        })?
        .to_owned();
    let span = tracing::Span::current();
    span.record("event", event_name.as_str());
    span.record("delivery", delivery_id.as_str());
    let answer = |status: &str| WebhookAnswer {
        status: status.to_owned(),
        event: event_name.clone(),
        delivery: delivery_id.clone(),
    };

    let kind = match parse_event(&event_name, &body) {
        Ok(Parsed::Event(kind)) => kind,
        Ok(Parsed::Ignored(_)) => {
            tracing::info!(repository = %webhook.repository, "github event not handled; acknowledged");
            return Ok((StatusCode::ACCEPTED, answer("ignored")));
        }
        Err(error) => {
            tracing::warn!(repository = %webhook.repository, error = %error, "github payload does not fit");
            return Err(refuse("invalid", ApiError::Unprocessable(error.to_string())));
        }
    };
    if event_name == "ping" {
        tracing::info!(repository = %webhook.repository, project = %webhook.project, "github webhook pinged");
        return Ok((StatusCode::OK, answer("pong")));
    }

    let project = webhook.project;
    let received_at = state.clock.now();
    let event = GithubEvent { delivery_id: delivery_id.clone(), repository: webhook.repository, event: kind };
    let envelope =
        Envelope::new(GithubEvent::event_id(&project, &delivery_id), project.clone(), received_at, event);
    // Stored before it is published (the outbox): a delivery answered 2xx is never lost, whatever happens
    // to the bus or the process afterwards; start-up replays what the correlator has not applied.
    let state_before = state.store.accept_github_event(&envelope, &event_name).await;
    let state_before = state_before.map_err(|error| refuse("unavailable", ApiError::from(error)))?;
    if state_before == GithubDeliveryState::Processed {
        tracing::info!(project = %project, "github redelivery already applied");
        return Ok((StatusCode::OK, answer("duplicate")));
    }
    if let Err(error) = argus_bus::publish(state.bus.as_ref(), &envelope).await {
        // Stored, so a GitHub redelivery (or the next start-up) publishes it again.
        tracing::warn!(project = %project, error = %error, "github delivery stored but not published");
        return Err(refuse("unavailable", publish_error(error)));
    }
    if state_before == GithubDeliveryState::Pending {
        tracing::info!(project = %project, "github redelivery of a pending delivery published again");
        return Ok((StatusCode::OK, answer("duplicate")));
    }
    tracing::info!(project = %project, event_id = %envelope.event_id, "github delivery published");
    Ok((StatusCode::ACCEPTED, answer("accepted")))
}

/// The webhook configuration of the body's repository, or the uniform 401.
async fn find_webhook(state: &AppState, body: &[u8]) -> Result<GithubWebhook, Refused> {
    let repository = repository_full_name(body).ok_or_else(Refused::unauthenticated)?;
    match state.store.github_webhook_for_repository(&repository).await {
        Ok(Some(webhook)) => Ok(webhook),
        Ok(None) => {
            // Spend the time a verification takes, so an unknown repository is not told apart by timing.
            let _ = verify_signature(b"no webhook for this repository", body, Some(TIMING_DECOY_SIGNATURE));
            tracing::info!(repository = %repository, "github delivery for a repository without a webhook");
            Err(Refused::unauthenticated())
        }
        Err(error) => Err(Refused::unverified("unavailable", ApiError::from(error))),
    }
}

fn publish_error(error: BusError) -> ApiError {
    let retry_after_secs =
        matches!(error, BusError::Backpressure { .. }).then_some(BACKPRESSURE_RETRY_AFTER_SECS);
    ApiError::Unavailable {
        message: "the pipeline cannot take the delivery now; redeliver it later".to_owned(),
        retry_after_secs,
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim).filter(|text| !text.is_empty())
}

/// GitHub's event names are short snake_case words (`push`, `workflow_run`, `repository_vulnerability_alert`).
fn is_event_name(name: &str) -> bool {
    name.len() <= 64 && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Delivery ids are GUIDs; accept any short printable token, since it is only compared and stored.
fn is_delivery_id(id: &str) -> bool {
    id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_and_delivery_ids_are_bounded() {
        assert!(is_event_name("workflow_run"));
        assert!(!is_event_name("Workflow-Run"));
        assert!(!is_event_name(&"a".repeat(65)));
        assert!(is_delivery_id("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
        assert!(!is_delivery_id("with space"));
        assert!(!is_delivery_id(&"a".repeat(129)));
    }
}
