//! An x86-64 encoder for the few instruction forms the translator emits.
//!
//! Source: Intel 64 and IA-32 Architectures Software Developer's Manual, volume 2 (the
//! opcode tables of chapters 3-4 and the ModR/M and SIB encodings of section 2.1). Every
//! guest-state operand is `[rbx + disp]` (the CPU) or `[r12 + disp]` (the call context);
//! the scratch registers are eax, ecx, edx and esi.

/// A host register number (the ModR/M `reg` encoding without REX).
pub(super) const EAX: u8 = 0;
pub(super) const ECX: u8 = 1;
pub(super) const EDX: u8 = 2;
pub(super) const EBX: u8 = 3;
pub(super) const ESI: u8 = 6;
pub(super) const EDI: u8 = 7;

/// A jump target inside the code being assembled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Label(usize);

/// The code being assembled: bytes, label positions and the jumps still to patch.
#[derive(Default)]
pub(super) struct Asm {
    pub buf: Vec<u8>,
    labels: Vec<Option<usize>>,
    /// (position of a rel32 field, its label)
    fixups: Vec<(usize, Label)>,
}

impl Asm {
    fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    pub fn bind(&mut self, l: Label) {
        if let Some(slot) = self.labels.get_mut(l.0) {
            *slot = Some(self.buf.len());
        }
    }

    fn rel32(&mut self, l: Label) {
        self.fixups.push((self.buf.len(), l));
        self.u32(0);
    }

    /// Patches every jump; `None` if a label was never bound.
    pub fn finish(mut self) -> Option<Vec<u8>> {
        for &(at, l) in &self.fixups {
            let target = (*self.labels.get(l.0)?)?;
            let rel = target as i64 - (at as i64 + 4);
            let rel = i32::try_from(rel).ok()?;
            self.buf
                .get_mut(at..at + 4)?
                .copy_from_slice(&rel.to_le_bytes());
        }
        Some(self.buf)
    }

    /// ModR/M (and displacement) for `[rbx + disp]` with `reg` in the reg field.
    fn rbx_mem(&mut self, reg: u8, disp: i32) {
        if let Ok(d) = i8::try_from(disp) {
            self.byte(0x40 | (reg & 7) << 3 | EBX);
            self.byte(d as u8);
        } else {
            self.byte(0x80 | (reg & 7) << 3 | EBX);
            self.u32(disp as u32);
        }
    }

    /// ModR/M, SIB and displacement for `[r12 + disp]` (r12 needs a SIB byte; REX.B is the
    /// caller's).
    fn r12_mem(&mut self, reg: u8, disp: i32) {
        self.byte(0x80 | (reg & 7) << 3 | 4);
        self.byte(0x24);
        self.u32(disp as u32);
    }

    /// The operand-size prefix for a `w`-bit operation (none for 8 and 32).
    fn osize(&mut self, w: u8) {
        if w == 16 {
            self.byte(0x66);
        }
    }

    // ----- guest state in [rbx + disp] --------------------------------------------------------

    /// `mov reg, [rbx + disp]` of width `w` (8: the low byte of `reg`, which must be below 4).
    pub fn load(&mut self, w: u8, reg: u8, disp: i32) {
        self.osize(w);
        self.byte(if w == 8 { 0x8A } else { 0x8B });
        self.rbx_mem(reg, disp);
    }

    /// `movzx reg32, byte/word [rbx + disp]`, or a plain 32-bit load for `w` 32.
    pub fn load_zx(&mut self, w: u8, reg: u8, disp: i32) {
        match w {
            8 => self.bytes(&[0x0F, 0xB6]),
            16 => self.bytes(&[0x0F, 0xB7]),
            _ => self.byte(0x8B),
        }
        self.rbx_mem(reg, disp);
    }

    /// `mov [rbx + disp], reg` of width `w`.
    pub fn store(&mut self, w: u8, reg: u8, disp: i32) {
        self.osize(w);
        self.byte(if w == 8 { 0x88 } else { 0x89 });
        self.rbx_mem(reg, disp);
    }

    /// `mov [rbx + disp], imm` of width `w`.
    pub fn store_imm(&mut self, w: u8, disp: i32, imm: u32) {
        self.osize(w);
        self.byte(if w == 8 { 0xC6 } else { 0xC7 });
        self.rbx_mem(0, disp);
        self.imm(w, imm);
    }

    fn imm(&mut self, w: u8, imm: u32) {
        match w {
            8 => self.byte(imm as u8),
            16 => self.bytes(&(imm as u16).to_le_bytes()),
            _ => self.u32(imm),
        }
    }

    /// ALU operation `alu` (0-7: ADD OR ADC SBB AND SUB XOR CMP) `[rbx + disp], reg`.
    pub fn alu_mem_reg(&mut self, w: u8, alu: u8, disp: i32, reg: u8) {
        self.osize(w);
        self.byte((alu & 7) << 3 | u8::from(w != 8));
        self.rbx_mem(reg, disp);
    }

    /// ALU operation `alu` `[rbx + disp], imm`.
    pub fn alu_mem_imm(&mut self, w: u8, alu: u8, disp: i32, imm: u32) {
        self.osize(w);
        self.byte(if w == 8 { 0x80 } else { 0x81 });
        self.rbx_mem(alu, disp);
        self.imm(w, imm);
    }

    /// ALU operation `alu` `reg, [rbx + disp]` (the register is the destination).
    pub fn alu_reg_mem(&mut self, w: u8, alu: u8, reg: u8, disp: i32) {
        self.osize(w);
        self.byte((alu & 7) << 3 | 2 | u8::from(w != 8));
        self.rbx_mem(reg, disp);
    }

    /// Shift `ext` (SHL 4, SHR 5) of `[rbx + disp]` by `count`.
    pub fn shift_mem_imm(&mut self, w: u8, ext: u8, disp: i32, count: u8) {
        self.osize(w);
        self.byte(if w == 8 { 0xC0 } else { 0xC1 });
        self.rbx_mem(ext, disp);
        self.byte(count);
    }

    /// `test [rbx + disp], reg`.
    pub fn test_mem_reg(&mut self, w: u8, disp: i32, reg: u8) {
        self.osize(w);
        self.byte(if w == 8 { 0x84 } else { 0x85 });
        self.rbx_mem(reg, disp);
    }

    /// `test [rbx + disp], imm`.
    pub fn test_mem_imm(&mut self, w: u8, disp: i32, imm: u32) {
        self.osize(w);
        self.byte(if w == 8 { 0xF6 } else { 0xF7 });
        self.rbx_mem(0, disp);
        self.imm(w, imm);
    }

    /// Group 3/4/5 and shift-by-one forms on `[rbx + disp]`: `opcode8` for bytes,
    /// `opcode8 + 1` otherwise, with `ext` in the reg field (INC 0, DEC 1 of FE/FF; NOT 2,
    /// NEG 3 of F6/F7; SHL 4, SHR 5 of D0/D1).
    pub fn unary_mem(&mut self, w: u8, opcode8: u8, ext: u8, disp: i32) {
        self.osize(w);
        self.byte(if w == 8 { opcode8 } else { opcode8 + 1 });
        self.rbx_mem(ext, disp);
    }

    /// `mov rax, [rbx + disp]` (64-bit).
    pub fn load64(&mut self, reg: u8, disp: i32) {
        self.byte(0x48);
        self.byte(0x8B);
        self.rbx_mem(reg, disp);
    }

    /// `mov [rbx + disp], reg` (64-bit).
    pub fn store64(&mut self, reg: u8, disp: i32) {
        self.byte(0x48);
        self.byte(0x89);
        self.rbx_mem(reg, disp);
    }

    /// `sub rax, imm32` (sign-extended).
    pub fn sub_rax_imm(&mut self, imm: u32) {
        self.bytes(&[0x48, 0x2D]);
        self.u32(imm);
    }

    // ----- the call context in [r12 + disp] -------------------------------------------------

    /// `pushfq; pop qword [r12 + disp]`: the host's flags into the context.
    pub fn save_flags(&mut self, disp: i32) {
        self.byte(0x9C);
        self.bytes(&[0x41, 0x8F]);
        self.r12_mem(0, disp);
    }

    /// `push qword [r12 + disp]; popfq`: the context's flags into the host's.
    pub fn restore_flags(&mut self, disp: i32) {
        self.bytes(&[0x41, 0xFF]);
        self.r12_mem(6, disp);
        self.byte(0x9D);
    }

    /// `bt dword [r12 + disp], 0`: CF from bit 0 of the context's flags.
    pub fn cf_from(&mut self, disp: i32) {
        self.bytes(&[0x41, 0x0F, 0xBA]);
        self.r12_mem(4, disp);
        self.byte(0);
    }

    /// `and byte [r12 + disp], imm8`.
    pub fn and_ctx_byte(&mut self, disp: i32, imm: u8) {
        self.bytes(&[0x41, 0x80]);
        self.r12_mem(4, disp);
        self.byte(imm);
    }

    /// `cmp byte [r12 + disp], 0`.
    pub fn cmp_ctx_byte_zero(&mut self, disp: i32) {
        self.bytes(&[0x41, 0x80]);
        self.r12_mem(7, disp);
        self.byte(0);
    }

    // ----- registers -------------------------------------------------------------------------

    /// `mov reg, imm32`.
    pub fn mov_imm(&mut self, reg: u8, imm: u32) {
        self.byte(0xB8 + (reg & 7));
        self.u32(imm);
    }

    /// `mov rdi, r12` (the context as a call's first argument).
    pub fn ctx_arg(&mut self) {
        self.bytes(&[0x4C, 0x89, 0xE7]);
    }

    /// `movzx esi, si`: a 16-bit offset's wrap.
    pub fn wrap16_esi(&mut self) {
        self.bytes(&[0x0F, 0xB7, 0xF6]);
    }

    /// `lea esi, [rsi + disp32]`.
    pub fn lea_esi_disp(&mut self, disp: u32) {
        self.bytes(&[0x8D, 0xB6]);
        self.u32(disp);
    }

    /// `lea esi, [rsi + rax * (1 << scale) + disp32]`.
    pub fn lea_esi_index(&mut self, scale: u8, disp: u32) {
        self.bytes(&[0x8D, 0xB4, (scale & 3) << 6 | EAX << 3 | ESI]);
        self.u32(disp);
    }

    /// `lea esi, [rax * (1 << scale) + disp32]`.
    pub fn lea_esi_index_only(&mut self, scale: u8, disp: u32) {
        self.bytes(&[0x8D, 0x34, (scale & 3) << 6 | EAX << 3 | 5]);
        self.u32(disp);
    }

    /// `mov rax, imm64; call rax`.
    pub fn call(&mut self, target: usize) {
        self.bytes(&[0x48, 0xB8]);
        self.bytes(&(target as u64).to_le_bytes());
        self.bytes(&[0xFF, 0xD0]);
    }

    /// `test eax, eax`.
    pub fn test_eax(&mut self) {
        self.bytes(&[0x85, 0xC0]);
    }

    /// `mov rcx, rax; shr rcx, 32`: ZF clear when the high half of rax is not zero.
    pub fn test_rax_high(&mut self) {
        self.bytes(&[0x48, 0x89, 0xC1, 0x48, 0xC1, 0xE9, 0x20]);
    }

    /// `shl eax, 8; or eax, imm32`.
    pub fn status_from_eax(&mut self, low: u32) {
        self.bytes(&[0xC1, 0xE0, 0x08, 0x0D]);
        self.u32(low);
    }

    // ----- the memory-operand cache's hit path (see `compile.rs`) ---------------------------

    /// `lea rax, [rsi + d]`: the offset of an operand's last byte, without a 32-bit wrap.
    pub fn last_byte_offset(&mut self, d: u8) {
        self.bytes(&[0x48, 0x8D, 0x46, d]);
    }

    /// `cmp rax, [rbx + disp]` (64-bit, signed bounds follow with `jg`).
    pub fn cmp_rax_mem64(&mut self, disp: i32) {
        self.bytes(&[0x48, 0x3B]);
        self.rbx_mem(EAX, disp);
    }

    /// `add eax, esi`.
    pub fn add_eax_esi(&mut self) {
        self.bytes(&[0x01, 0xF0]);
    }

    /// `lea ecx, [rax + d]; shr ecx, 12; and ecx, mask; shl ecx, shift`: the cache slot of
    /// the page holding the linear address `eax + d`, as a byte offset into the entries.
    pub fn tlb_slot(&mut self, d: u8, mask: u8, shift: u8) {
        self.bytes(&[
            0x8D, 0x48, d, 0xC1, 0xE9, 0x0C, 0x83, 0xE1, mask, 0xC1, 0xE1, shift,
        ]);
    }

    /// `mov edx, eax; shr edx, 12`: the linear page of eax.
    pub fn page_of_eax(&mut self) {
        self.bytes(&[0x89, 0xC2, 0xC1, 0xEA, 0x0C]);
    }

    /// `cmp reg, [rbx + rcx + disp32]`.
    pub fn cmp_slot(&mut self, reg: u8, disp: i32) {
        self.bytes(&[0x3B, 0x84 | (reg & 7) << 3, 0x0B]);
        self.u32(disp as u32);
    }

    /// `mov edx, [rbx + rcx + disp32]`.
    pub fn load_slot_edx(&mut self, disp: i32) {
        self.bytes(&[0x8B, 0x94, 0x0B]);
        self.u32(disp as u32);
    }

    /// `and eax, 0FFFh`: the offset in the page.
    pub fn page_offset_eax(&mut self) {
        self.bytes(&[0x25, 0xFF, 0x0F, 0x00, 0x00]);
    }

    /// `or edx, eax`.
    pub fn or_edx_eax(&mut self) {
        self.bytes(&[0x09, 0xC2]);
    }

    /// `lea edx, [rax + d]`.
    pub fn lea_edx_rax(&mut self, d: u8) {
        self.bytes(&[0x8D, 0x50, d]);
    }

    /// `lea rcx, [rdx + d]; cmp rcx, [r12 + disp]`: the store index's end against the
    /// store's length.
    pub fn cmp_store_end(&mut self, d: u8, disp: i32) {
        self.bytes(&[0x48, 0x8D, 0x4A, d, 0x49, 0x3B]);
        self.r12_mem(ECX, disp);
    }

    /// `movzx eax, byte/word [r13 + rdx]` or `mov eax, [r13 + rdx]`: a load from the store.
    pub fn load_store(&mut self, w: u8) {
        match w {
            8 => self.bytes(&[0x41, 0x0F, 0xB6]),
            16 => self.bytes(&[0x41, 0x0F, 0xB7]),
            _ => self.bytes(&[0x41, 0x8B]),
        }
        self.bytes(&[0x44, 0x15, 0x00]);
    }

    /// `mov [r13 + rdx], dil/di/edi`: a store into the store.
    pub fn store_store(&mut self, w: u8) {
        self.osize(w);
        self.bytes(&[0x41, if w == 8 { 0x88 } else { 0x89 }, 0x7C, 0x15, 0x00]);
    }

    /// `mov r13, [r12 + disp]`.
    pub fn load_r13(&mut self, disp: i32) {
        self.bytes(&[0x4D, 0x8B]);
        self.r12_mem(5, disp);
    }

    /// `mov ecx, edi`.
    pub fn ecx_from_edi(&mut self) {
        self.bytes(&[0x89, 0xF9]);
    }

    // ----- control ---------------------------------------------------------------------------

    /// `jcc rel32` with the x86 condition code `cc` (0-15).
    pub fn jcc(&mut self, cc: u8, l: Label) {
        self.bytes(&[0x0F, 0x80 | (cc & 15)]);
        self.rel32(l);
    }

    /// `jmp rel32`.
    pub fn jmp(&mut self, l: Label) {
        self.byte(0xE9);
        self.rel32(l);
    }

    /// `push rbx; push r12; push r13; mov rbx, rdi; mov r12, rsi`: the stack stays 16-byte
    /// aligned for calls.
    pub fn prologue(&mut self) {
        self.bytes(&[0x53, 0x41, 0x54, 0x41, 0x55]);
        self.bytes(&[0x48, 0x89, 0xFB, 0x49, 0x89, 0xF4]);
    }

    /// `pop r13; pop r12; pop rbx; ret`.
    pub fn epilogue(&mut self) {
        self.bytes(&[0x41, 0x5D, 0x41, 0x5C, 0x5B, 0xC3]);
    }
}

/// Condition codes (the low nibble of `Jcc`).
pub(super) const CC_Z: u8 = 4;
pub(super) const CC_NZ: u8 = 5;
pub(super) const CC_B: u8 = 2;
pub(super) const CC_BE: u8 = 6;
pub(super) const CC_A: u8 = 7;
pub(super) const CC_G: u8 = 15;

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodings checked against the SDM's tables (and objdump of the same instructions).
    #[test]
    fn encodings_follow_the_manual() {
        let mut a = Asm::default();
        a.load(16, EAX, 4); // mov ax, [rbx+4]
        assert_eq!(a.buf, [0x66, 0x8B, 0x43, 0x04]);
        let mut a = Asm::default();
        a.alu_mem_reg(16, 0, 0, EAX); // add [rbx+0], ax
        assert_eq!(a.buf, [0x66, 0x01, 0x43, 0x00]);
        let mut a = Asm::default();
        a.alu_mem_imm(32, 4, 0x200, 0xFF); // and dword [rbx+200h], 0FFh
        assert_eq!(a.buf, [0x81, 0xA3, 0x00, 0x02, 0x00, 0x00, 0xFF, 0, 0, 0]);
        let mut a = Asm::default();
        a.unary_mem(8, 0xD0, 4, 1); // shl byte [rbx+1], 1
        assert_eq!(a.buf, [0xD0, 0x63, 0x01]);
        let mut a = Asm::default();
        a.save_flags(8); // pushfq; pop qword [r12+8]
        assert_eq!(a.buf, [0x9C, 0x41, 0x8F, 0x84, 0x24, 8, 0, 0, 0]);
        let mut a = Asm::default();
        a.restore_flags(8); // push qword [r12+8]; popfq
        assert_eq!(a.buf, [0x41, 0xFF, 0xB4, 0x24, 8, 0, 0, 0, 0x9D]);
        let mut a = Asm::default();
        a.cf_from(8); // bt dword [r12+8], 0
        assert_eq!(a.buf, [0x41, 0x0F, 0xBA, 0xA4, 0x24, 8, 0, 0, 0, 0]);
        let mut a = Asm::default();
        a.lea_esi_index(1, 0x10); // lea esi, [rsi+rax*2+10h]
        assert_eq!(a.buf, [0x8D, 0xB4, 0x46, 0x10, 0, 0, 0]);
        let mut a = Asm::default();
        a.lea_esi_index_only(2, 0x10); // lea esi, [rax*4+10h]
        assert_eq!(a.buf, [0x8D, 0x34, 0x85, 0x10, 0, 0, 0]);
        let mut a = Asm::default();
        a.cmp_slot(EDX, 0x100); // cmp edx, [rbx+rcx+100h]
        assert_eq!(a.buf, [0x3B, 0x94, 0x0B, 0, 1, 0, 0]);
        let mut a = Asm::default();
        a.store_store(8); // mov [r13+rdx+0], dil
        assert_eq!(a.buf, [0x41, 0x88, 0x7C, 0x15, 0x00]);
        let mut a = Asm::default();
        a.load_r13(0x18); // mov r13, [r12+18h]
        assert_eq!(a.buf, [0x4D, 0x8B, 0xAC, 0x24, 0x18, 0, 0, 0]);
    }

    /// Every form the translator emits, decoded by an independent disassembler (iced-x86)
    /// to the instruction its documentation names.
    #[test]
    fn every_form_decodes_to_its_instruction() {
        use iced_x86::{Decoder, DecoderOptions, Formatter, NasmFormatter};
        let text = |f: &dyn Fn(&mut Asm)| -> String {
            let mut a = Asm::default();
            f(&mut a);
            let mut d = Decoder::new(64, &a.buf, DecoderOptions::NONE);
            let mut fmt = NasmFormatter::new();
            fmt.options_mut().set_hex_prefix("0x");
            fmt.options_mut().set_hex_suffix("");
            let mut out = Vec::new();
            while d.can_decode() {
                let mut s = String::new();
                fmt.format(&d.decode(), &mut s);
                out.push(s);
            }
            out.join("; ")
        };
        type Emit<'a> = &'a dyn Fn(&mut Asm);
        let cases: [(Emit, &str); 40] = [
            (&|a| a.load(8, EAX, 0x11), "mov al,[rbx+0x11]"),
            (&|a| a.load(32, ESI, 0x200), "mov esi,[rbx+0x200]"),
            (&|a| a.load_zx(8, EDI, 5), "movzx edi,byte [rbx+5]"),
            (&|a| a.load_zx(16, EDI, 4), "movzx edi,word [rbx+4]"),
            (&|a| a.store(16, EAX, 8), "mov [rbx+8],ax"),
            (&|a| a.store_imm(16, 8, 0x1234), "mov word [rbx+8],0x1234"),
            (&|a| a.alu_mem_reg(8, 2, 1, EAX), "adc [rbx+1],al"),
            (
                &|a| a.alu_mem_imm(16, 7, 0, 0xFFFF),
                "cmp word [rbx],0xFFFF",
            ),
            (&|a| a.alu_reg_mem(32, 7, EAX, 12), "cmp eax,[rbx+0xC]"),
            (&|a| a.shift_mem_imm(32, 5, 4, 3), "shr dword [rbx+4],3"),
            (&|a| a.test_mem_reg(16, 0, EAX), "test [rbx],ax"),
            (&|a| a.test_mem_imm(8, 0, 0x80), "test byte [rbx],0x80"),
            (&|a| a.unary_mem(16, 0xFE, 1, 4), "dec word [rbx+4]"),
            (&|a| a.unary_mem(8, 0xF6, 3, 4), "neg byte [rbx+4]"),
            (&|a| a.load64(EAX, 0x100), "mov rax,[rbx+0x100]"),
            (&|a| a.store64(EAX, 0x100), "mov [rbx+0x100],rax"),
            (&|a| a.sub_rax_imm(11), "sub rax,0xB"),
            (&|a| a.and_ctx_byte(0, 0xEF), "and byte [r12],0xEF"),
            (&|a| a.cmp_ctx_byte_zero(8), "cmp byte [r12+8],0"),
            (&|a| a.mov_imm(EDX, 3), "mov edx,3"),
            (&|a| a.ctx_arg(), "mov rdi,r12"),
            (&|a| a.wrap16_esi(), "movzx esi,si"),
            (&|a| a.lea_esi_disp(0x10), "lea esi,[rsi+0x10]"),
            (
                &|a| a.call(0x1122_3344_5566),
                "mov rax,0x112233445566; call rax",
            ),
            (&|a| a.test_rax_high(), "mov rcx,rax; shr rcx,0x20"),
            (&|a| a.status_from_eax(3), "shl eax,8; or eax,3"),
            (&|a| a.last_byte_offset(1), "lea rax,[rsi+1]"),
            (&|a| a.cmp_rax_mem64(0x40), "cmp rax,[rbx+0x40]"),
            (&|a| a.add_eax_esi(), "add eax,esi"),
            (
                &|a| a.tlb_slot(3, 63, 4),
                "lea ecx,[rax+3]; shr ecx,0xC; and ecx,0x3F; shl ecx,4",
            ),
            (&|a| a.page_of_eax(), "mov edx,eax; shr edx,0xC"),
            (&|a| a.cmp_slot(EAX, 0x300), "cmp eax,[rbx+rcx+0x300]"),
            (&|a| a.load_slot_edx(0x304), "mov edx,[rbx+rcx+0x304]"),
            (&|a| a.page_offset_eax(), "and eax,0xFFF"),
            (&|a| a.or_edx_eax(), "or edx,eax"),
            (&|a| a.lea_edx_rax(2), "lea edx,[rax+2]"),
            (
                &|a| a.cmp_store_end(4, 0x18),
                "lea rcx,[rdx+4]; cmp rcx,[r12+0x18]",
            ),
            (&|a| a.load_store(16), "movzx eax,word [r13+rdx]"),
            (&|a| a.store_store(32), "mov [r13+rdx],edi"),
            (&|a| a.ecx_from_edi(), "mov ecx,edi"),
        ];
        for (f, want) in cases {
            assert_eq!(text(f), want);
        }
        assert_eq!(
            text(&|a| {
                a.prologue();
                a.epilogue();
            }),
            "push rbx; push r12; push r13; mov rbx,rdi; mov r12,rsi; pop r13; pop r12; pop rbx; ret"
        );
    }

    #[test]
    fn jumps_are_patched_to_their_labels() {
        let mut a = Asm::default();
        let l = a.label();
        a.jmp(l);
        a.test_eax();
        a.bind(l);
        assert_eq!(a.finish(), Some(vec![0xE9, 2, 0, 0, 0, 0x85, 0xC0]));
        let mut a = Asm::default();
        let l = a.label();
        a.jmp(l);
        assert_eq!(a.finish(), None, "an unbound label");
    }
}
