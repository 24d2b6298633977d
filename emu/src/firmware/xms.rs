//! The XMS 3.0 driver (HIMEM): extended memory blocks, the HMA, A20 control and the Int 15h
//! hooks an XMS driver installs.
//!
//! Sources: the eXtended Memory Specification 3.0 (function definitions, error codes, the
//! move structure), `../shared/reference/dos-memory.md` section 1 (all of it), 5.2 (Int 15h
//! AH=87h/88h), 5.3 (A20 gates) and 6.1 (where implementations disagree), RBIL (INT 2F/43xx,
//! #02747/#02748 for the handle table), and HimemX 3.34 (`HimemX.asm`), which is the
//! reference wherever implementations disagree.
//!
//! # What the guest sees
//!
//! Everything lives in the XMS area at [`XMS_SEG`] (see [`super::stubs`]):
//!
//! | Offset | Contents |
//! |---|---|
//! | [`ENTRY_OFF`] | the driver entry: `EB 03 90 90 90` (hookable: short jump over 3 NOPs), the trap, `RETF` |
//! | [`INT15_OFF`] | the Int 15h hook: the trap, `IRET` |
//! | [`TABLE_OFF`] | the Int 2Fh AX=4309h handle table header: signature 01h, descriptor size 0Ah, entry count, far pointer to the entries |
//! | [`ENTRIES_OFF`] | the entries, 10 bytes each: flag (01h free block, 02h used block, 04h unused slot), lock count, DWORD base KB, DWORD size KB |
//!
//! The stubs are ordinary RAM, so a guest may hook the entry the documented way (replace
//! the short jump with a far jump to its own handler). Int 2Fh AX=4300h answers AL=80h,
//! 4310h returns ES:BX = the entry, 4309h returns ES:BX = the table (and AL=43h, as HimemX).
//!
//! # The model
//!
//! As in MS HIMEM and HimemX, the handle table *is* the memory map: every free block and
//! every EMB occupies one slot, unused slots are flagged 04h. A handle is the near offset
//! of its slot in [`XMS_SEG`] (`ENTRIES_OFF + index * 10`), so handles are opaque, never 0
//! and not dense; a handle is valid when it is such an offset, below the entry count, and
//! its slot is flagged used. The driver's Rust state is authoritative; the table in guest
//! memory is rewritten after every call that can change it (a guest writing into the table
//! changes nothing).
//!
//! Extended memory is the RAM from 110000h (just above the HMA) up to the RAM size (at most
//! the top of the address bus: 16 MB on a 286), managed in KB. At install the whole pool is
//! one free block in slot 0. Allocation is first fit in table order: the used block takes
//! the front of the free block, and the rest moves to the first unused slot. Freeing
//! merges the block with free neighbours (the merged slots become unused).
//!
//! The HMA (100000h-10FFEFh) exists when RAM reaches 110000h. DOS stays low in this
//! machine, so the HMA is free at boot and the driver has no DOS awareness (HimemX).
//!
//! A20: a local counter (05h/06h) and a global flag (03h/04h), exactly the pseudo-code of
//! dos-memory.md section 1.7; the gate is switched through the firmware's A20 handler
//! ([`Ctx::set_a20`]: the 8042 output port and port 92h) and verified; 07h reports the physical state. Moves (0Bh) force A20 on for the copy and
//! restore the caller's state afterwards; the copy takes no guest time.
//!
//! Int 15h: POST calls [`Xms::install`] after the BIOS filled the vector table; the driver
//! saves the Int 15h vector and points it at its hook. AH=88h reports 0 KB (the memory
//! belongs to the driver now), AH=87h does the BIOS block move and then restores the
//! caller's A20 state (the BIOS leaves A20 off), anything else chains to the saved vector.
//!
//! # Decisions where implementations disagree
//!
//! * Return convention: AX=1 on success, AX=0 and BL = error on failure. BL is written on
//!   success only by the functions that define a BL output: 07h, 08h, 88h (status 00h) and
//!   0Eh (free handles); all others leave BL alone when they succeed (dos-memory.md 1.1).
//! * 00h: AX=0300h, BX = driver revision [`DRIVER_REVISION`] (0300h BCD; the spec leaves
//!   the value to the driver, "mainly for debugging"), DX=1 when the HMA exists.
//! * 01h check order (HimemX): no HMA 90h, in use 91h, DX < /HMAMIN 92h. /HMAMIN is given in
//!   KB, values above 63 are corrected to 63 (HimemX), compared in bytes; DX=FFFFh always
//!   passes. 02h when not allocated: 93h. No DOS=HIGH awareness (HimemX).
//! * 03h-06h: the section 1.7 pseudo-code (HimemX/Jemm): 04h with local enables
//!   outstanding fails with 94h and leaves A20 on; 06h at count 0 fails with 82h; 06h that
//!   leaves the count above 0, or with the global flag set, fails with 94h. The local count
//!   is 16-bit like HimemX's; a 05h that would overflow it fails with 82h (HimemX wraps).
//!   The gate is switched through the firmware's A20 handler ([`Ctx::set_a20`]: the 8042
//!   output port and port 92h together) and then verified; a gate that did not follow would
//!   give 82h, as the pseudo-code says (HimemX answers 94h when a disable does not take).
//! * 08h clamps both sizes to FFFFh (HimemX without /X2MAX32), never counts the HMA, and
//!   returns BL=A0h (AX=DX=0) when no memory is free. 88h: ECX = highest physical address
//!   of memory (10FFFFh if there is no extended memory beyond the HMA, as HimemX).
//! * 88h/89h/8Eh/8Fh answer 80h (not implemented) on a 286: they need 32-bit registers.
//!   HIMEM 3.03-3.07 crash there; HimemX does not load on a 286 at all.
//! * Allocation (09h/89h) follows HimemX: when no unused slot is left to hold the rest of
//!   a split free block, the caller gets the whole free block (0Eh reports its real size);
//!   a failed allocation returns DX=0. A 0-KB request gets an unused slot (A1h if none),
//!   its base is the first free block's base (0 if there is none) and no memory is taken
//!   (dos-memory.md 1.5: "free block if any, else a bare handle").
//! * Handle count: [`XmsConfig::handles`] corrected to 1-128 (128 fill the XMS area; HimemX
//!   corrects to 8-128). Free blocks use slots too, so 0Eh reports unused slots.
//! * Lock counts are 8-bit: the 256th lock fails with ACh and leaves the count at 255
//!   (HimemX restores it; DOSBox-X saturates and succeeds). 0Dh at 0: AAh. 0Ah/0Fh/8Fh on a
//!   locked block: ABh. The lock address is the block's base and never changes while the
//!   block is locked. ADh (lock failed) occurs only under the VMM, for blocks allocated
//!   after it started (Windows 3.x; see `vmm/`).
//! * 0Eh: BL = unused slots clamped to FFh; DX = size clamped to FFFFh for blocks of 64 MB
//!   or more (HimemX, not its MS-compatible A2h build). 8Eh: CX = unused slots, EDX = size.
//! * Reallocation (0Fh/8Fh): shrinking keeps the base and frees the rest (A1h, with the
//!   block unchanged, when no slot is left for the rest; HimemX shrinks first and loses the
//!   rest). Growing happens in place when the block is followed by a free block large enough
//!   (HimemX never grows in place); otherwise a new block is allocated as by 09h, the data
//!   is copied, the handle takes over the new block and the old one is freed (HimemX), so
//!   the handle value never changes.
//! * Move (0Bh), in HimemX's order: odd length A7h; destination, then source: an invalid
//!   handle gives A5h/A3h; an offset or offset+length past the block (in whole KB) gives A7h
//!   (HimemX; the spec's A4h/A6h are never returned); a handle-0 address (high word
//!   segment, low word offset) whose linear end passes 10FFF0h gives A7h; length 0 or
//!   source = destination succeeds without copying; source < destination < source+length
//!   (linear addresses) gives A8h; a downward overlapping move is copied correctly. The
//!   caller's A20 state is restored after the copy, which may reach the HMA whatever it was.
//!   No interrupt window: the copy runs in no guest time.
//! * UMBs (10h-12h): there are none (upper memory belongs to the ROMs and the EMS frame):
//!   10h fails with B1h and DX=0 (largest available), 11h and 12h fail with B2h (no segment
//!   is a UMB).
//! * Any other function: 80h. Int 2Fh AX=4308h is not answered.
//! * A machine with a 20-bit address bus (8086) has no extended memory: the driver does not
//!   install (HIMEM refuses to load there), so Int 2Fh AX=4300h reports no driver.
//! * Int 15h AH=87h through the hook sets AH, CF and ZF exactly as the BIOS's own 87h does,
//!   then restores A20; AH=88h returns AX=0 with CF clear.
//!
//! The file runs past 800 lines because the tests (about two thirds of it) live beside the
//! driver they check.

use serde::{Deserialize, Serialize};

use super::stubs::{Asm, XMS_AREA_BYTES, XMS_SEG, svc};
use super::{Ctx, Flow, bios};
use crate::cpu::Model;

/// Offset in [`XMS_SEG`] of the hookable driver entry (what Int 2Fh AX=4310h returns).
pub const ENTRY_OFF: u16 = 0x0000;
/// Offset in [`XMS_SEG`] of the Int 15h hook.
pub const INT15_OFF: u16 = 0x0010;
/// Offset in [`XMS_SEG`] of the handle table header (what Int 2Fh AX=4309h returns).
pub const TABLE_OFF: u16 = 0x0020;
/// Offset in [`XMS_SEG`] of the first handle table entry; handles are offsets of entries.
pub const ENTRIES_OFF: u16 = 0x0028;
/// Bytes per handle table entry.
pub const ENTRY_BYTES: u16 = 10;
/// The most handles the XMS area holds.
pub const MAX_HANDLES: u16 = 128;
/// XMS version reported by function 00h (BCD).
pub const XMS_VERSION: u16 = 0x0300;
/// Driver revision reported by function 00h in BX (BCD).
pub const DRIVER_REVISION: u16 = 0x0300;
/// Signature byte of the handle table header (MS HIMEM's; HimemX uses FDh).
pub const TABLE_SIGNATURE: u8 = 0x01;
/// First KB of the extended memory pool: 110000h, just above the HMA.
pub const POOL_BASE_KB: u32 = 0x11_0000 / 1024;
/// Linear end (exclusive) a handle-0 move address may reach: FFFF:FFFF + 1.
const CONVENTIONAL_END: u32 = 0x10_FFF0;
/// Bytes copied per step of a move.
const COPY_CHUNK: u32 = 0x1_0000;

const _: () =
    assert!((ENTRIES_OFF as u32) + (MAX_HANDLES as u32) * (ENTRY_BYTES as u32) <= XMS_AREA_BYTES);

/// XMS error codes (BL), XMS 3.0 / dos-memory.md section 1.2.
pub mod err {
    pub const NOT_IMPLEMENTED: u8 = 0x80;
    pub const A20_ERROR: u8 = 0x82;
    pub const HMA_NOT_EXIST: u8 = 0x90;
    pub const HMA_IN_USE: u8 = 0x91;
    pub const HMA_TOO_SMALL: u8 = 0x92;
    pub const HMA_NOT_ALLOCATED: u8 = 0x93;
    pub const A20_STILL_ENABLED: u8 = 0x94;
    pub const ALL_MEMORY_ALLOCATED: u8 = 0xA0;
    pub const ALL_HANDLES_IN_USE: u8 = 0xA1;
    pub const INVALID_HANDLE: u8 = 0xA2;
    pub const INVALID_SOURCE_HANDLE: u8 = 0xA3;
    pub const INVALID_DEST_HANDLE: u8 = 0xA5;
    pub const INVALID_LENGTH: u8 = 0xA7;
    pub const INVALID_OVERLAP: u8 = 0xA8;
    pub const NOT_LOCKED: u8 = 0xAA;
    pub const LOCKED: u8 = 0xAB;
    pub const LOCK_OVERFLOW: u8 = 0xAC;
    pub const LOCK_FAILED: u8 = 0xAD;
    pub const NO_UMB: u8 = 0xB1;
    pub const INVALID_UMB: u8 = 0xB2;
}

/// XMS driver settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XmsConfig {
    /// Number of handle table slots (HIMEM's /NUMHANDLES=), corrected to 1-128. Free
    /// blocks occupy slots too, as in HIMEM.
    pub handles: u16,
    /// /HMAMIN= in KB (0-63; larger values count as 63).
    pub hma_min_kb: u16,
}

impl Default for XmsConfig {
    fn default() -> XmsConfig {
        XmsConfig {
            handles: 32,
            hma_min_kb: 0,
        }
    }
}

/// What a handle table slot describes (the entry's flag byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Kind {
    /// 01h: a free block of extended memory.
    Free,
    /// 02h: an allocated EMB (the slot's offset is its handle).
    Used,
    /// 04h: an unused slot.
    Unused,
}

impl Kind {
    fn flag(self) -> u8 {
        match self {
            Kind::Free => 0x01,
            Kind::Used => 0x02,
            Kind::Unused => 0x04,
        }
    }
}

/// One handle table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Slot {
    kind: Kind,
    locks: u8,
    base_kb: u32,
    size_kb: u32,
    /// Allocated while a VMM ran (Windows 3.x refuses to lock such blocks).
    since_vmm: bool,
}

impl Slot {
    const UNUSED: Slot = Slot {
        kind: Kind::Unused,
        locks: 0,
        base_kb: 0,
        size_kb: 0,
        since_vmm: false,
    };

    fn new(kind: Kind, base_kb: u32, size_kb: u32) -> Slot {
        Slot {
            kind,
            locks: 0,
            base_kb,
            size_kb,
            since_vmm: false,
        }
    }
}

/// The driver's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Xms {
    config: XmsConfig,
    /// [`Xms::install`] placed the driver (false on an 8086, or before POST).
    installed: bool,
    /// The handle table (free blocks, EMBs and unused slots).
    slots: Vec<Slot>,
    hma_exists: bool,
    hma_allocated: bool,
    /// Outstanding local A20 enables (05h minus 06h).
    a20_local: u16,
    /// A global enable (03h) is in force.
    a20_global: bool,
    /// Physical address of the highest byte of memory (88h's ECX).
    highest_address: u32,
    /// The Int 15h vector before the driver hooked it (segment, offset).
    old_int15: (u16, u16),
    /// The 8xh functions are available (386 or later).
    extended_functions: bool,
    /// A VMM runs that refuses locks of blocks allocated after it started.
    vmm_refuses_new_locks: bool,
    /// A planted change of behaviour (function, error code): see [`Xms::plant_error`].
    /// A property of the build being imitated, not of the machine: not serialized, so
    /// snapshots and state hashes are those of the machine without it.
    #[serde(skip)]
    planted_error: Option<(u8, u8)>,
}

/// The handle of slot `index`.
fn handle_of(index: usize) -> u16 {
    ENTRIES_OFF + index as u16 * ENTRY_BYTES
}

/// Where a move's source or destination lies, or why it is invalid.
enum MoveError {
    Handle,
    Length,
}

impl Xms {
    /// A Windows 3.x VMM starts (`true`) or exits: while it runs, blocks allocated from
    /// now on cannot be locked (XMS 0Ch fails with ADh, dos-memory.md section 1.3: a TSR
    /// sharing a block with Windows must allocate and lock it before Windows loads).
    pub(crate) fn set_vmm_refuses_new_locks(&mut self, on: bool) {
        self.vmm_refuses_new_locks = on;
    }

    /// The allocated EMBs: (handle, base KB, size KB, lock count), in handle order.
    pub fn blocks(&self) -> Vec<(u16, u32, u32, u8)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == Kind::Used)
            .map(|(i, s)| (handle_of(i), s.base_kb, s.size_kb, s.locks))
            .collect()
    }

    pub fn new(config: XmsConfig) -> Xms {
        Xms {
            config,
            installed: false,
            slots: Vec::new(),
            hma_exists: false,
            hma_allocated: false,
            a20_local: 0,
            a20_global: false,
            highest_address: 0x10_FFFF,
            old_int15: (0, 0),
            extended_functions: false,
            vmm_refuses_new_locks: false,
            planted_error: None,
        }
    }

    /// Places the driver in guest memory (called once by POST, after the BIOS filled the
    /// vector table): the entry and Int 15h stubs, the handle table, the Int 15h hook.
    pub fn install(&mut self, ctx: &mut Ctx) {
        let bus_bits = ctx.bus.mem.bus_bits();
        if self.installed || bus_bits <= 20 {
            return;
        }
        self.installed = true;
        self.extended_functions = !matches!(ctx.cpu.model(), Model::I8086 | Model::I80286);
        let bus_top = 1u64 << bus_bits;
        let top = u64::from(ctx.bus.mem.ram_size()).min(bus_top);
        self.hma_exists = top >= 0x11_0000;
        self.highest_address = (top.saturating_sub(1) as u32).max(0x10_FFFF);
        let count = usize::from(self.config.handles.clamp(1, MAX_HANDLES));
        self.slots = vec![Slot::UNUSED; count];
        let top_kb = (top / 1024) as u32;
        if top_kb > POOL_BASE_KB {
            self.slots[0] = Slot::new(Kind::Free, POOL_BASE_KB, top_kb - POOL_BASE_KB);
        }

        let mut entry = Asm::new(XMS_SEG, ENTRY_OFF);
        entry
            .raw(&[0xEB, 0x03, 0x90, 0x90, 0x90])
            .trap(svc::XMS)
            .retf();
        ctx.place(&entry);
        let mut hook = Asm::new(XMS_SEG, INT15_OFF);
        hook.trap(svc::XMS_INT15).iret();
        ctx.place(&hook);

        ctx.wr8(XMS_SEG, TABLE_OFF, TABLE_SIGNATURE);
        ctx.wr8(XMS_SEG, TABLE_OFF + 1, ENTRY_BYTES as u8);
        ctx.wr16(XMS_SEG, TABLE_OFF + 2, count as u16);
        ctx.wr16(XMS_SEG, TABLE_OFF + 4, ENTRIES_OFF);
        ctx.wr16(XMS_SEG, TABLE_OFF + 6, XMS_SEG);
        self.write_table(ctx);

        self.old_int15 = ctx.vector(0x15);
        ctx.set_vector(0x15, XMS_SEG, INT15_OFF);
    }

    /// Int 2Fh AH=43h: returns whether the call was the driver's (4300h, 4309h, 4310h).
    pub fn int2f(&mut self, ctx: &mut Ctx) -> bool {
        if !self.installed || ctx.ah() != 0x43 {
            return false;
        }
        match ctx.al() {
            0x00 => ctx.set_al(0x80),
            0x09 => {
                ctx.set_al(0x43);
                ctx.set_es(XMS_SEG);
                ctx.set_bx(TABLE_OFF);
            }
            0x10 => {
                ctx.set_es(XMS_SEG);
                ctx.set_bx(ENTRY_OFF);
            }
            _ => return false,
        }
        true
    }

    /// Runs the driver entry ([`svc::XMS`]) or the Int 15h hook ([`svc::XMS_INT15`]).
    pub fn service(&mut self, service: u16, ctx: &mut Ctx) -> Flow {
        if self.installed {
            match service {
                svc::XMS => self.dispatch(ctx),
                svc::XMS_INT15 => self.int15(ctx),
                _ => {}
            }
        }
        Flow::Continue
    }

    /// Test-only: from now on every failing call of `function` returns error `code` in BL
    /// instead of the specified one, as a build of the driver with that change would. The
    /// divergence tools' tests plant a behaviour change with it; nothing in a scenario or a
    /// trace can switch it on.
    pub fn plant_error(&mut self, function: u8, code: u8) {
        self.planted_error = Some((function, code));
    }

    /// Whether an application or TSR holds the HMA (01h succeeded, 02h not yet called).
    pub fn hma_allocated(&self) -> bool {
        self.hma_allocated
    }

    // ----- dispatch ---------------------------------------------------------------------

    /// One call of the driver entry: function in AH.
    fn dispatch(&mut self, ctx: &mut Ctx) {
        let function = ctx.ah();
        let result = match function {
            0x00 => {
                ctx.set_ax(XMS_VERSION);
                ctx.set_bx(DRIVER_REVISION);
                ctx.set_dx(u16::from(self.hma_exists));
                return;
            }
            0x01 => self.request_hma(ctx.dx()),
            0x02 => self.release_hma(),
            0x03 => self.global_enable_a20(ctx),
            0x04 => self.global_disable_a20(ctx),
            0x05 => self.local_enable_a20(ctx),
            0x06 => self.local_disable_a20(ctx),
            0x07 => {
                let on = ctx.a20();
                ctx.set_ax(u16::from(on));
                ctx.set_bl(0);
                return;
            }
            0x08 => {
                self.query_free(ctx, false);
                return;
            }
            0x09 => self.allocate_call(ctx, u32::from(ctx.dx())),
            0x0A => self.free_call(ctx.dx()),
            0x0B => self.move_emb(ctx),
            0x0C => self.lock(ctx),
            0x0D => self.unlock(ctx.dx()),
            0x0E => self.handle_info(ctx, false),
            0x0F => self.reallocate(ctx, ctx.dx(), u32::from(ctx.bx())),
            0x10 => {
                ctx.set_dx(0); // size of the largest UMB: there is none
                Err(err::NO_UMB)
            }
            0x11 | 0x12 => Err(err::INVALID_UMB),
            0x88 | 0x89 | 0x8E | 0x8F if !self.extended_functions => Err(err::NOT_IMPLEMENTED),
            0x88 => {
                self.query_free(ctx, true);
                return;
            }
            0x89 => self.allocate_call(ctx, ctx.edx()),
            0x8E => self.handle_info(ctx, true),
            0x8F => self.reallocate(ctx, ctx.dx(), ctx.ebx()),
            _ => Err(err::NOT_IMPLEMENTED),
        };
        match result {
            Ok(()) => ctx.set_ax(1),
            Err(code) => {
                let code = match self.planted_error {
                    Some((f, planted)) if f == function => planted,
                    _ => code,
                };
                ctx.set_ax(0);
                ctx.set_bl(code);
            }
        }
        if matches!(function, 0x09..=0x0F | 0x89 | 0x8F) {
            self.write_table(ctx);
        }
    }

    /// Rewrites the entries of the 4309h handle table from the driver's state.
    fn write_table(&self, ctx: &mut Ctx) {
        for (i, s) in self.slots.iter().enumerate() {
            let off = handle_of(i);
            ctx.wr8(XMS_SEG, off, s.kind.flag());
            ctx.wr8(XMS_SEG, off + 1, s.locks);
            ctx.wr32(XMS_SEG, off + 2, s.base_kb);
            ctx.wr32(XMS_SEG, off + 6, s.size_kb);
        }
    }

    // ----- HMA (01h, 02h) -----------------------------------------------------------------

    fn hma_min_bytes(&self) -> u16 {
        self.config.hma_min_kb.min(63) * 1024
    }

    fn request_hma(&mut self, dx: u16) -> Result<(), u8> {
        if !self.hma_exists {
            Err(err::HMA_NOT_EXIST)
        } else if self.hma_allocated {
            Err(err::HMA_IN_USE)
        } else if dx < self.hma_min_bytes() {
            Err(err::HMA_TOO_SMALL)
        } else {
            self.hma_allocated = true;
            Ok(())
        }
    }

    fn release_hma(&mut self) -> Result<(), u8> {
        if !self.hma_exists {
            Err(err::HMA_NOT_EXIST)
        } else if !self.hma_allocated {
            Err(err::HMA_NOT_ALLOCATED)
        } else {
            self.hma_allocated = false;
            Ok(())
        }
    }

    // ----- A20 (03h-06h) ------------------------------------------------------------------

    /// Switches the gate and checks that it followed.
    fn switch_a20(ctx: &mut Ctx, on: bool) -> Result<(), u8> {
        ctx.set_a20(on);
        if ctx.a20() == on {
            Ok(())
        } else {
            Err(err::A20_ERROR)
        }
    }

    fn global_enable_a20(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        Self::switch_a20(ctx, true)?;
        self.a20_global = true;
        Ok(())
    }

    fn global_disable_a20(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        if self.a20_local != 0 {
            return Err(err::A20_STILL_ENABLED);
        }
        Self::switch_a20(ctx, false)?;
        self.a20_global = false;
        Ok(())
    }

    fn local_enable_a20(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        if self.a20_local == u16::MAX {
            return Err(err::A20_ERROR);
        }
        self.a20_local += 1;
        if self.a20_local == 1 {
            Self::switch_a20(ctx, true)
        } else {
            Ok(())
        }
    }

    fn local_disable_a20(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        if self.a20_local == 0 {
            return Err(err::A20_ERROR);
        }
        self.a20_local -= 1;
        if self.a20_local != 0 || self.a20_global {
            return Err(err::A20_STILL_ENABLED);
        }
        Self::switch_a20(ctx, false)
    }

    // ----- for the DPMI host -------------------------------------------------------------

    /// Allocates and locks a block of `kb` KiB for the DPMI host, as a program's 09h and
    /// 0Ch would (the block is in the handle table like any other); returns its handle and
    /// physical address, or the XMS error code.
    pub(crate) fn host_allocate(&mut self, ctx: &mut Ctx, kb: u32) -> Result<(u16, u32), u8> {
        let slot = self.allocate(kb)?;
        self.slots[slot].locks = 1;
        self.write_table(ctx);
        Ok((handle_of(slot), self.slots[slot].base_kb.wrapping_mul(1024)))
    }

    /// Unlocks and frees a block [`Xms::host_allocate`] gave.
    pub(crate) fn host_free(&mut self, ctx: &mut Ctx, handle: u16) {
        if let Some(i) = self.index_of(handle) {
            self.slots[i].locks = 0;
            self.release(i);
            self.write_table(ctx);
        }
    }

    /// (largest, total) free extended memory in KiB.
    pub(crate) fn free_extended_kb(&self) -> (u32, u32) {
        self.free_kb()
    }

    // ----- free memory (08h, 88h) -------------------------------------------------------

    /// (largest, total) free KB.
    fn free_kb(&self) -> (u32, u32) {
        self.slots
            .iter()
            .filter(|s| s.kind == Kind::Free)
            .fold((0, 0), |(largest, total), s| {
                (largest.max(s.size_kb), total.saturating_add(s.size_kb))
            })
    }

    fn query_free(&self, ctx: &mut Ctx, extended: bool) {
        let (largest, total) = self.free_kb();
        let status = if total == 0 {
            err::ALL_MEMORY_ALLOCATED
        } else {
            0
        };
        if extended {
            ctx.set_eax(largest);
            ctx.set_edx(total);
            ctx.set_ecx(self.highest_address);
        } else {
            ctx.set_ax(largest.min(0xFFFF) as u16);
            ctx.set_dx(total.min(0xFFFF) as u16);
        }
        ctx.set_bl(status);
    }

    // ----- handles and blocks -----------------------------------------------------------

    /// The slot of a valid (used) handle.
    fn index_of(&self, handle: u16) -> Option<usize> {
        let rel = handle.checked_sub(ENTRIES_OFF)?;
        if rel % ENTRY_BYTES != 0 {
            return None;
        }
        let i = usize::from(rel / ENTRY_BYTES);
        (self.slots.get(i)?.kind == Kind::Used).then_some(i)
    }

    fn unused_slot(&self) -> Option<usize> {
        self.slots.iter().position(|s| s.kind == Kind::Unused)
    }

    fn unused_count(&self) -> usize {
        self.slots.iter().filter(|s| s.kind == Kind::Unused).count()
    }

    /// Allocates `kb` KB (HimemX's algorithm, see the module notes) and returns the slot.
    fn allocate(&mut self, kb: u32) -> Result<usize, u8> {
        let slot = self.allocate_slot(kb)?;
        self.slots[slot].since_vmm = self.vmm_refuses_new_locks;
        Ok(slot)
    }

    fn allocate_slot(&mut self, kb: u32) -> Result<usize, u8> {
        if kb == 0 {
            let slot = self.unused_slot().ok_or(err::ALL_HANDLES_IN_USE)?;
            let base = self
                .slots
                .iter()
                .find(|s| s.kind == Kind::Free)
                .map_or(0, |s| s.base_kb);
            self.slots[slot] = Slot::new(Kind::Used, base, 0);
            return Ok(slot);
        }
        let found = self
            .slots
            .iter()
            .position(|s| s.kind == Kind::Free && s.size_kb >= kb)
            .ok_or(err::ALL_MEMORY_ALLOCATED)?;
        let block = self.slots[found];
        self.slots[found] = Slot::new(Kind::Used, block.base_kb, block.size_kb);
        if block.size_kb > kb
            && let Some(rest) = self.unused_slot()
        {
            self.slots[found].size_kb = kb;
            self.slots[rest] = Slot::new(Kind::Free, block.base_kb + kb, block.size_kb - kb);
        }
        Ok(found)
    }

    /// Frees slot `index` (a used block) and merges it with free neighbours.
    fn release(&mut self, index: usize) {
        let block = self.slots[index];
        if block.size_kb == 0 {
            self.slots[index] = Slot::UNUSED;
            return;
        }
        self.slots[index] = Slot::new(Kind::Free, block.base_kb, block.size_kb);
        let (start, end) = (block.base_kb, block.base_kb + block.size_kb);
        let mut current = index;
        for j in 0..self.slots.len() {
            let other = self.slots[j];
            if j == current || other.kind != Kind::Free {
                continue;
            }
            if other.base_kb == end {
                // The successor joins this block.
                self.slots[current].size_kb += other.size_kb;
                self.slots[j] = Slot::UNUSED;
            } else if other.base_kb + other.size_kb == start {
                // This block joins its predecessor.
                self.slots[j].size_kb += self.slots[current].size_kb;
                self.slots[current] = Slot::UNUSED;
                current = j;
            }
        }
    }

    fn allocate_call(&mut self, ctx: &mut Ctx, kb: u32) -> Result<(), u8> {
        match self.allocate(kb) {
            Ok(slot) => {
                ctx.set_dx(handle_of(slot));
                Ok(())
            }
            Err(e) => {
                ctx.set_dx(0);
                Err(e)
            }
        }
    }

    fn free_call(&mut self, handle: u16) -> Result<(), u8> {
        let i = self.index_of(handle).ok_or(err::INVALID_HANDLE)?;
        if self.slots[i].locks != 0 {
            return Err(err::LOCKED);
        }
        self.release(i);
        Ok(())
    }

    fn lock(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let i = self.index_of(ctx.dx()).ok_or(err::INVALID_HANDLE)?;
        let slot = &mut self.slots[i];
        if slot.since_vmm && self.vmm_refuses_new_locks {
            return Err(err::LOCK_FAILED);
        }
        slot.locks = slot.locks.checked_add(1).ok_or(err::LOCK_OVERFLOW)?;
        let address = slot.base_kb.wrapping_mul(1024);
        ctx.set_dx((address >> 16) as u16);
        ctx.set_bx(address as u16);
        Ok(())
    }

    fn unlock(&mut self, handle: u16) -> Result<(), u8> {
        let i = self.index_of(handle).ok_or(err::INVALID_HANDLE)?;
        let slot = &mut self.slots[i];
        slot.locks = slot.locks.checked_sub(1).ok_or(err::NOT_LOCKED)?;
        Ok(())
    }

    fn handle_info(&self, ctx: &mut Ctx, extended: bool) -> Result<(), u8> {
        let i = self.index_of(ctx.dx()).ok_or(err::INVALID_HANDLE)?;
        let slot = self.slots[i];
        let unused = self.unused_count();
        ctx.set_bh(slot.locks);
        if extended {
            ctx.set_cx(unused as u16);
            ctx.set_edx(slot.size_kb);
        } else {
            ctx.set_bl(unused.min(0xFF) as u8);
            ctx.set_dx(slot.size_kb.min(0xFFFF) as u16);
        }
        Ok(())
    }

    fn reallocate(&mut self, ctx: &mut Ctx, handle: u16, kb: u32) -> Result<(), u8> {
        let i = self.index_of(handle).ok_or(err::INVALID_HANDLE)?;
        let block = self.slots[i];
        if block.locks != 0 {
            return Err(err::LOCKED);
        }
        if kb <= block.size_kb {
            let rest = block.size_kb - kb;
            if rest != 0 {
                let r = self.unused_slot().ok_or(err::ALL_HANDLES_IN_USE)?;
                self.slots[i].size_kb = kb;
                self.slots[r] = Slot::new(Kind::Used, block.base_kb + kb, rest);
                self.release(r);
            }
            return Ok(());
        }
        let need = kb - block.size_kb;
        let end = block.base_kb + block.size_kb;
        if let Some(n) = self
            .slots
            .iter()
            .position(|s| s.kind == Kind::Free && s.base_kb == end && s.size_kb >= need)
        {
            // Grow in place into the following free block.
            self.slots[i].size_kb = kb;
            let next = &mut self.slots[n];
            next.base_kb += need;
            next.size_kb -= need;
            if next.size_kb == 0 {
                *next = Slot::UNUSED;
            }
            return Ok(());
        }
        // Move: a new block, the data copied, the handle takes it over, the old one freed.
        let new = self.allocate(kb)?;
        let bytes = block.size_kb * 1024;
        let was = ctx.a20();
        ctx.set_a20(true);
        copy(
            ctx,
            Side::Physical(block.base_kb * 1024),
            Side::Physical(self.slots[new].base_kb * 1024),
            bytes,
        );
        ctx.set_a20(was);
        self.slots.swap(i, new);
        self.release(new);
        Ok(())
    }

    // ----- move (0Bh) ---------------------------------------------------------------------

    /// The linear address of one side of a move (HimemX's `xms_get_move_addr`).
    fn move_address(&self, handle: u16, offset: u32, len: u32) -> Result<u32, MoveError> {
        if handle == 0 {
            let linear = (offset >> 16) * 16 + (offset & 0xFFFF);
            match linear.checked_add(len) {
                Some(end) if end <= CONVENTIONAL_END => Ok(linear),
                _ => Err(MoveError::Length),
            }
        } else {
            let i = self.index_of(handle).ok_or(MoveError::Handle)?;
            let slot = self.slots[i];
            let end_kb = offset
                .checked_add(len)
                .and_then(|e| e.checked_add(1023))
                .map(|e| e >> 10)
                .ok_or(MoveError::Length)?;
            if end_kb > slot.size_kb {
                return Err(MoveError::Length);
            }
            Ok((slot.base_kb * 1024).wrapping_add(offset))
        }
    }

    fn move_emb(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let was = ctx.a20();
        ctx.set_a20(true);
        let result = self.move_with_a20_on(ctx);
        ctx.set_a20(was);
        result
    }

    fn move_with_a20_on(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
        let (ds, si) = (ctx.ds(), ctx.si());
        let len = ctx.rd32(ds, si);
        let src_handle = ctx.rd16(ds, si.wrapping_add(0x04));
        let src_offset = ctx.rd32(ds, si.wrapping_add(0x06));
        let dst_handle = ctx.rd16(ds, si.wrapping_add(0x0A));
        let dst_offset = ctx.rd32(ds, si.wrapping_add(0x0C));
        if len & 1 != 0 {
            return Err(err::INVALID_LENGTH);
        }
        let dst = self
            .move_address(dst_handle, dst_offset, len)
            .map_err(|e| match e {
                MoveError::Handle => err::INVALID_DEST_HANDLE,
                MoveError::Length => err::INVALID_LENGTH,
            })?;
        let src = self
            .move_address(src_handle, src_offset, len)
            .map_err(|e| match e {
                MoveError::Handle => err::INVALID_SOURCE_HANDLE,
                MoveError::Length => err::INVALID_LENGTH,
            })?;
        if len == 0 || src == dst {
            return Ok(());
        }
        if src < dst && u64::from(src) + u64::from(len) > u64::from(dst) {
            return Err(err::INVALID_OVERLAP);
        }
        let side = |handle: u16, a: u32| {
            if handle == 0 {
                Side::Linear(a)
            } else {
                Side::Physical(a)
            }
        };
        copy(ctx, side(src_handle, src), side(dst_handle, dst), len);
        Ok(())
    }

    // ----- Int 15h hook -----------------------------------------------------------------

    fn int15(&mut self, ctx: &mut Ctx) {
        match ctx.ah() {
            0x88 => {
                ctx.set_ax(0);
                ctx.set_cf(false);
            }
            0x87 => {
                let was = ctx.a20();
                let status = bios::block_move(ctx);
                ctx.set_ah(status);
                ctx.set_cf(status != 0);
                if status == 0 {
                    ctx.set_zf(true);
                }
                ctx.set_a20(was);
            }
            _ => {
                let (seg, off) = self.old_int15;
                ctx.jump(seg, off);
            }
        }
    }
}

/// One side of a copy: an extended memory block's physical address, or a conventional
/// memory address as the caller sees it (linear: through the page tables of a V86 monitor,
/// as EMM386 translates the moves it takes over).
#[derive(Clone, Copy)]
enum Side {
    Physical(u32),
    Linear(u32),
}

/// Copies `len` bytes from `src` to `dst`, front to back in chunks (a downward overlapping
/// copy stays correct; upward overlap was rejected).
fn copy(ctx: &mut Ctx, src: Side, dst: Side, len: u32) {
    let mut done = 0u32;
    while done < len {
        let n = (len - done).min(COPY_CHUNK);
        let data = match src {
            Side::Physical(a) => ctx.bus.mem.read_bytes(a.wrapping_add(done), n as usize),
            Side::Linear(a) => ctx.read_linear_bytes(a.wrapping_add(done), n as usize),
        };
        match dst {
            Side::Physical(a) => ctx.bus.mem.write_bytes(a.wrapping_add(done), &data),
            Side::Linear(a) => ctx.write_linear_bytes(a.wrapping_add(done), &data),
        }
        done += n;
    }
}

#[cfg(test)]
mod tests {
    //! Expected values come from the XMS 3.0 spec and dos-memory.md section 1 (error codes,
    //! function outputs), from the pool definition (RAM from 110000h, i.e. KB 1088, to the
    //! top of RAM) and from the HimemX algorithms the module notes adopt.

    use super::*;
    use crate::cpu::{Reg16, SegReg};
    use crate::firmware::dos::DriveC;
    use crate::firmware::{Firmware, FirmwareConfig, linear};
    use crate::machine::{Machine, MachineConfig, Stop};

    /// KB of extended memory in the pool of a 16 MB machine: 16384 - 1088.
    const POOL_16M: u32 = 16384 - 1088;
    /// A recognisable "BIOS" Int 15h vector placed before install.
    const OLD_INT15: (u16, u16) = (0xF000, 0xF859);
    /// Where the tests put the move structure and their buffers.
    const STRUCT_SEG: u16 = 0x2000;
    const BUF_SEG: u16 = 0x3000;
    const BUF2_SEG: u16 = 0x4000;

    fn machine_with(config: MachineConfig, xms: XmsConfig) -> Machine {
        let fw = FirmwareConfig {
            xms: Some(xms),
            ..FirmwareConfig::default()
        };
        let mut m =
            Machine::with_firmware(config, Firmware::new(fw, DriveC::default(), vec![])).unwrap();
        m.with_service_context(|fw, ctx| {
            ctx.set_vector(0x15, OLD_INT15.0, OLD_INT15.1);
            ctx.set_a20(false); // as the BIOS POST leaves it
            fw.unwrap().xms.as_mut().unwrap().install(ctx);
        });
        m
    }

    fn machine() -> Machine {
        machine_with(MachineConfig::default(), XmsConfig::default())
    }

    fn machine_ram(ram: u32) -> Machine {
        machine_with(
            MachineConfig {
                ram,
                ..MachineConfig::default()
            },
            XmsConfig::default(),
        )
    }

    fn with<R>(m: &mut Machine, f: impl FnOnce(&mut Xms, &mut Ctx) -> R) -> R {
        m.with_service_context(|fw, ctx| f(fw.unwrap().xms.as_mut().unwrap(), ctx))
    }

    /// Registers after a driver call.
    #[derive(Clone, Copy, Debug)]
    struct Out {
        ax: u16,
        bx: u16,
        cx: u16,
        dx: u16,
        eax: u32,
        ecx: u32,
        edx: u32,
    }

    impl Out {
        fn bl(self) -> u8 {
            self.bx as u8
        }
        fn bh(self) -> u8 {
            (self.bx >> 8) as u8
        }
    }

    fn regs(ctx: &Ctx) -> Out {
        Out {
            ax: ctx.ax(),
            bx: ctx.bx(),
            cx: ctx.cx(),
            dx: ctx.dx(),
            eax: ctx.eax(),
            ecx: ctx.cpu.reg32(crate::cpu::Reg32::ECX),
            edx: ctx.edx(),
        }
    }

    /// Calls the driver entry with AH = `function`, BX, DX (and EBX/EDX high words 0).
    fn call(m: &mut Machine, function: u8, bx: u16, dx: u16) -> Out {
        call32(m, function, u32::from(bx), u32::from(dx))
    }

    fn call32(m: &mut Machine, function: u8, ebx: u32, edx: u32) -> Out {
        with(m, |x, ctx| {
            ctx.set_eax(u32::from(function) << 8);
            ctx.set_ebx(ebx);
            ctx.set_ecx(0);
            ctx.set_edx(edx);
            x.service(svc::XMS, ctx);
            regs(ctx)
        })
    }

    #[track_caller]
    fn ok(out: Out) -> Out {
        assert_eq!(out.ax, 1, "expected success: {out:x?}");
        out
    }

    #[track_caller]
    fn fails(out: Out, code: u8) {
        assert_eq!(
            (out.ax, out.bl()),
            (0, code),
            "expected AX=0 BL={code:02X}h: {out:x?}"
        );
    }

    fn alloc(m: &mut Machine, kb: u16) -> u16 {
        ok(call(m, 0x09, 0, kb)).dx
    }

    /// 0Bh with the structure at 2000:0000; BX is 5555h on entry.
    fn mv(m: &mut Machine, len: u32, src: (u16, u32), dst: (u16, u32)) -> Out {
        with(m, |x, ctx| {
            ctx.wr32(STRUCT_SEG, 0x00, len);
            ctx.wr16(STRUCT_SEG, 0x04, src.0);
            ctx.wr32(STRUCT_SEG, 0x06, src.1);
            ctx.wr16(STRUCT_SEG, 0x0A, dst.0);
            ctx.wr32(STRUCT_SEG, 0x0C, dst.1);
            ctx.set_ds(STRUCT_SEG);
            ctx.set_si(0);
            ctx.set_ax(0x0B00);
            ctx.set_bx(0x5555);
            x.service(svc::XMS, ctx);
            regs(ctx)
        })
    }

    /// A handle-0 address: segment in the high word, offset in the low word.
    fn conv(seg: u16, off: u16) -> (u16, u32) {
        (0, u32::from(seg) << 16 | u32::from(off))
    }

    fn a20(m: &mut Machine) -> bool {
        m.with_service_context(|_, ctx| ctx.a20())
    }

    fn set_a20(m: &mut Machine, on: bool) {
        m.with_service_context(|_, ctx| ctx.set_a20(on));
    }

    fn phys(m: &mut Machine, addr: u32, len: usize) -> Vec<u8> {
        m.with_service_context(|_, ctx| {
            let was = ctx.a20();
            ctx.set_a20(true);
            let v = ctx.bus.mem.read_bytes(addr, len);
            ctx.set_a20(was);
            v
        })
    }

    fn write_conv(m: &mut Machine, seg: u16, bytes: &[u8]) {
        m.with_service_context(|_, ctx| ctx.write_bytes(seg, 0, bytes));
    }

    /// The 4309h table as the guest sees it: (flag, locks, base KB, size KB) per entry.
    fn table(m: &mut Machine) -> Vec<(u8, u8, u32, u32)> {
        m.with_service_context(|_, ctx| {
            let count = ctx.rd16(XMS_SEG, TABLE_OFF + 2);
            let seg = ctx.rd16(XMS_SEG, TABLE_OFF + 6);
            let off = ctx.rd16(XMS_SEG, TABLE_OFF + 4);
            (0..count)
                .map(|i| {
                    let e = off + i * ENTRY_BYTES;
                    (
                        ctx.rd8(seg, e),
                        ctx.rd8(seg, e + 1),
                        ctx.rd32(seg, e + 2),
                        ctx.rd32(seg, e + 6),
                    )
                })
                .collect()
        })
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    // ----- installation and detection ----------------------------------------------------

    #[test]
    fn install_places_the_hookable_entry_the_int15_hook_and_the_table() {
        let mut m = machine();
        let (entry, hook, vector, old) = with(&mut m, |x, ctx| {
            (
                ctx.read_bytes(XMS_SEG, ENTRY_OFF, 10),
                ctx.read_bytes(XMS_SEG, INT15_OFF, 5),
                ctx.vector(0x15),
                x.old_int15,
            )
        });
        // EB 03 90 90 90, then the trap FE 38 + service 0300h, then RETF.
        assert_eq!(
            entry,
            [0xEB, 0x03, 0x90, 0x90, 0x90, 0xFE, 0x38, 0x00, 0x03, 0xCB]
        );
        assert_eq!(hook, [0xFE, 0x38, 0x01, 0x03, 0xCF]);
        assert_eq!(vector, (XMS_SEG, INT15_OFF));
        assert_eq!(old, OLD_INT15);
        let header = m.with_service_context(|_, ctx| ctx.read_bytes(XMS_SEG, TABLE_OFF, 8));
        assert_eq!(header, [0x01, 0x0A, 32, 0, 0x28, 0x00, 0xB0, 0x00]);
        let t = table(&mut m);
        assert_eq!(t.len(), 32);
        assert_eq!(t[0], (0x01, 0, 1088, POOL_16M));
        assert!(t[1..].iter().all(|&e| e == (0x04, 0, 0, 0)));
    }

    #[test]
    fn handle_count_is_corrected_to_1_through_128() {
        for (asked, got) in [(0u16, 1u16), (500, 128), (48, 48)] {
            let mut m = machine_with(
                MachineConfig::default(),
                XmsConfig {
                    handles: asked,
                    hma_min_kb: 0,
                },
            );
            assert_eq!(table(&mut m).len(), usize::from(got));
        }
    }

    #[test]
    fn int2f_answers_4300_4309_4310_only() {
        let mut m = machine();
        let r = with(&mut m, |x, ctx| {
            let mut out = Vec::new();
            for ax in [0x4300u16, 0x4309, 0x4310, 0x4308, 0x4311, 0x4400] {
                ctx.set_ax(ax);
                ctx.set_bx(0);
                ctx.set_es(0);
                let mine = x.int2f(ctx);
                out.push((mine, ctx.al(), ctx.es(), ctx.bx()));
            }
            out
        });
        assert_eq!(r[0], (true, 0x80, 0, 0));
        assert_eq!(r[1], (true, 0x43, XMS_SEG, TABLE_OFF));
        assert_eq!(r[2], (true, 0x10, XMS_SEG, ENTRY_OFF));
        assert!(!r[3].0 && !r[4].0 && !r[5].0);
    }

    #[test]
    fn an_8086_gets_no_driver() {
        let mut m = machine_with(
            MachineConfig {
                model: Model::I8086,
                ram: 0xA_0000,
                ..MachineConfig::default()
            },
            XmsConfig::default(),
        );
        let (mine, vector) = with(&mut m, |x, ctx| {
            ctx.set_ax(0x4300);
            (x.int2f(ctx), ctx.vector(0x15))
        });
        assert!(!mine);
        assert_eq!(vector, OLD_INT15);
    }

    #[test]
    fn the_entry_runs_through_the_cpu_and_can_be_hooked() {
        let mut m = machine();
        // 0000:0600: MOV AH,0; CALL FAR 00B0:0000; OUT F4h,AL (the exit port stops the run).
        // The guest hook at 0000:0700: EB 03 90 90 90; INC BYTE [0800h]; JMP FAR 00B0:0005.
        m.with_service_context(|_, ctx| {
            ctx.write_bytes(
                0,
                0x600,
                &[0xB4, 0x00, 0x9A, 0x00, 0x00, 0xB0, 0x00, 0xE6, 0xF4],
            );
            ctx.write_bytes(
                0,
                0x700,
                &[
                    0xEB, 0x03, 0x90, 0x90, 0x90, 0xFE, 0x06, 0x00, 0x08, 0xEA, 0x05, 0x00, 0xB0,
                    0x00,
                ],
            );
            ctx.wr8(0, 0x800, 0);
        });
        let run = |m: &mut Machine| {
            m.with_service_context(|_, ctx| {
                ctx.cpu.set_sreg(SegReg::SS, 0);
                ctx.cpu.set_reg16(Reg16::SP, 0x7000);
                ctx.set_ds(0);
                ctx.set_ax(0xFFFF);
                ctx.jump(0, 0x600);
            });
            let deadline = m.now() + 10_000;
            assert_eq!(m.run_until(deadline), Stop::ExitPort(0x00));
            m.with_service_context(|_, ctx| (ctx.ax(), ctx.rd8(0, 0x800)))
        };
        assert_eq!(run(&mut m), (XMS_VERSION, 0));
        // Hook the documented way: the short jump becomes JMP FAR to the hook.
        m.with_service_context(|_, ctx| {
            ctx.write_bytes(XMS_SEG, ENTRY_OFF, &[0xEA, 0x00, 0x07, 0x00, 0x00])
        });
        assert_eq!(run(&mut m), (XMS_VERSION, 1));
    }

    // ----- 00h, HMA --------------------------------------------------------------------

    #[test]
    fn version_is_3_00_with_the_hma() {
        let mut m = machine();
        let r = call(&mut m, 0x00, 0, 0);
        assert_eq!((r.ax, r.bx, r.dx), (0x0300, DRIVER_REVISION, 1));
    }

    #[test]
    fn without_ram_above_1_mb_there_is_no_hma_and_no_memory() {
        let mut m = machine_ram(0x10_0000);
        assert_eq!(call(&mut m, 0x00, 0, 0).dx, 0);
        fails(call(&mut m, 0x01, 0, 0xFFFF), err::HMA_NOT_EXIST);
        fails(call(&mut m, 0x02, 0, 0), err::HMA_NOT_EXIST);
        let r = call(&mut m, 0x08, 0, 0);
        assert_eq!((r.ax, r.dx, r.bl()), (0, 0, err::ALL_MEMORY_ALLOCATED));
        fails(call(&mut m, 0x09, 0, 1), err::ALL_MEMORY_ALLOCATED);
        // 88h: ECX is still 10FFFFh (HimemX's floor).
        let r = call(&mut m, 0x88, 0, 0);
        assert_eq!(r.ecx, 0x10_FFFF);
    }

    #[test]
    fn hma_request_checks_in_use_before_hmamin() {
        let mut m = machine_with(
            MachineConfig::default(),
            XmsConfig {
                handles: 32,
                hma_min_kb: 16,
            },
        );
        fails(call(&mut m, 0x02, 0, 0), err::HMA_NOT_ALLOCATED);
        fails(call(&mut m, 0x01, 0, 1000), err::HMA_TOO_SMALL);
        fails(call(&mut m, 0x01, 0, 16 * 1024 - 1), err::HMA_TOO_SMALL);
        // DX >= HMAMIN succeeds; BL is left alone on success.
        let r = ok(call(&mut m, 0x01, 0x5555, 16 * 1024));
        assert_eq!(r.bx, 0x5555);
        fails(call(&mut m, 0x01, 0, 0xFFFF), err::HMA_IN_USE);
        fails(call(&mut m, 0x01, 0, 0), err::HMA_IN_USE);
        ok(call(&mut m, 0x02, 0, 0));
        fails(call(&mut m, 0x02, 0, 0), err::HMA_NOT_ALLOCATED);
        ok(call(&mut m, 0x01, 0, 0xFFFF));
        // The HMA is never counted as free extended memory.
        assert_eq!(call(&mut m, 0x08, 0, 0).dx as u32, POOL_16M);
    }

    #[test]
    fn hmamin_above_63_counts_as_63_and_ffff_always_passes() {
        let mut m = machine_with(
            MachineConfig::default(),
            XmsConfig {
                handles: 32,
                hma_min_kb: 100,
            },
        );
        fails(call(&mut m, 0x01, 0, 63 * 1024 - 1), err::HMA_TOO_SMALL);
        ok(call(&mut m, 0x01, 0, 63 * 1024));
        ok(call(&mut m, 0x02, 0, 0));
        ok(call(&mut m, 0x01, 0, 0xFFFF));
    }

    // ----- A20 -----------------------------------------------------------------------

    #[test]
    fn a20_follows_the_local_global_counting_of_section_1_7() {
        let mut m = machine();
        let query = |m: &mut Machine| {
            let r = call(m, 0x07, 0x5555, 0);
            assert_eq!(r.bl(), 0, "07h sets BL=00h");
            r.ax
        };
        assert_eq!(query(&mut m), 0);
        // 06h at count 0: 82h.
        fails(call(&mut m, 0x06, 0, 0), err::A20_ERROR);
        // Two local enables, one disable: 94h and A20 stays on; the second switches off.
        ok(call(&mut m, 0x05, 0, 0));
        assert!(a20(&mut m));
        ok(call(&mut m, 0x05, 0, 0));
        fails(call(&mut m, 0x06, 0, 0), err::A20_STILL_ENABLED);
        assert!(a20(&mut m));
        ok(call(&mut m, 0x06, 0, 0));
        assert!(!a20(&mut m));
        assert_eq!(query(&mut m), 0);
        // Global enable, then a local one: 04h fails with 94h while the local is out.
        ok(call(&mut m, 0x03, 0, 0));
        assert_eq!(query(&mut m), 1);
        ok(call(&mut m, 0x05, 0, 0));
        fails(call(&mut m, 0x04, 0, 0), err::A20_STILL_ENABLED);
        assert!(a20(&mut m));
        // 06h brings the count to 0 but the global flag holds A20 on: 94h.
        fails(call(&mut m, 0x06, 0, 0), err::A20_STILL_ENABLED);
        assert!(a20(&mut m));
        // Count is 0 now: another 06h is 82h; 04h succeeds and switches off.
        fails(call(&mut m, 0x06, 0, 0), err::A20_ERROR);
        ok(call(&mut m, 0x04, 0, 0));
        assert!(!a20(&mut m));
        // 04h with nothing outstanding still succeeds (A20 off).
        ok(call(&mut m, 0x04, 0, 0));
        assert_eq!(query(&mut m), 0);
        // 07h reports the physical gate, whoever switched it.
        set_a20(&mut m, true);
        assert_eq!(query(&mut m), 1);
    }

    // ----- free memory ---------------------------------------------------------------

    #[test]
    fn query_free_reports_the_pool_in_kb() {
        let mut m = machine();
        let r = call(&mut m, 0x08, 0x5555, 0);
        assert_eq!((r.ax, r.dx, r.bl()), (POOL_16M as u16, POOL_16M as u16, 0));
        let r = call(&mut m, 0x88, 0x5555, 0);
        assert_eq!(
            (r.eax, r.edx, r.ecx, r.bl()),
            (POOL_16M, POOL_16M, 0xFF_FFFF, 0)
        );
        // Everything allocated: A0h, sizes 0, ECX still valid.
        alloc(&mut m, POOL_16M as u16);
        let r = call(&mut m, 0x08, 0, 0);
        assert_eq!((r.ax, r.dx, r.bl()), (0, 0, err::ALL_MEMORY_ALLOCATED));
        let r = call(&mut m, 0x88, 0, 0);
        assert_eq!((r.eax, r.edx, r.ecx, r.bl()), (0, 0, 0xFF_FFFF, 0xA0));
    }

    #[test]
    fn sizes_above_64_mb_are_clamped_in_the_16_bit_functions() {
        let mut m = machine_ram(72 << 20);
        let pool = 72 * 1024 - 1088;
        let r = call(&mut m, 0x08, 0, 0);
        assert_eq!((r.ax, r.dx, r.bl()), (0xFFFF, 0xFFFF, 0));
        let r = call(&mut m, 0x88, 0, 0);
        assert_eq!((r.eax, r.edx, r.ecx), (pool, pool, (72 << 20) - 1));
        // 89h takes all of EDX; 0Eh clamps the size, 8Eh does not.
        let h = ok(call32(&mut m, 0x89, 0, pool)).dx;
        assert_eq!(ok(call(&mut m, 0x0E, 0, h)).dx, 0xFFFF);
        assert_eq!(ok(call(&mut m, 0x8E, 0, h)).edx, pool);
    }

    // ----- allocation, free, handles -----------------------------------------------------

    #[test]
    fn allocation_is_first_fit_and_free_merges_neighbours() {
        let mut m = machine();
        let a = alloc(&mut m, 100);
        let b = alloc(&mut m, 200);
        let c = alloc(&mut m, 300);
        // Handles are offsets of table entries: never 0, 10 apart, not 1, 2, 3.
        assert_eq!([a, b, c], [ENTRIES_OFF, ENTRIES_OFF + 10, ENTRIES_OFF + 20]);
        let free = |m: &mut Machine| {
            let r = call(m, 0x08, 0, 0);
            (r.ax as u32, r.dx as u32)
        };
        assert_eq!(free(&mut m), (POOL_16M - 600, POOL_16M - 600));
        ok(call(&mut m, 0x0A, 0, a));
        assert_eq!(free(&mut m), (POOL_16M - 600, POOL_16M - 500));
        ok(call(&mut m, 0x0A, 0, c));
        assert_eq!(free(&mut m), (POOL_16M - 300, POOL_16M - 200));
        ok(call(&mut m, 0x0A, 0, b));
        assert_eq!(free(&mut m), (POOL_16M, POOL_16M));
        let t = table(&mut m);
        let free_entries: Vec<_> = t.iter().filter(|e| e.0 == 0x01).collect();
        assert_eq!(free_entries, [&(0x01, 0, 1088, POOL_16M)]);
        assert_eq!(t.iter().filter(|e| e.0 == 0x04).count(), 31);
        // The freed handle is invalid now.
        fails(call(&mut m, 0x0A, 0, a), err::INVALID_HANDLE);
    }

    #[test]
    fn invalid_handles_give_a2h() {
        let mut m = machine();
        let h = alloc(&mut m, 1);
        let free_slot = h + ENTRY_BYTES; // holds the rest of the pool (flag 01h)
        let unused_slot = ENTRIES_OFF + 31 * ENTRY_BYTES;
        let past_end = ENTRIES_OFF + 32 * ENTRY_BYTES;
        for bad in [0, h + 1, free_slot, unused_slot, past_end, 0xFFFF, 0x0001] {
            fails(call(&mut m, 0x0A, 0, bad), err::INVALID_HANDLE);
            fails(call(&mut m, 0x0C, 0, bad), err::INVALID_HANDLE);
            fails(call(&mut m, 0x0D, 0, bad), err::INVALID_HANDLE);
            fails(call(&mut m, 0x0E, 0, bad), err::INVALID_HANDLE);
            fails(call(&mut m, 0x0F, 1, bad), err::INVALID_HANDLE);
            fails(call(&mut m, 0x8E, 0, bad), err::INVALID_HANDLE);
            fails(call(&mut m, 0x8F, 1, bad), err::INVALID_HANDLE);
        }
    }

    #[test]
    fn failed_allocations_give_a0h_and_dx_0() {
        let mut m = machine();
        let r = call(&mut m, 0x09, 0, POOL_16M as u16 + 1);
        fails(r, err::ALL_MEMORY_ALLOCATED);
        assert_eq!(r.dx, 0);
        // 89h reads all of EDX: 10005h KB does not fit where 5 KB would.
        fails(call32(&mut m, 0x89, 0, 0x1_0005), err::ALL_MEMORY_ALLOCATED);
        let h = ok(call32(&mut m, 0x89, 0, 5)).dx;
        assert_eq!(ok(call(&mut m, 0x0E, 0, h)).dx, 5);
    }

    #[test]
    fn handles_run_out_with_a1h_and_the_last_block_is_handed_out_whole() {
        let mut m = machine();
        // Slot 0 holds the free pool; the other 31 slots take 0-KB blocks.
        let handles: Vec<u16> = (0..31).map(|_| alloc(&mut m, 0)).collect();
        assert!(handles.iter().all(|&h| h != 0));
        let r = call(&mut m, 0x09, 0, 0);
        fails(r, err::ALL_HANDLES_IN_USE);
        assert_eq!(r.dx, 0);
        let info = ok(call(&mut m, 0x0E, 0, handles[0]));
        assert_eq!((info.bl(), info.dx), (0, 0));
        // A 0-KB block takes no memory.
        assert_eq!(call(&mut m, 0x08, 0, 0).dx as u32, POOL_16M);
        // No slot left to split the free block: a 1-KB request gets all of it (HimemX).
        let h = alloc(&mut m, 1);
        assert_eq!(ok(call(&mut m, 0x0E, 0, h)).dx as u32, POOL_16M);
        fails(call(&mut m, 0x08, 0, 0), err::ALL_MEMORY_ALLOCATED);
    }

    #[test]
    fn zero_kb_blocks_lock_free_and_grow() {
        let mut m = machine();
        let h = alloc(&mut m, 0);
        let r = ok(call(&mut m, 0x0C, 0, h));
        assert_eq!(u32::from(r.dx) << 16 | u32::from(r.bx), 0x11_0000);
        ok(call(&mut m, 0x0D, 0, h));
        ok(call(&mut m, 0x0F, 8, h));
        assert_eq!(ok(call(&mut m, 0x0E, 0, h)).dx, 8);
        ok(call(&mut m, 0x0F, 0, h));
        ok(call(&mut m, 0x0A, 0, h));
        assert_eq!(call(&mut m, 0x08, 0, 0).ax as u32, POOL_16M);
    }

    // ----- locks and handle information ----------------------------------------------

    #[test]
    fn lock_count_is_8_bit_with_ach_abh_aah() {
        let mut m = machine();
        let h = alloc(&mut m, 4);
        // The first block starts at the pool base, 110000h.
        let r = ok(call(&mut m, 0x0C, 0, h));
        assert_eq!((r.dx, r.bx), (0x0011, 0x0000));
        for _ in 1..255 {
            ok(call(&mut m, 0x0C, 0, h));
        }
        assert_eq!(ok(call(&mut m, 0x0E, 0, h)).bh(), 255);
        // The 256th lock overflows: ACh, count unchanged.
        fails(call(&mut m, 0x0C, 0, h), err::LOCK_OVERFLOW);
        assert_eq!(ok(call(&mut m, 0x0E, 0, h)).bh(), 255);
        assert_eq!(table(&mut m)[0], (0x02, 255, 1088, 4));
        // Locked blocks cannot be freed or reallocated.
        fails(call(&mut m, 0x0A, 0, h), err::LOCKED);
        fails(call(&mut m, 0x0F, 8, h), err::LOCKED);
        fails(call(&mut m, 0x0F, 2, h), err::LOCKED);
        fails(call32(&mut m, 0x8F, 8, u32::from(h)), err::LOCKED);
        for _ in 0..255 {
            ok(call(&mut m, 0x0D, 0, h));
        }
        fails(call(&mut m, 0x0D, 0, h), err::NOT_LOCKED);
        ok(call(&mut m, 0x0A, 0, h));
    }

    #[test]
    fn handle_info_0e_and_8e() {
        let mut m = machine();
        let h = alloc(&mut m, 5);
        ok(call(&mut m, 0x0C, 0, h));
        ok(call(&mut m, 0x0C, 0, h));
        // 32 slots: one holds the block, one the free rest, 30 are unused.
        let r = ok(call(&mut m, 0x0E, 0, h));
        assert_eq!((r.bh(), r.bl(), r.dx), (2, 30, 5));
        let r = with(&mut m, |x, ctx| {
            ctx.set_ax(0x8E00);
            ctx.set_bx(0x0055);
            ctx.set_edx(u32::from(h));
            x.service(svc::XMS, ctx);
            regs(ctx)
        });
        assert_eq!((r.ax, r.bh(), r.bl(), r.cx, r.edx), (1, 2, 0x55, 30, 5));
    }

    #[test]
    fn handle_table_stays_coherent() {
        let mut m = machine();
        let a = alloc(&mut m, 10);
        let b = alloc(&mut m, 20);
        ok(call(&mut m, 0x0C, 0, b));
        let t = table(&mut m);
        assert_eq!(
            t[..3],
            [
                (0x02, 0, 1088, 10),
                (0x02, 1, 1098, 20),
                (0x01, 0, 1118, POOL_16M - 30)
            ]
        );
        ok(call(&mut m, 0x0A, 0, a));
        let t = table(&mut m);
        assert_eq!(t[0], (0x01, 0, 1088, 10));
        ok(call(&mut m, 0x0D, 0, b));
        ok(call(&mut m, 0x0A, 0, b));
        let t = table(&mut m);
        assert_eq!(t[0], (0x01, 0, 1088, POOL_16M));
        assert!(t[1..].iter().all(|&e| e == (0x04, 0, 0, 0)));
    }

    // ----- reallocation ---------------------------------------------------------------

    fn lock_address(m: &mut Machine, h: u16) -> u32 {
        let r = ok(call(m, 0x0C, 0, h));
        ok(call(m, 0x0D, 0, h));
        u32::from(r.dx) << 16 | u32::from(r.bx)
    }

    #[test]
    fn reallocation_moves_or_grows_in_place_keeping_the_data() {
        let mut m = machine();
        let a = alloc(&mut m, 1);
        let b = alloc(&mut m, 1);
        let data = pattern(1024, 7);
        write_conv(&mut m, BUF_SEG, &data);
        ok(mv(&mut m, 1024, conv(BUF_SEG, 0), (a, 0)));
        assert_eq!(lock_address(&mut m, a), 0x11_0000);
        // B follows A: growing to 4 KB moves A to the first free block, KB 1090.
        ok(call(&mut m, 0x0F, 4, a));
        assert_eq!(lock_address(&mut m, a), 1090 * 1024);
        assert_eq!(ok(call(&mut m, 0x0E, 0, a)).dx, 4);
        ok(mv(&mut m, 1024, (a, 0), conv(BUF2_SEG, 0)));
        assert_eq!(
            m.with_service_context(|_, ctx| ctx.read_bytes(BUF2_SEG, 0, 1024)),
            data
        );
        // The old 1 KB at KB 1088 is free again.
        let r = call(&mut m, 0x08, 0, 0);
        assert_eq!((r.ax as u32, r.dx as u32), (POOL_16M - 6, POOL_16M - 5));
        // A is followed by free memory: growing to 8 KB stays in place.
        ok(call(&mut m, 0x0F, 8, a));
        assert_eq!(lock_address(&mut m, a), 1090 * 1024);
        assert_eq!(phys(&mut m, 1090 * 1024, 1024), data);
        // Shrinking keeps the base and frees the rest, which merges with the tail.
        ok(call(&mut m, 0x0F, 2, a));
        assert_eq!(ok(call(&mut m, 0x0E, 0, a)).dx, 2);
        let r = call(&mut m, 0x08, 0, 0);
        assert_eq!((r.ax as u32, r.dx as u32), (POOL_16M - 4, POOL_16M - 3));
        ok(call(&mut m, 0x0A, 0, b));
        ok(call(&mut m, 0x0F, 0, a));
        assert_eq!(ok(call(&mut m, 0x0E, 0, a)).dx, 0);
        // 8Fh takes all of EBX.
        fails(
            call32(&mut m, 0x8F, 0x1_0002, u32::from(a)),
            err::ALL_MEMORY_ALLOCATED,
        );
        ok(call32(&mut m, 0x8F, 3, u32::from(a)));
        assert_eq!(ok(call(&mut m, 0x8E, 0, a)).edx, 3);
    }

    #[test]
    fn shrinking_without_a_spare_slot_gives_a1h_and_changes_nothing() {
        let mut m = machine_with(
            MachineConfig::default(),
            XmsConfig {
                handles: 2,
                hma_min_kb: 0,
            },
        );
        let a = alloc(&mut m, 10); // slot 0; the rest of the pool moves to slot 1
        fails(call(&mut m, 0x0F, 5, a), err::ALL_HANDLES_IN_USE);
        assert_eq!(ok(call(&mut m, 0x0E, 0, a)).dx, 10);
        // Growing in place needs no slot.
        ok(call(&mut m, 0x0F, 20, a));
        assert_eq!(ok(call(&mut m, 0x0E, 0, a)).dx, 20);
    }

    // ----- move ---------------------------------------------------------------------

    #[test]
    fn move_validation_follows_himemx() {
        let mut m = machine();
        let h = alloc(&mut m, 1);
        let bad = 0x1234;
        fails(mv(&mut m, 3, (h, 0), (h, 100)), err::INVALID_LENGTH);
        // Odd length is checked before the handles.
        fails(mv(&mut m, 3, (bad, 0), (bad, 0)), err::INVALID_LENGTH);
        fails(mv(&mut m, 2, (bad, 0), (h, 0)), err::INVALID_SOURCE_HANDLE);
        fails(mv(&mut m, 2, (h, 0), (bad, 0)), err::INVALID_DEST_HANDLE);
        // The destination is checked first.
        fails(mv(&mut m, 2, (bad, 0), (bad, 0)), err::INVALID_DEST_HANDLE);
        // Offsets past the block: A7h, not A4h/A6h (HimemX).
        fails(
            mv(&mut m, 2, (h, 2048), conv(BUF_SEG, 0)),
            err::INVALID_LENGTH,
        );
        fails(
            mv(&mut m, 2, conv(BUF_SEG, 0), (h, 2048)),
            err::INVALID_LENGTH,
        );
        fails(
            mv(&mut m, 0, conv(BUF_SEG, 0), (h, 1026)),
            err::INVALID_LENGTH,
        );
        // Offset + length past the block.
        fails(
            mv(&mut m, 26, conv(BUF_SEG, 0), (h, 1000)),
            err::INVALID_LENGTH,
        );
        ok(mv(&mut m, 24, conv(BUF_SEG, 0), (h, 1000)));
        fails(
            mv(&mut m, 0xFFFF_FFFE, conv(BUF_SEG, 0), (h, 0)),
            err::INVALID_LENGTH,
        );
        // Handle 0: the linear end may reach 10FFF0h, not pass it.
        ok(mv(&mut m, 0xFFE0, conv(0xFFFF, 0x0010), conv(0x1000, 0)));
        ok(mv(&mut m, 0xFFF0, conv(0xFFFF, 0x0010), conv(0x1000, 0)));
        fails(
            mv(&mut m, 0xFFF2, conv(0xFFFF, 0x0010), conv(0x1000, 0)),
            err::INVALID_LENGTH,
        );
        ok(mv(&mut m, 2, conv(0xFFFF, 0xFFFE), conv(BUF_SEG, 0)));
        fails(
            mv(&mut m, 4, conv(BUF_SEG, 0), conv(0xFFFF, 0xFFFE)),
            err::INVALID_LENGTH,
        );
        // Upward overlap in the same memory: A8h.
        fails(mv(&mut m, 4, (h, 0), (h, 2)), err::INVALID_OVERLAP);
        fails(
            mv(&mut m, 4, conv(BUF_SEG, 0), conv(BUF_SEG, 2)),
            err::INVALID_OVERLAP,
        );
        // Length 0 and source = destination succeed; BL is left alone on success.
        assert_eq!(ok(mv(&mut m, 0, (h, 0), (h, 2))).bx, 0x5555);
        assert_eq!(ok(mv(&mut m, 8, (h, 0), (h, 0))).bx, 0x5555);
    }

    #[test]
    fn downward_overlapping_moves_copy_correctly() {
        let mut m = machine();
        let h = alloc(&mut m, 1);
        write_conv(&mut m, BUF_SEG, &[1, 2, 3, 4, 5, 6, 7, 8]);
        ok(mv(&mut m, 8, conv(BUF_SEG, 0), (h, 0)));
        ok(mv(&mut m, 6, (h, 2), (h, 0)));
        assert_eq!(phys(&mut m, 0x11_0000, 8), [3, 4, 5, 6, 7, 8, 7, 8]);
    }

    #[test]
    fn moves_reach_the_hma_and_restore_the_callers_a20() {
        let mut m = machine();
        let ivt = phys(&mut m, 0, 16);
        write_conv(&mut m, BUF_SEG, &[0xDE, 0xAD, 0xBE, 0xEF]);
        assert!(!a20(&mut m));
        ok(mv(&mut m, 4, conv(BUF_SEG, 0), conv(0xFFFF, 0x0010)));
        assert!(!a20(&mut m), "A20 off before, off after");
        assert_eq!(phys(&mut m, 0x10_0000, 4), [0xDE, 0xAD, 0xBE, 0xEF]);
        assert_eq!(phys(&mut m, 0, 16), ivt, "no wrap to 0000:0000");
        set_a20(&mut m, true);
        let h = alloc(&mut m, 1);
        ok(mv(&mut m, 4, conv(0xFFFF, 0x0010), (h, 0)));
        assert!(a20(&mut m), "A20 on before, on after");
        assert_eq!(phys(&mut m, 0x11_0000, 4), [0xDE, 0xAD, 0xBE, 0xEF]);
        // A failed move restores A20 too.
        set_a20(&mut m, false);
        fails(mv(&mut m, 3, (h, 0), (h, 0)), err::INVALID_LENGTH);
        assert!(!a20(&mut m));
    }

    // ----- UMBs, unknown functions, 286 ------------------------------------------------

    #[test]
    fn there_are_no_umbs() {
        let mut m = machine();
        let r = call(&mut m, 0x10, 0, 100);
        fails(r, err::NO_UMB);
        assert_eq!(r.dx, 0, "largest available UMB");
        fails(call(&mut m, 0x11, 0, 0xD000), err::INVALID_UMB);
        fails(call(&mut m, 0x12, 10, 0xD000), err::INVALID_UMB);
    }

    #[test]
    fn unknown_functions_give_80h() {
        let mut m = machine();
        for f in [0x13u8, 0x20, 0x87, 0x8A, 0x90, 0xC8, 0xFF] {
            fails(call(&mut m, f, 0, 0), err::NOT_IMPLEMENTED);
        }
    }

    #[test]
    fn the_8x_functions_need_a_386() {
        let mut m = machine_with(
            MachineConfig {
                model: Model::I80286,
                ..MachineConfig::default()
            },
            XmsConfig::default(),
        );
        for f in [0x88u8, 0x89, 0x8E, 0x8F] {
            fails(call(&mut m, f, 0, 0), err::NOT_IMPLEMENTED);
        }
        assert_eq!(call(&mut m, 0x08, 0, 0).dx as u32, POOL_16M);
        alloc(&mut m, 1);
    }

    // ----- Int 15h hook ---------------------------------------------------------------

    /// Calls the hook as `INT 15h` would: an IP/CS/FLAGS frame at 5000:0100 with CF set.
    fn int15(m: &mut Machine, setup: impl FnOnce(&mut Ctx)) -> (Out, u16, (u16, u16), u16) {
        with(m, |x, ctx| {
            ctx.cpu.set_sreg(SegReg::SS, 0x5000);
            ctx.cpu.set_reg16(Reg16::SP, 0x0100);
            ctx.wr16(0x5000, 0x100, 0x1234);
            ctx.wr16(0x5000, 0x102, 0x0700);
            ctx.wr16(0x5000, 0x104, 0x0203); // IF, CF
            ctx.jump(XMS_SEG, INT15_OFF + 4);
            setup(ctx);
            x.service(svc::XMS_INT15, ctx);
            let flags = ctx.rd16(0x5000, 0x104);
            let at = (ctx.cpu.sreg(SegReg::CS), ctx.cpu.ip());
            (regs(ctx), flags, at, ctx.cpu.reg16(Reg16::SP))
        })
    }

    #[test]
    fn int15_88h_reports_no_extended_memory() {
        let mut m = machine();
        let (r, flags, _, _) = int15(&mut m, |ctx| ctx.set_ax(0x8800));
        assert_eq!(r.ax, 0);
        assert_eq!(flags & 1, 0, "CF clear");
    }

    #[test]
    fn int15_87h_moves_and_keeps_the_callers_a20() {
        for a20_before in [false, true] {
            let mut m = machine();
            let data = pattern(64, 3);
            write_conv(&mut m, BUF_SEG, &data);
            // GDT at 6000:0000 (RBIL #00499): source 30000h, destination 200000h.
            m.with_service_context(|_, ctx| {
                for i in 0..0x30 {
                    ctx.wr8(0x6000, i, 0);
                }
                for (d, base) in [(0x10u16, 0x03_0000u32), (0x18, 0x20_0000)] {
                    ctx.wr16(0x6000, d, 0xFFFF);
                    ctx.wr16(0x6000, d + 2, base as u16);
                    ctx.wr8(0x6000, d + 4, (base >> 16) as u8);
                    ctx.wr8(0x6000, d + 5, 0x93);
                }
            });
            set_a20(&mut m, a20_before);
            let (r, flags, _, _) = int15(&mut m, |ctx| {
                ctx.set_ax(0x8700);
                ctx.set_cx(32); // words
                ctx.set_es(0x6000);
                ctx.set_si(0);
            });
            assert_eq!(r.ax >> 8, 0, "AH=00h");
            assert_eq!(flags & 1, 0, "CF clear");
            assert_ne!(flags & 0x40, 0, "ZF set");
            assert_eq!(a20(&mut m), a20_before);
            assert_eq!(phys(&mut m, 0x20_0000, 64), data);
        }
    }

    #[test]
    fn int15_other_functions_chain_to_the_old_vector() {
        let mut m = machine();
        let (r, flags, at, sp) = int15(&mut m, |ctx| ctx.set_ax(0xC000));
        assert_eq!(at, OLD_INT15);
        assert_eq!(sp, 0x0100, "the INT frame stays for the old handler's IRET");
        assert_eq!(r.ax, 0xC000);
        assert_eq!(flags, 0x0203);
    }

    // ----- state --------------------------------------------------------------------

    #[test]
    fn state_round_trips_through_serde() {
        let mut m = machine();
        let h = alloc(&mut m, 7);
        ok(call(&mut m, 0x0C, 0, h));
        ok(call(&mut m, 0x05, 0, 0));
        ok(call(&mut m, 0x01, 0, 0xFFFF));
        let x = m.firmware().unwrap().xms.clone().unwrap();
        let json = serde_json::to_string(&x).unwrap();
        let back: Xms = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        assert!(back.hma_allocated());
    }

    #[test]
    fn linear_helper_matches_the_move_address_rule() {
        // The handle-0 rule (high word segment) is the real-mode linear address.
        assert_eq!(linear(0xFFFF, 0x0010), 0x10_0000);
    }
}
