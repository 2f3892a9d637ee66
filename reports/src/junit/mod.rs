//! JUnit XML, every dialect seen in the wild: `<testsuites>`, bare `<testsuite>` and `<testrun>` roots,
//! nested suites (PHPUnit), Surefire reruns (`flakyFailure`, `rerunFailure`, `flakyError`, `rerunError`),
//! jest-junit, pytest and unittest xunit, Nette Tester, Swift, nextest, Playwright's junit reporter, Bazel
//! logs in CDATA, missing attributes, timestamps without a zone, entities and astral characters.
//!
//! One quick-xml pass (the `scan` module) checks the input (no DTDs; depth, size and case limits; line and column
//! on every error) and builds the outcomes as it goes: no tree is built, values without entities stay
//! borrowed from the report, each case is folded into its identity's outcome as soon as it closes. The
//! element rules are the tolerant ones of `junit-parser`, the reader this pass replaced (unknown elements
//! and attributes are skipped, every attribute is optional). Argus owns the policy:
//! - several status elements in one case: error > failure > skipped;
//! - the same test identity repeated in one report = retries of one test; failed then passed = flaky
//!   ([`crate::model::OutcomeBuilder`]); Surefire's flaky/rerun elements are runs too;
//! - a suite with counts but no `<testcase>` keeps its counts ([`ParsedReport::counted_only`]);
//! - a case whose `status`/`result` attribute says it did not run (`notrun`, `disabled`, `suppressed`,
//!   `skipped`, …) counts as a skipped status: skipped unless a status element outranks it;
//! - an unreadable duration (`time="<<computed>>"`, `1,5`) is read as best it can be, else 0: it never
//!   makes a report unreadable (counts that are not numbers still do);
//! - a case with no name at all has no identity to repeat: each one is its own test (`(unnamed)`,
//!   `(unnamed 2)`, …), never a retry of the previous one.
//!
//! Identity. `file` is the case's `file` attribute, else the nearest suite's, else the `classname` (unless it
//! merely repeats the case name, as jest-junit's default does), else the nearest suite name. The title path
//! is the suite names (minus the root `<testsuites>`, and minus names equal to the file or the class), then
//! the class (unless it is the file or the name), then the case name split on " › ". Playwright's junit
//! reporter (one suite per file, `hostname` = project, `classname` = file) yields `[project, describe…,
//! title]`, the same identity the Playwright JSON parser gives.

mod scan;

use crate::model::{FailureDetail, OutcomeBuilder, ParsedReport, Run, RunStatus};
use crate::{Format, ReportError, ReportLimits};
use argus_vocabulary::TestIdentity;
use scan::{StatusElement, StatusKind};
use std::borrow::Cow;

/// Parses a JUnit XML report.
pub fn parse_junit(bytes: &[u8], limits: &ReportLimits) -> Result<ParsedReport, ReportError> {
    if bytes.len() > limits.max_bytes {
        return Err(ReportError::TooLarge { size: bytes.len(), limit: limits.max_bytes });
    }
    let text = decode_text(bytes);
    if text.trim().is_empty() {
        return Err(ReportError::Empty);
    }
    let built = scan::walk(&text, limits)?;
    Ok(ParsedReport {
        format: Format::Junit,
        tests: built.builder.finish(),
        counted_only: built.counted_only,
    })
}

/// The report as text: a UTF-8 byte order mark dropped, UTF-16 (with its mark) decoded, invalid UTF-8
/// replaced (a Latin-1 report still parses; binary garbage then fails as "not junit").
pub(crate) fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest);
    }
    let utf16 = |rest: &[u8], from: fn([u8; 2]) -> u16| {
        let units: Vec<u16> = rest.chunks_exact(2).map(|pair| from([pair[0], pair[1]])).collect();
        Cow::Owned(String::from_utf16_lossy(&units))
    };
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes);
    }
    // Valid UTF-8 (nearly every report) is checked with a SIMD validator; only invalid input pays for the
    // replacement pass.
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// The suite context a case inherits (values trimmed; empty file and hostname are absent).
#[derive(Debug, Clone, Default)]
struct SuiteContext<'a> {
    name: Cow<'a, str>,
    file: Option<Cow<'a, str>>,
    hostname: Option<Cow<'a, str>>,
    /// Whether the name is a file path ([`looks_like_a_file`]), decided once per suite.
    name_is_a_file: bool,
}

/// The attributes of a `<testcase>` that Argus reads.
#[derive(Debug, Clone, Default)]
struct CaseAttributes<'a> {
    name: Cow<'a, str>,
    classname: Option<Cow<'a, str>>,
    file: Option<Cow<'a, str>>,
    /// Seconds (0 when absent or unreadable: a duration never decides whether a report is read).
    time: f64,
    /// Whether a `status` or `result` attribute says the case did not run (GoogleTest's `notrun` and
    /// `suppressed`, `disabled`, `skipped`, `ignored`): with no status element, the case is skipped.
    not_run: bool,
}

/// Whether a case's `status` or `result` attribute value says it did not run.
pub(crate) fn says_not_run(value: &str) -> bool {
    const NOT_RUN: [&str; 7] = ["disabled", "notrun", "not run", "skipped", "skip", "ignored", "suppressed"];
    let value = value.trim();
    NOT_RUN.iter().any(|word| value.eq_ignore_ascii_case(word))
}

/// A duration attribute as seconds: the usual decimal, a decimal comma (`1,5`), else 0. An unreadable
/// duration (`<<computed>>`, `NaN`) costs the case its duration, not the report its counts.
pub(crate) fn lenient_seconds(value: &str) -> f64 {
    let value = value.trim();
    let seconds = value.parse::<f64>().ok().or_else(|| value.replacen(',', ".", 1).parse::<f64>().ok());
    seconds.filter(|seconds| seconds.is_finite() && *seconds >= 0.0).unwrap_or(0.0)
}

/// Records the runs of a case under its identity inside the given suites (outermost first); see the module
/// documentation for the identity. The identity is written straight into the builder's text, from the
/// case's and suites' attributes, without building a [`TestIdentity`].
fn push_case<'s, 'a: 's>(
    builder: &mut OutcomeBuilder,
    unnamed_cases: &mut usize,
    case: &CaseAttributes<'_>,
    suites: impl DoubleEndedIterator<Item = &'s SuiteContext<'a>> + Clone,
    runs: impl IntoIterator<Item = Run>,
) {
    let nearest = suites.clone().next_back();
    let classname = non_empty(case.classname.as_deref());
    let name = case.name.trim();
    // jest-junit's default classname repeats the name: then it says nothing about the file.
    let classname_is_name = classname == Some(name);
    let nearest_suite_name =
        suites.clone().rev().map(|suite| suite.name.as_ref()).find(|name| !name.is_empty());
    let file = non_empty(case.file.as_deref())
        .or_else(|| suites.clone().rev().find_map(|suite| suite.file.as_deref()))
        .or(classname.filter(|_| !classname_is_name))
        .or(nearest_suite_name)
        .or(classname)
        .unwrap_or("unknown");
    builder.begin_identity(file);
    let mut titles = 0usize;
    let mut title = |title: &str| {
        builder.push_title(title);
        titles += 1;
    };
    let playwright = nearest.is_some_and(|suite| {
        suite.hostname.is_some() && suite.name_is_a_file && classname == Some(suite.name.as_ref())
    });
    if playwright {
        // Playwright's junit reporter: hostname is the project, classname and suite name the file.
        if let Some(hostname) = nearest.and_then(|suite| suite.hostname.as_deref()) {
            title(hostname);
        }
    } else {
        let mut last: Option<&str> = None;
        for suite in suites {
            let name = suite.name.as_ref();
            let redundant = name.is_empty() || name == file || Some(name) == classname || last == Some(name);
            if !redundant {
                title(name);
                last = Some(name);
            }
        }
        if let Some(classname) = classname
            && classname != file
            && !classname_is_name
            && last != Some(classname)
        {
            title(classname);
        }
    }
    // The case name split on " › ", parts trimmed, empty ones dropped (without a '›' it is one part).
    // '›' is U+203A, encoded E2 80 BA: without an 0xE2 byte there is no separator to look for.
    if memchr::memchr(0xE2, case.name.as_bytes()).is_some() && case.name.contains('›') {
        for part in case.name.split(TestIdentity::TITLE_SEPARATOR).map(str::trim) {
            if !part.is_empty() {
                title(part);
            }
        }
    } else if !name.is_empty() {
        title(name);
    }
    if titles == 0 {
        // A case without any name has no identity to repeat: it is not a retry of the previous unnamed
        // case, so each one gets its own title, numbered in report order from the second on.
        *unnamed_cases += 1;
        if *unnamed_cases == 1 {
            builder.push_title("(unnamed)");
        } else {
            builder.push_title(&format!("(unnamed {unnamed_cases})"));
        }
    }
    builder.finish_identity(runs);
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

/// Whether a suite name is a file path (`tests/login.spec.ts`), as Playwright names its file suites.
fn looks_like_a_file(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(stem, extension)| {
        !stem.is_empty()
            && !extension.is_empty()
            && extension.len() <= 4
            && extension.chars().all(char::is_alphanumeric)
    })
}

/// The runs of one `<testcase>`, appended to `runs`: Surefire's flaky runs (before), the deciding run,
/// Surefire's reruns (after).
fn runs(case: &CaseAttributes<'_>, statuses: &mut [StatusElement<'_>], runs: &mut Vec<Run>) {
    let priority = |kind: StatusKind| match kind {
        StatusKind::Error => 3,
        StatusKind::Failure => 2,
        StatusKind::Skipped => 1,
        _ => 0,
    };
    // The first status of the highest priority.
    let mut deciding: Option<usize> = None;
    for (at, status) in statuses.iter().enumerate() {
        let rank = priority(status.kind);
        if rank > 0 && deciding.is_none_or(|best| priority(statuses[best].kind) < rank) {
            deciding = Some(at);
        }
    }
    let failed_run = |status: &mut StatusElement<'_>, run_status, duration_ms| Run {
        status: run_status,
        duration_ms,
        failure: Some(failure_detail(status)),
    };
    let duration_ms = seconds_to_ms(case.time);
    for status in statuses.iter_mut() {
        match status.kind {
            StatusKind::FlakyFailure => runs.push(failed_run(status, RunStatus::Failed, 0)),
            StatusKind::FlakyError => runs.push(failed_run(status, RunStatus::Errored, 0)),
            _ => {}
        }
    }
    runs.push(match deciding.and_then(|at| statuses.get_mut(at)) {
        None if case.not_run => Run { status: RunStatus::Skipped, duration_ms, failure: None },
        None => Run { status: RunStatus::Passed, duration_ms, failure: None },
        Some(status) => match status.kind {
            StatusKind::Error => failed_run(status, RunStatus::Errored, duration_ms),
            StatusKind::Failure => failed_run(status, RunStatus::Failed, duration_ms),
            _ => Run { status: RunStatus::Skipped, duration_ms, failure: None },
        },
    });
    for status in statuses.iter_mut() {
        match status.kind {
            StatusKind::RerunFailure => runs.push(failed_run(status, RunStatus::Failed, 0)),
            StatusKind::RerunError => runs.push(failed_run(status, RunStatus::Errored, 0)),
            _ => {}
        }
    }
}

fn seconds_to_ms(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        // Saturating float-to-int conversion; durations are never negative.
        (seconds * 1000.0).round() as u64
    } else {
        0
    }
}

/// A status element as a failure: the `message` attribute, else the first line of the text, else the type.
/// The element's text becomes the stack; it is moved out of the element (each element yields at most one
/// run), so a text already built from several pieces is not copied again.
fn failure_detail(status: &mut StatusElement<'_>) -> FailureDetail {
    let message = if status.message.trim().is_empty() {
        let message = status
            .text
            .trim()
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .or(Some(status.error_type.trim()).filter(|error_type| !error_type.is_empty()))
            .unwrap_or(match status.kind {
                StatusKind::Error | StatusKind::FlakyError | StatusKind::RerunError => "error",
                _ => "failure",
            });
        FailureDetail::clean_message(message)
    } else {
        // The attribute is moved, not copied, when it is already an owned, clean string.
        FailureDetail::clean_owned_message(std::mem::take(&mut status.message))
    };
    let stack = (!status.text.trim().is_empty()).then(|| std::mem::take(&mut status.text));
    FailureDetail::from_clean_message(message, stack, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Counts, OutcomeStatus};

    fn parse(xml: &str) -> ParsedReport {
        parse_junit(xml.as_bytes(), &ReportLimits::default()).expect("parses")
    }

    #[test]
    fn error_beats_failure_beats_skipped_whatever_the_order() {
        let report = parse(
            r#"<testsuite name="s"><testcase classname="C" name="t">
                 <skipped/><error message="boom &lt;1&gt;" type="E">trace &amp; more</error><failure message="f"/>
               </testcase></testsuite>"#,
        );
        assert_eq!(report.tests.len(), 1);
        let outcome = &report.tests[0];
        assert_eq!(outcome.status, OutcomeStatus::Errored);
        assert_eq!(outcome.failures[0].message, "boom <1>");
        assert_eq!(outcome.failures[0].stack.as_deref(), Some("trace & more"));
    }

    #[test]
    fn failed_then_passed_repeated_case_is_flaky() {
        let report = parse(
            r#"<testsuites><testsuite name="s">
                 <testcase classname="C" name="t"><failure message="first"/></testcase>
                 <testcase classname="C" name="t"/>
                 <testcase classname="C" name="u"/>
               </testsuite></testsuites>"#,
        );
        assert_eq!(report.tests.len(), 2);
        assert_eq!(report.tests[0].status, OutcomeStatus::Flaky);
        assert_eq!(report.tests[0].runs, 2);
        assert_eq!(report.runs(), 3);
    }

    #[test]
    fn suite_counts_without_cases_are_kept() {
        let report = parse(
            r#"<testsuites><testsuite name="s" tests="5" failures="1" errors="1" skipped="1"/></testsuites>"#,
        );
        assert!(report.tests.is_empty());
        assert_eq!(report.counts(), Counts { passed: 2, failed: 1, errored: 1, skipped: 1, flaky: 0 });
    }

    /// The first reading skips blank text; an error is reported from a second reading that does not, so
    /// positions still point at the tags, after the blanks.
    #[test]
    fn errors_name_the_positions_of_their_tags_after_blank_text() {
        let limits = ReportLimits::default();
        let bad_number = "<testsuites>\n  <testsuite name=\"s\">\n    <testsuite name=\"n\" tests=\"soon\"></testsuite>\n  </testsuite>\n</testsuites>\n";
        match parse_junit(bad_number.as_bytes(), &limits) {
            Err(ReportError::InvalidNumber { line, column, .. }) => assert_eq!((line, column), (3, 5)),
            other => panic!("expected an invalid number, got {other:?}"),
        }
        let truncated = "<testsuites>\n  <testsuite name=\"s\">\n    <testcase name=\"a\">\n      ";
        match parse_junit(truncated.as_bytes(), &limits) {
            Err(ReportError::Truncated { element, opened_line, opened_column, .. }) => {
                assert_eq!((element.as_str(), opened_line, opened_column), ("testcase", 3, 5));
            }
            other => panic!("expected a truncated report, got {other:?}"),
        }
        let doctype = "\n\n   <!DOCTYPE x>\n<testsuite/>";
        match parse_junit(doctype.as_bytes(), &limits) {
            Err(ReportError::DoctypeRefused { line, column }) => assert_eq!((line, column), (3, 4)),
            other => panic!("expected a refused doctype, got {other:?}"),
        }
    }

    /// Blank text inside a failure is kept as written, blank text between elements is not read.
    #[test]
    fn blank_text_inside_failures_is_kept() {
        let report = parse(
            "<testsuite name=\"s\">\n  <testcase name=\"t\">\n    <failure>  a &amp;  b\n <stackTrace>  at x  </stackTrace>  c  </failure>\n  </testcase>\n</testsuite>",
        );
        let failure = &report.tests[0].failures[0];
        assert_eq!(failure.message, "a &  b");
        assert_eq!(failure.stack.as_deref(), Some("a &  b\n   at x    c"));
    }

    #[test]
    fn decoding_handles_boms_and_utf16() {
        assert_eq!(decode_text(b"\xEF\xBB\xBF<a/>"), "<a/>");
        let utf16: Vec<u8> =
            [0xFF, 0xFE].into_iter().chain("<a/>".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(decode_text(&utf16), "<a/>");
    }
}
