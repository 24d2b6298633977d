//! The gdb Remote Serial Protocol over TCP: the server side of one gdb connection.
//!
//! Source: the GDB manual, appendix E "GDB Remote Serial Protocol": E.1 Overview (packets
//! `$data#checksum`, acknowledgments `+`/`-`, the escape `}` and the `*` run-length
//! encoding the server must escape), E.2 Packets (`?`, `g`, `G`, `p`, `P`, `m`, `M`, `X`,
//! `c`, `s`, `bc`, `bs`, `z`/`Z` types 0-4, `k`, `D`), E.3 Stop Reply Packets (`T05` with
//! `swbreak`, `hwbreak`, `watch`, `rwatch`, `awatch` and `replaylog:begin|end`), E.4 General
//! Query Packets (`qSupported`, `qXfer:features:read`, `qRcmd`, `QStartNoAckMode`,
//! `qAttached`, threads), and appendix G "Target Descriptions" (i386 features, see
//! `target.rs`). Written here rather than taken from a crate so that every packet a client
//! can send is bounded and answered (the `gdbstub` crate was the alternative).
//!
//! A gdb client is untrusted input: a packet longer than [`MAX_PACKET`] is refused with a
//! NAK and dropped, a bad checksum is NAKed, malformed arguments get an `E` reply, unknown
//! packets the empty reply; nothing a client sends can panic the server or make it hold
//! more than one packet. The one thread serves one connection at a time. While a `continue`,
//! `stepi` or their reverse runs, the socket is looked at between slices of a few million
//! ticks for gdb's interrupt (the byte 03h, E.9 "Interrupts"): the run stops where it is and
//! answers with SIGINT (`T02`).
//!
//! One process, one thread (`qfThreadInfo` answers thread 1). `vCont` is not offered, so gdb
//! uses `c`, `s`, `bc` and `bs`. A `monitor` command's answer comes back as `O` packets
//! (`monitor.rs`); so does the explanation of a stop at a firmware write and at either end
//! of the recording.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;

use vexed_emu::cpu::{DataWatch, WatchKind};

use super::breakpoints::{Event, Point};
use super::{DebugError, Debugger, StopReason, monitor, target};

/// The largest packet accepted (and the `PacketSize` offered).
pub const MAX_PACKET: usize = 0x4000;
/// The largest memory read answered (`m`): twice its size in hex fits a packet.
const MAX_READ: usize = 0x1000;

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn unhex(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks(2)
        .map(|c| {
            let t = std::str::from_utf8(c).ok()?;
            u8::from_str_radix(t, 16).ok()
        })
        .collect()
}

fn num(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok()
}

/// `addr,len` in hex.
fn addr_len(s: &[u8]) -> Option<(u32, usize)> {
    let i = s.iter().position(|&b| b == b',')?;
    let a = u32::try_from(num(&s[..i])?).ok()?;
    let l = usize::try_from(num(&s[i + 1..])?).ok()?;
    Some((a, l))
}

/// The framing: reads packets, writes replies.
struct Conn<S: Read + Write> {
    rd: BufReader<S>,
    wr: S,
    ack: bool,
}

/// What arrived.
enum Incoming {
    Packet(Vec<u8>),
    /// The connection closed.
    Closed,
}

impl<S: Read + Write> Conn<S> {
    fn byte(&mut self) -> Result<Option<u8>, DebugError> {
        let mut b = [0u8];
        match self.rd.read(&mut b)? {
            0 => Ok(None),
            _ => Ok(Some(b[0])),
        }
    }

    fn receive(&mut self) -> Result<Incoming, DebugError> {
        loop {
            let Some(b) = self.byte()? else {
                return Ok(Incoming::Closed);
            };
            if b != b'$' {
                // Acks, Ctrl-C and noise between packets.
                continue;
            }
            let mut data = Vec::new();
            let mut overflow = false;
            let mut sum: u8 = 0;
            loop {
                let Some(c) = self.byte()? else {
                    return Ok(Incoming::Closed);
                };
                if c == b'#' {
                    break;
                }
                sum = sum.wrapping_add(c);
                if data.len() < MAX_PACKET {
                    data.push(c);
                } else {
                    overflow = true;
                }
            }
            let (Some(h), Some(l)) = (self.byte()?, self.byte()?) else {
                return Ok(Incoming::Closed);
            };
            let ok = num(&[h, l]).is_some_and(|c| c as u8 == sum);
            if overflow || !ok {
                if self.ack {
                    self.wr.write_all(b"-")?;
                    self.wr.flush()?;
                }
                continue;
            }
            if self.ack {
                self.wr.write_all(b"+")?;
            }
            return Ok(Incoming::Packet(unescape(&data)));
        }
    }

    fn send(&mut self, data: &[u8]) -> Result<(), DebugError> {
        let mut out = Vec::with_capacity(data.len() + 4);
        out.push(b'$');
        let mut sum: u8 = 0;
        for &b in data {
            if matches!(b, b'$' | b'#' | b'}' | b'*') {
                out.push(b'}');
                out.push(b ^ 0x20);
                sum = sum.wrapping_add(b'}').wrapping_add(b ^ 0x20);
            } else {
                out.push(b);
                sum = sum.wrapping_add(b);
            }
        }
        out.extend_from_slice(format!("#{sum:02x}").as_bytes());
        self.wr.write_all(&out)?;
        self.wr.flush()?;
        Ok(())
    }

    /// Console text for the user (`O` packets, hex-encoded).
    fn console(&mut self, text: &str) -> Result<(), DebugError> {
        let mut text = text.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        for chunk in text.as_bytes().chunks(MAX_PACKET / 2 - 8) {
            self.send(format!("O{}", hex(chunk)).as_bytes())?;
        }
        Ok(())
    }
}

/// Removes the `}` escapes of a packet's data (binary `X` data is escaped).
fn unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut it = data.iter();
    while let Some(&b) = it.next() {
        if b == b'}' {
            if let Some(&n) = it.next() {
                out.push(n ^ 0x20);
            }
        } else {
            out.push(b);
        }
    }
    out
}

/// The stop reply for `r`.
fn stop_reply(r: &StopReason) -> String {
    let why = match r {
        // SIGINT, as a stub reports gdb's Ctrl-C.
        StopReason::Interrupted => return "T02thread:1;".into(),
        StopReason::Moved => String::new(),
        StopReason::Begin => "replaylog:begin;".into(),
        StopReason::End => "replaylog:end;".into(),
        StopReason::Hit { event, .. } => match event {
            Event::Break { hardware: true, .. } => "hwbreak:;".into(),
            Event::Break { .. } => "swbreak:;".into(),
            Event::Access { watch, .. } | Event::Service { watch, .. } => {
                let k = match watch.kind {
                    WatchKind::Write => "watch",
                    WatchKind::Read => "rwatch",
                    WatchKind::Access => "awatch",
                };
                format!("{k}:{:x};", watch.addr)
            }
        },
    };
    format!("T05thread:1;{why}")
}

/// Whether a stop deserves words on the console (gdb says little about these).
fn explain(r: &StopReason) -> bool {
    matches!(
        r,
        StopReason::Begin
            | StopReason::End
            | StopReason::Hit {
                event: Event::Service { .. },
                ..
            }
    )
}

/// A packet's answer.
enum Reply {
    Packet(Vec<u8>),
    /// Already sent.
    Sent,
}

/// What one packet asks; the reply (`None`: end the session).
fn handle<S: Read + Write>(
    d: &mut Debugger,
    conn: &mut Conn<S>,
    last: &mut StopReason,
    p: &[u8],
) -> Result<Option<Reply>, DebugError> {
    let ok = || Some(b"OK".to_vec());
    let err = |n: u8| Some(format!("E{n:02x}").into_bytes());
    let empty = || Some(Vec::new());
    let Some(&first) = p.first() else {
        return Ok(Some(Reply::Packet(Vec::new())));
    };
    let rest = &p[1..];
    // Moves: run, then the stop reply.
    let moved = |r: Result<StopReason, DebugError>,
                 conn: &mut Conn<S>,
                 d: &Debugger,
                 last: &mut StopReason|
     -> Result<Option<Vec<u8>>, DebugError> {
        match r {
            Ok(r) => {
                if explain(&r) {
                    conn.console(&monitor::describe_stop(d, &r))?;
                }
                let reply = stop_reply(&r);
                *last = r;
                Ok(Some(reply.into_bytes()))
            }
            Err(DebugError::Io(e)) => Err(DebugError::Io(e)),
            Err(e) => {
                conn.console(&format!("vexed: {e}"))?;
                let reply = stop_reply(&StopReason::Moved);
                Ok(Some(reply.into_bytes()))
            }
        }
    };
    Ok(match first {
        b'?' => Some(stop_reply(last).into_bytes()),
        b'g' => Some(hex(&target::read_registers(d.tape.machine())).into_bytes()),
        b'G' => {
            let bytes = match unhex(rest) {
                Some(b) if b.len() == target::G_BYTES => b,
                _ => return Ok(err(1).map(Reply::Packet)),
            };
            let mut at = 0;
            let mut failed = false;
            for n in 0..target::REGISTERS {
                let size = if (16..24).contains(&n) { 10 } else { 4 };
                let Some(v) = bytes.get(at..at + size) else {
                    return Ok(err(1).map(Reply::Packet));
                };
                at += size;
                if target::read_register(d.tape.machine(), n).as_deref() == Some(v) {
                    continue;
                }
                failed |= target::write_register(d.tape.machine_mut(), n, v).is_err();
            }
            if failed { err(1) } else { ok() }
        }
        b'p' => match num(rest).and_then(|n| usize::try_from(n).ok()) {
            Some(n) => match target::read_register(d.tape.machine(), n) {
                Some(v) => Some(hex(&v).into_bytes()),
                None => err(0x45),
            },
            None => err(1),
        },
        b'P' => {
            let Some(i) = rest.iter().position(|&b| b == b'=') else {
                return Ok(err(1).map(Reply::Packet));
            };
            let (Some(n), Some(v)) = (num(&rest[..i]), unhex(&rest[i + 1..])) else {
                return Ok(err(1).map(Reply::Packet));
            };
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            match target::write_register(d.tape.machine_mut(), n, &v) {
                Ok(()) => ok(),
                Err(_) => err(1),
            }
        }
        b'm' => match addr_len(rest) {
            Some((a, l)) => {
                let bytes = target::read_memory(d.tape.machine(), a, l.min(MAX_READ));
                if bytes.is_empty() && l > 0 {
                    err(0x14)
                } else {
                    Some(hex(&bytes).into_bytes())
                }
            }
            None => err(1),
        },
        b'M' | b'X' => {
            let Some(colon) = rest.iter().position(|&b| b == b':') else {
                return Ok(err(1).map(Reply::Packet));
            };
            let Some((a, l)) = addr_len(&rest[..colon]) else {
                return Ok(err(1).map(Reply::Packet));
            };
            let data = if first == b'M' {
                unhex(&rest[colon + 1..])
            } else {
                Some(rest[colon + 1..].to_vec())
            };
            match data {
                Some(v) if v.len() == l => {
                    if l == 0 || target::write_memory(d.tape.machine_mut(), a, &v) {
                        ok()
                    } else {
                        err(0x14)
                    }
                }
                _ => err(1),
            }
        }
        b'Z' | b'z' => {
            let parts: Vec<&[u8]> = rest.split(|&b| b == b',').collect();
            let (Some(t), Some(a), Some(k)) = (
                parts.first().and_then(|s| num(s)),
                parts.get(1).and_then(|s| num(s)),
                parts.get(2).and_then(|s| {
                    // A condition list may follow the kind after `;`.
                    let end = s.iter().position(|&b| b == b';').unwrap_or(s.len());
                    num(&s[..end])
                }),
            ) else {
                return Ok(err(1).map(Reply::Packet));
            };
            let Ok(addr) = u32::try_from(a) else {
                return Ok(err(1).map(Reply::Packet));
            };
            let point = match t {
                0 | 1 => Point::Break {
                    addr,
                    hardware: t == 1,
                },
                2..=4 => Point::Watch(DataWatch {
                    addr,
                    len: u32::try_from(k).unwrap_or(0),
                    kind: match t {
                        2 => WatchKind::Write,
                        3 => WatchKind::Read,
                        _ => WatchKind::Access,
                    },
                }),
                _ => return Ok(empty().map(Reply::Packet)),
            };
            if first == b'Z' {
                match d.points.add(point) {
                    Ok(_) => ok(),
                    Err(_) => err(0x0e),
                }
            } else {
                d.points.remove(point);
                ok()
            }
        }
        b'c' => moved(d.cont(), conn, d, last)?,
        b's' => moved(d.stepi(1), conn, d, last)?,
        b'b' if rest == b"c" => moved(d.reverse_cont(), conn, d, last)?,
        b'b' if rest == b"s" => moved(d.reverse_stepi(1), conn, d, last)?,
        b'k' => None,
        b'D' => {
            conn.send(b"OK")?;
            None
        }
        b'H' | b'T' => ok(),
        b'q' | b'Q' | b'v' => return query(d, conn, p),
        _ => empty(),
    }
    .map(Reply::Packet))
}

/// The `q`, `Q` and `v` packets.
fn query<S: Read + Write>(
    d: &mut Debugger,
    conn: &mut Conn<S>,
    p: &[u8],
) -> Result<Option<Reply>, DebugError> {
    let s = String::from_utf8_lossy(p);
    let reply: String = if s.starts_with("qSupported") {
        format!(
            "PacketSize={MAX_PACKET:x};qXfer:features:read+;swbreak+;hwbreak+;ReverseStep+;ReverseContinue+;QStartNoAckMode+"
        )
    } else if s == "QStartNoAckMode" {
        // The reply is still acknowledged; what follows is not.
        conn.send(b"OK")?;
        conn.ack = false;
        return Ok(Some(Reply::Sent));
    } else if let Some(args) = s.strip_prefix("qXfer:features:read:target.xml:") {
        let xml = target::target_xml();
        let Some((off, len)) = addr_len(args.as_bytes()) else {
            return Ok(Some(Reply::Packet(b"E01".to_vec())));
        };
        let off = off as usize;
        let len = len.min(MAX_PACKET - 16);
        match xml.as_bytes().get(off..) {
            Some(tail) if tail.len() > len => format!("m{}", String::from_utf8_lossy(&tail[..len])),
            Some(tail) => format!("l{}", String::from_utf8_lossy(tail)),
            None => "E01".into(),
        }
    } else if s.starts_with("qXfer:") {
        String::new()
    } else if let Some(h) = s.strip_prefix("qRcmd,") {
        let Some(cmd) = unhex(h.as_bytes()).and_then(|b| String::from_utf8(b).ok()) else {
            return Ok(Some(Reply::Packet(b"E01".to_vec())));
        };
        match monitor::execute(d, &cmd) {
            Ok(text) => {
                if !text.is_empty() {
                    conn.console(&text)?;
                }
                "OK".into()
            }
            Err(DebugError::Io(e)) => return Err(DebugError::Io(e)),
            Err(e) => {
                conn.console(&format!("error: {e}"))?;
                "E01".into()
            }
        }
    } else if s == "qC" {
        "QC1".into()
    } else if s == "qfThreadInfo" {
        "m1".into()
    } else if s == "qsThreadInfo" {
        "l".into()
    } else if s.starts_with("qAttached") {
        "1".into()
    } else if s.starts_with("qSymbol") {
        "OK".into()
    } else if s.starts_with("vKill") {
        conn.send(b"OK")?;
        return Ok(None);
    } else {
        String::new()
    };
    Ok(Some(Reply::Packet(reply.into_bytes())))
}

/// Whether gdb has sent its interrupt (03h) on `s`, without waiting: looks at what has
/// arrived, dropping acknowledgments in front of it.
fn interrupt_pending(s: &TcpStream) -> bool {
    if s.set_nonblocking(true).is_err() {
        return false;
    }
    let mut b = [0u8; 1];
    let mut hit = false;
    // A few acknowledgments at most can be in front of the interrupt.
    for _ in 0..16 {
        match s.peek(&mut b) {
            Ok(1) if matches!(b[0], b'+' | b'-' | 0x03) => {
                let mut r: &TcpStream = s;
                let _ = r.read(&mut b);
                if b[0] == 0x03 {
                    hit = true;
                    break;
                }
            }
            _ => break,
        }
    }
    let _ = s.set_nonblocking(false);
    hit
}

/// Serves one gdb connection on `stream` until gdb detaches, kills or disconnects.
pub fn serve(d: &mut Debugger, stream: TcpStream) -> Result<(), DebugError> {
    let probe = stream.try_clone()?;
    d.tape
        .set_poll(Some(Box::new(move || interrupt_pending(&probe))));
    let served = serve_packets(d, stream);
    d.tape.set_poll(None);
    served
}

fn serve_packets(d: &mut Debugger, stream: TcpStream) -> Result<(), DebugError> {
    let wr = stream.try_clone()?;
    let mut conn = Conn {
        rd: BufReader::new(stream),
        wr,
        ack: true,
    };
    let mut last = StopReason::Moved;
    loop {
        let p = match conn.receive()? {
            Incoming::Packet(p) => p,
            Incoming::Closed => return Ok(()),
        };
        match handle(d, &mut conn, &mut last, &p)? {
            Some(Reply::Packet(r)) => conn.send(&r)?,
            Some(Reply::Sent) => {}
            None => return Ok(()),
        }
    }
}
