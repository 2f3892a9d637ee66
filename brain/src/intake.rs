//! The intake edge: the wire form of an event batch, its limits, and its conversion into the domain
//! [`IngestBatch`] plus the DOM snapshots it carries.
//!
//! Three types stay apart: [`WireBatch`] (what clients send, strict: unknown fields are rejected),
//! [`IngestBatch`] (the domain value published on the bus) and the store's rows. Snapshot names only exist
//! on the wire: each is replaced by the content hash of its HTML ([`SnapshotHash::of`]).

use crate::config::LimitsConfig;
use argus_vocabulary::{
    ElementDescriptor, ErrorKind, IngestBatch, IngestItem, RunContext, SnapshotHash, TestIdentity, TestStatus,
};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The body of `POST /api/v1/events`.
///
/// ```json
/// {"project": "shop",
///  "run": {"commit_sha": "9f1c2e7", "branch": "main", "ci_run_id": "1234"},
///  "snapshots": {"checkout-v2": {"html": "<!doctype html>...", "url": "https://shop.example/checkout"}},
///  "events": [
///    {"type": "test_result", "test": {"file": "tests/checkout.spec.ts", "title_path": ["checkout", "pays"]},
///     "status": "passed", "retries": 0, "duration_ms": 1840},
///    {"type": "locator_observation", "test": {"file": "...", "title_path": ["..."]},
///     "locator": "#pay-button", "snapshot": "checkout-v1"},
///    {"type": "locator_observation", "test": {"file": "...", "title_path": ["..."]},
///     "locator": "#pay-button", "element": {"tag": "button", "id": "pay-button", "text": "Pay"}},
///    {"type": "failure", "test": {"file": "...", "title_path": ["..."]},
///     "message": "locator('#pay-button'): Timeout 5000ms exceeded", "stack": "...",
///     "locator": "#pay-button", "error_kind": "locator-not-found", "page_url": "https://...",
///     "snapshot": "checkout-v2"}]}
/// ```
///
/// - `project` is optional; when present it must equal the API key's project (else 403).
/// - `run` is optional; every field in it is optional.
/// - `snapshots` is optional: a map from a name, local to this batch, to the page's HTML and optional url.
///   Events refer to a snapshot by that name. A snapshot's url becomes the `page_url` of an event that
///   refers to it and has none.
/// - `events` must not be empty. `type` is `test_result`, `locator_observation` or `failure`.
///   - `test_result`: `status` is `passed`, `failed`, `skipped` or `flaky`; `retries` and `duration_ms`
///     default to 0.
///   - `locator_observation`: a locator that worked, with the `element` it matched, or the `snapshot` of
///     the page to resolve it in (at least one of them).
///   - `failure`: `message` is required; `error_kind` (`locator-not-found`, `timeout`, `assertion`,
///     `network`, `crash`, `other`) and `locator` are derived from the message when absent.
///
/// Unknown fields anywhere are rejected (400), so typos do not silently drop data.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireBatch {
    /// The project, when the client names it; must equal the API key's project.
    #[serde(default)]
    pub project: Option<String>,
    /// Commit, branch and CI run of every event.
    #[serde(default)]
    pub run: Option<RunContext>,
    /// DOM snapshots by batch-local name.
    #[serde(default)]
    pub snapshots: BTreeMap<String, WireSnapshot>,
    /// The events, in order.
    #[serde(default)]
    pub events: Vec<WireEvent>,
}

/// One DOM snapshot on the wire.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireSnapshot {
    /// The page's HTML.
    pub html: String,
    /// The page's url.
    #[serde(default)]
    pub url: Option<String>,
}

/// A test as the client names it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireTest {
    /// The spec file.
    pub file: String,
    /// Describe blocks, then the test title.
    pub title_path: Vec<String>,
}

/// One event on the wire.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum WireEvent {
    /// A test outcome.
    TestResult {
        /// Which test.
        test: WireTest,
        /// `passed`, `failed`, `skipped` or `flaky`.
        status: TestStatus,
        /// Retries that ran.
        #[serde(default)]
        retries: u32,
        /// Duration in milliseconds.
        #[serde(default)]
        duration_ms: u64,
    },
    /// A locator that worked.
    LocatorObservation {
        /// Which test used it.
        test: WireTest,
        /// The locator as the test wrote it.
        locator: String,
        /// The element it matched (boxed: descriptors are large and most events are small).
        #[serde(default)]
        element: Option<Box<ElementDescriptor>>,
        /// The name of the snapshot of the page it worked on.
        #[serde(default)]
        snapshot: Option<String>,
        /// The page's url.
        #[serde(default)]
        page_url: Option<String>,
    },
    /// A test failure.
    Failure {
        /// Which test failed.
        test: WireTest,
        /// The error message.
        message: String,
        /// The stack trace.
        #[serde(default)]
        stack: Option<String>,
        /// The failing locator.
        #[serde(default)]
        locator: Option<String>,
        /// The error kind, when the reporter knows it.
        #[serde(default)]
        error_kind: Option<ErrorKind>,
        /// The page's url.
        #[serde(default)]
        page_url: Option<String>,
        /// The name of the snapshot of the failing page.
        #[serde(default)]
        snapshot: Option<String>,
    },
}

impl WireEvent {
    fn kind(&self) -> &'static str {
        match self {
            WireEvent::TestResult { .. } => "test_result",
            WireEvent::LocatorObservation { .. } => "locator_observation",
            WireEvent::Failure { .. } => "failure",
        }
    }
}

/// Why a batch was refused before anything was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeRejection {
    /// The batch is well-formed JSON but not a valid batch (maps to 422).
    #[error("{field}: {message}")]
    Invalid {
        /// The offending field, with the event index (`events[2].test.title_path`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The batch exceeds a configured limit (maps to 413).
    #[error("{field}: {message}")]
    TooLarge {
        /// The offending field (`snapshots.checkout-v2`, `events`).
        field: String,
        /// Which limit was exceeded.
        message: String,
        /// The metric label (`snapshot_too_large`, `too_many_items`, `too_many_snapshots`).
        reason: &'static str,
    },
}

impl IntakeRejection {
    fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        IntakeRejection::Invalid { field: field.into(), message: message.into() }
    }

    /// The label under which `/metrics` counts this rejection.
    pub fn reason(&self) -> &'static str {
        match self {
            IntakeRejection::Invalid { .. } => "invalid_batch",
            IntakeRejection::TooLarge { reason, .. } => reason,
        }
    }
}

/// A batch that passed validation: the domain batch and the snapshots to store with it.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedBatch {
    /// The domain batch.
    pub batch: IngestBatch,
    /// `(hash, html)` of every snapshot the batch carried, without duplicates.
    pub snapshots: Vec<(SnapshotHash, String)>,
}

impl WireBatch {
    /// Checks the configured size limits (event count, snapshot count and size). Runs before
    /// [`ValidatedBatch::try_from`] so an oversized batch is refused without further work.
    pub fn check_limits(&self, limits: &LimitsConfig) -> Result<(), IntakeRejection> {
        if self.events.len() > limits.max_items_per_batch {
            return Err(IntakeRejection::TooLarge {
                field: "events".to_owned(),
                message: format!(
                    "{} events exceed the limit of {} per batch",
                    self.events.len(),
                    limits.max_items_per_batch
                ),
                reason: "too_many_items",
            });
        }
        if self.snapshots.len() > limits.max_snapshots_per_batch {
            return Err(IntakeRejection::TooLarge {
                field: "snapshots".to_owned(),
                message: format!(
                    "{} snapshots exceed the limit of {} per batch",
                    self.snapshots.len(),
                    limits.max_snapshots_per_batch
                ),
                reason: "too_many_snapshots",
            });
        }
        if let Some((name, snapshot)) =
            self.snapshots.iter().find(|(_, snapshot)| snapshot.html.len() > limits.max_snapshot_bytes)
        {
            return Err(IntakeRejection::TooLarge {
                field: format!("snapshots.{name}"),
                message: format!(
                    "snapshot {name:?} has {} bytes of html, over the limit of {} bytes",
                    snapshot.html.len(),
                    limits.max_snapshot_bytes
                ),
                reason: "snapshot_too_large",
            });
        }
        Ok(())
    }
}

impl TryFrom<WireBatch> for ValidatedBatch {
    type Error = IntakeRejection;

    fn try_from(wire: WireBatch) -> Result<Self, Self::Error> {
        if wire.events.is_empty() {
            return Err(IntakeRejection::invalid("events", "must contain at least one event"));
        }
        let mut named: BTreeMap<String, (SnapshotHash, Option<String>)> = BTreeMap::new();
        let mut snapshots: Vec<(SnapshotHash, String)> = Vec::with_capacity(wire.snapshots.len());
        for (name, snapshot) in wire.snapshots {
            if name.trim().is_empty() {
                return Err(IntakeRejection::invalid("snapshots", "snapshot names must not be empty"));
            }
            let hash = SnapshotHash::of(snapshot.html.as_bytes());
            if !snapshots.iter().any(|(known, _)| *known == hash) {
                snapshots.push((hash.clone(), snapshot.html));
            }
            named.insert(name, (hash, snapshot.url));
        }
        let resolve =
            |index: usize, name: Option<String>| -> Result<Option<&(SnapshotHash, Option<String>)>, _> {
                match name {
                    None => Ok(None),
                    Some(name) => named.get(&name).map(Some).ok_or_else(|| {
                        IntakeRejection::invalid(
                            format!("events[{index}].snapshot"),
                            format!("unknown snapshot {name:?}: it is not in the batch's snapshots"),
                        )
                    }),
                }
            };
        let mut items = Vec::with_capacity(wire.events.len());
        for (index, event) in wire.events.into_iter().enumerate() {
            let kind = event.kind();
            let item = match event {
                WireEvent::TestResult { test, status, retries, duration_ms } => {
                    IngestItem::TestResult { test: test_identity(index, test)?, status, retries, duration_ms }
                }
                WireEvent::LocatorObservation { test, locator, element, snapshot, page_url } => {
                    let test = test_identity(index, test)?;
                    let locator = non_blank(index, "locator", locator)?;
                    if element.is_none() && snapshot.is_none() {
                        return Err(IntakeRejection::invalid(
                            format!("events[{index}]"),
                            format!("a {kind} needs an element or a snapshot"),
                        ));
                    }
                    if element.as_ref().is_some_and(|element| element.tag.trim().is_empty()) {
                        return Err(IntakeRejection::invalid(
                            format!("events[{index}].element.tag"),
                            "must not be empty",
                        ));
                    }
                    let snapshot = resolve(index, snapshot)?;
                    IngestItem::LocatorObservation {
                        test,
                        locator,
                        element: element.map(|element| *element),
                        page_url: page_url.or_else(|| snapshot.and_then(|(_, url)| url.clone())),
                        snapshot: snapshot.map(|(hash, _)| hash.clone()),
                    }
                }
                WireEvent::Failure { test, message, stack, locator, error_kind, page_url, snapshot } => {
                    let test = test_identity(index, test)?;
                    let locator = locator.map(|locator| non_blank(index, "locator", locator)).transpose()?;
                    let snapshot = resolve(index, snapshot)?;
                    IngestItem::Failure {
                        test,
                        error_kind,
                        message,
                        stack,
                        locator,
                        page_url: page_url.or_else(|| snapshot.and_then(|(_, url)| url.clone())),
                        snapshot: snapshot.map(|(hash, _)| hash.clone()),
                    }
                }
            };
            items.push(item);
        }
        Ok(ValidatedBatch { batch: IngestBatch { run: wire.run.unwrap_or_default(), items }, snapshots })
    }
}

fn test_identity(index: usize, test: WireTest) -> Result<TestIdentity, IntakeRejection> {
    if test.file.trim().is_empty() {
        return Err(IntakeRejection::invalid(format!("events[{index}].test.file"), "must not be empty"));
    }
    if test.title_path.is_empty() {
        return Err(IntakeRejection::invalid(
            format!("events[{index}].test.title_path"),
            "must name at least the test title",
        ));
    }
    if let Some(position) = test.title_path.iter().position(|title| title.trim().is_empty()) {
        return Err(IntakeRejection::invalid(
            format!("events[{index}].test.title_path[{position}]"),
            "must not be empty",
        ));
    }
    Ok(TestIdentity { file: test.file, title_path: test.title_path })
}

fn non_blank(index: usize, field: &str, value: String) -> Result<String, IntakeRejection> {
    if value.trim().is_empty() {
        Err(IntakeRejection::invalid(format!("events[{index}].{field}"), "must not be empty"))
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn test_json() -> serde_json::Value {
        json!({"file": "tests/checkout.spec.ts", "title_path": ["checkout", "pays"]})
    }

    fn parse(value: serde_json::Value) -> WireBatch {
        serde_json::from_value(value).expect("valid wire batch")
    }

    fn full_batch() -> WireBatch {
        parse(json!({
            "project": "shop",
            "run": {"commit_sha": "9f1c2e7", "branch": "main", "ci_run_id": "1234"},
            "snapshots": {
                "checkout-v1": {"html": "<button id=\"pay\">Pay</button>", "url": "https://shop.example/checkout"},
                "checkout-v2": {"html": "<button id=\"pay-now\">Pay</button>"}
            },
            "events": [
                {"type": "test_result", "test": test_json(), "status": "passed", "retries": 1, "duration_ms": 1840},
                {"type": "locator_observation", "test": test_json(), "locator": "#pay", "snapshot": "checkout-v1"},
                {"type": "locator_observation", "test": test_json(), "locator": "#pay",
                 "element": {"tag": "button", "id": "pay", "text": "Pay"}},
                {"type": "failure", "test": test_json(), "message": "locator('#pay'): Timeout 5000ms exceeded",
                 "locator": "#pay", "error_kind": "locator-not-found", "snapshot": "checkout-v2",
                 "page_url": "https://shop.example/pay"}
            ]
        }))
    }

    #[test]
    fn full_batch_converts_with_snapshot_names_replaced_by_hashes() {
        let validated = ValidatedBatch::try_from(full_batch()).expect("valid");
        let v1 = SnapshotHash::of(b"<button id=\"pay\">Pay</button>");
        let v2 = SnapshotHash::of(b"<button id=\"pay-now\">Pay</button>");
        assert_eq!(validated.snapshots.len(), 2);
        assert!(validated.snapshots.iter().any(|(hash, _)| *hash == v1));
        assert_eq!(validated.batch.run.commit_sha.as_deref(), Some("9f1c2e7"));
        assert_eq!(validated.batch.items.len(), 4);
        match &validated.batch.items[1] {
            IngestItem::LocatorObservation { snapshot, page_url, element, .. } => {
                assert_eq!(snapshot.as_ref(), Some(&v1));
                assert_eq!(page_url.as_deref(), Some("https://shop.example/checkout"));
                assert!(element.is_none());
            }
            other => panic!("unexpected item {other:?}"),
        }
        match &validated.batch.items[3] {
            IngestItem::Failure { snapshot, page_url, error_kind, .. } => {
                assert_eq!(snapshot.as_ref(), Some(&v2));
                assert_eq!(page_url.as_deref(), Some("https://shop.example/pay"), "own url wins");
                assert_eq!(*error_kind, Some(ErrorKind::LocatorNotFound));
            }
            other => panic!("unexpected item {other:?}"),
        }
    }

    #[test]
    fn identical_snapshots_are_stored_once() {
        let batch = parse(json!({
            "snapshots": {"a": {"html": "<p>same</p>"}, "b": {"html": "<p>same</p>"}},
            "events": [{"type": "locator_observation", "test": test_json(), "locator": "p", "snapshot": "b"}]
        }));
        let validated = ValidatedBatch::try_from(batch).expect("valid");
        assert_eq!(validated.snapshots.len(), 1);
    }

    #[test]
    fn unknown_snapshot_name_is_rejected_naming_the_event() {
        let batch = parse(json!({
            "events": [
                {"type": "test_result", "test": test_json(), "status": "passed"},
                {"type": "failure", "test": test_json(), "message": "boom", "snapshot": "missing"}
            ]
        }));
        let rejection = ValidatedBatch::try_from(batch).expect_err("unknown snapshot");
        assert!(
            matches!(&rejection, IntakeRejection::Invalid { field, .. } if field == "events[1].snapshot")
        );
        assert!(rejection.to_string().contains("\"missing\""));
    }

    #[test]
    fn empty_events_are_rejected() {
        let rejection = ValidatedBatch::try_from(parse(json!({"events": []}))).expect_err("empty");
        assert!(matches!(rejection, IntakeRejection::Invalid { field, .. } if field == "events"));
        assert!(ValidatedBatch::try_from(parse(json!({}))).is_err());
    }

    #[test]
    fn empty_title_path_is_rejected_naming_the_field() {
        let batch = parse(json!({"events": [
            {"type": "test_result", "test": {"file": "a.spec.ts", "title_path": []}, "status": "passed"}
        ]}));
        let rejection = ValidatedBatch::try_from(batch).expect_err("empty title path");
        assert!(
            matches!(&rejection, IntakeRejection::Invalid { field, .. } if field == "events[0].test.title_path")
        );
    }

    #[test]
    fn observation_without_element_or_snapshot_is_rejected() {
        let batch = parse(json!({"events": [
            {"type": "locator_observation", "test": test_json(), "locator": "#pay"}
        ]}));
        let rejection = ValidatedBatch::try_from(batch).expect_err("no element");
        assert!(matches!(&rejection, IntakeRejection::Invalid { field, .. } if field == "events[0]"));
    }

    #[test]
    fn unknown_fields_and_bad_status_fail_to_parse() {
        let unknown = serde_json::from_value::<WireBatch>(json!({
            "events": [{"type": "test_result", "test": test_json(), "status": "passed", "colour": "red"}]
        }));
        assert!(unknown.expect_err("unknown field").to_string().contains("colour"));
        let top_level = serde_json::from_value::<WireBatch>(json!({"evnts": []}));
        assert!(top_level.expect_err("unknown field").to_string().contains("evnts"));
        let bad_status = serde_json::from_value::<WireBatch>(json!({
            "events": [{"type": "test_result", "test": test_json(), "status": "pased"}]
        }));
        assert!(bad_status.expect_err("bad status").to_string().contains("pased"));
    }

    #[test]
    fn limits_reject_too_many_events_and_oversized_snapshots() {
        let batch = full_batch();
        let roomy = LimitsConfig::default();
        assert_eq!(batch.check_limits(&roomy), Ok(()));

        let few_items = LimitsConfig { max_items_per_batch: 3, ..roomy };
        let rejection = batch.check_limits(&few_items).expect_err("too many items");
        assert_eq!(rejection.reason(), "too_many_items");

        let small_snapshots = LimitsConfig { max_snapshot_bytes: 30, ..roomy };
        let rejection = batch.check_limits(&small_snapshots).expect_err("snapshot too large");
        assert_eq!(rejection.reason(), "snapshot_too_large");
        assert!(rejection.to_string().contains("checkout-v2"), "{rejection}");

        let few_snapshots = LimitsConfig { max_snapshots_per_batch: 1, ..roomy };
        assert_eq!(batch.check_limits(&few_snapshots).expect_err("too many").reason(), "too_many_snapshots");
    }
}
