//! Golden traces: every scenario in corpora/scenarios has a recorded trace in
//! corpora/golden that replays bit-exactly (every observation, checkpoint and the final
//! state hash), and an insta snapshot of its observation summary that a person reviews when
//! behaviour changes (`cargo insta review`). One test per scenario, so a CI fleet can shard
//! them (`cargo nextest run --partition`). Re-record with `vexed golden update`.

use std::path::PathBuf;

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
}

macro_rules! golden_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name).trim_start_matches("r#"));
            }
        )*

        /// Every scenario has a golden test above and a golden trace, and every golden trace
        /// belongs to a scenario.
        #[test]
        fn every_scenario_has_a_golden_trace() {
            let listed: Vec<&str> = vec![$(stringify!($name)),*];
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
            let mut listed: Vec<String> =
                listed.iter().map(|s| s.trim_start_matches("r#").to_string()).collect();
            listed.sort();
            assert_eq!(stems("scenarios", "toml"), listed, "scenarios vs golden tests");
            assert_eq!(stems("golden", "trace"), listed, "golden traces vs golden tests");
        }
    };
}

golden_tests!(
    dostest, emstest, hma, keywait, r#loop, vxdbind, xmsshare, xmstest
);
