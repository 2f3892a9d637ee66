//! Fits the learned ranking (a linear model over `ranking::candidate_features`) on the training split
//! of the corpus, compares it with the committed weights on every split, and with `--write` stores the
//! new weights in `src/rank_weights.rs`.
//!
//! Run with `cargo run -p argus-healing --release --example train_ranker [-- --write]` after
//! `make_corpus`. Loss: pairwise logistic, the expected element against each of its strongest rivals
//! (the top 30 under the committed weights), with an L2 pull towards the committed weights so that a
//! feature the corpus rarely exercises keeps its prior weight. Similarity weights stay ≥ 0 and penalty
//! weights ≤ 0 (an active set: a weight that would cross zero is held at zero). Only the training split
//! is fitted; the held-out and stress splits are reported, never used.

// Dense linear algebra on small matrices reads clearer with explicit indices.
#![allow(clippy::needless_range_loop)]

use argus_healing::ranking::{N_RANK_FEATURES, candidate_features, feature_name, is_penalty};

#[path = "support/corpus_case.rs"]
mod corpus_case;
use corpus_case::read_case;

const N: usize = N_RANK_FEATURES;
/// Rivals per case.
const RIVALS: usize = 30;
/// Pull towards the committed weights, per pair.
const L2: f64 = 1e-4;

/// One case: every candidate's features and the expected index.
struct Sample {
    vectors: Vec<[f64; N]>,
    expected: usize,
}

fn samples(path: &str) -> Vec<Sample> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}; run make_corpus first"));
    text.lines()
        .filter_map(read_case)
        .filter_map(|case| {
            let expected = case.expected?;
            let (vectors, _) = candidate_features(&case.reference, &case.page)?;
            Some(Sample { vectors, expected })
        })
        .collect()
}

fn dot(w: &[f64; N], x: &[f64; N]) -> f64 {
    w.iter().zip(x).map(|(w, x)| w * x).sum()
}

/// Index of the best candidate under `w`; the first one wins ties, as in the engine.
fn best(w: &[f64; N], sample: &Sample) -> usize {
    let mut best = (f64::NEG_INFINITY, 0);
    for (index, vector) in sample.vectors.iter().enumerate() {
        let score = dot(w, vector);
        if score > best.0 {
            best = (score, index);
        }
    }
    best.1
}

fn top1(w: &[f64; N], samples: &[Sample]) -> f64 {
    let hits = samples.iter().filter(|s| best(w, s) == s.expected).count();
    100.0 * hits as f64 / samples.len().max(1) as f64
}

/// Differences `f(expected) − f(rival)` for the strongest rivals under `w`.
fn pairs(w: &[f64; N], samples: &[Sample]) -> Vec<[f64; N]> {
    let mut out = Vec::new();
    for sample in samples {
        let mut order: Vec<usize> = (0..sample.vectors.len()).filter(|&i| i != sample.expected).collect();
        order.sort_by(|&a, &b| dot(w, &sample.vectors[b]).total_cmp(&dot(w, &sample.vectors[a])));
        for &rival in order.iter().take(RIVALS) {
            let mut difference = [0.0; N];
            for k in 0..N {
                difference[k] = sample.vectors[sample.expected][k] - sample.vectors[rival][k];
            }
            if difference.iter().any(|d| d.abs() > 1e-12) {
                out.push(difference);
            }
        }
    }
    out
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Projected Newton on `Σ log(1 + e^{−w·d}) + λ·n·‖w − prior‖²` with sign constraints.
fn fit(pairs: &[[f64; N]], prior: &[f64; N], scale: f64, l2: f64) -> [f64; N] {
    let prior: [f64; N] = std::array::from_fn(|k| prior[k] * scale);
    let lambda = l2 * pairs.len() as f64;
    let mut w = prior;
    let mut fixed = [false; N];
    for _ in 0..60 {
        let mut gradient = [0.0; N];
        let mut hessian = [[0.0; N]; N];
        for d in pairs {
            let p = sigmoid(dot(&w, d));
            for i in 0..N {
                gradient[i] -= (1.0 - p) * d[i];
                for j in 0..N {
                    hessian[i][j] += p * (1.0 - p) * d[i] * d[j];
                }
            }
        }
        for i in 0..N {
            gradient[i] += 2.0 * lambda * (w[i] - prior[i]);
            hessian[i][i] += 2.0 * lambda + 1e-9;
        }
        for i in 0..N {
            if fixed[i] {
                gradient[i] = 0.0;
                for j in 0..N {
                    hessian[i][j] = 0.0;
                    hessian[j][i] = 0.0;
                }
                hessian[i][i] = 1.0;
            }
        }
        let step = solve(hessian, gradient);
        let mut change = 0.0f64;
        for i in 0..N {
            if fixed[i] {
                continue;
            }
            w[i] -= step[i];
            change = change.max(step[i].abs());
            let wrong_sign = if is_penalty(i) { w[i] > 0.0 } else { w[i] < 0.0 };
            if wrong_sign {
                w[i] = 0.0;
                fixed[i] = true;
            }
        }
        if change < 1e-7 {
            break;
        }
    }
    w
}

/// Gaussian elimination with partial pivoting.
fn solve(mut a: [[f64; N]; N], mut b: [f64; N]) -> [f64; N] {
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

/// The committed weights, read back through the features of a one-candidate page would be circular;
/// parse them from the source file instead.
fn committed_weights() -> [f64; N] {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/rank_weights.rs");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let body = text.split_once("= [").map(|(_, b)| b).unwrap_or_default();
    let values: Vec<f64> =
        body.split(',').filter_map(|v| v.trim().trim_end_matches("];").trim().parse().ok()).collect();
    assert_eq!(values.len(), N, "rank_weights.rs has {} weights, expected {N}", values.len());
    std::array::from_fn(|k| values[k])
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let write = args.iter().any(|a| a == "--write");
    let l2 = args
        .iter()
        .position(|a| a == "--l2")
        .and_then(|at| args.get(at + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(L2);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus");
    let train = samples(&format!("{dir}/cases.jsonl"));
    let heldout = samples(&format!("{dir}/heldout.jsonl"));
    let stress = samples(&format!("{dir}/stress.jsonl"));
    let prior = committed_weights();

    // The loss is scale-sensitive, the ranking is not: fit the overall scale of the prior first.
    let prior_pairs = pairs(&prior, &train);
    let scale = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
        .into_iter()
        .map(|s| {
            let loss: f64 = prior_pairs.iter().map(|d| (1.0 + (-s * dot(&prior, d)).exp()).ln()).sum();
            (loss, s)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(1.0, |(_, s)| s);
    // Two rounds: rivals are re-drawn under the first fit, so the second sees the new hard negatives.
    let mut w = fit(&prior_pairs, &prior, scale, l2);
    let mut all_pairs = prior_pairs;
    all_pairs.extend(pairs(&w, &train));
    w = fit(&all_pairs, &prior, scale, l2);
    // Store on the prior's scale, so the normalised score stays comparable.
    let norm: f64 = (0..N).filter(|&k| !is_penalty(k)).map(|k| w[k]).sum::<f64>()
        / (0..N).filter(|&k| !is_penalty(k)).map(|k| prior[k]).sum::<f64>();
    let w: [f64; N] = std::array::from_fn(|k| w[k] / norm.max(1e-9));

    println!("fitted on {} training cases ({} pairs, prior scale {scale})", train.len(), all_pairs.len());
    for k in 0..N {
        println!("  {:34} {:+.4}  (committed {:+.4})", feature_name(k), w[k], prior[k]);
    }
    for (name, set) in [("train", &train), ("held-out", &heldout), ("stress", &stress)] {
        println!("{name:9} top-1: committed {:5.1} %  fitted {:5.1} %", top1(&prior, set), top1(&w, set));
    }
    if write {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/rank_weights.rs");
        let values: Vec<String> = w.iter().map(|v| format!("    {v:.6},")).collect();
        let text = format!(
            "//! Weights of the learned ranking model, one per ranking feature (`ranking::feature_name`).\n\
             //! Generated by `cargo run -p argus-healing --release --example train_ranker -- --write`\n\
             //! from {} training cases; do not edit by hand.\n\n\
             /// Linear ranking weights: the signals in `Signal::ALL` order, then the extras.\n\
             #[rustfmt::skip]\n\
             pub(crate) const RANK_WEIGHTS: [f64; crate::ranking::N_RANK_FEATURES] = [\n{}\n];\n",
            train.len(),
            values.join("\n")
        );
        std::fs::write(path, text).unwrap_or_else(|e| panic!("write {path}: {e}"));
        println!("wrote {path}");
    }
}
