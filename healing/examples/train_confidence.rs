//! Fits the learned confidence model (logistic regression over `ConfidenceFeatures::vector`) on the
//! training split of the corpus, compares it with the hand formula on the held-out split, and with
//! `--write` stores the weights in `src/confidence_weights.rs`.
//!
//! Run with `cargo run -p argus-healing --release --example train_confidence [-- --write]` after
//! `make_corpus`. The label of a case is "the best-ranked candidate is the expected element" (always 0
//! when the right answer is to abstain), so the model estimates P(correct | ranking features). The
//! ranking itself does not depend on the confidence model, so training on it is not circular.

// Dense linear algebra on 16×16 matrices reads clearer with explicit indices.
#![allow(clippy::needless_range_loop)]

use argus_healing::confidence::{CONFIDENCE_FEATURE_NAMES, N_CONFIDENCE_FEATURES};
use argus_healing::{ConfidenceModel, EngineConfig, relocate};

#[path = "support/corpus_case.rs"]
mod corpus_case;
use corpus_case::read_case;

/// L2 penalty on every weight but the bias.
const L2: f64 = 1e-3;

struct Sample {
    x: [f64; N_CONFIDENCE_FEATURES],
    label: f64,
    hand: f64,
    locator_only: bool,
}

fn samples(path: &str) -> Vec<Sample> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}; run make_corpus first"));
    let config = EngineConfig { confidence_model: ConfidenceModel::Hand, ..EngineConfig::default() };
    text.lines()
        .filter_map(read_case)
        .filter_map(|case| {
            let relocation = relocate(&case.reference, &case.page, &config);
            let best = relocation.ranked.first()?.index;
            Some(Sample {
                x: relocation.evidence.vector(),
                label: if case.expected == Some(best) { 1.0 } else { 0.0 },
                hand: relocation.confidence,
                locator_only: relocation.evidence.locator_only,
            })
        })
        .collect()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn predict(w: &[f64; N_CONFIDENCE_FEATURES], x: &[f64; N_CONFIDENCE_FEATURES]) -> f64 {
    sigmoid(w.iter().zip(x).map(|(w, x)| w * x).sum())
}

/// Newton's method on the L2-penalised log-likelihood (16 weights: the Hessian is tiny).
fn fit(samples: &[Sample]) -> [f64; N_CONFIDENCE_FEATURES] {
    const N: usize = N_CONFIDENCE_FEATURES;
    let mut w = [0.0; N];
    for _ in 0..50 {
        let mut gradient = [0.0; N];
        let mut hessian = [[0.0; N]; N];
        for s in samples {
            let p = predict(&w, &s.x);
            for i in 0..N {
                gradient[i] += (p - s.label) * s.x[i];
                for j in 0..N {
                    hessian[i][j] += p * (1.0 - p) * s.x[i] * s.x[j];
                }
            }
        }
        for i in 1..N {
            gradient[i] += L2 * samples.len() as f64 * w[i];
            hessian[i][i] += L2 * samples.len() as f64;
        }
        for (i, row) in hessian.iter_mut().enumerate() {
            row[i] += 1e-9;
        }
        let step = solve(hessian, gradient);
        let mut change = 0.0f64;
        for i in 0..N {
            w[i] -= step[i];
            change = change.max(step[i].abs());
        }
        if change < 1e-8 {
            break;
        }
    }
    w
}

/// Gaussian elimination with partial pivoting.
fn solve<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> [f64; N] {
    for column in 0..N {
        let pivot =
            (column..N).max_by(|&i, &j| a[i][column].abs().total_cmp(&a[j][column].abs())).unwrap_or(column);
        a.swap(column, pivot);
        b.swap(column, pivot);
        let diagonal = a[column][column];
        if diagonal.abs() < 1e-12 {
            continue;
        }
        for row in column + 1..N {
            let factor = a[row][column] / diagonal;
            for k in column..N {
                a[row][k] -= factor * a[column][k];
            }
            b[row] -= factor * b[column];
        }
    }
    let mut x = [0.0; N];
    for row in (0..N).rev() {
        let rest: f64 = (row + 1..N).map(|k| a[row][k] * x[k]).sum();
        x[row] = if a[row][row].abs() < 1e-12 { 0.0 } else { (b[row] - rest) / a[row][row] };
    }
    x
}

/// Log-loss, Brier score, and precision/coverage at the healer's thresholds.
fn report(name: &str, samples: &[Sample], confidence: impl Fn(&Sample) -> f64) {
    let n = samples.len() as f64;
    let (mut log_loss, mut brier) = (0.0, 0.0);
    for s in samples {
        let p = confidence(s).clamp(1e-6, 1.0 - 1e-6);
        log_loss -= s.label * p.ln() + (1.0 - s.label) * (1.0 - p).ln();
        brier += (p - s.label).powi(2);
    }
    let mut line = format!("{name:24} log-loss {:.4}  brier {:.4}", log_loss / n, brier / n);
    for threshold in [0.5, 0.7, 0.9] {
        let answered: Vec<&Sample> = samples.iter().filter(|s| confidence(s) >= threshold).collect();
        let correct = answered.iter().filter(|s| s.label == 1.0).count();
        line.push_str(&format!(
            "  @{threshold}: precision {:5.1} % coverage {:5.1} %",
            100.0 * correct as f64 / answered.len().max(1) as f64,
            100.0 * answered.len() as f64 / n
        ));
    }
    println!("{line}");
}

fn main() {
    let write = std::env::args().any(|a| a == "--write");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus");
    let train = samples(&format!("{dir}/cases.jsonl"));
    let heldout = samples(&format!("{dir}/heldout.jsonl"));
    let stress = samples(&format!("{dir}/stress.jsonl"));
    let w = fit(&train);
    println!("fitted on {} training cases; weights:", train.len());
    for (name, weight) in CONFIDENCE_FEATURE_NAMES.iter().zip(w) {
        println!("  {name:22} {weight:+.4}");
    }
    let cap = EngineConfig::default().locator_only_cap;
    let learned = |s: &Sample| {
        let p = predict(&w, &s.x);
        if s.locator_only { p.min(cap) } else { p }
    };
    for (split, set) in [("train", &train), ("held-out", &heldout), ("stress", &stress)] {
        println!("{split}:");
        report("  hand formula", set, |s| s.hand);
        report("  learned model", set, learned);
    }
    if write {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/confidence_weights.rs");
        let values: Vec<String> = w.iter().map(|v| format!("{v:.6}")).collect();
        let text = format!(
            "//! Weights of the learned confidence model, one per entry of `ConfidenceFeatures::vector`.\n\
             //! Generated by `cargo run -p argus-healing --release --example train_confidence -- --write`\n\
             //! from {} training cases; do not edit by hand.\n\n\
             /// Logistic-regression weights, in the order of `CONFIDENCE_FEATURE_NAMES`.\n\
             #[rustfmt::skip]\n\
             pub(crate) const LEARNED_WEIGHTS: [f64; {}] = [\n    {},\n];\n",
            train.len(),
            N_CONFIDENCE_FEATURES,
            values.join(",\n    ")
        );
        std::fs::write(path, text).unwrap_or_else(|e| panic!("write {path}: {e}"));
        println!("wrote {path}");
    }
}
