//! The error type of the brain crate (everything but the HTTP edge, which speaks [`crate::api::ApiError`]).

use argus_bus::BusError;
use argus_graph::GraphError;
use argus_store::StoreError;
use argus_workers::WorkerError;

/// Everything that can go wrong while configuring, starting, running or stopping the binary.
#[derive(Debug, thiserror::Error)]
pub enum BrainError {
    /// A configuration key is unknown or its value is invalid.
    #[error("invalid configuration at `{key}` ({source_name}): {message}")]
    Config {
        /// The dotted key (`limits.max_body_bytes`), or `<root>` for the whole document.
        key: String,
        /// Where the offending value came from (`defaults`, `config file`, `environment variable ARGUS_…`).
        source_name: String,
        /// What was wrong.
        message: String,
    },
    /// The configuration file is not valid TOML.
    #[error("configuration file is not valid toml: {0}")]
    ConfigSyntax(String),
    /// A file or socket operation failed.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The bus failed.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The knowledge graph failed.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The cache adapter could not be built.
    #[error(transparent)]
    Cache(#[from] argus_cache::CacheError),
    /// The worker pipeline failed.
    #[error(transparent)]
    Workers(#[from] WorkerError),
    /// The command needs a part of Argus this binary was built without (a cargo feature).
    #[error("{0}")]
    NotBuilt(&'static str),
    /// A project id given on the command line is invalid.
    #[error(transparent)]
    Vocabulary(#[from] argus_vocabulary::VocabularyError),
}

impl BrainError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        BrainError::Io { context: context.into(), source }
    }
}
