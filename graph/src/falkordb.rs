//! The distributed adapter: FalkorDB through the `falkordb` crate (async, tokio). See `graph/design.md`
//! (section "The FalkorDB adapter") for the model, the translation and the guarantees.
//!
//! - [`FalkorGraphConfig`]: the URL (a secret: it may carry a password), the graph name, the timeouts.
//! - [`FalkorGraph`]: the adapter; implements [`KnowledgeGraph`]. [`FalkorGraph::connect`] creates the
//!   `(project, key)` indexes of every label.
//! - `cypher`: mutation batches → one parameterised Cypher query per call; the read queries.
//!
//! Writes reuse the in-process compiler (`in_process::compile`), so both adapters write the same nodes,
//! edges and properties; each call runs as one `GRAPH.QUERY`, which FalkorDB applies atomically and one
//! at a time per graph, so concurrent calls never interleave inside a call.

mod cypher;

use crate::in_process::compile::{self, property};
use crate::in_process::mutation::Batch;
use crate::{CommitChange, GraphError, GraphStats, KnowledgeGraph, ObservedElement};
use ::falkordb::{
    AsyncGraph, FalkorAsyncClient, FalkorClientBuilder, FalkorConnectionInfo, FalkorValue, Row,
};
use argus_vocabulary::{
    ElementDescriptor, Failure, HealingSuggestion, LocatorObservation, ProjectId, TestIdentity,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cypher::Statement;
use futures::TryStreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info, instrument};

/// A `falkordb` call in flight, boxed: the crate's futures are deep enough to overflow the compiler's
/// type-layout depth limit when nested unboxed inside the port's futures.
type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, ::falkordb::FalkorDBError>> + Send + 'a>>;

/// The graph name used when the config names none.
pub const DEFAULT_GRAPH_NAME: &str = "argus";

/// Settings of the FalkorDB graph.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FalkorGraphConfig {
    /// The server, as `falkor://[[user]:password@]host:port` (or `redis://…`). A secret: it never appears
    /// in `Debug`, logs or errors.
    pub url: SecretString,
    /// The graph (one FalkorDB key) holding every project's nodes (`argus`).
    #[serde(default = "FalkorGraphConfig::default_graph_name")]
    pub graph_name: String,
    /// How long opening a connection may take, in milliseconds (2000).
    #[serde(default = "FalkorGraphConfig::default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// How long the server may take to answer one query, in milliseconds (5000).
    #[serde(default = "FalkorGraphConfig::default_response_timeout_ms")]
    pub response_timeout_ms: u64,
}

impl FalkorGraphConfig {
    /// A config for `url` with every other setting at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: SecretString::from(url.into()),
            graph_name: Self::default_graph_name(),
            connect_timeout_ms: Self::default_connect_timeout_ms(),
            response_timeout_ms: Self::default_response_timeout_ms(),
        }
    }

    /// Default [`Self::graph_name`]: [`DEFAULT_GRAPH_NAME`].
    pub fn default_graph_name() -> String {
        DEFAULT_GRAPH_NAME.to_owned()
    }

    /// Default [`Self::connect_timeout_ms`]: two seconds.
    pub const fn default_connect_timeout_ms() -> u64 {
        2_000
    }

    /// Default [`Self::response_timeout_ms`]: five seconds.
    pub const fn default_response_timeout_ms() -> u64 {
        5_000
    }

    /// [`Self::connect_timeout_ms`] as a duration.
    pub const fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// [`Self::response_timeout_ms`] as a duration.
    pub const fn response_timeout(&self) -> Duration {
        Duration::from_millis(self.response_timeout_ms)
    }

    /// The longest any one call may take before it fails: a connection attempt plus a response.
    pub const fn operation_deadline(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms.saturating_add(self.response_timeout_ms))
    }
}

/// The texts of a URL that must never be shown: the URL itself, its user-info part, and the password.
#[derive(Clone)]
struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    fn new(url: &str) -> Self {
        let mut secrets = vec![url.to_owned()];
        if let Some((_, rest)) = url.split_once("://")
            && let Some((user_info, _)) = rest.rsplit_once('@')
        {
            secrets.push(user_info.to_owned());
            if let Some((_, password)) = user_info.split_once(':') {
                secrets.push(password.to_owned());
            }
        }
        secrets.retain(|secret| !secret.is_empty());
        // Longest first, so a password inside the URL does not leave the rest of the URL behind.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        Self { secrets }
    }

    fn with_decoded_password(mut self, info: &FalkorConnectionInfo) -> Self {
        // The crate's `embedded` feature adds a variant without a password.
        #[allow(irrefutable_let_patterns)]
        if let FalkorConnectionInfo::Redis(redis) = info
            && let Some(password) = redis.redis_settings().password().filter(|password| !password.is_empty())
        {
            self.secrets.push(password.to_owned());
            self.secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        }
        self
    }

    fn redact(&self, message: impl fmt::Display) -> String {
        let mut message = message.to_string();
        for secret in &self.secrets {
            if message.contains(secret.as_str()) {
                message = message.replace(secret.as_str(), "[redacted]");
            }
        }
        message
    }
}

/// The FalkorDB knowledge graph. Cloning is cheap; clones share the client.
#[derive(Clone)]
pub struct FalkorGraph {
    client: Arc<FalkorAsyncClient>,
    graph: AsyncGraph,
    deadline: Duration,
    redactor: Redactor,
    stats_query: Arc<str>,
}

impl fmt::Debug for FalkorGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FalkorGraph")
            .field("url", &"[redacted]")
            .field("graph_name", &self.graph.graph_name())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl FalkorGraph {
    /// Connects, then creates the `(project, key)` index of every label that lacks it. Fails with
    /// [`GraphError::Backend`] when the URL is invalid or the server does not answer in time.
    pub async fn connect(config: &FalkorGraphConfig) -> Result<Self, GraphError> {
        let url = config.url.expose_secret();
        let redactor = Redactor::new(url);
        let info = FalkorConnectionInfo::try_from(url).map_err(|error| {
            GraphError::Backend(format!("invalid falkordb url: {}", redactor.redact(error)))
        })?;
        let redactor = redactor.with_decoded_password(&info);
        let deadline = config.operation_deadline();
        let builder = FalkorClientBuilder::new_async()
            .with_connection_info(info)
            .with_connect_timeout(Some(config.connect_timeout()))
            .with_response_timeout(Some(config.response_timeout()));
        let building: Pending<'_, FalkorAsyncClient> = Box::pin(builder.build());
        let client = match tokio::time::timeout(deadline, building).await {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => {
                return Err(GraphError::Backend(format!(
                    "falkordb connect failed: {}",
                    redactor.redact(error)
                )));
            }
            Err(_) => {
                return Err(GraphError::Backend(format!(
                    "falkordb connect timed out after {} ms",
                    deadline.as_millis()
                )));
            }
        };
        let graph = client.select_graph(&config.graph_name);
        let adapter = Self {
            client: Arc::new(client),
            graph,
            deadline,
            redactor,
            stats_query: Arc::from(cypher::stats_query()),
        };
        adapter.ensure_indexes().await?;
        info!(graph = %config.graph_name, "falkordb graph connected");
        Ok(adapter)
    }

    /// The graph this adapter reads and writes.
    pub fn graph_name(&self) -> &str {
        self.graph.graph_name()
    }

    /// Deletes the whole graph (every project's nodes and the indexes). For tests and decommissioning.
    pub async fn delete_graph(&self) -> Result<(), GraphError> {
        let mut graph = self.graph.clone();
        self.bounded("delete graph", Box::pin(async move { graph.delete().await })).await
    }

    /// Creates, for every label, a range index on `project` and `key` unless one exists. Another process
    /// creating the same index at the same moment is not an error.
    async fn ensure_indexes(&self) -> Result<(), GraphError> {
        let existing = self.indexed_properties().await?;
        for label in cypher::NODE_LABELS {
            let label = label.as_str();
            let missing: Vec<&str> = cypher::IDENTITY_PROPERTIES
                .into_iter()
                .filter(|property| !existing.contains(&(label.to_owned(), (*property).to_owned())))
                .collect();
            if missing.is_empty() {
                continue;
            }
            let on = missing.iter().map(|property| format!("n.{property}")).collect::<Vec<_>>().join(", ");
            let statement =
                Statement { text: format!("CREATE INDEX FOR (n:{label}) ON ({on})"), params: Vec::new() };
            match self.run("create index", &statement).await {
                Ok(_) => debug!(label, properties = ?missing, "falkordb index created"),
                Err(GraphError::Backend(message)) if message.contains("already indexed") => {
                    debug!(label, "falkordb index created concurrently by another client");
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// `(label, property)` for every node property with an index in this graph.
    async fn indexed_properties(&self) -> Result<BTreeSet<(String, String)>, GraphError> {
        let statement = Statement {
            text: "CALL db.indexes() YIELD label, properties, entitytype \
                   RETURN label, properties, entitytype"
                .to_owned(),
            params: Vec::new(),
        };
        let mut indexed = BTreeSet::new();
        for row in self.run("list indexes", &statement).await? {
            let entity: String = column(&row, "entitytype")?;
            if entity != "NODE" {
                continue;
            }
            let label: String = column(&row, "label")?;
            for property in column::<Vec<String>>(&row, "properties")? {
                indexed.insert((label.clone(), property));
            }
        }
        Ok(indexed)
    }

    /// Runs `future` under the call deadline, mapping errors to a redacted [`GraphError::Backend`].
    async fn bounded<T>(&self, operation: &'static str, future: Pending<'_, T>) -> Result<T, GraphError> {
        match tokio::time::timeout(self.deadline, future).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(::falkordb::FalkorDBError::ParamEncoding { parameter, message })) => {
                Err(GraphError::Codec {
                    what: "query parameter",
                    message: format!("{}: {message}", parameter.unwrap_or_default()),
                })
            }
            Ok(Err(error)) => {
                let message = self.redactor.redact(error);
                debug!(operation, error = %message, "falkordb call failed");
                Err(GraphError::Backend(format!("falkordb {operation} failed: {message}")))
            }
            Err(_) => {
                debug!(operation, deadline_ms = self.deadline.as_millis(), "falkordb call timed out");
                Err(GraphError::Backend(format!(
                    "falkordb {operation} timed out after {} ms",
                    self.deadline.as_millis()
                )))
            }
        }
    }

    /// Runs one statement (a `GRAPH.QUERY`) and collects its rows.
    async fn run(&self, operation: &'static str, statement: &Statement) -> Result<Vec<Row>, GraphError> {
        let mut graph = self.graph.clone();
        let text = statement.text.as_str();
        let params = statement.params.clone();
        self.bounded(
            operation,
            Box::pin(async move {
                let mut query = graph.query(text);
                for (name, value) in params {
                    query = query.try_with_param(&name, value)?;
                }
                query.execute().await?.data.try_collect::<Vec<Row>>().await
            }),
        )
        .await
    }

    /// Writes one compiled port call as one query.
    async fn write(&self, batch: Batch) -> Result<(), GraphError> {
        let statement = cypher::batch_statement(&batch)?;
        self.run("write", &statement).await?;
        debug!(call = %batch.call, mutations = batch.ops.len(), "graph written");
        Ok(())
    }

    async fn keys(&self, operation: &'static str, statement: &Statement) -> Result<Vec<String>, GraphError> {
        let keys: BTreeSet<String> = self
            .run(operation, statement)
            .await?
            .iter()
            .map(|row| column(row, "key"))
            .collect::<Result<_, _>>()?;
        Ok(keys.into_iter().collect())
    }
}

/// One column of a row, converted strictly.
fn column<T: ::falkordb::FromFalkorValue>(row: &Row, name: &'static str) -> Result<T, GraphError> {
    row.try_get(name).map_err(|error| GraphError::Codec { what: name, message: error.to_string() })
}

fn project_param(project: &ProjectId) -> (String, FalkorValue) {
    (cypher::PROJECT.to_owned(), FalkorValue::String(project.as_str().to_owned()))
}

fn read_observation(locator: &str, row: &Row) -> Result<ObservedElement, GraphError> {
    let descriptor_text: String = column(row, property::DESCRIPTOR)?;
    let descriptor: ElementDescriptor = serde_json::from_str(&descriptor_text)
        .map_err(|e| GraphError::Codec { what: property::DESCRIPTOR, message: e.to_string() })?;
    let observed_at_text: String = column(row, property::OBSERVED_AT)?;
    let observed_at = compile::parse_timestamp(&observed_at_text).ok_or_else(|| GraphError::Codec {
        what: property::OBSERVED_AT,
        message: format!("not an rfc 3339 timestamp: {observed_at_text:?}"),
    })?;
    Ok(ObservedElement {
        locator: locator.to_owned(),
        element: descriptor,
        page_url: column(row, property::PAGE_URL)?,
        test: TestIdentity {
            file: column(row, property::TEST_FILE)?,
            title_path: column::<Option<Vec<String>>>(row, property::TEST_TITLE_PATH)?.unwrap_or_default(),
        },
        observed_at,
    })
}

#[async_trait]
impl KnowledgeGraph for FalkorGraph {
    #[instrument(skip_all, fields(project = %project, locator = %observation.locator))]
    async fn record_observation(
        &self,
        project: &ProjectId,
        observation: &LocatorObservation,
        observed_at: DateTime<Utc>,
    ) -> Result<(), GraphError> {
        self.write(compile::observation(project, observation, observed_at)?).await
    }

    #[instrument(skip_all, fields(project = %project, locator = %locator))]
    async fn last_observation(
        &self,
        project: &ProjectId,
        locator: &str,
    ) -> Result<Option<ObservedElement>, GraphError> {
        let statement = Statement {
            text: cypher::LAST_OBSERVATION.to_owned(),
            params: vec![
                project_param(project),
                ("locator".to_owned(), FalkorValue::String(locator.to_owned())),
            ],
        };
        let rows = self.run("last observation", &statement).await?;
        rows.first().map(|row| read_observation(locator, row)).transpose()
    }

    #[instrument(skip_all, fields(project = %project, fingerprint = %failure.fingerprint))]
    async fn record_failure(
        &self,
        project: &ProjectId,
        failure: &Failure,
        at: DateTime<Utc>,
    ) -> Result<(), GraphError> {
        self.write(compile::failure(project, failure, at)).await
    }

    #[instrument(skip_all, fields(project = %project, suggestion = %suggestion.id))]
    async fn record_healing(
        &self,
        project: &ProjectId,
        suggestion: &HealingSuggestion,
        at: DateTime<Utc>,
    ) -> Result<(), GraphError> {
        self.write(compile::healing(project, suggestion, at)).await
    }

    #[instrument(skip_all, fields(project = %project, sha = %change.sha, files = change.files.len()))]
    async fn record_commit(
        &self,
        project: &ProjectId,
        change: &CommitChange,
        at: DateTime<Utc>,
    ) -> Result<(), GraphError> {
        self.write(compile::commit(project, change, at)).await
    }

    #[instrument(skip_all, fields(project = %project))]
    async fn locators(&self, project: &ProjectId) -> Result<Vec<String>, GraphError> {
        let statement = Statement { text: cypher::LOCATORS.to_owned(), params: vec![project_param(project)] };
        self.keys("locators", &statement).await
    }

    #[instrument(skip_all, fields(project = %project, changed_files = changed_files.len()))]
    async fn locators_at_risk(
        &self,
        project: &ProjectId,
        changed_files: &[String],
    ) -> Result<Vec<String>, GraphError> {
        if changed_files.is_empty() {
            return Ok(Vec::new());
        }
        let files = changed_files.iter().cloned().map(FalkorValue::String).collect();
        let statement = Statement {
            text: cypher::LOCATORS_AT_RISK.to_owned(),
            params: vec![project_param(project), ("files".to_owned(), FalkorValue::Array(files))],
        };
        self.keys("locators at risk", &statement).await
    }

    #[instrument(skip_all, fields(project = %project))]
    async fn stats(&self, project: &ProjectId) -> Result<GraphStats, GraphError> {
        let statement =
            Statement { text: self.stats_query.to_string(), params: vec![project_param(project)] };
        let mut stats = GraphStats::default();
        for row in self.run("stats", &statement).await? {
            let count: i64 = column(&row, "count")?;
            let Ok(count @ 1..) = u64::try_from(count) else { continue };
            let name: String = column(&row, "name")?;
            match column::<String>(&row, "kind")?.as_str() {
                "node" => stats.nodes.insert(name, count),
                _ => stats.edges.insert(name, count),
            };
        }
        Ok(stats)
    }

    async fn ping(&self) -> Result<(), GraphError> {
        let client = Arc::clone(&self.client);
        self.bounded("ping", Box::pin(async move { client.list_graphs().await })).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_apply_and_unknown_fields_are_rejected() {
        let parsed: FalkorGraphConfig =
            serde_json::from_str(r#"{"url":"falkor://127.0.0.1:6379"}"#).expect("minimal config parses");
        assert_eq!(parsed.graph_name, "argus");
        assert_eq!(parsed.connect_timeout(), Duration::from_secs(2));
        assert_eq!(parsed.response_timeout(), Duration::from_secs(5));
        assert_eq!(parsed.operation_deadline(), Duration::from_secs(7));
        assert!(serde_json::from_str::<FalkorGraphConfig>(r#"{"url":"falkor://h:1","graph":"x"}"#).is_err());
        assert!(serde_json::from_str::<FalkorGraphConfig>("{}").is_err(), "the url is required");
    }

    #[test]
    fn redactor_hides_the_url_its_user_info_and_the_password() {
        let url = "falkor://argus:s%40cret@graph.internal:6379";
        let info = FalkorConnectionInfo::try_from(url).expect("valid url");
        let redactor = Redactor::new(url).with_decoded_password(&info);

        let redacted = redactor.redact(format!("failed: {url}; auth s@cret; raw s%40cret"));

        assert!(!redacted.contains("s@cret") && !redacted.contains("s%40cret"), "{redacted}");
        assert!(redacted.starts_with("failed: [redacted]"), "{redacted}");
    }
}
