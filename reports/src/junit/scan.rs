//! The single pass: one quick-xml walk over the report that refuses hostile input, names the position of
//! every problem, and builds the outcomes directly (no tree in between).
//!
//! 1. **Refuses hostile input.** Any `<!DOCTYPE` is refused, so no DTD is processed and no internal
//!    (billion laughs) or external (XXE) entity can be declared, let alone expanded; nesting beyond
//!    [`ReportLimits::max_depth`] is refused (the walk keeps an explicit stack, it never recurses); more
//!    than [`ReportLimits::max_testcases`] cases are refused.
//! 2. **Names the position of every problem.** Malformed or truncated XML, unknown entities and non-numeric
//!    counts become errors with a line and column.
//! 3. **Keeps every status element of every test case**, with its attributes and its decoded text (entity
//!    references resolved, CDATA kept verbatim), so the policy error > failure > skipped can choose.
//!
//! The element rules are those of the tolerant `junit-parser` reader this pass replaced (so every real
//! report it read is read the same way): the root is the first top-level `<testsuites>`, `<testrun>` or
//! `<testsuite>`; inside `<testsuites>`/`<testrun>` both `<testsuite>` and `<testsuite/>` count; inside a
//! `<testsuite>` only non-empty nested suites count; a `<testcase>` counts only directly inside a suite;
//! unknown elements are skipped whole; everything after the root element closes is ignored (but must still
//! be well-formed). Attributes are all optional; an empty number is 0.
//!
//! One difference: cases are folded in document order, where the reader's tree put a suite's own cases
//! before those of its nested suites. Only the order of first appearance can differ, and only for a suite
//! that has cases after a nested suite with cases.

use super::{CaseAttributes, SuiteContext};
use crate::error::line_column;
use crate::model::{OutcomeBuilder, Run};
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
    stack: Vec<Frame>,
    suites: Vec<OpenSuite<'a>>,
    root: Root,
    /// The root `<testsuites>`'s declared counts and whether any suite appeared in it.
    root_declared: Declared,
    root_has_suites: bool,
    testcases: usize,
    case: CaseAttributes<'a>,
    statuses: Vec<StatusElement<'a>>,
    runs: Vec<Run>,
    built: Built,
}

/// Reads `text` into outcomes (see the module documentation).
pub(crate) fn walk(text: &str, limits: &ReportLimits) -> Result<Built, ReportError> {
    let mut walker = Walker {
        text,
        limits,
        stack: Vec::new(),
        suites: Vec::new(),
        root: Root::Before,
        root_declared: Declared::default(),
        root_has_suites: false,
        testcases: 0,
        case: CaseAttributes::default(),
        statuses: Vec::new(),
        runs: Vec::new(),
        built: Built {
            builder: OutcomeBuilder::with_capacity(text.len() / 150, text.len() / 2),
            counted_only: Counts::default(),
        },
    };
    walker.run()?;
    Ok(walker.built)
}

impl<'a> Walker<'a, '_> {
    fn run(&mut self) -> Result<(), ReportError> {
        let mut reader = Reader::from_str(self.text);
        reader.config_mut().check_end_names = true;
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
                }
                Event::Empty(start) => {
                    self.open(&start, true, before)?;
                }
                Event::End(_) => self.close(),
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
            if status.text.is_empty() {
                status.text = content;
            } else {
                status.text.to_mut().push_str(&content);
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
                            "time" => check_number::<f64>(self.text, start, at, key, &value)?,
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
        self.suites.push(OpenSuite {
            context: SuiteContext {
                name: trim_cow(attributes.name.unwrap_or(Cow::Borrowed(""))),
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
        super::runs(&self.case, &self.statuses, &mut self.runs);
        let contexts = self.suites.iter().map(|suite| &suite.context);
        super::push_case(&mut self.built.builder, &self.case, contexts, self.runs.drain(..));
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
                "assertions" => check_number::<u64>(self.text, start, at, key, &value)?,
                "time" => check_number::<f64>(self.text, start, at, key, &value)?,
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
        let mut case = CaseAttributes::default();
        for_each_attribute(self.text, start, at, spare, |key, value| {
            match key {
                "name" => case.name = value,
                "classname" => case.classname = Some(value),
                "file" => case.file = Some(value),
                "time" => case.time = parse_number(self.text, start, at, key, &value)?,
                "line" => check_number::<u64>(self.text, start, at, key, &value)?,
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
        let mut split = [("", ""); MAX_SPLIT_ATTRIBUTES];
        if let Some(count) = split_attributes(tag, name_len, &mut split) {
            for &(key, raw) in &split[..count] {
                visit(key, unescape_value(text, at, raw, spare)?)?;
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

/// The most attributes [`split_attributes`] takes; JUnit elements carry at most about ten.
const MAX_SPLIT_ATTRIBUTES: usize = 16;

/// An attribute value as written, with its entities resolved when it has any (into `spare`'s buffer
/// when it can).
fn unescape_value<'a>(
    text: &str,
    at: usize,
    raw: &'a str,
    spare: &mut String,
) -> Result<Cow<'a, str>, ReportError> {
    if memchr::memchr(b'&', raw.as_bytes()).is_none() {
        return Ok(Cow::Borrowed(raw));
    }
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

/// Splits the attributes of `tag` (a tag's content: its name, then from `from` on its attributes) into
/// `(key, raw value)` pairs, in order, and returns how many there are; `None` when quick-xml's iterator
/// would report an error (or there are more than `split` holds).
///
/// The grammar is quick-xml's (`IterState::next` in XML mode): whitespace is ` `, `\t`, `\r`, `\n`; a key
/// is its first byte then everything up to `=` or whitespace; whitespace may surround `=`; the value is
/// quoted with `"` or `'` and ends at the same quote; attributes need no whitespace between them; a key
/// may appear once.
fn split_attributes<'a>(
    tag: &'a str,
    from: usize,
    split: &mut [(&'a str, &'a str); MAX_SPLIT_ATTRIBUTES],
) -> Option<usize> {
    let bytes = tag.as_bytes();
    let is_space = |byte: u8| matches!(byte, b' ' | b'\t' | b'\r' | b'\n');
    let skip_space = |mut at: usize| {
        while bytes.get(at).is_some_and(|&byte| is_space(byte)) {
            at += 1;
        }
        at
    };
    let mut count = 0;
    let mut at = from;
    loop {
        let key_start = skip_space(at);
        if key_start >= bytes.len() {
            return Some(count);
        }
        let mut key_end = key_start + 1;
        while bytes.get(key_end).is_some_and(|&byte| byte != b'=' && !is_space(byte)) {
            key_end += 1;
        }
        let equals = skip_space(key_end);
        if bytes.get(equals) != Some(&b'=') {
            return None;
        }
        let quote_at = skip_space(equals + 1);
        let quote = *bytes.get(quote_at).filter(|&&byte| byte == b'"' || byte == b'\'')?;
        let value_start = quote_at + 1;
        let value_end = value_start + memchr::memchr(quote, bytes.get(value_start..)?)?;
        let key = tag.get(key_start..key_end)?;
        if count == split.len() || split[..count].iter().any(|&(seen, _)| seen == key) {
            return None;
        }
        split[count] = (key, tag.get(value_start..value_end)?);
        count += 1;
        at = value_end + 1;
    }
}

/// `part` as a slice of `text` with `text`'s lifetime, when `part` lies inside `text`.
fn reborrow<'a>(text: &'a str, part: &str) -> Option<&'a str> {
    let offset = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    text.get(offset..offset.checked_add(part.len())?)
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

fn check_number<T: std::str::FromStr + Default>(
    text: &str,
    start: &BytesStart<'_>,
    at: usize,
    key: &str,
    value: &str,
) -> Result<(), ReportError> {
    parse_number::<T>(text, start, at, key, value).map(|_| ())
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
        ];
        for tag in tags {
            let name_len = tag.find(char::is_whitespace).unwrap_or(tag.len());
            let mut split = [("", ""); MAX_SPLIT_ATTRIBUTES];
            let ours = split_attributes(tag, name_len, &mut split).map(|count| split[..count].to_vec());
            let theirs: Result<Vec<(String, String)>, _> = Attributes::new(tag, name_len)
                .map(|attribute| attribute.map(|a| (a.key.as_ref().to_owned(), a.value.into_owned())))
                .collect();
            match (ours, theirs) {
                (Some(ours), Ok(theirs)) => {
                    let ours: Vec<(String, String)> =
                        ours.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
                    assert_eq!(ours, theirs, "{tag}");
                }
                (None, Err(_)) => {}
                (ours, theirs) => panic!("{tag}: ours {ours:?}, quick-xml {theirs:?}"),
            }
        }
    }
}
