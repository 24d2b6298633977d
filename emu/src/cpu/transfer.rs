//! Far control transfers in protected mode: JMP, CALL and RET between code segments, call
//! gates with parameter copy and the stack switch to a more privileged level, returns to an
//! outer level, and the stack pointers a TSS holds for levels 0-2.
//!
//! Sources: Intel *80386 Programmer's Reference Manual* (1986) 6.3.4 (control transfers),
//! 6.3.4.2 (gates), 6.3.4.3-6.3.4.4 (stack switching and returns), and the CALL, JMP and RET
//! pages of chapter 17; Intel *80286 Programmer's Reference Manual* (1987) chapter 7.
//!
//! A transfer either completes or leaves the processor as it found it (registers, segment
//! caches, CPL): every path saves that state first and puts it back when a check fails, so
//! the fault's saved CS:EIP and SS:ESP are the instruction's own. Memory written before the
//! failing check (pushes onto a new stack) stays written, as on the processor.

use super::descriptor::{Descriptor, sel_code, sys};
use super::regs::{CS, SP, SS, Segment};
use super::{Cpu, Fault, R};
use crate::bus::Bus;

/// What a failed transfer puts back.
pub(crate) struct Saved {
    segs: [Segment; 6],
    esp: u32,
    eip: u32,
    cpl: u8,
}

/// The kind of far transfer that reaches a gate or TSS (task switches differ by it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    Jmp,
    Call,
}

impl Cpu {
    pub(crate) fn save_transfer(&self) -> Saved {
        Saved {
            segs: self.segs,
            esp: self.regs[SP],
            eip: self.eip,
            cpl: self.cpl,
        }
    }

    pub(crate) fn restore_transfer(&mut self, s: Saved) {
        self.segs = s.segs;
        self.regs[SP] = s.esp;
        self.eip = s.eip;
        self.cpl = s.cpl;
        self.invalidate_code_window();
    }

    /// Loads CS with the code segment `d` (selector `sel`, its RPL replaced by the new CPL)
    /// and sets EIP, after the limit check (#GP(0)).
    pub(crate) fn enter_code<B: Bus>(
        &mut self,
        bus: &mut B,
        d: Descriptor,
        addr: u32,
        sel: u16,
        eip: u32,
        cpl: u8,
    ) -> R<()> {
        if eip > d.limit() {
            return Err(Fault::gp(0));
        }
        let cs = self.accessed_segment(bus, d, addr, (sel & 0xFFFC) | u16::from(cpl))?;
        self.cpl = cpl;
        self.set_segment(CS, cs);
        self.eip = eip;
        Ok(())
    }

    /// The checks of a direct JMP or CALL to code segment `d` (80386 PRM 6.3.4.1):
    /// conforming code needs DPL <= CPL, non-conforming code RPL <= CPL and DPL = CPL
    /// (#GP(sel)); then presence (#NP(sel)).
    fn check_direct_code(&self, d: &Descriptor, sel: u16) -> R<()> {
        let rpl = (sel & 3) as u8;
        let ok = if d.conforming() {
            d.dpl() <= self.cpl
        } else {
            rpl <= self.cpl && d.dpl() == self.cpl
        };
        if !ok {
            return Err(Fault::gp(sel_code(sel)));
        }
        if !d.present() {
            return Err(Fault::np(sel_code(sel)));
        }
        Ok(())
    }

    /// A gate's target code segment: non-null (#GP(0)), within its table (#GP(sel)), code
    /// with DPL <= CPL (#GP(sel)), present (#NP(sel)).
    fn gate_target<B: Bus>(&mut self, bus: &mut B, tsel: u16) -> R<(Descriptor, u32)> {
        if tsel & 0xFFFC == 0 {
            return Err(Fault::gp(0));
        }
        let (t, taddr) = self.read_descriptor(bus, tsel)?;
        if !t.is_code() || t.dpl() > self.cpl {
            return Err(Fault::gp(sel_code(tsel)));
        }
        if !t.present() {
            return Err(Fault::np(sel_code(tsel)));
        }
        Ok((t, taddr))
    }

    /// JMP FAR or CALL FAR in protected mode to `sel:off` (`off` already truncated to the
    /// operand size). `ret` is the return offset a CALL pushes.
    pub(crate) fn far_transfer_protected<B: Bus>(
        &mut self,
        bus: &mut B,
        via: Via,
        sel: u16,
        off: u32,
        ret: u32,
    ) -> R<()> {
        let saved = self.save_transfer();
        let r = self.far_transfer_inner(bus, via, sel, off, ret);
        if r.is_err() {
            self.restore_transfer(saved);
        }
        r
    }

    fn far_transfer_inner<B: Bus>(
        &mut self,
        bus: &mut B,
        via: Via,
        sel: u16,
        off: u32,
        ret: u32,
    ) -> R<()> {
        if sel & 0xFFFC == 0 {
            return Err(Fault::gp(0));
        }
        let (d, addr) = self.read_descriptor(bus, sel)?;
        let code = sel_code(sel);
        let bits = self.vbits();
        if d.is_segment() {
            if !d.is_code() {
                return Err(Fault::gp(code));
            }
            self.check_direct_code(&d, sel)?;
            if via == Via::Call {
                let old_cs = self.segs[CS].selector;
                self.pushv(bus, bits, u32::from(old_cs))?;
                self.pushv(bus, bits, ret)?;
            }
            let cpl = self.cpl;
            return self.enter_code(bus, d, addr, sel, off, cpl);
        }
        let rpl = (sel & 3) as u8;
        match d.kind() {
            sys::CALL_GATE286 | sys::CALL_GATE386
                if d.kind() == sys::CALL_GATE286 || self.is386() =>
            {
                if d.dpl() < self.cpl || d.dpl() < rpl {
                    return Err(Fault::gp(code));
                }
                if !d.present() {
                    return Err(Fault::np(code));
                }
                let tsel = d.gate_selector();
                let (t, taddr) = self.gate_target(bus, tsel)?;
                let gate32 = d.kind() == sys::CALL_GATE386;
                let target_off = d.gate_offset();
                if via == Via::Jmp {
                    // A JMP through a gate cannot change the privilege level.
                    if !t.conforming() && t.dpl() != self.cpl {
                        return Err(Fault::gp(sel_code(tsel)));
                    }
                    let cpl = self.cpl;
                    return self.enter_code(bus, t, taddr, tsel, target_off, cpl);
                }
                if !t.conforming() && t.dpl() < self.cpl {
                    self.call_gate_inward(bus, &d, t, taddr, tsel, ret)
                } else {
                    let gbits = if gate32 { 32 } else { 16 };
                    let old_cs = self.segs[CS].selector;
                    self.pushv(bus, gbits, u32::from(old_cs))?;
                    self.pushv(bus, gbits, ret)?;
                    let cpl = self.cpl;
                    self.enter_code(bus, t, taddr, tsel, target_off, cpl)
                }
            }
            sys::TASK_GATE => {
                if d.dpl() < self.cpl || d.dpl() < rpl {
                    return Err(Fault::gp(code));
                }
                if !d.present() {
                    return Err(Fault::np(code));
                }
                let tss = d.gate_selector();
                self.switch_task_via_selector(bus, tss, via.into(), ret)
            }
            sys::TSS286_AVAILABLE | sys::TSS386_AVAILABLE | sys::TSS286_BUSY | sys::TSS386_BUSY
                if d.kind() < 8 || self.is386() =>
            {
                if d.dpl() < self.cpl || d.dpl() < rpl {
                    return Err(Fault::gp(code));
                }
                self.switch_task_via_selector(bus, sel, via.into(), ret)
            }
            _ => Err(Fault::gp(code)),
        }
    }

    /// The stack pointer the current TSS holds for privilege level `level`, with its
    /// selector (80386 PRM figure 7-1, 80286 PRM figure 8-1). Beyond the TSS limit: #TS.
    pub(crate) fn tss_stack<B: Bus>(&mut self, bus: &mut B, level: u8) -> R<(u16, u32)> {
        let t = self.task;
        let big = matches!(t.attr & 0xF, 9 | 11);
        let (sp_at, len) = if big {
            (4 + 8 * u32::from(level), 8)
        } else {
            (2 + 4 * u32::from(level), 4)
        };
        if sp_at + len - 1 > t.limit {
            return Err(Fault::ts(sel_code(t.selector)));
        }
        let a = t.base.wrapping_add(sp_at);
        if big {
            let esp = self.lin_read(bus, a, 4, false)?;
            let ss = self.lin_read(bus, a.wrapping_add(4), 2, false)? as u16;
            Ok((ss, esp))
        } else {
            let sp = self.lin_read(bus, a, 2, false)?;
            let ss = self.lin_read(bus, a.wrapping_add(2), 2, false)? as u16;
            Ok((ss, sp))
        }
    }

    /// The stack segment for level `level` from the TSS, checked as a task's inner stack is
    /// (80386 PRM CALL, "more privilege"): non-null, RPL = DPL = `level`, writable data
    /// (#TS(sel), EXT from `ext`), present (#SS(sel)).
    pub(crate) fn inner_stack<B: Bus>(
        &mut self,
        bus: &mut B,
        level: u8,
        ext: u16,
    ) -> R<(Segment, u32)> {
        let (ss, esp) = self.tss_stack(bus, level)?;
        let code = sel_code(ss) | ext;
        if ss & 0xFFFC == 0 {
            return Err(Fault::ts(ext));
        }
        let (d, addr) = self.read_descriptor_or(bus, ss, Fault::ts(code))?;
        if (ss & 3) as u8 != level || d.dpl() != level || !d.is_data() || !d.rw() {
            return Err(Fault::ts(code));
        }
        if !d.present() {
            return Err(Fault::ss(code));
        }
        Ok((self.accessed_segment(bus, d, addr, ss)?, esp))
    }

    /// CALL through a gate to a more privileged non-conforming segment: switch to the inner
    /// stack from the TSS, push the old SS:ESP, copy the gate's parameters from the old
    /// stack, push the return CS:EIP.
    fn call_gate_inward<B: Bus>(
        &mut self,
        bus: &mut B,
        gate: &Descriptor,
        t: Descriptor,
        taddr: u32,
        tsel: u16,
        ret: u32,
    ) -> R<()> {
        let level = t.dpl();
        let gbits = if gate.kind() == sys::CALL_GATE386 {
            32
        } else {
            16
        };
        let count = gate.gate_params();
        let old_ss = self.segs[SS];
        let old_esp = self.regs[SP];
        let old_cs = self.segs[CS].selector;
        // Read the parameters first, from the caller's stack.
        let mut params = [0u32; 31];
        let step = gbits / 8;
        let old_mask = if old_ss.big { u32::MAX } else { 0xFFFF };
        for (i, p) in params.iter_mut().enumerate().take(count as usize) {
            let at = old_esp.wrapping_add(i as u32 * step) & old_mask;
            *p = self.rdv(bus, SS, at, gbits)?;
        }
        let (new_ss, new_esp) = self.inner_stack(bus, level, 0)?;
        let need = (4 + count) * step;
        let top = new_esp & if new_ss.big { u32::MAX } else { 0xFFFF };
        self.cpl = level;
        self.set_segment(SS, new_ss);
        self.regs[SP] = new_esp;
        if self
            .check_access(SS, top.wrapping_sub(need), need, true)
            .is_err()
        {
            return Err(Fault::ss(sel_code(new_ss.selector)));
        }
        self.pushv(bus, gbits, u32::from(old_ss.selector))?;
        self.pushv(bus, gbits, old_esp)?;
        for i in (0..count as usize).rev() {
            self.pushv(bus, gbits, params[i])?;
        }
        self.pushv(bus, gbits, u32::from(old_cs))?;
        self.pushv(bus, gbits, ret)?;
        self.enter_code(bus, t, taddr, tsel, gate.gate_offset(), level)
    }

    /// RET FAR (with `release` extra bytes) in protected mode (80386 PRM RET).
    pub(crate) fn ret_far_protected<B: Bus>(&mut self, bus: &mut B, release: u32) -> R<()> {
        let saved = self.save_transfer();
        let r = self.ret_far_inner(bus, release);
        if r.is_err() {
            self.restore_transfer(saved);
        }
        r
    }

    fn ret_far_inner<B: Bus>(&mut self, bus: &mut B, release: u32) -> R<()> {
        let bits = self.vbits();
        let step = bits / 8;
        let eip = self.peek_stack(bus, 0, bits)?;
        let sel = self.peek_stack(bus, step, 16)? as u16;
        let eip = if bits == 32 { eip } else { eip & 0xFFFF };
        let (d, addr) = self.check_return_cs(bus, sel)?;
        let rpl = (sel & 3) as u8;
        if rpl == self.cpl {
            self.adjust_sp(2 * step + release);
            let cpl = self.cpl;
            return self.enter_code(bus, d, addr, sel, eip, cpl);
        }
        // To an outer level: the caller's SS:ESP lies above the parameters.
        let new_esp = self.peek_stack(bus, 2 * step + release, bits)?;
        let ss = self.peek_stack(bus, 3 * step + release, 16)? as u16;
        let new_ss = self.check_outer_ss(bus, ss, rpl)?;
        self.enter_code(bus, d, addr, sel, eip, rpl)?;
        self.load_outer_stack(new_ss, new_esp, bits);
        self.adjust_sp(release);
        self.invalidate_outer_segments();
        Ok(())
    }

    /// SS:ESP of a return to an outer level: the popped stack pointer of operand size
    /// `bits`, into ESP whole on a 32-bit stack and into SP alone on a 16-bit one.
    pub(crate) fn load_outer_stack(&mut self, ss: Segment, esp: u32, bits: u32) {
        self.set_segment(SS, ss);
        let esp = if bits == 32 { esp } else { esp & 0xFFFF };
        self.regs[SP] = if ss.big {
            esp
        } else {
            (self.regs[SP] & 0xFFFF_0000) | (esp & 0xFFFF)
        };
    }

    /// The return CS checks of RET and IRET: non-null (#GP(0)), in its table (#GP(sel)),
    /// code (#GP(sel)), RPL >= CPL (#GP(sel)), conforming: DPL <= RPL, non-conforming:
    /// DPL = RPL (#GP(sel)), present (#NP(sel)).
    pub(crate) fn check_return_cs<B: Bus>(
        &mut self,
        bus: &mut B,
        sel: u16,
    ) -> R<(Descriptor, u32)> {
        if sel & 0xFFFC == 0 {
            return Err(Fault::gp(0));
        }
        let (d, addr) = self.read_descriptor(bus, sel)?;
        let code = sel_code(sel);
        let rpl = (sel & 3) as u8;
        if !d.is_code() || rpl < self.cpl {
            return Err(Fault::gp(code));
        }
        let ok = if d.conforming() {
            d.dpl() <= rpl
        } else {
            d.dpl() == rpl
        };
        if !ok {
            return Err(Fault::gp(code));
        }
        if !d.present() {
            return Err(Fault::np(code));
        }
        Ok((d, addr))
    }

    /// The outer stack segment of a return to level `rpl`: non-null (#GP(0)), RPL = `rpl`,
    /// writable data with DPL = `rpl` (#GP(sel)), present (#SS(sel)).
    pub(crate) fn check_outer_ss<B: Bus>(&mut self, bus: &mut B, ss: u16, rpl: u8) -> R<Segment> {
        if ss & 0xFFFC == 0 {
            return Err(Fault::gp(0));
        }
        let (d, addr) = self.read_descriptor(bus, ss)?;
        let code = sel_code(ss);
        if (ss & 3) as u8 != rpl || !d.is_data() || !d.rw() || d.dpl() != rpl {
            return Err(Fault::gp(code));
        }
        if !d.present() {
            return Err(Fault::ss(code));
        }
        self.accessed_segment(bus, d, addr, ss)
    }
}
