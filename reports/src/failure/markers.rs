//! One pass over a failure text that finds every marker [`super::classify`] and
//! [`super::locator_extract`] look for, so neither has to search the text marker by marker (about sixty
//! substring searches and up to seven regexes per text before): the regexes then run only on the texts
//! whose anchors say they can match.
//!
//! The automaton is a compact table walked by hand, a long text in four interleaved parts ([`scan`]).
//!
//! Exactness. The case-insensitive regexes (`(?i)waiting for …`, `(?i)expected to find element:`,
//! `(?i)… ms exceeded`) are gated on ASCII case-insensitive anchors that contain neither `k` nor `s`, the
//! only ASCII letters a non-ASCII character folds to (KELVIN SIGN, LONG S): so a text the regex would match
//! always contains the anchor. No marker contains a line break, so scanning message and stack apart finds
//! what a scan of `message + "\n" + stack` finds.

use super::classify::{ASSERTION_MARKERS, CRASH_MARKERS, LOCATOR_MARKERS, NETWORK_MARKERS, TIMEOUT_MARKERS};
use aho_corasick::automaton::{Automaton as _, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, StartKind};
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
///
/// The automaton is aho-corasick's DFA (standard semantics: a state reports every marker that ends
/// there), copied into a compact table walked by hand ([`scan`]): states renumbered densely with the
/// match states last, bytes grouped into classes that no state tells apart, and each state's row offset
/// stored in place of its number, so a step is `next = transitions[state + classes[byte]]`.
struct Automaton {
    /// Byte → class.
    classes: [u8; 256],
    /// Row offsets: `transitions[state + class]` is the next state's row offset (`u16`, so the rows in
    /// use stay in the first-level cache). Every `u16` is an index, so a step needs no bounds check.
    transitions: Box<[u16; TABLE_LEN]>,
    /// The start state's row offset.
    start: u16,
    /// Row offsets from here on are match states.
    first_match: u16,
    /// How many columns a row has.
    columns: u16,
    /// Per state (`row offset / columns`): how many of the last bytes read are the start of some
    /// marker, at most (the state's distance from the start state).
    depths: Vec<u8>,
    /// Per match state (`(row offset - first_match) / columns`): its markers, as (bits, the exact text
    /// it needs or `None` for any ASCII case).
    matches: Vec<Vec<(u16, Option<&'static str>)>>,
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
    let dfa = DFA::builder()
        .match_kind(MatchKind::Standard)
        .ascii_case_insensitive(true)
        .start_kind(StartKind::Unanchored)
        .prefilter(false)
        .build(&texts)
        .expect("valid marker automaton");
    compact(&dfa, &patterns)
});

/// The compact table of `dfa` (see [`Automaton`]).
fn compact(dfa: &DFA, patterns: &[(u16, Option<&'static str>)]) -> Automaton {
    type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
    let start = dfa.start_state(Anchored::No).expect("an unanchored start state");
    // Every state reachable from the start, breadth first, with its distance from the start: any text
    // that reaches a state ends with that state's marker prefix, and that prefix reaches it, so the
    // distance is the prefix's length.
    let mut states = vec![(start, 0usize)];
    let mut seen = HashMap::from_iter([(start, 0usize)]);
    let mut at = 0;
    while let Some(&(state, depth)) = states.get(at) {
        for byte in 0..=u8::MAX {
            let next = dfa.next_state(Anchored::No, state, byte);
            if let std::collections::hash_map::Entry::Vacant(vacant) = seen.entry(next) {
                vacant.insert(states.len());
                states.push((next, depth + 1));
            }
        }
        at += 1;
    }
    // Bytes whose columns agree in every state share a class.
    let mut classes = [0u8; 256];
    let mut columns: Vec<Vec<StateID>> = Vec::new();
    let mut column_classes: HashMap<Vec<StateID>, usize> = HashMap::default();
    for byte in 0..=u8::MAX {
        let column: Vec<StateID> =
            states.iter().map(|&(state, _)| dfa.next_state(Anchored::No, state, byte)).collect();
        let class = *column_classes.entry(column).or_insert_with_key(|column| {
            columns.push(column.clone());
            columns.len() - 1
        });
        classes[usize::from(byte)] = u8::try_from(class).expect("at most 256 classes");
    }
    // Dense numbers, match states last.
    let is_match = |state: StateID| dfa.is_special(state) && dfa.is_match(state);
    let (mut order, matching): (Vec<_>, Vec<_>) =
        states.iter().copied().partition(|&(state, _): &(StateID, usize)| !is_match(state));
    let first_match_index = order.len();
    order.extend(matching);
    let width = u16::try_from(columns.len()).expect("few classes");
    let row = |index: usize| -> u16 {
        u16::try_from(index)
            .ok()
            .and_then(|index| index.checked_mul(width))
            .expect("the table fits u16 offsets")
    };
    let rows: HashMap<StateID, u16> =
        order.iter().enumerate().map(|(index, &(state, _))| (state, row(index))).collect();
    assert!(order.len() * columns.len() <= TABLE_LEN, "the marker table fits u16 row offsets");
    let mut transitions = Box::new([0u16; TABLE_LEN]);
    for (index, &(state, _)) in order.iter().enumerate() {
        for (class, column) in columns.iter().enumerate() {
            transitions[usize::from(row(index)) + class] = rows[&column[seen[&state]]];
        }
    }
    let matches = order[first_match_index..]
        .iter()
        .map(|&(state, _)| {
            (0..dfa.match_len(state))
                .map(|index| patterns[dfa.match_pattern(state, index).as_usize()])
                .collect()
        })
        .collect();
    Automaton {
        classes,
        transitions,
        start: rows[&start],
        first_match: row(first_match_index),
        columns: width,
        depths: order.iter().map(|&(_, depth)| u8::try_from(depth).expect("markers are short")).collect(),
        matches,
    }
}

/// Entries in the transition table: one per `u16` row offset plus class (at most 256 classes past
/// the last row).
const TABLE_LEN: usize = 1 << 16;

/// How many parts (lanes) a long text is walked in at once.
const LANES: usize = 4;

/// Texts shorter than this are walked in one part.
const MIN_LANES_LEN: usize = 64;

/// The markers in `text`.
///
/// Why lanes: a DFA walk is one chain of dependent table loads, a few cycles per byte however simple the
/// step. A long text is cut into [`LANES`] parts walked in the same loop, so their loads overlap. A walk
/// that starts at a part's first byte (in the start state) finds exactly the occurrences that start
/// there or later; after its part, it reads on while the bytes its state stands for (the longest suffix
/// read that begins some marker) started inside its part: an occurrence that started inside runs to
/// its end, an occurrence that starts later is the next part's. The result is a set, so an occurrence
/// seen by two walks counts once: the same markers as one walk over the whole text.
pub(crate) fn scan(text: &str) -> Markers {
    let automaton = &*AUTOMATON;
    let bytes = text.as_bytes();
    if bytes.len() < MIN_LANES_LEN {
        return Markers(automaton.walk(automaton.start, bytes, 0, bytes.len()).1);
    }
    // Lane `i` owns `i * width .. (i + 1) * width` (the last one up to the end, shorter or empty).
    let width = bytes.len().div_ceil(LANES);
    let ends: [usize; LANES] = std::array::from_fn(|lane| ((lane + 1) * width).min(bytes.len()));
    let together = bytes.len() - (LANES - 1) * width;
    let first_match = automaton.first_match;
    let [first, second, third, fourth]: [&[u8]; LANES] =
        std::array::from_fn(|lane| &bytes[lane * width..][..together]);
    let mut states = [automaton.start; LANES];
    let mut found = 0u16;
    let columns = first.iter().zip(second).zip(third).zip(fourth);
    for (at, (((&a, &b), &c), &d)) in columns.enumerate() {
        let mut matched = false;
        for (state, byte) in states.iter_mut().zip([a, b, c, d]) {
            *state = automaton.step(*state, byte);
            matched |= *state >= first_match;
        }
        if matched {
            for (lane, &state) in states.iter().enumerate() {
                if state >= first_match {
                    found |= automaton.matched(state, bytes, lane * width + at + 1);
                }
            }
        }
    }
    for (lane, &state) in states.iter().enumerate() {
        // The rest of its part, then on into the next while an occurrence may be under way.
        let (state, bits) = automaton.walk(state, bytes, lane * width + together, ends[lane]);
        found |= bits | automaton.walk_out(state, bytes, ends[lane]);
    }
    Markers(found)
}

impl Automaton {
    /// The state after reading `byte` in `state`.
    #[inline(always)]
    fn step(&self, state: u16, byte: u8) -> u16 {
        // Row offset plus class stays below `TABLE_LEN` (checked when the table is built), so the mask
        // changes nothing; it only shows the compiler the index is in bounds.
        self.transitions
            [(usize::from(state) + usize::from(self.classes[usize::from(byte)])) & (TABLE_LEN - 1)]
    }

    /// Walks `bytes[from..to]` from `state`; the state reached and the bits of the markers found.
    fn walk(&self, mut state: u16, bytes: &[u8], from: usize, to: usize) -> (u16, u16) {
        let mut found = 0u16;
        for (at, &byte) in bytes.iter().enumerate().take(to).skip(from) {
            state = self.step(state, byte);
            if state >= self.first_match {
                found |= self.matched(state, bytes, at + 1);
            }
        }
        (state, found)
    }

    /// Walks on from `state`, reached at `end` (the end of a lane's part), while the bytes the state
    /// stands for started before `end`; the bits of the markers found.
    fn walk_out(&self, mut state: u16, bytes: &[u8], end: usize) -> u16 {
        let mut found = 0u16;
        let mut at = end;
        while at - self.depth(state) < end
            && let Some(&byte) = bytes.get(at)
        {
            state = self.step(state, byte);
            at += 1;
            if state >= self.first_match {
                found |= self.matched(state, bytes, at);
            }
        }
        found
    }

    /// How many of the last bytes read the state stands for.
    fn depth(&self, state: u16) -> usize {
        self.depths.get(usize::from(state / self.columns)).map_or(0, |&depth| usize::from(depth))
    }

    /// The bits of the markers the match state `state` reports, ending at `end` in `bytes` (a
    /// case-sensitive marker only where the bytes are exactly the marker).
    fn matched(&self, state: u16, bytes: &[u8], end: usize) -> u16 {
        let mut found = 0u16;
        let Some(markers) = self.matches.get(usize::from((state - self.first_match) / self.columns)) else {
            return 0;
        };
        for &(bits, exact) in markers {
            if let Some(exact) = exact {
                let matched = end.checked_sub(exact.len()).and_then(|begin| bytes.get(begin..end));
                if matched != Some(exact.as_bytes()) {
                    continue;
                }
            }
            found |= bits;
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasick;

    /// Every marker and the bits it sets, as the automaton is built from them.
    fn marker_table() -> Vec<(u16, Option<&'static str>, &'static str)> {
        let groups: [(&[&'static str], u16); 7] = [
            (CRASH_MARKERS, Markers::CRASH),
            (NETWORK_MARKERS, Markers::NETWORK),
            (LOCATOR_MARKERS, Markers::LOCATOR | Markers::LOCATOR_ANCHOR),
            (ASSERTION_MARKERS, Markers::ASSERTION),
            (TIMEOUT_MARKERS, Markers::TIMEOUT),
            (&["locator resolved to", "selector resolved to"], Markers::RESOLVED),
            (LOCATOR_ANCHORS, Markers::LOCATOR_ANCHOR),
        ];
        let mut table: Vec<(u16, Option<&'static str>, &'static str)> = groups
            .into_iter()
            .flat_map(|(markers, bit)| markers.iter().map(move |&marker| (bit, Some(marker), marker)))
            .collect();
        for (marker, bit) in [
            ("waiting for ", Markers::WAITING_FOR),
            ("expected to find element:", Markers::EXPECTED_TO_FIND),
            ("exceeded", Markers::EXCEEDED),
        ] {
            table.push((bit, None, marker));
        }
        table
    }

    /// The markers as a plain overlapping search of the whole text finds them (what this module did
    /// before the compact table and its lanes).
    struct Reference {
        automaton: AhoCorasick,
        table: Vec<(u16, Option<&'static str>, &'static str)>,
    }

    impl Reference {
        fn new() -> Self {
            let table = marker_table();
            let automaton = AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(table.iter().map(|(_, _, marker)| marker))
                .expect("valid automaton");
            Self { automaton, table }
        }

        fn scan(&self, text: &str) -> Markers {
            let mut found = 0;
            for found_match in self.automaton.find_overlapping_iter(text) {
                let (bits, exact, _) = self.table[found_match.pattern().as_usize()];
                if exact
                    .is_none_or(|exact| text.as_bytes().get(found_match.range()) == Some(exact.as_bytes()))
                {
                    found |= bits;
                }
            }
            Markers(found)
        }
    }

    /// Filler that keeps the automaton busy: prefixes of markers, in several cases.
    const FILLER: &str = "Time wait fail Assert elem net::E Target Unable toB expec By exceed sock ";

    #[test]
    fn every_marker_is_found_wherever_it_lies_whatever_the_length() {
        let reference = Reference::new();
        for (_, _, marker) in marker_table() {
            for variant in [marker.to_owned(), marker.to_ascii_uppercase(), marker.to_ascii_lowercase()] {
                for len in [variant.len(), 40, 63, 64, 65, 66, 67, 100, 129, 130, 131, 200, 261, 400] {
                    let len = len.max(variant.len());
                    for at in 0..=len - variant.len() {
                        let mut text: String = FILLER.chars().cycle().take(at).collect();
                        text.push_str(&variant);
                        text.extend(FILLER.chars().cycle().skip(at % 7).take(len - text.len()));
                        assert_eq!(scan(&text), reference.scan(&text), "{text:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn texts_without_markers_have_none_and_overlapping_markers_all_count() {
        let reference = Reference::new();
        for text in [
            "",
            "failure",
            "org.opentest4j.AssertionFailedError: expected: <4> but was: <5>\n\tat org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:55)\n\tat com.shop.CheckoutTest.pays(CheckoutTest.java:43)",
            "TimeoutError: locator.click: Timeout 30000ms exceeded.\nCall log:\n  - waiting for locator('#pay')\n  - locator resolved to <button id=\"pay\" disabled>Pay</button>",
            "Unable to locate element: {\"method\":\"css selector\",\"selector\":\"#pay\"} NoSuchElementException",
            "é ü 𝄞 Ḱ ſ K timed out ſelector resolved to",
        ] {
            assert_eq!(scan(text), reference.scan(text), "{text:?}");
            let long = text.repeat(9);
            assert_eq!(scan(&long), reference.scan(&long), "{long:?}");
        }
        assert_eq!(scan("failure"), Markers(0));
    }
}
