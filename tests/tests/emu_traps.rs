//! The emulator trap `FE 38 lo hi` is honoured only in the firmware's own stubs: guest code
//! that writes the same bytes gets what an 80286/80386 gives for group 4 with reg = 7,
//! interrupt 6 (#UD) with the saved CS:IP at the FE byte (80286 and 80386 Programmer's
//! Reference Manuals, "Interrupt 6 - Invalid Opcode"). The guest is
//! corpora/guests/udtrap.asm; its expected lines follow from that rule, not from a run.

use vexed_emu::cpu::Model;
use vexed_emu::firmware::dos::DriveC;
use vexed_emu::firmware::{Firmware, FirmwareConfig, FirmwareStop, Program};
use vexed_emu::machine::{Machine, MachineConfig, Stop};
use vexed_emu::observe::Observation;

fn run_guest(model: Model) -> (Stop, String, Vec<Observation>) {
    let bytes = std::fs::read(vexed_tests::corpora_dir().join("guests/udtrap.com"))
        .expect("udtrap.com is committed");
    let mut drive = DriveC::new(false);
    drive.insert_file("UDTRAP.COM", bytes).expect("valid name");
    let programs = vec![Program {
        name: "UDTRAP.COM".into(),
        args: String::new(),
    }];
    let fw = Firmware::new(FirmwareConfig::default(), drive, programs);
    let config = MachineConfig {
        model,
        ..MachineConfig::default()
    };
    let mut m = Machine::with_firmware(config, fw).expect("machine");
    let stop = m.run_until(20_000_000);
    let console = String::from_utf8_lossy(m.firmware().expect("firmware").console()).into_owned();
    let observations = m.take_observations().into_iter().map(|(_, o)| o).collect();
    (stop, console, observations)
}

#[test]
fn guest_trap_bytes_raise_invalid_opcode_at_the_fe_byte() {
    for model in [Model::I80286, Model::I80386] {
        let (stop, console, observations) = run_guest(model);
        assert_eq!(
            console,
            "FE 38 06 05: #UD at the FE byte\r\n\
             FE 38 00 01: #UD at the FE byte\r\n\
             FE 38 21 02: #UD at the FE byte\r\n\
             Int 21h hooked, chained to the old stub\r\n",
            "{model:?}"
        );
        assert_eq!(
            stop,
            Stop::Firmware(FirmwareStop::Finished { exit_code: 0 }),
            "{model:?}"
        );
        // Service 0506h is the VMM's "exited" step: no VMM is configured, none ran.
        assert!(
            !observations
                .iter()
                .any(|o| matches!(o, Observation::VmmExit)),
            "{model:?}: {observations:?}"
        );
    }
}

#[test]
fn the_firmware_registers_only_its_stubs() {
    let fw = Firmware::new(FirmwareConfig::default(), DriveC::new(false), Vec::new());
    let mut m = Machine::with_firmware(MachineConfig::default(), fw).expect("machine");
    // Before POST: only the ROM's stubs, all in F0000h-FFFFFh.
    let rom: Vec<_> = m.cpu().trap_sites().iter().collect();
    assert!(!rom.is_empty());
    assert!(rom.iter().all(|&(a, _)| (0xF_0000..0x10_0000).contains(&a)));
    m.run_until(2_000_000);
    // After POST: DOS, XMS and EMS stubs too, and every site holds its trap.
    let sites: Vec<_> = m.cpu().trap_sites().iter().collect();
    assert!(sites.len() > rom.len());
    for (addr, service) in sites {
        let mem = &m.bus().mem;
        let bytes = [
            mem.read_u8(addr),
            mem.read_u8(addr + 1),
            mem.read_u8(addr + 2),
            mem.read_u8(addr + 3),
        ];
        let [lo, hi] = service.to_le_bytes();
        assert_eq!(bytes, [0xFE, 0x38, lo, hi], "site {addr:05X}h");
    }
}
