//! Similarity signals and their weights.
//!
//! Every element (reference or candidate) is turned once into [`Features`]: lowercased, tokenised and
//! hashed forms of its attributes, text, path and box. Comparing two `Features` fills one similarity per
//! [`Signal`] without allocating; [`ReferenceWeights`] holds the weight of each signal the reference
//! carries, so a score is `Σ wᵢ·simᵢ / Σ wᵢ` over the reference's signals only. See `design.md`.

use argus_vocabulary::{BoundingBox, ElementDescriptor};
use serde::{Deserialize, Serialize};

/// Characters of a text kept for edit-distance comparisons; longer texts are compared on their start and
/// on their token sets.
const TEXT_CHARS: usize = 64;
/// Path steps kept for path comparisons (the steps nearest the element).
const PATH_STEPS: usize = 64;

/// `data-*` attributes that teams put on elements for tests; stable by intent.
pub(crate) const TEST_ATTRIBUTES: [&str; 7] =
    ["data-testid", "data-test-id", "data-test", "data-qa", "data-cy", "data-automation-id", "data-e2e"];

/// Key bit: same `data-testid`.
pub(crate) const KEY_TEST_ID: u8 = 1;
/// Key bit: same other test attributes.
pub(crate) const KEY_TEST_ATTRIBUTE: u8 = 2;
/// Key bit: same stable id.
pub(crate) const KEY_ID: u8 = 4;
/// Key bit: same stable name.
pub(crate) const KEY_NAME: u8 = 8;

/// One comparable aspect of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Tag,
    TestId,
    TestAttribute,
    Id,
    Name,
    Type,
    Role,
    Href,
    Src,
    Class,
    Text,
    AriaLabel,
    Placeholder,
    Title,
    Alt,
    Value,
    AccessibleName,
    Label,
    XPath,
    IdXPath,
    Neighbour,
    Position,
    Size,
    OtherAttributes,
}

/// Number of [`Signal`]s.
pub(crate) const N_SIGNALS: usize = 24;

impl Signal {
    /// Every signal, in index order.
    pub(crate) const ALL: [Signal; N_SIGNALS] = [
        Signal::Tag,
        Signal::TestId,
        Signal::TestAttribute,
        Signal::Id,
        Signal::Name,
        Signal::Type,
        Signal::Role,
        Signal::Href,
        Signal::Src,
        Signal::Class,
        Signal::Text,
        Signal::AriaLabel,
        Signal::Placeholder,
        Signal::Title,
        Signal::Alt,
        Signal::Value,
        Signal::AccessibleName,
        Signal::Label,
        Signal::XPath,
        Signal::IdXPath,
        Signal::Neighbour,
        Signal::Position,
        Signal::Size,
        Signal::OtherAttributes,
    ];

    /// A short human name, used in rationales.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Signal::Tag => "tag",
            Signal::TestId => "data-testid",
            Signal::TestAttribute => "test attribute",
            Signal::Id => "id",
            Signal::Name => "name",
            Signal::Type => "type",
            Signal::Role => "role",
            Signal::Href => "href",
            Signal::Src => "src",
            Signal::Class => "class",
            Signal::Text => "text",
            Signal::AriaLabel => "aria-label",
            Signal::Placeholder => "placeholder",
            Signal::Title => "title",
            Signal::Alt => "alt",
            Signal::Value => "value",
            Signal::AccessibleName => "accessible name",
            Signal::Label => "label",
            Signal::XPath => "xpath",
            Signal::IdXPath => "id-relative xpath",
            Signal::Neighbour => "neighbour text",
            Signal::Position => "position",
            Signal::Size => "size",
            Signal::OtherAttributes => "other attributes",
        }
    }
}

/// The weight of each signal. A signal counts only when the reference carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignalWeights {
    /// Same tag (compatible tags such as `button`/`input` get half).
    pub tag: f64,
    /// Same `data-testid`.
    pub test_id: f64,
    /// Same other test attribute (`data-qa`, `data-test`, `data-cy`, …).
    pub test_attribute: f64,
    /// Same `id` (multiplied by `generated_factor` when the reference id looks generated).
    pub id: f64,
    /// Same `name`.
    pub name: f64,
    /// Same `type`.
    pub r#type: f64,
    /// Same ARIA role (explicit or implicit).
    pub role: f64,
    /// Same `href` (path match scores most of it; the query string the rest).
    pub href: f64,
    /// Same `src` (compared like `href`).
    pub src: f64,
    /// Jaccard similarity of the stable class tokens.
    pub class: f64,
    /// Similarity of the visible text.
    pub text: f64,
    /// Similarity of `aria-label`.
    pub aria_label: f64,
    /// Similarity of `placeholder`.
    pub placeholder: f64,
    /// Similarity of `title`.
    pub title: f64,
    /// Similarity of `alt`.
    pub alt: f64,
    /// Similarity of `value`.
    pub value: f64,
    /// Similarity of the accessible name (only locator-derived references carry it).
    pub accessible_name: f64,
    /// Similarity of the associated `<label>` text (only locator-derived references carry it).
    pub label: f64,
    /// Path similarity of the absolute XPath (weighted LCS over tag steps).
    pub xpath: f64,
    /// Path similarity of the id-relative XPath, when the anchor id is the same.
    pub id_xpath: f64,
    /// Similarity of the neighbour text.
    pub neighbour: f64,
    /// Closeness of the bounding-box centres, when both sides have one.
    pub position: f64,
    /// Ratio of the bounding-box areas, when both sides have one.
    pub size: f64,
    /// Jaccard similarity of all other attributes (`name=value` pairs).
    pub other_attributes: f64,
}

impl Default for SignalWeights {
    fn default() -> Self {
        Self::new()
    }
}

impl SignalWeights {
    /// The default weights, usable in `const` context.
    pub const fn new() -> Self {
        Self {
            tag: 1.5,
            test_id: 3.0,
            test_attribute: 2.5,
            id: 2.0,
            name: 1.5,
            r#type: 0.75,
            role: 0.75,
            href: 1.0,
            src: 0.75,
            class: 0.75,
            text: 2.0,
            aria_label: 1.5,
            placeholder: 1.25,
            title: 0.75,
            alt: 1.0,
            value: 0.5,
            accessible_name: 2.0,
            label: 1.5,
            xpath: 0.75,
            id_xpath: 0.75,
            neighbour: 1.5,
            position: 0.5,
            size: 0.25,
            other_attributes: 0.5,
        }
    }

    fn get(&self, signal: Signal) -> f64 {
        match signal {
            Signal::Tag => self.tag,
            Signal::TestId => self.test_id,
            Signal::TestAttribute => self.test_attribute,
            Signal::Id => self.id,
            Signal::Name => self.name,
            Signal::Type => self.r#type,
            Signal::Role => self.role,
            Signal::Href => self.href,
            Signal::Src => self.src,
            Signal::Class => self.class,
            Signal::Text => self.text,
            Signal::AriaLabel => self.aria_label,
            Signal::Placeholder => self.placeholder,
            Signal::Title => self.title,
            Signal::Alt => self.alt,
            Signal::Value => self.value,
            Signal::AccessibleName => self.accessible_name,
            Signal::Label => self.label,
            Signal::XPath => self.xpath,
            Signal::IdXPath => self.id_xpath,
            Signal::Neighbour => self.neighbour,
            Signal::Position => self.position,
            Signal::Size => self.size,
            Signal::OtherAttributes => self.other_attributes,
        }
    }
}

/// A text prepared for comparison: lowercased and whitespace-collapsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextFeature {
    /// Hash of the whole normalised text (equality test).
    full_hash: u64,
    /// The first [`TEXT_CHARS`] characters.
    chars: Box<[char]>,
    /// Characters in the whole normalised text.
    char_len: usize,
    /// Sorted, deduplicated hashes of the alphanumeric tokens.
    tokens: Box<[u64]>,
}

impl TextFeature {
    /// `None` for empty or whitespace-only text.
    pub(crate) fn new(raw: &str) -> Option<Self> {
        let normalised = normalise_text(raw);
        if normalised.is_empty() {
            return None;
        }
        let char_len = normalised.chars().count();
        Some(Self {
            full_hash: fnv(normalised.as_bytes()),
            chars: normalised.chars().take(TEXT_CHARS).collect(),
            char_len,
            tokens: text_tokens(&normalised),
        })
    }

    /// Similarity in `[0, 1]`: 1 when equal, otherwise the better of the squared normalised edit
    /// similarity (on the first characters, skipped when the lengths differ too much to be close) and
    /// token Jaccard.
    pub(crate) fn similarity(&self, other: &TextFeature) -> f64 {
        if self.full_hash == other.full_hash && self.char_len == other.char_len {
            return 1.0;
        }
        let jaccard = jaccard(&self.tokens, &other.tokens);
        let (short, long) = if self.char_len <= other.char_len {
            (self.char_len, other.char_len)
        } else {
            (other.char_len, self.char_len)
        };
        if (short as f64) < 0.4 * long as f64 {
            return jaccard;
        }
        let edit = edit_similarity(&self.chars, &other.chars);
        // Squared, so that unrelated texts of similar length (product names, prices) stay apart while
        // small edits keep most of their similarity.
        let edit = edit * edit;
        // Edit similarity of equal prefixes of long texts says less than it claims; damp it.
        let edit = if self.char_len > TEXT_CHARS && other.char_len > TEXT_CHARS { edit * 0.9 } else { edit };
        edit.max(jaccard)
    }

    /// The whole normalised texts are equal.
    pub(crate) fn equals(&self, other: &TextFeature) -> bool {
        self.full_hash == other.full_hash && self.char_len == other.char_len
    }

    /// Whether `self` (a whole text) contains `needle` as a case-insensitive substring, as far as the kept
    /// characters tell.
    pub(crate) fn contains(&self, needle: &TextFeature) -> bool {
        if needle.char_len > self.chars.len() {
            return false;
        }
        self.chars.windows(needle.chars.len()).any(|window| window == &*needle.chars)
    }
}

/// An identifier (`id`, `name`) prepared for comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IdentFeature {
    raw: Box<str>,
    generated: bool,
    /// Word tokens (split on punctuation and camelCase), hashed, sorted.
    tokens: Box<[u64]>,
}

impl IdentFeature {
    fn new(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        Some(Self { raw: raw.into(), generated: looks_generated(raw), tokens: ident_tokens(raw) })
    }

    fn similarity(&self, other: &IdentFeature) -> f64 {
        if self.raw == other.raw {
            1.0
        } else if self.raw.eq_ignore_ascii_case(&other.raw) {
            0.9
        } else {
            0.5 * jaccard(&self.tokens, &other.tokens)
        }
    }
}

/// A URL split into the parts that change at different rates.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UrlFeature {
    full: u64,
    path: u64,
    path_tokens: Box<[u64]>,
    query_tokens: Box<[u64]>,
}

impl UrlFeature {
    fn new(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        let without_fragment = raw.split('#').next().unwrap_or(raw);
        let (path, query) = without_fragment.split_once('?').unwrap_or((without_fragment, ""));
        let path = strip_origin(path);
        let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        Some(Self {
            full: fnv(raw.as_bytes()),
            path: fnv(path.as_bytes()),
            path_tokens: ident_tokens(path),
            query_tokens: ident_tokens(query),
        })
    }

    fn similarity(&self, other: &UrlFeature) -> f64 {
        if self.full == other.full {
            1.0
        } else if self.path == other.path {
            0.8 + 0.15 * jaccard(&self.query_tokens, &other.query_tokens)
        } else {
            0.5 * jaccard(&self.path_tokens, &other.path_tokens)
        }
    }
}

fn strip_origin(path: &str) -> &str {
    match path.find("://") {
        Some(scheme_end) => {
            let rest = &path[scheme_end + 3..];
            rest.find('/').map_or("/", |slash| &rest[slash..])
        }
        None => path,
    }
}

/// An XPath reduced to its `(tag, index)` steps.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PathFeature {
    steps: Box<[(u64, u32)]>,
}

impl PathFeature {
    /// Best effort: `/html[1]/body[1]/div[2]` → `[(html,1), (body,1), (div,2)]`; predicates other than a
    /// number count as index 1.
    pub(crate) fn new(xpath: &str) -> Option<Self> {
        let mut steps: Vec<(u64, u32)> = Vec::new();
        for raw_step in split_xpath_steps(xpath) {
            let (tag, rest) = raw_step.split_once('[').unwrap_or((raw_step, ""));
            let tag = tag.trim();
            if tag.is_empty() || tag.starts_with('@') {
                continue;
            }
            let index = rest.split(']').next().and_then(|n| n.trim().parse::<u32>().ok()).unwrap_or(1);
            steps.push((fnv(tag.to_ascii_lowercase().as_bytes()), index));
        }
        if steps.is_empty() {
            return None;
        }
        let skip = steps.len().saturating_sub(PATH_STEPS);
        Some(Self { steps: steps.split_off(skip).into_boxed_slice() })
    }

    /// Weighted LCS over steps (same tag and index 1, same tag only 0.6), normalised by both lengths.
    pub(crate) fn similarity(&self, other: &PathFeature) -> f64 {
        let (a, b) = (&self.steps, &other.steps);
        if a.is_empty() || b.is_empty() {
            return 0.0;
        }
        let mut previous = [0.0f32; PATH_STEPS + 1];
        let mut current = [0.0f32; PATH_STEPS + 1];
        for step_a in a.iter() {
            for (j, step_b) in b.iter().enumerate() {
                let gain = if step_a.0 != step_b.0 {
                    0.0
                } else if step_a.1 == step_b.1 {
                    1.0
                } else {
                    0.6
                };
                current[j + 1] = (previous[j] + gain).max(previous[j + 1]).max(current[j]);
            }
            std::mem::swap(&mut previous, &mut current);
        }
        let best = f64::from(previous[b.len()]);
        (2.0 * best / (a.len() + b.len()) as f64).clamp(0.0, 1.0)
    }
}

/// Splits an XPath into its steps, ignoring slashes inside predicates.
fn split_xpath_steps(xpath: &str) -> impl Iterator<Item = &str> {
    let mut steps = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in xpath.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => depth = depth.saturating_sub(1),
            (None, '/') if depth == 0 => {
                steps.push(&xpath[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    steps.push(&xpath[start..]);
    steps.into_iter().filter(|s| !s.trim().is_empty())
}

/// Everything the scorer compares, precomputed once per element.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Features {
    tag: Option<Box<str>>,
    role: Option<Box<str>>,
    test_id: Option<Box<str>>,
    /// Other test attributes as `(name, value)` hashes.
    test_attributes: Box<[(u64, u64)]>,
    id: Option<IdentFeature>,
    name: Option<IdentFeature>,
    r#type: Option<Box<str>>,
    href: Option<UrlFeature>,
    src: Option<UrlFeature>,
    stable_classes: Box<[u64]>,
    generated_classes: Box<[u64]>,
    text: Option<TextFeature>,
    aria_label: Option<TextFeature>,
    placeholder: Option<TextFeature>,
    title: Option<TextFeature>,
    alt: Option<TextFeature>,
    value: Option<TextFeature>,
    accessible_name: Option<TextFeature>,
    label: Option<TextFeature>,
    xpath: Option<PathFeature>,
    /// Anchor id hash and the steps below it.
    id_xpath: Option<(u64, PathFeature)>,
    neighbour: Option<TextFeature>,
    bounding_box: Option<BoundingBox>,
    other_attributes: Box<[u64]>,
}

/// Extra facts known about an element beyond its descriptor.
#[derive(Debug, Clone, Default)]
pub(crate) struct Extras<'a> {
    /// Effective ARIA role; derived from the descriptor when `None`.
    pub(crate) role: Option<&'a str>,
    /// Accessible name.
    pub(crate) accessible_name: Option<&'a str>,
    /// Text of the associated `<label>`.
    pub(crate) label: Option<&'a str>,
}

impl Features {
    /// Features of a descriptor plus what else is known about the element.
    pub(crate) fn new(descriptor: &ElementDescriptor, extras: &Extras<'_>) -> Self {
        let tag = descriptor.tag.trim().to_ascii_lowercase();
        let tag = (!tag.is_empty() && tag != "*").then(|| tag.into_boxed_str());
        let role = extras
            .role
            .map(str::to_owned)
            .or_else(|| crate::aria::role_of(descriptor).map(str::to_owned))
            .map(String::into_boxed_str);
        let mut stable = Vec::new();
        let mut generated = Vec::new();
        for class in descriptor.classes() {
            if looks_generated(class) {
                generated.push(fnv(class.as_bytes()));
            } else {
                stable.push(fnv(class.as_bytes()));
            }
        }
        let mut test_attributes: Vec<(u64, u64)> = TEST_ATTRIBUTES[1..]
            .iter()
            .filter_map(|name| {
                descriptor.attribute(name).map(|value| (fnv(name.as_bytes()), fnv(value.trim().as_bytes())))
            })
            .collect();
        test_attributes.sort_unstable();
        let mut other: Vec<u64> = descriptor
            .attributes
            .iter()
            .chain(descriptor.data.iter().filter(|(name, _)| !TEST_ATTRIBUTES.contains(&name.as_str())))
            .filter(|(name, _)| !IGNORED_OTHER_ATTRIBUTES.contains(&name.as_str()))
            .map(|(name, value)| fnv_pair(name, value))
            .collect();
        other.sort_unstable();
        other.dedup();
        let id_xpath = descriptor.id_xpath.as_deref().and_then(parse_id_xpath);
        Self {
            tag,
            role,
            test_id: descriptor
                .data_testid
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(Into::into),
            test_attributes: test_attributes.into_boxed_slice(),
            id: descriptor.id.as_deref().and_then(IdentFeature::new),
            name: descriptor.name.as_deref().and_then(IdentFeature::new),
            r#type: descriptor
                .r#type
                .as_deref()
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .map(String::into_boxed_str),
            href: descriptor.href.as_deref().and_then(UrlFeature::new),
            src: descriptor.src.as_deref().and_then(UrlFeature::new),
            stable_classes: sorted_dedup(stable),
            generated_classes: sorted_dedup(generated),
            text: descriptor.text.as_deref().and_then(TextFeature::new),
            aria_label: descriptor.aria_label.as_deref().and_then(TextFeature::new),
            placeholder: descriptor.placeholder.as_deref().and_then(TextFeature::new),
            title: descriptor.title.as_deref().and_then(TextFeature::new),
            alt: descriptor.alt.as_deref().and_then(TextFeature::new),
            value: descriptor.value.as_deref().and_then(TextFeature::new),
            accessible_name: extras.accessible_name.and_then(TextFeature::new),
            label: extras.label.and_then(TextFeature::new),
            xpath: descriptor.xpath.as_deref().and_then(PathFeature::new),
            id_xpath,
            neighbour: descriptor.neighbour_text.as_deref().and_then(TextFeature::new),
            bounding_box: descriptor.bounding_box.filter(|b| b.width >= 0.0 && b.height >= 0.0),
            other_attributes: other.into_boxed_slice(),
        }
    }

    /// Which stable keys the element carries, as a [`KEY_TEST_ID`]… bit mask: a test id, other test
    /// attributes, an id or a name that does not look generated.
    pub(crate) fn keys(&self) -> u8 {
        let mut mask = 0;
        if self.test_id.is_some() {
            mask |= KEY_TEST_ID;
        }
        if !self.test_attributes.is_empty() {
            mask |= KEY_TEST_ATTRIBUTE;
        }
        if self.id.as_ref().is_some_and(|id| !id.generated) {
            mask |= KEY_ID;
        }
        if self.name.as_ref().is_some_and(|name| !name.generated) {
            mask |= KEY_NAME;
        }
        mask
    }

    /// The stable keys of `self` that `candidate` carries with exactly the same value.
    pub(crate) fn key_matches(&self, candidate: &Features) -> u8 {
        let mut mask = 0;
        if self.test_id.is_some() && self.test_id == candidate.test_id {
            mask |= KEY_TEST_ID;
        }
        if !self.test_attributes.is_empty()
            && self.test_attributes.iter().all(|pair| candidate.test_attributes.contains(pair))
        {
            mask |= KEY_TEST_ATTRIBUTE;
        }
        if let (Some(r), Some(c)) = (&self.id, &candidate.id)
            && !r.generated
            && r.raw == c.raw
        {
            mask |= KEY_ID;
        }
        if let (Some(r), Some(c)) = (&self.name, &candidate.name)
            && !r.generated
            && r.raw == c.raw
        {
            mask |= KEY_NAME;
        }
        mask
    }

    /// Whether the reference carries `signal`.
    pub(crate) fn carries(&self, signal: Signal) -> bool {
        self.similarity(self, signal).is_some()
    }

    /// Whether the element has any text.
    pub(crate) fn has_text(&self) -> bool {
        self.text.is_some()
    }

    /// The normalised texts are equal (both present).
    pub(crate) fn text_equals(&self, candidate: &Features) -> bool {
        matches!((&self.text, &candidate.text), (Some(a), Some(b)) if a.equals(b))
    }

    /// The normalised neighbour texts are equal (both present).
    pub(crate) fn neighbour_equals(&self, candidate: &Features) -> bool {
        matches!((&self.neighbour, &candidate.neighbour), (Some(a), Some(b)) if a.equals(b))
    }

    /// Every word of the shorter neighbour text occurs in the longer one (tools cut neighbour text at
    /// different widths, so one side is often a window of the other).
    pub(crate) fn neighbour_contained(&self, candidate: &Features) -> bool {
        match (&self.neighbour, &candidate.neighbour) {
            (Some(a), Some(b)) => {
                let (short, long) = if a.tokens.len() <= b.tokens.len() { (a, b) } else { (b, a) };
                !short.tokens.is_empty() && short.tokens.iter().all(|t| long.tokens.binary_search(t).is_ok())
            }
            _ => false,
        }
    }

    /// How the absolute XPaths agree: exactly equal, same last step (tag and index), and the share of
    /// the reference's steps that match from the element upwards (tag and index) before they diverge.
    pub(crate) fn xpath_agreement(&self, candidate: &Features) -> (bool, bool, f64) {
        let (Some(a), Some(b)) = (&self.xpath, &candidate.xpath) else { return (false, false, 0.0) };
        let exact = a.steps == b.steps;
        let last = a.steps.last().is_some() && a.steps.last() == b.steps.last();
        let suffix = a.steps.iter().rev().zip(b.steps.iter().rev()).take_while(|(x, y)| x == y).count();
        (exact, last, suffix as f64 / a.steps.len().max(1) as f64)
    }

    /// Share of the reference's XPath steps (tag and index both equal) found in order in the candidate's
    /// path: 1 when the candidate's path is the reference's with wrappers inserted, which keeps the
    /// positions of the ancestors (which card, which row) that a positional XPath is all about.
    pub(crate) fn xpath_steps_kept(&self, candidate: &Features) -> f64 {
        let (Some(a), Some(b)) = (&self.xpath, &candidate.xpath) else { return 0.0 };
        let (a, b) = (&a.steps, &b.steps);
        if a.is_empty() || b.is_empty() {
            return 0.0;
        }
        let mut previous = [0u8; PATH_STEPS + 1];
        let mut current = [0u8; PATH_STEPS + 1];
        for step_a in a.iter() {
            for (j, step_b) in b.iter().enumerate() {
                current[j + 1] =
                    if step_a == step_b { previous[j] + 1 } else { previous[j + 1].max(current[j]) };
            }
            std::mem::swap(&mut previous, &mut current);
        }
        f64::from(previous[b.len()]) / a.len() as f64
    }

    /// Similarity of `candidate` to `self` (the reference) on one signal; `None` when the reference does
    /// not carry it. A signal the reference carries and the candidate lacks scores 0.
    pub(crate) fn similarity(&self, candidate: &Features, signal: Signal) -> Option<f64> {
        fn text(r: &Option<TextFeature>, c: &Option<TextFeature>) -> Option<f64> {
            r.as_ref().map(|r| c.as_ref().map_or(0.0, |c| r.similarity(c)))
        }
        let c = candidate;
        match signal {
            Signal::Tag => self.tag.as_ref().map(|r| match c.tag.as_deref() {
                Some(t) if t == &**r => 1.0,
                Some(t) if compatible_tags(r, t) => 0.5,
                _ => 0.0,
            }),
            Signal::TestId => {
                self.test_id.as_ref().map(|r| f64::from(u8::from(c.test_id.as_ref() == Some(r))))
            }
            Signal::TestAttribute => (!self.test_attributes.is_empty()).then(|| {
                let matched =
                    self.test_attributes.iter().filter(|pair| c.test_attributes.contains(pair)).count();
                matched as f64 / self.test_attributes.len() as f64
            }),
            Signal::Id => {
                self.id.as_ref().map(|r| c.id.as_ref().map_or(0.0, |candidate| r.similarity(candidate)))
            }
            Signal::Name => {
                self.name.as_ref().map(|r| c.name.as_ref().map_or(0.0, |candidate| r.similarity(candidate)))
            }
            Signal::Type => self.r#type.as_ref().map(|r| f64::from(u8::from(c.r#type.as_ref() == Some(r)))),
            Signal::Role => self.role.as_ref().map(|r| f64::from(u8::from(c.role.as_ref() == Some(r)))),
            Signal::Href => {
                self.href.as_ref().map(|r| c.href.as_ref().map_or(0.0, |candidate| r.similarity(candidate)))
            }
            Signal::Src => {
                self.src.as_ref().map(|r| c.src.as_ref().map_or(0.0, |candidate| r.similarity(candidate)))
            }
            Signal::Class => {
                if !self.stable_classes.is_empty() {
                    Some(jaccard(&self.stable_classes, &c.stable_classes))
                } else if !self.generated_classes.is_empty() {
                    Some(jaccard(&self.generated_classes, &c.generated_classes))
                } else {
                    None
                }
            }
            Signal::Text => text(&self.text, &c.text),
            Signal::AriaLabel => text(&self.aria_label, &c.aria_label),
            Signal::Placeholder => text(&self.placeholder, &c.placeholder),
            Signal::Title => text(&self.title, &c.title),
            Signal::Alt => text(&self.alt, &c.alt),
            Signal::Value => text(&self.value, &c.value),
            Signal::AccessibleName => self.accessible_name.as_ref().map(|r| {
                [&c.accessible_name, &c.aria_label, &c.text, &c.value, &c.label]
                    .into_iter()
                    .flatten()
                    .map(|c| if c.contains(r) && r.char_len < c.char_len { 0.85 } else { r.similarity(c) })
                    .fold(0.0, f64::max)
            }),
            Signal::Label => self.label.as_ref().map(|r| {
                [&c.label, &c.aria_label, &c.accessible_name]
                    .into_iter()
                    .flatten()
                    .map(|c| if c.contains(r) && r.char_len < c.char_len { 0.85 } else { r.similarity(c) })
                    .fold(0.0, f64::max)
            }),
            Signal::XPath => self.xpath.as_ref().map(|r| c.xpath.as_ref().map_or(0.0, |p| r.similarity(p))),
            Signal::IdXPath => self.id_xpath.as_ref().map(|(anchor, r)| match &c.id_xpath {
                Some((candidate_anchor, p)) if candidate_anchor == anchor => r.similarity(p),
                _ => 0.0,
            }),
            Signal::Neighbour => text(&self.neighbour, &c.neighbour),
            Signal::Position => {
                let (r, cb) = (self.bounding_box?, c.bounding_box?);
                let dx = (r.x + r.width / 2.0) - (cb.x + cb.width / 2.0);
                let dy = (r.y + r.height / 2.0) - (cb.y + cb.height / 2.0);
                Some((1.0 - (dx * dx + dy * dy).sqrt() / 300.0).max(0.0))
            }
            Signal::Size => {
                let (r, cb) = (self.bounding_box?, c.bounding_box?);
                let (a, b) = (r.width * r.height, cb.width * cb.height);
                Some(if a <= 0.0 || b <= 0.0 { f64::from(u8::from(a == b)) } else { a.min(b) / a.max(b) })
            }
            Signal::OtherAttributes => (!self.other_attributes.is_empty())
                .then(|| jaccard(&self.other_attributes, &c.other_attributes)),
        }
    }
}

/// Attributes left out of the "other attributes" signal: presentation noise or already compared.
const IGNORED_OTHER_ATTRIBUTES: [&str; 4] = ["style", "aria-labelledby", "aria-describedby", "tabindex"];

/// The weight of every signal the reference carries (0 for the others), fixed for one relocation.
#[derive(Debug, Clone)]
pub(crate) struct ReferenceWeights {
    weights: [f64; N_SIGNALS],
    total: f64,
}

impl ReferenceWeights {
    /// Weights for `reference`: signals it lacks get 0; a generated-looking id, name or class set is
    /// multiplied by `generated_factor`.
    pub(crate) fn new(reference: &Features, weights: &SignalWeights, generated_factor: f64) -> Self {
        let mut out = [0.0; N_SIGNALS];
        for (slot, signal) in out.iter_mut().zip(Signal::ALL) {
            if reference.similarity(reference, signal).is_none() {
                continue;
            }
            let mut weight = weights.get(signal).max(0.0);
            let generated = match signal {
                Signal::Id => reference.id.as_ref().is_some_and(|id| id.generated),
                Signal::Name => reference.name.as_ref().is_some_and(|name| name.generated),
                Signal::Class => reference.stable_classes.is_empty(),
                _ => false,
            };
            if generated {
                weight *= generated_factor;
            }
            *slot = weight;
        }
        Self { weights: out, total: out.iter().sum() }
    }

    /// Sum of the weights; 0 when the reference carries nothing comparable.
    pub(crate) fn total(&self) -> f64 {
        self.total
    }

    /// Weighted similarity of `candidate` to `reference` in `[0, 1]`.
    pub(crate) fn score(&self, reference: &Features, candidate: &Features) -> f64 {
        if self.total <= 0.0 {
            return 0.0;
        }
        let mut sum = 0.0;
        for (weight, signal) in self.weights.iter().zip(Signal::ALL) {
            if *weight > 0.0 {
                sum += weight * reference.similarity(candidate, signal).unwrap_or(0.0);
            }
        }
        sum / self.total
    }

    /// Per-signal `(signal, weight, similarity)` for the signals the reference carries, for rationales.
    pub(crate) fn breakdown(&self, reference: &Features, candidate: &Features) -> Vec<(Signal, f64, f64)> {
        self.weights
            .iter()
            .zip(Signal::ALL)
            .filter(|(weight, _)| **weight > 0.0)
            .map(|(weight, signal)| (signal, *weight, reference.similarity(candidate, signal).unwrap_or(0.0)))
            .collect()
    }
}

/// Tags that stand in for one another after a redesign (a `<button>` that became an `<a>`).
fn compatible_tags(a: &str, b: &str) -> bool {
    const GROUPS: [&[&str]; 4] = [
        &["button", "a", "input", "summary"],
        &["input", "textarea", "select"],
        &["h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "p", "span", "div", "label", "legend"],
        &["ul", "ol", "menu"],
    ];
    GROUPS.iter().any(|group| group.contains(&a) && group.contains(&b))
}

fn parse_id_xpath(xpath: &str) -> Option<(u64, PathFeature)> {
    let rest = xpath.trim().strip_prefix("//*[@id=")?;
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &rest[1..];
    let end = rest.find(quote)?;
    let anchor = &rest[..end];
    let below = rest[end + 1..].strip_prefix(']')?;
    let path = PathFeature::new(below).unwrap_or(PathFeature { steps: Box::new([]) });
    Some((fnv(anchor.as_bytes()), path))
}

/// Whether an id or class looks machine-generated (CSS-in-JS hashes, framework counters, React `useId`):
/// such values change between builds and deserve little weight and no place in a selector.
pub(crate) fn looks_generated(value: &str) -> bool {
    let value = value.trim();
    if value.is_empty() {
        return false;
    }
    if value.contains(':') {
        return true;
    }
    let lower = value.to_ascii_lowercase();
    const PREFIXES: [&str; 14] = [
        "css-",
        "sc-",
        "jsx-",
        "emotion-",
        "styled-",
        "svelte-",
        "astro-",
        "ember",
        "ext-gen",
        "yui_",
        "gwt-uid",
        "mui-",
        "radix-",
        "headlessui-",
    ];
    if PREFIXES.iter().any(|prefix| {
        lower.starts_with(prefix)
            && (prefix.ends_with(['-', '_']) || lower[prefix.len()..].starts_with(char_is_digit))
    }) {
        return true;
    }
    if lower.len() >= 32 && lower.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return true;
    }
    let mut digit_run = 0;
    for c in value.chars() {
        digit_run = if c.is_ascii_digit() { digit_run + 1 } else { 0 };
        if digit_run >= 4 {
            return true;
        }
    }
    value.split(['-', '_']).any(hash_like_segment)
}

fn char_is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

/// A segment of 5+ characters mixing letters and at least two digits with switches between them
/// (`1x2y3z`, `3xYz2`, `a9f3e1`).
fn hash_like_segment(segment: &str) -> bool {
    if segment.len() < 5 || !segment.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let digits = segment.chars().filter(char::is_ascii_digit).count();
    if digits < 2 || digits == segment.len() {
        return false;
    }
    let switches = segment
        .as_bytes()
        .windows(2)
        .filter(|pair| pair[0].is_ascii_digit() != pair[1].is_ascii_digit())
        .count();
    switches >= 2
}

/// Lowercase, whitespace-collapsed, trimmed.
pub(crate) fn normalise_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for word in raw.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

fn text_tokens(normalised: &str) -> Box<[u64]> {
    sorted_dedup(
        normalised
            .split(|c: char| !c.is_alphanumeric())
            .filter(|token| !token.is_empty())
            .map(|token| fnv(token.as_bytes()))
            .collect(),
    )
}

/// Tokens of an identifier: split on non-alphanumerics and lower→upper camelCase boundaries, lowercased.
fn ident_tokens(raw: &str) -> Box<[u64]> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in raw.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                tokens.push(fnv(current.as_bytes()));
                current.clear();
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !current.is_empty() {
            tokens.push(fnv(current.as_bytes()));
            current.clear();
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        tokens.push(fnv(current.as_bytes()));
    }
    sorted_dedup(tokens)
}

fn sorted_dedup(mut values: Vec<u64>) -> Box<[u64]> {
    values.sort_unstable();
    values.dedup();
    values.into_boxed_slice()
}

/// Jaccard similarity of two sorted, deduplicated sets; 1 when both are empty.
fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared as f64 / (a.len() + b.len() - shared) as f64
}

/// `1 - levenshtein / max_len` on at most [`TEXT_CHARS`] characters, without allocating.
fn edit_similarity(a: &[char], b: &[char]) -> f64 {
    let (a, b) = (&a[..a.len().min(TEXT_CHARS)], &b[..b.len().min(TEXT_CHARS)]);
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let mut row = [0u16; TEXT_CHARS + 1];
    for (j, slot) in row.iter_mut().enumerate().take(b.len() + 1) {
        *slot = j as u16;
    }
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i as u16 + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            let substitution = diagonal + u16::from(ca != cb);
            row[j + 1] = substitution.min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
    }
    1.0 - f64::from(row[b.len()]) / longest as f64
}

/// FNV-1a, 64 bits: a stable, dependency-free hash for tokens.
pub(crate) fn fnv(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn fnv_pair(name: &str, value: &str) -> u64 {
    let mut hash = fnv(name.as_bytes());
    hash ^= 0x3d; // '='
    hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    for byte in value.trim().as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_looking_values_are_recognised() {
        for generated in
            ["css-1x2y3z", "ember123", ":r1:", "sc-bdVaJa", "Button_primary__3xYz2", "a9f3e1b2c4"]
        {
            assert!(looks_generated(generated), "{generated} should look generated");
        }
        for stable in ["checkout-form", "btn-primary", "col-md-6", "h2", "emberly", "product-card", "mt-4"] {
            assert!(!looks_generated(stable), "{stable} should look stable");
        }
    }

    #[test]
    fn text_similarity_is_one_for_case_and_space_variants_and_low_for_unrelated() {
        let a = TextFeature::new("  Add to   Cart ").expect("text");
        let b = TextFeature::new("add to cart").expect("text");
        let c = TextFeature::new("Sign in").expect("text");
        assert_eq!(a.similarity(&b), 1.0);
        assert!(a.similarity(&c) < 0.4);
        let d = TextFeature::new("Add to cart now").expect("text");
        assert!(a.similarity(&d) > 0.7);
    }

    #[test]
    fn edit_similarity_matches_levenshtein() {
        let kitten: Vec<char> = "kitten".chars().collect();
        let sitting: Vec<char> = "sitting".chars().collect();
        let expected = strsim::normalized_levenshtein("kitten", "sitting");
        assert!((edit_similarity(&kitten, &sitting) - expected).abs() < 1e-9);
    }

    #[test]
    fn xpath_steps_kept_is_one_for_inserted_wrappers_and_drops_for_another_position() {
        let with_xpath = |xpath: &str| {
            let descriptor =
                ElementDescriptor { xpath: Some(xpath.into()), ..ElementDescriptor::with_tag("a") };
            Features::new(&descriptor, &Extras::default())
        };
        let reference = with_xpath("/html[1]/body[1]/main[1]/div[1]/article[6]/a[1]");
        let wrapped = with_xpath("/html[1]/body[1]/main[1]/div[1]/article[6]/section[1]/div[1]/a[1]");
        let other_card = with_xpath("/html[1]/body[1]/main[1]/div[1]/article[1]/a[1]");
        assert_eq!(reference.xpath_steps_kept(&wrapped), 1.0);
        assert!((reference.xpath_steps_kept(&other_card) - 5.0 / 6.0).abs() < 1e-9);
        let no_xpath = Features::new(&ElementDescriptor::with_tag("a"), &Extras::default());
        assert_eq!(reference.xpath_steps_kept(&no_xpath), 0.0);
    }

    #[test]
    fn path_similarity_prefers_same_indices() {
        let a = PathFeature::new("/html[1]/body[1]/div[2]/ul[1]/li[7]/button[1]").expect("path");
        let same = PathFeature::new("/html[1]/body[1]/div[2]/ul[1]/li[7]/button[1]").expect("path");
        let sibling = PathFeature::new("/html[1]/body[1]/div[2]/ul[1]/li[6]/button[1]").expect("path");
        let deeper =
            PathFeature::new("/html[1]/body[1]/main[1]/div[2]/ul[1]/li[7]/div[1]/button[1]").expect("p");
        assert_eq!(a.similarity(&same), 1.0);
        assert!(a.similarity(&sibling) < 1.0);
        assert!(a.similarity(&sibling) > a.similarity(&deeper) - 0.2);
        assert!(a.similarity(&deeper) > 0.7);
    }

    #[test]
    fn url_similarity_rewards_same_path_with_changed_query() {
        let a = UrlFeature::new("/products/linen-shirt?ref=home").expect("url");
        let b = UrlFeature::new("https://shop.example/products/linen-shirt?ref=grid&utm=x").expect("url");
        let c = UrlFeature::new("/products/canvas-tote?ref=home").expect("url");
        assert!(a.similarity(&b) >= 0.8);
        assert!(a.similarity(&c) < 0.5);
    }

    #[test]
    fn ident_tokens_split_camel_case_and_punctuation() {
        assert_eq!(ident_tokens("placeOrderBtn"), ident_tokens("place-order_btn"));
    }
}
