//! The normalizer: accepted ingest batches in, canonical events out.
//!
//! Failure understanding is pure and shared with the report parsers, so it lives in
//! [`argus_reports::failure`] and is re-exported here:
//! - [`classify()`]: the error kind of a failure message, for reporters that did not send one.
//! - [`locator_extract`]: the locator a failure message names, for reporters that did not send one.
//! - [`fingerprint`]: message parameterisation, in-app stack frames and the failure fingerprint.
//!
//! The step is split into a pure plan ([`plan_batch`]: items → child envelopes and skipped items) and a
//! thin shell ([`Normalizer::normalize`]) that loads the snapshots the plan needs, publishes the children
//! and marks the batch normalised. Child event ids are derived from the batch id and the item index, so a
//! replayed batch republishes the same ids and every downstream handler sees a duplicate.

pub use argus_reports::failure::{classify, fingerprint, locator_extract};

use crate::{Outcome, Role, WorkerContext, WorkerError, decode, expect_topic};
use argus_bus::{Delivery, publish};
use argus_healing::{CandidatePage, PageLimits, describe};
use argus_vocabulary::{
    ElementDescriptor, Envelope, ErrorKind, EventId, Failure, IngestBatch, IngestItem, LocatorObservation,
    ProjectId, RunContext, SnapshotHash, TestIdentity, TestResult, Topic,
};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use tracing::{debug, info, instrument, warn};

/// At most this many unnormalised batches are replayed per start-up; the rest follow at the next one.
const REPLAY_LIMIT: u32 = 10_000;

/// Configuration of the normalizer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizerConfig {
    /// Limits for parsing the snapshots that locator observations are resolved in (the engine's defaults:
    /// 8 MiB of html, 50 000 elements, depth 256).
    #[serde(default)]
    pub page_limits: PageLimits,
}

impl NormalizerConfig {
    /// Builds the normalizer.
    pub fn build(&self) -> Normalizer {
        Normalizer { page_limits: self.page_limits.clone() }
    }
}

/// Turns an [`IngestBatch`] into test results, fingerprinted failures and locator observations.
#[derive(Debug, Clone)]
pub struct Normalizer {
    page_limits: PageLimits,
}

/// One event derived from a batch item.
#[derive(Debug, Clone, PartialEq)]
pub enum ChildEvent {
    /// For `argus.test.executed`.
    Executed(Envelope<TestResult>),
    /// For `argus.test.failed`.
    Failed(Envelope<Failure>),
    /// For `argus.locator.observed` (boxed: an element descriptor is large).
    Observed(Box<Envelope<LocatorObservation>>),
}

impl ChildEvent {
    /// The child's event id.
    pub fn event_id(&self) -> EventId {
        match self {
            ChildEvent::Executed(envelope) => envelope.event_id,
            ChildEvent::Failed(envelope) => envelope.event_id,
            ChildEvent::Observed(envelope) => envelope.event_id,
        }
    }
}

/// A batch item the normalizer could not turn into an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedItem {
    /// The item's index in the batch.
    pub index: usize,
    /// The observation's locator.
    pub locator: String,
    /// Why it was skipped.
    pub reason: String,
}

/// The events a batch yields and the items it skips.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchPlan {
    /// Child events, in item order.
    pub children: Vec<ChildEvent>,
    /// Items that yield no event.
    pub skipped: Vec<SkippedItem>,
}

impl Normalizer {
    /// Handles one delivery from `argus.ingest.batch`.
    pub async fn handle(&self, ctx: &WorkerContext, delivery: &Delivery) -> Result<Outcome, WorkerError> {
        expect_topic(Role::Normalizer, delivery, Topic::IngestBatch)?;
        let batch = decode::<IngestBatch>(delivery)?;
        self.normalize(ctx, &batch).await
    }

    /// Normalises one batch: publishes its child events, then marks it normalised.
    #[instrument(skip_all, fields(project = %batch.project_id, batch_id = %batch.event_id, items = batch.payload.items.len()))]
    pub async fn normalize(
        &self,
        ctx: &WorkerContext,
        batch: &Envelope<IngestBatch>,
    ) -> Result<Outcome, WorkerError> {
        let mut snapshots = BTreeMap::new();
        for hash in snapshots_to_resolve(&batch.payload) {
            let html = ctx.store.dom_snapshot(&batch.project_id, &hash).await?;
            snapshots.insert(hash, html);
        }
        let plan = plan_batch(batch, &snapshots, &self.page_limits);
        for skipped in &plan.skipped {
            ctx.metrics.record_skipped_observation();
            warn!(
                item = skipped.index,
                locator = %skipped.locator,
                reason = %skipped.reason,
                "locator observation skipped"
            );
        }
        for child in &plan.children {
            match child {
                ChildEvent::Executed(envelope) => publish(ctx.bus.as_ref(), envelope).await?,
                ChildEvent::Failed(envelope) => publish(ctx.bus.as_ref(), envelope).await?,
                ChildEvent::Observed(envelope) => publish(ctx.bus.as_ref(), envelope.as_ref()).await?,
            }
        }
        // Only now: a crash before this line replays the batch, and the replay republishes the same ids.
        ctx.store.mark_batch_normalized(&batch.project_id, batch.event_id).await?;
        debug!(children = plan.children.len(), skipped = plan.skipped.len(), "batch normalised");
        Ok(Outcome::Done)
    }
}

/// The snapshots the batch's observations must be resolved in (observations without an element).
fn snapshots_to_resolve(batch: &IngestBatch) -> BTreeSet<SnapshotHash> {
    batch
        .items
        .iter()
        .filter_map(|item| match item {
            IngestItem::LocatorObservation { element: None, snapshot: Some(hash), .. } => Some(hash.clone()),
            _ => None,
        })
        .collect()
}

/// The pure part of normalisation: every item of `batch` becomes a child event or a skipped item.
/// `snapshots` holds the html of every snapshot an observation refers to (`None`: not stored).
pub fn plan_batch(
    batch: &Envelope<IngestBatch>,
    snapshots: &BTreeMap<SnapshotHash, Option<String>>,
    page_limits: &PageLimits,
) -> BatchPlan {
    let project = &batch.project_id;
    let run = &batch.payload.run;
    let mut pages = PageMemo::default();
    let mut plan = BatchPlan::default();
    for (index, item) in batch.payload.items.iter().enumerate() {
        let event_id = batch.event_id.derive(&index.to_string());
        match item {
            IngestItem::TestResult { test, status, retries, duration_ms } => {
                plan.children.push(ChildEvent::Executed(Envelope::new(
                    event_id,
                    project.clone(),
                    batch.occurred_at,
                    TestResult {
                        test: test.clone(),
                        status: *status,
                        retries: *retries,
                        duration_ms: *duration_ms,
                        run: run.clone(),
                    },
                )));
            }
            IngestItem::Failure { test, error_kind, message, stack, locator, page_url, snapshot } => {
                let failure = FailureReport {
                    test,
                    error_kind: *error_kind,
                    message,
                    stack: stack.as_deref(),
                    locator: locator.as_deref(),
                    page_url: page_url.as_deref(),
                    snapshot: snapshot.as_ref(),
                };
                plan.children.push(ChildEvent::Failed(Envelope::new(
                    event_id,
                    project.clone(),
                    batch.occurred_at,
                    normalize_failure(project, run, failure),
                )));
            }
            IngestItem::LocatorObservation { test, locator, element, snapshot, page_url } => {
                let resolved = match (element, snapshot) {
                    (Some(element), _) => Ok(element.clone()),
                    (None, Some(hash)) => pages.describe(hash, snapshots, page_limits, locator),
                    (None, None) => Err("neither an element nor a dom snapshot was sent".to_owned()),
                };
                match resolved {
                    Ok(element) => plan.children.push(ChildEvent::Observed(Box::new(Envelope::new(
                        event_id,
                        project.clone(),
                        batch.occurred_at,
                        LocatorObservation {
                            test: test.clone(),
                            locator: locator.clone(),
                            element,
                            page_url: page_url.clone(),
                            run: run.clone(),
                        },
                    )))),
                    Err(reason) => plan.skipped.push(SkippedItem { index, locator: locator.clone(), reason }),
                }
            }
        }
    }
    plan
}

/// Snapshots parsed once per batch, however many observations refer to them.
#[derive(Default)]
struct PageMemo {
    pages: BTreeMap<SnapshotHash, Result<CandidatePage, String>>,
}

impl PageMemo {
    fn describe(
        &mut self,
        hash: &SnapshotHash,
        snapshots: &BTreeMap<SnapshotHash, Option<String>>,
        page_limits: &PageLimits,
        locator: &str,
    ) -> Result<ElementDescriptor, String> {
        let page = self.pages.entry(hash.clone()).or_insert_with(|| {
            match snapshots.get(hash).and_then(Option::as_deref) {
                Some(html) => CandidatePage::parse(html, page_limits)
                    .map_err(|error| format!("dom snapshot {hash} could not be parsed: {error}")),
                None => Err(format!("dom snapshot {hash} is not stored")),
            }
        });
        let page = page.as_ref().map_err(Clone::clone)?;
        match describe(page, locator) {
            Ok(Some(element)) => Ok(element),
            Ok(None) => Err("the locator matches no element or more than one in the dom snapshot".to_owned()),
            Err(error) => Err(format!("the locator cannot be resolved: {error}")),
        }
    }
}

/// A failure as the reporter sent it.
#[derive(Debug, Clone, Copy)]
pub struct FailureReport<'a> {
    /// Which test.
    pub test: &'a TestIdentity,
    /// The reporter's error kind, if it sent one.
    pub error_kind: Option<ErrorKind>,
    /// The error message.
    pub message: &'a str,
    /// The stack trace.
    pub stack: Option<&'a str>,
    /// The reporter's locator, if it sent one.
    pub locator: Option<&'a str>,
    /// The page the test was on.
    pub page_url: Option<&'a str>,
    /// The failing page's snapshot.
    pub snapshot: Option<&'a SnapshotHash>,
}

/// Classifies (when the reporter did not), extracts the locator (when the reporter did not) and
/// fingerprints a failure.
pub fn normalize_failure(project: &ProjectId, run: &RunContext, report: FailureReport<'_>) -> Failure {
    let error_kind = report.error_kind.unwrap_or_else(|| classify::classify(report.message, report.stack));
    let locator = report
        .locator
        .map(str::trim)
        .filter(|locator| !locator.is_empty())
        .map(str::to_owned)
        .or_else(|| locator_extract::extract_locator(report.message))
        .or_else(|| report.stack.and_then(locator_extract::extract_locator));
    let test_key = report.test.key();
    let fingerprint = fingerprint::failure_fingerprint(&fingerprint::FingerprintInput {
        project,
        test_key: &test_key,
        error_kind,
        locator: locator.as_deref(),
        message: report.message,
        stack: report.stack,
    });
    Failure {
        test: report.test.clone(),
        error_kind,
        message: report.message.to_owned(),
        stack: report.stack.map(str::to_owned),
        locator,
        page_url: report.page_url.map(str::to_owned),
        run: run.clone(),
        snapshot: report.snapshot.cloned(),
        fingerprint,
    }
}

/// Re-publishes accepted batches the normalizer never finished (start-up recovery: the process may have
/// stopped between accepting a batch and normalising it). Returns how many were republished.
#[instrument(skip_all)]
pub async fn replay_unnormalized_batches(ctx: &WorkerContext) -> Result<u64, WorkerError> {
    let batches = ctx.store.unnormalized_batches(REPLAY_LIMIT).await?;
    for batch in &batches {
        publish(ctx.bus.as_ref(), batch).await?;
    }
    let replayed = batches.len() as u64;
    if replayed > 0 {
        info!(replayed, "republished unnormalised batches");
    }
    if replayed == u64::from(REPLAY_LIMIT) {
        warn!(limit = REPLAY_LIMIT, "replay limit reached; older batches follow at the next start-up");
    }
    Ok(replayed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argus_vocabulary::TestStatus;
    use chrono::{TimeZone, Utc};

    fn test_identity(title: &str) -> TestIdentity {
        TestIdentity {
            file: "tests/checkout.spec.ts".into(),
            title_path: vec!["checkout".into(), title.into()],
        }
    }

    fn batch(items: Vec<IngestItem>) -> Envelope<IngestBatch> {
        Envelope::new(
            EventId::new_random(),
            ProjectId::parse("shop").expect("valid project"),
            Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().expect("valid time"),
            IngestBatch {
                run: RunContext { commit_sha: Some("abc123".into()), branch: None, ci_run_id: None },
                items,
            },
        )
    }

    const PAGE: &str = r#"<html><body><form><button id="pay" data-testid="pay">Pay</button>
        <button class="secondary">Back</button><button class="secondary">Cancel</button></form></body></html>"#;

    #[test]
    fn plan_derives_ids_from_the_batch_and_keeps_project_time_and_run() {
        let batch = batch(vec![
            IngestItem::TestResult {
                test: test_identity("pays"),
                status: TestStatus::Passed,
                retries: 0,
                duration_ms: 120,
            },
            IngestItem::Failure {
                test: test_identity("pays"),
                error_kind: None,
                message: "TimeoutError: locator.click: Timeout 30000ms exceeded.\nCall log:\n  - waiting for locator('#pay')".into(),
                stack: None,
                locator: None,
                page_url: None,
                snapshot: None,
            },
        ]);
        let plan = plan_batch(&batch, &BTreeMap::new(), &PageLimits::default());
        assert_eq!(plan.skipped, []);
        assert_eq!(plan.children.len(), 2);
        assert_eq!(plan.children[0].event_id(), batch.event_id.derive("0"));
        assert_eq!(plan.children[1].event_id(), batch.event_id.derive("1"));
        let ChildEvent::Failed(failure) = &plan.children[1] else { panic!("second child is the failure") };
        assert_eq!(failure.project_id, batch.project_id);
        assert_eq!(failure.occurred_at, batch.occurred_at);
        assert_eq!(failure.payload.run, batch.payload.run);
        assert_eq!(failure.payload.error_kind, ErrorKind::LocatorNotFound);
        assert_eq!(failure.payload.locator.as_deref(), Some("#pay"));
        // Planning again (a replay) gives the same children.
        assert_eq!(plan_batch(&batch, &BTreeMap::new(), &PageLimits::default()), plan);
    }

    #[test]
    fn reporter_kind_and_locator_win_over_the_message() {
        let project = ProjectId::parse("shop").expect("valid project");
        let test = test_identity("pays");
        let failure = normalize_failure(
            &project,
            &RunContext::default(),
            FailureReport {
                test: &test,
                error_kind: Some(ErrorKind::Timeout),
                message: "waiting for locator('#pay')",
                stack: None,
                locator: Some("#checkout"),
                page_url: Some("https://shop.test/checkout"),
                snapshot: None,
            },
        );
        assert_eq!(failure.error_kind, ErrorKind::Timeout);
        assert_eq!(failure.locator.as_deref(), Some("#checkout"));
        assert_eq!(failure.page_url.as_deref(), Some("https://shop.test/checkout"));
    }

    #[test]
    fn observations_resolve_in_snapshots_or_are_skipped() {
        let hash = SnapshotHash::of(PAGE.as_bytes());
        let missing = SnapshotHash::of(b"never stored");
        let observe = |locator: &str, snapshot: Option<SnapshotHash>| IngestItem::LocatorObservation {
            test: test_identity("pays"),
            locator: locator.into(),
            element: None,
            snapshot,
            page_url: None,
        };
        let batch = batch(vec![
            observe("#pay", Some(hash.clone())),
            observe("button.secondary", Some(hash.clone())),
            observe("#nothing-here", Some(hash.clone())),
            observe("#pay", Some(missing.clone())),
            observe("#pay", None),
            IngestItem::LocatorObservation {
                test: test_identity("pays"),
                locator: "#given".into(),
                element: Some(ElementDescriptor::with_tag("a")),
                snapshot: None,
                page_url: None,
            },
        ]);
        let snapshots = BTreeMap::from([(hash, Some(PAGE.to_owned())), (missing, None)]);
        let plan = plan_batch(&batch, &snapshots, &PageLimits::default());

        assert_eq!(plan.skipped.iter().map(|s| s.index).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(plan.children.len(), 2);
        let ChildEvent::Observed(pay) = &plan.children[0] else { panic!("first child is an observation") };
        assert_eq!(pay.event_id, batch.event_id.derive("0"));
        assert_eq!(pay.payload.element.tag, "button");
        assert_eq!(pay.payload.element.id.as_deref(), Some("pay"));
        let ChildEvent::Observed(given) = &plan.children[1] else { panic!("second child is an observation") };
        assert_eq!(given.event_id, batch.event_id.derive("5"));
        assert_eq!(given.payload.element.tag, "a");
        assert_eq!(snapshots_to_resolve(&batch.payload).len(), 2);
    }

    #[test]
    fn a_snapshot_over_the_limits_skips_its_observations() {
        let hash = SnapshotHash::of(PAGE.as_bytes());
        let batch = batch(vec![IngestItem::LocatorObservation {
            test: test_identity("pays"),
            locator: "#pay".into(),
            element: None,
            snapshot: Some(hash.clone()),
            page_url: None,
        }]);
        let limits = PageLimits { max_html_bytes: 10, ..PageLimits::default() };
        let plan = plan_batch(&batch, &BTreeMap::from([(hash, Some(PAGE.to_owned()))]), &limits);
        assert_eq!(plan.children, []);
        assert_eq!(plan.skipped.len(), 1);
        assert!(plan.skipped[0].reason.contains("could not be parsed"), "{}", plan.skipped[0].reason);
    }
}
