//! Operand-size and address-size prefixes (66h/67h), 32-bit addressing with SIB, FS and GS.

use crate::harness::*;

// ----- operand-size and address-size prefixes --------------------------------------------------

#[test]
fn operand_size_prefix_adds_32bit_registers() {
    // ADD: DEST := DEST + SRC; OF, SF, ZF, AF, CF, PF set by the 32-bit result (17.2.2.11 ADD)
    let code = [
        0x66, 0xB8, 0xEF, 0xCD, 0xAB, 0x89, // mov eax, 0x89ABCDEF
        0x66, 0x01, 0xD8, // add eax, ebx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| s.cpu.set_reg32(Reg32::EBX, 0x7654_3211));
    assert_completed(&sys, &code);
    assert_eq!(eax(&sys), 0);
    assert_flags(&sys, &[(CF, true), (ZF, true), (SF, false), (OF, false)]);
    assert_flags(&sys, &[(AF, true), (PF, true)]);
}

#[test]
fn without_operand_size_prefix_upper_half_is_preserved() {
    // ADD r/m16, r16 writes only the low 16 bits of the register; CF is the carry out of bit 15
    let code = [
        0x01, 0xD8, // add ax, bx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0x1234_0001);
        s.cpu.set_reg32(Reg32::EBX, 0xABCD_FFFF);
    });
    assert_eq!(eax(&sys), 0x1234_0000);
    assert_flags(&sys, &[(CF, true), (ZF, true)]);
}

#[test]
fn address_size_prefix_base_plus_disp8() {
    // 32-bit ModR/M mod=01: offset = base + sign-extended disp8 (17.2.1, Table 17-3)
    let code = [
        0x66, 0x67, 0x8B, 0x43, 0x04, // mov eax, [ebx+4]
        0x67, 0x8B, 0x4B, 0xFE, // mov cx, [ebx-2]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EBX, 0x1000);
        wr32(s, DATA_SEG, 0x1004, 0xDEAD_BEEF);
        wr16(s, DATA_SEG, 0x0FFE, 0x5A5A);
    });
    assert_completed(&sys, &code);
    assert_eq!(eax(&sys), 0xDEAD_BEEF);
    assert_eq!(sys.cpu.reg16(Reg16::CX), 0x5A5A);
}

#[test]
fn sib_base_plus_scaled_index_plus_disp32() {
    // SIB: offset = base + index * 2^scale + displacement (17.2.1, Table 17-4)
    let code = [
        0x66, 0x67, 0x8B, 0x84, 0x8B, 0x00, 0x10, 0x00, 0x00, // mov eax, [ebx+ecx*4+0x1000]
        0x67, 0x8B, 0x54, 0xFE, 0x10, // mov dx, [esi+edi*8+0x10]
        0x67, 0x8B, 0x2C, 0x7E, // mov bp, [esi+edi*2]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EBX, 0x0200);
        s.cpu.set_reg32(Reg32::ECX, 0x0030);
        s.cpu.set_reg32(Reg32::ESI, 0x0100);
        s.cpu.set_reg32(Reg32::EDI, 0x0020);
        wr32(s, DATA_SEG, 0x12C0, 0x0BAD_F00D); // 200h + 30h*4 + 1000h
        wr16(s, DATA_SEG, 0x0210, 0x1111); // 100h + 20h*8 + 10h
        wr16(s, DATA_SEG, 0x0140, 0x2222); // 100h + 20h*2
    });
    assert_completed(&sys, &code);
    assert_eq!(eax(&sys), 0x0BAD_F00D);
    assert_eq!(sys.cpu.reg16(Reg16::DX), 0x1111);
    assert_eq!(sys.cpu.reg16(Reg16::BP), 0x2222);
}

#[test]
fn disp32_alone_and_scaled_index_without_base() {
    // mod=00 r/m=101 is [disp32]; SIB base=101 with mod=00 is [index*scale + disp32]; with 67h
    // moffs is a 32-bit offset (17.2.1, Tables 17-3/17-4; MOV moffs)
    let code = [
        0x67, 0x8B, 0x0D, 0x34, 0x12, 0x00, 0x00, // mov cx, [dword 0x1234]
        0x67, 0x8B, 0x14, 0x8D, 0x00, 0x01, 0x00, 0x00, // mov dx, [ecx*4+0x100]
        0x66, 0x67, 0xA1, 0x00, 0x30, 0x00, 0x00, // mov eax, [dword 0x3000] (moffs32)
        0x67, 0x89, 0x1D, 0x40, 0x30, 0x00, 0x00, // mov [dword 0x3040], bx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::BX, 0x7E57);
        wr16(s, DATA_SEG, 0x1234, 0x0010);
        wr16(s, DATA_SEG, 0x0140, 0xB2B2); // 10h * 4 + 100h
        wr32(s, DATA_SEG, 0x3000, 0xC3C3_C3C3);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg16(Reg16::CX), 0x0010);
    assert_eq!(sys.cpu.reg16(Reg16::DX), 0xB2B2);
    assert_eq!(eax(&sys), 0xC3C3_C3C3);
    assert_eq!(rd16(&sys, DATA_SEG, 0x3040), 0x7E57);
}

#[test]
fn addr32_offset_arithmetic_wraps_modulo_4g() {
    // A 32-bit effective address is a 32-bit sum: FFFFFFF0h + 20h = 00000010h (17.2.1)
    let code = [
        0x67, 0x8B, 0x04, 0x0B, // mov ax, [ebx+ecx]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EBX, 0xFFFF_FFF0);
        s.cpu.set_reg32(Reg32::ECX, 0x20);
        wr16(s, DATA_SEG, 0x10, 0x600D);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg16(Reg16::AX), 0x600D);
}

#[test]
fn operand_size_prefix_push_pop_32bit_registers() {
    // PUSH/POP with OperandSize = 32 move doublewords, SP changes by 4; PUSH imm8 is
    // sign-extended (17.2.2.11 PUSH, POP)
    let code = [
        0x66, 0x50, // push eax
        0x66, 0x6A, 0x80, // push dword -128
        0x66, 0x5B, // pop ebx
        0x66, 0x59, // pop ecx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| s.cpu.set_reg32(Reg32::EAX, 0x1234_5678));
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg32(Reg32::EBX), 0xFFFF_FF80);
    assert_eq!(sys.cpu.reg32(Reg32::ECX), 0x1234_5678);
    assert_eq!(rd32(&sys, STACK_SEG, 0xFFEC), 0x1234_5678);
    assert_eq!(rd32(&sys, STACK_SEG, 0xFFE8), 0xFFFF_FF80);
    assert_eq!(sys.cpu.reg16(Reg16::SP), STACK_TOP);
}

#[test]
fn call_and_ret_with_32bit_operand_size() {
    // CALL rel32: Push(EIP) as a doubleword, EIP := EIP + rel32; RET (66h): EIP := Pop()
    // doubleword (17.2.2.11 CALL, RET)
    let code = [
        0x66, 0xE8, 0xFA, 0x00, 0x00, 0x00, // call dword 0x0200
        0xF4, // hlt
    ];
    let sys = run(&code, |s| wr_bytes(s, CODE_SEG, 0x200, &[0x66, 0xC3])); // o32 ret
    assert_completed(&sys, &code);
    assert_eq!(rd32(&sys, STACK_SEG, 0xFFEC), 0x0000_0106);
    assert_eq!(sys.cpu.reg16(Reg16::SP), STACK_TOP);
}

#[test]
fn esp_base_defaults_to_ss() {
    // A 32-bit address with ESP as base register uses SS by default (17.2.1; chapter 2 default segment
    // selection: "ESP or EBP as base register: SS")
    let code = [
        0x67, 0x8B, 0x44, 0x24, 0x02, // mov ax, [esp+2]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        wr16(s, STACK_SEG, 0xFFF2, 0x55AA);
        wr16(s, DATA_SEG, 0xFFF2, 0x1111);
    });
    assert_eq!(sys.cpu.reg16(Reg16::AX), 0x55AA);
}

#[test]
fn ebp_base_defaults_to_ss_but_ebp_index_does_not() {
    // The default segment follows the base register: EBP base -> SS, EBX base with EBP as
    // index -> DS; a segment override prefix wins (17.2.1; chapter 2 default segment rules)
    let code = [
        0x67, 0x8B, 0x44, 0x4D, 0x08, // mov ax, [ebp+ecx*2+8]
        0x67, 0x8B, 0x95, 0x00, 0x10, 0x00, 0x00, // mov dx, [ebp+0x1000]
        0x67, 0x8B, 0x34, 0x2B, // mov si, [ebx+ebp]
        0x3E, 0x67, 0x8B, 0x7D, 0x00, // mov di, ds:[ebp]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EBP, 0x0100);
        s.cpu.set_reg32(Reg32::ECX, 4);
        s.cpu.set_reg32(Reg32::EBX, 0x0020);
        for seg in [STACK_SEG, DATA_SEG] {
            let tag = if seg == STACK_SEG { 0x5500 } else { 0xDD00 };
            wr16(s, seg, 0x0110, tag | 1);
            wr16(s, seg, 0x1100, tag | 2);
            wr16(s, seg, 0x0120, tag | 3);
            wr16(s, seg, 0x0100, tag | 4);
        }
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg16(Reg16::AX), 0x5501);
    assert_eq!(sys.cpu.reg16(Reg16::DX), 0x5502);
    assert_eq!(sys.cpu.reg16(Reg16::SI), 0xDD03);
    assert_eq!(sys.cpu.reg16(Reg16::DI), 0xDD04);
}

// ----- FS and GS -------------------------------------------------------------------------------

#[test]
fn mov_fs_gs_and_segment_override_prefixes() {
    // MOV Sreg,r/m16 / MOV r/m16,Sreg; in real mode base = selector * 16; 64h/65h select FS/GS
    // (17.2.2.11 MOV, 17.2.1 segment override prefixes)
    let code = [
        0x8E, 0xE0, // mov fs, ax
        0x8E, 0xE9, // mov gs, cx
        0x64, 0x8B, 0x17, // mov dx, fs:[bx]
        0x65, 0x89, 0x57, 0x02, // mov gs:[bx+2], dx
        0x8C, 0xE6, // mov si, fs
        0x8C, 0xEF, // mov di, gs
        0x64, 0x66, 0x67, 0x8B, 0x2C, 0x4B, // mov ebp, fs:[ebx+ecx*2]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::AX, 0x5000);
        s.cpu.set_reg16(Reg16::CX, 0x6000);
        s.cpu.set_reg32(Reg32::EBX, 0x10);
        wr16(s, 0x5000, 0x10, 0xF5F5);
        wr32(s, 0x5000, 0xC010, 0x0F5F_5F5F); // 10h + 6000h*2
        wr16(s, DATA_SEG, 0x10, 0x1111);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.sreg(SegReg::FS), 0x5000);
    assert_eq!(sys.cpu.sreg(SegReg::GS), 0x6000);
    assert_eq!(sys.cpu.reg16(Reg16::DX), 0xF5F5);
    assert_eq!(rd16(&sys, 0x6000, 0x12), 0xF5F5);
    assert_eq!(sys.cpu.reg16(Reg16::SI), 0x5000);
    assert_eq!(sys.cpu.reg16(Reg16::DI), 0x6000);
    assert_eq!(sys.cpu.reg32(Reg32::EBP), 0x0F5F_5F5F);
}

#[test]
fn fs_override_applies_to_the_string_source_only() {
    // MOVS: a segment override changes the source segment; the destination is always ES
    // (17.2.2.11 MOVS)
    let code = [
        0x64, 0x66, 0xA5, // movsd fs:[si] -> es:[di]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_sreg(SegReg::FS, 0x5000);
        s.cpu.set_reg16(Reg16::SI, 0x10);
        s.cpu.set_reg16(Reg16::DI, 0x20);
        wr32(s, 0x5000, 0x10, 0xF5F5_F5F5);
        wr32(s, DATA_SEG, 0x10, 0xDDDD_DDDD);
    });
    assert_completed(&sys, &code);
    assert_eq!(rd32(&sys, EXTRA_SEG, 0x20), 0xF5F5_F5F5);
    assert_eq!(rd32(&sys, 0x5000, 0x20), 0);
}

#[test]
fn push_pop_fs_gs() {
    // PUSH Sreg: SP := SP - 2, (SS:SP) := Sreg; POP Sreg: Sreg := (SS:SP), SP := SP + 2
    // (17.2.2.11 PUSH, POP)
    let code = [
        0x0F, 0xA0, // push fs
        0x0F, 0xA8, // push gs
        0x0F, 0xA1, // pop fs
        0x0F, 0xA9, // pop gs
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_sreg(SegReg::FS, 0x5000);
        s.cpu.set_sreg(SegReg::GS, 0x6000);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.sreg(SegReg::FS), 0x6000);
    assert_eq!(sys.cpu.sreg(SegReg::GS), 0x5000);
    assert_eq!(sys.cpu.segment(SegReg::FS).base, 0x60000);
    assert_eq!(sys.cpu.reg16(Reg16::SP), STACK_TOP);
    assert_eq!(rd16(&sys, STACK_SEG, 0xFFEE), 0x5000);
    assert_eq!(rd16(&sys, STACK_SEG, 0xFFEC), 0x6000);
}

#[test]
fn push_pop_fs_gs_with_32bit_operand_size() {
    // PUSH/POP with OperandSize = 32 move a doubleword: SP changes by 4; the selector is the
    // low word (17.2.2.11 PUSH, POP)
    let code = [
        0x66, 0x0F, 0xA0, // push fs (o32)
        0x89, 0xE6, // mov si, sp
        0x66, 0x0F, 0xA9, // pop gs (o32)
        0xF4, // hlt
    ];
    let sys = run(&code, |s| s.cpu.set_sreg(SegReg::FS, 0x5000));
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg16(Reg16::SI), STACK_TOP - 4);
    assert_eq!(rd16(&sys, STACK_SEG, 0xFFEC), 0x5000);
    assert_eq!(sys.cpu.sreg(SegReg::GS), 0x5000);
    assert_eq!(sys.cpu.reg16(Reg16::SP), STACK_TOP);
}
