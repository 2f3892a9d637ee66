//! `argus report upload PATH... --project P --commit SHA [--branch B] [--ci-run-id ID] [--server URL]`:
//! send CI test reports to `POST /api/v1/reports`.
//!
//! - `PATH` may be a glob (`'reports/**/*.xml'`; quote it so the shell leaves it to argus). A pattern that
//!   matches nothing is an error (a CI step that wrote no report should not pass silently).
//! - Bodies are gzipped (`Content-Encoding: gzip`).
//! - 429, 502, 503, 504 and connection errors are retried with exponential backoff and full jitter,
//!   honouring `Retry-After` (seconds or an HTTP date), up to `--max-attempts` attempts.
//! - Every file carries a stable `Idempotency-Key` (a hash of project, commit, CI run id and the file's
//!   content), so a retry, or a rerun of the CI step, never stores a report twice.
//! - A progress bar is drawn on stderr for several or large files, only when stderr is a terminal.
//! - One line per file on stdout: `ok  PATH  tests=… failed=… errored=… flaky=… report=<id>` or
//!   `ERR PATH  <status> <message>`; the exit status is non-zero when any file was rejected.
//! - The API key comes from `ARGUS_API_KEY` (never a flag: flags are visible to every user in `ps`).
//!
//! [`upload_files`] is the library entry point (tests call it); [`run`] is the command.

use crate::api::events::IDEMPOTENCY_KEY;
use crate::api::reports::{BRANCH_HEADER, CI_RUN_ID_HEADER, COMMIT_HEADER, ReportAccepted};
use crate::parse::FormatArg;
use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The server `argus report upload` talks to by default.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";
/// The environment variable the API key is read from.
pub const API_KEY_ENV: &str = "ARGUS_API_KEY";

/// `argus report …`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Upload test reports (JUnit XML, Playwright JSON, Argus JSON) to an Argus server.
    Upload(UploadArgs),
}

/// `argus report upload`.
#[derive(Debug, Clone, Args)]
pub struct UploadArgs {
    /// Report files or glob patterns.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// The project the API key belongs to (the server refuses another).
    #[arg(long)]
    pub project: String,
    /// The commit under test.
    #[arg(long)]
    pub commit: String,
    /// The branch under test.
    #[arg(long)]
    pub branch: Option<String>,
    /// The CI system's run id.
    #[arg(long = "ci-run-id", value_name = "ID")]
    pub ci_run_id: Option<String>,
    /// The Argus server.
    #[arg(long, value_name = "URL", default_value = DEFAULT_SERVER)]
    pub server: String,
    /// The reports' format (`auto` lets the server detect it per file).
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// Attempts per file before giving up on 429/503/connection errors.
    #[arg(long, value_name = "N", default_value_t = RetryPolicy::DEFAULT_MAX_ATTEMPTS)]
    pub max_attempts: u32,
}

/// How failed attempts are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per file, including the first.
    pub max_attempts: u32,
    /// The backoff before the second attempt; it doubles for each further one.
    pub base_delay: Duration,
    /// The longest wait between attempts (also caps `Retry-After`).
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// 5 attempts.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Everything an upload needs besides the files.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// The server's base URL (`http://host:port`).
    pub server: String,
    /// The project's API key.
    pub api_key: SecretString,
    /// The project (part of the idempotency key; the server checks it against the key).
    pub project: String,
    /// The commit under test.
    pub commit: String,
    /// The branch under test.
    pub branch: Option<String>,
    /// The CI run id.
    pub ci_run_id: Option<String>,
    /// The format to ask for.
    pub format: FormatArg,
    /// Retries.
    pub retry: RetryPolicy,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    /// The server accepted it.
    Uploaded {
        /// The file.
        path: PathBuf,
        /// The server's answer.
        accepted: ReportAccepted,
    },
    /// It could not be read, or the server refused it (or stayed unreachable).
    Rejected {
        /// The file.
        path: PathBuf,
        /// The final HTTP status, when the server answered.
        status: Option<u16>,
        /// Why.
        message: String,
    },
}

impl FileOutcome {
    /// The one-line summary printed for the file.
    pub fn summary_line(&self) -> String {
        match self {
            FileOutcome::Uploaded { path, accepted } => format!(
                "ok  {}  tests={} failed={} errored={} flaky={} report={}",
                path.display(),
                accepted.tests,
                accepted.failed,
                accepted.errored,
                accepted.flaky,
                accepted.report_id
            ),
            FileOutcome::Rejected { path, status, message } => format!(
                "ERR {}  {} {}",
                path.display(),
                status.map_or_else(|| "-".to_owned(), |status| status.to_string()),
                message
            ),
        }
    }

    /// Whether the file was accepted.
    pub fn is_ok(&self) -> bool {
        matches!(self, FileOutcome::Uploaded { .. })
    }
}

/// The files named by `patterns`: an existing path as is, anything else as a glob; sorted and without
/// duplicates. A pattern that matches no file is an error.
pub fn expand_paths(patterns: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for pattern in patterns {
        let literal = Path::new(pattern);
        if literal.is_file() {
            files.push(literal.to_path_buf());
            continue;
        }
        let mut matched = 0;
        for entry in glob::glob(pattern).with_context(|| format!("invalid glob pattern {pattern:?}"))? {
            let path = entry.with_context(|| format!("read a match of {pattern:?}"))?;
            if path.is_file() {
                files.push(path);
                matched += 1;
            }
        }
        anyhow::ensure!(matched > 0, "{pattern:?} matches no file");
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// The `Idempotency-Key` of a file: the same project, commit, CI run and content always give the same key.
pub fn idempotency_key(project: &str, commit: &str, ci_run_id: Option<&str>, content: &[u8]) -> String {
    let content_hash = Sha256::digest(content);
    let mut hasher = Sha256::new();
    for part in [project.as_bytes(), commit.as_bytes(), ci_run_id.unwrap_or_default().as_bytes()] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.update(content_hash);
    format!("argus-upload-{}", hex::encode(&hasher.finalize()[..16]))
}

/// Uploads every file, one after the other, advancing `progress` (by bytes) when given.
pub async fn upload_files(
    options: &UploadOptions,
    files: &[PathBuf],
    progress: Option<&ProgressBar>,
) -> anyhow::Result<Vec<FileOutcome>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .context("build the http client")?;
    let mut outcomes = Vec::with_capacity(files.len());
    for path in files {
        if let Some(progress) = progress {
            progress.set_message(path.display().to_string());
        }
        let outcome = upload_file(&client, options, path).await;
        if let Some(progress) = progress {
            progress.inc(std::fs::metadata(path).map_or(0, |metadata| metadata.len()));
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

async fn upload_file(client: &reqwest::Client, options: &UploadOptions, path: &Path) -> FileOutcome {
    let rejected =
        |status, message: String| FileOutcome::Rejected { path: path.to_path_buf(), status, message };
    let content = match tokio::fs::read(path).await {
        Ok(content) => content,
        Err(error) => return rejected(None, format!("cannot read the file: {error}")),
    };
    let key = idempotency_key(&options.project, &options.commit, options.ci_run_id.as_deref(), &content);
    let body = match gzip(&content) {
        Ok(body) => body,
        Err(error) => return rejected(None, format!("cannot compress the file: {error}")),
    };
    let url = format!("{}/api/v1/reports", options.server.trim_end_matches('/'));
    let mut query: Vec<(&str, &str)> =
        vec![("project", options.project.as_str()), ("commit", options.commit.as_str())];
    if let Some(branch) = &options.branch {
        query.push(("branch", branch));
    }
    if let Some(ci_run_id) = &options.ci_run_id {
        query.push(("ci_run_id", ci_run_id));
    }
    let format = format_name(options.format);
    query.push(("format", format));
    let content_type = content_type_for(path);

    let mut attempt = 1;
    loop {
        let request = client
            .post(&url)
            .query(&query)
            .bearer_auth(options.api_key.expose_secret())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header(reqwest::header::CONTENT_ENCODING, "gzip")
            .header(IDEMPOTENCY_KEY, &key)
            // Headers too, for proxies that drop query strings; the server reads the query first.
            .header(COMMIT_HEADER, &options.commit)
            .body(body.clone());
        let request = match &options.branch {
            Some(branch) => request.header(BRANCH_HEADER, branch),
            None => request,
        };
        let request = match &options.ci_run_id {
            Some(ci_run_id) => request.header(CI_RUN_ID_HEADER, ci_run_id),
            None => request,
        };
        let (retry_after, failure) = match request.send().await {
            Ok(response) => {
                let status = response.status();
                let retry_after = retry_after(response.headers());
                let text = response.text().await.unwrap_or_default();
                if status.is_success() {
                    return match serde_json::from_str::<ReportAccepted>(&text) {
                        Ok(accepted) => FileOutcome::Uploaded { path: path.to_path_buf(), accepted },
                        Err(error) => rejected(Some(status.as_u16()), format!("unexpected answer: {error}")),
                    };
                }
                let message = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|json| json["error"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| text.trim().to_owned());
                if !is_retryable(status) {
                    return rejected(Some(status.as_u16()), message);
                }
                (retry_after, rejected(Some(status.as_u16()), message))
            }
            Err(error) => (None, rejected(None, format!("cannot reach {url}: {}", error_chain(&error)))),
        };
        if attempt >= options.retry.max_attempts {
            return match failure {
                FileOutcome::Rejected { path, status, message } => FileOutcome::Rejected {
                    path,
                    status,
                    message: format!("{message} (gave up after {attempt} attempts)"),
                },
                uploaded => uploaded,
            };
        }
        let delay = backoff(&options.retry, attempt, retry_after);
        tracing::info!(path = %path.display(), attempt, delay_ms = delay.as_millis() as u64, "retrying upload");
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// Statuses worth retrying: rate limited, or a server or gateway that is temporarily unavailable.
fn is_retryable(status: reqwest::StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// The wait before attempt `attempt + 1`: the server's `Retry-After` when it sent one (capped), else
/// exponential backoff with full jitter (a uniform wait between 0 and `base × 2^(attempt-1)`, capped), so
/// that many CI jobs retrying at once spread out.
pub fn backoff(policy: &RetryPolicy, attempt: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(retry_after) = retry_after {
        return retry_after.min(policy.max_delay);
    }
    let exponential = policy.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let ceiling = exponential.min(policy.max_delay);
    let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::thread_rng().gen_range(0..=ceiling_ms))
}

/// `Retry-After` as a wait: delta seconds, or an HTTP date (a date in the past is no wait).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or_default())
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

fn gzip(content: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(content)?;
    encoder.finish()
}

fn format_name(format: FormatArg) -> &'static str {
    match format {
        FormatArg::Junit => "junit",
        FormatArg::PlaywrightJson => "playwright-json",
        FormatArg::ArgusJson => "argus-json",
        FormatArg::Auto => "auto",
    }
}

/// A content type from the file's extension (the server's `auto` detection refines JSON by content).
fn content_type_for(path: &Path) -> &'static str {
    match path.extension().and_then(|extension| extension.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("xml") => "application/xml",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// Files at least this large get a progress bar even alone.
const LARGE_UPLOAD_BYTES: u64 = 8 * 1024 * 1024;

/// Runs `argus report upload` with the API key from the environment (`None` when unset).
pub async fn run(args: UploadArgs, api_key: Option<String>) -> anyhow::Result<()> {
    let api_key = api_key
        .filter(|key| !key.trim().is_empty())
        .with_context(|| format!("set {API_KEY_ENV} to the project's api key"))?;
    anyhow::ensure!(args.max_attempts >= 1, "--max-attempts must be at least 1");
    let files = expand_paths(&args.paths)?;
    let options = UploadOptions {
        server: args.server,
        api_key: SecretString::from(api_key),
        project: args.project,
        commit: args.commit,
        branch: args.branch,
        ci_run_id: args.ci_run_id,
        format: args.format,
        retry: RetryPolicy { max_attempts: args.max_attempts, ..RetryPolicy::default() },
    };
    let total_bytes: u64 =
        files.iter().map(|path| std::fs::metadata(path).map_or(0, |metadata| metadata.len())).sum();
    let progress = (std::io::stderr().is_terminal()
        && (files.len() > 1 || total_bytes >= LARGE_UPLOAD_BYTES))
        .then(|| {
            let bar = ProgressBar::new(total_bytes);
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {wide_msg}") {
                bar.set_style(style);
            }
            bar
        });
    let outcomes = upload_files(&options, &files, progress.as_ref()).await?;
    if let Some(progress) = &progress {
        progress.finish_and_clear();
    }
    for outcome in &outcomes {
        println!("{}", outcome.summary_line());
    }
    let rejected = outcomes.iter().filter(|outcome| !outcome.is_ok()).count();
    anyhow::ensure!(rejected == 0, "{rejected} of {} reports were not accepted", outcomes.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idempotency_key_depends_on_project_commit_run_and_content_only() {
        let key = idempotency_key("shop", "abc", Some("7"), b"<testsuite/>");
        assert_eq!(key, idempotency_key("shop", "abc", Some("7"), b"<testsuite/>"));
        assert!(key.starts_with("argus-upload-") && key.len() <= 200);
        for other in [
            idempotency_key("docs", "abc", Some("7"), b"<testsuite/>"),
            idempotency_key("shop", "abd", Some("7"), b"<testsuite/>"),
            idempotency_key("shop", "abc", Some("8"), b"<testsuite/>"),
            idempotency_key("shop", "abc", None, b"<testsuite/>"),
            idempotency_key("shop", "abc", Some("7"), b"<testsuites/>"),
            // Field boundaries are length-prefixed: moving a character between fields changes the key.
            idempotency_key("shopa", "bc", Some("7"), b"<testsuite/>"),
        ] {
            assert_ne!(key, other);
        }
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for attempt in 1..10 {
            let ceiling = Duration::from_millis((100u64 << (attempt - 1)).min(1000));
            assert!(backoff(&policy, attempt, None) <= ceiling, "attempt {attempt}");
        }
        assert_eq!(backoff(&policy, 1, Some(Duration::from_millis(300))), Duration::from_millis(300));
        assert_eq!(backoff(&policy, 1, Some(Duration::from_secs(60))), Duration::from_millis(1000));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "3".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers
            .insert(reqwest::header::RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().expect("header"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn globs_expand_sorted_and_a_pattern_matching_nothing_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["b.xml", "a.xml", "c.json"] {
            std::fs::write(dir.path().join(name), "<testsuite/>").expect("write");
        }
        let pattern = format!("{}/*.xml", dir.path().display());
        let literal = dir.path().join("c.json").display().to_string();
        let files = expand_paths(&[pattern.clone(), literal, pattern]).expect("expands");
        let names: Vec<_> =
            files.iter().map(|path| path.file_name().expect("name").to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["a.xml", "b.xml", "c.json"]);
        let nothing = format!("{}/*.trx", dir.path().display());
        assert!(expand_paths(&[nothing]).is_err());
    }
}
