//! The `vexed` command line: the verbs and their dispatch. Each verb lives in its own
//! module under `commands/` (its arguments, its `--help` text and its exit statuses);
//! errors are printed as one readable paragraph and exit 2 (DESIGN.md section 10).

mod commands;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// The exit statuses of every verb (DESIGN.md section 10), shown under the top-level help.
const EXIT_STATUSES: &str = "\
Exit statuses:
  0    success
  1    a check failed: a replay diverged, a scenario expectation, conformance vector,
       golden-trace test or fuzz case failed, two traces differ
  2    bad input or damage: bad options, unreadable or damaged files, a program that
       cannot be started, a seek after the end of the recorded run
  3    run of a program: the guest crashed, hung or hit the tick limit
  4    replay of an unfinished trace (no footer: its recorder was killed) whose prefix
       matched; --allow-unfinished makes it 0
  125  replay --git-bisect: this build cannot judge the trace (git bisect skips the commit)
Otherwise run of a program exits with the program's exit code, and boot with the
value the ROM wrote to port F4h.";

#[derive(Parser)]
#[command(
    name = "vexed",
    version,
    about = "Deterministic record/replay PC emulator for testing DOS-era system software",
    after_help = EXIT_STATUSES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Conformance(commands::conformance::Args),
    Boot(commands::boot::Args),
    Run(commands::run::Args),
    Record(commands::record::Args),
    Replay(commands::replay::Args),
    Dump(commands::dump::Args),
    Info(commands::info::Args),
    Fuzz(commands::fuzz::Args),
    Timeline(commands::timeline::Args),
    Seek(commands::seek::Args),
    Debug(commands::debug::Args),
    Diff(commands::diff::Args),
    Golden(commands::golden::Args),
    Test(commands::test::Args),
    Init(commands::init::Args),
    BenchCpu(commands::bench_cpu::Args),
}

fn run() -> Result<ExitCode> {
    match Cli::parse().command {
        Command::Conformance(args) => commands::conformance::run(args),
        Command::Boot(args) => commands::boot::run(args),
        Command::Run(args) => commands::run::run(args),
        Command::Record(args) => commands::record::run(args),
        Command::Replay(args) => commands::replay::run(args),
        Command::Dump(args) => commands::dump::run(args),
        Command::Info(args) => commands::info::run(args),
        Command::Fuzz(args) => commands::fuzz::run(args),
        Command::Timeline(args) => commands::timeline::run(args),
        Command::Seek(args) => commands::seek::run(args),
        Command::Debug(args) => commands::debug::run(args),
        Command::Diff(args) => commands::diff::run(args),
        Command::Golden(args) => commands::golden::run(args),
        Command::Test(args) => commands::test::run(args),
        Command::Init(args) => commands::init::run(args),
        Command::BenchCpu(args) => commands::bench_cpu::run(args),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vexed: {e:#}");
            ExitCode::from(2)
        }
    }
}
