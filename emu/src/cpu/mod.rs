//! The x86 interpreter: 8086, 80286 and 80386 models, in real-address, protected and
//! (80386) virtual-8086 mode, with 80386 paging.
//!
//! Sources: Intel *iAPX 86/88 User's Manual* (1981) for the 8086, Intel *80286 Programmer's
//! Reference Manual* (1987) and *80386 Programmer's Reference Manual* (1986) for the later
//! models; the behaviour of undocumented opcodes and of the corners the manuals leave open
//! follows the SingleStepTests real-hardware vectors (`../shared/sst`), and in protected
//! mode where the manuals are silent, Bochs as test386.asm expects it.
//!
//! # Models
//!
//! [`Model`] selects the differences real programs can see:
//!
//! | | 8086 | 80286 | 80386 |
//! |---|---|---|---|
//! | address bus | 20 bits (1 MiB wrap) | 24 bits | 32 bits |
//! | shift/rotate count | used as is | masked to 5 bits | masked to 5 bits |
//! | `PUSH SP` | pushes the decremented SP | pushes the old SP | pushes the old SP |
//! | undefined opcodes | alias other instructions | #UD (interrupt 6) | #UD |
//! | divide error return address | the next instruction | the faulting instruction | the faulting instruction |
//! | FLAGS bits 12-15 | always 1 | 0 in real mode; IOPL/NT in protected mode | IOPL/NT writable, bit 15 is 0 |
//! | word at offset FFFFh | wraps to offset 0 | #GP (interrupt 13) | #GP, or #SS for the stack |
//! | instruction length | unlimited | 10 bytes | 15 bytes |
//! | protected mode | none | 16-bit descriptors, 286 TSS and gates | 32-bit descriptors, gates and TSS, paging, virtual-8086 mode |
//!
//! The 80386 model adds the 32-bit operand and address sizes (prefixes 66h/67h, or the D
//! bit of a protected-mode code segment), FS/GS and the 0Fh opcode map.
//!
//! # Protected mode
//!
//! Every segment register keeps a descriptor cache ([`Segment`]: base, limit, B/D bit,
//! access rights) that real-mode loads change only in base and rights, so "unreal" mode
//! works as on hardware. `descriptor.rs` loads data and stack segments, LDTR and TR with
//! their checks; `transfer.rs` does far JMP/CALL/RET with call gates and privilege changes;
//! `idt.rs` delivers interrupts and exceptions through the IDT (error codes, stack switch,
//! leaving virtual-8086 mode) and IRET; `task.rs` switches tasks; `paging.rs` translates
//! linear addresses; `system.rs` holds the system instructions and the IOPL and I/O-bitmap
//! checks. The decoded-block cache runs in every mode: blocks are found through the page
//! tables, their segment loads and CLI take the protected-mode rules, and every other
//! instruction that depends on privilege is left to the full interpreter.
//!
//! # Time
//!
//! [`Cpu::run`] executes up to a budget of *ticks*: one tick per retired instruction, one per
//! iteration of a REP-prefixed string instruction, and one for an instruction that raises an
//! exception (DESIGN.md section 2). The loop checks nothing else per instruction; interrupts
//! are delivered between runs with [`Cpu::interrupt`], so they land on instruction boundaries
//! (a boundary between two REP iterations counts).
//!
//! # What is not modelled here
//!
//! The 8087/80287/80387 (ESC opcodes do nothing, or raise #NM when CR0.EM or TS is set), the
//! TLB's staleness (vexed's translation cache never outlives a page-table write; see
//! `paging.rs`), bus timing (one instruction is one tick), `LOADALL`, data breakpoints on
//! the processor's own accesses to descriptor tables, the IDT and TSSs (the debug registers
//! compare an instruction's operand accesses and its code address; see `debug.rs`), and the
//! 8086's loss of all but the last prefix when a REP string instruction is interrupted
//! (vexed resumes at the first prefix, as the 80286 does).

mod access;
mod alu;
mod block;
mod debug;
mod decode;
mod descriptor;
mod exec;
mod exec_0f;
mod flags;
mod idt;
mod interrupt;
mod paging;
mod regs;
mod string;
mod system;
mod task;
mod transfer;
mod watch;

use serde::{Deserialize, Serialize};

use crate::bus::Bus;
pub use flags::Flags;
use flags::{IOPL, NT};
pub(crate) use paging::{PageWalk, mark_used};
use regs::CS;
pub use regs::{Reg8, Reg16, Reg32, SegReg, Segment, TableRegister};
pub use watch::{DataWatch, Watch, WatchHit, WatchKind};

/// Which processor the interpreter behaves as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Model {
    I8086,
    I80286,
    I80386,
}

impl Model {
    /// Width of the address bus in bits.
    pub fn address_bits(self) -> u8 {
        match self {
            Model::I8086 => 20,
            Model::I80286 => 24,
            Model::I80386 => 32,
        }
    }

    /// The short name used on the command line (`8086`, `286`, `386`).
    pub fn name(self) -> &'static str {
        match self {
            Model::I8086 => "8086",
            Model::I80286 => "286",
            Model::I80386 => "386",
        }
    }

    /// Parses `8086`, `286`/`80286` or `386`/`80386`.
    pub fn from_name(s: &str) -> Option<Model> {
        match s {
            "8086" | "86" => Some(Model::I8086),
            "286" | "80286" => Some(Model::I80286),
            "386" | "80386" => Some(Model::I80386),
            _ => None,
        }
    }
}

/// Why [`Cpu::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Exit {
    /// The tick budget is used up.
    Budget,
    /// The CPU executed `HLT` and waits for an interrupt.
    Halted,
    /// An exception could not be delivered even as a double fault: the processor stopped
    /// (on a PC the chipset turns the shutdown cycle into a reset).
    Shutdown,
    /// An I/O instruction asked the run to end early ([`Bus::yield_requested`]).
    IoYield,
    /// The INTR line is high ([`Cpu::set_intr`]) and interrupts became enabled: the machine
    /// acknowledges the interrupt controller and calls [`Cpu::interrupt`] before running on.
    Interrupt,
    /// The CPU executed the emulator trap `FE 38 lo hi` at one of its [`TrapSites`]: a
    /// firmware service written in Rust is to run now. IP is past the 4-byte trap.
    Trap(u16),
    /// The debugger's watch stopped the run ([`Cpu::set_watch`], [`Cpu::take_watch_hit`]), or
    /// a probe of the machine's did ([`Cpu::set_probes`], [`Cpu::take_probe_hit`]).
    Watch,
}

/// The first two bytes of the emulator trap: `FE 38` is group 4 with reg = 7, an invalid
/// opcode on the 80286 and 80386 (and an undocumented alias on the 8086). The service
/// number follows as a little-endian word. Recognised only at the [`TrapSites`] the
/// firmware registered ([`Cpu::add_trap_site`]).
pub const TRAP_OPCODE: [u8; 2] = [0xFE, 0x38];

/// Service numbers with this bit set are protected-mode entries of the firmware (the DPMI
/// host's interrupt gates): their traps are honoured in protected mode outside virtual-8086
/// mode only. The others are honoured in real mode and virtual-8086 mode only, where the
/// firmware's `seg:off` addressing is what the caller means.
pub const PM_SERVICE: u16 = 0x8000;

/// Where the emulator trap is honoured: the physical address of each firmware stub's `FE`
/// byte with the service number the stub was written with. Anywhere else, or with another
/// service number in the stub's bytes, `FE 38` is what it is on the real processor: #UD
/// (interrupt 6) on the 80286 and 80386 with the saved CS:IP at the `FE` byte, the
/// undocumented FF /7 alias on the 8086. The address is physical (after the bus width and
/// the A20 gate), so every segment:offset form that reaches a stub's bytes (a far jump to
/// an old vector, the CP/M entry's wrap) traps, and the VMM's per-VM memory (same physical
/// addresses, other backing pages) shares the table. Part of the CPU's saved state: a
/// snapshot restores it with the stubs it describes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrapSites {
    /// (physical address of the `FE` byte, service number), sorted by address, one entry
    /// per address.
    sites: Vec<(u32, u16)>,
}

impl TrapSites {
    /// The service of the stub whose trap starts at physical address `addr`.
    #[inline]
    pub fn service_at(&self, addr: u32) -> Option<u16> {
        self.sites
            .binary_search_by_key(&addr, |&(a, _)| a)
            .ok()
            .and_then(|i| self.sites.get(i))
            .map(|&(_, s)| s)
    }

    /// Registers (or re-registers) the stub trap at `addr`.
    pub fn insert(&mut self, addr: u32, service: u16) {
        match self.sites.binary_search_by_key(&addr, |&(a, _)| a) {
            Ok(i) => self.sites[i].1 = service,
            Err(i) => self.sites.insert(i, (addr, service)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// Every site, by address.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u16)> + '_ {
        self.sites.iter().copied()
    }
}

/// What one call of [`Cpu::run`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// Ticks consumed (see the module documentation).
    pub ticks: u64,
    pub exit: Exit,
}

/// An exception raised while executing an instruction: its vector and, for the exceptions
/// that push one (8, 10-14), the error code (80386 PRM 9.9: a selector index with the EXT,
/// IDT and TI bits, or the page-fault bits). Real-mode delivery pushes no error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fault {
    pub vector: u8,
    pub code: u16,
}

impl Fault {
    pub(crate) const fn new(vector: u8) -> Fault {
        Fault { vector, code: 0 }
    }
    /// #TS (10) with `code`.
    #[cold]
    pub(crate) const fn ts(code: u16) -> Fault {
        Fault { vector: 10, code }
    }
    /// #NP (11) with `code`.
    #[cold]
    pub(crate) const fn np(code: u16) -> Fault {
        Fault { vector: 11, code }
    }
    /// #SS (12) with `code`.
    #[cold]
    pub(crate) const fn ss(code: u16) -> Fault {
        Fault { vector: 12, code }
    }
    /// #GP (13) with `code`.
    #[cold]
    pub(crate) const fn gp(code: u16) -> Fault {
        Fault { vector: 13, code }
    }
    /// Whether protected-mode delivery pushes an error code for this vector.
    pub(crate) const fn has_error_code(self) -> bool {
        matches!(self.vector, 8 | 10..=14)
    }
}

pub(crate) const DIVIDE_ERROR: Fault = Fault::new(0);
pub(crate) const BOUND_RANGE: Fault = Fault::new(5);
pub(crate) const INVALID_OPCODE: Fault = Fault::new(6);
pub(crate) const NO_COPROCESSOR: Fault = Fault::new(7);
pub(crate) const STACK_FAULT: Fault = Fault::new(12);
pub(crate) const GENERAL_PROTECTION: Fault = Fault::new(13);
/// Not an exception: a decoded block wrote into its own decoded bytes and must stop (see
/// `block/mod.rs`). Never delivered; 255 is not an exception vector.
pub(crate) const BLOCK_STALE: Fault = Fault::new(255);

pub(crate) type R<T> = Result<T, Fault>;

/// Per-instruction decoder state. Never outlives one instruction, so it is not part of the
/// machine state.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Decode {
    /// Offset of the instruction's first byte (its first prefix).
    start_eip: u32,
    /// Segment override prefix (a segment index) or `NO_SEG`.
    seg: u8,
    /// 0, 0xF2 (REPNE) or 0xF3 (REP/REPE).
    rep: u8,
    lock: bool,
    /// Operand size is 32 bits (80386 with a 66h prefix in a 16-bit code segment).
    o32: bool,
    /// Address size is 32 bits.
    a32: bool,
    /// A REP string instruction stopped with iterations left (EIP is back at its start).
    rep_more: bool,
    /// Prefix bytes seen.
    prefixes: u8,
}

pub(crate) const NO_SEG: u8 = 0xFF;

/// The processor: registers, flags, segment caches, control registers, and run state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cpu {
    model: Model,
    regs: [u32; 8],
    eip: u32,
    segs: [Segment; 6],
    flags: Flags,
    /// CR0 (the 80286's machine status word is its low 16 bits).
    cr0: u32,
    cr2: u32,
    cr3: u32,
    /// Debug registers DR0-DR7 (80386; see `debug.rs`): the bits DR6 and DR7 hold, without
    /// the ones that read as fixed values; the DR4 slot holds the DR6 bits of a pending
    /// debug trap (DR4 itself aliases DR6).
    dr: [u32; 8],
    /// Test registers TR6/TR7 (80386; stored only).
    tr: [u32; 2],
    gdtr: TableRegister,
    idtr: TableRegister,
    /// LDTR: the selector of the current LDT and its descriptor's base and limit.
    ldtr: Segment,
    /// TR: the selector of the current task's TSS and its descriptor (base, limit, type).
    task: Segment,
    /// The current privilege level: 0 in real mode, 3 in virtual-8086 mode, in protected
    /// mode the RPL CS was loaded with (80386 PRM 6.3.1.1).
    cpl: u8,
    /// Waiting in `HLT` for an interrupt.
    halted: bool,
    /// Where `FE 38` is the emulator trap ([`TRAP_OPCODE`]) instead of an invalid opcode.
    traps: TrapSites,
    /// Stopped by a triple fault until reset.
    shutdown: bool,
    /// The previous instruction was `STI`, `MOV SS` or `POP SS`: no interrupt (and no
    /// single-step trap) is recognised before the next instruction completes.
    shadow: bool,
    #[serde(skip)]
    d: Decode,
    /// Code window: EIPs `win_start .. win_start + win_len` are readable at backing-store
    /// index `win_off + (eip - win_start)` (one page, within the CS limit). Derived from CS,
    /// the page map and A20; empty whenever any of them may have changed.
    #[serde(skip)]
    win_start: u32,
    #[serde(skip)]
    win_len: u32,
    #[serde(skip)]
    win_off: usize,
    /// Memory's cache epoch when the running block started (see `block/mod.rs`).
    #[serde(skip)]
    block_epoch: u64,
    /// TF is set, an interrupt shadow is pending or INTR is high: steps take the slow path.
    #[serde(skip)]
    attention: bool,
    /// The `max_ticks` of the current run (see [`Cpu::ticks_into_run`]).
    #[serde(skip)]
    run_max: u64,
    /// The INTR input (an interrupt controller has a request). Set by the machine before
    /// each run from its devices' state, so it is not part of the CPU's own state.
    #[serde(skip)]
    intr: bool,
    /// Cached page translations (a cache, not machine state; see `paging.rs`).
    #[serde(skip)]
    tlb: paging::Tlb,
    /// The fast path's memory-operand cache (a cache, not machine state; see
    /// `block/memtlb.rs`).
    #[serde(skip)]
    mtlb: block::MemTlb,
    /// Decoded blocks (a cache, not machine state).
    #[serde(skip, default = "block::BlockCache::new")]
    blocks: block::BlockCache,
    /// Remaining ticks of the current run.
    #[serde(skip)]
    budget: u64,
    /// An instruction ended the run early (see [`Cpu::stop`]).
    #[serde(skip)]
    stopped: bool,
    #[serde(skip, default = "exit_budget")]
    exit: Exit,
    /// An exception or interrupt was delivered during the current instruction.
    #[serde(skip)]
    delivered: bool,
    /// The data breakpoints (bit n for DRn) the current instruction's accesses matched.
    #[serde(skip)]
    dbg_hits: u8,
    /// The debugger's watch (not machine state; see `watch.rs`).
    #[serde(skip)]
    watch: Option<Box<Watch>>,
    /// The watch has data ranges: every step takes the slow path, every access the checked
    /// one.
    #[serde(skip)]
    watch_data: bool,
    /// Why the last run ended early for the watch.
    #[serde(skip)]
    watch_hit: Option<WatchHit>,
    /// Linear address of the instruction executing on the slow path while watching.
    #[serde(skip)]
    watch_pc: u32,
    /// The machine's probes (not machine state; see `watch.rs`): linear addresses of
    /// instructions to stop before, sorted.
    #[serde(skip)]
    probes: Vec<u32>,
    /// The first instruction of a run is not compared with the probes if it lies here.
    #[serde(skip)]
    probe_resume: Option<u32>,
    /// The probe the last run stopped before.
    #[serde(skip)]
    probe_hit: Option<u32>,
    /// A watch or a probe is set: the run compares instruction addresses.
    #[serde(skip)]
    watching: bool,
}

/// The processor's architectural state as a VM manager saves it at a VM switch and loads
/// it when the VM runs again: everything a program can observe, without the model, the
/// emulator-trap setting and the caches.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CpuContext {
    regs: [u32; 8],
    eip: u32,
    segs: [Segment; 6],
    flags: Flags,
    cr0: u32,
    cr2: u32,
    cr3: u32,
    dr: [u32; 8],
    tr: [u32; 2],
    gdtr: TableRegister,
    idtr: TableRegister,
    ldtr: Segment,
    task: Segment,
    cpl: u8,
    halted: bool,
    shutdown: bool,
    shadow: bool,
}

impl CpuContext {
    /// Whether the saved processor waits in `HLT`.
    pub fn halted(&self) -> bool {
        self.halted
    }

    /// The same state, no longer waiting in `HLT`.
    pub fn without_halt(mut self) -> CpuContext {
        self.halted = false;
        self
    }

    /// The saved CS:IP.
    pub fn cs_ip(&self) -> (u16, u16) {
        (self.segs[CS].selector, self.eip as u16)
    }
}

fn exit_budget() -> Exit {
    Exit::Budget
}

impl Cpu {
    /// A processor of `model` in its reset state: CS:IP = FFFF:0000 (on the 80286 and 80386
    /// the first fetch is at the top of memory; the PC maps the BIOS ROM there too).
    pub fn new(model: Model) -> Cpu {
        let mut cpu = Cpu {
            model,
            regs: [0; 8],
            eip: 0,
            segs: [Segment::real(0); 6],
            flags: Flags::from_bits(0),
            cr0: 0,
            cr2: 0,
            cr3: 0,
            dr: [0; 8],
            tr: [0; 2],
            gdtr: TableRegister {
                base: 0,
                limit: 0xFFFF,
            },
            idtr: TableRegister {
                base: 0,
                limit: 0x3FF,
            },
            ldtr: Segment::system_null(),
            task: Segment::system_null(),
            cpl: 0,
            halted: false,
            traps: TrapSites::default(),
            shutdown: false,
            shadow: false,
            d: Decode::default(),
            win_start: 0,
            win_len: 0,
            win_off: 0,
            block_epoch: 0,
            attention: false,
            intr: false,
            run_max: 0,
            blocks: block::BlockCache::new(),
            tlb: paging::Tlb::default(),
            mtlb: block::MemTlb::default(),
            budget: 0,
            stopped: false,
            exit: Exit::Budget,
            delivered: false,
            dbg_hits: 0,
            watch: None,
            watch_data: false,
            watch_hit: None,
            watch_pc: 0,
            probes: Vec::new(),
            probe_resume: None,
            probe_hit: None,
            watching: false,
        };
        cpu.reset();
        cpu
    }

    /// The RESET line: registers to their documented power-up values.
    pub fn reset(&mut self) {
        self.regs = [0; 8];
        if self.model == Model::I80386 {
            // 80386 PRM 10.1: DX holds the component and revision (03h, stepping D1 = 08h).
            self.regs[2] = 0x0308;
            self.cr0 = 0; // PE = PG = 0; ET = 0: no 80387 present
        } else if self.model == Model::I80286 {
            self.cr0 = 0xFFF0; // 80286 MSW reads FFF0h after reset (undefined bits set)
        } else {
            self.cr0 = 0;
        }
        self.eip = 0;
        self.segs = [Segment::real(0); 6];
        self.segs[CS] = Segment::real(0xFFFF);
        self.flags = Flags::from_bits(self.flags_fixed_ones());
        self.gdtr = TableRegister {
            base: 0,
            limit: 0xFFFF,
        };
        self.idtr = TableRegister {
            base: 0,
            limit: 0x3FF,
        };
        self.ldtr = Segment::system_null();
        self.task = Segment::system_null();
        self.cpl = 0;
        self.dr = [0; 8];
        self.tr = [0; 2];
        self.halted = false;
        self.shutdown = false;
        self.shadow = false;
        self.win_len = 0;
        self.tlb.flush();
        self.attention = self.intr;
    }

    /// The architectural state, for a VM switch ([`Cpu::load_context`] puts it back).
    pub fn context(&self) -> CpuContext {
        CpuContext {
            regs: self.regs,
            eip: self.eip,
            segs: self.unwatched_segments(),
            flags: self.flags,
            cr0: self.cr0,
            cr2: self.cr2,
            cr3: self.cr3,
            dr: self.dr,
            tr: self.tr,
            gdtr: self.gdtr,
            idtr: self.idtr,
            ldtr: self.ldtr,
            task: self.task,
            cpl: self.cpl,
            halted: self.halted,
            shutdown: self.shutdown,
            shadow: self.shadow,
        }
    }

    /// Continues from a state saved with [`Cpu::context`] (on this model): the next
    /// instruction is the saved one, decoded afresh.
    pub fn load_context(&mut self, c: &CpuContext) {
        self.regs = c.regs;
        self.eip = c.eip;
        self.segs = c.segs;
        self.flags = c.flags;
        self.cr0 = c.cr0;
        self.cr2 = c.cr2;
        self.cr3 = c.cr3;
        self.dr = c.dr;
        self.tr = c.tr;
        self.gdtr = c.gdtr;
        self.idtr = c.idtr;
        self.ldtr = c.ldtr;
        self.task = c.task;
        self.cpl = c.cpl;
        self.halted = c.halted;
        self.shutdown = c.shutdown;
        self.shadow = c.shadow;
        if self.watch_data {
            self.refresh_segments();
        }
        self.win_len = 0;
        self.tlb.flush();
        self.attention = self.needs_attention();
    }

    pub fn model(&self) -> Model {
        self.model
    }

    #[inline(always)]
    pub(crate) fn is8086(&self) -> bool {
        self.model == Model::I8086
    }

    #[inline(always)]
    pub(crate) fn is386(&self) -> bool {
        self.model == Model::I80386
    }

    /// CR0.PE: protected mode (virtual-8086 mode included).
    #[inline(always)]
    pub(crate) fn protected(&self) -> bool {
        self.cr0 & 1 != 0
    }

    /// EFLAGS.VM in protected mode: virtual-8086 mode.
    #[inline(always)]
    pub(crate) fn v86(&self) -> bool {
        self.flags.other() & flags::VM != 0
    }

    /// CR0.PG: linear addresses go through the page tables.
    #[inline(always)]
    pub(crate) fn paged(&self) -> bool {
        self.cr0 & 0x8000_0000 != 0
    }

    /// The current privilege level (0 in real mode, 3 in virtual-8086 mode).
    pub fn cpl(&self) -> u8 {
        self.cpl
    }

    /// Whether CR0.PE is set (protected mode, virtual-8086 mode included).
    pub fn in_protected_mode(&self) -> bool {
        self.protected()
    }

    /// Whether the processor runs in virtual-8086 mode (CR0.PE and EFLAGS.VM).
    pub fn in_v86_mode(&self) -> bool {
        self.protected() && self.v86()
    }

    /// The task register's selector (STR).
    pub fn task_selector(&self) -> u16 {
        self.task.selector
    }

    /// The LDTR's selector (SLDT).
    pub fn ldt_selector(&self) -> u16 {
        self.ldtr.selector
    }

    // ----- registers -----------------------------------------------------------------------

    pub fn reg8(&self, r: Reg8) -> u8 {
        self.r8(r as usize)
    }
    pub fn set_reg8(&mut self, r: Reg8, v: u8) {
        self.set_r8(r as usize, v)
    }
    pub fn reg16(&self, r: Reg16) -> u16 {
        self.regs[r as usize] as u16
    }
    pub fn set_reg16(&mut self, r: Reg16, v: u16) {
        self.set_r16(r as usize, v)
    }
    /// A 32-bit register. On the 8086 and 80286 the upper halves exist only inside vexed and
    /// are never changed by guest instructions.
    pub fn reg32(&self, r: Reg32) -> u32 {
        self.regs[r as usize]
    }
    pub fn set_reg32(&mut self, r: Reg32, v: u32) {
        self.regs[r as usize] = v
    }

    /// The visible part (selector) of a segment register.
    pub fn sreg(&self, s: SegReg) -> u16 {
        self.segs[s as usize].selector
    }
    /// The hidden descriptor cache of a segment register.
    pub fn segment(&self, s: SegReg) -> Segment {
        self.segs[s as usize]
    }
    /// Loads a segment register as a real-mode `MOV Sreg` does (base = selector * 16).
    pub fn set_sreg(&mut self, s: SegReg, selector: u16) {
        self.load_seg_real(s as usize, selector)
    }

    pub fn ip(&self) -> u16 {
        self.eip as u16
    }
    pub fn eip(&self) -> u32 {
        self.eip
    }
    pub fn set_ip(&mut self, ip: u16) {
        self.eip = u32::from(ip)
    }
    pub fn set_eip(&mut self, eip: u32) {
        self.eip = eip
    }

    /// FLAGS (EFLAGS on the 80386) as the guest would read it with `PUSHF`.
    pub fn flags(&self) -> u32 {
        self.flags.bits()
    }

    /// Loads FLAGS as `POPF` would in real mode at privilege 0: bits that the model holds
    /// fixed keep their fixed values.
    pub fn set_flags(&mut self, value: u32) {
        self.write_flags(value, 0xFFFF_FFFF)
    }

    /// CR0 (the 80286 MSW in its low 16 bits).
    pub fn cr0(&self) -> u32 {
        self.cr0
    }
    pub fn gdtr(&self) -> TableRegister {
        self.gdtr
    }
    pub fn idtr(&self) -> TableRegister {
        self.idtr
    }

    /// Makes `FE 38 lo hi` whose `FE` byte is at physical address `addr` end the run with
    /// [`Exit::Trap`]`(service)` when the word after `FE 38` is `service` (the firmware in
    /// Rust registers each stub it writes; everywhere else the bytes are an invalid opcode
    /// as on the real processor). See [`TrapSites`].
    pub fn add_trap_site(&mut self, addr: u32, service: u16) {
        self.traps.insert(addr, service);
    }

    /// The stubs where the emulator trap is honoured.
    pub fn trap_sites(&self) -> &TrapSites {
        &self.traps
    }

    /// Waiting in `HLT`.
    pub fn halted(&self) -> bool {
        self.halted
    }

    /// Stopped by a triple fault.
    pub fn is_shutdown(&self) -> bool {
        self.shutdown
    }

    /// Whether a maskable interrupt would be recognised now (IF set and no STI/MOV SS
    /// shadow).
    pub fn interrupts_enabled(&self) -> bool {
        self.flags.iflag() && !self.shadow
    }

    /// Drives the INTR input. While it is high the CPU checks after every instruction
    /// whether interrupts have become enabled (STI, POPF, IRET) and then ends the run with
    /// [`Exit::Interrupt`]; while it is low nothing is checked per instruction.
    pub fn set_intr(&mut self, high: bool) {
        self.intr = high;
        self.attention = self.needs_attention();
    }

    /// Ticks of the current run completed before the executing instruction (which has
    /// already been charged to the budget).
    #[inline]
    pub(crate) fn ticks_into_run(&self) -> u64 {
        self.run_max.saturating_sub(self.budget).saturating_sub(1)
    }

    /// Whether steps must take the slow path (see the `attention` field).
    #[inline(always)]
    pub(crate) fn needs_attention(&self) -> bool {
        self.flags.tf() || self.shadow || self.intr || self.debug_attention() || self.watch_data
    }

    /// Bits the model forces to 1 in FLAGS.
    #[inline(always)]
    fn flags_fixed_ones(&self) -> u32 {
        match self.model {
            Model::I8086 => 0xF002,
            _ => 0x0002,
        }
    }

    /// Bits of FLAGS a real-mode `POPF`/`IRET` can change on this model.
    #[inline(always)]
    fn flags_writable(&self) -> u32 {
        match self.model {
            // CF PF AF ZF SF TF IF DF OF.
            Model::I8086 => 0x0FD5,
            // The 80286 holds bits 12-15 at 0 in real mode; in protected mode IOPL and NT
            // are real (80286 PRM 10.2).
            Model::I80286 if self.cr0 & 1 == 0 => 0x0FD5,
            Model::I80286 => 0x0FD5 | IOPL | NT,
            // ... plus IOPL and NT (80386 PRM 14.1; RF and VM are not loaded by POPF).
            Model::I80386 => 0x0FD5 | IOPL | NT,
        }
    }

    /// Writes FLAGS under the model's rules; `mask` limits which bits the instruction may
    /// change (16-bit `POPF` passes FFFFh).
    pub(crate) fn write_flags(&mut self, value: u32, mask: u32) {
        let writable = self.flags_writable() & mask;
        let old = self.flags.bits();
        let new = (old & !writable) | (value & writable);
        let new = (new & !(1 << 3 | 1 << 5 | 1 << 15)) | self.flags_fixed_ones();
        self.flags.set_bits(new);
        self.attention = self.needs_attention();
    }

    // ----- running ---------------------------------------------------------------------------

    /// Executes until `max_ticks` ticks are used, the CPU halts, shuts down, or an I/O access
    /// asks to yield. A halted CPU returns at once with no ticks used.
    pub fn run<B: Bus>(&mut self, bus: &mut B, max_ticks: u64) -> RunResult {
        if self.shutdown {
            return RunResult {
                ticks: 0,
                exit: Exit::Shutdown,
            };
        }
        if self.halted {
            return RunResult {
                ticks: 0,
                exit: Exit::Halted,
            };
        }
        if self.watching {
            self.watch_hit = None;
            self.probe_hit = None;
        }
        self.budget = max_ticks;
        self.run_max = max_ticks;
        self.stopped = false;
        self.exit = Exit::Budget;
        // Anything may have changed since the last run (A20, page map, registers).
        self.win_len = 0;
        self.attention = self.needs_attention();
        while self.budget != 0 && !self.stopped {
            if self.attention {
                if self.intr && self.interrupts_enabled() {
                    self.stop(Exit::Interrupt);
                    break;
                }
                self.budget -= 1;
                self.slow_step(bus);
            } else if self.blocks.enabled() {
                if self.watching {
                    self.run_blocks::<B, true>(bus);
                } else {
                    self.run_blocks::<B, false>(bus);
                }
            } else {
                if self.watching && self.watch_before() {
                    break;
                }
                self.budget -= 1;
                self.interpret_one(bus);
            }
        }
        RunResult {
            ticks: max_ticks - self.budget,
            exit: self.exit,
        }
    }

    /// One instruction through the full interpreter (decoding from memory), with fault
    /// delivery. Kept out of line so the block loop in [`Cpu::run`] stays small.
    #[inline(never)]
    fn interpret_one<B: Bus>(&mut self, bus: &mut B) {
        if let Err(fault) = self.execute(bus) {
            self.deliver_fault(bus, fault);
        }
    }

    /// Executes exactly one tick (one instruction, or one iteration of a REP string
    /// instruction).
    pub fn step_tick<B: Bus>(&mut self, bus: &mut B) -> RunResult {
        self.run(bus, 1)
    }

    /// Turns the decoded-block cache on (the default) or off. Off, every instruction is
    /// decoded from memory as it executes; the machine behaves identically either way, only
    /// slower (the switch exists for differential testing and debugging).
    pub fn set_block_cache(&mut self, on: bool) {
        self.blocks.set_enabled(on);
    }

    /// Turns the translation of hot blocks to host code on or off (on by default on x86-64
    /// hosts; see `block/jit/mod.rs`). Like the block cache, it never changes what an
    /// instruction does: the differential tests run machines both ways.
    pub fn set_jit(&mut self, on: bool) {
        self.blocks.set_jit(on);
    }

    /// Whether hot blocks are translated to host code.
    pub fn jit(&self) -> bool {
        self.blocks.jit_enabled()
    }

    /// Forgets all decoded blocks. Needed only when this CPU is moved to a different
    /// [`crate::mem::Memory`]: within one memory, writes to code are tracked.
    pub fn flush_block_cache(&mut self) {
        self.blocks.flush();
    }

    /// Ends the current run after this instruction; the ticks left stay unconsumed.
    #[inline(always)]
    pub(crate) fn stop(&mut self, exit: Exit) {
        self.exit = exit;
        self.stopped = true;
    }

    /// Whether the last tick left a REP string instruction unfinished (its next iteration
    /// starts the next tick).
    pub fn in_rep(&self) -> bool {
        self.d.rep_more
    }

    /// One instruction (or REP iteration) on the slow path: when TF is set, an interrupt
    /// shadow is pending, the debug registers need checks (see `debug.rs`), INTR is high or
    /// in protected mode. The single-step trap follows an instruction that began with TF
    /// set, unless the instruction was in a shadow or delivered an exception or interrupt
    /// itself; it is reported in one #DB with the instruction's data-breakpoint and
    /// task-switch traps (80386 PRM 12.3).
    #[cold]
    #[inline(never)]
    fn slow_step<B: Bus>(&mut self, bus: &mut B) {
        if self.watching {
            if self.watch_before() {
                self.budget += 1;
                return;
            }
            self.watch_pc = self.pc_linear();
        }
        if self.is386() && self.debug_before(bus) {
            self.attention = self.needs_attention();
            return;
        }
        let trap = self.flags.tf() && !self.shadow;
        self.shadow = false;
        self.delivered = false;
        if let Err(fault) = self.execute(bus) {
            self.deliver_fault(bus, fault);
        }
        if self.watch_data && self.watch_hit.is_some() {
            self.stop(Exit::Watch);
        }
        let mut bits = if self.is386() { self.debug_after() } else { 0 };
        if trap {
            bits |= debug::DR6_BS;
        }
        if bits != 0 {
            if self.delivered || self.shutdown {
                // A task switch through a task gate stays pending for the new task's
                // first instruction; the other traps lapse with the instruction.
                if !self.shutdown {
                    self.dr[debug::PENDING] |= bits & debug::DR6_BT;
                }
            } else {
                self.raise_debug(bus, bits);
            }
        }
        self.attention = self.needs_attention();
    }

    /// Delivers a hardware interrupt through `vector` (the machine calls this between runs,
    /// when [`Cpu::interrupts_enabled`] holds or for an NMI). Wakes a halted CPU.
    pub fn interrupt<B: Bus>(&mut self, bus: &mut B, vector: u8) {
        if self.shutdown {
            return;
        }
        self.halted = false;
        let ret = self.eip;
        if let Err(f) = self.deliver(bus, vector, ret, idt::Source::External) {
            self.escalate(bus, None, f);
        }
    }
}
