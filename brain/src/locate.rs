//! `argus locate`: the healing engine on offline cases, one JSON object per line, so it can be measured
//! on any data set.
//!
//! Input line: `{"id": "...", "old": <descriptor>, "candidates": [<descriptor>, ...]}`; instead of
//! `candidates` a case may carry `"html": "<new page>"` (choices then index the engine's candidates of
//! that page: every element under `<body>` in document order, minus `script`/`style`/`template`/
//! `noscript` and `svg`/`math` internals), and instead of `old` a `"locator"` (the broken selector).
//! Descriptor fields are those of [`ElementDescriptor`]: only `tag` is required, unknown fields are
//! ignored, top-level `data-*` keys are kept as data attributes, and `visible`/`is_visible`/`displayed`
//! (booleans) or `hidden: true` mark a candidate's visibility. An optional `"expected": <index or null>`
//! is what `--evaluate` scores against.
//!
//! Output line: `{"id": "...", "choice": <index or null>, "confidence": <0..1>, "selector": <css or null>}`.
//! A line that cannot be read is reported with its line number and skipped; the run goes on.
//!
//! The logic is [`locate_cases`] (reader → writer, no terminal, no files); [`run`] is the thin shell the
//! command line calls.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use argus_healing::{CandidatePage, EngineConfig, PageLimits, Reference, relocate};
use argus_vocabulary::ElementDescriptor;
use serde_json::{Map, Value};

/// Confidence thresholds reported by `--evaluate`: the healer's validate band starts at 0.5 and its
/// apply band at 0.9.
pub const EVALUATION_THRESHOLDS: [f64; 3] = [0.5, 0.7, 0.9];

/// Inputs at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 256 * 1024;

/// `argus locate`.
#[derive(Debug, Clone, clap::Args)]
pub struct LocateArgs {
    /// The cases, one JSON object per line (`-` for stdin).
    #[arg(long, value_name = "CASES.jsonl")]
    pub input: PathBuf,
    /// Where to write one result line per case (default: stdout).
    #[arg(long, value_name = "RESULTS.jsonl")]
    pub output: Option<PathBuf>,
    /// Score the results against each case's `expected` index (or null) and print the figures (on
    /// stdout when `--output` is given, else on stderr).
    #[arg(long)]
    pub evaluate: bool,
}

/// What [`locate_cases`] needs besides its streams.
#[derive(Debug, Clone, Default)]
pub struct LocateOptions {
    /// Engine weights and thresholds.
    pub engine: EngineConfig,
    /// Bounds on `html` pages.
    pub limits: PageLimits,
    /// Collect the `--evaluate` figures.
    pub evaluate: bool,
}

/// What one run did.
#[derive(Debug, Clone, Default)]
pub struct LocateReport {
    /// Non-blank input lines.
    pub n_lines: usize,
    /// Cases answered (one output line each).
    pub n_cases: usize,
    /// Lines reported and skipped.
    pub n_bad_lines: usize,
    /// The figures, when asked for.
    pub evaluation: Option<Evaluation>,
}

/// One case's outcome as `--evaluate` sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredCase {
    /// The expected candidate, `None` when the right answer is to abstain.
    pub expected: Option<usize>,
    /// The engine's choice, `None` when it abstained.
    pub choice: Option<usize>,
    /// The best-ranked candidate, chosen or not.
    pub best: Option<usize>,
    /// The engine's confidence.
    pub confidence: f64,
    /// Time spent on the case (page parse included).
    pub elapsed: Duration,
}

/// Accuracy, abstention and calibration figures over the cases that carry `expected`.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Every evaluated case, in input order.
    pub cases: Vec<ScoredCase>,
}

/// Precision and coverage when only answers at or above `threshold` count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdFigures {
    /// The confidence threshold.
    pub threshold: f64,
    /// Cases answered at this threshold (a choice with confidence ≥ threshold).
    pub answered: usize,
    /// Answers that are the expected element.
    pub correct: usize,
    /// `correct / answered` (1 when nothing is answered).
    pub precision: f64,
    /// `answered / cases`.
    pub coverage: f64,
}

impl Evaluation {
    /// Cases evaluated.
    pub fn n_cases(&self) -> usize {
        self.cases.len()
    }

    /// Cases whose expected answer is an element.
    pub fn n_expecting_element(&self) -> usize {
        self.cases.iter().filter(|c| c.expected.is_some()).count()
    }

    /// Share of cases expecting an element whose best-ranked candidate is that element (abstaining or
    /// not): the figure the Similo papers report.
    pub fn top1_accuracy(&self) -> f64 {
        ratio(
            self.cases.iter().filter(|c| c.expected.is_some() && c.best == c.expected).count(),
            self.n_expecting_element(),
        )
    }

    /// Share of all cases where the engine chose an element that is not the expected one (including any
    /// choice when it should have abstained).
    pub fn wrong_heal_rate(&self) -> f64 {
        ratio(
            self.cases.iter().filter(|c| c.choice.is_some() && c.choice != c.expected).count(),
            self.n_cases(),
        )
    }

    /// Share of all cases the engine abstained on.
    pub fn abstention_rate(&self) -> f64 {
        ratio(self.cases.iter().filter(|c| c.choice.is_none()).count(), self.n_cases())
    }

    /// Share of cases whose right answer is to abstain that the engine did abstain on; `None` when the
    /// input has no such case.
    pub fn correct_abstention_rate(&self) -> Option<f64> {
        let expecting = self.cases.iter().filter(|c| c.expected.is_none()).count();
        (expecting > 0).then(|| {
            ratio(self.cases.iter().filter(|c| c.expected.is_none() && c.choice.is_none()).count(), expecting)
        })
    }

    /// Precision and coverage at `threshold`.
    pub fn at_threshold(&self, threshold: f64) -> ThresholdFigures {
        let answered: Vec<&ScoredCase> =
            self.cases.iter().filter(|c| c.choice.is_some() && c.confidence >= threshold).collect();
        let correct = answered.iter().filter(|c| c.choice == c.expected).count();
        ThresholdFigures {
            threshold,
            answered: answered.len(),
            correct,
            precision: if answered.is_empty() { 1.0 } else { ratio(correct, answered.len()) },
            coverage: ratio(answered.len(), self.n_cases()),
        }
    }

    /// Mean time per case.
    pub fn mean_time(&self) -> Duration {
        if self.cases.is_empty() {
            return Duration::ZERO;
        }
        self.cases.iter().map(|c| c.elapsed).sum::<Duration>() / self.cases.len() as u32
    }

    /// The 95th-percentile time per case.
    pub fn p95_time(&self) -> Duration {
        let mut times: Vec<Duration> = self.cases.iter().map(|c| c.elapsed).collect();
        times.sort_unstable();
        times.get((times.len() * 95).div_ceil(100).saturating_sub(1)).copied().unwrap_or_default()
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let percent = |x: f64| format!("{:.1} %", 100.0 * x);
        writeln!(
            f,
            "cases evaluated: {} ({} expecting an element, {} expecting abstention)",
            self.n_cases(),
            self.n_expecting_element(),
            self.n_cases() - self.n_expecting_element()
        )?;
        writeln!(f, "top-1 accuracy: {}", percent(self.top1_accuracy()))?;
        writeln!(f, "wrong-heal rate: {}", percent(self.wrong_heal_rate()))?;
        write!(f, "abstention rate: {}", percent(self.abstention_rate()))?;
        match self.correct_abstention_rate() {
            Some(rate) => writeln!(f, " (abstained on {} of the cases that should abstain)", percent(rate))?,
            None => writeln!(f)?,
        }
        for threshold in EVALUATION_THRESHOLDS {
            let figures = self.at_threshold(threshold);
            writeln!(
                f,
                "confidence >= {threshold:.1}: precision {} ({}/{}), coverage {}",
                percent(figures.precision),
                figures.correct,
                figures.answered,
                percent(figures.coverage)
            )?;
        }
        write!(
            f,
            "time per case: mean {:.2} ms, p95 {:.2} ms",
            self.mean_time().as_secs_f64() * 1e3,
            self.p95_time().as_secs_f64() * 1e3
        )
    }
}

/// The page of one case.
enum CasePage {
    Html(String),
    Candidates(Vec<(ElementDescriptor, bool)>),
}

/// One input line, read.
struct Case {
    id: String,
    reference: Reference,
    page: CasePage,
    /// `Some(expected)` when the line carries `expected`.
    expected: Option<Option<usize>>,
}

/// Reads cases from `input`, writes one result line per readable case to `output`, and reports every
/// unreadable line (with its 1-based number) on `diagnostics`. `on_progress` receives the bytes read so
/// far after each line. Only failures to read `input` or write `output` end the run early.
pub fn locate_cases(
    input: impl BufRead,
    mut output: impl Write,
    mut diagnostics: impl Write,
    options: &LocateOptions,
    mut on_progress: impl FnMut(u64),
) -> io::Result<LocateReport> {
    let mut report = LocateReport::default();
    let mut evaluation = Evaluation::default();
    let mut bytes_read = 0u64;
    let mut input = input;
    let mut buffer = Vec::new();
    let mut line_number = 0usize;
    loop {
        buffer.clear();
        let n = input.read_until(b'\n', &mut buffer)?;
        if n == 0 {
            break;
        }
        line_number += 1;
        bytes_read += n as u64;
        let outcome = match std::str::from_utf8(&buffer) {
            Err(_) => Some(Err("line is not valid utf-8".to_owned())),
            Ok(line) if line.trim().is_empty() => None,
            Ok(line) => Some(parse_case(line.trim(), line_number)),
        };
        match outcome {
            None => {}
            Some(Err(reason)) => {
                report.n_lines += 1;
                report.n_bad_lines += 1;
                writeln!(diagnostics, "line {line_number}: skipped: {reason}")?;
            }
            Some(Ok(case)) => {
                report.n_lines += 1;
                match answer(&case, options) {
                    Ok((line, scored)) => {
                        output.write_all(line.as_bytes())?;
                        output.write_all(b"\n")?;
                        report.n_cases += 1;
                        if options.evaluate
                            && let Some(expected) = case.expected
                        {
                            evaluation.cases.push(ScoredCase { expected, ..scored });
                        }
                    }
                    Err(reason) => {
                        report.n_bad_lines += 1;
                        writeln!(diagnostics, "line {line_number}: skipped: {reason}")?;
                    }
                }
            }
        }
        on_progress(bytes_read);
    }
    output.flush()?;
    if options.evaluate {
        report.evaluation = Some(evaluation);
    }
    Ok(report)
}

/// Runs one case; the result line and its scored outcome (with `expected` unset).
fn answer(case: &Case, options: &LocateOptions) -> Result<(String, ScoredCase), String> {
    let started = Instant::now();
    let page = match &case.page {
        CasePage::Html(html) => CandidatePage::parse(html, &options.limits)
            .map_err(|error| format!("page not usable: {error}"))?,
        CasePage::Candidates(candidates) => {
            CandidatePage::from_descriptors_with_visibility(candidates.clone())
        }
    };
    let relocation = relocate(&case.reference, &page, &options.engine);
    let elapsed = started.elapsed();
    let confidence = (relocation.confidence.clamp(0.0, 1.0) * 1e4).round() / 1e4;
    let line = serde_json::json!({
        "id": case.id,
        "choice": relocation.choice,
        "confidence": confidence,
        "selector": relocation.selector.as_ref().map(|s| s.css.as_str()),
    })
    .to_string();
    let scored = ScoredCase {
        expected: None,
        choice: relocation.choice,
        best: relocation.ranked.first().map(|r| r.index),
        confidence: relocation.confidence,
        elapsed,
    };
    Ok((line, scored))
}

/// Reads one input line into a [`Case`]; the error says what is wrong, in lowercase.
fn parse_case(line: &str, line_number: usize) -> Result<Case, String> {
    let value: Value = serde_json::from_str(line).map_err(|error| format!("not json: {error}"))?;
    let Value::Object(object) = value else {
        return Err("not a json object".to_owned());
    };
    let id = match object.get("id") {
        Some(Value::String(id)) => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        None | Some(Value::Null) => format!("line-{line_number}"),
        Some(_) => return Err("`id` must be a string or a number".to_owned()),
    };
    let reference = match (object.get("old"), object.get("locator")) {
        (Some(old), _) if !old.is_null() => {
            Reference::Observed(descriptor(old).map_err(|error| format!("`old`: {error}"))?.0)
        }
        (_, Some(Value::String(locator))) if !locator.trim().is_empty() => {
            Reference::LocatorOnly(locator.trim().to_owned())
        }
        (_, Some(locator)) if !locator.is_null() => {
            return Err("`locator` must be a non-empty string".to_owned());
        }
        _ => return Err("needs `old` (a descriptor) or `locator`".to_owned()),
    };
    let page = match (object.get("candidates"), object.get("html")) {
        (Some(Value::Array(candidates)), _) => CasePage::Candidates(
            candidates
                .iter()
                .enumerate()
                .map(|(index, candidate)| {
                    descriptor(candidate).map_err(|error| format!("candidate {index}: {error}"))
                })
                .collect::<Result<_, _>>()?,
        ),
        (Some(candidates), _) if !candidates.is_null() => {
            return Err("`candidates` must be an array".to_owned());
        }
        (_, Some(Value::String(html))) => CasePage::Html(html.clone()),
        (_, Some(html)) if !html.is_null() => return Err("`html` must be a string".to_owned()),
        _ => return Err("needs `candidates` (an array of descriptors) or `html`".to_owned()),
    };
    let expected = match object.get("expected") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::Number(n)) => match n.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(index) => Some(Some(index)),
            None => return Err("`expected` must be a candidate index or null".to_owned()),
        },
        Some(_) => return Err("`expected` must be a candidate index or null".to_owned()),
    };
    Ok(Case { id, reference, page, expected })
}

/// A descriptor from JSON, tolerant of extra fields, and its visibility (true unless the object says
/// otherwise).
fn descriptor(value: &Value) -> Result<(ElementDescriptor, bool), String> {
    let Value::Object(object) = value else {
        return Err("not a json object".to_owned());
    };
    let mut descriptor: ElementDescriptor =
        serde_json::from_value(value.clone()).map_err(|error| error.to_string())?;
    if descriptor.tag.trim().is_empty() {
        return Err("`tag` is empty".to_owned());
    }
    for (key, value) in object {
        if let (Some(name), Value::String(value)) = (key.strip_prefix("data-"), value)
            && key != "data-testid"
            && key != "data-test-id"
            && !name.is_empty()
        {
            descriptor.data.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    Ok((descriptor, visibility(object)))
}

fn visibility(object: &Map<String, Value>) -> bool {
    for key in ["visible", "is_visible", "isVisible", "displayed", "is_displayed", "isDisplayed"] {
        if let Some(Value::Bool(visible)) = object.get(key) {
            return *visible;
        }
    }
    !matches!(object.get("hidden"), Some(Value::Bool(true)))
}

/// The command: opens the files, shows a progress bar for large inputs on a terminal, runs
/// [`locate_cases`] and prints the figures when asked.
pub fn run(args: &LocateArgs) -> anyhow::Result<()> {
    let (input, input_len): (Box<dyn BufRead>, Option<u64>) = if args.input.as_os_str() == "-" {
        (Box::new(BufReader::new(io::stdin().lock())), None)
    } else {
        let file = File::open(&args.input).with_context(|| format!("open {}", args.input.display()))?;
        let len = file.metadata().ok().map(|m| m.len());
        (Box::new(BufReader::with_capacity(1 << 20, file)), len)
    };
    let output: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let progress = match input_len {
        Some(len) if len >= PROGRESS_MIN_BYTES && io::stderr().is_terminal() => {
            let bar = indicatif::ProgressBar::new(len);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} locate [{bar:40}] {bytes}/{total_bytes} ({eta} left)",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            Some(bar)
        }
        _ => None,
    };
    let options = LocateOptions { evaluate: args.evaluate, ..LocateOptions::default() };
    // Diagnostics go through the bar when there is one, so they do not tear it.
    let diagnostics = Diagnostics { bar: progress.clone(), pending: Vec::new() };
    let report = locate_cases(input, output, diagnostics, &options, |bytes| {
        if let Some(bar) = &progress {
            bar.set_position(bytes);
        }
    })
    .context("locate")?;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    eprintln!(
        "located {} cases from {} lines; {} lines skipped",
        report.n_cases, report.n_lines, report.n_bad_lines
    );
    if let Some(evaluation) = &report.evaluation {
        if args.output.is_some() {
            println!("{evaluation}");
        } else {
            eprintln!("{evaluation}");
        }
    }
    Ok(())
}

/// Stderr, or the progress bar's line-safe printer when a bar is shown (whole lines only).
struct Diagnostics {
    bar: Option<indicatif::ProgressBar>,
    pending: Vec<u8>,
}

impl Write for Diagnostics {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let Some(bar) = &self.bar else {
            return io::stderr().write(bytes);
        };
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            bar.println(String::from_utf8_lossy(&line[..end]));
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}
