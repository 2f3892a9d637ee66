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

    /// Runs the steps: knowledge base, cache, DOM similarity.
    async fn answer(
        &self,
        ctx: &WorkerContext,
        request: &Envelope<HealingRequest>,
        now: DateTime<Utc>,
    ) -> Result<Answer, WorkerError> {
        let project = &request.project_id;
        let fingerprint = &request.payload.fingerprint;

        let pattern = ctx.store.healing_pattern(project, fingerprint).await?;
        if let Some(answer) = pattern.as_ref().and_then(knowledge_base_answer) {
            ctx.store.touch_healing_pattern(project, fingerprint, now).await?;
            return Ok(answer);
        }

        let Some(hash) = &request.payload.snapshot else {
            return Ok(Answer::abstain(NO_DOM_SNAPSHOT));
        };
        if self.use_cache
            && let Some(cached) = self.cached(ctx, fingerprint, hash).await
        {
            return Ok(distrust_rejected(cached, pattern.as_ref()));
        }
        let Some(html) = ctx.store.dom_snapshot(project, hash).await? else {
            return Ok(Answer::abstain(NO_DOM_SNAPSHOT));
        };
        let reference = match ctx.graph.last_observation(project, &request.payload.broken_locator).await? {
            Some(observed) => Reference::Observed(observed.element),
            None => Reference::LocatorOnly(request.payload.broken_locator.clone()),
        };
        let answer = dom_similarity(&html, &reference, &self.page_limits, &self.engine);
        if self.use_cache {
            self.remember(ctx, fingerprint, hash, &answer).await;
        }
        Ok(distrust_rejected(answer, pattern.as_ref()))
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
    let page = match CandidatePage::parse(html, page_limits) {
        Ok(page) => page,
        Err(error) => return Answer::abstain(format!("dom snapshot not scored: {error}")),
    };
    let relocation = relocate(reference, &page, engine);
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
