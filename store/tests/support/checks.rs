//! The adapter-neutral halves of the adapter test files: each function drives a store through the port and
//! asserts what every adapter must show, so a test file adds only what its adapter needs (reopening the
//! store, raw SQL against its database).

use argus_store::{
    FailureGroup, FeedbackOutcome, Store, StoreCounts, StoreError,
    conformance::{failure, fingerprint, ingest_batch, project, snapshot, suggestion, time},
};
use argus_vocabulary::{FeedbackVerdict, ProjectId, SnapshotHash, SuggestionId};
use std::sync::Arc;

/// What [`write_durable_rows`] stored, to be read back by [`assert_durable_rows`].
pub struct DurableRows {
    shop: ProjectId,
    page: (SnapshotHash, String),
    suggestion_id: SuggestionId,
    outcome: FeedbackOutcome,
    counts: StoreCounts,
}

/// Writes one row of each kind a restart must keep: a project, a batch with a snapshot, a failure, a
/// suggestion and its accepted verdict.
pub async fn write_durable_rows(store: &dyn Store) -> DurableRows {
    let shop = project("shop");
    let page = snapshot("<main><button data-testid=\"buy\">Buy</button></main>");
    let heal = suggestion("buy", &fingerprint("buy"), Some("[data-testid=buy]"));

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
    DurableRows { shop, page, suggestion_id: heal.id, outcome, counts }
}

/// Asserts that `store` (reopened on the database [`write_durable_rows`] wrote to) reads every row back.
pub async fn assert_durable_rows(store: &dyn Store, rows: &DurableRows) {
    let shop = &rows.shop;
    assert_eq!(store.counts(shop).await.expect("counts"), rows.counts);
    assert_eq!(store.project_for_api_key_hash("key-hash").await.expect("lookup"), Some(shop.clone()));
    assert_eq!(store.dom_snapshot(shop, &rows.page.0).await.expect("snapshot"), Some(rows.page.1.clone()));
    assert_eq!(
        store.healing_pattern(shop, &fingerprint("buy")).await.expect("pattern"),
        Some(rows.outcome.pattern.clone())
    );
    assert_eq!(
        store.suggestion(shop, rows.suggestion_id).await.expect("suggestion"),
        Some(rows.outcome.suggestion.clone())
    );
}

/// Saves a suggestion for fingerprint `buy` and accepts it, so project `shop` has one pattern (1 success).
pub async fn accept_one_heal(store: &dyn Store) -> ProjectId {
    let shop = project("shop");
    let heal = suggestion("buy", &fingerprint("buy"), Some("[data-testid=buy]"));
    store.save_suggestion(&shop, &heal, time(1)).await.expect("save");
    store.record_feedback(&shop, heal.id, FeedbackVerdict::Accepted, time(2)).await.expect("feedback");
    shop
}

/// Asserts the counters and the confidence the database derived for the pattern of fingerprint `buy`.
pub async fn assert_pattern_counts(store: &dyn Store, shop: &ProjectId, expected: (u64, u64, f64)) {
    let pattern = store.healing_pattern(shop, &fingerprint("buy")).await.expect("pattern").expect("exists");
    assert_eq!((pattern.success_count, pattern.failure_count, pattern.confidence), expected);
}

/// A large, repetitive page accepted in a batch of project `shop`: the project, the html and its snapshot.
pub async fn accept_large_snapshot(store: &dyn Store) -> (ProjectId, String, (SnapshotHash, String)) {
    let shop = project("shop");
    let html = "<ul>".to_owned() + &"<li class=\"item\">product</li>".repeat(2_000) + "</ul>";
    let page = snapshot(&html);
    store
        .accept_batch(&ingest_batch(&shop, "batch", time(1)), std::slice::from_ref(&page))
        .await
        .expect("accept");
    (shop, html, page)
}

/// Asserts that reading a snapshot whose stored blob was damaged fails as corrupt.
pub async fn assert_damaged_snapshot_is_corrupt(store: &dyn Store, shop: &ProjectId, hash: &SnapshotHash) {
    let damaged = store.dom_snapshot(shop, hash).await;
    assert!(matches!(damaged, Err(StoreError::Corrupt(_))), "damaged blob: {damaged:?}");
}

/// Records 24 failures of fingerprint `buy` from concurrent tasks, then replays the first: the group
/// counts each once and spans their times. Returns the group for adapter-specific checks.
pub async fn record_failures_concurrently(store: Arc<dyn Store>) -> FailureGroup {
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
    group
}
