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
//! The file runs past 800 lines because the tests (about half of it) live beside the
//! driver they check.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::stubs::{Asm, EMM_SEG, svc};
use super::{Ctx, Flow, linear};
use crate::cpu::{Reg16, SegReg};
use crate::mem::{Access, Memory, PAGE_SIZE, StorePage};

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

/// One side of a 57h move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// Conventional memory at this linear address.
    Conv(u32),
    /// Byte `start` of the pages of `handle`.
    Ems { handle: u16, start: u32 },
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

/// The check word of a 4Eh/4Fh array whose other words are `words`.
fn check_word(words: &[u16]) -> u16 {
    words.iter().fold(MAP_CHECK, |acc, &w| acc.wrapping_sub(w))
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

    // ----- pages and handles -----

    fn total_pages(&self) -> u16 {
        self.used.len() as u16
    }

    fn free_pages(&self) -> u16 {
        self.used.iter().filter(|&&u| !u).count() as u16
    }

    fn handle(&self, dx: u16) -> Result<&Handle, u8> {
        self.handles
            .get(usize::from(dx))
            .and_then(Option::as_ref)
            .ok_or(st::INVALID_HANDLE)
    }

    fn handle_mut(&mut self, dx: u16) -> Result<&mut Handle, u8> {
        self.handles
            .get_mut(usize::from(dx))
            .and_then(Option::as_mut)
            .ok_or(st::INVALID_HANDLE)
    }

    /// Takes `n` free pool pages, lowest first (the caller checked there are enough).
    fn take_pages(&mut self, n: u16) -> Vec<u16> {
        let mut out = Vec::with_capacity(usize::from(n));
        for (i, u) in self.used.iter_mut().enumerate() {
            if out.len() == usize::from(n) {
                break;
            }
            if !*u {
                *u = true;
                out.push(i as u16);
            }
        }
        out
    }

    fn give_back(&mut self, pages: &[u16]) {
        for &p in pages {
            if let Some(u) = self.used.get_mut(usize::from(p)) {
                *u = false;
            }
        }
    }

    /// 43h (`zero_ok` false) and 5Ah: BX pages for a new handle, returned in DX.
    fn allocate(&mut self, ctx: &mut Ctx, zero_ok: bool) -> Result<(), u8> {
        let n = ctx.bx();
        if n == 0 && !zero_ok {
            return Err(st::ZERO_PAGES);
        }
        if n > self.total_pages() {
            return Err(st::MORE_THAN_TOTAL);
        }
        if n > self.free_pages() {
            return Err(st::MORE_THAN_FREE);
        }
        let h = (1..self.handles.len())
            .find(|&h| self.handles[h].is_none())
            .ok_or(st::NO_HANDLES)?;
        let pages = self.take_pages(n);
        self.handles[h] = Some(Handle {
            pages,
            ..Handle::default()
        });
        ctx.set_dx(h as u16);
        Ok(())
    }

    /// 45h: release handle DX (handle 0 only loses its pages).
    fn release(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let dx = ctx.dx();
        let h = self.handle_mut(dx)?;
        if h.saved.is_some() {
            return Err(st::CONTEXT_SAVED);
        }
        let pages = std::mem::take(&mut h.pages);
        if dx != 0 {
            self.handles[usize::from(dx)] = None;
        }
        self.give_back(&pages);
        self.drop_stale_windows(ctx.mem())
    }

    /// 51h: handle DX to BX pages; BX = the handle's pages afterwards.
    fn reallocate(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let (dx, want) = (ctx.dx(), ctx.bx());
        let have = self.handle(dx)?.pages.len() as u16;
        if want > have {
            if want > self.total_pages() {
                return Err(st::MORE_THAN_TOTAL);
            }
            if want - have > self.free_pages() {
                return Err(st::MORE_THAN_FREE);
            }
            let more = self.take_pages(want - have);
            self.handle_mut(dx)?.pages.extend(more);
        } else {
            let h = self.handle_mut(dx)?;
            let gone = h.pages.split_off(usize::from(want));
            self.give_back(&gone);
            self.drop_stale_windows(ctx.mem())?;
        }
        ctx.set_bx(want);
        Ok(())
    }

    /// 4Dh: ES:DI <- {WORD handle, WORD pages} per open handle; BX = entries.
    fn handle_pages_array(&self, ctx: &mut Ctx) {
        let (es, mut di) = (ctx.es(), ctx.di());
        let mut n = 0u16;
        for (i, h) in self.handles.iter().enumerate() {
            if let Some(h) = h {
                ctx.wr16(es, di, i as u16);
                ctx.wr16(es, di.wrapping_add(2), h.pages.len() as u16);
                di = di.wrapping_add(4);
                n += 1;
            }
        }
        ctx.set_bx(n);
    }

    // ----- the page frame -----

    /// The frame's first 4 KiB physical page.
    fn frame_first_page(&self) -> u32 {
        u32::from(self.config.frame_segment) >> 8
    }

    /// The segment of physical page `i`.
    fn window_segment(&self, i: usize) -> u16 {
        self.config.frame_segment + (i as u16) * 0x400
    }

    /// The physical page at exactly segment `seg`.
    fn segment_page(&self, seg: u16) -> Option<usize> {
        (0..PHYS_PAGES).find(|&i| self.window_segment(i) == seg)
    }

    /// The pool page that `m` shows, if its handle still owns that page.
    fn pool_page(&self, m: Mapping) -> Option<u16> {
        self.handle(m.handle)
            .ok()?
            .pages
            .get(usize::from(m.page))
            .copied()
    }

    /// Makes physical page `i` show `m` (a stale mapping unmaps it) or, for `None`, what was
    /// there at install.
    fn set_window(&mut self, mem: &mut Memory, i: usize, m: Option<Mapping>) -> Result<(), u8> {
        let m = m.filter(|&m| self.pool_page(m).is_some());
        let pool = m.and_then(|m| self.pool_page(m));
        let first = self.frame_first_page() + i as u32 * STORE_PER_PAGE;
        for k in 0..STORE_PER_PAGE {
            let page = first + k;
            let r = match (pool, self.store) {
                (Some(p), Some(base)) => mem.map_page(
                    page,
                    base.offset(u32::from(p) * STORE_PER_PAGE + k),
                    Access::ReadWrite,
                ),
                (Some(_), None) => return Err(st::INTERNAL),
                (None, _) => match self.original.get(i * STORE_PER_PAGE as usize + k as usize) {
                    Some(&Some((target, access))) => mem.map_page(page, target, access),
                    _ => mem.unmap_page(page),
                },
            };
            r.map_err(|_| st::INTERNAL)?;
        }
        if let Some(w) = self.frame.get_mut(i) {
            *w = m;
        }
        Ok(())
    }

    /// A copy of the handles and the frame mapping (what a new VM starts from, or what a
    /// VM leaves behind at a switch).
    pub(crate) fn instance(&self) -> EmsInstance {
        EmsInstance {
            handles: self.handles.clone(),
            frame: self.frame,
        }
    }

    /// Makes `inst` the driver's handles and mapping and maps the frame accordingly.
    pub(crate) fn set_instance(&mut self, mem: &mut Memory, inst: EmsInstance) {
        self.handles = inst.handles;
        // A window that cannot be mapped is left as it was; `set_window` fails only for a
        // driver without a pool, which has no mappings either.
        let _ = self.set_frame(mem, inst.frame);
    }

    /// A VM ends: the pages of the handles it opened return to the pool (handles it
    /// inherited from `start` keep theirs, other VMs still see them).
    pub(crate) fn release_instance(&mut self, start: &EmsInstance) {
        let inherited: Vec<u16> = start
            .handles
            .iter()
            .flatten()
            .flat_map(|h| h.pages.iter().copied())
            .collect();
        for h in self.handles.iter().flatten() {
            for &p in &h.pages {
                if !inherited.contains(&p)
                    && let Some(u) = self.used.get_mut(usize::from(p))
                {
                    *u = false;
                }
            }
        }
    }

    /// Unmaps windows that show pages their handle no longer owns.
    fn drop_stale_windows(&mut self, mem: &mut Memory) -> Result<(), u8> {
        for i in 0..PHYS_PAGES {
            if let Some(m) = self.frame[i]
                && self.pool_page(m).is_none()
            {
                self.set_window(mem, i, None)?;
            }
        }
        Ok(())
    }

    /// Applies a whole frame map (47h/48h, 4Eh).
    fn set_frame(&mut self, mem: &mut Memory, map: FrameMap) -> Result<(), u8> {
        for (i, m) in map.into_iter().enumerate() {
            self.set_window(mem, i, m)?;
        }
        Ok(())
    }

    /// 44h: map logical page BX (FFFFh: unmap) of handle DX at physical page AL.
    fn map_one(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let (handle, logical, phys) = (ctx.dx(), ctx.bx(), usize::from(ctx.al()));
        let pages = self.handle(handle)?.pages.len();
        if phys >= PHYS_PAGES {
            return Err(st::PHYSICAL_PAGE);
        }
        let m = match logical {
            0xFFFF => None,
            l if usize::from(l) < pages => Some(Mapping { handle, page: l }),
            _ => return Err(st::LOGICAL_PAGE),
        };
        self.set_window(ctx.mem(), phys, m)
    }

    /// 50h (and the maps of 55h/56h): `count` entries {WORD logical (FFFFh: unmap), WORD
    /// physical page or segment} at `seg:off` for `handle`. All are checked before any is
    /// mapped.
    fn map_entries(
        &mut self,
        ctx: &mut Ctx,
        handle: u16,
        by_segment: bool,
        seg: u16,
        off: u16,
        count: u16,
    ) -> Result<(), u8> {
        let pages = self.handle(handle)?.pages.len();
        let mut plan = Vec::new();
        for k in 0..count {
            let at = off.wrapping_add(k.wrapping_mul(4));
            let logical = ctx.rd16(seg, at);
            let target = ctx.rd16(seg, at.wrapping_add(2));
            let phys = if by_segment {
                self.segment_page(target).ok_or(st::PHYSICAL_PAGE)?
            } else if usize::from(target) < PHYS_PAGES {
                usize::from(target)
            } else {
                return Err(st::PHYSICAL_PAGE);
            };
            let m = match logical {
                0xFFFF => None,
                l if usize::from(l) < pages => Some(Mapping { handle, page: l }),
                _ => return Err(st::LOGICAL_PAGE),
            };
            plan.push((phys, m));
        }
        for (phys, m) in plan {
            self.set_window(ctx.mem(), phys, m)?;
        }
        Ok(())
    }

    /// 47h: save the frame's mappings in handle DX's slot.
    fn save_context(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let frame = self.frame;
        let h = self.handle_mut(ctx.dx())?;
        if h.saved.is_some() {
            return Err(st::ALREADY_SAVED);
        }
        h.saved = Some(frame);
        Ok(())
    }

    /// 48h: restore the frame from handle DX's slot and free the slot.
    fn restore_context(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let saved = self
            .handle_mut(ctx.dx())?
            .saved
            .take()
            .ok_or(st::NOT_SAVED)?;
        self.set_frame(ctx.mem(), saved)
    }

    // ----- 4Eh / 4Fh arrays -----

    fn entry_words(m: Option<Mapping>) -> [u16; 2] {
        match m {
            Some(m) => [m.handle, m.page],
            None => [0xFFFF, 0xFFFF],
        }
    }

    /// An array entry back to a mapping; A3h for values this driver never writes.
    fn parse_entry(&self, handle: u16, page: u16) -> Result<Option<Mapping>, u8> {
        match (handle, page) {
            (0xFFFF, 0xFFFF) => Ok(None),
            (0xFFFF, _) | (_, 0xFFFF) => Err(st::CORRUPT),
            (h, p) if usize::from(h) >= self.handles.len() || p >= self.total_pages() => {
                Err(st::CORRUPT)
            }
            (handle, page) => Ok(Some(Mapping { handle, page })),
        }
    }

    fn write_words(ctx: &mut Ctx, seg: u16, off: u16, words: &[u16]) {
        for (k, &w) in words.iter().enumerate() {
            ctx.wr16(seg, off.wrapping_add(2 * k as u16), w);
        }
    }

    fn read_words(ctx: &Ctx, seg: u16, off: u16, n: usize) -> Vec<u16> {
        (0..n)
            .map(|k| ctx.rd16(seg, off.wrapping_add(2 * k as u16)))
            .collect()
    }

    /// The 4Eh array of the current frame.
    fn map_array(&self) -> Vec<u16> {
        let mut w: Vec<u16> = self
            .frame
            .iter()
            .flat_map(|&m| Self::entry_words(m))
            .collect();
        w.push(check_word(&w));
        w
    }

    /// Parses a 4Eh array.
    fn parse_map_array(&self, w: &[u16]) -> Result<FrameMap, u8> {
        let (body, check) = w.split_at(2 * PHYS_PAGES);
        if check.first() != Some(&check_word(body)) {
            return Err(st::CORRUPT);
        }
        let mut map = [None; PHYS_PAGES];
        for (i, e) in body.chunks_exact(2).enumerate() {
            map[i] = self.parse_entry(e[0], e[1])?;
        }
        Ok(map)
    }

    /// 4Eh: get (00h, ES:DI), set (01h, DS:SI), get and set (02h), size (03h).
    fn page_map(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let words = usize::from(MAP_ARRAY_BYTES / 2);
        match ctx.al() {
            0 => {
                let a = self.map_array();
                Self::write_words(ctx, ctx.es(), ctx.di(), &a);
                Ok(())
            }
            1 | 2 => {
                let src = Self::read_words(ctx, ctx.ds(), ctx.si(), words);
                let map = self.parse_map_array(&src)?;
                if ctx.al() == 2 {
                    let a = self.map_array();
                    Self::write_words(ctx, ctx.es(), ctx.di(), &a);
                }
                self.set_frame(ctx.mem(), map)
            }
            3 => {
                ctx.set_al(MAP_ARRAY_BYTES as u8);
                Ok(())
            }
            _ => Err(st::SUBFUNCTION),
        }
    }

    /// 4Fh: partial page map (see the module documentation for the format).
    fn partial_map(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        match ctx.al() {
            0 => {
                let (ds, si) = (ctx.ds(), ctx.si());
                let count = ctx.rd16(ds, si);
                if usize::from(count) > PHYS_PAGES {
                    return Err(st::CORRUPT);
                }
                let mut out = vec![count];
                for seg in Self::read_words(ctx, ds, si.wrapping_add(2), usize::from(count)) {
                    let i = self.segment_page(seg).ok_or(st::PHYSICAL_PAGE)?;
                    out.push(seg);
                    out.extend(Self::entry_words(self.frame[i]));
                }
                out.push(check_word(&out));
                Self::write_words(ctx, ctx.es(), ctx.di(), &out);
                Ok(())
            }
            1 => {
                let (ds, si) = (ctx.ds(), ctx.si());
                let count = ctx.rd16(ds, si);
                if usize::from(count) > PHYS_PAGES {
                    return Err(st::CORRUPT);
                }
                let w = Self::read_words(ctx, ds, si, 2 + 3 * usize::from(count));
                let (body, check) = w.split_at(w.len() - 1);
                if check.first() != Some(&check_word(body)) {
                    return Err(st::CORRUPT);
                }
                let mut plan = Vec::new();
                for e in body[1..].chunks_exact(3) {
                    let i = self.segment_page(e[0]).ok_or(st::CORRUPT)?;
                    plan.push((i, self.parse_entry(e[1], e[2])?));
                }
                for (i, m) in plan {
                    self.set_window(ctx.mem(), i, m)?;
                }
                Ok(())
            }
            2 => {
                let count = ctx.bx();
                if usize::from(count) > PHYS_PAGES {
                    return Err(st::PHYSICAL_PAGE);
                }
                ctx.set_al((4 + 6 * count) as u8);
                Ok(())
            }
            _ => Err(st::SUBFUNCTION),
        }
    }

    // ----- 52h-54h: attributes and names -----

    /// 52h: only volatile handles exist.
    fn attribute(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        match ctx.al() {
            0 => {
                self.handle(ctx.dx())?;
                ctx.set_al(0);
                Ok(())
            }
            1 => {
                self.handle(ctx.dx())?;
                match ctx.bl() {
                    0 => Ok(()),
                    1 => Err(st::UNSUPPORTED),
                    _ => Err(st::ATTRIBUTE_TYPE),
                }
            }
            2 => {
                ctx.set_al(0);
                Ok(())
            }
            _ => Err(st::SUBFUNCTION),
        }
    }

    fn read_name(ctx: &Ctx, seg: u16, off: u16) -> [u8; 8] {
        std::array::from_fn(|k| ctx.rd8(seg, off.wrapping_add(k as u16)))
    }

    /// The open handle named `name`.
    fn find_name(&self, name: &[u8; 8]) -> Option<u16> {
        self.handles
            .iter()
            .position(|h| h.as_ref().is_some_and(|h| &h.name == name))
            .map(|i| i as u16)
    }

    /// 53h: get (00h, ES:DI) or set (01h, DS:SI) the name of handle DX.
    fn handle_name(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        match ctx.al() {
            0 => {
                let name = self.handle(ctx.dx())?.name;
                ctx.write_bytes(ctx.es(), ctx.di(), &name);
                Ok(())
            }
            1 => {
                self.handle(ctx.dx())?;
                let name = Self::read_name(ctx, ctx.ds(), ctx.si());
                if name != [0; 8] && self.find_name(&name).is_some() {
                    return Err(st::DUPLICATE_NAME);
                }
                self.handle_mut(ctx.dx())?.name = name;
                Ok(())
            }
            _ => Err(st::SUBFUNCTION),
        }
    }

    /// 54h: directory (00h), search by name (01h), handle count (02h).
    fn handle_directory(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        match ctx.al() {
            0 => {
                let (es, mut di) = (ctx.es(), ctx.di());
                let mut n = 0u8;
                for (i, h) in self.handles.iter().enumerate() {
                    if let Some(h) = h {
                        ctx.wr16(es, di, i as u16);
                        ctx.write_bytes(es, di.wrapping_add(2), &h.name);
                        di = di.wrapping_add(10);
                        n += 1;
                    }
                }
                ctx.set_al(n);
                Ok(())
            }
            1 => {
                let name = Self::read_name(ctx, ctx.ds(), ctx.si());
                if name == [0; 8] {
                    return Err(st::DUPLICATE_NAME);
                }
                let h = self.find_name(&name).ok_or(st::NAME_NOT_FOUND)?;
                ctx.set_dx(h);
                Ok(())
            }
            2 => {
                ctx.set_bx(self.handles.len() as u16);
                Ok(())
            }
            _ => Err(st::SUBFUNCTION),
        }
    }

    // ----- 55h / 56h: alter map and jump / call -----

    /// Maps the new map of the 55h/56h structure at DS:SI; returns the target (seg, off).
    fn map_new(&mut self, ctx: &mut Ctx) -> Result<(u16, u16), u8> {
        let (ds, si) = (ctx.ds(), ctx.si());
        let target = (ctx.rd16(ds, si.wrapping_add(2)), ctx.rd16(ds, si));
        let len = u16::from(ctx.rd8(ds, si.wrapping_add(4)));
        let map_off = ctx.rd16(ds, si.wrapping_add(5));
        let map_seg = ctx.rd16(ds, si.wrapping_add(7));
        let handle = ctx.dx();
        self.map_entries(ctx, handle, ctx.al() == 1, map_seg, map_off, len)?;
        Ok(target)
    }

    /// 55h: map, then return into the target instead of the caller.
    fn alter_map_jump(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        if ctx.al() > 1 {
            return Err(st::SUBFUNCTION);
        }
        let (seg, off) = self.map_new(ctx)?;
        let (ss, sp) = (ctx.cpu.sreg(SegReg::SS), ctx.cpu.reg16(Reg16::SP));
        ctx.wr16(ss, sp, off);
        ctx.wr16(ss, sp.wrapping_add(2), seg);
        Ok(())
    }

    /// 56h: map, call the target far, map the old map when it returns (see the module
    /// documentation for the stack layout).
    fn alter_map_call(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        match ctx.al() {
            0 | 1 => {}
            2 => {
                ctx.set_bx(CALL_STACK_BYTES);
                return Ok(());
            }
            _ => return Err(st::SUBFUNCTION),
        }
        let (seg, off) = self.map_new(ctx)?;
        let (ds, si) = (ctx.ds(), ctx.si());
        let old_len = u16::from(ctx.rd8(ds, si.wrapping_add(9)));
        let old_off = ctx.rd16(ds, si.wrapping_add(10));
        let old_seg = ctx.rd16(ds, si.wrapping_add(12));
        let (ss, sp) = (ctx.cpu.sreg(SegReg::SS), ctx.cpu.reg16(Reg16::SP));
        let flags = ctx.rd16(ss, sp.wrapping_add(4));
        let words = [
            off,
            seg,
            flags,
            CALL_RETURN_OFF,
            EMM_SEG,
            old_off,
            old_seg,
            old_len,
            ctx.dx(),
            u16::from(ctx.al()),
        ];
        let new_sp = sp.wrapping_sub(CALL_STACK_BYTES);
        Self::write_words(ctx, ss, new_sp, &words);
        ctx.cpu.set_reg16(Reg16::SP, new_sp);
        Ok(())
    }

    /// The 56h callee returned to the return stub: map the old map, drop the words 56h
    /// pushed, let the stub's IRET return to the 56h caller.
    fn call_return(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let (ss, sp) = (ctx.cpu.sreg(SegReg::SS), ctx.cpu.reg16(Reg16::SP));
        let w = Self::read_words(ctx, ss, sp, 5);
        ctx.cpu.set_reg16(Reg16::SP, sp.wrapping_add(10));
        self.map_entries(ctx, w[3], w[4] == 1, w[1], w[0], w[2])
    }

    // ----- 57h: move / exchange -----

    /// One region of the 57h structure (at `off` in DS) checked against `len`.
    fn region(&self, ctx: &Ctx, off: u16, len: u32) -> Result<Place, u8> {
        let (ds, si) = (ctx.ds(), ctx.si());
        let at = si.wrapping_add(off);
        let kind = ctx.rd8(ds, at);
        let handle = ctx.rd16(ds, at.wrapping_add(1));
        let offset = ctx.rd16(ds, at.wrapping_add(3));
        let seg_or_page = ctx.rd16(ds, at.wrapping_add(5));
        match kind {
            0 => {
                let start = linear(seg_or_page, offset);
                if start + len > 0x10_0000 {
                    return Err(st::WRAP_1MB);
                }
                Ok(Place::Conv(start))
            }
            1 => {
                let pages = self.handle(handle)?.pages.len() as u32;
                if u32::from(offset) >= PAGE_BYTES {
                    return Err(st::OFFSET);
                }
                if u32::from(seg_or_page) >= pages {
                    return Err(st::LOGICAL_PAGE);
                }
                let start = u32::from(seg_or_page) * PAGE_BYTES + u32::from(offset);
                if start + len > pages * PAGE_BYTES {
                    return Err(st::REGION_TOO_LONG);
                }
                Ok(Place::Ems { handle, start })
            }
            _ => Err(st::MEMORY_TYPE),
        }
    }

    /// Whether the conventional bytes `[conv, conv + len)` show, through the frame, any of
    /// the bytes `[start, start + len)` of `handle`'s pages.
    fn frame_overlaps(&self, conv: u32, handle: u16, start: u32, len: u32) -> bool {
        let base = u32::from(self.config.frame_segment) << 4;
        self.frame.iter().enumerate().any(|(i, m)| {
            let Some(m) = m.filter(|m| m.handle == handle) else {
                return false;
            };
            let w = base + i as u32 * PAGE_BYTES;
            let (lo, hi) = (conv.max(w), (conv + len).min(w + PAGE_BYTES));
            if lo >= hi {
                return false;
            }
            let e_lo = u32::from(m.page) * PAGE_BYTES + (lo - w);
            let e_hi = e_lo + (hi - lo);
            e_lo < start + len && start < e_hi
        })
    }

    /// The store page holding byte `a` of `handle`'s pages.
    fn store_page(&self, handle: u16, a: u32) -> Result<StorePage, u8> {
        let base = self.store.ok_or(st::INTERNAL)?;
        let pool = *self
            .handle(handle)?
            .pages
            .get((a / PAGE_BYTES) as usize)
            .ok_or(st::INTERNAL)?;
        Ok(base.offset(u32::from(pool) * STORE_PER_PAGE + (a % PAGE_BYTES) / PAGE_SIZE))
    }

    fn read_place(&self, mem: &Memory, place: Place, len: u32) -> Result<Vec<u8>, u8> {
        match place {
            Place::Conv(a) => Ok(mem.read_bytes(a, len as usize)),
            Place::Ems { handle, start } => {
                let mut out = Vec::with_capacity(len as usize);
                let (mut a, end) = (start, start + len);
                while a < end {
                    let page = self.store_page(handle, a)?;
                    let off = a % PAGE_SIZE;
                    let n = (PAGE_SIZE - off).min(end - a);
                    let i = page.index() as usize * PAGE_SIZE as usize + off as usize;
                    let bytes = mem.store().get(i..i + n as usize).ok_or(st::INTERNAL)?;
                    out.extend_from_slice(bytes);
                    a += n;
                }
                Ok(out)
            }
        }
    }

    fn write_place(&self, mem: &mut Memory, place: Place, data: &[u8]) -> Result<(), u8> {
        match place {
            Place::Conv(a) => mem.write_bytes(a, data),
            Place::Ems { handle, start } => {
                let mut done = 0usize;
                while done < data.len() {
                    let a = start + done as u32;
                    let page = self.store_page(handle, a)?;
                    let off = (a % PAGE_SIZE) as usize;
                    let n = (PAGE_SIZE as usize - off).min(data.len() - done);
                    mem.store_page_mut(page)
                        .map_err(|_| st::INTERNAL)?
                        .get_mut(off..off + n)
                        .ok_or(st::INTERNAL)?
                        .copy_from_slice(&data[done..done + n]);
                    done += n;
                }
            }
        }
        Ok(())
    }

    /// 57h: move (AL=00h) or exchange (AL=01h) the region described at DS:SI.
    fn move_region(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let exchange = match ctx.al() {
            0 => false,
            1 => true,
            _ => return Err(st::SUBFUNCTION),
        };
        let len = ctx.rd32(ctx.ds(), ctx.si());
        if len == 0 {
            return Ok(());
        }
        if len > 0x10_0000 {
            return Err(st::OVER_1MB);
        }
        let src = self.region(ctx, 4, len)?;
        let dst = self.region(ctx, 0x0B, len)?;
        if let (Place::Conv(c), Place::Ems { handle, start })
        | (Place::Ems { handle, start }, Place::Conv(c)) = (src, dst)
            && self.frame_overlaps(c, handle, start, len)
        {
            return Err(st::CONV_EMS_OVERLAP);
        }
        let overlap = match (src, dst) {
            (
                Place::Ems {
                    handle: a,
                    start: s,
                },
                Place::Ems {
                    handle: b,
                    start: d,
                },
            ) => a == b && s < d + len && d < s + len,
            _ => false,
        };
        if overlap && exchange {
            return Err(st::EXCHANGE_OVERLAP);
        }
        let mem = ctx.mem();
        let from_src = self.read_place(mem, src, len)?;
        if exchange {
            let from_dst = self.read_place(mem, dst, len)?;
            self.write_place(mem, dst, &from_src)?;
            self.write_place(mem, src, &from_dst)?;
        } else {
            self.write_place(mem, dst, &from_src)?;
        }
        if overlap {
            Err(st::MOVE_OVERLAP)
        } else {
            Ok(())
        }
    }

    /// 58h: ES:DI <- {WORD segment, WORD physical page} sorted by segment (00h); CX = count.
    fn mappable_array(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        match ctx.al() {
            0 => {
                let words: Vec<u16> = (0..PHYS_PAGES)
                    .flat_map(|i| [self.window_segment(i), i as u16])
                    .collect();
                Self::write_words(ctx, ctx.es(), ctx.di(), &words);
            }
            1 => {}
            _ => return Err(st::SUBFUNCTION),
        }
        ctx.set_cx(PHYS_PAGES as u16);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Expected values come from the LIM EMS 4.0 function notes and the tables of
    //! dos-memory.md section 2 (status codes, register conventions, the 57h structure), not
    //! from the driver's output. Status codes are written as numbers on purpose.

    use super::*;
    use crate::firmware::dos::DriveC;
    use crate::firmware::{Firmware, FirmwareConfig};
    use crate::machine::{Machine, MachineConfig};

    /// Scratch segments in conventional memory for structures and data.
    const BUF: u16 = 0x2000;
    const DATA: u16 = 0x3000;
    const FRAME: u16 = 0xE000;

    /// A machine with the default firmware (EMS settings `cfg`), EMS installed, and `f`
    /// run with the driver and a service context. Before install, E000:0000 holds 5Ah so
    /// tests can see the original contents of an unmapped window.
    fn with_ems_config<T>(cfg: EmsConfig, f: impl FnOnce(&mut Ems, &mut Ctx) -> T) -> T {
        let fw_cfg = FirmwareConfig {
            ems: Some(cfg),
            ..FirmwareConfig::default()
        };
        let fw = Firmware::new(fw_cfg, DriveC::default(), vec![]);
        let mut m = Machine::with_firmware(MachineConfig::default(), fw).unwrap();
        m.with_service_context(|fw, ctx| {
            let ems = fw.unwrap().ems.as_mut().unwrap();
            ctx.wr8(FRAME, 0, 0x5A);
            ems.install(ctx);
            f(ems, ctx)
        })
    }

    fn with_ems<T>(f: impl FnOnce(&mut Ems, &mut Ctx) -> T) -> T {
        with_ems_config(EmsConfig::default(), f)
    }

    /// Int 67h with AX = `ax` (other registers as the caller set them); returns AH. CS:IP
    /// is where the trap of the Int 67h entry leaves it.
    fn call(e: &mut Ems, c: &mut Ctx, ax: u16) -> u8 {
        let (seg, off) = c.vector(0x67);
        c.jump(seg, off + 4);
        c.set_ax(ax);
        assert_eq!(e.service(svc::EMS, c), Flow::Continue);
        c.ah()
    }

    /// 43h: a new handle with `pages` pages.
    fn alloc(e: &mut Ems, c: &mut Ctx, pages: u16) -> u16 {
        c.set_bx(pages);
        assert_eq!(call(e, c, 0x4300), 0x00);
        c.dx()
    }

    /// 44h: map logical page `logical` of `handle` at physical page `phys`; returns AH.
    fn map(e: &mut Ems, c: &mut Ctx, handle: u16, logical: u16, phys: u8) -> u8 {
        c.set_dx(handle);
        c.set_bx(logical);
        call(e, c, 0x4400 | u16::from(phys))
    }

    /// Writes a 57h structure at BUF:0000 and points DS:SI at it.
    fn move_struct(c: &mut Ctx, len: u32, src: (u8, u16, u16, u16), dst: (u8, u16, u16, u16)) {
        c.wr32(BUF, 0x00, len);
        for (at, (kind, handle, offset, seg)) in [(0x04u16, src), (0x0B, dst)] {
            c.wr8(BUF, at, kind);
            c.wr16(BUF, at + 1, handle);
            c.wr16(BUF, at + 3, offset);
            c.wr16(BUF, at + 5, seg);
        }
        c.set_ds(BUF);
        c.set_si(0);
    }

    fn fill(c: &mut Ctx, seg: u16, off: u16, len: u16, f: impl Fn(u16) -> u8) {
        for i in 0..len {
            c.wr8(seg, off.wrapping_add(i), f(i));
        }
    }

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
    fn allocation_errors() {
        let cfg = EmsConfig {
            pages: 16,
            handles: 3,
            ..EmsConfig::default()
        };
        with_ems_config(cfg, |e, c| {
            c.set_bx(0);
            assert_eq!(call(e, c, 0x4300), 0x89, "43h with 0 pages");
            c.set_bx(17);
            assert_eq!(call(e, c, 0x4300), 0x87, "more than total");
            let a = alloc(e, c, 10);
            assert_ne!(a, 0, "43h never returns the OS handle");
            c.set_bx(7);
            assert_eq!(call(e, c, 0x4300), 0x88, "more than free");
            let b = alloc(e, c, 0x6);
            assert!(b != 0 && b != a);
            // Handles 0, a and b: all three are open.
            c.set_bx(0);
            assert_eq!(call(e, c, 0x5A00), 0x85, "no more handles");
            c.set_dx(b);
            assert_eq!(call(e, c, 0x4500), 0x00);
            // 5Ah accepts 0 pages (EMS 4.0); AL must be 0 or 1.
            c.set_bx(0);
            assert_eq!(call(e, c, 0x5A02), 0x8F);
            assert_eq!(call(e, c, 0x5A01), 0x00);
            let z = c.dx();
            assert_ne!(z, 0);
            c.set_dx(z);
            assert_eq!(call(e, c, 0x4C00), 0x00);
            assert_eq!(c.bx(), 0);
        });
    }

    #[test]
    fn mapping_is_visible_through_the_frame() {
        with_ems(|e, c| {
            let h = alloc(e, c, 3);
            // Write through physical page 0 with logical page 0 mapped.
            assert_eq!(map(e, c, h, 0, 0), 0x00);
            fill(c, FRAME, 0, 0x4000, |i| (i % 251) as u8);
            // Logical page 1 in the same window: different bytes.
            assert_eq!(map(e, c, h, 1, 0), 0x00);
            fill(c, FRAME, 0, 0x4000, |_| 0xC3);
            assert_eq!(c.rd8(FRAME, 0x1234), 0xC3);
            // Back to logical page 0: the first data, across all four 4 KiB pieces.
            assert_eq!(map(e, c, h, 0, 0), 0x00);
            for off in [0u16, 0x0FFF, 0x1000, 0x2345, 0x3FFF] {
                assert_eq!(c.rd8(FRAME, off), (off % 251) as u8, "offset {off:04X}");
            }
            // Physical pages 1-3 are E400h, E800h, ECh: logical page 1 at physical page 3,
            // and the same logical page in two windows aliases.
            assert_eq!(map(e, c, h, 1, 3), 0x00);
            assert_eq!(c.rd8(0xEC00, 0x10), 0xC3);
            assert_eq!(map(e, c, h, 1, 2), 0x00);
            c.wr8(0xE800, 0x10, 0x77);
            assert_eq!(c.rd8(0xEC00, 0x10), 0x77);
            // Unmapping (BX = FFFFh) shows what was there before EMS was installed.
            assert_eq!(map(e, c, h, 0xFFFF, 0), 0x00);
            assert_eq!(c.rd8(FRAME, 0), 0x5A);
            // Errors: invalid handle, physical page, logical page.
            assert_eq!(map(e, c, 0x99, 0, 0), 0x83);
            assert_eq!(map(e, c, 40, 0, 0), 0x83);
            assert_eq!(map(e, c, h, 0, 4), 0x8B);
            assert_eq!(map(e, c, h, 3, 0), 0x8A);
            assert_eq!(map(e, c, 0, 0, 0), 0x8A, "the OS handle has no pages");
        });
    }

    #[test]
    fn release_and_the_os_handle() {
        with_ems(|e, c| {
            let h = alloc(e, c, 4);
            assert_eq!(map(e, c, h, 2, 1), 0x00);
            c.wr8(0xE400, 0, 0x11);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x4500), 0x00);
            // The window no longer shows the freed page.
            assert_ne!(c.rd8(0xE400, 0), 0x11);
            assert_eq!(call(e, c, 0x4500), 0x83, "already released");
            assert_eq!(call(e, c, 0x4C00), 0x83);
            assert_eq!(call(e, c, 0x4200), 0x00);
            assert_eq!(c.bx(), 256);
            // 45h with a saved context: 86h (spec, Jemm), until 48h frees the slot.
            let h = alloc(e, c, 1);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x4700), 0x00);
            assert_eq!(call(e, c, 0x4500), 0x86);
            assert_eq!(call(e, c, 0x4800), 0x00);
            assert_eq!(call(e, c, 0x4500), 0x00);
            // Handle 0: 51h gives it pages; 45h takes them but the handle stays open.
            c.set_dx(0);
            c.set_bx(2);
            assert_eq!(call(e, c, 0x5100), 0x00);
            assert_eq!(c.bx(), 2);
            assert_eq!(call(e, c, 0x4500), 0x00);
            assert_eq!(call(e, c, 0x4C00), 0x00);
            assert_eq!(c.bx(), 0);
            assert_eq!(call(e, c, 0x4B00), 0x00);
            assert_eq!(c.bx(), 1);
            assert_eq!(call(e, c, 0x4200), 0x00);
            assert_eq!(c.bx(), 256);
        });
    }

    #[test]
    fn save_and_restore_page_map() {
        with_ems(|e, c| {
            let h = alloc(e, c, 2);
            assert_eq!(map(e, c, h, 0, 0), 0x00);
            c.wr8(FRAME, 0, 0xA0);
            assert_eq!(map(e, c, h, 1, 1), 0x00);
            c.wr8(0xE400, 0, 0xA1);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x4700), 0x00);
            assert_eq!(call(e, c, 0x4700), 0x8D, "one save per handle");
            // Change the mapping, then restore it.
            assert_eq!(map(e, c, h, 1, 0), 0x00);
            assert_eq!(map(e, c, h, 0xFFFF, 1), 0x00);
            assert_eq!(c.rd8(FRAME, 0), 0xA1);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x4800), 0x00);
            assert_eq!((c.rd8(FRAME, 0), c.rd8(0xE400, 0)), (0xA0, 0xA1));
            assert_eq!(call(e, c, 0x4800), 0x8E, "slot freed by the restore");
            c.set_dx(0x55);
            assert_eq!(call(e, c, 0x4700), 0x83);
            assert_eq!(call(e, c, 0x4800), 0x83);
            // The OS handle has a slot too.
            c.set_dx(0);
            assert_eq!(call(e, c, 0x4700), 0x00);
            assert_eq!(call(e, c, 0x4800), 0x00);
        });
    }

    #[test]
    fn handle_page_array() {
        with_ems(|e, c| {
            let a = alloc(e, c, 3);
            let b = alloc(e, c, 5);
            c.set_es(BUF);
            c.set_di(0x100);
            assert_eq!(call(e, c, 0x4D00), 0x00);
            assert_eq!(c.bx(), 3);
            let mut entries: Vec<(u16, u16)> = (0..3)
                .map(|k| (c.rd16(BUF, 0x100 + 4 * k), c.rd16(BUF, 0x102 + 4 * k)))
                .collect();
            entries.sort();
            let mut want = vec![(0, 0), (a, 3), (b, 5)];
            want.sort();
            assert_eq!(entries, want);
        });
    }

    #[test]
    fn get_and_set_page_map_4eh() {
        with_ems(|e, c| {
            assert_eq!(call(e, c, 0x4E03), 0x00);
            let size = u16::from(c.al());
            assert!(size >= 16, "at least 4 x (handle, page)");
            let h = alloc(e, c, 4);
            assert_eq!(map(e, c, h, 2, 0), 0x00);
            c.wr8(FRAME, 0, 0x22);
            assert_eq!(map(e, c, h, 3, 0), 0x00);
            c.wr8(FRAME, 0, 0x33);
            assert_eq!(map(e, c, h, 2, 0), 0x00);
            assert_eq!(map(e, c, h, 1, 3), 0x00);
            c.set_es(BUF);
            c.set_di(0);
            assert_eq!(call(e, c, 0x4E00), 0x00);
            // The documented layout: 4 x {handle, page}, unmapped = FFFFh, FFFFh.
            assert_eq!((c.rd16(BUF, 0), c.rd16(BUF, 2)), (h, 2));
            assert_eq!((c.rd16(BUF, 4), c.rd16(BUF, 6)), (0xFFFF, 0xFFFF));
            assert_eq!((c.rd16(BUF, 12), c.rd16(BUF, 14)), (h, 1));
            assert_eq!(map(e, c, h, 3, 0), 0x00);
            assert_eq!(c.rd8(FRAME, 0), 0x33);
            c.set_ds(BUF);
            c.set_si(0);
            assert_eq!(call(e, c, 0x4E01), 0x00);
            assert_eq!(c.rd8(FRAME, 0), 0x22);
            // 02h: current map to ES:DI, then the map at DS:SI.
            assert_eq!(map(e, c, h, 3, 0), 0x00);
            c.set_es(BUF);
            c.set_di(0x40);
            assert_eq!(call(e, c, 0x4E02), 0x00);
            assert_eq!(c.rd8(FRAME, 0), 0x22);
            assert_eq!((c.rd16(BUF, 0x40), c.rd16(BUF, 0x42)), (h, 3));
            // Corrupt source arrays: A3h and no change.
            c.wr16(BUF, 0x40 + 2, 0x0001);
            c.set_si(0x40);
            assert_eq!(call(e, c, 0x4E01), 0xA3);
            assert_eq!(c.rd8(FRAME, 0), 0x22);
            c.set_si(0x80);
            fill(c, BUF, 0x80, size, |_| 0);
            assert_eq!(call(e, c, 0x4E01), 0xA3, "a zeroed buffer is no map");
            assert_eq!(call(e, c, 0x4E04), 0x8F);
        });
    }

    #[test]
    fn partial_page_map_4fh() {
        with_ems(|e, c| {
            c.set_bx(2);
            assert_eq!(call(e, c, 0x4F02), 0x00);
            let size = u16::from(c.al());
            assert!(size >= 2 + 2 * 4, "count word + 2 x (segment, mapping)");
            c.set_bx(5);
            assert_eq!(call(e, c, 0x4F02), 0x8B, "more pages than mappable");
            let h = alloc(e, c, 4);
            assert_eq!(map(e, c, h, 0, 1), 0x00);
            c.wr8(0xE400, 0, 0x40);
            assert_eq!(map(e, c, h, 1, 2), 0x00);
            c.wr8(0xE800, 0, 0x41);
            // Save physical pages 1 and 2 (by segment).
            c.wr16(BUF, 0, 2);
            c.wr16(BUF, 2, 0xE400);
            c.wr16(BUF, 4, 0xE800);
            c.set_ds(BUF);
            c.set_si(0);
            c.set_es(BUF);
            c.set_di(0x100);
            assert_eq!(call(e, c, 0x4F00), 0x00);
            assert_eq!(map(e, c, h, 3, 1), 0x00);
            assert_eq!(map(e, c, h, 0xFFFF, 2), 0x00);
            assert_eq!(map(e, c, h, 2, 0), 0x00);
            c.wr8(FRAME, 0, 0x42);
            c.set_si(0x100);
            assert_eq!(call(e, c, 0x4F01), 0x00);
            assert_eq!((c.rd8(0xE400, 0), c.rd8(0xE800, 0)), (0x40, 0x41));
            assert_eq!(c.rd8(FRAME, 0), 0x42, "page 0 was not in the partial map");
            // A segment that is not a mappable page: 8Bh; a corrupt array: A3h.
            c.wr16(BUF, 2, 0xE200);
            c.set_si(0);
            assert_eq!(call(e, c, 0x4F00), 0x8B);
            c.wr16(BUF, 0, 9);
            assert_eq!(call(e, c, 0x4F00), 0xA3);
            c.wr16(BUF, 0x104, c.rd16(BUF, 0x104) ^ 0x10);
            c.set_si(0x100);
            assert_eq!(call(e, c, 0x4F01), 0xA3);
            assert_eq!(call(e, c, 0x4F03), 0x8F);
        });
    }

    #[test]
    fn map_multiple_50h() {
        with_ems(|e, c| {
            let h = alloc(e, c, 4);
            for l in 0..4u16 {
                assert_eq!(map(e, c, h, l, 0), 0x00);
                c.wr8(FRAME, 0, 0x60 + l as u8);
            }
            // AL=00h: physical page numbers.
            let entries = [(3u16, 0u16), (2, 1), (1, 2), (0, 3)];
            for (k, (l, p)) in entries.iter().enumerate() {
                c.wr16(BUF, 4 * k as u16, *l);
                c.wr16(BUF, 4 * k as u16 + 2, *p);
            }
            c.set_ds(BUF);
            c.set_si(0);
            c.set_cx(4);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x5000), 0x00);
            let seen: Vec<u8> = (0..4).map(|i| c.rd8(FRAME + 0x400 * i, 0)).collect();
            assert_eq!(seen, [0x63, 0x62, 0x61, 0x60]);
            // AL=01h: segments; FFFFh unmaps.
            c.wr16(BUF, 0x20, 0);
            c.wr16(BUF, 0x22, 0xEC00);
            c.wr16(BUF, 0x24, 0xFFFF);
            c.wr16(BUF, 0x26, 0xE000);
            c.set_si(0x20);
            c.set_cx(2);
            assert_eq!(call(e, c, 0x5001), 0x00);
            assert_eq!((c.rd8(0xEC00, 0), c.rd8(FRAME, 0)), (0x60, 0x5A));
            // Errors: a segment that is not a page, a logical page outside the handle, a
            // physical page past 3, a bad handle, a bad subfunction.
            c.wr16(BUF, 0x22, 0xEC10);
            assert_eq!(call(e, c, 0x5001), 0x8B);
            c.wr16(BUF, 0x22, 0xEC00);
            c.wr16(BUF, 0x20, 4);
            assert_eq!(call(e, c, 0x5001), 0x8A);
            c.wr16(BUF, 0x20, 0);
            c.wr16(BUF, 0x22, 4);
            assert_eq!(call(e, c, 0x5000), 0x8B);
            c.set_dx(0x77);
            assert_eq!(call(e, c, 0x5000), 0x83);
            assert_eq!(call(e, c, 0x5002), 0x8F);
        });
    }

    #[test]
    fn reallocate_51h() {
        let cfg = EmsConfig {
            pages: 20,
            ..EmsConfig::default()
        };
        with_ems_config(cfg, |e, c| {
            let h = alloc(e, c, 2);
            assert_eq!(map(e, c, h, 1, 0), 0x00);
            c.set_dx(h);
            c.set_bx(6);
            assert_eq!(call(e, c, 0x5100), 0x00);
            assert_eq!(c.bx(), 6);
            assert_eq!(call(e, c, 0x4C00), 0x00);
            assert_eq!(c.bx(), 6);
            assert_eq!(map(e, c, h, 5, 1), 0x00);
            c.set_dx(h);
            c.set_bx(21);
            assert_eq!(call(e, c, 0x5100), 0x87);
            let _other = alloc(e, c, 10);
            c.set_dx(h);
            c.set_bx(11);
            assert_eq!(call(e, c, 0x5100), 0x88);
            // Shrinking to 0 is allowed (4.0) and unmaps the windows of the lost pages.
            c.set_bx(0);
            assert_eq!(call(e, c, 0x5100), 0x00);
            assert_eq!(c.bx(), 0);
            assert_eq!(c.rd8(FRAME, 0), 0x5A);
            assert_eq!(call(e, c, 0x4200), 0x00);
            assert_eq!(c.bx(), 10);
            c.set_dx(0x40);
            assert_eq!(call(e, c, 0x5100), 0x83);
        });
    }

    #[test]
    fn handle_attributes_52h() {
        with_ems(|e, c| {
            let h = alloc(e, c, 1);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x5200), 0x00);
            assert_eq!(c.al(), 0, "volatile");
            c.set_bx(0);
            assert_eq!(call(e, c, 0x5201), 0x00);
            c.set_bx(1);
            assert_eq!(call(e, c, 0x5201), 0x91, "non-volatile not supported");
            c.set_bx(2);
            assert_eq!(call(e, c, 0x5201), 0x90, "undefined attribute");
            assert_eq!(call(e, c, 0x5202), 0x00);
            assert_eq!(c.al(), 0, "only volatile handles");
            c.set_dx(0x30);
            assert_eq!(call(e, c, 0x5200), 0x83);
            assert_eq!(call(e, c, 0x5203), 0x8F);
        });
    }

    #[test]
    fn handle_names_53h_54h() {
        with_ems(|e, c| {
            let a = alloc(e, c, 1);
            let b = alloc(e, c, 1);
            c.write_bytes(BUF, 0, b"VEXED_01");
            c.write_bytes(BUF, 8, &[0; 8]);
            c.set_ds(BUF);
            c.set_si(0);
            c.set_dx(a);
            assert_eq!(call(e, c, 0x5301), 0x00);
            c.set_dx(b);
            assert_eq!(call(e, c, 0x5301), 0xA1, "duplicate name");
            c.set_es(BUF);
            c.set_di(0x20);
            c.set_dx(a);
            assert_eq!(call(e, c, 0x5300), 0x00);
            assert_eq!(c.read_bytes(BUF, 0x20, 8), b"VEXED_01");
            // Search by name.
            c.set_si(0);
            c.set_dx(0);
            assert_eq!(call(e, c, 0x5401), 0x00);
            assert_eq!(c.dx(), a);
            c.wr8(BUF, 7, b'2');
            assert_eq!(call(e, c, 0x5401), 0xA0, "not found");
            c.set_si(8);
            assert_eq!(call(e, c, 0x5401), 0xA1, "null name");
            // Directory: {handle, name} per open handle, AL = count.
            c.set_di(0x100);
            assert_eq!(call(e, c, 0x5400), 0x00);
            assert_eq!(c.al(), 3);
            let named: Vec<u16> = (0..3u16)
                .filter(|k| c.read_bytes(BUF, 0x102 + 10 * k, 8) == b"VEXED_01")
                .map(|k| c.rd16(BUF, 0x100 + 10 * k))
                .collect();
            assert_eq!(named, [a]);
            assert_eq!(call(e, c, 0x5402), 0x00);
            assert_eq!(c.bx(), 64, "handles supported (configuration)");
            // Clearing the name always works; errors for bad handles and subfunctions.
            c.set_si(8);
            c.set_dx(a);
            assert_eq!(call(e, c, 0x5301), 0x00);
            c.set_si(0);
            assert_eq!(call(e, c, 0x5401), 0xA0);
            c.set_dx(b);
            c.wr8(BUF, 7, b'1');
            assert_eq!(call(e, c, 0x5301), 0x00);
            c.set_dx(0x63);
            assert_eq!(call(e, c, 0x5300), 0x83);
            assert_eq!(call(e, c, 0x5302), 0x8F);
            assert_eq!(call(e, c, 0x5403), 0x8F);
        });
    }

    #[test]
    fn move_between_conventional_and_expanded() {
        with_ems(|e, c| {
            let h = alloc(e, c, 4);
            // Conventional 3000:0100, 8000h bytes -> EMS logical page 1 offset 2000h:
            // spans pages 1, 2 and 3.
            fill(c, DATA, 0x100, 0x8000, |i| (i % 253) as u8);
            move_struct(c, 0x8000, (0, 0, 0x100, DATA), (1, h, 0x2000, 1));
            assert_eq!(call(e, c, 0x5700), 0x00);
            for (l, off, i) in [(1u16, 0x2000u16, 0u16), (2, 0, 0x2000), (3, 0x1FFF, 0x7FFF)] {
                assert_eq!(map(e, c, h, l, 0), 0x00);
                assert_eq!(
                    c.rd8(FRAME, off),
                    (i % 253) as u8,
                    "page {l} offset {off:04X}"
                );
            }
            // Back: EMS -> conventional 4000:0000.
            move_struct(c, 0x8000, (1, h, 0x2000, 1), (0, 0, 0, 0x4000));
            assert_eq!(call(e, c, 0x5700), 0x00);
            assert_eq!(
                c.read_bytes(0x4000, 0, 0x8000),
                c.read_bytes(DATA, 0x100, 0x8000)
            );
            // EMS -> EMS between handles.
            let g = alloc(e, c, 1);
            move_struct(c, 0x10, (1, h, 0x2000, 1), (1, g, 0x3FF0, 0));
            assert_eq!(call(e, c, 0x5700), 0x00);
            assert_eq!(map(e, c, g, 0, 2), 0x00);
            assert_eq!(
                c.read_bytes(0xE800, 0x3FF0, 16),
                c.read_bytes(DATA, 0x100, 16)
            );
            // Exchange conventional <-> EMS.
            fill(c, DATA, 0, 0x20, |_| 0xEE);
            move_struct(c, 0x20, (0, 0, 0, DATA), (1, g, 0, 0));
            c.wr8(0xE800, 0, 0x01);
            assert_eq!(call(e, c, 0x5701), 0x00);
            assert_eq!(c.rd8(0xE800, 0), 0xEE);
            assert_eq!(c.rd8(DATA, 0), 0x01);
            // Conventional -> conventional.
            move_struct(c, 4, (0, 0, 0x100, DATA), (0, 0, 0x10, 0x4000));
            assert_eq!(call(e, c, 0x5700), 0x00);
            assert_eq!(c.read_bytes(0x4000, 0x10, 4), [0, 1, 2, 3]);
            // Length 0 succeeds whatever the rest says.
            move_struct(c, 0, (7, 0x99, 0xFFFF, 0xFFFF), (9, 0, 0, 0));
            assert_eq!(call(e, c, 0x5700), 0x00);
        });
    }

    #[test]
    fn move_same_handle_overlap() {
        with_ems(|e, c| {
            let h = alloc(e, c, 2);
            assert_eq!(map(e, c, h, 0, 0), 0x00);
            assert_eq!(map(e, c, h, 1, 1), 0x00);
            fill(c, FRAME, 0, 0x8000, |i| (i % 241) as u8);
            // Source 0000h-4FFFh, destination 1000h: overlapping forward. Move completes
            // (destination is a full copy of the source) and returns 92h.
            move_struct(c, 0x5000, (1, h, 0, 0), (1, h, 0x1000, 0));
            assert_eq!(call(e, c, 0x5700), 0x92);
            for i in [0u16, 1, 0x0FFF, 0x1000, 0x4FFF] {
                assert_eq!(
                    c.rd8(FRAME, 0x1000 + i),
                    (i % 241) as u8,
                    "dst byte {i:04X}"
                );
            }
            // Destination before the source, overlapping: also 92h and a full copy.
            fill(c, FRAME, 0, 0x8000, |i| (i % 239) as u8);
            move_struct(c, 0x3000, (1, h, 0x0800, 0), (1, h, 0, 0));
            assert_eq!(call(e, c, 0x5700), 0x92);
            for i in [0u16, 0x7FF, 0x800, 0x2FFF] {
                assert_eq!(c.rd8(FRAME, i), ((i + 0x800) % 239) as u8);
            }
            // Exchange of overlapping regions of one handle: 97h, nothing changes.
            let before = c.read_bytes(FRAME, 0, 0x8000);
            move_struct(c, 0x2000, (1, h, 0, 0), (1, h, 0x1000, 0));
            assert_eq!(call(e, c, 0x5701), 0x97);
            assert_eq!(c.read_bytes(FRAME, 0, 0x8000), before);
            // Same handle, no overlap: exchange works, status 00h.
            move_struct(c, 0x10, (1, h, 0, 0), (1, h, 0, 1));
            assert_eq!(call(e, c, 0x5701), 0x00);
            assert_eq!(c.read_bytes(0xE400, 0, 0x10), before[..0x10].to_vec());
            assert_eq!(
                c.read_bytes(FRAME, 0, 0x10),
                before[0x4000..0x4010].to_vec()
            );
        });
    }

    #[test]
    fn move_errors() {
        with_ems(|e, c| {
            let h = alloc(e, c, 2);
            type Side = (u8, u16, u16, u16);
            let cases: [(&str, u32, Side, Side, u8); 10] = [
                ("length > 1 MB", 0x10_0001, (0, 0, 0, 0), (1, h, 0, 0), 0x96),
                ("source type 2", 0x10, (2, 0, 0, 0), (1, h, 0, 0), 0x98),
                ("destination type 3", 0x10, (0, 0, 0, 0), (3, h, 0, 0), 0x98),
                (
                    "offset 4000h",
                    0x10,
                    (0, 0, 0, DATA),
                    (1, h, 0x4000, 0),
                    0x95,
                ),
                ("bad handle", 0x10, (1, 0x45, 0, 0), (0, 0, 0, DATA), 0x83),
                (
                    "first page outside",
                    0x10,
                    (1, h, 0, 2),
                    (0, 0, 0, DATA),
                    0x8A,
                ),
                (
                    "past the last page",
                    0x4001,
                    (1, h, 0, 1),
                    (0, 0, 0, DATA),
                    0x93,
                ),
                (
                    "wrap past 1 MB",
                    0x20,
                    (0, 0, 0xFFF0, 0xFFFF),
                    (1, h, 0, 0),
                    0xA2,
                ),
                (
                    "end past 1 MB",
                    0x2,
                    (1, h, 0, 0),
                    (0, 0, 0xFFFF, 0xF000),
                    0xA2,
                ),
                (
                    "whole handle + 1",
                    0x8001,
                    (1, h, 0, 0),
                    (0, 0, 0, DATA),
                    0x93,
                ),
            ];
            for (what, len, src, dst, want) in cases {
                move_struct(c, len, src, dst);
                assert_eq!(call(e, c, 0x5700), want, "{what}");
            }
            // Exactly 1 MB is allowed by the length check (and then fails on the handle).
            move_struct(c, 0x10_0000, (1, h, 0, 0), (0, 0, 0, 0));
            assert_eq!(call(e, c, 0x5700), 0x93);
            move_struct(c, 0x10, (0, 0, 0, DATA), (1, h, 0, 0));
            assert_eq!(call(e, c, 0x5702), 0x8F);
            // 94h: the conventional region is the frame window showing the EMS region.
            assert_eq!(map(e, c, h, 1, 2), 0x00);
            move_struct(c, 0x100, (0, 0, 0x0080, 0xE800), (1, h, 0x0100, 1));
            assert_eq!(call(e, c, 0x5700), 0x94);
            // The same window but bytes of the page the region does not touch: allowed.
            c.wr8(0xE800, 0, 0x9C);
            move_struct(c, 0x10, (0, 0, 0, 0xE800), (1, h, 0x0100, 1));
            assert_eq!(call(e, c, 0x5700), 0x00);
            assert_eq!(c.rd8(0xE800, 0x100), 0x9C);
        });
    }

    #[test]
    fn move_of_a_whole_megabyte() {
        let cfg = EmsConfig {
            pages: 80,
            ..EmsConfig::default()
        };
        with_ems_config(cfg, |e, c| {
            let h = alloc(e, c, 64);
            fill(c, 0x1000, 0, 0x100, |i| i as u8);
            move_struct(c, 0x10_0000, (0, 0, 0, 0), (1, h, 0, 0));
            assert_eq!(call(e, c, 0x5700), 0x00);
            assert_eq!(map(e, c, h, 63, 0), 0x00);
            // Logical page 63 holds conventional F C000h-FFFFFh: the BIOS ROM's last bytes,
            // whose reset vector is a far jump (EAh).
            assert_eq!(c.rd8(FRAME, 0x3FF0), 0xEA);
            assert_eq!(map(e, c, h, 4, 0), 0x00);
            assert_eq!(c.rd8(FRAME, 0x0005), 5);
        });
    }

    #[test]
    fn mappable_array_and_hardware_info() {
        with_ems(|e, c| {
            c.set_es(BUF);
            c.set_di(0);
            assert_eq!(call(e, c, 0x5800), 0x00);
            assert_eq!(c.cx(), 4);
            let got: Vec<u16> = (0..8).map(|k| c.rd16(BUF, 2 * k)).collect();
            assert_eq!(got, [0xE000, 0, 0xE400, 1, 0xE800, 2, 0xEC00, 3]);
            c.set_cx(0);
            assert_eq!(call(e, c, 0x5801), 0x00);
            assert_eq!(c.cx(), 4);
            assert_eq!(call(e, c, 0x5802), 0x8F);
            // 5900h is for the operating system only.
            assert_eq!(call(e, c, 0x5900), 0xA4);
            let _ = alloc(e, c, 6);
            assert_eq!(call(e, c, 0x5901), 0x00);
            assert_eq!((c.bx(), c.dx()), (250, 256));
            assert_eq!(call(e, c, 0x5902), 0x8F);
            assert_eq!(call(e, c, 0x5B00), 0xA4);
            assert_eq!(call(e, c, 0x5C00), 0x00);
            assert_eq!(call(e, c, 0x5D00), 0xA4);
        });
    }

    /// Writes the 55h/56h structure at BUF:0200 with a new map at BUF:0300 and an old map
    /// at BUF:0310, an `INT` frame at 5000:0FFA (return 1111:2222, FLAGS 0202h), and points
    /// DS:SI and SS:SP at them.
    fn alter_map_setup(c: &mut Ctx, new: &[(u16, u16)], old: &[(u16, u16)]) {
        c.wr16(BUF, 0x200, 0x0100); // target 0900:0100
        c.wr16(BUF, 0x202, 0x0900);
        c.wr8(BUF, 0x204, new.len() as u8);
        c.wr16(BUF, 0x205, 0x0300);
        c.wr16(BUF, 0x207, BUF);
        c.wr8(BUF, 0x209, old.len() as u8);
        c.wr16(BUF, 0x20A, 0x0310);
        c.wr16(BUF, 0x20C, BUF);
        for (k, (l, p)) in new.iter().enumerate() {
            c.wr16(BUF, 0x300 + 4 * k as u16, *l);
            c.wr16(BUF, 0x302 + 4 * k as u16, *p);
        }
        for (k, (l, p)) in old.iter().enumerate() {
            c.wr16(BUF, 0x310 + 4 * k as u16, *l);
            c.wr16(BUF, 0x312 + 4 * k as u16, *p);
        }
        c.set_ds(BUF);
        c.set_si(0x200);
        c.cpu.set_sreg(SegReg::SS, 0x5000);
        c.cpu.set_reg16(Reg16::SP, 0x0FFA);
        c.wr16(0x5000, 0x0FFA, 0x2222);
        c.wr16(0x5000, 0x0FFC, 0x1111);
        c.wr16(0x5000, 0x0FFE, 0x0202);
    }

    #[test]
    fn alter_map_and_jump_55h() {
        with_ems(|e, c| {
            let h = alloc(e, c, 2);
            assert_eq!(map(e, c, h, 0, 0), 0x00);
            c.wr8(FRAME, 0, 0x10);
            alter_map_setup(c, &[(1, 0)], &[]);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x5500), 0x00);
            assert_ne!(c.rd8(FRAME, 0), 0x10, "logical page 1 mapped");
            // The IRET of the entry stub now returns to the target.
            assert_eq!(
                (c.rd16(0x5000, 0x0FFA), c.rd16(0x5000, 0x0FFC)),
                (0x0100, 0x0900)
            );
            // AL=01h takes segments; a bad one fails with nothing changed.
            alter_map_setup(c, &[(0, 0xE100)], &[]);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x5501), 0x8B);
            assert_eq!(c.rd16(0x5000, 0x0FFA), 0x2222);
            assert_eq!(call(e, c, 0x5502), 0x8F);
        });
    }

    #[test]
    fn alter_map_and_call_56h() {
        with_ems(|e, c| {
            let h = alloc(e, c, 2);
            assert_eq!(map(e, c, h, 0, 0), 0x00);
            c.wr8(FRAME, 0, 0x10);
            assert_eq!(map(e, c, h, 1, 1), 0x00);
            c.wr8(0xE400, 0, 0x11);
            assert_eq!(call(e, c, 0x5602), 0x00);
            let stack = c.bx();
            // New map: logical 1 at physical 0; old map: logical 0 at physical 0.
            alter_map_setup(c, &[(1, 0)], &[(0, 0)]);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x5600), 0x00);
            assert_eq!(c.rd8(FRAME, 0), 0x11);
            // The stub's IRET enters the target with the caller's FLAGS and a far return
            // address on the stack; at most BX bytes were used.
            let sp = c.cpu.reg16(Reg16::SP);
            assert!(0x0FFA - sp <= stack);
            assert_eq!(
                (
                    c.rd16(0x5000, sp),
                    c.rd16(0x5000, sp + 2),
                    c.rd16(0x5000, sp + 4)
                ),
                (0x0100, 0x0900, 0x0202)
            );
            let (ret_off, ret_seg) = (c.rd16(0x5000, sp + 6), c.rd16(0x5000, sp + 8));
            // Simulate IRET into the target, then the target's RETF to the return stub,
            // whose first instruction is a trap.
            c.cpu.set_reg16(Reg16::SP, sp + 10);
            c.jump(ret_seg, ret_off + 4);
            assert_eq!(c.read_bytes(ret_seg, ret_off, 2), [0xFE, 0x38]);
            c.set_ax(0x1234);
            e.service(svc::EMS, c);
            assert_eq!(c.ah(), 0x00);
            assert_eq!(c.rd8(FRAME, 0), 0x10, "old map restored");
            // Back at the original INT frame for the stub's IRET.
            assert_eq!(c.cpu.reg16(Reg16::SP), 0x0FFA);
            assert_eq!(c.rd16(0x5000, 0x0FFA), 0x2222);
            // A failing new map calls nothing.
            alter_map_setup(c, &[(2, 0)], &[(0, 0)]);
            c.set_dx(h);
            assert_eq!(call(e, c, 0x5600), 0x8A);
            assert_eq!(c.cpu.reg16(Reg16::SP), 0x0FFA);
            assert_eq!(call(e, c, 0x5603), 0x8F);
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
