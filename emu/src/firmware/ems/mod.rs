//! EMS 4.0 driver: a LIM EMS 4.0 expanded memory manager ("EMM") reached through Int 67h,
//! with the `EMMXXXX0` character-device header that programs use to detect it.
//!
//! Facts come from `../shared/reference/dos-memory.md` section 2 (LIM EMS 3.2/4.0: detection,
//! status codes, functions 40h-5Dh, the 57h structure, handles) and section 6.2 (where
//! implementations disagree; "Recommended: spec/Jemm"), which cite the LIM EMS 4.0 function
//! notes, RBIL INT 67h (#03648, #03653), Jemm `src/EMS.ASM` and DOSBox Staging
//! `src/ints/ems.cpp`. DESIGN.md section 7 fixes how the driver is reached: real stubs and a
//! real device header in guest memory, the work done in Rust.
//!
//! # What it models
//!
//! - **Guest memory** ([`EMM_SEG`], 256 bytes): a DOS character-device header
//!   (next = FFFF:FFFF, attribute C000h, name `EMMXXXX0` at offset 000Ah) whose strategy and
//!   interrupt routines are `trap svc::EMS_DEVICE; RETF` and answer every request "done"
//!   (status 0100h at request+3), the Int 67h entry `trap svc::EMS; IRET` (the vector points
//!   there, so "compare 8 bytes at Int67-segment:000Ah" finds the name), and the return stub
//!   of function 56h. See the `*_OFF` constants.
//! - **Expanded memory** is extra backing store, not taken from RAM or XMS: install allocates
//!   `pages * 4` 4 KiB store pages ([`crate::mem::Memory::alloc_store`]). Logical 16 KiB page
//!   `n` of the pool occupies store pages `4n..4n+4`. Pages are not cleared on allocation or
//!   release (EMS boards do not clear them either); the store starts zeroed, so runs stay
//!   deterministic.
//! - **The page frame** is 4 physical pages of 16 KiB at `frame_segment` (physical pages 0-3,
//!   the only mappable pages: no "large frame" pages below 640 KiB). Mapping a logical page
//!   changes the machine's physical page map, so CPU accesses, DMA and string instructions
//!   all see the EMS page with no copying. An **unmapped window** shows what the page map
//!   held there at install (recorded with `page_mapping` and put back; with the default 16 MiB
//!   machine that is the RAM behind E0000h, otherwise open bus), as Jemm and DOSBox do when
//!   they map the window back to its own linear address.
//! - **Handles** `0..handles` (at most 255): handle 0 is the OS handle, open from the start,
//!   never returned by 43h/5Ah and never closed (45h on it frees its pages only). A handle is
//!   the full 16-bit DX: a DX above the handle count is 83h (Jemm looks at DL only).
//! - **Function 57h** copies through the backing store directly for the EMS side and through
//!   the bus for the conventional side (so a conventional region inside the frame reads what
//!   is mapped there). Regions are read whole before anything is written (at most 1 MiB),
//!   so a same-handle overlapping move leaves the destination holding an exact copy of the
//!   source, whatever the direction.
//! - **Observations**: every Int 67h call is reported with its registers before and after
//!   (`Observation::Ems`, recorded by the firmware's service dispatch).
//! - **Under the VMM** each VM has its own handle table and frame mapping (`EmsInstance`,
//!   swapped at every VM switch) drawn from this one pool, so two VMs get the same handle
//!   numbers and different pages (KB Q30590); see `vmm/mod.rs`.
//!
//! # Formats the spec leaves to the implementation
//!
//! - **4Eh page map** ([`MAP_ARRAY_BYTES`] = 18 bytes, 4E03h returns it): 4 x {WORD handle,
//!   WORD logical page} for physical pages 0-3 in order (FFFFh, FFFFh = unmapped; the first 16
//!   bytes are DOSBox's layout), then a WORD check = 4D45h minus the 16-bit sum of the eight
//!   words. 4E01h/4E02h answer A3h (and change nothing) when the check fails, when exactly one
//!   word of an entry is FFFFh, or when a handle or page number is out of range for this
//!   driver. An entry naming a page its handle no longer owns (released or shrunk since)
//!   unmaps that window instead.
//! - **4Fh partial map**: WORD count, count x {WORD segment, WORD handle, WORD logical page},
//!   WORD check (same rule as 4Eh over all preceding words); 4F02h returns 4 + 6 x count.
//! - **47h/48h** save the 4 frame mappings in one slot per handle, so the save area never
//!   fills: 8Ch is never returned.
//! - **56h** pushes 20 bytes on the caller's stack (5602h returns BX = 20): the callee is
//!   entered by the stub's IRET with a far return address to the return stub, under which lie
//!   the old map's far pointer, length, handle and kind; the return stub maps the old map
//!   (as 50h would) and IRETs to the caller with AH = that status. Other registers are the
//!   callee's.
//! - **OS/E functions** (59h AL=00, 5Bh, 5Dh) answer A4h "access denied by the OS", as after
//!   an OS has disabled them with 5D01h. 5Ch (prepare for warm boot) succeeds and does nothing.
//!
//! # Decisions where implementations disagree (dos-memory.md 6.2 and the sources it cites)
//!
//! - 45h on a handle with a saved 47h context: **86h** (spec, Jemm; DOSBox frees it).
//! - 43h/5Ah/51h: **87h** when the request exceeds all pages, **88h** when it exceeds the free
//!   pages (spec, Jemm; DOSBox always 88h). 43h checks 89h, then 87h/88h, then 85h (DOSBox's
//!   order). 51h compares the new count with the total and the growth with the free pages.
//! - 43h with BX = 0: **89h**; 5Ah and 51h accept 0 pages (EMS 4.0).
//! - 49h/4Ah: **84h** (reserved in 4.0; Jemm, DOSBox). 46h: AL = **40h**.
//! - 57h checks in Jemm's order: AL (8Fh), length 0 (success, nothing checked further),
//!   length over 1 MiB (96h), then the source region and then the destination region, each:
//!   type not 0/1 (98h); EMS: handle (83h), offset 4000h or more (95h), first logical page
//!   outside the handle (**8Ah**, where Jemm says 93h), region running past the handle's
//!   last page (93h); conventional: region running past 1 MiB (A2h).
//! - 57h, conventional region showing (through the frame) bytes of the EMS region: **94h**,
//!   nothing copied (spec; Jemm never returns 94h, DOSBox does not check).
//! - 57h, same handle, regions overlapping in **either** direction (spec: "have the same handle
//!   and overlap"): move completes correctly and returns **92h**; exchange returns **97h** and
//!   changes nothing. Jemm flags only source < destination < source + length; DOSBox never.
//! - 57h, two conventional regions that overlap: not covered by the spec; the move behaves as
//!   memmove (status 00h); the exchange reads both regions, then writes the destination and
//!   then the source (status 00h).
//! - 44h/50h: a valid handle is required even to unmap (BX = FFFFh) (DOSBox accepts any
//!   handle when unmapping); the physical page (8Bh) is checked before the logical page
//!   (8Ah), as Jemm and DOSBox do. 50h/55h/56h validate every entry before mapping any, so a
//!   failing call changes nothing (Jemm maps entries up to the failing one).
//! - Releasing a handle (45h) or shrinking it (51h) unmaps any window showing a page it no
//!   longer owns, so no stale window shows a free (or reused) page.
//! - 4F00h/4F01h with more than 4 segments: A3h (Jemm); 4F02h with BX > 4: **8Bh** (spec;
//!   Jemm A3h). 4F00h with a segment that is not a mappable page: 8Bh.
//! - 5301h: A1h if any open handle, the named one included, already has the name (spec, Jemm;
//!   DOSBox never checks); an all-zero name always succeeds (clears the name).
//! - 5401h with an all-zero name: **A1h** (spec: "a handle found had no name"; Jemm and MS
//!   EMM386 return the first unnamed handle).
//! - Handle 0 has no name (Jemm names it `SYSTEM`).
//! - 52h: attribute 1 (non-volatile) is 91h, any other value but 0 is **90h** (spec; Jemm
//!   91h for all); 5202h returns AL = 0 (only volatile handles).
//! - The frame segment must be a 16 KiB boundary from A000h to E000h ([`EmsConfig::validate`]);
//!   an invalid configuration installs no driver (Int 67h stays 0000:0000).
//!
//! This file holds the device header and the stubs, the driver's state, its installation and
//! the Int 67h dispatch with the functions that fit in it (40h-42h, 46h, 4Bh, 4Ch, 59h,
//! 5Bh-5Dh). The others live in `handles.rs` (43h, 45h, 4Dh, 51h, 5Ah: pages and handles;
//! 52h-54h: attributes and names), `frame.rs` (44h, 47h, 48h, 50h, 58h: the page frame and
//! its mapping), `maps.rs` (4Eh, 4Fh: the page-map arrays), `alter.rs` (55h, 56h),
//! `moves.rs` (57h) and `instance.rs` (each VM's copy under the VMM); `harness.rs` holds the
//! tests' machine and calls.

mod alter;
mod frame;
mod handles;
#[cfg(test)]
mod harness;
mod instance;
mod maps;
mod moves;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::stubs::{Asm, EMM_SEG, svc};
use super::{Ctx, Flow};
use crate::cpu::SegReg;
use crate::mem::{Access, PAGE_SIZE, StorePage};

/// Physical pages in the page frame (the only mappable pages).
pub const PHYS_PAGES: usize = 4;
/// Bytes in a logical (and physical) EMS page.
pub const PAGE_BYTES: u32 = 0x4000;
/// Store pages (4 KiB) per EMS page.
const STORE_PER_PAGE: u32 = PAGE_BYTES / PAGE_SIZE;
/// The most pages LIM EMS 4.0 addresses (32 MiB).
pub const MAX_PAGES: u16 = 2048;
/// The most handles (handles are 8-bit in practice).
pub const MAX_HANDLES: u16 = 255;

/// The device name programs compare at Int67-segment:000Ah.
pub const DEVICE_NAME: &[u8; 8] = b"EMMXXXX0";
/// Offset of the device name in the header.
pub const NAME_OFF: u16 = 0x000A;
/// The device's strategy routine: `trap svc::EMS_DEVICE; RETF`.
pub const STRATEGY_OFF: u16 = 0x0012;
/// The device's interrupt routine: `trap svc::EMS_DEVICE; RETF`.
pub const INTERRUPT_OFF: u16 = 0x0017;
/// The Int 67h entry: `trap svc::EMS; IRET`.
pub const INT67_OFF: u16 = 0x0020;
/// Where a 56h callee returns to: `trap svc::EMS; IRET`.
pub const CALL_RETURN_OFF: u16 = 0x0028;
/// Length of the trap instruction (IP at a trap is the stub's offset plus this).
const TRAP_LEN: u16 = 4;

/// Size of the 4Eh page-map array.
pub const MAP_ARRAY_BYTES: u16 = 18;
/// The words of a 4Eh/4Fh array sum to this.
const MAP_CHECK: u16 = 0x4D45;
/// Stack bytes function 56h uses (5602h).
pub const CALL_STACK_BYTES: u16 = 20;

/// EMS status codes (AH), dos-memory.md section 2.2.
pub mod status {
    pub const OK: u8 = 0x00;
    pub const INTERNAL: u8 = 0x80;
    pub const INVALID_HANDLE: u8 = 0x83;
    pub const UNDEFINED_FUNCTION: u8 = 0x84;
    pub const NO_HANDLES: u8 = 0x85;
    pub const CONTEXT_SAVED: u8 = 0x86;
    pub const MORE_THAN_TOTAL: u8 = 0x87;
    pub const MORE_THAN_FREE: u8 = 0x88;
    pub const ZERO_PAGES: u8 = 0x89;
    pub const LOGICAL_PAGE: u8 = 0x8A;
    pub const PHYSICAL_PAGE: u8 = 0x8B;
    pub const ALREADY_SAVED: u8 = 0x8D;
    pub const NOT_SAVED: u8 = 0x8E;
    pub const SUBFUNCTION: u8 = 0x8F;
    pub const ATTRIBUTE_TYPE: u8 = 0x90;
    pub const UNSUPPORTED: u8 = 0x91;
    pub const MOVE_OVERLAP: u8 = 0x92;
    pub const REGION_TOO_LONG: u8 = 0x93;
    pub const CONV_EMS_OVERLAP: u8 = 0x94;
    pub const OFFSET: u8 = 0x95;
    pub const OVER_1MB: u8 = 0x96;
    pub const EXCHANGE_OVERLAP: u8 = 0x97;
    pub const MEMORY_TYPE: u8 = 0x98;
    pub const NAME_NOT_FOUND: u8 = 0xA0;
    pub const DUPLICATE_NAME: u8 = 0xA1;
    pub const WRAP_1MB: u8 = 0xA2;
    pub const CORRUPT: u8 = 0xA3;
    pub const ACCESS_DENIED: u8 = 0xA4;
}
use status as st;

/// EMS driver settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmsConfig {
    /// Logical 16 KiB pages of expanded memory (at most [`MAX_PAGES`]).
    pub pages: u16,
    /// Page frame segment (4 x 16 KiB windows): a multiple of 400h from A000h to E000h.
    pub frame_segment: u16,
    /// Handles, including the OS handle 0 (1 to [`MAX_HANDLES`]).
    pub handles: u16,
}

impl Default for EmsConfig {
    fn default() -> EmsConfig {
        EmsConfig {
            pages: 256,
            frame_segment: 0xE000,
            handles: 64,
        }
    }
}

/// Why an [`EmsConfig`] cannot be installed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EmsConfigError {
    #[error(
        "EMS page frame segment {0:04X}h must be a 16 KiB boundary (a multiple of 0400h) from A000h to E000h"
    )]
    BadFrame(u16),
    #[error("EMS size of {0} pages exceeds the 2048 pages (32 MiB) of LIM EMS 4.0")]
    TooManyPages(u16),
    #[error("EMS handle count {0} must be from 1 (the OS handle) to 255")]
    BadHandles(u16),
}

impl EmsConfig {
    /// Checks the settings; [`Ems::install`] installs nothing for an invalid configuration.
    pub fn validate(&self) -> Result<(), EmsConfigError> {
        let f = self.frame_segment;
        if !f.is_multiple_of(0x400) || !(0xA000..=0xE000).contains(&f) {
            return Err(EmsConfigError::BadFrame(f));
        }
        if self.pages > MAX_PAGES {
            return Err(EmsConfigError::TooManyPages(self.pages));
        }
        if self.handles == 0 || self.handles > MAX_HANDLES {
            return Err(EmsConfigError::BadHandles(self.handles));
        }
        Ok(())
    }
}

/// What a physical page shows: logical page `page` of `handle`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Mapping {
    handle: u16,
    page: u16,
}

type FrameMap = [Option<Mapping>; PHYS_PAGES];

/// An open handle.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Handle {
    /// Pool page of each logical page.
    pages: Vec<u16>,
    /// 53h name; all zeros = unnamed.
    name: [u8; 8],
    /// The 47h save slot.
    saved: Option<FrameMap>,
}

/// The part of the EMM each virtual machine has its own copy of under the VMM (see
/// `vmm/mod.rs`): the handle table and the page frame's mapping. The pool of pages and
/// which of them are in use stay global, so two VMs never get the same page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct EmsInstance {
    handles: Vec<Option<Handle>>,
    frame: FrameMap,
}

/// Where a backing-store page lies in expanded memory ([`Ems::locate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmsLocation {
    /// The pool's 16 KiB page.
    pub pool_page: u16,
    /// The handle holding it in the running VM's table, and the byte offset of the
    /// store page's first byte within that handle's logical pages.
    pub owner: Option<(u16, u32)>,
}

/// The driver's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ems {
    config: EmsConfig,
    installed: bool,
    /// First store page of the pool (pool page `n` = store pages `4n..4n+4`).
    store: Option<StorePage>,
    /// Which pool pages belong to a handle.
    used: Vec<bool>,
    /// Handles by number; `None` = free.
    handles: Vec<Option<Handle>>,
    /// What each physical page shows (`None`: the original contents).
    frame: FrameMap,
    /// The page-map entries of the frame's 16 4 KiB pages at install.
    original: Vec<Option<(StorePage, Access)>>,
    /// The request header the strategy routine was last given (ES, BX).
    request: Option<(u16, u16)>,
}

fn result(r: Result<(), u8>) -> u8 {
    match r {
        Ok(()) => st::OK,
        Err(s) => s,
    }
}

impl Ems {
    pub fn new(config: EmsConfig) -> Ems {
        let handles = usize::from(config.handles.clamp(1, MAX_HANDLES));
        let mut table = vec![None; handles];
        table[0] = Some(Handle::default());
        Ems {
            used: vec![false; usize::from(config.pages.min(MAX_PAGES))],
            handles: table,
            config,
            installed: false,
            store: None,
            frame: [None; PHYS_PAGES],
            original: Vec::new(),
            request: None,
        }
    }

    pub fn config(&self) -> &EmsConfig {
        &self.config
    }

    /// Where backing-store page `store_page` lies in expanded memory, if it is one of the
    /// pool's: the pool's 16 KiB page and, when a handle of the running VM's table holds
    /// that page, the handle and the byte offset within the handle's pages.
    pub fn locate(&self, store_page: u32) -> Option<EmsLocation> {
        let base = self.store?.index();
        let k = store_page.checked_sub(base)?;
        let pool_page = u16::try_from(k / STORE_PER_PAGE).ok()?;
        if usize::from(pool_page) >= self.used.len() {
            return None;
        }
        let within = (k % STORE_PER_PAGE) * PAGE_SIZE;
        let owner = self.handles.iter().enumerate().find_map(|(h, slot)| {
            let logical = slot.as_ref()?.pages.iter().position(|&p| p == pool_page)?;
            Some((h as u16, logical as u32 * PAGE_BYTES + within))
        });
        Some(EmsLocation { pool_page, owner })
    }

    /// Whether [`Ems::install`] has placed the driver (false for an invalid configuration).
    pub fn installed(&self) -> bool {
        self.installed
    }

    /// Places the driver in guest memory (called once by POST, after the BIOS filled the
    /// interrupt vector table): the device header and stubs, the Int 67h vector, the
    /// expanded memory's backing store.
    pub fn install(&mut self, ctx: &mut Ctx) {
        if self.installed || self.config.validate().is_err() {
            return;
        }
        let first = self.frame_first_page();
        let mem = ctx.mem();
        let original = (0..PHYS_PAGES as u32 * STORE_PER_PAGE)
            .map(|k| mem.page_mapping(first + k))
            .collect();
        let Ok(store) = mem.alloc_store(u32::from(self.config.pages) * STORE_PER_PAGE) else {
            return;
        };
        self.store = Some(store);
        self.original = original;

        let mut a = Asm::new(EMM_SEG, 0);
        a.raw(&[0xFF, 0xFF, 0xFF, 0xFF]); // next driver: FFFF:FFFF (end of chain)
        a.raw(&0xC000u16.to_le_bytes()); // character device, IOCTL supported
        a.raw(&STRATEGY_OFF.to_le_bytes());
        a.raw(&INTERRUPT_OFF.to_le_bytes());
        debug_assert_eq!(a.here(), NAME_OFF);
        a.raw(DEVICE_NAME);
        debug_assert_eq!(a.here(), STRATEGY_OFF);
        a.trap(svc::EMS_DEVICE).retf();
        debug_assert_eq!(a.here(), INTERRUPT_OFF);
        a.trap(svc::EMS_DEVICE).retf();
        a.align(0x10);
        debug_assert_eq!(a.here(), INT67_OFF);
        a.trap(svc::EMS).iret();
        a.align(8);
        debug_assert_eq!(a.here(), CALL_RETURN_OFF);
        a.trap(svc::EMS).iret();
        ctx.place(&a);
        ctx.set_vector(0x67, EMM_SEG, INT67_OFF);
        self.installed = true;
    }

    /// Runs [`svc::EMS`] (Int 67h, and the 56h return stub) or [`svc::EMS_DEVICE`].
    pub fn service(&mut self, service: u16, ctx: &mut Ctx) -> Flow {
        if !self.installed {
            return Flow::Continue;
        }
        match service {
            svc::EMS => {
                let at_return = ctx.cpu.sreg(SegReg::CS) == EMM_SEG
                    && ctx.cpu.ip() == CALL_RETURN_OFF + TRAP_LEN;
                let s = if at_return {
                    result(self.call_return(ctx))
                } else {
                    result(self.int67(ctx))
                };
                ctx.set_ah(s);
            }
            svc::EMS_DEVICE => self.device(ctx),
            _ => {}
        }
        Flow::Continue
    }

    /// The device's strategy routine records the request header; both routines mark it
    /// done (status 0100h at offset 3).
    fn device(&mut self, ctx: &mut Ctx) {
        if ctx.cpu.ip() == STRATEGY_OFF + TRAP_LEN {
            self.request = Some((ctx.es(), ctx.bx()));
        }
        if let Some((seg, off)) = self.request {
            ctx.wr16(seg, off.wrapping_add(3), 0x0100);
        }
    }

    fn int67(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        match ctx.ah() {
            0x40 => Ok(()),
            0x41 => {
                ctx.set_bx(self.config.frame_segment);
                Ok(())
            }
            0x42 => {
                ctx.set_bx(self.free_pages());
                ctx.set_dx(self.total_pages());
                Ok(())
            }
            0x43 => self.allocate(ctx, false),
            0x44 => self.map_one(ctx),
            0x45 => self.release(ctx),
            0x46 => {
                ctx.set_al(0x40);
                Ok(())
            }
            0x47 => self.save_context(ctx),
            0x48 => self.restore_context(ctx),
            0x4B => {
                let open = self.handles.iter().flatten().count();
                ctx.set_bx(open as u16);
                Ok(())
            }
            0x4C => {
                let n = self.handle(ctx.dx())?.pages.len();
                ctx.set_bx(n as u16);
                Ok(())
            }
            0x4D => {
                self.handle_pages_array(ctx);
                Ok(())
            }
            0x4E => self.page_map(ctx),
            0x4F => self.partial_map(ctx),
            0x50 => {
                let kind = ctx.al();
                if kind > 1 {
                    return Err(st::SUBFUNCTION);
                }
                let (handle, seg, off, count) = (ctx.dx(), ctx.ds(), ctx.si(), ctx.cx());
                self.map_entries(ctx, handle, kind == 1, seg, off, count)
            }
            0x51 => self.reallocate(ctx),
            0x52 => self.attribute(ctx),
            0x53 => self.handle_name(ctx),
            0x54 => self.handle_directory(ctx),
            0x55 => self.alter_map_jump(ctx),
            0x56 => self.alter_map_call(ctx),
            0x57 => self.move_region(ctx),
            0x58 => self.mappable_array(ctx),
            0x59 => match ctx.al() {
                0 => Err(st::ACCESS_DENIED),
                1 => {
                    // Raw pages are standard 16 KiB pages here.
                    ctx.set_bx(self.free_pages());
                    ctx.set_dx(self.total_pages());
                    Ok(())
                }
                _ => Err(st::SUBFUNCTION),
            },
            0x5A => {
                if ctx.al() > 1 {
                    return Err(st::SUBFUNCTION);
                }
                self.allocate(ctx, true)
            }
            0x5B => match ctx.al() {
                0..=8 => Err(st::ACCESS_DENIED),
                _ => Err(st::SUBFUNCTION),
            },
            0x5C => Ok(()),
            0x5D => match ctx.al() {
                0..=2 => Err(st::ACCESS_DENIED),
                _ => Err(st::SUBFUNCTION),
            },
            _ => Err(st::UNDEFINED_FUNCTION),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::harness::*;
    use super::*;

    #[test]
    fn device_header_is_found_at_the_int67_segment() {
        with_ems(|_, c| {
            // Detection (dos-memory.md 2.1): the 8 bytes at Int67-vector-segment:000Ah.
            let (seg, off) = c.vector(0x67);
            assert_eq!(seg, EMM_SEG);
            assert_eq!(c.read_bytes(seg, 0x000A, 8), b"EMMXXXX0");
            // Header: next = FFFF:FFFF, attribute C000h (character device, IOCTL).
            assert_eq!(c.rd32(seg, 0), 0xFFFF_FFFF);
            assert_eq!(c.rd16(seg, 4), 0xC000);
            // Strategy and interrupt: trap 0401h (EMS_DEVICE) then RETF.
            for at in [c.rd16(seg, 6), c.rd16(seg, 8)] {
                assert_eq!(c.read_bytes(seg, at, 5), [0xFE, 0x38, 0x01, 0x04, 0xCB]);
            }
            // Int 67h entry: trap 0400h then IRET, inside the header's segment.
            assert_eq!(c.read_bytes(seg, off, 5), [0xFE, 0x38, 0x00, 0x04, 0xCF]);
            assert!((0x12..0x100).contains(&off));
        });
    }

    #[test]
    fn device_requests_are_answered_done() {
        with_ems(|e, c| {
            let strategy = c.rd16(EMM_SEG, 6);
            let interrupt = c.rd16(EMM_SEG, 8);
            // DOS calls strategy with ES:BX -> request header, then interrupt.
            c.wr8(BUF, 0x40, 13); // length
            c.wr8(BUF, 0x42, 0x0D); // command: open
            c.wr16(BUF, 0x43, 0x0000); // status
            c.set_es(BUF);
            c.set_bx(0x40);
            c.jump(EMM_SEG, strategy + 4);
            e.service(svc::EMS_DEVICE, c);
            c.set_es(0x1234);
            c.set_bx(0x9999);
            c.wr16(BUF, 0x43, 0x0000);
            c.jump(EMM_SEG, interrupt + 4);
            e.service(svc::EMS_DEVICE, c);
            // Status word at request+3: bit 8 "done", no error.
            assert_eq!(c.rd16(BUF, 0x43), 0x0100);
        });
    }

    #[test]
    fn status_frame_counts_and_version() {
        with_ems(|e, c| {
            assert_eq!(call(e, c, 0x4000), 0x00);
            assert_eq!(call(e, c, 0x4100), 0x00);
            assert_eq!(c.bx(), 0xE000);
            // 42h: BX = free, DX = total (the default configuration has 256 pages).
            assert_eq!(call(e, c, 0x4200), 0x00);
            assert_eq!((c.bx(), c.dx()), (256, 256));
            assert_eq!(call(e, c, 0x4600), 0x00);
            assert_eq!(c.al(), 0x40);
            // 4Bh counts the OS handle 0, open from the start.
            assert_eq!(call(e, c, 0x4B00), 0x00);
            assert_eq!(c.bx(), 1);
            let h = alloc(e, c, 10);
            assert_eq!(call(e, c, 0x4200), 0x00);
            assert_eq!((c.bx(), c.dx()), (246, 256));
            assert_eq!(call(e, c, 0x4B00), 0x00);
            assert_eq!(c.bx(), 2);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x4C00), 0x00);
            assert_eq!(c.bx(), 10);
            // Undefined and reserved functions: 84h.
            for ax in [0x3F00, 0x4900, 0x4A00, 0x5E00, 0xDE00, 0xFF00] {
                assert_eq!(call(e, c, ax), 0x84, "AX={ax:04X}");
            }
        });
    }

    #[test]
    fn state_survives_serialization() {
        with_ems(|e, c| {
            let h = alloc(e, c, 2);
            assert_eq!(map(e, c, h, 1, 2), 0x00);
            c.write_bytes(BUF, 0, b"SNAPSHOT");
            c.set_ds(BUF);
            c.set_si(0);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x5301), 0x00);
            let json = serde_json::to_string(&*e).unwrap();
            let mut back: Ems = serde_json::from_str(&json).unwrap();
            c.set_dx(0);
            assert_eq!(call(&mut back, c, 0x5401), 0x00);
            assert_eq!(c.dx(), h);
            c.set_es(BUF);
            c.set_di(0x40);
            assert_eq!(call(&mut back, c, 0x4E00), 0x00);
            assert_eq!((c.rd16(BUF, 0x48), c.rd16(BUF, 0x4A)), (h, 1));
        });
    }

    #[test]
    fn invalid_configuration_installs_nothing() {
        let bad = [
            (0xE100, 16, 8, EmsConfigError::BadFrame(0xE100)),
            (0xF000, 16, 8, EmsConfigError::BadFrame(0xF000)),
            (0x9000, 16, 8, EmsConfigError::BadFrame(0x9000)),
            (0xD000, 2049, 8, EmsConfigError::TooManyPages(2049)),
            (0xD000, 16, 0, EmsConfigError::BadHandles(0)),
            (0xD000, 16, 256, EmsConfigError::BadHandles(256)),
        ];
        for (frame_segment, pages, handles, err) in bad {
            let cfg = EmsConfig {
                pages,
                frame_segment,
                handles,
            };
            assert_eq!(cfg.validate(), Err(err));
            with_ems_config(cfg, |e, c| {
                assert!(!e.installed());
                assert_eq!(c.vector(0x67), (0, 0));
            });
        }
        // A D000h frame works.
        let cfg = EmsConfig {
            frame_segment: 0xD000,
            ..EmsConfig::default()
        };
        with_ems_config(cfg, |e, c| {
            assert_eq!(call(e, c, 0x4100), 0x00);
            assert_eq!(c.bx(), 0xD000);
            let h = alloc(e, c, 1);
            assert_eq!(map(e, c, h, 0, 3), 0x00);
            c.wr8(0xDC00, 0, 0x3C);
            c.set_es(BUF);
            c.set_di(0);
            assert_eq!(call(e, c, 0x5800), 0x00);
            assert_eq!(c.rd16(BUF, 12), 0xDC00);
        });
    }
}
