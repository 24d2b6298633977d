//! `vexed info`: a trace's size, ticks, record counts and compression, and the drive C:
//! files it embeds (DESIGN.md section 5).
//!
//! Exit statuses: 0 printed; 2 an unreadable or damaged trace.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use vexed_replay::recording::Recording;
use vexed_trace::{TraceReader, info_from_reader};

/// Size, ticks, record counts and compression of a trace.
#[derive(clap::Args)]
pub struct Args {
    trace: PathBuf,
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let path = &args.trace;
    // The whole trace is checked first (one reader for every verb, snapshots included).
    let (rec, bytes) = Recording::open_with_bytes(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut reader = TraceReader::new(bytes.as_slice())
        .with_context(|| format!("cannot read {}", path.display()))?;
    let i = info_from_reader(&mut reader).with_context(|| format!("reading {}", path.display()))?;
    // What the trace carries of the user's files: everything the guest could see on drive
    // C:, and nothing else.
    let files: Vec<serde_json::Value> = rec
        .header
        .files
        .iter()
        .map(|f| serde_json::json!({"path": f.path, "bytes": f.bytes.len()}))
        .collect();
    if args.json {
        let mut v = serde_json::to_value(&i)?;
        v["embedded_files"] = serde_json::Value::Array(files);
        outln!("{v}");
    } else {
        out!("{i}");
        outln!("embedded drive C: files ({}):", rec.header.files.len());
        for f in &rec.header.files {
            outln!("  {:<40} {:>10} bytes", f.path, f.bytes.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}
