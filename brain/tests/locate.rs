//! `argus locate` through its testable core: JSON lines in, result lines, diagnostics and figures out.

use argus_brain::locate::{LocateOptions, LocateReport, locate_cases};
use serde_json::{Value, json};

/// Runs `input` and returns the report, the parsed output lines and the diagnostics.
fn run(input: &str, evaluate: bool) -> (LocateReport, Vec<Value>, String) {
    let mut output = Vec::new();
    let mut diagnostics = Vec::new();
    let options = LocateOptions { evaluate, ..LocateOptions::default() };
    let report = locate_cases(input.as_bytes(), &mut output, &mut diagnostics, &options, |_| {})
        .expect("in-memory streams do not fail");
    let lines = String::from_utf8(output)
        .expect("utf-8 output")
        .lines()
        .map(|line| serde_json::from_str(line).expect("every output line is json"))
        .collect();
    (report, lines, String::from_utf8(diagnostics).expect("utf-8 diagnostics"))
}

fn line(value: Value) -> String {
    format!("{value}\n")
}

fn shop_candidates() -> Value {
    json!([
        {"tag": "a", "href": "/", "text": "Home"},
        {"tag": "button", "id": "btn-8f3a9c", "class": "css-1q2w3e", "text": "Proceed to checkout",
         "data-testid": "checkout"},
        {"tag": "button", "class": "secondary", "text": "Continue shopping"},
        {"tag": "input", "name": "q", "placeholder": "Search"}
    ])
}

#[test]
fn candidate_cases_answer_with_index_confidence_and_selector() {
    let input = line(json!({
        "id": "checkout",
        "old": {"tag": "button", "id": "checkout-btn", "class": "btn primary", "text": "Checkout",
                "data-testid": "checkout", "unknown_field": 1},
        "candidates": shop_candidates(),
    }));
    let (report, lines, diagnostics) = run(&input, false);
    assert_eq!(report.n_cases, 1, "{diagnostics}");
    assert_eq!(lines[0]["id"], "checkout");
    assert_eq!(lines[0]["choice"], 1);
    let confidence = lines[0]["confidence"].as_f64().expect("a number");
    assert!(confidence >= 0.9, "a surviving unique test id is decisive: {confidence}");
    assert_eq!(lines[0]["selector"], "[data-testid=\"checkout\"]");
    assert_eq!(lines[0].as_object().map(|o| o.len()), Some(4), "exactly id, choice, confidence, selector");
}

#[test]
fn html_cases_index_the_page_candidates_and_locator_only_cases_heal() {
    let html = "<html><body><nav><a href='/'>Home</a><a href='/cart' id='nav-cart-7f3k2'>Cart</a></nav>\
                <main><form><label for=e>Email address</label><input id=e name=email>\
                <button type=submit>Sign in</button></form></main></body></html>";
    let input = [
        line(json!({"id": 1, "locator": "getByRole('button', { name: 'Sign in' })", "html": html})),
        line(json!({"id": "email", "locator": "#email-input", "html": html})),
    ]
    .concat();
    let (report, lines, diagnostics) = run(&input, false);
    assert_eq!(report.n_cases, 2, "{diagnostics}");
    // Candidates: nav, a, a, main, form, label, input, button.
    assert_eq!(lines[0]["id"], "1");
    assert_eq!(lines[0]["choice"], 7);
    let confidence = lines[0]["confidence"].as_f64().expect("a number");
    assert!(confidence > 0.5 && confidence < 0.95, "locator-only is honestly lower: {confidence}");
    assert!(lines[0]["selector"].is_string());
    // `#email-input` shares only a word with `id=e name=email`: the engine may try, but never with high
    // confidence, and any choice must be the email field.
    assert!(lines[1]["confidence"].as_f64().expect("a number") < 0.9);
    assert!(lines[1]["choice"].is_null() || lines[1]["choice"] == 6, "{}", lines[1]);
}

#[test]
fn bad_lines_are_reported_with_their_number_and_skipped() {
    let good =
        line(json!({"id": "ok", "old": {"tag": "a", "text": "Home"}, "candidates": shop_candidates()}));
    let input = [
        good.clone(),
        "not json\n".to_owned(),
        "\n".to_owned(),
        line(json!({"id": "no-tag", "old": {"text": "Home"}, "candidates": shop_candidates()})),
        line(json!({"id": "no-page", "old": {"tag": "a"}})),
        line(json!({"id": "bad-candidate", "old": {"tag": "a"}, "candidates": [{"tag": "a"}, {"id": "x"}]})),
        line(json!({"id": "no-reference", "candidates": shop_candidates()})),
        line(json!({"id": "bad-expected", "old": {"tag": "a"}, "candidates": [], "expected": "one"})),
        line(json!([1, 2])),
        good,
    ]
    .concat();
    let (report, lines, diagnostics) = run(&input, false);
    assert_eq!(report.n_cases, 2);
    assert_eq!(report.n_bad_lines, 7);
    assert_eq!(lines.len(), 2);
    for number in [2, 4, 5, 6, 7, 8, 9] {
        assert!(diagnostics.contains(&format!("line {number}: skipped")), "line {number}:\n{diagnostics}");
    }
    assert!(diagnostics.contains("tag"), "{diagnostics}");
    assert!(diagnostics.contains("candidate 1"), "{diagnostics}");
    assert!(!diagnostics.contains("line 3"), "blank lines are not errors: {diagnostics}");
}

#[test]
fn empty_candidates_abstain_instead_of_failing() {
    let (report, lines, _) = run(&line(json!({"id": "e", "old": {"tag": "a"}, "candidates": []})), false);
    assert_eq!(report.n_cases, 1);
    assert_eq!(lines[0]["choice"], Value::Null);
    assert_eq!(lines[0]["confidence"], 0.0);
    assert_eq!(lines[0]["selector"], Value::Null);
}

#[test]
fn hidden_candidates_lose_to_visible_look_alikes() {
    let input = line(json!({
        "id": "buy",
        "old": {"tag": "button", "text": "Buy now", "data-testid": "buy"},
        "candidates": [
            {"tag": "button", "text": "Buy now", "data-testid": "buy", "visible": false},
            {"tag": "button", "text": "Buy now", "data-testid": "buy", "class": "cta"}
        ]
    }));
    let (_, lines, _) = run(&input, false);
    assert_eq!(lines[0]["choice"], 1, "{}", lines[0]);
}

#[test]
fn evaluate_counts_top1_wrong_heals_abstentions_and_thresholds() {
    let right = line(json!({
        "id": "right", "expected": 1,
        "old": {"tag": "button", "text": "Checkout", "data-testid": "checkout"},
        "candidates": shop_candidates(),
    }));
    let removed = line(json!({
        "id": "removed", "expected": null,
        "old": {"tag": "select", "name": "currency", "text": "EUR USD"},
        "candidates": shop_candidates(),
    }));
    let unlabelled = line(json!({
        "id": "unlabelled",
        "old": {"tag": "a", "text": "Home"},
        "candidates": shop_candidates(),
    }));
    let (report, lines, _) = run(&[right, removed, unlabelled].concat(), true);
    assert_eq!(lines.len(), 3);
    let evaluation = report.evaluation.expect("figures");
    assert_eq!(evaluation.n_cases(), 2, "lines without `expected` are answered, not evaluated");
    assert_eq!(evaluation.n_expecting_element(), 1);
    assert_eq!(evaluation.top1_accuracy(), 1.0);
    assert_eq!(evaluation.wrong_heal_rate(), 0.0);
    assert_eq!(evaluation.abstention_rate(), 0.5);
    assert_eq!(evaluation.correct_abstention_rate(), Some(1.0));
    let at_half = evaluation.at_threshold(0.5);
    assert_eq!((at_half.answered, at_half.correct), (1, 1));
    assert_eq!(at_half.coverage, 0.5);
    let text = evaluation.to_string();
    for needle in
        ["top-1 accuracy", "wrong-heal rate", "abstention rate", "confidence >= 0.9", "time per case"]
    {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn progress_is_reported_in_bytes_read() {
    let input = line(json!({"id": "a", "old": {"tag": "a"}, "candidates": [{"tag": "a"}]})).repeat(3);
    let mut seen = Vec::new();
    locate_cases(input.as_bytes(), std::io::sink(), std::io::sink(), &LocateOptions::default(), |bytes| {
        seen.push(bytes)
    })
    .expect("runs");
    assert_eq!(seen.len(), 3);
    assert_eq!(seen.last().copied(), Some(input.len() as u64));
}
