//! How Rust values become SQLite column values and back: timestamps, enums by wire name, JSON columns,
//! counters and paging. Every decoding failure is [`StoreError::Corrupt`]; every encoding failure of a
//! caller's value is [`StoreError::InvalidInput`].

use crate::{PageRequest, StoreError};
use argus_vocabulary::Fingerprint;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, de::DeserializeOwned};

/// A timestamp as stored: RFC 3339 UTC with nine fractional digits and a `Z`. Fixed width, so text order is
/// time order, and lossless for `DateTime<Utc>`.
pub(super) fn encode_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Reads a stored timestamp.
pub(super) fn decode_time(column: &'static str, raw: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(raw).map(|at| at.with_timezone(&Utc)).map_err(|error| {
        StoreError::Corrupt(format!("{column} {raw:?} is not an rfc 3339 timestamp: {error}"))
    })
}

/// Reads an optional stored timestamp.
pub(super) fn decode_optional_time(
    column: &'static str,
    raw: Option<&str>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    raw.map(|raw| decode_time(column, raw)).transpose()
}

/// Reads an enum stored by its wire name (the name serde gives it), e.g. `locator-not-found`.
pub(super) fn decode_wire_name<T: DeserializeOwned>(
    column: &'static str,
    raw: &str,
) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|error| StoreError::Corrupt(format!("{column} {raw:?} is not a known value: {error}")))
}

/// Reads a stored failure fingerprint.
pub(super) fn decode_fingerprint(column: &'static str, raw: String) -> Result<Fingerprint, StoreError> {
    Fingerprint::parse(raw).map_err(|error| StoreError::Corrupt(format!("{column} is invalid: {error}")))
}

/// Serialises a value for a JSON column.
pub(super) fn encode_json<T: Serialize>(what: &'static str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|error| StoreError::InvalidInput(format!("cannot serialise {what}: {error}")))
}

/// Reads a JSON column.
pub(super) fn decode_json<T: DeserializeOwned>(column: &'static str, raw: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw)
        .map_err(|error| StoreError::Corrupt(format!("{column} is not valid json for its type: {error}")))
}

/// A caller's unsigned number as an SQLite integer.
pub(super) fn encode_count(what: &'static str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value)
        .map_err(|_| StoreError::InvalidInput(format!("{what} {value} is too large for the database")))
}

/// A stored counter as an unsigned number.
pub(super) fn decode_count(column: &'static str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} {value} is negative")))
}

/// `LIMIT` and `OFFSET` binds for a page request: the limit clamped, the offset saturated (an offset past
/// `i64::MAX` simply yields an empty page).
pub(super) fn page_binds(page: PageRequest) -> (i64, i64) {
    (i64::from(page.clamped_limit()), i64::try_from(page.offset).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argus_vocabulary::{ErrorKind, SuggestionStatus};
    use chrono::TimeZone;

    #[test]
    fn timestamps_are_fixed_width_sortable_and_lossless() {
        let early = Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 0).single().expect("valid date");
        let late = early + chrono::Duration::nanoseconds(1_500);
        let (early_text, late_text) = (encode_time(early), encode_time(late));
        assert_eq!(early_text, "2024-05-01T09:00:00.000000000Z");
        assert_eq!(early_text.len(), late_text.len());
        assert!(early_text < late_text);
        assert_eq!(decode_time("at", &late_text).expect("decode"), late);
        assert!(matches!(decode_time("at", "yesterday"), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn enums_decode_from_wire_names() {
        let kind: ErrorKind =
            decode_wire_name("error_kind", ErrorKind::LocatorNotFound.as_str()).expect("kind");
        assert_eq!(kind, ErrorKind::LocatorNotFound);
        let status: SuggestionStatus = decode_wire_name("status", "rejected").expect("status");
        assert_eq!(status, SuggestionStatus::Rejected);
        assert!(matches!(decode_wire_name::<ErrorKind>("error_kind", "boom"), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn page_binds_clamp_and_saturate() {
        assert_eq!(page_binds(PageRequest { limit: 0, offset: 3 }), (1, 3));
        assert_eq!(page_binds(PageRequest { limit: 10_000, offset: u64::MAX }), (200, i64::MAX));
    }

    #[test]
    fn counters_outside_i64_are_rejected() {
        assert!(matches!(encode_count("duration_ms", u64::MAX), Err(StoreError::InvalidInput(_))));
        assert!(matches!(decode_count("occurrences", -1), Err(StoreError::Corrupt(_))));
        assert_eq!(decode_count("occurrences", 7).expect("count"), 7);
    }
}
