//! The error type of the bus crate.

/// Everything a bus adapter can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The topic's backlog stayed full for the whole publish timeout.
    #[error("bus backpressure: topic {topic} is full")]
    Backpressure {
        /// The full topic.
        topic: String,
    },
    /// The bus was closed (shutdown).
    #[error("bus closed")]
    Closed,
    /// A receipt that this subscription did not hand out, or that was already settled.
    #[error("unknown delivery receipt {0}")]
    UnknownReceipt(u64),
    /// The adapter's configuration is unusable (names the setting).
    #[error("invalid bus configuration: {0}")]
    Config(String),
    /// The broker or client failed.
    #[error("bus backend error: {0}")]
    Backend(String),
}
