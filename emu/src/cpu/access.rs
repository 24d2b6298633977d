//! Register access, segmented memory access with limit checks, the stack, and segment loads.
//!
//! Limit rule (80286 PRM 5.1 and 80386 PRM 14.7, "exceptions in real-address mode"): an
//! operand any part of which lies beyond the segment limit (offset FFFFh for a word in real
//! mode) raises interrupt 13; on the 80386 a stack-segment operand raises interrupt 12
//! instead. The 80286 vectors show interrupt 13 for stack operands as well. The 8086 has no
//! limit: the second byte of a word at offset FFFFh comes from offset 0 of the same segment.

use super::regs::{ATTR_CE, ATTR_CODE, ATTR_PRESENT, ATTR_REAL, ATTR_RW, ATTR_S, CS, SP, SS};
use super::{Cpu, GENERAL_PROTECTION, Model, R, STACK_FAULT};
use crate::bus::Bus;
use crate::cpu::Fault;
use crate::cpu::decode::ModRm;

impl Cpu {
    // ----- general registers ---------------------------------------------------------------

    #[inline(always)]
    pub(crate) fn r8(&self, i: usize) -> u8 {
        let i = i & 7;
        if i < 4 {
            self.regs[i] as u8
        } else {
            (self.regs[i - 4] >> 8) as u8
        }
    }

    #[inline(always)]
    pub(crate) fn set_r8(&mut self, i: usize, v: u8) {
        let i = i & 7;
        if i < 4 {
            self.regs[i] = (self.regs[i] & !0xFF) | u32::from(v);
        } else {
            self.regs[i - 4] = (self.regs[i - 4] & !0xFF00) | (u32::from(v) << 8);
        }
    }

    #[inline(always)]
    pub(crate) fn r16(&self, i: usize) -> u16 {
        self.regs[i & 7] as u16
    }

    #[inline(always)]
    pub(crate) fn set_r16(&mut self, i: usize, v: u16) {
        let r = &mut self.regs[i & 7];
        *r = (*r & 0xFFFF_0000) | u32::from(v);
    }

    /// Register `i` at width `bits` (16 or 32), zero-extended.
    #[inline(always)]
    pub(crate) fn rv(&self, i: usize, bits: u32) -> u32 {
        if bits == 32 {
            self.regs[i & 7]
        } else {
            self.regs[i & 7] & 0xFFFF
        }
    }

    #[inline(always)]
    pub(crate) fn set_rv(&mut self, i: usize, bits: u32, v: u32) {
        if bits == 32 {
            self.regs[i & 7] = v
        } else {
            self.set_r16(i, v as u16)
        }
    }

    /// Operand size in bits for "v" operands (16, or 32 with the 80386's 66h prefix).
    #[inline(always)]
    pub(crate) fn vbits(&self) -> u32 {
        if self.d.o32 { 32 } else { 16 }
    }

    // ----- memory ------------------------------------------------------------------------------
    //
    // Each access first tests the segment's fast-path bound (`rlim`/`wlim`, see `Segment`):
    // an ordinary readable/writable expand-up segment passes with one comparison. Anything
    // else (the limit, expand-down, a null or read-only segment, the 8086's wrap) goes to the
    // checked path, which raises the fault the manuals give. With paging on, an access that
    // passes goes through the translation cache (`tlb_read`/`tlb_write` in `paging.rs`).

    #[inline(always)]
    pub(crate) fn rd8<B: Bus>(&mut self, bus: &mut B, seg: usize, off: u32) -> R<u8> {
        let s = &self.segs[seg];
        if i64::from(off) <= s.rlim {
            let lin = s.base.wrapping_add(off);
            if !self.paged() {
                return Ok(bus.memory_ref().read_u8(lin));
            }
            return self.tlb_read(bus, lin, 1).map(|v| v as u8);
        }
        self.rd_checked(bus, seg, off, 1).map(|v| v as u8)
    }

    #[inline(always)]
    pub(crate) fn wr8<B: Bus>(&mut self, bus: &mut B, seg: usize, off: u32, v: u8) -> R<()> {
        let s = &self.segs[seg];
        if i64::from(off) <= s.wlim {
            let lin = s.base.wrapping_add(off);
            if !self.paged() {
                bus.memory().write_u8(lin, v);
                return Ok(());
            }
            return self.tlb_write(bus, lin, 1, u32::from(v));
        }
        self.wr_checked(bus, seg, off, 1, u32::from(v))
    }

    #[inline(always)]
    pub(crate) fn rd16<B: Bus>(&mut self, bus: &mut B, seg: usize, off: u32) -> R<u16> {
        let s = &self.segs[seg];
        if i64::from(off) < s.rlim {
            let lin = s.base.wrapping_add(off);
            if !self.paged() {
                return Ok(bus.memory_ref().read_u16(lin));
            }
            return self.tlb_read(bus, lin, 2).map(|v| v as u16);
        }
        self.rd_checked(bus, seg, off, 2).map(|v| v as u16)
    }

    #[inline(always)]
    pub(crate) fn wr16<B: Bus>(&mut self, bus: &mut B, seg: usize, off: u32, v: u16) -> R<()> {
        let s = &self.segs[seg];
        if i64::from(off) < s.wlim {
            let lin = s.base.wrapping_add(off);
            if !self.paged() {
                bus.memory().write_u16(lin, v);
                return Ok(());
            }
            return self.tlb_write(bus, lin, 2, u32::from(v));
        }
        self.wr_checked(bus, seg, off, 2, u32::from(v))
    }

    #[inline(always)]
    pub(crate) fn rd32<B: Bus>(&mut self, bus: &mut B, seg: usize, off: u32) -> R<u32> {
        let s = &self.segs[seg];
        if i64::from(off) + 3 <= s.rlim {
            let lin = s.base.wrapping_add(off);
            if !self.paged() {
                return Ok(bus.memory_ref().read_u32(lin));
            }
            return self.tlb_read(bus, lin, 4);
        }
        self.rd_checked(bus, seg, off, 4)
    }

    #[inline(always)]
    pub(crate) fn wr32<B: Bus>(&mut self, bus: &mut B, seg: usize, off: u32, v: u32) -> R<()> {
        let s = &self.segs[seg];
        if i64::from(off) + 3 <= s.wlim {
            let lin = s.base.wrapping_add(off);
            if !self.paged() {
                bus.memory().write_u32(lin, v);
                return Ok(());
            }
            return self.tlb_write(bus, lin, 4, v);
        }
        self.wr_checked(bus, seg, off, 4, v)
    }

    /// The checked read of `len` (1, 2 or 4) bytes at `seg:off`.
    #[cold]
    #[inline(never)]
    fn rd_checked<B: Bus>(&mut self, bus: &mut B, seg: usize, off: u32, len: u32) -> R<u32> {
        if self.model == Model::I8086 {
            // No limit: each byte's offset wraps within the 64 KiB segment.
            let base = self.segs[seg].base;
            if self.watch_data {
                self.watch_data_access(base.wrapping_add(off & 0xFFFF), len, false);
            }
            let mem = bus.memory_ref();
            let mut v = 0;
            for i in 0..len {
                let b = mem.read_u8(base.wrapping_add(off.wrapping_add(i) & 0xFFFF));
                v |= u32::from(b) << (8 * i);
            }
            return Ok(v);
        }
        self.check_access(seg, off, len, false)?;
        let lin = self.segs[seg].base.wrapping_add(off);
        self.data_access(lin, len, false);
        self.lin_read(bus, lin, len, self.cpl == 3)
    }

    /// The checked write of the low `len` (1, 2 or 4) bytes of `v` at `seg:off`.
    #[cold]
    #[inline(never)]
    fn wr_checked<B: Bus>(&mut self, bus: &mut B, seg: usize, off: u32, len: u32, v: u32) -> R<()> {
        if self.model == Model::I8086 {
            let base = self.segs[seg].base;
            if self.watch_data {
                self.watch_data_access(base.wrapping_add(off & 0xFFFF), len, true);
            }
            let mem = bus.memory();
            for i in 0..len {
                let a = base.wrapping_add(off.wrapping_add(i) & 0xFFFF);
                mem.write_u8(a, (v >> (8 * i)) as u8);
            }
            return Ok(());
        }
        self.check_access(seg, off, len, true)?;
        let lin = self.segs[seg].base.wrapping_add(off);
        self.data_access(lin, len, true);
        self.lin_write(bus, lin, len, v, self.cpl == 3)
    }

    /// The segment checks of an access of `len` bytes at `seg:off` (80386 PRM 6.3.1 and
    /// 9.8.13, 80286 PRM 7.3 and 9.2): a null (not present) register, writing to code or a
    /// read-only data segment or reading execute-only code raise #GP(0); an offset outside
    /// the segment (for expand-down segments: at or below the limit, or above FFFFh/FFFFFFFFh
    /// by the B bit) raises #GP(0), or #SS(0) for SS in protected mode and on the 80386.
    pub(crate) fn check_access(&self, seg: usize, off: u32, len: u32, write: bool) -> R<()> {
        let s = &self.segs[seg];
        let a = s.attr;
        if a & ATTR_PRESENT == 0 {
            return Err(self.limit_fault(seg));
        }
        if a & ATTR_S != 0 {
            if a & ATTR_CODE != 0 {
                if write || a & ATTR_RW == 0 {
                    return Err(GENERAL_PROTECTION);
                }
            } else if write && a & ATTR_RW == 0 {
                return Err(GENERAL_PROTECTION);
            }
        }
        let last = u64::from(off) + u64::from(len) - 1;
        let ok = if a & (ATTR_S | ATTR_CODE | ATTR_CE) == ATTR_S | ATTR_CE {
            let top = if s.big { 0xFFFF_FFFF } else { 0xFFFF };
            off > s.limit && last <= top
        } else {
            last <= u64::from(s.limit)
        };
        if ok {
            Ok(())
        } else {
            Err(self.limit_fault(seg))
        }
    }

    /// The fault for an operand beyond the limit of segment `seg`: #SS(0) for the stack in
    /// protected mode and on the 80386, #GP(0) otherwise (the 80286 vectors show interrupt 13
    /// for real-mode stack operands).
    #[cold]
    fn limit_fault(&self, seg: usize) -> Fault {
        if seg == SS && (self.model == Model::I80386 || self.protected()) {
            STACK_FAULT
        } else {
            GENERAL_PROTECTION
        }
    }

    /// Checks that `len` bytes at `seg:off` could be written, at segment and page level
    /// (setting the pages' accessed and dirty bits as a write would), without writing.
    pub(crate) fn probe_write<B: Bus>(
        &mut self,
        bus: &mut B,
        seg: usize,
        off: u32,
        len: u32,
    ) -> R<()> {
        self.check_access(seg, off, len, true)?;
        if self.paged() {
            let lin = self.segs[seg].base.wrapping_add(off);
            let user = self.cpl == 3;
            self.translate(bus, lin, true, user)?;
            let last = lin.wrapping_add(len - 1);
            if last & !0xFFF != lin & !0xFFF {
                self.translate(bus, last, true, user)?;
            }
        }
        Ok(())
    }

    /// Reads `len` (1, 2 or 4) bytes at linear address `lin`, at user privilege when `user`
    /// (the page-level check; see `paging.rs`).
    pub(crate) fn lin_read<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        len: u32,
        user: bool,
    ) -> R<u32> {
        if self.paged() {
            return self.paged_read(bus, lin, len, user);
        }
        let mem = bus.memory_ref();
        Ok(match len {
            1 => u32::from(mem.read_u8(lin)),
            2 => u32::from(mem.read_u16(lin)),
            _ => mem.read_u32(lin),
        })
    }

    /// Writes the low `len` (1, 2 or 4) bytes of `v` at linear address `lin`.
    pub(crate) fn lin_write<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        len: u32,
        v: u32,
        user: bool,
    ) -> R<()> {
        if self.paged() {
            return self.paged_write(bus, lin, len, v, user);
        }
        let mem = bus.memory();
        match len {
            1 => mem.write_u8(lin, v as u8),
            2 => mem.write_u16(lin, v as u16),
            _ => mem.write_u32(lin, v),
        }
        Ok(())
    }

    /// Reads an operand of `bits` (16 or 32) at `seg:off`.
    #[inline(always)]
    pub(crate) fn rdv<B: Bus>(&mut self, bus: &mut B, seg: usize, off: u32, bits: u32) -> R<u32> {
        if bits == 32 {
            self.rd32(bus, seg, off)
        } else {
            Ok(u32::from(self.rd16(bus, seg, off)?))
        }
    }

    #[inline(always)]
    pub(crate) fn wrv<B: Bus>(
        &mut self,
        bus: &mut B,
        seg: usize,
        off: u32,
        bits: u32,
        v: u32,
    ) -> R<()> {
        if bits == 32 {
            self.wr32(bus, seg, off, v)
        } else {
            self.wr16(bus, seg, off, v as u16)
        }
    }

    /// Checks that `len` bytes at `seg:off` can be written without a segment fault, for
    /// instructions that must not fault halfway through their writes.
    #[inline(always)]
    pub(crate) fn check_range(&self, seg: usize, off: u32, len: u32) -> R<()> {
        if self.model == Model::I8086 {
            return Ok(());
        }
        let s = &self.segs[seg];
        if i64::from(off) + i64::from(len) - 1 <= s.wlim {
            return Ok(());
        }
        self.check_access(seg, off, len, true)
    }

    /// The offset that follows `off` by `delta` bytes within an address space of the current
    /// address size (8086: always 64 KiB).
    #[inline(always)]
    pub(crate) fn wrap_off(&self, off: u32, delta: u32) -> u32 {
        let o = off.wrapping_add(delta);
        if self.d.a32 { o } else { o & 0xFFFF }
    }

    // ----- ModR/M operands ---------------------------------------------------------------------

    #[inline(always)]
    pub(crate) fn get_rm8<B: Bus>(&mut self, bus: &mut B, m: &ModRm) -> R<u8> {
        if m.mem {
            self.rd8(bus, m.seg, m.off)
        } else {
            Ok(self.r8(m.rm))
        }
    }

    #[inline(always)]
    pub(crate) fn set_rm8<B: Bus>(&mut self, bus: &mut B, m: &ModRm, v: u8) -> R<()> {
        if m.mem {
            self.wr8(bus, m.seg, m.off, v)
        } else {
            self.set_r8(m.rm, v);
            Ok(())
        }
    }

    #[inline(always)]
    pub(crate) fn get_rmv<B: Bus>(&mut self, bus: &mut B, m: &ModRm, bits: u32) -> R<u32> {
        if m.mem {
            self.rdv(bus, m.seg, m.off, bits)
        } else {
            Ok(self.rv(m.rm, bits))
        }
    }

    #[inline(always)]
    pub(crate) fn set_rmv<B: Bus>(&mut self, bus: &mut B, m: &ModRm, bits: u32, v: u32) -> R<()> {
        if m.mem {
            self.wrv(bus, m.seg, m.off, bits, v)
        } else {
            self.set_rv(m.rm, bits, v);
            Ok(())
        }
    }

    /// Reads a word (low half) of a memory operand and the word or doubleword after it, as
    /// for far pointers: returns (offset, selector).
    pub(crate) fn read_far_ptr<B: Bus>(
        &mut self,
        bus: &mut B,
        m: &ModRm,
        bits: u32,
    ) -> R<(u32, u16)> {
        let off = self.rdv(bus, m.seg, m.off, bits)?;
        let sel_off = self.wrap_off(m.off, bits / 8);
        let sel = self.rd16(bus, m.seg, sel_off)?;
        Ok((off, sel))
    }

    // ----- stack -------------------------------------------------------------------------------

    #[inline(always)]
    fn sp_mask(&self) -> u32 {
        if self.segs[SS].big {
            0xFFFF_FFFF
        } else {
            0xFFFF
        }
    }

    #[inline(always)]
    pub(crate) fn set_sp(&mut self, v: u32) {
        if self.segs[SS].big {
            self.regs[SP] = v
        } else {
            self.set_r16(SP, v as u16)
        }
    }

    #[inline(always)]
    pub(crate) fn push16<B: Bus>(&mut self, bus: &mut B, v: u16) -> R<()> {
        let sp = self.regs[SP].wrapping_sub(2) & self.sp_mask();
        self.wr16(bus, SS, sp, v)?;
        self.set_sp(sp);
        Ok(())
    }

    #[inline(always)]
    pub(crate) fn push32<B: Bus>(&mut self, bus: &mut B, v: u32) -> R<()> {
        let sp = self.regs[SP].wrapping_sub(4) & self.sp_mask();
        self.wr32(bus, SS, sp, v)?;
        self.set_sp(sp);
        Ok(())
    }

    /// Pushes a value of the operand size.
    #[inline(always)]
    pub(crate) fn pushv<B: Bus>(&mut self, bus: &mut B, bits: u32, v: u32) -> R<()> {
        if bits == 32 {
            self.push32(bus, v)
        } else {
            self.push16(bus, v as u16)
        }
    }

    #[inline(always)]
    pub(crate) fn pop16<B: Bus>(&mut self, bus: &mut B) -> R<u16> {
        let sp = self.regs[SP] & self.sp_mask();
        let v = self.rd16(bus, SS, sp)?;
        self.set_sp(sp.wrapping_add(2));
        Ok(v)
    }

    #[inline(always)]
    pub(crate) fn pop32<B: Bus>(&mut self, bus: &mut B) -> R<u32> {
        let sp = self.regs[SP] & self.sp_mask();
        let v = self.rd32(bus, SS, sp)?;
        self.set_sp(sp.wrapping_add(4));
        Ok(v)
    }

    #[inline(always)]
    pub(crate) fn popv<B: Bus>(&mut self, bus: &mut B, bits: u32) -> R<u32> {
        if bits == 32 {
            self.pop32(bus)
        } else {
            Ok(u32::from(self.pop16(bus)?))
        }
    }

    /// Reads the stack `depth` bytes above SP without popping.
    #[inline(always)]
    pub(crate) fn peek_stack<B: Bus>(&mut self, bus: &mut B, depth: u32, bits: u32) -> R<u32> {
        let off = self.regs[SP].wrapping_add(depth) & self.sp_mask();
        self.rdv(bus, SS, off, bits)
    }

    /// The stack pointer after popping `n` bytes, by the current stack size (for POP SS,
    /// whose new SS must not decide how its own pop moved SP).
    #[inline(always)]
    pub(crate) fn sp_after_pop(&self, n: u32) -> u32 {
        let mask = self.sp_mask();
        (self.regs[SP] & !mask) | (self.regs[SP].wrapping_add(n) & mask)
    }

    /// Adds `n` to the stack pointer (RET imm16, discarding popped values).
    #[inline(always)]
    pub(crate) fn adjust_sp(&mut self, n: u32) {
        let sp = self.regs[SP].wrapping_add(n) & self.sp_mask();
        self.set_sp(sp);
    }

    // ----- segment registers -------------------------------------------------------------

    /// Loads a segment register in real mode: the selector and base change, the limit and
    /// B/D bit of the cache stay, the access rights become those of a present writable data
    /// segment (see [`super::Segment`]).
    #[inline(always)]
    pub(crate) fn load_seg_real(&mut self, seg: usize, sel: u16) {
        let checked = self.checked_accesses();
        let s = &mut self.segs[seg];
        s.selector = sel;
        s.base = u32::from(sel) << 4;
        if s.attr != ATTR_REAL {
            s.attr = ATTR_REAL;
            s.refresh(checked);
        }
        if seg == CS {
            self.invalidate_code_window();
        }
    }

    /// Holds off interrupts and the single-step trap until the next instruction completes
    /// (after STI, MOV SS, POP SS, LSS).
    #[inline(always)]
    pub(crate) fn set_shadow(&mut self) {
        self.shadow = true;
        self.attention = true;
    }

    /// A far transfer's new CS:EIP.
    #[inline(always)]
    pub(crate) fn set_cs_ip(&mut self, sel: u16, eip: u32) {
        self.load_seg_real(CS, sel);
        self.eip = eip;
    }
}
