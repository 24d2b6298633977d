//! A recorder that stops without finishing leaves a readable prefix: "truncated after
//! tick N".

mod common;

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use common::*;
use vexed_trace::{Record, TraceReader, TraceWriter, WriterOptions, dump, info_from_reader};

/// An output whose bytes can be looked at while the writer still owns it.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn ten_records() -> Vec<Record> {
    (0..10u64)
        .map(|i| Record::Checkpoint {
            tick: 1000 * i + 5,
            hash: i,
        })
        .collect()
}

fn writer(out: Shared) -> TraceWriter<Shared> {
    let opts = WriterOptions {
        max_frame_records: 3,
        ..WriterOptions::default()
    };
    TraceWriter::with_options(out, &header(), opts).unwrap()
}

#[test]
fn a_killed_recorder_leaves_every_flushed_frame() {
    let out = Shared::default();
    let mut w = writer(out.clone());
    let records = ten_records();
    for r in &records {
        w.push(r.clone()).unwrap();
    }
    assert_eq!(w.counts().frames, 3);
    // What a recorder killed now leaves on disk: three frames, the tenth record lost.
    let on_disk = out.0.borrow().clone();
    std::mem::forget(w);
    let o = read_all(&on_disk);
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(o.records, records[..9]);
    assert!(o.footer.is_none());
    assert_eq!(o.truncated_after, Some(8005));
}

#[test]
fn a_dropped_writer_flushes_what_it_has() {
    let out = Shared::default();
    let mut w = writer(out.clone());
    let records = ten_records();
    for r in &records {
        w.push(r.clone()).unwrap();
    }
    drop(w);
    let bytes = out.0.borrow().clone();
    let o = read_all(&bytes);
    assert!(o.error.is_none(), "{:?}", o.error);
    assert_eq!(o.records, records);
    assert!(o.footer.is_none());
    assert_eq!(o.truncated_after, Some(9005));

    // dump and info say so.
    let mut r = TraceReader::new(&bytes[..]).unwrap();
    let mut text = Vec::new();
    dump(&mut r, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.ends_with(
            "truncated after tick 9005 (0.009005s): the file has no footer\n\
             read: 0 inputs, 0 observations, 10 checkpoints, 0 snapshots in 4 frames\n"
        ),
        "{text}"
    );
    let i = info_from_reader(&mut TraceReader::new(&bytes[..]).unwrap()).unwrap();
    assert_eq!(i.truncated_after, Some(9005));
    assert_eq!(i.final_tick, None);
    assert_eq!(i.counts.checkpoints, 10);
    assert_eq!(i.counts.frames, 4);
    assert!(i.to_string().contains("truncated after tick 9005"), "{i}");
}

#[test]
fn a_trace_with_only_a_header_is_truncated_after_tick_0() {
    let out = Shared::default();
    drop(writer(out.clone()));
    let o = read_all(&out.0.borrow());
    assert!(o.error.is_none());
    assert!(o.records.is_empty());
    assert_eq!(o.truncated_after, Some(0));
}
