//! The FalkorDB graph passes the shared conformance suite, against the server named by
//! `ARGUS_TEST_FALKORDB_URL` (started by `data-layer/local/up.sh`; `source /tmp/argus-services/env.sh`).
//! Each check gets a graph of its own, deleted when the check ends.
//!
//! Without that variable the checks run against the in-memory graph instead, after a `skipping: …` line on
//! stderr, so `cargo test` works without servers; with `ARGUS_REQUIRE_SERVICES=1` a missing variable is a
//! failure.

use argus_graph::KnowledgeGraph;
use argus_graph::falkordb::{FalkorGraph, FalkorGraphConfig};
use argus_graph::in_process::InProcessGraph;
use falkordb::{FalkorClientBuilder, FalkorConnectionInfo};
use std::sync::Arc;

/// The FalkorDB URL, or `None` (after saying so) when the tests should not need one.
fn falkordb_url() -> Option<String> {
    match std::env::var("ARGUS_TEST_FALKORDB_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("ARGUS_REQUIRE_SERVICES").as_deref() == Ok("1") => panic!(
            "ARGUS_TEST_FALKORDB_URL is not set but ARGUS_REQUIRE_SERVICES=1: run data-layer/local/up.sh and \
             source /tmp/argus-services/env.sh"
        ),
        _ => {
            eprintln!(
                "skipping: ARGUS_TEST_FALKORDB_URL is not set, so this check runs against the in-memory graph \
                 (run data-layer/local/up.sh and source /tmp/argus-services/env.sh to test FalkorDB)"
            );
            None
        }
    }
}

/// Deletes a test graph when the check that used it ends. Drop cannot await, and the check's runtime is
/// busy dropping this, so the delete goes through the crate's blocking client.
struct DeleteGraphOnDrop {
    url: String,
    graph_name: String,
}

impl Drop for DeleteGraphOnDrop {
    fn drop(&mut self) {
        let deleted = FalkorConnectionInfo::try_from(self.url.as_str())
            .and_then(|info| FalkorClientBuilder::new().with_connection_info(info).build())
            .and_then(|client| client.select_graph(&self.graph_name).delete());
        if let Err(error) = deleted {
            eprintln!("could not delete test graph {}: {error}", self.graph_name);
        }
    }
}

async fn falkordb_graph() -> (Arc<dyn KnowledgeGraph>, Option<DeleteGraphOnDrop>) {
    let Some(url) = falkordb_url() else {
        return (Arc::new(InProcessGraph::in_memory()), None);
    };
    let graph_name = format!("argus-test-{}", uuid::Uuid::new_v4().simple());
    let config = FalkorGraphConfig { graph_name: graph_name.clone(), ..FalkorGraphConfig::new(url.clone()) };
    match FalkorGraph::connect(&config).await {
        Ok(graph) => (Arc::new(graph), Some(DeleteGraphOnDrop { url, graph_name })),
        Err(error) => panic!("cannot connect to the test falkordb: {error}"),
    }
}

mod conformance {
    argus_graph::graph_conformance_tests!(super::falkordb_graph);
}
