//! Instruction-stream fetch and ModR/M (+ SIB) effective-address decoding.
//!
//! Addressing forms: 80386 PRM section 17.2.1, tables 17-2 (16-bit) and 17-3/17-4 (32-bit
//! with SIB). The default segment is SS for forms based on BP, EBP or ESP and DS otherwise;
//! a segment-override prefix replaces it.
//!
//! Fetch: the CPU keeps a *code window*, the EIP range that lies in the current code page and
//! within the CS limit, with the backing-store index of its first byte, so instruction bytes
//! are read without a page-table lookup. Leaving the window (a jump to another page, the end
//! of the page or of the segment) takes the slow path, which enforces the CS limit (the 8086
//! wraps IP at 64 KiB instead), the model's instruction-length limit (10 bytes on the 80286,
//! 15 on the 80386; prefixes shorten the window so the check is reached) and recomputes the
//! window. Bytes are read live, so code that modifies itself is seen at once.

use super::regs::{BP, BX, CS, DI, DS, SI, SS};
use super::{Cpu, GENERAL_PROTECTION, Model, NO_SEG, R};
use crate::bus::Bus;

/// A decoded ModR/M operand.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ModRm {
    /// The `reg` field (register number or opcode extension).
    pub reg: usize,
    /// The `r/m` field (register number when `mem` is false).
    pub rm: usize,
    /// The operand is in memory at `seg:off`.
    pub mem: bool,
    pub seg: usize,
    pub off: u32,
}

impl Cpu {
    /// Longest instruction the model accepts, or `usize::MAX` for the 8086.
    #[inline(always)]
    fn max_insn_len(&self) -> usize {
        match self.model {
            Model::I8086 => usize::MAX,
            Model::I80286 => 10,
            Model::I80386 => 15,
        }
    }

    /// Makes the code window empty: the next fetch recomputes it.
    #[inline(always)]
    pub(crate) fn invalidate_code_window(&mut self) {
        self.win_len = 0;
    }

    /// Shortens the code window so that the current instruction cannot run past the model's
    /// length limit without taking the slow fetch path (which raises the fault). Called for
    /// each prefix on the 80286 and 80386; later instructions recompute the window.
    #[inline(always)]
    pub(crate) fn cap_code_window(&mut self) {
        let cap = self.d.start_eip.wrapping_add(self.max_insn_len() as u32);
        let end = self.win_start.wrapping_add(self.win_len);
        if self.win_len != 0 && end.wrapping_sub(self.win_start) > cap.wrapping_sub(self.win_start)
        {
            self.win_len = cap.saturating_sub(self.win_start);
        }
    }

    #[inline(always)]
    pub(crate) fn fetch8<B: Bus>(&mut self, bus: &mut B) -> R<u8> {
        let eip = self.eip;
        let i = eip.wrapping_sub(self.win_start);
        if i < self.win_len
            && let Some(&b) = bus.memory_ref().store().get(self.win_off + i as usize)
        {
            self.eip = eip.wrapping_add(1);
            return Ok(b);
        }
        self.fetch8_slow(bus)
    }

    /// Fetch outside the code window: enforces the length limit and the CS limit (the 8086
    /// wraps IP instead), recomputes the window, and reads unmapped code as FFh.
    #[cold]
    #[inline(never)]
    fn fetch8_slow<B: Bus>(&mut self, bus: &mut B) -> R<u8> {
        if self.eip.wrapping_sub(self.d.start_eip) as usize >= self.max_insn_len() {
            return Err(GENERAL_PROTECTION);
        }
        let cs = self.segs[CS];
        if self.eip > cs.limit {
            if self.model != Model::I8086 {
                return Err(GENERAL_PROTECTION);
            }
            self.eip &= 0xFFFF; // the 8086's IP is a 16-bit counter
        }
        let eip = self.eip;
        let lin = cs.base.wrapping_add(eip);
        let phys = self.code_address(bus, lin)?;
        let mem = bus.memory_ref();
        match mem.readable_index(phys) {
            Some(idx) => {
                let page_off = lin & 0xFFF;
                let back = page_off.min(eip);
                let fwd = (0x1000 - page_off).min((cs.limit - eip).saturating_add(1));
                self.win_start = eip - back;
                self.win_len = back + fwd;
                self.win_off = idx - back as usize;
                if self.d.prefixes != 0 && self.model != Model::I8086 {
                    self.cap_code_window();
                }
                let b = mem.store().get(idx).copied().unwrap_or(0xFF);
                self.eip = eip.wrapping_add(1);
                Ok(b)
            }
            None => {
                self.win_len = 0;
                let b = mem.read_u8(phys);
                self.eip = eip.wrapping_add(1);
                Ok(b)
            }
        }
    }

    #[inline(always)]
    pub(crate) fn fetch16<B: Bus>(&mut self, bus: &mut B) -> R<u16> {
        let eip = self.eip;
        let i = eip.wrapping_sub(self.win_start);
        if i.wrapping_add(1) < self.win_len {
            let k = self.win_off + i as usize;
            if let Some(b) = bus.memory_ref().store().get(k..k + 2) {
                self.eip = eip.wrapping_add(2);
                return Ok(u16::from_le_bytes([b[0], b[1]]));
            }
        }
        let lo = self.fetch8(bus)?;
        let hi = self.fetch8(bus)?;
        Ok(u16::from_le_bytes([lo, hi]))
    }

    #[inline(always)]
    pub(crate) fn fetch32<B: Bus>(&mut self, bus: &mut B) -> R<u32> {
        let lo = self.fetch16(bus)?;
        let hi = self.fetch16(bus)?;
        Ok(u32::from(lo) | (u32::from(hi) << 16))
    }

    /// An immediate of the operand size (16 or 32 bits).
    #[inline(always)]
    pub(crate) fn fetch_imm_v<B: Bus>(&mut self, bus: &mut B) -> R<u32> {
        if self.d.o32 {
            self.fetch32(bus)
        } else {
            Ok(u32::from(self.fetch16(bus)?))
        }
    }

    /// A sign-extended 8-bit immediate.
    #[inline(always)]
    pub(crate) fn fetch_simm8<B: Bus>(&mut self, bus: &mut B) -> R<u32> {
        Ok(self.fetch8(bus)? as i8 as i32 as u32)
    }

    /// The segment an operand uses: the override prefix, or `default`.
    #[inline(always)]
    pub(crate) fn seg_or(&self, default: usize) -> usize {
        if self.d.seg == NO_SEG {
            default
        } else {
            self.d.seg as usize
        }
    }

    /// Fetches and decodes a ModR/M byte (and SIB and displacement for memory forms).
    #[inline(always)]
    pub(crate) fn modrm<B: Bus>(&mut self, bus: &mut B) -> R<ModRm> {
        let m = self.fetch8(bus)? as usize;
        let md = m >> 6;
        let reg = (m >> 3) & 7;
        let rm = m & 7;
        if md == 3 {
            return Ok(ModRm {
                reg,
                rm,
                mem: false,
                seg: 0,
                off: 0,
            });
        }
        let (seg, off) = if self.d.a32 {
            self.ea32(bus, md, rm)?
        } else {
            self.ea16(bus, md, rm)?
        };
        Ok(ModRm {
            reg,
            rm,
            mem: true,
            seg,
            off,
        })
    }

    #[inline(always)]
    fn ea16<B: Bus>(&mut self, bus: &mut B, md: usize, rm: usize) -> R<(usize, u32)> {
        let r = &self.regs;
        let (base, seg) = match rm {
            0 => (r[BX].wrapping_add(r[SI]), DS),
            1 => (r[BX].wrapping_add(r[DI]), DS),
            2 => (r[BP].wrapping_add(r[SI]), SS),
            3 => (r[BP].wrapping_add(r[DI]), SS),
            4 => (r[SI], DS),
            5 => (r[DI], DS),
            6 => {
                if md == 0 {
                    let disp = u32::from(self.fetch16(bus)?);
                    return Ok((self.seg_or(DS), disp));
                }
                (r[BP], SS)
            }
            _ => (r[BX], DS),
        };
        let disp = match md {
            0 => 0,
            1 => self.fetch_simm8(bus)?,
            _ => u32::from(self.fetch16(bus)?),
        };
        Ok((self.seg_or(seg), base.wrapping_add(disp) & 0xFFFF))
    }

    #[inline(never)]
    fn ea32<B: Bus>(&mut self, bus: &mut B, md: usize, rm: usize) -> R<(usize, u32)> {
        let (mut off, mut seg) = if rm == 4 {
            let sib = self.fetch8(bus)? as usize;
            let scale = sib >> 6;
            let index = (sib >> 3) & 7;
            let base = sib & 7;
            let idx = if index == 4 {
                0
            } else {
                self.regs[index] << scale
            };
            if base == 5 && md == 0 {
                (self.fetch32(bus)?.wrapping_add(idx), DS)
            } else {
                let seg = if base == 4 || base == 5 { SS } else { DS };
                (self.regs[base].wrapping_add(idx), seg)
            }
        } else if rm == 5 && md == 0 {
            return Ok((self.seg_or(DS), self.fetch32(bus)?));
        } else {
            (self.regs[rm], if rm == 5 { SS } else { DS })
        };
        match md {
            1 => off = off.wrapping_add(self.fetch_simm8(bus)?),
            2 => off = off.wrapping_add(self.fetch32(bus)?),
            _ => {}
        }
        seg = self.seg_or(seg);
        Ok((seg, off))
    }

    /// The offset of the byte after the instruction decoded so far (the return address of a
    /// CALL, the base of a relative jump), wrapped to the IP width.
    #[inline(always)]
    pub(crate) fn next_ip(&self) -> u32 {
        if self.segs[CS].big {
            self.eip
        } else {
            self.eip & 0xFFFF
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::bare::BareSystem;
    use crate::cpu::{Model, Reg16, SegReg};

    /// Runs `lea ax, <form>` and returns AX: LEA exposes the computed offset directly.
    fn lea(model: Model, code: &[u8], setup: impl Fn(&mut crate::cpu::Cpu)) -> u16 {
        let mut sys = BareSystem::new(model, 0x10_0000).unwrap();
        sys.load_code(0x1000, 0x0100, code);
        setup(&mut sys.cpu);
        sys.run_to_halt(100).unwrap();
        sys.cpu.reg16(Reg16::AX)
    }

    #[test]
    fn sixteen_bit_forms_follow_table_17_2() {
        let set = |c: &mut crate::cpu::Cpu| {
            c.set_reg16(Reg16::BX, 0x1000);
            c.set_reg16(Reg16::BP, 0x2000);
            c.set_reg16(Reg16::SI, 0x0030);
            c.set_reg16(Reg16::DI, 0x0004);
        };
        // lea ax,[bx+si] = 8D 00; [bp+di+5] = 8D 43 05; [0x1234] = 8D 06 34 12;
        // [bx-2] = 8D 47 FE; [si+0x8000] = 8D 84 00 80.
        assert_eq!(lea(Model::I8086, &[0x8D, 0x00, 0xF4], set), 0x1030);
        assert_eq!(lea(Model::I8086, &[0x8D, 0x43, 0x05, 0xF4], set), 0x2009);
        assert_eq!(
            lea(Model::I8086, &[0x8D, 0x06, 0x34, 0x12, 0xF4], set),
            0x1234
        );
        assert_eq!(lea(Model::I8086, &[0x8D, 0x47, 0xFE, 0xF4], set), 0x0FFE);
        assert_eq!(
            lea(Model::I80286, &[0x8D, 0x84, 0x00, 0x80, 0xF4], set),
            0x8030
        );
        // Offsets wrap at 64 KiB: [bp+si] with BP=FFF0h, SI=20h is 0010h.
        let wrap = |c: &mut crate::cpu::Cpu| {
            c.set_reg16(Reg16::BP, 0xFFF0);
            c.set_reg16(Reg16::SI, 0x0020);
        };
        assert_eq!(lea(Model::I80386, &[0x8D, 0x02, 0xF4], wrap), 0x0010);
    }

    #[test]
    fn thirty_two_bit_forms_with_sib_follow_table_17_4() {
        let set = |c: &mut crate::cpu::Cpu| {
            c.set_reg32(crate::cpu::Reg32::EAX, 0);
            c.set_reg32(crate::cpu::Reg32::EBX, 0x100);
            c.set_reg32(crate::cpu::Reg32::ECX, 0x10);
            c.set_reg32(crate::cpu::Reg32::EBP, 0x3000);
        };
        // 67 8D 04 4B = lea ax,[ebx+ecx*2] -> 120h.
        assert_eq!(
            lea(Model::I80386, &[0x67, 0x8D, 0x04, 0x4B, 0xF4], set),
            0x0120
        );
        // 67 8D 44 8D 07 = lea ax,[ebp+ecx*4+7] -> 3047h.
        assert_eq!(
            lea(Model::I80386, &[0x67, 0x8D, 0x44, 0x8D, 0x07, 0xF4], set),
            0x3047
        );
        // 67 8D 04 CD 00 01 00 00 = lea ax,[ecx*8+100h] (base 5, mod 0: disp32, no base).
        assert_eq!(
            lea(
                Model::I80386,
                &[0x67, 0x8D, 0x04, 0xCD, 0x00, 0x01, 0x00, 0x00, 0xF4],
                set
            ),
            0x0180
        );
        // 67 8D 05 78 56 34 12 = lea ax,[12345678h] (r/m 5, mod 0): AX gets the low word.
        assert_eq!(
            lea(
                Model::I80386,
                &[0x67, 0x8D, 0x05, 0x78, 0x56, 0x34, 0x12, 0xF4],
                set
            ),
            0x5678
        );
        // 67 8D 24 23 = lea sp,[ebx] via SIB with index 4 (none): check through AX form
        // 67 8D 04 23 = lea ax,[ebx+0*?] index 100b means no index -> 100h.
        assert_eq!(
            lea(Model::I80386, &[0x67, 0x8D, 0x04, 0x23, 0xF4], set),
            0x0100
        );
    }

    #[test]
    fn bp_based_forms_default_to_ss() {
        // mov al,[bp+0] reads SS:BP, mov al,[bx] reads DS:BX.
        let mut sys = BareSystem::new(Model::I8086, 0x10_0000).unwrap();
        sys.load_code(0x1000, 0x0100, &[0x8A, 0x46, 0x00, 0x8A, 0x27, 0xF4]);
        sys.cpu.set_sreg(SegReg::SS, 0x3000);
        sys.cpu.set_sreg(SegReg::DS, 0x4000);
        sys.cpu.set_reg16(Reg16::BP, 0x10);
        sys.cpu.set_reg16(Reg16::BX, 0x10);
        sys.bus.mem.write_u8(0x30010, 0x11);
        sys.bus.mem.write_u8(0x40010, 0x22);
        sys.run_to_halt(10).unwrap();
        assert_eq!(sys.cpu.reg16(Reg16::AX), 0x2211);
    }
}
