//! Failure fingerprints: equal fingerprints mean "the same failure", however often and wherever it ran.
//!
//! The message is parameterised first, so that values that change from run to run (emails, urls, hosts,
//! ips, uuids, hashes, dates, durations, hex, numbers, quoted values) do not split one failure into many
//! groups (Sentry and ReportPortal group the same way). Only the first line of the message is kept: later
//! lines are call logs whose noise would defeat the grouping.
//!
//! The stack contributes its *in-app* frames only ([`in_app_frames`]): file basename and function, never the
//! line or column (they shift with every unrelated edit above them), never a frame from `node_modules`, the
//! runtime (`node:internal`, `java.`, `site-packages`, …) or the test framework.

use argus_vocabulary::{ErrorKind, Fingerprint, ProjectId};
use regex::{Captures, Regex};
use std::sync::LazyLock;

/// Structured values, replaced first so that the numbers and quotes inside them are not replaced piecemeal
/// (a url is replaced before the numbers inside it could be).
static STRUCTURED: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    compile(&[
        (r"(?i)\b[a-z][a-z0-9+.-]*://[^\s'`<>)\]]+", "<url>"),
        (r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b", "<email>"),
        (
            r"(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|net|org|io|dev|app|test|local|localhost|internal|example|invalid|cloud|co|ai|gov|edu|info|biz|us|uk|de|fr|nl|eu)(?::\d{1,5})?\b",
            "<host>",
        ),
        (r"(?i)\blocalhost(?::\d{1,5})?\b", "<host>"),
        (r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<uuid>"),
        (r"(?i)\b0x[0-9a-f]+\b", "<hex>"),
        (
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b",
            "<datetime>",
        ),
        (r"\b\d{1,2}/\d{1,2}/\d{2,4}\b", "<date>"),
        (
            r"(?i)\b(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,? )?\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{4}\b",
            "<date>",
        ),
        (r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b", "<ip>"),
        (r"\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\b", "<time>"),
    ])
});

/// Long hex runs (hashes, object ids); replaced only when they mix digits and letters, so plain words and
/// plain numbers are left to their own rules.
static LONG_HEX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b[0-9a-fA-F]{7,}\b").expect("valid regex"));

/// Scalars, replaced last: durations, quoted values, then any remaining number.
static SCALARS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    compile(&[
        (r"\b\d+(?:\.\d+)?\s?(?:ms|s|sec|secs|seconds|m|min|minutes|h)\b", "<duration>"),
        (r#""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`\n]*`"#, "<str>"),
        (r"\d+(?:\.\d+)?", "<n>"),
    ])
});

/// Runs of whitespace.
static WHITESPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+").expect("valid regex"));

fn compile(table: &[(&str, &'static str)]) -> Vec<(Regex, &'static str)> {
    table
        .iter()
        .map(|(pattern, placeholder)| (Regex::new(pattern).expect("valid regex"), *placeholder))
        .collect()
}

/// The first non-empty line of `message`, parameterised and whitespace-collapsed.
pub fn normalize_message(message: &str) -> String {
    let mut lines = message.lines().map(str::trim).filter(|line| !line.is_empty());
    let mut first_line = lines.next().unwrap_or_default();
    if first_line.starts_with("Traceback (most recent call last)") {
        // A Python traceback says what happened on its last line; the first is the same for every error.
        first_line = lines.next_back().unwrap_or(first_line);
    }
    let mut text = first_line.to_owned();
    for (pattern, placeholder) in STRUCTURED.iter() {
        text = pattern.replace_all(&text, *placeholder).into_owned();
    }
    text = replace_long_hex(&text);
    for (pattern, placeholder) in SCALARS.iter() {
        text = pattern.replace_all(&text, *placeholder).into_owned();
    }
    WHITESPACE.replace_all(text.trim(), " ").into_owned()
}

fn replace_long_hex(text: &str) -> String {
    LONG_HEX
        .replace_all(text, |captures: &Captures<'_>| {
            let run = &captures[0];
            let has_digit = run.bytes().any(|b| b.is_ascii_digit());
            let has_letter = run.bytes().any(|b| b.is_ascii_alphabetic());
            if has_digit && has_letter { "<hex>".to_owned() } else { run.to_owned() }
        })
        .into_owned()
}

/// At most this many in-app frames (the innermost ones) enter a fingerprint.
pub const MAX_FINGERPRINT_FRAMES: usize = 5;

/// A V8 frame: `at fn (file:line:col)`, `at file:line:col`, `at async fn (file:line:col)`.
static V8_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*at (?:async )?(?:(.+?) \((.+?)(?::\d+){1,2}\)|(.+?)(?::\d+){1,2})\s*$")
        .expect("valid regex")
});

/// A Firefox / Safari frame: `fn@file:line:col`.
static GECKO_FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*([^@\s]*)@(.+?)(?::\d+){1,2}\s*$").expect("valid regex"));

/// A JVM frame: `at com.shop.CheckoutTest.pays(CheckoutTest.java:42)`.
static JVM_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*at ([\w$.<>/]+)\.([\w$<>-]+)\(([^:()]*)(?::\d+)?\)\s*$").expect("valid regex")
});

/// A Python frame: `File "/ci/tests/test_checkout.py", line 12, in test_pays`.
static PYTHON_FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\s*File "(.+?)", line \d+, in (\S+)\s*$"#).expect("valid regex"));

/// Path fragments of frames that belong to dependencies, runtimes or test frameworks, not the app.
const LIBRARY_PATH_MARKERS: &[&str] = &[
    "node_modules",
    "node:",
    "internal/",
    "<anonymous>",
    "native",
    "site-packages",
    "dist-packages",
    "<frozen",
    "/lib/python",
    "/usr/lib/",
    "pytest",
    "_pytest",
];

/// JVM package prefixes of the runtime and test frameworks.
const LIBRARY_JVM_PREFIXES: &[&str] = &[
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "kotlin.",
    "scala.",
    "org.junit.",
    "junit.",
    "org.testng.",
    "org.apache.maven.",
    "org.gradle.",
    "org.openqa.selenium.",
    "com.intellij.",
    "org.assertj.",
    "org.hamcrest.",
    "org.opentest4j.",
];

/// The in-app frames of a stack, innermost first, as `basename:function` (function may be empty): the
/// part of a stack that is the same on every machine and survives edits elsewhere in the file.
pub fn in_app_frames(stack: &str) -> Vec<String> {
    let mut frames = Vec::new();
    for line in stack.lines() {
        let frame = if let Some(captures) = JVM_FRAME.captures(line) {
            let class = captures.get(1).map_or("", |m| m.as_str());
            if LIBRARY_JVM_PREFIXES.iter().any(|prefix| class.starts_with(prefix)) {
                continue;
            }
            let function = captures.get(2).map_or("", |m| m.as_str());
            let file = captures.get(3).map_or("", |m| m.as_str());
            // Generated frames (`Native Method`, `Unknown Source`) still name the class: keep that.
            let file = if file.contains(' ') || file.is_empty() { class } else { file };
            Some((basename(file).to_owned(), function.to_owned()))
        } else if let Some(captures) = V8_FRAME.captures(line) {
            let (function, file) = match (captures.get(1), captures.get(2), captures.get(3)) {
                (Some(function), Some(file), _) => (function.as_str(), file.as_str()),
                (_, _, Some(file)) => ("", file.as_str()),
                _ => continue,
            };
            library_or_app(file, function)
        } else if let Some(captures) = PYTHON_FRAME.captures(line) {
            let file = captures.get(1).map_or("", |m| m.as_str());
            let function = captures.get(2).map_or("", |m| m.as_str());
            library_or_app(file, function)
        } else if let Some(captures) = GECKO_FRAME.captures(line) {
            let function = captures.get(1).map_or("", |m| m.as_str());
            let file = captures.get(2).map_or("", |m| m.as_str());
            library_or_app(file, function)
        } else {
            None
        };
        if let Some((file, function)) = frame {
            frames.push(format!("{file}:{function}"));
            if frames.len() == MAX_FINGERPRINT_FRAMES {
                break;
            }
        }
    }
    frames
}

/// `(basename, function)` of an in-app frame; `None` for a library frame.
fn library_or_app(file: &str, function: &str) -> Option<(String, String)> {
    if file.is_empty() || LIBRARY_PATH_MARKERS.iter().any(|marker| file.contains(marker)) {
        return None;
    }
    Some((basename(file).to_owned(), function.trim().to_owned()))
}

/// The last path segment, without a `?query` (bundlers append cache busters).
fn basename(path: &str) -> &str {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// What a fingerprint is computed from.
#[derive(Debug, Clone, Copy)]
pub struct FingerprintInput<'a> {
    /// The project the failure belongs to.
    pub project: &'a ProjectId,
    /// The test's key ([`argus_vocabulary::TestIdentity::key`]).
    pub test_key: &'a str,
    /// The classified error kind.
    pub error_kind: ErrorKind,
    /// The failing locator, when there is one.
    pub locator: Option<&'a str>,
    /// The error message (only its parameterised first line counts).
    pub message: &'a str,
    /// The stack trace (only its in-app frames count).
    pub stack: Option<&'a str>,
}

/// The fingerprint of a failure: project, test key, error kind, locator (or empty), the normalised
/// message and the in-app frames of the stack (or, without a stack, of the message's later lines).
pub fn failure_fingerprint(input: &FingerprintInput<'_>) -> Fingerprint {
    let normalized = normalize_message(input.message);
    let frames = in_app_frames(input.stack.unwrap_or(input.message)).join("\n");
    Fingerprint::from_parts([
        input.project.as_str(),
        input.test_key,
        input.error_kind.as_str(),
        input.locator.unwrap_or_default(),
        normalized.as_str(),
        frames.as_str(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(raw: &str) -> ProjectId {
        ProjectId::parse(raw).expect("valid project")
    }

    fn fp(
        project: &ProjectId,
        test_key: &str,
        error_kind: ErrorKind,
        locator: Option<&str>,
        message: &str,
    ) -> Fingerprint {
        failure_fingerprint(&FingerprintInput {
            project,
            test_key,
            error_kind,
            locator,
            message,
            stack: None,
        })
    }

    /// (message, normalised form).
    const NORMALIZATIONS: &[(&str, &str)] = &[
        (
            "TimeoutError: locator.click: Timeout 30000ms exceeded.\nCall log:\n  - waiting for locator('#pay')",
            "TimeoutError: locator.click: Timeout <duration> exceeded.",
        ),
        (
            "Error: page.goto: net::ERR_CONNECTION_REFUSED at http://localhost:3000/checkout?id=42",
            "Error: page.goto: net::ERR_CONNECTION_REFUSED at <url>",
        ),
        ("Error: user alice@example.com not found", "Error: user <email> not found"),
        (
            "Error: order 3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b failed at 2026-03-01T12:30:45.123Z",
            "Error: order <uuid> failed at <datetime>",
        ),
        (
            "Error: connect ECONNREFUSED 127.0.0.1:5432 at 09:15:02",
            "Error: connect ECONNREFUSED <ip> at <time>",
        ),
        ("Error: commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3 missing", "Error: commit <hex> missing"),
        (
            "AssertionError: expected 'Total: $12' to equal 'Total: $10'",
            "AssertionError: expected <str> to equal <str>",
        ),
        ("Error: expected 3 items, got 2 after 1.5 s", "Error: expected <n> items, got <n> after <duration>"),
        ("   \n  Error:   spaced    out\t message  ", "Error: spaced out message"),
        ("Error: the deadbeef decade", "Error: the deadbeef decade"),
        (
            "Error: GET https://api.shop.test/v1/cart failed; host api.shop.test:8443 unreachable",
            "Error: GET <url> failed; host <host> unreachable",
        ),
        ("Error: cannot reach localhost:4173 or staging.example.com", "Error: cannot reach <host> or <host>"),
        ("Error: segfault at 0x7ffd5c2a1b40 in worker 3", "Error: segfault at <hex> in worker <n>"),
        (
            "Error: invoice dated 03/01/2026 and 1 Mar 2026 differ",
            "Error: invoice dated <date> and <date> differ",
        ),
        ("Error: locator.click in checkout.spec.ts", "Error: locator.click in checkout.spec.ts"),
        (
            "Traceback (most recent call last):\n  File \"/ci/test_x.py\", line 9, in test_x\n    assert total == 10\nAssertionError: assert 12 == 10",
            "AssertionError: assert <n> == <n>",
        ),
        (
            "Error: snapshot 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 stale",
            "Error: snapshot <hex> stale",
        ),
    ];

    #[test]
    fn normalizes_run_specific_values() {
        for (message, expected) in NORMALIZATIONS {
            assert_eq!(normalize_message(message), *expected, "message: {message:?}");
        }
    }

    #[test]
    fn messages_differing_in_timeouts_ids_and_urls_share_a_fingerprint() {
        let shop = project("shop");
        let key = "tests/checkout.spec.ts › checkout › pays";
        let pairs = [
            (
                "TimeoutError: locator.click: Timeout 30000ms exceeded.\nCall log:\n  - waiting for locator('#pay')",
                "TimeoutError: locator.click: Timeout 5000ms exceeded.\nCall log:\n  - waiting for locator('#pay')\n  - retrying",
            ),
            (
                "Error: order 3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b not shown on http://shop.test/orders/1",
                "Error: order 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d not shown on https://staging.shop.test/orders/77",
            ),
        ];
        for (first, second) in pairs {
            let a = fp(&shop, key, ErrorKind::LocatorNotFound, Some("#pay"), first);
            let b = fp(&shop, key, ErrorKind::LocatorNotFound, Some("#pay"), second);
            assert_eq!(a, b, "{first:?} vs {second:?}");
        }
    }

    #[test]
    fn a_different_locator_test_kind_or_project_gives_a_different_fingerprint() {
        let message = "TimeoutError: locator.click: Timeout 30000ms exceeded.";
        let key = "tests/checkout.spec.ts › pays";
        let base = fp(&project("shop"), key, ErrorKind::LocatorNotFound, Some("#pay"), message);
        let variants = [
            fp(&project("shop"), key, ErrorKind::LocatorNotFound, Some("#buy"), message),
            fp(&project("shop"), key, ErrorKind::LocatorNotFound, None, message),
            fp(
                &project("shop"),
                "tests/cart.spec.ts › pays",
                ErrorKind::LocatorNotFound,
                Some("#pay"),
                message,
            ),
            fp(&project("shop"), key, ErrorKind::Timeout, Some("#pay"), message),
            fp(&project("blog"), key, ErrorKind::LocatorNotFound, Some("#pay"), message),
            fp(&project("shop"), key, ErrorKind::LocatorNotFound, Some("#pay"), "Error: detached"),
        ];
        for variant in variants {
            assert_ne!(base, variant);
        }
    }

    #[test]
    fn in_app_frames_keep_basename_and_function_and_drop_libraries() {
        let stack = "Error: boom
    at CheckoutPage.pay (/home/ci/work/tests/pages/checkout.ts:42:11)
    at processTicksAndRejections (node:internal/process/task_queues:95:5)
    at Object.<anonymous> (/home/ci/work/node_modules/@playwright/test/lib/runner.js:10:3)
    at /home/ci/work/tests/checkout.spec.ts:17:5
    at com.shop.CheckoutTest.pays(CheckoutTest.java:88)
    at org.junit.runners.ParentRunner.run(ParentRunner.java:413)
    at java.base/java.lang.Thread.run(Thread.java:833)
  File \"/ci/tests/test_checkout.py\", line 12, in test_pays
  File \"/usr/lib/python3/site-packages/_pytest/python.py\", line 194, in pytest_pyfunc_call
pay@http://localhost:3000/static/app.js?v=3:1:220";
        assert_eq!(
            in_app_frames(stack),
            [
                "checkout.ts:CheckoutPage.pay",
                "checkout.spec.ts:",
                "CheckoutTest.java:pays",
                "test_checkout.py:test_pays",
                "app.js:pay",
            ]
        );
    }

    #[test]
    fn frames_split_fingerprints_but_their_line_numbers_do_not() {
        let shop = project("shop");
        let key = "tests/checkout.spec.ts › pays";
        let input = |stack: &'static str| FingerprintInput {
            project: &shop,
            test_key: key,
            error_kind: ErrorKind::Assertion,
            locator: None,
            message: "Error: expected 3 items",
            stack: Some(stack),
        };
        let here = failure_fingerprint(&input("at pay (/a/tests/checkout.ts:42:11)"));
        let moved = failure_fingerprint(&input(
            "at pay (/b/other/checkout.ts:57:3)\n    at x (node_modules/y.js:1:1)",
        ));
        let elsewhere = failure_fingerprint(&input("at refund (/a/tests/checkout.ts:42:11)"));
        assert_eq!(here, moved);
        assert_ne!(here, elsewhere);
    }
}
