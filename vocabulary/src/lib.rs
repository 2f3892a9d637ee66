//! The words every Argus crate shares. This crate does no I/O, reads no clock on its own and holds no
//! policy: it is the bottom of the dependency graph.
//!
//! - [`ids`]: validated identifiers (projects, events, suggestions, content hashes, fingerprints, tests).
//! - [`envelope`]: the versioned envelope every bus message travels in.
//! - [`topic`]: the topic table, named as the data-layer spec names them.
//! - [`events`]: the payloads (test results, failures, locator observations, healing requests and suggestions,
//!   dead letters) and the batch the HTTP edge accepts.
//! - [`element`]: the element descriptor, the reference data a heal compares against.
//! - [`github`]: the verified GitHub webhook delivery (topic `argus.integration.github`).
//! - [`error`]: [`VocabularyError`], the one error type of this crate.

pub mod element;
pub mod envelope;
pub mod error;
pub mod events;
pub mod github;
pub mod ids;
pub mod topic;

pub use element::{BoundingBox, ElementDescriptor};
pub use envelope::{Envelope, SCHEMA_VERSION};
pub use error::VocabularyError;
pub use events::*;
pub use github::{
    GithubCheckRun, GithubCheckSuite, GithubCommit, GithubEvent, GithubEventKind, GithubPing,
    GithubPullRequest, GithubPush, GithubWorkflowJob, GithubWorkflowRun,
};
pub use ids::{EventId, Fingerprint, ProjectId, SnapshotHash, SuggestionId, TestIdentity};
pub use topic::Topic;
