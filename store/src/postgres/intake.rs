//! Projects, accepted ingest batches and DOM snapshots.

use super::{
    begin_write, database_error,
    encoding::{decode_count, encode_count, encode_json},
    is_unique_violation,
};
use crate::{StoreError, snapshot_codec};
use argus_vocabulary::{EventId, IngestBatch, ProjectId, SnapshotHash, envelope::Envelope};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

const INSERT_PROJECT: &str = "
    INSERT INTO projects (id, display_name, api_key_hash, created_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (id) DO NOTHING";

const SELECT_PROJECT_BY_KEY_HASH: &str = "SELECT id FROM projects WHERE api_key_hash = $1";

const INSERT_BATCH: &str = "
    INSERT INTO ingest_batches (project_id, batch_id, envelope, occurred_at, received_at, normalized_at)
    VALUES ($1, $2::uuid, $3::jsonb, $4, $5, NULL)
    ON CONFLICT (project_id, batch_id) DO NOTHING";

const INSERT_SNAPSHOT: &str = "
    INSERT INTO dom_snapshots (project_id, hash, compressed, raw_size, created_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (project_id, hash) DO NOTHING";

// Replay at start-up crosses projects on purpose: it is the one query without a project filter. Text
// tie-breakers sort bytewise (`COLLATE \"C\"`), as SQLite does, whatever the database's collation.
const SELECT_UNNORMALIZED_BATCHES: &str = r#"
    SELECT envelope::text FROM ingest_batches
    WHERE normalized_at IS NULL
    ORDER BY occurred_at, received_at, project_id COLLATE "C", batch_id
    LIMIT $1"#;

const MARK_BATCH_NORMALIZED: &str = "
    UPDATE ingest_batches SET normalized_at = $3
    WHERE project_id = $1 AND batch_id = $2::uuid AND normalized_at IS NULL";

const SELECT_SNAPSHOT: &str =
    "SELECT compressed, raw_size FROM dom_snapshots WHERE project_id = $1 AND hash = $2";

pub(super) async fn create_project(
    pool: &PgPool,
    project: &ProjectId,
    display_name: &str,
    api_key_hash: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let inserted = sqlx::query(INSERT_PROJECT)
        .bind(project.as_str())
        .bind(display_name)
        .bind(api_key_hash)
        .bind(at)
        .execute(pool)
        .await;
    match inserted {
        Ok(done) if done.rows_affected() == 1 => Ok(()),
        Ok(_) => Err(StoreError::Conflict(format!("project {project} already exists"))),
        // The id is handled by ON CONFLICT, so a unique violation here is the api key hash.
        Err(error) if is_unique_violation(&error) => {
            Err(StoreError::Conflict("api key hash already belongs to another project".to_owned()))
        }
        Err(error) => Err(database_error("insert project")(error)),
    }
}

pub(super) async fn project_for_api_key_hash(
    pool: &PgPool,
    api_key_hash: &str,
) -> Result<Option<ProjectId>, StoreError> {
    let id: Option<String> = sqlx::query_scalar(SELECT_PROJECT_BY_KEY_HASH)
        .bind(api_key_hash)
        .fetch_optional(pool)
        .await
        .map_err(database_error("select project by api key hash"))?;
    id.map(|id| {
        ProjectId::parse(id).map_err(|error| StoreError::Corrupt(format!("projects.id is invalid: {error}")))
    })
    .transpose()
}

/// A snapshot ready for the database.
struct CompressedSnapshot {
    hash: String,
    compressed: Vec<u8>,
    raw_size: i64,
}

pub(super) async fn accept_batch(
    pool: &PgPool,
    batch: &Envelope<IngestBatch>,
    snapshots: &[(SnapshotHash, String)],
) -> Result<(), StoreError> {
    // Check and compress everything before the transaction: a bad snapshot stores nothing, and no row lock
    // is held while hashing and compressing.
    let compressed = verify_and_compress(snapshots.to_vec()).await?;
    let envelope = encode_json("ingest batch envelope", batch)?;
    let now = Utc::now();

    let mut transaction = begin_write(pool).await?;
    let inserted = sqlx::query(INSERT_BATCH)
        .bind(batch.project_id.as_str())
        .bind(batch.event_id.to_string())
        .bind(envelope)
        .bind(batch.occurred_at)
        .bind(now)
        .execute(&mut *transaction)
        .await
        .map_err(database_error("insert ingest batch"))?;
    if inserted.rows_affected() == 0 {
        tracing::debug!("batch already accepted");
        return Ok(());
    }
    // Sorted by hash (and without repeats): two batches sharing snapshots take the row locks in the same
    // order, so concurrent intakes wait for each other instead of deadlocking.
    for snapshot in &compressed {
        sqlx::query(INSERT_SNAPSHOT)
            .bind(batch.project_id.as_str())
            .bind(&snapshot.hash)
            .bind(&snapshot.compressed)
            .bind(snapshot.raw_size)
            .bind(now)
            .execute(&mut *transaction)
            .await
            .map_err(database_error("insert dom snapshot"))?;
    }
    transaction.commit().await.map_err(database_error("commit ingest batch"))
}

/// Checks every snapshot's hash against its html and compresses it, off the async executor (hashing and
/// compressing a few MB of html takes tens of milliseconds). The result is sorted by hash, one per hash.
async fn verify_and_compress(
    mut snapshots: Vec<(SnapshotHash, String)>,
) -> Result<Vec<CompressedSnapshot>, StoreError> {
    if snapshots.is_empty() {
        return Ok(Vec::new());
    }
    let compressing = tokio::task::spawn_blocking(move || {
        snapshots.sort_by(|left, right| left.0.cmp(&right.0));
        snapshots.dedup_by(|left, right| left.0 == right.0 && left.1 == right.1);
        snapshots
            .into_iter()
            .map(|(hash, html)| {
                let actual = SnapshotHash::of(html.as_bytes());
                if actual != hash {
                    return Err(StoreError::InvalidInput(format!(
                        "dom snapshot hash {hash} does not match its html (which hashes to {actual})"
                    )));
                }
                Ok(CompressedSnapshot {
                    compressed: snapshot_codec::compress(&html)?,
                    raw_size: encode_count("dom snapshot size", html.len() as u64)?,
                    hash: hash.as_str().to_owned(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
    });
    compressing.await.map_err(|error| {
        StoreError::InvalidInput(format!("dom snapshot compression did not finish: {error}"))
    })?
}

pub(super) async fn unnormalized_batches(
    pool: &PgPool,
    limit: u32,
) -> Result<Vec<Envelope<IngestBatch>>, StoreError> {
    let envelopes: Vec<String> = sqlx::query_scalar(SELECT_UNNORMALIZED_BATCHES)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(database_error("select unnormalized batches"))?;
    envelopes
        .into_iter()
        .map(|envelope| {
            Envelope::from_bytes(envelope.as_bytes()).map_err(|error| {
                StoreError::Corrupt(format!("ingest_batches.envelope does not decode: {error}"))
            })
        })
        .collect()
}

pub(super) async fn mark_batch_normalized(
    pool: &PgPool,
    project: &ProjectId,
    batch_id: EventId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let updated = sqlx::query(MARK_BATCH_NORMALIZED)
        .bind(project.as_str())
        .bind(batch_id.to_string())
        .bind(at)
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
    pool: &PgPool,
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
    let raw_size = decode_count("dom_snapshots.raw_size", raw_size)?;
    let html = tokio::task::spawn_blocking(move || snapshot_codec::decompress(&compressed)).await.map_err(
        |error| StoreError::Corrupt(format!("dom snapshot decompression did not finish: {error}")),
    )??;
    if html.len() as u64 != raw_size {
        return Err(StoreError::Corrupt(format!(
            "dom snapshot {hash} decompressed to {} bytes, expected {raw_size}",
            html.len()
        )));
    }
    Ok(Some(html))
}
