//! Extended memory blocks of the XMS driver: free memory (08h/88h), allocation (09h/89h),
//! free (0Ah), lock and unlock (0Ch/0Dh), handle information (0Eh/8Eh) and reallocation
//! (0Fh/8Fh) on the handle table that is the memory map, and the blocks the DPMI host
//! allocates through it.
//!
//! Sources: the eXtended Memory Specification 3.0 (functions 08h-0Ah, 0Ch-0Fh and their 8xh
//! forms), `../shared/reference/dos-memory.md` sections 1.3, 1.5 and 6.1, and HimemX
//! 3.34 (`HimemX.asm`) for the allocation algorithm; the choices are listed in the module
//! notes ([`super`]).

use super::moves::{Side, copy};
use super::{ENTRIES_OFF, ENTRY_BYTES, Kind, Slot, Xms, err, handle_of};
use crate::firmware::Ctx;

impl Xms {
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

    pub(super) fn query_free(&self, ctx: &mut Ctx, extended: bool) {
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
    pub(super) fn index_of(&self, handle: u16) -> Option<usize> {
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

    pub(super) fn allocate_call(&mut self, ctx: &mut Ctx, kb: u32) -> Result<(), u8> {
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

    pub(super) fn free_call(&mut self, handle: u16) -> Result<(), u8> {
        let i = self.index_of(handle).ok_or(err::INVALID_HANDLE)?;
        if self.slots[i].locks != 0 {
            return Err(err::LOCKED);
        }
        self.release(i);
        Ok(())
    }

    pub(super) fn lock(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
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

    pub(super) fn unlock(&mut self, handle: u16) -> Result<(), u8> {
        let i = self.index_of(handle).ok_or(err::INVALID_HANDLE)?;
        let slot = &mut self.slots[i];
        slot.locks = slot.locks.checked_sub(1).ok_or(err::NOT_LOCKED)?;
        Ok(())
    }

    pub(super) fn handle_info(&self, ctx: &mut Ctx, extended: bool) -> Result<(), u8> {
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

    pub(super) fn reallocate(&mut self, ctx: &mut Ctx, handle: u16, kb: u32) -> Result<(), u8> {
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
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::super::*;
    use crate::machine::{Machine, MachineConfig};

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
}
