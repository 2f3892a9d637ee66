//! The distributed cache adapter: Valkey (or any Redis-protocol server) through the `redis` crate's
//! `ConnectionManager`.
//!
//! - [`ValkeyCacheConfig`]: the URL (a secret: it may carry a password), the timeouts and an optional key
//!   prefix.
//! - [`ValkeyCache`]: the [`Cache`]; [`ValkeyCache::connect`] checks the server answers,
//!   [`ValkeyCache::connect_lazy`] does not (the first command connects).
//!
//! Keys and TTLs are exactly [`CacheKey::render`] and [`CacheKey::ttl`]: `set` is `SET key value PX ttl`,
//! and the rate counter is `INCR` plus `PEXPIRE key ttl NX` in one `MULTI`/`EXEC` round trip, so the first
//! increment sets the expiry, later ones keep it, and no interleaving can leave a counter without one.
//!
//! Failing fast: every command runs under a deadline of `connect_timeout + response_timeout`, whatever
//! the state of the connection (down, refusing, or accepting and never answering), so a caller that
//! degrades on a cache error is never held up for longer. The connection manager reconnects on its own
//! when the server is back. Error messages never contain the URL or its password; failures are logged here
//! only at debug level, since the caller decides how to degrade and logs (and counts) it once.

use crate::{Cache, CacheError, CacheKey};
use argus_vocabulary::ProjectId;
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::fmt;
use std::future::Future;
use std::time::Duration;
use tracing::{debug, instrument};

/// Settings of the Valkey cache.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValkeyCacheConfig {
    /// The server, as `redis://[[user]:password@]host:port[/db]` (`rediss://` is not enabled). A secret:
    /// it never appears in `Debug`, logs or errors.
    pub url: SecretString,
    /// How long one attempt to open a connection may take, in milliseconds (1000).
    #[serde(default = "ValkeyCacheConfig::default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// How long the server may take to answer one command, in milliseconds (500).
    #[serde(default = "ValkeyCacheConfig::default_response_timeout_ms")]
    pub response_timeout_ms: u64,
    /// Text put in front of every rendered key (none by default: the data-layer key schema is fixed).
    /// Only for sharing one server between isolated users, such as test runs.
    #[serde(default)]
    pub key_prefix: Option<String>,
}

impl ValkeyCacheConfig {
    /// A config for `url` with every other setting at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: SecretString::from(url.into()),
            connect_timeout_ms: Self::default_connect_timeout_ms(),
            response_timeout_ms: Self::default_response_timeout_ms(),
            key_prefix: None,
        }
    }

    /// Default [`Self::connect_timeout_ms`]: one second.
    pub const fn default_connect_timeout_ms() -> u64 {
        1_000
    }

    /// Default [`Self::response_timeout_ms`]: half a second.
    pub const fn default_response_timeout_ms() -> u64 {
        500
    }

    /// [`Self::connect_timeout_ms`] as a duration.
    pub const fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// [`Self::response_timeout_ms`] as a duration.
    pub const fn response_timeout(&self) -> Duration {
        Duration::from_millis(self.response_timeout_ms)
    }

    /// The longest any one cache call may take before it fails: a connection attempt plus a response.
    pub const fn operation_deadline(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms.saturating_add(self.response_timeout_ms))
    }
}

/// How many times the connection manager retries opening a connection before the pending commands fail;
/// the next command starts a new attempt. One retry rides out a blip without holding callers up: a cache
/// that is down should answer "no" at once, not after a back-off.
const RECONNECT_RETRIES: usize = 1;

/// The longest pause between two connection attempts.
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(200);

/// The texts of a URL that must never be shown: the URL itself, its user-info part and the password as
/// the client decoded it.
#[derive(Clone)]
struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    fn new(url: &str, decoded_password: Option<&str>) -> Self {
        let mut secrets = vec![url.to_owned()];
        if let Some((_, rest)) = url.split_once("://")
            && let Some((user_info, _)) = rest.rsplit_once('@')
        {
            secrets.push(user_info.to_owned());
            if let Some((_, password)) = user_info.split_once(':') {
                secrets.push(password.to_owned());
            }
        }
        secrets.extend(decoded_password.map(str::to_owned));
        secrets.retain(|secret| !secret.is_empty());
        // Longest first, so a password inside the URL does not leave the rest of the URL behind.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        Self { secrets }
    }

    fn redact(&self, message: impl fmt::Display) -> String {
        let mut message = message.to_string();
        for secret in &self.secrets {
            if message.contains(secret.as_str()) {
                message = message.replace(secret.as_str(), "[redacted]");
            }
        }
        message
    }
}

/// The Valkey cache. Cloning is cheap; clones share the connection.
#[derive(Clone)]
pub struct ValkeyCache {
    connection: ConnectionManager,
    key_prefix: Option<String>,
    deadline: Duration,
    redactor: Redactor,
}

impl fmt::Debug for ValkeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValkeyCache")
            .field("url", &"[redacted]")
            .field("key_prefix", &self.key_prefix)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl ValkeyCache {
    /// Connects to the server and checks that it answers `PING` within the timeouts; fails with
    /// [`CacheError::Backend`] otherwise (or when the URL is not a valid `redis://` URL).
    pub async fn connect(config: &ValkeyCacheConfig) -> Result<Self, CacheError> {
        let cache = Self::connect_lazy(config)?;
        cache.ping().await?;
        debug!(key_prefix = ?cache.key_prefix, "valkey cache connected");
        Ok(cache)
    }

    /// A cache that connects on its first command: use it when the cache must not delay start-up (the
    /// server may come up later; until then every call fails fast). Fails only on an invalid URL.
    pub fn connect_lazy(config: &ValkeyCacheConfig) -> Result<Self, CacheError> {
        let url = config.url.expose_secret();
        let bare_redactor = Redactor::new(url, None);
        let client = redis::Client::open(url).map_err(|error| {
            CacheError::Backend(format!("invalid valkey url: {}", bare_redactor.redact(error)))
        })?;
        let redactor = Redactor::new(url, client.get_connection_info().redis_settings().password());
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout()))
            .set_response_timeout(Some(config.response_timeout()))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_max_delay(RECONNECT_MAX_DELAY);
        let connection =
            ConnectionManager::new_lazy_with_config(client, manager_config).map_err(|error| {
                CacheError::Backend(format!("valkey connection setup failed: {}", redactor.redact(error)))
            })?;
        Ok(Self {
            connection,
            key_prefix: config.key_prefix.clone(),
            deadline: config.operation_deadline(),
            redactor,
        })
    }

    /// The key as stored in Valkey: the configured prefix, if any, then [`CacheKey::render`].
    pub fn stored_key(&self, key: &CacheKey) -> String {
        match &self.key_prefix {
            Some(prefix) => format!("{prefix}{}", key.render()),
            None => key.render(),
        }
    }

    /// Runs one command under the deadline, mapping every failure to a redacted [`CacheError::Backend`].
    async fn run<T>(
        &self,
        operation: &'static str,
        command: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, CacheError> {
        match tokio::time::timeout(self.deadline, command).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                let message = self.redactor.redact(&error);
                debug!(operation, error = %message, "valkey command failed");
                Err(CacheError::Backend(format!("valkey {operation} failed: {message}")))
            }
            Err(_) => {
                debug!(operation, deadline_ms = self.deadline.as_millis(), "valkey command timed out");
                Err(CacheError::Backend(format!(
                    "valkey {operation} timed out after {} ms",
                    self.deadline.as_millis()
                )))
            }
        }
    }
}

/// A TTL in whole milliseconds, at least one (`PX 0` is an error).
fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl Cache for ValkeyCache {
    #[instrument(level = "debug", skip_all, fields(key = %key.render()))]
    async fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError> {
        let mut connection = self.connection.clone();
        let stored_key = self.stored_key(key);
        self.run("get", async move {
            redis::cmd("GET").arg(stored_key).query_async::<Option<Vec<u8>>>(&mut connection).await
        })
        .await
    }

    #[instrument(level = "debug", skip_all, fields(key = %key.render(), bytes = value.len()))]
    async fn set(&self, key: &CacheKey, value: Vec<u8>) -> Result<(), CacheError> {
        let mut connection = self.connection.clone();
        let stored_key = self.stored_key(key);
        let ttl = ttl_millis(key.ttl());
        self.run("set", async move {
            redis::cmd("SET")
                .arg(stored_key)
                .arg(value)
                .arg("PX")
                .arg(ttl)
                .query_async::<()>(&mut connection)
                .await
        })
        .await
    }

    #[instrument(level = "debug", skip_all, fields(key = %key.render()))]
    async fn delete(&self, key: &CacheKey) -> Result<(), CacheError> {
        let mut connection = self.connection.clone();
        let stored_key = self.stored_key(key);
        self.run("delete", async move {
            redis::cmd("DEL").arg(stored_key).query_async::<()>(&mut connection).await
        })
        .await
    }

    #[instrument(level = "debug", skip_all, fields(project = %project, minute))]
    async fn increment_rate(&self, project: &ProjectId, minute: i64) -> Result<u64, CacheError> {
        let key = CacheKey::Rate { project: project.clone(), minute };
        let mut connection = self.connection.clone();
        let stored_key = self.stored_key(&key);
        let ttl = ttl_millis(key.ttl());
        // MULTI; INCR; PEXPIRE … NX; EXEC, sent as one pipeline: the counter and its expiry change together,
        // NX keeps the expiry the first increment set (or a `set` gave the key).
        let (count, _expiry_set) = self
            .run("increment_rate", async move {
                redis::pipe()
                    .atomic()
                    .cmd("INCR")
                    .arg(&stored_key)
                    .cmd("PEXPIRE")
                    .arg(&stored_key)
                    .arg(ttl)
                    .arg("NX")
                    .query_async::<(i64, i64)>(&mut connection)
                    .await
            })
            .await?;
        u64::try_from(count)
            .map_err(|_| CacheError::Backend(format!("counter {} is negative: {count}", key.render())))
    }

    #[instrument(level = "debug", skip_all)]
    async fn ping(&self) -> Result<(), CacheError> {
        let mut connection = self.connection.clone();
        self.run("ping", async move { redis::cmd("PING").query_async::<String>(&mut connection).await })
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_apply_and_unknown_fields_are_rejected() {
        let parsed: ValkeyCacheConfig =
            serde_json::from_str(r#"{"url":"redis://127.0.0.1:6379/"}"#).expect("minimal config parses");
        assert_eq!(parsed.connect_timeout(), Duration::from_secs(1));
        assert_eq!(parsed.response_timeout(), Duration::from_millis(500));
        assert_eq!(parsed.operation_deadline(), Duration::from_millis(1_500));
        assert_eq!(parsed.key_prefix, None);
        assert!(serde_json::from_str::<ValkeyCacheConfig>(r#"{"url":"redis://h/","prefix":"x"}"#).is_err());
        assert!(serde_json::from_str::<ValkeyCacheConfig>("{}").is_err(), "the url is required");
    }

    #[test]
    fn redactor_hides_the_url_its_user_info_and_the_decoded_password() {
        let url = "redis://argus:s%40cret@db.internal:6379/0";
        let redactor = Redactor::new(url, Some("s@cret"));

        let redacted = redactor.redact(format!("failed: {url}; auth s@cret; raw s%40cret; argus:s%40cret"));

        assert!(!redacted.contains("s@cret"), "{redacted}");
        assert!(!redacted.contains("s%40cret"), "{redacted}");
        assert!(!redacted.contains(url), "{redacted}");
        assert!(redacted.starts_with("failed: [redacted]"), "{redacted}");
    }

    #[test]
    fn redactor_leaves_messages_of_a_url_without_password_readable() {
        let redactor = Redactor::new("redis://127.0.0.1:6379/", None);

        assert_eq!(redactor.redact("connection refused"), "connection refused");
    }

    #[test]
    fn ttl_in_milliseconds_is_never_zero() {
        assert_eq!(ttl_millis(Duration::from_secs(120)), 120_000);
        assert_eq!(ttl_millis(Duration::from_micros(10)), 1);
    }
}
