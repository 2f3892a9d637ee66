//! Parse throughput of a large generated JUnit report against a bare quick-xml event scan of the same bytes.
//!
//! ```text
//! cargo run --release -p argus-reports --example junit_throughput [-- MEBIBYTES [ROUNDS]]
//! ```
//!
//! Prints MB/s (1 MB = 10^6 bytes) for the bare scan, `junit-parser` alone (the tree reader Argus used
//! before its single pass, for reference), and `argus_reports::parse_junit` (the single pass: checks,
//! outcomes, failure understanding), best of ROUNDS, and the ratio to the scan (the aim is ≥ 0.3).

use argus_reports::{ReportLimits, parse_junit};
use quick_xml::Reader;
use quick_xml::events::Event;
use std::fmt::Write;
use std::time::{Duration, Instant};

/// A Surefire/jest-like report of about `target_bytes`: suites of 50 cases; every 10th case fails with a
/// stack trace (with entities), every 25th is skipped, every 40th is flaky (Surefire `flakyFailure`).
fn generate(target_bytes: usize) -> String {
    let mut xml = String::with_capacity(target_bytes + 4096);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"bench\">\n");
    let mut suite = 0usize;
    while xml.len() < target_bytes {
        let _ = writeln!(
            xml,
            "  <testsuite name=\"com.shop.module{suite}.CheckoutTest\" tests=\"50\" failures=\"5\" errors=\"0\" skipped=\"2\" time=\"12.5\" timestamp=\"2024-06-01T12:00:00\" hostname=\"ci-runner-3\">"
        );
        for case in 0..50usize {
            let _ = write!(
                xml,
                "    <testcase name=\"pays_with_card_{case}[visa &amp; mastercard]\" classname=\"com.shop.module{suite}.CheckoutTest\" time=\"0.{case:03}\""
            );
            if case % 10 == 3 {
                let _ = writeln!(
                    xml,
                    ">\n      <failure message=\"expected: &lt;{case}&gt; but was: &lt;{}&gt;\" type=\"org.opentest4j.AssertionFailedError\">org.opentest4j.AssertionFailedError: expected: &lt;{case}&gt; but was: &lt;{}&gt;\n\tat org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:55)\n\tat com.shop.module{suite}.CheckoutTest.pays_with_card_{case}(CheckoutTest.java:{})\n\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)\n</failure>\n      <system-out><![CDATA[cart total: {case} EUR\nrequest id 3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b]]></system-out>\n    </testcase>",
                    case + 1,
                    case + 1,
                    40 + case
                );
            } else if case % 25 == 7 {
                xml.push_str(">\n      <skipped message=\"disabled on ci\"/>\n    </testcase>\n");
            } else if case % 40 == 11 {
                xml.push_str(">\n      <flakyFailure message=\"socket hang up\" type=\"java.io.IOException\"><stackTrace>java.io.IOException: socket hang up</stackTrace></flakyFailure>\n    </testcase>\n");
            } else {
                xml.push_str("/>\n");
            }
        }
        xml.push_str("  </testsuite>\n");
        suite += 1;
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// The baseline: every event read, nothing kept.
fn bare_scan(xml: &str) -> usize {
    let mut reader = Reader::from_str(xml);
    let mut events = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return events,
            Ok(_) => events += 1,
            Err(error) => panic!("generated xml is malformed: {error}"),
        }
    }
}

fn best_of<T>(rounds: usize, mut run: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..rounds {
        let started = Instant::now();
        let value = std::hint::black_box(run());
        best = best.min(started.elapsed());
        last = Some(value);
    }
    (best, last.expect("at least one round"))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mebibytes: usize = args.next().and_then(|arg| arg.parse().ok()).unwrap_or(32);
    let rounds: usize = args.next().and_then(|arg| arg.parse().ok()).unwrap_or(5).max(1);
    let xml = generate(mebibytes * 1024 * 1024);
    let megabytes = xml.len() as f64 / 1e6;
    let limits = ReportLimits::default();

    let (scan, events) = best_of(rounds, || bare_scan(&xml));
    let (reader, suites) =
        best_of(rounds, || junit_parser::from_reader(xml.as_bytes()).map(|report| report.suites.len()));
    let (parse, report) = best_of(rounds, || parse_junit(xml.as_bytes(), &limits));
    let report = report.expect("the generated report parses");
    let counts = report.counts();

    let rate = |elapsed: Duration| megabytes / elapsed.as_secs_f64();
    println!(
        "input: {megabytes:.1} MB, {events} xml events, {} suites, {} tests ({counts:?}), {} runs",
        suites.unwrap_or(0),
        counts.total(),
        report.runs()
    );
    println!("best of {rounds} rounds:");
    println!("  bare quick-xml event scan     {:8.1} MB/s  ({:?})", rate(scan), scan);
    println!(
        "  junit-parser alone            {:8.1} MB/s  ({:?})  {:.2} of scan",
        rate(reader),
        reader,
        scan.as_secs_f64() / reader.as_secs_f64()
    );
    println!(
        "  argus_reports::parse_junit    {:8.1} MB/s  ({:?})  {:.2} of scan",
        rate(parse),
        parse,
        scan.as_secs_f64() / parse.as_secs_f64()
    );
}
