//! Test results, failure occurrences and the failure groups they fold into.
//!
//! `record_failure` is one `READ COMMITTED` transaction: the failure row (by event id), then the group
//! upsert, then the commit upsert. Concurrent occurrences of one fingerprint serialise on the group row's
//! lock inside `ON CONFLICT DO UPDATE`, which re-reads the newest committed version, so none is lost; every
//! transaction locks rows in the same order, so they cannot deadlock.

use super::{
    begin_write, database_error,
    encoding::{TextList, Timestamp},
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
use sqlx::{PgConnection, PgPool};

const INSERT_TEST_RESULT: &str = "
    INSERT INTO test_results (
        event_id, project_id, test_key, file, title_path, status, retries, duration_ms,
        commit_sha, branch, ci_run_id, occurred_at, recorded_at
    ) VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, $13)
    ON CONFLICT (event_id) DO NOTHING";

const INSERT_FAILURE: &str = "
    INSERT INTO failures (
        event_id, project_id, fingerprint, test_key, error_kind, message, stack, locator, page_url,
        commit_sha, branch, ci_run_id, snapshot_hash, occurred_at
    ) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
    ON CONFLICT (event_id) DO NOTHING";

// In the SET clause `failure_groups.x` is the row before the update and `excluded.x` the proposed one, so
// the order of the assignments does not matter. On equal times the occurrence recorded later provides the
// message.
const UPSERT_FAILURE_GROUP: &str = "
    INSERT INTO failure_groups (
        project_id, fingerprint, test, test_key, error_kind, locator, last_message, occurrences,
        first_seen, last_seen
    ) VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, 1, $8, $8)
    ON CONFLICT (project_id, fingerprint) DO UPDATE SET
        occurrences = failure_groups.occurrences + 1,
        first_seen = LEAST(failure_groups.first_seen, excluded.first_seen),
        last_seen = GREATEST(failure_groups.last_seen, excluded.last_seen),
        last_message = CASE WHEN excluded.last_seen >= failure_groups.last_seen THEN excluded.last_message
                            ELSE failure_groups.last_message END";

const UPSERT_FAILURE_GROUP_COMMIT: &str = "
    INSERT INTO failure_group_commits (project_id, fingerprint, commit_sha, first_seen)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (project_id, fingerprint, commit_sha) DO UPDATE SET
        first_seen = LEAST(failure_group_commits.first_seen, excluded.first_seen)";

/// The columns of a [`GroupRow`]; commits are aggregated oldest first (ties bytewise, as in SQLite).
const GROUP_COLUMNS: &str = r#"
    g.fingerprint, g.test::text AS test, g.error_kind, g.locator, g.last_message, g.occurrences,
    g.first_seen, g.last_seen,
    COALESCE(
        (SELECT array_agg(c.commit_sha ORDER BY c.first_seen, c.commit_sha COLLATE "C")
           FROM failure_group_commits c
          WHERE c.project_id = g.project_id AND c.fingerprint = g.fingerprint),
        ARRAY[]::text[]) AS commits"#;

const GROUP_FILTER: &str = "
    WHERE g.project_id = $1
      AND ($2::text IS NULL OR g.test_key = $2)
      AND ($3::text IS NULL OR g.error_kind = $3)";

pub(super) async fn record_test_result(
    pool: &PgPool,
    result: &Envelope<TestResult>,
    recorded_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let inserted = bind_test_result(sqlx::query(INSERT_TEST_RESULT), result)?
        .bind(result.occurred_at)
        .bind(recorded_at)
        .execute(pool)
        .await
        .map_err(database_error("insert test result"))?;
    Ok(inserted.rows_affected() == 1)
}

pub(super) async fn record_failure(
    pool: &PgPool,
    failure: &Envelope<Failure>,
) -> Result<FailureGroup, StoreError> {
    let occurred_at = failure.occurred_at;
    let test = encode_json("test identity", &failure.payload.test)?;

    let mut transaction = begin_write(pool).await?;
    let inserted = bind_failure(sqlx::query(INSERT_FAILURE), failure)
        .bind(occurred_at)
        .execute(&mut *transaction)
        .await
        .map_err(database_error("insert failure"))?;

    if inserted.rows_affected() == 1 {
        bind_failure_group(sqlx::query(UPSERT_FAILURE_GROUP), failure, &test)
            .bind(occurred_at)
            .execute(&mut *transaction)
            .await
            .map_err(database_error("upsert failure group"))?;
        if let Some(commit_sha) = failure.payload.run.commit_sha.as_deref() {
            bind_failure_group_commit(sqlx::query(UPSERT_FAILURE_GROUP_COMMIT), failure, commit_sha)
                .bind(occurred_at)
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
    connection: &mut PgConnection,
    project: &ProjectId,
    fingerprint: &Fingerprint,
) -> Result<Option<FailureGroup>, StoreError> {
    let sql = format!(
        "SELECT {GROUP_COLUMNS} FROM failure_groups g WHERE g.project_id = $1 AND g.fingerprint = $2"
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
    pool: &PgPool,
    project: &ProjectId,
    query: &FailureQuery,
) -> Result<Page<FailureGroup>, StoreError> {
    let (limit, offset) = page_binds(query.page);
    let error_kind = query.error_kind.map(|kind| kind.as_str());
    let page_sql = format!(
        r#"SELECT {GROUP_COLUMNS} FROM failure_groups g {GROUP_FILTER}
           ORDER BY g.last_seen DESC, g.fingerprint COLLATE "C" LIMIT $4 OFFSET $5"#
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
