//! [`ReportLimits`]: how much of a report Argus is willing to read.

use serde::Deserialize;

/// Limits checked before a report reaches a parser. The defaults fit the largest real reports seen
/// (tens of megabytes, tens of thousands of cases, nesting under 20 levels) with a wide margin.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportLimits {
    /// Largest report accepted, in bytes.
    #[serde(default = "ReportLimits::default_max_bytes")]
    pub max_bytes: usize,
    /// Deepest element nesting accepted in XML (JSON nesting is capped at 128 by the JSON reader).
    #[serde(default = "ReportLimits::default_max_depth")]
    pub max_depth: usize,
    /// Most test cases accepted in one report.
    #[serde(default = "ReportLimits::default_max_testcases")]
    pub max_testcases: usize,
}

impl ReportLimits {
    /// 64 MiB.
    pub const fn default_max_bytes() -> usize {
        64 * 1024 * 1024
    }

    /// 128 levels.
    pub const fn default_max_depth() -> usize {
        128
    }

    /// 500 000 test cases.
    pub const fn default_max_testcases() -> usize {
        500_000
    }
}

impl Default for ReportLimits {
    fn default() -> Self {
        Self {
            max_bytes: Self::default_max_bytes(),
            max_depth: Self::default_max_depth(),
            max_testcases: Self::default_max_testcases(),
        }
    }
}
