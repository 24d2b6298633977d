//! What the header, frames and footer share: CRC32 and bounded zstd.

use std::io::Read;

/// CRC32 (IEEE, as zlib and PNG) of the concatenation of `parts`.
pub(crate) fn crc(parts: &[&[u8]]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()
}

/// One zstd frame holding `raw` (its size recorded in the frame header, which the reader
/// requires).
pub(crate) fn compress(raw: &[u8], level: i32) -> Result<Vec<u8>, String> {
    zstd::bulk::compress(raw, level).map_err(|e| format!("zstd: {e}"))
}

/// The bytes of a payload written by [`compress`]: it must record its decompressed size,
/// which must be at most `limit`, and must decompress to exactly that size.
///
/// Memory grows with the output actually produced (from at most [`PREALLOC`] bytes
/// reserved up front), so a payload that declares a large size and holds little costs
/// little; the output never grows past the declared size plus one byte.
pub(crate) fn decompress(payload: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    let Some(size) = zstd::decompressed_size(payload) else {
        return Err("the zstd data does not start with a frame that records its size".into());
    };
    if size > limit {
        return Err(format!(
            "the zstd data decompresses to {size} bytes, more than the limit of {limit}"
        ));
    }
    let mut out = Vec::with_capacity(usize::try_from(size.min(PREALLOC)).unwrap_or(0));
    let decoder =
        zstd::stream::read::Decoder::with_buffer(payload).map_err(|e| format!("zstd: {e}"))?;
    decoder
        .take(size + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("zstd: {e}"))?;
    if out.len() as u64 != size {
        return Err(format!(
            "the zstd data decompresses to {}{} bytes, not the {size} it records",
            out.len(),
            if out.len() as u64 > size {
                " or more"
            } else {
                ""
            }
        ));
    }
    Ok(out)
}

/// The decompressed size a payload written by [`compress`] records, if it records one.
pub(crate) fn declared_size(payload: &[u8]) -> Option<u64> {
    zstd::decompressed_size(payload)
}

/// The first (at most) `n` decompressed bytes of `payload`, without decompressing the rest
/// (zstd decodes block by block: at most one block of 128 KiB is produced past them).
pub(crate) fn peek(payload: &[u8], n: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let decoder =
        zstd::stream::read::Decoder::with_buffer(payload).map_err(|e| format!("zstd: {e}"))?;
    decoder
        .take(n)
        .read_to_end(&mut out)
        .map_err(|e| format!("zstd: {e}"))?;
    Ok(out)
}

/// Output reserved before decompressing (the rest grows as it is produced).
const PREALLOC: u64 = 8 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limits() {
        let raw = vec![7u8; 100_000];
        let z = compress(&raw, 3).unwrap();
        assert!(z.len() < 1000);
        assert_eq!(decompress(&z, 100_000).unwrap(), raw);
        let e = decompress(&z, 99_999).unwrap_err();
        assert!(e.contains("more than the limit"), "{e}");
        assert!(decompress(b"not zstd at all", 1 << 20).is_err());
        assert!(decompress(&[], 1 << 20).is_err());
        // Two frames where one is declared: refused, not overrun.
        let mut two = z.clone();
        two.extend_from_slice(&z);
        assert!(decompress(&two, 100_000).is_err());
    }

    #[test]
    fn peek_gives_the_first_bytes() {
        let raw: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let z = compress(&raw, 3).unwrap();
        assert_eq!(declared_size(&z), Some(100_000));
        assert_eq!(peek(&z, 16).unwrap(), raw[..16]);
        assert_eq!(peek(&z, 1 << 20).unwrap(), raw);
        assert!(peek(b"not zstd at all", 16).is_err());
        assert_eq!(declared_size(b"not zstd"), None);
    }

    #[test]
    fn crc_is_crc32_ieee() {
        assert_eq!(crc(&[b"123456789"]), 0xCBF4_3926);
        assert_eq!(crc(&[b"1234", b"56789"]), 0xCBF4_3926);
    }
}
