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
//! This file holds the handle table's layout, the driver's state, its installation, Int 2Fh
//! AX=43xxh and the dispatch of the entry's functions. The functions live in `hma.rs` (01h-06h:
//! the HMA and A20), `blocks.rs` (08h-0Ah, 0Ch-0Fh and 88h-8Fh: free memory, handles, locks
//! and reallocation, and the blocks the DPMI host takes), `moves.rs` (0Bh) and `int15.rs`
//! (the Int 15h hook); `harness.rs` holds the tests' machine and calls.

mod blocks;
pub mod foreign;
#[cfg(test)]
mod harness;
mod hma;
mod int15;
mod moves;

use serde::{Deserialize, Serialize};

use super::stubs::{Asm, XMS_AREA_BYTES, XMS_SEG, svc};
use super::{Ctx, Flow};
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

impl Xms {
    /// Whether [`Xms::install`] placed the driver (false on an 8086, or before POST).
    pub fn installed(&self) -> bool {
        self.installed
    }
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
}

#[cfg(test)]
mod tests {
    use super::harness::*;
    use super::*;
    use crate::cpu::{Reg16, SegReg};
    use crate::machine::{Machine, MachineConfig, Stop};

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
}
