//! Bare-ROM test of a virtual-8086 monitor that reflects interrupts:
//! `corpora/roms/v86mon.bin`.
//!
//! A ring-0 monitor runs a V86 task at IOPL 0 with the real IF = 1 and emulates the
//! IOPL-sensitive instructions as EMM386-class monitors do (Intel 80386 Programmer's
//! Reference Manual, 15.3-15.4): INT n is reflected through the task's own vector table
//! (FLAGS with the virtual IF, CS and IP+2 onto the V86 stack), IRET, CLI, STI, PUSHF and
//! POPF work on a virtual IF while the real IF stays 1, a simulated hardware interrupt is
//! reflected at once or held until the virtual IF is 1, and INT3/INTO (not sensitive)
//! come through DPL-3 gates and are reflected the same way. The ROM prints "ok" for each
//! rule that holds.

use vexed_emu::cpu::Model;
use vexed_emu::machine::{Machine, MachineConfig, Stop};
use vexed_replay::boot::{BootEnd, boot};

const ROM: &[u8] = include_bytes!("../../corpora/roms/v86mon.bin");

const TICKS: u64 = 100_000_000;

const EXPECTED: &str = "vexed v86mon ROM
v86 task entered at IOPL 0, real IF 1
v86 int 60h at IOPL 0: #GP(0), reflected to the handler in IVT[60h]: ok
reflected frame on the v86 stack: IP after the int, CS, FLAGS IF=1 CF=1: ok
v86 handler entered with the virtual IF and TF clear: ok
v86 iret emulated: back after the int, SP restored, AX from the handler: ok
emulated iret restores the virtual IF: ok
v86 cli emulated: pushf shows IF=0: ok
the monitor's frame keeps the real IF=1 after cli: ok
v86 sti emulated: pushf shows IF=1: ok
v86 popf emulated: CF loaded, IF to the virtual IF, real IF kept: ok
monitor reflects a simulated interrupt 61h at once when IF=1: ok
a simulated interrupt is held while IF=0 and delivered at sti: ok
v86 int3 through the DPL-3 gate, reflected to IVT[3], IP after the CC: ok
v86 into with OF=1 through the DPL-3 gate, reflected to IVT[4]: ok
v86 into with OF=0: no interrupt: ok
every monitor frame had VM=1, real IF=1, error code 0: ok
done
";

/// The lines about INT3 and INTO, which fail because of the CPU bug described below.
const INT3_INTO: [&str; 2] = ["v86 int3 through", "v86 into with OF=1"];

// 80386 PRM 15.4 lists CLI, STI, LOCK, PUSHF, POPF, INT n and IRET as the instructions
// sensitive to IOPL in V86 mode; INT 3 (CC) and INTO (CE) are not among them (the Intel
// SDM's INT3 entry: "the virtual-8086 mode IOPL checks do not occur"), so at IOPL 0 they
// go through the IDT (DPL-3 gates) to the monitor. The emulator raises #GP(0) for them
// (`software_interrupt` in emu/src/cpu/interrupt.rs treats vectors 3 and 4 like INT n).
#[test]
fn v86mon_rom_passes_on_the_386() {
    let mut out = Vec::new();
    let config = MachineConfig {
        model: Model::I80386,
        ..MachineConfig::default()
    };
    let report = boot(config, ROM, TICKS, &mut out).expect("boot runs");
    assert_eq!(String::from_utf8_lossy(&out), EXPECTED);
    assert_eq!(report.end, BootEnd::ExitPort(0));
}

#[test]
fn v86mon_rom_passes_with_the_block_cache_off() {
    // The same ROM through the interpreter alone: the monitor's reflections must not
    // depend on the decoded-block cache.
    let config = MachineConfig {
        model: Model::I80386,
        ..MachineConfig::default()
    };
    let mut m = Machine::new(config).expect("the default configuration is valid");
    m.load_rom(ROM).expect("the ROM is 64 KiB");
    m.cpu_mut().set_block_cache(false);
    let stop = m.run_until(TICKS);
    assert_eq!(String::from_utf8_lossy(m.debug_output()), EXPECTED);
    assert_eq!(stop, Stop::ExitPort(0));
}

#[test]
fn v86mon_rom_reflects_int_n_iret_and_the_virtual_if() {
    // Every check but the two about INT3 and INTO's path (see above) passes today, with
    // and without the block cache, and both runs print the same text.
    let mut out = Vec::new();
    let config = MachineConfig {
        model: Model::I80386,
        ..MachineConfig::default()
    };
    boot(config, ROM, TICKS, &mut out).expect("boot runs");
    let text = String::from_utf8_lossy(&out).into_owned();
    for line in EXPECTED.lines() {
        if INT3_INTO.iter().any(|p| line.starts_with(p)) {
            continue;
        }
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    let config = MachineConfig {
        model: Model::I80386,
        ..MachineConfig::default()
    };
    let mut m = Machine::new(config).expect("the default configuration is valid");
    m.load_rom(ROM).expect("the ROM is 64 KiB");
    m.cpu_mut().set_block_cache(false);
    m.run_until(TICKS);
    assert_eq!(String::from_utf8_lossy(m.debug_output()), text);
}
