//! Input sources (DESIGN.md section 3): where a recording session's inputs come from.
//!
//! - [`Scripted`]: the scenario's inputs at their ticks (keys, serial bytes, IRQs), in the
//!   virtual clock mode where timer interrupts are consequences of the program.
//! - [`Live`]: the host clock paces the 8254 (the machine in [`ClockMode::Host`] gets an
//!   `Input::TimerTick` each time one period of PIT channel 0 has passed on the host), plus
//!   the scenario's scripted inputs.
//! - [`Seeded`]: the scripted inputs with their timing perturbed by a PRNG seed, plus
//!   spurious IRQs on free lines, for property tests and `vexed fuzz`.
//! - [`TraceInputs`]: the inputs a trace recorded, for replay, seek, diff and localize.
//!
//! Whatever the source, the recorder logs each input with the exact tick at which it was
//! injected, and replay injects it at that tick without consulting the host.

use std::io::Read;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use vexed_emu::clock::PIT_HZ;
use vexed_emu::machine::{ClockMode, Input, Machine};

/// Something that yields inputs while a machine runs.
pub trait InputSource {
    /// The next tick at which an input is due, when the source knows it (`None`: it does
    /// not know, for host-paced inputs, or it has nothing left).
    fn next_tick(&self) -> Option<u64>;
    /// Removes and returns every input due at the machine's current tick.
    fn due(&mut self, m: &Machine) -> Vec<Input>;
    /// Whether inputs arrive from the host clock (the recorder then runs in short slices
    /// and waits for the host while the guest is halted).
    fn paced_by_host(&self) -> bool {
        false
    }
    /// Host time to wait before the next host-paced input, if the guest cannot progress.
    fn wait_hint(&self) -> Option<Duration> {
        None
    }
    /// The tick that host time has reached at `ticks_per_second` (host-paced sources): a
    /// halted guest's idle time advances the clock up to it.
    fn host_tick(&self, ticks_per_second: u64) -> Option<u64> {
        let _ = ticks_per_second;
        None
    }
}

/// No inputs at all (a bare ROM boots on its own).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoInputs;

impl InputSource for NoInputs {
    fn next_tick(&self) -> Option<u64> {
        None
    }

    fn due(&mut self, _m: &Machine) -> Vec<Input> {
        Vec::new()
    }
}

/// The scenario's inputs at their ticks.
#[derive(Clone, Debug, Default)]
pub struct Scripted {
    inputs: Vec<(u64, Input)>,
    next: usize,
}

impl Scripted {
    /// `inputs` sorted by tick (FIFO for equal ticks).
    pub fn new(mut inputs: Vec<(u64, Input)>) -> Scripted {
        inputs.sort_by_key(|&(t, _)| t);
        Scripted { inputs, next: 0 }
    }
}

impl InputSource for Scripted {
    fn next_tick(&self) -> Option<u64> {
        self.inputs.get(self.next).map(|&(t, _)| t)
    }

    fn due(&mut self, m: &Machine) -> Vec<Input> {
        let mut out = Vec::new();
        while let Some(&(t, input)) = self.inputs.get(self.next) {
            if t > m.now() {
                break;
            }
            out.push(input);
            self.next += 1;
        }
        out
    }
}

/// The inputs a trace recorded, at their ticks, in their order (inputs at one tick go in
/// back to back, as the recorder injected them). Cheap to clone: a cursor that clones its
/// engine shares the list.
#[derive(Clone, Debug)]
pub struct TraceInputs {
    inputs: Arc<[(u64, Input)]>,
    next: usize,
}

impl TraceInputs {
    /// The recorded `inputs` (in trace order), for a machine at tick `now`: those before
    /// `now` count as injected already (a machine restored from a snapshot at `now` holds
    /// them, since a snapshot is taken before the inputs of its tick).
    pub fn new(inputs: Arc<[(u64, Input)]>, now: u64) -> TraceInputs {
        let next = inputs.partition_point(|(t, _)| *t < now);
        TraceInputs { inputs, next }
    }

    /// The inputs recorded at tick `t`.
    pub fn at(&self, t: u64) -> &[(u64, Input)] {
        let from = self.inputs.partition_point(|(x, _)| *x < t);
        let to = self.inputs.partition_point(|(x, _)| *x <= t);
        &self.inputs[from..to]
    }

    /// Inputs not injected yet.
    pub fn remaining(&self) -> &[(u64, Input)] {
        &self.inputs[self.next.min(self.inputs.len())..]
    }

    /// How many inputs went in.
    pub fn injected(&self) -> usize {
        self.next
    }
}

impl InputSource for TraceInputs {
    fn next_tick(&self) -> Option<u64> {
        self.inputs.get(self.next).map(|&(t, _)| t)
    }

    fn due(&mut self, m: &Machine) -> Vec<Input> {
        let mut out = Vec::new();
        while let Some(&(t, input)) = self.inputs.get(self.next) {
            if t > m.now() {
                break;
            }
            out.push(input);
            self.next += 1;
        }
        out
    }
}

/// Host-clock pacing of the timer plus scripted inputs, and optionally bytes arriving on
/// COM1 from the host (a file or stdin) at most one per millisecond, about the rate of a
/// 9600-baud line.
#[derive(Debug)]
pub struct Live {
    scripted: Scripted,
    start: Instant,
    /// Host time at which the next timer tick is due.
    next_timer: Duration,
    serial: Option<Receiver<u8>>,
    next_serial: Duration,
}

/// Host time between two serial bytes.
const SERIAL_BYTE_TIME: Duration = Duration::from_millis(1);

impl Live {
    pub fn new(scripted: Scripted) -> Live {
        Live {
            scripted,
            start: Instant::now(),
            next_timer: Duration::ZERO,
            serial: None,
            next_serial: Duration::ZERO,
        }
    }

    /// Also feeds COM1 with the bytes `input` yields (read on a thread as they come, so
    /// stdin works).
    pub fn with_serial(mut self, mut input: Box<dyn Read + Send>) -> Live {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            while let Ok(n) = input.read(&mut buf) {
                if n == 0 || buf[..n].iter().any(|&b| tx.send(b).is_err()) {
                    break;
                }
            }
        });
        self.serial = Some(rx);
        self
    }

    /// One period of PIT channel 0 as the guest programmed it (the BIOS default, 65,536
    /// clocks = 54.9 ms, when the channel is not counting periodically).
    fn period(m: &Machine) -> Duration {
        let rate = m.bus().rate();
        let clock = rate.pit_clocks(m.now());
        let clocks = m
            .bus()
            .pit
            .next_irq0_edge(clock)
            .and_then(|e1| m.bus().pit.next_irq0_edge(e1).map(|e2| e2 - e1))
            .filter(|&c| c > 0)
            .unwrap_or(65_536);
        Duration::from_nanos(clocks.saturating_mul(1_000_000_000) / PIT_HZ)
    }
}

impl InputSource for Live {
    fn next_tick(&self) -> Option<u64> {
        self.scripted.next_tick()
    }

    fn due(&mut self, m: &Machine) -> Vec<Input> {
        let mut out = self.scripted.due(m);
        if let Some(rx) = &self.serial {
            let elapsed = self.start.elapsed();
            if elapsed >= self.next_serial
                && let Ok(byte) = rx.try_recv()
            {
                out.push(Input::SerialRx { byte });
                self.next_serial = elapsed + SERIAL_BYTE_TIME;
            }
        }
        if m.config().clock == ClockMode::Host {
            let elapsed = self.start.elapsed();
            if elapsed >= self.next_timer {
                out.push(Input::TimerTick);
                self.next_timer = elapsed + Self::period(m);
            }
        }
        out
    }

    fn paced_by_host(&self) -> bool {
        true
    }

    fn wait_hint(&self) -> Option<Duration> {
        Some(self.next_timer.saturating_sub(self.start.elapsed()))
    }

    fn host_tick(&self, ticks_per_second: u64) -> Option<u64> {
        let ns = self.start.elapsed().as_nanos();
        u64::try_from(ns * u128::from(ticks_per_second) / 1_000_000_000).ok()
    }
}

/// xorshift64*: small, fast and fully determined by its seed.
#[derive(Clone, Copy, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // A zero state would stay zero.
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Scripted inputs with perturbed timing and extra spurious IRQs, all from one seed.
#[derive(Clone, Debug)]
pub struct Seeded {
    inner: Scripted,
}

/// How much a [`Seeded`] source perturbs.
#[derive(Clone, Copy, Debug)]
pub struct Perturbation {
    /// Each scripted input moves later by up to this many ticks.
    pub max_delay: u64,
    /// Spurious IRQ edges added over the run.
    pub spurious_irqs: u32,
    /// They land in `0..horizon`.
    pub horizon: u64,
}

impl Seeded {
    /// The scripted `inputs`, each delayed by a random amount, keeping their order (keys
    /// typed in order stay in order), plus `p.spurious_irqs` edges on IRQ lines 3, 5 and 7
    /// (lines with no device raising them in the default PC, whose BIOS handlers only
    /// acknowledge them).
    pub fn new(seed: u64, inputs: &[(u64, Input)], p: Perturbation) -> Seeded {
        let mut rng = Rng::new(seed);
        let mut out = Vec::with_capacity(inputs.len() + p.spurious_irqs as usize);
        let mut floor = 0;
        for &(t, input) in inputs {
            let t = (t + rng.below(p.max_delay + 1)).max(floor);
            floor = t;
            out.push((t, input));
        }
        for _ in 0..p.spurious_irqs {
            let line = [3u8, 5, 7][rng.below(3) as usize];
            out.push((rng.below(p.horizon.max(1)), Input::Irq { line }));
        }
        Seeded {
            inner: Scripted::new(out),
        }
    }

    /// The inputs this source will yield, in order.
    pub fn schedule(&self) -> &[(u64, Input)] {
        &self.inner.inputs
    }
}

impl InputSource for Seeded {
    fn next_tick(&self) -> Option<u64> {
        self.inner.next_tick()
    }

    fn due(&mut self, m: &Machine) -> Vec<Input> {
        self.inner.due(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_schedules_are_reproducible_and_keep_key_order() {
        let keys: Vec<(u64, Input)> = (0..20)
            .map(|i| (i * 100, Input::Key { scancode: i as u8 }))
            .collect();
        let p = Perturbation {
            max_delay: 1_000,
            spurious_irqs: 5,
            horizon: 10_000,
        };
        let a = Seeded::new(7, &keys, p);
        let b = Seeded::new(7, &keys, p);
        let c = Seeded::new(8, &keys, p);
        assert_eq!(a.schedule(), b.schedule());
        assert_ne!(a.schedule(), c.schedule());
        let order: Vec<u8> = a
            .schedule()
            .iter()
            .filter_map(|(_, i)| match i {
                Input::Key { scancode } => Some(*scancode),
                _ => None,
            })
            .collect();
        assert_eq!(order, (0..20).collect::<Vec<u8>>());
        assert_eq!(a.schedule().len(), 25);
    }
}
