//! The PC/AT BIOS in Rust: POST, the interrupt vector table, the BIOS data area, video
//! (Int 10h, 80x25 colour text at B8000h), keyboard (Int 09h and Int 16h), the time of day
//! (Int 08h and Int 1Ah), system services (Int 15h: A20 2400h-2403h, block move 87h,
//! extended memory size 88h, configuration C0h) and the equipment and memory words (Int
//! 11h, 12h).
//!
//! Sources: IBM PC/AT Technical Reference (BIOS listing: BDA layout, Int 08h/09h/16h/1Ah
//! flow, the 87h descriptor table), RBIL (INT 10, 15, 16, 1A; #00499 for 87h), and
//! `../shared/reference/dos-memory.md` sections 1.7 and 5.2 for the A20 services.
//!
//! The ROM at F000h holds only stubs: `trap; IRET` per service (see [`super::stubs`]), the
//! reset vector (FFFF:0000 jumps to the POST stub), a model byte FCh (AT) at F000:FFFEh and
//! the configuration table Int 15h AH=C0h returns. Int 15h AH=87h leaves A20 off when it
//! returns, as the AT BIOS listing does (it gates A20 on for the move and off after); an XMS
//! driver hooks 87h to preserve the caller's state (dos-memory.md section 1.7).
//!
//! Keyboard: the Int 09h handler reads the scancode (set 1) from port 60h, keeps the shift
//! flags at 40:17h and puts (scancode, ASCII) words in the 16-entry buffer at 40:1Eh (US
//! layout); it does not call Int 15h AH=4Fh and ignores Ctrl-Alt-Del. Only text modes
//! exist: a mode set to anything else leaves mode 3.

use serde::{Deserialize, Serialize};

use super::stubs::{Asm, BIOS_SEG, svc};
use super::{Ctx, Firmware, FirmwareStop, Flow, linear};
use crate::cpu::{Reg16, SegReg};
use crate::mem::Memory;

/// Text video memory (mode 3).
pub const VIDEO_BASE: u32 = 0xB8000;
pub const COLUMNS: u16 = 80;
pub const ROWS: u16 = 25;
/// BIOS data area segment.
pub const BDA: u16 = 0x0040;
/// BIOS timer ticks per day (the count at 40:6Ch wraps here; 1,573,040 = 18.2065 Hz).
pub const TICKS_PER_DAY: u32 = 0x1800B0;

// BIOS data area offsets (IBM PC/AT Technical Reference).
const BDA_COM1: u16 = 0x00;
const BDA_EQUIPMENT: u16 = 0x10;
const BDA_MEMORY_KB: u16 = 0x13;
const BDA_KB_FLAGS: u16 = 0x17;
const BDA_KB_FLAGS2: u16 = 0x18;
const BDA_KB_HEAD: u16 = 0x1A;
const BDA_KB_TAIL: u16 = 0x1C;
const KB_BUFFER_START: u16 = 0x1E;
const KB_BUFFER_END: u16 = 0x3E;
const BDA_VIDEO_MODE: u16 = 0x49;
const BDA_COLUMNS: u16 = 0x4A;
const BDA_PAGE_SIZE: u16 = 0x4C;
const BDA_PAGE_OFFSET: u16 = 0x4E;
const BDA_CURSOR: u16 = 0x50;
const BDA_CURSOR_SHAPE: u16 = 0x60;
const BDA_ACTIVE_PAGE: u16 = 0x62;
const BDA_CRTC_PORT: u16 = 0x63;
const BDA_TICKS: u16 = 0x6C;
const BDA_MIDNIGHT: u16 = 0x70;
const BDA_KB_BUF_START_PTR: u16 = 0x80;
const BDA_KB_BUF_END_PTR: u16 = 0x82;
const BDA_ROWS_MINUS_1: u16 = 0x84;
const BDA_CHAR_HEIGHT: u16 = 0x85;

// Shift-flag bits at 40:17h.
const RIGHT_SHIFT: u8 = 0x01;
const LEFT_SHIFT: u8 = 0x02;
const CTRL: u8 = 0x04;
const ALT: u8 = 0x08;
const CAPS_LOCK: u8 = 0x40;

// ROM layout (offsets in segment F000h).
const ROM_DUMMY_IRET: u16 = 0x0000;
const ROM_UNEXPECTED: u16 = 0x0010; // 32 stubs of 8 bytes: vectors 00h-1Fh
const ROM_SPURIOUS_MASTER: u16 = 0x0110; // 8 stubs: vectors 08h-0Fh (IRQ 0-7)
const ROM_SPURIOUS_SLAVE: u16 = 0x0150; // 8 stubs: vectors 70h-77h (IRQ 8-15)
const ROM_SERVICES: u16 = 0x0190; // one 8-byte stub per BIOS vector 10h-1Fh
const ROM_TIMER: u16 = 0x0220;
const ROM_KEYBOARD: u16 = 0x0238;
const ROM_INT16: u16 = 0x0240;
const ROM_POST: u16 = 0x0260;
const ROM_CONFIG_TABLE: u16 = 0x0280;
const ROM_RESET: u16 = 0xFFF0;

/// The stub address (in the ROM segment) of the service stub for vector `n` (10h-1Fh).
const fn service_stub(n: u8) -> u16 {
    ROM_SERVICES + (n as u16 - 0x10) * 8
}

/// The BIOS ROM image (64 KiB, mapped at F0000h).
pub fn rom_image() -> Vec<u8> {
    let mut rom = vec![0xFFu8; 0x1_0000];
    let mut put = |a: &Asm| {
        let at = usize::from(a.here()) - a.bytes.len();
        rom[at..at + a.bytes.len()].copy_from_slice(&a.bytes);
    };
    let mut a = Asm::new(BIOS_SEG, ROM_DUMMY_IRET);
    a.iret();
    put(&a);
    for v in 0..32u16 {
        let mut a = Asm::new(BIOS_SEG, ROM_UNEXPECTED + v * 8);
        a.trap(svc::UNEXPECTED).iret();
        put(&a);
    }
    for k in 0..8u16 {
        for base in [ROM_SPURIOUS_MASTER, ROM_SPURIOUS_SLAVE] {
            let mut a = Asm::new(BIOS_SEG, base + k * 8);
            a.trap(svc::SPURIOUS_IRQ).iret();
            put(&a);
        }
    }
    for n in 0x10..=0x1Fu8 {
        let mut a = Asm::new(BIOS_SEG, service_stub(n));
        a.trap(svc::bios(n)).iret();
        put(&a);
    }
    // Int 08h: count the tick, call the user hook Int 1Ch, then EOI (the AT BIOS order).
    let mut a = Asm::new(BIOS_SEG, ROM_TIMER);
    a.trap(svc::bios(0x08)).int(0x1C);
    a.raw(&[0x50, 0xB0, 0x20, 0xE6, 0x20, 0x58]); // push ax; mov al,20h; out 20h,al; pop ax
    a.iret();
    put(&a);
    let mut a = Asm::new(BIOS_SEG, ROM_KEYBOARD);
    a.trap(svc::bios(0x09)).iret();
    put(&a);
    // Int 16h and its wait loop (see INT16_RETRY).
    let mut a = Asm::new(BIOS_SEG, ROM_INT16);
    a.trap(svc::bios(0x16)).iret();
    a.sti().hlt().cli().trap(svc::INT16_RETRY).iret();
    put(&a);
    let mut a = Asm::new(BIOS_SEG, ROM_POST);
    let post = a.here();
    a.cli().trap(svc::POST).hlt().jmp_short(post);
    put(&a);
    // Int 15h AH=C0h system configuration table: length 8, model FCh (AT), submodel 01h,
    // revision 0, feature byte 1 = 70h (second PIC, RTC, Int 15h AH=4Fh... see RBIL #00509:
    // bit 6 = second 8259, bit 5 = RTC; bit 4 (4Fh called) is not set, vexed does not call
    // it), other feature bytes 0.
    let mut a = Asm::new(BIOS_SEG, ROM_CONFIG_TABLE);
    a.raw(&[0x08, 0x00, 0xFC, 0x01, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00]);
    put(&a);
    let mut a = Asm::new(BIOS_SEG, ROM_RESET);
    a.jmp_far(BIOS_SEG, ROM_POST);
    a.raw(b"01/01/94");
    put(&a);
    rom[0xFFFE] = 0xFC; // model byte: PC/AT
    rom
}

/// Which exception vector's stub trapped, from IP just past the trap.
pub(crate) fn vector_of_unexpected_stub(ip: u16) -> u8 {
    (ip.wrapping_sub(ROM_UNEXPECTED + 4) / 8) as u8
}

/// The BIOS's own state (everything else lives in the BIOS data area).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Bios {
    /// Seconds added to the real-time clock by Int 1Ah AH=03h/05h.
    rtc_adjust_secs: i64,
}

impl Bios {
    pub fn new() -> Bios {
        Bios::default()
    }

    /// Moves the real-time clock by `secs` (DOS's set date/time and Int 1Ah AH=03h/05h).
    pub(crate) fn adjust_clock(&mut self, secs: i64) {
        self.rtc_adjust_secs = self.rtc_adjust_secs.saturating_add(secs);
    }
}

/// Power-on self test: vectors, data area, chipset, screen.
pub(crate) fn post(fw: &mut Firmware, ctx: &mut Ctx) {
    for v in 0..=255u8 {
        ctx.set_vector(v, BIOS_SEG, ROM_DUMMY_IRET);
    }
    for v in [0x00u8, 0x06, 0x07] {
        ctx.set_vector(v, BIOS_SEG, ROM_UNEXPECTED + u16::from(v) * 8);
    }
    for k in 0..8u8 {
        ctx.set_vector(0x08 + k, BIOS_SEG, ROM_SPURIOUS_MASTER + u16::from(k) * 8);
        ctx.set_vector(0x70 + k, BIOS_SEG, ROM_SPURIOUS_SLAVE + u16::from(k) * 8);
    }
    ctx.set_vector(0x08, BIOS_SEG, ROM_TIMER);
    ctx.set_vector(0x09, BIOS_SEG, ROM_KEYBOARD);
    for n in [0x10u8, 0x11, 0x12, 0x13, 0x14, 0x15, 0x17, 0x18, 0x19, 0x1A] {
        ctx.set_vector(n, BIOS_SEG, service_stub(n));
    }
    ctx.set_vector(0x16, BIOS_SEG, ROM_INT16);
    // 1Bh (Ctrl-Break) and 1Ch (user timer hook) stay on the dummy IRET; 1Dh-1Fh are
    // table pointers (none); 60h-6Fh are free for user programs (0000:0000).
    for v in [0x1Du8, 0x1E, 0x1F] {
        ctx.set_vector(v, 0, 0);
    }
    for v in 0x60..=0x6Fu8 {
        ctx.set_vector(v, 0, 0);
    }
    // BIOS data area.
    for off in 0..0x100u16 {
        ctx.wr8(BDA, off, 0);
    }
    ctx.wr16(BDA, BDA_COM1, 0x3F8);
    // Equipment: 80x25 colour (bits 5-4 = 10b), one serial port (bits 11-9).
    ctx.wr16(BDA, BDA_EQUIPMENT, 0x0220);
    ctx.wr16(BDA, BDA_MEMORY_KB, 640);
    ctx.wr16(BDA, BDA_KB_HEAD, KB_BUFFER_START);
    ctx.wr16(BDA, BDA_KB_TAIL, KB_BUFFER_START);
    ctx.wr16(BDA, BDA_KB_BUF_START_PTR, KB_BUFFER_START);
    ctx.wr16(BDA, BDA_KB_BUF_END_PTR, KB_BUFFER_END);
    ctx.wr8(BDA, BDA_VIDEO_MODE, 3);
    ctx.wr16(BDA, BDA_COLUMNS, COLUMNS);
    ctx.wr16(BDA, BDA_PAGE_SIZE, 0x1000);
    ctx.wr16(BDA, BDA_CURSOR_SHAPE, 0x0607);
    ctx.wr16(BDA, BDA_CRTC_PORT, 0x3D4);
    ctx.wr8(BDA, BDA_ROWS_MINUS_1, (ROWS - 1) as u8);
    ctx.wr16(BDA, BDA_CHAR_HEIGHT, 16);
    let secs_of_day = (fw.config.dos.boot_time.seconds_of_day()) as u64;
    let ticks = secs_of_day * u64::from(TICKS_PER_DAY) / 86_400;
    ctx.wr32(BDA, BDA_TICKS, ticks as u32);
    clear_window(ctx, 0, 0, ROWS as u8 - 1, COLUMNS as u8 - 1, 0x07);
    // The 8254's channel 0 at its BIOS rate (mode 3, count 65536: 18.2 Hz).
    ctx.bus.write_port(0x43, 0x36);
    ctx.bus.write_port(0x40, 0x00);
    ctx.bus.write_port(0x40, 0x00);
    // A20 off, as DOS expects it (the 1 MB wrap, dos-memory.md section 1.8).
    ctx.set_a20(false);
    // The POST stack (IBM: 0030:0100).
    ctx.cpu.set_sreg(SegReg::SS, 0x0030);
    ctx.cpu.set_reg16(Reg16::SP, 0x0100);
}

/// Runs BIOS service `vector` (the trap in that vector's stub).
pub(crate) fn service(fw: &mut Firmware, vector: u8, ctx: &mut Ctx) -> Flow {
    match vector {
        0x08 => timer_tick(ctx),
        0x09 => keyboard_irq(ctx),
        0x10 => int10(fw, ctx),
        0x11 => {
            let v = ctx.rd16(BDA, BDA_EQUIPMENT);
            ctx.set_ax(v);
        }
        0x12 => {
            let v = ctx.rd16(BDA, BDA_MEMORY_KB);
            ctx.set_ax(v);
        }
        0x13 => {
            // No disks: "invalid function" for every request.
            ctx.set_ah(0x01);
            ctx.set_cf(true);
        }
        0x14 => ctx.set_ah(0x80), // serial BIOS: time-out (not provided)
        0x15 => int15(ctx),
        0x16 if !int16(ctx) => ctx.cpu.set_ip(ROM_INT16 + 5), // the wait loop
        0x16 => {}
        0x17 => ctx.set_ah(0x01), // printer status: time-out (no printer is attached)
        0x18 | 0x19 => return Flow::Stop(FirmwareStop::Reset),
        0x1A => int1a(fw, ctx),
        _ => {}
    }
    Flow::Continue
}

/// Internal BIOS traps that are not one vector's service.
pub(crate) fn service_internal(_fw: &mut Firmware, service: u16, ctx: &mut Ctx) -> Flow {
    match service {
        svc::INT16_RETRY => {
            if !int16(ctx) {
                ctx.cpu.set_ip(ROM_INT16 + 5);
            }
            Flow::Continue
        }
        svc::SPURIOUS_IRQ => spurious_irq(ctx),
        _ => Flow::Continue,
    }
}

/// A hardware interrupt without a handler: acknowledge it. If no IRQ is in service on that
/// line the vector was raised by the CPU (in real mode #SS and #GP share IRQ 4's and 5's
/// vectors 0Ch/0Dh): a crash.
fn spurious_irq(ctx: &mut Ctx) -> Flow {
    use crate::devices::pic::Chip;
    let ip = ctx.cpu.ip().wrapping_sub(4);
    let cs = ctx.cpu.sreg(SegReg::CS);
    debug_assert_eq!(cs, BIOS_SEG);
    let (slave, line) = if ip >= ROM_SPURIOUS_SLAVE {
        (true, ((ip - ROM_SPURIOUS_SLAVE) / 8) as u8)
    } else {
        (false, ((ip - ROM_SPURIOUS_MASTER) / 8) as u8)
    };
    let pic = &ctx.bus.pic;
    let in_service = if slave {
        pic.isr(Chip::Slave) & (1 << line) != 0
    } else {
        pic.isr(Chip::Master) & (1 << line) != 0
    };
    if in_service {
        if slave {
            ctx.bus.write_port(0xA0, 0x20);
        }
        ctx.bus.write_port(0x20, 0x20);
    } else if !slave && (line == 4 || line == 5) {
        let (cs, ip) = ctx.interrupted_at();
        return Flow::Stop(FirmwareStop::GuestFault {
            vector: 0x08 + line,
            cs,
            ip,
        });
    }
    Flow::Continue
}

/// Int 08h's count: 40:6Ch goes up by one and wraps at midnight, setting 40:70h.
fn timer_tick(ctx: &mut Ctx) {
    let t = ctx.rd32(BDA, BDA_TICKS).wrapping_add(1);
    if t >= TICKS_PER_DAY {
        ctx.wr32(BDA, BDA_TICKS, 0);
        ctx.wr8(BDA, BDA_MIDNIGHT, 1);
    } else {
        ctx.wr32(BDA, BDA_TICKS, t);
    }
}

// ----- keyboard ---------------------------------------------------------------------------

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
fn keyboard_irq(ctx: &mut Ctx) {
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
fn int16(ctx: &mut Ctx) -> bool {
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

// ----- video --------------------------------------------------------------------------------

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
fn clear_window(ctx: &mut Ctx, top: u8, left: u8, bottom: u8, right: u8, attr: u8) {
    let page = active_page(ctx);
    for r in top..=bottom.min(ROWS as u8 - 1) {
        for c in left..=right.min(COLUMNS as u8 - 1) {
            ctx.bus
                .mem
                .write_u16(cell_addr(page, r, c), u16::from(attr) << 8 | 0x20);
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
    let mem = &mut ctx.bus.mem;
    let rows: Vec<u8> = if up {
        (top..=bottom - lines).collect()
    } else {
        (top + lines..=bottom).rev().collect()
    };
    for r in rows {
        let from = if up { r + lines } else { r - lines };
        for c in left..=right {
            let w = mem.read_u16(cell_addr(page, from, c));
            mem.write_u16(cell_addr(page, r, c), w);
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
            ctx.bus.mem.write_u8(a, ch);
            col += 1;
            if col >= COLUMNS as u8 {
                col = 0;
                row += 1;
            }
        }
    }
    if row >= ROWS as u8 {
        let attr = ctx.bus.mem.read_u8(cell_addr(page, ROWS as u8 - 1, 0) + 1);
        scroll(ctx, true, 1, attr, 0, 0, ROWS as u8 - 1, COLUMNS as u8 - 1);
        row = ROWS as u8 - 1;
    }
    set_cursor(ctx, page, row, col);
}

fn int10(fw: &mut Firmware, ctx: &mut Ctx) {
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
            let w = ctx.bus.mem.read_u16(cell_addr(page, row, col));
            ctx.set_ax(w);
        }
        0x09 | 0x0A => {
            let (row, col) = cursor(ctx, page);
            let (ch, attr) = (ctx.al(), ctx.bl());
            let start = u32::from(row) * u32::from(COLUMNS) + u32::from(col);
            let end = (start + u32::from(ctx.cx())).min(u32::from(ROWS * COLUMNS));
            for cell in start..end {
                let a = VIDEO_BASE + u32::from(page) * 0x1000 + cell * 2;
                ctx.bus.mem.write_u8(a, ch);
                if ctx.ah() == 0x09 {
                    ctx.bus.mem.write_u8(a + 1, attr);
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
                    ctx.bus.mem.write_u8(cell_addr(page, r, c) + 1, a);
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

// ----- Int 15h ------------------------------------------------------------------------------

fn int15(ctx: &mut Ctx) {
    let ok = |ctx: &mut Ctx| {
        ctx.set_ah(0);
        ctx.set_cf(false);
    };
    match (ctx.ah(), ctx.al()) {
        (0x24, 0x00) => {
            ctx.set_a20(false);
            ok(ctx);
        }
        (0x24, 0x01) => {
            ctx.set_a20(true);
            ok(ctx);
        }
        (0x24, 0x02) => {
            let on = ctx.a20();
            ok(ctx);
            ctx.set_al(u8::from(on));
        }
        (0x24, 0x03) => {
            ok(ctx);
            ctx.set_bx(0x0003); // 8042 and port 92h
        }
        (0x4F, _) => ctx.set_cf(true), // keyboard intercept: process the key
        (0x87, _) => {
            let status = block_move(ctx);
            ctx.set_ah(status);
            ctx.set_cf(status != 0);
            if status == 0 {
                ctx.set_zf(true);
            }
        }
        (0x88, _) => {
            let kb = (ctx.bus.mem.ram_size().saturating_sub(0x10_0000) / 1024).min(0xFFFF);
            ctx.set_ax(kb as u16);
            ctx.set_cf(false);
        }
        (0x90 | 0x91, _) => ok(ctx),
        (0xC0, _) => {
            ctx.set_es(BIOS_SEG);
            ctx.set_bx(ROM_CONFIG_TABLE);
            ok(ctx);
        }
        _ => {
            ctx.set_ah(0x86); // function not supported
            ctx.set_cf(true);
        }
    }
}

/// Int 15h AH=87h: copies CX words between the two descriptors of the table at ES:SI
/// (RBIL #00499). Returns the AH status.
pub(crate) fn block_move(ctx: &mut Ctx) -> u8 {
    let words = ctx.cx();
    if words > 0x8000 {
        return 0x01; // RBIL: CX must not exceed 8000h; report a "parity error" as BIOSes do
    }
    let (es, si) = (ctx.es(), ctx.si());
    let base = |ctx: &Ctx, d: u16| -> (u32, u16) {
        let limit = ctx.rd16(es, si.wrapping_add(d));
        let lo = ctx.rd16(es, si.wrapping_add(d + 2));
        let mid = ctx.rd8(es, si.wrapping_add(d + 4));
        let hi = ctx.rd8(es, si.wrapping_add(d + 7));
        (
            u32::from(lo) | u32::from(mid) << 16 | u32::from(hi) << 24,
            limit,
        )
    };
    let (src, src_limit) = base(ctx, 0x10);
    let (dst, dst_limit) = base(ctx, 0x18);
    let bytes = u32::from(words) * 2;
    if bytes > 0 && (u32::from(src_limit) < bytes - 1 || u32::from(dst_limit) < bytes - 1) {
        // The protected-mode copy would fault on the limit: the BIOS reports an
        // interrupt error.
        return 0x02;
    }
    ctx.set_a20(true);
    let data = ctx.bus.mem.read_bytes(src, bytes as usize);
    ctx.bus.mem.write_bytes(dst, &data);
    ctx.set_a20(false);
    0
}

// ----- time -----------------------------------------------------------------------------------

fn bcd(v: u32) -> u8 {
    (((v / 10 % 10) << 4) | (v % 10)) as u8
}

fn from_bcd(v: u8) -> u32 {
    u32::from(v >> 4) * 10 + u32::from(v & 0xF)
}

fn int1a(fw: &mut Firmware, ctx: &mut Ctx) {
    match ctx.ah() {
        0x00 => {
            let t = ctx.rd32(BDA, BDA_TICKS);
            let midnight = ctx.rd8(BDA, BDA_MIDNIGHT);
            ctx.wr8(BDA, BDA_MIDNIGHT, 0);
            ctx.set_cx((t >> 16) as u16);
            ctx.set_dx(t as u16);
            ctx.set_al(midnight);
        }
        0x01 => {
            let t = u32::from(ctx.cx()) << 16 | u32::from(ctx.dx());
            ctx.wr32(BDA, BDA_TICKS, t.min(TICKS_PER_DAY - 1));
            ctx.wr8(BDA, BDA_MIDNIGHT, 0);
        }
        0x02 => {
            let now = wall_clock(fw, ctx);
            ctx.set_cx(u16::from(bcd(now.hour)) << 8 | u16::from(bcd(now.minute)));
            ctx.set_dx(u16::from(bcd(now.second)) << 8);
            ctx.set_cf(false);
        }
        0x04 => {
            let now = wall_clock(fw, ctx);
            let y = u32::from(now.year);
            ctx.set_cx(u16::from(bcd(y / 100)) << 8 | u16::from(bcd(y % 100)));
            ctx.set_dx(u16::from(bcd(u32::from(now.month))) << 8 | u16::from(bcd(now.day.into())));
            ctx.set_cf(false);
        }
        0x03 | 0x05 => {
            let mut t = wall_clock(fw, ctx);
            if ctx.ah() == 0x03 {
                t.hour = from_bcd((ctx.cx() >> 8) as u8);
                t.minute = from_bcd(ctx.cl());
                t.second = from_bcd(ctx.dh());
            } else {
                t.year = (from_bcd((ctx.cx() >> 8) as u8) * 100 + from_bcd(ctx.cl())) as u16;
                t.month = from_bcd(ctx.dh()) as u8;
                t.day = from_bcd(ctx.dl()) as u8;
            }
            let want = t.to_unix();
            let have = wall_clock(fw, ctx).to_unix();
            fw.bios.adjust_clock(want - have);
            ctx.set_cf(false);
        }
        _ => ctx.set_cf(true),
    }
}

/// A calendar date and time of day (the guest's wall clock; no time zones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Default for DateTime {
    /// 1994-01-01 00:00:00, the date in the ROM.
    fn default() -> DateTime {
        DateTime {
            year: 1994,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
        }
    }
}

impl DateTime {
    pub fn seconds_of_day(&self) -> u32 {
        self.hour * 3600 + self.minute * 60 + self.second
    }

    /// Seconds since 1970-01-01 00:00:00 (days from the civil calendar, proleptic
    /// Gregorian; the algorithm of H. Hinnant's `days_from_civil`).
    pub fn to_unix(&self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400 + i64::from(self.seconds_of_day())
    }

    /// The inverse of [`DateTime::to_unix`].
    pub fn from_unix(secs: i64) -> DateTime {
        let days = secs.div_euclid(86_400);
        let rest = secs.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
        DateTime {
            year,
            month,
            day,
            hour: rest / 3600,
            minute: rest / 60 % 60,
            second: rest % 60,
        }
    }

    /// Day of the week, 0 = Sunday (1970-01-01 was a Thursday).
    pub fn weekday(&self) -> u8 {
        (self.to_unix().div_euclid(86_400) + 4).rem_euclid(7) as u8
    }
}

/// The guest's wall clock now: boot time plus guest time (exact, from ticks) plus RTC
/// adjustments. Also returns the hundredths of a second.
pub(crate) fn wall_clock_fine(fw: &Firmware, ctx: &Ctx) -> (DateTime, u8) {
    let (secs, nanos) = ctx.bus.rate().guest_time(ctx.now);
    let t = fw.config.dos.boot_time.to_unix()
        + i64::try_from(secs).unwrap_or(i64::MAX / 2)
        + fw.bios.rtc_adjust_secs;
    (DateTime::from_unix(t), (nanos / 10_000_000) as u8)
}

fn wall_clock(fw: &Firmware, ctx: &Ctx) -> DateTime {
    wall_clock_fine(fw, ctx).0
}

/// The linear address of the BIOS's keyboard buffer head pointer (for tests).
pub fn keyboard_head_addr() -> u32 {
    linear(BDA, BDA_KB_HEAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips_and_matches_known_dates() {
        // 2000-03-01 is day 11,017 after 1970-01-01; 1994-01-01 was a Saturday.
        let d = DateTime {
            year: 2000,
            month: 3,
            day: 1,
            ..DateTime::default()
        };
        assert_eq!(d.to_unix(), 11_017 * 86_400);
        assert_eq!(DateTime::default().weekday(), 6);
        assert_eq!(DateTime::default().to_unix(), 757_382_400);
        for s in (0..4_000_000_000i64).step_by(86_400 * 37 + 3_601) {
            assert_eq!(DateTime::from_unix(s).to_unix(), s);
        }
    }

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

    #[test]
    fn rom_has_the_reset_jump_and_the_at_model_byte() {
        let rom = rom_image();
        assert_eq!(rom.len(), 0x1_0000);
        assert_eq!(rom[0xFFF0], 0xEA);
        assert_eq!(rom[0xFFFE], 0xFC);
        assert_eq!(&rom[0xFFF5..0xFFFD], b"01/01/94");
        assert_eq!(vector_of_unexpected_stub(ROM_UNEXPECTED + 6 * 8 + 4), 6);
    }
}
