//! Mutation batches → one parameterised Cypher query, and the read queries. Pure: no I/O.
//!
//! A [`Batch`] (compiled from a port call by `in_process::compile`, the compiler both adapters share)
//! becomes one query whose clauses follow the mutations one to one:
//!
//! | Mutation                                 | Clause                                                          |
//! |------------------------------------------|-----------------------------------------------------------------|
//! | `MergeNode {label, key}`                 | `MERGE (nI:Label {project: $project, key: $kI})`                 |
//! | `MergeEdge {type, from, to}`             | `MERGE (nA)-[:TYPE]->(nB)` (endpoints merged first if unbound)   |
//! | `SetProperties` without guard            | `SET nI += $sJ`                                                 |
//! | `SetProperties` with guard `g`           | `FOREACH (_ IN CASE WHEN <newer> THEN [1] ELSE [] END \| SET nI += $sJ)` |
//!
//! where `<newer>` is `$sJ.g IS NOT NULL AND (nI.g IS NULL OR nI.g < $sJ.g)`: the in-process graph's
//! newest-wins rule. A `FOREACH` over zero or one element is the Cypher way to make one update
//! conditional without filtering the row away (a `WITH … WHERE` would skip every later clause).
//!
//! Only constants reach the query text: labels and relationship types come from the [`NodeLabel`] and
//! [`EdgeType`] enums, property names from the compiler's constants (checked to be identifiers), variable
//! and parameter names are generated. Every value — project, keys, property maps, file lists — is a
//! parameter, which the `falkordb` crate encodes as an escaped Cypher literal.

use crate::GraphError;
use crate::in_process::mutation::{Batch, EdgeType, Mutation, NodeLabel, NodeRef};
use ::falkordb::FalkorValue;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write;

/// Every node label, in the order `stats` asks about them.
pub(crate) const NODE_LABELS: [NodeLabel; 8] = [
    NodeLabel::Test,
    NodeLabel::Locator,
    NodeLabel::Element,
    NodeLabel::Page,
    NodeLabel::Failure,
    NodeLabel::Healing,
    NodeLabel::File,
    NodeLabel::Commit,
];

/// Every relationship type, in the order `stats` asks about them.
pub(crate) const EDGE_TYPES: [EdgeType; 11] = [
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

/// The label every edge of a type starts from (the model in `graph/design.md`), so that counting edges
/// starts from an index lookup on `(project)` instead of a scan of the whole graph.
pub(crate) const fn start_label(edge: EdgeType) -> NodeLabel {
    match edge {
        EdgeType::Uses | EdgeType::DefinedIn | EdgeType::FailedWith => NodeLabel::Test,
        EdgeType::Matched => NodeLabel::Locator,
        EdgeType::On => NodeLabel::Element,
        EdgeType::Broke | EdgeType::SeenAt => NodeLabel::Failure,
        EdgeType::Heals | EdgeType::Replaces | EdgeType::Suggests => NodeLabel::Healing,
        EdgeType::Touched => NodeLabel::Commit,
    }
}

/// The properties every node is identified by, indexed per label.
pub(crate) const IDENTITY_PROPERTIES: [&str; 2] = ["project", "key"];

/// Name of the parameter holding the project in every query.
pub(crate) const PROJECT: &str = "project";

/// A query and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Statement {
    /// The Cypher text: constants and `$name` references only.
    pub(crate) text: String,
    /// The parameters, by name.
    pub(crate) params: Vec<(String, FalkorValue)>,
}

/// A property name as it may appear in query text: a plain identifier. The compiler only uses such
/// names; anything else is refused rather than quoted.
fn identifier(name: &str) -> Result<&str, GraphError> {
    let mut chars = name.chars();
    let valid = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(name)
    } else {
        Err(GraphError::Codec { what: "property name", message: format!("not an identifier: {name:?}") })
    }
}

/// A property value as a query parameter. Properties are scalars or arrays of scalars (`graph/design.md`);
/// `null` stays `null` so that `SET n += $map` removes the property.
pub(crate) fn parameter(value: &Value) -> Result<FalkorValue, GraphError> {
    Ok(match value {
        Value::Null => FalkorValue::None,
        Value::Bool(flag) => FalkorValue::Bool(*flag),
        Value::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(integer), _) => FalkorValue::I64(integer),
            (None, Some(float)) if !number.is_u64() => FalkorValue::F64(float),
            _ => {
                return Err(GraphError::Codec {
                    what: "property value",
                    message: format!("number {number} does not fit a graph integer"),
                });
            }
        },
        Value::String(text) => FalkorValue::String(text.clone()),
        Value::Array(items) => FalkorValue::Array(items.iter().map(parameter).collect::<Result<_, _>>()?),
        Value::Object(_) => {
            return Err(GraphError::Codec {
                what: "property value",
                message: "a map is not a graph property (store it as json text)".to_owned(),
            });
        }
    })
}

/// Translates one batch into one query. Nodes get variables `n0, n1, …` in the order they are first
/// named; a node named again reuses its variable, so a batch that merges one node twice (a heal whose
/// suggestion equals the broken locator) merges it once.
pub(crate) fn batch_statement(batch: &Batch) -> Result<Statement, GraphError> {
    let mut translation = Translation {
        text: String::new(),
        params: vec![(PROJECT.to_owned(), FalkorValue::String(batch.project.as_str().to_owned()))],
        variables: HashMap::new(),
        property_sets: 0,
    };
    for op in &batch.ops {
        match op {
            Mutation::MergeNode { node } => {
                translation.bind(node);
            }
            Mutation::MergeEdge { edge, from, to } => {
                let from = translation.bind(from);
                let to = translation.bind(to);
                translation.clause(format_args!("MERGE ({from})-[:{}]->({to})", edge.as_str()));
            }
            Mutation::SetProperties { node, properties, only_if_newer } => {
                let node = translation.bind(node);
                let map = format!("s{}", translation.property_sets);
                translation.property_sets += 1;
                let values = properties
                    .iter()
                    .map(|(name, value)| Ok((identifier(name)?.to_owned(), parameter(value)?)))
                    .collect::<Result<HashMap<_, _>, GraphError>>()?;
                translation.params.push((map.clone(), FalkorValue::Map(values)));
                match only_if_newer {
                    None => translation.clause(format_args!("SET {node} += ${map}")),
                    Some(guard) => {
                        let guard = identifier(guard)?;
                        translation.clause(format_args!(
                            "FOREACH (_ IN CASE WHEN ${map}.{guard} IS NOT NULL AND ({node}.{guard} IS NULL OR \
                             {node}.{guard} < ${map}.{guard}) THEN [1] ELSE [] END | SET {node} += ${map})"
                        ));
                    }
                }
            }
        }
    }
    Ok(Statement { text: translation.text, params: translation.params })
}

struct Translation {
    text: String,
    params: Vec<(String, FalkorValue)>,
    variables: HashMap<NodeRef, String>,
    property_sets: usize,
}

impl Translation {
    fn clause(&mut self, clause: std::fmt::Arguments<'_>) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        // Writing to a String cannot fail.
        let _ = self.text.write_fmt(clause);
    }

    /// The node's variable, merging the node first when this query has not named it yet.
    fn bind(&mut self, node: &NodeRef) -> String {
        if let Some(variable) = self.variables.get(node) {
            return variable.clone();
        }
        let index = self.variables.len();
        let variable = format!("n{index}");
        let key = format!("k{index}");
        self.clause(format_args!(
            "MERGE ({variable}:{} {{project: ${PROJECT}, key: ${key}}})",
            node.label.as_str()
        ));
        self.params.push((key, FalkorValue::String(node.key.clone())));
        self.variables.insert(node.clone(), variable.clone());
        variable
    }
}

/// `last_observation`: the Element of a locator, if it carries an observation.
pub(crate) const LAST_OBSERVATION: &str = "MATCH (e:Element {project: $project, key: $locator})
WHERE e.observed_at IS NOT NULL
RETURN e.descriptor AS descriptor, e.observed_at AS observed_at, e.page_url AS page_url,
       e.test_file AS test_file, e.test_title_path AS test_title_path";

/// `locators`: every Locator key of the project (sorted by the caller, in Rust's order).
pub(crate) const LOCATORS: &str = "MATCH (l:Locator {project: $project}) RETURN l.key AS key";

/// `locators_at_risk`: `File<-DEFINED_IN-Test-USES->Locator` union
/// `File<-TOUCHED-Commit<-SEEN_AT-Failure-BROKE->Locator`, for the files in `$files`.
pub(crate) const LOCATORS_AT_RISK: &str = "UNWIND $files AS path
MATCH (:File {project: $project, key: path})<-[:DEFINED_IN]-(:Test {project: $project})-[:USES]->(l:Locator {project: $project})
RETURN DISTINCT l.key AS key
UNION
UNWIND $files AS path
MATCH (:File {project: $project, key: path})<-[:TOUCHED]-(:Commit {project: $project})<-[:SEEN_AT]-(:Failure {project: $project})-[:BROKE]->(l:Locator {project: $project})
RETURN DISTINCT l.key AS key";

/// `stats`: one row per label (`kind` `node`) and per relationship type (`kind` `edge`) with its count in
/// the project. Labels the graph has never seen yield no row at all; the caller drops zero counts.
pub(crate) fn stats_query() -> String {
    let nodes = NODE_LABELS.iter().map(|label| {
        let label = label.as_str();
        format!("MATCH (n:{label} {{project: $project}}) RETURN 'node' AS kind, '{label}' AS name, count(n) AS count")
    });
    let edges = EDGE_TYPES.iter().map(|edge| {
        let (edge, start) = (edge.as_str(), start_label(*edge).as_str());
        format!(
            "MATCH (:{start} {{project: $project}})-[r:{edge}]->() RETURN 'edge' AS kind, '{edge}' AS name, count(r) AS count"
        )
    });
    nodes.chain(edges).collect::<Vec<_>>().join("\nUNION ALL\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::in_process::mutation::Properties;
    use argus_vocabulary::ProjectId;
    use serde_json::json;

    fn shop() -> ProjectId {
        ProjectId::parse("shop").expect("valid project id")
    }

    fn param<'a>(statement: &'a Statement, name: &str) -> &'a FalkorValue {
        match statement.params.iter().find(|(param, _)| param == name) {
            Some((_, value)) => value,
            None => panic!("no parameter {name} in {:?}", statement.params),
        }
    }

    #[test]
    fn a_batch_becomes_merge_and_set_clauses_with_every_value_a_parameter() {
        let mut batch = Batch::new("record_commit", &shop());
        let commit = batch.merge_node(NodeLabel::Commit, "c1'}) DETACH DELETE x //");
        batch.set_if_newer(
            &commit,
            Properties::from([("recorded_at".to_owned(), json!("2026-01-01T00:00:00.000000000Z"))]),
            "recorded_at",
        );
        let file = batch.merge_node(NodeLabel::File, "src/pay.tsx");
        batch.merge_edge(EdgeType::Touched, &commit, &file);

        let statement = batch_statement(&batch).expect("compiles");

        assert_eq!(
            statement.text,
            "MERGE (n0:Commit {project: $project, key: $k0})\n\
             FOREACH (_ IN CASE WHEN $s0.recorded_at IS NOT NULL AND (n0.recorded_at IS NULL OR \
             n0.recorded_at < $s0.recorded_at) THEN [1] ELSE [] END | SET n0 += $s0)\n\
             MERGE (n1:File {project: $project, key: $k1})\n\
             MERGE (n0)-[:TOUCHED]->(n1)"
        );
        assert_eq!(param(&statement, "project"), &FalkorValue::String("shop".to_owned()));
        assert_eq!(param(&statement, "k0"), &FalkorValue::String("c1'}) DETACH DELETE x //".to_owned()));
        assert_eq!(param(&statement, "k1"), &FalkorValue::String("src/pay.tsx".to_owned()));
        assert!(!statement.text.contains("DETACH"), "no value reaches the query text");
    }

    #[test]
    fn a_node_named_twice_is_merged_once_and_unbound_edge_endpoints_are_merged_first() {
        let mut batch = Batch::new("record_healing", &shop());
        let healing = NodeRef { label: NodeLabel::Healing, key: "h".to_owned() };
        let locator = batch.merge_node(NodeLabel::Locator, "#pay");
        batch.merge_node(NodeLabel::Locator, "#pay");
        batch.merge_edge(EdgeType::Replaces, &healing, &locator);
        batch.merge_edge(EdgeType::Suggests, &healing, &locator);
        batch.set(&locator, Properties::new());

        let statement = batch_statement(&batch).expect("compiles");

        assert_eq!(
            statement.text,
            "MERGE (n0:Locator {project: $project, key: $k0})\n\
             MERGE (n1:Healing {project: $project, key: $k1})\n\
             MERGE (n1)-[:REPLACES]->(n0)\n\
             MERGE (n1)-[:SUGGESTS]->(n0)\n\
             SET n0 += $s0"
        );
    }

    #[test]
    fn property_values_keep_their_types_and_null_stays_null() {
        assert_eq!(parameter(&json!(null)).expect("null"), FalkorValue::None);
        assert_eq!(parameter(&json!(3)).expect("int"), FalkorValue::I64(3));
        assert_eq!(parameter(&json!(0.93)).expect("float"), FalkorValue::F64(0.93));
        assert_eq!(parameter(&json!(true)).expect("bool"), FalkorValue::Bool(true));
        assert_eq!(
            parameter(&json!(["a", "b"])).expect("array"),
            FalkorValue::Array(vec![FalkorValue::String("a".into()), FalkorValue::String("b".into())])
        );
        assert!(parameter(&json!({"nested": 1})).is_err());
        assert!(parameter(&json!(u64::MAX)).is_err());
    }

    #[test]
    fn property_names_that_are_not_identifiers_are_refused() {
        let mut batch = Batch::new("test", &shop());
        let node = batch.merge_node(NodeLabel::Test, "t");
        batch.set(&node, Properties::from([("x}) DETACH DELETE (n".to_owned(), json!(1))]));

        assert!(matches!(batch_statement(&batch), Err(GraphError::Codec { what: "property name", .. })));
    }

    #[test]
    fn stats_ask_about_every_label_and_relationship_type_from_its_start_label() {
        let query = stats_query();

        assert_eq!(query.matches("UNION ALL").count(), NODE_LABELS.len() + EDGE_TYPES.len() - 1);
        assert!(query.contains("MATCH (:Healing {project: $project})-[r:SUGGESTS]->()"));
        assert!(query.contains("MATCH (n:Page {project: $project}) RETURN 'node' AS kind, 'Page' AS name"));
        let names: std::collections::BTreeSet<_> = EDGE_TYPES.iter().map(|edge| edge.as_str()).collect();
        assert_eq!(names.len(), EDGE_TYPES.len(), "each relationship type once");
        let labels: std::collections::BTreeSet<_> = NODE_LABELS.iter().map(|label| label.as_str()).collect();
        assert_eq!(labels.len(), NODE_LABELS.len(), "each label once");
    }
}
