//! `vexed record`: records a scenario or program into a trace: every input at its tick,
//! every observation, a state-hash checkpoint every `--checkpoint-interval` ticks and a
//! paged snapshot every `--snapshot-every` checkpoints (DESIGN.md sections 3 to 6).
//!
//! The trace is written to a temporary file beside the output and renamed into place
//! when the recording is complete, so a failed run leaves an existing file as it was; an
//! output that is also an input (the program, the scenario, the `--serial` file) is
//! refused.
//!
//! Exit statuses: 0 recorded (and, with `--verify`, replayed identically); 1 `--verify`
//! found a divergence; 2 bad input, or a program that could not be started (the DOS error
//! is printed and no trace is written). A guest that crashes, hangs or hits the tick
//! limit is recorded (exit 0): the trace shows it.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use vexed_emu::firmware::dos::DriveC;
use vexed_emu::firmware::{Firmware, FirmwareStop};
use vexed_emu::machine::ClockMode;
use vexed_replay::session::{self, RecordOptions};
use vexed_trace::Header;

use super::{OutputFile, load_target, parse_model, parse_seed, source_with_serial, with_progress};

/// Record a scenario or program into a trace: every input at its tick, every
/// observation, a state-hash checkpoint every --checkpoint-interval ticks.
///
/// The trace appears at the output path only when the recording is complete, and never
/// over an input file. Exit 0 when recorded (1 when --verify finds a divergence), 2 for
/// bad input or a program that cannot be started (nothing is written then).
#[derive(clap::Args)]
pub struct Args {
    /// PROGRAM.COM, PROGRAM.EXE or SCENARIO.toml.
    target: PathBuf,
    /// The program's command tail, from its first word on (vexed's own options go before
    /// it).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
    /// The trace file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// virtual: the 8254 runs on ticks; host: the host clock paces timer interrupts.
    #[arg(long, default_value = "virtual")]
    clock: String,
    /// Perturb input timing and add spurious IRQs from this seed (a number or a
    /// 40-hex-digit commit hash).
    #[arg(long)]
    seed: Option<String>,
    /// Stop after this many ticks (default: the scenario's limit).
    #[arg(long)]
    max_ticks: Option<u64>,
    /// Ticks between state-hash checkpoints (at least 1).
    #[arg(
        long,
        default_value_t = vexed_replay::session::DEFAULT_CHECKPOINT_INTERVAL,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    checkpoint_interval: u64,
    /// Store a machine snapshot at every Nth checkpoint, for fast seeks and state diffs
    /// on divergence: the memory pages changed since the previous snapshot, compressed.
    /// 0: no snapshots.
    #[arg(long, default_value_t = vexed_replay::session::DEFAULT_SNAPSHOT_EVERY)]
    snapshot_every: u64,
    /// Replay the trace right after recording it and compare.
    #[arg(long)]
    verify: bool,
    /// With --clock host: bytes for COM1 from this file (`-` = stdin), one per
    /// millisecond of host time.
    #[arg(long)]
    serial: Option<PathBuf>,
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
    let (target, output) = (&args.target, &args.output);
    let (mut s, manifest) = load_target(target, &args.args, args.drive.as_deref())?;
    s.machine.clock = match args.clock.as_str() {
        "virtual" => ClockMode::Virtual,
        "host" => ClockMode::Host,
        other => bail!("--clock {other}: use virtual or host"),
    };
    if let Some(t) = args.max_ticks {
        s.max_ticks = t;
    }
    if let Some(cpu) = &args.cpu {
        s.machine.model = parse_model(cpu)?;
    }
    let seed = args.seed.as_deref().map(parse_seed).transpose()?;
    let opts = RecordOptions {
        checkpoint_interval: args.checkpoint_interval,
        snapshot_every: (args.snapshot_every > 0).then_some(args.snapshot_every),
        seed,
        ..RecordOptions::default()
    };
    let header = session::header(&s, &manifest, &opts)?;
    // Every file the run reads is opened before the output is created.
    let serial: Option<Box<dyn std::io::Read + Send>> = match args.serial.as_deref() {
        None => None,
        Some(_) if s.machine.clock != ClockMode::Host => {
            bail!("--serial feeds COM1 at host speed: it needs --clock host")
        }
        Some(p) if p == Path::new("-") => Some(Box::new(std::io::stdin())),
        Some(p) => Some(Box::new(
            File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        )),
    };
    let mut inputs = vec![target.as_path()];
    inputs.extend(args.serial.as_deref().filter(|p| *p != Path::new("-")));
    let file = OutputFile::create(output, &inputs)?;
    if let Some(key) = drive_file_at(&s.drive_dir, &header, output) {
        bail!(
            "{} is file {key} of the run's drive C: (an input): refusing to overwrite it",
            output.display()
        );
    }
    let mut source = source_with_serial(&s, seed, serial);
    let (out, rec, machine) = with_progress(s.max_ticks, |ticks| {
        let opts = RecordOptions {
            progress: Some(ticks),
            ..opts.clone()
        };
        session::record_machine(
            &header,
            source.as_mut(),
            &opts,
            BufWriter::new(file),
            &mut std::io::stdout().lock(),
        )
    })
    .with_context(|| format!("recording {}", target.display()))?;
    if let Some(FirmwareStop::ExecFailed { index, error }) =
        machine.firmware().and_then(Firmware::ended)
    {
        // Dropping `out` removes the temporary file: nothing is written to the output.
        bail!(
            "{} could not be started: DOS error {error:02X}h ({}); nothing was written to {}",
            s.programs.get(index).map_or("?", |p| p.name.as_str()),
            vexed_emu::firmware::dos::error_text(error),
            output.display()
        );
    }
    out.into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("cannot finish {}", output.display()))?
        .commit()?;
    eprintln!(
        "vexed: recorded {} to {}: {}, tick {}, {} inputs, {} observations, {} checkpoints",
        s.name,
        output.display(),
        rec.end,
        rec.final_tick,
        rec.inputs,
        rec.observations,
        rec.checkpoints
    );
    if args.verify {
        return super::replay::replay_file(output, true, false, false);
    }
    Ok(ExitCode::SUCCESS)
}

/// The DOS name of the drive C: file that `output` is, if it is one: an existing file
/// under `drive_dir` (after following links) whose DOS path the trace embeds.
fn drive_file_at(drive_dir: &Path, header: &Header, output: &Path) -> Option<String> {
    let dir = drive_dir.canonicalize().ok()?;
    let out = output.canonicalize().ok()?;
    let rel = out.strip_prefix(&dir).ok()?;
    let dos_path = rel
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<Vec<_>>>()?
        .join("/");
    let key = DriveC::normalize(&dos_path).ok()?;
    header.files.iter().any(|f| f.path == key).then_some(key)
}
