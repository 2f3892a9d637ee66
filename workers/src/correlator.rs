//! The correlator: records what the normalizer produced and asks for a heal per locator failure.
//!
//! Effects are ordered so that a redelivery never double-counts and nothing downstream sees a fact before
//! it is durable: the store first (idempotent by event id), then the graph (idempotent by identity), then
//! the healing request (deterministic id, so a republished request is a duplicate for the healer).
//!
//! The correlator also keeps the dead letters (`argus.dlq`) in the store, per project, so that a message
//! the pipeline gave up on stays visible (`GET /api/v1/dead-letters`) instead of waiting in a topic that
//! nothing reads.
//!
//! And it applies verified GitHub deliveries (`argus.integration.github`): a push's commits and the files
//! they touched go to the graph (so failures seen at those commits put locators at risk), a pull request's
//! head sha, completed workflow runs and jobs, and check conclusions go to the store. Every effect is an
//! idempotent upsert, so a redelivered event changes nothing.

use crate::{Outcome, Role, WorkerContext, WorkerError, decode};
use argus_bus::{Delivery, publish};
use argus_graph::CommitChange;
use argus_store::{CheckConclusion, CiRun, CiRunKind, PullRequestHead};
use argus_vocabulary::github::is_completed;
use argus_vocabulary::{
    DeadLetter, Envelope, ErrorKind, Failure, GithubEvent, GithubEventKind, HealingRequest,
    LocatorObservation, TestResult, Topic,
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
    /// Handles one delivery from `argus.test.executed`, `argus.test.failed`, `argus.locator.observed`,
    /// `argus.dlq` or `argus.integration.github`.
    pub async fn handle(&self, ctx: &WorkerContext, delivery: &Delivery) -> Result<Outcome, WorkerError> {
        match delivery.topic {
            Topic::TestExecuted => self.record_result(ctx, &decode(delivery)?).await,
            Topic::TestFailed => self.record_failure(ctx, &decode(delivery)?).await,
            Topic::LocatorObserved => self.record_observation(ctx, &decode(delivery)?).await,
            Topic::DeadLetter => self.record_dead_letter(ctx, &decode(delivery)?).await,
            Topic::IntegrationGithub => self.record_github(ctx, &decode(delivery)?).await,
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

impl Correlator {
    /// Applies a verified GitHub delivery: push → commits and their files in the graph (a ref deletion
    /// has none); pull request opened/synchronize/reopened → its head sha in the store; completed workflow
    /// run or job → a CI run record; completed check run or suite → its conclusion on the commit. Anything
    /// else (a ping, an unfinished run, a label change) is skipped.
    #[instrument(
        skip_all,
        fields(
            project = %event.project_id,
            event_id = %event.event_id,
            delivery = %event.payload.delivery_id,
            github_event = event.payload.event.event_name()
        )
    )]
    pub async fn record_github(
        &self,
        ctx: &WorkerContext,
        event: &Envelope<GithubEvent>,
    ) -> Result<Outcome, WorkerError> {
        let outcome = self.apply_github(ctx, event).await?;
        // Only once the effects are durable: until then the stored delivery is replayed at start-up.
        ctx.store
            .mark_github_event_processed(&event.project_id, &event.payload.delivery_id, ctx.clock.now())
            .await?;
        Ok(outcome)
    }

    /// The effects of one GitHub event on the graph and the store (each idempotent).
    async fn apply_github(
        &self,
        ctx: &WorkerContext,
        event: &Envelope<GithubEvent>,
    ) -> Result<Outcome, WorkerError> {
        let project = &event.project_id;
        let repository = &event.payload.repository;
        let at = event.occurred_at;
        match &event.payload.event {
            GithubEventKind::Ping(_) => Ok(Outcome::Skipped("a ping has no effect")),
            GithubEventKind::Push(push) => {
                let commits = push.commits_to_record();
                if commits.is_empty() {
                    return Ok(Outcome::Skipped(
                        "the push carries no commit (a ref deletion or an empty push)",
                    ));
                }
                for commit in &commits {
                    let change = CommitChange { sha: commit.sha.clone(), files: commit.changed_files() };
                    ctx.graph.record_commit(project, &change, at).await?;
                }
                debug!(commits = commits.len(), "push recorded in the graph");
                Ok(Outcome::Done)
            }
            GithubEventKind::PullRequest(pull) => {
                if !pull.sets_head() {
                    return Ok(Outcome::Skipped("the pull request action does not move its head"));
                }
                let head = PullRequestHead {
                    repository: repository.clone(),
                    number: pull.number,
                    head_sha: pull.head_sha.clone(),
                    head_ref: pull.head_ref.clone(),
                    base_ref: pull.base_ref.clone(),
                    first_seen: at,
                };
                let new = ctx.store.record_pull_request(project, &head).await?;
                Ok(if new { Outcome::Done } else { Outcome::Duplicate })
            }
            GithubEventKind::WorkflowRun(run) => {
                if !is_completed(&run.status) {
                    return Ok(Outcome::Skipped("the workflow run has not completed"));
                }
                let record = CiRun {
                    kind: CiRunKind::WorkflowRun,
                    id: run.id,
                    run_id: run.id,
                    run_attempt: run.run_attempt,
                    name: run.name.clone(),
                    repository: repository.clone(),
                    head_sha: run.head_sha.clone(),
                    head_branch: run.head_branch.clone(),
                    status: run.status.clone(),
                    conclusion: run.conclusion.clone(),
                    html_url: run.html_url.clone(),
                    updated_at: at,
                };
                self.record_ci_run(ctx, event, &record).await
            }
            GithubEventKind::WorkflowJob(job) => {
                if !is_completed(&job.status) {
                    return Ok(Outcome::Skipped("the workflow job has not completed"));
                }
                let record = CiRun {
                    kind: CiRunKind::WorkflowJob,
                    id: job.id,
                    run_id: job.run_id,
                    run_attempt: job.run_attempt,
                    name: Some(job.name.clone()),
                    repository: repository.clone(),
                    head_sha: job.head_sha.clone(),
                    head_branch: job.head_branch.clone(),
                    status: job.status.clone(),
                    conclusion: job.conclusion.clone(),
                    html_url: job.html_url.clone(),
                    updated_at: at,
                };
                self.record_ci_run(ctx, event, &record).await
            }
            GithubEventKind::CheckRun(check) => {
                let Some(conclusion) = check.conclusion.as_ref().filter(|_| is_completed(&check.status))
                else {
                    return Ok(Outcome::Skipped("the check run has not concluded"));
                };
                let record = CheckConclusion {
                    repository: repository.clone(),
                    head_sha: check.head_sha.clone(),
                    name: check.name.clone(),
                    conclusion: conclusion.clone(),
                    concluded_at: at,
                };
                ctx.store.record_check_conclusion(project, &record).await?;
                Ok(Outcome::Done)
            }
            GithubEventKind::CheckSuite(suite) => {
                // A suite's status is sometimes absent; a conclusion alone means it finished.
                let completed = suite.status.as_deref().is_none_or(is_completed);
                let Some(conclusion) = suite.conclusion.as_ref().filter(|_| completed) else {
                    return Ok(Outcome::Skipped("the check suite has not concluded"));
                };
                let record = CheckConclusion {
                    repository: repository.clone(),
                    head_sha: suite.head_sha.clone(),
                    name: suite.record_name(),
                    conclusion: conclusion.clone(),
                    concluded_at: at,
                };
                ctx.store.record_check_conclusion(project, &record).await?;
                Ok(Outcome::Done)
            }
        }
    }

    async fn record_ci_run(
        &self,
        ctx: &WorkerContext,
        event: &Envelope<GithubEvent>,
        record: &CiRun,
    ) -> Result<Outcome, WorkerError> {
        if ctx.store.record_ci_run(&event.project_id, record).await? {
            debug!(
                kind = record.kind.as_str(),
                id = record.id,
                conclusion = record.conclusion.as_deref().unwrap_or("none"),
                "ci run recorded"
            );
            Ok(Outcome::Done)
        } else {
            Ok(Outcome::Skipped("a newer attempt of the ci run is already recorded"))
        }
    }
}

/// How many stored GitHub deliveries one start-up replays.
const GITHUB_REPLAY_LIMIT: u32 = 10_000;

/// Re-publishes stored GitHub deliveries the correlator never applied (start-up recovery: the edge
/// answered GitHub 2xx once the delivery was stored). Returns how many.
pub async fn replay_unprocessed_github_events(ctx: &WorkerContext) -> Result<u64, WorkerError> {
    let events = ctx.store.unprocessed_github_events(GITHUB_REPLAY_LIMIT).await?;
    for event in &events {
        publish(ctx.bus.as_ref(), event).await?;
    }
    let replayed = events.len() as u64;
    if replayed > 0 {
        tracing::info!(replayed, "republished unprocessed github deliveries");
    }
    if replayed == u64::from(GITHUB_REPLAY_LIMIT) {
        tracing::warn!(
            limit = GITHUB_REPLAY_LIMIT,
            "replay limit reached; older deliveries follow next start-up"
        );
    }
    Ok(replayed)
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

#[cfg(test)]
mod github_tests {
    use super::*;
    use crate::{Clock, WorkerMetrics};
    use argus_bus::in_process::{InProcessBus, InProcessBusConfig};
    use argus_cache::in_process::{InProcessCache, InProcessCacheConfig};
    use argus_graph::in_process::InProcessGraph;
    use argus_store::PageRequest;
    use argus_store::sqlite::SqliteStore;
    use argus_vocabulary::github::NULL_SHA;
    use argus_vocabulary::{
        Fingerprint, GithubCheckRun, GithubCheckSuite, GithubCommit, GithubPing, GithubPullRequest,
        GithubPush, GithubWorkflowJob, GithubWorkflowRun, ProjectId, RunContext, TestIdentity,
    };
    use chrono::{DateTime, TimeZone, Utc};
    use std::sync::Arc;

    struct Harness {
        ctx: WorkerContext,
        project: ProjectId,
        _data_dir: tempfile::TempDir,
    }

    async fn harness() -> Harness {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open_in_dir(data_dir.path()).await.expect("store opens");
        let ctx = WorkerContext {
            store: Arc::new(store),
            bus: InProcessBus::new(InProcessBusConfig::default()),
            cache: Arc::new(InProcessCache::new(&InProcessCacheConfig::default())),
            graph: Arc::new(InProcessGraph::in_memory()),
            clock: Clock::system(),
            metrics: Arc::new(WorkerMetrics::default()),
        };
        Harness { ctx, project: ProjectId::parse("shop").expect("valid"), _data_dir: data_dir }
    }

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 12, minute, 0).single().expect("valid time")
    }

    fn commit(sha: &str, added: &[&str], modified: &[&str]) -> GithubCommit {
        GithubCommit {
            sha: sha.to_owned(),
            message: format!("commit {sha}"),
            added: added.iter().map(|path| (*path).to_owned()).collect(),
            modified: modified.iter().map(|path| (*path).to_owned()).collect(),
            removed: Vec::new(),
        }
    }

    impl Harness {
        fn event(&self, delivery: &str, minute: u32, event: GithubEventKind) -> Envelope<GithubEvent> {
            let payload =
                GithubEvent { delivery_id: delivery.to_owned(), repository: "octo/shop".to_owned(), event };
            Envelope::new(
                GithubEvent::event_id(&self.project, delivery),
                self.project.clone(),
                at(minute),
                payload,
            )
        }

        async fn apply(&self, event: &Envelope<GithubEvent>) -> Outcome {
            CorrelatorConfig::default().build().record_github(&self.ctx, event).await.expect("handled")
        }

        /// Handles the event through `handle`, as a bus delivery.
        async fn deliver(&self, event: &Envelope<GithubEvent>) -> Outcome {
            let delivery = Delivery {
                topic: Topic::IntegrationGithub,
                key: event.partition_key(),
                payload: event.to_bytes(),
                attempt: 1,
                coordinates: "0".to_owned(),
                receipt: 0,
            };
            CorrelatorConfig::default().build().handle(&self.ctx, &delivery).await.expect("handled")
        }
    }

    #[tokio::test]
    async fn a_push_links_its_commits_files_to_locators_broken_at_those_commits() {
        let harness = harness().await;
        let failure = Failure {
            test: TestIdentity { file: "tests/pay.spec.ts".into(), title_path: vec!["pays".into()] },
            error_kind: ErrorKind::LocatorNotFound,
            message: "locator #pay not found".into(),
            stack: None,
            locator: Some("#pay".into()),
            page_url: None,
            run: RunContext { commit_sha: Some("b2".into()), ..RunContext::default() },
            snapshot: None,
            fingerprint: Fingerprint::from_parts(["pay"]),
        };
        harness.ctx.graph.record_failure(&harness.project, &failure, at(1)).await.expect("failure");
        let push = GithubPush {
            git_ref: "refs/heads/main".into(),
            before: "a1".into(),
            after: "b2".into(),
            deleted: false,
            commits: vec![
                commit("a2", &["src/cart.tsx"], &[]),
                commit("b2", &[], &["src/pay.tsx", "README.md"]),
            ],
            head_commit: Some(commit("b2", &[], &["src/pay.tsx", "README.md"])),
        };
        let event = harness.event("d-push", 2, GithubEventKind::Push(push));

        assert_eq!(harness.deliver(&event).await, Outcome::Done);
        assert_eq!(harness.apply(&event).await, Outcome::Done, "a redelivery is harmless");

        let graph = &harness.ctx.graph;
        let stats = graph.stats(&harness.project).await.expect("stats");
        assert_eq!(stats.nodes.get("Commit"), Some(&2), "{stats:?}");
        assert_eq!(stats.edges.get("TOUCHED"), Some(&3), "three files, recorded once: {stats:?}");
        let at_risk = graph.locators_at_risk(&harness.project, &["src/pay.tsx".to_owned()]).await;
        assert_eq!(at_risk.expect("at risk"), ["#pay"]);
        let unrelated = graph.locators_at_risk(&harness.project, &["src/cart.tsx".to_owned()]).await;
        assert!(unrelated.expect("at risk").is_empty());
    }

    #[tokio::test]
    async fn a_tag_deletion_and_a_ping_change_nothing() {
        let harness = harness().await;
        let deletion = GithubPush {
            git_ref: "refs/tags/simple-tag".into(),
            before: "a1".into(),
            after: NULL_SHA.into(),
            deleted: true,
            commits: Vec::new(),
            head_commit: None,
        };
        let outcome = harness.apply(&harness.event("d-del", 1, GithubEventKind::Push(deletion))).await;
        assert!(matches!(outcome, Outcome::Skipped(_)), "{outcome:?}");
        let ping = GithubEventKind::Ping(GithubPing { zen: Some("zen".into()), hook_id: Some(1) });
        assert!(matches!(harness.apply(&harness.event("d-ping", 1, ping)).await, Outcome::Skipped(_)));
        let stats = harness.ctx.graph.stats(&harness.project).await.expect("stats");
        assert!(stats.nodes.is_empty(), "{stats:?}");
    }

    #[tokio::test]
    async fn completed_workflow_runs_and_jobs_become_ci_run_records() {
        let harness = harness().await;
        let run = |status: &str, conclusion: Option<&str>| GithubWorkflowRun {
            action: if status == "completed" { "completed" } else { "requested" }.into(),
            id: 42,
            name: Some("e2e".into()),
            head_sha: "c3".into(),
            head_branch: Some("main".into()),
            status: status.into(),
            conclusion: conclusion.map(str::to_owned),
            run_attempt: 1,
            html_url: Some("https://github.com/octo/shop/actions/runs/42".into()),
        };
        let queued = harness.event("d-1", 1, GithubEventKind::WorkflowRun(run("queued", None)));
        assert!(matches!(harness.apply(&queued).await, Outcome::Skipped(_)));
        let failed = harness.event("d-2", 2, GithubEventKind::WorkflowRun(run("completed", Some("failure"))));
        assert_eq!(harness.deliver(&failed).await, Outcome::Done);
        let job = GithubWorkflowJob {
            action: "completed".into(),
            id: 7,
            run_id: 42,
            run_attempt: 1,
            name: "playwright".into(),
            head_sha: "c3".into(),
            head_branch: Some("main".into()),
            status: "completed".into(),
            conclusion: Some("failure".into()),
            html_url: None,
        };
        assert_eq!(
            harness.apply(&harness.event("d-3", 3, GithubEventKind::WorkflowJob(job))).await,
            Outcome::Done
        );

        let runs = harness.ctx.store.ci_runs(&harness.project, PageRequest::default()).await.expect("runs");
        assert_eq!(runs.total, 2);
        let summary: Vec<_> = runs
            .items
            .iter()
            .map(|run| (run.kind, run.id, run.run_id, run.conclusion.as_deref(), run.head_sha.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (CiRunKind::WorkflowJob, 7, 42, Some("failure"), "c3"),
                (CiRunKind::WorkflowRun, 42, 42, Some("failure"), "c3"),
            ]
        );
        assert_eq!(runs.items[1].repository, "octo/shop");
        assert_eq!(runs.items[1].updated_at, at(2));
    }

    #[tokio::test]
    async fn pull_request_heads_are_recorded_for_head_moving_actions_only() {
        let harness = harness().await;
        let pull = |action: &str, sha: &str| {
            GithubEventKind::PullRequest(GithubPullRequest {
                action: action.into(),
                number: 2,
                head_sha: sha.into(),
                head_ref: "changes".into(),
                base_ref: "main".into(),
            })
        };
        assert_eq!(harness.apply(&harness.event("d-1", 1, pull("opened", "e5"))).await, Outcome::Done);
        assert_eq!(harness.apply(&harness.event("d-1", 1, pull("opened", "e5"))).await, Outcome::Duplicate);
        assert!(matches!(
            harness.apply(&harness.event("d-2", 2, pull("labeled", "f6"))).await,
            Outcome::Skipped(_)
        ));
        assert_eq!(harness.apply(&harness.event("d-3", 3, pull("synchronize", "f7"))).await, Outcome::Done);

        let store = &harness.ctx.store;
        let numbers = |heads: Vec<PullRequestHead>| heads.into_iter().map(|h| h.number).collect::<Vec<_>>();
        assert_eq!(numbers(store.pull_requests_for_sha(&harness.project, "e5").await.expect("e5")), [2]);
        assert_eq!(numbers(store.pull_requests_for_sha(&harness.project, "f7").await.expect("f7")), [2]);
        assert!(store.pull_requests_for_sha(&harness.project, "f6").await.expect("f6").is_empty());
    }

    #[tokio::test]
    async fn concluded_checks_are_recorded_per_commit() {
        let harness = harness().await;
        let check = |status: &str, conclusion: Option<&str>| {
            GithubEventKind::CheckRun(GithubCheckRun {
                action: "completed".into(),
                id: 1,
                name: "lint".into(),
                head_sha: "g8".into(),
                status: status.into(),
                conclusion: conclusion.map(str::to_owned),
            })
        };
        assert!(matches!(
            harness.apply(&harness.event("d-1", 1, check("queued", None))).await,
            Outcome::Skipped(_)
        ));
        assert_eq!(
            harness.apply(&harness.event("d-2", 2, check("completed", Some("failure")))).await,
            Outcome::Done
        );
        let suite = GithubEventKind::CheckSuite(GithubCheckSuite {
            action: "completed".into(),
            id: 9,
            app_name: Some("super-ci".into()),
            head_sha: "g8".into(),
            head_branch: Some("main".into()),
            status: None,
            conclusion: Some("success".into()),
        });
        assert_eq!(harness.apply(&harness.event("d-3", 3, suite)).await, Outcome::Done);

        let checks = harness.ctx.store.check_conclusions(&harness.project, "g8").await.expect("checks");
        let named: Vec<_> = checks.iter().map(|c| (c.name.as_str(), c.conclusion.as_str())).collect();
        assert_eq!(named, [("check_suite:super-ci", "success"), ("lint", "failure")]);
    }
}
