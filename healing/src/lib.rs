//! The Argus healing engine: given what a broken locator used to match (or just the locator) and the
//! HTML of the changed page, find the same element, say how sure it is (or abstain), and synthesise a
//! robust selector for it. Pure: no I/O, no clock, no randomness.
//!
//! Layout:
//! - [`page`] — [`CandidatePage`] parses a page once (within [`PageLimits`]) into [`Candidate`]s with
//!   filled descriptors (XPaths, text, neighbour text, label, role, visibility); resolves locators.
//! - `locator`: parses CSS, XPath, Playwright, Selenium and Cypress locators; resolves them; reads the
//!   partial element a broken locator expects.
//! - `xpath`: the XPath subset locators use, evaluated over the page's element arena.
//! - `aria`: implicit ARIA roles and accessible names.
//! - `score`: per-element precomputed features, the similarity signals and [`SignalWeights`].
//! - [`relocate`](mod@relocate) — ranking, confidence and abstention — [`relocate()`], [`describe`].
//! - [`ranking`] — the learned linear ranking over per-signal similarities (weights in
//!   `rank_weights.rs`).
//! - [`confidence`] — [`ConfidenceFeatures`] and the learned (or hand) confidence model.
//! - [`synthesis`] — unique CSS / XPath / Playwright selectors for a chosen element.
//! - [`error`] — [`HealingError`].
//!
//! The scoring model and the confidence are explained in `src/design.md`.

mod aria;
pub mod confidence;
mod confidence_weights;
pub mod error;
mod locator;
pub mod page;
mod rank_weights;
pub mod ranking;
pub mod relocate;
mod score;
pub mod synthesis;
mod xpath;

pub use confidence::{ConfidenceFeatures, ConfidenceModel};
pub use error::HealingError;
pub use page::{Candidate, CandidatePage, PageLimits};
pub use ranking::RankingModel;
pub use relocate::{EngineConfig, Reference, Relocation, ScoredCandidate, describe, relocate};
pub use score::SignalWeights;
pub use synthesis::synthesise;
