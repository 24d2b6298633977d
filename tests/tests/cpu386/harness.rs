//! The shared harness: a reset 80386 with a `HLT` handler per vector, a runner that runs
//! every program with the block cache on and off, and accessors.

pub(crate) use vexed_emu::bare::BareSystem;
pub(crate) use vexed_emu::cpu::{Model, Reg8, Reg16, Reg32, SegReg};

pub(crate) const CODE_SEG: u16 = 0x1000;
pub(crate) const CODE_OFF: u16 = 0x0100;
pub(crate) const DATA_SEG: u16 = 0x2000;
pub(crate) const STACK_SEG: u16 = 0x3000;
pub(crate) const EXTRA_SEG: u16 = 0x4000;
pub(crate) const STACK_TOP: u16 = 0xFFF0;
pub(crate) const HANDLERS: u16 = 0x0500;
pub(crate) const MAX_TICKS: u64 = 1_000_000;

pub(crate) const CF: u32 = 1 << 0;
pub(crate) const PF: u32 = 1 << 2;
pub(crate) const AF: u32 = 1 << 4;
pub(crate) const ZF: u32 = 1 << 6;
pub(crate) const SF: u32 = 1 << 7;
pub(crate) const TF: u32 = 1 << 8;
pub(crate) const IF: u32 = 1 << 9;
pub(crate) const DF: u32 = 1 << 10;
pub(crate) const OF: u32 = 1 << 11;

pub(crate) const DE: u8 = 0;
pub(crate) const DB: u8 = 1;
pub(crate) const BR: u8 = 5;
pub(crate) const UD: u8 = 6;
pub(crate) const SS_FAULT: u8 = 12;
pub(crate) const GP: u8 = 13;

// ----- harness ---------------------------------------------------------------------------------

pub(crate) fn lin(seg: u16, off: u32) -> u32 {
    (u32::from(seg) << 4) + off
}

/// A reset 80386 with one `HLT` handler per vector and the segments of the module comment.
pub(crate) fn machine(block_cache: bool) -> BareSystem {
    let mut sys = BareSystem::new(Model::I80386, 0x10_0000).unwrap();
    sys.cpu.set_block_cache(block_cache);
    for v in 0..32u16 {
        let handler = HANDLERS + v;
        sys.bus.mem.write_u16(u32::from(v) * 4, handler);
        sys.bus.mem.write_u16(u32::from(v) * 4 + 2, 0);
        sys.bus.mem.write_u8(u32::from(handler), 0xF4);
    }
    sys.cpu.set_sreg(SegReg::DS, DATA_SEG);
    sys.cpu.set_sreg(SegReg::ES, EXTRA_SEG);
    sys.cpu.set_sreg(SegReg::SS, STACK_SEG);
    sys.cpu.set_reg32(Reg32::ESP, u32::from(STACK_TOP));
    sys
}

/// Everything a program can change, for comparing the cached and uncached runs.
#[derive(Debug, PartialEq)]
pub(crate) struct State {
    regs: Vec<u32>,
    sregs: Vec<(u16, u32)>,
    eip: u32,
    flags: u32,
    cr0: u32,
    gdtr: (u32, u16),
    idtr: (u32, u16),
    halted: bool,
}

pub(crate) fn state(sys: &BareSystem) -> State {
    let regs = Reg32::ALL;
    State {
        regs: regs.iter().map(|&r| sys.cpu.reg32(r)).collect(),
        sregs: SegReg::ALL
            .iter()
            .map(|&s| (sys.cpu.sreg(s), sys.cpu.segment(s).base))
            .collect(),
        eip: sys.cpu.eip(),
        flags: sys.cpu.flags(),
        cr0: sys.cpu.cr0(),
        gdtr: (sys.cpu.gdtr().base, sys.cpu.gdtr().limit),
        idtr: (sys.cpu.idtr().base, sys.cpu.idtr().limit),
        halted: sys.cpu.halted(),
    }
}

/// Runs `code` at `CODE_SEG:offset` after `setup`, with and without the block cache; both
/// runs must reach a `HLT` and end in the same state. Returns the cached run.
pub(crate) fn run_at(offset: u16, code: &[u8], setup: impl Fn(&mut BareSystem)) -> BareSystem {
    let mut runs = Vec::new();
    for cache in [true, false] {
        let mut sys = machine(cache);
        setup(&mut sys);
        sys.load_code(CODE_SEG, offset, code);
        sys.run_to_halt(MAX_TICKS)
            .unwrap_or_else(|e| panic!("block cache {cache}: {e}"));
        runs.push(sys);
    }
    let uncached = runs.pop().unwrap();
    let cached = runs.pop().unwrap();
    assert_eq!(state(&cached), state(&uncached), "cached vs uncached run");
    let (a, b) = (
        cached.bus.mem.read_bytes(0, 0x10_0000),
        uncached.bus.mem.read_bytes(0, 0x10_0000),
    );
    if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
        panic!("cached vs uncached run: memory differs at {i:05X}h");
    }
    cached
}

pub(crate) fn run(code: &[u8], setup: impl Fn(&mut BareSystem)) -> BareSystem {
    run_at(CODE_OFF, code, setup)
}

/// Asserts the program ran through to its last byte (the final `HLT`).
pub(crate) fn assert_completed(sys: &BareSystem, code: &[u8]) {
    let end = CODE_OFF + u16::try_from(code.len()).unwrap();
    assert_eq!(
        (sys.cpu.sreg(SegReg::CS), sys.cpu.ip()),
        (CODE_SEG, end),
        "expected to halt at the end of the program"
    );
}

/// Asserts that the CPU halted in the handler of `vector`; returns the interrupt frame
/// (IP, CS, FLAGS) at SS:SP.
pub(crate) fn frame(sys: &BareSystem, vector: u8) -> (u16, u16, u16) {
    assert_eq!(
        (sys.cpu.sreg(SegReg::CS), sys.cpu.ip()),
        (0, HANDLERS + u16::from(vector) + 1),
        "expected interrupt {vector}"
    );
    let ss = sys.cpu.sreg(SegReg::SS);
    let sp = u32::from(sys.cpu.reg16(Reg16::SP));
    (
        rd16(sys, ss, sp),
        rd16(sys, ss, sp + 2),
        rd16(sys, ss, sp + 4),
    )
}

/// Asserts a fault or interrupt through `vector` taken with SS:SP = 3000:FFF0 whose pushed
/// return address is `CODE_SEG:ip`.
pub(crate) fn assert_interrupt(sys: &BareSystem, vector: u8, ip: u16) {
    let (pushed_ip, pushed_cs, _) = frame(sys, vector);
    assert_eq!(
        (pushed_cs, pushed_ip),
        (CODE_SEG, ip),
        "pushed return address"
    );
    assert_eq!(
        sys.cpu.reg16(Reg16::SP),
        STACK_TOP - 6,
        "SP after the interrupt"
    );
}

pub(crate) fn assert_flags(sys: &BareSystem, expected: &[(u32, bool)]) {
    let flags = sys.cpu.flags();
    for &(bit, set) in expected {
        let name = match bit {
            CF => "CF",
            PF => "PF",
            AF => "AF",
            ZF => "ZF",
            SF => "SF",
            TF => "TF",
            IF => "IF",
            DF => "DF",
            OF => "OF",
            _ => "flag",
        };
        assert_eq!(flags & bit != 0, set, "{name} in flags {flags:08X}");
    }
}

pub(crate) fn rd8(sys: &BareSystem, seg: u16, off: u32) -> u8 {
    sys.bus.mem.read_u8(lin(seg, off))
}
pub(crate) fn rd16(sys: &BareSystem, seg: u16, off: u32) -> u16 {
    sys.bus.mem.read_u16(lin(seg, off))
}
pub(crate) fn rd32(sys: &BareSystem, seg: u16, off: u32) -> u32 {
    sys.bus.mem.read_u32(lin(seg, off))
}
pub(crate) fn rd_bytes(sys: &BareSystem, seg: u16, off: u32, len: usize) -> Vec<u8> {
    sys.bus.mem.read_bytes(lin(seg, off), len)
}
pub(crate) fn wr8(sys: &mut BareSystem, seg: u16, off: u32, v: u8) {
    sys.bus.mem.write_u8(lin(seg, off), v)
}
pub(crate) fn wr16(sys: &mut BareSystem, seg: u16, off: u32, v: u16) {
    sys.bus.mem.write_u16(lin(seg, off), v)
}
pub(crate) fn wr32(sys: &mut BareSystem, seg: u16, off: u32, v: u32) {
    sys.bus.mem.write_u32(lin(seg, off), v)
}
pub(crate) fn wr_bytes(sys: &mut BareSystem, seg: u16, off: u32, bytes: &[u8]) {
    sys.bus.mem.write_bytes(lin(seg, off), bytes)
}

pub(crate) fn eax(sys: &BareSystem) -> u32 {
    sys.cpu.reg32(Reg32::EAX)
}
