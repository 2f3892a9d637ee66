//! `X-Hub-Signature-256`: the HMAC-SHA256 of the raw request body under the webhook's secret, sent as
//! `sha256=<64 lowercase hex>`. Checked before anything else reads the body.

use crate::SignatureError;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header GitHub signs deliveries with (the legacy SHA-1 `X-Hub-Signature` is not accepted).
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// The prefix of the header's value.
const SIGNATURE_PREFIX: &str = "sha256=";

/// Bytes in a SHA-256 digest.
const DIGEST_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// Checks `header` (the value of `X-Hub-Signature-256`, if the request had one) against the HMAC-SHA256 of
/// `body` under `secret`. The comparison takes the same time wherever the first differing byte is.
pub fn verify_signature(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_digest = header
        .trim()
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(SignatureError::Malformed("the value does not start with sha256="))?;
    let claimed =
        hex::decode(hex_digest).map_err(|_| SignatureError::Malformed("the digest is not hexadecimal"))?;
    if claimed.len() != DIGEST_LEN {
        return Err(SignatureError::Malformed("the digest is not 64 hex characters"));
    }
    if secret.is_empty() {
        // With an empty key anybody can compute the "signature": treat it as no secret at all.
        return Err(SignatureError::EmptySecret);
    }
    let mac = mac(secret, body).ok_or(SignatureError::Mismatch)?;
    mac.verify_slice(&claimed).map_err(|_| SignatureError::Mismatch)
}

/// The `X-Hub-Signature-256` value GitHub would send for `body` under `secret` (for tests and tools that
/// replay deliveries). `None` only if HMAC refused the key, which it never does.
pub fn signature_header(secret: &[u8], body: &[u8]) -> Option<String> {
    let digest = mac(secret, body)?.finalize().into_bytes();
    Some(format!("{SIGNATURE_PREFIX}{}", hex::encode(digest)))
}

/// The HMAC-SHA256 of `body` under `secret`. HMAC takes keys of any length (long ones are hashed, short
/// ones padded), so this is always `Some`; the option only spares an `expect`.
fn mac(secret: &[u8], body: &[u8]) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret).ok()?;
    mac.update(body);
    Some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of GitHub's documentation ("Validating webhook deliveries").
    const GITHUB_SECRET: &[u8] = b"It's a Secret to Everybody";
    const GITHUB_BODY: &[u8] = b"Hello, World!";
    const GITHUB_SIGNATURE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_documented_vector_verifies() {
        assert_eq!(signature_header(GITHUB_SECRET, GITHUB_BODY).as_deref(), Some(GITHUB_SIGNATURE));
        assert_eq!(verify_signature(GITHUB_SECRET, GITHUB_BODY, Some(GITHUB_SIGNATURE)), Ok(()));
        let upper = format!("sha256={}", GITHUB_SIGNATURE["sha256=".len()..].to_uppercase());
        assert_eq!(verify_signature(GITHUB_SECRET, GITHUB_BODY, Some(&upper)), Ok(()), "hex case is free");
    }

    #[test]
    fn a_changed_body_secret_or_digest_is_a_mismatch() {
        assert_eq!(
            verify_signature(GITHUB_SECRET, b"Hello, World?", Some(GITHUB_SIGNATURE)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(b"another secret", GITHUB_BODY, Some(GITHUB_SIGNATURE)),
            Err(SignatureError::Mismatch)
        );
        let flipped = GITHUB_SIGNATURE.replace("757107", "757108");
        assert_eq!(
            verify_signature(GITHUB_SECRET, GITHUB_BODY, Some(&flipped)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_told_apart() {
        assert_eq!(verify_signature(GITHUB_SECRET, GITHUB_BODY, None), Err(SignatureError::Missing));
        for malformed in [
            "",
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "sha256=not-hex",
            "sha256=757107",
            "sha256=",
        ] {
            assert!(
                matches!(
                    verify_signature(GITHUB_SECRET, GITHUB_BODY, Some(malformed)),
                    Err(SignatureError::Malformed(_))
                ),
                "{malformed:?}"
            );
        }
    }

    #[test]
    fn an_empty_secret_never_verifies() {
        let forged = signature_header(b"", GITHUB_BODY).expect("hmac takes any key");
        assert_eq!(verify_signature(b"", GITHUB_BODY, Some(&forged)), Err(SignatureError::EmptySecret));
    }
}
