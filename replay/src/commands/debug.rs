//! `vexed debug`: time-travel debugging of a trace (issue 19; DESIGN.md section 9), served to
//! gdb over the Remote Serial Protocol or driven by a script (`replay/src/debug/`).
//!
//! Exit statuses: 0 the session ended (gdb detached or disconnected; the script ran to its
//! end); 2 an unreadable trace, a listening address that cannot be bound, or a script
//! command that failed (its line and the reason are printed).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use vexed_replay::debug::{Debugger, batch, rsp};
use vexed_replay::recording::Recording;

/// Debug a trace with gdb, forward and backward: `target remote HOST:PORT` in gdb, then
/// break, watch, continue, stepi, reverse-stepi, reverse-continue, and vexed's own
/// `monitor` commands (`monitor help`). The PC gdb sees is the linear address
/// (CS*16+IP in real and virtual-8086 mode). With --batch, runs the same commands from a
/// file instead and prints the answers.
#[derive(clap::Args)]
pub struct Args {
    trace: PathBuf,
    /// Where to wait for gdb.
    #[arg(long, default_value = "127.0.0.1:1234")]
    listen: String,
    /// Run the debugger commands in FILE (one per line, see `monitor help`) instead of
    /// serving gdb.
    #[arg(long, value_name = "FILE")]
    batch: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let path = &args.trace;
    let rec = Recording::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut d = Debugger::new(rec).with_context(|| format!("cannot replay {}", path.display()))?;
    if let Some(script) = &args.batch {
        let meta = std::fs::metadata(script)
            .with_context(|| format!("cannot read {}", script.display()))?;
        if meta.len() > batch::MAX_SCRIPT as u64 {
            anyhow::bail!(
                "{} has {} bytes; a script may have {}",
                script.display(),
                meta.len(),
                batch::MAX_SCRIPT
            );
        }
        let text = std::fs::read_to_string(script)
            .with_context(|| format!("cannot read {}", script.display()))?;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        batch::run(&mut d, &text, &mut out)
            .with_context(|| format!("{} failed", script.display()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let listener = TcpListener::bind(&args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "vexed: {}: ticks 0 to {}; waiting for gdb on {addr} (target remote {addr})",
        path.display(),
        d.tape.end()
    );
    let (stream, peer) = listener.accept().context("waiting for gdb")?;
    eprintln!("vexed: gdb connected from {peer}");
    rsp::serve(&mut d, stream).context("serving gdb")?;
    eprintln!(
        "vexed: gdb is gone; the session ends at tick {}",
        d.tape.now()
    );
    Ok(ExitCode::SUCCESS)
}
