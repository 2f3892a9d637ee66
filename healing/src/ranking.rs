//! The learned ranking: a linear model over per-signal similarities and a few discriminating extras,
//! fitted offline with a pairwise logistic loss (the expected element against its strongest rivals) on
//! the training split of the corpus (`examples/train_ranker.rs`) and committed as `rank_weights.rs`.
//!
//! A candidate's score is `Σ wₖ·fₖ / Σ wₖ` — the sum over every feature, the normaliser over the
//! positive features the reference carries — clamped to `[0, 1]`. The normaliser is the same for every
//! candidate of one relocation, so it does not change the order; it only keeps the score comparable with
//! the hand model's (1 = everything the reference carries matches). Penalty features (an invisible
//! candidate, text where the observed element had none) have weights ≤ 0 and sit outside the normaliser.
//! `design.md` says how the learned weights compare with the hand ones.

use serde::{Deserialize, Serialize};

use crate::page::CandidatePage;
use crate::relocate::Reference;
use crate::score::{Features, N_SIGNALS, Signal};

/// How candidates are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankingModel {
    /// The linear model over per-signal similarities and extras, fitted on the corpus's training split.
    #[default]
    Learned,
    /// `Σ wᵢ·simᵢ / Σ wᵢ` with the configured [`crate::SignalWeights`], invisible candidates multiplied
    /// by `invisible_factor`.
    Hand,
}

/// The ranking features of every candidate of `page` against `reference` (one vector per candidate, in
/// candidate order) and which features the reference carries; for fitting the ranking offline
/// (`examples/train_ranker.rs`). `None` when the reference is a locator the engine cannot read.
pub fn candidate_features(
    reference: &Reference,
    page: &CandidatePage,
) -> Option<(Vec<[f64; N_RANK_FEATURES]>, [bool; N_RANK_FEATURES])> {
    let (features, locator_only) = crate::relocate::reference_features(reference).ok()?;
    let context = RankContext::new(&features, !locator_only);
    let vectors = page
        .candidates()
        .iter()
        .map(|candidate| {
            let mut out = [0.0; N_RANK_FEATURES];
            context.features(&features, &candidate.features, candidate.visible, &mut out);
            out
        })
        .collect();
    Some((vectors, context.present))
}

/// Extra features beyond the per-signal similarities.
pub const N_EXTRA_FEATURES: usize = 8;
/// Length of a ranking feature vector: one similarity per signal, then the extras.
pub const N_RANK_FEATURES: usize = N_SIGNALS + N_EXTRA_FEATURES;

/// Index of the first extra feature.
const EXTRA: usize = N_SIGNALS;
const TEXT_EXACT: usize = EXTRA;
const NEIGHBOUR_EXACT: usize = EXTRA + 1;
const XPATH_EXACT: usize = EXTRA + 2;
const XPATH_LAST_STEP: usize = EXTRA + 3;
const XPATH_SUFFIX: usize = EXTRA + 4;
const NEIGHBOUR_CONTAINS: usize = EXTRA + 5;
const TEXT_UNEXPECTED: usize = EXTRA + 6;
const INVISIBLE: usize = EXTRA + 7;

/// Names of the extra features, in order after the signals.
const EXTRA_NAMES: [&str; N_EXTRA_FEATURES] = [
    "text exactly equal",
    "neighbour text exactly equal",
    "xpath exactly equal",
    "xpath last step equal",
    "xpath suffix share",
    "neighbour text contained",
    "penalty: text the element lacked",
    "penalty: invisible",
];

/// The name of ranking feature `index` (a signal label or an extra's name).
pub fn feature_name(index: usize) -> &'static str {
    if index < N_SIGNALS { Signal::ALL[index].label() } else { EXTRA_NAMES[index - N_SIGNALS] }
}

/// Whether feature `index` is a penalty (weight ≤ 0, outside the normaliser).
pub fn is_penalty(index: usize) -> bool {
    matches!(index, TEXT_UNEXPECTED | INVISIBLE)
}

/// Which features a reference carries, fixed for one relocation.
#[derive(Debug, Clone)]
pub(crate) struct RankContext {
    present: [bool; N_RANK_FEATURES],
    /// The reference is an observation (a missing text means the element had none), not a locator.
    observed: bool,
}

impl RankContext {
    /// The features `reference` carries; `observed` is false for locator-derived references.
    pub(crate) fn new(reference: &Features, observed: bool) -> Self {
        let mut present = [false; N_RANK_FEATURES];
        for (slot, signal) in present.iter_mut().zip(Signal::ALL) {
            *slot = reference.carries(signal);
        }
        present[TEXT_EXACT] = reference.carries(Signal::Text);
        present[NEIGHBOUR_EXACT] = reference.carries(Signal::Neighbour);
        present[NEIGHBOUR_CONTAINS] = reference.carries(Signal::Neighbour);
        present[XPATH_EXACT] = reference.carries(Signal::XPath);
        present[XPATH_LAST_STEP] = reference.carries(Signal::XPath);
        present[XPATH_SUFFIX] = reference.carries(Signal::XPath);
        present[TEXT_UNEXPECTED] = observed && !reference.carries(Signal::Text);
        present[INVISIBLE] = true;
        Self { present, observed }
    }

    /// Fills `out` with the features of `candidate` against `reference` (0 for features the reference
    /// does not carry). Does not allocate.
    pub(crate) fn features(
        &self,
        reference: &Features,
        candidate: &Features,
        visible: bool,
        out: &mut [f64; N_RANK_FEATURES],
    ) {
        for (index, signal) in Signal::ALL.iter().enumerate() {
            out[index] = if self.present[index] {
                reference.similarity(candidate, *signal).unwrap_or(0.0)
            } else {
                0.0
            };
        }
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        out[TEXT_EXACT] = flag(self.present[TEXT_EXACT] && reference.text_equals(candidate));
        out[NEIGHBOUR_EXACT] = flag(self.present[NEIGHBOUR_EXACT] && reference.neighbour_equals(candidate));
        out[NEIGHBOUR_CONTAINS] =
            flag(self.present[NEIGHBOUR_CONTAINS] && reference.neighbour_contained(candidate));
        let (exact, last, suffix) = if self.present[XPATH_EXACT] {
            reference.xpath_agreement(candidate)
        } else {
            (false, false, 0.0)
        };
        out[XPATH_EXACT] = flag(exact);
        out[XPATH_LAST_STEP] = flag(last);
        out[XPATH_SUFFIX] = suffix;
        out[TEXT_UNEXPECTED] = flag(self.observed && self.present[TEXT_UNEXPECTED] && candidate.has_text());
        out[INVISIBLE] = flag(!visible);
    }
}

/// A linear ranking model over [`N_RANK_FEATURES`] features.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RankModel {
    weights: [f64; N_RANK_FEATURES],
}

impl RankModel {
    /// The committed, learned model.
    pub(crate) const LEARNED: RankModel = RankModel { weights: crate::rank_weights::RANK_WEIGHTS };

    /// `Σ w·f / Σ w` over the positive features the reference carries, clamped to `[0, 1]`; 0 when the
    /// reference carries nothing.
    pub(crate) fn normaliser(&self, context: &RankContext) -> f64 {
        (0..N_RANK_FEATURES)
            .filter(|&i| context.present[i] && !is_penalty(i))
            .map(|i| self.weights[i].max(0.0))
            .sum()
    }

    /// The score of one feature vector, given the normaliser.
    pub(crate) fn score(&self, features: &[f64; N_RANK_FEATURES], normaliser: f64) -> f64 {
        if normaliser <= 0.0 {
            return 0.0;
        }
        let sum: f64 = self.weights.iter().zip(features).map(|(w, f)| w * f).sum();
        (sum / normaliser).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learned_weights_respect_their_signs() {
        for (index, weight) in crate::rank_weights::RANK_WEIGHTS.iter().enumerate() {
            assert!(weight.is_finite(), "{}", feature_name(index));
            if is_penalty(index) {
                assert!(*weight <= 0.0, "{} is a penalty", feature_name(index));
            } else {
                assert!(*weight >= 0.0, "{} is a similarity", feature_name(index));
            }
        }
    }
}
