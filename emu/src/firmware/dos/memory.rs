//! The DOS memory arena: a chain of memory control blocks (MCBs) in guest memory, and Int
//! 21h AH=48h/49h/4Ah/58h.
//!
//! Sources: RBIL INT 21/48-4A and 58, table #01628 (the MCB: signature `M` or `Z` for the
//! last block, owner PSP segment (0 = free, 8 = DOS), size in paragraphs, DOS 4+ program
//! name at +08h); `../shared/reference/dos-memory.md` section 5.1 for the error behaviour.
//!
//! The chain lives only in guest memory: a program that overwrites an MCB breaks it for
//! real and gets error 07h ("memory control blocks destroyed"), as on DOS. Behaviour kept
//! from MS-DOS: free blocks are merged while an allocation scans the chain, not when a block
//! is freed; a failed resize still grows the block as far as it can; allocation strategies
//! first fit (0), best fit (1) and last fit (2).

use super::super::Ctx;

/// Signature of a block that has a successor.
const MID: u8 = b'M';
/// Signature of the last block.
const LAST: u8 = b'Z';
/// Owner value of a free block.
pub const FREE: u16 = 0;
/// Owner value of blocks that belong to DOS itself.
pub const DOS_OWNER: u16 = 8;

/// DOS error codes of the arena functions.
pub const MCB_DESTROYED: u16 = 0x07;
pub const NO_MEMORY: u16 = 0x08;
pub const BAD_BLOCK: u16 = 0x09;

/// One MCB as read from guest memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mcb {
    /// Segment of the MCB itself (the block's data starts one paragraph later).
    pub seg: u16,
    pub last: bool,
    pub owner: u16,
    pub size: u16,
}

impl Mcb {
    /// The paragraph after this block.
    fn end(&self) -> u32 {
        u32::from(self.seg) + 1 + u32::from(self.size)
    }
}

/// Reads the MCB at `seg`, or `None` when its signature is neither `M` nor `Z`.
pub fn read_mcb(ctx: &Ctx, seg: u16) -> Option<Mcb> {
    let sig = ctx.rd8(seg, 0);
    if sig != MID && sig != LAST {
        return None;
    }
    Some(Mcb {
        seg,
        last: sig == LAST,
        owner: ctx.rd16(seg, 1),
        size: ctx.rd16(seg, 3),
    })
}

fn write_mcb(ctx: &mut Ctx, m: &Mcb) {
    ctx.wr8(m.seg, 0, if m.last { LAST } else { MID });
    ctx.wr16(m.seg, 1, m.owner);
    ctx.wr16(m.seg, 3, m.size);
}

/// Sets the DOS 4+ name field (8 bytes, NUL-padded when shorter) of the block at `data`.
pub fn set_name(ctx: &mut Ctx, data: u16, name: &[u8]) {
    let mcb = data.wrapping_sub(1);
    for i in 0..8u16 {
        let b = name.get(usize::from(i)).copied().unwrap_or(0);
        ctx.wr8(mcb, 8 + i, b);
    }
}

/// The memory arena: where it starts and the allocation strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Arena {
    pub first: u16,
    /// Int 21h AH=58h strategy: 0 first fit, 1 best fit, 2 last fit.
    pub strategy: u16,
}

impl Arena {
    /// Writes one free block covering `first` up to (not including) segment `top`.
    pub fn format(ctx: &mut Ctx, first: u16, top: u16) -> Arena {
        write_mcb(
            ctx,
            &Mcb {
                seg: first,
                last: true,
                owner: FREE,
                size: top - first - 1,
            },
        );
        set_name(ctx, first + 1, b"");
        Arena { first, strategy: 0 }
    }

    /// Every block of the chain in order, or `Err(07h)` when the chain is broken.
    pub fn blocks(&self, ctx: &Ctx) -> Result<Vec<Mcb>, u16> {
        let mut out = Vec::new();
        let mut seg = self.first;
        loop {
            let m = read_mcb(ctx, seg).ok_or(MCB_DESTROYED)?;
            out.push(m);
            if m.last {
                return Ok(out);
            }
            let next = m.end();
            if next > 0xFFFF || out.len() > 0xA000 {
                return Err(MCB_DESTROYED);
            }
            seg = next as u16;
        }
    }

    /// Merges runs of free blocks (DOS does this while scanning for an allocation).
    fn merge_free(&self, ctx: &mut Ctx) -> Result<(), u16> {
        let mut seg = self.first;
        loop {
            let mut m = read_mcb(ctx, seg).ok_or(MCB_DESTROYED)?;
            if m.last {
                return Ok(());
            }
            let next_seg = u16::try_from(m.end()).map_err(|_| MCB_DESTROYED)?;
            let next = read_mcb(ctx, next_seg).ok_or(MCB_DESTROYED)?;
            if m.owner == FREE && next.owner == FREE {
                m.size = m.size.wrapping_add(next.size).wrapping_add(1);
                m.last = next.last;
                write_mcb(ctx, &m);
                continue;
            }
            seg = next_seg;
        }
    }

    /// The largest free block, in paragraphs (after merging).
    pub fn largest_free(&self, ctx: &mut Ctx) -> Result<u16, u16> {
        self.merge_free(ctx)?;
        Ok(self
            .blocks(ctx)?
            .iter()
            .filter(|m| m.owner == FREE)
            .map(|m| m.size)
            .max()
            .unwrap_or(0))
    }

    /// Allocates `paras` paragraphs for `owner`; returns the data segment, or the error and
    /// the largest available block.
    pub fn alloc(&self, ctx: &mut Ctx, paras: u16, owner: u16) -> Result<u16, (u16, u16)> {
        self.merge_free(ctx).map_err(|e| (e, 0))?;
        let blocks = self.blocks(ctx).map_err(|e| (e, 0))?;
        let mut fits = blocks.iter().filter(|m| m.owner == FREE && m.size >= paras);
        let chosen = match self.strategy & 0x3 {
            1 => fits.min_by_key(|m| m.size).copied(),
            2 => fits.next_back().copied(),
            _ => fits.next().copied(),
        };
        let Some(mut m) = chosen else {
            let largest = blocks
                .iter()
                .filter(|m| m.owner == FREE)
                .map(|m| m.size)
                .max()
                .unwrap_or(0);
            return Err((NO_MEMORY, largest));
        };
        if m.size == paras {
            m.owner = owner;
            write_mcb(ctx, &m);
            set_name(ctx, m.seg + 1, b"");
            return Ok(m.seg + 1);
        }
        if self.strategy & 0x3 == 2 {
            // Last fit: the block is carved from the top of the free block.
            let rest = m.size - paras - 1;
            let top = Mcb {
                seg: m.seg + 1 + rest,
                last: m.last,
                owner,
                size: paras,
            };
            m.size = rest;
            m.last = false;
            write_mcb(ctx, &m);
            write_mcb(ctx, &top);
            set_name(ctx, top.seg + 1, b"");
            return Ok(top.seg + 1);
        }
        let rest = Mcb {
            seg: m.seg + 1 + paras,
            last: m.last,
            owner: FREE,
            size: m.size - paras - 1,
        };
        m.size = paras;
        m.last = false;
        m.owner = owner;
        write_mcb(ctx, &m);
        write_mcb(ctx, &rest);
        set_name(ctx, m.seg + 1, b"");
        Ok(m.seg + 1)
    }

    /// The MCB of the block whose data starts at `data`, if it is part of the chain.
    fn find(&self, ctx: &Ctx, data: u16) -> Result<Mcb, u16> {
        let blocks = self.blocks(ctx)?;
        blocks
            .into_iter()
            .find(|m| m.seg.wrapping_add(1) == data)
            .ok_or(BAD_BLOCK)
    }

    /// Frees the block at `data` (no merging; DOS merges on the next allocation).
    pub fn free(&self, ctx: &mut Ctx, data: u16) -> Result<(), u16> {
        let mut m = read_mcb(ctx, data.wrapping_sub(1)).ok_or(BAD_BLOCK)?;
        // The block must really be in the chain (DOS 5 only checks the signature; a
        // stricter check costs nothing and catches pointers into the middle of blocks).
        self.find(ctx, data)?;
        m.owner = FREE;
        write_mcb(ctx, &m);
        Ok(())
    }

    /// Resizes the block at `data` to `paras`. On failure returns the error and the
    /// largest size the block can have; the block has then been grown to that size, as
    /// MS-DOS 2.1-6.0 do.
    pub fn resize(&self, ctx: &mut Ctx, data: u16, paras: u16) -> Result<(), (u16, u16)> {
        let mut m = self.find(ctx, data).map_err(|e| (e, 0))?;
        // Absorb the free blocks that follow.
        while !m.last {
            let next_seg = u16::try_from(m.end()).map_err(|_| (MCB_DESTROYED, 0))?;
            let next = read_mcb(ctx, next_seg).ok_or((MCB_DESTROYED, 0))?;
            if next.owner != FREE {
                break;
            }
            m.size = m.size.wrapping_add(next.size).wrapping_add(1);
            m.last = next.last;
        }
        if paras > m.size {
            write_mcb(ctx, &m);
            return Err((NO_MEMORY, m.size));
        }
        if paras < m.size {
            let rest = Mcb {
                seg: m.seg + 1 + paras,
                last: m.last,
                owner: FREE,
                size: m.size - paras - 1,
            };
            m.size = paras;
            m.last = false;
            write_mcb(ctx, &rest);
        }
        write_mcb(ctx, &m);
        Ok(())
    }

    /// Frees every block owned by `owner` (a terminating program).
    pub fn free_owned_by(&self, ctx: &mut Ctx, owner: u16) {
        if let Ok(blocks) = self.blocks(ctx) {
            for mut m in blocks.into_iter().filter(|m| m.owner == owner) {
                m.owner = FREE;
                write_mcb(ctx, &m);
            }
        }
    }

    /// Size in paragraphs of the block at `data`.
    pub fn size_of(&self, ctx: &Ctx, data: u16) -> Option<u16> {
        read_mcb(ctx, data.wrapping_sub(1)).map(|m| m.size)
    }
}
