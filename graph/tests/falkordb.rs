//! The FalkorDB graph against a real server (`ARGUS_TEST_FALKORDB_URL`, started by
//! `data-layer/local/up.sh`): values full of Cypher syntax round-trip and change nothing else, the
//! identity indexes exist, concurrent observations keep the newest, the answers equal the in-process
//! graph's, and the server's address and password never show.
//!
//! Each test uses a graph of its own, deleted when it ends. Without `ARGUS_TEST_FALKORDB_URL` each server
//! test prints `skipping: …` and passes, unless `ARGUS_REQUIRE_SERVICES=1`, which makes a missing server a
//! failure.

use argus_graph::conformance::{
    commit, element, failure, observation, suggestion, test_in, time, unique_project,
};
use argus_graph::falkordb::{FalkorGraph, FalkorGraphConfig};
use argus_graph::in_process::InProcessGraph;
use argus_graph::{GraphError, GraphStats, KnowledgeGraph};
use argus_vocabulary::ProjectId;
use falkordb::{FalkorClientBuilder, FalkorConnectionInfo};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
                "skipping: ARGUS_TEST_FALKORDB_URL is not set (run data-layer/local/up.sh and source \
                 /tmp/argus-services/env.sh)"
            );
            None
        }
    }
}

/// A graph of one test, deleted (through the blocking client, since Drop cannot await) when it ends.
struct TestGraph {
    url: String,
    config: FalkorGraphConfig,
}

impl TestGraph {
    fn new(url: &str) -> Self {
        let graph_name = format!("argus-test-{}", uuid::Uuid::new_v4().simple());
        Self { url: url.to_owned(), config: FalkorGraphConfig { graph_name, ..FalkorGraphConfig::new(url) } }
    }

    async fn connect(&self) -> FalkorGraph {
        match FalkorGraph::connect(&self.config).await {
            Ok(graph) => graph,
            Err(error) => panic!("cannot connect to the test falkordb: {error}"),
        }
    }

    fn blocking_graph(&self) -> falkordb::SyncGraph {
        let info = FalkorConnectionInfo::try_from(self.url.as_str()).expect("valid url");
        let client = FalkorClientBuilder::new().with_connection_info(info).build().expect("blocking client");
        client.select_graph(&self.config.graph_name)
    }
}

impl Drop for TestGraph {
    fn drop(&mut self) {
        let info = FalkorConnectionInfo::try_from(self.url.as_str());
        let deleted = info
            .and_then(|info| FalkorClientBuilder::new().with_connection_info(info).build())
            .and_then(|client| client.select_graph(&self.config.graph_name).delete());
        if let Err(error) = deleted {
            // A test that deleted its graph itself leaves nothing to delete.
            eprintln!("test graph {} not deleted: {error}", self.config.graph_name);
        }
    }
}

/// Everything the port can tell about a project, for comparisons.
async fn everything(
    graph: &dyn KnowledgeGraph,
    project: &ProjectId,
    locators: &[&str],
    files: &[String],
) -> Result<String, GraphError> {
    let mut observed = Vec::new();
    for locator in locators {
        observed.push(graph.last_observation(project, locator).await?);
    }
    Ok(format!(
        "{:?}\n{:?}\n{:?}\n{:?}",
        graph.stats(project).await?,
        observed,
        graph.locators(project).await?,
        graph.locators_at_risk(project, files).await?,
    ))
}

/// Text that would break out of a string literal, a map, a pattern or a whole query if it were pasted
/// into Cypher.
const HOSTILE: &str = "a\"]') }) MATCH (n) DETACH DELETE n RETURN 1 // \\' \\\\ '' \"\" `x` $project \
                       {key: 'k'} CALL db.indexes() UNION MATCH (m) SET m.key = 'owned' \n\t\r ünïcødé 🚀";

#[tokio::test]
async fn values_full_of_cypher_syntax_round_trip_and_touch_nothing_else() -> Result<(), GraphError> {
    let Some(url) = falkordb_url() else { return Ok(()) };
    let test_graph = TestGraph::new(&url);
    let graph = test_graph.connect().await;
    let canary = unique_project("canary");
    let bystander = test_in("tests/canary.spec.ts", "stays");
    graph
        .record_observation(
            &canary,
            &observation(&bystander, "#canary", element("a", "c", "c"), None),
            time(1),
        )
        .await?;
    let canary_before =
        everything(&graph, &canary, &["#canary"], &["tests/canary.spec.ts".to_owned()]).await?;

    let project = unique_project("hostile");
    let locator = format!("#buy{HOSTILE}");
    let test = test_in(&format!("tests/{HOSTILE}.spec.ts"), HOSTILE);
    let seen = observation(
        &test,
        &locator,
        element(HOSTILE, HOSTILE, HOSTILE),
        Some(&format!("https://shop.test/{HOSTILE}?q='x'#\"y\"")),
    );
    let failed = failure(&test, Some(&locator), Some(HOSTILE));
    let healed = suggestion(&failed, Some(&format!("[data-testid='{HOSTILE}']")));
    graph.record_observation(&project, &seen, time(2)).await?;
    graph.record_failure(&project, &failed, time(3)).await?;
    graph.record_healing(&project, &healed, time(4)).await?;
    graph.record_commit(&project, &commit(HOSTILE, &[HOSTILE, "src/ok.ts"]), time(5)).await?;

    let last = graph.last_observation(&project, &locator).await?.expect("observed");
    assert_eq!(last.locator, locator);
    assert_eq!(last.element, seen.element);
    assert_eq!(last.page_url, seen.page_url);
    assert_eq!(last.test, test);
    assert_eq!(last.observed_at, time(2));
    let suggested = format!("[data-testid='{HOSTILE}']");
    let mut expected_locators = vec![locator.clone(), suggested];
    expected_locators.sort();
    assert_eq!(graph.locators(&project).await?, expected_locators);
    assert_eq!(
        graph.locators_at_risk(&project, std::slice::from_ref(&test.file)).await?,
        vec![locator.clone()]
    );
    assert_eq!(graph.locators_at_risk(&project, &[HOSTILE.to_owned()]).await?, vec![locator.clone()]);
    let stats = graph.stats(&project).await?;
    assert_eq!(stats.nodes.get("File"), Some(&3), "spec file, {HOSTILE:?} and src/ok.ts: {stats:?}");
    assert_eq!(stats.nodes.get("Commit"), Some(&1));
    assert_eq!(
        everything(&graph, &canary, &["#canary"], &["tests/canary.spec.ts".to_owned()]).await?,
        canary_before,
        "another project is untouched"
    );
    Ok(())
}

#[tokio::test]
async fn a_value_falkordb_cannot_encode_is_refused_and_changes_nothing() -> Result<(), GraphError> {
    let Some(url) = falkordb_url() else { return Ok(()) };
    let test_graph = TestGraph::new(&url);
    let graph = test_graph.connect().await;
    let project = unique_project("nul");
    let test = test_in("tests/cart.spec.ts", "adds");

    let recorded = graph
        .record_observation(&project, &observation(&test, "#a\0b", element("a", "b", "c"), None), time(1))
        .await;

    assert!(matches!(recorded, Err(GraphError::Codec { .. })), "got {recorded:?}");
    assert_eq!(graph.stats(&project).await?, GraphStats::default());
    Ok(())
}

#[tokio::test]
async fn every_label_has_an_index_on_project_and_key_and_reconnecting_keeps_them() {
    let Some(url) = falkordb_url() else { return };
    let test_graph = TestGraph::new(&url);
    let _first = test_graph.connect().await;
    let _second = test_graph.connect().await;

    let mut blocking = test_graph.blocking_graph();
    let mut result = blocking
        .query("CALL db.indexes() YIELD label, properties, entitytype RETURN label, properties, entitytype")
        .execute()
        .expect("db.indexes()");
    let mut indexed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in result.data.by_ref() {
        let row = row.expect("row");
        assert_eq!(row.try_get::<String>("entitytype").expect("entitytype"), "NODE");
        let label: String = row.try_get("label").expect("label");
        let properties: Vec<String> = row.try_get("properties").expect("properties");
        indexed.entry(label).or_default().extend(properties);
    }

    let labels = ["Commit", "Element", "Failure", "File", "Healing", "Locator", "Page", "Test"];
    assert_eq!(indexed.keys().map(String::as_str).collect::<Vec<_>>(), labels);
    for (label, properties) in &indexed {
        let properties: BTreeSet<&str> = properties.iter().map(String::as_str).collect();
        assert_eq!(properties, BTreeSet::from(["key", "project"]), "{label}");
    }
    let plan =
        blocking.explain("MATCH (n:Locator {project: 'p', key: 'k'}) RETURN n").execute().expect("explain");
    assert!(format!("{plan:?}").contains("Index Scan"), "lookups use the index: {plan:?}");
}

#[tokio::test]
async fn clients_connecting_to_a_new_graph_at_once_all_succeed() {
    let Some(url) = falkordb_url() else { return };
    let test_graph = TestGraph::new(&url);

    let connected = futures::future::join_all(
        (0..4).map(|_| FalkorGraph::connect(&test_graph.config)).collect::<Vec<_>>(),
    )
    .await;

    for graph in connected {
        let graph = graph.expect("every client creates or finds the indexes");
        assert!(graph.ping().await.is_ok());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_observations_of_one_locator_keep_the_newest() -> Result<(), GraphError> {
    let Some(url) = falkordb_url() else { return Ok(()) };
    let test_graph = TestGraph::new(&url);
    let clients = [Arc::new(test_graph.connect().await), Arc::new(test_graph.connect().await)];
    let project = unique_project("race");
    // Observation n happens at time(n); they are sent in an order that is neither ascending nor descending.
    let order: Vec<i64> = (0..40).map(|n| (n * 17) % 40).collect();

    let mut writes = tokio::task::JoinSet::new();
    for (index, &second) in order.iter().enumerate() {
        let graph = Arc::clone(&clients[index % 2]);
        let project = project.clone();
        writes.spawn(async move {
            let test = test_in(&format!("tests/t{}.spec.ts", second % 4), "races");
            let seen = observation(
                &test,
                "#contended",
                element("button", &format!("id-{second}"), "x"),
                Some(&format!("https://shop.test/p{second}")),
            );
            graph.record_observation(&project, &seen, time(second)).await
        });
    }
    while let Some(written) = writes.join_next().await {
        written.expect("joined")?;
    }

    let last = clients[0].last_observation(&project, "#contended").await?.expect("observed");
    assert_eq!(last.observed_at, time(39));
    assert_eq!(last.element.id.as_deref(), Some("id-39"));
    assert_eq!(last.page_url.as_deref(), Some("https://shop.test/p39"));
    assert_eq!(last.test.file, "tests/t3.spec.ts");
    let stats = clients[1].stats(&project).await?;
    assert_eq!(stats.nodes.get("Element"), Some(&1));
    assert_eq!(stats.nodes.get("Locator"), Some(&1));
    assert_eq!(stats.nodes.get("Test"), Some(&4));
    assert_eq!(stats.nodes.get("Page"), Some(&40));
    assert_eq!(stats.edges.get("MATCHED"), Some(&1));
    assert_eq!(stats.edges.get("ON"), Some(&40));
    Ok(())
}

#[tokio::test]
async fn answers_equal_the_in_process_graph_after_the_same_calls() -> Result<(), GraphError> {
    let Some(url) = falkordb_url() else { return Ok(()) };
    let test_graph = TestGraph::new(&url);
    let falkor = test_graph.connect().await;
    let in_process = InProcessGraph::in_memory();
    let project = unique_project("mirror");
    let adds = test_in("tests/cart.spec.ts", "adds");
    let pays = test_in("tests/pay.spec.ts", "pays");
    let broken = failure(&pays, Some("#pay"), Some("c1"));
    let bare = failure(&adds, None, None);

    for graph in [&falkor as &dyn KnowledgeGraph, &in_process] {
        graph.record_commit(&project, &commit("c1", &["src/pay.tsx", "tests/pay.spec.ts"]), time(1)).await?;
        graph
            .record_observation(
                &project,
                &observation(&adds, "#buy", element("button", "new", "Buy"), Some("https://s/c?a")),
                time(20),
            )
            .await?;
        graph
            .record_observation(
                &project,
                &observation(&adds, "#buy", element("input", "old", "Buy"), None),
                time(10),
            )
            .await?;
        graph
            .record_observation(
                &project,
                &observation(&pays, "#pay", element("button", "pay", "Pay"), None),
                time(5),
            )
            .await?;
        graph
            .record_observation(
                &project,
                &observation(&pays, "#pay", element("a", "pay2", "Pay"), Some("https://s/p")),
                time(6),
            )
            .await?;
        graph
            .record_observation(
                &project,
                &observation(&pays, "#pay", element("a", "pay3", "Pay"), None),
                time(7),
            )
            .await?;
        graph.record_failure(&project, &broken, time(30)).await?;
        graph.record_failure(&project, &broken, time(29)).await?;
        graph.record_failure(&project, &bare, time(31)).await?;
        graph.record_healing(&project, &suggestion(&broken, Some("#pay-now")), time(32)).await?;
        graph.record_healing(&project, &suggestion(&broken, None), time(33)).await?;
        graph.record_healing(&project, &suggestion(&broken, Some("#pay")), time(34)).await?;
    }

    let files = ["tests/cart.spec.ts", "src/pay.tsx", "tests/pay.spec.ts", "src/none.ts"].map(str::to_owned);
    let locators = ["#buy", "#pay", "#pay-now", "#never"];
    assert_eq!(
        everything(&falkor, &project, &locators, &files).await?,
        everything(&in_process, &project, &locators, &files).await?
    );
    let pay = falkor.last_observation(&project, "#pay").await?.expect("observed");
    assert_eq!(pay.page_url, None, "a newer observation without a page clears page_url");
    Ok(())
}

#[tokio::test]
async fn deleting_the_graph_removes_it_from_the_server() -> Result<(), GraphError> {
    let Some(url) = falkordb_url() else { return Ok(()) };
    let test_graph = TestGraph::new(&url);
    let graph = test_graph.connect().await;
    graph.record_commit(&unique_project("gone"), &commit("c1", &["a.ts"]), time(1)).await?;

    graph.delete_graph().await?;

    let info = FalkorConnectionInfo::try_from(url.as_str()).expect("valid url");
    let client = FalkorClientBuilder::new().with_connection_info(info).build().expect("blocking client");
    let graphs = client.list_graphs().expect("GRAPH.LIST");
    assert!(!graphs.contains(&test_graph.config.graph_name), "{graphs:?}");
    Ok(())
}

#[tokio::test]
async fn connecting_to_a_closed_port_fails_within_the_deadline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    let config = FalkorGraphConfig {
        connect_timeout_ms: 300,
        response_timeout_ms: 300,
        ..FalkorGraphConfig::new(format!("falkor://127.0.0.1:{port}"))
    };

    let started = Instant::now();
    let connected = FalkorGraph::connect(&config).await;

    assert!(matches!(connected, Err(GraphError::Backend(_))), "got {connected:?}");
    assert!(
        started.elapsed() < config.operation_deadline() + Duration::from_millis(750),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_password_never_shows_in_debug_or_errors() {
    let password = "hunter2-not-shown";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    let unreachable = FalkorGraphConfig {
        connect_timeout_ms: 300,
        response_timeout_ms: 300,
        ..FalkorGraphConfig::new(format!("falkor://argus:{password}@127.0.0.1:{port}"))
    };
    assert!(!format!("{unreachable:?}").contains(password), "{unreachable:?}");
    let error = FalkorGraph::connect(&unreachable).await.expect_err("closed port");
    assert!(!error.to_string().contains(password), "{error}");
    let invalid = FalkorGraphConfig::new(format!("falkor://argus:{password}@127.0.0.1:notaport"));
    let error = FalkorGraph::connect(&invalid).await.expect_err("invalid url");
    assert!(!error.to_string().contains(password), "{error}");

    let Some(url) = falkordb_url() else { return };
    let test_graph = TestGraph::new(&url);
    let graph = test_graph.connect().await;
    assert!(!format!("{graph:?}").contains(&url), "{graph:?}");
    let address = url.trim_start_matches("falkor://").trim_start_matches("redis://");
    let refused =
        FalkorGraph::connect(&FalkorGraphConfig::new(format!("falkor://argus:{password}@{address}")))
            .await
            .expect_err("the test server has no such user");
    assert!(!refused.to_string().contains(password), "{refused}");
}
