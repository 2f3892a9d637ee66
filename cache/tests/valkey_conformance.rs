//! The Valkey cache passes the shared conformance suite, against the server named by
//! `ARGUS_TEST_VALKEY_URL` (started by `data-layer/local/up.sh`; `source /tmp/argus-services/env.sh`).
//!
//! Without that variable the checks run against the in-process cache instead, after a `skipping: …` line
//! on stderr, so `cargo test` works without servers; with `ARGUS_REQUIRE_SERVICES=1` a missing variable
//! is a failure.

mod conformance {
    use argus_cache::Cache;
    use argus_cache::in_process::{InProcessCache, InProcessCacheConfig};
    use argus_cache::valkey::{ValkeyCache, ValkeyCacheConfig};
    use std::sync::Arc;

    /// The Valkey URL, or `None` (after saying so) when the tests should not need one.
    fn valkey_url() -> Option<String> {
        match std::env::var("ARGUS_TEST_VALKEY_URL") {
            Ok(url) if !url.trim().is_empty() => Some(url),
            _ if std::env::var("ARGUS_REQUIRE_SERVICES").as_deref() == Ok("1") => panic!(
                "ARGUS_TEST_VALKEY_URL is not set but ARGUS_REQUIRE_SERVICES=1: run data-layer/local/up.sh \
                 and source /tmp/argus-services/env.sh"
            ),
            _ => {
                eprintln!(
                    "skipping: ARGUS_TEST_VALKEY_URL is not set, so this check runs against the in-process \
                     cache (run data-layer/local/up.sh and source /tmp/argus-services/env.sh to test Valkey)"
                );
                None
            }
        }
    }

    async fn valkey_cache() -> Arc<dyn Cache> {
        let Some(url) = valkey_url() else {
            return Arc::new(InProcessCache::new(&InProcessCacheConfig::default()));
        };
        match ValkeyCache::connect(&ValkeyCacheConfig::new(url)).await {
            Ok(cache) => Arc::new(cache),
            Err(error) => panic!("cannot connect to the test valkey: {error}"),
        }
    }

    argus_cache::cache_conformance_tests!(valkey_cache);
}
