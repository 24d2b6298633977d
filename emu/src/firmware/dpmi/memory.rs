//! The DPMI host's memory: the page tables, DOS memory (Int 31h 0100h-0102h), linear
//! memory blocks (0500h-0503h), locking and page size (0600h-0604h, 0702h, 0703h) and
//! physical address mapping (0800h, 0801h).
//!
//! Page tables: 80386 PRM 5.2 (directory and table entries: P, R/W, U/S). Memory blocks
//! come from XMS (each block one XMS allocation, locked, so every page is present and
//! locked: there is no virtual memory, and 0600h-0603h, 0702h and 0703h succeed without
//! changing anything).

use crate::firmware::dos::sda;
use serde::{Deserialize, Serialize};

use super::descriptors::{self, DATA};
use super::{Client, Owner, err};
use crate::cpu::{Reg32, SegReg};
use crate::firmware::{Ctx, Firmware};

/// Offsets in the host's block.
pub(super) const PAGE_DIRECTORY: u32 = 0x0000;
const FIRST_TABLE: u32 = 0x1000;
/// Eight page tables for blocks and mappings: linear 400000h-23FFFFFh.
const POOL: u32 = 0x8000;
const POOL_TABLES: u32 = 8;
/// Where blocks and mappings start, and where the space ends.
pub(super) const CLIENT_LINEAR: u32 = 0x0040_0000;
const LINEAR_END: u32 = CLIENT_LINEAR + POOL_TABLES * 0x0040_0000;
/// Pages below this are the client's (DOS memory and the HMA): user-accessible.
const USER_PAGES: u32 = 0x110;

const PRESENT_RW: u32 = 3;
const USER: u32 = 4;
const PAGE: u32 = 0x1000;

/// One 0501h block or 0800h mapping.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Block {
    handle: u32,
    linear: u32,
    /// Bytes, a multiple of the page size.
    size: u32,
    physical: u32,
    /// The XMS block behind it (`None` for a physical mapping).
    pub(super) xms_handle: Option<u16>,
}

/// What a linear address of the client's is: inside a 0501h block or an 0800h mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinearPlace {
    /// The block's DPMI handle (0501h's SI:DI), or `None` for a physical mapping.
    pub handle: Option<u32>,
    /// The XMS block behind a 0501h block.
    pub xms_handle: Option<u16>,
    /// The first linear address of the block or mapping.
    pub start: u32,
    /// The address's offset in it.
    pub offset: u32,
    /// The physical address the offset maps to.
    pub physical: u32,
}

impl Block {
    fn place_of(&self, linear: u32) -> Option<LinearPlace> {
        let offset = linear.checked_sub(self.linear).filter(|&k| k < self.size)?;
        Some(LinearPlace {
            handle: self.xms_handle.map(|_| self.handle),
            xms_handle: self.xms_handle,
            start: self.linear,
            offset,
            physical: self.physical.wrapping_add(offset),
        })
    }
}

/// Where `linear` lies among the client's blocks and mappings.
pub(super) fn locate_linear(client: &Client, linear: u32) -> Option<LinearPlace> {
    client.blocks.iter().find_map(|b| b.place_of(linear))
}

/// The client's linear addresses of physical address `physical`, one per block or mapping
/// that covers it.
pub(super) fn linear_of_physical(client: &Client, physical: u32) -> Vec<u32> {
    client
        .blocks
        .iter()
        .filter_map(|b| {
            let k = physical.checked_sub(b.physical).filter(|&k| k < b.size)?;
            Some(b.linear.wrapping_add(k))
        })
        .collect()
}

/// The page directory and the first table (one to one for 4 MiB), and the empty pool.
pub(super) fn build_page_tables(client: &Client, ctx: &mut Ctx) {
    if !client.paged {
        return;
    }
    let t = client.tables;
    let mem = ctx.mem();
    mem.write_u32(t + PAGE_DIRECTORY, (t + FIRST_TABLE) | PRESENT_RW | USER);
    for k in 0..POOL_TABLES {
        mem.write_u32(
            t + PAGE_DIRECTORY + 4 * (1 + k),
            (t + POOL + k * PAGE) | PRESENT_RW | USER,
        );
    }
    for page in 0..1024 {
        let user = if page < USER_PAGES { USER } else { 0 };
        mem.write_u32(t + FIRST_TABLE + 4 * page, (page << 12) | PRESENT_RW | user);
    }
}

/// Maps `size` bytes at `linear` (page-aligned, in the pool) to `physical`, or unmaps
/// them (`physical` = `None`).
fn map(client: &Client, ctx: &mut Ctx, linear: u32, size: u32, physical: Option<u32>) {
    for k in 0..size / PAGE {
        let page = (linear - CLIENT_LINEAR) / PAGE + k;
        let at = client.tables + POOL + 4 * page;
        let entry = physical.map_or(0, |p| (p + k * PAGE) | PRESENT_RW | USER);
        ctx.mem().write_u32(at, entry);
    }
}

/// A new block or mapping of `size` bytes: its linear address (the physical one without
/// paging), or 8012h.
fn place(client: &mut Client, size: u32, physical: u32) -> Result<u32, u16> {
    if !client.paged {
        return Ok(physical);
    }
    let linear = client.next_linear;
    if LINEAR_END - linear < size {
        return Err(err::NO_LINEAR);
    }
    client.next_linear += size;
    Ok(linear)
}

fn pages(bytes: u32) -> u32 {
    bytes.div_ceil(PAGE)
}

/// Int 31h 0500h-0503h, 0600h-0604h, 0702h, 0703h, 0800h, 0801h.
pub(super) fn service(fw: &mut Firmware, ax: u16, ctx: &mut Ctx) -> Result<(), u16> {
    let bxcx = (u32::from(ctx.bx()) << 16) | u32::from(ctx.cx());
    let sidi = (u32::from(ctx.si()) << 16) | u32::from(ctx.di());
    let (largest_kb, total_kb) = fw.xms.as_ref().map_or((0, 0), |x| x.free_extended_kb());
    let ram = ctx.bus.mem.ram_size();
    let client = super::client_mut(fw)?;
    match ax {
        0x0500 => {
            let linear_free = LINEAR_END.saturating_sub(client.next_linear);
            let mut largest = largest_kb.saturating_mul(1024) & !(PAGE - 1);
            if client.paged {
                largest = largest.min(linear_free);
            }
            if client.max_kb != 0 {
                largest = largest.min(
                    client
                        .max_kb
                        .saturating_mul(1024)
                        .saturating_sub(client.used()),
                );
            }
            let free_pages = total_kb / 4;
            let info = [
                largest,
                largest / PAGE,
                largest / PAGE,
                (LINEAR_END - CLIENT_LINEAR) / PAGE,
                free_pages,
                free_pages,
                ram / PAGE,
                linear_free / PAGE,
                u32::MAX,
                u32::MAX,
                u32::MAX,
                u32::MAX,
            ];
            let at = super::operand(ctx, client.bits32, SegReg::ES, Reg32::EDI);
            for (i, v) in info.iter().enumerate() {
                ctx.write_linear(at.wrapping_add(4 * i as u32), 4, *v);
            }
            Ok(())
        }
        0x0501 => {
            let (linear, handle) = allocate(fw, ctx, bxcx)?;
            set_pair(ctx, linear, handle);
            Ok(())
        }
        0x0502 => {
            let i = find(client, sidi)?;
            free(fw, ctx, i);
            Ok(())
        }
        0x0503 => {
            let i = find(client, sidi)?;
            let old = client.blocks[i].clone();
            let (linear, handle) = allocate(fw, ctx, bxcx)?;
            let client = super::client_mut(fw)?;
            let Some(new) = client.blocks.iter().find(|b| b.handle == handle).cloned() else {
                return Err(err::INVALID_HANDLE);
            };
            let data = ctx
                .bus
                .mem
                .read_bytes(old.physical, old.size.min(new.size) as usize);
            ctx.mem().write_bytes(new.physical, &data);
            if let Ok(j) = find(client, old.handle) {
                free(fw, ctx, j);
            }
            set_pair(ctx, linear, handle);
            Ok(())
        }
        0x0600..=0x0603 | 0x0702 | 0x0703 => Ok(()),
        0x0604 => {
            if !client.paged {
                return Err(err::UNSUPPORTED);
            }
            ctx.set_bx(0);
            ctx.set_cx(PAGE as u16);
            Ok(())
        }
        0x0800 => {
            if sidi == 0 || bxcx < 0x10_0000 || bxcx.checked_add(sidi).is_none() {
                return Err(err::INVALID_VALUE);
            }
            let first = bxcx & !(PAGE - 1);
            // Whole pages; a range ending in the last page of the 4 GiB space does not fit
            // in 32 bits of size and is refused.
            let size = pages(bxcx - first + sidi)
                .checked_mul(PAGE)
                .ok_or(err::INVALID_VALUE)?;
            let (linear, _) = add_block(client, ctx, size, first, None)?;
            let result = linear + (bxcx - first);
            ctx.set_bx((result >> 16) as u16);
            ctx.set_cx(result as u16);
            Ok(())
        }
        _ => {
            // 0801h: the mapping that contains BX:CX.
            let i = client
                .blocks
                .iter()
                .position(|b| {
                    b.xms_handle.is_none() && bxcx >= b.linear && bxcx - b.linear < b.size
                })
                .ok_or(err::INVALID_LINEAR)?;
            free(fw, ctx, i);
            Ok(())
        }
    }
}

fn set_pair(ctx: &mut Ctx, linear: u32, handle: u32) {
    ctx.set_bx((linear >> 16) as u16);
    ctx.set_cx(linear as u16);
    ctx.set_si((handle >> 16) as u16);
    ctx.set_di(handle as u16);
}

fn find(client: &Client, handle: u32) -> Result<usize, u16> {
    client
        .blocks
        .iter()
        .position(|b| b.handle == handle && b.xms_handle.is_some())
        .ok_or(err::INVALID_HANDLE)
}

/// A 0501h block of `bytes`: (linear address, handle).
fn allocate(fw: &mut Firmware, ctx: &mut Ctx, bytes: u32) -> Result<(u32, u32), u16> {
    if bytes == 0 {
        return Err(err::INVALID_VALUE);
    }
    let size = pages(bytes).checked_mul(PAGE).ok_or(err::NO_PHYSICAL)?;
    let client = super::client(fw)?;
    if client.max_kb != 0 && client.used().saturating_add(size) > client.max_kb.saturating_mul(1024)
    {
        return Err(err::NO_PHYSICAL);
    }
    if client.paged && LINEAR_END - client.next_linear < size {
        return Err(err::NO_LINEAR);
    }
    let xms = fw.xms.as_mut().ok_or(err::NO_PHYSICAL)?;
    let (xms_handle, physical) = xms
        .host_allocate(ctx, size / 1024)
        .map_err(|_| err::NO_PHYSICAL)?;
    let client = super::client_mut(fw)?;
    let placed = add_block(client, ctx, size, physical, Some(xms_handle));
    if placed.is_err()
        && let Some(x) = fw.xms.as_mut()
    {
        x.host_free(ctx, xms_handle);
    }
    placed
}

/// Places and maps a block or mapping of `size` bytes at `physical` and records it:
/// (linear address, handle).
fn add_block(
    client: &mut Client,
    ctx: &mut Ctx,
    size: u32,
    physical: u32,
    xms_handle: Option<u16>,
) -> Result<(u32, u32), u16> {
    let linear = place(client, size, physical)?;
    if client.paged {
        map(client, ctx, linear, size, Some(physical));
    }
    let handle = client.next_handle;
    client.next_handle += 1;
    client.blocks.push(Block {
        handle,
        linear,
        size,
        physical,
        xms_handle,
    });
    Ok((linear, handle))
}

/// Frees block or mapping `i`: its pages unmapped, its XMS block freed. (Linear space is
/// not reused: 32 MiB is far more than a client of the period asks for.)
fn free(fw: &mut Firmware, ctx: &mut Ctx, i: usize) {
    let Ok(client) = super::client_mut(fw) else {
        return;
    };
    let b = client.blocks.remove(i);
    if client.paged {
        map(client, ctx, b.linear, b.size, None);
    }
    if let (Some(h), Some(x)) = (b.xms_handle, fw.xms.as_mut()) {
        x.host_free(ctx, h);
    }
}

impl Client {
    /// Bytes of memory blocks the client holds.
    fn used(&self) -> u32 {
        self.blocks
            .iter()
            .filter(|b| b.xms_handle.is_some())
            .map(|b| b.size)
            .sum()
    }
}

/// Int 31h 0100h-0102h: DOS memory with descriptors (one per 64 KiB, consecutive).
pub(super) fn dos_memory(fw: &mut Firmware, ax: u16, ctx: &mut Ctx) -> Result<(), u16> {
    let owner = sda::current_psp(ctx);
    match ax {
        0x0100 => {
            let paras = ctx.bx();
            let seg = match fw.dos.arena.alloc(ctx, paras, owner) {
                Ok(seg) => seg,
                Err((e, largest)) => {
                    ctx.set_bx(largest);
                    return Err(e);
                }
            };
            let client = super::client_mut(fw)?;
            match dos_selectors(client, ctx, seg, paras) {
                Some(sel) => {
                    ctx.set_ax(seg);
                    ctx.set_dx(sel);
                    Ok(())
                }
                None => {
                    let _ = fw.dos.arena.free(ctx, seg);
                    Err(err::NO_DESCRIPTOR)
                }
            }
        }
        0x0101 => {
            let sel = ctx.dx();
            let client = super::client_mut(fw)?;
            let i = client
                .dos_blocks
                .iter()
                .position(|&(_, s, _)| s == sel)
                .ok_or(err::INVALID_SELECTOR)?;
            let (seg, first, count) = client.dos_blocks[i];
            fw.dos.arena.free(ctx, seg)?;
            let client = super::client_mut(fw)?;
            client.dos_blocks.remove(i);
            release(client, ctx, first, count);
            Ok(())
        }
        _ => {
            let (sel, paras) = (ctx.dx(), ctx.bx());
            let client = super::client(fw)?;
            let i = client
                .dos_blocks
                .iter()
                .position(|&(_, s, _)| s == sel)
                .ok_or(err::INVALID_SELECTOR)?;
            let (seg, first, count) = client.dos_blocks[i];
            if selectors_for(paras, client.bits32) > count {
                return Err(err::NO_DESCRIPTOR);
            }
            if let Err((e, max)) = fw.dos.arena.resize(ctx, seg, paras) {
                ctx.set_bx(max);
                return Err(e);
            }
            let client = super::client_mut(fw)?;
            set_dos_limits(client, ctx, first, count, seg, paras);
            Ok(())
        }
    }
}

/// How many descriptors a DOS block of `paras` needs: one per 64 KiB for a 16-bit client,
/// one for a 32-bit client.
fn selectors_for(paras: u16, bits32: bool) -> u16 {
    if bits32 {
        1
    } else {
        (u32::from(paras).max(1)).div_ceil(0x1000) as u16
    }
}

/// Consecutive descriptors for a new DOS block; the first selector.
fn dos_selectors(client: &mut Client, ctx: &mut Ctx, seg: u16, paras: u16) -> Option<u16> {
    let count = selectors_for(paras, client.bits32);
    let n = usize::from(count);
    let first = (1..=descriptors::LDT_ENTRIES.saturating_sub(n))
        .find(|&i| client.ldt[i..i + n].iter().all(|&o| o == Owner::Free))?;
    for i in first..first + n {
        client.ldt[i] = Owner::Segment;
    }
    let sel = ((first as u16) << 3) | 7;
    client.dos_blocks.push((seg, sel, count));
    set_dos_limits(client, ctx, sel, count, seg, paras);
    Some(sel)
}

fn set_dos_limits(client: &Client, ctx: &mut Ctx, first: u16, count: u16, seg: u16, paras: u16) {
    let size = u32::from(paras) * 16;
    for k in 0..u32::from(count) {
        let base = (u32::from(seg) << 4) + k * 0x1_0000;
        let remaining = size.saturating_sub(k * 0x1_0000);
        let limit = if client.bits32 {
            size.saturating_sub(1)
        } else {
            remaining.clamp(1, 0x1_0000) - 1
        };
        descriptors::set(client, ctx, first + (k as u16) * 8, base, limit, DATA);
    }
}

fn release(client: &mut Client, ctx: &mut Ctx, first: u16, count: u16) {
    for k in 0..count {
        let sel = first + k * 8;
        descriptors::clear(client, ctx, sel);
    }
}
