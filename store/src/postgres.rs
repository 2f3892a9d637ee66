//! The distributed store adapter: sqlx over a Postgres connection pool.
//!
//! - this module: [`PostgresConfig`], [`PostgresStore`] (connecting, migrating, closing), its transactions
//!   and error mapping, and its [`Store`](crate::Store) impl (written by `crate::sql::delegate_store!`),
//!   which answers `ping` and `counts` here and otherwise delegates to:
//! - `intake`: projects, ingest batches and DOM snapshots;
//! - `correlation`: test results, failures and failure groups;
//! - `healing`: suggestions, reviewer feedback and the healing-pattern knowledge base;
//! - `dead_letters`: messages the pipeline gave up on;
//! - `github`: webhook secrets, delivery dedupe, CI runs, check conclusions and pull-request heads;
//! - `encoding`: timestamps and aggregated lists as Postgres keeps them.
//!
//! Each of those modules keeps the SQL text and runs it; what does not depend on the database (binding the
//! columns, converting rows, deciding on what was read) is in the matching module of `crate::sql`.
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

use crate::{StoreCounts, StoreError, sql};
use argus_vocabulary::ProjectId;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::{
    FromRow, PgPool, Postgres, Transaction,
    migrate::Migrator,
    postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgRow},
    query::{QueryAs, QueryScalar},
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

/// The distributed [`Store`](crate::Store): a connection pool over one Postgres database. Cheap to clone
/// (clones share the pool).
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

/// Reads a page of a listing and its total in one read-only `REPEATABLE READ` transaction, so both come
/// from the same snapshot. `select` and `count` name the two statements in errors and logs.
async fn read_page<'q, Row>(
    pool: &PgPool,
    page: QueryAs<'q, Postgres, Row, PgArguments>,
    total: QueryScalar<'q, Postgres, i64, PgArguments>,
    (select, count): (&'static str, &'static str),
) -> Result<(Vec<Row>, i64), StoreError>
where
    Row: Send + Unpin + for<'r> FromRow<'r, PgRow>,
{
    let mut read = begin_read(pool).await?;
    let rows = page.fetch_all(&mut *read).await.map_err(database_error(select))?;
    let total = total.fetch_one(&mut *read).await.map_err(database_error(count))?;
    read.commit().await.map_err(database_error("end read transaction"))?;
    Ok((rows, total))
}

sql::delegate_store!(PostgresStore);

/// Whether the database answers one trivial statement.
async fn ping(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await.map_err(database_error("ping"))?;
    Ok(())
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
    let row: sql::CountsRow = sqlx::query_as(SELECT_COUNTS)
        .bind(project.as_str())
        .fetch_one(pool)
        .await
        .map_err(database_error("select counts"))?;
    sql::store_counts(row)
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
