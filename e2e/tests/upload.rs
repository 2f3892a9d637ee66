//! `argus report upload` ([`argus_brain::upload`]) against the real application over HTTP: glob expansion,
//! gzip bodies, a retry after a 503 (through a real HTTP proxy that fails once, then forwards), rejection,
//! and idempotency.

use argus_brain::parse::FormatArg;
use argus_brain::upload::{FileOutcome, RetryPolicy, UploadArgs, UploadOptions, expand_paths, upload_files};
use argus_e2e::{TestApp, spawn_app};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const JUNIT_CART: &str = r#"<testsuite name="cart"><testcase classname="cart.spec.ts" name="adds"/>
<testcase classname="cart.spec.ts" name="removes"><failure message="expected 1 item, got 2"/></testcase></testsuite>"#;
const JUNIT_CHECKOUT: &str = r#"<testsuites><testsuite name="checkout"><testcase classname="checkout.spec.ts" name="pays"/>
</testsuite></testsuites>"#;
const PLAYWRIGHT: &str = r#"{"config": {}, "suites": [{"title": "login.spec.ts", "file": "login.spec.ts", "specs": [
 {"title": "logs in", "tests": [{"projectName": "chromium", "status": "flaky",
  "results": [{"status": "failed", "duration": 5, "error": {"message": "Error: boom"}}, {"status": "passed", "duration": 4}]}]}]}]}"#;

/// Writes the reports into a fresh directory: `reports/cart.xml`, `reports/checkout.xml`,
/// `reports/login.json`, and a `notes.txt` the globs must not pick up.
fn write_reports() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).expect("mkdir");
    std::fs::write(reports.join("cart.xml"), JUNIT_CART).expect("write");
    std::fs::write(reports.join("checkout.xml"), JUNIT_CHECKOUT).expect("write");
    std::fs::write(reports.join("login.json"), PLAYWRIGHT).expect("write");
    std::fs::write(dir.path().join("notes.txt"), "not a report").expect("write");
    dir
}

fn options(app: &TestApp, server: &str) -> UploadOptions {
    UploadOptions {
        server: server.to_owned(),
        api_key: SecretString::from(app.api_key.clone()),
        project: app.project.as_str().to_owned(),
        commit: "9f1c2e7".to_owned(),
        branch: Some("main".to_owned()),
        ci_run_id: Some("1234".to_owned()),
        format: FormatArg::Auto,
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
        },
    }
}

async fn batches(app: &TestApp) -> u64 {
    app.store.counts(&app.project).await.expect("counts").batches
}

fn report_id(outcome: &FileOutcome) -> String {
    match outcome {
        FileOutcome::Uploaded { accepted, .. } => accepted.report_id.to_string(),
        FileOutcome::Rejected { path, status, message } => {
            panic!("{} rejected: {status:?} {message}", path.display())
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().expect("a file name").to_string_lossy().into_owned()
}

#[tokio::test]
async fn globs_expand_and_every_report_is_uploaded_gzipped() {
    let app = spawn_app("shop").await.expect("app");
    let dir = write_reports();
    let root = dir.path().display();

    let files =
        expand_paths(&[format!("{root}/reports/*.xml"), format!("{root}/**/*.json")]).expect("expand");

    let names: Vec<String> = files.iter().map(|path| file_name(path)).collect();
    assert_eq!(names, ["cart.xml", "checkout.xml", "login.json"]);
    let outcomes = upload_files(&options(&app, &app.base_url), &files, None).await.expect("upload");
    let summaries: Vec<String> = outcomes.iter().map(FileOutcome::summary_line).collect();
    assert!(
        summaries[0].starts_with("ok  ") && summaries[0].contains("tests=2 failed=1 errored=0 flaky=0"),
        "{summaries:?}"
    );
    assert!(summaries[2].contains("tests=1 failed=0 errored=0 flaky=1"), "{summaries:?}");
    assert!(outcomes.iter().all(FileOutcome::is_ok), "{summaries:?}");
    assert_eq!(batches(&app).await, 3);
    assert!(expand_paths(&[format!("{root}/reports/*.trx")]).is_err(), "a glob matching nothing is an error");
}

#[tokio::test]
async fn uploading_the_same_file_twice_stores_one_batch() {
    let app = spawn_app("shop").await.expect("app");
    let dir = write_reports();
    let file = vec![dir.path().join("reports/cart.xml")];
    let options = options(&app, &app.base_url);

    let first = upload_files(&options, &file, None).await.expect("upload");
    let second = upload_files(&options, &file, None).await.expect("upload");

    assert_eq!(report_id(&first[0]), report_id(&second[0]));
    assert_eq!(batches(&app).await, 1);
    // Another CI run of the same commit is another report.
    let rerun = UploadOptions { ci_run_id: Some("1235".to_owned()), ..options };
    let third = upload_files(&rerun, &file, None).await.expect("upload");
    assert_ne!(report_id(&first[0]), report_id(&third[0]));
    assert_eq!(batches(&app).await, 2);
}

/// A real HTTP server in front of the application: answers 503 (with `Retry-After: 0`) to the first
/// `failures` requests, then forwards every request unchanged.
struct FlakyProxy {
    base_url: String,
    requests: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct ProxyState {
    target: String,
    failures: usize,
    requests: Arc<AtomicUsize>,
    client: reqwest::Client,
}

async fn spawn_flaky_proxy(target: &str, failures: usize) -> FlakyProxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("address"));
    let requests = Arc::new(AtomicUsize::new(0));
    let state = ProxyState {
        target: target.to_owned(),
        failures,
        requests: requests.clone(),
        client: reqwest::Client::new(),
    };
    let router = axum::Router::new().fallback(forward).with_state(state);
    tokio::spawn(async move { axum::serve(listener, router).await });
    FlakyProxy { base_url, requests }
}

async fn forward(State(state): State<ProxyState>, request: Request) -> Response {
    let seen = state.requests.fetch_add(1, Ordering::SeqCst);
    if seen < state.failures {
        return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "0")], "{\"error\": \"warming up\"}")
            .into_response();
    }
    let (parts, body) = request.into_parts();
    let body: Bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    let url = format!("{}{}", state.target, parts.uri.path_and_query().map_or("/", |pq| pq.as_str()));
    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        if name != axum::http::header::HOST && name != axum::http::header::CONTENT_LENGTH {
            headers.append(name, value.clone());
        }
    }
    let answer = state.client.request(parts.method, url).headers(headers).body(body).send().await;
    match answer {
        Ok(answer) => {
            let status = answer.status();
            let body = answer.bytes().await.unwrap_or_default();
            (status, body).into_response()
        }
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}

#[tokio::test]
async fn a_503_is_retried_and_the_retry_is_stored_once() {
    let app = spawn_app("shop").await.expect("app");
    let proxy = spawn_flaky_proxy(&app.base_url, 1).await;
    let dir = write_reports();
    let file = vec![dir.path().join("reports/checkout.xml")];

    let outcomes = upload_files(&options(&app, &proxy.base_url), &file, None).await.expect("upload");

    assert!(outcomes[0].is_ok(), "{}", outcomes[0].summary_line());
    assert_eq!(proxy.requests.load(Ordering::SeqCst), 2, "one 503, then the forwarded retry");
    assert_eq!(batches(&app).await, 1);
}

#[tokio::test]
async fn retries_give_up_after_max_attempts_and_an_unreachable_server_is_reported() {
    let app = spawn_app("shop").await.expect("app");
    let proxy = spawn_flaky_proxy(&app.base_url, usize::MAX).await;
    let dir = write_reports();
    let file = vec![dir.path().join("reports/checkout.xml")];

    let outcomes = upload_files(&options(&app, &proxy.base_url), &file, None).await.expect("upload");
    assert_eq!(proxy.requests.load(Ordering::SeqCst), 3);
    let line = outcomes[0].summary_line();
    assert!(line.starts_with("ERR ") && line.contains("503 warming up (gave up after 3 attempts)"), "{line}");

    // Nothing listens on a port that was just released.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = closed.local_addr().expect("address");
    drop(closed);
    let outcomes =
        upload_files(&options(&app, &format!("http://{address}")), &file, None).await.expect("upload");
    let line = outcomes[0].summary_line();
    assert!(line.starts_with("ERR ") && line.contains("  - cannot reach"), "{line}");
    assert_eq!(batches(&app).await, 0);
}

#[tokio::test]
async fn a_rejected_report_makes_the_command_fail() {
    let app = spawn_app("shop").await.expect("app");
    let dir = write_reports();
    let broken: PathBuf = dir.path().join("reports/broken.xml");
    std::fs::write(&broken, "<testsuite><testcase name=\"cut off\">").expect("write");
    let args = |paths: Vec<String>| UploadArgs {
        paths,
        project: "shop".to_owned(),
        commit: "9f1c2e7".to_owned(),
        branch: None,
        ci_run_id: None,
        server: app.base_url.clone(),
        format: FormatArg::Auto,
        max_attempts: 1,
    };

    let outcomes = upload_files(&options(&app, &app.base_url), std::slice::from_ref(&broken), None)
        .await
        .expect("upload");
    let line = outcomes[0].summary_line();
    assert!(line.starts_with("ERR ") && line.contains("400 truncated report"), "{line}");

    let error = argus_brain::upload::run(
        args(vec![format!("{}/reports/*.xml", dir.path().display())]),
        Some(app.api_key.clone()),
    )
    .await
    .expect_err("one of three reports is rejected");
    assert_eq!(error.to_string(), "1 of 3 reports were not accepted");
    argus_brain::upload::run(
        args(vec![dir.path().join("reports/cart.xml").display().to_string()]),
        Some(app.api_key.clone()),
    )
    .await
    .expect("an accepted report succeeds");
    let wrong_project = UploadArgs {
        project: "blog".to_owned(),
        ..args(vec![dir.path().join("reports/cart.xml").display().to_string()])
    };
    assert!(
        argus_brain::upload::run(wrong_project, Some(app.api_key.clone())).await.is_err(),
        "403 is a rejection"
    );
}
