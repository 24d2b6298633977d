//! vexed's own debugger commands: gdb's `monitor` commands (Remote Serial Protocol,
//! "General Query Packets": `qRcmd`) and the lines of a `vexed debug --batch` script are the
//! same language. One command per line; words separated by blanks; `#` starts a comment.
//!
//! | command | what it does |
//! |---|---|
//! | `tick` | the current tick |
//! | `when` | the tick, the instruction there, and the recorded observations around it |
//! | `seek N` | moves to tick N |
//! | `observations [N]` | the N (default 10) recorded observations nearest the current tick |
//! | `vm` | which VM runs (under the VM manager), the CPU mode, CS:EIP |
//! | `checkpoint [NAME]` | names the current tick (default `cN`); `checkpoints` lists them |
//! | `goto NAME` | back (or forward) to a named tick |
//! | `regs` | registers, flags, the instruction at CS:IP, the state hash |
//! | `x ADDR [LEN]` | LEN (default 16, at most 4096) bytes at linear ADDR, in hex |
//! | `break ADDR` | a breakpoint before the instruction at linear ADDR |
//! | `watch ADDR [LEN]`, `rwatch ...`, `awatch ...` | a write, read or access watchpoint |
//! | `delete [N]` | deletes point N (every point without N); `points` lists them |
//! | `continue`, `stepi [N]` | forward to the next point or the end; N ticks forward |
//! | `reverse-continue`, `reverse-stepi [N]` | the same backward |
//! | `last-writer ADDR [TICK]` | the last write to the byte at linear ADDR before TICK (default: the current tick), and who made it; the position does not change |
//!
//! Addresses: `0x1234` or `1234h` (hexadecimal), `SEG:OFF` (two hexadecimal numbers, the
//! real-mode linear address SEG*16+OFF), or decimal. Ticks are decimal (`_` allowed).

use std::fmt::Write as _;

use vexed_emu::cpu::{DataWatch, SegReg, WatchKind};
use vexed_emu::machine::Machine;

use super::breakpoints::{Event, Point, Points};
use super::{DebugError, Debugger, MAX_CHECKPOINTS, StopReason};
use crate::diff::Instruction;

/// The one-line help.
pub const HELP: &str = "commands: tick, when, seek N, observations [N], vm, checkpoint [NAME], checkpoints, goto NAME, regs, x ADDR [LEN], break ADDR, watch|rwatch|awatch ADDR [LEN], delete [N], points, continue, stepi [N], reverse-continue, reverse-stepi [N], last-writer ADDR [TICK], help";

fn bad(msg: impl Into<String>) -> DebugError {
    DebugError::Command(msg.into())
}

/// Parses an address (see the module documentation).
pub fn parse_addr(s: &str) -> Result<u32, DebugError> {
    let hex = |t: &str| u32::from_str_radix(t, 16).ok();
    let v = if let Some((seg, off)) = s.split_once(':') {
        match (hex(seg), hex(off)) {
            (Some(a), Some(b)) if a <= 0xFFFF && b <= 0xFFFF => Some(a * 16 + b),
            _ => None,
        }
    } else if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        hex(h)
    } else if let Some(h) = s.strip_suffix(['h', 'H']) {
        hex(h)
    } else {
        s.parse().ok()
    };
    v.ok_or_else(|| {
        bad(format!(
            "{s:?} is not an address (0x1234, 1234h, SEG:OFF or decimal)"
        ))
    })
}

/// Parses a decimal count or tick.
pub fn parse_number(s: &str, what: &str) -> Result<u64, DebugError> {
    s.replace('_', "")
        .parse()
        .map_err(|_| bad(format!("{s:?} is not a {what} (a decimal number)")))
}

/// Where the machine stands: tick, CS:IP, the instruction, the linear PC, the VM.
pub fn location(m: &Machine) -> String {
    format!(
        "tick {}: {} (linear {:#x})",
        m.now(),
        Instruction::of(m),
        super::target::pc(m)
    )
}

fn kind_name(k: WatchKind) -> &'static str {
    match k {
        WatchKind::Write => "write",
        WatchKind::Read => "read",
        WatchKind::Access => "access",
    }
}

/// What a stop means, in words (the gdb stop's console text and the batch answer).
pub fn describe_stop(d: &Debugger, r: &StopReason) -> String {
    let here = location(d.tape.machine());
    match r {
        StopReason::Moved => here,
        StopReason::Interrupted => format!("{here}\ninterrupted"),
        StopReason::Begin => format!("{here}\nthe start of the recording (replay log begin)"),
        StopReason::End => format!("{here}\nthe end of the recorded run (replay log end)"),
        StopReason::Hit { event, reverse } => {
            let what = match event {
                Event::Break { addr, .. } => format!("breakpoint at linear {addr:#x}"),
                Event::Access {
                    tick,
                    pc,
                    watch,
                    write,
                } => format!(
                    "{} watchpoint on {} byte(s) at linear {:#x}: {} by the instruction at tick {tick} (linear {pc:#x})",
                    kind_name(watch.kind),
                    watch.len,
                    watch.addr,
                    if *write { "written" } else { "read" }
                ),
                Event::Service {
                    tick,
                    service,
                    watch,
                } => format!(
                    "{} watchpoint on {} byte(s) at linear {:#x}: written by firmware service {service:#06x} (its trap at tick {tick}){}",
                    kind_name(watch.kind),
                    watch.len,
                    watch.addr,
                    if *reverse {
                        "; stopped at the guest instruction that called the service"
                    } else {
                        "; stopped after the service"
                    }
                ),
            };
            format!(
                "{here}\n{what}{}",
                if *reverse { " (going backward)" } else { "" }
            )
        }
    }
}

/// Runs one command line; the answer text (empty for a blank line or comment).
pub fn execute(d: &mut Debugger, line: &str) -> Result<String, DebugError> {
    let line = line.split('#').next().unwrap_or("").trim();
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&cmd, args)) = words.split_first() else {
        return Ok(String::new());
    };
    let arity = |min: usize, max: usize| {
        if args.len() < min || args.len() > max {
            Err(bad(format!(
                "{cmd}: expected {} argument(s), got {}",
                if min == max {
                    min.to_string()
                } else {
                    format!("{min} to {max}")
                },
                args.len()
            )))
        } else {
            Ok(())
        }
    };
    let count = |i: usize| -> Result<u64, DebugError> {
        args.get(i).map_or(Ok(1), |s| parse_number(s, "count"))
    };
    match cmd {
        "help" => Ok(HELP.to_string()),
        "tick" => {
            arity(0, 0)?;
            Ok(format!("tick {} of {}", d.tape.now(), d.tape.end()))
        }
        "when" => {
            arity(0, 0)?;
            let now = d.tape.now();
            let obs = &d.tape.recording().observations;
            let i = obs.partition_point(|(t, _)| *t < now);
            let mut out = location(d.tape.machine());
            match i.checked_sub(1).and_then(|j| obs.get(j)) {
                Some((t, o)) => write!(out, "\nlast observation before: tick {t}: {o}").ok(),
                None => write!(out, "\nno observation before it").ok(),
            };
            match obs.get(i) {
                Some((t, o)) => write!(out, "\nnext observation: tick {t}: {o}").ok(),
                None => write!(out, "\nno observation after it").ok(),
            };
            Ok(out)
        }
        "seek" => {
            arity(1, 1)?;
            let t = parse_number(args[0], "tick")?;
            let r = d.seek(t)?;
            Ok(describe_stop(d, &r))
        }
        "observations" => {
            arity(0, 1)?;
            let n = args
                .first()
                .map_or(Ok(10), |s| parse_number(s, "count"))?
                .clamp(1, 1000) as usize;
            let now = d.tape.now();
            let obs = &d.tape.recording().observations;
            let i = obs.partition_point(|(t, _)| *t < now);
            let from = i.saturating_sub(n.div_ceil(2));
            let to = (from + n).min(obs.len());
            let from = to.saturating_sub(n);
            let mut out = String::new();
            for (j, (t, o)) in obs.iter().enumerate().take(to).skip(from) {
                if j == i {
                    let _ = writeln!(out, "-> now: tick {now}");
                }
                let _ = writeln!(out, "tick {t}: {o}");
            }
            if to == i {
                let _ = writeln!(out, "-> now: tick {now}");
            }
            if obs.is_empty() {
                out.push_str("the recording has no observations\n");
            }
            Ok(out.trim_end().to_string())
        }
        "vm" => {
            arity(0, 0)?;
            let m = d.tape.machine();
            let cpu = m.cpu();
            let mode = if cpu.in_v86_mode() {
                "virtual-8086 mode"
            } else if cpu.in_protected_mode() {
                "protected mode"
            } else {
                "real mode"
            };
            let vm = match m.firmware().and_then(|f| f.vmm()) {
                Some(v) if v.running() => format!("VM {} runs", v.current_vm()),
                _ => "no VM manager runs".to_string(),
            };
            Ok(format!(
                "tick {}: {vm}; {mode}; CS:EIP {:04X}:{:08X} (linear {:#x})",
                m.now(),
                cpu.sreg(SegReg::CS),
                cpu.eip(),
                super::target::pc(m)
            ))
        }
        "checkpoint" => {
            arity(0, 1)?;
            if d.checkpoints.len() >= MAX_CHECKPOINTS {
                return Err(bad(format!("at most {MAX_CHECKPOINTS} checkpoints")));
            }
            let name = match args.first() {
                Some(n) => n.to_string(),
                None => format!("c{}", d.checkpoints.len() + 1),
            };
            let now = d.tape.now();
            d.checkpoints.retain(|(n, _)| *n != name);
            d.checkpoints.push((name.clone(), now));
            d.tape.mark();
            Ok(format!("checkpoint {name} at tick {now}"))
        }
        "checkpoints" => {
            arity(0, 0)?;
            if d.checkpoints.is_empty() {
                return Ok("no checkpoints".into());
            }
            Ok(d.checkpoints
                .iter()
                .map(|(n, t)| format!("{n}: tick {t}"))
                .collect::<Vec<_>>()
                .join("\n"))
        }
        "goto" => {
            arity(1, 1)?;
            let t = d
                .checkpoints
                .iter()
                .find(|(n, _)| n == args[0])
                .map(|(_, t)| *t)
                .ok_or_else(|| bad(format!("no checkpoint named {:?}", args[0])))?;
            let r = d.seek(t)?;
            Ok(describe_stop(d, &r))
        }
        "regs" => {
            arity(0, 0)?;
            Ok(
                crate::seek::describe_state(d.tape.machine(), d.tape.recording().hash_scheme)?
                    .trim_end()
                    .to_string(),
            )
        }
        "x" => {
            arity(1, 2)?;
            let addr = parse_addr(args[0])?;
            let len = args.get(1).map_or(Ok(16), |s| parse_number(s, "length"))?;
            if !(1..=4096).contains(&len) {
                return Err(bad("x: the length is 1 to 4096 bytes"));
            }
            let bytes = super::target::read_memory(d.tape.machine(), addr, len as usize);
            if bytes.is_empty() {
                return Err(bad(format!("linear {addr:#x} is not mapped")));
            }
            let mut out = String::new();
            for (i, chunk) in bytes.chunks(16).enumerate() {
                let _ = write!(out, "{:08x}:", addr.wrapping_add(16 * i as u32));
                for b in chunk {
                    let _ = write!(out, " {b:02x}");
                }
                out.push('\n');
            }
            Ok(out.trim_end().to_string())
        }
        "break" => {
            arity(1, 1)?;
            let addr = parse_addr(args[0])?;
            let n = d.points.add(Point::Break {
                addr,
                hardware: false,
            })?;
            Ok(format!("breakpoint {n} at linear {addr:#x}"))
        }
        "watch" | "rwatch" | "awatch" => {
            arity(1, 2)?;
            let addr = parse_addr(args[0])?;
            let len = args.get(1).map_or(Ok(1), |s| parse_number(s, "length"))?;
            let len = u32::try_from(len).map_err(|_| bad("watch: length too large"))?;
            let kind = match cmd {
                "watch" => WatchKind::Write,
                "rwatch" => WatchKind::Read,
                _ => WatchKind::Access,
            };
            let n = d.points.add(Point::Watch(DataWatch { addr, len, kind }))?;
            Ok(format!(
                "{} watchpoint {n} on {len} byte(s) at linear {addr:#x}",
                kind_name(kind)
            ))
        }
        "delete" => {
            arity(0, 1)?;
            match args.first() {
                None => {
                    d.points.clear();
                    Ok("deleted every point".into())
                }
                Some(s) => {
                    let n = parse_number(s, "point number")?;
                    let n = u32::try_from(n).map_err(|_| bad("no such point"))?;
                    if d.points.remove_number(n) {
                        Ok(format!("deleted point {n}"))
                    } else {
                        Err(bad(format!("no point {n}")))
                    }
                }
            }
        }
        "points" => {
            arity(0, 0)?;
            Ok(list_points(&d.points))
        }
        "continue" | "c" => {
            arity(0, 0)?;
            let r = d.cont()?;
            Ok(describe_stop(d, &r))
        }
        "stepi" | "si" => {
            arity(0, 1)?;
            let r = d.stepi(count(0)?)?;
            Ok(describe_stop(d, &r))
        }
        "reverse-continue" | "rc" => {
            arity(0, 0)?;
            let r = d.reverse_cont()?;
            Ok(describe_stop(d, &r))
        }
        "reverse-stepi" | "rsi" => {
            arity(0, 1)?;
            let r = d.reverse_stepi(count(0)?)?;
            Ok(describe_stop(d, &r))
        }
        "last-writer" => {
            arity(1, 2)?;
            let addr = parse_addr(args[0])?;
            let back = d.tape.now();
            let before = match args.get(1) {
                Some(s) => parse_number(s, "tick")?,
                None => back,
            };
            let answer = last_writer(d, addr, before);
            d.tape.seek(back)?;
            answer
        }
        other => Err(bad(format!("unknown command {other:?}; {HELP}"))),
    }
}

fn list_points(p: &Points) -> String {
    if p.is_empty() {
        return "no breakpoints or watchpoints".into();
    }
    p.iter()
        .map(|(n, pt)| match pt {
            Point::Break { addr, hardware } => format!(
                "{n}: {}breakpoint at linear {addr:#x}",
                if *hardware { "hardware " } else { "" }
            ),
            Point::Watch(w) => format!(
                "{n}: {} watchpoint on {} byte(s) at linear {:#x}",
                kind_name(w.kind),
                w.len,
                w.addr
            ),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last write to the byte at linear `addr` before tick `before`.
fn last_writer(d: &mut Debugger, addr: u32, before: u64) -> Result<String, DebugError> {
    d.tape.seek(before)?;
    let mut points = Points::default();
    points.add(Point::Watch(DataWatch {
        addr,
        len: 1,
        kind: WatchKind::Write,
    }))?;
    let r = super::reverse::continue_back(&mut d.tape, &points)?;
    let here = location(d.tape.machine());
    Ok(match r {
        super::reverse::Back::At(Event::Access { tick, .. }) => format!(
            "linear {addr:#x} before tick {before}: last written at tick {tick} by the instruction at {here}"
        ),
        super::reverse::Back::At(Event::Service { tick, service, .. }) => format!(
            "linear {addr:#x} before tick {before}: last written by firmware service {service:#06x} (its trap at tick {tick}), called by the instruction at {here}"
        ),
        _ => format!(
            "linear {addr:#x} before tick {before}: not written since the start of the recording"
        ),
    })
}
