//! The command line (clap): `argus serve`, `argus project create`, `argus demo`.
//!
//! Configuration layers, lowest first: defaults, `--config FILE` (TOML), `ARGUS_*` environment variables,
//! then the flags below.

use crate::config::Config;
use crate::project::create_project;
use crate::startup::{Application, open_store_only};
use anyhow::Context;
use argus_vocabulary::ProjectId;
use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
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
    /// Serve the HTTP API with the whole embedded pipeline in this process.
    Serve(ServeArgs),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Run the self-contained demo: observe a shop, redesign it, heal the broken locators, learn.
    Demo(DemoArgs),
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
}

/// `argus serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on (overrides `listen` / `ARGUS_LISTEN`).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Configuration file and data directory.
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// `argus project …`.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project and print its API key (shown only this once).
    Create(ProjectCreateArgs),
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
            let config =
                load_config(args.config.config.as_deref())?.with_overrides(args.listen, args.config.data_dir);
            let app = Application::build(config).await?;
            app.run_until_stopped(shutdown).await?;
            Ok(())
        }
        Command::Project(ProjectCommand::Create(args)) => {
            let config =
                load_config(args.config.config.as_deref())?.with_overrides(None, args.config.data_dir);
            let project = ProjectId::parse(args.id.as_str())?;
            let store = open_store_only(&config).await?;
            let name = args.name.unwrap_or_else(|| args.id.clone());
            let key = create_project(&store, &project, &name, Utc::now()).await?;
            store.close().await;
            println!("{}", key.expose());
            eprintln!(
                "project {project} created in {}; the api key above is shown only once",
                config.data_dir.display()
            );
            Ok(())
        }
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
    fn demo_once_parses_and_bad_addresses_fail() {
        let cli = Cli::try_parse_from(["argus", "demo", "--once"]).expect("parses");
        assert!(matches!(cli.command, Command::Demo(DemoArgs { once: true, .. })));
        assert!(Cli::try_parse_from(["argus", "serve", "--listen", "nowhere"]).is_err());
    }
}
