//! How DOM snapshots are stored: gzip at level 6, and a decoder with a hard cap on the decompressed size,
//! so a stored blob (hand-edited, or written by a buggy build) can never balloon into gigabytes of memory.
//!
//! Gzip rather than raw deflate because its CRC-32 trailer turns silent corruption into an error.

use crate::StoreError;
use flate2::{Compression, read::GzDecoder, write::GzEncoder};
use std::io::{Read, Write};

/// The largest html the store keeps or gives back: 64 MiB.
pub(crate) const MAX_SNAPSHOT_BYTES: usize = 64 * 1024 * 1024;

/// The gzip level: zlib's default, a good ratio on html at a modest cost.
const COMPRESSION_LEVEL: u32 = 6;

/// Compresses an html snapshot. Refuses html larger than [`MAX_SNAPSHOT_BYTES`], which could never be read
/// back.
pub(crate) fn compress(html: &str) -> Result<Vec<u8>, StoreError> {
    if html.len() > MAX_SNAPSHOT_BYTES {
        return Err(StoreError::InvalidInput(format!(
            "dom snapshot of {} bytes exceeds the limit of {MAX_SNAPSHOT_BYTES} bytes",
            html.len()
        )));
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(html.len() / 4), Compression::new(COMPRESSION_LEVEL));
    // Writing into a Vec only fails on allocation failure, which aborts anyway; map it for completeness.
    encoder
        .write_all(html.as_bytes())
        .and_then(|()| encoder.finish())
        .map_err(|error| StoreError::InvalidInput(format!("cannot compress dom snapshot: {error}")))
}

/// Decompresses a stored snapshot, rejecting anything that inflates beyond [`MAX_SNAPSHOT_BYTES`].
pub(crate) fn decompress(compressed: &[u8]) -> Result<String, StoreError> {
    decompress_with_limit(compressed, MAX_SNAPSHOT_BYTES)
}

/// Decompresses `compressed`, reading at most `limit` bytes of output (one more byte is read to detect an
/// oversized blob, never the whole of it).
fn decompress_with_limit(compressed: &[u8], limit: usize) -> Result<String, StoreError> {
    let read_cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut html = Vec::new();
    GzDecoder::new(compressed)
        .take(read_cap)
        .read_to_end(&mut html)
        .map_err(|error| StoreError::Corrupt(format!("dom snapshot does not decompress: {error}")))?;
    if html.len() > limit {
        return Err(StoreError::Corrupt(format!("dom snapshot inflates beyond the limit of {limit} bytes")));
    }
    String::from_utf8(html)
        .map_err(|error| StoreError::Corrupt(format!("dom snapshot is not utf-8: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_round_trips_and_shrinks() {
        let html = "<html><body>".to_owned()
            + &"<div class=\"row\">caf\u{e9}</div>".repeat(5_000)
            + "</body></html>";
        let compressed = compress(&html).expect("compress");
        assert!(compressed.len() * 10 < html.len(), "repetitive html should compress well");
        assert_eq!(decompress(&compressed).expect("decompress"), html);
    }

    #[test]
    fn blob_inflating_beyond_the_limit_is_corrupt() {
        // A small blob that inflates to one byte more than the limit: the decoder stops at limit + 1.
        let bomb = compress(&"a".repeat(4097)).expect("compress");
        assert!(matches!(decompress_with_limit(&bomb, 4096), Err(StoreError::Corrupt(_))));
        assert_eq!(decompress_with_limit(&bomb, 4097).expect("at the limit").len(), 4097);
    }

    #[test]
    fn limit_is_64_mib() {
        assert_eq!(MAX_SNAPSHOT_BYTES, 67_108_864);
    }

    #[test]
    fn garbage_and_truncated_blobs_are_corrupt() {
        assert!(matches!(decompress(b"not gzip at all"), Err(StoreError::Corrupt(_))));
        let compressed = compress(&"<p>hello</p>".repeat(100)).expect("compress");
        let truncated = &compressed[..compressed.len() - 6];
        assert!(matches!(decompress(truncated), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn non_utf8_content_is_corrupt() {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::new(COMPRESSION_LEVEL));
        encoder.write_all(&[0xff, 0xfe, 0x00]).expect("write");
        let blob = encoder.finish().expect("finish");
        assert!(matches!(decompress(&blob), Err(StoreError::Corrupt(_))));
    }
}
