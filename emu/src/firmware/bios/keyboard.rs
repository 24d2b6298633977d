//! The BIOS keyboard: the Int 09h handler (IRQ 1), the key buffer in the BIOS data area
//! and Int 16h.
//!
//! Sources: IBM PC/AT Technical Reference (BIOS listing: BDA layout, the Int 09h and Int
//! 16h flow and key codes), RBIL (INT 09, INT 16).
//!
//! The Int 09h handler reads the scancode (set 1) from port 60h, keeps the shift flags at
//! 40:17h and puts (scancode, ASCII) words in the 16-entry buffer at 40:1Eh (US layout); it
//! does not call Int 15h AH=4Fh and ignores Ctrl-Alt-Del. Int 16h AH=00h/10h with an empty
//! buffer returns to the ROM stub's wait loop (`sti; hlt; cli`) and retries.

use super::{
    BDA, BDA_KB_BUF_END_PTR, BDA_KB_BUF_START_PTR, BDA_KB_FLAGS, BDA_KB_FLAGS2, BDA_KB_HEAD,
    BDA_KB_TAIL,
};
use crate::firmware::{Ctx, linear};

// Shift-flag bits at 40:17h.
const RIGHT_SHIFT: u8 = 0x01;
const LEFT_SHIFT: u8 = 0x02;
const CTRL: u8 = 0x04;
const ALT: u8 = 0x08;
const CAPS_LOCK: u8 = 0x40;

/// US layout, scancode set 1, codes 00h-39h: (plain, shifted). 0 = no ASCII.
const KEYMAP: [(u8, u8); 0x3A] = [
    (0, 0),
    (0x1B, 0x1B),
    (b'1', b'!'),
    (b'2', b'@'),
    (b'3', b'#'),
    (b'4', b'$'),
    (b'5', b'%'),
    (b'6', b'^'),
    (b'7', b'&'),
    (b'8', b'*'),
    (b'9', b'('),
    (b'0', b')'),
    (b'-', b'_'),
    (b'=', b'+'),
    (0x08, 0x08),
    (0x09, 0),
    (b'q', b'Q'),
    (b'w', b'W'),
    (b'e', b'E'),
    (b'r', b'R'),
    (b't', b'T'),
    (b'y', b'Y'),
    (b'u', b'U'),
    (b'i', b'I'),
    (b'o', b'O'),
    (b'p', b'P'),
    (b'[', b'{'),
    (b']', b'}'),
    (0x0D, 0x0D),
    (0, 0), // left Ctrl
    (b'a', b'A'),
    (b's', b'S'),
    (b'd', b'D'),
    (b'f', b'F'),
    (b'g', b'G'),
    (b'h', b'H'),
    (b'j', b'J'),
    (b'k', b'K'),
    (b'l', b'L'),
    (b';', b':'),
    (b'\'', b'"'),
    (b'`', b'~'),
    (0, 0), // left Shift
    (b'\\', b'|'),
    (b'z', b'Z'),
    (b'x', b'X'),
    (b'c', b'C'),
    (b'v', b'V'),
    (b'b', b'B'),
    (b'n', b'N'),
    (b'm', b'M'),
    (b',', b'<'),
    (b'.', b'>'),
    (b'/', b'?'),
    (0, 0), // right Shift
    (b'*', b'*'),
    (0, 0), // Alt
    (b' ', b' '),
];

/// The (scancode, ASCII) word the BIOS stores for make code `code` under `flags`, or
/// `None` for keys that only change state. Function and cursor keys store ASCII 0.
pub fn key_word(code: u8, flags: u8) -> Option<u16> {
    let shift = flags & (LEFT_SHIFT | RIGHT_SHIFT) != 0;
    let (plain, shifted) = KEYMAP.get(usize::from(code)).copied().unwrap_or((0, 0));
    let letter = plain.is_ascii_lowercase();
    let upper = if letter {
        shift != (flags & CAPS_LOCK != 0)
    } else {
        shift
    };
    let mut ascii = if upper { shifted } else { plain };
    if flags & CTRL != 0 && letter {
        ascii = plain - b'a' + 1;
    } else if flags & ALT != 0 && (letter || plain.is_ascii_digit()) {
        ascii = 0;
    }
    match code {
        0x1D | 0x2A | 0x36 | 0x38 | 0x3A => None,
        0x3B..=0x44 | 0x47..=0x53 | 0x57 | 0x58 => Some(u16::from(code) << 8),
        _ if plain == 0 && shifted == 0 => None,
        _ => Some(u16::from(code) << 8 | u16::from(ascii)),
    }
}

/// The set-1 make code that types `ascii` on the US layout, and whether Shift is needed
/// (the inverse of the table [`key_word`] uses; control characters CR, BS, Tab and Esc
/// included).
pub fn scancode_for(ascii: u8) -> Option<(u8, bool)> {
    KEYMAP
        .iter()
        .enumerate()
        .find_map(|(code, &(plain, shifted))| {
            if ascii != 0 && plain == ascii {
                Some((code as u8, false))
            } else if ascii != 0 && shifted == ascii {
                Some((code as u8, true))
            } else {
                None
            }
        })
}

/// Int 09h: one byte from the 8042, shift state, buffer, EOI.
pub(super) fn keyboard_irq(ctx: &mut Ctx) {
    let code = ctx.bus.read_port(0x60);
    let mut flags = ctx.rd8(BDA, BDA_KB_FLAGS);
    let make = code & 0x80 == 0;
    let bit = match code & 0x7F {
        0x2A => LEFT_SHIFT,
        0x36 => RIGHT_SHIFT,
        0x1D => CTRL,
        0x38 => ALT,
        _ => 0,
    };
    if bit != 0 {
        if make {
            flags |= bit;
        } else {
            flags &= !bit;
        }
    } else if code == 0x3A {
        flags ^= CAPS_LOCK;
    } else if make && let Some(word) = key_word(code, flags) {
        push_key(ctx, word);
    }
    ctx.wr8(BDA, BDA_KB_FLAGS, flags);
    ctx.bus.write_port(0x20, 0x20);
}

/// Appends a key word to the BDA buffer; false when it is full.
fn push_key(ctx: &mut Ctx, word: u16) -> bool {
    let start = ctx.rd16(BDA, BDA_KB_BUF_START_PTR);
    let end = ctx.rd16(BDA, BDA_KB_BUF_END_PTR);
    let tail = ctx.rd16(BDA, BDA_KB_TAIL);
    let mut next = tail + 2;
    if next >= end {
        next = start;
    }
    if next == ctx.rd16(BDA, BDA_KB_HEAD) {
        return false;
    }
    ctx.wr16(BDA, tail, word);
    ctx.wr16(BDA, BDA_KB_TAIL, next);
    true
}

/// The next key word without removing it.
pub(crate) fn peek_key(ctx: &Ctx) -> Option<u16> {
    let head = ctx.rd16(BDA, BDA_KB_HEAD);
    if head == ctx.rd16(BDA, BDA_KB_TAIL) {
        None
    } else {
        Some(ctx.rd16(BDA, head))
    }
}

/// Removes and returns the next key word.
pub(crate) fn pop_key(ctx: &mut Ctx) -> Option<u16> {
    let word = peek_key(ctx)?;
    let head = ctx.rd16(BDA, BDA_KB_HEAD);
    let mut next = head + 2;
    if next >= ctx.rd16(BDA, BDA_KB_BUF_END_PTR) {
        next = ctx.rd16(BDA, BDA_KB_BUF_START_PTR);
    }
    ctx.wr16(BDA, BDA_KB_HEAD, next);
    Some(word)
}

/// Int 16h. Returns false when the caller must wait for a key.
pub(super) fn int16(ctx: &mut Ctx) -> bool {
    match ctx.ah() {
        0x00 | 0x10 => match pop_key(ctx) {
            Some(w) => ctx.set_ax(w),
            None => return false,
        },
        0x01 | 0x11 => match peek_key(ctx) {
            Some(w) => {
                ctx.set_ax(w);
                ctx.set_zf(false);
            }
            None => ctx.set_zf(true),
        },
        0x02 => {
            let f = ctx.rd8(BDA, BDA_KB_FLAGS);
            ctx.set_al(f);
        }
        0x12 => {
            let f = ctx.rd8(BDA, BDA_KB_FLAGS);
            let f2 = ctx.rd8(BDA, BDA_KB_FLAGS2);
            ctx.set_ax(u16::from(f2) << 8 | u16::from(f));
        }
        0x05 => {
            let w = ctx.cx();
            let ok = push_key(ctx, w);
            ctx.set_al(if ok { 0 } else { 1 });
        }
        0x0A => ctx.set_bx(0x41AB), // MF2 keyboard
        _ => {}
    }
    true
}

/// The linear address of the BIOS's keyboard buffer head pointer (for tests).
pub fn keyboard_head_addr() -> u32 {
    linear(BDA, BDA_KB_HEAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_words_follow_the_at_bios_table() {
        // RBIL / TechRef key codes: 'a' = 1E61h, 'A' = 1E41h, Ctrl-C = 2E03h, Enter = 1C0Dh,
        // F1 = 3B00h, Esc = 011Bh, '!' = 0221h.
        assert_eq!(key_word(0x1E, 0), Some(0x1E61));
        assert_eq!(key_word(0x1E, LEFT_SHIFT), Some(0x1E41));
        assert_eq!(key_word(0x1E, CAPS_LOCK), Some(0x1E41));
        assert_eq!(key_word(0x1E, CAPS_LOCK | RIGHT_SHIFT), Some(0x1E61));
        assert_eq!(key_word(0x2E, CTRL), Some(0x2E03));
        assert_eq!(key_word(0x1C, 0), Some(0x1C0D));
        assert_eq!(key_word(0x3B, 0), Some(0x3B00));
        assert_eq!(key_word(0x01, 0), Some(0x011B));
        assert_eq!(key_word(0x02, LEFT_SHIFT), Some(0x0221));
        assert_eq!(key_word(0x2A, 0), None);
    }

    #[test]
    fn every_printable_character_has_a_key_that_types_it() {
        for c in 0x20u8..0x7F {
            let (code, shift) = scancode_for(c).expect("US layout covers ASCII");
            let flags = if shift { LEFT_SHIFT } else { 0 };
            assert_eq!(
                key_word(code, flags).map(|w| w as u8),
                Some(c),
                "{}",
                c as char
            );
        }
        assert_eq!(scancode_for(b'\r'), Some((0x1C, false)));
    }
}
