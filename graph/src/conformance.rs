//! The conformance suite of the [`KnowledgeGraph`] port. Every adapter runs it unchanged:
//!
//! ```no_run
//! use argus_graph::{KnowledgeGraph, in_process::InProcessGraph};
//! use std::sync::Arc;
//!
//! async fn graph() -> Arc<dyn KnowledgeGraph> {
//!     Arc::new(InProcessGraph::in_memory())
//! }
//! argus_graph::graph_conformance_tests!(graph);
//! # fn main() {}
//! ```
//!
//! The factory is any async callable returning a [`GraphFixture`]: a graph, or a graph plus a value that
//! must outlive the test (a temporary directory). The macro expands to one `#[tokio::test]` per check.
//! Each check works in projects of its own ([`unique_project`]), so checks may share one backend (a real
//! FalkorDB is shared by every test run).
//!
//! - Checks: `pub async fn check_name(graph) -> Result<(), GraphError>`; a broken expectation panics.
//! - Builders: [`unique_project`], [`time`], [`test_in`], [`observation`], [`failure`], [`suggestion`],
//!   [`commit`], [`counts`]: documented test values built from `argus_vocabulary` types.

use crate::{CommitChange, GraphError, GraphStats, KnowledgeGraph, ObservedElement};
use argus_vocabulary::{
    ElementDescriptor, ErrorKind, EventId, Failure, Fingerprint, HealDecision, HealSource, HealingSuggestion,
    LocatorObservation, ProjectId, RunContext, SuggestedLocator, SuggestionId, TestIdentity,
};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a conformance factory returns: something that hands out the graph under test and lives for the
/// whole check.
pub trait GraphFixture {
    /// The graph under test.
    fn graph(&self) -> Arc<dyn KnowledgeGraph>;
}

impl GraphFixture for Arc<dyn KnowledgeGraph> {
    fn graph(&self) -> Arc<dyn KnowledgeGraph> {
        Arc::clone(self)
    }
}

/// A graph plus a guard kept alive until the check ends (for example the `TempDir` holding a journal).
impl<Guard> GraphFixture for (Arc<dyn KnowledgeGraph>, Guard) {
    fn graph(&self) -> Arc<dyn KnowledgeGraph> {
        Arc::clone(&self.0)
    }
}

/// Expands to one `#[tokio::test]` per conformance check, each calling `factory().await` for a fresh
/// [`conformance::GraphFixture`](crate::conformance::GraphFixture). The calling crate needs `tokio` with
/// the `macros` and `rt` features.
#[macro_export]
macro_rules! graph_conformance_tests {
    ($factory:expr) => {
        $crate::graph_conformance_tests!(@checks $factory;
            observation_then_last_observation_returns_it,
            unknown_locator_has_no_observation,
            newer_observation_wins,
            older_observation_arriving_late_does_not_overwrite,
            last_observation_is_project_scoped,
            recording_the_same_observation_twice_leaves_stats_unchanged,
            observation_creates_each_node_and_edge_once,
            record_failure_creates_failure_failed_with_broke_and_seen_at,
            failure_without_locator_or_commit_has_no_broke_or_seen_at,
            healing_with_a_suggestion_suggests_the_new_locator,
            abstention_is_recorded_without_suggests,
            locators_at_risk_through_a_changed_test_file,
            locators_at_risk_through_a_commit_a_failure_was_seen_at,
            locators_at_risk_is_sorted_and_deduplicated,
            locators_lists_observed_broken_and_suggested_sorted,
            stats_count_exactly_per_project,
            ping_answers,
        );
    };
    (@checks $factory:expr; $($check:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $check() -> ::std::result::Result<(), $crate::GraphError> {
                let fixture = ($factory)().await;
                let graph = $crate::conformance::GraphFixture::graph(&fixture);
                $crate::conformance::$check(graph).await
            }
        )+
    };
}

// ---------------------------------------------------------------------------------------------------------
// Builders

/// A project id no other check (or earlier run against a shared backend) uses: `{prefix}-{random hex}`.
/// `prefix` must be a valid project id of at most 31 characters.
pub fn unique_project(prefix: &str) -> ProjectId {
    let raw = format!("{prefix}-{}", uuid::Uuid::new_v4().simple());
    // The prefix is a literal of the check; an invalid one is a bug in the suite.
    ProjectId::parse(raw).expect("conformance project prefixes are valid project ids")
}

/// `seconds` after 2026-01-01T00:00:00Z, plus 123 456 789 ns so that an adapter must keep nanoseconds.
pub fn time(seconds: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
        + TimeDelta::seconds(1_767_225_600 + seconds)
        + TimeDelta::nanoseconds(123_456_789)
}

/// A test in spec file `file` with one describe block (`checkout`) and the title `title`.
pub fn test_in(file: &str, title: &str) -> TestIdentity {
    TestIdentity { file: file.to_owned(), title_path: vec!["checkout".to_owned(), title.to_owned()] }
}

/// A `<tag>` element with the given `id`, visible text and a bounding box (so descriptors carry numbers).
pub fn element(tag: &str, id: &str, text: &str) -> ElementDescriptor {
    ElementDescriptor {
        id: Some(id.to_owned()),
        text: Some(text.to_owned()),
        bounding_box: Some(argus_vocabulary::BoundingBox { x: 10.0, y: 20.5, width: 120.0, height: 32.0 }),
        ..ElementDescriptor::with_tag(tag)
    }
}

/// `test` found `locator`, which matched `element` on `page_url`.
pub fn observation(
    test: &TestIdentity,
    locator: &str,
    element: ElementDescriptor,
    page_url: Option<&str>,
) -> LocatorObservation {
    LocatorObservation {
        test: test.clone(),
        locator: locator.to_owned(),
        element,
        page_url: page_url.map(str::to_owned),
        run: RunContext { commit_sha: Some("0000000".to_owned()), ..RunContext::default() },
    }
}

/// A locator-not-found failure of `test` on `locator`, seen at `commit_sha`; the fingerprint is derived
/// from the test and the locator, so equal arguments give the same failure.
pub fn failure(test: &TestIdentity, locator: Option<&str>, commit_sha: Option<&str>) -> Failure {
    let locator_part = locator.unwrap_or("");
    Failure {
        test: test.clone(),
        error_kind: if locator.is_some() { ErrorKind::LocatorNotFound } else { ErrorKind::Timeout },
        message: format!("waiting for locator {locator_part:?}"),
        stack: None,
        locator: locator.map(str::to_owned),
        page_url: Some("https://shop.test/cart".to_owned()),
        run: RunContext {
            commit_sha: commit_sha.map(str::to_owned),
            branch: Some("main".to_owned()),
            ci_run_id: None,
        },
        snapshot: None,
        fingerprint: Fingerprint::from_parts([test.key().as_str(), locator_part]),
    }
}

/// The healer's answer to `failure`: a suggestion of `suggested_css`, or an abstention when `None`.
pub fn suggestion(failure: &Failure, suggested_css: Option<&str>) -> HealingSuggestion {
    let request = EventId::new_random();
    let confidence = if suggested_css.is_some() { 0.93 } else { 0.0 };
    HealingSuggestion {
        id: SuggestionId::for_request(request),
        request_event_id: request,
        failure_event_id: EventId::new_random(),
        test: failure.test.clone(),
        fingerprint: failure.fingerprint.clone(),
        broken_locator: failure.locator.clone().unwrap_or_default(),
        suggested: suggested_css.map(|css| SuggestedLocator {
            css: css.to_owned(),
            xpath: None,
            playwright: None,
        }),
        confidence,
        source: suggested_css.map(|_| HealSource::DomSimilarity),
        decision: HealDecision::for_confidence(confidence),
        rationale: "conformance".to_owned(),
    }
}

/// A commit `sha` that changed `files`.
pub fn commit(sha: &str, files: &[&str]) -> CommitChange {
    CommitChange { sha: sha.to_owned(), files: files.iter().map(|file| (*file).to_owned()).collect() }
}

/// A count map for [`GraphStats`] fields: `counts(&[("Test", 1)])`.
pub fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(name, count)| ((*name).to_owned(), *count)).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

// ---------------------------------------------------------------------------------------------------------
// Checks

/// A recorded observation comes back from `last_observation` exactly (descriptor, page, test, time).
pub async fn observation_then_last_observation_returns_it(
    graph: Arc<dyn KnowledgeGraph>,
) -> Result<(), GraphError> {
    let project = unique_project("conf-obs");
    let test = test_in("tests/cart.spec.ts", "adds to cart");
    let seen =
        observation(&test, "#buy", element("button", "buy", "Buy now"), Some("https://shop.test/p/1?ref=x"));

    graph.record_observation(&project, &seen, time(10)).await?;
    let last = graph.last_observation(&project, "#buy").await?;

    let expected = ObservedElement {
        locator: "#buy".to_owned(),
        element: seen.element.clone(),
        page_url: Some("https://shop.test/p/1?ref=x".to_owned()),
        test,
        observed_at: time(10),
    };
    assert_eq!(last, Some(expected));
    Ok(())
}

/// A locator nobody observed has no last observation, even when it is known as a broken locator.
pub async fn unknown_locator_has_no_observation(graph: Arc<dyn KnowledgeGraph>) -> Result<(), GraphError> {
    let project = unique_project("conf-unknown");
    let test = test_in("tests/cart.spec.ts", "pays");
    graph.record_failure(&project, &failure(&test, Some("#pay"), None), time(1)).await?;

    assert_eq!(graph.last_observation(&project, "#never").await?, None);
    assert_eq!(graph.last_observation(&project, "#pay").await?, None);
    Ok(())
}

/// A newer observation of the same locator replaces the element, page and observing test.
pub async fn newer_observation_wins(graph: Arc<dyn KnowledgeGraph>) -> Result<(), GraphError> {
    let project = unique_project("conf-newer");
    let first_test = test_in("tests/cart.spec.ts", "adds");
    let second_test = test_in("tests/promo.spec.ts", "adds on promo");
    let old = observation(&first_test, "#buy", element("button", "buy", "Buy"), Some("https://shop.test/a"));
    let new = observation(&second_test, "#buy", element("a", "buy", "Buy now"), None);

    graph.record_observation(&project, &old, time(10)).await?;
    graph.record_observation(&project, &new, time(20)).await?;

    let last = graph.last_observation(&project, "#buy").await?;
    assert_eq!(
        last,
        Some(ObservedElement {
            locator: "#buy".to_owned(),
            element: new.element.clone(),
            page_url: None,
            test: second_test,
            observed_at: time(20),
        })
    );
    Ok(())
}

/// An older observation that arrives after a newer one does not overwrite it.
pub async fn older_observation_arriving_late_does_not_overwrite(
    graph: Arc<dyn KnowledgeGraph>,
) -> Result<(), GraphError> {
    let project = unique_project("conf-late");
    let test = test_in("tests/cart.spec.ts", "adds");
    let new = observation(&test, "#buy", element("button", "buy", "Buy now"), Some("https://shop.test/new"));
    let old = observation(&test, "#buy", element("input", "buy-old", "Buy"), Some("https://shop.test/old"));

    graph.record_observation(&project, &new, time(20)).await?;
    graph.record_observation(&project, &old, time(10)).await?;

    let last = graph.last_observation(&project, "#buy").await?;
    assert_eq!(last.as_ref().map(|seen| &seen.element), Some(&new.element));
    assert_eq!(last.as_ref().map(|seen| seen.observed_at), Some(time(20)));
    assert_eq!(last.and_then(|seen| seen.page_url).as_deref(), Some("https://shop.test/new"));
    Ok(())
}

/// Observations never leak across projects.
pub async fn last_observation_is_project_scoped(graph: Arc<dyn KnowledgeGraph>) -> Result<(), GraphError> {
    let project = unique_project("conf-scope-a");
    let other = unique_project("conf-scope-b");
    let test = test_in("tests/cart.spec.ts", "adds");

    graph
        .record_observation(
            &project,
            &observation(&test, "#buy", element("button", "b", "Buy"), None),
            time(1),
        )
        .await?;

    assert!(graph.last_observation(&project, "#buy").await?.is_some());
    assert_eq!(graph.last_observation(&other, "#buy").await?, None);
    assert!(graph.locators(&other).await?.is_empty());
    assert_eq!(graph.stats(&other).await?, GraphStats::default());
    Ok(())
}

/// Recording an observation twice is the same as recording it once.
pub async fn recording_the_same_observation_twice_leaves_stats_unchanged(
    graph: Arc<dyn KnowledgeGraph>,
) -> Result<(), GraphError> {
    let project = unique_project("conf-twice");
    let test = test_in("tests/cart.spec.ts", "adds");
    let seen = observation(&test, "#buy", element("button", "buy", "Buy"), Some("https://shop.test/cart"));
    graph.record_observation(&project, &seen, time(5)).await?;
    let once = graph.stats(&project).await?;
    let last_once = graph.last_observation(&project, "#buy").await?;

    graph.record_observation(&project, &seen, time(5)).await?;

    assert_eq!(graph.stats(&project).await?, once);
    assert_eq!(graph.last_observation(&project, "#buy").await?, last_once);
    Ok(())
}

/// One observation makes exactly Test, File, Locator, Element, Page and USES, DEFINED_IN, MATCHED, ON; a
/// second observation on the same page with another query string and fragment reuses the Page.
pub async fn observation_creates_each_node_and_edge_once(
    graph: Arc<dyn KnowledgeGraph>,
) -> Result<(), GraphError> {
    let project = unique_project("conf-obs-stats");
    let test = test_in("tests/cart.spec.ts", "adds");
    let first =
        observation(&test, "#buy", element("button", "buy", "Buy"), Some("https://shop.test/cart?a=1"));
    let second =
        observation(&test, "#buy", element("button", "buy", "Buy"), Some("https://shop.test/cart#top"));

    graph.record_observation(&project, &first, time(1)).await?;
    graph.record_observation(&project, &second, time(2)).await?;

    let stats = graph.stats(&project).await?;
    assert_eq!(stats.nodes, counts(&[("Element", 1), ("File", 1), ("Locator", 1), ("Page", 1), ("Test", 1)]));
    assert_eq!(stats.edges, counts(&[("DEFINED_IN", 1), ("MATCHED", 1), ("ON", 1), ("USES", 1)]));
    Ok(())
}

/// A failure with a locator and a commit makes Test, Failure, Locator, Commit and FAILED_WITH, BROKE,
/// SEEN_AT, once however often it is recorded.
pub async fn record_failure_creates_failure_failed_with_broke_and_seen_at(
    graph: Arc<dyn KnowledgeGraph>,
) -> Result<(), GraphError> {
    let project = unique_project("conf-failure");
    let failed = failure(&test_in("tests/cart.spec.ts", "pays"), Some("#pay"), Some("c0ffee1"));

    graph.record_failure(&project, &failed, time(1)).await?;
    graph.record_failure(&project, &failed, time(2)).await?;

    let stats = graph.stats(&project).await?;
    assert_eq!(stats.nodes, counts(&[("Commit", 1), ("Failure", 1), ("Locator", 1), ("Test", 1)]));
    assert_eq!(stats.edges, counts(&[("BROKE", 1), ("FAILED_WITH", 1), ("SEEN_AT", 1)]));
    assert_eq!(graph.locators(&project).await?, strings(&["#pay"]));
    Ok(())
}

/// A failure without a locator or a commit has no Locator, Commit, BROKE or SEEN_AT.
pub async fn failure_without_locator_or_commit_has_no_broke_or_seen_at(
    graph: Arc<dyn KnowledgeGraph>,
) -> Result<(), GraphError> {
    let project = unique_project("conf-failure-bare");

    graph
        .record_failure(&project, &failure(&test_in("tests/cart.spec.ts", "loads"), None, None), time(1))
        .await?;

    let stats = graph.stats(&project).await?;
    assert_eq!(stats.nodes, counts(&[("Failure", 1), ("Test", 1)]));
    assert_eq!(stats.edges, counts(&[("FAILED_WITH", 1)]));
    Ok(())
}

/// A heal with a suggested locator makes Healing and HEALS, REPLACES, SUGGESTS; the Failure it heals is
/// the one `record_failure` made.
pub async fn healing_with_a_suggestion_suggests_the_new_locator(
    graph: Arc<dyn KnowledgeGraph>,
) -> Result<(), GraphError> {
    let project = unique_project("conf-heal");
    let failed = failure(&test_in("tests/cart.spec.ts", "pays"), Some("#pay"), None);
    let healed = suggestion(&failed, Some("[data-testid=\"pay\"]"));

    graph.record_failure(&project, &failed, time(1)).await?;
    graph.record_healing(&project, &healed, time(2)).await?;
    graph.record_healing(&project, &healed, time(2)).await?;

    let stats = graph.stats(&project).await?;
    assert_eq!(stats.nodes, counts(&[("Failure", 1), ("Healing", 1), ("Locator", 2), ("Test", 1)]));
    assert_eq!(
        stats.edges,
        counts(&[("BROKE", 1), ("FAILED_WITH", 1), ("HEALS", 1), ("REPLACES", 1), ("SUGGESTS", 1)])
    );
    assert_eq!(graph.locators(&project).await?, strings(&["#pay", "[data-testid=\"pay\"]"]));
    Ok(())
}

/// An abstention is recorded (Healing, HEALS, REPLACES) without SUGGESTS.
pub async fn abstention_is_recorded_without_suggests(
    graph: Arc<dyn KnowledgeGraph>,
) -> Result<(), GraphError> {
    let project = unique_project("conf-abstain");
    let failed = failure(&test_in("tests/cart.spec.ts", "pays"), Some("#pay"), None);

    graph.record_healing(&project, &suggestion(&failed, None), time(2)).await?;

    let stats = graph.stats(&project).await?;
    assert_eq!(stats.nodes, counts(&[("Failure", 1), ("Healing", 1), ("Locator", 1)]));
    assert_eq!(stats.edges, counts(&[("HEALS", 1), ("REPLACES", 1)]));
    assert_eq!(graph.locators(&project).await?, strings(&["#pay"]));
    Ok(())
}

/// Changing a spec file puts every locator its tests use at risk, and nothing of other files.
pub async fn locators_at_risk_through_a_changed_test_file(
    graph: Arc<dyn KnowledgeGraph>,
) -> Result<(), GraphError> {
    let project = unique_project("conf-risk-file");
    let cart = test_in("tests/cart.spec.ts", "adds");
    let cart_again = test_in("tests/cart.spec.ts", "removes");
    let search = test_in("tests/search.spec.ts", "finds");
    for (test, locator) in [(&cart, "#buy"), (&cart_again, "#remove"), (&search, "#query")] {
        graph
            .record_observation(
                &project,
                &observation(test, locator, element("button", "x", "x"), None),
                time(1),
            )
            .await?;
    }

    let at_risk = graph.locators_at_risk(&project, &strings(&["tests/cart.spec.ts"])).await?;

    assert_eq!(at_risk, strings(&["#buy", "#remove"]));
    assert!(graph.locators_at_risk(&project, &strings(&["src/unrelated.ts"])).await?.is_empty());
    Ok(())
}

/// Changing a file that a commit touched puts at risk the locators broken by failures seen at that commit,
/// whichever of the commit and the failure was recorded first.
pub async fn locators_at_risk_through_a_commit_a_failure_was_seen_at(
    graph: Arc<dyn KnowledgeGraph>,
) -> Result<(), GraphError> {
    let project = unique_project("conf-risk-commit");
    let pays = test_in("tests/pay.spec.ts", "pays");
    let ships = test_in("tests/ship.spec.ts", "ships");

    graph.record_commit(&project, &commit("aaa111", &["src/pay.tsx", "src/theme.css"]), time(1)).await?;
    graph.record_failure(&project, &failure(&pays, Some("#pay"), Some("aaa111")), time(2)).await?;
    graph.record_failure(&project, &failure(&ships, Some("#ship"), Some("bbb222")), time(3)).await?;
    graph.record_commit(&project, &commit("bbb222", &["src/ship.tsx"]), time(4)).await?;

    assert_eq!(graph.locators_at_risk(&project, &strings(&["src/pay.tsx"])).await?, strings(&["#pay"]));
    assert_eq!(graph.locators_at_risk(&project, &strings(&["src/ship.tsx"])).await?, strings(&["#ship"]));
    // The spec files were never changed by a commit and no test was observed in them.
    assert!(graph.locators_at_risk(&project, &strings(&["tests/pay.spec.ts"])).await?.is_empty());
    Ok(())
}

/// Both paths together give one sorted list without duplicates; other projects' facts do not count.
pub async fn locators_at_risk_is_sorted_and_deduplicated(
    graph: Arc<dyn KnowledgeGraph>,
) -> Result<(), GraphError> {
    let project = unique_project("conf-risk-both");
    let other = unique_project("conf-risk-other");
    let cart = test_in("tests/cart.spec.ts", "adds");
    for locator in ["#zeta", "#alpha", "#buy"] {
        graph
            .record_observation(
                &project,
                &observation(&cart, locator, element("button", "x", "x"), None),
                time(1),
            )
            .await?;
    }
    graph.record_commit(&project, &commit("c1", &["tests/cart.spec.ts", "src/cart.tsx"]), time(2)).await?;
    graph.record_failure(&project, &failure(&cart, Some("#buy"), Some("c1")), time(3)).await?;
    graph.record_failure(&project, &failure(&cart, Some("#beta"), Some("c1")), time(3)).await?;
    graph
        .record_observation(&other, &observation(&cart, "#other", element("a", "o", "o"), None), time(1))
        .await?;

    let changed = strings(&["src/cart.tsx", "tests/cart.spec.ts", "src/cart.tsx"]);
    let at_risk = graph.locators_at_risk(&project, &changed).await?;

    assert_eq!(at_risk, strings(&["#alpha", "#beta", "#buy", "#zeta"]));
    Ok(())
}

/// `locators` lists observed, broken and suggested locators of the project, sorted, each once.
pub async fn locators_lists_observed_broken_and_suggested_sorted(
    graph: Arc<dyn KnowledgeGraph>,
) -> Result<(), GraphError> {
    let project = unique_project("conf-locators");
    let other = unique_project("conf-locators-other");
    let test = test_in("tests/cart.spec.ts", "adds");
    let failed = failure(&test, Some("#m-broken"), None);

    graph
        .record_observation(
            &project,
            &observation(&test, "#z-observed", element("a", "z", "z"), None),
            time(1),
        )
        .await?;
    graph
        .record_observation(&project, &observation(&test, "#m-broken", element("a", "m", "m"), None), time(1))
        .await?;
    graph.record_failure(&project, &failed, time(2)).await?;
    graph.record_healing(&project, &suggestion(&failed, Some("#a-suggested")), time(3)).await?;
    graph
        .record_observation(&other, &observation(&test, "#elsewhere", element("a", "e", "e"), None), time(1))
        .await?;

    assert_eq!(graph.locators(&project).await?, strings(&["#a-suggested", "#m-broken", "#z-observed"]));
    Ok(())
}

/// A full scenario gives exact counts per label and type; repeating it changes nothing; another
/// project's facts never show.
pub async fn stats_count_exactly_per_project(graph: Arc<dyn KnowledgeGraph>) -> Result<(), GraphError> {
    let project = unique_project("conf-stats");
    let other = unique_project("conf-stats-other");
    let adds = test_in("tests/cart.spec.ts", "adds");
    let promo = test_in("tests/promo.spec.ts", "adds on promo");
    let failed = failure(&adds, Some("#pay"), Some("c1"));
    let healed = suggestion(&failed, Some("[data-testid=pay]"));
    let button = element("button", "b", "b");

    for _ in 0..2 {
        graph
            .record_observation(
                &project,
                &observation(&adds, "#buy", button.clone(), Some("https://shop.test/cart?x=1")),
                time(1),
            )
            .await?;
        graph
            .record_observation(
                &project,
                &observation(&promo, "#buy", button.clone(), Some("https://shop.test/cart#top")),
                time(2),
            )
            .await?;
        graph
            .record_observation(
                &project,
                &observation(&adds, "#pay", button.clone(), Some("https://shop.test/pay")),
                time(3),
            )
            .await?;
        graph.record_failure(&project, &failed, time(4)).await?;
        graph.record_healing(&project, &healed, time(5)).await?;
        graph.record_commit(&project, &commit("c1", &["tests/cart.spec.ts", "src/pay.tsx"]), time(6)).await?;
    }
    graph.record_observation(&other, &observation(&adds, "#other", button.clone(), None), time(1)).await?;

    let expected = GraphStats {
        nodes: counts(&[
            ("Commit", 1),
            ("Element", 2),
            ("Failure", 1),
            ("File", 3),
            ("Healing", 1),
            ("Locator", 3),
            ("Page", 2),
            ("Test", 2),
        ]),
        edges: counts(&[
            ("BROKE", 1),
            ("DEFINED_IN", 2),
            ("FAILED_WITH", 1),
            ("HEALS", 1),
            ("MATCHED", 2),
            ("ON", 2),
            ("REPLACES", 1),
            ("SEEN_AT", 1),
            ("SUGGESTS", 1),
            ("TOUCHED", 2),
            ("USES", 3),
        ]),
    };
    assert_eq!(graph.stats(&project).await?, expected);
    assert_eq!(
        graph.stats(&other).await?,
        GraphStats {
            nodes: counts(&[("Element", 1), ("File", 1), ("Locator", 1), ("Test", 1)]),
            edges: counts(&[("DEFINED_IN", 1), ("MATCHED", 1), ("USES", 1)]),
        }
    );
    Ok(())
}

/// The backend answers.
pub async fn ping_answers(graph: Arc<dyn KnowledgeGraph>) -> Result<(), GraphError> {
    graph.ping().await
}
