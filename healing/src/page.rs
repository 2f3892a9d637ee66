//! The changed page: parsed once into [`Candidate`]s.
//!
//! [`CandidatePage::parse`] walks the html5ever tree iteratively (no recursion, so hostile nesting cannot
//! overflow the stack) after checking the [`PageLimits`]. It keeps a small element arena (tag, attributes,
//! parent, children, same-tag index, text span) for XPath evaluation and selector synthesis, one text
//! buffer holding the page's whitespace-collapsed text in document order (an element's text and its
//! neighbours' text are slices of it), and the parsed document itself for CSS matching.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use argus_vocabulary::ElementDescriptor;
use ego_tree::NodeId;
use ego_tree::iter::Edge;
use scraper::{ElementRef, Html, Node, Selector};

use crate::error::HealingError;
use crate::score::{Extras, Features, looks_generated};

/// Characters of an element's text kept in its descriptor.
const TEXT_KEEP: usize = 200;
/// Characters of neighbour text kept on each side of the element.
const NEIGHBOUR_KEEP: usize = 60;
/// Neighbour text shorter than this (characters) makes the search climb one more ancestor.
const NEIGHBOUR_MIN: usize = 24;
/// Ancestor levels searched for neighbour text.
const NEIGHBOUR_LEVELS: usize = 6;
/// Bytes of an attribute value kept in a descriptor.
const ATTRIBUTE_KEEP: usize = 512;

/// Elements whose subtree is never a candidate.
const SKIPPED_TAGS: [&str; 9] =
    ["script", "style", "template", "noscript", "head", "meta", "link", "title", "base"];
/// Elements that are candidates but whose children are not (foreign content internals).
const OPAQUE_TAGS: [&str; 2] = ["svg", "math"];
/// Elements that do not break words in the text buffer.
const INLINE_TAGS: [&str; 17] = [
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "em", "i", "kbd", "mark", "q", "s", "small", "span",
    "strong", "u",
];

/// Bounds on the pages the engine accepts, so a hostile page costs bounded time and memory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PageLimits {
    /// Largest accepted HTML, in bytes (default 8 MiB).
    pub max_html_bytes: usize,
    /// Most elements in the document (default 50 000).
    pub max_elements: usize,
    /// Deepest element nesting (default 256).
    pub max_depth: usize,
}

impl PageLimits {
    /// The default limits, usable in `const` context.
    pub const fn new() -> Self {
        Self { max_html_bytes: 8 * 1024 * 1024, max_elements: 50_000, max_depth: 256 }
    }
}

impl Default for PageLimits {
    fn default() -> Self {
        Self::new()
    }
}

/// One element of the page the engine may choose.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// What the element looks like: attributes, text, XPaths and neighbour text filled in.
    pub descriptor: ElementDescriptor,
    /// False when the element or an ancestor is hidden (`hidden`, `aria-hidden="true"`, inline
    /// `display:none`/`visibility:hidden`, `type=hidden`).
    pub visible: bool,
    /// Number of element ancestors (`html` has depth 0); 0 for descriptor-only pages.
    pub depth: usize,
    /// Index of the parent candidate, when the parent is a candidate.
    pub parent: Option<usize>,
    /// 1-based position among the parent's children with the same tag.
    pub sibling_index: usize,
    /// Effective ARIA role (explicit or implicit).
    pub role: Option<String>,
    /// Accessible name (simplified accname computation).
    pub accessible_name: Option<String>,
    /// Text of the associated `<label>` (by `for` or by nesting), for form controls.
    pub label: Option<String>,
    /// Precomputed comparison forms.
    pub(crate) features: Features,
    /// Index into the element arena; `None` for descriptor-only pages.
    pub(crate) element: Option<usize>,
}

impl Candidate {
    fn new(
        descriptor: ElementDescriptor,
        visible: bool,
        label: Option<String>,
        accessible_name: Option<String>,
    ) -> Self {
        let role = crate::aria::role_of(&descriptor).map(str::to_owned);
        let features = Features::new(
            &descriptor,
            &Extras {
                role: role.as_deref(),
                accessible_name: accessible_name.as_deref(),
                label: label.as_deref(),
            },
        );
        Self {
            descriptor,
            visible,
            depth: 0,
            parent: None,
            sibling_index: 1,
            role,
            accessible_name,
            label,
            features,
            element: None,
        }
    }
}

/// One element of the parsed document (candidate or not), for XPath and synthesis.
#[derive(Debug, Clone)]
pub(crate) struct DomElement {
    pub(crate) tag: Box<str>,
    pub(crate) attributes: Vec<(Box<str>, Box<str>)>,
    pub(crate) parent: Option<usize>,
    pub(crate) children: Vec<usize>,
    /// 1-based index among the parent's element children with the same tag.
    pub(crate) same_tag_index: u32,
    /// Number of the parent's element children with the same tag.
    pub(crate) same_tag_count: u32,
    pub(crate) node: NodeId,
    pub(crate) candidate: Option<usize>,
    /// Byte range of the element's text in the page text buffer.
    pub(crate) text: (usize, usize),
    /// Byte ranges of the element's own text nodes.
    pub(crate) direct_text: Vec<(usize, usize)>,
    pub(crate) hidden: bool,
}

impl DomElement {
    pub(crate) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| &**n == name).map(|(_, v)| &**v)
    }
}

/// The parsed document and its element arena.
pub(crate) struct Dom {
    document: Mutex<Html>,
    pub(crate) elements: Vec<DomElement>,
    /// Arena indices of the top-level elements (normally just `html`).
    pub(crate) roots: Vec<usize>,
    /// The page text, whitespace-collapsed, in document order.
    pub(crate) text: String,
    by_node: HashMap<NodeId, usize>,
}

impl Dom {
    /// The text of an arena element.
    pub(crate) fn element_text(&self, element: usize) -> &str {
        let (start, end) = self.elements[element].text;
        self.text[start..end].trim()
    }

    fn document(&self) -> MutexGuard<'_, Html> {
        // A panic while matching cannot leave the document half-changed (matching only reads), so a
        // poisoned lock is still usable.
        self.document.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Arena indices of every element `selector` matches outside `<template>` contents, in document order.
    pub(crate) fn select(&self, selector: &Selector, stop_after: usize) -> (usize, Vec<Option<usize>>) {
        let document = self.document();
        let mut count = 0;
        let mut matched = Vec::new();
        for element in document.select(selector) {
            if in_template(element) {
                continue;
            }
            count += 1;
            matched.push(self.by_node.get(&element.id()).copied());
            if count >= stop_after {
                break;
            }
        }
        (count, matched)
    }
}

fn in_template(element: ElementRef<'_>) -> bool {
    element.ancestors().any(|node| matches!(node.value(), Node::Fragment))
}

/// A page of candidates, parsed once, cheap to query many times. `Send + Sync`: the parsed document
/// (used only for CSS matching) sits behind a mutex.
pub struct CandidatePage {
    candidates: Vec<Candidate>,
    dom: Option<Dom>,
}

impl std::fmt::Debug for CandidatePage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CandidatePage")
            .field("n_candidates", &self.candidates.len())
            .field("has_dom", &self.dom.is_some())
            .finish()
    }
}

impl CandidatePage {
    /// Parses `html` into candidates: every element under `<body>` (or the whole document when there is
    /// no body), skipping `script`, `style`, `template`, `noscript`, `head` content, `meta`, `link` and
    /// the insides of `svg`/`math`.
    ///
    /// Errors: [`HealingError::TooLarge`] naming `html_bytes`, `elements` or `depth`.
    pub fn parse(html: &str, limits: &PageLimits) -> Result<CandidatePage, HealingError> {
        if html.len() > limits.max_html_bytes {
            return Err(HealingError::TooLarge {
                what: "html_bytes",
                limit: limits.max_html_bytes,
                actual: html.len(),
            });
        }
        let document = Html::parse_document(html);
        check_shape(&document, limits)?;
        let walked = Walker::walk(&document);
        Ok(build(document, walked))
    }

    /// A page with no DOM, only descriptors (for `argus locate` with candidates). Selector synthesis then
    /// works from the descriptors alone, checking uniqueness among them. Descriptors are used as given:
    /// every one counts as visible.
    pub fn from_descriptors(candidates: Vec<ElementDescriptor>) -> CandidatePage {
        Self::from_descriptors_with_visibility(candidates.into_iter().map(|d| (d, true)).collect())
    }

    /// Like [`CandidatePage::from_descriptors`], with a visibility flag per descriptor (for inputs whose
    /// capturing tool recorded whether each element was displayed).
    pub fn from_descriptors_with_visibility(candidates: Vec<(ElementDescriptor, bool)>) -> CandidatePage {
        let candidates = candidates
            .into_iter()
            .map(|(mut descriptor, visible)| {
                descriptor.tag = descriptor.tag.trim().to_ascii_lowercase();
                let accessible_name = crate::aria::accessible_name(&descriptor, None);
                Candidate::new(descriptor, visible, None, accessible_name)
            })
            .collect();
        CandidatePage { candidates, dom: None }
    }

    /// The candidates, in document order.
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// Indices of the candidates `locator` matches, in document order. Supports CSS selectors, simple
    /// XPath (`/html[1]/body[1]/div[2]/a[1]`, `//tag[@attr='v']`, `//*[@id="x"]/div[1]/a[1]`) and
    /// Playwright-style `text=…`, `getByTestId('x')`, `getByRole('button', { name: 'Pay' })`, `getByText`,
    /// `getByLabel`, `getByPlaceholder`, `getByAltText`, `getByTitle`.
    ///
    /// Errors: [`HealingError::UnsupportedLocator`] for syntax outside that set.
    pub fn resolve(&self, locator: &str) -> Result<Vec<usize>, HealingError> {
        let query = crate::locator::Query::parse(locator)?;
        query.resolve(self, locator)
    }

    pub(crate) fn dom(&self) -> Option<&Dom> {
        self.dom.as_ref()
    }
}

fn check_shape(document: &Html, limits: &PageLimits) -> Result<(), HealingError> {
    let (mut n_elements, mut depth, mut max_depth) = (0usize, 0usize, 0usize);
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) if node.value().is_element() => {
                n_elements += 1;
                depth += 1;
                max_depth = max_depth.max(depth);
            }
            Edge::Close(node) if node.value().is_element() => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if n_elements > limits.max_elements {
        return Err(HealingError::TooLarge {
            what: "elements",
            limit: limits.max_elements,
            actual: n_elements,
        });
    }
    if max_depth > limits.max_depth {
        return Err(HealingError::TooLarge { what: "depth", limit: limits.max_depth, actual: max_depth });
    }
    Ok(())
}

/// Walk state for one node on the open path.
#[derive(Debug, Default)]
struct Frame {
    /// The arena element this frame opened, if any.
    own: Option<usize>,
    /// Nearest arena element at or above this frame.
    nearest: Option<usize>,
    /// This subtree is ignored.
    skip: bool,
    /// Children of this element are ignored (foreign content).
    opaque: bool,
    /// Elements below are candidates.
    in_region: bool,
    hidden: bool,
    /// `(tag, count)` of the element children seen so far.
    child_tags: Vec<(Box<str>, u32)>,
}

impl Frame {
    fn ignored() -> Self {
        Self { skip: true, ..Self::default() }
    }
}

struct Walked {
    elements: Vec<DomElement>,
    roots: Vec<usize>,
    text: String,
}

struct Walker {
    elements: Vec<DomElement>,
    roots: Vec<usize>,
    text: String,
    pending_space: bool,
    stack: Vec<Frame>,
}

impl Walker {
    fn walk(document: &Html) -> Walked {
        let has_body = document.root_element().children().any(|child| {
            child.value().as_element().is_some_and(|element| element.name().eq_ignore_ascii_case("body"))
        });
        let mut walker = Walker {
            elements: Vec::new(),
            roots: Vec::new(),
            text: String::new(),
            pending_space: false,
            stack: Vec::new(),
        };
        for edge in document.tree.root().traverse() {
            match edge {
                Edge::Open(node) => {
                    let frame = match node.value() {
                        Node::Document => Frame::default(),
                        Node::Element(element) => walker.open_element(node.id(), element, has_body),
                        Node::Text(text) => {
                            walker.add_text(text);
                            Frame::ignored()
                        }
                        _ => Frame::ignored(),
                    };
                    walker.stack.push(frame);
                }
                Edge::Close(_) => {
                    if let Some(frame) = walker.stack.pop()
                        && let Some(own) = frame.own
                    {
                        walker.elements[own].text.1 = walker.text.len();
                        if !INLINE_TAGS.contains(&&*walker.elements[own].tag) {
                            walker.pending_space = true;
                        }
                    }
                }
            }
        }
        // Same-tag sibling counts are only known once every child is seen.
        let mut counts: HashMap<(Option<usize>, Box<str>), u32> = HashMap::new();
        for element in &walker.elements {
            *counts.entry((element.parent, element.tag.clone())).or_default() += 1;
        }
        for element in &mut walker.elements {
            element.same_tag_count = counts.get(&(element.parent, element.tag.clone())).copied().unwrap_or(1);
        }
        Walked { elements: walker.elements, roots: walker.roots, text: walker.text }
    }

    fn open_element(&mut self, node: NodeId, element: &scraper::node::Element, has_body: bool) -> Frame {
        let Some(parent) = self.stack.last_mut() else {
            return Frame::ignored();
        };
        if parent.skip || parent.opaque {
            return Frame::ignored();
        }
        let tag = element.name().to_ascii_lowercase();
        if SKIPPED_TAGS.contains(&tag.as_str()) {
            return Frame::ignored();
        }
        let same_tag_index = match parent.child_tags.iter_mut().find(|(t, _)| **t == *tag) {
            Some((_, count)) => {
                *count += 1;
                *count
            }
            None => {
                parent.child_tags.push((tag.clone().into_boxed_str(), 1));
                1
            }
        };
        let attributes: Vec<(Box<str>, Box<str>)> =
            element.attrs().map(|(name, value)| (name.to_ascii_lowercase().into(), value.into())).collect();
        let hidden = parent.hidden || self_hidden(&tag, &attributes);
        let in_region = parent.in_region;
        let parent_index = parent.nearest;
        let index = self.elements.len();
        self.elements.push(DomElement {
            tag: tag.as_str().into(),
            attributes,
            parent: parent_index,
            children: Vec::new(),
            same_tag_index,
            same_tag_count: 1,
            node,
            // Provisional marker: whether this element is in the candidate region; numbered in `build`.
            candidate: in_region.then_some(0),
            text: (self.text.len(), self.text.len()),
            direct_text: Vec::new(),
            hidden,
        });
        match parent_index {
            Some(p) => self.elements[p].children.push(index),
            None => self.roots.push(index),
        }
        if !INLINE_TAGS.contains(&tag.as_str()) {
            self.pending_space = true;
        }
        Frame {
            own: Some(index),
            nearest: Some(index),
            skip: false,
            opaque: OPAQUE_TAGS.contains(&tag.as_str()),
            in_region: in_region || tag == "body" || (tag == "html" && !has_body),
            hidden,
            child_tags: Vec::new(),
        }
    }

    fn add_text(&mut self, text: &str) {
        let Some(frame) = self.stack.last() else { return };
        if frame.skip || frame.opaque || !frame.in_region {
            return;
        }
        let Some(owner) = frame.nearest else { return };
        if text.starts_with(char::is_whitespace) {
            self.pending_space = true;
        }
        let mut start = None;
        for (i, word) in text.split_whitespace().enumerate() {
            if i > 0 {
                self.pending_space = true;
            }
            if self.pending_space && !self.text.is_empty() {
                self.text.push(' ');
            }
            self.pending_space = false;
            start.get_or_insert(self.text.len());
            self.text.push_str(word);
        }
        if text.ends_with(char::is_whitespace) {
            self.pending_space = true;
        }
        if let Some(start) = start {
            self.elements[owner].direct_text.push((start, self.text.len()));
        }
    }
}

fn self_hidden(tag: &str, attributes: &[(Box<str>, Box<str>)]) -> bool {
    attributes.iter().any(|(name, value)| match &**name {
        "hidden" => true,
        "aria-hidden" => value.trim().eq_ignore_ascii_case("true"),
        "type" => tag == "input" && value.trim().eq_ignore_ascii_case("hidden"),
        "style" => {
            let style: String =
                value.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect();
            style.contains("display:none") || style.contains("visibility:hidden")
        }
        _ => false,
    })
}

fn build(document: Html, walked: Walked) -> CandidatePage {
    let Walked { mut elements, roots, text } = walked;
    let mut by_node = HashMap::with_capacity(elements.len());
    let mut n_candidates = 0;
    for (index, element) in elements.iter_mut().enumerate() {
        by_node.insert(element.node, index);
        if element.candidate.is_some() {
            element.candidate = Some(n_candidates);
            n_candidates += 1;
        }
    }
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    let mut label_for: HashMap<&str, usize> = HashMap::new();
    for (index, element) in elements.iter().enumerate() {
        if let Some(id) = element.attribute("id") {
            by_id.entry(id).or_insert(index);
        }
        if &*element.tag == "label"
            && let Some(target) = element.attribute("for")
        {
            label_for.entry(target).or_insert(index);
        }
    }
    let context = BuildContext { elements: &elements, text: &text, by_id: &by_id, label_for: &label_for };
    let mut candidates = Vec::with_capacity(n_candidates);
    for (index, element) in elements.iter().enumerate() {
        if element.candidate.is_some() {
            candidates.push(context.candidate(index));
        }
    }
    drop(by_id);
    drop(label_for);
    CandidatePage {
        candidates,
        dom: Some(Dom { document: Mutex::new(document), elements, roots, text, by_node }),
    }
}

struct BuildContext<'a> {
    elements: &'a [DomElement],
    text: &'a str,
    by_id: &'a HashMap<&'a str, usize>,
    label_for: &'a HashMap<&'a str, usize>,
}

impl BuildContext<'_> {
    fn text_of(&self, index: usize) -> &str {
        let (start, end) = self.elements[index].text;
        self.text[start..end].trim()
    }

    fn candidate(&self, index: usize) -> Candidate {
        let element = &self.elements[index];
        let mut descriptor = ElementDescriptor::with_tag(&*element.tag);
        for (name, value) in &element.attributes {
            set_attribute(&mut descriptor, name, value);
        }
        descriptor.text = Some(truncate_chars(self.text_of(index), TEXT_KEEP)).filter(|t| !t.is_empty());
        descriptor.xpath = Some(self.xpath(index));
        descriptor.id_xpath = self.id_xpath(index);
        let label = self.label(index);
        let neighbour = self.neighbour_text(index, label.as_deref());
        descriptor.neighbour_text = neighbour;
        let accessible_name =
            self.labelled_by(element).or_else(|| crate::aria::accessible_name(&descriptor, label.as_deref()));
        let mut candidate = Candidate::new(descriptor, !element.hidden, label, accessible_name);
        candidate.depth = self.depth(index);
        candidate.parent = element.parent.and_then(|p| self.elements[p].candidate);
        candidate.sibling_index = element.same_tag_index as usize;
        candidate.element = Some(index);
        candidate
    }

    fn depth(&self, index: usize) -> usize {
        let mut depth = 0;
        let mut current = self.elements[index].parent;
        while let Some(parent) = current {
            depth += 1;
            current = self.elements[parent].parent;
        }
        depth
    }

    /// `/html[1]/body[1]/div[2]/button[1]`.
    fn xpath(&self, index: usize) -> String {
        let mut steps = Vec::new();
        let mut current = Some(index);
        while let Some(i) = current {
            steps.push(i);
            current = self.elements[i].parent;
        }
        let mut out = String::new();
        for i in steps.into_iter().rev() {
            let element = &self.elements[i];
            out.push('/');
            out.push_str(&element.tag);
            out.push('[');
            out.push_str(&element.same_tag_index.to_string());
            out.push(']');
        }
        out
    }

    /// `//*[@id="cart"]/div[1]/button[1]`, anchored at the nearest element (itself included) with a
    /// stable-looking id; `None` when there is none.
    fn id_xpath(&self, index: usize) -> Option<String> {
        let mut steps = Vec::new();
        let mut current = Some(index);
        while let Some(i) = current {
            let element = &self.elements[i];
            if let Some(id) =
                element.attribute("id").filter(|id| !id.trim().is_empty() && !looks_generated(id))
            {
                let mut out = format!("//*[@id={}]", crate::synthesis::xpath_literal(id, '"'));
                for step in steps.into_iter().rev() {
                    let element: &DomElement = &self.elements[step];
                    out.push_str(&format!("/{}[{}]", element.tag, element.same_tag_index));
                }
                return Some(out);
            }
            steps.push(i);
            current = element.parent;
        }
        None
    }

    fn label(&self, index: usize) -> Option<String> {
        let element = &self.elements[index];
        if !matches!(
            &*element.tag,
            "input" | "select" | "textarea" | "button" | "meter" | "output" | "progress"
        ) {
            return None;
        }
        let by_for = element.attribute("id").and_then(|id| self.label_for.get(id)).copied();
        let wrapping = || {
            let mut current = element.parent;
            for _ in 0..8 {
                let parent = current?;
                if &*self.elements[parent].tag == "label" {
                    return Some(parent);
                }
                current = self.elements[parent].parent;
            }
            None
        };
        let label = by_for.or_else(wrapping)?;
        let text = truncate_chars(self.text_of(label), TEXT_KEEP);
        (!text.is_empty()).then_some(text)
    }

    fn labelled_by(&self, element: &DomElement) -> Option<String> {
        let ids = element.attribute("aria-labelledby")?;
        let joined = ids
            .split_ascii_whitespace()
            .filter_map(|id| self.by_id.get(id))
            .map(|&i| self.text_of(i))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        (!joined.is_empty()).then(|| truncate_chars(&joined, TEXT_KEEP))
    }

    /// The text nearest the element: walking up at most [`NEIGHBOUR_LEVELS`] ancestors, the first one
    /// with text outside the element gives the end of the text before it and the start of the text after
    /// it. The label, when known and not already included, comes first.
    fn neighbour_text(&self, index: usize, label: Option<&str>) -> Option<String> {
        let (start, end) = self.elements[index].text;
        let mut current = self.elements[index].parent;
        let mut found = String::new();
        for _ in 0..NEIGHBOUR_LEVELS {
            let Some(ancestor) = current else { break };
            let (outer_start, outer_end) = self.elements[ancestor].text;
            let before = self.text[outer_start..start].trim();
            let after = self.text[end..outer_end].trim();
            if !before.is_empty() || !after.is_empty() {
                let before = tail_words(before, NEIGHBOUR_KEEP);
                let after = head_words(after, NEIGHBOUR_KEEP);
                found =
                    [before, after].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" ");
                // A sibling button's "Edit" does not tell table rows apart: keep climbing until the
                // context names something (the row's person, the card's product).
                // …but never past a repeated item (a card among cards, a row among rows), whose
                // siblings' text would blur the items together. Table cells are not items: a row is.
                let item = &self.elements[ancestor];
                let repeated = item.same_tag_count > 1 && !matches!(&*item.tag, "td" | "th");
                if found.chars().count() >= NEIGHBOUR_MIN || repeated {
                    break;
                }
            }
            current = self.elements[ancestor].parent;
        }
        if let Some(label) = label
            && !found.contains(label)
        {
            found = if found.is_empty() { label.to_owned() } else { format!("{label} {found}") };
        }
        (!found.is_empty()).then_some(found)
    }
}

/// Puts an HTML attribute in the descriptor field it belongs to.
pub(crate) fn set_attribute(descriptor: &mut ElementDescriptor, name: &str, value: &str) {
    if name == "style" || name.starts_with("on") {
        return;
    }
    let value = truncate_bytes(value, ATTRIBUTE_KEEP).to_owned();
    let slot = match name {
        "id" => &mut descriptor.id,
        "name" => &mut descriptor.name,
        "class" => &mut descriptor.class,
        "type" => &mut descriptor.r#type,
        "href" => &mut descriptor.href,
        "src" => &mut descriptor.src,
        "alt" => &mut descriptor.alt,
        "title" => &mut descriptor.title,
        "placeholder" => &mut descriptor.placeholder,
        "aria-label" => &mut descriptor.aria_label,
        "role" => &mut descriptor.role,
        "data-testid" => &mut descriptor.data_testid,
        "value" => &mut descriptor.value,
        data if data.starts_with("data-") => {
            descriptor.data.insert(data.to_owned(), value);
            return;
        }
        other => {
            descriptor.attributes.insert(other.to_owned(), value);
            return;
        }
    };
    *slot = Some(value);
}

fn truncate_bytes(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

pub(crate) fn truncate_chars(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((end, _)) => value[..end].trim_end().to_owned(),
        None => value.to_owned(),
    }
}

/// The last whole words of `text` within about `max` characters.
fn tail_words(text: &str, max: usize) -> &str {
    let n_chars = text.chars().count();
    if n_chars <= max {
        return text;
    }
    let cut = text.char_indices().nth(n_chars - max).map_or(0, |(i, _)| i);
    let tail = &text[cut..];
    match tail.find(' ') {
        Some(space) if space + 1 < tail.len() => &tail[space + 1..],
        _ => tail,
    }
}

/// The first whole words of `text` within about `max` characters.
fn head_words(text: &str, max: usize) -> &str {
    let Some((cut, _)) = text.char_indices().nth(max) else { return text };
    let head = &text[..cut];
    match head.rfind(' ') {
        Some(space) if space > 0 => &head[..space],
        _ => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(html: &str) -> CandidatePage {
        CandidatePage::parse(html, &PageLimits::default()).expect("parse")
    }

    #[test]
    fn candidates_skip_scripts_templates_and_svg_internals() {
        let p = page(
            "<html><head><title>t</title></head><body><script>var a</script><div id=a><svg><path/></svg>\
             <template><button>x</button></template><noscript><p>n</p></noscript><span>s</span></div></body></html>",
        );
        let tags: Vec<&str> = p.candidates().iter().map(|c| c.descriptor.tag.as_str()).collect();
        assert_eq!(tags, ["div", "svg", "span"]);
    }

    #[test]
    fn descriptors_carry_xpaths_text_and_neighbour_text() {
        let p = page(
            "<body><div id=\"cart\"><h3>Linen Shirt</h3><p>$19</p><div><button class=buy>Add  to\n cart</button></div></div></body>",
        );
        let button = p.candidates().iter().find(|c| c.descriptor.tag == "button").expect("button");
        assert_eq!(button.descriptor.xpath.as_deref(), Some("/html[1]/body[1]/div[1]/div[1]/button[1]"));
        assert_eq!(button.descriptor.id_xpath.as_deref(), Some("//*[@id=\"cart\"]/div[1]/button[1]"));
        assert_eq!(button.descriptor.text.as_deref(), Some("Add to cart"));
        assert_eq!(button.descriptor.neighbour_text.as_deref(), Some("Linen Shirt $19"));
        assert_eq!(button.role.as_deref(), Some("button"));
        assert_eq!(button.accessible_name.as_deref(), Some("Add to cart"));
        assert_eq!(button.depth, 4);
    }

    #[test]
    fn neighbour_text_climbs_past_a_lone_sibling_word_but_not_past_a_repeated_item() {
        let p = page(
            "<body><table><tr><td>Ada Lovelace</td><td><button>Edit</button><button>Delete</button></td></tr>\
             <tr><td>Alan Turing</td><td><button>Edit</button><button>Delete</button></td></tr></table>\
             <div class=grid><div class=card><h3>Tee</h3><div><button>Add</button></div></div>\
             <div class=card><h3>Scarf</h3><div><button>Add</button></div></div></div></body>",
        );
        let neighbours: Vec<&str> = p
            .candidates()
            .iter()
            .filter(|c| c.descriptor.tag == "button")
            .filter(|c| matches!(c.descriptor.text.as_deref(), Some("Delete" | "Add")))
            .filter_map(|c| c.descriptor.neighbour_text.as_deref())
            .collect();
        assert_eq!(neighbours, ["Ada Lovelace Edit", "Alan Turing Edit", "Tee", "Scarf"]);
    }

    #[test]
    fn hidden_ancestors_make_descendants_invisible() {
        let p = page(
            "<body><div style=\"display: NONE\"><a href=/x>x</a></div><input type=hidden name=t>\
             <p aria-hidden=true>p</p><p hidden>h</p><p>v</p></body>",
        );
        let visible: Vec<(&str, bool)> =
            p.candidates().iter().map(|c| (c.descriptor.tag.as_str(), c.visible)).collect();
        assert_eq!(
            visible,
            [("div", false), ("a", false), ("input", false), ("p", false), ("p", false), ("p", true)]
        );
    }

    #[test]
    fn labels_name_inputs_by_for_and_by_nesting() {
        let p = page(
            "<body><label for=e>Email address</label><input id=e><label>Phone <input name=phone></label></body>",
        );
        let inputs: Vec<&Candidate> = p.candidates().iter().filter(|c| c.descriptor.tag == "input").collect();
        assert_eq!(inputs[0].label.as_deref(), Some("Email address"));
        assert_eq!(inputs[0].accessible_name.as_deref(), Some("Email address"));
        assert_eq!(inputs[1].label.as_deref(), Some("Phone"));
    }

    #[test]
    fn pages_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CandidatePage>();
    }

    #[test]
    fn word_helpers_cut_on_word_boundaries() {
        assert_eq!(tail_words("one two three four", 9), "four");
        assert_eq!(head_words("one two three four", 9), "one two");
        assert_eq!(truncate_chars("héllo wörld", 5), "héllo");
    }
}
