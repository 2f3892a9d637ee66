//! The GitHub integration's rows: webhook secrets per repository, published deliveries, CI runs, check
//! conclusions and pull-request heads. Every write is one statement or one transaction and idempotent.

use super::{
    begin_write, database_error,
    encoding::{Timestamp, encode_time},
    read_page,
};
use crate::{
    CheckConclusion, CiRun, GithubDeliveryState, GithubWebhook, Page, PageRequest, PullRequestHead,
    StoreError,
    sql::{
        self,
        github::{
            CheckConclusionRow, CiRunRow, PullRequestHeadRow, WebhookRow, bind_check_conclusion, bind_ci_run,
            bind_pull_request_head, bind_webhook, repository_key, webhook_conflict, webhook_key,
        },
        intake::decode_envelopes,
        values::{encode_count, page_binds},
    },
};
use argus_vocabulary::{GithubEvent, ProjectId, envelope::Envelope};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sqlx::SqlitePool;

const SELECT_PROJECT_EXISTS: &str = "SELECT COUNT(*) FROM projects WHERE id = ?1";

const SELECT_WEBHOOK_OWNER: &str = "SELECT project_id FROM github_webhooks WHERE repository_key = ?1";

const UPSERT_WEBHOOK: &str = "
    INSERT INTO github_webhooks (repository_key, repository, project_id, secret, created_at, updated_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?5)
    ON CONFLICT (repository_key) DO UPDATE
       SET repository = excluded.repository, secret = excluded.secret, updated_at = excluded.updated_at
     WHERE github_webhooks.project_id = excluded.project_id";

const SELECT_WEBHOOK: &str =
    "SELECT project_id, repository, secret FROM github_webhooks WHERE repository_key = ?1";

const INSERT_DELIVERY: &str = "
    INSERT INTO github_deliveries (project_id, delivery_id, event_name, received_at, envelope, processed_at)
    VALUES (?1, ?2, ?3, ?4, ?5, NULL)
    ON CONFLICT (project_id, delivery_id) DO NOTHING";

const SELECT_DELIVERY_PROCESSED: &str =
    "SELECT processed_at IS NOT NULL FROM github_deliveries WHERE project_id = ?1 AND delivery_id = ?2";

const MARK_DELIVERY_PROCESSED: &str = "
    UPDATE github_deliveries SET processed_at = ?3
     WHERE project_id = ?1 AND delivery_id = ?2 AND processed_at IS NULL";

const SELECT_UNPROCESSED_DELIVERIES: &str = "
    SELECT envelope FROM github_deliveries
     WHERE processed_at IS NULL AND envelope IS NOT NULL
     ORDER BY received_at, project_id, delivery_id LIMIT ?1";

// A newer attempt replaces; within one attempt, anything but "unfinished over completed" replaces (a
// repeated delivery rewrites the same values).
const UPSERT_CI_RUN: &str = "
    INSERT INTO ci_runs (
        project_id, kind, id, run_id, run_attempt, name, repository, head_sha, head_branch, status,
        conclusion, html_url, updated_at
    ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
    ON CONFLICT (project_id, kind, id) DO UPDATE SET
        run_id = excluded.run_id, run_attempt = excluded.run_attempt, name = excluded.name,
        repository = excluded.repository, head_sha = excluded.head_sha, head_branch = excluded.head_branch,
        status = excluded.status, conclusion = excluded.conclusion, html_url = excluded.html_url,
        updated_at = excluded.updated_at
    WHERE excluded.run_attempt > ci_runs.run_attempt
       OR (excluded.run_attempt = ci_runs.run_attempt
           AND NOT (ci_runs.status = 'completed' AND excluded.status <> 'completed'))";

const SELECT_CI_RUNS: &str = "
    SELECT kind, id, run_id, run_attempt, name, repository, head_sha, head_branch, status, conclusion,
           html_url, updated_at
      FROM ci_runs WHERE project_id = ?1
     ORDER BY updated_at DESC, kind, id DESC LIMIT ?2 OFFSET ?3";

const UPSERT_CHECK_CONCLUSION: &str = "
    INSERT INTO check_conclusions (project_id, head_sha, name, repository, conclusion, concluded_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
    ON CONFLICT (project_id, head_sha, name) DO UPDATE SET
        repository = excluded.repository, conclusion = excluded.conclusion,
        concluded_at = excluded.concluded_at
    WHERE excluded.concluded_at >= check_conclusions.concluded_at";

const SELECT_CHECK_CONCLUSIONS: &str = "
    SELECT repository, head_sha, name, conclusion, concluded_at
      FROM check_conclusions WHERE project_id = ?1 AND head_sha = ?2 ORDER BY name";

const SELECT_PULL_REQUEST_HEAD_KNOWN: &str = "
    SELECT COUNT(*) FROM pull_request_heads
     WHERE project_id = ?1 AND repository = ?2 AND number = ?3 AND head_sha = ?4";

const INSERT_PULL_REQUEST_HEAD: &str = "
    INSERT INTO pull_request_heads (project_id, repository, number, head_sha, head_ref, base_ref, first_seen)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
    ON CONFLICT (project_id, repository, number, head_sha) DO UPDATE SET first_seen = excluded.first_seen
    WHERE excluded.first_seen < pull_request_heads.first_seen";

const SELECT_PULL_REQUESTS_FOR_SHA: &str = "
    SELECT repository, number, head_sha, head_ref, base_ref, first_seen
      FROM pull_request_heads WHERE project_id = ?1 AND head_sha = ?2 ORDER BY repository, number";

pub(super) async fn set_github_webhook(
    pool: &SqlitePool,
    project: &ProjectId,
    repository: &str,
    secret: &SecretString,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let key = webhook_key(repository, secret)?;
    let mut transaction = begin_write(pool).await?;
    let projects: i64 = sqlx::query_scalar(SELECT_PROJECT_EXISTS)
        .bind(project.as_str())
        .fetch_one(&mut *transaction)
        .await
        .map_err(database_error("select project"))?;
    if projects == 0 {
        return Err(StoreError::NotFound(format!("project {project}")));
    }
    let owner: Option<String> = sqlx::query_scalar(SELECT_WEBHOOK_OWNER)
        .bind(&key)
        .fetch_optional(&mut *transaction)
        .await
        .map_err(database_error("select webhook owner"))?;
    if let Some(owner) = owner.filter(|owner| owner != project.as_str()) {
        return Err(webhook_conflict(repository, Some(&owner)));
    }
    bind_webhook(sqlx::query(UPSERT_WEBHOOK), &key, repository, project, secret)
        .bind(encode_time(at))
        .execute(&mut *transaction)
        .await
        .map_err(database_error("upsert github webhook"))?;
    transaction.commit().await.map_err(database_error("commit github webhook"))?;
    Ok(())
}

pub(super) async fn github_webhook_for_repository(
    pool: &SqlitePool,
    repository: &str,
) -> Result<Option<GithubWebhook>, StoreError> {
    let row: Option<WebhookRow> = sqlx::query_as(SELECT_WEBHOOK)
        .bind(repository_key(repository))
        .fetch_optional(pool)
        .await
        .map_err(database_error("select github webhook"))?;
    row.map(GithubWebhook::try_from).transpose()
}

pub(super) async fn accept_github_event(
    pool: &SqlitePool,
    event: &Envelope<GithubEvent>,
    event_name: &str,
) -> Result<GithubDeliveryState, StoreError> {
    let project = event.project_id.as_str();
    let delivery_id = event.payload.delivery_id.as_str();
    let inserted = sqlx::query(INSERT_DELIVERY)
        .bind(project)
        .bind(delivery_id)
        .bind(event_name)
        .bind(encode_time(event.occurred_at))
        .bind(String::from_utf8_lossy(&event.to_bytes()).into_owned())
        .execute(pool)
        .await
        .map_err(database_error("insert github delivery"))?
        .rows_affected();
    if inserted == 1 {
        return Ok(GithubDeliveryState::New);
    }
    let processed: bool = sqlx::query_scalar(SELECT_DELIVERY_PROCESSED)
        .bind(project)
        .bind(delivery_id)
        .fetch_one(pool)
        .await
        .map_err(database_error("select github delivery"))?;
    Ok(if processed { GithubDeliveryState::Processed } else { GithubDeliveryState::Pending })
}

pub(super) async fn mark_github_event_processed(
    pool: &SqlitePool,
    project: &ProjectId,
    delivery_id: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(MARK_DELIVERY_PROCESSED)
        .bind(project.as_str())
        .bind(delivery_id)
        .bind(encode_time(at))
        .execute(pool)
        .await
        .map_err(database_error("mark github delivery processed"))?;
    Ok(())
}

pub(super) async fn unprocessed_github_events(
    pool: &SqlitePool,
    limit: u32,
) -> Result<Vec<Envelope<GithubEvent>>, StoreError> {
    let envelopes: Vec<String> = sqlx::query_scalar(SELECT_UNPROCESSED_DELIVERIES)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(database_error("select unprocessed github deliveries"))?;
    decode_envelopes("github_deliveries.envelope", envelopes)
}

pub(super) async fn record_ci_run(
    pool: &SqlitePool,
    project: &ProjectId,
    run: &CiRun,
) -> Result<bool, StoreError> {
    let written = bind_ci_run(sqlx::query(UPSERT_CI_RUN), project, run)?
        .bind(encode_time(run.updated_at))
        .execute(pool)
        .await
        .map_err(database_error("upsert ci run"))?
        .rows_affected();
    Ok(written == 1)
}

pub(super) async fn ci_runs(
    pool: &SqlitePool,
    project: &ProjectId,
    page: PageRequest,
) -> Result<Page<CiRun>, StoreError> {
    let (limit, offset) = page_binds(page);
    let (rows, total) = read_page::<CiRunRow<Timestamp>>(
        pool,
        sqlx::query_as(SELECT_CI_RUNS).bind(project.as_str()).bind(limit).bind(offset),
        sqlx::query_scalar("SELECT COUNT(*) FROM ci_runs WHERE project_id = ?1").bind(project.as_str()),
        ("select ci runs", "count ci runs"),
    )
    .await?;
    sql::page(rows, total, "ci run total")
}

pub(super) async fn record_check_conclusion(
    pool: &SqlitePool,
    project: &ProjectId,
    check: &CheckConclusion,
) -> Result<(), StoreError> {
    bind_check_conclusion(sqlx::query(UPSERT_CHECK_CONCLUSION), project, check)
        .bind(encode_time(check.concluded_at))
        .execute(pool)
        .await
        .map_err(database_error("upsert check conclusion"))?;
    Ok(())
}

pub(super) async fn check_conclusions(
    pool: &SqlitePool,
    project: &ProjectId,
    head_sha: &str,
) -> Result<Vec<CheckConclusion>, StoreError> {
    let rows: Vec<CheckConclusionRow<Timestamp>> = sqlx::query_as(SELECT_CHECK_CONCLUSIONS)
        .bind(project.as_str())
        .bind(head_sha)
        .fetch_all(pool)
        .await
        .map_err(database_error("select check conclusions"))?;
    rows.into_iter().map(CheckConclusion::try_from).collect()
}

pub(super) async fn record_pull_request(
    pool: &SqlitePool,
    project: &ProjectId,
    pull: &PullRequestHead,
) -> Result<bool, StoreError> {
    let mut transaction = begin_write(pool).await?;
    let known: i64 = sqlx::query_scalar(SELECT_PULL_REQUEST_HEAD_KNOWN)
        .bind(project.as_str())
        .bind(&pull.repository)
        .bind(encode_count("pull request number", pull.number)?)
        .bind(&pull.head_sha)
        .fetch_one(&mut *transaction)
        .await
        .map_err(database_error("select pull request head"))?;
    bind_pull_request_head(sqlx::query(INSERT_PULL_REQUEST_HEAD), project, pull)?
        .bind(encode_time(pull.first_seen))
        .execute(&mut *transaction)
        .await
        .map_err(database_error("insert pull request head"))?;
    transaction.commit().await.map_err(database_error("commit pull request head"))?;
    Ok(known == 0)
}

pub(super) async fn pull_requests_for_sha(
    pool: &SqlitePool,
    project: &ProjectId,
    head_sha: &str,
) -> Result<Vec<PullRequestHead>, StoreError> {
    let rows: Vec<PullRequestHeadRow<Timestamp>> = sqlx::query_as(SELECT_PULL_REQUESTS_FOR_SHA)
        .bind(project.as_str())
        .bind(head_sha)
        .fetch_all(pool)
        .await
        .map_err(database_error("select pull requests for sha"))?;
    rows.into_iter().map(PullRequestHead::try_from).collect()
}
