//! How Postgres keeps what SQLite cannot type: timestamps as `timestamptz` (microseconds) and aggregated
//! lists as `text[]`. The values both databases keep alike are in `crate::sql::values`.
//!
//! JSON columns are bound as text and cast in SQL (`$n::jsonb`), and read back as text (`column::text`),
//! so a damaged value surfaces as `Corrupt` rather than as a driver error. Ids are bound as text and cast
//! to `uuid` the same way (the workspace's sqlx carries no `uuid` feature).

use crate::{
    StoreError,
    sql::{StoredTexts, StoredTime},
};
use chrono::{DateTime, SubsecRound, Utc};

/// A timestamp column as Postgres returns it: a `timestamptz` the driver decodes.
pub(super) type Timestamp = DateTime<Utc>;

/// An aggregated list of texts as Postgres returns it: a `text[]` (`array_agg`).
pub(super) type TextList = Vec<String>;

/// A timestamp as Postgres keeps it: `timestamptz` has microsecond precision, so values the adapter
/// echoes back without reading them are cut the same way the driver cuts what it writes.
pub(super) fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// The driver has decoded the timestamp already.
impl StoredTime for Timestamp {
    fn into_utc(self, _column: &'static str) -> Result<DateTime<Utc>, StoreError> {
        Ok(self)
    }
}

/// The driver has decoded the array already.
impl StoredTexts for TextList {
    fn into_texts(self, _column: &'static str) -> Result<Vec<String>, StoreError> {
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stored_time_keeps_microseconds_and_drops_the_rest() {
        let at = Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 0).single().expect("valid date")
            + chrono::Duration::nanoseconds(1_234_567);
        assert_eq!(stored_time(at).timestamp_subsec_nanos(), 1_234_000);
        assert_eq!(stored_time(stored_time(at)), stored_time(at));
    }
}
