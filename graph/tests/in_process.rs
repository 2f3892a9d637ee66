//! The in-process graph: the conformance suite in memory and over a journal, then the journal's own
//! behaviour (restore on reopen, torn last line, corrupt middle line, versioned lines).

use argus_graph::conformance::{commit, element, failure, observation, suggestion, test_in, time};
use argus_graph::in_process::InProcessGraph;
use argus_graph::{GraphError, KnowledgeGraph};
use argus_vocabulary::ProjectId;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;

async fn in_memory_graph() -> Arc<dyn KnowledgeGraph> {
    Arc::new(InProcessGraph::in_memory())
}

async fn journalled_graph() -> (Arc<dyn KnowledgeGraph>, TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let graph = InProcessGraph::open_journal(dir.path().join("graph.jsonl")).expect("open journal");
    (Arc::new(graph), dir)
}

mod in_memory {
    argus_graph::graph_conformance_tests!(super::in_memory_graph);
}

mod journalled {
    argus_graph::graph_conformance_tests!(super::journalled_graph);
}

fn shop() -> ProjectId {
    ProjectId::parse("shop").expect("valid project id")
}

fn journal_path(dir: &TempDir) -> PathBuf {
    dir.path().join("graph.jsonl")
}

/// Records one of every kind of fact, including a late older observation, and returns the files that
/// are worth asking `locators_at_risk` about.
async fn record_scenario(graph: &dyn KnowledgeGraph, project: &ProjectId) -> Result<Vec<String>, GraphError> {
    let adds = test_in("tests/cart.spec.ts", "adds");
    let pays = test_in("tests/pay.spec.ts", "pays");
    let failed = failure(&pays, Some("#pay"), Some("c1"));
    graph
        .record_observation(
            project,
            &observation(&adds, "#buy", element("button", "new", "Buy"), Some("https://s/c?a")),
            time(20),
        )
        .await?;
    graph
        .record_observation(
            project,
            &observation(&adds, "#buy", element("input", "old", "Buy"), Some("https://s/c#old")),
            time(10),
        )
        .await?;
    graph
        .record_observation(
            project,
            &observation(&pays, "#pay", element("button", "pay", "Pay"), None),
            time(5),
        )
        .await?;
    graph.record_failure(project, &failed, time(30)).await?;
    graph.record_healing(project, &suggestion(&failed, Some("#pay-now")), time(31)).await?;
    graph.record_commit(project, &commit("c1", &["src/pay.tsx"]), time(40)).await?;
    Ok(vec!["tests/cart.spec.ts".to_owned(), "src/pay.tsx".to_owned()])
}

/// Everything the port can tell about the scenario, for before/after comparisons.
async fn snapshot(
    graph: &dyn KnowledgeGraph,
    project: &ProjectId,
    changed: &[String],
) -> Result<String, GraphError> {
    Ok(format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        graph.stats(project).await?,
        graph.last_observation(project, "#buy").await?,
        graph.last_observation(project, "#pay").await?,
        graph.locators(project).await?,
        graph.locators_at_risk(project, changed).await?,
    ))
}

fn journal_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).expect("read journal").lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn reopening_the_journal_restores_every_fact() -> Result<(), GraphError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = shop();
    let graph = InProcessGraph::open_journal(journal_path(&dir))?;
    let changed = record_scenario(&graph, &project).await?;
    let before = snapshot(&graph, &project, &changed).await?;
    drop(graph);

    let reopened = InProcessGraph::open_journal(journal_path(&dir))?;

    assert_eq!(snapshot(&reopened, &project, &changed).await?, before);
    let newest = reopened.last_observation(&project, "#buy").await?.expect("observed");
    assert_eq!(newest.observed_at, time(20), "the late older observation stays behind after replay");
    assert_eq!(newest.element.id.as_deref(), Some("new"));
    Ok(())
}

#[tokio::test]
async fn journal_lines_are_versioned_json_one_per_changing_call() -> Result<(), GraphError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let graph = InProcessGraph::open_journal(journal_path(&dir))?;
    record_scenario(&graph, &shop()).await?;

    let lines = journal_lines(&journal_path(&dir));

    // Six calls, but the late older observation (same page) only meets facts that exist: no line.
    let calls: Vec<String> = lines
        .iter()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("json line");
            assert_eq!(value["v"], 1);
            assert_eq!(value["project"], "shop");
            value["call"].as_str().expect("call").to_owned()
        })
        .collect();
    assert_eq!(
        calls,
        ["record_observation", "record_observation", "record_failure", "record_healing", "record_commit"]
    );
    Ok(())
}

#[tokio::test]
async fn repeating_a_call_does_not_grow_the_journal() -> Result<(), GraphError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let graph = InProcessGraph::open_journal(journal_path(&dir))?;
    let project = shop();
    let seen = observation(&test_in("tests/cart.spec.ts", "adds"), "#buy", element("a", "b", "c"), None);
    graph.record_observation(&project, &seen, time(1)).await?;
    let size = std::fs::metadata(journal_path(&dir)).expect("metadata").len();

    graph.record_observation(&project, &seen, time(1)).await?;

    assert!(size > 0);
    assert_eq!(std::fs::metadata(journal_path(&dir)).expect("metadata").len(), size);
    Ok(())
}

#[tokio::test]
async fn torn_last_line_is_ignored_and_later_appends_survive() -> Result<(), GraphError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = shop();
    let graph = InProcessGraph::open_journal(journal_path(&dir))?;
    let changed = record_scenario(&graph, &project).await?;
    let before = snapshot(&graph, &project, &changed).await?;
    drop(graph);
    let mut file = std::fs::OpenOptions::new().append(true).open(journal_path(&dir)).expect("open");
    file.write_all(br#"{"v":1,"call":"record_commit","project":"shop","ops":[{"op":"merge_no"#)
        .expect("tear");
    drop(file);

    let reopened = InProcessGraph::open_journal(journal_path(&dir))?;
    assert_eq!(snapshot(&reopened, &project, &changed).await?, before);
    reopened.record_commit(&project, &commit("c2", &["tests/cart.spec.ts"]), time(50)).await?;
    drop(reopened);
    let again = InProcessGraph::open_journal(journal_path(&dir))?;

    let stats = again.stats(&project).await?;
    assert_eq!(stats.nodes.get("Commit"), Some(&2), "the append after the torn line was replayed");
    assert!(journal_lines(&journal_path(&dir)).iter().all(|line| !line.ends_with("merge_no")));
    Ok(())
}

#[tokio::test]
async fn torn_last_line_ending_in_a_newline_is_ignored() -> Result<(), GraphError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = shop();
    let graph = InProcessGraph::open_journal(journal_path(&dir))?;
    record_scenario(&graph, &project).await?;
    let before = graph.stats(&project).await?;
    drop(graph);
    let mut file = std::fs::OpenOptions::new().append(true).open(journal_path(&dir)).expect("open");
    file.write_all(b"\0\0\0\n").expect("garbage tail");
    drop(file);

    let reopened = InProcessGraph::open_journal(journal_path(&dir))?;

    assert_eq!(reopened.stats(&project).await?, before);
    Ok(())
}

#[tokio::test]
async fn corrupt_middle_line_is_an_error_naming_the_line() -> Result<(), GraphError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let graph = InProcessGraph::open_journal(journal_path(&dir))?;
    record_scenario(&graph, &shop()).await?;
    drop(graph);
    let mut lines = journal_lines(&journal_path(&dir));
    assert!(lines.len() >= 3);
    let half = lines[1].len() / 2;
    lines[1].truncate(half);
    std::fs::write(journal_path(&dir), lines.join("\n") + "\n").expect("rewrite");

    let opened = InProcessGraph::open_journal(journal_path(&dir));

    match opened {
        Err(GraphError::CorruptJournal { line, path, .. }) => {
            assert_eq!(line, 2);
            assert!(path.ends_with("graph.jsonl"));
        }
        other => panic!("expected a corrupt journal error, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn line_from_a_newer_journal_version_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        journal_path(&dir),
        "{\"v\":2,\"call\":\"record_commit\",\"project\":\"shop\",\"ops\":[]}\n",
    )
    .expect("write");

    let opened = InProcessGraph::open_journal(journal_path(&dir));

    assert!(matches!(opened, Err(GraphError::CorruptJournal { line: 1, .. })), "got {opened:?}");
}

#[tokio::test]
async fn opening_a_missing_journal_starts_empty() -> Result<(), GraphError> {
    let dir = tempfile::tempdir().expect("tempdir");

    let graph = InProcessGraph::open_journal(journal_path(&dir))?;

    assert_eq!(graph.stats(&shop()).await?, Default::default());
    assert!(journal_path(&dir).exists());
    Ok(())
}

#[test]
fn journal_in_a_missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");

    let opened = InProcessGraph::open_journal(dir.path().join("absent").join("graph.jsonl"));

    assert!(matches!(opened, Err(GraphError::Journal { .. })), "got {opened:?}");
}

#[tokio::test]
async fn clones_share_one_graph() -> Result<(), GraphError> {
    let graph = InProcessGraph::in_memory();
    let clone = graph.clone();

    clone.record_commit(&shop(), &commit("c1", &["a.ts"]), time(1)).await?;

    assert_eq!(graph.stats(&shop()).await?.nodes.get("Commit"), Some(&1));
    Ok(())
}
