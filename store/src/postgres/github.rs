//! The GitHub integration's rows: webhook secrets per repository, published deliveries, CI runs, check
//! conclusions and pull-request heads. Every write is one conditional upsert, so it is idempotent and
//! decides on the row as it stands when locked (concurrent deliveries cannot both win).
//!
//! The webhook secret is bound and read, never logged nor put in an error.

use super::{
    begin_read, database_error,
    encoding::{decode_count, encode_count, page_binds},
};
use crate::{
    CheckConclusion, CiRun, CiRunKind, GithubDeliveryState, GithubWebhook, Page, PageRequest,
    PullRequestHead, StoreError,
};
use argus_vocabulary::{GithubEvent, ProjectId, envelope::Envelope};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;

const SELECT_PROJECT_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM projects WHERE id = $1)";

const SELECT_WEBHOOK_OWNER: &str = "SELECT project_id FROM github_webhooks WHERE repository_key = $1";

// Only the owning project may rotate the secret: for another project the upsert writes nothing.
const UPSERT_WEBHOOK: &str = "
    INSERT INTO github_webhooks (repository_key, repository, project_id, secret, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $5)
    ON CONFLICT (repository_key) DO UPDATE
       SET repository = excluded.repository, secret = excluded.secret, updated_at = excluded.updated_at
     WHERE github_webhooks.project_id = excluded.project_id";

const SELECT_WEBHOOK: &str =
    "SELECT project_id, repository, secret FROM github_webhooks WHERE repository_key = $1";

const INSERT_DELIVERY: &str = "
    INSERT INTO github_deliveries (project_id, delivery_id, event_name, received_at, envelope, processed_at)
    VALUES ($1, $2, $3, $4, $5::jsonb, NULL)
    ON CONFLICT (project_id, delivery_id) DO NOTHING";

const SELECT_DELIVERY_PROCESSED: &str =
    "SELECT processed_at IS NOT NULL FROM github_deliveries WHERE project_id = $1 AND delivery_id = $2";

const MARK_DELIVERY_PROCESSED: &str = "
    UPDATE github_deliveries SET processed_at = $3
     WHERE project_id = $1 AND delivery_id = $2 AND processed_at IS NULL";

const SELECT_UNPROCESSED_DELIVERIES: &str = r#"
    SELECT envelope::text FROM github_deliveries
     WHERE processed_at IS NULL AND envelope IS NOT NULL
     ORDER BY received_at, project_id COLLATE "C", delivery_id COLLATE "C" LIMIT $1"#;

// A newer attempt replaces; within one attempt, anything but "unfinished over completed" replaces (a
// repeated delivery rewrites the same values).
const UPSERT_CI_RUN: &str = "
    INSERT INTO ci_runs (
        project_id, kind, id, run_id, run_attempt, name, repository, head_sha, head_branch, status,
        conclusion, html_url, updated_at
    ) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
    ON CONFLICT (project_id, kind, id) DO UPDATE SET
        run_id = excluded.run_id, run_attempt = excluded.run_attempt, name = excluded.name,
        repository = excluded.repository, head_sha = excluded.head_sha, head_branch = excluded.head_branch,
        status = excluded.status, conclusion = excluded.conclusion, html_url = excluded.html_url,
        updated_at = excluded.updated_at
    WHERE excluded.run_attempt > ci_runs.run_attempt
       OR (excluded.run_attempt = ci_runs.run_attempt
           AND NOT (ci_runs.status = 'completed' AND excluded.status <> 'completed'))";

const SELECT_CI_RUNS: &str = r#"
    SELECT kind, id, run_id, run_attempt, name, repository, head_sha, head_branch, status, conclusion,
           html_url, updated_at
      FROM ci_runs WHERE project_id = $1
     ORDER BY updated_at DESC, kind COLLATE "C", id DESC LIMIT $2 OFFSET $3"#;

const UPSERT_CHECK_CONCLUSION: &str = "
    INSERT INTO check_conclusions (project_id, head_sha, name, repository, conclusion, concluded_at)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (project_id, head_sha, name) DO UPDATE SET
        repository = excluded.repository, conclusion = excluded.conclusion,
        concluded_at = excluded.concluded_at
    WHERE excluded.concluded_at >= check_conclusions.concluded_at";

const SELECT_CHECK_CONCLUSIONS: &str = r#"
    SELECT repository, head_sha, name, conclusion, concluded_at
      FROM check_conclusions WHERE project_id = $1 AND head_sha = $2 ORDER BY name COLLATE "C""#;

// The insert alone decides whether the head is new; a known head only moves its first sighting earlier.
const INSERT_PULL_REQUEST_HEAD: &str = "
    INSERT INTO pull_request_heads (project_id, repository, number, head_sha, head_ref, base_ref, first_seen)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (project_id, repository, number, head_sha) DO NOTHING";

const MOVE_PULL_REQUEST_HEAD_FIRST_SEEN: &str = "
    UPDATE pull_request_heads SET first_seen = $5
     WHERE project_id = $1 AND repository = $2 AND number = $3 AND head_sha = $4 AND first_seen > $5";

const SELECT_PULL_REQUESTS_FOR_SHA: &str = r#"
    SELECT repository, number, head_sha, head_ref, base_ref, first_seen
      FROM pull_request_heads WHERE project_id = $1 AND head_sha = $2
     ORDER BY repository COLLATE "C", number"#;

/// How a repository is matched: GitHub treats `Octo/Shop` and `octo/shop` as one repository.
fn repository_key(repository: &str) -> String {
    repository.to_ascii_lowercase()
}

fn decode_project(column: &'static str, raw: String) -> Result<ProjectId, StoreError> {
    ProjectId::parse(raw).map_err(|error| StoreError::Corrupt(format!("{column} is invalid: {error}")))
}

pub(super) async fn set_github_webhook(
    pool: &PgPool,
    project: &ProjectId,
    repository: &str,
    secret: &SecretString,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if repository.trim().is_empty() {
        return Err(StoreError::InvalidInput("the repository name is empty".to_owned()));
    }
    if secret.expose_secret().is_empty() {
        return Err(StoreError::InvalidInput("the webhook secret is empty".to_owned()));
    }
    let key = repository_key(repository);
    let project_exists: bool = sqlx::query_scalar(SELECT_PROJECT_EXISTS)
        .bind(project.as_str())
        .fetch_one(pool)
        .await
        .map_err(database_error("select project"))?;
    if !project_exists {
        return Err(StoreError::NotFound(format!("project {project}")));
    }
    let written = sqlx::query(UPSERT_WEBHOOK)
        .bind(&key)
        .bind(repository)
        .bind(project.as_str())
        .bind(secret.expose_secret())
        .bind(at)
        .execute(pool)
        .await
        .map_err(database_error("upsert github webhook"))?
        .rows_affected();
    if written == 1 {
        return Ok(());
    }
    // Nothing written: the repository belongs to another project.
    let owner: Option<String> = sqlx::query_scalar(SELECT_WEBHOOK_OWNER)
        .bind(&key)
        .fetch_optional(pool)
        .await
        .map_err(database_error("select webhook owner"))?;
    Err(StoreError::Conflict(format!(
        "repository {repository} already sends its webhooks to project {}",
        owner.as_deref().unwrap_or("another project")
    )))
}

pub(super) async fn github_webhook_for_repository(
    pool: &PgPool,
    repository: &str,
) -> Result<Option<GithubWebhook>, StoreError> {
    let row: Option<(String, String, String)> = sqlx::query_as(SELECT_WEBHOOK)
        .bind(repository_key(repository))
        .fetch_optional(pool)
        .await
        .map_err(database_error("select github webhook"))?;
    row.map(|(project, repository, secret)| {
        Ok(GithubWebhook {
            project: decode_project("github_webhooks.project_id", project)?,
            repository,
            secret: SecretString::from(secret),
        })
    })
    .transpose()
}

pub(super) async fn accept_github_event(
    pool: &PgPool,
    event: &Envelope<GithubEvent>,
    event_name: &str,
) -> Result<GithubDeliveryState, StoreError> {
    let project = event.project_id.as_str();
    let delivery_id = event.payload.delivery_id.as_str();
    let envelope = String::from_utf8(event.to_bytes())
        .map_err(|error| StoreError::InvalidInput(format!("github envelope is not utf-8: {error}")))?;
    let inserted = sqlx::query(INSERT_DELIVERY)
        .bind(project)
        .bind(delivery_id)
        .bind(event_name)
        .bind(event.occurred_at)
        .bind(envelope)
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
    pool: &PgPool,
    project: &ProjectId,
    delivery_id: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(MARK_DELIVERY_PROCESSED)
        .bind(project.as_str())
        .bind(delivery_id)
        .bind(at)
        .execute(pool)
        .await
        .map_err(database_error("mark github delivery processed"))?;
    Ok(())
}

pub(super) async fn unprocessed_github_events(
    pool: &PgPool,
    limit: u32,
) -> Result<Vec<Envelope<GithubEvent>>, StoreError> {
    let envelopes: Vec<String> = sqlx::query_scalar(SELECT_UNPROCESSED_DELIVERIES)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(database_error("select unprocessed github deliveries"))?;
    envelopes
        .into_iter()
        .map(|envelope| {
            Envelope::from_bytes(envelope.as_bytes()).map_err(|error| {
                StoreError::Corrupt(format!("github_deliveries.envelope does not decode: {error}"))
            })
        })
        .collect()
}

pub(super) async fn record_ci_run(
    pool: &PgPool,
    project: &ProjectId,
    run: &CiRun,
) -> Result<bool, StoreError> {
    let written = sqlx::query(UPSERT_CI_RUN)
        .bind(project.as_str())
        .bind(run.kind.as_str())
        .bind(encode_count("ci run id", run.id)?)
        .bind(encode_count("ci run run_id", run.run_id)?)
        .bind(i64::from(run.run_attempt))
        .bind(run.name.as_deref())
        .bind(&run.repository)
        .bind(&run.head_sha)
        .bind(run.head_branch.as_deref())
        .bind(&run.status)
        .bind(run.conclusion.as_deref())
        .bind(run.html_url.as_deref())
        .bind(run.updated_at)
        .execute(pool)
        .await
        .map_err(database_error("upsert ci run"))?
        .rows_affected();
    Ok(written == 1)
}

/// One CI run as stored.
#[derive(sqlx::FromRow)]
struct CiRunRow {
    kind: String,
    id: i64,
    run_id: i64,
    run_attempt: i64,
    name: Option<String>,
    repository: String,
    head_sha: String,
    head_branch: Option<String>,
    status: String,
    conclusion: Option<String>,
    html_url: Option<String>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<CiRunRow> for CiRun {
    type Error = StoreError;

    fn try_from(row: CiRunRow) -> Result<Self, Self::Error> {
        let kind = match row.kind.as_str() {
            "workflow_run" => CiRunKind::WorkflowRun,
            "workflow_job" => CiRunKind::WorkflowJob,
            other => return Err(StoreError::Corrupt(format!("ci_runs.kind {other:?} is not a known kind"))),
        };
        let run_attempt = u32::try_from(row.run_attempt).map_err(|_| {
            StoreError::Corrupt(format!("ci_runs.run_attempt {} is out of range", row.run_attempt))
        })?;
        Ok(CiRun {
            kind,
            id: decode_count("ci_runs.id", row.id)?,
            run_id: decode_count("ci_runs.run_id", row.run_id)?,
            run_attempt,
            name: row.name,
            repository: row.repository,
            head_sha: row.head_sha,
            head_branch: row.head_branch,
            status: row.status,
            conclusion: row.conclusion,
            html_url: row.html_url,
            updated_at: row.updated_at,
        })
    }
}

pub(super) async fn ci_runs(
    pool: &PgPool,
    project: &ProjectId,
    page: PageRequest,
) -> Result<Page<CiRun>, StoreError> {
    let (limit, offset) = page_binds(page);
    let mut read = begin_read(pool).await?;
    let rows: Vec<CiRunRow> = sqlx::query_as(SELECT_CI_RUNS)
        .bind(project.as_str())
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *read)
        .await
        .map_err(database_error("select ci runs"))?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ci_runs WHERE project_id = $1")
        .bind(project.as_str())
        .fetch_one(&mut *read)
        .await
        .map_err(database_error("count ci runs"))?;
    read.commit().await.map_err(database_error("end read transaction"))?;
    Ok(Page {
        items: rows.into_iter().map(CiRun::try_from).collect::<Result<_, _>>()?,
        total: decode_count("ci run total", total)?,
    })
}

pub(super) async fn record_check_conclusion(
    pool: &PgPool,
    project: &ProjectId,
    check: &CheckConclusion,
) -> Result<(), StoreError> {
    sqlx::query(UPSERT_CHECK_CONCLUSION)
        .bind(project.as_str())
        .bind(&check.head_sha)
        .bind(&check.name)
        .bind(&check.repository)
        .bind(&check.conclusion)
        .bind(check.concluded_at)
        .execute(pool)
        .await
        .map_err(database_error("upsert check conclusion"))?;
    Ok(())
}

pub(super) async fn check_conclusions(
    pool: &PgPool,
    project: &ProjectId,
    head_sha: &str,
) -> Result<Vec<CheckConclusion>, StoreError> {
    let rows: Vec<(String, String, String, String, DateTime<Utc>)> = sqlx::query_as(SELECT_CHECK_CONCLUSIONS)
        .bind(project.as_str())
        .bind(head_sha)
        .fetch_all(pool)
        .await
        .map_err(database_error("select check conclusions"))?;
    Ok(rows
        .into_iter()
        .map(|(repository, head_sha, name, conclusion, concluded_at)| CheckConclusion {
            repository,
            head_sha,
            name,
            conclusion,
            concluded_at,
        })
        .collect())
}

pub(super) async fn record_pull_request(
    pool: &PgPool,
    project: &ProjectId,
    pull: &PullRequestHead,
) -> Result<bool, StoreError> {
    let number = encode_count("pull request number", pull.number)?;
    let inserted = sqlx::query(INSERT_PULL_REQUEST_HEAD)
        .bind(project.as_str())
        .bind(&pull.repository)
        .bind(number)
        .bind(&pull.head_sha)
        .bind(&pull.head_ref)
        .bind(&pull.base_ref)
        .bind(pull.first_seen)
        .execute(pool)
        .await
        .map_err(database_error("insert pull request head"))?
        .rows_affected();
    if inserted == 1 {
        return Ok(true);
    }
    sqlx::query(MOVE_PULL_REQUEST_HEAD_FIRST_SEEN)
        .bind(project.as_str())
        .bind(&pull.repository)
        .bind(number)
        .bind(&pull.head_sha)
        .bind(pull.first_seen)
        .execute(pool)
        .await
        .map_err(database_error("update pull request head"))?;
    Ok(false)
}

pub(super) async fn pull_requests_for_sha(
    pool: &PgPool,
    project: &ProjectId,
    head_sha: &str,
) -> Result<Vec<PullRequestHead>, StoreError> {
    let rows: Vec<(String, i64, String, String, String, DateTime<Utc>)> =
        sqlx::query_as(SELECT_PULL_REQUESTS_FOR_SHA)
            .bind(project.as_str())
            .bind(head_sha)
            .fetch_all(pool)
            .await
            .map_err(database_error("select pull requests for sha"))?;
    rows.into_iter()
        .map(|(repository, number, head_sha, head_ref, base_ref, first_seen)| {
            Ok(PullRequestHead {
                repository,
                number: decode_count("pull_request_heads.number", number)?,
                head_sha,
                head_ref,
                base_ref,
                first_seen,
            })
        })
        .collect()
}
