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
