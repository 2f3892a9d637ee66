//! The healer: answers each healing request with a suggestion or an honest abstention.
//!
//! Steps, first answer wins: the knowledge base (patterns learned from accepted feedback), the cache (an
//! earlier DOM-similarity heal of the same fingerprint on the same snapshot), DOM similarity (the healing
//! engine compares the locator's last observed element, or the locator alone, with the failing page).
//! Each request yields at most one stored suggestion ([`SuggestionId::for_request`]); a redelivered
//! request re-announces the stored one instead of computing a new one.
//!
//! The engine is synchronous and its parsed page is not meant to cross an `.await`: [`dom_similarity`]
//! runs between the loads and the writes, on plain data.

use crate::{Outcome, Role, WorkerContext, WorkerError, decode, expect_topic};
use argus_bus::{Delivery, publish};
use argus_cache::CacheKey;
use argus_healing::{CandidatePage, EngineConfig, PageLimits, Reference, relocate};
use argus_store::HealingPattern;
use argus_vocabulary::{
    Envelope, Fingerprint, HealDecision, HealSource, HealingRequest, HealingSuggestion, SnapshotHash,
    SuggestedLocator, SuggestionId, Topic,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::{debug, instrument, warn};

/// Rationale of an abstention for a request without a usable snapshot.
pub const NO_DOM_SNAPSHOT: &str = "no dom snapshot";

/// Configuration of the healer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealerConfig {
    /// Limits for parsing the failing page; over any of them the healer abstains naming the limit (the
    /// engine's defaults: 8 MiB of html, 50 000 elements, depth 256).
    #[serde(default)]
    pub page_limits: PageLimits,
    /// Reuse DOM-similarity heals cached under `argus:heal:{fingerprint}` for the same snapshot
    /// (default true).
    #[serde(default = "HealerConfig::default_use_cache")]
    pub use_cache: bool,
    /// The engine's signal weights and decision thresholds (the engine's defaults).
    #[serde(default)]
    pub engine: EngineConfig,
}

impl HealerConfig {
    /// The default for `use_cache`: on.
    pub const fn default_use_cache() -> bool {
        true
    }

    /// Builds the healer.
    pub fn build(&self) -> Healer {
        Healer {
            page_limits: self.page_limits.clone(),
            engine: self.engine.clone(),
            use_cache: self.use_cache,
        }
    }
}

impl Default for HealerConfig {
    fn default() -> Self {
        Self {
            page_limits: PageLimits::default(),
            use_cache: Self::default_use_cache(),
            engine: EngineConfig::default(),
        }
    }
}

/// Answers healing requests.
#[derive(Debug, Clone)]
pub struct Healer {
    page_limits: PageLimits,
    engine: EngineConfig,
    use_cache: bool,
}

/// The healer's verdict on one request, before it is wrapped into a [`HealingSuggestion`].
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The suggested replacement; `None` when abstaining.
    pub suggested: Option<SuggestedLocator>,
    /// Confidence in `[0, 1]`; 0 when abstaining.
    pub confidence: f64,
    /// Which step answered; `None` when abstaining.
    pub source: Option<HealSource>,
    /// What to do with it.
    pub decision: HealDecision,
    /// Why.
    pub rationale: String,
}

impl Answer {
    /// An abstention: nothing suggested, escalate to a person.
    pub fn abstain(rationale: impl Into<String>) -> Self {
        Self {
            suggested: None,
            confidence: 0.0,
            source: None,
            decision: HealDecision::Escalate,
            rationale: rationale.into(),
        }
    }
}

/// A DOM-similarity heal as cached under [`CacheKey::Heal`]: valid only for the snapshot it was computed on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CachedHeal {
    snapshot: SnapshotHash,
    suggested: SuggestedLocator,
    confidence: f64,
    decision: HealDecision,
    rationale: String,
}

impl Healer {
    /// Handles one delivery from `argus.healing.requested`.
    pub async fn handle(&self, ctx: &WorkerContext, delivery: &Delivery) -> Result<Outcome, WorkerError> {
        expect_topic(Role::Healer, delivery, Topic::HealingRequested)?;
        let request = decode::<HealingRequest>(delivery)?;
        self.heal(ctx, &request).await
    }

    /// Answers one request: stores the suggestion, records it in the graph and publishes it.
    #[instrument(skip_all, fields(project = %request.project_id, request_id = %request.event_id, fingerprint = %request.payload.fingerprint))]
    pub async fn heal(
        &self,
        ctx: &WorkerContext,
        request: &Envelope<HealingRequest>,
    ) -> Result<Outcome, WorkerError> {
        let project = &request.project_id;
        let id = SuggestionId::for_request(request.event_id);
        if let Some(stored) = ctx.store.suggestion(project, id).await? {
            // Answered before; the earlier attempt may have stopped before announcing, so announce again
            // (the graph and the downstream consumers are idempotent).
            self.announce(ctx, request, &stored.suggestion, stored.created_at).await?;
            return Ok(Outcome::Duplicate);
        }

        let now = ctx.clock.now();
        let answer = self.answer(ctx, request, now).await?;
        let suggestion = HealingSuggestion {
            id,
            request_event_id: request.event_id,
            failure_event_id: request.payload.failure_event_id,
            test: request.payload.test.clone(),
            fingerprint: request.payload.fingerprint.clone(),
            broken_locator: request.payload.broken_locator.clone(),
            suggested: answer.suggested,
            confidence: answer.confidence,
            source: answer.source,
            decision: answer.decision,
            rationale: answer.rationale,
        };
        if ctx.store.save_suggestion(project, &suggestion, now).await? {
            ctx.metrics.record_suggestion(suggestion.source, suggestion.decision);
            debug!(
                source = suggestion.source.map_or("none", HealSource::as_str),
                decision = suggestion.decision.as_str(),
                confidence = suggestion.confidence,
                "suggestion stored"
            );
            self.announce(ctx, request, &suggestion, now).await?;
            Ok(Outcome::Done)
        } else {
            // A concurrent delivery of the same request stored first: announce the stored answer.
            let Some(stored) = ctx.store.suggestion(project, id).await? else {
                return Err(WorkerError::Store(argus_store::StoreError::NotFound(format!(
                    "suggestion {id}"
                ))));
            };
            self.announce(ctx, request, &stored.suggestion, stored.created_at).await?;
            Ok(Outcome::Duplicate)
        }
    }

    /// Records the heal in the graph and publishes it on `argus.healing.completed`.
    async fn announce(
        &self,
        ctx: &WorkerContext,
        request: &Envelope<HealingRequest>,
        suggestion: &HealingSuggestion,
        at: DateTime<Utc>,
    ) -> Result<(), WorkerError> {
        ctx.graph.record_healing(&request.project_id, suggestion, at).await?;
        let envelope = Envelope::new(
            request.event_id.derive("suggestion"),
            request.project_id.clone(),
            request.occurred_at,
            suggestion.clone(),
        );
        publish(ctx.bus.as_ref(), &envelope).await?;
        Ok(())
    }

    /// Runs the steps: knowledge base, then cross-test learning, the cache and DOM similarity, where the
    /// most confident of the last three wins (ties go to the evidence from the page itself).
    async fn answer(
        &self,
        ctx: &WorkerContext,
        request: &Envelope<HealingRequest>,
        now: DateTime<Utc>,
    ) -> Result<Answer, WorkerError> {
        let project = &request.project_id;
        let fingerprint = &request.payload.fingerprint;
        let broken_locator = &request.payload.broken_locator;

        let pattern = ctx.store.healing_pattern(project, fingerprint).await?;
        if let Some(answer) = pattern.as_ref().and_then(knowledge_base_answer) {
            ctx.store.touch_healing_pattern(project, fingerprint, now).await?;
            return Ok(answer);
        }
        let learned = ctx
            .store
            .confident_patterns(project, CROSS_TEST_MIN_PATTERN_CONFIDENCE, CROSS_TEST_PATTERN_LIMIT)
            .await?;

        let Some(hash) = &request.payload.snapshot else {
            // Nothing to verify a learned heal against: offer it as it is (it can only reach "validate").
            let answer = cross_test_answer(broken_locator, fingerprint, &learned, None)
                .unwrap_or_else(|| Answer::abstain(NO_DOM_SNAPSHOT));
            return Ok(distrust_rejected(answer, pattern.as_ref()));
        };
        if self.use_cache
            && let Some(cached) = self.cached(ctx, fingerprint, hash).await
        {
            let cross = cross_test_answer(broken_locator, fingerprint, &learned, None);
            return Ok(distrust_rejected(most_confident(cached, cross), pattern.as_ref()));
        }
        let Some(html) = ctx.store.dom_snapshot(project, hash).await? else {
            return Ok(Answer::abstain(NO_DOM_SNAPSHOT));
        };
        let reference = match ctx.graph.last_observation(project, broken_locator).await? {
            Some(observed) => Reference::Observed(observed.element),
            None => Reference::LocatorOnly(broken_locator.clone()),
        };
        // Synchronous from here to the answer: the parsed page never crosses an await.
        let (similar, cross) = match CandidatePage::parse(&html, &self.page_limits) {
            Ok(page) => (
                dom_similarity_on(&page, &reference, &self.engine),
                cross_test_answer(broken_locator, fingerprint, &learned, Some(&page)),
            ),
            Err(error) => (Answer::abstain(format!("dom snapshot not scored: {error}")), None),
        };
        if self.use_cache {
            self.remember(ctx, fingerprint, hash, &similar).await;
        }
        Ok(distrust_rejected(most_confident(similar, cross), pattern.as_ref()))
    }

    /// A cached DOM-similarity heal of this fingerprint on this snapshot. Every cache error is a miss.
    async fn cached(
        &self,
        ctx: &WorkerContext,
        fingerprint: &Fingerprint,
        hash: &SnapshotHash,
    ) -> Option<Answer> {
        let bytes = match ctx.cache.get(&CacheKey::Heal(fingerprint.clone())).await {
            Ok(bytes) => bytes?,
            Err(error) => {
                ctx.metrics.record_cache_error();
                warn!(error = %error, "heal cache read failed; treating as a miss");
                return None;
            }
        };
        let cached: CachedHeal = match serde_json::from_slice(&bytes) {
            Ok(cached) => cached,
            Err(error) => {
                ctx.metrics.record_cache_error();
                warn!(error = %error, "heal cache entry undecodable; treating as a miss");
                return None;
            }
        };
        (cached.snapshot == *hash).then_some(Answer {
            suggested: Some(cached.suggested),
            confidence: cached.confidence,
            source: Some(HealSource::Cache),
            decision: cached.decision,
            rationale: cached.rationale,
        })
    }

    /// Caches a DOM-similarity heal. Abstentions are not cached: a later observation of the locator can
    /// turn the same page into a heal.
    async fn remember(
        &self,
        ctx: &WorkerContext,
        fingerprint: &Fingerprint,
        hash: &SnapshotHash,
        answer: &Answer,
    ) {
        let Some(suggested) = answer.suggested.clone() else { return };
        let entry = CachedHeal {
            snapshot: hash.clone(),
            suggested,
            confidence: answer.confidence,
            decision: answer.decision,
            rationale: answer.rationale.clone(),
        };
        let bytes = match serde_json::to_vec(&entry) {
            Ok(bytes) => bytes,
            Err(error) => {
                warn!(error = %error, "heal cache entry not encodable");
                return;
            }
        };
        if let Err(error) = ctx.cache.set(&CacheKey::Heal(fingerprint.clone()), bytes).await {
            ctx.metrics.record_cache_error();
            warn!(error = %error, "heal cache write failed");
        }
    }
}

/// The knowledge base's answer: a pattern at 0.5 confidence or more heals; above 0.9 it is applied.
pub fn knowledge_base_answer(pattern: &HealingPattern) -> Option<Answer> {
    let decision = HealDecision::for_confidence(pattern.confidence);
    if decision == HealDecision::Escalate {
        return None;
    }
    Some(Answer {
        suggested: Some(SuggestedLocator {
            css: pattern.healed_selector.clone(),
            xpath: None,
            playwright: None,
        }),
        confidence: pattern.confidence,
        source: Some(HealSource::KnowledgeBase),
        decision,
        rationale: format!(
            "knowledge base: this failure was healed with {} before ({} accepted, {} rejected)",
            pattern.healed_selector, pattern.success_count, pattern.failure_count
        ),
    })
}

/// A heal that reviewers already rejected for this fingerprint is never applied again: it is escalated.
fn distrust_rejected(answer: Answer, pattern: Option<&HealingPattern>) -> Answer {
    let rejected = pattern.is_some_and(|pattern| {
        answer.suggested.as_ref().is_some_and(|suggested| suggested.css == pattern.healed_selector)
    });
    if rejected && answer.decision != HealDecision::Escalate {
        Answer {
            decision: HealDecision::Escalate,
            rationale: format!("{} (reviewers rejected this heal before)", answer.rationale),
            ..answer
        }
    } else {
        answer
    }
}

/// The DOM-similarity step on plain data: parse the page, relocate the reference, decide. A page over the
/// limits is an abstention naming the limit; a heal below the validation threshold is an abstention too
/// (a wrong heal is worse than none).
pub fn dom_similarity(
    html: &str,
    reference: &Reference,
    page_limits: &PageLimits,
    engine: &EngineConfig,
) -> Answer {
    match CandidatePage::parse(html, page_limits) {
        Ok(page) => dom_similarity_on(&page, reference, engine),
        Err(error) => Answer::abstain(format!("dom snapshot not scored: {error}")),
    }
}

/// The DOM-similarity step on an already parsed page.
pub fn dom_similarity_on(page: &CandidatePage, reference: &Reference, engine: &EngineConfig) -> Answer {
    let relocation = relocate(reference, page, engine);
    let decision = HealDecision::for_confidence(relocation.confidence);
    match (relocation.choice, relocation.selector) {
        (Some(_), Some(selector)) if decision != HealDecision::Escalate => Answer {
            suggested: Some(selector),
            confidence: relocation.confidence,
            source: Some(HealSource::DomSimilarity),
            decision,
            rationale: relocation.rationale,
        },
        _ => Answer::abstain(relocation.rationale),
    }
}

/// Patterns below this confidence cannot reach the validation band once discounted, so they are not loaded.
const CROSS_TEST_MIN_PATTERN_CONFIDENCE: f64 = HealDecision::VALIDATE_FROM / HealSource::CROSS_TEST_DISCOUNT;

/// How many of a project's most confident patterns cross-test learning compares the broken locator with.
const CROSS_TEST_PATTERN_LIMIT: u32 = 2_000;

/// Cross-test learning: the heal learned (and confirmed by reviewers) for the same or a similar locator in
/// another test, offered at the pattern's confidence × [`HealSource::CROSS_TEST_DISCOUNT`]. Locators are
/// similar from a normalised Levenshtein similarity of [`HealSource::CROSS_TEST_MIN_SIMILARITY`]. With a
/// page, a learned selector is only offered when it matches exactly one element of the failing page.
/// Among eligible patterns the most similar locator wins, then the most confident pattern.
pub fn cross_test_answer(
    broken_locator: &str,
    own_fingerprint: &Fingerprint,
    patterns: &[HealingPattern],
    page: Option<&CandidatePage>,
) -> Option<Answer> {
    let matches_one_element = |selector: &str| {
        page.is_none_or(|page| page.resolve(selector).is_ok_and(|matched| matched.len() == 1))
    };
    let (similarity, pattern) = patterns
        .iter()
        .filter(|pattern| pattern.fingerprint != *own_fingerprint)
        .map(|pattern| (strsim::normalized_levenshtein(&pattern.original_selector, broken_locator), pattern))
        .filter(|(similarity, _)| *similarity >= HealSource::CROSS_TEST_MIN_SIMILARITY)
        .filter(|(_, pattern)| matches_one_element(&pattern.healed_selector))
        .max_by(|(left_similarity, left), (right_similarity, right)| {
            left_similarity
                .total_cmp(right_similarity)
                .then(left.confidence.total_cmp(&right.confidence))
                .then(right.fingerprint.cmp(&left.fingerprint))
        })?;
    let confidence = pattern.confidence * HealSource::CROSS_TEST_DISCOUNT;
    let decision = HealDecision::for_confidence(confidence);
    if decision == HealDecision::Escalate {
        return None;
    }
    let verified =
        if page.is_some() { "it matches one element of this page" } else { "no page to verify it on" };
    Some(Answer {
        suggested: Some(SuggestedLocator {
            css: pattern.healed_selector.clone(),
            xpath: None,
            playwright: None,
        }),
        confidence,
        source: Some(HealSource::CrossTest),
        decision,
        rationale: format!(
            "cross-test learning: {} was healed with {} in another test ({} accepted, {} rejected; locator \
             similarity {similarity:.2}); {verified}",
            pattern.original_selector, pattern.healed_selector, pattern.success_count, pattern.failure_count
        ),
    })
}

/// The more confident of two answers; a tie keeps `first`. An abstention never beats a heal.
fn most_confident(first: Answer, second: Option<Answer>) -> Answer {
    match second {
        Some(second)
            if second.suggested.is_some()
                && (first.suggested.is_none() || second.confidence > first.confidence) =>
        {
            second
        }
        _ => first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argus_vocabulary::{ElementDescriptor, ErrorKind};

    fn pattern(success_count: u64, failure_count: u64) -> HealingPattern {
        let total = success_count + failure_count;
        HealingPattern {
            fingerprint: Fingerprint::from_parts(["f"]),
            original_selector: "#pay-btn".into(),
            healed_selector: "#pay-button".into(),
            error_type: ErrorKind::LocatorNotFound,
            success_count,
            failure_count,
            confidence: if total == 0 { 0.0 } else { success_count as f64 / total as f64 },
            last_used_at: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn knowledge_base_applies_above_point_nine_validates_from_half_and_ignores_below() {
        let apply = knowledge_base_answer(&pattern(10, 0)).expect("confident pattern heals");
        assert_eq!(apply.decision, HealDecision::Apply);
        assert_eq!(apply.source, Some(HealSource::KnowledgeBase));
        assert_eq!(apply.suggested.map(|s| s.css).as_deref(), Some("#pay-button"));

        let validate = knowledge_base_answer(&pattern(3, 1)).expect("0.75 pattern heals");
        assert_eq!(validate.decision, HealDecision::Validate);
        assert_eq!(knowledge_base_answer(&pattern(9, 1)).map(|a| a.decision), Some(HealDecision::Validate));
        assert_eq!(knowledge_base_answer(&pattern(1, 2)), None);
    }

    #[test]
    fn a_rejected_heal_is_escalated_not_applied() {
        let answer = Answer {
            suggested: Some(SuggestedLocator { css: "#pay-button".into(), xpath: None, playwright: None }),
            confidence: 0.95,
            source: Some(HealSource::DomSimilarity),
            decision: HealDecision::Apply,
            rationale: "id and text match".into(),
        };
        let distrusted = distrust_rejected(answer.clone(), Some(&pattern(0, 1)));
        assert_eq!(distrusted.decision, HealDecision::Escalate);
        assert!(distrusted.rationale.contains("rejected"));
        assert_eq!(distrust_rejected(answer.clone(), None), answer);
    }

    fn learned(
        name: &str,
        original: &str,
        healed: &str,
        success_count: u64,
        failure_count: u64,
    ) -> HealingPattern {
        HealingPattern {
            fingerprint: Fingerprint::from_parts([name]),
            original_selector: original.into(),
            healed_selector: healed.into(),
            ..pattern(success_count, failure_count)
        }
    }

    #[test]
    fn cross_test_learning_offers_a_similar_locators_heal_at_a_discount() {
        let own = Fingerprint::from_parts(["own"]);
        let patterns = [
            learned("exact", "#checkout-button", "[data-testid=\"checkout\"]", 4, 0),
            learned("unrelated", "#newsletter-email", "#subscribe-email", 9, 0),
        ];
        let answer = cross_test_answer("#checkout-button", &own, &patterns, None).expect("same locator");
        assert_eq!(answer.source, Some(HealSource::CrossTest));
        assert_eq!(answer.suggested.map(|s| s.css).as_deref(), Some("[data-testid=\"checkout\"]"));
        assert!((answer.confidence - 0.9).abs() < 1e-9, "1.0 × 0.9, got {}", answer.confidence);
        assert_eq!(answer.decision, HealDecision::Validate, "a learned heal is never applied blindly");

        let similar = cross_test_answer("#checkout-buttons", &own, &patterns, None);
        assert_eq!(similar.map(|a| a.source), Some(Some(HealSource::CrossTest)), "similarity ≥ 0.8");
        assert_eq!(cross_test_answer("#cart-link", &own, &patterns, None), None, "not similar");
    }

    #[test]
    fn cross_test_learning_skips_own_weak_and_unverifiable_patterns() {
        let own = Fingerprint::from_parts(["exact"]);
        let patterns = [learned("exact", "#pay", "#pay-now", 5, 0)];
        assert_eq!(cross_test_answer("#pay", &own, &patterns, None), None, "the failure's own pattern");

        let weak = [learned("weak", "#pay", "#pay-now", 1, 1)];
        let elsewhere = Fingerprint::from_parts(["elsewhere"]);
        assert_eq!(cross_test_answer("#pay", &elsewhere, &weak, None), None, "0.5 × 0.9 escalates");

        let sure = [learned("sure", "#pay", "#pay-now", 5, 0)];
        let page = CandidatePage::parse(
            "<html><body><button id=\"pay-later\">Pay later</button></body></html>",
            &PageLimits::default(),
        )
        .expect("page parses");
        assert_eq!(cross_test_answer("#pay", &elsewhere, &sure, Some(&page)), None, "matches nothing here");
        let page = CandidatePage::parse(
            "<html><body><button id=\"pay-now\">Pay now</button></body></html>",
            &PageLimits::default(),
        )
        .expect("page parses");
        let verified = cross_test_answer("#pay", &elsewhere, &sure, Some(&page)).expect("verified");
        assert!(verified.rationale.contains("matches one element"), "{}", verified.rationale);
    }

    #[test]
    fn the_more_confident_answer_wins_and_a_heal_beats_an_abstention() {
        let heal = |confidence: f64, source| Answer {
            suggested: Some(SuggestedLocator { css: "#x".into(), xpath: None, playwright: None }),
            confidence,
            source: Some(source),
            decision: HealDecision::for_confidence(confidence),
            rationale: String::new(),
        };
        let dom = heal(0.7, HealSource::DomSimilarity);
        let cross = heal(0.9, HealSource::CrossTest);
        assert_eq!(most_confident(dom.clone(), Some(cross.clone())).source, Some(HealSource::CrossTest));
        assert_eq!(most_confident(cross.clone(), Some(dom.clone())).source, Some(HealSource::CrossTest));
        assert_eq!(most_confident(dom.clone(), None).source, Some(HealSource::DomSimilarity));
        let tie = heal(0.7, HealSource::CrossTest);
        assert_eq!(most_confident(dom.clone(), Some(tie)).source, Some(HealSource::DomSimilarity));
        assert_eq!(
            most_confident(Answer::abstain("none"), Some(dom)).source,
            Some(HealSource::DomSimilarity)
        );
    }

    #[test]
    fn oversized_page_abstains_naming_the_limit() {
        let limits = PageLimits { max_html_bytes: 16, ..PageLimits::default() };
        let answer = dom_similarity(
            "<html><body><button id=\"pay\">Pay</button></body></html>",
            &Reference::Observed(ElementDescriptor::with_tag("button")),
            &limits,
            &EngineConfig::default(),
        );
        assert_eq!(answer.suggested, None);
        assert_eq!(answer.source, None);
        assert_eq!(answer.decision, HealDecision::Escalate);
        assert!(answer.rationale.starts_with("dom snapshot not scored: "), "{}", answer.rationale);
    }

    #[test]
    fn renamed_id_is_healed_by_dom_similarity() {
        let reference = ElementDescriptor {
            id: Some("pay-btn".into()),
            text: Some("Pay now".into()),
            data_testid: Some("pay".into()),
            class: Some("btn btn-primary".into()),
            ..ElementDescriptor::with_tag("button")
        };
        let html = r#"<html><body><form id="checkout"><input name="card" placeholder="Card number">
            <button id="pay-button" class="btn btn-primary" data-testid="pay">Pay now</button>
            <button id="back" class="btn">Back</button></form></body></html>"#;
        let answer = dom_similarity(
            html,
            &Reference::Observed(reference),
            &PageLimits::default(),
            &EngineConfig::default(),
        );
        assert_eq!(answer.source, Some(HealSource::DomSimilarity), "{}", answer.rationale);
        assert_ne!(answer.decision, HealDecision::Escalate);
        let css = answer.suggested.map(|s| s.css).expect("a selector");
        let page = CandidatePage::parse(html, &PageLimits::default()).expect("page parses");
        let matched = page.resolve(&css).expect("css resolves");
        assert_eq!(matched.len(), 1, "{css}");
        assert_eq!(page.candidates()[matched[0]].descriptor.id.as_deref(), Some("pay-button"));
    }
}
