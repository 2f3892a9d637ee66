//! Composition of the embedded profile: [`Application::build`] opens the adapters in the data directory,
//! binds the listener (port 0 picks a free port), spawns the worker pipeline and replays unfinished
//! batches; [`Application::run_until_stopped`] serves until the shutdown token is cancelled, then drains.
//!
//! Shutdown order: stop accepting HTTP requests and finish the ones in flight; wait until the bus has no
//! unacknowledged message (or the drain timeout passes); cancel and join the pipeline; close the bus;
//! close the store. Each stage is logged as it ends.

use crate::BrainError;
use crate::api::{self, AppState};
use crate::config::Config;
use argus_bus::Bus;
use argus_bus::in_process::InProcessBus;
use argus_cache::Cache;
use argus_cache::in_process::InProcessCache;
use argus_graph::KnowledgeGraph;
use argus_graph::in_process::InProcessGraph;
use argus_store::Store;
use argus_store::sqlite::{DATABASE_FILE_NAME, SqliteStore};
use argus_workers::{Clock, Pipeline, Role, WorkerContext, WorkerMetrics, replay_unnormalized_batches};
use axum::Router;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The file name of the knowledge-graph journal inside the data directory.
pub const GRAPH_JOURNAL_FILE_NAME: &str = "graph.journal";

/// How often the drain loop asks the bus whether the pipeline is idle.
const DRAIN_POLL_INTERVAL: Duration = Duration::from_millis(25);

/// The whole embedded stack, bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
    data_dir: PathBuf,
    store: Arc<SqliteStore>,
    bus: Arc<InProcessBus>,
    pipeline: Pipeline,
    pipeline_cancel: CancellationToken,
    drain_timeout: Duration,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("local_addr", &self.local_addr)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Opens the store, graph journal, bus and cache under `config.data_dir`, binds `config.listen`,
    /// spawns the pipeline with every role and replays the batches the normalizer had not finished.
    #[tracing::instrument(skip_all, fields(listen = %config.listen, data_dir = %config.data_dir.display()))]
    pub async fn build(config: Config) -> Result<Application, BrainError> {
        tokio::fs::create_dir_all(&config.data_dir).await.map_err(|source| {
            BrainError::io(format!("create data dir {}", config.data_dir.display()), source)
        })?;
        let store = Arc::new(open_store(&config).await?);
        let graph = InProcessGraph::open_journal(config.data_dir.join(GRAPH_JOURNAL_FILE_NAME))?;
        let graph: Arc<dyn KnowledgeGraph> = Arc::new(graph);
        let bus = InProcessBus::new(config.bus.clone());
        let cache: Arc<dyn Cache> = Arc::new(InProcessCache::new(&config.cache));
        let worker_metrics = Arc::new(WorkerMetrics::default());

        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| BrainError::io(format!("bind {}", config.listen), source))?;
        let local_addr =
            listener.local_addr().map_err(|source| BrainError::io("read the bound address", source))?;

        let store_port: Arc<dyn Store> = store.clone();
        let bus_port: Arc<dyn Bus> = bus.clone();
        let context = WorkerContext {
            store: store_port.clone(),
            bus: bus_port.clone(),
            cache: cache.clone(),
            graph,
            clock: Clock::system(),
            metrics: worker_metrics.clone(),
        };
        let pipeline_cancel = CancellationToken::new();
        let pipeline =
            Pipeline::spawn(context.clone(), &config.workers, &Role::ALL, pipeline_cancel.clone()).await?;
        match replay_unnormalized_batches(&context).await {
            Ok(replayed) => tracing::info!(replayed, "replayed unnormalized batches"),
            Err(error) => {
                pipeline_cancel.cancel();
                if let Err(join_error) = pipeline.join().await {
                    tracing::warn!(error = %join_error, "pipeline ended with an error after a failed replay");
                }
                bus.close();
                store.close().await;
                return Err(error.into());
            }
        }

        let state = AppState::new(store_port, bus_port, cache, &config, Some(worker_metrics));
        let router = api::router(state);
        tracing::info!(
            address = %local_addr,
            data_dir = %config.data_dir.display(),
            "argus is ready; create a project and its api key with `argus project create <id> --data-dir <dir>`"
        );
        Ok(Application {
            listener,
            local_addr,
            router,
            data_dir: config.data_dir,
            store,
            bus,
            pipeline,
            pipeline_cancel,
            drain_timeout: config.shutdown.drain_timeout(),
        })
    }

    /// The port the API listens on (useful after binding port 0).
    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// The address the API listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The store (to create projects in the demo and in tests).
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The bus (to wait for the pipeline to be idle).
    pub fn bus(&self) -> Arc<dyn Bus> {
        self.bus.clone()
    }

    /// Serves until `shutdown` is cancelled, then shuts down gracefully (see the module docs). Returns
    /// the first error of any stage, after running the remaining stages.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), BrainError> {
        let Application { listener, router, store, bus, pipeline, pipeline_cancel, drain_timeout, .. } = self;
        tracing::info!(address = %self.local_addr, "serving http");
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .map_err(|source| BrainError::io("serve http", source));
        tracing::info!(stage = "http", "stopped accepting requests; in-flight requests finished");

        let bus_port: &dyn Bus = bus.as_ref();
        match wait_until_idle(bus_port, drain_timeout).await {
            Ok(()) => tracing::info!(stage = "drain", "pipeline idle: every message acknowledged"),
            Err(remaining) => tracing::warn!(
                stage = "drain",
                remaining,
                timeout_secs = drain_timeout.as_secs(),
                "drain timed out; unacknowledged messages are redelivered or replayed on the next start"
            ),
        }

        pipeline_cancel.cancel();
        let joined = pipeline.join().await;
        match &joined {
            Ok(()) => tracing::info!(stage = "pipeline", "worker pipeline stopped"),
            Err(error) => {
                tracing::error!(stage = "pipeline", error = %error, "worker pipeline stopped with an error")
            }
        }
        bus.close();
        tracing::info!(stage = "bus", "bus closed");
        store.close().await;
        tracing::info!(stage = "store", "store closed; shutdown complete");
        served?;
        joined?;
        Ok(())
    }
}

async fn open_store(config: &Config) -> Result<SqliteStore, BrainError> {
    Ok(SqliteStore::open(&config.data_dir.join(DATABASE_FILE_NAME), &config.store).await?)
}

/// Opens only the store of a data directory (for `argus project create`).
pub async fn open_store_only(config: &Config) -> Result<SqliteStore, BrainError> {
    tokio::fs::create_dir_all(&config.data_dir)
        .await
        .map_err(|source| BrainError::io(format!("create data dir {}", config.data_dir.display()), source))?;
    open_store(config).await
}

/// Waits until `bus.unacknowledged()` is 0, polling, for at most `timeout`. On timeout returns the last
/// count seen. A bus error counts as "not idle yet".
pub async fn wait_until_idle(bus: &dyn Bus, timeout: Duration) -> Result<(), u64> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = u64::MAX;
    loop {
        match bus.unacknowledged().await {
            Ok(0) => return Ok(()),
            Ok(count) => last = count,
            Err(error) => tracing::debug!(error = %error, "bus did not report its backlog"),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(last);
        }
        tokio::time::sleep(DRAIN_POLL_INTERVAL).await;
    }
}
