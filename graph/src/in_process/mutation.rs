//! The mutation language of the in-process graph. Every typed operation of the port compiles into a
//! [`Batch`] of three kinds of [`Mutation`], each the shape of one Cypher clause:
//!
//! - [`Mutation::MergeNode`]: `MERGE (n:Label {project: $p, key: $k})`.
//! - [`Mutation::MergeEdge`]: `MERGE (a)-[:TYPE]->(b)` (absent endpoints are merged first).
//! - [`Mutation::SetProperties`]: `SET n += $props`, optionally guarded by
//!   `WHERE n.<guard> IS NULL OR n.<guard> < $props.<guard>` (newest wins).
//!
//! A batch is also the unit of the journal: one batch, one JSON line.

use argus_vocabulary::ProjectId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Properties of a node: scalars and arrays of scalars only, so that a FalkorDB node can hold them as they
/// are (nested structures such as an element descriptor are stored as JSON text). Setting a property to
/// `null` removes it, as in Cypher.
pub(crate) type Properties = BTreeMap<String, serde_json::Value>;

/// A node label of the model (see the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum NodeLabel {
    /// A test; key: [`argus_vocabulary::TestIdentity::key`].
    Test,
    /// A locator; key: the locator text.
    Locator,
    /// The element a locator last matched; key: the locator text (one element per locator).
    Element,
    /// A page; key: the URL without query string and fragment.
    Page,
    /// A failure; key: the fingerprint.
    Failure,
    /// A healing suggestion; key: the suggestion id.
    Healing,
    /// A source file; key: the path.
    File,
    /// A commit; key: the sha.
    Commit,
}

impl NodeLabel {
    /// The label as the graph names it.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            NodeLabel::Test => "Test",
            NodeLabel::Locator => "Locator",
            NodeLabel::Element => "Element",
            NodeLabel::Page => "Page",
            NodeLabel::Failure => "Failure",
            NodeLabel::Healing => "Healing",
            NodeLabel::File => "File",
            NodeLabel::Commit => "Commit",
        }
    }
}

/// A relationship type of the model (see the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum EdgeType {
    /// `Test-USES->Locator`.
    Uses,
    /// `Locator-MATCHED->Element`.
    Matched,
    /// `Element-ON->Page`.
    On,
    /// `Test-DEFINED_IN->File`.
    DefinedIn,
    /// `Test-FAILED_WITH->Failure`.
    FailedWith,
    /// `Failure-BROKE->Locator`.
    Broke,
    /// `Failure-SEEN_AT->Commit`.
    SeenAt,
    /// `Healing-HEALS->Failure`.
    Heals,
    /// `Healing-REPLACES->Locator`.
    Replaces,
    /// `Healing-SUGGESTS->Locator`.
    Suggests,
    /// `Commit-TOUCHED->File`.
    Touched,
}

impl EdgeType {
    /// The relationship type as the graph names it.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            EdgeType::Uses => "USES",
            EdgeType::Matched => "MATCHED",
            EdgeType::On => "ON",
            EdgeType::DefinedIn => "DEFINED_IN",
            EdgeType::FailedWith => "FAILED_WITH",
            EdgeType::Broke => "BROKE",
            EdgeType::SeenAt => "SEEN_AT",
            EdgeType::Heals => "HEALS",
            EdgeType::Replaces => "REPLACES",
            EdgeType::Suggests => "SUGGESTS",
            EdgeType::Touched => "TOUCHED",
        }
    }
}

/// A node named by its identity inside the project of the batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct NodeRef {
    /// The label.
    pub(crate) label: NodeLabel,
    /// The identity key (see [`NodeLabel`]).
    pub(crate) key: String,
}

/// One graph mutation. Applying a mutation twice has the effect of applying it once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Mutation {
    /// Creates the node unless it exists.
    MergeNode {
        /// The node.
        node: NodeRef,
    },
    /// Creates the edge unless an edge of that type already joins the two nodes; absent endpoints are
    /// created first, so a batch never fails half-way.
    MergeEdge {
        /// The relationship type.
        #[serde(rename = "type")]
        edge: EdgeType,
        /// The start node.
        from: NodeRef,
        /// The end node.
        to: NodeRef,
    },
    /// Sets properties on a node (created if absent). With `only_if_newer`, the whole set is skipped unless
    /// the named property's new value is strictly greater than the stored one (or none is stored).
    SetProperties {
        /// The node.
        node: NodeRef,
        /// The properties to set; `null` removes a property.
        properties: Properties,
        /// The guard property, itself one of `properties`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        only_if_newer: Option<String>,
    },
}

/// The mutations of one port call, all in one project. Applied atomically and journalled as one line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Batch {
    /// The port call that produced the batch (`record_observation`, …), kept for reading journals.
    pub(crate) call: String,
    /// The project every node of the batch belongs to.
    pub(crate) project: ProjectId,
    /// The mutations, in order.
    pub(crate) ops: Vec<Mutation>,
}

impl Batch {
    /// An empty batch for `call` in `project`.
    pub(crate) fn new(call: &str, project: &ProjectId) -> Self {
        Self { call: call.to_owned(), project: project.clone(), ops: Vec::new() }
    }

    /// Adds a [`Mutation::MergeNode`] and returns the node's reference for later edges.
    pub(crate) fn merge_node(&mut self, label: NodeLabel, key: impl Into<String>) -> NodeRef {
        let node = NodeRef { label, key: key.into() };
        self.ops.push(Mutation::MergeNode { node: node.clone() });
        node
    }

    /// Adds a [`Mutation::MergeEdge`].
    pub(crate) fn merge_edge(&mut self, edge: EdgeType, from: &NodeRef, to: &NodeRef) {
        self.ops.push(Mutation::MergeEdge { edge, from: from.clone(), to: to.clone() });
    }

    /// Adds an unguarded [`Mutation::SetProperties`].
    pub(crate) fn set(&mut self, node: &NodeRef, properties: Properties) {
        self.ops.push(Mutation::SetProperties { node: node.clone(), properties, only_if_newer: None });
    }

    /// Adds a [`Mutation::SetProperties`] that only applies when `guard` is newer than the stored value.
    pub(crate) fn set_if_newer(&mut self, node: &NodeRef, properties: Properties, guard: &str) {
        self.ops.push(Mutation::SetProperties {
            node: node.clone(),
            properties,
            only_if_newer: Some(guard.to_owned()),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mutations_serialise_with_graph_names() {
        let project = ProjectId::parse("shop").expect("valid");
        let mut batch = Batch::new("record_commit", &project);
        let commit = batch.merge_node(NodeLabel::Commit, "abc");
        let file = batch.merge_node(NodeLabel::File, "a.spec.ts");
        batch.merge_edge(EdgeType::Touched, &commit, &file);
        batch.set_if_newer(&commit, Properties::from([("at".to_owned(), json!("t"))]), "at");

        let value = serde_json::to_value(&batch).expect("serialise");

        assert_eq!(value["ops"][0], json!({"op": "merge_node", "node": {"label": "Commit", "key": "abc"}}));
        assert_eq!(value["ops"][2]["type"], "TOUCHED");
        assert_eq!(value["ops"][3]["only_if_newer"], "at");
        let back: Batch = serde_json::from_value(value).expect("deserialise");
        assert_eq!(back, batch);
    }

    #[test]
    fn edge_type_names_match_their_serde_names() {
        let every_edge = [
            EdgeType::Uses,
            EdgeType::Matched,
            EdgeType::On,
            EdgeType::DefinedIn,
            EdgeType::FailedWith,
            EdgeType::Broke,
            EdgeType::SeenAt,
            EdgeType::Heals,
            EdgeType::Replaces,
            EdgeType::Suggests,
            EdgeType::Touched,
        ];
        for edge in every_edge {
            assert_eq!(serde_json::to_value(edge).expect("serialise"), json!(edge.as_str()));
        }
        assert_eq!(serde_json::to_value(NodeLabel::Healing).expect("serialise"), json!("Healing"));
    }
}
