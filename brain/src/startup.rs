//! Composition of the serving process: [`Application::build`] opens the adapters of the configured
//! profile, binds the listener (port 0 picks a free port), spawns the worker pipeline and replays unfinished
//! batches; [`Application::run_until_stopped`] serves until the shutdown token is cancelled, then drains.
//!
//! Profiles: `embedded` opens SQLite, the graph journal, the in-process bus and cache under the data
//! directory and always runs every role. `distributed` (cargo feature `distributed`) opens Postgres, Kafka,
//! Valkey and FalkorDB ([`crate::distributed`]); [`Application::build_with_roles`] with no role is the
//! `--api-only` HTTP edge (no worker, no graph), and the roles then run as `argus worker` processes.
//!
//! Shutdown order: stop accepting HTTP requests and finish the ones in flight; when workers run here, wait
//! until the bus has no unacknowledged message (or the drain timeout passes) and cancel and join the
//! pipeline; close the bus (Kafka: commit and flush); close the store. Each stage is logged as it ends.
//! A consumer loop that ends before shutdown was requested triggers the same sequence (without waiting
//! for the bus to be idle, which it never would be) and `run_until_stopped` returns its error.

use crate::BrainError;
use crate::api::{self, AppState};
use crate::config::{Config, Profile};
use argus_bus::Bus;
use argus_bus::in_process::InProcessBus;
use argus_cache::Cache;
use argus_cache::in_process::InProcessCache;
use argus_graph::KnowledgeGraph;
use argus_graph::in_process::InProcessGraph;
use argus_store::Store;
use argus_store::postgres::PostgresStore;
use argus_store::sqlite::{DATABASE_FILE_NAME, SqliteStore};
use argus_workers::{
    Clock, Pipeline, Role, WorkerContext, WorkerError, WorkerMetrics, replay_unnormalized_batches,
    replay_unprocessed_github_events,
};
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

/// The adapters a serving process opened, kept concrete so they can be closed.
enum Adapters {
    Embedded {
        store: Arc<SqliteStore>,
        bus: Arc<InProcessBus>,
    },
    #[cfg(feature = "distributed")]
    Distributed(crate::distributed::DistributedAdapters),
}

impl Adapters {
    /// Closes the bus, then the store; returns the bus's error after closing the store anyway.
    async fn close(&self) -> Result<(), BrainError> {
        match self {
            Adapters::Embedded { store, bus } => {
                bus.close();
                tracing::info!(stage = "bus", "bus closed");
                store.close().await;
                tracing::info!(stage = "store", "store closed");
                Ok(())
            }
            #[cfg(feature = "distributed")]
            Adapters::Distributed(adapters) => adapters.close().await,
        }
    }
}

/// Ports and handles of the opened adapters, whatever the profile.
struct Opened {
    adapters: Adapters,
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    cache: Arc<dyn Cache>,
    /// `None` for the `--api-only` edge, which never touches the graph.
    graph: Option<Arc<dyn KnowledgeGraph>>,
}

/// The serving process, bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
    data_dir: PathBuf,
    profile: Profile,
    adapters: Adapters,
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    /// The worker pipeline and its stop token; `None` for the `--api-only` edge.
    pipeline: Option<(Pipeline, CancellationToken)>,
    drain_timeout: Duration,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("local_addr", &self.local_addr)
            .field("profile", &self.profile)
            .field("data_dir", &self.data_dir)
            .field("workers", &self.pipeline.is_some())
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Opens the configured profile's adapters, binds `config.listen`, spawns the pipeline with every role
    /// and replays the batches the normalizer had not finished.
    pub async fn build(config: Config) -> Result<Application, BrainError> {
        Self::build_with_roles(config, &Role::ALL).await
    }

    /// Like [`Application::build`], running only `roles` in this process; no role is the `--api-only`
    /// HTTP edge. The embedded profile's in-process bus cannot be shared, so it needs every role.
    #[tracing::instrument(skip_all, fields(profile = %config.profile, listen = %config.listen))]
    pub async fn build_with_roles(config: Config, roles: &[Role]) -> Result<Application, BrainError> {
        let opened = match config.profile {
            Profile::Embedded => {
                if Role::ALL.iter().any(|role| !roles.contains(role)) {
                    return Err(BrainError::Config {
                        key: "profile".to_owned(),
                        source_name: "command line".to_owned(),
                        message: "the embedded profile runs every worker in the serving process; \
                                  --api-only needs --profile distributed"
                            .to_owned(),
                    });
                }
                open_embedded(&config).await?
            }
            Profile::Distributed => open_distributed(&config, !roles.is_empty()).await?,
        };
        let Opened { adapters, store, bus, cache, graph } = opened;
        match start(&config, roles, &store, &bus, &cache, graph).await {
            Ok((listener, local_addr, router, pipeline)) => {
                tracing::info!(
                    address = %local_addr,
                    profile = %config.profile,
                    workers = ?roles.iter().map(|role| role.as_str()).collect::<Vec<_>>(),
                    "argus is ready; create a project and its api key with `argus project create <id>`"
                );
                Ok(Application {
                    listener,
                    local_addr,
                    router,
                    data_dir: config.data_dir,
                    profile: config.profile,
                    adapters,
                    store,
                    bus,
                    pipeline,
                    drain_timeout: config.shutdown.drain_timeout(),
                })
            }
            Err(error) => {
                if let Err(close_error) = adapters.close().await {
                    tracing::warn!(error = %close_error, "closing the adapters after a failed start failed");
                }
                Err(error)
            }
        }
    }

    /// The port the API listens on (useful after binding port 0).
    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// The address the API listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The data directory (used by the embedded profile only).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The profile the application runs on.
    pub fn profile(&self) -> Profile {
        self.profile
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
        let Application { listener, router, adapters, bus, pipeline, drain_timeout, local_addr, .. } = self;
        tracing::info!(address = %local_addr, "serving http");
        // A consumer loop that ends on its own stops the whole process, as a shutdown does (but exits
        // non-zero): half a pipeline must not keep accepting work it will never finish.
        let liveness = pipeline.as_ref().map(|(pipeline, _)| pipeline.liveness());
        let stop_serving = {
            let shutdown = shutdown.clone();
            let liveness = liveness.clone();
            async move {
                match liveness {
                    Some(liveness) => tokio::select! {
                        biased;
                        () = shutdown.cancelled() => {}
                        _ = liveness.first_ended() => {}
                    },
                    None => shutdown.cancelled().await,
                }
            }
        };
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(stop_serving)
            .await
            .map_err(|source| BrainError::io("serve http", source));
        tracing::info!(stage = "http", "stopped accepting requests; in-flight requests finished");
        let ended_early = liveness.and_then(|liveness| liveness.first_ended_now());

        let mut joined = Ok(());
        if let Some((pipeline, pipeline_cancel)) = pipeline {
            if let Some(ended) = &ended_early {
                // The dead loop's topic would never drain: stop the others after the message in hand.
                tracing::error!(
                    role = %ended.role,
                    topic = %ended.topic,
                    error = %ended.ended_error(),
                    "a consumer loop ended before shutdown was requested; stopping the process"
                );
            } else {
                match wait_until_idle(bus.as_ref(), drain_timeout).await {
                    Ok(()) => tracing::info!(stage = "drain", "pipeline idle: every message acknowledged"),
                    Err(remaining) => tracing::warn!(
                        stage = "drain",
                        remaining,
                        timeout_secs = drain_timeout.as_secs(),
                        "drain timed out; unacknowledged messages are redelivered or replayed on the next \
                         start"
                    ),
                }
            }
            pipeline_cancel.cancel();
            joined = pipeline.join().await;
            match &joined {
                Ok(()) => tracing::info!(stage = "pipeline", "worker pipeline stopped"),
                Err(error) => {
                    tracing::error!(stage = "pipeline", error = %error, "worker pipeline stopped with an error")
                }
            }
        }
        let closed = adapters.close().await;
        tracing::info!("shutdown complete");
        served?;
        if let Some(ended) = ended_early {
            return Err(ended.ended_error().into());
        }
        joined?;
        closed?;
        Ok(())
    }
}

/// Binds the listener, spawns the pipeline of `roles` (if any), replays unfinished work and builds the
/// router. On error everything started here is stopped again; the caller closes the adapters.
async fn start(
    config: &Config,
    roles: &[Role],
    store: &Arc<dyn Store>,
    bus: &Arc<dyn Bus>,
    cache: &Arc<dyn Cache>,
    graph: Option<Arc<dyn KnowledgeGraph>>,
) -> Result<(TcpListener, SocketAddr, Router, Option<(Pipeline, CancellationToken)>), BrainError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| BrainError::io(format!("bind {}", config.listen), source))?;
    let local_addr =
        listener.local_addr().map_err(|source| BrainError::io("read the bound address", source))?;
    let worker_metrics = Arc::new(WorkerMetrics::default());
    let context = WorkerContext {
        store: store.clone(),
        bus: bus.clone(),
        cache: cache.clone(),
        // The `--api-only` edge only replays (store and bus); an empty in-memory graph stands in, and
        // nothing is ever written to it.
        graph: graph.clone().unwrap_or_else(|| Arc::new(InProcessGraph::in_memory())),
        clock: Clock::system(),
        metrics: worker_metrics.clone(),
    };
    let pipeline = if roles.is_empty() {
        None
    } else {
        let pipeline_cancel = CancellationToken::new();
        let pipeline =
            Pipeline::spawn(context.clone(), &config.workers, roles, pipeline_cancel.clone()).await?;
        Some((pipeline, pipeline_cancel))
    };
    if let Err(error) = replay(&context).await {
        if let Some((pipeline, pipeline_cancel)) = pipeline {
            pipeline_cancel.cancel();
            if let Err(join_error) = pipeline.join().await {
                tracing::warn!(error = %join_error, "pipeline ended with an error after a failed replay");
            }
        }
        return Err(error.into());
    }
    let mut state = AppState::new(
        store.clone(),
        bus.clone(),
        cache.clone(),
        config,
        pipeline.as_ref().map(|_| worker_metrics),
    );
    if let Some(graph) = graph.filter(|_| pipeline.is_some()) {
        state = state.with_graph(graph);
    }
    Ok((listener, local_addr, api::router(state), pipeline))
}

/// Republishes the batches the normalizer has not finished and the GitHub deliveries the correlator has not
/// processed (both idempotent downstream, so replaying what is already on the bus is harmless).
async fn replay(context: &WorkerContext) -> Result<(), WorkerError> {
    let batches = replay_unnormalized_batches(context).await?;
    let deliveries = replay_unprocessed_github_events(context).await?;
    tracing::info!(batches, github_deliveries = deliveries, "replayed unfinished work");
    Ok(())
}

async fn open_embedded(config: &Config) -> Result<Opened, BrainError> {
    tokio::fs::create_dir_all(&config.data_dir)
        .await
        .map_err(|source| BrainError::io(format!("create data dir {}", config.data_dir.display()), source))?;
    let store = Arc::new(open_sqlite(config).await?);
    let graph = match InProcessGraph::open_journal(config.data_dir.join(GRAPH_JOURNAL_FILE_NAME)) {
        Ok(graph) => graph,
        Err(error) => {
            store.close().await;
            return Err(error.into());
        }
    };
    let bus = InProcessBus::new(config.bus.clone());
    Ok(Opened {
        store: store.clone(),
        bus: bus.clone(),
        cache: Arc::new(InProcessCache::new(&config.cache)),
        graph: Some(Arc::new(graph)),
        adapters: Adapters::Embedded { store, bus },
    })
}

#[cfg(feature = "distributed")]
async fn open_distributed(config: &Config, with_graph: bool) -> Result<Opened, BrainError> {
    let adapters = crate::distributed::DistributedAdapters::connect(config, with_graph).await?;
    Ok(Opened {
        store: adapters.store_port(),
        bus: adapters.bus.clone(),
        cache: adapters.cache.clone(),
        graph: adapters.graph.clone(),
        adapters: Adapters::Distributed(adapters),
    })
}

#[cfg(not(feature = "distributed"))]
async fn open_distributed(_config: &Config, _with_graph: bool) -> Result<Opened, BrainError> {
    Err(BrainError::NotBuilt(crate::config::DISTRIBUTED_NOT_BUILT))
}

async fn open_sqlite(config: &Config) -> Result<SqliteStore, BrainError> {
    Ok(SqliteStore::open(&config.data_dir.join(DATABASE_FILE_NAME), &config.store).await?)
}

/// The store of a command that needs nothing else (`argus project create`): SQLite in the data directory,
/// or Postgres on the distributed profile. Dereferences to the [`Store`] port.
#[derive(Debug, Clone)]
pub enum StoreHandle {
    /// The embedded profile's SQLite file.
    Sqlite(Arc<SqliteStore>),
    /// The distributed profile's Postgres pool.
    Postgres(Arc<PostgresStore>),
}

impl StoreHandle {
    /// The store as a port.
    pub fn port(&self) -> Arc<dyn Store> {
        match self {
            StoreHandle::Sqlite(store) => store.clone(),
            StoreHandle::Postgres(store) => store.clone(),
        }
    }

    /// Where the data lives, for messages (never a URL: it may carry a password).
    pub fn describe(&self, config: &Config) -> String {
        match self {
            StoreHandle::Sqlite(_) => config.data_dir.display().to_string(),
            StoreHandle::Postgres(_) => "the postgres database".to_owned(),
        }
    }

    /// Closes the store (waits for connections in use).
    pub async fn close(&self) {
        match self {
            StoreHandle::Sqlite(store) => store.close().await,
            StoreHandle::Postgres(store) => store.close().await,
        }
    }
}

impl std::ops::Deref for StoreHandle {
    type Target = dyn Store;

    fn deref(&self) -> &Self::Target {
        match self {
            StoreHandle::Sqlite(store) => store.as_ref(),
            StoreHandle::Postgres(store) => store.as_ref(),
        }
    }
}

/// Opens only the store of the configured profile (for `argus project create` and `argus project github`):
/// the data directory's SQLite file, or the `postgres` section's database (no Kafka needed, so this works
/// in every build).
pub async fn open_store_only(config: &Config) -> Result<StoreHandle, BrainError> {
    match config.profile {
        Profile::Embedded => {
            tokio::fs::create_dir_all(&config.data_dir).await.map_err(|source| {
                BrainError::io(format!("create data dir {}", config.data_dir.display()), source)
            })?;
            Ok(StoreHandle::Sqlite(Arc::new(open_sqlite(config).await?)))
        }
        Profile::Distributed => {
            let sections = config.distributed_sections()?;
            Ok(StoreHandle::Postgres(Arc::new(crate::distributed::connect_store(sections.postgres).await?)))
        }
    }
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
