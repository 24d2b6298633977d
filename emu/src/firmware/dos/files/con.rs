//! The `CON` device of DOS's file handles: console output through the BIOS and console
//! input (Int 21h AH=3Fh on a CON handle), cooked and raw.
//!
//! Sources: RBIL INT 21 AH=3Fh, 40h and 44h (table #01423: bit 5 of the device information
//! word is raw mode); MS-DOS 5 behaviour as described there.
//!
//! - CON output goes through the BIOS teletype (`bios::teletype`); in cooked mode tabs
//!   expand to the next multiple of 8.
//! - **CON input** (3Fh on a CON handle). DOS reads a whole line in cooked mode and never
//!   returns without one; Rust cannot wait, so the Int 21h dispatcher must call
//!   `read_needs_input` first: it consumes the keys already in the BIOS buffer into
//!   DOS's line (echo and editing as for AH=0Ah: backspace, Esc cancels the line, control
//!   characters echo as `^X`, extended keys ignored, a full 127-character line beeps) and
//!   returns true while the line has no CR yet, or, in raw mode (4401h bit 5), while fewer
//!   than CX keys have arrived. The dispatcher then waits for a key (the stub's wait loop)
//!   and retries the call. When it returns false, `int21` completes the read: the line
//!   plus CR LF, CX bytes at a time, the rest kept for the next read (raw mode: the keys,
//!   extended keys as 00h + scan code). Called without that check, 3Fh returns what is
//!   ready, possibly 0 bytes.

use super::{CON_LINE_MAX, Device, INFO_RAW, Target, entry, sft_index};
use crate::firmware::bios;
use crate::firmware::{Ctx, Firmware};

/// Whether the pending Int 21h AH=3Fh call (BX, CX as the caller set them) reads from CON
/// and cannot complete with the keys typed so far. Consumes the keys already in the BIOS
/// buffer into DOS's line (echoing them). The dispatcher calls it before [`int21`](super::int21) for
/// AH=3Fh and, while it returns true, waits for a key and calls again; false means
/// [`int21`](super::int21) can run (including for every handle that is not CON input).
pub(crate) fn read_needs_input(fw: &mut Firmware, ctx: &mut Ctx) -> bool {
    if ctx.ah() != 0x3F || ctx.cx() == 0 {
        return false;
    }
    let Ok(idx) = sft_index(fw, ctx, ctx.bx()) else {
        return false;
    };
    let Ok(e) = entry(fw, idx) else {
        return false;
    };
    if e.target != Target::Device(Device::Con) || !e.can_read() {
        return false;
    }
    let raw = e.info & INFO_RAW != 0;
    !con_collect(fw, ctx, raw, usize::from(ctx.cx()))
}

/// Echoes one typed character as DOS does: control characters as `^X`.
fn echo(fw: &mut Firmware, ctx: &mut Ctx, c: u8) {
    if c < 0x20 && c != 0x09 {
        bios::teletype(fw, ctx, b'^');
        bios::teletype(fw, ctx, c + 0x40);
    } else {
        con_write(fw, ctx, &[c], false);
    }
}

/// Moves keys from the BIOS buffer into DOS's CON input. Cooked: edits the line until CR,
/// then makes it (with CR LF) ready; raw: collects `want` keys. Returns whether enough is
/// ready for the read to complete.
pub(super) fn con_collect(fw: &mut Firmware, ctx: &mut Ctx, raw: bool, want: usize) -> bool {
    if raw {
        while fw.dos.files.con_ready.len() < want {
            let Some(word) = bios::pop_key(ctx) else {
                return false;
            };
            let (ch, scan) = (word as u8, (word >> 8) as u8);
            if (ch == 0 || ch == 0xE0) && scan != 0 {
                fw.dos.files.con_ready.extend([0, scan]);
            } else {
                fw.dos.files.con_ready.push(ch);
            }
        }
        return true;
    }
    if !fw.dos.files.con_ready.is_empty() {
        return true;
    }
    while let Some(word) = bios::pop_key(ctx) {
        let (ch, scan) = (word as u8, (word >> 8) as u8);
        match ch {
            0x0D => {
                con_write(fw, ctx, b"\r\n", true);
                let files = &mut fw.dos.files;
                let mut line = std::mem::take(&mut files.con_line);
                line.extend_from_slice(b"\r\n");
                files.con_ready = line;
                return true;
            }
            0x08 => {
                if let Some(c) = fw.dos.files.con_line.pop() {
                    let columns = if c < 0x20 && c != 0x09 { 2 } else { 1 };
                    for _ in 0..columns {
                        con_write(fw, ctx, b"\x08 \x08", true);
                    }
                }
            }
            0x1B => {
                // Esc cancels the line: DOS prints `\` and starts a new one.
                con_write(fw, ctx, b"\\\r\n", true);
                fw.dos.files.con_line.clear();
            }
            0x00 | 0xE0 if scan != 0 => {
                // Extended keys (DOS's template editing keys are not modelled).
            }
            _ => {
                if fw.dos.files.con_line.len() < CON_LINE_MAX {
                    fw.dos.files.con_line.push(ch);
                    echo(fw, ctx, ch);
                } else {
                    bios::teletype(fw, ctx, 0x07);
                }
            }
        }
    }
    false
}

/// Writes to the console through the BIOS; in cooked mode a tab moves to the next
/// multiple of 8 columns with spaces.
pub(super) fn con_write(fw: &mut Firmware, ctx: &mut Ctx, bytes: &[u8], raw: bool) {
    for &b in bytes {
        if b == 0x09 && !raw {
            let page = ctx.rd8(bios::BDA, 0x62);
            let col = ctx.rd8(bios::BDA, 0x50 + 2 * u16::from(page & 7));
            for _ in 0..8 - col % 8 {
                bios::teletype(fw, ctx, b' ');
            }
        } else {
            bios::teletype(fw, ctx, b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;

    #[test]
    fn console_output_goes_through_the_bios() {
        let mut t = T::new(sample_drive(true));
        t.fw().take_console();
        assert_eq!(t.write(1, b"Hi\r\n"), Ok(4));
        let con = t.open("CON", 1).unwrap();
        assert_eq!(t.write(con, b"x"), Ok(1));
        assert_eq!(t.fw().take_console(), b"Hi\r\nx");
        // The AUX and PRN handles swallow output.
        assert_eq!(t.write(3, b"aux"), Ok(3));
        assert_eq!(t.write(4, b"prn"), Ok(3));
        assert_eq!(t.fw().take_console(), b"");
        // A tab in cooked mode moves to the next multiple of 8 columns.
        assert_eq!(t.write(1, b"\r\nab\tc"), Ok(6));
        assert_eq!(t.fw().take_console(), b"\r\nab      c");
    }

    #[test]
    fn console_reads_wait_for_a_whole_line() {
        let mut t = T::new(sample_drive(true));
        t.fw().take_console();
        assert!(t.needs_input(0, 10), "nothing typed yet");
        t.type_keys(&[key(b'a'), key(b'b'), 0x0E08, key(b'c')]);
        assert!(t.needs_input(0, 10), "no Enter yet");
        // The keys were echoed as typed, the backspace erased one.
        assert_eq!(t.fw().take_console(), b"ab\x08 \x08c");
        t.type_keys(&[0x1C0D, key(b'z')]);
        assert!(!t.needs_input(0, 10));
        assert_eq!(t.fw().take_console(), b"\r\n");
        // CX smaller than the line: the rest comes with the next read.
        assert_eq!(t.read(0, 2).unwrap(), b"ac");
        assert!(!t.needs_input(0, 10));
        assert_eq!(t.read(0, 10).unwrap(), b"\r\n");
        // `z` was typed after Enter: it starts the next line.
        assert!(t.needs_input(0, 10));
        assert_eq!(t.fw().take_console(), b"z");
        // Control characters echo as ^X; Esc cancels the line.
        t.type_keys(&[key(0x01), 0x011B, key(b'q'), 0x1C0D]);
        assert!(!t.needs_input(0, 10));
        assert_eq!(t.fw().take_console(), b"^A\\\r\nq\r\n");
        assert_eq!(t.read(0, 10).unwrap(), b"q\r\n");
        // Input status follows the keyboard buffer.
        assert_eq!(t.ioctl(6, 0, 0).ax & 0xFF, 0x00);
        t.type_keys(&[key(b'k')]);
        assert_eq!(t.ioctl(6, 0, 0).ax & 0xFF, 0xFF);
        // Handles that are not CON input never wait.
        let f = t.open("README.TXT", 0).unwrap();
        assert!(!t.needs_input(f, 10));
    }

    #[test]
    fn raw_console_reads_take_keys_without_echo() {
        let mut t = T::new(sample_drive(true));
        // Set raw mode on handle 0: DOS's 80D3h | 20h.
        let info = t.ioctl(0, 0, 0).dx;
        assert!(t.ioctl(1, 0, (info | 0x20) & 0xFF).result().is_ok());
        assert_eq!(t.ioctl(0, 0, 0).dx, 0x80F3);
        t.fw().take_console();
        t.type_keys(&[key(b'x'), 0x4800]);
        assert!(t.needs_input(0, 4), "three of four bytes typed");
        assert!(!t.needs_input(0, 3));
        // Extended keys arrive as 00h and the scan code.
        assert_eq!(t.read(0, 3).unwrap(), [b'x', 0x00, 0x48]);
        assert_eq!(t.fw().take_console(), b"");
    }
}
