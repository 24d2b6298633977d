//! The PC: CPU, memory and chipset on one clock (DESIGN.md sections 2, 3 and 6).
//!
//! [`Machine::run_until`] runs the CPU in slices that end at the next scheduled event, so
//! the interpreter never checks for devices per instruction. Between slices the machine
//! fires due events (the 8254's IRQ0 edges), forwards device interrupt lines to the 8259A
//! pair, and delivers an interrupt when the PIC asserts INTR and the CPU accepts it. Only
//! instruction boundaries see interrupts: the CPU's INTR input makes it stop at the first
//! boundary where interrupts become enabled. A halted CPU skips straight to the next event.
//! The CPU also stops before the firmware's probes (the calls of a foreign XMS driver's
//! entry, `firmware/xms/foreign.rs`): the machine records the observation and runs on from
//! the same instruction, which changes nothing the guest can see.
//!
//! Ports wired here (IBM PC/AT Technical Reference): 8259A pair at 20h/A0h, 8254 at 40h-43h,
//! port 61h (bit 0 = PIT channel 2 gate, bit 1 = speaker data, bit 5 = channel 2 OUT), the
//! 8042 at 60h/64h and port 92h (A20 = OR of both gates, applied to memory at once; reset
//! pulses reset the CPU), COM1 at 3F8h on IRQ4, the 8237 pair with its page registers at
//! 00h-0Fh, 80h-8Fh and C0h-DFh, a Sound Blaster DSP at 220h (DMA 1, IRQ 5; a transfer
//! completes when its samples have played, or at an `Input::DmaDone`), the MC146818 real-time
//! clock and CMOS RAM at 70h/71h on IRQ 8 (its interrupts are events scheduled only while
//! the guest enables one; power-on time: the firmware's boot time, or 1994-01-01 00:00:00
//! on a bare machine), the Bochs/QEMU debug
//! console at E9h and
//! 190h (bytes collected as guest output), and an exit port at F4h (the value becomes the
//! exit status, as QEMU's isa-debug-exit). Unclaimed ports read FFh and ignore writes.
//!
//! The whole machine is plain data: [`Machine::snapshot`] encodes it (bincode), [`Machine::
//! restore`] decodes it, and [`Machine::state_hash`] hashes it: the encoding of everything
//! but memory's backing store, with the page map as its hash, then a hash per 4 KiB page of
//! the store; memory keeps the hashes of the pages not written since the last checkpoint
//! (`mem/dirty.rs`) and the map's while the map does not change, so a checkpoint costs
//! what changed. ([`HashScheme`] names the hashes of older trace formats:
//! [`Machine::whole_state_hash`], xxh3-64 of the whole encoding, for formats 1 to 5, and
//! format 6's, with every entry of the page map encoded.) The CPU's
//! decoded-block cache is rebuilt after a restore and is not part of the state. DESIGN.md
//! section 6 stores snapshots as zstd(bincode(state)): the compression belongs to the trace
//! format (`vexed-trace`), which is where snapshots are written, so `emu` stays free of it.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::bus::{Bus, IoSize};
use crate::clock::TickRate;
use crate::cpu::{Cpu, Exit, Model, SegReg};
use crate::devices::dma::DmaPair;
use crate::devices::kbc::Kbc;
use crate::devices::pic::PicPair;
use crate::devices::pit::Pit;
use crate::devices::rtc::{self, Rtc};
use crate::devices::sb::Sb;
use crate::devices::uart::{COM1_IRQ, Uart};
use crate::event::EventQueue;
use crate::firmware::{Ctx, Firmware, FirmwareStop, Flow};
use crate::mem::{Access, MemError, Memory};

/// The most memory [`Machine::restore`] lets a snapshot's encoding claim: the largest
/// store a machine can have (64 MiB of RAM, the ROM, EMS pages and the VMM's per-VM copies,
/// 144 MiB as `trace/FORMAT.md` bounds it), its drive C: files (64 MiB) and the rest of the
/// state, with room to spare. A length field forged past it fails before anything is
/// allocated.
pub const RESTORE_LIMIT: usize = 320 << 20;

/// Default RAM: 16 MiB.
pub const DEFAULT_RAM: u32 = 16 << 20;
/// Size of a bare-boot ROM image.
pub const ROM_SIZE: usize = 0x1_0000;

/// Where the timer interrupt comes from (DESIGN.md section 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClockMode {
    /// The 8254 counts ticks: timer interrupts are deterministic consequences of the
    /// program, and a run needs no inputs.
    #[default]
    Virtual,
    /// The host paces the timer: channel 0's IRQ0 edges come only from
    /// [`Input::TimerTick`] (the counters still read back from ticks).
    Host,
}

/// What the machine is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineConfig {
    pub model: Model,
    /// Bytes of RAM from address 0 (a multiple of 4 KiB).
    pub ram: u32,
    pub rate: TickRate,
    pub clock: ClockMode,
}

impl Default for MachineConfig {
    fn default() -> MachineConfig {
        MachineConfig {
            model: Model::I80386,
            ram: DEFAULT_RAM,
            rate: TickRate::default(),
            clock: ClockMode::Virtual,
        }
    }
}

/// A nondeterministic input (DESIGN.md section 3), injected at the current tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    /// A keystroke (make or break code, scancode set 1) into the 8042.
    Key { scancode: u8 },
    /// An external device pulses IRQ line 0-15 (an edge on the PIC input).
    Irq { line: u8 },
    /// A byte arrives on COM1.
    SerialRx { byte: u8 },
    /// The DMA transfer a device is waiting for on `channel` completes now (the Sound
    /// Blaster's 8-bit output on channel 1). Without it, a virtual-clock machine completes
    /// the transfer when its samples have played, as a scheduled event.
    DmaDone { channel: u8 },
    /// Host-clock mode only: one period of PIT channel 0 has elapsed on the host, so IRQ0
    /// gets an edge.
    TimerTick,
}

/// An input the machine cannot accept.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InputError {
    #[error("IRQ line {0} does not exist (the PC/AT has lines 0-15)")]
    NoSuchIrq(u8),
    #[error("a timer tick input needs the host clock mode; this machine's 8254 runs on ticks")]
    TimerTickInVirtualClock,
}

/// Events the machine schedules on its queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// PIT channel 0's OUT rises: an edge on IRQ0.
    PitIrq0,
    /// The Sound Blaster's DMA transfer has played: move the bytes, raise its IRQ.
    SbDmaDone,
    /// The real-time clock sets an interrupt flag whose interrupt is enabled (IRQ 8).
    RtcIrq,
}

/// Why a machine could not be built or restored.
#[derive(Debug, Error)]
pub enum MachineError {
    #[error("memory configuration: {0}")]
    Memory(#[from] MemError),
    #[error("a boot ROM must be exactly 65,536 bytes, not {0}")]
    RomSize(usize),
    #[error("snapshot cannot be encoded: {0}")]
    Encode(String),
    #[error("snapshot is not a vexed machine state: {0}")]
    Decode(String),
}

/// Everything except the CPU: what the CPU sees as its bus.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PcBus {
    pub mem: Memory,
    pub pic: PicPair,
    pub pit: Pit,
    pub kbc: Kbc,
    pub uart: Uart,
    pub dma: DmaPair,
    pub sb: Sb,
    pub rtc: Rtc,
    /// Port 61h bits 0-3 as last written.
    port61: u8,
    events: EventQueue<EventKind>,
    rate: TickRate,
    clock: ClockMode,
    /// The tick at which the current CPU slice started, and of the current port access.
    /// Scratch values, set before every use: how a run is cut into slices is not machine
    /// state (a run to tick T in one call or in a thousand gives the same state hash).
    #[serde(skip)]
    slice_start: u64,
    #[serde(skip)]
    io_tick: u64,
    /// Bytes written to the debug console ports.
    debug_out: Vec<u8>,
    /// A value written to the exit port.
    exit_request: Option<u8>,
    /// A device scheduled an event inside the running slice: end the slice.
    #[serde(skip)]
    yield_now: bool,
}

/// The PC.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    config: MachineConfig,
    cpu: Cpu,
    bus: PcBus,
    now: u64,
    /// BIOS, DOS and drivers in Rust, when the machine boots them instead of a ROM image.
    firmware: Option<Box<Firmware>>,
}

/// How [`Machine::run_until`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The deadline was reached.
    Deadline,
    /// `HLT` with interrupts disabled: nothing but a reset can wake the CPU.
    HaltedForever,
    /// The guest wrote this value to the exit port.
    ExitPort(u8),
    /// The firmware ended the run (the shell's programs are done, or the guest crashed).
    Firmware(FirmwareStop),
}

impl Machine {
    /// A machine in its power-on state: the chipset as an AT BIOS leaves it (PIC vectors
    /// 08h and 70h, keyboard controller ready, A20 off), the CPU at reset (FFFF:0000).
    pub fn new(config: MachineConfig) -> Result<Machine, MachineError> {
        let mut mem = Memory::new(config.ram, config.model.address_bits())?;
        let kbc = Kbc::new();
        mem.set_a20(kbc.a20_enabled());
        Ok(Machine {
            config,
            cpu: Cpu::new(config.model),
            bus: PcBus {
                mem,
                pic: PicPair::pc_at_bios(),
                pit: Pit::new(),
                kbc,
                uart: Uart::com1(),
                dma: DmaPair::new(),
                sb: Sb::default_pc(),
                rtc: Rtc::at_power_on(config.ram, crate::calendar::DateTime::default().to_unix()),
                port61: 0,
                events: EventQueue::new(),
                rate: config.rate,
                clock: config.clock,
                slice_start: 0,
                io_tick: 0,
                debug_out: Vec::new(),
                exit_request: None,
                yield_now: false,
            },
            now: 0,
            firmware: None,
        })
    }

    /// A machine that boots the BIOS and DOS written in Rust ([`crate::firmware`]), which
    /// then run `firmware`'s programs. Starts at the reset vector like any other machine.
    pub fn with_firmware(
        config: MachineConfig,
        firmware: Firmware,
    ) -> Result<Machine, MachineError> {
        let mut m = Machine::new(config)?;
        // The CMOS clock shows the configured boot time at power-on.
        m.bus.rtc = Rtc::at_power_on(config.ram, firmware.config.dos.boot_time.to_unix());
        let (rom, traps) = crate::firmware::bios::rom();
        m.load_rom(&rom)?;
        for (addr, service) in traps {
            m.cpu.add_trap_site(addr, service);
        }
        m.firmware = Some(Box::new(firmware));
        Ok(m)
    }

    pub fn firmware(&self) -> Option<&Firmware> {
        self.firmware.as_deref()
    }

    /// Takes the observations made since the last call, each with its tick (empty on a
    /// machine without firmware).
    pub fn take_observations(&mut self) -> Vec<(u64, crate::observe::Observation)> {
        self.firmware
            .as_deref_mut()
            .map(Firmware::take_observations)
            .unwrap_or_default()
    }

    pub fn firmware_mut(&mut self) -> Option<&mut Firmware> {
        self.firmware.as_deref_mut()
    }

    /// Runs `f` with the firmware and a service context on this machine, as a trap would
    /// (for tests and tools that call services directly).
    pub fn with_service_context<T>(
        &mut self,
        f: impl FnOnce(Option<&mut Firmware>, &mut Ctx) -> T,
    ) -> T {
        self.bus.io_tick = self.now;
        let mut ctx = Ctx::new(&mut self.cpu, &mut self.bus, self.now);
        f(self.firmware.as_deref_mut(), &mut ctx)
    }

    /// Maps a 64 KiB ROM image read-only at F0000h and, where the address bus reaches it,
    /// at the top of the address space (FF0000h on the 80286's 24-bit bus).
    pub fn load_rom(&mut self, rom: &[u8]) -> Result<(), MachineError> {
        if rom.len() != ROM_SIZE {
            return Err(MachineError::RomSize(rom.len()));
        }
        let mem = &mut self.bus.mem;
        let first = mem.alloc_store(16)?;
        for (i, chunk) in rom.chunks(4096).enumerate() {
            let page = first.offset(i as u32);
            mem.store_page_mut(page)?.copy_from_slice(chunk);
            mem.map_page(0xF0 + i as u32, page, Access::ReadOnly)?;
            // The top alias exists only where the page map reaches (the 24-bit bus; with a
            // 32-bit bus the map ends with RAM, and real mode cannot get there anyway).
            let top = (1u32 << (mem.bus_bits() - 12)) - 16 + i as u32;
            if top > 0x10F && top < mem.mapped_pages() {
                mem.map_page(top, page, Access::ReadOnly)?;
            }
        }
        Ok(())
    }

    pub fn config(&self) -> MachineConfig {
        self.config
    }

    /// The current tick.
    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn cpu(&self) -> &Cpu {
        &self.cpu
    }

    pub fn cpu_mut(&mut self) -> &mut Cpu {
        &mut self.cpu
    }

    pub fn bus(&self) -> &PcBus {
        &self.bus
    }

    pub fn bus_mut(&mut self) -> &mut PcBus {
        &mut self.bus
    }

    /// Bytes the guest wrote to the debug console ports so far.
    pub fn debug_output(&self) -> &[u8] {
        &self.bus.debug_out
    }

    /// Takes the debug console bytes written so far.
    pub fn take_debug_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bus.debug_out)
    }

    /// A port write from outside the CPU (a harness or debugger), at the current tick,
    /// with the same effects as an `OUT` by the guest.
    pub fn io_write(&mut self, port: u16, value: u8) {
        self.bus.io_tick = self.now;
        self.bus.write_port(port, value);
    }

    /// A port read from outside the CPU, at the current tick (it has the read's side
    /// effects, as an `IN` would).
    pub fn io_read(&mut self, port: u16) -> u8 {
        self.bus.io_tick = self.now;
        self.bus.read_port(port)
    }

    /// Injects `input` at the current tick.
    pub fn inject(&mut self, input: Input) -> Result<(), InputError> {
        match input {
            Input::Key { scancode } => self.bus.kbc.key(scancode),
            Input::Irq { line } if line > 15 => return Err(InputError::NoSuchIrq(line)),
            Input::Irq { line } => {
                self.bus.pic.set_irq_line(line, true);
                self.bus.pic.set_irq_line(line, false);
                if line == 0 {
                    self.timer_edge();
                }
            }
            Input::TimerTick if self.config.clock == ClockMode::Virtual => {
                return Err(InputError::TimerTickInVirtualClock);
            }
            Input::TimerTick => {
                self.bus.pic.set_irq_line(0, true);
                self.bus.pic.set_irq_line(0, false);
                self.timer_edge();
            }
            Input::SerialRx { byte } => self.bus.uart.receive(byte),
            Input::DmaDone { channel } => {
                if self
                    .bus
                    .sb
                    .pending_transfer()
                    .is_some_and(|r| r.channel == usize::from(channel))
                {
                    self.bus.complete_sb_transfer();
                }
            }
        }
        self.bus.sync_device_lines();
        Ok(())
    }

    /// Runs until tick `deadline`, `HLT` with interrupts disabled, an exit-port write, or
    /// the firmware ending the run (after which the machine no longer runs).
    ///
    /// While a debugger's watch is set ([`Cpu::set_watch`]) it also returns
    /// [`Stop::Deadline`] early, at an instruction boundary, when the watch hits or (with
    /// `Watch::services`) right after a firmware service ran; [`Cpu::take_watch_hit`] then
    /// says why. Nothing else sets a watch, so no other caller sees an early return.
    pub fn run_until(&mut self, deadline: u64) -> Stop {
        if let Some(end) = self.firmware.as_deref().and_then(Firmware::ended) {
            // The firmware ended the run: the machine stays where it stopped.
            return Stop::Firmware(end);
        }
        self.sync_probes();
        loop {
            self.fire_due_events();
            if self
                .firmware
                .as_deref()
                .is_some_and(Firmware::vmm_switch_wanted)
            {
                self.firmware_call(Firmware::vmm_switch_point);
            }
            if let Some(code) = self.bus.exit_request.take() {
                return Stop::ExitPort(code);
            }
            let mut intr = self.bus.pic.pending();
            if intr
                && let Some(fw) = self.firmware.as_deref_mut()
                && fw.vmm_hold_keyboard(&self.bus.pic)
            {
                // The key belongs to the VM with the focus: switch there now (it then
                // takes the interrupt), or hold the interrupt while a rule holds the
                // switch back.
                if self.firmware_call(Firmware::vmm_switch_point) == Some(true) {
                    continue;
                }
                intr = false;
            }
            if intr && self.cpu.interrupts_enabled() {
                let vector = self.bus.pic.acknowledge();
                self.cpu.interrupt(&mut self.bus, vector);
                continue;
            }
            self.cpu.set_intr(intr);
            if self.cpu.halted()
                && self.cpu.interrupts_enabled()
                && self.firmware_call(Firmware::vmm_idle) == Some(true)
            {
                // Another VM runs while this one waits. (Zero-time work at the current
                // tick is all done before a deadline there returns, so how a run is cut
                // into calls never changes where a switch lands.)
                continue;
            }
            if self.now >= deadline {
                // A probe where the CPU stands is work at this tick: done before returning,
                // so the observation is made at the same tick however runs are cut.
                self.probe_here();
                return Stop::Deadline;
            }
            let mut until = self
                .bus
                .events
                .next_tick()
                .map_or(deadline, |t| t.min(deadline));
            if self.cpu.halted() {
                if !self.cpu.interrupts_enabled() {
                    // No NMI source exists: only a reset could wake this CPU.
                    return Stop::HaltedForever;
                }
                // Halted time skips to the next event (DESIGN.md section 2).
                self.now = until.max(self.now);
                continue;
            }
            if self
                .firmware
                .as_deref()
                .is_some_and(Firmware::vmm_switch_wanted)
            {
                // A VM switch is wanted but a rule holds it back (InDOS, a critical
                // section, an interrupt in service). What clears the rule may be any
                // instruction of the running VM (an EOI, a store to InDOS), so the switch point is checked
                // after every instruction until the switch happens: it lands on the same
                // instruction however the run is cut into calls.
                until = until.min(self.now + 1);
            }
            self.bus.slice_start = self.now;
            self.bus.yield_now = false;
            let r = self
                .cpu
                .run(&mut self.bus, until.saturating_sub(self.now).max(1));
            self.now += r.ticks;
            if self.bus.kbc.take_reset_request() {
                self.cpu.reset();
            }
            if r.exit == Exit::Shutdown {
                // The AT's chipset turns a shutdown cycle into a CPU reset.
                self.cpu.reset();
            }
            if r.exit == Exit::Watch {
                // A probe (`Cpu::set_probes`) or the debugger's watch (`Cpu::set_watch`)
                // stopped the CPU at an instruction boundary. A probe is the machine's own
                // business: observe, and run on from the same instruction (how a run is cut
                // into slices changes nothing). The debugger's hit returns early, before
                // the deadline.
                if let Some(addr) = self.cpu.take_probe_hit() {
                    self.handle_probe(addr);
                    if !self.cpu.watch_hit_pending() {
                        continue;
                    }
                }
                return Stop::Deadline;
            }
            if let Exit::Trap(service) = r.exit
                && let Some(fw) = self.firmware.as_deref_mut()
            {
                // The trap's tick is spent; the service runs at the tick after it.
                self.bus.io_tick = self.now;
                let mut ctx = Ctx::new(&mut self.cpu, &mut self.bus, self.now);
                if let Flow::Stop(why) = fw.service(service, &mut ctx) {
                    return Stop::Firmware(why);
                }
                self.sync_probes();
                if self.cpu.watch_services() {
                    self.cpu.note_service_hit(service);
                    return Stop::Deadline;
                }
            }
        }
    }

    /// Sets the CPU's probes to the addresses the firmware observes (the foreign XMS
    /// driver's entry and pending returns, `firmware/xms/foreign.rs`): after anything that
    /// may change them (a service, a probe hit) and at the start of every run, so a restored
    /// or cloned machine gets them back. Costs a comparison when nothing changed.
    fn sync_probes(&mut self) {
        if let Some(fw) = self.firmware.as_deref() {
            self.cpu.set_probes(fw.probes());
        }
    }

    /// The CPU stands before probe `addr`: the firmware observes, the probes follow, and
    /// the instruction there runs next without stopping for it again.
    fn handle_probe(&mut self, addr: u32) {
        let moved = match self.firmware.as_deref_mut() {
            Some(fw) => fw.probe_hit(addr, &mut self.cpu, &self.bus.mem, self.now),
            None => false,
        };
        self.sync_probes();
        if !moved {
            self.cpu.resume_probe(addr);
        }
    }

    /// Handles the probe at CS:EIP, if there is one not handled yet.
    fn probe_here(&mut self) {
        if self.cpu.probes().is_empty() || self.cpu.halted() {
            return;
        }
        let pc = self.cpu.pc_linear();
        if self.cpu.probes().binary_search(&pc).is_ok() && !self.cpu.probe_resuming_at(pc) {
            self.handle_probe(pc);
        }
    }

    /// An IRQ0 edge, whatever its source: the VMM counts time slices in them.
    fn timer_edge(&mut self) {
        let halted_at = self
            .cpu
            .halted()
            .then(|| (self.cpu.sreg(SegReg::CS), self.cpu.ip()));
        if let Some(fw) = self.firmware.as_deref_mut() {
            fw.vmm_timer_edge(halted_at);
        }
    }

    /// Runs `f` on the firmware with a service context at the current tick (`None` on a
    /// machine without firmware).
    fn firmware_call<T>(&mut self, f: impl FnOnce(&mut Firmware, &mut Ctx) -> T) -> Option<T> {
        let fw = self.firmware.as_deref_mut()?;
        self.bus.io_tick = self.now;
        let mut ctx = Ctx::new(&mut self.cpu, &mut self.bus, self.now);
        Some(f(fw, &mut ctx))
    }

    /// Fires every event due at the current tick.
    fn fire_due_events(&mut self) {
        while let Some(e) = self.bus.events.pop_due(self.now) {
            match e.kind {
                EventKind::PitIrq0 => {
                    self.bus.pic.set_irq_line(0, true);
                    self.bus.pic.set_irq_line(0, false);
                    self.bus.io_tick = e.tick;
                    self.bus.schedule_irq0();
                    self.timer_edge();
                }
                EventKind::SbDmaDone => self.bus.complete_sb_transfer(),
                EventKind::RtcIrq => {
                    self.bus.io_tick = e.tick;
                    let now = self.bus.rtc_now();
                    self.bus.rtc.catch_up(now);
                    self.bus.sync_device_lines();
                    self.bus.schedule_rtc();
                }
            }
        }
        if self.bus.kbc.wants_service() {
            self.bus.kbc.service();
            self.bus.sync_device_lines();
        }
    }

    /// The whole machine state, encoded (bincode, standard configuration).
    pub fn snapshot(&self) -> Result<Vec<u8>, MachineError> {
        bincode::serde::encode_to_vec(self, bincode::config::standard())
            .map_err(|e| MachineError::Encode(e.to_string()))
    }

    /// A machine from a [`Machine::snapshot`]; it continues exactly as the original would.
    /// Decoding allocates at most [`RESTORE_LIMIT`] bytes in all, whatever lengths damaged
    /// or forged bytes claim (a longer claim is [`MachineError::Decode`]).
    pub fn restore(bytes: &[u8]) -> Result<Machine, MachineError> {
        let config = bincode::config::standard().with_limit::<RESTORE_LIMIT>();
        let (m, used): (Machine, usize) = bincode::serde::decode_from_slice(bytes, config)
            .map_err(|e| MachineError::Decode(e.to_string()))?;
        if used != bytes.len() {
            return Err(MachineError::Decode(format!(
                "{} bytes left over after the state",
                bytes.len() - used
            )));
        }
        Ok(m)
    }

    /// The machine state split in two, for snapshots that store only the memory pages that
    /// changed (a trace's paged snapshots): this is [`Machine::snapshot`] of the machine
    /// with an empty memory backing store, and [`Machine::memory_store`] is the store.
    /// [`Machine::restore_with_store`] puts the two together again. (`&mut` because the
    /// store is taken out while the rest is encoded; it is back when this returns.)
    pub fn snapshot_without_store(&mut self) -> Result<Vec<u8>, MachineError> {
        let store = self.bus.mem.take_store();
        let state = self.snapshot();
        self.bus.mem.put_store(store);
        state
    }

    /// The memory backing store: RAM, then the pages allocated after it (the ROM image,
    /// EMS pages, the VMM's per-VM copies), 4 KiB pages in allocation order.
    pub fn memory_store(&self) -> &[u8] {
        self.bus.mem.store()
    }

    /// The xxh3-64 of each 4 KiB page of [`Machine::memory_store`], in order: cached for the
    /// pages not written since the last [`Machine::checkpoint_hash`], computed for the
    /// others (what a trace reader rebuilding stores page by page starts from).
    pub fn store_page_hashes(&self) -> Vec<u64> {
        self.bus.mem.page_hashes().collect()
    }

    /// A machine from a [`Machine::snapshot_without_store`] and its [`Machine::memory_store`]:
    /// the same state as the machine they were taken from, which it continues exactly. The
    /// store is checked against the decoded page map (a whole number of pages, at least the
    /// RAM, every mapped page inside it); a mismatch, or a state that holds a store of its
    /// own, is [`MachineError::Decode`].
    pub fn restore_with_store(state: &[u8], store: Vec<u8>) -> Result<Machine, MachineError> {
        let mut m = Machine::restore(state)?;
        if !m.bus.mem.store().is_empty() {
            return Err(MachineError::Decode(format!(
                "the state holds a memory store of its own ({} bytes): it is a whole snapshot, not one without its store",
                m.bus.mem.store().len()
            )));
        }
        m.check_store_fits(store.len())?;
        m.bus.mem.put_store(store);
        Ok(m)
    }

    /// Whether a memory store of `len` bytes fits this machine's page map and RAM (as
    /// [`Machine::restore_with_store`] requires): for a reader that keeps a store apart
    /// from the state decoded from a [`Machine::snapshot_without_store`].
    pub fn check_store_fits(&self, len: usize) -> Result<(), MachineError> {
        self.bus
            .mem
            .check_store_len(len)
            .map_err(|e| MachineError::Decode(format!("the memory store does not fit: {e}")))
    }

    /// The state hash that trace checkpoints record (format version 7 on: [`HashScheme::
    /// PagedMap`]): equal states give equal hashes, in any process. It is xxh3-64 over the
    /// bincode encoding of [`Machine::state_without_store`] with the page map replaced by
    /// its length and its hash (everything but the bytes of memory's backing store and the
    /// map's entries) followed by the xxh3-64 of each 4 KiB page of the store, in store
    /// order, as little-endian u64s. The map's hash and the hashes of the pages not written
    /// since the last [`Machine::checkpoint_hash`] are cached, so this costs the pages
    /// written since then (and the map if it changed), not the whole store.
    pub fn state_hash(&self) -> Result<u64, MachineError> {
        self.state_hash_as(HashScheme::PagedMap)
    }

    /// [`Machine::state_hash`], leaving every page's hash and the map's cached, so that the
    /// next call costs only what was written in between: what a recorder or a verifying
    /// replay calls at each checkpoint.
    pub fn checkpoint_hash(&mut self) -> Result<u64, MachineError> {
        self.checkpoint_hash_as(HashScheme::PagedMap)
    }

    /// The state hash under a paged `scheme` of this machine with a store of `store_len`
    /// bytes whose pages hash to `page_hashes` in place of its own: for a reader that
    /// rebuilds a store page by page and keeps the hashes itself
    /// (`vexed_replay::snapshots`), given the machine decoded from a [`Machine::
    /// snapshot_without_store`]. [`HashScheme::Whole`] is not made of page hashes: an error.
    pub fn hash_with_store_pages(
        &self,
        scheme: HashScheme,
        store_len: usize,
        page_hashes: impl IntoIterator<Item = u64>,
    ) -> Result<u64, MachineError> {
        let mut bytes = self.encode_for_hash(scheme, store_len)?;
        bytes.reserve(store_len / crate::mem::PAGE_SIZE as usize * 8);
        for p in page_hashes {
            bytes.extend_from_slice(&p.to_le_bytes());
        }
        Ok(xxhash_rust::xxh3::xxh3_64(&bytes))
    }

    /// The state a hash under `scheme` covers before the page hashes, encoded.
    fn encode_for_hash(
        &self,
        scheme: HashScheme,
        store_len: usize,
    ) -> Result<Vec<u8>, MachineError> {
        // Encoded into one buffer and hashed in one call: bincode writes a field at a time,
        // and feeding a hasher thousands of few-byte pieces costs more than the copy
        // (callgrind: about 1 M host instructions per checkpoint streamed, 0.2 M buffered).
        let config = bincode::config::standard();
        let encoded = match scheme {
            HashScheme::Whole => {
                return Err(MachineError::Encode(
                    "the whole-state hash (trace formats 1 to 5) is not made of page hashes".into(),
                ));
            }
            HashScheme::Paged => bincode::serde::encode_to_vec(
                self.state_without_store_with(self.bus.mem.map_layout(store_len)),
                config,
            ),
            HashScheme::PagedMap => bincode::serde::encode_to_vec(
                self.state_without_store_with(self.bus.mem.map_hash_layout(store_len)),
                config,
            ),
        };
        encoded.map_err(|e| MachineError::Encode(e.to_string()))
    }

    /// The state hash of trace formats 1 to 5 ([`HashScheme::Whole`]): xxh3-64 of the whole
    /// [`Machine::snapshot`] encoding, store included (streamed into the hasher, never held
    /// in memory). It reads all of memory every time.
    pub fn whole_state_hash(&self) -> Result<u64, MachineError> {
        let mut h = HashWriter(xxhash_rust::xxh3::Xxh3::new());
        bincode::serde::encode_into_std_write(self, &mut h, bincode::config::standard())
            .map_err(|e| MachineError::Encode(e.to_string()))?;
        Ok(h.0.digest())
    }

    /// The state hash under `scheme`.
    pub fn state_hash_as(&self, scheme: HashScheme) -> Result<u64, MachineError> {
        match scheme {
            HashScheme::Whole => self.whole_state_hash(),
            HashScheme::Paged | HashScheme::PagedMap => {
                let mem = &self.bus.mem;
                // After a refresh (every checkpoint) the page hashes are one byte string
                // already: hashed after the state as they are, not gathered page by page
                // (callgrind, LOOP.COM's 720 checkpoints: about 0.12 M host instructions
                // fewer each). xxh3 fed in two parts gives the one-call value.
                match mem.clean_page_hash_bytes() {
                    Some(pages) => {
                        let mut h = xxhash_rust::xxh3::Xxh3::new();
                        h.update(&self.encode_for_hash(scheme, mem.store().len())?);
                        h.update(pages);
                        Ok(h.digest())
                    }
                    None => {
                        self.hash_with_store_pages(scheme, mem.store().len(), mem.page_hashes())
                    }
                }
            }
        }
    }

    /// [`Machine::checkpoint_hash`] under `scheme` (the page cache is only kept for
    /// [`HashScheme::Paged`]).
    pub fn checkpoint_hash_as(&mut self, scheme: HashScheme) -> Result<u64, MachineError> {
        match scheme {
            HashScheme::Whole => self.whole_state_hash(),
            HashScheme::Paged | HashScheme::PagedMap => {
                self.bus.mem.refresh_page_hashes();
                self.state_hash_as(scheme)
            }
        }
    }

    /// A mark taken now for [`Machine::store_page_written_since`] (a recorder takes one at
    /// each snapshot).
    pub fn store_write_mark(&self) -> u64 {
        self.bus.mem.write_mark()
    }

    /// Whether store page `page` may have been written since `mark` was taken from this
    /// machine: false only when it certainly was not, so a recorder compares just the
    /// other pages with its copy of the previous snapshot's store.
    pub fn store_page_written_since(&self, mark: u64, page: usize) -> bool {
        self.bus.mem.written_since(mark, page)
    }

    /// Whether store page `page` may hold a byte that is not zero: false only for a page
    /// never written since the memory allocated it as zeros (host bookkeeping, not machine
    /// state; the page is not read to tell, so it is not faulted in). A recorder's copy of
    /// the store at tick 0 leaves the other pages out this way.
    pub fn store_page_may_be_nonzero(&self, page: usize) -> bool {
        self.bus.mem.store_page_may_be_nonzero(page)
    }

    /// A copy of [`Machine::memory_store`] that neither reads nor writes the pages that are
    /// certainly zeros ([`Machine::store_page_may_be_nonzero`]): a zeroed allocation with
    /// the other pages copied into it.
    pub fn memory_store_copy(&self) -> Vec<u8> {
        self.bus.mem.store_copy()
    }
}

/// Which state hash a trace's checkpoints hold (the trace's format version says).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashScheme {
    /// Formats 1 to 5: [`Machine::whole_state_hash`].
    Whole,
    /// Format 6: like [`HashScheme::PagedMap`], but with the page map's entries in the
    /// encoded state (as (store page, access) per physical page) instead of their hash, so
    /// every checkpoint encodes and hashes the whole map again.
    Paged,
    /// Format 7 on: [`Machine::state_hash`].
    PagedMap,
}

/// Feeds written bytes to xxh3.
struct HashWriter(xxhash_rust::xxh3::Xxh3);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl PcBus {
    /// The machine's tick rate.
    pub fn rate(&self) -> TickRate {
        self.rate
    }

    /// The PIT's clock at the current port access or event.
    fn pit_now(&self) -> u64 {
        self.rate.pit_clocks(self.io_tick)
    }

    /// Replaces the pending IRQ0 event with channel 0's next rising edge (in the virtual
    /// clock mode; with the host clock, IRQ0 comes from inputs).
    fn schedule_irq0(&mut self) {
        self.events.cancel_where(|k| *k == EventKind::PitIrq0);
        if self.clock == ClockMode::Host {
            return;
        }
        if let Some(edge) = self.pit.next_irq0_edge(self.pit_now()) {
            let tick = self.rate.tick_of_pit_clock(edge).max(self.io_tick + 1);
            self.events.schedule(tick, EventKind::PitIrq0);
            self.yield_now = true;
        }
    }

    /// The scheduled events, in firing order (for tests and tools).
    pub fn events(&self) -> &EventQueue<EventKind> {
        &self.events
    }

    /// The RTC's crystal cycles at the current port access or event.
    fn rtc_now(&self) -> u64 {
        self.rate.clocks_at(rtc::OSC_HZ, self.io_tick)
    }

    /// The RTC's crystal cycles at `tick` (for the firmware, which reads the clock).
    pub fn rtc_cycles_at(&self, tick: u64) -> u64 {
        self.rate.clocks_at(rtc::OSC_HZ, tick)
    }

    /// Replaces the pending RTC event with the next tick at which the clock raises IRQ 8
    /// (none while the guest has its interrupts off or IRQ 8 is already raised).
    fn schedule_rtc(&mut self) {
        self.events.cancel_where(|k| *k == EventKind::RtcIrq);
        if let Some(cycle) = self.rtc.next_irq_cycle(self.rtc_now()) {
            let tick = self
                .rate
                .tick_of_clocks(rtc::OSC_HZ, cycle)
                .max(self.io_tick + 1);
            self.events.schedule(tick, EventKind::RtcIrq);
            self.yield_now = true;
        }
    }

    /// Moves the Sound Blaster's pending transfer out of memory through the DMA controller
    /// and hands it to the DSP, which raises its IRQ.
    fn complete_sb_transfer(&mut self) {
        self.events.cancel_where(|k| *k == EventKind::SbDmaDone);
        if let Some(req) = self.sb.pending_transfer() {
            let mem = &self.mem;
            let (data, _) = self
                .dma
                .transfer_from_memory(req.channel, req.bytes as usize, &|a| mem.read_u8(a));
            self.sb.complete_transfer(&data);
        }
        self.sync_device_lines();
    }

    /// Schedules (or cancels) the completion of the DSP's transfer after a port write
    /// changed it: it completes when its samples have played at the programmed rate.
    fn schedule_sb_transfer(&mut self) {
        self.events.cancel_where(|k| *k == EventKind::SbDmaDone);
        if let Some(req) = self.sb.pending_transfer() {
            let us = req.duration_us();
            let nanos = u32::try_from(us % 1_000_000 * 1_000).unwrap_or(0);
            let delay = self.rate.tick_of_time(us / 1_000_000, nanos);
            let tick = self.io_tick.saturating_add(delay.max(1));
            self.events.schedule(tick, EventKind::SbDmaDone);
            self.yield_now = true;
        }
    }

    /// Switches the A20 gate as the firmware's A20 handler does (see
    /// [`Kbc::set_a20_gate`]) and applies it to memory at once.
    pub(crate) fn set_a20_gate(&mut self, on: bool) {
        self.kbc.set_a20_gate(on);
        self.sync_device_lines();
    }

    /// Forwards level-style device outputs to the PIC and A20 to memory.
    fn sync_device_lines(&mut self) {
        self.pic.set_irq_line(1, self.kbc.irq1());
        self.pic.set_irq_line(COM1_IRQ, self.uart.irq());
        self.pic.set_irq_line(self.sb.irq_line(), self.sb.irq());
        self.pic.set_irq_line(rtc::RTC_IRQ, self.rtc.irq());
        let a20 = self.kbc.a20_enabled();
        if self.mem.a20() != a20 {
            self.mem.set_a20(a20);
        }
    }

    pub(crate) fn read_port(&mut self, port: u16) -> u8 {
        let v = match port {
            _ if PicPair::handles_port(port) => self.pic.read(port),
            0x40..=0x43 => self.pit.read(port, self.pit_now()),
            0x61 => {
                let now = self.pit_now();
                let out2 = if self.pit.out(2, now) { 0x20 } else { 0 };
                (self.port61 & 0x0F) | out2
            }
            _ if Kbc::handles_port(port) => self.kbc.read(port),
            _ if Rtc::handles_port(port) => {
                let now = self.rtc_now();
                let v = self.rtc.read(port, now);
                if port == rtc::DATA_PORT && self.rtc.index() == rtc::reg::C {
                    // Reading C released IRQ 8: the next interrupt needs an event again.
                    self.schedule_rtc();
                }
                v
            }
            _ if self.uart.handles_port(port) => self.uart.read(port),
            _ if DmaPair::handles_port(port) => self.dma.read(port),
            _ if self.sb.handles_port(port) => self.sb.read(port),
            _ => 0xFF,
        };
        self.sync_device_lines();
        v
    }

    pub(crate) fn write_port(&mut self, port: u16, value: u8) {
        match port {
            _ if PicPair::handles_port(port) => self.pic.write(port, value),
            0x40..=0x43 => {
                let now = self.pit_now();
                let before = self.pit.out(0, now);
                self.pit.write(port, value, now);
                if !before && self.pit.out(0, now) && self.clock == ClockMode::Virtual {
                    // Programming can raise OUT at once (modes 1-5): that edge is IRQ0 too.
                    self.pic.set_irq_line(0, true);
                    self.pic.set_irq_line(0, false);
                    self.yield_now = true;
                }
                self.schedule_irq0();
            }
            0x61 => {
                self.port61 = value & 0x0F;
                let now = self.pit_now();
                self.pit.set_gate(2, value & 1 != 0, now);
            }
            0xE9 | 0x190 => self.debug_out.push(value),
            0xF4 => {
                self.exit_request = Some(value);
                self.yield_now = true;
            }
            _ if Kbc::handles_port(port) => {
                self.kbc.write(port, value);
                // The machine looks for a reset request (or an A20 change) after the slice.
                self.yield_now = true;
            }
            _ if Rtc::handles_port(port) => {
                let now = self.rtc_now();
                self.rtc.write(port, value, now);
                if port == rtc::DATA_PORT {
                    self.schedule_rtc();
                }
            }
            _ if self.uart.handles_port(port) => self.uart.write(port, value),
            _ if DmaPair::handles_port(port) => self.dma.write(port, value),
            _ if self.sb.handles_port(port) => {
                let before = self.sb.pending_transfer();
                self.sb.write(port, value);
                if self.sb.pending_transfer() != before {
                    self.schedule_sb_transfer();
                }
            }
            _ => {}
        }
        self.sync_device_lines();
    }
}

impl Bus for PcBus {
    #[inline(always)]
    fn memory(&mut self) -> &mut Memory {
        &mut self.mem
    }

    #[inline(always)]
    fn memory_ref(&self) -> &Memory {
        &self.mem
    }

    fn sync_io_clock(&mut self, ticks_into_run: u64) {
        self.io_tick = self.slice_start + ticks_into_run;
    }

    /// Ports are byte-wide on the ISA bus: a word access is two byte accesses (low port
    /// first), a doubleword four.
    fn io_read(&mut self, port: u16, size: IoSize) -> u32 {
        let n = u16::from(size.bytes());
        (0..n).fold(0, |v, k| {
            v | u32::from(self.read_port(port.wrapping_add(k))) << (8 * k)
        })
    }

    fn io_write(&mut self, port: u16, size: IoSize, value: u32) {
        let n = u16::from(size.bytes());
        for k in 0..n {
            self.write_port(port.wrapping_add(k), (value >> (8 * k)) as u8);
        }
    }

    fn yield_requested(&self) -> bool {
        self.yield_now
    }
}

/// The machine state without the bytes of memory's backing store ([`Machine::
/// state_without_store`]): everything a snapshot holds except those bytes, with the page
/// map as (store page, access) per physical page. Tools that compare two machines field by
/// field serialize it to a self-describing format and compare memory page by page.
#[derive(Serialize)]
pub struct StateWithoutStore<'a, M = MemoryLayout> {
    config: &'a MachineConfig,
    cpu: &'a Cpu,
    bus: BusWithoutStore<'a, M>,
    now: u64,
    firmware: Option<&'a Firmware>,
}

#[derive(Serialize)]
struct BusWithoutStore<'a, M> {
    mem: M,
    pic: &'a PicPair,
    pit: &'a Pit,
    kbc: &'a Kbc,
    uart: &'a Uart,
    dma: &'a DmaPair,
    sb: &'a Sb,
    rtc: &'a Rtc,
    port61: u8,
    events: &'a EventQueue<EventKind>,
    rate: TickRate,
    clock: ClockMode,
    debug_out: &'a [u8],
    exit_request: Option<u8>,
}

/// Memory in a [`StateWithoutStore`]: its settings, the store's length and the page map.
#[derive(Serialize)]
pub struct MemoryLayout {
    ram_size: u32,
    store_bytes: usize,
    bus_bits: u8,
    a20: bool,
    address_mask: u32,
    map: Vec<Option<(u32, Access)>>,
}

/// Memory in the state that [`HashScheme::PagedMap`] hashes: [`MemoryLayout`] with the page
/// map as its length and its hash (`Memory::map_hash`, cached while the map holds).
#[derive(Serialize)]
struct MemoryMapHash {
    ram_size: u32,
    store_bytes: usize,
    bus_bits: u8,
    a20: bool,
    address_mask: u32,
    map_pages: u32,
    map_hash: u64,
}

impl Memory {
    /// This memory as a [`MemoryLayout`] with a store of `store_bytes`.
    fn map_layout(&self, store_bytes: usize) -> MemoryLayout {
        MemoryLayout {
            ram_size: self.ram_size(),
            store_bytes,
            bus_bits: self.bus_bits(),
            a20: self.a20(),
            address_mask: self.address_mask(),
            map: (0..self.mapped_pages())
                .map(|p| self.page_mapping(p).map(|(s, a)| (s.index(), a)))
                .collect(),
        }
    }

    /// This memory as a [`MemoryMapHash`] with a store of `store_bytes`.
    fn map_hash_layout(&self, store_bytes: usize) -> MemoryMapHash {
        MemoryMapHash {
            ram_size: self.ram_size(),
            store_bytes,
            bus_bits: self.bus_bits(),
            a20: self.a20(),
            address_mask: self.address_mask(),
            map_pages: self.mapped_pages(),
            map_hash: self.map_hash(),
        }
    }
}

impl Machine {
    /// See [`StateWithoutStore`].
    pub fn state_without_store(&self) -> StateWithoutStore<'_> {
        self.state_without_store_with(self.bus.mem.map_layout(self.bus.mem.store().len()))
    }

    /// [`StateWithoutStore`] with memory as `mem` (its layout, with the store's length
    /// given: the machine may hold none). Every field of the machine is named here (the
    /// destructuring fails to compile when one is added), so the state hash cannot miss one.
    fn state_without_store_with<M>(&self, mem: M) -> StateWithoutStore<'_, M> {
        let Machine {
            config,
            cpu,
            bus,
            now,
            firmware,
        } = self;
        let PcBus {
            mem: _,
            pic,
            pit,
            kbc,
            uart,
            dma,
            sb,
            rtc,
            port61,
            events,
            rate,
            clock,
            slice_start: _,
            io_tick: _,
            debug_out,
            exit_request,
            yield_now: _,
        } = bus;
        StateWithoutStore {
            config,
            cpu,
            bus: BusWithoutStore {
                mem,
                pic,
                pit,
                kbc,
                uart,
                dma,
                sb,
                rtc,
                port61: *port61,
                events,
                rate: *rate,
                clock: *clock,
                debug_out,
                exit_request: *exit_request,
            },
            now: *now,
            firmware: firmware.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_state_hash_is_xxh3_of_the_snapshot() {
        let mut m = Machine::new(MachineConfig::default()).expect("machine");
        m.bus_mut().mem.write_bytes(0x1234, b"state");
        let snapshot = m.snapshot().expect("snapshot");
        assert_eq!(
            m.whole_state_hash().expect("hash"),
            xxhash_rust::xxh3::xxh3_64(&snapshot)
        );
        // The RAM is encoded as one byte string: length, then the bytes themselves.
        assert!(snapshot.windows(5).any(|w| w == b"state"));
    }

    /// The state hash from its definition, reading the whole store.
    /// The state hash of format 7 ([`HashScheme::PagedMap`]) as trace/FORMAT.md defines it,
    /// computed from the public view of the machine, nothing cached.
    fn hash_by_definition(m: &Machine) -> u64 {
        let mem = &m.bus().mem;
        // The page map's hash: per physical page, index * 4096 of its store page plus 1 if
        // read-only, or 3 if unmapped, as little-endian u32s.
        let mut map = Vec::new();
        for p in 0..mem.mapped_pages() {
            let e = match mem.page_mapping(p) {
                Some((s, Access::ReadWrite)) => s.index() << 12,
                Some((s, Access::ReadOnly)) => (s.index() << 12) | 1,
                None => 3,
            };
            map.extend(e.to_le_bytes());
        }
        let layout = MemoryMapHash {
            ram_size: mem.ram_size(),
            store_bytes: m.memory_store().len(),
            bus_bits: mem.bus_bits(),
            a20: mem.a20(),
            address_mask: mem.address_mask(),
            map_pages: mem.mapped_pages(),
            map_hash: xxhash_rust::xxh3::xxh3_64(&map),
        };
        let mut bytes = bincode::serde::encode_to_vec(
            m.state_without_store_with(layout),
            bincode::config::standard(),
        )
        .expect("encode");
        for page in m.memory_store().chunks(4096) {
            bytes.extend(xxhash_rust::xxh3::xxh3_64(page).to_le_bytes());
        }
        xxhash_rust::xxh3::xxh3_64(&bytes)
    }

    /// The state hash of format 6 ([`HashScheme::Paged`]) by its definition: the page map's
    /// entries in the encoded state.
    fn hash_by_definition_v6(m: &Machine) -> u64 {
        let mut bytes =
            bincode::serde::encode_to_vec(m.state_without_store(), bincode::config::standard())
                .expect("encode");
        for page in m.memory_store().chunks(4096) {
            bytes.extend(xxhash_rust::xxh3::xxh3_64(page).to_le_bytes());
        }
        xxhash_rust::xxh3::xxh3_64(&bytes)
    }

    #[test]
    fn checkpoint_hashes_follow_every_write_between_them() {
        // The counting ROM writes RAM through the CPU; a page aliased at E0000h is written
        // through both of its addresses; the loop's own code page is rewritten (a code
        // page write); and a store page is changed behind the map.
        let mut m = counting_machine();
        let mut hashes = Vec::new();
        for (k, t) in [1_000u64, 2_000, 2_500, 7_000, 9_000]
            .into_iter()
            .enumerate()
        {
            m.run_until(t);
            let mem = &mut m.bus_mut().mem;
            match k {
                1 => mem.write_u32(0xE_0FFE, 0x1122_3344), // crosses out of the window
                2 => {
                    // A second window onto the same store page, written through it.
                    let page = mem.page_mapping(0xE0).expect("mapped").0;
                    mem.map_page(0xE1, page, Access::ReadWrite).expect("map");
                    mem.write_u16(0xE_1010, 0xBEEF);
                }
                3 => {
                    let page = mem.page_mapping(0xE0).expect("mapped").0;
                    mem.store_page_mut(page).expect("page")[9] ^= 0xFF;
                }
                4 => {
                    // Bytes the CPU decoded (the code write path).
                    mem.write_u16(0x7C00, 0x4040);
                    mem.mark_code(0x7C00, 2);
                    mem.refresh_page_hashes();
                    mem.write_u16(0x7C00, 0x9090);
                }
                _ => {}
            }
            let cached = m.state_hash().expect("hash");
            assert_eq!(
                cached,
                hash_by_definition(&m),
                "before the refresh, step {k}"
            );
            let v6 = m.state_hash_as(HashScheme::Paged).expect("hash");
            assert_eq!(v6, hash_by_definition_v6(&m), "format 6, step {k}");
            assert_ne!(v6, cached, "the two schemes hash different bytes");
            assert_eq!(m.checkpoint_hash().expect("hash"), cached, "step {k}");
            assert_eq!(
                m.checkpoint_hash_as(HashScheme::Paged).expect("hash"),
                v6,
                "step {k}"
            );
            hashes.push(cached);
        }
        hashes.dedup();
        assert_eq!(hashes.len(), 5, "every step changed the state");
        // A restored machine (no cache) hashes the same.
        let r = Machine::restore(&m.snapshot().expect("snapshot")).expect("restore");
        assert_eq!(r.state_hash().expect("hash"), m.state_hash().expect("hash"));
        // A map changed after the last checkpoint is hashed anew (the cached hash is not
        // used), and unmapping counts too.
        let mem = &mut m.bus_mut().mem;
        mem.unmap_page(0xE1).expect("unmap");
        assert_eq!(m.state_hash().expect("hash"), hash_by_definition(&m));
        assert_ne!(m.state_hash().expect("hash"), r.state_hash().expect("hash"));
    }

    /// A machine running a ROM that counts in the word at 0:0500h forever, with an extra
    /// store page mapped at E0000h (as an EMS window would be) holding a marker.
    fn counting_machine() -> Machine {
        let mut rom = vec![0u8; ROM_SIZE];
        // F000:0000  mov ax,0 / mov ds,ax / inc word [0500h] / jmp short back to the inc.
        rom[..11].copy_from_slice(&[
            0xB8, 0x00, 0x00, 0x8E, 0xD8, 0xFF, 0x06, 0x00, 0x05, 0xEB, 0xFA,
        ]);
        // The reset vector FFFF:0000: jmp far F000:0000.
        rom[0xFFF0..0xFFF5].copy_from_slice(&[0xEA, 0x00, 0x00, 0x00, 0xF0]);
        let mut m = Machine::new(MachineConfig::default()).expect("machine");
        m.load_rom(&rom).expect("rom");
        let mem = &mut m.bus_mut().mem;
        let page = mem.alloc_store(2).expect("store").offset(1);
        mem.store_page_mut(page).expect("page")[..6].copy_from_slice(b"window");
        mem.map_page(0xE0, page, Access::ReadWrite).expect("map");
        m
    }

    #[test]
    fn a_state_split_from_its_store_restores_the_same_machine() {
        let mut m = counting_machine();
        assert_eq!(m.run_until(10_000), Stop::Deadline);
        let count = m.bus().mem.read_u16(0x500);
        assert!(count > 1000, "the loop ran: {count}");
        let hash = m.state_hash().expect("hash");
        let state = m.snapshot_without_store().expect("split");
        let store = m.memory_store().to_vec();
        // The whole store is outside the state: RAM, the ROM's 16 pages and the 2 extra ones.
        assert_eq!(store.len(), (16 << 20) + (16 + 2) * 4096);
        assert!(state.len() < 64 << 10, "{} bytes", state.len());
        assert_eq!(m.state_hash().expect("hash"), hash, "the store is back");
        let mut r = Machine::restore_with_store(&state, store).expect("restore");
        assert_eq!(r.state_hash().expect("hash"), hash);
        assert_eq!(r.bus().mem.read_bytes(0xE_0000, 6), b"window");
        // Both continue identically.
        m.run_until(50_000);
        r.run_until(50_000);
        assert_eq!(r.bus().mem.read_u16(0x500), m.bus().mem.read_u16(0x500));
        assert_ne!(r.bus().mem.read_u16(0x500), count);
        assert_eq!(r.state_hash().expect("hash"), m.state_hash().expect("hash"));
    }

    #[test]
    fn a_forged_length_in_a_snapshot_is_an_error_not_an_allocation() {
        // A varint length of 2^62 where the encoding of a byte string starts (bincode
        // standard: FFh then a little-endian u64): found by the trace_reader fuzz target,
        // where it aborted the process with "memory allocation of ... bytes failed".
        let m = Machine::new(MachineConfig::default()).expect("machine");
        let snap = m.snapshot().expect("snapshot");
        let mut forged = vec![0xFF];
        forged.extend((1u64 << 62).to_le_bytes());
        forged.extend(&snap[..64.min(snap.len())]);
        for at in 0..snap.len().min(256) {
            let mut bytes = snap[..at].to_vec();
            bytes.extend(&forged);
            // Any result but a panic or an abort will do; most are decode errors.
            let _ = Machine::restore(&bytes);
        }
    }

    #[test]
    fn a_store_that_does_not_fit_the_state_is_refused() {
        let mut m = counting_machine();
        m.run_until(100);
        let state = m.snapshot_without_store().expect("split");
        let store = m.memory_store().to_vec();
        let n = store.len();
        let refused = |state: &[u8], store: Vec<u8>| match Machine::restore_with_store(state, store)
        {
            Err(MachineError::Decode(e)) => e,
            Err(e) => panic!("not a decode error: {e}"),
            Ok(_) => panic!("accepted"),
        };
        // The page mapped at E0000h is the last one of the store.
        let e = refused(&state, store[..n - 4096].to_vec());
        assert!(e.contains("physical page 0xe0"), "{e}");
        assert!(refused(&state, store[..n - 1].to_vec()).contains("4 KiB pages"));
        assert!(refused(&state, Vec::new()).contains("RAM"));
        // A whole snapshot is not a state without its store.
        let whole = m.snapshot().expect("snapshot");
        assert!(refused(&whole, store.clone()).contains("store of its own"));
        // Damaged state bytes.
        refused(&state[..state.len() / 2], store.clone());
        let mut longer = state.clone();
        longer.push(0);
        assert!(refused(&longer, store.clone()).contains("left over"));
        assert!(Machine::restore_with_store(&state, store).is_ok());
    }
}
