//! Executable memory for translated blocks: one anonymous mapping, filled from the start,
//! writable only while code is being copied in and executable otherwise (W^X).
//!
//! This is the host memory a JIT needs and nothing more: no file, no thread, no clock.
//! The mapping is reserved once (its pages are faulted in only as code is written) and
//! reused from the start when it is full or the cache is flushed.

use std::ptr::NonNull;

/// Bytes reserved for translated code.
const SIZE: usize = 4 << 20;

/// The mapping (see the module documentation).
pub(super) struct ExecMem {
    base: NonNull<u8>,
    used: usize,
}

// SAFETY: the mapping is owned by this value alone (never aliased by another `ExecMem`), and
// it is only written through `&mut self`; moving it to another thread moves that ownership.
unsafe impl Send for ExecMem {}
// SAFETY: `&ExecMem` gives only the address of code to call; nothing is written through it.
unsafe impl Sync for ExecMem {}

impl ExecMem {
    /// No translation on other hosts: the code is x86-64.
    #[cfg(not(all(target_arch = "x86_64", unix)))]
    pub fn new() -> Option<ExecMem> {
        None
    }

    /// A fresh mapping, or `None` when the host refuses one (the interpreter then runs
    /// everything).
    #[cfg(all(target_arch = "x86_64", unix))]
    pub fn new() -> Option<ExecMem> {
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing
        // touches no existing memory; the result is checked before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                SIZE,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        Some(ExecMem {
            base: NonNull::new(p.cast::<u8>())?,
            used: 0,
        })
    }

    /// Copies `code` in and returns its offset, or `None` when the mapping is full (the
    /// caller then flushes and starts again) or cannot be made writable.
    pub fn add(&mut self, code: &[u8]) -> Option<u32> {
        // Entries stay 16-byte aligned.
        let at = self.used.next_multiple_of(16);
        let end = at.checked_add(code.len())?;
        if end > SIZE {
            return None;
        }
        let page = 4096;
        let first = at / page * page;
        let len = end.next_multiple_of(page) - first;
        // SAFETY: `first..first + len` lies inside the mapping (`end <= SIZE`, SIZE is a
        // multiple of the page size); no translated code runs while it is writable.
        unsafe {
            let p = self.base.as_ptr().add(first).cast();
            if libc::mprotect(p, len, libc::PROT_READ | libc::PROT_WRITE) != 0 {
                return None;
            }
            std::ptr::copy_nonoverlapping(code.as_ptr(), self.base.as_ptr().add(at), code.len());
            if libc::mprotect(p, len, libc::PROT_READ | libc::PROT_EXEC) != 0 {
                return None;
            }
        }
        self.used = end;
        u32::try_from(at).ok()
    }

    /// Forgets every block (their offsets must not be called any more).
    pub fn clear(&mut self) {
        self.used = 0;
    }

    /// The address of the code at `offset` (an offset [`ExecMem::add`] returned).
    pub fn address(&self, offset: u32) -> *const u8 {
        self.base.as_ptr().wrapping_add(offset as usize)
    }
}

impl Drop for ExecMem {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `new` with this size and is not used after this.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), SIZE);
        }
    }
}
