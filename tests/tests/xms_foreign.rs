//! Observing a foreign XMS driver's calls (issue 20, item 3; `emu/src/firmware/xms/
//! foreign.rs`): the machine stops before the entry's first instruction and before the
//! caller's return address, invisibly, and records `Observation::Xms` with the registers at
//! the call and at the return.
//!
//! These tests point the foreign-call observation at the built-in driver's own entry
//! (`XMS_SEG:ENTRY_OFF`), set by hand: then every call is observed twice, once by the
//! built-in driver (registers at its trap and after its service) and once by the probes
//! (registers at the entry and at the return address). The entry's `EB 03 90 90 90` and the
//! `RETF` after the trap change no register (XMS 3.0: the entry is reached by `CALL FAR`;
//! dos-memory.md 1.1: the stub is a short jump over three NOPs), so the two observations of
//! each call must be equal, and the run must otherwise be the run without the probes.
//!
//! The last test runs `corpora/xmsdrv.toml`: the built-in driver off and XMSDRV.SYS
//! (`corpora/guests/xmsdrv.asm`) loaded from CONFIG.SYS, found by SYSINIT through Int 2Fh
//! AX=4310h, with xmstest calling it; its answers are checked against the XMS 3.0
//! specification.

use vexed_emu::firmware::stubs::XMS_SEG;
use vexed_emu::firmware::xms::ENTRY_OFF;
use vexed_emu::machine::{Machine, Stop};
use vexed_emu::observe::{Observation, Regs};
use vexed_replay::run::build_machine;
use vexed_tests::scenario;

type Call = (Regs, Regs);

fn machine(name: &str, armed: bool) -> (Machine, u64) {
    let (s, _) = scenario(name);
    let (mut m, skipped) = build_machine(&s).expect("machine");
    assert!(skipped.is_empty(), "{skipped:?}");
    if armed {
        m.firmware_mut()
            .expect("firmware")
            .set_foreign_xms_entry(Some((XMS_SEG, ENTRY_OFF)));
    }
    (m, s.max_ticks)
}

fn xms_calls(obs: &[(u64, Observation)]) -> Vec<(u64, Call)> {
    obs.iter()
        .filter_map(|(t, o)| match o {
            Observation::Xms { input, output } => Some((*t, (*input, *output))),
            _ => None,
        })
        .collect()
}

fn others(obs: &[(u64, Observation)]) -> Vec<(u64, Observation)> {
    obs.iter()
        .filter(|(_, o)| !matches!(o, Observation::Xms { .. }))
        .cloned()
        .collect()
}

/// Splits an armed run's XMS observations into the built-in driver's and the probes':
/// each call gives the built-in's at its trap, then the probes' at its return, equal.
fn pair_up(calls: &[(u64, Call)]) -> Vec<(u64, u64, Call)> {
    assert!(
        calls.len().is_multiple_of(2),
        "{} observations",
        calls.len()
    );
    calls
        .chunks(2)
        .map(|p| {
            let ((t0, a), (t1, b)) = (p[0], p[1]);
            assert_eq!(
                a, b,
                "the built-in's and the probes' observation of one call"
            );
            // The built-in's is made after its trap's tick; the RETF after the trap is one
            // more tick, and the probes' is made before the instruction at the return
            // address.
            assert_eq!(t1, t0 + 1);
            (t0, t1, a)
        })
        .collect()
}

#[test]
fn the_probes_see_every_call_as_the_built_in_driver_does_and_change_nothing() {
    let (mut plain, max) = machine("xmstest", false);
    let (mut armed, _) = machine("xmstest", true);
    let stop_plain = plain.run_until(max);
    let stop_armed = armed.run_until(max);
    assert_eq!(stop_plain, stop_armed);
    assert!(matches!(stop_plain, Stop::Firmware(_)), "{stop_plain:?}");
    // Same instructions at the same ticks: the same end tick, console and other
    // observations, and the same state once the observation itself is switched off.
    assert_eq!(plain.now(), armed.now());
    let obs_plain = plain.take_observations();
    let obs_armed = armed.take_observations();
    assert_eq!(others(&obs_plain), others(&obs_armed));
    let builtin = xms_calls(&obs_plain);
    let pairs = pair_up(&xms_calls(&obs_armed));
    // xmstest makes well over a hundred calls (85 checks, the 255 locks and unlocks, the
    // 0-KB allocations until the handles run out).
    assert!(builtin.len() > 500, "{}", builtin.len());
    assert_eq!(pairs.len(), builtin.len());
    for ((t, call), (t0, _, c)) in builtin.iter().zip(&pairs) {
        assert_eq!((t, call), (t0, c));
    }
    // XMS 3.0 function 00h: AX = 0300h (version), and the first call xmstest makes.
    let (_, _, (input, output)) = pairs[0];
    assert_eq!((input.ax >> 8, output.ax), (0x00, 0x0300));
    let fw = armed.firmware_mut().expect("firmware");
    assert_eq!(fw.foreign_xms().pending(), 0);
    fw.set_foreign_xms_entry(None);
    assert_eq!(
        plain.state_hash().expect("hash"),
        armed.state_hash().expect("hash")
    );
}

#[test]
fn a_snapshot_inside_a_call_restores_and_still_gives_the_observation() {
    let (mut m, max) = machine("xmstest", true);
    // Run a tick at a time into the first call of the entry (past it: the probe has
    // stopped before the entry and noted the call).
    let mut early = Vec::new();
    while m.firmware().expect("firmware").foreign_xms().pending() == 0 {
        let now = m.now();
        assert!(now < 2_000_000, "no XMS call");
        assert_eq!(m.run_until(now + 1), Stop::Deadline);
        early.extend(m.take_observations());
    }
    let bytes = m.snapshot().expect("snapshot");
    let mut restored = Machine::restore(&bytes).expect("restore");
    let end = m.run_until(max);
    assert_eq!(restored.run_until(max), end);
    let rest = m.take_observations();
    assert_eq!(restored.take_observations(), rest);
    assert_eq!(m.now(), restored.now());
    // The call in flight at the snapshot was observed once by each part: the built-in's
    // observation and the probes' one, after the snapshot in both runs.
    let calls = xms_calls(&rest);
    assert!(xms_calls(&early).is_empty());
    pair_up(&calls);
}

#[test]
fn calls_from_several_vms_are_paired_with_their_own_returns() {
    // Two DOS VMs share a block through the same entry; every VM's calls pair up with their
    // own returns (the probes' observations are the built-in's, as a multiset: a VM switch
    // may fall between a call's entry and its trap).
    let (mut m, max) = machine("xmsshare-vms", true);
    let stop = m.run_until(max);
    assert!(matches!(stop, Stop::Firmware(_)), "{stop:?}");
    let calls = xms_calls(&m.take_observations());
    let mut pending: Vec<Call> = Vec::new();
    let mut probed = 0;
    for (_, c) in &calls {
        if let Some(i) = pending.iter().position(|p| p == c) {
            pending.swap_remove(i);
            probed += 1;
        } else {
            pending.push(*c);
        }
    }
    assert!(pending.is_empty(), "unpaired: {pending:?}");
    assert!(probed > 20, "{probed}");
}

#[test]
fn a_foreign_driver_s_calls_are_observed_with_what_it_answered() {
    let (m, max) = machine("xmsdrv", false);
    let mut m = m;
    let stop = m.run_until(max);
    assert!(matches!(stop, Stop::Firmware(_)), "{stop:?}");
    let fw = m.firmware().expect("firmware");
    let entry = fw
        .foreign_xms_entry()
        .expect("SYSINIT found XMSDRV's entry");
    assert_ne!(entry, (XMS_SEG, ENTRY_OFF));
    assert_eq!(fw.foreign_xms().pending(), 0);
    let calls = xms_calls(&m.take_observations());
    // xmstest's calls: its checks, 255 locks and unlocks, 0-KB blocks until the handles
    // run out.
    assert!(calls.len() > 500, "{}", calls.len());
    let ah = |r: &Regs| r.ax >> 8;
    let bl = |r: &Regs| r.bx & 0xFF;
    // XMS 3.0 function 00h, xmstest's first call: AX = 0300h (version 3.00), DX = 0001h
    // (an HMA exists).
    let (_, (input, output)) = calls[0];
    assert_eq!(ah(&input), 0x00);
    assert_eq!((output.ax, output.dx), (0x0300, 0x0001));
    let mut seen = [false; 3];
    for (_, (input, output)) in &calls {
        match ah(input) {
            // Undefined (13h) and the UMB functions XMSDRV leaves out (10h-12h): AX=0000h,
            // BL=80h (function not implemented).
            0x10..=0x13 => {
                assert_eq!((output.ax, bl(output)), (0, 0x80), "{input:?}");
                seen[0] = true;
            }
            // 07h, query A20: AX = 0 or 1, BL = 00h.
            0x07 => {
                assert!(output.ax <= 1 && bl(output) == 0, "{output:?}");
                seen[1] = true;
            }
            // 0Ch, lock: on success DX:BX is the 32-bit physical address, above the HMA.
            0x0C if output.ax == 1 => {
                assert!(u32::from(output.dx) << 16 | u32::from(output.bx) >= 0x11_0000);
                seen[2] = true;
            }
            _ => {}
        }
        // Every function returns in AX, BX, CX (8Eh) and DX only: SI, DI, DS and ES are the
        // caller's.
        assert_eq!(
            (input.si, input.di, input.ds, input.es),
            (output.si, output.di, output.ds, output.es),
            "{input:?} -> {output:?}"
        );
    }
    assert_eq!(seen, [true; 3]);
}
