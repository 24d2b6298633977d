//! Translation of instruction bytes into blocks of [`Op`]s.
//!
//! Only the common instructions get a fast handler; for anything else (string instructions,
//! REP and LOCK prefixes, multiply and divide, far transfers, interrupts, I/O, flag loads,
//! loads of SS and CS, and every encoding whose meaning depends on the model in a way the
//! fast handlers do not model) translation stops and the block gets a *slow tail*: the full
//! interpreter executes that instruction from memory. Decoding rules are those of
//! `decode.rs` (80386 PRM tables 17-2 to 17-4); what may be fast on which model is decided
//! here.

use super::{
    COUNT_ECX, EA_32, EA_BASE, EA_INDEX, EA_SCALE_SHIFT, EaForm, Kind, MAX_OPS, NO_OPS, Op, Slot,
};
use crate::bus::Bus;
use crate::cpu::regs::{BP, BX, CS, DI, DS, SI, SP, SS};
use crate::cpu::{Cpu, Model, NO_SEG};

/// Bytes of one instruction, read from the block's page.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn u8(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    fn u16(&mut self) -> Option<u32> {
        Some(u32::from(self.u8()?) | (u32::from(self.u8()?) << 8))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(self.u16()? | (self.u16()? << 16))
    }
    /// A sign-extended byte.
    fn s8(&mut self) -> Option<u32> {
        Some(self.u8()? as i8 as i32 as u32)
    }
    /// An immediate of `w` bits (8, 16 or 32).
    fn imm(&mut self, w: u8) -> Option<u32> {
        match w {
            8 => self.u8().map(u32::from),
            16 => self.u16(),
            _ => self.u32(),
        }
    }
}

/// Decoding context of one instruction.
struct Ctx {
    seg: u8,
    o32: bool,
    a32: bool,
}

impl Ctx {
    fn wv(&self) -> u8 {
        if self.o32 { 32 } else { 16 }
    }

    /// Decodes a ModR/M operand into `op` (reg, rm or the effective-address form).
    fn modrm(&self, c: &mut Cursor, op: &mut Op) -> Option<()> {
        let m = c.u8()?;
        let md = m >> 6;
        op.reg = (m >> 3) & 7;
        let rm = m & 7;
        if md == 3 {
            op.mem = false;
            op.rm = rm;
            return Some(());
        }
        op.mem = true;
        let default_seg;
        if !self.a32 {
            let (base, index, seg, ea) = match rm {
                0 => (BX, SI, DS, EA_BASE | EA_INDEX),
                1 => (BX, DI, DS, EA_BASE | EA_INDEX),
                2 => (BP, SI, SS, EA_BASE | EA_INDEX),
                3 => (BP, DI, SS, EA_BASE | EA_INDEX),
                4 => (SI, 0, DS, EA_BASE),
                5 => (DI, 0, DS, EA_BASE),
                6 if md == 0 => (0, 0, DS, 0),
                6 => (BP, 0, SS, EA_BASE),
                _ => (BX, 0, DS, EA_BASE),
            };
            op.base = base as u8;
            op.index = index as u8;
            op.ea = ea;
            default_seg = seg;
            op.disp = match (md, rm) {
                (0, 6) => c.u16()?,
                (0, _) => 0,
                (1, _) => c.s8()?,
                _ => c.u16()?,
            };
        } else {
            op.ea = EA_32;
            if rm == 4 {
                let sib = c.u8()?;
                let (scale, index, base) = (sib >> 6, (sib >> 3) & 7, sib & 7);
                if index != 4 {
                    op.index = index;
                    op.ea |= EA_INDEX | (scale << EA_SCALE_SHIFT);
                }
                if base == 5 && md == 0 {
                    op.disp = c.u32()?;
                    default_seg = DS;
                } else {
                    op.base = base;
                    op.ea |= EA_BASE;
                    default_seg = if base == 4 || base == 5 { SS } else { DS };
                }
            } else if rm == 5 && md == 0 {
                op.disp = c.u32()?;
                default_seg = DS;
            } else {
                op.base = rm;
                op.ea |= EA_BASE;
                default_seg = if rm == 5 { SS } else { DS };
            }
            match md {
                1 => op.disp = op.disp.wrapping_add(c.s8()?),
                2 => op.disp = op.disp.wrapping_add(c.u32()?),
                _ => {}
            }
        }
        op.seg = if self.seg == NO_SEG {
            default_seg as u8
        } else {
            self.seg
        };
        Some(())
    }

    /// A memory operand at a bare offset (MOV moffs, XLAT's DS:BX).
    fn moffs(&self, c: &mut Cursor, op: &mut Op) -> Option<()> {
        op.mem = true;
        op.disp = if self.a32 { c.u32()? } else { c.u16()? };
        op.ea = if self.a32 { EA_32 } else { 0 };
        op.seg = if self.seg == NO_SEG {
            DS as u8
        } else {
            self.seg
        };
        Some(())
    }
}

/// Decodes the instruction at the start of `bytes` (at offset `pos` in its block) into an op
/// ready to run: its dispatch code and unpacked effective address. Returns it with its
/// length, or `None` when it has no fast handler.
fn decode_op(model: Model, big: bool, bytes: &[u8], pos: usize) -> Option<(Op, usize)> {
    let mut c = Cursor { bytes, pos: 0 };
    let mut op = decode_one(model, big, &mut c)?;
    op.start = pos as u16;
    op.end = (pos + c.pos) as u16;
    op.code = super::fast::Code::new(super::fast::specialize(model, big, &mut op));
    op.ea_mask = if op.ea & EA_32 != 0 { u32::MAX } else { 0xFFFF };
    op.form = EaForm::of(op.ea);
    if op.form == EaForm::Disp {
        op.disp &= op.ea_mask;
    }
    op.scale = (op.ea >> EA_SCALE_SHIFT) & 3;
    Some((op, c.pos))
}

/// The ops of the straight run of instructions in `bytes` (16-bit code), as a block holds
/// them before the flag pass.
#[cfg(test)]
pub(super) fn decode_run(model: Model, bytes: &[u8]) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut pos = 0;
    while let Some((op, len)) = bytes
        .get(pos..)
        .and_then(|b| decode_op(model, false, b, pos))
    {
        ops.push(op);
        pos += len;
    }
    ops
}

/// Whether `kind` ends a block.
fn is_terminator(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Jcc | Kind::Jmp | Kind::Call | Kind::Ret | Kind::Loop | Kind::JmpRm | Kind::CallRm
    )
}

/// Decodes one instruction with a fast handler, or `None`.
fn decode_one(model: Model, big: bool, c: &mut Cursor) -> Option<Op> {
    let is386 = model == Model::I80386;
    let is8086 = model == Model::I8086;
    let mut x = Ctx {
        seg: NO_SEG,
        o32: big,
        a32: big,
    };
    let mut prefixes = 0;
    let opcode = loop {
        let b = c.u8()?;
        match b {
            0x26 | 0x2E | 0x36 | 0x3E => x.seg = (b >> 3) & 3,
            0x64 | 0x65 if is386 => x.seg = b - 0x60,
            0x66 if is386 => x.o32 = !big,
            0x67 if is386 => x.a32 = !big,
            _ => break b,
        }
        prefixes += 1;
        if prefixes > 4 {
            return None;
        }
    };
    let wv = x.wv();
    let mut op = Op {
        w: wv,
        ..Op::default()
    };
    let reg_form = |op: &mut Op, r: u8| {
        op.mem = false;
        op.rm = r;
    };
    match opcode {
        0x00..=0x3F if opcode & 7 < 6 && opcode & 0xC0 == 0 => {
            op.sub = (opcode >> 3) & 7;
            op.w = if opcode & 1 == 0 { 8 } else { wv };
            match opcode & 7 {
                0 | 1 => {
                    op.kind = Kind::AluRmReg;
                    x.modrm(c, &mut op)?;
                }
                2 | 3 => {
                    op.kind = Kind::AluRegRm;
                    x.modrm(c, &mut op)?;
                }
                _ => {
                    op.kind = Kind::AluRmImm;
                    reg_form(&mut op, 0);
                    op.imm = c.imm(op.w)?;
                }
            }
        }
        0x06 | 0x0E | 0x16 | 0x1E => {
            op.kind = Kind::PushSeg;
            op.sub = opcode >> 3;
        }
        0x07 | 0x1F if !is8086 => {
            op.kind = Kind::PopSeg;
            op.sub = opcode >> 3;
        }
        0x40..=0x4F => {
            op.kind = if opcode < 0x48 {
                Kind::IncRm
            } else {
                Kind::DecRm
            };
            reg_form(&mut op, opcode & 7);
        }
        0x50..=0x57 => {
            if is8086 && opcode == 0x54 {
                return None; // the 8086 pushes the decremented SP
            }
            op.kind = Kind::PushReg;
            op.rm = opcode & 7;
        }
        0x58..=0x5F => {
            op.kind = Kind::PopReg;
            op.rm = opcode & 7;
        }
        0x60..=0x6F if is8086 => {
            op.kind = Kind::Jcc;
            op.sub = opcode & 0xF;
            op.imm = c.s8()?;
        }
        0x68 | 0x6A => {
            op.kind = Kind::PushImm;
            op.imm = if opcode == 0x68 { c.imm(wv)? } else { c.s8()? };
        }
        0x69 | 0x6B => {
            op.kind = Kind::Imul;
            x.modrm(c, &mut op)?;
            op.imm = if opcode == 0x69 { c.imm(wv)? } else { c.s8()? };
        }
        0x70..=0x7F => {
            op.kind = Kind::Jcc;
            op.sub = opcode & 0xF;
            op.imm = c.s8()?;
        }
        0x80..=0x83 => {
            op.kind = Kind::AluRmImm;
            op.w = if opcode & 1 == 0 { 8 } else { wv };
            x.modrm(c, &mut op)?;
            op.sub = op.reg;
            op.imm = match opcode {
                0x81 => c.imm(wv)?,
                0x83 => c.s8()? & if wv == 16 { 0xFFFF } else { 0xFFFF_FFFF },
                _ => c.imm(8)?,
            };
        }
        0x84 | 0x85 => {
            op.kind = Kind::TestRmReg;
            op.w = if opcode == 0x84 { 8 } else { wv };
            x.modrm(c, &mut op)?;
        }
        0x86 | 0x87 => {
            op.kind = Kind::XchgRmReg;
            op.w = if opcode == 0x86 { 8 } else { wv };
            x.modrm(c, &mut op)?;
        }
        0x88..=0x8B => {
            op.kind = if opcode < 0x8A {
                Kind::MovRmReg
            } else {
                Kind::MovRegRm
            };
            op.w = if opcode & 1 == 0 { 8 } else { wv };
            x.modrm(c, &mut op)?;
        }
        0x8C => {
            op.kind = Kind::MovRmSeg;
            x.modrm(c, &mut op)?;
            let limit = if is386 { 6 } else { 4 };
            if op.reg >= limit {
                return None;
            }
            op.sub = op.reg;
        }
        0x8D => {
            op.kind = Kind::Lea;
            x.modrm(c, &mut op)?;
            if !op.mem {
                return None;
            }
        }
        0x8E if !is8086 => {
            // DS, ES, FS and GS only: loading SS holds off interrupts and CS is #UD.
            op.kind = Kind::MovSegRm;
            x.modrm(c, &mut op)?;
            let ok = matches!(op.reg, 0 | 3) || (is386 && matches!(op.reg, 4 | 5));
            if !ok {
                return None;
            }
            op.sub = op.reg;
        }
        0x90 => op.kind = Kind::Nop,
        0x91..=0x97 => {
            op.kind = Kind::XchgRmReg;
            op.reg = 0;
            reg_form(&mut op, opcode & 7);
        }
        0x98 => op.kind = Kind::Cbw,
        0x99 => op.kind = Kind::Cwd,
        0x9E => op.kind = Kind::Sahf,
        0x9F => op.kind = Kind::Lahf,
        0xA0..=0xA3 => {
            op.kind = if opcode < 0xA2 {
                Kind::MovRegRm
            } else {
                Kind::MovRmReg
            };
            op.w = if opcode & 1 == 0 { 8 } else { wv };
            op.reg = 0;
            x.moffs(c, &mut op)?;
        }
        0xA8 | 0xA9 => {
            op.kind = Kind::TestRmImm;
            op.w = if opcode == 0xA8 { 8 } else { wv };
            reg_form(&mut op, 0);
            op.imm = c.imm(op.w)?;
        }
        0xB0..=0xBF => {
            op.kind = Kind::MovRmImm;
            op.w = if opcode < 0xB8 { 8 } else { wv };
            reg_form(&mut op, opcode & 7);
            op.imm = c.imm(op.w)?;
        }
        0xC0 | 0xC1 if !is8086 => {
            op.kind = Kind::ShiftRmImm;
            op.w = if opcode == 0xC0 { 8 } else { wv };
            x.modrm(c, &mut op)?;
            op.sub = op.reg;
            op.imm = c.imm(8)?;
        }
        0xC2 | 0xC3 => {
            op.kind = Kind::Ret;
            op.imm = if opcode == 0xC2 { c.u16()? } else { 0 };
        }
        0xC6 | 0xC7 => {
            op.kind = Kind::MovRmImm;
            op.w = if opcode == 0xC6 { 8 } else { wv };
            x.modrm(c, &mut op)?;
            if op.reg != 0 {
                return None;
            }
            op.imm = c.imm(op.w)?;
        }
        0xD0..=0xD3 => {
            op.kind = if opcode < 0xD2 {
                Kind::ShiftRmImm
            } else {
                Kind::ShiftRmCl
            };
            op.w = if opcode & 1 == 0 { 8 } else { wv };
            x.modrm(c, &mut op)?;
            op.sub = op.reg;
            op.imm = 1;
        }
        0xD6 => op.kind = Kind::Salc,
        0xD7 => {
            op.kind = Kind::Xlat;
            op.seg = if x.seg == NO_SEG { DS as u8 } else { x.seg };
            op.ea = if x.a32 { EA_32 } else { 0 };
        }
        0xE0..=0xE3 => {
            op.kind = Kind::Loop;
            op.sub = opcode - 0xE0;
            op.imm = c.s8()?;
            op.ea = if x.a32 { COUNT_ECX } else { 0 };
        }
        0xE8 | 0xE9 => {
            op.kind = if opcode == 0xE8 {
                Kind::Call
            } else {
                Kind::Jmp
            };
            op.imm = c.imm(wv)?;
        }
        0xEB => {
            op.kind = Kind::Jmp;
            op.imm = c.s8()?;
        }
        0xF5 => op.kind = Kind::Cmc,
        0xF8 => op.kind = Kind::Clc,
        0xF9 => op.kind = Kind::Stc,
        0xFA => op.kind = Kind::Cli,
        0xFC => op.kind = Kind::Cld,
        0xFD => op.kind = Kind::Std,
        0xF6 | 0xF7 => {
            op.w = if opcode == 0xF6 { 8 } else { wv };
            x.modrm(c, &mut op)?;
            match op.reg {
                0 | 1 => {
                    op.kind = Kind::TestRmImm;
                    op.imm = c.imm(op.w)?;
                }
                2 => op.kind = Kind::NotRm,
                3 => op.kind = Kind::NegRm,
                _ => return None,
            }
        }
        0xFE | 0xFF => {
            op.w = if opcode == 0xFE { 8 } else { wv };
            x.modrm(c, &mut op)?;
            op.kind = match (opcode, op.reg) {
                (_, 0) => Kind::IncRm,
                (_, 1) => Kind::DecRm,
                (0xFF, 2) => Kind::CallRm,
                (0xFF, 4) => Kind::JmpRm,
                (0xFF, 6) if !(is8086 && !op.mem && op.rm == SP as u8) => Kind::PushRm,
                _ => return None,
            };
        }
        0x0F if is386 => {
            let second = c.u8()?;
            match second {
                0x80..=0x8F => {
                    op.kind = Kind::Jcc;
                    op.sub = second & 0xF;
                    op.imm = if x.o32 {
                        c.u32()?
                    } else {
                        c.u16()? as u16 as i16 as i32 as u32
                    };
                }
                0x90..=0x9F => {
                    op.kind = Kind::Setcc;
                    op.w = 8;
                    x.modrm(c, &mut op)?;
                    op.sub = second & 0xF;
                }
                0xA0 | 0xA8 => {
                    op.kind = Kind::PushSeg;
                    op.sub = if second == 0xA0 { 4 } else { 5 };
                }
                0xA1 | 0xA9 => {
                    op.kind = Kind::PopSeg;
                    op.sub = if second == 0xA1 { 4 } else { 5 };
                }
                0xAF => {
                    op.kind = Kind::Imul;
                    op.sub = 1;
                    x.modrm(c, &mut op)?;
                }
                0xB6 | 0xB7 | 0xBE | 0xBF => {
                    op.kind = if second < 0xBE {
                        Kind::Movzx
                    } else {
                        Kind::Movsx
                    };
                    x.modrm(c, &mut op)?;
                    op.sub = if second & 1 == 0 { 8 } else { 16 };
                }
                _ => return None,
            }
        }
        _ => return None,
    }
    Some(op)
}

impl Cpu {
    /// Decodes the block at CS:EIP (backing-store index `idx`) into slot `n`.
    #[cold]
    #[inline(never)]
    pub(super) fn translate_block<B: Bus>(
        &mut self,
        bus: &mut B,
        ops: &mut Vec<Op>,
        n: usize,
        idx: usize,
    ) {
        let Some(slot) = self.blocks.slots.get(n) else {
            return;
        };
        let ops_at = if slot.ops_at == NO_OPS {
            let at = ops.len();
            ops.resize(at + MAX_OPS, Op::default());
            at
        } else {
            slot.ops_at as usize
        };
        let cs = self.segs[CS];
        let eip = self.eip;
        let lin = cs.base.wrapping_add(eip);
        // The block stays in this page and below the CS limit (and, on the 8086, below the
        // 64 KiB wrap of IP): instructions that cross are left to the full interpreter.
        let page_left = u64::from(0x1000 - (lin & 0xFFF));
        let seg_left = u64::from(cs.limit) + 1 - u64::from(eip);
        let avail = page_left.min(seg_left) as usize;
        let mem = bus.memory_ref();
        let bytes = mem.store().get(idx..idx + avail).unwrap_or(&[]);
        let mut pos = 0usize;
        let mut count = 0usize;
        let mut slow_tail = true;
        while count < MAX_OPS {
            let Some((op, len)) = decode_op(self.model, cs.big, &bytes[pos..], pos) else {
                break;
            };
            pos += len;
            if let Some(o) = ops.get_mut(ops_at + count) {
                *o = op;
            }
            count += 1;
            if is_terminator(op.kind) {
                slow_tail = false;
                break;
            }
        }
        if count == MAX_OPS {
            slow_tail = false;
        }
        let whole_only = ops
            .get_mut(ops_at..ops_at + count)
            .is_some_and(super::flags_live::drop_dead_flags);
        if pos > 0 {
            bus.memory().mark_code(idx, pos);
        }
        // Links into this slot named the block it held before.
        bus.memory().bump_cache_epoch();
        if let Some(slot) = self.blocks.slots.get_mut(n) {
            *slot = Slot {
                tag: idx + 1,
                generation: bus.memory_ref().code_generation(idx >> 12),
                len: pos as u32,
                ops: count as u8,
                slow_tail,
                big: cs.big,
                whole_only,
                ops_at: ops_at as u32,
                ..Slot::default()
            };
        }
    }
}
