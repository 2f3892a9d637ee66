//! Test reports in, canonical test outcomes out. Pure: no I/O, no clock; bytes in, values out.
//!
//! - [`junit`]: JUnit XML in every dialect seen in the wild, in one quick-xml pass that also refuses
//!   hostile input (no DTDs, depth, size and case limits, line/column on every error).
//! - [`playwright`]: the Playwright JSON reporter (nested suites, projects, retries, sharded reports).
//! - [`detect`]: [`detect_format`] for `auto`.
//! - [`model`]: [`ParsedReport`] (one outcome per unique test identity, stored compactly in
//!   [`model::Outcomes`]), the retry policy, and the conversion into [`argus_vocabulary::IngestItem`]s.
//! - [`summary`]: [`ReportSummary`], the counts and fingerprinted failures `argus parse` prints.
//! - [`failure`]: failure understanding shared with the normalizer: classification, locator extraction,
//!   fingerprints.
//! - [`limits`]: [`ReportLimits`]; [`error`]: [`ReportError`], the one error type of this crate.

pub mod detect;
pub mod error;
pub mod failure;
pub mod junit;
pub mod limits;
pub mod model;
pub mod playwright;
pub mod summary;

pub use detect::detect_format;
pub use error::ReportError;
pub use junit::parse_junit;
pub use limits::ReportLimits;
pub use model::{
    Counts, FailureDetail, Format, OutcomeBuilder, OutcomeStatus, ParsedReport, Run, RunStatus, TestOutcome,
};
pub use playwright::parse_playwright;
pub use summary::{FailureSummary, ReportSummary};

/// Parses a JUnit or Playwright JSON report. Argus JSON batches are read by the HTTP edge's intake
/// (they carry snapshots and observations this crate has no use for); asking for one here is refused.
pub fn parse_report(
    bytes: &[u8],
    format: Format,
    limits: &ReportLimits,
) -> Result<ParsedReport, ReportError> {
    match format {
        Format::Junit => parse_junit(bytes, limits),
        Format::PlaywrightJson => parse_playwright(bytes, limits),
        Format::ArgusJson => Err(ReportError::UndetectedFormat(
            "argus-json batches are read by the intake, not by the report parsers".to_owned(),
        )),
    }
}
