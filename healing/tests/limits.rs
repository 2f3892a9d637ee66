//! Page limits and hostile input: oversized pages fail with `TooLarge` naming the limit; malformed or
//! strange HTML never panics.

use argus_healing::{CandidatePage, EngineConfig, HealingError, PageLimits, Reference, relocate, synthesise};
use argus_vocabulary::ElementDescriptor;

fn too_large(result: Result<CandidatePage, HealingError>) -> (&'static str, usize, usize) {
    match result {
        Err(HealingError::TooLarge { what, limit, actual }) => (what, limit, actual),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn default_limits_are_the_documented_ones() {
    let limits = PageLimits::default();
    assert_eq!(
        (limits.max_html_bytes, limits.max_elements, limits.max_depth),
        (8 * 1024 * 1024, 50_000, 256)
    );
}

#[test]
fn too_many_bytes_is_rejected_before_parsing() {
    let limits = PageLimits { max_html_bytes: 100, ..PageLimits::default() };
    let html = format!("<body>{}</body>", "x".repeat(200));
    assert_eq!(too_large(CandidatePage::parse(&html, &limits)), ("html_bytes", 100, html.len()));
}

#[test]
fn too_many_elements_is_rejected_with_the_count() {
    let limits = PageLimits { max_elements: 50, ..PageLimits::default() };
    let html = format!("<body>{}</body>", "<p>x</p>".repeat(100));
    // html, head, body and the 100 paragraphs.
    assert_eq!(too_large(CandidatePage::parse(&html, &limits)), ("elements", 50, 103));
}

#[test]
fn ten_thousand_nested_elements_hit_the_depth_limit_without_overflowing() {
    let html = format!("<body>{}x{}</body>", "<div>".repeat(10_000), "</div>".repeat(10_000));
    let (what, limit, actual) = too_large(CandidatePage::parse(&html, &PageLimits::default()));
    assert_eq!((what, limit), ("depth", 256));
    assert!(actual > 256, "actual depth {actual}");
}

#[test]
fn nesting_just_under_the_limit_is_accepted() {
    // html and body take two levels.
    let html = format!("<body>{}x{}</body>", "<div>".repeat(254), "</div>".repeat(254));
    let page = CandidatePage::parse(&html, &PageLimits::default()).expect("within limits");
    assert_eq!(page.candidates().len(), 254);
    let deepest = page.candidates().len() - 1;
    assert_eq!(
        page.resolve(&synthesise(&page, deepest).expect("selector").css).expect("resolves"),
        [deepest]
    );
}

#[test]
fn malformed_and_strange_html_never_panics() {
    let cases = [
        String::new(),
        "<".into(),
        "<<<>>>".into(),
        "<div><span><a href='x'>unclosed".into(),
        "</div></div></body></html>".into(),
        "<table><tr><td><table><tr><td>nested</table>".into(),
        "<b><i><u><s>misnested</b></i></u></s>".repeat(50),
        "<button id='\u{0}'\u{0}>\u{0}nul</button>".into(),
        "<p class='\u{202e}rtl \u{1F600}' title='\u{FEFF}'>emoji 😀 ज़ 𝔘</p><input value='\"'\">".into(),
        "<svg><foreignObject><div>inside</div></foreignObject></svg><math><mi>x</mi></math>".into(),
        "<frameset><frame src=a></frameset>".into(),
        "<!-- unterminated comment <div>".into(),
        "<script>document.write('<div>')</script><div id=a>".into(),
        "<div id=\"a\" id=\"b\" class=\"\" data-testid=\"\"></div>".into(),
        format!("<body>{}</body>", "<b>".repeat(3_000)),
        "\u{FFFD}\u{10FFFF}<a\u{0} href=\u{1}>".into(),
    ];
    for html in &cases {
        let page = CandidatePage::parse(html, &PageLimits::default());
        let Ok(page) = page else { continue };
        for index in 0..page.candidates().len().min(200) {
            if let Some(selector) = synthesise(&page, index) {
                assert_eq!(
                    page.resolve(&selector.css).expect("css parses"),
                    [index],
                    "{html:?}: {}",
                    selector.css
                );
            }
        }
        let reference = Reference::Observed(ElementDescriptor {
            text: Some("inside".into()),
            ..ElementDescriptor::with_tag("div")
        });
        let relocation = relocate(&reference, &page, &EngineConfig::default());
        assert!((0.0..=1.0).contains(&relocation.confidence));
        for locator in ["text=x", "//div[1]", "getByRole('button')", "#a", "(//b)[last()]"] {
            let _ = page.resolve(locator).expect("supported syntax");
        }
    }
}

#[test]
fn garbage_locators_are_errors_not_panics() {
    let page = CandidatePage::parse("<body><a>x</a></body>", &PageLimits::default()).expect("parse");
    for locator in
        ["", "   ", "[[[", "//", "(//a", "getByRole(", "getByRole('x', { name: })", "text=/[/", "a:::b", "#"]
    {
        assert!(
            matches!(page.resolve(locator), Err(HealingError::UnsupportedLocator { .. })),
            "{locator:?} should be unsupported"
        );
    }
}
