//! Every scenario in corpora runs under the Rust BIOS and DOS with its
//! expectations met (the same check `vexed run SCENARIO.toml` makes), and runs
//! deterministically: a second run prints the same console text at the same ticks.

use vexed_replay::run::{self, RunEnd};
use vexed_replay::scenario::Scenario;
use vexed_tests::corpora_dir;

fn scenarios() -> Vec<std::path::PathBuf> {
    let dir = corpora_dir();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_bundled_scenario_meets_its_expectations() {
    let paths = scenarios();
    assert!(!paths.is_empty(), "no scenarios found");
    let mut failed = Vec::new();
    for path in &paths {
        let s = Scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
        let report = run::run(&s, &mut std::io::sink())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let failures = run::check(&s, &report);
        if !failures.is_empty() {
            failed.push(format!(
                "{}: {}\n{}\n--- console ---\n{}",
                path.display(),
                run::describe(&s, &report),
                failures.join("\n"),
                run::normalize_console(&report.console)
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

#[test]
fn a_scenario_runs_the_same_way_twice() {
    let path = corpora_dir().join("keywait.toml");
    let s = Scenario::load(&path).expect("keywait scenario");
    let a = run::run(&s, &mut std::io::sink()).expect("run");
    let b = run::run(&s, &mut std::io::sink()).expect("run");
    assert!(matches!(a.end, RunEnd::Finished { exit_code: 0 }));
    assert_eq!((a.end, a.ticks, &a.console), (b.end, b.ticks, &b.console));
}
