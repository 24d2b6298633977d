//! Protected-mode segmentation: selectors, descriptors, the GDT and LDT, and loading data and
//! stack segment registers, LDTR and TR with every check the processor makes.
//!
//! Sources: Intel *80286 Programmer's Reference Manual* (1987) chapters 6-7 and the
//! instruction pages of MOV/POP/LDS (appendix B); Intel *80386 Programmer's Reference
//! Manual* (1986) chapter 5 (descriptor formats, figure 5-3), chapter 6 (protection: 6.3.2
//! restricting access to data, 6.3.1.1 privilege levels) and the MOV, POP, LDS/LSS, LLDT and
//! LTR pages of chapter 17.
//!
//! A descriptor is 8 bytes. The 80286 uses the first six: base bits 0-23 and a 16-bit limit
//! with byte granularity; it ignores the last word, so a 286 model masks it off. The 80386
//! adds base bits 24-31, limit bits 16-19, G (4 KiB granularity) and D/B (32-bit).
//!
//! Loading DS, ES, FS or GS (80386 PRM MOV/POP): a null selector (index 0 of the GDT) loads a
//! register that faults on use; otherwise the index must lie within the table (#GP(sel)), the
//! descriptor must be data or readable code (#GP(sel)), data and non-conforming code need
//! DPL >= max(CPL, RPL) (#GP(sel)), and it must be present (#NP(sel)). SS needs a non-null
//! selector (#GP(0)), RPL = CPL and DPL = CPL (#GP(sel)), a writable data segment (#GP(sel))
//! and presence (#SS(sel)). A successful load sets the descriptor's accessed bit in memory.

use super::regs::{
    ATTR_ACCESSED, ATTR_CE, ATTR_CODE, ATTR_PRESENT, ATTR_RW, ATTR_S, CS, SS, Segment,
};
use super::{Cpu, Fault, Model, R};
use crate::bus::Bus;

/// System descriptor and gate types (S = 0), 80386 PRM table 6-1 / 80286 PRM table 6-2.
pub(crate) mod sys {
    pub const TSS286_AVAILABLE: u8 = 1;
    pub const LDT: u8 = 2;
    pub const TSS286_BUSY: u8 = 3;
    pub const CALL_GATE286: u8 = 4;
    pub const TASK_GATE: u8 = 5;
    pub const INT_GATE286: u8 = 6;
    pub const TRAP_GATE286: u8 = 7;
    pub const TSS386_AVAILABLE: u8 = 9;
    pub const TSS386_BUSY: u8 = 11;
    pub const CALL_GATE386: u8 = 12;
    pub const INT_GATE386: u8 = 14;
    pub const TRAP_GATE386: u8 = 15;
}

/// A descriptor as it lies in a table: two doublewords.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Descriptor {
    pub lo: u32,
    pub hi: u32,
}

impl Descriptor {
    /// The descriptor as `model` sees it (the 80286 ignores the last word).
    pub fn new(model: Model, lo: u32, hi: u32) -> Descriptor {
        let hi = if model == Model::I80386 {
            hi
        } else {
            hi & 0x0000_FFFF
        };
        Descriptor { lo, hi }
    }

    pub fn base(&self) -> u32 {
        (self.lo >> 16) | ((self.hi & 0xFF) << 16) | (self.hi & 0xFF00_0000)
    }

    /// The limit after granularity scaling.
    pub fn limit(&self) -> u32 {
        let raw = (self.lo & 0xFFFF) | (self.hi & 0x000F_0000);
        if self.hi & (1 << 23) != 0 {
            (raw << 12) | 0xFFF
        } else {
            raw
        }
    }

    /// Bytes 5 and 6 as [`Segment::attr`] holds them.
    pub fn attr(&self) -> u16 {
        ((self.hi >> 8) & 0xF0FF) as u16
    }

    pub fn present(&self) -> bool {
        self.hi & (1 << 15) != 0
    }

    pub fn dpl(&self) -> u8 {
        ((self.hi >> 13) & 3) as u8
    }

    /// S: a code or data segment.
    pub fn is_segment(&self) -> bool {
        self.hi & (1 << 12) != 0
    }

    /// The four type bits.
    pub fn kind(&self) -> u8 {
        ((self.hi >> 8) & 0xF) as u8
    }

    pub fn is_code(&self) -> bool {
        self.is_segment() && self.kind() & 8 != 0
    }

    pub fn is_data(&self) -> bool {
        self.is_segment() && self.kind() & 8 == 0
    }

    pub fn conforming(&self) -> bool {
        self.is_code() && self.kind() & 4 != 0
    }

    /// Code: readable; data: writable.
    pub fn rw(&self) -> bool {
        self.kind() & 2 != 0
    }

    /// D/B.
    pub fn big(&self) -> bool {
        self.hi & (1 << 22) != 0
    }

    /// A gate's target selector.
    pub fn gate_selector(&self) -> u16 {
        (self.lo >> 16) as u16
    }

    /// A gate's target offset (32 bits for 80386 gates).
    pub fn gate_offset(&self) -> u32 {
        let lo = self.lo & 0xFFFF;
        if self.kind() & 8 != 0 {
            lo | (self.hi & 0xFFFF_0000)
        } else {
            lo
        }
    }

    /// A call gate's parameter count (words or doublewords to copy).
    pub fn gate_params(&self) -> u32 {
        self.hi & 0x1F
    }

    /// The segment-register cache this descriptor loads with selector `sel`.
    pub fn to_segment(self, sel: u16) -> Segment {
        Segment {
            selector: sel,
            base: self.base(),
            limit: self.limit(),
            big: self.big(),
            attr: self.attr(),
            rlim: -1,
            wlim: -1,
        }
    }
}

/// The error code naming selector `sel` (its index and TI bit; RPL dropped).
#[inline]
pub(crate) fn sel_code(sel: u16) -> u16 {
    sel & 0xFFFC
}

impl Cpu {
    /// Reads the descriptor `sel` names (GDT or LDT by its TI bit). An index beyond the
    /// table's limit, or an LDT reference with no LDT loaded, raises #GP(sel). Returns the
    /// descriptor and its linear address.
    pub(crate) fn read_descriptor<B: Bus>(
        &mut self,
        bus: &mut B,
        sel: u16,
    ) -> R<(Descriptor, u32)> {
        self.read_descriptor_or(bus, sel, Fault::gp(sel_code(sel)))
    }

    /// [`Cpu::read_descriptor`] raising `fault` when the selector is outside its table.
    pub(crate) fn read_descriptor_or<B: Bus>(
        &mut self,
        bus: &mut B,
        sel: u16,
        fault: Fault,
    ) -> R<(Descriptor, u32)> {
        let (base, limit) = if sel & 4 != 0 {
            if !self.ldtr.present() {
                return Err(fault);
            }
            (self.ldtr.base, self.ldtr.limit)
        } else {
            (self.gdtr.base, u32::from(self.gdtr.limit))
        };
        let off = u32::from(sel & 0xFFF8);
        if off + 7 > limit {
            return Err(fault);
        }
        let addr = base.wrapping_add(off);
        let lo = self.lin_read(bus, addr, 4, false)?;
        let hi = self.lin_read(bus, addr.wrapping_add(4), 4, false)?;
        Ok((Descriptor::new(self.model, lo, hi), addr))
    }

    /// Sets the accessed bit of the descriptor at `addr` if it is clear.
    pub(crate) fn mark_accessed<B: Bus>(
        &mut self,
        bus: &mut B,
        d: &Descriptor,
        addr: u32,
    ) -> R<()> {
        if d.is_segment() && d.hi & (1 << 8) == 0 {
            let byte = ((d.hi >> 8) as u8) | ATTR_ACCESSED as u8;
            self.lin_write(bus, addr.wrapping_add(5), 1, u32::from(byte), false)?;
        }
        Ok(())
    }

    /// Sets the accessed bit of descriptor `d` (at `addr`) and gives the segment-register
    /// cache it loads with selector `sel`, accessed bit included.
    pub(crate) fn accessed_segment<B: Bus>(
        &mut self,
        bus: &mut B,
        d: Descriptor,
        addr: u32,
        sel: u16,
    ) -> R<Segment> {
        self.mark_accessed(bus, &d, addr)?;
        let mut d = d;
        d.hi |= 1 << 8;
        Ok(d.to_segment(sel))
    }

    /// Puts `seg` into segment register `i` with its fast-path bounds.
    pub(crate) fn set_segment(&mut self, i: usize, mut seg: Segment) {
        seg.refresh(self.checked_accesses());
        self.segs[i] = seg;
        if i == CS {
            self.invalidate_code_window();
        }
    }

    /// Loads DS, ES, FS, GS or SS from an instruction: the real-mode, virtual-8086 or
    /// protected-mode rules by the current mode.
    #[inline(always)]
    pub(crate) fn load_data_seg<B: Bus>(&mut self, bus: &mut B, i: usize, sel: u16) -> R<()> {
        if !self.protected() {
            self.load_seg_real(i, sel);
            Ok(())
        } else {
            self.load_seg_protected(bus, i, sel)
        }
    }

    /// A segment load in protected or virtual-8086 mode (see the module documentation).
    #[cold]
    #[inline(never)]
    pub(crate) fn load_seg_protected<B: Bus>(&mut self, bus: &mut B, i: usize, sel: u16) -> R<()> {
        if self.v86() {
            self.load_seg_v86(i, sel);
            return Ok(());
        }
        let cpl = self.cpl;
        let rpl = (sel & 3) as u8;
        if sel & 0xFFFC == 0 {
            if i == SS {
                return Err(Fault::gp(0));
            }
            // A null selector: the register loads, and any use of it faults.
            let mut s = Segment::system_null();
            s.selector = sel;
            self.set_segment(i, s);
            return Ok(());
        }
        let (d, addr) = self.read_descriptor(bus, sel)?;
        let code = sel_code(sel);
        if i == SS {
            if rpl != cpl || !d.is_data() || !d.rw() || d.dpl() != cpl {
                return Err(Fault::gp(code));
            }
            if !d.present() {
                return Err(Fault::ss(code));
            }
        } else {
            if !(d.is_data() || (d.is_code() && d.rw())) {
                return Err(Fault::gp(code));
            }
            if (d.is_data() || !d.conforming()) && d.dpl() < cpl.max(rpl) {
                return Err(Fault::gp(code));
            }
            if !d.present() {
                return Err(Fault::np(code));
            }
        }
        let seg = self.accessed_segment(bus, d, addr, sel)?;
        self.set_segment(i, seg);
        Ok(())
    }

    /// A segment load in virtual-8086 mode: as in real mode, with the limit FFFFh and the
    /// rights of a DPL-3 writable data segment (80386 PRM 15.1.2).
    pub(crate) fn load_seg_v86(&mut self, i: usize, sel: u16) {
        let s = Segment {
            selector: sel,
            base: u32::from(sel) << 4,
            limit: 0xFFFF,
            big: false,
            attr: ATTR_PRESENT | ATTR_S | ATTR_RW | ATTR_ACCESSED | (3 << 5),
            rlim: -1,
            wlim: -1,
        };
        self.set_segment(i, s);
    }

    /// After a return or IRET to an outer privilege level: DS, ES, FS and GS that hold data
    /// or non-conforming code more privileged than the new CPL are loaded with null
    /// (80386 PRM RET and IRET, "for each of ES, FS, GS and DS").
    pub(crate) fn invalidate_outer_segments(&mut self) {
        for i in [0, 3, 4, 5] {
            let s = self.segs[i];
            let a = s.attr;
            let data_or_nc = a & ATTR_CODE == 0 || a & ATTR_CE == 0;
            if s.present() && a & ATTR_S != 0 && data_or_nc && s.dpl() < self.cpl {
                self.set_segment(i, Segment::system_null());
            }
        }
    }

    /// LLDT: loads LDTR from the GDT (80386 PRM LLDT): a null selector leaves no LDT;
    /// otherwise the selector must name the GDT (#GP(sel)) and an LDT descriptor (#GP(sel))
    /// that is present (#NP(sel)).
    pub(crate) fn load_ldtr<B: Bus>(&mut self, bus: &mut B, sel: u16) -> R<()> {
        if sel & 0xFFFC == 0 {
            self.ldtr = Segment::system_null();
            self.ldtr.selector = sel;
            return Ok(());
        }
        let code = sel_code(sel);
        if sel & 4 != 0 {
            return Err(Fault::gp(code));
        }
        let (d, _) = self.read_descriptor(bus, sel)?;
        if d.is_segment() || d.kind() != sys::LDT {
            return Err(Fault::gp(code));
        }
        if !d.present() {
            return Err(Fault::np(code));
        }
        self.ldtr = d.to_segment(sel);
        Ok(())
    }

    /// LTR: loads TR with an available TSS from the GDT and marks it busy (80386 PRM LTR).
    pub(crate) fn load_tr<B: Bus>(&mut self, bus: &mut B, sel: u16) -> R<()> {
        let code = sel_code(sel);
        if sel & 0xFFFC == 0 || sel & 4 != 0 {
            return Err(Fault::gp(code));
        }
        let (d, addr) = self.read_descriptor(bus, sel)?;
        let available = match d.kind() {
            sys::TSS286_AVAILABLE => true,
            sys::TSS386_AVAILABLE => self.is386(),
            _ => false,
        };
        if d.is_segment() || !available {
            return Err(Fault::gp(code));
        }
        if !d.present() {
            return Err(Fault::np(code));
        }
        let busy = d.hi | (2 << 8);
        self.lin_write(bus, addr.wrapping_add(5), 1, busy >> 8, false)?;
        self.task = Descriptor { lo: d.lo, hi: busy }.to_segment(sel);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_fields_follow_the_80386_layout() {
        // 80386 PRM figure 5-3: a flat 4 GiB 32-bit code segment, DPL 0, base 0.
        let d = Descriptor::new(Model::I80386, 0x0000_FFFF, 0x00CF_9A00);
        assert_eq!((d.base(), d.limit()), (0, 0xFFFF_FFFF));
        assert!(d.is_code() && d.rw() && d.present() && d.big() && !d.conforming());
        assert_eq!(d.dpl(), 0);
        assert_eq!(d.attr(), 0xC09A);
        // Base 12345678h, limit 5, byte granular, DPL 3 writable data.
        let d = Descriptor::new(Model::I80386, 0x5678_0005, 0x1200_F234);
        assert_eq!((d.base(), d.limit(), d.dpl()), (0x1234_5678, 5, 3));
        assert!(d.is_data() && d.rw());
    }

    #[test]
    fn the_80286_ignores_the_last_word() {
        // 80286 PRM figure 6-6: base bits 0-23, 16-bit limit; bytes 6-7 are reserved.
        let d = Descriptor::new(Model::I80286, 0x5678_0005, 0x12CF_9234);
        assert_eq!((d.base(), d.limit()), (0x0034_5678, 5));
        assert!(!d.big());
    }

    #[test]
    fn gates_carry_selector_offset_and_count() {
        // A 386 call gate to 0008:12345678 with 3 parameters, DPL 3, present.
        let d = Descriptor::new(Model::I80386, 0x0008_5678, 0x1234_EC03);
        assert!(!d.is_segment());
        assert_eq!(d.kind(), sys::CALL_GATE386);
        assert_eq!(
            (d.gate_selector(), d.gate_offset(), d.gate_params()),
            (8, 0x1234_5678, 3)
        );
        // A 286 gate's offset is 16 bits.
        let d = Descriptor::new(Model::I80386, 0x0008_5678, 0x0000_E402);
        assert_eq!(d.gate_offset(), 0x5678);
    }
}
