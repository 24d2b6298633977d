//! The MC146818A real-time clock on the machine, and the AT's return to real mode through a
//! CPU reset with the CMOS shutdown byte.
//!
//! Expected values come from the Motorola MC146818A datasheet (Table 5: 1024 Hz periodic
//! rate = 976.5625 µs; an update cycle once a second) and the IBM PC/AT Technical
//! Reference (CMOS set-up, shutdown codes 05h and 0Ah); ticks are derived from them at the
//! machine's rate (25,000,000 ticks per second unless a test says otherwise).

use vexed_emu::clock::TickRate;
use vexed_emu::devices::pic::Chip;
use vexed_emu::firmware::dos::DriveC;
use vexed_emu::firmware::{Firmware, FirmwareConfig, FirmwareStop, Program};
use vexed_emu::machine::{Machine, MachineConfig, Stop};
use vexed_replay::boot::{BootEnd, boot};

const RTC_ROM: &[u8] = include_bytes!("../../corpora/roms/rtc.bin");
const RESUME: &[u8] = include_bytes!("../../corpora/guests/resume.com");

const RTC_ROM_OUTPUT: &str = "vexed rtc ROM
register A = 26h: ok
register B = 02h: ok
register D = 80h (VRT): ok
CMOS 15h = 80h: ok
CMOS 16h = 02h (640 KiB): ok
checksum of 10h-2Dh in 2Eh/2Fh: ok
year = 94h: ok
month = 01h: ok
date = 01h: ok
day of week = 07h (Saturday): ok
binary mode year = 5Eh: ok
12-hour mode hour = 12h (12 AM): ok
after UIP falls, seconds = 01h: ok
register C = 50h (UF, PF): ok
register C read again = 00h: ok
IRQ 8 handler reads C = C0h (IRQF, PF): ok
8 periodic interrupts on IRQ 8: ok
none after PIE is cleared: ok
done
";

#[test]
fn rtc_rom_passes() {
    let mut out = Vec::new();
    let report = boot(MachineConfig::default(), RTC_ROM, 100_000_000, &mut out).expect("boot");
    assert_eq!(String::from_utf8_lossy(&out), RTC_ROM_OUTPUT);
    assert_eq!(report.end, BootEnd::ExitPort(0));
    // The update cycle it waited for ends at 1 s: 25,000,000 ticks.
    assert!(report.ticks > 25_000_000, "{}", report.ticks);
}

fn bare(rate: u64) -> Machine {
    let config = MachineConfig {
        rate: TickRate::new(rate).expect("a valid rate"),
        ..MachineConfig::default()
    };
    // No ROM: the CPU runs zeroed RAM (ADD [BX+SI],AL) with interrupts disabled, so
    // interrupt requests stay in the PIC for the test to see.
    Machine::new(config).expect("machine")
}

fn cmos(m: &mut Machine, r: u8) -> u8 {
    m.io_write(0x70, r);
    m.io_read(0x71)
}

#[test]
fn irq8_arrives_at_the_tick_of_each_periodic_interrupt() {
    let mut m = bare(25_000_000);
    // Register B: PIE and 24-hour mode; register A stays 26h (1024 Hz, 976.5625 µs).
    m.io_write(0x70, 0x0B);
    m.io_write(0x71, 0x42);
    // 976.5625 µs at 25 MHz = 24,414.0625 ticks: the first tick at or after it is 24,415.
    let irr = |m: &Machine| m.bus().pic.irr(Chip::Slave) & 1;
    m.run_until(24_414);
    assert_eq!(irr(&m), 0);
    assert!(!m.bus().rtc.irq());
    m.run_until(24_415);
    assert_eq!(irr(&m), 1);
    assert!(m.bus().rtc.irq());
    // Reading C (IRQF and PF) releases the line; the next one is at 2 x 976.5625 µs =
    // 48,828.125 ticks, so tick 48,829.
    m.run_until(30_000);
    assert_eq!(cmos(&mut m, 0x0C), 0xC0);
    assert!(!m.bus().rtc.irq());
    m.run_until(48_828);
    assert!(!m.bus().rtc.irq());
    m.run_until(48_829);
    assert!(m.bus().rtc.irq());
    // Without a read of C, IRQF stays set and no further event is queued.
    m.run_until(200_000);
    assert!(m.bus().rtc.irq());
    assert!(
        !m.bus()
            .events()
            .iter()
            .any(|e| e.kind == vexed_emu::machine::EventKind::RtcIrq)
    );
}

#[test]
fn rtc_interrupts_off_queue_no_events() {
    let mut m = bare(25_000_000);
    m.run_until(30_000_000);
    assert!(
        !m.bus()
            .events()
            .iter()
            .any(|e| e.kind == vexed_emu::machine::EventKind::RtcIrq)
    );
    // The flags were still set meanwhile (PF, UF), found when C is read.
    assert_eq!(cmos(&mut m, 0x0C), 0x50);
}

#[test]
fn time_advances_with_ticks() {
    // 1,000,000 ticks per second: the first update cycle ends at tick 1,000,000 (1 s),
    // with UIP set for its last 73 crystal cycles (244 µs + 1984 µs = 2228 µs = 2,228
    // ticks: from tick 997,773, the first tick whose cycle count reaches 32,768 - 73).
    let mut m = bare(1_000_000);
    m.run_until(997_000);
    assert_eq!(cmos(&mut m, 0x0A) & 0x80, 0);
    assert_eq!(cmos(&mut m, 0x00), 0x00);
    m.run_until(997_773);
    assert_eq!(cmos(&mut m, 0x0A) & 0x80, 0x80);
    m.run_until(999_999);
    assert_eq!(cmos(&mut m, 0x00), 0x00);
    m.run_until(1_000_000);
    assert_eq!(cmos(&mut m, 0x00), 0x01);
    assert_eq!(cmos(&mut m, 0x0A) & 0x80, 0);
    // 61 s later: 00:01:02.
    m.run_until(62_000_000);
    assert_eq!(
        [cmos(&mut m, 0x04), cmos(&mut m, 0x02), cmos(&mut m, 0x00)],
        [0x00, 0x01, 0x02]
    );
}

#[test]
fn the_nmi_mask_is_machine_state() {
    let mut m = bare(1_000_000);
    let before = m.state_hash().expect("hash");
    m.io_write(0x70, 0x8D);
    assert!(m.bus().rtc.nmi_masked());
    assert_ne!(m.state_hash().expect("hash"), before);
    let r = Machine::restore(&m.snapshot().expect("snapshot")).expect("restore");
    assert!(r.bus().rtc.nmi_masked());
}

#[test]
fn a_snapshot_mid_periodic_interrupts_restores_identically() {
    // The ROM at 1,000,000 ticks per second: its update-cycle wait ends at tick 1,000,000,
    // then eight 1024 Hz interrupts (976.5625 ticks apart) and a quiet wait follow.
    let config = MachineConfig {
        rate: TickRate::new(1_000_000).expect("rate"),
        ..MachineConfig::default()
    };
    let fresh = || {
        let mut m = Machine::new(config).expect("machine");
        m.load_rom(RTC_ROM).expect("64 KiB");
        m
    };
    let total = 1_300_000;
    let mut straight = fresh();
    straight.run_until(total);
    let want = straight.state_hash().expect("hash");
    for cut in [
        500_000, 1_000_100, 1_001_500, 1_003_000, 1_006_000, 1_100_000,
    ] {
        let mut first = fresh();
        assert_eq!(first.run_until(cut), Stop::Deadline, "cut {cut}");
        let mut second = Machine::restore(&first.snapshot().expect("snapshot")).expect("restore");
        assert_eq!(second.state_hash().ok(), first.state_hash().ok());
        second.run_until(total);
        assert_eq!(second.state_hash().expect("hash"), want, "cut {cut}");
    }
    assert!(
        String::from_utf8_lossy(straight.debug_output())
            .contains("8 periodic interrupts on IRQ 8: ok")
    );
}

#[test]
fn int1a_reads_and_sets_the_cmos_clock() {
    // The firmware machine's clock starts at the configured boot time.
    let mut config = FirmwareConfig::default();
    config.dos.boot_time = vexed_emu::calendar::DateTime {
        year: 2001,
        month: 9,
        day: 8,
        hour: 13,
        minute: 45,
        second: 30,
    };
    let fw = Firmware::new(config, DriveC::new(false), Vec::new());
    let mut m = Machine::with_firmware(MachineConfig::default(), fw).expect("machine");
    assert_eq!(cmos(&mut m, 0x32), 0x20, "century");
    assert_eq!(cmos(&mut m, 0x09), 0x01);
    assert_eq!(cmos(&mut m, 0x04), 0x13);
    assert_eq!(cmos(&mut m, 0x06), 0x07, "2001-09-08 was a Saturday");
    let call = |m: &mut Machine, ax: u16, cx: u16, dx: u16| {
        m.with_service_context(|fw, ctx| {
            ctx.set_ax(ax);
            ctx.set_cx(cx);
            ctx.set_dx(dx);
            // A fake INT frame for the flags.
            ctx.cpu.set_sreg(vexed_emu::cpu::SegReg::SS, 0x0030);
            ctx.cpu.set_reg16(vexed_emu::cpu::Reg16::SP, 0x0100);
            ctx.wr16(0x0030, 0x0104, 0);
            fw.expect("firmware").service(0x1A, ctx);
            let cf = ctx.rd16(0x0030, 0x0104) & 1;
            (ctx.cx(), ctx.dx(), cf)
        })
    };
    // AH=02h: CH hours, CL minutes, DH seconds in BCD, DL = DSE (0).
    assert_eq!(call(&mut m, 0x0200, 0, 0), (0x1345, 0x3000, 0));
    // AH=04h: CH century, CL year, DH month, DL day.
    assert_eq!(call(&mut m, 0x0400, 0, 0), (0x2001, 0x0908, 0));
    // AH=03h sets 23:59:58; two seconds (50,000,000 ticks) on it is Sunday the 9th.
    call(&mut m, 0x0300, 0x2359, 0x5800);
    assert_eq!(call(&mut m, 0x0200, 0, 0), (0x2359, 0x5800, 0));
    let later = m.bus().rtc_cycles_at(m.now() + 50_000_000);
    let rtc = &m.bus().rtc;
    assert_eq!(
        [0x04, 0x02, 0x00, 0x07, 0x06].map(|r| rtc.peek(r, later)),
        [0x00, 0x00, 0x00, 0x09, 0x01]
    );
    // AH=06h sets the alarm and enables AIE; a second AH=06h fails (CF=1); AH=07h resets.
    assert_eq!(call(&mut m, 0x0600, 0x0000, 0x1000).2, 0);
    assert_eq!(cmos(&mut m, 0x0B) & 0x20, 0x20);
    assert_eq!(call(&mut m, 0x0600, 0x0000, 0x1000).2, 1);
    assert_eq!(call(&mut m, 0x0700, 0, 0).2, 0);
    assert_eq!(cmos(&mut m, 0x0B) & 0x20, 0);
    // A stopped clock (divider in reset): AH=02h returns CF=1.
    m.io_write(0x70, 0x0A);
    m.io_write(0x71, 0x66);
    assert_eq!(call(&mut m, 0x0200, 0, 0).2, 1);
}

#[test]
fn a_reset_with_shutdown_codes_0ah_and_05h_resumes_at_0040_0067() {
    let mut drive = DriveC::new(false);
    drive
        .insert_file("RESUME.COM", RESUME.to_vec())
        .expect("valid name");
    let programs = vec![Program {
        name: "RESUME.COM".into(),
        args: String::new(),
    }];
    let fw = Firmware::new(FirmwareConfig::default(), drive, programs);
    for model in [vexed_emu::cpu::Model::I80286, vexed_emu::cpu::Model::I80386] {
        let config = MachineConfig {
            model,
            ..MachineConfig::default()
        };
        let mut m = Machine::with_firmware(config, fw.clone()).expect("machine");
        let stop = m.run_until(50_000_000);
        let console =
            String::from_utf8_lossy(m.firmware().expect("firmware").console()).into_owned();
        assert_eq!(
            console,
            "vexed resume test\r
reset with shutdown code 0Ah resumed at 0040:0067h\r
  RAM kept: ok\r
  shutdown byte cleared by POST: ok\r
  A20 still on: ok\r
  no EOI, IRQ 0 still in service: ok\r
reset with shutdown code 05h resumed at 0040:0067h\r
  RAM kept: ok\r
  shutdown byte cleared by POST: ok\r
  A20 still on: ok\r
  EOI sent, IRQ 0 not in service: ok\r
",
            "{model:?}"
        );
        assert_eq!(
            stop,
            Stop::Firmware(FirmwareStop::Finished { exit_code: 0 }),
            "{model:?}"
        );
    }
}

#[test]
fn a_plain_reset_after_boot_still_ends_the_run() {
    // Shutdown byte 00h: a normal POST, which after DOS has booted stops the machine as
    // before. (out 64h,FEh from a program.)
    let prog: &[u8] = &[0xB0, 0xFE, 0xE6, 0x64, 0xF4, 0xEB, 0xFD];
    let mut drive = DriveC::new(false);
    drive.insert_file("RESET.COM", prog.to_vec()).expect("name");
    let fw = Firmware::new(
        FirmwareConfig::default(),
        drive,
        vec![Program {
            name: "RESET.COM".into(),
            args: String::new(),
        }],
    );
    let mut m = Machine::with_firmware(MachineConfig::default(), fw).expect("machine");
    assert_eq!(m.run_until(50_000_000), Stop::Firmware(FirmwareStop::Reset));
}
