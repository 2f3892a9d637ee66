//! The distributed store adapter: sqlx over a Postgres connection pool.
//!
//! - this module: [`PostgresConfig`], [`PostgresStore`] (connecting, migrating, closing) and its [`Store`]
//!   impl, which answers `ping` and `counts` itself and otherwise instruments and delegates to:
//! - `intake`: projects, ingest batches and DOM snapshots;
//! - `correlation`: test results, failures and failure groups;
//! - `healing`: suggestions, reviewer feedback and the healing-pattern knowledge base;
//! - `dead_letters`: messages the pipeline gave up on;
//! - `github`: webhook secrets, delivery dedupe, CI runs, check conclusions and pull-request heads;
//! - `encoding`: counters, JSON, enums, ids and timestamps as Postgres values.
//!
//! The schema lives in the top-level `migrations/postgres/` (numbered in step with `migrations/sqlite/`) and
//! is applied by [`PostgresStore::connect`]; sqlx takes an advisory lock while migrating, so several
//! processes may start at once. SQL is plain runtime `sqlx::query` text with explicit `$n` binds, kept as
//! named constants beside the code that runs it.
//!
//! Concurrency, where SQLite simply serialises writers: every write is a single upsert or runs in a
//! `READ COMMITTED` transaction whose upserts lock rows in one fixed order (a failure, then its group, then
//! the group's commit; snapshots sorted by hash), so concurrent writers neither lose updates nor deadlock;
//! `record_feedback` locks the suggestion row (`FOR UPDATE`) before deciding. Listings read the page and
//! its total in one `REPEATABLE READ` read-only transaction, so both come from the same snapshot. The
//! reasons, case by case, are in `store/src/postgres/design.md`.
//!
//! The database URL may carry a password: it is a [`SecretString`], never logged, never part of an error
//! or of `Debug` output.

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
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::{
    PgPool, Postgres, Transaction,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use std::{str::FromStr, time::Duration};

/// The schema, embedded at build time (`store/build.rs` rebuilds when a migration changes).
static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// The `application_name` every connection reports, so operators can find Argus in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "argus";

/// Settings of the Postgres adapter.
///
/// `Debug` shows the URL as `[REDACTED]`: it may carry a password.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// The database to use, `postgres://user:password@host:port/database` (libpq URL parameters such as
    /// `sslmode` are understood). Secret: it may carry a password.
    #[serde(default = "PostgresConfig::default_url")]
    pub url: SecretString,
    /// Most connections the pool opens. Each worker process has its own pool, so the server must allow
    /// the sum over all processes.
    #[serde(default = "PostgresConfig::default_max_connections")]
    pub max_connections: u32,
    /// Connections the pool keeps open even when idle (at most `max_connections`).
    #[serde(default = "PostgresConfig::default_min_connections")]
    pub min_connections: u32,
    /// How long an operation waits for a free connection (or for a new one to be opened) before failing,
    /// in milliseconds.
    #[serde(default = "PostgresConfig::default_acquire_timeout_ms")]
    pub acquire_timeout_ms: u64,
    /// Postgres `statement_timeout` of every connection, in milliseconds: a statement running (or waiting
    /// for a lock) longer is cancelled and fails. 0 disables the limit.
    #[serde(default = "PostgresConfig::default_statement_timeout_ms")]
    pub statement_timeout_ms: u64,
}

impl PostgresConfig {
    /// The default for [`PostgresConfig::url`]: a local server, user and database `argus`, no password.
    pub const DEFAULT_URL: &'static str = "postgres://argus@127.0.0.1:5432/argus";

    /// Settings for `url` with every other field at its default.
    pub fn new(url: SecretString) -> Self {
        Self {
            url,
            max_connections: Self::default_max_connections(),
            min_connections: Self::default_min_connections(),
            acquire_timeout_ms: Self::default_acquire_timeout_ms(),
            statement_timeout_ms: Self::default_statement_timeout_ms(),
        }
    }

    /// The default for [`PostgresConfig::url`]: [`PostgresConfig::DEFAULT_URL`].
    pub fn default_url() -> SecretString {
        SecretString::from(Self::DEFAULT_URL)
    }

    /// The default for [`PostgresConfig::max_connections`]: 16.
    pub const fn default_max_connections() -> u32 {
        16
    }

    /// The default for [`PostgresConfig::min_connections`]: 1.
    pub const fn default_min_connections() -> u32 {
        1
    }

    /// The default for [`PostgresConfig::acquire_timeout_ms`]: 5000 (five seconds).
    pub const fn default_acquire_timeout_ms() -> u64 {
        5_000
    }

    /// The default for [`PostgresConfig::statement_timeout_ms`]: 30000 (thirty seconds).
    pub const fn default_statement_timeout_ms() -> u64 {
        30_000
    }

    /// The connect options the URL describes, with Argus' session settings. A URL that does not parse is
    /// [`StoreError::InvalidInput`] with a message that never quotes the URL (it may carry a password).
    fn connect_options(&self) -> Result<PgConnectOptions, StoreError> {
        let options = PgConnectOptions::from_str(self.url.expose_secret()).map_err(|_| {
            StoreError::InvalidInput(
                "the postgres url does not parse: expected postgres://user:password@host:port/database"
                    .to_owned(),
            )
        })?;
        let statement_timeout = self.statement_timeout_ms.to_string();
        Ok(options
            .application_name(APPLICATION_NAME)
            .options([("statement_timeout", statement_timeout.as_str())]))
    }
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self::new(Self::default_url())
    }
}

/// The distributed [`Store`]: a connection pool over one Postgres database. Cheap to clone (clones share
/// the pool).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Opens a pool on the database `config.url` names and applies pending migrations. Fails when the
    /// server cannot be reached within `acquire_timeout_ms`.
    #[tracing::instrument(skip_all)]
    pub async fn connect(config: &PostgresConfig) -> Result<PostgresStore, StoreError> {
        let options = config.connect_options()?;
        let (host, port) = (options.get_host().to_owned(), options.get_port());
        let database = options.get_database().unwrap_or(options.get_username()).to_owned();
        let max_connections = config.max_connections.max(1);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(config.min_connections.min(max_connections))
            .acquire_timeout(Duration::from_millis(config.acquire_timeout_ms))
            .connect_with(options)
            .await
            .map_err(database_error("connect"))?;
        MIGRATOR.run(&pool).await.inspect_err(|error| {
            tracing::error!(error = %error, "postgres migrations failed");
        })?;
        tracing::info!(
            host = %host,
            port,
            database = %database,
            max_connections,
            min_connections = config.min_connections,
            statement_timeout_ms = config.statement_timeout_ms,
            "postgres store connected"
        );
        Ok(PostgresStore { pool })
    }

    /// Connections the pool holds right now (in use or idle).
    pub fn pool_size(&self) -> u32 {
        self.pool.size()
    }

    /// Idle connections in the pool right now.
    pub fn idle_connections(&self) -> usize {
        self.pool.num_idle()
    }

    /// Closes every connection, waiting for those in use to be returned (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Starts a read-only transaction that sees one snapshot for all its statements (a page and its total).
async fn begin_read(pool: &PgPool) -> Result<Transaction<'static, Postgres>, StoreError> {
    pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(database_error("begin read transaction"))
}

/// Starts a write transaction (`READ COMMITTED`; upserts and row locks keep concurrent writers correct).
async fn begin_write(pool: &PgPool) -> Result<Transaction<'static, Postgres>, StoreError> {
    pool.begin().await.map_err(database_error("begin write transaction"))
}

/// SQLSTATE 22021 `character_not_in_repertoire`: a text value holds a NUL character.
const SQLSTATE_CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";
/// SQLSTATE 22P05 `untranslatable_character`: a JSONB value holds `\u0000`.
const SQLSTATE_UNTRANSLATABLE_CHARACTER: &str = "22P05";

/// Logs a failed statement with what it was doing, and wraps the error. Text Postgres cannot hold (a NUL
/// character, which SQLite stores but Postgres `text` and `jsonb` refuse) is the caller's input, so it is
/// [`StoreError::InvalidInput`].
fn database_error(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| {
        let code = match &error {
            sqlx::Error::Database(database) => database.code().map(|code| code.into_owned()),
            _ => None,
        };
        if matches!(
            code.as_deref(),
            Some(SQLSTATE_CHARACTER_NOT_IN_REPERTOIRE | SQLSTATE_UNTRANSLATABLE_CHARACTER)
        ) {
            tracing::warn!(operation, error = %error, "postgres refused a text value");
            return StoreError::InvalidInput(format!(
                "{operation}: the text holds a character postgres cannot store (nul)"
            ));
        }
        tracing::error!(operation, error = %error, sqlstate = code.as_deref(), "postgres statement failed");
        StoreError::Database(error)
    }
}

/// Whether an error is a violated `UNIQUE` or primary-key constraint.
fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.is_unique_violation())
}

#[async_trait]
impl Store for PostgresStore {
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

    #[tracing::instrument(
        level = "debug",
        skip(self, run),
        fields(project = %project, kind = run.kind.as_str(), id = run.id)
    )]
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
        (SELECT COUNT(*) FROM ingest_batches WHERE project_id = $1),
        (SELECT COUNT(*) FROM dom_snapshots WHERE project_id = $1),
        (SELECT COUNT(*) FROM test_results WHERE project_id = $1),
        (SELECT COUNT(*) FROM failures WHERE project_id = $1),
        (SELECT COUNT(*) FROM failure_groups WHERE project_id = $1),
        (SELECT COUNT(*) FROM healing_suggestions WHERE project_id = $1),
        (SELECT COUNT(*) FROM healing_patterns WHERE project_id = $1),
        (SELECT COUNT(*) FROM dead_letters WHERE project_id = $1)";

/// Row counts of one project, in one statement (one consistent snapshot).
async fn counts(pool: &PgPool, project: &ProjectId) -> Result<StoreCounts, StoreError> {
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
        let config: PostgresConfig = serde_json::from_str("{}").expect("empty config");
        assert_eq!(config.url.expose_secret(), PostgresConfig::DEFAULT_URL);
        assert_eq!(config.max_connections, 16);
        assert_eq!(config.min_connections, 1);
        assert_eq!(config.acquire_timeout_ms, 5_000);
        assert_eq!(config.statement_timeout_ms, 30_000);
        let config: PostgresConfig =
            serde_json::from_str(r#"{"url": "postgres://a:b@db/argus", "max_connections": 4}"#)
                .expect("partial config");
        assert_eq!(config.url.expose_secret(), "postgres://a:b@db/argus");
        assert_eq!((config.max_connections, config.min_connections), (4, 1));
    }

    #[test]
    fn config_rejects_unknown_fields() {
        assert!(serde_json::from_str::<PostgresConfig>(r#"{"max_conections": 4}"#).is_err());
    }

    #[test]
    fn config_debug_hides_the_url() {
        let config = PostgresConfig::new(SecretString::from("postgres://argus:hunter2@db:5432/argus"));
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "password in debug output: {debug}");
        assert!(!debug.contains("db:5432"), "url in debug output: {debug}");
    }

    #[test]
    fn connect_options_carry_session_settings_and_refuse_bad_urls_quietly() {
        let mut config = PostgresConfig::new(SecretString::from("postgres://argus:hunter2@db:6543/events"));
        config.statement_timeout_ms = 1_234;
        let options = config.connect_options().expect("valid url");
        assert_eq!(
            (options.get_host(), options.get_port(), options.get_database()),
            ("db", 6543, Some("events"))
        );
        assert_eq!(options.get_application_name(), Some(APPLICATION_NAME));
        assert_eq!(options.get_options(), Some("-c statement_timeout=1234"));

        let bad = PostgresConfig::new(SecretString::from("postgres://argus:hunter2@db:notaport/x"));
        let error = bad.connect_options().expect_err("a bad port does not parse");
        assert!(matches!(error, StoreError::InvalidInput(_)), "{error:?}");
        assert!(!format!("{error} {error:?}").contains("hunter2"), "password in error: {error:?}");
    }
}
