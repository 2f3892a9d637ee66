//! `argus demo`: the embedded stack in one process, driven over real HTTP by its own client.
//!
//! - [`assets`]: the bundled shop pages (`brain/demo/shop-v1.html`, its redesign `shop-v2.html`), compiled
//!   into the binary.
//! - [`scenario`]: the demo's tests, the batches of a passing run (v1 observations), a failing run (v2
//!   failures with real-looking Playwright messages) and the replay of one failure.
//! - [`ApiClient`]: a small typed client of the HTTP API (also used by the end-to-end tests).
//! - [`run`]: the scripted walk-through: observe, break, suggest, accept, replay, learn.

use crate::api::events::BatchAccepted;
use crate::api::suggestions::{FeedbackRequest, FeedbackResponse, SuggestionView, SuggestionsPage};
use crate::config::Config;
use crate::project::create_project;
use crate::startup::{Application, wait_until_idle};
use anyhow::{Context, bail};
use argus_bus::Bus;
use argus_vocabulary::{FeedbackVerdict, HealDecision, HealSource, ProjectId, SuggestionId};
use chrono::Utc;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The demo's bundled web pages.
pub mod assets {
    /// The shop before the redesign: every locator of the demo tests matches here.
    pub const SHOP_V1_HTML: &str = include_str!("../demo/shop-v1.html");
    /// The shop after the redesign: renamed ids and classes, new wrappers, new button texts.
    pub const SHOP_V2_HTML: &str = include_str!("../demo/shop-v2.html");
    /// The url both snapshots were taken at.
    pub const SHOP_URL: &str = "https://shop.example/checkout";
}

/// The demo's tests and the batches the demo posts.
pub mod scenario {
    use super::assets;
    use argus_vocabulary::TestIdentity;
    use serde_json::{Value, json};

    /// What a test step does with its locator (it shapes the Playwright error message).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Action {
        /// `locator.click`.
        Click,
        /// `locator.fill`.
        Fill,
    }

    impl Action {
        /// The Playwright method name.
        pub const fn method(self) -> &'static str {
            match self {
                Action::Click => "locator.click",
                Action::Fill => "locator.fill",
            }
        }
    }

    /// One test of the demo suite.
    #[derive(Debug, Clone, Copy)]
    pub struct DemoTest {
        /// The spec file.
        pub file: &'static str,
        /// Describe block, then title.
        pub title_path: &'static [&'static str],
        /// The locators the test uses, in order, with what it does with each.
        pub steps: &'static [(&'static str, Action)],
        /// The step that breaks on the redesigned page (the test stops there).
        pub breaks_at: usize,
    }

    impl DemoTest {
        /// The test's key, as the API filters by it (`file › describe › title`).
        pub fn key(&self) -> String {
            self.identity().key()
        }

        /// The test's identity.
        pub fn identity(&self) -> TestIdentity {
            TestIdentity {
                file: self.file.to_owned(),
                title_path: self.title_path.iter().map(|title| (*title).to_owned()).collect(),
            }
        }

        /// The locator that breaks on the redesigned page.
        pub fn broken_locator(&self) -> &'static str {
            self.steps[self.breaks_at].0
        }

        fn test_json(&self) -> Value {
            json!({ "file": self.file, "title_path": self.title_path })
        }

        fn failure_json(&self) -> Value {
            let (locator, action) = self.steps[self.breaks_at];
            json!({
                "type": "failure",
                "test": self.test_json(),
                "message": playwright_timeout_message(action, locator),
                "stack": format!(
                    "    at {file}:{line}:{column}",
                    file = self.file,
                    line = 12 + 4 * self.breaks_at,
                    column = 5
                ),
                "locator": locator,
                "error_kind": "locator-not-found",
                "snapshot": "shop-v2",
            })
        }
    }

    /// The add-to-cart button of the mug's product card (a unique, structural selector).
    pub const ADD_MUG_TO_CART: &str = ".product-card[data-sku=\"sku-101\"] .add-to-cart-btn";
    /// The checkout button (renamed to `#proceed-to-checkout` in the redesign, same `data-testid`).
    pub const CHECKOUT_BUTTON: &str = "#checkout-button";
    /// The email field (renamed to `#customer-email` in the redesign).
    pub const EMAIL_INPUT: &str = "#email";
    /// The place-order button (class renamed to `submit-order` in the redesign).
    pub const PLACE_ORDER: &str = "button.place-order";

    /// The demo suite: three tests over four locators.
    pub const TESTS: [DemoTest; 3] = [
        DemoTest {
            file: "tests/cart.spec.ts",
            title_path: &["cart", "adds a mug to the cart"],
            steps: &[(ADD_MUG_TO_CART, Action::Click), (CHECKOUT_BUTTON, Action::Click)],
            breaks_at: 0,
        },
        DemoTest {
            file: "tests/checkout.spec.ts",
            title_path: &["checkout", "pays by card"],
            steps: &[
                (CHECKOUT_BUTTON, Action::Click),
                (EMAIL_INPUT, Action::Fill),
                (PLACE_ORDER, Action::Click),
            ],
            breaks_at: 0,
        },
        DemoTest {
            file: "tests/checkout.spec.ts",
            title_path: &["checkout", "rejects an invalid email"],
            steps: &[(EMAIL_INPUT, Action::Fill), (PLACE_ORDER, Action::Click)],
            breaks_at: 0,
        },
    ];

    /// A Playwright timeout message for an action on a locator that matches nothing.
    pub fn playwright_timeout_message(action: Action, locator: &str) -> String {
        format!(
            "TimeoutError: {method}: Timeout 5000ms exceeded.\nCall log:\n  - waiting for locator('{locator}')",
            method = action.method()
        )
    }

    fn run_json(run_id: &str, commit_sha: &str) -> Value {
        json!({ "commit_sha": commit_sha, "branch": "main", "ci_run_id": run_id })
    }

    /// The batch of a passing run on the v1 page: a passed result per test and an observation (resolved
    /// from the v1 snapshot) per locator each test used.
    pub fn passing_run(run_id: &str) -> Value {
        let mut events = Vec::new();
        for test in TESTS {
            for (locator, _) in test.steps {
                events.push(json!({
                    "type": "locator_observation",
                    "test": test.test_json(),
                    "locator": locator,
                    "snapshot": "shop-v1",
                }));
            }
            events.push(json!({
                "type": "test_result",
                "test": test.test_json(),
                "status": "passed",
                "retries": 0,
                "duration_ms": 1200 + 150 * test.steps.len(),
            }));
        }
        json!({
            "project": "demo",
            "run": run_json(run_id, "4b825dc"),
            "snapshots": { "shop-v1": { "html": assets::SHOP_V1_HTML, "url": assets::SHOP_URL } },
            "events": events,
        })
    }

    /// The batch of a failing run on the redesigned v2 page: each test fails at its broken step.
    pub fn failing_run(run_id: &str) -> Value {
        let mut events = Vec::new();
        for test in TESTS {
            events.push(test.failure_json());
            events.push(json!({
                "type": "test_result",
                "test": test.test_json(),
                "status": "failed",
                "retries": 1,
                "duration_ms": 10_400,
            }));
        }
        json!({
            "project": "demo",
            "run": run_json(run_id, "9f1c2e7"),
            "snapshots": { "shop-v2": { "html": assets::SHOP_V2_HTML, "url": assets::SHOP_URL } },
            "events": events,
        })
    }

    /// A run in which only the test `test_key` fails again, at `locator`, on the v2 page (same failure,
    /// so the same fingerprint). `None` when no demo test has that key and broken locator.
    pub fn replayed_failure(run_id: &str, test_key: &str, locator: &str) -> Option<Value> {
        let test =
            TESTS.into_iter().find(|test| test.key() == test_key && test.broken_locator() == locator)?;
        Some(json!({
            "project": "demo",
            "run": run_json(run_id, "c0ffee1"),
            "snapshots": { "shop-v2": { "html": assets::SHOP_V2_HTML, "url": assets::SHOP_URL } },
            "events": [test.failure_json()],
        }))
    }
}

/// A typed client of the HTTP API, authenticated with one project's key.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
}

impl ApiClient {
    /// A client of the API at `base_url` (`http://127.0.0.1:8080`) using `api_key`.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("build the http client")?;
        Ok(Self { http, base_url: base_url.into(), api_key: api_key.into() })
    }

    /// The API's base url.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `POST /api/v1/events`; an answer other than 202 is an error carrying the status and body.
    pub async fn post_events(&self, batch: &serde_json::Value) -> anyhow::Result<BatchAccepted> {
        let response = self
            .http
            .post(format!("{}/api/v1/events", self.base_url))
            .bearer_auth(&self.api_key)
            .json(batch)
            .send()
            .await
            .context("post the batch")?;
        expect_status(response, reqwest::StatusCode::ACCEPTED).await
    }

    /// `GET /api/v1/suggestions` with the given query parameters.
    pub async fn suggestions(&self, query: &[(&str, &str)]) -> anyhow::Result<SuggestionsPage> {
        let response = self
            .http
            .get(format!("{}/api/v1/suggestions", self.base_url))
            .bearer_auth(&self.api_key)
            .query(query)
            .send()
            .await
            .context("list suggestions")?;
        expect_status(response, reqwest::StatusCode::OK).await
    }

    /// `POST /api/v1/suggestions/{id}/feedback`.
    pub async fn feedback(
        &self,
        id: SuggestionId,
        verdict: FeedbackVerdict,
    ) -> anyhow::Result<FeedbackResponse> {
        let response = self
            .http
            .post(format!("{}/api/v1/suggestions/{id}/feedback", self.base_url))
            .bearer_auth(&self.api_key)
            .json(&FeedbackRequest { verdict })
            .send()
            .await
            .context("post feedback")?;
        expect_status(response, reqwest::StatusCode::OK).await
    }

    /// Polls `GET /api/v1/suggestions` (newest first) until `accept` holds for one of the first page's
    /// suggestions, for at most `timeout`.
    pub async fn wait_for_suggestion(
        &self,
        timeout: Duration,
        accept: impl Fn(&SuggestionView) -> bool,
    ) -> anyhow::Result<SuggestionView> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let page = self.suggestions(&[("limit", "200")]).await?;
            if let Some(found) = page.items.into_iter().find(|suggestion| accept(suggestion)) {
                return Ok(found);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("no matching suggestion appeared within {} seconds", timeout.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn expect_status<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
    expected: reqwest::StatusCode,
) -> anyhow::Result<T> {
    let status = response.status();
    let body = response.text().await.context("read the response body")?;
    if status != expected {
        bail!("expected {expected}, got {status}: {body}");
    }
    serde_json::from_str(&body).with_context(|| format!("decode the response body: {body}"))
}

/// How long each demo step may wait for the pipeline.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the demo on `config` (its listen address and data directory are used as given). With `once` it
/// shuts down after the walk-through; otherwise it keeps serving until `shutdown` is cancelled. Any failed
/// step is an error (after a graceful shutdown).
pub async fn run(config: Config, once: bool, shutdown: CancellationToken) -> anyhow::Result<()> {
    let app = Application::build(config).await.context("start the embedded stack")?;
    let base_url = format!("http://{}", app.local_addr());
    let project = ProjectId::parse("demo").context("demo project id")?;
    let key = create_project(app.store().as_ref(), &project, "Demo shop", Utc::now())
        .await
        .context("create the demo project")?;
    let bus = app.bus();
    println!("Argus demo: listening on {base_url} (data dir {})", app.data_dir().display());
    println!("Project `demo` created. API key (shown once): {}", key.expose());
    println!();

    let server_token = shutdown.child_token();
    let server = tokio::spawn(app.run_until_stopped(server_token.clone()));
    let client = ApiClient::new(base_url.clone(), key.expose())?;
    let walk = walk_through(&client, bus.as_ref()).await;
    if walk.is_ok() && !once {
        println!();
        println!("Still serving on {base_url} — try:");
        println!("  curl -H 'Authorization: Bearer {}' {base_url}/api/v1/suggestions", key.expose());
        println!("Press Ctrl-C to stop.");
        shutdown.cancelled().await;
    }
    server_token.cancel();
    let stopped = server.await.context("join the server task")?;
    walk?;
    stopped.context("shut down")?;
    Ok(())
}

async fn walk_through(client: &ApiClient, bus: &dyn Bus) -> anyhow::Result<()> {
    let accepted =
        client.post_events(&scenario::passing_run("run-1")).await.context("post the passing run")?;
    println!(
        "1. Posted a passing run of shop v1: batch {} with {} events and {} snapshot(s).",
        accepted.batch_id, accepted.items, accepted.snapshots
    );
    wait_for_pipeline(bus).await?;
    println!("2. The pipeline recorded which element each locator matched.");

    let accepted =
        client.post_events(&scenario::failing_run("run-2")).await.context("post the failing run")?;
    println!(
        "3. Posted a failing run of the redesigned shop v2: batch {} with {} events.",
        accepted.batch_id, accepted.items
    );
    wait_for_pipeline(bus).await?;
    let expected = scenario::TESTS.len();
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    let suggestions = loop {
        let page = client.suggestions(&[("limit", "200")]).await?;
        if page.items.len() >= expected || tokio::time::Instant::now() >= deadline {
            break page.items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!("4. Healing suggestions:");
    println!("{}", suggestions_table(&suggestions));
    let best = suggestions
        .iter()
        .filter(|suggestion| suggestion.suggested_css.is_some())
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
        .context("no suggestion with a suggested locator appeared")?;

    let feedback =
        client.feedback(best.id, FeedbackVerdict::Accepted).await.context("accept the suggestion")?;
    println!(
        "5. Accepted {} → {} for {:?}; the knowledge base now trusts it at {:.2}.",
        best.broken_locator, feedback.pattern.healed_selector, best.test, feedback.pattern.confidence
    );
    let replay = scenario::replayed_failure("run-3", &best.test, &best.broken_locator)
        .context("the accepted suggestion is not for a demo test")?;
    client.post_events(&replay).await.context("post the replayed failure")?;
    wait_for_pipeline(bus).await?;
    let (accepted_id, test, locator) = (best.id, best.test.clone(), best.broken_locator.clone());
    let learned = client
        .wait_for_suggestion(STEP_TIMEOUT, |suggestion| {
            suggestion.id != accepted_id && suggestion.test == test && suggestion.broken_locator == locator
        })
        .await
        .context("the replayed failure got no suggestion")?;
    println!("6. The same failure in a new run is healed from what was learned:");
    println!("{}", suggestions_table(std::slice::from_ref(&learned)));
    if learned.source != Some(HealSource::KnowledgeBase) || learned.decision != HealDecision::Apply {
        bail!(
            "expected the replayed failure to be healed from the knowledge base with decision apply, got {} / {}",
            learned.source.map_or("none", HealSource::as_str),
            learned.decision.as_str()
        );
    }
    Ok(())
}

async fn wait_for_pipeline(bus: &dyn Bus) -> anyhow::Result<()> {
    wait_until_idle(bus, STEP_TIMEOUT).await.map_err(|remaining| {
        anyhow::anyhow!(
            "the pipeline did not become idle within {} seconds ({remaining} messages unacknowledged)",
            STEP_TIMEOUT.as_secs()
        )
    })
}

/// Renders suggestions as a table: test, broken locator, suggested locator, confidence, source, decision.
pub fn suggestions_table(suggestions: &[SuggestionView]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL).set_content_arrangement(ContentArrangement::Dynamic).set_header([
        "test",
        "broken locator",
        "suggested locator",
        "confidence",
        "source",
        "decision",
    ]);
    for suggestion in suggestions {
        table.add_row([
            suggestion.test.clone(),
            suggestion.broken_locator.clone(),
            suggestion.suggested_css.clone().unwrap_or_else(|| "—".to_owned()),
            format!("{:.2}", suggestion.confidence),
            suggestion.source.map_or("—", HealSource::as_str).to_owned(),
            suggestion.decision.as_str().to_owned(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::{ValidatedBatch, WireBatch};

    fn validate(batch: serde_json::Value) -> ValidatedBatch {
        let wire: WireBatch = serde_json::from_value(batch).expect("demo batch parses");
        ValidatedBatch::try_from(wire).expect("demo batch is valid")
    }

    #[test]
    fn demo_batches_are_valid_intake_batches() {
        let passing = validate(scenario::passing_run("r1"));
        let observations = scenario::TESTS.iter().map(|test| test.steps.len()).sum::<usize>();
        assert_eq!(passing.batch.items.len(), observations + scenario::TESTS.len());
        assert_eq!(passing.snapshots.len(), 1);
        let failing = validate(scenario::failing_run("r2"));
        assert_eq!(failing.batch.items.len(), 2 * scenario::TESTS.len());
    }

    #[test]
    fn every_demo_locator_exists_in_v1_and_not_in_v2() {
        for (needle, in_v1, in_v2) in [
            ("id=\"checkout-button\"", true, false),
            ("id=\"email\"", true, false),
            ("add-to-cart-btn", true, false),
            ("place-order", true, false),
            ("id=\"proceed-to-checkout\"", false, true),
        ] {
            assert_eq!(assets::SHOP_V1_HTML.contains(needle), in_v1, "{needle} in v1");
            assert_eq!(assets::SHOP_V2_HTML.contains(needle), in_v2, "{needle} in v2");
        }
    }

    #[test]
    fn replayed_failure_exists_only_for_a_demo_tests_broken_locator() {
        let test = scenario::TESTS[1];
        assert!(scenario::replayed_failure("r3", &test.key(), test.broken_locator()).is_some());
        assert!(scenario::replayed_failure("r3", &test.key(), "#nope").is_none());
    }

    #[test]
    fn playwright_message_names_the_locator() {
        let message = scenario::playwright_timeout_message(scenario::Action::Fill, "#email");
        assert!(message.starts_with("TimeoutError: locator.fill: Timeout 5000ms exceeded."));
        assert!(message.contains("waiting for locator('#email')"));
    }
}
