//! The error types of the GitHub crate. They are kept apart because the HTTP edge treats them apart: a
//! [`SignatureError`] is always 401 and never says more than "invalid signature" to the client, while a
//! [`GithubError`] is about a delivery that was authentic but does not fit (or a name that is not valid)
//! and is reported as precisely as possible.

/// Why a delivery's `X-Hub-Signature-256` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The request has no `X-Hub-Signature-256` header.
    #[error("missing x-hub-signature-256 header")]
    Missing,
    /// The header is not `sha256=` followed by 64 hex characters.
    #[error("malformed x-hub-signature-256 header: {0}")]
    Malformed(&'static str),
    /// The header is well formed but is not the HMAC of the body under the secret.
    #[error("x-hub-signature-256 does not match the body")]
    Mismatch,
    /// The secret to check against is empty, so no signature can be trusted.
    #[error("the webhook secret is empty")]
    EmptySecret,
}

/// A delivery that is authentic but cannot become a vocabulary event, or an invalid repository name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GithubError {
    /// The body is not JSON, or a field has the wrong type; `path` is where (`.` for the whole body).
    #[error("{event} payload is invalid at {path}: {reason}")]
    InvalidPayload {
        /// The `X-GitHub-Event` name.
        event: &'static str,
        /// The JSON path of the offending value (`workflow_run.id`).
        path: String,
        /// What serde said.
        reason: String,
    },
    /// A field Argus needs is absent or null.
    #[error("{event} payload has no {field}")]
    MissingField {
        /// The `X-GitHub-Event` name.
        event: &'static str,
        /// The JSON path of the missing field (`pull_request.head.sha`).
        field: &'static str,
    },
    /// A repository name that is not `owner/name` of letters, digits, `-`, `_` and `.`.
    #[error("invalid repository name {0:?}: expected owner/name")]
    InvalidRepositoryName(String),
}
