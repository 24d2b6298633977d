//! The fuzz targets' bodies (`vexed_tests::fuzzing`, issue 14 item 9) on the stable
//! compiler, without libFuzzer: every file of the committed regression corpus
//! (`fuzz/regressions/<target>/`: inputs that once crashed, hung or broke an invariant) must
//! now pass, and so must the seeds the campaigns start from (the golden traces, the format
//! test traces and the bundled scenarios), which are also checked to be accepted. Findings
//! not fixed yet wait in `fuzz/findings/<target>/` (see fuzz/README.md): an ignored test
//! runs them; whoever fixes one moves it to `fuzz/regressions/<target>/`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use vexed_tests::fuzzing;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files of `dir` ending in `ext` (any, if empty), sorted; none if `dir` does not exist.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| ext.is_empty() || p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    out
}

/// Runs `body` on every file, and fails naming every file on which it panicked.
fn run_all(paths: &[PathBuf], body: impl Fn(&[u8])) {
    let mut failed = Vec::new();
    for path in paths {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        if catch_unwind(AssertUnwindSafe(|| body(&bytes))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(failed.is_empty(), "failing inputs: {failed:#?}");
}

fn regressions(target: &str) -> Vec<PathBuf> {
    files(&repo().join("fuzz/regressions").join(target), "")
}

#[test]
fn trace_reader_regressions_pass() {
    run_all(&regressions("trace_reader"), fuzzing::trace_file);
}

#[test]
fn scenario_manifest_regressions_pass() {
    run_all(
        &regressions("scenario_manifest"),
        fuzzing::scenario_manifest,
    );
}

#[test]
fn dos_calls_regressions_pass() {
    run_all(&regressions("dos_calls"), fuzzing::dos_calls);
}

#[test]
#[ignore = "open fuzz findings (fuzz/findings/): fixed ones move to fuzz/regressions/"]
fn open_findings_pass() {
    let findings = repo().join("fuzz/findings");
    run_all(
        &files(&findings.join("trace_reader"), ""),
        fuzzing::trace_file,
    );
    run_all(
        &files(&findings.join("scenario_manifest"), ""),
        fuzzing::scenario_manifest,
    );
    run_all(&files(&findings.join("dos_calls"), ""), fuzzing::dos_calls);
}

#[test]
fn trace_seeds_are_valid_complete_traces_and_pass() {
    let mut seeds = files(&repo().join("corpora/golden"), "trace");
    seeds.extend(files(&repo().join("trace/tests/data"), "trace"));
    assert!(seeds.len() >= 3, "seed traces missing: {seeds:?}");
    for path in &seeds {
        let bytes = std::fs::read(path).unwrap_or_default();
        match fuzzing::read_trace(&bytes) {
            Ok(read) => assert!(read.complete, "{}: no footer", path.display()),
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    run_all(&seeds, fuzzing::trace_file);
}

#[test]
fn a_trace_cut_anywhere_passes() {
    // Every prefix of a small seed: the reader meets the end of the file in the header,
    // in each frame and in the footer.
    let bytes = std::fs::read(repo().join("corpora/golden/hma.trace")).unwrap_or_default();
    assert!(!bytes.is_empty(), "corpora/golden/hma.trace missing");
    for cut in 0..bytes.len() {
        fuzzing::trace_file(&bytes[..cut]);
    }
}

#[test]
fn scenario_seeds_parse_and_pass() {
    let seeds = files(&repo().join("corpora"), "toml");
    assert!(seeds.len() >= 3, "bundled scenarios missing: {seeds:?}");
    for path in &seeds {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Err(e) = vexed_replay::scenario::Scenario::parse(&text, Path::new("/"), "s".into()) {
            panic!("{}: {e}", path.display());
        }
    }
    run_all(&seeds, fuzzing::scenario_manifest);
}
