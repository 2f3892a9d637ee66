//! The in-process cache passes the shared conformance suite.

mod conformance {
    use argus_cache::Cache;
    use argus_cache::in_process::{InProcessCache, InProcessCacheConfig};
    use std::sync::Arc;

    async fn in_process_cache() -> Arc<dyn Cache> {
        Arc::new(InProcessCache::new(&InProcessCacheConfig::default()))
    }

    argus_cache::cache_conformance_tests!(in_process_cache);
}
