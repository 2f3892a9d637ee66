//! The GitHub integration's rows: how a repository is matched and a webhook checked, the binds of the
//! writes (webhooks, CI runs, check conclusions, pull-request heads), and the rows of the reads with their
//! conversion.

use super::{
    Statement, StoredTime,
    values::{decode_count, decode_project, encode_count},
};
use crate::{CheckConclusion, CiRun, CiRunKind, GithubWebhook, PullRequestHead, StoreError};
use argus_vocabulary::ProjectId;
use secrecy::{ExposeSecret, SecretString};
use sqlx::{Database, Encode, Type};

/// How a repository is matched: GitHub treats `Octo/Shop` and `octo/shop` as one repository.
pub(crate) fn repository_key(repository: &str) -> String {
    repository.to_ascii_lowercase()
}

/// The key of a repository whose webhook is being set; an empty repository name or secret is
/// [`StoreError::InvalidInput`].
pub(crate) fn webhook_key(repository: &str, secret: &SecretString) -> Result<String, StoreError> {
    if repository.trim().is_empty() {
        return Err(StoreError::InvalidInput("the repository name is empty".to_owned()));
    }
    if secret.expose_secret().is_empty() {
        return Err(StoreError::InvalidInput("the webhook secret is empty".to_owned()));
    }
    Ok(repository_key(repository))
}

/// Binds `repository_key`, `repository`, `project_id`, `secret` ($1–$4) of a webhook upsert; the caller
/// binds the time once, as both `created_at` and `updated_at` ($5).
pub(crate) fn bind_webhook<'q, DB: Database>(
    statement: Statement<'q, DB>,
    key: &'q str,
    repository: &'q str,
    project: &'q ProjectId,
    secret: &'q SecretString,
) -> Statement<'q, DB>
where
    &'q str: Encode<'q, DB> + Type<DB>,
{
    statement.bind(key).bind(repository).bind(project.as_str()).bind(secret.expose_secret())
}

/// The refusal of a webhook for a repository that sends its webhooks to another project (`owner`, when
/// it could be read).
pub(crate) fn webhook_conflict(repository: &str, owner: Option<&str>) -> StoreError {
    StoreError::Conflict(format!(
        "repository {repository} already sends its webhooks to project {}",
        owner.unwrap_or("another project")
    ))
}

/// A webhook configuration as both databases return it.
#[derive(sqlx::FromRow)]
pub(crate) struct WebhookRow {
    project_id: String,
    repository: String,
    secret: String,
}

impl TryFrom<WebhookRow> for GithubWebhook {
    type Error = StoreError;

    fn try_from(row: WebhookRow) -> Result<Self, Self::Error> {
        Ok(GithubWebhook {
            project: decode_project("github_webhooks.project_id", row.project_id)?,
            repository: row.repository,
            secret: SecretString::from(row.secret),
        })
    }
}

/// Binds `project_id`, `kind`, `id`, `run_id`, `run_attempt`, `name`, `repository`, `head_sha`,
/// `head_branch`, `status`, `conclusion`, `html_url` ($1–$12) of a CI-run upsert; the caller binds
/// `updated_at` ($13).
pub(crate) fn bind_ci_run<'q, DB: Database>(
    statement: Statement<'q, DB>,
    project: &'q ProjectId,
    run: &'q CiRun,
) -> Result<Statement<'q, DB>, StoreError>
where
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    Ok(statement
        .bind(project.as_str())
        .bind(run.kind.as_str())
        .bind(encode_count("ci run id", run.id)?)
        .bind(encode_count("ci run run_id", run.run_id)?)
        .bind(i64::from(run.run_attempt))
        .bind(run.name.as_deref())
        .bind(run.repository.as_str())
        .bind(run.head_sha.as_str())
        .bind(run.head_branch.as_deref())
        .bind(run.status.as_str())
        .bind(run.conclusion.as_deref())
        .bind(run.html_url.as_deref()))
}

/// One CI run as both databases return it (`Time`: the adapter's timestamp column).
#[derive(sqlx::FromRow)]
pub(crate) struct CiRunRow<Time> {
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
    updated_at: Time,
}

impl<Time: StoredTime> TryFrom<CiRunRow<Time>> for CiRun {
    type Error = StoreError;

    fn try_from(row: CiRunRow<Time>) -> Result<Self, Self::Error> {
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
            updated_at: row.updated_at.into_utc("ci_runs.updated_at")?,
        })
    }
}

/// Binds `project_id`, `head_sha`, `name`, `repository`, `conclusion` ($1–$5) of a check-conclusion upsert;
/// the caller binds `concluded_at` ($6).
pub(crate) fn bind_check_conclusion<'q, DB: Database>(
    statement: Statement<'q, DB>,
    project: &'q ProjectId,
    check: &'q CheckConclusion,
) -> Statement<'q, DB>
where
    &'q str: Encode<'q, DB> + Type<DB>,
{
    statement
        .bind(project.as_str())
        .bind(check.head_sha.as_str())
        .bind(check.name.as_str())
        .bind(check.repository.as_str())
        .bind(check.conclusion.as_str())
}

/// One check conclusion as both databases return it (`Time`: the adapter's timestamp column).
#[derive(sqlx::FromRow)]
pub(crate) struct CheckConclusionRow<Time> {
    repository: String,
    head_sha: String,
    name: String,
    conclusion: String,
    concluded_at: Time,
}

impl<Time: StoredTime> TryFrom<CheckConclusionRow<Time>> for CheckConclusion {
    type Error = StoreError;

    fn try_from(row: CheckConclusionRow<Time>) -> Result<Self, Self::Error> {
        Ok(CheckConclusion {
            repository: row.repository,
            head_sha: row.head_sha,
            name: row.name,
            conclusion: row.conclusion,
            concluded_at: row.concluded_at.into_utc("check_conclusions.concluded_at")?,
        })
    }
}

/// Binds the key of a pull-request head: `project_id`, `repository`, `number`, `head_sha` ($1–$4).
pub(crate) fn bind_pull_request_key<'q, DB: Database>(
    statement: Statement<'q, DB>,
    project: &'q ProjectId,
    pull: &'q PullRequestHead,
) -> Result<Statement<'q, DB>, StoreError>
where
    &'q str: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    Ok(statement
        .bind(project.as_str())
        .bind(pull.repository.as_str())
        .bind(encode_count("pull request number", pull.number)?)
        .bind(pull.head_sha.as_str()))
}

/// Binds the key ($1–$4, see [`bind_pull_request_key`]), `head_ref` and `base_ref` ($5, $6) of a
/// pull-request head insert; the caller binds `first_seen` ($7).
pub(crate) fn bind_pull_request_head<'q, DB: Database>(
    statement: Statement<'q, DB>,
    project: &'q ProjectId,
    pull: &'q PullRequestHead,
) -> Result<Statement<'q, DB>, StoreError>
where
    &'q str: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    Ok(bind_pull_request_key(statement, project, pull)?
        .bind(pull.head_ref.as_str())
        .bind(pull.base_ref.as_str()))
}

/// One pull-request head as both databases return it (`Time`: the adapter's timestamp column).
#[derive(sqlx::FromRow)]
pub(crate) struct PullRequestHeadRow<Time> {
    repository: String,
    number: i64,
    head_sha: String,
    head_ref: String,
    base_ref: String,
    first_seen: Time,
}

impl<Time: StoredTime> TryFrom<PullRequestHeadRow<Time>> for PullRequestHead {
    type Error = StoreError;

    fn try_from(row: PullRequestHeadRow<Time>) -> Result<Self, Self::Error> {
        Ok(PullRequestHead {
            repository: row.repository,
            number: decode_count("pull_request_heads.number", row.number)?,
            head_sha: row.head_sha,
            head_ref: row.head_ref,
            base_ref: row.base_ref,
            first_seen: row.first_seen.into_utc("pull_request_heads.first_seen")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_needs_a_repository_and_a_secret_and_matches_without_case() {
        let secret = SecretString::from("s3cret");
        assert_eq!(webhook_key("Octo/Shop", &secret).expect("valid"), "octo/shop");
        let no_repository = webhook_key("  ", &secret);
        assert!(matches!(no_repository, Err(StoreError::InvalidInput(_))), "{no_repository:?}");
        let no_secret = webhook_key("octo/shop", &SecretString::from(""));
        assert!(matches!(no_secret, Err(StoreError::InvalidInput(_))), "{no_secret:?}");
    }

    #[test]
    fn ci_run_row_with_an_unknown_kind_or_attempt_is_corrupt() {
        let row = |kind: &str, run_attempt: i64| CiRunRow {
            kind: kind.to_owned(),
            id: 7,
            run_id: 7,
            run_attempt,
            name: None,
            repository: "octo/shop".to_owned(),
            head_sha: "c0ffee".to_owned(),
            head_branch: None,
            status: "completed".to_owned(),
            conclusion: Some("failure".to_owned()),
            html_url: None,
            updated_at: crate::conformance::time(1),
        };
        let run = CiRun::try_from(row("workflow_job", 2)).expect("valid row");
        assert_eq!(
            (run.kind, run.run_attempt, run.updated_at),
            (CiRunKind::WorkflowJob, 2, crate::conformance::time(1))
        );
        let kind = CiRun::try_from(row("workflow_dispatch", 1));
        assert!(matches!(kind, Err(StoreError::Corrupt(_))), "{kind:?}");
        let attempt = CiRun::try_from(row("workflow_run", -1));
        assert!(matches!(attempt, Err(StoreError::Corrupt(_))), "{attempt:?}");
    }
}
