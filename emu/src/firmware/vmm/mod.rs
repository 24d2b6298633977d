//! The virtual machine manager: Windows 3.x enhanced mode's VMM as DOS code sees it —
//! several virtual machines time-sliced on one processor, start-up and exit broadcasts,
//! critical sections, InDOS (DESIGN.md section 7; facts from `../shared/reference/
//! dos-memory.md` section 4, which cites the Windows 3.1 DDK, RBIL INT 2F/16xx and KB
//! Q74516, Q74809, Q78151).
//!
//! DESIGN.md section 1 puts the VMM in `emu/src/vmm/`; it lives under `firmware/` because it
//! is firmware in the same sense as DOS and the drivers: reached through trap stubs, part of
//! the [`super::Firmware`] state, and swapping DOS's and the EMM's per-VM state at every
//! switch.
//!
//! The VMM uses DOS (the per-VM `DosInstance` it swaps, the MCB chain it takes its memory
//! from) but not the shell above both (COMMAND.COM's role, `../shell.rs`): where the VMM
//! starts a VM's shell, puts the system VM back on the plain shell's stack or returns to
//! the shell after its exit, it calls the [`ShellOps`] the shell hands in. The shell in
//! turn tells the VMM when the plain programs have run (`startup::begin`) and when a VM's
//! program has ended (`switch::end_current_vm`); Int 2Fh AH=16h and Int 28h reach the VMM
//! from the firmware's `multiplex.rs`.
//!
//! # Life cycle
//!
//! A scenario's plain programs (TSRs) run first, in the plain machine. When the shell has
//! run them all it starts the VMM instead of finishing (`startup.rs`): the VMM sends the
//! startup broadcast Int 2Fh AX=1605h through the guest's Int 2Fh chain with the registers
//! Windows 3.1 sets, walks the returned `Win386_Startup_Info_Struc` chain (each entry is an
//! `Observation::VmmStartupEntry`, and each entry naming a VxD file is followed by an
//! `Observation::VxdChecked`: the file on drive C: checked as Windows' loader would, an MZ
//! program leading to an LE module, `vxd.rs`, KB Q74516; a handler returning CX ≠ 0
//! aborts start-up and the exit broadcast 1606h follows at once), sends 1608h (init complete) and the 3.1 TSR
//! identification call 160Bh (each structure observed), then creates the VMs: the system
//! VM (id 1, the VMM's idle loop — vexed runs no Windows kernel) and one DOS VM per
//! configured program (ids 2, 3, ...), each with its own copy of COMMAND's role (a shell
//! that `EXEC`s the program and ends the VM when it returns).
//!
//! A scenario may give the system VM a program of its own ([`VmmConfig::system`]), the
//! way Windows programs run in Windows' system VM: a second shell in the system VM's
//! memory `EXEC`s it and the system VM runs first. DOS's state of the shell that ran the
//! plain programs is kept aside meanwhile ([`Vmm`]'s `host_shell`); when the program
//! ends, its shell's memory returns to DOS, the system VM goes back to the idle loop on
//! the plain shell's stack (a `VmExited` for VM 1 reports the exit code) and is not
//! scheduled again until the exit. When every program has ended (the DOS VMs' and the
//! system VM's), the system VM sends 1609h (begin exit) and, back in real mode, 1606h;
//! then the shell finishes as without a VMM.
//!
//! # Memory
//!
//! The **load point** is the first 4 KiB page boundary above everything DOS had allocated
//! when the VMM started (the VMM takes the paragraphs up to it, and any free holes below
//! it, as its own real-mode block "WIN386", so no VM can allocate shared memory). Below it,
//! memory is shared by all VMs (DOS, drivers, TSRs: one copy, "global" in Windows' terms);
//! the pages from the load point to 640 KiB are **instanced**: every DOS VM gets its own
//! copy, taken when the VMM started, and a switch remaps those physical pages (as the
//! VMM's page tables do). At exit the system VM's memory is the machine's again and the
//! VMM's blocks return to DOS. The byte ranges Windows instances below the load point are
//! copied in and out at every switch: the interrupt vector table and the BIOS data area
//! (each VM hooks its own vectors and has its own keyboard buffer, cursor and tick count),
//! the DOS swappable data (InDOS and the critical-error flag), text video memory, and
//! every range a TSR named in its startup structure's instance list. DOS's own state in
//! Rust (current PSP, DTA, the shell) is swapped with them (`DosInstance`).
//! XMS memory is global; the Windows 3.x rule that XMS lock (0Ch) fails for blocks
//! allocated after the VMM started is modelled (error ADh). Each DOS VM has its own
//! expanded memory handles and page-frame mapping (Windows' V86MMGR), drawn from the one
//! EMS pool: two VMs can map "the same" handle and page and see different bytes (KB
//! Q30590); handles open when the VMM started are inherited by every VM.
//!
//! # Scheduling (`sched.rs`)
//!
//! Round robin, with time slices counted in timer interrupts (IRQ0 edges of the 8254, or
//! host-clock ticks, or IRQ0 inputs): a VM's slice is `slice × priority / 100` interrupts
//! (at least one), with the foreground priority for the VM with the keyboard focus and
//! the background priority for the others (Windows' PIF defaults 100 and 50). A switch
//! happens at an instruction boundary, before the timer interrupt that ended the slice is
//! delivered, so the next VM receives it. A VM that halts with interrupts enabled, that
//! reaches the bottom of Int 28h (DOS idle) or that calls 1680h (release time slice) gives
//! the processor to the next VM that is not halted; a VM halted at a timer interrupt
//! passes the interrupt on. A keystroke while another VM runs switches to the VM with the
//! focus. The rules that hold a switch back (dos-memory.md section 4.5): never inside a
//! critical section (1681h/1682h, nesting counted), never while InDOS ≠ 0 except at the
//! bottom of Int 28h, and never while the PIC has a hardware interrupt in service (the VM
//! handling a reflected IRQ runs at Time_Critical_Boost, KB Q78151). Held-back slice ends
//! and focus switches wait for the rule to clear; idle and yield requests that cannot be
//! honoured at once are dropped. Every switch is an `Observation::VmSwitch` with its
//! reason. [`VmmRules`] can switch each rule off, to show what it protects.
//!
//! # Int 2Fh AH=16h at the bottom of the chain
//!
//! While the VMs run (the calls the DPMI host does not answer, passed on by the firmware's
//! `multiplex.rs`): 1600h answers enhanced mode 3.10 (AL=03h, AH=0Ah); 160Ah returns
//! AX=0, BX=030Ah, CX=3; 1680h returns AL=0 and yields; 1681h/1682h begin and end a
//! critical section; 1683h returns the VM id in BX; 1684h returns ES:DI = 0:0 (no VxD
//! offers a V86 API here). Not modelled: 1685h (switch VMs and call back), DPMI
//! (1686h/1687h), VxD call-outs (1607h) and the V86 enable/disable callback an EMM may
//! return in DS:SI from 1605h (recorded in the registers of the start-up call only).

pub(crate) mod sched;
pub(crate) mod startup;
pub(crate) mod switch;
#[cfg(test)]
mod tests;
pub mod vxd;

use serde::{Deserialize, Serialize};

use super::dos::DosInstance;
use super::ems::EmsInstance;
use super::{Ctx, Firmware, Program};
use crate::cpu::CpuContext;
use crate::mem::StorePage;
use crate::observe::SwitchReason;

/// The VM manager's settings (the `[vmm]` and `[[vm]]` parts of a scenario).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmmConfig {
    /// Timer interrupts per time slice at priority 100.
    pub slice: u32,
    /// The DOS VMs, in the order they are created (VM ids 2, 3, ...).
    pub vms: Vec<VmSpec>,
    /// Which DOS VM (0-based index into `vms`) has the keyboard focus.
    pub focus: usize,
    pub rules: VmmRules,
    /// A program the system VM (id 1) runs while the DOS VMs run, as Windows programs run
    /// in Windows' system VM (`None`: the system VM only idles).
    pub system: Option<Program>,
}

impl Default for VmmConfig {
    fn default() -> VmmConfig {
        VmmConfig {
            slice: 2,
            vms: Vec::new(),
            focus: 0,
            rules: VmmRules::default(),
            system: None,
        }
    }
}

/// One DOS VM: the program it runs and its scheduling priorities (1-10000, PIF style).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmSpec {
    pub program: Program,
    pub foreground_priority: u16,
    pub background_priority: u16,
}

impl VmSpec {
    /// A VM running `program` with Windows' default priorities (100 foreground, 50
    /// background).
    pub fn new(program: Program) -> VmSpec {
        VmSpec {
            program,
            foreground_priority: 100,
            background_priority: 50,
        }
    }
}

/// The modelled rules, each of which can be switched off (all on by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmmRules {
    /// No switch away from a VM inside a critical section (1681h/1682h).
    pub critical_sections: bool,
    /// No switch away from a VM while its InDOS is set, except at Int 28h.
    pub indos: bool,
    /// No switch while a hardware interrupt is in service at the PIC.
    pub interrupts_in_service: bool,
    /// XMS lock (0Ch) fails for blocks allocated after the VMM started.
    pub xms_lock_after_start: bool,
}

impl Default for VmmRules {
    fn default() -> VmmRules {
        VmmRules {
            critical_sections: true,
            indos: true,
            interrupts_in_service: true,
            xms_lock_after_start: true,
        }
    }
}

/// Where the VMM is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Phase {
    /// Configured; the plain programs are still running.
    Waiting,
    /// Broadcasting 1605h/1608h/160Bh.
    Starting,
    /// The VMs run.
    Running,
    /// Broadcasting 1609h/1606h (or 1606h after an aborted start).
    Exiting,
    /// Gone; the shell finishes.
    Done,
}

/// A virtual machine.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Vm {
    pub id: u16,
    /// The program's DOS name (empty for the system VM).
    pub program: String,
    /// The processor state while the VM is not running.
    pub cpu: Option<CpuContext>,
    /// First store page of the VM's instanced conventional memory (`None`: the machine's
    /// own RAM pages, the system VM's).
    pub pages: Option<StorePage>,
    /// The instanced byte ranges below the load point while the VM is not running.
    pub saved: Vec<u8>,
    /// DOS's per-VM state while the VM is not running.
    pub dos: DosInstance,
    /// The VM's expanded memory handles and mapping while it is not running.
    pub ems: Option<EmsInstance>,
    /// The VM's DPMI client while the VM is not running (every VM has a DPMI host).
    pub dpmi: Option<Box<crate::firmware::dpmi::Client>>,
    /// Time slice in timer interrupts.
    pub slice: u32,
    /// Critical-section nesting while the VM is not running (always 0: no switch happens
    /// inside one unless the rule is off).
    pub critical: u16,
    /// The exit code of its program, once it has ended.
    pub ended: Option<u8>,
}

/// What the VMM needs of the shell (COMMAND.COM's role, `firmware/shell.rs`), which sits
/// above the VMM and hands these in: the VMM does not call the shell by name.
#[derive(Clone, Copy)]
pub(crate) struct ShellOps {
    /// Creates a shell process in the running DOS instance, ready to `EXEC` the instance's
    /// programs, and points the processor at its loop; changes nothing when there is no
    /// memory for it (a fresh instance's shell PSP stays 0).
    pub start: fn(&mut Firmware, &mut Ctx),
    /// Loads the shell's segment registers and stack.
    pub registers: fn(&Firmware, &mut Ctx),
    /// Back to the shell's loop after the VMM's exit: it finds no program left and
    /// finishes.
    pub resume: fn(&mut Firmware, &mut Ctx),
}

/// A switch the scheduler wants to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Request {
    pub reason: SwitchReason,
    /// A specific VM (by index), or the next one in round-robin order.
    pub to: Option<usize>,
    /// Only a VM that is not halted qualifies (the running one gives its time away).
    pub runnable_only: bool,
}

impl Request {
    /// The next VM in round-robin order, for `reason`; idle, yield and DOS-idle requests
    /// only go to a VM that is not halted.
    pub(crate) fn next(reason: SwitchReason) -> Request {
        Request {
            reason,
            to: None,
            runnable_only: matches!(
                reason,
                SwitchReason::Idle | SwitchReason::Yield | SwitchReason::DosIdle
            ),
        }
    }
}

/// The VM manager's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Vmm {
    pub(crate) config: VmmConfig,
    pub(crate) phase: Phase,
    /// First paragraph of instanced memory (a 4 KiB boundary).
    pub(crate) load_seg: u16,
    /// Byte ranges below the load point instanced per VM: (linear address, length).
    pub(crate) instance: Vec<(u32, u32)>,
    pub(crate) vms: Vec<Vm>,
    /// Index in `vms` of the running VM.
    pub(crate) current: usize,
    /// Timer interrupts left in the running VM's slice.
    pub(crate) slice_left: u32,
    /// Critical-section nesting of the running VM.
    pub(crate) critical: u16,
    pub(crate) pending: Option<Request>,
    /// The EMM state when the VMM started (what each VM inherits).
    pub(crate) ems_at_start: Option<EmsInstance>,
    /// DOS's state of the shell that ran the plain programs while the system VM runs its
    /// own program in a second shell (`Some` from the VMM's start until that program ends).
    pub(crate) host_shell: Option<DosInstance>,
}

impl Vmm {
    pub fn new(config: VmmConfig) -> Vmm {
        Vmm {
            config,
            phase: Phase::Waiting,
            load_seg: 0,
            instance: Vec::new(),
            vms: Vec::new(),
            current: 0,
            slice_left: 0,
            critical: 0,
            pending: None,
            ems_at_start: None,
            host_shell: None,
        }
    }

    pub fn config(&self) -> &VmmConfig {
        &self.config
    }

    /// The VMs run (between start-up and exit).
    pub fn running(&self) -> bool {
        self.phase == Phase::Running
    }

    /// The running VM's id (1 = the system VM).
    pub fn current_vm(&self) -> u16 {
        self.vms.get(self.current).map_or(1, |v| v.id)
    }

    /// The first paragraph of per-VM memory, once the VMM has started.
    pub fn load_segment(&self) -> Option<u16> {
        (self.load_seg != 0).then_some(self.load_seg)
    }

    /// The critical-section nesting of the running VM.
    pub fn critical_depth(&self) -> u16 {
        self.critical
    }

    /// Which VM's private copy of conventional memory backing-store page `store_page` is,
    /// and the physical page (4 KiB) it stands for: each DOS VM has its own copy of the
    /// pages above the load point; the system VM's are the RAM pages themselves.
    pub fn locate(&self, store_page: u32) -> Option<(u16, u32)> {
        if self.load_seg == 0 {
            return None;
        }
        let (first, count) = switch::instanced_pages(self);
        self.vms.iter().find_map(|vm| {
            let start = vm.pages.map_or(first, StorePage::index);
            let k = store_page.checked_sub(start).filter(|&k| k < count)?;
            Some((vm.id, first + k))
        })
    }

    /// How each DOS VM's program ended so far: (VM id, exit code).
    pub fn vm_exits(&self) -> Vec<(u16, u8)> {
        self.vms
            .iter()
            .filter_map(|v| v.ended.map(|c| (v.id, c)))
            .collect()
    }
}

/// Int 2Fh AH=16h at the bottom of the chain while the VMs run (see the module
/// documentation for what each function returns).
pub(crate) fn int2f(vmm: &mut Vmm, ctx: &mut Ctx) {
    match ctx.al() {
        0x00 => ctx.set_ax(0x0A03),
        0x0A => {
            ctx.set_ax(0);
            ctx.set_bx(startup::WINDOWS_VERSION);
            ctx.set_cx(3);
        }
        0x80 => {
            ctx.set_al(0);
            sched::request(vmm, Request::next(SwitchReason::Yield));
        }
        0x81 => vmm.critical = vmm.critical.saturating_add(1),
        0x82 => vmm.critical = vmm.critical.saturating_sub(1),
        0x83 => {
            let id = vmm.current_vm();
            ctx.set_bx(id);
        }
        0x84 => {
            ctx.set_es(0);
            ctx.set_di(0);
        }
        _ => {}
    }
}
