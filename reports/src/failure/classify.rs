//! Error classification: which [`ErrorKind`] a failure message (and its stack) describes, for reporters
//! that did not say.
//!
//! The rules are ordered from the most to the least specific symptom, because real messages carry several
//! markers at once: a Cypress "element never found" is thrown as an `AssertionError`, a Playwright action
//! timeout carries a `waiting for locator(...)` call log, and a closed browser interrupts whatever wait
//! was running. So: crash, then network, then locator-not-found, then assertion, then timeout.

use super::markers::{self, Markers};
use argus_vocabulary::ErrorKind;
use regex::Regex;
use std::sync::LazyLock;

/// Markers of a browser, page or runner that went away.
pub(super) const CRASH_MARKERS: &[&str] = &[
    "Target closed",
    "Target page, context or browser has been closed",
    "browser has disconnected",
    "Browser closed",
    "crashed",
    "Session not created",
    "invalid session id",
    "SIGSEGV",
    "SIGKILL",
    "Segmentation fault",
    "heap out of memory",
    "exited unexpectedly",
    "Worker process has failed to exit",
];

/// Markers of a request that failed below the application (DNS, TCP, TLS, HTTP client).
pub(super) const NETWORK_MARKERS: &[&str] = &[
    "net::ERR_",
    "ECONNREFUSED",
    "ECONNRESET",
    "ENOTFOUND",
    "EAI_AGAIN",
    "getaddrinfo",
    "socket hang up",
    "NS_ERROR_",
    "ETIMEDOUT",
    "ECONNABORTED",
    "EHOSTUNREACH",
    "fetch failed",
    "Request failed with status code",
    "ConnectException",
    "UnknownHostException",
    "ConnectionRefusedError",
    "Failed to establish a new connection",
];

/// Markers of a locator that matched nothing, or the wrong number of elements.
pub(super) const LOCATOR_MARKERS: &[&str] = &[
    "element(s) not found",
    "strict mode violation",
    "NoSuchElementException",
    "no such element",
    "Unable to locate element",
    "Expected to find element",
    "still not existing after",
    "element wasn't found",
    "No element found for selector",
    "Unable to find element",
    "Unable to find an element",
];

/// Markers of a failed value assertion.
pub(super) const ASSERTION_MARKERS: &[&str] = &[
    "expect(",
    "AssertionError",
    "AssertionFailedError",
    "ComparisonFailure",
    "Failed asserting that",
    "assertion failed",
    "assertion `left",
    "Expect $(",
    "Expected: ",
    "toBe",
    "toEqual",
    "toHave",
    "toContain",
    "toMatch",
];

/// Markers of a wait that ran out of time without a more specific cause.
pub(super) const TIMEOUT_MARKERS: &[&str] = &[
    "TimeoutError",
    "TimeoutException",
    "Timed out",
    "timed out",
    "deadline exceeded",
    "exceeded timeout",
    // WebdriverIO's waitForDisplayed / waitForClickable / waitForEnabled.
    "still not displayed after",
    "still not clickable after",
    "still not enabled after",
];

/// Playwright (`waiting for locator('#pay')`, `waiting for getByRole(...)`, the pre-1.14
/// `waiting for selector "#pay"`) and Puppeteer (``Waiting for selector `#pay` failed``) waits on a locator.
static LOCATOR_WAIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)waiting for (?:locator\(|getBy[A-Za-z]+\(|selector [`"'])"#).expect("valid regex")
});

/// Playwright's `Timeout 30000ms exceeded` (and `Waiting failed: 30000ms exceeded`).
static TIMEOUT_EXCEEDED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:timeout|timeout of|waiting failed:?)\s+\d+\s?ms exceeded").expect("valid regex")
});

/// The error kind of a failure, from its message and stack.
pub fn classify(message: &str, stack: Option<&str>) -> ErrorKind {
    let markers = markers::scan(message).union(stack.map(markers::scan).unwrap_or_default());
    classify_marked(message, stack, markers)
}

/// [`classify`] once the markers of message and stack are known: the groups are checked in order, and
/// the two regexes run only when their anchors are present.
pub(super) fn classify_marked(message: &str, stack: Option<&str>, markers: Markers) -> ErrorKind {
    if markers.any(Markers::CRASH) {
        ErrorKind::Crash
    } else if markers.any(Markers::NETWORK) {
        ErrorKind::Network
    } else if is_locator_failure(message, stack, markers) {
        ErrorKind::LocatorNotFound
    } else if markers.any(Markers::ASSERTION) {
        ErrorKind::Assertion
    } else if markers.any(Markers::TIMEOUT)
        || (markers.any(Markers::EXCEEDED) && timeout_exceeded(message, stack))
    {
        ErrorKind::Timeout
    } else {
        ErrorKind::Other
    }
}

/// Whether the text says a locator matched nothing. A wait on a locator counts only when the locator
/// never resolved: Playwright logs `locator resolved to <...>` once it found the element, and a timeout
/// after that (not visible, not enabled, value mismatch) is not a locator failure.
fn is_locator_failure(message: &str, stack: Option<&str>, markers: Markers) -> bool {
    if markers.any(Markers::LOCATOR) {
        return true;
    }
    // The wait pattern has no line break, so it matches the joined text iff it matches one of the parts.
    markers.any(Markers::WAITING_FOR)
        && !markers.any(Markers::RESOLVED)
        && (LOCATOR_WAIT.is_match(message) || stack.is_some_and(|stack| LOCATOR_WAIT.is_match(stack)))
}

/// `Timeout 30000ms exceeded`, which may run over the line break between message and stack.
fn timeout_exceeded(message: &str, stack: Option<&str>) -> bool {
    match stack {
        Some(stack) if !stack.is_empty() => TIMEOUT_EXCEEDED.is_match(&format!("{message}\n{stack}")),
        _ => TIMEOUT_EXCEEDED.is_match(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorKind::*;

    /// (message, stack, expected kind). Messages follow the formats the tools document and print.
    const CASES: &[(&str, Option<&str>, ErrorKind)] = &[
        // Playwright
        (
            "TimeoutError: locator.click: Timeout 30000ms exceeded.\nCall log:\n  - waiting for locator('#pay')",
            None,
            LocatorNotFound,
        ),
        (
            "Error: locator.fill: Timeout 5000ms exceeded.\nCall log:\n  - waiting for getByRole('textbox', { name: 'Email' })",
            None,
            LocatorNotFound,
        ),
        (
            "Error: strict mode violation: locator('button') resolved to 3 elements:\n    1) <button>Add</button>",
            None,
            LocatorNotFound,
        ),
        (
            "Error: Timed out 5000ms waiting for expect(locator).toBeVisible()\n\nLocator: getByTestId('checkout')\nExpected: visible\nReceived: <element(s) not found>",
            None,
            LocatorNotFound,
        ),
        (
            "TimeoutError: locator.click: Timeout 30000ms exceeded.\nCall log:\n  - waiting for locator('#pay')\n  - locator resolved to <button id=\"pay\" disabled>Pay</button>\n  - element is not enabled",
            None,
            Timeout,
        ),
        ("TimeoutError: page.waitForURL: Timeout 10000ms exceeded.", None, Timeout),
        (
            "page.click: Timeout 30000ms exceeded.\n=== logs ===\nwaiting for selector \"#submit\"",
            None,
            LocatorNotFound,
        ),
        (
            "Error: expect(locator).toHaveText(expected) failed\n\nLocator: locator('#total')\nExpected string: \"$10.00\"\nReceived string: \"$12.00\"\nCall log:\n  - waiting for locator('#total')\n  -   locator resolved to <span id=\"total\">$12.00</span>",
            None,
            Assertion,
        ),
        (
            "Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 3\nReceived: 2",
            None,
            Assertion,
        ),
        ("Error: expect(received).toEqual(expected) // deep equality", None, Assertion),
        ("Error: page.goto: net::ERR_CONNECTION_REFUSED at http://localhost:3000/checkout", None, Network),
        ("Error: page.goto: net::ERR_NAME_NOT_RESOLVED at https://shop.test/", None, Network),
        ("Error: locator.click: Target closed", None, Crash),
        (
            "Error: locator.click: Target page, context or browser has been closed\nCall log:\n  - waiting for locator('#pay')",
            None,
            Crash,
        ),
        ("Error: browserType.launch: Browser closed.", None, Crash),
        ("Error: page crashed", None, Crash),
        // Selenium
        (
            "selenium.common.exceptions.NoSuchElementException: Message: no such element: Unable to locate element: {\"method\":\"css selector\",\"selector\":\"#pay\"}",
            None,
            LocatorNotFound,
        ),
        (
            "org.openqa.selenium.NoSuchElementException: no such element: Unable to locate element: {\"method\":\"xpath\",\"selector\":\"//button[@id='pay']\"}",
            None,
            LocatorNotFound,
        ),
        ("selenium.common.exceptions.TimeoutException: Message: ", None, Timeout),
        (
            "selenium.common.exceptions.WebDriverException: Message: unknown error: net::ERR_CONNECTION_REFUSED",
            None,
            Network,
        ),
        ("selenium.common.exceptions.InvalidSessionIdException: Message: invalid session id", None, Crash),
        // Cypress
        (
            "AssertionError: Timed out retrying after 4000ms: Expected to find element: `[data-cy=pay]`, but never found it.",
            None,
            LocatorNotFound,
        ),
        ("AssertionError: expected 'Total: $12' to equal 'Total: $10'", None, Assertion),
        (
            "CypressError: `cy.visit()` failed trying to load:\n\nhttp://localhost:3000/\n\nError: connect ECONNREFUSED 127.0.0.1:3000",
            None,
            Network,
        ),
        ("CypressError: Timed out after waiting `60000ms` for your remote page to load.", None, Timeout),
        // Puppeteer / WebdriverIO
        (
            "TimeoutError: Waiting for selector `#pay` failed: Waiting failed: 30000ms exceeded",
            None,
            LocatorNotFound,
        ),
        ("TimeoutError: Navigation timeout of 30000 ms exceeded", None, Timeout),
        ("Error: getaddrinfo ENOTFOUND api.shop.test", None, Network),
        ("Error: element (\"#pay\") still not existing after 5000ms", None, LocatorNotFound),
        (
            "Error: Can't call click on element with selector \"#pay\" because element wasn't found",
            None,
            LocatorNotFound,
        ),
        ("Error: Protocol error (Runtime.callFunctionOn): Target closed.", None, Crash),
        // The stack counts too; plain errors are other.
        (
            "Error: boom",
            Some("AssertionError [ERR_ASSERTION]: false == true\n    at Context.<anonymous>"),
            Assertion,
        ),
        ("TypeError: Cannot read properties of undefined (reading 'price')", None, Other),
        ("Error: No element found for selector: #pay", None, LocatorNotFound),
        // Other runners' reports (JUnit, pytest, PHPUnit, mocha, Rust).
        ("org.opentest4j.AssertionFailedError: expected: <3> but was: <2>", None, Assertion),
        ("Failed asserting that false is true.", None, Assertion),
        ("assertion `left == right` failed\n  left: 1\n right: 2", None, Assertion),
        (
            "Error: Timeout of 2000ms exceeded. For async tests and hooks, ensure \"done()\" is called",
            None,
            Timeout,
        ),
        ("java.net.ConnectException: Connection refused", None, Network),
        ("AxiosError: Request failed with status code 503", None, Network),
        ("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory", None, Crash),
        ("Error: Worker process exited unexpectedly", None, Crash),
        ("", None, Other),
    ];

    #[test]
    fn classifies_documented_tool_messages() {
        for (message, stack, expected) in CASES {
            assert_eq!(classify(message, *stack), *expected, "message: {message:?}");
        }
    }

    /// The straightforward classification (the joined text searched marker by marker) that the marker
    /// automaton replaced: both must agree on every text.
    fn classify_reference(message: &str, stack: Option<&str>) -> ErrorKind {
        let text = match stack {
            Some(stack) if !stack.is_empty() => format!("{message}\n{stack}"),
            _ => message.to_owned(),
        };
        let contains_any = |markers: &[&str]| markers.iter().any(|marker| text.contains(marker));
        if contains_any(CRASH_MARKERS) {
            Crash
        } else if contains_any(NETWORK_MARKERS) {
            Network
        } else if contains_any(LOCATOR_MARKERS)
            || (LOCATOR_WAIT.is_match(&text)
                && !text.contains("locator resolved to")
                && !text.contains("selector resolved to"))
        {
            LocatorNotFound
        } else if contains_any(ASSERTION_MARKERS) {
            Assertion
        } else if contains_any(TIMEOUT_MARKERS) || TIMEOUT_EXCEEDED.is_match(&text) {
            Timeout
        } else {
            Other
        }
    }

    #[test]
    fn the_marker_automaton_agrees_with_the_marker_by_marker_search() {
        let mut texts: Vec<String> = CASES.iter().map(|(message, _, _)| (*message).to_owned()).collect();
        texts.extend(CASES.iter().filter_map(|(_, stack, _)| stack.map(str::to_owned)));
        texts.extend(
            [
                "WAITING FOR LOCATOR('#pay')",
                "Waiting For getByRole('button')",
                "page.click: TIMEOUT 3000MS EXCEEDED",
                "Timeout",
                "5000ms exceeded",
                "element(s) not found",
                "waiting for locator('#a')\n  - locator resolved to <a>",
                "crashed while waiting for locator('#a')",
            ]
            .map(str::to_owned),
        );
        for message in &texts {
            for stack in [None, Some(""), Some("5000ms exceeded"), Some("waiting for locator('#x')")] {
                for stack in stack
                    .into_iter()
                    .map(Some)
                    .chain(texts.iter().take(12).map(|text| Some(text.as_str())).chain([None]))
                {
                    assert_eq!(
                        classify(message, stack),
                        classify_reference(message, stack),
                        "{message:?} / {stack:?}"
                    );
                }
            }
        }
        // A timeout split over the line between message and stack.
        assert_eq!(classify("page.click: Timeout", Some("5000ms exceeded")), Timeout);
    }

    #[test]
    fn the_table_covers_every_kind() {
        for kind in [LocatorNotFound, Timeout, Assertion, Network, Crash, Other] {
            assert!(CASES.iter().any(|(_, _, expected)| *expected == kind), "no case for {kind}");
        }
    }
}
