//! Relocation: score every candidate against the reference, rank, turn the best score and its margin
//! to the runner-up into a confidence, abstain when it is too low, and synthesise selectors for the
//! choice.

use argus_vocabulary::{ElementDescriptor, SuggestedLocator};
use serde::{Deserialize, Serialize};

use crate::error::HealingError;
use crate::locator::Query;
use crate::page::CandidatePage;
use crate::score::{Extras, Features, ReferenceWeights, SignalWeights};

/// Candidates kept in [`Relocation::ranked`].
const RANKED: usize = 5;

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
    /// Weight of each similarity signal.
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
}

impl EngineConfig {
    /// The default configuration, usable in `const` context.
    pub const fn new() -> Self {
        Self {
            weights: SignalWeights::new(),
            abstain_below: 0.5,
            decisive_margin: 0.15,
            tie_factor: 0.4,
            invisible_factor: 0.25,
            locator_only_factor: 0.8,
            generated_factor: 0.2,
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
}

impl Relocation {
    fn abstain(confidence: f64, rationale: String, ranked: Vec<ScoredCandidate>) -> Self {
        Self { choice: None, confidence, selector: None, rationale, ranked }
    }
}

/// Finds the element `reference` describes in `page`, or abstains.
pub fn relocate(reference: &Reference, page: &CandidatePage, config: &EngineConfig) -> Relocation {
    let (features, locator_only) = match reference {
        Reference::Observed(descriptor) => (Features::new(descriptor, &Extras::default()), false),
        Reference::LocatorOnly(locator) => match Query::parse(locator) {
            Ok(query) => {
                let expectation = query.expectation();
                let extras = Extras {
                    role: None,
                    accessible_name: expectation.accessible_name.as_deref(),
                    label: expectation.label.as_deref(),
                };
                (Features::new(&expectation.descriptor, &extras), true)
            }
            Err(error) => {
                return Relocation::abstain(0.0, format!("abstained: {error}"), Vec::new());
            }
        },
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

    // Top-k by insertion into a fixed array: no allocation per candidate.
    let mut top = [(f64::NEG_INFINITY, usize::MAX); RANKED + 1];
    for (index, candidate) in candidates.iter().enumerate() {
        let mut score = weights.score(&features, &candidate.features);
        if !candidate.visible {
            score *= config.invisible_factor;
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
    let mut confidence = best_score * (config.tie_factor + (1.0 - config.tie_factor) * margin);
    if locator_only {
        confidence *= config.locator_only_factor;
    }
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
        return Relocation::abstain(
            confidence,
            format!("abstained: {why}; {describe_best}, confidence {confidence:.2}"),
            ranked,
        );
    }
    let selector = crate::synthesis::synthesise(page, best);
    let mut rationale = format!("matched {describe_best} on {}", list_or_none(&matched));
    if !changed.is_empty() {
        rationale.push_str(&format!("; changed: {}", changed.join(", ")));
    }
    if locator_only {
        rationale.push_str("; from the locator alone");
    }
    if selector.is_none() {
        rationale.push_str("; no unique selector could be built");
    }
    Relocation { choice: Some(best), confidence, selector, rationale, ranked }
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
