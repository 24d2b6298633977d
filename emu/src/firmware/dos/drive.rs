//! Drive C: an in-memory FAT-like directory tree handed in by the host, and the DOS path
//! rules that the Int 21h file functions ([`super::files`]) apply to guest path names.
//!
//! # What it models
//!
//! The directory tree of one fixed disk as MS-DOS 5 presents it through Int 21h: files with
//! 8.3 names, attributes (read-only, hidden, system, archive) and a date/time stamp, and
//! subdirectories. There are no sectors, clusters or FAT: the tree is plain data in the
//! machine state ([`DriveC`] derives `Serialize`), so writes by the guest stay in the machine
//! and the host directory it was loaded from is never touched (`vexed-emu` does no file I/O;
//! the host side is `vexed_replay::drive`).
//!
//! Sources: RBIL INT 21 (functions 39h–3Bh, 3Ch–43h, 47h, 4Eh/4Fh, 56h, 57h and table
//! #01626 for the find data), MS-DOS 5 behaviour as the RBIL notes and the MS-DOS
//! Programmer's Reference describe it.
//!
//! # Names and paths
//!
//! - Keys are upper-case DOS paths without the drive and without a leading backslash:
//!   `SUB\FILE.EXT`; the root directory is the empty key.
//! - A name is 1–8 characters, optionally `.` and 1–3 extension characters, from the set
//!   DOS accepts in directory entries: `A`–`Z`, `0`–`9` and ``! # $ % & ' ( ) - @ ^ _ ` { } ~``.
//!   Characters from 80h up are refused (keys are ASCII so that the host sees plain
//!   strings); DOS would accept them.
//! - Guest paths (`DriveC::parse_path`) behave as DOS 5's name parser: an optional `C:`
//!   (another drive letter is error 0Fh, invalid drive), `\` or `/` as separators, `.` and
//!   `..`, relative to the current directory (Int 21h AH=3Bh/47h). Over-long names are
//!   **truncated** to 8 + 3 characters as DOS does (`LONGFILENAME.TEXT` is `LONGFILE.TEX`).
//!   Lower case is folded to upper case.
//! - Nothing can leave the drive: `..` above the root, `\\server\share`, an empty component
//!   (`A\\B`) and a bad name in a directory component are error 03h (path not found); a
//!   host-looking path such as `/etc/passwd` is simply `C:\ETC\PASSWD`, which names
//!   nothing unless the drive has such a directory.
//! - The host-side insertion ([`DriveC::insert_file`], [`DriveC::insert_dir`]) is strict: no
//!   truncation, no `.`/`..`, no device names (`CON`, `NUL`, `AUX`, `PRN`, `EMMXXXX0` with any
//!   extension: DOS would open the device instead of such a file).
//!
//! # Decisions and limits
//!
//! - Geometry reported by Int 21h AH=36h: a 128 MiB FAT16-style disk of 32,768 clusters of
//!   8 sectors of 512 bytes. Files use whole clusters, each subdirectory one cluster; a
//!   write that does not fit is cut short as on a full disk (which also bounds host memory).
//! - The root directory holds at most 512 entries (FAT16); creating more from the guest is
//!   error 05h. The host may insert more.
//! - Directory paths are at most 63 characters (`C:\` + 63 + NUL fits the 64-byte buffer
//!   of AH=47h), file paths at most 76.
//! - Directory entries are listed in name order (the tree is a `BTreeMap`), not creation
//!   order; subdirectories list `.` and `..` first, the root does not (as on FAT).
//! - Time stamps: files and directories inserted by the host carry no stamp and report the
//!   DOS boot time (`DosConfig::boot_time`); the host's modification times are not used, so
//!   a run does not depend on them. Files the guest writes get the guest wall-clock time.
//! - Each subdirectory has a stable number (its "start cluster" for the find-next state in
//!   the DTA); the root is 0.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Attribute bits of a directory entry (RBIL #01420).
pub const ATTR_READ_ONLY: u8 = 0x01;
pub const ATTR_HIDDEN: u8 = 0x02;
pub const ATTR_SYSTEM: u8 = 0x04;
pub const ATTR_VOLUME: u8 = 0x08;
pub const ATTR_DIRECTORY: u8 = 0x10;
pub const ATTR_ARCHIVE: u8 = 0x20;
/// The attribute DOS 3+ find-first reports for a character device.
pub const ATTR_DEVICE: u8 = 0x40;
/// The attribute bits a file may carry.
pub const FILE_ATTR_MASK: u8 = ATTR_READ_ONLY | ATTR_HIDDEN | ATTR_SYSTEM | ATTR_ARCHIVE;

/// Disk geometry reported by Int 21h AH=36h.
pub const BYTES_PER_SECTOR: u16 = 512;
pub const SECTORS_PER_CLUSTER: u16 = 8;
pub const CLUSTER_BYTES: u32 = BYTES_PER_SECTOR as u32 * SECTORS_PER_CLUSTER as u32;
pub const TOTAL_CLUSTERS: u32 = 32_768;
/// Entries the guest may create in the root directory (FAT16 root directory size).
pub const ROOT_ENTRIES: usize = 512;
/// Longest directory key (without `C:\`).
pub const MAX_DIR_PATH: usize = 63;
/// Longest file key (a directory key, `\` and a 12-character name).
pub const MAX_FILE_PATH: usize = MAX_DIR_PATH + 13;

/// The character devices DOS finds under any directory (with any extension). `EMMXXXX0`
/// exists only with an EMS driver; the host may not insert it either way.
pub const DEVICE_NAMES: [&str; 5] = ["CON", "NUL", "AUX", "PRN", "EMMXXXX0"];

/// Why the host could not put a file or directory on the drive.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DriveError {
    #[error(
        "`{path}`: `{component}` is not a DOS 8.3 name (1-8 characters, optionally `.` and 1-3 \
         more, from A-Z 0-9 and ! # $ % & ' ( ) - @ ^ _ ` {{ }} ~)"
    )]
    BadName { path: String, component: String },
    #[error(
        "`{path}`: `{component}` is a DOS device name; DOS would open the device, not the file"
    )]
    DeviceName { path: String, component: String },
    #[error("`{path}`: an empty path names no file")]
    Empty { path: String },
    #[error("`{path}` is longer than DOS allows ({max} characters without `C:\\`)")]
    TooLong { path: String, max: usize },
    #[error("`{path}`: a file and a directory cannot have the same name")]
    Conflict { path: String },
}

/// A directory entry's time and date words (time: hour<<11 | minute<<5 | second/2; date:
/// (year-1980)<<9 | month<<5 | day).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub time: u16,
    pub date: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileNode {
    pub(crate) data: Vec<u8>,
    /// Attribute bits within [`FILE_ATTR_MASK`].
    pub(crate) attr: u8,
    /// `None`: the DOS boot time.
    pub(crate) stamp: Option<Stamp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DirNode {
    /// Stable number, 1.. (the root is 0).
    pub(crate) id: u16,
    /// Attribute bits within [`FILE_ATTR_MASK`] (the directory bit is implied).
    pub(crate) attr: u8,
    pub(crate) stamp: Option<Stamp>,
}

/// One entry of a directory listing (find first/next).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `NAME.EXT`, `.` or `..`.
    pub(crate) name: String,
    pub(crate) attr: u8,
    pub(crate) size: u32,
    pub(crate) stamp: Option<Stamp>,
}

/// Drive C:: files keyed by upper-case DOS path without the drive (`SUB\FILE.EXT`), the
/// explicit directories, whether the guest may write, and the current directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveC {
    files: BTreeMap<String, FileNode>,
    dirs: BTreeMap<String, DirNode>,
    writable: bool,
    /// The current directory's key (the CDS path of C: without `C:\`).
    cwd: String,
    /// Clusters used by files and subdirectories.
    used_clusters: u64,
}

/// Why a guest path does not resolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathError {
    /// A drive letter other than C: (DOS error 0Fh).
    InvalidDrive,
    /// A directory on the way does not exist or is not a valid name, `..` above the root,
    /// a UNC name, an empty component (DOS error 03h).
    PathNotFound,
    /// The last component is not a valid name, or has wildcards where none are allowed
    /// (02h or 03h depending on the function).
    BadName,
}

impl PathError {
    /// The DOS error code, with `bad_name` for [`PathError::BadName`].
    pub(crate) fn code(self, bad_name: u16) -> u16 {
        match self {
            PathError::InvalidDrive => 0x0F,
            PathError::PathNotFound => 0x03,
            PathError::BadName => bad_name,
        }
    }
}

/// A guest path resolved up to its last component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// Key of the directory the last component is in (or that the path names).
    pub(crate) dir: String,
    pub(crate) last: Last,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Last {
    /// The path names `dir` itself: `C:`, `\`, `SUB\`, `SUB\.`, `..`.
    Here,
    /// A name without wildcards, upper case and truncated to 8.3.
    Name(String),
    /// An FCB-style 11-byte template (pattern mode only): wildcards expanded to `?`, or
    /// the `.`/`..` entries.
    Pattern([u8; 11]),
}

/// A component as DOS 5's parser reads it.
enum Comp {
    Dot,
    DotDot,
    Name(String),
    Pattern([u8; 11]),
}

/// Whether DOS accepts `b` in a file name (upper case already applied).
pub fn legal_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || b"!#$%&'()-@^_`{}~".contains(&b)
}

/// Whether `name` (one component, any case) is a valid 8.3 name without truncation.
pub fn is_valid_name(name: &str) -> bool {
    let up = name.to_ascii_uppercase();
    let (base, ext) = match up.split_once('.') {
        Some((b, e)) => (b, Some(e)),
        None => (up.as_str(), None),
    };
    let ok = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(legal_char);
    ok(base, 8) && ext.is_none_or(|e| ok(e, 3))
}

/// Whether `name` (upper case) is one of [`DEVICE_NAMES`], ignoring any extension.
pub fn is_device_name(name: &str) -> bool {
    let base = name.split_once('.').map_or(name, |(b, _)| b);
    DEVICE_NAMES.contains(&base)
}

/// The 11-byte directory-entry form of a name (`FOO.C` → `FOO     C  `).
pub(crate) fn template(name: &str) -> [u8; 11] {
    let mut t = [b' '; 11];
    match name {
        "." => t[0] = b'.',
        ".." => {
            t[0] = b'.';
            t[1] = b'.';
        }
        _ => {
            let (base, ext) = name.split_once('.').unwrap_or((name, ""));
            for (i, b) in base.bytes().take(8).enumerate() {
                t[i] = b;
            }
            for (i, b) in ext.bytes().take(3).enumerate() {
                t[8 + i] = b;
            }
        }
    }
    t
}

/// DOS wildcard matching on 11-byte templates: `?` matches any character, including the
/// blanks that pad a short name (so `A?.TXT` matches `A.TXT`).
pub(crate) fn matches(pattern: &[u8; 11], name: &[u8; 11]) -> bool {
    pattern.iter().zip(name).all(|(&p, &n)| p == b'?' || p == n)
}

/// Fills one field (8 or 3 bytes) of a template from `raw`, DOS style: `*` fills the rest
/// with `?`, characters past the field are dropped. Returns whether a wildcard was seen, or
/// `None` for an illegal character.
fn fill_field(raw: &[u8], field: &mut [u8]) -> Option<bool> {
    let mut wild = false;
    for (i, &c) in raw.iter().enumerate() {
        let c = c.to_ascii_uppercase();
        match c {
            b'*' => {
                wild = true;
                for f in field.iter_mut().skip(i) {
                    *f = b'?';
                }
                break;
            }
            b'?' => {
                wild = true;
                if i < field.len() {
                    field[i] = b'?';
                }
            }
            _ if legal_char(c) => {
                if i < field.len() {
                    field[i] = c;
                }
            }
            _ => return None,
        }
    }
    Some(wild)
}

/// Reads one guest path component (no separators).
fn parse_component(raw: &[u8]) -> Option<Comp> {
    match raw {
        b"." => return Some(Comp::Dot),
        b".." => return Some(Comp::DotDot),
        _ => {}
    }
    let (base, ext) = match raw.iter().position(|&b| b == b'.') {
        Some(p) => (&raw[..p], &raw[p + 1..]),
        None => (raw, &[][..]),
    };
    if base.is_empty() || ext.contains(&b'.') {
        return None;
    }
    let mut t = [b' '; 11];
    let wild_base = fill_field(base, &mut t[..8])?;
    let wild_ext = fill_field(ext, &mut t[8..])?;
    if wild_base || wild_ext {
        return Some(Comp::Pattern(t));
    }
    let base: String = t[..8].iter().map(|&b| b as char).collect();
    let ext: String = t[8..].iter().map(|&b| b as char).collect();
    let (base, ext) = (base.trim_end(), ext.trim_end());
    Some(Comp::Name(if ext.is_empty() {
        base.to_string()
    } else {
        format!("{base}.{ext}")
    }))
}

/// Number of clusters a file of `len` bytes occupies.
fn clusters(len: u64) -> u64 {
    len.div_ceil(u64::from(CLUSTER_BYTES))
}

/// `dir\name`, or `name` in the root.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}\\{name}")
    }
}

/// The parent key and the last name of a key (`SUB\F.TXT` → (`SUB`, `F.TXT`)).
pub(crate) fn split_key(key: &str) -> (&str, &str) {
    key.rsplit_once('\\').unwrap_or(("", key))
}

impl DriveC {
    /// An empty drive; `writable` says whether the guest may change it.
    pub fn new(writable: bool) -> DriveC {
        DriveC {
            writable,
            ..DriveC::default()
        }
    }

    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// Normalises a host-side DOS path (`sub/file.ext`, `\SUB\FILE.EXT`, `C:\SUB\FILE.EXT`)
    /// to a key, strictly: every component must be a valid 8.3 name as it stands.
    pub fn normalize(path: &str) -> Result<String, DriveError> {
        let rest = path
            .strip_prefix("C:")
            .or_else(|| path.strip_prefix("c:"))
            .unwrap_or(path);
        let rest = rest.trim_start_matches(['\\', '/']);
        if rest.is_empty() {
            return Err(DriveError::Empty {
                path: path.to_string(),
            });
        }
        let mut parts = Vec::new();
        for comp in rest.split(['\\', '/']) {
            if !is_valid_name(comp) {
                return Err(DriveError::BadName {
                    path: path.to_string(),
                    component: comp.to_string(),
                });
            }
            let up = comp.to_ascii_uppercase();
            if is_device_name(&up) {
                return Err(DriveError::DeviceName {
                    path: path.to_string(),
                    component: comp.to_string(),
                });
            }
            parts.push(up);
        }
        Ok(parts.join("\\"))
    }

    /// Creates `key`'s ancestors as directories (host side).
    fn insert_parents(&mut self, path: &str, key: &str) -> Result<(), DriveError> {
        let mut dir = String::new();
        let (parent, _) = split_key(key);
        if parent.is_empty() {
            return Ok(());
        }
        for part in parent.split('\\') {
            dir = join(&dir, part);
            if self.files.contains_key(&dir) {
                return Err(DriveError::Conflict {
                    path: path.to_string(),
                });
            }
            if !self.dirs.contains_key(&dir) {
                self.add_dir(dir.clone(), None);
            }
        }
        Ok(())
    }

    /// Puts a file on the drive (creating its directories), replacing a file of the same
    /// name. Attributes: archive; time stamp: the DOS boot time.
    pub fn insert_file(&mut self, path: &str, bytes: impl Into<Vec<u8>>) -> Result<(), DriveError> {
        let key = Self::normalize(path)?;
        if key.len() > MAX_FILE_PATH || split_key(&key).0.len() > MAX_DIR_PATH {
            return Err(DriveError::TooLong {
                path: path.to_string(),
                max: MAX_FILE_PATH,
            });
        }
        if self.dirs.contains_key(&key) {
            return Err(DriveError::Conflict {
                path: path.to_string(),
            });
        }
        self.insert_parents(path, &key)?;
        let data = bytes.into();
        let new = clusters(data.len() as u64);
        let old = self
            .files
            .insert(
                key,
                FileNode {
                    data,
                    attr: ATTR_ARCHIVE,
                    stamp: None,
                },
            )
            .map_or(0, |f| clusters(f.data.len() as u64));
        self.used_clusters = self.used_clusters - old + new;
        Ok(())
    }

    /// Puts a directory (and its ancestors) on the drive; an existing one is kept.
    pub fn insert_dir(&mut self, path: &str) -> Result<(), DriveError> {
        let key = Self::normalize(path)?;
        if key.len() > MAX_DIR_PATH {
            return Err(DriveError::TooLong {
                path: path.to_string(),
                max: MAX_DIR_PATH,
            });
        }
        if self.files.contains_key(&key) {
            return Err(DriveError::Conflict {
                path: path.to_string(),
            });
        }
        self.insert_parents(path, &key)?;
        if !self.dirs.contains_key(&key) {
            self.add_dir(key, None);
        }
        Ok(())
    }

    /// The contents of the file at `path` (a host-side DOS path, any case, `\` or `/`).
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        let key = Self::normalize(path).ok()?;
        self.files.get(&key).map(|f| f.data.as_slice())
    }

    /// Every file as (key, contents), in key order.
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files
            .iter()
            .map(|(k, f)| (k.as_str(), f.data.as_slice()))
    }

    /// Every subdirectory's key, in order.
    pub fn dirs(&self) -> impl Iterator<Item = &str> {
        self.dirs.keys().map(String::as_str)
    }

    /// The current directory (without `C:\`).
    pub fn current_dir(&self) -> &str {
        &self.cwd
    }

    /// Resolves a guest path (the bytes of an ASCIZ name, without the NUL) against the
    /// current directory. With `pattern`, the last component may hold wildcards (and `.`
    /// and `..` there are patterns for those entries rather than moves).
    pub(crate) fn parse_path(&self, path: &[u8], pattern: bool) -> Result<Parsed, PathError> {
        if path.is_empty() {
            return Err(PathError::BadName);
        }
        let mut rest = path;
        if path.len() >= 2 && path[1] == b':' {
            let letter = path[0].to_ascii_uppercase();
            if letter == b'C' {
                rest = &path[2..];
            } else if letter.is_ascii_uppercase() {
                return Err(PathError::InvalidDrive);
            } else {
                return Err(PathError::PathNotFound);
            }
        }
        let is_sep = |b: &u8| *b == b'\\' || *b == b'/';
        let mut dirs: Vec<String> = Vec::new();
        if let Some(first) = rest.first()
            && is_sep(first)
        {
            if rest.get(1).is_some_and(is_sep) {
                // \\server\share: no network here.
                return Err(PathError::PathNotFound);
            }
            rest = &rest[1..];
        } else if !self.cwd.is_empty() {
            dirs = self.cwd.split('\\').map(str::to_string).collect();
        }
        let mut parts: Vec<&[u8]> = rest.split(is_sep).collect();
        let last = parts.pop().unwrap_or_default();
        for part in parts {
            match parse_component(part) {
                Some(Comp::Dot) => {}
                Some(Comp::DotDot) => {
                    dirs.pop().ok_or(PathError::PathNotFound)?;
                }
                Some(Comp::Name(n)) => {
                    dirs.push(n);
                    if !self.dirs.contains_key(&dirs.join("\\")) {
                        return Err(PathError::PathNotFound);
                    }
                }
                Some(Comp::Pattern(_)) | None => return Err(PathError::PathNotFound),
            }
        }
        let last = if last.is_empty() {
            Last::Here
        } else {
            match parse_component(last) {
                Some(Comp::Dot) if pattern => Last::Pattern(template(".")),
                Some(Comp::DotDot) if pattern => Last::Pattern(template("..")),
                Some(Comp::Dot) => Last::Here,
                Some(Comp::DotDot) => {
                    dirs.pop().ok_or(PathError::PathNotFound)?;
                    Last::Here
                }
                Some(Comp::Name(n)) => Last::Name(n),
                Some(Comp::Pattern(t)) if pattern => Last::Pattern(t),
                Some(Comp::Pattern(_)) | None => return Err(PathError::BadName),
            }
        };
        Ok(Parsed {
            dir: dirs.join("\\"),
            last,
        })
    }

    /// The key of an existing file named by a guest path (for EXEC and the like): 02h,
    /// 03h or 0Fh otherwise.
    pub(crate) fn resolve_file(&self, path: &[u8]) -> Result<String, u16> {
        let p = self.parse_path(path, false).map_err(|e| e.code(0x02))?;
        match p.last {
            Last::Name(n) => {
                let key = join(&p.dir, &n);
                if self.files.contains_key(&key) {
                    Ok(key)
                } else {
                    Err(0x02)
                }
            }
            _ => Err(0x02),
        }
    }

    pub(crate) fn is_dir(&self, key: &str) -> bool {
        key.is_empty() || self.dirs.contains_key(key)
    }

    pub(crate) fn is_file(&self, key: &str) -> bool {
        self.files.contains_key(key)
    }

    pub(crate) fn node(&self, key: &str) -> Option<&FileNode> {
        self.files.get(key)
    }

    pub(crate) fn dir_node(&self, key: &str) -> Option<&DirNode> {
        self.dirs.get(key)
    }

    /// The stable number of directory `key` (0 for the root).
    pub(crate) fn dir_id(&self, key: &str) -> Option<u16> {
        if key.is_empty() {
            Some(0)
        } else {
            self.dirs.get(key).map(|d| d.id)
        }
    }

    /// The key of the directory numbered `id`.
    pub(crate) fn dir_by_id(&self, id: u16) -> Option<String> {
        if id == 0 {
            return Some(String::new());
        }
        self.dirs
            .iter()
            .find(|(_, d)| d.id == id)
            .map(|(k, _)| k.clone())
    }

    pub(crate) fn set_cwd(&mut self, key: String) {
        self.cwd = key;
    }

    /// Clusters not used by files and directories.
    pub(crate) fn free_clusters(&self) -> u64 {
        u64::from(TOTAL_CLUSTERS).saturating_sub(self.used_clusters)
    }

    /// Keys (files and directories) directly in directory `dir`.
    fn child_count(&self, dir: &str) -> usize {
        self.children(dir).len()
    }

    /// The entries directly in `dir`, in name order (without `.` and `..`).
    fn children(&self, dir: &str) -> Vec<Entry> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}\\")
        };
        let direct = |k: &str| -> Option<String> {
            let rest = k.strip_prefix(prefix.as_str())?;
            (!rest.is_empty() && !rest.contains('\\')).then(|| rest.to_string())
        };
        let mut out: Vec<Entry> = Vec::new();
        for (k, f) in self.files.range(prefix.clone()..) {
            if !k.starts_with(prefix.as_str()) {
                break;
            }
            if let Some(name) = direct(k) {
                out.push(Entry {
                    name,
                    attr: f.attr,
                    size: u32::try_from(f.data.len()).unwrap_or(u32::MAX),
                    stamp: f.stamp,
                });
            }
        }
        for (k, d) in self.dirs.range(prefix.clone()..) {
            if !k.starts_with(prefix.as_str()) {
                break;
            }
            if let Some(name) = direct(k) {
                out.push(Entry {
                    name,
                    attr: d.attr | ATTR_DIRECTORY,
                    size: 0,
                    stamp: d.stamp,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The listing find first/next walks: `.` and `..` in a subdirectory, then the
    /// entries in name order.
    pub(crate) fn listing(&self, dir: &str) -> Vec<Entry> {
        let mut out = Vec::new();
        if let Some(d) = self.dirs.get(dir) {
            let parent_stamp = self.dirs.get(split_key(dir).0).and_then(|p| p.stamp);
            for (name, stamp) in [(".", d.stamp), ("..", parent_stamp)] {
                out.push(Entry {
                    name: name.to_string(),
                    attr: ATTR_DIRECTORY,
                    size: 0,
                    stamp,
                });
            }
        }
        out.extend(self.children(dir));
        out
    }

    /// Whether a new entry fits in directory `dir` (only the root is limited).
    pub(crate) fn has_room(&self, dir: &str) -> bool {
        !dir.is_empty() || self.child_count("") < ROOT_ENTRIES
    }

    fn add_dir(&mut self, key: String, stamp: Option<Stamp>) {
        let used: std::collections::BTreeSet<u16> = self.dirs.values().map(|d| d.id).collect();
        let id = (1..=u16::MAX)
            .find(|i| !used.contains(i))
            .unwrap_or(u16::MAX);
        self.dirs.insert(key, DirNode { id, attr: 0, stamp });
        self.used_clusters += 1;
    }

    /// Creates an empty file or truncates an existing one to zero (the caller has checked
    /// the directory, the name and the permissions).
    pub(crate) fn create_file(&mut self, key: &str, attr: u8, stamp: Option<Stamp>) {
        let node = FileNode {
            data: Vec::new(),
            attr: attr & FILE_ATTR_MASK,
            stamp,
        };
        if let Some(old) = self.files.insert(key.to_string(), node) {
            self.used_clusters -= clusters(old.data.len() as u64);
        }
    }

    /// Writes `bytes` at `pos` in file `key`, growing it (zero-filled) as far as the free
    /// space allows. Returns the bytes written (fewer than asked when the disk is full).
    pub(crate) fn write_at(&mut self, key: &str, pos: u32, bytes: &[u8]) -> usize {
        let free = self.free_clusters();
        let Some(f) = self.files.get_mut(key) else {
            return 0;
        };
        let len = f.data.len() as u64;
        let pos64 = u64::from(pos);
        let limit = ((clusters(len) + free) * u64::from(CLUSTER_BYTES)).min(u64::from(u32::MAX));
        let end = (pos64 + bytes.len() as u64).min(limit);
        let n = end.saturating_sub(pos64) as usize;
        if n == 0 {
            return 0;
        }
        let end = end as usize;
        if end > f.data.len() {
            f.data.resize(end, 0);
        }
        f.data[pos as usize..end].copy_from_slice(&bytes[..n]);
        let grown = clusters(f.data.len() as u64) - clusters(len);
        self.used_clusters += grown;
        n
    }

    /// Truncates or extends (zero-filled) file `key` to `len` bytes; false (and no change)
    /// when the disk has no room for the extension.
    pub(crate) fn set_len(&mut self, key: &str, len: u32) -> bool {
        let free = self.free_clusters();
        let Some(f) = self.files.get_mut(key) else {
            return false;
        };
        let old = clusters(f.data.len() as u64);
        let new = clusters(u64::from(len));
        if new > old + free {
            return false;
        }
        f.data.resize(len as usize, 0);
        self.used_clusters = self.used_clusters - old + new;
        true
    }

    pub(crate) fn remove_file(&mut self, key: &str) {
        if let Some(old) = self.files.remove(key) {
            self.used_clusters -= clusters(old.data.len() as u64);
        }
    }

    pub(crate) fn set_file_attr(&mut self, key: &str, attr: u8) {
        if let Some(f) = self.files.get_mut(key) {
            f.attr = attr & FILE_ATTR_MASK;
        } else if let Some(d) = self.dirs.get_mut(key) {
            d.attr = attr & FILE_ATTR_MASK;
        }
    }

    pub(crate) fn set_stamp(&mut self, key: &str, stamp: Stamp) {
        if let Some(f) = self.files.get_mut(key) {
            f.stamp = Some(stamp);
        }
    }

    /// Marks file `key` as modified: archive bit, and `stamp` unless `None`.
    pub(crate) fn touch(&mut self, key: &str, stamp: Option<Stamp>) {
        if let Some(f) = self.files.get_mut(key) {
            f.attr |= ATTR_ARCHIVE;
            if stamp.is_some() {
                f.stamp = stamp;
            }
        }
    }

    /// Creates directory `key` (checked by the caller); false when the disk is full.
    pub(crate) fn make_dir(&mut self, key: &str, stamp: Option<Stamp>) -> bool {
        if self.free_clusters() == 0 {
            return false;
        }
        self.add_dir(key.to_string(), stamp);
        true
    }

    /// Removes directory `key` (checked empty by the caller).
    pub(crate) fn remove_dir(&mut self, key: &str) {
        if self.dirs.remove(key).is_some() {
            self.used_clusters -= 1;
        }
    }

    /// Whether directory `key` has no entries.
    pub(crate) fn dir_is_empty(&self, key: &str) -> bool {
        self.child_count(key) == 0
    }

    /// Renames file `from` to `to` (checked by the caller).
    pub(crate) fn rename_file(&mut self, from: &str, to: &str) {
        if let Some(f) = self.files.remove(from) {
            self.files.insert(to.to_string(), f);
        }
    }

    /// Whether directory `from` and everything under it still fit DOS's path lengths when
    /// renamed to `to`.
    pub(crate) fn fits_renamed(&self, from: &str, to: &str) -> bool {
        let prefix = format!("{from}\\");
        let grow = |k: &str| k.len() - from.len() + to.len();
        let dirs_fit = self
            .dirs
            .keys()
            .filter(|k| k.as_str() == from || k.starts_with(prefix.as_str()))
            .all(|k| grow(k) <= MAX_DIR_PATH);
        let files_fit = self
            .files
            .keys()
            .filter(|k| k.starts_with(prefix.as_str()))
            .all(|k| grow(k) <= MAX_FILE_PATH);
        dirs_fit && files_fit
    }

    /// Renames directory `from` to `to` and every key under it; returns the (old, new)
    /// pairs of the files moved, for open handles.
    pub(crate) fn rename_dir(&mut self, from: &str, to: &str) -> Vec<(String, String)> {
        let prefix = format!("{from}\\");
        let moved = |k: &str| format!("{to}\\{}", &k[prefix.len()..]);
        let dir_keys: Vec<String> = self
            .dirs
            .keys()
            .filter(|k| k.as_str() == from || k.starts_with(prefix.as_str()))
            .cloned()
            .collect();
        for k in dir_keys {
            if let Some(d) = self.dirs.remove(&k) {
                let nk = if k == from { to.to_string() } else { moved(&k) };
                self.dirs.insert(nk, d);
            }
        }
        let file_keys: Vec<String> = self
            .files
            .keys()
            .filter(|k| k.starts_with(prefix.as_str()))
            .cloned()
            .collect();
        let mut pairs = Vec::new();
        for k in file_keys {
            if let Some(f) = self.files.remove(&k) {
                let nk = moved(&k);
                self.files.insert(nk.clone(), f);
                pairs.push((k, nk));
            }
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drive() -> DriveC {
        let mut d = DriveC::new(true);
        d.insert_file("README.TXT", b"hello".to_vec()).unwrap();
        d.insert_file("sub/inner.dat", b"x".to_vec()).unwrap();
        d.insert_dir("SUB/DEEP").unwrap();
        d.insert_dir("EMPTY").unwrap();
        d
    }

    #[test]
    fn host_names_are_strict_8_3() {
        let mut d = DriveC::new(false);
        assert!(d.insert_file("a.txt", b"1".to_vec()).is_ok());
        assert_eq!(d.file("A.TXT"), Some(&b"1"[..]));
        assert_eq!(d.file("\\a.txt"), Some(&b"1"[..]));
        for bad in [
            "LONGFILENAME.TXT",
            "A.TEXT",
            "A.B.C",
            ".PROFILE",
            "A B.TXT",
            "A+B",
            "A*",
            "SUB/../X",
            "X.",
            "ÄPFEL.TXT",
        ] {
            assert!(
                matches!(
                    d.insert_file(bad, b"".to_vec()),
                    Err(DriveError::BadName { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            d.insert_file("CON.TXT", b"".to_vec()),
            Err(DriveError::DeviceName { .. })
        ));
        assert!(matches!(
            d.insert_file("", b"".to_vec()),
            Err(DriveError::Empty { .. })
        ));
        assert!(matches!(
            d.insert_dir("A.TXT"),
            Err(DriveError::Conflict { .. })
        ));
        assert!(matches!(
            d.insert_file("A.TXT/B", b"".to_vec()),
            Err(DriveError::Conflict { .. })
        ));
        let deep = ["ABCDEFGH"; 8].join("/");
        assert!(matches!(
            d.insert_dir(&deep),
            Err(DriveError::TooLong { .. })
        ));
        // The message names the path.
        let e = d
            .insert_file("x/LONGFILENAME.TXT", b"".to_vec())
            .unwrap_err();
        assert!(e.to_string().contains("x/LONGFILENAME.TXT"), "{e}");
    }

    #[test]
    fn files_and_dirs_are_listed_in_order() {
        let d = drive();
        let files: Vec<&str> = d.files().map(|(k, _)| k).collect();
        assert_eq!(files, ["README.TXT", "SUB\\INNER.DAT"]);
        let dirs: Vec<&str> = d.dirs().collect();
        assert_eq!(dirs, ["EMPTY", "SUB", "SUB\\DEEP"]);
        let names: Vec<String> = d.listing("SUB").into_iter().map(|e| e.name).collect();
        assert_eq!(names, [".", "..", "DEEP", "INNER.DAT"]);
        let names: Vec<String> = d.listing("").into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["EMPTY", "README.TXT", "SUB"]);
    }

    #[test]
    fn guest_paths_resolve_like_dos() {
        let mut d = drive();
        let p = |d: &DriveC, s: &str| d.parse_path(s.as_bytes(), false);
        let name = |dir: &str, n: &str| {
            Ok(Parsed {
                dir: dir.to_string(),
                last: Last::Name(n.to_string()),
            })
        };
        assert_eq!(p(&d, "readme.txt"), name("", "README.TXT"));
        assert_eq!(p(&d, "C:\\SUB\\INNER.DAT"), name("SUB", "INNER.DAT"));
        assert_eq!(p(&d, "c:sub/inner.dat"), name("SUB", "INNER.DAT"));
        assert_eq!(p(&d, "SUB\\DEEP\\..\\.\\X"), name("SUB", "X"));
        // DOS truncates long names to 8.3.
        assert_eq!(p(&d, "LONGFILENAME.TEXT"), name("", "LONGFILE.TEX"));
        // Relative to the current directory.
        d.set_cwd("SUB".to_string());
        assert_eq!(p(&d, "INNER.DAT"), name("SUB", "INNER.DAT"));
        assert_eq!(p(&d, "..\\README.TXT"), name("", "README.TXT"));
        assert_eq!(p(&d, "\\README.TXT"), name("", "README.TXT"));
        assert_eq!(
            p(&d, ".."),
            Ok(Parsed {
                dir: String::new(),
                last: Last::Here
            })
        );
        // Escapes and other drives.
        assert_eq!(p(&d, "..\\..\\X"), Err(PathError::PathNotFound));
        assert_eq!(p(&d, "C:\\..\\X"), Err(PathError::PathNotFound));
        assert_eq!(p(&d, "\\.."), Err(PathError::PathNotFound));
        assert_eq!(p(&d, "D:X"), Err(PathError::InvalidDrive));
        assert_eq!(p(&d, "a:\\X"), Err(PathError::InvalidDrive));
        assert_eq!(p(&d, "/etc/passwd"), Err(PathError::PathNotFound));
        assert_eq!(p(&d, "\\\\host\\x"), Err(PathError::PathNotFound));
        assert_eq!(p(&d, "//host/x"), Err(PathError::PathNotFound));
        assert_eq!(p(&d, "\\SUB\\\\INNER.DAT"), Err(PathError::PathNotFound));
        assert_eq!(p(&d, "\\NOPE\\X"), Err(PathError::PathNotFound));
        assert_eq!(p(&d, "\\README.TXT\\X"), Err(PathError::PathNotFound));
        // Bad last components.
        assert_eq!(p(&d, "A+B"), Err(PathError::BadName));
        assert_eq!(p(&d, "*.TXT"), Err(PathError::BadName));
        assert_eq!(p(&d, "A.B.C"), Err(PathError::BadName));
        assert_eq!(p(&d, ""), Err(PathError::BadName));
        // Patterns.
        assert_eq!(
            d.parse_path(b"\\*.T?T", true),
            Ok(Parsed {
                dir: String::new(),
                last: Last::Pattern(*b"????????T?T")
            })
        );
        assert_eq!(
            d.parse_path(b"\\SUB\\AB*X.*", true),
            Ok(Parsed {
                dir: "SUB".to_string(),
                last: Last::Pattern(*b"AB?????????")
            })
        );
        assert_eq!(d.parse_path(b"\\*X\\Y", true), Err(PathError::PathNotFound));
    }

    #[test]
    fn wildcards_match_as_in_dos() {
        let t = |s: &str| match parse_component(s.as_bytes()) {
            Some(Comp::Pattern(t)) => t,
            Some(Comp::Name(n)) => template(&n),
            _ => panic!("{s}"),
        };
        assert!(matches(&t("*.*"), &template("A.TXT")));
        assert!(matches(&t("*.*"), &template("NOEXT")));
        assert!(matches(&t("*.*"), &template("..")));
        // `*` alone does not match a name with an extension.
        assert!(matches(&t("*"), &template("NOEXT")));
        assert!(!matches(&t("*"), &template("A.TXT")));
        // `?` matches the padding blanks.
        assert!(matches(&t("A?.TXT"), &template("A.TXT")));
        assert!(matches(&t("A?.TXT"), &template("AB.TXT")));
        assert!(!matches(&t("A?.TXT"), &template("ABC.TXT")));
        // Characters after `*` in a field are ignored.
        assert!(matches(&t("*Z.TXT"), &template("A.TXT")));
        assert!(!matches(&t("*.C"), &template("A.CC")));
        assert!(matches(&t("readme.txt"), &template("README.TXT")));
    }

    #[test]
    fn writes_account_for_space_and_stop_when_full() {
        let mut d = DriveC::new(true);
        d.insert_file("F", Vec::new()).unwrap();
        let before = d.free_clusters();
        assert_eq!(d.write_at("F", 0, &[1; 10]), 10);
        assert_eq!(d.free_clusters(), before - 1);
        // A write far past the disk's end cannot grow the file.
        assert_eq!(d.write_at("F", u32::MAX - 2, &[1; 10]), 0);
        assert_eq!(d.file("F").map(<[u8]>::len), Some(10));
        // Extending with a gap zero-fills.
        assert_eq!(d.write_at("F", 12, b"ab"), 2);
        assert_eq!(
            d.file("F"),
            Some(&[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, b'a', b'b'][..])
        );
        assert!(d.set_len("F", 3));
        assert_eq!(d.file("F"), Some(&[1, 1, 1][..]));
        assert!(!d.set_len("F", u32::MAX));
        d.remove_file("F");
        assert_eq!(d.free_clusters(), u64::from(TOTAL_CLUSTERS));
    }

    #[test]
    fn directories_rename_with_their_contents() {
        let mut d = drive();
        let id = d.dir_id("SUB").unwrap();
        let moved = d.rename_dir("SUB", "NEW");
        assert_eq!(
            moved,
            [("SUB\\INNER.DAT".to_string(), "NEW\\INNER.DAT".to_string())]
        );
        assert!(d.is_dir("NEW\\DEEP") && !d.is_dir("SUB"));
        assert_eq!(d.dir_id("NEW"), Some(id));
        assert_eq!(d.dir_by_id(id).as_deref(), Some("NEW"));
        assert!(d.dir_is_empty("EMPTY") && !d.dir_is_empty("NEW"));
        // Directory keys may not grow past 63 characters through a rename.
        let long = "ABCDEFGH\\".repeat(6) + "ABCD";
        assert_eq!(long.len(), 58);
        d.insert_dir(&long).unwrap();
        assert!(d.fits_renamed(&long, &(long[..54].to_string() + "ABCDEFGH")));
        assert!(!d.fits_renamed(&long, &(long[..54].to_string() + "ABCDEFGH.ABC")));
    }
}
