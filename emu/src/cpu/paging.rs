//! 80386 paging: linear to physical addresses through the two-level page tables, with the
//! accessed and dirty bits, the U/S and R/W checks, and page faults (#PF, CR2, error code).
//!
//! Source: Intel *80386 Programmer's Reference Manual* (1986) 5.2 (page translation, figure
//! 5-9 and 5-10 the directory and table entries), 6.4 (page-level protection: table 6-5
//! combining directory and table protection) and 9.8.14 (interrupt 14, the error code).
//!
//! Translations are cached in a small TLB that is a cache and not machine state: it holds
//! only what a walk of the tables in memory would give now. Every walk marks the directory
//! and table entries it used in memory's code tracker, so any write to them moves memory's
//! cache epoch, and the TLB empties whenever that epoch moves (and on every CR3 write and
//! paging switch). What an instruction does therefore depends only on memory and registers,
//! and a snapshot taken anywhere continues identically. A program that changes a page-table
//! entry sees the change at once, where an 80386 might still use its cached entry until CR3
//! is written; software that is correct on the 80386 flushes after such changes and cannot
//! tell the difference. An entry is cached only after the walk set its accessed bits (and,
//! for a write, its dirty bit), so a hit never has to write them.
//!
//! Protection (80386, no CR0.WP): supervisor accesses (CPL 0-2, and the processor's own
//! accesses to descriptor tables and TSSs) may read and write every present page; user
//! accesses (CPL 3) need U/S set in both the directory and the table entry, and writes need
//! R/W set in both. The error code: bit 0 P (0 = the page was not present, 1 = a protection
//! violation), bit 1 W/R (a write), bit 2 U/S (a user access).

use super::{Cpu, Fault, R};
use crate::bus::Bus;

/// TLB entries (direct-mapped by the low bits of the linear page number).
const TLB_ENTRIES: usize = 256;
/// [`TlbEntry::flags`]: a CPL-3 read may use the page.
const TLB_USER_READ: u8 = 1;
/// A CPL-3 write may use the page.
const TLB_USER_WRITE: u8 = 2;
/// The PTE's dirty bit is set: writes need no walk.
const TLB_DIRTY: u8 = 4;

#[derive(Clone, Copy, Debug, Default)]
struct TlbEntry {
    /// Linear page number + 1; 0 is empty.
    tag: u32,
    /// Physical frame address.
    frame: u32,
    flags: u8,
}

/// The translation cache (not machine state: see the module documentation).
#[derive(Clone, Debug, Default)]
pub(crate) struct Tlb {
    entries: Vec<TlbEntry>,
    /// Memory's cache epoch the entries were made under.
    epoch: u64,
}

impl Tlb {
    /// Forgets every translation.
    pub(crate) fn flush(&mut self) {
        self.entries.clear();
    }
}

const P: u32 = 1;
const RW: u32 = 1 << 1;
const US: u32 = 1 << 2;
const ACCESSED: u32 = 1 << 5;
const DIRTY: u32 = 1 << 6;

/// The two entries a translation used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageWalk {
    pub(crate) pde_at: u32,
    pub(crate) pde: u32,
    pub(crate) pte_at: u32,
    pub(crate) pte: u32,
}

impl PageWalk {
    /// The physical address of linear `lin` under this walk.
    pub(crate) fn physical(&self, lin: u32) -> u32 {
        (self.pte & 0xFFFF_F000) | (lin & 0xFFF)
    }
}

/// Reads the directory and table entries for `lin` under `cr3` and applies the 80386's
/// checks (section 6.4), changing nothing; `Err` is the #PF error code.
fn lookup(
    cr3: u32,
    mem: &crate::mem::Memory,
    lin: u32,
    write: bool,
    user: bool,
) -> Result<PageWalk, u16> {
    let pde_at = (cr3 & 0xFFFF_F000) | ((lin >> 20) & 0xFFC);
    let pde = mem.read_u32(pde_at);
    let code = (u16::from(write) << 1) | (u16::from(user) << 2);
    if pde & P == 0 {
        return Err(code);
    }
    let pte_at = (pde & 0xFFFF_F000) | ((lin >> 10) & 0xFFC);
    let pte = mem.read_u32(pte_at);
    if pte & P == 0 {
        return Err(code);
    }
    if user {
        let both = pde & pte;
        if both & US == 0 || (write && both & RW == 0) {
            return Err(code | 1);
        }
    }
    Ok(PageWalk {
        pde_at,
        pde,
        pte_at,
        pte,
    })
}

/// Sets the accessed bits of a walk's entries (and the table entry's dirty bit for a
/// write) as the 80386 does when it uses them.
pub(crate) fn mark_used(mem: &mut crate::mem::Memory, w: &PageWalk, write: bool) {
    let pde = mem.read_u32(w.pde_at);
    if pde & ACCESSED == 0 {
        mem.write_u32(w.pde_at, pde | ACCESSED);
    }
    let want = ACCESSED | if write { DIRTY } else { 0 };
    let pte = mem.read_u32(w.pte_at);
    if pte & want != want {
        mem.write_u32(w.pte_at, pte | want);
    }
}

impl Cpu {
    /// The physical address of linear address `lin`, setting accessed and dirty bits, or
    /// #PF with CR2 = `lin`.
    #[inline]
    pub(crate) fn translate<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        write: bool,
        user: bool,
    ) -> R<u32> {
        let page = lin >> 12;
        if self.tlb.epoch == bus.memory_ref().cache_epoch()
            && let Some(e) = self.tlb.entries.get(page as usize % TLB_ENTRIES)
            && e.tag == page + 1
        {
            let need = match (user, write) {
                (false, false) => 0,
                (false, true) => TLB_DIRTY,
                (true, false) => TLB_USER_READ,
                (true, true) => TLB_USER_WRITE | TLB_DIRTY,
            };
            if e.flags & need == need {
                return Ok(e.frame | (lin & 0xFFF));
            }
        }
        self.walk(bus, lin, write, user)
    }

    /// The physical address of linear `lin` if the translation cache holds it for this
    /// access now; changes nothing (for filling the memory-operand cache after an access
    /// that just made the translation).
    pub(crate) fn tlb_peek(
        &self,
        mem: &crate::mem::Memory,
        lin: u32,
        write: bool,
        user: bool,
    ) -> Option<u32> {
        let page = lin >> 12;
        let e = self.tlb.entries.get(page as usize % TLB_ENTRIES)?;
        let need = match (user, write) {
            (false, false) => 0,
            (false, true) => TLB_DIRTY,
            (true, false) => TLB_USER_READ,
            (true, true) => TLB_USER_WRITE | TLB_DIRTY,
        };
        (self.tlb.epoch == mem.cache_epoch() && e.tag == page + 1 && e.flags & need == need)
            .then_some(e.frame | (lin & 0xFFF))
    }

    /// A walk of the page tables, caching its result.
    #[inline(never)]
    fn walk<B: Bus>(&mut self, bus: &mut B, lin: u32, write: bool, user: bool) -> R<u32> {
        let mem = bus.memory();
        let e = match lookup(self.cr3, mem, lin, write, user) {
            Ok(e) => e,
            Err(code) => return Err(self.page_fault(lin, code)),
        };
        mark_used(mem, &e, write);
        let (pde_at, pde, pte_at, pte) = (e.pde_at, e.pde, e.pte_at, e.pte);
        let frame = pte & 0xFFFF_F000;
        // Cache it: writes to the two entries from now on move memory's cache epoch.
        // The memory-operand cache may hold a write entry for their page made before they
        // were marked (see `block/memtlb.rs`).
        for at in [pde_at, pte_at] {
            if let Some(i) = mem.readable_index(at) {
                mem.mark_code(i, 4);
                self.mtlb.forget_store_page(i >> 12);
            }
        }
        let now = mem.cache_epoch();
        if self.tlb.epoch != now || self.tlb.entries.is_empty() {
            self.tlb.entries.clear();
            self.tlb.entries.resize(TLB_ENTRIES, TlbEntry::default());
            self.tlb.epoch = now;
        }
        let both = pde & pte;
        let mut flags = 0;
        if both & US != 0 {
            flags |= TLB_USER_READ;
            if both & RW != 0 {
                flags |= TLB_USER_WRITE;
            }
        }
        if pte & DIRTY != 0 || write {
            flags |= TLB_DIRTY;
        }
        if let Some(e) = self.tlb.entries.get_mut((lin >> 12) as usize % TLB_ENTRIES) {
            *e = TlbEntry {
                tag: (lin >> 12) + 1,
                frame,
                flags,
            };
        }
        Ok(frame | (lin & 0xFFF))
    }

    #[cold]
    fn page_fault(&mut self, lin: u32, code: u16) -> Fault {
        self.cr2 = lin;
        Fault { vector: 14, code }
    }

    /// Reads `len` bytes at linear `lin` through the page tables, page by page.
    #[inline(never)]
    pub(crate) fn paged_read<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        len: u32,
        user: bool,
    ) -> R<u32> {
        let first = self.translate(bus, lin, false, user)?;
        if (lin & 0xFFF) + len <= 0x1000 {
            let mem = bus.memory_ref();
            return Ok(match len {
                1 => u32::from(mem.read_u8(first)),
                2 => u32::from(mem.read_u16(first)),
                _ => mem.read_u32(first),
            });
        }
        // Crossing into the next page: both pages are translated before any byte is read.
        let split = 0x1000 - (lin & 0xFFF);
        let second = self.translate(bus, lin.wrapping_add(split), false, user)?;
        let mem = bus.memory_ref();
        let mut v = 0;
        for i in 0..len {
            let a = if i < split {
                first + i
            } else {
                second + (i - split)
            };
            v |= u32::from(mem.read_u8(a)) << (8 * i);
        }
        Ok(v)
    }

    /// Writes the low `len` bytes of `v` at linear `lin` through the page tables.
    #[inline(never)]
    pub(crate) fn paged_write<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        len: u32,
        v: u32,
        user: bool,
    ) -> R<()> {
        let first = self.translate(bus, lin, true, user)?;
        if (lin & 0xFFF) + len <= 0x1000 {
            let mem = bus.memory();
            match len {
                1 => mem.write_u8(first, v as u8),
                2 => mem.write_u16(first, v as u16),
                _ => mem.write_u32(first, v),
            }
            return Ok(());
        }
        let split = 0x1000 - (lin & 0xFFF);
        let second = self.translate(bus, lin.wrapping_add(split), true, user)?;
        let mem = bus.memory();
        for i in 0..len {
            let a = if i < split {
                first + i
            } else {
                second + (i - split)
            };
            mem.write_u8(a, (v >> (8 * i)) as u8);
        }
        Ok(())
    }

    /// A read of `len` (1, 2 or 4) bytes at linear `lin` that passed its segment checks:
    /// a hit in the translation cache within one page reads at once, anything else walks.
    #[inline(always)]
    pub(crate) fn tlb_read<B: Bus>(&mut self, bus: &mut B, lin: u32, len: u32) -> R<u32> {
        let page = lin >> 12;
        let user = self.cpl == 3;
        if self.tlb.epoch == bus.memory_ref().cache_epoch()
            && (lin & 0xFFF) <= 0x1000 - len
            && let Some(e) = self.tlb.entries.get(page as usize % TLB_ENTRIES)
            && e.tag == page + 1
            && (!user || e.flags & TLB_USER_READ != 0)
        {
            let a = e.frame | (lin & 0xFFF);
            let mem = bus.memory_ref();
            return Ok(match len {
                1 => u32::from(mem.read_u8(a)),
                2 => u32::from(mem.read_u16(a)),
                _ => mem.read_u32(a),
            });
        }
        self.paged_read(bus, lin, len, user)
    }

    /// A write of the low `len` bytes of `v` at linear `lin` that passed its segment
    /// checks (see [`Cpu::tlb_read`]).
    #[inline(always)]
    pub(crate) fn tlb_write<B: Bus>(&mut self, bus: &mut B, lin: u32, len: u32, v: u32) -> R<()> {
        let page = lin >> 12;
        let user = self.cpl == 3;
        let need = if user {
            TLB_DIRTY | TLB_USER_WRITE
        } else {
            TLB_DIRTY
        };
        if self.tlb.epoch == bus.memory_ref().cache_epoch()
            && (lin & 0xFFF) <= 0x1000 - len
            && let Some(e) = self.tlb.entries.get(page as usize % TLB_ENTRIES)
            && e.tag == page + 1
            && e.flags & need == need
        {
            let a = e.frame | (lin & 0xFFF);
            let mem = bus.memory();
            match len {
                1 => mem.write_u8(a, v as u8),
                2 => mem.write_u16(a, v as u16),
                _ => mem.write_u32(a, v),
            }
            return Ok(());
        }
        self.paged_write(bus, lin, len, v, user)
    }

    /// The walk that translates linear `lin` for an access at privilege `user` now, or the
    /// #PF error code it would raise; changes nothing (no accessed bits, no TLB, no CR2).
    /// For the firmware, whose services address memory as the interrupted code would.
    pub(crate) fn peek_translation(
        &self,
        mem: &crate::mem::Memory,
        lin: u32,
        write: bool,
        user: bool,
    ) -> Result<PageWalk, u16> {
        lookup(self.cr3, mem, lin, write, user)
    }

    /// The physical address code at linear `lin` is fetched from (a user fetch at CPL 3).
    pub(crate) fn code_address<B: Bus>(&mut self, bus: &mut B, lin: u32) -> R<u32> {
        if self.paged() {
            let user = self.cpl == 3;
            self.translate(bus, lin, false, user)
        } else {
            Ok(lin)
        }
    }
}
