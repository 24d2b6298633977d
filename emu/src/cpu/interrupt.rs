//! Interrupt and exception delivery in real-address mode.
//!
//! 80386 PRM section 14.1.4 / 80286 PRM section 5.5: the processor pushes FLAGS, CS and IP
//! (16 bits each, whatever the operand size), clears IF and TF, and loads CS:IP from the
//! 4-byte vector at `IDTR.base + 4 * n` (the 8086 has no IDTR: its table is fixed at 0).
//!
//! Return addresses: traps and software interrupts (INT n, INT3, INTO, single-step) return
//! to the next instruction. Faults return to the faulting instruction's first prefix on the
//! 80286 and 80386; the 8086's only fault, the divide error, returns to the next instruction.
//! A fault while delivering an exception becomes a double fault (interrupt 8); a fault while
//! delivering that shuts the processor down.

use super::flags::{IF, RF, TF};
use super::idt::Source;
use super::regs::SP;
use super::{Cpu, Exit, Fault, GENERAL_PROTECTION, R};
use crate::bus::Bus;

const DOUBLE_FAULT: u8 = 8;
const SINGLE_STEP: u8 = 1;

impl Cpu {
    /// Pushes FLAGS, CS and `ret_ip` and vectors through the real-mode table. Nothing is
    /// changed when it faults.
    pub(crate) fn real_mode_interrupt<B: Bus>(
        &mut self,
        bus: &mut B,
        vector: u8,
        ret_ip: u32,
    ) -> R<()> {
        let entry = u32::from(vector) * 4;
        let (base, limit) = if self.is8086() {
            (0, 0x3FF)
        } else {
            (self.idtr.base, u32::from(self.idtr.limit))
        };
        if entry + 3 > limit {
            return Err(GENERAL_PROTECTION);
        }
        let mem = bus.memory_ref();
        let new_ip = mem.read_u16(base.wrapping_add(entry));
        let new_cs = mem.read_u16(base.wrapping_add(entry + 2));
        let flags = self.flags.bits() as u16;
        let old_cs = self.segs[super::regs::CS].selector;
        self.stack_transaction(bus, |cpu, bus| {
            cpu.push16(bus, flags)?;
            cpu.push16(bus, old_cs)?;
            cpu.push16(bus, ret_ip as u16)
        })?;
        let other = self.flags.other() & !(IF | TF);
        self.flags.set_other(other);
        self.attention = self.needs_attention();
        self.set_cs_ip(new_cs, u32::from(new_ip));
        self.delivered = true;
        Ok(())
    }

    /// Runs `f`, restoring the stack pointer if it faults (so that a fault in the middle of
    /// a multi-push instruction leaves SP as the instruction found it).
    #[inline(always)]
    pub(crate) fn stack_transaction<B: Bus, T>(
        &mut self,
        bus: &mut B,
        f: impl FnOnce(&mut Cpu, &mut B) -> R<T>,
    ) -> R<T> {
        let sp = self.regs[SP];
        let r = f(self, bus);
        if r.is_err() {
            self.regs[SP] = sp;
        }
        r
    }

    /// Delivers interrupt `vector` by the current mode's rules, returning to `ret`.
    pub(crate) fn deliver<B: Bus>(
        &mut self,
        bus: &mut B,
        vector: u8,
        ret: u32,
        src: Source,
    ) -> R<()> {
        if self.protected() {
            self.protected_interrupt(bus, vector, ret, src)
        } else {
            self.real_mode_interrupt(bus, vector, ret)
        }
    }

    /// Delivers a fault raised by the current instruction.
    #[cold]
    #[inline(never)]
    pub(crate) fn deliver_fault<B: Bus>(&mut self, bus: &mut B, fault: Fault) {
        let ret = if self.is8086() {
            self.next_ip()
        } else {
            self.d.start_eip
        };
        self.eip = ret;
        if self.is386() && self.protected() {
            // 80386 PRM 12.3.1.1: the EFLAGS image of a fault has RF set, so the restarted
            // instruction does not raise its own instruction breakpoint again (the
            // instruction-breakpoint fault itself is raised in `debug.rs`, RF clear).
            let other = self.flags.other();
            self.flags.set_other(other | RF);
        }
        let code = fault.has_error_code().then_some(fault.code);
        if let Err(f) = self.deliver(bus, fault.vector, ret, Source::Exception(code)) {
            self.escalate(bus, Some(fault.vector), f);
        }
        // The instruction did not complete: a pending REP continuation is void.
        self.d.rep_more = false;
    }

    /// Exception `second` occurred while delivering exception `first` (`None`: an external
    /// interrupt). In protected mode (80386 PRM table 9-3) two contributory exceptions (0,
    /// 10-13), or a page fault followed by a page fault or a contributory one, make a double
    /// fault (error code 0); otherwise `second` is delivered in turn. In real mode any fault
    /// while delivering becomes a double fault (interrupt 8). A fault while delivering the
    /// double fault shuts the processor down, as does any on the 8086.
    #[cold]
    pub(crate) fn escalate<B: Bus>(&mut self, bus: &mut B, first: Option<u8>, second: Fault) {
        let ret = self.eip;
        if first == Some(DOUBLE_FAULT) || self.is8086() {
            self.shut_down();
            return;
        }
        let contributory = |v: u8| matches!(v, 0 | 10..=13);
        let s = second.vector;
        let double = !self.protected()
            || first.is_some_and(|f| {
                (contributory(f) && contributory(s)) || (f == 14 && (s == 14 || contributory(s)))
            });
        let (vector, code) = if double {
            (DOUBLE_FAULT, Some(0))
        } else {
            (s, second.has_error_code().then_some(second.code))
        };
        if let Err(third) = self.deliver(bus, vector, ret, Source::Exception(code)) {
            if double {
                self.shut_down();
            } else {
                self.escalate(bus, Some(vector), third);
            }
        }
    }

    /// A triple fault: the processor stops until reset (the AT turns the shutdown cycle
    /// into a reset).
    fn shut_down(&mut self) {
        self.shutdown = true;
        self.halted = true;
        self.stop(Exit::Shutdown);
    }

    /// INT n, INT3 and INTO: a trap returning to the next instruction. In virtual-8086 mode
    /// with IOPL < 3, INT n (CDh, `int_n`) raises #GP(0) for the monitor instead; INT3 and
    /// INTO are not IOPL-sensitive and go through their gates (80386 PRM 15.4 lists CLI,
    /// STI, LOCK, PUSHF, POPF, INT n and IRET; Intel's later manuals say the V86 IOPL check
    /// does not apply to INT3 and INTO, and Bochs agrees; the PRM's combined INT/INTO page
    /// says otherwise in one line, the minority reading).
    #[inline(never)]
    pub(crate) fn software_interrupt<B: Bus>(
        &mut self,
        bus: &mut B,
        vector: u8,
        int_n: bool,
    ) -> R<()> {
        let ret = self.next_ip();
        if int_n && self.protected() && self.v86() && self.iopl() < 3 {
            return Err(Fault::gp(0));
        }
        self.deliver(bus, vector, ret, Source::Software)
    }

    /// IRETD loads RF from the image (80386 PRM 2.3.3 and 12.3.1.1: a debug handler returns
    /// past an instruction breakpoint with RF set); POPF does not.
    pub(crate) fn load_rf(&mut self, fl: u32) {
        if self.is386() {
            let other = (self.flags.other() & !RF) | (fl & RF);
            self.flags.set_other(other);
            self.attention = self.needs_attention();
        }
    }

    /// ICEBP (F1h, 80386): the debug trap through vector 1 with no privilege check.
    pub(crate) fn icebp<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        let ret = self.next_ip();
        self.deliver(bus, SINGLE_STEP, ret, Source::External)
    }

    /// IRET/IRETD.
    pub(crate) fn iret<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        if self.protected() {
            return self.iret_protected(bus);
        }
        let bits = self.vbits();
        let step = bits / 8;
        let ip = self.peek_stack(bus, 0, bits)?;
        let cs = self.peek_stack(bus, step, 16)? as u16;
        let fl = self.peek_stack(bus, 2 * step, bits)?;
        let ip = if bits == 32 { ip } else { ip & 0xFFFF };
        if ip > self.segs[super::regs::CS].limit && !self.is8086() {
            return Err(GENERAL_PROTECTION);
        }
        self.adjust_sp(3 * step);
        self.set_cs_ip(cs, ip);
        self.write_flags(fl, if bits == 32 { 0xFFFF_FFFF } else { 0xFFFF });
        if bits == 32 {
            self.load_rf(fl);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::bare::BareSystem;
    use crate::cpu::{Exit, Model, Reg16, SegReg};

    /// A 286 at 0000:0100 running `code`, stack at 0000:0400, vector 8 -> 0000:0200 (HLT).
    fn system(code: &[u8]) -> BareSystem {
        let mut sys = BareSystem::new(Model::I80286, 0x1_0000).expect("64 KiB is a valid RAM size");
        sys.bus.mem.write_bytes(8 * 4, &[0x00, 0x02, 0x00, 0x00]);
        sys.bus.mem.write_u8(0x200, 0xF4);
        sys.cpu.set_sreg(SegReg::SS, 0);
        sys.cpu.set_reg16(Reg16::SP, 0x400);
        sys.load_code(0, 0x100, code);
        sys
    }

    #[test]
    fn intr_is_recognised_after_the_instruction_following_sti() {
        // 80286 PRM: after STI, interrupts are recognised at the end of the *next*
        // instruction. Code: STI; NOP; NOP; HLT with IF = 0 and INTR high.
        let mut sys = system(&[0xFB, 0x90, 0x90, 0xF4]);
        sys.cpu.set_intr(true);
        let r = sys.run(100);
        assert_eq!((r.ticks, r.exit), (2, Exit::Interrupt));
        assert_eq!(sys.cpu.ip(), 0x102);
        // Delivery pushes FLAGS, CS and the IP of the next instruction, clears IF and TF.
        sys.cpu.set_intr(false);
        sys.cpu.interrupt(&mut sys.bus, 8);
        assert_eq!((sys.cpu.sreg(SegReg::CS), sys.cpu.ip()), (0, 0x200));
        assert_eq!(sys.bus.mem.read_u16(0x3FA), 0x102); // return IP
        assert_eq!(sys.cpu.flags() & 0x200, 0);
    }

    #[test]
    fn a_286_pop_to_memory_that_faults_has_moved_sp() {
        // POP word [FFFFh] (8F 06 FF FF): the pop succeeds, the write straddles the DS
        // limit and raises #GP (interrupt 13). The 80286 has already incremented SP, so
        // the fault frame sits 2 bytes higher than before the instruction (the held-out
        // SingleStepTests 80286 vectors of 8Fh show this); the 80386 restores ESP.
        for (model, sp_after) in [(Model::I80286, 0x400 - 6), (Model::I80386, 0x3FE - 6)] {
            let mut sys = BareSystem::new(model, 0x1_0000).expect("64 KiB");
            sys.bus.mem.write_bytes(13 * 4, &[0x00, 0x02, 0x00, 0x00]);
            sys.bus.mem.write_u8(0x200, 0xF4);
            sys.cpu.set_sreg(SegReg::SS, 0);
            sys.cpu.set_reg16(Reg16::SP, 0x3FE);
            sys.load_code(0, 0x100, &[0x8F, 0x06, 0xFF, 0xFF]);
            sys.run(1);
            assert_eq!(
                (sys.cpu.sreg(SegReg::CS), sys.cpu.ip()),
                (0, 0x200),
                "{model:?}"
            );
            // Three words (FLAGS, CS, IP) pushed below SP as the fault found it.
            assert_eq!(sys.cpu.reg16(Reg16::SP), sp_after, "{model:?}");
            assert_eq!(sys.bus.mem.read_u16(u32::from(sp_after)), 0x100);
        }
    }

    #[test]
    fn intr_waits_while_interrupts_are_disabled() {
        // IF = 0: the request stays pending; the CPU runs on into HLT.
        let mut sys = system(&[0x90, 0x90, 0x90, 0xF4]);
        sys.cpu.set_intr(true);
        let r = sys.run(100);
        assert_eq!((r.ticks, r.exit), (4, Exit::Halted));
    }

    #[test]
    fn intr_with_interrupts_enabled_stops_before_any_instruction() {
        let mut sys = system(&[0x90, 0xF4]);
        sys.cpu.set_flags(0x202); // IF
        sys.cpu.set_intr(true);
        let r = sys.run(100);
        assert_eq!((r.ticks, r.exit), (0, Exit::Interrupt));
        // With INTR low the same CPU runs normally (the block cache path).
        sys.cpu.set_intr(false);
        let r = sys.run(100);
        assert_eq!((r.ticks, r.exit), (2, Exit::Halted));
    }

    #[test]
    fn popf_setting_if_opens_the_window_at_once() {
        // POPF has no interrupt shadow: the interrupt comes right after it.
        // Code: PUSH 0202h; POPF; NOP; HLT.
        let mut sys = system(&[0x68, 0x02, 0x02, 0x9D, 0x90, 0xF4]);
        sys.cpu.set_intr(true);
        let r = sys.run(100);
        assert_eq!((r.ticks, r.exit), (2, Exit::Interrupt));
        assert_eq!(sys.cpu.ip(), 0x104);
    }

    #[test]
    fn the_emulator_trap_exists_only_at_registered_sites() {
        // FE 38 34 12 = trap 1234h; then INC AX.
        let code = [0xFE, 0x38, 0x34, 0x12, 0x40, 0xF4];
        // No sites (the real processor): group 4 with reg = 7 is #UD, interrupt 6 (its
        // vector is 0000:0000 here, so the CPU lands at 0:0 with IP of the faulting
        // instruction).
        let mut sys = system(&code);
        let r = sys.run(1);
        assert_eq!(r.ticks, 1);
        assert_eq!((sys.cpu.sreg(SegReg::CS), sys.cpu.ip()), (0, 0));
        assert_eq!(sys.bus.mem.read_u16(0x3FA), 0x100); // 80286: the faulting IP
        // A stub at 00100h: the run ends with the service number, IP past the four bytes;
        // the trap is one tick, and the run continues normally afterwards.
        for cache in [true, false] {
            let mut sys = system(&code);
            sys.cpu.set_block_cache(cache);
            sys.cpu.add_trap_site(0x100, 0x1234);
            let r = sys.run(100);
            assert_eq!((r.ticks, r.exit), (1, Exit::Trap(0x1234)));
            assert_eq!(sys.cpu.ip(), 0x104);
            let r = sys.run(100);
            assert_eq!((r.ticks, r.exit), (2, Exit::Halted));
            assert_eq!(sys.cpu.reg16(Reg16::AX), 1);
        }
        // Other group-4 forms with reg = 7 stay invalid at a site.
        let mut sys = system(&[0xFE, 0x39, 0x00, 0x00]);
        sys.cpu.add_trap_site(0x100, 0x0000);
        sys.run(1);
        assert_eq!((sys.cpu.sreg(SegReg::CS), sys.cpu.ip()), (0, 0));
    }

    #[test]
    fn a_protected_mode_service_is_no_trap_in_real_mode() {
        // Service 8601h has PM_SERVICE set: a DPMI host's gate stub. Reached in real mode
        // its bytes are what they are on the processor, #UD with the faulting IP saved.
        for cache in [true, false] {
            let mut sys = system(&[0xFE, 0x38, 0x01, 0x86, 0xF4]);
            sys.cpu.set_block_cache(cache);
            sys.cpu
                .add_trap_site(0x100, super::super::PM_SERVICE | 0x0601);
            let r = sys.run(1);
            assert_ne!(r.exit, Exit::Trap(0x8601));
            assert_eq!((sys.cpu.sreg(SegReg::CS), sys.cpu.ip()), (0, 0));
            assert_eq!(sys.bus.mem.read_u16(0x3FA), 0x100);
        }
    }

    /// Runs `code` at 0000:0100 on a 286 with a stub registered at `site` for service
    /// 0505h; returns the exit, CS:IP after one tick and the IP saved on the stack.
    fn trap_elsewhere(code: &[u8], site: u32, cache: bool) -> (Exit, (u16, u16), u16) {
        let mut sys = system(code);
        sys.cpu.set_block_cache(cache);
        sys.cpu.add_trap_site(site, 0x0505);
        let r = sys.run(1);
        let at = (sys.cpu.sreg(SegReg::CS), sys.cpu.ip());
        (r.exit, at, sys.bus.mem.read_u16(0x3FA))
    }

    #[test]
    fn a_trap_outside_the_stubs_is_an_invalid_opcode() {
        // 80286 PRM, interrupt 6: the saved CS:IP points at the first byte of the invalid
        // instruction. The guest's own FE 38 06 05 at 00100h, the only stub at 00200h.
        for cache in [true, false] {
            let (exit, at, saved) = trap_elsewhere(&[0xFE, 0x38, 0x05, 0x05, 0xF4], 0x200, cache);
            assert_ne!(exit, Exit::Trap(0x0505));
            assert_eq!((at, saved), ((0, 0), 0x100));
            // At the stub's address but with another service number in its bytes (a
            // guest overwrote the stub): invalid too.
            let (exit, at, saved) = trap_elsewhere(&[0xFE, 0x38, 0x06, 0x05, 0xF4], 0x100, cache);
            assert_ne!(exit, Exit::Trap(0x0605));
            assert_eq!((at, saved), ((0, 0), 0x100));
        }
    }

    #[test]
    fn a_stub_traps_through_any_address_of_its_bytes() {
        // The site is physical: 0010:0000 is the same byte as 0000:0100.
        let mut sys = system(&[]);
        sys.load_code(0x0010, 0, &[0xFE, 0x38, 0x05, 0x05, 0xF4]);
        sys.cpu.add_trap_site(0x100, 0x0505);
        assert_eq!(sys.run(1).exit, Exit::Trap(0x0505));
        // With A20 off, FFFF:0110 wraps to 00100h: the stub. With A20 on it is 100100h,
        // other memory holding the same bytes: the invalid opcode, at FFFF:0110.
        for a20 in [false, true] {
            let mut sys = BareSystem::new(Model::I80286, 0x20_0000).expect("2 MiB");
            sys.bus.mem.set_a20(a20);
            sys.cpu.set_sreg(SegReg::SS, 0);
            sys.cpu.set_reg16(Reg16::SP, 0x400);
            sys.bus
                .mem
                .write_bytes(0x10_0100, &[0xFE, 0x38, 0x05, 0x05]);
            sys.load_code(0xFFFF, 0x110, &[0xFE, 0x38, 0x05, 0x05]);
            sys.cpu.add_trap_site(0x100, 0x0505);
            let r = sys.run(1);
            if a20 {
                assert_ne!(r.exit, Exit::Trap(0x0505));
                assert_eq!((sys.cpu.sreg(SegReg::CS), sys.cpu.ip()), (0, 0));
                let saved = (sys.bus.mem.read_u16(0x3FC), sys.bus.mem.read_u16(0x3FA));
                assert_eq!(saved, (0xFFFF, 0x110));
            } else {
                assert_eq!(r.exit, Exit::Trap(0x0505));
            }
        }
    }

    #[test]
    fn the_8086_keeps_its_fe_7_alias_outside_the_stubs() {
        // The 8086 has no #UD: FE /7 runs as FF /7 (PUSH r/m16), here PUSH [BX+SI] with
        // BX = SI = 0, the word at 0000:0000; the service word then runs as code.
        let mut sys = BareSystem::new(Model::I8086, 0x1_0000).expect("64 KiB");
        sys.bus.mem.write_u16(0, 0xBEEF);
        sys.cpu.set_sreg(SegReg::SS, 0);
        sys.cpu.set_reg16(Reg16::SP, 0x400);
        sys.load_code(0, 0x100, &[0xFE, 0x38, 0x90, 0x10, 0xF4]);
        sys.cpu.add_trap_site(0x200, 0x1090);
        let r = sys.run(1);
        assert_eq!(r.exit, Exit::Budget);
        assert_eq!((sys.cpu.ip(), sys.cpu.reg16(Reg16::SP)), (0x102, 0x3FE));
        assert_eq!(sys.bus.mem.read_u16(0x3FE), 0xBEEF);
        // At a registered site the 8086 traps like the others.
        let mut sys = BareSystem::new(Model::I8086, 0x1_0000).expect("64 KiB");
        sys.load_code(0, 0x100, &[0xFE, 0x38, 0x90, 0x10, 0xF4]);
        sys.cpu.add_trap_site(0x100, 0x1090);
        assert_eq!(sys.run(1).exit, Exit::Trap(0x1090));
    }
}
