//! The one place that names `bincode` (pinned to exactly 2.0.1 in the workspace): every
//! structured value in a trace is encoded and decoded through these functions, with
//! bincode's standard configuration (little-endian, variable-length integers: values below
//! 251 in one byte, then a marker byte FBh/FCh/FDh/FEh followed by 2/4/8/16 bytes; lengths of
//! strings and sequences are such integers; an enum is its variant index as such an integer
//! followed by its fields; an `Option` is a 0 or 1 byte followed by the value).
//!
//! # Bounded decoding
//!
//! bincode allocates a `String` or byte vector as soon as it has read its length, so a
//! forged length could ask for gigabytes. Its configurable limit is a budget of bytes that
//! decoding may "claim": every primitive claims its in-memory size (a `u64` claims 8 even
//! when stored in one byte) and every string or byte vector claims its length before it is
//! allocated. Valid data therefore never claims more than 8 bytes per input byte. Decoding
//! here picks the smallest budget tier that covers 8 bytes per input byte (plus slack), so
//! a forged length can never allocate more than about 8 times the (already bounded) input,
//! and never more than the top tier of 2 GiB, which only a decompressed frame of 256 MiB
//! reaches. Sequences of other types go through serde, which preallocates at most 1 MiB
//! whatever length is claimed.

use bincode::config;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Claimed bytes per input byte that valid data can reach (a `u64` stored in one byte).
const CLAIM_PER_BYTE: usize = 8;
/// Budget on top of that, for tiny inputs.
const CLAIM_SLACK: usize = 64 << 10;

/// Appends the encoding of `value` to `out`.
pub(crate) fn encode_into<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    bincode::serde::encode_into_std_write(value, out, config::standard())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The encoding of `value`.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    encode_into(value, &mut out)?;
    Ok(out)
}

fn decode_with_limit<T: DeserializeOwned, const LIMIT: usize>(
    bytes: &[u8],
) -> Result<(T, usize), bincode::error::DecodeError> {
    bincode::serde::decode_from_slice(bytes, config::standard().with_limit::<LIMIT>())
}

/// Decodes a `T` from the start of `bytes`; returns it and how many bytes it took.
pub(crate) fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), String> {
    let budget = bytes
        .len()
        .saturating_mul(CLAIM_PER_BYTE)
        .saturating_add(CLAIM_SLACK);
    let result = if budget <= 1 << 16 {
        decode_with_limit::<T, { 1 << 16 }>(bytes)
    } else if budget <= 1 << 20 {
        decode_with_limit::<T, { 1 << 20 }>(bytes)
    } else if budget <= 1 << 24 {
        decode_with_limit::<T, { 1 << 24 }>(bytes)
    } else if budget <= 1 << 28 {
        decode_with_limit::<T, { 1 << 28 }>(bytes)
    } else {
        // Inputs above 32 MiB: only large frames and headers (at most 256 MiB each), whose
        // big values (snapshots, files, console text) claim one byte per byte.
        decode_with_limit::<T, { 1 << 31 }>(bytes)
    };
    result.map_err(describe)
}

/// bincode's decode errors in the words of the trace format.
fn describe(e: bincode::error::DecodeError) -> String {
    use bincode::error::DecodeError as E;
    match e {
        E::LimitExceeded => "a length in the data is larger than the data itself".to_string(),
        E::UnexpectedEnd { additional } => {
            format!("the data ends too early ({additional} more bytes needed)")
        }
        E::Utf8 { .. } => "a string is not valid UTF-8".to_string(),
        E::InvalidBooleanValue(b) => format!("{b} is not a boolean (0 or 1)"),
        E::OtherString(s) if s.contains("variant") => {
            format!(
                "{s} (a kind of record or observation this vexed does not know: written by a newer vexed?)"
            )
        }
        E::OtherString(s) => s,
        e => e.to_string(),
    }
}

/// Decodes a `T` that must occupy all of `bytes`.
pub(crate) fn decode_exact<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let (value, used) = decode_prefix(bytes)?;
    if used != bytes.len() {
        return Err(format!(
            "{} bytes left over after the value",
            bytes.len() - used
        ));
    }
    Ok(value)
}

/// Appends the length prefix of a sequence of `n` elements (the same bytes bincode writes
/// before a `Vec`'s elements).
pub(crate) fn encode_len(n: u64, out: &mut Vec<u8>) -> Result<(), String> {
    encode_into(&n, out)
}

/// Decodes a sequence length prefix.
pub(crate) fn decode_len(bytes: &[u8]) -> Result<(u64, usize), String> {
    decode_prefix::<u64>(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vec_is_its_length_then_its_elements() {
        let v: Vec<(u64, String)> = vec![(1, "a".into()), (300, "bc".into())];
        let mut by_hand = Vec::new();
        encode_len(2, &mut by_hand).unwrap();
        for e in &v {
            encode_into(e, &mut by_hand).unwrap();
        }
        assert_eq!(encode(&v).unwrap(), by_hand);
    }

    #[test]
    fn varints_are_bincode_standard() {
        assert_eq!(encode(&250u64).unwrap(), [250]);
        assert_eq!(encode(&251u64).unwrap(), [0xFB, 251, 0]);
        assert_eq!(encode(&0x1_0000u64).unwrap(), [0xFC, 0, 0, 1, 0]);
        assert_eq!(
            encode(&(1u64 << 32)).unwrap(),
            [0xFD, 0, 0, 0, 0, 1, 0, 0, 0]
        );
        assert_eq!(decode_len(&[0xFB, 251, 0, 9]).unwrap(), (251, 3));
    }

    #[test]
    fn forged_lengths_do_not_allocate() {
        // A string claiming 2^40 bytes, in 10 bytes of input.
        let mut bytes = vec![0xFD];
        bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
        bytes.push(b'x');
        let e = decode_prefix::<String>(&bytes).unwrap_err();
        assert!(e.contains("larger than the data"), "{e}");
        // A plain `Vec<u8>` goes through serde's cautious sequence visitor: it runs out of
        // input instead.
        assert!(decode_prefix::<Vec<u8>>(&bytes).is_err());
        // Within the budget but past the end: an error, not a panic.
        assert!(decode_prefix::<String>(&[5, b'a']).is_err());
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        assert_eq!(decode_exact::<u8>(&[7]).unwrap(), 7);
        assert!(
            decode_exact::<u8>(&[7, 0])
                .unwrap_err()
                .contains("left over")
        );
    }
}
