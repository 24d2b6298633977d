//! Interrupts and exceptions in protected and virtual-8086 mode: the IDT's interrupt, trap
//! and task gates, the privilege change to an inner stack (and out of virtual-8086 mode),
//! error codes, and IRET back to the same level, an outer level, virtual-8086 mode or the
//! previous task.
//!
//! Sources: Intel *80386 Programmer's Reference Manual* (1986) chapter 9 (9.5 the IDT, 9.6
//! interrupt procedures and tasks, 9.8 exception conditions, 9.9 exception summary with
//! error codes), chapter 15.3 (interrupts in virtual-8086 mode) and the INT and IRET pages of
//! chapter 17; Intel *80286 Programmer's Reference Manual* (1987) chapter 9.
//!
//! Error codes (80386 PRM 9.8.1): bit 0 (EXT) is set when the event that was being delivered
//! came from outside the program (a hardware interrupt or an earlier exception); bit 1 (IDT)
//! when the selector index names an IDT entry; bit 2 the TI bit of a GDT/LDT selector.

use super::descriptor::{Descriptor, sel_code, sys};
use super::flags::{IF, IOPL, NT, RF, TF, VM};
use super::regs::{CS, DS, ES, SP, SS, Segment};
use super::{Cpu, Fault, R};
use crate::bus::Bus;

/// Where an interrupt comes from: it decides the DPL check, the EXT bit and the error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// INT n, INT 3, INTO: the gate's DPL must be at least CPL.
    Software,
    /// A hardware interrupt or ICEBP's debug trap: no DPL check, EXT set in error codes.
    External,
    /// A processor exception, with the error code it pushes when it pushes one.
    Exception(Option<u16>),
}

impl Source {
    fn ext(self) -> u16 {
        match self {
            Source::Software => 0,
            _ => 1,
        }
    }
}

impl Cpu {
    /// Delivers interrupt `vector` in protected mode, returning to `ret` (an EIP in the
    /// current code segment). Nothing but memory written before the failing check changes
    /// when it faults.
    pub(crate) fn protected_interrupt<B: Bus>(
        &mut self,
        bus: &mut B,
        vector: u8,
        ret: u32,
        src: Source,
    ) -> R<()> {
        let saved = self.save_transfer();
        let flags = self.flags;
        let r = self.protected_interrupt_inner(bus, vector, ret, src);
        if r.is_err() {
            self.restore_transfer(saved);
            self.flags = flags;
        } else {
            self.delivered = true;
        }
        r
    }

    fn protected_interrupt_inner<B: Bus>(
        &mut self,
        bus: &mut B,
        vector: u8,
        ret: u32,
        src: Source,
    ) -> R<()> {
        let ext = src.ext();
        let idt_code = u16::from(vector) * 8 + 2 + ext;
        let entry = u32::from(vector) * 8;
        if entry + 7 > u32::from(self.idtr.limit) {
            return Err(Fault::gp(idt_code));
        }
        let a = self.idtr.base.wrapping_add(entry);
        let lo = self.lin_read(bus, a, 4, false)?;
        let hi = self.lin_read(bus, a.wrapping_add(4), 4, false)?;
        let gate = Descriptor::new(self.model, lo, hi);
        let valid = !gate.is_segment()
            && match gate.kind() {
                sys::TASK_GATE | sys::INT_GATE286 | sys::TRAP_GATE286 => true,
                sys::INT_GATE386 | sys::TRAP_GATE386 => self.is386(),
                _ => false,
            };
        if !valid {
            return Err(Fault::gp(idt_code));
        }
        if src == Source::Software && gate.dpl() < self.cpl {
            return Err(Fault::gp(idt_code));
        }
        if !gate.present() {
            return Err(Fault::np(idt_code));
        }
        let code = match src {
            Source::Exception(c) => c,
            _ => None,
        };
        if gate.kind() == sys::TASK_GATE {
            let tss = gate.gate_selector();
            self.switch_task_via_selector(bus, tss, super::task::Switch::Int, ret)?;
            if let Some(c) = code {
                // The error code goes onto the new task's stack (80386 PRM 9.6.2).
                let bits = if matches!(self.task.attr & 0xF, 9 | 11) {
                    32
                } else {
                    16
                };
                self.pushv(bus, bits, u32::from(c))?;
            }
            return Ok(());
        }
        // An interrupt or trap gate: the target code segment.
        let tsel = gate.gate_selector();
        if tsel & 0xFFFC == 0 {
            return Err(Fault::gp(ext));
        }
        let tcode = sel_code(tsel) | ext;
        let (t, taddr) = self.read_descriptor_or(bus, tsel, Fault::gp(tcode))?;
        if !t.is_code() || t.dpl() > self.cpl {
            return Err(Fault::gp(tcode));
        }
        if !t.present() {
            return Err(Fault::np(tcode));
        }
        let bits = if gate.kind() & 8 != 0 { 32 } else { 16 };
        let old_flags = self.flags.bits();
        let old_cs = self.segs[CS].selector;
        let from_v86 = self.v86();
        let level = if !t.conforming() && t.dpl() < self.cpl {
            t.dpl()
        } else {
            if from_v86 {
                // Virtual-8086 mode leaves only for level 0 (80386 PRM 15.3.1.1).
                return Err(Fault::gp(tcode));
            }
            self.cpl
        };
        if level < self.cpl {
            if from_v86 && level != 0 {
                return Err(Fault::gp(tcode));
            }
            let old_ss = self.segs[SS].selector;
            let old_esp = self.regs[SP];
            let (new_ss, new_esp) = self.inner_stack(bus, level, ext)?;
            self.cpl = level;
            self.set_segment(SS, new_ss);
            self.regs[SP] = new_esp;
            let frame = if from_v86 { 9 } else { 5 } + u32::from(code.is_some());
            let need = frame * (bits / 8);
            let top = new_esp & if new_ss.big { u32::MAX } else { 0xFFFF };
            if self
                .check_access(SS, top.wrapping_sub(need), need, true)
                .is_err()
            {
                return Err(Fault::ss(sel_code(new_ss.selector) | ext));
            }
            if from_v86 {
                for i in [5, 4, 3, 0] {
                    let sel = self.segs[i].selector;
                    self.pushv(bus, bits, u32::from(sel))?;
                }
                for i in [0, 3, 4, 5] {
                    self.set_segment(i, Segment::system_null());
                }
            }
            self.pushv(bus, bits, u32::from(old_ss))?;
            self.pushv(bus, bits, old_esp)?;
        }
        self.pushv(bus, bits, old_flags)?;
        self.pushv(bus, bits, u32::from(old_cs))?;
        self.pushv(bus, bits, ret)?;
        if let Some(c) = code {
            self.pushv(bus, bits, u32::from(c))?;
        }
        let off = gate.gate_offset();
        self.enter_code(bus, t, taddr, tsel, off, level)?;
        let mut clear = TF | NT | RF | VM;
        if gate.kind() & 1 == 0 {
            clear |= IF; // an interrupt gate (a trap gate leaves IF)
        }
        self.flags.set_bits(old_flags & !clear);
        self.attention = self.needs_attention();
        Ok(())
    }

    /// IRET in protected mode (80386 PRM IRET).
    pub(crate) fn iret_protected<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        if self.v86() {
            return self.iret_v86(bus);
        }
        if self.flags.other() & NT != 0 {
            return self.task_return(bus);
        }
        let saved = self.save_transfer();
        let flags = self.flags;
        let r = self.iret_protected_inner(bus);
        if r.is_err() {
            self.restore_transfer(saved);
            self.flags = flags;
        }
        r
    }

    fn iret_protected_inner<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        let bits = self.vbits();
        let step = bits / 8;
        let eip = self.peek_stack(bus, 0, bits)?;
        let sel = self.peek_stack(bus, step, 16)? as u16;
        let fl = self.peek_stack(bus, 2 * step, bits)?;
        if bits == 32 && fl & VM != 0 && self.cpl == 0 {
            return self.iret_to_v86(bus, eip, sel, fl);
        }
        let eip = if bits == 32 { eip } else { eip & 0xFFFF };
        let (d, addr) = self.check_return_cs(bus, sel)?;
        let rpl = (sel & 3) as u8;
        let mask = self.popf_mask(bits);
        let old_cpl = self.cpl;
        if rpl == self.cpl {
            self.adjust_sp(3 * step);
            self.enter_code(bus, d, addr, sel, eip, rpl)?;
        } else {
            let new_esp = self.peek_stack(bus, 3 * step, bits)?;
            let ss = self.peek_stack(bus, 4 * step, 16)? as u16;
            let new_ss = self.check_outer_ss(bus, ss, rpl)?;
            self.enter_code(bus, d, addr, sel, eip, rpl)?;
            self.load_outer_stack(new_ss, new_esp, bits);
            self.invalidate_outer_segments();
        }
        // The flags under the privilege rules of the level IRET ran at.
        let cpl = self.cpl;
        self.cpl = old_cpl;
        self.write_flags(fl, mask);
        self.cpl = cpl;
        if bits == 32 {
            self.load_rf(fl);
        }
        Ok(())
    }

    /// The FLAGS bits POPF or IRET may change at the current level (80386 PRM POPF and
    /// IRET): IOPL only at CPL 0, IF only when CPL <= IOPL; `bits` 16 limits to the low word.
    pub(crate) fn popf_mask(&self, bits: u32) -> u32 {
        let mut mask = if bits == 32 { !(VM | RF) } else { 0xFFFF };
        if self.protected() {
            if self.cpl > 0 {
                mask &= !IOPL;
            }
            if u32::from(self.cpl) > self.iopl() {
                mask &= !IF;
            }
        }
        mask
    }

    /// EFLAGS.IOPL.
    pub(crate) fn iopl(&self) -> u32 {
        (self.flags.other() & IOPL) >> 12
    }

    /// IRET from level 0 to a virtual-8086 task: the 32-bit frame holds EIP, CS, EFLAGS,
    /// ESP, SS, ES, DS, FS and GS (80386 PRM 15.3.2).
    fn iret_to_v86<B: Bus>(&mut self, bus: &mut B, eip: u32, cs: u16, fl: u32) -> R<()> {
        let esp = self.peek_stack(bus, 12, 32)?;
        let ss = self.peek_stack(bus, 16, 16)? as u16;
        let es = self.peek_stack(bus, 20, 16)? as u16;
        let ds = self.peek_stack(bus, 24, 16)? as u16;
        let fs = self.peek_stack(bus, 28, 16)? as u16;
        let gs = self.peek_stack(bus, 32, 16)? as u16;
        self.flags.set_bits(fl);
        self.write_flags(fl, 0xFFFF_FFFF);
        let other = self.flags.other() | VM;
        self.flags.set_other(other);
        self.cpl = 3;
        for (i, sel) in [(ES, es), (CS, cs), (SS, ss), (DS, ds), (4, fs), (5, gs)] {
            self.load_seg_v86(i, sel);
        }
        self.regs[SP] = esp;
        self.eip = eip & 0xFFFF;
        self.attention = self.needs_attention();
        Ok(())
    }

    /// IRET in virtual-8086 mode: at IOPL 3 as in real mode (IOPL itself unchanged),
    /// otherwise #GP(0) to the monitor (80386 PRM 15.2.3).
    fn iret_v86<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        if self.iopl() < 3 {
            return Err(Fault::gp(0));
        }
        let bits = self.vbits();
        let step = bits / 8;
        let ip = self.peek_stack(bus, 0, bits)?;
        let cs = self.peek_stack(bus, step, 16)? as u16;
        let fl = self.peek_stack(bus, 2 * step, bits)?;
        let ip = if bits == 32 { ip } else { ip & 0xFFFF };
        if ip > 0xFFFF {
            return Err(Fault::gp(0));
        }
        self.adjust_sp(3 * step);
        self.load_seg_v86(CS, cs);
        self.eip = ip;
        let mask = if bits == 32 {
            !(VM | RF | IOPL)
        } else {
            0xFFFF & !IOPL
        };
        self.write_flags(fl, mask);
        Ok(())
    }
}
