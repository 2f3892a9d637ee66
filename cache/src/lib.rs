//! The cache port: short-lived, lossy data under the data-layer key schema.
//!
//! - [`CacheKey`]: the only way to name a cache entry; it renders the key and owns its TTL.
//! - [`Cache`]: the port. Every adapter passes [`conformance`] unchanged.
//! - [`in_process`]: the embedded adapter (moka, per-entry expiry).
//! - [`valkey`]: the distributed adapter (Valkey through `redis`'s `ConnectionManager`, fail-fast deadlines).
//! - [`CacheError`]: the one error type of this crate.
//!
//! Callers treat every cache error as a miss: the cache makes Argus faster, never more correct.

pub mod conformance;
mod error;
pub mod in_process;
pub mod valkey;

pub use error::CacheError;

use argus_vocabulary::{Fingerprint, ProjectId};
use async_trait::async_trait;
use std::time::Duration;

/// A cache entry's name. Keys and TTLs follow the data-layer spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CacheKey {
    /// `argus:score:{project}`, 5 minutes: a project's quality score.
    Score(ProjectId),
    /// `argus:report:{id}`, 1 hour: a rendered report.
    Report(String),
    /// `argus:heal:{fingerprint}`, 24 hours: the last heal computed for a failure fingerprint.
    Heal(Fingerprint),
    /// `argus:rate:{project}:{minute}`, 2 minutes: a request counter for one project and minute.
    Rate {
        /// The project.
        project: ProjectId,
        /// Minutes since the Unix epoch.
        minute: i64,
    },
    /// `argus:llm:{prompt_hash}`, 7 days: a language-model answer by prompt hash.
    Llm(String),
}

impl CacheKey {
    /// The rendered key, as stored in the backend.
    pub fn render(&self) -> String {
        match self {
            CacheKey::Score(project) => format!("argus:score:{project}"),
            CacheKey::Report(id) => format!("argus:report:{id}"),
            CacheKey::Heal(fingerprint) => format!("argus:heal:{fingerprint}"),
            CacheKey::Rate { project, minute } => format!("argus:rate:{project}:{minute}"),
            CacheKey::Llm(prompt_hash) => format!("argus:llm:{prompt_hash}"),
        }
    }

    /// How long an entry under this key lives.
    pub const fn ttl(&self) -> Duration {
        match self {
            CacheKey::Score(_) => Duration::from_secs(5 * 60),
            CacheKey::Report(_) => Duration::from_secs(60 * 60),
            CacheKey::Heal(_) => Duration::from_secs(24 * 60 * 60),
            CacheKey::Rate { .. } => Duration::from_secs(2 * 60),
            CacheKey::Llm(_) => Duration::from_secs(7 * 24 * 60 * 60),
        }
    }
}

/// The cache port.
#[async_trait]
pub trait Cache: Send + Sync + 'static {
    /// The value under `key`, if present and not expired.
    async fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError>;

    /// Stores `value` under `key` with the key's TTL, replacing any previous value.
    async fn set(&self, key: &CacheKey, value: Vec<u8>) -> Result<(), CacheError>;

    /// Removes `key` (no error when absent).
    async fn delete(&self, key: &CacheKey) -> Result<(), CacheError>;

    /// Atomically increments the rate counter `argus:rate:{project}:{minute}` and returns the new count.
    /// The first increment sets the key's TTL.
    async fn increment_rate(&self, project: &ProjectId, minute: i64) -> Result<u64, CacheError>;

    /// Whether the backend answers.
    async fn ping(&self) -> Result<(), CacheError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_render_as_the_data_layer_spec() {
        let project = ProjectId::parse("shop").expect("valid");
        let fingerprint = Fingerprint::from_parts(["x"]);
        assert_eq!(CacheKey::Score(project.clone()).render(), "argus:score:shop");
        assert_eq!(CacheKey::Report("r1".into()).render(), "argus:report:r1");
        assert_eq!(CacheKey::Heal(fingerprint.clone()).render(), format!("argus:heal:{fingerprint}"));
        assert_eq!(CacheKey::Rate { project, minute: 42 }.render(), "argus:rate:shop:42");
        assert_eq!(CacheKey::Llm("abc".into()).render(), "argus:llm:abc");
    }

    #[test]
    fn ttls_match_the_data_layer_spec() {
        let project = ProjectId::parse("shop").expect("valid");
        assert_eq!(CacheKey::Score(project.clone()).ttl().as_secs(), 300);
        assert_eq!(CacheKey::Report("r".into()).ttl().as_secs(), 3_600);
        assert_eq!(CacheKey::Heal(Fingerprint::from_parts(["x"])).ttl().as_secs(), 86_400);
        assert_eq!(CacheKey::Rate { project, minute: 0 }.ttl().as_secs(), 120);
        assert_eq!(CacheKey::Llm("p".into()).ttl().as_secs(), 604_800);
    }
}
