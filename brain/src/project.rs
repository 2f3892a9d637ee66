//! Projects, their API keys, and their GitHub webhook secrets.
//!
//! A key is `argus_` followed by 64 lowercase hex characters (32 random bytes from the operating system).
//! Only its SHA-256 (lowercase hex) is stored; the key itself is shown once, by `argus project create`,
//! and is held in a [`SecretString`] so it never reaches a log through `Debug`.
//!
//! `argus project github ID --repository OWNER/NAME` binds a repository's webhook to a project. The
//! secret is read from stdin or from the environment variable named by `--secret-env`, never from an
//! argument (arguments show in `ps` and shell history), and is never printed.

use crate::BrainError;
use crate::cli::ConfigArgs;
use crate::startup::open_store_only;
use anyhow::Context;
use argus_store::Store;
use argus_vocabulary::ProjectId;
use chrono::{DateTime, Utc};
use clap::Args;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::io::BufRead;

/// The prefix of every API key.
pub const API_KEY_PREFIX: &str = "argus_";

/// A freshly generated API key.
#[derive(Debug)]
pub struct ApiKey(SecretString);

impl ApiKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(SecretString::from(format!("{API_KEY_PREFIX}{}", hex::encode(bytes))))
    }

    /// The key itself. Only for printing it once to its owner, or sending it in a request.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The stored form of the key.
    pub fn hash(&self) -> String {
        hash_api_key(self.expose())
    }
}

/// The stored form of an API key: lowercase hex SHA-256 of its UTF-8 bytes.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates `project` with a new API key and returns the key (the only time it exists outside the caller).
/// A project that already exists is a [`argus_store::StoreError::Conflict`].
#[tracing::instrument(skip(store), fields(project = %project))]
pub async fn create_project(
    store: &dyn Store,
    project: &ProjectId,
    display_name: &str,
    at: DateTime<Utc>,
) -> Result<ApiKey, BrainError> {
    let key = ApiKey::generate();
    store.create_project(project, display_name, &key.hash(), at).await?;
    tracing::info!(project = %project, "project created");
    Ok(key)
}

/// `argus project github`.
#[derive(Debug, Clone, Args)]
pub struct GithubWebhookArgs {
    /// The project id.
    pub id: String,
    /// The repository whose webhook delivers to the project, as owner/name.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repository: String,
    /// Read the webhook secret from this environment variable instead of the first line of stdin.
    #[arg(long, value_name = "VAR")]
    pub secret_env: Option<String>,
    /// Configuration file and data directory.
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Runs `argus project github`: reads the secret, stores it for the repository, prints nothing secret.
pub async fn run_github_webhook(args: GithubWebhookArgs) -> anyhow::Result<()> {
    let project = ProjectId::parse(args.id.as_str())?;
    let repository = argus_github::parse_repository_full_name(&args.repository)?;
    let secret = match &args.secret_env {
        Some(variable) => {
            let value = std::env::var(variable)
                .with_context(|| format!("read the webhook secret from environment variable {variable}"))?;
            webhook_secret(&value)?
        }
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!("paste the webhook secret, then press enter:");
            }
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("read the webhook secret from stdin")?;
            webhook_secret(&line)?
        }
    };
    let config = args.config.load()?;
    let store = open_store_only(&config).await?;
    let stored = set_github_webhook(&*store, &project, &repository, &secret, Utc::now()).await;
    store.close().await;
    stored?;
    eprintln!(
        "github webhook of {repository} now delivers to project {project}: point it at \
         <argus url>/webhooks/github with content type application/json and the same secret"
    );
    Ok(())
}

/// The secret as read: the line ending removed, nothing else; an empty secret is refused (GitHub would
/// send unsigned deliveries, which Argus never accepts).
pub fn webhook_secret(raw: &str) -> Result<SecretString, BrainError> {
    let secret = raw.trim_end_matches(['\n', '\r']);
    if secret.is_empty() {
        return Err(BrainError::Config {
            key: "secret".to_owned(),
            source_name: "argus project github".to_owned(),
            message: "the webhook secret is empty".to_owned(),
        });
    }
    Ok(SecretString::from(secret.to_owned()))
}

/// Binds `repository`'s webhook to `project` with `secret` (replacing an earlier secret of the same
/// project). A repository bound to another project is a [`argus_store::StoreError::Conflict`].
#[tracing::instrument(skip(store, secret), fields(project = %project))]
pub async fn set_github_webhook(
    store: &dyn Store,
    project: &ProjectId,
    repository: &str,
    secret: &SecretString,
    at: DateTime<Utc>,
) -> Result<(), BrainError> {
    store.set_github_webhook(project, repository, secret, at).await?;
    tracing::info!(project = %project, repository, "github webhook configured");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_prefix_and_64_hex_characters() {
        let key = ApiKey::generate();
        let hex_part = key.expose().strip_prefix(API_KEY_PREFIX).expect("prefix");
        assert_eq!(hex_part.len(), 64);
        assert!(hex_part.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(key.expose(), ApiKey::generate().expose());
    }

    #[test]
    fn hash_is_lowercase_sha256_hex() {
        // sha256("abc")
        assert_eq!(hash_api_key("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let key = ApiKey::generate();
        assert_eq!(key.hash(), hash_api_key(key.expose()));
    }

    #[test]
    fn debug_of_a_key_does_not_reveal_it() {
        let key = ApiKey::generate();
        let debug = format!("{key:?}");
        assert!(!debug.contains(key.expose()), "{debug}");
        assert!(!debug.contains(&key.expose()[API_KEY_PREFIX.len()..]), "{debug}");
    }

    #[test]
    fn webhook_secrets_lose_only_the_line_ending() {
        let secret = webhook_secret("  It's a Secret to Everybody \r\n").expect("secret");
        assert_eq!(secret.expose_secret(), "  It's a Secret to Everybody ");
        assert!(webhook_secret("\n").is_err());
        assert!(webhook_secret("").is_err());
    }

    #[test]
    fn project_github_takes_the_secret_from_an_env_var_and_never_as_an_argument() {
        use crate::cli::{Cli, Command, ProjectCommand};
        use clap::Parser;
        let cli = Cli::try_parse_from([
            "argus",
            "project",
            "github",
            "shop",
            "--repository",
            "octo/shop",
            "--secret-env",
            "SHOP_SECRET",
        ])
        .expect("parses");
        let Command::Project(ProjectCommand::Github(args)) = cli.command else { panic!("expected github") };
        assert_eq!((args.id.as_str(), args.repository.as_str()), ("shop", "octo/shop"));
        assert_eq!(args.secret_env.as_deref(), Some("SHOP_SECRET"));
        let with_secret =
            ["argus", "project", "github", "shop", "--repository", "octo/shop", "--secret", "x"];
        assert!(Cli::try_parse_from(with_secret).is_err(), "there is no --secret flag");
    }
}
