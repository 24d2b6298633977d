//! System instructions: group 6 (SLDT, STR, LLDT, LTR, VERR, VERW), group 7 (SGDT, SIDT,
//! LGDT, LIDT, SMSW, LMSW), LAR, LSL, ARPL, CLTS, MOV to and from control, debug and test
//! registers, and the I/O privilege checks of IN, OUT, INS, OUTS, CLI and STI.
//!
//! Sources: Intel *80286 Programmer's Reference Manual* (1987) appendix B and chapter 10;
//! Intel *80386 Programmer's Reference Manual* (1986) chapter 17 (each instruction's
//! "Protected Mode Exceptions" and "Real Address Mode Exceptions"), 8.2 (I/O privilege and
//! the I/O permission bitmap) and 15.2 (virtual-8086 mode's sensitive instructions).
//!
//! Privilege: LGDT, LIDT, LLDT, LTR, LMSW, CLTS, HLT and MOV to or from CRn/DRn/TRn need CPL 0
//! in protected mode (#GP(0)); in virtual-8086 mode they raise #GP(0) too (CPL is 3). Group 6,
//! LAR, LSL and ARPL exist only in protected mode (#UD in real and virtual-8086 mode). IN,
//! OUT, INS and OUTS need CPL <= IOPL, or on the 80386 (always in virtual-8086 mode) the I/O
//! permission bitmap of the TSS allowing every byte of the access (#GP(0)); CLI and STI need
//! CPL <= IOPL (#GP(0)).

use super::decode::ModRm;
use super::descriptor::{Descriptor, sys};
use super::regs::{CS, SS};
use super::{Cpu, Fault, GENERAL_PROTECTION, INVALID_OPCODE, Model, R};
use crate::bus::Bus;

impl Cpu {
    /// #GP(0) unless at CPL 0 (real mode counts as CPL 0).
    #[inline]
    pub(crate) fn require_cpl0(&self) -> R<()> {
        if self.protected() && (self.cpl != 0 || self.v86()) {
            Err(GENERAL_PROTECTION)
        } else {
            Ok(())
        }
    }

    /// #UD outside protected mode (real and virtual-8086 mode).
    fn require_protected(&self) -> R<()> {
        if self.protected() && !self.v86() {
            Ok(())
        } else {
            Err(INVALID_OPCODE)
        }
    }

    /// The descriptor `sel` names for LAR, LSL, VERR and VERW: `None` for a null selector or
    /// one outside its table (these instructions then clear ZF instead of faulting).
    fn probe_descriptor<B: Bus>(&mut self, bus: &mut B, sel: u16) -> R<Option<Descriptor>> {
        if sel & 0xFFFC == 0 {
            return Ok(None);
        }
        let (base, limit) = if sel & 4 != 0 {
            if !self.ldtr.present() {
                return Ok(None);
            }
            (self.ldtr.base, self.ldtr.limit)
        } else {
            (self.gdtr.base, u32::from(self.gdtr.limit))
        };
        let off = u32::from(sel & 0xFFF8);
        if off + 7 > limit {
            return Ok(None);
        }
        let a = base.wrapping_add(off);
        let lo = self.lin_read(bus, a, 4, false)?;
        let hi = self.lin_read(bus, a.wrapping_add(4), 4, false)?;
        Ok(Some(Descriptor::new(self.model, lo, hi)))
    }

    /// Whether a descriptor is visible to LAR/LSL/VERR/VERW at the current level: conforming
    /// code always, anything else when DPL >= max(CPL, RPL).
    fn visible(&self, d: &Descriptor, sel: u16) -> bool {
        d.conforming() || d.dpl() >= self.cpl.max((sel & 3) as u8)
    }

    fn sel_operand<B: Bus>(&mut self, bus: &mut B, m: &ModRm) -> R<u16> {
        if m.mem {
            self.rd16(bus, m.seg, m.off)
        } else {
            Ok(self.r16(m.rm))
        }
    }

    /// Writes a selector-sized result of SLDT/STR/SMSW: 16 bits to memory, the operand size
    /// (zero-extended) to a register.
    fn store_word<B: Bus>(&mut self, bus: &mut B, m: &ModRm, v: u16) -> R<()> {
        if m.mem {
            self.wr16(bus, m.seg, m.off, v)
        } else {
            let bits = self.vbits();
            self.set_rv(m.rm, bits, u32::from(v));
            Ok(())
        }
    }

    /// 0F 00: group 6.
    pub(crate) fn group6<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        let m = self.modrm(bus)?;
        if m.reg >= 6 {
            return Err(INVALID_OPCODE);
        }
        self.require_protected()?;
        match m.reg {
            0 => {
                let v = self.ldtr.selector;
                self.store_word(bus, &m, v)
            }
            1 => {
                let v = self.task.selector;
                self.store_word(bus, &m, v)
            }
            2 | 3 => {
                self.require_cpl0()?;
                let sel = self.sel_operand(bus, &m)?;
                if m.reg == 2 {
                    self.load_ldtr(bus, sel)
                } else {
                    self.load_tr(bus, sel)
                }
            }
            _ => {
                let sel = self.sel_operand(bus, &m)?;
                let ok = match self.probe_descriptor(bus, sel)? {
                    Some(d) if d.is_segment() && self.visible(&d, sel) => {
                        if m.reg == 4 {
                            d.is_data() || d.rw()
                        } else {
                            d.is_data() && d.rw()
                        }
                    }
                    _ => false,
                };
                self.set_zf(ok);
                Ok(())
            }
        }
    }

    /// LAR (0F 02) and LSL (0F 03).
    pub(crate) fn lar_lsl<B: Bus>(&mut self, bus: &mut B, lsl: bool) -> R<()> {
        let m = self.modrm(bus)?;
        self.require_protected()?;
        let sel = self.sel_operand(bus, &m)?;
        let bits = self.vbits();
        let d = match self.probe_descriptor(bus, sel)? {
            Some(d) if self.visible(&d, sel) => d,
            _ => {
                self.set_zf(false);
                return Ok(());
            }
        };
        let valid = d.is_segment()
            || match d.kind() {
                sys::TSS286_AVAILABLE | sys::LDT | sys::TSS286_BUSY => true,
                sys::CALL_GATE286 | sys::TASK_GATE => !lsl,
                sys::TSS386_AVAILABLE | sys::TSS386_BUSY => self.is386(),
                sys::CALL_GATE386 => !lsl && self.is386(),
                _ => false,
            };
        if !valid {
            self.set_zf(false);
            return Ok(());
        }
        let v = if lsl {
            d.limit()
        } else if bits == 32 {
            d.hi & 0x00FF_FF00
        } else {
            d.hi & 0xFF00
        };
        self.set_rv(m.reg, bits, v);
        self.set_zf(true);
        Ok(())
    }

    /// ARPL (63h): raises the RPL of the destination selector to the source's.
    pub(crate) fn arpl<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        let m = self.modrm(bus)?;
        self.require_protected()?;
        let dst = self.sel_operand(bus, &m)?;
        let src = self.r16(m.reg);
        if dst & 3 < src & 3 {
            let v = (dst & !3) | (src & 3);
            if m.mem {
                self.wr16(bus, m.seg, m.off, v)?;
            } else {
                self.set_r16(m.rm, v);
            }
            self.set_zf(true);
        } else {
            self.set_zf(false);
        }
        Ok(())
    }

    fn set_zf(&mut self, on: bool) {
        let f = self.flags.bits();
        let f = if on { f | 0x40 } else { f & !0x40 };
        self.flags.set_bits(f);
    }

    /// CLTS (0F 06).
    pub(crate) fn clts(&mut self) -> R<()> {
        self.require_cpl0()?;
        self.cr0 &= !8;
        Ok(())
    }

    /// CLI and STI: CPL <= IOPL in protected mode (IOPL 3 in virtual-8086 mode), #GP(0).
    #[inline]
    pub(crate) fn check_iopl(&self) -> R<()> {
        if self.protected() && u32::from(self.cpl) > self.iopl() {
            Err(GENERAL_PROTECTION)
        } else {
            Ok(())
        }
    }

    /// The I/O privilege check of an access of `len` bytes at `port` (80386 PRM 8.2): CPL <=
    /// IOPL passes (outside virtual-8086 mode); otherwise the 80386 consults the I/O
    /// permission bitmap of a 386 TSS, which must allow every byte (bits clear). The 80286
    /// has no bitmap.
    #[inline]
    pub(crate) fn check_io<B: Bus>(&mut self, bus: &mut B, port: u16, len: u32) -> R<()> {
        if !self.protected() || (u32::from(self.cpl) <= self.iopl() && !self.v86()) {
            return Ok(());
        }
        self.check_io_bitmap(bus, port, len)
    }

    #[cold]
    #[inline(never)]
    fn check_io_bitmap<B: Bus>(&mut self, bus: &mut B, port: u16, len: u32) -> R<()> {
        let t = self.task;
        if self.model != Model::I80386 || !matches!(t.attr & 0xF, 9 | 11) || t.limit < 103 {
            return Err(GENERAL_PROTECTION);
        }
        let map = self.lin_read(bus, t.base.wrapping_add(102), 2, false)?;
        let byte_at = map + u32::from(port) / 8;
        // The two bytes that hold the access's bits must lie within the TSS limit.
        if byte_at + 1 > t.limit {
            return Err(GENERAL_PROTECTION);
        }
        let bits = self.lin_read(bus, t.base.wrapping_add(byte_at), 2, false)?;
        let mask = ((1u32 << len) - 1) << (port & 7);
        if bits & mask != 0 {
            return Err(GENERAL_PROTECTION);
        }
        Ok(())
    }

    /// For the firmware's mode switches (the DPMI host): loads GDTR and IDTR as LGDT and
    /// LIDT would.
    pub(crate) fn set_table_registers(
        &mut self,
        gdtr: super::TableRegister,
        idtr: super::TableRegister,
    ) {
        self.gdtr = gdtr;
        self.idtr = idtr;
    }

    /// For the firmware's mode switches (the DPMI host): with CR0.PE set, continues at
    /// `cs:eip` at privilege level 0 on the stack `ss:esp`, with EFLAGS.VM, IF and TF clear.
    /// Both selectors are loaded from the descriptor tables with the processor's checks for
    /// a far jump to a non-conforming code segment and a stack load at CPL 0.
    pub(crate) fn enter_ring0<B: Bus>(
        &mut self,
        bus: &mut B,
        cs: u16,
        eip: u32,
        ss: u16,
        esp: u32,
    ) -> R<()> {
        self.flags
            .set_other(self.flags.other() & !(super::flags::VM | 0x300));
        let (d, addr) = self.read_descriptor(bus, cs)?;
        if !d.is_code() || d.dpl() != 0 || !d.present() {
            return Err(Fault::gp(cs & 0xFFFC));
        }
        let seg = self.accessed_segment(bus, d, addr, cs & 0xFFFC)?;
        self.cpl = 0;
        self.set_segment(CS, seg);
        self.eip = eip;
        self.load_seg_protected(bus, SS, ss & 0xFFFC)?;
        self.regs[4] = esp;
        self.attention = self.needs_attention();
        Ok(())
    }

    /// For the firmware's mode switches (the DPMI host): real mode at `cs:ip` on the stack
    /// `ss:sp`, with DS and ES = `data`, FS = GS = 0, every segment cache as after a
    /// real-mode load with 64 KiB limits (the 80386 PRM 14.5 return to real mode), CR0.PE
    /// and PG clear, the interrupt table at 0 (limit 3FFh), and EFLAGS.VM, IF and TF clear.
    pub(crate) fn enter_real_mode(&mut self, cs: u16, ip: u16, ss: u16, sp: u16, data: u16) {
        self.set_cr0(self.cr0 & !0x8000_0001);
        self.idtr = super::TableRegister {
            base: 0,
            limit: 0x3FF,
        };
        self.flags
            .set_other(self.flags.other() & !(super::flags::VM | 0x300));
        for (i, sel) in [(0, data), (CS, cs), (SS, ss), (3, data), (4, 0), (5, 0)] {
            self.set_segment(i, super::Segment::real(sel));
        }
        self.eip = u32::from(ip);
        self.regs[4] = u32::from(sp);
        self.attention = self.needs_attention();
    }

    /// Sets CR3 (the page directory base); the translation cache starts afresh.
    pub(crate) fn set_cr3(&mut self, v: u32) {
        self.cr3 = v & 0xFFFF_F000;
        self.tlb.flush();
        self.invalidate_code_window();
    }
    /// 0F 01: group 7.
    pub(crate) fn group7<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        let m = self.modrm(bus)?;
        match m.reg {
            0..=3 if !m.mem => Err(INVALID_OPCODE),
            0 | 1 => {
                // SGDT/SIDT: limit, then a 24-bit base. The 80286 stores FFh as the fourth
                // base byte; the 80386 stores 00h with a 16-bit operand, the full base with 32.
                let t = if m.reg == 0 { self.gdtr } else { self.idtr };
                let top = match self.model {
                    Model::I80286 => 0xFF00_0000,
                    _ => 0,
                };
                let base = if self.d.o32 {
                    t.base
                } else {
                    (t.base & 0x00FF_FFFF) | top
                };
                self.check_range(m.seg, m.off, 6)?;
                self.wr16(bus, m.seg, m.off, t.limit)?;
                let off = self.wrap_off(m.off, 2);
                self.wrv(bus, m.seg, off, 16, base & 0xFFFF)?;
                let off = self.wrap_off(m.off, 4);
                self.wrv(bus, m.seg, off, 16, base >> 16)
            }
            2 | 3 => {
                self.require_cpl0()?;
                let limit = self.rd16(bus, m.seg, m.off)?;
                let off = self.wrap_off(m.off, 2);
                let lo = u32::from(self.rd16(bus, m.seg, off)?);
                let off = self.wrap_off(m.off, 4);
                let hi = u32::from(self.rd16(bus, m.seg, off)?);
                let mut base = lo | (hi << 16);
                if !self.d.o32 || !self.is386() {
                    base &= 0x00FF_FFFF;
                }
                let t = super::TableRegister { base, limit };
                if m.reg == 2 {
                    self.gdtr = t
                } else {
                    self.idtr = t
                }
                Ok(())
            }
            4 => {
                // SMSW: the 80286 MSW's unused bits read as ones.
                let v = self.cr0 & 0xFFFF;
                if m.mem {
                    self.wr16(bus, m.seg, m.off, v as u16)
                } else {
                    let bits = self.vbits();
                    let v = if bits == 32 { self.cr0 } else { v };
                    self.set_rv(m.rm, bits, v);
                    Ok(())
                }
            }
            6 => {
                // LMSW loads PE, MP, EM and TS; it cannot clear PE.
                self.require_cpl0()?;
                let v = u32::from(if m.mem {
                    self.rd16(bus, m.seg, m.off)?
                } else {
                    self.r16(m.rm)
                });
                let keep_pe = self.cr0 & 1;
                let cr0 = (self.cr0 & !0xF) | (v & 0xF) | keep_pe;
                self.set_cr0(cr0);
                Ok(())
            }
            _ => Err(INVALID_OPCODE),
        }
    }

    /// MOV to and from control, debug and test registers (80386). The ModR/M mod field is
    /// ignored: the operand is always a 32-bit general register.
    pub(crate) fn mov_special<B: Bus>(&mut self, bus: &mut B, op: u8) -> R<()> {
        let m = self.fetch8(bus)? as usize;
        self.require_cpl0()?;
        let (n, r) = ((m >> 3) & 7, m & 7);
        match op {
            0x20 => {
                let v = match n {
                    0 => self.cr0,
                    2 => self.cr2,
                    3 => self.cr3,
                    _ => return Err(INVALID_OPCODE),
                };
                self.regs[r] = v;
            }
            0x22 => {
                let v = self.regs[r];
                match n {
                    0 => {
                        // PG requires PE (80386 PRM, MOV CRn: #GP(0)).
                        if v & 0x8000_0000 != 0 && v & 1 == 0 {
                            return Err(GENERAL_PROTECTION);
                        }
                        self.set_cr0(v & 0x8000_001F);
                    }
                    2 => self.cr2 = v,
                    3 => self.set_cr3(v),
                    _ => return Err(INVALID_OPCODE),
                }
            }
            // DR4 and DR5 are reserved; the 80386 maps them onto DR6 and DR7 (`debug.rs`).
            0x21 => self.regs[r] = self.read_dr(n)?,
            0x23 => self.write_dr(n, self.regs[r])?,
            0x24 | 0x26 if n < 6 => return Err(INVALID_OPCODE),
            0x24 => self.regs[r] = self.tr[n - 6],
            _ => self.tr[n - 6] = self.regs[r],
        }
        Ok(())
    }

    /// Writes CR0. Turning paging on or off empties the translation cache; leaving
    /// protected mode makes CPL 0.
    pub(crate) fn set_cr0(&mut self, v: u32) {
        let old = self.cr0;
        self.cr0 = v;
        if (old ^ v) & 0x8000_0000 != 0 {
            self.tlb.flush();
        }
        if v & 1 == 0 {
            self.cpl = 0;
        }
        self.invalidate_code_window();
        self.attention = self.needs_attention();
    }
}
