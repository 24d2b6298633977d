//! SETcc and near Jcc rel16/rel32.

use crate::harness::*;

// ----- SETcc and Jcc -----------------------------------------------------------------------------

/// (condition code, FLAGS, condition holds), from the condition table of 17.2.2.11 SETcc/Jcc:
/// every condition at least once true and once false.
const CONDITIONS: &[(u8, u32, bool)] = &[
    (0x0, OF, true), // O: OF=1
    (0x0, 0, false),
    (0x1, 0, true), // NO: OF=0
    (0x1, OF, false),
    (0x2, CF, true), // B: CF=1
    (0x2, 0, false),
    (0x3, 0, true), // AE: CF=0
    (0x3, CF, false),
    (0x4, ZF, true), // E: ZF=1
    (0x4, 0, false),
    (0x5, 0, true), // NE: ZF=0
    (0x5, ZF, false),
    (0x6, CF, true), // BE: CF=1 or ZF=1
    (0x6, ZF, true),
    (0x6, SF | OF | PF, false),
    (0x7, 0, true), // A: CF=0 and ZF=0
    (0x7, CF, false),
    (0x7, ZF, false),
    (0x8, SF, true), // S: SF=1
    (0x8, 0, false),
    (0x9, 0, true), // NS: SF=0
    (0x9, SF, false),
    (0xA, PF, true), // P: PF=1
    (0xA, 0, false),
    (0xB, 0, true), // NP: PF=0
    (0xB, PF, false),
    (0xC, SF, true), // L: SF<>OF
    (0xC, OF, true),
    (0xC, 0, false),
    (0xC, SF | OF, false),
    (0xD, 0, true), // GE: SF=OF
    (0xD, SF | OF, true),
    (0xD, SF, false),
    (0xD, OF, false),
    (0xE, ZF, true), // LE: ZF=1 or SF<>OF
    (0xE, SF, true),
    (0xE, 0, false),
    (0xE, SF | OF, false),
    (0xF, 0, true), // G: ZF=0 and SF=OF
    (0xF, SF | OF, true),
    (0xF, ZF, false),
    (0xF, OF, false),
];

#[test]
fn setcc_every_condition_true_and_false() {
    // SETcc: r/m8 := 1 if the condition holds, else 0 (17.2.2.11 SETcc)
    for &(cc, flags, holds) in CONDITIONS {
        let code = [0x0F, 0x90 | cc, 0xC0, 0xF4]; // setcc al; hlt
        let sys = run(&code, |s| {
            s.cpu.set_reg32(Reg32::EAX, 0x5555_5555);
            s.cpu.set_flags(flags);
        });
        assert_completed(&sys, &code);
        assert_eq!(
            eax(&sys),
            0x5555_5500 | u32::from(holds),
            "SETcc {cc:X} with flags {flags:03X}"
        );
        assert_eq!(sys.cpu.flags() & 0xFFF, flags | 2, "SETcc changes no flags");
    }
}

#[test]
fn setcc_memory_destination() {
    // SETcc r/m8 writes one byte: 1 or 0 (17.2.2.11 SETcc)
    let code = [
        0x0F, 0x94, 0x07, // sete byte [bx]
        0x0F, 0x95, 0x47, 0x01, // setne byte [bx+1]
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg16(Reg16::BX, 0x20);
        s.cpu.set_flags(ZF);
        wr_bytes(s, DATA_SEG, 0x20, &[0xAA, 0xAA, 0xAA]);
    });
    assert_eq!(rd_bytes(&sys, DATA_SEG, 0x20, 3), [1, 0, 0xAA]);
}

#[test]
fn jcc_rel16_every_condition() {
    // Jcc rel16: IF condition THEN EIP := EIP + rel16 (17.2.2.11 Jcc)
    for &(cc, flags, holds) in CONDITIONS {
        let code = [
            0x0F,
            0x80 | cc,
            0x01,
            0x00, // jcc +1
            0xF4, // hlt (not taken: halts at 0105h)
            0xF4, // hlt (taken: halts at 0106h)
        ];
        let sys = run(&code, |s| s.cpu.set_flags(flags));
        let end = if holds { 0x106 } else { 0x105 };
        assert_eq!(sys.cpu.ip(), end, "Jcc {cc:X} with flags {flags:03X}");
        assert_eq!(sys.cpu.sreg(SegReg::CS), CODE_SEG);
    }
}

#[test]
fn jcc_rel16_backward() {
    // Jcc rel16 with a negative displacement: EIP := EIP + SignExtend(rel16) (17.2.2.11 Jcc)
    let code = [
        0x0F, 0x8C, 0x7C, 0xFF, // jl 0x0080 (0104h - 84h)
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_flags(SF);
        wr8(s, CODE_SEG, 0x80, 0xF4);
    });
    assert_eq!(sys.cpu.ip(), 0x81);
}

#[test]
fn jcc_rel16_wraps_within_64k() {
    // Jcc with OperandSize = 16: EIP := (EIP + rel16) AND 0000FFFFh (17.2.2.11 Jcc)
    let code = [
        0x0F, 0x84, 0x1C, 0x00, // jz +1Ch (from FFF4h to 0010h)
        0xF4, // hlt
    ];
    let sys = run_at(0xFFF0, &code, |s| {
        s.cpu.set_flags(ZF);
        wr8(s, CODE_SEG, 0x0010, 0xF4);
    });
    assert_eq!(sys.cpu.eip(), 0x0011);
    assert_eq!(sys.cpu.sreg(SegReg::CS), CODE_SEG);
}

#[test]
fn jcc_rel32_forward_and_backward() {
    // Jcc rel32 (66h): EIP := EIP + rel32, no truncation; targets stay below 64 KiB
    // (17.2.2.11 Jcc)
    let forward = [
        0x66, 0x0F, 0x84, 0x00, 0x10, 0x00, 0x00, // jz +1000h (to 1107h)
        0xF4, // hlt
    ];
    let setup = |flags: u32| {
        move |s: &mut BareSystem| {
            s.cpu.set_flags(flags);
            wr8(s, CODE_SEG, 0x1107, 0xF4);
            wr8(s, CODE_SEG, 0x0087, 0xF4);
        }
    };
    let sys = run(&forward, setup(ZF));
    assert_eq!(sys.cpu.eip(), 0x1108);
    let sys = run(&forward, setup(0));
    assert_eq!(sys.cpu.eip(), 0x0108);

    let backward = [
        0x66, 0x0F, 0x8F, 0x80, 0xFF, 0xFF, 0xFF, // jg -80h (to 0087h)
        0xF4, // hlt
    ];
    let sys = run(&backward, setup(SF | OF));
    assert_eq!(sys.cpu.eip(), 0x0088);
    let sys = run(&backward, setup(ZF));
    assert_eq!(sys.cpu.eip(), 0x0108);
}
