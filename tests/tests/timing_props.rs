//! Interrupt-timing properties (proptest): the Q74809 (xmsshare) and Q63284 (hma)
//! scenarios keep their expectations and the machine invariants (data written to the XMS
//! block reads back, the XMS handle table stays consistent, A20 is restored after XMS
//! moves) under random schedules of spurious IRQs, keystrokes and DMA completions landing
//! anywhere in the run, and (with the host clock pacing the timer) timer ticks at random
//! times. A failing case is shrunk by proptest; every failing attempt is
//! saved as a trace (the last one written is the minimal case) that `vexed replay`
//! reproduces.

use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use vexed_emu::machine::Input;
use vexed_replay::fuzz;
use vexed_replay::scenario::Scenario;
use vexed_tests::{corpora_dir, proptest_config};

const SEED: u64 = 0x71E1_D0C5;

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

/// A perturbation: where in the run (per mille of its length) and what.
fn event() -> impl Strategy<Value = (u64, u8)> {
    (0u64..1000, 0u8..5)
}

/// The same, plus timer ticks (kind 5) for a machine whose timer the host paces: with
/// the 8254 as an input, random tick times are timer jitter.
fn host_event() -> impl Strategy<Value = (u64, u8)> {
    (0u64..1000, 0u8..6)
}

fn schedule(events: &[(u64, u8)], horizon: u64) -> Vec<(u64, Input)> {
    let mut out = Vec::new();
    for &(at, kind) in events {
        let t = at * horizon / 1000;
        match kind {
            0 => out.push((t, Input::Irq { line: 3 })),
            1 => out.push((t, Input::Irq { line: 5 })),
            2 => out.push((t, Input::Irq { line: 7 })),
            3 => {
                out.push((t, Input::Key { scancode: 0x2A }));
                out.push((t + 1, Input::Key { scancode: 0xAA }));
            }
            4 => out.push((t, Input::DmaDone { channel: 1 })),
            _ => out.push((t, Input::TimerTick)),
        }
    }
    out
}

fn check(s: &Subject, name: &str, events: &[(u64, u8)], host: bool) -> Result<(), TestCaseError> {
    let mut scenario = s.scenario.clone();
    if host {
        scenario.machine.clock = vexed_emu::machine::ClockMode::Host;
    }
    let mut sched = scenario.inputs.clone();
    sched.extend(schedule(events, s.horizon));
    let r = fuzz::run_schedule(&scenario, &s.manifest, sched, None)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    if !r.failures.is_empty() {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("timing-{name}.trace"));
        let saved = std::fs::write(&path, &r.trace).map_or_else(
            |e| format!("(could not save the trace: {e})"),
            |()| format!("replay it with `vexed replay {}`", path.display()),
        );
        return Err(TestCaseError::fail(format!(
            "{}; {saved}",
            r.failures.join("; ")
        )));
    }
    Ok(())
}

static XMSSHARE: OnceLock<Subject> = OnceLock::new();
static HMA: OnceLock<Subject> = OnceLock::new();

proptest! {
    #![proptest_config(proptest_config(48, SEED))]

    #[test]
    fn xmsshare_survives_random_interrupt_timing(events in prop::collection::vec(event(), 0..24)) {
        check(subject("xmsshare", &XMSSHARE), "xmsshare", &events, false)?;
    }

    #[test]
    fn xmsshare_survives_timer_jitter_under_the_host_clock(
        events in prop::collection::vec(host_event(), 0..24)
    ) {
        check(subject("xmsshare", &XMSSHARE), "xmsshare-host", &events, true)?;
    }

    #[test]
    fn hma_survives_random_interrupt_timing(events in prop::collection::vec(event(), 0..24)) {
        check(subject("hma", &HMA), "hma", &events, false)?;
    }
}

#[test]
fn a_broken_invariant_is_reported_with_a_replayable_trace() {
    // An expectation no run can meet stands in for a broken invariant.
    let s = subject("hma", &HMA);
    let mut scenario = s.scenario.clone();
    scenario.expect_contains = vec!["a line hma never prints".into()];
    let r = fuzz::run_schedule(
        &scenario,
        &s.manifest,
        schedule(&[(500, 1)], s.horizon),
        Some(1),
    )
    .expect("case");
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    match vexed_replay::session::replay_bytes(&r.trace, &mut std::io::sink()).expect("replay") {
        vexed_replay::session::Replayed::Identical { .. } => {}
        other => panic!("{other:?}"),
    }
}
