//! Selector synthesis: a robust CSS selector, an XPath and (when one maps) a Playwright locator that
//! match exactly one element.
//!
//! Strategies are tried from most to least robust and every selector is verified by resolving it
//! against the page: test ids, a stable `#id`, `tag[name]`, `tag[aria-label]` (and other labelling
//! attributes), stable class combinations, then short paths anchored at the nearest ancestor with a test
//! id or stable id (Robula+-like: add the fewest steps and `:nth-of-type` predicates until unique), and
//! only as a last resort the absolute path from `html`. Generated-looking ids and classes are never used.

use argus_vocabulary::SuggestedLocator;
use scraper::Selector;

use crate::page::{CandidatePage, Dom};
use crate::score::{TEST_ATTRIBUTES, looks_generated};
use crate::xpath::XPath;

/// Longest attribute value worth putting in a selector; longer values are brittle and unreadable.
const MAX_VALUE_CHARS: usize = 80;
/// Selectors tried per element before falling back to the absolute path.
const MAX_TRIES: usize = 120;
/// Ancestors considered as anchors.
const MAX_ANCHORS: usize = 3;
/// Stable classes considered for combinations.
const MAX_CLASSES: usize = 6;

/// Selectors for candidate `index` of `page` (CSS unique in the page, an XPath, and a Playwright locator
/// when one maps); `None` when the index is out of range or nothing unique exists (only possible on
/// descriptor-only pages with duplicate descriptors).
pub fn synthesise(page: &CandidatePage, index: usize) -> Option<SuggestedLocator> {
    page.candidates().get(index)?;
    let synthesiser = Synthesiser { page, index, dom: page.dom(), tries: std::cell::Cell::new(0) };
    let css = synthesiser.css()?;
    let xpath = synthesiser.xpath();
    let playwright = synthesiser.playwright();
    Some(SuggestedLocator { css, xpath, playwright })
}

struct Synthesiser<'a> {
    page: &'a CandidatePage,
    index: usize,
    dom: Option<&'a Dom>,
    tries: std::cell::Cell<usize>,
}

/// One `tag[attr="value"]` strategy: attribute name, value.
type AttributeStrategy = (&'static str, String);

impl Synthesiser<'_> {
    fn descriptor(&self) -> &argus_vocabulary::ElementDescriptor {
        &self.page.candidates()[self.index].descriptor
    }

    fn tag(&self) -> &str {
        &self.descriptor().tag
    }

    /// Attribute strategies in order of robustness, with the values usable in a selector.
    fn attribute_strategies(&self) -> Vec<AttributeStrategy> {
        let d = self.descriptor();
        let usable = |value: Option<&str>| {
            value
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.chars().count() <= MAX_VALUE_CHARS)
                .map(str::to_owned)
        };
        let mut out = Vec::new();
        for name in TEST_ATTRIBUTES {
            if let Some(value) = usable(d.attribute(name)) {
                out.push((name, value));
            }
        }
        if let Some(id) = usable(d.id.as_deref()).filter(|id| !looks_generated(id)) {
            out.push(("id", id));
        }
        if let Some(name) = usable(d.name.as_deref()).filter(|name| !looks_generated(name)) {
            out.push(("name", name));
        }
        for (attribute, value) in [
            ("aria-label", d.aria_label.as_deref()),
            ("placeholder", d.placeholder.as_deref()),
            ("alt", d.alt.as_deref()),
            ("title", d.title.as_deref()),
            ("href", d.href.as_deref()),
            ("type", d.r#type.as_deref()),
        ] {
            if let Some(value) = usable(value).filter(|v| attribute != "href" || !looks_generated(v)) {
                out.push((attribute, value));
            }
        }
        out
    }

    fn stable_classes(&self) -> Vec<String> {
        let mut classes: Vec<String> = Vec::new();
        for class in self.descriptor().classes() {
            if !looks_generated(class) && !classes.iter().any(|c| c == class) {
                classes.push(class.to_owned());
            }
        }
        classes.truncate(MAX_CLASSES);
        classes
    }

    fn css_for_attribute(&self, name: &str, value: &str) -> String {
        match name {
            "id" => format!("#{}", css_identifier(value)),
            _ if TEST_ATTRIBUTES.contains(&name) => format!("[{name}={}]", css_string(value)),
            _ => format!("{}[{name}={}]", css_identifier(self.tag()), css_string(value)),
        }
    }

    fn css_unique(&self, css: &str) -> bool {
        self.tries.set(self.tries.get() + 1);
        match self.dom {
            Some(dom) => {
                let Ok(selector) = Selector::parse(css) else { return false };
                let target = self.page.candidates()[self.index].element;
                let (count, matched) = dom.select(&selector, 2);
                count == 1 && matched.first().copied().flatten() == target
            }
            None => match crate::locator::CompoundList::parse(css) {
                Ok(list) => {
                    let mut matching = self
                        .page
                        .candidates()
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| list.matches(&c.descriptor));
                    matches!((matching.next(), matching.next()), (Some((i, _)), None) if i == self.index)
                }
                Err(_) => false,
            },
        }
    }

    fn budget_left(&self) -> bool {
        self.tries.get() < MAX_TRIES
    }

    fn css(&self) -> Option<String> {
        for (name, value) in self.attribute_strategies() {
            let css = self.css_for_attribute(name, &value);
            if self.css_unique(&css) {
                return Some(css);
            }
        }
        let tag = css_identifier(self.tag());
        let classes = self.stable_classes();
        for combination in class_combinations(classes.len()) {
            let css = format!(
                "{tag}{}",
                combination.iter().map(|&i| format!(".{}", css_identifier(&classes[i]))).collect::<String>()
            );
            if self.css_unique(&css) {
                return Some(css);
            }
        }
        let Some(dom) = self.dom else {
            return (self.css_unique(&tag)).then_some(tag);
        };
        self.path_css(dom)
    }

    /// The most specific single-element form of the target: its test id, or tag and stable classes.
    fn target_forms(&self) -> Vec<String> {
        let mut forms = Vec::new();
        for (name, value) in self.attribute_strategies().into_iter().take(2) {
            forms.push(self.css_for_attribute(name, &value));
        }
        let classes = self.stable_classes();
        let tag = css_identifier(self.tag());
        if !classes.is_empty() {
            forms.push(format!(
                "{tag}{}",
                classes.iter().take(2).map(|c| format!(".{}", css_identifier(c))).collect::<String>()
            ));
        }
        forms.push(tag);
        forms
    }

    fn path_css(&self, dom: &Dom) -> Option<String> {
        let element = self.page.candidates()[self.index].element?;
        // The chain of arena elements from the target up to (excluding) `html`.
        let mut chain = vec![element];
        let mut current = dom.elements[element].parent;
        while let Some(parent) = current {
            if dom.elements[parent].parent.is_none() {
                break;
            }
            chain.push(parent);
            current = dom.elements[parent].parent;
        }
        let anchors: Vec<(usize, String)> = chain
            .iter()
            .enumerate()
            .skip(1)
            .filter_map(|(position, &e)| anchor_css(dom, e).map(|css| (position, css)))
            .filter(|(_, css)| self.anchor_unique(dom, css))
            .take(MAX_ANCHORS)
            .collect();
        let forms = self.target_forms();
        for (_, anchor) in &anchors {
            for form in &forms {
                let css = format!("{anchor} {form}");
                if self.css_unique(&css) {
                    return Some(css);
                }
            }
        }
        let step = |e: usize, indexed: bool| -> String {
            let node = &dom.elements[e];
            let tag = css_identifier(&node.tag);
            if indexed && node.same_tag_count > 1 {
                format!("{tag}:nth-of-type({})", node.same_tag_index)
            } else if indexed {
                tag
            } else {
                match node
                    .attribute("class")
                    .and_then(|c| c.split_ascii_whitespace().find(|c| !looks_generated(c)))
                {
                    Some(class) => format!("{tag}.{}", css_identifier(class)),
                    None => tag,
                }
            }
        };
        let chain_css = |length: usize, indexed: bool| -> String {
            chain[..length].iter().rev().map(|&e| step(e, indexed)).collect::<Vec<_>>().join(" > ")
        };
        let mut prefixes: Vec<(Option<usize>, String)> =
            anchors.iter().map(|(position, css)| (Some(*position), css.clone())).collect();
        prefixes.push((None, String::new()));
        for (anchor_position, prefix) in &prefixes {
            let limit = anchor_position.unwrap_or(chain.len());
            for length in 1..=limit {
                if !self.budget_left() {
                    break;
                }
                let joiner = if Some(length) == *anchor_position { " > " } else { " " };
                for indexed in [false, true] {
                    let body = chain_css(length, indexed);
                    let css = if prefix.is_empty() { body } else { format!("{prefix}{joiner}{body}") };
                    if self.css_unique(&css) {
                        return Some(css);
                    }
                }
            }
        }
        // Unique by construction: every step indexed, from the root.
        let css = format!("html > {}", chain_css(chain.len(), true));
        self.css_unique(&css).then_some(css)
    }

    fn anchor_unique(&self, dom: &Dom, css: &str) -> bool {
        Selector::parse(css).is_ok_and(|selector| dom.select(&selector, 2).0 == 1)
    }

    fn xpath_unique(&self, xpath: &str) -> bool {
        let Ok(parsed) = XPath::parse(xpath) else { return false };
        match self.dom {
            Some(dom) => {
                let target = self.page.candidates()[self.index].element;
                let matched = parsed.evaluate(dom);
                matched.len() == 1 && Some(matched[0]) == target
            }
            None if parsed.is_descriptor_testable() => {
                let mut matching = self
                    .page
                    .candidates()
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| parsed.matches_descriptor(&c.descriptor));
                matches!((matching.next(), matching.next()), (Some((i, _)), None) if i == self.index)
            }
            None => false,
        }
    }

    fn xpath(&self) -> Option<String> {
        let tag = self.tag().to_owned();
        for (name, value) in self.attribute_strategies() {
            let xpath = format!("//{tag}[@{name}={}]", xpath_literal(&value, '\''));
            if self.xpath_unique(&xpath) {
                return Some(xpath);
            }
        }
        if let Some(text) = self.descriptor().text.as_deref().filter(|t| t.chars().count() <= 50) {
            let xpath = format!("//{tag}[normalize-space()={}]", xpath_literal(text, '\''));
            if self.xpath_unique(&xpath) {
                return Some(xpath);
            }
        }
        let Some(dom) = self.dom else {
            // Without a dom, a stored xpath is unique when no other descriptor shares it.
            let own = self.descriptor().xpath.clone()?;
            let shared =
                self.page.candidates().iter().filter(|c| c.descriptor.xpath.as_deref() == Some(&own)).count();
            return (shared == 1).then_some(own);
        };
        let element = self.page.candidates()[self.index].element?;
        let mut steps = Vec::new();
        let mut current = Some(element);
        while let Some(e) = current {
            let node = &dom.elements[e];
            if e != element {
                let anchor = node
                    .attribute("data-testid")
                    .map(|v| ("data-testid", v))
                    .or_else(|| node.attribute("id").filter(|id| !looks_generated(id)).map(|v| ("id", v)));
                if let Some((name, value)) = anchor {
                    let relative: String = steps.iter().rev().map(|s: &String| format!("/{s}")).collect();
                    let xpath = format!("//*[@{name}={}]{relative}", xpath_literal(value, '\''));
                    if self.xpath_unique(&xpath) {
                        return Some(xpath);
                    }
                }
            }
            steps.push(format!("{}[{}]", node.tag, node.same_tag_index));
            current = node.parent;
        }
        let absolute = self.descriptor().xpath.clone()?;
        self.xpath_unique(&absolute).then_some(absolute)
    }

    fn playwright_unique(&self, locator: &str) -> bool {
        self.page.resolve(locator).is_ok_and(|matched| matched == [self.index])
    }

    fn playwright(&self) -> Option<String> {
        let candidate = &self.page.candidates()[self.index];
        let d = &candidate.descriptor;
        if let Some(test_id) = d.data_testid.as_deref() {
            let locator = format!("getByTestId({})", js_string(test_id));
            if self.playwright_unique(&locator) {
                return Some(locator);
            }
        }
        if let (Some(role), Some(name)) = (candidate.role.as_deref(), candidate.accessible_name.as_deref())
            && name.chars().count() <= MAX_VALUE_CHARS
        {
            for exact in ["", ", exact: true"] {
                let locator =
                    format!("getByRole({}, {{ name: {}{exact} }})", js_string(role), js_string(name));
                if self.playwright_unique(&locator) {
                    return Some(locator);
                }
            }
        }
        for (method, value) in
            [("getByLabel", candidate.label.as_deref()), ("getByPlaceholder", d.placeholder.as_deref())]
        {
            if let Some(value) = value.filter(|v| v.chars().count() <= MAX_VALUE_CHARS) {
                let locator = format!("{method}({}, {{ exact: true }})", js_string(value));
                if self.playwright_unique(&locator) {
                    return Some(locator);
                }
            }
        }
        None
    }
}

/// A CSS selector for an ancestor usable as an anchor: its test id or its stable id.
fn anchor_css(dom: &Dom, element: usize) -> Option<String> {
    let node = &dom.elements[element];
    for name in TEST_ATTRIBUTES {
        if let Some(value) = node.attribute(name).filter(|v| !v.trim().is_empty()) {
            return Some(format!("[{name}={}]", css_string(value)));
        }
    }
    if let Some(id) = node.attribute("id").filter(|id| !id.trim().is_empty() && !looks_generated(id)) {
        return Some(format!("#{}", css_identifier(id)));
    }
    // Other data attributes often carry a domain key (`data-sku`, `data-product-id`).
    node.attributes
        .iter()
        .filter(|(name, value)| {
            name.starts_with("data-")
                && !value.trim().is_empty()
                && value.chars().count() <= MAX_VALUE_CHARS
                && !looks_generated(value)
        })
        .map(|(name, value)| format!("[{}={}]", css_identifier(name), css_string(value)))
        .next()
}

/// Index combinations of 1, 2 and 3 classes, smallest first.
fn class_combinations(n: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    for i in 0..n {
        for j in i + 1..n {
            out.push(vec![i, j]);
        }
    }
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                out.push(vec![i, j, k]);
            }
        }
    }
    out
}

/// `CSS.escape()`: an identifier usable after `#` or `.`.
pub fn css_identifier(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let chars: Vec<char> = value.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\0' => out.push('\u{fffd}'),
            '\u{1}'..='\u{1f}' | '\u{7f}' => out.push_str(&format!("\\{:x} ", c as u32)),
            '0'..='9' if i == 0 || (i == 1 && chars[0] == '-') => out.push_str(&format!("\\{:x} ", c as u32)),
            '-' if i == 0 && chars.len() == 1 => out.push_str("\\-"),
            c if c as u32 >= 0x80 || c == '-' || c == '_' || c.is_ascii_alphanumeric() => out.push(c),
            c => {
                out.push('\\');
                out.push(c);
            }
        }
    }
    out
}

/// A double-quoted CSS string.
pub fn css_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\0' => out.push('\u{fffd}'),
            '\u{1}'..='\u{1f}' | '\u{7f}' => out.push_str(&format!("\\{:x} ", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An XPath string literal, in `preferred` quotes when possible, else `concat(…)`.
pub fn xpath_literal(value: &str, preferred: char) -> String {
    let other = if preferred == '"' { '\'' } else { '"' };
    if !value.contains(preferred) {
        return format!("{preferred}{value}{preferred}");
    }
    if !value.contains(other) {
        return format!("{other}{value}{other}");
    }
    let parts: Vec<String> = value.split('\'').map(|part| format!("'{part}'")).collect();
    format!("concat({})", parts.join(", \"'\", "))
}

/// A single-quoted JavaScript string.
fn js_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_identifier_follows_css_escape() {
        assert_eq!(css_identifier("pay"), "pay");
        assert_eq!(css_identifier("1st"), "\\31 st");
        assert_eq!(css_identifier("-2x"), "-\\32 x");
        assert_eq!(css_identifier("-"), "\\-");
        assert_eq!(css_identifier("a:b.c"), "a\\:b\\.c");
        assert_eq!(css_identifier("ünï"), "ünï");
    }

    #[test]
    fn strings_escape_their_quotes() {
        assert_eq!(css_string(r#"say "hi" \o/"#), r#""say \"hi\" \\o/""#);
        assert_eq!(xpath_literal("it's", '\''), "\"it's\"");
        assert_eq!(xpath_literal(r#"it's "x""#, '\''), r#"concat('it', "'", 's "x"')"#);
        assert_eq!(js_string("it's"), r"'it\'s'");
    }

    #[test]
    fn escaped_selectors_parse() {
        for css in
            [format!("#{}", css_identifier("1:weird.id")), format!("[data-x={}]", css_string("a\"b\\c"))]
        {
            assert!(Selector::parse(&css).is_ok(), "{css}");
        }
    }
}
