//! `vexed diff`: compares two traces of a scenario, re-executing both on this build: how
//! their set-ups differ, the first differing input, observation and XMS or EMS call, and
//! the first instruction at which the machine states differ, with the fields that differ
//! after it (DESIGN.md sections 4 to 6).
//!
//! Exit statuses: 0 nothing differs; 1 something does; 2 an unreadable trace.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

/// Compare two traces of a scenario (before and after a change to a guest program, or
/// with different inputs): how their set-ups differ, the first differing input and
/// observation, and the first instruction at which the machine states differ, with the
/// registers, flags, memory (with XMS/EMS handles and offsets) and device, firmware and
/// VMM fields that differ after it. Both runs are re-executed by this build. Exit 0
/// when nothing differs, 1 when something does, 2 for an unreadable trace.
#[derive(clap::Args)]
pub struct Args {
    a: PathBuf,
    b: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// At most this many state-difference lines per point in the text report.
    #[arg(long, default_value_t = 40)]
    max_lines: usize,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let (a, b) = (&args.a, &args.b);
    // Regular files of bounded size only (a device or FIFO is refused before reading).
    let read = |p: &Path| {
        vexed_replay::recording::read_trace_file(p)
            .with_context(|| format!("cannot read {}", p.display()))
    };
    let (ba, bb) = (read(a)?, read(b)?);
    let side = |p: &Path, bytes| vexed_replay::diff::Side {
        name: p.display().to_string(),
        bytes,
        build: None,
    };
    let report = vexed_replay::diff::diff(&side(a, &ba), &side(b, &bb))?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", report.text(args.max_lines));
    }
    Ok(if report.identical() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
