//! The store conformance suite against [`SqliteStore`], plus what only the SQLite adapter can show:
//! rows survive reopening the file, the derived `confidence` column cannot be written, snapshots are stored
//! compressed and a damaged blob is reported, and concurrent writers do not lose updates.

mod support;

use argus_store::{
    Store,
    sqlite::{SqliteConfig, SqliteStore},
};
use sqlx::{Connection, SqliteConnection, sqlite::SqliteConnectOptions};
use std::{path::Path, sync::Arc};
use support::checks;
use tempfile::TempDir;

async fn fresh_sqlite_store() -> (TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open_in_dir(dir.path()).await.expect("open sqlite store");
    (dir, Arc::new(store))
}

argus_store::store_conformance_tests!(fresh_sqlite_store());

/// A raw connection to the database file, bypassing the adapter.
async fn raw_connection(path: &Path) -> SqliteConnection {
    SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path)).await.expect("raw connection")
}

#[tokio::test]
async fn reopened_database_keeps_its_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested").join("data").join("argus.sqlite");
    let store =
        SqliteStore::open(&path, &SqliteConfig::default()).await.expect("open creates the directories");
    let rows = checks::write_durable_rows(&store).await;
    store.close().await;

    let reopened = SqliteStore::open(&path, &SqliteConfig::default()).await.expect("reopen migrates nothing");
    checks::assert_durable_rows(&reopened, &rows).await;
}

#[tokio::test]
async fn confidence_column_cannot_be_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open_in_dir(dir.path()).await.expect("open");
    let shop = checks::accept_one_heal(&store).await;

    let mut raw = raw_connection(&dir.path().join("argus.sqlite")).await;
    let update = sqlx::query("UPDATE healing_patterns SET confidence = 0.25").execute(&mut raw).await;
    let error = update.expect_err("writing a generated column must fail");
    assert!(error.to_string().contains("generated column"), "unexpected error: {error}");
    let insert = sqlx::query(
        "INSERT INTO healing_patterns (project_id, fingerprint, original_selector, healed_selector, error_type,
                                       confidence, created_at)
         VALUES ('shop', 'f', '#a', '#b', 'locator-not-found', 0.9, 'now')",
    )
    .execute(&mut raw)
    .await;
    assert!(insert.is_err(), "inserting a generated column must fail");

    // Counters still drive it.
    sqlx::query("UPDATE healing_patterns SET failure_count = 3").execute(&mut raw).await.expect("update");
    checks::assert_pattern_counts(&store, &shop, (1, 3, 0.25)).await;
}

#[tokio::test]
async fn snapshots_are_stored_compressed_and_damage_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open_in_dir(dir.path()).await.expect("open");
    let (shop, html, page) = checks::accept_large_snapshot(&store).await;

    let mut raw = raw_connection(&dir.path().join("argus.sqlite")).await;
    let (stored_bytes, raw_size): (i64, i64) =
        sqlx::query_as("SELECT length(compressed), raw_size FROM dom_snapshots WHERE hash = ?1")
            .bind(page.0.as_str())
            .fetch_one(&mut raw)
            .await
            .expect("snapshot row");
    assert_eq!(raw_size, i64::try_from(html.len()).expect("small"));
    assert!(stored_bytes * 20 < raw_size, "{stored_bytes} stored bytes for {raw_size} bytes of html");

    sqlx::query("UPDATE dom_snapshots SET compressed = x'1f8b0800deadbeef'")
        .execute(&mut raw)
        .await
        .expect("damage the blob");
    checks::assert_damaged_snapshot_is_corrupt(&store, &shop, &page.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_of_one_fingerprint_are_all_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open_in_dir(dir.path()).await.expect("open");
    checks::record_failures_concurrently(Arc::new(store)).await;
}
