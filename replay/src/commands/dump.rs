//! `vexed dump`: prints a trace as text, the header then one line per record, in the
//! words of `trace/FORMAT.md` (DESIGN.md section 5).
//!
//! Exit statuses: 0 printed; 2 an unreadable or damaged trace.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use vexed_replay::recording::Recording;
use vexed_trace::{TraceReader, dump};

/// Print a trace as text: the header, then one line per record.
#[derive(clap::Args)]
pub struct Args {
    trace: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let path = &args.trace;
    // The whole trace is checked first (one reader for every verb), then dumped.
    let (_, bytes) = Recording::open_with_bytes(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut reader = TraceReader::new(bytes.as_slice())
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let written = dump(&mut reader, &mut out)
        .and_then(|()| out.flush().map_err(vexed_trace::TraceError::Output));
    match written {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // The reader of a pipe went away (`vexed dump T | head`): end quietly.
        Err(vexed_trace::TraceError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Ok(ExitCode::from(super::STDOUT_CLOSED as u8))
        }
        Err(e) => Err(e).with_context(|| format!("dumping {}", path.display())),
    }
}
