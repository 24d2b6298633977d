//! Breakpoints and watchpoints, and running forward until one of them is hit.
//!
//! Breakpoints (gdb's `Z0` software and `Z1` hardware breakpoints; Remote Serial Protocol,
//! "Packets": `Z type,addr,kind`) stop before the instruction at a linear address;
//! watchpoints (`Z2` write, `Z3` read, `Z4` access) stop after the instruction whose operand
//! access overlaps the watched linear bytes. Both are the emulator's debugger watch
//! (`vexed_emu::cpu::Watch`): invisible to the guest, costing nothing while none is set.
//!
//! # Writes by the firmware
//!
//! vexed's BIOS, DOS, XMS, EMS and DPMI services are written in Rust (DESIGN.md section 7):
//! an XMS move writes memory without any guest instruction. While a write or access
//! watchpoint is set, the machine also stops after every firmware service, and the watched
//! bytes are compared with their values before it: a change is a write by that service. It
//! is reported at the *guest instruction that called the service*: the last instruction
//! before the firmware's stub (the `CALL FAR` to the XMS entry, the `INT` whose vector
//! leads to the stub), found by stepping back over the stub's own instructions (the XMS
//! entry's `JMP SHORT` and `NOP`s and the trap itself). Reads by services are not seen.
//! The bytes are compared where they lie in physical memory: a VM switch or a new page
//! mapping that shows other bytes at the watched linear address is not a write.

use vexed_emu::cpu::{DataWatch, Watch, WatchHit, WatchKind};

use super::DebugError;
use super::tape::{Outcome, Tape};

/// Bytes a watchpoint may cover.
pub const MAX_WATCH_LEN: u32 = 4096;
/// Breakpoints plus watchpoints at most (a gdb client is untrusted: bounded memory).
pub const MAX_POINTS: usize = 256;

/// A breakpoint or watchpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    /// Before the instruction at this linear address (`hardware` says which packet set it).
    Break {
        addr: u32,
        hardware: bool,
    },
    Watch(DataWatch),
}

/// The points set, by number (1, 2, ... in the order they were set).
#[derive(Clone, Debug, Default)]
pub struct Points {
    points: Vec<(u32, Point)>,
    next: u32,
}

/// Something a run stopped at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// About to execute a breakpoint's instruction.
    Break { addr: u32, hardware: bool },
    /// The instruction at tick `tick` (linear address `pc`) accessed watched bytes.
    Access {
        tick: u64,
        pc: u32,
        /// Where the watch that matched starts, as gdb set it.
        watch: DataWatch,
        write: bool,
    },
    /// The firmware service `service` (trap at tick `tick`) changed watched bytes.
    Service {
        tick: u64,
        service: u16,
        watch: DataWatch,
    },
}

impl Points {
    /// Adds a point; returns its number.
    pub fn add(&mut self, p: Point) -> Result<u32, DebugError> {
        if let Some((n, _)) = self.points.iter().find(|(_, q)| *q == p) {
            return Ok(*n);
        }
        if self.points.len() >= MAX_POINTS {
            return Err(DebugError::Command(format!(
                "at most {MAX_POINTS} breakpoints and watchpoints"
            )));
        }
        if let Point::Watch(w) = p
            && (w.len == 0 || w.len > MAX_WATCH_LEN)
        {
            return Err(DebugError::Command(format!(
                "a watchpoint covers 1 to {MAX_WATCH_LEN} bytes, not {}",
                w.len
            )));
        }
        self.next += 1;
        self.points.push((self.next, p));
        Ok(self.next)
    }

    /// Removes the point equal to `p`; whether there was one.
    pub fn remove(&mut self, p: Point) -> bool {
        let before = self.points.len();
        self.points.retain(|(_, q)| *q != p);
        self.points.len() != before
    }

    /// Removes point number `n`; whether there was one.
    pub fn remove_number(&mut self, n: u32) -> bool {
        let before = self.points.len();
        self.points.retain(|(k, _)| *k != n);
        self.points.len() != before
    }

    pub fn clear(&mut self) {
        self.points.clear();
    }

    pub fn iter(&self) -> impl Iterator<Item = &(u32, Point)> {
        self.points.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The emulator watch for these points (`None` when there are none).
    pub fn watch(&self) -> Option<Watch> {
        if self.points.is_empty() {
            return None;
        }
        let mut w = Watch::default();
        for (_, p) in &self.points {
            match *p {
                Point::Break { addr, .. } => w.exec.push(addr),
                Point::Watch(d) => {
                    w.data.push(d);
                    if d.kind != WatchKind::Read {
                        w.services = true;
                    }
                }
            }
        }
        Some(w)
    }

    fn data(&self) -> impl Iterator<Item = DataWatch> + '_ {
        self.points.iter().filter_map(|(_, p)| match p {
            Point::Watch(d) if d.kind != WatchKind::Read => Some(*d),
            _ => None,
        })
    }

    fn is_hardware(&self, addr: u32) -> bool {
        self.points.iter().any(|(_, p)| {
            *p == Point::Break {
                addr,
                hardware: true,
            }
        })
    }
}

/// The bytes the write and access watchpoints cover, with the physical address of each
/// watch's first byte (`None` where it is not mapped in the running VM's view).
fn watched_values(tape: &Tape, points: &Points) -> Vec<Option<(u32, Vec<u8>)>> {
    let m = tape.machine();
    points
        .data()
        .map(|d| {
            let phys = m.cpu().linear_to_physical(&m.bus().mem, d.addr)?;
            let bytes = super::target::read_memory(m, d.addr, d.len as usize);
            (bytes.len() == d.len as usize).then_some((phys, bytes))
        })
        .collect()
}

/// Whether watch `i` holds other bytes than before at the same physical place (a change
/// of mapping, such as a VM switch, is not a write).
fn changed(before: &[Option<(u32, Vec<u8>)>], now: &[Option<(u32, Vec<u8>)>], i: usize) -> bool {
    match (before.get(i), now.get(i)) {
        (Some(Some((p0, b0))), Some(Some((p1, b1)))) => p0 == p1 && b0 != b1,
        _ => false,
    }
}

/// How a forward run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stopped {
    At(Event),
    /// The target tick was reached.
    Reached,
    /// The recorded run ends here.
    End,
    /// The user stopped the run.
    Interrupted,
}

/// Runs forward to `target` until a point is hit. `resume`: the instruction at the current
/// position runs first, even at a breakpoint (see `Tape::forward`).
pub fn run_forward(
    tape: &mut Tape,
    points: &Points,
    target: u64,
    mut resume: bool,
) -> Result<Stopped, DebugError> {
    let watch = points.watch();
    let mut values = watched_values(tape, points);
    loop {
        let outcome = tape.forward(target, watch.as_ref(), resume)?;
        resume = false;
        match outcome {
            Outcome::Reached => return Ok(Stopped::Reached),
            Outcome::Ended(_) => return Ok(Stopped::End),
            Outcome::Interrupted => return Ok(Stopped::Interrupted),
            Outcome::Hit(WatchHit::Exec { addr }) => {
                return Ok(Stopped::At(Event::Break {
                    addr,
                    hardware: points.is_hardware(addr),
                }));
            }
            Outcome::Hit(WatchHit::Data {
                pc,
                addr,
                len,
                write,
            }) => {
                let watch = points
                    .iter()
                    .find_map(|(_, p)| match p {
                        Point::Watch(d)
                            if u64::from(d.addr) < u64::from(addr) + u64::from(len.max(1))
                                && u64::from(addr) < u64::from(d.addr) + u64::from(d.len) =>
                        {
                            Some(*d)
                        }
                        _ => None,
                    })
                    .unwrap_or(DataWatch {
                        addr,
                        len,
                        kind: WatchKind::Access,
                    });
                return Ok(Stopped::At(Event::Access {
                    tick: tape.now().saturating_sub(1),
                    pc,
                    watch,
                    write,
                }));
            }
            Outcome::Hit(WatchHit::Service { service }) => {
                let now = watched_values(tape, points);
                if let Some(i) = (0..now.len()).find(|&i| changed(&values, &now, i))
                    && let Some(watch) = points.data().nth(i)
                {
                    return Ok(Stopped::At(Event::Service {
                        tick: tape.now().saturating_sub(1),
                        service,
                        watch,
                    }));
                }
                values = now;
            }
        }
    }
}

/// The tick of the guest instruction that called the firmware service whose trap executed
/// at `trap_tick` (see the module documentation). Moves the tape.
pub fn service_caller(tape: &mut Tape, trap_tick: u64, service: u16) -> Result<u64, DebugError> {
    let site = tape
        .machine()
        .cpu()
        .trap_sites()
        .iter()
        .filter(|&(_, s)| s == service)
        .map(|(a, _)| a)
        .collect::<Vec<_>>();
    let in_stub = |tape: &Tape| {
        let m = tape.machine();
        let pc = super::target::pc(m);
        m.cpu()
            .linear_to_physical(&m.bus().mem, pc)
            .is_some_and(|p| site.iter().any(|&a| p <= a && a - p <= 8))
    };
    let mut t = trap_tick;
    // Eight stub instructions at most (the XMS entry has four before its trap).
    for _ in 0..8 {
        tape.seek(t)?;
        if !in_stub(tape) || t == 0 {
            return Ok(t);
        }
        t -= 1;
    }
    tape.seek(trap_tick)?;
    Ok(trap_tick)
}
