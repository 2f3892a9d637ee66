//! Healing suggestions: list, show, and reviewer feedback.
//!
//! - `GET /api/v1/suggestions?status=open|accepted|rejected&decision=&test=&limit=&offset=`
//! - `GET /api/v1/suggestions/{id}` (404 when absent or another project's, 400 for a malformed id)
//! - `POST /api/v1/suggestions/{id}/feedback` with `{"verdict": "accepted" | "rejected"}`: 200 with the
//!   suggestion and the knowledge-base pattern it updated; 409 for the opposite verdict on a reviewed
//!   suggestion, 422 for feedback on an abstention. An accept drops the cached heal of the fingerprint so
//!   the next heal comes from the knowledge base.

use super::auth::Authenticated;
use super::error::parse_json_body;
use super::failures::page_request;
use super::{ApiError, AppState};
use argus_cache::CacheKey;
use argus_store::{HealingPattern, Page, StoredSuggestion, SuggestionQuery};
use argus_vocabulary::{
    FeedbackVerdict, Fingerprint, HealDecision, HealSource, SuggestionId, SuggestionStatus,
};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A stored suggestion, flattened for API clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestionView {
    /// The suggestion id.
    pub id: SuggestionId,
    /// The failing test's key (`file › describe › title`).
    pub test: String,
    /// The failing test's spec file.
    pub test_file: String,
    /// The failing test's title path.
    pub test_title_path: Vec<String>,
    /// The failure fingerprint.
    pub fingerprint: Fingerprint,
    /// The locator that broke.
    pub broken_locator: String,
    /// The suggested CSS selector (absent when the healer abstained).
    pub suggested_css: Option<String>,
    /// The suggested XPath.
    pub suggested_xpath: Option<String>,
    /// The suggested Playwright locator.
    pub suggested_playwright: Option<String>,
    /// Calibrated confidence in `[0, 1]`.
    pub confidence: f64,
    /// Which healing step produced it (`knowledge_base`, `cache`, `dom_similarity`, `llm`).
    pub source: Option<HealSource>,
    /// `apply`, `validate` or `escalate`.
    pub decision: HealDecision,
    /// Review state.
    pub status: SuggestionStatus,
    /// Why the healer chose it.
    pub rationale: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When it was reviewed.
    pub reviewed_at: Option<DateTime<Utc>>,
}

impl From<StoredSuggestion> for SuggestionView {
    fn from(stored: StoredSuggestion) -> Self {
        let suggestion = stored.suggestion;
        let test = suggestion.test.key();
        let (suggested_css, suggested_xpath, suggested_playwright) = match suggestion.suggested {
            Some(locator) => (Some(locator.css), locator.xpath, locator.playwright),
            None => (None, None, None),
        };
        Self {
            id: suggestion.id,
            test,
            test_file: suggestion.test.file,
            test_title_path: suggestion.test.title_path,
            fingerprint: suggestion.fingerprint,
            broken_locator: suggestion.broken_locator,
            suggested_css,
            suggested_xpath,
            suggested_playwright,
            confidence: suggestion.confidence,
            source: suggestion.source,
            decision: suggestion.decision,
            status: stored.status,
            rationale: suggestion.rationale,
            created_at: stored.created_at,
            reviewed_at: stored.reviewed_at,
        }
    }
}

/// Query parameters of `GET /api/v1/suggestions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestionsParams {
    /// Must equal the API key's project when given.
    #[serde(default)]
    pub project: Option<String>,
    /// Only this review state.
    #[serde(default)]
    pub status: Option<SuggestionStatus>,
    /// Only this decision.
    #[serde(default)]
    pub decision: Option<HealDecision>,
    /// Only this test (its key).
    #[serde(default)]
    pub test: Option<String>,
    /// Page size (default 50, at most 200).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Items to skip.
    #[serde(default)]
    pub offset: Option<u64>,
}

/// One page of suggestions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestionsPage {
    /// The suggestions of this page, newest first.
    pub items: Vec<SuggestionView>,
    /// How many suggestions match in total.
    pub total: u64,
}

/// The body of `POST /api/v1/suggestions/{id}/feedback`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// `accepted` or `rejected`.
    pub verdict: FeedbackVerdict,
}

/// The answer to feedback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackResponse {
    /// The suggestion after the verdict.
    pub suggestion: SuggestionView,
    /// The knowledge-base pattern after the verdict.
    pub pattern: HealingPattern,
}

/// `GET /api/v1/suggestions`.
pub async fn list_suggestions(
    State(state): State<AppState>,
    auth: Authenticated,
    params: Result<Query<SuggestionsParams>, QueryRejection>,
) -> Result<Json<SuggestionsPage>, ApiError> {
    let Query(params) = params?;
    auth.ensure_same_project(params.project.as_deref())?;
    let query = SuggestionQuery {
        status: params.status,
        decision: params.decision,
        test: params.test,
        page: page_request(params.limit, params.offset),
    };
    let Page { items, total } = state.store.suggestions(&auth.0, &query).await?;
    Ok(Json(SuggestionsPage { items: items.into_iter().map(SuggestionView::from).collect(), total }))
}

/// `GET /api/v1/suggestions/{id}`.
pub async fn get_suggestion(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<SuggestionView>, ApiError> {
    let id = parse_suggestion_id(&id)?;
    let stored = state
        .store
        .suggestion(&auth.0, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("suggestion {id} not found")))?;
    Ok(Json(SuggestionView::from(stored)))
}

/// `POST /api/v1/suggestions/{id}/feedback`.
#[tracing::instrument(skip_all, fields(project = %auth.0, suggestion = %id))]
pub async fn post_feedback(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<FeedbackResponse>, ApiError> {
    let id = parse_suggestion_id(&id)?;
    let request: FeedbackRequest = parse_json_body(&body?)?;
    let outcome = state.store.record_feedback(&auth.0, id, request.verdict, state.clock.now()).await?;
    if request.verdict == FeedbackVerdict::Accepted {
        let key = CacheKey::Heal(outcome.pattern.fingerprint.clone());
        if let Err(error) = state.cache.delete(&key).await {
            tracing::warn!(error = %error, key = %key.render(), "could not invalidate the cached heal");
        }
    }
    tracing::info!(verdict = ?request.verdict, "feedback recorded");
    Ok(Json(FeedbackResponse {
        suggestion: SuggestionView::from(outcome.suggestion),
        pattern: outcome.pattern,
    }))
}

fn parse_suggestion_id(raw: &str) -> Result<SuggestionId, ApiError> {
    Uuid::parse_str(raw)
        .map(SuggestionId)
        .map_err(|error| ApiError::BadRequest(format!("invalid suggestion id {raw:?}: {error}")))
}
