//! The Playwright JSON reporter: file suites → nested describe suites → specs → tests (one per project) →
//! results (one per retry), with or without the top-level `stats` (reporters before 1.39 have none), and
//! merged or sharded reports.
//!
//! Identity: `file` is the spec's file; the title path is the project name (when there is one: the same
//! spec in chromium and firefox is two tests), the describe titles, then the spec title.
//!
//! Each result is a run. A result whose status equals the test's `expectedStatus` passed (so an expected
//! failure, `test.fail()`, counts as passed); `skipped` is skipped; anything else (`failed`, `timedOut`,
//! `interrupted`) failed. Runs fold into the final status with the crate's retry policy, which gives
//! Playwright's own expected/unexpected/flaky/skipped outcome.

use crate::model::{FailureDetail, OutcomeBuilder, ParsedReport, Run, RunStatus};
use crate::{Counts, Format, ReportError, ReportLimits};
use argus_vocabulary::TestIdentity;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct WireReport {
    suites: Option<Vec<WireSuite>>,
}

#[derive(Debug, Deserialize)]
struct WireSuite {
    #[serde(default)]
    title: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    specs: Vec<WireSpec>,
    #[serde(default)]
    suites: Vec<WireSuite>,
}

#[derive(Debug, Deserialize)]
struct WireSpec {
    #[serde(default)]
    title: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    tests: Vec<WireTest>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireTest {
    #[serde(default)]
    project_name: String,
    #[serde(default)]
    expected_status: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    results: Vec<WireResult>,
}

#[derive(Debug, Deserialize)]
struct WireResult {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    error: Option<WireError>,
    #[serde(default)]
    errors: Vec<WireError>,
}

#[derive(Debug, Deserialize)]
struct WireError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    stack: Option<String>,
    #[serde(default)]
    location: Option<WireLocation>,
}

#[derive(Debug, Deserialize)]
struct WireLocation {
    file: String,
    line: u64,
    column: u64,
}

/// Parses a Playwright JSON report.
pub fn parse_playwright(bytes: &[u8], limits: &ReportLimits) -> Result<ParsedReport, ReportError> {
    if bytes.len() > limits.max_bytes {
        return Err(ReportError::TooLarge { size: bytes.len(), limit: limits.max_bytes });
    }
    let text = crate::junit::decode_text(bytes);
    if text.trim().is_empty() {
        return Err(ReportError::Empty);
    }
    let report: WireReport = serde_json::from_str(&text).map_err(|error| ReportError::json(&error))?;
    let suites = report
        .suites
        .ok_or_else(|| ReportError::NotPlaywright("there is no top-level \"suites\" array".to_owned()))?;
    let mut builder = OutcomeBuilder::default();
    let mut titles = Vec::new();
    for suite in &suites {
        // Top-level suites are file suites: their title is the file, not a describe block.
        walk(suite, suite.file.as_deref().unwrap_or(&suite.title), &mut titles, &mut builder, limits)?;
    }
    Ok(ParsedReport {
        format: Format::PlaywrightJson,
        tests: builder.finish(),
        counted_only: Counts::default(),
    })
}

fn walk<'a>(
    suite: &'a WireSuite,
    file: &str,
    titles: &mut Vec<&'a str>,
    builder: &mut OutcomeBuilder,
    limits: &ReportLimits,
) -> Result<(), ReportError> {
    for spec in &suite.specs {
        let file = spec.file.as_deref().or(suite.file.as_deref()).unwrap_or(file);
        for test in &spec.tests {
            let mut title_path: Vec<String> = Vec::with_capacity(titles.len() + 2);
            if !test.project_name.trim().is_empty() {
                title_path.push(test.project_name.trim().to_owned());
            }
            title_path.extend(titles.iter().map(|title| (*title).to_owned()));
            title_path.push(if spec.title.trim().is_empty() {
                "(unnamed)".to_owned()
            } else {
                spec.title.clone()
            });
            builder.push(TestIdentity { file: file.to_owned(), title_path }, runs(test));
            if builder.len() > limits.max_testcases {
                return Err(ReportError::TooManyTestcases { limit: limits.max_testcases });
            }
        }
    }
    for nested in &suite.suites {
        let title = nested.title.trim();
        let pushed = !title.is_empty();
        if pushed {
            titles.push(title);
        }
        walk(nested, nested.file.as_deref().unwrap_or(file), titles, builder, limits)?;
        if pushed {
            titles.pop();
        }
    }
    Ok(())
}

fn runs(test: &WireTest) -> Vec<Run> {
    let expected = test.expected_status.as_deref().unwrap_or("passed");
    let mut runs: Vec<Run> = test
        .results
        .iter()
        .map(|result| {
            let status = match result.status.as_deref() {
                Some("skipped") => RunStatus::Skipped,
                Some(status) if status == expected => RunStatus::Passed,
                // A result without a status is still running when the report was written: not a verdict.
                None => RunStatus::Skipped,
                Some(_) => RunStatus::Failed,
            };
            let failure = (status == RunStatus::Failed)
                .then(|| result.errors.first().or(result.error.as_ref()).map(failure_detail))
                .flatten()
                .or_else(|| {
                    (status == RunStatus::Failed).then(|| {
                        let message = format!("test {}", result.status.as_deref().unwrap_or("failed"));
                        FailureDetail::new(&message, None, None)
                    })
                });
            let duration_ms =
                result.duration.filter(|ms| ms.is_finite() && *ms > 0.0).map_or(0, |ms| ms.round() as u64);
            Run { status, duration_ms, failure }
        })
        .collect();
    if runs.is_empty() {
        // No result at all: the test never ran (skipped, or cut off by maxFailures). Its status says which.
        let status = match test.status.as_deref() {
            Some("unexpected") => RunStatus::Failed,
            Some("expected") => RunStatus::Passed,
            _ => RunStatus::Skipped,
        };
        runs.push(Run { status, duration_ms: 0, failure: None });
    }
    runs
}

fn failure_detail(error: &WireError) -> FailureDetail {
    let message = error.message.as_deref().or(error.value.as_deref()).unwrap_or("error");
    let location = error.location.as_ref().map(|at| format!("{}:{}:{}", at.file, at.line, at.column));
    FailureDetail::new(message, error.stack.as_deref(), location)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OutcomeStatus;

    #[test]
    fn retries_and_projects_give_flaky_and_distinct_identities() {
        let json = r#"{"suites": [{"title": "a.spec.ts", "file": "a.spec.ts", "specs": [], "suites": [
            {"title": "cart", "file": "a.spec.ts", "specs": [{"title": "adds", "file": "a.spec.ts", "tests": [
                {"projectName": "chromium", "expectedStatus": "passed", "status": "flaky", "results": [
                    {"status": "failed", "duration": 10, "error": {"message": "\u001b[31mError: locator.click: Timeout 500ms exceeded.\u001b[39m\nCall log:\n  - waiting for locator('#add')"}},
                    {"status": "passed", "duration": 5}]},
                {"projectName": "firefox", "expectedStatus": "failed", "status": "expected", "results": [
                    {"status": "failed", "duration": 7}]}
            ]}]}
        ]}]}"#;
        let report = parse_playwright(json.as_bytes(), &ReportLimits::default()).expect("parses");
        assert_eq!(report.tests.len(), 2);
        let flaky = &report.tests[0];
        assert_eq!(flaky.test.title_path, ["chromium", "cart", "adds"]);
        assert_eq!(flaky.status, OutcomeStatus::Flaky);
        assert_eq!(flaky.runs, 2);
        assert_eq!(flaky.duration_ms, 15);
        assert_eq!(flaky.failures[0].locator.as_deref(), Some("#add"));
        assert!(flaky.failures[0].message.starts_with("Error: locator.click"), "colours stripped");
        assert_eq!(report.tests[1].status, OutcomeStatus::Passed, "an expected failure passes");
    }

    #[test]
    fn a_report_without_suites_is_refused() {
        let error = parse_playwright(br#"{"tests": []}"#, &ReportLimits::default()).expect_err("refused");
        assert!(matches!(error, ReportError::NotPlaywright(_)));
        let error = parse_playwright(b"{\"suites\": [", &ReportLimits::default()).expect_err("truncated");
        assert!(matches!(error, ReportError::InvalidJson { line: 1, .. }), "{error}");
    }
}
