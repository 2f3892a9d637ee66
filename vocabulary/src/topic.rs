//! The topic table. Names follow the data-layer spec; the partition counts are the spec's defaults and are
//! used by the Kafka adapter when it creates topics (the in-process bus ignores them).

use crate::VocabularyError;
use std::fmt;

/// A bus topic. Every message on a topic is an [`crate::Envelope`] of the topic's payload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Topic {
    /// `argus.ingest.batch`: an accepted [`crate::IngestBatch`] from the HTTP edge, before normalisation.
    IngestBatch,
    /// `argus.test.executed`: one canonical [`crate::TestResult`].
    TestExecuted,
    /// `argus.test.failed`: one fingerprinted [`crate::Failure`].
    TestFailed,
    /// `argus.locator.observed`: one [`crate::LocatorObservation`] (a locator that worked).
    LocatorObserved,
    /// `argus.healing.requested`: a [`crate::HealingRequest`] for a broken locator.
    HealingRequested,
    /// `argus.healing.completed`: the [`crate::HealingSuggestion`] the healer produced (or its abstention).
    HealingCompleted,
    /// `argus.integration.github`: a verified GitHub webhook delivery.
    IntegrationGithub,
    /// `argus.dlq`: a [`crate::DeadLetter`] for a message that failed repeatedly.
    DeadLetter,
}

impl Topic {
    /// Every topic, in a stable order (used to create topics and to render the topic table).
    pub const ALL: [Topic; 8] = [
        Topic::IngestBatch,
        Topic::TestExecuted,
        Topic::TestFailed,
        Topic::LocatorObserved,
        Topic::HealingRequested,
        Topic::HealingCompleted,
        Topic::IntegrationGithub,
        Topic::DeadLetter,
    ];

    /// The wire name of the topic.
    pub const fn name(self) -> &'static str {
        match self {
            Topic::IngestBatch => "argus.ingest.batch",
            Topic::TestExecuted => "argus.test.executed",
            Topic::TestFailed => "argus.test.failed",
            Topic::LocatorObserved => "argus.locator.observed",
            Topic::HealingRequested => "argus.healing.requested",
            Topic::HealingCompleted => "argus.healing.completed",
            Topic::IntegrationGithub => "argus.integration.github",
            Topic::DeadLetter => "argus.dlq",
        }
    }

    /// Default partition count for the Kafka adapter (12 for high-volume test topics, 6 for healing,
    /// 3 for the rest), as in the data-layer spec.
    pub const fn default_partitions(self) -> u32 {
        match self {
            Topic::IngestBatch | Topic::TestExecuted | Topic::TestFailed | Topic::LocatorObserved => 12,
            Topic::HealingRequested | Topic::HealingCompleted => 6,
            Topic::IntegrationGithub | Topic::DeadLetter => 3,
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Topic {
    type Err = VocabularyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Topic::ALL
            .into_iter()
            .find(|topic| topic.name() == s)
            .ok_or_else(|| VocabularyError::UnknownTopic(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_name_round_trips() {
        for topic in Topic::ALL {
            assert_eq!(topic.name().parse::<Topic>().ok(), Some(topic));
        }
        assert!("argus.nope".parse::<Topic>().is_err());
    }

    #[test]
    fn topic_names_are_unique() {
        let mut names: Vec<_> = Topic::ALL.iter().map(|t| t.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Topic::ALL.len());
    }
}
