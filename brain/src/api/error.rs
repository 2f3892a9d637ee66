//! [`ApiError`]: the one error type of the HTTP edge, with a small fixed mapping to status codes.
//!
//! Client errors say what was wrong, in lowercase. A 500 is opaque: its cause chain is logged, never
//! returned.

use argus_bus::BusError;
use argus_store::StoreError;
use axum::Json;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// How long a client should wait after bus backpressure before trying again.
pub const BACKPRESSURE_RETRY_AFTER_SECS: u64 = 5;

/// An error answered to an HTTP client. The body is always `{"error": "<message>"}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no API key, or an unknown one.
    #[error("{0}")]
    Unauthenticated(String),
    /// 403: the API key's project may not do this (the request names another project).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource in the key's project.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request conflicts with the stored state.
    #[error("{0}")]
    Conflict(String),
    /// 413: the request or a part of it is over a configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 422: well-formed but invalid.
    #[error("{0}")]
    Unprocessable(String),
    /// 429: the project's rate limit is spent; retry after `retry_after_secs`.
    #[error("{message}")]
    TooManyRequests {
        /// What happened.
        message: String,
        /// Seconds until the limit resets.
        retry_after_secs: u64,
    },
    /// 503: a dependency is down or overloaded.
    #[error("{message}")]
    Unavailable {
        /// What is unavailable.
        message: String,
        /// Seconds after which a retry may succeed, when known.
        retry_after_secs: Option<u64>,
    },
    /// 500: a bug or an unexpected failure. Only "internal error" reaches the client.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// The status code this error maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A 500 wrapping `cause`.
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(cause))
    }

    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::TooManyRequests { retry_after_secs, .. } => Some(*retry_after_secs),
            ApiError::Unavailable { retry_after_secs, .. } => *retry_after_secs,
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(cause) = &self {
            let mut chain = cause.to_string();
            let mut source = cause.source();
            while let Some(next) = source {
                chain.push_str(": ");
                chain.push_str(&next.to_string());
                source = next.source();
            }
            tracing::error!(error = %chain, "request failed with an internal error");
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(error = %self, "request failed: dependency unavailable");
        }
        let retry_after = self.retry_after_secs();
        let mut response = (status, Json(json!({ "error": self.to_string() }))).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            StoreError::Conflict(what) => ApiError::Conflict(format!("conflict: {what}")),
            StoreError::InvalidState(what) => ApiError::Unprocessable(format!("invalid state: {what}")),
            StoreError::InvalidInput(what) => ApiError::Unprocessable(format!("invalid input: {what}")),
            StoreError::Database(_) | StoreError::Migration(_) | StoreError::DataDirectory { .. } => {
                tracing::warn!(error = %error, "store unavailable");
                ApiError::Unavailable { message: "store unavailable".to_owned(), retry_after_secs: None }
            }
            other @ StoreError::Corrupt(_) => ApiError::internal(other),
        }
    }
}

impl From<BusError> for ApiError {
    fn from(error: BusError) -> Self {
        match error {
            BusError::Backpressure { .. } => ApiError::Unavailable {
                message: "the pipeline is busy: the batch is stored and will be processed after a restart; \
                          slow down and retry later"
                    .to_owned(),
                retry_after_secs: Some(BACKPRESSURE_RETRY_AFTER_SECS),
            },
            BusError::Closed => ApiError::Unavailable {
                message: "the pipeline is shutting down: the batch is stored and will be processed after a \
                          restart"
                    .to_owned(),
                retry_after_secs: None,
            },
            other => ApiError::Unavailable {
                message: format!("the pipeline is unavailable ({other}): the batch is stored"),
                retry_after_secs: None,
            },
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge("request body is over the size limit".to_owned())
        } else {
            ApiError::BadRequest(format!("could not read the request body: {}", rejection.body_text()))
        }
    }
}

/// Parses a JSON request body strictly. Errors name the failing path (`events[2].status`) and keep
/// serde's line and column.
pub fn parse_json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." {
            ApiError::BadRequest(format!("invalid json body: {inner}"))
        } else {
            ApiError::BadRequest(format!("invalid json body at {path}: {inner}"))
        }
    })?;
    deserializer.end().map_err(|error| ApiError::BadRequest(format!("invalid json body: {error}")))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_its_status() {
        let cases = [
            (ApiError::BadRequest("x".into()), 400),
            (ApiError::Unauthenticated("x".into()), 401),
            (ApiError::Forbidden("x".into()), 403),
            (ApiError::NotFound("x".into()), 404),
            (ApiError::Conflict("x".into()), 409),
            (ApiError::PayloadTooLarge("x".into()), 413),
            (ApiError::Unprocessable("x".into()), 422),
            (ApiError::TooManyRequests { message: "x".into(), retry_after_secs: 1 }, 429),
            (ApiError::Unavailable { message: "x".into(), retry_after_secs: None }, 503),
            (ApiError::internal(std::io::Error::other("disk on fire")), 500),
        ];
        for (error, status) in cases {
            assert_eq!(error.into_response().status().as_u16(), status);
        }
    }

    #[test]
    fn internal_error_hides_its_cause() {
        let error = ApiError::internal(std::io::Error::other("secret path /etc/argus"));
        assert_eq!(error.to_string(), "internal error");
    }

    #[test]
    fn retry_after_is_set_for_429_and_known_503() {
        let response =
            ApiError::TooManyRequests { message: "slow".into(), retry_after_secs: 17 }.into_response();
        assert_eq!(response.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes()), Some(&b"17"[..]));
        let response = ApiError::from(BusError::Backpressure { topic: "t".into() }).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
        let response =
            ApiError::Unavailable { message: "down".into(), retry_after_secs: None }.into_response();
        assert!(!response.headers().contains_key(header::RETRY_AFTER));
    }

    #[test]
    fn store_errors_map_to_client_statuses() {
        assert_eq!(ApiError::from(StoreError::Conflict("x".into())).status(), StatusCode::CONFLICT);
        assert_eq!(
            ApiError::from(StoreError::InvalidState("x".into())).status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(ApiError::from(StoreError::NotFound("x".into())).status(), StatusCode::NOT_FOUND);
        assert_eq!(
            ApiError::from(StoreError::Corrupt("x".into())).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn json_errors_name_the_path_and_position() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            items: Vec<u32>,
        }
        let error = parse_json_body::<Body>(br#"{"items": [1, "two"]}"#).expect_err("bad item");
        let message = error.to_string();
        assert!(message.contains("items[1]"), "{message}");
        assert!(message.contains("line 1 column"), "{message}");
        let error = parse_json_body::<Body>(b"{\"items\": [1]} trailing").expect_err("trailing");
        assert!(matches!(error, ApiError::BadRequest(_)));
    }
}
