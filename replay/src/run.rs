//! `vexed run`: boots the Rust BIOS and DOS, runs a scenario's programs (or one program),
//! streams the console output, and checks the scenario's expectations.

use std::io::Write;

use thiserror::Error;
use vexed_emu::firmware::{Firmware, Termination};
use vexed_emu::machine::{Machine, MachineError, Stop};

use crate::drive::{self, DriveLoadError, Skipped};
use crate::engine::{Console, ConsoleText, Engine, EngineError};
use crate::scenario::{ExpectedStop, Scenario};
use crate::source::Scripted;

/// How a run ended: the same typed value the trace's footer stores.
pub use vexed_trace::RunEnd;

/// Whether `end` is the guest crashing or hanging (a fault no handler took, a reset, a halt
/// with interrupts off, a write to the exit port), as a scenario's `expect_stop = "crash"`
/// means it.
pub fn is_crash(end: &RunEnd) -> bool {
    matches!(
        end,
        RunEnd::GuestFault { .. } | RunEnd::Reset | RunEnd::HaltedForever | RunEnd::ExitPort(_)
    )
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub end: RunEnd,
    /// Everything written to the console.
    pub console: Vec<u8>,
    /// How each program ended, in order.
    pub terminations: Vec<Termination>,
    /// How each DOS VM's program ended: (VM id, exit code), in the order they ended.
    pub vm_exits: Vec<(u16, u8)>,
    pub ticks: u64,
    /// Host files left off drive C:.
    pub skipped: Vec<Skipped>,
}

/// Why a run could not happen.
#[derive(Debug, Error)]
pub enum RunError {
    #[error(transparent)]
    Drive(#[from] DriveLoadError),
    #[error(transparent)]
    Machine(#[from] MachineError),
    #[error("cannot write the console output: {0}")]
    Output(#[source] std::io::Error),
    #[error("input at tick {tick} cannot be injected: {message}")]
    Input { tick: u64, message: String },
}

/// The machine `s` describes, at tick 0, and the host files left off its drive C:.
pub fn build_machine(s: &Scenario) -> Result<(Machine, Vec<Skipped>), RunError> {
    let loaded = drive::load_scenario_drive(s)?;
    let fw = Firmware::new(s.firmware.clone(), loaded.drive, s.programs.clone());
    Ok((Machine::with_firmware(s.machine, fw)?, loaded.skipped))
}

/// Runs `s`, writing console output to `out` as it appears.
pub fn run(s: &Scenario, out: &mut impl Write) -> Result<RunReport, RunError> {
    let (m, skipped) = build_machine(s)?;
    let mut engine = Engine::new(m, s.max_ticks);
    let mut source = Scripted::new(s.inputs.clone());
    let mut console = Console(out);
    let mut text = ConsoleText::default();
    engine
        .run(s.max_ticks, &mut source, &mut [&mut console, &mut text])
        .map_err(|e| match e {
            EngineError::Output(e) => RunError::Output(e),
            EngineError::Input { tick, message } => RunError::Input { tick, message },
            EngineError::Machine(e) => RunError::Machine(e),
            other => RunError::Input {
                tick: 0,
                message: other.to_string(),
            },
        })?;
    let end = end_of(engine.stopped(), engine.now(), s.max_ticks);
    Ok(report(engine.machine(), end, text.0, skipped))
}

/// How a run ended, from the machine's stop (`None`: it ran to `now` without stopping) and
/// the run's tick limit.
pub fn end_of(stop: Option<Stop>, now: u64, max_ticks: u64) -> RunEnd {
    RunEnd::from_stop(stop.unwrap_or(Stop::Deadline), now, max_ticks)
}

/// The report of a run that ended with `end` on machine `m`, with its console text.
pub fn report(m: &Machine, end: RunEnd, console: Vec<u8>, skipped: Vec<Skipped>) -> RunReport {
    let terminations = m
        .firmware()
        .map(|f| f.terminations().to_vec())
        .unwrap_or_default();
    let vm_exits = m
        .firmware()
        .and_then(Firmware::vmm)
        .map(|v| v.vm_exits())
        .unwrap_or_default();
    RunReport {
        end,
        console,
        terminations,
        vm_exits,
        ticks: m.now(),
        skipped,
    }
}

/// One sentence for how a run ended.
pub fn describe(s: &Scenario, r: &RunReport) -> String {
    match &r.end {
        RunEnd::Finished { exit_code } => {
            format!("finished at tick {} (exit code {exit_code})", r.ticks)
        }
        RunEnd::ExecFailed { index, error } => format!(
            "{} could not be started: DOS error {error:02X}h ({})",
            s.programs
                .get(*index as usize)
                .map_or("?", |p| p.name.as_str()),
            vexed_emu::firmware::dos::error_text(*error)
        ),
        RunEnd::HaltedForever => format!(
            "the CPU halted with interrupts disabled at tick {}: the guest hung",
            r.ticks
        ),
        RunEnd::ExitPort(c) => {
            format!(
                "the guest wrote {c:02X}h to the exit port at tick {}",
                r.ticks
            )
        }
        RunEnd::TickLimit => format!(
            "the tick limit ({}) was reached before the programs finished",
            s.max_ticks
        ),
        other => format!("{other} (tick {})", r.ticks),
    }
}

/// Console text as compared with expectations: the bytes rendered as a teletype shows
/// them. LF starts a new line, CR returns to the line's start (later characters overwrite),
/// BS moves back one column, BEL is silent; bytes are Latin-1/CP437 code points.
pub fn normalize_console(bytes: &[u8]) -> String {
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let mut col = 0usize;
    for &b in bytes {
        let line = lines.last_mut().expect("there is always a line");
        match b {
            b'\n' => {
                lines.push(Vec::new());
                col = 0;
            }
            b'\r' => col = 0,
            0x08 => col = col.saturating_sub(1),
            0x07 => {}
            _ => {
                if col < line.len() {
                    line[col] = char::from(b);
                } else {
                    line.push(char::from(b));
                }
                col += 1;
            }
        }
    }
    lines
        .iter()
        .map(|l| l.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every expectation of `s` that `r` does not meet, as readable paragraphs.
pub fn check(s: &Scenario, r: &RunReport) -> Vec<String> {
    let mut failures = Vec::new();
    let stop_ok = match s.expect_stop {
        ExpectedStop::Finished => r.end.is_finished(),
        ExpectedStop::Crash => is_crash(&r.end),
        ExpectedStop::TickLimit => r.end == RunEnd::TickLimit,
    };
    if !stop_ok {
        failures.push(format!(
            "expected the run to end {}, but {}",
            match s.expect_stop {
                ExpectedStop::Finished => "with every program finished",
                ExpectedStop::Crash => "with a guest crash",
                ExpectedStop::TickLimit => "at the tick limit",
            },
            describe(s, r)
        ));
    }
    for (i, want) in s.exit_codes.iter().enumerate() {
        let Some(want) = want else { continue };
        match r.terminations.get(i) {
            Some(t) if t.code == *want => {}
            Some(t) => failures.push(format!(
                "{} exited with code {} (termination type {}), expected {want}",
                s.programs[i].name, t.code, t.kind
            )),
            None => failures.push(format!(
                "{} did not finish, expected exit code {want}",
                s.programs[i].name
            )),
        }
    }
    let vms = s.firmware.vmm.as_ref().map_or(&[][..], |v| &v.vms[..]);
    for (i, want) in s.vm_exit_codes.iter().enumerate() {
        let Some(want) = want else { continue };
        let id = 2 + i as u16;
        let name = vms.get(i).map_or("?", |v| v.program.name.as_str());
        match r.vm_exits.iter().find(|(vm, _)| *vm == id) {
            Some((_, code)) if code == want => {}
            Some((_, code)) => failures.push(format!(
                "{name} in VM {id} exited with code {code}, expected {want}"
            )),
            None => failures.push(format!(
                "{name} in VM {id} did not finish, expected exit code {want}"
            )),
        }
    }
    if let (Some(want), Some(p)) = (
        s.system_exit_code,
        s.firmware.vmm.as_ref().and_then(|v| v.system.as_ref()),
    ) {
        let name = p.name.as_str();
        match r.vm_exits.iter().find(|(vm, _)| *vm == 1) {
            Some((_, code)) if *code == want => {}
            Some((_, code)) => failures.push(format!(
                "{name} in the system VM (VM 1) exited with code {code}, expected {want}"
            )),
            None => failures.push(format!(
                "{name} in the system VM (VM 1) did not finish, expected exit code {want}"
            )),
        }
    }
    let console = normalize_console(&r.console);
    if let Some(want) = &s.expect_console {
        let want = normalize_console(want.as_bytes());
        if console != want {
            failures.push(format!(
                "console output differs (- expected, + actual):\n{}",
                diff_lines(&want, &console)
            ));
        }
    }
    for want in &s.expect_contains {
        if !console.contains(want.as_str()) {
            failures.push(format!("console output does not contain {want:?}"));
        }
    }
    failures
}

/// A line diff of two texts (longest common subsequence), `-` for lines only in
/// `expected`, `+` for lines only in `actual`, two spaces for common lines.
pub fn diff_lines(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.split('\n').collect();
    let b: Vec<&str> = actual.split('\n').collect();
    let (n, m) = (a.len(), b.len());
    // lcs[i][j] = LCS length of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_changed_lines_only() {
        let d = diff_lines("a\nb\nc", "a\nx\nc");
        assert_eq!(d, "  a\n- b\n+ x\n  c\n");
        assert_eq!(diff_lines("same", "same"), "  same\n");
        assert_eq!(diff_lines("a", "a\nb"), "  a\n+ b\n");
    }

    #[test]
    fn console_is_rendered_as_a_teletype_shows_it() {
        assert_eq!(normalize_console(b"a\r\nb\n"), "a\nb\n");
        // DOS echoes CR at the end of AH=0Ah input; the program then prints CR LF.
        assert_eq!(normalize_console(b"Name? x\r\r\nok"), "Name? x\nok");
        assert_eq!(normalize_console(b"abc\rX"), "Xbc");
        assert_eq!(normalize_console(b"ab\x08 \x08c"), "ac");
    }
}
