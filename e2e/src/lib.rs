//! End-to-end harness: the `argus` [`Application`] on a free port in a temp dir, driven over real TCP.
//!
//! [`spawn_app`] builds the whole embedded stack (store, graph journal, bus, cache, pipeline), creates a
//! project and returns a [`TestApp`] with a typed client ([`ApiClient`]) and a raw `reqwest` client for
//! status-code assertions. The tests live in `tests/`.

use anyhow::Context;
use argus_brain::demo::ApiClient;
use argus_brain::project::create_project;
use argus_brain::{Application, BrainError, Config};
use argus_bus::Bus;
use argus_store::Store;
use argus_vocabulary::ProjectId;
use chrono::Utc;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running application and what tests need to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The project the key belongs to.
    pub project: ProjectId,
    /// The project's API key.
    pub api_key: String,
    /// A typed client authenticated with the key.
    pub client: ApiClient,
    /// A plain client, for asserting on raw responses.
    pub http: reqwest::Client,
    /// The application's store.
    pub store: Arc<dyn Store>,
    /// The application's bus.
    pub bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
    server: JoinHandle<Result<(), BrainError>>,
    data_dir: TempDir,
}

/// The configuration the tests run with: a free port, the given data dir, a short drain timeout.
pub fn test_config(data_dir: &Path) -> Config {
    let mut config = Config::default()
        .with_overrides(Some(SocketAddr::from(([127, 0, 0, 1], 0))), Some(data_dir.to_path_buf()));
    config.shutdown.drain_timeout_secs = 5;
    config
}

/// Starts the application in a fresh temp dir with a project `project`.
pub async fn spawn_app(project: &str) -> anyhow::Result<TestApp> {
    let data_dir = tempfile::tempdir().context("create the data dir")?;
    spawn_app_in(data_dir, project, true).await
}

/// Starts the application in `data_dir`; creates `project` when `create` is set (a restarted app reuses
/// the project, and then the returned key is empty).
pub async fn spawn_app_in(data_dir: TempDir, project: &str, create: bool) -> anyhow::Result<TestApp> {
    let app = Application::build(test_config(data_dir.path())).await.context("build the application")?;
    let base_url = format!("http://{}", app.local_addr());
    let project = ProjectId::parse(project).context("project id")?;
    let api_key = if create {
        create_project(app.store().as_ref(), &project, project.as_str(), Utc::now())
            .await
            .context("create the project")?
            .expose()
            .to_owned()
    } else {
        String::new()
    };
    let store = app.store();
    let bus = app.bus();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    Ok(TestApp {
        client: ApiClient::new(base_url.clone(), api_key.clone())?,
        http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().context("http client")?,
        base_url,
        project,
        api_key,
        store,
        bus,
        shutdown,
        server,
        data_dir,
    })
}

impl TestApp {
    /// Uses `api_key` from now on (after a restart).
    pub fn with_api_key(mut self, api_key: &str) -> anyhow::Result<Self> {
        self.api_key = api_key.to_owned();
        self.client = ApiClient::new(self.base_url.clone(), api_key)?;
        Ok(self)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Signals shutdown and waits (at most `timeout`) for `run_until_stopped` to return. Gives the data dir
    /// back so a test can start the application again on it.
    pub async fn shutdown(self, timeout: Duration) -> anyhow::Result<(Result<(), BrainError>, TempDir)> {
        self.shutdown.cancel();
        let result = tokio::time::timeout(timeout, self.server)
            .await
            .context("run_until_stopped did not return in time")?
            .context("the server task panicked")?;
        Ok((result, self.data_dir))
    }
}
