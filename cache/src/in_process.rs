//! The embedded cache adapter: a moka cache whose entries each expire after their [`CacheKey`]'s TTL.
//!
//! - [`InProcessCacheConfig`]: the entry bound.
//! - [`InProcessCache`]: the [`Cache`].
//!
//! Every entry stores its TTL next to its bytes, and `KeyTtlExpiry` (moka's per-entry `Expiry`) reads it
//! back, so one cache holds five-minute scores and seven-day language-model answers side by side. Rate
//! counters are stored as decimal text, as Valkey's `INCR` stores them; an increment keeps the expiry the
//! first increment set, a `set` starts a fresh one (Valkey's `SET` without `KEEPTTL`).

use crate::{Cache, CacheError, CacheKey};
use argus_vocabulary::ProjectId;
use async_trait::async_trait;
use moka::Expiry;
use moka::ops::compute::{CompResult, Op};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settings of the in-process cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InProcessCacheConfig {
    /// How many entries the cache holds at most; past it, the least useful entries are evicted early.
    #[serde(default = "InProcessCacheConfig::default_max_entries")]
    pub max_entries: u64,
}

impl InProcessCacheConfig {
    /// Default [`Self::max_entries`].
    pub const fn default_max_entries() -> u64 {
        100_000
    }
}

impl Default for InProcessCacheConfig {
    fn default() -> Self {
        Self { max_entries: Self::default_max_entries() }
    }
}

/// What a later write does to an entry's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnUpdate {
    /// Start the TTL again (a `set`).
    RestartTtl,
    /// Keep the expiry the entry already has (an increment).
    KeepExpiry,
}

/// The value stored under a rendered key.
#[derive(Debug, PartialEq, Eq)]
struct StoredValue {
    /// The key's TTL, read back by [`KeyTtlExpiry`].
    ttl: Duration,
    /// What a write that replaces this value does to the expiry.
    on_update: OnUpdate,
    /// The cached bytes.
    bytes: Vec<u8>,
}

impl StoredValue {
    fn set(key: &CacheKey, bytes: Vec<u8>) -> Arc<Self> {
        Arc::new(Self { ttl: key.ttl(), on_update: OnUpdate::RestartTtl, bytes })
    }

    fn counter(key: &CacheKey, count: u64) -> Arc<Self> {
        Arc::new(Self {
            ttl: key.ttl(),
            on_update: OnUpdate::KeepExpiry,
            bytes: count.to_string().into_bytes(),
        })
    }

    /// The value as a rate counter, if it is decimal text.
    fn count(&self) -> Option<u64> {
        std::str::from_utf8(&self.bytes).ok()?.parse().ok()
    }
}

/// moka's per-entry expiry: each entry lives for the TTL stored with it, divided by `ttl_divisor` (1 except
/// in tests that must watch an entry expire).
#[derive(Debug, Clone, Copy)]
struct KeyTtlExpiry {
    ttl_divisor: u32,
}

impl KeyTtlExpiry {
    fn lifetime(&self, value: &StoredValue) -> Duration {
        value.ttl / self.ttl_divisor.max(1)
    }
}

impl Expiry<String, Arc<StoredValue>> for KeyTtlExpiry {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Arc<StoredValue>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(self.lifetime(value))
    }

    fn expire_after_update(
        &self,
        _key: &String,
        value: &Arc<StoredValue>,
        _updated_at: Instant,
        duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        match value.on_update {
            OnUpdate::RestartTtl => Some(self.lifetime(value)),
            OnUpdate::KeepExpiry => duration_until_expiry.or_else(|| Some(self.lifetime(value))),
        }
    }
}

/// The embedded cache: moka, bounded by [`InProcessCacheConfig::max_entries`], per-entry TTLs.
#[derive(Debug, Clone)]
pub struct InProcessCache {
    entries: moka::future::Cache<String, Arc<StoredValue>>,
}

impl InProcessCache {
    /// An empty cache.
    pub fn new(config: &InProcessCacheConfig) -> Self {
        Self::with_ttl_divisor(config, 1)
    }

    /// An empty cache whose entries live `ttl_divisor` times shorter than their keys say, so tests can
    /// watch them expire.
    pub(crate) fn with_ttl_divisor(config: &InProcessCacheConfig, ttl_divisor: u32) -> Self {
        let entries = moka::future::Cache::builder()
            .max_capacity(config.max_entries)
            .expire_after(KeyTtlExpiry { ttl_divisor })
            .build();
        Self { entries }
    }
}

#[async_trait]
impl Cache for InProcessCache {
    async fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError> {
        Ok(self.entries.get(&key.render()).await.map(|value| value.bytes.clone()))
    }

    async fn set(&self, key: &CacheKey, value: Vec<u8>) -> Result<(), CacheError> {
        self.entries.insert(key.render(), StoredValue::set(key, value)).await;
        Ok(())
    }

    async fn delete(&self, key: &CacheKey) -> Result<(), CacheError> {
        self.entries.invalidate(&key.render()).await;
        Ok(())
    }

    async fn increment_rate(&self, project: &ProjectId, minute: i64) -> Result<u64, CacheError> {
        let key = CacheKey::Rate { project: project.clone(), minute };
        let rendered = key.render();
        // moka runs compute operations on one key one at a time, which makes the read-increment-write atomic.
        let computed = self
            .entries
            .entry(rendered.clone())
            .and_try_compute_with(|current| {
                let next = match current {
                    None => Ok(Op::Put(StoredValue::counter(&key, 1))),
                    Some(entry) => match entry.value().count() {
                        Some(count) => Ok(Op::Put(StoredValue::counter(&key, count.saturating_add(1)))),
                        None => Err(CacheError::Backend(format!("value at {rendered} is not a counter"))),
                    },
                };
                std::future::ready(next)
            })
            .await?;
        match computed {
            CompResult::Inserted(entry) | CompResult::ReplacedWith(entry) => entry
                .value()
                .count()
                .ok_or_else(|| CacheError::Backend(format!("value at {} is not a counter", key.render()))),
            CompResult::StillNone(_) | CompResult::Unchanged(_) | CompResult::Removed(_) => {
                Err(CacheError::Backend(format!("increment of {} was not stored", key.render())))
            }
        }
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argus_vocabulary::Fingerprint;

    fn project(name: &str) -> ProjectId {
        ProjectId::parse(name).expect("valid project id")
    }

    fn every_key_kind() -> [CacheKey; 5] {
        [
            CacheKey::Score(project("shop")),
            CacheKey::Report("r1".into()),
            CacheKey::Heal(Fingerprint::from_parts(["x"])),
            CacheKey::Rate { project: project("shop"), minute: 7 },
            CacheKey::Llm("prompt".into()),
        ]
    }

    #[test]
    fn expiry_is_exactly_the_keys_ttl_for_every_key_kind() {
        let expiry = KeyTtlExpiry { ttl_divisor: 1 };
        for key in every_key_kind() {
            let stored = StoredValue::set(&key, b"v".to_vec());
            let lifetime = expiry.expire_after_create(&key.render(), &stored, Instant::now());
            assert_eq!(lifetime, Some(key.ttl()), "{}", key.render());

            let counter = StoredValue::counter(&key, 1);
            let lifetime = expiry.expire_after_create(&key.render(), &counter, Instant::now());
            assert_eq!(lifetime, Some(key.ttl()), "{} as a counter", key.render());
        }
    }

    #[test]
    fn a_set_restarts_the_ttl_and_an_increment_keeps_the_expiry() {
        let expiry = KeyTtlExpiry { ttl_divisor: 1 };
        let key = CacheKey::Rate { project: project("shop"), minute: 1 };
        let remaining = Some(Duration::from_secs(30));

        let after_set = expiry.expire_after_update(
            &key.render(),
            &StoredValue::set(&key, b"9".to_vec()),
            Instant::now(),
            remaining,
        );
        let after_increment = expiry.expire_after_update(
            &key.render(),
            &StoredValue::counter(&key, 2),
            Instant::now(),
            remaining,
        );

        assert_eq!(after_set, Some(Duration::from_secs(120)));
        assert_eq!(after_increment, remaining);
    }

    #[test]
    fn the_divisor_shortens_every_lifetime() {
        let expiry = KeyTtlExpiry { ttl_divisor: 1_000 };
        let key = CacheKey::Score(project("shop"));
        let lifetime =
            expiry.expire_after_create(&key.render(), &StoredValue::set(&key, Vec::new()), Instant::now());
        assert_eq!(lifetime, Some(Duration::from_millis(300)));
    }

    #[test]
    fn config_defaults_and_rejects_unknown_fields() {
        assert_eq!(InProcessCacheConfig::default().max_entries, 100_000);
        let parsed: InProcessCacheConfig = serde_json::from_str("{}").expect("empty config parses");
        assert_eq!(parsed, InProcessCacheConfig::default());
        assert!(serde_json::from_str::<InProcessCacheConfig>(r#"{"max_entry":1}"#).is_err());
    }

    #[tokio::test]
    async fn an_entry_disappears_after_its_ttl_while_a_longer_lived_one_stays() {
        // 300 s / 1_500 = 200 ms for the score; 7 days / 1_500 ≈ 400 s for the language-model answer.
        let cache = InProcessCache::with_ttl_divisor(&InProcessCacheConfig::default(), 1_500);
        let short = CacheKey::Score(project("shop"));
        let long = CacheKey::Llm("prompt".into());
        let short_lifetime = Duration::from_millis(200);
        let deadline = Duration::from_secs(3);

        let set_at = tokio::time::Instant::now();
        cache.set(&short, b"score".to_vec()).await.expect("set");
        cache.set(&long, b"answer".to_vec()).await.expect("set");
        let first_read = cache.get(&short).await.expect("get");
        if first_read.is_none() {
            assert!(set_at.elapsed() >= short_lifetime, "the entry vanished before its ttl");
        } else {
            assert_eq!(first_read.as_deref(), Some(&b"score"[..]));
        }

        loop {
            cache.entries.run_pending_tasks().await;
            if cache.get(&short).await.expect("get").is_none() {
                break;
            }
            assert!(set_at.elapsed() < deadline, "the entry outlived its ttl by far");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        assert!(set_at.elapsed() >= short_lifetime, "expired after, not before, its ttl");
        assert_eq!(cache.get(&long).await.expect("get").as_deref(), Some(&b"answer"[..]));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_thousand_concurrent_increments_count_a_thousand() {
        let cache = InProcessCache::new(&InProcessCacheConfig::default());
        let shop = project("shop");

        let increments: Vec<_> = (0..1_000)
            .map(|_| {
                let cache = cache.clone();
                let shop = shop.clone();
                tokio::spawn(async move { cache.increment_rate(&shop, 9).await })
            })
            .collect();
        let mut counts = Vec::new();
        for increment in increments {
            counts.push(increment.await.expect("joined").expect("increment"));
        }
        counts.sort_unstable();

        assert_eq!(counts, (1..=1_000).collect::<Vec<u64>>(), "every increment saw its own count");
        let stored = cache.get(&CacheKey::Rate { project: shop, minute: 9 }).await.expect("get");
        assert_eq!(stored.as_deref(), Some(&b"1000"[..]), "stored as decimal text, like Valkey");
    }

    #[tokio::test]
    async fn incrementing_a_value_that_is_not_a_counter_fails() {
        let cache = InProcessCache::new(&InProcessCacheConfig::default());
        let key = CacheKey::Rate { project: project("shop"), minute: 3 };
        cache.set(&key, b"not a number".to_vec()).await.expect("set");

        let incremented = cache.increment_rate(&project("shop"), 3).await;

        assert!(matches!(incremented, Err(CacheError::Backend(_))), "got {incremented:?}");
        assert_eq!(cache.get(&key).await.expect("get").as_deref(), Some(&b"not a number"[..]));
    }

    #[tokio::test]
    async fn a_counter_set_by_hand_keeps_counting_from_its_value() {
        let cache = InProcessCache::new(&InProcessCacheConfig::default());
        cache
            .set(&CacheKey::Rate { project: project("shop"), minute: 4 }, b"41".to_vec())
            .await
            .expect("set");

        assert_eq!(cache.increment_rate(&project("shop"), 4).await.expect("increment"), 42);
    }

    #[tokio::test]
    async fn the_cache_holds_at_most_max_entries() {
        let cache = InProcessCache::new(&InProcessCacheConfig { max_entries: 10 });
        for n in 0..100 {
            cache.set(&CacheKey::Report(n.to_string()), vec![1]).await.expect("set");
        }

        cache.entries.run_pending_tasks().await;

        assert!(cache.entries.entry_count() <= 10, "holds {}", cache.entries.entry_count());
    }
}
