//! The backpressure rule of the producer: librdkafka refuses a message at once when its queue is full
//! (`queue.buffering.max.messages` / `…kbytes`); the bus retries for up to the publish timeout and then
//! reports backpressure, so memory stays bounded and the HTTP edge can answer 503 with `Retry-After`.
//!
//! The rule is a small generic function over "try to enqueue", so it is tested with paused time.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use std::time::Duration;
use tokio::time::Instant;

/// How long to wait before trying a full queue again (or less, near the deadline).
const QUEUE_FULL_RETRY: Duration = Duration::from_millis(10);

/// Why the producer did not take a message.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Its queue is full: retry later.
    QueueFull,
    /// Anything else: give up.
    Failed(KafkaError),
}

impl From<KafkaError> for Refusal {
    fn from(error: KafkaError) -> Self {
        match error {
            KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) => Refusal::QueueFull,
            other => Refusal::Failed(other),
        }
    }
}

/// Calls `try_enqueue` until it succeeds, fails for another reason than a full queue, or `timeout` has
/// passed; in the last case the answer is [`Refusal::QueueFull`].
pub(crate) async fn enqueue_within<T>(
    timeout: Duration,
    mut try_enqueue: impl FnMut() -> Result<T, Refusal>,
) -> Result<T, Refusal> {
    let deadline = Instant::now() + timeout;
    loop {
        match try_enqueue() {
            Err(Refusal::QueueFull) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(Refusal::QueueFull);
                }
                tokio::time::sleep(QUEUE_FULL_RETRY.min(deadline - now)).await;
            }
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_queue_that_stays_full_is_backpressure_after_exactly_the_timeout() {
        let started = Instant::now();
        let mut tries = 0;

        let result = enqueue_within(Duration::from_millis(250), || {
            tries += 1;
            Err::<(), _>(Refusal::QueueFull)
        })
        .await;

        assert!(matches!(result, Err(Refusal::QueueFull)), "{result:?}");
        assert_eq!(started.elapsed(), Duration::from_millis(250));
        assert!(tries > 2, "it retried while waiting ({tries} tries)");
    }

    #[tokio::test(start_paused = true)]
    async fn a_queue_that_drains_in_time_takes_the_message() {
        let started = Instant::now();
        let mut full_for = 3;

        let result = enqueue_within(Duration::from_secs(2), || {
            if full_for == 0 {
                return Ok("queued");
            }
            full_for -= 1;
            Err(Refusal::QueueFull)
        })
        .await;

        assert_eq!(result.ok(), Some("queued"));
        assert!(started.elapsed() < Duration::from_secs(2), "it did not wait for the timeout");
    }

    #[tokio::test(start_paused = true)]
    async fn other_failures_are_not_retried() {
        let mut tries = 0;
        let result = enqueue_within(Duration::from_secs(2), || {
            tries += 1;
            Err::<(), _>(Refusal::from(KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge)))
        })
        .await;
        assert!(matches!(result, Err(Refusal::Failed(_))), "{result:?}");
        assert_eq!(tries, 1);
    }

    #[test]
    fn only_a_full_queue_counts_as_full() {
        assert!(matches!(
            Refusal::from(KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)),
            Refusal::QueueFull
        ));
        assert!(matches!(
            Refusal::from(KafkaError::MessageProduction(RDKafkaErrorCode::UnknownTopicOrPartition)),
            Refusal::Failed(_)
        ));
    }
}
