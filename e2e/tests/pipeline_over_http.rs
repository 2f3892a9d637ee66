//! The whole embedded stack over real TCP: observe a page, break it, get a DOM-similarity suggestion,
//! accept it, and see the same failure healed from the knowledge base; plus start-up replay and graceful
//! shutdown.

use argus_brain::demo::scenario::{self, CHECKOUT_BUTTON};
use argus_e2e::{spawn_app, spawn_app_in};
use argus_store::Store;
use argus_store::sqlite::SqliteStore;
use argus_vocabulary::{
    EventId, FeedbackVerdict, HealDecision, HealSource, IngestBatch, IngestItem, RunContext, TestIdentity,
    envelope::Envelope,
};
use chrono::Utc;
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renamed_locator_is_healed_then_learned_from_feedback() {
    let app = spawn_app("demo").await.expect("app starts");
    let checkout_test = scenario::TESTS[1];
    assert_eq!(checkout_test.broken_locator(), CHECKOUT_BUTTON);
    let test_key = checkout_test.key();

    // Arrange: a passing run observes the v1 page, then a failing run hits the redesigned v2 page.
    let passing =
        app.client.post_events(&scenario::passing_run("run-1")).await.expect("passing run accepted");
    assert_eq!(passing.snapshots, 1);
    let failing =
        app.client.post_events(&scenario::failing_run("run-2")).await.expect("failing run accepted");
    assert_eq!(failing.items, 2 * scenario::TESTS.len());

    // Act: wait for the healer's answer to the broken checkout button.
    let suggestion = app
        .client
        .wait_for_suggestion(DEADLINE, |s| s.test == test_key && s.broken_locator == CHECKOUT_BUTTON)
        .await
        .expect("a suggestion for the broken checkout button");

    // Assert: it comes from DOM similarity and targets the renamed button.
    assert_eq!(suggestion.source, Some(HealSource::DomSimilarity), "{suggestion:?}");
    let css = suggestion.suggested_css.clone().expect("a suggested locator");
    assert!(
        css.contains("proceed-to-checkout") || css.contains("data-testid=\"checkout\""),
        "the suggestion should target the renamed button, got {css}"
    );
    assert_ne!(suggestion.decision, HealDecision::Escalate, "{suggestion:?}");

    // Accepting it teaches the knowledge base.
    let feedback =
        app.client.feedback(suggestion.id, FeedbackVerdict::Accepted).await.expect("feedback accepted");
    assert_eq!(feedback.pattern.healed_selector, css);
    assert_eq!(feedback.pattern.success_count, 1);

    // The same failure in a new run is healed from the knowledge base, to be applied.
    let replay =
        scenario::replayed_failure("run-3", &test_key, CHECKOUT_BUTTON).expect("a replay for the demo test");
    app.client.post_events(&replay).await.expect("replay accepted");
    let learned = app
        .client
        .wait_for_suggestion(DEADLINE, |s| {
            s.id != suggestion.id && s.test == test_key && s.broken_locator == CHECKOUT_BUTTON
        })
        .await
        .expect("a suggestion for the replayed failure");
    assert_eq!(learned.source, Some(HealSource::KnowledgeBase), "{learned:?}");
    assert_eq!(learned.decision, HealDecision::Apply, "{learned:?}");
    assert_eq!(learned.suggested_css.as_deref(), Some(css.as_str()));

    let (stopped, _) = app.shutdown(DEADLINE).await.expect("shutdown completes");
    stopped.expect("run_until_stopped returns ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_tcp_are_authenticated_and_served() {
    let app = spawn_app("shop").await.expect("app starts");
    let health = app.http.get(format!("{}/health", app.base_url)).send().await.expect("health");
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    let ready = app.http.get(format!("{}/ready", app.base_url)).send().await.expect("ready");
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    let anonymous =
        app.http.get(format!("{}/api/v1/suggestions", app.base_url)).send().await.expect("suggestions");
    assert_eq!(anonymous.status(), reqwest::StatusCode::UNAUTHORIZED);
    let failures = app
        .http
        .get(format!("{}/api/v1/failures", app.base_url))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("failures");
    assert_eq!(failures.status(), reqwest::StatusCode::OK);

    let (stopped, _) = app.shutdown(DEADLINE).await.expect("shutdown completes");
    stopped.expect("run_until_stopped returns ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_returns_ok_and_stops_listening() {
    let app = spawn_app("shop").await.expect("app starts");
    let base_url = app.base_url.clone();
    let http = app.http.clone();
    assert_eq!(http.get(format!("{base_url}/health")).send().await.expect("health").status(), 200);

    let (stopped, _) = app.shutdown(DEADLINE).await.expect("shutdown completes in time");

    stopped.expect("run_until_stopped returns ok");
    let after = reqwest::Client::new().get(format!("{base_url}/health")).send().await;
    assert!(after.is_err(), "the listener should be closed, got {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_but_unpublished_batch_is_replayed_at_start_up() {
    // Arrange: a first run creates the project, then a batch is written to the store only (as after a
    // crash between accept and publish).
    let app = spawn_app("shop").await.expect("app starts");
    let api_key = app.api_key.clone();
    let project = app.project.clone();
    let test = TestIdentity {
        file: "tests/login.spec.ts".into(),
        title_path: vec!["login".into(), "submits".into()],
    };
    let batch = Envelope::new(
        EventId::new_random(),
        project.clone(),
        Utc::now(),
        IngestBatch {
            run: RunContext { commit_sha: Some("abc1234".into()), ..RunContext::default() },
            items: vec![IngestItem::Failure {
                test,
                error_kind: None,
                message: "expect(received).toBe(expected)\n\nExpected: 3\nReceived: 2".into(),
                stack: None,
                locator: None,
                page_url: None,
                snapshot: None,
            }],
        },
    );
    let (stopped, data_dir) = app.shutdown(DEADLINE).await.expect("first shutdown");
    stopped.expect("first run stops cleanly");
    let store = SqliteStore::open_in_dir(data_dir.path()).await.expect("store reopens");
    store.accept_batch(&batch, &[]).await.expect("batch stored directly");
    store.close().await;

    // Act: start again on the same data dir.
    let app =
        spawn_app_in(data_dir, "shop", false).await.expect("restart").with_api_key(&api_key).expect("key");

    // Assert: the replayed batch reaches the failure groups.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let response = app
            .http
            .get(format!("{}/api/v1/failures", app.base_url))
            .bearer_auth(&app.api_key)
            .send()
            .await
            .expect("failures");
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        let body: serde_json::Value = response.json().await.expect("json");
        if body["total"] == 1 {
            assert_eq!(body["items"][0]["test"]["file"], "tests/login.spec.ts");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the replayed batch never produced a failure group");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (stopped, _) = app.shutdown(DEADLINE).await.expect("second shutdown");
    stopped.expect("second run stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_walk_through_succeeds_once_and_shuts_down() {
    let data_dir = tempfile::tempdir().expect("data dir");
    let config = argus_e2e::test_config(data_dir.path());
    let outcome = tokio::time::timeout(
        Duration::from_secs(120),
        argus_brain::demo::run(config, true, tokio_util::sync::CancellationToken::new()),
    )
    .await
    .expect("the demo finishes in time");
    outcome.expect("every demo step succeeds");
}
