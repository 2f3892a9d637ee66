//! The HTTP API through `tower::ServiceExt::oneshot`, over the real embedded adapters in a temp dir (no
//! pipeline runs here: these tests are about the edge).

use argus_brain::Config;
use argus_brain::api::{AppState, router};
use argus_brain::project::create_project;
use argus_bus::Bus;
use argus_bus::in_process::InProcessBus;
use argus_cache::in_process::InProcessCache;
use argus_cache::{Cache, CacheError, CacheKey};
use argus_store::Store;
use argus_store::sqlite::SqliteStore;
use argus_vocabulary::{
    EventId, Fingerprint, HealDecision, HealSource, HealingSuggestion, IngestBatch, ProjectId,
    SuggestedLocator, SuggestionId, TestIdentity, envelope::Envelope,
};
use argus_workers::Clock;
use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use tempfile::TempDir;
use tower::ServiceExt;

/// A router over real adapters, with two projects (`shop`, `other`) and their keys.
struct TestApi {
    router: Router,
    store: Arc<SqliteStore>,
    bus: Arc<InProcessBus>,
    cache: Arc<dyn Cache>,
    shop: ProjectId,
    shop_key: String,
    other: ProjectId,
    other_key: String,
    _data_dir: TempDir,
}

/// 12:00:15 UTC: 45 seconds before the next minute.
fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 15).single().expect("valid time")
}

async fn spawn_api(config: Config) -> TestApi {
    spawn_api_with_cache(config, None).await
}

async fn spawn_api_with_cache(config: Config, cache: Option<Arc<dyn Cache>>) -> TestApi {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open_in_dir(data_dir.path()).await.expect("store opens"));
    let bus = InProcessBus::new(config.bus.clone());
    let cache = cache.unwrap_or_else(|| Arc::new(InProcessCache::new(&config.cache)));
    let shop = ProjectId::parse("shop").expect("valid");
    let other = ProjectId::parse("other").expect("valid");
    let shop_key = create_project(store.as_ref(), &shop, "Shop", fixed_now()).await.expect("create shop");
    let other_key = create_project(store.as_ref(), &other, "Other", fixed_now()).await.expect("create other");
    let mut state = AppState::new(store.clone(), bus.clone(), cache.clone(), &config, None);
    state.clock = Clock::fixed(fixed_now());
    TestApi {
        router: router(state),
        store,
        bus,
        cache,
        shop,
        shop_key: shop_key.expose().to_owned(),
        other,
        other_key: other_key.expose().to_owned(),
        _data_dir: data_dir,
    }
}

struct TestResponse {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl TestResponse {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("not json ({error}): {}", self.body))
    }

    fn error_message(&self) -> String {
        self.json()["error"].as_str().unwrap_or_else(|| panic!("no error field: {}", self.body)).to_owned()
    }
}

impl TestApi {
    async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        TestResponse { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn get(&self, uri: &str, key: Option<&str>) -> TestResponse {
        let mut request = Request::get(uri);
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        self.send(request.body(Body::empty()).expect("request")).await
    }

    async fn post_raw(&self, uri: &str, key: Option<&str>, body: impl Into<Body>) -> TestResponse {
        let mut request = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        self.send(request.body(body.into()).expect("request")).await
    }

    async fn post_events(&self, batch: &Value) -> TestResponse {
        self.post_raw("/api/v1/events", Some(&self.shop_key), batch.to_string()).await
    }

    async fn batches_stored(&self) -> (u64, u64) {
        let counts = self.store.counts(&self.shop).await.expect("counts");
        (counts.batches, counts.dom_snapshots)
    }

    async fn save_suggestion(&self, project: &ProjectId, suggested: bool) -> HealingSuggestion {
        let request = EventId::new_random();
        let request_text = request.to_string();
        let suggestion = HealingSuggestion {
            id: SuggestionId::for_request(request),
            request_event_id: request,
            failure_event_id: EventId::new_random(),
            test: TestIdentity { file: "tests/checkout.spec.ts".into(), title_path: vec!["pays".into()] },
            fingerprint: Fingerprint::from_parts([project.as_str(), "pays", request_text.as_str()]),
            broken_locator: "#pay-button".into(),
            suggested: suggested.then(|| SuggestedLocator {
                css: "[data-testid=\"pay\"]".into(),
                xpath: Some("//*[@data-testid=\"pay\"]".into()),
                playwright: Some("getByTestId('pay')".into()),
            }),
            confidence: if suggested { 0.82 } else { 0.0 },
            source: suggested.then_some(HealSource::DomSimilarity),
            decision: if suggested { HealDecision::Validate } else { HealDecision::Escalate },
            rationale: "same test id".into(),
        };
        let saved = self.store.save_suggestion(project, &suggestion, fixed_now()).await.expect("save");
        assert!(saved);
        suggestion
    }
}

fn test_json() -> Value {
    json!({"file": "tests/checkout.spec.ts", "title_path": ["checkout", "pays"]})
}

fn valid_batch() -> Value {
    json!({
        "project": "shop",
        "run": {"commit_sha": "9f1c2e7", "branch": "main", "ci_run_id": "1234"},
        "snapshots": {"checkout-v2": {"html": "<button id=\"pay-now\">Pay</button>", "url": "https://shop.example/c"}},
        "events": [
            {"type": "test_result", "test": test_json(), "status": "failed", "retries": 1, "duration_ms": 1840},
            {"type": "locator_observation", "test": test_json(), "locator": "#pay",
             "element": {"tag": "button", "id": "pay", "text": "Pay"}},
            {"type": "failure", "test": test_json(), "message": "locator('#pay'): Timeout 5000ms exceeded",
             "locator": "#pay", "error_kind": "locator-not-found", "snapshot": "checkout-v2"}
        ]
    })
}

// ---- health and readiness ----

#[tokio::test]
async fn health_is_ok_without_an_api_key() {
    let api = spawn_api(Config::default()).await;
    let response = api.get("/health", None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), json!({"status": "ok"}));
}

#[tokio::test]
async fn ready_is_ok_while_store_bus_and_cache_answer() {
    let api = spawn_api(Config::default()).await;
    let response = api.get("/ready", None).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.json()["status"], "ready");
    assert_eq!(response.json()["checks"], json!({"store": "ok", "bus": "ok", "cache": "ok"}));
}

#[tokio::test]
async fn ready_stays_200_but_degraded_naming_the_cache_when_it_fails() {
    let api = spawn_api_with_cache(Config::default(), Some(Arc::new(BrokenCache))).await;
    let response = api.get("/ready", None).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let body = response.json();
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["degraded"], json!(["cache"]));
    assert_eq!(body["checks"], json!({"store": "ok", "bus": "ok", "cache": "unavailable"}));
}

#[tokio::test]
async fn ready_is_503_naming_the_bus_once_it_is_closed() {
    let api = spawn_api(Config::default()).await;
    api.bus.close();
    let response = api.get("/ready", None).await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.json()["failed"], json!(["bus"]));
    assert!(response.error_message().contains("bus"));
}

#[tokio::test]
async fn ready_is_503_naming_the_store_once_it_is_closed() {
    let api = spawn_api(Config::default()).await;
    api.store.close().await;
    let response = api.get("/ready", None).await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.json()["failed"], json!(["store"]));
}

// ---- authentication and project scope ----

#[tokio::test]
async fn missing_api_key_is_401() {
    let api = spawn_api(Config::default()).await;
    let response = api.get("/api/v1/suggestions", None).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert!(response.error_message().starts_with("missing api key"), "{}", response.body);
}

#[tokio::test]
async fn unknown_api_key_is_401() {
    let api = spawn_api(Config::default()).await;
    let response = api.get("/api/v1/suggestions", Some("argus_0000")).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.error_message(), "invalid api key");
}

#[tokio::test]
async fn x_api_key_header_is_accepted() {
    let api = spawn_api(Config::default()).await;
    let request = Request::get("/api/v1/failures")
        .header("x-api-key", &api.shop_key)
        .body(Body::empty())
        .expect("request");
    let response = api.send(request).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.json(), json!({"items": [], "total": 0}));
}

#[tokio::test]
async fn batch_naming_another_project_is_403_and_stores_nothing() {
    let api = spawn_api(Config::default()).await;
    let mut batch = valid_batch();
    batch["project"] = json!("other");
    let response = api.post_events(&batch).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let message = response.error_message();
    assert!(message.contains("\"shop\"") && message.contains("\"other\""), "{message}");
    assert_eq!(api.batches_stored().await, (0, 0));
}

#[tokio::test]
async fn query_naming_another_project_is_403() {
    let api = spawn_api(Config::default()).await;
    let response = api.get("/api/v1/suggestions?project=other", Some(&api.shop_key)).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let response = api.get("/api/v1/failures?project=shop", Some(&api.shop_key)).await;
    assert_eq!(response.status, StatusCode::OK);
}

// ---- intake ----

#[tokio::test]
async fn accepted_batch_is_stored_exactly_once_and_published() {
    let api = spawn_api(Config::default()).await;
    let mut subscription =
        api.bus.subscribe(argus_vocabulary::Topic::IngestBatch, "test").await.expect("subscribe");

    let response = api.post_events(&valid_batch()).await;

    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
    let body = response.json();
    assert_eq!(body["items"], 3);
    assert_eq!(body["snapshots"], 1);
    assert_eq!(api.batches_stored().await, (1, 1));
    let delivery = subscription.next().await.expect("bus").expect("a delivery");
    let envelope = Envelope::<IngestBatch>::from_bytes(&delivery.payload).expect("an ingest batch");
    assert_eq!(envelope.event_id.to_string(), body["batch_id"].as_str().expect("batch id"));
    assert_eq!(envelope.project_id, api.shop);
    assert_eq!(envelope.occurred_at, fixed_now());
    assert_eq!(envelope.payload.items.len(), 3);
    assert_eq!(api.store.counts(&api.other).await.expect("counts").batches, 0, "other project untouched");
}

#[tokio::test]
async fn malformed_json_is_400_with_line_and_column() {
    let api = spawn_api(Config::default()).await;
    let response = api.post_raw("/api/v1/events", Some(&api.shop_key), "{\"events\": [").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.error_message().contains("line 1 column"), "{}", response.body);
    assert_eq!(api.batches_stored().await, (0, 0));
}

#[tokio::test]
async fn unknown_field_is_400_naming_the_field_and_event() {
    let api = spawn_api(Config::default()).await;
    let mut batch = valid_batch();
    batch["events"][1]["colour"] = json!("red");
    let response = api.post_events(&batch).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let message = response.error_message();
    assert!(message.contains("colour") && message.contains("events[1]"), "{message}");
    assert_eq!(api.batches_stored().await, (0, 0));
}

#[tokio::test]
async fn oversize_body_is_413() {
    let mut config = Config::default();
    config.limits.max_body_bytes = 512;
    let api = spawn_api(config).await;
    let mut batch = valid_batch();
    batch["snapshots"]["big"] = json!({"html": "x".repeat(600)});
    let response = api.post_events(&batch).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.error_message().contains("512 bytes"), "{}", response.body);
    assert_eq!(api.batches_stored().await, (0, 0));
}

#[tokio::test]
async fn body_limit_follows_the_env_override() {
    let env: BTreeMap<String, String> =
        [("ARGUS_LIMITS__MAX_BODY_BYTES".to_owned(), "256".to_owned())].into_iter().collect();
    let config = Config::load(None, &env).expect("config loads");
    let api = spawn_api(config).await;
    let response = api.post_events(&valid_batch()).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn oversize_snapshot_is_413_naming_the_snapshot() {
    let mut config = Config::default();
    config.limits.max_snapshot_bytes = 100;
    let api = spawn_api(config).await;
    let mut batch = valid_batch();
    batch["snapshots"]["checkout-huge"] = json!({"html": format!("<main>{}</main>", "x".repeat(200))});
    let response = api.post_events(&batch).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.error_message().contains("checkout-huge"), "{}", response.body);
    assert_eq!(api.batches_stored().await, (0, 0));
}

#[tokio::test]
async fn too_many_events_is_413() {
    let mut config = Config::default();
    config.limits.max_items_per_batch = 2;
    let api = spawn_api(config).await;
    let response = api.post_events(&valid_batch()).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.error_message().contains("3 events"), "{}", response.body);
}

#[tokio::test]
async fn unknown_snapshot_reference_is_422_naming_the_event() {
    let api = spawn_api(Config::default()).await;
    let mut batch = valid_batch();
    batch["events"][2]["snapshot"] = json!("checkout-v9");
    let response = api.post_events(&batch).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = response.error_message();
    assert!(message.contains("events[2].snapshot") && message.contains("checkout-v9"), "{message}");
    assert_eq!(api.batches_stored().await, (0, 0));
}

#[tokio::test]
async fn empty_events_is_422() {
    let api = spawn_api(Config::default()).await;
    let response = api.post_events(&json!({"events": []})).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.error_message().starts_with("events"), "{}", response.body);
    assert_eq!(api.batches_stored().await, (0, 0));
}

#[tokio::test]
async fn rejected_batch_after_an_accepted_one_adds_nothing() {
    let api = spawn_api(Config::default()).await;
    assert_eq!(api.post_events(&valid_batch()).await.status, StatusCode::ACCEPTED);
    let mut bad = valid_batch();
    bad["events"][0]["test"]["title_path"] = json!([]);
    let response = api.post_events(&bad).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.error_message().contains("events[0].test.title_path"), "{}", response.body);
    assert_eq!(api.batches_stored().await, (1, 1));
}

#[tokio::test]
async fn publish_to_a_closed_bus_is_503_but_the_batch_is_durable() {
    let api = spawn_api(Config::default()).await;
    api.bus.close();
    let response = api.post_events(&valid_batch()).await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.batches_stored().await, (1, 1));
    let pending = api.store.unnormalized_batches(10).await.expect("unnormalized");
    assert_eq!(pending.len(), 1, "the batch waits for the start-up replay");
}

#[tokio::test]
async fn bus_backpressure_is_503_with_retry_after_and_the_batch_is_durable() {
    let mut config = Config::default();
    config.bus.capacity_per_topic = 0;
    config.bus.publish_timeout_ms = 10;
    let api = spawn_api(config).await;
    let response = api.post_events(&valid_batch()).await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE, "{}", response.body);
    assert!(response.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(api.batches_stored().await, (1, 1));
    let metrics = api.get("/metrics", None).await.body;
    assert!(metrics.contains("argus_bus_backpressure_total 1"), "{metrics}");
}

#[tokio::test]
async fn store_down_is_503_and_nothing_is_published() {
    let api = spawn_api(Config::default()).await;
    // A subscribed group makes every published message count as unacknowledged.
    let _subscription =
        api.bus.subscribe(argus_vocabulary::Topic::IngestBatch, "test").await.expect("subscribe");
    api.store.close().await;
    let response = api.post_events(&valid_batch()).await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE, "{}", response.body);
    assert_eq!(response.error_message(), "store unavailable");
    assert_eq!(api.bus.unacknowledged().await.expect("bus"), 0, "nothing may be published");
}

// ---- rate limit ----

#[tokio::test]
async fn fourth_request_in_a_minute_is_429_with_retry_after() {
    let mut config = Config::default();
    config.rate_limit.requests_per_minute = 3;
    let api = spawn_api(config).await;
    for attempt in 0..3 {
        let response = api.get("/api/v1/failures", Some(&api.shop_key)).await;
        assert_eq!(response.status, StatusCode::OK, "request {attempt}");
    }
    let response = api.get("/api/v1/failures", Some(&api.shop_key)).await;
    assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
    // The clock reads hh:mm:15, so the next minute starts in 45 seconds.
    assert_eq!(response.headers.get(header::RETRY_AFTER).map(|v| v.as_bytes()), Some(&b"45"[..]));
    let response = api.get("/api/v1/failures", Some(&api.other_key)).await;
    assert_eq!(response.status, StatusCode::OK, "the limit is per project");
}

/// A cache whose every call fails.
struct BrokenCache;

#[async_trait]
impl Cache for BrokenCache {
    async fn get(&self, _key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError> {
        Err(CacheError::Backend("down".into()))
    }
    async fn set(&self, _key: &CacheKey, _value: Vec<u8>) -> Result<(), CacheError> {
        Err(CacheError::Backend("down".into()))
    }
    async fn delete(&self, _key: &CacheKey) -> Result<(), CacheError> {
        Err(CacheError::Backend("down".into()))
    }
    async fn increment_rate(&self, _project: &ProjectId, _minute: i64) -> Result<u64, CacheError> {
        Err(CacheError::Backend("down".into()))
    }
    async fn ping(&self) -> Result<(), CacheError> {
        Err(CacheError::Backend("down".into()))
    }
}

#[tokio::test]
async fn cache_failure_lets_requests_through_and_is_counted() {
    let mut config = Config::default();
    config.rate_limit.requests_per_minute = 1;
    let api = spawn_api_with_cache(config, Some(Arc::new(BrokenCache))).await;
    for _ in 0..3 {
        assert_eq!(api.get("/api/v1/failures", Some(&api.shop_key)).await.status, StatusCode::OK);
    }
    let metrics = api.get("/metrics", None).await.body;
    assert!(metrics.contains("argus_rate_limit_degraded_total 3"), "{metrics}");
}

// ---- suggestions and feedback ----

#[tokio::test]
async fn suggestions_are_listed_flattened_and_filtered_by_status() {
    let api = spawn_api(Config::default()).await;
    let saved = api.save_suggestion(&api.shop, true).await;
    let response = api.get("/api/v1/suggestions?status=open", Some(&api.shop_key)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let body = response.json();
    assert_eq!(body["total"], 1);
    let item = &body["items"][0];
    assert_eq!(item["id"], saved.id.to_string());
    assert_eq!(item["broken_locator"], "#pay-button");
    assert_eq!(item["suggested_css"], "[data-testid=\"pay\"]");
    assert_eq!(item["suggested_playwright"], "getByTestId('pay')");
    assert_eq!(item["source"], "dom_similarity");
    assert_eq!(item["decision"], "validate");
    assert_eq!(item["status"], "open");
    let accepted = api.get("/api/v1/suggestions?status=accepted", Some(&api.shop_key)).await.json();
    assert_eq!(accepted["total"], 0);
    let bad_filter = api.get("/api/v1/suggestions?status=maybe", Some(&api.shop_key)).await;
    assert_eq!(bad_filter.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn suggestion_of_another_project_is_404() {
    let api = spawn_api(Config::default()).await;
    let theirs = api.save_suggestion(&api.other, true).await;
    let uri = format!("/api/v1/suggestions/{}", theirs.id);
    assert_eq!(api.get(&uri, Some(&api.shop_key)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get(&uri, Some(&api.other_key)).await.status, StatusCode::OK);
    let feedback =
        api.post_raw(&format!("{uri}/feedback"), Some(&api.shop_key), r#"{"verdict":"accepted"}"#).await;
    assert_eq!(feedback.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn malformed_suggestion_id_is_400() {
    let api = spawn_api(Config::default()).await;
    let response = api.get("/api/v1/suggestions/not-a-uuid", Some(&api.shop_key)).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.error_message().contains("not-a-uuid"));
}

#[tokio::test]
async fn accept_returns_the_pattern_and_invalidates_the_cached_heal() {
    let api = spawn_api(Config::default()).await;
    let saved = api.save_suggestion(&api.shop, true).await;
    let heal_key = CacheKey::Heal(saved.fingerprint.clone());
    api.cache.set(&heal_key, b"stale heal".to_vec()).await.expect("cache set");

    let uri = format!("/api/v1/suggestions/{}/feedback", saved.id);
    let response = api.post_raw(&uri, Some(&api.shop_key), r#"{"verdict":"accepted"}"#).await;

    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let body = response.json();
    assert_eq!(body["suggestion"]["status"], "accepted");
    assert_eq!(body["pattern"]["healed_selector"], "[data-testid=\"pay\"]");
    assert_eq!(body["pattern"]["success_count"], 1);
    assert_eq!(api.cache.get(&heal_key).await.expect("cache get"), None);
}

#[tokio::test]
async fn opposite_verdict_on_a_reviewed_suggestion_is_409() {
    let api = spawn_api(Config::default()).await;
    let saved = api.save_suggestion(&api.shop, true).await;
    let uri = format!("/api/v1/suggestions/{}/feedback", saved.id);
    assert_eq!(
        api.post_raw(&uri, Some(&api.shop_key), r#"{"verdict":"accepted"}"#).await.status,
        StatusCode::OK
    );
    assert_eq!(
        api.post_raw(&uri, Some(&api.shop_key), r#"{"verdict":"accepted"}"#).await.status,
        StatusCode::OK,
        "repeating a verdict is a no-op"
    );
    let response = api.post_raw(&uri, Some(&api.shop_key), r#"{"verdict":"rejected"}"#).await;
    assert_eq!(response.status, StatusCode::CONFLICT, "{}", response.body);
}

#[tokio::test]
async fn feedback_on_an_abstention_is_422_and_bad_verdict_is_400() {
    let api = spawn_api(Config::default()).await;
    let abstention = api.save_suggestion(&api.shop, false).await;
    let uri = format!("/api/v1/suggestions/{}/feedback", abstention.id);
    let response = api.post_raw(&uri, Some(&api.shop_key), r#"{"verdict":"accepted"}"#).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", response.body);
    let response = api.post_raw(&uri, Some(&api.shop_key), r#"{"verdict":"maybe"}"#).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
}

// ---- metrics and routing ----

#[tokio::test]
async fn metrics_count_requests_and_rejections_and_never_show_an_api_key() {
    let api = spawn_api(Config::default()).await;
    assert_eq!(api.post_events(&valid_batch()).await.status, StatusCode::ACCEPTED);
    assert_eq!(
        api.post_raw("/api/v1/events", Some(&api.shop_key), "{").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(api.get("/api/v1/failures", Some("argus_wrong")).await.status, StatusCode::UNAUTHORIZED);

    let response = api.get("/metrics", None).await;

    assert_eq!(response.status, StatusCode::OK);
    let text = response.body;
    assert!(text.contains("argus_http_requests_total{route=\"/api/v1/events\",status=\"202\"} 1"), "{text}");
    assert!(text.contains("argus_http_requests_total{route=\"/api/v1/events\",status=\"400\"} 1"), "{text}");
    assert!(
        text.contains("argus_http_requests_total{route=\"/api/v1/failures\",status=\"401\"} 1"),
        "{text}"
    );
    assert!(text.contains("argus_ingest_batches_total 1"), "{text}");
    assert!(text.contains("argus_ingest_items_total 3"), "{text}");
    assert!(text.contains("argus_intake_rejections_total{reason=\"malformed_json\"} 1"), "{text}");
    assert!(!text.contains(&api.shop_key) && !text.contains("argus_wrong"), "metrics leak a key");
    assert!(!text.contains(&api.shop_key["argus_".len()..]), "metrics leak a key");
}

#[tokio::test]
async fn unknown_route_is_a_json_404() {
    let api = spawn_api(Config::default()).await;
    let response = api.get("/api/v2/nothing", None).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(response.error_message().contains("/api/v2/nothing"));
}

#[tokio::test]
async fn dead_letters_are_listed_only_for_their_project() {
    let api = spawn_api(Config::default()).await;
    for (project, name) in [(&api.shop, "shop-poison"), (&api.other, "other-poison")] {
        let letter = argus_store::conformance::dead_letter(project, name, fixed_now());
        api.store.record_dead_letter(&letter).await.expect("recorded");
    }

    let shop = api.get("/api/v1/dead-letters", Some(&api.shop_key)).await;
    assert_eq!(shop.status, StatusCode::OK);
    let body = shop.json();
    assert_eq!(body["total"], 1);
    assert_eq!(body["items"][0]["dead_letter"]["key"], "shop/shop-poison");
    assert_eq!(body["items"][0]["dead_letter"]["original_topic"], "argus.ingest.batch");

    let unauthenticated = api.get("/api/v1/dead-letters", None).await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    let foreign = api.get("/api/v1/dead-letters?project=other", Some(&api.shop_key)).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn retried_batch_with_the_same_idempotency_key_is_stored_once() {
    let api = spawn_api(Config::default()).await;
    let mut subscription =
        api.bus.subscribe(argus_vocabulary::Topic::IngestBatch, "test").await.expect("subscribe");
    let post = |key: &'static str| {
        Request::post("/api/v1/events")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {}", api.shop_key))
            .header("idempotency-key", key)
            .body(Body::from(valid_batch().to_string()))
            .expect("request")
    };

    let first = api.send(post("ci-run-42-attempt-1")).await;
    let retry = api.send(post("ci-run-42-attempt-1")).await;
    let other = api.send(post("ci-run-43-attempt-1")).await;

    assert_eq!(
        (first.status, retry.status, other.status),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED, StatusCode::ACCEPTED)
    );
    assert_eq!(first.json()["batch_id"], retry.json()["batch_id"], "a retry names the same batch");
    assert_ne!(first.json()["batch_id"], other.json()["batch_id"]);
    assert_eq!(api.batches_stored().await, (2, 1), "the retry stored nothing new");
    // The retry is published again (its first publish may be the one that failed); the normalizer derives
    // the same event ids from it, so downstream counts stay exact.
    let mut published = Vec::new();
    for _ in 0..3 {
        let delivery = subscription.next().await.expect("bus").expect("a delivery");
        published.push(Envelope::<IngestBatch>::from_bytes(&delivery.payload).expect("batch").event_id);
    }
    assert_eq!(published[0], published[1]);

    let bad = Request::post("/api/v1/events")
        .header(header::AUTHORIZATION, format!("Bearer {}", api.shop_key))
        .header("idempotency-key", "has spaces")
        .body(Body::from(valid_batch().to_string()))
        .expect("request");
    let bad = api.send(bad).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.error_message().contains("idempotency-key"), "{}", bad.body);
}
