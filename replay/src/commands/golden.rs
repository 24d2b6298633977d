//! `vexed golden update`: re-records `corpora/golden/NAME.trace` for every
//! `corpora/NAME.toml` and says which changed, with the `vexed diff` report of
//! each change (DESIGN.md section 5; the insta snapshots beside them are
//! `tests/tests/golden.rs`).
//!
//! Exit statuses: 0 every golden trace written; 2 bad input (an unreadable scenario
//! directory or scenario, an unwritable golden directory).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use vexed_replay::session::{self, RecordOptions, Replayed};

use super::{OutputFile, load_target, source_for};

/// Golden traces of the bundled scenarios.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Re-record corpora/golden/NAME.trace for every corpora/NAME.toml and say
    /// which changed.
    Update {
        #[arg(long, default_value = "corpora")]
        scenarios: PathBuf,
        #[arg(long, default_value = "corpora/golden")]
        golden: PathBuf,
    },
}

pub fn run(args: Args) -> Result<ExitCode> {
    match args.action {
        Action::Update { scenarios, golden } => update(&scenarios, &golden),
    }
}

/// The golden trace of scenario `toml` (corpora/golden/NAME.trace).
fn golden_path(golden_dir: &Path, scenario: &Path) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    golden_dir.join(format!("{stem}.trace"))
}

/// Re-records every scenario's golden trace and says which changed (their observations or
/// final state; the file bytes also carry the emulator version).
fn update(scenarios: &Path, golden: &Path) -> Result<ExitCode> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(scenarios)
        .with_context(|| format!("cannot list {}", scenarios.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    std::fs::create_dir_all(golden)
        .with_context(|| format!("cannot create {}", golden.display()))?;
    let progress = std::io::stderr().is_terminal();
    let mut changed = 0;
    for path in &paths {
        let target = golden_path(golden, path);
        let old_bytes = std::fs::read(&target).ok();
        let before = old_bytes
            .as_deref()
            .and_then(|b| session::summary_of(b).ok());
        let (s, manifest) = load_target(path, &[], None)?;
        let opts = RecordOptions::default();
        let header = session::header(&s, &manifest, &opts)?;
        let mut source = source_for(&s, None);
        let (bytes, rec) = session::record(
            &header,
            source.as_mut(),
            &opts,
            Vec::new(),
            &mut std::io::sink(),
        )
        .with_context(|| format!("recording {}", path.display()))?;
        let mut out = OutputFile::create(&target, &[path])?;
        out.write_all(&bytes)
            .with_context(|| format!("cannot write {}", target.display()))?;
        out.commit()?;
        let after = session::summary_of(&bytes).ok();
        let state = match (&before, &after) {
            (None, _) => "new",
            (Some(b), Some(a)) if b == a => "unchanged",
            (Some(_), _) => {
                changed += 1;
                "CHANGED"
            }
        };
        if progress || state != "unchanged" {
            eprintln!(
                "{state:>9}  {} ({}, tick {})",
                target.display(),
                rec.end,
                rec.final_tick
            );
        }
        if let (Some(old), "CHANGED") = (&old_bytes, state) {
            for line in change_report(old, &bytes).lines() {
                eprintln!("           {line}");
            }
        }
    }
    eprintln!(
        "vexed: {} golden traces written, {changed} changed; review with `cargo insta review` and `git diff --stat corpora/golden`",
        paths.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// What changed between an old golden trace and its new recording: the `vexed diff`
/// report (old = A, new = B) and, when this build no longer reproduces the old trace, the
/// localized divergence of its replay.
fn change_report(old: &[u8], new: &[u8]) -> String {
    use vexed_replay::diff::{Side, diff};
    let side = |name: &str, bytes| Side {
        name: name.to_string(),
        bytes,
        build: None,
    };
    let mut out = match diff(&side("old golden trace", old), &side("new recording", new)) {
        Ok(r) => r.text(20),
        Err(e) => format!("the traces cannot be compared: {e}\n"),
    };
    if let Ok(Replayed::Diverged(d)) = session::replay_bytes(old, &mut std::io::sink()) {
        out.push_str(&format!(
            "the old trace does not replay on this build: at tick {}, expected {}, got {}\n",
            d.tick, d.expected, d.actual
        ));
        match vexed_replay::localize::localize(old, &d, None) {
            Ok(l) => out.push_str(&l.text(20)),
            Err(e) => out.push_str(&format!("it cannot be localized: {e}\n")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::change_report;
    use vexed_replay::scenario::Scenario;
    use vexed_replay::session::{self, RecordOptions};

    #[test]
    fn a_changed_golden_trace_is_reported_by_its_first_differing_state() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora/keywait.toml");
        let text = std::fs::read_to_string(&path).expect("scenario text");
        let s = Scenario::load(&path).expect("scenario");
        let opts = RecordOptions::default();
        let header = session::header(&s, &text, &opts).expect("header");
        let record = |inputs| session::record_scripted(&header, inputs, &opts).expect("record");
        // keywait.toml types Esc at 1,500 ms = tick 37,500,000; the new run types it later.
        let old = record(s.inputs.clone());
        let late = s
            .inputs
            .iter()
            .map(|&(t, i)| (if t == 37_500_000 { t + 1_000 } else { t }, i))
            .collect();
        let report = change_report(&old, &record(late));
        assert!(
            report.contains("first differing input: tick 37500000"),
            "{report}"
        );
        assert!(report.contains("first state difference:"), "{report}");
        assert!(report.contains("  tick 37500000: "), "{report}");
        // Both traces replay on this build: no localization.
        assert!(!report.contains("does not replay"), "{report}");
    }
}
