//! The debugger's positions agree with `vexed seek` (the checkpoint semantics of
//! `seek.rs`), whichever way they are reached; breakpoints and watchpoints stop where the
//! machine is; a gdb client's malformed packets get errors.

use std::path::PathBuf;

use super::breakpoints::{Point, Points};
use super::{Debugger, StopReason, monitor};
use crate::recording::Recording;

fn golden(name: &str) -> Recording {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../corpora/golden")
        .join(name);
    Recording::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The state hash `vexed seek` reports at `tick`.
fn seek_hash(rec: &Recording, tick: u64) -> u64 {
    let s = crate::seek::seek(rec, tick, None).expect("seek");
    s.machine.state_hash().expect("hash")
}

fn hash(d: &Debugger) -> u64 {
    d.tape.machine().state_hash().expect("hash")
}

#[test]
fn positions_agree_with_seek_going_forward_and_backward() {
    // keywait: 36 key inputs from tick 12,500,000 on, snapshots at 16 M and 32 M ticks.
    let rec = golden("keywait.trace");
    let inputs: Vec<u64> = rec.inputs.iter().map(|(t, _)| *t).collect();
    let first = inputs[0];
    let mut d = Debugger::new(rec.clone()).expect("debugger");
    // Ticks with no input there: the position is the checkpoint state.
    let ticks = [
        1_000,
        first - 1,
        first + 1,
        first + 2,
        20_000_001,
        33_000_000,
        17_000_001,
        first + 1,
        5,
    ];
    for t in ticks {
        assert!(!inputs.contains(&t));
        d.seek(t).expect("seek");
        assert_eq!(d.tape.now(), t);
        assert_eq!(hash(&d), seek_hash(&rec, t), "tick {t}");
    }
    // Stepping one tick at a time over the first inputs, forward and back.
    d.seek(first - 2).expect("seek");
    for _ in 0..4 {
        d.stepi(1).expect("stepi");
        let t = d.tape.now();
        if !inputs.contains(&t) {
            assert_eq!(hash(&d), seek_hash(&rec, t), "stepi to {t}");
        }
    }
    for _ in 0..4 {
        d.reverse_stepi(1).expect("reverse-stepi");
        let t = d.tape.now();
        if !inputs.contains(&t) {
            assert_eq!(hash(&d), seek_hash(&rec, t), "reverse-stepi to {t}");
        }
    }
    assert_eq!(d.tape.now(), first - 2);
}

#[test]
fn a_breakpoint_stops_before_its_instruction_both_ways() {
    let rec = golden("xmsshare.trace");
    let mut d = Debugger::new(rec.clone()).expect("debugger");
    // Where the machine stands at some tick (running, not halted): a breakpoint there stops
    // at that tick at the latest going forward from the start, and going backward from the
    // next tick at that tick.
    let t = 13_000;
    d.seek(t).expect("seek");
    assert!(!d.tape.machine().cpu().halted());
    let pc = super::target::pc(d.tape.machine());
    d.points
        .add(Point::Break {
            addr: pc,
            hardware: false,
        })
        .expect("add");
    d.seek(0).expect("seek");
    let r = d.cont().expect("continue");
    assert!(matches!(r, StopReason::Hit { reverse: false, .. }), "{r:?}");
    let first_hit = d.tape.now();
    assert!(first_hit <= t);
    assert_eq!(super::target::pc(d.tape.machine()), pc);
    assert_eq!(hash(&d), seek_hash(&rec, first_hit));
    d.seek(t + 1).expect("seek");
    let r = d.reverse_cont().expect("reverse-continue");
    assert!(matches!(r, StopReason::Hit { reverse: true, .. }), "{r:?}");
    assert_eq!(d.tape.now(), t, "the last hit before t + 1 is t itself");
    // Past the start: the beginning of the log.
    d.points = Points::default();
    assert_eq!(d.reverse_cont().expect("rc"), StopReason::Begin);
    assert_eq!(d.tape.now(), 0);
}

#[test]
fn the_batch_language_refuses_bad_commands() {
    let mut d = Debugger::new(golden("xmsshare.trace")).expect("debugger");
    for bad in [
        "frobnicate",
        "seek",
        "seek x",
        "seek 99999999999",
        "x 0x10 0",
        "x nowhere",
        "break 1:2:3",
        "watch 0x100 5000",
        "delete 7",
        "goto nowhere",
        "stepi 1 2",
    ] {
        assert!(
            monitor::execute(&mut d, bad).is_err(),
            "{bad:?} was accepted"
        );
    }
    assert_eq!(
        monitor::execute(&mut d, "  # a comment").expect("comment"),
        ""
    );
    assert_eq!(d.tape.now(), 0);
}

#[test]
fn malformed_packets_get_errors_not_panics() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        let packet = |s: &mut TcpStream, body: &[u8]| {
            let sum = body.iter().fold(0u8, |a, b| a.wrapping_add(*b));
            let mut p = b"$".to_vec();
            p.extend_from_slice(body);
            p.extend_from_slice(format!("#{sum:02x}").as_bytes());
            s.write_all(&p).expect("write");
        };
        // Garbage, a bad checksum, an oversized packet, then malformed requests.
        s.write_all(b"garbage+-\x03$m0,1#00").expect("write");
        let mut huge = b"$".to_vec();
        huge.extend(std::iter::repeat_n(b'a', super::rsp::MAX_PACKET + 10));
        huge.extend_from_slice(b"#00");
        s.write_all(&huge).expect("write");
        for body in [
            &b"m"[..],
            b"mzz,1",
            b"m0,ffffffffffffffffff",
            b"Pff=00",
            b"P8=zz",
            b"G00",
            b"Z9,0,1",
            b"Z2,100,0",
            b"Z0,zz",
            b"qRcmd,zz",
            b"qRcmd,6e6f",
            b"qXfer:features:read:target.xml:ffffff,10",
            b"X0,4:ab",
        ] {
            packet(&mut s, body);
        }
        packet(&mut s, b"k");
        let mut all = Vec::new();
        let _ = s.read_to_end(&mut all);
        all
    });
    let (stream, _) = listener.accept().expect("accept");
    let mut d = Debugger::new(golden("xmsshare.trace")).expect("debugger");
    super::rsp::serve(&mut d, stream).expect("serve");
    let replies = String::from_utf8_lossy(&client.join().expect("client")).to_string();
    // Two NAKs (bad checksum, oversized), then an error for each malformed request except
    // the unknown breakpoint type (empty reply: not supported).
    assert!(replies.starts_with("--"), "{replies}");
    for e in ["$E01#", "$E0e#", "$#00"] {
        assert!(replies.contains(e), "no {e} in {replies}");
    }
    assert_eq!(d.tape.now(), 0);
}

#[test]
fn a_watched_run_leaves_the_state_the_recording_has() {
    // Under the VM manager the CPU state of the VMs that do not run is saved state: a watch
    // (which sends accesses down the checked path) must leave no trace in it.
    let rec = golden("xmsshare-win.trace");
    let mut d = Debugger::new(rec.clone()).expect("debugger");
    let n = d
        .points
        .add(Point::Watch(vexed_emu::cpu::DataWatch {
            addr: 0xFFFF_F000,
            len: 4,
            kind: vexed_emu::cpu::WatchKind::Access,
        }))
        .expect("watch");
    // Over many VM switches (the slice is 2 ms, the first 1.7 M ticks hold hundreds).
    let r = d.stepi(1_500_000).expect("stepi");
    assert_eq!(r, StopReason::Moved);
    assert_eq!(hash(&d), seek_hash(&rec, d.tape.now()));
    assert!(d.points.remove_number(n));
    d.reverse_stepi(1).expect("reverse-stepi");
    assert_eq!(hash(&d), seek_hash(&rec, d.tape.now()));
}

#[test]
fn gdb_s_interrupt_stops_a_long_continue() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    // loop.trace: 720.9 M ticks of LOOP.COM, seconds to run through.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(b"$c#63").expect("write");
        std::thread::sleep(std::time::Duration::from_millis(200));
        s.write_all(b"\x03").expect("write");
        // The ack, then the stop reply.
        let mut got = Vec::new();
        let mut b = [0u8; 64];
        while !got.windows(1).any(|w| w == b"#") {
            match s.read(&mut b) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&b[..n]),
            }
        }
        s.write_all(b"+$k#6b").expect("write");
        String::from_utf8_lossy(&got).to_string()
    });
    let (stream, _) = listener.accept().expect("accept");
    let mut d = Debugger::new(golden("loop.trace")).expect("debugger");
    let start = std::time::Instant::now();
    super::rsp::serve(&mut d, stream).expect("serve");
    let reply = client.join().expect("client");
    assert!(reply.starts_with("+$T02thread:1;#"), "{reply}");
    let now = d.tape.now();
    assert!(now > 0 && now < d.tape.end(), "stopped at {now}");
    assert!(start.elapsed().as_secs() < 30);
}
