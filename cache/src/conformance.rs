//! The conformance suite: the checks every [`Cache`] adapter passes unchanged.
//!
//! Each check is a public async function over an `Arc<dyn Cache>`; [`crate::cache_conformance_tests!`]
//! expands to one `#[tokio::test]` per check, given an async factory that makes the cache:
//!
//! ```text
//! async fn in_process_cache() -> Arc<dyn argus_cache::Cache> { /* … */ }
//! argus_cache::cache_conformance_tests!(in_process_cache);
//! ```
//!
//! A real Valkey is shared between checks and runs, so every check names its entries with values unique to
//! its run (random project ids, report ids, prompt hashes, fingerprints) and never assumes an empty backend.
//!
//! The test crate needs `tokio` (features `macros`, `rt-multi-thread`) among its dependencies.

use crate::{Cache, CacheKey};
use argus_vocabulary::{Fingerprint, ProjectId};
use std::sync::Arc;
use uuid::Uuid;

/// How many concurrent increments [`concurrent_increments_are_counted_exactly`] runs.
pub const CONCURRENT_INCREMENTS: u64 = 200;

/// A text unique to one run of one check.
fn unique() -> String {
    Uuid::new_v4().simple().to_string()
}

/// A project id unique to one run of one check.
fn unique_project() -> ProjectId {
    match ProjectId::parse(format!("conformance-{}", unique())) {
        Ok(project) => project,
        Err(error) => panic!("a generated project id is invalid: {error}"),
    }
}

/// One key of every kind, all unique to this run.
fn one_key_of_each_kind() -> [CacheKey; 5] {
    let marker = unique();
    [
        CacheKey::Score(unique_project()),
        CacheKey::Report(format!("conformance-{marker}")),
        CacheKey::Heal(Fingerprint::from_parts(["conformance", marker.as_str()])),
        CacheKey::Rate { project: unique_project(), minute: 29_000_000 },
        CacheKey::Llm(format!("conformance-{marker}")),
    ]
}

async fn get(cache: &dyn Cache, key: &CacheKey) -> Option<Vec<u8>> {
    match cache.get(key).await {
        Ok(value) => value,
        Err(error) => panic!("get {} failed: {error}", key.render()),
    }
}

async fn set(cache: &dyn Cache, key: &CacheKey, value: &[u8]) {
    if let Err(error) = cache.set(key, value.to_vec()).await {
        panic!("set {} failed: {error}", key.render());
    }
}

async fn increment(cache: &dyn Cache, project: &ProjectId, minute: i64) -> u64 {
    match cache.increment_rate(project, minute).await {
        Ok(count) => count,
        Err(error) => panic!("increment_rate {project}/{minute} failed: {error}"),
    }
}

/// The backend answers a ping.
pub async fn ping_answers(cache: Arc<dyn Cache>) {
    let pinged = cache.ping().await;
    assert!(pinged.is_ok(), "ping failed: {pinged:?}");
}

/// Getting a key nobody set yields `None` for every key kind.
pub async fn get_of_a_missing_key_is_none(cache: Arc<dyn Cache>) {
    for key in one_key_of_each_kind() {
        assert_eq!(get(cache.as_ref(), &key).await, None, "{} was never set", key.render());
    }
}

/// A value set under any key kind is read back unchanged.
pub async fn set_then_get_round_trips_for_every_key_kind(cache: Arc<dyn Cache>) {
    for key in one_key_of_each_kind() {
        let value = format!("value of {}", key.render()).into_bytes();
        set(cache.as_ref(), &key, &value).await;
        assert_eq!(get(cache.as_ref(), &key).await, Some(value), "{}", key.render());
    }
    let binary = CacheKey::Report(format!("conformance-binary-{}", unique()));
    let bytes = [0_u8, 159, 255, 10, 0];
    set(cache.as_ref(), &binary, &bytes).await;
    assert_eq!(get(cache.as_ref(), &binary).await.as_deref(), Some(&bytes[..]), "bytes are kept as they are");
}

/// A second set replaces the first value.
pub async fn set_replaces_the_previous_value(cache: Arc<dyn Cache>) {
    let key = CacheKey::Score(unique_project());
    set(cache.as_ref(), &key, b"first").await;
    set(cache.as_ref(), &key, b"second").await;
    assert_eq!(get(cache.as_ref(), &key).await.as_deref(), Some(&b"second"[..]));
}

/// Delete removes a value, and deleting a missing key is not an error.
pub async fn delete_removes_the_value(cache: Arc<dyn Cache>) {
    let key = CacheKey::Report(format!("conformance-{}", unique()));
    let other = CacheKey::Report(format!("conformance-{}", unique()));
    set(cache.as_ref(), &key, b"report").await;
    set(cache.as_ref(), &other, b"kept").await;

    let deleted = cache.delete(&key).await;
    let deleted_again = cache.delete(&key).await;

    assert!(deleted.is_ok(), "delete failed: {deleted:?}");
    assert!(deleted_again.is_ok(), "deleting a missing key failed: {deleted_again:?}");
    assert_eq!(get(cache.as_ref(), &key).await, None);
    assert_eq!(get(cache.as_ref(), &other).await.as_deref(), Some(&b"kept"[..]), "only that key is deleted");
}

/// Increments count 1, 2, 3, separately per project and per minute.
pub async fn increment_rate_counts_per_project_and_minute(cache: Arc<dyn Cache>) {
    let project = unique_project();
    let other_project = unique_project();
    let minute = 29_000_001;

    let counts = [
        increment(cache.as_ref(), &project, minute).await,
        increment(cache.as_ref(), &project, minute).await,
        increment(cache.as_ref(), &project, minute).await,
    ];
    let next_minute = increment(cache.as_ref(), &project, minute + 1).await;
    let other = increment(cache.as_ref(), &other_project, minute).await;

    assert_eq!(counts, [1, 2, 3]);
    assert_eq!(next_minute, 1, "each minute has its own counter");
    assert_eq!(other, 1, "each project has its own counter");
}

/// Concurrent increments of one counter are each counted exactly once.
pub async fn concurrent_increments_are_counted_exactly(cache: Arc<dyn Cache>) {
    let project = unique_project();
    let minute = 29_000_002;

    let increments: Vec<_> = (0..CONCURRENT_INCREMENTS)
        .map(|_| {
            let cache = Arc::clone(&cache);
            let project = project.clone();
            tokio::spawn(async move { cache.increment_rate(&project, minute).await })
        })
        .collect();
    let mut counts = Vec::new();
    for increment in increments {
        match increment.await {
            Ok(Ok(count)) => counts.push(count),
            Ok(Err(error)) => panic!("a concurrent increment failed: {error}"),
            Err(error) => panic!("a concurrent increment panicked: {error}"),
        }
    }
    counts.sort_unstable();

    assert_eq!(counts, (1..=CONCURRENT_INCREMENTS).collect::<Vec<_>>(), "every increment got its own count");
    assert_eq!(increment(cache.as_ref(), &project, minute).await, CONCURRENT_INCREMENTS + 1);
}

/// Entries of two projects under the same key kind never see each other.
pub async fn keys_of_two_projects_never_collide(cache: Arc<dyn Cache>) {
    let first = unique_project();
    let second = unique_project();
    let minute = 29_000_003;

    set(cache.as_ref(), &CacheKey::Score(first.clone()), b"first").await;
    set(cache.as_ref(), &CacheKey::Score(second.clone()), b"second").await;
    let first_count = increment(cache.as_ref(), &first, minute).await;
    let second_count = increment(cache.as_ref(), &second, minute).await;

    assert_eq!(get(cache.as_ref(), &CacheKey::Score(first.clone())).await.as_deref(), Some(&b"first"[..]));
    assert_eq!(get(cache.as_ref(), &CacheKey::Score(second.clone())).await.as_deref(), Some(&b"second"[..]));
    assert_eq!((first_count, second_count), (1, 1), "each project counts on its own");

    let deleted = cache.delete(&CacheKey::Score(first.clone())).await;
    assert!(deleted.is_ok(), "delete failed: {deleted:?}");
    assert_eq!(get(cache.as_ref(), &CacheKey::Score(first)).await, None);
    assert_eq!(
        get(cache.as_ref(), &CacheKey::Score(second)).await.as_deref(),
        Some(&b"second"[..]),
        "deleting one project's entry leaves the other's"
    );
}

/// Expands to one `#[tokio::test]` per conformance check. `$factory` is an async function (or closure
/// returning a future) that makes an `Arc<dyn Cache>`. Invoke it inside a module to keep the test names
/// apart from the adapter's own tests.
#[macro_export]
macro_rules! cache_conformance_tests {
    ($factory:expr) => {
        $crate::cache_conformance_tests!(@checks $factory;
            ping_answers,
            get_of_a_missing_key_is_none,
            set_then_get_round_trips_for_every_key_kind,
            set_replaces_the_previous_value,
            delete_removes_the_value,
            increment_rate_counts_per_project_and_minute,
            concurrent_increments_are_counted_exactly,
            keys_of_two_projects_never_collide,
        );
    };
    (@checks $factory:expr; $($check:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                $crate::conformance::$check(($factory)().await).await;
            }
        )+
    };
}
