//! The distributed profile end to end: REAL `argus` processes (the binary of this package, built with the
//! `distributed` feature) on the real servers started by `data-layer/local/up.sh`
//! (`source /tmp/argus-services/env.sh`).
//!
//! - the API (`serve --profile distributed --api-only`) and one `argus worker` process per role heal a
//!   broken locator; rows in Postgres, nodes in FalkorDB and committed offsets in the broker are checked;
//!   each worker's probes answer (`/health`: its loops run, `/ready`: its dependencies are up, `/metrics`:
//!   the messages it handled); SIGTERM stops every process with exit code 0;
//! - a healer killed with SIGKILL mid-stream and restarted loses no request and duplicates no suggestion;
//! - a poison message lands in `argus.dlq` and in the store's dead letters, and the stream keeps flowing;
//! - with Valkey unreachable requests are still served (degraded: the API's and the workers' `/ready` say
//!   so, metrics count it);
//! - with Postgres down `/ready` is 503 and intake answers 503, and what was accepted is processed once
//!   Postgres is back (a private Postgres instance, so the shared server is never stopped).
//!
//! Isolation on the shared servers: every test has its own Postgres database, Kafka topic prefix (and so
//! consumer groups), Valkey key prefix and FalkorDB graph. Without the servers' variables each test prints
//! `skipping: …` and returns, unless `ARGUS_REQUIRE_SERVICES=1` (the test command), which makes it fail.

#![cfg(feature = "distributed")]

use argus_brain::api::suggestions::SuggestionView;
use argus_brain::demo::ApiClient;
use argus_brain::demo::scenario::{self, CHECKOUT_BUTTON};
use argus_bus::Bus;
use argus_bus::kafka::{KafkaBus, KafkaBusConfig};
use argus_graph::KnowledgeGraph;
use argus_graph::falkordb::{FalkorGraph, FalkorGraphConfig};
use argus_store::postgres::{PostgresConfig, PostgresStore};
use argus_store::{Store, StoreCounts};
use argus_vocabulary::{DeadLetter, Envelope, HealSource, ProjectId, Topic};
use argus_workers::Role;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use reqwest::StatusCode;
use secrecy::SecretString;
use sqlx::Connection;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;
use tempfile::TempDir;
use tokio::time::Instant;

/// The longest any wait on the pipeline may take before the test fails.
const WAIT: Duration = Duration::from_secs(90);

/// The longest a process may take to exit after SIGTERM.
const EXIT_WAIT: Duration = Duration::from_secs(30);

/// A password put in every Postgres URL the processes get: it must never show in logs or `/metrics`. The
/// local server trusts loopback connections, so it is accepted and ignored.
const URL_PASSWORD: &str = "pg-Secret-4f7c1";

/// The project every test creates.
const PROJECT: &str = "demo";

// ---------------------------------------------------------------------------------------------------------
// Servers

/// The shared servers' addresses.
#[derive(Debug, Clone)]
struct Services {
    postgres_url: String,
    kafka_brokers: String,
    valkey_url: String,
    falkordb_url: String,
}

/// The servers from the environment, or `None` (after saying so) when they are not configured; panics
/// instead when `ARGUS_REQUIRE_SERVICES=1`.
fn services() -> Option<Services> {
    let names = [
        "ARGUS_TEST_POSTGRES_URL",
        "ARGUS_TEST_KAFKA_BROKERS",
        "ARGUS_TEST_VALKEY_URL",
        "ARGUS_TEST_FALKORDB_URL",
    ];
    let values: Vec<Option<String>> = names.iter().map(|name| std::env::var(name).ok()).collect();
    let missing: Vec<&str> =
        names.iter().zip(&values).filter(|(_, value)| value.is_none()).map(|(name, _)| *name).collect();
    if missing.is_empty() {
        let value = |index: usize| values[index].clone().unwrap_or_default();
        return Some(Services {
            postgres_url: value(0),
            kafka_brokers: value(1),
            valkey_url: value(2),
            falkordb_url: value(3),
        });
    }
    if std::env::var("ARGUS_REQUIRE_SERVICES").is_ok_and(|value| value == "1") {
        panic!(
            "{} not set: run data-layer/local/up.sh and source /tmp/argus-services/env.sh",
            missing.join(", ")
        );
    }
    eprintln!(
        "skipping: {} not set (run data-layer/local/up.sh to test the distributed profile)",
        missing.join(", ")
    );
    None
}

/// Polls `probe` until it answers `Some`, for at most `timeout`; the test fails naming `what` otherwise.
async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {}s waiting for {what}", timeout.as_secs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A free loopback port (bound, then released for a process to take).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

// ---------------------------------------------------------------------------------------------------------
// One test's slice of the servers, and the processes running on it

/// One test's isolated slice of the servers: its database, topic prefix, key prefix and graph, the
/// environment every process of the test gets, and the folder of their logs.
struct Stack {
    id: String,
    admin_url: String,
    database: String,
    database_url: String,
    kafka: KafkaBusConfig,
    falkordb: FalkorGraphConfig,
    env: Vec<(String, String)>,
    logs: TempDir,
}

impl Stack {
    /// Creates the test's database on the server `services.postgres_url` names (or on `postgres_url`, a
    /// private server) and the environment of its processes.
    async fn new(services: &Services, postgres_admin_url: Option<&str>) -> Stack {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let admin_url = postgres_admin_url.unwrap_or(&services.postgres_url).to_owned();
        let database = format!("argus_e2e_{id}");
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("connect to postgres as admin");
        sqlx::query(&format!("CREATE DATABASE \"{database}\""))
            .execute(&mut admin)
            .await
            .expect("create database");
        admin.close().await.expect("close the admin connection");
        let mut url = reqwest::Url::parse(&admin_url).expect("postgres url");
        url.set_path(&format!("/{database}"));
        if url.password().is_none() {
            url.set_password(Some(URL_PASSWORD)).expect("a url with a host takes a password");
        }
        let database_url = url.to_string();

        let topic_prefix = format!("e2e-{id}.");
        let mut kafka = KafkaBusConfig::new(services.kafka_brokers.clone());
        kafka.topic_prefix = topic_prefix.clone();
        kafka.client_id = format!("argus-e2e-test-{id}");
        kafka.session_timeout_ms = 3_000;
        let mut falkordb = FalkorGraphConfig::new(services.falkordb_url.clone());
        falkordb.graph_name = format!("argus_e2e_{id}");

        let env = [
            ("ARGUS_PROFILE", "distributed".to_owned()),
            ("ARGUS_DATA_DIR", std::env::temp_dir().join(format!("argus-e2e-{id}")).display().to_string()),
            ("ARGUS_POSTGRES__URL", database_url.clone()),
            // Many processes share one server: keep each pool small.
            ("ARGUS_POSTGRES__MAX_CONNECTIONS", "4".to_owned()),
            ("ARGUS_POSTGRES__ACQUIRE_TIMEOUT_MS", "2000".to_owned()),
            ("ARGUS_KAFKA__BROKERS", services.kafka_brokers.clone()),
            ("ARGUS_KAFKA__TOPIC_PREFIX", topic_prefix),
            ("ARGUS_KAFKA__CLIENT_ID", format!("argus-e2e-{id}")),
            ("ARGUS_KAFKA__SESSION_TIMEOUT_MS", "3000".to_owned()),
            ("ARGUS_VALKEY__URL", services.valkey_url.clone()),
            ("ARGUS_VALKEY__KEY_PREFIX", format!("e2e-{id}:")),
            ("ARGUS_FALKORDB__URL", services.falkordb_url.clone()),
            ("ARGUS_FALKORDB__GRAPH_NAME", falkordb.graph_name.clone()),
            ("ARGUS_SHUTDOWN__DRAIN_TIMEOUT_SECS", "10".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
        let logs = tempfile::Builder::new().prefix("argus-e2e-logs-").tempdir().expect("logs dir");
        Stack { id, admin_url, database, database_url, kafka, falkordb, env, logs }
    }

    /// Replaces (or adds) one variable of every process started from now on.
    fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(existing, _)| existing != name);
        self.env.push((name.to_owned(), value.to_owned()));
    }

    fn command(&self, args: &[&str], extra_env: &[(&str, String)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_argus"));
        // Nothing of the test's own environment leaks in: the ARGUS_TEST_* variables would be unknown keys.
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(name, value)| (name.as_str(), value.as_str())))
            .envs(extra_env.iter().map(|(name, value)| (*name, value.as_str())))
            .args(args);
        command
    }

    /// `argus project create demo`; returns the API key it prints.
    fn create_project(&self) -> String {
        let output = self
            .command(&["project", "create", PROJECT], &[])
            .stdin(Stdio::null())
            .output()
            .expect("run argus project create");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "argus project create failed: {stderr}");
        assert!(!stderr.contains(URL_PASSWORD), "project create showed the password: {stderr}");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Starts `argus <args>`, its stderr going to `<logs>/<name>-<n>.log`.
    fn spawn(&self, name: &str, args: &[&str], extra_env: &[(&str, String)]) -> Process {
        let mut index = 0;
        let log = loop {
            let candidate = self.logs.path().join(format!("{name}-{index}.log"));
            if !candidate.exists() {
                break candidate;
            }
            index += 1;
        };
        let file = std::fs::File::create(&log).expect("create the log file");
        let child = self
            .command(args, extra_env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(file))
            .spawn()
            .expect("spawn argus");
        Process { name: format!("{name}-{index}"), child, log, exited: None }
    }

    /// Starts the HTTP process (`argus serve --profile distributed` plus `extra_args`) on a free port and
    /// waits until `/ready` answers 200.
    async fn spawn_api(&self, name: &str, extra_args: &[&str]) -> (Process, String) {
        let port = free_port();
        let mut args = vec!["serve", "--profile", "distributed"];
        args.extend_from_slice(extra_args);
        let mut process = self.spawn(name, &args, &[("ARGUS_LISTEN", format!("127.0.0.1:{port}"))]);
        let base_url = format!("http://127.0.0.1:{port}");
        let http = http_client();
        let ready_url = format!("{base_url}/ready");
        wait_until(&format!("{name} to be ready"), WAIT, || {
            let request = http.get(&ready_url).send();
            let exited = process.has_exited();
            async move {
                if let Some(status) = exited {
                    panic!("the api process exited early with {status}");
                }
                request.await.ok().filter(|response| response.status() == StatusCode::OK).map(|_| ())
            }
        })
        .await;
        (process, base_url)
    }

    /// Starts `argus worker <role>` with its probe listener on a free port (`--health-addr`); returns the
    /// process and the probes' base URL without waiting for it.
    fn spawn_worker(&self, role: Role) -> (Process, String) {
        let health_addr = format!("127.0.0.1:{}", free_port());
        let process =
            self.spawn(role.as_str(), &["worker", role.as_str(), "--health-addr", &health_addr], &[]);
        (process, format!("http://{health_addr}"))
    }

    /// A store on the test's database.
    async fn store(&self) -> PostgresStore {
        let mut config = PostgresConfig::new(SecretString::from(self.database_url.clone()));
        config.max_connections = 2;
        PostgresStore::connect(&config).await.expect("connect to the test database")
    }

    /// The test's graph.
    async fn graph(&self) -> FalkorGraph {
        FalkorGraph::connect(&self.falkordb).await.expect("connect to falkordb")
    }

    /// The committed offsets and the end offsets of `group` on `topic`, each summed over the partitions.
    async fn committed_and_end(&self, group: String, topic: Topic) -> (i64, i64) {
        let brokers = self.kafka.brokers.clone();
        let wire_topic = self.kafka.topic_name(topic);
        tokio::task::spawn_blocking(move || {
            let timeout = Duration::from_secs(5);
            let consumer: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &brokers)
                .set("group.id", &group)
                .set("enable.auto.commit", "false")
                .create()
                .expect("an offset reader");
            let metadata = consumer.fetch_metadata(Some(&wire_topic), timeout).expect("topic metadata");
            let mut partitions = TopicPartitionList::new();
            for found in metadata.topics().iter().filter(|found| found.name() == wire_topic) {
                for partition in found.partitions() {
                    partitions.add_partition(&wire_topic, partition.id());
                }
            }
            assert!(partitions.count() > 0, "topic {wire_topic} has no partitions");
            let committed = consumer.committed_offsets(partitions, timeout).expect("committed offsets");
            let (mut committed_sum, mut end_sum) = (0, 0);
            for element in committed.elements() {
                if let Offset::Offset(offset) = element.offset() {
                    committed_sum += offset;
                }
                let (_, high) =
                    consumer.fetch_watermarks(&wire_topic, element.partition(), timeout).expect("watermarks");
                end_sum += high;
            }
            (committed_sum, end_sum)
        })
        .await
        .expect("offset reader thread")
    }

    /// Waits until `role`'s consumer group committed everything on `topic`; returns the end offset sum.
    async fn wait_for_no_lag(&self, role: Role, topic: Topic) -> i64 {
        let group = argus_brain::distributed::consumer_group(&self.kafka, role);
        wait_until(&format!("{group} to commit all of {topic}"), WAIT, || async {
            let (committed, end) = self.committed_and_end(group.clone(), topic).await;
            (committed == end).then_some(end)
        })
        .await
    }

    /// Drops the test's database and graph (best effort: a failed test leaves them for inspection).
    async fn clean_up(self) {
        if let Ok(graph) = FalkorGraph::connect(&self.falkordb).await {
            let _ = graph.delete_graph().await;
        }
        if let Ok(mut admin) = sqlx::PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.database))
                .execute(&mut admin)
                .await;
            let _ = admin.close().await;
        }
        eprintln!("stack {} cleaned up", self.id);
    }
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client")
}

/// Waits until the worker's `/health` answers 200; fails if the process exits first.
async fn wait_until_live(process: &mut Process, base_url: &str) {
    let http = http_client();
    let health_url = format!("{base_url}/health");
    let what = format!("{} to be live", process.name);
    wait_until(&what, WAIT, || {
        let request = http.get(&health_url).send();
        let exited = process.has_exited();
        async move {
            if let Some(status) = exited {
                panic!("the worker exited early with {status}");
            }
            request.await.ok().filter(|response| response.status() == StatusCode::OK).map(|_| ())
        }
    })
    .await;
}

/// GET `url`: the status and the body as JSON.
async fn get_json(url: &str) -> (StatusCode, serde_json::Value) {
    let response = http_client().get(url).send().await.unwrap_or_else(|error| panic!("GET {url}: {error}"));
    let status = response.status();
    let body = response.json().await.unwrap_or_else(|error| panic!("GET {url}: not json: {error}"));
    (status, body)
}

/// GET `url`: the body as text (`/metrics`).
async fn get_text(url: &str) -> String {
    let response = http_client().get(url).send().await.unwrap_or_else(|error| panic!("GET {url}: {error}"));
    assert_eq!(response.status(), StatusCode::OK, "GET {url}");
    response.text().await.expect("a text body")
}

/// A running `argus` process. Dropping it kills it (SIGKILL) if it still runs, and prints its log tail when
/// the test is failing.
struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    exited: Option<ExitStatus>,
}

impl Process {
    fn has_exited(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().expect("poll the child");
        }
        self.exited
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`; fails if the process exits first.
    async fn wait_for_log(&mut self, needle: &str) {
        let what = format!("{} to log {needle:?}", self.name);
        wait_until(&what, WAIT, || {
            let exited = self.has_exited();
            let found = self.log_text().contains(needle);
            async move {
                if let (false, Some(status)) = (found, exited) {
                    panic!("the process exited with {status} before logging {needle:?}");
                }
                found.then_some(())
            }
        })
        .await;
    }

    /// SIGTERM, as an orchestrator stops a container.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill -TERM");
        assert!(status.success(), "kill -TERM {} failed", self.child.id());
    }

    /// SIGKILL: no chance to commit or leave the group.
    fn kill(&mut self) {
        self.child.kill().expect("kill -KILL");
        self.exited = Some(self.child.wait().expect("reap the child"));
    }

    /// Waits (bounded) for the process to exit and returns its status.
    async fn wait_exit(&mut self) -> ExitStatus {
        let name = self.name.clone();
        wait_until(&format!("{name} to exit"), EXIT_WAIT, || {
            let exited = self.has_exited();
            async move { exited }
        })
        .await
    }

    /// SIGTERM, then asserts a clean exit (code 0) within the bound.
    async fn stop_gracefully(&mut self) {
        self.terminate();
        let status = self.wait_exit().await;
        assert!(status.success(), "{} exited with {status} after SIGTERM:\n{}", self.name, self.log_text());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.has_exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            let text = self.log_text();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            eprintln!("---- last lines of {} ({}) ----", self.name, self.log.display());
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// The project's counts, read straight from Postgres.
async fn counts(store: &PostgresStore) -> StoreCounts {
    store.counts(&ProjectId::parse(PROJECT).expect("project id")).await.expect("counts")
}

/// Waits until the graph holds at least `tests` Test and `locators` Locator nodes of the project.
async fn wait_for_graph_nodes(graph: &FalkorGraph, tests: u64, locators: u64) {
    let project = ProjectId::parse(PROJECT).expect("project id");
    wait_until("the observations in the graph", WAIT, || async {
        let stats = graph.stats(&project).await.ok()?;
        let count = |label: &str| stats.nodes.get(label).copied().unwrap_or(0);
        (count("Test") >= tests && count("Locator") >= locators).then_some(())
    })
    .await;
}

/// Waits for the suggestion healing the checkout button.
async fn wait_for_checkout_suggestion(client: &ApiClient) -> SuggestionView {
    client
        .wait_for_suggestion(WAIT, |suggestion| suggestion.broken_locator == CHECKOUT_BUTTON)
        .await
        .expect("a suggestion for the broken checkout button")
}

/// Every failing run breaks each demo test at one locator: that many healing requests per run.
const REQUESTS_PER_FAILING_RUN: u64 = scenario::TESTS.len() as u64;

// ---------------------------------------------------------------------------------------------------------
// The tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_one_process_per_role_heal_a_broken_locator_and_stop_cleanly() {
    let Some(services) = services() else { return };
    let started = Instant::now();
    let stack = Stack::new(&services, None).await;
    let api_key = stack.create_project();
    let (mut api, base_url) = stack.spawn_api("api", &["--api-only"]).await;
    let mut workers: Vec<(Role, Process, String)> = Role::ALL
        .into_iter()
        .map(|role| {
            let (process, probes_url) = stack.spawn_worker(role);
            (role, process, probes_url)
        })
        .collect();
    for (_, process, probes_url) in &mut workers {
        wait_until_live(process, probes_url).await;
    }
    let client = ApiClient::new(base_url.clone(), api_key).expect("client");
    let graph = stack.graph().await;

    // A passing run observes the v1 page; its observations reach the graph through the workers.
    client.post_events(&scenario::passing_run("run-1")).await.expect("passing run accepted");
    wait_for_graph_nodes(&graph, 3, 4).await;
    // A failing run on the v2 page breaks the checkout button.
    let failing = client.post_events(&scenario::failing_run("run-2")).await.expect("failing run accepted");
    assert_eq!(failing.items, 2 * scenario::TESTS.len());

    let suggestion = wait_for_checkout_suggestion(&client).await;
    assert_eq!(suggestion.source, Some(HealSource::DomSimilarity), "{suggestion:?}");
    let css = suggestion.suggested_css.clone().expect("a suggested locator");
    assert!(
        css.contains("proceed-to-checkout") || css.contains("data-testid=\"checkout\""),
        "the suggestion should target the renamed button, got {css}"
    );

    // Rows in Postgres.
    let store = stack.store().await;
    let expected_results = 2 * scenario::TESTS.len() as u64;
    let rows = wait_until("every row in postgres", WAIT, || async {
        let rows = counts(&store).await;
        (rows.suggestions == REQUESTS_PER_FAILING_RUN && rows.test_results == expected_results)
            .then_some(rows)
    })
    .await;
    assert_eq!(rows.batches, 2, "{rows:?}");
    assert_eq!(rows.failures, REQUESTS_PER_FAILING_RUN, "{rows:?}");
    assert_eq!(rows.dom_snapshots, 2, "{rows:?}");

    // Nodes in FalkorDB.
    let stats = graph.stats(&ProjectId::parse(PROJECT).expect("project")).await.expect("graph stats");
    assert!(stats.nodes.get("Failure").copied().unwrap_or(0) >= 1, "{stats:?}");
    assert!(stats.nodes.get("Healing").copied().unwrap_or(0) >= 1, "{stats:?}");

    // Offsets committed in the broker: the normalizer's group has no lag on both batches.
    assert_eq!(stack.wait_for_no_lag(Role::Normalizer, Topic::IngestBatch).await, 2);
    stack.wait_for_no_lag(Role::Correlator, Topic::TestFailed).await;
    // At least one request per broken test: a correlator rebalance may redeliver a failure, whose request is
    // then published again under the same event id (and answered once: the suggestion count above).
    let requests = stack.wait_for_no_lag(Role::Healer, Topic::HealingRequested).await;
    assert!(requests >= REQUESTS_PER_FAILING_RUN as i64, "{requests} healing requests");

    // Secrets stay out of /metrics and the logs.
    let metrics = http_client().get(format!("{base_url}/metrics")).send().await.expect("metrics");
    let metrics = metrics.text().await.expect("metrics body");
    assert!(metrics.contains("argus_ingest_batches_total 2"), "{metrics}");
    assert!(!metrics.contains(URL_PASSWORD) && !metrics.contains("postgres://"), "{metrics}");

    // Each worker's probes: live (its loops run), ready (its dependencies answer), and its own counters.
    for (role, worker, probes_url) in &workers {
        let (status, health) = get_json(&format!("{probes_url}/health")).await;
        assert_eq!(status, StatusCode::OK, "{}: {health}", worker.name);
        assert_eq!(health["status"], "ok", "{health}");
        let loops = health["loops"].as_array().cloned().unwrap_or_default();
        assert_eq!(loops.len(), role.topics().len(), "{health}");
        for (status, topic) in loops.iter().zip(role.topics()) {
            assert_eq!(status["role"], role.as_str(), "{health}");
            assert_eq!(status["topic"], topic.name(), "{health}");
            assert_eq!(status["state"], "running", "{health}");
        }

        let (status, ready) = get_json(&format!("{probes_url}/ready")).await;
        assert_eq!(status, StatusCode::OK, "{}: {ready}", worker.name);
        assert_eq!(ready["status"], "ready", "{ready}");
        for dependency in ["store", "bus", "graph", "cache"] {
            assert_eq!(ready["checks"][dependency], "ok", "{}: {dependency} in {ready}", worker.name);
        }

        // Its own counters: the two batches, some results, every request (counted right after the ack).
        let least_done = match role {
            Role::Normalizer => 2.0,
            Role::Correlator => 1.0,
            Role::Healer => REQUESTS_PER_FAILING_RUN as f64,
        };
        let metrics_url = format!("{probes_url}/metrics");
        let metrics = wait_until(&format!("{} to count its messages", worker.name), WAIT, || async {
            let metrics = get_text(&metrics_url).await;
            (worker_messages(&metrics, *role, "done") >= least_done).then_some(metrics)
        })
        .await;
        for other in Role::ALL.into_iter().filter(|other| other != role) {
            let counted = worker_messages(&metrics, other, "done");
            assert_eq!(counted, 0.0, "{} counts {other}'s messages: {metrics}", worker.name);
        }
        assert!(!metrics.contains(URL_PASSWORD) && !metrics.contains("postgres://"), "{metrics}");
    }
    let (_, _, healer_probes) = &workers[2];

    // `argus healthcheck` (the compose health check): 0 on a ready API and a ready worker, 1 when nothing
    // answers.
    for url in [format!("{base_url}/ready"), format!("{healer_probes}/ready")] {
        let healthy = stack.command(&["healthcheck", "--url", &url], &[]).status();
        assert!(healthy.expect("run argus healthcheck").success(), "{url}");
    }
    let closed = format!("http://127.0.0.1:{}/ready", free_port());
    let unhealthy = stack.command(&["healthcheck", "--url", &closed], &[]).status().expect("run healthcheck");
    assert_eq!(unhealthy.code(), Some(1));

    // SIGTERM: every process drains, commits and exits 0.
    for (_, worker, _) in &mut workers {
        worker.stop_gracefully().await;
        let log = worker.log_text();
        assert!(log.contains("kafka bus closed"), "{} did not close its bus:\n{log}", worker.name);
    }
    api.stop_gracefully().await;
    for process in workers.iter().map(|(_, process, _)| process).chain([&api]) {
        let log = process.log_text();
        assert!(!log.contains(URL_PASSWORD), "{} logged the postgres password", process.name);
    }
    drop(store);
    stack.clean_up().await;
    eprintln!("happy path took {:.1}s", started.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healer_killed_mid_stream_and_restarted_loses_nothing_and_duplicates_nothing() {
    let Some(services) = services() else { return };
    let started = Instant::now();
    let stack = Stack::new(&services, None).await;
    let api_key = stack.create_project();
    let (_api, base_url) = stack.spawn_api("api", &["--api-only"]).await;
    let (_normalizer, _) = stack.spawn_worker(Role::Normalizer);
    let (_correlator, _) = stack.spawn_worker(Role::Correlator);
    let client = ApiClient::new(base_url, api_key).expect("client");
    let graph = stack.graph().await;
    let store = stack.store().await;

    // Arrange: a backlog of healing requests waiting for the healer group.
    client.post_events(&scenario::passing_run("run-0")).await.expect("passing run accepted");
    wait_for_graph_nodes(&graph, 3, 4).await;
    const FAILING_RUNS: u64 = 16;
    for run in 1..=FAILING_RUNS {
        client
            .post_events(&scenario::failing_run(&format!("run-{run}")))
            .await
            .expect("failing run accepted");
    }
    let expected = FAILING_RUNS * REQUESTS_PER_FAILING_RUN;
    let healer_group = argus_brain::distributed::consumer_group(&stack.kafka, Role::Healer);
    // Every failure normalised and correlated, so every request is on the bus (maybe some twice: at least
    // once).
    let correlator_group = argus_brain::distributed::consumer_group(&stack.kafka, Role::Correlator);
    wait_until("every failure correlated", WAIT, || async {
        let (committed, end) = stack.committed_and_end(correlator_group.clone(), Topic::TestFailed).await;
        (end >= expected as i64 && committed == end).then_some(())
    })
    .await;
    let (_, requests) = stack.committed_and_end(healer_group, Topic::HealingRequested).await;
    assert!(requests >= expected as i64, "{requests} healing requests for {expected} failures");

    // Act: a healer starts on the backlog and is killed (SIGKILL) once it stored a few suggestions, with
    // more in hand and acknowledged offsets possibly not committed yet.
    let (mut first_healer, _) = stack.spawn_worker(Role::Healer);
    let at_kill = wait_until("the first healer's first suggestions", WAIT, || async {
        let stored = counts(&store).await.suggestions;
        (stored > REQUESTS_PER_FAILING_RUN).then_some(stored)
    })
    .await;
    first_healer.kill();
    let after_kill = counts(&store).await.suggestions;
    assert!(
        after_kill < expected,
        "the healer finished all {expected} requests before it was killed; raise FAILING_RUNS"
    );
    eprintln!("healer killed after {at_kill} (then {after_kill}) of {expected} suggestions");

    // A new healer takes over the group (after the dead member's session times out).
    let (mut second_healer, _) = stack.spawn_worker(Role::Healer);
    second_healer.wait_for_log("worker ready: consuming").await;
    wait_until("every request answered", WAIT, || async {
        (counts(&store).await.suggestions >= expected).then_some(())
    })
    .await;
    stack.wait_for_no_lag(Role::Healer, Topic::HealingRequested).await;

    // Assert: exactly one suggestion per request, none lost, none duplicated.
    assert_eq!(counts(&store).await.suggestions, expected);
    second_healer.stop_gracefully().await;
    drop(store);
    stack.clean_up().await;
    eprintln!("kill and restart took {:.1}s", started.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_message_lands_in_the_dead_letter_topic_and_the_stream_keeps_flowing() {
    let Some(services) = services() else { return };
    let stack = Stack::new(&services, None).await;
    let api_key = stack.create_project();
    // The whole pipeline in one process: `serve --profile distributed`.
    let (mut server, base_url) = stack.spawn_api("server", &[]).await;
    let client = ApiClient::new(base_url, api_key).expect("client");

    // A message no correlator can decode, naming the project so its dead letter is filed there.
    let bus = KafkaBus::connect(&stack.kafka).await.expect("a test-side bus");
    let poison = br#"{"project_id":"demo","payload":"this is not a failure"}"#.to_vec();
    bus.publish(Topic::TestFailed, "poison", poison.clone()).await.expect("publish the poison message");

    // The stream keeps flowing: a real failure behind it is healed.
    client.post_events(&scenario::passing_run("run-1")).await.expect("passing run accepted");
    wait_for_graph_nodes(&stack.graph().await, 3, 4).await;
    client.post_events(&scenario::failing_run("run-2")).await.expect("failing run accepted");
    wait_for_checkout_suggestion(&client).await;

    // The poison message is in argus.dlq, with its origin and error.
    let mut dead_letters =
        bus.subscribe(Topic::DeadLetter, &format!("e2e-dlq-reader-{}", stack.id)).await.expect("subscribe");
    let delivery = tokio::time::timeout(WAIT, dead_letters.next())
        .await
        .expect("a dead letter within the deadline")
        .expect("the bus delivers")
        .expect("a delivery");
    let letter = Envelope::<DeadLetter>::from_bytes(&delivery.payload).expect("a dead-letter envelope");
    assert_eq!(letter.project_id.as_str(), PROJECT);
    assert_eq!(letter.payload.payload.as_bytes(), poison.as_slice());
    assert_eq!(letter.payload.original_topic, Topic::TestFailed.name());
    assert_eq!(
        letter.payload.consumer_group,
        argus_brain::distributed::consumer_group(&stack.kafka, Role::Correlator)
    );
    assert!(letter.payload.error.contains("undecodable"), "{:?}", letter.payload.error);
    dead_letters.ack(&delivery).await.expect("ack");
    drop(dead_letters);

    // And the correlator filed it in the store's dead letters.
    let store = stack.store().await;
    wait_until("the dead letter in postgres", WAIT, || async {
        (counts(&store).await.dead_letters == 1).then_some(())
    })
    .await;
    bus.close().await.expect("close the test-side bus");
    server.stop_gracefully().await;
    drop(store);
    stack.clean_up().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_valkey_unreachable_requests_are_served_degraded() {
    let Some(services) = services() else { return };
    let mut stack = Stack::new(&services, None).await;
    // Nothing listens on the port: every cache call fails at once.
    stack.set_env("ARGUS_VALKEY__URL", &format!("redis://127.0.0.1:{}/", free_port()));
    let api_key = stack.create_project();
    let (mut server, base_url) = stack.spawn_api("server", &["--api-only"]).await;
    let mut workers: Vec<(Process, String)> =
        Role::ALL.into_iter().map(|role| stack.spawn_worker(role)).collect();
    for (process, probes_url) in &mut workers {
        wait_until_live(process, probes_url).await;
    }
    let http = http_client();

    // /ready of the API and of every worker: 200, degraded, naming the cache.
    let ready_urls = std::iter::once(format!("{base_url}/ready"))
        .chain(workers.iter().map(|(_, probes_url)| format!("{probes_url}/ready")));
    for url in ready_urls {
        let (status, ready) = get_json(&url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {ready}");
        assert_eq!(ready["status"], "degraded", "{url}: {ready}");
        assert_eq!(ready["degraded"], serde_json::json!(["cache"]), "{url}: {ready}");
        assert_eq!(ready["checks"]["cache"], "unavailable", "{url}: {ready}");
        assert_eq!(ready["checks"]["store"], "ok", "{url}: {ready}");
        assert_eq!(ready["checks"]["bus"], "ok", "{url}: {ready}");
    }
    for (_, probes_url) in &workers {
        let (_, ready) = get_json(&format!("{probes_url}/ready")).await;
        assert_eq!(ready["checks"]["graph"], "ok", "a worker checks its graph: {ready}");
    }

    // Intake still accepts, and the pipeline still heals.
    let client = ApiClient::new(base_url.clone(), api_key).expect("client");
    client.post_events(&scenario::passing_run("run-1")).await.expect("passing run accepted (202)");
    wait_for_graph_nodes(&stack.graph().await, 3, 4).await;
    client.post_events(&scenario::failing_run("run-2")).await.expect("failing run accepted (202)");
    let suggestion = wait_for_checkout_suggestion(&client).await;
    assert!(suggestion.suggested_css.is_some(), "{suggestion:?}");

    // Degraded, counted and logged: rate limiting by the API, heals by the healer worker.
    let metrics = http.get(format!("{base_url}/metrics")).send().await.expect("metrics");
    let metrics = metrics.text().await.expect("metrics body");
    let degraded = metric_value(&metrics, "argus_rate_limit_degraded_total");
    assert!(degraded >= 2.0, "rate limiting should have degraded on every request: {metrics}");
    assert!(server.log_text().contains("rate limit unavailable"), "the degradation should be logged");
    let (_, healer_probes) = &workers[2];
    let healer_metrics = get_text(&format!("{healer_probes}/metrics")).await;
    assert!(metric_value(&healer_metrics, "argus_worker_cache_errors_total") >= 1.0, "{healer_metrics}");
    for (worker, _) in &mut workers {
        worker.stop_gracefully().await;
    }
    server.stop_gracefully().await;
    stack.clean_up().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_down_ready_and_intake_answer_503_and_nothing_accepted_is_lost() {
    let Some(services) = services() else { return };
    let Some(mut postgres) = PrivatePostgres::start().await else { return };
    let stack = Stack::new(&services, Some(&postgres.admin_url())).await;
    let api_key = stack.create_project();
    let (mut server, base_url) = stack.spawn_api("server", &[]).await;
    let client = ApiClient::new(base_url.clone(), api_key.clone()).expect("client");
    let http = http_client();

    // Arrange: the pipeline works.
    client.post_events(&scenario::passing_run("run-1")).await.expect("passing run accepted");
    wait_for_graph_nodes(&stack.graph().await, 3, 4).await;
    client.post_events(&scenario::failing_run("run-2")).await.expect("failing run accepted");
    let suggestions = |client: &ApiClient| {
        let client = client.clone();
        async move { client.suggestions(&[("limit", "200")]).await.map(|page| page.total).unwrap_or(0) }
    };
    wait_until("the first run's suggestions", WAIT, || async {
        (suggestions(&client).await == REQUESTS_PER_FAILING_RUN).then_some(())
    })
    .await;

    // Act: a run is accepted, and Postgres goes down while the pipeline works on it.
    client
        .post_events(&scenario::failing_run("run-3"))
        .await
        .expect("failing run accepted before the outage");
    postgres.stop();

    // Assert: not ready, naming the store; intake refuses with 503 rather than accepting what it cannot keep.
    let not_ready = wait_until("/ready to report the store down", WAIT, || async {
        let response = http.get(format!("{base_url}/ready")).send().await.ok()?;
        (response.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(response)
    })
    .await;
    let body: serde_json::Value = not_ready.json().await.expect("ready body");
    assert_eq!(body["checks"]["store"], "unavailable", "{body}");
    let refused = http
        .post(format!("{base_url}/api/v1/events"))
        .bearer_auth(&api_key)
        .json(&scenario::failing_run("run-4"))
        .send()
        .await
        .expect("intake answers");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);

    // Postgres returns: ready again, and the run accepted before the outage is fully processed.
    postgres.start_again();
    wait_until("/ready after postgres returned", WAIT, || async {
        let response = http.get(format!("{base_url}/ready")).send().await.ok()?;
        (response.status() == StatusCode::OK).then_some(())
    })
    .await;
    wait_until("the suggestions of the run accepted before the outage", WAIT, || async {
        (suggestions(&client).await == 2 * REQUESTS_PER_FAILING_RUN).then_some(())
    })
    .await;
    // The refused run, retried, is accepted and processed exactly once.
    client.post_events(&scenario::failing_run("run-4")).await.expect("the retried run is accepted");
    wait_until("the retried run's suggestions", WAIT, || async {
        (suggestions(&client).await == 3 * REQUESTS_PER_FAILING_RUN).then_some(())
    })
    .await;
    let store = stack.store().await;
    let rows = counts(&store).await;
    assert_eq!(rows.batches, 4, "{rows:?}");
    assert_eq!(rows.dead_letters, 0, "nothing may have been given up on: {rows:?}");
    server.stop_gracefully().await;
    drop(store);
    stack.clean_up().await;
}

/// `argus_worker_messages_total` of `role` and `result` in a worker's `/metrics`.
fn worker_messages(metrics: &str, role: Role, result: &str) -> f64 {
    metric_value(metrics, &format!("argus_worker_messages_total{{role=\"{role}\",result=\"{result}\"}}"))
}

/// The value of a Prometheus sample (`name` with its labels, if any).
fn metric_value(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample {name} in {metrics}"))
}

// ---------------------------------------------------------------------------------------------------------
// A private Postgres server this test may stop

/// The Postgres 15 binaries `data-layer/local/install.sh` installs.
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A Postgres server of its own, in a temporary folder on a free port, run as the `postgres` user with the
/// same binaries as `data-layer/local/up.sh`. Stopped (immediately) when dropped.
struct PrivatePostgres {
    dir: TempDir,
    port: u16,
    running: bool,
}

impl PrivatePostgres {
    /// Initialises and starts the server; `None` (after saying so) when this machine cannot, unless
    /// `ARGUS_REQUIRE_SERVICES=1`, which makes it a failure.
    async fn start() -> Option<PrivatePostgres> {
        let runnable = Path::new(PG_BIN).join("initdb").exists()
            && Command::new("id").arg("-u").output().is_ok_and(|output| output.stdout.trim_ascii() == b"0");
        if !runnable {
            let message = format!("a private postgres needs root and {PG_BIN} (data-layer/local/install.sh)");
            if std::env::var("ARGUS_REQUIRE_SERVICES").is_ok_and(|value| value == "1") {
                panic!("{message}");
            }
            eprintln!("skipping: {message}");
            return None;
        }
        let dir = tempfile::Builder::new().prefix("argus-e2e-pg-").tempdir().expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("data dir");
        run_checked(Command::new("chmod").arg("755").arg(dir.path()));
        run_checked(Command::new("chown").arg("-R").arg("postgres:postgres").arg(dir.path()));
        run_checked(
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(Path::new(PG_BIN).join("initdb"))
                .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "-D"])
                .arg(&data),
        );
        let mut postgres = PrivatePostgres { dir, port: free_port(), running: false };
        postgres.start_again();
        Some(postgres)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(Path::new(PG_BIN).join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(args)
            .stdout(Stdio::null());
        command
    }

    /// Starts the server on its port (and waits until it accepts connections).
    fn start_again(&mut self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log");
        let log = log.display().to_string();
        run_checked(&mut self.pg_ctl(&["-l", &log, "-w", "-t", "30", "-o", &options, "start"]));
        self.running = true;
    }

    /// Stops the server (fast shutdown: connections are cut, as in a crash of the database host).
    fn stop(&mut self) {
        run_checked(&mut self.pg_ctl(&["-m", "fast", "-w", "-t", "30", "stop"]));
        self.running = false;
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.running {
            let _ = self.pg_ctl(&["-m", "immediate", "-w", "stop"]).status();
        }
    }
}

fn run_checked(command: &mut Command) {
    let output = command.output().expect("run a postgres tool");
    assert!(output.status.success(), "{command:?} failed: {}", String::from_utf8_lossy(&output.stderr));
}
