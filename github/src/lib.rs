//! The GitHub integration, pure: everything Argus needs to trust and understand a webhook delivery, with no
//! I/O, no clock and no configuration.
//!
//! - [`signature`]: [`verify_signature`] checks `X-Hub-Signature-256` (HMAC-SHA256 of the raw body,
//!   constant-time comparison); [`signature_header`] computes it (tests, replay tools).
//! - [`wire`]: GitHub's JSON as tolerant DTOs, turned into the vocabulary's
//!   [`argus_vocabulary::GithubEventKind`] by [`parse_event`] (dispatched by the `X-GitHub-Event` name;
//!   unknown names are [`Parsed::Ignored`]); [`repository_full_name`] reads only `repository.full_name`,
//!   which the edge needs to find the secret before it may read anything else.
//! - `error`: [`SignatureError`] (always a 401 at the edge) and [`GithubError`] (an authentic delivery that
//!   does not fit, named by event and field).
//!
//! Order of use at the edge: peek the repository, look up its secret, [`verify_signature`], and only then
//! [`parse_event`].

mod error;
pub mod signature;
pub mod wire;

pub use error::{GithubError, SignatureError};
pub use signature::{SIGNATURE_HEADER, signature_header, verify_signature};
pub use wire::{Parsed, parse_event, parse_repository_full_name, repository_full_name};

/// The header naming the event (`push`, `workflow_run`, …).
pub const EVENT_HEADER: &str = "x-github-event";

/// The header carrying the delivery GUID, which a redelivery keeps.
pub const DELIVERY_HEADER: &str = "x-github-delivery";

/// GitHub caps webhook payloads at 25 MB; a larger body is not from GitHub.
pub const MAX_PAYLOAD_BYTES: usize = 25 * 1024 * 1024;
