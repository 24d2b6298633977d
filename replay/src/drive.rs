//! Drive C: from a host directory: the host side of `vexed_emu::firmware::dos::DriveC`.
//!
//! The machine never touches host files (DESIGN.md section 1): this module reads a
//! directory once, before the run, into an in-memory [`DriveC`]. Whatever the guest writes
//! stays in the machine's state; the host directory is never modified.
//!
//! Decisions:
//!
//! - Every regular file and directory whose path components are valid DOS 8.3 names is
//!   loaded, names folded to upper case (`readme.txt` is `README.TXT`). Anything else is
//!   skipped and reported in [`LoadedDrive::skipped`] so the CLI can warn: names that are not
//!   8.3 (`.git`, `LongName.txt`), DOS device names (`CON.TXT`, `NUL`), a second host name
//!   for the same DOS name (`a.txt` next to `A.TXT`: the first in byte order wins), paths
//!   longer than DOS allows or deeper than [`Limits::max_depth`], dangling links, and
//!   directories reached twice through links. Each skip carries a [`SkipReason`].
//! - Special files (FIFOs, sockets, devices) are skipped, and so are regular files with more
//!   than one hard link: a hard link to a file outside the directory cannot be told apart
//!   from one inside it, so every multiply-linked file is left out (copy the file in to
//!   use it).
//! - A file that starts with the trace magic `VEXEDTRC` ([`vexed_trace::MAGIC`]) is skipped:
//!   a trace recorded into the program's directory never ends up inside the next
//!   recording's drive.
//! - Files are opened without following a final symbolic link and without blocking (on
//!   Unix `O_NOFOLLOW | O_NONBLOCK`), checked again on the open handle (a FIFO swapped in
//!   after the directory was listed is skipped, not waited on), and read with a bound: never
//!   more than what is left of [`Limits::max_bytes`]. Links to files inside the directory
//!   are opened by their resolved path. A concurrent rename of a parent directory between
//!   resolving and opening is not guarded against (the directory is the user's own).
//! - Entries are visited in byte order of their names, so the result does not depend on
//!   the order the host file system lists them in.
//! - Symbolic links are followed only while they stay inside the directory (after
//!   resolving them); a link that leads outside it is an error, as is a drive larger than
//!   [`Limits::max_bytes`] (64 MiB unless changed): both name the offending path.
//! - Host modification times are not used (files report the DOS boot time), so a run does
//!   not depend on them.

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use thiserror::Error;
use vexed_emu::firmware::dos::drive::DriveError;
use vexed_emu::firmware::dos::{CONFIG_FILE, DriveC};

/// How much of a host directory [`load_drive_with`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes of all files.
    pub max_bytes: u64,
    /// Directory levels below the root (DOS paths of at most 63 characters cannot go
    /// deeper than 31 anyway).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 64 * 1024 * 1024,
            max_depth: 32,
        }
    }
}

/// Why a host directory cannot become drive C:.
#[derive(Debug, Error)]
pub enum DriveLoadError {
    #[error("cannot read {path} for drive C:: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not a directory, so it cannot be drive C:")]
    NotADirectory { path: PathBuf },
    #[error(
        "drive C: would be larger than {limit} bytes: {path} brings the files to {total} bytes"
    )]
    TooLarge {
        path: PathBuf,
        total: u64,
        limit: u64,
    },
    #[error(
        "{path} is a symbolic link to {target}, outside the drive C: directory {root}; \
         copy the file in or remove the link"
    )]
    LinkEscapes {
        path: PathBuf,
        target: PathBuf,
        root: PathBuf,
    },
    #[error("the scenario lists {name:?} for drive C:, but {reason}")]
    Listed { name: String, reason: String },
}

/// A host file or directory that is not on the drive, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: SkipReason,
}

/// Why a host file or directory is not on drive C:.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// The host name is not valid Unicode.
    NotUnicode,
    /// `component` is not a DOS 8.3 name.
    NotDosName { component: String },
    /// `component` is a DOS device name (`CON`, `NUL`, `COM1`, ...).
    DeviceName { component: String },
    /// The DOS path would be longer than DOS allows.
    PathTooLong { max: usize },
    /// A file and a directory would have the same DOS name.
    FileDirConflict,
    /// Another host name (`first`) already became this DOS name.
    SameDosName { dos: String, first: PathBuf },
    /// Deeper than [`Limits::max_depth`] directory levels.
    TooDeep { max: usize },
    /// A symbolic link whose target does not exist.
    DanglingLink,
    /// A directory already on the drive (reached again through a link).
    DirectoryAgain,
    /// A regular file with more than one hard link.
    HardLink { links: u64 },
    /// A FIFO, socket or device.
    SpecialFile,
    /// A vexed trace (it starts with `VEXEDTRC`).
    Trace,
}

impl SkipReason {
    fn of(err: &DriveError) -> SkipReason {
        match err {
            DriveError::BadName { component, .. } => SkipReason::NotDosName {
                component: component.clone(),
            },
            DriveError::Empty { .. } => SkipReason::NotDosName {
                component: String::new(),
            },
            DriveError::DeviceName { component, .. } => SkipReason::DeviceName {
                component: component.clone(),
            },
            DriveError::TooLong { max, .. } => SkipReason::PathTooLong { max: *max },
            DriveError::Conflict { .. } => SkipReason::FileDirConflict,
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NotUnicode => {
                f.write_str("the name is not valid Unicode, so not a DOS name")
            }
            SkipReason::NotDosName { component } => write!(
                f,
                "`{component}` is not a DOS 8.3 name (1-8 characters, optionally `.` and 1-3 \
                 more, from A-Z 0-9 and ! # $ % & ' ( ) - @ ^ _ ` {{ }} ~)"
            ),
            SkipReason::DeviceName { component } => write!(
                f,
                "`{component}` is a DOS device name; DOS would open the device, not the file"
            ),
            SkipReason::PathTooLong { max } => write!(
                f,
                "the DOS path is longer than DOS allows ({max} characters without `C:\\`)"
            ),
            SkipReason::FileDirConflict => {
                f.write_str("a file and a directory cannot have the same DOS name")
            }
            SkipReason::SameDosName { dos, first } => {
                write!(f, "same DOS name {dos} as {}", first.display())
            }
            SkipReason::TooDeep { max } => write!(f, "deeper than {max} directory levels"),
            SkipReason::DanglingLink => f.write_str("a symbolic link that leads nowhere"),
            SkipReason::DirectoryAgain => {
                f.write_str("a directory already on the drive through a link")
            }
            SkipReason::HardLink { links } => write!(
                f,
                "a file with {links} hard links (one of them could be outside the directory); \
                 copy it in to use it"
            ),
            SkipReason::SpecialFile => {
                f.write_str("not a regular file or directory (a FIFO, socket or device)")
            }
            SkipReason::Trace => f.write_str("a vexed trace"),
        }
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// A loaded drive and what was left out of it.
#[derive(Clone, Debug)]
pub struct LoadedDrive {
    pub drive: DriveC,
    pub skipped: Vec<Skipped>,
}

/// Loads `dir` (recursively) as drive C:, with the default [`Limits`].
pub fn load_drive(dir: &Path, writable: bool) -> Result<LoadedDrive, DriveLoadError> {
    load_drive_with(dir, writable, Limits::default())
}

/// Loads `dir` (recursively) as drive C:.
pub fn load_drive_with(
    dir: &Path,
    writable: bool,
    limits: Limits,
) -> Result<LoadedDrive, DriveLoadError> {
    let meta = fs::metadata(dir).map_err(io_err(dir))?;
    if !meta.is_dir() {
        return Err(DriveLoadError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let root = fs::canonicalize(dir).map_err(io_err(dir))?;
    let mut loader = Loader {
        root: root.clone(),
        limits,
        total: 0,
        drive: DriveC::new(writable),
        skipped: Vec::new(),
        visited: BTreeSet::from([root.clone()]),
    };
    loader.walk(dir, "", 0)?;
    Ok(LoadedDrive {
        drive: loader.drive,
        skipped: loader.skipped,
    })
}

struct Loader {
    /// The canonical drive directory.
    root: PathBuf,
    limits: Limits,
    total: u64,
    drive: DriveC,
    skipped: Vec<Skipped>,
    /// Canonical directories already walked (links can lead to one twice).
    visited: BTreeSet<PathBuf>,
}

impl Loader {
    fn skip(&mut self, path: &Path, reason: SkipReason) {
        self.skipped.push(Skipped {
            path: path.to_path_buf(),
            reason,
        });
    }

    /// Walks host directory `dir`, which is DOS directory `dos` (`""` for the root, else
    /// `SUB/DIR`), `depth` levels down.
    fn walk(&mut self, dir: &Path, dos: &str, depth: usize) -> Result<(), DriveLoadError> {
        let mut entries = Vec::new();
        for e in fs::read_dir(dir).map_err(io_err(dir))? {
            entries.push(e.map_err(io_err(dir))?);
        }
        entries.sort_by_key(|e| e.file_name());
        // DOS names already taken in this directory, with the host name that took them.
        let mut taken: Vec<(String, PathBuf)> = Vec::new();
        for e in entries {
            let path = e.path();
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                self.skip(&path, SkipReason::NotUnicode);
                continue;
            };
            let dos_path = if dos.is_empty() {
                name.clone()
            } else {
                format!("{dos}/{name}")
            };
            // Validate the name before following anything.
            let key = match DriveC::normalize(&dos_path) {
                Ok(k) => k,
                Err(err) => {
                    self.skip(&path, SkipReason::of(&err));
                    continue;
                }
            };
            if let Some((_, first)) = taken.iter().find(|(k, _)| *k == key) {
                let first = first.clone();
                self.skip(&path, SkipReason::SameDosName { dos: key, first });
                continue;
            }
            let link = fs::symlink_metadata(&path).map_err(io_err(&path))?;
            // What to open: the entry itself, or where a link inside the root leads.
            let (meta, real) = if link.file_type().is_symlink() {
                let target = match fs::canonicalize(&path) {
                    Ok(t) => t,
                    Err(_) => {
                        self.skip(&path, SkipReason::DanglingLink);
                        continue;
                    }
                };
                if !target.starts_with(&self.root) {
                    return Err(DriveLoadError::LinkEscapes {
                        path,
                        target,
                        root: self.root.clone(),
                    });
                }
                (fs::metadata(&target).map_err(io_err(&path))?, target)
            } else {
                (link, path.clone())
            };
            if meta.is_dir() {
                if depth + 1 > self.limits.max_depth {
                    let max = self.limits.max_depth;
                    self.skip(&path, SkipReason::TooDeep { max });
                    continue;
                }
                let canonical = fs::canonicalize(&path).map_err(io_err(&path))?;
                if !self.visited.insert(canonical) {
                    self.skip(&path, SkipReason::DirectoryAgain);
                    continue;
                }
                if let Err(err) = self.drive.insert_dir(&dos_path) {
                    self.skip(&path, SkipReason::of(&err));
                    continue;
                }
                taken.push((key, path.clone()));
                self.walk(&path, &dos_path, depth + 1)?;
            } else if !meta.is_file() {
                self.skip(&path, SkipReason::SpecialFile);
            } else if let Some(links) = extra_links(&meta) {
                self.skip(&path, SkipReason::HardLink { links });
            } else {
                let bytes = match self.read_file(&path, &real)? {
                    Ok(bytes) => bytes,
                    Err(reason) => {
                        self.skip(&path, reason);
                        continue;
                    }
                };
                if let Err(err) = self.drive.insert_file(&dos_path, bytes) {
                    self.skip(&path, SkipReason::of(&err));
                    continue;
                }
                taken.push((key, path.clone()));
            }
        }
        Ok(())
    }

    /// Reads the regular file `real` (the entry `path`, or where its link leads) within what
    /// is left of the size limit, or says why it is skipped.
    fn read_file(
        &mut self,
        path: &Path,
        real: &Path,
    ) -> Result<Result<Vec<u8>, SkipReason>, DriveLoadError> {
        let mut file = open_no_wait(real, false).map_err(io_err(path))?;
        // Check the handle: the entry may have changed since it was listed.
        let meta = file.metadata().map_err(io_err(path))?;
        if !meta.is_file() {
            return Ok(Err(SkipReason::SpecialFile));
        }
        if let Some(links) = extra_links(&meta) {
            return Ok(Err(SkipReason::HardLink { links }));
        }
        let mut head = Vec::with_capacity(vexed_trace::MAGIC.len());
        (&mut file)
            .take(vexed_trace::MAGIC.len() as u64)
            .read_to_end(&mut head)
            .map_err(io_err(path))?;
        if head == vexed_trace::MAGIC {
            return Ok(Err(SkipReason::Trace));
        }
        let before = self.total;
        self.add_total(path, meta.len())?;
        // What is left of the limit; at least `meta.len()`, so the allocation is bounded.
        let left = self.limits.max_bytes - before;
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        bytes.extend_from_slice(&head);
        // One byte more than is left shows that the file grew past the limit.
        let rest = left.saturating_add(1).saturating_sub(head.len() as u64);
        file.take(rest)
            .read_to_end(&mut bytes)
            .map_err(io_err(path))?;
        // The file may have grown (or shrunk) since its metadata was read.
        self.total = before;
        self.add_total(path, bytes.len() as u64)?;
        Ok(Ok(bytes))
    }

    fn add_total(&mut self, path: &Path, bytes: u64) -> Result<(), DriveLoadError> {
        self.total = self.total.saturating_add(bytes);
        if self.total > self.limits.max_bytes {
            return Err(DriveLoadError::TooLarge {
                path: path.to_path_buf(),
                total: self.total,
                limit: self.limits.max_bytes,
            });
        }
        Ok(())
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> DriveLoadError + use<> {
    let path = path.to_path_buf();
    move |source| DriveLoadError::Io { path, source }
}

/// The number of hard links of a regular file that has more than one.
#[cfg(unix)]
fn extra_links(meta: &fs::Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    (meta.nlink() > 1).then_some(meta.nlink())
}

#[cfg(not(unix))]
fn extra_links(_: &fs::Metadata) -> Option<u64> {
    None
}

/// Opens `path` for reading without waiting for a writer if it is (or became) a FIFO, and
/// unless `follow_links`, without following a final symbolic link (Unix `O_NONBLOCK`,
/// `O_NOFOLLOW`). Check what was opened on the handle before reading.
#[cfg(unix)]
pub(crate) fn open_no_wait(path: &Path, follow_links: bool) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let nofollow = if follow_links { 0 } else { libc::O_NOFOLLOW };
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(nofollow | libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
pub(crate) fn open_no_wait(path: &Path, _follow_links: bool) -> io::Result<File> {
    File::open(path)
}

/// Drive C: of a scenario: its directory, or only the files it lists (`files = [...]`),
/// which must all exist.
pub fn load_scenario_drive(s: &crate::scenario::Scenario) -> Result<LoadedDrive, DriveLoadError> {
    let mut loaded = drive_files(s)?;
    if let Some(text) = &s.config {
        // The manifest's `config` becomes C:\CONFIG.SYS; one from the directory as well
        // would leave it unclear which DOS reads.
        if loaded.drive.file(CONFIG_FILE).is_some() {
            return Err(DriveLoadError::Listed {
                name: CONFIG_FILE.to_string(),
                reason: format!(
                    "the manifest has a `config` and {} has a CONFIG.SYS too",
                    s.drive_dir.display()
                ),
            });
        }
        let bytes = text
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .into_bytes();
        loaded
            .drive
            .insert_file(CONFIG_FILE, bytes)
            .map_err(|e| DriveLoadError::Listed {
                name: CONFIG_FILE.to_string(),
                reason: e.to_string(),
            })?;
    }
    Ok(loaded)
}

/// The files of a scenario's directory that go on drive C:.
fn drive_files(s: &crate::scenario::Scenario) -> Result<LoadedDrive, DriveLoadError> {
    let loaded = load_drive(&s.drive_dir, s.writable)?;
    let Some(wanted) = &s.drive_files else {
        return Ok(loaded);
    };
    let mut drive = DriveC::new(s.writable);
    for name in wanted {
        let key = DriveC::normalize(name).map_err(|e| DriveLoadError::Listed {
            name: name.clone(),
            reason: e.to_string(),
        })?;
        let bytes = loaded
            .drive
            .file(&key)
            .ok_or_else(|| DriveLoadError::Listed {
                name: name.clone(),
                reason: format!("no such file in {}", s.drive_dir.display()),
            })?;
        drive
            .insert_file(&key, bytes.to_vec())
            .map_err(|e| DriveLoadError::Listed {
                name: name.clone(),
                reason: e.to_string(),
            })?;
    }
    Ok(LoadedDrive {
        drive,
        skipped: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fresh directory under the system temp directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static N: AtomicU32 = AtomicU32::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir()
                .join(format!("vexed-drive-test-{}-{tag}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }

        fn file(&self, rel: &str, bytes: &[u8]) -> PathBuf {
            let p = self.0.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, bytes).unwrap();
            p
        }

        fn dir(&self, rel: &str) {
            fs::create_dir_all(self.0.join(rel)).unwrap();
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn skipped_names(l: &LoadedDrive, root: &Path) -> Vec<String> {
        l.skipped
            .iter()
            .map(|s| {
                s.path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect()
    }

    #[test]
    fn loads_8_3_files_and_reports_the_rest() {
        let t = TempDir::new("load");
        t.file("readme.txt", b"hello");
        t.file("Game/DATA.BIN", &[1, 2, 3]);
        t.file("Game/levels/L1.MAP", b"map");
        t.dir("EMPTY");
        t.file("LongFileName.txt", b"x");
        t.file(".hidden", b"x");
        t.file("CON.TXT", b"x");
        t.file("too.many.dots", b"x");
        t.file("not a dos name/INSIDE.TXT", b"x");
        let l = load_drive(&t.0, true).unwrap();
        let files: Vec<(&str, &[u8])> = l.drive.files().collect();
        assert_eq!(
            files,
            [
                ("GAME\\DATA.BIN", &[1u8, 2, 3][..]),
                ("GAME\\LEVELS\\L1.MAP", &b"map"[..]),
                ("README.TXT", &b"hello"[..]),
            ]
        );
        let dirs: Vec<&str> = l.drive.dirs().collect();
        assert_eq!(dirs, ["EMPTY", "GAME", "GAME\\LEVELS"]);
        assert!(l.drive.is_writable());
        // Skipped in byte order of their names; the bad directory once, not its contents.
        assert_eq!(
            skipped_names(&l, &t.0),
            [
                ".hidden",
                "CON.TXT",
                "LongFileName.txt",
                "not a dos name",
                "too.many.dots"
            ]
        );
        let con = &l.skipped[1];
        assert_eq!(
            con.reason,
            SkipReason::DeviceName {
                component: "CON.TXT".into()
            }
        );
        assert!(con.to_string().contains("device"), "{con}");
        assert!(con.to_string().contains("CON.TXT"), "{con}");
        let read_only = load_drive(&t.0, false).unwrap();
        assert!(!read_only.drive.is_writable());
    }

    #[test]
    fn two_host_names_for_one_dos_name_keep_the_first() {
        let t = TempDir::new("case");
        t.file("A.TXT", b"upper");
        t.file("a.txt", b"lower");
        let l = load_drive(&t.0, false).unwrap();
        // A case-insensitive host file system holds only one of them.
        if l.skipped.is_empty() {
            assert_eq!(l.drive.files().count(), 1);
            return;
        }
        assert_eq!(l.drive.file("A.TXT"), Some(&b"upper"[..]));
        assert_eq!(skipped_names(&l, &t.0), ["a.txt"]);
        assert!(
            matches!(&l.skipped[0].reason, SkipReason::SameDosName { dos, .. } if dos == "A.TXT"),
            "{}",
            l.skipped[0]
        );
    }

    #[test]
    fn size_and_depth_are_limited() {
        let t = TempDir::new("limits");
        t.file("A.BIN", &[0; 600]);
        t.file("B.BIN", &[0; 600]);
        let limits = Limits {
            max_bytes: 1000,
            max_depth: 2,
        };
        let err = load_drive_with(&t.0, false, limits).unwrap_err();
        match &err {
            DriveLoadError::TooLarge { path, total, limit } => {
                assert!(path.ends_with("B.BIN"), "{err}");
                assert_eq!((*total, *limit), (1200, 1000));
            }
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains("B.BIN"), "{err}");
        let t = TempDir::new("depth");
        t.file("ONE/TWO/OK.TXT", b"ok");
        t.file("ONE/TWO/THREE/DEEP.TXT", b"deep");
        let l = load_drive_with(&t.0, false, limits).unwrap();
        assert_eq!(l.drive.file("ONE/TWO/OK.TXT"), Some(&b"ok"[..]));
        assert_eq!(skipped_names(&l, &t.0), ["ONE/TWO/THREE"]);
    }

    #[test]
    fn a_missing_directory_or_a_file_is_a_clear_error() {
        let t = TempDir::new("errors");
        let missing = t.0.join("NOPE");
        let err = load_drive(&missing, false).unwrap_err();
        assert!(matches!(err, DriveLoadError::Io { .. }), "{err}");
        assert!(err.to_string().contains("NOPE"), "{err}");
        let file = t.file("F.TXT", b"x");
        let err = load_drive(&file, false).unwrap_err();
        assert!(matches!(err, DriveLoadError::NotADirectory { .. }), "{err}");
        assert!(err.to_string().contains("F.TXT"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn links_may_not_leave_the_directory() {
        use std::os::unix::fs::symlink;
        let outside = TempDir::new("outside");
        let secret = outside.file("SECRET.TXT", b"secret");
        let t = TempDir::new("links");
        t.file("REAL.TXT", b"real");
        t.dir("SUB");
        symlink(t.0.join("REAL.TXT"), t.0.join("ALIAS.TXT")).unwrap();
        // A link back to the root would loop: it is walked once only.
        symlink(&t.0, t.0.join("SUB/LOOP")).unwrap();
        symlink(t.0.join("NOWHERE"), t.0.join("DANGLING")).unwrap();
        let l = load_drive(&t.0, false).unwrap();
        assert_eq!(l.drive.file("ALIAS.TXT"), Some(&b"real"[..]));
        assert_eq!(skipped_names(&l, &t.0), ["DANGLING", "SUB/LOOP"]);
        symlink(&secret, t.0.join("LEAK.TXT")).unwrap();
        let err = load_drive(&t.0, false).unwrap_err();
        assert!(matches!(err, DriveLoadError::LinkEscapes { .. }), "{err}");
        assert!(err.to_string().contains("LEAK.TXT"), "{err}");
        symlink(&outside.0, t.0.join("SUB/ETC")).unwrap();
        fs::remove_file(t.0.join("LEAK.TXT")).unwrap();
        let err = load_drive(&t.0, false).unwrap_err();
        assert!(err.to_string().contains("ETC"), "{err}");
    }

    #[test]
    fn traces_are_never_put_on_the_drive() {
        let t = TempDir::new("traces");
        t.file("PROG.COM", &[0xC3]);
        let mut trace = vexed_trace::MAGIC.to_vec();
        trace.extend_from_slice(&[0; 100]);
        t.file("T1.VXT", &trace);
        // Larger than the whole limit: skipped, not an error.
        trace.resize(3000, 0);
        t.file("SUB/BIG.VXT", &trace);
        // Shorter than the magic, or only almost the magic: an ordinary file.
        t.file("SHORT.TXT", b"VEXED");
        t.file("NEAR.BIN", b"VEXEDTRX");
        let limits = Limits {
            max_bytes: 1000,
            max_depth: 4,
        };
        let l = load_drive_with(&t.0, false, limits).unwrap();
        let files: Vec<&str> = l.drive.files().map(|(n, _)| n).collect();
        assert_eq!(files, ["NEAR.BIN", "PROG.COM", "SHORT.TXT"]);
        assert_eq!(skipped_names(&l, &t.0), ["SUB/BIG.VXT", "T1.VXT"]);
        assert!(l.skipped.iter().all(|s| s.reason == SkipReason::Trace));
        assert!(l.skipped[1].to_string().ends_with("T1.VXT: a vexed trace"));
    }

    #[cfg(unix)]
    #[test]
    fn hard_linked_files_are_skipped() {
        let outside = TempDir::new("hl-outside");
        let secret = outside.file("SECRET.TXT", b"secret");
        let t = TempDir::new("hardlinks");
        t.file("ONE.TXT", b"one");
        let twice = t.file("TWICE.TXT", b"twice");
        fs::hard_link(&twice, t.0.join("AGAIN.TXT")).unwrap();
        fs::hard_link(&secret, t.0.join("LEAK.TXT")).unwrap();
        let l = load_drive(&t.0, false).unwrap();
        let files: Vec<&str> = l.drive.files().map(|(n, _)| n).collect();
        assert_eq!(files, ["ONE.TXT"]);
        assert_eq!(
            skipped_names(&l, &t.0),
            ["AGAIN.TXT", "LEAK.TXT", "TWICE.TXT"]
        );
        for s in &l.skipped {
            assert_eq!(s.reason, SkipReason::HardLink { links: 2 }, "{s}");
        }
        // A symbolic link inside the directory to a multiply-linked file is skipped too.
        fs::remove_file(t.0.join("AGAIN.TXT")).unwrap();
        fs::remove_file(t.0.join("LEAK.TXT")).unwrap();
        fs::hard_link(&secret, t.0.join("SUB.TXT")).unwrap();
        std::os::unix::fs::symlink(t.0.join("SUB.TXT"), t.0.join("ALIAS.TXT")).unwrap();
        let l = load_drive(&t.0, false).unwrap();
        let files: Vec<&str> = l.drive.files().map(|(n, _)| n).collect();
        assert_eq!(files, ["ONE.TXT", "TWICE.TXT"]);
        assert_eq!(skipped_names(&l, &t.0), ["ALIAS.TXT", "SUB.TXT"]);
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_skipped_without_waiting() {
        let t = TempDir::new("special");
        t.file("OK.TXT", b"ok");
        let fifo = t.0.join("PIPE");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo failed");
        let _socket = std::os::unix::net::UnixListener::bind(t.0.join("SOCK")).unwrap();
        let root = t.0.clone();
        // A FIFO nobody writes to: a blocking open or read would never return.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let loaded = load_drive(&root, false).map(|l| l.skipped);
            // A FIFO that replaced a regular file after the listing is read through the
            // same open-and-check path.
            let mut loader = Loader {
                root: root.clone(),
                limits: Limits::default(),
                total: 0,
                drive: DriveC::new(false),
                skipped: Vec::new(),
                visited: BTreeSet::new(),
            };
            let swapped = loader
                .read_file(&root.join("PIPE"), &root.join("PIPE"))
                .map_err(|e| e.to_string());
            let _ = tx.send((loaded.map_err(|e| e.to_string()), swapped));
        });
        let (loaded, swapped) = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("loading a directory with a FIFO hung");
        let skipped = loaded.unwrap();
        let names: Vec<_> = skipped.iter().map(|s| s.path.clone()).collect();
        assert_eq!(names, [t.0.join("PIPE"), t.0.join("SOCK")]);
        assert!(skipped.iter().all(|s| s.reason == SkipReason::SpecialFile));
        assert_eq!(swapped.unwrap(), Err(SkipReason::SpecialFile));
    }

    #[test]
    fn files_are_read_within_the_limit() {
        let t = TempDir::new("bound");
        let a = t.file("A.BIN", &[1; 400]);
        let mut loader = Loader {
            root: t.0.clone(),
            limits: Limits {
                max_bytes: 1000,
                max_depth: 4,
            },
            total: 700,
            drive: DriveC::new(false),
            skipped: Vec::new(),
            visited: BTreeSet::new(),
        };
        // 700 + 400 > 1000: refused before the file is read.
        let err = loader.read_file(&a, &a).unwrap_err();
        assert!(
            matches!(err, DriveLoadError::TooLarge { total: 1100, .. }),
            "{err}"
        );
        loader.total = 600;
        assert_eq!(loader.read_file(&a, &a).unwrap(), Ok(vec![1; 400]));
        assert_eq!(loader.total, 1000);
    }
}
