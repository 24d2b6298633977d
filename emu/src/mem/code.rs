//! Which bytes of the backing store hold decoded code, so that writes to them can be seen.
//!
//! The CPU caches decoded instructions (DESIGN.md section 8). A cache entry stays valid while
//! the bytes it was decoded from are unchanged; this tracker makes that checkable cheaply:
//!
//! - one bit per backing-store byte that some cached instruction was decoded from;
//! - a generation number per store page, bumped when a write changes a marked byte, which
//!   also clears the page's marks (every cached instruction of the page is then stale).
//!   `Memory` bumps its cache epoch at the same time, so a running block notices that it
//!   modified itself.
//!
//! Pages holding marked bytes are flagged in the page map, so ordinary writes elsewhere keep
//! their fast path; only writes to those pages come here. None of this is machine state: it
//! describes the CPU's cache, is rebuilt as code runs, and is skipped by serialization.

/// Code marks and page generations. See the module docs.
#[derive(Clone, Debug, Default)]
pub(crate) struct CodeTracker {
    /// One bit per store byte.
    bits: Vec<u64>,
    /// Per store page: bumped on every write to a marked byte of the page.
    generation: Vec<u64>,
    /// Per store page: some byte of it is marked.
    marked: Vec<bool>,
}

/// Caches compare equal whatever they hold: they are not machine state.
impl PartialEq for CodeTracker {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for CodeTracker {}

impl CodeTracker {
    /// Sizes the tables for a store of `store_len` bytes. The bits (one per store byte: 2
    /// MiB for 16 MiB of RAM) grow into a fresh zeroed allocation with only the words of
    /// marked pages copied (a page's bits are all zero unless it is marked: marks stay in
    /// one page), not by a reallocation and a fill with zeros, which touch every page of
    /// them: measured on LOOP.COM (medians of 3), `vexed run` takes 345 page faults with
    /// this instead of 1,466, `vexed record` 863 instead of 1,534, `vexed replay` 1,225
    /// instead of 1,718.
    fn ensure(&mut self, store_len: usize) {
        let pages = store_len.div_ceil(4096);
        if self.generation.len() < pages {
            let mut bits = vec![0u64; pages * 64];
            for (page, _) in self.marked.iter().enumerate().filter(|(_, m)| **m) {
                let words = page * 64..page * 64 + 64;
                if let (Some(dst), Some(src)) = (bits.get_mut(words.clone()), self.bits.get(words))
                {
                    dst.copy_from_slice(src);
                }
            }
            self.bits = bits;
            self.generation.resize(pages, 0);
            self.marked.resize(pages, false);
        }
    }

    /// Generation of store page `page` (0 for pages never written after being marked).
    #[inline(always)]
    pub fn generation(&self, page: usize) -> u64 {
        self.generation.get(page).copied().unwrap_or(0)
    }

    /// Marks `len` bytes from store index `start` (within one page). Returns whether the
    /// page was not marked before (the caller then flags it in the page map).
    pub fn mark(&mut self, store_len: usize, start: usize, len: usize) -> bool {
        debug_assert!(len == 0 || start / 4096 == (start + len - 1) / 4096);
        self.ensure(store_len);
        for i in start..start + len {
            if let Some(w) = self.bits.get_mut(i / 64) {
                *w |= 1 << (i % 64);
            }
        }
        let page = start / 4096;
        match self.marked.get_mut(page) {
            Some(m) if !*m => {
                *m = true;
                true
            }
            _ => false,
        }
    }

    /// Whether store byte `i` is marked.
    #[inline(always)]
    pub fn is_marked(&self, i: usize) -> bool {
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Whether any of the `len` (1 to 4) bytes from store index `i` is marked (a run that
    /// straddles two words is answered conservatively: true).
    #[inline(always)]
    pub fn any_marked(&self, i: usize, len: usize) -> bool {
        let shift = i % 64;
        if shift + len > 64 {
            return true;
        }
        match self.bits.get(i / 64) {
            Some(w) => (w >> shift) & ((1u64 << len) - 1) != 0,
            None => false,
        }
    }

    /// The offsets within store page `page` from its first marked byte to one past its
    /// last, or (0, 0) when none is marked.
    pub fn marked_span(&self, page: usize) -> (u32, u32) {
        let Some(words) = self.bits.get(page * 64..page * 64 + 64) else {
            return (0, 0);
        };
        let first = words.iter().position(|&w| w != 0);
        let last = words.iter().rposition(|&w| w != 0);
        match (first, last) {
            (Some(f), Some(l)) => {
                let lo = f as u32 * 64 + words[f].trailing_zeros();
                let hi = l as u32 * 64 + 64 - words[l].leading_zeros();
                (lo, hi)
            }
            _ => (0, 0),
        }
    }

    /// Whether any byte of store page `page` is marked.
    pub fn page_marked(&self, page: usize) -> bool {
        self.marked.get(page).copied().unwrap_or(false)
    }

    /// A marked byte of `page` is about to change: every cached decode from the page is
    /// stale. Clears the page's marks (the caller unflags it in the page map).
    pub fn invalidate_page(&mut self, page: usize) {
        if let Some(g) = self.generation.get_mut(page) {
            *g += 1;
        }
        if let Some(m) = self.marked.get_mut(page) {
            *m = false;
        }
        if let Some(words) = self.bits.get_mut(page * 64..page * 64 + 64) {
            words.fill(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_and_generations() {
        let mut t = CodeTracker::default();
        assert_eq!(t.generation(1), 0);
        assert!(t.mark(3 * 4096, 4096 + 10, 3));
        assert!(!t.mark(3 * 4096, 4096 + 20, 1)); // page already marked
        assert!(t.is_marked(4096 + 12) && !t.is_marked(4096 + 13) && t.is_marked(4096 + 20));
        assert!(t.page_marked(1) && !t.page_marked(0));
        assert_eq!(t.marked_span(1), (10, 21));
        assert_eq!(t.marked_span(0), (0, 0));
        t.invalidate_page(1);
        assert_eq!(t.marked_span(1), (0, 0));
        assert_eq!(t.generation(1), 1);
        assert!(!t.is_marked(4096 + 10) && !t.page_marked(1));
    }

    #[test]
    fn marks_survive_a_growing_store() {
        let mut t = CodeTracker::default();
        t.mark(2 * 4096, 5, 2);
        t.mark(2 * 4096, 4096 + 4095, 1);
        t.invalidate_page(1);
        t.mark(2 * 4096, 4096 + 7, 1);
        // The store grows to five pages: every mark is still there, nothing else is.
        assert!(t.mark(5 * 4096, 4 * 4096 + 1, 1));
        let marked: Vec<usize> = (0..5 * 4096).filter(|&i| t.is_marked(i)).collect();
        assert_eq!(marked, [5, 6, 4096 + 7, 4 * 4096 + 1]);
        assert_eq!(
            (t.generation(1), t.page_marked(0), t.page_marked(4)),
            (1, true, true)
        );
    }
}
