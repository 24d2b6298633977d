//! `vexed fuzz`: explores the interrupt timing of a scenario (DESIGN.md section 3, the
//! Seeded source; `replay/src/explore.rs` says how schedules are drawn, targeted and
//! shrunk): each case runs the scenario under a perturbed input schedule and checks its
//! expectations and the machine invariants. Every distinct failure is shrunk to a minimal
//! schedule, printed in words and saved as a trace that `vexed replay` reproduces.
//!
//! Exit statuses: 0 every case passed; 1 a case failed; 2 bad input.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use vexed_replay::explore::{self, Strategy};
use vexed_replay::suite::Shard;

use super::{OutputFile, load_target, parse_seed};

/// Explore a scenario's interrupt timing: run it many times under perturbed input
/// schedules (spurious IRQs, keystrokes, DMA completions, timer jitter in the host clock
/// mode), placed uniformly or at the interesting points of its unperturbed run (calls into
/// XMS/EMS/Int 2Fh, critical sections, VM switches), and check its expectations and the
/// machine invariants. Each distinct failure is shrunk to a minimal schedule, printed in
/// words and saved as a trace. Exit 1 if any case failed.
#[derive(clap::Args)]
pub struct Args {
    scenario: PathBuf,
    /// Number of cases (case numbers 0..N; see --seeds).
    #[arg(long, default_value_t = 100)]
    cases: u64,
    /// Case numbers A..B (B excluded) instead of 0..--cases: disjoint ranges explore
    /// disjoint parts of one campaign.
    #[arg(long, value_name = "A..B")]
    seeds: Option<String>,
    /// Only shard K of N of the case numbers (case i runs in shard i mod N + 1).
    #[arg(long)]
    shard: Option<Shard>,
    /// The campaign's seed (a number or a 40-hex-digit commit hash); each case's schedule
    /// follows from it and the case number.
    #[arg(long)]
    seed: Option<String>,
    /// Where perturbations go: uniform (anywhere in the run), targeted (near the
    /// interesting points of the unperturbed run) or mixed (alternating).
    #[arg(long, value_enum, default_value_t = StrategyArg::Mixed)]
    strategy: StrategyArg,
    /// Stop starting cases after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    time_budget: Option<u64>,
    /// Stop at the first failing case (after shrinking it).
    #[arg(long)]
    stop_at_first: bool,
    /// Save failing cases as they were found, without shrinking them.
    #[arg(long)]
    no_shrink: bool,
    /// At most this many re-runs to shrink one failure.
    #[arg(long, default_value_t = 400)]
    shrink_runs: u64,
    /// Where failing cases' traces go.
    #[arg(long, default_value = "fuzz-failures")]
    out: PathBuf,
    /// A directory the scenario's drive C: may lie in besides the manifest's own directory
    /// (a manifest's `drive` outside its directory is refused unless named here, so that
    /// no manifest can pull files from elsewhere into a trace).
    #[arg(long)]
    drive: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StrategyArg {
    Uniform,
    Targeted,
    Mixed,
}

/// Parses `A..B`.
fn parse_range(text: &str) -> Result<std::ops::Range<u64>> {
    let (a, b) = text
        .split_once("..")
        .with_context(|| format!("--seeds {text}: use A..B"))?;
    let (a, b): (u64, u64) = (
        a.trim()
            .parse()
            .with_context(|| format!("--seeds {text}"))?,
        b.trim()
            .parse()
            .with_context(|| format!("--seeds {text}"))?,
    );
    if a >= b {
        bail!("--seeds {text}: the range is empty");
    }
    Ok(a..b)
}

pub fn run(args: Args) -> Result<ExitCode> {
    let target = &args.scenario;
    let (s, manifest) = load_target(target, &[], args.drive.as_deref())?;
    let seed = match &args.seed {
        Some(text) => parse_seed(text)?,
        None => 0,
    };
    let range = match &args.seeds {
        Some(text) => parse_range(text)?,
        None => 0..args.cases,
    };
    let strategy = match args.strategy {
        StrategyArg::Uniform => Strategy::Uniform,
        StrategyArg::Targeted => Strategy::Targeted,
        StrategyArg::Mixed => Strategy::Mixed,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let base = explore::baseline(&s, &manifest)
        .with_context(|| format!("the unperturbed run of {}", target.display()))?;
    let started = Instant::now();
    let budget = args.time_budget.map(Duration::from_secs);
    let (mut ran, mut failed, mut first) = (0u64, 0u64, None);
    let mut seen: Vec<String> = Vec::new();
    for i in range.clone() {
        if args
            .shard
            .is_some_and(|sh| (i % sh.count as u64) as usize + 1 != sh.index)
        {
            continue;
        }
        if budget.is_some_and(|b| started.elapsed() >= b) {
            eprintln!("vexed: the time budget is spent; stopping before case {i}");
            break;
        }
        ran += 1;
        let case_seed = vexed_replay::fuzz::case_seed(seed, i);
        let schedule = explore::schedule(&s, case_seed, strategy.targets(i), &base);
        let r = vexed_replay::fuzz::run_schedule(&s, &manifest, schedule.inputs(), Some(case_seed))
            .with_context(|| format!("fuzz case {i} (seed {case_seed})"))?;
        if r.failures.is_empty() {
            continue;
        }
        failed += 1;
        first.get_or_insert(i);
        let key = explore::failure_key(&r.failures);
        if seen.contains(&key) {
            eprintln!("vexed: case {i} failed the same way as an earlier case");
            continue;
        }
        seen.push(key);
        let kind = if strategy.targets(i) {
            "targeted"
        } else {
            "uniform"
        };
        eprintln!(
            "vexed: case {i} ({kind}, seed {case_seed}) FAILED with {} perturbations:",
            schedule.perturbations.len()
        );
        for f in &r.failures {
            eprintln!("vexed:   {f}");
        }
        let (minimal, trace, note) = if args.no_shrink {
            (schedule, r.trace, String::new())
        } else {
            let shrunk =
                explore::shrink(&s, &manifest, &schedule, r, base.horizon, args.shrink_runs)
                    .with_context(|| format!("shrinking case {i}"))?;
            let note = format!(" (shrunk in {} runs)", shrunk.runs);
            (shrunk.schedule, shrunk.case.trace, note)
        };
        let path = args.out.join(format!("{}-case{i}.trace", s.name));
        let mut out = OutputFile::create(&path, &[target.as_path()])?;
        out.write_all(&trace)
            .with_context(|| format!("cannot write {}", path.display()))?;
        out.commit()?;
        eprintln!(
            "vexed: minimal schedule{note}, {} perturbations:",
            minimal.perturbations.len()
        );
        for line in explore::describe(&s, &minimal).lines() {
            eprintln!("vexed:   {line}");
        }
        eprintln!("vexed: replay it with `vexed replay {}`", path.display());
        if args.stop_at_first {
            break;
        }
    }
    let firsts = first.map_or("none failed".to_string(), |i| {
        format!("first failure at case {i}")
    });
    eprintln!(
        "vexed: fuzz {}: {ran} cases ({} of {}..{}, seed {seed}), {failed} failed, {} distinct failures; {firsts}",
        s.name,
        match strategy {
            Strategy::Uniform => "uniform",
            Strategy::Targeted => "targeted",
            Strategy::Mixed => "mixed",
        },
        range.start,
        range.end,
        seen.len()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
