//! Debugger watches and machine probes: what a debugger outside the machine (`vexed debug`,
//! issue 19) asks the CPU to stop at, and where the machine itself stops to observe (the
//! calls of a foreign XMS driver's entry, `firmware/xms/foreign.rs`). Unlike the 80386 debug registers (`debug.rs`), which are guest-visible
//! state and raise #DB inside the guest, a watch is invisible to the guest: it is not
//! machine state (not saved, not hashed), it never changes what an instruction does, and a
//! hit only ends the current run early ([`super::Exit::Watch`]) so that the caller sees the
//! machine at an instruction boundary.
//!
//! # What is watched
//!
//! * **Execution** at linear addresses (CS.base + EIP of an instruction's first byte, its
//!   first prefix): the run stops *before* the instruction executes, no tick spent. A REP
//!   string instruction is an instruction at every iteration (each is a tick, DESIGN.md
//!   section 2), so it stops before each iteration.
//! * **Data** ranges of linear addresses, for writes, reads or both: the run stops *after*
//!   the instruction (or REP iteration) whose operand access overlapped a range, its tick
//!   spent, as the 80386's data breakpoints trap (80386 PRM 12.3.1.2). The accesses
//!   compared are the ones `debug.rs` compares: an instruction's operand accesses through
//!   the checked memory path (the stack included); the processor's own accesses to
//!   descriptor tables, the IDT and the TSS are not.
//! * **Firmware services** ([`Watch::services`]): the machine stops right after every
//!   service written in Rust has run (`Machine::run_until`), so that the debugger can
//!   compare the bytes it watches: a service writes memory without executing guest
//!   instructions.
//!
//! # Probes
//!
//! [`Cpu::set_probes`] sets linear addresses the machine stops before, on the same terms as
//! execution watches (no tick spent, invisible to the guest), but apart from the debugger's
//! watch: a probe hit is taken with [`Cpu::take_probe_hit`], the debugger's
//! [`Cpu::take_watch_hit`] does not see it, and `Machine::run_until` handles it and runs on
//! ([`Cpu::resume_probe`] lets the instruction there run uncompared) unless the debugger
//! watches the same address, when both hits are reported and the run returns to the
//! debugger. Probes are not machine state either: the machine derives them from its state
//! (the foreign entry point and the calls awaiting their return) and sets them again after a
//! restore.
//!
//! # Resuming
//!
//! [`Watch::resume_from`] names the linear address the CPU stands at when the debugger
//! resumes: the first instruction executed after the watch was set is not stopped at if it
//! is there (the debugger stopped before it and now wants to run it), as RF does for the
//! debug registers.
//!
//! # State
//!
//! The watch itself is not saved. A data watch changes the segments' fast-path bounds,
//! which are part of the saved CPU state; [`Cpu::context`] saves them as they would be
//! without the watch, so a watched run leaves the same machine state as an unwatched one.
//!
//! # Cost
//!
//! Nothing changes while no watch and no probe is set: the decoded-block loop is compiled
//! twice (`run_blocks::<false>` is the ordinary one; `Cpu::watching` picks it, one flag as
//! before probes existed). With execution watches or probes only, blocks still run; before a
//! block runs its linear span is compared with the watched and probed addresses, and a
//! block that holds one is executed an instruction at a time through the interpreter, each
//! compared first. Data watches send every step down the slow path and every access down the
//! checked path (as armed data breakpoints do).

use super::regs::CS;
use super::{Cpu, Exit};

/// Which accesses a data watch stops after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchKind {
    Write,
    Read,
    /// A read or a write.
    Access,
}

/// A watched range of `len` bytes at linear address `addr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataWatch {
    pub addr: u32,
    pub len: u32,
    pub kind: WatchKind,
}

impl DataWatch {
    fn matches(&self, lin: u32, len: u32, write: bool) -> bool {
        let kind_fits = match self.kind {
            WatchKind::Write => write,
            WatchKind::Read => !write,
            WatchKind::Access => true,
        };
        let (a0, a1) = (u64::from(lin), u64::from(lin) + u64::from(len.max(1)));
        let (b0, b1) = (
            u64::from(self.addr),
            u64::from(self.addr) + u64::from(self.len.max(1)),
        );
        kind_fits && a0 < b1 && b0 < a1
    }
}

/// What the debugger watches (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Watch {
    /// Linear addresses of instructions to stop before (kept sorted by [`Cpu::set_watch`]).
    pub exec: Vec<u32>,
    pub data: Vec<DataWatch>,
    /// Stop after every firmware service.
    pub services: bool,
    /// The first instruction is not stopped at if it lies at this linear address.
    pub resume_from: Option<u32>,
}

/// Why a run ended with [`Exit::Watch`] (or, from the machine, after a service).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchHit {
    /// About to execute the instruction at this linear address.
    Exec { addr: u32 },
    /// The instruction at linear `pc` accessed `len` bytes at linear `addr`.
    Data {
        pc: u32,
        addr: u32,
        len: u32,
        write: bool,
    },
    /// The firmware service with this number has just run.
    Service { service: u16 },
}

impl Cpu {
    /// Sets (or with `None` clears) the debugger's watch. Not machine state: a snapshot
    /// does not carry it, a clone of the CPU does.
    pub fn set_watch(&mut self, watch: Option<Watch>) {
        let before = self.checked_accesses();
        self.watch = watch.map(|mut w| {
            w.exec.sort_unstable();
            w.exec.dedup();
            Box::new(w)
        });
        self.watch_data = self.watch.as_ref().is_some_and(|w| !w.data.is_empty());
        self.watching = self.watch.is_some() || !self.probes.is_empty();
        self.watch_hit = None;
        if self.checked_accesses() != before {
            self.refresh_segments();
        }
        self.attention = self.needs_attention();
    }

    /// Sets the machine's probes to `addrs` (linear addresses, any order) unless they are
    /// those already set: what the machine stops before for its own bookkeeping (see the
    /// module documentation). Not machine state.
    pub fn set_probes(&mut self, addrs: impl Iterator<Item = u32> + Clone) {
        if self.probes.iter().copied().eq(addrs.clone()) {
            return;
        }
        self.probes.clear();
        self.probes.extend(addrs);
        self.probes.sort_unstable();
        self.probes.dedup();
        self.watching = self.watch.is_some() || !self.probes.is_empty();
    }

    /// The machine's probes, sorted.
    pub fn probes(&self) -> &[u32] {
        &self.probes
    }

    /// Takes the probe the last run stopped before, if it did.
    pub fn take_probe_hit(&mut self) -> Option<u32> {
        self.probe_hit.take()
    }

    /// Whether the last run stopped for the debugger's watch (a hit not yet taken).
    pub fn watch_hit_pending(&self) -> bool {
        self.watch_hit.is_some()
    }

    /// The next run's first instruction is not compared with the probes if it lies at
    /// linear `addr` (the machine has handled the probe there and goes on).
    pub fn resume_probe(&mut self, addr: u32) {
        self.probe_resume = Some(addr);
    }

    /// The debugger's watch, if set.
    pub fn watch(&self) -> Option<&Watch> {
        self.watch.as_deref()
    }

    /// Takes the reason the last run ended early for the watch, if it did.
    pub fn take_watch_hit(&mut self) -> Option<WatchHit> {
        self.watch_hit.take()
    }

    /// Whether the machine stops after every firmware service.
    pub fn watch_services(&self) -> bool {
        self.watch.as_ref().is_some_and(|w| w.services)
    }

    /// Records that the firmware service `service` has just run (the machine calls this
    /// when [`Cpu::watch_services`] holds).
    pub fn note_service_hit(&mut self, service: u16) {
        self.watch_hit = Some(WatchHit::Service { service });
    }

    /// The physical address of linear `lin` under the current paging (the address itself
    /// with paging off), for a supervisor read; `None` if it is not mapped. Changes nothing:
    /// no accessed bits, no TLB entry, no CR2.
    pub fn linear_to_physical(&self, mem: &crate::mem::Memory, lin: u32) -> Option<u32> {
        if !self.paged() {
            return Some(lin);
        }
        self.peek_translation(mem, lin, false, false)
            .ok()
            .map(|w| w.physical(lin))
    }

    /// The segment registers as they would be without the watch: a data watch makes every
    /// segment's fast-path bounds -1 (`Segment::refresh`), and those bounds are saved with a
    /// VM's or a mode's CPU context ([`Cpu::context`]), which is machine state. Saved
    /// contexts get the bounds the debug registers alone would give, and
    /// [`Cpu::load_context`] computes them afresh while a data watch is set, so a watched run
    /// leaves the state (and its hash) as an unwatched one.
    pub(crate) fn unwatched_segments(&self) -> [super::Segment; 6] {
        let mut segs = self.segs;
        if self.watch_data {
            let dr7 = self.dr[7];
            let checked = dr7 & super::debug::DR7_ENABLES != 0 && super::debug::data_armed(dr7);
            for s in &mut segs {
                s.refresh(checked);
            }
        }
        segs
    }

    /// CS.base + EIP.
    #[inline]
    pub(crate) fn pc_linear(&self) -> u32 {
        self.segs[CS].base.wrapping_add(self.eip)
    }

    /// Whether an execution watch lies in the linear bytes `lin ..= lin + len` (a block's
    /// span and the first byte after it, where its interpreted tail starts).
    #[inline]
    pub(crate) fn watch_exec_in(&self, lin: u32, len: u32) -> bool {
        let end = u64::from(lin) + u64::from(len);
        let within = |addrs: &[u32]| {
            let i = addrs.partition_point(|&a| a < lin);
            addrs.get(i).is_some_and(|&a| u64::from(a) <= end)
        };
        self.watch.as_deref().is_some_and(|w| within(&w.exec)) || within(&self.probes)
    }

    /// Whether a resume address is set: the next instruction goes through
    /// [`Cpu::watch_before`] on its own, which skips the comparisons the resume names.
    #[inline]
    pub(crate) fn resume_pending(&self) -> bool {
        self.probe_resume.is_some()
            || self
                .watch
                .as_deref()
                .is_some_and(|w| w.resume_from.is_some())
    }

    /// Whether the machine has set the probe at linear `addr` to be resumed past (it has
    /// handled the probe there already).
    pub fn probe_resuming_at(&self, addr: u32) -> bool {
        self.probe_resume == Some(addr)
    }

    /// Before an instruction: whether an execution watch or a probe stops the run here.
    /// Then the run ends with [`Exit::Watch`]; the caller gives back the tick it charged.
    /// The resume addresses are taken: the debugger's skips the watch, the machine's the
    /// probes, each only for an instruction at its address.
    #[cold]
    #[inline(never)]
    pub(crate) fn watch_before(&mut self) -> bool {
        let pc = self.pc_linear();
        let skip_watch = self.watch.as_deref_mut().and_then(|w| w.resume_from.take()) == Some(pc);
        let skip_probe = self.probe_resume.take() == Some(pc);
        let watched = !skip_watch
            && self
                .watch
                .as_deref()
                .is_some_and(|w| w.exec.binary_search(&pc).is_ok());
        let probed = !skip_probe && self.probes.binary_search(&pc).is_ok();
        if watched {
            self.watch_hit = Some(WatchHit::Exec { addr: pc });
        }
        if probed {
            self.probe_hit = Some(pc);
        }
        if watched || probed {
            self.stop(Exit::Watch);
        }
        watched || probed
    }

    /// An operand access of `len` bytes at linear `lin` (checked path only).
    #[cold]
    #[inline(never)]
    pub(crate) fn watch_data_access(&mut self, lin: u32, len: u32, write: bool) {
        if self.watch_hit.is_some() {
            return;
        }
        let hit = self
            .watch
            .as_deref()
            .is_some_and(|w| w.data.iter().any(|d| d.matches(lin, len, write)));
        if hit {
            self.watch_hit = Some(WatchHit::Data {
                pc: self.watch_pc,
                addr: lin,
                len,
                write,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bare::BareSystem;
    use crate::cpu::{Model, Reg16, SegReg};

    /// 0000:0100 MOV AX,1234h; MOV [0200h],AX; INC AX; MOV BX,[0200h]; HLT
    const CODE: [u8; 12] = [
        0xB8, 0x34, 0x12, 0xA3, 0x00, 0x02, 0x40, 0x8B, 0x1E, 0x00, 0x02, 0xF4,
    ];

    fn system(model: Model) -> BareSystem {
        let mut sys = BareSystem::new(model, 0x1_0000).expect("64 KiB is a valid RAM size");
        sys.load_code(0, 0x100, &CODE);
        sys.cpu.set_sreg(SegReg::DS, 0);
        sys
    }

    #[test]
    fn an_execution_watch_stops_before_the_instruction_and_resumes_past_it() {
        for model in [Model::I8086, Model::I80386] {
            for cache in [true, false] {
                let mut sys = system(model);
                sys.cpu.set_block_cache(cache);
                sys.cpu.set_watch(Some(Watch {
                    exec: vec![0x106],
                    ..Watch::default()
                }));
                let r = sys.cpu.run(&mut sys.bus, 10);
                assert_eq!(
                    (r.ticks, r.exit),
                    (2, Exit::Watch),
                    "{model:?} cache {cache}"
                );
                assert_eq!(sys.cpu.ip(), 0x106);
                assert_eq!(
                    sys.cpu.take_watch_hit(),
                    Some(WatchHit::Exec { addr: 0x106 })
                );
                // Resuming there runs the instruction (and the rest) without stopping again.
                sys.cpu.set_watch(Some(Watch {
                    exec: vec![0x106],
                    resume_from: Some(0x106),
                    ..Watch::default()
                }));
                let r = sys.cpu.run(&mut sys.bus, 2);
                assert_eq!((r.ticks, r.exit), (2, Exit::Budget));
                assert_eq!(sys.cpu.reg16(Reg16::BX), 0x1234);
            }
        }
    }

    #[test]
    fn a_write_watch_stops_after_the_writing_instruction() {
        for model in [Model::I8086, Model::I80286, Model::I80386] {
            let mut sys = system(model);
            sys.cpu.set_watch(Some(Watch {
                data: vec![DataWatch {
                    addr: 0x201,
                    len: 1,
                    kind: WatchKind::Write,
                }],
                ..Watch::default()
            }));
            let r = sys.cpu.run(&mut sys.bus, 10);
            assert_eq!((r.ticks, r.exit), (2, Exit::Watch), "{model:?}");
            assert_eq!(sys.cpu.ip(), 0x106);
            assert_eq!(
                sys.cpu.take_watch_hit(),
                Some(WatchHit::Data {
                    pc: 0x103,
                    addr: 0x200,
                    len: 2,
                    write: true
                })
            );
            // A read watch then stops after the MOV BX.
            sys.cpu.set_watch(Some(Watch {
                data: vec![DataWatch {
                    addr: 0x200,
                    len: 2,
                    kind: WatchKind::Read,
                }],
                ..Watch::default()
            }));
            let r = sys.cpu.run(&mut sys.bus, 10);
            assert_eq!((r.ticks, r.exit), (2, Exit::Watch));
            assert_eq!(sys.cpu.ip(), 0x10B);
            // Cleared, the watch costs nothing and stops nothing.
            sys.cpu.set_watch(None);
            let r = sys.cpu.run(&mut sys.bus, 10);
            assert_eq!(r.exit, Exit::Halted);
        }
    }
}
