//! The store conformance suite: the behaviour every [`Store`] adapter must show, written once and run
//! unchanged against each adapter (as Quickwit's `metastore_test_suite!` runs against its file and Postgres
//! metastores).
//!
//! - The checks are plain `pub async fn check(store: &dyn Store)`. Each expects a fresh, empty store and
//!   panics with a message when the adapter misbehaves.
//! - [`store_conformance_tests!`](crate::store_conformance_tests) expands into one `#[tokio::test]` per
//!   check, in the calling module. Its argument is an expression evaluated once per test that yields a
//!   future of a [`StoreFixture`]: the fresh store plus whatever must outlive it (a temporary directory, a
//!   database container). The calling crate needs `tokio` (features `macros` and `rt`) as a dev-dependency.
//! - The value builders at the end ([`project`], [`time`], [`failure`], [`suggestion`], …) give every
//!   vocabulary value fixed, readable defaults; a check changes only the fields it is about.
//!
//! ```text
//! async fn fresh_sqlite_store() -> (tempfile::TempDir, Arc<dyn Store>) {
//!     let dir = tempfile::tempdir().expect("temp dir");
//!     let store = SqliteStore::open_in_dir(dir.path()).await.expect("open");
//!     (dir, Arc::new(store))
//! }
//!
//! argus_store::store_conformance_tests!(fresh_sqlite_store());
//! ```
//!
//! Times used by the checks have millisecond precision, so adapters backed by microsecond clocks (Postgres
//! `timestamptz`) round-trip them exactly.

use crate::{
    CheckConclusion, CiRun, CiRunKind, FailureQuery, GithubDeliveryState, PageRequest, PullRequestHead,
    Store, StoreCounts, StoreError, SuggestionQuery,
};
use argus_vocabulary::{
    DeadLetter, ErrorKind, EventId, Failure, FeedbackVerdict, Fingerprint, GithubEvent, GithubEventKind,
    GithubPing, HealDecision, HealSource, HealingSuggestion, IngestBatch, IngestItem, ProjectId, RunContext,
    SnapshotHash, SuggestedLocator, SuggestionId, SuggestionStatus, TestIdentity, TestResult, TestStatus,
    envelope::Envelope,
};
use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use uuid::Uuid;

/// A fresh store for one check, together with whatever has to live as long as it.
pub trait StoreFixture: Send {
    /// The store under test.
    fn store(&self) -> &dyn Store;
}

impl StoreFixture for Arc<dyn Store> {
    fn store(&self) -> &dyn Store {
        self.as_ref()
    }
}

/// A store and a guard that keeps its backing resource alive (e.g. a `tempfile::TempDir`).
impl<Guard: Send> StoreFixture for (Guard, Arc<dyn Store>) {
    fn store(&self) -> &dyn Store {
        self.1.as_ref()
    }
}

/// Expands into one `#[tokio::test]` per conformance check, each running against a fresh store.
///
/// `$factory` is evaluated once per test and must be a future whose output implements
/// [`StoreFixture`](crate::conformance::StoreFixture), e.g. `fresh_store()` for an
/// `async fn fresh_store() -> (TempDir, Arc<dyn Store>)`. The caller needs `tokio` as a dev-dependency.
#[macro_export]
macro_rules! store_conformance_tests {
    (@checks $factory:expr; $($check:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $check() {
                let fixture = $factory.await;
                $crate::conformance::$check($crate::conformance::StoreFixture::store(&fixture)).await;
            }
        )+
    };
    ($factory:expr $(,)?) => {
        $crate::store_conformance_tests!(@checks $factory;
            fresh_store_answers_ping_and_counts_nothing,
            project_is_created_once_and_found_by_key_hash,
            accepted_batch_is_stored_once_with_its_snapshots,
            batch_with_mismatched_snapshot_hash_stores_nothing,
            unnormalized_batches_are_replayed_oldest_first_until_marked,
            large_dom_snapshot_round_trips_within_its_project,
            test_result_is_recorded_once_per_event_id,
            failures_fold_into_groups_by_fingerprint,
            replayed_failure_event_changes_nothing,
            failure_groups_are_filtered_paged_and_scoped_by_project,
            suggestion_is_saved_once,
            suggestions_are_filtered_and_newest_first,
            accepted_feedback_creates_a_confident_pattern,
            feedback_on_abstention_or_unknown_suggestion_is_refused,
            rejected_feedback_with_the_same_selector_halves_confidence,
            rejected_feedback_for_another_selector_leaves_the_pattern_alone,
            rejected_feedback_on_a_new_fingerprint_creates_a_zero_confidence_pattern,
            accepting_another_selector_restarts_the_pattern_counts,
            healing_patterns_are_ranked_by_confidence_and_touched,
            counts_are_scoped_by_project,
            confident_patterns_are_filtered_ranked_and_scoped,
            dead_letters_are_recorded_once_and_listed_newest_first,
            github_webhook_is_bound_to_one_project_and_found_by_repository,
            github_deliveries_are_stored_pending_until_processed,
            ci_runs_keep_the_latest_attempt_and_its_completed_state,
            check_conclusions_keep_the_newest_per_check_and_commit,
            pull_request_heads_link_commits_to_pull_requests,
        );
    };
}

// ---- checks ----

/// A fresh store answers `ping` and holds nothing.
pub async fn fresh_store_answers_ping_and_counts_nothing(store: &dyn Store) {
    store.ping().await.expect("ping");
    assert_eq!(store.counts(&project("shop")).await.expect("counts"), StoreCounts::default());
    assert_eq!(store.unnormalized_batches(10).await.expect("batches"), Vec::new());
}

/// A project is created once (a second create is a conflict), is found by its key hash, and a key hash
/// cannot belong to two projects.
pub async fn project_is_created_once_and_found_by_key_hash(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    let (shop_key, docs_key) = (key_hash("shop-key"), key_hash("docs-key"));
    store.create_project(&shop, "Shop", &shop_key, time(0)).await.expect("create shop");

    let again = store.create_project(&shop, "Shop again", &docs_key, time(1)).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "duplicate project: {again:?}");
    let stolen_key = store.create_project(&docs, "Docs", &shop_key, time(1)).await;
    assert!(matches!(stolen_key, Err(StoreError::Conflict(_))), "reused key hash: {stolen_key:?}");

    assert_eq!(store.project_for_api_key_hash(&shop_key).await.expect("lookup"), Some(shop.clone()));
    assert_eq!(store.project_for_api_key_hash(&docs_key).await.expect("lookup"), None);

    store.create_project(&docs, "Docs", &docs_key, time(2)).await.expect("create docs");
    assert_eq!(store.project_for_api_key_hash(&docs_key).await.expect("lookup"), Some(docs));
    assert_eq!(store.project_for_api_key_hash(&shop_key).await.expect("lookup"), Some(shop));
}

/// An accepted batch is stored with its snapshots; accepting it again changes nothing; a snapshot shared
/// by two batches of a project is stored once.
pub async fn accepted_batch_is_stored_once_with_its_snapshots(store: &dyn Store) {
    let shop = project("shop");
    let (cart, checkout) = (snapshot("<main>cart</main>"), snapshot("<main>checkout</main>"));
    let first = ingest_batch(&shop, "first", time(10));
    store.accept_batch(&first, &[cart.clone(), checkout.clone()]).await.expect("accept");
    let counts = store.counts(&shop).await.expect("counts");
    assert_eq!((counts.batches, counts.dom_snapshots), (1, 2));

    store.accept_batch(&first, &[cart.clone(), checkout]).await.expect("accept again");
    let counts = store.counts(&shop).await.expect("counts");
    assert_eq!((counts.batches, counts.dom_snapshots), (1, 2), "replayed batch must be a no-op");
    assert_eq!(store.unnormalized_batches(10).await.expect("batches"), vec![first]);

    let second = ingest_batch(&shop, "second", time(20));
    store.accept_batch(&second, std::slice::from_ref(&cart)).await.expect("accept second");
    let counts = store.counts(&shop).await.expect("counts");
    assert_eq!((counts.batches, counts.dom_snapshots), (2, 2), "shared snapshot is stored once");
    assert_eq!(store.dom_snapshot(&shop, &cart.0).await.expect("snapshot"), Some(cart.1));
}

/// A batch with one snapshot whose hash does not match its html is refused as a whole: no batch row, no
/// snapshot. The batch id stays usable.
pub async fn batch_with_mismatched_snapshot_hash_stores_nothing(store: &dyn Store) {
    let shop = project("shop");
    let good = snapshot("<p>good</p>");
    let tampered = (SnapshotHash::of(b"<p>original</p>"), "<p>tampered</p>".to_owned());
    let batch = ingest_batch(&shop, "mixed", time(10));

    let refused = store.accept_batch(&batch, &[good.clone(), tampered]).await;
    assert!(matches!(refused, Err(StoreError::InvalidInput(_))), "mismatched hash: {refused:?}");
    assert_eq!(store.counts(&shop).await.expect("counts"), StoreCounts::default());
    assert_eq!(store.dom_snapshot(&shop, &good.0).await.expect("snapshot"), None);
    assert_eq!(store.unnormalized_batches(10).await.expect("batches"), Vec::new());

    store.accept_batch(&batch, std::slice::from_ref(&good)).await.expect("accept corrected batch");
    assert_eq!(store.dom_snapshot(&shop, &good.0).await.expect("snapshot"), Some(good.1));
}

/// Unnormalised batches come back oldest first (by the envelope's `occurred_at`, across projects) and
/// leave the list once marked; marking is idempotent and scoped by project.
pub async fn unnormalized_batches_are_replayed_oldest_first_until_marked(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    let late = ingest_batch(&shop, "late", time(30));
    let early = ingest_batch(&shop, "early", time(10));
    let middle = ingest_batch(&docs, "middle", time(20));
    for batch in [&late, &early, &middle] {
        store.accept_batch(batch, &[]).await.expect("accept");
    }

    let ids =
        |batches: Vec<Envelope<IngestBatch>>| batches.into_iter().map(|b| b.event_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.unnormalized_batches(10).await.expect("batches")),
        [early.event_id, middle.event_id, late.event_id]
    );
    assert_eq!(ids(store.unnormalized_batches(2).await.expect("batches")), [early.event_id, middle.event_id]);

    store.mark_batch_normalized(&shop, early.event_id).await.expect("mark");
    store.mark_batch_normalized(&shop, early.event_id).await.expect("mark again");
    store.mark_batch_normalized(&docs, late.event_id).await.expect("mark in the wrong project");
    assert_eq!(
        ids(store.unnormalized_batches(10).await.expect("batches")),
        [middle.event_id, late.event_id],
        "only the marked batch of its own project leaves the list"
    );
    assert_eq!(store.counts(&shop).await.expect("counts").batches, 2, "marking keeps the batch");
}

/// A 2 MB snapshot comes back byte for byte, and only to the project that stored it.
pub async fn large_dom_snapshot_round_trips_within_its_project(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    let html: String = std::iter::once("<html><body>\n".to_owned())
        .chain(
            (0..48_000)
                .map(|row| format!("<div id=\"row-{row}\" class=\"row r{}\">item {row}</div>\n", row % 7)),
        )
        .chain(std::iter::once("</body></html>\n".to_owned()))
        .collect();
    assert!(html.len() >= 2_000_000, "the snapshot should be at least 2 MB, is {}", html.len());
    let page = snapshot(&html);

    store
        .accept_batch(&ingest_batch(&shop, "big", time(10)), std::slice::from_ref(&page))
        .await
        .expect("accept");
    assert_eq!(store.dom_snapshot(&shop, &page.0).await.expect("snapshot").as_deref(), Some(html.as_str()));
    assert_eq!(store.dom_snapshot(&docs, &page.0).await.expect("other project"), None);
    let unknown = SnapshotHash::of(b"never stored");
    assert_eq!(store.dom_snapshot(&shop, &unknown).await.expect("unknown hash"), None);

    store
        .accept_batch(&ingest_batch(&docs, "big", time(11)), std::slice::from_ref(&page))
        .await
        .expect("accept");
    assert_eq!(
        store.dom_snapshot(&docs, &page.0).await.expect("snapshot").map(|h| h.len()),
        Some(html.len())
    );
    assert_eq!(store.counts(&shop).await.expect("counts").dom_snapshots, 1);
    assert_eq!(store.counts(&docs).await.expect("counts").dom_snapshots, 1);
}

/// A test result is recorded once per event id.
pub async fn test_result_is_recorded_once_per_event_id(store: &dyn Store) {
    let shop = project("shop");
    let first = test_result(&shop, "first", time(10));
    assert!(store.record_test_result(&first).await.expect("record"), "first delivery is new");
    assert!(!store.record_test_result(&first).await.expect("record again"), "redelivery is not new");
    assert!(store.record_test_result(&test_result(&shop, "second", time(11))).await.expect("record"));
    assert_eq!(store.counts(&shop).await.expect("counts").test_results, 2);
    assert_eq!(store.counts(&project("docs")).await.expect("counts").test_results, 0);
}

/// Failures with one fingerprint fold into one group: occurrences count, first/last seen are the extremes
/// whatever the arrival order, the message is the newest one's, and commits are distinct, oldest first.
pub async fn failures_fold_into_groups_by_fingerprint(store: &dyn Store) {
    let shop = project("shop");
    let buy = fingerprint("buy-button");
    let occurrence = |name: &str, seconds: i64, commit: Option<&str>| {
        let mut event = failure(&shop, name, &buy, time(seconds));
        event.payload.message = format!("locator #buy not found ({name})");
        event.payload.run.commit_sha = commit.map(str::to_owned);
        event
    };

    let first = occurrence("first", 20, Some("bbb"));
    let group = store.record_failure(&first).await.expect("record");
    assert_eq!(group.fingerprint, buy);
    assert_eq!(group.test, first.payload.test);
    assert_eq!(group.error_kind, ErrorKind::LocatorNotFound);
    assert_eq!(group.locator.as_deref(), Some("#buy"));
    assert_eq!((group.occurrences, group.first_seen, group.last_seen), (1, time(20), time(20)));
    assert_eq!(group.last_message, "locator #buy not found (first)");
    assert_eq!(group.commits, ["bbb"]);

    let group = store.record_failure(&occurrence("older", 10, Some("aaa"))).await.expect("record");
    assert_eq!((group.occurrences, group.first_seen, group.last_seen), (2, time(10), time(20)));
    assert_eq!(group.last_message, "locator #buy not found (first)", "an older event keeps the message");
    assert_eq!(group.commits, ["aaa", "bbb"], "commits oldest first");

    let group = store.record_failure(&occurrence("newest", 30, Some("bbb"))).await.expect("record");
    assert_eq!((group.occurrences, group.first_seen, group.last_seen), (3, time(10), time(30)));
    assert_eq!(group.last_message, "locator #buy not found (newest)");
    assert_eq!(group.commits, ["aaa", "bbb"], "a commit seen again is not repeated");

    let group = store.record_failure(&occurrence("local", 25, None)).await.expect("record");
    assert_eq!((group.occurrences, group.last_seen), (4, time(30)));
    assert_eq!(group.commits, ["aaa", "bbb"]);

    let other = store.record_failure(&failure(&shop, "other", &fingerprint("pay"), time(5))).await;
    assert_eq!(other.expect("record").occurrences, 1, "another fingerprint is another group");
    let counts = store.counts(&shop).await.expect("counts");
    assert_eq!((counts.failures, counts.failure_groups), (5, 2));
}

/// Recording the same failure event again returns the group unchanged, also after newer events.
pub async fn replayed_failure_event_changes_nothing(store: &dyn Store) {
    let shop = project("shop");
    let buy = fingerprint("buy-button");
    let first = failure(&shop, "first", &buy, time(10));
    let recorded = store.record_failure(&first).await.expect("record");
    assert_eq!(store.record_failure(&first).await.expect("replay"), recorded);

    let newer = failure(&shop, "newer", &buy, time(20));
    let after_newer = store.record_failure(&newer).await.expect("record");
    assert_eq!(after_newer.occurrences, 2);
    assert_eq!(store.record_failure(&first).await.expect("replay"), after_newer, "replay after newer");
    let counts = store.counts(&shop).await.expect("counts");
    assert_eq!((counts.failures, counts.failure_groups), (2, 1));
}

/// Failure groups list newest `last_seen` first, filter by test and error kind, page with a correct
/// total, and never show another project's groups.
pub async fn failure_groups_are_filtered_paged_and_scoped_by_project(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    let logs_in = test_identity("logs in");
    let group = |name: &str, test: &TestIdentity, kind: ErrorKind, seconds: i64, project: &ProjectId| {
        let mut event = failure(project, name, &fingerprint(name), time(seconds));
        event.payload.test = test.clone();
        event.payload.error_kind = kind;
        event
    };
    for event in [
        group("login-locator", &logs_in, ErrorKind::LocatorNotFound, 10, &shop),
        group("login-timeout", &logs_in, ErrorKind::Timeout, 30, &shop),
        group("pay-locator", &test_identity("pays"), ErrorKind::LocatorNotFound, 20, &shop),
        group("docs-locator", &logs_in, ErrorKind::LocatorNotFound, 40, &docs),
    ] {
        store.record_failure(&event).await.expect("record");
    }
    let fps = |names: &[&str]| names.iter().map(|name| fingerprint(name)).collect::<Vec<_>>();

    assert_eq!(
        group_page(store, &shop, FailureQuery::default()).await,
        (fps(&["login-timeout", "pay-locator", "login-locator"]), 3)
    );
    let by_test = FailureQuery { test: Some(logs_in.key()), ..FailureQuery::default() };
    assert_eq!(
        group_page(store, &shop, by_test.clone()).await,
        (fps(&["login-timeout", "login-locator"]), 2)
    );
    let by_kind = FailureQuery { error_kind: Some(ErrorKind::LocatorNotFound), ..FailureQuery::default() };
    assert_eq!(group_page(store, &shop, by_kind).await, (fps(&["pay-locator", "login-locator"]), 2));
    let both = FailureQuery { error_kind: Some(ErrorKind::LocatorNotFound), ..by_test };
    assert_eq!(group_page(store, &shop, both).await, (fps(&["login-locator"]), 1));

    let page =
        |limit, offset| FailureQuery { page: PageRequest { limit, offset }, ..FailureQuery::default() };
    assert_eq!(group_page(store, &shop, page(2, 0)).await, (fps(&["login-timeout", "pay-locator"]), 3));
    assert_eq!(group_page(store, &shop, page(2, 2)).await, (fps(&["login-locator"]), 3));
    assert_eq!(group_page(store, &shop, page(2, 5)).await, (Vec::new(), 3));
    assert_eq!(
        group_page(store, &shop, page(0, 0)).await,
        (fps(&["login-timeout"]), 3),
        "limit 0 is clamped to 1"
    );

    assert_eq!(group_page(store, &docs, FailureQuery::default()).await, (fps(&["docs-locator"]), 1));
    assert_eq!(group_page(store, &project("empty"), FailureQuery::default()).await, (Vec::new(), 0));
}

/// A suggestion is saved once, as `open`, and is visible only in its project.
pub async fn suggestion_is_saved_once(store: &dyn Store) {
    let shop = project("shop");
    let pay = suggestion("pay", &fingerprint("pay-button"), Some("[data-testid=pay]"));
    assert!(store.save_suggestion(&shop, &pay, time(5)).await.expect("save"), "first save is new");
    assert!(!store.save_suggestion(&shop, &pay, time(6)).await.expect("save again"), "second is not");

    let stored = store.suggestion(&shop, pay.id).await.expect("suggestion").expect("stored");
    assert_eq!(stored.suggestion, pay);
    assert_eq!(stored.status, SuggestionStatus::Open);
    assert_eq!(stored.created_at, time(5), "the first save's time is kept");
    assert_eq!(stored.reviewed_at, None);
    assert_eq!(store.suggestion(&project("docs"), pay.id).await.expect("other project"), None);
    assert_eq!(store.counts(&shop).await.expect("counts").suggestions, 1);
}

/// Suggestions list newest first and filter by status, decision and test, with a correct total.
pub async fn suggestions_are_filtered_and_newest_first(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    let old = suggestion("old", &fingerprint("pay-button"), Some("#pay-now"));
    let mut middle = suggestion("middle", &fingerprint("login-button"), Some("#login"));
    middle.test = test_identity("logs in");
    middle.decision = HealDecision::Apply;
    let newest = suggestion("newest", &fingerprint("pay-total"), None);
    for (stored, seconds) in [(&old, 10), (&middle, 20), (&newest, 30)] {
        store.save_suggestion(&shop, stored, time(seconds)).await.expect("save");
    }
    store
        .save_suggestion(&docs, &suggestion("docs", &fingerprint("x"), Some("#x")), time(40))
        .await
        .expect("save");

    assert_eq!(
        suggestion_page(store, &shop, SuggestionQuery::default()).await,
        (vec![newest.id, middle.id, old.id], 3)
    );
    let apply = SuggestionQuery { decision: Some(HealDecision::Apply), ..SuggestionQuery::default() };
    assert_eq!(suggestion_page(store, &shop, apply).await, (vec![middle.id], 1));
    let pays = SuggestionQuery { test: Some(test_identity("pays").key()), ..SuggestionQuery::default() };
    assert_eq!(suggestion_page(store, &shop, pays).await, (vec![newest.id, old.id], 2));

    store.record_feedback(&shop, old.id, FeedbackVerdict::Accepted, time(50)).await.expect("feedback");
    let accepted = SuggestionQuery { status: Some(SuggestionStatus::Accepted), ..SuggestionQuery::default() };
    assert_eq!(suggestion_page(store, &shop, accepted).await, (vec![old.id], 1));
    let open = SuggestionQuery { status: Some(SuggestionStatus::Open), ..SuggestionQuery::default() };
    assert_eq!(suggestion_page(store, &shop, open).await, (vec![newest.id, middle.id], 2));
    let second = SuggestionQuery { page: PageRequest { limit: 1, offset: 1 }, ..SuggestionQuery::default() };
    assert_eq!(suggestion_page(store, &shop, second).await, (vec![middle.id], 3));

    assert_eq!(store.suggestions(&docs, &SuggestionQuery::default()).await.expect("docs").total, 1);
}

/// Accepting a suggestion creates a pattern with confidence 1; accepting again is a no-op; rejecting it
/// afterwards is a conflict.
pub async fn accepted_feedback_creates_a_confident_pattern(store: &dyn Store) {
    let shop = project("shop");
    let buy = fingerprint("buy-button");
    let heal = suggestion("buy", &buy, Some("[data-testid=buy]"));
    store.save_suggestion(&shop, &heal, time(10)).await.expect("save");

    let outcome = store.record_feedback(&shop, heal.id, FeedbackVerdict::Accepted, time(20)).await;
    let outcome = outcome.expect("accept");
    assert_eq!(outcome.suggestion.suggestion, heal);
    assert_eq!(outcome.suggestion.status, SuggestionStatus::Accepted);
    assert_eq!(outcome.suggestion.reviewed_at, Some(time(20)));
    let pattern = &outcome.pattern;
    assert_eq!(pattern.fingerprint, buy);
    assert_eq!(pattern.original_selector, "#buy");
    assert_eq!(pattern.healed_selector, "[data-testid=buy]");
    assert_eq!(pattern.error_type, ErrorKind::LocatorNotFound);
    assert_eq!((pattern.success_count, pattern.failure_count, pattern.confidence), (1, 0, 1.0));
    assert_eq!(pattern.last_used_at, Some(time(20)));
    assert_eq!(pattern.created_at, time(20));
    assert_eq!(store.healing_pattern(&shop, &buy).await.expect("pattern").as_ref(), Some(pattern));
    assert_eq!(store.suggestion(&shop, heal.id).await.expect("get").as_ref(), Some(&outcome.suggestion));

    let again = store.record_feedback(&shop, heal.id, FeedbackVerdict::Accepted, time(25)).await;
    assert_eq!(again.expect("accept again"), outcome, "the same verdict again changes nothing");

    let flipped = store.record_feedback(&shop, heal.id, FeedbackVerdict::Rejected, time(30)).await;
    assert!(matches!(flipped, Err(StoreError::Conflict(_))), "opposite verdict: {flipped:?}");
    assert_eq!(store.healing_pattern(&shop, &buy).await.expect("pattern").as_ref(), Some(&outcome.pattern));
    assert_eq!(store.counts(&shop).await.expect("counts").healing_patterns, 1);
}

/// Feedback on an abstention is an invalid state; on an unknown id, or another project's suggestion, it
/// is not found. None of them writes anything.
pub async fn feedback_on_abstention_or_unknown_suggestion_is_refused(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    let abstention = suggestion("abstained", &fingerprint("total"), None);
    let heal = suggestion("heal", &fingerprint("buy-button"), Some("#buy-now"));
    store.save_suggestion(&shop, &abstention, time(10)).await.expect("save");
    store.save_suggestion(&shop, &heal, time(11)).await.expect("save");

    for verdict in [FeedbackVerdict::Accepted, FeedbackVerdict::Rejected] {
        let refused = store.record_feedback(&shop, abstention.id, verdict, time(20)).await;
        assert!(matches!(refused, Err(StoreError::InvalidState(_))), "abstention: {refused:?}");
    }
    let unknown = SuggestionId::for_request(event_id("never-requested"));
    let refused = store.record_feedback(&shop, unknown, FeedbackVerdict::Accepted, time(20)).await;
    assert!(matches!(refused, Err(StoreError::NotFound(_))), "unknown id: {refused:?}");
    let refused = store.record_feedback(&docs, heal.id, FeedbackVerdict::Accepted, time(20)).await;
    assert!(matches!(refused, Err(StoreError::NotFound(_))), "other project's id: {refused:?}");

    for id in [abstention.id, heal.id] {
        let stored = store.suggestion(&shop, id).await.expect("get").expect("stored");
        assert_eq!((stored.status, stored.reviewed_at), (SuggestionStatus::Open, None));
    }
    assert_eq!(store.counts(&shop).await.expect("counts").healing_patterns, 0);
    assert_eq!(store.counts(&docs).await.expect("counts").healing_patterns, 0);
}

/// A rejection of the same heal the pattern holds counts against it: one accept and one reject give
/// confidence 0.5.
pub async fn rejected_feedback_with_the_same_selector_halves_confidence(store: &dyn Store) {
    let shop = project("shop");
    let buy = fingerprint("buy-button");
    let accepted = suggestion("monday", &buy, Some("[data-testid=buy]"));
    let rejected = suggestion("tuesday", &buy, Some("[data-testid=buy]"));
    store.save_suggestion(&shop, &accepted, time(10)).await.expect("save");
    store.save_suggestion(&shop, &rejected, time(11)).await.expect("save");
    store.record_feedback(&shop, accepted.id, FeedbackVerdict::Accepted, time(20)).await.expect("accept");

    let outcome = store.record_feedback(&shop, rejected.id, FeedbackVerdict::Rejected, time(30)).await;
    let outcome = outcome.expect("reject");
    assert_eq!(outcome.suggestion.status, SuggestionStatus::Rejected);
    assert_eq!(outcome.suggestion.reviewed_at, Some(time(30)));
    let pattern = &outcome.pattern;
    assert_eq!(pattern.healed_selector, "[data-testid=buy]");
    assert_eq!((pattern.success_count, pattern.failure_count, pattern.confidence), (1, 1, 0.5));

    let again = store.record_feedback(&shop, rejected.id, FeedbackVerdict::Rejected, time(40)).await;
    assert_eq!(again.expect("reject again"), outcome, "the same verdict again changes nothing");
    let stored = store.healing_pattern(&shop, &buy).await.expect("pattern").expect("exists");
    assert_eq!((stored.success_count, stored.failure_count, stored.confidence), (1, 1, 0.5));
}

/// Rejecting a heal other than the one the pattern holds does not punish the pattern; only the
/// suggestion's status changes.
pub async fn rejected_feedback_for_another_selector_leaves_the_pattern_alone(store: &dyn Store) {
    let shop = project("shop");
    let buy = fingerprint("buy-button");
    let good = suggestion("good", &buy, Some("[data-testid=buy]"));
    let bad = suggestion("bad", &buy, Some("div > button:nth-child(3)"));
    store.save_suggestion(&shop, &good, time(10)).await.expect("save");
    store.save_suggestion(&shop, &bad, time(11)).await.expect("save");
    let accepted = store.record_feedback(&shop, good.id, FeedbackVerdict::Accepted, time(20)).await;
    let accepted = accepted.expect("accept");

    let outcome = store.record_feedback(&shop, bad.id, FeedbackVerdict::Rejected, time(30)).await;
    let outcome = outcome.expect("reject");
    assert_eq!(outcome.suggestion.status, SuggestionStatus::Rejected);
    assert_eq!(outcome.pattern, accepted.pattern, "the other heal's pattern is untouched");
    assert_eq!(
        store.healing_pattern(&shop, &buy).await.expect("pattern").map(|p| (p.healed_selector, p.confidence)),
        Some(("[data-testid=buy]".to_owned(), 1.0))
    );
    let stored = store.suggestion(&shop, bad.id).await.expect("get").expect("stored");
    assert_eq!(stored.status, SuggestionStatus::Rejected);
}

/// Accepting a heal with a different selector than the pattern holds starts the pattern afresh: the old
/// counts described another heal.
pub async fn accepting_another_selector_restarts_the_pattern_counts(store: &dyn Store) {
    let shop = project("shop");
    let buy = fingerprint("buy-button");
    let wrong = suggestion("wrong", &buy, Some("div > button:nth-child(3)"));
    let right = suggestion("right", &buy, Some("[data-testid=buy]"));
    store.save_suggestion(&shop, &wrong, time(10)).await.expect("save");
    store.save_suggestion(&shop, &right, time(11)).await.expect("save");
    store.record_feedback(&shop, wrong.id, FeedbackVerdict::Rejected, time(20)).await.expect("reject");

    let outcome = store.record_feedback(&shop, right.id, FeedbackVerdict::Accepted, time(30)).await;
    let pattern = outcome.expect("accept").pattern;
    assert_eq!(pattern.healed_selector, "[data-testid=buy]");
    assert_eq!((pattern.success_count, pattern.failure_count, pattern.confidence), (1, 0, 1.0));
}

/// Rejecting the first heal of a fingerprint records a pattern with confidence 0, so the rejected heal is
/// visible in the knowledge base.
pub async fn rejected_feedback_on_a_new_fingerprint_creates_a_zero_confidence_pattern(store: &dyn Store) {
    let shop = project("shop");
    let total = fingerprint("order-total");
    let heal = suggestion("total", &total, Some(".price:last-child"));
    store.save_suggestion(&shop, &heal, time(10)).await.expect("save");

    let outcome = store.record_feedback(&shop, heal.id, FeedbackVerdict::Rejected, time(20)).await;
    let pattern = outcome.expect("reject").pattern;
    assert_eq!(pattern.fingerprint, total);
    assert_eq!(pattern.original_selector, "#buy");
    assert_eq!(pattern.healed_selector, ".price:last-child");
    assert_eq!((pattern.success_count, pattern.failure_count, pattern.confidence), (0, 1, 0.0));
    assert_eq!(store.healing_pattern(&shop, &total).await.expect("pattern"), Some(pattern));
}

/// Patterns list highest confidence first with a correct total, `touch` sets `last_used_at`, and
/// neither reaches into another project.
pub async fn healing_patterns_are_ranked_by_confidence_and_touched(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    let (high, half, zero) = (fingerprint("high"), fingerprint("half"), fingerprint("zero"));
    let verdicts = [
        (&shop, "high", &high, FeedbackVerdict::Accepted),
        (&shop, "half-yes", &half, FeedbackVerdict::Accepted),
        (&shop, "half-no", &half, FeedbackVerdict::Rejected),
        (&shop, "zero", &zero, FeedbackVerdict::Rejected),
        (&docs, "docs", &high, FeedbackVerdict::Accepted),
    ];
    for (seconds, (owner, name, healed_fingerprint, verdict)) in (10..).zip(verdicts) {
        let heal = suggestion(name, healed_fingerprint, Some("#healed"));
        store.save_suggestion(owner, &heal, time(seconds)).await.expect("save");
        store.record_feedback(owner, heal.id, verdict, time(seconds)).await.expect("feedback");
    }
    let docs_before = store.healing_pattern(&docs, &high).await.expect("pattern");

    let all = store.healing_patterns(&shop, PageRequest::default()).await.expect("patterns");
    let ranked: Vec<_> = all.items.iter().map(|p| (p.fingerprint.clone(), p.confidence)).collect();
    assert_eq!(ranked, [(high.clone(), 1.0), (half.clone(), 0.5), (zero.clone(), 0.0)]);
    assert_eq!(all.total, 3);
    let second = store.healing_patterns(&shop, PageRequest { limit: 1, offset: 1 }).await.expect("page");
    assert_eq!((second.items.len(), second.total), (1, 3));
    assert_eq!(second.items[0].fingerprint, half);

    store.touch_healing_pattern(&shop, &zero, time(99)).await.expect("touch");
    let touched = store.healing_pattern(&shop, &zero).await.expect("pattern").expect("exists");
    assert_eq!(touched.last_used_at, Some(time(99)));
    assert_eq!((touched.success_count, touched.failure_count), (0, 1), "touch changes only last_used_at");
    let unknown = store.touch_healing_pattern(&shop, &fingerprint("unknown"), time(99)).await;
    assert!(matches!(unknown, Err(StoreError::NotFound(_))), "unknown pattern: {unknown:?}");
    let elsewhere = store.touch_healing_pattern(&docs, &zero, time(99)).await;
    assert!(matches!(elsewhere, Err(StoreError::NotFound(_))), "other project's pattern: {elsewhere:?}");

    store.touch_healing_pattern(&shop, &high, time(98)).await.expect("touch");
    let docs_patterns = store.healing_patterns(&docs, PageRequest::default()).await.expect("patterns");
    assert_eq!(docs_patterns.total, 1);
    assert_eq!(docs_patterns.items.first(), docs_before.as_ref(), "docs' pattern is untouched");
}

/// Counts cover every table and only the asked project's rows.
pub async fn counts_are_scoped_by_project(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    store
        .accept_batch(&ingest_batch(&shop, "batch", time(1)), &[snapshot("<p>a</p>")])
        .await
        .expect("accept");
    for name in ["first", "second"] {
        store.record_test_result(&test_result(&shop, name, time(2))).await.expect("record");
        store.record_failure(&failure(&shop, name, &fingerprint("buy"), time(3))).await.expect("record");
    }
    let heal = suggestion("heal", &fingerprint("buy"), Some("#buy-now"));
    store.save_suggestion(&shop, &heal, time(4)).await.expect("save");
    store.record_feedback(&shop, heal.id, FeedbackVerdict::Accepted, time(5)).await.expect("feedback");
    store.record_test_result(&test_result(&docs, "docs", time(6))).await.expect("record");
    store.record_dead_letter(&dead_letter(&shop, "poison", time(7))).await.expect("record");

    assert_eq!(
        store.counts(&shop).await.expect("counts"),
        StoreCounts {
            batches: 1,
            dom_snapshots: 1,
            test_results: 2,
            failures: 2,
            failure_groups: 1,
            suggestions: 1,
            healing_patterns: 1,
            dead_letters: 1,
        }
    );
    assert_eq!(
        store.counts(&docs).await.expect("counts"),
        StoreCounts { test_results: 1, ..StoreCounts::default() }
    );
}

/// Only patterns at or above the asked confidence come back, most confident first, within the limit and
/// the project.
pub async fn confident_patterns_are_filtered_ranked_and_scoped(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    let verdicts: [(&str, &[FeedbackVerdict]); 3] = [
        ("sure", &[FeedbackVerdict::Accepted]),
        ("half", &[FeedbackVerdict::Accepted, FeedbackVerdict::Rejected]),
        ("never", &[FeedbackVerdict::Rejected]),
    ];
    let mut seconds = 10;
    for (name, reviews) in verdicts {
        let heal_fingerprint = fingerprint(name);
        for (index, verdict) in reviews.iter().enumerate() {
            let heal = suggestion(&format!("{name}-{index}"), &heal_fingerprint, Some("#pay"));
            store.save_suggestion(&shop, &heal, time(seconds)).await.expect("save");
            store.record_feedback(&shop, heal.id, *verdict, time(seconds + 1)).await.expect("feedback");
            seconds += 2;
        }
    }
    let elsewhere = suggestion("elsewhere", &fingerprint("docs"), Some("#pay"));
    store.save_suggestion(&docs, &elsewhere, time(90)).await.expect("save");
    store.record_feedback(&docs, elsewhere.id, FeedbackVerdict::Accepted, time(91)).await.expect("feedback");

    let confident = store.confident_patterns(&shop, 0.5, 10).await.expect("patterns");
    let ranked: Vec<_> = confident.iter().map(|p| (p.fingerprint.clone(), p.confidence)).collect();
    assert_eq!(ranked, [(fingerprint("sure"), 1.0), (fingerprint("half"), 0.5)]);
    let limited = store.confident_patterns(&shop, 0.0, 1).await.expect("patterns");
    assert_eq!(limited.iter().map(|p| p.fingerprint.clone()).collect::<Vec<_>>(), [fingerprint("sure")]);
    assert!(store.confident_patterns(&project("nobody"), 0.0, 10).await.expect("patterns").is_empty());
}

/// A dead letter is recorded once per event id and listed newest first, only in its project.
pub async fn dead_letters_are_recorded_once_and_listed_newest_first(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    let older = dead_letter(&shop, "older", time(10));
    let newer = dead_letter(&shop, "newer", time(20));
    assert!(store.record_dead_letter(&older).await.expect("record"));
    assert!(store.record_dead_letter(&newer).await.expect("record"));
    assert!(!store.record_dead_letter(&older).await.expect("record again"), "same event id twice");
    store.record_dead_letter(&dead_letter(&docs, "docs", time(30))).await.expect("record");

    let page = store.dead_letters(&shop, PageRequest::default()).await.expect("dead letters");
    assert_eq!(page.total, 2);
    let listed: Vec<_> = page.items.iter().map(|stored| (stored.event_id, stored.occurred_at)).collect();
    assert_eq!(listed, [(newer.event_id, time(20)), (older.event_id, time(10))]);
    assert_eq!(page.items[1].dead_letter, older.payload, "every field round-trips");
    let second = store.dead_letters(&shop, PageRequest { limit: 1, offset: 1 }).await.expect("page");
    assert_eq!(second.items.iter().map(|stored| stored.event_id).collect::<Vec<_>>(), [older.event_id]);
}

/// A repository's webhook is bound to one project: found by its name in any case, its secret replaced
/// when set again, refused to a second project, to an unknown project and with an empty secret. The
/// secret never shows in `Debug`.
pub async fn github_webhook_is_bound_to_one_project_and_found_by_repository(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    store.create_project(&shop, "Shop", &key_hash("shop-key"), time(0)).await.expect("create shop");
    store.create_project(&docs, "Docs", &key_hash("docs-key"), time(0)).await.expect("create docs");
    assert!(store.github_webhook_for_repository("Octo/Shop").await.expect("lookup").is_none());

    let first = SecretString::from("first secret");
    store.set_github_webhook(&shop, "Octo/Shop", &first, time(1)).await.expect("set");
    let found = store.github_webhook_for_repository("octo/SHOP").await.expect("lookup").expect("bound");
    assert_eq!((found.project.clone(), found.repository.as_str()), (shop.clone(), "Octo/Shop"));
    assert_eq!(found.secret.expose_secret(), "first secret");
    let debug = format!("{found:?}");
    assert!(!debug.contains("first secret"), "the secret leaks through Debug: {debug}");

    let rotated = SecretString::from("second secret");
    store.set_github_webhook(&shop, "octo/shop", &rotated, time(2)).await.expect("rotate");
    let found = store.github_webhook_for_repository("Octo/Shop").await.expect("lookup").expect("bound");
    assert_eq!(found.secret.expose_secret(), "second secret");

    let stolen = store.set_github_webhook(&docs, "OCTO/shop", &first, time(3)).await;
    assert!(matches!(stolen, Err(StoreError::Conflict(_))), "another project's repository: {stolen:?}");
    let unknown = store.set_github_webhook(&project("ghost"), "octo/ghost", &first, time(3)).await;
    assert!(matches!(unknown, Err(StoreError::NotFound(_))), "unknown project: {unknown:?}");
    let empty = store.set_github_webhook(&docs, "octo/docs", &SecretString::from(""), time(3)).await;
    assert!(matches!(empty, Err(StoreError::InvalidInput(_))), "empty secret: {empty:?}");

    store.set_github_webhook(&docs, "octo/docs", &first, time(4)).await.expect("set docs");
    let found = store.github_webhook_for_repository("octo/docs").await.expect("lookup").expect("bound");
    assert_eq!(found.project, docs);
    let shop_again = store.github_webhook_for_repository("octo/shop").await.expect("lookup").expect("bound");
    assert_eq!((shop_again.project, shop_again.secret.expose_secret()), (shop, "second secret"));
}

/// A delivery is stored once per project with its envelope, pending until the correlator marks it
/// processed; pending deliveries are replayed oldest first; a delivery GUID is scoped by project.
pub async fn github_deliveries_are_stored_pending_until_processed(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    let delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
    let first = github_event(&shop, delivery, time(1));
    assert_eq!(store.accept_github_event(&first, "push").await.expect("accept"), GithubDeliveryState::New);
    let redelivered = github_event(&shop, delivery, time(2));
    assert_eq!(
        store.accept_github_event(&redelivered, "push").await.expect("accept again"),
        GithubDeliveryState::Pending,
        "stored, not applied yet"
    );
    let later = github_event(&shop, "later-delivery", time(5));
    store.accept_github_event(&later, "push").await.expect("accept");
    assert_eq!(
        store.accept_github_event(&github_event(&docs, delivery, time(3)), "push").await.expect("accept"),
        GithubDeliveryState::New,
        "the same GUID in another project is another delivery"
    );

    let pending = store.unprocessed_github_events(10).await.expect("pending");
    let ids: Vec<_> = pending.iter().map(|event| (event.project_id.clone(), event.event_id)).collect();
    assert_eq!(
        ids,
        [
            (shop.clone(), first.event_id),
            (docs.clone(), github_event(&docs, delivery, time(3)).event_id),
            (shop.clone(), later.event_id)
        ],
        "oldest first, the first copy kept"
    );
    assert_eq!(pending[0], first, "the envelope round-trips");

    store.mark_github_event_processed(&shop, delivery, time(9)).await.expect("mark");
    store.mark_github_event_processed(&shop, delivery, time(10)).await.expect("mark again");
    store.mark_github_event_processed(&shop, "unknown-delivery", time(10)).await.expect("unknown is a no-op");
    assert_eq!(
        store.accept_github_event(&redelivered, "push").await.expect("accept"),
        GithubDeliveryState::Processed
    );
    let pending = store.unprocessed_github_events(10).await.expect("pending");
    assert_eq!(pending.iter().map(|event| event.event_id).collect::<Vec<_>>(), [ids[1].1, ids[2].1]);
    assert_eq!(store.unprocessed_github_events(1).await.expect("pending").len(), 1, "limit");
}

/// A CI run record keeps the newest attempt; within an attempt a completed record is not replaced by a
/// late unfinished one; a job and a run with the same id are two records; listing is newest first, paged
/// and scoped by project.
pub async fn ci_runs_keep_the_latest_attempt_and_its_completed_state(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    let failed = ci_run(CiRunKind::WorkflowRun, 42, 1, "completed", Some("failure"), time(10));
    assert!(store.record_ci_run(&shop, &failed).await.expect("record"));
    assert!(store.record_ci_run(&shop, &failed).await.expect("record again"), "a repeat rewrites the same");
    let late = ci_run(CiRunKind::WorkflowRun, 42, 1, "in_progress", None, time(11));
    assert!(!store.record_ci_run(&shop, &late).await.expect("late"), "unfinished never replaces completed");
    let stored = store.ci_runs(&shop, PageRequest::default()).await.expect("runs").items;
    assert_eq!(stored, std::slice::from_ref(&failed));

    let rerun = ci_run(CiRunKind::WorkflowRun, 42, 2, "completed", Some("success"), time(20));
    assert!(store.record_ci_run(&shop, &rerun).await.expect("rerun"));
    assert!(!store.record_ci_run(&shop, &failed).await.expect("old attempt"), "an older attempt is ignored");

    let mut job = ci_run(CiRunKind::WorkflowJob, 42, 1, "completed", Some("failure"), time(15));
    job.name = Some("linters".to_owned());
    job.run_id = 7;
    assert!(store.record_ci_run(&shop, &job).await.expect("job"));
    store
        .record_ci_run(&docs, &ci_run(CiRunKind::WorkflowRun, 1, 1, "completed", None, time(30)))
        .await
        .expect("docs");

    let page = store.ci_runs(&shop, PageRequest::default()).await.expect("runs");
    assert_eq!(page.total, 2);
    assert_eq!(page.items, [rerun, job.clone()], "newest first, every field round-trips");
    let second = store.ci_runs(&shop, PageRequest { limit: 1, offset: 1 }).await.expect("page");
    assert_eq!((second.items, second.total), (vec![job], 2));
    assert_eq!(store.ci_runs(&project("empty"), PageRequest::default()).await.expect("runs").total, 0);
}

/// A check's conclusion on a commit is upserted by name, and an older report does not replace a newer one.
pub async fn check_conclusions_keep_the_newest_per_check_and_commit(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    let check = |name: &str, sha: &str, conclusion: &str, seconds: i64| CheckConclusion {
        repository: "octo/shop".to_owned(),
        head_sha: sha.to_owned(),
        name: name.to_owned(),
        conclusion: conclusion.to_owned(),
        concluded_at: time(seconds),
    };
    store.record_check_conclusion(&shop, &check("lint", "aaa", "failure", 10)).await.expect("record");
    store.record_check_conclusion(&shop, &check("lint", "aaa", "success", 20)).await.expect("record");
    store.record_check_conclusion(&shop, &check("lint", "aaa", "failure", 15)).await.expect("older report");
    store.record_check_conclusion(&shop, &check("e2e", "aaa", "failure", 12)).await.expect("record");
    store.record_check_conclusion(&shop, &check("lint", "bbb", "neutral", 30)).await.expect("record");
    store.record_check_conclusion(&docs, &check("lint", "aaa", "failure", 40)).await.expect("record");

    assert_eq!(
        store.check_conclusions(&shop, "aaa").await.expect("checks"),
        [check("e2e", "aaa", "failure", 12), check("lint", "aaa", "success", 20)]
    );
    assert_eq!(store.check_conclusions(&shop, "bbb").await.expect("checks").len(), 1);
    assert!(store.check_conclusions(&shop, "ccc").await.expect("checks").is_empty());
}

/// Each head a pull request had is recorded once (keeping its first sighting), and a sha finds the pull
/// requests whose head it was, only in its project.
pub async fn pull_request_heads_link_commits_to_pull_requests(store: &dyn Store) {
    let (shop, docs) = (project("shop"), project("docs"));
    let head = |number: u64, sha: &str, seconds: i64| PullRequestHead {
        repository: "octo/shop".to_owned(),
        number,
        head_sha: sha.to_owned(),
        head_ref: format!("feature-{number}"),
        base_ref: "main".to_owned(),
        first_seen: time(seconds),
    };
    assert!(store.record_pull_request(&shop, &head(2, "aaa", 10)).await.expect("opened"));
    assert!(!store.record_pull_request(&shop, &head(2, "aaa", 20)).await.expect("repeat"), "known head");
    assert!(store.record_pull_request(&shop, &head(2, "bbb", 30)).await.expect("synchronize"));
    assert!(store.record_pull_request(&shop, &head(5, "bbb", 40)).await.expect("another pull request"));
    store.record_pull_request(&docs, &head(9, "aaa", 50)).await.expect("docs");

    assert_eq!(store.pull_requests_for_sha(&shop, "aaa").await.expect("pulls"), [head(2, "aaa", 10)]);
    assert_eq!(
        store.pull_requests_for_sha(&shop, "bbb").await.expect("pulls"),
        [head(2, "bbb", 30), head(5, "bbb", 40)]
    );
    assert!(store.pull_requests_for_sha(&shop, "zzz").await.expect("pulls").is_empty());
}

/// The fingerprints of one page of failure groups, and the total.
async fn group_page(store: &dyn Store, project: &ProjectId, query: FailureQuery) -> (Vec<Fingerprint>, u64) {
    let page = store.failure_groups(project, &query).await.expect("failure groups");
    (page.items.into_iter().map(|group| group.fingerprint).collect(), page.total)
}

/// The ids of one page of suggestions, and the total.
async fn suggestion_page(
    store: &dyn Store,
    project: &ProjectId,
    query: SuggestionQuery,
) -> (Vec<SuggestionId>, u64) {
    let page = store.suggestions(project, &query).await.expect("suggestions");
    (page.items.into_iter().map(|stored| stored.suggestion.id).collect(), page.total)
}

// ---- value builders ----

/// A dead letter of a poison message named `name`, dead-lettered at `at`.
pub fn dead_letter(project: &ProjectId, name: &str, at: DateTime<Utc>) -> Envelope<DeadLetter> {
    Envelope::new(
        event_id(name),
        project.clone(),
        at,
        DeadLetter {
            original_topic: "argus.ingest.batch".to_owned(),
            consumer_group: "argus-normalizer".to_owned(),
            key: format!("{project}/{name}"),
            payload: format!("{{\"poison\": \"{name}\"}}"),
            error: format!("decode {name}: expected value at line 1 column 1"),
            attempts: 5,
            coordinates: "0/42".to_owned(),
        },
    )
}

/// A ping delivery `delivery_id` of `octo/shop` received at `at`, with its deterministic event id.
pub fn github_event(project: &ProjectId, delivery_id: &str, at: DateTime<Utc>) -> Envelope<GithubEvent> {
    Envelope::new(
        GithubEvent::event_id(project, delivery_id),
        project.clone(),
        at,
        GithubEvent {
            delivery_id: delivery_id.to_owned(),
            repository: "octo/shop".to_owned(),
            event: GithubEventKind::Ping(GithubPing {
                zen: Some("Keep it logically awesome.".to_owned()),
                hook_id: Some(1),
            }),
        },
    )
}

/// A project id; `name` must be a valid id (lowercase, digits, `-`, `_`).
pub fn project(name: &str) -> ProjectId {
    ProjectId::parse(name).expect("conformance project names are valid ids")
}

/// A fixed instant plus `seconds`: 2024-05-01T09:00:00.250Z + `seconds` (millisecond precision).
pub fn time(seconds: i64) -> DateTime<Utc> {
    let base = DateTime::from_timestamp_millis(1_714_554_000_250).expect("the base instant is in range");
    base + Duration::seconds(seconds)
}

/// A deterministic event id for `name` (UUID v5), so reruns build equal values.
pub fn event_id(name: &str) -> EventId {
    EventId(Uuid::new_v5(&Uuid::NAMESPACE_URL, format!("argus-conformance:{name}").as_bytes()))
}

/// A deterministic fingerprint for `name`.
pub fn fingerprint(name: &str) -> Fingerprint {
    Fingerprint::from_parts(["argus-conformance", name])
}

/// A stand-in API key hash for `key` (not a real SHA-256; the store treats it as opaque text).
pub fn key_hash(key: &str) -> String {
    fingerprint(key).as_str().repeat(2)
}

/// The test `tests/checkout.spec.ts › checkout › {title}`.
pub fn test_identity(title: &str) -> TestIdentity {
    TestIdentity {
        file: "tests/checkout.spec.ts".to_owned(),
        title_path: vec!["checkout".to_owned(), title.to_owned()],
    }
}

/// A DOM snapshot as `accept_batch` takes it: its content hash and its html.
pub fn snapshot(html: &str) -> (SnapshotHash, String) {
    (SnapshotHash::of(html.as_bytes()), html.to_owned())
}

/// The run every builder uses: commit `c0ffee`, branch `main`, CI run `1`.
pub fn run_context() -> RunContext {
    RunContext {
        commit_sha: Some("c0ffee".to_owned()),
        branch: Some("main".to_owned()),
        ci_run_id: Some("1".to_owned()),
    }
}

/// An ingest batch with id [`event_id`]`("batch-{name}")` holding one passed test result.
pub fn ingest_batch(project: &ProjectId, name: &str, at: DateTime<Utc>) -> Envelope<IngestBatch> {
    let item = IngestItem::TestResult {
        test: test_identity("pays"),
        status: TestStatus::Passed,
        retries: 0,
        duration_ms: 1_250,
    };
    Envelope::new(
        event_id(&format!("batch-{name}")),
        project.clone(),
        at,
        IngestBatch { run: run_context(), items: vec![item] },
    )
}

/// A CI run record of `octo/shop` on commit `abc123` (branch `main`); a run's `run_id` is its id.
pub fn ci_run(
    kind: CiRunKind,
    id: u64,
    run_attempt: u32,
    status: &str,
    conclusion: Option<&str>,
    at: DateTime<Utc>,
) -> CiRun {
    CiRun {
        kind,
        id,
        run_id: id,
        run_attempt,
        name: Some("ci".to_owned()),
        repository: "octo/shop".to_owned(),
        head_sha: "abc123".to_owned(),
        head_branch: Some("main".to_owned()),
        status: status.to_owned(),
        conclusion: conclusion.map(str::to_owned),
        html_url: Some(format!("https://github.com/octo/shop/actions/runs/{id}")),
        updated_at: at,
    }
}

/// A passed test result of the test "pays", with id [`event_id`]`("result-{name}")`.
pub fn test_result(project: &ProjectId, name: &str, at: DateTime<Utc>) -> Envelope<TestResult> {
    let result = TestResult {
        test: test_identity("pays"),
        status: TestStatus::Passed,
        retries: 0,
        duration_ms: 1_250,
        run: run_context(),
    };
    Envelope::new(event_id(&format!("result-{name}")), project.clone(), at, result)
}

/// A locator-not-found failure of the test "pays" on `#buy`, with id [`event_id`]`("failure-{name}")`.
pub fn failure(
    project: &ProjectId,
    name: &str,
    fingerprint: &Fingerprint,
    at: DateTime<Utc>,
) -> Envelope<Failure> {
    let failure = Failure {
        test: test_identity("pays"),
        error_kind: ErrorKind::LocatorNotFound,
        message: "locator #buy not found".to_owned(),
        stack: Some("at checkout.spec.ts:12:5".to_owned()),
        locator: Some("#buy".to_owned()),
        page_url: Some("https://shop.example/checkout".to_owned()),
        run: run_context(),
        snapshot: None,
        fingerprint: fingerprint.clone(),
    };
    Envelope::new(event_id(&format!("failure-{name}")), project.clone(), at, failure)
}

/// The healer's answer for the broken locator `#buy` of the test "pays": with `css`, a DOM-similarity
/// suggestion to validate (confidence 0.8); without, an abstention to escalate. Its request id is
/// [`event_id`]`("request-{name}")` and its id derives from that.
pub fn suggestion(name: &str, fingerprint: &Fingerprint, css: Option<&str>) -> HealingSuggestion {
    let request_event_id = event_id(&format!("request-{name}"));
    let suggested = css.map(|css| SuggestedLocator { css: css.to_owned(), xpath: None, playwright: None });
    let abstained = suggested.is_none();
    HealingSuggestion {
        id: SuggestionId::for_request(request_event_id),
        request_event_id,
        failure_event_id: event_id(&format!("failure-{name}")),
        test: test_identity("pays"),
        fingerprint: fingerprint.clone(),
        broken_locator: "#buy".to_owned(),
        suggested,
        confidence: if abstained { 0.0 } else { 0.8 },
        source: if abstained { None } else { Some(HealSource::DomSimilarity) },
        decision: if abstained { HealDecision::Escalate } else { HealDecision::Validate },
        rationale: if abstained {
            "no candidate was similar enough".to_owned()
        } else {
            "same text and role, data-testid matches".to_owned()
        },
    }
}
