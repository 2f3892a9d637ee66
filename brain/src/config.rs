//! Configuration: defaults in code, then an optional TOML file, then `ARGUS_*` environment variables, then
//! command-line flags (applied by [`crate::cli`]).
//!
//! Environment variables name a key by its path: `ARGUS_LISTEN`, `ARGUS_DATA_DIR` for top-level keys and
//! `ARGUS_<SECTION>__<KEY>` (double underscore between path segments) for the rest, e.g.
//! `ARGUS_LIMITS__MAX_BODY_BYTES=1048576`. [`Config::load`] is a pure function over the file text and an
//! environment map, so tests never touch the process environment; only `main` reads the real one.
//!
//! Unknown keys and invalid values are errors that name the key and where the value came from.
//!
//! `profile` picks the adapters: `embedded` (the default: SQLite, graph journal, in-process bus and cache
//! under `data_dir`) or `distributed` (the `postgres`, `kafka`, `valkey` and `falkordb` sections, all four
//! required, e.g. `ARGUS_POSTGRES__URL`, `ARGUS_KAFKA__BROKERS`, `ARGUS_VALKEY__URL`,
//! `ARGUS_FALKORDB__URL`). The URLs are secrets: `Debug` of a [`Config`] shows them as `[REDACTED]`.
//!
//! `[worker]` configures the `argus worker` process itself (its probe listener, `health_addr`,
//! [`WORKER_HEALTH_ADDR_ENV`], flag `--health-addr`); `[workers]` configures the pipeline's roles, wherever
//! they run.

use crate::BrainError;
use argus_bus::in_process::InProcessBusConfig;
use argus_cache::in_process::InProcessCacheConfig;
use argus_cache::valkey::ValkeyCacheConfig;
use argus_graph::falkordb::FalkorGraphConfig;
use argus_store::postgres::PostgresConfig;
use argus_store::sqlite::SqliteConfig;
use argus_workers::WorkersConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The prefix of every configuration environment variable.
pub const ENV_PREFIX: &str = "ARGUS_";

/// The separator between path segments in an environment variable name.
const ENV_SEPARATOR: &str = "__";

/// The environment variable of `worker.health_addr`, where `argus worker` serves its probes.
pub const WORKER_HEALTH_ADDR_ENV: &str = "ARGUS_WORKER__HEALTH_ADDR";

/// The default port of `argus worker`'s probe listener (`/health`, `/ready`, `/metrics`).
pub const DEFAULT_WORKER_HEALTH_PORT: u16 = 8081;

/// Which adapters the process runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// One process on one machine: SQLite, a graph journal, an in-process bus and cache under `data_dir`.
    #[default]
    Embedded,
    /// Postgres, Kafka (Redpanda), Valkey and FalkorDB; workers may run as separate processes.
    Distributed,
}

impl Profile {
    /// The profile's name (`embedded`, `distributed`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Profile::Embedded => "embedded",
            Profile::Distributed => "distributed",
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `[kafka]` section: the Kafka bus settings when this binary has the distributed profile.
#[cfg(feature = "distributed")]
pub type KafkaSection = argus_bus::kafka::KafkaBusConfig;

/// The `[kafka]` section of a binary built without the distributed profile: kept unread, so a shared
/// configuration still loads; selecting the distributed profile fails with a message saying how to build it.
#[cfg(not(feature = "distributed"))]
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct KafkaSection(
    #[expect(dead_code, reason = "kept only so the section parses; this build cannot use it")] toml::Table,
);

#[cfg(not(feature = "distributed"))]
impl std::fmt::Debug for KafkaSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // It may hold SASL credentials; nothing of it is shown.
        f.write_str("KafkaSection(<unread: built without the distributed profile>)")
    }
}

/// The message of every attempt to run the distributed profile on a binary built without it.
pub const DISTRIBUTED_NOT_BUILT: &str = "this argus was built without the distributed profile: \
                                         cargo build --release --features distributed";

/// The four sections of the distributed profile, each present.
#[derive(Debug, Clone, Copy)]
pub struct DistributedSections<'a> {
    /// The Postgres store.
    pub postgres: &'a PostgresConfig,
    /// The Kafka bus.
    pub kafka: &'a KafkaSection,
    /// The Valkey cache.
    pub valkey: &'a ValkeyCacheConfig,
    /// The FalkorDB knowledge graph.
    pub falkordb: &'a FalkorGraphConfig,
}

/// The whole configuration of the `argus` binary.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which adapters to run on (`embedded`; env `ARGUS_PROFILE`, flag `--profile`).
    #[serde(default)]
    pub profile: Profile,
    /// The address the HTTP API listens on (`127.0.0.1:8080`; port 0 picks a free port).
    #[serde(default = "Config::default_listen")]
    pub listen: SocketAddr,
    /// Where the embedded profile keeps its database and graph journal (`.argus-data`).
    #[serde(default = "Config::default_data_dir")]
    pub data_dir: PathBuf,
    /// Size limits of the intake endpoint, and the request timeout.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Per-project request rate limit of the `/api/v1` routes.
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
    /// The SQLite store.
    #[serde(default)]
    pub store: SqliteConfig,
    /// The in-process bus.
    #[serde(default)]
    pub bus: InProcessBusConfig,
    /// The in-process cache.
    #[serde(default)]
    pub cache: InProcessCacheConfig,
    /// The worker pipeline (normalizer, correlator, healer).
    #[serde(default)]
    pub workers: WorkersConfig,
    /// The `argus worker` process: where it serves its probes.
    #[serde(default)]
    pub worker: WorkerProcessConfig,
    /// Graceful shutdown.
    #[serde(default)]
    pub shutdown: ShutdownConfig,
    /// The distributed profile's store (`ARGUS_POSTGRES__URL`, …).
    #[serde(default)]
    pub postgres: Option<PostgresConfig>,
    /// The distributed profile's bus (`ARGUS_KAFKA__BROKERS`, …). Consumer groups are named after the
    /// topic prefix too (`<topic_prefix>argus-healer`), so environments sharing a cluster never share a group.
    #[serde(default)]
    pub kafka: Option<KafkaSection>,
    /// The distributed profile's cache (`ARGUS_VALKEY__URL`, …).
    #[serde(default)]
    pub valkey: Option<ValkeyCacheConfig>,
    /// The distributed profile's knowledge graph (`ARGUS_FALKORDB__URL`, …).
    #[serde(default)]
    pub falkordb: Option<FalkorGraphConfig>,
}

impl Config {
    /// The default listen address, `127.0.0.1:8080`.
    pub const fn default_listen() -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080)
    }

    /// The default data directory, `.argus-data` (relative to the working directory).
    pub fn default_data_dir() -> PathBuf {
        PathBuf::from(".argus-data")
    }

    /// Loads the configuration from the defaults, the optional TOML `file_text` and the environment map
    /// `env` (only keys starting with [`ENV_PREFIX`] are read), then validates it.
    pub fn load(file_text: Option<&str>, env: &BTreeMap<String, String>) -> Result<Config, BrainError> {
        let mut root = toml::Table::new();
        let mut sources: BTreeMap<String, String> = BTreeMap::new();
        if let Some(text) = file_text {
            let file: toml::Table =
                toml::from_str(text).map_err(|error| BrainError::ConfigSyntax(error.to_string()))?;
            record_leaf_sources(&file, "", "config file", &mut sources);
            root = file;
        }
        let mut overrides = Vec::new();
        for (name, raw) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else { continue };
            let source_name = format!("environment variable {name}");
            let path: Vec<String> = rest.split(ENV_SEPARATOR).map(str::to_ascii_lowercase).collect();
            if path.iter().any(String::is_empty) {
                return Err(BrainError::Config {
                    key: path.join("."),
                    source_name,
                    message: "empty key segment in the variable name".to_owned(),
                });
            }
            let value = typed_env_value(raw);
            insert_at(&mut root, &path, value.clone(), &source_name)?;
            sources.insert(path.join("."), source_name);
            overrides.push((path, raw.clone(), value));
        }
        let config = deserialize_with_string_fallback(root, &overrides, &sources)?;
        config.validate()?;
        Ok(config)
    }

    /// Applies the `--profile` flag (the last layer), when given.
    pub fn with_profile(mut self, profile: Option<Profile>) -> Self {
        if let Some(profile) = profile {
            self.profile = profile;
        }
        self
    }

    /// The sections of the distributed profile; an error naming the first missing one (and its variable).
    pub fn distributed_sections(&self) -> Result<DistributedSections<'_>, BrainError> {
        fn required<'a, T>(section: Option<&'a T>, key: &str, variable: &str) -> Result<&'a T, BrainError> {
            section.ok_or_else(|| BrainError::Config {
                key: key.to_owned(),
                source_name: "validation".to_owned(),
                message: format!("the distributed profile needs it (set {variable})"),
            })
        }
        Ok(DistributedSections {
            postgres: required(self.postgres.as_ref(), "postgres.url", "ARGUS_POSTGRES__URL")?,
            kafka: required(self.kafka.as_ref(), "kafka.brokers", "ARGUS_KAFKA__BROKERS")?,
            valkey: required(self.valkey.as_ref(), "valkey.url", "ARGUS_VALKEY__URL")?,
            falkordb: required(self.falkordb.as_ref(), "falkordb.url", "ARGUS_FALKORDB__URL")?,
        })
    }

    /// Applies the `argus worker --health-addr` flag (the last layer), when given.
    pub fn with_worker_health_addr(mut self, health_addr: Option<SocketAddr>) -> Self {
        if let Some(health_addr) = health_addr {
            self.worker.health_addr = health_addr;
        }
        self
    }

    /// Applies command-line overrides (the last layer).
    pub fn with_overrides(mut self, listen: Option<SocketAddr>, data_dir: Option<PathBuf>) -> Self {
        if let Some(listen) = listen {
            self.listen = listen;
        }
        if let Some(data_dir) = data_dir {
            self.data_dir = data_dir;
        }
        self
    }

    /// Rejects values that deserialise but make no sense (zero limits).
    fn validate(&self) -> Result<(), BrainError> {
        let must_be_positive = [
            ("limits.max_body_bytes", self.limits.max_body_bytes as u64),
            ("limits.max_snapshot_bytes", self.limits.max_snapshot_bytes as u64),
            ("limits.max_items_per_batch", self.limits.max_items_per_batch as u64),
            ("limits.max_snapshots_per_batch", self.limits.max_snapshots_per_batch as u64),
            ("limits.request_timeout_secs", self.limits.request_timeout_secs),
        ];
        for (key, value) in must_be_positive {
            if value == 0 {
                return Err(BrainError::Config {
                    key: key.to_owned(),
                    source_name: "validation".to_owned(),
                    message: "must be greater than 0".to_owned(),
                });
            }
        }
        if self.profile == Profile::Distributed {
            self.distributed_sections()?;
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: Self::default_listen(),
            data_dir: Self::default_data_dir(),
            limits: LimitsConfig::default(),
            rate_limit: RateLimitConfig::default(),
            store: SqliteConfig::default(),
            bus: InProcessBusConfig::default(),
            cache: InProcessCacheConfig::default(),
            workers: WorkersConfig::default(),
            worker: WorkerProcessConfig::default(),
            shutdown: ShutdownConfig::default(),
            profile: Profile::default(),
            postgres: None,
            kafka: None,
            valkey: None,
            falkordb: None,
        }
    }
}

/// Size limits of the intake endpoint (`POST /api/v1/events`), and the request timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// The largest request body accepted, in bytes (32 MiB); larger bodies get 413.
    #[serde(default = "LimitsConfig::default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// The largest single DOM snapshot accepted, in bytes of HTML (8 MiB); larger ones get 413.
    #[serde(default = "LimitsConfig::default_max_snapshot_bytes")]
    pub max_snapshot_bytes: usize,
    /// The most events one batch may carry (10 000); more get 413.
    #[serde(default = "LimitsConfig::default_max_items_per_batch")]
    pub max_items_per_batch: usize,
    /// The most snapshots one batch may carry (200); more get 413.
    #[serde(default = "LimitsConfig::default_max_snapshots_per_batch")]
    pub max_snapshots_per_batch: usize,
    /// How long one request may take before it is answered with 408 (30 seconds).
    #[serde(default = "LimitsConfig::default_request_timeout_secs")]
    pub request_timeout_secs: u64,
}

impl LimitsConfig {
    /// 32 MiB.
    pub const fn default_max_body_bytes() -> usize {
        32 * 1024 * 1024
    }

    /// 8 MiB.
    pub const fn default_max_snapshot_bytes() -> usize {
        8 * 1024 * 1024
    }

    /// 10 000 events.
    pub const fn default_max_items_per_batch() -> usize {
        10_000
    }

    /// 200 snapshots.
    pub const fn default_max_snapshots_per_batch() -> usize {
        200
    }

    /// 30 seconds.
    pub const fn default_request_timeout_secs() -> u64 {
        30
    }

    /// The request timeout as a duration.
    pub const fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: Self::default_max_body_bytes(),
            max_snapshot_bytes: Self::default_max_snapshot_bytes(),
            max_items_per_batch: Self::default_max_items_per_batch(),
            max_snapshots_per_batch: Self::default_max_snapshots_per_batch(),
            request_timeout_secs: Self::default_request_timeout_secs(),
        }
    }
}

/// The per-project rate limit of the `/api/v1` routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests one project may make per clock minute (1200); 0 disables the limit.
    #[serde(default = "RateLimitConfig::default_requests_per_minute")]
    pub requests_per_minute: u64,
}

impl RateLimitConfig {
    /// 1200 requests per minute.
    pub const fn default_requests_per_minute() -> u64 {
        1200
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self { requests_per_minute: Self::default_requests_per_minute() }
    }
}

/// The `[worker]` section: the `argus worker` process itself (the roles' own settings are `[workers]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerProcessConfig {
    /// Where `argus worker` serves `/health`, `/ready` and `/metrics` for its orchestrator (`0.0.0.0:8081`,
    /// reachable by kubelet probes and compose health checks; port 0 picks a free port). Env
    /// `ARGUS_WORKER__HEALTH_ADDR`, flag `--health-addr`.
    #[serde(default = "WorkerProcessConfig::default_health_addr")]
    pub health_addr: SocketAddr,
}

impl WorkerProcessConfig {
    /// `0.0.0.0:8081`.
    pub const fn default_health_addr() -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), DEFAULT_WORKER_HEALTH_PORT)
    }
}

impl Default for WorkerProcessConfig {
    fn default() -> Self {
        Self { health_addr: Self::default_health_addr() }
    }
}

/// Graceful shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutdownConfig {
    /// How long to wait, after the HTTP server stopped, for the pipeline to process what is on the bus (10).
    #[serde(default = "ShutdownConfig::default_drain_timeout_secs")]
    pub drain_timeout_secs: u64,
}

impl ShutdownConfig {
    /// 10 seconds.
    pub const fn default_drain_timeout_secs() -> u64 {
        10
    }

    /// The drain timeout as a duration.
    pub const fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout_secs)
    }
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self { drain_timeout_secs: Self::default_drain_timeout_secs() }
    }
}

/// Reads an environment value as a TOML value (`1024`, `true`, `[1, 2]`), falling back to a plain string
/// (`127.0.0.1:8080`, `/var/lib/argus`).
fn typed_env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("value = {raw}"))
        .ok()
        .and_then(|mut table| table.remove("value"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

/// Sets `path` in `root` to `value`, creating tables on the way.
fn insert_at(
    root: &mut toml::Table,
    path: &[String],
    value: toml::Value,
    source_name: &str,
) -> Result<(), BrainError> {
    let Some((last, parents)) = path.split_last() else { return Ok(()) };
    let mut table = root;
    for (depth, segment) in parents.iter().enumerate() {
        let entry = table.entry(segment.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = match entry {
            toml::Value::Table(inner) => inner,
            _ => {
                return Err(BrainError::Config {
                    key: path[..=depth].join("."),
                    source_name: source_name.to_owned(),
                    message: "is not a section".to_owned(),
                });
            }
        };
    }
    table.insert(last.clone(), value);
    Ok(())
}

/// Remembers which source set each leaf key, for error messages.
fn record_leaf_sources(
    table: &toml::Table,
    prefix: &str,
    source_name: &str,
    sources: &mut BTreeMap<String, String>,
) {
    for (key, value) in table {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            toml::Value::Table(inner) => record_leaf_sources(inner, &path, source_name, sources),
            _ => {
                sources.insert(path, source_name.to_owned());
            }
        }
    }
}

/// Deserialises the merged table. An environment value that was read as a number or boolean but is
/// rejected where a string is expected (a data dir named `2024`) is retried as the string it was.
fn deserialize_with_string_fallback(
    mut root: toml::Table,
    overrides: &[(Vec<String>, String, toml::Value)],
    sources: &BTreeMap<String, String>,
) -> Result<Config, BrainError> {
    let mut retried = 0;
    loop {
        match serde_path_to_error::deserialize::<_, Config>(toml::Value::Table(root.clone())) {
            Ok(config) => return Ok(config),
            Err(error) => {
                let key = error.path().to_string();
                let retry = overrides.iter().find(|(path, _, value)| {
                    path.join(".") == key && !matches!(value, toml::Value::String(_))
                });
                if let (Some((path, raw, _)), true) = (retry, retried < overrides.len()) {
                    retried += 1;
                    insert_at(&mut root, path, toml::Value::String(raw.clone()), "environment")?;
                    continue;
                }
                // The toml deserialiser appends "in `section`" lines; the key is reported separately.
                let message = error.into_inner().to_string();
                let message = message.lines().next().unwrap_or_default().trim().to_owned();
                return Err(config_error(key, message, sources));
            }
        }
    }
}

/// Builds the error for a failed deserialisation, naming the key (including an unknown field's own name)
/// and the source of its value.
fn config_error(path: String, message: String, sources: &BTreeMap<String, String>) -> BrainError {
    let key = match unknown_field_name(&message) {
        Some(field) if path == "." || path.is_empty() => field.to_owned(),
        Some(field) if !path.ends_with(field) => format!("{path}.{field}"),
        _ => path,
    };
    let source_name = sources
        .iter()
        .filter(|(set, _)| **set == key || set.starts_with(&format!("{key}.")))
        .map(|(_, source)| source.clone())
        .next()
        .unwrap_or_else(|| "defaults".to_owned());
    BrainError::Config { key, source_name, message }
}

/// The field name of a serde "unknown field `x`, expected …" message.
fn unknown_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn config_error_key(result: Result<Config, BrainError>) -> (String, String, String) {
        match result {
            Err(BrainError::Config { key, source_name, message }) => (key, source_name, message),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let config = Config::load(None, &BTreeMap::new()).expect("defaults load");
        assert_eq!(config.listen, "127.0.0.1:8080".parse().expect("addr"));
        assert_eq!(config.data_dir, PathBuf::from(".argus-data"));
        assert_eq!(config.limits.max_body_bytes, 32 * 1024 * 1024);
        assert_eq!(config.limits.max_snapshot_bytes, 8 * 1024 * 1024);
        assert_eq!(config.limits.max_items_per_batch, 10_000);
        assert_eq!(config.limits.max_snapshots_per_batch, 200);
        assert_eq!(config.rate_limit.requests_per_minute, 1200);
        assert_eq!(config.shutdown.drain_timeout_secs, 10);
    }

    #[test]
    fn env_overrides_nested_keys_with_double_underscore() {
        let config = Config::load(None, &env(&[("ARGUS_LIMITS__MAX_BODY_BYTES", "1024")])).expect("loads");
        assert_eq!(config.limits.max_body_bytes, 1024);
        assert_eq!(config.limits.max_snapshot_bytes, LimitsConfig::default_max_snapshot_bytes());
    }

    #[test]
    fn env_overrides_top_level_keys() {
        let config = Config::load(
            None,
            &env(&[("ARGUS_LISTEN", "0.0.0.0:9000"), ("ARGUS_DATA_DIR", "/var/lib/argus")]),
        )
        .expect("loads");
        assert_eq!(config.listen, "0.0.0.0:9000".parse().expect("addr"));
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/argus"));
    }

    #[test]
    fn numeric_looking_env_value_for_a_string_key_stays_a_string() {
        let config = Config::load(None, &env(&[("ARGUS_DATA_DIR", "2024")])).expect("loads");
        assert_eq!(config.data_dir, PathBuf::from("2024"));
    }

    #[test]
    fn env_wins_over_file_and_file_wins_over_defaults() {
        let file = "listen = \"127.0.0.1:7000\"\n[limits]\nmax_body_bytes = 10\nmax_items_per_batch = 5\n";
        let config =
            Config::load(Some(file), &env(&[("ARGUS_LIMITS__MAX_BODY_BYTES", "20")])).expect("loads");
        assert_eq!(config.limits.max_body_bytes, 20);
        assert_eq!(config.limits.max_items_per_batch, 5);
        assert_eq!(config.listen.port(), 7000);
    }

    #[test]
    fn cli_overrides_win_over_everything() {
        let config = Config::load(None, &env(&[("ARGUS_LISTEN", "127.0.0.1:9000")]))
            .expect("loads")
            .with_overrides(Some("127.0.0.1:9001".parse().expect("addr")), Some(PathBuf::from("d")));
        assert_eq!(config.listen.port(), 9001);
        assert_eq!(config.data_dir, PathBuf::from("d"));
    }

    #[test]
    fn unknown_env_key_is_an_error_naming_the_key_and_variable() {
        let (key, source_name, _) =
            config_error_key(Config::load(None, &env(&[("ARGUS_LIMITS__MAX_BODY_BYTE", "1")])));
        assert_eq!(key, "limits.max_body_byte");
        assert_eq!(source_name, "environment variable ARGUS_LIMITS__MAX_BODY_BYTE");
    }

    #[test]
    fn unknown_file_key_is_an_error_naming_the_key() {
        let (key, source_name, message) =
            config_error_key(Config::load(Some("[rate_limit]\nrequests_per_hour = 3\n"), &BTreeMap::new()));
        assert_eq!(key, "rate_limit.requests_per_hour");
        assert_eq!(source_name, "config file");
        assert!(message.contains("unknown field"), "{message}");
    }

    #[test]
    fn unknown_top_level_key_is_an_error_naming_the_key() {
        let (key, _, _) = config_error_key(Config::load(Some("colour = \"blue\"\n"), &BTreeMap::new()));
        assert_eq!(key, "colour");
    }

    #[test]
    fn bad_value_is_an_error_naming_the_key() {
        let (key, source_name, _) =
            config_error_key(Config::load(None, &env(&[("ARGUS_LIMITS__MAX_ITEMS_PER_BATCH", "many")])));
        assert_eq!(key, "limits.max_items_per_batch");
        assert_eq!(source_name, "environment variable ARGUS_LIMITS__MAX_ITEMS_PER_BATCH");
        let (key, _, _) = config_error_key(Config::load(Some("listen = \"nowhere\"\n"), &BTreeMap::new()));
        assert_eq!(key, "listen");
    }

    #[test]
    fn zero_limit_is_rejected_by_validation() {
        let (key, _, message) =
            config_error_key(Config::load(None, &env(&[("ARGUS_LIMITS__MAX_SNAPSHOT_BYTES", "0")])));
        assert_eq!(key, "limits.max_snapshot_bytes");
        assert!(message.contains("greater than 0"));
    }

    #[test]
    fn invalid_toml_is_a_syntax_error() {
        assert!(matches!(
            Config::load(Some("listen = "), &BTreeMap::new()),
            Err(BrainError::ConfigSyntax(_))
        ));
    }

    /// The variables the deployment files (compose, Kubernetes) set.
    fn distributed_env(postgres_url: &str) -> BTreeMap<String, String> {
        env(&[
            ("ARGUS_PROFILE", "distributed"),
            ("ARGUS_POSTGRES__URL", postgres_url),
            ("ARGUS_KAFKA__BROKERS", "redpanda:9092"),
            ("ARGUS_VALKEY__URL", "redis://:valkey-pw@valkey:6379/"),
            ("ARGUS_FALKORDB__URL", "falkor://falkordb:6379"),
        ])
    }

    #[test]
    fn profile_defaults_to_embedded_and_needs_no_section() {
        let config = Config::load(None, &BTreeMap::new()).expect("defaults load");
        assert_eq!(config.profile, Profile::Embedded);
        assert!(config.postgres.is_none() && config.kafka.is_none());
        assert!(config.valkey.is_none() && config.falkordb.is_none());
    }

    #[test]
    fn distributed_profile_reads_its_four_sections_from_the_environment() {
        let config =
            Config::load(None, &distributed_env("postgres://argus:pw@postgres:5432/argus")).expect("loads");
        assert_eq!(config.profile, Profile::Distributed);
        let sections = config.distributed_sections().expect("all four sections");
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&sections.postgres.url),
            "postgres://argus:pw@postgres:5432/argus"
        );
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&sections.valkey.url),
            "redis://:valkey-pw@valkey:6379/"
        );
        assert_eq!(secrecy::ExposeSecret::expose_secret(&sections.falkordb.url), "falkor://falkordb:6379");
        #[cfg(feature = "distributed")]
        assert_eq!(sections.kafka.brokers, "redpanda:9092");
    }

    #[test]
    fn section_settings_are_overridable_by_nested_variables() {
        let mut variables = distributed_env("postgres://argus@postgres/argus");
        variables.insert("ARGUS_POSTGRES__MAX_CONNECTIONS".to_owned(), "4".to_owned());
        variables.insert("ARGUS_VALKEY__KEY_PREFIX".to_owned(), "t1:".to_owned());
        variables.insert("ARGUS_FALKORDB__GRAPH_NAME".to_owned(), "argus_t1".to_owned());
        variables.insert("ARGUS_KAFKA__TOPIC_PREFIX".to_owned(), "t1.".to_owned());
        let config = Config::load(None, &variables).expect("loads");
        let sections = config.distributed_sections().expect("sections");
        assert_eq!(sections.postgres.max_connections, 4);
        assert_eq!(sections.valkey.key_prefix.as_deref(), Some("t1:"));
        assert_eq!(sections.falkordb.graph_name, "argus_t1");
        #[cfg(feature = "distributed")]
        assert_eq!(sections.kafka.topic_prefix, "t1.");
    }

    #[test]
    fn distributed_profile_without_a_section_names_the_variable_to_set() {
        let mut variables = distributed_env("postgres://argus@postgres/argus");
        variables.remove("ARGUS_KAFKA__BROKERS");
        let (key, _, message) = config_error_key(Config::load(None, &variables));
        assert_eq!(key, "kafka.brokers");
        assert!(message.contains("ARGUS_KAFKA__BROKERS"), "{message}");
        // Set by the flag after loading, the check happens when the profile's sections are asked for.
        let embedded = Config::load(None, &BTreeMap::new()).expect("loads");
        let flagged = embedded.with_profile(Some(Profile::Distributed));
        assert!(matches!(
            flagged.distributed_sections(),
            Err(BrainError::Config { key, .. }) if key == "postgres.url"
        ));
    }

    #[test]
    fn unknown_profile_is_an_error_naming_the_key() {
        let (key, source_name, _) = config_error_key(Config::load(None, &env(&[("ARGUS_PROFILE", "cloud")])));
        assert_eq!(key, "profile");
        assert_eq!(source_name, "environment variable ARGUS_PROFILE");
    }

    #[test]
    fn debug_output_never_shows_a_url_password() {
        let mut variables = distributed_env("postgres://argus:pg-s3cret@postgres:5432/argus");
        variables.insert("ARGUS_KAFKA__SASL__USERNAME".to_owned(), "argus".to_owned());
        variables.insert("ARGUS_KAFKA__SASL__PASSWORD".to_owned(), "kafka-s3cret".to_owned());
        let config = Config::load(None, &variables).expect("loads");
        let shown = format!("{config:?} {config:#?}");
        for secret in ["pg-s3cret", "valkey-pw", "kafka-s3cret", "postgres://", "redis://"] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
    }

    #[test]
    fn worker_health_addr_defaults_to_every_interface_on_8081() {
        let config = Config::load(None, &BTreeMap::new()).expect("defaults load");
        assert_eq!(config.worker.health_addr, "0.0.0.0:8081".parse().expect("addr"));
        assert_eq!(config.worker.health_addr.port(), DEFAULT_WORKER_HEALTH_PORT);
    }

    #[test]
    fn worker_health_addr_layers_file_then_env_then_flag() {
        let file = "[worker]\nhealth_addr = \"127.0.0.1:7001\"\n";
        let from_file = Config::load(Some(file), &BTreeMap::new()).expect("loads");
        assert_eq!(from_file.worker.health_addr, "127.0.0.1:7001".parse().expect("addr"));

        let from_env =
            Config::load(Some(file), &env(&[(WORKER_HEALTH_ADDR_ENV, "127.0.0.1:7002")])).expect("loads");
        assert_eq!(from_env.worker.health_addr, "127.0.0.1:7002".parse().expect("addr"));

        let from_flag =
            from_env.clone().with_worker_health_addr(Some("127.0.0.1:7003".parse().expect("addr")));
        assert_eq!(from_flag.worker.health_addr, "127.0.0.1:7003".parse().expect("addr"));
        let no_flag = from_env.with_worker_health_addr(None);
        assert_eq!(no_flag.worker.health_addr, "127.0.0.1:7002".parse().expect("addr"));
    }

    #[test]
    fn bad_worker_health_addr_is_an_error_naming_the_key_and_variable() {
        for bad in ["nowhere", "8081", "127.0.0.1:99999"] {
            let (key, source_name, _) =
                config_error_key(Config::load(None, &env(&[(WORKER_HEALTH_ADDR_ENV, bad)])));
            assert_eq!(key, "worker.health_addr", "{bad}");
            assert_eq!(source_name, format!("environment variable {WORKER_HEALTH_ADDR_ENV}"), "{bad}");
        }
        let (key, source_name, message) =
            config_error_key(Config::load(Some("[worker]\nhealth_port = 8081\n"), &BTreeMap::new()));
        assert_eq!(key, "worker.health_port");
        assert_eq!(source_name, "config file");
        assert!(message.contains("unknown field"), "{message}");
    }

    #[test]
    fn unrelated_env_vars_are_ignored() {
        let config = Config::load(None, &env(&[("PATH", "/bin"), ("RUST_LOG", "debug")])).expect("loads");
        assert_eq!(config.rate_limit.requests_per_minute, 1200);
    }
}
