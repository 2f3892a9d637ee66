//! The canonical output of every parser: [`ParsedReport`], one [`TestOutcome`] per unique test identity,
//! and its conversion into the ingest items the HTTP edge publishes.
//!
//! Retries are folded here, once for every format ([`OutcomeBuilder`]): the runs of one identity, in report
//! order, decide its final status. Failed (or errored) then passed is flaky; otherwise the last run that ran
//! decides; a test whose every run was skipped is skipped.

use crate::failure::{Understanding, strip_ansi, understand};
use argus_vocabulary::{ErrorKind, IngestItem, TestIdentity, TestStatus};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

mod outcomes;

pub use outcomes::{OutcomeBuilder, OutcomeRef, Outcomes};

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// JUnit XML, in any of its dialects.
    Junit,
    /// The Playwright JSON reporter.
    PlaywrightJson,
    /// The Argus event batch (`POST /api/v1/events`).
    ArgusJson,
}

impl Format {
    /// Every format, in the order `auto` detection considers them.
    pub const ALL: [Format; 3] = [Format::Junit, Format::PlaywrightJson, Format::ArgusJson];

    /// The name used on the command line and in output (`junit`, `playwright-json`, `argus-json`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Junit => "junit",
            Format::PlaywrightJson => "playwright-json",
            Format::ArgusJson => "argus-json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = crate::ReportError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|format| format.as_str() == raw)
            .ok_or_else(|| crate::ReportError::UnknownFormat(raw.to_owned()))
    }
}

/// The final status of one test identity after all its runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// Passed (on its only or every run).
    Passed,
    /// An assertion or check failed on the deciding run.
    Failed,
    /// The test errored (JUnit `<error>`: an unexpected exception rather than a failed check).
    Errored,
    /// Not run.
    Skipped,
    /// Failed or errored, then passed on a retry.
    Flaky,
}

impl OutcomeStatus {
    /// The output name.
    pub const fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Passed => "passed",
            OutcomeStatus::Failed => "failed",
            OutcomeStatus::Errored => "errored",
            OutcomeStatus::Skipped => "skipped",
            OutcomeStatus::Flaky => "flaky",
        }
    }

    /// The vocabulary's status: the event stream has no separate "errored", so it is "failed" there.
    pub const fn to_test_status(self) -> TestStatus {
        match self {
            OutcomeStatus::Passed => TestStatus::Passed,
            OutcomeStatus::Failed | OutcomeStatus::Errored => TestStatus::Failed,
            OutcomeStatus::Skipped => TestStatus::Skipped,
            OutcomeStatus::Flaky => TestStatus::Flaky,
        }
    }
}

/// The status of one execution of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// It passed.
    Passed,
    /// A check failed.
    Failed,
    /// It errored.
    Errored,
    /// It did not run.
    Skipped,
}

/// One failure, as the report gave it, with what Argus understood of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureDetail {
    /// The message (ANSI colours removed).
    pub message: String,
    /// The stack trace or the failure element's body, when there is one.
    pub stack: Option<String>,
    /// Where the report said the error happened (`file:line:column`), when it did.
    pub location: Option<String>,
    /// The classified error kind (a hint: the normalizer computes the same from message and stack).
    pub error_kind: ErrorKind,
    /// The locator the message or stack names (a hint, as above).
    pub locator: Option<String>,
}

impl FailureDetail {
    /// A failure from its message and stack: colours stripped, kind classified, locator extracted.
    pub fn new(message: &str, stack: Option<&str>, location: Option<String>) -> Self {
        Self::from_clean_message(Self::clean_message(message), stack.map(Cow::Borrowed), location)
    }

    /// The message as [`FailureDetail::new`] keeps it: trimmed, colours stripped.
    pub(crate) fn clean_message(message: &str) -> String {
        strip_ansi(message.trim()).into_owned()
    }

    /// [`FailureDetail::clean_message`] of a message the caller may own: an owned message with nothing
    /// to trim or strip is kept, not copied.
    pub(crate) fn clean_owned_message(message: Cow<'_, str>) -> String {
        clean_text(message)
    }

    /// [`FailureDetail::new`] from a message already cleaned ([`FailureDetail::clean_message`]) and a
    /// stack the caller may own: an owned stack with nothing to trim or strip is kept, not copied.
    pub(crate) fn from_clean_message(
        message: String,
        stack: Option<Cow<'_, str>>,
        location: Option<String>,
    ) -> Self {
        let stack = stack.map(clean_text).filter(|stack| !stack.is_empty() && *stack != message);
        let Understanding { error_kind, locator } = understand(&message, stack.as_deref());
        Self { message, stack, location, error_kind, locator }
    }
}

/// A text trimmed and without colours, as an owned string (the given one when it is already clean):
/// what [`FailureDetail::new`] keeps of a message or a stack.
fn clean_text(text: Cow<'_, str>) -> String {
    // `strip_ansi` changes nothing without an escape character.
    if text.trim().len() == text.len() && !text.contains('\x1b') {
        // A text built in pieces keeps its spare room (under half of it, see the JUnit walk): giving
        // it back costs a reallocation per failure.
        text.into_owned()
    } else {
        strip_ansi(text.trim()).into_owned()
    }
}

/// One execution of a test: its status, duration and (for failed or errored runs) its failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// How it ended.
    pub status: RunStatus,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Why it failed, for failed and errored runs.
    pub failure: Option<FailureDetail>,
}

/// Everything a report says about one test identity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestOutcome {
    /// Which test.
    pub test: TestIdentity,
    /// The final status after all runs.
    pub status: OutcomeStatus,
    /// How many times it executed (1 + retries).
    pub runs: u32,
    /// Total duration of all runs, in milliseconds.
    pub duration_ms: u64,
    /// The failures of its failed or errored runs, in run order.
    pub failures: Vec<FailureDetail>,
}

/// Test counts by final status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
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
}

impl Counts {
    /// All tests counted.
    pub const fn total(&self) -> u64 {
        self.passed + self.failed + self.errored + self.skipped + self.flaky
    }

    /// Counts one more test with `status`.
    pub fn add(&mut self, status: OutcomeStatus) {
        match status {
            OutcomeStatus::Passed => self.passed += 1,
            OutcomeStatus::Failed => self.failed += 1,
            OutcomeStatus::Errored => self.errored += 1,
            OutcomeStatus::Skipped => self.skipped += 1,
            OutcomeStatus::Flaky => self.flaky += 1,
        }
    }

    fn merge(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.errored += other.errored;
        self.skipped += other.skipped;
        self.flaky += other.flaky;
    }
}

/// A parsed report: one outcome per unique test identity, in first-seen order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParsedReport {
    /// The format it was read as.
    pub format: Format,
    /// One outcome per unique test identity (read in place with [`Outcomes::refs`]; dereferences to
    /// `[TestOutcome]`).
    pub tests: Outcomes,
    /// Tests a report only counted: JUnit suites that carry `tests`/`failures`/`errors`/`skipped` counts but
    /// no `<testcase>` elements. They count in [`ParsedReport::counts`] but have no identity, so they yield
    /// no ingest item.
    pub counted_only: Counts,
}

impl ParsedReport {
    /// Counts by final status, including [`ParsedReport::counted_only`].
    pub fn counts(&self) -> Counts {
        let mut counts = self.counted_only;
        let mut identified = Counts::default();
        for outcome in self.tests.refs() {
            identified.add(outcome.status());
        }
        counts.merge(identified);
        counts
    }

    /// Executions including retries (a counted-only test is one execution).
    pub fn runs(&self) -> u64 {
        self.counted_only.total() + self.tests.refs().map(|outcome| u64::from(outcome.runs())).sum::<u64>()
    }

    /// The ingest items this report yields: per test a `test_result`, then a `failure` per failed run.
    /// Error kind and locator are left to the normalizer, which derives them with the same functions that
    /// filled the hints here, from the same message and stack.
    pub fn to_ingest_items(&self) -> Vec<IngestItem> {
        let mut items = Vec::with_capacity(self.tests.len());
        for outcome in self.tests.refs() {
            let result = |test| IngestItem::TestResult {
                test,
                status: outcome.status().to_test_status(),
                retries: outcome.runs().saturating_sub(1),
                duration_ms: outcome.duration_ms(),
            };
            let failure_item = |test, failure: &FailureDetail| IngestItem::Failure {
                test,
                error_kind: None,
                message: failure.message.clone(),
                stack: failure.stack.clone(),
                locator: None,
                page_url: None,
                snapshot: None,
            };
            // The identity is built once and moved into the last item.
            let test = outcome.identity();
            match outcome.failures().split_last() {
                None => items.push(result(test)),
                Some((last, earlier)) => {
                    items.push(result(test.clone()));
                    items.extend(earlier.iter().map(|failure| failure_item(test.clone(), failure)));
                    items.push(failure_item(test, last));
                }
            }
        }
        items
    }
}

/// [`final_status`], one run at a time.
#[derive(Debug, Clone, Copy, Default)]
struct StatusFold {
    failed_before: bool,
    last: Option<RunStatus>,
}

impl StatusFold {
    fn add(&mut self, status: RunStatus) {
        if status == RunStatus::Skipped {
            return;
        }
        if let Some(RunStatus::Failed | RunStatus::Errored) = self.last {
            self.failed_before = true;
        }
        self.last = Some(status);
    }

    fn finish(self) -> OutcomeStatus {
        match self.last {
            None | Some(RunStatus::Skipped) => OutcomeStatus::Skipped,
            Some(RunStatus::Passed) if self.failed_before => OutcomeStatus::Flaky,
            Some(RunStatus::Passed) => OutcomeStatus::Passed,
            Some(RunStatus::Failed) => OutcomeStatus::Failed,
            Some(RunStatus::Errored) => OutcomeStatus::Errored,
        }
    }
}

/// The outcome of one identity's runs (see the module documentation for the policy).
pub fn outcome_of(test: TestIdentity, runs: Vec<Run>) -> TestOutcome {
    let status = final_status(runs.iter().map(|run| run.status));
    let duration_ms = runs.iter().map(|run| run.duration_ms).fold(0u64, u64::saturating_add);
    let count = u32::try_from(runs.len()).unwrap_or(u32::MAX).max(1);
    let failures = runs.into_iter().filter_map(|run| run.failure).collect();
    TestOutcome { test, status, runs: count, duration_ms, failures }
}

/// The final status of a sequence of runs.
pub fn final_status(runs: impl IntoIterator<Item = RunStatus>) -> OutcomeStatus {
    let mut fold = StatusFold::default();
    for status in runs {
        fold.add(status);
    }
    fold.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use RunStatus::*;

    #[test]
    fn retry_policy_decides_the_final_status() {
        let cases: &[(&[RunStatus], OutcomeStatus)] = &[
            (&[Passed], OutcomeStatus::Passed),
            (&[Failed], OutcomeStatus::Failed),
            (&[Errored], OutcomeStatus::Errored),
            (&[Skipped], OutcomeStatus::Skipped),
            (&[], OutcomeStatus::Skipped),
            (&[Failed, Passed], OutcomeStatus::Flaky),
            (&[Errored, Failed, Passed], OutcomeStatus::Flaky),
            (&[Failed, Failed, Failed], OutcomeStatus::Failed),
            (&[Passed, Failed], OutcomeStatus::Failed),
            (&[Passed, Passed], OutcomeStatus::Passed),
            (&[Skipped, Passed], OutcomeStatus::Passed),
            (&[Failed, Skipped], OutcomeStatus::Failed),
        ];
        for (runs, expected) in cases {
            assert_eq!(final_status(runs.iter().copied()), *expected, "{runs:?}");
        }
    }

    #[test]
    fn repeated_identities_fold_into_one_outcome_in_first_seen_order() {
        let id = |title: &str| TestIdentity { file: "a.spec.ts".into(), title_path: vec![title.into()] };
        let run = |status, failure: Option<&str>| Run {
            status,
            duration_ms: 10,
            failure: failure.map(|message| FailureDetail::new(message, None, None)),
        };
        let mut builder = OutcomeBuilder::default();
        builder.push(id("b"), [run(Failed, Some("Error: boom"))]);
        builder.push(id("a"), [run(Passed, None)]);
        builder.push(id("b"), [run(Passed, None)]);
        let outcomes = builder.finish();
        assert_eq!(outcomes.len(), 2);
        assert_eq!(outcomes[0].test, id("b"));
        assert_eq!(outcomes[0].status, OutcomeStatus::Flaky);
        assert_eq!(outcomes[0].runs, 2);
        assert_eq!(outcomes[0].duration_ms, 20);
        assert_eq!(outcomes[0].failures.len(), 1);
        assert_eq!(outcomes[1].status, OutcomeStatus::Passed);
    }

    #[test]
    fn ingest_items_carry_results_then_failures() {
        let test = TestIdentity { file: "a.spec.ts".into(), title_path: vec!["t".into()] };
        let report = ParsedReport {
            format: Format::Junit,
            tests: vec![TestOutcome {
                test: test.clone(),
                status: OutcomeStatus::Errored,
                runs: 3,
                duration_ms: 5,
                failures: vec![FailureDetail::new("Error: boom", Some("at x (a.ts:1:1)"), None)],
            }]
            .into(),
            counted_only: Counts { passed: 2, ..Counts::default() },
        };
        assert_eq!(report.counts().total(), 3);
        assert_eq!(report.runs(), 5);
        let items = report.to_ingest_items();
        assert_eq!(items.len(), 2);
        assert!(matches!(
            &items[0],
            IngestItem::TestResult { status: TestStatus::Failed, retries: 2, duration_ms: 5, .. }
        ));
        assert!(matches!(&items[1], IngestItem::Failure { message, .. } if message == "Error: boom"));
    }

    #[test]
    fn formats_round_trip_their_names() {
        for format in Format::ALL {
            assert_eq!(format.as_str().parse::<Format>().ok(), Some(format));
        }
        assert!("xml".parse::<Format>().is_err());
    }
}
