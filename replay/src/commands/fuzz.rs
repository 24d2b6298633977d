//! `vexed fuzz`: runs a scenario many times under perturbed input timing (spurious IRQs,
//! keystrokes, DMA completions, timer jitter in the host clock mode) and checks its
//! expectations and the machine invariants; every failing case is saved as a trace that
//! `vexed replay` reproduces (DESIGN.md section 3, the Seeded source).
//!
//! Exit statuses: 0 every case passed; 1 a case failed; 2 bad input.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{load_target, parse_seed};

/// Run a scenario many times under perturbed input timing (spurious IRQs, keystrokes,
/// DMA completions, timer jitter in the host clock mode) and check its expectations
/// and the machine invariants; failing cases are saved as traces. Exit 1 if any failed.
#[derive(clap::Args)]
pub struct Args {
    scenario: PathBuf,
    /// Number of cases.
    #[arg(long, default_value_t = 100)]
    cases: u64,
    /// Seed of the first case (a number or a 40-hex-digit commit hash).
    #[arg(long)]
    seed: Option<String>,
    /// Where failing cases' traces go.
    #[arg(long, default_value = "fuzz-failures")]
    out: PathBuf,
    /// A directory the scenario's drive C: may lie in besides the manifest's own directory
    /// (a manifest's `drive` outside its directory is refused unless named here, so that
    /// no manifest can pull files from elsewhere into a trace).
    #[arg(long)]
    drive: Option<PathBuf>,
}

/// `cases` runs of the scenario under perturbed input schedules; every failing case is
/// saved as a trace that `vexed replay` reproduces. Exit 1 if any failed.
pub fn run(args: Args) -> Result<ExitCode> {
    let (target, cases, out_dir) = (&args.scenario, args.cases, &args.out);
    let (s, manifest) = load_target(target, &[], args.drive.as_deref())?;
    let seed = match &args.seed {
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
