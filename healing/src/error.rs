//! [`HealingError`], the one error type of the healing engine.

/// Everything that can go wrong while parsing a page or a locator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealingError {
    /// The page exceeds one of the [`crate::PageLimits`]: `what` names the limit (`html_bytes`, `elements`,
    /// `depth`), `actual` is what the page had.
    #[error("page too large: {what} is {actual}, limit is {limit}")]
    TooLarge {
        /// Which limit was hit: `html_bytes`, `elements` or `depth`.
        what: &'static str,
        /// The configured limit.
        limit: usize,
        /// What the page had.
        actual: usize,
    },
    /// The locator uses syntax the engine does not understand.
    #[error("unsupported locator {locator:?}: {reason}")]
    UnsupportedLocator {
        /// The locator as given.
        locator: String,
        /// Why it was not understood.
        reason: String,
    },
}

impl HealingError {
    /// An [`HealingError::UnsupportedLocator`] for `locator`.
    pub(crate) fn unsupported(locator: &str, reason: impl Into<String>) -> Self {
        Self::UnsupportedLocator { locator: locator.to_owned(), reason: reason.into() }
    }
}
