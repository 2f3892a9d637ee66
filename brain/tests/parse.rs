//! `argus parse` through the real binary: one JSON object on stdout and exit 0, or the reason on stderr
//! and exit 2.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

fn argus(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_argus")).args(args).output().expect("run argus")
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).expect("create report");
    file.write_all(content.as_bytes()).expect("write report");
    path
}

fn summary(output: &Output) -> Value {
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout.clone()).expect("utf-8");
    assert_eq!(stdout.lines().count(), 1, "one json object on one line: {stdout}");
    serde_json::from_str(&stdout).expect("json")
}

fn assert_counts_add_up(summary: &Value) {
    let count =
        |field: &str| summary[field].as_u64().unwrap_or_else(|| panic!("{field} missing in {summary}"));
    assert_eq!(
        count("passed") + count("failed") + count("errored") + count("skipped") + count("flaky"),
        count("tests"),
        "{summary}"
    );
}

const JUNIT: &str = r#"<?xml version="1.0"?>
<testsuites>
  <testsuite name="checkout.spec.ts" hostname="chromium">
    <testcase classname="checkout.spec.ts" name="checkout › pays" time="1.5">
      <failure message="TimeoutError: locator.click: Timeout 5000ms exceeded.">Call log:
  - waiting for locator('#pay')</failure>
    </testcase>
    <testcase classname="checkout.spec.ts" name="checkout › totals" time="0.2"><error message="boom"/></testcase>
    <testcase classname="checkout.spec.ts" name="checkout › skips"><skipped/></testcase>
    <testcase classname="checkout.spec.ts" name="checkout › retried"><failure message="expect(received).toBe(expected)"/></testcase>
    <testcase classname="checkout.spec.ts" name="checkout › retried"/>
    <testcase classname="checkout.spec.ts" name="checkout › passes"/>
  </testsuite>
</testsuites>"#;

#[test]
fn junit_report_prints_counts_and_fingerprinted_failures() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "report.xml", JUNIT);
    let summary = summary(&argus(&["parse", path.to_str().expect("utf-8 path"), "--format", "junit"]));
    assert_eq!(summary["format"], "junit");
    assert_eq!((summary["tests"].as_u64(), summary["runs"].as_u64()), (Some(5), Some(6)));
    assert_eq!(
        [&summary["passed"], &summary["failed"], &summary["errored"], &summary["skipped"], &summary["flaky"]],
        [1, 1, 1, 1, 1]
    );
    assert_counts_add_up(&summary);
    let failures = summary["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 3);
    let first = &failures[0];
    assert_eq!(first["test"], "checkout.spec.ts › chromium › checkout › pays");
    assert_eq!(first["kind"], "locator-not-found");
    assert_eq!(first["locator"], "#pay");
    assert_eq!(first["message"], "TimeoutError: locator.click: Timeout 5000ms exceeded.");
    assert_eq!(first["fingerprint"].as_str().map(str::len), Some(32));
    assert_eq!(failures[1]["locator"], Value::Null);
    assert_eq!(
        first.as_object().map(|object| object.keys().cloned().collect::<Vec<_>>()),
        Some(["fingerprint", "kind", "locator", "message", "test"].map(String::from).to_vec())
    );

    // Fingerprints are stable across runs and depend on the project.
    let again = self::summary(&argus(&["parse", path.to_str().expect("utf-8 path")]));
    assert_eq!(again["failures"][0]["fingerprint"], first["fingerprint"], "auto detection, same fingerprint");
    let other = self::summary(&argus(&["parse", path.to_str().expect("utf-8 path"), "--project", "blog"]));
    assert_ne!(other["failures"][0]["fingerprint"], first["fingerprint"]);
}

#[test]
fn playwright_json_is_detected_and_parsed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = r#"{"config": {}, "suites": [{"title": "a.spec.ts", "file": "a.spec.ts", "specs": [
        {"title": "flaky one", "file": "a.spec.ts", "tests": [{"projectName": "chromium", "expectedStatus": "passed",
          "results": [{"status": "failed", "duration": 3, "error": {"message": "Error: expect(received).toBe(expected)"}},
                      {"status": "passed", "duration": 2}]}]}]}]}"#;
    let path = write(dir.path(), "report.json", report);
    let summary = summary(&argus(&["parse", path.to_str().expect("utf-8 path"), "--format", "auto"]));
    assert_eq!(summary["format"], "playwright-json");
    assert_eq!(
        (summary["tests"].as_u64(), summary["runs"].as_u64(), summary["flaky"].as_u64()),
        (Some(1), Some(2), Some(1))
    );
    assert_eq!(summary["failures"][0]["kind"], "assertion");
    assert_counts_add_up(&summary);
}

#[test]
fn argus_json_goes_through_the_intake_validation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let batch = r#"{"project": "shop", "events": [
        {"type": "test_result", "test": {"file": "a.spec.ts", "title_path": ["pays"]}, "status": "failed", "retries": 2},
        {"type": "failure", "test": {"file": "a.spec.ts", "title_path": ["pays"]},
         "message": "Error: strict mode violation: getByRole('button') resolved to 2 elements"},
        {"type": "test_result", "test": {"file": "a.spec.ts", "title_path": ["lists"]}, "status": "passed"}]}"#;
    let path = write(dir.path(), "batch.json", batch);
    let summary = summary(&argus(&["parse", path.to_str().expect("utf-8 path"), "--format", "argus-json"]));
    assert_eq!(summary["format"], "argus-json");
    assert_eq!((summary["tests"].as_u64(), summary["runs"].as_u64()), (Some(2), Some(4)));
    assert_eq!(summary["failures"][0]["locator"], "getByRole('button')");
    assert_counts_add_up(&summary);

    let invalid =
        write(dir.path(), "invalid.json", r#"{"events": [{"type": "test_result", "status": "passed"}]}"#);
    let output = argus(&["parse", invalid.to_str().expect("utf-8 path"), "--format", "argus-json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing field `test`"));
}

#[test]
fn unparseable_reports_exit_2_with_the_reason_on_stderr() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        (
            "truncated.xml",
            "<testsuites>\n  <testsuite name=\"s\">\n    <testcase name=\"t\">",
            "junit",
            "truncated report",
        ),
        (
            "xxe.xml",
            "<?xml version=\"1.0\"?>\n<!DOCTYPE t [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<testsuite><testcase name=\"&x;\"/></testsuite>",
            "auto",
            "line 2, column 1",
        ),
        ("garbage.bin", "\u{1}\u{2}garbage", "auto", "cannot detect the report format"),
        ("broken.json", "{\"suites\": [", "playwright-json", "invalid json at line 1"),
        ("empty.xml", "", "junit", "the report is empty"),
    ];
    for (name, content, format, reason) in cases {
        let path = write(dir.path(), name, content);
        let output = argus(&["parse", path.to_str().expect("utf-8 path"), "--format", format]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(reason), "{name}: {stderr}");
        assert!(output.stdout.is_empty(), "{name}: nothing on stdout");
    }
    let missing = argus(&["parse", "/nonexistent/report.xml"]);
    assert_eq!(missing.status.code(), Some(1), "an unreadable file is not an unparseable report");
}
