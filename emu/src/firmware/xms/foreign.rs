//! Observing a foreign XMS driver's calls (issue 20, item 3): when the built-in driver is
//! off and a driver loaded from CONFIG.SYS answers Int 2Fh AX=4310h, every call of its entry
//! gives the same [`Observation::Xms`] the built-in driver gives (registers at the call and
//! at the return), so traces, `vexed diff`, the timeline and goldens treat both alike.
//!
//! # How
//!
//! The entry is the one SYSINIT found through Int 2Fh AX=4310h after CONFIG.SYS when it is
//! not the built-in driver's (`Firmware::foreign_xms_entry`), or one set by hand
//! (`Firmware::set_foreign_xms_entry`, for tests and tools).
//!
//! The machine stops before the instruction at the entry's linear address and before the
//! return addresses of the calls still running, with the CPU's probes (`cpu/watch.rs`:
//! invisible to the guest, no tick spent, nothing written). At the entry ([`ForeignXms::hit`])
//! it keeps the registers and the far return address the caller's `CALL FAR` pushed (the
//! word pair at SS:SP); when execution reaches that return address with the same SS and SP
//! above the call's (the `RETF` popped it), it records the observation at that tick. The
//! linear addresses are the CPU's own (CS base + IP, as it fetches): an entry in the HMA at
//! FFFF:xxxx is 10xxxxh whatever the A20 gate does to the fetch. The return address is read
//! through the paging unit without side effects (`Cpu::linear_to_physical`; no accessed
//! bits), and memory applies the A20 gate.
//!
//! A program hooking the chain the documented way (a far jump written over the entry's
//! `EB xx 90 90 90`) leaves the entry where it was: its calls are still probed at the
//! entry, and the output is what the caller gets back after the hook and the driver. A
//! hooker that calls the original entry itself is a nested call: both are observed. Only
//! real and virtual-8086 mode calls are probed (XMS is a real-mode interface); a hit in
//! protected mode is ignored.
//!
//! # Pending calls: state, bounds, VMs
//!
//! The calls awaiting their return are machine state (serialized with the firmware), so a
//! snapshot taken inside a driver call restores and still gives the observation; the probes
//! themselves are derived from it ([`ForeignXms::probes`]) and set again by the machine.
//! Each pending call is tagged with the VM that made it (the VMM's `current_vm`, 0 without
//! a running VMM): several VMs call the same entry, with their own stacks at the same
//! linear addresses, and a VM switch inside a call must not pair another VM's return with
//! it. At most [`MAX_PENDING`] calls are kept:
//! - a new call from a VM with the same SS at or above a pending call's SP (the stack has
//!   unwound past that call without returning through its return address: the driver
//!   jumped elsewhere, the program ended) drops that call, unobserved, as it does calls
//!   nested inside it when a return matches;
//! - a call beyond [`MAX_PENDING`] drops the oldest one, unobserved.
//!
//! # The VMM's lock rule
//!
//! Windows 3.x in enhanced mode answers every VM's XMS calls itself (V86MMGR), whatever
//! driver was loaded before it, and refuses a lock (0Ch) of a block allocated after it
//! started with AX=0, BL=ADh (reference section 1.3, Q74809). The built-in driver applies
//! that rule inside (`blocks.rs`); for a foreign driver the VMM applies it at the entry:
//! while the rule is on ([`ForeignXms::set_vmm_refuses_new_locks`], set by the VMM's start),
//! the handles the driver returns from 09h and 89h are remembered (and forgotten when 0Ah
//! frees them), and a 0Ch call on one of them is answered at the entry without reaching the
//! driver ([`Hit::Refused`]): the caller gets AX=0, BL=ADh back at its return address in
//! the same tick, and the same observation as from the built-in driver.
//!
//! A call stopped at the entry and met again there (the machine restored from a snapshot
//! taken at that instant, or an interrupt delivered before the entry's first instruction)
//! is the same call at the same SS:SP: it replaces the pending one.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::cpu::{Cpu, Reg16, SegReg};
use crate::mem::Memory;
use crate::observe::{Observation, Regs};

/// The most calls awaiting their return at once (nesting depth over all VMs).
pub const MAX_PENDING: usize = 8;

/// One call of the foreign entry not yet returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct PendingCall {
    /// The VM that called (0 without a running VMM).
    vm: u16,
    /// SS and SP at the entry (SS:SP points at the return offset).
    ss: u16,
    sp: u16,
    /// Linear address of the far return address.
    ret: u32,
    input: Regs,
}

/// The foreign XMS entry's calls in flight (part of the firmware's state).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignXms {
    /// An entry point (segment, offset) set by hand, observed instead of the one SYSINIT
    /// found (`Firmware::foreign_xms_entry`): for tests and tools.
    entry: Option<(u16, u16)>,
    pending: Vec<PendingCall>,
    /// The VMM's lock rule is on (see the module docs).
    vmm_refuses_new_locks: bool,
    /// The handles the driver gave out while the rule was on and has not freed (at most
    /// 65,536: the handles are words).
    since_vmm: BTreeSet<u16>,
}

/// What a probe hit found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hit {
    /// A call of the entry returned: its observation.
    Returned(Observation),
    /// A call at the entry that the VMM answers instead of the driver: its observation,
    /// and the far return address (segment, offset) on the caller's stack, where the
    /// caller goes on with SP past it and the observation's output registers.
    Refused {
        observation: Observation,
        ret: (u16, u16),
    },
}

/// XMS function numbers and answers the VMM's lock rule follows (XMS 3.0).
const ALLOCATE: u8 = 0x09;
const ALLOCATE_ANY: u8 = 0x89;
const FREE: u8 = 0x0A;
const LOCK: u8 = 0x0C;
/// BL of a refused lock: "lock failed".
const LOCK_FAILED: u8 = 0xAD;

/// Real-mode linear address of `seg:off`, as the CPU computes it (no A20 wrap).
fn linear(seg: u16, off: u16) -> u32 {
    (u32::from(seg) << 4) + u32::from(off)
}

impl ForeignXms {
    /// The entry point set by hand, if any.
    pub fn entry(&self) -> Option<(u16, u16)> {
        self.entry
    }

    /// Observes the calls of `entry` from now on instead of the one SYSINIT found (`None`:
    /// that one again). Calls in flight stay pending: a return is matched by its own
    /// address.
    pub fn set_entry(&mut self, entry: Option<(u16, u16)>) {
        self.entry = entry;
    }

    /// How many calls await their return.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Turns the VMM's lock rule on (the VMM started with `VmmRules::xms_lock_after_start`)
    /// or off (it is ending: the handles it saw given out are forgotten).
    pub fn set_vmm_refuses_new_locks(&mut self, on: bool) {
        self.vmm_refuses_new_locks = on;
        if !on {
            self.since_vmm.clear();
        }
    }

    /// Follows the handles given out and freed while the rule is on.
    fn note_answer(&mut self, input: &Regs, output: &Regs) {
        if !self.vmm_refuses_new_locks || output.ax != 1 {
            return;
        }
        match (input.ax >> 8) as u8 {
            ALLOCATE | ALLOCATE_ANY => {
                self.since_vmm.insert(output.dx);
            }
            FREE => {
                self.since_vmm.remove(&input.dx);
            }
            _ => {}
        }
    }

    /// The linear addresses the machine must stop before: `entry` (the entry observed)
    /// and every pending call's return address (unsorted, possibly repeated).
    pub fn probes(&self, entry: Option<(u16, u16)>) -> impl Iterator<Item = u32> + Clone + '_ {
        entry
            .map(|(s, o)| linear(s, o))
            .into_iter()
            .chain(self.pending.iter().map(|p| p.ret))
    }

    /// The CPU stands before the instruction at linear `addr`, a probe of
    /// [`ForeignXms::probes`], in VM `vm`: a call's return gives its observation; `entry`
    /// (the entry observed) starts a pending call, or is a lock the VMM refuses
    /// ([`Hit::Refused`]: the caller's return is then the caller's to make). Reads registers
    /// and memory only.
    pub fn hit(
        &mut self,
        addr: u32,
        entry: Option<(u16, u16)>,
        vm: u16,
        cpu: &Cpu,
        mem: &Memory,
    ) -> Option<Hit> {
        if cpu.in_protected_mode() && !cpu.in_v86_mode() {
            return None;
        }
        let ss = cpu.sreg(SegReg::SS);
        let sp = cpu.reg16(Reg16::SP);
        let regs = Regs::of_cpu(cpu);
        if let Some(i) = self
            .pending
            .iter()
            .rposition(|p| p.vm == vm && p.ret == addr && p.ss == ss && sp > p.sp)
        {
            // Calls nested inside this one that never returned are dropped with it.
            let call = self.pending.swap_remove(i);
            self.pending
                .retain(|p| p.vm != vm || p.ss != ss || p.sp > call.sp);
            self.note_answer(&call.input, &regs);
            return Some(Hit::Returned(Observation::Xms {
                input: call.input,
                output: regs,
            }));
        }
        if entry.map(|(s, o)| linear(s, o)) != Some(addr) {
            return None;
        }
        let read16 = |lin: u32| -> Option<u16> {
            let lo = mem.read_u8(cpu.linear_to_physical(mem, lin)?);
            let hi = mem.read_u8(cpu.linear_to_physical(mem, lin.wrapping_add(1))?);
            Some(u16::from_le_bytes([lo, hi]))
        };
        let base = linear(ss, 0);
        let off = read16(base + u32::from(sp))?;
        let seg = read16(base + u32::from(sp.wrapping_add(2)))?;
        if self.vmm_refuses_new_locks
            && (regs.ax >> 8) as u8 == LOCK
            && self.since_vmm.contains(&regs.dx)
        {
            let output = Regs {
                ax: 0,
                bx: (regs.bx & 0xFF00) | u16::from(LOCK_FAILED),
                ..regs
            };
            return Some(Hit::Refused {
                observation: Observation::Xms {
                    input: regs,
                    output,
                },
                ret: (seg, off),
            });
        }
        self.pending
            .retain(|p| p.vm != vm || p.ss != ss || p.sp > sp);
        if self.pending.len() == MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(PendingCall {
            vm,
            ss,
            sp,
            ret: linear(seg, off),
            input: regs,
        });
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bare::BareSystem;
    use crate::cpu::{Exit, Model};

    const ENTRY: Option<(u16, u16)> = Some((0, 0x200));

    /// 0000:0100 CALL FAR 0000:0200; HLT. 0000:0200 MOV AX,1234h; RETF.
    fn system() -> BareSystem {
        let mut sys = BareSystem::new(Model::I80386, 0x1_0000).expect("64 KiB of RAM");
        sys.load_code(0, 0x200, &[0xB8, 0x34, 0x12, 0xCB]);
        sys.load_code(0, 0x100, &[0x9A, 0x00, 0x02, 0x00, 0x00, 0xF4]);
        sys.cpu.set_sreg(SegReg::SS, 0);
        sys.cpu.set_reg16(Reg16::SP, 0x1000);
        sys.cpu.set_reg16(Reg16::AX, 0x0800);
        sys.cpu.set_reg16(Reg16::DX, 0); // the reset value is the CPU signature
        sys
    }

    /// Runs to the HLT as `Machine::run_until` does with probes: observe and resume.
    fn run(sys: &mut BareSystem, fx: &mut ForeignXms) -> (u64, Vec<Observation>) {
        let mut ticks = 0;
        let mut obs = Vec::new();
        sys.cpu.set_probes(fx.probes(ENTRY));
        loop {
            let r = sys.cpu.run(&mut sys.bus, 100);
            ticks += r.ticks;
            match r.exit {
                Exit::Watch => {
                    let addr = sys.cpu.take_probe_hit().expect("a probe hit");
                    obs.extend(fx.hit(addr, ENTRY, 0, &sys.cpu, &sys.bus.mem).map(|h| {
                        let Hit::Returned(o) = h else { panic!("{h:?}") };
                        o
                    }));
                    sys.cpu.set_probes(fx.probes(ENTRY));
                    sys.cpu.resume_probe(addr);
                }
                Exit::Halted => return (ticks, obs),
                e => panic!("{e:?}"),
            }
        }
    }

    #[test]
    fn a_call_is_observed_at_its_return_in_the_same_ticks_as_without_probes() {
        for cache in [true, false] {
            let mut plain = system();
            plain.cpu.set_block_cache(cache);
            let r = plain.cpu.run(&mut plain.bus, 100);
            assert_eq!((r.ticks, r.exit), (4, Exit::Halted));

            let mut sys = system();
            sys.cpu.set_block_cache(cache);
            let mut fx = ForeignXms::default();
            let (ticks, obs) = run(&mut sys, &mut fx);
            assert_eq!(ticks, 4);
            let input = Regs {
                ax: 0x0800,
                ..Regs::default()
            };
            let output = Regs {
                ax: 0x1234,
                ..Regs::default()
            };
            assert_eq!(obs, vec![Observation::Xms { input, output }]);
            assert_eq!(fx.pending(), 0);
            assert_eq!(sys.cpu.reg16(Reg16::SP), plain.cpu.reg16(Reg16::SP));
            assert_eq!(sys.cpu.ip(), plain.cpu.ip());
        }
    }

    #[test]
    fn a_debugger_watch_at_the_entry_still_stops_the_debugger() {
        let mut sys = system();
        let fx = ForeignXms::default();
        sys.cpu.set_probes(fx.probes(ENTRY));
        sys.cpu.set_watch(Some(crate::cpu::Watch {
            exec: vec![0x200],
            ..crate::cpu::Watch::default()
        }));
        let r = sys.cpu.run(&mut sys.bus, 100);
        assert_eq!((r.ticks, r.exit), (1, Exit::Watch));
        assert_eq!(sys.cpu.take_probe_hit(), Some(0x200));
        assert_eq!(
            sys.cpu.take_watch_hit(),
            Some(crate::cpu::WatchHit::Exec { addr: 0x200 })
        );
    }

    /// Stands the CPU at the entry 0000:0200 with SP = `sp` and the far return address
    /// 0000:`ret` on the stack.
    fn at_entry(sys: &mut BareSystem, sp: u16, ret: u16) {
        sys.cpu.set_reg16(Reg16::SP, sp);
        sys.bus
            .mem
            .write_bytes(u32::from(sp), &[ret as u8, (ret >> 8) as u8, 0, 0]);
    }

    #[test]
    fn pending_calls_are_bounded_and_unwound_calls_dropped() {
        let mut sys = system();
        let mut fx = ForeignXms::default();
        // Nested calls, each deeper on the stack: only the last MAX_PENDING are kept.
        for i in 0..12u16 {
            at_entry(&mut sys, 0x1000 - 0x10 * i, 0x300 + i);
            assert_eq!(fx.hit(0x200, ENTRY, 0, &sys.cpu, &sys.bus.mem), None);
        }
        assert_eq!(fx.pending(), MAX_PENDING);
        let rets: Vec<u32> = fx.probes(ENTRY).skip(1).collect();
        assert_eq!(rets, (0x304..0x30C).collect::<Vec<u32>>());
        // A new call higher on the stack than all of them: they never returned.
        at_entry(&mut sys, 0x0FF8, 0x400);
        fx.hit(0x200, ENTRY, 0, &sys.cpu, &sys.bus.mem);
        assert_eq!(fx.pending(), 1);
        // The same call met again at the same SS:SP replaces itself.
        fx.hit(0x200, ENTRY, 0, &sys.cpu, &sys.bus.mem);
        assert_eq!(fx.pending(), 1);
    }

    /// A call of the entry with AX = `ax`, DX = `dx` from SP 0FFCh returning to 0000:0105,
    /// answered with AX = `out_ax`, DX = `out_dx` (the driver's part, done by hand).
    fn call(fx: &mut ForeignXms, sys: &mut BareSystem, ax: u16, dx: u16, out_ax: u16, out_dx: u16) {
        at_entry(sys, 0x0FFC, 0x105);
        sys.cpu.set_reg16(Reg16::AX, ax);
        sys.cpu.set_reg16(Reg16::DX, dx);
        assert_eq!(fx.hit(0x200, ENTRY, 1, &sys.cpu, &sys.bus.mem), None);
        sys.cpu.set_reg16(Reg16::SP, 0x1000);
        sys.cpu.set_reg16(Reg16::AX, out_ax);
        sys.cpu.set_reg16(Reg16::DX, out_dx);
        assert!(matches!(
            fx.hit(0x105, ENTRY, 1, &sys.cpu, &sys.bus.mem),
            Some(Hit::Returned(_))
        ));
    }

    /// Reference section 1.3 (Q74809): under Windows 3.x, 0Ch fails with BL=ADh for blocks
    /// allocated after Windows started; the VMM answers such a lock at the entry.
    #[test]
    fn the_vmm_refuses_locks_of_blocks_allocated_since_it_started() {
        let mut sys = system();
        let mut fx = ForeignXms::default();
        // Before the VMM: handle 11h given out (09h answers AX=1, DX = handle).
        call(&mut fx, &mut sys, 0x0900, 0x0040, 1, 0x11);
        fx.set_vmm_refuses_new_locks(true);
        // Under the VMM: handles 22h (09h) and 33h (89h); 44h asked but refused (AX=0).
        call(&mut fx, &mut sys, 0x0900, 0x0001, 1, 0x22);
        call(&mut fx, &mut sys, 0x8900, 0x0001, 1, 0x33);
        call(&mut fx, &mut sys, 0x0900, 0x0001, 0, 0x44);
        let lock = |fx: &mut ForeignXms, sys: &mut BareSystem, dx: u16| {
            at_entry(sys, 0x0FFC, 0x105);
            sys.cpu.set_reg16(Reg16::AX, 0x0C00);
            sys.cpu.set_reg16(Reg16::BX, 0x1234);
            sys.cpu.set_reg16(Reg16::DX, dx);
            fx.hit(0x200, ENTRY, 1, &sys.cpu, &sys.bus.mem)
        };
        for h in [0x22, 0x33] {
            let Some(Hit::Refused { observation, ret }) = lock(&mut fx, &mut sys, h) else {
                panic!("a lock of {h:02X}h is refused");
            };
            assert_eq!(ret, (0, 0x105));
            let Observation::Xms { input, output } = observation else {
                panic!("{observation:?}");
            };
            assert_eq!((input.ax, input.dx), (0x0C00, h));
            // AX=0, BL=ADh (lock failed); BH and the rest as they were.
            assert_eq!((output.ax, output.bx, output.dx), (0, 0x12AD, h));
            assert_eq!(fx.pending(), 0, "the driver is not called");
        }
        // The block from before the VMM, and one never given out: the driver's call.
        assert_eq!(lock(&mut fx, &mut sys, 0x11), None);
        assert_eq!(lock(&mut fx, &mut sys, 0x44), None);
        // Freed (0Ah answers AX=1): its number may be a block from before again.
        call(&mut fx, &mut sys, 0x0A00, 0x22, 1, 0x22);
        assert_eq!(lock(&mut fx, &mut sys, 0x22), None);
        // The VMM gone: no rule.
        fx.set_vmm_refuses_new_locks(false);
        assert_eq!(lock(&mut fx, &mut sys, 0x33), None);
    }

    #[test]
    fn a_return_pairs_only_with_a_call_of_the_same_vm_and_stack() {
        let mut sys = system();
        let mut fx = ForeignXms::default();
        at_entry(&mut sys, 0x0FFC, 0x105);
        fx.hit(0x200, ENTRY, 1, &sys.cpu, &sys.bus.mem);
        at_entry(&mut sys, 0x0FFC, 0x105);
        fx.hit(0x200, ENTRY, 2, &sys.cpu, &sys.bus.mem);
        assert_eq!(fx.pending(), 2);
        // At the return address with the stack not yet above the call: not a return.
        assert_eq!(fx.hit(0x105, ENTRY, 1, &sys.cpu, &sys.bus.mem), None);
        sys.cpu.set_reg16(Reg16::SP, 0x1000);
        sys.cpu.set_reg16(Reg16::AX, 1);
        let o = fx.hit(0x105, ENTRY, 2, &sys.cpu, &sys.bus.mem);
        assert!(
            matches!(o, Some(Hit::Returned(Observation::Xms { output, .. })) if output.ax == 1)
        );
        assert_eq!(fx.pending(), 1);
        assert!(fx.hit(0x105, ENTRY, 1, &sys.cpu, &sys.bus.mem).is_some());
        assert_eq!(fx.pending(), 0);
        assert_eq!(fx.hit(0x105, ENTRY, 1, &sys.cpu, &sys.bus.mem), None);
    }
}
