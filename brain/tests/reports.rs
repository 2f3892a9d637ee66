//! `POST /api/v1/reports` through the router over the real embedded adapters (SQLite store, in-process bus
//! and cache in a temp dir), and `argus report upload` as a real process against the router served over
//! TCP.

use argus_brain::Config;
use argus_brain::api::{AppState, router};
use argus_brain::project::create_project;
use argus_bus::Bus;
use argus_bus::in_process::InProcessBus;
use argus_cache::in_process::InProcessCache;
use argus_store::Store;
use argus_store::sqlite::SqliteStore;
use argus_vocabulary::{IngestBatch, IngestItem, ProjectId, SnapshotHash, Topic, envelope::Envelope};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::io::Write;
use std::sync::Arc;
use tempfile::TempDir;
use tower::ServiceExt;

struct TestApi {
    router: Router,
    store: Arc<SqliteStore>,
    bus: Arc<InProcessBus>,
    shop: ProjectId,
    shop_key: String,
    _data_dir: TempDir,
}

async fn spawn_api(config: Config) -> TestApi {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open_in_dir(data_dir.path()).await.expect("store opens"));
    let bus = InProcessBus::new(config.bus.clone());
    let cache = Arc::new(InProcessCache::new(&config.cache));
    let shop = ProjectId::parse("shop").expect("valid");
    let shop_key =
        create_project(store.as_ref(), &shop, "Shop", chrono::Utc::now()).await.expect("create shop");
    create_project(store.as_ref(), &ProjectId::parse("other").expect("valid"), "Other", chrono::Utc::now())
        .await
        .expect("create other");
    let state = AppState::new(store.clone(), bus.clone(), cache, &config, None);
    TestApi {
        router: router(state),
        store,
        bus,
        shop,
        shop_key: shop_key.expose().to_owned(),
        _data_dir: data_dir,
    }
}

struct TestResponse {
    status: StatusCode,
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
    /// POSTs `body` to `/api/v1/reports?{query}` with the shop's key and the given extra headers.
    async fn post(&self, query: &str, headers: &[(&str, &str)], body: impl Into<Body>) -> TestResponse {
        let mut request = Request::post(format!("/api/v1/reports?{query}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.shop_key));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response =
            self.router.clone().oneshot(request.body(body.into()).expect("request")).await.expect("answers");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        TestResponse { status, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn batches_stored(&self) -> (u64, u64) {
        let counts = self.store.counts(&self.shop).await.expect("counts");
        (counts.batches, counts.dom_snapshots)
    }
}

/// Three tests: one passes, one fails with a Playwright locator timeout, one fails then passes (flaky).
const JUNIT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="checkout" tests="4">
    <testcase classname="checkout.spec.ts" name="shows the cart" time="0.5"/>
    <testcase classname="checkout.spec.ts" name="pays" time="1.5">
      <failure message="TimeoutError: locator.click: Timeout 5000ms exceeded.">Call log:
  - waiting for locator('#pay')</failure>
    </testcase>
    <testcase classname="checkout.spec.ts" name="applies a coupon"><failure message="boom"/></testcase>
    <testcase classname="checkout.spec.ts" name="applies a coupon"/>
  </testsuite>
</testsuites>"#;

const PAYS: &str = "checkout.spec.ts › checkout › pays";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("compress")
}

fn fixture(relative: &str) -> Vec<u8> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/tests/fixtures").join(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

#[tokio::test]
async fn a_junit_report_becomes_one_stored_and_published_batch_with_its_counts() {
    let api = spawn_api(Config::default()).await;
    let mut subscription = api.bus.subscribe(Topic::IngestBatch, "test").await.expect("subscribe");

    let response = api
        .post("commit=9f1c2e7&branch=main&ci_run_id=42", &[("content-type", "application/xml")], JUNIT)
        .await;

    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
    let body = response.json();
    assert_eq!(body["format"], "junit");
    assert_eq!(
        [&body["tests"], &body["runs"], &body["passed"], &body["failed"], &body["errored"], &body["skipped"]],
        [3, 4, 1, 1, 0, 0]
    );
    assert_eq!(body["flaky"], 1);
    assert_eq!(api.batches_stored().await, (1, 0));
    let delivery = subscription.next().await.expect("bus").expect("a delivery");
    let envelope = Envelope::<IngestBatch>::from_bytes(&delivery.payload).expect("an ingest batch");
    assert_eq!(envelope.event_id.to_string(), body["report_id"].as_str().expect("report id"));
    assert_eq!(envelope.project_id, api.shop);
    let run = &envelope.payload.run;
    assert_eq!(
        (run.commit_sha.as_deref(), run.branch.as_deref(), run.ci_run_id.as_deref()),
        (Some("9f1c2e7"), Some("main"), Some("42"))
    );
    // 3 results + the failure of `pays` + the first (failed) run of the flaky test.
    assert_eq!(envelope.payload.items.len(), 5);
    assert_eq!(body["items"], 5);
}

#[tokio::test]
async fn run_context_headers_are_read_when_the_query_has_none() {
    let api = spawn_api(Config::default()).await;
    let mut subscription = api.bus.subscribe(Topic::IngestBatch, "test").await.expect("subscribe");
    let headers = [("x-argus-commit", "abc123"), ("x-argus-branch", "feature/x"), ("x-argus-ci-run-id", "7")];
    let response = api.post("branch=main", &headers, JUNIT).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
    let delivery = subscription.next().await.expect("bus").expect("a delivery");
    let run = Envelope::<IngestBatch>::from_bytes(&delivery.payload).expect("batch").payload.run;
    assert_eq!(
        (run.commit_sha.as_deref(), run.branch.as_deref(), run.ci_run_id.as_deref()),
        (Some("abc123"), Some("main"), Some("7")),
        "the query wins over its header"
    );
}

#[tokio::test]
async fn the_same_idempotency_key_stores_one_batch() {
    let api = spawn_api(Config::default()).await;
    let key = [("idempotency-key", "ci-42-attempt-1")];
    let first = api.post("", &key, JUNIT).await;
    let second = api.post("", &key, JUNIT).await;
    assert_eq!((first.status, second.status), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(first.json()["report_id"], second.json()["report_id"]);
    assert_eq!(api.batches_stored().await, (1, 0));
}

#[tokio::test]
async fn a_gzip_body_is_decompressed_and_a_zip_bomb_is_413() {
    let api = spawn_api(Config::default()).await;
    let response = api.post("", &[("content-encoding", "gzip")], gzip(JUNIT.as_bytes())).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
    assert_eq!(response.json()["tests"], 3);

    // 65 MiB of spaces compress to about 64 KiB: the decompression stops at the limit.
    let bomb = gzip(&vec![b' '; argus_brain::api::reports::MAX_DECOMPRESSED_BYTES + 1024 * 1024]);
    assert!(bomb.len() < 1024 * 1024, "{} bytes compressed", bomb.len());
    let response = api.post("", &[("content-encoding", "gzip")], bomb).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", response.body);
    assert!(response.error_message().contains("decompressed body is over the limit"), "{}", response.body);

    let response = api.post("", &[("content-encoding", "gzip")], JUNIT).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.body);
    let response = api.post("", &[("content-encoding", "br")], JUNIT).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.body);
    assert_eq!(api.batches_stored().await, (1, 0));
}

#[tokio::test]
async fn hostile_and_unparseable_xml_is_400_naming_why_and_nothing_is_stored() {
    let api = spawn_api(Config::default()).await;
    let xxe = api.post("format=junit", &[], fixture("hostile/xxe.xml")).await;
    assert_eq!(xxe.status, StatusCode::BAD_REQUEST);
    assert!(
        xxe.error_message().contains("<!DOCTYPE") && xxe.error_message().contains("line 2"),
        "{}",
        xxe.body
    );

    let laughs = api.post("", &[("content-type", "text/xml")], fixture("hostile/billion-laughs.xml")).await;
    assert_eq!(laughs.status, StatusCode::BAD_REQUEST);
    assert!(laughs.error_message().contains("entity"), "{}", laughs.body);

    let deep =
        format!("<testsuites>{}{}</testsuites>", "<testsuite>".repeat(500), "</testsuite>".repeat(500));
    let deep = api.post("", &[], deep).await;
    assert_eq!(deep.status, StatusCode::BAD_REQUEST);
    assert!(deep.error_message().contains("nest deeper than"), "{}", deep.body);

    let truncated = api.post("", &[], fixture("hostile/truncated.xml")).await;
    assert_eq!(truncated.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        truncated.error_message(),
        "truncated report: the input ends at line 7, column 1 inside <failure> opened at line 6, column 7"
    );

    let garbage = api.post("", &[], "not a report").await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    let empty = api.post("", &[], "  ").await;
    assert_eq!(
        (empty.status, empty.error_message().as_str()),
        (StatusCode::BAD_REQUEST, "the report is empty")
    );
    let unknown_format = api.post("format=trx", &[], JUNIT).await;
    assert_eq!(unknown_format.status, StatusCode::BAD_REQUEST);
    assert_eq!(api.batches_stored().await, (0, 0));
}

#[tokio::test]
async fn limits_are_413() {
    let mut config = Config::default();
    config.limits.max_items_per_batch = 4;
    let api = spawn_api(config).await;
    let response = api.post("", &[], JUNIT).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", response.body);
    assert!(response.error_message().contains("5 events, over the limit of 4"), "{}", response.body);
    assert_eq!(api.batches_stored().await, (0, 0));
}

#[tokio::test]
async fn playwright_and_argus_json_are_told_apart_by_content() {
    let api = spawn_api(Config::default()).await;
    let playwright = json!({"config": {}, "suites": [{"title": "cart.spec.ts", "file": "cart.spec.ts", "specs": [
        {"title": "adds", "tests": [{"projectName": "chromium", "status": "expected",
            "results": [{"status": "passed", "duration": 12}]}]}]}]});
    let response = api.post("", &[("content-type", "application/json")], playwright.to_string()).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
    assert_eq!(
        (response.json()["format"].clone(), response.json()["passed"].clone()),
        (json!("playwright-json"), json!(1))
    );

    let argus = json!({"run": {"commit_sha": "from-batch", "branch": "main"}, "events": [
        {"type": "test_result", "test": {"file": "a.spec.ts", "title_path": ["t"]}, "status": "failed"},
        {"type": "failure", "test": {"file": "a.spec.ts", "title_path": ["t"]}, "message": "boom"}]});
    let mut subscription = api.bus.subscribe(Topic::IngestBatch, "test").await.expect("subscribe");
    let response =
        api.post("commit=from-query", &[("content-type", "application/json")], argus.to_string()).await;
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
    let body = response.json();
    assert_eq!(
        (body["format"].clone(), body["failed"].clone(), body["items"].clone()),
        (json!("argus-json"), json!(1), json!(2))
    );
    let mut run = None;
    while let Ok(Some(delivery)) = subscription.next().await {
        let envelope = Envelope::<IngestBatch>::from_bytes(&delivery.payload).expect("batch");
        if envelope.event_id.to_string() == body["report_id"].as_str().expect("id") {
            run = Some(envelope.payload.run);
            break;
        }
    }
    let run = run.expect("the argus batch was published");
    assert_eq!((run.commit_sha.as_deref(), run.branch.as_deref()), (Some("from-query"), Some("main")));

    let other = json!({"project": "other", "events": argus["events"]});
    let response = api.post("", &[("content-type", "application/vnd.argus+json")], other.to_string()).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);
    let response = api.post("project=other", &[], JUNIT).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);
}

/// One multipart part: name, content type, content.
type Part<'a> = (&'a str, &'a str, &'a [u8]);

/// A `multipart/form-data` body with the given parts.
fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "argus-test-boundary-7d1e";
    let mut body = Vec::new();
    for (name, content_type, content) in parts {
        write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .expect("write");
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    write!(body, "--{boundary}--\r\n").expect("write");
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn multipart_snapshots_are_stored_and_attached_to_the_named_tests_failures() {
    let api = spawn_api(Config::default()).await;
    let mut subscription = api.bus.subscribe(Topic::IngestBatch, "test").await.expect("subscribe");
    let html = "<html><body><button id=\"pay-now\">Pay</button></body></html>";
    let map = json!({ PAYS: "checkout" }).to_string();
    let (content_type, body) = multipart(&[
        ("report", "application/xml", JUNIT.as_bytes()),
        ("snapshot:checkout", "text/html", html.as_bytes()),
        ("snapshots.json", "application/json", map.as_bytes()),
    ]);

    // Gzip applies to the whole multipart body.
    let response = api
        .post("", &[("content-type", content_type.as_str()), ("content-encoding", "gzip")], gzip(&body))
        .await;

    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
    assert_eq!(response.json()["snapshots"], 1);
    assert_eq!(api.batches_stored().await, (1, 1));
    let delivery = subscription.next().await.expect("bus").expect("a delivery");
    let batch = Envelope::<IngestBatch>::from_bytes(&delivery.payload).expect("batch").payload;
    let snapshots: Vec<(String, Option<SnapshotHash>)> = batch
        .items
        .iter()
        .filter_map(|item| match item {
            IngestItem::Failure { test, snapshot, .. } => Some((test.key(), snapshot.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(snapshots.len(), 2);
    for (test, snapshot) in snapshots {
        let expected = (test == PAYS).then(|| SnapshotHash::of(html.as_bytes()));
        assert_eq!(snapshot, expected, "{test}");
    }
}

#[tokio::test]
async fn bad_multipart_bodies_are_refused_before_anything_is_stored() {
    let api = spawn_api(Config::default()).await;
    let cases: [(&[Part<'_>], StatusCode, &str); 4] = [
        (&[("snapshot:a", "text/html", b"<p/>")], StatusCode::BAD_REQUEST, "no \"report\" part"),
        (
            &[("report", "application/xml", JUNIT.as_bytes()), ("notes", "text/plain", b"x")],
            StatusCode::BAD_REQUEST,
            "unknown multipart part \"notes\"",
        ),
        (
            &[
                ("report", "application/xml", JUNIT.as_bytes()),
                (
                    "snapshots.json",
                    "application/json",
                    "{\"checkout.spec.ts › checkout › pays\": \"missing\"}".as_bytes(),
                ),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown snapshot \"missing\"",
        ),
        (
            &[
                ("report", "application/xml", JUNIT.as_bytes()),
                ("snapshot:a", "text/html", b"<p/>"),
                ("snapshots.json", "application/json", br#"{"no such test": "a"}"#),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "the report has no test \"no such test\"",
        ),
    ];
    for (parts, status, message) in cases {
        let (content_type, body) = multipart(parts);
        let response = api.post("", &[("content-type", content_type.as_str())], body).await;
        assert_eq!(response.status, status, "{}", response.body);
        assert!(response.error_message().contains(message), "{message:?} not in {}", response.body);
    }
    assert_eq!(api.batches_stored().await, (0, 0));
}

/// The real `argus` binary uploads a file to the router served over TCP; a rejected file makes it exit
/// non-zero with an `ERR` line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_argus_binary_uploads_reports_and_exits_non_zero_on_a_rejection() {
    let api = spawn_api(Config::default()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = format!("http://{}", listener.local_addr().expect("address"));
    let router = api.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("junit.xml"), JUNIT).expect("write");
    std::fs::write(dir.path().join("broken.xml"), "<testsuite><testcase name=\"x\">").expect("write");
    let run = |pattern: String, key: String| {
        let server = server.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_argus"))
                .args([
                    "report",
                    "upload",
                    &pattern,
                    "--project",
                    "shop",
                    "--commit",
                    "abc",
                    "--server",
                    &server,
                ])
                .args(["--max-attempts", "1"])
                .env("ARGUS_API_KEY", key)
                .output()
                .expect("run argus")
        })
    };

    let ok =
        run(dir.path().join("junit.xml").display().to_string(), api.shop_key.clone()).await.expect("join");
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&ok.stderr));
    assert!(
        stdout.starts_with("ok  ") && stdout.contains("tests=3 failed=1 errored=0 flaky=1 report="),
        "{stdout}"
    );

    let mixed = run(format!("{}/*.xml", dir.path().display()), api.shop_key.clone()).await.expect("join");
    let stdout = String::from_utf8_lossy(&mixed.stdout);
    assert!(!mixed.status.success(), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("ERR ") && line.contains("broken.xml  400 truncated report")),
        "{stdout}"
    );
    assert!(stdout.lines().any(|line| line.starts_with("ok  ") && line.contains("junit.xml")), "{stdout}");
    // The same file, commit and project: the second upload was recognised, not stored again.
    assert_eq!(api.batches_stored().await, (1, 0));

    let no_key = run(dir.path().join("junit.xml").display().to_string(), String::new()).await.expect("join");
    assert!(!no_key.status.success());
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("ARGUS_API_KEY"));
}
