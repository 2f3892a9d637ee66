//! Projects, accepted ingest batches and DOM snapshots.

use super::{begin_write, database_error, encoding::encode_time};
use crate::{
    StoreError,
    sql::{
        intake::{
            bind_batch, bind_project, bind_snapshot, decode_envelopes, decompress_snapshot, project_created,
            verify_and_compress,
        },
        values::{decode_project, encode_json},
    },
};
use argus_vocabulary::{EventId, IngestBatch, ProjectId, SnapshotHash, envelope::Envelope};
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

const INSERT_PROJECT: &str = "
    INSERT INTO projects (id, display_name, api_key_hash, created_at) VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT (id) DO NOTHING";

const SELECT_PROJECT_BY_KEY_HASH: &str = "SELECT id FROM projects WHERE api_key_hash = ?1";

const INSERT_BATCH: &str = "
    INSERT INTO ingest_batches (project_id, batch_id, envelope, occurred_at, received_at, normalized_at)
    VALUES (?1, ?2, ?3, ?4, ?5, NULL)
    ON CONFLICT (project_id, batch_id) DO NOTHING";

const INSERT_SNAPSHOT: &str = "
    INSERT INTO dom_snapshots (project_id, hash, compressed, raw_size, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
    ON CONFLICT (project_id, hash) DO NOTHING";

// Replay at start-up crosses projects on purpose: it is the one query without a project filter.
const SELECT_UNNORMALIZED_BATCHES: &str = "
    SELECT envelope FROM ingest_batches
    WHERE normalized_at IS NULL
    ORDER BY occurred_at, received_at, project_id, batch_id
    LIMIT ?1";

const MARK_BATCH_NORMALIZED: &str = "
    UPDATE ingest_batches SET normalized_at = ?3
    WHERE project_id = ?1 AND batch_id = ?2 AND normalized_at IS NULL";

const SELECT_SNAPSHOT: &str =
    "SELECT compressed, raw_size FROM dom_snapshots WHERE project_id = ?1 AND hash = ?2";

pub(super) async fn create_project(
    pool: &SqlitePool,
    project: &ProjectId,
    display_name: &str,
    api_key_hash: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let inserted = bind_project(sqlx::query(INSERT_PROJECT), project, display_name, api_key_hash)
        .bind(encode_time(at))
        .execute(pool)
        .await;
    project_created(project, inserted.map(|done| done.rows_affected()), database_error("insert project"))
}

pub(super) async fn project_for_api_key_hash(
    pool: &SqlitePool,
    api_key_hash: &str,
) -> Result<Option<ProjectId>, StoreError> {
    let id: Option<String> = sqlx::query_scalar(SELECT_PROJECT_BY_KEY_HASH)
        .bind(api_key_hash)
        .fetch_optional(pool)
        .await
        .map_err(database_error("select project by api key hash"))?;
    id.map(|id| decode_project("projects.id", id)).transpose()
}

pub(super) async fn accept_batch(
    pool: &SqlitePool,
    batch: &Envelope<IngestBatch>,
    snapshots: &[(SnapshotHash, String)],
) -> Result<(), StoreError> {
    // Check and compress everything before the transaction: a bad snapshot stores nothing, and the write
    // lock is not held while hashing and compressing.
    let compressed = verify_and_compress(snapshots.to_vec()).await?;
    let envelope = encode_json("ingest batch envelope", batch)?;
    let now = encode_time(Utc::now());

    let mut transaction = begin_write(pool).await?;
    let inserted = bind_batch(sqlx::query(INSERT_BATCH), batch, envelope)
        .bind(encode_time(batch.occurred_at))
        .bind(&now)
        .execute(&mut *transaction)
        .await
        .map_err(database_error("insert ingest batch"))?;
    if inserted.rows_affected() == 0 {
        tracing::debug!("batch already accepted");
        return Ok(());
    }
    for snapshot in &compressed {
        bind_snapshot(sqlx::query(INSERT_SNAPSHOT), &batch.project_id, snapshot)
            .bind(&now)
            .execute(&mut *transaction)
            .await
            .map_err(database_error("insert dom snapshot"))?;
    }
    transaction.commit().await.map_err(database_error("commit ingest batch"))
}

pub(super) async fn unnormalized_batches(
    pool: &SqlitePool,
    limit: u32,
) -> Result<Vec<Envelope<IngestBatch>>, StoreError> {
    let envelopes: Vec<String> = sqlx::query_scalar(SELECT_UNNORMALIZED_BATCHES)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(database_error("select unnormalized batches"))?;
    decode_envelopes("ingest_batches.envelope", envelopes)
}

pub(super) async fn mark_batch_normalized(
    pool: &SqlitePool,
    project: &ProjectId,
    batch_id: EventId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let updated = sqlx::query(MARK_BATCH_NORMALIZED)
        .bind(project.as_str())
        .bind(batch_id.to_string())
        .bind(encode_time(at))
        .execute(pool)
        .await
        .map_err(database_error("mark batch normalized"))?;
    if updated.rows_affected() == 0 {
        // Already marked, or never accepted in this project: either way there is nothing left to do.
        tracing::debug!("batch already normalized or unknown");
    }
    Ok(())
}

pub(super) async fn dom_snapshot(
    pool: &SqlitePool,
    project: &ProjectId,
    hash: &SnapshotHash,
) -> Result<Option<String>, StoreError> {
    let row: Option<(Vec<u8>, i64)> = sqlx::query_as(SELECT_SNAPSHOT)
        .bind(project.as_str())
        .bind(hash.as_str())
        .fetch_optional(pool)
        .await
        .map_err(database_error("select dom snapshot"))?;
    let Some((compressed, raw_size)) = row else {
        return Ok(None);
    };
    decompress_snapshot(hash, compressed, raw_size).await.map(Some)
}
