//! The embedded store adapter: sqlx over one SQLite file in WAL mode.
//!
//! - this module: [`SqliteConfig`], [`SqliteStore`] (opening, migrating, closing), its transactions and
//!   error mapping, and its [`Store`](crate::Store) impl (written by `crate::sql::delegate_store!`), which
//!   answers `ping` and `counts` here and otherwise delegates to:
//! - `intake`: projects, ingest batches and DOM snapshots;
//! - `correlation`: test results, failures and failure groups;
//! - `healing`: suggestions, reviewer feedback and the healing-pattern knowledge base;
//! - `dead_letters`: messages the pipeline gave up on;
//! - `github`: webhook secrets, delivery dedupe, CI runs, check conclusions and pull-request heads;
//! - `encoding`: timestamps and aggregated lists as SQLite keeps them.
//!
//! Each of those modules keeps the SQL text and runs it; what does not depend on the database (binding the
//! columns, converting rows, deciding on what was read) is in the matching module of `crate::sql`.
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

use crate::{StoreCounts, StoreError, sql};
use argus_vocabulary::ProjectId;
use serde::{Deserialize, Serialize};
use sqlx::{
    FromRow, Sqlite, SqlitePool, Transaction,
    migrate::Migrator,
    query::{QueryAs, QueryScalar},
    sqlite::{
        SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
        SqliteSynchronous,
    },
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

/// The embedded [`Store`](crate::Store): a connection pool over one SQLite file. Cheap to clone (clones share
/// the pool).
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

/// Reads a page of a listing and its total in one read transaction, so both come from the same snapshot.
/// `select` and `count` name the two statements in errors and logs.
async fn read_page<'q, Row>(
    pool: &SqlitePool,
    page: QueryAs<'q, Sqlite, Row, SqliteArguments<'q>>,
    total: QueryScalar<'q, Sqlite, i64, SqliteArguments<'q>>,
    (select, count): (&'static str, &'static str),
) -> Result<(Vec<Row>, i64), StoreError>
where
    Row: Send + Unpin + for<'r> FromRow<'r, SqliteRow>,
{
    let mut read = pool.begin().await.map_err(database_error("begin read transaction"))?;
    let rows = page.fetch_all(&mut *read).await.map_err(database_error(select))?;
    let total = total.fetch_one(&mut *read).await.map_err(database_error(count))?;
    read.commit().await.map_err(database_error("end read transaction"))?;
    Ok((rows, total))
}

sql::delegate_store!(SqliteStore);

/// Whether the database answers one trivial statement.
async fn ping(pool: &SqlitePool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await.map_err(database_error("ping"))?;
    Ok(())
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
