//! The half of the two SQL adapters ([`crate::sqlite`], [`crate::postgres`]) that does not depend on the
//! database. Each adapter keeps only what differs: its SQL text (placeholders, casts, collations, upsert
//! forms), how it binds and reads timestamps, its pool and transactions, how it maps driver errors, and the
//! order of its statements where concurrency asks for another one.
//!
//! - this module: [`StoredTime`] and [`StoredTexts`] (the two column kinds the databases keep differently;
//!   each adapter implements them for its own column type), [`Statement`], [`page`], [`store_counts`],
//!   [`is_unique_violation`] and [`delegate_store!`](crate::sql::delegate_store), which writes the
//!   `impl Store` both adapters share;
//! - `values`: wire names, fingerprints, ids, JSON, counters and paging as column values;
//! - `intake`, `correlation`, `healing`, `dead_letters`, `github`: one module per area of the port, named
//!   like the adapters' modules. Each holds the `bind_*` functions of the writes, the row types of the reads
//!   with their conversion into [`crate::model`] values, and the decisions an operation takes on what it
//!   read.
//!
//! A `bind_*` function binds every placeholder of its statement except the timestamps: they are always the
//! last placeholders, and each adapter binds them in its own representation (SQLite: RFC 3339 text,
//! Postgres: `timestamptz`). The statements themselves stay with the adapters, so each adapter's SQL must
//! number its placeholders in the order the `bind_*` function documents.
//!
//! Nothing here touches a database or logs: the adapters run every statement and emit every log event, so
//! errors go through each adapter's own `database_error` and log events keep their adapter's target.

pub(crate) mod correlation;
pub(crate) mod dead_letters;
pub(crate) mod github;
pub(crate) mod healing;
pub(crate) mod intake;
pub(crate) mod values;

use crate::{Page, StoreCounts, StoreError};
use chrono::{DateTime, Utc};
use sqlx::{Database, query::Query};

/// A statement of database `DB` whose placeholders are being bound (what `sqlx::query` returns).
pub(crate) type Statement<'q, DB> = Query<'q, DB, <DB as Database>::Arguments<'q>>;

/// A timestamp column as an adapter reads it, turned into a `DateTime<Utc>`. SQLite keeps RFC 3339 text
/// (`String`), Postgres a `timestamptz` the driver decodes (`DateTime<Utc>`); each adapter's `encoding`
/// module implements this for its type.
pub(crate) trait StoredTime {
    /// The timestamp, or [`StoreError::Corrupt`] naming `column` when the stored value does not parse.
    fn into_utc(self, column: &'static str) -> Result<DateTime<Utc>, StoreError>;
}

/// A list of texts aggregated by a query, as an adapter reads it: SQLite builds a JSON array (`String`),
/// Postgres a `text[]` (`Vec<String>`).
pub(crate) trait StoredTexts {
    /// The texts, or [`StoreError::Corrupt`] naming `column` when the stored value does not decode.
    fn into_texts(self, column: &'static str) -> Result<Vec<String>, StoreError>;
}

/// A listing's page: its rows as model values, and the total the count query found (`what` names the
/// total in the error when it is negative).
pub(crate) fn page<Row, Item>(
    rows: Vec<Row>,
    total: i64,
    what: &'static str,
) -> Result<Page<Item>, StoreError>
where
    Item: TryFrom<Row, Error = StoreError>,
{
    Ok(Page {
        items: rows.into_iter().map(Item::try_from).collect::<Result<_, _>>()?,
        total: values::decode_count(what, total)?,
    })
}

/// The row of each adapter's `SELECT_COUNTS`: the counts of batches, DOM snapshots, test results, failures,
/// failure groups, suggestions, healing patterns and dead letters, in that order.
pub(crate) type CountsRow = (i64, i64, i64, i64, i64, i64, i64, i64);

/// The counts of one project from its [`CountsRow`].
pub(crate) fn store_counts(row: CountsRow) -> Result<StoreCounts, StoreError> {
    let (
        batches,
        dom_snapshots,
        test_results,
        failures,
        failure_groups,
        suggestions,
        healing_patterns,
        dead_letters,
    ) = row;
    Ok(StoreCounts {
        batches: values::decode_count("batches", batches)?,
        dom_snapshots: values::decode_count("dom_snapshots", dom_snapshots)?,
        test_results: values::decode_count("test_results", test_results)?,
        failures: values::decode_count("failures", failures)?,
        failure_groups: values::decode_count("failure_groups", failure_groups)?,
        suggestions: values::decode_count("healing_suggestions", suggestions)?,
        healing_patterns: values::decode_count("healing_patterns", healing_patterns)?,
        dead_letters: values::decode_count("dead_letters", dead_letters)?,
    })
}

/// Whether an error is a violated `UNIQUE` or primary-key constraint.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.is_unique_violation())
}

/// Writes `impl Store for $adapter`: every method instrumented (debug-level span, structured fields, the
/// webhook secret and other payloads skipped) and delegated to a function of the calling module.
///
/// Both adapters are laid out alike, and this macro relies on it. In the module that invokes it:
/// - `$adapter` has a field `pool` (its connection pool);
/// - `ping(&pool)` and `counts(&pool, project)` are functions of the module itself;
/// - every other port method `m` of area `a` (`intake`, `correlation`, `healing`, `dead_letters`, `github`,
///   as in [`Store`](crate::Store)) is `a::m(&pool, <the method's arguments>)`; `mark_batch_normalized` and
///   `record_test_result` also take the current time as their last argument.
///
/// The spans are created where the macro is invoked, so they keep the adapter's module as their target.
// rustfmt cannot indent attribute arguments inside a macro body; this one is formatted by hand.
#[rustfmt::skip]
macro_rules! delegate_store {
    ($adapter:ty) => {
        // An anonymous const gives the impl a scope of its own for these imports; the calling module's
        // items (`intake`, `ping`, …) stay visible from inside it.
        const _: () = {
            use argus_vocabulary::{
                DeadLetter, EventId, Failure, FeedbackVerdict, Fingerprint, GithubEvent, HealingSuggestion,
                IngestBatch, ProjectId, SnapshotHash, SuggestionId, TestResult, envelope::Envelope,
            };
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use secrecy::SecretString;
            use $crate::{
                CheckConclusion, CiRun, FailureGroup, FailureQuery, FeedbackOutcome, GithubDeliveryState,
                GithubWebhook, HealingPattern, Page, PageRequest, PullRequestHead, Store, StoreCounts,
                StoreError, StoredDeadLetter, StoredSuggestion, SuggestionQuery,
            };

            #[async_trait]
            impl Store for $adapter {
                #[tracing::instrument(level = "debug", skip(self))]
                async fn ping(&self) -> Result<(), StoreError> {
                    ping(&self.pool).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip(self, display_name, api_key_hash),
                    fields(project = %project)
                )]
                async fn create_project(
                    &self,
                    project: &ProjectId,
                    display_name: &str,
                    api_key_hash: &str,
                    at: DateTime<Utc>,
                ) -> Result<(), StoreError> {
                    intake::create_project(&self.pool, project, display_name, api_key_hash, at).await
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn project_for_api_key_hash(
                    &self,
                    api_key_hash: &str,
                ) -> Result<Option<ProjectId>, StoreError> {
                    intake::project_for_api_key_hash(&self.pool, api_key_hash).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip_all,
                    fields(
                        project = %batch.project_id,
                        batch_id = %batch.event_id,
                        n_snapshots = snapshots.len()
                    )
                )]
                async fn accept_batch(
                    &self,
                    batch: &Envelope<IngestBatch>,
                    snapshots: &[(SnapshotHash, String)],
                ) -> Result<(), StoreError> {
                    intake::accept_batch(&self.pool, batch, snapshots).await
                }

                #[tracing::instrument(level = "debug", skip(self))]
                async fn unnormalized_batches(
                    &self,
                    limit: u32,
                ) -> Result<Vec<Envelope<IngestBatch>>, StoreError> {
                    intake::unnormalized_batches(&self.pool, limit).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip(self),
                    fields(project = %project, batch_id = %batch_id)
                )]
                async fn mark_batch_normalized(
                    &self,
                    project: &ProjectId,
                    batch_id: EventId,
                ) -> Result<(), StoreError> {
                    intake::mark_batch_normalized(&self.pool, project, batch_id, Utc::now()).await
                }

                #[tracing::instrument(level = "debug", skip(self), fields(project = %project, hash = %hash))]
                async fn dom_snapshot(
                    &self,
                    project: &ProjectId,
                    hash: &SnapshotHash,
                ) -> Result<Option<String>, StoreError> {
                    intake::dom_snapshot(&self.pool, project, hash).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip_all,
                    fields(project = %result.project_id, event_id = %result.event_id)
                )]
                async fn record_test_result(
                    &self,
                    result: &Envelope<TestResult>,
                ) -> Result<bool, StoreError> {
                    correlation::record_test_result(&self.pool, result, Utc::now()).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip_all,
                    fields(
                        project = %failure.project_id,
                        event_id = %failure.event_id,
                        fingerprint = %failure.payload.fingerprint
                    )
                )]
                async fn record_failure(
                    &self,
                    failure: &Envelope<Failure>,
                ) -> Result<FailureGroup, StoreError> {
                    correlation::record_failure(&self.pool, failure).await
                }

                #[tracing::instrument(level = "debug", skip(self, query), fields(project = %project))]
                async fn failure_groups(
                    &self,
                    project: &ProjectId,
                    query: &FailureQuery,
                ) -> Result<Page<FailureGroup>, StoreError> {
                    correlation::failure_groups(&self.pool, project, query).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip(self),
                    fields(project = %project, fingerprint = %fingerprint)
                )]
                async fn healing_pattern(
                    &self,
                    project: &ProjectId,
                    fingerprint: &Fingerprint,
                ) -> Result<Option<HealingPattern>, StoreError> {
                    healing::healing_pattern(&self.pool, project, fingerprint).await
                }

                #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
                async fn healing_patterns(
                    &self,
                    project: &ProjectId,
                    page: PageRequest,
                ) -> Result<Page<HealingPattern>, StoreError> {
                    healing::healing_patterns(&self.pool, project, page).await
                }

                #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
                async fn confident_patterns(
                    &self,
                    project: &ProjectId,
                    min_confidence: f64,
                    limit: u32,
                ) -> Result<Vec<HealingPattern>, StoreError> {
                    healing::confident_patterns(&self.pool, project, min_confidence, limit).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip(self),
                    fields(project = %project, fingerprint = %fingerprint)
                )]
                async fn touch_healing_pattern(
                    &self,
                    project: &ProjectId,
                    fingerprint: &Fingerprint,
                    at: DateTime<Utc>,
                ) -> Result<(), StoreError> {
                    healing::touch_healing_pattern(&self.pool, project, fingerprint, at).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip(self, suggestion),
                    fields(project = %project, suggestion_id = %suggestion.id)
                )]
                async fn save_suggestion(
                    &self,
                    project: &ProjectId,
                    suggestion: &HealingSuggestion,
                    at: DateTime<Utc>,
                ) -> Result<bool, StoreError> {
                    healing::save_suggestion(&self.pool, project, suggestion, at).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip(self),
                    fields(project = %project, suggestion_id = %id)
                )]
                async fn suggestion(
                    &self,
                    project: &ProjectId,
                    id: SuggestionId,
                ) -> Result<Option<StoredSuggestion>, StoreError> {
                    healing::suggestion(&self.pool, project, id).await
                }

                #[tracing::instrument(level = "debug", skip(self, query), fields(project = %project))]
                async fn suggestions(
                    &self,
                    project: &ProjectId,
                    query: &SuggestionQuery,
                ) -> Result<Page<StoredSuggestion>, StoreError> {
                    healing::suggestions(&self.pool, project, query).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip(self),
                    fields(project = %project, suggestion_id = %id)
                )]
                async fn record_feedback(
                    &self,
                    project: &ProjectId,
                    id: SuggestionId,
                    verdict: FeedbackVerdict,
                    at: DateTime<Utc>,
                ) -> Result<FeedbackOutcome, StoreError> {
                    healing::record_feedback(&self.pool, project, id, verdict, at).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip(self, dead_letter),
                    fields(project = %dead_letter.project_id, event_id = %dead_letter.event_id)
                )]
                async fn record_dead_letter(
                    &self,
                    dead_letter: &Envelope<DeadLetter>,
                ) -> Result<bool, StoreError> {
                    dead_letters::record_dead_letter(&self.pool, dead_letter).await
                }

                #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
                async fn dead_letters(
                    &self,
                    project: &ProjectId,
                    page: PageRequest,
                ) -> Result<Page<StoredDeadLetter>, StoreError> {
                    dead_letters::dead_letters(&self.pool, project, page).await
                }

                // The secret is skipped: it must never reach a span or a log line.
                #[tracing::instrument(level = "debug", skip(self, secret), fields(project = %project))]
                async fn set_github_webhook(
                    &self,
                    project: &ProjectId,
                    repository: &str,
                    secret: &SecretString,
                    at: DateTime<Utc>,
                ) -> Result<(), StoreError> {
                    github::set_github_webhook(&self.pool, project, repository, secret, at).await
                }

                #[tracing::instrument(level = "debug", skip(self))]
                async fn github_webhook_for_repository(
                    &self,
                    repository: &str,
                ) -> Result<Option<GithubWebhook>, StoreError> {
                    github::github_webhook_for_repository(&self.pool, repository).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip(self, event),
                    fields(project = %event.project_id, delivery = %event.payload.delivery_id)
                )]
                async fn accept_github_event(
                    &self,
                    event: &Envelope<GithubEvent>,
                    event_name: &str,
                ) -> Result<GithubDeliveryState, StoreError> {
                    github::accept_github_event(&self.pool, event, event_name).await
                }

                #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
                async fn mark_github_event_processed(
                    &self,
                    project: &ProjectId,
                    delivery_id: &str,
                    at: DateTime<Utc>,
                ) -> Result<(), StoreError> {
                    github::mark_github_event_processed(&self.pool, project, delivery_id, at).await
                }

                #[tracing::instrument(level = "debug", skip(self))]
                async fn unprocessed_github_events(
                    &self,
                    limit: u32,
                ) -> Result<Vec<Envelope<GithubEvent>>, StoreError> {
                    github::unprocessed_github_events(&self.pool, limit).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip(self, run),
                    fields(project = %project, kind = run.kind.as_str(), id = run.id)
                )]
                async fn record_ci_run(&self, project: &ProjectId, run: &CiRun) -> Result<bool, StoreError> {
                    github::record_ci_run(&self.pool, project, run).await
                }

                #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
                async fn ci_runs(
                    &self,
                    project: &ProjectId,
                    page: PageRequest,
                ) -> Result<Page<CiRun>, StoreError> {
                    github::ci_runs(&self.pool, project, page).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip(self, check),
                    fields(project = %project, sha = %check.head_sha)
                )]
                async fn record_check_conclusion(
                    &self,
                    project: &ProjectId,
                    check: &CheckConclusion,
                ) -> Result<(), StoreError> {
                    github::record_check_conclusion(&self.pool, project, check).await
                }

                #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
                async fn check_conclusions(
                    &self,
                    project: &ProjectId,
                    head_sha: &str,
                ) -> Result<Vec<CheckConclusion>, StoreError> {
                    github::check_conclusions(&self.pool, project, head_sha).await
                }

                #[tracing::instrument(
                    level = "debug",
                    skip(self, pull),
                    fields(project = %project, number = pull.number)
                )]
                async fn record_pull_request(
                    &self,
                    project: &ProjectId,
                    pull: &PullRequestHead,
                ) -> Result<bool, StoreError> {
                    github::record_pull_request(&self.pool, project, pull).await
                }

                #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
                async fn pull_requests_for_sha(
                    &self,
                    project: &ProjectId,
                    head_sha: &str,
                ) -> Result<Vec<PullRequestHead>, StoreError> {
                    github::pull_requests_for_sha(&self.pool, project, head_sha).await
                }

                #[tracing::instrument(level = "debug", skip(self), fields(project = %project))]
                async fn counts(&self, project: &ProjectId) -> Result<StoreCounts, StoreError> {
                    counts(&self.pool, project).await
                }
            }
        };
    };
}

pub(crate) use delegate_store;
