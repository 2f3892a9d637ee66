//! [`ReportError`], the one error type of this crate. Messages name the problem and, when known, where it
//! is (line and column, both 1-based, columns counted in characters).

/// Everything that can make a report unreadable. Each is a client error: the report, not Argus, is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// A format name that is not one of the supported ones.
    #[error("unknown report format {0:?}: use junit, playwright-json, argus-json or auto")]
    UnknownFormat(String),
    /// The report is empty (or only whitespace).
    #[error("the report is empty")]
    Empty,
    /// `auto` detection found nothing it recognises.
    #[error("cannot detect the report format: {0}")]
    UndetectedFormat(String),
    /// The report is larger than [`crate::ReportLimits::max_bytes`].
    #[error("the report has {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The report's size in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The XML declares a document type. DTDs are never processed, so neither internal entities (billion
    /// laughs) nor external ones (XXE) can be expanded; a report that tries is refused outright.
    #[error(
        "the report declares a document type (<!DOCTYPE) at line {line}, column {column}: dtds and entity declarations are refused (no internal or external entity expansion)"
    )]
    DoctypeRefused {
        /// Line of the declaration.
        line: usize,
        /// Column of the declaration.
        column: usize,
    },
    /// Elements nest deeper than [`crate::ReportLimits::max_depth`].
    #[error("elements nest deeper than {limit} levels at line {line}, column {column}")]
    TooDeep {
        /// The configured limit.
        limit: usize,
        /// Line of the element that went over.
        line: usize,
        /// Column of the element that went over.
        column: usize,
    },
    /// More test cases than [`crate::ReportLimits::max_testcases`].
    #[error("the report has more than {limit} test cases")]
    TooManyTestcases {
        /// The configured limit.
        limit: usize,
    },
    /// The XML is not well-formed.
    #[error("malformed xml at line {line}, column {column}: {reason}")]
    MalformedXml {
        /// Line of the problem.
        line: usize,
        /// Column of the problem.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// The input ends before its elements are closed.
    #[error(
        "truncated report: the input ends at line {line}, column {column} inside <{element}> opened at line {opened_line}, column {opened_column}"
    )]
    Truncated {
        /// The innermost element left open.
        element: String,
        /// Where it was opened (line).
        opened_line: usize,
        /// Where it was opened (column).
        opened_column: usize,
        /// Where the input ends (line).
        line: usize,
        /// Where the input ends (column).
        column: usize,
    },
    /// Well-formed XML, but not JUnit (no `<testsuites>`, `<testsuite>` or `<testrun>` root).
    #[error("not a junit report: {0}")]
    NotJunit(String),
    /// A numeric JUnit attribute that is not a number.
    #[error(
        "invalid {attribute} attribute {value:?} on <{element}> at line {line}, column {column}: expected a number"
    )]
    InvalidNumber {
        /// The element.
        element: String,
        /// The attribute.
        attribute: String,
        /// Its value.
        value: String,
        /// Line of the element.
        line: usize,
        /// Column of the element.
        column: usize,
    },
    /// The JUnit reader refused a report the pre-scan accepted.
    #[error("junit report could not be read: {0}")]
    Junit(String),
    /// The JSON is not well-formed, or does not have the expected shape.
    #[error("invalid json at line {line}, column {column}: {reason}")]
    InvalidJson {
        /// Line of the problem.
        line: usize,
        /// Column of the problem.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// Well-formed JSON, but not a Playwright JSON report.
    #[error("not a playwright json report: {0}")]
    NotPlaywright(String),
}

impl ReportError {
    /// A JSON error with its position.
    pub(crate) fn json(error: &serde_json::Error) -> Self {
        let reason = error.to_string();
        // serde_json appends " at line L column C"; the position is already in the fields.
        let reason = match reason.rfind(" at line ") {
            Some(at) => reason[..at].to_owned(),
            None => reason,
        };
        ReportError::InvalidJson { line: error.line(), column: error.column(), reason }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters_from_one() {
        let text = "ab\nc𝄞d\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        assert_eq!(line_column(text, 8), (2, 3)); // after the astral character
        assert_eq!(line_column(text, 999), (3, 1));
    }
}
