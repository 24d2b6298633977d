//! Booting the Rust BIOS and DOS and running small programs (hand-assembled here; the
//! bigger guests live in corpora/guests and run through `vexed run`).

use vexed_emu::firmware::dos::DriveC;
use vexed_emu::firmware::{Firmware, FirmwareConfig, FirmwareStop, Program};
use vexed_emu::machine::{Machine, MachineConfig, Stop};

fn run(files: &[(&str, &[u8])], programs: &[&str], max_ticks: u64) -> (Stop, Machine) {
    let mut drive = DriveC::new(false);
    for (name, bytes) in files {
        drive.insert_file(name, bytes.to_vec()).expect("valid name");
    }
    let programs = programs
        .iter()
        .map(|p| Program {
            name: p.to_string(),
            args: String::new(),
        })
        .collect();
    let fw = Firmware::new(FirmwareConfig::default(), drive, programs);
    let mut m = Machine::with_firmware(MachineConfig::default(), fw).expect("machine");
    let stop = m.run_until(max_ticks);
    (stop, m)
}

fn console(m: &Machine) -> String {
    String::from_utf8_lossy(m.firmware().expect("firmware").console()).into_owned()
}

/// mov dx,010Ch; mov ah,9; int 21h; mov ax,4C03h; int 21h; db 'Hello$'
const HELLO: &[u8] = &[
    0xBA, 0x0C, 0x01, 0xB4, 0x09, 0xCD, 0x21, 0xB8, 0x03, 0x4C, 0xCD, 0x21, b'H', b'e', b'l', b'l',
    b'o', b'$',
];

#[test]
fn a_com_program_prints_and_returns_its_exit_code() {
    let (stop, m) = run(&[("HELLO.COM", HELLO)], &["HELLO.COM"], 10_000_000);
    assert_eq!(
        stop,
        Stop::Firmware(FirmwareStop::Finished { exit_code: 3 })
    );
    assert_eq!(console(&m), "Hello");
    let t = m.firmware().unwrap().terminations();
    assert_eq!((t[0].code, t[0].kind), (3, 0));
}

#[test]
fn a_missing_program_stops_with_file_not_found() {
    let (stop, _) = run(&[], &["NOPE.COM"], 10_000_000);
    assert_eq!(
        stop,
        Stop::Firmware(FirmwareStop::ExecFailed { index: 0, error: 2 })
    );
}

#[test]
fn console_output_is_on_the_screen_too() {
    let (_, m) = run(&[("HELLO.COM", HELLO)], &["HELLO.COM"], 10_000_000);
    let screen = vexed_emu::firmware::bios::screen_text(&m.bus().mem);
    assert_eq!(screen[0], "Hello");
    assert!(screen[1..].iter().all(|l| l.is_empty()));
}

/// xorshift64*: a fixed-seed generator for the garbage below (no host randomness).
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[test]
fn garbage_programs_end_without_a_host_panic() {
    let mut seed = 0x5EED_0FDA_u64;
    for case in 0..150 {
        let len = 16 + (next(&mut seed) % 600) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next(&mut seed) as u8).collect();
        let (stop, m) = run(&[("JUNK.COM", &bytes)], &["JUNK.COM"], 2_000_000);
        // Any ending is guest behaviour; what matters is that it is reported, not a panic,
        // and that the machine's state can still be saved.
        assert!(
            matches!(
                stop,
                Stop::Deadline | Stop::HaltedForever | Stop::Firmware(_)
            ),
            "case {case}: {stop:?}"
        );
        m.snapshot().expect("state encodes");
    }
}

#[test]
fn corrupt_exe_headers_are_refused_or_run_without_a_host_panic() {
    let exe = std::fs::read(vexed_tests::corpora_dir().join("guests/dostest.exe"))
        .expect("dostest.exe is committed");
    let child = std::fs::read(vexed_tests::corpora_dir().join("guests/child.com"))
        .expect("child.com is committed");
    let mut seed = 0xBAD_4EAD_u64;
    let mut refused = 0;
    for case in 0..150 {
        let mut bytes = exe.clone();
        for _ in 0..1 + next(&mut seed) % 4 {
            let at = (next(&mut seed) % 0x20) as usize; // the fixed header fields
            bytes[at] = next(&mut seed) as u8;
        }
        let (stop, _) = run(
            &[("DOSTEST.EXE", &bytes), ("CHILD.COM", &child)],
            &["DOSTEST.EXE"],
            5_000_000,
        );
        if let Stop::Firmware(FirmwareStop::ExecFailed { error, .. }) = stop {
            assert!(
                matches!(error, 0x08 | 0x0B),
                "case {case}: DOS error {error:02X}h"
            );
            refused += 1;
        }
    }
    assert!(refused > 0, "no corrupted header was refused");
}
