//! The single pass: one quick-xml walk over the report that refuses hostile input, names the position of
//! every problem, and builds the outcomes directly (no tree in between).
//!
//! 1. **Refuses hostile input.** Any `<!DOCTYPE` is refused, so no DTD is processed and no internal
//!    (billion laughs) or external (XXE) entity can be declared, let alone expanded; nesting beyond
//!    [`ReportLimits::max_depth`] is refused (the walk keeps an explicit stack, it never recurses); more
//!    than [`ReportLimits::max_testcases`] cases are refused.
//! 2. **Names the position of every problem.** Malformed or truncated XML, unknown entities and non-numeric
//!    suite counts become errors with a line and column.
//! 3. **Keeps every status element of every test case**, with its attributes and its decoded text (entity
//!    references resolved, CDATA kept verbatim), so the policy error > failure > skipped can choose.
//!
//! The element rules are those of the tolerant `junit-parser` reader this pass replaced (so every real
//! report it read is read the same way): the root is the first top-level `<testsuites>`, `<testrun>` or
//! `<testsuite>`; inside `<testsuites>`/`<testrun>` both `<testsuite>` and `<testsuite/>` count; inside a
//! `<testsuite>` only non-empty nested suites count; a `<testcase>` counts only directly inside a suite;
//! unknown elements are skipped whole; everything after the root element closes is ignored (but must still
//! be well-formed). Attributes are all optional; an empty number is 0, and so is an unreadable duration.
//!
//! Speed: the walk first reads with the reader skipping blank text outside status elements, and reads a
//! `<testcase>`'s attributes the plain way when they are plain ([`plain_case_attributes`]); on any
//! error it reads the report again the general way, so errors keep their positions and wording
//! ([`walk`]).
//!
//! One difference: cases are folded in document order, where the reader's tree put a suite's own cases
//! before those of its nested suites. Only the order of first appearance can differ, and only for a suite
//! that has cases after a nested suite with cases.

use super::{CaseAttributes, SuiteContext};
use crate::error::line_column;
use crate::model::{OutcomeBuilder, Run, RunStatus};
use crate::{Counts, ReportError, ReportLimits};
use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::escape::{resolve_html5_entity, resolve_predefined_entity, unescape};
use quick_xml::events::attributes::{AttrError, Attribute, Attributes};
use quick_xml::events::{BytesRef, BytesStart, Event};
use std::borrow::Cow;

/// The kind of a status element inside a `<testcase>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusKind {
    /// `<failure>`: a check failed.
    Failure,
    /// `<error>`: an unexpected error.
    Error,
    /// `<skipped>`.
    Skipped,
    /// Surefire `<flakyFailure>`: an earlier failed run of a test that finally passed.
    FlakyFailure,
    /// Surefire `<flakyError>`.
    FlakyError,
    /// Surefire `<rerunFailure>`: a later failed rerun of a test that finally failed.
    RerunFailure,
    /// Surefire `<rerunError>`.
    RerunError,
}

impl StatusKind {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "failure" => StatusKind::Failure,
            "error" => StatusKind::Error,
            "skipped" => StatusKind::Skipped,
            "flakyFailure" => StatusKind::FlakyFailure,
            "flakyError" => StatusKind::FlakyError,
            "rerunFailure" => StatusKind::RerunFailure,
            "rerunError" => StatusKind::RerunError,
            _ => return None,
        })
    }
}

/// One status element, with its attributes and decoded text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusElement<'a> {
    /// Which element.
    pub kind: StatusKind,
    /// The `message` attribute.
    pub message: Cow<'a, str>,
    /// The `type` attribute.
    pub error_type: Cow<'a, str>,
    /// The element's text (and its `<stackTrace>` child's text), entities resolved.
    pub text: Cow<'a, str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    /// `<testsuites>` or `<testrun>` at the root.
    Suites,
    /// A `<testsuite>` that counts.
    Suite,
    /// A `<testcase>` that counts.
    Case,
    /// A status element whose text is collected.
    Status,
    /// A `<stackTrace>` inside a status element: its text is collected too.
    StatusChild,
    /// Anything skipped.
    Opaque,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    kind: FrameKind,
    opened_at: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Before,
    Inside,
    After,
}

/// An open suite: what its cases inherit, and what decides whether its declared counts count.
struct OpenSuite<'a> {
    context: SuiteContext<'a>,
    declared: Declared,
    /// Whether a case was seen in this suite or a nested one.
    has_cases: bool,
    /// Declared counts of the case-less suites directly inside: they count only if this suite has cases
    /// (a case-less suite's own counts already include its nested suites').
    nested_counts: Counts,
}

/// `tests`, `failures`, `errors` and `skipped` as a suite declares them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Declared {
    tests: u64,
    failures: u64,
    errors: u64,
    skipped: u64,
}

impl Declared {
    /// The counts of a suite that has no cases to count.
    pub(crate) fn counts(self) -> Counts {
        let failed = self.failures.min(self.tests);
        let errored = self.errors.min(self.tests - failed);
        let skipped = self.skipped.min(self.tests - failed - errored);
        Counts { passed: self.tests - failed - errored - skipped, failed, errored, skipped, flaky: 0 }
    }
}

/// What the pass builds.
pub(crate) struct Built {
    /// The outcomes by identity.
    pub builder: OutcomeBuilder,
    /// Counts of suites with counts and no cases.
    pub counted_only: Counts,
}

struct Walker<'a, 'l> {
    text: &'a str,
    limits: &'l ReportLimits,
    /// Whether the reader skips blank text where the walk keeps no text ([`walk`]).
    skip_blank_text: bool,
    stack: Vec<Frame>,
    suites: Vec<OpenSuite<'a>>,
    root: Root,
    /// The root `<testsuites>`'s declared counts and whether any suite appeared in it.
    root_declared: Declared,
    root_has_suites: bool,
    testcases: usize,
    /// Cases without any name so far ([`super::push_case`] numbers them).
    unnamed_cases: usize,
    case: CaseAttributes<'a>,
    statuses: Vec<StatusElement<'a>>,
    runs: Vec<Run>,
    built: Built,
}

/// Reads `text` into outcomes (see the module documentation).
///
/// The first pass asks the reader to skip the blank text between elements wherever the walk ignores
/// text (outside status elements): about half of a report's events are such blanks. That pass never
/// reads positions except to report an error, and where it reports one (or a report is refused) the
/// report is read again reporting every event, so errors name exactly the positions they always did.
/// Skipping blanks cannot make a read fail or succeed: blank text is never an error, and text outside
/// status elements is never kept.
pub(crate) fn walk(text: &str, limits: &ReportLimits) -> Result<Built, ReportError> {
    Walker::new(text, limits, true).run().or_else(|_| Walker::new(text, limits, false).run())
}

impl<'a, 'l> Walker<'a, 'l> {
    fn new(text: &'a str, limits: &'l ReportLimits, skip_blank_text: bool) -> Self {
        Walker {
            text,
            limits,
            skip_blank_text,
            stack: Vec::new(),
            suites: Vec::new(),
            root: Root::Before,
            root_declared: Declared::default(),
            root_has_suites: false,
            testcases: 0,
            unnamed_cases: 0,
            case: CaseAttributes::default(),
            statuses: Vec::new(),
            runs: Vec::new(),
            built: Built {
                builder: OutcomeBuilder::with_capacity(text.len() / 150, text.len() / 2),
                counted_only: Counts::default(),
            },
        }
    }

    /// The whole walk: the outcomes, or the first problem.
    fn run(mut self) -> Result<Built, ReportError> {
        self.walk_events()?;
        Ok(self.built)
    }

    fn walk_events(&mut self) -> Result<(), ReportError> {
        let mut reader = Reader::from_str(self.text);
        reader.config_mut().check_end_names = true;
        reader.config_mut().trim_text_start = self.skip_blank_text;
        loop {
            let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
            let event = match reader.read_event() {
                Ok(event) => event,
                Err(error) => {
                    let at = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
                    return Err(self.malformed(at, error.to_string()));
                }
            };
            match event {
                Event::DocType(_) => {
                    let (line, column) = line_column(self.text, before);
                    return Err(ReportError::DoctypeRefused { line, column });
                }
                Event::Start(start) => {
                    if self.stack.len() >= self.limits.max_depth {
                        let (line, column) = line_column(self.text, before);
                        return Err(ReportError::TooDeep { limit: self.limits.max_depth, line, column });
                    }
                    let kind = self.open(&start, false, before)?;
                    self.stack.push(Frame { kind, opened_at: before });
                    if self.skip_blank_text {
                        reader.config_mut().trim_text_start = !self.collecting();
                    }
                }
                Event::Empty(start) => {
                    self.open(&start, true, before)?;
                }
                Event::End(_) => {
                    self.close();
                    if self.skip_blank_text {
                        reader.config_mut().trim_text_start = !self.collecting();
                    }
                }
                Event::Text(text) => {
                    if self.collecting() {
                        self.push_text(text.xml_content(XmlVersion::Implicit1_0));
                    }
                }
                Event::CData(cdata) => {
                    if self.collecting() {
                        self.push_text(cdata.xml_content(XmlVersion::Implicit1_0));
                    }
                }
                Event::GeneralRef(reference) => {
                    if self.collecting() {
                        self.push_text(resolve_reference(&reference));
                    }
                }
                Event::Eof => return self.end_of_input(),
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            }
        }
    }

    fn end_of_input(&mut self) -> Result<(), ReportError> {
        if let Some(frame) = self.stack.last() {
            let (opened_line, opened_column) = line_column(self.text, frame.opened_at);
            let (line, column) = line_column(self.text, self.text.len());
            return Err(ReportError::Truncated {
                element: element_name_at(self.text, frame.opened_at),
                opened_line,
                opened_column,
                line,
                column,
            });
        }
        if self.root == Root::Before {
            return Err(ReportError::NotJunit(
                "no <testsuites>, <testsuite> or <testrun> root element".to_owned(),
            ));
        }
        if !self.root_has_suites {
            let counts = self.root_declared.counts();
            add_counts(&mut self.built.counted_only, counts);
        }
        Ok(())
    }

    fn collecting(&self) -> bool {
        matches!(self.stack.last(), Some(Frame { kind: FrameKind::Status | FrameKind::StatusChild, .. }))
    }

    /// Appends to the open status element's text; the first piece is kept borrowed when it can be.
    fn push_text(&mut self, content: Cow<'a, str>) {
        if let Some(status) = self.statuses.last_mut() {
            match &mut status.text {
                text if text.is_empty() => *text = content,
                Cow::Owned(text) => text.push_str(&content),
                Cow::Borrowed(first) => {
                    // A text in pieces (entities, CDATA): room for a few more pieces, not one reallocation
                    // per piece.
                    let mut text = String::with_capacity(2 * (first.len() + content.len()).max(64));
                    text.push_str(first);
                    text.push_str(&content);
                    status.text = Cow::Owned(text);
                }
            }
        }
    }

    /// Decides what an opening (or empty) element is, and records what it carries.
    fn open(&mut self, start: &BytesStart<'_>, empty: bool, at: usize) -> Result<FrameKind, ReportError> {
        let name = start.name();
        let name: &str = name.as_ref();
        let parent = self.stack.last().map(|frame| frame.kind);
        let kind = match parent {
            None => {
                if self.root != Root::Before {
                    return Ok(FrameKind::Opaque);
                }
                match name {
                    "testsuites" | "testrun" => {
                        self.root_declared = self.suite_attributes(start, at)?.declared;
                        self.root = if empty { Root::After } else { Root::Inside };
                        if empty {
                            let counts = self.root_declared.counts();
                            add_counts(&mut self.built.counted_only, counts);
                        }
                        FrameKind::Suites
                    }
                    "testsuite" => {
                        self.root_has_suites = true;
                        self.root = if empty { Root::After } else { Root::Inside };
                        self.open_suite(start, empty, at)?
                    }
                    _ => FrameKind::Opaque,
                }
            }
            Some(FrameKind::Suites) if name == "testsuite" => {
                self.root_has_suites = true;
                self.open_suite(start, empty, at)?
            }
            // The reader ignored an empty nested suite altogether.
            Some(FrameKind::Suite) if name == "testsuite" && empty => FrameKind::Opaque,
            Some(FrameKind::Suite) if name == "testsuite" => self.open_suite(start, false, at)?,
            Some(FrameKind::Suite) if name == "testcase" => {
                self.testcases += 1;
                if self.testcases > self.limits.max_testcases {
                    return Err(ReportError::TooManyTestcases { limit: self.limits.max_testcases });
                }
                // The previous case's unescaped name buffer is reused for this one's.
                let mut spare = match std::mem::take(&mut self.case.name) {
                    Cow::Owned(name) => name,
                    Cow::Borrowed(_) => String::new(),
                };
                self.case = self.case_attributes(start, at, &mut spare)?;
                self.statuses.clear();
                if empty {
                    self.finish_case();
                }
                FrameKind::Case
            }
            Some(FrameKind::Case) => match StatusKind::from_name(name) {
                Some(kind) => {
                    let mut element = StatusElement {
                        kind,
                        message: Cow::Borrowed(""),
                        error_type: Cow::Borrowed(""),
                        text: Cow::Borrowed(""),
                    };
                    for_each_attribute(self.text, start, at, &mut String::new(), |key, value| {
                        match key {
                            "message" => element.message = value,
                            "type" => element.error_type = value,
                            _ => {}
                        }
                        Ok(())
                    })?;
                    self.statuses.push(element);
                    FrameKind::Status
                }
                None => FrameKind::Opaque,
            },
            Some(FrameKind::Status) if name == "stackTrace" => FrameKind::StatusChild,
            Some(_) => FrameKind::Opaque,
        };
        Ok(kind)
    }

    /// Opens a suite (and closes it at once when it is empty).
    fn open_suite(
        &mut self,
        start: &BytesStart<'_>,
        empty: bool,
        at: usize,
    ) -> Result<FrameKind, ReportError> {
        let attributes = self.suite_attributes(start, at)?;
        let trimmed = |value: Option<Cow<'a, str>>| value.map(trim_cow).filter(|value| !value.is_empty());
        let name = trim_cow(attributes.name.unwrap_or(Cow::Borrowed("")));
        self.suites.push(OpenSuite {
            context: SuiteContext {
                name_is_a_file: super::looks_like_a_file(&name),
                name,
                file: trimmed(attributes.file),
                hostname: trimmed(attributes.hostname),
            },
            declared: attributes.declared,
            has_cases: false,
            nested_counts: Counts::default(),
        });
        if empty {
            self.close_suite();
        }
        Ok(FrameKind::Suite)
    }

    fn close_suite(&mut self) {
        let Some(suite) = self.suites.pop() else { return };
        if suite.has_cases {
            // Every enclosing suite has cases too, so these counts count.
            add_counts(&mut self.built.counted_only, suite.nested_counts);
            if let Some(parent) = self.suites.last_mut() {
                parent.has_cases = true;
            }
        } else {
            let counts = suite.declared.counts();
            match self.suites.last_mut() {
                Some(parent) => add_counts(&mut parent.nested_counts, counts),
                None => add_counts(&mut self.built.counted_only, counts),
            }
        }
    }

    fn close(&mut self) {
        let Some(frame) = self.stack.pop() else { return };
        match frame.kind {
            FrameKind::Suite => self.close_suite(),
            FrameKind::Case => self.finish_case(),
            _ => {}
        }
        if self.stack.is_empty() && self.root == Root::Inside {
            self.root = Root::After;
        }
    }

    /// Folds the case just closed into the outcomes.
    fn finish_case(&mut self) {
        if let Some(suite) = self.suites.last_mut() {
            suite.has_cases = true;
        }
        let contexts = self.suites.iter().map(|suite| &suite.context);
        if self.statuses.is_empty() {
            // Most cases: one passed run, handed over as it is (what `runs` yields for no status).
            let passed = Run {
                status: if self.case.not_run { RunStatus::Skipped } else { RunStatus::Passed },
                duration_ms: super::seconds_to_ms(self.case.time),
                failure: None,
            };
            super::push_case(
                &mut self.built.builder,
                &mut self.unnamed_cases,
                &self.case,
                contexts,
                [passed],
            );
            return;
        }
        super::runs(&self.case, &mut self.statuses, &mut self.runs);
        let runs = self.runs.drain(..);
        super::push_case(&mut self.built.builder, &mut self.unnamed_cases, &self.case, contexts, runs);
        self.statuses.clear();
    }

    fn suite_attributes(
        &self,
        start: &BytesStart<'_>,
        at: usize,
    ) -> Result<SuiteAttributes<'a>, ReportError> {
        let mut suite = SuiteAttributes::default();
        for_each_attribute(self.text, start, at, &mut String::new(), |key, value| {
            match key {
                "name" => suite.name = Some(value),
                "file" => suite.file = Some(value),
                "hostname" => suite.hostname = Some(value),
                "tests" => suite.declared.tests = parse_number(self.text, start, at, key, &value)?,
                "failures" => suite.declared.failures = parse_number(self.text, start, at, key, &value)?,
                "errors" => suite.declared.errors = parse_number(self.text, start, at, key, &value)?,
                "skipped" => suite.declared.skipped = parse_number(self.text, start, at, key, &value)?,
                _ => {}
            }
            Ok(())
        })?;
        Ok(suite)
    }

    fn case_attributes(
        &self,
        start: &BytesStart<'_>,
        at: usize,
        spare: &mut String,
    ) -> Result<CaseAttributes<'a>, ReportError> {
        if let Some(tag) = reborrow(self.text, start)
            && let Some(case) = plain_case_attributes(tag, start.name().as_ref().len(), spare)
        {
            return Ok(case);
        }
        self.general_case_attributes(start, at, spare)
    }

    /// [`Walker::case_attributes`] the general way, for any tag.
    fn general_case_attributes(
        &self,
        start: &BytesStart<'_>,
        at: usize,
        spare: &mut String,
    ) -> Result<CaseAttributes<'a>, ReportError> {
        let mut case = CaseAttributes::default();
        for_each_attribute(self.text, start, at, spare, |key, value| {
            match key {
                "name" => case.name = value,
                "classname" => case.classname = Some(value),
                "file" => case.file = Some(value),
                "time" => case.time = parse_seconds(&value),
                "status" | "result" if super::says_not_run(&value) => case.not_run = true,
                _ => {}
            }
            Ok(())
        })?;
        Ok(case)
    }

    fn malformed(&self, at: usize, reason: String) -> ReportError {
        malformed(self.text, at, reason)
    }
}

/// The attributes of a `<testsuites>`, `<testrun>` or `<testsuite>`.
#[derive(Default)]
struct SuiteAttributes<'a> {
    name: Option<Cow<'a, str>>,
    file: Option<Cow<'a, str>>,
    hostname: Option<Cow<'a, str>>,
    declared: Declared,
}

fn add_counts(total: &mut Counts, more: Counts) {
    total.passed += more.passed;
    total.failed += more.failed;
    total.errored += more.errored;
    total.skipped += more.skipped;
    total.flaky += more.flaky;
}

/// Calls `visit` with every attribute, its value unescaped (and borrowed from the report when it has no
/// entity); a malformed attribute or an unknown entity is an error at the element's position. The first
/// value that needs unescaping is written into `spare`'s buffer (taken, so the caller can hand a buffer
/// back for the next tag instead of allocating one per tag).
///
/// Well-formed tags (nearly all) are split by [`split_attributes`], which follows quick-xml's attribute
/// grammar byte for byte; anything it does not take (a malformed or duplicated attribute, a tag not
/// borrowed from the report, more than [`MAX_SPLIT_ATTRIBUTES`] attributes) goes through quick-xml's own
/// iterator, so every error keeps quick-xml's wording.
fn for_each_attribute<'a>(
    text: &'a str,
    start: &BytesStart<'_>,
    at: usize,
    spare: &mut String,
    mut visit: impl FnMut(&str, Cow<'a, str>) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let name_len = start.name().as_ref().len();
    // Events of a `Reader::from_str` borrow from the report, so the tag can be re-read with its lifetime.
    let tag = reborrow(text, start);
    if let Some(tag) = tag {
        let mut split = [SplitAttribute::default(); MAX_SPLIT_ATTRIBUTES];
        if let Some(count) = split_attributes(tag, name_len, &mut split) {
            for attribute in &split[..count] {
                let value = if attribute.has_entity {
                    unescape_value(text, at, attribute.value, spare)?
                } else {
                    Cow::Borrowed(attribute.value)
                };
                visit(attribute.key, value)?;
            }
            return Ok(());
        }
    }
    let mut one = |attribute: Result<Attribute<'_>, AttrError>, owned: bool| {
        let attribute = attribute.map_err(|error| malformed(text, at, error.to_string()))?;
        let value: Cow<'a, str> = match attribute.value {
            Cow::Borrowed(raw) if !owned && !raw.contains('&') => {
                // `raw` points into `text` (see below): take it back with the report's lifetime.
                match reborrow(text, raw) {
                    Some(raw) => Cow::Borrowed(raw),
                    None => Cow::Owned(raw.to_owned()),
                }
            }
            raw => Cow::Owned(
                unescape(&raw).map_err(|error| malformed(text, at, error.to_string()))?.into_owned(),
            ),
        };
        visit(attribute.key.as_ref(), value)
    };
    match tag {
        Some(tag) => {
            for attribute in Attributes::new(tag, name_len) {
                one(attribute, false)?;
            }
        }
        None => {
            for attribute in start.attributes() {
                one(attribute, true)?;
            }
        }
    }
    Ok(())
}

/// The attributes of a `<testcase>` tag (its content from `from` on) when they are plain, as
/// [`Walker::case_attributes`] reads them; `None` for anything else, which that reads the general way
/// (so every error and every unusual value keeps its one reading).
///
/// Plain: attributes written `key="value"` or `key='value'` (no blanks around `=`), keys of at most
/// 16 bytes, each written once, no entity but the predefined five and those only in `name`, a `time`
/// that is a plain decimal ([`plain_decimal`]) and a `line` that is a whole number. Nearly every case
/// of nearly every report is written so. Keys are found eight bytes at a time, and each attribute is
/// taken as it is found (no list of pairs, no call per attribute): the general way spends most of its
/// time on unpredictable branches, one per byte of every key.
fn plain_case_attributes<'a>(tag: &'a str, from: usize, spare: &mut String) -> Option<CaseAttributes<'a>> {
    const NAME: u8 = 1;
    const CLASSNAME: u8 = 2;
    const FILE: u8 = 4;
    const TIME: u8 = 8;
    const LINE: u8 = 16;
    const MAX_OTHERS: usize = 8;
    let bytes = tag.as_bytes();
    let len = bytes.len();
    let mut case = CaseAttributes::default();
    let mut seen = 0u8;
    let mut others = [""; MAX_OTHERS];
    let mut other_count = 0;
    let mut at = from;
    let plain = loop {
        while at < len && matches!(bytes[at], b' ' | b'\t' | b'\r' | b'\n') {
            at += 1;
        }
        if at >= len {
            break true;
        }
        let key_start = at;
        let Some(key_end) = key_end(bytes, key_start) else { break false };
        let quote = match bytes.get(key_end..key_end + 2) {
            Some([b'=', quote @ (b'"' | b'\'')]) => *quote,
            _ => break false,
        };
        let value_start = key_end + 2;
        let Some(rest) = bytes.get(value_start..) else { break false };
        let (value_end, has_entity) = match memchr::memchr2(quote, b'&', rest) {
            Some(stop) if rest[stop] == quote => (value_start + stop, false),
            Some(ampersand) => match memchr::memchr(quote, &rest[ampersand..]) {
                Some(stop) => (value_start + ampersand + stop, true),
                None => break false,
            },
            None => break false,
        };
        let (Some(key), Some(value)) = (tag.get(key_start..key_end), tag.get(value_start..value_end)) else {
            break false;
        };
        at = value_end + 1;
        let bit = match key {
            "name" => NAME,
            "classname" => CLASSNAME,
            "file" => FILE,
            "time" => TIME,
            "line" => LINE,
            _ => {
                if other_count == MAX_OTHERS || others[..other_count].contains(&key) || has_entity {
                    break false;
                }
                if matches!(key, "status" | "result") && super::says_not_run(value) {
                    case.not_run = true;
                }
                others[other_count] = key;
                other_count += 1;
                continue;
            }
        };
        if seen & bit != 0 || (has_entity && bit != NAME) {
            break false;
        }
        seen |= bit;
        match bit {
            NAME if has_entity => {
                let mut name = std::mem::take(spare);
                name.clear();
                if !unescape_predefined(value, &mut name) {
                    *spare = name;
                    break false;
                }
                case.name = Cow::Owned(name);
            }
            NAME => case.name = Cow::Borrowed(value),
            CLASSNAME => case.classname = Some(Cow::Borrowed(value)),
            FILE => case.file = Some(Cow::Borrowed(value)),
            TIME => match plain_decimal(value) {
                Some(seconds) => case.time = seconds,
                None if value.is_empty() => case.time = 0.0,
                None => break false,
            },
            _ => {
                if !value.is_empty() && value.parse::<u64>().is_err() {
                    break false;
                }
            }
        }
    };
    if plain {
        return Some(case);
    }
    // Hand the name's buffer back for the general reading.
    if let Cow::Owned(name) = case.name {
        *spare = name;
    }
    None
}

/// Where the key that starts at `start` ends: at the first `=` or blank after its first byte, looked
/// for eight bytes at a time in the next 16 (one at a time near the end of the tag); `None` when the key
/// is longer, starts with `=`, runs to the end of the tag, or the first stop is another byte below `!`
/// or a byte from 0x80 to 0xA0 (the plain reading leaves those to the general one).
fn key_end(bytes: &[u8], start: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    if bytes.get(start) == Some(&b'=') {
        return None;
    }
    let is_stop = |byte: u8| byte < b'!' || byte == b'=' || (0x80..=0xA0).contains(&byte);
    for word_start in [start + 1, start + 9] {
        let Some(chunk) = bytes.get(word_start..word_start + 8) else {
            // Fewer than eight bytes left: one at a time.
            let end = word_start + bytes.get(word_start..)?.iter().position(|&byte| is_stop(byte))?;
            return matches!(bytes[end], b'=' | b' ' | b'\t' | b'\r' | b'\n').then_some(end);
        };
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        // High bit of each byte below `!` (0x21) or from 0x80 to 0xA0: setting the high bit first keeps
        // the subtraction from borrowing across bytes.
        let below_bang = !((word | HIGHS) - 0x21 * ONES) & HIGHS;
        // High bit of each `=` byte (and maybe of bytes above the first one, never below it).
        let equals = word ^ (u64::from(b'=') * ONES);
        let equals = equals.wrapping_sub(ONES) & !equals & HIGHS;
        let stops = below_bang | equals;
        if stops != 0 {
            let end = word_start + (stops.trailing_zeros() / 8) as usize;
            return matches!(bytes[end], b'=' | b' ' | b'\t' | b'\r' | b'\n').then_some(end);
        }
    }
    None
}

/// The most attributes [`split_attributes`] takes; JUnit elements carry at most about ten.
const MAX_SPLIT_ATTRIBUTES: usize = 16;

/// An attribute value as written that holds a `&`, with its entities resolved (into `spare`'s buffer
/// when it can).
fn unescape_value<'a>(
    text: &str,
    at: usize,
    raw: &'a str,
    spare: &mut String,
) -> Result<Cow<'a, str>, ReportError> {
    let mut value = std::mem::take(spare);
    value.clear();
    if unescape_predefined(raw, &mut value) {
        return Ok(Cow::Owned(value));
    }
    *spare = value;
    let value = unescape(raw).map_err(|error| malformed(text, at, error.to_string()))?;
    Ok(Cow::Owned(value.into_owned()))
}

/// Writes `raw` into `value` with XML's five predefined entities (`&amp;`, `&lt;`, `&gt;`, `&quot;`,
/// `&apos;`) resolved; `false` when `raw` holds any other reference: then quick-xml's `unescape`
/// (character references, HTML5 names, errors) decides. Where both apply they agree: quick-xml resolves
/// these five names to the same characters, and a reference that starts with one of them followed by `;`
/// ends there.
fn unescape_predefined(raw: &str, value: &mut String) -> bool {
    const PREDEFINED: [(&str, &str); 5] =
        [("amp;", "&"), ("lt;", "<"), ("gt;", ">"), ("quot;", "\""), ("apos;", "'")];
    value.reserve(raw.len());
    let mut rest = raw;
    while let Some(ampersand) = memchr::memchr(b'&', rest.as_bytes()) {
        value.push_str(&rest[..ampersand]);
        let after = &rest[ampersand + 1..];
        let Some((name, character)) = PREDEFINED.iter().find(|(name, _)| after.starts_with(name)) else {
            return false;
        };
        value.push_str(character);
        rest = &after[name.len()..];
    }
    value.push_str(rest);
    true
}

/// One attribute as [`split_attributes`] finds it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SplitAttribute<'a> {
    key: &'a str,
    /// The value as written (entities not resolved).
    value: &'a str,
    /// Whether the value holds a `&` (an entity or character reference to resolve).
    has_entity: bool,
}

/// Splits the attributes of `tag` (a tag's content: its name, then from `from` on its attributes) into
/// `split`, in order, and returns how many there are; `None` when quick-xml's iterator would report an
/// error (or there are more than `split` holds).
///
/// The grammar is quick-xml's (`IterState::next` in XML mode): whitespace is ` `, `\t`, `\r`, `\n`; a key
/// is its first byte then everything up to `=` or whitespace; whitespace may surround `=`; the value is
/// quoted with `"` or `'` and ends at the same quote; attributes need no whitespace between them; a key
/// may appear once. The search for a value's closing quote also notes whether it passed a `&`, so a
/// value without entities is not searched again.
fn split_attributes<'a>(
    tag: &'a str,
    from: usize,
    split: &mut [SplitAttribute<'a>; MAX_SPLIT_ATTRIBUTES],
) -> Option<usize> {
    let bytes = tag.as_bytes();
    let len = bytes.len();
    let is_space = |byte: u8| matches!(byte, b' ' | b'\t' | b'\r' | b'\n');
    let mut count = 0;
    let mut at = from;
    loop {
        while at < len && is_space(bytes[at]) {
            at += 1;
        }
        if at >= len {
            return Some(count);
        }
        let key_start = at;
        at += 1;
        while at < len && bytes[at] != b'=' && !is_space(bytes[at]) {
            at += 1;
        }
        let key_end = at;
        while at < len && is_space(bytes[at]) {
            at += 1;
        }
        if at >= len || bytes[at] != b'=' {
            return None;
        }
        at += 1;
        while at < len && is_space(bytes[at]) {
            at += 1;
        }
        let quote = *bytes.get(at).filter(|&&byte| byte == b'"' || byte == b'\'')?;
        let value_start = at + 1;
        let rest = bytes.get(value_start..)?;
        let (value_end, has_entity) = match memchr::memchr2(quote, b'&', rest)? {
            stop if rest[stop] == quote => (value_start + stop, false),
            ampersand => (value_start + ampersand + memchr::memchr(quote, &rest[ampersand..])?, true),
        };
        let key = tag.get(key_start..key_end)?;
        if count == split.len() || split[..count].iter().any(|seen| seen.key == key) {
            return None;
        }
        split[count] = SplitAttribute { key, value: tag.get(value_start..value_end)?, has_entity };
        count += 1;
        at = value_end + 1;
    }
}

/// `part` as a slice of `text` with `text`'s lifetime, when `part` lies inside `text`.
fn reborrow<'a>(text: &'a str, part: &str) -> Option<&'a str> {
    let offset = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    text.get(offset..offset.checked_add(part.len())?)
}

/// A `time` attribute as seconds ([`super::lenient_seconds`]); the usual plain decimal (`0.125`) is read
/// without the general float parser ([`plain_decimal`]).
fn parse_seconds(value: &str) -> f64 {
    plain_decimal(value).unwrap_or_else(|| super::lenient_seconds(value))
}

/// `digits` or `digits.digits` with at most 15 digits in all, as `str::parse::<f64>` reads it; `None`
/// for anything else (signs, exponents, a bare `.`, longer numbers), which the general parser reads.
///
/// Exactness: the digits make an integer below 10^15 < 2^53 and the scale is 10^k with k ≤ 15 ≤ 22,
/// both exact in an `f64`, so the one division rounds correctly, as the standard parser does (its own
/// fast path is this very division).
fn plain_decimal(value: &str) -> Option<f64> {
    const POWERS: [f64; 16] =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let mut mantissa = 0u64;
    let mut digits = 0usize;
    let mut point = None;
    for (at, &byte) in bytes.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                digits += 1;
            }
            b'.' if point.is_none() && at > 0 && at + 1 < bytes.len() => point = Some(at),
            _ => return None,
        }
    }
    if digits > 15 {
        return None;
    }
    let decimals = point.map_or(0, |point| bytes.len() - point - 1);
    // Integer-to-float conversion is exact below 2^53.
    Some(mantissa as f64 / POWERS[decimals])
}

/// A numeric attribute: empty is the default, anything else must parse.
fn parse_number<T: std::str::FromStr + Default>(
    text: &str,
    start: &BytesStart<'_>,
    at: usize,
    key: &str,
    value: &str,
) -> Result<T, ReportError> {
    if value.is_empty() {
        return Ok(T::default());
    }
    value.parse().map_err(|_| {
        let (line, column) = line_column(text, at);
        ReportError::InvalidNumber {
            element: start.name().as_ref().to_owned(),
            attribute: key.to_owned(),
            value: value.to_owned(),
            line,
            column,
        }
    })
}

fn malformed(text: &str, at: usize, reason: String) -> ReportError {
    let (line, column) = line_column(text, at);
    ReportError::MalformedXml { line, column, reason: reason.to_lowercase() }
}

/// The value without surrounding whitespace, still borrowed when it was.
fn trim_cow(value: Cow<'_, str>) -> Cow<'_, str> {
    match value {
        Cow::Borrowed(value) => Cow::Borrowed(value.trim()),
        Cow::Owned(value) if value.trim().len() == value.len() => Cow::Owned(value),
        Cow::Owned(value) => Cow::Owned(value.trim().to_owned()),
    }
}

/// `&lt;`, `&#10;`, `&eacute;` resolved; an unknown entity kept as written.
fn resolve_reference<'a>(reference: &BytesRef<'a>) -> Cow<'a, str> {
    if let Ok(Some(character)) = reference.resolve_char_ref() {
        return Cow::Owned(character.to_string());
    }
    let name: &str = reference;
    match resolve_predefined_entity(name).or_else(|| resolve_html5_entity(name)) {
        Some(resolved) => Cow::Borrowed(resolved),
        None => Cow::Owned(format!("&{name};")),
    }
}

/// The element name of the tag that starts at `at` (for error messages).
fn element_name_at(text: &str, at: usize) -> String {
    let tag = text.get(at..).unwrap_or_default().trim_start_matches('<');
    tag.split(|c: char| c.is_whitespace() || c == '>' || c == '/').next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The splitter takes exactly what quick-xml's iterator takes, with the same pairs; it hands anything
    /// else (errors, duplicates) to quick-xml.
    /// The plain reading of a `<testcase>`'s attributes gives what the general reading gives, and leaves
    /// everything else (errors included) to it.
    #[test]
    fn plain_case_attributes_agree_with_the_general_reading() {
        let plain = [
            r#"testcase name="pays_with_card_3[visa &amp; mastercard]" classname="com.shop.CheckoutTest" time="0.003""#,
            r#"testcase name="a" classname="b" file="f.ts" time="12.5" line="3" x="1" y="2""#,
            "testcase\tname='t'\n  classname=\"c\"   time=\"\"",
            r#"testcase name="a &lt;&gt;&quot;&apos; b"classname="é""#,
            r#"testcase classname="c" name="x" assertions="3" status="run""#,
            r#"testcase name="n" a="1""#,
            r#"testcase name="x" time="0""#,
            r#"testcase n="""#,
        ];
        let general_only = [
            r#"testcase name="a &#38; b" classname="c""#,
            r#"testcase name="x" name="y" classname="c""#,
            r#"testcase foo="1" foo="2" classname="c""#,
            r#"testcase foo="&amp;" classname="c""#,
            r#"testcase name = "a" classname="c""#,
            r#"testcase time="abc" classname="c""#,
            r#"testcase time="&#49;" classname="c""#,
            r#"testcase line="x" classname="classname""#,
            r#"testcase line="" classname="c&lt;d""#,
            r#"testcase averyveryverylongkey="v" name="n""#,
            r#"testcase =x="1" classname="c""#,
            r#"testcase name="unterminated classname"#,
            r#"testcase a1="1" a2="2" a3="3" a4="4" a5="5" a6="6" a7="7" a8="8" a9="9" name="n""#,
            "testcase na\u{1}me=\"1\" classname=\"c\"",
            "testcase n\u{100}me=\"1\" classname=\"c\"",
            r#"testcase name="a" classname="b" time="-1""#,
            r#"testcase name="n" time="1e3""#,
            r#"testcase name="a" b"#,
            r#"testcase name="a" bcdefghijkl"#,
            r#"testcase name="a" bcdefghijklmnopqrstu"#,
            r#"testcase name="&bogus;" classname="b""#,
        ];
        let limits = ReportLimits::default();
        for (tags, is_plain) in [(&plain[..], true), (&general_only[..], false)] {
            for &tag in tags {
                let walker = Walker::new(tag, &limits, false);
                let start = BytesStart::from_content(tag, "testcase".len());
                let mut spare = String::from("left over");
                let fast = plain_case_attributes(tag, "testcase".len(), &mut spare);
                assert_eq!(fast.is_some(), is_plain, "{tag}");
                let read = walker.case_attributes(&start, 0, &mut String::new());
                let general = walker.general_case_attributes(&start, 0, &mut String::new());
                assert_eq!(format!("{read:?}"), format!("{general:?}"), "{tag}");
                if let Some(fast) = fast {
                    assert_eq!(format!("{:?}", Ok::<_, ReportError>(fast)), format!("{general:?}"), "{tag}");
                }
            }
        }
    }

    #[test]
    fn plain_decimals_read_as_the_standard_parser_reads_them() {
        let values = [
            "0",
            "7",
            "0.1",
            "0.3",
            "0.125",
            "12.5",
            "000.001",
            "123456789012345",
            "12345678901234.5",
            "0.00000000000001",
            "9.99999999999999",
            "1.79769313486231",
            "4.35",
            "0.1234567890123",
        ];
        for value in values {
            assert_eq!(plain_decimal(value), value.parse::<f64>().ok(), "{value}");
        }
        for other in [
            "",
            ".",
            ".5",
            "5.",
            "1.2.3",
            "-1",
            "+1",
            "1e3",
            "1_0",
            " 1",
            "inf",
            "1234567890123456",
            "0.0000000000000001",
        ] {
            assert_eq!(plain_decimal(other), None, "{other}");
        }
        // Every short decimal with up to three decimals.
        for whole in 0..200u32 {
            for fraction in 0..1000u32 {
                let value = format!("{whole}.{fraction:03}");
                assert_eq!(
                    plain_decimal(&value).map(f64::to_bits),
                    value.parse::<f64>().ok().map(f64::to_bits),
                    "{value}"
                );
            }
        }
    }

    #[test]
    fn split_attributes_agrees_with_quick_xml() {
        let tags = [
            r#"testcase name="a" classname='b'  time = "0.1""#,
            r#"testcase name="a"classname="b""#,
            "testcase\tname=\"x &amp; y\"\n",
            r#"testcase name="a" name="b""#,
            r#"testcase name=a"#,
            r#"testcase name"#,
            r#"testcase name="unterminated"#,
            r#"testcase ="x""#,
            r#"testcase"#,
            r#"testcase name="a &amp; b" time='1&lt;2'"#,
            r#"testcase name="a & unterminated"#,
            r#"testcase name="" file='' line="&""#,
            "testcase  \n",
        ];
        for tag in tags {
            let name_len = tag.find(char::is_whitespace).unwrap_or(tag.len());
            let mut split = [SplitAttribute::default(); MAX_SPLIT_ATTRIBUTES];
            let ours = split_attributes(tag, name_len, &mut split).map(|count| split[..count].to_vec());
            if let Some(ours) = &ours {
                for attribute in ours {
                    assert_eq!(attribute.has_entity, attribute.value.contains('&'), "{tag}");
                }
            }
            let theirs: Result<Vec<(String, String)>, _> = Attributes::new(tag, name_len)
                .map(|attribute| attribute.map(|a| (a.key.as_ref().to_owned(), a.value.into_owned())))
                .collect();
            match (ours, theirs) {
                (Some(ours), Ok(theirs)) => {
                    let ours: Vec<(String, String)> =
                        ours.iter().map(|a| (a.key.to_owned(), a.value.to_owned())).collect();
                    assert_eq!(ours, theirs, "{tag}");
                }
                (None, Err(_)) => {}
                (ours, theirs) => panic!("{tag}: ours {ours:?}, quick-xml {theirs:?}"),
            }
        }
    }
}
