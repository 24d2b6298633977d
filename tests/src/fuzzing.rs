//! Fuzz target bodies (issue 14, item 9): the trace reader (trace/FORMAT.md), the scenario
//! manifest parser (corpora/README.md, `replay/src/scenario.rs`) and the DOS, XMS and EMS
//! call surface of the firmware (DESIGN.md section 4). The cargo-fuzz targets in `fuzz/`
//! call these with libFuzzer's inputs; `tests/tests/fuzz_corpus.rs` calls them with every
//! file of the committed regression corpus (`fuzz/regressions/<target>/`) on the stable
//! compiler, so CI checks old findings without nightly or libFuzzer.
//!
//! Every body accepts any bytes. It returns normally when the code under test handled the
//! input (accepted or refused it), and panics only when an invariant stated below is
//! broken, which libFuzzer reports as a crash.

use std::io;
use std::path::Path;

use vexed_emu::firmware::dos::DriveC;
use vexed_emu::firmware::{Firmware, FirmwareConfig, Program};
use vexed_emu::machine::{Machine, MachineConfig, Stop};
use vexed_replay::scenario::Scenario;
use vexed_trace::{TraceError, TraceReader};

/// What reading a whole trace found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadTrace {
    /// Records delivered.
    pub records: u64,
    /// Whether the trace ended with a footer (false: truncated after a complete frame).
    pub complete: bool,
}

/// Opens and validates a trace held in memory (its size known, as when the CLI opens a file):
/// the header, every record, the footer. This is the one place the trace target names the
/// validating API.
pub fn read_trace(bytes: &[u8]) -> Result<ReadTrace, TraceError> {
    let mut reader = TraceReader::with_file_len(bytes, Some(bytes.len() as u64))?;
    let mut records = 0u64;
    while reader.next_record()?.is_some() {
        records += 1;
    }
    assert!(reader.at_end(), "next_record gave None before the end");
    assert_eq!(
        reader.counts().records(),
        records,
        "the reader's counts disagree with the records it delivered"
    );
    if let Some(footer) = reader.footer() {
        assert_eq!(
            &footer.counts,
            reader.counts(),
            "a footer whose counts differ from the records was accepted"
        );
    }
    Ok(ReadTrace {
        records,
        complete: reader.footer().is_some(),
    })
}

/// The trace target. Every input is checked as a file ([`trace_file_as_is`]). One that
/// starts with the magic is checked again with its CRCs recomputed ([`with_crcs_fixed`]),
/// so that mutations reach the zstd and bincode decoding behind the CRC checks; any other
/// input is checked as the decompressed payload of a frame ([`trace_with_frame`]), so that
/// they reach the record decoding and the tick and snapshot checks.
pub fn trace_file(bytes: &[u8]) {
    trace_file_as_is(bytes);
    if bytes.starts_with(&vexed_trace::MAGIC) {
        let fixed = with_crcs_fixed(bytes);
        if fixed != bytes {
            trace_file_as_is(&fixed);
        }
    } else {
        trace_file_as_is(&trace_with_frame(bytes));
    }
}

/// A small valid trace whose header [`trace_with_frame`] reuses.
const HEADER_DONOR: &[u8] = include_bytes!("../../corpora/golden/hma.trace");

/// The header of [`HEADER_DONOR`], then one frame whose decompressed payload is `payload`
/// (stored in a zstd frame of raw blocks, RFC 8878 section 3.1.1), with its CRC, and no
/// footer (a trace truncated after the frame).
pub fn trace_with_frame(payload: &[u8]) -> Vec<u8> {
    let header_len = le32(HEADER_DONOR, 12).map_or(0, |h| 20 + h as usize);
    let mut out = HEADER_DONOR[..header_len.min(HEADER_DONOR.len())].to_vec();
    let zstd = zstd_raw(payload);
    let len = u32::try_from(zstd.len()).unwrap_or(u32::MAX).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc32(&[&len, &zstd]).to_le_bytes());
    out.extend_from_slice(&zstd);
    out
}

/// `data` as a zstd frame of raw (stored) blocks that records its content size: magic
/// FD2FB528h, a frame header descriptor E0h (an 8-byte content size, single segment, no
/// checksum, no dictionary), the size, then blocks of at most 128 KiB, each with a 3-byte
/// header (size << 3 | type 0 << 1 | last).
fn zstd_raw(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x28, 0xB5, 0x2F, 0xFD, 0xE0];
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    let mut blocks = data.chunks(128 << 10).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0]);
    }
    while let Some(block) = blocks.next() {
        let header = (block.len() as u32) << 3 | u32::from(blocks.peek().is_none());
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.extend_from_slice(block);
    }
    out
}

/// `bytes` with every CRC of the format recomputed over the bytes it covers (trace/FORMAT.md,
/// "Layout"), walking the header, the frames and the footer by their length fields as the
/// reader does; a part cut off by the end of the input is left as it is.
pub fn with_crcs_fixed(bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let Some(h) = le32(&b, 12) else {
        return b;
    };
    let mut at = 20 + h as usize;
    if at > b.len() {
        return b;
    }
    let crc = crc32(&[&b[..16], &b[20..at]]);
    b[16..20].copy_from_slice(&crc.to_le_bytes());
    while let Some(len) = le32(&b, at) {
        let (prefix, len) = match len {
            vexed_trace::FOOTER_TAG => match le32(&b, at + 4) {
                Some(body) => (12, body as usize),
                None => break,
            },
            len => (8, len as usize),
        };
        let end = at + prefix + len;
        if end > b.len() {
            break;
        }
        let crc = crc32(&[&b[at..at + prefix - 4], &b[at + prefix..end]]);
        b[at + prefix - 4..at + prefix].copy_from_slice(&crc.to_le_bytes());
        if prefix == 12 {
            break;
        }
        at = end;
    }
    b
}

/// The little-endian u32 at `at`, if the bytes hold one there.
fn le32(b: &[u8], at: usize) -> Option<u32> {
    let w = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

/// The IEEE CRC-32 (trace/FORMAT.md, "Conventions") of the concatenated parts.
pub fn crc32(parts: &[&[u8]]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut c = !0u32;
    for part in parts {
        for &x in *part {
            c = TABLE[((c ^ u32::from(x)) & 0xFF) as usize] ^ (c >> 8);
        }
    }
    !c
}

/// One input as a trace file: the verbs' reader (`vexed_replay::recording::Recording`),
/// [`read_trace`], then `vexed_trace::dump` into a sink and
/// `vexed_trace::info_from_reader`, each over a fresh streaming reader of the same bytes
/// (`TraceReader::new`, size unknown: long length fields are met by reading).
///
/// Invariants: nothing panics; the three passes agree on whether the trace is valid, and the
/// two streaming ones fail with the same error (reading is deterministic); a trace read to
/// its footer ends with an intact footer (`vexed_trace::ends_with_footer`); `info` counts the
/// records read.
pub fn trace_file_as_is(bytes: &[u8]) {
    let read = read_trace(bytes);
    // The reader every verb opens traces with (`vexed_trace::Trace`, then every snapshot
    // rebuilt and checked against its checkpoint's state hash) is stricter than the
    // streaming reader: what it accepts, the streaming reader reads the same way.
    if let Ok(rec) = vexed_replay::recording::Recording::from_bytes(bytes) {
        match &read {
            Ok(r) => assert_eq!(
                rec.footer().is_some(),
                r.complete,
                "the readers disagree on whether the trace is complete"
            ),
            // A file cut inside a frame: the streaming reader reports the cut after
            // delivering the complete frames; for the verbs it is an unfinished trace.
            Err(TraceError::Truncated { .. }) if rec.footer().is_none() => {}
            Err(e) => {
                panic!("the verbs' reader accepted a trace the streaming reader refuses: {e}")
            }
        }
    }
    let dumped =
        TraceReader::new(bytes).and_then(|mut r| vexed_trace::dump(&mut r, &mut io::sink()));
    let info = TraceReader::new(bytes).and_then(|mut r| vexed_trace::info_from_reader(&mut r));
    match (&read, &dumped, &info) {
        (Ok(read), Ok(()), Ok(info)) => {
            assert_eq!(
                info.counts.records(),
                read.records,
                "info miscounts records"
            );
            assert_eq!(info.final_tick.is_some(), read.complete);
            assert_eq!(info.truncated_after.is_none(), read.complete);
            if read.complete {
                assert!(
                    vexed_trace::ends_with_footer(bytes),
                    "a footer was read but ends_with_footer denies it"
                );
            }
            // The text form must format whatever was read.
            io::Write::write_fmt(&mut io::sink(), format_args!("{info}")).ok();
        }
        (Err(_), Err(dump), Err(info)) => {
            let (dump, info) = (dump.to_string(), info.to_string());
            assert_eq!(dump, info, "dump and info fail differently");
        }
        _ => panic!(
            "passes disagree: read {:?}, dump {:?}, info {:?}",
            read.map(|_| ()),
            dumped,
            info.map(|_| ())
        ),
    }
}

/// Ticks a parsed scenario's machine runs for in [`scenario_manifest`]: with an empty drive
/// C:, the BIOS and DOS boot and the shell fails to start the first program well before.
pub const SCENARIO_BOOT_TICKS: u64 = 2_000_000;

/// The scenario target: any bytes as a scenario manifest (TOML, `Scenario::parse`).
///
/// Invariants for a manifest the parser accepts: its inputs are sorted by tick and every
/// one of them can be injected into its machine; there is an expected exit code per program;
/// the machine and firmware it describes build and boot (with an empty drive C:, so the shell
/// stops at the first program) for [`SCENARIO_BOOT_TICKS`] ticks without a host panic.
/// (The state is not hashed here: hashing up to 64 MiB of RAM per input would make this
/// target as slow as `dos_calls`, which checks hashing and snapshots.)
pub fn scenario_manifest(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(s) = Scenario::parse(text, Path::new("/fuzz"), "fuzz".into()) else {
        return;
    };
    assert!(
        s.inputs.windows(2).all(|w| w[0].0 <= w[1].0),
        "inputs out of tick order"
    );
    assert_eq!(s.exit_codes.len(), s.programs.len());
    let firmware = Firmware::new(
        s.firmware.clone(),
        DriveC::new(s.writable),
        s.programs.clone(),
    );
    let mut m = match Machine::with_firmware(s.machine, firmware) {
        Ok(m) => m,
        Err(e) => panic!("an accepted manifest describes a machine that cannot be built: {e}"),
    };
    m.run_until(SCENARIO_BOOT_TICKS.min(s.max_ticks));
    for &(_, input) in &s.inputs {
        if let Err(e) = m.inject(input) {
            panic!("an accepted manifest has an input the machine refuses: {input:?}: {e}");
        }
    }
}

/// The machine of [`dos_calls`]: the default one with 4 MiB of RAM instead of 16 (XMS
/// then manages 2.9 MiB), so that encoding and hashing its state twice per input stays
/// cheap.
pub const DOS_CALL_RAM: u32 = 4 << 20;
/// Ticks the guest of [`dos_calls`] runs for (DOS boots and loads it in well under this).
pub const DOS_CALL_TICKS: u64 = 4_000_000;
/// Ticks both the machine and its restored snapshot run on after the [`DOS_CALL_TICKS`].
pub const DOS_CALL_AFTER_TICKS: u64 = 200_000;
/// Calls one input can make.
pub const MAX_CALLS: usize = 64;
/// Offset in the guest's segment of the data block that the input's first bytes fill, for
/// pointer arguments (DS:DX, DS:SI, ES:DI) to point into.
pub const DATA_OFFSET: u16 = 0x0900;
/// Bytes of the data block.
pub const DATA_LEN: usize = 256;
/// Where the guest keeps the XMS driver's entry point (offset, then segment).
pub const XMS_ENTRY_OFFSET: u16 = 0x0A00;

/// One firmware call of a [`dos_calls`] input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// `INT 21h` (DOS).
    Dos,
    /// `INT 2Fh` (multiplex: the XMS installation check, the VMM's services).
    Multiplex,
    /// `INT 67h` (EMS).
    Ems,
    /// `CALL FAR` to the XMS driver's entry point.
    Xms,
}

/// A guest program (a .COM image, loaded at offset 100h) that makes the calls `bytes`
/// describe. Layout of `bytes`: one byte `n`, then `n` bytes (at most [`DATA_LEN`]) copied to
/// [`DATA_OFFSET`]; then calls of 13 bytes each (at most [`MAX_CALLS`]): a service byte (its
/// low two bits: 0 DOS, 1 multiplex, 2 EMS, 3 XMS) and AX, BX, CX, DX, SI, DI little-endian.
/// The program first asks INT 2Fh AX=4310h for the XMS entry point and stores it, sets DS
/// and ES to its own segment before every call, and ends with INT 21h AX=4C00h.
pub fn dos_call_program(bytes: &[u8]) -> Vec<u8> {
    let (&n, rest) = bytes.split_first().unwrap_or((&0, &[]));
    let data_len = usize::from(n).min(DATA_LEN).min(rest.len());
    let (data, calls) = rest.split_at(data_len);
    let [xlo, xhi] = XMS_ENTRY_OFFSET.to_le_bytes();
    let [slo, shi] = (XMS_ENTRY_OFFSET + 2).to_le_bytes();
    // mov ax,4310h; int 2Fh; mov [cs:entry],bx; mov [cs:entry+2],es
    let mut code = vec![
        0xB8, 0x10, 0x43, 0xCD, 0x2F, 0x2E, 0x89, 0x1E, xlo, xhi, 0x2E, 0x8C, 0x06, slo, shi,
    ];
    for call in calls.chunks_exact(13).take(MAX_CALLS) {
        // push cs; pop ds; push cs; pop es
        code.extend_from_slice(&[0x0E, 0x1F, 0x0E, 0x07]);
        // mov ax/bx/cx/dx/si/di, imm16
        for (opcode, imm) in [0xB8, 0xBB, 0xB9, 0xBA, 0xBE, 0xBF]
            .iter()
            .zip(call[1..].chunks_exact(2))
        {
            code.extend_from_slice(&[*opcode, imm[0], imm[1]]);
        }
        match service(call[0]) {
            Service::Dos => code.extend_from_slice(&[0xCD, 0x21]),
            Service::Multiplex => code.extend_from_slice(&[0xCD, 0x2F]),
            Service::Ems => code.extend_from_slice(&[0xCD, 0x67]),
            // call far [cs:entry]
            Service::Xms => code.extend_from_slice(&[0x2E, 0xFF, 0x1E, xlo, xhi]),
        }
    }
    // mov ax,4C00h; int 21h
    code.extend_from_slice(&[0xB8, 0x00, 0x4C, 0xCD, 0x21]);
    let mut image = vec![0u8; usize::from(XMS_ENTRY_OFFSET) + 4 - 0x100];
    let data_at = usize::from(DATA_OFFSET) - 0x100;
    image[..code.len()].copy_from_slice(&code);
    image[data_at..data_at + data.len()].copy_from_slice(data);
    image
}

/// The service a call's first byte selects.
pub fn service(byte: u8) -> Service {
    match byte & 3 {
        0 => Service::Dos,
        1 => Service::Multiplex,
        2 => Service::Ems,
        _ => Service::Xms,
    }
}

/// The DOS/XMS/EMS target: [`run_dos_calls`].
///
/// Invariants: nothing panics (whatever the calls do to the guest: a stray INT 21h AH=25h
/// may point a vector into garbage, an XMS move may overwrite DOS; any ending is guest
/// behaviour); the machine's state hashes; its snapshot restores to a machine whose
/// snapshot is the same bytes, and the two then run [`DOS_CALL_AFTER_TICKS`] more ticks to
/// the same stop and the same state (a snapshot holds everything that determines the
/// future).
pub fn dos_calls(bytes: &[u8]) {
    let (_, mut m) = run_dos_calls(bytes);
    if let Err(e) = m.state_hash() {
        panic!("the machine's state does not hash: {e}");
    }
    let snapshot = snapshot_of(&m);
    let mut restored = match Machine::restore(&snapshot) {
        Ok(r) => r,
        Err(e) => panic!("the machine's snapshot does not restore: {e}"),
    };
    assert!(
        snapshot_of(&restored) == snapshot,
        "a restored snapshot encodes differently"
    );
    let deadline = m.now() + DOS_CALL_AFTER_TICKS;
    let stop = m.run_until(deadline);
    let restored_stop = restored.run_until(deadline);
    assert_eq!(stop, restored_stop, "a restored snapshot stops differently");
    assert!(
        snapshot_of(&restored) == snapshot_of(&m),
        "a restored snapshot runs to a different state"
    );
}

/// Runs the program [`dos_call_program`] builds from `bytes` as `FUZZ.COM` on the default
/// machine (with [`DOS_CALL_RAM`]) and firmware (BIOS, DOS, XMS and EMS drivers written in
/// Rust) for [`DOS_CALL_TICKS`] ticks.
pub fn run_dos_calls(bytes: &[u8]) -> (Stop, Machine) {
    let mut drive = DriveC::new(false);
    if let Err(e) = drive.insert_file("FUZZ.COM", dos_call_program(bytes)) {
        panic!("FUZZ.COM cannot be put on drive C: {e}");
    }
    let program = Program {
        name: "FUZZ.COM".into(),
        args: String::new(),
    };
    let firmware = Firmware::new(FirmwareConfig::default(), drive, vec![program]);
    let config = MachineConfig {
        ram: DOS_CALL_RAM,
        ..MachineConfig::default()
    };
    let mut m = match Machine::with_firmware(config, firmware) {
        Ok(m) => m,
        Err(e) => panic!("the default machine cannot be built: {e}"),
    };
    let stop = m.run_until(DOS_CALL_TICKS);
    (stop, m)
}

fn snapshot_of(m: &Machine) -> Vec<u8> {
    match m.snapshot() {
        Ok(s) => s,
        Err(e) => panic!("the machine's state does not encode: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vexed_emu::firmware::FirmwareStop;
    use vexed_emu::observe::Observation;

    /// A call's 13 bytes: the service byte, then AX, BX, CX, DX, SI, DI.
    fn call(service: u8, regs: [u16; 6]) -> Vec<u8> {
        let mut v = vec![service];
        for r in regs {
            v.extend_from_slice(&r.to_le_bytes());
        }
        v
    }

    #[test]
    fn crc32_is_the_ieee_crc() {
        // trace/FORMAT.md, "Conventions": crc32("123456789") = CBF43926h.
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
        assert_eq!(crc32(&[b"1234", b"", b"56789"]), 0xCBF4_3926);
    }

    #[test]
    fn fixing_the_crcs_of_a_trace_with_zeroed_crcs_restores_it() {
        let good = HEADER_DONOR;
        let mut zeroed = good.to_vec();
        // The header's CRC, then each frame's and the footer's (walked by length).
        let mut crc_at = vec![16];
        let mut at = 20 + le32(good, 12).unwrap() as usize;
        while let Some(len) = le32(good, at) {
            if len == vexed_trace::FOOTER_TAG {
                crc_at.push(at + 8);
                break;
            }
            crc_at.push(at + 4);
            at += 8 + len as usize;
        }
        assert!(
            crc_at.len() >= 3,
            "hma.trace has a header, frames and a footer"
        );
        for &c in &crc_at {
            zeroed[c..c + 4].fill(0);
        }
        assert!(read_trace(&zeroed).is_err());
        assert_eq!(with_crcs_fixed(&zeroed), good);
        // Cut short inside a frame, the cut part is left alone.
        let cut = &zeroed[..zeroed.len() - 3];
        assert_eq!(with_crcs_fixed(cut)[..16 + 4], good[..20]);
    }

    #[test]
    fn a_frame_payload_is_read_as_records() {
        // FORMAT.md, "Frames and records": 01 02 0A 07 is one checkpoint at tick 10 with
        // hash 7. After hma.trace's header, with no footer: truncated after tick 10.
        let trace = trace_with_frame(&[0x01, 0x02, 0x0A, 0x07]);
        let read = read_trace(&trace).map_err(|e| e.to_string());
        assert_eq!(
            read,
            Ok(ReadTrace {
                records: 1,
                complete: false
            })
        );
        // A payload of 200 KiB spans two raw blocks and decodes to the same error as any
        // bincode that does not end where the frame does.
        let mut big = vec![0x01, 0x02, 0x0A, 0x07];
        big.resize(200 << 10, 0);
        assert!(read_trace(&trace_with_frame(&big)).is_err());
        trace_file(&[0x01, 0x02, 0x0A, 0x07]);
    }

    #[test]
    fn the_program_encodes_each_call_as_intel_documents() {
        // No data block, one DOS call, one XMS call, then a partial call that is ignored.
        let mut input = vec![0];
        input.extend(call(0, [0x3000, 0x1234, 2, 3, 4, 5]));
        input.extend(call(3, [0x0800, 0, 0, 0, 0, 0]));
        input.extend([1, 2, 3]);
        let p = dos_call_program(&input);
        // Prologue: B8 iw = MOV AX,imm16; CD 2F = INT 2Fh; 2E 89 1E = MOV [CS:disp16],BX;
        // 2E 8C 06 = MOV [CS:disp16],ES (Intel SDM vol. 2, MOV and INT n).
        assert_eq!(
            p[..15],
            [
                0xB8, 0x10, 0x43, 0xCD, 0x2F, 0x2E, 0x89, 0x1E, 0x00, 0x0A, 0x2E, 0x8C, 0x06, 0x02,
                0x0A
            ]
        );
        // PUSH CS = 0E, POP DS = 1F, POP ES = 07; MOV r16,imm16 = B8+r (AX 0, CX 1, DX 2,
        // BX 3, SI 6, DI 7).
        assert_eq!(
            p[15..39],
            [
                0x0E, 0x1F, 0x0E, 0x07, 0xB8, 0x00, 0x30, 0xBB, 0x34, 0x12, 0xB9, 0x02, 0x00, 0xBA,
                0x03, 0x00, 0xBE, 0x04, 0x00, 0xBF, 0x05, 0x00, 0xCD, 0x21
            ]
        );
        // CALL FAR m16:16 = FF /3: ModRM 1Eh (mod 00, reg 011, r/m 110 = disp16).
        assert_eq!(p[61..66], [0x2E, 0xFF, 0x1E, 0x00, 0x0A]);
        // MOV AX,4C00h; INT 21h, then zeros up to the data block.
        assert_eq!(p[66..71], [0xB8, 0x00, 0x4C, 0xCD, 0x21]);
        assert!(p[71..].iter().all(|&b| b == 0));
        assert_eq!(p.len(), 0x0A04 - 0x100);
    }

    #[test]
    fn the_data_block_is_copied_and_bounded() {
        let mut input = vec![3, 0xAA, 0xBB, 0xCC];
        input.extend(call(0, [0; 6]));
        let p = dos_call_program(&input);
        let at = usize::from(DATA_OFFSET) - 0x100;
        assert_eq!(p[at..at + 4], [0xAA, 0xBB, 0xCC, 0]);
        // A length past the input takes what there is; an empty input is just the prologue
        // and the exit.
        assert_eq!(dos_call_program(&[200, 1])[at], 1);
        assert_eq!(
            dos_call_program(&[])[15..20],
            [0xB8, 0x00, 0x4C, 0xCD, 0x21]
        );
    }

    #[test]
    fn at_most_max_calls_are_made() {
        let mut input = vec![0];
        for _ in 0..MAX_CALLS + 5 {
            input.extend(call(0, [0; 6]));
        }
        let p = dos_call_program(&input);
        let end = 15 + MAX_CALLS * 24;
        assert_eq!(p[end..end + 5], [0xB8, 0x00, 0x4C, 0xCD, 0x21]);
        assert_eq!(p[end + 5], 0);
    }

    #[test]
    fn the_calls_reach_dos() {
        // INT 21h AH=02h writes the character in DL; AH=4Ch ends the program with the
        // return code in AL (MS-DOS Programmer's Reference, functions 02h and 4Ch).
        let mut input = vec![0];
        input.extend(call(0, [0x0200, 0, 0, u16::from(b'O'), 0, 0]));
        input.extend(call(0, [0x0200, 0, 0, u16::from(b'K'), 0, 0]));
        input.extend(call(0, [0x4C07, 0, 0, 0, 0, 0]));
        let (stop, m) = run_dos_calls(&input);
        assert_eq!(
            stop,
            Stop::Firmware(FirmwareStop::Finished { exit_code: 7 })
        );
        assert_eq!(m.firmware().map(|f| f.console()), Some(&b"OK"[..]));
        dos_calls(&input);
    }

    #[test]
    fn the_calls_reach_the_xms_and_ems_drivers() {
        // XMS function 00h returns the specification version in AX: 0300h (XMS 3.0, BCD).
        // EMS function 46h returns AH=00h and the LIM version in AL: 40h (LIM EMS 4.0).
        let mut input = vec![0];
        input.extend(call(3, [0x0000, 0, 0, 0, 0, 0]));
        input.extend(call(2, [0x4600, 0, 0, 0, 0, 0]));
        let (stop, mut m) = run_dos_calls(&input);
        assert_eq!(
            stop,
            Stop::Firmware(FirmwareStop::Finished { exit_code: 0 })
        );
        let seen: Vec<(bool, u16, u16)> = m
            .take_observations()
            .into_iter()
            .filter_map(|(_, o)| match o {
                Observation::Xms { input, output } => Some((true, input.ax, output.ax)),
                Observation::Ems { input, output } => Some((false, input.ax, output.ax)),
                _ => None,
            })
            .collect();
        assert_eq!(seen, [(true, 0x0000, 0x0300), (false, 0x4600, 0x0040)]);
    }
}
