//! The error type of the cache crate.

/// Everything a cache adapter can fail with. Callers degrade to the store on any of them.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The backend did not answer or answered with an error.
    #[error("cache backend error: {0}")]
    Backend(String),
}
