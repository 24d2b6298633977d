//! The shell: COMMAND.COM's role in a run. It runs CONFIG.SYS's `INSTALL=` programs (as
//! MS-DOS's SYSINIT does before the shell; one that cannot be started gets "Bad or
//! missing" and the boot goes on), then the scenario's programs one after another, starts the VM manager when they have all run (the TSRs are loaded before
//! Windows starts, DESIGN.md section 7), and finishes the run when there is nothing left
//! to do, with a last observation of extended memory (DESIGN.md section 4).
//!
//! Sources: RBIL INT 21/4B (the `EXEC` parameter block: environment segment, command tail,
//! two FCBs), table #01378 (the command tail at PSP:80h: length byte, text, CR) and
//! #01379 (the environment block: strings, double NUL, word count, program path);
//! `../shared/reference/dos-memory.md` section 4 (Windows enhanced mode: the start-up
//! broadcast when the VMM starts, the exit broadcasts when it ends).
//!
//! # The loop
//!
//! The shell is a process like any other: [`start`] creates it as DOS's root process (its
//! own parent, block "COMMAND", the master environment with `COMSPEC=C:\COMMAND.COM`,
//! `PATH=C:\` and `PROMPT=$P$G`) and points the processor at its loop, a small guest
//! program in DOS's code segment (`dos/mod.rs` assembles it; see [`super::stubs`]):
//!
//! ```text
//! shell:  trap SHELL_NEXT    ; the next program's name, tail and parameter block
//!         int 21h            ; AX=4B00h: EXEC
//!         trap SHELL_DONE    ; record how it ended (AH=4Dh's code and type)
//!         jmp shell
//! ```
//!
//! so the programs are `EXEC`ed through Int 21h as COMMAND.COM would, and TSRs hooking
//! Int 21h see the calls. Its name and tail buffers, parameter block and stack are in its
//! own block; DOS does not preserve registers across `EXEC`, so `SHELL_DONE` restores the
//! shell's segment registers and stack. A failed `EXEC` ends the run
//! ([`FirmwareStop::ExecFailed`]).
//!
//! # When no program is left
//!
//! - Under the VMM, while the VMs run, the shell that found no program left is a VM's: a
//!   DOS VM's program has ended (and with it the VM), or the system VM's own program has
//!   ([`vmm::VmmConfig::system`]). The VMM ends that VM and runs the next; after the last
//!   one the system VM begins the VMM's exit (`vmm/switch.rs`, `vmm/startup.rs`).
//! - With a VMM configured that has not started yet, the scenario's plain programs (TSRs)
//!   have all run: the VMM starts instead of the run finishing. After its exit it sends
//!   the processor back here ([`resume`]), and the shell finds no program left again.
//! - Otherwise the run is over: every allocated XMS block is hashed (an
//!   `Observation::XmsBlocks`, so a golden trace pins the data a run left in extended
//!   memory) and the machine stops with [`FirmwareStop::Finished`] and the last program's
//!   exit code.
//!
//! # Layering
//!
//! The shell sits above DOS and the VMM and uses both; neither uses the shell. The VMM
//! starts a shell in every VM, puts the system VM back on the plain shell's stack and
//! returns here after its exit through the [`vmm::ShellOps`] the shell hands it
//! ([`FOR_VMM`]). The shell's state is DOS's per-VM state (`DosInstance`: the programs,
//! their terminations, the shell's PSP), so under the VMM each VM has its own shell.

use super::dos::process;
use super::stubs::{DOS_CODE_SEG, svc};
use super::{Ctx, Firmware, FirmwareStop, Flow, vmm};
use crate::cpu::{Reg16, SegReg};
use crate::observe::{Observation, XmsBlock};

/// Master environment of the shell.
const MASTER_ENV: &[&str] = &["COMSPEC=C:\\COMMAND.COM", "PATH=C:\\", "PROMPT=$P$G"];
/// The shell's program path, after its environment.
const COMSPEC: &str = "C:\\COMMAND.COM";

/// Paragraphs of the shell's block: PSP, name and tail buffers, parameter block, stack.
const SHELL_PARAS: u16 = 0x40;
const SHELL_NAME: u16 = 0x0100;
const SHELL_TAIL: u16 = 0x0180;
const SHELL_PARAMS: u16 = 0x0200;
const SHELL_STACK_TOP: u16 = 0x03FE;

/// What the VMM calls of the shell (see the module documentation).
pub(crate) const FOR_VMM: vmm::ShellOps = vmm::ShellOps {
    start,
    registers,
    resume,
};

/// Creates the shell's process (the root of the PSP tree) and starts its loop. Without the
/// memory for its block nothing changes (the shell's PSP stays 0).
pub(crate) fn start(fw: &mut Firmware, ctx: &mut Ctx) {
    let mut env = Vec::new();
    for s in MASTER_ENV {
        env.extend_from_slice(s.as_bytes());
        env.push(0);
    }
    env.push(0);
    let Some(shell) = process::create_root_process(fw, ctx, SHELL_PARAS, b"COMMAND", &env, COMSPEC)
    else {
        return;
    };
    fw.dos.instance.shell_psp = shell;
    registers(fw, ctx);
    ctx.jump(DOS_CODE_SEG, fw.dos.stubs.shell);
    let f = ctx.cpu.flags();
    ctx.cpu.set_flags(f | 0x200);
}

/// Runs one of the shell loop's traps.
pub(crate) fn service(fw: &mut Firmware, service: u16, ctx: &mut Ctx) -> Flow {
    match service {
        svc::SHELL_NEXT => next(fw, ctx),
        svc::SHELL_DONE => done(fw, ctx),
        _ => Flow::Continue,
    }
}

/// `SHELL_NEXT`: sets up AX=4B00h for the next program, or decides what happens when all
/// have run (see the module documentation).
fn next(fw: &mut Firmware, ctx: &mut Ctx) -> Flow {
    let shell = fw.dos.instance.shell_psp;
    let index = fw.dos.instance.terminations.len();
    // CONFIG.SYS's INSTALL= programs first (only the first shell: they all run before
    // any VM exists).
    let install = fw.dos.installs.get(fw.dos.installs_started).cloned();
    let p = match install {
        Some(p) => {
            fw.dos.installs_started += 1;
            fw.dos.instance.running_install = true;
            p
        }
        None => match fw.dos.instance.programs.get(index).cloned() {
            Some(p) => p,
            None => return no_program_left(fw, ctx),
        },
    };
    let mut name = p.name.clone().into_bytes();
    name.truncate(0x7F);
    name.push(0);
    ctx.write_bytes(shell, SHELL_NAME, &name);
    let mut tail = Vec::new();
    if !p.args.is_empty() {
        tail.push(b' ');
        tail.extend(p.args.bytes().take(125));
    }
    ctx.wr8(shell, SHELL_TAIL, tail.len() as u8);
    ctx.write_bytes(shell, SHELL_TAIL + 1, &tail);
    ctx.wr8(shell, SHELL_TAIL + 1 + tail.len() as u16, 0x0D);
    ctx.wr16(shell, SHELL_PARAMS, 0);
    ctx.wr16(shell, SHELL_PARAMS + 2, SHELL_TAIL);
    ctx.wr16(shell, SHELL_PARAMS + 4, shell);
    ctx.wr16(shell, SHELL_PARAMS + 6, 0x5C);
    ctx.wr16(shell, SHELL_PARAMS + 8, shell);
    ctx.wr16(shell, SHELL_PARAMS + 10, 0x6C);
    ctx.wr16(shell, SHELL_PARAMS + 12, shell);
    ctx.set_ax(0x4B00);
    ctx.set_ds(shell);
    ctx.set_dx(SHELL_NAME);
    ctx.set_es(shell);
    ctx.set_bx(SHELL_PARAMS);
    Flow::Continue
}

/// The shell's list is done: the VMM ends the VM or starts, or the run finishes.
fn no_program_left(fw: &mut Firmware, ctx: &mut Ctx) -> Flow {
    let exit_code = fw.dos.instance.terminations.last().map_or(0, |t| t.code);
    if let Some(v) = fw.vmm.as_deref() {
        if v.running() && (v.current != 0 || v.host_shell.is_some()) {
            // A DOS VM's program has ended, and so has the VM; or the system VM's
            // program has ended.
            if vmm::switch::end_current_vm(fw, ctx, exit_code, &FOR_VMM) {
                vmm::startup::begin_exit(ctx);
            }
            return Flow::Continue;
        }
        if v.phase == vmm::Phase::Waiting {
            // The plain programs have run: start the VMM instead of finishing.
            vmm::startup::begin(fw, ctx);
            return Flow::Continue;
        }
    }
    observe_xms_blocks(fw, ctx);
    Flow::Stop(FirmwareStop::Finished { exit_code })
}

/// The end of the run: every allocated XMS block with a hash of its contents.
fn observe_xms_blocks(fw: &mut Firmware, ctx: &mut Ctx) {
    let Some(xms) = fw.xms.as_ref() else {
        return;
    };
    // Extended memory is read with the address line open, whatever the gate says.
    let a20 = ctx.bus.mem.a20();
    ctx.bus.mem.set_a20(true);
    let blocks = xms
        .blocks()
        .into_iter()
        .map(|(handle, base_kb, size_kb, locks)| {
            let bytes = ctx
                .bus
                .mem
                .read_bytes(base_kb * 1024, size_kb as usize * 1024);
            XmsBlock {
                handle,
                size_kb,
                locks,
                hash: xxhash_rust::xxh3::xxh3_64(&bytes),
            }
        })
        .collect();
    ctx.bus.mem.set_a20(a20);
    fw.observe(ctx, Observation::XmsBlocks { blocks });
}

/// The shell's own segment registers and stack.
pub(crate) fn registers(fw: &Firmware, ctx: &mut Ctx) {
    let shell = fw.dos.instance.shell_psp;
    ctx.set_ds(shell);
    ctx.set_es(shell);
    ctx.cpu.set_sreg(SegReg::SS, shell);
    ctx.cpu.set_reg16(Reg16::SP, SHELL_STACK_TOP);
}

/// Back to the shell's loop (after the VMM has exited): it finds no program left and
/// finishes.
pub(crate) fn resume(fw: &mut Firmware, ctx: &mut Ctx) {
    registers(fw, ctx);
    ctx.jump(DOS_CODE_SEG, fw.dos.stubs.shell);
}

/// `SHELL_DONE`: the `EXEC` returned; records how the program ended.
fn done(fw: &mut Firmware, ctx: &mut Ctx) -> Flow {
    let index = fw.dos.instance.terminations.len();
    // DOS does not preserve registers across EXEC: restore the shell's own.
    registers(fw, ctx);
    if std::mem::take(&mut fw.dos.instance.running_install) {
        // An INSTALL= program: MS-DOS goes on when one cannot be started (it has said
        // "Bad or missing"), and its exit code is nobody's.
        if ctx.cpu.flags() & 1 != 0 {
            let i = fw.dos.installs_started.saturating_sub(1);
            let name = fw.dos.installs.get(i).map(|p| p.name.clone());
            let text = format!("\r\nBad or missing {}\r\n", name.unwrap_or_default());
            super::dos::files::write_console(fw, ctx, text.as_bytes());
        }
        return Flow::Continue;
    }
    if ctx.cpu.flags() & 1 != 0 {
        return Flow::Stop(FirmwareStop::ExecFailed {
            index,
            error: ctx.ax(),
        });
    }
    let t = super::dos::sda::return_code(ctx);
    fw.dos.instance.terminations.push(t);
    Flow::Continue
}
