//! Dead letters: what the pipeline gave up on, kept per project.

use super::{
    database_error,
    encoding::{Timestamp, encode_time},
    read_page,
};
use crate::{
    Page, PageRequest, StoreError, StoredDeadLetter,
    sql::{
        self,
        dead_letters::{DeadLetterRow, bind_dead_letter},
        values::page_binds,
    },
};
use argus_vocabulary::{DeadLetter, ProjectId, envelope::Envelope};
use chrono::Utc;
use sqlx::SqlitePool;

const INSERT_DEAD_LETTER: &str = "
    INSERT OR IGNORE INTO dead_letters (
        event_id, project_id, original_topic, consumer_group, message_key, payload, error, attempts,
        coordinates, occurred_at, recorded_at
    ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

const SELECT_DEAD_LETTERS: &str = "
    SELECT event_id, original_topic, consumer_group, message_key, payload, error, attempts, coordinates,
           occurred_at
      FROM dead_letters WHERE project_id = ?1
     ORDER BY occurred_at DESC, event_id LIMIT ?2 OFFSET ?3";

pub(super) async fn record_dead_letter(
    pool: &SqlitePool,
    envelope: &Envelope<DeadLetter>,
) -> Result<bool, StoreError> {
    let inserted = bind_dead_letter(sqlx::query(INSERT_DEAD_LETTER), envelope)
        .bind(encode_time(envelope.occurred_at))
        .bind(encode_time(Utc::now()))
        .execute(pool)
        .await
        .map_err(database_error("insert dead letter"))?
        .rows_affected();
    Ok(inserted == 1)
}

pub(super) async fn dead_letters(
    pool: &SqlitePool,
    project: &ProjectId,
    page: PageRequest,
) -> Result<Page<StoredDeadLetter>, StoreError> {
    let (limit, offset) = page_binds(page);
    let (rows, total) = read_page::<DeadLetterRow<Timestamp>>(
        pool,
        sqlx::query_as(SELECT_DEAD_LETTERS).bind(project.as_str()).bind(limit).bind(offset),
        sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters WHERE project_id = ?1").bind(project.as_str()),
        ("select dead letters", "count dead letters"),
    )
    .await?;
    sql::page(rows, total, "dead letter total")
}
