//! `vexed timeline`: draws VM scheduling over time as an SVG picture from a trace's
//! records alone, re-executing nothing (DESIGN.md sections 4 and 7; the picture is
//! described in `replay/src/timeline.rs`).
//!
//! The picture is written to a temporary file renamed into place when complete; an
//! output that is the trace itself is refused.
//!
//! Exit statuses: 0 written; 2 an unreadable trace, a bad range or an unwritable output.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use vexed_replay::recording::Recording;
use vexed_replay::timeline;
use vexed_trace::TraceReader;

use super::OutputFile;

/// Draw VM scheduling over time as an SVG picture, from the trace's records alone
/// (nothing is re-executed).
///
/// One lane per VM ("VM 1 (system)", "VM 2 PROGRAM.COM"), plus "DOS" for the time
/// before the VMM's first switch (a trace without VMs has only that lane) and one for
/// the inputs (IRQ, key, timer tick, DMA done, serial byte). A bar covers each interval
/// a VM held the processor, coloured by why it ended (the switch reason); critical
/// sections (Int 2Fh 1681h..1682h) are hatched over the lane of the VM that entered
/// them; XMS and EMS calls are tick marks on the caller's lane, and so are DPMI (Int 31h)
/// calls, in a row with a thin band for the time a DPMI client is in protected mode (a
/// cross where it faulted). The x axis is in ticks and milliseconds. Intervals narrower than a pixel are merged into one bar, so the
/// picture stays small however many switches the trace holds. Exit 0 when written, 2
/// for an unreadable trace or a bad range.
#[derive(clap::Args)]
pub struct Args {
    /// The trace to draw.
    trace: PathBuf,
    /// The SVG file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// First tick shown (default: 0).
    #[arg(long)]
    from: Option<u64>,
    /// Last tick shown (default: the end of the run).
    #[arg(long)]
    to: Option<u64>,
    /// Picture width in pixels (the height follows from the number of lanes).
    #[arg(long, default_value_t = vexed_replay::timeline::DEFAULT_WIDTH)]
    width: u32,
}

/// Writes the SVG picture of the trace's VM scheduling to the output.
pub fn run(args: Args) -> Result<ExitCode> {
    let (path, output) = (&args.trace, &args.output);
    let opts = timeline::Options {
        from: args.from,
        to: args.to,
        width: args.width,
    };
    opts.check()?;
    // The whole trace is checked first (one reader for every verb), then drawn.
    let (_, bytes) = Recording::open_with_bytes(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let len = Some(bytes.len() as u64);
    let mut reader = TraceReader::with_file_len(bytes.as_slice(), len)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let source = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let svg = timeline::from_reader(&mut reader, &source, &opts)
        .with_context(|| format!("drawing the timeline of {}", path.display()))?;
    let mut out = OutputFile::create(output, &[path])?;
    out.write_all(svg.as_bytes())
        .with_context(|| format!("cannot write {}", output.display()))?;
    out.commit()?;
    if let Some(tick) = reader.truncated_after() {
        eprintln!(
            "vexed: note: {} is truncated after tick {tick}; the picture ends there",
            path.display()
        );
    }
    eprintln!("vexed: wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}
