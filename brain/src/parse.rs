//! `argus parse FILE [--format junit|playwright-json|argus-json|auto]`: read one report offline and print
//! one JSON object with its counts and fingerprinted failures:
//!
//! ```json
//! {"format": "junit", "tests": 3, "runs": 4, "passed": 1, "failed": 1, "errored": 0, "skipped": 0,
//!  "flaky": 1, "failures": [{"test": "…", "kind": "assertion", "message": "…", "locator": null,
//!  "fingerprint": "…"}]}
//! ```
//!
//! `passed + failed + errored + skipped + flaky = tests`. Exit code 0 on success; a report that cannot be
//! parsed prints the reason on stderr and exits with 2 ([`Unparseable`]); a file that cannot be read exits 1.

use crate::config::LimitsConfig;
use crate::intake::{ValidatedBatch, WireBatch};
use anyhow::Context;
use argus_reports::{Format, ParsedReport, ReportLimits, detect_format, parse_report};
use argus_vocabulary::ProjectId;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// The project fingerprints are computed for when neither `--project` nor the batch names one.
pub const DEFAULT_PROJECT: &str = "local";

/// `argus parse`.
#[derive(Debug, Clone, Args)]
pub struct ParseArgs {
    /// The report file.
    pub file: PathBuf,
    /// The report's format; `auto` detects it from the content.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// The project the fingerprints are computed for (fingerprints are per project; default: the batch's
    /// project for argus-json, else "local").
    #[arg(long)]
    pub project: Option<String>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// JUnit XML.
    Junit,
    /// The Playwright JSON reporter.
    PlaywrightJson,
    /// The Argus event batch.
    ArgusJson,
    /// Detect from the content.
    Auto,
}

/// The report could not be parsed: the caller exits with status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unparseable(pub String);

/// Runs `argus parse`: prints the summary on stdout.
pub fn run(args: &ParseArgs) -> anyhow::Result<()> {
    let limits = ReportLimits::default();
    let size = std::fs::metadata(&args.file).with_context(|| format!("read {}", args.file.display()))?.len();
    if usize::try_from(size).map_or(true, |size| size > limits.max_bytes) {
        return Err(Unparseable(format!(
            "{}: the report has {size} bytes, over the limit of {} bytes",
            args.file.display(),
            limits.max_bytes
        ))
        .into());
    }
    let bytes = std::fs::read(&args.file).with_context(|| format!("read {}", args.file.display()))?;
    let unparseable = |reason: String| Unparseable(format!("{}: {reason}", args.file.display()));
    let (report, batch_project) = parse_bytes(&bytes, args.format, &limits).map_err(unparseable)?;
    let project = args.project.clone().or(batch_project).unwrap_or_else(|| DEFAULT_PROJECT.to_owned());
    let project = ProjectId::parse(project)?;
    println!("{}", serde_json::to_string(&report.summary(&project))?);
    Ok(())
}

/// Parses a report of the given (or detected) format; for Argus batches also returns the project they name.
pub fn parse_bytes(
    bytes: &[u8],
    format: FormatArg,
    limits: &ReportLimits,
) -> Result<(ParsedReport, Option<String>), String> {
    let format = match format {
        FormatArg::Junit => Format::Junit,
        FormatArg::PlaywrightJson => Format::PlaywrightJson,
        FormatArg::ArgusJson => Format::ArgusJson,
        FormatArg::Auto => detect_format(bytes, None).map_err(|error| error.to_string())?,
    };
    match format {
        Format::ArgusJson => parse_argus_json(bytes),
        format => parse_report(bytes, format, limits)
            .map(|report| (report, None))
            .map_err(|error| error.to_string()),
    }
}

/// An Argus batch, validated exactly as `POST /api/v1/events` validates it.
fn parse_argus_json(bytes: &[u8]) -> Result<(ParsedReport, Option<String>), String> {
    let wire: WireBatch =
        serde_json::from_slice(bytes).map_err(|error| format!("invalid argus batch: {error}"))?;
    wire.check_limits(&LimitsConfig::default())
        .map_err(|rejection| format!("argus batch too large: {rejection}"))?;
    let project = wire.project.clone();
    let validated =
        ValidatedBatch::try_from(wire).map_err(|rejection| format!("invalid argus batch: {rejection}"))?;
    Ok((ParsedReport::from_ingest_items(Format::ArgusJson, &validated.batch.items), project))
}
