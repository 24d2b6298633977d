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
//!   longer than DOS allows or deeper than [`Limits::max_depth`], sockets and other special
//!   files, dangling links, and directories reached twice through links.
//! - Entries are visited in byte order of their names, so the result does not depend on
//!   the order the host file system lists them in.
//! - Symbolic links are followed only while they stay inside the directory (after
//!   resolving them); a link that leads outside it is an error, as is a drive larger than
//!   [`Limits::max_bytes`] (64 MiB unless changed): both name the offending path.
//! - Host modification times are not used (files report the DOS boot time), so a run does
//!   not depend on them.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;
use vexed_emu::firmware::dos::DriveC;

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
    pub reason: String,
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
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DriveLoadError::Io { path, source }
    };
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
    fn skip(&mut self, path: &Path, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            path: path.to_path_buf(),
            reason: reason.into(),
        });
    }

    /// Walks host directory `dir`, which is DOS directory `dos` (`""` for the root, else
    /// `SUB/DIR`), `depth` levels down.
    fn walk(&mut self, dir: &Path, dos: &str, depth: usize) -> Result<(), DriveLoadError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DriveLoadError::Io { path, source }
        };
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
                self.skip(&path, "the name is not valid Unicode, so not a DOS name");
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
                    self.skip(&path, reason_of(&err.to_string(), &dos_path));
                    continue;
                }
            };
            if let Some((_, first)) = taken.iter().find(|(k, _)| *k == key) {
                let first = first.display().to_string();
                self.skip(&path, format!("same DOS name {key} as {first}"));
                continue;
            }
            let link = fs::symlink_metadata(&path).map_err(io_err(&path))?;
            let meta = if link.file_type().is_symlink() {
                let target = match fs::canonicalize(&path) {
                    Ok(t) => t,
                    Err(_) => {
                        self.skip(&path, "a symbolic link that leads nowhere");
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
                fs::metadata(&path).map_err(io_err(&path))?
            } else {
                link
            };
            if meta.is_dir() {
                if depth + 1 > self.limits.max_depth {
                    let max = self.limits.max_depth;
                    self.skip(&path, format!("deeper than {max} directory levels"));
                    continue;
                }
                let canonical = fs::canonicalize(&path).map_err(io_err(&path))?;
                if !self.visited.insert(canonical) {
                    self.skip(&path, "a directory already on the drive through a link");
                    continue;
                }
                if let Err(err) = self.drive.insert_dir(&dos_path) {
                    self.skip(&path, reason_of(&err.to_string(), &dos_path));
                    continue;
                }
                taken.push((key, path.clone()));
                self.walk(&path, &dos_path, depth + 1)?;
            } else if meta.is_file() {
                self.add_total(&path, meta.len())?;
                let bytes = fs::read(&path).map_err(io_err(&path))?;
                // The file may have grown since its metadata was read.
                let grown = (bytes.len() as u64).saturating_sub(meta.len());
                self.add_total(&path, grown)?;
                if let Err(err) = self.drive.insert_file(&dos_path, bytes) {
                    self.skip(&path, reason_of(&err.to_string(), &dos_path));
                    continue;
                }
                taken.push((key, path.clone()));
            } else {
                self.skip(&path, "not a regular file or directory");
            }
        }
        Ok(())
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

/// A `DriveError` message without its leading "`path`: " (the skip list names the host
/// path already).
fn reason_of(message: &str, dos_path: &str) -> String {
    let prefix = format!("`{dos_path}`: ");
    message
        .strip_prefix(prefix.as_str())
        .unwrap_or(message)
        .to_string()
}

/// Drive C: of a scenario: its directory, or only the files it lists (`files = [...]`),
/// which must all exist.
pub fn load_scenario_drive(s: &crate::scenario::Scenario) -> Result<LoadedDrive, DriveLoadError> {
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
        assert!(con.reason.contains("device"), "{con}");
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
        assert!(l.skipped[0].reason.contains("A.TXT"), "{}", l.skipped[0]);
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
}
