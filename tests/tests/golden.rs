//! Golden traces: every scenario in corpora has a recorded trace in
//! corpora/golden that replays bit-exactly (every observation, checkpoint and the final
//! state hash), and an insta snapshot of its observation summary that a person reviews when
//! behaviour changes (`cargo insta review`). One test per scenario, so a CI fleet can shard
//! them (`cargo nextest run --partition`). Re-record with `vexed golden update`.

use std::path::PathBuf;

use vexed_replay::schedule;
use vexed_replay::session::{self, Replayed};
use vexed_tests::corpora_dir;

fn golden(name: &str) -> PathBuf {
    corpora_dir().join("golden").join(format!("{name}.trace"))
}

/// Replays the golden trace of `name` and snapshots its summary.
fn check(name: &str) {
    let path = golden(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (record it with `vexed golden update`)",
            path.display()
        )
    });
    match session::replay_bytes(&bytes, &mut std::io::sink()).unwrap_or_else(|e| panic!("{e}")) {
        Replayed::Identical { .. } => {}
        other => panic!("{}: {other:?}", path.display()),
    }
    let summary = session::summary_of(&bytes).unwrap_or_else(|e| panic!("{e}"));
    insta::assert_snapshot!(name, summary);
    if session::header_of(&bytes).is_ok_and(|h| h.firmware.vmm.is_some()) {
        // What the VMM did, for a reviewer: which VM ran when and why it stopped, critical
        // sections (and switches inside them: none while the rule holds), DOS re-entries,
        // XMS blocks at the end.
        let schedule = schedule::schedule_summary(&bytes).unwrap_or_else(|e| panic!("{e}"));
        insta::assert_snapshot!(format!("{name}-schedule"), schedule);
    }
}

/// Scenario file stems use hyphens; test names cannot.
fn stem(test_name: &str) -> String {
    test_name.trim_start_matches("r#").replace('_', "-")
}

macro_rules! golden_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(&stem(stringify!($name)));
            }
        )*

        /// Every scenario has a golden test above and a golden trace, and every golden trace
        /// belongs to a scenario.
        #[test]
        fn every_scenario_has_a_golden_trace() {
            let listed: Vec<String> = vec![$(stem(stringify!($name))),*];
            let stems = |dir: &str, ext: &str| -> Vec<String> {
                let mut v: Vec<String> = std::fs::read_dir(corpora_dir().join(dir))
                    .unwrap_or_else(|e| panic!("{dir}: {e}"))
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == ext))
                    .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                    .collect();
                v.sort();
                v
            };
            let mut listed = listed;
            listed.sort();
            assert_eq!(stems(".", "toml"), listed, "scenarios vs golden tests");
            assert_eq!(stems("golden", "trace"), listed, "golden traces vs golden tests");
        }
    };
}

golden_tests!(
    critsec,
    critsec_nocs,
    doshigh,
    doshigh_noxms,
    dostest,
    drivers,
    dpmi32,
    dpmitest,
    dpmitest_286,
    ems_banks,
    emstest,
    hma,
    keywait,
    r#loop,
    narrow,
    pmswitch,
    ramdisk,
    timeslice_naive,
    timeslice_tsr,
    tsr_identify,
    v86page,
    vmm_veto,
    vxdbind,
    vxdbind_le,
    vxdbind_vms,
    xmsshare,
    xmsshare_vms,
    xmsshare_vms_xmsdrv,
    xmsshare_win,
    xmsshare_win_nocs,
    xmsdrv,
    xmstest,
);
