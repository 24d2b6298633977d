//! Firmware written in Rust: BIOS, DOS 5, an XMS 3.0 driver (HIMEM) and an EMS 4.0 driver
//! (DESIGN.md section 7; facts from `../shared/reference/dos-memory.md`).
//!
//! # How the guest reaches it
//!
//! Every service has a real entry point in guest memory: a stub that executes the emulator
//! trap `FE 38 lo hi` ([`crate::cpu::TRAP_OPCODE`]) and then returns as the real service
//! would (see [`stubs`] for the memory layout and the service numbers). The interrupt
//! vectors, the XMS driver's hookable `EB 03 90 90 90` entry and the `EMMXXXX0` device
//! header are ordinary guest bytes: programs read them, hook them and chain to them. When
//! the CPU executes a trap the run stops with [`crate::cpu::Exit::Trap`] and the machine
//! calls [`Firmware::service`], which reads and writes registers and memory through a
//! [`Ctx`]. A trap costs one tick, like any instruction, and the Rust code runs in no
//! guest time.
//!
//! Services that wait (a key for Int 16h or Int 21h) never block inside Rust: they move IP
//! to a wait loop in the stub (`STI`, Int 28h for DOS, `HLT`) that traps again when an
//! interrupt has arrived, so interrupts, TSRs watching InDOS and Int 28h hooks run as on a
//! real machine, and halted time is skipped by the machine's clock.
//!
//! Calls of an XMS driver loaded from CONFIG.SYS (with the built-in one off) are observed
//! too, with no trap: the machine stops before the entry and the caller's return address
//! (`xms/foreign.rs`) and records the same [`Observation::Xms`].
//!
//! # Booting
//!
//! The generated BIOS ROM's reset vector runs the power-on self test ([`svc::POST`]): it
//! fills the interrupt vector table and the BIOS data area, programs the PIC and the 8254
//! as an AT BIOS does, installs DOS, XMS and EMS (and the VMM's stub when one is
//! configured), lets DOS process `C:\CONFIG.SYS` when the drive has one (its device
//! drivers' INIT routines run as guest code from a loop in DOS's code segment,
//! `dos/sysinit.rs`), and starts the shell (`shell.rs`, COMMAND.COM's role), a small guest
//! program that runs CONFIG.SYS's `INSTALL=` programs and then `EXEC`s the configured
//! programs one after another through Int 21h. When the
//! last program ends (with a VMM: after the VMM has started, run its VMs and exited), the
//! shell stops the machine with [`FirmwareStop::Finished`].
//!
//! # Layers
//!
//! DOS (`dos/`) is at the bottom and calls only the BIOS. The VM manager (`vmm/`) uses DOS:
//! the per-VM `DosInstance` it swaps, the MCB chain it takes its memory from. Above both
//! sit two small modules that join the parts: the shell (`shell.rs`: running the
//! scenario's programs, starting the VMM, finishing the run with the XMS blocks' hashes)
//! and the bottoms of Int 2Fh and Int 28h (`multiplex.rs`, where DOS's chains reach the XMS
//! driver, the DPMI host and the VMM). Neither DOS nor the VMM calls them: [`Firmware`]'s
//! trap dispatch hands them their traps, and the VMM reaches the shell only through the
//! `vmm::ShellOps` the shell hands it.
//!
//! # What is not modelled
//!
//! No disks (drive C: is an in-memory directory handed in by the host, [`dos::DriveC`]),
//! no printer or serial BIOS services, no Ctrl-C checking, no FCB file functions. DOS
//! writes console output through the BIOS in Rust rather than through a CON device driver
//! and Int 29h, so a program hooking Int 10h does not see DOS's output. Installable
//! device drivers run as guest code, but block device drivers get no drive letters
//! (`dos/sysinit.rs`).

pub mod bios;
pub mod dos;
pub mod dpmi;
pub mod ems;
mod multiplex;
mod shell;
pub mod stubs;
pub mod vmm;
pub mod xms;

use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::fmt;

use crate::cpu::{Cpu, PageWalk, Reg8, Reg16, Reg32, SegReg, mark_used};
use crate::machine::PcBus;
use crate::mem::Memory;
use crate::observe::{Observation, Regs};
use stubs::svc;

/// What the firmware provides (the `[xms]`, `[ems]` and `[dos]` parts of a scenario).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareConfig {
    /// The XMS driver, or `None` for a machine without one.
    pub xms: Option<xms::XmsConfig>,
    /// The EMS driver, or `None`.
    pub ems: Option<ems::EmsConfig>,
    pub dos: dos::DosConfig,
    /// The VM manager started after the programs, or `None` for plain DOS.
    pub vmm: Option<vmm::VmmConfig>,
    /// A DPMI host in plain DOS (`[dpmi]`), or `None`. (Under the VMM every VM has one.)
    pub dpmi: Option<dpmi::DpmiConfig>,
}

impl Default for FirmwareConfig {
    fn default() -> FirmwareConfig {
        FirmwareConfig {
            xms: Some(xms::XmsConfig::default()),
            ems: Some(ems::EmsConfig::default()),
            dos: dos::DosConfig::default(),
            vmm: None,
            dpmi: None,
        }
    }
}

/// Why the firmware stopped the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FirmwareStop {
    /// Every program of the shell has run; `exit_code` is the last one's.
    Finished { exit_code: u8 },
    /// The shell could not start program number `index` (0-based): DOS error `error`.
    ExecFailed { index: usize, error: u16 },
    /// The CPU raised exception `vector` at `cs:ip` and no handler took it.
    GuestFault { vector: u8, cs: u16, ip: u16 },
    /// The guest reset the processor after DOS had booted.
    Reset,
    /// A service reached for linear address `linear`, which the guest's page tables do
    /// not map for the interrupted code (#PF error code `code`); the service was called
    /// from `cs:ip`. A BIOS in ROM would have taken the page fault to the guest's monitor,
    /// but a service written in Rust cannot be stopped and restarted halfway.
    PageFault {
        linear: u32,
        code: u16,
        cs: u16,
        ip: u16,
    },
}

impl fmt::Display for FirmwareStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FirmwareStop::Finished { exit_code } => {
                write!(f, "all programs finished (last exit code {exit_code})")
            }
            FirmwareStop::ExecFailed { index, error } => write!(
                f,
                "program {} could not be started: DOS error {error:02X}h ({})",
                index + 1,
                dos::error_text(error)
            ),
            FirmwareStop::GuestFault { vector, cs, ip } => write!(
                f,
                "the guest crashed: {} (interrupt {vector:02X}h) at {cs:04X}:{ip:04X} with no handler",
                exception_name(vector)
            ),
            FirmwareStop::Reset => write!(f, "the guest reset the machine after DOS had booted"),
            FirmwareStop::PageFault {
                linear,
                code,
                cs,
                ip,
            } => write!(
                f,
                "a firmware service called from {cs:04X}:{ip:04X} {} linear address {linear:08X}h, \
                 which the guest's page tables do not map for it (page fault, error code {code:X}h); \
                 vexed's firmware cannot take a page fault in the middle of a service",
                if code & 2 != 0 { "wrote" } else { "read" }
            ),
        }
    }
}

pub(crate) fn exception_name(vector: u8) -> &'static str {
    match vector {
        0 => "divide error",
        5 => "BOUND range exceeded",
        6 => "invalid opcode",
        7 => "coprocessor not available",
        1 => "debug exception",
        3 => "breakpoint",
        4 => "overflow",
        8 => "double fault",
        0x0A => "invalid TSS",
        0x0B => "segment not present",
        0x0C => "stack fault",
        0x0E => "page fault",
        0x0D => "general protection fault",
        _ => "processor exception",
    }
}

/// What the machine does after a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop(FirmwareStop),
}

/// A program the shell runs: its DOS file name on drive C: and its command tail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub name: String,
    pub args: String,
}

/// How a program ended, as Int 21h AH=4Dh reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Termination {
    /// AL of AH=4Dh: the program's exit code.
    pub code: u8,
    /// AH of AH=4Dh: 0 normal, 1 Ctrl-C or divide error, 2 critical error, 3 stayed
    /// resident.
    pub kind: u8,
}

/// The firmware's whole state (part of the machine state).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Firmware {
    pub(crate) config: FirmwareConfig,
    pub(crate) bios: bios::Bios,
    pub(crate) dos: dos::Dos,
    pub(crate) xms: Option<xms::Xms>,
    pub(crate) ems: Option<ems::Ems>,
    pub(crate) vmm: Option<Box<vmm::Vmm>>,
    /// The DPMI host, when the configuration has one.
    pub(crate) dpmi: Option<dpmi::Dpmi>,
    /// Console text written through Int 10h teletype and DOS output, not yet taken.
    pub(crate) console: Vec<u8>,
    /// POST has run: a later reset stops the machine.
    booted: bool,
    /// Why the firmware ended the run, once it has.
    ended: Option<FirmwareStop>,
    /// Observations not yet taken, with their ticks (DESIGN.md section 4).
    observations: Vec<(u64, Observation)>,
    /// The foreign XMS driver's entry and its calls awaiting their return
    /// (`xms/foreign.rs`).
    foreign_xms: xms::foreign::ForeignXms,
    /// How much of `console` the running service has already reported (only meaningful
    /// inside a service).
    #[serde(skip)]
    console_mark: usize,
}

impl Firmware {
    /// Firmware that will boot DOS with drive C: = `drive` and run `programs` in order.
    pub fn new(config: FirmwareConfig, drive: dos::DriveC, programs: Vec<Program>) -> Firmware {
        Firmware {
            bios: bios::Bios::new(),
            dos: dos::Dos::new(&config.dos, drive, programs),
            xms: config.xms.clone().map(xms::Xms::new),
            ems: config.ems.clone().map(ems::Ems::new),
            vmm: config.vmm.clone().map(|c| Box::new(vmm::Vmm::new(c))),
            // Every VM of the VMM has a DPMI host, as under Windows 3.x enhanced mode.
            dpmi: config
                .dpmi
                .clone()
                .or_else(|| config.vmm.as_ref().map(|_| dpmi::DpmiConfig::default()))
                .map(dpmi::Dpmi::new),
            config,
            console: Vec::new(),
            booted: false,
            ended: None,
            observations: Vec::new(),
            foreign_xms: xms::foreign::ForeignXms::default(),
            console_mark: 0,
        }
    }

    pub fn config(&self) -> &FirmwareConfig {
        &self.config
    }

    /// Console output not yet taken.
    pub fn console(&self) -> &[u8] {
        &self.console
    }

    /// Takes the console output written so far.
    pub fn take_console(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.console)
    }

    /// How each program the shell ran has ended so far, in order.
    pub fn terminations(&self) -> &[Termination] {
        self.dos.shell_terminations()
    }

    /// The VM manager, when the configuration has one.
    pub fn vmm(&self) -> Option<&vmm::Vmm> {
        self.vmm.as_deref()
    }

    /// The DPMI host, when the configuration or the VMM has one.
    pub fn dpmi(&self) -> Option<&dpmi::Dpmi> {
        self.dpmi.as_ref()
    }

    /// The XMS driver, when the configuration has one.
    pub fn xms(&self) -> Option<&xms::Xms> {
        self.xms.as_ref()
    }

    /// The expanded memory manager, when the configuration has one.
    pub fn ems(&self) -> Option<&ems::Ems> {
        self.ems.as_ref()
    }

    /// Makes this machine behave like a build of vexed whose XMS driver returns error
    /// `code` in BL whenever function `function` fails. For testing the divergence tools
    /// (`vexed diff`, `replay --localize`) against a known change of behaviour; see
    /// [`xms::Xms::plant_error`]. Not machine state: a snapshot does not carry it.
    pub fn plant_xms_error(&mut self, function: u8, code: u8) {
        if let Some(x) = &mut self.xms {
            x.plant_error(function, code);
        }
    }

    /// Observes the calls of the XMS driver entry `entry` (segment, offset) as the built-in
    /// driver's calls are observed (`xms/foreign.rs`), instead of those of
    /// [`Firmware::foreign_xms_entry`] (`None`: that one again). For tests and tools.
    pub fn set_foreign_xms_entry(&mut self, entry: Option<(u16, u16)>) {
        self.foreign_xms.set_entry(entry);
    }

    /// The entry whose calls the probes observe: the one set by hand, or the foreign
    /// driver's that SYSINIT found.
    fn observed_xms_entry(&self) -> Option<(u16, u16)> {
        self.foreign_xms
            .entry()
            .or_else(|| self.foreign_xms_entry())
    }

    /// The foreign XMS driver's entry and its calls in flight.
    pub fn foreign_xms(&self) -> &xms::foreign::ForeignXms {
        &self.foreign_xms
    }

    /// The linear addresses the machine stops before to observe the foreign XMS driver.
    pub(crate) fn probes(&self) -> impl Iterator<Item = u32> + Clone + '_ {
        self.foreign_xms.probes(self.observed_xms_entry())
    }

    /// The CPU stopped before probe `addr` at tick `now`: records the foreign XMS call that
    /// returns there, or notes the one starting there, changing no guest state; or answers a
    /// lock the VMM refuses (`xms/foreign.rs`, "The VMM's lock rule"): the caller's
    /// registers and stack then hold the answer and the CPU stands at its return address.
    /// Returns whether the CPU moved.
    pub(crate) fn probe_hit(&mut self, addr: u32, cpu: &mut Cpu, mem: &Memory, now: u64) -> bool {
        let vm = self
            .vmm
            .as_deref()
            .filter(|v| v.running())
            .map_or(0, |v| v.current_vm());
        let entry = self.observed_xms_entry();
        match self.foreign_xms.hit(addr, entry, vm, cpu, mem) {
            None => false,
            Some(xms::foreign::Hit::Returned(o)) => {
                self.observations.push((now, o));
                false
            }
            Some(xms::foreign::Hit::Refused {
                observation,
                ret: (seg, off),
            }) => {
                if let Observation::Xms { output, .. } = &observation {
                    cpu.set_reg16(Reg16::AX, output.ax);
                    cpu.set_reg16(Reg16::BX, output.bx);
                }
                let sp = cpu.reg16(Reg16::SP);
                cpu.set_reg16(Reg16::SP, sp.wrapping_add(4));
                cpu.set_sreg(SegReg::CS, seg);
                cpu.set_ip(off);
                self.observations.push((now, observation));
                true
            }
        }
    }

    /// Drive C: as the guest left it.
    pub fn drive_c(&self) -> &dos::DriveC {
        self.dos.drive()
    }

    /// The XMS driver's entry point (segment, offset) as Int 2Fh AX=4310h gave it after
    /// CONFIG.SYS: found when `DOS=HIGH` was given or the built-in XMS driver is off
    /// (`dos/sysinit.rs`); `None` when no XMS driver answered or nobody asked.
    pub fn xms_entry(&self) -> Option<(u16, u16)> {
        self.dos.xms_entry
    }

    /// [`Firmware::xms_entry`] when it is not the built-in driver's own entry: the entry of
    /// an XMS driver loaded from CONFIG.SYS, whose calls the firmware does not see.
    pub fn foreign_xms_entry(&self) -> Option<(u16, u16)> {
        let builtin = self.xms.as_ref().is_some_and(|x| x.installed());
        self.dos
            .xms_entry
            .filter(|&e| !builtin || e != (stubs::XMS_SEG, xms::ENTRY_OFF))
    }

    /// Why the firmware ended the run, if it has (the machine then runs no more).
    pub fn ended(&self) -> Option<FirmwareStop> {
        self.ended
    }

    /// Takes the observations made so far, each with its tick.
    pub fn take_observations(&mut self) -> Vec<(u64, Observation)> {
        std::mem::take(&mut self.observations)
    }

    /// Records `o` at the current tick, after any console output the running service
    /// wrote before it.
    pub(crate) fn observe(&mut self, ctx: &Ctx, o: Observation) {
        self.flush_console(ctx.now);
        self.observations.push((ctx.now, o));
    }

    /// Reports the console bytes the running service wrote since the last report.
    fn flush_console(&mut self, tick: u64) {
        if self.console.len() > self.console_mark {
            let bytes = self.console[self.console_mark..].to_vec();
            self.console_mark = self.console.len();
            self.observations
                .push((tick, Observation::Console { bytes }));
        }
    }

    /// Runs trap service `service`.
    pub fn service(&mut self, service: u16, ctx: &mut Ctx) -> Flow {
        self.console_mark = self.console.len();
        // Calls into the drivers and the bottom of Int 2Fh are observed with their
        // registers before and after.
        let watched = match service {
            svc::XMS if self.xms.is_some() => Some(0),
            svc::EMS if self.ems.is_some() => Some(1),
            s if s == svc::dos(0x2F) => Some(2),
            _ => None,
        };
        let input = Regs::of(ctx);
        let called_from = (ctx.cpu.sreg(SegReg::CS), ctx.cpu.ip());
        let flow = self.dispatch(service, ctx);
        if let Some(which) = watched {
            let output = Regs::of(ctx);
            let o = match which {
                0 => Observation::Xms { input, output },
                1 => Observation::Ems { input, output },
                _ => Observation::Multiplex { input, output },
            };
            self.observe(ctx, o);
        }
        let mut flow = flow;
        if let Some((linear, code)) = ctx.finish() {
            // The service did not complete: what it wrote to the console is not output.
            self.console.truncate(self.console_mark);
            let (cs, ip) = called_from;
            flow = Flow::Stop(FirmwareStop::PageFault {
                linear,
                code,
                cs,
                ip,
            });
        }
        self.flush_console(ctx.now);
        if let Flow::Stop(why) = flow {
            self.ended = Some(why);
        }
        flow
    }

    fn dispatch(&mut self, service: u16, ctx: &mut Ctx) -> Flow {
        match service {
            0x0000..=0x00FF => bios::service(self, service as u8, ctx),
            svc::POST => self.post(ctx),
            svc::UNEXPECTED => {
                let (cs, ip) = ctx.interrupted_at();
                let vector = ctx.bios_vector_of_frame();
                Flow::Stop(FirmwareStop::GuestFault { vector, cs, ip })
            }
            svc::SPURIOUS_IRQ | svc::INT16_RETRY | svc::RTC_IRQ => {
                bios::service_internal(self, service, ctx)
            }
            svc::SHELL_NEXT | svc::SHELL_DONE => shell::service(self, service, ctx),
            svc::SYSINIT_NEXT => {
                // CONFIG.SYS is done: the XMS steps, then the shell starts (DOS does not
                // call the layer above).
                if dos::sysinit::next(self, ctx) == dos::sysinit::Next::Finished
                    && !dos::sysinit::find_xms(self, ctx)
                {
                    shell::start(self, ctx);
                }
                Flow::Continue
            }
            svc::SYSINIT_XMS => {
                if dos::sysinit::xms_step(self, ctx) == dos::sysinit::Next::Finished {
                    shell::start(self, ctx);
                }
                Flow::Continue
            }
            svc::DOS_IDLE => {
                multiplex::dos_idle(self);
                Flow::Continue
            }
            s if s == svc::dos(0x2F) => {
                multiplex::int2f(self, ctx);
                Flow::Continue
            }
            0x0200..=0x02FF => dos::service(self, service, ctx),
            svc::XMS | svc::XMS_INT15 => match self.xms.as_mut() {
                Some(x) => x.service(service, ctx),
                None => Flow::Continue,
            },
            svc::EMS | svc::EMS_DEVICE => match self.ems.as_mut() {
                Some(e) => e.service(service, ctx),
                None => Flow::Continue,
            },
            0x0500..=0x05FF => vmm::startup::service(self, service, ctx, &shell::FOR_VMM),
            0x0600..=0x06FF | 0x8600..=0x87FF => dpmi::service(self, service, ctx),
            _ => Flow::Continue,
        }
    }

    /// The power-on self test: BIOS, then DOS and its drivers, then the shell. After a
    /// CPU reset once DOS has booted, the CMOS shutdown byte says where to go
    /// ([`bios::resume`]); a plain reset (shutdown byte 00h) ends the run.
    fn post(&mut self, ctx: &mut Ctx) -> Flow {
        let shutdown = bios::take_shutdown_code(ctx);
        if self.booted {
            return bios::resume(shutdown, ctx).unwrap_or(Flow::Stop(FirmwareStop::Reset));
        }
        self.booted = true;
        bios::post(self, ctx);
        dos::install(self, ctx);
        if let Some(x) = self.xms.as_mut() {
            x.install(ctx);
        }
        if let Some(e) = self.ems.as_mut() {
            e.install(ctx);
            if e.installed() {
                dos::tables::link_device(ctx, stubs::EMM_SEG, 0);
            }
        }
        if self.vmm.is_some() {
            vmm::startup::install(ctx);
        }
        // CONFIG.SYS first (its drivers run as guest code, then the loop starts the
        // shell), or the shell at once.
        if !dos::sysinit::begin(self, ctx) {
            shell::start(self, ctx);
        }
        Flow::Continue
    }
}

/// What a service works on: the CPU's registers and the bus (memory and chipset).
///
/// Services address memory as the code that called them would: `seg:off` is the real-mode
/// (and virtual-8086) linear address `seg * 16 + off`, and while the guest has paging on
/// (a V86 monitor with page tables, as EMM386 runs DOS) that linear address goes through
/// the guest's page tables, at user privilege when the caller runs at CPL 3. Such a
/// service's reads and writes set the accessed and dirty bits of the entries they used, as
/// the processor would, when the service returns ([`Ctx::finish`]). A page the tables do
/// not map ends the run with [`FirmwareStop::PageFault`] when the service returns: reads
/// from it give FFh and writes to it are dropped until then, and the service's console
/// output is dropped. [`Ctx::mem`] is physical memory, for what the firmware
/// owns by physical address (XMS blocks, EMS pages, the VMM's saved memory).
pub struct Ctx<'a> {
    pub cpu: &'a mut Cpu,
    pub bus: &'a mut PcBus,
    /// The tick of the trap.
    pub now: u64,
    /// The page-table entries the service used, and its first page fault.
    paged: RefCell<PagedAccesses>,
}

/// What a service did through the guest's page tables (see [`Ctx`]).
#[derive(Default)]
struct PagedAccesses {
    used: Vec<(PageWalk, bool)>,
    fault: Option<(u32, u16)>,
}

impl Regs {
    /// The registers of `ctx`'s CPU.
    pub(crate) fn of(ctx: &Ctx) -> Regs {
        Regs::of_cpu(ctx.cpu)
    }

    /// The registers of `cpu`.
    pub(crate) fn of_cpu(cpu: &Cpu) -> Regs {
        Regs {
            ax: cpu.reg16(Reg16::AX),
            bx: cpu.reg16(Reg16::BX),
            cx: cpu.reg16(Reg16::CX),
            dx: cpu.reg16(Reg16::DX),
            si: cpu.reg16(Reg16::SI),
            di: cpu.reg16(Reg16::DI),
            ds: cpu.sreg(SegReg::DS),
            es: cpu.sreg(SegReg::ES),
        }
    }
}

/// Real-mode linear address of `seg:off` (up to 10FFEFh; memory applies the A20 gate).
pub fn linear(seg: u16, off: u16) -> u32 {
    (u32::from(seg) << 4) + u32::from(off)
}

impl<'a> Ctx<'a> {
    /// A context for a service running at tick `now`.
    pub fn new(cpu: &'a mut Cpu, bus: &'a mut PcBus, now: u64) -> Ctx<'a> {
        Ctx {
            cpu,
            bus,
            now,
            paged: RefCell::new(PagedAccesses::default()),
        }
    }

    /// Physical memory.
    pub fn mem(&mut self) -> &mut Memory {
        &mut self.bus.mem
    }

    /// Ends the service's paged accesses: sets the accessed and dirty bits of the
    /// page-table entries it used and returns its first page fault (linear address, #PF
    /// error code), if it had one.
    pub fn finish(&mut self) -> Option<(u32, u16)> {
        let done = std::mem::take(self.paged.get_mut());
        for (walk, write) in &done.used {
            mark_used(&mut self.bus.mem, walk, *write);
        }
        done.fault
    }

    /// The physical address of linear `lin` for a read or a write by the service, or
    /// `None` when the guest's page tables do not allow it (the fault is remembered).
    fn physical(&self, lin: u32, write: bool) -> Option<u32> {
        if !self.cpu.paged() {
            return Some(lin);
        }
        let user = self.cpu.cpl() == 3;
        let mut p = self.paged.borrow_mut();
        match self.cpu.peek_translation(&self.bus.mem, lin, write, user) {
            Ok(walk) => {
                if p.used.last() != Some(&(walk, write)) {
                    p.used.push((walk, write));
                }
                Some(walk.physical(lin))
            }
            Err(code) => {
                p.fault.get_or_insert((lin, code));
                None
            }
        }
    }

    /// The `len` (1, 2 or 4) bytes at linear address `lin`, little-endian.
    pub fn read_linear(&self, lin: u32, len: u32) -> u32 {
        let mem = &self.bus.mem;
        if !self.cpu.paged() {
            return match len {
                1 => u32::from(mem.read_u8(lin)),
                2 => u32::from(mem.read_u16(lin)),
                _ => mem.read_u32(lin),
            };
        }
        let mut v = 0;
        for (i, b) in self
            .read_linear_bytes(lin, len as usize)
            .into_iter()
            .enumerate()
        {
            v |= u32::from(b) << (8 * i);
        }
        v
    }

    /// Writes the low `len` (1, 2 or 4) bytes of `v` at linear address `lin`.
    pub fn write_linear(&mut self, lin: u32, len: u32, v: u32) {
        if !self.cpu.paged() {
            let mem = &mut self.bus.mem;
            match len {
                1 => mem.write_u8(lin, v as u8),
                2 => mem.write_u16(lin, v as u16),
                _ => mem.write_u32(lin, v),
            }
            return;
        }
        let bytes = v.to_le_bytes();
        self.write_linear_bytes(lin, &bytes[..len as usize]);
    }

    /// `len` bytes from linear address `lin`.
    pub fn read_linear_bytes(&self, lin: u32, len: usize) -> Vec<u8> {
        if !self.cpu.paged() {
            return self.bus.mem.read_bytes(lin, len);
        }
        let mut out = Vec::with_capacity(len);
        let mut at = lin;
        while out.len() < len {
            let n = ((0x1000 - (at & 0xFFF)) as usize).min(len - out.len());
            match self.physical(at, false) {
                Some(a) => out.extend(self.bus.mem.read_bytes(a, n)),
                None => out.resize(out.len() + n, 0xFF),
            }
            at = at.wrapping_add(n as u32);
        }
        out
    }

    /// Writes `bytes` at linear address `lin`.
    pub fn write_linear_bytes(&mut self, lin: u32, bytes: &[u8]) {
        if !self.cpu.paged() {
            self.bus.mem.write_bytes(lin, bytes);
            return;
        }
        let mut done = 0;
        let mut at = lin;
        while done < bytes.len() {
            let n = ((0x1000 - (at & 0xFFF)) as usize).min(bytes.len() - done);
            if let Some(a) = self.physical(at, true) {
                self.bus.mem.write_bytes(a, &bytes[done..done + n]);
            }
            done += n;
            at = at.wrapping_add(n as u32);
        }
    }

    pub fn ax(&self) -> u16 {
        self.cpu.reg16(Reg16::AX)
    }
    pub fn bx(&self) -> u16 {
        self.cpu.reg16(Reg16::BX)
    }
    pub fn cx(&self) -> u16 {
        self.cpu.reg16(Reg16::CX)
    }
    pub fn dx(&self) -> u16 {
        self.cpu.reg16(Reg16::DX)
    }
    pub fn si(&self) -> u16 {
        self.cpu.reg16(Reg16::SI)
    }
    pub fn di(&self) -> u16 {
        self.cpu.reg16(Reg16::DI)
    }
    pub fn ah(&self) -> u8 {
        self.cpu.reg8(Reg8::AH)
    }
    pub fn al(&self) -> u8 {
        self.cpu.reg8(Reg8::AL)
    }
    pub fn bl(&self) -> u8 {
        self.cpu.reg8(Reg8::BL)
    }
    pub fn bh(&self) -> u8 {
        self.cpu.reg8(Reg8::BH)
    }
    pub fn cl(&self) -> u8 {
        self.cpu.reg8(Reg8::CL)
    }
    pub fn dl(&self) -> u8 {
        self.cpu.reg8(Reg8::DL)
    }
    pub fn ch(&self) -> u8 {
        self.cpu.reg8(Reg8::CH)
    }
    pub fn dh(&self) -> u8 {
        self.cpu.reg8(Reg8::DH)
    }
    pub fn ds(&self) -> u16 {
        self.cpu.sreg(SegReg::DS)
    }
    pub fn es(&self) -> u16 {
        self.cpu.sreg(SegReg::ES)
    }
    pub fn set_ax(&mut self, v: u16) {
        self.cpu.set_reg16(Reg16::AX, v)
    }
    pub fn set_bx(&mut self, v: u16) {
        self.cpu.set_reg16(Reg16::BX, v)
    }
    pub fn set_cx(&mut self, v: u16) {
        self.cpu.set_reg16(Reg16::CX, v)
    }
    pub fn set_dx(&mut self, v: u16) {
        self.cpu.set_reg16(Reg16::DX, v)
    }
    pub fn set_si(&mut self, v: u16) {
        self.cpu.set_reg16(Reg16::SI, v)
    }
    pub fn set_di(&mut self, v: u16) {
        self.cpu.set_reg16(Reg16::DI, v)
    }
    pub fn set_al(&mut self, v: u8) {
        self.cpu.set_reg8(Reg8::AL, v)
    }
    pub fn set_ah(&mut self, v: u8) {
        self.cpu.set_reg8(Reg8::AH, v)
    }
    pub fn set_bl(&mut self, v: u8) {
        self.cpu.set_reg8(Reg8::BL, v)
    }
    pub fn set_bh(&mut self, v: u8) {
        self.cpu.set_reg8(Reg8::BH, v)
    }
    pub fn set_cl(&mut self, v: u8) {
        self.cpu.set_reg8(Reg8::CL, v)
    }
    pub fn set_dl(&mut self, v: u8) {
        self.cpu.set_reg8(Reg8::DL, v)
    }
    pub fn set_dh(&mut self, v: u8) {
        self.cpu.set_reg8(Reg8::DH, v)
    }
    pub fn set_ds(&mut self, v: u16) {
        self.cpu.set_sreg(SegReg::DS, v)
    }
    pub fn set_es(&mut self, v: u16) {
        self.cpu.set_sreg(SegReg::ES, v)
    }
    pub fn eax(&self) -> u32 {
        self.cpu.reg32(Reg32::EAX)
    }
    pub fn ebx(&self) -> u32 {
        self.cpu.reg32(Reg32::EBX)
    }
    pub fn edx(&self) -> u32 {
        self.cpu.reg32(Reg32::EDX)
    }
    pub fn set_eax(&mut self, v: u32) {
        self.cpu.set_reg32(Reg32::EAX, v)
    }
    pub fn set_ebx(&mut self, v: u32) {
        self.cpu.set_reg32(Reg32::EBX, v)
    }
    pub fn set_ecx(&mut self, v: u32) {
        self.cpu.set_reg32(Reg32::ECX, v)
    }
    pub fn set_edx(&mut self, v: u32) {
        self.cpu.set_reg32(Reg32::EDX, v)
    }

    pub fn rd8(&self, seg: u16, off: u16) -> u8 {
        self.read_linear(linear(seg, off), 1) as u8
    }
    /// A word at `seg:off`; the offset wraps within the segment as the CPU's would not
    /// (callers never straddle FFFFh).
    pub fn rd16(&self, seg: u16, off: u16) -> u16 {
        self.read_linear(linear(seg, off), 2) as u16
    }
    pub fn rd32(&self, seg: u16, off: u16) -> u32 {
        self.read_linear(linear(seg, off), 4)
    }
    pub fn wr8(&mut self, seg: u16, off: u16, v: u8) {
        self.write_linear(linear(seg, off), 1, u32::from(v))
    }
    pub fn wr16(&mut self, seg: u16, off: u16, v: u16) {
        self.write_linear(linear(seg, off), 2, u32::from(v))
    }
    pub fn wr32(&mut self, seg: u16, off: u16, v: u32) {
        self.write_linear(linear(seg, off), 4, v)
    }
    pub fn read_bytes(&self, seg: u16, off: u16, len: usize) -> Vec<u8> {
        self.read_linear_bytes(linear(seg, off), len)
    }
    pub fn write_bytes(&mut self, seg: u16, off: u16, bytes: &[u8]) {
        self.write_linear_bytes(linear(seg, off), bytes)
    }

    /// Writes the stub `a` where it was assembled for and makes its traps live (the only
    /// way a trap in RAM is honoured; see [`crate::cpu::TrapSites`]).
    pub fn place(&mut self, a: &stubs::Asm) {
        self.write_bytes(a.seg, a.base(), &a.bytes);
        for (addr, service) in a.trap_sites() {
            self.cpu.add_trap_site(addr, service);
        }
    }

    /// The NUL-terminated string at `seg:off` (at most `max` bytes, without the NUL).
    pub fn read_asciz(&self, seg: u16, off: u16, max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..max {
            let b = self.rd8(seg, off.wrapping_add(i as u16));
            if b == 0 {
                break;
            }
            out.push(b);
        }
        out
    }

    /// The interrupt vector `n` as (segment, offset).
    pub fn vector(&self, n: u8) -> (u16, u16) {
        let v = self.read_linear(u32::from(n) * 4, 4);
        ((v >> 16) as u16, v as u16)
    }

    pub fn set_vector(&mut self, n: u8, seg: u16, off: u16) {
        let v = (u32::from(seg) << 16) | u32::from(off);
        self.write_linear(u32::from(n) * 4, 4, v);
    }

    /// Address of the FLAGS word of the `INT` frame on top of the stack (IP, CS, FLAGS).
    fn frame_flags_addr(&self) -> u32 {
        let ss = self.cpu.sreg(SegReg::SS);
        let sp = self.cpu.reg16(Reg16::SP);
        linear(ss, sp.wrapping_add(4))
    }

    /// Sets or clears `mask` in the FLAGS that the stub's `IRET` will restore (and in the
    /// live FLAGS, for stubs that return with `RETF 2`).
    fn set_frame_flag(&mut self, mask: u16, on: bool) {
        let a = self.frame_flags_addr();
        let f = self.read_linear(a, 2) as u16;
        self.write_linear(a, 2, u32::from(if on { f | mask } else { f & !mask }));
        let live = self.cpu.flags();
        let m = u32::from(mask);
        self.cpu.set_flags(if on { live | m } else { live & !m });
    }

    /// CF as the caller of an `INT`-reached service will see it.
    pub fn set_cf(&mut self, on: bool) {
        self.set_frame_flag(1, on)
    }

    /// ZF as the caller of an `INT`-reached service will see it.
    pub fn set_zf(&mut self, on: bool) {
        self.set_frame_flag(1 << 6, on)
    }

    /// The return address of the `INT` frame on top of the stack.
    pub fn interrupted_at(&self) -> (u16, u16) {
        let ss = self.cpu.sreg(SegReg::SS);
        let sp = self.cpu.reg16(Reg16::SP);
        (self.rd16(ss, sp.wrapping_add(2)), self.rd16(ss, sp))
    }

    /// Which vector's stub trapped: the BIOS's default-exception stubs are laid out one per
    /// vector, so the trap's own address tells (see `bios/mod.rs`).
    fn bios_vector_of_frame(&self) -> u8 {
        bios::vector_of_unexpected_stub(self.cpu.ip())
    }

    /// Transfers control to `seg:off` (the stub's own return is skipped).
    pub fn jump(&mut self, seg: u16, off: u16) {
        self.cpu.set_sreg(SegReg::CS, seg);
        self.cpu.set_ip(off);
    }

    /// Whether the A20 gate is open.
    pub fn a20(&self) -> bool {
        self.bus.mem.a20()
    }

    /// Opens or closes the A20 gate through the 8042's output port (command D1h), as HIMEM
    /// does on an AT, and applies it to memory at once.
    pub fn set_a20(&mut self, on: bool) {
        self.bus.set_a20_gate(on);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{Machine, MachineConfig};

    /// 80386 PRM 5.2: linear 20000h-20FFFh maps physical 50000h, 21000h-21FFFh maps 30000h,
    /// 22000h is not present (directory at 10000h, its table at 11000h).
    fn paged_machine() -> Machine {
        let config = MachineConfig {
            model: crate::cpu::Model::I80386,
            ..MachineConfig::default()
        };
        let mut m = Machine::new(config).expect("machine");
        m.with_service_context(|_, ctx| {
            let mem = ctx.mem();
            mem.write_u32(0x10000, 0x11000 | 7);
            mem.write_u32(0x11000 + 0x20 * 4, 0x50000 | 7);
            mem.write_u32(0x11000 + 0x21 * 4, 0x30000 | 7);
            mem.write_u8(0x50FFF, 0xAA);
            mem.write_u8(0x30000, 0xBB);
            ctx.cpu.set_cr3(0x10000);
            ctx.cpu.set_cr0(0x8000_0001);
        });
        m
    }

    #[test]
    fn services_address_memory_through_the_guests_page_tables() {
        let mut m = paged_machine();
        m.with_service_context(|_, ctx| {
            // A word across the page boundary comes from two physical pages.
            assert_eq!(ctx.read_linear(0x20FFF, 2), 0xBBAA);
            assert_eq!(ctx.rd16(0x2000, 0x0FFF), 0xBBAA);
            ctx.wr8(0x2100, 1, 0x77);
            assert_eq!(ctx.mem().read_u8(0x30001), 0x77);
            assert_eq!(ctx.finish(), None);
            // 5.2.4.4: the accessed bits of both entries used, the dirty bit of the one
            // written; the directory entry's accessed bit.
            let pte = |ctx: &mut Ctx, page: u32| ctx.mem().read_u32(0x11000 + page * 4) & 0x60;
            assert_eq!(pte(ctx, 0x20), 0x20);
            assert_eq!(pte(ctx, 0x21), 0x60);
            assert_eq!(ctx.mem().read_u32(0x10000) & 0x20, 0x20);
        });
    }

    #[test]
    fn a_page_not_present_reads_ffh_drops_writes_and_is_reported() {
        let mut m = paged_machine();
        m.with_service_context(|_, ctx| {
            assert_eq!(ctx.read_linear(0x22010, 1), 0xFF);
            ctx.write_linear(0x22020, 2, 0x1234);
            ctx.write_linear(0x20000, 1, 0x55);
            // The first fault: a supervisor read (CPL 0) of a page not present, code 0.
            assert_eq!(ctx.finish(), Some((0x22010, 0)));
            assert_eq!(ctx.mem().read_u8(0x50000), 0x55);
            assert_eq!(ctx.finish(), None);
        });
    }

    #[test]
    fn stop_messages_name_the_problem() {
        let s = FirmwareStop::GuestFault {
            vector: 6,
            cs: 0x1234,
            ip: 0x0010,
        }
        .to_string();
        assert!(
            s.contains("invalid opcode") && s.contains("1234:0010"),
            "{s}"
        );
        let s = FirmwareStop::ExecFailed { index: 0, error: 2 }.to_string();
        assert!(
            s.contains("program 1") && s.contains("file not found"),
            "{s}"
        );
    }
}
