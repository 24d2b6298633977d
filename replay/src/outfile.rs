//! Output files of the `vexed` verbs (traces, dumps, SVGs): written to a temporary file
//! next to the target and renamed over it only when the run succeeded (issue 14, item 5;
//! DESIGN.md section 9: bad input is reported, never half-written).
//!
//! Decisions:
//!
//! - [`OutputFile::create`] refuses an output that is also one of the command's inputs:
//!   the same path written differently (`x`, `./x`, `dir/../x`), a symbolic link to an
//!   input (or an input that is a link to the output), and, on Unix, another hard link to
//!   the same file (same device and inode). The output need not exist yet: its directory is
//!   resolved and its file name appended.
//! - The bytes go to `.NAME.vexed-tmp-PID-N` in the output's own directory (the same file
//!   system, so the final rename is atomic), created exclusively (never an existing file).
//!   [`OutputFile::commit`] flushes, syncs the data to disk, gives the file the old file's
//!   permissions if there was one, and renames it over the output; dropping an
//!   `OutputFile` without committing removes the temporary file. A failed or interrupted
//!   run therefore leaves the user's file as it was.
//! - An existing output that is a symbolic link is replaced by the new file; the file the
//!   link pointed to is not written.
//! - [`check_readable`] and [`check_dir`] check the options that name input files and
//!   directories, so a command can refuse a missing `--serial FILE` before it creates
//!   anything. `-` (standard input / output) is never a file and is not checked here.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use thiserror::Error;

/// Why an output file cannot be written, or an input file cannot be read.
#[derive(Debug, Error)]
pub enum OutFileError {
    #[error(
        "the output {output} is the input {input}; writing it would destroy the input, \
         so name another output file"
    )]
    SameAsInput { output: PathBuf, input: PathBuf },
    #[error("{path} cannot be an output file: it names no file")]
    NoFileName { path: PathBuf },
    #[error("cannot write {path}: {what}: {source}")]
    Io {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is {kind}, not {wanted}")]
    WrongKind {
        path: PathBuf,
        kind: &'static str,
        wanted: &'static str,
    },
}

/// An output being written: a temporary file in the target's directory, renamed over the
/// target by [`OutputFile::commit`] and removed if dropped before that.
#[derive(Debug)]
pub struct OutputFile {
    /// The output as the user named it (for messages).
    path: PathBuf,
    /// The output's directory (canonical) joined with its file name: what is replaced.
    target: PathBuf,
    temp: PathBuf,
    /// `None` once committed.
    file: Option<BufWriter<File>>,
}

/// Counts temporary files made by this process, for unique names.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// How many temporary names are tried before giving up (another process could be using
/// the same names only by accident).
const TEMP_ATTEMPTS: u32 = 64;

impl OutputFile {
    /// Starts writing `path`, refusing it if it is one of `inputs` (the files the command
    /// reads; `-` entries are skipped). Nothing is created if this fails.
    pub fn create(path: &Path, inputs: &[&Path]) -> Result<OutputFile, OutFileError> {
        let target = resolve_output(path)?;
        for input in inputs {
            if input.as_os_str() == "-" {
                continue;
            }
            if same_file(path, &target, input) {
                return Err(OutFileError::SameAsInput {
                    output: path.to_path_buf(),
                    input: input.to_path_buf(),
                });
            }
        }
        let (temp, file) = create_temp(path, &target)?;
        Ok(OutputFile {
            path: path.to_path_buf(),
            target,
            temp,
            file: Some(BufWriter::new(file)),
        })
    }

    /// The output as it was named.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary file the bytes go to until [`OutputFile::commit`].
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Flushes and syncs the bytes and renames the temporary file over the output.
    pub fn commit(mut self) -> Result<(), OutFileError> {
        let io_err = |what| {
            let path = self.path.clone();
            move |source| OutFileError::Io { path, what, source }
        };
        let Some(writer) = self.file.take() else {
            return Ok(());
        };
        let file = writer
            .into_inner()
            .map_err(|e| e.into_error())
            .map_err(io_err("flushing the data"))?;
        // Keep the permissions of the file being replaced (of a regular file only: those of
        // whatever a link pointed to are not the output's).
        if let Ok(old) = fs::symlink_metadata(&self.target)
            && old.is_file()
        {
            file.set_permissions(old.permissions())
                .map_err(io_err("copying the old file's permissions"))?;
        }
        file.sync_all().map_err(io_err("syncing it to disk"))?;
        drop(file);
        if let Err(source) = fs::rename(&self.temp, &self.target) {
            let _ = fs::remove_file(&self.temp);
            return Err(OutFileError::Io {
                path: self.path.clone(),
                what: "renaming the temporary file over it",
                source,
            });
        }
        sync_dir(&self.target).map_err(io_err("syncing its directory"))?;
        Ok(())
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("the output file is already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if let Some(writer) = self.file.take() {
            // Not committed: the output keeps its old contents; the partial file goes.
            drop(writer.into_parts());
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// The output's canonical directory joined with its file name.
fn resolve_output(path: &Path) -> Result<PathBuf, OutFileError> {
    let name = match path.file_name() {
        Some(n) if !path.as_os_str().to_string_lossy().ends_with('/') => n,
        _ => {
            return Err(OutFileError::NoFileName {
                path: path.to_path_buf(),
            });
        }
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = fs::canonicalize(dir).map_err(|source| OutFileError::Io {
        path: path.to_path_buf(),
        what: "its directory cannot be resolved",
        source,
    })?;
    if let Ok(meta) = fs::metadata(path)
        && meta.is_dir()
    {
        return Err(OutFileError::WrongKind {
            path: path.to_path_buf(),
            kind: "a directory",
            wanted: "a file",
        });
    }
    Ok(dir.join(name))
}

/// Whether writing the output `path` (resolved to `target`) would write `input`.
fn same_file(path: &Path, target: &Path, input: &Path) -> bool {
    let Ok(input_canon) = fs::canonicalize(input) else {
        // An input that does not exist cannot be overwritten (and is reported as missing
        // by whoever reads it).
        return false;
    };
    if input_canon == target {
        return true;
    }
    // The output exists: where it leads (through links) and which file it is.
    if let Ok(out_canon) = fs::canonicalize(path)
        && out_canon == input_canon
    {
        return true;
    }
    same_inode(path, input)
}

#[cfg(unix)]
fn same_inode(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_inode(_: &Path, _: &Path) -> bool {
    false
}

/// Creates `.NAME.vexed-tmp-PID-N` next to `target`, exclusively.
fn create_temp(path: &Path, target: &Path) -> Result<(PathBuf, File), OutFileError> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = target.parent().unwrap_or(Path::new("."));
    let pid = std::process::id();
    let mut last = None;
    for _ in 0..TEMP_ATTEMPTS {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.vexed-tmp-{pid}-{n}"));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(source) => {
                return Err(OutFileError::Io {
                    path: path.to_path_buf(),
                    what: "creating a temporary file in its directory",
                    source,
                });
            }
        }
    }
    Err(OutFileError::Io {
        path: path.to_path_buf(),
        what: "every temporary file name is taken",
        source: last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)),
    })
}

/// Makes a rename in `file`'s directory durable.
#[cfg(unix)]
fn sync_dir(file: &Path) -> io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_: &Path) -> io::Result<()> {
    Ok(())
}

/// Checks that an option naming an input file names one that can be read: `-` (standard
/// input) or an existing regular file (after following links).
pub fn check_readable(path: &Path) -> Result<(), OutFileError> {
    if path.as_os_str() == "-" {
        return Ok(());
    }
    check_kind(path, "a file", |m| m.is_file())?;
    // Permissions are checked by opening, which is what reading it will do.
    File::open(path).map_err(|source| OutFileError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(())
}

/// Checks that an option naming a directory (such as `--drive DIR`) names an existing one.
pub fn check_dir(path: &Path) -> Result<(), OutFileError> {
    check_kind(path, "a directory", |m| m.is_dir())
}

fn check_kind(
    path: &Path,
    wanted: &'static str,
    ok: impl Fn(&fs::Metadata) -> bool,
) -> Result<(), OutFileError> {
    let meta = fs::metadata(path).map_err(|source| OutFileError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    if ok(&meta) {
        return Ok(());
    }
    let kind = if meta.is_dir() {
        "a directory"
    } else if meta.is_file() {
        "a file"
    } else {
        "a special file (a device, FIFO or socket)"
    };
    Err(OutFileError::WrongKind {
        path: path.to_path_buf(),
        kind,
        wanted,
    })
}
