//! The command line (clap): `argus serve`, `argus worker`, `argus healthcheck`, `argus project create`,
//! `argus demo`, `argus parse`.
//!
//! Configuration layers, lowest first: defaults, `--config FILE` (TOML), `ARGUS_*` environment variables,
//! then the flags below.

use crate::config::{Config, Profile};
use crate::project::create_project;
use crate::startup::{Application, open_store_only};
use anyhow::Context;
use argus_vocabulary::ProjectId;
use argus_workers::Role;
use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Argus: CI test failures in, healing suggestions for broken UI locators out.
#[derive(Debug, Parser)]
#[command(name = "argus", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API, with every worker role in this process unless --api-only.
    Serve(ServeArgs),
    /// Run one worker role as its own process (distributed profile; any number of each).
    Worker(WorkerArgs),
    /// Exit 0 when the URL answers 2xx, else 1 (container health checks without curl).
    Healthcheck(HealthcheckArgs),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Run the self-contained demo: observe a shop, redesign it, heal the broken locators, learn.
    Demo(DemoArgs),
    /// Relocate elements offline: read cases (JSON lines), write one result line per case.
    Locate(crate::locate::LocateArgs),
    /// Parse a test report offline and print its counts and fingerprinted failures as one JSON object.
    Parse(crate::parse::ParseArgs),
    /// Work with test reports (`argus report upload`).
    #[command(subcommand)]
    Report(crate::upload::ReportCommand),
}

/// Flags shared by every subcommand that opens a data directory.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// A TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data directory (overrides `data_dir` / `ARGUS_DATA_DIR`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The adapters to run on (overrides `profile` / `ARGUS_PROFILE`).
    #[arg(long, value_enum, value_name = "PROFILE")]
    pub profile: Option<Profile>,
}

impl ConfigArgs {
    /// Loads the configuration and applies these flags (data dir, profile).
    pub fn load(&self) -> anyhow::Result<Config> {
        Ok(load_config(self.config.as_deref())?
            .with_overrides(None, self.data_dir.clone())
            .with_profile(self.profile))
    }
}

/// `argus serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on (overrides `listen` / `ARGUS_LISTEN`).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Run only the HTTP edge (intake, queries, webhooks): no worker in this process (distributed profile;
    /// run the roles with `argus worker`).
    #[arg(long)]
    pub api_only: bool,
    /// Configuration file, data directory and profile.
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// `argus worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// The role: normalizer, correlator or healer.
    #[arg(value_parser = parse_role)]
    pub role: Role,
    /// A TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where to serve /health, /ready and /metrics (overrides `worker.health_addr` /
    /// `ARGUS_WORKER__HEALTH_ADDR`; default 0.0.0.0:8081).
    #[arg(long, value_name = "ADDR")]
    pub health_addr: Option<SocketAddr>,
}

fn parse_role(name: &str) -> Result<Role, String> {
    name.parse::<Role>().map_err(|error| error.to_string())
}

/// `argus healthcheck`.
#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// The URL to GET.
    #[arg(long, value_name = "URL", default_value = DEFAULT_HEALTHCHECK_URL)]
    pub url: String,
    /// How long to wait for the answer, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub timeout_secs: u64,
}

/// The URL `argus healthcheck` checks by default.
pub const DEFAULT_HEALTHCHECK_URL: &str = "http://127.0.0.1:8080/ready";

/// `argus project …`.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project and print its API key (shown only this once).
    Create(ProjectCreateArgs),
    /// Bind a GitHub repository's webhook to a project; the secret is read from stdin or --secret-env.
    Github(crate::project::GithubWebhookArgs),
}

/// `argus project create`.
#[derive(Debug, Clone, Args)]
pub struct ProjectCreateArgs {
    /// The project id: 1-64 characters of a-z, 0-9, '-' or '_'.
    pub id: String,
    /// A display name (defaults to the id).
    #[arg(long)]
    pub name: Option<String>,
    /// Configuration file and data directory.
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// `argus demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Run the walk-through, then shut down and exit (non-zero if a step failed).
    #[arg(long)]
    pub once: bool,
    /// The address to listen on (default: a free port on 127.0.0.1).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// The data directory (default: a fresh temporary directory, removed at exit).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Reads the optional configuration file and the `ARGUS_*` environment, and loads the configuration.
pub fn load_config(file: Option<&Path>) -> anyhow::Result<Config> {
    let text = file
        .map(|path| {
            std::fs::read_to_string(path)
                .with_context(|| format!("read configuration file {}", path.display()))
        })
        .transpose()?;
    let env: BTreeMap<String, String> =
        std::env::vars().filter(|(name, _)| name.starts_with(crate::config::ENV_PREFIX)).collect();
    Ok(Config::load(text.as_deref(), &env)?)
}

/// Runs a parsed command. `shutdown` is cancelled by the caller on SIGTERM or Ctrl-C.
pub async fn run(cli: Cli, shutdown: CancellationToken) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = args.config.load()?.with_overrides(args.listen, None);
            let roles: &[Role] = if args.api_only { &[] } else { &Role::ALL };
            let app = Application::build_with_roles(config, roles).await?;
            app.run_until_stopped(shutdown).await?;
            Ok(())
        }
        Command::Worker(args) => {
            let config = load_config(args.config.as_deref())?.with_worker_health_addr(args.health_addr);
            crate::worker::run_worker(config, args.role, shutdown).await?;
            Ok(())
        }
        Command::Healthcheck(args) => healthcheck(&args.url, Duration::from_secs(args.timeout_secs)).await,
        Command::Project(ProjectCommand::Create(args)) => {
            let config = args.config.load()?;
            let project = ProjectId::parse(args.id.as_str())?;
            let store = open_store_only(&config).await?;
            let name = args.name.unwrap_or_else(|| args.id.clone());
            let created = create_project(&*store, &project, &name, Utc::now()).await;
            store.close().await;
            let key = created?;
            println!("{}", key.expose());
            eprintln!(
                "project {project} created in {}; the api key above is shown only once",
                store.describe(&config)
            );
            Ok(())
        }
        Command::Project(ProjectCommand::Github(args)) => crate::project::run_github_webhook(args).await,
        Command::Demo(args) => {
            let listen = args.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
            let temp_dir;
            let data_dir = match args.data_dir {
                Some(dir) => dir,
                None => {
                    temp_dir = tempfile::Builder::new()
                        .prefix("argus-demo-")
                        .tempdir()
                        .context("create a temporary data dir")?;
                    temp_dir.path().to_path_buf()
                }
            };
            let config = load_config(args.config.as_deref())?.with_overrides(Some(listen), Some(data_dir));
            crate::demo::run(config, args.once, shutdown).await
        }
        Command::Locate(args) => crate::locate::run(&args),
        Command::Parse(args) => crate::parse::run(&args),
        Command::Report(crate::upload::ReportCommand::Upload(args)) => {
            crate::upload::run(args, std::env::var(crate::upload::API_KEY_ENV).ok()).await
        }
    }
}

/// `argus healthcheck`: GET `url`; Ok on a 2xx answer within `timeout`, an error (exit 1) otherwise.
async fn healthcheck(url: &str, timeout: Duration) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(timeout).build().context("build the http client")?;
    let response = client.get(url).send().await.with_context(|| format!("GET {url}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        let body = response.text().await.unwrap_or_default();
        anyhow::bail!("GET {url} answered {status}: {}", body.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_flags_parse() {
        let cli = Cli::try_parse_from([
            "argus",
            "serve",
            "--listen",
            "0.0.0.0:9000",
            "--data-dir",
            "/tmp/a",
            "--config",
            "argus.toml",
        ])
        .expect("parses");
        let Command::Serve(args) = cli.command else { panic!("expected serve") };
        assert_eq!(args.listen, Some("0.0.0.0:9000".parse().expect("addr")));
        assert_eq!(args.config.data_dir, Some(PathBuf::from("/tmp/a")));
        assert_eq!(args.config.config, Some(PathBuf::from("argus.toml")));
    }

    #[test]
    fn project_create_takes_an_id_and_a_name() {
        let cli =
            Cli::try_parse_from(["argus", "project", "create", "shop", "--name", "Shop"]).expect("parses");
        let Command::Project(ProjectCommand::Create(args)) = cli.command else { panic!("expected create") };
        assert_eq!(args.id, "shop");
        assert_eq!(args.name.as_deref(), Some("Shop"));
    }

    #[test]
    fn serve_takes_a_profile_and_api_only() {
        let cli = Cli::try_parse_from(["argus", "serve", "--profile", "distributed", "--api-only"])
            .expect("parses");
        let Command::Serve(args) = cli.command else { panic!("expected serve") };
        assert!(args.api_only);
        assert_eq!(args.config.profile, Some(Profile::Distributed));
        assert!(Cli::try_parse_from(["argus", "serve", "--profile", "cloud"]).is_err());
    }

    #[test]
    fn worker_takes_one_known_role() {
        for role in Role::ALL {
            let cli = Cli::try_parse_from(["argus", "worker", role.as_str(), "--config", "argus.toml"])
                .expect("parses");
            let Command::Worker(args) = cli.command else { panic!("expected worker") };
            assert_eq!(args.role, role);
            assert_eq!(args.config, Some(PathBuf::from("argus.toml")));
        }
        assert!(Cli::try_parse_from(["argus", "worker", "janitor"]).is_err());
        assert!(Cli::try_parse_from(["argus", "worker"]).is_err());
    }

    #[test]
    fn worker_takes_a_health_addr_flag_that_wins_over_the_environment() {
        let cli = Cli::try_parse_from(["argus", "worker", "healer", "--health-addr", "127.0.0.1:9181"])
            .expect("parses");
        let Command::Worker(args) = cli.command else { panic!("expected worker") };
        let flag: SocketAddr = "127.0.0.1:9181".parse().expect("addr");
        assert_eq!(args.health_addr, Some(flag));
        let env: BTreeMap<String, String> =
            [(crate::config::WORKER_HEALTH_ADDR_ENV.to_owned(), "127.0.0.1:9180".to_owned())].into();
        let config = Config::load(None, &env).expect("loads").with_worker_health_addr(args.health_addr);
        assert_eq!(config.worker.health_addr, flag);

        let cli = Cli::try_parse_from(["argus", "worker", "healer"]).expect("parses");
        let Command::Worker(args) = cli.command else { panic!("expected worker") };
        assert_eq!(args.health_addr, None);
        assert!(Cli::try_parse_from(["argus", "worker", "healer", "--health-addr", "8081"]).is_err());
    }

    #[test]
    fn healthcheck_defaults_to_the_local_ready_endpoint() {
        let cli = Cli::try_parse_from(["argus", "healthcheck"]).expect("parses");
        let Command::Healthcheck(args) = cli.command else { panic!("expected healthcheck") };
        assert_eq!(args.url, "http://127.0.0.1:8080/ready");
        let cli =
            Cli::try_parse_from(["argus", "healthcheck", "--url", "http://api:8080/health"]).expect("parses");
        let Command::Healthcheck(args) = cli.command else { panic!("expected healthcheck") };
        assert_eq!(args.url, "http://api:8080/health");
    }

    #[tokio::test]
    async fn healthcheck_fails_when_nothing_answers() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let url = format!("http://127.0.0.1:{port}/ready");
        assert!(healthcheck(&url, Duration::from_secs(2)).await.is_err());
    }

    #[tokio::test]
    async fn worker_refuses_the_embedded_profile() {
        let error = crate::worker::run_worker(Config::default(), Role::Healer, CancellationToken::new())
            .await
            .expect_err("the embedded profile cannot run a worker process");
        assert!(error.to_string().contains("needs the distributed profile"), "{error}");
    }

    #[tokio::test]
    async fn embedded_serve_refuses_api_only() {
        let error = Application::build_with_roles(Config::default(), &[])
            .await
            .expect_err("--api-only needs the distributed profile");
        assert!(error.to_string().contains("--api-only needs --profile distributed"), "{error}");
    }

    #[cfg(not(feature = "distributed"))]
    #[tokio::test]
    async fn distributed_profile_without_the_feature_says_how_to_build_it() {
        let env: BTreeMap<String, String> = [
            ("ARGUS_PROFILE", "distributed"),
            ("ARGUS_POSTGRES__URL", "postgres://argus@127.0.0.1:1/argus"),
            ("ARGUS_KAFKA__BROKERS", "127.0.0.1:1"),
            ("ARGUS_VALKEY__URL", "redis://127.0.0.1:1/"),
            ("ARGUS_FALKORDB__URL", "falkor://127.0.0.1:1"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        let config = Config::load(None, &env).expect("a shared configuration loads in every build");
        let serve = Application::build(config.clone()).await.expect_err("not built");
        assert!(serve.to_string().contains("cargo build --release --features distributed"), "{serve}");
        let worker = crate::worker::run_worker(config, Role::Normalizer, CancellationToken::new())
            .await
            .expect_err("not built");
        assert!(worker.to_string().contains("built without the distributed profile"), "{worker}");
    }

    #[test]
    fn demo_once_parses_and_bad_addresses_fail() {
        let cli = Cli::try_parse_from(["argus", "demo", "--once"]).expect("parses");
        assert!(matches!(cli.command, Command::Demo(DemoArgs { once: true, .. })));
        assert!(Cli::try_parse_from(["argus", "serve", "--listen", "nowhere"]).is_err());
    }
}
