//! IMUL forms, CWDE/CDQ, 32-bit MUL/IMUL/DIV/IDIV and 32-bit shifts and rotates.

use crate::harness::*;

// ----- IMUL ------------------------------------------------------------------------------------

#[test]
fn imul_r16_rm16_overflow_sets_cf_and_of() {
    // IMUL r16,r/m16: r16 := low 16 bits of the signed product; CF = OF = 1 when the product
    // does not fit in 16 bits (17.2.2.11 IMUL)
    let code = [
        0x0F, 0xAF, 0xC3, // imul ax, bx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0xAAAA_0100);
        s.cpu.set_reg16(Reg16::BX, 0x0100);
    });
    assert_eq!(eax(&sys), 0xAAAA_0000);
    assert_flags(&sys, &[(CF, true), (OF, true)]);
}

#[test]
fn imul_r16_rm16_in_range_clears_cf_and_of() {
    // IMUL r16,r/m16: -3 * 7 = -21 fits: CF = OF = 0 (17.2.2.11 IMUL)
    let code = [
        0x0F, 0xAF, 0x0F, // imul cx, [bx]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::CX, 0xFFFD);
        s.cpu.set_reg16(Reg16::BX, 0x10);
        wr16(s, DATA_SEG, 0x10, 7);
        s.cpu.set_flags(CF | OF);
    });
    assert_eq!(sys.cpu.reg16(Reg16::CX), 0xFFEB);
    assert_flags(&sys, &[(CF, false), (OF, false)]);
}

#[test]
fn imul_r32_rm32() {
    // IMUL r32,r/m32: r32 := low 32 bits of the signed product; CF = OF = 1 iff it does not
    // fit (17.2.2.11 IMUL)
    let code = [
        0x66, 0x0F, 0xAF, 0xC3, // imul eax, ebx
        0xF4, // hlt
    ];
    // 10000h * 10000h = 1_0000_0000h: truncated to 0, overflow
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0x1_0000);
        s.cpu.set_reg32(Reg32::EBX, 0x1_0000);
    });
    assert_eq!(eax(&sys), 0);
    assert_flags(&sys, &[(CF, true), (OF, true)]);
    // -100000 * 20000 = -2_000_000_000 = 88CA6C00h fits
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, (-100_000i32) as u32);
        s.cpu.set_reg32(Reg32::EBX, 20_000);
        s.cpu.set_flags(CF | OF);
    });
    assert_eq!(eax(&sys), 0x88CA_6C00);
    assert_flags(&sys, &[(CF, false), (OF, false)]);
    // memory source: 66 0F AF 07  imul eax, [bx]; 3 * -5 = -15
    let code = [0x66, 0x0F, 0xAF, 0x07, 0xF4];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 3);
        s.cpu.set_reg16(Reg16::BX, 0x10);
        wr32(s, DATA_SEG, 0x10, (-5i32) as u32);
    });
    assert_eq!(eax(&sys), (-15i32) as u32);
    assert_flags(&sys, &[(CF, false), (OF, false)]);
}

#[test]
fn imul_three_operand_32bit() {
    // IMUL r32,r/m32,imm32/imm8 (69/6B, imm8 sign-extended): r32 := r/m32 * imm; CF = OF = 1
    // iff the signed product does not fit in 32 bits (17.2.2.11 IMUL)
    struct Case {
        code: &'static [u8],
        src: u32,
        dest: Reg32,
        product: u32,
        overflow: bool,
        memory: bool,
    }
    let cases = [
        // 66 69 C3 45 23 01 00  imul eax, ebx, 0x12345
        Case {
            code: &[0x66, 0x69, 0xC3, 0x45, 0x23, 0x01, 0x00, 0xF4],
            src: 0x100,
            dest: Reg32::EAX,
            product: 0x0123_4500,
            overflow: false,
            memory: false,
        },
        // 66 6B CB FE           imul ecx, ebx, -2
        Case {
            code: &[0x66, 0x6B, 0xCB, 0xFE, 0xF4],
            src: 1000,
            dest: Reg32::ECX,
            product: (-2000i32) as u32,
            overflow: false,
            memory: false,
        },
        // 66 69 D3 00 00 00 40  imul edx, ebx, 0x40000000
        Case {
            code: &[0x66, 0x69, 0xD3, 0x00, 0x00, 0x00, 0x40, 0xF4],
            src: 4,
            dest: Reg32::EDX,
            product: 0,
            overflow: true,
            memory: false,
        },
        // 66 6B 07 03           imul eax, [bx], 3   (3 * 7FFFFFFFh = 1_7FFFFFFDh)
        Case {
            code: &[0x66, 0x6B, 0x07, 0x03, 0xF4],
            src: 0x7FFF_FFFF,
            dest: Reg32::EAX,
            product: 0x7FFF_FFFD,
            overflow: true,
            memory: true,
        },
    ];
    for case in &cases {
        let sys = run(case.code, |s| {
            s.cpu.set_reg32(Reg32::EBX, case.src);
            if case.memory {
                s.cpu.set_reg32(Reg32::EBX, 0x10);
                wr32(s, DATA_SEG, 0x10, case.src);
            }
            s.cpu.set_flags(if case.overflow { 0 } else { CF | OF });
        });
        assert_completed(&sys, case.code);
        assert_eq!(sys.cpu.reg32(case.dest), case.product, "{:02X?}", case.code);
        assert_flags(&sys, &[(CF, case.overflow), (OF, case.overflow)]);
    }
}

// ----- CWDE / CDQ ------------------------------------------------------------------------------

#[test]
fn cwde_and_cdq_sign_extend() {
    // CWDE: EAX := SignExtend(AX); CDQ: EDX := sign of EAX repeated (17.2.2.11 CBW/CWDE,
    // CWD/CDQ)
    let code = [
        0x66, 0x98, // cwde
        0x66, 0x99, // cdq
        0xF4, // hlt
    ];
    let sys = run(&code, |s| s.cpu.set_reg32(Reg32::EAX, 0x1234_8000));
    assert_eq!(eax(&sys), 0xFFFF_8000);
    assert_eq!(sys.cpu.reg32(Reg32::EDX), 0xFFFF_FFFF);
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0xFFFF_7FFF);
        s.cpu.set_reg32(Reg32::EDX, 0x1234_5678);
    });
    assert_eq!(eax(&sys), 0x0000_7FFF);
    assert_eq!(sys.cpu.reg32(Reg32::EDX), 0);
}

// ----- 32-bit MUL / IMUL / DIV / IDIV ---------------------------------------------------------

#[test]
fn mul_32_produces_edx_eax() {
    // MUL r/m32: EDX:EAX := EAX * r/m32 (unsigned); CF = OF = 0 iff EDX = 0 (17.2.2.11 MUL)
    let code = [
        0x66, 0xF7, 0xE3, // mul ebx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0x8000_0001);
        s.cpu.set_reg32(Reg32::EBX, 4);
    });
    assert_eq!(sys.cpu.reg32(Reg32::EDX), 2);
    assert_eq!(eax(&sys), 4);
    assert_flags(&sys, &[(CF, true), (OF, true)]);
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 3);
        s.cpu.set_reg32(Reg32::EBX, 0xFFFF_FFFF / 3); // 55555555h
        s.cpu.set_reg32(Reg32::EDX, 0xDEAD);
        s.cpu.set_flags(CF | OF);
    });
    assert_eq!(sys.cpu.reg32(Reg32::EDX), 0);
    assert_eq!(eax(&sys), 0xFFFF_FFFF);
    assert_flags(&sys, &[(CF, false), (OF, false)]);
}

#[test]
fn imul_32_one_operand_produces_edx_eax() {
    // IMUL r/m32: EDX:EAX := EAX * r/m32 (signed); CF = OF = 0 iff EDX:EAX equals the sign
    // extension of EAX (17.2.2.11 IMUL)
    let code = [
        0x66, 0xF7, 0xEB, // imul ebx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, (-2i32) as u32);
        s.cpu.set_reg32(Reg32::EBX, 3);
        s.cpu.set_flags(CF | OF);
    });
    assert_eq!(sys.cpu.reg32(Reg32::EDX), 0xFFFF_FFFF);
    assert_eq!(eax(&sys), (-6i32) as u32);
    assert_flags(&sys, &[(CF, false), (OF, false)]);
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0x4000_0000);
        s.cpu.set_reg32(Reg32::EBX, (-4i32) as u32);
    });
    // -1_0000_0000h
    assert_eq!(sys.cpu.reg32(Reg32::EDX), 0xFFFF_FFFF);
    assert_eq!(eax(&sys), 0);
    assert_flags(&sys, &[(CF, true), (OF, true)]);
}

#[test]
fn div_32_divides_edx_eax() {
    // DIV r/m32: EAX := EDX:EAX / r/m32, EDX := remainder (unsigned) (17.2.2.11 DIV)
    let code = [
        0x66, 0xF7, 0xF3, // div ebx
        0xF4, // hlt
    ];
    // 1_0000_0000h / 3 = 55555555h remainder 1
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EDX, 1);
        s.cpu.set_reg32(Reg32::EAX, 0);
        s.cpu.set_reg32(Reg32::EBX, 3);
    });
    assert_completed(&sys, &code);
    assert_eq!(eax(&sys), 0x5555_5555);
    assert_eq!(sys.cpu.reg32(Reg32::EDX), 1);
}

#[test]
fn idiv_32_truncates_toward_zero() {
    // IDIV r/m32: EAX := EDX:EAX / r/m32 truncated toward zero, EDX := remainder with the sign
    // of the dividend (17.2.2.11 IDIV)
    let code = [
        0x66, 0xF7, 0xFB, // idiv ebx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EDX, 0xFFFF_FFFF);
        s.cpu.set_reg32(Reg32::EAX, (-7i32) as u32);
        s.cpu.set_reg32(Reg32::EBX, 2);
    });
    assert_completed(&sys, &code);
    assert_eq!(eax(&sys), (-3i32) as u32);
    assert_eq!(sys.cpu.reg32(Reg32::EDX), (-1i32) as u32);
}

#[test]
fn idiv_32_accepts_the_most_negative_quotient() {
    // IDIV faults only IF temp > 7FFFFFFFh OR temp < 80000000h: -80000000h / 1 is allowed
    // (17.2.2.11 IDIV)
    let code = [
        0x66, 0xF7, 0xFB, // idiv ebx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EDX, 0xFFFF_FFFF);
        s.cpu.set_reg32(Reg32::EAX, 0x8000_0000);
        s.cpu.set_reg32(Reg32::EBX, 1);
    });
    assert_completed(&sys, &code);
    assert_eq!(eax(&sys), 0x8000_0000);
    assert_eq!(sys.cpu.reg32(Reg32::EDX), 0);
}

#[test]
fn div_32_quotient_overflow_and_zero_divisor_raise_de() {
    // DIV: IF temp > FFFFFFFFh (or divisor = 0) THEN Interrupt 0; faults push the address of
    // the faulting instruction (17.2.2.11 DIV; chapter 9: interrupt 0 is a fault)
    let code = [
        0x90, // nop
        0x66, 0xF7, 0xF3, // div ebx
        0xF4, // hlt
    ];
    for (edx, ebx) in [(3u32, 3u32), (0, 0)] {
        let sys = run(&code, |s| {
            s.cpu.set_reg32(Reg32::EDX, edx);
            s.cpu.set_reg32(Reg32::EAX, 0x1234);
            s.cpu.set_reg32(Reg32::EBX, ebx);
        });
        assert_interrupt(&sys, DE, CODE_OFF + 1);
        assert_eq!(eax(&sys), 0x1234);
        assert_eq!(sys.cpu.reg32(Reg32::EDX), edx);
    }
}

#[test]
fn idiv_32_quotient_overflow_raises_de() {
    // IDIV: -80000000h / -1 = +80000000h > 7FFFFFFFh -> Interrupt 0 (17.2.2.11 IDIV)
    let code = [
        0x66, 0xF7, 0xFB, // idiv ebx
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EDX, 0xFFFF_FFFF);
        s.cpu.set_reg32(Reg32::EAX, 0x8000_0000);
        s.cpu.set_reg32(Reg32::EBX, 0xFFFF_FFFF);
    });
    assert_interrupt(&sys, DE, CODE_OFF);
}

// ----- 32-bit shifts and rotates ---------------------------------------------------------------

#[test]
fn shl_32_count_masked_to_5_bits() {
    // SAL/SHL: the count is masked to 5 bits (CL = 33 -> 1); CF := last bit out; for a count
    // of 1 OF := high bit of result XOR CF (17.2.2.11 SAL/SAR/SHL/SHR)
    let code = [
        0x66, 0xD3, 0xE0, // shl eax, cl
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0x8000_0001);
        s.cpu.set_reg8(Reg8::CL, 33);
    });
    assert_eq!(eax(&sys), 0x0000_0002);
    assert_flags(
        &sys,
        &[
            (CF, true),
            (OF, true),
            (SF, false),
            (ZF, false),
            (PF, false),
        ],
    );
}

#[test]
fn shr_32_imm8_count_masked_to_5_bits() {
    // SHR r/m32, imm8: count 36 -> 4; CF := last bit shifted out (bit 3) (17.2.2.11 SHR)
    let code = [
        0x66, 0xC1, 0xE8, 0x24, // shr eax, 36
        0xF4, // hlt
    ];
    let sys = run(&code, |s| s.cpu.set_reg32(Reg32::EAX, 0xF000_000F));
    assert_eq!(eax(&sys), 0x0F00_0000);
    assert_flags(&sys, &[(CF, true), (SF, false), (ZF, false), (PF, true)]);
}

#[test]
fn sar_32_by_31_fills_with_the_sign() {
    // SAR: CL = 3Fh -> 31; the sign bit is replicated; CF := bit 30 (17.2.2.11 SAR)
    let code = [
        0x66, 0xD3, 0xF8, // sar eax, cl
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0x8000_0000);
        s.cpu.set_reg8(Reg8::CL, 0x3F);
        s.cpu.set_flags(CF);
    });
    assert_eq!(eax(&sys), 0xFFFF_FFFF);
    assert_flags(&sys, &[(CF, false), (SF, true), (ZF, false), (PF, true)]);
}

#[test]
fn rol_32_count_masked_to_5_bits() {
    // ROL: CL = 21h -> 1; CF := bit rotated into bit 0; count 1: OF := high bit XOR CF
    // (17.2.2.11 RCL/RCR/ROL/ROR)
    let code = [
        0x66, 0xD3, 0xC0, // rol eax, cl
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0x8000_0000);
        s.cpu.set_reg8(Reg8::CL, 0x21);
    });
    assert_eq!(eax(&sys), 0x0000_0001);
    assert_flags(&sys, &[(CF, true), (OF, true)]);
}

#[test]
fn rol_16_count_masked_to_5_bits_then_rotates() {
    // ROL r/m16, CL: CL = 34h -> 20 single rotations = rotation by 4 (17.2.2.11 ROL)
    let code = [
        0xD3, 0xC0, // rol ax, cl
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0xFFFF_1234);
        s.cpu.set_reg8(Reg8::CL, 0x34);
    });
    assert_eq!(eax(&sys), 0xFFFF_2341);
    assert_flags(&sys, &[(CF, true)]);
}

#[test]
fn shift_count_masked_to_zero_leaves_the_operand() {
    // The count is masked to 5 bits: CL = 32 shifts by 0 and the operand is unchanged
    // (17.2.2.11 SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR)
    for code in [
        [0x66, 0xD3, 0xE0, 0xF4], // shl eax, cl
        [0x66, 0xD3, 0xE8, 0xF4], // shr eax, cl
        [0x66, 0xD3, 0xC8, 0xF4], // ror eax, cl
        [0x66, 0xD3, 0xD0, 0xF4], // rcl eax, cl
    ] {
        let sys = run(&code, |s| {
            s.cpu.set_reg32(Reg32::EAX, 0x1234_5678);
            s.cpu.set_reg8(Reg8::CL, 32);
        });
        assert_eq!(eax(&sys), 0x1234_5678, "{code:02X?}");
    }
}
