//! Projects, accepted ingest batches and DOM snapshots: the binds of their writes, what an insert of a
//! project answers, how snapshots are checked and compressed before a batch is stored, and how stored
//! snapshots and envelopes read back.

use super::{Statement, is_unique_violation, values::encode_count};
use crate::{StoreError, snapshot_codec};
use argus_vocabulary::{
    IngestBatch, ProjectId, SnapshotHash,
    envelope::{Envelope, Payload},
};
use sqlx::{Database, Encode, Type};

/// Binds `id`, `display_name`, `api_key_hash` ($1–$3) of a project insert; the caller binds `created_at`
/// ($4).
pub(crate) fn bind_project<'q, DB: Database>(
    statement: Statement<'q, DB>,
    project: &'q ProjectId,
    display_name: &'q str,
    api_key_hash: &'q str,
) -> Statement<'q, DB>
where
    &'q str: Encode<'q, DB> + Type<DB>,
{
    statement.bind(project.as_str()).bind(display_name).bind(api_key_hash)
}

/// What a project insert (`ON CONFLICT (id) DO NOTHING`) answered, given the rows it wrote or its error:
/// no row is an existing project, a unique violation is the api key hash (the id is handled by
/// `ON CONFLICT`); any other error goes through the adapter's `database_error`.
pub(crate) fn project_created(
    project: &ProjectId,
    inserted: Result<u64, sqlx::Error>,
    database_error: impl FnOnce(sqlx::Error) -> StoreError,
) -> Result<(), StoreError> {
    match inserted {
        Ok(1) => Ok(()),
        Ok(_) => Err(StoreError::Conflict(format!("project {project} already exists"))),
        Err(error) if is_unique_violation(&error) => {
            Err(StoreError::Conflict("api key hash already belongs to another project".to_owned()))
        }
        Err(error) => Err(database_error(error)),
    }
}

/// Binds `project_id`, `batch_id`, `envelope` ($1–$3) of a batch insert (`envelope` is the batch as JSON);
/// the caller binds `occurred_at` and `received_at` ($4, $5).
pub(crate) fn bind_batch<'q, DB: Database>(
    statement: Statement<'q, DB>,
    batch: &'q Envelope<IngestBatch>,
    envelope: String,
) -> Statement<'q, DB>
where
    String: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
{
    statement.bind(batch.project_id.as_str()).bind(batch.event_id.to_string()).bind(envelope)
}

/// A snapshot ready for the database.
pub(crate) struct CompressedSnapshot {
    hash: String,
    compressed: Vec<u8>,
    raw_size: i64,
}

/// Binds `project_id`, `hash`, `compressed`, `raw_size` ($1–$4) of a snapshot insert; the caller binds
/// `created_at` ($5).
pub(crate) fn bind_snapshot<'q, DB: Database>(
    statement: Statement<'q, DB>,
    project: &'q ProjectId,
    snapshot: &'q CompressedSnapshot,
) -> Statement<'q, DB>
where
    &'q str: Encode<'q, DB> + Type<DB>,
    &'q [u8]: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    statement
        .bind(project.as_str())
        .bind(snapshot.hash.as_str())
        .bind(snapshot.compressed.as_slice())
        .bind(snapshot.raw_size)
}

/// Checks every snapshot's hash against its html and compresses it, in the given order, off the async
/// executor (hashing and compressing a few MB of html takes tens of milliseconds).
pub(crate) async fn verify_and_compress(
    snapshots: Vec<(SnapshotHash, String)>,
) -> Result<Vec<CompressedSnapshot>, StoreError> {
    if snapshots.is_empty() {
        return Ok(Vec::new());
    }
    let compressing = tokio::task::spawn_blocking(move || {
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

/// A stored snapshot's html: decompressed off the async executor, and checked against the size stored
/// beside it.
pub(crate) async fn decompress_snapshot(
    hash: &SnapshotHash,
    compressed: Vec<u8>,
    raw_size: i64,
) -> Result<String, StoreError> {
    let raw_size = super::values::decode_count("dom_snapshots.raw_size", raw_size)?;
    let html = tokio::task::spawn_blocking(move || snapshot_codec::decompress(&compressed)).await.map_err(
        |error| StoreError::Corrupt(format!("dom snapshot decompression did not finish: {error}")),
    )??;
    if html.len() as u64 != raw_size {
        return Err(StoreError::Corrupt(format!(
            "dom snapshot {hash} decompressed to {} bytes, expected {raw_size}",
            html.len()
        )));
    }
    Ok(html)
}

/// Decodes stored envelopes (JSON selected as text); `column` names the column in the error.
pub(crate) fn decode_envelopes<T: Payload>(
    column: &'static str,
    envelopes: Vec<String>,
) -> Result<Vec<Envelope<T>>, StoreError> {
    envelopes
        .into_iter()
        .map(|envelope| {
            Envelope::from_bytes(envelope.as_bytes())
                .map_err(|error| StoreError::Corrupt(format!("{column} does not decode: {error}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn snapshots_are_verified_in_order_and_read_back_against_their_size() {
        let html = "<p>caf\u{e9}</p>".to_owned();
        let hash = SnapshotHash::of(html.as_bytes());
        let compressed = verify_and_compress(vec![(hash.clone(), html.clone())]).await.expect("compress");
        let [snapshot] = compressed.as_slice() else { panic!("one snapshot: {}", compressed.len()) };
        assert_eq!(snapshot.hash, hash.as_str());
        assert_eq!(snapshot.raw_size, i64::try_from(html.len()).expect("small"));
        let read = decompress_snapshot(&hash, snapshot.compressed.clone(), snapshot.raw_size).await;
        assert_eq!(read.expect("decompress"), html);

        let wrong_size = decompress_snapshot(&hash, snapshot.compressed.clone(), snapshot.raw_size + 1).await;
        assert!(matches!(wrong_size, Err(StoreError::Corrupt(_))), "{wrong_size:?}");
        let mismatched = verify_and_compress(vec![(hash, "<p>other</p>".to_owned())]).await;
        assert!(matches!(mismatched, Err(StoreError::InvalidInput(_))), "mismatched hash stored");
    }

    #[test]
    fn project_insert_without_a_row_is_a_conflict() {
        let project = ProjectId::parse("shop".to_owned()).expect("project id");
        let unreachable =
            |error: sqlx::Error| -> StoreError { panic!("no database error expected: {error}") };
        assert!(project_created(&project, Ok(1), unreachable).is_ok());
        let existing = project_created(&project, Ok(0), unreachable);
        assert!(matches!(existing, Err(StoreError::Conflict(_))), "{existing:?}");
        let failed = project_created(&project, Err(sqlx::Error::PoolTimedOut), StoreError::Database);
        assert!(matches!(failed, Err(StoreError::Database(sqlx::Error::PoolTimedOut))), "{failed:?}");
    }
}
