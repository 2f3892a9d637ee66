//! Worker counters, rendered in the Prometheus text format for the binary's `/metrics`.

use crate::{Outcome, Role};
use argus_vocabulary::{HealDecision, HealSource};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Heal sources in rendering order; the last slot counts abstentions (no source).
const SOURCES: [Option<HealSource>; 6] = [
    Some(HealSource::KnowledgeBase),
    Some(HealSource::CrossTest),
    Some(HealSource::Cache),
    Some(HealSource::DomSimilarity),
    Some(HealSource::Llm),
    None,
];

/// Heal decisions in rendering order.
const DECISIONS: [HealDecision; 3] = [HealDecision::Apply, HealDecision::Validate, HealDecision::Escalate];

/// Counters of the pipeline. Every counter only grows; reads are relaxed snapshots.
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    handled: [AtomicU64; 3],
    duplicates: [AtomicU64; 3],
    skipped: [AtomicU64; 3],
    failed: [AtomicU64; 3],
    dead_lettered: [AtomicU64; 3],
    suggestions: [[AtomicU64; 3]; 6],
    cache_errors: AtomicU64,
    skipped_observations: AtomicU64,
}

impl WorkerMetrics {
    /// Counts a message a worker handled (acknowledged), by what it did.
    pub fn record_outcome(&self, role: Role, outcome: &Outcome) {
        let counters = match outcome {
            Outcome::Done => &self.handled,
            Outcome::Duplicate => &self.duplicates,
            Outcome::Skipped(_) => &self.skipped,
        };
        counters[role.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a handler failure (the message was nacked).
    pub fn record_failure(&self, role: Role) {
        self.failed[role.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a message the bus dead-lettered after this role's last failed attempt.
    pub fn record_dead_letter(&self, role: Role) {
        self.dead_lettered[role.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a stored suggestion by source (`None`: an abstention) and decision.
    pub fn record_suggestion(&self, source: Option<HealSource>, decision: HealDecision) {
        self.suggestions[source_index(source)][decision_index(decision)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a cache error (treated as a miss).
    pub fn record_cache_error(&self) {
        self.cache_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a locator observation the normalizer could not resolve and skipped.
    pub fn record_skipped_observation(&self) {
        self.skipped_observations.fetch_add(1, Ordering::Relaxed);
    }

    /// Messages `role` handled with [`Outcome::Done`].
    pub fn handled(&self, role: Role) -> u64 {
        self.handled[role.index()].load(Ordering::Relaxed)
    }

    /// Messages `role` recognised as already handled.
    pub fn duplicates(&self, role: Role) -> u64 {
        self.duplicates[role.index()].load(Ordering::Relaxed)
    }

    /// Handler failures of `role` (each failed attempt counts).
    pub fn failed(&self, role: Role) -> u64 {
        self.failed[role.index()].load(Ordering::Relaxed)
    }

    /// Messages dead-lettered after failing in `role`.
    pub fn dead_lettered(&self, role: Role) -> u64 {
        self.dead_lettered[role.index()].load(Ordering::Relaxed)
    }

    /// Stored suggestions with this source (`None`: abstentions) and decision.
    pub fn suggestions(&self, source: Option<HealSource>, decision: HealDecision) -> u64 {
        self.suggestions[source_index(source)][decision_index(decision)].load(Ordering::Relaxed)
    }

    /// Cache errors seen by the healer.
    pub fn cache_errors(&self) -> u64 {
        self.cache_errors.load(Ordering::Relaxed)
    }

    /// Locator observations the normalizer skipped.
    pub fn skipped_observations(&self) -> u64 {
        self.skipped_observations.load(Ordering::Relaxed)
    }

    /// Appends every counter to `out` in the Prometheus text exposition format.
    pub fn render_prometheus(&self, out: &mut String) {
        header(out, "argus_worker_messages_total", "Messages a worker settled, by role and result.");
        for role in Role::ALL {
            let i = role.index();
            for (result, counters) in [
                ("done", &self.handled),
                ("duplicate", &self.duplicates),
                ("skipped", &self.skipped),
                ("failed", &self.failed),
            ] {
                let value = counters[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "argus_worker_messages_total{{role=\"{role}\",result=\"{result}\"}} {value}"
                );
            }
        }
        header(out, "argus_worker_dead_letters_total", "Messages dead-lettered after failing in a worker.");
        for role in Role::ALL {
            let value = self.dead_lettered[role.index()].load(Ordering::Relaxed);
            let _ = writeln!(out, "argus_worker_dead_letters_total{{role=\"{role}\"}} {value}");
        }
        header(out, "argus_healing_suggestions_total", "Stored healing suggestions, by source and decision.");
        for source in SOURCES {
            let source_name = source.map_or("none", HealSource::as_str);
            for decision in DECISIONS {
                let value = self.suggestions(source, decision);
                let _ = writeln!(
                    out,
                    "argus_healing_suggestions_total{{source=\"{source_name}\",decision=\"{}\"}} {value}",
                    decision.as_str()
                );
            }
        }
        header(out, "argus_worker_cache_errors_total", "Cache errors the healer treated as misses.");
        let _ = writeln!(out, "argus_worker_cache_errors_total {}", self.cache_errors());
        header(
            out,
            "argus_normalizer_skipped_observations_total",
            "Locator observations skipped because the locator did not resolve to one element.",
        );
        let _ = writeln!(out, "argus_normalizer_skipped_observations_total {}", self.skipped_observations());
    }
}

fn header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
}

fn source_index(source: Option<HealSource>) -> usize {
    SOURCES.iter().position(|candidate| *candidate == source).unwrap_or(SOURCES.len() - 1)
}

fn decision_index(decision: HealDecision) -> usize {
    match decision {
        HealDecision::Apply => 0,
        HealDecision::Validate => 1,
        HealDecision::Escalate => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_recorded_counters_with_labels() {
        let metrics = WorkerMetrics::default();
        metrics.record_outcome(Role::Healer, &Outcome::Done);
        metrics.record_outcome(Role::Healer, &Outcome::Duplicate);
        metrics.record_failure(Role::Normalizer);
        metrics.record_dead_letter(Role::Normalizer);
        metrics.record_suggestion(Some(HealSource::DomSimilarity), HealDecision::Validate);
        metrics.record_suggestion(None, HealDecision::Escalate);
        metrics.record_cache_error();

        let mut out = String::new();
        metrics.render_prometheus(&mut out);

        for line in [
            "argus_worker_messages_total{role=\"healer\",result=\"done\"} 1",
            "argus_worker_messages_total{role=\"healer\",result=\"duplicate\"} 1",
            "argus_worker_messages_total{role=\"normalizer\",result=\"failed\"} 1",
            "argus_worker_messages_total{role=\"correlator\",result=\"done\"} 0",
            "argus_worker_dead_letters_total{role=\"normalizer\"} 1",
            "argus_healing_suggestions_total{source=\"dom_similarity\",decision=\"validate\"} 1",
            "argus_healing_suggestions_total{source=\"none\",decision=\"escalate\"} 1",
            "argus_healing_suggestions_total{source=\"knowledge_base\",decision=\"apply\"} 0",
            "argus_worker_cache_errors_total 1",
            "# TYPE argus_worker_messages_total counter",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
        assert_eq!(metrics.suggestions(None, HealDecision::Escalate), 1);
        assert_eq!(metrics.handled(Role::Healer), 1);
    }
}
