//! One pass over a failure text that finds every marker [`super::classify`] and
//! [`super::locator_extract`] look for, so neither has to search the text marker by marker (about sixty
//! substring searches and up to seven regexes per text before): the regexes then run only on the texts
//! whose anchors say they can match.
//!
//! Exactness. The case-insensitive regexes (`(?i)waiting for …`, `(?i)expected to find element:`,
//! `(?i)… ms exceeded`) are gated on ASCII case-insensitive anchors that contain neither `k` nor `s`, the
//! only ASCII letters a non-ASCII character folds to (KELVIN SIGN, LONG S): so a text the regex would match
//! always contains the anchor. No marker contains a line break, so scanning message and stack apart finds
//! what a scan of `message + "\n" + stack` finds.

use super::classify::{ASSERTION_MARKERS, CRASH_MARKERS, LOCATOR_MARKERS, NETWORK_MARKERS, TIMEOUT_MARKERS};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::sync::LazyLock;

/// Which groups of markers a text contains (a bit set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Markers(u16);

impl Markers {
    /// A crash marker.
    pub const CRASH: u16 = 1 << 0;
    /// A network marker.
    pub const NETWORK: u16 = 1 << 1;
    /// A locator-failure marker.
    pub const LOCATOR: u16 = 1 << 2;
    /// An assertion marker.
    pub const ASSERTION: u16 = 1 << 3;
    /// A timeout marker.
    pub const TIMEOUT: u16 = 1 << 4;
    /// `locator resolved to` / `selector resolved to`.
    pub const RESOLVED: u16 = 1 << 5;
    /// Where a locator extractor (case-sensitive) could match.
    pub const LOCATOR_ANCHOR: u16 = 1 << 6;
    /// `waiting for ` in any ASCII case (Playwright waits; the case-insensitive locator regexes).
    pub const WAITING_FOR: u16 = 1 << 7;
    /// `expected to find element:` in any ASCII case (Cypress).
    pub const EXPECTED_TO_FIND: u16 = 1 << 8;
    /// `exceeded` in any ASCII case (timeouts).
    pub const EXCEEDED: u16 = 1 << 9;

    /// Whether any of `bits` is set.
    pub const fn any(self, bits: u16) -> bool {
        self.0 & bits != 0
    }

    /// Both sets.
    pub const fn union(self, other: Markers) -> Markers {
        Markers(self.0 | other.0)
    }

    /// Whether a locator extractor could find something in the text.
    pub const fn may_name_a_locator(self) -> bool {
        self.any(Markers::LOCATOR_ANCHOR | Markers::WAITING_FOR | Markers::EXPECTED_TO_FIND)
    }
}

/// Case-sensitive anchors of the locator extractors (beyond the locator markers, which count too).
const LOCATOR_ANCHORS: &[&str] = &[
    "Locator: ",
    "strict mode violation: ",
    "\"method\"",
    "By.",
    "element (",
    "element with selector ",
    "Unable to locate element",
    "No element found for selector",
];

/// Every marker in one ASCII case-insensitive automaton, so a text is read once. A case-sensitive marker
/// counts only where the matched bytes are exactly the marker: the case-insensitive automaton finds every
/// occurrence in any ASCII case, so checking the bytes keeps exactly the case-sensitive occurrences.
struct Automaton {
    markers: AhoCorasick,
    /// Per marker: the bits it sets, and the exact text it needs (`None`: any ASCII case).
    patterns: Vec<(u16, Option<&'static str>)>,
}

static AUTOMATON: LazyLock<Automaton> = LazyLock::new(|| {
    let mut patterns: Vec<(u16, Option<&'static str>)> = Vec::new();
    let mut texts: Vec<&'static str> = Vec::new();
    let groups: [(&[&'static str], u16); 7] = [
        (CRASH_MARKERS, Markers::CRASH),
        (NETWORK_MARKERS, Markers::NETWORK),
        (LOCATOR_MARKERS, Markers::LOCATOR | Markers::LOCATOR_ANCHOR),
        (ASSERTION_MARKERS, Markers::ASSERTION),
        (TIMEOUT_MARKERS, Markers::TIMEOUT),
        (&["locator resolved to", "selector resolved to"], Markers::RESOLVED),
        (LOCATOR_ANCHORS, Markers::LOCATOR_ANCHOR),
    ];
    for (markers, bit) in groups {
        for &marker in markers {
            texts.push(marker);
            patterns.push((bit, Some(marker)));
        }
    }
    let insensitive: [(&'static str, u16); 3] = [
        ("waiting for ", Markers::WAITING_FOR),
        ("expected to find element:", Markers::EXPECTED_TO_FIND),
        ("exceeded", Markers::EXCEEDED),
    ];
    for (marker, bit) in insensitive {
        texts.push(marker);
        patterns.push((bit, None));
    }
    let markers = AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .build(&texts)
        .expect("valid marker automaton");
    Automaton { markers, patterns }
});

/// The markers in `text`.
pub(crate) fn scan(text: &str) -> Markers {
    let automaton = &*AUTOMATON;
    let mut found = 0u16;
    for found_match in automaton.markers.find_overlapping_iter(text) {
        let (bits, exact) = automaton.patterns[found_match.pattern().as_usize()];
        if exact.is_none_or(|exact| text.as_bytes().get(found_match.range()) == Some(exact.as_bytes())) {
            found |= bits;
        }
    }
    Markers(found)
}
