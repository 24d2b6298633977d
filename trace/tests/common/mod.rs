//! Shared fixtures of the trace tests: a header and records covering every kind.
//!
//! `header()`, `records()` and `sample()` are also what `data/format_v1.trace` was written
//! from (see `format_v1.rs`); `header_v2()` and `records()` what `data/format_v2.trace` and
//! `data/format_v3.trace` were written from (see `format_v2.rs`, `format_v3.rs`); and
//! `sample_v4()` what `data/format_v4.trace` holds (see `format_v4.rs`), `sample_v5()` what
//! `data/format_v5.trace` holds (see `format_v5.rs`). The version 1 and
//! 2 fixtures end with the text [`END_TEXT`]. Do not change their values; add new fixtures
//! beside them instead. (`header()` has `vmm: None` since version 2 and `dpmi: None` since
//! version 4: that is what its version 1 encoding reads as; `header_v2()` has `dpmi: None`
//! since version 4, what its version 2 and 3 encodings read as; the VMM configuration of
//! `header_v2()` and `header_v4()` has `system: None` since version 5, what versions 2 to
//! 4 read as.)
#![allow(dead_code)]

use vexed_emu::clock::TickRate;
use vexed_emu::cpu::Model;
use vexed_emu::firmware::dos::DosConfig;
use vexed_emu::firmware::dpmi::DpmiConfig;
use vexed_emu::firmware::vmm::{VmSpec, VmmConfig, VmmRules};
use vexed_emu::firmware::xms::XmsConfig;
use vexed_emu::firmware::{FirmwareConfig, Program};
use vexed_emu::machine::{ClockMode, Input, MachineConfig};
use vexed_emu::observe::{Observation, Regs};
pub use vexed_trace::RunEnd;
use vexed_trace::{
    Footer, GuestFile, Header, Record, SnapshotCoding, SnapshotPage, TraceError, TraceReader,
    TraceWriter, WriterOptions,
};

/// A header with every field set to something recognisable.
pub fn header() -> Header {
    let mut dos = DosConfig::default();
    dos.boot_time.year = 1993;
    dos.boot_time.month = 6;
    dos.boot_time.day = 15;
    dos.boot_time.hour = 13;
    dos.boot_time.minute = 45;
    dos.boot_time.second = 30;
    Header {
        emulator_version: "vexed 0.1.0 (test)".into(),
        name: "sample".into(),
        machine: MachineConfig {
            model: Model::I80286,
            ram: 2 << 20,
            rate: TickRate::new(1_000_000).unwrap(),
            clock: ClockMode::Host,
        },
        firmware: FirmwareConfig {
            xms: Some(XmsConfig {
                handles: 16,
                hma_min_kb: 10,
            }),
            ems: None,
            dos,
            vmm: None,
            dpmi: None,
        },
        programs: vec![
            Program {
                name: "TSR.COM".into(),
                args: "/install".into(),
            },
            Program {
                name: "SUB\\CLIENT.EXE".into(),
                args: String::new(),
            },
        ],
        seed: Some(0xDEAD_BEEF),
        scenario: "name = \"sample\"\n[machine]\ncpu = \"286\"\n".into(),
        max_ticks: 50_000_000,
        checkpoint_interval: 1000,
        drive_writable: true,
        dirs: vec!["SUB".into(), "EMPTY".into()],
        files: vec![
            GuestFile::new("TSR.COM".into(), vec![0xCD, 0x20, 0x90]),
            GuestFile::new("SUB\\CLIENT.EXE".into(), b"MZ\x00\x01rest".to_vec()),
        ],
    }
}

/// [`header`] with a VM manager whose every setting differs from the default (the header
/// of `data/format_v2.trace`).
pub fn header_v2() -> Header {
    let mut h = header();
    h.firmware.vmm = Some(VmmConfig {
        slice: 3,
        vms: vec![
            VmSpec {
                program: Program {
                    name: "SUB\\CLIENT.EXE".into(),
                    args: "/vm".into(),
                },
                foreground_priority: 300,
                background_priority: 25,
            },
            VmSpec {
                program: Program {
                    name: "TSR.COM".into(),
                    args: String::new(),
                },
                foreground_priority: 10_000,
                background_priority: 1,
            },
        ],
        focus: 1,
        rules: VmmRules {
            indos: false,
            ..VmmRules::default()
        },
        system: None,
    });
    h
}

/// [`header_v2`] with a DPMI host whose client limit is not the default and takes more
/// than one byte (the header of `data/format_v4.trace`).
pub fn header_v4() -> Header {
    let mut h = header_v2();
    h.firmware.dpmi = Some(DpmiConfig {
        max_client_kb: 3072,
    });
    h
}

/// [`header_v4`] whose system VM runs a program with arguments (the header of
/// `data/format_v5.trace`).
pub fn header_v5() -> Header {
    let mut h = header_v4();
    if let Some(v) = h.firmware.vmm.as_mut() {
        v.system = Some(Program {
            name: "WIN\\CLIENT.EXE".into(),
            args: "/sys".into(),
        });
    }
    h
}

/// One of every input.
pub fn inputs() -> Vec<Input> {
    vec![
        Input::Key { scancode: 0x1E },
        Input::Key { scancode: 0x9E },
        Input::Irq { line: 5 },
        Input::SerialRx { byte: b'A' },
        Input::DmaDone { channel: 1 },
        Input::TimerTick,
    ]
}

fn regs(seed: u16) -> Regs {
    Regs {
        ax: seed,
        bx: seed.wrapping_mul(3),
        cx: 0xFFFF,
        dx: 251,
        si: 0,
        di: 0x8000,
        ds: 0x1234,
        es: seed ^ 0xA5A5,
    }
}

/// One of every observation.
pub fn observations() -> Vec<Observation> {
    vec![
        Observation::Xms {
            input: regs(0x0900),
            output: regs(1),
        },
        Observation::Ems {
            input: regs(0x4300),
            output: regs(0),
        },
        Observation::Multiplex {
            input: regs(0x1600),
            output: regs(0x0300),
        },
        Observation::Console {
            bytes: b"Hello\r\n\x00\xff".to_vec(),
        },
        Observation::ProgramStart {
            psp: 0x0ABC,
            path: "C:\\SUB\\CLIENT.EXE".into(),
        },
        Observation::ProgramExit {
            psp: 0x0ABC,
            code: 3,
            kind: 0,
        },
        Observation::TsrInstalled {
            psp: 0x0800,
            paragraphs: 0x40,
        },
    ]
}

/// Records of every kind, ticks non-decreasing (with equal ticks and big gaps).
pub fn records() -> Vec<Record> {
    let mut out = Vec::new();
    let mut tick = 0u64;
    for (i, input) in inputs().into_iter().enumerate() {
        out.push(Record::Input { tick, input });
        tick += [0, 1, 250, 251, 65_536, 1 << 33][i % 6];
    }
    for observation in observations() {
        out.push(Record::Observation { tick, observation });
        tick += 1000;
    }
    out.push(Record::Checkpoint {
        tick,
        hash: 0x0123_4567_89AB_CDEF,
    });
    out.push(Record::Snapshot {
        tick,
        state: (0..5000u32).map(|i| (i * 7 % 251) as u8).collect(),
    });
    out.push(Record::Checkpoint {
        tick: tick + 1,
        hash: u64::MAX,
    });
    out.push(Record::Snapshot {
        tick: tick + 1,
        state: Vec::new(),
    });
    out
}

/// [`records`] and two paged snapshots with their checkpoints: one of kind 4 (pages
/// copied) and one of kind 5 (a delta; its state bytes are not a real zstd frame, which the
/// trace layer does not look into). What `data/format_v6.trace` holds.
pub fn records_v6() -> Vec<Record> {
    let mut out = records();
    let tick = out.last().map_or(0, Record::tick) + 1;
    out.push(Record::PagedSnapshot {
        tick,
        state: vec![1, 2, 3],
        store_len: 3 * 4096,
        pages: vec![SnapshotPage {
            index: 1,
            bytes: vec![7; 4096],
        }],
        coding: SnapshotCoding::Copy,
    });
    out.push(Record::Checkpoint { tick, hash: 7 });
    out.push(Record::PagedSnapshot {
        tick: tick + 300,
        state: vec![9, 8, 7, 6],
        store_len: 4 * 4096,
        pages: vec![
            SnapshotPage {
                index: 0,
                bytes: (0..4096u32).map(|i| (i % 13) as u8).collect(),
            },
            SnapshotPage {
                index: 3,
                bytes: vec![0; 4096],
            },
        ],
        coding: SnapshotCoding::Delta,
    });
    out.push(Record::Checkpoint {
        tick: tick + 300,
        hash: 0x6666_0000_0000_0006,
    });
    out
}

/// [`records_v6`] with what version 8 added: a checkpoint at tick 0 first (a version 8
/// recorder's, the hash of the machine the header builds), and checkpoints at a fixed
/// spacing after an input (stored as a checkpoint run, record kind 6) followed by one off
/// the spacing.
pub fn records_v8() -> Vec<Record> {
    let mut out = vec![Record::Checkpoint {
        tick: 0,
        hash: 0x0808_0808_0000_0000,
    }];
    out.extend(records_v6());
    let tick = out.last().map_or(0, Record::tick) + 100;
    out.push(Record::Input {
        tick,
        input: Input::Key { scancode: 0x1C },
    });
    for k in 1..=5u64 {
        out.push(Record::Checkpoint {
            tick: tick + k * 1_000_000,
            hash: 0x8000_0000_0000_0000 | k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 1,
        });
    }
    out.push(Record::Checkpoint {
        tick: tick + 5_500_000,
        hash: 0x0000_0000_0000_0042,
    });
    out
}

pub const FINAL_HASH: u64 = 0xFEED_FACE_CAFE_BEEF;
/// The footer's end of the version 1 and 2 fixtures, as text.
pub const END_TEXT: &str = "all programs finished (last exit code 0)";
/// How the sample runs end (what [`END_TEXT`] reads as).
pub const END: RunEnd = RunEnd::Finished { exit_code: 0 };

/// A complete trace of `records` in frames of at most `per_frame` records.
pub fn trace_bytes(records: &[Record], per_frame: u64) -> Vec<u8> {
    trace_bytes_with(&header(), records, per_frame)
}

/// [`trace_bytes`] with `header`.
pub fn trace_bytes_with(header: &Header, records: &[Record], per_frame: u64) -> Vec<u8> {
    let opts = WriterOptions {
        max_frame_records: per_frame,
        ..WriterOptions::default()
    };
    let mut w = TraceWriter::with_options(Vec::new(), header, opts).unwrap();
    for r in records {
        w.push(r.clone()).unwrap();
    }
    let last = records.last().map_or(0, Record::tick);
    w.finish(last.saturating_add(10), FINAL_HASH, &END).unwrap()
}

/// The sample trace: every record kind, several frames.
pub fn sample() -> Vec<u8> {
    trace_bytes(&records(), 4)
}

/// [`sample`] with [`header_v4`]: what `data/format_v4.trace` holds. (`data/format_v3.trace`
/// is the same with [`header_v2`], written by version 3; `data/format_v2.trace` that with
/// the end [`END_TEXT`], written by version 2.)
pub fn sample_v4() -> Vec<u8> {
    trace_bytes_with(&header_v4(), &records(), 4)
}

/// [`sample`] with [`header_v5`]: what `data/format_v5.trace` holds.
pub fn sample_v5() -> Vec<u8> {
    trace_bytes_with(&header_v5(), &records(), 4)
}

/// [`records_v6`] with [`header_v5`] (the header did not change in version 6): what
/// `data/format_v6.trace` holds, and, written by version 7 (whose bytes differ only in the
/// version field and what the hashes mean), `data/format_v7.trace`.
pub fn sample_v6() -> Vec<u8> {
    trace_bytes_with(&header_v5(), &records_v6(), 4)
}

/// [`records_v8`] with [`header_v5`] (the header did not change in version 8), in frames
/// of up to 8 records: what `data/format_v8.trace` holds.
pub fn sample_v8() -> Vec<u8> {
    trace_bytes_with(&header_v5(), &records_v8(), 8)
}

/// What reading `bytes` gave: the records delivered before the end or the first error,
/// and how it ended.
pub struct Outcome {
    pub header: Option<Header>,
    pub records: Vec<Record>,
    pub footer: Option<Footer>,
    pub truncated_after: Option<u64>,
    pub error: Option<TraceError>,
}

pub fn read_all(bytes: &[u8]) -> Outcome {
    let mut o = Outcome {
        header: None,
        records: Vec::new(),
        footer: None,
        truncated_after: None,
        error: None,
    };
    let mut r = match TraceReader::new(bytes) {
        Ok(r) => r,
        Err(e) => {
            o.error = Some(e);
            return o;
        }
    };
    o.header = Some(r.header().clone());
    loop {
        match r.next_record() {
            Ok(Some(rec)) => o.records.push(rec),
            Ok(None) => break,
            Err(e) => {
                o.error = Some(e);
                break;
            }
        }
    }
    o.footer = r.footer().cloned();
    o.truncated_after = r.truncated_after();
    o
}
