//! End-to-end heals on the shop fixture: v1 is the page where the locators worked, v2 a redesign.
//! Every heal records the reference from v1 with `describe`, relocates it in v2, and checks the choice
//! and that the synthesised selectors resolve to exactly that element.

use argus_healing::{CandidatePage, EngineConfig, PageLimits, Reference, Relocation, describe, relocate};

const SHOP_V1: &str = include_str!("fixtures/shop_v1.html");
const SHOP_V2: &str = include_str!("fixtures/shop_v2.html");

fn parse(html: &str) -> CandidatePage {
    CandidatePage::parse(html, &PageLimits::default()).expect("fixture parses")
}

/// The single candidate `locator` matches.
fn only(page: &CandidatePage, locator: &str) -> usize {
    let matched = page.resolve(locator).expect("locator resolves");
    assert_eq!(matched.len(), 1, "{locator} should match one element, matched {matched:?}");
    matched[0]
}

/// Asserts the synthesised selectors of a relocation resolve to exactly its choice.
fn assert_selectors_resolve_to_choice(page: &CandidatePage, relocation: &Relocation) {
    let choice = relocation.choice.expect("a choice");
    let selector = relocation.selector.as_ref().expect("a selector for the choice");
    assert_eq!(page.resolve(&selector.css).expect("css resolves"), [choice], "css {}", selector.css);
    let xpath = selector.xpath.as_deref().expect("an xpath");
    assert_eq!(page.resolve(xpath).expect("xpath resolves"), [choice], "xpath {xpath}");
    if let Some(playwright) = selector.playwright.as_deref() {
        assert_eq!(
            page.resolve(playwright).expect("playwright resolves"),
            [choice],
            "playwright {playwright}"
        );
    }
}

struct HealCase {
    name: &'static str,
    /// Locates the element in v1 (where the test still passed).
    v1: &'static str,
    /// Locates the same element in v2, for the assertion only.
    v2: &'static str,
}

const HEALS: &[HealCase] = &[
    HealCase { name: "renamed id", v1: "#login-btn", v2: "#signin-button" },
    HealCase { name: "hashed classes and generated id", v1: "#cart-link", v2: "a[href='/cart']" },
    HealCase { name: "moved deeper with a new id", v1: "#place-order", v2: "#checkout-submit" },
    HealCase { name: "siblings reordered", v1: "a[href='/deals']", v2: "nav a[href='/deals']" },
    HealCase {
        name: "changed text, same test id, hidden duplicate",
        v1: "[data-testid=buy-now]",
        v2: "#promo [data-testid=buy-now]",
    },
    HealCase {
        name: "input renamed, label and placeholder kept",
        v1: "input[name=zip]",
        v2: "input[name=postalCode]",
    },
    HealCase { name: "href query changed, path kept", v1: "#nav-catalog", v2: "a[href^='/catalog']" },
    HealCase {
        name: "7th of 12 repeated cards",
        v1: "//section[@id='products']/article[7]/button[1]",
        v2: "[data-sku='NW-1007'] [data-testid=add-to-cart]",
    },
    HealCase {
        name: "footer link with changed query",
        v1: "text=Help center",
        v2: "footer a[href^='/help']",
    },
];

#[test]
fn observed_references_heal_to_the_same_element_with_unique_selectors() {
    let (v1, v2) = (parse(SHOP_V1), parse(SHOP_V2));
    let config = EngineConfig::default();
    let mut failures = Vec::new();
    for case in HEALS {
        let reference = describe(&v1, case.v1).expect("v1 locator parses").expect("v1 locator matches one");
        let expected = only(&v2, case.v2);
        let relocation = relocate(&Reference::Observed(reference), &v2, &config);
        if relocation.choice != Some(expected) || relocation.confidence < config.abstain_below {
            failures.push(format!(
                "{}: expected {expected}, got {:?} at {:.2} ({})",
                case.name, relocation.choice, relocation.confidence, relocation.rationale
            ));
            continue;
        }
        assert_selectors_resolve_to_choice(&v2, &relocation);
        assert_eq!(relocation.ranked.first().map(|r| r.index), Some(expected), "{}", case.name);
    }
    assert!(failures.is_empty(), "failed heals:\n{}", failures.join("\n"));
}

#[test]
fn unchanged_element_heals_with_high_confidence() {
    let (v1, v2) = (parse(SHOP_V1), parse(SHOP_V2));
    let reference = describe(&v1, "#email").expect("parses").expect("matches");
    let relocation = relocate(&Reference::Observed(reference), &v2, &EngineConfig::default());
    assert_eq!(relocation.choice, Some(only(&v2, "#email")));
    assert!(relocation.confidence > 0.9, "confidence {}", relocation.confidence);
    assert_eq!(relocation.selector.as_ref().map(|s| s.css.as_str()), Some("#email"));
}

#[test]
fn seventh_card_is_told_apart_by_its_product_name() {
    let (v1, v2) = (parse(SHOP_V1), parse(SHOP_V2));
    let reference =
        describe(&v1, "//section[@id='products']/article[7]/button[1]").expect("parses").expect("one");
    assert!(reference.neighbour_text.as_deref().is_some_and(|n| n.starts_with("Trail Sneakers $120.00")));
    let relocation = relocate(&Reference::Observed(reference), &v2, &EngineConfig::default());
    let expected = only(&v2, "[data-sku='NW-1007'] button");
    assert_eq!(relocation.choice, Some(expected), "{}", relocation.rationale);
    let runner_up = relocation.ranked[1];
    assert!(relocation.ranked[0].score > runner_up.score, "the product name separates the cards");
    // Every card shares the test id, so the css must be anchored or indexed, never the bare test id.
    let css = &relocation.selector.as_ref().expect("selector").css;
    assert_ne!(css, "[data-testid=\"add-to-cart\"]");
    assert_selectors_resolve_to_choice(&v2, &relocation);
}

#[test]
fn hidden_duplicate_is_not_chosen() {
    let (v1, v2) = (parse(SHOP_V1), parse(SHOP_V2));
    let reference = describe(&v1, "[data-testid=buy-now]").expect("parses").expect("one");
    let relocation = relocate(&Reference::Observed(reference), &v2, &EngineConfig::default());
    let choice = relocation.choice.expect("heals");
    assert!(v2.candidates()[choice].visible);
    let hidden = only(&v2, ".sticky-bar [data-testid=buy-now]");
    assert!(!v2.candidates()[hidden].visible);
    assert_ne!(choice, hidden);
    // The test id is shared with the hidden copy, so it cannot be the selector on its own.
    let css = &relocation.selector.as_ref().expect("selector").css;
    assert_ne!(css, "[data-testid=\"buy-now\"]");
}

#[test]
fn removed_element_is_abstained_on() {
    let (v1, v2) = (parse(SHOP_V1), parse(SHOP_V2));
    let reference = describe(&v1, "#subscribe").expect("parses").expect("one");
    let relocation = relocate(&Reference::Observed(reference), &v2, &EngineConfig::default());
    assert_eq!(relocation.choice, None, "{}", relocation.rationale);
    assert!(relocation.confidence < 0.5);
    assert!(relocation.selector.is_none());
    assert!(relocation.rationale.starts_with("abstained"), "{}", relocation.rationale);
    assert!(!relocation.ranked.is_empty(), "the ranking is still reported");
}

#[test]
fn identical_candidates_without_a_separating_signal_are_abstained_on() {
    let page = parse(
        "<body><div class=row><button class='btn go'>Go</button></div>\
         <div class=row><button class='btn go'>Go</button></div></body>",
    );
    let reference = argus_vocabulary::ElementDescriptor {
        class: Some("btn go".into()),
        text: Some("Go".into()),
        ..argus_vocabulary::ElementDescriptor::with_tag("button")
    };
    let relocation = relocate(&Reference::Observed(reference), &page, &EngineConfig::default());
    assert_eq!(relocation.choice, None);
    assert!(relocation.rationale.contains("too alike"), "{}", relocation.rationale);
    assert!(relocation.ranked.len() >= 2);
    assert!((relocation.ranked[0].score - relocation.ranked[1].score).abs() < 1e-9);
}

#[test]
fn locator_only_role_and_name_finds_the_button_after_its_id_changed() {
    let v2 = parse(SHOP_V2);
    let relocation = relocate(
        &Reference::LocatorOnly("getByRole('button', { name: 'Place order' })".into()),
        &v2,
        &EngineConfig::default(),
    );
    assert_eq!(relocation.choice, Some(only(&v2, "#checkout-submit")), "{}", relocation.rationale);
    // Honestly lower: a locator-only heal never reaches the 0.9 apply band.
    let cap = EngineConfig::default().locator_only_cap;
    assert!(relocation.confidence >= 0.5 && relocation.confidence <= cap, "{}", relocation.confidence);
    assert_selectors_resolve_to_choice(&v2, &relocation);
}

#[test]
fn locator_only_old_id_alone_gives_low_confidence() {
    let v2 = parse(SHOP_V2);
    let relocation = relocate(&Reference::LocatorOnly("#place-order".into()), &v2, &EngineConfig::default());
    assert_eq!(relocation.choice, None, "{}", relocation.rationale);
    assert!(relocation.confidence < 0.3, "{}", relocation.confidence);
}

#[test]
fn locator_only_test_id_and_placeholder_heal() {
    let v2 = parse(SHOP_V2);
    let config = EngineConfig::default();
    let by_placeholder = relocate(&Reference::LocatorOnly("input[placeholder='12345']".into()), &v2, &config);
    assert_eq!(by_placeholder.choice, Some(only(&v2, "#postal-code")), "{}", by_placeholder.rationale);
    let by_label = relocate(&Reference::LocatorOnly("getByLabel('Postal code')".into()), &v2, &config);
    assert_eq!(by_label.choice, Some(only(&v2, "#postal-code")), "{}", by_label.rationale);
}

#[test]
fn unsupported_locator_only_reference_abstains_with_the_reason() {
    let v2 = parse(SHOP_V2);
    let relocation =
        relocate(&Reference::LocatorOnly("button >> nth=2".into()), &v2, &EngineConfig::default());
    assert_eq!(relocation.choice, None);
    assert_eq!(relocation.confidence, 0.0);
    assert!(relocation.rationale.contains("unsupported locator"), "{}", relocation.rationale);
}

#[test]
fn surviving_unique_test_id_heals_with_high_confidence_after_a_redesign() {
    // The product demo's case: id, classes and copy changed, the test id survived.
    let reference = argus_vocabulary::ElementDescriptor {
        id: Some("checkout-btn".into()),
        class: Some("btn primary".into()),
        text: Some("Checkout".into()),
        data_testid: Some("checkout".into()),
        ..argus_vocabulary::ElementDescriptor::with_tag("button")
    };
    let page = parse(
        "<body><nav><a href='/'>Home</a></nav><main><div class='css-9x8y7z'>\
         <button id='btn-8f3a9c' class='css-1q2w3e' data-testid='checkout'>Proceed to checkout</button>\
         <button class='secondary'>Continue shopping</button></div></main></body>",
    );
    let relocation = relocate(&Reference::Observed(reference), &page, &EngineConfig::default());
    assert_eq!(relocation.choice, Some(only(&page, "[data-testid=checkout]")), "{}", relocation.rationale);
    assert!(relocation.confidence >= 0.9, "confidence {}", relocation.confidence);
    assert!(relocation.evidence.unique_key_match);
    assert_selectors_resolve_to_choice(&page, &relocation);
}
