//! The consumer loops: one per (role, topic), each a trivial shell around the role's `handle` step.
//! See `design.md` beside this crate's `Cargo.toml` for the settlement rules.

use crate::config::RetryConfig;
use crate::{Correlator, Healer, Normalizer, Outcome, Role, WorkerContext, WorkerError, WorkersConfig};
use argus_bus::{BusError, Delivery, NackOutcome, Subscription};
use argus_vocabulary::Topic;
use std::sync::Arc;
use std::time::Duration;
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
        let mut pipeline = Pipeline { loops: Vec::new() };
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
                let task = tokio::spawn(consumer.run().instrument(span));
                pipeline.loops.push(Loop { role, topic, task });
            }
        }
        info!(loops = pipeline.loops.len(), "pipeline started");
        Ok(pipeline)
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
