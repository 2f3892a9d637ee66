//! `GET /api/v1/dead-letters?limit=&offset=`: messages of the project that the pipeline gave up on after
//! its attempt limit, newest first, with the error and where they came from.

use super::auth::Authenticated;
use super::failures::page_request;
use super::{ApiError, AppState};
use argus_store::{Page, StoredDeadLetter};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

/// Query parameters of `GET /api/v1/dead-letters`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLettersParams {
    /// Must equal the API key's project when given.
    #[serde(default)]
    pub project: Option<String>,
    /// Page size (default 50, at most 200).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Items to skip.
    #[serde(default)]
    pub offset: Option<u64>,
}

/// One page of dead letters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLettersPage {
    /// The dead letters of this page.
    pub items: Vec<StoredDeadLetter>,
    /// How many dead letters the project has.
    pub total: u64,
}

/// `GET /api/v1/dead-letters`.
pub async fn list_dead_letters(
    State(state): State<AppState>,
    auth: Authenticated,
    params: Result<Query<DeadLettersParams>, QueryRejection>,
) -> Result<Json<DeadLettersPage>, ApiError> {
    let Query(params) = params?;
    auth.ensure_same_project(params.project.as_deref())?;
    let Page { items, total } =
        state.store.dead_letters(&auth.0, page_request(params.limit, params.offset)).await?;
    Ok(Json(DeadLettersPage { items, total }))
}
