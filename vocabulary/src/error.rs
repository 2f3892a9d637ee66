//! The error type of the vocabulary crate.

/// Everything that can go wrong while building or decoding vocabulary values.
#[derive(Debug, thiserror::Error)]
pub enum VocabularyError {
    /// A project id that is empty, too long or has characters outside `[a-z0-9_-]`.
    #[error(
        "invalid project id {0:?}: use 1-64 characters of a-z, 0-9, '-' or '_', starting with a letter or digit"
    )]
    InvalidProjectId(String),
    /// A content hash or fingerprint that is not lowercase hex of the right length.
    #[error("invalid {kind} {value:?}: expected {len} lowercase hex characters")]
    InvalidHex {
        /// Which kind of value was being parsed.
        kind: &'static str,
        /// The rejected text.
        value: String,
        /// The expected number of hex characters.
        len: usize,
    },
    /// A topic name that is not in the topic table.
    #[error("unknown topic {0:?}")]
    UnknownTopic(String),
    /// A bus payload that is not a valid envelope for its topic.
    #[error("malformed envelope: {0}")]
    MalformedEnvelope(#[from] serde_json::Error),
    /// An envelope written by a newer schema than this build understands.
    #[error("unsupported schema version {found} (this build reads up to {supported})")]
    UnsupportedSchemaVersion {
        /// The version found in the envelope.
        found: u16,
        /// The newest version this build reads.
        supported: u16,
    },
}
