//! The store conformance suite against [`SqliteStore`], plus what only the SQLite adapter can show:
//! rows survive reopening the file, the derived `confidence` column cannot be written, snapshots are stored
//! compressed and a damaged blob is reported, and concurrent writers do not lose updates.

use argus_store::{
    Store, StoreError,
    conformance::{failure, fingerprint, ingest_batch, project, snapshot, suggestion, time},
    sqlite::{SqliteConfig, SqliteStore},
};
use argus_vocabulary::FeedbackVerdict;
use sqlx::{Connection, SqliteConnection, sqlite::SqliteConnectOptions};
use std::{path::Path, sync::Arc};
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
    let shop = project("shop");
    let page = snapshot("<main><button data-testid=\"buy\">Buy</button></main>");
    let heal = suggestion("buy", &fingerprint("buy"), Some("[data-testid=buy]"));

    let store =
        SqliteStore::open(&path, &SqliteConfig::default()).await.expect("open creates the directories");
    store.create_project(&shop, "Shop", "key-hash", time(0)).await.expect("create project");
    store
        .accept_batch(&ingest_batch(&shop, "batch", time(1)), std::slice::from_ref(&page))
        .await
        .expect("accept");
    store.record_failure(&failure(&shop, "failure", &fingerprint("buy"), time(2))).await.expect("failure");
    store.save_suggestion(&shop, &heal, time(3)).await.expect("save");
    let outcome =
        store.record_feedback(&shop, heal.id, FeedbackVerdict::Accepted, time(4)).await.expect("feedback");
    let counts = store.counts(&shop).await.expect("counts");
    store.close().await;

    let reopened = SqliteStore::open(&path, &SqliteConfig::default()).await.expect("reopen migrates nothing");
    assert_eq!(reopened.counts(&shop).await.expect("counts"), counts);
    assert_eq!(reopened.project_for_api_key_hash("key-hash").await.expect("lookup"), Some(shop.clone()));
    assert_eq!(reopened.dom_snapshot(&shop, &page.0).await.expect("snapshot"), Some(page.1));
    assert_eq!(
        reopened.healing_pattern(&shop, &fingerprint("buy")).await.expect("pattern"),
        Some(outcome.pattern)
    );
    assert_eq!(reopened.suggestion(&shop, heal.id).await.expect("suggestion"), Some(outcome.suggestion));
}

#[tokio::test]
async fn confidence_column_cannot_be_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open_in_dir(dir.path()).await.expect("open");
    let shop = project("shop");
    let heal = suggestion("buy", &fingerprint("buy"), Some("[data-testid=buy]"));
    store.save_suggestion(&shop, &heal, time(1)).await.expect("save");
    store.record_feedback(&shop, heal.id, FeedbackVerdict::Accepted, time(2)).await.expect("feedback");

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
    let pattern = store.healing_pattern(&shop, &fingerprint("buy")).await.expect("pattern").expect("exists");
    assert_eq!((pattern.success_count, pattern.failure_count, pattern.confidence), (1, 3, 0.25));
}

#[tokio::test]
async fn snapshots_are_stored_compressed_and_damage_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open_in_dir(dir.path()).await.expect("open");
    let shop = project("shop");
    let html = "<ul>".to_owned() + &"<li class=\"item\">product</li>".repeat(2_000) + "</ul>";
    let page = snapshot(&html);
    store
        .accept_batch(&ingest_batch(&shop, "batch", time(1)), std::slice::from_ref(&page))
        .await
        .expect("accept");

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
    let damaged = store.dom_snapshot(&shop, &page.0).await;
    assert!(matches!(damaged, Err(StoreError::Corrupt(_))), "damaged blob: {damaged:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_of_one_fingerprint_are_all_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open_in_dir(dir.path()).await.expect("open"));
    let shop = project("shop");
    let buy = fingerprint("buy");

    let writers: Vec<_> = (0..24)
        .map(|n| {
            let (store, event) = (Arc::clone(&store), failure(&shop, &format!("f{n}"), &buy, time(n)));
            tokio::spawn(async move { store.record_failure(&event).await.map(|group| group.occurrences) })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer task").expect("record failure");
    }

    let group = store.record_failure(&failure(&shop, "f0", &buy, time(0))).await.expect("replay");
    assert_eq!(group.occurrences, 24);
    assert_eq!((group.first_seen, group.last_seen), (time(0), time(23)));
}
