//! Event payloads. Each payload implements [`Payload`], which ties it to its topic and partition key.
//!
//! Flow: the HTTP edge publishes an [`IngestBatch`]; the normalizer turns it into [`TestResult`]s,
//! fingerprinted [`Failure`]s and [`LocatorObservation`]s; the correlator records them and emits a
//! [`HealingRequest`] per locator failure; the healer answers each with a [`HealingSuggestion`] (which may
//! be an abstention). A message that keeps failing becomes a [`DeadLetter`].

use crate::{
    ElementDescriptor, EventId, Fingerprint, ProjectId, SnapshotHash, SuggestionId, TestIdentity, Topic,
    envelope::Payload,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a run happened: commit, branch and CI run. Every field is optional because local runs have none.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunContext {
    /// The commit under test (full or abbreviated sha).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_sha: Option<String>,
    /// The branch under test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The CI system's run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_run_id: Option<String>,
}

/// The outcome of one test, after retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    /// Passed on the first attempt.
    Passed,
    /// Failed on every attempt.
    Failed,
    /// Not run.
    Skipped,
    /// Failed at least once, then passed on a retry.
    Flaky,
}

impl TestStatus {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TestStatus::Passed => "passed",
            TestStatus::Failed => "failed",
            TestStatus::Skipped => "skipped",
            TestStatus::Flaky => "flaky",
        }
    }
}

/// A canonical test result (topic `argus.test.executed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// Which test.
    pub test: TestIdentity,
    /// The outcome after retries.
    pub status: TestStatus,
    /// How many retries ran (0 when the first attempt decided).
    pub retries: u32,
    /// Total duration in milliseconds.
    pub duration_ms: u64,
    /// Commit, branch, CI run.
    pub run: RunContext,
}

impl Payload for TestResult {
    const TOPIC: Topic = Topic::TestExecuted;
    fn partition_key(&self, project: &ProjectId) -> String {
        format!("{project}/{}", self.test.key())
    }
}

/// What kind of error failed a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// A locator matched nothing (or the wrong number of elements). The only kind the healer acts on.
    LocatorNotFound,
    /// A wait ran out of time without a more specific cause.
    Timeout,
    /// An assertion on a value failed.
    Assertion,
    /// A request failed (DNS, connection refused, HTTP error).
    Network,
    /// The browser, page or runner crashed.
    Crash,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The wire name (`locator-not-found`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::LocatorNotFound => "locator-not-found",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Assertion => "assertion",
            ErrorKind::Network => "network",
            ErrorKind::Crash => "crash",
            ErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fingerprinted failure (topic `argus.test.failed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// Which test failed.
    pub test: TestIdentity,
    /// The classified error kind.
    pub error_kind: ErrorKind,
    /// The error message as reported.
    pub message: String,
    /// The stack trace, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    /// The locator that failed, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locator: Option<String>,
    /// The page the test was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    /// Commit, branch, CI run.
    pub run: RunContext,
    /// The DOM snapshot of the failing page, by content hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotHash>,
    /// The stable fingerprint: equal fingerprints are the same failure.
    pub fingerprint: Fingerprint,
}

impl Payload for Failure {
    const TOPIC: Topic = Topic::TestFailed;
    fn partition_key(&self, project: &ProjectId) -> String {
        format!("{project}/{}", self.test.key())
    }
}

/// A locator that worked, with the element it matched (topic `argus.locator.observed`). The reference data a
/// later heal of the same locator compares against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocatorObservation {
    /// The test that used the locator.
    pub test: TestIdentity,
    /// The locator as the test wrote it.
    pub locator: String,
    /// The element it matched.
    pub element: ElementDescriptor,
    /// The page it was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    /// Commit, branch, CI run.
    pub run: RunContext,
}

impl Payload for LocatorObservation {
    const TOPIC: Topic = Topic::LocatorObserved;
    fn partition_key(&self, project: &ProjectId) -> String {
        format!("{project}/{}", self.test.key())
    }
}

/// A request to heal a broken locator (topic `argus.healing.requested`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealingRequest {
    /// The failure event this request answers.
    pub failure_event_id: EventId,
    /// The failing test.
    pub test: TestIdentity,
    /// The failure's fingerprint (the knowledge-base key).
    pub fingerprint: Fingerprint,
    /// The locator that stopped matching.
    pub broken_locator: String,
    /// The page the test was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    /// The DOM snapshot of the failing page, when the runner sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotHash>,
    /// Commit, branch, CI run.
    pub run: RunContext,
}

impl Payload for HealingRequest {
    const TOPIC: Topic = Topic::HealingRequested;
    fn partition_key(&self, project: &ProjectId) -> String {
        format!("{project}/{}", self.test.key())
    }
}

/// Where a suggestion came from, in the order the healer tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealSource {
    /// A healing pattern learned from accepted feedback.
    KnowledgeBase,
    /// A heal computed earlier for the same fingerprint, from the cache.
    Cache,
    /// Cross-test learning: a knowledge-base pattern learned for the same or a similar locator in another
    /// test, offered at the pattern's confidence × [`HealSource::CROSS_TEST_DISCOUNT`].
    CrossTest,
    /// DOM similarity between the last observation and the failing page.
    DomSimilarity,
    /// A language model (last resort; not wired in yet).
    Llm,
}

impl HealSource {
    /// Every source, in the order the healer tries them.
    pub const ALL: [HealSource; 5] = [
        HealSource::KnowledgeBase,
        HealSource::CrossTest,
        HealSource::Cache,
        HealSource::DomSimilarity,
        HealSource::Llm,
    ];

    /// A pattern learned in another test is offered at its confidence times this factor: the locator is
    /// the same or similar, but the failure is not the one the pattern was confirmed for.
    pub const CROSS_TEST_DISCOUNT: f64 = 0.9;

    /// Two locators are "similar" for cross-test learning from this normalised Levenshtein similarity on.
    pub const CROSS_TEST_MIN_SIMILARITY: f64 = 0.8;

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            HealSource::KnowledgeBase => "knowledge_base",
            HealSource::Cache => "cache",
            HealSource::CrossTest => "cross_test",
            HealSource::DomSimilarity => "dom_similarity",
            HealSource::Llm => "llm",
        }
    }
}

/// What the healer decided to do with its best candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealDecision {
    /// Confidence above [`HealDecision::APPLY_ABOVE`]: safe to apply.
    Apply,
    /// Confidence in `[VALIDATE_FROM, APPLY_ABOVE]`: suggest, but validate before applying.
    Validate,
    /// Confidence below [`HealDecision::VALIDATE_FROM`], or no candidate: hand over to a person (or the next
    /// step). A wrong heal is worse than none.
    Escalate,
}

impl HealDecision {
    /// Strictly above this confidence a heal is applied.
    pub const APPLY_ABOVE: f64 = 0.9;
    /// From this confidence on (inclusive) a heal is suggested for validation.
    pub const VALIDATE_FROM: f64 = 0.5;

    /// The decision for a confidence in `[0, 1]`.
    pub fn for_confidence(confidence: f64) -> Self {
        if confidence > Self::APPLY_ABOVE {
            HealDecision::Apply
        } else if confidence >= Self::VALIDATE_FROM {
            HealDecision::Validate
        } else {
            HealDecision::Escalate
        }
    }

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            HealDecision::Apply => "apply",
            HealDecision::Validate => "validate",
            HealDecision::Escalate => "escalate",
        }
    }
}

/// A selector for the healed element, in the forms a test author can paste.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestedLocator {
    /// A CSS selector that matches exactly the chosen element in the failing page.
    pub css: String,
    /// An XPath for the same element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xpath: Option<String>,
    /// A Playwright locator (`getByTestId('pay')`), when one maps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playwright: Option<String>,
}

/// The healer's answer to one [`HealingRequest`] (topic `argus.healing.completed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealingSuggestion {
    /// Stable id, derived from the request ([`SuggestionId::for_request`]).
    pub id: SuggestionId,
    /// The request this answers.
    pub request_event_id: EventId,
    /// The failure behind the request.
    pub failure_event_id: EventId,
    /// The failing test.
    pub test: TestIdentity,
    /// The failure fingerprint.
    pub fingerprint: Fingerprint,
    /// The locator that broke.
    pub broken_locator: String,
    /// The suggested replacement; `None` when the healer abstained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested: Option<SuggestedLocator>,
    /// Calibrated confidence in `[0, 1]` (0 when abstaining).
    pub confidence: f64,
    /// Which step produced the suggestion; `None` when every step abstained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<HealSource>,
    /// What to do with it.
    pub decision: HealDecision,
    /// One human sentence on why (which attributes matched, why it abstained).
    pub rationale: String,
}

impl Payload for HealingSuggestion {
    const TOPIC: Topic = Topic::HealingCompleted;
    fn partition_key(&self, project: &ProjectId) -> String {
        format!("{project}/{}", self.test.key())
    }
}

/// The review state of a stored suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionStatus {
    /// No feedback yet.
    Open,
    /// A person accepted it: it became (or strengthened) a knowledge-base pattern.
    Accepted,
    /// A person rejected it: the pattern's failure count went up.
    Rejected,
}

impl SuggestionStatus {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            SuggestionStatus::Open => "open",
            SuggestionStatus::Accepted => "accepted",
            SuggestionStatus::Rejected => "rejected",
        }
    }
}

/// A reviewer's verdict on a suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackVerdict {
    /// The suggested locator is right.
    Accepted,
    /// The suggested locator is wrong.
    Rejected,
}

/// One item of an accepted ingest batch, with DOM snapshots already replaced by their content hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
// The observation variant carries a whole descriptor; items are decoded once and moved, never copied in bulk,
// so boxing it would only add an allocation per observation.
#[allow(clippy::large_enum_variant)]
pub enum IngestItem {
    /// A test outcome.
    TestResult {
        /// Which test.
        test: TestIdentity,
        /// The outcome.
        status: TestStatus,
        /// Retries that ran.
        #[serde(default)]
        retries: u32,
        /// Duration in milliseconds.
        #[serde(default)]
        duration_ms: u64,
    },
    /// A failure, not yet classified or fingerprinted.
    Failure {
        /// Which test.
        test: TestIdentity,
        /// The error kind when the reporter knew it; otherwise the normalizer classifies the message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_kind: Option<ErrorKind>,
        /// The error message.
        message: String,
        /// The stack trace.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stack: Option<String>,
        /// The failing locator, when the reporter knew it; otherwise extracted from the message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        locator: Option<String>,
        /// The page the test was on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page_url: Option<String>,
        /// The DOM snapshot of the failing page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        snapshot: Option<SnapshotHash>,
    },
    /// A locator that worked: either with the element's descriptor, or with the snapshot of the page it
    /// worked on (the normalizer then resolves the locator in the snapshot to describe the element).
    LocatorObservation {
        /// The test that used it.
        test: TestIdentity,
        /// The locator.
        locator: String,
        /// The matched element, when the reporter described it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        element: Option<ElementDescriptor>,
        /// The page's DOM snapshot, when the element is to be resolved from it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        snapshot: Option<SnapshotHash>,
        /// The page it was on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page_url: Option<String>,
    },
}

/// A batch accepted by the HTTP edge (topic `argus.ingest.batch`). Its envelope's event id is the batch id;
/// the normalizer derives each item's event id from it, so replaying a batch is harmless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestBatch {
    /// Commit, branch and CI run for every item.
    pub run: RunContext,
    /// The items, in the order the client sent them.
    pub items: Vec<IngestItem>,
}

impl Payload for IngestBatch {
    const TOPIC: Topic = Topic::IngestBatch;
}

/// A message that failed its handler repeatedly (topic `argus.dlq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The topic the message came from.
    pub original_topic: String,
    /// The consumer group that gave up on it.
    pub consumer_group: String,
    /// Its partition key.
    pub key: String,
    /// Its payload, as UTF-8 (lossy for non-UTF-8 bytes).
    pub payload: String,
    /// The last error, with its cause chain.
    pub error: String,
    /// How many times it was tried.
    pub attempts: u32,
    /// Where it sat in the source (for Kafka `partition/offset`; for the in-process bus a sequence number).
    pub coordinates: String,
}

impl Payload for DeadLetter {
    const TOPIC: Topic = Topic::DeadLetter;
    fn partition_key(&self, _project: &ProjectId) -> String {
        self.key.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Envelope, SCHEMA_VERSION};
    use chrono::TimeZone;

    #[test]
    fn decision_thresholds_match_the_policy() {
        assert_eq!(HealDecision::for_confidence(0.95), HealDecision::Apply);
        assert_eq!(HealDecision::for_confidence(0.9), HealDecision::Validate);
        assert_eq!(HealDecision::for_confidence(0.5), HealDecision::Validate);
        assert_eq!(HealDecision::for_confidence(0.49), HealDecision::Escalate);
        assert_eq!(HealDecision::for_confidence(0.0), HealDecision::Escalate);
    }

    #[test]
    fn error_kinds_serialise_kebab_case() {
        assert_eq!(
            serde_json::to_string(&ErrorKind::LocatorNotFound).ok().as_deref(),
            Some("\"locator-not-found\"")
        );
    }

    #[test]
    fn envelope_round_trips_and_rejects_future_schema() {
        let project = ProjectId::parse("shop").expect("valid");
        let at = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single().expect("valid time");
        let envelope = Envelope::new(
            EventId::new_random(),
            project,
            at,
            IngestBatch { run: RunContext::default(), items: vec![] },
        );
        let bytes = envelope.to_bytes();
        assert_eq!(Envelope::<IngestBatch>::from_bytes(&bytes).ok(), Some(envelope.clone()));

        let mut future: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        future["schema_version"] = serde_json::json!(SCHEMA_VERSION + 1);
        let future = serde_json::to_vec(&future).expect("json");
        assert!(matches!(
            Envelope::<IngestBatch>::from_bytes(&future),
            Err(crate::VocabularyError::UnsupportedSchemaVersion { .. })
        ));
    }

    #[test]
    fn one_tests_events_share_a_partition_key() {
        let project = ProjectId::parse("shop").expect("valid");
        let test = TestIdentity { file: "a.spec.ts".into(), title_path: vec!["t".into()] };
        let result = TestResult {
            test: test.clone(),
            status: TestStatus::Passed,
            retries: 0,
            duration_ms: 1,
            run: RunContext::default(),
        };
        let observation = LocatorObservation {
            test,
            locator: "#x".into(),
            element: ElementDescriptor::with_tag("a"),
            page_url: None,
            run: RunContext::default(),
        };
        assert_eq!(result.partition_key(&project), observation.partition_key(&project));
    }
}
