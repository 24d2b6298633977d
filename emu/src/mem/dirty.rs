//! Which pages of the backing store were written, and each page's hash as of the last
//! refresh: so that a checkpoint's state hash and a trace's paged snapshot cost what
//! changed since the previous one, not the 16 MiB and more of the whole store.
//!
//! - Time is cut into **epochs**: [`PageHashes::refresh`] (the machine's checkpoint hash)
//!   hashes every page written in the current epoch and starts the next one.
//! - Per store page, the epoch in which it was last **written** (or allocated, or loaded by
//!   a caller holding the page's bytes): a page whose last write is older than the current
//!   epoch has an up-to-date hash; one written in the current epoch is on the **dirty** list
//!   (once) and is hashed at the next refresh, or on the fly by a reader that cannot wait.
//! - The page map of `Memory` keeps writes to pages that are clean in this sense off its
//!   fast path (the `CLEAN` entry bit, set on every writable entry at a refresh), so the
//!   first write to a page after a refresh reaches [`PageHashes::touch`]; the fast path
//!   itself is unchanged. Pages past the end of the tracked range count as written in the
//!   current epoch.
//! - Pages the store got as zeros ([`PageHashes::add_zero_pages`]: a new memory's RAM, pages
//!   allocated later) are tracked as **never written** (epoch 0, before the first epoch):
//!   clean from the start, with the known hash of a page of zeros, so neither a refresh nor
//!   a reader asking [`PageHashes::may_be_nonzero`] (a sparse copy of the store, a
//!   recorder's copy of the store at tick 0) reads them. Reading a page the host never
//!   touched faults it in: for the 16 MiB of a 286's RAM that was ~4,100 of the 6,618 page
//!   faults of `vexed record` of LOOP.COM, and the copies of the store made when a replay
//!   opens a trace most of its 23,521. A never-written page stops being one at its first
//!   write (which reaches [`PageHashes::touch`], as the first write after a refresh does),
//!   never by being read or hashed, so "never written" means its bytes are still the zeros
//!   it was allocated with, whatever a hash says.
//!
//! A page's hash is xxh3-64 of its 4,096 bytes. None of this is machine state: it describes
//! what the host has hashed, is rebuilt after deserializing (every page then counts as
//! written), and is skipped by serialization and equality.

use xxhash_rust::xxh3::xxh3_64;

/// Bytes per store page (the physical page size).
const PAGE: usize = 4096;

/// The epoch "in which" a page that was never written since it was allocated as zeros was
/// last written: before the first epoch (which is 1), so such a page is clean and is not
/// written since any mark.
const NEVER: u64 = 0;

/// xxh3-64 of a page of zeros: the hash of every never-written page.
fn zero_page_hash() -> u64 {
    xxh3_64(&[0u8; PAGE])
}

/// Page hashes and write epochs. See the module docs.
#[derive(Clone, Debug)]
pub(crate) struct PageHashes {
    /// Per tracked store page: xxh3-64 of its bytes, valid when `written[p] < epoch`.
    hash: Vec<u64>,
    /// `hash` as little-endian bytes, kept beside it: what a state hash appends after a
    /// refresh, as one slice.
    hash_le: Vec<u8>,
    /// Per tracked store page: the epoch in which it was last written ([`NEVER`]: not since
    /// it was allocated as zeros).
    written: Vec<u64>,
    /// The tracked pages written in the current epoch, each once.
    dirty: Vec<u32>,
    /// The current epoch: 1 + the number of refreshes so far.
    epoch: u64,
}

impl Default for PageHashes {
    /// Nothing tracked (every page counts as written), in the first epoch.
    fn default() -> PageHashes {
        PageHashes {
            hash: Vec::new(),
            hash_le: Vec::new(),
            written: Vec::new(),
            dirty: Vec::new(),
            epoch: NEVER + 1,
        }
    }
}

impl PageHashes {
    /// Records that store pages `from..to` were just allocated as zeros: they are tracked as
    /// never written (clean, with the hash of a page of zeros). Pages below `from` that are
    /// not tracked yet are tracked as written in this epoch (as untracked pages count), and
    /// any page of `from..to` that is tracked already is touched: only pages added here
    /// become never-written ones.
    pub fn add_zero_pages(&mut self, from: usize, to: usize) {
        while self.written.len() < from {
            self.dirty.push(self.written.len() as u32);
            self.written.push(self.epoch);
            self.hash.push(0);
            self.hash_le.extend_from_slice(&[0; 8]);
        }
        let zero = zero_page_hash();
        for p in from..to {
            if p < self.written.len() {
                self.touch(p);
            } else {
                self.written.push(NEVER);
                self.hash.push(zero);
                self.hash_le.extend_from_slice(&zero.to_le_bytes());
            }
        }
    }

    /// Whether store page `page` may hold a byte that is not zero: false only for a tracked
    /// page never written since it was allocated as zeros.
    #[inline]
    pub fn may_be_nonzero(&self, page: usize) -> bool {
        self.written.get(page).is_none_or(|&w| w != NEVER)
    }

    /// Records a write to store page `page`.
    #[inline]
    pub fn touch(&mut self, page: usize) {
        match self.written.get_mut(page) {
            Some(w) if *w == self.epoch => {}
            Some(w) => {
                *w = self.epoch;
                self.dirty.push(page as u32);
            }
            // Untracked pages count as written already; `refresh` picks them up.
            None => {}
        }
    }

    /// Whether store page `page`'s hash is up to date (it was not written in this epoch).
    #[inline]
    pub fn is_clean(&self, page: usize) -> bool {
        self.written.get(page).is_some_and(|&w| w < self.epoch)
    }

    /// Hashes every page of `store` written in the current epoch (and any untracked page)
    /// and starts a new epoch: afterwards every page of `store` is clean.
    pub fn refresh(&mut self, store: &[u8]) {
        let pages = store.len() / PAGE;
        if self.written.len() > pages {
            // The store is never cut while tracked, but a shorter one may be put in.
            self.written.truncate(pages);
            self.hash.truncate(pages);
            self.hash_le.truncate(pages * 8);
            self.dirty.retain(|&p| (p as usize) < pages);
        }
        for p in self.written.len()..pages {
            self.written.push(self.epoch);
            self.hash.push(0);
            self.hash_le.extend_from_slice(&[0; 8]);
            self.dirty.push(p as u32);
        }
        for &p in &self.dirty {
            let p = p as usize;
            if let (Some(h), Some(le), Some(bytes)) = (
                self.hash.get_mut(p),
                self.hash_le.get_mut(p * 8..p * 8 + 8),
                store.get(p * PAGE..(p + 1) * PAGE),
            ) {
                *h = xxh3_64(bytes);
                le.copy_from_slice(&h.to_le_bytes());
            }
        }
        self.dirty.clear();
        self.epoch += 1;
    }

    /// Every page's hash as 8 little-endian bytes, in page order, when all `pages` pages
    /// are tracked and clean (right after a refresh): what [`PageHashes::page_hash`] gives
    /// for each, without its per-page tests.
    pub fn clean_hash_bytes(&self, pages: usize) -> Option<&[u8]> {
        (self.dirty.is_empty() && self.written.len() == pages && self.hash_le.len() == pages * 8)
            .then_some(&self.hash_le[..])
    }

    /// The hash of store page `page` of `store`: the cached one when clean, computed now
    /// otherwise.
    #[inline]
    pub fn page_hash(&self, store: &[u8], page: usize) -> u64 {
        match self.hash.get(page) {
            Some(&h) if self.is_clean(page) => h,
            _ => xxh3_64(store.get(page * PAGE..(page + 1) * PAGE).unwrap_or(&[])),
        }
    }

    /// A mark to pass to [`PageHashes::written_since`] later: the current epoch.
    pub fn mark(&self) -> u64 {
        self.epoch
    }

    /// Whether store page `page` may have been written since `mark` was taken: true for
    /// every page written in that epoch or later and for untracked pages. (A mark from the
    /// future, from another machine, means nothing is known: true.)
    #[inline]
    pub fn written_since(&self, mark: u64, page: usize) -> bool {
        mark > self.epoch || self.written.get(page).is_none_or(|&w| w >= mark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_dirty_until_refreshed_and_after_a_touch() {
        let mut store = vec![0u8; 3 * PAGE];
        let mut h = PageHashes::default();
        assert!(!h.is_clean(0), "untracked pages are dirty");
        assert_eq!(h.page_hash(&store, 1), xxh3_64(&store[PAGE..2 * PAGE]));
        h.refresh(&store);
        assert!((0..3).all(|p| h.is_clean(p)));
        let mark = h.mark();
        store[PAGE + 5] = 7;
        h.touch(1);
        h.touch(1);
        assert!(h.is_clean(0) && !h.is_clean(1) && h.is_clean(2));
        assert_eq!(h.dirty, vec![1], "a page is listed once per epoch");
        // A dirty page's hash is computed on the fly; a refresh caches it.
        let want = xxh3_64(&store[PAGE..2 * PAGE]);
        assert_eq!(h.page_hash(&store, 1), want);
        assert_eq!(h.clean_hash_bytes(3), None, "page 1 is dirty");
        h.refresh(&store);
        assert_eq!((h.hash[1], h.is_clean(1)), (want, true));
        // After a refresh, every page's hash at once: xxh3-64 of each page's bytes.
        let each: Vec<u8> = store
            .chunks(PAGE)
            .flat_map(|p| xxh3_64(p).to_le_bytes())
            .collect();
        assert_eq!(h.clean_hash_bytes(3), Some(&each[..]));
        assert_eq!(h.clean_hash_bytes(4), None, "a fourth page is not tracked");
        // Written since the mark: page 1 only.
        assert_eq!(
            (0..3).map(|p| h.written_since(mark, p)).collect::<Vec<_>>(),
            [false, true, false]
        );
        assert!(
            h.written_since(h.mark() + 1, 0),
            "a mark from the future knows nothing"
        );
    }

    #[test]
    fn zero_pages_are_clean_until_their_first_write() {
        let mut store = vec![0u8; 4 * PAGE];
        let mut h = PageHashes::default();
        // Page 0 was there before tracking began; pages 1..4 were allocated as zeros.
        h.add_zero_pages(1, 4);
        let zero = xxh3_64(&[0u8; PAGE]);
        assert!(
            h.may_be_nonzero(0) && !h.is_clean(0),
            "untracked before: written"
        );
        for p in 1..4 {
            assert!(h.is_clean(p) && !h.may_be_nonzero(p), "page {p}");
            assert_eq!(h.page_hash(&store, p), zero);
        }
        assert!(
            h.may_be_nonzero(4),
            "past the tracked pages nothing is known"
        );
        let mark = h.mark();
        assert!(!(1..4).any(|p| h.written_since(mark, p)));
        // A write makes a page one that may be non-zero for good, refreshes included.
        store[2 * PAGE] = 9;
        h.touch(2);
        assert!(h.may_be_nonzero(2) && h.written_since(mark, 2));
        h.refresh(&store);
        h.refresh(&store);
        assert!(h.may_be_nonzero(2) && !h.may_be_nonzero(1) && !h.may_be_nonzero(3));
        assert_eq!(
            (0..4).map(|p| h.page_hash(&store, p)).collect::<Vec<_>>(),
            store.chunks(PAGE).map(xxh3_64).collect::<Vec<_>>()
        );
        // Pages added again over tracked ones are not vouched for.
        h.add_zero_pages(3, 5);
        assert!(h.may_be_nonzero(3) && !h.may_be_nonzero(4));
    }

    #[test]
    fn a_grown_store_hashes_its_new_pages() {
        let mut store = vec![1u8; PAGE];
        let mut h = PageHashes::default();
        h.refresh(&store);
        let mark = h.mark();
        store.resize(3 * PAGE, 2);
        assert!(!h.is_clean(2) && h.written_since(mark, 2) && !h.written_since(mark, 0));
        h.refresh(&store);
        assert_eq!(h.page_hash(&store, 2), xxh3_64(&[2u8; PAGE]));
        assert!(h.is_clean(2));
        // A shorter store (one put in from elsewhere) drops the pages past its end.
        store.truncate(PAGE);
        h.refresh(&store);
        assert_eq!(h.written.len(), 1);
    }
}
