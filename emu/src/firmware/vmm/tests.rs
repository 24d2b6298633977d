//! The VMM on a booted machine: tiny hand-assembled DOS programs in two VMs, the rules
//! switched on and off, and the start-up chain readers on hand-built structures.

use super::startup;
use super::{VmSpec, VmmConfig, VmmRules};
use crate::firmware::dos::DriveC;
use crate::firmware::{Firmware, FirmwareConfig, FirmwareStop, Program};
use crate::machine::{Machine, MachineConfig, Stop};
use crate::observe::{Observation, SwitchReason};

/// `mov ax,1683h; int 2Fh; mov al,bl; mov ah,4Ch; int 21h`: exits with its VM id.
const EXIT_WITH_VM_ID: [u8; 11] = [
    0xB8, 0x83, 0x16, 0xCD, 0x2F, 0x88, 0xD8, 0xB4, 0x4C, 0xCD, 0x21,
];

/// Holds something for about 4 million instructions (three timer interrupts), then
/// exits: `begin` and `end` are the two instructions around the busy loop.
fn hold(begin: [u8; 5], end: [u8; 5]) -> Vec<u8> {
    let mut p = begin.to_vec();
    p.extend([
        0xBA, 0x40, 0x00, // mov dx,64
        0xB9, 0x00, 0x00, // outer: mov cx,0
        0xE2, 0xFE, // inner: loop inner
        0x4A, // dec dx
        0x75, 0xF8, // jnz outer
    ]);
    p.extend(end);
    p.extend([0xB8, 0x00, 0x4C, 0xCD, 0x21]); // mov ax,4C00h; int 21h
    p
}

/// Inside a critical section: `mov ax,1681h; int 2Fh` ... `mov ax,1682h; int 2Fh`.
fn critical_program() -> Vec<u8> {
    hold(
        [0xB8, 0x81, 0x16, 0xCD, 0x2F],
        [0xB8, 0x82, 0x16, 0xCD, 0x2F],
    )
}

/// With InDOS raised by hand, as Win/386 2.x TSRs did: `mov ah,34h; int 21h` then
/// `inc byte [es:bx]` ... `dec byte [es:bx]` (each padded to 5 bytes).
fn indos_program() -> Vec<u8> {
    let mut p = vec![0xB4, 0x34, 0xCD, 0x21]; // mov ah,34h; int 21h
    p.extend(hold(
        [0x26, 0xFE, 0x07, 0x90, 0x90], // inc byte [es:bx]
        [0x26, 0xFE, 0x0F, 0x90, 0x90], // dec byte [es:bx]
    ));
    p
}

fn machine(program: &[u8], rules: VmmRules, vms: usize) -> Machine {
    machine_with_system(program, rules, vms, None)
}

/// [`machine`] whose system VM runs `system` as S.COM.
fn machine_with_system(
    program: &[u8],
    rules: VmmRules,
    vms: usize,
    system: Option<&[u8]>,
) -> Machine {
    let mut drive = DriveC::new(false);
    drive.insert_file("P.COM", program.to_vec()).expect("file");
    if let Some(s) = system {
        drive.insert_file("S.COM", s.to_vec()).expect("file");
    }
    let vmm = VmmConfig {
        slice: 1,
        vms: (0..vms)
            .map(|_| {
                VmSpec::new(Program {
                    name: "P.COM".into(),
                    args: String::new(),
                })
            })
            .collect(),
        focus: 0,
        rules,
        system: system.map(|_| Program {
            name: "S.COM".into(),
            args: String::new(),
        }),
    };
    let config = FirmwareConfig {
        vmm: Some(vmm),
        ..FirmwareConfig::default()
    };
    let fw = Firmware::new(config, drive, Vec::new());
    Machine::with_firmware(MachineConfig::default(), fw).expect("machine")
}

/// Runs to the end; every observation.
fn run(m: &mut Machine) -> Vec<(u64, Observation)> {
    let mut all = Vec::new();
    loop {
        let stop = m.run_until(m.now() + 10_000_000);
        all.extend(m.take_observations());
        match stop {
            Stop::Deadline if m.now() < 200_000_000 => {}
            Stop::Firmware(FirmwareStop::Finished { .. }) => return all,
            other => panic!("the run ended with {other:?} at tick {}", m.now()),
        }
    }
}

/// Switches away from a VM between its 1681h and 1682h.
fn switches_inside_critical_sections(obs: &[(u64, Observation)]) -> usize {
    let mut current = 1u16;
    let mut depth = [0u16; 8];
    let mut inside = 0;
    for (_, o) in obs {
        match o {
            Observation::VmSwitch { to, .. } => {
                if depth[usize::from(current)] > 0 {
                    inside += 1;
                }
                current = *to;
            }
            Observation::Multiplex { input, .. } if input.ax == 0x1681 => {
                depth[usize::from(current)] += 1;
            }
            Observation::Multiplex { input, .. } if input.ax == 0x1682 => {
                depth[usize::from(current)] -= 1;
            }
            _ => {}
        }
    }
    inside
}

fn slice_ends(obs: &[(u64, Observation)]) -> usize {
    obs.iter()
        .filter(|(_, o)| {
            matches!(
                o,
                Observation::VmSwitch {
                    reason: SwitchReason::SliceEnd,
                    ..
                }
            )
        })
        .count()
}

#[test]
fn each_dos_vm_runs_its_program_and_1683h_names_the_vm() {
    let mut m = machine(&EXIT_WITH_VM_ID, VmmRules::default(), 2);
    let obs = run(&mut m);
    let vmm = m.firmware().and_then(Firmware::vmm).expect("vmm");
    assert_eq!(vmm.vm_exits(), [(2, 2), (3, 3)]);
    let created: Vec<u16> = obs
        .iter()
        .filter_map(|(_, o)| match o {
            Observation::VmCreated { vm, .. } => Some(*vm),
            _ => None,
        })
        .collect();
    assert_eq!(created, [1, 2, 3]);
    assert!(obs.iter().any(|(_, o)| matches!(o, Observation::VmmExit)));
    // The exit broadcasts went through Int 2Fh in order after the VMs ended.
    assert_eq!(broadcasts(&obs), [0x1605, 0x1608, 0x160B, 0x1609, 0x1606]);
}

/// The Int 2Fh AH=16h broadcasts of the start-up and exit, in order.
fn broadcasts(obs: &[(u64, Observation)]) -> Vec<u16> {
    obs.iter()
        .filter_map(|(_, o)| match o {
            Observation::Multiplex { input, .. } if input.ax >> 8 == 0x16 => Some(input.ax),
            _ => None,
        })
        .filter(|ax| matches!(ax, 0x1605 | 0x1606 | 0x1608 | 0x1609 | 0x160B))
        .collect()
}

/// The VMs in the order their programs ended.
fn exits(obs: &[(u64, Observation)]) -> Vec<u16> {
    obs.iter()
        .filter_map(|(_, o)| match o {
            Observation::VmExited { vm, .. } => Some(*vm),
            _ => None,
        })
        .collect()
}

#[test]
fn the_system_vm_runs_its_program_first_and_the_vmm_exits_after_every_program() {
    let mut m = machine_with_system(
        &EXIT_WITH_VM_ID,
        VmmRules::default(),
        2,
        Some(&EXIT_WITH_VM_ID),
    );
    let obs = run(&mut m);
    let vmm = m.firmware().and_then(Firmware::vmm).expect("vmm");
    // 1683h names VM 1 in the system VM (dos-memory.md 4.1: the system VM is VM 1).
    assert_eq!(vmm.vm_exits(), [(1, 1), (2, 2), (3, 3)]);
    let created: Vec<(u16, String)> = obs
        .iter()
        .filter_map(|(_, o)| match o {
            Observation::VmCreated { vm, program } => Some((*vm, program.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(created[0], (1, "S.COM".to_string()));
    // No switch before the system VM's program ended: it ran first.
    let first_switch = obs
        .iter()
        .position(|(_, o)| matches!(o, Observation::VmSwitch { .. }))
        .expect("a switch");
    assert!(matches!(
        obs[first_switch].1,
        Observation::VmSwitch {
            from: 1,
            to: 2,
            reason: SwitchReason::Exited
        }
    ));
    assert_eq!(exits(&obs), [1, 2, 3]);
    assert_eq!(broadcasts(&obs), [0x1605, 0x1608, 0x160B, 0x1609, 0x1606]);
    // The plain shell finished after the VMM, as without a system program.
    assert!(obs.iter().any(|(_, o)| matches!(o, Observation::VmmExit)));
}

#[test]
fn the_vmm_waits_for_a_system_vm_program_that_outlives_the_dos_vms() {
    // The system VM holds a critical-section-free busy loop for three timer ticks; the DOS
    // VMs end at once: the exit broadcasts come only after the system VM's program.
    let busy = hold([0x90; 5], [0x90; 5]);
    let mut m = machine_with_system(&EXIT_WITH_VM_ID, VmmRules::default(), 1, Some(&busy));
    let obs = run(&mut m);
    assert_eq!(exits(&obs), [2, 1]);
    let exit_of_1 = obs
        .iter()
        .position(|(_, o)| matches!(o, Observation::VmExited { vm: 1, .. }))
        .expect("VM 1 exits");
    let begin_exit = obs
        .iter()
        .position(|(_, o)| matches!(o, Observation::Multiplex { input, .. } if input.ax == 0x1609))
        .expect("1609h");
    assert!(exit_of_1 < begin_exit);
    let vmm = m.firmware().and_then(Firmware::vmm).expect("vmm");
    assert_eq!(vmm.vm_exits(), [(1, 0), (2, 2)]);
}

#[test]
fn a_system_vm_program_alone_runs_and_the_vmm_exits() {
    let mut m = machine_with_system(
        &EXIT_WITH_VM_ID,
        VmmRules::default(),
        0,
        Some(&EXIT_WITH_VM_ID),
    );
    let obs = run(&mut m);
    assert_eq!(exits(&obs), [1]);
    assert_eq!(broadcasts(&obs), [0x1605, 0x1608, 0x160B, 0x1609, 0x1606]);
    assert!(
        !obs.iter()
            .any(|(_, o)| matches!(o, Observation::VmSwitch { .. }))
    );
}

#[test]
fn no_switch_lands_inside_a_critical_section_unless_the_rule_is_off() {
    let mut m = machine(&critical_program(), VmmRules::default(), 2);
    let obs = run(&mut m);
    assert_eq!(switches_inside_critical_sections(&obs), 0);
    // The held slice ends still happened, at the 1682h.
    assert!(slice_ends(&obs) > 0, "no slice ended at all");

    let off = VmmRules {
        critical_sections: false,
        ..VmmRules::default()
    };
    let mut m = machine(&critical_program(), off, 2);
    let obs = run(&mut m);
    assert!(
        switches_inside_critical_sections(&obs) > 0,
        "with the rule off the timer should preempt the busy critical section"
    );
}

#[test]
fn no_switch_while_indos_is_set_unless_the_rule_is_off() {
    let count = |rules| {
        let mut m = machine(&indos_program(), rules, 2);
        slice_ends(&run(&mut m))
    };
    let held = count(VmmRules::default());
    let free = count(VmmRules {
        indos: false,
        ..VmmRules::default()
    });
    // With the rule, a VM with InDOS raised keeps the processor through its busy loop.
    assert!(
        free > held,
        "slice ends with the InDOS rule: {held}, without: {free}"
    );
}

#[test]
fn a_snapshot_between_two_vms_continues_identically() {
    let mut a = machine(&critical_program(), VmmRules::default(), 2);
    let _ = a.run_until(3_000_000);
    let bytes = a.snapshot().expect("snapshot");
    let mut b = Machine::restore(&bytes).expect("restore");
    let run_a = run(&mut a);
    let run_b = run(&mut b);
    assert_eq!(run_a, run_b);
    assert_eq!(a.state_hash().ok(), b.state_hash().ok());
}

#[test]
fn the_startup_chain_reader_stops_at_loops_and_reads_instance_lists() {
    let mut m = Machine::new(MachineConfig::default()).expect("machine");
    m.with_service_context(|_, ctx| {
        // Two structures at 2000:0000 and 2000:0100; the second points back at the first.
        ctx.write_bytes(0x2000, 0x0000, &[3, 10]);
        ctx.wr32(0x2000, 0x0002, 0x2000_0100);
        ctx.wr32(0x2000, 0x0006, 0x2000_0200); // VxD file
        ctx.wr32(0x2000, 0x000A, 0x1234_5678);
        ctx.wr32(0x2000, 0x000E, 0x2000_0300); // instance list
        ctx.write_bytes(0x2000, 0x0200, b"C:\\A.386\0");
        ctx.wr32(0x2000, 0x0300, 0x0040_0017);
        ctx.wr16(0x2000, 0x0304, 2);
        ctx.wr32(0x2000, 0x0306, 0);
        ctx.write_bytes(0x2000, 0x0100, &[3, 0]);
        ctx.wr32(0x2000, 0x0102, 0x2000_0000);
        let entries = startup::read_chain(ctx, 0x2000, 0x0000);
        assert_eq!(entries.len(), 2, "the loop back to the first ends the walk");
        let e = &entries[0];
        assert_eq!(e.version, 0x0A03);
        assert_eq!(e.vxd_file.as_deref(), Some("C:\\A.386"));
        assert_eq!(e.reference_data, 0x1234_5678);
        assert_eq!(e.instance, [(0x0040, 0x0017, 2)]);
        assert_eq!(entries[1].vxd_file, None);
        assert!(entries[1].instance.is_empty());
    });
}
