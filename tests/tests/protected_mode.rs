//! 80286 protected mode through `corpora/roms/pmode.bin`, on the 286 and 386 models.
//!
//! The ROM checks, one line per rule of the Intel 80286 Programmer's Reference Manual
//! (1987), segment loads and the accessed bit, #GP/#NP with selector error codes, limit,
//! read-only and null-selector faults, LAR/LSL/VERR/VERW/ARPL, IRET to ring 3, interrupt
//! gates from ring 3 with the stack from the TSS, the gate DPL check, IOPL, a call gate
//! with parameter copy and RETF to the outer level, a task switch by CALL and IRET, #SS and
//! #TS with selector error codes, a double fault, and a triple fault that resets the CPU
//! into real mode (each check cites its section in the source). The 8086 has no protected mode: the ROM
//! cannot pass there. Snapshots taken at ring 3 and inside the second task restore and
//! continue identically.

use vexed_emu::cpu::Model;
use vexed_emu::machine::{Machine, MachineConfig, Stop};
use vexed_replay::boot::{BootEnd, boot};

const ROM: &[u8] = include_bytes!("../../corpora/roms/pmode.bin");

const EXPECTED: &str = "vexed protected-mode ROM
lmsw sets PE, far jmp loads CS from the GDT: ok
segment load sets the accessed bit: ok
mov ds, system descriptor: #GP(sel): ok
mov ds, not-present segment: #NP(sel): ok
word beyond the limit: #GP(0): ok
write to read-only data: #GP(0): ok
access through a null selector: #GP(0): ok
mov ss, null: #GP(0): ok
lar, lsl, verr, verw, arpl: ok
iret to ring 3 nulls DS: ok
int from ring 3 through a DPL-3 gate, stack from the TSS: ok
int from ring 3 to a DPL-0 gate: #GP(vector*8+2): ok
in at CPL 3 > IOPL: #GP(0): ok
call gate with 2 parameters, retf 4 back to ring 3: ok
task switch by call, iret with NT back: ok
mov ss, not-present segment: #SS(sel): ok
call to a TSS shorter than 44 bytes: #TS(sel): ok
#GP with its gate not present: double fault, error code 0: ok
triple fault: shutdown, the CPU resets into real mode: ok
done
";

fn machine(model: Model) -> Machine {
    let config = MachineConfig {
        model,
        ..MachineConfig::default()
    };
    let mut m = Machine::new(config).expect("the default configuration is valid");
    m.load_rom(ROM).expect("the ROM is 64 KiB");
    m
}

#[test]
fn pmode_rom_passes_on_the_286_and_386() {
    for model in [Model::I80286, Model::I80386] {
        let mut out = Vec::new();
        let config = MachineConfig {
            model,
            ..MachineConfig::default()
        };
        let report = boot(config, ROM, 10_000_000, &mut out).expect("boot runs");
        assert_eq!(String::from_utf8_lossy(&out), EXPECTED, "{model:?}");
        assert_eq!(report.end, BootEnd::ExitPort(0), "{model:?}");
    }
}

#[test]
fn the_8086_has_no_protected_mode() {
    // 0F 01 is POP CS and garbage on the 8086: the ROM never reaches its checks.
    let mut out = Vec::new();
    let config = MachineConfig {
        model: Model::I8086,
        ..MachineConfig::default()
    };
    let report = boot(config, ROM, 2_000_000, &mut out).expect("boot runs");
    assert_ne!(report.end, BootEnd::ExitPort(0));
    assert!(!String::from_utf8_lossy(&out).contains("ok\n"));
}

/// A machine state to stop at.
type StatePredicate = fn(&Machine) -> bool;

/// Runs `m` one tick at a time until `at` holds, at most `limit` ticks.
fn run_until_state(m: &mut Machine, limit: u64, at: impl Fn(&Machine) -> bool) {
    while !at(m) {
        assert!(m.now() < limit, "the state never came");
        m.run_until(m.now() + 1);
    }
}

#[test]
fn snapshots_in_ring_3_and_in_the_second_task_continue_identically() {
    for model in [Model::I80286, Model::I80386] {
        let states: [(&str, StatePredicate); 2] = [
            ("ring 3", |m| m.cpu().cpl() == 3),
            ("task 2", |m| m.cpu().task_selector() == 0x60),
        ];
        for (what, at) in states {
            let mut m = machine(model);
            run_until_state(&mut m, 1_000_000, at);
            assert!(m.cpu().in_protected_mode(), "{what}");
            let snap = m.snapshot().expect("snapshot");
            let mut r = Machine::restore(&snap).expect("restore");
            assert_eq!(r.state_hash().expect("hash"), m.state_hash().expect("hash"));
            assert_eq!(m.run_until(10_000_000), Stop::ExitPort(0), "{what}");
            assert_eq!(r.run_until(10_000_000), Stop::ExitPort(0), "{what}");
            assert_eq!(r.debug_output(), m.debug_output(), "{model:?} {what}");
            assert_eq!(String::from_utf8_lossy(m.debug_output()), EXPECTED);
            assert_eq!(r.state_hash().expect("hash"), m.state_hash().expect("hash"));
        }
    }
}
