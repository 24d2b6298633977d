//! The BIOS video services: Int 10h on 80x25 colour text at B8000h (pages of 4 KiB),
//! teletype output and scrolling.
//!
//! Sources: IBM PC/AT Technical Reference (BIOS listing: the BDA video fields), RBIL (INT
//! 10).
//!
//! Only text modes exist: a mode set to anything else leaves mode 3. Teletype output is
//! also recorded as the console output. The screen is written at linear B8000h as the
//! caller sees it (through a V86 monitor's page tables, see [`crate::firmware::Ctx`]).

use super::{
    BDA, BDA_ACTIVE_PAGE, BDA_CURSOR, BDA_CURSOR_SHAPE, BDA_PAGE_OFFSET, BDA_VIDEO_MODE, COLUMNS,
    ROWS, VIDEO_BASE,
};
use crate::cpu::Reg16;
use crate::firmware::{Ctx, Firmware};
use crate::mem::Memory;

fn cell_addr(page: u8, row: u8, col: u8) -> u32 {
    VIDEO_BASE
        + u32::from(page) * 0x1000
        + (u32::from(row) * u32::from(COLUMNS) + u32::from(col)) * 2
}

fn cursor(ctx: &Ctx, page: u8) -> (u8, u8) {
    let w = ctx.rd16(BDA, BDA_CURSOR + u16::from(page & 7) * 2);
    ((w >> 8) as u8, w as u8)
}

fn set_cursor(ctx: &mut Ctx, page: u8, row: u8, col: u8) {
    ctx.wr16(
        BDA,
        BDA_CURSOR + u16::from(page & 7) * 2,
        u16::from(row) << 8 | u16::from(col),
    );
}

fn active_page(ctx: &Ctx) -> u8 {
    ctx.rd8(BDA, BDA_ACTIVE_PAGE) & 7
}

/// Fills rows `top..=bottom`, columns `left..=right` of page 0 with blanks in `attr`.
pub(super) fn clear_window(ctx: &mut Ctx, top: u8, left: u8, bottom: u8, right: u8, attr: u8) {
    let page = active_page(ctx);
    for r in top..=bottom.min(ROWS as u8 - 1) {
        for c in left..=right.min(COLUMNS as u8 - 1) {
            ctx.write_linear(cell_addr(page, r, c), 2, u32::from(attr) << 8 | 0x20);
        }
    }
}

/// Scrolls a window up (`up`) or down by `lines` (0 = clear it).
#[allow(clippy::too_many_arguments)]
fn scroll(ctx: &mut Ctx, up: bool, lines: u8, attr: u8, top: u8, left: u8, bottom: u8, right: u8) {
    let bottom = bottom.min(ROWS as u8 - 1);
    let right = right.min(COLUMNS as u8 - 1);
    if top > bottom || left > right {
        return;
    }
    let height = bottom - top + 1;
    if lines == 0 || lines >= height {
        clear_window(ctx, top, left, bottom, right, attr);
        return;
    }
    let page = active_page(ctx);
    let rows: Vec<u8> = if up {
        (top..=bottom - lines).collect()
    } else {
        (top + lines..=bottom).rev().collect()
    };
    for r in rows {
        let from = if up { r + lines } else { r - lines };
        for c in left..=right {
            let w = ctx.read_linear(cell_addr(page, from, c), 2);
            ctx.write_linear(cell_addr(page, r, c), 2, w);
        }
    }
    let (ct, cb) = if up {
        (bottom - lines + 1, bottom)
    } else {
        (top, top + lines - 1)
    };
    clear_window(ctx, ct, left, cb, right, attr);
}

/// Writes one character as teletype output (Int 10h AH=0Eh) and records it as console
/// output.
pub(crate) fn teletype(fw: &mut Firmware, ctx: &mut Ctx, ch: u8) {
    fw.console.push(ch);
    let page = active_page(ctx);
    let (mut row, mut col) = cursor(ctx, page);
    match ch {
        0x07 => return,
        0x08 => col = col.saturating_sub(1),
        0x0A => row += 1,
        0x0D => col = 0,
        _ => {
            let a = cell_addr(page, row, col);
            ctx.write_linear(a, 1, u32::from(ch));
            col += 1;
            if col >= COLUMNS as u8 {
                col = 0;
                row += 1;
            }
        }
    }
    if row >= ROWS as u8 {
        let attr = ctx.read_linear(cell_addr(page, ROWS as u8 - 1, 0) + 1, 1) as u8;
        scroll(ctx, true, 1, attr, 0, 0, ROWS as u8 - 1, COLUMNS as u8 - 1);
        row = ROWS as u8 - 1;
    }
    set_cursor(ctx, page, row, col);
}

pub(super) fn int10(fw: &mut Firmware, ctx: &mut Ctx) {
    let page = ctx.bh() & 7;
    match ctx.ah() {
        0x00 => {
            let mode = ctx.al() & 0x7F;
            let mode = if matches!(mode, 2 | 3 | 7) { mode } else { 3 };
            ctx.wr8(BDA, BDA_VIDEO_MODE, mode);
            ctx.wr8(BDA, BDA_ACTIVE_PAGE, 0);
            ctx.wr16(BDA, BDA_PAGE_OFFSET, 0);
            for p in 0..8 {
                set_cursor(ctx, p, 0, 0);
            }
            if ctx.al() & 0x80 == 0 {
                clear_window(ctx, 0, 0, ROWS as u8 - 1, COLUMNS as u8 - 1, 0x07);
            }
        }
        0x01 => {
            let cx = ctx.cx();
            ctx.wr16(BDA, BDA_CURSOR_SHAPE, cx);
        }
        0x02 => {
            let (row, col) = (ctx.dh(), ctx.dl());
            set_cursor(ctx, page, row, col);
        }
        0x03 => {
            let (row, col) = cursor(ctx, page);
            ctx.set_dx(u16::from(row) << 8 | u16::from(col));
            let shape = ctx.rd16(BDA, BDA_CURSOR_SHAPE);
            ctx.set_cx(shape);
        }
        0x05 => {
            let p = ctx.al() & 7;
            ctx.wr8(BDA, BDA_ACTIVE_PAGE, p);
            ctx.wr16(BDA, BDA_PAGE_OFFSET, u16::from(p) * 0x1000);
        }
        0x06 | 0x07 => {
            let (lines, attr) = (ctx.al(), ctx.bh());
            let (top, left) = ((ctx.cx() >> 8) as u8, ctx.cl());
            let (bottom, right) = (ctx.dh(), ctx.dl());
            scroll(ctx, ctx.ah() == 0x06, lines, attr, top, left, bottom, right);
        }
        0x08 => {
            let (row, col) = cursor(ctx, page);
            let w = ctx.read_linear(cell_addr(page, row, col), 2) as u16;
            ctx.set_ax(w);
        }
        0x09 | 0x0A => {
            let (row, col) = cursor(ctx, page);
            let (ch, attr) = (ctx.al(), ctx.bl());
            let start = u32::from(row) * u32::from(COLUMNS) + u32::from(col);
            let end = (start + u32::from(ctx.cx())).min(u32::from(ROWS * COLUMNS));
            for cell in start..end {
                let a = VIDEO_BASE + u32::from(page) * 0x1000 + cell * 2;
                ctx.write_linear(a, 1, u32::from(ch));
                if ctx.ah() == 0x09 {
                    ctx.write_linear(a + 1, 1, u32::from(attr));
                }
            }
        }
        0x0E => teletype(fw, ctx, ctx.al()),
        0x0F => {
            let mode = ctx.rd8(BDA, BDA_VIDEO_MODE);
            ctx.set_ax((COLUMNS << 8) | u16::from(mode));
            let p = active_page(ctx);
            ctx.set_bh(p);
        }
        0x11 if ctx.al() == 0x30 => {
            ctx.set_cx(16);
            ctx.set_dl(ROWS as u8 - 1);
        }
        0x12 if ctx.bl() == 0x10 => ctx.set_bx(0x0003), // colour, 256 KiB
        0x13 => {
            let (mode, attr) = (ctx.al(), ctx.bl());
            let n = ctx.cx();
            let (row, col) = (ctx.dh(), ctx.dl());
            let seg = ctx.es();
            let bp = ctx.cpu.reg16(Reg16::BP);
            let saved = cursor(ctx, page);
            set_cursor(ctx, page, row, col);
            let cells = mode & 2 != 0;
            for i in 0..n {
                let step = if cells { 2 } else { 1 };
                let off = bp.wrapping_add(i.wrapping_mul(step));
                let ch = ctx.rd8(seg, off);
                let a = if cells { ctx.rd8(seg, off + 1) } else { attr };
                let (r, c) = cursor(ctx, page);
                if !matches!(ch, 0x07 | 0x08 | 0x0A | 0x0D) {
                    ctx.write_linear(cell_addr(page, r, c) + 1, 1, u32::from(a));
                }
                teletype(fw, ctx, ch);
            }
            if mode & 1 == 0 {
                set_cursor(ctx, page, saved.0, saved.1);
            }
        }
        0x1A if ctx.al() == 0x00 => {
            ctx.set_al(0x1A);
            ctx.set_bx(0x0008); // VGA with colour display
        }
        _ => {}
    }
}

/// The text on screen page 0 as 25 lines (trailing blanks removed; control bytes and
/// bytes above 7Eh shown as they are stored, as Latin-1).
pub fn screen_text(mem: &Memory) -> Vec<String> {
    (0..ROWS as u8)
        .map(|r| {
            let line: String = (0..COLUMNS as u8)
                .map(|c| char::from(mem.read_u8(cell_addr(0, r, c))))
                .collect();
            line.trim_end().to_string()
        })
        .collect()
}
