//! [`ReportSummary`]: what `argus parse` prints and what an upload answers with — counts by final status
//! and every failure with its kind, locator and fingerprint.

use crate::failure::{FingerprintInput, failure_fingerprint};
use crate::model::{FailureDetail, OutcomeStatus, ParsedReport, TestOutcome};
use crate::{Counts, Format};
use argus_vocabulary::{ErrorKind, IngestItem, ProjectId, TestIdentity, TestStatus};
use serde::Serialize;

/// Counts and fingerprinted failures of one report. `passed + failed + errored + skipped + flaky = tests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    /// The format the report was read as.
    pub format: Format,
    /// Unique test identities (plus tests a suite only counted).
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
    /// Every failure of every failed run, in report order.
    pub failures: Vec<FailureSummary>,
}

/// One fingerprinted failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureSummary {
    /// The test's key (`file › title › path`).
    pub test: String,
    /// The error kind.
    pub kind: ErrorKind,
    /// The message.
    pub message: String,
    /// The failing locator, or null.
    pub locator: Option<String>,
    /// The failure fingerprint (as the normalizer computes it for `project`).
    pub fingerprint: String,
}

impl ParsedReport {
    /// The summary, with fingerprints computed for `project`.
    pub fn summary(&self, project: &ProjectId) -> ReportSummary {
        let Counts { passed, failed, errored, skipped, flaky } = self.counts();
        let mut failures = Vec::new();
        for outcome in self.tests.refs() {
            let key = outcome.key();
            for failure in outcome.failures() {
                let fingerprint = failure_fingerprint(&FingerprintInput {
                    project,
                    test_key: &key,
                    error_kind: failure.error_kind,
                    locator: failure.locator.as_deref(),
                    message: &failure.message,
                    stack: failure.stack.as_deref(),
                });
                failures.push(FailureSummary {
                    test: key.clone(),
                    kind: failure.error_kind,
                    message: failure.message.clone(),
                    locator: failure.locator.clone(),
                    fingerprint: fingerprint.to_string(),
                });
            }
        }
        ReportSummary {
            format: self.format,
            tests: passed + failed + errored + skipped + flaky,
            runs: self.runs(),
            passed,
            failed,
            errored,
            skipped,
            flaky,
            failures,
        }
    }

    /// The report an Argus event batch amounts to: each `test_result` is an outcome (its `retries` are
    /// runs), each `failure` is attached to its test (a failure whose test sent no result makes the test
    /// failed). A reporter's own error kind and locator win over the derived ones, as in the normalizer.
    pub fn from_ingest_items(format: Format, items: &[IngestItem]) -> Self {
        let mut tests: Vec<TestOutcome> = Vec::new();
        let position = |tests: &mut Vec<TestOutcome>, test: &TestIdentity| match tests
            .iter()
            .position(|outcome| outcome.test == *test)
        {
            Some(at) => at,
            None => {
                tests.push(TestOutcome {
                    test: test.clone(),
                    status: OutcomeStatus::Failed,
                    runs: 1,
                    duration_ms: 0,
                    failures: Vec::new(),
                });
                tests.len() - 1
            }
        };
        for item in items {
            match item {
                IngestItem::TestResult { test, status, retries, duration_ms } => {
                    let at = position(&mut tests, test);
                    let outcome = &mut tests[at];
                    outcome.status = match status {
                        TestStatus::Passed => OutcomeStatus::Passed,
                        TestStatus::Failed => OutcomeStatus::Failed,
                        TestStatus::Skipped => OutcomeStatus::Skipped,
                        TestStatus::Flaky => OutcomeStatus::Flaky,
                    };
                    outcome.runs = retries.saturating_add(1);
                    outcome.duration_ms = *duration_ms;
                }
                IngestItem::Failure { test, error_kind, message, stack, locator, .. } => {
                    let at = position(&mut tests, test);
                    let mut detail = FailureDetail::new(message, stack.as_deref(), None);
                    if let Some(kind) = error_kind {
                        detail.error_kind = *kind;
                    }
                    if let Some(locator) = locator.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
                        detail.locator = Some(locator.to_owned());
                    }
                    tests[at].failures.push(detail);
                }
                IngestItem::LocatorObservation { .. } => {}
            }
        }
        ParsedReport { format, tests: tests.into(), counted_only: Counts::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_add_up_and_failures_are_fingerprinted() {
        let test = TestIdentity { file: "a.spec.ts".into(), title_path: vec!["pays".into()] };
        let items = vec![
            IngestItem::TestResult {
                test: test.clone(),
                status: TestStatus::Failed,
                retries: 1,
                duration_ms: 9,
            },
            IngestItem::Failure {
                test: test.clone(),
                error_kind: None,
                message:
                    "TimeoutError: locator.click: Timeout 500ms exceeded.\n  - waiting for locator('#pay')"
                        .into(),
                stack: None,
                locator: None,
                page_url: None,
                snapshot: None,
            },
            IngestItem::Failure {
                test: TestIdentity { file: "b.spec.ts".into(), title_path: vec!["x".into()] },
                error_kind: Some(ErrorKind::Network),
                message: "boom".into(),
                stack: None,
                locator: Some("#given".into()),
                page_url: None,
                snapshot: None,
            },
        ];
        let report = ParsedReport::from_ingest_items(Format::ArgusJson, &items);
        let summary = report.summary(&ProjectId::parse("shop").expect("valid"));
        assert_eq!((summary.tests, summary.runs, summary.failed), (2, 3, 2));
        assert_eq!(summary.failures[0].kind, ErrorKind::LocatorNotFound);
        assert_eq!(summary.failures[0].locator.as_deref(), Some("#pay"));
        assert_eq!(summary.failures[0].fingerprint.len(), 32);
        assert_eq!(summary.failures[1].kind, ErrorKind::Network);
        assert_eq!(summary.failures[1].locator.as_deref(), Some("#given"));
    }
}
