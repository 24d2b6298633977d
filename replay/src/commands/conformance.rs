//! `vexed conformance`: runs SingleStepTests CPU vectors (one `*.json.gz` per opcode,
//! captured on real 8086 and 80286 processors) and reports per opcode (DESIGN.md sections 7
//! and 10).
//!
//! Exit statuses: 0 every vector passed, 1 a vector failed, 2 bad input (unknown or
//! unsupported model, missing or malformed vector files).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use vexed_emu::cpu::Model;
use vexed_replay::conformance;

use super::parse_model;

/// Run SingleStepTests CPU vectors (one *.json.gz per opcode) and report per opcode.
#[derive(clap::Args)]
pub struct Args {
    /// CPU model the vectors were captured on: 8086 or 286.
    #[arg(long)]
    cpu: String,
    /// Directory holding metadata.json and the *.json.gz files.
    dir: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let model = parse_model(&args.cpu)?;
    if model == Model::I80386 {
        bail!("there are no 80386 vectors: --cpu takes 8086 or 286");
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let report = conformance::run_dir(model, &args.dir, threads)
        .with_context(|| format!("conformance run over {}", args.dir.display()))?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", report.render());
    }
    Ok(if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
