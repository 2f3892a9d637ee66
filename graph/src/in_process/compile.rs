//! The compiler from typed port operations to mutation [`Batch`]es. Pure functions: no state is read, so
//! a batch depends only on its inputs and replaying a journal is deterministic. Newest-wins rules are
//! expressed as guarded sets ([`Batch::set_if_newer`]) that the graph evaluates when it applies them.
//!
//! Identity keys: Test = [`TestIdentity::key`]; Locator and Element = the locator text; Page = the URL
//! without query string and fragment ([`page_key`]); Failure = the fingerprint; Healing = the suggestion
//! id; File = the path; Commit = the sha.

use super::mutation::{Batch, EdgeType, NodeLabel, NodeRef, Properties};
use crate::{CommitChange, GraphError};
use argus_vocabulary::{Failure, HealingSuggestion, LocatorObservation, ProjectId, TestIdentity};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// Property names, shared by the compiler (writes) and the adapter (reads).
pub(crate) mod property {
    /// Test: the spec file.
    pub(crate) const FILE: &str = "file";
    /// Test: the title path (array of strings).
    pub(crate) const TITLE_PATH: &str = "title_path";
    /// Element: the descriptor, as JSON text.
    pub(crate) const DESCRIPTOR: &str = "descriptor";
    /// Element: when it was observed ([`super::timestamp`] text); the newest-wins guard.
    pub(crate) const OBSERVED_AT: &str = "observed_at";
    /// Element: the full page URL of the observation.
    pub(crate) const PAGE_URL: &str = "page_url";
    /// Element: the observing test's spec file.
    pub(crate) const TEST_FILE: &str = "test_file";
    /// Element: the observing test's title path (array of strings).
    pub(crate) const TEST_TITLE_PATH: &str = "test_title_path";
    /// Failure: the error kind.
    pub(crate) const ERROR_KIND: &str = "error_kind";
    /// Failure: the message as last reported.
    pub(crate) const MESSAGE: &str = "message";
    /// Failure: when it was last seen; the newest-wins guard.
    pub(crate) const LAST_SEEN_AT: &str = "last_seen_at";
    /// Healing: calibrated confidence.
    pub(crate) const CONFIDENCE: &str = "confidence";
    /// Healing: apply / validate / escalate.
    pub(crate) const DECISION: &str = "decision";
    /// Healing: which step produced it (absent when every step abstained).
    pub(crate) const SOURCE: &str = "source";
    /// Healing, Commit: when it was recorded; the newest-wins guard.
    pub(crate) const RECORDED_AT: &str = "recorded_at";
}

/// A timestamp as fixed-width RFC 3339 text in UTC with nanoseconds (`2026-01-02T03:04:05.000000000Z`).
/// Fixed width makes text order equal time order, so guards (and Cypher) can compare the text directly.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Reads a [`timestamp`] back.
pub(crate) fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|at| at.with_timezone(&Utc))
}

/// The identity of a page: its URL without fragment and query string.
pub(crate) fn page_key(url: &str) -> &str {
    let without_fragment = url.split_once('#').map_or(url, |(before, _)| before);
    without_fragment.split_once('?').map_or(without_fragment, |(before, _)| before)
}

fn test_node(batch: &mut Batch, test: &TestIdentity) -> NodeRef {
    let node = batch.merge_node(NodeLabel::Test, test.key());
    batch.set(
        &node,
        Properties::from([
            (property::FILE.to_owned(), json!(test.file)),
            (property::TITLE_PATH.to_owned(), json!(test.title_path)),
        ]),
    );
    node
}

/// `record_observation`: Test, File, Locator, Element, Page; USES, DEFINED_IN, MATCHED, ON. The Element's
/// properties (descriptor, page, observing test, time) are set only when this observation is newer than
/// the stored one; the edges are facts and are merged whatever the time.
pub(crate) fn observation(
    project: &ProjectId,
    observation: &LocatorObservation,
    observed_at: DateTime<Utc>,
) -> Result<Batch, GraphError> {
    let descriptor = serde_json::to_string(&observation.element)
        .map_err(|e| GraphError::Codec { what: "element descriptor", message: e.to_string() })?;
    let mut batch = Batch::new("record_observation", project);
    let test = test_node(&mut batch, &observation.test);
    let file = batch.merge_node(NodeLabel::File, observation.test.file.as_str());
    batch.merge_edge(EdgeType::DefinedIn, &test, &file);
    let locator = batch.merge_node(NodeLabel::Locator, observation.locator.as_str());
    batch.merge_edge(EdgeType::Uses, &test, &locator);
    let element = batch.merge_node(NodeLabel::Element, observation.locator.as_str());
    batch.merge_edge(EdgeType::Matched, &locator, &element);
    batch.set_if_newer(
        &element,
        Properties::from([
            (property::DESCRIPTOR.to_owned(), Value::String(descriptor)),
            (property::OBSERVED_AT.to_owned(), Value::String(timestamp(observed_at))),
            (property::PAGE_URL.to_owned(), json!(observation.page_url)),
            (property::TEST_FILE.to_owned(), json!(observation.test.file)),
            (property::TEST_TITLE_PATH.to_owned(), json!(observation.test.title_path)),
        ]),
        property::OBSERVED_AT,
    );
    if let Some(url) = &observation.page_url {
        let page = batch.merge_node(NodeLabel::Page, page_key(url));
        batch.merge_edge(EdgeType::On, &element, &page);
    }
    Ok(batch)
}

/// `record_failure`: Test, Failure, Locator (when known), Commit (when known); FAILED_WITH, BROKE, SEEN_AT.
pub(crate) fn failure(project: &ProjectId, failure: &Failure, at: DateTime<Utc>) -> Batch {
    let mut batch = Batch::new("record_failure", project);
    let test = test_node(&mut batch, &failure.test);
    let failure_node = batch.merge_node(NodeLabel::Failure, failure.fingerprint.as_str());
    batch.set_if_newer(
        &failure_node,
        Properties::from([
            (property::ERROR_KIND.to_owned(), json!(failure.error_kind.as_str())),
            (property::MESSAGE.to_owned(), json!(failure.message)),
            (property::LAST_SEEN_AT.to_owned(), Value::String(timestamp(at))),
        ]),
        property::LAST_SEEN_AT,
    );
    batch.merge_edge(EdgeType::FailedWith, &test, &failure_node);
    if let Some(locator) = &failure.locator {
        let locator = batch.merge_node(NodeLabel::Locator, locator.as_str());
        batch.merge_edge(EdgeType::Broke, &failure_node, &locator);
    }
    if let Some(sha) = &failure.run.commit_sha {
        let commit = batch.merge_node(NodeLabel::Commit, sha.as_str());
        batch.merge_edge(EdgeType::SeenAt, &failure_node, &commit);
    }
    batch
}

/// `record_healing`: Healing, Failure, Locator (broken, and suggested when there is one); HEALS, REPLACES,
/// SUGGESTS (only with a suggestion).
pub(crate) fn healing(project: &ProjectId, suggestion: &HealingSuggestion, at: DateTime<Utc>) -> Batch {
    let mut batch = Batch::new("record_healing", project);
    let healing = batch.merge_node(NodeLabel::Healing, suggestion.id.to_string());
    batch.set_if_newer(
        &healing,
        Properties::from([
            (property::CONFIDENCE.to_owned(), json!(suggestion.confidence)),
            (property::DECISION.to_owned(), json!(suggestion.decision.as_str())),
            (property::SOURCE.to_owned(), json!(suggestion.source.map(|source| source.as_str()))),
            (property::RECORDED_AT.to_owned(), Value::String(timestamp(at))),
        ]),
        property::RECORDED_AT,
    );
    let failure = batch.merge_node(NodeLabel::Failure, suggestion.fingerprint.as_str());
    batch.merge_edge(EdgeType::Heals, &healing, &failure);
    let broken = batch.merge_node(NodeLabel::Locator, suggestion.broken_locator.as_str());
    batch.merge_edge(EdgeType::Replaces, &healing, &broken);
    if let Some(suggested) = &suggestion.suggested {
        let suggested = batch.merge_node(NodeLabel::Locator, suggested.css.as_str());
        batch.merge_edge(EdgeType::Suggests, &healing, &suggested);
    }
    batch
}

/// `record_commit`: Commit, File per path; TOUCHED.
pub(crate) fn commit(project: &ProjectId, change: &CommitChange, at: DateTime<Utc>) -> Batch {
    let mut batch = Batch::new("record_commit", project);
    let commit = batch.merge_node(NodeLabel::Commit, change.sha.as_str());
    batch.set_if_newer(
        &commit,
        Properties::from([(property::RECORDED_AT.to_owned(), Value::String(timestamp(at)))]),
        property::RECORDED_AT,
    );
    for path in &change.files {
        let file = batch.merge_node(NodeLabel::File, path.as_str());
        batch.merge_edge(EdgeType::Touched, &commit, &file);
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn page_key_drops_query_and_fragment() {
        assert_eq!(page_key("https://shop.test/cart?step=2#pay"), "https://shop.test/cart");
        assert_eq!(page_key("https://shop.test/cart#pay?x"), "https://shop.test/cart");
        assert_eq!(page_key("https://shop.test/cart"), "https://shop.test/cart");
    }

    #[test]
    fn timestamps_are_fixed_width_and_round_trip() {
        let whole = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::seconds(1_800_000_000);
        let fraction = whole + TimeDelta::nanoseconds(5);

        let (whole_text, fraction_text) = (timestamp(whole), timestamp(fraction));

        assert_eq!(whole_text.len(), fraction_text.len());
        assert!(whole_text < fraction_text);
        assert_eq!(parse_timestamp(&fraction_text), Some(fraction));
    }

    #[test]
    fn commit_batch_touches_every_file() {
        let project = ProjectId::parse("shop").expect("valid");
        let change = CommitChange { sha: "abc".into(), files: vec!["a.ts".into(), "b.ts".into()] };

        let batch = commit(&project, &change, DateTime::<Utc>::UNIX_EPOCH);

        let touched = batch
            .ops
            .iter()
            .filter(|op| {
                matches!(op, super::super::mutation::Mutation::MergeEdge { edge: EdgeType::Touched, .. })
            })
            .count();
        assert_eq!(touched, 2);
    }
}
