//! Start-up and exit of the VMM as Windows 3.1 does them in real mode: the broadcasts go
//! through the guest's Int 2Fh chain from a small stub at [`VMM_SEG`], with a trap after
//! each so the Rust side can read what the handlers returned (dos-memory.md sections 4.1,
//! 4.2 and 4.4; RBIL INT 2F/1605, #02631, #02632, #02638).
//!
//! Each structure of the 1605h chain is an `Observation::VmmStartupEntry`; when its
//! `SIS_Virt_Dev_File_Ptr` is not 0:0 the VMM opens that file on drive C: and checks it as
//! Windows' VxD loader would (`vxd.rs`, KB Q74516: an MZ program whose header at 3Ch leads
//! to an LE module), an `Observation::VxdChecked` right after the structure's.
//!
//! ```text
//! start:  trap START         ; AX=1605h ES:BX=0:0 DS:SI=0:0 CX=0 DX=0 DI=030Ah
//!         int 2Fh
//!         trap STARTUP_DONE  ; walk ES:BX; CX≠0: AX=1606h DX=0, go to `abort`; else AX=1608h
//!         int 2Fh
//!         trap INIT_DONE     ; AX=160Bh ES:DI=0:0
//!         int 2Fh
//!         trap TSRS_DONE     ; walk ES:DI; create the VMs; the first DOS VM runs
//! idle:   sti                ; the system VM
//!         hlt
//!         jmp idle
//! exit:   trap EXIT_BEGIN    ; AX=1609h
//!         int 2Fh
//!         trap EXIT_REAL     ; AX=1606h DX=0
//! abort:  int 2Fh
//!         trap EXITED        ; back to the shell, which finishes
//! ```
//!
//! Chains are walked defensively: at most [`MAX_CHAIN`] structures, a structure seen twice
//! ends the walk, instance lists stop after [`MAX_ITEMS`] items, and strings after 128
//! bytes.

use super::super::stubs::{Asm, VMM_SEG, svc};
use super::super::{Ctx, Firmware, Flow, linear};
use super::switch::{self, CreateError};
use super::vxd::{self, VxdCheck};
use super::{Phase, ShellOps};
use crate::observe::{Observation, StartupEntry, SwitchReason, TsrIdentity};

/// The Windows version the broadcasts announce in DI (3.10).
pub const WINDOWS_VERSION: u16 = 0x030A;
/// The most structures read from one chain.
pub const MAX_CHAIN: usize = 64;
/// The most instance items read from one structure.
pub const MAX_ITEMS: usize = 64;

/// Offsets of the stub's entry points.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stubs {
    pub start: u16,
    pub idle: u16,
    pub exit: u16,
    pub abort: u16,
}

/// The stub and its entry points.
pub(crate) fn assemble() -> (Asm, Stubs) {
    let mut a = Asm::new(VMM_SEG, 0);
    let start = a.here();
    a.trap(svc::VMM_START).int(0x2F);
    a.trap(svc::VMM_STARTUP_DONE).int(0x2F);
    a.trap(svc::VMM_INIT_DONE).int(0x2F);
    a.trap(svc::VMM_TSRS_DONE);
    let idle = a.here();
    a.sti().hlt().jmp_short(idle);
    let exit = a.here();
    a.trap(svc::VMM_EXIT_BEGIN).int(0x2F);
    a.trap(svc::VMM_EXIT_REAL);
    let abort = a.here();
    a.int(0x2F).trap(svc::VMM_EXITED);
    debug_assert!(a.bytes.len() <= 0xC0);
    (
        a,
        Stubs {
            start,
            idle,
            exit,
            abort,
        },
    )
}

/// Places the stub (POST, when a VMM is configured).
pub(crate) fn install(ctx: &mut Ctx) {
    let (a, _) = assemble();
    ctx.place(&a);
}

fn stubs() -> Stubs {
    assemble().1
}

/// The offset of the system VM's idle loop in the stub.
pub(crate) fn idle_entry() -> u16 {
    stubs().idle
}

/// The shell has run the plain programs: start the VMM instead of finishing.
pub(crate) fn begin(fw: &mut Firmware, ctx: &mut Ctx) {
    if let Some(v) = fw.vmm.as_deref_mut() {
        v.phase = Phase::Starting;
    }
    ctx.jump(VMM_SEG, stubs().start);
}

/// Reads an ASCIZ string at a far pointer as text (lossy), or `None` for 0:0.
fn far_string(ctx: &Ctx, ptr: u32) -> Option<String> {
    if ptr == 0 {
        return None;
    }
    let bytes = ctx.read_asciz((ptr >> 16) as u16, ptr as u16, 128);
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Follows a chain of structures linked through a far pointer at `next_off`, starting at
/// `seg:off`; returns their addresses.
fn chain(ctx: &Ctx, seg: u16, off: u16, next_off: u16) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    let (mut s, mut o) = (seg, off);
    while (s, o) != (0, 0) && out.len() < MAX_CHAIN && !out.contains(&(s, o)) {
        out.push((s, o));
        let next = ctx.rd32(s, o.wrapping_add(next_off));
        (s, o) = ((next >> 16) as u16, next as u16);
    }
    out
}

/// One Win386_Startup_Info_Struc.
fn startup_entry(ctx: &Ctx, seg: u16, off: u16) -> StartupEntry {
    let at = |k: u16| off.wrapping_add(k);
    let version = ctx.rd16(seg, off);
    let vxd = ctx.rd32(seg, at(0x06));
    let items = ctx.rd32(seg, at(0x0E));
    let mut instance = Vec::new();
    if items != 0 {
        let (is, mut io) = ((items >> 16) as u16, items as u16);
        while instance.len() < MAX_ITEMS {
            let ptr = ctx.rd32(is, io);
            if ptr == 0 {
                break;
            }
            let size = ctx.rd16(is, io.wrapping_add(4));
            instance.push(((ptr >> 16) as u16, ptr as u16, size));
            io = io.wrapping_add(6);
        }
    }
    StartupEntry {
        seg,
        off,
        version,
        vxd_file: far_string(ctx, vxd),
        reference_data: ctx.rd32(seg, at(0x0A)),
        instance,
    }
}

/// Every Win386_Startup_Info_Struc of the chain starting at `seg:off`.
pub(crate) fn read_chain(ctx: &Ctx, seg: u16, off: u16) -> Vec<StartupEntry> {
    chain(ctx, seg, off, 0x02)
        .into_iter()
        .map(|(s, o)| startup_entry(ctx, s, o))
        .collect()
}

/// One TSR identification structure (1Ch bytes).
fn tsr_identity(ctx: &Ctx, seg: u16, off: u16) -> TsrIdentity {
    let at = |k: u16| off.wrapping_add(k);
    let id_block = ctx.rd32(seg, at(0x14));
    let name = (id_block != 0).then(|| {
        let (s, o) = ((id_block >> 16) as u16, id_block as u16);
        let len = usize::from(ctx.rd16(s, o)).min(128);
        String::from_utf8_lossy(&ctx.read_bytes(s, o.wrapping_add(2), len)).into_owned()
    });
    TsrIdentity {
        seg,
        off,
        psp: ctx.rd16(seg, at(0x04)),
        version: ctx.rd16(seg, at(0x06)),
        exec_flags: ctx.rd16(seg, at(0x08)),
        show: ctx.rd16(seg, at(0x0A)),
        command: far_string(ctx, ctx.rd32(seg, at(0x0C))),
        name,
        data: ctx.rd32(seg, at(0x18)),
    }
}

/// Opens the VxD file a startup structure names (a guest path, resolved on drive C: as DOS
/// would, against the current directory) and checks it as Windows' loader would
/// ([`vxd::check`]).
fn check_vxd_file(fw: &Firmware, file: &str) -> VxdCheck {
    let key = match fw.dos.resolve_path(file.as_bytes()) {
        Ok(key) => key,
        Err(error) => return VxdCheck::NotFound { error },
    };
    match fw.dos.drive().file(&key) {
        Some(bytes) => vxd::check(bytes),
        None => VxdCheck::NotFound { error: 0x02 },
    }
}

/// Sets the registers of a broadcast: AX and DX, everything else Windows clears.
fn broadcast_registers(ctx: &mut Ctx, ax: u16, dx: u16) {
    ctx.set_ax(ax);
    ctx.set_bx(0);
    ctx.set_cx(0);
    ctx.set_dx(dx);
    ctx.set_si(0);
    ctx.set_di(0);
    ctx.set_ds(0);
    ctx.set_es(0);
}

/// Runs one of the stub's traps (`shell`: the shell the VMs get and the exit returns to).
pub(crate) fn service(fw: &mut Firmware, service: u16, ctx: &mut Ctx, shell: &ShellOps) -> Flow {
    match service {
        svc::VMM_START => {
            broadcast_registers(ctx, 0x1605, 0);
            ctx.set_di(WINDOWS_VERSION);
        }
        svc::VMM_STARTUP_DONE => {
            let cx = ctx.cx();
            let mut ranges = Vec::new();
            for e in read_chain(ctx, ctx.es(), ctx.bx()) {
                ranges.extend(
                    e.instance
                        .iter()
                        .map(|&(s, o, n)| (linear(s, o), u32::from(n))),
                );
                let file = e.vxd_file.clone();
                fw.observe(ctx, Observation::VmmStartupEntry(e));
                if let Some(file) = file {
                    let result = check_vxd_file(fw, &file);
                    fw.observe(ctx, Observation::VxdChecked { file, result });
                }
            }
            if cx != 0 {
                fw.observe(ctx, Observation::VmmAborted { cx });
                if let Some(v) = fw.vmm.as_deref_mut() {
                    v.phase = Phase::Exiting;
                }
                broadcast_registers(ctx, 0x1606, 0);
                ctx.jump(VMM_SEG, stubs().abort);
            } else {
                if let Some(v) = fw.vmm.as_deref_mut() {
                    v.instance = ranges;
                }
                broadcast_registers(ctx, 0x1608, 0);
            }
        }
        svc::VMM_INIT_DONE => broadcast_registers(ctx, 0x160B, 0),
        svc::VMM_TSRS_DONE => {
            for (s, o) in chain(ctx, ctx.es(), ctx.di(), 0x00) {
                let t = tsr_identity(ctx, s, o);
                fw.observe(ctx, Observation::VmmTsrIdentify(t));
            }
            return start_vms(fw, ctx, shell);
        }
        svc::VMM_EXIT_BEGIN => {
            if let Some(v) = fw.vmm.as_deref_mut() {
                v.phase = Phase::Exiting;
            }
            if let Some(x) = fw.xms.as_mut() {
                x.set_vmm_refuses_new_locks(false);
            }
            fw.foreign_xms.set_vmm_refuses_new_locks(false);
            broadcast_registers(ctx, 0x1609, 0);
        }
        svc::VMM_EXIT_REAL => {
            // Back in real mode: the VMM's own block and the holes it took return to DOS.
            let arena = fw.dos.arena;
            arena.free_owned_by(ctx, switch::VMM_OWNER);
            broadcast_registers(ctx, 0x1606, 0);
        }
        svc::VMM_EXITED => {
            if let Some(v) = fw.vmm.as_deref_mut() {
                v.phase = Phase::Done;
            }
            fw.observe(ctx, Observation::VmmExit);
            (shell.resume)(fw, ctx);
        }
        _ => {}
    }
    Flow::Continue
}

/// Creates the VMs and gives the processor to the system VM's program if there is one,
/// else to the first DOS VM (the system VM waits in the idle loop). Without any program
/// to run the VMM exits at once.
fn start_vms(fw: &mut Firmware, ctx: &mut Ctx, shell: &ShellOps) -> Flow {
    let ranges = fw
        .vmm
        .as_deref_mut()
        .map(|v| std::mem::take(&mut v.instance))
        .unwrap_or_default();
    // The system VM continues in the idle loop on the shell's stack.
    let s = stubs();
    ctx.jump(VMM_SEG, s.idle);
    match switch::create_vms(fw, ctx, ranges, shell) {
        Ok(()) => {}
        Err(e) => {
            let why = match e {
                CreateError::Arena => "DOS's memory chain is damaged",
                CreateError::NoMemory => "not enough conventional memory above the TSRs",
                CreateError::Store => "no room for the VMs' memory",
            };
            for b in format!("\r\nThe VMM cannot start: {why}.\r\n").bytes() {
                super::super::bios::teletype(fw, ctx, b);
            }
            if let Some(v) = fw.vmm.as_deref_mut() {
                v.phase = Phase::Exiting;
            }
            broadcast_registers(ctx, 0x1606, 0);
            ctx.jump(VMM_SEG, s.abort);
            return Flow::Continue;
        }
    }
    let (has_dos_vms, system_program, lock_rule) = match fw.vmm.as_deref_mut() {
        Some(v) => {
            v.phase = Phase::Running;
            (
                v.vms.len() > 1,
                v.host_shell.is_some(),
                v.config.rules.xms_lock_after_start,
            )
        }
        None => (false, false, false),
    };
    if let Some(x) = fw.xms.as_mut() {
        x.set_vmm_refuses_new_locks(lock_rule);
    }
    // A driver loaded from CONFIG.SYS answers the VMs' calls: the VMM applies the rule at
    // its entry (`xms/foreign.rs`).
    fw.foreign_xms.set_vmm_refuses_new_locks(lock_rule);
    if system_program {
        // The system VM runs its program first, as Windows starts before any DOS VM.
    } else if has_dos_vms {
        switch::switch(fw, ctx, 1, SwitchReason::Start);
    } else {
        begin_exit(ctx);
    }
    Flow::Continue
}

/// The system VM runs the exit broadcasts (after the last DOS VM has ended).
pub(crate) fn begin_exit(ctx: &mut Ctx) {
    let s = stubs();
    // Out of the idle loop's HLT, if the system VM was waiting there.
    ctx.cpu.load_context(&{
        let c = ctx.cpu.context();
        c.without_halt()
    });
    ctx.jump(VMM_SEG, s.exit);
}
