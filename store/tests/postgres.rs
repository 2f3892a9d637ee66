//! What only the Postgres adapter can show, each test on a database of its own: the derived `confidence`
//! column cannot be written, reconnecting keeps the rows, the pool settings are honoured, the URL's
//! password never shows, snapshots are stored compressed, text Postgres cannot hold is refused cleanly,
//! and concurrent writers neither lose updates nor deadlock.
//!
//! Without `ARGUS_TEST_POSTGRES_URL` every test prints `skipping:` and returns, unless
//! `ARGUS_REQUIRE_SERVICES=1`, which makes it fail.

mod support;

use argus_store::{
    Store, StoreError,
    conformance::{failure, fingerprint, ingest_batch, project, snapshot, suggestion, time},
    postgres::{APPLICATION_NAME, PostgresConfig, PostgresStore},
};
use argus_vocabulary::{FeedbackVerdict, SnapshotHash, SuggestionStatus};
use secrecy::SecretString;
use sqlx::PgConnection;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use support::{
    checks,
    postgres::{TestDatabase, server_url, with_database},
};

/// A fresh database, or `None` (after a `skipping:` line) when no server is configured.
async fn fresh_database() -> Option<TestDatabase> {
    Some(TestDatabase::create(&server_url()?).await)
}

/// A bounded wait: each `tick` fails the test once the deadline has passed, and otherwise pauses briefly
/// before the caller checks its condition again.
struct Deadline {
    started: Instant,
    limit: Duration,
}

impl Deadline {
    fn after(limit: Duration) -> Deadline {
        Deadline { started: Instant::now(), limit }
    }

    async fn tick(&self, what: &str) {
        assert!(self.started.elapsed() < self.limit, "timed out after {:?} waiting until {what}", self.limit);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Connections of the adapter waiting for a lock on `database`, as the server sees them.
async fn connections_waiting_for_a_lock(raw: &mut PgConnection, database: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity
          WHERE datname = $1 AND application_name = $2 AND wait_event_type = 'Lock'",
    )
    .bind(database)
    .bind(APPLICATION_NAME)
    .fetch_one(raw)
    .await
    .expect("activity")
}

/// Connections the adapter holds on `database`, as the server sees them.
async fn server_side_connections(raw: &mut PgConnection, database: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2")
        .bind(database)
        .bind(APPLICATION_NAME)
        .fetch_one(raw)
        .await
        .expect("count connections")
}

/// `url` with its user's password set to `password` (`postgres://user@host` or `postgres://user:old@host`).
fn with_password(url: &str, password: &str) -> String {
    let authority_start = url.find("://").map_or(0, |index| index + 3);
    let Some(at) = url[authority_start..].find('@').map(|index| authority_start + index) else {
        panic!("the test server url names no user: {url}");
    };
    let user = url[authority_start..at].split(':').next().unwrap_or_default();
    format!("{}{user}:{password}{}", &url[..authority_start], &url[at..])
}

/// The SQLSTATE of a database error, if it is one.
fn sqlstate(error: &StoreError) -> Option<String> {
    match error {
        StoreError::Database(sqlx::Error::Database(database)) => {
            database.code().map(|code| code.into_owned())
        }
        _ => None,
    }
}

#[tokio::test]
async fn confidence_column_cannot_be_written() {
    let Some(database) = fresh_database().await else { return };
    let store = PostgresStore::connect(&database.config()).await.expect("connect");
    let shop = checks::accept_one_heal(&store).await;

    let mut raw = database.raw_connection().await;
    let update = sqlx::query("UPDATE healing_patterns SET confidence = 0.25").execute(&mut raw).await;
    let error = update.expect_err("writing a generated column must fail");
    assert!(error.to_string().contains("can only be updated to DEFAULT"), "unexpected error: {error}");
    let insert = sqlx::query(
        "INSERT INTO healing_patterns (project_id, fingerprint, original_selector, healed_selector, error_type,
                                       confidence, created_at)
         VALUES ('shop', 'f', '#a', '#b', 'locator-not-found', 0.9, now())",
    )
    .execute(&mut raw)
    .await;
    let error = insert.expect_err("inserting a generated column must fail");
    assert!(
        error.to_string().contains("non-DEFAULT value into column \"confidence\""),
        "unexpected: {error}"
    );

    // Counters still drive it.
    sqlx::query("UPDATE healing_patterns SET failure_count = 3").execute(&mut raw).await.expect("update");
    checks::assert_pattern_counts(&store, &shop, (1, 3, 0.25)).await;

    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'healing_patterns' ORDER BY indexname",
    )
    .fetch_all(&mut raw)
    .await
    .expect("indexes");
    for wanted in ["(fingerprint)", "(project_id)", "(project_id, confidence DESC)"] {
        assert!(indexes.iter().any(|index| index.ends_with(wanted)), "no index on {wanted}: {indexes:?}");
    }
}

#[tokio::test]
async fn reconnecting_keeps_the_rows_and_migrates_nothing() {
    let Some(database) = fresh_database().await else { return };
    let store = PostgresStore::connect(&database.config()).await.expect("connect");
    let rows = checks::write_durable_rows(&store).await;
    store.close().await;

    let reconnected = PostgresStore::connect(&database.config()).await.expect("reconnect");
    checks::assert_durable_rows(&reconnected, &rows).await;

    let mut raw = database.raw_connection().await;
    let (applied, migrations): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut raw)
            .await
            .expect("migrations");
    assert_eq!(applied, migrations, "each migration applied once");
    assert!(applied >= 3, "the initial, dead-letter and github migrations are applied: {applied}");
}

#[tokio::test]
async fn min_and_max_connections_are_honoured() {
    let Some(database) = fresh_database().await else { return };
    let mut raw = database.raw_connection().await;

    let config = PostgresConfig { min_connections: 3, max_connections: 5, ..database.config() };
    let store = PostgresStore::connect(&config).await.expect("connect");
    // Wait until the pool has settled: min_connections open AND idle. `pool_size` also counts connections
    // still being opened, and sqlx 0.8.6's `Pool::close` can miss one that finishes opening while it
    // closes (its last wait returns once the permit comes back, after the connection was queued as idle,
    // and never pops it again): such a connection stays open until the pool is dropped. A process that
    // shuts down drops it, so only this test could see it.
    let deadline = Deadline::after(Duration::from_secs(10));
    while store.idle_connections() < 3 {
        deadline.tick("the pool holds min_connections, idle").await;
    }
    assert!(server_side_connections(&mut raw, &database.name).await >= 3);
    store.close().await;
    let deadline = Deadline::after(Duration::from_secs(10));
    while server_side_connections(&mut raw, &database.name).await != 0 {
        deadline.tick("the closed pool's connections are gone").await;
    }

    let config = PostgresConfig { min_connections: 0, max_connections: 2, ..database.config() };
    let store = Arc::new(PostgresStore::connect(&config).await.expect("connect"));
    let shop = project("shop");
    let writers: Vec<_> = (0..16)
        .map(|n| {
            let (store, event) =
                (Arc::clone(&store), failure(&shop, &format!("f{n}"), &fingerprint("buy"), time(n)));
            tokio::spawn(async move {
                let group = store.record_failure(&event).await;
                (group, store.pool_size())
            })
        })
        .collect();
    for writer in writers {
        let (group, pool_size) = writer.await.expect("writer task");
        group.expect("record failure");
        assert!(pool_size <= 2, "the pool grew to {pool_size} connections");
    }
    assert!(server_side_connections(&mut raw, &database.name).await <= 2);
    assert_eq!(store.counts(&shop).await.expect("counts").failures, 16);
}

#[tokio::test]
async fn statement_timeout_cancels_a_statement_stuck_on_a_lock() {
    let Some(database) = fresh_database().await else { return };
    let config = PostgresConfig { statement_timeout_ms: 300, ..database.config() };
    let store = PostgresStore::connect(&config).await.expect("connect");

    let mut raw = database.raw_connection().await;
    sqlx::query("BEGIN").execute(&mut raw).await.expect("begin");
    sqlx::query("LOCK TABLE projects IN ACCESS EXCLUSIVE MODE").execute(&mut raw).await.expect("lock");

    let started = Instant::now();
    let stuck = store.create_project(&project("shop"), "Shop", "hash", time(0)).await;
    let elapsed = started.elapsed();
    let error = stuck.expect_err("the statement waits for the lock longer than the timeout");
    assert_eq!(sqlstate(&error).as_deref(), Some("57014"), "query_canceled expected: {error:?}");
    assert!(elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(5), "took {elapsed:?}");

    sqlx::query("ROLLBACK").execute(&mut raw).await.expect("rollback");
    store.create_project(&project("shop"), "Shop", "hash", time(0)).await.expect("create once unlocked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_timeout_bounds_the_wait_for_a_connection() {
    let Some(database) = fresh_database().await else { return };
    let config = PostgresConfig {
        max_connections: 1,
        acquire_timeout_ms: 300,
        statement_timeout_ms: 20_000,
        ..database.config()
    };
    let store = Arc::new(PostgresStore::connect(&config).await.expect("connect"));

    let mut raw = database.raw_connection().await;
    sqlx::query("BEGIN").execute(&mut raw).await.expect("begin");
    sqlx::query("LOCK TABLE projects IN ACCESS EXCLUSIVE MODE").execute(&mut raw).await.expect("lock");
    // The only connection waits for the lock.
    let blocked = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.create_project(&project("shop"), "Shop", "hash", time(0)).await })
    };
    let mut observer = database.raw_connection().await;
    let deadline = Deadline::after(Duration::from_secs(10));
    while connections_waiting_for_a_lock(&mut observer, &database.name).await != 1 {
        deadline.tick("the adapter's connection waits for the lock").await;
    }

    let started = Instant::now();
    let starved = store.ping().await;
    let elapsed = started.elapsed();
    assert!(
        matches!(starved, Err(StoreError::Database(sqlx::Error::PoolTimedOut))),
        "no connection is free: {starved:?}"
    );
    assert!(elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(5), "took {elapsed:?}");

    sqlx::query("ROLLBACK").execute(&mut raw).await.expect("rollback");
    blocked.await.expect("blocked task").expect("create once unlocked");
    store.ping().await.expect("ping once the connection is free");
}

#[tokio::test]
async fn the_url_password_never_shows_in_debug_or_errors() {
    let Some(server) = server_url() else { return };
    let password = "pw-7f3a9c-never-shown";

    // Nothing listens on port 9: connecting fails, and says nothing about the URL.
    let unreachable = PostgresConfig {
        acquire_timeout_ms: 500,
        ..PostgresConfig::new(SecretString::from(format!("postgres://argus:{password}@127.0.0.1:9/argus")))
    };
    assert!(!format!("{unreachable:?}").contains(password), "config debug: {unreachable:?}");
    let error = PostgresStore::connect(&unreachable).await.expect_err("nothing listens on port 9");
    assert!(!format!("{error} {error:?}").contains(password), "connect error: {error:?}");

    let unparsable =
        PostgresConfig::new(SecretString::from(format!("postgres://argus:{password}@127.0.0.1:port/argus")));
    let error = PostgresStore::connect(&unparsable).await.expect_err("the port is not a number");
    assert!(matches!(error, StoreError::InvalidInput(_)), "{error:?}");
    assert!(!format!("{error} {error:?}").contains(password), "parse error: {error:?}");

    // The local server trusts loopback connections, so a URL carrying a password connects.
    let database = TestDatabase::create(&server).await;
    let with_password = with_database(&with_password(&server, password), &database.name);
    let config = PostgresConfig {
        statement_timeout_ms: 200,
        ..PostgresConfig::new(SecretString::from(with_password))
    };
    let store = PostgresStore::connect(&config).await.expect("connect with a password");
    assert!(!format!("{store:?}").contains(password), "store debug: {store:?}");
    let mut raw = database.raw_connection().await;
    sqlx::query("BEGIN").execute(&mut raw).await.expect("begin");
    sqlx::query("LOCK TABLE projects IN ACCESS EXCLUSIVE MODE").execute(&mut raw).await.expect("lock");
    let error = store.project_for_api_key_hash("hash").await.expect_err("statement timeout");
    assert!(!format!("{error} {error:?}").contains(password), "statement error: {error:?}");
    sqlx::query("ROLLBACK").execute(&mut raw).await.expect("rollback");
}

#[tokio::test]
async fn snapshots_are_stored_compressed_and_damage_is_reported() {
    let Some(database) = fresh_database().await else { return };
    let store = PostgresStore::connect(&database.config()).await.expect("connect");
    let (shop, html, page) = checks::accept_large_snapshot(&store).await;

    let mut raw = database.raw_connection().await;
    let (stored_bytes, raw_size): (i32, i64) =
        sqlx::query_as("SELECT octet_length(compressed), raw_size FROM dom_snapshots WHERE hash = $1")
            .bind(page.0.as_str())
            .fetch_one(&mut raw)
            .await
            .expect("snapshot row");
    assert_eq!(raw_size, i64::try_from(html.len()).expect("small"));
    assert!(
        i64::from(stored_bytes) * 20 < raw_size,
        "{stored_bytes} stored bytes for {raw_size} bytes of html"
    );

    sqlx::query("UPDATE dom_snapshots SET compressed = '\\x1f8b0800deadbeef'::bytea")
        .execute(&mut raw)
        .await
        .expect("damage the blob");
    checks::assert_damaged_snapshot_is_corrupt(&store, &shop, &page.0).await;
}

#[tokio::test]
async fn text_with_a_nul_character_is_refused_as_invalid_input_and_stores_nothing() {
    let Some(database) = fresh_database().await else { return };
    let store = PostgresStore::connect(&database.config()).await.expect("connect");
    let shop = project("shop");

    let mut poisoned = failure(&shop, "nul", &fingerprint("buy"), time(1));
    poisoned.payload.message = "locator #buy not found\0 after 30s".to_owned();
    let refused = store.record_failure(&poisoned).await;
    assert!(matches!(refused, Err(StoreError::InvalidInput(_))), "nul in text: {refused:?}");

    let mut batch = ingest_batch(&shop, "nul", time(2));
    batch.payload.run.branch = Some("main\0".to_owned());
    let refused = store.accept_batch(&batch, &[snapshot("<p>nul</p>")]).await;
    assert!(matches!(refused, Err(StoreError::InvalidInput(_))), "nul in jsonb: {refused:?}");

    let counts = store.counts(&shop).await.expect("counts");
    assert_eq!((counts.failures, counts.failure_groups, counts.batches, counts.dom_snapshots), (0, 0, 0, 0));
}

#[tokio::test]
async fn timestamps_are_kept_to_the_microsecond_and_echoed_as_stored() {
    let Some(database) = fresh_database().await else { return };
    let store = PostgresStore::connect(&database.config()).await.expect("connect");
    let shop = project("shop");
    let heal = suggestion("buy", &fingerprint("buy"), Some("#buy-now"));
    store.save_suggestion(&shop, &heal, time(1)).await.expect("save");

    let reviewed_at = time(2) + chrono::Duration::nanoseconds(123_456_789);
    let outcome = store
        .record_feedback(&shop, heal.id, FeedbackVerdict::Accepted, reviewed_at)
        .await
        .expect("feedback");
    let stored = store.suggestion(&shop, heal.id).await.expect("get").expect("stored");
    assert_eq!(outcome.suggestion, stored, "the answer equals what a later read returns");
    assert_eq!(stored.reviewed_at, Some(time(2) + chrono::Duration::microseconds(123_456)));
    assert_eq!(outcome.pattern.last_used_at, stored.reviewed_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_of_one_fingerprint_are_all_counted() {
    let Some(database) = fresh_database().await else { return };
    let config = PostgresConfig { max_connections: 8, ..database.config() };
    let store = PostgresStore::connect(&config).await.expect("connect");
    let group = checks::record_failures_concurrently(Arc::new(store)).await;
    assert_eq!(group.commits, ["c0ffee"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_sharing_snapshots_neither_deadlock_nor_duplicate() {
    let Some(database) = fresh_database().await else { return };
    let config = PostgresConfig { max_connections: 8, ..database.config() };
    let store = Arc::new(PostgresStore::connect(&config).await.expect("connect"));
    let shop = project("shop");
    let pages: Vec<(SnapshotHash, String)> = (0..6).map(|n| snapshot(&format!("<p>page {n}</p>"))).collect();

    let writers: Vec<_> = (0..12)
        .map(|n| {
            // Each batch lists the shared snapshots in another order.
            let mut own = pages.clone();
            own.rotate_left(n % pages.len());
            if n % 2 == 1 {
                own.reverse();
            }
            let (store, batch) = (
                Arc::clone(&store),
                ingest_batch(&shop, &format!("b{n}"), time(i64::try_from(n).expect("small"))),
            );
            tokio::spawn(async move { store.accept_batch(&batch, &own).await })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer task").expect("accept batch");
    }
    let counts = store.counts(&shop).await.expect("counts");
    assert_eq!((counts.batches, counts.dom_snapshots), (12, 6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opposite_verdicts_on_one_suggestion_let_exactly_one_win() {
    let Some(database) = fresh_database().await else { return };
    let config = PostgresConfig { max_connections: 8, ..database.config() };
    let store = Arc::new(PostgresStore::connect(&config).await.expect("connect"));
    let shop = project("shop");
    let heal = suggestion("buy", &fingerprint("buy"), Some("#buy-now"));
    store.save_suggestion(&shop, &heal, time(1)).await.expect("save");

    let verdicts: Vec<_> = (0..8)
        .map(|n| {
            let verdict = if n % 2 == 0 { FeedbackVerdict::Accepted } else { FeedbackVerdict::Rejected };
            let (store, shop) = (Arc::clone(&store), shop.clone());
            tokio::spawn(
                async move { (verdict, store.record_feedback(&shop, heal.id, verdict, time(2)).await) },
            )
        })
        .collect();
    let mut winners = Vec::new();
    for verdict in verdicts {
        match verdict.await.expect("verdict task") {
            (verdict, Ok(_)) => winners.push(verdict),
            (_, Err(StoreError::Conflict(_))) => {}
            (_, Err(error)) => panic!("unexpected error: {error:?}"),
        }
    }
    assert!(!winners.is_empty() && winners.iter().all(|verdict| *verdict == winners[0]), "{winners:?}");
    let pattern = store.healing_pattern(&shop, &fingerprint("buy")).await.expect("pattern").expect("exists");
    let stored = store.suggestion(&shop, heal.id).await.expect("get").expect("stored");
    match winners[0] {
        FeedbackVerdict::Accepted => {
            assert_eq!(stored.status, SuggestionStatus::Accepted);
            assert_eq!((pattern.success_count, pattern.failure_count), (1, 0), "counted once");
        }
        FeedbackVerdict::Rejected => {
            assert_eq!(stored.status, SuggestionStatus::Rejected);
            assert_eq!((pattern.success_count, pattern.failure_count), (0, 1), "counted once");
        }
    }
}
