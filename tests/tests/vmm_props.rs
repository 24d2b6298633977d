//! Interrupt-timing properties of the VM manager (proptest). Extra interrupts at random
//! times (IRQ0 edges, which end time slices, and keystrokes, which switch to the focus VM)
//! decide where VM switches land:
//!
//! - `critsec` (Asche): two VMs add to a shared counter inside Int 2Fh 1681h/1682h; the
//!   total stays exact under every schedule tried, and no switch lands inside a critical
//!   section.
//! - `critsec-nocs`: the same without critical sections; the search must find a schedule
//!   that loses an update, shrink it to a few extra interrupts, and its trace must replay
//!   the loss. The trace found is kept in `corpora/found/` (regenerate it with
//!   `VEXED_SAVE_FOUND=1 cargo test -p vexed-tests --test vmm_props`), and a test replays it.
//! - With the scheduler's critical-section rule switched off, `critsec` fails the same way,
//!   and the report says so in words.
//! - `timeslice-tsr` (Asche): the careful multitasking TSR never re-enters DOS and every
//!   expectation holds under every schedule tried.
//! - `xmsshare-win` (KB Q74809, both sides): the DPMI client in the system VM writes its
//!   region of the shared XMS block a byte at a time inside critical sections, and the two
//!   DOS VMs, which read that region after every release of their time slice, never see it
//!   half written, under every schedule tried.
//! - `xmsshare-win-nocs`: the client without critical sections; the search must find a
//!   schedule under which a DOS VM reads the region half one round and half another, shrink
//!   it, and its trace (kept in `corpora/found/`, regenerated the same way) replays it.

use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{TestError, TestRunner};
use vexed_emu::machine::Input;
use vexed_replay::fuzz;
use vexed_replay::scenario::Scenario;
use vexed_replay::schedule;
use vexed_replay::session::{self, Replayed};
use vexed_tests::{corpora_dir, proptest_config};

const SEED: u64 = 0x5EC7_1015;

struct Subject {
    scenario: Scenario,
    manifest: String,
    /// Ticks of the unperturbed run.
    horizon: u64,
}

fn subject(name: &'static str, cell: &'static OnceLock<Subject>) -> &'static Subject {
    cell.get_or_init(|| {
        let path = corpora_dir().join(format!("{name}.toml"));
        let manifest = std::fs::read_to_string(&path).expect("manifest");
        let scenario = Scenario::load(&path).expect("scenario");
        let horizon = fuzz::horizon(&scenario, &manifest).expect("unperturbed run");
        Subject {
            scenario,
            manifest,
            horizon,
        }
    })
}

/// An extra interrupt: where in the run (millionths of its length) and which (0: an IRQ0
/// edge, 1: a keystroke, Shift make and break).
fn perturbation() -> impl Strategy<Value = (u64, u8)> {
    (0u64..1_000_000, 0u8..2)
}

fn inputs(events: &[(u64, u8)], horizon: u64) -> Vec<(u64, Input)> {
    let mut out = Vec::new();
    for &(at, kind) in events {
        let t = at * horizon / 1_000_000;
        match kind {
            0 => out.push((t, Input::Irq { line: 0 })),
            _ => {
                out.push((t, Input::Key { scancode: 0x2A }));
                out.push((t + 1, Input::Key { scancode: 0xAA }));
            }
        }
    }
    out
}

/// The line CTRTSR printed about the counter, if any.
fn counter_line(console: &[u8]) -> String {
    String::from_utf8_lossy(console)
        .lines()
        .find(|l| l.starts_with("CTRTSR: counter"))
        .unwrap_or("(CTRTSR printed no counter line)")
        .to_string()
}

/// The lines that say what went wrong: CTRTSR's counter line and the first line a guest
/// marked FAIL, whichever the run printed.
fn key_lines(console: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(console);
    let mut out: Vec<String> = text
        .lines()
        .find(|l| l.starts_with("CTRTSR: counter"))
        .into_iter()
        .chain(text.lines().find(|l| l.contains("FAIL")))
        .map(str::to_string)
        .collect();
    if out.is_empty() {
        out.push("(no CTRTSR counter line and no FAIL line)".to_string());
    }
    out
}

/// A run with extra interrupts: its trace, the broken expectations (CTRTSR's counter line
/// and the first FAIL line first) and the switches that landed inside critical sections.
struct Case {
    trace: Vec<u8>,
    failures: Vec<String>,
    inside_critical: Vec<String>,
}

/// Runs `scenario` with the extra interrupts `events`.
fn run(s: &Subject, scenario: &Scenario, events: &[(u64, u8)]) -> Case {
    let mut sched = scenario.inputs.clone();
    sched.extend(inputs(events, s.horizon));
    let r = fuzz::run_schedule(scenario, &s.manifest, sched, None).expect("case runs");
    let mut failures = r.failures;
    let report = fuzz::report_of(&r.trace).expect("report");
    let sched = schedule::schedule_of(&r.trace).expect("schedule");
    let inside_critical = sched
        .vms
        .iter()
        .filter(|v| v.switched_inside_critical > 0)
        .map(|v| {
            format!(
                "the VMM switched away from VM {} inside a critical section {} time(s)",
                v.id, v.switched_inside_critical
            )
        })
        .collect();
    if !failures.is_empty() {
        let key = key_lines(&report.console);
        failures.splice(0..0, key);
    }
    Case {
        trace: r.trace,
        failures,
        inside_critical,
    }
}

/// What a failing case says: the counter line, the broken expectations, the schedule.
fn report(events: &[(u64, u8)], horizon: u64, failures: &[String]) -> String {
    let when: Vec<String> = inputs(events, horizon)
        .iter()
        .map(|(t, i)| format!("{i:?} at tick {t}"))
        .collect();
    format!(
        "{} (extra interrupts: {})",
        failures.join("; "),
        if when.is_empty() {
            "none".to_string()
        } else {
            when.join(", ")
        }
    )
}

/// Searches `scenario` for a schedule under which its expectations fail (CTRTSR's counter
/// is not exact): the minimal failing events and the report (which also names switches
/// inside critical sections), or `None` if every case passed.
fn search(s: &Subject, scenario: &Scenario, cases: u32) -> Option<(Vec<(u64, u8)>, String)> {
    let mut runner = TestRunner::new(proptest_config(cases, SEED));
    let outcome = runner.run(&prop::collection::vec(perturbation(), 0..8), |events| {
        let case = run(s, scenario, &events);
        if case.failures.is_empty() {
            Ok(())
        } else {
            let mut all = case.failures;
            all.extend(case.inside_critical);
            Err(TestCaseError::fail(report(&events, s.horizon, &all)))
        }
    });
    match outcome {
        Ok(()) => None,
        Err(TestError::Fail(reason, minimal)) => Some((minimal, reason.to_string())),
        Err(TestError::Abort(why)) => panic!("the search was aborted: {why}"),
    }
}

static CRITSEC: OnceLock<Subject> = OnceLock::new();
static NOCS: OnceLock<Subject> = OnceLock::new();
static TIMESLICE: OnceLock<Subject> = OnceLock::new();
static XMSWIN: OnceLock<Subject> = OnceLock::new();
static XMSWIN_NOCS: OnceLock<Subject> = OnceLock::new();

proptest! {
    #![proptest_config(proptest_config(24, SEED))]

    #[test]
    fn critical_sections_keep_the_shared_counter_exact(
        events in prop::collection::vec(perturbation(), 0..8)
    ) {
        let s = subject("critsec", &CRITSEC);
        let case = run(s, &s.scenario, &events);
        let mut all = case.failures;
        all.extend(case.inside_critical);
        prop_assert!(all.is_empty(), "{}", report(&events, s.horizon, &all));
    }

    #[test]
    fn the_careful_multitasking_tsr_never_reenters_dos(
        events in prop::collection::vec(perturbation(), 0..8)
    ) {
        let s = subject("timeslice-tsr", &TIMESLICE);
        let case = run(s, &s.scenario, &events);
        let mut failures = case.failures;
        let sched = schedule::schedule_of(&case.trace).expect("schedule");
        for (tick, vm, line) in &sched.reentries {
            failures.push(format!("tick {tick}, VM {vm}: {line}"));
        }
        prop_assert!(failures.is_empty(), "{}", report(&events, s.horizon, &failures));
    }

    #[test]
    fn the_dpmi_clients_critical_sections_keep_its_region_whole(
        events in prop::collection::vec(perturbation(), 0..8)
    ) {
        let s = subject("xmsshare-win", &XMSWIN);
        let case = run(s, &s.scenario, &events);
        let mut all = case.failures;
        all.extend(case.inside_critical);
        prop_assert!(all.is_empty(), "{}", report(&events, s.horizon, &all));
    }
}

/// `trace` replays bit-exactly and its console shows the failure: the line `line` picks
/// contains `what`.
fn assert_replays_showing(trace: &[u8], line: fn(&[u8]) -> String, what: &str) {
    match session::replay_bytes(trace, &mut std::io::sink()).expect("replay") {
        Replayed::Identical { .. } => {}
        other => panic!("{other:?}"),
    }
    let console = fuzz::report_of(trace).expect("report").console;
    let l = line(&console);
    assert!(l.contains(what), "{l}");
}

/// Searches `name` (a scenario whose guests skip a protection) for a failing schedule: the
/// report names `reason`, the case shrinks to 1-3 extra interrupts, and its trace replays
/// the failure (`line` contains `what`). Keeps the trace under the test's temporary
/// directory and, with `VEXED_SAVE_FOUND` set, in `corpora/found/FILE`.
fn find_shrink_and_keep(
    s: &Subject,
    reason_has: &str,
    file: &str,
    line: fn(&[u8]) -> String,
    what: &str,
) {
    let (minimal, reason) = search(s, &s.scenario, 64)
        .unwrap_or_else(|| panic!("64 random schedules never made {file}'s failure"));
    assert!(reason.contains(reason_has), "{reason}");
    assert!(
        (1..=3).contains(&minimal.len()),
        "shrunk to {} extra interrupts, expected 1-3: {reason}",
        minimal.len()
    );
    // The minimal schedule, recorded: the trace replays bit-exactly and shows the failure.
    let case = run(s, &s.scenario, &minimal);
    assert!(
        !case.failures.is_empty(),
        "the minimal case passes when re-run"
    );
    assert_replays_showing(&case.trace, line, what);
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(file);
    std::fs::write(&path, &case.trace).expect("save the trace");
    if std::env::var_os("VEXED_SAVE_FOUND").is_some() {
        let found = corpora_dir().join("found").join(file);
        std::fs::write(&found, &case.trace).expect("save into corpora/found");
    }
}

/// A trace kept in `corpora/found/` still replays bit-exactly, shows the failure, and holds
/// 1-3 extra interrupts (one keystroke is two input records, make and break).
fn check_found(name: &str, line: fn(&[u8]) -> String, what: &str) {
    let path = corpora_dir().join("found").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_replays_showing(&bytes, line, what);
    let inputs = vexed_trace::TraceReader::new(&bytes[..])
        .expect("trace")
        .records()
        .filter(|r| matches!(r, Ok(vexed_trace::Record::Input { .. })))
        .count();
    assert!(
        (1..=6).contains(&inputs),
        "{inputs} input records (1-3 extra interrupts)"
    );
}

/// The first line a guest marked FAIL.
fn fail_line(console: &[u8]) -> String {
    String::from_utf8_lossy(console)
        .lines()
        .find(|l| l.contains("FAIL"))
        .unwrap_or("(no FAIL line)")
        .to_string()
}

#[test]
fn without_the_clients_critical_sections_the_search_finds_a_half_written_region() {
    let s = subject("xmsshare-win-nocs", &XMSWIN_NOCS);
    find_shrink_and_keep(
        s,
        "half written",
        "xmsshare-win-nocs-torn.trace",
        fail_line,
        "region 4 is half written",
    );
}

#[test]
fn the_saved_half_written_region_trace_replays_the_failure() {
    check_found(
        "xmsshare-win-nocs-torn.trace",
        fail_line,
        "region 4 is half written",
    );
}

#[test]
fn without_critical_sections_the_search_finds_a_lost_update_and_its_trace_replays_it() {
    let s = subject("critsec-nocs", &NOCS);
    find_shrink_and_keep(
        s,
        "updates lost",
        "critsec-nocs-lost-update.trace",
        counter_line,
        "updates lost",
    );
}

#[test]
fn the_saved_lost_update_trace_replays_the_failure() {
    check_found(
        "critsec-nocs-lost-update.trace",
        counter_line,
        "updates lost",
    );
}

#[test]
fn switching_inside_critical_sections_breaks_critsec_and_the_report_says_why() {
    let s = subject("critsec", &CRITSEC);
    let mut scenario = s.scenario.clone();
    if let Some(v) = scenario.firmware.vmm.as_mut() {
        v.rules.critical_sections = false;
    }
    let (_, reason) = search(s, &scenario, 64)
        .expect("with switches allowed inside critical sections, no schedule lost an update");
    assert!(reason.contains("updates lost"), "{reason}");
    assert!(
        reason.contains("inside a critical section"),
        "the report does not name the critical section: {reason}"
    );
    assert!(
        reason.contains("extra interrupts: Irq") || reason.contains("extra interrupts: Key"),
        "the report does not name the schedule: {reason}"
    );
}
