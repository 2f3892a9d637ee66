//! The consumer loops: one per (role, topic), each a trivial shell around the role's `handle` step.
//! See `design.md` beside this crate's `Cargo.toml` for the settlement rules.
//!
//! [`PipelineLiveness`] is what a supervisor and a liveness probe see of the loops: each loop is running,
//! stopped (it ended because the pipeline was asked to stop) or ended on its own (its bus failed or closed,
//! or it panicked). [`Pipeline::first_ended`] resolves when the first loop ends, so a process can stop as a
//! whole instead of running on half a pipeline.

use crate::config::RetryConfig;
use crate::{Correlator, Healer, Normalizer, Outcome, Role, WorkerContext, WorkerError, WorkersConfig};
use argus_bus::{BusError, Delivery, NackOutcome, Subscription};
use argus_vocabulary::Topic;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

/// After this many consecutive bus failures (other than a closed bus) a loop gives up and ends with the
/// error, so the binary can report it instead of spinning.
const MAX_CONSECUTIVE_BUS_FAILURES: u32 = 10;

/// Wait between two attempts to read from a failing bus.
const BUS_FAILURE_BACKOFF: Duration = Duration::from_millis(500);

/// A role's runtime object (the healer, which carries the engine's weights, is boxed to keep the enum
/// small).
enum Worker {
    Normalizer(Normalizer),
    Correlator(Correlator),
    Healer(Box<Healer>),
}

impl Worker {
    fn build(role: Role, config: &WorkersConfig) -> Self {
        match role {
            Role::Normalizer => Worker::Normalizer(config.normalizer.build()),
            Role::Correlator => Worker::Correlator(config.correlator.build()),
            Role::Healer => Worker::Healer(Box::new(config.healer.build())),
        }
    }

    async fn handle(&self, ctx: &WorkerContext, delivery: &Delivery) -> Result<Outcome, WorkerError> {
        match self {
            Worker::Normalizer(worker) => worker.handle(ctx, delivery).await,
            Worker::Correlator(worker) => worker.handle(ctx, delivery).await,
            Worker::Healer(worker) => worker.handle(ctx, delivery).await,
        }
    }
}

/// One running consumer loop.
struct Loop {
    role: Role,
    topic: Topic,
    task: JoinHandle<Result<(), WorkerError>>,
}

/// The running consumer loops of some roles.
pub struct Pipeline {
    loops: Vec<Loop>,
    liveness: PipelineLiveness,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let loops: Vec<_> = self.loops.iter().map(|l| format!("{}/{}", l.role, l.topic)).collect();
        f.debug_struct("Pipeline").field("loops", &loops).finish()
    }
}

impl Pipeline {
    /// Spawns one consumer loop per (role, topic) of `roles`; loops stop when `shutdown` is cancelled and
    /// the current message is settled. Every subscription is made before this returns, so a message
    /// published afterwards is seen.
    pub async fn spawn(
        ctx: WorkerContext,
        config: &WorkersConfig,
        roles: &[Role],
        shutdown: CancellationToken,
    ) -> Result<Pipeline, WorkerError> {
        let mut unique_roles = roles.to_vec();
        unique_roles.sort_unstable();
        unique_roles.dedup();
        // A child token lets a failed start stop the loops already spawned without cancelling the caller's.
        let stop = shutdown.child_token();
        let mut pipeline = Pipeline { loops: Vec::new(), liveness: PipelineLiveness::default() };
        for role in unique_roles {
            let worker = Arc::new(Worker::build(role, config));
            for &topic in role.topics() {
                let subscription = match ctx.bus.subscribe(topic, role.consumer_group()).await {
                    Ok(subscription) => subscription,
                    Err(error) => {
                        stop.cancel();
                        // The loops just started end at once; their result does not change the answer.
                        let _ = pipeline.join().await;
                        return Err(error.into());
                    }
                };
                let consumer = Consumer {
                    ctx: ctx.clone(),
                    worker: Arc::clone(&worker),
                    role,
                    topic,
                    retry: config.retry,
                    subscription,
                    shutdown: stop.clone(),
                };
                let span = info_span!("consumer", role = %role, topic = %topic);
                let index = pipeline.liveness.register(role, topic);
                let report = EndReport::new(pipeline.liveness.clone(), index, stop.clone());
                let task = tokio::spawn(consumer.run_reporting(report).instrument(span));
                pipeline.loops.push(Loop { role, topic, task });
            }
        }
        info!(loops = pipeline.loops.len(), "pipeline started");
        Ok(pipeline)
    }

    /// The loops' states, shared: cheap to clone, readable while the pipeline runs (liveness probes).
    pub fn liveness(&self) -> PipelineLiveness {
        self.liveness.clone()
    }

    /// Resolves when the first loop ends, for whatever reason, with that loop's status; stays pending while
    /// every loop runs (forever for a pipeline without loops). Cancel-safe. A loop that ends while the
    /// shutdown token is not cancelled is [`LoopState::Ended`]: the supervisor should stop the process.
    pub async fn first_ended(&self) -> LoopStatus {
        self.liveness.first_ended().await
    }

    /// Waits for every loop to end; returns the first error.
    pub async fn join(self) -> Result<(), WorkerError> {
        let mut first_error = None;
        for Loop { role, topic, task } in self.loops {
            let result = match task.await {
                Ok(result) => result,
                Err(join_error) => Err(WorkerError::LoopAborted {
                    group: role.consumer_group(),
                    topic,
                    message: join_error.to_string(),
                }),
            };
            if let Err(error) = result {
                warn!(role = %role, topic = %topic, error = %error.chain(), "consumer loop failed");
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// One consumer loop's state.
struct Consumer {
    ctx: WorkerContext,
    worker: Arc<Worker>,
    role: Role,
    topic: Topic,
    retry: RetryConfig,
    subscription: Box<dyn Subscription>,
    shutdown: CancellationToken,
}

impl Consumer {
    /// [`Consumer::run`], then records how the loop ended in `report` (also when it panics: the report
    /// records on drop).
    async fn run_reporting(self, mut report: EndReport) -> Result<(), WorkerError> {
        let result = self.run().await;
        report.reason = Some(match &result {
            Ok(()) => "the bus closed the subscription".to_owned(),
            Err(error) => error.chain(),
        });
        result
    }

    /// `next` → `handle` → `ack`/`nack`, until shutdown (checked only between messages) or a closed bus.
    async fn run(mut self) -> Result<(), WorkerError> {
        let mut bus_failures = 0u32;
        loop {
            let next = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => break,
                next = self.subscription.next() => next,
            };
            let result = match next {
                Ok(Some(delivery)) => self.settle(&delivery).await,
                Ok(None) | Err(BusError::Closed) => break,
                Err(error) => Err(error),
            };
            match result {
                Ok(()) => bus_failures = 0,
                Err(BusError::Closed) => break,
                Err(error) => {
                    bus_failures += 1;
                    if bus_failures >= MAX_CONSECUTIVE_BUS_FAILURES {
                        return Err(error.into());
                    }
                    warn!(error = %error, failures = bus_failures, "bus failed; retrying");
                    tokio::select! {
                        () = self.shutdown.cancelled() => break,
                        () = tokio::time::sleep(BUS_FAILURE_BACKOFF) => {}
                    }
                }
            }
        }
        debug!(group = self.role.consumer_group(), topic = %self.topic, "consumer loop stopped");
        Ok(())
    }

    /// Handles one delivery and settles it: ack on success, nack on failure (the bus redelivers, and
    /// dead-letters once the attempt limit is reached).
    async fn settle(&mut self, delivery: &Delivery) -> Result<(), BusError> {
        let role = self.role;
        match self.worker.handle(&self.ctx, delivery).await {
            Ok(outcome) => {
                self.subscription.ack(delivery).await?;
                self.ctx.metrics.record_outcome(role, &outcome);
                if let Outcome::Skipped(reason) = outcome {
                    debug!(coordinates = %delivery.coordinates, reason, "message skipped");
                }
                Ok(())
            }
            Err(error) => {
                let chain = error.chain();
                self.ctx.metrics.record_failure(role);
                if error.is_poison() {
                    warn!(
                        coordinates = %delivery.coordinates,
                        attempt = delivery.attempt,
                        error = %chain,
                        "poison message; nacking until it is dead-lettered"
                    );
                } else {
                    warn!(
                        coordinates = %delivery.coordinates,
                        attempt = delivery.attempt,
                        error = %chain,
                        "handler failed; the message will be redelivered"
                    );
                    // Back off before giving the message back, so an outage is not hammered; a shutdown
                    // cuts the wait short and the message is still settled.
                    tokio::select! {
                        () = self.shutdown.cancelled() => {}
                        () = tokio::time::sleep(self.retry.backoff(delivery.attempt)) => {}
                    }
                }
                if self.subscription.nack(delivery, &chain).await? == NackOutcome::DeadLettered {
                    self.ctx.metrics.record_dead_letter(role);
                    warn!(
                        coordinates = %delivery.coordinates,
                        attempts = delivery.attempt,
                        error = %chain,
                        "message dead-lettered"
                    );
                }
                Ok(())
            }
        }
    }
}

/// What became of one consumer loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoopState {
    /// Taking messages.
    Running,
    /// Ended because the pipeline was asked to stop.
    Stopped,
    /// Ended on its own, while the pipeline was not asked to stop: the process runs on part of its work.
    Ended {
        /// Why: the loop's error chain, "the bus closed the subscription", or a panic.
        reason: String,
    },
}

impl LoopState {
    /// The state's name (`running`, `stopped`, `ended`).
    pub const fn as_str(&self) -> &'static str {
        match self {
            LoopState::Running => "running",
            LoopState::Stopped => "stopped",
            LoopState::Ended { .. } => "ended",
        }
    }
}

/// One consumer loop as probes and supervisors see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopStatus {
    /// The role the loop works for.
    pub role: Role,
    /// The topic it consumes.
    pub topic: Topic,
    /// Whether it runs, and how it ended.
    pub state: LoopState,
}

impl fmt::Display for LoopStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.role, self.topic)
    }
}

impl LoopStatus {
    /// The error that reports this loop ending on its own ([`WorkerError::LoopAborted`], naming its consumer
    /// group, topic and reason).
    pub fn ended_error(&self) -> WorkerError {
        let message = match &self.state {
            LoopState::Ended { reason } => reason.clone(),
            LoopState::Stopped => "stopped".to_owned(),
            LoopState::Running => "still running".to_owned(),
        };
        WorkerError::LoopAborted { group: self.role.consumer_group(), topic: self.topic, message }
    }
}

/// The loops and the first one that ended (by index), behind a watch channel so waiters wake up.
#[derive(Debug, Default)]
struct LoopTable {
    loops: Vec<LoopStatus>,
    first_ended: Option<usize>,
}

/// The states of a pipeline's loops, shared between the loops (which record how they end), the supervisor
/// and the probes. Cheap to clone.
#[derive(Clone)]
pub struct PipelineLiveness {
    table: Arc<watch::Sender<LoopTable>>,
}

impl Default for PipelineLiveness {
    fn default() -> Self {
        Self { table: Arc::new(watch::Sender::new(LoopTable::default())) }
    }
}

impl fmt::Debug for PipelineLiveness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineLiveness").field("loops", &self.loops()).finish()
    }
}

impl PipelineLiveness {
    /// Every loop of the pipeline, in spawn order, with its state now.
    pub fn loops(&self) -> Vec<LoopStatus> {
        self.table.borrow().loops.clone()
    }

    /// Whether every loop is running (false for a pipeline without loops: nothing consumes).
    pub fn all_running(&self) -> bool {
        let table = self.table.borrow();
        !table.loops.is_empty() && table.loops.iter().all(|status| status.state == LoopState::Running)
    }

    /// The first loop that ended, if one has.
    pub fn first_ended_now(&self) -> Option<LoopStatus> {
        let table = self.table.borrow();
        table.first_ended.and_then(|index| table.loops.get(index).cloned())
    }

    /// Resolves when the first loop ends (at once if one has), with its status. Cancel-safe.
    pub async fn first_ended(&self) -> LoopStatus {
        let mut changes = self.table.subscribe();
        let ended = match changes.wait_for(|table| table.first_ended.is_some()).await {
            Ok(table) => table.first_ended.and_then(|index| table.loops.get(index).cloned()),
            // Unreachable: `self` holds the sender.
            Err(_) => None,
        };
        match ended {
            Some(status) => status,
            None => std::future::pending().await,
        }
    }

    /// Adds a running loop; returns its index.
    fn register(&self, role: Role, topic: Topic) -> usize {
        let mut index = 0;
        self.table.send_modify(|table| {
            index = table.loops.len();
            table.loops.push(LoopStatus { role, topic, state: LoopState::Running });
        });
        index
    }

    /// Records how loop `index` ended.
    fn record_end(&self, index: usize, state: LoopState) {
        self.table.send_modify(|table| {
            if let Some(status) = table.loops.get_mut(index) {
                status.state = state;
                table.first_ended.get_or_insert(index);
            }
        });
    }
}

/// Records, when dropped (the loop returned, panicked or was aborted), how one loop ended.
struct EndReport {
    liveness: PipelineLiveness,
    index: usize,
    stop: CancellationToken,
    /// Set by the loop when it returns; `None` on a panic or abort.
    reason: Option<String>,
}

impl EndReport {
    fn new(liveness: PipelineLiveness, index: usize, stop: CancellationToken) -> Self {
        Self { liveness, index, stop, reason: None }
    }
}

impl Drop for EndReport {
    fn drop(&mut self) {
        let state = if self.stop.is_cancelled() {
            LoopState::Stopped
        } else {
            let reason =
                self.reason.take().unwrap_or_else(|| "the consumer loop panicked or was aborted".to_owned());
            LoopState::Ended { reason }
        };
        self.liveness.record_end(self.index, state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Clock, WorkerMetrics};
    use argus_bus::in_process::{InProcessBus, InProcessBusConfig};
    use argus_bus::{Bus, NackOutcome};
    use argus_cache::in_process::{InProcessCache, InProcessCacheConfig};
    use argus_graph::in_process::InProcessGraph;
    use argus_store::sqlite::SqliteStore;
    use async_trait::async_trait;
    use tempfile::TempDir;

    /// Upper bound for anything these tests wait for; reaching it fails the test.
    const DEADLINE: Duration = Duration::from_secs(20);

    /// The in-process bus, except that every read of `failing_topic` fails (a broker refusing one topic).
    struct OneTopicFailsBus {
        inner: Arc<InProcessBus>,
        failing_topic: Topic,
    }

    struct FailingSubscription;

    #[async_trait]
    impl Subscription for FailingSubscription {
        async fn next(&mut self) -> Result<Option<Delivery>, BusError> {
            Err(BusError::Backend("partition leader unavailable".to_owned()))
        }

        async fn ack(&mut self, delivery: &Delivery) -> Result<(), BusError> {
            Err(BusError::UnknownReceipt(delivery.receipt))
        }

        async fn nack(&mut self, delivery: &Delivery, _error: &str) -> Result<NackOutcome, BusError> {
            Err(BusError::UnknownReceipt(delivery.receipt))
        }
    }

    #[async_trait]
    impl Bus for OneTopicFailsBus {
        async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), BusError> {
            self.inner.publish(topic, key, payload).await
        }

        async fn subscribe(&self, topic: Topic, group: &str) -> Result<Box<dyn Subscription>, BusError> {
            if topic == self.failing_topic {
                Ok(Box::new(FailingSubscription))
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

    async fn context(bus: Arc<dyn Bus>) -> (TempDir, WorkerContext) {
        let dir = TempDir::new().expect("temp dir");
        let store = SqliteStore::open_in_dir(dir.path()).await.expect("store opens");
        let ctx = WorkerContext {
            store: Arc::new(store),
            bus,
            cache: Arc::new(InProcessCache::new(&InProcessCacheConfig::default())),
            graph: Arc::new(InProcessGraph::in_memory()),
            clock: Clock::system(),
            metrics: Arc::new(WorkerMetrics::default()),
        };
        (dir, ctx)
    }

    async fn first_ended(pipeline: &Pipeline) -> LoopStatus {
        tokio::time::timeout(DEADLINE, pipeline.first_ended()).await.expect("a loop ends before the deadline")
    }

    #[tokio::test]
    async fn a_loop_whose_bus_keeps_failing_is_reported_as_the_first_ended_and_the_others_keep_running() {
        let bus = Arc::new(OneTopicFailsBus {
            inner: InProcessBus::new(InProcessBusConfig::default()),
            failing_topic: Topic::LocatorObserved,
        });
        let (_dir, ctx) = context(bus).await;
        let shutdown = CancellationToken::new();
        let pipeline = Pipeline::spawn(ctx, &WorkersConfig::default(), &[Role::Correlator], shutdown.clone())
            .await
            .expect("pipeline spawns");
        let liveness = pipeline.liveness();
        assert_eq!(liveness.loops().len(), Role::Correlator.topics().len());

        // The failing loop gives up after its consecutive bus failures (about 5 s of pauses between them).
        let ended = first_ended(&pipeline).await;

        assert_eq!((ended.role, ended.topic), (Role::Correlator, Topic::LocatorObserved));
        let LoopState::Ended { reason } = &ended.state else { panic!("expected ended, got {ended:?}") };
        assert!(reason.contains("partition leader unavailable"), "{reason}");
        assert!(!liveness.all_running());
        assert_eq!(liveness.first_ended_now().as_ref(), Some(&ended));
        let running: Vec<Topic> = liveness
            .loops()
            .into_iter()
            .filter(|status| status.state == LoopState::Running)
            .map(|status| status.topic)
            .collect();
        assert_eq!(running.len(), Role::Correlator.topics().len() - 1, "{running:?}");
        assert!(!running.contains(&Topic::LocatorObserved));
        let error = ended.ended_error().to_string();
        assert!(error.contains("argus-correlator on argus.locator.observed"), "{error}");

        // Stopping the rest still reports the failed loop's error.
        shutdown.cancel();
        let joined = tokio::time::timeout(DEADLINE, pipeline.join()).await.expect("joins in time");
        assert!(matches!(joined, Err(WorkerError::Bus(BusError::Backend(_)))), "{joined:?}");
        let states: Vec<&'static str> = liveness.loops().iter().map(|status| status.state.as_str()).collect();
        assert_eq!(
            states.iter().filter(|state| **state == "stopped").count(),
            states.len() - 1,
            "{states:?}"
        );
    }

    #[tokio::test]
    async fn a_bus_closed_under_running_loops_ends_them_without_a_stop_request() {
        let bus = InProcessBus::new(InProcessBusConfig::default());
        let (_dir, ctx) = context(bus.clone()).await;
        let shutdown = CancellationToken::new();
        let pipeline = Pipeline::spawn(ctx, &WorkersConfig::default(), &[Role::Healer], shutdown.clone())
            .await
            .expect("pipeline spawns");
        assert!(pipeline.liveness().all_running());
        assert_eq!(pipeline.liveness().first_ended_now(), None);

        bus.close();
        let ended = first_ended(&pipeline).await;

        assert_eq!((ended.role, ended.topic), (Role::Healer, Topic::HealingRequested));
        assert_eq!(ended.state, LoopState::Ended { reason: "the bus closed the subscription".to_owned() });
        assert!(!pipeline.liveness().all_running());
        tokio::time::timeout(DEADLINE, pipeline.join()).await.expect("joins in time").expect("no loop error");
    }

    #[tokio::test]
    async fn first_ended_waits_while_every_loop_runs_and_a_requested_stop_is_not_an_end() {
        let bus = InProcessBus::new(InProcessBusConfig::default());
        let (_dir, ctx) = context(bus).await;
        let shutdown = CancellationToken::new();
        let pipeline = Pipeline::spawn(ctx, &WorkersConfig::default(), &Role::ALL, shutdown.clone())
            .await
            .expect("pipeline spawns");
        let liveness = pipeline.liveness();

        let waited = tokio::time::timeout(Duration::from_millis(300), liveness.first_ended()).await;
        assert!(waited.is_err(), "no loop ended, yet first_ended answered {waited:?}");
        assert!(liveness.all_running());

        shutdown.cancel();
        tokio::time::timeout(DEADLINE, pipeline.join()).await.expect("joins in time").expect("clean stop");
        let ended =
            tokio::time::timeout(DEADLINE, liveness.first_ended()).await.expect("resolves after stop");
        assert_eq!(ended.state, LoopState::Stopped);
        assert!(liveness.loops().iter().all(|status| status.state == LoopState::Stopped));
        assert!(!liveness.all_running());
    }
}
