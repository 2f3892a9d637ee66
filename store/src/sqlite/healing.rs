//! Healing suggestions, reviewer feedback and the healing-pattern knowledge base.
//!
//! A pattern's `confidence` is a generated column: this module only ever moves `success_count` and
//! `failure_count`, and reads the confidence SQLite derives from them.

use super::{
    begin_write, database_error,
    encoding::{Timestamp, encode_time},
    read_page,
};
use crate::{
    FeedbackOutcome, HealingPattern, Page, PageRequest, StoreError, StoredSuggestion, SuggestionQuery,
    sql::{
        self,
        healing::{
            PatternRow, Review, SuggestionRow, bind_feedback_pattern, bind_review, bind_suggestion,
            repeated_review, review, reviewed, reviewed_status, suggestion_saved,
        },
        values::page_binds,
    },
};
use argus_vocabulary::{FeedbackVerdict, Fingerprint, HealingSuggestion, ProjectId, SuggestionId};
use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqlitePool};

const PATTERN_COLUMNS: &str = "
    fingerprint, original_selector, healed_selector, error_type, success_count, failure_count, confidence,
    last_used_at, created_at";

const SELECT_PATTERN: &str = "
    SELECT fingerprint, original_selector, healed_selector, error_type, success_count, failure_count,
           confidence, last_used_at, created_at
      FROM healing_patterns WHERE project_id = ?1 AND fingerprint = ?2";

const TOUCH_PATTERN: &str =
    "UPDATE healing_patterns SET last_used_at = ?3 WHERE project_id = ?1 AND fingerprint = ?2";

/// The error kind of the failure group behind a fingerprint; suggestions are only made for broken
/// locators, so that is the fallback when the group is unknown.
const PATTERN_ERROR_TYPE: &str = "
    COALESCE((SELECT error_kind FROM failure_groups WHERE project_id = ?1 AND fingerprint = ?2),
             'locator-not-found')";

const INSERT_SUGGESTION: &str = "
    INSERT INTO healing_suggestions (
        id, project_id, request_event_id, failure_event_id, fingerprint, test_key, decision, status,
        confidence, source, body, created_at, reviewed_at
    ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL)
    ON CONFLICT (id) DO NOTHING";

const SELECT_SUGGESTION: &str = "
    SELECT body, status, created_at, reviewed_at
      FROM healing_suggestions WHERE project_id = ?1 AND id = ?2";

const SUGGESTION_FILTER: &str = "
    WHERE project_id = ?1
      AND (?2 IS NULL OR status = ?2)
      AND (?3 IS NULL OR decision = ?3)
      AND (?4 IS NULL OR test_key = ?4)";

const REVIEW_SUGGESTION: &str =
    "UPDATE healing_suggestions SET status = ?3, reviewed_at = ?4 WHERE project_id = ?1 AND id = ?2";

async fn select_pattern(
    connection: &mut SqliteConnection,
    project: &ProjectId,
    fingerprint: &Fingerprint,
) -> Result<Option<HealingPattern>, StoreError> {
    let row: Option<PatternRow<Timestamp>> = sqlx::query_as(SELECT_PATTERN)
        .bind(project.as_str())
        .bind(fingerprint.as_str())
        .fetch_optional(connection)
        .await
        .map_err(database_error("select healing pattern"))?;
    row.map(HealingPattern::try_from).transpose()
}

pub(super) async fn healing_pattern(
    pool: &SqlitePool,
    project: &ProjectId,
    fingerprint: &Fingerprint,
) -> Result<Option<HealingPattern>, StoreError> {
    let mut connection = pool.acquire().await.map_err(database_error("acquire connection"))?;
    select_pattern(&mut connection, project, fingerprint).await
}

pub(super) async fn healing_patterns(
    pool: &SqlitePool,
    project: &ProjectId,
    page: PageRequest,
) -> Result<Page<HealingPattern>, StoreError> {
    let (limit, offset) = page_binds(page);
    let page_sql = format!(
        "SELECT {PATTERN_COLUMNS} FROM healing_patterns WHERE project_id = ?1
         ORDER BY confidence DESC, success_count DESC, fingerprint LIMIT ?2 OFFSET ?3"
    );

    let (rows, total) = read_page::<PatternRow<Timestamp>>(
        pool,
        sqlx::query_as(&page_sql).bind(project.as_str()).bind(limit).bind(offset),
        sqlx::query_scalar("SELECT COUNT(*) FROM healing_patterns WHERE project_id = ?1")
            .bind(project.as_str()),
        ("select healing patterns", "count healing patterns"),
    )
    .await?;
    sql::page(rows, total, "healing pattern total")
}

pub(super) async fn confident_patterns(
    pool: &SqlitePool,
    project: &ProjectId,
    min_confidence: f64,
    limit: u32,
) -> Result<Vec<HealingPattern>, StoreError> {
    let sql = format!(
        "SELECT {PATTERN_COLUMNS} FROM healing_patterns WHERE project_id = ?1 AND confidence >= ?2
         ORDER BY confidence DESC, success_count DESC, fingerprint LIMIT ?3"
    );
    let rows: Vec<PatternRow<Timestamp>> = sqlx::query_as(&sql)
        .bind(project.as_str())
        .bind(min_confidence)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(database_error("select confident healing patterns"))?;
    rows.into_iter().map(HealingPattern::try_from).collect()
}

pub(super) async fn touch_healing_pattern(
    pool: &SqlitePool,
    project: &ProjectId,
    fingerprint: &Fingerprint,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let updated = sqlx::query(TOUCH_PATTERN)
        .bind(project.as_str())
        .bind(fingerprint.as_str())
        .bind(encode_time(at))
        .execute(pool)
        .await
        .map_err(database_error("touch healing pattern"))?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("healing pattern {fingerprint}")));
    }
    Ok(())
}

pub(super) async fn save_suggestion(
    pool: &SqlitePool,
    project: &ProjectId,
    suggestion: &HealingSuggestion,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let inserted = bind_suggestion(sqlx::query(INSERT_SUGGESTION), project, suggestion)?
        .bind(encode_time(at))
        .execute(pool)
        .await;
    suggestion_saved(
        suggestion,
        inserted.map(|done| done.rows_affected()),
        database_error("insert suggestion"),
    )
}

async fn select_suggestion(
    connection: &mut SqliteConnection,
    project: &ProjectId,
    id: SuggestionId,
) -> Result<Option<StoredSuggestion>, StoreError> {
    let row: Option<SuggestionRow<Timestamp>> = sqlx::query_as(SELECT_SUGGESTION)
        .bind(project.as_str())
        .bind(id.to_string())
        .fetch_optional(connection)
        .await
        .map_err(database_error("select suggestion"))?;
    row.map(StoredSuggestion::try_from).transpose()
}

pub(super) async fn suggestion(
    pool: &SqlitePool,
    project: &ProjectId,
    id: SuggestionId,
) -> Result<Option<StoredSuggestion>, StoreError> {
    let mut connection = pool.acquire().await.map_err(database_error("acquire connection"))?;
    select_suggestion(&mut connection, project, id).await
}

pub(super) async fn suggestions(
    pool: &SqlitePool,
    project: &ProjectId,
    query: &SuggestionQuery,
) -> Result<Page<StoredSuggestion>, StoreError> {
    let (limit, offset) = page_binds(query.page);
    let status = query.status.map(|status| status.as_str());
    let decision = query.decision.map(|decision| decision.as_str());
    let page_sql = format!(
        "SELECT body, status, created_at, reviewed_at FROM healing_suggestions {SUGGESTION_FILTER}
         ORDER BY created_at DESC, id DESC LIMIT ?5 OFFSET ?6"
    );
    let count_sql = format!("SELECT COUNT(*) FROM healing_suggestions {SUGGESTION_FILTER}");

    let (rows, total) = read_page::<SuggestionRow<Timestamp>>(
        pool,
        sqlx::query_as(&page_sql)
            .bind(project.as_str())
            .bind(status)
            .bind(decision)
            .bind(query.test.as_deref())
            .bind(limit)
            .bind(offset),
        sqlx::query_scalar(&count_sql)
            .bind(project.as_str())
            .bind(status)
            .bind(decision)
            .bind(query.test.as_deref()),
        ("select suggestions", "count suggestions"),
    )
    .await?;
    sql::page(rows, total, "suggestion total")
}

/// Accepted: the pattern takes the suggested CSS and gains a success (its counts restart when the CSS changes).
fn upsert_accepted_pattern_sql() -> String {
    format!(
        "INSERT INTO healing_patterns (
             project_id, fingerprint, original_selector, healed_selector, error_type,
             success_count, failure_count, last_used_at, created_at
         ) VALUES (?1, ?2, ?3, ?4, {PATTERN_ERROR_TYPE}, 1, 0, ?5, ?5)
         ON CONFLICT (project_id, fingerprint) DO UPDATE SET
             -- A different healed selector is a new heal: the old counts say nothing about it.
             success_count = CASE WHEN healed_selector = excluded.healed_selector
                                  THEN success_count + 1 ELSE 1 END,
             failure_count = CASE WHEN healed_selector = excluded.healed_selector
                                  THEN failure_count ELSE 0 END,
             original_selector = excluded.original_selector,
             healed_selector = excluded.healed_selector,
             last_used_at = max(coalesce(last_used_at, excluded.last_used_at), excluded.last_used_at)"
    )
}

/// Rejected: the pattern gains a failure. Only run when no pattern exists or it heals with the rejected CSS.
fn upsert_rejected_pattern_sql() -> String {
    format!(
        "INSERT INTO healing_patterns (
             project_id, fingerprint, original_selector, healed_selector, error_type,
             success_count, failure_count, last_used_at, created_at
         ) VALUES (?1, ?2, ?3, ?4, {PATTERN_ERROR_TYPE}, 0, 1, NULL, ?5)
         ON CONFLICT (project_id, fingerprint) DO UPDATE SET failure_count = failure_count + 1"
    )
}

pub(super) async fn record_feedback(
    pool: &SqlitePool,
    project: &ProjectId,
    id: SuggestionId,
    verdict: FeedbackVerdict,
    at: DateTime<Utc>,
) -> Result<FeedbackOutcome, StoreError> {
    let reviewed_status = reviewed_status(verdict);
    let mut transaction = begin_write(pool).await?;
    let stored = select_suggestion(&mut transaction, project, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("suggestion {id}")))?;
    let fingerprint = stored.suggestion.fingerprint.clone();
    let suggested_css = match review(id, &stored, reviewed_status)? {
        Review::Repeated => {
            let pattern = select_pattern(&mut transaction, project, &fingerprint).await?;
            return repeated_review(id, stored, pattern);
        }
        Review::Open { suggested_css } => suggested_css,
    };

    bind_review(sqlx::query(REVIEW_SUGGESTION), project, id, reviewed_status)
        .bind(encode_time(at))
        .execute(&mut *transaction)
        .await
        .map_err(database_error("review suggestion"))?;

    let upsert = match verdict {
        FeedbackVerdict::Accepted => Some(upsert_accepted_pattern_sql()),
        FeedbackVerdict::Rejected => {
            let existing = select_pattern(&mut transaction, project, &fingerprint).await?;
            match existing {
                // Rejecting a different heal says nothing about the heal the pattern holds.
                Some(pattern) if pattern.healed_selector != suggested_css => {
                    tracing::debug!(
                        healed_selector = %pattern.healed_selector,
                        rejected_selector = %suggested_css,
                        "rejected heal differs from the pattern, pattern left as it is"
                    );
                    None
                }
                _ => Some(upsert_rejected_pattern_sql()),
            }
        }
    };
    if let Some(upsert) = upsert {
        bind_feedback_pattern(sqlx::query(&upsert), project, &fingerprint, &stored, &suggested_css)
            .bind(encode_time(at))
            .execute(&mut *transaction)
            .await
            .map_err(database_error("upsert healing pattern"))?;
    }

    let pattern = select_pattern(&mut transaction, project, &fingerprint).await?;
    let outcome = reviewed(id, stored, reviewed_status, at, pattern)?;
    transaction.commit().await.map_err(database_error("commit feedback"))?;
    tracing::info!(
        verdict = reviewed_status.as_str(),
        fingerprint = %fingerprint,
        confidence = outcome.pattern.confidence,
        "feedback recorded"
    );
    Ok(outcome)
}
