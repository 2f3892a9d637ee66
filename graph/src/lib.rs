//! The knowledge-graph port: typed operations over tests, locators, elements, pages, failures, heals, files
//! and commits. No query string exists outside this crate; adapters compile each operation themselves.
//!
//! - [`KnowledgeGraph`]: the port. Every adapter passes [`conformance`] unchanged.
//! - [`in_process`]: the embedded adapter (maps in memory, optionally journalled to a file so a restart
//!   keeps what was learned).
//! - [`falkordb`]: the distributed adapter (FalkorDB; each call one parameterised Cypher query).
//! - [`GraphError`]: the one error type of this crate.
//!
//! The model (node label — identity within a project):
//! `Test` — test key; `Locator` — selector text; `Element` — the locator's last observed descriptor;
//! `Page` — URL without query/fragment; `Failure` — fingerprint; `Healing` — suggestion id;
//! `File` — path; `Commit` — sha.
//! Edges: `Test-USES->Locator`, `Locator-MATCHED->Element`, `Element-ON->Page`, `Test-DEFINED_IN->File`,
//! `Test-FAILED_WITH->Failure`, `Failure-BROKE->Locator`, `Failure-SEEN_AT->Commit`,
//! `Healing-HEALS->Failure`, `Healing-REPLACES->Locator`, `Healing-SUGGESTS->Locator`,
//! `Commit-TOUCHED->File`.

pub mod conformance;
mod error;
pub mod falkordb;
pub mod in_process;

pub use error::GraphError;

use argus_vocabulary::{
    ElementDescriptor, Failure, HealingSuggestion, LocatorObservation, ProjectId, TestIdentity,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The last element a locator matched, with where and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedElement {
    /// The locator as the test wrote it.
    pub locator: String,
    /// The element it matched last time it worked.
    pub element: ElementDescriptor,
    /// The page, when known.
    pub page_url: Option<String>,
    /// The test that observed it last.
    pub test: TestIdentity,
    /// When it was observed.
    pub observed_at: DateTime<Utc>,
}

/// A commit and the files it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitChange {
    /// The commit sha.
    pub sha: String,
    /// Paths the commit added, modified or removed.
    pub files: Vec<String>,
}

/// Node and edge counts of one project's graph, by label / relationship type.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GraphStats {
    /// Node count per label (`Test`, `Locator`, …); labels with no node are absent.
    pub nodes: BTreeMap<String, u64>,
    /// Edge count per relationship type (`USES`, …); types with no edge are absent.
    pub edges: BTreeMap<String, u64>,
}

/// The knowledge-graph port. Every operation is scoped by project and idempotent: recording the same
/// fact twice leaves the graph as recording it once (observations keep the newest by `observed_at`).
#[async_trait]
pub trait KnowledgeGraph: Send + Sync + 'static {
    /// Records that `observation.locator` worked in `observation.test` and matched `observation.element`
    /// (nodes Test, Locator, Element, Page, File; edges USES, MATCHED, ON, DEFINED_IN).
    async fn record_observation(
        &self,
        project: &ProjectId,
        observation: &LocatorObservation,
        observed_at: DateTime<Utc>,
    ) -> Result<(), GraphError>;

    /// The newest observation of `locator` in the project, from any test.
    async fn last_observation(
        &self,
        project: &ProjectId,
        locator: &str,
    ) -> Result<Option<ObservedElement>, GraphError>;

    /// Records a failure (nodes Test, Failure, Locator when present, Commit when present; edges
    /// FAILED_WITH, BROKE, SEEN_AT).
    async fn record_failure(
        &self,
        project: &ProjectId,
        failure: &Failure,
        at: DateTime<Utc>,
    ) -> Result<(), GraphError>;

    /// Records a heal (node Healing; edges HEALS to the failure, REPLACES to the broken locator and
    /// SUGGESTS to the suggested CSS locator). Abstentions (no suggested locator) are recorded without
    /// SUGGESTS.
    async fn record_healing(
        &self,
        project: &ProjectId,
        suggestion: &HealingSuggestion,
        at: DateTime<Utc>,
    ) -> Result<(), GraphError>;

    /// Records a commit and the files it touched (nodes Commit, File; edges TOUCHED).
    async fn record_commit(
        &self,
        project: &ProjectId,
        change: &CommitChange,
        at: DateTime<Utc>,
    ) -> Result<(), GraphError>;

    /// Every locator the project knows (observed, broken or suggested), sorted.
    async fn locators(&self, project: &ProjectId) -> Result<Vec<String>, GraphError>;

    /// Locators at risk from a change to `changed_files`: locators used by tests defined in those files,
    /// plus locators broken by failures seen at commits that touched those files. Sorted, deduplicated.
    async fn locators_at_risk(
        &self,
        project: &ProjectId,
        changed_files: &[String],
    ) -> Result<Vec<String>, GraphError>;

    /// Node and edge counts for one project.
    async fn stats(&self, project: &ProjectId) -> Result<GraphStats, GraphError>;

    /// Whether the backend answers.
    async fn ping(&self) -> Result<(), GraphError>;
}
