//! `vexed info`: a trace's size, ticks, record counts and compression (DESIGN.md
//! section 5).
//!
//! Exit statuses: 0 printed; 2 an unreadable or damaged trace.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use vexed_trace::info;

/// Size, ticks, record counts and compression of a trace.
#[derive(clap::Args)]
pub struct Args {
    trace: PathBuf,
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let path = &args.trace;
    let i = info(path).with_context(|| format!("reading {}", path.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&i)?);
    } else {
        print!("{i}");
    }
    Ok(ExitCode::SUCCESS)
}
