//! The envelope every bus message travels in, and the [`Payload`] trait that ties a payload type to its topic.

use crate::{EventId, ProjectId, Topic, VocabularyError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// The newest envelope schema this build writes and reads. Bump it when a payload changes incompatibly;
/// readers reject envelopes from the future instead of guessing.
pub const SCHEMA_VERSION: u16 = 1;

/// A payload type that belongs to exactly one topic.
pub trait Payload: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The topic this payload is published on.
    const TOPIC: Topic;

    /// The partition key: messages with equal keys keep their order. Defaults to the project; payloads
    /// about one test override it with project + test key so one test's events stay ordered.
    fn partition_key(&self, project: &ProjectId) -> String {
        project.as_str().to_owned()
    }
}

/// A message on the bus: schema version, idempotency key, tenant, time and the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The schema version the writer used ([`SCHEMA_VERSION`]).
    pub schema_version: u16,
    /// The idempotency key: handlers treat a repeated id as already done.
    pub event_id: EventId,
    /// The project this event belongs to.
    pub project_id: ProjectId,
    /// When the event happened (for derived events: when its source event happened).
    pub occurred_at: DateTime<Utc>,
    /// The payload.
    pub payload: T,
}

impl<T: Payload> Envelope<T> {
    /// Wraps a payload with the current schema version.
    pub fn new(event_id: EventId, project_id: ProjectId, occurred_at: DateTime<Utc>, payload: T) -> Self {
        Self { schema_version: SCHEMA_VERSION, event_id, project_id, occurred_at, payload }
    }

    /// The topic this envelope belongs on.
    pub fn topic(&self) -> Topic {
        T::TOPIC
    }

    /// The partition key for the bus.
    pub fn partition_key(&self) -> String {
        self.payload.partition_key(&self.project_id)
    }

    /// Serialises to the wire form (JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain data structs with string keys cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes the wire form, rejecting envelopes from a newer schema.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VocabularyError> {
        let envelope: Self = serde_json::from_slice(bytes)?;
        if envelope.schema_version > SCHEMA_VERSION {
            return Err(VocabularyError::UnsupportedSchemaVersion {
                found: envelope.schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(envelope)
    }
}
