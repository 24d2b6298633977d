//! Reading older format versions: the upgrade path (FORMAT.md, "Versions").
//!
//! The reader looks at the version field (byte offset 8) and asks [`layout`] how to decode
//! the rest. Today there is one version, so the only layout is the current one and nothing
//! needs upgrading. The policy, for whoever changes the format:
//!
//! 1. Appending a variant at the end of a stored enum (`Record`/`RawRecord`, and
//!    `vexed_emu::machine::Input` and `vexed_emu::observe::Observation`) is not a format
//!    change: old files never contain the new variant and decode as before. (An older vexed
//!    meeting the new variant reports a decode error in that frame.)
//! 2. Anything else that changes the bytes (the layout of the prefixes, CRC, compression or
//!    delta rule; a field added to, removed from or retyped in `Header`, `Footer`, `Counts`,
//!    `GuestFile`, a record, or any emu type inside them such as `MachineConfig` or
//!    `Observation`'s fields; reordering or removing a variant) bumps
//!    [`crate::FORMAT_VERSION`] to N+1. Then, in this module:
//!    - copy the old types into a `vN` submodule, frozen (the structs and enums exactly as
//!      they were, with serde derives; emu types the change touched are copied too);
//!    - add `Layout::VN`, map version N to it in [`layout`], and decode its header and
//!      records into the frozen types and convert them to the current ones in
//!      [`decode_header`] and [`decode_record`] (fill new fields with what the old recorder
//!      implied, e.g. the old default);
//!    - keep a small trace written by version N under `trace/tests/data/` with a test that
//!      it still reads (`format_v1.trace` does this for version 1).
//! 3. Versions are never reused, and a version is only dropped from [`layout`] with a
//!    release note; [`OLDEST_READABLE_VERSION`] says which is the oldest still read.
//!
//! A newer file than this build knows is refused with [`TraceError::UnsupportedVersion`],
//! whose message names both versions.

use crate::codec;
use crate::record::RawRecord;
use crate::{FORMAT_VERSION, Header, TraceError};

/// The oldest format version this build reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// The format versions this build reads.
pub fn supported_versions() -> std::ops::RangeInclusive<u32> {
    OLDEST_READABLE_VERSION..=FORMAT_VERSION
}

/// How the parts of a file of some version are decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Version 1, the current version: decoded straight into the current types.
    V1,
}

/// The layout of format version `found`, or the error refusing it.
pub(crate) fn layout(found: u32) -> Result<Layout, TraceError> {
    match found {
        1 => Ok(Layout::V1),
        _ => Err(TraceError::UnsupportedVersion {
            found,
            supported: FORMAT_VERSION,
        }),
    }
}

/// The header from its decompressed payload.
pub(crate) fn decode_header(layout: Layout, bytes: &[u8]) -> Result<Header, String> {
    match layout {
        Layout::V1 => codec::decode_exact(bytes),
    }
}

/// One on-disk record from the start of `bytes`, and how many bytes it took.
pub(crate) fn decode_record(layout: Layout, bytes: &[u8]) -> Result<(RawRecord, usize), String> {
    match layout {
        Layout::V1 => codec::decode_prefix(bytes),
    }
}

/// The footer from its body.
pub(crate) fn decode_footer(layout: Layout, bytes: &[u8]) -> Result<crate::Footer, String> {
    match layout {
        Layout::V1 => codec::decode_exact(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_version_is_readable() {
        assert!(supported_versions().contains(&FORMAT_VERSION));
        assert!(layout(FORMAT_VERSION).is_ok());
    }

    #[test]
    fn newer_and_unknown_versions_are_refused_naming_both_versions() {
        for found in [0, FORMAT_VERSION + 1, 7, u32::MAX] {
            let e = layout(found).unwrap_err();
            assert!(
                matches!(e, TraceError::UnsupportedVersion { found: f, supported } if f == found && supported == FORMAT_VERSION)
            );
            let text = e.to_string();
            assert!(text.contains(&found.to_string()), "{text}");
            assert!(text.contains(&FORMAT_VERSION.to_string()), "{text}");
        }
        let text = layout(FORMAT_VERSION + 1).unwrap_err().to_string();
        assert!(text.contains("newer"), "{text}");
    }
}
