//! The embedded store adapter: sqlx over one SQLite file in WAL mode.
//!
//! - this module: [`SqliteConfig`], [`SqliteStore`] (opening, migrating, closing) and its [`Store`] impl,
//!   which answers `ping` and `counts` itself and otherwise instruments and delegates to:
//! - `intake`: projects, ingest batches and DOM snapshots;
//! - `correlation`: test results, failures and failure groups;
//! - `healing`: suggestions, reviewer feedback and the healing-pattern knowledge base;
//! - `dead_letters`: messages the pipeline gave up on;
//! - `github`: webhook secrets, delivery dedupe, CI runs, check conclusions and pull-request heads;
//! - `encoding`: timestamps, enums, JSON, counters and paging as SQLite values.
//!
//! The schema lives in the top-level `migrations/sqlite/` and is applied by [`SqliteStore::open`]. SQL is
//! plain runtime `sqlx::query` text with explicit binds, kept as named constants beside the code that runs
//! it. Write transactions start with `BEGIN IMMEDIATE`, so SQLite takes the write lock up front (waiting up
//! to `busy_timeout_ms`) instead of failing with `SQLITE_BUSY` when a reading transaction tries to upgrade.

mod correlation;
mod dead_letters;
mod encoding;
mod github;
mod healing;
mod intake;

use crate::{
    CheckConclusion, CiRun, FailureGroup, FailureQuery, FeedbackOutcome, GithubDeliveryState, GithubWebhook,
    HealingPattern, Page, PageRequest, PullRequestHead, Store, StoreCounts, StoreError, StoredDeadLetter,
    StoredSuggestion, SuggestionQuery,
};
use argus_vocabulary::{
    DeadLetter, EventId, Failure, FeedbackVerdict, Fingerprint, GithubEvent, HealingSuggestion, IngestBatch,
    ProjectId, SnapshotHash, SuggestionId, TestResult, envelope::Envelope,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sqlx::{
    Sqlite, SqlitePool, Transaction,
    migrate::Migrator,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use std::{path::Path, time::Duration};

/// The schema, embedded at build time (`store/build.rs` rebuilds when a migration changes).
static MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

/// The database file [`SqliteStore::open_in_dir`] uses inside the data directory.
pub const DATABASE_FILE_NAME: &str = "argus.sqlite";

/// Settings of the SQLite adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteConfig {
    /// Most connections the pool keeps open. Reads run in parallel in WAL mode; writes are serialised by
    /// SQLite whatever this is.
    #[serde(default = "SqliteConfig::default_max_connections")]
    pub max_connections: u32,
    /// How long a statement waits for a lock held by another connection before failing, in milliseconds.
    #[serde(default = "SqliteConfig::default_busy_timeout_ms")]
    pub busy_timeout_ms: u64,
}

impl SqliteConfig {
    /// The default for [`SqliteConfig::max_connections`]: 8.
    pub const fn default_max_connections() -> u32 {
        8
    }

    /// The default for [`SqliteConfig::busy_timeout_ms`]: 5000 (five seconds).
    pub const fn default_busy_timeout_ms() -> u64 {
        5_000
    }
}

impl Default for SqliteConfig {
    fn default() -> Self {
        Self {
            max_connections: Self::default_max_connections(),
            busy_timeout_ms: Self::default_busy_timeout_ms(),
        }
    }
}

/// The embedded [`Store`]: a connection pool over one SQLite file. Cheap to clone (clones share the pool).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it and its parent directory when missing) the database at `path`, switches it to
    /// WAL, turns foreign keys on and applies pending migrations.
    #[tracing::instrument(skip(config), fields(path = %path.display()))]
    pub async fn open(path: &Path, config: &SqliteConfig) -> Result<SqliteStore, StoreError> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|source| StoreError::DataDirectory { path: parent.to_path_buf(), source })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL keeps a commit durable across power loss: callers commit bus offsets after the store.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_millis(config.busy_timeout_ms))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(database_error("open database"))?;
        MIGRATOR.run(&pool).await.inspect_err(|error| {
            tracing::error!(error = %error, "sqlite migrations failed");
        })?;
        tracing::info!(max_connections = config.max_connections, "sqlite store open");
        Ok(SqliteStore { pool })
    }

    /// Opens `dir/argus.sqlite` with the default [`SqliteConfig`].
    pub async fn open_in_dir(dir: &Path) -> Result<SqliteStore, StoreError> {
        Self::open(&dir.join(DATABASE_FILE_NAME), &SqliteConfig::default()).await
    }

    /// Closes every connection, waiting for those in use to be returned (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Starts a write transaction that holds SQLite's write lock from its first statement.
async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, StoreError> {
    pool.begin_with("BEGIN IMMEDIATE").await.map_err(database_error("begin write transaction"))
}

/// Logs a failed statement with what it was doing, and wraps the error.
fn database_error(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| {
        tracing::error!(operation, error = %error, "sqlite statement failed");
        StoreError::Database(error)
    }
}

/// Whether an error is a violated `UNIQUE` or primary-key constraint.
fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.is_unique_violation())
}

#[async_trait]
impl Store for SqliteStore {
    #[tracing::instrument(level = "debug", skip(self))]
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(database_error("ping"))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip(self, display_name, api_key_hash), fields(project = %project))]
    async fn create_project(
        &self,
        project: &ProjectId,
        display_name: &str,
        api_key_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        intake::create_project(&self.pool, project, display_name, api_key_hash, at).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn project_for_api_key_hash(&self, api_key_hash: &str) -> Result<Option<ProjectId>, StoreError> {
        intake::project_for_api_key_hash(&self.pool, api_key_hash).await
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(project = %batch.project_id, batch_id = %batch.event_id, n_snapshots = snapshots.len())
    )]
    async fn accept_batch(
        &self,
        batch: &Envelope<IngestBatch>,
        snapshots: &[(SnapshotHash, String)],
    ) -> Result<(), StoreError> {
        intake::accept_batch(&self.pool, batch, snapshots).await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn unnormalized_batches(&self, limit: u32) -> Result<Vec<Envelope<IngestBatch>>, StoreError> {
        intake::unnormalized_batches(&self.pool, limit).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(project = %project, batch_id = %batch_id))]
    async fn mark_batch_normalized(&self, project: &ProjectId, batch_id: EventId) -> Result<(), StoreError> {
        intake::mark_batch_normalized(&self.pool, project, batch_id, Utc::now()).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(project = %project, hash = %hash))]
    async fn dom_snapshot(
        &self,
        project: &ProjectId,
        hash: &SnapshotHash,
    ) -> Result<Option<String>, StoreError> {
        intake::dom_snapshot(&self.pool, project, hash).await
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(project = %result.project_id, event_id = %result.event_id)
    )]
    async fn record_test_result(&self, result: &Envelope<TestResult>) -> Result<bool, StoreError> {
        correlation::record_test_result(&self.pool, result, Utc::now()).await
    }

    #[tracing::instrument(
        level = "debug",
        skip_all,
        fields(project = %failure.project_id, event_id = %failure.event_id, fingerprint = %failure.payload.fingerprint)
    )]
    async fn record_failure(&self, failure: &Envelope<Failure>) -> Result<FailureGroup, StoreError> {
        correlation::record_failure(&self.pool, failure).await
    }

    #[tracing::instrument(level = "debug", skip(self, query), fields(project = %project))]
    async fn failure_groups(
        &self,
        project: &ProjectId,
        query: &FailureQuery,
    ) -> Result<Page<FailureGroup>, StoreError> {
        correlation::failure_groups(&self.pool, project, query).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(project = %project, fingerprint = %fingerprint))]
    async fn healing_pattern(
        &self,
        project: &ProjectId,
        fingerprint: &Fingerprint,
    ) -> Result<Option<HealingPattern>, StoreError> {
        healing::healing_pattern(&self.pool, project, fingerprint).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
    async fn healing_patterns(
        &self,
        project: &ProjectId,
        page: PageRequest,
    ) -> Result<Page<HealingPattern>, StoreError> {
        healing::healing_patterns(&self.pool, project, page).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
    async fn confident_patterns(
        &self,
        project: &ProjectId,
        min_confidence: f64,
        limit: u32,
    ) -> Result<Vec<HealingPattern>, StoreError> {
        healing::confident_patterns(&self.pool, project, min_confidence, limit).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(project = %project, fingerprint = %fingerprint))]
    async fn touch_healing_pattern(
        &self,
        project: &ProjectId,
        fingerprint: &Fingerprint,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        healing::touch_healing_pattern(&self.pool, project, fingerprint, at).await
    }

    #[tracing::instrument(
        level = "debug",
        skip(self, suggestion),
        fields(project = %project, suggestion_id = %suggestion.id)
    )]
    async fn save_suggestion(
        &self,
        project: &ProjectId,
        suggestion: &HealingSuggestion,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        healing::save_suggestion(&self.pool, project, suggestion, at).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(project = %project, suggestion_id = %id))]
    async fn suggestion(
        &self,
        project: &ProjectId,
        id: SuggestionId,
    ) -> Result<Option<StoredSuggestion>, StoreError> {
        healing::suggestion(&self.pool, project, id).await
    }

    #[tracing::instrument(level = "debug", skip(self, query), fields(project = %project))]
    async fn suggestions(
        &self,
        project: &ProjectId,
        query: &SuggestionQuery,
    ) -> Result<Page<StoredSuggestion>, StoreError> {
        healing::suggestions(&self.pool, project, query).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(project = %project, suggestion_id = %id))]
    async fn record_feedback(
        &self,
        project: &ProjectId,
        id: SuggestionId,
        verdict: FeedbackVerdict,
        at: DateTime<Utc>,
    ) -> Result<FeedbackOutcome, StoreError> {
        healing::record_feedback(&self.pool, project, id, verdict, at).await
    }

    #[tracing::instrument(
        level = "debug",
        skip(self, dead_letter),
        fields(project = %dead_letter.project_id, event_id = %dead_letter.event_id)
    )]
    async fn record_dead_letter(&self, dead_letter: &Envelope<DeadLetter>) -> Result<bool, StoreError> {
        dead_letters::record_dead_letter(&self.pool, dead_letter).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
    async fn dead_letters(
        &self,
        project: &ProjectId,
        page: PageRequest,
    ) -> Result<Page<StoredDeadLetter>, StoreError> {
        dead_letters::dead_letters(&self.pool, project, page).await
    }

    // The secret is skipped: it must never reach a span or a log line.
    #[tracing::instrument(level = "debug", skip(self, secret), fields(project = %project))]
    async fn set_github_webhook(
        &self,
        project: &ProjectId,
        repository: &str,
        secret: &SecretString,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        github::set_github_webhook(&self.pool, project, repository, secret, at).await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn github_webhook_for_repository(
        &self,
        repository: &str,
    ) -> Result<Option<GithubWebhook>, StoreError> {
        github::github_webhook_for_repository(&self.pool, repository).await
    }

    #[tracing::instrument(
        level = "debug",
        skip(self, event),
        fields(project = %event.project_id, delivery = %event.payload.delivery_id)
    )]
    async fn accept_github_event(
        &self,
        event: &Envelope<GithubEvent>,
        event_name: &str,
    ) -> Result<GithubDeliveryState, StoreError> {
        github::accept_github_event(&self.pool, event, event_name).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
    async fn mark_github_event_processed(
        &self,
        project: &ProjectId,
        delivery_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        github::mark_github_event_processed(&self.pool, project, delivery_id, at).await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn unprocessed_github_events(&self, limit: u32) -> Result<Vec<Envelope<GithubEvent>>, StoreError> {
        github::unprocessed_github_events(&self.pool, limit).await
    }

    #[tracing::instrument(level = "debug", skip(self, run), fields(project = %project, kind = run.kind.as_str(), id = run.id))]
    async fn record_ci_run(&self, project: &ProjectId, run: &CiRun) -> Result<bool, StoreError> {
        github::record_ci_run(&self.pool, project, run).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
    async fn ci_runs(&self, project: &ProjectId, page: PageRequest) -> Result<Page<CiRun>, StoreError> {
        github::ci_runs(&self.pool, project, page).await
    }

    #[tracing::instrument(level = "debug", skip(self, check), fields(project = %project, sha = %check.head_sha))]
    async fn record_check_conclusion(
        &self,
        project: &ProjectId,
        check: &CheckConclusion,
    ) -> Result<(), StoreError> {
        github::record_check_conclusion(&self.pool, project, check).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
    async fn check_conclusions(
        &self,
        project: &ProjectId,
        head_sha: &str,
    ) -> Result<Vec<CheckConclusion>, StoreError> {
        github::check_conclusions(&self.pool, project, head_sha).await
    }

    #[tracing::instrument(level = "debug", skip(self, pull), fields(project = %project, number = pull.number))]
    async fn record_pull_request(
        &self,
        project: &ProjectId,
        pull: &PullRequestHead,
    ) -> Result<bool, StoreError> {
        github::record_pull_request(&self.pool, project, pull).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
    async fn pull_requests_for_sha(
        &self,
        project: &ProjectId,
        head_sha: &str,
    ) -> Result<Vec<PullRequestHead>, StoreError> {
        github::pull_requests_for_sha(&self.pool, project, head_sha).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
    async fn counts(&self, project: &ProjectId) -> Result<StoreCounts, StoreError> {
        counts(&self.pool, project).await
    }
}

const SELECT_COUNTS: &str = "
    SELECT
        (SELECT COUNT(*) FROM ingest_batches WHERE project_id = ?1),
        (SELECT COUNT(*) FROM dom_snapshots WHERE project_id = ?1),
        (SELECT COUNT(*) FROM test_results WHERE project_id = ?1),
        (SELECT COUNT(*) FROM failures WHERE project_id = ?1),
        (SELECT COUNT(*) FROM failure_groups WHERE project_id = ?1),
        (SELECT COUNT(*) FROM healing_suggestions WHERE project_id = ?1),
        (SELECT COUNT(*) FROM healing_patterns WHERE project_id = ?1),
        (SELECT COUNT(*) FROM dead_letters WHERE project_id = ?1)";

/// Row counts of one project, in one statement (one consistent read).
async fn counts(pool: &SqlitePool, project: &ProjectId) -> Result<StoreCounts, StoreError> {
    let row: (i64, i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(SELECT_COUNTS)
        .bind(project.as_str())
        .fetch_one(pool)
        .await
        .map_err(database_error("select counts"))?;
    let (
        batches,
        dom_snapshots,
        test_results,
        failures,
        failure_groups,
        suggestions,
        healing_patterns,
        dead_letters,
    ) = row;
    Ok(StoreCounts {
        batches: encoding::decode_count("batches", batches)?,
        dom_snapshots: encoding::decode_count("dom_snapshots", dom_snapshots)?,
        test_results: encoding::decode_count("test_results", test_results)?,
        failures: encoding::decode_count("failures", failures)?,
        failure_groups: encoding::decode_count("failure_groups", failure_groups)?,
        suggestions: encoding::decode_count("healing_suggestions", suggestions)?,
        healing_patterns: encoding::decode_count("healing_patterns", healing_patterns)?,
        dead_letters: encoding::decode_count("dead_letters", dead_letters)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_apply_to_missing_fields() {
        let config: SqliteConfig = serde_json::from_str("{}").expect("empty config");
        assert_eq!(config, SqliteConfig::default());
        assert_eq!(config.max_connections, 8);
        assert_eq!(config.busy_timeout_ms, 5_000);
        let config: SqliteConfig =
            serde_json::from_str(r#"{"busy_timeout_ms": 250}"#).expect("partial config");
        assert_eq!(config.busy_timeout_ms, 250);
        assert_eq!(config.max_connections, 8);
    }

    #[test]
    fn config_rejects_unknown_fields() {
        assert!(serde_json::from_str::<SqliteConfig>(r#"{"max_conections": 4}"#).is_err());
    }
}
