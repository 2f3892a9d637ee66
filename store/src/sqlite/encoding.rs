//! How SQLite keeps what Postgres types natively: timestamps as RFC 3339 text, and aggregated lists as JSON
//! arrays. The values both databases keep alike are in `crate::sql::values`.

use crate::{
    StoreError,
    sql::{StoredTexts, StoredTime, values::decode_json},
};
use chrono::{DateTime, SecondsFormat, Utc};

/// A timestamp column as SQLite returns it: the text [`encode_time`] wrote.
pub(super) type Timestamp = String;

/// An aggregated list of texts as SQLite returns it: a JSON array (`json_group_array`).
pub(super) type TextList = String;

/// A timestamp as stored: RFC 3339 UTC with nine fractional digits and a `Z`. Fixed width, so text order is
/// time order, and lossless for `DateTime<Utc>`.
pub(super) fn encode_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Reads a stored timestamp.
impl StoredTime for Timestamp {
    fn into_utc(self, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
        DateTime::parse_from_rfc3339(&self).map(|at| at.with_timezone(&Utc)).map_err(|error| {
            StoreError::Corrupt(format!("{column} {self:?} is not an rfc 3339 timestamp: {error}"))
        })
    }
}

/// Reads a JSON array of texts.
impl StoredTexts for TextList {
    fn into_texts(self, column: &'static str) -> Result<Vec<String>, StoreError> {
        decode_json(column, &self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_are_fixed_width_sortable_and_lossless() {
        let early = Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 0).single().expect("valid date");
        let late = early + chrono::Duration::nanoseconds(1_500);
        let (early_text, late_text) = (encode_time(early), encode_time(late));
        assert_eq!(early_text, "2024-05-01T09:00:00.000000000Z");
        assert_eq!(early_text.len(), late_text.len());
        assert!(early_text < late_text);
        assert_eq!(late_text.into_utc("at").expect("decode"), late);
        assert!(matches!("yesterday".to_owned().into_utc("at"), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn text_lists_are_json_arrays() {
        let commits = r#"["c0ffee","beef"]"#.to_owned().into_texts("commits").expect("json array");
        assert_eq!(commits, ["c0ffee", "beef"]);
        assert!(matches!("c0ffee".to_owned().into_texts("commits"), Err(StoreError::Corrupt(_))));
    }
}
