//! Control, debug and system registers, invalid opcodes in real mode, ICEBP and segment-limit faults.

use crate::harness::*;

// ----- control, debug and system registers ----------------------------------------------------

#[test]
fn mov_cr0_cr2_cr3_round_trip() {
    // MOV CRn, r32 / MOV r32, CRn move all 32 bits, whatever the operand size (17.2.2.11 MOV
    // to/from special registers)
    let code = [
        0x0F, 0x20, 0xC0, // mov eax, cr0
        0x66, 0x83, 0xC8, 0x0A, // or eax, 0x0A (MP and TS)
        0x0F, 0x22, 0xC0, // mov cr0, eax
        0x0F, 0x20, 0xC1, // mov ecx, cr0
        0x0F, 0x22, 0xD2, // mov cr2, edx
        0x0F, 0x20, 0xD6, // mov esi, cr2
        0x0F, 0x22, 0xDB, // mov cr3, ebx
        0x0F, 0x20, 0xDF, // mov edi, cr3
        0xF4, // hlt
    ];
    let initial = machine(true).cpu.cr0();
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EDX, 0x1234_5678);
        s.cpu.set_reg32(Reg32::EBX, 0x00AB_C000);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg32(Reg32::ECX), initial | 0x0A);
    assert_eq!(sys.cpu.cr0(), initial | 0x0A);
    assert_eq!(sys.cpu.reg32(Reg32::ESI), 0x1234_5678);
    assert_eq!(sys.cpu.reg32(Reg32::EDI), 0x00AB_C000);
}

#[test]
fn mov_debug_registers_round_trip() {
    // MOV DRn, r32 / MOV r32, DRn for DR0-DR3 and DR7 (no enable bits set) (17.2.2.11 MOV
    // to/from special registers; chapter 12 debug registers)
    let code = [
        0x0F, 0x23, 0xC0, // mov dr0, eax
        0x0F, 0x23, 0xCB, // mov dr1, ebx
        0x0F, 0x23, 0xD1, // mov dr2, ecx
        0x0F, 0x23, 0xDA, // mov dr3, edx
        0x0F, 0x23, 0xFB, // mov dr7, ebx
        0x0F, 0x21, 0xC6, // mov esi, dr0
        0x0F, 0x21, 0xCF, // mov edi, dr1
        0x0F, 0x21, 0xD5, // mov ebp, dr2
        0x0F, 0x21, 0xD8, // mov eax, dr3
        0x0F, 0x21, 0xF9, // mov ecx, dr7
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0x1111_0000);
        s.cpu.set_reg32(Reg32::EBX, 0x2222_0000);
        s.cpu.set_reg32(Reg32::ECX, 0x3333_0000);
        s.cpu.set_reg32(Reg32::EDX, 0x4444_0000);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg32(Reg32::ESI), 0x1111_0000);
    assert_eq!(sys.cpu.reg32(Reg32::EDI), 0x2222_0000);
    assert_eq!(sys.cpu.reg32(Reg32::EBP), 0x3333_0000);
    assert_eq!(eax(&sys), 0x4444_0000);
    // DR7 bit 10 reads as 1 on the 80386 (12.2, figure 12-1); no L/G bit is set, so no
    // breakpoint is armed.
    assert_eq!(sys.cpu.reg32(Reg32::ECX), 0x2222_0400);
}

#[test]
fn lmsw_loads_the_flags_of_cr0_and_smsw_reads_them() {
    // LMSW: MSW := r/m16 (PE, MP, EM, TS in CR0 bits 0-3); SMSW: r/m16 := MSW (17.2.2.11 LMSW,
    // SMSW)
    let code = [
        0x0F, 0x01, 0xF0, // lmsw ax
        0x0F, 0x01, 0xE1, // smsw cx
        0x0F, 0x01, 0x27, // smsw [bx]
        0xF4, // hlt
    ];
    let initial = machine(true).cpu.cr0();
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::AX, 0x000A); // MP and TS, PE stays 0
        s.cpu.set_reg16(Reg16::BX, 0x10);
    });
    assert_completed(&sys, &code);
    let expected = (initial & !0xF) | 0xA;
    assert_eq!(sys.cpu.cr0(), expected);
    assert_eq!(u32::from(sys.cpu.reg16(Reg16::CX)), expected & 0xFFFF);
    assert_eq!(u32::from(rd16(&sys, DATA_SEG, 0x10)), expected & 0xFFFF);
}

#[test]
fn lgdt_32_then_sgdt_16_stores_24bit_base_and_zero() {
    // LGDT with OperandSize = 32 loads limit and a 32-bit base; SGDT with OperandSize = 16 on
    // the 80386 stores the limit, 24 bits of base and 00h; with 32 the whole base
    // (17.2.2.11 LGDT/LIDT, SGDT/SIDT and its compatibility note)
    let code = [
        0x66, 0x0F, 0x01, 0x17, // lgdt [bx] (o32)
        0x0F, 0x01, 0x47, 0x08, // sgdt [bx+8]
        0x66, 0x0F, 0x01, 0x47, 0x10, // sgdt [bx+16] (o32)
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        wr_bytes(s, DATA_SEG, 0, &[0x34, 0x12, 0x56, 0x34, 0x12, 0xAB]);
        wr_bytes(s, DATA_SEG, 8, &[0xEE; 16]);
    });
    assert_completed(&sys, &code);
    assert_eq!(
        (sys.cpu.gdtr().base, sys.cpu.gdtr().limit),
        (0xAB12_3456, 0x1234)
    );
    assert_eq!(
        rd_bytes(&sys, DATA_SEG, 8, 6),
        [0x34, 0x12, 0x56, 0x34, 0x12, 0x00]
    );
    assert_eq!(
        rd_bytes(&sys, DATA_SEG, 16, 6),
        [0x34, 0x12, 0x56, 0x34, 0x12, 0xAB]
    );
}

#[test]
fn lgdt_16_loads_a_24bit_base() {
    // LGDT with OperandSize = 16: GDTR.Limit:Base := m16:24, the high base byte is 0
    // (17.2.2.11 LGDT/LIDT)
    let code = [
        0x0F, 0x01, 0x17, // lgdt [bx]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        wr_bytes(s, DATA_SEG, 0, &[0xFF, 0x00, 0x78, 0x56, 0x34, 0x12]);
    });
    assert_completed(&sys, &code);
    assert_eq!(
        (sys.cpu.gdtr().base, sys.cpu.gdtr().limit),
        (0x0034_5678, 0x00FF)
    );
}

#[test]
fn lidt_and_sidt() {
    // LIDT/SIDT behave as LGDT/SGDT on the IDTR (17.2.2.11 LGDT/LIDT, SGDT/SIDT)
    let code = [
        0x0F, 0x01, 0x1F, // lidt [bx]
        0x0F, 0x01, 0x4F, 0x08, // sidt [bx+8]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        wr_bytes(s, DATA_SEG, 0, &[0xFF, 0x03, 0x00, 0x10, 0x02, 0x99]);
        wr_bytes(s, DATA_SEG, 8, &[0xEE; 8]);
    });
    assert_completed(&sys, &code);
    assert_eq!(
        (sys.cpu.idtr().base, sys.cpu.idtr().limit),
        (0x0002_1000, 0x03FF)
    );
    assert_eq!(
        rd_bytes(&sys, DATA_SEG, 8, 8),
        [0xFF, 0x03, 0x00, 0x10, 0x02, 0x00, 0xEE, 0xEE]
    );

    let code = [
        0x66, 0x0F, 0x01, 0x1F, // lidt [bx] (o32)
        0x66, 0x0F, 0x01, 0x4F, 0x08, // sidt [bx+8] (o32)
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        wr_bytes(s, DATA_SEG, 0, &[0xFF, 0x03, 0x00, 0x10, 0x02, 0x99]);
    });
    assert_eq!(
        (sys.cpu.idtr().base, sys.cpu.idtr().limit),
        (0x9902_1000, 0x03FF)
    );
    assert_eq!(
        rd_bytes(&sys, DATA_SEG, 8, 6),
        [0xFF, 0x03, 0x00, 0x10, 0x02, 0x99]
    );
}

// ----- invalid opcodes in real mode ------------------------------------------------------------

/// Runs `nop; <bytes>; hlt` and expects interrupt 6 with the pushed IP at `<bytes>`.
fn assert_invalid_opcode(bytes: &[u8]) {
    let mut code = vec![0x90];
    code.extend_from_slice(bytes);
    code.push(0xF4);
    let sys = run(&code, |_| {});
    let (ip, cs, _) = frame(&sys, UD);
    assert_eq!((cs, ip), (CODE_SEG, CODE_OFF + 1), "{bytes:02X?}");
}

#[test]
fn group_0f00_is_invalid_in_real_mode() {
    // SLDT, STR, LLDT, LTR, VERR, VERW: "Interrupt 6; ... not recognized in Real Address Mode"
    // (17.2.2.11 SLDT, STR, LLDT, LTR, VERR/VERW)
    assert_invalid_opcode(&[0x0F, 0x00, 0xC0]); // sldt ax
    assert_invalid_opcode(&[0x0F, 0x00, 0xC8]); // str ax
    assert_invalid_opcode(&[0x0F, 0x00, 0xD0]); // lldt ax
    assert_invalid_opcode(&[0x0F, 0x00, 0xD8]); // ltr ax
    assert_invalid_opcode(&[0x0F, 0x00, 0xE0]); // verr ax
    assert_invalid_opcode(&[0x0F, 0x00, 0xE8]); // verw ax
    assert_invalid_opcode(&[0x0F, 0x00, 0x07]); // sldt [bx]
    assert_invalid_opcode(&[0x3E, 0x0F, 0x00, 0x2F]); // verw ds:[bx] (address of the prefix)
}

#[test]
fn lar_lsl_arpl_are_invalid_in_real_mode() {
    // LAR, LSL, ARPL: "Interrupt 6; ... not recognized in Real Address Mode" (17.2.2.11 LAR,
    // LSL, ARPL)
    assert_invalid_opcode(&[0x0F, 0x02, 0xC0]); // lar ax, ax
    assert_invalid_opcode(&[0x0F, 0x03, 0xC0]); // lsl ax, ax
    assert_invalid_opcode(&[0x66, 0x0F, 0x03, 0x07]); // lsl eax, [bx]
    assert_invalid_opcode(&[0x63, 0xC0]); // arpl ax, ax
}

#[test]
fn lock_prefix_on_a_non_lockable_instruction_is_invalid() {
    // LOCK: "An undefined opcode trap will be generated if a LOCK prefix is used with any
    // instruction not listed" (only memory destinations of BT*, XCHG, ADD, ..., NOT, NEG,
    // INC, DEC) (17.2.2.11 LOCK)
    assert_invalid_opcode(&[0xF0, 0x90]); // lock nop
    assert_invalid_opcode(&[0xF0, 0x01, 0xC0]); // lock add ax, ax
    assert_invalid_opcode(&[0xF0, 0x8B, 0x07]); // lock mov ax, [bx]
    assert_invalid_opcode(&[0xF0, 0x66, 0x0F, 0xAB, 0xC8]); // lock bts eax, ecx
}

#[test]
fn lock_prefix_on_a_memory_add_is_allowed() {
    // LOCK ADD mem, reg is in the list of lockable instructions (17.2.2.11 LOCK)
    let code = [
        0xF0, 0x01, 0x07, // lock add [bx], ax
        0xF0, 0x66, 0x0F, 0xAB, 0x4F, 0x04, // lock bts [bx+4], ecx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::AX, 0x0101);
        s.cpu.set_reg32(Reg32::ECX, 4);
        wr16(s, DATA_SEG, 0, 0x1010);
    });
    assert_completed(&sys, &code);
    assert_eq!(rd16(&sys, DATA_SEG, 0), 0x1111);
    assert_eq!(rd32(&sys, DATA_SEG, 4), 0x10);
}

#[test]
fn lock_prefix_on_xchg_memory_is_allowed() {
    // The 80386 LOCK list includes "XCHG reg, mem" and "XCHG mem, reg" (17.2.2.11 LOCK)
    let code = [
        0xF0, 0x87, 0x4F, 0x02, // lock xchg [bx+2], cx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::CX, 0xC0C0);
        wr16(s, DATA_SEG, 2, 0x2222);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg16(Reg16::CX), 0x2222);
    assert_eq!(rd16(&sys, DATA_SEG, 2), 0xC0C0);
}

#[test]
fn lock_prefix_on_bt_memory_is_allowed() {
    // The 80386 LOCK list reads "BT, BTS, BTR, BTC mem, reg/imm" (17.2.2.11 LOCK): no #UD
    let code = [
        0xF0, 0x0F, 0xA3, 0x07, // lock bt [bx], ax
        0xF0, 0x0F, 0xBA, 0x27, 0x05, // lock bt word [bx], 5
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::AX, 4);
        wr16(s, DATA_SEG, 0, 0x0010);
    });
    assert_completed(&sys, &code);
    assert_flags(&sys, &[(CF, false)]);
    assert_eq!(rd16(&sys, DATA_SEG, 0), 0x0010);
}

#[test]
fn mov_to_cs_is_invalid() {
    // MOV Sreg, r/m16 cannot load CS (8E /1): invalid opcode (17.2.2.11 MOV; Intel SDM #UD)
    assert_invalid_opcode(&[0x8E, 0xC8]); // mov cs, ax
    assert_invalid_opcode(&[0x8E, 0x0F]); // mov cs, [bx]
}

#[test]
fn system_instructions_with_register_operands_are_invalid() {
    // SGDT/SIDT: "Interrupt 6 if the destination operand is a register"; BOUND: Interrupt 6 if
    // the second operand is a register (17.2.2.11 SGDT/SIDT, BOUND)
    assert_invalid_opcode(&[0x0F, 0x01, 0xC0]); // sgdt with mod = 11
    assert_invalid_opcode(&[0x0F, 0x01, 0xC8]); // sidt with mod = 11
    assert_invalid_opcode(&[0x66, 0x62, 0xC0]); // bound eax, eax
}

// ----- ICEBP and segment-limit faults ----------------------------------------------------------

#[test]
fn icebp_raises_interrupt_1_after_the_instruction() {
    // F1 (ICEBP, undocumented in the 1986 PRM) acts as INT 1: push FLAGS, CS, IP of the next
    // instruction; IF := 0, TF := 0 (17.2.2.11 INT/INTO, real-address-mode operation)
    let code = [
        0x90, // nop
        0xF1, // icebp
        0x90, // nop
        0xF4, // hlt
    ];
    let sys = run(&code, |s| s.cpu.set_flags(IF | CF));
    let (ip, cs, flags) = frame(&sys, DB);
    assert_eq!((cs, ip), (CODE_SEG, CODE_OFF + 2));
    assert_eq!(u32::from(flags) & (IF | CF), IF | CF);
    assert_flags(&sys, &[(IF, false), (TF, false), (CF, true)]);
    assert_eq!(sys.cpu.reg16(Reg16::SP), STACK_TOP - 6);
}

#[test]
fn addr32_offset_beyond_64k_raises_gp() {
    // "Interrupt 13 if any part of the operand would lie outside of the effective address
    // space from 0 to 0FFFFH" (17.2.2.11 MOV, real-address-mode exceptions)
    let cases: [(&[u8], Reg32, u32); 4] = [
        (&[0x67, 0x8B, 0x03, 0xF4], Reg32::EBX, 0x1_0000), // mov ax, [ebx]
        (&[0x67, 0x8B, 0x07, 0xF4], Reg32::EDI, 0x1_0000), // mov ax, [edi]
        (&[0x67, 0x8B, 0x03, 0xF4], Reg32::EBX, 0xFFFF),   // word at FFFFh straddles the limit
        (&[0x66, 0x67, 0x89, 0x03, 0xF4], Reg32::EBX, 0xFFFD), // mov [ebx], eax: FFFDh..10000h
    ];
    for (code, reg, value) in cases {
        let sys = run(code, |s| s.cpu.set_reg32(reg, value));
        assert_interrupt(&sys, GP, CODE_OFF);
    }
}

#[test]
fn operands_ending_at_ffff_are_inside_the_limit() {
    // The last byte/word/dword that fits ends at offset FFFFh: no exception (17.2.2.11 MOV)
    let code = [
        0x67, 0x8A, 0x03, // mov al, [ebx]         EBX = FFFFh
        0x67, 0x8B, 0x4B, 0xFF, // mov cx, [ebx-1]  FFFEh
        0x66, 0x67, 0x8B, 0x53, 0xFD, // mov edx, [ebx-3]  FFFCh
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EBX, 0xFFFF);
        wr32(s, DATA_SEG, 0xFFFC, 0x4433_2211);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg8(Reg8::AL), 0x44);
    assert_eq!(sys.cpu.reg16(Reg16::CX), 0x4433);
    assert_eq!(sys.cpu.reg32(Reg32::EDX), 0x4433_2211);
}

#[test]
fn addr32_stack_offset_beyond_64k_raises_ss() {
    // An operand in the stack segment beyond offset FFFFh raises interrupt 12 (#SS) instead
    // of 13 (80386 PRM chapter 14, exceptions in real-address mode)
    let code = [
        0x67, 0x8B, 0x45, 0x00, // mov ax, [ebp]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| s.cpu.set_reg32(Reg32::EBP, 0x1_0000));
    assert_interrupt(&sys, SS_FAULT, CODE_OFF);
}

#[test]
fn addr32_esp_base_beyond_64k_raises_ss() {
    // [ESP] is a stack-segment operand: beyond offset FFFFh it raises interrupt 12 (#SS)
    // (80386 PRM, exceptions in real-address mode)
    let code = [
        0x67, 0x8B, 0x04, 0x24, // mov ax, [esp]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| s.cpu.set_reg32(Reg32::ESP, 0x1_0000));
    let (ip, cs, _) = frame(&sys, SS_FAULT);
    assert_eq!((cs, ip), (CODE_SEG, CODE_OFF));
}

#[test]
fn pop_of_a_word_at_ffff_raises_ss() {
    // POP of a word at SS:FFFFh: part of the operand lies beyond FFFFh in the stack segment,
    // interrupt 12 (80386 PRM, exceptions in real-address mode)
    let code = [
        0x58, // pop ax
        0xF4, // hlt
    ];
    let sys = run(&code, |s| s.cpu.set_reg32(Reg32::ESP, 0xFFFF));
    let (ip, cs, _) = frame(&sys, SS_FAULT);
    assert_eq!((cs, ip), (CODE_SEG, CODE_OFF));
}

#[test]
fn fault_after_earlier_instructions_returns_to_the_faulting_one() {
    // Instructions before a fault complete; the fault pushes the address of the faulting
    // instruction's first prefix (80386 PRM chapter 9: faults restart the instruction)
    let code = [
        0x66, 0x40, // inc eax
        0x66, 0x67, 0x8B, 0x0B, // mov ecx, [ebx]  (EBX = 10000h: interrupt 13)
        0x66, 0x40, // inc eax
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EBX, 0x1_0000);
        s.cpu.set_reg32(Reg32::ECX, 0x5555);
    });
    assert_interrupt(&sys, GP, CODE_OFF + 2);
    assert_eq!(eax(&sys), 1);
    assert_eq!(sys.cpu.reg32(Reg32::ECX), 0x5555);
}

#[test]
fn ds_override_on_an_ebp_base_raises_gp_not_ss() {
    // With a DS override the operand is in DS, so the limit violation is interrupt 13
    // (17.2.1 segment override; real-address-mode exceptions)
    let code = [
        0x3E, 0x67, 0x8B, 0x45, 0x00, // mov ax, ds:[ebp]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| s.cpu.set_reg32(Reg32::EBP, 0x1_0000));
    assert_interrupt(&sys, GP, CODE_OFF);
}
