//! The embedded adapter: a small property graph in memory, optionally journalled to a file so a restart
//! keeps what was learned. See `graph/design.md` for the model, the identity rules and the journal.
//!
//! - [`InProcessGraph`]: the adapter; implements [`KnowledgeGraph`].
//! - `mutation`: the three mutations every operation compiles into (`MergeNode`, `MergeEdge`,
//!   `SetProperties`) and the `Batch` that groups one call's mutations.
//! - `compile`: typed operation → batch (pure), identity keys and property names.
//! - `property_graph`: nodes, edges, the identity and edge indexes, adjacency lists, per-project counts.
//! - `journal`: one JSON line per batch, replayed on open, tolerant of a torn last line.
//!
//! Concurrency: the graph and the journal sit behind one `std::sync::RwLock`, never held across an
//! `.await`. A write compiles its batch, then — on a blocking thread when there is a journal — takes the
//! write lock, drops the no-op mutations, appends the rest to the journal and applies them. The journal's
//! line order is therefore the order the graph applied the batches in, and a caller that stops waiting
//! cannot leave a batch journalled but not applied.

pub(crate) mod compile;
mod journal;
pub(crate) mod mutation;
mod property_graph;

use crate::{CommitChange, GraphError, GraphStats, KnowledgeGraph, ObservedElement};
use argus_vocabulary::{
    ElementDescriptor, Failure, HealingSuggestion, LocatorObservation, ProjectId, TestIdentity,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use compile::property;
use journal::Journal;
use mutation::{Batch, EdgeType, NodeLabel};
use property_graph::{Direction, NodeId, PropertyGraph};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};
use tracing::{debug, instrument};

struct State {
    graph: PropertyGraph,
    journal: Option<Journal>,
}

/// The in-process knowledge graph. Cloning is cheap and clones share the graph.
#[derive(Clone)]
pub struct InProcessGraph {
    state: Arc<RwLock<State>>,
    journalled: bool,
}

impl fmt::Debug for InProcessGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let journal = self
            .state
            .read()
            .ok()
            .and_then(|state| state.journal.as_ref().map(|journal| journal.path().display().to_string()));
        f.debug_struct("InProcessGraph").field("journal", &journal).finish_non_exhaustive()
    }
}

fn poisoned() -> GraphError {
    GraphError::Backend("in-process graph lock poisoned by an earlier panic".to_owned())
}

impl InProcessGraph {
    /// An empty graph that lives only as long as the process.
    pub fn in_memory() -> Self {
        Self::from_state(State { graph: PropertyGraph::default(), journal: None })
    }

    /// Opens the journal at `path` (creating it when absent), replays it, and journals every later
    /// change to it. A torn last line is dropped with a warning; an undecodable line before it is
    /// [`GraphError::CorruptJournal`]. Only one graph may have a journal open at a time.
    pub fn open_journal(path: impl AsRef<Path>) -> Result<Self, GraphError> {
        let mut graph = PropertyGraph::default();
        let journal = Journal::open(path.as_ref(), &mut graph)?;
        Ok(Self::from_state(State { graph, journal: Some(journal) }))
    }

    fn from_state(state: State) -> Self {
        let journalled = state.journal.is_some();
        Self { state: Arc::new(RwLock::new(state)), journalled }
    }

    /// Journals and applies the changing part of `batch`. With a journal the work runs on a blocking
    /// thread (file I/O) and completes even if the caller stops waiting.
    async fn commit(&self, batch: Batch) -> Result<(), GraphError> {
        if !self.journalled {
            return commit_now(&self.state, batch);
        }
        let state = Arc::clone(&self.state);
        tokio::task::spawn_blocking(move || commit_now(&state, batch))
            .await
            .map_err(|e| GraphError::Backend(format!("graph writer task failed: {e}")))?
    }

    fn read<T>(&self, query: impl FnOnce(&PropertyGraph) -> T) -> Result<T, GraphError> {
        let state = self.state.read().map_err(|_| poisoned())?;
        Ok(query(&state.graph))
    }
}

fn commit_now(state: &RwLock<State>, batch: Batch) -> Result<(), GraphError> {
    let mut state = state.write().map_err(|_| poisoned())?;
    let State { graph, journal } = &mut *state;
    let changes = graph.changes(batch);
    if changes.ops.is_empty() {
        debug!(call = %changes.call, "graph unchanged");
        return Ok(());
    }
    if let Some(journal) = journal {
        journal.append(&changes)?;
    }
    graph.apply(&changes);
    debug!(call = %changes.call, mutations = changes.ops.len(), "graph changed");
    Ok(())
}

fn text<'a>(graph: &'a PropertyGraph, node: NodeId, name: &'static str) -> Result<&'a str, GraphError> {
    match graph.property(node, name) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(GraphError::Codec { what: name, message: "missing or not text".to_owned() }),
    }
}

fn strings(graph: &PropertyGraph, node: NodeId, name: &'static str) -> Result<Vec<String>, GraphError> {
    let value = graph.property(node, name).cloned().unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| GraphError::Codec { what: name, message: e.to_string() })
}

fn read_observation(
    graph: &PropertyGraph,
    project: &ProjectId,
    locator: &str,
) -> Result<Option<ObservedElement>, GraphError> {
    let Some(element) = graph.node(project, NodeLabel::Element, locator) else { return Ok(None) };
    // An Element merged by an edge alone has no observation yet.
    if graph.property(element, property::OBSERVED_AT).is_none() {
        return Ok(None);
    }
    let descriptor: ElementDescriptor = serde_json::from_str(text(graph, element, property::DESCRIPTOR)?)
        .map_err(|e| GraphError::Codec { what: property::DESCRIPTOR, message: e.to_string() })?;
    let observed_at_text = text(graph, element, property::OBSERVED_AT)?;
    let observed_at = compile::parse_timestamp(observed_at_text).ok_or_else(|| GraphError::Codec {
        what: property::OBSERVED_AT,
        message: format!("not an rfc 3339 timestamp: {observed_at_text:?}"),
    })?;
    let page_url = match graph.property(element, property::PAGE_URL) {
        Some(Value::String(url)) => Some(url.clone()),
        _ => None,
    };
    let test = TestIdentity {
        file: text(graph, element, property::TEST_FILE)?.to_owned(),
        title_path: strings(graph, element, property::TEST_TITLE_PATH)?,
    };
    Ok(Some(ObservedElement {
        locator: locator.to_owned(),
        element: descriptor,
        page_url,
        test,
        observed_at,
    }))
}

fn at_risk(graph: &PropertyGraph, project: &ProjectId, changed_files: &[String]) -> Vec<String> {
    let mut locators = BTreeSet::new();
    for path in changed_files {
        let Some(file) = graph.node(project, NodeLabel::File, path) else { continue };
        // Locators used by tests defined in the file.
        for test in graph.neighbours(file, EdgeType::DefinedIn, Direction::Incoming) {
            for locator in graph.neighbours(test, EdgeType::Uses, Direction::Outgoing) {
                locators.insert(graph.key(locator));
            }
        }
        // Locators broken by failures seen at commits that touched the file.
        for commit in graph.neighbours(file, EdgeType::Touched, Direction::Incoming) {
            for failure in graph.neighbours(commit, EdgeType::SeenAt, Direction::Incoming) {
                for locator in graph.neighbours(failure, EdgeType::Broke, Direction::Outgoing) {
                    locators.insert(graph.key(locator));
                }
            }
        }
    }
    locators.into_iter().map(str::to_owned).collect()
}

#[async_trait]
impl KnowledgeGraph for InProcessGraph {
    #[instrument(skip_all, fields(project = %project, locator = %observation.locator))]
    async fn record_observation(
        &self,
        project: &ProjectId,
        observation: &LocatorObservation,
        observed_at: DateTime<Utc>,
    ) -> Result<(), GraphError> {
        self.commit(compile::observation(project, observation, observed_at)?).await
    }

    #[instrument(skip_all, fields(project = %project, locator = %locator))]
    async fn last_observation(
        &self,
        project: &ProjectId,
        locator: &str,
    ) -> Result<Option<ObservedElement>, GraphError> {
        self.read(|graph| read_observation(graph, project, locator))?
    }

    #[instrument(skip_all, fields(project = %project, fingerprint = %failure.fingerprint))]
    async fn record_failure(
        &self,
        project: &ProjectId,
        failure: &Failure,
        at: DateTime<Utc>,
    ) -> Result<(), GraphError> {
        self.commit(compile::failure(project, failure, at)).await
    }

    #[instrument(skip_all, fields(project = %project, suggestion = %suggestion.id))]
    async fn record_healing(
        &self,
        project: &ProjectId,
        suggestion: &HealingSuggestion,
        at: DateTime<Utc>,
    ) -> Result<(), GraphError> {
        self.commit(compile::healing(project, suggestion, at)).await
    }

    #[instrument(skip_all, fields(project = %project, sha = %change.sha, files = change.files.len()))]
    async fn record_commit(
        &self,
        project: &ProjectId,
        change: &CommitChange,
        at: DateTime<Utc>,
    ) -> Result<(), GraphError> {
        self.commit(compile::commit(project, change, at)).await
    }

    #[instrument(skip_all, fields(project = %project))]
    async fn locators(&self, project: &ProjectId) -> Result<Vec<String>, GraphError> {
        self.read(|graph| graph.keys(project, NodeLabel::Locator).map(str::to_owned).collect())
    }

    #[instrument(skip_all, fields(project = %project, changed_files = changed_files.len()))]
    async fn locators_at_risk(
        &self,
        project: &ProjectId,
        changed_files: &[String],
    ) -> Result<Vec<String>, GraphError> {
        self.read(|graph| at_risk(graph, project, changed_files))
    }

    #[instrument(skip_all, fields(project = %project))]
    async fn stats(&self, project: &ProjectId) -> Result<GraphStats, GraphError> {
        self.read(|graph| graph.stats(project))
    }

    async fn ping(&self) -> Result<(), GraphError> {
        self.read(|_| ())
    }
}
