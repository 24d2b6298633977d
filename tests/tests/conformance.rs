//! CPU conformance: every SingleStepTests vector for the 8086 and the 80286 whose opcode has
//! status `normal`, `alias` or `undocumented` must pass (the same runner as
//! `vexed conformance`). The vectors were captured from real chips; see
//! `../shared/sst/README.md`. Without the full sets (`VEXED_SST_DIR` or `../shared/sst`) the
//! committed subset in `tests/data/sst` runs: the first 25 tests of every opcode file.

use vexed_emu::cpu::Model;
use vexed_replay::conformance::run_dir;

/// Runs the vectors of `sub`; at least `at_least` must run from a full set, and at least
/// `at_least_bundled` from the committed subset.
fn check(model: Model, sub: &str, at_least: u64, at_least_bundled: u64) {
    let root = vexed_tests::sst_dir();
    let at_least = if root == vexed_tests::bundled_sst_dir() {
        at_least_bundled
    } else {
        at_least
    };
    let dir = root.join(sub);
    assert!(
        dir.join("metadata.json").is_file(),
        "SingleStepTests vectors not found at {} (set VEXED_SST_DIR)",
        dir.display()
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let report = match run_dir(model, &dir, threads) {
        Ok(r) => r,
        Err(e) => panic!("conformance run failed: {e}"),
    };
    assert_eq!(report.failed, 0, "\n{}", report.render());
    assert!(
        report.passed >= at_least,
        "only {} vectors ran:\n{}",
        report.passed,
        report.render()
    );
}

#[test]
fn sst_8086_vectors_all_pass() {
    // 322 files of up to 1,000 vectors (25 in the subset); FPU opcodes are skipped.
    check(Model::I8086, "8086", 300_000, 7_000);
}

#[test]
fn sst_80286_vectors_all_pass() {
    // 327 files of up to 500 vectors (25 in the subset).
    check(Model::I80286, "80286", 150_000, 7_000);
}
