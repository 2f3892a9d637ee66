//! Rows the store hands out. These are store-level views, kept apart from wire DTOs and bus payloads.

use argus_vocabulary::{
    DeadLetter, ErrorKind, EventId, Fingerprint, HealDecision, HealingSuggestion, ProjectId,
    SuggestionStatus, TestIdentity,
};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// Which slice of a listing to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// At most this many items (clamped to `1..=PageRequest::MAX_LIMIT`).
    pub limit: u32,
    /// Skip this many items.
    pub offset: u64,
}

impl PageRequest {
    /// The largest page a caller may ask for.
    pub const MAX_LIMIT: u32 = 200;
    /// The default page size.
    pub const DEFAULT_LIMIT: u32 = 50;

    /// The limit clamped to `1..=MAX_LIMIT`.
    pub fn clamped_limit(&self) -> u32 {
        self.limit.clamp(1, Self::MAX_LIMIT)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { limit: Self::DEFAULT_LIMIT, offset: 0 }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items match in total.
    pub total: u64,
}

/// All occurrences of one failure fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureGroup {
    /// The fingerprint shared by the occurrences.
    pub fingerprint: Fingerprint,
    /// The failing test.
    pub test: TestIdentity,
    /// The error kind.
    pub error_kind: ErrorKind,
    /// The failing locator, when there is one.
    pub locator: Option<String>,
    /// The message of the newest occurrence.
    pub last_message: String,
    /// How many distinct failure events were folded in.
    pub occurrences: u64,
    /// When the first occurrence happened.
    pub first_seen: DateTime<Utc>,
    /// When the newest occurrence happened.
    pub last_seen: DateTime<Utc>,
    /// Distinct commits the failure was seen at, oldest first.
    pub commits: Vec<String>,
}

/// Filters for [`crate::Store::failure_groups`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FailureQuery {
    /// Only this test (its [`TestIdentity::key`]).
    pub test: Option<String>,
    /// Only this error kind.
    pub error_kind: Option<ErrorKind>,
    /// Which page.
    pub page: PageRequest,
}

/// A suggestion as stored, with its review state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSuggestion {
    /// The healer's answer.
    pub suggestion: HealingSuggestion,
    /// Review state.
    pub status: SuggestionStatus,
    /// When the healer stored it.
    pub created_at: DateTime<Utc>,
    /// When a reviewer gave feedback.
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// Filters for [`crate::Store::suggestions`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SuggestionQuery {
    /// Only this review state.
    pub status: Option<SuggestionStatus>,
    /// Only this decision.
    pub decision: Option<HealDecision>,
    /// Only this test (its [`TestIdentity::key`]).
    pub test: Option<String>,
    /// Which page.
    pub page: PageRequest,
}

/// A knowledge-base entry: how a broken locator was healed, and how often that heal was right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealingPattern {
    /// The failure fingerprint it heals (unique per project).
    pub fingerprint: Fingerprint,
    /// The locator that broke.
    pub original_selector: String,
    /// The locator that replaces it.
    pub healed_selector: String,
    /// The error kind of the failure.
    pub error_type: ErrorKind,
    /// Accepted (or validated) uses.
    pub success_count: u64,
    /// Rejected uses.
    pub failure_count: u64,
    /// `success_count / (success_count + failure_count)`, derived by the database, 0 when both are 0.
    pub confidence: f64,
    /// When the healer last used it.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// The result of [`crate::Store::record_feedback`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackOutcome {
    /// The suggestion after the verdict.
    pub suggestion: StoredSuggestion,
    /// The pattern after the verdict.
    pub pattern: HealingPattern,
}

/// Row counts of one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StoreCounts {
    /// Accepted ingest batches.
    pub batches: u64,
    /// Stored DOM snapshots.
    pub dom_snapshots: u64,
    /// Test results.
    pub test_results: u64,
    /// Failure occurrences.
    pub failures: u64,
    /// Failure groups.
    pub failure_groups: u64,
    /// Suggestions.
    pub suggestions: u64,
    /// Healing patterns.
    pub healing_patterns: u64,
    /// Dead letters.
    pub dead_letters: u64,
}

/// A dead letter as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDeadLetter {
    /// The dead letter's event id.
    pub event_id: EventId,
    /// What failed, where it came from and why.
    pub dead_letter: DeadLetter,
    /// When it was dead-lettered.
    pub occurred_at: DateTime<Utc>,
}

/// A repository's GitHub webhook configuration. The secret is a [`SecretString`]: its `Debug` prints
/// `[REDACTED]`, so a logged value never reveals it.
#[derive(Debug)]
pub struct GithubWebhook {
    /// The project the repository's deliveries belong to.
    pub project: ProjectId,
    /// The repository (`owner/name`) as configured.
    pub repository: String,
    /// The webhook secret deliveries are signed with.
    pub secret: SecretString,
}

/// Which GitHub Actions object a [`CiRun`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiRunKind {
    /// A whole workflow run (`workflow_run`).
    WorkflowRun,
    /// One job of a workflow run (`workflow_job`).
    WorkflowJob,
}

impl CiRunKind {
    /// The wire name (`workflow_run`, `workflow_job`).
    pub const fn as_str(self) -> &'static str {
        match self {
            CiRunKind::WorkflowRun => "workflow_run",
            CiRunKind::WorkflowJob => "workflow_job",
        }
    }
}

/// A CI run record: a completed workflow run or job, latest attempt. Keyed by project, kind and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiRun {
    /// Run or job.
    pub kind: CiRunKind,
    /// The run id, or the job id.
    pub id: u64,
    /// The workflow run (equal to `id` for a run).
    pub run_id: u64,
    /// Which attempt this is (re-runs count up from 1).
    pub run_attempt: u32,
    /// The workflow's or job's name.
    pub name: Option<String>,
    /// The repository (`owner/name`).
    pub repository: String,
    /// The commit it ran on.
    pub head_sha: String,
    /// The branch it ran on.
    pub head_branch: Option<String>,
    /// GitHub's status (`completed`, …).
    pub status: String,
    /// GitHub's conclusion (`failure`, `success`, …).
    pub conclusion: Option<String>,
    /// Its page on GitHub.
    pub html_url: Option<String>,
    /// When the delivery that produced this record was received.
    pub updated_at: DateTime<Utc>,
}

/// The conclusion of one check (a check run by name, or a suite as `check_suite:<app>`) on one commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckConclusion {
    /// The repository (`owner/name`).
    pub repository: String,
    /// The commit checked.
    pub head_sha: String,
    /// The check's name.
    pub name: String,
    /// GitHub's conclusion (`success`, `failure`, `neutral`, …).
    pub conclusion: String,
    /// When the delivery that reported it was received.
    pub concluded_at: DateTime<Utc>,
}

/// One commit a pull request's head pointed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestHead {
    /// The repository (`owner/name`).
    pub repository: String,
    /// The pull request number.
    pub number: u64,
    /// The head commit.
    pub head_sha: String,
    /// The head branch.
    pub head_ref: String,
    /// The base branch.
    pub base_ref: String,
    /// When this head was first seen.
    pub first_seen: DateTime<Utc>,
}

/// Where a stored GitHub delivery stands (see [`crate::Store::accept_github_event`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GithubDeliveryState {
    /// Not stored before this call.
    New,
    /// Stored, not applied by the correlator yet.
    Pending,
    /// Applied.
    Processed,
}
