//! Function 0Bh of the XMS driver: moving memory between extended memory blocks and
//! conventional memory (handle 0), with A20 forced on for the copy and the caller's state
//! restored afterwards.
//!
//! Sources: the eXtended Memory Specification 3.0 (function 0Bh, the ExtMemMoveStruct),
//! `../shared/reference/dos-memory.md` sections 1.4 and 6.1, and HimemX 3.34
//! (`xms_get_move_addr`) for the order of the checks; the choices are listed in the module
//! notes ([`super`]).

use super::{Xms, err};
use crate::firmware::Ctx;

/// Linear end (exclusive) a handle-0 move address may reach: FFFF:FFFF + 1.
const CONVENTIONAL_END: u32 = 0x10_FFF0;
/// Bytes copied per step of a move.
const COPY_CHUNK: u32 = 0x1_0000;

/// Where a move's source or destination lies, or why it is invalid.
enum MoveError {
    Handle,
    Length,
}

impl Xms {
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

    pub(super) fn move_emb(&mut self, ctx: &mut Ctx) -> Result<(), u8> {
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
}

/// One side of a copy: an extended memory block's physical address, or a conventional
/// memory address as the caller sees it (linear: through the page tables of a V86 monitor,
/// as EMM386 translates the moves it takes over).
#[derive(Clone, Copy)]
pub(super) enum Side {
    Physical(u32),
    Linear(u32),
}

/// Copies `len` bytes from `src` to `dst`, front to back in chunks (a downward overlapping
/// copy stays correct; upward overlap was rejected).
pub(super) fn copy(ctx: &mut Ctx, src: Side, dst: Side, len: u32) {
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
    use super::super::harness::*;
    use super::super::*;
    use crate::firmware::linear;

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

    #[test]
    fn linear_helper_matches_the_move_address_rule() {
        // The handle-0 rule (high word segment) is the real-mode linear address.
        assert_eq!(linear(0xFFFF, 0x0010), 0x10_0000);
    }
}
