//! Confidence: from the ranking of one relocation to a probability that the best candidate is the
//! element.
//!
//! [`ConfidenceFeatures`] summarises the ranking (best and runner-up scores, their gap, whether a stable
//! key such as a test id matched and whether that key is unique on the page, visibility, how much the
//! reference carried). The learned model is a logistic regression over [`ConfidenceFeatures::vector`],
//! fitted offline on the training split of the corpus (`examples/train_confidence.rs`) and committed as
//! the constant table in `confidence_weights.rs`; the hand formula is the original
//! `s₁ · (tie + (1 − tie) · margin)`. `design.md` says which one won on held-out data and by how much.

use serde::{Deserialize, Serialize};

/// Length of [`ConfidenceFeatures::vector`].
pub const N_CONFIDENCE_FEATURES: usize = 16;

/// Names of the entries of [`ConfidenceFeatures::vector`], in order (for the trainer's report).
pub const CONFIDENCE_FEATURE_NAMES: [&str; N_CONFIDENCE_FEATURES] = [
    "bias",
    "best_score",
    "runner_up_score",
    "gap",
    "saturated_margin",
    "locator_only",
    "unique_key_match",
    "shared_key_match",
    "key_lost",
    "best_invisible",
    "log_evidence",
    "exact_match",
    "best_score_x_margin",
    "log_near_ties",
    "best_text_exact",
    "best_neighbour_exact",
];

/// Which formula turns a ranking into a confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfidenceModel {
    /// Logistic regression over [`ConfidenceFeatures`], weights fitted on the corpus's training split.
    #[default]
    Learned,
    /// `best · (tie_factor + (1 − tie_factor) · min(1, gap / decisive_margin))`, × `locator_only_factor`.
    Hand,
}

/// What the confidence of one relocation is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ConfidenceFeatures {
    /// Score of the best candidate.
    pub best_score: f64,
    /// Score of the runner-up (0 when there is none).
    pub runner_up_score: f64,
    /// The reference is only a locator.
    pub locator_only: bool,
    /// The best candidate shares a stable key (test id, test attribute, stable id or name) with the
    /// reference that no other visible candidate shares.
    pub unique_key_match: bool,
    /// The best candidate shares a stable key with the reference, as do other visible candidates.
    pub shared_key_match: bool,
    /// The reference carries a stable key and the best candidate matches none of them.
    pub key_lost: bool,
    /// The best candidate is hidden.
    pub best_invisible: bool,
    /// Total weight of the signals the reference carries (how much there was to compare).
    pub evidence: f64,
    /// Other top-ranked candidates (at most 4) within 0.03 of the best score: a cluster of look-alikes.
    pub near_ties: usize,
    /// The best candidate's text equals the reference's exactly (after normalisation).
    pub best_text_exact: bool,
    /// The best candidate's neighbour text equals the reference's exactly.
    pub best_neighbour_exact: bool,
}

impl ConfidenceFeatures {
    /// The model's input vector; entry `i` is named by [`CONFIDENCE_FEATURE_NAMES`]`[i]`.
    pub fn vector(&self) -> [f64; N_CONFIDENCE_FEATURES] {
        let gap = (self.best_score - self.runner_up_score).max(0.0);
        let margin = (gap / 0.15).min(1.0);
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        [
            1.0,
            self.best_score,
            self.runner_up_score,
            gap,
            margin,
            flag(self.locator_only),
            flag(self.unique_key_match),
            flag(self.shared_key_match),
            flag(self.key_lost),
            flag(self.best_invisible),
            (1.0 + self.evidence.max(0.0)).ln(),
            flag(self.best_score >= 0.999),
            self.best_score * margin,
            (1.0 + self.near_ties as f64).ln(),
            flag(self.best_text_exact),
            flag(self.best_neighbour_exact),
        ]
    }

    /// The learned model's probability that the best candidate is the element.
    pub fn learned_confidence(&self) -> f64 {
        let z: f64 =
            self.vector().iter().zip(crate::confidence_weights::LEARNED_WEIGHTS).map(|(x, w)| x * w).sum();
        1.0 / (1.0 + (-z).exp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_surviving_key_is_more_convincing_than_a_shared_one() {
        let base = ConfidenceFeatures {
            best_score: 0.6,
            runner_up_score: 0.35,
            evidence: 12.0,
            ..Default::default()
        };
        let unique = ConfidenceFeatures { unique_key_match: true, ..base };
        let shared = ConfidenceFeatures { shared_key_match: true, ..base };
        assert!(unique.learned_confidence() > shared.learned_confidence());
        assert!(unique.learned_confidence() > base.learned_confidence());
    }

    #[test]
    fn ties_are_less_convincing_than_clear_winners() {
        let tie = ConfidenceFeatures {
            best_score: 0.8,
            runner_up_score: 0.8,
            evidence: 10.0,
            ..Default::default()
        };
        let clear = ConfidenceFeatures { runner_up_score: 0.4, ..tie };
        assert!(clear.learned_confidence() > tie.learned_confidence());
        assert!(tie.learned_confidence() < 0.5, "{}", tie.learned_confidence());
    }

    #[test]
    fn the_weight_table_matches_the_feature_vector() {
        assert_eq!(crate::confidence_weights::LEARNED_WEIGHTS.len(), N_CONFIDENCE_FEATURES);
        assert!(crate::confidence_weights::LEARNED_WEIGHTS.iter().all(|w| w.is_finite()));
    }
}
