//! What the store's test files share.
//!
//! - `postgres`: the test server's URL (or a skip), a fresh database per test, the conformance fixture;
//! - `checks`: the adapter-neutral halves of the tests each adapter runs on its own (durable rows, the
//!   derived confidence column, compressed snapshots, concurrent writers). The adapter-specific half (how
//!   the store is reopened, raw SQL against the file or server) stays in the adapter's test file.

// Each test file uses a different part of this module.
#![allow(dead_code)]

pub mod checks;
pub mod postgres;
