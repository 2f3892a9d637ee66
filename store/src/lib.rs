//! The store port: the durable record of Argus, and the healing-pattern knowledge base.
//!
//! - [`Store`]: the port. Every adapter passes [`conformance`] unchanged.
//! - [`sqlite`]: the embedded adapter (sqlx + SQLite, a file under the data dir); migrations live in the
//!   top-level `migrations/sqlite/`.
//! - [`postgres`]: the distributed adapter (sqlx + a Postgres pool); migrations live in the top-level
//!   `migrations/postgres/`, numbered in step with the SQLite ones.
//! - `sql`: what the two adapters share (binding columns, converting rows, deciding on what was read, and
//!   their `impl Store`), so each keeps only its SQL text, timestamps, transactions and error mapping.
//! - [`model`]: the rows the store hands out (failure groups, stored suggestions, healing patterns, pages,
//!   GitHub webhook configuration, CI runs, check conclusions, pull-request heads).
//! - [`StoreError`]: the one error type of this crate.
//!
//! Every method is scoped by project: no query reads or writes another project's rows. Every write keyed by
//! an event id is idempotent, so redelivered messages do not double-count.

pub mod conformance;
mod error;
pub mod model;
pub mod postgres;
mod snapshot_codec;
mod sql;
pub mod sqlite;

pub use error::StoreError;
pub use model::*;

use argus_vocabulary::{
    DeadLetter, EventId, Failure, FeedbackVerdict, Fingerprint, GithubEvent, HealingSuggestion, IngestBatch,
    ProjectId, SnapshotHash, SuggestionId, TestResult, envelope::Envelope,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

/// The store port.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether the database answers (for `/ready`).
    async fn ping(&self) -> Result<(), StoreError>;

    // ---- projects and authentication ----

    /// Creates a project whose API key hashes to `api_key_hash` (lowercase hex SHA-256 of the key; the key
    /// itself is never stored). [`StoreError::Conflict`] when the project exists.
    async fn create_project(
        &self,
        project: &ProjectId,
        display_name: &str,
        api_key_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The project whose API key hashes to `api_key_hash`.
    async fn project_for_api_key_hash(&self, api_key_hash: &str) -> Result<Option<ProjectId>, StoreError>;

    // ---- intake ----

    /// Stores an accepted batch and its DOM snapshots (`(hash, html)`, hash = [`SnapshotHash::of`] the html)
    /// in one transaction: all or nothing. Snapshots are stored compressed, once per project and hash.
    /// Accepting the same batch id again is a no-op.
    async fn accept_batch(
        &self,
        batch: &Envelope<IngestBatch>,
        snapshots: &[(SnapshotHash, String)],
    ) -> Result<(), StoreError>;

    /// Accepted batches the normalizer has not finished, oldest first (replayed at start-up).
    async fn unnormalized_batches(&self, limit: u32) -> Result<Vec<Envelope<IngestBatch>>, StoreError>;

    /// Marks a batch as normalised (idempotent).
    async fn mark_batch_normalized(&self, project: &ProjectId, batch_id: EventId) -> Result<(), StoreError>;

    /// A DOM snapshot's html, decompressed.
    async fn dom_snapshot(
        &self,
        project: &ProjectId,
        hash: &SnapshotHash,
    ) -> Result<Option<String>, StoreError>;

    // ---- correlation ----

    /// Records a test result; `false` when this event id was already recorded.
    async fn record_test_result(&self, result: &Envelope<TestResult>) -> Result<bool, StoreError>;

    /// Records a failure occurrence and folds it into its group (occurrences, first/last seen, commits
    /// seen). A repeated event id changes nothing. Returns the group as it now stands.
    async fn record_failure(&self, failure: &Envelope<Failure>) -> Result<FailureGroup, StoreError>;

    /// Failure groups, newest `last_seen` first.
    async fn failure_groups(
        &self,
        project: &ProjectId,
        query: &FailureQuery,
    ) -> Result<Page<FailureGroup>, StoreError>;

    // ---- healing ----

    /// The knowledge-base pattern for a failure fingerprint.
    async fn healing_pattern(
        &self,
        project: &ProjectId,
        fingerprint: &Fingerprint,
    ) -> Result<Option<HealingPattern>, StoreError>;

    /// Patterns of the project, highest confidence first.
    async fn healing_patterns(
        &self,
        project: &ProjectId,
        page: PageRequest,
    ) -> Result<Page<HealingPattern>, StoreError>;

    /// Patterns of the project whose confidence is at least `min_confidence`, highest confidence first, at
    /// most `limit` (not clamped to [`PageRequest::MAX_LIMIT`]). Cross-test learning compares the broken
    /// locator with their original selectors.
    async fn confident_patterns(
        &self,
        project: &ProjectId,
        min_confidence: f64,
        limit: u32,
    ) -> Result<Vec<HealingPattern>, StoreError>;

    /// Sets a pattern's `last_used_at` (the healer used it).
    async fn touch_healing_pattern(
        &self,
        project: &ProjectId,
        fingerprint: &Fingerprint,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Stores the healer's answer with status `open`; `false` when a suggestion with this id exists.
    async fn save_suggestion(
        &self,
        project: &ProjectId,
        suggestion: &HealingSuggestion,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// One suggestion.
    async fn suggestion(
        &self,
        project: &ProjectId,
        id: SuggestionId,
    ) -> Result<Option<StoredSuggestion>, StoreError>;

    /// Suggestions, newest first.
    async fn suggestions(
        &self,
        project: &ProjectId,
        query: &SuggestionQuery,
    ) -> Result<Page<StoredSuggestion>, StoreError>;

    /// Applies a reviewer's verdict in one transaction: the suggestion's status becomes the verdict and the
    /// pattern for its fingerprint is created or updated (accepted: `success_count + 1` and
    /// `healed_selector` = the suggested CSS — when that CSS differs from the pattern's, the counts restart at
    /// 1 success and 0 failures, since they described another heal; rejected: `failure_count + 1`). Repeating the same verdict is a
    /// no-op; the opposite verdict on a reviewed suggestion is [`StoreError::Conflict`]; a suggestion without a
    /// suggested locator (an abstention) is [`StoreError::InvalidState`]; an unknown id is
    /// [`StoreError::NotFound`].
    async fn record_feedback(
        &self,
        project: &ProjectId,
        id: SuggestionId,
        verdict: FeedbackVerdict,
        at: DateTime<Utc>,
    ) -> Result<FeedbackOutcome, StoreError>;

    // ---- dead letters ----

    /// Records a dead letter under its envelope's project; `false` when this event id was already recorded.
    async fn record_dead_letter(&self, dead_letter: &Envelope<DeadLetter>) -> Result<bool, StoreError>;

    /// Dead letters of the project, newest first.
    async fn dead_letters(
        &self,
        project: &ProjectId,
        page: PageRequest,
    ) -> Result<Page<StoredDeadLetter>, StoreError>;

    // ---- github ----

    /// Binds `repository` (`owner/name`; matched without regard to case) to `project` with the webhook
    /// `secret`; setting it again replaces the secret (rotation). The secret is stored as given, because
    /// verifying a delivery's HMAC needs the key itself; it lives in the store rather than in configuration
    /// so that `argus project github` can manage it per project without a restart. An unknown project is
    /// [`StoreError::NotFound`], a repository bound to another project [`StoreError::Conflict`], an empty
    /// secret [`StoreError::InvalidInput`].
    async fn set_github_webhook(
        &self,
        project: &ProjectId,
        repository: &str,
        secret: &SecretString,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The webhook configuration of `repository` (matched without regard to case), across projects: the
    /// edge finds the project, and the secret to verify with, from the delivery's repository.
    async fn github_webhook_for_repository(
        &self,
        repository: &str,
    ) -> Result<Option<GithubWebhook>, StoreError>;

    /// Stores an authenticated GitHub delivery (its envelope, keyed by project and `X-GitHub-Delivery`
    /// GUID) before it is published, so nothing GitHub was answered 2xx for can be lost. Returns where the
    /// delivery stood before this call: [`GithubDeliveryState::New`] (stored now),
    /// [`GithubDeliveryState::Pending`] (stored earlier, not applied yet: publish it again) or
    /// [`GithubDeliveryState::Processed`] (applied: a redelivery changes nothing). `event_name` is the
    /// `X-GitHub-Event` header.
    async fn accept_github_event(
        &self,
        event: &Envelope<GithubEvent>,
        event_name: &str,
    ) -> Result<GithubDeliveryState, StoreError>;

    /// Marks a delivery as applied by the correlator (idempotent; an unknown delivery is a no-op).
    async fn mark_github_event_processed(
        &self,
        project: &ProjectId,
        delivery_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Stored deliveries not applied yet, oldest first, across projects (replayed at start-up).
    async fn unprocessed_github_events(&self, limit: u32) -> Result<Vec<Envelope<GithubEvent>>, StoreError>;

    /// Upserts a CI run record, keyed by project, kind and id. A record of an older attempt never replaces
    /// a newer one, and within one attempt a completed record is never replaced by an unfinished one (so
    /// late or repeated deliveries change nothing). `true` when `run` is now the stored record.
    async fn record_ci_run(&self, project: &ProjectId, run: &CiRun) -> Result<bool, StoreError>;

    /// CI run records of the project, most recently updated first.
    async fn ci_runs(&self, project: &ProjectId, page: PageRequest) -> Result<Page<CiRun>, StoreError>;

    /// Upserts the conclusion of a check on a commit, keyed by project, sha and check name; an older
    /// report (by `concluded_at`) never replaces a newer one.
    async fn record_check_conclusion(
        &self,
        project: &ProjectId,
        check: &CheckConclusion,
    ) -> Result<(), StoreError>;

    /// The checks concluded on a commit, by name.
    async fn check_conclusions(
        &self,
        project: &ProjectId,
        head_sha: &str,
    ) -> Result<Vec<CheckConclusion>, StoreError>;

    /// Records that a pull request's head pointed at `pull.head_sha`; `false` when that was known (the
    /// first sighting's time is kept).
    async fn record_pull_request(
        &self,
        project: &ProjectId,
        pull: &PullRequestHead,
    ) -> Result<bool, StoreError>;

    /// The pull requests whose head pointed at `head_sha`, by repository and number.
    async fn pull_requests_for_sha(
        &self,
        project: &ProjectId,
        head_sha: &str,
    ) -> Result<Vec<PullRequestHead>, StoreError>;

    /// Row counts of one project (for `/metrics` and tests).
    async fn counts(&self, project: &ProjectId) -> Result<StoreCounts, StoreError>;
}
