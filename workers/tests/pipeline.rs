//! The workers against the real embedded adapters (SQLite in a temp dir, in-process bus, cache and graph):
//! driven step by step through `handle`, and end to end through `Pipeline::spawn`.

use argus_bus::in_process::{InProcessBus, InProcessBusConfig};
use argus_bus::{Bus, Delivery, Subscription};
use argus_cache::in_process::{InProcessCache, InProcessCacheConfig};
use argus_cache::{Cache, CacheError, CacheKey};
use argus_graph::in_process::InProcessGraph;
use argus_healing::{CandidatePage, PageLimits};
use argus_store::sqlite::SqliteStore;
use argus_store::{FailureQuery, PageRequest, Store};
use argus_vocabulary::{
    Envelope, EventId, FeedbackVerdict, HealDecision, HealSource, IngestBatch, IngestItem, ProjectId,
    RunContext, SnapshotHash, SuggestionId, TestIdentity, TestStatus, Topic,
};
use argus_workers::{
    Clock, Outcome, Pipeline, RetryConfig, Role, WorkerContext, WorkerMetrics, WorkersConfig,
    replay_unnormalized_batches,
};
use chrono::{DateTime, TimeZone, Utc};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

/// Upper bound for anything the tests wait for; reaching it fails the test.
const DEADLINE: Duration = Duration::from_secs(20);

const CHECKOUT_V1: &str = r#"<!doctype html><html><head><title>Checkout</title></head><body>
<header><nav><a href="/">Shop</a><a href="/cart">Cart (2)</a></nav></header>
<main><h1>Checkout</h1>
<form id="checkout" action="/pay" method="post">
  <label for="card">Card number</label><input id="card" name="card" placeholder="1234 5678 9012 3456">
  <label for="name">Name on card</label><input id="name" name="name">
  <button id="pay-btn" class="btn btn-primary" type="submit">Pay now</button>
  <button id="cancel" class="btn" type="button">Cancel</button>
</form></main></body></html>"#;

/// Version 2: the pay button's id changed; everything else stayed.
const CHECKOUT_V2: &str = r#"<!doctype html><html><head><title>Checkout</title></head><body>
<header><nav><a href="/">Shop</a><a href="/cart">Cart (2)</a></nav></header>
<main><h1>Checkout</h1>
<form id="checkout" action="/pay" method="post">
  <label for="card">Card number</label><input id="card" name="card" placeholder="1234 5678 9012 3456">
  <label for="name">Name on card</label><input id="name" name="name">
  <button id="submit-payment" class="btn btn-primary" type="submit">Pay now</button>
  <button id="cancel" class="btn" type="button">Cancel</button>
</form></main></body></html>"#;

const PLAYWRIGHT_FAILURE: &str = "TimeoutError: locator.click: Timeout 30000ms exceeded.\n\
Call log:\n  - waiting for locator('#pay-btn')";

struct Harness {
    _dir: TempDir,
    project: ProjectId,
    store: Arc<SqliteStore>,
    bus: Arc<InProcessBus>,
    ctx: WorkerContext,
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 1, 10, minute, 0).single().expect("valid time")
}

async fn harness() -> Harness {
    harness_with_cache(Arc::new(InProcessCache::new(&InProcessCacheConfig::default()))).await
}

async fn harness_with_cache(cache: Arc<dyn Cache>) -> Harness {
    let dir = TempDir::new().expect("temp dir");
    let store = Arc::new(SqliteStore::open_in_dir(dir.path()).await.expect("store opens"));
    let project = ProjectId::parse("shop").expect("valid project");
    store.create_project(&project, "Shop", &"ab".repeat(32), at(0)).await.expect("project created");
    let bus = InProcessBus::new(InProcessBusConfig { max_attempts: 3, ..InProcessBusConfig::default() });
    let ctx = WorkerContext {
        store: store.clone(),
        bus: bus.clone(),
        cache,
        graph: Arc::new(InProcessGraph::in_memory()),
        clock: Clock::fixed(at(30)),
        metrics: Arc::new(WorkerMetrics::default()),
    };
    Harness { _dir: dir, project, store, bus, ctx }
}

fn checkout_test() -> TestIdentity {
    TestIdentity { file: "tests/checkout.spec.ts".into(), title_path: vec!["checkout".into(), "pays".into()] }
}

fn observation_item() -> IngestItem {
    IngestItem::LocatorObservation {
        test: checkout_test(),
        locator: "#pay-btn".into(),
        element: None,
        snapshot: Some(SnapshotHash::of(CHECKOUT_V1.as_bytes())),
        page_url: Some("https://shop.test/checkout".into()),
    }
}

fn failure_item() -> IngestItem {
    IngestItem::Failure {
        test: checkout_test(),
        error_kind: None,
        message: PLAYWRIGHT_FAILURE.into(),
        stack: None,
        locator: None,
        page_url: Some("https://shop.test/checkout".into()),
        snapshot: Some(SnapshotHash::of(CHECKOUT_V2.as_bytes())),
    }
}

fn result_item(status: TestStatus) -> IngestItem {
    IngestItem::TestResult { test: checkout_test(), status, retries: 0, duration_ms: 1_200 }
}

impl Harness {
    /// Accepts a batch in the store (with the snapshots its items refer to), as the HTTP edge does.
    async fn accept(&self, items: Vec<IngestItem>, minute: u32) -> Envelope<IngestBatch> {
        let batch = Envelope::new(
            EventId::new_random(),
            self.project.clone(),
            at(minute),
            IngestBatch {
                run: RunContext { commit_sha: Some(format!("c0{minute}")), ..RunContext::default() },
                items,
            },
        );
        let snapshots: Vec<_> = [CHECKOUT_V1, CHECKOUT_V2]
            .into_iter()
            .map(|html| (SnapshotHash::of(html.as_bytes()), html.to_owned()))
            .collect();
        self.store.accept_batch(&batch, &snapshots).await.expect("batch accepted");
        batch
    }

    /// Accepts a batch and publishes it on `argus.ingest.batch`.
    async fn ingest(&self, items: Vec<IngestItem>, minute: u32) -> Envelope<IngestBatch> {
        let batch = self.accept(items, minute).await;
        argus_bus::publish(self.bus.as_ref(), &batch).await.expect("batch published");
        batch
    }

    /// Waits until every published message is acknowledged; fails the test after [`DEADLINE`].
    async fn wait_idle(&self) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let pending = self.bus.unacknowledged().await.expect("bus answers");
            if pending == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "pipeline still has {pending} unacknowledged messages"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn spawn_pipeline(&self, shutdown: &CancellationToken) -> Pipeline {
        let config = WorkersConfig {
            retry: RetryConfig { initial_backoff_ms: 1, max_backoff_ms: 10 },
            ..WorkersConfig::default()
        };
        Pipeline::spawn(self.ctx.clone(), &config, &Role::ALL, shutdown.clone())
            .await
            .expect("pipeline spawns")
    }
}

/// Cancels the pipeline and waits for it; fails the test when it does not stop cleanly before [`DEADLINE`].
async fn stop(pipeline: Pipeline, shutdown: &CancellationToken) {
    shutdown.cancel();
    tokio::time::timeout(DEADLINE, pipeline.join())
        .await
        .expect("pipeline stops in time")
        .expect("clean stop");
}

/// The id of the suggestion answering item `index` of `batch` (a failure).
fn suggestion_id(batch: &Envelope<IngestBatch>, index: usize) -> SuggestionId {
    let failure = batch.event_id.derive(&index.to_string());
    SuggestionId::for_request(failure.derive("healing-request"))
}

/// The next delivery of `subscription`; fails the test when none arrives before [`DEADLINE`].
async fn take(subscription: &mut Box<dyn Subscription>) -> Delivery {
    tokio::time::timeout(DEADLINE, subscription.next())
        .await
        .expect("a delivery before the deadline")
        .expect("bus answers")
        .expect("bus open")
}

/// Whether `css` matches exactly the renamed pay button in version 2 of the page.
fn matches_new_pay_button(css: &str) -> bool {
    let page = CandidatePage::parse(CHECKOUT_V2, &PageLimits::default()).expect("v2 parses");
    let matched = page.resolve(css).expect("suggested css resolves");
    matched.len() == 1 && page.candidates()[matched[0]].descriptor.id.as_deref() == Some("submit-payment")
}

#[tokio::test]
async fn renamed_button_is_healed_by_similarity_then_by_the_knowledge_base() {
    let h = harness().await;
    let shutdown = CancellationToken::new();
    let pipeline = h.spawn_pipeline(&shutdown).await;

    h.ingest(vec![result_item(TestStatus::Passed), observation_item()], 1).await;
    h.wait_idle().await;
    let broken = h.ingest(vec![result_item(TestStatus::Failed), failure_item()], 2).await;
    h.wait_idle().await;

    let first =
        h.store.suggestion(&h.project, suggestion_id(&broken, 1)).await.expect("store").expect("suggested");
    let heal = &first.suggestion;
    assert_eq!(heal.source, Some(HealSource::DomSimilarity), "{}", heal.rationale);
    assert_ne!(heal.decision, HealDecision::Escalate, "{}", heal.rationale);
    assert_eq!(heal.broken_locator, "#pay-btn");
    let css = heal.suggested.as_ref().map(|s| s.css.clone()).expect("a locator is suggested");
    assert!(matches_new_pay_button(&css), "{css} does not match the renamed button");

    let outcome = h
        .store
        .record_feedback(&h.project, first.suggestion.id, FeedbackVerdict::Accepted, at(40))
        .await
        .expect("feedback recorded");
    assert_eq!(outcome.pattern.healed_selector, css);

    // The same failure in a new run (new batch id): the knowledge base answers and it is applied.
    let again = h.ingest(vec![failure_item()], 3).await;
    h.wait_idle().await;
    let second =
        h.store.suggestion(&h.project, suggestion_id(&again, 0)).await.expect("store").expect("suggested");
    assert_eq!(second.suggestion.source, Some(HealSource::KnowledgeBase));
    assert_eq!(second.suggestion.decision, HealDecision::Apply);
    assert_eq!(second.suggestion.suggested.map(|s| s.css), Some(css));
    assert_eq!(second.suggestion.fingerprint, first.suggestion.fingerprint);

    let counts = h.store.counts(&h.project).await.expect("counts");
    assert_eq!(counts.test_results, 2);
    assert_eq!(counts.failures, 2);
    assert_eq!(counts.failure_groups, 1);
    assert_eq!(counts.suggestions, 2);
    assert_eq!(h.ctx.metrics.suggestions(Some(HealSource::KnowledgeBase), HealDecision::Apply), 1);
    assert!(h.store.unnormalized_batches(10).await.expect("store").is_empty());

    stop(pipeline, &shutdown).await;
}

#[tokio::test]
async fn a_heal_learned_in_one_test_is_offered_to_another_test_with_the_same_locator() {
    let h = harness().await;
    let shutdown = CancellationToken::new();
    let pipeline = h.spawn_pipeline(&shutdown).await;
    h.ingest(vec![observation_item()], 1).await;
    h.wait_idle().await;
    let broken = h.ingest(vec![failure_item()], 2).await;
    h.wait_idle().await;
    let learned = h.store.suggestion(&h.project, suggestion_id(&broken, 0)).await.expect("store");
    let learned = learned.expect("suggested").suggestion;
    let css = learned.suggested.as_ref().map(|s| s.css.clone()).expect("a locator is suggested");
    h.store
        .record_feedback(&h.project, learned.id, FeedbackVerdict::Accepted, at(40))
        .await
        .expect("feedback recorded");

    // Another test fails on the same locator (another fingerprint), once without a snapshot and once
    // with the failing page.
    let refund = TestIdentity { file: "tests/refund.spec.ts".into(), title_path: vec!["refunds".into()] };
    let refund_failure = |snapshot: Option<SnapshotHash>| IngestItem::Failure {
        test: refund.clone(),
        error_kind: None,
        message: PLAYWRIGHT_FAILURE.into(),
        stack: None,
        locator: None,
        page_url: None,
        snapshot,
    };
    let blind = h.ingest(vec![refund_failure(None)], 3).await;
    let seen = h.ingest(vec![refund_failure(Some(SnapshotHash::of(CHECKOUT_V2.as_bytes())))], 4).await;
    h.wait_idle().await;

    let offered = h.store.suggestion(&h.project, suggestion_id(&blind, 0)).await.expect("store");
    let offered = offered.expect("suggested").suggestion;
    assert_ne!(offered.fingerprint, learned.fingerprint, "another test, another failure");
    assert_eq!(offered.source, Some(HealSource::CrossTest), "{}", offered.rationale);
    assert_eq!(offered.suggested.as_ref().map(|s| s.css.clone()), Some(css.clone()));
    assert!((offered.confidence - 0.9).abs() < 1e-9, "1.0 × 0.9, got {}", offered.confidence);
    assert_eq!(offered.decision, HealDecision::Validate);

    let verified = h.store.suggestion(&h.project, suggestion_id(&seen, 0)).await.expect("store");
    let verified = verified.expect("suggested").suggestion;
    let verified_css = verified.suggested.as_ref().map(|s| s.css.clone()).expect("a locator is suggested");
    assert!(matches_new_pay_button(&verified_css), "{verified_css} ({:?})", verified.source);
    assert!(verified.confidence >= 0.9 - 1e-9, "the learned heal is at least as confident as 0.9");

    stop(pipeline, &shutdown).await;
}

#[tokio::test]
async fn redelivered_messages_count_once_and_yield_one_suggestion() {
    let h = harness().await;
    let normalizer = WorkersConfig::default().normalizer.build();
    let correlator = WorkersConfig::default().correlator.build();
    let healer = WorkersConfig::default().healer.build();
    let mut batches =
        h.bus.subscribe(Topic::IngestBatch, Role::Normalizer.consumer_group()).await.expect("sub");
    let mut observed =
        h.bus.subscribe(Topic::LocatorObserved, Role::Correlator.consumer_group()).await.expect("sub");
    let mut failed =
        h.bus.subscribe(Topic::TestFailed, Role::Correlator.consumer_group()).await.expect("sub");
    let mut requested =
        h.bus.subscribe(Topic::HealingRequested, Role::Healer.consumer_group()).await.expect("sub");

    // The observation, normalised twice (a replayed batch) and recorded.
    let first = h.ingest(vec![observation_item()], 1).await;
    let delivery = take(&mut batches).await;
    assert_eq!(normalizer.handle(&h.ctx, &delivery).await.expect("normalised"), Outcome::Done);
    assert_eq!(normalizer.handle(&h.ctx, &delivery).await.expect("normalised again"), Outcome::Done);
    batches.ack(&delivery).await.expect("ack");
    let observation = take(&mut observed).await;
    let replayed = take(&mut observed).await;
    assert_eq!(observation.payload, replayed.payload, "a replayed batch republishes the same event");
    for delivery in [&observation, &replayed] {
        assert_eq!(correlator.handle(&h.ctx, delivery).await.expect("recorded"), Outcome::Done);
        observed.ack(delivery).await.expect("ack");
    }
    assert!(
        h.store.unnormalized_batches(10).await.expect("store").iter().all(|b| b.event_id != first.event_id)
    );

    // The failure, delivered twice to the correlator.
    let broken = h.ingest(vec![failure_item()], 2).await;
    let delivery = take(&mut batches).await;
    normalizer.handle(&h.ctx, &delivery).await.expect("normalised");
    batches.ack(&delivery).await.expect("ack");
    let failure = take(&mut failed).await;
    correlator.handle(&h.ctx, &failure).await.expect("recorded");
    correlator.handle(&h.ctx, &failure).await.expect("recorded again");
    failed.ack(&failure).await.expect("ack");
    let groups = h.store.failure_groups(&h.project, &FailureQuery::default()).await.expect("groups");
    assert_eq!(groups.items.len(), 1);
    assert_eq!(groups.items[0].occurrences, 1);

    // Two identical requests reached the healer, and the first is delivered twice.
    let request = take(&mut requested).await;
    let republished = take(&mut requested).await;
    assert_eq!(request.payload, republished.payload);
    assert_eq!(healer.handle(&h.ctx, &request).await.expect("healed"), Outcome::Done);
    assert_eq!(healer.handle(&h.ctx, &request).await.expect("healed again"), Outcome::Duplicate);
    assert_eq!(healer.handle(&h.ctx, &republished).await.expect("healed again"), Outcome::Duplicate);
    requested.ack(&request).await.expect("ack");
    requested.ack(&republished).await.expect("ack");

    let counts = h.store.counts(&h.project).await.expect("counts");
    assert_eq!((counts.failures, counts.suggestions), (1, 1));
    let stored =
        h.store.suggestion(&h.project, suggestion_id(&broken, 0)).await.expect("store").expect("stored");
    assert_eq!(stored.suggestion.source, Some(HealSource::DomSimilarity), "{}", stored.suggestion.rationale);
    let css = stored.suggestion.suggested.map(|s| s.css).expect("a locator is suggested");
    assert!(matches_new_pay_button(&css), "{css}");
    // The second healing ran from the store, so only one suggestion was counted.
    let counted: u64 = [HealDecision::Apply, HealDecision::Validate]
        .into_iter()
        .map(|decision| h.ctx.metrics.suggestions(Some(HealSource::DomSimilarity), decision))
        .sum();
    assert_eq!(counted, 1);
}

#[tokio::test]
async fn a_garbage_batch_is_dead_lettered_and_the_next_batch_still_flows() {
    let h = harness().await;
    let shutdown = CancellationToken::new();
    let pipeline = h.spawn_pipeline(&shutdown).await;

    h.bus
        .publish(Topic::IngestBatch, "shop", b"{\"this is\": not an envelope".to_vec())
        .await
        .expect("published");
    h.ingest(vec![result_item(TestStatus::Passed)], 1).await;
    h.wait_idle().await;

    assert_eq!(h.store.counts(&h.project).await.expect("counts").test_results, 1);
    assert_eq!(h.ctx.metrics.dead_lettered(Role::Normalizer), 1);
    assert_eq!(h.ctx.metrics.failed(Role::Normalizer), 3, "one failure per attempt");
    // The correlator keeps dead letters in the store; an undecodable payload names no project.
    let unknown = ProjectId::parse("unknown").expect("valid id");
    let kept = h.store.dead_letters(&unknown, PageRequest::default()).await.expect("dead letters");
    assert_eq!(kept.total, 1);
    let letter = &kept.items[0].dead_letter;
    assert_eq!(letter.original_topic, "argus.ingest.batch");
    assert_eq!(letter.consumer_group, "argus-normalizer");
    assert_eq!(letter.attempts, 3);
    assert_eq!(letter.payload, "{\"this is\": not an envelope");
    assert!(letter.error.contains("undecodable payload"), "{}", letter.error);
    assert_eq!(h.ctx.metrics.dead_lettered(Role::Correlator), 0, "recording it did not fail");

    stop(pipeline, &shutdown).await;
}

#[tokio::test]
async fn pipeline_stops_cleanly_when_cancelled() {
    let h = harness().await;
    let shutdown = CancellationToken::new();
    let pipeline = h.spawn_pipeline(&shutdown).await;
    let unresolvable = IngestItem::LocatorObservation {
        test: checkout_test(),
        locator: "#no-such-element".into(),
        element: None,
        snapshot: Some(SnapshotHash::of(CHECKOUT_V1.as_bytes())),
        page_url: None,
    };
    h.ingest(vec![result_item(TestStatus::Passed), unresolvable], 1).await;
    h.wait_idle().await;

    stop(pipeline, &shutdown).await;
    assert_eq!(h.ctx.metrics.handled(Role::Normalizer), 1);
    assert_eq!(h.ctx.metrics.handled(Role::Correlator), 1);
    assert_eq!(h.ctx.metrics.skipped_observations(), 1, "the unresolvable observation is skipped, not fatal");
    assert!(h.store.unnormalized_batches(10).await.expect("store").is_empty());
    // After the stop, new messages stay on the bus: no loop is left consuming.
    h.ingest(vec![result_item(TestStatus::Passed)], 2).await;
    assert_eq!(h.bus.unacknowledged().await.expect("bus answers"), 1);
}

#[tokio::test]
async fn a_second_occurrence_on_the_same_page_reuses_the_cached_heal() {
    let h = harness().await;
    let shutdown = CancellationToken::new();
    let pipeline = h.spawn_pipeline(&shutdown).await;
    h.ingest(vec![observation_item()], 1).await;
    h.wait_idle().await;
    let first = h.ingest(vec![failure_item()], 2).await;
    h.wait_idle().await;
    let second = h.ingest(vec![failure_item()], 3).await;
    h.wait_idle().await;

    let computed =
        h.store.suggestion(&h.project, suggestion_id(&first, 0)).await.expect("store").expect("stored");
    let reused =
        h.store.suggestion(&h.project, suggestion_id(&second, 0)).await.expect("store").expect("stored");
    assert_eq!(
        computed.suggestion.source,
        Some(HealSource::DomSimilarity),
        "{}",
        computed.suggestion.rationale
    );
    assert_eq!(reused.suggestion.source, Some(HealSource::Cache));
    assert_eq!(reused.suggestion.suggested, computed.suggestion.suggested);
    assert_eq!(reused.suggestion.decision, computed.suggestion.decision);
    let key = CacheKey::Heal(computed.suggestion.fingerprint.clone());
    assert!(h.ctx.cache.get(&key).await.expect("cache answers").is_some());

    stop(pipeline, &shutdown).await;
}

/// A cache whose backend is down: every call fails.
struct UnreachableCache;

fn refused() -> CacheError {
    CacheError::Backend("connection refused".into())
}

#[async_trait::async_trait]
impl Cache for UnreachableCache {
    async fn get(&self, _key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError> {
        Err(refused())
    }
    async fn set(&self, _key: &CacheKey, _value: Vec<u8>) -> Result<(), CacheError> {
        Err(refused())
    }
    async fn delete(&self, _key: &CacheKey) -> Result<(), CacheError> {
        Err(refused())
    }
    async fn increment_rate(&self, _project: &ProjectId, _minute: i64) -> Result<u64, CacheError> {
        Err(refused())
    }
    async fn ping(&self) -> Result<(), CacheError> {
        Err(refused())
    }
}

#[tokio::test]
async fn cache_errors_are_counted_and_healing_goes_on() {
    let h = harness_with_cache(Arc::new(UnreachableCache)).await;
    let shutdown = CancellationToken::new();
    let pipeline = h.spawn_pipeline(&shutdown).await;
    h.ingest(vec![observation_item()], 1).await;
    h.wait_idle().await;
    let broken = h.ingest(vec![failure_item()], 2).await;
    h.wait_idle().await;

    let stored =
        h.store.suggestion(&h.project, suggestion_id(&broken, 0)).await.expect("store").expect("stored");
    assert_eq!(stored.suggestion.source, Some(HealSource::DomSimilarity), "{}", stored.suggestion.rationale);
    assert_eq!(h.ctx.metrics.cache_errors(), 2, "one failed read, one failed write");
    assert_eq!(h.ctx.metrics.failed(Role::Healer), 0);

    stop(pipeline, &shutdown).await;
}

#[tokio::test]
async fn accepted_but_never_normalised_batches_are_replayed() {
    let h = harness().await;
    let stranded = h.accept(vec![result_item(TestStatus::Flaky), failure_item()], 1).await;
    assert_eq!(h.store.unnormalized_batches(10).await.expect("store").len(), 1);

    let shutdown = CancellationToken::new();
    let pipeline = h.spawn_pipeline(&shutdown).await;
    assert_eq!(replay_unnormalized_batches(&h.ctx).await.expect("replayed"), 1);
    h.wait_idle().await;

    assert!(h.store.unnormalized_batches(10).await.expect("store").is_empty());
    let counts = h.store.counts(&h.project).await.expect("counts");
    assert_eq!((counts.test_results, counts.failures, counts.suggestions), (1, 1, 1));
    assert!(h.store.suggestion(&h.project, suggestion_id(&stranded, 1)).await.expect("store").is_some());
    assert_eq!(replay_unnormalized_batches(&h.ctx).await.expect("nothing left"), 0);

    stop(pipeline, &shutdown).await;
}
