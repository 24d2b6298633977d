//! Translation of a decoded block into host code (see `mod.rs` for the contract).
//!
//! Register operands live in the CPU (`[rbx + offset of regs]`); every register-form ALU,
//! MOV, INC/DEC, NOT/NEG, TEST, LEA and shift by one becomes the one host instruction of the
//! same operation on that memory, so the host computes the guest's result and flags alike
//! (Intel SDM vol. 2 and the 80386 PRM define them identically for these operations). The
//! flags the host leaves undefined and vexed defines are fixed when the flags are stored:
//! AF after AND, OR, XOR, TEST and the shifts is 0 (`Flags::set_logic`, `set_result`).
//! Memory operands go through the interpreter's own cached access (`Cpu::mem_w`,
//! `Cpu::set_mem_w`) by a call; every other op is handed to the interpreter's fast handler
//! (`Cpu::exec_fast`) by a call, so each op does exactly what the interpreter does.
//!
//! Where the guest's arithmetic flags are is known at every point of the code:
//! - **saved**: in the context's `flags` word (the host's EFLAGS layout), as on entry and
//!   around every call;
//! - **host**: in the host's EFLAGS, after a native flag-writing op (with `af_bad` when AF
//!   still needs its fix).
//!
//! Every exit leaves them saved.

use super::Ctx;
use super::asm::{Asm, CC_A, CC_B, CC_BE, CC_G, CC_NZ, CC_Z, EAX, EDI, EDX, ESI, Label};
use crate::cpu::Cpu;
use crate::cpu::block::fast::code;
use crate::cpu::block::memtlb::layout as tlb;
use crate::cpu::block::{EaForm, Op};
use crate::cpu::regs::Segment;
use std::mem::offset_of;

/// Exit statuses (bits 8-15 of the returned word; bits 0-7 count the ops that ran in the
/// last pass).
pub(super) const FELL: u64 = 0;
pub(super) const JUMPED: u64 = 1;
pub(super) const ERR: u64 = 2;
pub(super) const SELF: u64 = 3;

/// Addresses of the calls a translated block makes, for the bus type it runs on.
pub(super) struct Callouts {
    /// `extern "C" fn(ctx, off, seg) -> u64` for 8, 16 and 32 bits: the value, or bit 32
    /// set after a fault.
    pub read: [usize; 3],
    /// `extern "C" fn(ctx, off, seg, value) -> u32` for 8, 16 and 32 bits: 0, or 1 after a
    /// fault.
    pub write: [usize; 3],
    /// `extern "C" fn(ctx, index) -> u32`: runs op `index` through `Cpu::exec_fast`; 0 to go
    /// on, [`JUMPED`] or [`ERR`].
    pub op: usize,
}

/// Where the guest's arithmetic flags are (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fl {
    Saved,
    Host { af_bad: bool },
}

const AF: u8 = 0x10;

fn regs() -> i32 {
    offset_of!(Cpu, regs) as i32
}

fn flags_at() -> i32 {
    offset_of!(Ctx<()>, flags) as i32
}

fn leave_at() -> i32 {
    offset_of!(Ctx<()>, leave) as i32
}

fn store_at() -> i32 {
    offset_of!(Ctx<()>, store) as i32
}

fn store_len_at() -> i32 {
    offset_of!(Ctx<()>, store_len) as i32
}

/// `[rbx + disp]` of segment register `seg`'s field at `field` (its offset in `Segment`).
fn seg_field(seg: u8, field: usize) -> i32 {
    (offset_of!(Cpu, segs) + usize::from(seg & 7).min(5) * size_of::<Segment>() + field) as i32
}

/// `[rbx + rcx + disp]` of an entry field, `rcx` being the slot's byte offset.
fn tlb_field(side: usize, field: usize) -> i32 {
    (offset_of!(Cpu, mtlb) + side + field) as i32
}

/// `[rbx + disp]` of general register `r` at width `w` (8: AL..BH).
fn reg(w: u8, r: u8) -> i32 {
    let r = i32::from(r & 7);
    if w == 8 && r >= 4 {
        regs() + 4 * (r - 4) + 1
    } else {
        regs() + 4 * r
    }
}

fn width_index(w: u8) -> usize {
    match w {
        8 => 0,
        16 => 1,
        _ => 2,
    }
}

struct Tr<'a> {
    a: Asm,
    fl: Fl,
    calls: &'a Callouts,
    epilogue: Label,
    /// Ops that call out and may leave: their exit labels.
    err_exits: Vec<(Label, usize)>,
    op_exits: Vec<(Label, usize)>,
    native: usize,
}

impl Tr<'_> {
    fn save(&mut self) {
        if let Fl::Host { af_bad } = self.fl {
            self.a.save_flags(flags_at());
            if af_bad {
                self.a.and_ctx_byte(flags_at(), !AF);
            }
        }
        self.fl = Fl::Saved;
    }

    /// The guest's CF in the host's, for one op that reads it and writes the rest.
    fn carry_in(&mut self) {
        if self.fl == Fl::Saved {
            self.a.cf_from(flags_at());
        }
    }

    /// ALU operation `alu` into the register at `dest` from eax (or `imm`): CF first for
    /// ADC and SBB, then the host's flags are the guest's (AF to fix after OR, AND, XOR).
    fn alu_into(&mut self, w: u8, alu: u8, dest: i32, imm: Option<u32>) {
        if alu == 2 || alu == 3 {
            self.carry_in();
        }
        match imm {
            Some(v) => self.a.alu_mem_imm(w, alu, dest, v),
            None => self.a.alu_mem_reg(w, alu, dest, EAX),
        }
        self.wrote_flags(matches!(alu, 1 | 4 | 6));
    }

    fn wrote_flags(&mut self, af_bad: bool) {
        self.fl = Fl::Host { af_bad };
    }

    /// The effective address of `op`'s memory operand into esi.
    fn ea(&mut self, op: &Op) -> Option<()> {
        let wrap = match op.ea_mask {
            0xFFFF => true,
            u32::MAX => false,
            _ => return None,
        };
        let a = &mut self.a;
        match op.form {
            EaForm::Disp => {
                a.mov_imm(ESI, op.disp);
                return Some(());
            }
            EaForm::Base => {
                a.load(32, ESI, reg(32, op.base));
                a.lea_esi_disp(op.disp);
            }
            EaForm::BaseIndex => {
                a.load(32, ESI, reg(32, op.base));
                a.load(32, EAX, reg(32, op.index));
                a.lea_esi_index(op.scale, op.disp);
            }
            EaForm::Index => {
                a.load(32, EAX, reg(32, op.index));
                a.lea_esi_index_only(op.scale, op.disp);
            }
        }
        if wrap {
            a.wrap16_esi();
        }
        Some(())
    }

    fn err_exit(&mut self, i: usize) -> Label {
        let l = self.a.label();
        self.err_exits.push((l, i));
        l
    }

    /// The hit path of the memory-operand cache for a `w`-bit access at `seg:esi`
    /// (`MemTlb::read`/`write` after `Cpu::mem_w`'s segment bound): leaves the store index
    /// in rdx, or jumps to `miss`. The same tests in the same order: the bound, the slot's
    /// tag (which also rules out an access crossing into the next page), for writes the
    /// span of decoded bytes, and the store's end.
    fn hit_path(&mut self, seg: u8, w: u8, write: bool, miss: Label) {
        let n = w / 8;
        let a = &mut self.a;
        let bound = if write {
            offset_of!(Segment, wlim)
        } else {
            offset_of!(Segment, rlim)
        };
        let side = if write { tlb::WRITE } else { tlb::READ };
        a.last_byte_offset(n - 1);
        a.cmp_rax_mem64(seg_field(seg, bound));
        a.jcc(CC_G, miss);
        a.load(32, EAX, seg_field(seg, offset_of!(Segment, base)));
        a.add_eax_esi();
        a.tlb_slot(n - 1, tlb::SLOT_MASK, tlb::ENTRY_SHIFT);
        a.page_of_eax();
        a.cmp_slot(EDX, tlb_field(side, tlb::PAGE));
        a.jcc(CC_NZ, miss);
        a.page_offset_eax();
        if write {
            // off + n > code_lo && off < code_hi: the write touches decoded bytes.
            let clear = a.label();
            a.lea_edx_rax(n);
            a.cmp_slot(EDX, tlb_field(side, tlb::CODE_LO));
            a.jcc(CC_BE, clear);
            a.cmp_slot(EAX, tlb_field(side, tlb::CODE_HI));
            a.jcc(CC_B, miss);
            a.bind(clear);
        }
        a.load_slot_edx(tlb_field(side, tlb::BASE));
        a.or_edx_eax();
        a.cmp_store_end(n, store_len_at());
        a.jcc(CC_A, miss);
    }

    /// Reads `op`'s `w`-bit memory operand into eax.
    fn read(&mut self, i: usize, op: &Op, w: u8) -> Option<()> {
        self.save();
        self.ea(op)?;
        let (miss, done) = (self.a.label(), self.a.label());
        self.hit_path(op.seg, w, false, miss);
        self.a.load_store(w);
        self.a.jmp(done);
        self.a.bind(miss);
        self.miss_call(i, op.seg, self.calls.read[width_index(w)], false);
        self.a.bind(done);
        Some(())
    }

    /// A miss of the hit path: the interpreter's access by a call (the offset in esi, the
    /// value to write, if any, in ecx), leaving at op `i` when it faulted (bit 32 of a read's
    /// result, a write's nonzero result).
    fn miss_call(&mut self, i: usize, seg: u8, target: usize, write: bool) {
        self.a.ctx_arg();
        self.a.mov_imm(EDX, u32::from(seg));
        self.a.call(target);
        self.a.load_r13(store_at());
        if write {
            self.a.test_eax();
        } else {
            self.a.test_rax_high();
        }
        let l = self.err_exit(i);
        self.a.jcc(CC_NZ, l);
    }

    /// Writes `op`'s `w`-bit memory operand from register `src` (or the immediate).
    fn write(&mut self, i: usize, op: &Op, w: u8, src: Option<u8>) -> Option<()> {
        self.save();
        self.ea(op)?;
        match src {
            Some(r) => self.a.load_zx(w, EDI, reg(w, r)),
            None => self.a.mov_imm(EDI, op.imm),
        }
        let (miss, done) = (self.a.label(), self.a.label());
        self.hit_path(op.seg, w, true, miss);
        self.a.store_store(w);
        self.a.jmp(done);
        self.a.bind(miss);
        self.a.ecx_from_edi();
        self.miss_call(i, op.seg, self.calls.write[width_index(w)], true);
        self.a.bind(done);
        Some(())
    }

    /// Op `i` through the interpreter's fast handler.
    fn fallback(&mut self, i: usize) {
        self.save();
        self.a.ctx_arg();
        self.a.mov_imm(ESI, i as u32);
        self.a.call(self.calls.op);
        self.a.load_r13(store_at());
        self.a.test_eax();
        let l = self.a.label();
        self.op_exits.push((l, i));
        self.a.jcc(CC_NZ, l);
    }

    /// Op `i` natively, or `None` when it has no native form.
    fn native(&mut self, i: usize, op: &Op) -> Option<()> {
        let c = op.code.get();
        let w = op.w;
        // The families split by shape: (first code, shape) with shapes R8 M8 R16 M16 R32 M32.
        let family = |first: u16| {
            (c.checked_sub(first))
                .filter(|&d| d < 6)
                .map(|d| d & 1 == 1)
        };
        let alu_family = |first: u16| {
            c.checked_sub(first)
                .filter(|&d| d < 48)
                .map(|d| ((d / 6) as u8, d % 2 == 1))
        };
        if let Some((alu, mem)) = alu_family(code::ALU_RM_REG) {
            if mem && alu != 7 {
                return None;
            }
            if mem {
                // CMP [m], reg: the operand minus the register.
                self.read(i, op, w)?;
                self.a.alu_reg_mem(w, 7, EAX, reg(w, op.reg));
            } else {
                self.a.load(w, EAX, reg(w, op.reg));
                if alu == 2 || alu == 3 {
                    self.carry_in();
                }
                self.a.alu_mem_reg(w, alu, reg(w, op.rm), EAX);
            }
            self.wrote_flags(matches!(alu, 1 | 4 | 6));
            return Some(());
        }
        if let Some((alu, mem)) = alu_family(code::ALU_REG_RM) {
            if mem {
                self.read(i, op, w)?;
            } else {
                self.a.load(w, EAX, reg(w, op.rm));
            }
            self.alu_into(w, alu, reg(w, op.reg), None);
            return Some(());
        }
        if let Some((alu, mem)) = alu_family(code::ALU_RM_IMM) {
            if mem {
                return None;
            }
            self.alu_into(w, alu, reg(w, op.rm), Some(op.imm));
            return Some(());
        }
        if let Some(mem) = family(code::TEST_RM_REG) {
            if mem {
                self.read(i, op, w)?;
                self.a.test_mem_reg(w, reg(w, op.reg), EAX);
            } else {
                self.a.load(w, EAX, reg(w, op.reg));
                self.a.test_mem_reg(w, reg(w, op.rm), EAX);
            }
            self.wrote_flags(true);
            return Some(());
        }
        if let Some(mem) = family(code::TEST_RM_IMM) {
            if mem {
                return None;
            }
            self.a.test_mem_imm(w, reg(w, op.rm), op.imm);
            self.wrote_flags(true);
            return Some(());
        }
        if let Some(mem) = family(code::MOV_RM_REG) {
            if mem {
                return self.write(i, op, w, Some(op.reg));
            }
            self.a.load(w, EAX, reg(w, op.reg));
            self.a.store(w, EAX, reg(w, op.rm));
            return Some(());
        }
        if let Some(mem) = family(code::MOV_REG_RM) {
            if mem {
                self.read(i, op, w)?;
            } else {
                self.a.load(w, EAX, reg(w, op.rm));
            }
            self.a.store(w, EAX, reg(w, op.reg));
            return Some(());
        }
        if let Some(mem) = family(code::MOV_RM_IMM) {
            if mem {
                return self.write(i, op, w, None);
            }
            self.a.store_imm(w, reg(w, op.rm), op.imm);
            return Some(());
        }
        if let Some(mem) = family(code::INC_RM).or(family(code::DEC_RM)) {
            if mem {
                return None;
            }
            let dec = family(code::DEC_RM).is_some();
            self.carry_in();
            self.a.unary_mem(w, 0xFE, u8::from(dec), reg(w, op.rm));
            self.wrote_flags(false);
            return Some(());
        }
        let width = |first: u16| c.checked_sub(first).filter(|&d| d < 3);
        match c {
            code::NOP => return Some(()),
            code::LEA => {
                self.ea(op)?;
                self.a.store(w, ESI, reg(w, op.reg));
                return Some(());
            }
            code::NOT_RM | code::NEG_RM if !op.mem => {
                let neg = c == code::NEG_RM;
                self.a.unary_mem(w, 0xF6, 2 + u8::from(neg), reg(w, op.rm));
                if neg {
                    self.wrote_flags(false);
                }
                return Some(());
            }
            _ => {}
        }
        // SHL/SHR of a register by a constant: with their flags by one only (the host leaves
        // OF undefined for other counts), without them by any count in 1..=width.
        for (first, ext, flags) in [
            (code::SHL_R8_IMM, 4, true),
            (code::SHR_R8_IMM, 5, true),
            (code::SHL_R_IMM_NF, 4, false),
            (code::SHR_R_IMM_NF, 5, false),
        ] {
            if width(first).is_some() {
                if op.imm == 1 {
                    self.a.unary_mem(w, 0xD0, ext, reg(w, op.rm));
                } else if !flags && op.imm < 32 {
                    self.a.shift_mem_imm(w, ext, reg(w, op.rm), op.imm as u8);
                } else {
                    return None;
                }
                self.wrote_flags(true);
                return Some(());
            }
        }
        if let Some(d) = c.checked_sub(code::ALU_RR_NF).filter(|&d| d < 24) {
            let alu = (d / 3) as u8;
            self.a.load(w, EAX, reg(w, op.reg));
            self.alu_into(w, alu, reg(w, op.rm), None);
            return Some(());
        }
        if let Some(d) = c.checked_sub(code::ALU_RI_NF).filter(|&d| d < 24) {
            let alu = (d / 3) as u8;
            self.alu_into(w, alu, reg(w, op.rm), Some(op.imm));
            return Some(());
        }
        if width(code::INC_R_NF).is_some() || width(code::DEC_R_NF).is_some() {
            self.carry_in();
            let dec = width(code::DEC_R_NF).is_some();
            self.a.unary_mem(w, 0xFE, u8::from(dec), reg(w, op.rm));
            self.wrote_flags(false);
            return Some(());
        }
        if width(code::MOV_REG_DISP).is_some() {
            self.read(i, op, w)?;
            self.a.store(w, EAX, reg(w, op.reg));
            return Some(());
        }
        if width(code::MOV_DISP_REG).is_some() {
            return self.write(i, op, w, Some(op.reg));
        }
        None
    }
}

/// Host code for `ops` (a block of `count` ops whose self-branches return to its start), or
/// `None` when translating would not pay: fewer ops run natively than through calls.
pub(super) fn translate(ops: &[Op], calls: &Callouts) -> Option<Vec<u8>> {
    let n = ops.len();
    let last = ops.last()?;
    let mut a = Asm::default();
    let epilogue = a.label();
    let start = a.label();
    a.prologue();
    a.load_r13(store_at());
    a.bind(start);
    let mut t = Tr {
        a,
        fl: Fl::Saved,
        calls,
        epilogue,
        err_exits: Vec::new(),
        op_exits: Vec::new(),
        native: 0,
    };
    let self_branch = matches!(
        last.code.get(),
        code::LOOP_SELF | code::LOOP_SELF_ECX | code::JCC_SELF | code::JMP_SELF
    );
    let body = if self_branch { n - 1 } else { n };
    for (i, op) in ops.iter().enumerate().take(body) {
        // A native form may emit part of itself before finding it has none: start it on a
        // copy and keep the copy only when it succeeds.
        let mark = (t.a.buf.len(), t.fl, t.err_exits.len());
        if t.native(i, op).is_some() {
            t.native += 1;
        } else {
            t.a.buf.truncate(mark.0);
            t.fl = mark.1;
            t.err_exits.truncate(mark.2);
            t.fallback(i);
        }
    }
    let count = n as u32;
    let fell = t.a.label();
    if self_branch {
        t.native += 1;
        let back = t.a.label();
        match last.code.get() {
            code::JMP_SELF => {
                t.save();
                t.a.jmp(back);
            }
            code::LOOP_SELF | code::LOOP_SELF_ECX => {
                t.save();
                let w = if last.code.get() == code::LOOP_SELF {
                    16
                } else {
                    32
                };
                // SUB sets ZF from the counter as LOOP tests it (its flags are discarded:
                // the guest's are saved).
                t.a.alu_mem_imm(w, 5, reg(w, 1), 1);
                t.a.jcc(CC_Z, fell);
                t.a.jmp(back);
            }
            _ => {
                // JCC_SELF.
                match t.fl {
                    Fl::Host { af_bad: false } => t.save(),
                    _ => {
                        t.save();
                        t.a.restore_flags(flags_at());
                    }
                }
                t.a.jcc(last.sub & 15, back);
                t.a.jmp(fell);
            }
        }
        // Another pass while nothing asked to leave and the budget covers the whole block.
        t.a.bind(back);
        let self_exit = t.a.label();
        t.a.cmp_ctx_byte_zero(leave_at());
        t.a.jcc(CC_NZ, self_exit);
        t.a.load64(EAX, offset_of!(Cpu, budget) as i32);
        t.a.sub_rax_imm(count);
        t.a.jcc(CC_B, self_exit);
        t.a.store64(EAX, offset_of!(Cpu, budget) as i32);
        t.a.jmp(start);
        t.a.bind(self_exit);
        t.a.mov_imm(EAX, (SELF << 8) as u32 | count);
        t.a.jmp(t.epilogue);
    } else {
        t.save();
    }
    if t.native * 2 < n {
        return None;
    }
    t.a.bind(fell);
    t.a.mov_imm(EAX, (FELL << 8) as u32 | count);
    t.a.jmp(t.epilogue);
    for (l, i) in std::mem::take(&mut t.err_exits) {
        t.a.bind(l);
        t.a.mov_imm(EAX, (ERR << 8) as u32 | (i as u32 + 1));
        t.a.jmp(t.epilogue);
    }
    for (l, i) in std::mem::take(&mut t.op_exits) {
        // eax holds JUMPED or ERR.
        t.a.bind(l);
        t.a.status_from_eax(i as u32 + 1);
        t.a.jmp(t.epilogue);
    }
    t.a.bind(t.epilogue);
    t.a.epilogue();
    t.a.finish()
}
