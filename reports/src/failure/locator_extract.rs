//! Locator extraction: the locator a failure message names, for reporters that did not send it.
//!
//! Each supported tool prints the locator in its own way:
//! - Playwright: `waiting for locator('#pay')`, `Locator: getByTestId('pay')`,
//!   `strict mode violation: locator('button') resolved to 3 elements`, and before 1.14
//!   `waiting for selector "#pay"`. A single `locator('…')` call yields its selector; anything else
//!   (`getByRole('button', { name: 'Pay' })`, chains) is kept exactly as written, because that text is what
//!   the test author will search for in the spec.
//! - Selenium: `Unable to locate element: {"method":"css selector","selector":"#pay"}` and Java's
//!   `By.cssSelector: #pay` / `By.xpath: //…` / `By.id: pay`.
//! - Cypress: ``Expected to find element: `#pay`, but never found it``.
//! - Selenium with geckodriver: `Unable to locate element: #pay` (no JSON).
//! - Puppeteer: ``Waiting for selector `#pay` failed`` and `No element found for selector: #pay`.
//! - WebdriverIO: `element ("#pay") still not existing`, `element with selector "#pay"`.

use regex::Regex;
use std::sync::LazyLock;

/// Where Playwright prints a locator expression.
const PLAYWRIGHT_ANCHORS: &[&str] = &["waiting for ", "Locator: ", "strict mode violation: "];

/// Selenium's JSON locator (`{"method":"css selector","selector":"#pay"}`).
static SELENIUM_JSON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\{\s*"method"\s*:\s*"([^"]+)"\s*,\s*"selector"\s*:\s*("(?:[^"\\]|\\.)*")\s*\}"#)
        .expect("valid regex")
});

/// Selenium Java's `By` rendering (`By.cssSelector: #pay`), up to the end of the line or the wait's
/// `(tried for …)` suffix.
static SELENIUM_BY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"By\.(cssSelector|xpath|id|name): ([^\n]+?)(?: \(tried for [^\n]*)?\s*(?:\n|$)")
        .expect("valid regex")
});

/// Cypress and Puppeteer backtick forms, and Playwright's pre-1.14 `waiting for selector "#pay"`.
static BACKTICK_OR_QUOTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:expected to find element:|waiting for selector)\s*(?:`([^`]+)`|"((?:[^"\\]|\\.)*)")"#,
    )
    .expect("valid regex")
});

/// WebdriverIO's `element ("#pay") still not existing` and `element with selector "#pay"`.
static WEBDRIVERIO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"element (?:\(|with selector )"((?:[^"\\]|\\.)*)""#).expect("valid regex"));

/// geckodriver's `Unable to locate element: #pay` and Puppeteer's `No element found for selector: #pay`:
/// the selector runs to the end of the line (or geckodriver's `; For documentation…` suffix).
static PLAIN_SELECTOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:Unable to locate element|No element found for selector):[ \t]*([^\s{][^\n;]*?)[ \t]*(?:;|\n|$)",
    )
    .expect("valid regex")
});

/// The locator named in a failure message, if any of the supported tools' formats is found.
pub fn extract_locator(message: &str) -> Option<String> {
    if !super::markers::scan(message).may_name_a_locator() {
        return None;
    }
    extract_locator_unmarked(message)
}

/// [`extract_locator`] without the anchor check (for callers that scanned the markers already).
pub(super) fn extract_locator_unmarked(message: &str) -> Option<String> {
    playwright(message)
        .or_else(|| selenium(message))
        .or_else(|| backtick_or_quoted(message))
        .or_else(|| webdriverio(message))
        .or_else(|| plain_selector(message))
        .filter(|locator| !locator.trim().is_empty())
}

/// geckodriver's and Puppeteer's unquoted selector.
fn plain_selector(message: &str) -> Option<String> {
    Some(PLAIN_SELECTOR.captures(message)?.get(1)?.as_str().to_owned())
}

/// The first Playwright locator expression after one of the anchors, in message order.
fn playwright(message: &str) -> Option<String> {
    let mut anchors: Vec<usize> = PLAYWRIGHT_ANCHORS
        .iter()
        .flat_map(|anchor| message.match_indices(anchor).map(move |(at, _)| at + anchor.len()))
        .collect();
    anchors.sort_unstable();
    anchors.into_iter().find_map(|start| call_chain(&message[start..]))
}

/// Parses a Playwright locator expression at the start of `text`: `locator(...)` or `getBy*(...)`,
/// optionally followed by `.call(...)` links. A lone `locator('…')` yields its selector; anything else is
/// returned as written.
fn call_chain(text: &str) -> Option<String> {
    let mut end = 0;
    let mut calls = 0;
    let mut lone_selector = None;
    loop {
        let rest = &text[end..];
        let name_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        let name = &rest[..name_len];
        if calls == 0 && !(name == "locator" || name.starts_with("getBy")) {
            return None;
        }
        if name.is_empty() || !rest[name_len..].starts_with('(') {
            return None;
        }
        let args_start = end + name_len + 1;
        let args_len = balanced_arguments(&text[args_start..])?;
        let args = &text[args_start..args_start + args_len];
        if calls == 0 && name == "locator" {
            lone_selector = single_string_literal(args);
        }
        end = args_start + args_len + 1;
        calls += 1;
        // A chain continues with `.name(`.
        let next = &text[end..];
        let continues = next.strip_prefix('.').is_some_and(|after| {
            let len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            len > 0 && after[len..].starts_with('(')
        });
        if !continues {
            break;
        }
        end += 1;
    }
    match (calls, lone_selector) {
        (1, Some(selector)) => Some(selector),
        _ => Some(text[..end].to_owned()),
    }
}

/// The length of the argument list starting right after an opening parenthesis, up to (not including)
/// its closing parenthesis. Quote-aware, so `'a)b'` does not close it.
fn balanced_arguments(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        if let Some(open) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == open {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' | '`' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' if depth == 0 => return Some(at),
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            '\n' => return None,
            _ => {}
        }
    }
    None
}

/// The value of `args` when it is exactly one JavaScript string literal.
fn single_string_literal(args: &str) -> Option<String> {
    let args = args.trim();
    let quote = args.chars().next().filter(|c| matches!(c, '\'' | '"' | '`'))?;
    let body = args.strip_prefix(quote)?.strip_suffix(quote)?;
    let mut value = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.push(chars.next()?),
            c if c == quote => return None, // an unescaped quote: more than one literal
            c => value.push(c),
        }
    }
    Some(value)
}

/// Selenium's JSON or Java `By` locator.
fn selenium(message: &str) -> Option<String> {
    if let Some(captures) = SELENIUM_JSON.captures(message) {
        let method = captures.get(1)?.as_str();
        let selector: String = serde_json::from_str(captures.get(2)?.as_str()).ok()?;
        return match method {
            "css selector" | "xpath" | "tag name" => Some(selector),
            "id" => Some(format!("#{selector}")),
            "name" => Some(format!("[name=\"{selector}\"]")),
            _ => None,
        };
    }
    let captures = SELENIUM_BY.captures(message)?;
    let value = captures.get(2)?.as_str().trim();
    match captures.get(1)?.as_str() {
        "id" => Some(format!("#{value}")),
        "name" => Some(format!("[name=\"{value}\"]")),
        _ => Some(value.to_owned()),
    }
}

/// Cypress' and Puppeteer's backtick forms, Playwright's old double-quoted form.
fn backtick_or_quoted(message: &str) -> Option<String> {
    let captures = BACKTICK_OR_QUOTED.captures(message)?;
    if let Some(backticked) = captures.get(1) {
        return Some(backticked.as_str().to_owned());
    }
    unescape_double_quoted(captures.get(2)?.as_str())
}

/// WebdriverIO's quoted selector.
fn webdriverio(message: &str) -> Option<String> {
    unescape_double_quoted(WEBDRIVERIO.captures(message)?.get(1)?.as_str())
}

/// Removes backslash escapes from the body of a double-quoted string.
fn unescape_double_quoted(body: &str) -> Option<String> {
    single_string_literal(&format!("\"{body}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (message, expected locator). Messages follow the formats the tools document and print.
    const CASES: &[(&str, Option<&str>)] = &[
        // Playwright
        (
            "TimeoutError: locator.click: Timeout 30000ms exceeded.\nCall log:\n  - waiting for locator('#pay')",
            Some("#pay"),
        ),
        (
            "Error: locator.fill: Timeout 5000ms exceeded.\nCall log:\n  - waiting for getByRole('button', { name: 'Pay' })",
            Some("getByRole('button', { name: 'Pay' })"),
        ),
        ("  - waiting for getByTestId('checkout-submit')", Some("getByTestId('checkout-submit')")),
        ("  - waiting for locator('[data-test=\"pay\"]')", Some("[data-test=\"pay\"]")),
        ("  - waiting for locator('button:has-text(\\'Pay (1)\\')')", Some("button:has-text('Pay (1)')")),
        (
            "  - waiting for locator('#cart').getByRole('button', { name: /checkout/i })",
            Some("locator('#cart').getByRole('button', { name: /checkout/i })"),
        ),
        (
            "Error: strict mode violation: locator('button.primary') resolved to 2 elements:\n    1) <button class=\"primary\">Save</button>",
            Some("button.primary"),
        ),
        (
            "Error: Timed out 5000ms waiting for expect(locator).toBeVisible()\n\nLocator: getByLabel('Card number')\nExpected: visible\nReceived: <element(s) not found>",
            Some("getByLabel('Card number')"),
        ),
        (
            "page.click: Timeout 30000ms exceeded.\n=== logs ===\nwaiting for selector \"#submit\"",
            Some("#submit"),
        ),
        // Selenium
        (
            "NoSuchElementException: Message: no such element: Unable to locate element: {\"method\":\"css selector\",\"selector\":\"#x\"}",
            Some("#x"),
        ),
        (
            "no such element: Unable to locate element: {\"method\":\"xpath\",\"selector\":\"//button[@id=\\\"pay\\\"]\"}",
            Some("//button[@id=\"pay\"]"),
        ),
        (
            "Expected condition failed: waiting for visibility of element located by By.cssSelector: form > button.pay (tried for 10 second(s) with 500 milliseconds interval)",
            Some("form > button.pay"),
        ),
        (
            "org.openqa.selenium.NoSuchElementException: Cannot locate an element using By.id: pay-button",
            Some("#pay-button"),
        ),
        // Cypress
        (
            "AssertionError: Timed out retrying after 4000ms: Expected to find element: `[data-cy=pay]`, but never found it.",
            Some("[data-cy=pay]"),
        ),
        // Puppeteer
        ("TimeoutError: Waiting for selector `#pay` failed: Waiting failed: 30000ms exceeded", Some("#pay")),
        // WebdriverIO
        ("Error: element (\"#pay\") still not existing after 5000ms", Some("#pay")),
        (
            "Error: Can't call click on element with selector \"button=Pay\" because element wasn't found",
            Some("button=Pay"),
        ),
        // Selenium with geckodriver, Puppeteer's click on a missing element.
        (
            "selenium.common.exceptions.NoSuchElementException: Message: Unable to locate element: [data-test=\"pay\"]; For documentation on this error, please visit: https://www.selenium.dev/documentation/webdriver/troubleshooting/errors#no-such-element-exception",
            Some("[data-test=\"pay\"]"),
        ),
        ("Error: No element found for selector: #checkout > button", Some("#checkout > button")),
        // Nothing to extract.
        ("Error: expect(received).toBe(expected)\n\nExpected: 3\nReceived: 2", None),
        ("Error: page.goto: net::ERR_CONNECTION_REFUSED at http://localhost:3000/", None),
        ("  - waiting for navigation to \"/checkout\" until \"load\"", None),
        ("  - waiting for locator('#unterminated", None),
    ];

    #[test]
    fn extracts_locators_from_documented_tool_messages() {
        for (message, expected) in CASES {
            assert_eq!(extract_locator(message).as_deref(), *expected, "message: {message:?}");
        }
    }

    #[test]
    fn single_string_literal_rejects_two_literals() {
        assert_eq!(single_string_literal("'a', 'b'"), None);
        assert_eq!(single_string_literal("'a\\'b'").as_deref(), Some("a'b"));
    }
}
