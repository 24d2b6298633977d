//! The VxD file check: what Windows 3.x enhanced mode finds when it opens the file a
//! `Win386_Startup_Info_Struc` names in `SIS_Virt_Dev_File_Ptr` (KB Q74516, dos-memory.md
//! sections 4.2 and 4.3). A VxD is an LE module; when TSR and VxD are bound into one file
//! the TSR is the LE file's MS-DOS stub, so the file must be an MZ program leading to an
//! LE header. The KB's warning: a .COM TSR cannot be that stub, so a .COM file named as the
//! VxD file is not loadable.
//!
//! The rules applied, in order ([`check`]):
//!
//! 1. **MZ signature.** The first two bytes are `MZ` (RBIL #01594). DOS's loader also takes
//!    `ZM`; the new-executable loaders (and every linker writing a stub) use `MZ`, so `ZM`
//!    counts as "not an MZ program" here.
//! 2. **A new-format executable.** RBIL #01594: the word at 18h (`e_lfarlc`, offset of the
//!    relocation table) is "40h or greater for new-format (NE, LE, LX, W3, PE, etc.)
//!    executable", and the dword at 3Ch (`e_lfanew`) is the "offset of new executable
//!    (NE, LE, etc) header within disk file, or 00000000h if plain MZ executable". A file
//!    shorter than the 40h-byte header, `e_lfarlc` below 40h, `e_lfanew` = 0, or an
//!    `e_lfanew` at or beyond the end of the file: no new header.
//! 3. **LE signature** at `e_lfanew`. `NE` (16-bit Windows and OS/2 1.x), `PE` (Win32),
//!    `LX` (OS/2 2.x) and anything else are not what WIN386 loads.
//! 4. **The whole LE header** is in the file: C4h bytes, the size of a Windows VxD's LE
//!    header (Open Watcom `exeflat.h`, `os2_flat_header` "pad to 196 bytes" with the VxD
//!    fields at B0h-C3h; the HT editor's `LE_SIZEOF_HEADER` 196).
//! 5. **The module name**: the LE header's dword at 58h is the offset of the resident name
//!    table, relative to the LE header (`exeflat.h` `resname_off`; IBM's LX format
//!    description, whose name tables LE shares). Its first entry is the module name: a
//!    length byte (1-127; 0 ends the table), the name, and an ordinal word (0 for the
//!    module name). The entry must lie wholly inside the file.
//!
//! Windows goes on to read the object table, the pages and the DDB export; vexed's VMM
//! loads no VxD code, so the check stops at the module name. It is pure and bounded: it
//! reads only inside the byte slice it is given and never panics (see the tests).

use serde::{Deserialize, Serialize};

/// Bytes of the MZ header that hold `e_lfanew` (3Ch-3Fh).
pub const MZ_HEADER_LEN: usize = 0x40;
/// `e_lfarlc` at or above this marks a new-format executable (RBIL #01594).
pub const NEW_FORMAT_RELOC_OFFSET: u16 = 0x40;
/// Bytes of a Windows VxD's LE header.
pub const LE_HEADER_LEN: usize = 0xC4;
/// Offset in the LE header of the resident name table's offset.
pub const LE_RESIDENT_NAMES: usize = 0x58;

/// What the check found in a VxD file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VxdCheck {
    /// An MZ program with an LE module behind it: Windows can load it (as far as the file's
    /// format goes). `module` is the resident name table's first name (lossy text).
    Le { module: String },
    /// DOS could not find the file (the DOS error code, 02h or 03h).
    NotFound { error: u16 },
    /// The file does not start with `MZ` (a .COM program, for instance).
    NotMz,
    /// An MZ program shorter than the 40h-byte header that holds `e_lfanew`.
    MzHeaderTruncated { len: u32 },
    /// `e_lfarlc` (18h) is below 40h: a plain DOS program with no new header.
    OldFormat { reloc_offset: u16 },
    /// `e_lfanew` (3Ch) is 0.
    NoNewHeaderOffset,
    /// `e_lfanew` points at or beyond the end of the file (`len` bytes).
    NewHeaderBeyondFile { offset: u32, len: u32 },
    /// The new header's signature is not `LE` (the two bytes found; only one if the file
    /// ends after it).
    NotLe { signature: Vec<u8> },
    /// The LE header at `offset` ends before its C4h bytes (the file has `len`).
    LeHeaderTruncated { offset: u32, len: u32 },
    /// The resident name table's first entry, at file offset `offset` (LE header plus the
    /// dword at 58h), does not lie wholly inside the file.
    NameTableOutOfBounds { offset: u64, len: u32 },
    /// The resident name table starts with its terminating zero: no module name.
    NoModuleName,
}

impl VxdCheck {
    /// Whether Windows would load the file's module.
    pub fn is_loadable(&self) -> bool {
        matches!(self, VxdCheck::Le { .. })
    }
}

/// What a new header's signature stands for, for the failure text.
fn signature_name(sig: &[u8]) -> Option<&'static str> {
    match sig {
        b"NE" => Some("a 16-bit Windows or OS/2 1.x module"),
        b"PE" => Some("a Win32 module"),
        b"LX" => Some("an OS/2 2.x module"),
        b"W3" => Some("a WIN386.EXE collection of VxDs"),
        _ => None,
    }
}

impl std::fmt::Display for VxdCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VxdCheck::Le { module } => return write!(f, "LE module {module}"),
            _ => write!(f, "not loadable: ")?,
        }
        match self {
            VxdCheck::Le { .. } => Ok(()),
            VxdCheck::NotFound { error } => write!(
                f,
                "{} (DOS error {error:02X}h)",
                super::super::dos::error_text(*error)
            ),
            VxdCheck::NotMz => write!(
                f,
                "not an MZ program (Windows needs the VxD linked with the TSR as its stub)"
            ),
            VxdCheck::MzHeaderTruncated { len } => write!(
                f,
                "no new header: the file ends at {len:X}h, inside the 40h-byte MZ header"
            ),
            VxdCheck::OldFormat { reloc_offset } => write!(
                f,
                "no new header: e_lfarlc (18h) is {reloc_offset:04X}h, below 40h (a plain DOS program)"
            ),
            VxdCheck::NoNewHeaderOffset => {
                write!(f, "no new header: the new-header offset (3Ch) is 0")
            }
            VxdCheck::NewHeaderBeyondFile { offset, len } => write!(
                f,
                "no new header: the new-header offset {offset:X}h is beyond the file ({len:X}h bytes)"
            ),
            VxdCheck::NotLe { signature } => {
                write!(f, "the new header is ")?;
                for &b in signature {
                    if b.is_ascii_graphic() {
                        write!(f, "{}", char::from(b))?;
                    } else {
                        write!(f, "\\x{b:02x}")?;
                    }
                }
                match signature_name(signature) {
                    Some(what) => write!(f, ", {what}, not LE"),
                    None => write!(f, ", not LE"),
                }
            }
            VxdCheck::LeHeaderTruncated { offset, len } => write!(
                f,
                "the LE header at {offset:X}h is truncated (C4h bytes needed, the file has {len:X}h)"
            ),
            VxdCheck::NameTableOutOfBounds { offset, len } => write!(
                f,
                "the LE resident name table at {offset:X}h lies outside the file ({len:X}h bytes)"
            ),
            VxdCheck::NoModuleName => {
                write!(f, "the LE resident name table holds no module name")
            }
        }
    }
}

fn word(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn dword(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Checks a VxD file's contents as Windows 3.x's loader sees them (see the module
/// documentation for the rules).
pub fn check(bytes: &[u8]) -> VxdCheck {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    if bytes.get(..2) != Some(b"MZ".as_slice()) {
        return VxdCheck::NotMz;
    }
    if bytes.len() < MZ_HEADER_LEN {
        return VxdCheck::MzHeaderTruncated { len };
    }
    let (Some(reloc_offset), Some(new_header)) = (word(bytes, 0x18), dword(bytes, 0x3C)) else {
        return VxdCheck::MzHeaderTruncated { len };
    };
    if reloc_offset < NEW_FORMAT_RELOC_OFFSET {
        return VxdCheck::OldFormat { reloc_offset };
    }
    if new_header == 0 {
        return VxdCheck::NoNewHeaderOffset;
    }
    let le = match usize::try_from(new_header) {
        Ok(o) if o < bytes.len() => o,
        _ => {
            return VxdCheck::NewHeaderBeyondFile {
                offset: new_header,
                len,
            };
        }
    };
    let signature = bytes.get(le..).unwrap_or_default();
    let signature = signature.get(..2).unwrap_or(signature);
    if signature != b"LE" {
        return VxdCheck::NotLe {
            signature: signature.to_vec(),
        };
    }
    if bytes.len() - le < LE_HEADER_LEN {
        return VxdCheck::LeHeaderTruncated {
            offset: new_header,
            len,
        };
    }
    let Some(names) = dword(bytes, le + LE_RESIDENT_NAMES) else {
        return VxdCheck::LeHeaderTruncated {
            offset: new_header,
            len,
        };
    };
    // File offset of the table (u64: an LE header near 4 GiB plus a large offset).
    let table = u64::from(new_header) + u64::from(names);
    let out_of_bounds = VxdCheck::NameTableOutOfBounds { offset: table, len };
    let Ok(start) = usize::try_from(table) else {
        return out_of_bounds;
    };
    let Some(&n) = bytes.get(start) else {
        return out_of_bounds;
    };
    if n == 0 {
        return VxdCheck::NoModuleName;
    }
    // Length byte, name, ordinal word.
    let name_end = start + 1 + usize::from(n);
    let Some(name) = bytes.get(start + 1..name_end) else {
        return out_of_bounds;
    };
    if word(bytes, name_end).is_none() {
        return out_of_bounds;
    }
    VxdCheck::Le {
        module: String::from_utf8_lossy(name).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal bound VxD: a 40h-byte MZ header (e_lfarlc 40h, e_lfanew 80h), 40h bytes
    /// of stub, an LE header of C4h bytes whose resident name table (at LE+C4h) names
    /// `name` with ordinal 0, then the table's terminating zero.
    fn image(name: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 0x80];
        f[0..2].copy_from_slice(b"MZ");
        f[0x18..0x1A].copy_from_slice(&0x40u16.to_le_bytes());
        f[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        let mut le = vec![0u8; LE_HEADER_LEN];
        le[0..2].copy_from_slice(b"LE");
        le[0x08] = 2;
        le[0x0A] = 4;
        le[0x58..0x5C].copy_from_slice(&(LE_HEADER_LEN as u32).to_le_bytes());
        f.extend_from_slice(&le);
        f.push(name.len() as u8);
        f.extend_from_slice(name);
        f.extend_from_slice(&[0, 0, 0]);
        f
    }

    #[test]
    fn a_bound_le_file_gives_its_module_name() {
        assert_eq!(
            check(&image(b"VXDBND")),
            VxdCheck::Le {
                module: "VXDBND".into()
            }
        );
    }

    #[test]
    fn the_committed_bound_guest_is_an_le_module_named_vxdbnd() {
        let exe = include_bytes!("../../../../corpora/guests/vxdbnd.exe");
        assert_eq!(
            check(exe),
            VxdCheck::Le {
                module: "VXDBND".into()
            }
        );
        let com = include_bytes!("../../../../corpora/guests/vxdbind.com");
        assert_eq!(check(com), VxdCheck::NotMz);
    }

    #[test]
    fn each_failure_is_named() {
        assert_eq!(check(b""), VxdCheck::NotMz);
        assert_eq!(check(b"\xE9\x3C\x00"), VxdCheck::NotMz);
        assert_eq!(check(b"ZM\0\0"), VxdCheck::NotMz);
        assert_eq!(check(b"MZ"), VxdCheck::MzHeaderTruncated { len: 2 });

        let mut f = image(b"X");
        f[0x18] = 0x1C;
        assert_eq!(check(&f), VxdCheck::OldFormat { reloc_offset: 0x1C });

        let mut f = image(b"X");
        f[0x3C..0x40].copy_from_slice(&[0; 4]);
        assert_eq!(check(&f), VxdCheck::NoNewHeaderOffset);

        let mut f = image(b"X");
        let len = f.len() as u32;
        f[0x3C..0x40].copy_from_slice(&len.to_le_bytes());
        assert_eq!(
            check(&f),
            VxdCheck::NewHeaderBeyondFile { offset: len, len }
        );
        f[0x3C..0x40].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            check(&f),
            VxdCheck::NewHeaderBeyondFile {
                offset: u32::MAX,
                len
            }
        );

        for sig in [b"NE", b"PE", b"LX", b"W3", b"\0\x01"] {
            let mut f = image(b"X");
            f[0x80..0x82].copy_from_slice(sig);
            assert_eq!(
                check(&f),
                VxdCheck::NotLe {
                    signature: sig.to_vec()
                }
            );
        }

        let f = image(b"X");
        let cut = &f[..0x80 + LE_HEADER_LEN - 1];
        assert_eq!(
            check(cut),
            VxdCheck::LeHeaderTruncated {
                offset: 0x80,
                len: cut.len() as u32
            }
        );

        let mut f = image(b"X");
        let len = f.len() as u32;
        f[0x80 + 0x58..0x80 + 0x5C].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            check(&f),
            VxdCheck::NameTableOutOfBounds {
                offset: 0x80 + u64::from(u32::MAX),
                len
            }
        );

        let mut f = image(b"");
        f.truncate(f.len() - 2);
        assert_eq!(check(&f), VxdCheck::NoModuleName);
    }

    #[test]
    fn the_failure_texts_read_as_sentences() {
        assert_eq!(
            VxdCheck::NotMz.to_string(),
            "not loadable: not an MZ program (Windows needs the VxD linked with the TSR as its stub)"
        );
        assert_eq!(
            VxdCheck::Le {
                module: "VXDBND".into()
            }
            .to_string(),
            "LE module VXDBND"
        );
        assert_eq!(
            VxdCheck::NotLe {
                signature: b"NE".to_vec()
            }
            .to_string(),
            "not loadable: the new header is NE, a 16-bit Windows or OS/2 1.x module, not LE"
        );
        assert_eq!(
            VxdCheck::NotFound { error: 2 }.to_string(),
            "not loadable: file not found (DOS error 02h)"
        );
    }

    /// Every prefix of a valid image, and pseudo-random files: `check` returns (no panic,
    /// no read outside the slice) and a prefix is only an LE module once the name entry
    /// is complete.
    #[test]
    fn no_input_makes_the_check_panic() {
        let f = image(b"VXDBND");
        // The name entry ends with the ordinal word: 2 bytes before the table's end byte.
        let complete = f.len() - 1;
        for n in 0..=f.len() {
            let r = check(&f[..n]);
            assert_eq!(r.is_loadable(), n >= complete, "prefix {n}: {r:?}");
            let _ = r.to_string();
        }
        // xorshift64 from a fixed seed: 400 strings of 0-511 bytes, half of them starting
        // with "MZ" and a new-header offset inside the first 512 bytes so the deeper rules
        // run too.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..400 {
            let len = (next() % 512) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if i % 2 == 0 && len >= 0x40 {
                b[0..2].copy_from_slice(b"MZ");
                b[0x18] = 0x40;
                let off = (next() % 512) as u32;
                b[0x3C..0x40].copy_from_slice(&off.to_le_bytes());
                if i % 4 == 0
                    && let Some(s) = b.get_mut(off as usize..off as usize + 2)
                {
                    s.copy_from_slice(b"LE");
                }
            }
            let _ = check(&b).to_string();
        }
    }
}
