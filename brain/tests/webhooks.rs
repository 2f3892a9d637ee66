//! `POST /webhooks/github` through the router (`tower::ServiceExt::oneshot`), over the real embedded
//! adapters in a temp dir. Deliveries are signed with a test secret the way GitHub signs them; corpus
//! payloads (GitHub's own examples, `$ARGUS_CORPUS` or `../shared/corpus`) are used where the test is
//! about real payloads, and skipped with a message when the corpus is absent.

use argus_brain::Config;
use argus_brain::api::webhooks::UNAUTHENTICATED_MESSAGE;
use argus_brain::api::{AppState, router};
use argus_brain::project::{create_project, set_github_webhook};
use argus_brain::startup::wait_until_idle;
use argus_bus::Bus;
use argus_bus::in_process::InProcessBus;
use argus_cache::Cache;
use argus_cache::in_process::InProcessCache;
use argus_github::signature_header;
use argus_graph::KnowledgeGraph;
use argus_graph::in_process::InProcessGraph;
use argus_store::sqlite::SqliteStore;
use argus_store::{CiRunKind, PageRequest, Store};
use argus_vocabulary::{Envelope, GithubEvent, GithubEventKind, ProjectId, Topic};
use argus_workers::{Clock, Pipeline, Role, WorkerContext, WorkerMetrics, WorkersConfig};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, TimeZone, Utc};
use http_body_util::BodyExt;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The secret the test webhook is configured with.
const SECRET: &str = "test webhook secret";

/// The repository of GitHub's example payloads.
const REPOSITORY: &str = "Codertocat/Hello-World";

/// GitHub's documented signature test vector.
const GITHUB_VECTOR_SECRET: &str = "It's a Secret to Everybody";
const GITHUB_VECTOR_BODY: &str = "Hello, World!";
const GITHUB_VECTOR_SIGNATURE: &str =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 15).single().expect("valid time")
}

struct WebhookApi {
    router: Router,
    store: Arc<SqliteStore>,
    bus: Arc<InProcessBus>,
    cache: Arc<dyn Cache>,
    graph: Arc<InProcessGraph>,
    shop: ProjectId,
    _data_dir: TempDir,
}

struct TestResponse {
    status: StatusCode,
    body: String,
}

impl TestResponse {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("not json ({error}): {}", self.body))
    }
}

/// A router over real adapters with one project, `shop`, whose webhook is `Codertocat/Hello-World`.
async fn spawn_webhooks() -> WebhookApi {
    let config = Config::default();
    let data_dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open_in_dir(data_dir.path()).await.expect("store opens"));
    let bus = InProcessBus::new(config.bus.clone());
    let cache: Arc<dyn Cache> = Arc::new(InProcessCache::new(&config.cache));
    let shop = ProjectId::parse("shop").expect("valid");
    create_project(store.as_ref(), &shop, "Shop", fixed_now()).await.expect("create shop");
    set_github_webhook(store.as_ref(), &shop, REPOSITORY, &SecretString::from(SECRET), fixed_now())
        .await
        .expect("configure webhook");
    let mut state = AppState::new(store.clone(), bus.clone(), cache.clone(), &config, None);
    state.clock = Clock::fixed(fixed_now());
    WebhookApi {
        router: router(state),
        store,
        bus,
        cache,
        graph: Arc::new(InProcessGraph::in_memory()),
        shop,
        _data_dir: data_dir,
    }
}

fn sign(body: &[u8]) -> String {
    signature_header(SECRET.as_bytes(), body).expect("hmac takes any key")
}

impl WebhookApi {
    async fn deliver(
        &self,
        event: &str,
        delivery: &str,
        body: &[u8],
        signature: Option<&str>,
    ) -> TestResponse {
        let mut request = Request::post("/webhooks/github")
            .header(header::CONTENT_TYPE, "application/json")
            .header("X-GitHub-Event", event)
            .header("X-GitHub-Delivery", delivery)
            .header("User-Agent", "GitHub-Hookshot/test");
        if let Some(signature) = signature {
            request = request.header("X-Hub-Signature-256", signature);
        }
        let request = request.body(Body::from(body.to_vec())).expect("request");
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        TestResponse { status, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// Delivers `body` signed with the test secret.
    async fn deliver_signed(&self, event: &str, delivery: &str, body: &[u8]) -> TestResponse {
        self.deliver(event, delivery, body, Some(&sign(body))).await
    }

    async fn metrics(&self) -> String {
        let request = Request::get("/metrics").body(Body::empty()).expect("request");
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Runs the correlator over everything published so far, until the bus is idle, then stops it.
    /// What a worker of this harness sees: its store, graph and cache, and `bus`.
    fn worker_context(&self, bus: Arc<dyn Bus>) -> WorkerContext {
        WorkerContext {
            store: self.store.clone(),
            bus,
            cache: self.cache.clone(),
            graph: self.graph.clone(),
            clock: Clock::fixed(fixed_now()),
            metrics: Arc::new(WorkerMetrics::default()),
        }
    }

    async fn run_correlator(&self) {
        let bus: Arc<dyn Bus> = self.bus.clone();
        let ctx = self.worker_context(bus.clone());
        let shutdown = CancellationToken::new();
        let pipeline = Pipeline::spawn(ctx, &WorkersConfig::default(), &[Role::Correlator], shutdown.clone())
            .await
            .expect("pipeline starts");
        let idle = wait_until_idle(bus.as_ref(), Duration::from_secs(10)).await;
        shutdown.cancel();
        pipeline.join().await.expect("pipeline stops cleanly");
        assert_eq!(idle, Ok(()), "the pipeline did not drain the bus in time");
    }
}

fn corpus_example(event: &str, file: &str) -> Option<Vec<u8>> {
    let root = match std::env::var_os("ARGUS_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
    };
    let path = root.join("github/octokit-webhooks/payload-examples/api.github.com").join(event).join(file);
    match std::fs::read(&path) {
        Ok(body) => Some(body),
        Err(_) => {
            eprintln!("skipping: no corpus payload at {} (set ARGUS_CORPUS)", path.display());
            None
        }
    }
}

fn workflow_run_body(conclusion: &str) -> Vec<u8> {
    json!({
        "action": "completed",
        "workflow_run": {
            "id": 30433642, "name": "e2e", "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
            "head_branch": "main", "status": "completed", "conclusion": conclusion, "run_attempt": 1,
            "html_url": "https://github.com/Codertocat/Hello-World/actions/runs/30433642"
        },
        "repository": {"id": 186853002, "full_name": REPOSITORY, "name": "Hello-World"},
        "sender": {"login": "Codertocat"}
    })
    .to_string()
    .into_bytes()
}

// ---- authentication ----

#[tokio::test]
async fn githubs_documented_signature_vector_is_accepted() {
    let api = spawn_webhooks().await;
    // The vector's body is not JSON and names no repository, so it is verified against a webhook whose
    // secret is the vector's: through the crate function the edge calls.
    assert_eq!(
        argus_github::verify_signature(
            GITHUB_VECTOR_SECRET.as_bytes(),
            GITHUB_VECTOR_BODY.as_bytes(),
            Some(GITHUB_VECTOR_SIGNATURE)
        ),
        Ok(())
    );
    // Through the router: the same secret configured for a repository, a body signed under it.
    let docs = ProjectId::parse("docs").expect("valid");
    create_project(api.store.as_ref(), &docs, "Docs", fixed_now()).await.expect("create docs");
    let vector_secret = SecretString::from(GITHUB_VECTOR_SECRET);
    set_github_webhook(api.store.as_ref(), &docs, "octo/docs", &vector_secret, fixed_now())
        .await
        .expect("configure");
    let body =
        json!({"zen": "Keep it logically awesome.", "hook_id": 1, "repository": {"full_name": "octo/docs"}})
            .to_string();
    let signature = signature_header(GITHUB_VECTOR_SECRET.as_bytes(), body.as_bytes()).expect("sign");
    let response = api.deliver("ping", "d-vector", body.as_bytes(), Some(&signature)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
}

#[tokio::test]
async fn a_forged_or_missing_signature_is_401_before_anything_is_parsed() {
    let api = spawn_webhooks().await;
    // A subscribed group makes anything published count as unacknowledged.
    let _subscription = api.bus.subscribe(Topic::IntegrationGithub, "test").await.expect("subscribe");
    let body = workflow_run_body("failure");
    let forged = signature_header(b"not the secret", &body).expect("sign");

    let cases: [(&str, &[u8], Option<&str>); 5] = [
        ("forged signature", &body, Some(&forged)),
        ("missing signature", &body, None),
        ("malformed signature", &body, Some("sha256=zz")),
        // Not even JSON: refused as unauthenticated, never as a bad request.
        ("not json, bad signature", b"this is { not json", Some(&forged)),
        ("not json, no signature", b"\x00\xff garbage", None),
    ];
    for (case, body, signature) in cases {
        let response = api.deliver("workflow_run", "d-forged", body, signature).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{case}: {}", response.body);
        assert_eq!(response.json()["error"], UNAUTHENTICATED_MESSAGE, "{case}");
    }

    assert_eq!(api.bus.unacknowledged().await.expect("backlog"), 0, "nothing was published");
    assert!(api.store.unprocessed_github_events(10).await.expect("pending").is_empty(), "nothing was stored");
    let metrics = api.metrics().await;
    assert!(
        metrics.contains("argus_github_webhooks_total{event=\"unverified\",outcome=\"unauthenticated\"} 5"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_unknown_repository_gets_the_same_401_as_a_forged_signature() {
    let api = spawn_webhooks().await;
    let body = json!({"zen": "x", "hook_id": 1, "repository": {"full_name": "someone/else"}}).to_string();
    let unknown = api.deliver_signed("ping", "d-unknown", body.as_bytes()).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let forged = api.deliver("ping", "d-forged", &workflow_run_body("failure"), Some("sha256=00")).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.body, forged.body, "the answers must not tell which repositories exist");
    // An organisation hook's ping names no repository: no secret to verify with, so the same 401.
    let organisation = json!({"zen": "x", "hook_id": 1, "organization": {"login": "octo"}}).to_string();
    let response = api.deliver_signed("ping", "d-org", organisation.as_bytes()).await;
    assert_eq!((response.status, response.body), (StatusCode::UNAUTHORIZED, forged.body));
}

#[tokio::test]
async fn repository_names_match_without_regard_to_case() {
    let api = spawn_webhooks().await;
    let body =
        json!({"zen": "x", "hook_id": 1, "repository": {"full_name": "codertocat/hello-world"}}).to_string();
    let response = api.deliver_signed("ping", "d-case", body.as_bytes()).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
}

// ---- delivery handling ----

#[tokio::test]
async fn a_ping_is_answered_200_and_not_published() {
    let api = spawn_webhooks().await;
    let _subscription = api.bus.subscribe(Topic::IntegrationGithub, "test").await.expect("subscribe");
    // GitHub's example ping names Octocoders/Hello-World: configure it for a second project.
    let octocoders = ProjectId::parse("octocoders").expect("valid");
    create_project(api.store.as_ref(), &octocoders, "Octocoders", fixed_now()).await.expect("create");
    let secret = SecretString::from(SECRET);
    set_github_webhook(api.store.as_ref(), &octocoders, "Octocoders/Hello-World", &secret, fixed_now())
        .await
        .expect("configure");
    let body = corpus_example("ping", "payload.json").unwrap_or_else(|| {
        json!({"zen": "x", "hook_id": 1, "repository": {"full_name": REPOSITORY}}).to_string().into_bytes()
    });
    let response = api.deliver_signed("ping", "d-ping", &body).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.json(), json!({"status": "pong", "event": "ping", "delivery": "d-ping"}));
    assert_eq!(api.bus.unacknowledged().await.expect("backlog"), 0, "a ping is not published");
    assert!(api.metrics().await.contains("argus_github_webhooks_total{event=\"ping\",outcome=\"pong\"} 1"));
}

#[tokio::test]
async fn an_unknown_event_is_acknowledged_ignored_and_counted() {
    let api = spawn_webhooks().await;
    let _subscription = api.bus.subscribe(Topic::IntegrationGithub, "test").await.expect("subscribe");
    let body =
        json!({"action": "created", "starred_at": null, "repository": {"full_name": REPOSITORY}}).to_string();
    let response = api.deliver_signed("star", "d-star", body.as_bytes()).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
    assert_eq!(response.json()["status"], "ignored");
    assert_eq!(api.bus.unacknowledged().await.expect("backlog"), 0, "nothing is published");
    let metrics = api.metrics().await;
    assert!(
        metrics.contains("argus_github_webhooks_total{event=\"star\",outcome=\"ignored\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_authentic_payload_that_does_not_fit_is_422_naming_the_field() {
    let api = spawn_webhooks().await;
    let _subscription = api.bus.subscribe(Topic::IntegrationGithub, "test").await.expect("subscribe");
    let body = json!({"action": "completed", "workflow_run": {"id": "not a number"},
        "repository": {"full_name": REPOSITORY}})
    .to_string();
    let response = api.deliver_signed("workflow_run", "d-bad", body.as_bytes()).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", response.body);
    let message = response.json()["error"].as_str().expect("error").to_owned();
    assert!(message.starts_with("workflow_run payload is invalid at workflow_run.id"), "{message}");
    assert_eq!(api.bus.unacknowledged().await.expect("backlog"), 0);
}

#[tokio::test]
async fn missing_event_or_delivery_headers_on_an_authentic_body_are_400() {
    let api = spawn_webhooks().await;
    let body = workflow_run_body("failure");
    let request = Request::post("/webhooks/github")
        .header("X-Hub-Signature-256", sign(&body))
        .header("X-GitHub-Delivery", "d-1")
        .body(Body::from(body.clone()))
        .expect("request");
    let response = api.router.clone().oneshot(request).await.expect("router answers");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = api.deliver_signed("workflow_run", "", &body).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.body);
}

#[tokio::test]
async fn a_redelivery_is_published_again_until_applied_then_answered_without_publishing() {
    let api = spawn_webhooks().await;
    let mut subscription = api.bus.subscribe(Topic::IntegrationGithub, "test").await.expect("subscribe");
    let body = workflow_run_body("failure");
    let delivery_id = "72d3162e-cc78-11e3-81ab-4c9367dc0958";

    let first = api.deliver_signed("workflow_run", delivery_id, &body).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    assert_eq!(first.json()["status"], "accepted");
    // Not applied yet: the redelivery is published again (same event id; the correlator is idempotent).
    let pending = api.deliver_signed("workflow_run", delivery_id, &body).await;
    assert_eq!(pending.status, StatusCode::OK, "{}", pending.body);
    assert_eq!(pending.json()["status"], "duplicate");

    let ctx = api.worker_context(api.bus.clone());
    let correlator = WorkersConfig::default().correlator.build();
    let mut event_ids = Vec::new();
    for _ in 0..2 {
        let delivery = tokio::time::timeout(Duration::from_secs(5), subscription.next())
            .await
            .expect("a message within 5 s")
            .expect("bus")
            .expect("a delivery");
        let envelope = Envelope::<GithubEvent>::from_bytes(&delivery.payload).expect("decodes");
        assert_eq!(envelope.project_id, api.shop);
        assert_eq!(envelope.payload.delivery_id, delivery_id);
        assert_eq!(envelope.payload.repository, REPOSITORY);
        assert_eq!(envelope.occurred_at, fixed_now());
        assert!(matches!(envelope.payload.event, GithubEventKind::WorkflowRun(_)));
        assert_eq!(delivery.key, format!("shop/{REPOSITORY}"));
        event_ids.push(envelope.event_id);
        correlator.handle(&ctx, &delivery).await.expect("applied");
        subscription.ack(&delivery).await.expect("ack");
    }
    assert_eq!(event_ids[0], event_ids[1]);
    let runs = api.store.ci_runs(&api.shop, PageRequest::default()).await.expect("ci runs");
    assert_eq!(runs.total, 1, "applying the same delivery twice records one run");

    // Applied by the correlator: a further redelivery is answered without publishing anything.
    assert!(api.store.unprocessed_github_events(10).await.expect("pending").is_empty());
    let applied = api.deliver_signed("workflow_run", delivery_id, &body).await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
    assert_eq!(applied.json()["status"], "duplicate");
    assert_eq!(api.bus.unacknowledged().await.expect("backlog"), 0, "nothing more was published");

    let metrics = api.metrics().await;
    assert!(metrics.contains("argus_github_webhooks_total{event=\"workflow_run\",outcome=\"accepted\"} 1"));
    assert!(metrics.contains("argus_github_webhooks_total{event=\"workflow_run\",outcome=\"duplicate\"} 2"));
}

#[tokio::test]
async fn a_stored_delivery_that_was_never_applied_is_replayed_at_start_up() {
    let api = spawn_webhooks().await;
    let response = api.deliver_signed("workflow_run", "d-crash", &workflow_run_body("failure")).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
    // The process "crashes" before the correlator ran: the in-process bus and its message are gone.
    let fresh_bus = InProcessBus::new(Default::default());
    let ctx = api.worker_context(fresh_bus.clone());
    assert_eq!(argus_workers::replay_unprocessed_github_events(&ctx).await.expect("replay"), 1);
    let correlator = WorkersConfig::default().correlator.build();
    let mut subscription =
        fresh_bus.subscribe(Topic::IntegrationGithub, "argus-correlator").await.expect("sub");
    let delivery = subscription.next().await.expect("bus").expect("the replayed delivery");
    correlator.handle(&ctx, &delivery).await.expect("applied");
    subscription.ack(&delivery).await.expect("ack");

    let runs = api.store.ci_runs(&api.shop, PageRequest::default()).await.expect("ci runs");
    assert_eq!(runs.total, 1, "the replayed delivery was applied");
    assert!(api.store.unprocessed_github_events(10).await.expect("pending").is_empty());
    assert_eq!(argus_workers::replay_unprocessed_github_events(&ctx).await.expect("replay"), 0);
}

// ---- end to end through the correlator ----

#[tokio::test]
async fn a_corpus_push_puts_its_commit_and_files_in_the_graph() {
    let api = spawn_webhooks().await;
    let Some(body) = corpus_example("push", "with-new-branch.payload.json") else { return };
    let response = api.deliver_signed("push", "d-push", &body).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);

    api.run_correlator().await;

    let stats = api.graph.stats(&api.shop).await.expect("stats");
    assert_eq!(stats.nodes.get("Commit"), Some(&1), "{stats:?}");
    assert_eq!(stats.nodes.get("File"), Some(&1), "{stats:?}");
    assert_eq!(stats.edges.get("TOUCHED"), Some(&1), "{stats:?}");
}

#[tokio::test]
async fn a_corpus_tag_deletion_changes_nothing_in_the_graph() {
    let api = spawn_webhooks().await;
    let Some(body) = corpus_example("push", "payload.json") else { return };
    let response = api.deliver_signed("push", "d-delete", &body).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
    api.run_correlator().await;
    assert!(api.graph.stats(&api.shop).await.expect("stats").nodes.is_empty());
}

#[tokio::test]
async fn a_failed_workflow_run_becomes_a_ci_run_record() {
    let api = spawn_webhooks().await;
    let response = api.deliver_signed("workflow_run", "d-run", &workflow_run_body("failure")).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
    // And a failed job from GitHub's examples, when the corpus is there.
    if let Some(job) = corpus_example("workflow_job", "completed.failure.with-organization.payload.json") {
        let response = api.deliver_signed("workflow_job", "d-job", &job).await;
        assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
    }

    api.run_correlator().await;

    let runs = api.store.ci_runs(&api.shop, PageRequest::default()).await.expect("ci runs");
    let run =
        runs.items.iter().find(|run| run.kind == CiRunKind::WorkflowRun).expect("a workflow run record");
    assert_eq!(
        (run.id, run.conclusion.as_deref(), run.status.as_str()),
        (30_433_642, Some("failure"), "completed")
    );
    assert_eq!(run.head_sha, "acb5820ced9479c074f688cc328bf03f341a511d");
    assert_eq!(run.repository, REPOSITORY);
    assert_eq!(run.updated_at, fixed_now());
    if let Some(job) = runs.items.iter().find(|run| run.kind == CiRunKind::WorkflowJob) {
        assert_eq!((job.run_id, job.conclusion.as_deref()), (2_202_229_078, Some("failure")));
    }
}

#[tokio::test]
async fn a_corpus_pull_request_synchronize_links_its_head_sha() {
    let api = spawn_webhooks().await;
    let Some(body) = corpus_example("pull_request", "synchronize.payload.json") else { return };
    let response = api.deliver_signed("pull_request", "d-pr", &body).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
    api.run_correlator().await;
    let pulls = api
        .store
        .pull_requests_for_sha(&api.shop, "ec26c3e57ca3a959ca5aad62de7213c562f8c821")
        .await
        .expect("pull requests");
    assert_eq!(pulls.iter().map(|pull| pull.number).collect::<Vec<_>>(), [2]);
}
