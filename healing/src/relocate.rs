//! Relocation: score every candidate against the reference, rank, turn the best score and its margin
//! to the runner-up into a confidence, abstain when it is too low, and synthesise selectors for the
//! choice.

use argus_vocabulary::{ElementDescriptor, SuggestedLocator};
use serde::{Deserialize, Serialize};

use crate::confidence::{ConfidenceFeatures, ConfidenceModel};
use crate::error::HealingError;
use crate::locator::Query;
use crate::page::CandidatePage;
use crate::ranking::{N_RANK_FEATURES, RankContext, RankModel, RankingModel};
use crate::score::{Extras, Features, ReferenceWeights, Signal, SignalWeights};

/// Candidates kept in [`Relocation::ranked`].
const RANKED: usize = 5;
/// Confidence floor when the best candidate is the only visible one with the reference's test id.
const UNIQUE_TEST_ID_FLOOR: f64 = 0.92;
/// Score gap within which another top candidate counts as a near tie of the best.
const NEAR_TIE: f64 = 0.03;
/// Score gap below which the two best candidates are tied.
const TIE_EPSILON: f64 = 1e-9;
/// Score gap within which a candidate still at the reference's exact XPath, or a copy of the best,
/// contests the best candidate (see [`EngineConfig::position_conflict_cap`]).
const POSITION_CONFLICT_GAP: f64 = 0.15;
/// Text similarity to the reference from which a copy of the best candidate (same `href`) contests it.
const COPY_CONFLICT_TEXT: f64 = 0.7;

/// What the engine knows about the element to find.
// The variant shapes are the public API other crates code against; one value exists per relocation, so
// the size difference costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    /// The descriptor of the element the locator matched the last time it worked.
    Observed(ElementDescriptor),
    /// Only the broken locator text (no observation exists); confidence is capped lower.
    LocatorOnly(String),
}

/// Weights and decision thresholds of the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// How candidates are ranked: the learned linear model (default) or the hand weights below.
    pub ranking_model: RankingModel,
    /// Weight of each similarity signal under the hand ranking (the learned ranking has its own,
    /// fitted weights).
    pub weights: SignalWeights,
    /// Below this confidence the engine abstains (`choice: None`). Aligned with the healer's bands:
    /// above 0.9 apply, 0.5–0.9 validate, below 0.5 escalate.
    pub abstain_below: f64,
    /// Score gap to the runner-up at which the runner-up stops reducing confidence.
    pub decisive_margin: f64,
    /// Share of the best score kept as confidence when the runner-up ties it (0 gap).
    pub tie_factor: f64,
    /// Multiplier on the score of invisible candidates.
    pub invisible_factor: f64,
    /// Multiplier on the confidence of locator-only references (less evidence).
    pub locator_only_factor: f64,
    /// Multiplier on the weight of generated-looking ids, names and class sets of the reference.
    pub generated_factor: f64,
    /// How the ranking becomes a confidence: the learned model (default) or the hand formula.
    pub confidence_model: ConfidenceModel,
    /// Highest confidence a locator-only heal can get under the learned model: without an observation
    /// the healer validates rather than applies.
    pub locator_only_cap: f64,
    /// Highest confidence when the evidence disagrees about which element it is, because a close
    /// contender (within 0.15 of the best score) either still stands at the reference's exact XPath while
    /// the best does not, or is a visible copy of the best (same `href`) whose text is also close to the
    /// reference's (a duplicated link whose text changed in one place and not the other). The healer then
    /// validates in a browser instead of applying.
    pub position_conflict_cap: f64,
}

impl EngineConfig {
    /// The default configuration, usable in `const` context.
    pub const fn new() -> Self {
        Self {
            ranking_model: RankingModel::Learned,
            weights: SignalWeights::new(),
            abstain_below: 0.5,
            decisive_margin: 0.15,
            tie_factor: 0.4,
            invisible_factor: 0.25,
            locator_only_factor: 0.8,
            generated_factor: 0.2,
            confidence_model: ConfidenceModel::Learned,
            locator_only_cap: 0.85,
            position_conflict_cap: 0.85,
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// One ranked candidate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoredCandidate {
    /// Index into [`CandidatePage::candidates`].
    pub index: usize,
    /// Weighted similarity in `[0, 1]`, after the invisibility penalty.
    pub score: f64,
}

/// The engine's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Relocation {
    /// The chosen candidate; `None` when the engine abstains.
    pub choice: Option<usize>,
    /// Confidence in `[0, 1]` that the best candidate is the element (reported even when abstaining);
    /// 0 when there is no candidate at all.
    pub confidence: f64,
    /// Selectors for the choice (CSS unique in the page, XPath, Playwright when it maps).
    pub selector: Option<SuggestedLocator>,
    /// One sentence: which signals matched, or why the engine abstained.
    pub rationale: String,
    /// The top candidates by score, best first.
    pub ranked: Vec<ScoredCandidate>,
    /// What the confidence was computed from (all zero when there was nothing to rank).
    pub evidence: ConfidenceFeatures,
}

impl Relocation {
    fn abstain(confidence: f64, rationale: String, ranked: Vec<ScoredCandidate>) -> Self {
        Self {
            choice: None,
            confidence,
            selector: None,
            rationale,
            ranked,
            evidence: ConfidenceFeatures::default(),
        }
    }
}

/// The comparable features of a reference and whether it is only a locator; the error when the locator
/// cannot be read.
pub(crate) fn reference_features(reference: &Reference) -> Result<(Features, bool), HealingError> {
    match reference {
        Reference::Observed(descriptor) => Ok((Features::new(descriptor, &Extras::default()), false)),
        Reference::LocatorOnly(locator) => {
            let expectation = Query::parse(locator)?.expectation();
            let extras = Extras {
                role: None,
                accessible_name: expectation.accessible_name.as_deref(),
                label: expectation.label.as_deref(),
            };
            Ok((Features::new(&expectation.descriptor, &extras), true))
        }
    }
}

/// Finds the element `reference` describes in `page`, or abstains.
pub fn relocate(reference: &Reference, page: &CandidatePage, config: &EngineConfig) -> Relocation {
    let (features, locator_only) = match reference_features(reference) {
        Ok(read) => read,
        Err(error) => return Relocation::abstain(0.0, format!("abstained: {error}"), Vec::new()),
    };
    let candidates = page.candidates();
    if candidates.is_empty() {
        return Relocation::abstain(0.0, "abstained: the page has no candidate elements".into(), Vec::new());
    }
    let weights = ReferenceWeights::new(&features, &config.weights, config.generated_factor);
    if weights.total() <= 0.0 {
        return Relocation::abstain(
            0.0,
            "abstained: the reference carries nothing to compare".into(),
            Vec::new(),
        );
    }

    // Top-k by insertion into a fixed array: no allocation per candidate. Alongside, how many visible
    // candidates share each stable key with the reference (is the test id still unique?).
    let reference_keys = features.keys();
    let mut key_counts = [0usize; 4];
    let mut top = [(f64::NEG_INFINITY, usize::MAX); RANKED + 1];
    let rank_context = RankContext::new(&features, !locator_only);
    let rank_model = RankModel::LEARNED;
    let normaliser = rank_model.normaliser(&rank_context);
    let mut rank_features = [0.0; N_RANK_FEATURES];
    let descendant = match config.ranking_model {
        RankingModel::Learned => rank_context.descendant_text(&features, page),
        RankingModel::Hand => Vec::new(),
    };
    for (index, candidate) in candidates.iter().enumerate() {
        let score = match config.ranking_model {
            RankingModel::Learned => {
                let below = descendant.get(index).copied().unwrap_or_default();
                rank_context.features(
                    &features,
                    &candidate.features,
                    candidate.visible,
                    below,
                    &mut rank_features,
                );
                rank_model.score(&rank_features, normaliser)
            }
            RankingModel::Hand => {
                let score = weights.score(&features, &candidate.features);
                if candidate.visible { score } else { score * config.invisible_factor }
            }
        };
        if candidate.visible && reference_keys != 0 {
            let matched = features.key_matches(&candidate.features);
            for (bit, count) in key_counts.iter_mut().enumerate() {
                if matched & (1 << bit) != 0 {
                    *count += 1;
                }
            }
        }
        if score > top[RANKED].0 {
            let mut slot = RANKED;
            while slot > 0 && score > top[slot - 1].0 {
                top[slot] = top[slot - 1];
                slot -= 1;
            }
            top[slot] = (score, index);
        }
    }
    let ranked: Vec<ScoredCandidate> = top
        .iter()
        .take(RANKED)
        .filter(|(_, index)| *index != usize::MAX)
        .map(|&(score, index)| ScoredCandidate { index, score })
        .collect();
    let (best_score, best) = top[0];
    let runner_up = if top[1].1 == usize::MAX { 0.0 } else { top[1].0 };
    let gap = (best_score - runner_up).max(0.0);
    let margin = if config.decisive_margin > 0.0 { (gap / config.decisive_margin).min(1.0) } else { 1.0 };
    let best_keys = features.key_matches(&candidates[best].features);
    let best_visible = candidates[best].visible;
    let unique_key_match =
        best_visible && (0..4).any(|bit| best_keys & (1 << bit) != 0 && key_counts[bit] == 1);
    let near_ties = top[1..RANKED]
        .iter()
        .filter(|(score, index)| *index != usize::MAX && best_score - score < NEAR_TIE)
        .count();
    let at_old_position = |index: usize| features.xpath_agreement(&candidates[index].features).0;
    let best_features = &candidates[best].features;
    let is_copy_of_best = |index: usize| {
        candidates[index].visible
            && best_features.similarity(&candidates[index].features, Signal::Href) == Some(1.0)
            && features.similarity(&candidates[index].features, Signal::Text).unwrap_or(0.0)
                >= COPY_CONFLICT_TEXT
    };
    let position_conflict = top[1..RANKED].iter().any(|&(score, index)| {
        index != usize::MAX
            && best_score - score <= POSITION_CONFLICT_GAP
            && ((!at_old_position(best) && at_old_position(index)) || is_copy_of_best(index))
    });
    let evidence = ConfidenceFeatures {
        near_ties,
        best_text_exact: features.text_equals(&candidates[best].features),
        best_neighbour_exact: features.neighbour_equals(&candidates[best].features),
        best_score,
        runner_up_score: runner_up,
        locator_only,
        unique_key_match,
        shared_key_match: best_keys != 0 && !unique_key_match,
        key_lost: reference_keys != 0 && best_keys == 0,
        best_invisible: !best_visible,
        evidence: weights.total(),
    };
    let confidence = match config.confidence_model {
        ConfidenceModel::Learned => {
            let mut learned = evidence.learned_confidence();
            // A `data-testid` that survived and is still unique on the page is the one key teams
            // promise to keep; the corpus rarely isolates it, so the fitted weight undersells it.
            let unique_test_id = best_visible
                && best_keys & crate::score::KEY_TEST_ID != 0
                && key_counts[0] == 1
                && gap >= TIE_EPSILON;
            if unique_test_id {
                learned = learned.max(UNIQUE_TEST_ID_FLOOR);
            }
            if locator_only {
                learned = learned.min(config.locator_only_cap);
            }
            if position_conflict {
                learned = learned.min(config.position_conflict_cap);
            }
            // An exact tie means nothing on the page separates the two best candidates: whatever the
            // model learned about ties that happened to break the right way, that is a guess.
            if gap < TIE_EPSILON {
                learned = learned.min(config.tie_factor * best_score);
            }
            learned
        }
        ConfidenceModel::Hand => {
            let mut hand = best_score * (config.tie_factor + (1.0 - config.tie_factor) * margin);
            if locator_only {
                hand *= config.locator_only_factor;
            }
            hand
        }
    };
    let confidence = confidence.clamp(0.0, 1.0);

    let best_candidate = &candidates[best];
    let breakdown = weights.breakdown(&features, &best_candidate.features);
    let matched: Vec<&str> =
        breakdown.iter().filter(|(_, _, similarity)| *similarity >= 0.8).map(|(s, _, _)| s.label()).collect();
    let changed: Vec<&str> =
        breakdown.iter().filter(|(_, _, similarity)| *similarity < 0.5).map(|(s, _, _)| s.label()).collect();
    let describe_best = format!(
        "<{}> (candidate {best}) scored {best_score:.2}, runner-up {runner_up:.2}",
        best_candidate.descriptor.tag
    );

    if confidence < config.abstain_below {
        let why = if best_score >= 0.5 && margin < 0.5 {
            "the best candidates are too alike to tell apart"
        } else if !best_candidate.visible {
            "the best candidate is hidden"
        } else {
            "nothing is similar enough"
        };
        return Relocation {
            evidence,
            ..Relocation::abstain(
                confidence,
                format!("abstained: {why}; {describe_best}, confidence {confidence:.2}"),
                ranked,
            )
        };
    }
    let selector = crate::synthesis::synthesise(page, best);
    let mut rationale = format!("matched {describe_best} on {}", list_or_none(&matched));
    if !changed.is_empty() {
        rationale.push_str(&format!("; changed: {}", changed.join(", ")));
    }
    if locator_only {
        rationale.push_str("; from the locator alone");
    }
    if position_conflict {
        rationale
            .push_str("; a close contender (at the old xpath, or a copy of this link) needs a browser check");
    }
    if selector.is_none() {
        rationale.push_str("; no unique selector could be built");
    }
    Relocation { choice: Some(best), confidence, selector, rationale, ranked, evidence }
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() { "weak partial similarity".to_owned() } else { items.join(", ") }
}

/// The descriptor of the single element `locator` matches in `page`, for recording observations from a
/// snapshot; `Ok(None)` when it matches nothing or more than one element.
pub fn describe(page: &CandidatePage, locator: &str) -> Result<Option<ElementDescriptor>, HealingError> {
    let matched = page.resolve(locator)?;
    Ok(match matched.as_slice() {
        [only] => page.candidates().get(*only).map(|c| c.descriptor.clone()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_the_serde_default() {
        let parsed: EngineConfig = serde_json::from_str("{}").expect("empty config");
        assert_eq!(parsed, EngineConfig::default());
        assert_eq!(EngineConfig::default().weights, SignalWeights::default());
        assert!(serde_json::from_str::<EngineConfig>(r#"{"abstain_bellow": 0.3}"#).is_err());
    }

    #[test]
    fn bounding_boxes_separate_otherwise_identical_descriptors() {
        let at = |x: f64| ElementDescriptor {
            text: Some("Next".into()),
            bounding_box: Some(argus_vocabulary::BoundingBox { x, y: 10.0, width: 80.0, height: 30.0 }),
            ..ElementDescriptor::with_tag("button")
        };
        let page = CandidatePage::from_descriptors(vec![at(20.0), at(620.0)]);
        let relocation = relocate(&Reference::Observed(at(600.0)), &page, &EngineConfig::default());
        assert_eq!(relocation.choice, Some(1), "{}", relocation.rationale);
        assert!(relocation.ranked[0].score > relocation.ranked[1].score);
    }

    /// One post's listing: a link to it in a heading, and its date.
    fn listing(text: &str) -> String {
        format!(
            "<div><h5><a href='/2021/12/17/issue-106/'>{text}</a></h5><time>December 17, 2021</time></div>"
        )
    }

    /// Relocates the first link of `old` in `new`, as observed on `old`.
    fn relocate_first_link(old: &str, new: &str) -> Relocation {
        let limits = crate::page::PageLimits::default();
        let old_page = CandidatePage::parse(old, &limits).expect("old page");
        let first_link = old_page.candidates().iter().position(|c| c.descriptor.tag == "a").expect("a link");
        let reference = Reference::Observed(old_page.candidates()[first_link].descriptor.clone());
        let new_page = CandidatePage::parse(new, &limits).expect("new page");
        relocate(&reference, &new_page, &EngineConfig::default())
    }

    const POST: &str = "These Weeks in Firefox: Issue 106";

    #[test]
    fn a_close_contender_at_the_old_xpath_keeps_a_heal_out_of_the_apply_band() {
        // The same post listed twice; the first listing's link text changed, the second kept it.
        let old = format!("<aside>{}{}</aside>", listing(POST), listing(POST));
        let new = format!("<aside>{}{}</aside>", listing(&format!("{POST} now")), listing(POST));
        let relocation = relocate_first_link(&old, &new);
        // 0.9 is where the healer applies without a browser check.
        assert!(
            relocation.confidence < 0.9,
            "conflicting evidence must not auto-apply: {} ({})",
            relocation.confidence,
            relocation.rationale
        );
    }

    #[test]
    fn a_close_copy_of_the_best_link_keeps_a_heal_out_of_the_apply_band() {
        // The same post listed twice; the listings moved under a new wrapper (no candidate keeps the old
        // XPath) and only the target's copy of the link changed its text.
        let old = format!("<aside>{}{}</aside>", listing(POST), listing(POST));
        let new =
            format!("<aside><section>{}{}</section></aside>", listing(&format!("{POST} now")), listing(POST));
        let relocation = relocate_first_link(&old, &new);
        assert!(
            relocation.confidence < 0.9,
            "two copies of one link, told apart by a text edit, must not auto-apply: {} ({})",
            relocation.confidence,
            relocation.rationale
        );
    }

    #[test]
    fn empty_page_gives_zero_confidence() {
        let page = CandidatePage::from_descriptors(Vec::new());
        let relocation = relocate(
            &Reference::Observed(ElementDescriptor::with_tag("button")),
            &page,
            &EngineConfig::default(),
        );
        assert_eq!(relocation.choice, None);
        assert_eq!(relocation.confidence, 0.0);
        assert!(relocation.ranked.is_empty());
    }
}
