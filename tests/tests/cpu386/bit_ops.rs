//! MOVZX/MOVSX, BT/BTS/BTR/BTC, BSF/BSR and SHLD/SHRD.

use crate::harness::*;

// ----- MOVZX / MOVSX ---------------------------------------------------------------------------

#[test]
fn movzx_register_sources() {
    // MOVZX: DEST := ZeroExtend(SRC) (17.2.2.11 MOVZX)
    let code = [
        0x0F, 0xB6, 0xC3, // movzx ax, bl
        0x66, 0x0F, 0xB7, 0xD3, // movzx edx, bx
        0x66, 0x0F, 0xB6, 0xCF, // movzx ecx, bh
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0xFFFF_FFFF);
        s.cpu.set_reg32(Reg32::EBX, 0xFFFF_9080);
        s.cpu.set_reg32(Reg32::ECX, 0xFFFF_FFFF);
        s.cpu.set_reg32(Reg32::EDX, 0xFFFF_FFFF);
    });
    assert_completed(&sys, &code);
    assert_eq!(eax(&sys), 0xFFFF_0080);
    assert_eq!(sys.cpu.reg32(Reg32::EDX), 0x0000_9080);
    assert_eq!(sys.cpu.reg32(Reg32::ECX), 0x0000_0090);
}

#[test]
fn movsx_register_sources() {
    // MOVSX: DEST := SignExtend(SRC) (17.2.2.11 MOVSX)
    let code = [
        0x66, 0x0F, 0xBE, 0xC3, // movsx eax, bl
        0x0F, 0xBE, 0xD3, // movsx dx, bl
        0x66, 0x0F, 0xBF, 0xCB, // movsx ecx, bx
        0x66, 0x0F, 0xBE, 0xF7, // movsx esi, bh
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EBX, 0x0000_8180);
        s.cpu.set_reg32(Reg32::EDX, 0x1234_0000);
    });
    assert_completed(&sys, &code);
    assert_eq!(eax(&sys), 0xFFFF_FF80);
    assert_eq!(sys.cpu.reg32(Reg32::EDX), 0x1234_FF80);
    assert_eq!(sys.cpu.reg32(Reg32::ECX), 0xFFFF_8180);
    assert_eq!(sys.cpu.reg32(Reg32::ESI), 0xFFFF_FF81);
}

#[test]
fn movzx_movsx_memory_sources() {
    // MOVZX/MOVSX read a byte or word from memory and zero/sign-extend it (17.2.2.11)
    let code = [
        0x66, 0x0F, 0xB6, 0x07, // movzx eax, byte [bx]
        0x66, 0x0F, 0xBF, 0x4F, 0x02, // movsx ecx, word [bx+2]
        0x0F, 0xBE, 0x57, 0x04, // movsx dx, byte [bx+4]
        0x66, 0x0F, 0xB7, 0x77, 0x02, // movzx esi, word [bx+2]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::BX, 0x40);
        wr_bytes(s, DATA_SEG, 0x40, &[0xF0, 0x00, 0x01, 0x80, 0x7F]);
    });
    assert_completed(&sys, &code);
    assert_eq!(eax(&sys), 0x0000_00F0);
    assert_eq!(sys.cpu.reg32(Reg32::ECX), 0xFFFF_8001);
    assert_eq!(sys.cpu.reg16(Reg16::DX), 0x007F);
    assert_eq!(sys.cpu.reg32(Reg32::ESI), 0x0000_8001);
}

// ----- BT / BTS / BTR / BTC ---------------------------------------------------------------------

#[test]
fn bt_register_base_takes_offset_modulo_operand_size() {
    // BT: CF := BIT[base, offset]; with a register base the offset is taken modulo 16 or 32
    // (17.2.2.11 BT)
    let code = [
        0x0F, 0xA3, 0xC8, // bt ax, cx
        0x0F, 0x92, 0xC2, // setc dl
        0x66, 0x0F, 0xA3, 0xC8, // bt eax, ecx
        0x0F, 0x92, 0xC6, // setc dh
        0xF4, // hlt
    ];
    // CX = 13h -> bit 3 of AX (set); ECX = 13h -> bit 19 of EAX (clear)
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0xFFF7_0008);
        s.cpu.set_reg32(Reg32::ECX, 0x13);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg8(Reg8::DL), 1);
    assert_eq!(sys.cpu.reg8(Reg8::DH), 0);
    // and ECX = 35 (mod 32 = 3) selects bit 3
    let code = [
        0x66, 0x0F, 0xA3, 0xC8, // bt eax, ecx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0x0000_0008);
        s.cpu.set_reg32(Reg32::ECX, 35);
    });
    assert_flags(&sys, &[(CF, true)]);
    assert_eq!(eax(&sys), 8);
}

#[test]
fn bts_memory_offset_beyond_the_operand() {
    // BTS with a memory base and a register offset addresses bit (offset MOD 8) of the byte at
    // EA + (offset DIV 8), even outside the word; CF := old bit, bit := 1 (17.2.2.11 BT, BTS)
    let code = [
        0x0F, 0xAB, 0x0F, // bts [bx], cx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::BX, 0x10);
        s.cpu.set_reg16(Reg16::CX, 35); // byte 10h + 4, bit 3
        s.cpu.set_flags(CF);
        wr_bytes(s, DATA_SEG, 0x10, &[0x00; 8]);
    });
    assert_completed(&sys, &code);
    assert_flags(&sys, &[(CF, false)]);
    assert_eq!(
        rd_bytes(&sys, DATA_SEG, 0x10, 8),
        [0, 0, 0, 0, 0x08, 0, 0, 0]
    );
}

#[test]
fn btr_memory_negative_offset() {
    // A negative register offset selects a bit below EA: offset -9 is bit 7 of the byte at
    // EA - 2; BTR: CF := old bit, bit := 0 (17.2.2.11 BT, BTR)
    let code = [
        0x0F, 0xB3, 0x0F, // btr [bx], cx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::BX, 0x10);
        s.cpu.set_reg16(Reg16::CX, 0xFFF7); // -9
        wr_bytes(s, DATA_SEG, 0x0C, &[0xFF; 8]);
    });
    assert_completed(&sys, &code);
    assert_flags(&sys, &[(CF, true)]);
    assert_eq!(
        rd_bytes(&sys, DATA_SEG, 0x0C, 8),
        [0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    );
}

#[test]
fn btc_memory_32bit_negative_offset() {
    // 32-bit offset -33 = bit 7 of the byte at EA - 5; BTC: CF := old bit, bit := NOT bit
    // (17.2.2.11 BT, BTC)
    let code = [
        0x66, 0x0F, 0xBB, 0x0F, // btc [bx], ecx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::BX, 0x20);
        s.cpu.set_reg32(Reg32::ECX, (-33i32) as u32);
        s.cpu.set_flags(CF);
        wr_bytes(s, DATA_SEG, 0x18, &[0x00; 12]);
    });
    assert_completed(&sys, &code);
    assert_flags(&sys, &[(CF, false)]);
    let mut expected = [0u8; 12];
    expected[3] = 0x80; // 1Bh
    assert_eq!(rd_bytes(&sys, DATA_SEG, 0x18, 12), expected);
}

#[test]
fn bt_memory_32bit_large_offset_does_not_modify() {
    // BT with offset 259 reads bit 3 of the byte at EA + 32 and changes no memory (17.2.2.11 BT)
    let code = [
        0x66, 0x0F, 0xA3, 0x0F, // bt [bx], ecx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::BX, 0x40);
        s.cpu.set_reg32(Reg32::ECX, 259);
        wr8(s, DATA_SEG, 0x60, 0x08);
    });
    assert_completed(&sys, &code);
    assert_flags(&sys, &[(CF, true)]);
    assert_eq!(rd8(&sys, DATA_SEG, 0x60), 0x08);
}

#[test]
fn bt_group_with_imm8() {
    // 0F BA /4-/7 ib: BT/BTS/BTR/BTC with an immediate bit offset (taken modulo 32 for a
    // 32-bit operand); CF := old bit (17.2.2.11 BT, BTS, BTR, BTC)
    struct Case {
        code: &'static [u8],
        before: u32,
        after: u32,
        cf: bool,
        memory: bool,
    }
    let cases = [
        // 0F BA E0 0F     bt ax, 15
        Case {
            code: &[0x0F, 0xBA, 0xE0, 0x0F, 0xF4],
            before: 0x8000,
            after: 0x8000,
            cf: true,
            memory: false,
        },
        // 66 0F BA E0 21  bt eax, 33  (33 mod 32 = bit 1)
        Case {
            code: &[0x66, 0x0F, 0xBA, 0xE0, 0x21, 0xF4],
            before: 0x0000_0002,
            after: 0x0000_0002,
            cf: true,
            memory: false,
        },
        // 0F BA 2F 03     bts word [bx], 3
        Case {
            code: &[0x0F, 0xBA, 0x2F, 0x03, 0xF4],
            before: 0x0000,
            after: 0x0008,
            cf: false,
            memory: true,
        },
        // 66 0F BA F0 1F  btr eax, 31
        Case {
            code: &[0x66, 0x0F, 0xBA, 0xF0, 0x1F, 0xF4],
            before: 0x8000_0001,
            after: 0x0000_0001,
            cf: true,
            memory: false,
        },
        // 0F BA 37 0F     btr word [bx], 15
        Case {
            code: &[0x0F, 0xBA, 0x37, 0x0F, 0xF4],
            before: 0x7FFF,
            after: 0x7FFF,
            cf: false,
            memory: true,
        },
        // 0F BA F8 09     btc ax, 9
        Case {
            code: &[0x0F, 0xBA, 0xF8, 0x09, 0xF4],
            before: 0x0200,
            after: 0x0000,
            cf: true,
            memory: false,
        },
        // 66 0F BA 3F 1E  btc dword [bx], 30
        Case {
            code: &[0x66, 0x0F, 0xBA, 0x3F, 0x1E, 0xF4],
            before: 0x0000_0000,
            after: 0x4000_0000,
            cf: false,
            memory: true,
        },
    ];
    for case in &cases {
        let sys = run(case.code, |s| {
            s.cpu.set_flags(if case.cf { 0 } else { CF });
            s.cpu.set_reg16(Reg16::BX, 0x80);
            if case.memory {
                wr32(s, DATA_SEG, 0x80, case.before);
            } else {
                s.cpu.set_reg32(Reg32::EAX, case.before);
            }
        });
        assert_completed(&sys, case.code);
        let value = if case.memory {
            rd32(&sys, DATA_SEG, 0x80)
        } else {
            eax(&sys)
        };
        assert_eq!(value, case.after, "{:02X?}", case.code);
        assert_flags(&sys, &[(CF, case.cf)]);
    }
}

// ----- BSF / BSR -------------------------------------------------------------------------------

#[test]
fn bsf_bsr_find_lowest_and_highest_set_bit() {
    // BSF/BSR: source nonzero -> ZF := 0, DEST := index of the least / most significant set bit
    // (17.2.2.11 BSF, BSR)
    let code = [
        0x0F, 0xBC, 0xC3, // bsf ax, bx
        0x0F, 0xBD, 0xCB, // bsr cx, bx
        0x66, 0x0F, 0xBC, 0xD6, // bsf edx, esi
        0x66, 0x0F, 0xBD, 0xEE, // bsr ebp, esi
        0x66, 0x0F, 0xBD, 0x3F, // bsr edi, [bx]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::BX, 0x0A00); // bits 9 and 11
        s.cpu.set_reg32(Reg32::ESI, 0x8002_0000); // bits 17 and 31
        s.cpu.set_flags(ZF);
        wr32(s, DATA_SEG, 0x0A00, 0x0000_0101); // bits 0 and 8
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg16(Reg16::AX), 9);
    assert_eq!(sys.cpu.reg16(Reg16::CX), 11);
    assert_eq!(sys.cpu.reg32(Reg32::EDX), 17);
    assert_eq!(sys.cpu.reg32(Reg32::EBP), 31);
    assert_eq!(sys.cpu.reg32(Reg32::EDI), 8);
    assert_flags(&sys, &[(ZF, false)]);
}

#[test]
fn bsf_bsr_zero_source_sets_zf() {
    // BSF/BSR: IF r/m = 0 THEN ZF := 1, DEST undefined (17.2.2.11 BSF, BSR)
    let codes: [&[u8]; 4] = [
        &[0x0F, 0xBC, 0xC3, 0xF4],       // bsf ax, bx
        &[0x0F, 0xBD, 0x07, 0xF4],       // bsr ax, [bx]
        &[0x66, 0x0F, 0xBC, 0xC3, 0xF4], // bsf eax, ebx
        &[0x66, 0x0F, 0xBD, 0xC3, 0xF4], // bsr eax, ebx
    ];
    for code in codes {
        let sys = run(code, |s| {
            s.cpu.set_reg32(Reg32::EBX, 0);
            s.cpu.set_flags(0);
        });
        assert_completed(&sys, code);
        assert_flags(&sys, &[(ZF, true)]);
    }
}

// ----- SHLD / SHRD -----------------------------------------------------------------------------

#[test]
fn shld_16_by_imm8() {
    // SHLD: DEST shifted left by count, vacated bits filled from the high bits of SRC;
    // CF := last bit shifted out; SF, ZF, PF by the result (17.2.2.11 SHLD)
    let code = [
        0x0F, 0xA4, 0xD8, 0x04, // shld ax, bx, 4
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::AX, 0x1234);
        s.cpu.set_reg16(Reg16::BX, 0xABCD);
    });
    assert_eq!(sys.cpu.reg16(Reg16::AX), 0x234A);
    assert_eq!(sys.cpu.reg16(Reg16::BX), 0xABCD);
    // CF = bit 12 of 1234h = 1; 4Ah has three one bits
    assert_flags(&sys, &[(CF, true), (SF, false), (ZF, false), (PF, false)]);
}

#[test]
fn shld_32_by_cl_fills_from_source() {
    // SHLD r/m32, r32, CL (17.2.2.11 SHLD): 12345678h:9ABCDEF0h << 8 -> 3456789Ah, CF = bit 24
    let code = [
        0x66, 0x0F, 0xA5, 0xD8, // shld eax, ebx, cl
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0x1234_5678);
        s.cpu.set_reg32(Reg32::EBX, 0x9ABC_DEF0);
        s.cpu.set_reg8(Reg8::CL, 8);
        s.cpu.set_flags(CF);
    });
    assert_eq!(eax(&sys), 0x3456_789A);
    assert_flags(&sys, &[(CF, false), (SF, false), (ZF, false), (PF, true)]);
}

#[test]
fn shrd_16_by_imm8() {
    // SHRD: DEST shifted right by count, vacated bits filled from the low bits of SRC;
    // CF := last bit shifted out (17.2.2.11 SHRD)
    let code = [
        0x0F, 0xAC, 0xD8, 0x04, // shrd ax, bx, 4
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::AX, 0x1234);
        s.cpu.set_reg16(Reg16::BX, 0xABCD);
        s.cpu.set_flags(CF);
    });
    assert_eq!(sys.cpu.reg16(Reg16::AX), 0xD123);
    // CF = bit 3 of 1234h = 0; 23h has three one bits
    assert_flags(&sys, &[(CF, false), (SF, true), (ZF, false), (PF, false)]);
}

#[test]
fn shrd_32_by_cl_count_masked_to_5_bits() {
    // SHRD: ShiftAmt := count MOD 32; CL = 36 shifts by 4 (17.2.2.11 SHRD)
    let code = [
        0x66, 0x0F, 0xAD, 0xD8, // shrd eax, ebx, cl
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0x1234_5678);
        s.cpu.set_reg32(Reg32::EBX, 0x9ABC_DEF1);
        s.cpu.set_reg8(Reg8::CL, 36);
    });
    assert_eq!(eax(&sys), 0x1123_4567);
    // CF = bit 3 of 12345678h = 1; 67h has five one bits
    assert_flags(&sys, &[(CF, true), (SF, false), (ZF, false), (PF, false)]);
}

#[test]
fn shld_memory_by_one_sets_of_on_sign_change() {
    // SHLD by 1: CF := bit 15 of the old value, OF := 1 when the sign bit changed
    // (17.2.2.11 SHLD; OF for single-bit shifts as for SAL)
    let code = [
        0x0F, 0xA4, 0x07, 0x01, // shld word [bx], ax, 1
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::BX, 0x10);
        s.cpu.set_reg16(Reg16::AX, 0x8000);
        wr16(s, DATA_SEG, 0x10, 0x4000);
    });
    assert_eq!(rd16(&sys, DATA_SEG, 0x10), 0x8001);
    assert_flags(&sys, &[(CF, false), (OF, true), (SF, true), (ZF, false)]);
}

#[test]
fn shrd_memory_32_by_cl() {
    // SHRD r/m32, r32, CL on a memory destination (17.2.2.11 SHRD): 0000FF00h:1 >> 8
    let code = [
        0x66, 0x0F, 0xAD, 0x07, // shrd dword [bx], eax, cl
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::BX, 0x10);
        s.cpu.set_reg32(Reg32::EAX, 0x0000_0001);
        s.cpu.set_reg8(Reg8::CL, 8);
        wr32(s, DATA_SEG, 0x10, 0x0000_FF00);
    });
    assert_eq!(rd32(&sys, DATA_SEG, 0x10), 0x0100_00FF);
    assert_flags(&sys, &[(CF, false), (SF, false), (ZF, false), (PF, true)]);
}

#[test]
fn shld_count_zero_after_masking_is_no_operation() {
    // SHLD: ShiftAmt := count MOD 32; IF ShiftAmt = 0 THEN no operation (17.2.2.11 SHLD)
    let code = [
        0x66, 0x0F, 0xA5, 0xD8, // shld eax, ebx, cl
        0xF4, // hlt
    ];
    let before = CF | ZF | SF | OF | PF;
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0x1234_5678);
        s.cpu.set_reg32(Reg32::EBX, 0x9ABC_DEF0);
        s.cpu.set_reg8(Reg8::CL, 32);
        s.cpu.set_flags(before);
    });
    assert_eq!(eax(&sys), 0x1234_5678);
    assert_eq!(sys.cpu.flags() & (CF | ZF | SF | OF | PF), before);
}
