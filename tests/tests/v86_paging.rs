//! The firmware under a guest's V86 monitor with paging on (corpora/guests/v86page.asm,
//! whose normal run is the `v86page` scenario with its golden trace): a service reached
//! from V86 mode addresses memory through the guest's page tables (Intel 80386
//! Programmer's Reference Manual 5.2), and a page that is not present ends the run with a
//! message naming the linear address, since a service written in Rust cannot take the page
//! fault halfway and restart.

use vexed_emu::cpu::Model;
use vexed_emu::firmware::dos::DriveC;
use vexed_emu::firmware::{Firmware, FirmwareConfig, FirmwareStop, Program};
use vexed_emu::machine::{Machine, MachineConfig, Stop};

const V86PAGE: &[u8] = include_bytes!("../../corpora/guests/v86page.com");

fn run(args: &str) -> (Stop, String) {
    let mut drive = DriveC::new(false);
    drive
        .insert_file("V86PAGE.COM", V86PAGE.to_vec())
        .expect("valid name");
    let programs = vec![Program {
        name: "V86PAGE.COM".into(),
        args: args.into(),
    }];
    let fw = Firmware::new(FirmwareConfig::default(), drive, programs);
    let config = MachineConfig {
        model: Model::I80386,
        ..MachineConfig::default()
    };
    let mut m = Machine::with_firmware(config, fw).expect("machine");
    let stop = m.run_until(5_000_000);
    let console = String::from_utf8_lossy(m.firmware().expect("firmware").console()).into_owned();
    (stop, console)
}

#[test]
fn dos_and_the_bios_work_through_the_page_tables() {
    let (stop, console) = run("");
    assert_eq!(
        stop,
        Stop::Firmware(FirmwareStop::Finished { exit_code: 0 }),
        "{console}"
    );
    assert!(!console.contains("FAIL"), "{console}");
}

#[test]
fn a_service_that_reaches_a_page_not_present_ends_the_run_with_the_address() {
    let (stop, console) = run("fault");
    // The program's last words before the call; the call's own output is not kept.
    assert!(
        console.ends_with("Int 21h AH=09h on a page that is not present:\r\n"),
        "{console}"
    );
    let Stop::Firmware(FirmwareStop::PageFault { linear, code, .. }) = stop else {
        panic!("{stop:?}\n{console}");
    };
    // DS:DX is the first byte of page N, which the program leaves not present; the error
    // code of a user-mode read of a page not present is 4 (80386 PRM 9.8.14: P = 0,
    // W/R = 0, U/S = 1).
    assert_eq!(linear & 0xFFF, 0, "{linear:08X}");
    assert_eq!(code, 4);
    let text = FirmwareStop::PageFault {
        linear,
        code,
        cs: 0x70,
        ip: 9,
    }
    .to_string();
    assert!(text.contains(&format!("{linear:08X}h")), "{text}");
}
