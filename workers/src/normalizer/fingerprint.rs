//! Failure fingerprints: equal fingerprints mean "the same failure", however often and wherever it ran.
//!
//! The message is parameterised first, so that values that change from run to run (timeouts, ids, urls,
//! times, counts, quoted values) do not split one failure into many groups. Only the first line is kept:
//! later lines are call logs and stack frames whose noise would defeat the grouping.

use argus_vocabulary::{ErrorKind, Fingerprint, ProjectId};
use regex::{Captures, Regex};
use std::sync::LazyLock;

/// Structured values, replaced first so that the numbers and quotes inside them are not replaced piecemeal
/// (a url is replaced before the numbers inside it could be).
static STRUCTURED: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    compile(&[
        (r"(?i)\b[a-z][a-z0-9+.-]*://[^\s'`<>)\]]+", "<url>"),
        (r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b", "<email>"),
        (r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<uuid>"),
        (
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b",
            "<datetime>",
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
    let first_line = message.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or_default();
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

/// The fingerprint of a failure: project, test key, error kind, locator (or empty) and the normalised
/// message.
pub fn failure_fingerprint(
    project: &ProjectId,
    test_key: &str,
    error_kind: ErrorKind,
    locator: Option<&str>,
    message: &str,
) -> Fingerprint {
    let normalized = normalize_message(message);
    Fingerprint::from_parts([
        project.as_str(),
        test_key,
        error_kind.as_str(),
        locator.unwrap_or_default(),
        normalized.as_str(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(raw: &str) -> ProjectId {
        ProjectId::parse(raw).expect("valid project")
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
            let a = failure_fingerprint(&shop, key, ErrorKind::LocatorNotFound, Some("#pay"), first);
            let b = failure_fingerprint(&shop, key, ErrorKind::LocatorNotFound, Some("#pay"), second);
            assert_eq!(a, b, "{first:?} vs {second:?}");
        }
    }

    #[test]
    fn a_different_locator_test_kind_or_project_gives_a_different_fingerprint() {
        let message = "TimeoutError: locator.click: Timeout 30000ms exceeded.";
        let key = "tests/checkout.spec.ts › pays";
        let base =
            failure_fingerprint(&project("shop"), key, ErrorKind::LocatorNotFound, Some("#pay"), message);
        let variants = [
            failure_fingerprint(&project("shop"), key, ErrorKind::LocatorNotFound, Some("#buy"), message),
            failure_fingerprint(&project("shop"), key, ErrorKind::LocatorNotFound, None, message),
            failure_fingerprint(
                &project("shop"),
                "tests/cart.spec.ts › pays",
                ErrorKind::LocatorNotFound,
                Some("#pay"),
                message,
            ),
            failure_fingerprint(&project("shop"), key, ErrorKind::Timeout, Some("#pay"), message),
            failure_fingerprint(&project("blog"), key, ErrorKind::LocatorNotFound, Some("#pay"), message),
            failure_fingerprint(
                &project("shop"),
                key,
                ErrorKind::LocatorNotFound,
                Some("#pay"),
                "Error: detached",
            ),
        ];
        for variant in variants {
            assert_ne!(base, variant);
        }
    }
}
