//! The adapters of the distributed profile: Postgres, Kafka (Redpanda), Valkey and FalkorDB, opened from
//! the config's `postgres`, `kafka`, `valkey` and `falkordb` sections.
//!
//! - [`connect_store`], [`connect_cache`], [`connect_graph`]: pure Rust, in every build (`argus project
//!   create` on the distributed profile needs only the store).
//! - `DistributedAdapters` (cargo feature `distributed`): the four together, for `argus serve` and
//!   `argus worker`; `GroupPrefixedBus` names consumer groups after the topic prefix.
//!
//! The cache is opened lazily: Valkey being down never stops a process from starting or serving (every
//! cache call fails fast and callers degrade). The store and the bus are required: their `connect` fails
//! when the server does not answer, and the process exits non-zero (an orchestrator restarts it).

use crate::BrainError;
use argus_cache::valkey::{ValkeyCache, ValkeyCacheConfig};
use argus_graph::falkordb::{FalkorGraph, FalkorGraphConfig};
use argus_store::postgres::{PostgresConfig, PostgresStore};

/// Opens the Postgres store (and applies its migrations).
pub async fn connect_store(config: &PostgresConfig) -> Result<PostgresStore, BrainError> {
    Ok(PostgresStore::connect(config).await?)
}

/// Opens the Valkey cache without waiting for the server: the first command connects.
pub fn connect_cache(config: &ValkeyCacheConfig) -> Result<ValkeyCache, BrainError> {
    Ok(ValkeyCache::connect_lazy(config)?)
}

/// Opens the FalkorDB graph (and creates its indexes).
pub async fn connect_graph(config: &FalkorGraphConfig) -> Result<FalkorGraph, BrainError> {
    Ok(FalkorGraph::connect(config).await?)
}

#[cfg(feature = "distributed")]
pub use with_kafka::{DistributedAdapters, GroupPrefixedBus, consumer_group};

#[cfg(feature = "distributed")]
mod with_kafka {
    use super::{connect_cache, connect_graph, connect_store};
    use crate::BrainError;
    use crate::config::Config;
    use argus_bus::kafka::{KafkaBus, KafkaBusConfig};
    use argus_bus::{Bus, BusError, Subscription};
    use argus_cache::Cache;
    use argus_graph::KnowledgeGraph;
    use argus_store::Store;
    use argus_store::postgres::PostgresStore;
    use argus_vocabulary::Topic;
    use argus_workers::Role;
    use async_trait::async_trait;
    use std::sync::Arc;

    /// The consumer group of `role` under a topic prefix: `<topic_prefix>argus-<role>`.
    pub fn consumer_group(kafka: &KafkaBusConfig, role: Role) -> String {
        format!("{}{}", kafka.topic_prefix, role.consumer_group())
    }

    /// The Kafka bus with every consumer group prefixed by the bus's topic prefix. The prefix exists so
    /// that environments (and test runs) can share a cluster; sharing consumer groups across them would
    /// make each one's members rebalance the others'.
    pub struct GroupPrefixedBus {
        inner: Arc<KafkaBus>,
    }

    impl GroupPrefixedBus {
        /// Wraps `inner`.
        pub fn new(inner: Arc<KafkaBus>) -> Self {
            Self { inner }
        }
    }

    #[async_trait]
    impl Bus for GroupPrefixedBus {
        async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), BusError> {
            self.inner.publish(topic, key, payload).await
        }

        async fn subscribe(&self, topic: Topic, group: &str) -> Result<Box<dyn Subscription>, BusError> {
            let prefixed = format!("{}{group}", self.inner.config().topic_prefix);
            self.inner.subscribe(topic, &prefixed).await
        }

        async fn unacknowledged(&self) -> Result<u64, BusError> {
            self.inner.unacknowledged().await
        }

        async fn ready(&self) -> bool {
            self.inner.ready().await
        }
    }

    /// The distributed profile's adapters, open.
    pub struct DistributedAdapters {
        /// The Postgres store (kept concrete to close its pool).
        pub store: Arc<PostgresStore>,
        /// The Kafka bus (kept concrete to close it: commit and flush).
        pub kafka: Arc<KafkaBus>,
        /// The bus as the workers and the HTTP edge use it (consumer groups prefixed).
        pub bus: Arc<dyn Bus>,
        /// The Valkey cache (lazy).
        pub cache: Arc<dyn Cache>,
        /// The FalkorDB graph, when asked for.
        pub graph: Option<Arc<dyn KnowledgeGraph>>,
    }

    impl std::fmt::Debug for DistributedAdapters {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("DistributedAdapters")
                .field("kafka", &self.kafka)
                .field("graph", &self.graph.is_some())
                .finish_non_exhaustive()
        }
    }

    impl DistributedAdapters {
        /// Opens the store, the bus, the cache and (when `with_graph`) the graph of `config`'s distributed
        /// sections. Whatever was opened is closed again when a later one fails.
        #[tracing::instrument(skip_all, fields(with_graph))]
        pub async fn connect(config: &Config, with_graph: bool) -> Result<Self, BrainError> {
            let sections = config.distributed_sections()?;
            let cache: Arc<dyn Cache> = Arc::new(connect_cache(sections.valkey)?);
            let store = Arc::new(connect_store(sections.postgres).await?);
            let kafka = match KafkaBus::connect(sections.kafka).await {
                Ok(kafka) => Arc::new(kafka),
                Err(error) => {
                    store.close().await;
                    return Err(error.into());
                }
            };
            let graph = if with_graph {
                match connect_graph(sections.falkordb).await {
                    Ok(graph) => Some(Arc::new(graph) as Arc<dyn KnowledgeGraph>),
                    Err(error) => {
                        if let Err(close_error) = kafka.close().await {
                            tracing::warn!(error = %close_error, "closing the bus after a failed start failed");
                        }
                        store.close().await;
                        return Err(error);
                    }
                }
            } else {
                None
            };
            let bus: Arc<dyn Bus> = Arc::new(GroupPrefixedBus::new(Arc::clone(&kafka)));
            tracing::info!(
                topic_prefix = %sections.kafka.topic_prefix,
                graph = with_graph,
                "distributed adapters connected"
            );
            Ok(Self { store, kafka, bus, cache, graph })
        }

        /// The store as a port.
        pub fn store_port(&self) -> Arc<dyn Store> {
            self.store.clone()
        }

        /// Graceful close: the bus commits what is committable and flushes its producer, then the store's
        /// pool closes. Returns the bus's error, after closing the store anyway.
        pub async fn close(&self) -> Result<(), BrainError> {
            let closed = self.kafka.close().await;
            match &closed {
                Ok(()) => {
                    tracing::info!(stage = "bus", "kafka bus closed: offsets committed, producer flushed")
                }
                Err(error) => tracing::warn!(stage = "bus", error = %error, "closing the kafka bus failed"),
            }
            self.store.close().await;
            tracing::info!(stage = "store", "postgres pool closed");
            Ok(closed?)
        }
    }
}
