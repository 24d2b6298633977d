//! The trace commands of the `vexed` binary: record, replay, dump, info, timeline and golden.

use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use vexed_emu::machine::ClockMode;
use vexed_replay::scenario::Scenario;
use vexed_replay::session::{self, RecordOptions, Replayed};
use vexed_replay::source::{InputSource, Live, Perturbation, Scripted, Seeded};
use vexed_replay::timeline;
use vexed_trace::{TraceReader, dump, info};

/// Runs `work` with a tick counter; when stderr is a terminal, a progress bar (ticks of
/// `max`) follows the counter until `work` returns.
fn with_progress<T>(max: u64, work: impl FnOnce(Arc<AtomicU64>) -> T) -> T {
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

/// Loads a scenario, or makes one for a program, and the manifest text to embed.
pub fn load_target(target: &Path, args: &[String]) -> Result<(Scenario, String)> {
    let is_scenario = target
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    if is_scenario {
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

/// `vexed record`.
#[allow(clippy::too_many_arguments)]
pub fn record(
    target: &Path,
    args: &[String],
    output: &Path,
    clock: &str,
    seed: Option<&str>,
    max_ticks: Option<u64>,
    checkpoint_interval: u64,
    snapshot_every: Option<u64>,
    verify: bool,
    serial: Option<&Path>,
) -> Result<ExitCode> {
    let (mut s, manifest) = load_target(target, args)?;
    s.machine.clock = match clock {
        "virtual" => ClockMode::Virtual,
        "host" => ClockMode::Host,
        other => bail!("--clock {other}: use virtual or host"),
    };
    if let Some(t) = max_ticks {
        s.max_ticks = t;
    }
    let seed = seed.map(parse_seed).transpose()?;
    let opts = RecordOptions {
        checkpoint_interval,
        snapshot_every,
        seed,
        ..RecordOptions::default()
    };
    let header = session::header(&s, &manifest, &opts)?;
    let file =
        File::create(output).with_context(|| format!("cannot create {}", output.display()))?;
    let serial: Option<Box<dyn std::io::Read + Send>> = match serial {
        None => None,
        Some(_) if s.machine.clock != ClockMode::Host => {
            bail!("--serial feeds COM1 at host speed: it needs --clock host")
        }
        Some(p) if p == Path::new("-") => Some(Box::new(std::io::stdin())),
        Some(p) => Some(Box::new(
            File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        )),
    };
    let mut source = source_with_serial(&s, seed, serial);
    let (out, rec) = with_progress(s.max_ticks, |ticks| {
        let opts = RecordOptions {
            progress: Some(ticks),
            ..opts.clone()
        };
        session::record(
            &header,
            source.as_mut(),
            &opts,
            BufWriter::new(file),
            &mut std::io::stdout().lock(),
        )
    })
    .with_context(|| format!("recording {}", target.display()))?;
    out.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot finish {}", output.display()))?;
    eprintln!(
        "vexed: recorded {} to {}: {}, tick {}, {} inputs, {} observations, {} checkpoints",
        s.name,
        output.display(),
        rec.end,
        rec.final_tick,
        rec.inputs,
        rec.observations,
        rec.checkpoints
    );
    if verify {
        return replay(output, true, false, false);
    }
    Ok(ExitCode::SUCCESS)
}

/// `vexed replay`: 0 identical, 1 diverged, 2 unreadable.
pub fn replay(path: &Path, quiet: bool, json: bool, localize: bool) -> Result<ExitCode> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut sink = std::io::sink();
    let mut stdout = std::io::stdout().lock();
    let console: &mut dyn Write = if quiet || json {
        &mut sink
    } else {
        &mut stdout
    };
    let max = TraceReader::new(bytes.as_slice())
        .map(|r| r.header().max_ticks)
        .unwrap_or(0);
    let result = with_progress(max, |ticks| {
        session::replay_bytes_with_progress(&bytes, console, Some(&ticks))
    })
    .with_context(|| format!("replaying {}", path.display()))?;
    let code = match &result {
        Replayed::Identical {
            final_tick,
            final_hash,
            observations,
            checkpoints,
        } => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"result": "identical", "final_tick": final_tick,
                        "final_hash": format!("{final_hash:016x}"), "observations": observations,
                        "checkpoints": checkpoints})
                );
            } else {
                eprintln!(
                    "vexed: {}: identical: {observations} observations and {checkpoints} checkpoints matched, final tick {final_tick}, state {final_hash:016x}",
                    path.display()
                );
            }
            ExitCode::SUCCESS
        }
        Replayed::PrefixVerified {
            after_tick,
            observations,
            checkpoints,
        } => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"result": "prefix", "truncated_after_tick": after_tick,
                        "observations": observations, "checkpoints": checkpoints})
                );
            } else {
                eprintln!(
                    "vexed: {}: truncated after tick {after_tick}; that prefix replayed identically ({observations} observations, {checkpoints} checkpoints)",
                    path.display()
                );
            }
            ExitCode::SUCCESS
        }
        Replayed::Diverged(d) => {
            let insn = &d.at.text;
            let localized = if localize {
                let started = std::time::Instant::now();
                let l = vexed_replay::localize::localize(&bytes, d, None)
                    .with_context(|| format!("localizing the divergence of {}", path.display()))?;
                Some((l, started.elapsed()))
            } else {
                None
            };
            if json {
                let mut v = serde_json::json!({"result": "diverged", "tick": d.tick,
                    "cs_ip": format!("{:04X}:{:04X}", d.at.cs, d.at.ip), "instruction": insn,
                    "expected": d.expected, "actual": d.actual, "state_diff": d.state_diff});
                if let Some((l, _)) = &localized {
                    v["localized"] = serde_json::to_value(l)?;
                }
                println!("{v}");
            } else {
                eprintln!(
                    "vexed: {}: DIVERGED at tick {}, {:04X}:{:04X} {insn}\n  expected: {}\n  actual:   {}",
                    path.display(),
                    d.tick,
                    d.at.cs,
                    d.at.ip,
                    d.expected,
                    d.actual
                );
                if !d.state_diff.is_empty() {
                    eprintln!("  state differences (recorded -> replayed):");
                    for line in &d.state_diff {
                        eprintln!("    {line}");
                    }
                }
                if let Some((l, took)) = &localized {
                    eprint!("{}", l.text(40));
                    eprintln!("vexed: localized in {:.2} s", took.as_secs_f64());
                }
            }
            ExitCode::from(1)
        }
    };
    Ok(code)
}

/// `vexed dump`.
pub fn dump_trace(path: &Path) -> Result<ExitCode> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = TraceReader::new(BufReader::new(file))
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    dump(&mut reader, &mut out).with_context(|| format!("dumping {}", path.display()))?;
    out.flush().context("cannot write the dump")?;
    Ok(ExitCode::SUCCESS)
}

/// `vexed info`.
pub fn info_trace(path: &Path, json: bool) -> Result<ExitCode> {
    let i = info(path).with_context(|| format!("reading {}", path.display()))?;
    if json {
        println!("{}", serde_json::to_string(&i)?);
    } else {
        print!("{i}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `vexed timeline`: writes the SVG picture of the trace's VM scheduling to `output`.
pub fn timeline(
    path: &Path,
    output: &Path,
    from: Option<u64>,
    to: Option<u64>,
    width: u32,
) -> Result<ExitCode> {
    let opts = timeline::Options { from, to, width };
    opts.check()?;
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata().ok().map(|m| m.len());
    let mut reader = TraceReader::with_file_len(BufReader::new(file), len)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let source = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let svg = timeline::from_reader(&mut reader, &source, &opts)
        .with_context(|| format!("drawing the timeline of {}", path.display()))?;
    std::fs::write(output, svg).with_context(|| format!("cannot write {}", output.display()))?;
    if let Some(tick) = reader.truncated_after() {
        eprintln!(
            "vexed: note: {} is truncated after tick {tick}; the picture ends there",
            path.display()
        );
    }
    eprintln!("vexed: wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}

/// `vexed diff`.
pub fn diff_traces(a: &Path, b: &Path, json: bool, max_lines: usize) -> Result<ExitCode> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    let (ba, bb) = (read(a)?, read(b)?);
    let side = |p: &Path, bytes| vexed_replay::diff::Side {
        name: p.display().to_string(),
        bytes,
        build: None,
    };
    let report = vexed_replay::diff::diff(&side(a, &ba), &side(b, &bb))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text(max_lines));
    }
    Ok(if report.identical() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `vexed seek`.
pub fn seek(path: &Path, tick: u64, dump_state: bool) -> Result<ExitCode> {
    let rec = vexed_replay::recording::Recording::open(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let result = with_progress(tick, |ticks| {
        vexed_replay::seek::seek(&rec, tick, Some(&ticks))
    })
    .with_context(|| format!("seeking in {}", path.display()))?;
    let m = &result.machine;
    let from = match result.from_snapshot {
        Some(t) => format!("from the snapshot at tick {t}"),
        None => "from the start (no snapshot before it)".to_string(),
    };
    if dump_state {
        print!("{}", vexed_replay::seek::describe_state(m)?);
    } else {
        println!(
            "tick {} state {:016x} at {}",
            m.now(),
            m.state_hash()?,
            vexed_replay::diff::Instruction::of(m)
        );
    }
    eprintln!(
        "vexed: {}: tick {tick} reached {from}, {} inputs re-injected",
        path.display(),
        result.inputs
    );
    if let Some(stop) = result.stopped_early {
        eprintln!(
            "vexed: the run ended at tick {} before tick {tick}: {}",
            m.now(),
            vexed_replay::session::stop_text(stop)
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The golden trace of scenario `toml` (corpora/golden/NAME.trace).
pub fn golden_path(golden_dir: &Path, scenario: &Path) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    golden_dir.join(format!("{stem}.trace"))
}

/// `vexed golden update`: re-records every scenario's golden trace and says which changed
/// (their observations or final state; the file bytes also carry the emulator version).
pub fn golden_update(scenarios: &Path, golden: &Path) -> Result<ExitCode> {
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
        let (s, manifest) = load_target(path, &[])?;
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
        std::fs::write(&target, &bytes)
            .with_context(|| format!("cannot write {}", target.display()))?;
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

/// `vexed fuzz`: `cases` runs of the scenario under perturbed input schedules; every
/// failing case is saved as a trace that `vexed replay` reproduces. Exit 1 if any failed.
pub fn fuzz(target: &Path, cases: u64, seed: Option<&str>, out_dir: &Path) -> Result<ExitCode> {
    let (s, manifest) = load_target(target, &[])?;
    let seed = match seed {
        Some(text) => parse_seed(text)?,
        None => 0,
    };
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let horizon = vexed_replay::fuzz::horizon(&s, &manifest)
        .with_context(|| format!("the unperturbed run of {}", target.display()))?;
    let mut failed = 0;
    for i in 0..cases {
        let case_seed = vexed_replay::fuzz::case_seed(seed, i);
        let r = vexed_replay::fuzz::run_case(&s, &manifest, case_seed, horizon)
            .with_context(|| format!("fuzz case {i} (seed {case_seed})"))?;
        if r.failures.is_empty() {
            continue;
        }
        failed += 1;
        let path = out_dir.join(format!("{}-{case_seed:016x}.trace", s.name));
        std::fs::write(&path, &r.trace)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "vexed: case {i} (seed {case_seed}) FAILED; replay it with `vexed replay {}`:",
            path.display()
        );
        for f in &r.failures {
            eprintln!("vexed:   {f}");
        }
    }
    eprintln!(
        "vexed: fuzz {}: {cases} cases from seed {seed}, {failed} failed",
        s.name
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::change_report;
    use vexed_replay::scenario::Scenario;
    use vexed_replay::session::{self, RecordOptions};

    #[test]
    fn a_changed_golden_trace_is_reported_by_its_first_differing_state() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../corpora/scenarios/keywait.toml");
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
