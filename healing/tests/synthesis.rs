//! Selector synthesis over whole fixture pages: every candidate gets selectors that resolve to exactly
//! itself, never built from generated ids or classes.

use argus_healing::{CandidatePage, PageLimits, describe, synthesise};
use argus_vocabulary::ElementDescriptor;

const SHOP_V1: &str = include_str!("fixtures/shop_v1.html");
const SHOP_V2: &str = include_str!("fixtures/shop_v2.html");

fn parse(html: &str) -> CandidatePage {
    CandidatePage::parse(html, &PageLimits::default()).expect("fixture parses")
}

#[test]
fn every_candidate_gets_selectors_that_resolve_to_exactly_itself() {
    for (name, html) in [("v1", SHOP_V1), ("v2", SHOP_V2)] {
        let page = parse(html);
        assert!(page.candidates().len() > 100, "{name} has a realistic size");
        for index in 0..page.candidates().len() {
            let selector = synthesise(&page, index).unwrap_or_else(|| panic!("{name}#{index}: no selector"));
            assert_eq!(
                page.resolve(&selector.css).expect("css parses"),
                [index],
                "{name}: css {}",
                selector.css
            );
            let xpath = selector.xpath.as_deref().unwrap_or_else(|| panic!("{name}#{index}: no xpath"));
            assert_eq!(page.resolve(xpath).expect("xpath parses"), [index], "{name}: xpath {xpath}");
            if let Some(playwright) = selector.playwright.as_deref() {
                assert_eq!(
                    page.resolve(playwright).expect("playwright parses"),
                    [index],
                    "{name}: {playwright}"
                );
            }
        }
    }
}

#[test]
fn generated_ids_and_classes_never_appear_in_selectors() {
    let page = parse(SHOP_V2);
    for index in 0..page.candidates().len() {
        let selector = synthesise(&page, index).expect("selector");
        for generated in ["ember412", "css-1x2y3z", "css-9k2j3h", "sc-bdVaJa", "q1w2e3"] {
            assert!(!selector.css.contains(generated), "css {} uses {generated}", selector.css);
            assert!(
                !selector.xpath.as_deref().unwrap_or_default().contains(generated),
                "xpath {:?} uses {generated}",
                selector.xpath
            );
        }
    }
}

#[test]
fn prefers_test_ids_then_ids_then_names_and_never_absolute_paths_when_avoidable() {
    let page = parse(SHOP_V1);
    let css_of = |locator: &str| {
        let index = page.resolve(locator).expect("resolves")[0];
        synthesise(&page, index).expect("selector").css
    };
    assert_eq!(css_of("#buy-now"), "[data-testid=\"buy-now\"]");
    assert_eq!(css_of("#email"), "#email");
    assert_eq!(css_of("input[name=q]"), "input[name=\"q\"]");
    let seventh = css_of("//section[@id='products']/article[7]/button[1]");
    assert!(!seventh.starts_with("html"), "anchored, not absolute: {seventh}");
    assert!(seventh.contains("NW-1007") || seventh.contains("#products"), "{seventh}");
}

#[test]
fn attribute_values_with_quotes_are_escaped() {
    let page = parse(SHOP_V2);
    let index = page.resolve("footer button").expect("resolves")[0];
    let selector = synthesise(&page, index).expect("selector");
    assert_eq!(selector.css, r#"button[aria-label="Remove \"Linen Shirt\" from cart"]"#);
    assert_eq!(selector.xpath.as_deref(), Some(r#"//button[@aria-label='Remove "Linen Shirt" from cart']"#));
    assert_eq!(page.resolve(&selector.css).expect("css parses"), [index]);
}

#[test]
fn ids_that_need_escaping_are_escaped_and_still_resolve() {
    let page = parse(r#"<body><div id="1st.item"><a href="/a">a</a></div><p id='it"s'>q</p></body>"#);
    for locator in ["div", "p"] {
        let index = page.resolve(locator).expect("resolves")[0];
        let selector = synthesise(&page, index).expect("selector");
        assert_eq!(page.resolve(&selector.css).expect("css parses"), [index], "{}", selector.css);
        let xpath = selector.xpath.expect("xpath");
        assert_eq!(page.resolve(&xpath).expect("xpath parses"), [index], "{xpath}");
    }
}

#[test]
fn describe_fills_paths_text_and_neighbour_text() {
    let page = parse(SHOP_V1);
    let descriptor = describe(&page, "#zip").expect("parses").expect("one");
    assert_eq!(descriptor.tag, "input");
    assert_eq!(descriptor.name.as_deref(), Some("zip"));
    assert_eq!(descriptor.placeholder.as_deref(), Some("12345"));
    assert_eq!(descriptor.attributes.get("autocomplete").map(String::as_str), Some("postal-code"));
    assert_eq!(descriptor.xpath.as_deref(), Some("/html[1]/body[1]/aside[1]/form[1]/div[3]/input[1]"));
    assert_eq!(descriptor.id_xpath.as_deref(), Some("//*[@id=\"zip\"]"));
    assert_eq!(descriptor.neighbour_text.as_deref(), Some("Postal code"));
    let button =
        describe(&page, "getByRole('button', { name: 'Place order' })").expect("parses").expect("one");
    assert_eq!(button.text.as_deref(), Some("Place order"));
    assert_eq!(button.id_xpath.as_deref(), Some("//*[@id=\"place-order\"]"));
    let card_title = describe(&page, "(//h3)[7]").expect("parses").expect("one");
    assert_eq!(card_title.text.as_deref(), Some("Trail Sneakers"));
    assert_eq!(card_title.id_xpath.as_deref(), Some("//*[@id=\"products\"]/article[7]/h3[1]"));
}

#[test]
fn describe_is_none_for_no_match_and_for_many() {
    let page = parse(SHOP_V1);
    assert_eq!(describe(&page, "#does-not-exist").expect("parses"), None);
    assert_eq!(describe(&page, "[data-testid=add-to-cart]").expect("parses"), None);
    assert!(describe(&page, "button >> nth=1").is_err());
}

#[test]
fn descriptor_only_pages_synthesise_from_descriptors() {
    let descriptor = |tag: &str, f: &dyn Fn(&mut ElementDescriptor)| {
        let mut d = ElementDescriptor::with_tag(tag);
        f(&mut d);
        d
    };
    let page = CandidatePage::from_descriptors(vec![
        descriptor("button", &|d| {
            d.class = Some("btn primary".into());
            d.text = Some("Pay".into());
            d.id = Some(":r3:".into());
        }),
        descriptor("button", &|d| {
            d.class = Some("btn".into());
            d.text = Some("Cancel".into());
        }),
        descriptor("input", &|d| d.name = Some("card".into())),
    ]);
    let pay = synthesise(&page, 0).expect("selector");
    assert_eq!(pay.css, "button.primary");
    assert_eq!(pay.playwright.as_deref(), Some("getByRole('button', { name: 'Pay' })"));
    assert_eq!(page.resolve(&pay.css).expect("resolves"), [0]);
    assert_eq!(synthesise(&page, 2).expect("selector").css, "input[name=\"card\"]");
    assert!(page.resolve("form > input").is_err(), "combinators need a dom");
    assert_eq!(page.resolve("//input[@name='card']").expect("resolves"), [2]);
}
