//! Reading older format versions: the upgrade path (FORMAT.md, "Versions").
//!
//! The reader looks at the version field (byte offset 8) and asks [`layout`] how to decode
//! the rest. Version 7 is the current version; version 1, 2, 3 and 4 files are read
//! through the frozen types of [`v1`], [`v2`], [`v3`] and [`v4`] and converted, and
//! version 5 and 6 files decode as version 7 files do (only their hashes mean something
//! else). The policy, for whoever
//! changes the format:
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
//!      it still reads (`format_v1.trace` does this for version 1, `format_v2.trace` for
//!      version 2, `format_v3.trace` for version 3, `format_v4.trace` for version 4).
//! 3. Versions are never reused, and a version is only dropped from [`layout`] with a
//!    release note; [`OLDEST_READABLE_VERSION`] says which is the oldest still read.
//!
//! A newer file than this build knows is refused with [`TraceError::UnsupportedVersion`],
//! whose message names both versions.
//!
//! # History
//!
//! - Version 2: `FirmwareConfig` gained `vmm: Option<VmmConfig>` at its end (the VM
//!   manager). Version 1 headers are decoded as [`v1::Header`] and read with `vmm: None`
//!   (a version 1 recorder had no VMM). Records and the footer did not change.
//! - Still version 2: the record kind `PagedSnapshot` (index 4) was appended to
//!   `Record`/`RawRecord` (rule 1: no version change). Files without it read as before.
//! - Version 3: the footer's `end` became the typed [`crate::RunEnd`] instead of free text.
//!   Version 1 and 2 footers are decoded as [`v2::Footer`] and their text mapped to a
//!   `RunEnd`. Headers and records did not change.
//! - Version 4: `FirmwareConfig` gained `dpmi: Option<DpmiConfig>` at its end (a DPMI host
//!   in plain DOS). Version 2 and 3 headers are decoded as [`v3::Header`] and read with
//!   `dpmi: None` (a version 3 recorder had no DPMI host); version 1 headers likewise.
//!   Records and the footer did not change.
//! - Version 5: `VmmConfig` gained `system: Option<Program>` at its end (a program the
//!   system VM runs). Version 4 headers are decoded as [`v4::Header`], version 2 and 3
//!   headers as [`v3::Header`] (whose VMM is now the frozen [`v4::VmmConfig`]), and read
//!   with `system: None` (their recorders' system VM only idled). Records and the footer
//!   did not change.
//! - Version 6: the checkpoint and final hashes became the paged state hash
//!   (`vexed_emu::machine::Machine::state_hash`: the state without memory's store, then a
//!   hash per store page), which a recorder maintains for the pages written since the last
//!   checkpoint instead of hashing all memory at each. No byte layout changed: version 5
//!   files decode as they did, and [`Layout::hash_scheme`] tells a replayer to verify them
//!   with the old whole-machine hash (`Machine::whole_state_hash`). The record kind 5, a
//!   paged snapshot coded as a delta from the previous one (pages as exclusive-or, the
//!   state compressed against the previous state), was appended with it.
//! - Version 7: the state hash encodes the page map as its length and its hash (which the
//!   machine caches until the map changes) instead of an entry per physical page, so a
//!   checkpoint no longer encodes and hashes the whole map again
//!   (`vexed_emu::machine::HashScheme::PagedMap`). No byte layout changed: version 6 files
//!   decode as they did and are verified with their own hash (`HashScheme::Paged`).
//! - Version 8: the first delta snapshot is coded against the machine the header builds at
//!   tick 0 instead of against nothing ([`SnapshotBase`]), and the recorder writes that
//!   machine's hash as a checkpoint at tick 0; consecutive checkpoints at a fixed spacing are
//!   stored as one checkpoint run (record kind 6, appended). No byte layout of an existing
//!   type changed: version 7 files decode as they did and their snapshots are rebuilt from
//!   nothing (`SnapshotBase::Nothing`).

use crate::codec;
use crate::record::RawRecord;
use crate::{FORMAT_VERSION, Header, TraceError};
use vexed_emu::machine::HashScheme;

/// The oldest format version this build reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// The format versions this build reads.
pub fn supported_versions() -> std::ops::RangeInclusive<u32> {
    OLDEST_READABLE_VERSION..=FORMAT_VERSION
}

/// How the parts of a file of some version are decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Version 1: the header through [`v1::Header`] (no VMM or DPMI configuration),
    /// records as in version 4, the footer through [`v2::Footer`] (its end as text).
    V1,
    /// Version 2: the header through [`v3::Header`] (no DPMI configuration), records as in
    /// version 4, the footer through [`v2::Footer`].
    V2,
    /// Version 3: the header through [`v3::Header`] (no DPMI configuration), records and
    /// the footer as in version 5.
    V3,
    /// Version 4: the header through [`v4::Header`] (no system VM program), records and
    /// the footer as in version 5.
    V4,
    /// Version 5: decoded straight into the current types (it differs from version 6 only
    /// in what its checkpoint hashes mean: [`Layout::hash_scheme`]).
    V5,
    /// Version 6: decoded straight into the current types (it differs from version 7 only
    /// in what its checkpoint hashes mean).
    V6,
    /// Version 7: decoded straight into the current types (it differs from version 8 in
    /// what its first delta snapshot is coded against: [`Layout::snapshot_base`]).
    V7,
    /// Version 8, the current version: decoded straight into the current types.
    V8,
}

impl Layout {
    /// The layout of [`FORMAT_VERSION`], what this build writes.
    pub(crate) const CURRENT: Layout = Layout::V8;

    /// Which state hash the checkpoints and the footer of a file of this layout hold:
    /// the hash of the whole machine encoding up to version 5, the paged hash in 6, the
    /// paged hash with the page map hashed apart from 7.
    pub(crate) fn hash_scheme(self) -> HashScheme {
        match self {
            Layout::V1 | Layout::V2 | Layout::V3 | Layout::V4 | Layout::V5 => HashScheme::Whole,
            Layout::V6 => HashScheme::Paged,
            Layout::V7 | Layout::V8 => HashScheme::PagedMap,
        }
    }

    /// What a file of this layout codes its first delta snapshot against: nothing up to
    /// version 7, the machine its header builds at tick 0 from version 8.
    pub(crate) fn snapshot_base(self) -> SnapshotBase {
        match self {
            Layout::V8 => SnapshotBase::MachineAtTick0,
            _ => SnapshotBase::Nothing,
        }
    }
}

/// What the first delta snapshot of a trace (and the first after a whole snapshot) is coded
/// against (FORMAT.md, "Paged snapshots").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotBase {
    /// An empty store and no state (versions 6 and 7): the first snapshot holds every page
    /// that is not all zeros, and its state is compressed against the priming entries.
    Nothing,
    /// The machine the header builds at tick 0, before it runs (from version 8): its store
    /// and its state without the store (`Machine::snapshot_without_store`). A version 8
    /// recorder writes that machine's state hash as a checkpoint at tick 0, so a reader can
    /// tell whether its own build builds the same machine before decoding anything
    /// against it.
    MachineAtTick0,
}

/// The layout of format version `found`, or the error refusing it.
pub(crate) fn layout(found: u32) -> Result<Layout, TraceError> {
    match found {
        1 => Ok(Layout::V1),
        2 => Ok(Layout::V2),
        3 => Ok(Layout::V3),
        4 => Ok(Layout::V4),
        5 => Ok(Layout::V5),
        6 => Ok(Layout::V6),
        7 => Ok(Layout::V7),
        8 => Ok(Layout::V8),
        _ => Err(TraceError::UnsupportedVersion {
            found,
            supported: FORMAT_VERSION,
        }),
    }
}

/// The header from its decompressed payload.
pub(crate) fn decode_header(layout: Layout, bytes: &[u8]) -> Result<Header, String> {
    match layout {
        Layout::V1 => codec::decode_exact::<v1::Header>(bytes).map(Header::from),
        // The header did not change in version 3.
        Layout::V2 | Layout::V3 => codec::decode_exact::<v3::Header>(bytes).map(Header::from),
        Layout::V4 => codec::decode_exact::<v4::Header>(bytes).map(Header::from),
        Layout::V5 | Layout::V6 | Layout::V7 | Layout::V8 => codec::decode_exact(bytes),
    }
}

/// One on-disk record from the start of `bytes`, and how many bytes it took.
pub(crate) fn decode_record(layout: Layout, bytes: &[u8]) -> Result<(RawRecord, usize), String> {
    match layout {
        // Records did not change in versions 2 to 8 (only variants were appended).
        Layout::V1
        | Layout::V2
        | Layout::V3
        | Layout::V4
        | Layout::V5
        | Layout::V6
        | Layout::V7
        | Layout::V8 => codec::decode_prefix(bytes),
    }
}

/// The footer from its body.
pub(crate) fn decode_footer(layout: Layout, bytes: &[u8]) -> Result<crate::Footer, String> {
    match layout {
        // The footer did not change in version 2; version 3 typed its end; versions 4 and
        // 5 did not change it.
        Layout::V1 | Layout::V2 => {
            codec::decode_exact::<v2::Footer>(bytes).map(crate::Footer::from)
        }
        Layout::V3 | Layout::V4 | Layout::V5 | Layout::V6 | Layout::V7 | Layout::V8 => {
            codec::decode_exact(bytes)
        }
    }
}

/// Format version 4, frozen: the types whose encoding version 5 changed, exactly as they
/// were. Never edit them. The emu types they name (`MachineConfig`, `Program`,
/// `XmsConfig`, `EmsConfig`, `DosConfig`, `DpmiConfig`, `VmSpec`, `VmmRules`) and
/// `GuestFile` did not change in version 5; a later version that changes one of them
/// copies it here as it was.
pub(crate) mod v4 {
    use serde::{Deserialize, Serialize};
    use vexed_emu::firmware::dos::DosConfig;
    use vexed_emu::firmware::dpmi::DpmiConfig;
    use vexed_emu::firmware::ems::EmsConfig;
    use vexed_emu::firmware::vmm::{VmSpec, VmmConfig as CurrentVmmConfig, VmmRules};
    use vexed_emu::firmware::xms::XmsConfig;
    use vexed_emu::firmware::{FirmwareConfig as CurrentFirmwareConfig, Program};
    use vexed_emu::machine::MachineConfig;

    use crate::GuestFile;

    /// `vexed_emu::firmware::vmm::VmmConfig` of versions 2 to 4: no system VM program.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub(crate) struct VmmConfig {
        pub slice: u32,
        pub vms: Vec<VmSpec>,
        pub focus: usize,
        pub rules: VmmRules,
    }

    /// `vexed_emu::firmware::FirmwareConfig` of version 4.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub(crate) struct FirmwareConfig {
        pub xms: Option<XmsConfig>,
        pub ems: Option<EmsConfig>,
        pub dos: DosConfig,
        pub vmm: Option<VmmConfig>,
        pub dpmi: Option<DpmiConfig>,
    }

    /// [`crate::Header`] of version 4: its VMM configuration has no system VM program.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub(crate) struct Header {
        pub emulator_version: String,
        pub name: String,
        pub machine: MachineConfig,
        pub firmware: FirmwareConfig,
        pub programs: Vec<Program>,
        pub seed: Option<u64>,
        pub scenario: String,
        pub max_ticks: u64,
        pub checkpoint_interval: u64,
        pub drive_writable: bool,
        pub dirs: Vec<String>,
        pub files: Vec<GuestFile>,
    }

    impl From<VmmConfig> for CurrentVmmConfig {
        fn from(old: VmmConfig) -> CurrentVmmConfig {
            let VmmConfig {
                slice,
                vms,
                focus,
                rules,
            } = old;
            CurrentVmmConfig {
                slice,
                vms,
                focus,
                rules,
                // A version 2 to 4 recorder's system VM only idled.
                system: None,
            }
        }
    }

    impl From<FirmwareConfig> for CurrentFirmwareConfig {
        fn from(old: FirmwareConfig) -> CurrentFirmwareConfig {
            let FirmwareConfig {
                xms,
                ems,
                dos,
                vmm,
                dpmi,
            } = old;
            CurrentFirmwareConfig {
                xms,
                ems,
                dos,
                vmm: vmm.map(Into::into),
                dpmi,
            }
        }
    }

    impl From<Header> for crate::Header {
        fn from(old: Header) -> crate::Header {
            let Header {
                emulator_version,
                name,
                machine,
                firmware,
                programs,
                seed,
                scenario,
                max_ticks,
                checkpoint_interval,
                drive_writable,
                dirs,
                files,
            } = old;
            crate::Header {
                emulator_version,
                name,
                machine,
                firmware: firmware.into(),
                programs,
                seed,
                scenario,
                max_ticks,
                checkpoint_interval,
                drive_writable,
                dirs,
                files,
            }
        }
    }
}

/// Format version 3, frozen: the types whose encoding version 4 changed, exactly as they
/// were (version 2 headers are the same). Never edit them. The emu types they name
/// (`MachineConfig`, `Program`, `XmsConfig`, `EmsConfig`, `DosConfig`) and `GuestFile` did
/// not change in version 4; `VmmConfig` changed in version 5 and is the frozen
/// [`super::v4::VmmConfig`]. A later version that changes one of them copies it here as
/// it was.
pub(crate) mod v3 {
    use serde::{Deserialize, Serialize};
    use vexed_emu::firmware::dos::DosConfig;
    use vexed_emu::firmware::ems::EmsConfig;
    use vexed_emu::firmware::xms::XmsConfig;

    use super::v4::VmmConfig;
    use vexed_emu::firmware::{FirmwareConfig as CurrentFirmwareConfig, Program};
    use vexed_emu::machine::MachineConfig;

    use crate::GuestFile;

    /// `vexed_emu::firmware::FirmwareConfig` of versions 2 and 3: no DPMI host.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub(crate) struct FirmwareConfig {
        pub xms: Option<XmsConfig>,
        pub ems: Option<EmsConfig>,
        pub dos: DosConfig,
        pub vmm: Option<VmmConfig>,
    }

    /// [`crate::Header`] of versions 2 and 3: its firmware configuration has no DPMI host.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub(crate) struct Header {
        pub emulator_version: String,
        pub name: String,
        pub machine: MachineConfig,
        pub firmware: FirmwareConfig,
        pub programs: Vec<Program>,
        pub seed: Option<u64>,
        pub scenario: String,
        pub max_ticks: u64,
        pub checkpoint_interval: u64,
        pub drive_writable: bool,
        pub dirs: Vec<String>,
        pub files: Vec<GuestFile>,
    }

    impl From<FirmwareConfig> for CurrentFirmwareConfig {
        fn from(old: FirmwareConfig) -> CurrentFirmwareConfig {
            let FirmwareConfig { xms, ems, dos, vmm } = old;
            CurrentFirmwareConfig {
                xms,
                ems,
                dos,
                vmm: vmm.map(Into::into),
                // A version 2 or 3 recorder had no DPMI host.
                dpmi: None,
            }
        }
    }

    impl From<Header> for crate::Header {
        fn from(old: Header) -> crate::Header {
            let Header {
                emulator_version,
                name,
                machine,
                firmware,
                programs,
                seed,
                scenario,
                max_ticks,
                checkpoint_interval,
                drive_writable,
                dirs,
                files,
            } = old;
            crate::Header {
                emulator_version,
                name,
                machine,
                firmware: firmware.into(),
                programs,
                seed,
                scenario,
                max_ticks,
                checkpoint_interval,
                drive_writable,
                dirs,
                files,
            }
        }
    }
}

/// Format version 2, frozen: the types whose encoding version 3 changed, exactly as they
/// were (version 1 footers are the same). Never edit them. `Counts` did not change in
/// version 3.
pub(crate) mod v2 {
    use serde::{Deserialize, Serialize};

    use crate::Counts;

    /// [`crate::Footer`] of versions 1 and 2: how the run ended as free text.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub(crate) struct Footer {
        pub final_tick: u64,
        pub final_hash: u64,
        pub end: String,
        pub counts: Counts,
    }

    impl From<Footer> for crate::Footer {
        fn from(old: Footer) -> crate::Footer {
            let Footer {
                final_tick,
                final_hash,
                end,
                counts,
            } = old;
            crate::Footer {
                final_tick,
                final_hash,
                end: crate::end::from_old_text(&end),
                counts,
            }
        }
    }
}

/// Format version 1, frozen: the types whose encoding version 2 changed, exactly as they
/// were. Never edit them. The emu types they name (`MachineConfig`, `Program`, `XmsConfig`,
/// `EmsConfig`, `DosConfig`) and `GuestFile` did not change in version 2; a later version
/// that changes one of them copies it here as it was.
pub(crate) mod v1 {
    use serde::{Deserialize, Serialize};
    use vexed_emu::firmware::dos::DosConfig;
    use vexed_emu::firmware::ems::EmsConfig;
    use vexed_emu::firmware::xms::XmsConfig;
    use vexed_emu::firmware::{FirmwareConfig as CurrentFirmwareConfig, Program};
    use vexed_emu::machine::MachineConfig;

    use crate::GuestFile;

    /// `vexed_emu::firmware::FirmwareConfig` of version 1: no VMM.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub(crate) struct FirmwareConfig {
        pub xms: Option<XmsConfig>,
        pub ems: Option<EmsConfig>,
        pub dos: DosConfig,
    }

    /// [`crate::Header`] of version 1: its firmware configuration has no VMM.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub(crate) struct Header {
        pub emulator_version: String,
        pub name: String,
        pub machine: MachineConfig,
        pub firmware: FirmwareConfig,
        pub programs: Vec<Program>,
        pub seed: Option<u64>,
        pub scenario: String,
        pub max_ticks: u64,
        pub checkpoint_interval: u64,
        pub drive_writable: bool,
        pub dirs: Vec<String>,
        pub files: Vec<GuestFile>,
    }

    impl From<FirmwareConfig> for CurrentFirmwareConfig {
        fn from(old: FirmwareConfig) -> CurrentFirmwareConfig {
            let FirmwareConfig { xms, ems, dos } = old;
            CurrentFirmwareConfig {
                xms,
                ems,
                dos,
                // A version 1 recorder had no VM manager and no DPMI host.
                vmm: None,
                dpmi: None,
            }
        }
    }

    impl From<Header> for crate::Header {
        fn from(old: Header) -> crate::Header {
            let Header {
                emulator_version,
                name,
                machine,
                firmware,
                programs,
                seed,
                scenario,
                max_ticks,
                checkpoint_interval,
                drive_writable,
                dirs,
                files,
            } = old;
            crate::Header {
                emulator_version,
                name,
                machine,
                firmware: firmware.into(),
                programs,
                seed,
                scenario,
                max_ticks,
                checkpoint_interval,
                drive_writable,
                dirs,
                files,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vexed_emu::firmware::Program;
    use vexed_emu::firmware::dos::DosConfig;
    use vexed_emu::firmware::dpmi::DpmiConfig;
    use vexed_emu::firmware::vmm::{VmSpec, VmmConfig};
    use vexed_emu::firmware::xms::XmsConfig;

    fn v1_header() -> v1::Header {
        v1::Header {
            emulator_version: "vexed 0.1.0".into(),
            name: "old".into(),
            machine: Default::default(),
            firmware: v1::FirmwareConfig {
                xms: Some(XmsConfig::default()),
                ems: None,
                dos: DosConfig::default(),
            },
            programs: vec![Program {
                name: "A.COM".into(),
                args: "/x".into(),
            }],
            seed: Some(7),
            scenario: "name = \"old\"\n".into(),
            max_ticks: 1000,
            checkpoint_interval: 100,
            drive_writable: true,
            dirs: vec!["SUB".into()],
            files: vec![crate::GuestFile::new("A.COM".into(), vec![0xCD, 0x20])],
        }
    }

    /// [`v1_header`] as version 2 and 3 wrote it: `vmm` added to the firmware.
    fn v3_header(old: v1::Header, vmm: Option<v4::VmmConfig>) -> v3::Header {
        let v1::Header {
            emulator_version,
            name,
            machine,
            firmware,
            programs,
            seed,
            scenario,
            max_ticks,
            checkpoint_interval,
            drive_writable,
            dirs,
            files,
        } = old;
        v3::Header {
            emulator_version,
            name,
            machine,
            firmware: v3::FirmwareConfig {
                xms: firmware.xms,
                ems: firmware.ems,
                dos: firmware.dos,
                vmm,
            },
            programs,
            seed,
            scenario,
            max_ticks,
            checkpoint_interval,
            drive_writable,
            dirs,
            files,
        }
    }

    /// A VMM configuration as versions 2 to 4 stored it.
    fn a_vmm() -> v4::VmmConfig {
        let VmmConfig {
            slice,
            vms,
            focus,
            rules,
            ..
        } = VmmConfig {
            vms: vec![VmSpec::new(Program {
                name: "B.EXE".into(),
                args: String::new(),
            })],
            ..VmmConfig::default()
        };
        v4::VmmConfig {
            slice,
            vms,
            focus,
            rules,
        }
    }

    /// [`v3_header`] as version 4 wrote it: `dpmi` added to the firmware.
    fn v4_header(old: v3::Header, dpmi: Option<DpmiConfig>) -> v4::Header {
        let v3::Header {
            emulator_version,
            name,
            machine,
            firmware,
            programs,
            seed,
            scenario,
            max_ticks,
            checkpoint_interval,
            drive_writable,
            dirs,
            files,
        } = old;
        v4::Header {
            emulator_version,
            name,
            machine,
            firmware: v4::FirmwareConfig {
                xms: firmware.xms,
                ems: firmware.ems,
                dos: firmware.dos,
                vmm: firmware.vmm,
                dpmi,
            },
            programs,
            seed,
            scenario,
            max_ticks,
            checkpoint_interval,
            drive_writable,
            dirs,
            files,
        }
    }

    #[test]
    fn a_version_1_header_reads_without_a_vmm() {
        let old = v1_header();
        let bytes = codec::encode(&old).unwrap();
        let h = decode_header(layout(1).unwrap(), &bytes).unwrap();
        assert_eq!(h.firmware.vmm, None);
        assert_eq!(h.firmware.dpmi, None);
        assert_eq!(h.firmware.xms, old.firmware.xms);
        assert_eq!(h.firmware.ems, old.firmware.ems);
        assert_eq!(h.firmware.dos, old.firmware.dos);
        assert_eq!(h.name, "old");
        assert_eq!(h.files, old.files);
        // The same bytes are not a version 2 to 5 header: the VMM field is missing.
        for l in [Layout::V2, Layout::V3, Layout::V4, Layout::V5] {
            assert!(decode_header(l, &bytes).is_err(), "{l:?}");
        }
    }

    #[test]
    fn version_2_appends_the_vmm_to_the_version_1_encoding() {
        // A version 2 header without a VMM is the version 1 encoding plus one `None` byte
        // for `vmm` at the end of the firmware configuration (before `programs`).
        let old = v1_header();
        let mut new = v3_header(old.clone(), None);
        let old_bytes = codec::encode(&old).unwrap();
        let new_bytes = codec::encode(&new).unwrap();
        let firmware_end = codec::encode(&(
            &old.emulator_version,
            &old.name,
            &old.machine,
            &old.firmware,
        ))
        .unwrap()
        .len();
        assert_eq!(new_bytes[..firmware_end], old_bytes[..firmware_end]);
        assert_eq!(new_bytes[firmware_end], 0, "vmm: None");
        assert_eq!(new_bytes[firmware_end + 1..], old_bytes[firmware_end..]);
        // And a version 2 header with a VMM reads back with it (and no DPMI host).
        new.firmware.vmm = Some(a_vmm());
        let bytes = codec::encode(&new).unwrap();
        let h = decode_header(layout(2).unwrap(), &bytes).unwrap();
        assert_eq!(h.firmware.vmm, Some(a_vmm().into()));
        assert_eq!(h, Header::from(new));
    }

    #[test]
    fn a_version_3_header_reads_without_a_dpmi_host() {
        let old = v3_header(v1_header(), Some(a_vmm()));
        let bytes = codec::encode(&old).unwrap();
        let h = decode_header(layout(3).unwrap(), &bytes).unwrap();
        assert_eq!(h.firmware.dpmi, None);
        assert_eq!(h.firmware.vmm, old.firmware.vmm.clone().map(Into::into));
        assert_eq!(h.firmware.xms, old.firmware.xms);
        assert_eq!(h.firmware.ems, old.firmware.ems);
        assert_eq!(h.firmware.dos, old.firmware.dos);
        assert_eq!(h.programs, old.programs);
        assert_eq!(h.files, old.files);
        // The same bytes are not a version 4 or 5 header: the DPMI field is missing.
        assert!(decode_header(Layout::V4, &bytes).is_err());
        assert!(decode_header(Layout::V5, &bytes).is_err());
    }

    #[test]
    fn version_4_appends_the_dpmi_host_to_the_version_3_encoding() {
        // A version 4 header without a DPMI host is the version 3 encoding plus one `None`
        // byte for `dpmi` at the end of the firmware configuration (after `vmm`, before
        // `programs`).
        let old = v3_header(v1_header(), Some(a_vmm()));
        let mut new = v4_header(old.clone(), None);
        let old_bytes = codec::encode(&old).unwrap();
        let new_bytes = codec::encode(&new).unwrap();
        let firmware_end = codec::encode(&(
            &old.emulator_version,
            &old.name,
            &old.machine,
            &old.firmware,
        ))
        .unwrap()
        .len();
        assert_eq!(new_bytes[..firmware_end], old_bytes[..firmware_end]);
        assert_eq!(new_bytes[firmware_end], 0, "dpmi: None");
        assert_eq!(new_bytes[firmware_end + 1..], old_bytes[firmware_end..]);
        // With a DPMI host: `01` then `max_client_kb` as a varint (4,096 = FB 00 10).
        new.firmware.dpmi = Some(DpmiConfig {
            max_client_kb: 4096,
        });
        let bytes = codec::encode(&new).unwrap();
        assert_eq!(bytes[firmware_end..firmware_end + 4], [1, 0xFB, 0x00, 0x10]);
        assert_eq!(bytes[firmware_end + 4..], old_bytes[firmware_end..]);
        assert_eq!(
            decode_header(layout(4).unwrap(), &bytes).unwrap(),
            Header::from(new)
        );
        // A version 4 header is not a version 3 one.
        assert!(decode_header(Layout::V3, &bytes).is_err());
    }

    #[test]
    fn version_5_appends_the_system_program_to_the_vmm_configuration() {
        // A version 5 header whose system VM runs no program is the version 4 encoding plus
        // one `None` byte for `system` at the end of the VMM configuration (before `dpmi`).
        let old = v4_header(
            v3_header(v1_header(), Some(a_vmm())),
            Some(DpmiConfig { max_client_kb: 0 }),
        );
        let mut new = Header::from(old.clone());
        assert_eq!(new.firmware.vmm.as_ref().map(|v| &v.system), Some(&None));
        let old_bytes = codec::encode(&old).unwrap();
        let new_bytes = codec::encode(&new).unwrap();
        let firmware = &old.firmware;
        let vmm_end = codec::encode(&(
            (&old.emulator_version, &old.name, &old.machine),
            (&firmware.xms, &firmware.ems, &firmware.dos, &firmware.vmm),
        ))
        .unwrap()
        .len();
        assert_eq!(new_bytes[..vmm_end], old_bytes[..vmm_end]);
        assert_eq!(new_bytes[vmm_end], 0, "system: None");
        assert_eq!(new_bytes[vmm_end + 1..], old_bytes[vmm_end..]);
        assert_eq!(decode_header(layout(4).unwrap(), &old_bytes).unwrap(), new);
        // With a system program: `01`, then its name and args as strings.
        if let Some(v) = new.firmware.vmm.as_mut() {
            v.system = Some(Program {
                name: "W.EXE".into(),
                args: String::new(),
            });
        }
        let bytes = codec::encode(&new).unwrap();
        assert_eq!(
            bytes[vmm_end..vmm_end + 8],
            [1, 5, b'W', b'.', b'E', b'X', b'E', 0]
        );
        assert_eq!(bytes[vmm_end + 8..], old_bytes[vmm_end..]);
        assert_eq!(decode_header(layout(5).unwrap(), &bytes).unwrap(), new);
        // A version 5 header is not a version 4 one, nor the reverse.
        assert!(decode_header(Layout::V4, &bytes).is_err());
        assert!(decode_header(Layout::V5, &old_bytes).is_err());
    }

    #[test]
    fn the_current_layout_is_that_of_the_current_version() {
        assert_eq!(layout(FORMAT_VERSION).unwrap(), Layout::CURRENT);
        assert_eq!(FORMAT_VERSION, 8);
        assert_eq!(OLDEST_READABLE_VERSION, 1);
        assert_eq!(layout(1).unwrap(), Layout::V1);
        assert_eq!(layout(2).unwrap(), Layout::V2);
        assert_eq!(layout(3).unwrap(), Layout::V3);
        assert_eq!(layout(4).unwrap(), Layout::V4);
        assert_eq!(layout(5).unwrap(), Layout::V5);
        assert_eq!(layout(6).unwrap(), Layout::V6);
        assert_eq!(layout(7).unwrap(), Layout::V7);
        assert_eq!(layout(8).unwrap(), Layout::V8);
        assert_eq!(Layout::V7.snapshot_base(), SnapshotBase::Nothing);
        assert_eq!(Layout::V8.snapshot_base(), SnapshotBase::MachineAtTick0);
        assert_eq!(Layout::V5.hash_scheme(), HashScheme::Whole);
        assert_eq!(Layout::V6.hash_scheme(), HashScheme::Paged);
        assert_eq!(Layout::V7.hash_scheme(), HashScheme::PagedMap);
        assert_eq!(Layout::V8.hash_scheme(), HashScheme::PagedMap);
    }

    #[test]
    fn the_current_version_is_readable() {
        assert!(supported_versions().contains(&FORMAT_VERSION));
        assert!(layout(FORMAT_VERSION).is_ok());
    }

    #[test]
    fn newer_and_unknown_versions_are_refused_naming_both_versions() {
        for found in [0, FORMAT_VERSION + 1, 9, u32::MAX] {
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

    #[test]
    fn version_1_and_2_footers_read_with_a_typed_end() {
        use crate::{Counts, Footer, RunEnd};
        let counts = Counts {
            inputs: 1,
            observations: 2,
            checkpoints: 3,
            snapshots: 4,
            frames: 5,
        };
        for (text, end) in [
            ("tick limit", RunEnd::TickLimit),
            ("exit port 01h", RunEnd::ExitPort(1)),
            ("finished (exit code 4)", RunEnd::Finished { exit_code: 4 }),
            ("end", RunEnd::Described("end".into())),
        ] {
            let old = v2::Footer {
                final_tick: 10,
                final_hash: 11,
                end: text.into(),
                counts: counts.clone(),
            };
            let bytes = codec::encode(&old).unwrap();
            let want = Footer {
                final_tick: 10,
                final_hash: 11,
                end,
                counts: counts.clone(),
            };
            for l in [Layout::V1, Layout::V2] {
                assert_eq!(decode_footer(l, &bytes).unwrap(), want, "{text}");
            }
            // A version 3 (and 4) footer stores the end as its variant index and fields.
            let new_bytes = codec::encode(&want).unwrap();
            for l in [Layout::V3, Layout::V4, Layout::V5] {
                assert_eq!(decode_footer(l, &new_bytes).unwrap(), want, "{text}");
            }
        }
        // The same bytes are not a version 3 or 4 footer when the text is not a variant
        // index.
        let old = v2::Footer {
            final_tick: 1,
            final_hash: 2,
            end: "tick limit".into(),
            counts,
        };
        let bytes = codec::encode(&old).unwrap();
        for l in [Layout::V3, Layout::V4, Layout::V5] {
            assert!(decode_footer(l, &bytes).is_err(), "{l:?}");
        }
    }
}
