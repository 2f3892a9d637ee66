//! `argus worker <role>`: one worker role as its own process, on the distributed profile.
//!
//! Any number of processes may run the same role: they join the role's Kafka consumer group
//! (`<topic_prefix>argus-<role>`) and share its partitions. The embedded profile is refused, since its
//! in-process bus, SQLite file and graph journal cannot be shared across processes.
//!
//! - [`probes`]: the probe listener on `worker.health_addr` (`/health`, `/ready`, `/metrics`).
//! - [`supervise_pipeline`]: runs the pipeline until shutdown or until its first consumer loop ends.
//!
//! Shutdown (SIGTERM or Ctrl-C): the consumer loops stop taking messages and finish the one in hand
//! (bounded by `shutdown.drain_timeout_secs`), the probe listener stops, the Kafka bus commits the
//! acknowledged offsets and flushes its producer, the store closes, and the process exits 0. A message
//! that was not acknowledged is not committed, so the group redelivers it to another member.
//!
//! A consumer loop that ends before shutdown was requested (its bus kept failing or closed, or it
//! panicked) ends the whole worker the same way — the other loops are cancelled and drained, the adapters
//! closed — and the process exits non-zero naming the loop, so its supervisor restarts it instead of
//! leaving half a worker running. Its `/health` answers 503 from the moment the loop ends.

pub mod probes;

use crate::BrainError;
use crate::config::{Config, Profile};
use argus_workers::{Pipeline, Role};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The error of `argus worker` on the embedded profile.
pub const EMBEDDED_WORKER_REFUSED: &str = "argus worker needs the distributed profile (set ARGUS_PROFILE=distributed \
     or profile = \"distributed\"): the embedded profile's in-process bus, sqlite file and graph journal cannot \
     be shared across processes; `argus serve` runs every role in one process instead";

/// How long the probe listener may take to finish its requests once the worker stops.
#[cfg(feature = "distributed")]
const PROBES_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `role` until `shutdown` is cancelled (or one of its consumer loops ended), then drains and closes.
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

/// Runs `pipeline` until `shutdown` is cancelled or one of its loops ends on its own, then cancels the
/// loops (`pipeline_cancel`) and waits at most `drain_timeout` for them to settle the messages in hand.
///
/// Ok after a requested shutdown (a loop error seen while draining is only logged: its message is
/// redelivered); otherwise the error of the loop that ended first
/// ([`argus_workers::WorkerError::LoopAborted`], naming its consumer group, topic and reason), after the
/// others were drained.
#[tracing::instrument(skip_all)]
pub async fn supervise_pipeline(
    pipeline: Pipeline,
    pipeline_cancel: CancellationToken,
    shutdown: &CancellationToken,
    drain_timeout: Duration,
) -> Result<(), BrainError> {
    let ended_early = tokio::select! {
        biased;
        () = shutdown.cancelled() => None,
        ended = pipeline.first_ended() => Some(ended),
    };
    match &ended_early {
        Some(ended) => tracing::error!(
            role = %ended.role,
            topic = %ended.topic,
            error = %ended.ended_error(),
            "a consumer loop ended before shutdown was requested; stopping the worker"
        ),
        None => tracing::info!(stage = "intake", "shutdown requested: finishing the messages in hand"),
    }
    pipeline_cancel.cancel();
    match tokio::time::timeout(drain_timeout, pipeline.join()).await {
        Ok(Ok(())) => tracing::info!(stage = "pipeline", "consumer loops stopped"),
        Ok(Err(error)) => {
            tracing::error!(stage = "pipeline", error = %error.chain(), "consumer loops failed")
        }
        Err(_) => tracing::warn!(
            stage = "pipeline",
            timeout_secs = drain_timeout.as_secs(),
            "a handler did not finish in time; its message is redelivered to the group"
        ),
    }
    match ended_early {
        Some(ended) => Err(ended.ended_error().into()),
        None => Ok(()),
    }
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
    use argus_workers::{Clock, WorkerContext, WorkerMetrics};
    use std::sync::Arc;

    // Bound first: a taken port fails the start before any server is contacted.
    let health_addr = config.worker.health_addr;
    let listener = tokio::net::TcpListener::bind(health_addr)
        .await
        .map_err(|source| BrainError::io(format!("bind the probe listener {health_addr}"), source))?;
    let probes_addr = listener
        .local_addr()
        .map_err(|source| BrainError::io("read the probe listener's address", source))?;

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
    let pipeline =
        match Pipeline::spawn(context.clone(), &config.workers, &[role], pipeline_cancel.clone()).await {
            Ok(pipeline) => pipeline,
            Err(error) => {
                if let Err(close_error) = adapters.close().await {
                    tracing::warn!(error = %close_error, "closing the adapters after a failed start failed");
                }
                return Err(error.into());
            }
        };

    let probes_stop = CancellationToken::new();
    let probe_state = probes::ProbeState { context, liveness: pipeline.liveness() };
    let serving = axum::serve(listener, probes::router(probe_state))
        .with_graceful_shutdown(probes_stop.clone().cancelled_owned());
    let mut probe_server = tokio::spawn(async move { serving.await });
    let group = config.kafka.as_ref().map(|kafka| consumer_group(kafka, role)).unwrap_or_default();
    tracing::info!(role = %role, group = %group, probes = %probes_addr, "worker ready: consuming");

    let supervised =
        supervise_pipeline(pipeline, pipeline_cancel, &shutdown, config.shutdown.drain_timeout()).await;

    probes_stop.cancel();
    match tokio::time::timeout(PROBES_STOP_TIMEOUT, &mut probe_server).await {
        Ok(Ok(Ok(()))) => tracing::info!(stage = "probes", "probe listener stopped"),
        Ok(Ok(Err(error))) => tracing::warn!(stage = "probes", error = %error, "probe listener failed"),
        Ok(Err(join_error)) => {
            tracing::warn!(stage = "probes", error = %join_error, "probe listener ended abnormally")
        }
        Err(_) => {
            probe_server.abort();
            tracing::warn!(stage = "probes", "probe listener did not stop in time; aborted");
        }
    }
    let closed = adapters.close().await;
    tracing::info!(role = %role, "worker stopped");
    supervised?;
    closed
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use argus_bus::in_process::{InProcessBus, InProcessBusConfig};
    use argus_bus::{Bus, BusError, Delivery, NackOutcome, Subscription};
    use argus_cache::in_process::{InProcessCache, InProcessCacheConfig};
    use argus_graph::in_process::InProcessGraph;
    use argus_store::sqlite::SqliteStore;
    use argus_vocabulary::Topic;
    use argus_workers::pipeline::{LoopState, PipelineLiveness};
    use argus_workers::{Clock, WorkerContext, WorkerMetrics, WorkersConfig};
    use async_trait::async_trait;
    use std::sync::Arc;
    use tempfile::TempDir;

    /// Upper bound for anything these tests wait for; reaching it fails the test.
    const DEADLINE: Duration = Duration::from_secs(20);

    /// The in-process bus, except that the subscription to `ending_topic` (if any) ends at once, as a
    /// closed subscription does.
    struct OneTopicEndsBus {
        inner: Arc<InProcessBus>,
        ending_topic: Option<Topic>,
    }

    struct EndedSubscription;

    #[async_trait]
    impl Subscription for EndedSubscription {
        async fn next(&mut self) -> Result<Option<Delivery>, BusError> {
            Ok(None)
        }

        async fn ack(&mut self, delivery: &Delivery) -> Result<(), BusError> {
            Err(BusError::UnknownReceipt(delivery.receipt))
        }

        async fn nack(&mut self, delivery: &Delivery, _error: &str) -> Result<NackOutcome, BusError> {
            Err(BusError::UnknownReceipt(delivery.receipt))
        }
    }

    #[async_trait]
    impl Bus for OneTopicEndsBus {
        async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), BusError> {
            self.inner.publish(topic, key, payload).await
        }

        async fn subscribe(&self, topic: Topic, group: &str) -> Result<Box<dyn Subscription>, BusError> {
            if Some(topic) == self.ending_topic {
                Ok(Box::new(EndedSubscription))
            } else {
                self.inner.subscribe(topic, group).await
            }
        }

        async fn unacknowledged(&self) -> Result<u64, BusError> {
            self.inner.unacknowledged().await
        }

        async fn ready(&self) -> bool {
            self.inner.ready().await
        }
    }

    /// A pipeline of some roles on the embedded adapters (SQLite in a temp dir, in-process bus, cache and
    /// graph), with one topic's loop ending at once when asked.
    pub(crate) struct Fixture {
        _dir: TempDir,
        /// The in-process bus under the pipeline.
        pub(crate) bus: Arc<InProcessBus>,
        /// The ports and metrics the pipeline runs on.
        pub(crate) context: WorkerContext,
        /// The loops' states.
        pub(crate) liveness: PipelineLiveness,
        pipeline: Option<Pipeline>,
        cancel: CancellationToken,
    }

    impl Fixture {
        pub(crate) async fn start(roles: &[Role], ending_topic: Option<Topic>) -> Fixture {
            let dir = TempDir::new().expect("temp dir");
            let store = SqliteStore::open_in_dir(dir.path()).await.expect("store opens");
            let bus = InProcessBus::new(InProcessBusConfig::default());
            let context = WorkerContext {
                store: Arc::new(store),
                bus: Arc::new(OneTopicEndsBus { inner: bus.clone(), ending_topic }),
                cache: Arc::new(InProcessCache::new(&InProcessCacheConfig::default())),
                graph: Arc::new(InProcessGraph::in_memory()),
                clock: Clock::system(),
                metrics: Arc::new(WorkerMetrics::default()),
            };
            let cancel = CancellationToken::new();
            let pipeline = Pipeline::spawn(context.clone(), &WorkersConfig::default(), roles, cancel.clone())
                .await
                .expect("pipeline spawns");
            let liveness = pipeline.liveness();
            Fixture { _dir: dir, bus, context, liveness, pipeline: Some(pipeline), cancel }
        }

        /// Waits (bounded) until a loop has ended.
        pub(crate) async fn wait_for_first_end(&self) {
            tokio::time::timeout(DEADLINE, self.liveness.first_ended()).await.expect("a loop ends in time");
        }

        /// Takes the pipeline (to supervise it) and its stop token.
        fn take(&mut self) -> (Pipeline, CancellationToken) {
            (self.pipeline.take().expect("the pipeline was not taken yet"), self.cancel.clone())
        }

        /// Cancels the pipeline and waits (bounded) for its loops.
        pub(crate) async fn stop(&mut self) {
            if let Some(pipeline) = self.pipeline.take() {
                self.cancel.cancel();
                let joined = tokio::time::timeout(DEADLINE, pipeline.join()).await.expect("joins in time");
                joined.expect("the loops stop cleanly");
            }
        }
    }

    #[tokio::test]
    async fn a_consumer_loop_ending_on_its_own_stops_the_worker_with_an_error_naming_it() {
        let mut fixture = Fixture::start(&Role::ALL, Some(Topic::HealingRequested)).await;
        let (pipeline, pipeline_cancel) = fixture.take();
        let shutdown = CancellationToken::new();

        let supervised = tokio::time::timeout(
            DEADLINE,
            supervise_pipeline(pipeline, pipeline_cancel, &shutdown, DEADLINE),
        )
        .await
        .expect("the worker stops without a shutdown request");

        let error = supervised.expect_err("a dead loop is a failure: the process exits non-zero").to_string();
        assert!(error.contains("argus-healer on argus.healing.requested"), "{error}");
        assert!(error.contains("the bus closed the subscription"), "{error}");
        assert!(!shutdown.is_cancelled());
        // Every other loop was cancelled and drained, not left running.
        let loops = fixture.liveness.loops();
        assert_eq!(loops.len(), 7);
        for status in loops {
            let expected = if status.topic == Topic::HealingRequested { "ended" } else { "stopped" };
            assert_eq!(status.state.as_str(), expected, "{status}");
        }
    }

    #[tokio::test]
    async fn a_requested_shutdown_stops_the_worker_cleanly() {
        let mut fixture = Fixture::start(&[Role::Correlator], None).await;
        let (pipeline, pipeline_cancel) = fixture.take();
        let shutdown = CancellationToken::new();
        shutdown.cancel();

        let supervised = tokio::time::timeout(
            DEADLINE,
            supervise_pipeline(pipeline, pipeline_cancel, &shutdown, DEADLINE),
        )
        .await
        .expect("the worker stops in time");

        supervised.expect("a requested shutdown is a clean exit");
        assert!(fixture.liveness.loops().iter().all(|status| status.state == LoopState::Stopped));
    }
}
