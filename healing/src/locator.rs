//! Locators: parsing the strings tests use into a [`Query`], resolving a query against a page, and
//! turning a broken locator into the partial element it expects (for [`crate::Reference::LocatorOnly`]).
//!
//! Recognised forms: CSS (`css=` optional), XPath (`xpath=` optional, or anything starting with `/` or
//! `(`), Playwright engines (`text=`, `id=`, `data-testid=`, `role=button[name="Pay"]`) and calls
//! (`getByRole`, `getByTestId`, `getByText`, `getByLabel`, `getByPlaceholder`, `getByAltText`,
//! `getByTitle`, `locator('css')`, optionally after `page.` and followed by `.first()`, `.last()` or
//! `.nth(n)`), Selenium `By.id/name/className/cssSelector/xpath/linkText/tagName(...)`, and Cypress
//! `cy.get(...)`/`cy.contains(...)`.

use argus_vocabulary::ElementDescriptor;
use regex::Regex;
use scraper::Selector;

use crate::error::HealingError;
use crate::page::{CandidatePage, set_attribute};
use crate::xpath::XPath;

/// How a text argument matches (Playwright semantics).
#[derive(Debug, Clone)]
pub(crate) enum TextMatch {
    /// Case-insensitive substring after whitespace collapsing (the default).
    Substring(String),
    /// Whole-string, case-sensitive after whitespace collapsing (`exact: true`, quoted `text="…"`).
    Exact(String),
    /// A regular expression (`/…/i`).
    Pattern(Regex),
}

impl TextMatch {
    fn matches(&self, value: &str) -> bool {
        let value = collapse(value);
        match self {
            TextMatch::Substring(needle) => value.to_lowercase().contains(&needle.to_lowercase()),
            TextMatch::Exact(expected) => value == *expected,
            TextMatch::Pattern(regex) => regex.is_match(&value),
        }
    }

    /// The literal text, when there is one (patterns give their source).
    fn text(&self) -> String {
        match self {
            TextMatch::Substring(s) | TextMatch::Exact(s) => s.clone(),
            TextMatch::Pattern(regex) => {
                regex.as_str().trim_start_matches("(?i)").trim_matches(|c| c == '^' || c == '$').to_owned()
            }
        }
    }
}

/// What a locator selects.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Css(String),
    XPath(XPath),
    Text(TextMatch),
    TestId(String),
    Attribute { name: String, value: String },
    Role { role: String, name: Option<TextMatch> },
    Label(TextMatch),
    Placeholder(TextMatch),
    AltText(TextMatch),
    Title(TextMatch),
}

/// Which of the matches to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    First,
    Last,
    Nth(usize),
}

/// A parsed locator.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub(crate) target: Target,
    pick: Option<Pick>,
}

/// A partial element a broken locator expects, for locator-only relocation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expectation {
    pub(crate) descriptor: ElementDescriptor,
    pub(crate) accessible_name: Option<String>,
    pub(crate) label: Option<String>,
}

impl Query {
    /// Parses a locator string.
    pub(crate) fn parse(locator: &str) -> Result<Query, HealingError> {
        let trimmed = locator.trim();
        let trimmed = trimmed.strip_prefix("await ").map_or(trimmed, str::trim_start);
        if trimmed.is_empty() {
            return Err(HealingError::unsupported(locator, "empty locator"));
        }
        let unsupported = |reason: String| HealingError::unsupported(locator, reason);
        if trimmed.contains(" >> ") {
            return Err(unsupported("chained `>>` selectors are not supported".into()));
        }
        let simple = |target| Ok(Query { target, pick: None });
        if let Some(css) = trimmed.strip_prefix("css=") {
            return simple(css_target(css).map_err(unsupported)?);
        }
        if let Some(xpath) = trimmed.strip_prefix("xpath=") {
            return simple(Target::XPath(XPath::parse(xpath).map_err(unsupported)?));
        }
        if trimmed.starts_with('/') || trimmed.starts_with("(/") || trimmed.starts_with("./") {
            return simple(Target::XPath(XPath::parse(trimmed).map_err(unsupported)?));
        }
        if let Some(text) = trimmed.strip_prefix("text=") {
            return simple(Target::Text(engine_text(text).map_err(unsupported)?));
        }
        if let Some(id) = trimmed.strip_prefix("id=") {
            return simple(Target::Attribute { name: "id".into(), value: unquote(id).to_owned() });
        }
        for attribute in ["data-testid", "data-test-id", "data-test", "data-qa", "data-cy"] {
            if let Some(value) = trimmed.strip_prefix(attribute).and_then(|rest| rest.strip_prefix('=')) {
                let value = unquote(value).to_owned();
                return simple(if attribute == "data-testid" {
                    Target::TestId(value)
                } else {
                    Target::Attribute { name: attribute.into(), value }
                });
            }
        }
        if let Some(role) = trimmed.strip_prefix("role=") {
            return simple(role_engine(role).map_err(unsupported)?);
        }
        if looks_like_call(trimmed) {
            return parse_call(trimmed).map_err(unsupported);
        }
        simple(css_target(trimmed).map_err(unsupported)?)
    }

    /// Candidate indices the query matches on `page`, in document order.
    pub(crate) fn resolve(&self, page: &CandidatePage, locator: &str) -> Result<Vec<usize>, HealingError> {
        let candidates = page.candidates();
        let mut matched: Vec<usize> = match &self.target {
            Target::Css(css) => match page.dom() {
                Some(dom) => {
                    let selector = Selector::parse(css)
                        .map_err(|e| HealingError::unsupported(locator, format!("invalid css: {e}")))?;
                    dom.select(&selector, usize::MAX)
                        .1
                        .into_iter()
                        .flatten()
                        .filter_map(|e| dom.elements[e].candidate)
                        .collect()
                }
                None => {
                    let list = CompoundList::parse(css).map_err(|e| HealingError::unsupported(locator, e))?;
                    (0..candidates.len()).filter(|&i| list.matches(&candidates[i].descriptor)).collect()
                }
            },
            Target::XPath(xpath) => match page.dom() {
                Some(dom) => {
                    xpath.evaluate(dom).into_iter().filter_map(|e| dom.elements[e].candidate).collect()
                }
                None if xpath.is_descriptor_testable() => (0..candidates.len())
                    .filter(|&i| xpath.matches_descriptor(&candidates[i].descriptor))
                    .collect(),
                None => {
                    let wanted = normalise_xpath(locator.trim().trim_start_matches("xpath="));
                    (0..candidates.len())
                        .filter(|&i| {
                            let d = &candidates[i].descriptor;
                            [&d.xpath, &d.id_xpath]
                                .into_iter()
                                .flatten()
                                .any(|x| normalise_xpath(x) == wanted)
                        })
                        .collect()
                }
            },
            Target::Text(text) => {
                smallest(page, |c| c.descriptor.text.as_deref().is_some_and(|t| text.matches(t)))
            }
            Target::TestId(value) => {
                filter(page, |c| c.descriptor.data_testid.as_deref() == Some(value.as_str()))
            }
            Target::Attribute { name, value } => filter(page, |c| match name.as_str() {
                "class" => c.descriptor.classes().any(|class| class == value),
                _ => c.descriptor.attribute(name) == Some(value.as_str()),
            }),
            Target::Role { role, name } => filter(page, |c| {
                c.visible
                    && c.role.as_deref() == Some(role.as_str())
                    && name
                        .as_ref()
                        .is_none_or(|name| c.accessible_name.as_deref().is_some_and(|n| name.matches(n)))
            }),
            Target::Label(text) => filter(page, |c| {
                [c.label.as_deref(), c.descriptor.aria_label.as_deref()]
                    .into_iter()
                    .flatten()
                    .any(|l| text.matches(l))
            }),
            Target::Placeholder(text) => {
                filter(page, |c| c.descriptor.placeholder.as_deref().is_some_and(|p| text.matches(p)))
            }
            Target::AltText(text) => {
                filter(page, |c| c.descriptor.alt.as_deref().is_some_and(|p| text.matches(p)))
            }
            Target::Title(text) => {
                filter(page, |c| c.descriptor.title.as_deref().is_some_and(|p| text.matches(p)))
            }
        };
        matched.sort_unstable();
        matched.dedup();
        Ok(match self.pick {
            None => matched,
            Some(Pick::First) => matched.first().copied().into_iter().collect(),
            Some(Pick::Last) => matched.last().copied().into_iter().collect(),
            Some(Pick::Nth(n)) => matched.get(n).copied().into_iter().collect(),
        })
    }

    /// The partial element this locator expects.
    pub(crate) fn expectation(&self) -> Expectation {
        let mut expectation = Expectation::default();
        let descriptor = &mut expectation.descriptor;
        match &self.target {
            Target::Css(css) => {
                if let Ok(list) = CompoundList::parse_lenient(css)
                    && let Some(compound) = list.alternatives.first().and_then(|chain| chain.last())
                {
                    compound.fill(descriptor);
                    if let Some(text) = &compound.text {
                        descriptor.text = Some(text.clone());
                    }
                }
            }
            Target::XPath(xpath) => {
                let (tag, attributes, text) = xpath.expectation();
                if let Some(tag) = tag {
                    descriptor.tag = tag;
                }
                for (name, value) in attributes {
                    set_attribute(descriptor, &name, &value);
                }
                descriptor.text = text;
                if xpath.is_positional_chain() {
                    let source = self.source_xpath();
                    if xpath.starts_at_id() {
                        descriptor.id_xpath = source;
                    } else {
                        descriptor.xpath = source;
                    }
                }
            }
            Target::Text(text) => descriptor.text = Some(text.text()),
            Target::TestId(value) => descriptor.data_testid = Some(value.clone()),
            Target::Attribute { name, value } => set_attribute(descriptor, name, value),
            Target::Role { role, name } => {
                descriptor.role = Some(role.clone());
                // The tag a role usually comes with: when a redesign drops the role (an `<a>` that
                // lost its `href`), the tag still tells the link from the list item around it.
                if descriptor.tag.trim().is_empty() || descriptor.tag == "*" {
                    let tag = match role.as_str() {
                        "link" => "a",
                        "button" => "button",
                        "textbox" | "checkbox" | "radio" | "searchbox" => "input",
                        "combobox" | "listbox" => "select",
                        "img" => "img",
                        _ => "",
                    };
                    if !tag.is_empty() {
                        descriptor.tag = tag.to_owned();
                    }
                }
                expectation.accessible_name = name.as_ref().map(TextMatch::text);
            }
            Target::Label(text) => expectation.label = Some(text.text()),
            Target::Placeholder(text) => descriptor.placeholder = Some(text.text()),
            Target::AltText(text) => descriptor.alt = Some(text.text()),
            Target::Title(text) => descriptor.title = Some(text.text()),
        }
        expectation
    }

    fn source_xpath(&self) -> Option<String> {
        match &self.target {
            Target::XPath(xpath) => Some(xpath.to_source()),
            _ => None,
        }
    }
}

fn filter(page: &CandidatePage, keep: impl Fn(&crate::Candidate) -> bool) -> Vec<usize> {
    page.candidates().iter().enumerate().filter(|(_, c)| keep(c)).map(|(i, _)| i).collect()
}

/// Matching candidates that have no matching child candidate (the element holding the text, not its
/// ancestors).
fn smallest(page: &CandidatePage, keep: impl Fn(&crate::Candidate) -> bool) -> Vec<usize> {
    let candidates = page.candidates();
    let matched: Vec<bool> = candidates.iter().map(&keep).collect();
    let mut has_matching_child = vec![false; candidates.len()];
    for (i, candidate) in candidates.iter().enumerate() {
        if matched[i]
            && let Some(parent) = candidate.parent
        {
            has_matching_child[parent] = true;
        }
    }
    (0..candidates.len()).filter(|&i| matched[i] && !has_matching_child[i]).collect()
}

fn css_target(css: &str) -> Result<Target, String> {
    let css = css.trim();
    if css.is_empty() {
        return Err("empty css selector".into());
    }
    // Validated by the same parser that resolves it; descriptor-only pages re-check with theirs.
    Selector::parse(css).map_err(|e| format!("invalid css: {e}"))?;
    Ok(Target::Css(css.to_owned()))
}

fn engine_text(text: &str) -> Result<TextMatch, String> {
    let text = text.trim();
    if text.len() >= 2
        && (text.starts_with('"') && text.ends_with('"') || text.starts_with('\'') && text.ends_with('\''))
    {
        return Ok(TextMatch::Exact(collapse(&text[1..text.len() - 1])));
    }
    if text.starts_with('/') {
        return regex_literal(text);
    }
    Ok(TextMatch::Substring(collapse(text)))
}

fn regex_literal(text: &str) -> Result<TextMatch, String> {
    let end = text.rfind('/').filter(|&end| end > 0).ok_or("unterminated regular expression")?;
    let (source, flags) = (&text[1..end], &text[end + 1..]);
    let pattern = if flags.contains('i') { format!("(?i){source}") } else { source.to_owned() };
    Regex::new(&pattern).map(TextMatch::Pattern).map_err(|e| format!("invalid regular expression: {e}"))
}

/// `role=button[name="Pay"]`, `role=link[name=/more/i]`.
fn role_engine(spec: &str) -> Result<Target, String> {
    let (role, rest) = spec.split_once('[').unwrap_or((spec, ""));
    let role = role.trim().to_ascii_lowercase();
    if role.is_empty() {
        return Err("role engine without a role".into());
    }
    let mut name = None;
    if let Some(body) = rest.strip_suffix(']') {
        let (key, value) = body.split_once('=').ok_or("role engine attribute needs a value")?;
        if key.trim() != "name" {
            return Err(format!("role engine attribute {:?} is not supported", key.trim()));
        }
        let value = value.trim();
        name = Some(if let Some(plain) = value.strip_suffix(" i").or_else(|| value.strip_suffix(" s")) {
            TextMatch::Substring(collapse(unquote(plain.trim())))
        } else if value.starts_with('/') {
            regex_literal(value)?
        } else {
            TextMatch::Substring(collapse(unquote(value)))
        });
    } else if !rest.is_empty() {
        return Err("unterminated role engine attributes".into());
    }
    Ok(Target::Role { role, name })
}

fn unquote(value: &str) -> &str {
    let value = value.trim();
    if value.len() >= 2
        && ((value.starts_with('"') && value.ends_with('"'))
            || (value.starts_with('\'') && value.ends_with('\'')))
    {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

fn collapse(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn normalise_xpath(xpath: &str) -> String {
    xpath.chars().filter(|c| !c.is_whitespace()).map(|c| if c == '\'' { '"' } else { c }).collect()
}

fn looks_like_call(locator: &str) -> bool {
    const STARTS: [&str; 8] = ["getBy", "page.", "this.page.", "locator(", "By.", "cy.", "driver.", "await "];
    STARTS.iter().any(|start| locator.starts_with(start))
}

/// Tokens of a locator call expression.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Regex(String),
    Number(usize),
    Punct(char),
}

fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ';' {
            i += 1;
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            tokens.push(Token::Number(text.parse().map_err(|_| "number too large")?));
        } else if matches!(c, '\'' | '"' | '`') {
            let mut value = String::new();
            i += 1;
            loop {
                let Some(&next) = chars.get(i) else { return Err("unterminated string".into()) };
                i += 1;
                if next == c {
                    break;
                }
                if next == '\\' {
                    let Some(&escaped) = chars.get(i) else { return Err("unterminated string".into()) };
                    i += 1;
                    value.push(match escaped {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                } else {
                    value.push(next);
                }
            }
            tokens.push(Token::Str(value));
        } else if c == '/' && matches!(tokens.last(), Some(Token::Punct('(' | ',' | ':'))) {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '/' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            tokens.push(Token::Regex(chars[start..i.min(chars.len())].iter().collect()));
        } else if matches!(c, '(' | ')' | '{' | '}' | ',' | ':' | '.') {
            tokens.push(Token::Punct(c));
            i += 1;
        } else {
            return Err(format!("unexpected character {c:?}"));
        }
    }
    Ok(tokens)
}

/// One call: a method name with positional arguments and `{ key: value }` options.
#[derive(Debug, Default)]
struct Call {
    method: String,
    args: Vec<Token>,
    options: Vec<(String, Token)>,
}

fn parse_call(input: &str) -> Result<Query, String> {
    let tokens = tokenize(input)?;
    let mut calls: Vec<Call> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let Token::Ident(name) = &tokens[i] else { return Err(format!("unexpected {:?}", tokens[i])) };
        i += 1;
        if tokens.get(i) == Some(&Token::Punct('(')) {
            i += 1;
            let mut call = Call { method: name.clone(), ..Call::default() };
            loop {
                match tokens.get(i) {
                    Some(Token::Punct(')')) => {
                        i += 1;
                        break;
                    }
                    Some(Token::Punct(',')) => i += 1,
                    Some(Token::Punct('{')) => {
                        i += 1;
                        while let Some(token) = tokens.get(i) {
                            match token {
                                Token::Punct('}') => {
                                    i += 1;
                                    break;
                                }
                                Token::Punct(',') => i += 1,
                                Token::Ident(key) | Token::Str(key) => {
                                    if tokens.get(i + 1) != Some(&Token::Punct(':')) {
                                        return Err(format!("expected ':' after option {key:?}"));
                                    }
                                    let value = tokens.get(i + 2).cloned().ok_or("missing option value")?;
                                    call.options.push((key.clone(), value));
                                    i += 3;
                                }
                                other => return Err(format!("unexpected {other:?} in options")),
                            }
                        }
                    }
                    Some(token @ (Token::Str(_) | Token::Regex(_) | Token::Number(_) | Token::Ident(_))) => {
                        call.args.push(token.clone());
                        i += 1;
                    }
                    Some(other) => return Err(format!("unexpected {other:?} in arguments")),
                    None => return Err("unterminated call".into()),
                }
            }
            calls.push(call);
        }
        match tokens.get(i) {
            Some(Token::Punct('.')) => i += 1,
            None => break,
            Some(other) => return Err(format!("unexpected {other:?}")),
        }
    }
    let mut target = None;
    let mut pick = None;
    for call in calls {
        match call.method.as_str() {
            "first" => pick = Some(Pick::First),
            "last" => pick = Some(Pick::Last),
            "nth" | "eq" => match call.args.first() {
                Some(Token::Number(n)) => pick = Some(Pick::Nth(*n)),
                _ => return Err("nth() needs a number".into()),
            },
            method => {
                if target.is_some() {
                    return Err(format!("chained locator {method}() is not supported"));
                }
                target = Some(call_target(&call)?);
            }
        }
    }
    let target = target.ok_or("no locator call found")?;
    Ok(Query { target, pick })
}

fn call_target(call: &Call) -> Result<Target, String> {
    let exact = call.options.iter().any(|(k, v)| k == "exact" && *v == Token::Ident("true".into()));
    let text_arg = |token: Option<&Token>| -> Result<TextMatch, String> {
        match token {
            Some(Token::Str(s)) if exact => Ok(TextMatch::Exact(collapse(s))),
            Some(Token::Str(s)) => Ok(TextMatch::Substring(collapse(s))),
            Some(Token::Regex(r)) => regex_literal(r),
            _ => Err(format!("{}() needs a string argument", call.method)),
        }
    };
    let string_arg = || match call.args.first() {
        Some(Token::Str(s)) => Ok(s.clone()),
        _ => Err(format!("{}() needs a string argument", call.method)),
    };
    Ok(match call.method.as_str() {
        "getByRole" => {
            let role = string_arg()?.trim().to_ascii_lowercase();
            let name =
                call.options.iter().find(|(k, _)| k == "name").map(|(_, v)| text_arg(Some(v))).transpose()?;
            Target::Role { role, name }
        }
        "getByTestId" => match call.args.first() {
            Some(Token::Str(s)) => Target::TestId(s.clone()),
            _ => return Err("getByTestId() needs a string argument".into()),
        },
        "getByText" | "contains" | "linkText" | "partialLinkText" => {
            Target::Text(text_arg(call.args.last())?)
        }
        "getByLabel" => Target::Label(text_arg(call.args.first())?),
        "getByPlaceholder" => Target::Placeholder(text_arg(call.args.first())?),
        "getByAltText" => Target::AltText(text_arg(call.args.first())?),
        "getByTitle" => Target::Title(text_arg(call.args.first())?),
        "locator" | "get" | "cssSelector" | "$" | "querySelector" | "find_element_by_css_selector" => {
            let selector = string_arg()?;
            if selector.starts_with('/') || selector.starts_with("xpath=") || selector.starts_with("(/") {
                Target::XPath(XPath::parse(selector.trim_start_matches("xpath="))?)
            } else if let Some(text) = selector.strip_prefix("text=") {
                Target::Text(engine_text(text)?)
            } else {
                css_target(selector.trim_start_matches("css="))?
            }
        }
        "xpath" => Target::XPath(XPath::parse(&string_arg()?)?),
        "id" => Target::Attribute { name: "id".into(), value: string_arg()? },
        "name" => Target::Attribute { name: "name".into(), value: string_arg()? },
        "className" => Target::Attribute { name: "class".into(), value: string_arg()? },
        "tagName" => css_target(&string_arg()?)?,
        other => return Err(format!("{other}() is not a supported locator")),
    })
}

/// A selector list of compound chains, matched against descriptors only (no DOM): used for
/// descriptor-only pages and to read what a CSS locator expects.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompoundList {
    alternatives: Vec<Vec<Compound>>,
}

/// One compound selector: `tag#id.class[attr=value]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Compound {
    tag: Option<String>,
    id: Option<String>,
    classes: Vec<String>,
    attributes: Vec<(String, Option<(char, String)>)>,
    /// Text from Playwright's `:has-text()`/`:text()`.
    text: Option<String>,
    /// Pseudo-classes this matcher cannot evaluate on a descriptor.
    opaque_pseudo: bool,
}

impl CompoundList {
    /// Strict: only single compounds a descriptor can answer.
    pub(crate) fn parse(css: &str) -> Result<Self, String> {
        let list = Self::parse_lenient(css)?;
        if list.alternatives.iter().any(|chain| chain.len() != 1 || chain[0].opaque_pseudo) {
            return Err("combinators and pseudo-classes need a dom; this page has only descriptors".into());
        }
        Ok(list)
    }

    /// Lenient: keeps every chain, marks what it cannot evaluate.
    fn parse_lenient(css: &str) -> Result<Self, String> {
        let mut parser = CssParser { chars: css.chars().collect(), pos: 0 };
        let mut alternatives = Vec::new();
        let mut chain = Vec::new();
        loop {
            parser.skip_space_and_combinators();
            if parser.at_end() {
                break;
            }
            if parser.peek() == Some(',') {
                parser.pos += 1;
                if !chain.is_empty() {
                    alternatives.push(std::mem::take(&mut chain));
                }
                continue;
            }
            chain.push(parser.compound()?);
        }
        if !chain.is_empty() {
            alternatives.push(chain);
        }
        if alternatives.is_empty() {
            return Err("empty css selector".into());
        }
        Ok(Self { alternatives })
    }

    pub(crate) fn matches(&self, descriptor: &ElementDescriptor) -> bool {
        self.alternatives.iter().any(|chain| chain.len() == 1 && chain[0].matches(descriptor))
    }
}

impl Compound {
    fn matches(&self, d: &ElementDescriptor) -> bool {
        self.tag.as_deref().is_none_or(|tag| tag == d.tag)
            && self.id.as_deref().is_none_or(|id| d.id.as_deref() == Some(id))
            && self.classes.iter().all(|class| d.classes().any(|c| c == class))
            && self.attributes.iter().all(|(name, test)| {
                let Some(actual) = d.attribute(name) else { return false };
                match test {
                    None => true,
                    Some(('=', v)) => actual == v,
                    Some(('~', v)) => actual.split_ascii_whitespace().any(|t| t == v),
                    Some(('^', v)) => actual.starts_with(v.as_str()),
                    Some(('$', v)) => actual.ends_with(v.as_str()),
                    Some(('*', v)) => actual.contains(v.as_str()),
                    Some(('|', v)) => actual == v || actual.starts_with(&format!("{v}-")),
                    Some(_) => false,
                }
            })
    }

    fn fill(&self, d: &mut ElementDescriptor) {
        if let Some(tag) = &self.tag {
            d.tag = tag.clone();
        }
        if let Some(id) = &self.id {
            d.id = Some(id.clone());
        }
        if !self.classes.is_empty() {
            d.class = Some(self.classes.join(" "));
        }
        for (name, test) in &self.attributes {
            if let Some(('=', value)) = test {
                set_attribute(d, name, value);
            }
        }
    }
}

struct CssParser {
    chars: Vec<char>,
    pos: usize,
}

impl CssParser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_space_and_combinators(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, '>' | '+' | '~') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn compound(&mut self) -> Result<Compound, String> {
        let mut compound = Compound::default();
        let start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                '#' => {
                    self.pos += 1;
                    compound.id = Some(self.ident()?);
                }
                '.' => {
                    self.pos += 1;
                    compound.classes.push(self.ident()?);
                }
                '[' => {
                    self.pos += 1;
                    compound.attributes.push(self.attribute()?);
                }
                ':' => {
                    self.pos += 1;
                    if self.peek() == Some(':') {
                        self.pos += 1;
                    }
                    let name = self.ident()?;
                    let argument = if self.peek() == Some('(') { Some(self.parenthesised()?) } else { None };
                    match (name.as_str(), argument) {
                        ("has-text" | "text" | "text-is" | "contains", Some(argument)) => {
                            compound.text = Some(unquote(&argument).to_owned());
                            compound.opaque_pseudo = true;
                        }
                        _ => compound.opaque_pseudo = true,
                    }
                }
                '*' if self.pos == start => self.pos += 1,
                c if c.is_whitespace() || matches!(c, '>' | '+' | '~' | ',') => break,
                _ if self.pos == start => compound.tag = Some(self.ident()?.to_ascii_lowercase()),
                other => return Err(format!("unexpected {other:?} in css selector")),
            }
        }
        Ok(compound)
    }

    fn ident(&mut self) -> Result<String, String> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c == '\\' {
                self.pos += 1;
                let hex: String =
                    self.chars[self.pos..].iter().take_while(|c| c.is_ascii_hexdigit()).take(6).collect();
                if hex.is_empty() {
                    out.push(self.peek().ok_or("dangling escape")?);
                    self.pos += 1;
                } else {
                    self.pos += hex.len();
                    let code = u32::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    if self.peek().is_some_and(char::is_whitespace) {
                        self.pos += 1;
                    }
                }
            } else if c.is_alphanumeric() || matches!(c, '-' | '_') || !c.is_ascii() {
                out.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        if out.is_empty() { Err(format!("expected an identifier at offset {}", self.pos)) } else { Ok(out) }
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self.peek().ok_or("expected a string")?;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = self.peek().ok_or("unterminated string")?;
            self.pos += 1;
            if c == quote {
                return Ok(out);
            }
            if c == '\\' {
                let hex: String =
                    self.chars[self.pos..].iter().take_while(|c| c.is_ascii_hexdigit()).take(6).collect();
                if hex.is_empty() {
                    out.push(self.peek().ok_or("dangling escape")?);
                    self.pos += 1;
                } else {
                    self.pos += hex.len();
                    let code = u32::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    if self.peek().is_some_and(char::is_whitespace) {
                        self.pos += 1;
                    }
                }
            } else {
                out.push(c);
            }
        }
    }

    fn attribute(&mut self) -> Result<(String, Option<(char, String)>), String> {
        self.skip_whitespace();
        let name = self.ident()?.to_ascii_lowercase();
        self.skip_whitespace();
        let test = match self.peek() {
            Some(']') => None,
            Some('=') => {
                self.pos += 1;
                Some('=')
            }
            Some(op @ ('~' | '^' | '$' | '*' | '|')) if self.chars.get(self.pos + 1) == Some(&'=') => {
                self.pos += 2;
                Some(op)
            }
            other => return Err(format!("unexpected {other:?} in attribute selector")),
        };
        let test = match test {
            None => None,
            Some(op) => {
                self.skip_whitespace();
                let value =
                    if matches!(self.peek(), Some('"' | '\'')) { self.string()? } else { self.ident()? };
                self.skip_whitespace();
                if matches!(self.peek(), Some('i' | 's' | 'I' | 'S')) {
                    self.pos += 1;
                    self.skip_whitespace();
                }
                Some((op, value))
            }
        };
        if self.peek() != Some(']') {
            return Err("unterminated attribute selector".into());
        }
        self.pos += 1;
        Ok((name, test))
    }

    fn parenthesised(&mut self) -> Result<String, String> {
        let mut depth = 0usize;
        let start = self.pos;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(self.chars[start + 1..self.pos - 1].iter().collect());
                    }
                }
                _ => {}
            }
        }
        Err("unterminated parenthesis".into())
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(locator: &str) -> Target {
        Query::parse(locator).expect("parse").target
    }

    #[test]
    fn recognises_every_locator_family() {
        assert!(matches!(target("#pay"), Target::Css(_)));
        assert!(matches!(target("css=button.primary"), Target::Css(_)));
        assert!(matches!(target("//button[@id='pay']"), Target::XPath(_)));
        assert!(matches!(target("text=Pay"), Target::Text(TextMatch::Substring(_))));
        assert!(matches!(target("text=\"Pay\""), Target::Text(TextMatch::Exact(_))));
        assert!(matches!(target("getByTestId('pay')"), Target::TestId(v) if v == "pay"));
        assert!(matches!(target("page.getByRole('button', { name: 'Pay', exact: true })"),
                Target::Role { role, name: Some(TextMatch::Exact(n)) } if role == "button" && n == "Pay"));
        assert!(matches!(target("getByText(/place order/i)"), Target::Text(TextMatch::Pattern(_))));
        assert!(matches!(target("getByLabel('Email')"), Target::Label(_)));
        assert!(matches!(target("getByPlaceholder(\"you@x.com\")"), Target::Placeholder(_)));
        assert!(matches!(target("role=button[name=\"Pay\"]"), Target::Role { .. }));
        assert!(matches!(target("By.id(\"pay\")"), Target::Attribute { name, .. } if name == "id"));
        assert!(matches!(target("cy.get('[data-cy=pay]')"), Target::Css(_)));
        assert!(matches!(target("[data-testid=x]"), Target::Css(_)));
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        for bad in ["", "button >> nth=1", "getByFoo('x')", "div[", "getByRole('button'", "//a[following::b]"]
        {
            let err = Query::parse(bad).expect_err(bad);
            assert!(matches!(err, HealingError::UnsupportedLocator { .. }), "{bad}");
        }
    }

    #[test]
    fn css_expectation_reads_the_rightmost_compound() {
        let expectation =
            Query::parse("form#checkout > button.btn.btn-primary[type=submit]").expect("parse").expectation();
        let d = expectation.descriptor;
        assert_eq!(d.tag, "button");
        assert_eq!(d.class.as_deref(), Some("btn btn-primary"));
        assert_eq!(d.r#type.as_deref(), Some("submit"));
        assert_eq!(d.id, None);
    }

    #[test]
    fn compound_escapes_are_decoded() {
        let list = CompoundList::parse("#\\31 23.a\\:b[data-x=\"q\\\"t\"]").expect("parse");
        let compound = &list.alternatives[0][0];
        assert_eq!(compound.id.as_deref(), Some("123"));
        assert_eq!(compound.classes, ["a:b"]);
        assert_eq!(compound.attributes[0].1, Some(('=', "q\"t".to_owned())));
    }
}
