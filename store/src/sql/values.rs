//! Column values both databases keep alike: enums by wire name, fingerprints, project ids, uuids, JSON,
//! counters and paging. Every decoding failure is [`StoreError::Corrupt`]; every encoding failure of a
//! caller's value is [`StoreError::InvalidInput`]. Timestamps differ, and stay with each adapter's
//! `encoding` module.

use crate::{PageRequest, StoreError};
use argus_vocabulary::{Fingerprint, ProjectId};
use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

/// Reads an enum stored by its wire name (the name serde gives it), e.g. `locator-not-found`.
pub(crate) fn decode_wire_name<T: DeserializeOwned>(
    column: &'static str,
    raw: &str,
) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|error| StoreError::Corrupt(format!("{column} {raw:?} is not a known value: {error}")))
}

/// Reads a stored failure fingerprint.
pub(crate) fn decode_fingerprint(column: &'static str, raw: String) -> Result<Fingerprint, StoreError> {
    Fingerprint::parse(raw).map_err(|error| StoreError::Corrupt(format!("{column} is invalid: {error}")))
}

/// Reads a stored project id.
pub(crate) fn decode_project(column: &'static str, raw: String) -> Result<ProjectId, StoreError> {
    ProjectId::parse(raw).map_err(|error| StoreError::Corrupt(format!("{column} is invalid: {error}")))
}

/// Reads a stored uuid (SQLite keeps it as text; Postgres selects its `uuid` as text).
pub(crate) fn decode_uuid(column: &'static str, raw: &str) -> Result<Uuid, StoreError> {
    raw.parse().map_err(|error| StoreError::Corrupt(format!("{column} {raw:?} is not a uuid: {error}")))
}

/// Serialises a value for a JSON column (SQLite `TEXT`; Postgres binds it as text and casts to `jsonb`).
pub(crate) fn encode_json<T: Serialize>(what: &'static str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|error| StoreError::InvalidInput(format!("cannot serialise {what}: {error}")))
}

/// Reads a JSON column (selected as text).
pub(crate) fn decode_json<T: DeserializeOwned>(column: &'static str, raw: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw)
        .map_err(|error| StoreError::Corrupt(format!("{column} is not valid json for its type: {error}")))
}

/// A caller's unsigned number as a signed 64-bit column (SQLite `INTEGER`, Postgres `bigint`).
pub(crate) fn encode_count(what: &'static str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value)
        .map_err(|_| StoreError::InvalidInput(format!("{what} {value} is too large for the database")))
}

/// A stored counter as an unsigned number.
pub(crate) fn decode_count(column: &'static str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} {value} is negative")))
}

/// `LIMIT` and `OFFSET` binds for a page request: the limit clamped, the offset saturated (an offset past
/// `i64::MAX` simply yields an empty page).
pub(crate) fn page_binds(page: PageRequest) -> (i64, i64) {
    (i64::from(page.clamped_limit()), i64::try_from(page.offset).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argus_vocabulary::{ErrorKind, SuggestionStatus};

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
    fn uuids_decode_from_text() {
        let id = Uuid::new_v4();
        assert_eq!(decode_uuid("id", &id.to_string()).expect("uuid"), id);
        assert!(matches!(decode_uuid("id", "not-a-uuid"), Err(StoreError::Corrupt(_))));
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
