//! Projects and their API keys.
//!
//! A key is `argus_` followed by 64 lowercase hex characters (32 random bytes from the operating system).
//! Only its SHA-256 (lowercase hex) is stored; the key itself is shown once, by `argus project create`,
//! and is held in a [`SecretString`] so it never reaches a log through `Debug`.

use crate::BrainError;
use argus_store::Store;
use argus_vocabulary::ProjectId;
use chrono::{DateTime, Utc};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

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
}
