//! Failure understanding: what kind of error failed a test, which locator broke, and the fingerprint that
//! groups equal failures. Pure functions over text; the normalizer worker and the report parsers share them,
//! so a failure read from a JUnit file and the same failure sent as an Argus event agree.
//!
//! - [`classify()`]: the [`ErrorKind`] of a message (and stack).
//! - [`locator_extract`]: the locator a Playwright, Selenium, Cypress, WebdriverIO or Puppeteer message names.
//! - [`fingerprint`]: message parameterisation, in-app stack frames and the failure fingerprint.
//! - [`understand`]: the first two at once; [`strip_ansi`]: colour codes out of reporter messages.

pub mod classify;
pub mod fingerprint;
pub mod locator_extract;
mod markers;

pub use classify::classify;
pub use fingerprint::{FingerprintInput, failure_fingerprint, in_app_frames, normalize_message};
pub use locator_extract::extract_locator;

use argus_vocabulary::ErrorKind;
use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

/// What a failure message says, before fingerprinting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Understanding {
    /// The classified error kind.
    pub error_kind: ErrorKind,
    /// The locator the message (or, failing that, the stack) names.
    pub locator: Option<String>,
}

/// Classifies a failure and extracts its locator: from the message first, then from the stack (JUnit
/// reporters often put the whole tool message in the element body, which becomes the stack).
///
/// Message and stack are each scanned once for every marker (the `markers` module); the classification and the
/// locator extractors then only run the regexes whose anchors were found.
///
/// A message the stack repeats (a Java or Python stack starts with it) is not scanned again: every
/// marker in the message is then in the stack too, so the stack's markers stand for both. They may gate
/// the message's locator extraction on markers only the stack has; the extractors find nothing where
/// their anchors are absent, so that changes no result.
pub fn understand(message: &str, stack: Option<&str>) -> Understanding {
    let stack_markers = stack.map(markers::scan).unwrap_or_default();
    let message_markers = match stack {
        Some(stack) if stack.contains(message) => stack_markers,
        _ => markers::scan(message),
    };
    let locator_in = |text: &str, markers: markers::Markers| {
        markers.may_name_a_locator().then(|| locator_extract::extract_locator_unmarked(text)).flatten()
    };
    Understanding {
        error_kind: classify::classify_marked(message, stack, message_markers.union(stack_markers)),
        locator: locator_in(message, message_markers)
            .or_else(|| stack.and_then(|stack| locator_in(stack, stack_markers))),
    }
}

/// ANSI escape sequences (colours, cursor movement) that terminal-oriented reporters leave in messages.
static ANSI_ESCAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]").expect("valid regex"));

/// The text without ANSI escape sequences (Playwright's JSON reporter keeps its colours in messages).
pub fn strip_ansi(text: &str) -> Cow<'_, str> {
    if text.contains('\x1b') { ANSI_ESCAPE.replace_all(text, "") } else { Cow::Borrowed(text) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorKind::*;

    /// (tool, message, expected kind, expected locator), written from each tool's documented message formats.
    const SAMPLES: &[(&str, &str, ErrorKind, Option<&str>)] = &[
        // Playwright actions, waits and expects.
        (
            "playwright",
            "TimeoutError: locator.click: Timeout 30000ms exceeded.\nCall log:\n  - waiting for locator('#pay')",
            LocatorNotFound,
            Some("#pay"),
        ),
        (
            "playwright",
            "Error: locator.click: Timeout 5000ms exceeded.\nCall log:\n  - waiting for getByRole('button', { name: 'Place order' })",
            LocatorNotFound,
            Some("getByRole('button', { name: 'Place order' })"),
        ),
        (
            "playwright",
            "Error: locator.fill: Timeout 5000ms exceeded.\nCall log:\n  - waiting for getByLabel('Email address')",
            LocatorNotFound,
            Some("getByLabel('Email address')"),
        ),
        (
            "playwright",
            "Error: locator.check: Timeout 5000ms exceeded.\nCall log:\n  - waiting for getByRole('checkbox', { name: 'I agree', exact: true })",
            LocatorNotFound,
            Some("getByRole('checkbox', { name: 'I agree', exact: true })"),
        ),
        (
            "playwright",
            "Error: locator.click: Timeout 5000ms exceeded.\nCall log:\n  - waiting for getByTestId('submit-order')",
            LocatorNotFound,
            Some("getByTestId('submit-order')"),
        ),
        (
            "playwright",
            "Error: locator.click: Timeout 5000ms exceeded.\nCall log:\n  - waiting for getByText('Continue to payment')",
            LocatorNotFound,
            Some("getByText('Continue to payment')"),
        ),
        (
            "playwright",
            "Error: locator.click: Timeout 5000ms exceeded.\nCall log:\n  - waiting for locator('#cart').getByRole('button', { name: 'Remove' })",
            LocatorNotFound,
            Some("locator('#cart').getByRole('button', { name: 'Remove' })"),
        ),
        (
            "playwright",
            "Error: locator.click: Error: strict mode violation: locator('button.add') resolved to 3 elements:\n    1) <button class=\"add\">Add mug</button> aka getByRole('button', { name: 'Add mug' })\n    2) <button class=\"add\">Add cup</button> aka getByRole('button', { name: 'Add cup' })\n    3) <button class=\"add\">Add pot</button> aka getByRole('button', { name: 'Add pot' })\n",
            LocatorNotFound,
            Some("button.add"),
        ),
        (
            "playwright",
            "Error: strict mode violation: getByRole('link', { name: 'Details' }) resolved to 2 elements:\n    1) <a href=\"/p/1\">Details</a> aka locator('#p1').getByRole('link')\n    2) <a href=\"/p/2\">Details</a> aka locator('#p2').getByRole('link')",
            LocatorNotFound,
            Some("getByRole('link', { name: 'Details' })"),
        ),
        (
            "playwright",
            "Error: Timed out 5000ms waiting for expect(locator).toBeVisible()\n\nLocator: getByTestId('order-confirmation')\nExpected: visible\nReceived: <element(s) not found>\nCall log:\n  - expect.toBeVisible with timeout 5000ms\n  - waiting for getByTestId('order-confirmation')",
            LocatorNotFound,
            Some("getByTestId('order-confirmation')"),
        ),
        (
            "playwright",
            "Error: expect(locator).toHaveText(expected)\n\nLocator: locator('#total')\nExpected string: \"$10.00\"\nReceived string: \"$12.00\"\nCall log:\n  - expect.toHaveText with timeout 5000ms\n  - waiting for locator('#total')\n  -   locator resolved to <span id=\"total\">$12.00</span>",
            Assertion,
            Some("#total"),
        ),
        (
            "playwright",
            "Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 3\nReceived: 2",
            Assertion,
            None,
        ),
        (
            "playwright",
            "TimeoutError: locator.click: Timeout 30000ms exceeded.\nCall log:\n  - waiting for locator('#pay')\n  - locator resolved to <button id=\"pay\" disabled>Pay</button>\n  - element is not enabled\n  - retrying click action",
            Timeout,
            Some("#pay"),
        ),
        ("playwright", "TimeoutError: page.waitForURL: Timeout 10000ms exceeded.", Timeout, None),
        ("playwright", "Test timeout of 30000ms exceeded.", Timeout, None),
        (
            "playwright",
            "Error: page.goto: net::ERR_CONNECTION_REFUSED at http://localhost:3000/checkout\nCall log:\n  - navigating to \"http://localhost:3000/checkout\", waiting until \"load\"",
            Network,
            None,
        ),
        ("playwright", "Error: page.goto: net::ERR_NAME_NOT_RESOLVED at https://shop.test/", Network, None),
        (
            "playwright",
            "Error: locator.click: Target page, context or browser has been closed\nCall log:\n  - waiting for locator('#pay')",
            Crash,
            Some("#pay"),
        ),
        ("playwright", "Error: page.evaluate: Target crashed", Crash, None),
        (
            "playwright",
            "page.click: Timeout 30000ms exceeded.\n=== logs ===\nwaiting for selector \"#submit\"\n============",
            LocatorNotFound,
            Some("#submit"),
        ),
        // Selenium (Java, Python, JavaScript bindings; chromedriver and geckodriver messages).
        (
            "selenium",
            "org.openqa.selenium.NoSuchElementException: no such element: Unable to locate element: {\"method\":\"css selector\",\"selector\":\"#checkout-button\"}\n  (Session info: chrome=120.0.6099.109)",
            LocatorNotFound,
            Some("#checkout-button"),
        ),
        (
            "selenium",
            "selenium.common.exceptions.NoSuchElementException: Message: no such element: Unable to locate element: {\"method\":\"xpath\",\"selector\":\"//button[text()='Pay']\"}",
            LocatorNotFound,
            Some("//button[text()='Pay']"),
        ),
        (
            "selenium",
            "NoSuchElementError: no such element: Unable to locate element: {\"method\":\"css selector\",\"selector\":\"[data-test=\\\"email\\\"]\"}",
            LocatorNotFound,
            Some("[data-test=\"email\"]"),
        ),
        (
            "selenium",
            "selenium.common.exceptions.NoSuchElementException: Message: no such element: Unable to locate element: {\"method\":\"id\",\"selector\":\"username\"}",
            LocatorNotFound,
            Some("#username"),
        ),
        (
            "selenium",
            "selenium.common.exceptions.NoSuchElementException: Message: Unable to locate element: .cart-total; For documentation on this error, please visit: https://www.selenium.dev/documentation/webdriver/troubleshooting/errors#no-such-element-exception",
            LocatorNotFound,
            Some(".cart-total"),
        ),
        (
            "selenium",
            "org.openqa.selenium.TimeoutException: Expected condition failed: waiting for visibility of element located by By.cssSelector: #order-summary (tried for 10 second(s) with 500 milliseconds interval)",
            Timeout,
            Some("#order-summary"),
        ),
        (
            "selenium",
            "org.openqa.selenium.NoSuchElementException: Cannot locate an element using By.xpath: //div[@class='price']",
            LocatorNotFound,
            Some("//div[@class='price']"),
        ),
        (
            "selenium",
            "selenium.common.exceptions.TimeoutException: Message: \nStacktrace:\n#0 0x55d9c1b2e8a3 <unknown>",
            Timeout,
            None,
        ),
        (
            "selenium",
            "org.openqa.selenium.WebDriverException: unknown error: net::ERR_CONNECTION_REFUSED\n  (Session info: chrome=120.0)",
            Network,
            None,
        ),
        ("selenium", "org.openqa.selenium.NoSuchSessionException: invalid session id", Crash, None),
        // Cypress.
        (
            "cypress",
            "AssertionError: Timed out retrying after 4000ms: Expected to find element: `[data-cy=submit]`, but never found it.",
            LocatorNotFound,
            Some("[data-cy=submit]"),
        ),
        (
            "cypress",
            "AssertionError: Timed out retrying after 10000ms: Expected to find element: `#cart .item:nth-child(2)`, but never found it. Queried from element: <form#checkout>",
            LocatorNotFound,
            Some("#cart .item:nth-child(2)"),
        ),
        (
            "cypress",
            "AssertionError: Timed out retrying after 4000ms: expected '<span#total>' to have text '$10.00', but the text was '$12.00'",
            Assertion,
            None,
        ),
        (
            "cypress",
            "CypressError: `cy.visit()` failed trying to load:\n\nhttp://localhost:8080/\n\nWe attempted to make an http request to this URL but the request failed without a response.\n\n  > Error: connect ECONNREFUSED 127.0.0.1:8080",
            Network,
            None,
        ),
        (
            "cypress",
            "CypressError: Timed out after waiting `60000ms` for your remote page to load.",
            Timeout,
            None,
        ),
        // WebdriverIO.
        (
            "webdriverio",
            "Error: element (\"#login-button\") still not existing after 10000ms",
            LocatorNotFound,
            Some("#login-button"),
        ),
        (
            "webdriverio",
            "Error: Can't call click on element with selector \"[data-testid=\\\"pay\\\"]\" because element wasn't found",
            LocatorNotFound,
            Some("[data-testid=\"pay\"]"),
        ),
        (
            "webdriverio",
            "Error: Can't call setValue on element with selector \"input[name=email]\" because element wasn't found",
            LocatorNotFound,
            Some("input[name=email]"),
        ),
        (
            "webdriverio",
            "Error: element (\"aria/Submit\") still not displayed after 5000ms",
            Timeout,
            Some("aria/Submit"),
        ),
        (
            "webdriverio",
            "Error: Expect $(`#total`) to have text\n\nExpected: \"$10.00\"\nReceived: \"$12.00\"",
            Assertion,
            None,
        ),
        // Puppeteer.
        (
            "puppeteer",
            "TimeoutError: Waiting for selector `#checkout` failed: Waiting failed: 30000ms exceeded",
            LocatorNotFound,
            Some("#checkout"),
        ),
        (
            "puppeteer",
            "TimeoutError: Waiting for selector `::-p-aria(Submit order)` failed: Waiting failed: 5000ms exceeded",
            LocatorNotFound,
            Some("::-p-aria(Submit order)"),
        ),
        (
            "puppeteer",
            "Error: No element found for selector: button.buy-now",
            LocatorNotFound,
            Some("button.buy-now"),
        ),
        ("puppeteer", "TimeoutError: Navigation timeout of 30000 ms exceeded", Timeout, None),
        ("puppeteer", "Error: Protocol error (Runtime.callFunctionOn): Target closed.", Crash, None),
        ("puppeteer", "Error: net::ERR_INTERNET_DISCONNECTED at https://shop.test", Network, None),
        // Plain errors.
        ("node", "TypeError: Cannot read properties of undefined (reading 'price')", Other, None),
        ("node", "", Other, None),
    ];

    #[test]
    fn understands_documented_tool_messages() {
        assert!(SAMPLES.len() >= 40, "keep at least 40 samples");
        for (tool, message, kind, locator) in SAMPLES {
            let understood = understand(message, None);
            assert_eq!(understood.error_kind, *kind, "{tool} kind of {message:?}");
            assert_eq!(understood.locator.as_deref(), *locator, "{tool} locator of {message:?}");
        }
    }

    #[test]
    fn every_tool_and_kind_is_sampled() {
        for tool in ["playwright", "selenium", "cypress", "webdriverio", "puppeteer"] {
            assert!(SAMPLES.iter().any(|(sample_tool, ..)| sample_tool == &tool), "no sample for {tool}");
        }
        for kind in [LocatorNotFound, Timeout, Assertion, Network, Crash, Other] {
            assert!(SAMPLES.iter().any(|(_, _, expected, _)| *expected == kind), "no sample for {kind}");
        }
    }

    #[test]
    fn the_locator_is_taken_from_the_stack_when_the_message_has_none() {
        let understood = understand(
            "Error: locator.click failed",
            Some("Call log:\n  - waiting for getByRole('button', { name: 'Pay' })"),
        );
        assert_eq!(understood.locator.as_deref(), Some("getByRole('button', { name: 'Pay' })"));
    }

    /// A message the stack repeats is not scanned a second time: the result is what scanning both gives.
    #[test]
    fn a_message_the_stack_repeats_is_understood_as_when_both_are_scanned() {
        for (_, message, _, _) in SAMPLES {
            for stack in [
                (*message).to_owned(),
                format!("{message}\n    at pay (checkout.spec.ts:12:5)"),
                format!("Wrapped: {message}"),
                format!("{message}\nCall log:\n  - waiting for locator('#elsewhere')"),
                format!("Error: locator.click: Target closed\n{message}"),
            ] {
                assert!(stack.contains(message));
                let reference = Understanding {
                    error_kind: classify(message, Some(&stack)),
                    locator: extract_locator(message).or_else(|| extract_locator(&stack)),
                };
                assert_eq!(understand(message, Some(&stack)), reference, "{message:?} / {stack:?}");
            }
        }
    }

    #[test]
    fn ansi_colours_are_stripped() {
        assert_eq!(
            strip_ansi("\u{1b}[2mexpect(\u{1b}[22m\u{1b}[31mreceived\u{1b}[39m\u{1b}[2m).toBe\u{1b}[22m"),
            "expect(received).toBe"
        );
        assert!(matches!(strip_ansi("plain"), Cow::Borrowed("plain")));
    }
}
