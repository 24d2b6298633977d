//! KB Q74516, the VxD side: when the VMM walks the Int 2Fh AX=1605h startup chain, it opens
//! the file each `Win386_Startup_Info_Struc` names and checks it as Windows' VxD loader
//! would (`emu/src/firmware/vmm/vxd.rs`: an MZ program, `e_lfarlc` >= 40h and the new
//! header at 3Ch per RBIL #01594, an LE header whose resident name table starts with the
//! module name). Scenarios: `corpora/vxdbind-le.toml` (the bound program VXDBND.EXE, built
//! by `corpora/guests/vxdbnd.asm` with module name "VXDBND"), `vxdbind-vms.toml` (the .COM
//! stand-in VXDBIND.COM, which the KB says cannot be the stub of an LE file) and
//! `vxdbind.toml` (no VMM: WINSTART sends the broadcasts, nothing opens the file).

use vexed_emu::firmware::FirmwareStop;
use vexed_emu::firmware::dos::process::ExeHeader;
use vexed_emu::firmware::vmm::vxd::VxdCheck;
use vexed_emu::machine::Stop;
use vexed_emu::observe::Observation;
use vexed_replay::run::build_machine;
use vexed_tests::scenario;

const VXDBND: &[u8] = include_bytes!("../../corpora/guests/vxdbnd.exe");

/// Runs bundled scenario `name` to its end: how it stopped and its observations.
fn run(name: &str) -> (Stop, Vec<Observation>) {
    let (s, _) = scenario(name);
    let (mut m, skipped) = build_machine(&s).expect("machine");
    assert!(skipped.is_empty(), "{name}: {skipped:?}");
    let stop = m.run_until(s.max_ticks);
    let fw = m.firmware_mut().expect("firmware");
    let obs = fw.take_observations().into_iter().map(|(_, o)| o).collect();
    (stop, obs)
}

/// Every `VxdChecked` observation, each with the observation just before it.
fn checks(obs: &[Observation]) -> Vec<(&Observation, &str, &VxdCheck)> {
    obs.windows(2)
        .filter_map(|w| match &w[1] {
            Observation::VxdChecked { file, result } => Some((&w[0], file.as_str(), result)),
            _ => None,
        })
        .collect()
}

/// The check follows the startup structure that named the file.
fn assert_follows_its_structure(before: &Observation, file: &str) {
    match before {
        Observation::VmmStartupEntry(e) => assert_eq!(e.vxd_file.as_deref(), Some(file)),
        other => panic!("the check of {file} follows {other}"),
    }
}

#[test]
fn the_bound_program_is_an_le_module_named_vxdbnd() {
    let (stop, obs) = run("vxdbind-le");
    assert_eq!(
        stop,
        Stop::Firmware(FirmwareStop::Finished { exit_code: 0 })
    );
    let found = checks(&obs);
    assert_eq!(found.len(), 1, "{found:?}");
    let (before, file, result) = found[0];
    // The TSR names its own path, which DOS stores after the environment.
    assert_eq!(file, r"C:\VXDBND.EXE");
    assert_follows_its_structure(before, file);
    // vxdbnd.asm's resident name table: length 6, "VXDBND", ordinal 0.
    assert_eq!(
        *result,
        VxdCheck::Le {
            module: "VXDBND".into()
        }
    );
    assert_eq!(
        Observation::VxdChecked {
            file: file.into(),
            result: result.clone()
        }
        .to_string(),
        r"vxd C:\VXDBND.EXE: LE module VXDBND"
    );
}

#[test]
fn the_com_stand_in_is_not_loadable_as_a_vxd() {
    let (stop, obs) = run("vxdbind-vms");
    assert_eq!(
        stop,
        Stop::Firmware(FirmwareStop::Finished { exit_code: 0 })
    );
    let found = checks(&obs);
    assert_eq!(found.len(), 1, "{found:?}");
    let (before, file, result) = found[0];
    assert_eq!(file, r"C:\VXDBIND.COM");
    assert_follows_its_structure(before, file);
    // A .COM program starts with its first instruction (vxdbind.asm: JMP NEAR, E9h), not
    // "MZ": KB Q74516's warning that a .COM TSR cannot be the stub of a VxD.
    assert_eq!(*result, VxdCheck::NotMz);
    assert!(
        result
            .to_string()
            .starts_with("not loadable: not an MZ program"),
        "{result}"
    );
}

#[test]
fn without_a_vmm_no_file_is_checked() {
    let (stop, obs) = run("vxdbind");
    assert_eq!(
        stop,
        Stop::Firmware(FirmwareStop::Finished { exit_code: 0 })
    );
    assert!(checks(&obs).is_empty());
}

/// DOS's EXEC loads only the stub: the header's page count and last-page size end before
/// the LE header at `e_lfanew`, as a linker writes them for a stub.
#[test]
fn the_mz_header_of_the_bound_program_covers_only_the_stub() {
    let h = ExeHeader::parse(VXDBND)
        .expect("an MZ program")
        .expect("a valid header");
    let loaded_end = usize::from(h.header_paras) * 16 + h.image_size();
    let reloc_offset = u16::from_le_bytes([VXDBND[0x18], VXDBND[0x19]]);
    let lfanew = u32::from_le_bytes([VXDBND[0x3C], VXDBND[0x3D], VXDBND[0x3E], VXDBND[0x3F]]);
    assert!(reloc_offset >= 0x40, "e_lfarlc {reloc_offset:X}h");
    assert!(
        loaded_end <= lfanew as usize,
        "DOS loads up to {loaded_end:X}h, the LE header is at {lfanew:X}h"
    );
    assert_eq!(&VXDBND[lfanew as usize..lfanew as usize + 2], b"LE");
    assert!(VXDBND.len() > loaded_end);
}
