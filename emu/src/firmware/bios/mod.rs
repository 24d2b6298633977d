//! The PC/AT BIOS in Rust: POST, the interrupt vector table, the BIOS data area, video
//! (Int 10h, 80x25 colour text at B8000h), keyboard (Int 09h and Int 16h), the time of day
//! (Int 08h, Int 1Ah and the real-time clock's Int 70h), system services (Int 15h: A20
//! 2400h-2403h, event wait 83h, block move 87h, extended memory size 88h, configuration
//! C0h), the equipment and memory words (Int 11h, 12h) and the AT's return from protected
//! mode through a CPU reset (the CMOS shutdown byte, [`resume`]).
//!
//! # The shutdown byte
//!
//! A 286 leaves protected mode only through a CPU reset (8042 command FEh or output port
//! bit 0, port 92h bit 0, or a triple fault). The reset runs POST, which reads CMOS 0Fh
//! (the shutdown status byte), writes 00h there as the AT BIOS does, and on a machine where
//! DOS has booted dispatches on it (IBM PC/AT TechRef BIOS listing, POST's shutdown table;
//! RBIL CMOS 0Fh):
//!
//! - **05h**: flush the keyboard (the 8042's output buffer), send EOI to both 8259As and
//!   jump far through the dword at 0040:0067h (offset first);
//! - **0Ah**: jump far through 0040:0067h without EOI;
//! - **09h**: return from Int 15h AH=87h: SS:SP are loaded from 0040:0067h (offset at 67h,
//!   segment at 69h) and must point at the `INT 15h` frame (IP, CS, FLAGS) of the block
//!   move's caller; the BIOS returns AH=00h with CF=0 and ZF=1 in that frame and `IRET`s.
//!   vexed's own block move is done in Rust and never resets the CPU, so only a guest that
//!   takes the AT BIOS's exit path itself uses 09h; it must leave the frame as described;
//! - **0Bh** and **0Ch** (later AT BIOSes, RBIL): load SS:SP from 0040:0067h and `IRET`
//!   (0Bh) or `RETF` (0Ch);
//! - **04h** (boot loader, Int 19h) and every other code (00h normal POST; 01h-03h, 06h-08h
//!   are the AT POST's own memory and protected-mode tests, which vexed does not run):
//!   a normal POST, which after DOS has booted ends the run ([`FirmwareStop::Reset`]).
//!
//! For 05h and 0Ah the CPU continues with the registers of the reset (interrupts disabled)
//! and SS:SP at the POST stack 0030:0100; the resume code loads its own stack. RAM, the
//! chipset (PIC masks, the 8254, the A20 gate of the 8042 and port 92h, which a CPU reset
//! does not touch) and the CMOS are as the guest left them.
//!
//! This file holds the ROM image, POST, the BIOS data area layout, the dispatch of every
//! BIOS vector with the one-line services (Int 11h-14h, 17h-19h) and interrupts that have
//! no handler. The services live in `keyboard.rs` (Int 09h, 16h), `video.rs` (Int 10h),
//! `time.rs` (Int 08h, 1Ah) and `system.rs` (Int 15h).
//!
//! Sources: IBM PC/AT Technical Reference (BIOS listing: BDA layout, Int 08h/09h/16h/1Ah
//! flow, the 87h descriptor table), RBIL (INT 09, 10, 15, 16, 1A; #00499 for 87h), and
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

mod keyboard;
mod system;
mod time;
mod video;

use serde::{Deserialize, Serialize};

use super::stubs::{Asm, BIOS_SEG, svc};
use super::{Ctx, Firmware, FirmwareStop, Flow};
use crate::cpu::{Reg16, SegReg};
use crate::devices::rtc;
use keyboard::{int16, keyboard_irq};
use system::int15;
use time::{cmos_read, cmos_seconds_of_day, cmos_write, int1a, rtc_irq, timer_tick};
use video::{clear_window, int10};

pub use keyboard::{key_word, keyboard_head_addr, scancode_for};
pub use time::DateTime;
pub use video::screen_text;

pub(crate) use keyboard::{peek_key, pop_key};
pub(crate) use system::block_move;
pub(crate) use time::{set_clock, wall_clock_fine};
pub(crate) use video::teletype;

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
const BDA_RESUME: u16 = 0x67; // dword: where a reset with shutdown code 05h/0Ah resumes
const BDA_MIDNIGHT: u16 = 0x70;
const BDA_KB_BUF_START_PTR: u16 = 0x80;
const BDA_KB_BUF_END_PTR: u16 = 0x82;
const BDA_ROWS_MINUS_1: u16 = 0x84;
const BDA_CHAR_HEIGHT: u16 = 0x85;

// ROM layout (offsets in segment F000h).
const ROM_DUMMY_IRET: u16 = 0x0000;
const ROM_RETF: u16 = 0x0008;
const ROM_UNEXPECTED: u16 = 0x0010; // 32 stubs of 8 bytes: vectors 00h-1Fh
const ROM_SPURIOUS_MASTER: u16 = 0x0110; // 8 stubs: vectors 08h-0Fh (IRQ 0-7)
const ROM_SPURIOUS_SLAVE: u16 = 0x0150; // 8 stubs: vectors 70h-77h (IRQ 8-15)
const ROM_SERVICES: u16 = 0x0190; // one 8-byte stub per BIOS vector 10h-1Fh
const ROM_TIMER: u16 = 0x0220;
const ROM_KEYBOARD: u16 = 0x0238;
const ROM_INT16: u16 = 0x0240;
const ROM_POST: u16 = 0x0260;
const ROM_CONFIG_TABLE: u16 = 0x0280;
const ROM_RTC: u16 = 0x02A0; // Int 70h
const ROM_RTC_ALARM: u16 = ROM_RTC + 8; // its alarm path: Int 4Ah, then the EOIs
/// Int 15h AH=89h's processor part (see `system.rs`), 48 bytes.
const ROM_PM_ENTRY: u16 = 0x02C0;
/// The selector of the BIOS code descriptor Int 15h AH=89h builds at ES:SI+38h.
const PM_BIOS_CS: u16 = 0x38;
const ROM_RESET: u16 = 0xFFF0;

/// The stub address (in the ROM segment) of the service stub for vector `n` (10h-1Fh).
const fn service_stub(n: u8) -> u16 {
    ROM_SERVICES + (n as u16 - 0x10) * 8
}

/// The BIOS ROM image (64 KiB, mapped at F0000h).
pub fn rom_image() -> Vec<u8> {
    rom().0
}

/// The BIOS ROM image and its emulator traps (physical address of each stub's trap at
/// F0000h, service number), which the machine registers with the CPU when it maps the ROM.
pub fn rom() -> (Vec<u8>, Vec<(u32, u16)>) {
    let mut rom = vec![0xFFu8; 0x1_0000];
    let mut sites = Vec::new();
    let mut put = |a: &Asm| {
        let at = usize::from(a.base());
        rom[at..at + a.bytes.len()].copy_from_slice(&a.bytes);
        sites.extend(a.trap_sites());
    };
    let mut a = Asm::new(BIOS_SEG, ROM_DUMMY_IRET);
    a.iret();
    put(&a);
    let mut a = Asm::new(BIOS_SEG, ROM_RETF);
    a.retf();
    put(&a);
    // Int 70h: acknowledge the RTC in Rust; on an alarm call the user's Int 4Ah first and
    // send the EOIs after it (slave, then master), as the AT BIOS's RTC_INT.
    let mut a = Asm::new(BIOS_SEG, ROM_RTC);
    a.trap(svc::RTC_IRQ).iret();
    put(&a);
    let mut a = Asm::new(BIOS_SEG, ROM_RTC_ALARM);
    a.int(0x4A);
    // push ax; mov al,20h; out A0h,al; out 20h,al; pop ax
    a.raw(&[0x50, 0xB0, 0x20, 0xE6, 0xA0, 0xE6, 0x20, 0x58]);
    a.iret();
    put(&a);
    // Int 15h AH=89h, after the Rust part enabled A20, reprogrammed the 8259As and built the
    // BIOS code descriptor: load GDTR and IDTR from the caller's table, set PE, jump to the
    // BIOS selector, load DS, ES, SS with the caller's selectors 18h, 20h, 28h, drop the
    // INT frame and return with CS = 30h to the instruction after the INT (RBIL INT 15
    // AH=89h; BP is destroyed, AH = 0, CF clear).
    let mut a = Asm::new(BIOS_SEG, ROM_PM_ENTRY);
    a.raw(&[
        0xFA, // cli
        0x26, 0x0F, 0x01, 0x54, 0x08, // lgdt [es:si+08h]
        0x26, 0x0F, 0x01, 0x5C, 0x10, // lidt [es:si+10h]
        0x0F, 0x01, 0xE5, // smsw bp
        0x83, 0xCD, 0x01, // or bp, 1
        0x0F, 0x01, 0xF5, // lmsw bp
    ]);
    let next = a.here() + 5;
    let [lo, hi] = next.to_le_bytes();
    a.raw(&[0xEA, lo, hi, PM_BIOS_CS as u8, 0x00]); // jmp 0038h:next
    a.raw(&[
        0xBD, 0x18, 0x00, 0x8E, 0xDD, // mov bp, 18h; mov ds, bp
        0xBD, 0x20, 0x00, 0x8E, 0xC5, // mov bp, 20h; mov es, bp
        0xBD, 0x28, 0x00, 0x8E, 0xD5, // mov bp, 28h; mov ss, bp
        0x5D, // pop bp: the caller's return IP
        0x83, 0xC4, 0x04, // add sp, 4: its CS and FLAGS
        0x6A, 0x30, // push 30h
        0x55, // push bp
        0x32, 0xE4, // xor ah, ah (CF = 0)
        0xCB, // retf
    ]);
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
    // The DPMI host's gates and entry (F1000h-F1827h; see `dpmi/switch.rs`).
    for a in crate::firmware::dpmi::rom_stubs() {
        put(&a);
    }
    let mut a = Asm::new(BIOS_SEG, ROM_RESET);
    a.jmp_far(BIOS_SEG, ROM_POST);
    a.raw(b"01/01/94");
    put(&a);
    rom[0xFFFE] = 0xFC; // model byte: PC/AT
    (rom, sites)
}

/// Which exception vector's stub trapped, from IP just past the trap.
pub(crate) fn vector_of_unexpected_stub(ip: u16) -> u8 {
    (ip.wrapping_sub(ROM_UNEXPECTED + 4) / 8) as u8
}

/// The BIOS's own state (everything else lives in the BIOS data area and the CMOS).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Bios {}

impl Bios {
    pub fn new() -> Bios {
        Bios::default()
    }
}

/// POST's first look at the CMOS: reads the shutdown byte and clears it.
pub(crate) fn take_shutdown_code(ctx: &mut Ctx) -> u8 {
    let code = cmos_read(ctx, rtc::reg::SHUTDOWN);
    cmos_write(ctx, rtc::reg::SHUTDOWN, 0);
    code
}

/// The resume path for shutdown byte `code` after a CPU reset (see the module docs), or
/// `None` for a normal POST.
pub(crate) fn resume(code: u8, ctx: &mut Ctx) -> Option<Flow> {
    let vector = (ctx.rd16(BDA, BDA_RESUME + 2), ctx.rd16(BDA, BDA_RESUME));
    let stack_from_bda = |ctx: &mut Ctx| {
        ctx.cpu.set_sreg(SegReg::SS, vector.0);
        ctx.cpu.set_reg16(Reg16::SP, vector.1);
    };
    match code {
        0x05 | 0x0A => {
            if code == 0x05 {
                // Flush the 8042's output buffer, then EOI the slave and the master.
                for _ in 0..16 {
                    if ctx.bus.read_port(0x64) & 1 == 0 {
                        break;
                    }
                    ctx.bus.read_port(0x60);
                }
                ctx.bus.write_port(0xA0, 0x20);
                ctx.bus.write_port(0x20, 0x20);
            }
            ctx.cpu.set_sreg(SegReg::SS, 0x0030);
            ctx.cpu.set_reg16(Reg16::SP, 0x0100);
            ctx.jump(vector.0, vector.1);
        }
        0x09 => {
            stack_from_bda(ctx);
            ctx.set_ah(0);
            ctx.set_cf(false);
            ctx.set_zf(true);
            ctx.jump(BIOS_SEG, ROM_DUMMY_IRET);
        }
        0x0B => {
            stack_from_bda(ctx);
            ctx.jump(BIOS_SEG, ROM_DUMMY_IRET);
        }
        0x0C => {
            stack_from_bda(ctx);
            ctx.jump(BIOS_SEG, ROM_RETF);
        }
        _ => return None,
    }
    Some(Flow::Continue)
}

/// Power-on self test: vectors, data area, chipset, screen.
pub(crate) fn post(_fw: &mut Firmware, ctx: &mut Ctx) {
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
    ctx.set_vector(0x70, BIOS_SEG, ROM_RTC);
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
    // The tick count starts at the real-time clock's time of day, as the AT POST sets it.
    let secs_of_day = u64::from(cmos_seconds_of_day(ctx));
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
        0x1A => int1a(ctx),
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
        svc::RTC_IRQ => {
            if rtc_irq(ctx) {
                ctx.jump(BIOS_SEG, ROM_RTC_ALARM);
            }
            Flow::Continue
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
