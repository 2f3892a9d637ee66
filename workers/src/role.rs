//! The three worker roles, their consumer groups and topics.

use crate::WorkerError;
use argus_vocabulary::Topic;
use std::fmt;
use std::str::FromStr;

/// A worker role. A process may run any subset; each role is one consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Turns accepted batches into test results, fingerprinted failures and locator observations.
    Normalizer,
    /// Records results, failures, observations, dead letters and GitHub deliveries; asks for a heal per
    /// locator failure.
    Correlator,
    /// Answers each healing request with a suggestion or an abstention.
    Healer,
}

impl Role {
    /// Every role, in pipeline order.
    pub const ALL: [Role; 3] = [Role::Normalizer, Role::Correlator, Role::Healer];

    /// The role's name (`normalizer`, `correlator`, `healer`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Normalizer => "normalizer",
            Role::Correlator => "correlator",
            Role::Healer => "healer",
        }
    }

    /// The consumer group the role's loops join (`argus-normalizer`, …).
    pub const fn consumer_group(self) -> &'static str {
        match self {
            Role::Normalizer => "argus-normalizer",
            Role::Correlator => "argus-correlator",
            Role::Healer => "argus-healer",
        }
    }

    /// The topics the role consumes.
    pub const fn topics(self) -> &'static [Topic] {
        match self {
            Role::Normalizer => &[Topic::IngestBatch],
            Role::Correlator => &[
                Topic::TestExecuted,
                Topic::TestFailed,
                Topic::LocatorObserved,
                Topic::DeadLetter,
                Topic::IntegrationGithub,
            ],
            Role::Healer => &[Topic::HealingRequested],
        }
    }

    /// The role's slot in per-role counter arrays.
    pub(crate) const fn index(self) -> usize {
        match self {
            Role::Normalizer => 0,
            Role::Correlator => 1,
            Role::Healer => 2,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = WorkerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| WorkerError::UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip_and_unknown_names_fail() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>().ok(), Some(role));
            assert_eq!(role.consumer_group(), format!("argus-{role}"));
            assert_eq!(Role::ALL[role.index()], role);
        }
        assert!(
            matches!("janitor".parse::<Role>(), Err(WorkerError::UnknownRole(name)) if name == "janitor")
        );
    }

    #[test]
    fn every_pipeline_topic_has_exactly_one_role() {
        for topic in [
            Topic::IngestBatch,
            Topic::TestExecuted,
            Topic::TestFailed,
            Topic::LocatorObserved,
            Topic::HealingRequested,
            Topic::IntegrationGithub,
        ] {
            let owners = Role::ALL.iter().filter(|role| role.topics().contains(&topic)).count();
            assert_eq!(owners, 1, "{topic}");
        }
    }
}
