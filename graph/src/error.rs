//! The error type of the graph crate.

/// Everything a graph adapter can fail with.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The backend did not answer or answered with an error.
    #[error("graph backend error: {0}")]
    Backend(String),
    /// The journal of the in-process graph could not be read or written.
    #[error("graph journal {path}: {source}")]
    Journal {
        /// The journal file.
        path: String,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// A journal line could not be decoded.
    #[error("graph journal {path} line {line}: {message}")]
    CorruptJournal {
        /// The journal file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// A value could not be encoded for the graph or decoded from it (an element descriptor, a timestamp).
    #[error("graph value {what}: {message}")]
    Codec {
        /// Which value (`element descriptor`, `observed_at`, …).
        what: &'static str,
        /// What was wrong.
        message: String,
    },
}
