//! DOS's List of Lists (Int 21h AH=52h) and the answer to function numbers MS-DOS 5 does
//! not have, as the guest corpora/guests/doslol.asm sees them. Expected lines follow RBIL
//! INT 21/AH=52h (table #01627: first MCB at [BX-2], NUL header at +22h heading the device
//! chain, which ends at offset FFFFh; CLOCK$ at +08h, CON at +0Ch; LASTDRIVE default E;
//! CDS of C: "C:\" with the physical bit; DPB of C:), INT 21/AX=5D06h (table #01690: InDOS,
//! the current PSP and the DTA at +01h, +10h and +0Ch; CX = 78Ch to the table's last field,
//! DX = 1Ah swapped always), vexed's documented device order
//! (NUL, the CONFIG.SYS driver EMMXXXX0 when EMS is on, CON, CLOCK$, the C: block device;
//! `emu/src/firmware/dos/tables.rs`), and Microsoft's Windows 95 SDK on down-level systems
//! for AX=716Ch: AL = 00h, AH and CF unchanged, so AX=7100h.

use vexed_emu::firmware::dos::DriveC;
use vexed_emu::firmware::{Firmware, FirmwareConfig, FirmwareStop, Program};
use vexed_emu::machine::{Machine, MachineConfig, Stop};

fn run_guest(config: FirmwareConfig) -> (Stop, String) {
    let bytes = std::fs::read(vexed_tests::corpora_dir().join("guests/doslol.com"))
        .expect("doslol.com is committed");
    let mut drive = DriveC::new(false);
    drive.insert_file("DOSLOL.COM", bytes).expect("valid name");
    let programs = vec![Program {
        name: "DOSLOL.COM".into(),
        args: String::new(),
    }];
    let fw = Firmware::new(config, drive, programs);
    let mut m = Machine::with_firmware(MachineConfig::default(), fw).expect("machine");
    let stop = m.run_until(20_000_000);
    let console = String::from_utf8_lossy(m.firmware().expect("firmware").console()).into_owned();
    (stop, console)
}

fn expected(devices: &str) -> String {
    format!(
        "first MCB at [BX-2] reaches our block: yes\r\n\
         devices: {devices}(end FFFFh)\r\n\
         clock device: CLOCK$ \r\n\
         console device: CON \r\n\
         LASTDRIVE: E\r\n\
         C: directory: C:\\ (physical drive)\r\n\
         drive parameter block: drive C: 512 bytes per sector, as AH=32h\r\n\
         system file table entries: yes\r\n\
         swappable data area: InDOS at +1, PSP at +10h, DTA at +0Ch; CX=078C DX=001A\r\n\
         AX=716Ch with CF=1: AX=7100 CF=1\r\n\
         AX=716Ch with CF=0: AX=7100 CF=0\r\n"
    )
}

#[test]
fn the_list_of_lists_leads_to_dos_structures_with_ems() {
    let (stop, console) = run_guest(FirmwareConfig::default());
    assert_eq!(console, expected("NUL EMMXXXX0 CON CLOCK$ (block) "));
    assert_eq!(
        stop,
        Stop::Firmware(FirmwareStop::Finished { exit_code: 0 })
    );
}

#[test]
fn without_ems_the_device_chain_has_no_emmxxxx0() {
    let config = FirmwareConfig {
        ems: None,
        ..FirmwareConfig::default()
    };
    let (stop, console) = run_guest(config);
    assert_eq!(console, expected("NUL CON CLOCK$ (block) "));
    assert_eq!(
        stop,
        Stop::Firmware(FirmwareStop::Finished { exit_code: 0 })
    );
}
