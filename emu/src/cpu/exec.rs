//! The one-byte opcode map: prefixes, dispatch, and every instruction outside the 0Fh map
//! and the string group.
//!
//! Opcode map: 80386 PRM appendix A; 8086 aliases (60h-6Fh = Jcc, C0h/C1h = RET, C8h/C9h =
//! RETF, D6h = SALC, 0Fh = POP CS, F1h = LOCK, FF /7 = PUSH, reg fields of 8Ch/8Eh taken
//! modulo 4, 8Fh/C6h/C7h ignoring the reg field) follow the SingleStepTests 8086 metadata;
//! on the 80286 and 80386 the same encodings raise #UD (interrupt 6), as the 80286 vectors
//! show.

use super::decode::ModRm;
use super::flags::{IF, RF, VM};
use super::regs::{AX, BP, BX, CS, CX, DS, DX, ES, SP, SS};
use super::transfer::Via;
use super::{
    BOUND_RANGE, Cpu, Decode, Exit, GENERAL_PROTECTION, INVALID_OPCODE, Model, NO_COPROCESSOR,
    NO_SEG, R, TRAP_OPCODE,
};
use crate::bus::{Bus, IoSize};

/// Calls `$f` with the operand size as a constant (16 or 32), so each size is compiled as
/// its own specialised code.
macro_rules! by_size {
    ($s:ident, $f:ident ( $($a:expr),* )) => {
        if $s.d.o32 { $s.$f($($a,)* 32) } else { $s.$f($($a,)* 16) }
    };
}

/// Maximum number of prefixes the 8086 model accepts before ending the tick (the 8086
/// itself has no limit; see [`Cpu::execute`]).
const MAX_8086_PREFIXES: u32 = 15;

impl Cpu {
    /// Decodes and executes one instruction (or one iteration of a REP string instruction).
    #[inline(always)]
    pub(crate) fn execute<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        let big = self.segs[CS].big;
        self.d = Decode {
            start_eip: self.eip,
            seg: NO_SEG,
            rep: 0,
            lock: false,
            o32: big,
            a32: big,
            rep_more: false,
            prefixes: 0,
        };
        let op = self.fetch8(bus)?;
        self.exec_op(bus, op)
    }

    /// After a prefix byte: count it, apply the model's length rules, and execute what
    /// follows.
    #[inline(never)]
    fn after_prefix<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        self.d.prefixes = self.d.prefixes.saturating_add(1);
        if self.is8086() {
            if u32::from(self.d.prefixes) > MAX_8086_PREFIXES {
                // An endless run of prefixes would never reach an instruction boundary; the
                // 8086 model ends the tick here and drops them.
                return Ok(());
            }
        } else {
            self.cap_code_window();
        }
        let op = self.fetch8(bus)?;
        if self.d.lock && self.is386() && !Self::is_prefix_386(op) {
            self.check_lock(bus, op)?;
        }
        self.exec_op(bus, op)
    }

    fn is_prefix_386(op: u8) -> bool {
        matches!(
            op,
            0x26 | 0x2E | 0x36 | 0x3E | 0x64..=0x67 | 0xF0 | 0xF2 | 0xF3
        )
    }

    /// The 80386 raises #UD for LOCK on anything but a read-modify-write of memory
    /// (80386 PRM, LOCK).
    #[cold]
    fn check_lock<B: Bus>(&mut self, bus: &mut B, op: u8) -> R<()> {
        let cs = self.segs[CS];
        let mem = bus.memory_ref();
        let next = mem.read_u8(cs.base.wrapping_add(self.eip));
        let after = mem.read_u8(cs.base.wrapping_add(self.eip.wrapping_add(1)));
        let (modrm, ext) = if op == 0x0F {
            (after, Some(next))
        } else {
            (next, None)
        };
        let is_mem = modrm >> 6 != 3;
        let reg = (modrm >> 3) & 7;
        let ok = is_mem
            && match (op, ext) {
                (0x00 | 0x01 | 0x08 | 0x09 | 0x10 | 0x11 | 0x18 | 0x19, None) => true,
                (0x20 | 0x21 | 0x28 | 0x29 | 0x30 | 0x31 | 0x86 | 0x87, None) => true,
                (0x80..=0x83, None) => reg != 7,
                (0xF6 | 0xF7, None) => reg == 2 || reg == 3,
                (0xFE | 0xFF, None) => reg < 2,
                // The 80386 PRM's list includes BT (later manuals drop it).
                (0x0F, Some(0xA3 | 0xAB | 0xB3 | 0xBB)) => true,
                (0x0F, Some(0xBA)) => reg >= 4,
                _ => false,
            };
        if ok { Ok(()) } else { Err(INVALID_OPCODE) }
    }

    /// Evaluates condition code `cc` (the low nibble of Jcc/SETcc).
    #[inline(always)]
    pub(crate) fn cond(&self, cc: u8) -> bool {
        let f = &self.flags;
        let r = match (cc >> 1) & 7 {
            0 => f.of(),
            1 => f.cf(),
            2 => f.zf(),
            3 => f.cf() || f.zf(),
            4 => f.sf(),
            5 => f.pf(),
            6 => f.sf() != f.of(),
            _ => f.zf() || (f.sf() != f.of()),
        };
        r ^ (cc & 1 != 0)
    }

    /// A near jump to `target`, truncated to the operand size.
    #[inline(always)]
    pub(crate) fn jump_near(&mut self, target: u32) -> R<()> {
        self.jump_to(target, self.d.o32)
    }

    /// A near jump to `target`, truncated to 16 bits unless `o32`; #GP beyond the CS limit.
    #[inline(always)]
    pub(crate) fn jump_to(&mut self, target: u32, o32: bool) -> R<()> {
        let t = if o32 { target } else { target & 0xFFFF };
        if t > self.segs[CS].limit {
            return Err(GENERAL_PROTECTION);
        }
        self.eip = t;
        Ok(())
    }

    /// A near call: pushes `ret` (of `bits`) and jumps to `target`; a fault changes nothing.
    #[inline(always)]
    pub(crate) fn call_near<B: Bus>(
        &mut self,
        bus: &mut B,
        ret: u32,
        target: u32,
        bits: u32,
    ) -> R<()> {
        self.stack_transaction(bus, |cpu, bus| {
            cpu.pushv(bus, bits, ret)?;
            cpu.jump_to(target, bits == 32)
        })
    }

    /// LOOPNE (0), LOOPE (1), LOOP (2) decrement the count register and say whether to
    /// jump; JCXZ (3) only tests it. `ecx` selects ECX (32-bit address size).
    #[inline(always)]
    pub(crate) fn loop_taken(&mut self, kind: u8, ecx: bool) -> bool {
        if kind == 3 {
            let count = if ecx {
                self.regs[CX]
            } else {
                self.regs[CX] & 0xFFFF
            };
            return count == 0;
        }
        let count = if ecx {
            self.regs[CX] = self.regs[CX].wrapping_sub(1);
            self.regs[CX]
        } else {
            let c = self.r16(CX).wrapping_sub(1);
            self.set_r16(CX, c);
            u32::from(c)
        };
        count != 0
            && match kind {
                0 => !self.flags.zf(),
                1 => self.flags.zf(),
                _ => true,
            }
    }

    /// CBW (or CWDE with a 32-bit operand size).
    #[inline(always)]
    pub(crate) fn op_cbw(&mut self, o32: bool) {
        if o32 {
            self.regs[AX] = self.regs[AX] as u16 as i16 as i32 as u32;
        } else {
            let v = self.regs[AX] as u8 as i8 as i16 as u16;
            self.set_r16(AX, v);
        }
    }

    /// CWD (or CDQ).
    #[inline(always)]
    pub(crate) fn op_cwd(&mut self, o32: bool) {
        if o32 {
            self.regs[DX] = ((self.regs[AX] as i32) >> 31) as u32;
        } else {
            let v = if self.regs[AX] & 0x8000 != 0 {
                0xFFFF
            } else {
                0
            };
            self.set_r16(DX, v);
        }
    }

    /// SALC (undocumented on every model): AL = CF ? FFh : 00h.
    #[inline(always)]
    pub(crate) fn op_salc(&mut self) {
        let v = if self.flags.cf() { 0xFF } else { 0 };
        self.set_r8(0, v);
    }

    /// LAHF: AH = the low byte of FLAGS.
    #[inline(always)]
    pub(crate) fn op_lahf(&mut self) {
        let f = (self.flags.bits() & 0xFF) as u8;
        self.set_r8(4, f);
    }

    /// SAHF: SF ZF AF PF CF from AH.
    #[inline(always)]
    pub(crate) fn op_sahf(&mut self) {
        let ah = (self.regs[AX] >> 8) & 0xD5;
        let f = (self.flags.bits() & !0xD5) | ah;
        self.flags.set_arith(f);
    }

    /// XLAT: AL = [seg:(E)BX + AL].
    #[inline(always)]
    pub(crate) fn op_xlat<B: Bus>(&mut self, bus: &mut B, seg: usize, a32: bool) -> R<()> {
        let base = if a32 {
            self.regs[BX]
        } else {
            self.regs[BX] & 0xFFFF
        };
        let off = base.wrapping_add(self.regs[AX] & 0xFF);
        let off = if a32 { off } else { off & 0xFFFF };
        let v = self.rd8(bus, seg, off)?;
        self.set_r8(0, v);
        Ok(())
    }

    /// Jcc rel8 (70h-7Fh, and 60h-6Fh on the 8086).
    #[inline(always)]
    fn jcc8<B: Bus>(&mut self, bus: &mut B, op: u8) -> R<()> {
        let d = self.fetch_simm8(bus)?;
        if self.cond(op) {
            self.jump_rel(d)?;
        }
        Ok(())
    }

    /// A relative jump by `disp` from the end of the instruction.
    #[inline(always)]
    pub(crate) fn jump_rel(&mut self, disp: u32) -> R<()> {
        let target = self.next_ip().wrapping_add(disp);
        self.jump_near(target)
    }

    /// A far jump: CS and (E)IP together.
    fn jump_far<B: Bus>(&mut self, bus: &mut B, sel: u16, off: u32) -> R<()> {
        let off = if self.d.o32 { off } else { off & 0xFFFF };
        if self.protected() && !self.v86() {
            // A JMP to a task saves the EIP of the next instruction in the outgoing TSS
            // (80386 PRM 7.5); other far jumps do not use it.
            let next = self.next_ip();
            return self.far_transfer_protected(bus, Via::Jmp, sel, off, next);
        }
        if off > self.segs[CS].limit && !self.is8086() {
            return Err(GENERAL_PROTECTION);
        }
        self.set_cs_ip(sel, off);
        Ok(())
    }

    /// A far call: pushes CS and the return (E)IP of the operand size, then jumps.
    fn call_far<B: Bus>(&mut self, bus: &mut B, sel: u16, off: u32) -> R<()> {
        let bits = self.vbits();
        let ret = self.next_ip();
        if self.protected() && !self.v86() {
            let off = if bits == 32 { off } else { off & 0xFFFF };
            return self.far_transfer_protected(bus, Via::Call, sel, off, ret);
        }
        let old_cs = self.segs[CS].selector;
        self.stack_transaction(bus, |cpu, bus| {
            cpu.pushv(bus, bits, u32::from(old_cs))?;
            cpu.pushv(bus, bits, ret)?;
            cpu.jump_far(bus, sel, off)
        })
    }

    /// RET with an optional extra stack release, popping an (E)IP of `bits`.
    #[inline(always)]
    pub(crate) fn ret_near<B: Bus>(&mut self, bus: &mut B, release: u32, bits: u32) -> R<()> {
        let ip = self.peek_stack(bus, 0, bits)?;
        let t = if bits == 32 { ip } else { ip & 0xFFFF };
        if t > self.segs[CS].limit {
            return Err(GENERAL_PROTECTION);
        }
        self.adjust_sp(bits / 8 + release);
        self.eip = t;
        Ok(())
    }

    fn ret_far<B: Bus>(&mut self, bus: &mut B, release: u32) -> R<()> {
        if self.protected() && !self.v86() {
            return self.ret_far_protected(bus, release);
        }
        let bits = self.vbits();
        let step = bits / 8;
        let ip = self.peek_stack(bus, 0, bits)?;
        let cs = self.peek_stack(bus, step, 16)? as u16;
        let t = if bits == 32 { ip } else { ip & 0xFFFF };
        if t > self.segs[CS].limit && !self.is8086() {
            return Err(GENERAL_PROTECTION);
        }
        self.adjust_sp(2 * step + release);
        self.set_cs_ip(cs, t);
        Ok(())
    }

    /// Loads a segment register from an instruction (MOV, POP, LDS, ...) by the current
    /// mode's rules: SS (and on the 8086 any segment register) holds off interrupts for one
    /// instruction.
    #[inline(always)]
    fn load_sreg_insn<B: Bus>(&mut self, bus: &mut B, seg: usize, sel: u16) -> R<()> {
        self.load_data_seg(bus, seg, sel)?;
        if seg == SS || self.is8086() {
            self.set_shadow();
        }
        Ok(())
    }

    // ----- operand-form helpers (specialised per operand size) -----------------------------

    #[inline(always)]
    fn alu_ev_gv<B: Bus>(&mut self, bus: &mut B, op: u8, bits: u32) -> R<()> {
        let m = self.modrm(bus)?;
        let a = self.get_rmv(bus, &m, bits)?;
        let b = self.rv(m.reg, bits);
        let r = self.alu((op >> 3) as usize, a, b, bits);
        if op & 0x38 != 0x38 {
            self.set_rmv(bus, &m, bits, r)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn alu_gv_ev<B: Bus>(&mut self, bus: &mut B, op: u8, bits: u32) -> R<()> {
        let m = self.modrm(bus)?;
        let b = self.get_rmv(bus, &m, bits)?;
        let a = self.rv(m.reg, bits);
        let r = self.alu((op >> 3) as usize, a, b, bits);
        if op & 0x38 != 0x38 {
            self.set_rv(m.reg, bits, r);
        }
        Ok(())
    }

    #[inline(always)]
    fn alu_acc_imm<B: Bus>(&mut self, bus: &mut B, op: u8, bits: u32) -> R<()> {
        let b = if bits == 32 {
            self.fetch32(bus)?
        } else {
            u32::from(self.fetch16(bus)?)
        };
        let a = self.rv(AX, bits);
        let r = self.alu((op >> 3) as usize, a, b, bits);
        if op & 0x38 != 0x38 {
            self.set_rv(AX, bits, r);
        }
        Ok(())
    }

    /// Group 1 (80h-83h): `imm_bytes` 1 = sign-extended byte, else full size.
    #[inline(always)]
    fn group1_v<B: Bus>(&mut self, bus: &mut B, sext_imm8: bool, bits: u32) -> R<()> {
        let m = self.modrm(bus)?;
        let b = if sext_imm8 {
            self.fetch_simm8(bus)? & super::alu::width_mask(bits)
        } else if bits == 32 {
            self.fetch32(bus)?
        } else {
            u32::from(self.fetch16(bus)?)
        };
        let a = self.get_rmv(bus, &m, bits)?;
        let r = self.alu(m.reg, a, b, bits);
        if m.reg != 7 {
            self.set_rmv(bus, &m, bits, r)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn mov_ev_gv<B: Bus>(&mut self, bus: &mut B, bits: u32) -> R<()> {
        let m = self.modrm(bus)?;
        let v = self.rv(m.reg, bits);
        self.set_rmv(bus, &m, bits, v)
    }

    #[inline(always)]
    fn mov_gv_ev<B: Bus>(&mut self, bus: &mut B, bits: u32) -> R<()> {
        let m = self.modrm(bus)?;
        let v = self.get_rmv(bus, &m, bits)?;
        self.set_rv(m.reg, bits, v);
        Ok(())
    }

    #[inline(always)]
    fn incdec_reg(&mut self, op: u8, bits: u32) {
        let r = (op & 7) as usize;
        let v = self.rv(r, bits);
        let v = if op < 0x48 {
            self.inc(v, bits)
        } else {
            self.dec(v, bits)
        };
        self.set_rv(r, bits, v);
    }

    /// Shift group (C0h/C1h/D0h-D3h) on a "v" operand; `count` None = fetch imm8.
    fn shift_group_v<B: Bus>(&mut self, bus: &mut B, count: Option<u32>, bits: u32) -> R<()> {
        let m = self.modrm(bus)?;
        let count = match count {
            Some(c) => c,
            None => u32::from(self.fetch8(bus)?),
        };
        let v = self.get_rmv(bus, &m, bits)?;
        let r = self.shift(m.reg, v, count, bits);
        self.set_rmv(bus, &m, bits, r)
    }

    fn shift_group_b<B: Bus>(&mut self, bus: &mut B, count: Option<u32>) -> R<()> {
        let m = self.modrm(bus)?;
        let count = match count {
            Some(c) => c,
            None => u32::from(self.fetch8(bus)?),
        };
        let v = u32::from(self.get_rm8(bus, &m)?);
        let r = self.shift(m.reg, v, count, 8);
        self.set_rm8(bus, &m, r as u8)
    }

    /// Group 3 (F6h/F7h): TEST, NOT, NEG, MUL, IMUL, DIV, IDIV.
    fn group3<B: Bus>(&mut self, bus: &mut B, bits: u32) -> R<()> {
        let m = self.modrm(bus)?;
        let v = if bits == 8 {
            u32::from(self.get_rm8(bus, &m)?)
        } else {
            self.get_rmv(bus, &m, bits)?
        };
        match m.reg {
            0 | 1 => {
                // TEST (reg 1 is an undocumented alias on every model).
                let imm = match bits {
                    8 => u32::from(self.fetch8(bus)?),
                    16 => u32::from(self.fetch16(bus)?),
                    _ => self.fetch32(bus)?,
                };
                self.flags.set_logic(v & imm, bits);
                Ok(())
            }
            2 => self.write_sized(bus, &m, bits, !v & super::alu::width_mask(bits)),
            3 => {
                let r = self.neg(v, bits);
                self.write_sized(bus, &m, bits, r)
            }
            4 => {
                self.mul_acc(v, bits, false);
                Ok(())
            }
            5 => {
                self.mul_acc(v, bits, true);
                Ok(())
            }
            6 => self.div_acc(v, bits, false),
            _ => self.div_acc(v, bits, true),
        }
    }

    #[inline(always)]
    fn write_sized<B: Bus>(&mut self, bus: &mut B, m: &ModRm, bits: u32, v: u32) -> R<()> {
        if bits == 8 {
            self.set_rm8(bus, m, v as u8)
        } else {
            self.set_rmv(bus, m, bits, v)
        }
    }

    /// IN from `port`, of the width `size`, into AL/AX/EAX.
    fn port_in<B: Bus>(&mut self, bus: &mut B, port: u16, size: IoSize) -> R<()> {
        self.check_io(bus, port, Self::io_bytes(size))?;
        bus.sync_io_clock(self.ticks_into_run());
        let v = bus.io_read(port, size);
        // A port access can change the memory map (A20 gate, EMS registers).
        self.invalidate_code_window();
        match size {
            IoSize::Byte => self.set_r8(0, v as u8),
            IoSize::Word => self.set_r16(AX, v as u16),
            IoSize::Dword => self.regs[AX] = v,
        }
        if bus.yield_requested() {
            self.stop(Exit::IoYield);
        }
        Ok(())
    }

    /// Bytes of an access of `size`.
    pub(crate) fn io_bytes(size: IoSize) -> u32 {
        match size {
            IoSize::Byte => 1,
            IoSize::Word => 2,
            IoSize::Dword => 4,
        }
    }

    fn port_out<B: Bus>(&mut self, bus: &mut B, port: u16, size: IoSize) -> R<()> {
        self.check_io(bus, port, Self::io_bytes(size))?;
        let v = match size {
            IoSize::Byte => self.regs[AX] & 0xFF,
            IoSize::Word => self.regs[AX] & 0xFFFF,
            IoSize::Dword => self.regs[AX],
        };
        bus.sync_io_clock(self.ticks_into_run());
        bus.io_write(port, size, v);
        self.invalidate_code_window();
        if bus.yield_requested() {
            self.stop(Exit::IoYield);
        }
        Ok(())
    }

    #[inline(always)]
    fn vsize(&self) -> IoSize {
        if self.d.o32 {
            IoSize::Dword
        } else {
            IoSize::Word
        }
    }

    /// The coprocessor-present checks of ESC and WAIT (80286 PRM 10.4): ESC faults with #NM
    /// when CR0.EM or CR0.TS is set; WAIT when CR0.MP and CR0.TS are both set.
    fn fpu_check(&self, wait: bool) -> R<()> {
        if self.is8086() {
            return Ok(());
        }
        let (mp, em, ts) = (self.cr0 & 2 != 0, self.cr0 & 4 != 0, self.cr0 & 8 != 0);
        let fault = if wait { mp && ts } else { em || ts };
        if fault { Err(NO_COPROCESSOR) } else { Ok(()) }
    }

    // ----- the map -----------------------------------------------------------------------
    //
    // Arms list opcodes as literals, never as ranges: rustc lowers range patterns to
    // comparison chains, while literal alternatives become one jump table.

    #[inline(always)]
    fn exec_op<B: Bus>(&mut self, bus: &mut B, op: u8) -> R<()> {
        match op {
            // Prefixes.
            0x26 | 0x2E | 0x36 | 0x3E => {
                self.d.seg = (op >> 3) & 3;
                return self.after_prefix(bus);
            }
            0xF2 | 0xF3 => {
                self.d.rep = op;
                return self.after_prefix(bus);
            }
            0xF0 => {
                self.d.lock = true;
                return self.after_prefix(bus);
            }
            0xF1 => {
                if self.is386() {
                    return self.icebp(bus);
                }
                // F1h is a LOCK alias on the 8086 and 80286.
                self.d.lock = true;
                return self.after_prefix(bus);
            }
            // 64h-67h: 80386 prefixes; Jcc aliases on the 8086; #UD on the 80286.
            0x64..=0x67 => match self.model {
                Model::I80386 => {
                    match op {
                        0x64 | 0x65 => self.d.seg = op - 0x60,
                        0x66 => self.d.o32 = !self.segs[CS].big,
                        _ => self.d.a32 = !self.segs[CS].big,
                    }
                    return self.after_prefix(bus);
                }
                Model::I8086 => return self.jcc8(bus, op),
                Model::I80286 => return Err(INVALID_OPCODE),
            },

            // ALU r/m, reg and reg, r/m; accumulator, immediate.
            0x00 | 0x08 | 0x10 | 0x18 | 0x20 | 0x28 | 0x30 | 0x38 => {
                let m = self.modrm(bus)?;
                let a = u32::from(self.get_rm8(bus, &m)?);
                let b = u32::from(self.r8(m.reg));
                let r = self.alu((op >> 3) as usize, a, b, 8);
                if op != 0x38 {
                    self.set_rm8(bus, &m, r as u8)?;
                }
            }
            0x01 | 0x09 | 0x11 | 0x19 | 0x21 | 0x29 | 0x31 | 0x39 => {
                by_size!(self, alu_ev_gv(bus, op))?
            }
            0x02 | 0x0A | 0x12 | 0x1A | 0x22 | 0x2A | 0x32 | 0x3A => {
                let m = self.modrm(bus)?;
                let b = u32::from(self.get_rm8(bus, &m)?);
                let a = u32::from(self.r8(m.reg));
                let r = self.alu((op >> 3) as usize, a, b, 8);
                if op != 0x3A {
                    self.set_r8(m.reg, r as u8);
                }
            }
            0x03 | 0x0B | 0x13 | 0x1B | 0x23 | 0x2B | 0x33 | 0x3B => {
                by_size!(self, alu_gv_ev(bus, op))?
            }
            0x04 | 0x0C | 0x14 | 0x1C | 0x24 | 0x2C | 0x34 | 0x3C => {
                let b = u32::from(self.fetch8(bus)?);
                let a = self.regs[AX] & 0xFF;
                let r = self.alu((op >> 3) as usize, a, b, 8);
                if op != 0x3C {
                    self.set_r8(0, r as u8);
                }
            }
            0x05 | 0x0D | 0x15 | 0x1D | 0x25 | 0x2D | 0x35 | 0x3D => {
                by_size!(self, alu_acc_imm(bus, op))?
            }

            // PUSH/POP segment registers.
            0x06 | 0x0E | 0x16 | 0x1E => {
                let v = u32::from(self.segs[(op >> 3) as usize].selector);
                let bits = self.vbits();
                self.pushv(bus, bits, v)?;
            }
            0x07 | 0x17 | 0x1F => {
                // The segment loads before SP moves, so a faulting load leaves SP.
                let bits = self.vbits();
                let v = self.peek_stack(bus, 0, bits)?;
                let sp = self.sp_after_pop(bits / 8);
                self.load_sreg_insn(bus, (op >> 3) as usize, v as u16)?;
                self.regs[SP] = sp;
            }
            0x0F => {
                if self.is8086() {
                    // POP CS (8086 only).
                    let v = self.pop16(bus)?;
                    self.load_sreg_insn(bus, CS, v)?;
                } else {
                    self.exec_0f(bus)?;
                }
            }

            0x27 => self.daa_das(false),
            0x2F => self.daa_das(true),
            0x37 => self.aaa_aas(false),
            0x3F => self.aaa_aas(true),

            0x40..=0x4F => by_size!(self, incdec_reg(op)),
            0x50..=0x57 => {
                let r = (op & 7) as usize;
                if self.is8086() && r == SP {
                    // The 8086 pushes SP after decrementing it.
                    let v = self.r16(SP).wrapping_sub(2);
                    self.push16(bus, v)?;
                } else {
                    let bits = self.vbits();
                    let v = self.rv(r, bits);
                    self.pushv(bus, bits, v)?;
                }
            }
            0x58..=0x5F => {
                let bits = self.vbits();
                let v = self.popv(bus, bits)?;
                self.set_rv((op & 7) as usize, bits, v);
            }

            // 60h-63h and 68h-6Fh: 80186/80286 additions; the 8086 decodes them as 70h-7Fh.
            0x60..=0x63 => {
                if self.is8086() {
                    return self.jcc8(bus, op);
                }
                match op {
                    0x60 => self.pusha(bus)?,
                    0x61 => self.popa(bus)?,
                    0x62 => self.bound(bus)?,
                    _ => self.arpl(bus)?, // protected mode only
                }
            }
            0x68 | 0x6A => {
                if self.is8086() {
                    return self.jcc8(bus, op);
                }
                let v = if op == 0x68 {
                    self.fetch_imm_v(bus)?
                } else {
                    self.fetch_simm8(bus)?
                };
                let bits = self.vbits();
                self.pushv(bus, bits, v)?;
            }
            0x69 | 0x6B => {
                if self.is8086() {
                    return self.jcc8(bus, op);
                }
                let bits = self.vbits();
                let m = self.modrm(bus)?;
                let imm = if op == 0x6B {
                    self.fetch_simm8(bus)?
                } else {
                    self.fetch_imm_v(bus)?
                };
                let a = self.get_rmv(bus, &m, bits)?;
                let r = self.imul_trunc(a, imm, bits);
                self.set_rv(m.reg, bits, r);
            }
            0x6C..=0x6F => {
                if self.is8086() {
                    return self.jcc8(bus, op);
                }
                self.string_op(bus, op)?
            }

            0x70..=0x7F => return self.jcc8(bus, op),

            0x80 | 0x82 => {
                let m = self.modrm(bus)?;
                let b = u32::from(self.fetch8(bus)?);
                let a = u32::from(self.get_rm8(bus, &m)?);
                let r = self.alu(m.reg, a, b, 8);
                if m.reg != 7 {
                    self.set_rm8(bus, &m, r as u8)?;
                }
            }
            0x81 => by_size!(self, group1_v(bus, false))?,
            0x83 => by_size!(self, group1_v(bus, true))?,
            0x84 => {
                let m = self.modrm(bus)?;
                let a = self.get_rm8(bus, &m)?;
                let b = self.r8(m.reg);
                self.flags.set_logic(u32::from(a & b), 8);
            }
            0x85 => {
                let bits = self.vbits();
                let m = self.modrm(bus)?;
                let a = self.get_rmv(bus, &m, bits)?;
                let b = self.rv(m.reg, bits);
                self.flags.set_logic(a & b, bits);
            }
            0x86 => {
                let m = self.modrm(bus)?;
                let a = self.get_rm8(bus, &m)?;
                let b = self.r8(m.reg);
                self.set_rm8(bus, &m, b)?;
                self.set_r8(m.reg, a);
            }
            0x87 => {
                let bits = self.vbits();
                let m = self.modrm(bus)?;
                let a = self.get_rmv(bus, &m, bits)?;
                let b = self.rv(m.reg, bits);
                self.set_rmv(bus, &m, bits, b)?;
                self.set_rv(m.reg, bits, a);
            }
            0x88 => {
                let m = self.modrm(bus)?;
                let v = self.r8(m.reg);
                self.set_rm8(bus, &m, v)?;
            }
            0x89 => by_size!(self, mov_ev_gv(bus))?,
            0x8A => {
                let m = self.modrm(bus)?;
                let v = self.get_rm8(bus, &m)?;
                self.set_r8(m.reg, v);
            }
            0x8B => by_size!(self, mov_gv_ev(bus))?,
            0x8C => {
                let m = self.modrm(bus)?;
                let seg = self.sreg_field(m.reg)?;
                let v = u32::from(self.segs[seg].selector);
                if m.mem {
                    self.wr16(bus, m.seg, m.off, v as u16)?;
                } else {
                    let bits = self.vbits();
                    self.set_rv(m.rm, bits, v);
                }
            }
            0x8D => {
                let m = self.modrm(bus)?;
                if !m.mem {
                    if !self.is8086() {
                        return Err(INVALID_OPCODE);
                    }
                    // 8086 LEA with a register operand is undefined; vexed leaves it a no-op.
                } else {
                    let bits = self.vbits();
                    self.set_rv(m.reg, bits, m.off);
                }
            }
            0x8E => {
                let m = self.modrm(bus)?;
                let seg = self.sreg_field(m.reg)?;
                if seg == CS && !self.is8086() {
                    return Err(INVALID_OPCODE);
                }
                let v = if m.mem {
                    self.rd16(bus, m.seg, m.off)?
                } else {
                    self.r16(m.rm)
                };
                self.load_sreg_insn(bus, seg, v)?;
            }
            0x8F => {
                let m = self.modrm(bus)?;
                if m.reg != 0 && !self.is8086() {
                    return Err(INVALID_OPCODE);
                }
                let bits = self.vbits();
                if self.model == Model::I80286 && m.mem {
                    // The 80286 has moved SP when the write of the popped word faults: the
                    // fault's frame is pushed below the incremented SP.
                    let v = self.pop16(bus)?;
                    self.wr16(bus, m.seg, m.off, v)?;
                } else {
                    self.stack_transaction(bus, |cpu, bus| {
                        let v = cpu.popv(bus, bits)?;
                        cpu.set_rmv(bus, &m, bits, v)
                    })?;
                }
            }

            0x90 => {}
            0x91..=0x97 => {
                let bits = self.vbits();
                let r = (op & 7) as usize;
                let a = self.rv(AX, bits);
                let b = self.rv(r, bits);
                self.set_rv(AX, bits, b);
                self.set_rv(r, bits, a);
            }
            0x98 => self.op_cbw(self.d.o32),
            0x99 => self.op_cwd(self.d.o32),
            0x9A => {
                let off = self.fetch_imm_v(bus)?;
                let sel = self.fetch16(bus)?;
                self.call_far(bus, sel, off)?;
            }
            0x9B => self.fpu_check(true)?,
            0x9C => {
                if self.v86() && self.protected() && self.iopl() < 3 {
                    return Err(GENERAL_PROTECTION);
                }
                let f = self.flags.bits();
                if self.d.o32 {
                    self.push32(bus, f & !(RF | VM))?;
                } else {
                    self.push16(bus, f as u16)?;
                }
            }
            0x9D => {
                let bits = self.vbits();
                let mask = if self.protected() {
                    if self.v86() && self.iopl() < 3 {
                        return Err(GENERAL_PROTECTION);
                    }
                    // In virtual-8086 mode POPF leaves IOPL (80386 PRM 15.2.3).
                    self.popf_mask(bits) & if self.v86() { !super::flags::IOPL } else { !0 }
                } else if bits == 32 {
                    0xFFFF_FFFF
                } else {
                    0xFFFF
                };
                let v = self.popv(bus, bits)?;
                self.write_flags(v, mask);
            }
            0x9E => self.op_sahf(),
            0x9F => self.op_lahf(),

            0xA0..=0xA3 => {
                let off = if self.d.a32 {
                    self.fetch32(bus)?
                } else {
                    u32::from(self.fetch16(bus)?)
                };
                let seg = self.seg_or(DS);
                let bits = self.vbits();
                match op {
                    0xA0 => {
                        let v = self.rd8(bus, seg, off)?;
                        self.set_r8(0, v);
                    }
                    0xA1 => {
                        let v = self.rdv(bus, seg, off, bits)?;
                        self.set_rv(AX, bits, v);
                    }
                    0xA2 => {
                        let v = self.regs[AX] as u8;
                        self.wr8(bus, seg, off, v)?;
                    }
                    _ => {
                        let v = self.rv(AX, bits);
                        self.wrv(bus, seg, off, bits, v)?;
                    }
                }
            }
            0xA4 | 0xA5 | 0xA6 | 0xA7 | 0xAA | 0xAB | 0xAC | 0xAD | 0xAE | 0xAF => {
                self.string_op(bus, op)?
            }
            0xA8 => {
                let b = self.fetch8(bus)?;
                self.flags.set_logic(u32::from(self.regs[AX] as u8 & b), 8);
            }
            0xA9 => {
                let bits = self.vbits();
                let b = self.fetch_imm_v(bus)?;
                let a = self.rv(AX, bits);
                self.flags.set_logic(a & b, bits);
            }
            0xB0..=0xB7 => {
                let v = self.fetch8(bus)?;
                self.set_r8((op & 7) as usize, v);
            }
            0xB8..=0xBF => {
                let bits = self.vbits();
                let v = self.fetch_imm_v(bus)?;
                self.set_rv((op & 7) as usize, bits, v);
            }

            // C0h/C1h are RET imm16/RET on the 8086.
            0xC0 => {
                if self.is8086() {
                    let n = u32::from(self.fetch16(bus)?);
                    self.ret_near(bus, n, 16)?;
                } else {
                    self.shift_group_b(bus, None)?;
                }
            }
            0xC1 => {
                if self.is8086() {
                    self.ret_near(bus, 0, 16)?;
                } else {
                    by_size!(self, shift_group_v(bus, None))?;
                }
            }
            0xC2 => {
                let n = u32::from(self.fetch16(bus)?);
                let bits = self.vbits();
                self.ret_near(bus, n, bits)?;
            }
            0xC3 => {
                let bits = self.vbits();
                self.ret_near(bus, 0, bits)?
            }
            0xC4 | 0xC5 => {
                let m = self.modrm(bus)?;
                if !m.mem {
                    if !self.is8086() {
                        return Err(INVALID_OPCODE);
                    }
                    // 8086 LES/LDS with a register operand is undefined; left a no-op.
                } else {
                    let bits = self.vbits();
                    let (off, sel) = self.read_far_ptr(bus, &m, bits)?;
                    self.load_sreg_insn(bus, if op == 0xC4 { ES } else { DS }, sel)?;
                    self.set_rv(m.reg, bits, off);
                }
            }
            0xC6 => {
                let m = self.modrm(bus)?;
                if m.reg != 0 && !self.is8086() {
                    return Err(INVALID_OPCODE);
                }
                let v = self.fetch8(bus)?;
                self.set_rm8(bus, &m, v)?;
            }
            0xC7 => {
                let m = self.modrm(bus)?;
                if m.reg != 0 && !self.is8086() {
                    return Err(INVALID_OPCODE);
                }
                let bits = self.vbits();
                let v = self.fetch_imm_v(bus)?;
                self.set_rmv(bus, &m, bits, v)?;
            }
            // C8h/C9h are RETF imm16/RETF on the 8086.
            0xC8 => {
                if self.is8086() {
                    let n = u32::from(self.fetch16(bus)?);
                    self.ret_far(bus, n)?;
                } else {
                    self.enter(bus)?;
                }
            }
            0xC9 => {
                if self.is8086() {
                    self.ret_far(bus, 0)?;
                } else {
                    self.leave(bus)?;
                }
            }
            0xCA => {
                let n = u32::from(self.fetch16(bus)?);
                self.ret_far(bus, n)?;
            }
            0xCB => self.ret_far(bus, 0)?,
            0xCC => self.software_interrupt(bus, 3, false)?,
            0xCD => {
                let v = self.fetch8(bus)?;
                self.software_interrupt(bus, v, true)?;
            }
            0xCE => {
                if self.flags.of() {
                    self.software_interrupt(bus, 4, false)?;
                }
            }
            0xCF => self.iret(bus)?,

            0xD0 => self.shift_group_b(bus, Some(1))?,
            0xD1 => by_size!(self, shift_group_v(bus, Some(1)))?,
            0xD2 => {
                let c = self.regs[CX] & 0xFF;
                self.shift_group_b(bus, Some(c))?
            }
            0xD3 => {
                let c = self.regs[CX] & 0xFF;
                by_size!(self, shift_group_v(bus, Some(c)))?
            }
            0xD4 => {
                let b = self.fetch8(bus)?;
                self.aam(b)?;
            }
            0xD5 => {
                let b = self.fetch8(bus)?;
                self.aad(b);
            }
            0xD6 => self.op_salc(),
            0xD7 => {
                let seg = self.seg_or(DS);
                let a32 = self.d.a32;
                self.op_xlat(bus, seg, a32)?;
            }
            0xD8..=0xDF => {
                // ESC: no coprocessor is attached. The 8086 still reads the memory operand
                // (the bus cycle the 8087 would have watched).
                let m = self.modrm(bus)?;
                self.fpu_check(false)?;
                if self.is8086() && m.mem {
                    self.rd8(bus, m.seg, m.off)?;
                }
            }

            0xE0..=0xE3 => {
                let d = self.fetch_simm8(bus)?;
                let ecx = self.d.a32;
                if self.loop_taken(op - 0xE0, ecx) {
                    self.jump_rel(d)?;
                }
            }

            0xE4 => {
                let p = u16::from(self.fetch8(bus)?);
                self.port_in(bus, p, IoSize::Byte)?;
            }
            0xE5 => {
                let p = u16::from(self.fetch8(bus)?);
                let size = self.vsize();
                self.port_in(bus, p, size)?;
            }
            0xE6 => {
                let p = u16::from(self.fetch8(bus)?);
                self.port_out(bus, p, IoSize::Byte)?;
            }
            0xE7 => {
                let p = u16::from(self.fetch8(bus)?);
                let size = self.vsize();
                self.port_out(bus, p, size)?;
            }
            0xE8 => {
                let d = self.fetch_imm_v(bus)?;
                let bits = self.vbits();
                let ret = self.next_ip();
                self.call_near(bus, ret, ret.wrapping_add(d), bits)?;
            }
            0xE9 => {
                let d = self.fetch_imm_v(bus)?;
                self.jump_rel(d)?;
            }
            0xEA => {
                let off = self.fetch_imm_v(bus)?;
                let sel = self.fetch16(bus)?;
                self.jump_far(bus, sel, off)?;
            }
            0xEB => {
                let d = self.fetch_simm8(bus)?;
                self.jump_rel(d)?;
            }
            0xEC => {
                let p = self.r16(DX);
                self.port_in(bus, p, IoSize::Byte)?;
            }
            0xED => {
                let p = self.r16(DX);
                let size = self.vsize();
                self.port_in(bus, p, size)?;
            }
            0xEE => {
                let p = self.r16(DX);
                self.port_out(bus, p, IoSize::Byte)?;
            }
            0xEF => {
                let p = self.r16(DX);
                let size = self.vsize();
                self.port_out(bus, p, size)?;
            }

            0xF4 => {
                self.require_cpl0()?;
                self.halted = true;
                self.stop(Exit::Halted);
            }
            0xF5 => {
                let c = !self.flags.cf();
                self.flags.set_cf(c);
            }
            0xF6 => self.group3(bus, 8)?,
            0xF7 => {
                let bits = self.vbits();
                self.group3(bus, bits)?
            }
            0xF8 => self.flags.set_cf(false),
            0xF9 => self.flags.set_cf(true),
            0xFA => {
                self.check_iopl()?;
                self.flags.set_if(false)
            }
            0xFB => {
                self.check_iopl()?;
                // STI: interrupts are recognised only after the next instruction.
                if self.flags.other() & IF == 0 {
                    self.set_shadow();
                }
                self.flags.set_if(true);
            }
            0xFC => self.flags.set_df(false),
            0xFD => self.flags.set_df(true),
            0xFE => {
                if !self.traps.is_empty() && self.d.prefixes == 0 {
                    let modrm = self.eip;
                    if self.fetch8(bus)? == TRAP_OPCODE[1]
                        && let Some(service) = self.emulator_trap(bus)?
                    {
                        self.stop(Exit::Trap(service));
                        return Ok(());
                    }
                    // Not the trap: decode the ModR/M byte again.
                    self.eip = modrm;
                }
                let m = self.modrm(bus)?;
                match m.reg {
                    0 | 1 => {
                        let v = u32::from(self.get_rm8(bus, &m)?);
                        let r = if m.reg == 0 {
                            self.inc(v, 8)
                        } else {
                            self.dec(v, 8)
                        };
                        self.set_rm8(bus, &m, r as u8)?;
                    }
                    _ if self.is8086() => {
                        // Undefined on the 8086 (no vectors); vexed executes the FF form.
                        self.group5(bus, m, 16)?;
                    }
                    _ => return Err(INVALID_OPCODE),
                }
            }
            0xFF => {
                let m = self.modrm(bus)?;
                let bits = self.vbits();
                self.group5(bus, m, bits)?;
            } // Every byte is handled above; kept for the compiler.
        }
        Ok(())
    }

    /// After an unprefixed `FE 38`: whether it is the emulator trap at one of the firmware's
    /// stubs ([`super::TrapSites`]), and its service number. Otherwise the caller decodes
    /// the bytes as the processor does (FE /7 is #UD on the 80286 and 80386). The service
    /// word is fetched only at a stub's address, so `FE 38` near the end of CS faults as
    /// the real two-byte instruction does. Runs only when `FE 38` is executed.
    #[cold]
    #[inline(never)]
    fn emulator_trap<B: Bus>(&mut self, bus: &mut B) -> R<Option<u16>> {
        // Real-mode services see segment:offset addresses: their traps exist in real mode
        // and in virtual-8086 mode (with or without paging; the firmware's accesses then go
        // through the page tables). Protected-mode services (the DPMI host's) exist in
        // protected mode only. Elsewhere the bytes are #UD.
        let at = self.d.start_eip;
        let lin = self.segs[CS].base.wrapping_add(at);
        let phys = self.code_address(bus, lin)? & bus.memory_ref().address_mask();
        let Some(service) = self.traps.service_at(phys) else {
            return Ok(None);
        };
        let protected_service = service & super::PM_SERVICE != 0;
        if protected_service != (self.protected() && !self.v86()) {
            return Ok(None);
        }
        Ok((self.fetch16(bus)? == service).then_some(service))
    }

    /// Decodes the Sreg field of 8Ch/8Eh: the 8086 ignores bit 2; the 80286 has four
    /// segment registers and the 80386 six, anything else is #UD.
    #[inline(always)]
    fn sreg_field(&self, reg: usize) -> R<usize> {
        match self.model {
            Model::I8086 => Ok(reg & 3),
            Model::I80286 if reg < 4 => Ok(reg),
            Model::I80386 if reg < 6 => Ok(reg),
            _ => Err(INVALID_OPCODE),
        }
    }

    /// Group 5 (FFh): INC, DEC, CALL, CALL far, JMP, JMP far, PUSH (reg 7 is PUSH on the
    /// 8086 and #UD later).
    fn group5<B: Bus>(&mut self, bus: &mut B, m: ModRm, bits: u32) -> R<()> {
        match m.reg {
            0 | 1 => {
                let v = self.get_rmv(bus, &m, bits)?;
                let r = if m.reg == 0 {
                    self.inc(v, bits)
                } else {
                    self.dec(v, bits)
                };
                self.set_rmv(bus, &m, bits, r)
            }
            2 => {
                let target = self.get_rmv(bus, &m, bits)?;
                let ret = self.next_ip();
                self.call_near(bus, ret, target, bits)
            }
            3 | 5 => {
                if !m.mem {
                    if self.is8086() {
                        // Undefined on the 8086 (no vectors); vexed leaves it a no-op.
                        return Ok(());
                    }
                    return Err(INVALID_OPCODE);
                }
                let (off, sel) = self.read_far_ptr(bus, &m, bits)?;
                if m.reg == 3 {
                    self.call_far(bus, sel, off)
                } else {
                    self.jump_far(bus, sel, off)
                }
            }
            4 => {
                let target = self.get_rmv(bus, &m, bits)?;
                self.jump_near(target)
            }
            // PUSH r/m (reg 7 is an alias on the 8086). As with 54h, the 8086 pushes SP
            // after decrementing it when SP itself is the operand.
            6 | 7 if m.reg == 6 || self.is8086() => {
                let v = if self.is8086() && !m.mem && m.rm == SP {
                    u32::from(self.r16(SP).wrapping_sub(2))
                } else {
                    self.get_rmv(bus, &m, bits)?
                };
                self.pushv(bus, bits, v)
            }
            _ => Err(INVALID_OPCODE),
        }
    }

    /// PUSHA/PUSHAD: AX CX DX BX, the original SP, BP SI DI.
    fn pusha<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        let bits = self.vbits();
        let regs = self.regs;
        self.stack_transaction(bus, |cpu, bus| {
            for (i, &r) in regs.iter().enumerate() {
                let v = if i == SP { regs[SP] } else { r };
                cpu.pushv(bus, bits, if bits == 32 { v } else { v & 0xFFFF })?;
            }
            Ok(())
        })
    }

    /// POPA/POPAD: the reverse, discarding the saved SP. Reads everything before changing
    /// any register.
    fn popa<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        let bits = self.vbits();
        let step = bits / 8;
        let mut vals = [0u32; 8];
        for (k, v) in vals.iter_mut().enumerate() {
            *v = self.peek_stack(bus, k as u32 * step, bits)?;
        }
        for (k, &v) in vals.iter().enumerate() {
            let r = 7 - k;
            if r != SP {
                self.set_rv(r, bits, v);
            }
        }
        self.adjust_sp(8 * step);
        Ok(())
    }

    /// BOUND: #BR (interrupt 5) unless lower <= index <= upper (signed).
    fn bound<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        let bits = self.vbits();
        let m = self.modrm(bus)?;
        if !m.mem {
            return Err(INVALID_OPCODE);
        }
        let lo = self.rdv(bus, m.seg, m.off, bits)?;
        let hi_off = self.wrap_off(m.off, bits / 8);
        let hi = self.rdv(bus, m.seg, hi_off, bits)?;
        let s = |v: u32| super::flags::sext(v, bits) as i32;
        let idx = s(self.rv(m.reg, bits));
        if idx < s(lo) || idx > s(hi) {
            return Err(BOUND_RANGE);
        }
        Ok(())
    }

    /// ENTER imm16, imm8 (80386 PRM, ENTER).
    fn enter<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        let size = u32::from(self.fetch16(bus)?);
        let level = u32::from(self.fetch8(bus)?) & 31;
        let bits = self.vbits();
        let step = bits / 8;
        let big = self.segs[SS].big;
        let bp_mask = if big { 0xFFFF_FFFF } else { 0xFFFF };
        let old_bp = self.regs[BP];
        self.stack_transaction(bus, |cpu, bus| {
            cpu.pushv(bus, bits, cpu.rv(BP, bits))?;
            // FrameTemp is the whole ESP (a 32-bit ENTER on a 16-bit stack pushes it all).
            let frame = cpu.regs[SP];
            let mut bp = old_bp & bp_mask;
            if level > 0 {
                for _ in 1..level {
                    bp = bp.wrapping_sub(step) & bp_mask;
                    let v = cpu.rdv(bus, SS, bp, bits)?;
                    cpu.pushv(bus, bits, v)?;
                }
                cpu.pushv(bus, bits, frame)?;
            }
            let sp = (cpu.regs[SP] & bp_mask).wrapping_sub(size) & bp_mask;
            // 80386 PRM ENTER: "IF StackAddrSize = 16 THEN BP ← FrameTemp ELSE EBP ← FrameTemp".
            // In protected mode ENTER ends by checking that the new top of stack can be
            // written (segment and page level) without writing it, as Bochs models and
            // test386.asm expects (POST 1Ah, the page-fault case).
            if cpu.protected() {
                cpu.probe_write(bus, SS, sp, bits / 8)?;
            }
            cpu.set_rv(BP, if big { 32 } else { 16 }, frame);
            cpu.set_sp(sp);
            Ok(())
        })
        .inspect_err(|_| self.regs[BP] = old_bp)
    }

    /// LEAVE: SP = BP, then pop BP. The pop is read first so a fault changes nothing.
    fn leave<B: Bus>(&mut self, bus: &mut B) -> R<()> {
        let bits = self.vbits();
        let big = self.segs[SS].big;
        let bp = if big {
            self.regs[BP]
        } else {
            self.regs[BP] & 0xFFFF
        };
        let v = self.rdv(bus, SS, bp, bits)?;
        self.set_sp(bp.wrapping_add(bits / 8));
        self.set_rv(BP, bits, v);
        Ok(())
    }
}
