//! Guest-memory layout of the firmware and the little 8086 code sequences it places there.
//!
//! DESIGN.md section 7: services are written in Rust but reached through real guest code
//! and data, so a guest can read, hook and chain them as on a real PC. Each entry point is a
//! short stub that executes the emulator trap ([`crate::cpu::TRAP_OPCODE`] plus a service
//! number from [`svc`]) and then returns the way the real service would (`IRET`, `RETF`).
//!
//! Layout of the first 8.5 KiB of RAM (everything else below 640 KiB is the DOS arena):
//!
//! | Address | Segment | Contents |
//! |---|---|---|
//! | 00000h-003FFh | 0000h | interrupt vector table |
//! | 00400h-004FFh | 0040h | BIOS data area |
//! | 00500h-005FFh | 0050h | DOS communication area (print-screen status at 0500h) |
//! | 00600h-0063Fh | [`DOS_DATA_SEG`] | DOS data: the SDA format byte at 0604h (01h, DOS 4.0-6.0) |
//! | 00640h-006FFh | [`VMM_SEG`] | the VMM's real-mode stubs: start-up and exit broadcasts, the system VM's idle loop |
//! | 00700h-009FFh | [`DOS_CODE_SEG`] | DOS entry stubs (Int 20h-2Fh, the shell, CP/M entry, the device request stub, the CONFIG.SYS loop and the XMS steps after it) |
//! | 00A00h-00AFFh | [`EMM_SEG`] | EMS driver: `EMMXXXX0` device header and the Int 67h entry |
//! | 00B00h-010FFh | [`XMS_SEG`] | XMS driver: hookable entry, Int 15h hook, handle table for 2Fh/4309h |
//! | 01100h-015FFh | [`DOS_DATA_SEG`] (offsets 0B00h-0FFFh) | DOS tables: List of Lists with the NUL device, CON, CLOCK$ and C: device headers, C:'s drive parameter block, system file table, current directory structures (see [`super::dos::tables`]) |
//! | 01600h-021FFh | [`DOS_DATA_SEG`] (offsets 1000h-1BFFh) | DOS's swappable data area at 0060:1030h (critical-error flag, InDOS, current PSP and DTA, last error; the fields before it from 100Eh; see [`super::dos::sda`]); from 17C0h the country tables of code page 437 and the case-map routine ([`super::dos::country`]) |
//! | 02200h- | [`FIRST_MCB_SEG`] | first memory control block of the DOS arena |
//!
//! The BIOS entry points live in a generated 64 KiB ROM at F0000h ([`super::bios`]).

use crate::cpu::TRAP_OPCODE;

/// Segment of the DOS data (the SDA format byte at offset 4, the tables from 0B00h, the
/// swappable data area from 1000h).
pub const DOS_DATA_SEG: u16 = 0x0060;
/// Offset of the critical-error flag (ErrorMode) in [`DOS_DATA_SEG`]: the swappable data
/// area's first byte, the byte before InDOS.
pub const CRIT_ERROR_OFF: u16 = super::dos::sda::CRIT_ERROR_OFF;
/// Offset of the InDOS byte in [`DOS_DATA_SEG`] (what Int 21h AH=34h returns).
pub const INDOS_OFF: u16 = super::dos::sda::INDOS_OFF;
/// Segment of the VM manager's stubs (192 bytes).
pub const VMM_SEG: u16 = 0x0064;
/// Segment of the DOS entry stubs.
pub const DOS_CODE_SEG: u16 = 0x0070;
/// Segment of the EMS driver's device header (the Int 67h vector points into it).
pub const EMM_SEG: u16 = 0x00A0;
/// Segment of the XMS driver's entry stub and handle table.
pub const XMS_SEG: u16 = 0x00B0;
/// Bytes available at [`XMS_SEG`] (entry stubs, header and up to 128 10-byte handles).
pub const XMS_AREA_BYTES: u32 = 0x600;
/// The first memory control block of the DOS arena.
pub const FIRST_MCB_SEG: u16 = 0x0220;
/// Segment of the BIOS ROM.
pub const BIOS_SEG: u16 = 0xF000;

/// Trap service numbers. The high byte names the component, the low byte the entry.
pub mod svc {
    /// BIOS handler for interrupt vector `n` (0000h-00FFh).
    pub const fn bios(n: u8) -> u16 {
        n as u16
    }
    /// The BIOS's power-on self test, reached from the reset vector.
    pub const POST: u16 = 0x0100;
    /// A processor exception no handler claims (divide error aside): the guest crashed.
    pub const UNEXPECTED: u16 = 0x0101;
    /// A hardware interrupt the BIOS does not service: EOI and return.
    pub const SPURIOUS_IRQ: u16 = 0x0102;
    /// Int 16h again after the wait loop (a key may have arrived).
    pub const INT16_RETRY: u16 = 0x0103;
    /// Int 70h, the real-time clock interrupt (IRQ 8).
    pub const RTC_IRQ: u16 = 0x0104;
    /// DOS handler for interrupt vector `n` (20h-2Fh).
    pub const fn dos(n: u8) -> u16 {
        0x0200 | n as u16
    }
    /// An Int 21h function that waited for input runs again after Int 28h and `HLT`.
    pub const INT21_RESUME: u16 = 0x0280;
    /// The shell picks the next program and sets up the registers of its `EXEC` call.
    pub const SHELL_NEXT: u16 = 0x0281;
    /// The shell's `EXEC` returned: collect the exit code or the error.
    pub const SHELL_DONE: u16 = 0x0282;
    /// The CP/M-style `CALL 5` entry (function number in CL).
    pub const CALL5: u16 = 0x0283;
    /// The divide-error handler DOS installs ("Divide overflow").
    pub const DIVIDE_ERROR: u16 = 0x0284;
    /// The bottom of Int 28h (DOS idle): under the VMM another VM may run.
    pub const DOS_IDLE: u16 = 0x0285;
    /// CONFIG.SYS processing: the next driver's INIT request, or the shell when none is
    /// left (`dos/sysinit.rs`).
    pub const SYSINIT_NEXT: u16 = 0x0286;
    /// A driver's INIT returned.
    pub const SYSINIT_DONE: u16 = 0x0287;
    /// A driver answered the request of an Int 21h function (`dos/device.rs`).
    pub const DEVICE_DONE: u16 = 0x0288;
    /// After CONFIG.SYS: the next step of finding the XMS driver and, for `DOS=HIGH`,
    /// taking the HMA through it (`dos/sysinit.rs`).
    pub const SYSINIT_XMS: u16 = 0x0289;
    /// The XMS driver entry (function in AH).
    pub const XMS: u16 = 0x0300;
    /// The XMS driver's Int 15h hook (AH=87h and 88h; other functions chain).
    pub const XMS_INT15: u16 = 0x0301;
    /// The EMS driver's Int 67h entry.
    pub const EMS: u16 = 0x0400;
    /// The EMS device driver's strategy and interrupt routines (requests are answered
    /// "done").
    pub const EMS_DEVICE: u16 = 0x0401;
    /// VMM start-up and exit steps, between the broadcasts (see `vmm/startup.rs`).
    pub const VMM_START: u16 = 0x0500;
    pub const VMM_STARTUP_DONE: u16 = 0x0501;
    pub const VMM_INIT_DONE: u16 = 0x0502;
    pub const VMM_TSRS_DONE: u16 = 0x0503;
    pub const VMM_EXIT_BEGIN: u16 = 0x0504;
    pub const VMM_EXIT_REAL: u16 = 0x0505;
    pub const VMM_EXITED: u16 = 0x0506;
    /// The DPMI host's mode-switch entry (a far call from real mode).
    pub const DPMI_ENTRY: u16 = 0x0600;
    /// Real-mode code the DPMI host called for its client returned.
    pub const DPMI_RM_RETURN: u16 = 0x0601;
    /// The DPMI host's interrupt gate for vector n: `DPMI_PM_INT | n`, a protected-mode
    /// service ([`crate::cpu::PM_SERVICE`]).
    pub const DPMI_PM_INT: u16 = crate::cpu::PM_SERVICE | 0x0600;
    /// A client's exception handler returned to the DPMI host (a ring-3 stub).
    pub const DPMI_EXC_RETURN: u16 = crate::cpu::PM_SERVICE | 0x0700;
    /// A client's exception handler chained to the host's default for exception n:
    /// `DPMI_EXC_DEFAULT | n` (n = 00h-1Fh).
    pub const DPMI_EXC_DEFAULT: u16 = crate::cpu::PM_SERVICE | 0x0720;
    /// Real-mode code called the DPMI client's real-mode callback n (0303h):
    /// `DPMI_CALLBACK | n` (n = 0-15).
    pub const DPMI_CALLBACK: u16 = 0x0610;
    /// A client's real-mode callback procedure returned to the DPMI host (IRET, a ring-3
    /// stub).
    pub const DPMI_CALLBACK_RETURN: u16 = crate::cpu::PM_SERVICE | 0x0701;
    /// The DPMI host's raw mode switch from real to protected mode (0306h's BX:CX).
    pub const DPMI_RAW_TO_PM: u16 = 0x0602;
    /// The DPMI host's raw mode switch from protected to real mode (0306h's SI:(E)DI, a
    /// ring-3 stub).
    pub const DPMI_RAW_TO_RM: u16 = crate::cpu::PM_SERVICE | 0x0702;
}

/// Assembles a stub into a byte buffer at a known segment and offset, remembering where
/// its traps are: a stub is placed with [`super::Ctx::place`] (or, for the ROM, through
/// [`super::bios::rom`]), which registers each trap with the CPU ([`crate::cpu::TrapSites`]);
/// `FE 38` anywhere else is an invalid opcode.
#[derive(Debug)]
pub struct Asm {
    pub seg: u16,
    base: u16,
    pub bytes: Vec<u8>,
    /// (offset in the segment, service) of each trap.
    traps: Vec<(u16, u16)>,
}

impl Asm {
    /// Code that will be placed at `seg:base`.
    pub fn new(seg: u16, base: u16) -> Asm {
        Asm {
            seg,
            base,
            bytes: Vec::new(),
            traps: Vec::new(),
        }
    }

    /// Offset (within the segment) of the next byte.
    pub fn here(&self) -> u16 {
        self.base.wrapping_add(self.bytes.len() as u16)
    }

    /// Physical address of the first byte.
    pub fn start(&self) -> u32 {
        (u32::from(self.seg) << 4) + u32::from(self.base)
    }

    pub fn raw(&mut self, bytes: &[u8]) -> &mut Asm {
        self.bytes.extend_from_slice(bytes);
        self
    }

    /// Offset (within the segment) of the first byte.
    pub fn base(&self) -> u16 {
        self.base
    }

    /// Physical address and service of each trap (where the stub is placed).
    pub fn trap_sites(&self) -> impl Iterator<Item = (u32, u16)> + '_ {
        let seg = u32::from(self.seg) << 4;
        self.traps
            .iter()
            .map(move |&(off, service)| (seg + u32::from(off), service))
    }

    /// The emulator trap for `service`.
    pub fn trap(&mut self, service: u16) -> &mut Asm {
        let at = self.here();
        self.traps.push((at, service));
        self.raw(&TRAP_OPCODE);
        self.raw(&service.to_le_bytes())
    }

    pub fn iret(&mut self) -> &mut Asm {
        self.raw(&[0xCF])
    }

    pub fn retf(&mut self) -> &mut Asm {
        self.raw(&[0xCB])
    }

    pub fn sti(&mut self) -> &mut Asm {
        self.raw(&[0xFB])
    }

    pub fn cli(&mut self) -> &mut Asm {
        self.raw(&[0xFA])
    }

    pub fn hlt(&mut self) -> &mut Asm {
        self.raw(&[0xF4])
    }

    pub fn int(&mut self, n: u8) -> &mut Asm {
        self.raw(&[0xCD, n])
    }

    /// `JMP short` to offset `target` in the same segment.
    pub fn jmp_short(&mut self, target: u16) -> &mut Asm {
        let rel = target.wrapping_sub(self.here().wrapping_add(2)) as i16;
        debug_assert!((-128..128).contains(&rel), "short jump out of range");
        self.raw(&[0xEB, rel as i8 as u8])
    }

    /// `JMP FAR seg:off`.
    pub fn jmp_far(&mut self, seg: u16, off: u16) -> &mut Asm {
        self.raw(&[0xEA]);
        self.raw(&off.to_le_bytes());
        self.raw(&seg.to_le_bytes())
    }

    /// `CALL FAR [CS:ptr]`: a far call through the pointer at offset `ptr` of the code
    /// segment.
    pub fn call_far_cs(&mut self, ptr: u16) -> &mut Asm {
        self.raw(&[0x2E, 0xFF, 0x1E]);
        self.raw(&ptr.to_le_bytes())
    }

    /// Pads with `NOP`s (so a later stub starts on a round offset).
    pub fn align(&mut self, to: u16) -> &mut Asm {
        while !self.here().is_multiple_of(to) {
            self.bytes.push(0x90);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stubs_encode_as_8086_code() {
        let mut a = Asm::new(0x70, 0x10);
        let top = a.here();
        a.trap(svc::dos(0x21)).iret();
        a.sti().int(0x28).hlt().cli().jmp_short(top);
        assert_eq!(
            a.bytes,
            [
                0xFE, 0x38, 0x21, 0x02, 0xCF, 0xFB, 0xCD, 0x28, 0xF4, 0xFA, 0xEB, 0xF4
            ]
        );
        assert_eq!(a.start(), 0x710);
        assert_eq!(a.trap_sites().collect::<Vec<_>>(), [(0x710, 0x0221)]);
        let mut b = Asm::new(0, 0);
        b.jmp_far(0xF000, 0xE05B);
        assert_eq!(b.bytes, [0xEA, 0x5B, 0xE0, 0x00, 0xF0]);
    }

    #[test]
    fn layout_regions_do_not_overlap() {
        let dos_data = u32::from(DOS_DATA_SEG) << 4;
        let dos = dos_data;
        let dos_code = u32::from(DOS_CODE_SEG) << 4;
        let emm = u32::from(EMM_SEG) << 4;
        let xms = u32::from(XMS_SEG) << 4;
        let arena = u32::from(FIRST_MCB_SEG) << 4;
        let vmm = u32::from(VMM_SEG) << 4;
        assert!(0x500 < dos_data && dos_data + 0x40 <= vmm && vmm + 0xC0 <= dos_code);
        assert!(dos_code + 0x300 <= emm && emm + 0x100 <= xms);
        let tables = dos + u32::from(crate::firmware::dos::tables::TABLES_OFF);
        let tables_end = tables + u32::from(crate::firmware::dos::tables::TABLES_BYTES);
        assert!(xms + XMS_AREA_BYTES <= tables && tables_end <= dos + 0x1000);
        use crate::firmware::dos::sda::{SDA_BYTES, SDA_OFF};
        let sda = dos + u32::from(SDA_OFF);
        assert!(dos + 0x1000 <= sda - 0x22 && sda + u32::from(SDA_BYTES) <= arena);
    }
}
