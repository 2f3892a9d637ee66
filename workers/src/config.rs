//! Configuration of the workers: one section per role, plus the redelivery backoff of the consumer loops.
//! Page limits and engine settings are the healing engine's own (serde) types.
//! Every field has a default, so an empty `[workers]` table (or none) is a valid configuration.

use crate::{CorrelatorConfig, HealerConfig, NormalizerConfig};
use serde::Deserialize;
use std::time::Duration;

/// The `[workers]` configuration section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkersConfig {
    /// The normalizer (`argus.ingest.batch`).
    #[serde(default)]
    pub normalizer: NormalizerConfig,
    /// The correlator (`argus.test.executed`, `argus.test.failed`, `argus.locator.observed`).
    #[serde(default)]
    pub correlator: CorrelatorConfig,
    /// The healer (`argus.healing.requested`).
    #[serde(default)]
    pub healer: HealerConfig,
    /// How long a consumer loop waits before giving a transiently failed message back to the bus.
    #[serde(default)]
    pub retry: RetryConfig,
}

/// Backoff before a transiently failed message is nacked, so a store outage is not hammered by instant
/// redeliveries. The wait doubles per attempt, from `initial_backoff_ms` up to `max_backoff_ms`; a
/// shutdown cuts it short. Poison messages are nacked at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Wait after the first failed attempt, in milliseconds (default 100).
    #[serde(default = "RetryConfig::default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// Longest wait, in milliseconds (default 5 000).
    #[serde(default = "RetryConfig::default_max_backoff_ms")]
    pub max_backoff_ms: u64,
}

impl RetryConfig {
    /// The default first wait, 100 ms.
    pub const fn default_initial_backoff_ms() -> u64 {
        100
    }

    /// The default longest wait, 5 s.
    pub const fn default_max_backoff_ms() -> u64 {
        5_000
    }

    /// The wait before nacking attempt `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(20);
        let millis = self.initial_backoff_ms.saturating_mul(1 << doublings).min(self.max_backoff_ms);
        Duration::from_millis(millis)
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            initial_backoff_ms: Self::default_initial_backoff_ms(),
            max_backoff_ms: Self::default_max_backoff_ms(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argus_healing::PageLimits;

    #[test]
    fn empty_section_gives_defaults_and_unknown_fields_are_rejected() {
        let config: WorkersConfig = serde_json::from_str("{}").expect("empty section");
        assert!(config.healer.use_cache);
        assert_eq!(config.normalizer.page_limits, PageLimits::default());
        assert_eq!(config.retry, RetryConfig::default());
        assert!(serde_json::from_str::<WorkersConfig>(r#"{"healer":{"use_cahce":false}}"#).is_err());
        let custom: WorkersConfig =
            serde_json::from_str(r#"{"healer":{"use_cache":false,"page_limits":{"max_depth":32}}}"#)
                .expect("custom section");
        assert!(!custom.healer.use_cache);
        assert_eq!(custom.healer.page_limits.max_depth, 32);
        assert_eq!(custom.healer.page_limits.max_elements, PageLimits::default().max_elements);
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let retry = RetryConfig { initial_backoff_ms: 100, max_backoff_ms: 1_000 };
        assert_eq!(retry.backoff(1), Duration::from_millis(100));
        assert_eq!(retry.backoff(2), Duration::from_millis(200));
        assert_eq!(retry.backoff(4), Duration::from_millis(800));
        assert_eq!(retry.backoff(5), Duration::from_millis(1_000));
        assert_eq!(retry.backoff(u32::MAX), Duration::from_millis(1_000));
    }
}
