//! Healing suggestions, reviewer feedback and the healing-pattern knowledge base: the binds of their
//! writes, the pattern and suggestion rows and their conversion, and what a verdict does to a stored
//! suggestion.

use super::{
    Statement, StoredTime, is_unique_violation,
    values::{decode_count, decode_fingerprint, decode_json, decode_wire_name, encode_json},
};
use crate::{FeedbackOutcome, HealingPattern, StoreError, StoredSuggestion};
use argus_vocabulary::{
    ErrorKind, FeedbackVerdict, Fingerprint, HealingSuggestion, ProjectId, SuggestionId, SuggestionStatus,
};
use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Type};

/// One healing pattern as both databases return it (`Time`: the adapter's timestamp column).
#[derive(sqlx::FromRow)]
pub(crate) struct PatternRow<Time> {
    fingerprint: String,
    original_selector: String,
    healed_selector: String,
    error_type: String,
    success_count: i64,
    failure_count: i64,
    confidence: f64,
    last_used_at: Option<Time>,
    created_at: Time,
}

impl<Time: StoredTime> TryFrom<PatternRow<Time>> for HealingPattern {
    type Error = StoreError;

    fn try_from(row: PatternRow<Time>) -> Result<Self, Self::Error> {
        Ok(HealingPattern {
            fingerprint: decode_fingerprint("healing_patterns.fingerprint", row.fingerprint)?,
            original_selector: row.original_selector,
            healed_selector: row.healed_selector,
            error_type: decode_wire_name::<ErrorKind>("healing_patterns.error_type", &row.error_type)?,
            success_count: decode_count("healing_patterns.success_count", row.success_count)?,
            failure_count: decode_count("healing_patterns.failure_count", row.failure_count)?,
            confidence: row.confidence,
            last_used_at: row
                .last_used_at
                .map(|at| at.into_utc("healing_patterns.last_used_at"))
                .transpose()?,
            created_at: row.created_at.into_utc("healing_patterns.created_at")?,
        })
    }
}

/// One suggestion as both databases return it (`Time`: the adapter's timestamp column).
#[derive(sqlx::FromRow)]
pub(crate) struct SuggestionRow<Time> {
    body: String,
    status: String,
    created_at: Time,
    reviewed_at: Option<Time>,
}

impl<Time: StoredTime> TryFrom<SuggestionRow<Time>> for StoredSuggestion {
    type Error = StoreError;

    fn try_from(row: SuggestionRow<Time>) -> Result<Self, Self::Error> {
        Ok(StoredSuggestion {
            suggestion: decode_json("healing_suggestions.body", &row.body)?,
            status: decode_wire_name("healing_suggestions.status", &row.status)?,
            created_at: row.created_at.into_utc("healing_suggestions.created_at")?,
            reviewed_at: row
                .reviewed_at
                .map(|at| at.into_utc("healing_suggestions.reviewed_at"))
                .transpose()?,
        })
    }
}

/// Binds `id`, `project_id`, `request_event_id`, `failure_event_id`, `fingerprint`, `test_key`,
/// `decision`, `status` (`open`), `confidence`, `source`, `body` (the suggestion as JSON) ($1–$11) of a
/// suggestion insert; the caller binds `created_at` ($12). A non-finite confidence is refused.
pub(crate) fn bind_suggestion<'q, DB: Database>(
    statement: Statement<'q, DB>,
    project: &'q ProjectId,
    suggestion: &'q HealingSuggestion,
) -> Result<Statement<'q, DB>, StoreError>
where
    String: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    f64: Encode<'q, DB> + Type<DB>,
{
    if !suggestion.confidence.is_finite() {
        return Err(StoreError::InvalidInput(format!(
            "suggestion {} has a non-finite confidence",
            suggestion.id
        )));
    }
    Ok(statement
        .bind(suggestion.id.to_string())
        .bind(project.as_str())
        .bind(suggestion.request_event_id.to_string())
        .bind(suggestion.failure_event_id.to_string())
        .bind(suggestion.fingerprint.as_str())
        .bind(suggestion.test.key())
        .bind(suggestion.decision.as_str())
        .bind(SuggestionStatus::Open.as_str())
        .bind(suggestion.confidence)
        .bind(suggestion.source.map(|source| source.as_str()))
        .bind(encode_json("healing suggestion", suggestion)?))
}

/// What a suggestion insert (`ON CONFLICT (id) DO NOTHING`) answered, given the rows it wrote or its error:
/// `false` for an existing id; a unique violation is the request event id (the id is handled by
/// `ON CONFLICT`); any other error goes through the adapter's `database_error`.
pub(crate) fn suggestion_saved(
    suggestion: &HealingSuggestion,
    inserted: Result<u64, sqlx::Error>,
    database_error: impl FnOnce(sqlx::Error) -> StoreError,
) -> Result<bool, StoreError> {
    match inserted {
        Ok(rows) => Ok(rows == 1),
        Err(error) if is_unique_violation(&error) => Err(StoreError::Conflict(format!(
            "healing request {} already has a suggestion with another id",
            suggestion.request_event_id
        ))),
        Err(error) => Err(database_error(error)),
    }
}

/// The status a verdict gives a suggestion.
pub(crate) fn reviewed_status(verdict: FeedbackVerdict) -> SuggestionStatus {
    match verdict {
        FeedbackVerdict::Accepted => SuggestionStatus::Accepted,
        FeedbackVerdict::Rejected => SuggestionStatus::Rejected,
    }
}

/// What a verdict does to a stored suggestion (see [`review`]).
#[derive(Debug, PartialEq)]
pub(crate) enum Review {
    /// The suggestion already has this verdict: nothing to write, answer as the first time would now.
    Repeated,
    /// The suggestion is open: write the verdict; the pattern learns about `suggested_css`.
    Open {
        /// The CSS the suggestion proposed.
        suggested_css: String,
    },
}

/// Decides what giving `stored` the status `reviewed_status` means: an abstention (no suggested locator)
/// is [`StoreError::InvalidState`], the same verdict again is [`Review::Repeated`], the opposite verdict on
/// a reviewed suggestion is [`StoreError::Conflict`].
pub(crate) fn review(
    id: SuggestionId,
    stored: &StoredSuggestion,
    reviewed_status: SuggestionStatus,
) -> Result<Review, StoreError> {
    let Some(suggested) = stored.suggestion.suggested.as_ref() else {
        return Err(StoreError::InvalidState(format!(
            "suggestion {id} is an abstention: there is no suggested locator to review"
        )));
    };
    if stored.status == reviewed_status {
        return Ok(Review::Repeated);
    }
    if stored.status != SuggestionStatus::Open {
        return Err(StoreError::Conflict(format!(
            "suggestion {id} was already {}, it cannot become {}",
            stored.status.as_str(),
            reviewed_status.as_str()
        )));
    }
    Ok(Review::Open { suggested_css: suggested.css.clone() })
}

/// The answer to a repeated verdict: the suggestion as stored and its pattern, which a reviewed suggestion
/// always has.
pub(crate) fn repeated_review(
    id: SuggestionId,
    stored: StoredSuggestion,
    pattern: Option<HealingPattern>,
) -> Result<FeedbackOutcome, StoreError> {
    let pattern = pattern.ok_or_else(|| {
        StoreError::Corrupt(format!("suggestion {id} was reviewed but its healing pattern is missing"))
    })?;
    Ok(FeedbackOutcome { suggestion: stored, pattern })
}

/// The answer to a verdict just written: the suggestion with its new status and `reviewed_at` (as the
/// adapter stored it), and the pattern as it now stands, which the verdict's upsert has just written.
pub(crate) fn reviewed(
    id: SuggestionId,
    stored: StoredSuggestion,
    status: SuggestionStatus,
    reviewed_at: DateTime<Utc>,
    pattern: Option<HealingPattern>,
) -> Result<FeedbackOutcome, StoreError> {
    let pattern = pattern
        .ok_or_else(|| StoreError::Corrupt(format!("healing pattern for suggestion {id} vanished")))?;
    Ok(FeedbackOutcome {
        suggestion: StoredSuggestion { status, reviewed_at: Some(reviewed_at), ..stored },
        pattern,
    })
}

/// Binds `project_id`, `id`, `status` ($1–$3) of a suggestion's review update; the caller binds
/// `reviewed_at` ($4).
pub(crate) fn bind_review<'q, DB: Database>(
    statement: Statement<'q, DB>,
    project: &'q ProjectId,
    id: SuggestionId,
    status: SuggestionStatus,
) -> Statement<'q, DB>
where
    String: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
{
    statement.bind(project.as_str()).bind(id.to_string()).bind(status.as_str())
}

/// Binds `project_id`, `fingerprint`, `original_selector` (the suggestion's broken locator),
/// `healed_selector` (its suggested CSS) ($1–$4) of a verdict's pattern upsert; the caller binds the
/// verdict's time ($5).
pub(crate) fn bind_feedback_pattern<'q, DB: Database>(
    statement: Statement<'q, DB>,
    project: &'q ProjectId,
    fingerprint: &'q Fingerprint,
    stored: &'q StoredSuggestion,
    suggested_css: &'q str,
) -> Statement<'q, DB>
where
    &'q str: Encode<'q, DB> + Type<DB>,
{
    statement
        .bind(project.as_str())
        .bind(fingerprint.as_str())
        .bind(stored.suggestion.broken_locator.as_str())
        .bind(suggested_css)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::{fingerprint, suggestion, time};

    fn stored(css: Option<&str>, status: SuggestionStatus) -> StoredSuggestion {
        StoredSuggestion {
            suggestion: suggestion("buy", &fingerprint("buy"), css),
            status,
            created_at: time(1),
            reviewed_at: None,
        }
    }

    #[test]
    fn verdict_on_an_open_suggestion_is_written_with_its_css() {
        let open = stored(Some("#buy-now"), SuggestionStatus::Open);
        let decided = review(open.suggestion.id, &open, SuggestionStatus::Accepted).expect("open");
        assert_eq!(decided, Review::Open { suggested_css: "#buy-now".to_owned() });
    }

    #[test]
    fn same_verdict_repeats_and_opposite_verdict_conflicts() {
        let accepted = stored(Some("#buy-now"), SuggestionStatus::Accepted);
        let id = accepted.suggestion.id;
        assert_eq!(review(id, &accepted, SuggestionStatus::Accepted).expect("repeat"), Review::Repeated);
        let opposite = review(id, &accepted, SuggestionStatus::Rejected);
        assert!(matches!(opposite, Err(StoreError::Conflict(_))), "{opposite:?}");
    }

    #[test]
    fn verdict_on_an_abstention_is_invalid_state_even_when_repeated() {
        let abstention = stored(None, SuggestionStatus::Open);
        let id = abstention.suggestion.id;
        for status in [SuggestionStatus::Accepted, SuggestionStatus::Open] {
            let refused = review(id, &abstention, status);
            assert!(matches!(refused, Err(StoreError::InvalidState(_))), "{status:?}: {refused:?}");
        }
    }

    #[test]
    fn reviewed_outcome_carries_the_new_status_and_needs_its_pattern() {
        let open = stored(Some("#buy-now"), SuggestionStatus::Open);
        let id = open.suggestion.id;
        let pattern = HealingPattern {
            fingerprint: fingerprint("buy"),
            original_selector: "#buy".to_owned(),
            healed_selector: "#buy-now".to_owned(),
            error_type: ErrorKind::LocatorNotFound,
            success_count: 0,
            failure_count: 1,
            confidence: 0.0,
            last_used_at: None,
            created_at: time(2),
        };
        let outcome = reviewed(id, open.clone(), SuggestionStatus::Rejected, time(2), Some(pattern.clone()))
            .expect("pattern present");
        assert_eq!(
            (outcome.suggestion.status, outcome.suggestion.reviewed_at),
            (SuggestionStatus::Rejected, Some(time(2)))
        );
        assert_eq!((outcome.suggestion.suggestion, outcome.pattern), (open.suggestion.clone(), pattern));

        let missing = reviewed(id, open.clone(), SuggestionStatus::Rejected, time(2), None);
        assert!(matches!(missing, Err(StoreError::Corrupt(_))), "{missing:?}");
        let repeated = repeated_review(id, open, None);
        assert!(matches!(repeated, Err(StoreError::Corrupt(_))), "{repeated:?}");
    }
}
