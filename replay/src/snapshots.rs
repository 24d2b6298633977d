//! Machine snapshots in traces, both ways: the recorder's [`SnapshotPager`] writes paged
//! snapshots (only the 4 KiB pages of the memory store that changed since the previous
//! snapshot, coded as differences from it), and a reader's [`SnapshotChain`] follows
//! the snapshots of a trace in order, rebuilds the machine at the latest one and computes
//! its state hash without rebuilding it.
//!
//! The rule both follow (trace/FORMAT.md, "Paged snapshots"): a paged snapshot holds the
//! machine without its memory store (`Machine::snapshot_without_store`), the store's
//! length, and every store page that differs from the store of the previous snapshot of the
//! same trace, paged or whole. Before the first snapshot the previous store is empty, and a
//! page past the end of the previous store compares against zeros; the store then has the
//! new length (longer or shorter). So the store at a paged snapshot is: the previous store,
//! cut or zero-extended to the new length, with the snapshot's pages written over it. A
//! whole snapshot (`Machine::snapshot`) carries its own store and starts the chain again.
//! A snapshot coded as a delta (record kind 5, what the recorder writes from format version
//! 6) stores each page as its exclusive-or with the previous store's page (bytes that did
//! not change are zeros, which zstd stores in almost nothing), and its state compressed
//! against the previous paged snapshot's state (nothing after a whole snapshot or before
//! the first; `vexed_trace::encode_delta_state`): an unchanged page map and firmware cost
//! bytes, not the 20 KB and more they take alone.
//!
//! From format version 8 the chain does not start from nothing: before the first snapshot
//! the previous store and state are those of the machine the header builds at tick 0
//! ([`BaseImage`]), so the first snapshot holds what the run changed since the machine was
//! built (its ROM, tables and untouched memory cost nothing), not the whole machine.
//!
//! Costs: the recorder compares only the pages the machine may have written since the
//! previous snapshot (`Machine::store_page_written_since`), not the whole store; the chain
//! keeps a hash per store page, recomputed for the pages a snapshot changes, so checking a
//! snapshot against its checkpoint (`SnapshotChain::state_hash`) decodes the small state
//! and hashes what changed, without copying the store into a machine.
//!
//! Neither side reads or writes a page of the store it knows to be zeros without reading it
//! (a page of zeros the host never touched costs a page fault when first read or written):
//! the pager's copy of the store at tick 0 leaves out the pages the machine never wrote
//! (`Machine::store_page_may_be_nonzero`) and its first snapshot compares only the pages
//! written since; the chain starts from a sparse copy of the base machine's store
//! (`Machine::memory_store_copy`), and when the store grows it copies only the pages that
//! may not be zeros, giving the new ones the hash of a page of zeros. Measured on LOOP.COM
//! with the sparse memory copies of `vexed_emu` (2026-12-07): `vexed record` 6,600 page
//! faults before, 1,534 after; `vexed replay` 23,497 before, 1,718 after.

use std::sync::Arc;

use thiserror::Error;
use vexed_emu::machine::{HashScheme, Machine, MachineError};
use vexed_trace::{
    DeltaStateEncoder, Record, SNAPSHOT_PAGE_SIZE, SnapshotCoding, SnapshotPage, decode_delta_state,
};

/// Why a snapshot of a trace cannot be taken or rebuilt.
#[derive(Debug, Error)]
pub enum SnapshotError {
    /// The snapshot's state does not decode, or its store does not fit its page map.
    #[error("the snapshot at tick {tick} cannot be restored: {source}")]
    Machine {
        tick: u64,
        #[source]
        source: MachineError,
    },
    /// A paged snapshot whose pages do not fit its store.
    #[error("the paged snapshot at tick {tick} is inconsistent: {message}")]
    Pages { tick: u64, message: String },
    /// The machine a snapshot rebuilds is not the machine its checkpoint recorded: the
    /// snapshot is damaged and must not be used.
    #[error(
        "the snapshot at tick {tick} is damaged: it rebuilds a machine with state hash {actual:016x}, but the checkpoint recorded at that tick says {recorded:016x}"
    )]
    HashMismatch {
        tick: u64,
        recorded: u64,
        actual: u64,
    },
    /// A snapshot without the checkpoint that must follow it at its tick.
    #[error(
        "the snapshot at tick {tick} has no checkpoint at its tick to check it against: the trace is damaged"
    )]
    Unchecked { tick: u64 },
}

/// A page as the pager holds it: `None` when all its bytes are zero.
fn held_page(page: &[u8]) -> Option<Box<[u8]>> {
    page.iter().any(|&b| b != 0).then(|| page.into())
}

/// Exclusive-or of `a` with `b` (cut or zero-extended to `a`'s length), in place.
fn xor_into(a: &mut [u8], b: &[u8]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

/// What the first snapshot of a version 8 trace is coded against, for a reader: the
/// machine its header builds, at tick 0, with its state without the store and its store's
/// page hashes (trace/FORMAT.md, "Paged snapshots"). The machine is shared: a reader that
/// keeps it to start replays from ([`BaseImage::machine`]) holds its store once.
#[derive(Clone, Debug)]
pub struct BaseImage {
    machine: Arc<Machine>,
    state: Vec<u8>,
    /// The xxh3-64 of each page of the machine's store (a chain starting here hashes only
    /// what the snapshots change).
    page_hashes: Vec<u64>,
}

impl BaseImage {
    /// The image of `m` as it is (a reader's machine before it runs). Its page hashes are
    /// the machine's cached ones after a [`Machine::checkpoint_hash`], computed otherwise.
    pub fn new(mut m: Machine) -> Result<BaseImage, SnapshotError> {
        let tick = m.now();
        let state = m
            .snapshot_without_store()
            .map_err(|source| SnapshotError::Machine { tick, source })?;
        let page_hashes = m.store_page_hashes();
        Ok(BaseImage {
            machine: Arc::new(m),
            state,
            page_hashes,
        })
    }

    /// The machine the image was made of.
    pub fn machine(&self) -> &Arc<Machine> {
        &self.machine
    }
}

/// The recorder's half: each call of [`SnapshotPager::snapshot`] gives a
/// [`Record::PagedSnapshot`] coded as a delta, holding the pages changed since the
/// previous call. It keeps a copy of the store as of the previous snapshot, page by page
/// with only the pages that are not all zeros held (a machine's store is mostly zeros:
/// copying it whole would touch every page of it), and of the state; it must be given the
/// same machine every time (a recorder's), since it asks that machine which pages were
/// written since.
#[derive(Default)]
pub struct SnapshotPager {
    /// The store as the previous snapshot left it, per page: `None` for a page of zeros
    /// (empty before the first snapshot).
    previous: Vec<Option<Box<[u8]>>>,
    /// The previous snapshot's state (empty before the first).
    previous_state: Vec<u8>,
    /// The machine's write mark at the previous snapshot.
    mark: Option<u64>,
    /// Codes the states (its zstd context kept between snapshots).
    encoder: DeltaStateEncoder,
}

impl SnapshotPager {
    /// A pager whose first snapshot is coded against nothing (format versions 6 and 7).
    pub fn new() -> SnapshotPager {
        SnapshotPager::default()
    }

    /// A pager whose first snapshot is coded against `m` as it is now (format version 8
    /// on): the recorder's machine at tick 0, before it runs.
    pub fn from_base(m: &mut Machine) -> Result<SnapshotPager, SnapshotError> {
        let tick = m.now();
        let previous_state = m
            .snapshot_without_store()
            .map_err(|source| SnapshotError::Machine { tick, source })?;
        Ok(SnapshotPager {
            // Pages the machine never wrote are zeros: left out without reading them.
            previous: m
                .memory_store()
                .chunks(SNAPSHOT_PAGE_SIZE)
                .enumerate()
                .map(|(i, page)| {
                    if m.store_page_may_be_nonzero(i) {
                        held_page(page)
                    } else {
                        None
                    }
                })
                .collect(),
            previous_state,
            // The copy is the store now: the first snapshot compares only the pages written
            // after this (not the whole store, which would read every page of it).
            mark: Some(m.store_write_mark()),
            encoder: DeltaStateEncoder::default(),
        })
    }

    /// The paged snapshot of `m` at its current tick.
    pub fn snapshot(&mut self, m: &mut Machine) -> Result<Record, SnapshotError> {
        let tick = m.now();
        let state = m
            .snapshot_without_store()
            .map_err(|source| SnapshotError::Machine { tick, source })?;
        let store = m.memory_store();
        if !store.len().is_multiple_of(SNAPSHOT_PAGE_SIZE) {
            return Err(SnapshotError::Pages {
                tick,
                message: format!(
                    "the machine's store of {} bytes is not a whole number of pages",
                    store.len()
                ),
            });
        }
        let zero = [0u8; SNAPSHOT_PAGE_SIZE];
        let mut pages = Vec::new();
        for (i, page) in store.chunks_exact(SNAPSHOT_PAGE_SIZE).enumerate() {
            if let Some(mark) = self.mark
                && !m.store_page_written_since(mark, i)
            {
                continue;
            }
            let before = self
                .previous
                .get(i)
                .and_then(|p| p.as_deref())
                .unwrap_or(&zero);
            if page != before {
                let index = u32::try_from(i).map_err(|_| SnapshotError::Pages {
                    tick,
                    message: format!("page {i} is past 4 GiB"),
                })?;
                let mut bytes = page.to_vec();
                xor_into(&mut bytes, before);
                pages.push(SnapshotPage { index, bytes });
            }
        }
        // The next snapshot compares against this store: the previous one at the new
        // length with the changed pages written over it (as a reader rebuilds it), which
        // is the machine's store now.
        self.previous
            .resize_with(store.len() / SNAPSHOT_PAGE_SIZE, || None);
        for p in &pages {
            let start = p.index as usize * SNAPSHOT_PAGE_SIZE;
            if let (Some(slot), Some(now)) = (
                self.previous.get_mut(p.index as usize),
                store.get(start..start + SNAPSHOT_PAGE_SIZE),
            ) {
                *slot = held_page(now);
            }
        }
        let store_len = store.len() as u64;
        self.mark = Some(m.store_write_mark());
        let coded = self
            .encoder
            .encode(&state, &self.previous_state)
            .map_err(|message| SnapshotError::Pages { tick, message })?;
        self.previous_state = state;
        Ok(Record::PagedSnapshot {
            tick,
            state: coded,
            store_len,
            pages,
            coding: SnapshotCoding::Delta,
        })
    }
}

/// The latest snapshot a [`SnapshotChain`] has seen.
#[derive(Clone)]
enum Latest {
    /// A whole snapshot's bytes (its store is inside them).
    Whole(Vec<u8>),
    /// A paged snapshot's state without its store (the store is the chain's image),
    /// decoded from its delta coding if it had one.
    Paged(Vec<u8>),
}

/// The reader's half: give it a trace's records in order ([`SnapshotChain::push`]) and it
/// keeps the memory store image as of the latest snapshot, so the machine at that snapshot
/// can be rebuilt ([`SnapshotChain::into_machine`]) without re-executing anything.
#[derive(Clone, Default)]
pub struct SnapshotChain {
    /// The latest snapshot: its tick and state.
    latest: Option<(u64, Latest)>,
    /// The store as of the latest snapshot; `None` after a whole snapshot until a paged
    /// one needs it (it is then decoded from the whole snapshot).
    store: Option<Vec<u8>>,
    /// Per page of `store`: its xxh3-64, or `None` where not computed since it changed.
    page_hashes: Vec<Option<u64>>,
    /// Per page of `store`: whether it may hold a byte that is not zero (false only for a
    /// page that is zeros from the base machine's never-written pages or from the store
    /// growing, and that no snapshot wrote since), so growing the store copies only the
    /// others: copying all of it would touch every page of both stores.
    nonzero: Vec<bool>,
    /// The state the first paged snapshot is coded against (empty: nothing).
    base_state: Vec<u8>,
}

impl SnapshotChain {
    /// A chain whose first snapshot is coded against nothing (format versions 6 and 7).
    pub fn new() -> SnapshotChain {
        SnapshotChain::default()
    }

    /// A chain whose first snapshot is coded against `base` (format version 8 on): the
    /// machine the trace's header builds at tick 0.
    pub fn from_base(base: &BaseImage) -> SnapshotChain {
        let store = base.machine.memory_store_copy();
        SnapshotChain {
            latest: None,
            page_hashes: base.page_hashes.iter().copied().map(Some).collect(),
            nonzero: (0..store.len() / SNAPSHOT_PAGE_SIZE)
                .map(|p| base.machine.store_page_may_be_nonzero(p))
                .collect(),
            store: Some(store),
            base_state: base.state.clone(),
        }
    }

    /// The tick of the latest snapshot, if any.
    pub fn tick(&self) -> Option<u64> {
        self.latest.as_ref().map(|(t, _)| *t)
    }

    /// The latest snapshot's state when it is a paged one (decoded from its delta coding):
    /// what the next snapshot coded as a delta is coded against.
    pub fn paged_state(&self) -> Option<&[u8]> {
        match &self.latest {
            Some((_, Latest::Paged(state))) => Some(state),
            None if !self.base_state.is_empty() => Some(&self.base_state),
            _ => None,
        }
    }

    /// Takes in a snapshot record (returning `None`) or gives any other record back.
    pub fn push(&mut self, record: Record) -> Result<Option<Record>, SnapshotError> {
        match record {
            Record::Snapshot { tick, state } => {
                self.latest = Some((tick, Latest::Whole(state)));
                self.store = None;
                self.page_hashes.clear();
                self.nonzero.clear();
                Ok(None)
            }
            Record::PagedSnapshot {
                tick,
                state,
                store_len,
                pages,
                coding,
            } => {
                let delta = coding == SnapshotCoding::Delta;
                // Decoded before anything changes, so after an error the chain is as it was.
                let state = if delta {
                    decode_delta_state(&state, self.paged_state().unwrap_or_default()).map_err(
                        |e| SnapshotError::Pages {
                            tick,
                            message: format!("its state does not decode: {e}"),
                        },
                    )?
                } else {
                    state
                };
                self.apply_pages(tick, store_len, &pages, delta)?;
                self.latest = Some((tick, Latest::Paged(state)));
                Ok(None)
            }
            other => Ok(Some(other)),
        }
    }

    /// The store image after a paged snapshot with these pages (copied over the image, or
    /// combined with it by exclusive-or for a delta). Everything is checked before anything changes,
    /// so after an error the chain is as it was.
    fn apply_pages(
        &mut self,
        tick: u64,
        store_len: u64,
        pages: &[SnapshotPage],
        xor: bool,
    ) -> Result<(), SnapshotError> {
        let bad = |message: String| SnapshotError::Pages { tick, message };
        let len = usize::try_from(store_len)
            .ok()
            .filter(|&n| {
                n.is_multiple_of(SNAPSHOT_PAGE_SIZE)
                    && store_len <= vexed_trace::limits::MAX_SNAPSHOT_STORE
            })
            .ok_or_else(|| {
                bad(format!(
                    "a store of {store_len} bytes is not a whole number of pages up to 4 GiB"
                ))
            })?;
        for p in pages {
            let end = (p.index as usize + 1) * SNAPSHOT_PAGE_SIZE;
            if end > len {
                return Err(bad(format!(
                    "page {} is outside the store of {len} bytes",
                    p.index
                )));
            }
            if p.bytes.len() != SNAPSHOT_PAGE_SIZE {
                return Err(bad(format!(
                    "page {} holds {} bytes, not {SNAPSHOT_PAGE_SIZE}",
                    p.index,
                    p.bytes.len()
                )));
            }
        }
        let (mut store, mut nonzero) = match (self.store.take(), &self.latest) {
            (Some(store), _) => (store, std::mem::take(&mut self.nonzero)),
            // After a whole snapshot: its store, decoded now that a paged one needs it.
            (None, Some((t, Latest::Whole(state)))) => {
                let store = Machine::restore(state)
                    .map_err(|source| SnapshotError::Machine { tick: *t, source })?
                    .memory_store()
                    .to_vec();
                let pages = store.len() / SNAPSHOT_PAGE_SIZE;
                // Nothing is known of its pages: each may be non-zero and is hashed when
                // needed.
                self.page_hashes = vec![None; pages];
                (store, vec![true; pages])
            }
            // Before the first snapshot: nothing (every page compares against zeros).
            (None, _) => (Vec::new(), Vec::new()),
        };
        if len > store.len() {
            // A fresh zeroed allocation (not a resize that writes every zero) with only the
            // pages that may not be zeros copied, so a large store costs only the pages
            // actually written.
            let mut grown = vec![0u8; len];
            for (p, (dst, src)) in grown
                .chunks_exact_mut(SNAPSHOT_PAGE_SIZE)
                .zip(store.chunks_exact(SNAPSHOT_PAGE_SIZE))
                .enumerate()
            {
                if nonzero.get(p).copied().unwrap_or(true) {
                    dst.copy_from_slice(src);
                }
            }
            store = grown;
        } else {
            store.truncate(len);
        }
        nonzero.resize(len / SNAPSHOT_PAGE_SIZE, false);
        // New pages are zeros: their hash is known without reading them (which would fault
        // them in).
        self.page_hashes.resize(
            len / SNAPSHOT_PAGE_SIZE,
            Some(xxhash_rust::xxh3::xxh3_64(&[0u8; SNAPSHOT_PAGE_SIZE])),
        );
        for p in pages {
            let start = p.index as usize * SNAPSHOT_PAGE_SIZE;
            if let Some(dst) = store.get_mut(start..start + SNAPSHOT_PAGE_SIZE) {
                if xor {
                    xor_into(dst, &p.bytes);
                } else {
                    dst.copy_from_slice(&p.bytes);
                }
            }
            if let Some(h) = self.page_hashes.get_mut(p.index as usize) {
                *h = None;
            }
            if let Some(n) = nonzero.get_mut(p.index as usize) {
                *n = true;
            }
        }
        self.store = Some(store);
        self.nonzero = nonzero;
        Ok(())
    }

    /// The state hash under `scheme` of the machine at the latest snapshot (`None` before
    /// any). With a paged scheme (format 6 on) after a paged snapshot this decodes only the state
    /// without its store, checks that the store image fits it, and hashes the pages changed
    /// since the last call; otherwise it rebuilds the machine.
    pub fn state_hash(&mut self, scheme: HashScheme) -> Result<Option<u64>, SnapshotError> {
        let (tick, state) = match &self.latest {
            None => return Ok(None),
            Some((tick, Latest::Paged(state)))
                if scheme != HashScheme::Whole && self.store.is_some() =>
            {
                (*tick, state)
            }
            _ => {
                return self
                    .machine()?
                    .map(|(tick, m)| {
                        m.state_hash_as(scheme)
                            .map_err(|source| SnapshotError::Machine { tick, source })
                    })
                    .transpose();
            }
        };
        let store = self.store.as_deref().unwrap_or_default();
        let err = |source| SnapshotError::Machine { tick, source };
        let m = Machine::restore(state).map_err(err)?;
        m.check_store_fits(store.len()).map_err(err)?;
        for (h, page) in self
            .page_hashes
            .iter_mut()
            .zip(store.chunks_exact(SNAPSHOT_PAGE_SIZE))
        {
            if h.is_none() {
                *h = Some(xxhash_rust::xxh3::xxh3_64(page));
            }
        }
        let hashes = self.page_hashes.iter().map(|h| h.unwrap_or_default());
        m.hash_with_store_pages(scheme, store.len(), hashes)
            .map(Some)
            .map_err(err)
    }

    /// The machine at the latest snapshot and its tick (`None` before any snapshot),
    /// leaving the chain as it is.
    pub fn machine(&self) -> Result<Option<(u64, Machine)>, SnapshotError> {
        self.clone().into_machine()
    }

    /// The machine at the latest snapshot and its tick (`None` before any snapshot).
    pub fn into_machine(self) -> Result<Option<(u64, Machine)>, SnapshotError> {
        let Some((tick, latest)) = self.latest else {
            return Ok(None);
        };
        let m = match latest {
            Latest::Whole(state) => Machine::restore(&state),
            Latest::Paged(state) => {
                Machine::restore_with_store(&state, self.store.unwrap_or_default())
            }
        }
        .map_err(|source| SnapshotError::Machine { tick, source })?;
        Ok(Some((tick, m)))
    }
}

/// Sizes, not megabytes of bytes.
impl std::fmt::Debug for SnapshotPager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotPager")
            .field("previous_store_len", &self.previous.len())
            .finish()
    }
}

/// The latest snapshot's tick and kind and the sizes, not megabytes of bytes.
impl std::fmt::Debug for SnapshotChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let latest = self.latest.as_ref().map(|(t, l)| match l {
            Latest::Whole(s) => format!("whole snapshot at tick {t}, {} bytes", s.len()),
            Latest::Paged(s) => format!("paged snapshot at tick {t}, state {} bytes", s.len()),
        });
        f.debug_struct("SnapshotChain")
            .field("latest", &latest)
            .field("store_len", &self.store.as_ref().map(Vec::len))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vexed_emu::machine::MachineConfig;
    use vexed_emu::mem::Access;

    fn machine() -> Machine {
        let mut m = Machine::new(MachineConfig {
            ram: 1 << 20,
            ..MachineConfig::default()
        })
        .expect("machine");
        m.bus_mut().mem.write_bytes(0x1000, b"first");
        m
    }

    fn pages_of(r: &Record) -> Vec<u32> {
        match r {
            Record::PagedSnapshot { pages, .. } => pages.iter().map(|p| p.index).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn rebuilt(chain: &SnapshotChain) -> Machine {
        chain
            .clone()
            .into_machine()
            .expect("rebuild")
            .expect("a snapshot")
            .1
    }

    #[test]
    fn paged_snapshots_hold_what_changed_and_rebuild_the_machine() {
        let mut m = machine();
        let mut pager = SnapshotPager::new();
        let mut chain = SnapshotChain::new();
        // The first snapshot: the non-zero pages (page 1, "first").
        let first = pager.snapshot(&mut m).expect("snapshot");
        assert_eq!(pages_of(&first), [1]);
        assert!(chain.push(first).expect("push").is_none());
        assert_eq!(rebuilt(&chain).state_hash().ok(), m.state_hash().ok());
        for scheme in [HashScheme::Paged, HashScheme::PagedMap] {
            assert_eq!(
                chain.state_hash(scheme).expect("hash"),
                m.state_hash_as(scheme).ok()
            );
        }
        // A changed page, a page zeroed again, and the store grown by two pages (one of them
        // mapped and written): those pages only.
        m.bus_mut().mem.write_bytes(0x3004, b"second");
        m.bus_mut().mem.write_bytes(0x1000, &[0; 5]);
        let grown = m.bus_mut().mem.alloc_store(2).expect("grow");
        m.bus_mut()
            .mem
            .map_page(0xD0, grown.offset(1), Access::ReadWrite)
            .expect("map");
        m.bus_mut().mem.write_bytes(0xD_0000, b"third");
        let second = pager.snapshot(&mut m).expect("snapshot");
        assert_eq!(pages_of(&second), [1, 3, 257]);
        // Pages coded as exclusive-or: page 1 back to zeros is "first" again; page 3 is new.
        if let Record::PagedSnapshot { pages, coding, .. } = &second {
            assert_eq!(*coding, SnapshotCoding::Delta);
            assert_eq!(&pages[0].bytes[..5], b"first");
            assert_eq!(&pages[1].bytes[4..10], b"second");
        }
        chain.push(second).expect("push");
        assert_eq!(rebuilt(&chain).state_hash().ok(), m.state_hash().ok());
        for scheme in [HashScheme::Paged, HashScheme::PagedMap] {
            assert_eq!(
                chain.state_hash(scheme).expect("hash"),
                m.state_hash_as(scheme).ok()
            );
        }
        assert_eq!(
            chain.state_hash(HashScheme::Whole).expect("hash"),
            m.whole_state_hash().ok()
        );
        // Nothing changed: no pages, the same machine.
        let third = pager.snapshot(&mut m).expect("snapshot");
        assert_eq!(pages_of(&third), Vec::<u32>::new());
        // An unchanged state codes in a few bytes (the tick is the same too).
        if let Record::PagedSnapshot { state, .. } = &third {
            assert!(state.len() < 40, "{} bytes", state.len());
        }
        chain.push(third).expect("push");
        let r = rebuilt(&chain);
        assert_eq!(r.state_hash().ok(), m.state_hash().ok());
        assert_eq!(r.bus().mem.read_bytes(0xD_0000, 5), b"third");
        // Other records are given back.
        let other = Record::Checkpoint { tick: 1, hash: 2 };
        assert_eq!(chain.push(other.clone()).expect("push"), Some(other));
    }

    #[test]
    fn snapshots_from_a_base_follow_a_growing_store() {
        // The recorder's and the reader's machines at tick 0: the same machine.
        let mut m = machine();
        m.bus_mut().mem.write_bytes(0x2000, b"base");
        let base = BaseImage::new(m.clone()).expect("base");
        let mut pager = SnapshotPager::from_base(&mut m).expect("pager");
        let mut chain = SnapshotChain::from_base(&base);
        // After tick 0: a page written, and the store grown by three pages of which one is
        // mapped and written.
        m.bus_mut().mem.write_bytes(0x3000, b"after");
        let grown = m.bus_mut().mem.alloc_store(3).expect("grow");
        m.bus_mut()
            .mem
            .map_page(0xD0, grown.offset(1), Access::ReadWrite)
            .expect("map");
        m.bus_mut().mem.write_bytes(0xD_0000, b"grown");
        let first = pager.snapshot(&mut m).expect("snapshot");
        // Only what changed since tick 0.
        assert_eq!(pages_of(&first), [3, 257]);
        chain.push(first).expect("push");
        assert_eq!(
            chain.state_hash(HashScheme::PagedMap).expect("hash"),
            m.state_hash().ok()
        );
        let r = rebuilt(&chain);
        assert_eq!(r.memory_store(), m.memory_store());
        assert_eq!(r.state_hash().ok(), m.state_hash().ok());
        assert_eq!(r.bus().mem.read_bytes(0x1000, 5), b"first");
    }

    #[test]
    fn a_whole_snapshot_restarts_the_chain() {
        let mut m = machine();
        let mut chain = SnapshotChain::new();
        let mut pager = SnapshotPager::new();
        chain
            .push(pager.snapshot(&mut m).expect("paged"))
            .expect("push");
        m.bus_mut().mem.write_bytes(0x5000, b"whole");
        chain
            .push(Record::Snapshot {
                tick: 7,
                state: m.snapshot().expect("whole"),
            })
            .expect("push");
        assert_eq!(chain.tick(), Some(7));
        assert_eq!(rebuilt(&chain).state_hash().ok(), m.state_hash().ok());
        // A paged snapshot after it holds the pages changed since the whole one (a pager
        // whose previous snapshot was taken at the same point).
        // Its state is coded against the pager's previous state, the reader's is nothing
        // after a whole snapshot: recoded here.
        let mut since_whole = SnapshotPager::new();
        let baseline = match since_whole.snapshot(&mut m).expect("baseline") {
            Record::PagedSnapshot { state, .. } => decode_delta_state(&state, &[]).expect("first"),
            other => panic!("{other:?}"),
        };
        m.bus_mut().mem.write_bytes(0x6000, b"after");
        m.bus_mut().mem.write_bytes(0x7000, b"later");
        let mut paged = since_whole.snapshot(&mut m).expect("paged");
        assert_eq!(pages_of(&paged), [6, 7]);
        if let Record::PagedSnapshot { state, .. } = &mut paged {
            let plain = decode_delta_state(state, &baseline).expect("decode");
            *state = vexed_trace::encode_delta_state(&plain, &[]).expect("encode");
        }
        chain.push(paged).expect("push");
        let r = rebuilt(&chain);
        assert_eq!(r.state_hash().ok(), m.state_hash().ok());
        assert_eq!(r.bus().mem.read_bytes(0x5000, 5), b"whole");
        // The chain's own hash (from its page hashes) agrees: the whole snapshot's pages
        // were hashed from their bytes.
        assert_eq!(
            chain.state_hash(HashScheme::PagedMap).expect("hash"),
            m.state_hash().ok()
        );
    }

    #[test]
    fn inconsistent_snapshots_are_errors_and_change_nothing() {
        let mut m = machine();
        let mut chain = SnapshotChain::new();
        let first = SnapshotPager::new().snapshot(&mut m).expect("snapshot");
        let state = match &first {
            Record::PagedSnapshot { state, .. } => state.clone(),
            other => panic!("{other:?}"),
        };
        chain.push(first).expect("push");
        let page = |index, len| SnapshotPage {
            index,
            bytes: vec![0xEE; len],
        };
        let store_len = m.memory_store().len() as u64;
        let bad = [
            (
                store_len,
                vec![page((store_len / 4096) as u32, 4096)],
                "outside the store",
            ),
            (store_len, vec![page(2, 10)], "holds 10 bytes"),
            (store_len + 1, vec![], "whole number of pages"),
        ];
        for (store_len, pages, text) in bad {
            let e = chain
                .push(Record::PagedSnapshot {
                    tick: 9,
                    state: state.clone(),
                    store_len,
                    pages,
                    coding: SnapshotCoding::Copy,
                })
                .expect_err(text);
            assert!(e.to_string().contains(text), "{e}");
            assert!(e.to_string().contains("tick 9"), "{e}");
            assert_eq!(chain.tick(), Some(0));
            assert_eq!(rebuilt(&chain).state_hash().ok(), m.state_hash().ok());
        }
        // A store shorter than the page map: the machine cannot be rebuilt.
        chain
            .push(Record::PagedSnapshot {
                tick: 10,
                state,
                store_len: 4096,
                pages: vec![],
                coding: SnapshotCoding::Copy,
            })
            .expect("the pages themselves are consistent");
        let e = chain.into_machine().expect_err("a store that does not fit");
        assert!(matches!(e, SnapshotError::Machine { tick: 10, .. }), "{e}");
        // A whole snapshot that does not decode, followed by a paged one.
        let mut chain = SnapshotChain::new();
        chain
            .push(Record::Snapshot {
                tick: 3,
                state: vec![1, 2, 3],
            })
            .expect("kept as bytes");
        let e = chain
            .push(Record::PagedSnapshot {
                tick: 4,
                state: vec![],
                store_len: 0,
                pages: vec![],
                coding: SnapshotCoding::Copy,
            })
            .expect_err("the whole snapshot's store is needed");
        assert!(matches!(e, SnapshotError::Machine { tick: 3, .. }), "{e}");
        assert_eq!(chain.tick(), Some(3));
    }
}
