//! 32-bit string operations, LOOP, JECXZ and XLAT.

use crate::harness::*;

// ----- 32-bit string operations, LOOP, JECXZ, XLAT --------------------------------------------

#[test]
fn movsd_16bit_address_uses_si_di() {
    // MOVSD: (ES:DI) := (DS:SI) dword; with AddressSize = 16 only SI/DI step, by 4 or -4 (DF)
    // (17.2.2.11 MOVS)
    let code = [
        0x66, 0xA5, // movsd
        0xFD, // std
        0x66, 0xA5, // movsd
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::ESI, 0xABCD_0010);
        s.cpu.set_reg32(Reg32::EDI, 0x5678_0020);
        wr32(s, DATA_SEG, 0x10, 0x1122_3344);
        wr32(s, DATA_SEG, 0x14, 0x5566_7788);
    });
    assert_completed(&sys, &code);
    assert_eq!(rd32(&sys, EXTRA_SEG, 0x20), 0x1122_3344);
    assert_eq!(rd32(&sys, EXTRA_SEG, 0x24), 0x5566_7788);
    assert_eq!(sys.cpu.reg32(Reg32::ESI), 0xABCD_0010);
    assert_eq!(sys.cpu.reg32(Reg32::EDI), 0x5678_0020);
}

#[test]
fn movsd_16bit_address_wraps_si() {
    // With AddressSize = 16 the index is SI: FFFCh + 4 wraps to 0000h (17.2.2.11 MOVS)
    let code = [
        0x66, 0xA5, // movsd
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::ESI, 0x0000_FFFC);
        wr32(s, DATA_SEG, 0xFFFC, 0xCAFE_F00D);
    });
    assert_eq!(sys.cpu.reg32(Reg32::ESI), 0);
    assert_eq!(sys.cpu.reg32(Reg32::EDI), 4);
    assert_eq!(rd32(&sys, EXTRA_SEG, 0), 0xCAFE_F00D);
}

#[test]
fn movsd_with_addr32_steps_esi_edi() {
    // MOVSD with AddressSize = 32 uses ESI/EDI: FFFCh + 4 = 10000h, no wrap (17.2.2.11 MOVS)
    let code = [
        0x66, 0x67, 0xA5, // a32 movsd
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::ESI, 0x0000_FFFC);
        s.cpu.set_reg32(Reg32::EDI, 0x0000_0100);
        wr32(s, DATA_SEG, 0xFFFC, 0xCAFE_F00D);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg32(Reg32::ESI), 0x0001_0000);
    assert_eq!(sys.cpu.reg32(Reg32::EDI), 0x0000_0104);
    assert_eq!(rd32(&sys, EXTRA_SEG, 0x100), 0xCAFE_F00D);
}

#[test]
fn rep_movsd_16bit_address_counts_cx_only() {
    // REP with AddressSize = 16 counts CX; the upper half of ECX is untouched (17.2.2.11 REP)
    let code = [
        0xF3, 0x66, 0xA5, // rep movsd
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::ECX, 0x0001_0002);
        s.cpu.set_reg32(Reg32::EDI, 0x100);
        wr_bytes(s, DATA_SEG, 0, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg32(Reg32::ECX), 0x0001_0000);
    assert_eq!(sys.cpu.reg32(Reg32::ESI), 8);
    assert_eq!(sys.cpu.reg32(Reg32::EDI), 0x108);
    assert_eq!(
        rd_bytes(&sys, EXTRA_SEG, 0x100, 12),
        [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0]
    );
}

#[test]
fn rep_movsd_addr32_counts_ecx() {
    // REP with AddressSize = 32 counts ECX and steps ESI/EDI (17.2.2.11 REP, MOVS)
    let code = [
        0xF3, 0x66, 0x67, 0xA5, // a32 rep movsd
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::ECX, 3);
        s.cpu.set_reg32(Reg32::ESI, 0x10);
        s.cpu.set_reg32(Reg32::EDI, 0x20);
        wr_bytes(
            s,
            DATA_SEG,
            0x10,
            &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
        );
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg32(Reg32::ECX), 0);
    assert_eq!(sys.cpu.reg32(Reg32::ESI), 0x1C);
    assert_eq!(sys.cpu.reg32(Reg32::EDI), 0x2C);
    assert_eq!(
        rd_bytes(&sys, EXTRA_SEG, 0x20, 13),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0]
    );
}

#[test]
fn rep_movsd_addr32_ecx_upper_half_counts_until_the_limit_faults() {
    // ECX = 10000h (CX = 0) still repeats with AddressSize = 32; once ESI reaches 10000h the
    // source lies beyond the 64 KiB limit: Interrupt 13, pushed IP = the first prefix
    // (17.2.2.11 REP, MOVS: real-mode exceptions)
    let code = [
        0x90, // nop
        0xF3, 0x66, 0x67, 0xA5, // a32 rep movsd
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::ECX, 0x0001_0000);
        s.cpu.set_reg32(Reg32::ESI, 0xFFF0);
        s.cpu.set_reg32(Reg32::EDI, 0);
        wr_bytes(s, DATA_SEG, 0xFFF0, &[0x77; 16]);
    });
    assert_interrupt(&sys, GP, CODE_OFF + 1);
    assert_eq!(sys.cpu.reg32(Reg32::ECX), 0xFFFC);
    assert_eq!(sys.cpu.reg32(Reg32::ESI), 0x1_0000);
    assert_eq!(sys.cpu.reg32(Reg32::EDI), 0x10);
    assert_eq!(rd_bytes(&sys, EXTRA_SEG, 0, 17), {
        let mut v = vec![0x77; 16];
        v.push(0);
        v
    });
}

#[test]
fn rep_stosd_and_lodsd() {
    // STOSD: (ES:DI) := EAX, DI += 4; LODSD: EAX := (DS:SI), SI += 4 (17.2.2.11 STOS, LODS)
    let code = [
        0xF3, 0x66, 0xAB, // rep stosd
        0x66, 0xAD, // lodsd
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EAX, 0xDEAD_BEEF);
        s.cpu.set_reg32(Reg32::ECX, 3);
        s.cpu.set_reg32(Reg32::EDI, 0x40);
        s.cpu.set_reg32(Reg32::ESI, 0x10);
        wr32(s, DATA_SEG, 0x10, 0xCAFE_BABE);
    });
    assert_completed(&sys, &code);
    for i in 0..3 {
        assert_eq!(rd32(&sys, EXTRA_SEG, 0x40 + 4 * i), 0xDEAD_BEEF);
    }
    assert_eq!(rd32(&sys, EXTRA_SEG, 0x4C), 0);
    assert_eq!(sys.cpu.reg32(Reg32::EDI), 0x4C);
    assert_eq!(sys.cpu.reg32(Reg32::ECX), 0);
    assert_eq!(eax(&sys), 0xCAFE_BABE);
    assert_eq!(sys.cpu.reg32(Reg32::ESI), 0x14);
}

#[test]
fn repe_cmpsd_addr32_stops_at_the_first_difference() {
    // REPE CMPSD: compare (DS:ESI) - (ES:EDI) as CMP does, ECX -= 1, stop when ECX = 0 or
    // ZF = 0 (17.2.2.11 CMPS, REP)
    let code = [
        0xF3, 0x66, 0x67, 0xA7, // a32 repe cmpsd
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::ECX, 4);
        s.cpu.set_reg32(Reg32::ESI, 0x10);
        s.cpu.set_reg32(Reg32::EDI, 0x20);
        for (i, (a, b)) in (0u32..).zip([(1u32, 1u32), (2, 2), (3, 9), (4, 4)]) {
            wr32(s, DATA_SEG, 0x10 + 4 * i, a);
            wr32(s, EXTRA_SEG, 0x20 + 4 * i, b);
        }
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg32(Reg32::ECX), 1);
    assert_eq!(sys.cpu.reg32(Reg32::ESI), 0x1C);
    assert_eq!(sys.cpu.reg32(Reg32::EDI), 0x2C);
    // 3 - 9: borrow, negative, no signed overflow
    assert_flags(&sys, &[(ZF, false), (CF, true), (SF, true), (OF, false)]);
}

#[test]
fn loop_with_addr32_counts_ecx() {
    // LOOP: CountReg := CountReg - 1 (ECX when AddressSize = 32); jump if CountReg <> 0
    // (17.2.2.11 LOOP)
    let code = [
        0x66, 0x40, // inc eax
        0x67, 0xE2, 0xFB, // a32 loop 0100h
        0xF4, // hlt
    ];
    let sys = run(&code, |s| s.cpu.set_reg32(Reg32::ECX, 0x0001_0002));
    assert_completed(&sys, &code);
    assert_eq!(eax(&sys), 0x0001_0002);
    assert_eq!(sys.cpu.reg32(Reg32::ECX), 0);
}

#[test]
fn loop_without_addr32_counts_cx_only() {
    // LOOP with AddressSize = 16 decrements CX only (17.2.2.11 LOOP)
    let code = [
        0x66, 0x40, // inc eax
        0xE2, 0xFC, // loop 0100h
        0xF4, // hlt
    ];
    let sys = run(&code, |s| s.cpu.set_reg32(Reg32::ECX, 0x0001_0002));
    assert_completed(&sys, &code);
    assert_eq!(eax(&sys), 2);
    assert_eq!(sys.cpu.reg32(Reg32::ECX), 0x0001_0000);
}

#[test]
fn jecxz_tests_all_32_bits_of_ecx() {
    // JECXZ (67h E3) jumps iff ECX = 0; JCXZ (E3) iff CX = 0 (17.2.2.11 JCXZ/JECXZ)
    let jecxz = [
        0x67, 0xE3, 0x01, // jecxz +1
        0xF4, // hlt (not taken: IP = 0104h)
        0xF4, // hlt (taken: IP = 0105h)
    ];
    let sys = run(&jecxz, |s| s.cpu.set_reg32(Reg32::ECX, 0x0001_0000));
    assert_eq!(sys.cpu.ip(), 0x104);
    let sys = run(&jecxz, |s| s.cpu.set_reg32(Reg32::ECX, 0));
    assert_eq!(sys.cpu.ip(), 0x105);

    let jcxz = [
        0xE3, 0x01, // jcxz +1
        0xF4, // hlt (not taken: IP = 0103h)
        0xF4, // hlt (taken: IP = 0104h)
    ];
    let sys = run(&jcxz, |s| s.cpu.set_reg32(Reg32::ECX, 0x0001_0000));
    assert_eq!(sys.cpu.ip(), 0x104);
}

#[test]
fn xlat_with_addr32_uses_ebx() {
    // XLAT: AL := (DS:[EBX + ZeroExtend(AL)]) with AddressSize = 32, [BX + AL] with 16
    // (17.2.2.11 XLAT)
    let setup = |ebx: u32| {
        move |s: &mut BareSystem| {
            s.cpu.set_reg32(Reg32::EBX, ebx);
            s.cpu.set_reg32(Reg32::EAX, 0x1234_5605);
            wr8(s, DATA_SEG, 0x1005, 0x77);
        }
    };
    let code = [
        0x67, 0xD7, // a32 xlat
        0xF4, // hlt
    ];
    let sys = run(&code, setup(0x1000));
    assert_completed(&sys, &code);
    assert_eq!(eax(&sys), 0x1234_5677);
    let code = [
        0xD7, // xlat
        0xF4, // hlt
    ];
    let sys = run(&code, setup(0x0001_1000));
    assert_completed(&sys, &code);
    assert_eq!(eax(&sys), 0x1234_5677);
}

#[test]
fn xlat_with_16bit_address_wraps_within_64k() {
    // XLAT with AddressSize = 16: the offset BX + AL is a 16-bit value: FFF0h + 20h = 0010h
    // (17.2.2.11 XLAT)
    let code = [
        0xD7, // xlat
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EBX, 0xFFF0);
        s.cpu.set_reg8(Reg8::AL, 0x20);
        wr8(s, DATA_SEG, 0x10, 0x99);
    });
    assert_completed(&sys, &code);
    assert_eq!(sys.cpu.reg8(Reg8::AL), 0x99);
}

#[test]
fn xlat_with_addr32_beyond_the_limit_raises_gp() {
    // EBX + AL = FFF0h + 20h = 10010h lies beyond offset FFFFh: Interrupt 13 (17.2.2.11 XLAT,
    // real-address-mode exceptions)
    let code = [
        0x67, 0xD7, // a32 xlat
        0xF4, // hlt
    ];
    let sys = run(&code, |s| {
        s.cpu.set_reg32(Reg32::EBX, 0xFFF0);
        s.cpu.set_reg8(Reg8::AL, 0x20);
    });
    assert_interrupt(&sys, GP, CODE_OFF);
}
