//! `POST /api/v1/reports`: a CI test report (JUnit XML, Playwright JSON or an Argus event batch) in, one
//! ingest batch out, through the same store-then-publish step as `POST /api/v1/events`
//! (`events::store_and_publish`).
//!
//! The request:
//! - **Format**: `?format=junit|playwright-json|argus-json|auto` (default `auto`). `auto` looks at the
//!   report's content type first (`application/xml`, `text/xml`, `application/junit+xml` → JUnit;
//!   `application/vnd.playwright+json`, `application/vnd.argus+json`), then at the content (XML is JUnit; a
//!   JSON object with `suites` is Playwright, one with `events` is an Argus batch), so `application/json`
//!   works for both JSON formats.
//! - **Project**: `?project=` is optional; when given it must be the API key's project (else 403).
//! - **Run**: commit, branch and CI run id from the query parameters `commit`, `branch`, `ci_run_id`, or
//!   the headers `X-Argus-Commit`, `X-Argus-Branch`, `X-Argus-Ci-Run-Id` (a query parameter wins over its
//!   header; for an Argus batch either wins over the batch's own `run`).
//! - **Body**: the report itself, or `multipart/form-data` with
//!   - a part named `report`: the report file (its own `Content-Type` is the format hint);
//!   - parts named `snapshot:<name>`: the HTML of a DOM snapshot called `<name>`;
//!   - an optional part named `snapshots.json`: `{"<test key>": "<snapshot name>", …}` attaching a snapshot
//!     to every failure of a test. The test key is `file › title › path`, as `argus parse` prints it in
//!     `failures[].test`. A key naming no test of the report, or an unknown snapshot name, is refused (422);
//!     Argus batches carry their snapshots in their own `snapshots` field instead.
//! - **Compression**: `Content-Encoding: gzip` bodies are decompressed up to
//!   [`MAX_DECOMPRESSED_BYTES`] (a zip bomb stops there with 413); the compressed body is bounded by the
//!   server's body limit as every request is.
//! - **Idempotency**: an `Idempotency-Key` header makes the report id (the batch id) a function of the
//!   project and the key, so a retried upload is stored once.
//!
//! Answers: 202 [`ReportAccepted`]; 400 for an unreadable, unparseable (with line and column) or hostile
//! (DTD, entity declarations, excessive nesting) report; 403 for an Argus batch naming another project;
//! 413 over a size or count limit; 422 for a well-formed report that is not a valid batch (no test
//! results, a bad snapshot reference).

use super::auth::Authenticated;
use super::error::parse_json_body;
use super::events::{BatchAccepted, batch_id, read_body, rejection_error, store_and_publish};
use super::{ApiError, AppState};
use crate::config::LimitsConfig;
use crate::intake::{ValidatedBatch, WireBatch};
use argus_reports::{Format, ParsedReport, ReportError, ReportLimits, detect_format, parse_report};
use argus_vocabulary::{EventId, IngestBatch, IngestItem, RunContext, SnapshotHash};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;

/// The largest report accepted after decompression (and the largest report parsed), in bytes.
pub const MAX_DECOMPRESSED_BYTES: usize = ReportLimits::default_max_bytes();

/// The header alternative to `?commit=`.
pub const COMMIT_HEADER: &str = "x-argus-commit";
/// The header alternative to `?branch=`.
pub const BRANCH_HEADER: &str = "x-argus-branch";
/// The header alternative to `?ci_run_id=`.
pub const CI_RUN_ID_HEADER: &str = "x-argus-ci-run-id";

/// The multipart part that carries the report.
pub const REPORT_PART: &str = "report";
/// The prefix of the multipart parts that carry DOM snapshots (`snapshot:<name>`).
pub const SNAPSHOT_PART_PREFIX: &str = "snapshot:";
/// The multipart part that maps test keys to snapshot names.
pub const SNAPSHOT_MAP_PART: &str = "snapshots.json";

/// Query parameters of `POST /api/v1/reports`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// Must equal the API key's project when given.
    #[serde(default)]
    pub project: Option<String>,
    /// `junit`, `playwright-json`, `argus-json` or `auto` (the default).
    #[serde(default)]
    pub format: Option<String>,
    /// The commit under test.
    #[serde(default)]
    pub commit: Option<String>,
    /// The branch under test.
    #[serde(default)]
    pub branch: Option<String>,
    /// The CI system's run id.
    #[serde(default)]
    pub ci_run_id: Option<String>,
}

/// The answer to an accepted report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportAccepted {
    /// The id of the batch the report became.
    pub report_id: EventId,
    /// The format it was read as.
    pub format: Format,
    /// Unique tests (plus tests a suite only counted).
    pub tests: u64,
    /// Executions including retries.
    pub runs: u64,
    /// Passed tests.
    pub passed: u64,
    /// Failed tests.
    pub failed: u64,
    /// Errored tests.
    pub errored: u64,
    /// Skipped tests.
    pub skipped: u64,
    /// Flaky tests.
    pub flaky: u64,
    /// Events the batch carries (a result per test, a failure per failed run).
    pub items: usize,
    /// Distinct DOM snapshots stored with it.
    pub snapshots: usize,
}

/// `POST /api/v1/reports`.
#[tracing::instrument(skip_all, fields(project = %auth.0))]
pub async fn post_report(
    State(state): State<AppState>,
    auth: Authenticated,
    params: Result<Query<ReportParams>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<ReportAccepted>), ApiError> {
    match accept(&state, &auth, params, &headers, body).await {
        Ok(accepted) => Ok((StatusCode::ACCEPTED, Json(accepted))),
        Err((reason, error)) => {
            state.metrics.record_intake_rejection(reason);
            Err(error)
        }
    }
}

type Rejection = (&'static str, ApiError);

async fn accept(
    state: &AppState,
    auth: &Authenticated,
    params: Result<Query<ReportParams>, QueryRejection>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<ReportAccepted, Rejection> {
    let Query(params) = params.map_err(|rejection| ("bad_query", ApiError::from(rejection)))?;
    auth.ensure_same_project(params.project.as_deref()).map_err(|error| ("project_mismatch", error))?;
    let batch_id = batch_id(auth, headers).map_err(|error| ("bad_idempotency_key", error))?;
    let requested = requested_format(params.format.as_deref())?;
    let run = run_context(&params, headers)?;
    let body = read_body(state, body)?;
    let body = decode_content_encoding(headers, body)?;
    let content_type = header_text(headers, header::CONTENT_TYPE.as_str());
    let upload = match content_type.as_deref() {
        Some(content_type) if is_multipart(content_type) => read_multipart(state, content_type, body).await?,
        _ => Upload { report: body, content_type, snapshots: BTreeMap::new(), snapshot_map: None },
    };
    if upload.report.iter().all(u8::is_ascii_whitespace) {
        return Err(("empty_report", ApiError::BadRequest("the report is empty".to_owned())));
    }
    let format = match requested {
        Some(format) => format,
        None => detect_format(&upload.report, upload.content_type.as_deref()).map_err(report_rejection)?,
    };
    // Parsing a large report takes a while (tens of megabytes per second): off the async workers.
    let limits = state.limits;
    let auth_for_parse = auth.clone();
    let (validated, report) = tokio::task::spawn_blocking(move || match format {
        Format::ArgusJson => argus_batch(&limits, &auth_for_parse, &upload, run),
        format => report_batch(&limits, &upload, format, run),
    })
    .await
    .map_err(|error| ("internal", ApiError::internal(error)))??;
    let counts = report.counts();
    let runs = report.runs();
    let BatchAccepted { batch_id, items, snapshots } =
        store_and_publish(state, &auth.0, batch_id, validated).await?;
    tracing::info!(report_id = %batch_id, %format, tests = counts.total(), runs, "report accepted");
    Ok(ReportAccepted {
        report_id: batch_id,
        format,
        tests: counts.total(),
        runs,
        passed: counts.passed,
        failed: counts.failed,
        errored: counts.errored,
        skipped: counts.skipped,
        flaky: counts.flaky,
        items,
        snapshots,
    })
}

/// `?format=`: a specific format, or `None` for `auto`.
fn requested_format(raw: Option<&str>) -> Result<Option<Format>, Rejection> {
    match raw.map(str::trim) {
        None | Some("" | "auto") => Ok(None),
        Some(raw) => raw.parse::<Format>().map(Some).map_err(report_rejection),
    }
}

/// Commit, branch and CI run id: each from its query parameter, else its header.
fn run_context(params: &ReportParams, headers: &HeaderMap) -> Result<RunContext, Rejection> {
    let field = |query: &Option<String>, header_name: &str| -> Result<Option<String>, Rejection> {
        let value = match query {
            Some(value) => Some(value.clone()),
            None => match headers.get(header_name) {
                None => None,
                Some(value) => Some(value.to_str().map(str::to_owned).map_err(|_| {
                    ("bad_run_context", ApiError::BadRequest(format!("{header_name} must be visible ascii")))
                })?),
            },
        };
        Ok(value.map(|value| value.trim().to_owned()).filter(|value| !value.is_empty()))
    };
    Ok(RunContext {
        commit_sha: field(&params.commit, COMMIT_HEADER)?,
        branch: field(&params.branch, BRANCH_HEADER)?,
        ci_run_id: field(&params.ci_run_id, CI_RUN_ID_HEADER)?,
    })
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
}

fn is_multipart(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// The body with its `Content-Encoding` undone: `gzip` (or `x-gzip`) is decompressed, at most
/// [`MAX_DECOMPRESSED_BYTES`] of it; `identity` or no header leaves it as is.
fn decode_content_encoding(headers: &HeaderMap, body: Bytes) -> Result<Bytes, Rejection> {
    let Some(encoding) = header_text(headers, header::CONTENT_ENCODING.as_str()) else {
        return Ok(body);
    };
    match encoding.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(body),
        "gzip" | "x-gzip" => gunzip(&body, MAX_DECOMPRESSED_BYTES).map(Bytes::from),
        other => Err((
            "unsupported_encoding",
            ApiError::BadRequest(format!("unsupported content-encoding {other:?}: send gzip or identity")),
        )),
    }
}

/// Decompresses `compressed`, refusing to produce more than `limit` bytes (the reader stops one byte past
/// the limit, so a zip bomb costs at most `limit` bytes of memory).
pub(crate) fn gunzip(compressed: &[u8], limit: usize) -> Result<Vec<u8>, Rejection> {
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed).take(limit as u64 + 1);
    let mut decompressed = Vec::with_capacity(compressed.len().saturating_mul(4).min(limit));
    decoder.read_to_end(&mut decompressed).map_err(|error| {
        ("bad_gzip", ApiError::BadRequest(format!("the gzip body cannot be decompressed: {error}")))
    })?;
    if decompressed.len() > limit {
        return Err((
            "body_too_large",
            ApiError::PayloadTooLarge(format!("the decompressed body is over the limit of {limit} bytes")),
        ));
    }
    Ok(decompressed)
}

/// What a request uploads: the report, and the DOM snapshots its failures refer to.
struct Upload {
    report: Bytes,
    /// The report's content type (the part's, in a multipart body).
    content_type: Option<String>,
    /// Snapshot name → HTML.
    snapshots: BTreeMap<String, String>,
    /// Test key → snapshot name, from `snapshots.json`.
    snapshot_map: Option<BTreeMap<String, String>>,
}

async fn read_multipart(state: &AppState, content_type: &str, body: Bytes) -> Result<Upload, Rejection> {
    let bad = |message: String| ("bad_multipart", ApiError::BadRequest(message));
    let boundary = multer::parse_boundary(content_type)
        .map_err(|error| bad(format!("invalid multipart body: {error}")))?;
    let mut multipart = multer::Multipart::with_reader(std::io::Cursor::new(body), boundary);
    let mut report: Option<(Bytes, Option<String>)> = None;
    let mut snapshots = BTreeMap::new();
    let mut snapshot_map = None;
    while let Some(field) =
        multipart.next_field().await.map_err(|error| bad(format!("invalid multipart body: {error}")))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let part_type = field.content_type().map(ToString::to_string);
        let bytes =
            field.bytes().await.map_err(|error| bad(format!("invalid multipart part {name:?}: {error}")))?;
        if name == REPORT_PART {
            if report.is_some() {
                return Err(bad("more than one \"report\" part: upload one report per request".to_owned()));
            }
            report = Some((bytes, part_type));
        } else if name == SNAPSHOT_MAP_PART {
            let map: BTreeMap<String, String> = parse_json_body(&bytes)
                .map_err(|error| bad(format!("invalid {SNAPSHOT_MAP_PART} part: {error}")))?;
            snapshot_map = Some(map);
        } else if let Some(snapshot) = name.strip_prefix(SNAPSHOT_PART_PREFIX) {
            if snapshot.trim().is_empty() {
                return Err(bad("a snapshot part needs a name: snapshot:<name>".to_owned()));
            }
            if bytes.len() > state.limits.max_snapshot_bytes {
                return Err((
                    "snapshot_too_large",
                    ApiError::PayloadTooLarge(format!(
                        "snapshot {snapshot:?} has {} bytes of html, over the limit of {} bytes",
                        bytes.len(),
                        state.limits.max_snapshot_bytes
                    )),
                ));
            }
            let html = String::from_utf8(bytes.to_vec())
                .map_err(|_| bad(format!("snapshot {snapshot:?} is not utf-8 html")))?;
            if snapshots.insert(snapshot.to_owned(), html).is_some() {
                return Err(bad(format!("snapshot {snapshot:?} is uploaded twice")));
            }
            if snapshots.len() > state.limits.max_snapshots_per_batch {
                return Err((
                    "too_many_snapshots",
                    ApiError::PayloadTooLarge(format!(
                        "more than {} snapshots in one report",
                        state.limits.max_snapshots_per_batch
                    )),
                ));
            }
        } else {
            return Err(bad(format!(
                "unknown multipart part {name:?}: expected \"{REPORT_PART}\", \"{SNAPSHOT_PART_PREFIX}<name>\" or \
                 \"{SNAPSHOT_MAP_PART}\""
            )));
        }
    }
    let (report, content_type) =
        report.ok_or_else(|| bad(format!("the multipart body has no \"{REPORT_PART}\" part")))?;
    Ok(Upload { report, content_type, snapshots, snapshot_map })
}

/// An Argus event batch, validated exactly as `POST /api/v1/events` validates it.
fn argus_batch(
    limits: &LimitsConfig,
    auth: &Authenticated,
    upload: &Upload,
    run: RunContext,
) -> Result<(ValidatedBatch, ParsedReport), Rejection> {
    if !upload.snapshots.is_empty() || upload.snapshot_map.is_some() {
        return Err((
            "bad_multipart",
            ApiError::BadRequest(
                "an argus-json batch carries its snapshots in its own \"snapshots\" field, not in parts"
                    .to_owned(),
            ),
        ));
    }
    let mut wire: WireBatch = parse_json_body(&upload.report).map_err(|error| ("malformed_json", error))?;
    auth.ensure_same_project(wire.project.as_deref()).map_err(|error| ("project_mismatch", error))?;
    let mut batch_run = wire.run.take().unwrap_or_default();
    batch_run.commit_sha = run.commit_sha.or(batch_run.commit_sha);
    batch_run.branch = run.branch.or(batch_run.branch);
    batch_run.ci_run_id = run.ci_run_id.or(batch_run.ci_run_id);
    wire.run = Some(batch_run);
    wire.check_limits(limits).map_err(|rejection| (rejection.reason(), rejection_error(rejection)))?;
    let validated = ValidatedBatch::try_from(wire)
        .map_err(|rejection| (rejection.reason(), rejection_error(rejection)))?;
    let report = ParsedReport::from_ingest_items(Format::ArgusJson, &validated.batch.items);
    Ok((validated, report))
}

/// A JUnit or Playwright report as a batch: a result per test, a failure per failed run, each failure of a
/// test named in `snapshots.json` pointing at its snapshot.
fn report_batch(
    limits: &LimitsConfig,
    upload: &Upload,
    format: Format,
    run: RunContext,
) -> Result<(ValidatedBatch, ParsedReport), Rejection> {
    let report_limits = ReportLimits { max_bytes: MAX_DECOMPRESSED_BYTES, ..ReportLimits::default() };
    let report = parse_report(&upload.report, format, &report_limits).map_err(report_rejection)?;
    let mut items = report.to_ingest_items();
    if items.is_empty() {
        return Err((
            "invalid_batch",
            ApiError::Unprocessable("the report has no test results to ingest".to_owned()),
        ));
    }
    if items.len() > limits.max_items_per_batch {
        return Err((
            "too_many_items",
            ApiError::PayloadTooLarge(format!(
                "the report yields {} events, over the limit of {} per batch",
                items.len(),
                limits.max_items_per_batch
            )),
        ));
    }
    let mut hashes: BTreeMap<&str, SnapshotHash> = BTreeMap::new();
    let mut snapshots: Vec<(SnapshotHash, String)> = Vec::new();
    for (name, html) in &upload.snapshots {
        let hash = SnapshotHash::of(html.as_bytes());
        if !snapshots.iter().any(|(known, _)| *known == hash) {
            snapshots.push((hash.clone(), html.clone()));
        }
        hashes.insert(name.as_str(), hash);
    }
    if let Some(map) = &upload.snapshot_map {
        let unprocessable = |message: String| ("invalid_batch", ApiError::Unprocessable(message));
        for (test_key, snapshot) in map {
            let hash = hashes.get(snapshot.as_str()).ok_or_else(|| {
                unprocessable(format!(
                    "{SNAPSHOT_MAP_PART}: unknown snapshot {snapshot:?} for test {test_key:?}: no \
                     \"{SNAPSHOT_PART_PREFIX}{snapshot}\" part"
                ))
            })?;
            if !report.tests.contains_key(test_key) {
                return Err(unprocessable(format!(
                    "{SNAPSHOT_MAP_PART}: the report has no test {test_key:?} (keys are `file › title › path`)"
                )));
            }
            for item in &mut items {
                if let IngestItem::Failure { test, snapshot: slot, .. } = item
                    && test.key() == *test_key
                {
                    *slot = Some(hash.clone());
                }
            }
        }
    }
    Ok((ValidatedBatch { batch: IngestBatch { run, items }, snapshots }, report))
}

/// A report the parsers refused: over a limit → 413, anything else (hostile, malformed, truncated, not a
/// report) → 400 with the parser's reason, which names the line and column when it knows them.
fn report_rejection(error: ReportError) -> Rejection {
    match error {
        ReportError::TooLarge { .. } | ReportError::TooManyTestcases { .. } => {
            ("report_too_large", ApiError::PayloadTooLarge(error.to_string()))
        }
        ReportError::DoctypeRefused { .. } | ReportError::TooDeep { .. } => {
            ("hostile_report", ApiError::BadRequest(error.to_string()))
        }
        _ => ("unparseable_report", ApiError::BadRequest(error.to_string())),
    }
}
