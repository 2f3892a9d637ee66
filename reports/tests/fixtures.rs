//! Argus's own fixtures (written for this crate, `tests/fixtures/`): one per JUnit dialect the issue lists,
//! Playwright JSON with `stats` and sharded, and hostile inputs (XXE, billion laughs, external DTD, deep
//! nesting, truncation, garbage). Each test reads a file and checks the values it must yield.

use argus_reports::{
    Counts, OutcomeStatus, ParsedReport, ReportError, ReportLimits, TestOutcome, parse_junit,
    parse_playwright,
};
use argus_vocabulary::{ErrorKind, IngestItem, ProjectId};
use std::path::Path;

fn fixture(relative: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

fn junit(relative: &str) -> ParsedReport {
    parse_junit(&fixture(relative), &ReportLimits::default())
        .unwrap_or_else(|error| panic!("{relative}: {error}"))
}

fn junit_error(relative: &str) -> ReportError {
    parse_junit(&fixture(relative), &ReportLimits::default()).expect_err("refused")
}

fn counts(passed: u64, failed: u64, errored: u64, skipped: u64, flaky: u64) -> Counts {
    Counts { passed, failed, errored, skipped, flaky }
}

fn find<'a>(report: &'a ParsedReport, key: &str) -> &'a TestOutcome {
    report.tests.iter().find(|outcome| outcome.test.key() == key).unwrap_or_else(|| {
        let keys: Vec<String> = report.tests.iter().map(|outcome| outcome.test.key()).collect();
        panic!("no test {key:?} in {keys:#?}")
    })
}

#[test]
fn surefire_flaky_and_rerun_elements_are_runs() {
    let report = junit("junit/surefire-reruns.xml");
    assert_eq!(report.counts(), counts(1, 1, 0, 0, 2));
    let flaky = find(&report, "com.shop.CheckoutTest › paysByCard");
    assert_eq!((flaky.status, flaky.runs), (OutcomeStatus::Flaky, 2));
    assert_eq!(flaky.failures[0].message, "expected: <3> but was: <2>");
    assert_eq!(
        flaky.failures[0].stack.as_deref(),
        Some(
            "org.opentest4j.AssertionFailedError: expected: <3> but was: <2>\n\tat com.shop.CheckoutTest.paysByCard(CheckoutTest.java:42)"
        ),
        "the stackTrace child is the stack; system-out is not"
    );
    let failed = find(&report, "com.shop.CheckoutTest › refunds");
    assert_eq!((failed.status, failed.runs, failed.failures.len()), (OutcomeStatus::Failed, 3, 3));
    assert_eq!(failed.failures[0].error_kind, ErrorKind::Network);
    let coupon = find(&report, "com.shop.CheckoutTest › appliesCoupon");
    assert_eq!((coupon.status, coupon.runs), (OutcomeStatus::Flaky, 3));
    assert_eq!(report.runs(), 2 + 3 + 3 + 1);
}

#[test]
fn jest_junit_uses_classnames_and_splits_title_paths() {
    let report = junit("junit/jest-junit.xml");
    assert_eq!(report.counts(), counts(2, 1, 0, 1, 0));
    // No file attribute, and the classname only repeats the name: the suite is the file.
    let failed = find(&report, "cart › cart › totals shows the sum");
    assert_eq!(failed.test.title_path, ["cart", "totals shows the sum"]);
    assert_eq!(failed.failures[0].error_kind, ErrorKind::Assertion);
    assert_eq!(failed.failures[0].message, "Error: expect(received).toBe(expected) // Object.is equality");
    assert_eq!(failed.duration_ms, 1200);
}

#[test]
fn pytest_xunit_keeps_files_parameters_skips_xfails_and_setup_errors() {
    let report = junit("junit/pytest.xml");
    assert_eq!(report.counts(), counts(2, 1, 1, 2, 0));
    let parametrised = find(&report, "tests/test_cart.py › pytest › tests.test_cart › test_add[cup]");
    assert_eq!(parametrised.failures[0].message, "assert 12 == 10");
    assert!(
        parametrised.failures[0].stack.as_deref().is_some_and(|stack| stack.contains("> ")),
        "&gt; decoded"
    );
    let setup = find(&report, "tests/test_db.py › pytest › tests.test_db › test_connect");
    assert_eq!(setup.status, OutcomeStatus::Errored);
    assert_eq!(setup.failures[0].error_kind, ErrorKind::Network);
}

#[test]
fn unittest_xmlrunner_tracebacks_are_assertions() {
    let report = junit("junit/unittest-xmlrunner.xml");
    assert_eq!(report.counts(), counts(1, 1, 0, 1, 0));
    let failed = find(
        &report,
        "tests/test_price.py › tests.test_price.PriceTest-20240601120000 › tests.test_price.PriceTest › test_discount",
    );
    assert_eq!(failed.failures[0].error_kind, ErrorKind::Assertion);
}

#[test]
fn phpunit_nested_suites_with_data_sets_are_distinct_tests() {
    let report = junit("junit/phpunit-nested.xml");
    assert_eq!(report.counts(), counts(3, 1, 0, 0, 0));
    let failed = find(
        &report,
        "/app/tests/CartTest.php › Shop Test Suite › Tests\\CartTest › Tests\\CartTest::testTotal › Tests.CartTest › testTotal with data set \"empty\"",
    );
    assert_eq!(failed.failures[0].message, "Tests\\CartTest::testTotal with data set \"empty\"");
    assert_eq!(failed.failures[0].error_kind, ErrorKind::Assertion);
}

#[test]
fn nette_tester_and_swift_and_testrun_roots_parse() {
    // Nette: the suite declares errors="1" but writes a <failure>; the elements decide.
    assert_eq!(junit("junit/nette-tester.xml").counts(), counts(1, 1, 0, 1, 0));
    // Swift's xunit cannot express a skip: testSkipped has no element, so it passed.
    assert_eq!(junit("junit/swift-xunit.xml").counts(), counts(2, 1, 0, 0, 0));
    let testrun = junit("junit/testrun-root.xml");
    assert_eq!(testrun.counts(), counts(1, 1, 0, 0, 0));
    assert_eq!(
        find(&testrun, "shop.CartTest › totals").failures[0].message,
        "java.lang.AssertionError: expected:<10> but was:<12>"
    );
}

#[test]
fn nextest_flaky_and_rerun_failures_are_runs() {
    let report = junit("junit/nextest.xml");
    assert_eq!(report.counts(), counts(1, 1, 0, 0, 1));
    assert_eq!(find(&report, "shop::cart › tests::adds").status, OutcomeStatus::Flaky);
    let removes = find(&report, "shop::cart › tests::removes");
    assert_eq!((removes.runs, removes.failures[0].error_kind), (2, ErrorKind::Assertion));
}

#[test]
fn playwright_junit_gives_the_same_identity_as_playwright_json() {
    let report = junit("junit/playwright-junit.xml");
    assert_eq!(report.counts(), counts(3, 1, 0, 1, 0));
    let failed = find(&report, "checkout.spec.ts › chromium › checkout › pays by card");
    assert_eq!(failed.failures[0].error_kind, ErrorKind::LocatorNotFound);
    assert_eq!(failed.failures[0].locator.as_deref(), Some("getByRole('button', { name: 'Pay now' })"));
    // The same test in another project is another test, not a retry.
    assert_eq!(
        find(&report, "checkout.spec.ts › firefox › checkout › pays by card").status,
        OutcomeStatus::Passed
    );
}

#[test]
fn bazel_logs_in_cdata_do_not_disturb_the_case() {
    let report = junit("junit/bazel.xml");
    assert_eq!(report.counts(), counts(0, 0, 1, 0, 0));
    // Bazel names suite and case after the target; the suite name stands in for the file.
    let outcome = find(&report, "//shop/cart:cart_test › //shop/cart:cart_test");
    assert_eq!(outcome.failures[0].message, "exited with error code 1");
    assert_eq!(outcome.duration_ms, 3000);
}

#[test]
fn missing_attributes_are_tolerated() {
    let report = junit("junit/missing-attributes.xml");
    assert_eq!(report.counts(), counts(2, 1, 1, 0, 0));
    let unnamed = find(&report, "unknown › (unnamed)");
    assert_eq!(unnamed.failures[0].message, "failure");
}

#[test]
fn entities_and_astral_characters_survive() {
    let report = junit("junit/entities-astral.xml");
    assert_eq!(report.counts(), counts(2, 1, 0, 0, 0));
    find(&report, "i18n › i18n & emoji › renders 𝄞 clef");
    find(&report, "i18n › i18n & emoji › renders 😀 & 😀");
    let failed = find(&report, "i18n › i18n & emoji › escapes <b>");
    assert_eq!(failed.failures[0].message, "expected \"<b>😀</b>\"");
    let stack = failed.failures[0].stack.as_deref().expect("a body");
    assert!(stack.contains("1) <b class=\"emoji\">😀</b>\n"), "{stack}");
    assert!(stack.ends_with("café & more"), "{stack}");
    assert_eq!(failed.failures[0].locator.as_deref(), Some("b.emoji"));
}

#[test]
fn suites_with_counts_and_no_cases_keep_their_counts() {
    let report = junit("junit/counts-only.xml");
    assert_eq!(report.tests.len(), 2);
    assert_eq!(report.counts(), counts(4, 1, 0, 2, 0));
    assert_eq!(report.runs(), 7);
    // Counted-only tests have no identity, so they yield no ingest item.
    assert_eq!(report.to_ingest_items().len(), 2);
}

#[test]
fn several_status_elements_follow_error_over_failure_over_skipped_and_repeats_are_retries() {
    let report = junit("junit/multi-status.xml");
    let status = |key: &str| find(&report, key).status;
    assert_eq!(status("policy › failure then error"), OutcomeStatus::Errored);
    assert_eq!(find(&report, "policy › failure then error").failures[0].message, "then an error");
    assert_eq!(status("policy › skipped then failure"), OutcomeStatus::Failed);
    assert_eq!(status("policy › error then skipped"), OutcomeStatus::Errored);
    let retried = find(&report, "policy › retried");
    assert_eq!((retried.status, retried.runs, retried.failures.len()), (OutcomeStatus::Flaky, 3, 2));
    assert_eq!(report.counts(), counts(0, 1, 2, 0, 1));
}

#[test]
fn every_fixture_converts_into_ingest_items_and_a_consistent_summary() {
    let project = ProjectId::parse("shop").expect("valid");
    for name in [
        "surefire-reruns",
        "jest-junit",
        "pytest",
        "unittest-xmlrunner",
        "phpunit-nested",
        "nette-tester",
        "swift-xunit",
        "nextest",
        "playwright-junit",
        "bazel",
        "testrun-root",
        "missing-attributes",
        "entities-astral",
        "counts-only",
        "multi-status",
    ] {
        let report = junit(&format!("junit/{name}.xml"));
        let summary = report.summary(&project);
        let sum = summary.passed + summary.failed + summary.errored + summary.skipped + summary.flaky;
        assert_eq!(sum, summary.tests, "{name}");
        let items = report.to_ingest_items();
        let failures = items.iter().filter(|item| matches!(item, IngestItem::Failure { .. })).count();
        assert_eq!(failures, summary.failures.len(), "{name}");
        for item in &items {
            let (IngestItem::TestResult { test, .. } | IngestItem::Failure { test, .. }) = item else {
                continue;
            };
            assert!(!test.file.trim().is_empty() && !test.title_path.is_empty(), "{name}: {test:?}");
            assert!(test.title_path.iter().all(|title| !title.trim().is_empty()), "{name}: {test:?}");
        }
    }
}

#[test]
fn playwright_json_with_stats_errors_and_expected_failures() {
    let report =
        parse_playwright(&fixture("playwright/with-stats.json"), &ReportLimits::default()).expect("parses");
    // stats says expected 1, skipped 1, unexpected 1, flaky 1.
    assert_eq!(report.counts(), counts(1, 1, 0, 1, 1));
    let failed = find(&report, "checkout.spec.ts › chromium › checkout › pays by card");
    assert_eq!(failed.runs, 2);
    assert_eq!(failed.duration_ms, 35211);
    assert_eq!(failed.failures[0].error_kind, ErrorKind::LocatorNotFound);
    assert_eq!(failed.failures[0].locator.as_deref(), Some("getByRole('button', { name: 'Pay now' })"));
    assert_eq!(failed.failures[0].location.as_deref(), Some("/ci/shop/tests/checkout.spec.ts:9:58"));
    assert!(!failed.failures[0].message.contains('\u{1b}'));
    assert_eq!(failed.failures[1].error_kind, ErrorKind::Timeout);
    assert_eq!(
        find(&report, "checkout.spec.ts › webkit › checkout › pays by card").status,
        OutcomeStatus::Flaky
    );
    assert_eq!(
        find(&report, "checkout.spec.ts › chromium › checkout › is known to fail").status,
        OutcomeStatus::Passed
    );
    assert_eq!(
        find(&report, "checkout.spec.ts › chromium › checkout › coupons › applies 10%").status,
        OutcomeStatus::Skipped
    );
}

#[test]
fn a_playwright_shard_without_projects_or_results_still_counts_every_test() {
    let report =
        parse_playwright(&fixture("playwright/shard-2-of-2.json"), &ReportLimits::default()).expect("parses");
    assert_eq!(report.counts(), counts(1, 1, 0, 1, 0));
    assert_eq!(find(&report, "cart.spec.ts › never ran").status, OutcomeStatus::Skipped);
    let interrupted = find(&report, "cart.spec.ts › was interrupted");
    assert_eq!(interrupted.failures[0].message, "test interrupted");
}

// ---- hostile inputs ---------------------------------------------------------------------------------

#[test]
fn xxe_is_refused_before_any_entity_is_resolved() {
    let error = junit_error("hostile/xxe.xml");
    assert_eq!(error, ReportError::DoctypeRefused { line: 2, column: 1 });
    assert!(error.to_string().contains("no internal or external entity expansion"), "{error}");
}

#[test]
fn billion_laughs_is_refused_instantly() {
    let started = std::time::Instant::now();
    assert!(matches!(junit_error("hostile/billion-laughs.xml"), ReportError::DoctypeRefused { line: 2, .. }));
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn an_external_dtd_is_refused() {
    assert!(matches!(
        junit_error("hostile/external-dtd.xml"),
        ReportError::DoctypeRefused { line: 2, column: 1 }
    ));
}

#[test]
fn ten_thousand_nested_elements_are_refused_at_the_depth_limit() {
    let depth = 10_000;
    let xml =
        format!("<testsuites>{}{}</testsuites>", "<testsuite>".repeat(depth), "</testsuite>".repeat(depth));
    let error = parse_junit(xml.as_bytes(), &ReportLimits::default()).expect_err("too deep");
    assert!(matches!(error, ReportError::TooDeep { limit: 128, line: 1, .. }), "{error}");
    let shallow = ReportLimits { max_depth: 3, ..ReportLimits::default() };
    let error = parse_junit(fixture("junit/jest-junit.xml").as_slice(), &shallow).expect_err("too deep");
    assert!(
        error.to_string().starts_with("elements nest deeper than 3 levels at line 6, column 7"),
        "{error}"
    );
}

#[test]
fn size_and_case_limits_are_enforced() {
    let small = ReportLimits { max_bytes: 100, ..ReportLimits::default() };
    assert!(matches!(
        parse_junit(&fixture("junit/jest-junit.xml"), &small),
        Err(ReportError::TooLarge { limit: 100, .. })
    ));
    let few = ReportLimits { max_testcases: 3, ..ReportLimits::default() };
    assert_eq!(
        parse_junit(&fixture("junit/jest-junit.xml"), &few),
        Err(ReportError::TooManyTestcases { limit: 3 })
    );
}

#[test]
fn truncated_input_names_where_it_ends_and_what_is_open() {
    let error = junit_error("hostile/truncated.xml");
    assert_eq!(
        error.to_string(),
        "truncated report: the input ends at line 7, column 1 inside <failure> opened at line 6, column 7"
    );
}

#[test]
fn malformed_xml_undefined_entities_and_bad_numbers_name_their_position() {
    let error = junit_error("hostile/mismatched.xml");
    assert!(matches!(error, ReportError::MalformedXml { line: 3, .. }), "{error}");
    let error = junit_error("hostile/undefined-entity.xml");
    assert!(matches!(error, ReportError::MalformedXml { line: 1, column: 21, .. }), "{error}");
    assert!(error.to_string().contains("nosuchentity"), "{error}");
    let error = junit_error("hostile/bad-number.xml");
    assert_eq!(
        error.to_string(),
        "invalid tests attribute \"many\" on <testsuite> at line 1, column 1: expected a number"
    );
}

#[test]
fn garbage_empty_and_non_junit_inputs_are_refused_without_panicking() {
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    assert!(parse_junit(&garbage, &ReportLimits::default()).is_err());
    assert_eq!(parse_junit(b"   \n", &ReportLimits::default()), Err(ReportError::Empty));
    assert!(matches!(
        parse_junit(b"<html><body/></html>", &ReportLimits::default()),
        Err(ReportError::NotJunit(_))
    ));
    assert!(matches!(
        parse_junit(b"not xml at all", &ReportLimits::default()),
        Err(ReportError::NotJunit(_))
    ));
    assert!(parse_playwright(&garbage, &ReportLimits::default()).is_err());
    // Every prefix of a real report fails cleanly or parses: never a panic.
    let report = fixture("junit/surefire-reruns.xml");
    for end in (0..report.len()).step_by(7) {
        let _ = parse_junit(&report[..end], &ReportLimits::default());
    }
}

/// Found by checking other projects' fixtures (`EXTERNAL_FIXTURES.md`): a case whose `status` or `result`
/// attribute says it did not run, with no `<skipped/>`, was counted as passed.
#[test]
fn cases_whose_status_attribute_says_not_run_are_skipped() {
    let report = junit("junit/not-run-status.xml");
    assert_eq!(report.counts(), counts(1, 2, 0, 3, 0));
    for name in ["DISABLED_Rounds", "Archives", "Exports"] {
        assert_eq!(find(&report, &format!("Ledger › {name}")).status, OutcomeStatus::Skipped, "{name}");
    }
    assert_eq!(find(&report, "Ledger › Balances").status, OutcomeStatus::Passed);
    // error > failure > skipped: a failure element outranks a "disabled" attribute.
    let reopens = find(&report, "Ledger › Reopens");
    assert_eq!(reopens.status, OutcomeStatus::Failed);
    assert_eq!(reopens.failures[0].message, "a failure element outranks the attribute");
}

/// Found by checking other projects' fixtures: one unreadable `time` made the whole report unreadable.
#[test]
fn unreadable_durations_cost_the_duration_not_the_report() {
    let report = junit("junit/unreadable-durations.xml");
    assert_eq!(report.counts(), counts(2, 1, 0, 0, 0));
    assert_eq!(find(&report, "home › web › loads").duration_ms, 0);
    assert_eq!(find(&report, "home › web › saves").duration_ms, 1500, "a decimal comma is read");
    let fails = find(&report, "home › web › fails");
    assert_eq!((fails.duration_ms, fails.failures[0].message.as_str()), (0, "boom"));
}

/// Found by checking other projects' fixtures: cases without any name were folded into one test as its
/// retries (four cases became one errored test with four runs).
#[test]
fn cases_without_names_are_separate_tests_not_retries() {
    let report = junit("junit/unnamed-cases.xml");
    assert_eq!(report.counts(), counts(1, 1, 1, 1, 0));
    assert_eq!(report.runs(), 4);
    assert_eq!(find(&report, "unknown › (unnamed)").status, OutcomeStatus::Passed);
    assert_eq!(find(&report, "unknown › (unnamed 2)").status, OutcomeStatus::Skipped);
    assert_eq!(find(&report, "unknown › (unnamed 3)").status, OutcomeStatus::Failed);
    assert_eq!(find(&report, "unknown › (unnamed 4)").status, OutcomeStatus::Errored);
}
