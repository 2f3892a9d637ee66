//! `argus worker <role>`: one worker role as its own process, on the distributed profile.
//!
//! Any number of processes may run the same role: they join the role's Kafka consumer group
//! (`<topic_prefix>argus-<role>`) and share its partitions. The embedded profile is refused, since its
//! in-process bus, SQLite file and graph journal cannot be shared across processes.
//!
//! Shutdown (SIGTERM or Ctrl-C): the consumer loops stop taking messages and finish the one in hand
//! (bounded by `shutdown.drain_timeout_secs`), the Kafka bus commits the acknowledged offsets and flushes
//! its producer, the store closes, and the process exits 0. A message that was not acknowledged is not
//! committed, so the group redelivers it to another member.

use crate::BrainError;
use crate::config::{Config, Profile};
use argus_workers::Role;
use tokio_util::sync::CancellationToken;

/// The error of `argus worker` on the embedded profile.
pub const EMBEDDED_WORKER_REFUSED: &str = "argus worker needs the distributed profile (set ARGUS_PROFILE=distributed \
     or profile = \"distributed\"): the embedded profile's in-process bus, sqlite file and graph journal cannot \
     be shared across processes; `argus serve` runs every role in one process instead";

/// Runs `role` until `shutdown` is cancelled (or every consumer loop ended), then drains and closes.
pub async fn run_worker(config: Config, role: Role, shutdown: CancellationToken) -> Result<(), BrainError> {
    if config.profile == Profile::Embedded {
        return Err(BrainError::Config {
            key: "profile".to_owned(),
            source_name: "argus worker".to_owned(),
            message: EMBEDDED_WORKER_REFUSED.to_owned(),
        });
    }
    run_distributed(config, role, shutdown).await
}

#[cfg(not(feature = "distributed"))]
async fn run_distributed(
    _config: Config,
    _role: Role,
    _shutdown: CancellationToken,
) -> Result<(), BrainError> {
    Err(BrainError::NotBuilt(crate::config::DISTRIBUTED_NOT_BUILT))
}

#[cfg(feature = "distributed")]
#[tracing::instrument(skip_all, fields(role = %role))]
async fn run_distributed(config: Config, role: Role, shutdown: CancellationToken) -> Result<(), BrainError> {
    use crate::distributed::{DistributedAdapters, consumer_group};
    use argus_graph::KnowledgeGraph;
    use argus_graph::in_process::InProcessGraph;
    use argus_workers::{Clock, Pipeline, WorkerContext, WorkerMetrics};
    use std::sync::Arc;

    // Every worker opens the graph (the correlator and the healer use it), so a worker that starts is a
    // worker whose dependencies all answered.
    let adapters = DistributedAdapters::connect(&config, true).await?;
    // `connect(.., true)` always opens the graph; the fallback only satisfies the type.
    let graph: Arc<dyn KnowledgeGraph> =
        adapters.graph.clone().unwrap_or_else(|| Arc::new(InProcessGraph::in_memory()));
    let context = WorkerContext {
        store: adapters.store_port(),
        bus: adapters.bus.clone(),
        cache: adapters.cache.clone(),
        graph,
        clock: Clock::system(),
        metrics: Arc::new(WorkerMetrics::default()),
    };
    let pipeline_cancel = CancellationToken::new();
    let pipeline = match Pipeline::spawn(context, &config.workers, &[role], pipeline_cancel.clone()).await {
        Ok(pipeline) => pipeline,
        Err(error) => {
            if let Err(close_error) = adapters.close().await {
                tracing::warn!(error = %close_error, "closing the adapters after a failed start failed");
            }
            return Err(error.into());
        }
    };
    let group = config.kafka.as_ref().map(|kafka| consumer_group(kafka, role)).unwrap_or_default();
    tracing::info!(role = %role, group = %group, "worker ready: consuming");

    let mut joining = Box::pin(pipeline.join());
    let ended_early = tokio::select! {
        () = shutdown.cancelled() => None,
        joined = &mut joining => Some(joined),
    };
    let joined = match ended_early {
        Some(joined) => {
            tracing::warn!(role = %role, "every consumer loop ended before shutdown was requested");
            joined
        }
        None => {
            tracing::info!(stage = "intake", "shutdown requested: finishing the messages in hand");
            pipeline_cancel.cancel();
            let drain_timeout = config.shutdown.drain_timeout();
            match tokio::time::timeout(drain_timeout, &mut joining).await {
                Ok(joined) => joined,
                Err(_) => {
                    tracing::warn!(
                        stage = "pipeline",
                        timeout_secs = drain_timeout.as_secs(),
                        "a handler did not finish in time; its message is redelivered to the group"
                    );
                    Ok(())
                }
            }
        }
    };
    drop(joining);
    match &joined {
        Ok(()) => tracing::info!(stage = "pipeline", "consumer loops stopped"),
        Err(error) => tracing::error!(stage = "pipeline", error = %error.chain(), "consumer loops failed"),
    }
    let closed = adapters.close().await;
    tracing::info!(role = %role, "worker stopped");
    joined?;
    closed
}
