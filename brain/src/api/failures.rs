//! `GET /api/v1/failures?test=&error_kind=&limit=&offset=`: the project's failure groups, newest first.

use super::auth::Authenticated;
use super::{ApiError, AppState};
use argus_store::{FailureGroup, FailureQuery, Page, PageRequest};
use argus_vocabulary::ErrorKind;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

/// Query parameters of `GET /api/v1/failures`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailuresParams {
    /// Must equal the API key's project when given.
    #[serde(default)]
    pub project: Option<String>,
    /// Only this test (its key: `file › describe › title`).
    #[serde(default)]
    pub test: Option<String>,
    /// Only this error kind (`locator-not-found`, `timeout`, …).
    #[serde(default)]
    pub error_kind: Option<ErrorKind>,
    /// Page size (default 50, at most 200).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Items to skip.
    #[serde(default)]
    pub offset: Option<u64>,
}

/// One page of failure groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailuresPage {
    /// The groups of this page.
    pub items: Vec<FailureGroup>,
    /// How many groups match in total.
    pub total: u64,
}

/// Builds a page request from optional `limit`/`offset` parameters (the limit is clamped by the store).
pub fn page_request(limit: Option<u32>, offset: Option<u64>) -> PageRequest {
    let limit = limit.unwrap_or(PageRequest::DEFAULT_LIMIT).clamp(1, PageRequest::MAX_LIMIT);
    PageRequest { limit, offset: offset.unwrap_or(0) }
}

/// `GET /api/v1/failures`.
pub async fn list_failures(
    State(state): State<AppState>,
    auth: Authenticated,
    params: Result<Query<FailuresParams>, QueryRejection>,
) -> Result<Json<FailuresPage>, ApiError> {
    let Query(params) = params?;
    auth.ensure_same_project(params.project.as_deref())?;
    let query = FailureQuery {
        test: params.test,
        error_kind: params.error_kind,
        page: page_request(params.limit, params.offset),
    };
    let Page { items, total } = state.store.failure_groups(&auth.0, &query).await?;
    Ok(Json(FailuresPage { items, total }))
}
