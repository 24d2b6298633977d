//! Forged lengths do not make the reader allocate: the largest single allocation while
//! reading small forged files stays small. (One test in this binary, so nothing else
//! allocates meanwhile.)

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use vexed_trace::{TraceReader, TraceWriter};

struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The largest allocation made while reading `bytes` to the end or the first error.
fn largest_allocation(bytes: &[u8], file_len: Option<u64>) -> (usize, String) {
    LARGEST.store(0, Ordering::Relaxed);
    let outcome = match TraceReader::with_file_len(bytes, file_len) {
        Err(e) => e.to_string(),
        Ok(mut r) => loop {
            match r.next_record() {
                Ok(Some(_)) => {}
                Ok(None) => break "end".to_string(),
                Err(e) => break e.to_string(),
            }
        },
    };
    (LARGEST.load(Ordering::Relaxed), outcome)
}

fn framed(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    let mut h = crc32fast::Hasher::new();
    h.update(&len);
    h.update(payload);
    let mut out = len.to_vec();
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(payload);
    out
}

#[test]
fn forged_lengths_allocate_little() {
    // serde preallocates at most 1 MiB for a sequence, whatever length it claims.
    const SMALL: usize = 1 << 20;
    let sample = sample();
    let header_len = TraceWriter::new(Vec::new(), &header())
        .unwrap()
        .bytes_written() as usize;

    // The header's length field: just under its limit, in a 40-byte file.
    let mut bytes = sample[..40].to_vec();
    bytes[12..16].copy_from_slice(&((64u32 << 20) - 1).to_le_bytes());
    for len in [None, Some(40)] {
        let (largest, outcome) = largest_allocation(&bytes, len);
        assert!(outcome.contains("ends at byte offset 40"), "{outcome}");
        assert!(largest <= SMALL, "{largest} bytes for {outcome}");
    }

    // A frame's length field, just under the limit, at the end of the file.
    let mut bytes = sample[..header_len + 8].to_vec();
    bytes[header_len..header_len + 4].copy_from_slice(&((64u32 << 20) - 1).to_le_bytes());
    let (largest, outcome) = largest_allocation(&bytes, None);
    assert!(outcome.contains("inside frame 0"), "{outcome}");
    assert!(largest <= SMALL, "{largest} bytes for {outcome}");

    // Length fields over the limit.
    let mut bytes = sample.clone();
    bytes[header_len..header_len + 4].copy_from_slice(&u32::MAX.wrapping_sub(1).to_le_bytes());
    let (largest, outcome) = largest_allocation(&bytes, None);
    assert!(outcome.contains("more than the limit"), "{outcome}");
    assert!(largest <= SMALL, "{largest} bytes for {outcome}");

    // A byte string inside a frame claiming 2^40 bytes (a console observation).
    let raw = [1, 1, 0, 3, 0xFD, 0, 0, 0, 0, 0, 1, 0, 0, 1];
    let mut bytes = sample[..header_len].to_vec();
    bytes.extend(framed(&zstd::bulk::compress(&raw, 3).unwrap()));
    let (largest, outcome) = largest_allocation(&bytes, None);
    assert!(outcome.contains("cannot be decoded"), "{outcome}");
    assert!(largest <= SMALL, "{largest} bytes for {outcome}");

    // A snapshot claiming 2^40 bytes (bytes decoded in one piece).
    let raw = [1, 3, 0, 0xFD, 0, 0, 0, 0, 0, 1, 0, 0, 1];
    let mut bytes = sample[..header_len].to_vec();
    bytes.extend(framed(&zstd::bulk::compress(&raw, 3).unwrap()));
    let (largest, outcome) = largest_allocation(&bytes, None);
    assert!(outcome.contains("larger than the data itself"), "{outcome}");
    assert!(largest <= SMALL, "{largest} bytes for {outcome}");

    // A zstd frame declaring 200 MiB (within the limit) and holding nothing: at most the
    // 8 MiB reserved up front.
    let mut z = vec![0x28, 0xB5, 0x2F, 0xFD, 0xE0];
    z.extend_from_slice(&(200u64 << 20).to_le_bytes());
    z.extend_from_slice(&[0x01, 0, 0]);
    let mut bytes = sample[..header_len].to_vec();
    bytes.extend(framed(&z));
    let (largest, outcome) = largest_allocation(&bytes, None);
    assert!(outcome.contains("zstd"), "{outcome}");
    assert!(largest <= (8 << 20) + 4096, "{largest} bytes for {outcome}");

    // And the intact sample reads with small allocations too.
    let (largest, outcome) = largest_allocation(&sample, None);
    assert_eq!(outcome, "end");
    assert!(largest <= SMALL, "{largest}");
}
