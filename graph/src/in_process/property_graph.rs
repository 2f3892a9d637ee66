//! A small property graph: a node arena and an edge arena, an identity index
//! `(project, label, key) -> node`, an edge index `(type, from, to) -> edge`, adjacency lists on every node
//! and per-project counts. It knows nothing of tests or locators: it applies [`Batch`]es and answers
//! lookups and one-hop traversals. It does no I/O and takes no lock; its owner does both.

use super::mutation::{Batch, EdgeType, Mutation, NodeLabel, NodeRef, Properties};
use crate::GraphStats;
use argus_vocabulary::ProjectId;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

/// Index of a node in the arena. Nodes are never removed, so ids stay valid.
pub(crate) type NodeId = usize;

/// Index of an edge in the arena.
type EdgeId = usize;

/// Which way to follow edges from a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// From the node to the edge's end.
    Outgoing,
    /// From the node to the edge's start.
    Incoming,
}

#[derive(Debug)]
struct Node {
    key: String,
    properties: Properties,
    outgoing: Vec<EdgeId>,
    incoming: Vec<EdgeId>,
}

#[derive(Debug)]
struct Edge {
    edge_type: EdgeType,
    from: NodeId,
    to: NodeId,
}

/// The graph. Every node belongs to one project; edges only ever join nodes of the same project because a
/// batch names nodes inside its own project.
#[derive(Debug, Default)]
pub(crate) struct PropertyGraph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    node_index: HashMap<ProjectId, BTreeMap<NodeLabel, BTreeMap<String, NodeId>>>,
    edge_index: HashMap<(EdgeType, NodeId, NodeId), EdgeId>,
    stats: HashMap<ProjectId, GraphStats>,
}

impl PropertyGraph {
    /// The node with this identity, if it exists.
    pub(crate) fn node(&self, project: &ProjectId, label: NodeLabel, key: &str) -> Option<NodeId> {
        self.node_index.get(project)?.get(&label)?.get(key).copied()
    }

    /// A node's identity key.
    pub(crate) fn key(&self, node: NodeId) -> &str {
        &self.nodes[node].key
    }

    /// A node's property, if set.
    pub(crate) fn property(&self, node: NodeId, name: &str) -> Option<&Value> {
        self.nodes[node].properties.get(name)
    }

    /// The keys of every node with `label` in `project`, sorted.
    pub(crate) fn keys(&self, project: &ProjectId, label: NodeLabel) -> impl Iterator<Item = &str> {
        self.node_index
            .get(project)
            .and_then(|labels| labels.get(&label))
            .into_iter()
            .flat_map(|keys| keys.keys().map(String::as_str))
    }

    /// The nodes one `edge_type` edge away from `node`, following `direction`.
    pub(crate) fn neighbours(
        &self,
        node: NodeId,
        edge_type: EdgeType,
        direction: Direction,
    ) -> impl Iterator<Item = NodeId> + '_ {
        let adjacent = match direction {
            Direction::Outgoing => &self.nodes[node].outgoing,
            Direction::Incoming => &self.nodes[node].incoming,
        };
        adjacent.iter().map(|&edge| &self.edges[edge]).filter(move |edge| edge.edge_type == edge_type).map(
            move |edge| match direction {
                Direction::Outgoing => edge.to,
                Direction::Incoming => edge.from,
            },
        )
    }

    /// Node and edge counts of one project.
    pub(crate) fn stats(&self, project: &ProjectId) -> GraphStats {
        self.stats.get(project).cloned().unwrap_or_default()
    }

    /// The part of `batch` that would change the graph: mutations that are no-ops against the current state
    /// (existing nodes and edges, equal properties, guards that do not pass) are dropped. Judging each
    /// mutation against the state before the batch is exact because a batch never sets one property twice.
    pub(crate) fn changes(&self, batch: Batch) -> Batch {
        let project = &batch.project;
        let ops = batch.ops.into_iter().filter(|op| !self.is_no_op(project, op)).collect();
        Batch { ops, ..batch }
    }

    fn is_no_op(&self, project: &ProjectId, op: &Mutation) -> bool {
        let find = |node: &NodeRef| self.node(project, node.label, &node.key);
        match op {
            Mutation::MergeNode { node } => find(node).is_some(),
            Mutation::MergeEdge { edge, from, to } => match (find(from), find(to)) {
                (Some(from), Some(to)) => self.edge_index.contains_key(&(*edge, from, to)),
                _ => false,
            },
            Mutation::SetProperties { node, properties, only_if_newer } => match find(node) {
                None => false,
                Some(id) => {
                    let stored = &self.nodes[id].properties;
                    !guard_passes(stored, properties, only_if_newer.as_deref())
                        || properties.iter().all(|(name, value)| stored_equals(stored, name, value))
                }
            },
        }
    }

    /// Applies every mutation of `batch`, in order.
    pub(crate) fn apply(&mut self, batch: &Batch) {
        for op in &batch.ops {
            match op {
                Mutation::MergeNode { node } => {
                    self.merge_node(&batch.project, node);
                }
                Mutation::MergeEdge { edge, from, to } => {
                    let from = self.merge_node(&batch.project, from);
                    let to = self.merge_node(&batch.project, to);
                    self.merge_edge(&batch.project, *edge, from, to);
                }
                Mutation::SetProperties { node, properties, only_if_newer } => {
                    let id = self.merge_node(&batch.project, node);
                    let stored = &mut self.nodes[id].properties;
                    if guard_passes(stored, properties, only_if_newer.as_deref()) {
                        for (name, value) in properties {
                            if value.is_null() {
                                stored.remove(name);
                            } else {
                                stored.insert(name.clone(), value.clone());
                            }
                        }
                    }
                }
            }
        }
    }

    fn merge_node(&mut self, project: &ProjectId, node: &NodeRef) -> NodeId {
        if let Some(id) = self.node(project, node.label, &node.key) {
            return id;
        }
        let id = self.nodes.len();
        self.nodes.push(Node {
            key: node.key.clone(),
            properties: Properties::new(),
            outgoing: Vec::new(),
            incoming: Vec::new(),
        });
        self.node_index
            .entry(project.clone())
            .or_default()
            .entry(node.label)
            .or_default()
            .insert(node.key.clone(), id);
        let counts = self.stats.entry(project.clone()).or_default();
        *counts.nodes.entry(node.label.as_str().to_owned()).or_default() += 1;
        id
    }

    fn merge_edge(&mut self, project: &ProjectId, edge_type: EdgeType, from: NodeId, to: NodeId) {
        if self.edge_index.contains_key(&(edge_type, from, to)) {
            return;
        }
        let id = self.edges.len();
        self.edges.push(Edge { edge_type, from, to });
        self.edge_index.insert((edge_type, from, to), id);
        self.nodes[from].outgoing.push(id);
        self.nodes[to].incoming.push(id);
        let counts = self.stats.entry(project.clone()).or_default();
        *counts.edges.entry(edge_type.as_str().to_owned()).or_default() += 1;
    }
}

/// Whether a guarded set may apply: always without a guard; with one, only when the new guard value is
/// present and strictly greater than the stored one, or nothing is stored. Strings compare as text (the
/// timestamps the compiler writes are fixed-width, so text order is time order), numbers as numbers; a
/// stored value of another type is replaced.
fn guard_passes(stored: &Properties, properties: &Properties, guard: Option<&str>) -> bool {
    let Some(guard) = guard else { return true };
    let Some(new) = properties.get(guard).filter(|value| !value.is_null()) else { return false };
    let Some(old) = stored.get(guard) else { return true };
    match (old, new) {
        (Value::String(old), Value::String(new)) => new > old,
        (Value::Number(old), Value::Number(new)) => match (old.as_f64(), new.as_f64()) {
            (Some(old), Some(new)) => new.partial_cmp(&old) == Some(Ordering::Greater),
            _ => true,
        },
        _ => true,
    }
}

/// Whether setting `name` to `value` would leave `stored` as it is (`null` means absent).
fn stored_equals(stored: &Properties, name: &str, value: &Value) -> bool {
    match stored.get(name) {
        Some(current) => current == value,
        None => value.is_null(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn project(name: &str) -> ProjectId {
        ProjectId::parse(name).expect("valid project id")
    }

    fn props(pairs: &[(&str, Value)]) -> Properties {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), value.clone())).collect()
    }

    #[test]
    fn merging_twice_creates_one_node_and_one_edge() {
        let shop = project("shop");
        let mut batch = Batch::new("test", &shop);
        let test = batch.merge_node(NodeLabel::Test, "t");
        let locator = batch.merge_node(NodeLabel::Locator, "#buy");
        batch.merge_edge(EdgeType::Uses, &test, &locator);
        let mut graph = PropertyGraph::default();

        graph.apply(&batch);
        graph.apply(&batch);

        let stats = graph.stats(&shop);
        assert_eq!(stats.nodes.get("Test"), Some(&1));
        assert_eq!(stats.nodes.get("Locator"), Some(&1));
        assert_eq!(stats.edges.get("USES"), Some(&1));
        assert!(graph.changes(batch).ops.is_empty());
    }

    #[test]
    fn edge_merges_absent_endpoints() {
        let shop = project("shop");
        let mut batch = Batch::new("test", &shop);
        let from = NodeRef { label: NodeLabel::Commit, key: "abc".into() };
        let to = NodeRef { label: NodeLabel::File, key: "a.ts".into() };
        batch.merge_edge(EdgeType::Touched, &from, &to);
        let mut graph = PropertyGraph::default();

        graph.apply(&batch);

        let commit = graph.node(&shop, NodeLabel::Commit, "abc").expect("commit merged");
        let files: Vec<_> =
            graph.neighbours(commit, EdgeType::Touched, Direction::Outgoing).map(|n| graph.key(n)).collect();
        assert_eq!(files, ["a.ts"]);
        let file = graph.node(&shop, NodeLabel::File, "a.ts").expect("file merged");
        assert_eq!(
            graph.neighbours(file, EdgeType::Touched, Direction::Incoming).collect::<Vec<_>>(),
            [commit]
        );
    }

    #[test]
    fn guarded_set_keeps_the_newest_value() {
        let shop = project("shop");
        let node = NodeRef { label: NodeLabel::Element, key: "#buy".into() };
        let at = |time: &str, tag: &str| {
            let mut batch = Batch::new("test", &shop);
            batch.set_if_newer(&node, props(&[("at", json!(time)), ("tag", json!(tag))]), "at");
            batch
        };
        let mut graph = PropertyGraph::default();

        graph.apply(&at("2026-01-02", "new"));
        graph.apply(&at("2026-01-01", "old"));

        let id = graph.node(&shop, NodeLabel::Element, "#buy").expect("node");
        assert_eq!(graph.property(id, "tag"), Some(&json!("new")));
        assert!(graph.changes(at("2026-01-01", "old")).ops.is_empty(), "an older set is a no-op");
        assert!(graph.changes(at("2026-01-02", "other")).ops.is_empty(), "an equal guard keeps the first");
        assert_eq!(graph.changes(at("2026-01-03", "newer")).ops.len(), 1);
    }

    #[test]
    fn null_removes_a_property() {
        let shop = project("shop");
        let node = NodeRef { label: NodeLabel::Element, key: "#buy".into() };
        let mut graph = PropertyGraph::default();
        let mut first = Batch::new("test", &shop);
        first.set(&node, props(&[("page_url", json!("https://shop.test/"))]));
        let mut second = Batch::new("test", &shop);
        second.set(&node, props(&[("page_url", Value::Null)]));

        graph.apply(&first);
        graph.apply(&second);

        let id = graph.node(&shop, NodeLabel::Element, "#buy").expect("node");
        assert_eq!(graph.property(id, "page_url"), None);
        assert!(graph.changes(second).ops.is_empty(), "removing an absent property is a no-op");
    }

    #[test]
    fn projects_do_not_share_nodes_or_counts() {
        let (shop, blog) = (project("shop"), project("blog"));
        let mut batch = Batch::new("test", &shop);
        batch.merge_node(NodeLabel::Locator, "#buy");
        let mut graph = PropertyGraph::default();

        graph.apply(&batch);

        assert!(graph.node(&blog, NodeLabel::Locator, "#buy").is_none());
        assert_eq!(graph.stats(&blog), GraphStats::default());
        assert_eq!(graph.keys(&shop, NodeLabel::Locator).collect::<Vec<_>>(), ["#buy"]);
        assert_eq!(graph.keys(&blog, NodeLabel::Locator).count(), 0);
    }
}
