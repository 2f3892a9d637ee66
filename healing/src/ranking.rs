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
    let descendant = context.descendant_text(&features, page);
    let vectors = page
        .candidates()
        .iter()
        .enumerate()
        .map(|(index, candidate)| {
            let mut out = [0.0; N_RANK_FEATURES];
            let below = descendant.get(index).copied().unwrap_or_default();
            context.features(&features, &candidate.features, candidate.visible, below, &mut out);
            out
        })
        .collect();
    Some((vectors, context.present))
}

/// Extra features beyond the per-signal similarities.
pub const N_EXTRA_FEATURES: usize = 11;
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
const DESCENDANT_TEXT: usize = EXTRA + 8;
const XPATH_STEPS_KEPT: usize = EXTRA + 9;
const DESCENDANT_SAME_TEXT: usize = EXTRA + 10;

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
    "penalty: a descendant has the text",
    "xpath steps kept (wrappers only)",
    "penalty: same text below (locator)",
];

/// The name of ranking feature `index` (a signal label or an extra's name).
pub fn feature_name(index: usize) -> &'static str {
    if index < N_SIGNALS { Signal::ALL[index].label() } else { EXTRA_NAMES[index - N_SIGNALS] }
}

/// Whether feature `index` is a penalty (weight ≤ 0, outside the normaliser).
pub fn is_penalty(index: usize) -> bool {
    matches!(index, TEXT_UNEXPECTED | INVISIBLE | DESCENDANT_TEXT | DESCENDANT_SAME_TEXT)
}

/// How a candidate's descendants match the reference's text, compared with the candidate itself.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct DescendantText {
    /// `max(0, best descendant's text similarity − the candidate's own)`, in `[0, 1]`.
    pub(crate) gain: f64,
    /// A descendant matches the text at least as well as the candidate, which matches it somewhat.
    pub(crate) same: bool,
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
        present[DESCENDANT_TEXT] = reference.carries(Signal::Text);
        present[XPATH_STEPS_KEPT] = reference.carries(Signal::XPath);
        // `text=…` and `getByText` match the element that holds the text, not the wrappers around it.
        present[DESCENDANT_SAME_TEXT] = !observed && reference.carries(Signal::Text);
        Self { present, observed }
    }

    /// For every candidate of `page`, how its descendants match the reference's text compared with the
    /// candidate itself: a wrapper whose text merely contains the element's text (a list item around a
    /// link and a look-alike) should not win over the element. Empty when the reference carries no
    /// text or the page has no tree (descriptor-only pages), so both features are 0 everywhere.
    pub(crate) fn descendant_text(&self, reference: &Features, page: &CandidatePage) -> Vec<DescendantText> {
        let candidates = page.candidates();
        if !self.present[DESCENDANT_TEXT] || candidates.iter().all(|c| c.parent.is_none()) {
            return Vec::new();
        }
        let own: Vec<f64> = candidates
            .iter()
            .map(|c| reference.similarity(&c.features, Signal::Text).unwrap_or(0.0))
            .collect();
        // Candidates are in document order (a parent before its children), so one backward pass
        // carries every element's best descendant up to its parent.
        let mut best_below = vec![0.0f64; candidates.len()];
        for index in (0..candidates.len()).rev() {
            if let Some(parent) = candidates[index].parent.filter(|&p| p < index) {
                best_below[parent] = best_below[parent].max(own[index].max(best_below[index]));
            }
        }
        best_below
            .iter()
            .zip(&own)
            .map(|(&below, &own)| DescendantText {
                gain: (below - own).max(0.0),
                same: own > 0.0 && below >= own,
            })
            .collect()
    }

    /// Fills `out` with the features of `candidate` against `reference` (0 for features the reference
    /// does not carry). Does not allocate.
    pub(crate) fn features(
        &self,
        reference: &Features,
        candidate: &Features,
        visible: bool,
        descendant: DescendantText,
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
        out[DESCENDANT_TEXT] = if self.present[DESCENDANT_TEXT] { descendant.gain } else { 0.0 };
        out[DESCENDANT_SAME_TEXT] = flag(self.present[DESCENDANT_SAME_TEXT] && descendant.same);
        out[XPATH_STEPS_KEPT] =
            if self.present[XPATH_STEPS_KEPT] { reference.xpath_steps_kept(candidate) } else { 0.0 };
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
    use argus_vocabulary::ElementDescriptor;

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

    fn gains_for(reference: &ElementDescriptor, html: &str) -> (CandidatePage, Vec<f64>) {
        let page = CandidatePage::parse(html, &crate::page::PageLimits::default()).expect("page parses");
        let features = Features::new(reference, &crate::score::Extras::default());
        let context = RankContext::new(&features, true);
        let gains = context.descendant_text(&features, &page).iter().map(|d| d.gain).collect();
        (page, gains)
    }

    fn index_of(page: &CandidatePage, tag: &str) -> usize {
        page.candidates().iter().position(|c| c.descriptor.tag == tag).expect("tag on the page")
    }

    #[test]
    fn a_wrapper_around_the_matching_text_carries_the_descendant_penalty() {
        let reference =
            ElementDescriptor { text: Some("About us".into()), ..ElementDescriptor::with_tag("a") };
        let (page, gains) = gains_for(
            &reference,
            "<ul><li><button>About us</button> <a href='/more'>Also about us</a></li><li>Careers</li></ul>",
        );
        let (li, button) = (index_of(&page, "li"), index_of(&page, "button"));
        assert!(gains[li] > 0.2, "the list item only contains the text: {}", gains[li]);
        assert_eq!(gains[button], 0.0, "the button has the text itself");
        let careers = page.candidates().iter().rposition(|c| c.descriptor.tag == "li").expect("second li");
        assert_eq!(gains[careers], 0.0, "nothing below it matches better");
    }

    #[test]
    fn a_wrapper_with_exactly_its_childs_text_is_not_penalised() {
        let reference =
            ElementDescriptor { text: Some("Sign in".into()), ..ElementDescriptor::with_tag("a") };
        let (page, gains) = gains_for(&reference, "<div><span><a href='/login'>Sign in</a></span></div>");
        assert!(page.candidates().len() >= 3);
        assert!(gains.iter().all(|gain| *gain == 0.0), "{gains:?}");
    }

    #[test]
    fn references_without_text_or_pages_without_a_tree_have_no_descendant_feature() {
        let no_text = ElementDescriptor { id: Some("q".into()), ..ElementDescriptor::with_tag("input") };
        assert!(gains_for(&no_text, "<form><label>Search <input id='q'></label></form>").1.is_empty());
        let reference =
            ElementDescriptor { text: Some("Buy".into()), ..ElementDescriptor::with_tag("button") };
        let features = Features::new(&reference, &crate::score::Extras::default());
        let context = RankContext::new(&features, true);
        let flat =
            CandidatePage::from_descriptors(vec![reference.clone(), ElementDescriptor::with_tag("div")]);
        assert!(context.descendant_text(&features, &flat).is_empty());
    }
}
