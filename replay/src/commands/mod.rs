//! The verbs of the `vexed` command line, one module each (issue 14, item 1), and what
//! several of them share: the progress bar, loading a program or scenario, parsing seeds
//! and CPU models, choosing a recording's input source, and writing output files only
//! when complete and never over an input (DESIGN.md sections 5 and 10).
//!
//! Each verb module holds its clap `Args` (whose doc comments are its `--help`) and
//! `run(Args) -> anyhow::Result<ExitCode>`; its `//!` header says what the verb does and
//! its exit statuses.

pub mod bench_cpu;
pub mod boot;
pub mod conformance;
pub mod diff;
pub mod dump;
pub mod fuzz;
pub mod golden;
pub mod info;
pub mod init;
pub mod record;
pub mod replay;
pub mod run;
pub mod seek;
pub mod test;
pub mod timeline;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use vexed_emu::cpu::Model;
use vexed_emu::machine::ClockMode;
use vexed_replay::scenario::Scenario;
use vexed_replay::source::{InputSource, Live, Perturbation, Scripted, Seeded};

/// Runs `work` with a tick counter; when stderr is a terminal, a progress bar (ticks of
/// `max`) follows the counter until `work` returns.
pub fn with_progress<T>(max: u64, work: impl FnOnce(Arc<AtomicU64>) -> T) -> T {
    let ticks = Arc::new(AtomicU64::new(0));
    if !std::io::stderr().is_terminal() {
        return work(ticks);
    }
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let bar = ProgressBar::new(max);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} ticks ({per_sec}, {eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let (t, d) = (&ticks, &done);
        scope.spawn(move || {
            while !d.load(Ordering::Relaxed) {
                bar.set_position(t.load(Ordering::Relaxed));
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        let result = work(Arc::clone(&ticks));
        done.store(true, Ordering::Relaxed);
        result
    })
}

/// Whether `target` names a scenario (`*.toml`) rather than a program.
pub fn is_scenario(target: &Path) -> bool {
    target
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// Loads a scenario, or makes one for a program, and the manifest text to embed.
pub fn load_target(target: &Path, args: &[String]) -> Result<(Scenario, String)> {
    if is_scenario(target) {
        if !args.is_empty() {
            bail!("a scenario takes no program arguments (they belong in its [[program]] entries)");
        }
        let text = std::fs::read_to_string(target)
            .with_context(|| format!("cannot read {}", target.display()))?;
        Ok((Scenario::load(target)?, text))
    } else {
        if !target.is_file() {
            bail!("{} is not a file", target.display());
        }
        let s = Scenario::for_program(target, args).map_err(anyhow::Error::msg)?;
        Ok((s, String::new()))
    }
}

/// Parses a CPU model name.
pub fn parse_model(s: &str) -> Result<Model> {
    Model::from_name(s)
        .with_context(|| format!("unknown CPU model {s:?}: expected 8086, 286 or 386"))
}

/// Parses a seed: a decimal number, or a 40-hex-digit commit hash (its first 16 digits).
pub fn parse_seed(s: &str) -> Result<u64> {
    if s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return u64::from_str_radix(&s[..16], 16).context("seed");
    }
    s.parse()
        .with_context(|| format!("seed {s:?}: use a number or a 40-hex-digit commit hash"))
}

/// The input source for a recording.
pub fn source_for(s: &Scenario, seed: Option<u64>) -> Box<dyn InputSource> {
    source_with_serial(s, seed, None)
}

/// The input source for a recording, with COM1 fed from the host in the host clock mode.
pub fn source_with_serial(
    s: &Scenario,
    seed: Option<u64>,
    serial: Option<Box<dyn std::io::Read + Send>>,
) -> Box<dyn InputSource> {
    match (s.machine.clock, seed) {
        (ClockMode::Host, _) => {
            let live = Live::new(Scripted::new(s.inputs.clone()));
            Box::new(match serial {
                Some(input) => live.with_serial(input),
                None => live,
            })
        }
        (ClockMode::Virtual, Some(seed)) => Box::new(Seeded::new(
            seed,
            &s.inputs,
            Perturbation {
                max_delay: s.machine.rate.ticks_per_second() / 100,
                spurious_irqs: 8,
                horizon: s.max_ticks.min(20_000_000),
            },
        )),
        (ClockMode::Virtual, None) => Box::new(Scripted::new(s.inputs.clone())),
    }
}

/// An output file that appears at its path only when complete: the data goes to a
/// temporary file in the same directory, [`OutputFile::commit`] renames it into place, and
/// dropping it uncommitted removes the temporary file, leaving whatever was at the path
/// untouched. The same shape as the shared `replay/src/outfile.rs` being written for the
/// library, so that one can replace this one.
pub struct OutputFile {
    path: PathBuf,
    temp: PathBuf,
    file: Option<std::fs::File>,
}

impl OutputFile {
    /// Creates the temporary file for `path`, after checking that `path` is none of
    /// `inputs` (by canonical path, or the same device and inode: a symbolic or hard link).
    pub fn create(path: &Path, inputs: &[&Path]) -> Result<OutputFile> {
        for input in inputs {
            if same_file(path, input) {
                bail!(
                    "{} is also an input ({}): refusing to overwrite it",
                    path.display(),
                    input.display()
                );
            }
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .with_context(|| format!("{} does not name a file", path.display()))?
            .to_string_lossy();
        let mut n = 0u32;
        loop {
            let temp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
            {
                Ok(file) => {
                    return Ok(OutputFile {
                        path: path.to_path_buf(),
                        temp,
                        file: Some(file),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!(
                            "cannot create {} (its temporary file {})",
                            path.display(),
                            temp.display()
                        )
                    });
                }
            }
        }
    }

    /// Flushes the data to the disk and renames the temporary file to the path.
    pub fn commit(mut self) -> Result<()> {
        let file = self.file.take();
        if let Some(f) = file {
            f.sync_all()
                .with_context(|| format!("cannot write {}", self.temp.display()))?;
        }
        std::fs::rename(&self.temp, &self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        // Renamed: nothing left for Drop to remove.
        self.temp = PathBuf::new();
        Ok(())
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("the output file is closed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        self.file = None;
        if !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Whether `a` and `b` name the same existing file: the same canonical path, or (Unix)
/// the same device and inode, as a hard link has.
fn same_file(a: &Path, b: &Path) -> bool {
    if let (Ok(ca), Ok(cb)) = (a.canonicalize(), b.canonicalize())
        && ca == cb
    {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return ma.dev() == mb.dev() && ma.ino() == mb.ino();
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{OutputFile, same_file};
    use std::io::Write;
    use std::path::PathBuf;

    /// A fresh directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vexed-outfile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    }

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn the_output_appears_only_on_commit() {
        let dir = scratch("commit");
        let path = dir.join("out.trace");
        std::fs::write(&path, b"old").expect("write");
        let mut out = OutputFile::create(&path, &[]).expect("create");
        out.write_all(b"new").expect("write");
        // Written but not committed: the old file is still there, beside the temporary one.
        assert_eq!(std::fs::read(&path).expect("read"), b"old");
        assert_eq!(names(&dir).len(), 2);
        out.commit().expect("commit");
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
        assert_eq!(names(&dir), ["out.trace"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_dropped_output_leaves_the_old_file_and_no_temporary_file() {
        let dir = scratch("drop");
        let path = dir.join("out.svg");
        std::fs::write(&path, b"old").expect("write");
        let mut out = OutputFile::create(&path, &[]).expect("create");
        out.write_all(b"half").expect("write");
        drop(out);
        assert_eq!(std::fs::read(&path).expect("read"), b"old");
        assert_eq!(names(&dir), ["out.svg"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_output_that_is_an_input_is_refused() {
        let dir = scratch("same");
        let input = dir.join("in.toml");
        std::fs::write(&input, b"input").expect("write");
        let hard = dir.join("hard.toml");
        std::fs::hard_link(&input, &hard).expect("hard link");
        let dotted = dir.join(".").join("in.toml");
        assert!(same_file(&dotted, &input));
        assert!(same_file(&hard, &input));
        assert!(!same_file(&dir.join("other"), &input));
        for path in [&input, &dotted, &hard] {
            let e = OutputFile::create(path, &[&input]).err().expect("refused");
            assert!(e.to_string().contains("is also an input"), "{e}");
        }
        assert_eq!(std::fs::read(&input).expect("read"), b"input");
        assert_eq!(names(&dir), ["hard.toml", "in.toml"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
