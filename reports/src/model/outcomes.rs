//! [`Outcomes`]: the outcomes of a report, one per unique test identity, with the identities' text stored
//! once; and [`OutcomeBuilder`], which folds runs into them.
//!
//! Why not a `Vec<TestOutcome>`: a [`TestIdentity`] owns a `String` file and a `Vec<String>` title path,
//! three heap allocations per test. On a 180 000-test report those allocations and the first touch of the
//! memory they return cost about as much as reading the XML. Here every identity is appended to one text
//! buffer (file, then titles, back to back) and an entry per test keeps where it ends; an owned
//! [`TestIdentity`] is built only where one is handed out ([`OutcomeRef::identity`], the ingest items).
//!
//! `Outcomes` dereferences to `[TestOutcome]` for code that wants plain values (tests, one-off lookups):
//! the slice is built on first use and kept. The conversions ([`crate::ParsedReport::to_ingest_items`],
//! [`crate::ParsedReport::summary`], the counts) read the entries and never build it.

use super::{FailureDetail, OutcomeStatus, Run, StatusFold, TestOutcome};
use argus_vocabulary::TestIdentity;
use serde::ser::{Serialize, SerializeSeq, Serializer};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::ops::Deref;
use std::sync::OnceLock;

/// One outcome per unique test identity, in first-seen order (see the module documentation).
#[derive(Clone, Default)]
pub struct Outcomes {
    /// Every identity's text: its file, then its titles, back to back; identity after identity.
    text: String,
    /// Where each title ends in `text`, title after title, identity after identity.
    title_ends: Vec<usize>,
    /// One entry per identity; an entry's text and titles start where the previous entry's end.
    entries: Vec<Entry>,
    /// The plain values, built on first dereference.
    plain: OnceLock<Vec<TestOutcome>>,
}

/// One identity's outcome and where its identity lies in [`Outcomes`]' buffers.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// End of the file in `text`.
    file_end: usize,
    /// End of the last title in `text` (the file's end when there is no title).
    text_end: usize,
    /// End of its titles in `title_ends`.
    titles_end: usize,
    status: OutcomeStatus,
    runs: u32,
    duration_ms: u64,
    failures: Vec<FailureDetail>,
}

/// One outcome, read in place: what [`TestOutcome`] holds, with the identity borrowed.
#[derive(Debug, Clone, Copy)]
pub struct OutcomeRef<'a> {
    outcomes: &'a Outcomes,
    at: usize,
}

impl<'a> OutcomeRef<'a> {
    fn entry(&self) -> &'a Entry {
        &self.outcomes.entries[self.at]
    }

    /// Where this identity's text and titles start.
    fn starts(&self) -> (usize, usize) {
        match self.at.checked_sub(1) {
            Some(previous) => {
                let previous = &self.outcomes.entries[previous];
                (previous.text_end, previous.titles_end)
            }
            None => (0, 0),
        }
    }

    /// The spec file.
    pub fn file(&self) -> &'a str {
        let (text_start, _) = self.starts();
        &self.outcomes.text[text_start..self.entry().file_end]
    }

    /// The title path: describe blocks, then the title.
    pub fn titles(&self) -> impl ExactSizeIterator<Item = &'a str> + Clone + 'a {
        let (_, titles_start) = self.starts();
        let entry = self.entry();
        let outcomes = self.outcomes;
        let ends = &outcomes.title_ends[titles_start..entry.titles_end];
        let file_end = entry.file_end;
        (0..ends.len()).map(move |at| {
            let start = at.checked_sub(1).map_or(file_end, |previous| ends[previous]);
            &outcomes.text[start..ends[at]]
        })
    }

    /// The test's key, as [`TestIdentity::key`] gives it (`file › describe › title`).
    pub fn key(&self) -> String {
        let (text_start, _) = self.starts();
        let entry = self.entry();
        let titles = self.titles();
        let mut key = String::with_capacity(
            entry.text_end - text_start + titles.len() * TestIdentity::TITLE_SEPARATOR.len(),
        );
        key.push_str(self.file());
        for title in titles {
            key.push_str(TestIdentity::TITLE_SEPARATOR);
            key.push_str(title);
        }
        key
    }

    /// The identity, owned.
    pub fn identity(&self) -> TestIdentity {
        TestIdentity { file: self.file().to_owned(), title_path: self.titles().map(str::to_owned).collect() }
    }

    /// The final status after all runs.
    pub fn status(&self) -> OutcomeStatus {
        self.entry().status
    }

    /// How many times it executed (1 + retries).
    pub fn runs(&self) -> u32 {
        self.entry().runs
    }

    /// Total duration of all runs, in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.entry().duration_ms
    }

    /// The failures of its failed or errored runs, in run order.
    pub fn failures(&self) -> &'a [FailureDetail] {
        &self.entry().failures
    }

    /// The outcome as a plain value.
    pub fn to_outcome(&self) -> TestOutcome {
        TestOutcome {
            test: self.identity(),
            status: self.status(),
            runs: self.runs(),
            duration_ms: self.duration_ms(),
            failures: self.failures().to_vec(),
        }
    }
}

impl Outcomes {
    /// How many unique identities there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every outcome, in place, in first-seen order.
    pub fn refs(&self) -> impl ExactSizeIterator<Item = OutcomeRef<'_>> + Clone + '_ {
        (0..self.entries.len()).map(move |at| OutcomeRef { outcomes: self, at })
    }

    /// Whether some outcome's test has this key (`file › describe › title`).
    pub fn contains_key(&self, key: &str) -> bool {
        self.refs().any(|outcome| {
            let mut rest = key;
            let mut take = |part: &str| match rest.strip_prefix(part) {
                Some(after) => {
                    rest = after;
                    true
                }
                None => false,
            };
            take(outcome.file())
                && outcome.titles().all(|title| take(TestIdentity::TITLE_SEPARATOR) && take(title))
                && rest.is_empty()
        })
    }

    /// Appends an identity's text; [`Outcomes::entries`] does not know it until an entry is pushed.
    fn append_identity<'t>(&mut self, file: &str, titles: impl IntoIterator<Item = &'t str>) {
        self.text.push_str(file);
        for title in titles {
            self.text.push_str(title);
            self.title_ends.push(self.text.len());
        }
    }
}

impl Deref for Outcomes {
    type Target = [TestOutcome];

    /// The outcomes as plain values, built on first use.
    fn deref(&self) -> &[TestOutcome] {
        self.plain.get_or_init(|| self.refs().map(|outcome| outcome.to_outcome()).collect())
    }
}

impl From<Vec<TestOutcome>> for Outcomes {
    /// The outcomes as given (no folding: a repeated identity stays repeated).
    fn from(plain: Vec<TestOutcome>) -> Self {
        let mut outcomes = Outcomes::default();
        for outcome in &plain {
            outcomes.append_identity(&outcome.test.file, outcome.test.title_path.iter().map(String::as_str));
            let file_end =
                outcomes.text.len() - outcome.test.title_path.iter().map(String::len).sum::<usize>();
            outcomes.entries.push(Entry {
                file_end,
                text_end: outcomes.text.len(),
                titles_end: outcomes.title_ends.len(),
                status: outcome.status,
                runs: outcome.runs,
                duration_ms: outcome.duration_ms,
                failures: outcome.failures.clone(),
            });
        }
        outcomes.plain = OnceLock::from(plain);
        outcomes
    }
}

impl PartialEq for Outcomes {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.refs().zip(other.refs()).all(|(ours, theirs)| {
                ours.file() == theirs.file()
                    && ours.titles().eq(theirs.titles())
                    && ours.entry().status == theirs.entry().status
                    && ours.entry().runs == theirs.entry().runs
                    && ours.entry().duration_ms == theirs.entry().duration_ms
                    && ours.entry().failures == theirs.entry().failures
            })
    }
}

impl fmt::Debug for Outcomes {
    /// As the plain list of [`TestOutcome`]s would print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.refs().map(|outcome| outcome.to_outcome())).finish()
    }
}

impl Serialize for Outcomes {
    /// As the plain list of [`TestOutcome`]s would serialize.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut list = serializer.serialize_seq(Some(self.len()))?;
        for outcome in self.refs() {
            list.serialize_element(&outcome.to_outcome())?;
        }
        list.end()
    }
}

/// Folds runs into outcomes by test identity, keeping first-seen order.
///
/// Runs are folded as they arrive (status, run count, duration, failures), so no per-test list of runs is
/// kept. An identity's text is appended to the [`Outcomes`] buffer, then looked up in a table (foldhash,
/// seeded per process) of the identities seen so far: a repeated identity takes its text back out, so each
/// identity is stored once.
#[derive(Default)]
pub struct OutcomeBuilder {
    /// Positions in `outcomes.entries`, by the hash of their identity, each with a tag of that hash
    /// ([`slot_of`]).
    index: hashbrown::HashTable<u64>,
    hasher: foldhash::fast::RandomState,
    outcomes: Outcomes,
    statuses: Vec<StatusFold>,
    /// Where the identity being written started in `outcomes.text` and `outcomes.title_ends`, and where
    /// its file ended.
    pending: (usize, usize, usize),
}

impl fmt::Debug for OutcomeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutcomeBuilder").field("tests", &self.outcomes.len()).finish_non_exhaustive()
    }
}

impl OutcomeBuilder {
    /// A builder with room for `tests` identities and `text` bytes of identity text before it grows.
    pub fn with_capacity(tests: usize, text: usize) -> Self {
        Self {
            index: hashbrown::HashTable::with_capacity(tests),
            hasher: foldhash::fast::RandomState::default(),
            outcomes: Outcomes {
                text: String::with_capacity(text),
                title_ends: Vec::with_capacity(tests),
                entries: Vec::with_capacity(tests),
                plain: OnceLock::new(),
            },
            statuses: Vec::with_capacity(tests),
            pending: (0, 0, 0),
        }
    }

    /// Records runs of `test` (appended after the runs already seen for it).
    pub fn push(&mut self, test: TestIdentity, runs: impl IntoIterator<Item = Run>) {
        self.begin_identity(&test.file);
        for title in &test.title_path {
            self.push_title(title);
        }
        self.finish_identity(runs);
    }

    /// Starts writing an identity in place: its file, then [`OutcomeBuilder::push_title`] per title, then
    /// [`OutcomeBuilder::finish_identity`] with its runs. Parsers use this to write an identity from the
    /// parts of a report without building a [`TestIdentity`].
    pub(crate) fn begin_identity(&mut self, file: &str) {
        let outcomes = &mut self.outcomes;
        let (text_start, titles_start) = (outcomes.text.len(), outcomes.title_ends.len());
        outcomes.append_identity(file, std::iter::empty());
        self.pending = (text_start, titles_start, outcomes.text.len());
    }

    /// The next title of the identity being written.
    pub(crate) fn push_title(&mut self, title: &str) {
        self.outcomes.append_identity("", [title]);
    }

    /// Ends the identity being written and records its runs.
    pub(crate) fn finish_identity(&mut self, runs: impl IntoIterator<Item = Run>) {
        let (text_start, titles_start, file_end) = self.pending;
        let hash = identity_hash(
            &self.hasher,
            &self.outcomes,
            (text_start, file_end, self.outcomes.text.len()),
            (titles_start, self.outcomes.title_ends.len()),
        );
        let tag = slot_tag(hash);
        let outcomes = &self.outcomes;
        let found = self.index.find(hash, |&slot| {
            if slot & SLOT_TAG_MASK != tag {
                return false;
            }
            let at = slot_position(slot);
            let (other_text_start, other_titles_start) = OutcomeRef { outcomes, at }.starts();
            let other = &outcomes.entries[at];
            outcomes.text[other_text_start..other.text_end] == outcomes.text[text_start..]
                && other.file_end - other_text_start == file_end - text_start
                && outcomes.title_ends[other_titles_start..other.titles_end]
                    .iter()
                    .map(|end| end - other_text_start)
                    .eq(outcomes.title_ends[titles_start..].iter().map(|end| end - text_start))
        });
        let at = match found {
            Some(&slot) => {
                // Seen before: its text is already stored.
                let at = slot_position(slot);
                self.outcomes.text.truncate(text_start);
                self.outcomes.title_ends.truncate(titles_start);
                at
            }
            None => {
                let at = self.outcomes.entries.len();
                self.outcomes.entries.push(Entry {
                    file_end,
                    text_end: self.outcomes.text.len(),
                    titles_end: self.outcomes.title_ends.len(),
                    status: OutcomeStatus::Skipped,
                    runs: 0,
                    duration_ms: 0,
                    failures: Vec::new(),
                });
                self.statuses.push(StatusFold::default());
                // Growing rehashes from the stored identities (rare: parsers size the table up front).
                let (hasher, outcomes) = (&self.hasher, &self.outcomes);
                self.index.insert_unique(hash, slot_of(at, tag), |&slot| {
                    let at = slot_position(slot);
                    let (text_start, titles_start) = OutcomeRef { outcomes, at }.starts();
                    let entry = &outcomes.entries[at];
                    identity_hash(
                        hasher,
                        outcomes,
                        (text_start, entry.file_end, entry.text_end),
                        (titles_start, entry.titles_end),
                    )
                });
                at
            }
        };
        let (entry, status) = (&mut self.outcomes.entries[at], &mut self.statuses[at]);
        for run in runs {
            status.add(run.status);
            entry.runs = entry.runs.saturating_add(1);
            entry.duration_ms = entry.duration_ms.saturating_add(run.duration_ms);
            if let Some(failure) = run.failure {
                // Most failed tests fail once: room for one, not the four a growing `Vec` starts with.
                entry.failures.reserve_exact(1);
                entry.failures.push(failure);
            }
        }
    }

    /// How many unique identities were recorded.
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }

    /// The outcomes, in first-seen order.
    pub fn finish(mut self) -> Outcomes {
        for (entry, status) in self.outcomes.entries.iter_mut().zip(&self.statuses) {
            entry.status = status.finish();
            entry.runs = entry.runs.max(1);
        }
        self.outcomes
    }
}

/// The bits of a slot that hold a tag of the identity's hash.
const SLOT_TAG_MASK: u64 = (1 << SLOT_TAG_BITS) - 1;

/// How many bits of a slot the tag takes; the position takes the rest (2^40 entries is far beyond any
/// memory).
const SLOT_TAG_BITS: u32 = 24;

/// The tag of a hash: 24 bits hashbrown does not use to place the slot (it uses the low bits for the
/// bucket and the top 7 for its control byte), so a tag match is a 1 in 2^24 accident between different
/// identities that share a bucket group and a control byte.
fn slot_tag(hash: u64) -> u64 {
    (hash >> 32) & SLOT_TAG_MASK
}

/// A table slot: an entry's position and its identity's hash tag. Keeping the tag in the slot lets a
/// probe reject another identity without reading that identity's entry and text, which are cold.
fn slot_of(at: usize, tag: u64) -> u64 {
    ((at as u64) << SLOT_TAG_BITS) | tag
}

/// The entry position a slot holds.
fn slot_position(slot: u64) -> usize {
    (slot >> SLOT_TAG_BITS) as usize
}

/// The hash of an identity: its text (`text[text_start..text_end]`, the file ending at `file_end`) and
/// where its titles end (`title_ends[titles_start..titles_end]`). Positions are hashed relative to the
/// identity's start, so equal identities hash equal wherever they are stored.
fn identity_hash(
    hasher: &foldhash::fast::RandomState,
    outcomes: &Outcomes,
    (text_start, file_end, text_end): (usize, usize, usize),
    (titles_start, titles_end): (usize, usize),
) -> u64 {
    let mut state = hasher.build_hasher();
    state.write(&outcomes.text.as_bytes()[text_start..text_end]);
    state.write_usize(file_end - text_start);
    for end in &outcomes.title_ends[titles_start..titles_end] {
        state.write_usize(end - text_start);
    }
    state.finish()
}
