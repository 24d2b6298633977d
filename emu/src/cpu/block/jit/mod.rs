//! Translation of hot decoded blocks into host code (x86-64 hosts): the fast path's fast
//! path (DESIGN.md section 8; issue 18).
//!
//! A block that has run [`HOT`] times is translated once (`compile.rs`) into a function
//! that runs the whole block, and runs it again from its start while it ends in a branch
//! back to that start, the budget covers another whole pass and nothing asked to leave.
//! What makes this exact:
//!
//! - **Ticks.** A translated block only ever runs whole: it is entered only when the budget
//!   covers all its ops, charges a whole block for each further pass, and an op that leaves
//!   early (a fault, a write into decoded code, a control transfer of a handed-over op)
//!   reports how many ops ran, the rest being refunded. A shorter budget runs the block in
//!   the interpreter, which stops at any instruction.
//! - **Semantics.** Register operations are the host's own instructions on the guest's
//!   registers in memory, with the host's flags taken as the guest's (identical by the
//!   manuals for the operations translated; the one flag the host leaves undefined and
//!   vexed defines, AF after logical operations and shifts, is fixed). Memory operands go
//!   through the interpreter's cached access by a call, and every op without a native form
//!   is handed to the interpreter's handler for it, so no memory rule (segments, paging,
//!   A20, EMS windows, ROM, code marks, page hashes) has a second implementation.
//! - **Leaving.** Everything that can make a further pass wrong happens inside a call
//!   (memory's cache epoch moving, an interrupt request, a stop), so each call notes it in
//!   the context and the loop tests one byte; a fault or a write into decoded code leaves at
//!   once, with the state the interpreter would have at that op.
//!
//! The translated code is a cache like the decoded blocks: not machine state, dropped with
//! them, never serialized, rebuilt on demand. A machine with translation off (see
//! `Cpu::set_jit`) runs the same instructions to the same state; the differential tests
//! compare the two.
//!
//! `unsafe` here: mapping executable memory (`exec_mem.rs`) and calling into it, and the
//! calls back from translated code, which rebuild `&mut Cpu` and `&mut B` from the raw
//! pointers the entry passed (the caller holds no other reference while the code runs).
//! The measured reason: the cpuloop (callgrind, `vexed bench-cpu`) in host instructions per
//! guest instruction, see the table in `block/mod.rs`.

mod asm;
mod compile;
mod exec_mem;

use super::fast::code;
use super::{Flow, Op, Slot};
use crate::bus::Bus;
use crate::cpu::flags::ARITH;
use crate::cpu::{BLOCK_STALE, Cpu, Fault};
use compile::{Callouts, ERR, FELL, JUMPED, SELF};
use exec_mem::ExecMem;

/// Runs of a block before it is translated (a block that branches back to its own start is
/// translated at once).
const HOT: u8 = 2;

/// `Slot::jit` of a block not translated (yet).
pub(super) const NOT_YET: u32 = 0;
/// `Slot::jit` of a block that is not worth translating.
pub(super) const NEVER: u32 = u32::MAX;

/// What a translated block and its calls share. The code addresses `flags` and `leave` by
/// their offsets, which do not depend on `B` (they come first).
#[repr(C)]
pub(super) struct Ctx<B> {
    /// The guest's arithmetic flags in the host's EFLAGS layout, when saved.
    flags: u64,
    /// Nonzero once a call saw something that ends the loop: memory's cache epoch moved, an
    /// interrupt needs attention, or the run was stopped.
    leave: u8,
    /// The backing store's address and length (`Memory::store_raw`), renewed after every
    /// call: the hit path of the memory-operand cache reads and writes it directly.
    store: *mut u8,
    store_len: usize,
    fault: Fault,
    cpu: *mut Cpu,
    bus: *mut B,
    ops: *const Op,
    entry: u32,
}

/// The translator's state: the executable memory and the bus type its code was made for.
#[derive(Default)]
pub(crate) struct Jit {
    mem: Option<ExecMem>,
    /// The address of the op call for the bus type the code was translated for (calls are
    /// compiled per bus type).
    bus_kind: usize,
    /// Translation is on.
    pub on: bool,
    /// The host refused executable memory: translation stays off.
    failed: bool,
    /// Blocks translated so far (for tests and measurements).
    translated: u64,
}

impl Jit {
    pub(crate) fn new() -> Jit {
        Jit {
            on: cfg!(all(target_arch = "x86_64", unix)),
            ..Jit::default()
        }
    }

    /// A copy with no code (a cloned CPU translates again).
    pub(crate) fn fresh(&self) -> Jit {
        Jit {
            on: self.on,
            ..Jit::default()
        }
    }

    /// Drops all translated code (the slots holding offsets must be reset by the caller).
    pub(crate) fn flush(&mut self) {
        if let Some(m) = &mut self.mem {
            m.clear();
        }
    }
}

impl<B> Ctx<B> {
    /// Notes whether the loop must stop after this call, and where the store is now.
    fn note(&mut self, cpu: &Cpu, bus: &mut B)
    where
        B: Bus,
    {
        let mem = bus.memory();
        if mem.cache_epoch() != cpu.block_epoch || cpu.attention || cpu.stopped {
            self.leave = 1;
        }
        (self.store, self.store_len) = mem.store_raw();
    }
}

/// The context and the CPU and bus behind it.
///
/// # Safety
/// `ctx` is the context [`Cpu::run_translated`] passed to the code, whose `cpu` and `bus`
/// are live and referenced by nothing else while the code runs.
unsafe fn parts<'a, B>(ctx: *mut Ctx<B>) -> (&'a mut Ctx<B>, &'a mut Cpu, &'a mut B) {
    // SAFETY: see the function's contract.
    unsafe {
        let c = &mut *ctx;
        let (cpu, bus) = (&mut *c.cpu, &mut *c.bus);
        (c, cpu, bus)
    }
}

extern "C" fn read<B: Bus, const W: u32>(ctx: *mut Ctx<B>, off: u32, seg: u32) -> u64 {
    // SAFETY: called only by translated code, with the context it was entered with.
    let (ctx, cpu, bus) = unsafe { parts(ctx) };
    let r = cpu.mem_w::<B, W>(bus, seg as usize & 7, off);
    ctx.note(cpu, bus);
    match r {
        Ok(v) => u64::from(v),
        Err(f) => {
            ctx.fault = f;
            1 << 32
        }
    }
}

extern "C" fn write<B: Bus, const W: u32>(ctx: *mut Ctx<B>, off: u32, seg: u32, v: u32) -> u32 {
    // SAFETY: called only by translated code, with the context it was entered with.
    let (ctx, cpu, bus) = unsafe { parts(ctx) };
    let r = cpu.set_mem_w::<B, W>(bus, seg as usize & 7, off, v);
    ctx.note(cpu, bus);
    match r {
        Ok(()) => 0,
        Err(f) => {
            ctx.fault = f;
            1
        }
    }
}

extern "C" fn op<B: Bus>(ctx: *mut Ctx<B>, index: u32) -> u32 {
    // SAFETY: called only by translated code, with the context it was entered with.
    let (ctx, cpu, bus) = unsafe { parts(ctx) };
    // SAFETY: `index` is below the length of the block the code was translated from, which
    // is `ops`' length (the ops are not changed while the block is cached).
    let op = unsafe { &*ctx.ops.add(index as usize) };
    cpu.flags.set_arith(ctx.flags as u32);
    let r = cpu.exec_fast(bus, op, ctx.entry);
    ctx.flags = u64::from(cpu.flags.bits() & ARITH);
    ctx.note(cpu, bus);
    match r {
        Ok(Flow::Next) => 0,
        Ok(Flow::Jump) => JUMPED as u32,
        Err(f) => {
            ctx.fault = f;
            ERR as u32
        }
    }
}

fn callouts<B: Bus>() -> Callouts {
    Callouts {
        read: [
            read::<B, 8> as *const () as usize,
            read::<B, 16> as *const () as usize,
            read::<B, 32> as *const () as usize,
        ],
        write: [
            write::<B, 8> as *const () as usize,
            write::<B, 16> as *const () as usize,
            write::<B, 32> as *const () as usize,
        ],
        op: op::<B> as *const () as usize,
    }
}

/// A translated block's entry: the CPU and the context.
type Entry<B> = extern "C" fn(*mut Cpu, *mut Ctx<B>) -> u64;

impl Cpu {
    /// Runs block `n` (whose ops are `block`) translated, translating it first when it is
    /// hot, if the budget covers it whole. `None` when it is not run this way (the caller
    /// runs it in the interpreter); otherwise whether control fell through its last op.
    pub(super) fn run_translated<B: Bus>(
        &mut self,
        bus: &mut B,
        n: usize,
        block: &[Op],
    ) -> Option<bool> {
        let count = block.len();
        if count as u64 > self.budget || count == 0 {
            return None;
        }
        let at = self.translation::<B>(n, block)?;
        let code = self.blocks.jit.mem.as_ref()?.address(at);
        let entry = self.eip;
        let epoch = bus.memory_ref().cache_epoch();
        self.block_epoch = epoch;
        self.mtlb.check_epoch(epoch);
        self.budget -= count as u64;
        let (store, store_len) = bus.memory().store_raw();
        let mut ctx = Ctx {
            flags: u64::from(self.flags.bits() & ARITH),
            leave: 0,
            store,
            store_len,
            fault: BLOCK_STALE,
            cpu: self,
            bus,
            ops: block.as_ptr(),
            entry,
        };
        // SAFETY: `code` is the start of a function `compile::translate` emitted for this
        // block's ops and this bus type (checked by `translation`), following the C calling
        // convention with these two arguments; its calls reach `self` and `bus` only
        // through the context while neither is used here.
        let r = unsafe {
            let f: Entry<B> = std::mem::transmute(code);
            f(ctx.cpu, &mut ctx)
        };
        let (ran, status) = ((r & 0xFF) as usize, (r >> 8) & 0xFF);
        self.flags.set_arith(ctx.flags as u32);
        self.budget += (count - ran.min(count)) as u64;
        let op = block.get(ran.max(1) - 1)?;
        match status {
            FELL => {
                self.eip = entry.wrapping_add(u32::from(op.end));
                Some(true)
            }
            SELF => {
                self.eip = entry & op.imm;
                Some(false)
            }
            JUMPED => Some(false),
            _ => {
                debug_assert_eq!(status, ERR);
                self.eip = entry.wrapping_add(u32::from(op.end));
                if ctx.fault != BLOCK_STALE {
                    self.d.start_eip = entry.wrapping_add(u32::from(op.start));
                    self.deliver_fault(bus, ctx.fault);
                }
                Some(false)
            }
        }
    }

    /// The offset of block `n`'s translation, translating it now if it is hot.
    fn translation<B: Bus>(&mut self, n: usize, block: &[Op]) -> Option<u32> {
        let calls = callouts::<B>();
        let jit = &mut self.blocks.jit;
        if jit.bus_kind != calls.op {
            // Code translated for another bus type calls that type's functions.
            jit.bus_kind = calls.op;
            jit.flush();
            reset_slots(&mut self.blocks.slots);
        }
        let slot = self.blocks.slots.get_mut(n)?;
        match slot.jit {
            NEVER => return None,
            NOT_YET => {}
            at => return Some(at - 1),
        }
        slot.runs = slot.runs.saturating_add(1);
        // A loop body is hot on sight: its first run may be its 65,536 passes.
        let loops = block.last().is_some_and(|op| {
            matches!(
                op.code.get(),
                code::LOOP_SELF | code::LOOP_SELF_ECX | code::JCC_SELF | code::JMP_SELF
            )
        });
        if slot.runs < HOT && !loops {
            return None;
        }
        let Some(code) = compile::translate(block, &calls) else {
            slot.jit = NEVER;
            return None;
        };
        let jit = &mut self.blocks.jit;
        if jit.mem.is_none() && !jit.failed {
            jit.mem = ExecMem::new();
            jit.failed = jit.mem.is_none();
        }
        let mem = jit.mem.as_mut()?;
        let at = match mem.add(&code) {
            Some(at) => at,
            None => {
                // Full: start again with this block.
                mem.clear();
                reset_slots(&mut self.blocks.slots);
                let mem = self.blocks.jit.mem.as_mut()?;
                mem.add(&code)?
            }
        };
        self.blocks.jit.translated += 1;
        let slot = self.blocks.slots.get_mut(n)?;
        slot.jit = at + 1;
        Some(at)
    }
}

fn reset_slots(slots: &mut [Slot]) {
    for s in slots {
        s.jit = NOT_YET;
        s.runs = 0;
    }
}

#[cfg(test)]
mod tests {
    use crate::bare::BareSystem;
    use crate::cpu::{Model, Reg16, SegReg};

    const CPU_LOOP: &[u8] = include_bytes!("../../../../../corpora/guests/cpuloop.bin");

    fn cpuloop(model: Model, jit: bool) -> BareSystem {
        let mut sys = BareSystem::new(model, 0x10_0000).expect("1 MiB is a valid RAM size");
        sys.cpu.set_jit(jit);
        sys.load_code(0x1000, 0, CPU_LOOP);
        for s in [SegReg::DS, SegReg::SS, SegReg::ES] {
            sys.cpu.set_sreg(s, 0x1000);
        }
        sys.cpu.set_reg16(Reg16::SP, 0xFFFE);
        sys
    }

    fn state(sys: &BareSystem) -> serde_json::Value {
        serde_json::to_value(&sys.cpu).expect("the CPU serializes")
    }

    /// Runs both systems in the same slices (1-13 ticks, and 5,003 every third round, so
    /// passes end anywhere) and asserts they agree after each.
    fn same_in_slices(fast: &mut BareSystem, slow: &mut BareSystem, what: &str) {
        let mut slice = 1u64;
        for round in 0..400 {
            let a = fast.run(slice);
            let b = slow.run(slice);
            assert_eq!(a, b, "{what} round {round}");
            assert_eq!(state(fast), state(slow), "{what} round {round}");
            assert!(fast.bus.mem == slow.bus.mem, "{what} round {round}");
            slice = if round % 3 == 0 {
                5_003
            } else {
                slice % 13 + 1
            };
        }
    }

    /// The cpuloop translated runs to the same state as interpreted, tick for tick, for
    /// budgets that end passes anywhere (1-13 ticks and whole runs of thousands).
    #[test]
    fn the_cpuloop_translated_matches_the_interpreter() {
        for model in [Model::I8086, Model::I80286, Model::I80386] {
            let mut fast = cpuloop(model, true);
            let mut slow = cpuloop(model, false);
            same_in_slices(&mut fast, &mut slow, &format!("{model:?}"));
            assert!(
                fast.cpu.blocks.jit.translated > 0,
                "{model:?}: nothing translated"
            );
            assert_eq!(slow.cpu.blocks.jit.translated, 0);
        }
    }

    /// The same loop in 32-bit protected mode with paging (`cpuloop32.asm`, which builds its
    /// page tables and switches modes first): translated and interpreted stay identical.
    #[test]
    fn the_paged_cpuloop_translated_matches_the_interpreter() {
        const CPU_LOOP_32: &[u8] = include_bytes!("../../../../../corpora/guests/cpuloop32.bin");
        let system = |jit: bool| {
            let mut sys =
                BareSystem::new(Model::I80386, 0x40_0000).expect("4 MiB is a valid RAM size");
            sys.cpu.set_jit(jit);
            sys.load_code(0x1000, 0, CPU_LOOP_32);
            sys
        };
        let (mut fast, mut slow) = (system(true), system(false));
        same_in_slices(&mut fast, &mut slow, "paged");
        assert!(fast.cpu.paged(), "the loop runs with paging on");
        assert!(fast.cpu.blocks.jit.translated > 0, "nothing translated");
    }
}
