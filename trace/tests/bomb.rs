//! A compression bomb: a trace of a few KB whose one frame holds a 200 MiB console
//! observation is refused without decompressing it (the frame limit of FORMAT.md,
//! "Limits", applies to the size the frame records, before decompression), so reading it
//! never allocates more than a few MiB. (One test in this binary, so nothing else
//! allocates meanwhile.)

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use vexed_trace::{Trace, TraceError, TraceReader, TraceWriter, limits};

struct Counting;

/// Bytes allocated and not freed, and the most of them at any moment.
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            grew(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One frame holding one console observation of `n` bytes at tick 10, compressed as it is
/// produced (the raw frame is never in memory), with the size recorded.
fn bomb_frame(n: u64) -> Vec<u8> {
    let mut head = vec![1u8, 1, 10, 3, 0xFD];
    head.extend_from_slice(&n.to_le_bytes());
    let raw_len = head.len() as u64 + n;
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    enc.include_contentsize(true).unwrap();
    enc.set_pledged_src_size(Some(raw_len)).unwrap();
    enc.write_all(&head).unwrap();
    let chunk = vec![b'x'; 1 << 16];
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len() as u64) as usize;
        enc.write_all(&chunk[..k]).unwrap();
        left -= k as u64;
    }
    let payload = enc.finish().unwrap();
    let len = (payload.len() as u32).to_le_bytes();
    let mut h = crc32fast::Hasher::new();
    h.update(&len);
    h.update(&payload);
    let mut out = len.to_vec();
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

fn footer(body: &[u8]) -> Vec<u8> {
    let mut out = vexed_trace::FOOTER_TAG.to_le_bytes().to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    let mut h = crc32fast::Hasher::new();
    h.update(&out);
    h.update(body);
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(body);
    out
}

#[test]
fn a_200_mib_console_observation_in_a_7_kb_trace_is_refused_with_bounded_memory() {
    let header_len = TraceWriter::new(Vec::new(), &header())
        .unwrap()
        .bytes_written() as usize;
    let mut bytes = TraceWriter::new(Vec::new(), &header())
        .unwrap()
        .finish(0, 0, &END)
        .unwrap();
    bytes.truncate(header_len);
    bytes.extend(bomb_frame(200 << 20));
    // final tick 10, hash 0, end TickLimit (6), counts: 1 observation in 1 frame.
    bytes.extend(footer(&[10, 0, 6, 0, 1, 0, 0, 1]));
    assert!(bytes.len() < 16 << 10, "{} bytes", bytes.len());
    eprintln!("the bomb trace takes {} bytes", bytes.len());

    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let e = Trace::from_bytes(bytes.clone()).unwrap_err();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    eprintln!("Trace::from_bytes: peak {peak} bytes above the start: {e}");
    assert!(matches!(e, TraceError::Limit { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&limits::MAX_RECORDS_FRAME_RAW.to_string()),
        "{text}"
    );
    assert!(text.len() < 1000, "{text}");
    assert!(peak < 4 << 20, "peak {peak} bytes");

    // The streaming reader (what dump uses) applies the same limit.
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    let start = LIVE.load(Ordering::Relaxed);
    let mut r = TraceReader::new(&bytes[..]).unwrap();
    let e = r.next_record().unwrap_err();
    let peak = PEAK.load(Ordering::Relaxed) - start;
    assert!(matches!(e, TraceError::Limit { .. }), "{e}");
    assert!(peak < 4 << 20, "peak {peak} bytes");
}
