//! Physical memory: RAM, the address-bus width of the CPU model, the A20 gate, and a
//! page-granular map from physical pages to backing store.
//!
//! Models the PC memory system as seen from the CPU's pins (DESIGN.md section 1, `src/mem/`):
//!
//! - The **address bus** has 20 lines on the 8086, 24 on the 80286 and 32 on the 80386. A
//!   physical address is first truncated to the bus, so an 8086 wraps at 1 MiB and a 286 at
//!   16 MiB, exactly as the hardware does.
//! - The **A20 gate** (the keyboard controller's output port bit 1 OR port 92h bit 1 on an AT)
//!   forces address line 20 low when it is off: every odd megabyte then aliases the even one
//!   below it, which is the "1 MB wrap" that real-mode code relies on. It has no effect on the
//!   8086 (which has no line 20).
//! - The **page map** sends each 4 KiB physical page to a page of the backing store with an
//!   access kind (read/write RAM, read-only ROM, or open bus). Conventional RAM maps to itself
//!   by default; later layers remap pages for ROM images, EMS windows and per-VM instancing.
//!   Pages with no mapping read as `FFh` and ignore writes (an open ISA bus).
//!
//! All state is plain data (`Serialize`/`Deserialize`); nothing here has side effects beyond
//! the bytes it stores.

mod code;
mod dirty;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use code::CodeTracker;
use dirty::PageHashes;

/// Size of one page of the physical page map.
pub const PAGE_SIZE: u32 = 4096;
const PAGE_SHIFT: u32 = 12;
const PAGE_MASK: u32 = PAGE_SIZE - 1;

/// Page entry bit: writes are ignored (ROM).
const NO_WRITE: u32 = 1;
/// Page entry bit: nothing is mapped (reads FFh, writes ignored).
const NO_READ: u32 = 2;
const UNMAPPED: u32 = NO_READ | NO_WRITE;
/// Page entry bit: the store page holds bytes the CPU has decoded; writes go through the
/// code tracker (see `code.rs`).
const CODE: u32 = 4;
/// Page entry bit: the store page's hash is up to date, so the first write through this
/// entry must record that the page changed (see `dirty.rs`). Set on every writable entry
/// when the page hashes are refreshed; cleared by that first write.
const CLEAN: u32 = 8;
/// Bits that keep a write off the fast path.
const SLOW_WRITE: u32 = UNMAPPED | CODE | CLEAN;
/// Entry bits that are host bookkeeping, not machine state.
const HOST_BITS: u32 = CODE | CLEAN;

/// A readable physical page as the CPU's memory-operand cache sees it
/// ([`Memory::fast_page`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FastPage {
    /// Store index of the page's first byte.
    pub base: u32,
    /// Writes may go straight to the store (a writable page whose change since the last
    /// hash refresh is already recorded) outside `code`.
    pub write: bool,
    /// Offsets in the page from its first decoded byte to one past its last ((0, 0) for a
    /// page without decoded code): a write touching them goes the bus way, which tests the
    /// code marks. For marks made later see [`Memory::mark_code`].
    pub code: (u32, u32),
}

/// What a physical page does on access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Access {
    /// Ordinary read/write memory.
    ReadWrite,
    /// Reads return the backing bytes, writes are ignored (a ROM).
    ReadOnly,
}

/// A page of the backing store, as returned by [`Memory::alloc_store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorePage(u32);

impl StorePage {
    /// The page's index in the backing store.
    pub fn index(self) -> u32 {
        self.0
    }

    /// The page `n` pages after this one (of a run from one [`Memory::alloc_store`]).
    pub fn offset(self, n: u32) -> StorePage {
        StorePage(self.0.wrapping_add(n))
    }
}

/// Errors from configuring memory (guest accesses never fail: they follow the bus rules).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MemError {
    #[error("RAM size {0:#x} bytes is not a positive multiple of 4 KiB no larger than 3 GiB")]
    BadRamSize(u64),
    #[error("address bus width {0} is not one of 20, 24 or 32 bits")]
    BadBusWidth(u8),
    #[error("physical page {page:#x} is outside the mappable range (below {limit:#x})")]
    PageOutOfRange { page: u32, limit: u32 },
    #[error("store page {0:#x} was never allocated")]
    BadStorePage(u32),
    #[error("backing store would exceed 4 GiB")]
    StoreFull,
}

/// Physical memory as the CPU sees it. See the module documentation.
///
/// Serialization and equality cover the machine state only: the bytes, the page map (without
/// the code marks, which belong to the CPU's cache) and the bus and A20 settings.
#[derive(Deserialize)]
#[serde(from = "MemoryData")]
pub struct Memory {
    /// Backing store: RAM first, then pages allocated with [`Memory::alloc_store`].
    store: Vec<u8>,
    /// One entry per physical page below `map.len() * 4 KiB`: the byte offset of the backing
    /// page in `store` ORed with the `NO_WRITE`/`NO_READ` bits.
    map: Vec<u32>,
    ram_size: u32,
    bus_bits: u8,
    a20: bool,
    /// `bus mask & A20 mask`, recomputed whenever either changes.
    mask: u32,
    /// Which store bytes hold decoded code (the CPU's cache bookkeeping, not machine state).
    #[serde(skip)]
    code: CodeTracker,
    /// Which store pages were written since the page hashes were last refreshed, and the
    /// hashes (host bookkeeping for checkpoints and snapshots, not machine state).
    #[serde(skip)]
    hashes: PageHashes,
    /// xxh3-64 of the page map ([`Memory::map_hash`]) as of the last refresh of the page
    /// hashes, `None` since the map changed (host bookkeeping, not machine state).
    #[serde(skip)]
    map_hash: Option<u64>,
    /// Bumped whenever something cached by address may have gone stale: the translation of
    /// physical addresses changed (A20, page mapping), a write changed decoded code, a page
    /// got its first code mark, the page hashes were refreshed (writes stop being plain, see
    /// [`Memory::fast_page`]), or the CPU decoded a block ([`Memory::bump_cache_epoch`]). The CPU's block links and its
    /// check for self-modifying code compare it. Not machine state.
    #[serde(skip)]
    cache_epoch: u64,
    /// Physical addresses below this lie in readable pages mapped to the same offset of the
    /// backing store (conventional RAM, normally), so reads there need no page lookup.
    /// Consecutive masked addresses below it are consecutive (it never reaches past the
    /// first wrap of the bus mask or, with A20 off, past 1 MiB), so a multi-byte read that
    /// ends below it needs no wrap check either. Derived from `map` and the A20 gate
    /// (recomputed on every change of either and after deserializing).
    #[serde(skip)]
    direct: u32,
}

impl Memory {
    /// The page map as machine state: without the code marks and clean bits.
    fn state_map(&self) -> impl Iterator<Item = u32> + '_ {
        self.map.iter().map(|e| e & !HOST_BITS)
    }
}

/// A copy whose store starts as a fresh zeroed allocation with only the pages that may not
/// be zeros copied into it ([`Memory::store_copy`]): everything else, host bookkeeping
/// included, is copied as it is.
impl Clone for Memory {
    fn clone(&self) -> Memory {
        Memory {
            store: self.store_copy(),
            map: self.map.clone(),
            ram_size: self.ram_size,
            bus_bits: self.bus_bits,
            a20: self.a20,
            mask: self.mask,
            code: self.code.clone(),
            hashes: self.hashes.clone(),
            map_hash: self.map_hash,
            cache_epoch: self.cache_epoch,
            direct: self.direct,
        }
    }
}

impl Serialize for Memory {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            // As one byte string rather than a sequence of bytes: the same encoding in
            // bincode, but written in one call instead of millions.
            #[serde(with = "serde_bytes")]
            store: &'a [u8],
            map: Vec<u32>,
            ram_size: u32,
            bus_bits: u8,
            a20: bool,
            mask: u32,
        }
        View {
            store: &self.store,
            map: self.state_map().collect(),
            ram_size: self.ram_size,
            bus_bits: self.bus_bits,
            a20: self.a20,
            mask: self.mask,
        }
        .serialize(s)
    }
}

impl PartialEq for Memory {
    fn eq(&self, o: &Memory) -> bool {
        self.store == o.store
            && self.state_map().eq(o.state_map())
            && (self.ram_size, self.bus_bits, self.a20, self.mask)
                == (o.ram_size, o.bus_bits, o.a20, o.mask)
    }
}
impl Eq for Memory {}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("ram_size", &format_args!("{:#x}", self.ram_size))
            .field("store_size", &format_args!("{:#x}", self.store.len()))
            .field("bus_bits", &self.bus_bits)
            .field("a20", &self.a20)
            .finish_non_exhaustive()
    }
}

/// The serialized fields of [`Memory`]; the derived ones are rebuilt on loading.
#[derive(Deserialize)]
struct MemoryData {
    #[serde(with = "serde_bytes")]
    store: Vec<u8>,
    map: Vec<u32>,
    ram_size: u32,
    bus_bits: u8,
    a20: bool,
    mask: u32,
}

impl From<MemoryData> for Memory {
    fn from(d: MemoryData) -> Memory {
        let mut m = Memory {
            store: d.store,
            map: d.map,
            ram_size: d.ram_size,
            bus_bits: d.bus_bits,
            a20: d.a20,
            mask: d.mask,
            code: CodeTracker::default(),
            hashes: PageHashes::default(),
            map_hash: None,
            cache_epoch: 0,
            direct: 0,
        };
        // Code marks and clean bits belong to host caches that do not survive
        // serialization.
        for e in &mut m.map {
            *e &= !HOST_BITS;
        }
        m.recompute_direct();
        m
    }
}

impl Memory {
    /// RAM of `ram_size` bytes (a multiple of 4 KiB) behind an address bus `bus_bits` wide
    /// (20, 24 or 32). The A20 gate starts enabled; on a PC the firmware decides otherwise.
    pub fn new(ram_size: u32, bus_bits: u8) -> Result<Memory, MemError> {
        if ram_size == 0 || !ram_size.is_multiple_of(PAGE_SIZE) || ram_size > 0xC000_0000 {
            return Err(MemError::BadRamSize(u64::from(ram_size)));
        }
        let bus_mask = match bus_bits {
            20 => 0x000F_FFFF,
            24 => 0x00FF_FFFF,
            32 => 0xFFFF_FFFF,
            other => return Err(MemError::BadBusWidth(other)),
        };
        // The map always covers the first megabyte plus the HMA, even with less RAM, so the
        // upper memory area can be mapped (ROMs, EMS frames) on any configuration.
        let mapped = ram_size.max(0x11_0000).min(bus_mask);
        let pages = mapped.div_ceil(PAGE_SIZE);
        let map = (0..pages)
            .map(|p| {
                let addr = p << PAGE_SHIFT;
                if addr < ram_size { addr } else { UNMAPPED }
            })
            .collect();
        let mut m = Memory {
            store: vec![0; ram_size as usize],
            map,
            ram_size,
            bus_bits,
            a20: true,
            mask: bus_mask,
            code: CodeTracker::default(),
            hashes: PageHashes::default(),
            map_hash: None,
            cache_epoch: 0,
            direct: 0,
        };
        // The RAM is zeros: its pages are clean, never written, until their first write
        // (which the clean bits send to the write record, see `dirty.rs`).
        m.hashes
            .add_zero_pages(0, (ram_size >> PAGE_SHIFT) as usize);
        for e in &mut m.map {
            if *e & (NO_READ | NO_WRITE) == 0 {
                *e |= CLEAN;
            }
        }
        m.recompute_direct();
        Ok(m)
    }

    /// Bytes of RAM (not counting pages allocated later).
    pub fn ram_size(&self) -> u32 {
        self.ram_size
    }

    /// Width of the address bus in bits.
    pub fn bus_bits(&self) -> u8 {
        self.bus_bits
    }

    /// Whether address line 20 is passed through.
    pub fn a20(&self) -> bool {
        self.a20
    }

    /// Opens (`true`) or closes the A20 gate.
    pub fn set_a20(&mut self, enabled: bool) {
        self.a20 = enabled;
        let bus_mask = match self.bus_bits {
            20 => 0x000F_FFFF,
            24 => 0x00FF_FFFF,
            _ => 0xFFFF_FFFF,
        };
        self.mask = if enabled {
            bus_mask
        } else {
            bus_mask & !(1 << 20)
        };
        self.cache_epoch += 1;
        self.recompute_direct();
    }

    /// See the `cache_epoch` field: changes whenever address translation or decoded code
    /// changes, or a block is decoded.
    #[inline(always)]
    pub(crate) fn cache_epoch(&self) -> u64 {
        self.cache_epoch
    }

    /// Marks everything keyed by [`Memory::cache_epoch`] stale (the CPU calls this when it
    /// decodes a block into a cache slot that links may point at).
    #[inline]
    pub(crate) fn bump_cache_epoch(&mut self) {
        self.cache_epoch += 1;
    }

    /// The mask applied to every physical address (bus width and A20 gate).
    pub fn address_mask(&self) -> u32 {
        self.mask
    }

    /// Number of physical pages covered by the page map.
    pub fn mapped_pages(&self) -> u32 {
        self.map.len() as u32
    }

    /// Appends `pages` zeroed pages to the backing store and returns the first one. They are
    /// not visible until mapped with [`Memory::map_page`].
    pub fn alloc_store(&mut self, pages: u32) -> Result<StorePage, MemError> {
        let first = self.store.len() as u64;
        let new_len = first + u64::from(pages) * u64::from(PAGE_SIZE);
        if new_len > u64::from(u32::MAX) {
            return Err(MemError::StoreFull);
        }
        if new_len as usize > self.store.capacity() {
            // A new zeroed allocation with the pages that may not be zeros copied into it,
            // rather than a reallocation (which may copy every page, faulting the ones never
            // written in on both sides) and a fill of the new pages with zeros (which faults
            // them in): the EMS memory a firmware allocates at POST stays untouched until
            // used.
            self.store = self.store_copy_in(new_len as usize);
        } else {
            self.store.resize(new_len as usize, 0);
        }
        self.hashes.add_zero_pages(
            (first >> PAGE_SHIFT) as usize,
            (new_len >> PAGE_SHIFT) as usize,
        );
        Ok(StorePage((first >> PAGE_SHIFT) as u32))
    }

    /// The bytes of a store page (for loading ROM images or inspecting EMS pages).
    pub fn store_page_mut(&mut self, page: StorePage) -> Result<&mut [u8], MemError> {
        let start = (page.0 as usize) << PAGE_SHIFT;
        if self.code.page_marked(page.0 as usize) {
            self.invalidate_code_page(page.0 as usize);
        }
        self.hashes.touch(page.0 as usize);
        self.store
            .get_mut(start..start + PAGE_SIZE as usize)
            .ok_or(MemError::BadStorePage(page.0))
    }

    /// The store page that RAM page `n` occupies by default (the identity mapping).
    pub fn ram_page(&self, n: u32) -> Option<StorePage> {
        (n < self.ram_size >> PAGE_SHIFT).then_some(StorePage(n))
    }

    /// Maps physical page `page` (address `page * 4 KiB`) to `target` with `access`.
    pub fn map_page(
        &mut self,
        page: u32,
        target: StorePage,
        access: Access,
    ) -> Result<(), MemError> {
        let limit = self.map.len() as u32;
        if (target.0 as usize) >= self.store.len() >> PAGE_SHIFT {
            return Err(MemError::BadStorePage(target.0));
        }
        let code = if self.code.page_marked(target.0 as usize) {
            CODE
        } else {
            0
        };
        // Writes through an entry without CLEAN do not record themselves: give it CLEAN
        // while its target's hash is up to date.
        let clean = match access {
            Access::ReadWrite if self.hashes.is_clean(target.0 as usize) => CLEAN,
            _ => 0,
        };
        let entry = self
            .map
            .get_mut(page as usize)
            .ok_or(MemError::PageOutOfRange { page, limit })?;
        *entry = (target.0 << PAGE_SHIFT)
            | code
            | clean
            | match access {
                Access::ReadWrite => 0,
                Access::ReadOnly => NO_WRITE,
            };
        self.map_hash = None;
        self.cache_epoch += 1;
        self.recompute_direct();
        Ok(())
    }

    /// Removes the mapping of physical page `page`: it reads FFh and ignores writes.
    pub fn unmap_page(&mut self, page: u32) -> Result<(), MemError> {
        let limit = self.map.len() as u32;
        let entry = self
            .map
            .get_mut(page as usize)
            .ok_or(MemError::PageOutOfRange { page, limit })?;
        *entry = UNMAPPED;
        self.map_hash = None;
        self.cache_epoch += 1;
        self.recompute_direct();
        Ok(())
    }

    /// Where physical page `page` points: its store page and access, or `None` if unmapped.
    pub fn page_mapping(&self, page: u32) -> Option<(StorePage, Access)> {
        let e = *self.map.get(page as usize)?;
        if e & NO_READ != 0 {
            return None;
        }
        let access = if e & NO_WRITE != 0 {
            Access::ReadOnly
        } else {
            Access::ReadWrite
        };
        Some((StorePage(e >> PAGE_SHIFT), access))
    }

    /// Recomputes `direct`: the end of the run of identity-mapped readable pages from 0, cut
    /// at 1 MiB while A20 is off (above it, address line 20 makes consecutive addresses
    /// jump). The map never extends past the bus mask, so with A20 on the run ends by the
    /// first wrap.
    fn recompute_direct(&mut self) {
        let pages = self
            .map
            .iter()
            .enumerate()
            .take_while(|&(p, &e)| e & NO_READ == 0 && (e >> PAGE_SHIFT) as usize == p)
            .count();
        let run = (pages as u32) << PAGE_SHIFT;
        self.direct = if self.a20 { run } else { run.min(1 << 20) };
    }

    /// Store index of physical address `a` (already masked) if its page is readable.
    #[inline(always)]
    fn read_index(&self, a: u32) -> Option<usize> {
        match self.map.get((a >> PAGE_SHIFT) as usize) {
            Some(&e) if e & NO_READ == 0 => Some(((e & !PAGE_MASK) | (a & PAGE_MASK)) as usize),
            _ => None,
        }
    }

    /// Store index of the `len` bytes at physical address `a` (already masked, in one page)
    /// if its page is writable and the write changes no decoded code: on a page holding code,
    /// bytes that were never decoded still take this path.
    #[inline(always)]
    fn write_index(&self, a: u32, len: usize) -> Option<usize> {
        match self.map.get((a >> PAGE_SHIFT) as usize) {
            Some(&e) if e & SLOW_WRITE == 0 => Some(((e & !PAGE_MASK) | (a & PAGE_MASK)) as usize),
            Some(&e) if e & (UNMAPPED | CLEAN) == 0 => {
                let i = ((e & !PAGE_MASK) | (a & PAGE_MASK)) as usize;
                (!self.code.any_marked(i, len)).then_some(i)
            }
            _ => None,
        }
    }

    /// The first write through a `CLEAN` entry: records that its store page changed and
    /// clears the bit, so later writes through the entry take the fast path again. Returns
    /// the entry as it is now (unchanged when it was not clean).
    #[cold]
    #[inline(never)]
    fn unclean(&mut self, a: u32) -> Option<u32> {
        let e = self.map.get_mut((a >> PAGE_SHIFT) as usize)?;
        if *e & CLEAN != 0 {
            *e &= !CLEAN;
            self.hashes.touch((*e >> PAGE_SHIFT) as usize);
        }
        Some(*e)
    }

    /// A byte write off the fast path: the first write to a page since its hash was last
    /// taken records that it changed; ROM and unmapped pages ignore it; on a page holding
    /// decoded code a write that changes a decoded byte invalidates the page's decodes.
    #[cold]
    #[inline(never)]
    fn write_u8_slow(&mut self, a: u32, value: u8) {
        let Some(e) = self.unclean(a) else {
            return;
        };
        if e & UNMAPPED != 0 {
            return;
        }
        let i = ((e & !PAGE_MASK) | (a & PAGE_MASK)) as usize;
        if e & CODE != 0 && self.code.is_marked(i) && self.store.get(i) != Some(&value) {
            self.invalidate_code_page(i >> PAGE_SHIFT);
        }
        if let Some(b) = self.store.get_mut(i) {
            *b = value;
        }
    }

    /// Writes `bytes` (within one page) at `a` if its page is writable and holds decoded
    /// code, invalidating the page's decodes when a decoded byte changes. Returns false
    /// (writing nothing) for any other page.
    #[cold]
    #[inline(never)]
    fn write_code_page(&mut self, a: u32, bytes: &[u8]) -> bool {
        let Some(&e) = self.map.get((a >> PAGE_SHIFT) as usize) else {
            return false;
        };
        if e & (UNMAPPED | CODE) != CODE {
            return false;
        }
        let i = ((e & !PAGE_MASK) | (a & PAGE_MASK)) as usize;
        let changes_code = bytes
            .iter()
            .enumerate()
            .any(|(k, &b)| self.code.is_marked(i + k) && self.store.get(i + k) != Some(&b));
        if changes_code {
            self.invalidate_code_page(i >> PAGE_SHIFT);
        }
        match self.store.get_mut(i..i + bytes.len()) {
            Some(dst) => {
                // A byte loop: the length is at most 4, a copy call would cost more.
                for (d, &b) in dst.iter_mut().zip(bytes) {
                    *d = b;
                }
                true
            }
            None => false,
        }
    }

    /// Drops every decode of store page `page` and takes its physical pages off the code
    /// write path.
    #[cold]
    fn invalidate_code_page(&mut self, page: usize) {
        self.code.invalidate_page(page);
        self.cache_epoch += 1;
        for e in self.map.iter_mut() {
            if (*e >> PAGE_SHIFT) as usize == page && *e & NO_READ == 0 {
                *e &= !CODE;
            }
        }
    }

    /// Records that the CPU decoded `len` bytes at store index `start` (one page). The first
    /// mark on a page moves the cache epoch: writes through its map entries stop being plain
    /// (see [`Memory::fast_page`]). Later marks widen the page's code span without moving
    /// it: a decode moves the epoch itself, a page-table walk drops the CPU's write entries
    /// for the page.
    pub(crate) fn mark_code(&mut self, start: usize, len: usize) {
        if self.code.mark(self.store.len(), start, len) {
            self.cache_epoch += 1;
            let page = start >> PAGE_SHIFT;
            for e in self.map.iter_mut() {
                if (*e >> PAGE_SHIFT) as usize == page && *e & NO_READ == 0 {
                    *e |= CODE;
                }
            }
        }
    }

    /// What the CPU's memory-operand cache (`cpu/block/memtlb.rs`) may keep about the
    /// physical page of `addr` (masked by the bus and A20 here): `None` when it is not
    /// readable. It holds while [`Memory::cache_epoch`] does not move: everything that makes
    /// an access to a page less plain (mapping, A20, the first code mark, the clean bits of
    /// a hash refresh) moves it.
    #[inline]
    pub(crate) fn fast_page(&self, addr: u32) -> Option<FastPage> {
        let e = *self.map.get(((addr & self.mask) >> PAGE_SHIFT) as usize)?;
        if e & NO_READ != 0 {
            return None;
        }
        let base = e & !PAGE_MASK;
        Some(FastPage {
            base,
            write: e & (UNMAPPED | CLEAN) == 0,
            code: if e & CODE != 0 {
                self.code.marked_span((base >> PAGE_SHIFT) as usize)
            } else {
                (0, 0)
            },
        })
    }

    /// The `N` store bytes from index `i` (for [`FastPage`] reads).
    #[inline(always)]
    pub(crate) fn store_bytes<const N: usize>(&self, i: usize) -> Option<[u8; N]> {
        self.store.get(i..i + N)?.try_into().ok()
    }

    /// The backing store's address and length, for translated code's hit path of the
    /// memory-operand cache (`cpu/block/jit`): valid until the store is next resized or
    /// `self` is next borrowed.
    pub(crate) fn store_raw(&mut self) -> (*mut u8, usize) {
        (self.store.as_mut_ptr(), self.store.len())
    }

    /// Writes `bytes` at store index `i` of a [`FastPage`] whose `write` is set, outside its
    /// `code` span: returns whether it wrote (false only past the store).
    #[inline(always)]
    pub(crate) fn write_store<const N: usize>(&mut self, i: usize, bytes: [u8; N]) -> bool {
        match self.store.get_mut(i..i + N) {
            Some(b) => {
                b.copy_from_slice(&bytes);
                true
            }
            None => false,
        }
    }

    /// Generation of store page `page`: changes whenever decoded bytes in it are written.
    #[inline(always)]
    pub(crate) fn code_generation(&self, page: usize) -> u64 {
        self.code.generation(page)
    }

    /// Reads the byte at physical address `addr`.
    #[inline(always)]
    pub fn read_u8(&self, addr: u32) -> u8 {
        let a = addr & self.mask;
        if a < self.direct
            && let Some(&b) = self.store.get(a as usize)
        {
            return b;
        }
        match self.read_index(a) {
            Some(i) => self.store.get(i).copied().unwrap_or(0xFF),
            None => 0xFF,
        }
    }

    /// Writes the byte at physical address `addr`.
    #[inline(always)]
    pub fn write_u8(&mut self, addr: u32, value: u8) {
        let a = addr & self.mask;
        if let Some(i) = self.write_index(a, 1)
            && let Some(b) = self.store.get_mut(i)
        {
            *b = value;
            return;
        }
        self.write_u8_slow(a, value);
    }

    /// Reads a little-endian word; the two bytes are separate bus addresses (so a word at
    /// FFFFFh with A20 off reads its high byte from address 0).
    #[inline(always)]
    pub fn read_u16(&self, addr: u32) -> u16 {
        u16::from_le_bytes(self.read_le(addr))
    }

    /// Reads a little-endian doubleword (see [`Memory::read_u16`] for page and wrap rules).
    #[inline(always)]
    pub fn read_u32(&self, addr: u32) -> u32 {
        u32::from_le_bytes(self.read_le(addr))
    }

    /// Writes a little-endian word.
    #[inline(always)]
    pub fn write_u16(&mut self, addr: u32, value: u16) {
        self.write_le(addr, value.to_le_bytes());
    }

    /// Writes a little-endian doubleword.
    #[inline(always)]
    pub fn write_u32(&mut self, addr: u32, value: u32) {
        self.write_le(addr, value.to_le_bytes());
    }

    /// Reads `N` consecutive bus addresses from `addr`.
    #[inline(always)]
    fn read_le<const N: usize>(&self, addr: u32) -> [u8; N] {
        let a = addr & self.mask;
        // Within the direct region consecutive addresses are consecutive store bytes, even
        // across pages, and never wrapped by the bus width or the A20 gate.
        if a as usize + N <= self.direct as usize
            && let Some(b) = self.store.get(a as usize..a as usize + N)
            && let Ok(v) = b.try_into()
        {
            return v;
        }
        if (a & PAGE_MASK) as usize <= PAGE_SIZE as usize - N
            && let Some(i) = self.read_index(a)
            && let Some(b) = self.store.get(i..i + N)
            && let Ok(v) = b.try_into()
        {
            return v;
        }
        self.read_le_split(addr)
    }

    /// Bytes that cross a page (or reach an unmapped page): one bus access each.
    #[cold]
    #[inline(never)]
    fn read_le_split<const N: usize>(&self, addr: u32) -> [u8; N] {
        std::array::from_fn(|k| self.read_u8(addr.wrapping_add(k as u32)))
    }

    /// Writes `bytes` to `N` consecutive bus addresses from `addr`.
    #[inline(always)]
    fn write_le<const N: usize>(&mut self, addr: u32, bytes: [u8; N]) {
        let a = addr & self.mask;
        if (a & PAGE_MASK) as usize <= PAGE_SIZE as usize - N
            && let Some(i) = self.write_index(a, N)
            && let Some(b) = self.store.get_mut(i..i + N)
        {
            b.copy_from_slice(&bytes);
            return;
        }
        self.write_le_slow(addr, bytes);
    }

    /// A write off the fast path: a code page, a page crossing, ROM or unmapped.
    #[cold]
    #[inline(never)]
    fn write_le_slow<const N: usize>(&mut self, addr: u32, bytes: [u8; N]) {
        let a = addr & self.mask;
        if (a & PAGE_MASK) as usize <= PAGE_SIZE as usize - N {
            self.unclean(a);
            if let Some(i) = self.write_index(a, N)
                && let Some(b) = self.store.get_mut(i..i + N)
            {
                b.copy_from_slice(&bytes);
                return;
            }
        }
        if (a & PAGE_MASK) as usize <= PAGE_SIZE as usize - N && self.write_code_page(a, &bytes) {
            return;
        }
        for (k, &b) in bytes.iter().enumerate() {
            self.write_u8(addr.wrapping_add(k as u32), b);
        }
    }

    /// The backing-store index of physical address `addr` (masked by the bus and A20) when
    /// its page is readable. With [`Memory::store`] this lets the CPU fetch instructions from
    /// a whole page without a lookup per byte.
    #[inline(always)]
    pub(crate) fn readable_index(&self, addr: u32) -> Option<usize> {
        self.read_index(addr & self.mask)
    }

    /// The backing store (RAM, then allocated pages).
    #[inline(always)]
    pub(crate) fn store(&self) -> &[u8] {
        &self.store
    }

    /// Brings every store page's hash up to date, hashing the pages written since the last
    /// refresh, and arms the page map so the next write to each page is recorded (see
    /// `dirty.rs`). Costs O(pages written) plus one pass over the page map.
    pub(crate) fn refresh_page_hashes(&mut self) {
        // Writes through the map are no longer plain (see [`Memory::fast_page`]).
        self.cache_epoch += 1;
        self.hashes.refresh(&self.store);
        self.map_hash = Some(self.map_hash());
        for e in &mut self.map {
            if *e & (NO_READ | NO_WRITE) == 0 {
                *e |= CLEAN;
            }
        }
    }

    /// xxh3-64 of the page map: for each physical page of the map in order, a little-endian
    /// u32, `index * 4096` of the store page it maps to plus 1 if it is read-only, or 3 if it
    /// is unmapped (the entries as [`Memory`] serializes them). Cached at each
    /// [`Memory::refresh_page_hashes`] until the map changes ([`Memory::map_page`],
    /// [`Memory::unmap_page`]), so a checkpoint costs nothing for a map that did not change;
    /// computed now otherwise (a pass over the map).
    pub(crate) fn map_hash(&self) -> u64 {
        if let Some(h) = self.map_hash {
            return h;
        }
        let mut bytes = Vec::with_capacity(self.map.len() * 4);
        for e in self.state_map() {
            let e = if e & NO_READ != 0 { UNMAPPED } else { e };
            bytes.extend_from_slice(&e.to_le_bytes());
        }
        xxhash_rust::xxh3::xxh3_64(&bytes)
    }

    /// xxh3-64 of each 4 KiB page of the store, in order: cached for pages not written
    /// since the last [`Memory::refresh_page_hashes`], computed for the others.
    /// Every store page's hash as 8 little-endian bytes when all are up to date (right
    /// after [`Memory::refresh_page_hashes`]), as one slice: the values of
    /// [`Memory::page_hashes`] without computing or testing any.
    pub(crate) fn clean_page_hash_bytes(&self) -> Option<&[u8]> {
        self.hashes.clean_hash_bytes(self.store.len() >> PAGE_SHIFT)
    }

    pub(crate) fn page_hashes(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.store.len() >> PAGE_SHIFT).map(|p| self.hashes.page_hash(&self.store, p))
    }

    /// A mark for [`Memory::written_since`]: taken at a snapshot, it later tells which store
    /// pages may have changed since.
    pub(crate) fn write_mark(&self) -> u64 {
        self.hashes.mark()
    }

    /// Whether store page `page` may have been written after `mark` was taken (false only
    /// when it certainly was not).
    pub(crate) fn written_since(&self, mark: u64, page: usize) -> bool {
        self.hashes.written_since(mark, page)
    }

    /// Whether store page `page` may hold a byte that is not zero: false only for a page
    /// never written since it was allocated as zeros (host bookkeeping, see `dirty.rs`; the
    /// page is not read to tell).
    pub(crate) fn store_page_may_be_nonzero(&self, page: usize) -> bool {
        self.hashes.may_be_nonzero(page)
    }

    /// A copy of the backing store that touches only the pages that may not be zeros: a
    /// zeroed allocation (which the host maps lazily, so pages never written cost nothing)
    /// with those pages copied into it. A plain copy of 16 MiB of RAM reads and writes
    /// every one of its 4,096 pages, faulting each in on both sides.
    pub(crate) fn store_copy(&self) -> Vec<u8> {
        self.store_copy_in(self.store.len())
    }

    /// [`Memory::store_copy`] into a zeroed allocation of `len` bytes (at least the
    /// store's length): the store followed by zeros.
    fn store_copy_in(&self, len: usize) -> Vec<u8> {
        let mut copy = vec![0u8; len.max(self.store.len())];
        let page = PAGE_SIZE as usize;
        for (p, (dst, src)) in copy
            .chunks_exact_mut(page)
            .zip(self.store.chunks_exact(page))
            .enumerate()
        {
            if self.hashes.may_be_nonzero(p) {
                dst.copy_from_slice(src);
            }
        }
        // A store is a whole number of pages; a partial last page is copied all the same.
        let (whole, len) = (self.store.len() / page * page, self.store.len());
        if let (Some(dst), Some(src)) = (copy.get_mut(whole..len), self.store.get(whole..)) {
            dst.copy_from_slice(src);
        }
        copy
    }

    /// Takes the backing store out, leaving an empty one: the rest of the state can then be
    /// encoded without it ([`crate::machine::Machine::snapshot_without_store`]). Nothing may
    /// access memory until [`Memory::put_store`] puts it (or a checked store) back.
    pub(crate) fn take_store(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.store)
    }

    /// Puts back a store taken with [`Memory::take_store`] (unchecked: it came from here).
    pub(crate) fn put_store(&mut self, store: Vec<u8>) {
        self.store = store;
    }

    /// Whether a backing store of `len` bytes fits this memory's page map and RAM size: a
    /// whole number of pages, RAM first, every mapped page inside it, and no more than
    /// [`Memory::alloc_store`] can make (4 GiB). A decoded state is checked with this before
    /// a store from elsewhere is put in, so no page mapping points past the store.
    pub(crate) fn check_store_len(&self, len: usize) -> Result<(), String> {
        let len = len as u64;
        if !len.is_multiple_of(u64::from(PAGE_SIZE)) {
            return Err(format!(
                "a store of {len} bytes is not a whole number of 4 KiB pages"
            ));
        }
        if len > u64::from(u32::MAX) {
            return Err(format!("a store of {len} bytes is larger than 4 GiB"));
        }
        if len < u64::from(self.ram_size) {
            return Err(format!(
                "a store of {len} bytes cannot hold the {} bytes of RAM",
                self.ram_size
            ));
        }
        for (page, &e) in self.map.iter().enumerate() {
            if e & NO_READ != 0 {
                continue;
            }
            let end = u64::from(e & !PAGE_MASK) + u64::from(PAGE_SIZE);
            if end > len {
                return Err(format!(
                    "physical page {page:#x} is mapped to store bytes {:#x}..{end:#x}, past the end of a store of {len:#x} bytes",
                    end - u64::from(PAGE_SIZE)
                ));
            }
        }
        Ok(())
    }

    /// Writes `bytes` at physical address `addr` through the bus rules (ROM and unmapped
    /// pages ignore them). For loaders and tests.
    pub fn write_bytes(&mut self, addr: u32, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            self.write_u8(addr.wrapping_add(i as u32), b);
        }
    }

    /// Reads `len` bytes at physical address `addr` through the bus rules.
    pub fn read_bytes(&self, addr: u32, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| self.read_u8(addr.wrapping_add(i as u32)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_configuration() {
        assert_eq!(Memory::new(0, 20), Err(MemError::BadRamSize(0)));
        assert_eq!(Memory::new(1000, 20), Err(MemError::BadRamSize(1000)));
        assert_eq!(Memory::new(0x10000, 16), Err(MemError::BadBusWidth(16)));
    }

    #[test]
    fn eight_bit_bus_wraps_at_one_megabyte() {
        // The 8086 has address lines A0-A19: address 100000h is address 0.
        let mut m = Memory::new(0x10_0000, 20).unwrap();
        m.write_u8(0, 0x12);
        assert_eq!(m.read_u8(0x10_0000), 0x12);
        // A word at FFFFFh takes its high byte from address 0.
        m.write_u8(0xF_FFFF, 0x34);
        assert_eq!(m.read_u16(0xF_FFFF), 0x1234);
    }

    #[test]
    fn a20_gate_aliases_odd_megabytes() {
        let mut m = Memory::new(0x40_0000, 24).unwrap();
        m.write_u8(0x10_0005, 0xAA);
        m.write_u8(0x00_0005, 0x55);
        m.write_u8(0x30_0005, 0x77);
        m.write_u8(0x20_0005, 0x66);
        assert_eq!(m.read_u8(0x10_0005), 0xAA);
        m.set_a20(false);
        // Line 20 forced low: 1xxxxxh reads 0xxxxxh, 3xxxxxh reads 2xxxxxh.
        assert_eq!(m.read_u8(0x10_0005), 0x55);
        assert_eq!(m.read_u8(0x30_0005), 0x66);
        m.write_u8(0x10_0006, 0x99);
        assert_eq!(m.read_u8(0x00_0006), 0x99);
        m.set_a20(true);
        assert_eq!(m.read_u8(0x10_0005), 0xAA);
        assert_eq!(m.read_u8(0x10_0006), 0x00);
    }

    #[test]
    fn word_straddling_a20_wrap_uses_two_bus_addresses() {
        let mut m = Memory::new(0x20_0000, 24).unwrap();
        m.write_u8(0x10_0000, 0x03);
        m.set_a20(false);
        m.write_u8(0xF_FFFF, 0x01);
        m.write_u8(0x0, 0x02);
        // With A20 off the high byte comes from 0 (the 8086-compatible wrap).
        assert_eq!(m.read_u16(0xF_FFFF), 0x0201);
        m.set_a20(true);
        // With A20 on it comes from 100000h.
        assert_eq!(m.read_u16(0xF_FFFF), 0x0301);
    }

    #[test]
    fn a20_off_words_above_one_megabyte_use_two_bus_addresses() {
        // With A20 off, 2FFFFFh and its successor 300000h are bus addresses 2FFFFFh and
        // 200000h: not neighbours in RAM.
        let mut m = Memory::new(0x40_0000, 24).unwrap();
        m.write_u8(0x2F_FFFF, 0x01);
        m.write_u8(0x20_0000, 0x02);
        m.write_u8(0x30_0000, 0x03);
        m.set_a20(false);
        assert_eq!(m.read_u16(0x2F_FFFF), 0x0201);
        assert_eq!(m.read_u32(0x2F_FFFE), 0x0002_0100);
        m.set_a20(true);
        assert_eq!(m.read_u16(0x2F_FFFF), 0x0301);
    }

    #[test]
    fn doubleword_at_the_top_of_a_24_bit_bus_wraps_to_zero() {
        let mut m = Memory::new(0x100_0000, 24).unwrap(); // 16 MiB: the whole bus is RAM
        m.write_u8(0xFF_FFFF, 0x44);
        m.write_bytes(0, &[0x55, 0x66, 0x77]);
        assert_eq!(m.read_u32(0xFF_FFFF), 0x7766_5544);
    }

    #[test]
    fn unmapped_reads_open_bus_and_ignores_writes() {
        let mut m = Memory::new(0x8_0000, 24).unwrap(); // 512 KiB: A0000h.. is unmapped
        assert_eq!(m.read_u8(0xA_0000), 0xFF);
        m.write_u8(0xA_0000, 0);
        assert_eq!(m.read_u16(0xA_0000), 0xFFFF);
        // Beyond the map entirely (14 MiB on a 24-bit bus).
        assert_eq!(m.read_u32(0xE0_0000), 0xFFFF_FFFF);
        m.write_u32(0xE0_0000, 0);
    }

    #[test]
    fn pages_remap_and_rom_ignores_writes() {
        let mut m = Memory::new(0x10_0000, 24).unwrap();
        let rom = m.alloc_store(1).unwrap();
        m.store_page_mut(rom).unwrap()[0..2].copy_from_slice(&[0xEA, 0x5B]);
        m.map_page(0xFF, rom, Access::ReadOnly).unwrap();
        assert_eq!(m.read_u16(0xF_F000), 0x5BEA);
        m.write_u8(0xF_F000, 0);
        assert_eq!(m.read_u8(0xF_F000), 0xEA);
        // Two physical pages sharing one store page see each other's writes (EMS window).
        let ram5 = m.ram_page(5).unwrap();
        m.map_page(0xE0, ram5, Access::ReadWrite).unwrap();
        m.write_u8(0xE_0010, 0x42);
        assert_eq!(m.read_u8(0x5010), 0x42);
        assert_eq!(m.page_mapping(0xE0), Some((ram5, Access::ReadWrite)));
        m.unmap_page(0xE0).unwrap();
        assert_eq!(m.read_u8(0xE_0010), 0xFF);
        assert_eq!(m.page_mapping(0xE0), None);
        assert!(m.map_page(0x1000, ram5, Access::ReadWrite).is_err());
        assert!(
            m.map_page(0x10, StorePage(0x9999), Access::ReadWrite)
                .is_err()
        );
    }

    #[test]
    fn direct_region_follows_the_page_map() {
        let mut m = Memory::new(0x10_0000, 24).unwrap();
        m.write_u16(0x5FFF, 0xBBAA);
        assert_eq!(m.read_u16(0x5FFF), 0xBBAA); // across pages, inside the direct region
        // Mapping page 5 elsewhere ends the identity run there; reads still follow the map.
        let rom = m.alloc_store(1).unwrap();
        m.store_page_mut(rom).unwrap()[0xFFF] = 0x11;
        m.map_page(5, rom, Access::ReadOnly).unwrap();
        assert_eq!(m.read_u16(0x5FFF), 0xBB11);
        assert_eq!(m.read_u8(0x4000), 0);
    }

    #[test]
    fn writes_to_decoded_code_bump_the_page_generation() {
        let mut m = Memory::new(0x10_0000, 24).unwrap();
        m.write_bytes(0x1000, &[0x90, 0x90, 0xC3]);
        m.mark_code(0x1000, 3);
        let g = m.code_generation(1);
        // Data next to the code, and rewriting a code byte with its own value, change nothing.
        m.write_u16(0x1010, 0x1234);
        m.write_u8(0x1001, 0x90);
        let epoch = m.cache_epoch();
        assert_eq!((m.code_generation(1), m.cache_epoch()), (g, epoch));
        // Changing a decoded byte (through any width) invalidates the page's decodes.
        m.write_u16(0x0FFF, 0x4040);
        assert_eq!(m.code_generation(1), g + 1);
        assert_eq!(m.cache_epoch(), epoch + 1);
        assert_eq!(m.read_u16(0x0FFF), 0x4040);
        // The marks are gone: further writes are plain.
        m.write_u8(0x1001, 0x00);
        assert_eq!(m.cache_epoch(), epoch + 1);
    }

    #[test]
    fn cached_page_hashes_follow_every_kind_of_write() {
        // 64 KiB of RAM and a ROM page; page 3 also appears at 0Eh (an alias), page 0Dh is
        // ROM, page 0Ch unmapped; pages 1 and 2 hold decoded code. Writes of every width at
        // pseudo-random addresses (many crossing pages), with refreshes in between: the
        // cached hashes always equal the hashes of the bytes.
        let mut m = Memory::new(0x1_0000, 24).unwrap();
        let rom = m.alloc_store(1).unwrap();
        m.map_page(0xD, rom, Access::ReadOnly).unwrap();
        m.map_page(0xE, m.ram_page(3).unwrap(), Access::ReadWrite)
            .unwrap();
        m.unmap_page(0xC).unwrap();
        m.mark_code(0x1000, 16);
        m.mark_code(0x2FF0, 16);
        let fresh = |m: &Memory| -> Vec<u64> {
            m.store()
                .chunks(4096)
                .map(xxhash_rust::xxh3::xxh3_64)
                .collect()
        };
        let mut x: u32 = 0x1234_5678;
        for step in 0..4000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let addr = (x >> 8) % 0x1_0000;
            match x % 7 {
                0 => m.write_u8(addr, x as u8),
                1 => m.write_u16(addr, x as u16),
                2 => m.write_u32(addr, x),
                3 => m.write_u32(addr | 0xFFE, x), // across a page boundary
                4 => m.write_u16(addr | 0xFFF, x as u16),
                5 => m.refresh_page_hashes(),
                _ => {
                    if step % 50 == 0 {
                        m.mark_code((addr & !0xF) as usize, 8);
                    }
                }
            }
            assert_eq!(
                m.page_hashes().collect::<Vec<_>>(),
                fresh(&m),
                "step {step}"
            );
            // A page holding a byte that is not zero is never taken for a page of zeros.
            for (p, bytes) in m.store().chunks(4096).enumerate() {
                assert!(
                    m.store_page_may_be_nonzero(p) || bytes.iter().all(|&b| b == 0),
                    "step {step}, page {p}"
                );
            }
            if step % 200 == 0 {
                assert_eq!(m.clone().store(), m.store(), "step {step}");
            }
        }
        m.refresh_page_hashes();
        assert_eq!(m.page_hashes().collect::<Vec<_>>(), fresh(&m));
        // The clean bits are not state: equal and encoded alike with and without them.
        let copy: Memory = bincode::serde::decode_from_slice(
            &bincode::serde::encode_to_vec(&m, bincode::config::standard()).unwrap(),
            bincode::config::standard(),
        )
        .unwrap()
        .0;
        assert!(copy == m);
    }

    #[test]
    fn a_clone_is_equal_and_independent_and_copies_only_written_pages() {
        // 64 pages of RAM and two allocated pages, written every way: the first write to a
        // page of a new memory, a write across two pages, a store page's bytes, a page
        // allocated later and mapped, a write after a refresh.
        let mut m = Memory::new(0x4_0000, 24).unwrap();
        m.write_u8(0x1005, 1);
        m.write_u32(0x2FFE, 0xAABB_CCDD);
        let extra = m.alloc_store(2).unwrap();
        assert_eq!(
            (m.read_u8(0x1005), m.read_u32(0x2FFE)),
            (1, 0xAABB_CCDD),
            "growing the store keeps its bytes"
        );
        m.store_page_mut(extra).unwrap()[7] = 9;
        m.map_page(0xD0, extra.offset(1), Access::ReadWrite)
            .unwrap();
        m.write_u16(0xD_0010, 0x1234);
        m.refresh_page_hashes();
        m.write_u8(0x5000, 3);
        // Exactly the written pages may hold something other than zeros.
        let written: Vec<usize> = (0..66)
            .filter(|&p| m.store_page_may_be_nonzero(p))
            .collect();
        assert_eq!(written, [1, 2, 3, 5, 64, 65]);
        let mut c = m.clone();
        assert!(c == m);
        assert_eq!(c.store(), m.store());
        assert!(c.page_hashes().eq(m.page_hashes()));
        assert_eq!(c.map_hash(), m.map_hash());
        // A page written after cloning differs in the clone only; pages never written read
        // as zeros in both.
        c.write_u8(0x6000, 7);
        assert_eq!((m.read_u8(0x6000), c.read_u8(0x6000)), (0, 7));
        assert!(c.store_page_may_be_nonzero(6) && !m.store_page_may_be_nonzero(6));
        assert!(c != m);
        assert!(m.store()[0x7000..].iter().take(0x1000).all(|&b| b == 0));
        // A decoded memory knows nothing of its pages: all may be non-zero, all are copied.
        let decoded: Memory = bincode::serde::decode_from_slice(
            &bincode::serde::encode_to_vec(&m, bincode::config::standard()).unwrap(),
            bincode::config::standard(),
        )
        .unwrap()
        .0;
        assert!((0..66).all(|p| decoded.store_page_may_be_nonzero(p)));
        assert!(decoded.clone() == m);
    }

    #[test]
    fn multibyte_access_across_pages() {
        let mut m = Memory::new(0x2_0000, 24).unwrap();
        m.write_u32(0x0FFE, 0xDDCC_BBAA);
        assert_eq!(m.read_bytes(0x0FFE, 4), vec![0xAA, 0xBB, 0xCC, 0xDD]);
        assert_eq!(m.read_u32(0x0FFE), 0xDDCC_BBAA);
        assert_eq!(m.read_u16(0x0FFF), 0xCCBB);
        let i = m.readable_index(0x0FFE).unwrap();
        assert_eq!(&m.store()[i..i + 2], &[0xAA, 0xBB]);
        assert_eq!(m.readable_index(0x2_0000), None);
    }
}
