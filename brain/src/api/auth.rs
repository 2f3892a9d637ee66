//! Authentication and the per-project rate limit of the `/api/v1` routes.
//!
//! [`Authenticated`] is an extractor: it reads the API key from `Authorization: Bearer <key>` (or
//! `X-Api-Key: <key>`), looks up the project by the key's SHA-256, then counts the request against the
//! project's per-minute budget. The project it yields scopes everything the handler does.

use super::{ApiError, AppState};
use crate::project::hash_api_key;
use argus_vocabulary::ProjectId;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};

/// The header accepted as an alternative to `Authorization: Bearer`.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The project of a request's API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated(pub ProjectId);

impl Authenticated {
    /// Refuses a request that names a project other than the key's (403 naming both).
    pub fn ensure_same_project(&self, named: Option<&str>) -> Result<(), ApiError> {
        match named {
            Some(named) if named != self.0.as_str() => Err(ApiError::Forbidden(format!(
                "project mismatch: the api key belongs to project {:?}, the request names {named:?}",
                self.0.as_str()
            ))),
            _ => Ok(()),
        }
    }
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = api_key_from_headers(&parts.headers)?;
        let project = state
            .store
            .project_for_api_key_hash(&hash_api_key(key))
            .await?
            .ok_or_else(|| ApiError::Unauthenticated("invalid api key".to_owned()))?;
        enforce_rate_limit(state, &project, state.clock.now()).await?;
        Ok(Authenticated(project))
    }
}

/// The API key of a request, from `Authorization: Bearer` or `X-Api-Key`.
fn api_key_from_headers(headers: &HeaderMap) -> Result<&str, ApiError> {
    let missing = || {
        ApiError::Unauthenticated(
            "missing api key: send `Authorization: Bearer <api key>` or `X-Api-Key: <api key>`".to_owned(),
        )
    };
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| ApiError::Unauthenticated("invalid api key".to_owned()))?;
        let (scheme, key) = value.trim().split_once(' ').ok_or_else(missing)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::Unauthenticated(
                "unsupported authorization scheme: use `Bearer <api key>`".to_owned(),
            ));
        }
        let key = key.trim();
        return if key.is_empty() { Err(missing()) } else { Ok(key) };
    }
    if let Some(value) = headers.get(API_KEY_HEADER) {
        let key = value.to_str().map_err(|_| ApiError::Unauthenticated("invalid api key".to_owned()))?.trim();
        return if key.is_empty() { Err(missing()) } else { Ok(key) };
    }
    Err(missing())
}

/// Counts the request in the project's current minute; over the budget is 429 with the seconds until the
/// next minute. A cache failure lets the request through (counted as degraded): the cache makes Argus
/// safer, never less available.
async fn enforce_rate_limit(
    state: &AppState,
    project: &ProjectId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let budget = state.rate_limit.requests_per_minute;
    if budget == 0 {
        return Ok(());
    }
    let seconds = now.timestamp();
    let minute = seconds.div_euclid(60);
    match state.cache.increment_rate(project, minute).await {
        Ok(count) if count > budget => {
            state.metrics.record_rate_limited();
            let retry_after_secs = u64::try_from(60 - seconds.rem_euclid(60)).unwrap_or(60);
            Err(ApiError::TooManyRequests {
                message: format!("rate limit of {budget} requests per minute exceeded for project {project}"),
                retry_after_secs,
            })
        }
        Ok(_) => Ok(()),
        Err(error) => {
            state.metrics.record_rate_limit_degraded();
            tracing::warn!(project = %project, error = %error, "rate limit unavailable, letting the request through");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn bearer_and_x_api_key_are_both_accepted() {
        assert_eq!(
            api_key_from_headers(&headers(&[("authorization", "Bearer argus_abc")])).ok(),
            Some("argus_abc")
        );
        assert_eq!(
            api_key_from_headers(&headers(&[("authorization", "bearer  argus_abc ")])).ok(),
            Some("argus_abc")
        );
        assert_eq!(api_key_from_headers(&headers(&[("x-api-key", "argus_def")])).ok(), Some("argus_def"));
    }

    #[test]
    fn missing_or_malformed_keys_are_unauthenticated() {
        for bad in [
            headers(&[]),
            headers(&[("authorization", "Bearer ")]),
            headers(&[("authorization", "Basic dXNlcjpwYXNz")]),
            headers(&[("x-api-key", "  ")]),
        ] {
            assert!(matches!(api_key_from_headers(&bad), Err(ApiError::Unauthenticated(_))), "{bad:?}");
        }
    }

    #[test]
    fn naming_another_project_is_forbidden() {
        let auth = Authenticated(ProjectId::parse("shop").expect("valid"));
        assert!(auth.ensure_same_project(None).is_ok());
        assert!(auth.ensure_same_project(Some("shop")).is_ok());
        let error = auth.ensure_same_project(Some("other")).expect_err("mismatch");
        assert!(
            matches!(&error, ApiError::Forbidden(message) if message.contains("\"other\"") && message.contains("\"shop\""))
        );
    }
}
