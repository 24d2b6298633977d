//! Creating VMs and switching between them: per-VM copies of conventional memory above
//! the load point (remapped pages), instanced byte ranges below it (copied out and in),
//! DOS's and the EMM's per-VM state, and the processor context (see [`super`]).

use super::super::dos::DosInstance;
use super::super::dos::memory::{read_mcb, set_name};
use super::super::dos::sda::swap_instance;
use super::super::stubs::{CRIT_ERROR_OFF, DOS_DATA_SEG, VMM_SEG};
use super::super::{Ctx, Firmware};
use super::{ShellOps, Vm, Vmm};
use crate::mem::{Access, PAGE_SIZE};
use crate::observe::{Observation, SwitchReason};

/// Conventional memory ends at 640 KiB: physical page A0h.
const CONVENTIONAL_END_PAGE: u32 = 0xA0;
/// Paragraphs per 4 KiB page.
const PAGE_PARAS: u16 = (PAGE_SIZE / 16) as u16;
/// The MCB owner of the VMM's own real-mode block (DOS's "system" owner value).
pub(crate) const VMM_OWNER: u16 = 0x0008;
/// The fewest paragraphs a DOS VM must have above the load point.
const MIN_VM_PARAS: u16 = 0x1000;

/// Ranges below the load point every VM has its own copy of, whatever the TSRs say: the
/// interrupt vector table and BIOS data area, DOS's critical-error flag and InDOS (the
/// first two bytes of the swappable data area, whose other swap-always bytes move with
/// the VM's [`DosInstance`]), and the colour text screen.
const BUILTIN_INSTANCE: [(u32, u32); 3] = [
    (0, 0x500),
    ((DOS_DATA_SEG as u32) << 4 | CRIT_ERROR_OFF as u32, 2),
    (0xB_8000, 0x1000),
];

/// Why the VMs could not be created.
#[derive(Debug)]
pub(crate) enum CreateError {
    /// DOS's memory chain is damaged.
    Arena,
    /// Less than [`MIN_VM_PARAS`] free above the load point.
    NoMemory,
    /// The backing store could not grow.
    Store,
}

/// The page number of the load point, and how many pages are instanced.
pub(super) fn instanced_pages(vmm: &Vmm) -> (u32, u32) {
    let first = u32::from(vmm.load_seg) / PAGE_PARAS as u32;
    (first, CONVENTIONAL_END_PAGE.saturating_sub(first))
}

/// Fixes the load point: the VMM takes the free holes in DOS's chain and the paragraphs up
/// to the next page boundary of the last free block, which then starts on that boundary.
fn place_load_point(fw: &mut Firmware, ctx: &mut Ctx) -> Result<u16, CreateError> {
    let arena = fw.dos.arena;
    let blocks = arena.blocks(ctx).map_err(|_| CreateError::Arena)?;
    let Some(last) = blocks.last().copied() else {
        return Err(CreateError::Arena);
    };
    if last.owner != 0 {
        return Err(CreateError::NoMemory);
    }
    for m in blocks.iter().filter(|m| m.owner == 0 && m.seg != last.seg) {
        ctx.wr16(m.seg, 1, VMM_OWNER);
        set_name(ctx, m.seg + 1, b"WIN386");
    }
    let data = last.seg + 1;
    let paras = match data % PAGE_PARAS {
        0 => PAGE_PARAS,
        r => PAGE_PARAS - r,
    };
    if last.size < paras + MIN_VM_PARAS {
        return Err(CreateError::NoMemory);
    }
    // Split the last block: the VMM's part, then a free block on the page boundary.
    let mut arena_first_fit = arena;
    arena_first_fit.strategy = 0;
    let seg = arena_first_fit
        .alloc(ctx, paras, VMM_OWNER)
        .map_err(|_| CreateError::NoMemory)?;
    set_name(ctx, seg, b"WIN386");
    let load = seg + paras;
    debug_assert!(read_mcb(ctx, load).is_some_and(|m| m.owner == 0));
    Ok(load)
}

/// Creates the system VM (the running context, at `idle`) and the DOS VMs, each with its
/// own shell (started with `shell`) ready to run its program. The system VM stays current.
pub(crate) fn create_vms(
    fw: &mut Firmware,
    ctx: &mut Ctx,
    ranges: Vec<(u32, u32)>,
    shell: &ShellOps,
) -> Result<(), CreateError> {
    let load = place_load_point(fw, ctx)?;
    let Some(mut vmm) = fw.vmm.take() else {
        return Ok(());
    };
    vmm.load_seg = load;
    vmm.instance = BUILTIN_INSTANCE.to_vec();
    vmm.instance.extend(ranges);
    let (first, count) = instanced_pages(&vmm);
    let saved = save_ranges(&vmm, ctx);
    vmm.ems_at_start = fw.ems.as_ref().map(|e| e.instance());
    let slice_of = |prio: u16| (u64::from(vmm.config.slice) * u64::from(prio) / 100).max(1) as u32;
    let system_slice = vmm.config.slice.max(1);
    vmm.vms = vec![Vm {
        id: 1,
        program: String::new(),
        cpu: None,
        pages: None,
        saved: Vec::new(),
        dos: DosInstance::default(),
        ems: None,
        dpmi: None,
        slice: system_slice,
        critical: 0,
        ended: None,
    }];
    let system_cpu = ctx.cpu.context();
    let specs = vmm.config.vms.clone();
    let focus = vmm.config.focus;
    for (i, spec) in specs.into_iter().enumerate() {
        let store = ctx
            .bus
            .mem
            .alloc_store(count)
            .map_err(|_| CreateError::Store)?;
        for k in 0..count {
            let bytes = ctx
                .bus
                .mem
                .read_bytes((first + k) * PAGE_SIZE, PAGE_SIZE as usize);
            ctx.bus
                .mem
                .store_page_mut(store.offset(k))
                .map_err(|_| CreateError::Store)?
                .copy_from_slice(&bytes);
        }
        let prio = if i == focus {
            spec.foreground_priority
        } else {
            spec.background_priority
        };
        vmm.vms.push(Vm {
            id: 2 + i as u16,
            program: spec.program.name.clone(),
            cpu: None,
            pages: Some(store),
            saved: saved.clone(),
            dos: DosInstance::for_program(spec.program),
            ems: None,
            dpmi: None,
            slice: slice_of(prio),
            critical: 0,
            ended: None,
        });
    }
    // Each DOS VM's shell is set up inside the VM's own memory.
    for i in 1..vmm.vms.len() {
        map_pages(&vmm, ctx, i);
        swap_instance(fw, ctx, &mut vmm.vms[i].dos);
        (shell.start)(fw, ctx);
        swap_instance(fw, ctx, &mut vmm.vms[i].dos);
        vmm.vms[i].cpu = Some(ctx.cpu.context());
    }
    map_pages(&vmm, ctx, 0);
    ctx.cpu.load_context(&system_cpu);
    if let Some(program) = vmm.config.system.clone() {
        // The system VM's program runs in a second shell in the system VM's own memory;
        // the plain shell's DOS state waits aside until the program ends.
        vmm.vms[0].program = program.name.clone();
        let mut plain = DosInstance::for_program(program);
        swap_instance(fw, ctx, &mut plain);
        (shell.start)(fw, ctx);
        if fw.dos.instance.shell_psp == 0 {
            swap_instance(fw, ctx, &mut plain);
            ctx.cpu.load_context(&system_cpu);
            fw.vmm = Some(vmm);
            return Err(CreateError::NoMemory);
        }
        vmm.host_shell = Some(plain);
    }
    vmm.current = 0;
    vmm.slice_left = system_slice;
    vmm.critical = 0;
    for vm in &vmm.vms {
        let program = vm.program.clone();
        fw.observe(ctx, Observation::VmCreated { vm: vm.id, program });
    }
    fw.vmm = Some(vmm);
    Ok(())
}

/// The instanced ranges' current bytes, one after another.
fn save_ranges(vmm: &Vmm, ctx: &Ctx) -> Vec<u8> {
    let mut out = Vec::new();
    for &(a, n) in &vmm.instance {
        out.extend(ctx.bus.mem.read_bytes(a, n as usize));
    }
    out
}

/// Writes a VM's saved range bytes back.
fn load_ranges(vmm: &Vmm, ctx: &mut Ctx, bytes: &[u8]) {
    let mut at = 0usize;
    for &(a, n) in &vmm.instance {
        let n = n as usize;
        if let Some(part) = bytes.get(at..at + n) {
            ctx.bus.mem.write_bytes(a, part);
        }
        at += n;
    }
}

/// Maps VM `i`'s instanced pages.
fn map_pages(vmm: &Vmm, ctx: &mut Ctx, i: usize) {
    let (first, count) = instanced_pages(vmm);
    let mem = &mut ctx.bus.mem;
    for k in 0..count {
        let page = first + k;
        let target = match vmm.vms[i].pages {
            Some(p) => Some(p.offset(k)),
            None => mem.ram_page(page),
        };
        // Pages and store were checked when the VMs were created.
        let _ = match target {
            Some(t) => mem.map_page(page, t, Access::ReadWrite),
            None => mem.unmap_page(page),
        };
    }
}

/// Moves the processor from the running VM to VM `to`.
pub(crate) fn switch(fw: &mut Firmware, ctx: &mut Ctx, to: usize, reason: SwitchReason) {
    let Some(mut vmm) = fw.vmm.take() else {
        return;
    };
    let from = vmm.current;
    if from == to || to >= vmm.vms.len() {
        fw.vmm = Some(vmm);
        return;
    }
    // Out: the processor, the ranges, DOS's and the EMM's state.
    let saved = save_ranges(&vmm, ctx);
    {
        let vm = &mut vmm.vms[from];
        vm.cpu = Some(ctx.cpu.context());
        vm.saved = saved;
        vm.critical = vmm.critical;
        swap_instance(fw, ctx, &mut vm.dos);
        if let Some(d) = fw.dpmi.as_mut() {
            d.swap_client(&mut vm.dpmi);
        }
    }
    // In.
    map_pages(&vmm, ctx, to);
    let bytes = std::mem::take(&mut vmm.vms[to].saved);
    load_ranges(&vmm, ctx, &bytes);
    swap_instance(fw, ctx, &mut vmm.vms[to].dos);
    if let Some(d) = fw.dpmi.as_mut() {
        d.swap_client(&mut vmm.vms[to].dpmi);
    }
    if let Some(ems) = fw.ems.as_mut() {
        // The running VM's handles and mapping are the driver's own; a VM that has never
        // run starts from what the driver had when the VMM started.
        vmm.vms[from].ems = Some(ems.instance());
        if let Some(incoming) = vmm.vms[to].ems.take().or(vmm.ems_at_start.clone()) {
            ems.set_instance(&mut ctx.bus.mem, incoming);
        }
    }
    if let Some(cpu) = vmm.vms[to].cpu.take() {
        ctx.cpu.load_context(&cpu);
    }
    vmm.critical = vmm.vms[to].critical;
    vmm.current = to;
    vmm.slice_left = vmm.vms[to].slice;
    let (from_id, to_id) = (vmm.vms[from].id, vmm.vms[to].id);
    fw.vmm = Some(vmm);
    fw.observe(
        ctx,
        Observation::VmSwitch {
            from: from_id,
            to: to_id,
            reason,
        },
    );
}

/// The running VM's program has ended with `code`: a DOS VM is destroyed (its expanded
/// memory handles are released); the system VM's program hands the system VM back to the
/// idle loop on the plain shell's stack (its shell's memory returns to DOS). The next VM
/// with a program still running runs; after the last one the system VM begins the VMM's
/// exit. Returns whether the system VM now runs the exit sequence. (Called by the shell,
/// which hands in `shell` for the plain shell's registers.)
pub(crate) fn end_current_vm(fw: &mut Firmware, ctx: &mut Ctx, code: u8, shell: &ShellOps) -> bool {
    let Some(vmm) = fw.vmm.as_deref_mut() else {
        return false;
    };
    let cur = vmm.current;
    vmm.vms[cur].ended = Some(code);
    vmm.critical = 0;
    let id = vmm.vms[cur].id;
    let plain = if cur == 0 {
        vmm.host_shell.take()
    } else {
        None
    };
    if let (Some(ems), Some(start)) = (fw.ems.as_mut(), vmm.ems_at_start.as_ref()) {
        ems.release_instance(start);
    }
    if let Some(mut plain) = plain {
        let system_shell = fw.dos.instance.shell_psp;
        swap_instance(fw, ctx, &mut plain);
        let arena = fw.dos.arena;
        arena.free_owned_by(ctx, system_shell);
        (shell.registers)(fw, ctx);
        ctx.jump(VMM_SEG, super::startup::idle_entry());
    }
    fw.observe(ctx, Observation::VmExited { vm: id, code });
    let Some(vmm) = fw.vmm.as_deref_mut() else {
        return false;
    };
    let system_busy = vmm.host_shell.is_some();
    let next = (1..vmm.vms.len())
        .map(|k| (cur + k) % vmm.vms.len())
        .find(|&i| {
            if i == 0 {
                system_busy
            } else {
                vmm.vms[i].ended.is_none()
            }
        });
    vmm.pending = None;
    switch(fw, ctx, next.unwrap_or(0), SwitchReason::Exited);
    next.is_none()
}
