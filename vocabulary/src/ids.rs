//! Identifiers. Each is a newtype that can only hold a valid value ("parse, don't validate").

use crate::VocabularyError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use uuid::Uuid;

/// A project: the unit of tenancy. Every stored row, cache key and graph node is scoped by one.
///
/// 1–64 characters of `a-z`, `0-9`, `-`, `_`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectId(String);

impl ProjectId {
    /// Validates and wraps a project id.
    pub fn parse(raw: impl Into<String>) -> Result<Self, VocabularyError> {
        let raw = raw.into();
        let valid_len = (1..=64).contains(&raw.len());
        let valid_first = raw.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let valid_chars =
            raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if valid_len && valid_first && valid_chars {
            Ok(Self(raw))
        } else {
            Err(VocabularyError::InvalidProjectId(raw))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProjectId {
    type Error = VocabularyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<ProjectId> for String {
    fn from(value: ProjectId) -> Self {
        value.0
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The idempotency key of a message. Handlers that see the same event id twice must have the same effect
/// as seeing it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub Uuid);

impl EventId {
    /// A fresh random id, for events born at the edge.
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }

    /// The id of a batch a client named with an idempotency key: the same project and key always give the
    /// same id, so a retried upload is recognised as the batch already accepted.
    pub fn for_idempotency_key(project: &ProjectId, key: &str) -> Self {
        const NAMESPACE: Uuid = Uuid::from_u128(0x5c1d_2b0e_8f4a_4e7b_9d3c_a1f0_6e2b_7c48);
        let mut name = Vec::with_capacity(project.as_str().len() + 1 + key.len());
        name.extend_from_slice(project.as_str().as_bytes());
        name.push(0);
        name.extend_from_slice(key.as_bytes());
        Self(Uuid::new_v5(&NAMESPACE, &name))
    }

    /// A deterministic id for the `discriminator`-th event derived from `self`. Replaying a batch therefore
    /// yields the same child ids, which keeps every downstream handler idempotent.
    pub fn derive(&self, discriminator: &str) -> Self {
        Self(Uuid::new_v5(&self.0, discriminator.as_bytes()))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The id of a healing suggestion shown to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SuggestionId(pub Uuid);

impl SuggestionId {
    /// The suggestion id for the healing request `request`: one request yields at most one suggestion.
    pub fn for_request(request: EventId) -> Self {
        Self(Uuid::new_v5(&request.0, b"suggestion"))
    }
}

impl fmt::Display for SuggestionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

fn parse_hex(kind: &'static str, raw: String, len: usize) -> Result<String, VocabularyError> {
    if raw.len() == len && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(raw)
    } else {
        Err(VocabularyError::InvalidHex { kind, value: raw, len })
    }
}

/// The content address of a DOM snapshot: lowercase hex SHA-256 of its UTF-8 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SnapshotHash(String);

impl SnapshotHash {
    /// Hashes snapshot content. Every store adapter addresses snapshots by this value.
    pub fn of(content: &[u8]) -> Self {
        Self(hex::encode(Sha256::digest(content)))
    }

    /// Validates a hash received from outside.
    pub fn parse(raw: impl Into<String>) -> Result<Self, VocabularyError> {
        parse_hex("snapshot hash", raw.into(), 64).map(Self)
    }

    /// The hash as hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SnapshotHash {
    type Error = VocabularyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<SnapshotHash> for String {
    fn from(value: SnapshotHash) -> Self {
        value.0
    }
}

impl fmt::Display for SnapshotHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A failure fingerprint: 128 bits as 32 lowercase hex characters, stable across runs and machines.
/// It is computed by the normalizer from the project, the test identity, the error kind, the locator and
/// the parameterised message; equal fingerprints mean "the same failure".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Hashes the given parts (each length-prefixed, so `["ab", "c"]` and `["a", "bc"]` differ).
    pub fn from_parts<'a>(parts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        Self(hex::encode(&digest[..16]))
    }

    /// Validates a fingerprint received from outside.
    pub fn parse(raw: impl Into<String>) -> Result<Self, VocabularyError> {
        parse_hex("fingerprint", raw.into(), 32).map(Self)
    }

    /// The fingerprint as hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = VocabularyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Fingerprint> for String {
    fn from(value: Fingerprint) -> Self {
        value.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which test this is, inside the project named by the envelope: the spec file and the title path
/// (describe blocks, then the test title). Together with the project this is the test identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TestIdentity {
    /// The spec file, as the runner reports it (for example `tests/checkout.spec.ts`).
    pub file: String,
    /// Describe blocks then the test title; never empty.
    pub title_path: Vec<String>,
}

impl TestIdentity {
    /// The separator Playwright uses between title path elements.
    pub const TITLE_SEPARATOR: &'static str = " › ";

    /// A stable text key: `file › describe › title`. Used as the test's key in stores and graphs.
    pub fn key(&self) -> String {
        let mut key = self.file.clone();
        for title in &self.title_path {
            key.push_str(Self::TITLE_SEPARATOR);
            key.push_str(title);
        }
        key
    }

    /// The title path joined for display (`describe › title`).
    pub fn title(&self) -> String {
        self.title_path.join(Self::TITLE_SEPARATOR)
    }
}

impl fmt::Display for TestIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids_are_validated() {
        assert!(ProjectId::parse("shop-web_2").is_ok());
        for bad in ["", "-lead", "Upper", "with space", "a/b", &"x".repeat(65)] {
            assert!(ProjectId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn project_id_rejects_invalid_json() {
        assert!(serde_json::from_str::<ProjectId>("\"BAD ID\"").is_err());
        let ok: ProjectId = serde_json::from_str("\"shop\"").expect("valid id");
        assert_eq!(ok.as_str(), "shop");
    }

    #[test]
    fn derived_event_ids_are_deterministic_and_distinct() {
        let parent = EventId::new_random();
        assert_eq!(parent.derive("0"), parent.derive("0"));
        assert_ne!(parent.derive("0"), parent.derive("1"));
        assert_ne!(parent.derive("0"), parent);
    }

    #[test]
    fn idempotency_keys_give_stable_project_scoped_ids() {
        let shop = ProjectId::parse("shop").expect("valid");
        let docs = ProjectId::parse("docs").expect("valid");
        let id = EventId::for_idempotency_key(&shop, "run-42");
        assert_eq!(id, EventId::for_idempotency_key(&shop, "run-42"));
        assert_ne!(id, EventId::for_idempotency_key(&shop, "run-43"));
        assert_ne!(id, EventId::for_idempotency_key(&docs, "run-42"));
    }

    #[test]
    fn snapshot_hash_is_sha256_hex() {
        // sha256("abc")
        assert_eq!(
            SnapshotHash::of(b"abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(SnapshotHash::parse("ABC").is_err());
    }

    #[test]
    fn fingerprint_parts_are_length_prefixed() {
        let a = Fingerprint::from_parts(["ab", "c"]);
        let b = Fingerprint::from_parts(["a", "bc"]);
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert_eq!(Fingerprint::parse(a.as_str()).ok(), Some(a));
    }

    #[test]
    fn test_key_joins_file_and_titles() {
        let id = TestIdentity {
            file: "tests/login.spec.ts".into(),
            title_path: vec!["login".into(), "submits".into()],
        };
        assert_eq!(id.key(), "tests/login.spec.ts › login › submits");
        assert_eq!(id.title(), "login › submits");
    }
}
