//! `vexed init`: a starter project for someone else's DOS program, so a maintainer goes
//! from a .COM or .EXE to a golden-trace test in CI in minutes.
//!
//! `vexed init PROGRAM [DIR]` writes into DIR (default: the current directory):
//!
//! ```text
//! DIR/guest/PROGRAM             a copy of the program (drive C: of the scenario)
//! DIR/NAME.toml                 the scenario: the program, its exit code as observed now
//! DIR/golden/NAME.trace         its golden trace, recorded by this build
//! DIR/.github/workflows/vexed.yml  a CI workflow that builds vexed and runs
//!                               `vexed test --format junit`
//! ```
//!
//! Nothing existing is overwritten: when the program's copy, the scenario or its golden
//! trace is there already, init stops before writing anything; an existing workflow is kept
//! (a project may hold several scenarios). Exit statuses: 0 written; 2 bad input (no such program, a file
//! in the way).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use vexed_replay::run;
use vexed_replay::scenario::Scenario;
use vexed_replay::suite::{self, Case};

/// Start a project that tests a DOS program with a golden trace: the program on drive
/// C:, a scenario, its golden trace, and a CI workflow running `vexed test`.
#[derive(clap::Args)]
pub struct Args {
    /// The program (.COM or .EXE, an 8.3 name).
    program: PathBuf,
    /// The project directory (created if missing; default: the current directory).
    dir: Option<PathBuf>,
    /// The scenario's name (default: the program's name in lower case).
    #[arg(long)]
    name: Option<String>,
    /// The program's command tail.
    #[arg(long, default_value = "")]
    args: String,
    /// The scenario's tick limit.
    #[arg(long, default_value_t = 500_000_000)]
    max_ticks: u64,
}

/// The CI workflow: GitHub Actions, building vexed from its source repository.
const WORKFLOW: &str = r#"# Runs this project's vexed scenarios against their golden traces on every push.
# VEXED_REPOSITORY names the git repository vexed is built from (its source); set it as a
# repository variable (Settings > Variables) or edit the default below.
name: vexed
on: [push, pull_request]
jobs:
  golden-traces:
    runs-on: ubuntu-latest
    env:
      VEXED_REPOSITORY: ${{ vars.VEXED_REPOSITORY }}
    steps:
      - uses: actions/checkout@v4
      - name: Build vexed
        run: |
          git clone --depth 1 "$VEXED_REPOSITORY" "$RUNNER_TEMP/vexed"
          cargo install --locked --path "$RUNNER_TEMP/vexed/replay"
      - name: Golden traces
        run: vexed test --format junit . > vexed-junit.xml
      - name: Report
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: vexed-junit
          path: vexed-junit.xml
"#;

pub fn run(args: Args) -> Result<ExitCode> {
    let program = &args.program;
    if !program.is_file() {
        bail!("{} is not a file", program.display());
    }
    let file_name = program
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_uppercase())
        .context("the program has no file name")?;
    let name = match &args.name {
        Some(n) => n.clone(),
        None => Path::new(&file_name)
            .file_stem()
            .map(|s| s.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default(),
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        bail!("scenario name {name:?}: use letters, digits, - and _");
    }
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let guest = dir.join("guest").join(&file_name);
    let manifest = dir.join(format!("{name}.toml"));
    let workflow = dir.join(".github/workflows/vexed.yml");
    let golden = dir.join("golden").join(format!("{name}.trace"));
    // A project may hold several scenarios: the workflow is kept when there is one.
    let new_workflow = !workflow.exists();
    for p in [&guest, &manifest, &golden] {
        if p.exists() {
            bail!(
                "{} exists already: vexed init writes only new files",
                p.display()
            );
        }
    }
    // What the program does now, on a scenario made for it alone.
    let mut probe =
        Scenario::for_program(program, &split_args(&args.args)).map_err(anyhow::Error::msg)?;
    probe.max_ticks = args.max_ticks;
    let report = run::run(&probe, &mut std::io::sink())
        .with_context(|| format!("running {}", program.display()))?;
    let (exit_code, stop) = match &report.end {
        run::RunEnd::Finished { exit_code } => (Some(*exit_code), "finished"),
        run::RunEnd::TickLimit => (None, "tick-limit"),
        end if run::is_crash(end) => (None, "crash"),
        other => bail!("{} cannot be run: {other}", program.display()),
    };
    let mut text = format!(
        "description = \"{name}: made by vexed init; edit the expectations to what {file_name} must do\"\n\
         drive = \"guest\"\n\
         files = [\"{file_name}\"]\n\
         max_ticks = {}\n\n\
         [[program]]\n\
         name = \"{file_name}\"\n",
        args.max_ticks
    );
    if !args.args.is_empty() {
        text.push_str(&format!("args = {:?}\n", args.args));
    }
    if let Some(code) = exit_code {
        text.push_str(&format!(
            "exit_code = {code}    # observed when this project was made\n"
        ));
    }
    text.push_str(&format!("\n[expect]\nstop = \"{stop}\"\n"));
    // Everything is checked: write the files.
    for p in [&guest, &manifest, &workflow] {
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
    }
    std::fs::copy(program, &guest)
        .with_context(|| format!("cannot copy {} to {}", program.display(), guest.display()))?;
    std::fs::write(&manifest, text)
        .with_context(|| format!("cannot write {}", manifest.display()))?;
    if new_workflow {
        std::fs::write(&workflow, WORKFLOW)
            .with_context(|| format!("cannot write {}", workflow.display()))?;
    }
    let case = Case {
        name: name.clone(),
        manifest: manifest.clone(),
        golden: suite::golden_of(&manifest),
    };
    let u = suite::update_case(&case).map_err(anyhow::Error::msg)?;
    eprintln!(
        "vexed: wrote {}, {}, {} and {}\n\
         vexed: `vexed test {}` checks it against its golden trace; commit the directory",
        guest.display(),
        manifest.display(),
        u.golden,
        workflow.display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A command tail as the program would get it (one argument: DOS passes the tail whole).
fn split_args(tail: &str) -> Vec<String> {
    if tail.is_empty() {
        Vec::new()
    } else {
        vec![tail.to_string()]
    }
}
