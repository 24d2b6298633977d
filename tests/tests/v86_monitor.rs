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
use vexed_emu::machine::Stop;
use vexed_replay::boot::BootEnd;
use vexed_tests::{boot_rom, run_rom_without_blocks};

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

#[test]
fn v86mon_rom_passes_on_the_386() {
    // INT3 and INTO are not IOPL-sensitive (80386 PRM 15.4 lists CLI, STI, LOCK, PUSHF,
    // POPF, INT n and IRET), so at IOPL 0 they go through their DPL-3 gates; INT n traps.
    let (text, end) = boot_rom(Model::I80386, ROM, TICKS);
    assert_eq!(text, EXPECTED);
    assert_eq!(end, BootEnd::ExitPort(0));
}

#[test]
fn v86mon_rom_passes_with_the_block_cache_off() {
    // The same ROM through the interpreter alone: the monitor's reflections must not
    // depend on the decoded-block cache.
    let (text, stop) = run_rom_without_blocks(Model::I80386, ROM, TICKS);
    assert_eq!(text, EXPECTED);
    assert_eq!(stop, Stop::ExitPort(0));
}
