//! The correlator: records what the normalizer produced and asks for a heal per locator failure.
//!
//! Effects are ordered so that a redelivery never double-counts and nothing downstream sees a fact before
//! it is durable: the store first (idempotent by event id), then the graph (idempotent by identity), then
//! the healing request (deterministic id, so a republished request is a duplicate for the healer).
//!
//! The correlator also keeps the dead letters (`argus.dlq`) in the store, per project, so that a message
//! the pipeline gave up on stays visible (`GET /api/v1/dead-letters`) instead of waiting in a topic that
//! nothing reads.

use crate::{Outcome, Role, WorkerContext, WorkerError, decode};
use argus_bus::{Delivery, publish};
use argus_vocabulary::{
    DeadLetter, Envelope, ErrorKind, Failure, HealingRequest, LocatorObservation, TestResult, Topic,
};
use serde::Deserialize;
use tracing::{debug, instrument};

/// Configuration of the correlator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrelatorConfig {
    /// Publish a healing request for each locator-not-found failure that names its locator (default
    /// true). Off, failures are still recorded but nothing is healed.
    #[serde(default = "CorrelatorConfig::default_request_heals")]
    pub request_heals: bool,
}

impl CorrelatorConfig {
    /// The default for `request_heals`: on.
    pub const fn default_request_heals() -> bool {
        true
    }

    /// Builds the correlator.
    pub fn build(&self) -> Correlator {
        Correlator { request_heals: self.request_heals }
    }
}

impl Default for CorrelatorConfig {
    fn default() -> Self {
        Self { request_heals: Self::default_request_heals() }
    }
}

/// Records test results, failures and observations; publishes healing requests.
#[derive(Debug, Clone)]
pub struct Correlator {
    request_heals: bool,
}

impl Correlator {
    /// Handles one delivery from `argus.test.executed`, `argus.test.failed`, `argus.locator.observed` or
    /// `argus.dlq`.
    pub async fn handle(&self, ctx: &WorkerContext, delivery: &Delivery) -> Result<Outcome, WorkerError> {
        match delivery.topic {
            Topic::TestExecuted => self.record_result(ctx, &decode(delivery)?).await,
            Topic::TestFailed => self.record_failure(ctx, &decode(delivery)?).await,
            Topic::LocatorObserved => self.record_observation(ctx, &decode(delivery)?).await,
            Topic::DeadLetter => self.record_dead_letter(ctx, &decode(delivery)?).await,
            topic => Err(WorkerError::UnexpectedTopic { role: Role::Correlator.as_str(), topic }),
        }
    }

    /// Records a test result.
    #[instrument(skip_all, fields(project = %result.project_id, event_id = %result.event_id))]
    pub async fn record_result(
        &self,
        ctx: &WorkerContext,
        result: &Envelope<TestResult>,
    ) -> Result<Outcome, WorkerError> {
        if ctx.store.record_test_result(result).await? { Ok(Outcome::Done) } else { Ok(Outcome::Duplicate) }
    }

    /// Records a failure in its group and in the graph, then asks for a heal when its locator broke.
    #[instrument(skip_all, fields(project = %failure.project_id, event_id = %failure.event_id, fingerprint = %failure.payload.fingerprint))]
    pub async fn record_failure(
        &self,
        ctx: &WorkerContext,
        failure: &Envelope<Failure>,
    ) -> Result<Outcome, WorkerError> {
        let group = ctx.store.record_failure(failure).await?;
        ctx.graph.record_failure(&failure.project_id, &failure.payload, failure.occurred_at).await?;
        debug!(occurrences = group.occurrences, "failure recorded");
        match healing_request(failure) {
            Some(request) if self.request_heals => {
                publish(ctx.bus.as_ref(), &request).await?;
                debug!(request_id = %request.event_id, "healing requested");
                Ok(Outcome::Done)
            }
            Some(_) => Ok(Outcome::Skipped("healing requests are disabled")),
            None => Ok(Outcome::Done),
        }
    }

    /// Records a locator observation in the graph (the reference a later heal compares against).
    #[instrument(skip_all, fields(project = %observation.project_id, event_id = %observation.event_id))]
    pub async fn record_observation(
        &self,
        ctx: &WorkerContext,
        observation: &Envelope<LocatorObservation>,
    ) -> Result<Outcome, WorkerError> {
        ctx.graph
            .record_observation(&observation.project_id, &observation.payload, observation.occurred_at)
            .await?;
        Ok(Outcome::Done)
    }
}

impl Correlator {
    /// Keeps a dead letter in the store under its project.
    #[instrument(skip_all, fields(project = %dead_letter.project_id, event_id = %dead_letter.event_id))]
    pub async fn record_dead_letter(
        &self,
        ctx: &WorkerContext,
        dead_letter: &Envelope<DeadLetter>,
    ) -> Result<Outcome, WorkerError> {
        let letter = &dead_letter.payload;
        tracing::warn!(
            original_topic = %letter.original_topic,
            consumer_group = %letter.consumer_group,
            attempts = letter.attempts,
            coordinates = %letter.coordinates,
            error = %letter.error,
            "dead letter recorded"
        );
        if ctx.store.record_dead_letter(dead_letter).await? {
            Ok(Outcome::Done)
        } else {
            Ok(Outcome::Duplicate)
        }
    }
}

/// The healing request for a failure, when it is a locator failure that names its locator. Its id is
/// derived from the failure's, so a redelivered failure yields the same request.
pub fn healing_request(failure: &Envelope<Failure>) -> Option<Envelope<HealingRequest>> {
    if failure.payload.error_kind != ErrorKind::LocatorNotFound {
        return None;
    }
    let broken_locator = failure.payload.locator.clone().filter(|locator| !locator.trim().is_empty())?;
    Some(Envelope::new(
        failure.event_id.derive("healing-request"),
        failure.project_id.clone(),
        failure.occurred_at,
        HealingRequest {
            failure_event_id: failure.event_id,
            test: failure.payload.test.clone(),
            fingerprint: failure.payload.fingerprint.clone(),
            broken_locator,
            page_url: failure.payload.page_url.clone(),
            snapshot: failure.payload.snapshot.clone(),
            run: failure.payload.run.clone(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argus_vocabulary::{EventId, Fingerprint, ProjectId, RunContext, TestIdentity};
    use chrono::Utc;

    fn failure(kind: ErrorKind, locator: Option<&str>) -> Envelope<Failure> {
        Envelope::new(
            EventId::new_random(),
            ProjectId::parse("shop").expect("valid project"),
            Utc::now(),
            Failure {
                test: TestIdentity { file: "a.spec.ts".into(), title_path: vec!["pays".into()] },
                error_kind: kind,
                message: "boom".into(),
                stack: None,
                locator: locator.map(str::to_owned),
                page_url: None,
                run: RunContext::default(),
                snapshot: None,
                fingerprint: Fingerprint::from_parts(["x"]),
            },
        )
    }

    #[test]
    fn only_locator_failures_with_a_locator_request_a_heal() {
        let broken = failure(ErrorKind::LocatorNotFound, Some("#pay"));
        let request = healing_request(&broken).expect("a locator failure asks for a heal");
        assert_eq!(request.event_id, broken.event_id.derive("healing-request"));
        assert_eq!(request.payload.failure_event_id, broken.event_id);
        assert_eq!(request.payload.broken_locator, "#pay");
        assert_eq!(request.occurred_at, broken.occurred_at);

        assert_eq!(healing_request(&failure(ErrorKind::LocatorNotFound, None)), None);
        assert_eq!(healing_request(&failure(ErrorKind::LocatorNotFound, Some("  "))), None);
        assert_eq!(healing_request(&failure(ErrorKind::Assertion, Some("#pay"))), None);
    }
}
