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
#[cfg(test)]
pub(crate) fn compress(raw: &[u8], level: i32) -> Result<Vec<u8>, String> {
    zstd::bulk::compress(raw, level).map_err(|e| format!("zstd: {e}"))
}

/// A zstd compression context kept from one frame to the next, so that each frame does not
/// allocate and clear a context of its own (at level 7 several megabytes: on the
/// development VM, fresh pages faulted in for every snapshot's frame were most of a
/// recording's page faults). Its frames are what [`compress`] and [`compress_against`]
/// make, given the same `raw`, level and dictionary.
#[derive(Default)]
pub(crate) struct Context(Option<zstd::bulk::Compressor<'static>>);

impl Context {
    /// [`compress`] with this context.
    pub(crate) fn compress(&mut self, raw: &[u8], level: i32) -> Result<Vec<u8>, String> {
        let z = |e: std::io::Error| format!("zstd: {e}");
        let c = match &mut self.0 {
            Some(c) => {
                // No dictionary from a previous `compress_against`.
                c.set_dictionary(level, &[]).map_err(z)?;
                c
            }
            None => self
                .0
                .insert(zstd::bulk::Compressor::new(level).map_err(z)?),
        };
        c.compress(raw).map_err(z)
    }

    /// [`compress_against`] with this context.
    pub(crate) fn compress_against(
        &mut self,
        raw: &[u8],
        previous: &[u8],
        level: i32,
    ) -> Result<Vec<u8>, String> {
        let z = |e: std::io::Error| format!("zstd: {e}");
        let dict = dictionary(previous);
        let c = match &mut self.0 {
            Some(c) => {
                c.set_dictionary(level, &dict).map_err(z)?;
                c
            }
            None => self
                .0
                .insert(zstd::bulk::Compressor::with_dictionary(level, &dict).map_err(z)?),
        };
        c.compress(raw).map_err(z)
    }
}

/// The bytes of a payload written by [`compress`]: it must record its decompressed size,
/// which must be at most `limit`, and must decompress to exactly that size.
///
/// Memory grows with the output actually produced (from at most [`PREALLOC`] bytes
/// reserved up front), so a payload that declares a large size and holds little costs
/// little; the output never grows past the declared size plus one byte.
pub(crate) fn decompress(payload: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    let decoder =
        zstd::stream::read::Decoder::with_buffer(payload).map_err(|e| format!("zstd: {e}"))?;
    decompress_from(payload, decoder, limit)
}

/// The dictionary of [`compress_against`] for `previous`: a zero byte, then `previous`,
/// or when `previous` is empty the [`PRIMING_PAGES`] priming entries (the zero byte keeps
/// zstd from taking bytes that happen to start with its dictionary magic for a formatted
/// dictionary: this is always raw content).
fn dictionary(previous: &[u8]) -> Vec<u8> {
    let mut d = Vec::with_capacity(previous.len() + 1);
    d.push(0);
    if previous.is_empty() {
        // What a machine state's page map holds for memory mapped to itself: physical page
        // k at store offset k * 4096, in bincode's varint (FORMAT.md, "Conventions").
        for k in 0..PRIMING_PAGES {
            let v = k * 4096;
            match v {
                0..=250 => d.push(v as u8),
                251..=0xFFFF => {
                    d.push(0xFB);
                    d.extend_from_slice(&(v as u16).to_le_bytes());
                }
                _ => {
                    d.push(0xFC);
                    d.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
    } else {
        d.extend_from_slice(previous);
    }
    d
}

/// How many identity page-map entries prime the dictionary when there is no previous
/// state: 64 MiB of RAM, the most a trace's machine has (`limits::MAX_RAM`).
const PRIMING_PAGES: u32 = 16_384;

/// One zstd frame holding `raw` compressed with `previous` as a raw-content dictionary
/// (see [`dictionary`]): what `raw` shares with `previous` costs a few bytes per match,
/// wherever it lies.
pub(crate) fn compress_against(raw: &[u8], previous: &[u8], level: i32) -> Result<Vec<u8>, String> {
    zstd::bulk::Compressor::with_dictionary(level, &dictionary(previous))
        .and_then(|mut c| c.compress(raw))
        .map_err(|e| format!("zstd: {e}"))
}

/// The bytes of a payload written by [`compress_against`] with the same `previous`, with
/// the checks and limits of [`decompress`].
pub(crate) fn decompress_against(
    payload: &[u8],
    previous: &[u8],
    limit: u64,
) -> Result<Vec<u8>, String> {
    let decoder = zstd::stream::read::Decoder::with_dictionary(
        std::io::BufReader::new(payload),
        &dictionary(previous),
    )
    .map_err(|e| format!("zstd: {e}"))?;
    decompress_from(payload, decoder, limit)
}

/// What [`decompress`] and [`decompress_against`] share: `decoder` reads `payload`.
fn decompress_from(payload: &[u8], decoder: impl Read, limit: u64) -> Result<Vec<u8>, String> {
    let Some(size) = zstd::decompressed_size(payload) else {
        return Err("the zstd data does not start with a frame that records its size".into());
    };
    if size > limit {
        return Err(format!(
            "the zstd data decompresses to {size} bytes, more than the limit of {limit}"
        ));
    }
    let mut out = Vec::with_capacity(usize::try_from(size.min(PREALLOC)).unwrap_or(0));
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
    fn a_frame_against_a_previous_state_holds_what_changed() {
        // A state whose bytes moved (a varint grew early on): exclusive-or would see every
        // later byte change, the dictionary finds the moved bytes.
        let mut x = 0x9E37_79B9u32;
        let previous: Vec<u8> = (0..25_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let mut raw = previous.clone();
        raw.insert(14, 0xFB);
        raw[20_000] ^= 0x55;
        let z = compress_against(&raw, &previous, 7).unwrap();
        assert!(z.len() < 100, "{} bytes", z.len());
        assert_eq!(decompress_against(&z, &previous, 1 << 20).unwrap(), raw);
        // Without the same previous bytes it does not decode to the state.
        assert!(decompress_against(&z, &raw, 1 << 20).ok() != Some(raw.clone()));
        // A first state holding an identity page map compresses against the priming.
        let mut state = vec![0x42, 0x43];
        for k in 0..4096u32 {
            state.push(0xFC);
            state.extend_from_slice(&(k.max(16) * 4096).to_le_bytes());
        }
        state.extend_from_slice(&raw[..100]);
        let z = compress_against(&state, &[], 7).unwrap();
        assert!(z.len() < 250, "{} bytes", z.len());
        assert_eq!(decompress_against(&z, &[], 1 << 20).unwrap(), state);
        // Against nothing, and with a previous state that starts like a zstd dictionary.
        let z = compress_against(&raw, &[], 7).unwrap();
        assert_eq!(decompress_against(&z, &[], 1 << 20).unwrap(), raw);
        let magic = [0x37, 0xA4, 0x30, 0xEC, 1, 2, 3, 4];
        let z = compress_against(&magic, &magic, 7).unwrap();
        assert_eq!(decompress_against(&z, &magic, 1 << 20).unwrap(), magic);
        // The limits of `decompress` hold.
        let z = compress_against(&raw, &previous, 7).unwrap();
        let e = decompress_against(&z, &previous, 1000).unwrap_err();
        assert!(e.contains("more than the limit"), "{e}");
        assert!(decompress_against(b"not zstd", &previous, 1 << 20).is_err());
    }

    #[test]
    fn a_kept_context_makes_frames_that_decode_as_fresh_ones_do() {
        let previous: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 253) as u8).collect();
        let mut raw = previous.clone();
        raw[100] ^= 1;
        let mut c = Context::default();
        // Plain, against a state, plain again (the dictionary must not stay), other levels.
        for (against, level) in [(false, 3), (true, 7), (false, 7), (true, 7), (false, 3)] {
            if against {
                let z = c.compress_against(&raw, &previous, level).unwrap();
                assert!(z.len() < 100, "{} bytes", z.len());
                assert_eq!(decompress_against(&z, &previous, 1 << 20).unwrap(), raw);
            } else {
                let z = c.compress(&raw, level).unwrap();
                assert_eq!(declared_size(&z), Some(raw.len() as u64));
                assert_eq!(decompress(&z, 1 << 20).unwrap(), raw);
            }
        }
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
