//! Task switches: JMP, CALL or INT through a TSS descriptor or task gate, and IRET with NT
//! set back to the task that called; 80286 (44-byte) and 80386 (104-byte) TSS formats.
//!
//! Sources: Intel *80386 Programmer's Reference Manual* (1986) chapter 7 (figure 7-1 the
//! 386 TSS, 7.5 task switching steps, 7.6 task linking with NT and the busy bit) and the
//! "Task switch" pseudo-code of chapter 17; Intel *80286 Programmer's Reference Manual*
//! (1987) chapter 8 (figure 8-1 the 286 TSS).
//!
//! Order (80386 PRM 7.5): the new TSS must be present (#NP) and at least 104 (386) or 44
//! (286) bytes long (#TS); JMP, CALL and INT need it available (#GP), IRET busy (#TS). The
//! outgoing state goes into the current TSS; JMP and IRET clear the old busy bit, CALL and
//! INT write the back link and set NT; JMP, CALL and INT set the new busy bit. TR is then
//! loaded and CR0.TS set; the incoming registers load, and only after that are LDTR, CS, SS
//! and the data segments checked, so their faults (#TS with the selector) are taken in the
//! new task.

use super::descriptor::{Descriptor, sel_code, sys};
use super::flags::{NT, VM};
use super::regs::{CS, SS};
use super::transfer::Via;
use super::{Cpu, Fault, R};
use crate::bus::Bus;

/// How the switch was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Switch {
    Jmp,
    Call,
    Int,
    Iret,
}

impl From<Via> for Switch {
    fn from(v: Via) -> Switch {
        match v {
            Via::Jmp => Switch::Jmp,
            Via::Call => Switch::Call,
        }
    }
}

/// A TSS's register block as the two formats place it.
struct Layout {
    big: bool,
}

impl Layout {
    fn min_limit(&self) -> u32 {
        if self.big { 103 } else { 43 }
    }
    fn eip(&self) -> u32 {
        if self.big { 32 } else { 14 }
    }
    fn flags(&self) -> u32 {
        if self.big { 36 } else { 16 }
    }
    /// General register `i` (AX..DI).
    fn reg(&self, i: usize) -> u32 {
        if self.big {
            40 + 4 * i as u32
        } else {
            18 + 2 * i as u32
        }
    }
    /// Segment register `i` (ES CS SS DS, then FS GS on the 386).
    fn seg(&self, i: usize) -> u32 {
        if self.big {
            72 + 4 * i as u32
        } else {
            34 + 2 * i as u32
        }
    }
    fn ldt(&self) -> u32 {
        if self.big { 96 } else { 42 }
    }
    fn width(&self) -> u32 {
        if self.big { 4 } else { 2 }
    }
}

impl Cpu {
    /// Switches to the task whose TSS selector is `sel` (from a task gate or a direct
    /// reference). `ret` is the EIP the outgoing task resumes at.
    pub(crate) fn switch_task_via_selector<B: Bus>(
        &mut self,
        bus: &mut B,
        sel: u16,
        how: Switch,
        ret: u32,
    ) -> R<()> {
        let code = sel_code(sel);
        if sel & 4 != 0 {
            return Err(Fault::gp(code));
        }
        let (d, addr) = self.read_descriptor(bus, sel)?;
        let kind = d.kind();
        let is_tss = !d.is_segment() && matches!(kind, sys::TSS286_AVAILABLE | sys::TSS286_BUSY)
            || (self.is386() && matches!(kind, sys::TSS386_AVAILABLE | sys::TSS386_BUSY));
        if !is_tss || d.is_segment() {
            return Err(Fault::gp(code));
        }
        self.switch_task(bus, sel, d, addr, how, ret)
    }

    /// IRET with NT set: back to the task named by the back link of the current TSS.
    pub(crate) fn task_return<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        let link = self.lin_read(bus, self.task.base, 2, false)? as u16;
        let code = sel_code(link);
        if link & 4 != 0 {
            return Err(Fault::ts(code));
        }
        let (d, addr) = self.read_descriptor_or(bus, link, Fault::ts(code))?;
        let busy = !d.is_segment()
            && (d.kind() == sys::TSS286_BUSY || (self.is386() && d.kind() == sys::TSS386_BUSY));
        if !busy {
            return Err(Fault::ts(code));
        }
        let ret = self.eip;
        self.switch_task(bus, link, d, addr, Switch::Iret, ret)
    }

    fn switch_task<B: Bus>(
        &mut self,
        bus: &mut B,
        sel: u16,
        d: Descriptor,
        addr: u32,
        how: Switch,
        ret: u32,
    ) -> R<()> {
        let code = sel_code(sel);
        let new = Layout {
            big: d.kind() & 8 != 0,
        };
        if !d.present() {
            return Err(Fault::np(code));
        }
        if d.limit() < new.min_limit() {
            return Err(Fault::ts(code));
        }
        let busy = d.kind() & 2 != 0;
        if how != Switch::Iret && busy {
            return Err(Fault::gp(code));
        }
        // Save the outgoing task.
        let old = self.task;
        let out = Layout {
            big: matches!(old.attr & 0xF, 9 | 11),
        };
        if old.limit < out.min_limit() {
            return Err(Fault::ts(sel_code(old.selector)));
        }
        let mut flags = self.flags.bits();
        if how == Switch::Iret {
            flags &= !NT;
        }
        let w = out.width();
        let base = old.base;
        self.lin_write(bus, base.wrapping_add(out.eip()), w, ret, false)?;
        self.lin_write(bus, base.wrapping_add(out.flags()), w, flags, false)?;
        for i in 0..8 {
            let v = self.regs[i];
            self.lin_write(bus, base.wrapping_add(out.reg(i)), w, v, false)?;
        }
        let nsegs = if out.big { 6 } else { 4 };
        for i in 0..nsegs {
            let v = u32::from(self.segs[i].selector);
            self.lin_write(bus, base.wrapping_add(out.seg(i)), 2, v, false)?;
        }
        if matches!(how, Switch::Jmp | Switch::Iret) {
            self.set_tss_busy(bus, old.selector, false)?;
        }
        if matches!(how, Switch::Call | Switch::Int) {
            self.lin_write(bus, d.base(), 2, u32::from(old.selector), false)?;
        }
        let mut d = d;
        if how != Switch::Iret {
            d.hi |= 2 << 8;
            self.lin_write(bus, addr.wrapping_add(5), 1, d.hi >> 8, false)?;
        }
        self.task = d.to_segment(sel);
        self.cr0 |= 8; // TS
        // Load the incoming task.
        let nb = d.base();
        let w = new.width();
        if new.big && self.paged() {
            let cr3 = self.lin_read(bus, nb.wrapping_add(28), 4, false)?;
            self.set_cr3(cr3);
        }
        let eip = self.lin_read(bus, nb.wrapping_add(new.eip()), w, false)?;
        let mut fl = self.lin_read(bus, nb.wrapping_add(new.flags()), w, false)?;
        for i in 0..8 {
            self.regs[i] = if new.big {
                self.lin_read(bus, nb.wrapping_add(new.reg(i)), 4, false)?
            } else {
                (self.regs[i] & 0xFFFF_0000)
                    | self.lin_read(bus, nb.wrapping_add(new.reg(i)), 2, false)?
            };
        }
        let nsegs = if new.big { 6 } else { 4 };
        let mut sels = [0u16; 6];
        for (i, s) in sels.iter_mut().enumerate().take(nsegs) {
            *s = self.lin_read(bus, nb.wrapping_add(new.seg(i)), 2, false)? as u16;
        }
        let ldt = self.lin_read(bus, nb.wrapping_add(new.ldt()), 2, false)? as u16;
        // The T bit (bit 0 of the word at offset 100 of a 386 TSS): #DB with DR6.BT before
        // the new task's first instruction (80386 PRM 7.2, 12.3.1.5).
        let t_bit = new.big && self.lin_read(bus, nb.wrapping_add(100), 2, false)? & 1 != 0;
        if matches!(how, Switch::Call | Switch::Int) {
            fl |= NT;
        }
        if !new.big {
            fl = (self.flags.bits() & 0xFFFF_0000 & !VM) | (fl & 0xFFFF);
        }
        self.flags.set_bits(fl);
        let fixed = self.flags.bits() | 2;
        self.flags.set_bits(fixed);
        self.eip = eip;
        // The selectors load first, so the new task sees them even when a check fails.
        for (i, s) in sels.iter().enumerate() {
            self.segs[i].selector = *s;
        }
        self.ldtr.selector = ldt;
        if t_bit {
            self.dr[super::debug::PENDING] |= super::debug::DR6_BT;
        }
        self.attention = self.needs_attention();
        // Then the checks, in the new task's context.
        if self.v86() {
            self.cpl = 3;
            for (i, s) in sels.iter().enumerate() {
                self.load_seg_v86(i, *s);
            }
            return Ok(());
        }
        self.load_ldtr(bus, ldt)
            .map_err(|_| Fault::ts(sel_code(ldt)))?;
        let cs = sels[CS];
        self.cpl = (cs & 3) as u8;
        self.task_load_cs(bus, cs)?;
        self.task_load_ss(bus, sels[SS])?;
        for i in [0, 3, 4, 5] {
            let s = sels[i];
            self.load_seg_protected(bus, i, s)
                .map_err(|f| match f.vector {
                    11 => f,
                    _ => Fault::ts(sel_code(s)),
                })?;
        }
        if eip > self.segs[CS].limit {
            return Err(Fault::gp(0));
        }
        Ok(())
    }

    /// The incoming task's CS: a present code segment whose DPL matches its RPL (equal for
    /// non-conforming, at most for conforming), else #TS(sel) / #NP(sel).
    fn task_load_cs<B: Bus>(&mut self, bus: &mut B, cs: u16) -> R<()> {
        let code = sel_code(cs);
        if cs & 0xFFFC == 0 {
            return Err(Fault::ts(code));
        }
        let (d, addr) = self.read_descriptor_or(bus, cs, Fault::ts(code))?;
        let rpl = (cs & 3) as u8;
        let ok = d.is_code()
            && if d.conforming() {
                d.dpl() <= rpl
            } else {
                d.dpl() == rpl
            };
        if !ok {
            return Err(Fault::ts(code));
        }
        if !d.present() {
            return Err(Fault::np(code));
        }
        let seg = self.accessed_segment(bus, d, addr, cs)?;
        self.set_segment(CS, seg);
        Ok(())
    }

    /// The incoming task's SS: writable data at the new CPL (#TS(sel)), present (#SS(sel)).
    fn task_load_ss<B: Bus>(&mut self, bus: &mut B, ss: u16) -> R<()> {
        let code = sel_code(ss);
        if ss & 0xFFFC == 0 {
            return Err(Fault::ts(code));
        }
        let (d, addr) = self.read_descriptor_or(bus, ss, Fault::ts(code))?;
        let rpl = (ss & 3) as u8;
        if !d.is_data() || !d.rw() || rpl != self.cpl || d.dpl() != self.cpl {
            return Err(Fault::ts(code));
        }
        if !d.present() {
            return Err(Fault::ss(code));
        }
        let seg = self.accessed_segment(bus, d, addr, ss)?;
        self.set_segment(SS, seg);
        Ok(())
    }

    /// Sets or clears the busy bit of TSS descriptor `sel` in the GDT.
    fn set_tss_busy<B: Bus>(&mut self, bus: &mut B, sel: u16, busy: bool) -> R<()> {
        if sel & 0xFFFC == 0 {
            return Ok(());
        }
        let (d, addr) = self.read_descriptor(bus, sel)?;
        let byte = (d.hi >> 8) & 0xFF;
        let byte = if busy { byte | 2 } else { byte & !2 };
        self.lin_write(bus, addr.wrapping_add(5), 1, byte, false)?;
        Ok(())
    }
}
