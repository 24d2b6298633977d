//! The 80386 debug registers through `corpora/roms/debug386.bin`.
//!
//! The ROM checks, one line per rule of the Intel 80386 Programmer's Reference Manual
//! (1986) chapter 12 (each check cites its section in the source): the fixed bits of DR6
//! and DR7 (figure 12-1), an instruction breakpoint as a fault resumed past with RF
//! (12.3.1.1) and general detect (12.2.4) in real mode; then in protected mode the
//! instruction breakpoint (RF clear in its EFLAGS image), data breakpoints as traps after
//! the accessing instruction (write, read or write, the address aligned to the length,
//! 12.2.2 and 12.3.1.2), no #DB with the enable bits clear, the single-step trap with BS
//! (12.3.1.4), general detect with RF set in the fault's image, the task-switch trap of a
//! TSS with the T bit (12.3.1.5), and the single-step trap in virtual-8086 mode. A
//! snapshot taken with breakpoints armed restores and continues identically; the 80286 has
//! no debug registers and cannot pass.

use vexed_emu::cpu::Model;
use vexed_emu::machine::{Machine, MachineConfig, Stop};
use vexed_replay::boot::{BootEnd, boot};

const ROM: &[u8] = include_bytes!("../../corpora/roms/debug386.bin");

const TICKS: u64 = 10_000_000;

const EXPECTED: &str = "vexed debug386 ROM
real mode: DR6 reads FFFF0FF0h, DR7 reads 400h: ok
real mode: instruction breakpoint, fault at the IP, B0, IRETD with RF resumes: ok
real mode: GD, mov eax,dr0 faults with BD, GD cleared: ok
protected mode: instruction breakpoint, fault at the EIP, B0, RF clear in the image, IRETD with RF resumes: ok
protected mode: dword write breakpoint, trap after the write, B1; a read does not match: ok
protected mode: read/write breakpoint hit by a read, B2: ok
protected mode: 2-byte breakpoint at an odd address covers the aligned word, B3: ok
protected mode: no #DB with L0 and G0 clear: ok
protected mode: single step after POPFD sets TF, BS: ok
protected mode: GD, mov dr7,eax faults with BD, RF set in the image, GD cleared: ok
protected mode: task switch into a TSS with the T bit, BT before its first instruction: ok
virtual-8086 mode: single step after IRETD sets TF, BS, VM in the image: ok
done
";

fn config(model: Model) -> MachineConfig {
    MachineConfig {
        model,
        ..MachineConfig::default()
    }
}

fn machine() -> Machine {
    let mut m = Machine::new(config(Model::I80386)).expect("the default configuration is valid");
    m.load_rom(ROM).expect("the ROM is 64 KiB");
    m
}

#[test]
fn debug386_rom_passes_on_the_386() {
    let mut out = Vec::new();
    let report = boot(config(Model::I80386), ROM, TICKS, &mut out).expect("boot runs");
    assert_eq!(String::from_utf8_lossy(&out), EXPECTED);
    assert_eq!(report.end, BootEnd::ExitPort(0));
}

#[test]
fn the_286_has_no_debug_registers() {
    // MOV to and from DRn is in the 0Fh map of the 80386 only: the ROM stops at its
    // invalid-opcode handler.
    let mut out = Vec::new();
    let report = boot(config(Model::I80286), ROM, TICKS, &mut out).expect("boot runs");
    assert_ne!(report.end, BootEnd::ExitPort(0));
    assert!(!String::from_utf8_lossy(&out).contains("ok\n"));
}

#[test]
fn snapshots_with_breakpoints_armed_continue_identically() {
    // Stop at each of the first ticks where DR7 enables a breakpoint (the instruction
    // breakpoint in real mode, then the data breakpoints in protected mode), snapshot,
    // restore, and run both copies to the end.
    let mut reference = machine();
    assert_eq!(reference.run_until(TICKS), Stop::ExitPort(0));
    let mut armed_at = Vec::new();
    let mut m = machine();
    let mut was_armed = false;
    while m.now() < TICKS && armed_at.len() < 8 {
        if m.run_until(m.now() + 1) != Stop::Deadline {
            break;
        }
        let armed = m.cpu().debug_register(7) & 0xFF != 0;
        if armed && !was_armed {
            armed_at.push(m.now());
        }
        was_armed = armed;
    }
    assert!(armed_at.len() >= 5, "breakpoints armed at {armed_at:?}");
    for &tick in &armed_at {
        let mut m = machine();
        m.run_until(tick);
        // One tick more: inside the armed stretch, with the breakpoint about to hit.
        m.run_until(tick + 1);
        let snap = m.snapshot().expect("snapshot");
        let mut r = Machine::restore(&snap).expect("restore");
        assert_eq!(r.state_hash().expect("hash"), m.state_hash().expect("hash"));
        assert_eq!(m.run_until(TICKS), Stop::ExitPort(0), "tick {tick}");
        assert_eq!(r.run_until(TICKS), Stop::ExitPort(0), "tick {tick}");
        assert_eq!(r.debug_output(), m.debug_output(), "tick {tick}");
        assert_eq!(r.state_hash().expect("hash"), m.state_hash().expect("hash"));
        assert_eq!(
            m.state_hash().expect("hash"),
            reference.state_hash().expect("hash")
        );
    }
}
