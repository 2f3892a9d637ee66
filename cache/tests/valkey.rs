//! The Valkey cache against a real server (`ARGUS_TEST_VALKEY_URL`, started by `data-layer/local/up.sh`):
//! expiries as the key schema says, the rate counter's atomicity and expiry, failing fast when the server
//! cannot be reached, reconnecting when it is back, and a password that never shows.
//!
//! Every test writes under a key prefix of its own, so runs and engineers sharing the server never meet.
//! Without `ARGUS_TEST_VALKEY_URL` each server test prints `skipping: …` and passes, unless
//! `ARGUS_REQUIRE_SERVICES=1`, which makes a missing server a failure.

use argus_cache::valkey::{ValkeyCache, ValkeyCacheConfig};
use argus_cache::{Cache, CacheError, CacheKey};
use argus_vocabulary::{Fingerprint, ProjectId};
use redis::aio::MultiplexedConnection;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

/// The Valkey URL, or `None` (after saying so) when the tests should not need one.
fn valkey_url() -> Option<String> {
    match std::env::var("ARGUS_TEST_VALKEY_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("ARGUS_REQUIRE_SERVICES").as_deref() == Ok("1") => panic!(
            "ARGUS_TEST_VALKEY_URL is not set but ARGUS_REQUIRE_SERVICES=1: run data-layer/local/up.sh and \
             source /tmp/argus-services/env.sh"
        ),
        _ => {
            eprintln!(
                "skipping: ARGUS_TEST_VALKEY_URL is not set (run data-layer/local/up.sh and source \
                 /tmp/argus-services/env.sh)"
            );
            None
        }
    }
}

/// A config for `url` whose keys live under a prefix unique to this test.
fn isolated_config(url: &str) -> ValkeyCacheConfig {
    ValkeyCacheConfig {
        key_prefix: Some(format!("argus-test-{}:", Uuid::new_v4().simple())),
        ..ValkeyCacheConfig::new(url)
    }
}

async fn connect(config: &ValkeyCacheConfig) -> ValkeyCache {
    match ValkeyCache::connect(config).await {
        Ok(cache) => cache,
        Err(error) => panic!("cannot connect to the test valkey: {error}"),
    }
}

/// A plain connection to the server, to look at what the adapter stored.
async fn raw_connection(url: &str) -> MultiplexedConnection {
    let client = redis::Client::open(url).expect("valid test url");
    client.get_multiplexed_async_connection().await.expect("raw connection to the test valkey")
}

async fn pttl(connection: &mut MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(connection).await.expect("PTTL")
}

fn project() -> ProjectId {
    ProjectId::parse(format!("valkey-{}", Uuid::new_v4().simple())).expect("valid project id")
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).expect("small duration")
}

/// A local port nothing listens on.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    port
}

/// A config whose calls all fail within `deadline` (connect + response timeouts).
fn fast_failing_config(url: String) -> ValkeyCacheConfig {
    ValkeyCacheConfig { connect_timeout_ms: 300, response_timeout_ms: 200, ..ValkeyCacheConfig::new(url) }
}

/// How much later than its deadline a failing call may return (scheduling on a busy machine).
const SLACK: Duration = Duration::from_millis(750);

#[tokio::test]
async fn every_key_kind_is_stored_with_its_ttl() {
    let Some(url) = valkey_url() else { return };
    let cache = connect(&isolated_config(&url)).await;
    let mut raw = raw_connection(&url).await;
    let keys = [
        CacheKey::Score(project()),
        CacheKey::Report("r1".to_owned()),
        CacheKey::Heal(Fingerprint::from_parts(["valkey", "ttl"])),
        CacheKey::Rate { project: project(), minute: 1 },
        CacheKey::Llm("prompt-hash".to_owned()),
    ];

    for key in &keys {
        cache.set(key, b"value".to_vec()).await.expect("set");
        let remaining = pttl(&mut raw, &cache.stored_key(key)).await;

        let ttl = millis(key.ttl());
        assert!(
            remaining > ttl - 5_000 && remaining <= ttl,
            "{} has {remaining} ms left, its ttl is {ttl} ms",
            key.render()
        );
    }
}

#[tokio::test]
async fn the_first_increment_sets_the_rate_ttl_and_later_ones_keep_the_expiry() {
    let Some(url) = valkey_url() else { return };
    let cache = connect(&isolated_config(&url)).await;
    let mut raw = raw_connection(&url).await;
    let shop = project();
    let key = cache.stored_key(&CacheKey::Rate { project: shop.clone(), minute: 7 });

    assert_eq!(cache.increment_rate(&shop, 7).await.expect("increment"), 1);
    let after_first = pttl(&mut raw, &key).await;
    assert!(
        after_first > 115_000 && after_first <= 120_000,
        "{after_first} ms left after the first increment"
    );

    // Shorten the expiry by hand: a later increment must not push it back to two minutes.
    let _: () = redis::cmd("PEXPIRE").arg(&key).arg(30_000).query_async(&mut raw).await.expect("PEXPIRE");
    assert_eq!(cache.increment_rate(&shop, 7).await.expect("increment"), 2);

    let after_second = pttl(&mut raw, &key).await;
    assert!(after_second > 0 && after_second <= 30_000, "{after_second} ms left after the second increment");
}

#[tokio::test]
async fn the_rate_key_expires_and_counting_starts_again_with_a_fresh_ttl() {
    let Some(url) = valkey_url() else { return };
    let cache = connect(&isolated_config(&url)).await;
    let mut raw = raw_connection(&url).await;
    let shop = project();
    let key = cache.stored_key(&CacheKey::Rate { project: shop.clone(), minute: 8 });
    cache.increment_rate(&shop, 8).await.expect("increment");
    cache.increment_rate(&shop, 8).await.expect("increment");

    // Two minutes is too long to wait: bring the expiry close, then watch the key go.
    let _: () = redis::cmd("PEXPIRE").arg(&key).arg(100).query_async(&mut raw).await.expect("PEXPIRE");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let exists: i64 = redis::cmd("EXISTS").arg(&key).query_async(&mut raw).await.expect("EXISTS");
        if exists == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the rate key did not expire");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    assert_eq!(cache.increment_rate(&shop, 8).await.expect("increment"), 1, "a new minute window");
    let remaining = pttl(&mut raw, &key).await;
    assert!(remaining > 115_000 && remaining <= 120_000, "{remaining} ms left on the new counter");
}

#[tokio::test]
async fn a_rate_counter_without_expiry_gets_one_on_its_next_increment() {
    let Some(url) = valkey_url() else { return };
    let cache = connect(&isolated_config(&url)).await;
    let mut raw = raw_connection(&url).await;
    let shop = project();
    let key = cache.stored_key(&CacheKey::Rate { project: shop.clone(), minute: 9 });
    let _: () = redis::cmd("SET").arg(&key).arg("41").query_async(&mut raw).await.expect("SET");
    assert_eq!(pttl(&mut raw, &key).await, -1, "set by hand without expiry");

    assert_eq!(cache.increment_rate(&shop, 9).await.expect("increment"), 42);

    let remaining = pttl(&mut raw, &key).await;
    assert!(remaining > 115_000 && remaining <= 120_000, "a counter never lives forever: {remaining} ms");
}

#[tokio::test]
async fn incrementing_a_value_that_is_not_a_counter_fails_and_leaves_it() {
    let Some(url) = valkey_url() else { return };
    let cache = connect(&isolated_config(&url)).await;
    let shop = project();
    let key = CacheKey::Rate { project: shop.clone(), minute: 10 };
    cache.set(&key, b"not a number".to_vec()).await.expect("set");

    let incremented = cache.increment_rate(&shop, 10).await;

    assert!(matches!(incremented, Err(CacheError::Backend(_))), "got {incremented:?}");
    assert_eq!(cache.get(&key).await.expect("get").as_deref(), Some(&b"not a number"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_increments_over_two_connections_count_two_hundred() {
    let Some(url) = valkey_url() else { return };
    let config = isolated_config(&url);
    let caches = [Arc::new(connect(&config).await), Arc::new(connect(&config).await)];
    let shop = project();

    let mut increments = JoinSet::new();
    for n in 0..200 {
        let cache = Arc::clone(&caches[n % 2]);
        let shop = shop.clone();
        increments.spawn(async move { cache.increment_rate(&shop, 11).await });
    }
    let mut counts = Vec::new();
    while let Some(joined) = increments.join_next().await {
        counts.push(joined.expect("joined").expect("increment"));
    }
    counts.sort_unstable();

    assert_eq!(counts, (1..=200).collect::<Vec<u64>>(), "every increment got its own count");
    let stored = caches[0].get(&CacheKey::Rate { project: shop, minute: 11 }).await.expect("get");
    assert_eq!(stored.as_deref(), Some(&b"200"[..]));
}

#[tokio::test]
async fn the_key_prefix_isolates_two_caches_on_one_server() {
    let Some(url) = valkey_url() else { return };
    let first = connect(&isolated_config(&url)).await;
    let second = connect(&isolated_config(&url)).await;
    let key = CacheKey::Report("shared-name".to_owned());

    first.set(&key, b"first".to_vec()).await.expect("set");

    assert_eq!(second.get(&key).await.expect("get"), None);
    assert_eq!(first.get(&key).await.expect("get").as_deref(), Some(&b"first"[..]));
    assert!(first.stored_key(&key).ends_with(":argus:report:shared-name"), "{}", first.stored_key(&key));
}

#[test]
fn without_a_prefix_keys_are_stored_exactly_as_the_key_schema_renders_them() {
    // Building a lazy cache needs a runtime but no server.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let cache = ValkeyCache::connect_lazy(&ValkeyCacheConfig::new("redis://127.0.0.1:1/")).expect("lazy");
        let key = CacheKey::Rate { project: ProjectId::parse("shop").expect("valid"), minute: 3 };
        assert_eq!(cache.stored_key(&key), "argus:rate:shop:3");
    });
}

#[tokio::test]
async fn calls_against_a_closed_port_fail_within_the_deadline() {
    let port = closed_port().await;
    let config = fast_failing_config(format!("redis://127.0.0.1:{port}/"));
    let deadline = config.operation_deadline();

    let started = Instant::now();
    let connected = ValkeyCache::connect(&config).await;
    assert!(matches!(connected, Err(CacheError::Backend(_))), "got {connected:?}");
    assert!(started.elapsed() < deadline + SLACK, "connect took {:?}", started.elapsed());

    let cache = ValkeyCache::connect_lazy(&config).expect("a lazy cache needs no server");
    let key = CacheKey::Report("unreachable".to_owned());
    for _ in 0..3 {
        let started = Instant::now();
        let got = cache.get(&key).await;
        assert!(matches!(got, Err(CacheError::Backend(_))), "got {got:?}");
        assert!(started.elapsed() < deadline + SLACK, "get took {:?}", started.elapsed());
    }
    let started = Instant::now();
    assert!(cache.increment_rate(&project(), 1).await.is_err());
    assert!(started.elapsed() < deadline + SLACK, "increment took {:?}", started.elapsed());
}

#[tokio::test]
async fn calls_against_a_server_that_never_answers_fail_within_the_deadline() {
    // Accepts connections and reads nothing, answers nothing.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let config = fast_failing_config(format!("redis://127.0.0.1:{port}/"));
    let cache = ValkeyCache::connect_lazy(&config).expect("lazy");

    for _ in 0..2 {
        let started = Instant::now();
        let got = cache.get(&CacheKey::Report("silent".to_owned())).await;
        assert!(matches!(got, Err(CacheError::Backend(_))), "got {got:?}");
        assert!(started.elapsed() < config.operation_deadline() + SLACK, "get took {:?}", started.elapsed());
    }
    silent.abort();
}

/// A TCP proxy in front of the server that the test can take away and bring back on the same port,
/// to play a server that goes down and comes back.
struct Proxy {
    port: u16,
    target: String,
    tasks: JoinSet<()>,
}

impl Proxy {
    async fn start(port: u16, target: &str) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind proxy");
        let port = listener.local_addr().expect("local addr").port();
        let mut proxy = Self { port, target: target.to_owned(), tasks: JoinSet::new() };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target.clone();
        self.tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
    }

    /// Closes the listener and every proxied connection.
    async fn stop(mut self) -> u16 {
        self.tasks.shutdown().await;
        self.port
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_fails_fast_while_the_server_is_gone_and_recovers_when_it_is_back() {
    let Some(url) = valkey_url() else { return };
    let server = redis::Client::open(url.as_str()).expect("valid url");
    let target = server.get_connection_info().addr().to_string();
    let proxy = Proxy::start(0, &target).await;
    let config = ValkeyCacheConfig {
        key_prefix: Some(format!("argus-test-{}:", Uuid::new_v4().simple())),
        ..fast_failing_config(format!("redis://127.0.0.1:{}/", proxy.port))
    };
    let cache = connect(&config).await;
    let key = CacheKey::Score(project());
    cache.set(&key, b"before".to_vec()).await.expect("set through the proxy");

    let port = proxy.stop().await;
    for _ in 0..3 {
        let started = Instant::now();
        let got = cache.get(&key).await;
        assert!(got.is_err(), "the server is gone, got {got:?}");
        assert!(started.elapsed() < config.operation_deadline() + SLACK, "get took {:?}", started.elapsed());
    }

    let _proxy = Proxy::start(port, &target).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match cache.get(&key).await {
            Ok(value) => {
                assert_eq!(value.as_deref(), Some(&b"before"[..]));
                break;
            }
            Err(error) => {
                assert!(Instant::now() < deadline, "no reconnection after the server came back: {error}")
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_password_never_shows_in_debug_or_errors() {
    let password = "hunter2-not-shown";
    let port = closed_port().await;
    let config = fast_failing_config(format!("redis://argus:{password}@127.0.0.1:{port}/"));

    assert!(!format!("{config:?}").contains(password), "{config:?}");
    let lazy = ValkeyCache::connect_lazy(&config).expect("lazy");
    assert!(!format!("{lazy:?}").contains(password), "{lazy:?}");
    let unreachable = ValkeyCache::connect(&config).await.expect_err("closed port");
    assert!(!unreachable.to_string().contains(password), "{unreachable}");
    let failed_get = lazy.get(&CacheKey::Report("r".to_owned())).await.expect_err("closed port");
    assert!(!failed_get.to_string().contains(password), "{failed_get}");

    let invalid = ValkeyCacheConfig::new(format!("redis://argus:{password}@127.0.0.1:notaport/"));
    let rejected = ValkeyCache::connect_lazy(&invalid).expect_err("invalid url");
    assert!(!rejected.to_string().contains(password), "{rejected}");

    // A real server that refuses the credentials.
    let Some(url) = valkey_url() else { return };
    let server = redis::Client::open(url.as_str()).expect("valid url");
    let with_password =
        ValkeyCacheConfig::new(format!("redis://argus:{password}@{}/", server.get_connection_info().addr()));
    let refused = ValkeyCache::connect(&with_password).await.expect_err("the test server has no such user");
    assert!(!refused.to_string().contains(password), "{refused}");
}
