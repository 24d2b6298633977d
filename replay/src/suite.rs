//! Golden-trace suites: a project's scenarios checked against their golden traces (`vexed
//! test`), in this repository or anyone else's.
//!
//! # Convention
//!
//! A scenario is a manifest `NAME.toml` (corpora/README.md). Its golden trace is
//! `golden/NAME.trace` in the manifest's directory, or else in the directory above it (the
//! layout of vexed's own corpora: `corpora/NAME.toml` with
//! `corpora/golden/NAME.trace`); a new golden goes where the directory `golden/` already
//! exists, beside the manifest otherwise. `vexed test PATH...` takes manifests and
//! directories (each directory's `*.toml`, and those of its `scenarios/` folder); with no
//! path it tests `corpora` if there is one, else the current directory.
//!
//! # What a case checks
//!
//! The scenario is recorded afresh in memory, by this build with the guest files as they
//! are now on disk, and compared with its golden trace: the same inputs, observations and
//! checkpoint hashes, and the same end (final tick and state hash). A difference is a
//! failure whose report is `vexed diff` of the golden (A) against the new run (B): the
//! set-up (which guest files changed), the first differing input and observation, and the
//! first instruction at which the machine states part; and when this build does not replay
//! the golden trace itself (with the files embedded in it), the `replay --localize` report
//! of that divergence, which names the change in vexed rather than in the guest. The
//! scenario's own expectations (exit codes, console text) are checked on the new run as
//! `vexed run` checks them.
//!
//! A scenario paced by the host clock cannot be re-run the same way: its golden is replayed
//! (every observation and checkpoint verified on this build), and its embedded files and
//! manifest are compared with those on disk, so a changed guest asks for `--update`.
//!
//! Cases run in parallel (`jobs`), and a suite can be split into disjoint shards for CI
//! fleets: case i (in name order) belongs to shard `i mod N + 1` of N.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;
use thiserror::Error;
use vexed_emu::machine::ClockMode;

use crate::recording::{Recording, read_trace_file};
use crate::scenario::Scenario;
use crate::session::{self, RecordOptions, Replayed};
use crate::source::Scripted;

/// Why a suite cannot be assembled.
#[derive(Debug, Error)]
pub enum SuiteError {
    #[error("cannot list {path}: {source}")]
    List {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is neither a scenario manifest (.toml) nor a directory")]
    NotAScenario(String),
    #[error("--shard {0}: use K/N with 1 <= K <= N")]
    Shard(String),
}

/// One scenario and where its golden trace is (or would go).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    pub manifest: PathBuf,
    pub golden: PathBuf,
}

/// The golden trace of the manifest at `manifest` (see the module documentation).
pub fn golden_of(manifest: &Path) -> PathBuf {
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let file = format!(
        "{}.trace",
        manifest
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let beside = dir.join("golden");
    let above = dir.parent().map(|p| p.join("golden"));
    match above {
        Some(above) if !beside.is_dir() && above.is_dir() => above.join(file),
        _ => beside.join(file),
    }
}

fn manifests_in(dir: &Path) -> Result<Vec<PathBuf>, SuiteError> {
    let list = |d: &Path| -> Result<Vec<PathBuf>, SuiteError> {
        let entries = std::fs::read_dir(d).map_err(|source| SuiteError::List {
            path: d.display().to_string(),
            source,
        })?;
        Ok(entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
            .collect())
    };
    let mut out = list(dir)?;
    let nested = dir.join("scenarios");
    if nested.is_dir() {
        out.extend(list(&nested)?);
    }
    Ok(out)
}

/// The cases under `paths` (manifests and directories), sorted by name; with no path,
/// `corpora` when it exists, else the current directory.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Case>, SuiteError> {
    let default = if Path::new("corpora").is_dir() {
        PathBuf::from("corpora")
    } else {
        PathBuf::from(".")
    };
    let roots = if paths.is_empty() {
        std::slice::from_ref(&default)
    } else {
        paths
    };
    let mut manifests = Vec::new();
    for p in roots {
        if p.is_dir() {
            manifests.extend(manifests_in(p)?);
        } else if p.extension().is_some_and(|x| x == "toml") {
            manifests.push(p.clone());
        } else {
            return Err(SuiteError::NotAScenario(p.display().to_string()));
        }
    }
    let mut cases: Vec<Case> = manifests
        .into_iter()
        .map(|m| Case {
            name: m
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            golden: golden_of(&m),
            manifest: m,
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name).then(a.manifest.cmp(&b.manifest)));
    cases.dedup_by(|a, b| a.manifest == b.manifest);
    Ok(cases)
}

/// A shard `K/N` of a suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = SuiteError;

    fn from_str(s: &str) -> Result<Shard, SuiteError> {
        let bad = || SuiteError::Shard(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// The cases whose name contains `filter`, and of those the ones in `shard` (case i of the
/// filtered list belongs to shard i mod N + 1).
pub fn select(cases: Vec<Case>, filter: Option<&str>, shard: Option<Shard>) -> Vec<Case> {
    cases
        .into_iter()
        .filter(|c| filter.is_none_or(|f| c.name.contains(f)))
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| i % s.count + 1 == s.index))
        .map(|(_, c)| c)
        .collect()
}

/// How one case came out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verdict {
    /// Same behaviour as the golden trace, every expectation met.
    Passed { ticks: u64 },
    /// Behaviour differs from the golden, or an expectation failed: the report says how.
    Failed { report: String },
    /// The case could not be judged (an unreadable manifest or golden, no golden).
    Error { message: String },
}

/// A case and its verdict.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    pub name: String,
    pub manifest: String,
    pub golden: String,
    pub seconds: f64,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// A fresh recording of `s` by this build, with what the run did.
struct Fresh {
    bytes: Vec<u8>,
    failures: Vec<String>,
    ticks: u64,
}

fn record_fresh(s: &Scenario, manifest: &str, checkpoint_interval: u64) -> Result<Fresh, String> {
    let opts = RecordOptions {
        checkpoint_interval,
        ..RecordOptions::default()
    };
    let mut s = s.clone();
    s.checkpoint_interval = Some(checkpoint_interval);
    let header = session::header(&s, manifest, &opts).map_err(|e| e.to_string())?;
    let mut source = Scripted::new(s.inputs.clone());
    let mut console = Vec::new();
    let (bytes, rec, machine) =
        session::record_machine(&header, &mut source, &opts, Vec::new(), &mut console)
            .map_err(|e| e.to_string())?;
    let report = crate::run::report(
        &machine,
        crate::run::end_of(rec.stop, rec.final_tick, header.max_ticks),
        console,
        Vec::new(),
    );
    Ok(Fresh {
        bytes,
        failures: crate::run::check(&s, &report),
        ticks: rec.final_tick,
    })
}

/// Whether two traces record the same behaviour: inputs, observations, checkpoints and the
/// end (the emulator version and the snapshots may differ).
fn same_behaviour(a: &Recording, b: &Recording) -> bool {
    a.inputs == b.inputs
        && a.observations == b.observations
        && a.checkpoints == b.checkpoints
        && a.footer().map(|f| (f.final_tick, f.final_hash))
            == b.footer().map(|f| (f.final_tick, f.final_hash))
}

/// The `vexed diff` report of the golden (A) against a new recording (B).
fn diff_report(golden: &[u8], fresh: &[u8]) -> String {
    use crate::diff::{Side, diff};
    let side = |name: &str, bytes| Side {
        name: name.to_string(),
        bytes,
        build: None,
    };
    match diff(&side("golden trace", golden), &side("this run", fresh)) {
        Ok(r) => r.text(20),
        Err(e) => format!("the runs cannot be compared: {e}\n"),
    }
}

/// The `replay --localize` text of a golden trace this build does not replay identically
/// (empty when it does).
fn localized_replay(bytes: &[u8]) -> String {
    match session::replay_bytes(bytes, &mut std::io::sink()) {
        Ok(Replayed::Diverged(d)) => {
            let mut out = format!(
                "this build does not replay the golden trace: at tick {}, {}\n  expected: {}\n  actual:   {}\n",
                d.tick, d.at, d.expected, d.actual
            );
            match crate::localize::localize(bytes, &d, None) {
                Ok(l) => out.push_str(&l.text(20)),
                Err(e) => out.push_str(&format!("it cannot be localized: {e}\n")),
            }
            out
        }
        _ => String::new(),
    }
}

/// Judges one case (see the module documentation).
pub fn run_case(case: &Case) -> CaseResult {
    let started = Instant::now();
    let verdict = judge(case);
    CaseResult {
        name: case.name.clone(),
        manifest: case.manifest.display().to_string(),
        golden: case.golden.display().to_string(),
        seconds: started.elapsed().as_secs_f64(),
        verdict,
    }
}

fn judge(case: &Case) -> Verdict {
    let error = |message: String| Verdict::Error { message };
    let s = match Scenario::load_with(&case.manifest, None) {
        Ok(s) => s,
        Err(e) => return error(e.to_string()),
    };
    let manifest = match std::fs::read_to_string(&case.manifest) {
        Ok(t) => t,
        Err(e) => return error(format!("cannot read {}: {e}", case.manifest.display())),
    };
    if !case.golden.exists() {
        return error(format!(
            "no golden trace at {}: record it with `vexed test --update {}`",
            case.golden.display(),
            case.manifest.display()
        ));
    }
    let golden_bytes = match read_trace_file(&case.golden) {
        Ok(b) => b,
        Err(e) => return error(e.to_string()),
    };
    let golden = match Recording::from_bytes(&golden_bytes) {
        Ok(r) => r,
        Err(e) => return error(format!("{}: {e}", case.golden.display())),
    };
    if s.machine.clock == ClockMode::Host {
        return judge_host_paced(&s, &manifest, &golden, &golden_bytes);
    }
    let fresh = match record_fresh(&s, &manifest, golden.header.checkpoint_interval) {
        Ok(f) => f,
        Err(e) => return error(format!("recording {}: {e}", case.manifest.display())),
    };
    let recorded = match Recording::from_bytes(&fresh.bytes) {
        Ok(r) => r,
        Err(e) => return error(format!("the new recording cannot be read: {e}")),
    };
    let mut report = String::new();
    if !same_behaviour(&golden, &recorded) {
        report.push_str(&format!(
            "behaviour differs from the golden trace {}:\n",
            case.golden.display()
        ));
        report.push_str(&diff_report(&golden_bytes, &fresh.bytes));
        // When this build no longer reproduces the golden trace itself (its own embedded
        // files), the change is in vexed, not in the guest: say where, as
        // `vexed replay --localize` does.
        report.push_str(&localized_replay(&golden_bytes));
    }
    for f in &fresh.failures {
        report.push_str(&format!("FAILED expectation: {f}\n"));
    }
    if report.is_empty() {
        Verdict::Passed { ticks: fresh.ticks }
    } else {
        Verdict::Failed { report }
    }
}

/// A host-paced scenario: replay its golden on this build and compare its set-up with the
/// files on disk.
fn judge_host_paced(s: &Scenario, manifest: &str, golden: &Recording, bytes: &[u8]) -> Verdict {
    let mut report = String::new();
    if golden.header.scenario != manifest {
        report.push_str("the manifest changed since the golden trace was recorded\n");
    }
    match session::header(s, manifest, &RecordOptions::default()) {
        Ok(now) if now.files != golden.header.files || now.dirs != golden.header.dirs => {
            report.push_str(
                "drive C: changed since the golden trace was recorded (a host-paced run cannot \
                 be re-run the same way: re-record it with --update)\n",
            );
        }
        Ok(_) => {}
        Err(e) => {
            return Verdict::Error {
                message: e.to_string(),
            };
        }
    }
    match session::replay_bytes(bytes, &mut std::io::sink()) {
        Ok(Replayed::Identical { final_tick, .. }) if report.is_empty() => {
            return Verdict::Passed { ticks: final_tick };
        }
        Ok(Replayed::Identical { .. }) => {}
        Ok(Replayed::PrefixVerified { after_tick, .. }) => report.push_str(&format!(
            "the golden trace is unfinished (cut after tick {after_tick}): re-record it\n"
        )),
        Ok(Replayed::Diverged(_)) => report.push_str(&localized_replay(bytes)),
        Err(e) => {
            return Verdict::Error {
                message: e.to_string(),
            };
        }
    }
    Verdict::Failed { report }
}

/// What `--update` did to one golden trace.
#[derive(Clone, Debug, Serialize)]
pub struct Updated {
    pub name: String,
    pub golden: String,
    /// `new`, `unchanged` or `changed`.
    pub state: &'static str,
    /// For a changed trace: the `vexed diff` report of the old golden against the new one.
    pub report: String,
}

/// Re-records the golden trace of `case` (with the scenario's own inputs and the default
/// checkpoint spacing) and writes it when it is new or its behaviour changed; an unchanged
/// golden is left as it is. The file is replaced only once the new trace is complete.
pub fn update_case(case: &Case) -> Result<Updated, String> {
    let s = Scenario::load_with(&case.manifest, None).map_err(|e| e.to_string())?;
    let manifest = std::fs::read_to_string(&case.manifest)
        .map_err(|e| format!("cannot read {}: {e}", case.manifest.display()))?;
    let old = read_trace_file(&case.golden).ok();
    let interval = s
        .checkpoint_interval
        .unwrap_or(session::DEFAULT_CHECKPOINT_INTERVAL);
    let fresh = record_fresh(&s, &manifest, interval)?;
    let new = Recording::from_bytes(&fresh.bytes).map_err(|e| e.to_string())?;
    let (state, report) = match old.as_deref().map(|b| (b, Recording::from_bytes(b))) {
        None => ("new", String::new()),
        Some((_, Ok(o))) if same_behaviour(&o, &new) && o.header.files == new.header.files => {
            ("unchanged", String::new())
        }
        Some((bytes, Ok(_))) => ("changed", diff_report(bytes, &fresh.bytes)),
        Some((_, Err(e))) => (
            "changed",
            format!("the old golden trace was unreadable: {e}\n"),
        ),
    };
    if state != "unchanged" {
        write_atomically(&case.golden, &fresh.bytes)?;
    }
    Ok(Updated {
        name: case.name.clone(),
        golden: case.golden.display().to_string(),
        state,
        report,
    })
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`, so a
/// failure leaves the old file as it was.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.vexed-tmp-{}", std::process::id()));
    let written = std::fs::File::create_new(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    Ok(())
}

/// Runs `cases` on `jobs` threads; results in the order of `cases`. `each` is called as
/// each case finishes (for progress lines).
pub fn run_all(
    cases: &[Case],
    jobs: usize,
    each: &(dyn Fn(&CaseResult) + Sync),
) -> Vec<CaseResult> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CaseResult>>> = Mutex::new(vec![None; cases.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, cases.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let r = run_case(case);
                    each(&r);
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// Counts of a suite's results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
}

pub fn totals(results: &[CaseResult]) -> Totals {
    let mut t = Totals::default();
    for r in results {
        match r.verdict {
            Verdict::Passed { .. } => t.passed += 1,
            Verdict::Failed { .. } => t.failed += 1,
            Verdict::Error { .. } => t.errors += 1,
        }
    }
    t
}

/// One line per case (and its report, indented, when it failed), then the summary line
/// `N passed, N failed` (errors count as failed there, and are also named).
pub fn human(results: &[CaseResult]) -> String {
    let mut out = String::new();
    for r in results {
        match &r.verdict {
            Verdict::Passed { ticks } => out.push_str(&format!(
                "PASS  {} ({ticks} ticks, {:.2} s)\n",
                r.name, r.seconds
            )),
            Verdict::Failed { report } => {
                out.push_str(&format!("FAIL  {}\n", r.name));
                for line in report.lines() {
                    out.push_str(&format!("      {line}\n"));
                }
            }
            Verdict::Error { message } => {
                out.push_str(&format!("ERROR {}: {message}\n", r.name));
            }
        }
    }
    let t = totals(results);
    out.push_str(&format!(
        "{} passed, {} failed\n",
        t.passed,
        t.failed + t.errors
    ));
    out
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 allows tab, newline and carriage return among the control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML, as CI services read it: one `<testcase>` per scenario.
pub fn junit(results: &[CaseResult]) -> String {
    let t = totals(results);
    let time: f64 = results.iter().map(|r| r.seconds).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"vexed\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{time:.3}\">\n",
        results.len(),
        t.failed,
        t.errors
    ));
    out.push_str(&format!(
        "  <testsuite name=\"vexed golden traces\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{time:.3}\">\n",
        results.len(),
        t.failed,
        t.errors
    ));
    for r in results {
        out.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"vexed.{}\" file=\"{}\" time=\"{:.3}\"",
            xml_escape(&r.name),
            xml_escape(&r.name),
            xml_escape(&r.manifest),
            r.seconds
        ));
        match &r.verdict {
            Verdict::Passed { .. } => out.push_str("/>\n"),
            Verdict::Failed { report } => {
                let first = report.lines().next().unwrap_or("failed");
                out.push_str(&format!(
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                    xml_escape(first),
                    xml_escape(report)
                ));
            }
            Verdict::Error { message } => out.push_str(&format!(
                ">\n      <error message=\"{}\">{}</error>\n    </testcase>\n",
                xml_escape(message),
                xml_escape(message)
            )),
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str) -> Case {
        Case {
            name: name.into(),
            manifest: PathBuf::from(format!("{name}.toml")),
            golden: PathBuf::from(format!("golden/{name}.trace")),
        }
    }

    #[test]
    fn shards_are_disjoint_and_cover_every_case() {
        let all: Vec<Case> = (0..17).map(|i| case(&format!("s{i:02}"))).collect();
        for n in 1..=5 {
            let mut seen: Vec<Case> = Vec::new();
            for k in 1..=n {
                let part = select(all.clone(), None, Some(Shard { index: k, count: n }));
                assert!(
                    part.iter().all(|c| !seen.contains(c)),
                    "shard {k}/{n} repeats"
                );
                seen.extend(part);
            }
            seen.sort_by(|a, b| a.name.cmp(&b.name));
            assert_eq!(seen, all, "{n} shards");
        }
        assert!("0/2".parse::<Shard>().is_err());
        assert!("3/2".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        assert_eq!(
            "2/3".parse::<Shard>().ok(),
            Some(Shard { index: 2, count: 3 })
        );
    }

    #[test]
    fn junit_escapes_what_xml_reserves() {
        let r = CaseResult {
            name: "a<b".into(),
            manifest: "a&b.toml".into(),
            golden: String::new(),
            seconds: 0.5,
            verdict: Verdict::Failed {
                report: "expected \"x\" <y>\u{1}".into(),
            },
        };
        let x = junit(&[r]);
        assert!(x.contains("name=\"a&lt;b\""), "{x}");
        assert!(x.contains("file=\"a&amp;b.toml\""), "{x}");
        assert!(x.contains("expected &quot;x&quot; &lt;y&gt;\\x01"), "{x}");
        assert!(x.contains("failures=\"1\""), "{x}");
    }

    #[test]
    fn the_summary_line_counts_errors_as_failures() {
        let mk = |v| CaseResult {
            name: "n".into(),
            manifest: String::new(),
            golden: String::new(),
            seconds: 0.0,
            verdict: v,
        };
        let text = human(&[
            mk(Verdict::Passed { ticks: 1 }),
            mk(Verdict::Error {
                message: "m".into(),
            }),
        ]);
        assert!(text.ends_with("1 passed, 1 failed\n"), "{text}");
    }
}
