//! LFS/LGS/LSS, PUSHAD/POPAD/PUSHFD/POPFD, ENTER/LEAVE and BOUND.

use crate::harness::*;

// ----- LFS / LGS / LSS -------------------------------------------------------------------------

#[test]
fn lfs_lgs_load_far_pointers() {
    // LFS/LGS: r := offset (16 or 32 bits), Sreg := the following word (17.2.2.11 LDS/LES/LFS/
    // LGS/LSS)
    let code = [
        0x0F, 0xB4, 0x07, // lfs ax, [bx]
        0x66, 0x0F, 0xB5, 0x77, 0x04, // lgs esi, [bx+4]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        wr16(s, DATA_SEG, 0, 0x1234);
        wr16(s, DATA_SEG, 2, 0x5000);
        wr32(s, DATA_SEG, 4, 0x89AB_CDEF);
        wr16(s, DATA_SEG, 8, 0x6000);
        s.cpu.set_reg32(Reg32::EAX, 0xFFFF_FFFF);
    });
    assert_completed(&sys, &code);
    assert_eq!(eax(&sys), 0xFFFF_1234);
    assert_eq!(sys.cpu.sreg(SegReg::FS), 0x5000);
    assert_eq!(sys.cpu.segment(SegReg::FS).base, 0x50000);
    assert_eq!(sys.cpu.reg32(Reg32::ESI), 0x89AB_CDEF);
    assert_eq!(sys.cpu.sreg(SegReg::GS), 0x6000);
    assert_eq!(sys.cpu.segment(SegReg::GS).base, 0x60000);
}

#[test]
fn lss_loads_the_stack_pointer() {
    // LSS: SP := word at EA, SS := word at EA+2; the next PUSH uses the new SS:SP
    // (17.2.2.11 LSS, PUSH)
    let code = [
        0x0F, 0xB2, 0x27, // lss sp, [bx]
        0x50, // push ax
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        wr16(s, DATA_SEG, 0, 0x0200);
        wr16(s, DATA_SEG, 2, 0x5000);
        s.cpu.set_reg16(Reg16::AX, 0xBEEF);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.sreg(SegReg::SS), 0x5000);
    assert_eq!(sys.cpu.reg16(Reg16::SP), 0x01FE);
    assert_eq!(rd16(&sys, 0x5000, 0x01FE), 0xBEEF);

    // with OperandSize = 32: ESP := dword at EA, SS := word at EA+4
    let code = [
        0x66, 0x0F, 0xB2, 0x27, // lss esp, [bx]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        wr32(s, DATA_SEG, 0, 0x0000_0300);
        wr16(s, DATA_SEG, 4, 0x5000);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.sreg(SegReg::SS), 0x5000);
    assert_eq!(sys.cpu.reg32(Reg32::ESP), 0x0300);
}

#[test]
fn lfs_with_register_operand_is_invalid_opcode() {
    // LFS: "Interrupt 6 if the second operand is a register" (17.2.2.11 LDS/.../LSS)
    let code = [
        0x0F, 0xB4, 0xC0, // lfs ax, ax (mod = 11)
        0xF4, // hlt
    ];
    let sys = run(&code, |_| {});
    assert_interrupt(&sys, UD, CODE_OFF);
}

// ----- PUSHAD / POPAD / PUSHFD / POPFD --------------------------------------------------------

#[test]
fn pushad_pushes_eight_dwords_in_order() {
    // PUSHAD: Temp := ESP; Push EAX, ECX, EDX, EBX, Temp, EBP, ESI, EDI (17.2.2.11 PUSHA)
    let code = [
        0x66, 0x60, // pushad
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0xA0A0_0001);
        s.cpu.set_reg32(Reg32::ECX, 0xA0A0_0002);
        s.cpu.set_reg32(Reg32::EDX, 0xA0A0_0003);
        s.cpu.set_reg32(Reg32::EBX, 0xA0A0_0004);
        s.cpu.set_reg32(Reg32::EBP, 0xA0A0_0006);
        s.cpu.set_reg32(Reg32::ESI, 0xA0A0_0007);
        s.cpu.set_reg32(Reg32::EDI, 0xA0A0_0008);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg32(Reg32::ESP), u32::from(STACK_TOP) - 32);
    let pushed: Vec<u32> = (0..8)
        .map(|i| rd32(&sys, STACK_SEG, u32::from(STACK_TOP) - 32 + 4 * i))
        .collect();
    assert_eq!(
        pushed,
        [
            0xA0A0_0008,          // EDI (lowest address)
            0xA0A0_0007,          // ESI
            0xA0A0_0006,          // EBP
            u32::from(STACK_TOP), // ESP before the instruction
            0xA0A0_0004,          // EBX
            0xA0A0_0003,          // EDX
            0xA0A0_0002,          // ECX
            0xA0A0_0001,          // EAX
        ]
    );
}

#[test]
fn popad_restores_all_but_esp() {
    // POPAD: EDI, ESI, EBP := Pop; the ESP image is popped and discarded; EBX, EDX, ECX, EAX
    // := Pop (17.2.2.11 POPA)
    let code = [
        0x66, 0x61, // popad
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        let sp = u32::from(STACK_TOP) - 32;
        s.cpu.set_reg32(Reg32::ESP, sp);
        let image = [
            0xB0B0_0008, // EDI
            0xB0B0_0007, // ESI
            0xB0B0_0006, // EBP
            0x1234_5678, // ESP: ignored
            0xB0B0_0004, // EBX
            0xB0B0_0003, // EDX
            0xB0B0_0002, // ECX
            0xB0B0_0001, // EAX
        ];
        for (i, v) in (0u32..).zip(image) {
            wr32(s, STACK_SEG, sp + 4 * i, v);
        }
    });
    assert_completed(&sys, &code);
    let regs = [
        (Reg32::EAX, 0xB0B0_0001),
        (Reg32::ECX, 0xB0B0_0002),
        (Reg32::EDX, 0xB0B0_0003),
        (Reg32::EBX, 0xB0B0_0004),
        (Reg32::ESP, u32::from(STACK_TOP)),
        (Reg32::EBP, 0xB0B0_0006),
        (Reg32::ESI, 0xB0B0_0007),
        (Reg32::EDI, 0xB0B0_0008),
    ];
    for (r, v) in regs {
        assert_eq!(sys.cpu.reg32(r), v, "{r:?}");
    }
}

#[test]
fn popfd_pushfd_386_eflags_image() {
    // POPFD loads EFLAGS except VM and RF (bits 16-17 unaffected); in real mode IOPL (12-13)
    // and NT (14) are writable; the 386 has no AC (bit 18); bit 1 reads 1, bits 3, 5, 15 read 0
    // (17.2.2.11 POPF/POPFD, PUSHF/PUSHFD; chapter 2 EFLAGS figure)
    let code = [
        0x66, 0x68, 0xFF, 0xFE, 0x07, 0x00, // push dword 0x0007FEFF (all but TF)
        0x66, 0x9D, // popfd
        0x66, 0x9C, // pushfd
        0x66, 0x8F, 0x07, // pop dword [bx]
        0x9C, // pushf
        0x8F, 0x47, 0x04, // pop word [bx+4]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| wr_bytes(s, DATA_SEG, 0, &[0xEE; 8]));
    assert_completed(&sys, &code);
    // CF PF AF ZF SF IF DF OF IOPL=3 NT, plus the fixed bit 1
    assert_eq!(rd32(&sys, DATA_SEG, 0), 0x0000_7ED7);
    assert_eq!(rd16(&sys, DATA_SEG, 4), 0x7ED7);
    assert_eq!(rd16(&sys, DATA_SEG, 6), 0xEEEE, "PUSHF pushes one word");
    assert_eq!(sys.cpu.flags(), 0x0000_7ED7);
    assert_eq!(sys.cpu.reg16(Reg16::SP), STACK_TOP);
}

#[test]
fn popfd_zero_leaves_only_the_fixed_bit() {
    // POPFD 0: every writable flag cleared; bit 1 always reads 1 (17.2.2.11 POPF/POPFD,
    // chapter 2 EFLAGS figure)
    let code = [
        0x66, 0x6A, 0x00, // push dword 0
        0x66, 0x9D, // popfd
        0x66, 0x9C, // pushfd
        0x66, 0x8F, 0x07, // pop dword [bx]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu
            .set_flags(CF | ZF | OF | DF | IF | (3 << 12) | (1 << 14));
        wr32(s, DATA_SEG, 0, 0xEEEE_EEEE);
    });
    assert_eq!(rd32(&sys, DATA_SEG, 0), 0x0000_0002);
    assert_eq!(sys.cpu.flags(), 0x0000_0002);
}

// ----- ENTER / LEAVE ---------------------------------------------------------------------------

#[test]
fn enter_level_0_builds_a_frame() {
    // ENTER n,0: Push(BP); BP := SP; SP := SP - n (17.2.2.11 ENTER)
    let code = [
        0xC8, 0x08, 0x00, 0x00, // enter 8, 0
        0xF4, // hlt
    ];
    let sys = run(&code, |s| s.cpu.set_reg16(Reg16::BP, 0x1234));
    assert_completed(&sys, &code);
    assert_eq!(rd16(&sys, STACK_SEG, 0xFFEE), 0x1234);
    assert_eq!(sys.cpu.reg16(Reg16::BP), 0xFFEE);
    assert_eq!(sys.cpu.reg16(Reg16::SP), 0xFFE6);
}

#[test]
fn enter_then_leave_restores_sp_and_bp() {
    // LEAVE: SP := BP; BP := Pop() (17.2.2.11 LEAVE)
    let code = [
        0xC8, 0x08, 0x00, 0x00, // enter 8, 0
        0xC9, // leave
        0xF4, // hlt
    ];
    let sys = run(&code, |s| s.cpu.set_reg16(Reg16::BP, 0x1234));
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg16(Reg16::BP), 0x1234);
    assert_eq!(sys.cpu.reg16(Reg16::SP), STACK_TOP);
}

#[test]
fn enter_with_nesting_level_copies_frame_pointers() {
    // ENTER n,L: Push(BP); FrameTemp := SP; repeat L-1 times { BP := BP - 2; Push([SS:BP]) };
    // Push(FrameTemp); BP := FrameTemp; SP := SP - n (17.2.2.11 ENTER)
    let code = [
        0xC8, 0x04, 0x00, 0x03, // enter 4, 3
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::BP, 0xFFF8);
        wr16(s, STACK_SEG, 0xFFF6, 0xAAAA);
        wr16(s, STACK_SEG, 0xFFF4, 0xBBBB);
        wr16(s, DATA_SEG, 0xFFF6, 0xDDDD);
    });
    assert_completed(&sys, &code);
    assert_eq!(rd16(&sys, STACK_SEG, 0xFFEE), 0xFFF8, "old BP");
    assert_eq!(rd16(&sys, STACK_SEG, 0xFFEC), 0xAAAA, "display entry 1");
    assert_eq!(rd16(&sys, STACK_SEG, 0xFFEA), 0xBBBB, "display entry 2");
    assert_eq!(rd16(&sys, STACK_SEG, 0xFFE8), 0xFFEE, "FrameTemp");
    assert_eq!(sys.cpu.reg16(Reg16::BP), 0xFFEE);
    assert_eq!(sys.cpu.reg16(Reg16::SP), 0xFFE4);
}

#[test]
fn enter_level_1_and_level_modulo_32() {
    // ENTER: level := level MOD 32; with level 1 only FrameTemp is pushed after BP
    // (17.2.2.11 ENTER)
    for level in [1u8, 33] {
        let code = [
            0xC8, 0x02, 0x00, level, // enter 2, level
            0xF4,  // hlt
        ];
        let sys = run(&code, |s| s.cpu.set_reg16(Reg16::BP, 0x1234));
        assert_completed(&sys, &code);
        assert_eq!(rd16(&sys, STACK_SEG, 0xFFEE), 0x1234, "level {level}");
        assert_eq!(rd16(&sys, STACK_SEG, 0xFFEC), 0xFFEE, "level {level}");
        assert_eq!(sys.cpu.reg16(Reg16::BP), 0xFFEE, "level {level}");
        assert_eq!(sys.cpu.reg16(Reg16::SP), 0xFFEA, "level {level}");
    }
}

// ----- BOUND -----------------------------------------------------------------------------------

#[test]
fn bound_32_in_range_continues() {
    // BOUND r32, m32&32: no interrupt when lower <= r32 <= upper, signed (17.2.2.11 BOUND)
    let code = [
        0x66, 0x62, 0x07, // bound eax, [bx]
        0xF4, // hlt
    ];
    for value in [-10i32, -5, 0, 10] {
        let sys = run(&code, |s| {
            wr32(s, DATA_SEG, 0, (-10i32) as u32);
            wr32(s, DATA_SEG, 4, 10);
            s.cpu.set_reg32(Reg32::EAX, value as u32);
        });
        assert_completed(&sys, &code);
    }
}

#[test]
fn bound_32_out_of_range_raises_interrupt_5() {
    // BOUND: IF r32 < [m] OR r32 > [m+4] THEN Interrupt 5; the pushed address is the BOUND
    // instruction (17.2.2.11 BOUND; chapter 9: interrupt 5 is a fault)
    let code = [
        0x90, // nop
        0x66, 0x62, 0x07, // bound eax, [bx]
        0xF4, // hlt
    ];
    for value in [-11i32, 11, i32::MIN, i32::MAX] {
        let sys = run(&code, |s| {
            wr32(s, DATA_SEG, 0, (-10i32) as u32);
            wr32(s, DATA_SEG, 4, 10);
            s.cpu.set_reg32(Reg32::EAX, value as u32);
        });
        assert_interrupt(&sys, BR, CODE_OFF + 1);
    }
}
