//! `vexed test`: a project's scenarios against their golden traces (`replay/src/suite.rs`
//! says how scenarios and goldens are found and what a case checks).
//!
//! Exit statuses: 0 every case passed; 1 a case failed (its behaviour differs from its
//! golden trace, or an expectation failed); 2 a case could not be judged (an unreadable
//! manifest or golden trace, a missing golden) or bad options. With `--update`: 0 when
//! every golden was written or found unchanged, 2 when one could not be.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::ValueEnum;
use vexed_replay::suite::{self, Shard};

/// Check scenarios against their golden traces: each scenario is recorded afresh (this
/// build, the guest files as they are now) and must behave as its golden trace recorded;
/// a difference is reported as `vexed diff` of the golden against the new run.
///
/// A scenario NAME.toml's golden trace is golden/NAME.trace beside it, or in the
/// directory above (corpora/NAME.toml, corpora/golden/NAME.trace). With no
/// PATH: corpora if it exists, else the current directory.
#[derive(clap::Args)]
pub struct Args {
    /// Scenario manifests (.toml) and directories holding them.
    paths: Vec<PathBuf>,
    /// Cases run at once (default: the number of cores).
    #[arg(short, long)]
    jobs: Option<usize>,
    /// Only shard K of N (K/N, 1-based): case i, in name order, belongs to shard i mod N + 1,
    /// so N jobs with 1/N .. N/N run every case exactly once.
    #[arg(long)]
    shard: Option<Shard>,
    /// Only the scenarios whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// human: a line per scenario and `N passed, N failed`; junit: JUnit XML for CI
    /// services; json: one object per scenario.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Re-record the golden traces instead (new ones, and those whose behaviour changed,
    /// each with the `vexed diff` report of the old golden against the new one).
    #[arg(long)]
    update: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Junit,
    Json,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let cases = suite::select(
        suite::discover(&args.paths)?,
        args.filter.as_deref(),
        args.shard,
    );
    if cases.is_empty() {
        bail!("no scenario (*.toml) found to test");
    }
    if args.update {
        return update(&cases);
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let results = suite::run_all(&cases, jobs, &|_| {});
    match args.format {
        Format::Human => out!("{}", suite::human(&results)),
        Format::Junit => out!("{}", suite::junit(&results)),
        Format::Json => outln!("{}", serde_json::to_string_pretty(&results)?),
    }
    let t = suite::totals(&results);
    Ok(if t.errors > 0 {
        ExitCode::from(2)
    } else if t.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn update(cases: &[suite::Case]) -> Result<ExitCode> {
    let mut failed = 0;
    for case in cases {
        match suite::update_case(case) {
            Ok(u) => {
                outln!("{:>9}  {}", u.state, u.golden);
                for line in u.report.lines() {
                    outln!("           {line}");
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("vexed: {}: {e}", case.name);
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
