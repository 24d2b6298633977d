//! The DPMI host (`emu/src/firmware/dpmi/`) beyond what the conformance scenarios
//! (`corpora/dpmitest.toml`, `dpmitest-286.toml`, `dpmi32.toml`, each with a golden trace)
//! check: the report and the end of a client that faults, the absence of a host without
//! `[dpmi]`, and the observations of a run. Expected values come from the DPMI 0.9
//! specification (see the conformance guests' sources) and the 80386 PRM (error codes).

use vexed_emu::cpu::Model;
use vexed_emu::firmware::dos::DriveC;
use vexed_emu::firmware::dpmi::DpmiConfig;
use vexed_emu::firmware::{Firmware, FirmwareConfig, FirmwareStop, Program};
use vexed_emu::machine::{Machine, MachineConfig, Stop};
use vexed_emu::observe::Observation;

const DPMITEST: &[u8] = include_bytes!("../../corpora/guests/dpmitest.com");

struct Run {
    stop: Stop,
    console: String,
    observations: Vec<Observation>,
}

fn run(model: Model, dpmi: bool, args: &str) -> Run {
    let mut drive = DriveC::new(false);
    drive
        .insert_file("DPMITEST.COM", DPMITEST.to_vec())
        .expect("valid name");
    let programs = vec![Program {
        name: "DPMITEST.COM".into(),
        args: args.into(),
    }];
    let config = FirmwareConfig {
        dpmi: dpmi.then(DpmiConfig::default),
        ..FirmwareConfig::default()
    };
    let fw = Firmware::new(config, drive, programs);
    let machine = MachineConfig {
        model,
        ..MachineConfig::default()
    };
    let mut m = Machine::with_firmware(machine, fw).expect("machine");
    let stop = m.run_until(20_000_000);
    let fw = m.firmware_mut().expect("firmware");
    let console = String::from_utf8_lossy(fw.console()).into_owned();
    let observations = fw.take_observations().into_iter().map(|(_, o)| o).collect();
    Run {
        stop,
        console,
        observations,
    }
}

#[test]
fn a_client_that_faults_is_ended_with_a_report_naming_the_fault() {
    for model in [Model::I80286, Model::I80386] {
        let r = run(model, true, "fault");
        // MOV DS,1234h: a selector beyond the LDT's allocated entries (TI = 1, RPL 0):
        // #GP with the selector as error code (80386 PRM 9.8.13).
        assert!(
            r.console
                .contains("DPMI: the client raised a general protection fault (exception 0Dh) at ")
                && r.console
                    .contains("error code 1234h, and has no handler; it is ended"),
            "{model:?}: {}",
            r.console
        );
        assert!(!r.console.contains("FAIL"), "{model:?}: {}", r.console);
        assert!(
            r.observations.iter().any(|o| matches!(
                o,
                Observation::DpmiFault {
                    vector: 0x0D,
                    code: 0x1234,
                    ..
                }
            )),
            "{model:?}"
        );
        assert!(
            r.observations
                .iter()
                .any(|o| matches!(o, Observation::DpmiExit { code: 0xFF, .. })),
            "{model:?}"
        );
        // DOS ended the program with the host's code and the shell went on.
        assert_eq!(
            r.stop,
            Stop::Firmware(FirmwareStop::Finished { exit_code: 0xFF }),
            "{model:?}"
        );
    }
}

#[test]
fn without_dpmi_in_the_scenario_there_is_no_host() {
    let r = run(Model::I80386, false, "");
    // Int 2Fh AX=1687h returns AX unchanged (non-zero): no host.
    assert!(r.console.contains("no DPMI host"), "{}", r.console);
    assert_eq!(
        r.stop,
        Stop::Firmware(FirmwareStop::Finished { exit_code: 1 })
    );
}

#[test]
fn every_int_31h_call_is_observed_with_its_registers() {
    let r = run(Model::I80386, true, "");
    assert_eq!(
        r.stop,
        Stop::Firmware(FirmwareStop::Finished { exit_code: 0 })
    );
    let calls: Vec<(u16, u16)> = r
        .observations
        .iter()
        .filter_map(|o| match o {
            Observation::Dpmi { input, output } => Some((input.ax, output.ax)),
            _ => None,
        })
        .collect();
    // 0400h returns the version 0.90 in AX; 0A00h fails with 8001h (DPMI 1.0's code).
    assert!(calls.contains(&(0x0400, 0x005A)), "{calls:X?}");
    assert!(calls.contains(&(0x0A00, 0x8001)), "{calls:X?}");
    // Every line the client printed went through 0300h, observed when the real-mode
    // call returned.
    assert!(calls.iter().filter(|c| c.0 == 0x0300).count() >= 27);
    let starts = r
        .observations
        .iter()
        .filter(|o| matches!(o, Observation::DpmiStart { bits32: false, .. }))
        .count();
    assert_eq!(starts, 1);
    assert!(
        r.observations
            .iter()
            .any(|o| matches!(o, Observation::DpmiExit { code: 0, .. }))
    );
}

/// The conformance guests under the VM manager, without `[dpmi]`: every VM has the host, as
/// under Windows 3.x enhanced mode. The 32-bit client runs in the system VM, the 16-bit one
/// in a DOS VM, time-sliced together; each prints one line per check and exits with its
/// number of failures. dpmitest's 0800h check maps the physical address of an XMS block
/// it allocates and locks, which Windows refuses to a block allocated after it started
/// (BL=ADh, `VmmRules::xms_lock_after_start`): that one rule is off here.
#[test]
fn the_conformance_guests_pass_under_the_vmm_in_the_system_vm_and_a_dos_vm() {
    use vexed_emu::firmware::vmm::{VmSpec, VmmConfig, VmmRules};
    let mut drive = DriveC::new(false);
    drive
        .insert_file("DPMITEST.COM", DPMITEST.to_vec())
        .expect("valid name");
    drive
        .insert_file(
            "DPMI32.COM",
            include_bytes!("../../corpora/guests/dpmi32.com").to_vec(),
        )
        .expect("valid name");
    let program = |name: &str| Program {
        name: name.into(),
        args: String::new(),
    };
    let config = FirmwareConfig {
        vmm: Some(VmmConfig {
            vms: vec![VmSpec::new(program("DPMITEST.COM"))],
            system: Some(program("DPMI32.COM")),
            rules: VmmRules {
                xms_lock_after_start: false,
                ..VmmRules::default()
            },
            ..VmmConfig::default()
        }),
        ..FirmwareConfig::default()
    };
    let fw = Firmware::new(config, drive, Vec::new());
    let mut m = Machine::with_firmware(MachineConfig::default(), fw).expect("machine");
    let stop = m.run_until(100_000_000);
    assert!(
        matches!(stop, Stop::Firmware(FirmwareStop::Finished { .. })),
        "{stop:?}"
    );
    let fw = m.firmware_mut().expect("firmware");
    let console = String::from_utf8_lossy(fw.console()).into_owned();
    assert!(!console.contains("FAIL"), "{console}");
    // dpmitest's 31 checks (without its fault mode) and dpmi32's 9, each ending with "ok"
    // and CR LF (the two VMs' output interleaves, so an "ok" may land on a line of its own).
    assert_eq!(console.matches("ok\r\n").count(), 31 + 9, "{console}");
    let exits = fw.vmm().expect("vmm").vm_exits();
    assert_eq!(exits, [(1, 0), (2, 0)], "{console}");
}
