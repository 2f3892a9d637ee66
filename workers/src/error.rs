//! The error type of the workers crate.

use argus_bus::BusError;
use argus_graph::GraphError;
use argus_store::StoreError;
use argus_vocabulary::{Topic, VocabularyError};

/// Everything a worker can fail with. [`WorkerError::is_poison`] splits them in two: a poison message can
/// never succeed (retrying it is pointless, it goes to the dead-letter topic), a transient failure may
/// succeed on redelivery.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The payload is not a valid envelope for its topic (poison).
    #[error("undecodable payload on {topic}")]
    Decode {
        /// The topic the payload came from.
        topic: Topic,
        /// Why it could not be decoded.
        #[source]
        source: VocabularyError,
    },
    /// A delivery reached a worker that does not consume its topic (poison; a wiring bug).
    #[error("{role} does not consume {topic}")]
    UnexpectedTopic {
        /// The worker's role name.
        role: &'static str,
        /// The delivery's topic.
        topic: Topic,
    },
    /// The store failed (transient).
    #[error("store operation failed")]
    Store(#[from] StoreError),
    /// The bus failed (transient).
    #[error("bus operation failed")]
    Bus(#[from] BusError),
    /// The knowledge graph failed (transient).
    #[error("graph operation failed")]
    Graph(#[from] GraphError),
    /// A role name that is not `normalizer`, `correlator` or `healer`.
    #[error("unknown worker role {0:?}: use normalizer, correlator or healer")]
    UnknownRole(String),
    /// A consumer loop panicked or was aborted.
    #[error("consumer loop for {group} on {topic} ended abnormally: {message}")]
    LoopAborted {
        /// The consumer group of the loop.
        group: &'static str,
        /// The topic of the loop.
        topic: Topic,
        /// What the runtime reported.
        message: String,
    },
}

impl WorkerError {
    /// Whether the message that caused this error can never be handled (undecodable, misrouted): it is
    /// dead-lettered rather than retried in the hope of a different result.
    pub fn is_poison(&self) -> bool {
        matches!(self, WorkerError::Decode { .. } | WorkerError::UnexpectedTopic { .. })
    }

    /// Whether a redelivery may succeed (store, bus or graph unavailable).
    pub fn is_transient(&self) -> bool {
        matches!(self, WorkerError::Store(_) | WorkerError::Bus(_) | WorkerError::Graph(_))
    }

    /// This error and its causes, joined with `: ` (for logs and dead letters).
    pub fn chain(&self) -> String {
        error_chain(self)
    }
}

/// An error and its causes, joined with `: `.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_are_poison_and_store_errors_transient() {
        let decode = serde_json::from_slice::<serde_json::Value>(b"{").map_err(VocabularyError::from);
        let Err(source) = decode else { panic!("garbage must not decode") };
        let poison = WorkerError::Decode { topic: Topic::IngestBatch, source };
        assert!(poison.is_poison());
        assert!(!poison.is_transient());
        assert!(
            poison.chain().starts_with("undecodable payload on argus.ingest.batch: malformed envelope: ")
        );

        let transient = WorkerError::Store(StoreError::NotFound("batch".into()));
        assert!(transient.is_transient());
        assert!(!transient.is_poison());
        assert_eq!(transient.chain(), "store operation failed: batch not found");
    }
}
