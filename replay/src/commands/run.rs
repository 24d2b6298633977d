//! `vexed run`: runs a DOS program (.COM or .EXE) or a scenario (.toml) on the default PC
//! (386, 16 MiB, BIOS, DOS 5, XMS and EMS in Rust), streaming the console to stdout
//! (DESIGN.md sections 7 and 10).
//!
//! Exit statuses for a program: the program's exit code; 2 if it cannot be started (or
//! bad input); 3 if the guest crashed, hung or hit the tick limit. For a scenario: 0 when
//! every expectation is met, 1 with a diff when one fails, 2 bad input.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use vexed_replay::run::{self, RunEnd};
use vexed_replay::scenario::Scenario;

use super::{is_scenario, parse_model};

/// Run a DOS program (.COM or .EXE) or a scenario (.toml) on the default PC (386, 16 MiB,
/// BIOS, DOS 5, XMS and EMS in Rust).
///
/// A program runs with its directory as drive C:; its console output goes to stdout
/// and vexed exits with the program's exit code (2 if it cannot be started, 3 if the
/// guest crashed, hung or hit the tick limit). A scenario runs its programs and
/// checks its expectations: exit 0 when all are met, 1 with a diff when one fails.
#[derive(clap::Args)]
pub struct Args {
    /// PROGRAM.COM, PROGRAM.EXE or SCENARIO.toml.
    target: PathBuf,
    /// The program's command tail, from its first word on (vexed's own options go before
    /// it).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
    /// Stop after this many ticks (default: the scenario's limit, or 1,500,000,000).
    #[arg(long)]
    max_ticks: Option<u64>,
    /// CPU model: 8086, 286 or 386 (default: the scenario's [machine] cpu, or 386).
    #[arg(long)]
    cpu: Option<String>,
    /// A directory the scenario's drive C: may lie in besides the manifest's own directory
    /// (a manifest's `drive` outside its directory is refused unless named here, so that
    /// no manifest can pull files from elsewhere into a trace).
    #[arg(long)]
    drive: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let target = &args.target;
    let scenario_file = is_scenario(target);
    let mut scenario = if scenario_file {
        if !args.args.is_empty() {
            bail!("a scenario takes no program arguments (they belong in its [[program]] entries)");
        }
        Scenario::load_with(target, args.drive.as_deref())?
    } else {
        if !target.is_file() {
            bail!("{} is not a file", target.display());
        }
        Scenario::for_program(target, &args.args).map_err(anyhow::Error::msg)?
    };
    if let Some(t) = args.max_ticks {
        scenario.max_ticks = t;
    }
    if let Some(cpu) = &args.cpu {
        scenario.machine.model = parse_model(cpu)?;
    }
    let report = run::run(&scenario, &mut std::io::stdout().lock())
        .with_context(|| format!("running {}", target.display()))?;
    for s in &report.skipped {
        eprintln!("vexed: note: not on drive C: {s}");
    }
    let ended = run::describe(&scenario, &report);
    if scenario_file {
        let failures = run::check(&scenario, &report);
        if failures.is_empty() {
            eprintln!(
                "vexed: scenario {}: {ended}; every expectation met",
                scenario.name
            );
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("vexed: scenario {}: {ended}", scenario.name);
        for f in &failures {
            eprintln!("vexed: FAILED: {f}");
        }
        return Ok(ExitCode::from(1));
    }
    Ok(match report.end {
        RunEnd::Finished { exit_code } => ExitCode::from(exit_code),
        RunEnd::ExecFailed { .. } => {
            eprintln!("vexed: {ended}");
            ExitCode::from(2)
        }
        _ => {
            eprintln!("vexed: {ended}");
            ExitCode::from(3)
        }
    })
}
