//! Bare-ROM tests of 80386 protected mode: `corpora/roms/paging386.bin`.
//!
//! The ROM enters protected mode from real mode, turns paging on and checks the accessed
//! and dirty bits and page faults (error code and CR2) at CPL 0 and CPL 3, runs a
//! virtual-8086 task under a ring-0 monitor (#GP for CLI and INT n at IOPL 0, the monitor's
//! stack frame, the TSS I/O permission bitmap, INT n through the IDT at IOPL 3), returns to
//! real mode by clearing PE and checks "unreal" mode. Each rule comes from the Intel 80386
//! Programmer's Reference Manual (1986); the ROM cites the section beside each check and
//! prints "ok" for each rule that holds.

use vexed_emu::cpu::Model;
use vexed_emu::machine::Stop;
use vexed_replay::boot::BootEnd;
use vexed_tests::{boot_rom, run_rom_without_blocks};

const ROM: &[u8] = include_bytes!("../../corpora/roms/paging386.bin");

const TICKS: u64 = 100_000_000;

const EXPECTED: &str = "vexed paging386 ROM
protected mode: CR0.PE=1, CS=08h, 32-bit code: ok
paging: a read sets A in the PTE and the PDE, not D: ok
paging: a write sets D in the PTE: ok
paging: linear 405000h maps to physical 25000h: ok
paging: read of a not-present page, #PF error 0, CR2: ok
paging: write of a not-present page, #PF error 2, CR2: ok
paging: CPL 0 writes a read-only page without a fault: ok
ring 3 entered with RETF: ok
paging: CPL 3 read of a supervisor page, #PF error 5, CR2: ok
paging: CPL 3 write of a supervisor page, #PF error 7, CR2: ok
paging: CPL 3 reads a user read-only page: ok
paging: CPL 3 write of a user read-only page, #PF error 7, CR2: ok
v86 entered by IRETD: CS=F000h, CR0.PE=1: ok
v86 cli at IOPL 0: #GP(0) to the ring-0 handler: ok
v86 #GP frame: EIP CS EFLAGS(VM) ESP SS ES DS FS GS: ok
v86 #GP handler entered with DS ES FS GS = 0: ok
monitor IRETD back to v86 reloads ES DS FS GS: ok
v86 int 30h at IOPL 0: #GP(0), not the gate: ok
v86 out dx,al / in al,dx at E9h allowed by the I/O bitmap: ok
v86 in al,dx at E8h denied by the I/O bitmap: #GP(0): ok
v86 out dx,al at 80h denied by the I/O bitmap: #GP(0): ok
v86 in ax,dx at E9h (EAh denied): #GP(0): ok
monitor grants IOPL 3, pushf in v86 shows it: ok
v86 int 30h at IOPL 3 through the IDT gate to ring 0: ok
v86 int 30h frame: ESP SS ES DS FS GS, handler DS ES FS GS = 0: ok
real mode again: CR0.PE=0, PG=0: ok
real mode int 50h through the vector table at 0: ok
real mode with 64 KiB limits: [esi=10000h] raises interrupt 13: ok
unreal: real-mode mov eax,[es:esi], ESI=200000h, reads pmode's write: ok
unreal: a real-mode load of ES keeps the 4 GiB limit: ok
done
";

#[test]
fn paging386_rom_passes_on_the_386() {
    let (text, end) = boot_rom(Model::I80386, ROM, TICKS);
    assert_eq!(text, EXPECTED);
    assert_eq!(end, BootEnd::ExitPort(0));
}

#[test]
fn paging386_rom_does_not_pass_on_the_286() {
    // The 80286 has no 32-bit registers, no CR0 beyond the MSW and no paging: the ROM
    // stops at its first 386 instruction (or fails its checks), never exiting with 0.
    let (text, end) = boot_rom(Model::I80286, ROM, TICKS);
    assert_ne!(end, BootEnd::ExitPort(0), "{text}");
}

#[test]
fn paging386_rom_passes_with_the_block_cache_off() {
    // The same ROM through the interpreter alone: protected mode, paging and V86 mode must
    // not depend on the decoded-block cache.
    let (text, stop) = run_rom_without_blocks(Model::I80386, ROM, TICKS);
    assert_eq!(text, EXPECTED);
    assert_eq!(stop, Stop::ExitPort(0));
}
