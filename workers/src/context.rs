//! What every worker needs: the ports, a clock and the metrics.

use crate::WorkerMetrics;
use argus_bus::Bus;
use argus_cache::Cache;
use argus_graph::KnowledgeGraph;
use argus_store::Store;
use chrono::{DateTime, Utc};
use std::fmt;
use std::sync::Arc;

/// The ports, clock and metrics shared by every worker. Cheap to clone.
#[derive(Clone)]
pub struct WorkerContext {
    /// The durable record and the knowledge base.
    pub store: Arc<dyn Store>,
    /// The message bus.
    pub bus: Arc<dyn Bus>,
    /// The heal cache (lossy: every error is a miss).
    pub cache: Arc<dyn Cache>,
    /// The knowledge graph.
    pub graph: Arc<dyn KnowledgeGraph>,
    /// Where "now" comes from (timestamps of stored suggestions and pattern use).
    pub clock: Clock,
    /// Counters for `/metrics`.
    pub metrics: Arc<WorkerMetrics>,
}

impl fmt::Debug for WorkerContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerContext").field("clock", &self.clock).finish_non_exhaustive()
    }
}

/// Where workers read the current time: the system clock in production, a fixed instant in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock(ClockSource);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClockSource {
    System,
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(ClockSource::System)
    }

    /// A clock that always reads `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self(ClockSource::Fixed(at))
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match self.0 {
            ClockSource::System => Utc::now(),
            ClockSource::Fixed(at) => at,
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn fixed_clock_reads_its_instant() {
        let at = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).single().expect("valid time");
        assert_eq!(Clock::fixed(at).now(), at);
        assert_ne!(Clock::system().now(), at);
    }
}
