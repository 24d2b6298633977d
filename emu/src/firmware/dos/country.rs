//! Country and code page information: Int 21h AH=38h (get or set the country), AH=65h
//! (extended country information, capitalization, the yes/no check) and AH=66h (global
//! code page), for the one country MS-DOS has built in, the United States (001) with code
//! page 437, and no NLSFUNC.
//!
//! Sources: RBIL r61 INT 21/AH=38h (tables #01399, #01400), AH=65h (#01750-#01756),
//! AX=6523h, AX=6601h/6602h; and Microsoft's MS-DOS 4.0 source (github microsoft/MS-DOS,
//! MIT licence), DOS/DOSMES.ASM (the kernel's built-in US tables: country information,
//! uppercase and filename uppercase tables, filename character table, collating table,
//! empty DBCS table, the case-map routine) and DOS/GETSET.ASM ($INTERNATIONAL,
//! $GetExtCntry, $GetSetCdPg: what each call returns, and that anything needing another
//! country or code page goes to NLSFUNC, so without it fails with error 01h).
//!
//! The tables are real structures in DOS's data segment (after the swappable data area),
//! so the pointers 6502h-6507h return and the case-map routine in the country
//! information (a far routine mapping AL >= 80h through the uppercase table) work as on
//! MS-DOS. Behaviour kept from the source: 38h fills 34 bytes and returns the country in
//! AX and BX; 38h with DX = FFFFh "sets" country 1 (no change) and fails for any other;
//! 65h needs CX >= 5, truncates the 6501h block to the buffer (CX = bytes returned) and
//! returns AX = 437; info IDs 00h and 03h (the DOS 6.2 lowercase table) are invalid;
//! 6520h-6522h capitalize with the uppercase table (a-z and the table for 80h-FFh);
//! 6523h answers AX = 1 for 'Y'/'y', 0 for 'N'/'n', 2 otherwise; 65A0h-65A2h fail (RBIL:
//! "nonfunctional in MS-DOS 4.00 through 7.10"); 6601h returns BX = DX = 437 and 6602h
//! fails (setting a code page is NLSFUNC's).

use super::super::Ctx;
use super::super::stubs::DOS_DATA_SEG;
use super::sda::{SDA_BYTES, SDA_OFF};
use super::{fail, ok};

/// The United States.
pub const COUNTRY_US: u16 = 1;
/// Code page 437 (United States).
pub const CODE_PAGE_437: u16 = 437;

/// Offsets in [`DOS_DATA_SEG`], after the swappable data area.
pub const CASE_MAP_OFF: u16 = 0x17C0;
pub const UCASE_OFF: u16 = 0x17D0;
pub const FILE_UCASE_OFF: u16 = 0x1860;
pub const FILE_CHAR_OFF: u16 = 0x18F0;
pub const COLLATE_OFF: u16 = 0x1910;
pub const DBCS_OFF: u16 = 0x1A20;
/// The first byte after the tables.
pub const COUNTRY_END: u16 = 0x1A40;

const _: () = assert!(SDA_OFF + SDA_BYTES <= CASE_MAP_OFF);
const _: () = assert!(UCASE_OFF + 2 + 128 <= FILE_UCASE_OFF);
const _: () = assert!(FILE_UCASE_OFF + 2 + 128 <= FILE_CHAR_OFF);
const _: () = assert!(FILE_CHAR_OFF + 2 + 22 <= COLLATE_OFF);
const _: () = assert!(COLLATE_OFF + 2 + 256 <= DBCS_OFF);
const _: () = assert!(DBCS_OFF + 2 + 16 <= COUNTRY_END);

/// Error 01h (invalid function), what MS-DOS answers when NLSFUNC would be needed.
const INVALID: u16 = 0x01;

/// The uppercase equivalents of 80h-FFh in code page 437 (DOSMES.ASM `UCASE_TAB`, the same
/// for `FILE_UCASE_TAB`): accented letters without a capital in the code page become the
/// plain capital.
const UCASE_437: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        t[i] = 0x80 + i as u8;
        i += 1;
    }
    let head: [u8; 40] = [
        0x80, 0x9A, b'E', b'A', 0x8E, b'A', 0x8F, 0x80, // 80h-87h
        b'E', b'E', b'E', b'I', b'I', b'I', 0x8E, 0x8F, // 88h-8Fh
        0x90, 0x92, 0x92, b'O', 0x99, b'O', b'U', b'U', // 90h-97h
        b'Y', 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, // 98h-9Fh
        b'A', b'I', b'O', b'U', 0xA5, 0xA5, 0xA6, 0xA7, // A0h-A7h
    ];
    let mut j = 0;
    while j < 40 {
        t[j] = head[j];
        j += 1;
    }
    t
};

/// The US collating sequence (DOSMES.ASM `COLLATE_TAB`): lower case sorts with upper case,
/// accented letters with their plain letter, currency signs with '$'.
const COLLATE_437: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as u8;
        i += 1;
    }
    let mut c = b'a';
    while c <= b'z' {
        t[c as usize] = c - 0x20;
        c += 1;
    }
    let high: [u8; 48] = [
        b'C', b'U', b'E', b'A', b'A', b'A', b'A', b'C', // 80h-87h
        b'E', b'E', b'E', b'I', b'I', b'I', b'A', b'A', // 88h-8Fh
        b'E', b'A', b'A', b'O', b'O', b'O', b'U', b'U', // 90h-97h
        b'Y', b'O', b'U', b'$', b'$', b'$', b'$', b'$', // 98h-9Fh
        b'A', b'I', b'O', b'U', b'N', b'N', 0xA6, 0xA7, // A0h-A7h
        b'?', 0xA9, 0xAA, 0xAB, 0xAC, b'!', b'"', b'"', // A8h-AFh
    ];
    let mut j = 0;
    while j < 48 {
        t[0x80 + j] = high[j];
        j += 1;
    }
    t[0xE1] = b'S';
    t
};

/// The filename character table (RBIL #01754; DOSMES.ASM `FILE_CHAR_TAB`): all of 00h-FFh
/// allowed except 00h-20h and the 14 terminators.
const FILE_CHARS: [u8; 22] = [
    1, 0x00, 0xFF, 0, 0x00, 0x20, 2, 14, b'.', b'"', b'/', b'\\', b'[', b']', b':', b'|', b'<',
    b'>', b'+', b'=', b';', b',',
];

/// The 34 bytes of country information AH=38h returns (RBIL #01399, DOSMES.ASM): date
/// format 0 (m d y), currency "$", thousands ",", decimal ".", date "-", time ":",
/// currency before the value with no space, 2 decimals, 12-hour clock, the case-map
/// routine, list separator ",", 10 reserved bytes.
fn country_info() -> [u8; 34] {
    let mut b = [0u8; 34];
    b[0x02] = b'$';
    b[0x07] = b',';
    b[0x09] = b'.';
    b[0x0B] = b'-';
    b[0x0D] = b':';
    b[0x10] = 2;
    b[0x12..0x14].copy_from_slice(&CASE_MAP_OFF.to_le_bytes());
    b[0x14..0x16].copy_from_slice(&DOS_DATA_SEG.to_le_bytes());
    b[0x16] = b',';
    b
}

/// Writes the tables and the case-map routine (DOS install).
pub(crate) fn install(ctx: &mut Ctx) {
    // cmp al,80h / jb ret / push bx / mov bx,UCASE_OFF+2-80h / cs xlatb / pop bx / ret: AL
    // below 80h stays, the rest maps through the uppercase table (DOSMES.ASM MAP_CASE).
    let base = (UCASE_OFF + 2 - 0x80).to_le_bytes();
    let code = [
        0x3C, 0x80, 0x72, 0x07, 0x53, 0xBB, base[0], base[1], 0x2E, 0xD7, 0x5B, 0xCB,
    ];
    ctx.write_bytes(DOS_DATA_SEG, CASE_MAP_OFF, &code);
    for off in [UCASE_OFF, FILE_UCASE_OFF] {
        ctx.wr16(DOS_DATA_SEG, off, 128);
        ctx.write_bytes(DOS_DATA_SEG, off + 2, &UCASE_437);
    }
    ctx.wr16(DOS_DATA_SEG, FILE_CHAR_OFF, FILE_CHARS.len() as u16);
    ctx.write_bytes(DOS_DATA_SEG, FILE_CHAR_OFF + 2, &FILE_CHARS);
    ctx.wr16(DOS_DATA_SEG, COLLATE_OFF, 256);
    ctx.write_bytes(DOS_DATA_SEG, COLLATE_OFF + 2, &COLLATE_437);
    ctx.write_bytes(DOS_DATA_SEG, DBCS_OFF, &[0u8; 18]);
}

/// The uppercase of `c` as MS-DOS capitalizes (a-z, then the table for 80h-FFh).
fn upcase(ctx: &Ctx, c: u8) -> u8 {
    match c {
        b'a'..=b'z' => c - 0x20,
        0x80..=0xFF => ctx.rd8(DOS_DATA_SEG, UCASE_OFF + 2 + u16::from(c - 0x80)),
        _ => c,
    }
}

/// AH=38h.
pub(crate) fn international(ctx: &mut Ctx) {
    let country = match ctx.al() {
        0xFF => ctx.bx(),
        al => u16::from(al),
    };
    if ctx.dx() == 0xFFFF {
        // Set: only the current country needs no NLSFUNC.
        if country == COUNTRY_US {
            ctx.set_ax(COUNTRY_US);
            ok(ctx);
        } else {
            fail(ctx, INVALID);
        }
        return;
    }
    if country != 0 && country != COUNTRY_US {
        fail(ctx, INVALID);
        return;
    }
    let (ds, dx) = (ctx.ds(), ctx.dx());
    ctx.write_bytes(ds, dx, &country_info());
    ctx.set_bx(COUNTRY_US);
    ctx.set_ax(COUNTRY_US);
    ok(ctx);
}

/// AH=65h.
pub(crate) fn extended(ctx: &mut Ctx) {
    match ctx.al() {
        0x20 => {
            let c = upcase(ctx, ctx.dl());
            ctx.set_dl(c);
            ok(ctx);
        }
        0x21 => {
            let (ds, dx) = (ctx.ds(), ctx.dx());
            for i in 0..ctx.cx() {
                let at = dx.wrapping_add(i);
                let c = upcase(ctx, ctx.rd8(ds, at));
                ctx.wr8(ds, at, c);
            }
            ok(ctx);
        }
        0x22 => {
            let (ds, mut at) = (ctx.ds(), ctx.dx());
            loop {
                let c = ctx.rd8(ds, at);
                if c == 0 {
                    break;
                }
                let u = upcase(ctx, c);
                ctx.wr8(ds, at, u);
                at = at.wrapping_add(1);
                if at == ctx.dx() {
                    break; // no NUL in the whole segment
                }
            }
            ok(ctx);
        }
        0x23 => {
            let answer = match ctx.dl() {
                b'Y' | b'y' => 1,
                b'N' | b'n' => 0,
                _ => 2,
            };
            ctx.set_ax(answer);
            ok(ctx);
        }
        id @ 0x01..=0x07 if id != 0x03 => info(ctx, id),
        _ => fail(ctx, INVALID),
    }
}

/// AH=65h AL=01h-07h: information block `id` for country DX, code page BX into ES:DI.
fn info(ctx: &mut Ctx, id: u8) {
    let size = ctx.cx();
    let country = match ctx.dx() {
        0xFFFF => COUNTRY_US,
        c => c,
    };
    let code_page = match ctx.bx() {
        0xFFFF => CODE_PAGE_437,
        p => p,
    };
    if size < 5 || country != COUNTRY_US || code_page != CODE_PAGE_437 {
        fail(ctx, INVALID);
        return;
    }
    let (es, di) = (ctx.es(), ctx.di());
    ctx.wr8(es, di, id);
    let returned = if id == 0x01 {
        let mut block = Vec::with_capacity(38);
        block.extend_from_slice(&COUNTRY_US.to_le_bytes());
        block.extend_from_slice(&CODE_PAGE_437.to_le_bytes());
        block.extend_from_slice(&country_info());
        let n = (size - 3).min(block.len() as u16);
        ctx.wr16(es, di.wrapping_add(1), n);
        ctx.write_bytes(es, di.wrapping_add(3), &block[..usize::from(n)]);
        n + 3
    } else {
        let table = match id {
            0x02 => UCASE_OFF,
            0x04 => FILE_UCASE_OFF,
            0x05 => FILE_CHAR_OFF,
            0x06 => COLLATE_OFF,
            _ => DBCS_OFF,
        };
        ctx.wr16(es, di.wrapping_add(1), table);
        ctx.wr16(es, di.wrapping_add(3), DOS_DATA_SEG);
        5
    };
    ctx.set_cx(returned);
    ctx.set_ax(CODE_PAGE_437);
    ok(ctx);
}

/// AH=66h.
pub(crate) fn code_page(ctx: &mut Ctx) {
    if ctx.al() == 0x01 {
        ctx.set_bx(CODE_PAGE_437);
        ctx.set_dx(CODE_PAGE_437);
        ok(ctx);
    } else {
        fail(ctx, INVALID);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::{Reg16, SegReg};
    use crate::firmware::dos::{DriveC, service};
    use crate::firmware::stubs::svc;
    use crate::firmware::{Firmware, FirmwareConfig};
    use crate::machine::{Machine, MachineConfig};

    const BUF: u16 = 0x3000;

    fn booted() -> Machine {
        let fw = Firmware::new(FirmwareConfig::default(), DriveC::new(false), vec![]);
        let mut m = Machine::with_firmware(MachineConfig::default(), fw).expect("machine");
        m.run_until(5_000_000);
        m
    }

    /// Int 21h with `ax`, `bx`, `cx`, `dx`, DS = ES = [`BUF`], DI = 0; returns CF.
    fn call(fw: &mut Firmware, ctx: &mut Ctx, ax: u16, bx: u16, cx: u16, dx: u16) -> bool {
        ctx.cpu.set_sreg(SegReg::SS, 0x9000);
        ctx.cpu.set_reg16(Reg16::SP, 0x100);
        ctx.cpu.set_flags(0x0202);
        ctx.set_ax(ax);
        ctx.set_bx(bx);
        ctx.set_cx(cx);
        ctx.set_dx(dx);
        ctx.set_ds(BUF);
        ctx.set_es(BUF);
        ctx.set_di(0);
        service(fw, svc::dos(0x21), ctx);
        ctx.cpu.flags() & 1 != 0
    }

    #[test]
    fn ah_38h_returns_the_united_states_and_sets_only_it() {
        let mut m = booted();
        m.with_service_context(|fw, ctx| {
            let fw = fw.expect("firmware");
            ctx.write_bytes(BUF, 0, &[0xEE; 40]);
            assert!(!call(fw, ctx, 0x3800, 0, 0, 0));
            assert_eq!((ctx.ax(), ctx.bx()), (1, 1));
            // RBIL #01399: date format 0, "$", ",", ".", "-", ":", format 0, 2 digits,
            // 12-hour clock, the case-map routine, ",", 10 reserved bytes; 34 bytes.
            let b = ctx.read_bytes(BUF, 0, 35);
            assert_eq!(&b[..0x12], b"\0\0$\0\0\0\0,\0.\0-\0:\0\0\x02\0");
            assert_eq!(&b[0x16..0x22], b",\0\0\0\0\0\0\0\0\0\0\0");
            assert_eq!(b[34], 0xEE, "nothing beyond 34 bytes");
            // The case-map routine maps AL >= 80h through the uppercase table.
            let (off, seg) = (ctx.rd16(BUF, 0x12), ctx.rd16(BUF, 0x14));
            assert_eq!(ctx.rd8(seg, off), 0x3C, "CMP AL,80h");
            // Country 1 by number too; another country needs NLSFUNC: error 01h.
            assert!(!call(fw, ctx, 0x3801, 0, 0, 0));
            assert!(call(fw, ctx, 0x3831, 0, 0, 0));
            assert_eq!(ctx.ax(), 1);
            assert!(call(fw, ctx, 0x38FF, 49, 0, 0));
            // Set (DX = FFFFh): country 1 succeeds, country 49 fails.
            assert!(!call(fw, ctx, 0x3801, 0, 0, 0xFFFF));
            assert!(call(fw, ctx, 0x38FF, 49, 0, 0xFFFF));
        });
    }

    #[test]
    fn ah_65h_returns_the_tables_of_code_page_437() {
        let mut m = booted();
        m.with_service_context(|fw, ctx| {
            let fw = fw.expect("firmware");
            // 6501h: ID, size 38, country 1, code page 437, then the 38h block.
            assert!(!call(fw, ctx, 0x6501, 0xFFFF, 64, 0xFFFF));
            assert_eq!((ctx.ax(), ctx.cx()), (437, 41));
            assert_eq!(ctx.read_bytes(BUF, 0, 7), [1, 38, 0, 1, 0, 0xB5, 0x01]);
            assert_eq!(ctx.rd8(BUF, 7 + 2), b'$');
            // A smaller buffer is filled up to its size.
            assert!(!call(fw, ctx, 0x6501, 437, 10, 1));
            assert_eq!((ctx.cx(), ctx.rd16(BUF, 1)), (10, 7));
            // Too small, another country or code page, unknown IDs: error 01h.
            assert!(call(fw, ctx, 0x6501, 0xFFFF, 4, 0xFFFF));
            assert!(call(fw, ctx, 0x6501, 850, 64, 0xFFFF));
            assert!(call(fw, ctx, 0x6502, 0xFFFF, 64, 49));
            assert!(call(fw, ctx, 0x6503, 0xFFFF, 64, 0xFFFF));
            assert!(call(fw, ctx, 0x6508, 0xFFFF, 64, 0xFFFF));
            // Pointers to the tables (RBIL #01751-#01756).
            let table = |fw: &mut Firmware, ctx: &mut Ctx, id: u16| {
                assert!(!call(fw, ctx, 0x6500 | id, 0xFFFF, 5, 0xFFFF));
                assert_eq!((ctx.cx(), ctx.rd8(BUF, 0)), (5, id as u8));
                (ctx.rd16(BUF, 3), ctx.rd16(BUF, 1))
            };
            let (s, o) = table(fw, ctx, 2);
            assert_eq!(ctx.rd16(s, o), 128);
            // 81h (u umlaut) -> 9Ah, 82h (e acute) -> 'E', A4h (n tilde) -> A5h, E1h stays.
            let up = |ctx: &Ctx, c: u16| ctx.rd8(s, o + 2 + c - 0x80);
            assert_eq!(
                (up(ctx, 0x81), up(ctx, 0x82), up(ctx, 0xA4)),
                (0x9A, b'E', 0xA5)
            );
            assert_eq!(up(ctx, 0xE1), 0xE1);
            let (s, o) = table(fw, ctx, 4);
            assert_eq!((ctx.rd16(s, o), ctx.rd8(s, o + 2 + 1)), (128, 0x9A));
            let (s, o) = table(fw, ctx, 5);
            // RBIL #01754: 00h-FFh allowed, 00h-20h excluded, 14 terminators.
            assert_eq!(
                ctx.read_bytes(s, o, 10),
                [22, 0, 1, 0, 0xFF, 0, 0, 0x20, 2, 14]
            );
            assert_eq!(ctx.read_bytes(s, o + 10, 14), b".\"/\\[]:|<>+=;,");
            let (s, o) = table(fw, ctx, 6);
            assert_eq!(ctx.rd16(s, o), 256);
            let col = |ctx: &Ctx, c: u16| ctx.rd8(s, o + 2 + c);
            assert_eq!(
                (col(ctx, u16::from(b'a')), col(ctx, 0x84), col(ctx, 0x9C)),
                (b'A', b'A', b'$')
            );
            let (s, o) = table(fw, ctx, 7);
            assert_eq!(ctx.rd32(s, o), 0, "no DBCS ranges");
        });
    }

    #[test]
    fn ah_65h_capitalizes_and_answers_yes_or_no() {
        let mut m = booted();
        m.with_service_context(|fw, ctx| {
            let fw = fw.expect("firmware");
            assert!(!call(fw, ctx, 0x6520, 0, 0, 0x0081));
            assert_eq!(ctx.dl(), 0x9A);
            ctx.write_bytes(BUF, 0, b"abc\x87z!\0xy");
            assert!(!call(fw, ctx, 0x6521, 0, 3, 0));
            assert_eq!(ctx.read_bytes(BUF, 0, 5), b"ABC\x87z");
            assert!(!call(fw, ctx, 0x6522, 0, 0, 0));
            assert_eq!(ctx.read_bytes(BUF, 0, 9), b"ABC\x80Z!\0xy");
            for (c, want) in [(b'y', 1), (b'Y', 1), (b'n', 0), (b'N', 0), (b'q', 2)] {
                assert!(!call(fw, ctx, 0x6523, 0, 0, u16::from(c)));
                assert_eq!(ctx.ax(), want);
            }
            // The filename variants do not work in MS-DOS 4-7 (RBIL): error 01h.
            assert!(call(fw, ctx, 0x65A0, 0, 0, 0x0061));
        });
    }

    #[test]
    fn ah_66h_reports_code_page_437_and_cannot_set_it_without_nlsfunc() {
        let mut m = booted();
        m.with_service_context(|fw, ctx| {
            let fw = fw.expect("firmware");
            assert!(!call(fw, ctx, 0x6601, 0, 0, 0));
            assert_eq!((ctx.bx(), ctx.dx()), (437, 437));
            assert!(call(fw, ctx, 0x6602, 437, 0, 437));
            assert_eq!(ctx.ax(), 1);
        });
    }
}
