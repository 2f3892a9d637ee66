//! Evidence over real reports written by other projects (`../shared/corpus/reports/`, or `$ARGUS_CORPUS`):
//! every JUnit XML fixture of dorny/test-reporter is parsed and its counts are compared with the counts that
//! project rendered in `__tests__/__outputs__/*.md`; the Playwright JSON fixtures of
//! playwright-report-summary are compared with its `__snapshots__/report.test.ts.snap`.
//!
//! When the corpus is absent the tests print why and pass: the corpus is evidence, not a build input.

use argus_reports::{Counts, ParsedReport, ReportError, ReportLimits, parse_junit, parse_playwright};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus_root() -> Option<PathBuf> {
    let root = std::env::var_os("ARGUS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"));
    if root.join("reports").is_dir() {
        Some(root)
    } else {
        eprintln!(
            "skipping: no report corpus at {} (set ARGUS_CORPUS to the shared corpus folder to run this test)",
            root.display()
        );
        None
    }
}

/// Passed / failed / skipped as dorny/test-reporter renders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Oracle {
    passed: u64,
    failed: u64,
    skipped: u64,
}

/// Argus's counts folded into the oracle's three columns: that project has no "errored" (an `<error>` is a
/// failure there) and no "flaky" (it reads no retries).
fn as_oracle_columns(counts: Counts) -> Oracle {
    Oracle {
        passed: counts.passed + counts.flaky,
        failed: counts.failed + counts.errored,
        skipped: counts.skipped,
    }
}

/// `fixtures/…` path → counts, from the first table of every rendered summary:
/// `|[fixtures/jest-junit.xml](#user-content-r0)|1 ✅|4 ❌|1 ⚪|1s|`.
fn oracle_counts(outputs: &Path) -> BTreeMap<String, Oracle> {
    let mut oracle = BTreeMap::new();
    let mut entries: Vec<_> = std::fs::read_dir(outputs).expect("read __outputs__").flatten().collect();
    entries.sort_by_key(|entry| entry.path());
    for entry in entries {
        let text = std::fs::read_to_string(entry.path()).expect("read rendered summary");
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("|[fixtures/") else { continue };
            let Some((path, rest)) = rest.split_once("](#user-content-r") else { continue };
            let Some((anchor, cells)) = rest.split_once(")|") else { continue };
            if anchor.contains('s') {
                continue; // a per-suite row, not the report row
            }
            let cells: Vec<&str> = cells.split('|').collect();
            if cells.len() < 3 {
                continue;
            }
            let number = |cell: &str| -> u64 {
                cell.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0)
            };
            oracle.insert(
                path.to_owned(),
                Oracle { passed: number(cells[0]), failed: number(cells[1]), skipped: number(cells[2]) },
            );
        }
    }
    oracle
}

/// Where Argus knowingly differs from the oracle, and why: (fixture, Argus's counts in the oracle's columns).
/// Every entry is explained; a difference not listed here fails the test.
const EXPLAINED_DIFFERENCES: &[(&str, Oracle)] = &[
    // TestNG (via its JUnitReportReporter) writes one <testcase> per attempt. testVersionStrings appears
    // twice with the same suite, class and name: first <skipped/> (TestNG's retry analyzer marks a retried
    // attempt skipped), then <failure>. Argus's policy folds a repeated identity into one test with two runs
    // whose deciding run failed: 1 failed, 0 skipped. The oracle counts two tests.
    (
        "external/java/TEST-org.apache.pulsar.AddMissingPatchVersionTest.xml",
        Oracle { passed: 0, failed: 1, skipped: 0 },
    ),
    // Same reporter, 808 <testcase> elements but 670 unique (suite, class, name) identities: 39 tests were
    // retried (ReplicatorTest.testReplication, …), their extra attempts mostly written as skipped. Folded:
    // 666 passed + 1 failed + 3 skipped = 670 tests, runs = 808 (the oracle: 793 + 1 + 14 = 808).
    ("external/java/pulsar-test-report.xml", Oracle { passed: 666, failed: 1, skipped: 3 }),
    // jest's own suite: 4239 <testcase> elements, 4142 unique identities. jest allows two tests with the same
    // title in one describe (jest-each tables, `treat async and non-async functions as equivalent` ×4), and
    // jest-junit writes nothing that tells them apart, so Argus folds them as runs of one test: 4110 passed +
    // 2 failed + 30 skipped = 4142 tests, runs = 4239 (oracle 4207 + 2 + 30). None mixes pass and fail, so no
    // false flaky appears.
    ("external/jest/jest-test-results.xml", Oracle { passed: 4110, failed: 2, skipped: 30 }),
];
// Matches that hide a model difference, explained here because the columns agree:
// - junit4-complete.xml, python-xunit-unittest.xml, test-errors/jest/jest-test-results.xml have <error>
//   elements: Argus counts them as "errored", the oracle as failed (folded into one column above).
// - swift-xunit.xml: test_always_skip has no <skipped> element (Swift's xunit output cannot express a skip),
//   so both the oracle and Argus count it as passed.

/// Fixtures in the oracle that are not JUnit, so the JUnit parser must refuse them with a reason.
const NOT_JUNIT: &[&str] = &[
    // NUnit 3 (`<test-run>` with `<test-case result="…">`): a different schema, not a JUnit dialect.
    "dotnet-nunit.xml",
];

fn parse_fixture(path: &Path) -> Result<ParsedReport, ReportError> {
    let bytes = std::fs::read(path).expect("read fixture");
    parse_junit(&bytes, &ReportLimits::default())
}

#[test]
fn junit_counts_match_dorny_test_reporter_or_the_difference_is_explained() {
    let Some(root) = corpus_root() else { return };
    let tests_dir = root.join("reports/dorny-test-reporter/__tests__");
    let oracle = oracle_counts(&tests_dir.join("__outputs__"));
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for (fixture, expected) in &oracle {
        if !fixture.ends_with(".xml") {
            continue; // TRX, dart, golang, mocha, rspec JSON: not Argus formats
        }
        let path = tests_dir.join("fixtures").join(fixture);
        let parsed = parse_fixture(&path);
        if NOT_JUNIT.contains(&fixture.as_str()) {
            let error = parsed.expect_err("a non-junit schema is refused");
            assert!(matches!(error, ReportError::NotJunit(_)), "{fixture}: {error}");
            println!("{fixture:60} refused as expected: {error}");
            continue;
        }
        let report = parsed.unwrap_or_else(|error| panic!("{fixture}: {error}"));
        let counts = report.counts();
        let ours = as_oracle_columns(counts);
        let explained =
            EXPLAINED_DIFFERENCES.iter().find(|(name, _)| name == fixture).map(|(_, counts)| *counts);
        println!(
            "{fixture:60} oracle p/f/s {:>4}/{:>2}/{:>2}  argus p/f/e/s/flaky {:>4}/{:>2}/{:>2}/{:>2}/{} runs {}",
            expected.passed,
            expected.failed,
            expected.skipped,
            counts.passed,
            counts.failed,
            counts.errored,
            counts.skipped,
            counts.flaky,
            report.runs()
        );
        match explained {
            Some(explained) => {
                assert_ne!(ours, *expected, "{fixture}: listed as a difference but now matches the oracle");
                if ours != explained {
                    mismatches.push(format!("{fixture}: explained {explained:?}, got {ours:?}"));
                }
            }
            None if ours != *expected => {
                mismatches.push(format!("{fixture}: oracle {expected:?}, got {ours:?}"))
            }
            None => {}
        }
        compared += 1;
    }
    assert!(compared >= 18, "only {compared} junit fixtures compared");
    assert!(mismatches.is_empty(), "unexplained differences:\n{}", mismatches.join("\n"));
}

#[test]
fn junit_fixtures_without_an_oracle_parse_to_hand_counted_totals() {
    let Some(root) = corpus_root() else { return };
    let fixtures = root.join("reports/dorny-test-reporter/__tests__/fixtures");
    let counts = |passed, failed, skipped| Counts { passed, failed, errored: 0, skipped, flaky: 0 };
    // (fixture, counts, runs) — counted by hand from the files.
    let cases: &[(&str, Counts, u64)] = &[
        // Six <testcase>s, each with a <failure> whose body is only a path:line (PHP, Windows, phpt).
        ("phpunit/phpunit-paths.xml", counts(0, 6, 0), 6),
        // Suites without cases and without counts: nothing to count.
        ("empty/java-junit.xml", counts(0, 0, 0), 0),
        ("empty/jest-junit-empty-testsuite.xml", counts(0, 0, 0), 0),
        ("empty/jest-junit.xml", counts(0, 0, 0), 0),
        ("empty/phpunit-empty.xml", counts(0, 0, 0), 0),
        // launch_testing (ROS 2): the failure is an empty element whose message attribute holds the
        // traceback, with &#10; and &quot; entities.
        ("external/java/empty_failures.xml", counts(2, 1, 0), 3),
    ];
    for (fixture, expected, runs) in cases {
        let report =
            parse_fixture(&fixtures.join(fixture)).unwrap_or_else(|error| panic!("{fixture}: {error}"));
        assert_eq!(report.counts(), *expected, "{fixture}");
        assert_eq!(report.runs(), *runs, "{fixture}");
    }
    let report = parse_fixture(&fixtures.join("external/java/empty_failures.xml")).expect("parses");
    let failure = &report.tests[1].failures[0];
    assert!(failure.message.ends_with("AssertionError: True is not false"), "{:?}", failure.message);
    assert_eq!(failure.error_kind, argus_vocabulary::ErrorKind::Assertion);
    let nunit = parse_fixture(&fixtures.join("external/nunit-sample.xml")).expect_err("nunit is not junit");
    assert!(matches!(nunit, ReportError::NotJunit(_)), "{nunit}");
}

/// Counts by Playwright's own per-test `status` (expected / unexpected / flaky / skipped), read from the
/// raw JSON independently of the parser.
fn playwright_own_counts(json: &serde_json::Value) -> Counts {
    fn walk(suite: &serde_json::Value, counts: &mut Counts) {
        for spec in suite["specs"].as_array().into_iter().flatten() {
            for test in spec["tests"].as_array().into_iter().flatten() {
                match test["status"].as_str() {
                    Some("expected") => counts.passed += 1,
                    Some("unexpected") => counts.failed += 1,
                    Some("flaky") => counts.flaky += 1,
                    _ => counts.skipped += 1,
                }
            }
        }
        for nested in suite["suites"].as_array().into_iter().flatten() {
            walk(nested, counts);
        }
    }
    let mut counts = Counts::default();
    for suite in json["suites"].as_array().into_iter().flatten() {
        walk(suite, &mut counts);
    }
    counts
}

#[test]
fn playwright_reports_match_the_summary_snapshot_and_playwrights_own_statuses() {
    let Some(root) = corpus_root() else { return };
    let dir = root.join("reports/playwright-report-summary/__tests__");
    let read = |name: &str| std::fs::read(dir.join("__fixtures__").join(name)).expect("read fixture");

    // The snapshot renders report-valid.json: "2 failed", "10 passed", "1 flaky", "1 skipped",
    // "14 tests across 4 suites", and names the failed tests "project › file › describe › title".
    let snapshot =
        std::fs::read_to_string(dir.join("__snapshots__/report.test.ts.snap")).expect("read snapshot");
    let count_of = |label: &str| -> u64 {
        let marker = format!(" {label}**");
        let at = snapshot.find(&marker).unwrap_or_else(|| panic!("snapshot has no {label:?} count"));
        let digits: String = snapshot[..at]
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        digits.parse().expect("a count")
    };
    let valid = parse_playwright(&read("report-valid.json"), &ReportLimits::default()).expect("parses");
    let counts = valid.counts();
    assert_eq!(counts.failed, count_of("failed"));
    assert_eq!(counts.passed, count_of("passed"));
    assert_eq!(counts.flaky, count_of("flaky"));
    assert_eq!(counts.skipped, count_of("skipped"));
    assert!(snapshot.contains(&format!("{} tests across 4 suites", counts.total())));
    for outcome in valid.tests.iter().filter(|outcome| outcome.status == argus_reports::OutcomeStatus::Failed)
    {
        let (project, titles) = outcome.test.title_path.split_first().expect("a project and titles");
        let rendered = format!("{project} › {} › {}", outcome.test.file, titles.join(" › "));
        assert!(snapshot.contains(&rendered), "snapshot lists no failed test {rendered:?}");
    }
    // adds failed 5 times (4 retries) in each of two projects; multiplies failed twice then passed.
    assert_eq!(valid.runs(), 14 + 2 * 4 + 2);

    for name in
        ["report-valid.json", "report-without-duration.json", "report-nested.json", "report-sharded.json"]
    {
        let bytes = read(name);
        let report = parse_playwright(&bytes, &ReportLimits::default())
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(report.counts(), playwright_own_counts(&json), "{name}");
        println!("{name:32} {:?} runs {}", report.counts(), report.runs());
    }

    let invalid =
        parse_playwright(&read("report-invalid.json"), &ReportLimits::default()).expect_err("refused");
    assert!(matches!(invalid, ReportError::NotPlaywright(_)), "{invalid}");
}
