//! Test results, failure occurrences and the failure groups they fold into: the binds of their writes, the
//! failure-group row and its conversion, and what a replayed failure event answers.

use super::{
    Statement, StoredTexts, StoredTime,
    values::{decode_count, decode_fingerprint, decode_json, decode_wire_name, encode_count, encode_json},
};
use crate::{FailureGroup, StoreError};
use argus_vocabulary::{Failure, TestResult, envelope::Envelope};
use sqlx::{Database, Encode, Type};

/// Binds `event_id`, `project_id`, `test_key`, `file`, `title_path` (JSON), `status`, `retries`,
/// `duration_ms`, `commit_sha`, `branch`, `ci_run_id` ($1–$11) of a test-result insert; the caller binds
/// `occurred_at` and `recorded_at` ($12, $13).
pub(crate) fn bind_test_result<'q, DB: Database>(
    statement: Statement<'q, DB>,
    result: &'q Envelope<TestResult>,
) -> Result<Statement<'q, DB>, StoreError>
where
    String: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    let payload = &result.payload;
    Ok(statement
        .bind(result.event_id.to_string())
        .bind(result.project_id.as_str())
        .bind(payload.test.key())
        .bind(payload.test.file.as_str())
        .bind(encode_json("test title path", &payload.test.title_path)?)
        .bind(payload.status.as_str())
        .bind(i64::from(payload.retries))
        .bind(encode_count("duration_ms", payload.duration_ms)?)
        .bind(payload.run.commit_sha.as_deref())
        .bind(payload.run.branch.as_deref())
        .bind(payload.run.ci_run_id.as_deref()))
}

/// Binds `event_id`, `project_id`, `fingerprint`, `test_key`, `error_kind`, `message`, `stack`, `locator`,
/// `page_url`, `commit_sha`, `branch`, `ci_run_id`, `snapshot_hash` ($1–$13) of a failure insert; the
/// caller binds `occurred_at` ($14).
pub(crate) fn bind_failure<'q, DB: Database>(
    statement: Statement<'q, DB>,
    failure: &'q Envelope<Failure>,
) -> Statement<'q, DB>
where
    String: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
{
    let payload = &failure.payload;
    statement
        .bind(failure.event_id.to_string())
        .bind(failure.project_id.as_str())
        .bind(payload.fingerprint.as_str())
        .bind(payload.test.key())
        .bind(payload.error_kind.as_str())
        .bind(payload.message.as_str())
        .bind(payload.stack.as_deref())
        .bind(payload.locator.as_deref())
        .bind(payload.page_url.as_deref())
        .bind(payload.run.commit_sha.as_deref())
        .bind(payload.run.branch.as_deref())
        .bind(payload.run.ci_run_id.as_deref())
        .bind(payload.snapshot.as_ref().map(|hash| hash.as_str()))
}

/// Binds `project_id`, `fingerprint`, `test` (`test_json`, the test identity as JSON), `test_key`,
/// `error_kind`, `locator`, `last_message` ($1–$7) of a failure-group upsert; the caller binds the
/// occurrence's time once, as both `first_seen` and `last_seen` ($8).
pub(crate) fn bind_failure_group<'q, DB: Database>(
    statement: Statement<'q, DB>,
    failure: &'q Envelope<Failure>,
    test_json: &'q str,
) -> Statement<'q, DB>
where
    String: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
{
    let payload = &failure.payload;
    statement
        .bind(failure.project_id.as_str())
        .bind(payload.fingerprint.as_str())
        .bind(test_json)
        .bind(payload.test.key())
        .bind(payload.error_kind.as_str())
        .bind(payload.locator.as_deref())
        .bind(payload.message.as_str())
}

/// Binds `project_id`, `fingerprint`, `commit_sha` ($1–$3) of a failure-group commit upsert; the caller
/// binds `first_seen` ($4).
pub(crate) fn bind_failure_group_commit<'q, DB: Database>(
    statement: Statement<'q, DB>,
    failure: &'q Envelope<Failure>,
    commit_sha: &'q str,
) -> Statement<'q, DB>
where
    &'q str: Encode<'q, DB> + Type<DB>,
{
    statement.bind(failure.project_id.as_str()).bind(failure.payload.fingerprint.as_str()).bind(commit_sha)
}

/// One failure group as both databases return it (`Time`: the adapter's timestamp column; `Texts`: its
/// aggregated list of commits).
#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow<Time, Texts> {
    fingerprint: String,
    test: String,
    error_kind: String,
    locator: Option<String>,
    last_message: String,
    occurrences: i64,
    first_seen: Time,
    last_seen: Time,
    commits: Texts,
}

impl<Time: StoredTime, Texts: StoredTexts> TryFrom<GroupRow<Time, Texts>> for FailureGroup {
    type Error = StoreError;

    fn try_from(row: GroupRow<Time, Texts>) -> Result<Self, Self::Error> {
        Ok(FailureGroup {
            fingerprint: decode_fingerprint("failure_groups.fingerprint", row.fingerprint)?,
            test: decode_json("failure_groups.test", &row.test)?,
            error_kind: decode_wire_name("failure_groups.error_kind", &row.error_kind)?,
            locator: row.locator,
            last_message: row.last_message,
            occurrences: decode_count("failure_groups.occurrences", row.occurrences)?,
            first_seen: row.first_seen.into_utc("failure_groups.first_seen")?,
            last_seen: row.last_seen.into_utc("failure_groups.last_seen")?,
            commits: row.commits.into_texts("failure_group_commits.commit_sha")?,
        })
    }
}

/// The group a recorded failure belongs to, as read back in the recording transaction. A replayed event id
/// whose group is missing was first recorded under another project or fingerprint: the caller reused an
/// id.
pub(crate) fn recorded_group(
    failure: &Envelope<Failure>,
    group: Option<FailureGroup>,
) -> Result<FailureGroup, StoreError> {
    group.ok_or_else(|| {
        StoreError::Conflict(format!(
            "failure event {} was already recorded under another project or fingerprint",
            failure.event_id
        ))
    })
}
