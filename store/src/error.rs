//! The error type of the store crate.

/// Everything a store adapter can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (in this project).
    #[error("{0} not found")]
    NotFound(String),
    /// The write conflicts with what is stored (duplicate project, opposite verdict).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The operation does not apply to the row's state (feedback on an abstention).
    #[error("invalid state: {0}")]
    InvalidState(String),
    /// The caller passed a value the store refuses (a snapshot whose hash does not match its html, a
    /// number too large for the database).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A stored value could not be decoded (a bug or a hand-edited database).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database is unreachable or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The directory that should hold the database file could not be created.
    #[error("cannot create data directory {path}")]
    DataDirectory {
        /// The directory.
        path: std::path::PathBuf,
        /// Why it could not be created.
        #[source]
        source: std::io::Error,
    },
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}
