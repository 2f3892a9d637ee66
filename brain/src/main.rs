//! `argus`: parse the command line, set up logging, run, and exit non-zero on failure.

use argus_brain::cli::{Cli, Command};
use clap::Parser;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own story on stdout; keep its logs to warnings unless asked otherwise.
    let default_filter = if matches!(
        cli.command,
        Command::Demo(_)
            | Command::Locate(_)
            | Command::Parse(_)
            | Command::Healthcheck(_)
            | Command::Report(_)
    ) {
        "warn"
    } else {
        "info"
    };
    // html5ever warns "foster parenting not implemented" on every misnested table, yet it does foster
    // parent (the warning predates the implementation): noise on every real page, so errors only.
    let default_filter = format!("{default_filter},html5ever=error");
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();

    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    match argus_brain::cli::run(cli, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            // `argus parse` on a report it cannot parse: 2, as documented there.
            if error.is::<argus_brain::parse::Unparseable>() { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(error = %error, "cannot listen for sigterm");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!(signal = "ctrl-c", "shutdown requested"),
        () = terminate => tracing::info!(signal = "sigterm", "shutdown requested"),
    }
    shutdown.cancel();
}
