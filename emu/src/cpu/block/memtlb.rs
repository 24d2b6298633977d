//! The memory-operand cache of the fast path: linear page -> backing-store page, so a
//! memory operand that passed its segment bound is one tagged compare and the access.
//!
//! Without it, every fast load or store went through the general path after the segment
//! bound: the paging test, the bus and A20 mask, the direct-RAM window or the page map, and
//! for a store the map entry's bits (ROM, clean page, decoded code) and the code marks; with
//! paging, the translation cache (its epoch, tag and permission bits) came first.
//!
//! An entry is made only after an access of the same kind went through that general path
//! and succeeded (so the page-level checks, the accessed and dirty bits and the first write
//! since a hash refresh have happened), for a readable page and, for the write side, a page
//! whose writes may go straight to the store ([`crate::mem::FastPage`]). It names a store
//! index and, for writes, the span of the page's decoded bytes: a write that touches the
//! span goes the general way, which tests the code marks.
//!
//! Everything an entry depends on is covered by one of two keys, both checked when a block
//! starts. Memory's cache epoch moves with every change of the page map, A20, the page
//! tables (their walked entries are marked as code), a page's first code mark and a hash
//! refresh. While a block runs, it moves only by a write that changed decoded code (the
//! block then ends after that op), by a change that only makes accesses plainer (code marks
//! dropped), or by a page-table walk marking a new page of tables. A walk drops the write
//! entries of the pages whose entries it marks at once ([`MemTlb::forget_store_page`]),
//! whether or not the epoch moved. The other key is CR3 with the paging bit and whether
//! CPL is 3 (the page-level U/S checks): fast ops change none of them. Like the TLB, the
//! cache is not machine state: it holds only what the general path would give now.

use crate::mem::{FastPage, Memory};

/// Entries on each side (direct-mapped by the low bits of the linear page number).
const ENTRIES: usize = 64;
/// `Entry::page` of an empty entry (linear page numbers are below 2^20).
const EMPTY: u32 = u32::MAX;
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Linear page number, or [`EMPTY`].
    page: u32,
    /// Store index of the page's first byte.
    base: u32,
    /// Write entries: the span of the page's decoded bytes (`FastPage::code`), which writes
    /// leave to the general way.
    code_lo: u32,
    code_hi: u32,
}

const EMPTY_ENTRY: Entry = Entry {
    page: EMPTY,
    base: 0,
    code_lo: 0,
    code_hi: 0,
};

/// The cache (see the module documentation).
#[derive(Clone, Debug)]
pub(crate) struct MemTlb {
    /// Memory's cache epoch the entries were made under.
    epoch: u64,
    /// `CR3 | PG << 1 | (CPL == 3)` the entries were made under.
    key: u32,
    read: [Entry; ENTRIES],
    write: [Entry; ENTRIES],
}

impl Default for MemTlb {
    fn default() -> MemTlb {
        MemTlb {
            epoch: 0,
            key: 0,
            read: [EMPTY_ENTRY; ENTRIES],
            write: [EMPTY_ENTRY; ENTRIES],
        }
    }
}

/// Where the translated code's copy of [`MemTlb::read`] and [`MemTlb::write`] finds
/// things (`jit/compile.rs` emits the hit path of both).
pub(crate) mod layout {
    use super::{ENTRIES, Entry, MemTlb};
    use std::mem::offset_of;

    pub const READ: usize = offset_of!(MemTlb, read);
    pub const WRITE: usize = offset_of!(MemTlb, write);
    pub const PAGE: usize = offset_of!(Entry, page);
    pub const BASE: usize = offset_of!(Entry, base);
    pub const CODE_LO: usize = offset_of!(Entry, code_lo);
    pub const CODE_HI: usize = offset_of!(Entry, code_hi);
    /// Slot numbers are the page number masked by this.
    pub const SLOT_MASK: u8 = (ENTRIES - 1) as u8;
    /// An entry's size as a shift count.
    pub const ENTRY_SHIFT: u8 = size_of::<Entry>().trailing_zeros() as u8;
    const _: () = assert!(size_of::<Entry>() == 1 << ENTRY_SHIFT && ENTRIES.is_power_of_two());
}

/// The entry slot for an access of `N` bytes at `lin`, and the page its entry must name.
/// The slot is the last byte's: an access that crosses into the next page looks in that
/// page's slot, where an entry never names the first page (consecutive pages have different
/// slots), so one compare tests both the tag and the crossing.
#[inline(always)]
fn slot<const N: usize>(lin: u32) -> (usize, u32) {
    let last = lin.wrapping_add(N as u32 - 1);
    ((last >> 12) as usize % ENTRIES, lin >> 12)
}

impl MemTlb {
    fn clear(&mut self) {
        self.read = [EMPTY_ENTRY; ENTRIES];
        self.write = [EMPTY_ENTRY; ENTRIES];
    }

    /// Empties the cache unless it was made under `key` (see the `key` field).
    #[inline(always)]
    pub(crate) fn check_key(&mut self, key: u32) {
        if self.key != key {
            self.clear();
            self.key = key;
        }
    }

    /// Empties the cache unless it was made under memory's cache epoch `epoch` (when a block
    /// starts, and before an entry is made).
    #[inline(always)]
    pub(crate) fn check_epoch(&mut self, epoch: u64) {
        if self.epoch != epoch {
            self.clear();
            self.epoch = epoch;
        }
    }

    /// The `N` bytes at linear `lin` if a read entry covers them.
    #[inline(always)]
    pub(crate) fn read<const N: usize>(&self, mem: &Memory, lin: u32) -> Option<[u8; N]> {
        let (k, page) = slot::<N>(lin);
        let e = &self.read[k];
        if e.page != page {
            return None;
        }
        mem.store_bytes::<N>((e.base | (lin & 0xFFF)) as usize)
    }

    /// Writes `bytes` at linear `lin` if a write entry covers them and they change no
    /// decoded code; returns whether it wrote.
    #[inline(always)]
    pub(crate) fn write<const N: usize>(&self, mem: &mut Memory, lin: u32, bytes: [u8; N]) -> bool {
        let (k, page) = slot::<N>(lin);
        let e = &self.write[k];
        if e.page != page {
            return false;
        }
        let off = lin & 0xFFF;
        if off + N as u32 > e.code_lo && off < e.code_hi {
            return false;
        }
        mem.write_store::<N>((e.base | off) as usize, bytes)
    }

    /// Drops the write entries of store page `page`, whose decoded span grew (a page-table
    /// walk marked the entries it used without moving the epoch).
    pub(crate) fn forget_store_page(&mut self, page: usize) {
        for e in &mut self.write {
            if e.page != EMPTY && (e.base >> 12) as usize == page {
                *e = EMPTY_ENTRY;
            }
        }
    }

    /// Records that linear page `lin >> 12` is store page `page` for reads (or writes) under
    /// memory's cache epoch `epoch`.
    pub(crate) fn insert(&mut self, epoch: u64, lin: u32, page: FastPage, write: bool) {
        self.check_epoch(epoch);
        let n = lin >> 12;
        let (side, (code_lo, code_hi)) = if write {
            (&mut self.write, page.code)
        } else {
            (&mut self.read, (0, 0))
        };
        side[n as usize % ENTRIES] = Entry {
            page: n,
            base: page.base,
            code_lo,
            code_hi,
        };
    }
}

#[cfg(test)]
mod tests {
    use crate::bare::BareSystem;
    use crate::cpu::{Model, Reg16, SegReg};

    /// `MOV [2000h],AX; INC AX; JMP 0100h` at 0000:0100.
    const STORE_LOOP: [u8; 6] = [0xA3, 0x00, 0x20, 0x40, 0xEB, 0xFA];

    fn store_loop() -> BareSystem {
        let mut sys = BareSystem::new(Model::I80386, 0x10_0000).expect("1 MiB is a valid RAM size");
        sys.load_code(0, 0x100, &STORE_LOOP);
        sys.cpu.set_sreg(SegReg::DS, 0);
        sys
    }

    /// A hash refresh between runs makes the next store to a page record that the page
    /// changed, though the store's page was cached as plain before (`dirty.rs`: the first
    /// write after a refresh must reach the page's write record).
    #[test]
    fn a_store_after_a_hash_refresh_is_recorded() {
        let mut sys = store_loop();
        // Whole passes (three instructions each), so the next run starts at the block's
        // start and decodes nothing (a decode would move the epoch by itself).
        sys.run(99);
        let mem = &mut sys.bus.mem;
        mem.refresh_page_hashes();
        let mark = mem.write_mark();
        assert!(!mem.written_since(mark, 2));
        sys.run(9);
        assert!(sys.bus.mem.written_since(mark, 2));
        assert_eq!(sys.bus.mem.read_u16(0x2000), sys.cpu.reg16(Reg16::AX) - 1);
    }

    /// Stores to a new memory, before any hash refresh, are recorded as writes too (its
    /// pages start clean, as never written): a copy of the memory copies the page.
    #[test]
    fn stores_to_a_new_memory_are_recorded() {
        let mut sys = store_loop();
        assert!(!sys.bus.mem.store_page_may_be_nonzero(2));
        sys.run(99);
        let mem = &sys.bus.mem;
        assert!(mem.store_page_may_be_nonzero(2) && !mem.store_page_may_be_nonzero(3));
        assert_eq!(mem.read_u16(0x2000), sys.cpu.reg16(Reg16::AX) - 1);
        assert!(mem.clone() == *mem);
    }

    /// A store that changes a decoded instruction of its own block goes the general way,
    /// though its page is cached for writes: the patched instruction runs as written, as
    /// the interpreter (cache off) runs it.
    ///
    /// 0000:0100 `MOV [010Ah],AL; INC AL; NOP x5`, at 010Ah the patched byte (40h-47h: INC
    /// of AX..DI), then `JMP 0100h`.
    #[test]
    fn a_cached_store_into_its_own_block_is_seen() {
        let code = [
            0xA2, 0x0A, 0x01, 0xFE, 0xC0, 0x90, 0x90, 0x90, 0x90, 0x90, 0x40, 0xEB, 0xF3,
        ];
        let run = |cache: bool| {
            let mut sys =
                BareSystem::new(Model::I80386, 0x10_0000).expect("1 MiB is a valid RAM size");
            sys.cpu.set_block_cache(cache);
            sys.load_code(0, 0x100, &code);
            sys.cpu.set_sreg(SegReg::DS, 0);
            sys.cpu.set_sreg(SegReg::SS, 0x1000);
            sys.cpu.set_reg16(Reg16::AX, 0x40);
            // DX holds the processor's identification after reset.
            sys.cpu.set_reg16(Reg16::DX, 0);
            // Eight passes of nine instructions. Pass 0 stores 40h and runs INC AX (AL 40h
            // -> 42h); passes 1-6 store 42h-47h and run INC DX, BX, SP, BP, SI, DI; pass 7
            // stores 48h and runs DEC AX (AL 49h -> 48h).
            sys.run(8 * 9);
            [
                Reg16::AX,
                Reg16::CX,
                Reg16::DX,
                Reg16::BX,
                Reg16::SP,
                Reg16::BP,
            ]
            .map(|r| sys.cpu.reg16(r))
        };
        let interpreted = run(false);
        assert_eq!(interpreted, [0x48, 0, 1, 1, 1, 1]);
        assert_eq!(run(true), interpreted);
    }
}
