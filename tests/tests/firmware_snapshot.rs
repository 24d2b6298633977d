//! A machine running the Rust BIOS and DOS continues identically after a snapshot is
//! restored at any point: mid-boot, inside a program, while DOS waits for a key with InDOS
//! raised, and after the programs end (DESIGN.md section 6).

use vexed_emu::machine::Machine;
use vexed_replay::run::build_machine;
use vexed_replay::scenario::Scenario;
use vexed_tests::corpora_dir;

/// Runs `m` to `end`, injecting the scenario's inputs at their ticks; returns the console.
fn run_to(m: &mut Machine, s: &Scenario, end: u64) -> Vec<u8> {
    let mut console = Vec::new();
    loop {
        let now = m.now();
        for &(_, input) in s.inputs.iter().filter(|&&(t, _)| t == now) {
            m.inject(input).expect("input");
        }
        let next = s
            .inputs
            .iter()
            .map(|&(t, _)| t)
            .find(|&t| t > now)
            .unwrap_or(u64::MAX)
            .min(end);
        let stop = m.run_until(next);
        console.extend(m.firmware_mut().expect("firmware").take_console());
        if m.now() >= end || !matches!(stop, vexed_emu::machine::Stop::Deadline) {
            return console;
        }
    }
}

#[test]
fn snapshots_taken_anywhere_continue_identically() {
    let s = Scenario::load(&corpora_dir().join("keywait.toml")).expect("scenario");
    let end = 40_000_000;
    let (mut reference, _) = build_machine(&s).expect("machine");
    let whole = run_to(&mut reference, &s, end);
    let final_hash = reference.state_hash().expect("hash");
    // Cut points: during POST, the first instructions of the program, while DOS waits for
    // the line (InDOS = 1), between the keys, while Int 16h waits, after the end.
    for cut in [
        3, 500, 5_000, 12_000_000, 12_600_000, 30_000_000, 39_000_000,
    ] {
        let (mut m, _) = build_machine(&s).expect("machine");
        let mut console = run_to(&mut m, &s, cut);
        let snap = m.snapshot().expect("snapshot");
        let mut restored = Machine::restore(&snap).expect("restore");
        assert_eq!(restored.state_hash().unwrap(), m.state_hash().unwrap());
        console.extend(run_to(&mut restored, &s, end));
        assert_eq!(console, whole, "console after a cut at tick {cut}");
        assert_eq!(
            restored.state_hash().unwrap(),
            final_hash,
            "state after a cut at tick {cut}"
        );
    }
}

#[test]
fn how_a_run_is_sliced_does_not_change_the_state() {
    // Record and replay cut runs at different ticks (checkpoints, inputs, host pacing):
    // the state at a tick must not depend on it.
    let s = Scenario::load(&corpora_dir().join("keywait.toml")).expect("scenario");
    let end = 14_000_000;
    let (mut whole, _) = build_machine(&s).expect("machine");
    run_to(&mut whole, &s, end);
    let (mut sliced, _) = build_machine(&s).expect("machine");
    let mut t = 0;
    while t < end {
        t = (t + 49_999).min(end);
        run_to(&mut sliced, &s, t);
    }
    assert_eq!(whole.now(), sliced.now());
    assert_eq!(whole.state_hash().unwrap(), sliced.state_hash().unwrap());
}

/// The state hash a machine keeps up to date page by page, with its page map's hash cached
/// while the map does not change (trace format 7), is the hash of the state it has: after
/// every stretch of a run, the cached hash equals the hash of a fresh copy of the machine
/// (restored from its snapshot, so every page and the map are hashed anew).
/// The scenarios write memory every way the machine does: the CPU in real, protected and
/// V86 mode with paging, DOS and XMS moves, EMS mapping and copies, the VM manager's
/// per-VM pages, DPMI clients.
#[test]
fn cached_page_hashes_match_a_fresh_hash_in_every_kind_of_run() {
    for name in [
        "timeslice-tsr",
        "xmsshare-win",
        "emstest",
        "ems-banks",
        "pmswitch",
        "v86page",
        "dpmitest",
    ] {
        let s = Scenario::load(&corpora_dir().join(format!("{name}.toml"))).expect("scenario");
        let (mut m, _) = build_machine(&s).expect("machine");
        let end = s.max_ticks.min(60_000_000);
        // Checks at 5,000 ticks and every doubling after, until the run ends.
        let mut t = 2_500;
        let mut checked = 0;
        while t < end && m.now() < end {
            t = (t * 2).min(end);
            run_to(&mut m, &s, t);
            let cached = m.checkpoint_hash().expect("hash");
            let fresh = Machine::restore(&m.snapshot().expect("snapshot"))
                .expect("restore")
                .state_hash()
                .expect("hash");
            assert_eq!(cached, fresh, "{name} at tick {}", m.now());
            checked += 1;
            if m.now() < t {
                break; // the run ended
            }
        }
        assert!(checked >= 2, "{name}: {checked} checks");
    }
}
