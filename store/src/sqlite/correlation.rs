//! Test results, failure occurrences and the failure groups they fold into.

use super::{
    begin_write, database_error,
    encoding::{TextList, Timestamp, encode_time},
    read_page,
};
use crate::{
    FailureGroup, FailureQuery, Page, StoreError,
    sql::{
        self,
        correlation::{
            GroupRow, bind_failure, bind_failure_group, bind_failure_group_commit, bind_test_result,
            recorded_group,
        },
        values::{encode_json, page_binds},
    },
};
use argus_vocabulary::{Failure, Fingerprint, ProjectId, TestResult, envelope::Envelope};
use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqlitePool};

const INSERT_TEST_RESULT: &str = "
    INSERT INTO test_results (
        event_id, project_id, test_key, file, title_path, status, retries, duration_ms,
        commit_sha, branch, ci_run_id, occurred_at, recorded_at
    ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
    ON CONFLICT (event_id) DO NOTHING";

const INSERT_FAILURE: &str = "
    INSERT INTO failures (
        event_id, project_id, fingerprint, test_key, error_kind, message, stack, locator, page_url,
        commit_sha, branch, ci_run_id, snapshot_hash, occurred_at
    ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
    ON CONFLICT (event_id) DO NOTHING";

// In an upsert's SET clause every unqualified column is the value before the update, so the order of the
// assignments does not matter. On equal times the occurrence recorded later provides the message.
const UPSERT_FAILURE_GROUP: &str = "
    INSERT INTO failure_groups (
        project_id, fingerprint, test, test_key, error_kind, locator, last_message, occurrences,
        first_seen, last_seen
    ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?8)
    ON CONFLICT (project_id, fingerprint) DO UPDATE SET
        occurrences = occurrences + 1,
        first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen),
        last_message = CASE WHEN excluded.last_seen >= last_seen THEN excluded.last_message
                            ELSE last_message END";

const UPSERT_FAILURE_GROUP_COMMIT: &str = "
    INSERT INTO failure_group_commits (project_id, fingerprint, commit_sha, first_seen)
    VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT (project_id, fingerprint, commit_sha) DO UPDATE SET
        first_seen = min(first_seen, excluded.first_seen)";

/// The columns of a [`GroupRow`]; commits are aggregated oldest first into a JSON array.
const GROUP_COLUMNS: &str = "
    g.fingerprint, g.test, g.error_kind, g.locator, g.last_message, g.occurrences, g.first_seen, g.last_seen,
    (SELECT json_group_array(c.commit_sha ORDER BY c.first_seen, c.commit_sha)
       FROM failure_group_commits c
      WHERE c.project_id = g.project_id AND c.fingerprint = g.fingerprint) AS commits";

const GROUP_FILTER: &str = "
    WHERE g.project_id = ?1
      AND (?2 IS NULL OR g.test_key = ?2)
      AND (?3 IS NULL OR g.error_kind = ?3)";

pub(super) async fn record_test_result(
    pool: &SqlitePool,
    result: &Envelope<TestResult>,
    recorded_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let inserted = bind_test_result(sqlx::query(INSERT_TEST_RESULT), result)?
        .bind(encode_time(result.occurred_at))
        .bind(encode_time(recorded_at))
        .execute(pool)
        .await
        .map_err(database_error("insert test result"))?;
    Ok(inserted.rows_affected() == 1)
}

pub(super) async fn record_failure(
    pool: &SqlitePool,
    failure: &Envelope<Failure>,
) -> Result<FailureGroup, StoreError> {
    let occurred_at = encode_time(failure.occurred_at);
    let test = encode_json("test identity", &failure.payload.test)?;

    let mut transaction = begin_write(pool).await?;
    let inserted = bind_failure(sqlx::query(INSERT_FAILURE), failure)
        .bind(&occurred_at)
        .execute(&mut *transaction)
        .await
        .map_err(database_error("insert failure"))?;

    if inserted.rows_affected() == 1 {
        bind_failure_group(sqlx::query(UPSERT_FAILURE_GROUP), failure, &test)
            .bind(&occurred_at)
            .execute(&mut *transaction)
            .await
            .map_err(database_error("upsert failure group"))?;
        if let Some(commit_sha) = failure.payload.run.commit_sha.as_deref() {
            bind_failure_group_commit(sqlx::query(UPSERT_FAILURE_GROUP_COMMIT), failure, commit_sha)
                .bind(&occurred_at)
                .execute(&mut *transaction)
                .await
                .map_err(database_error("upsert failure group commit"))?;
        }
    } else {
        tracing::debug!("failure event already recorded");
    }

    let group = select_group(&mut transaction, &failure.project_id, &failure.payload.fingerprint).await?;
    transaction.commit().await.map_err(database_error("commit failure"))?;
    recorded_group(failure, group)
}

async fn select_group(
    connection: &mut SqliteConnection,
    project: &ProjectId,
    fingerprint: &Fingerprint,
) -> Result<Option<FailureGroup>, StoreError> {
    let sql = format!(
        "SELECT {GROUP_COLUMNS} FROM failure_groups g WHERE g.project_id = ?1 AND g.fingerprint = ?2"
    );
    let row: Option<GroupRow<Timestamp, TextList>> = sqlx::query_as(&sql)
        .bind(project.as_str())
        .bind(fingerprint.as_str())
        .fetch_optional(connection)
        .await
        .map_err(database_error("select failure group"))?;
    row.map(FailureGroup::try_from).transpose()
}

pub(super) async fn failure_groups(
    pool: &SqlitePool,
    project: &ProjectId,
    query: &FailureQuery,
) -> Result<Page<FailureGroup>, StoreError> {
    let (limit, offset) = page_binds(query.page);
    let error_kind = query.error_kind.map(|kind| kind.as_str());
    let page_sql = format!(
        "SELECT {GROUP_COLUMNS} FROM failure_groups g {GROUP_FILTER}
         ORDER BY g.last_seen DESC, g.fingerprint LIMIT ?4 OFFSET ?5"
    );
    let count_sql = format!("SELECT COUNT(*) FROM failure_groups g {GROUP_FILTER}");
    let (rows, total) = read_page::<GroupRow<Timestamp, TextList>>(
        pool,
        sqlx::query_as(&page_sql)
            .bind(project.as_str())
            .bind(query.test.as_deref())
            .bind(error_kind)
            .bind(limit)
            .bind(offset),
        sqlx::query_scalar(&count_sql).bind(project.as_str()).bind(query.test.as_deref()).bind(error_kind),
        ("select failure groups", "count failure groups"),
    )
    .await?;
    sql::page(rows, total, "failure group total")
}
